"""Test-suite settings.

* hypothesis without per-example deadlines (CI machines vary in speed; the suite's time budget
  is enforced as a whole, benchmarks live in benchmarks/);
* one BLAS thread: the suite's linear algebra is small (a few hundred unknowns), where OpenBLAS
  threads only contend with each other and with pytest-level parallelism (measured: a joint
  series fit took 5 s with threads against 65 ms without on the 2-core CI machine).
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from hypothesis import settings  # noqa: E402

settings.register_profile("ionscale", deadline=None, print_blob=True)
settings.load_profile("ionscale")
