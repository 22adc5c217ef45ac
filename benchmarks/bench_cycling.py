"""Plating/stripping analysis of a million-point trace: reading and analysing, time and memory.

Run::

    .venv/bin/python benchmarks/bench_cycling.py [--points 1000000] [--json out.json]

The seed-004 protocol (0.05-0.8 mA cm⁻² and back to 0.05, five cycles each, 1 h half-cycles,
30 min rests, a short in cycle 3 at 0.4 mA cm⁻²) is simulated with the sampling interval that
gives ``--points`` points, written as an EC-Lab text file (``.mpt``) and as an Arbin-style CSV,
then

* ``read``: :func:`ionscale.io.cycling.read_cycling` of each file (parsing, unit conversion,
  segmentation into half-cycles);
* ``analyse``: :func:`ionscale.cycling.critical_current_density` on the trace read (steps,
  shorts, ASR fit);

each timed (best of ``--repeat``, one process) with its peak traced memory (``tracemalloc``:
numpy's buffers included). The CCD and ASR found are printed as a check.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

from ionscale.cycling import critical_current_density  # noqa: E402
from ionscale.datasets.synthetic_cycling import (  # noqa: E402
    DEMO_CELL,
    symmetric_cell_trace,
    write_csv,
    write_mpt,
)
from ionscale.io.cycling import read_cycling  # noqa: E402

#: Seconds of the protocol: 6 levels × 5 cycles × 2 × (1 h + 0.5 h) + the first rest.
PROTOCOL_S = 6 * 5 * 2 * 5400.0 + 1800.0


def measure(func, repeat: int):
    """``(best seconds, peak MiB of the last run, result)``."""
    best = float("inf")
    result = None
    peak = 0.0
    for _ in range(repeat):
        tracemalloc.start()
        t0 = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t0)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return best, peak, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", help="write the numbers to this file")
    args = ap.parse_args()
    dt = PROTOCOL_S / args.points
    trace = symmetric_cell_trace(asr=DEMO_CELL["asr"], area=DEMO_CELL["area"],
                                 noise=DEMO_CELL["noise"], short=DEMO_CELL["short"], dt=dt,
                                 tau=60.0, seed=0)
    out = {"points": trace.n_points, "dt_s": dt, "machine": platform.platform(),
           "python": platform.python_version()}
    with tempfile.TemporaryDirectory() as tmp:
        files = {"mpt": write_mpt(trace, Path(tmp) / "cell.mpt"),
                 "csv": write_csv(trace, Path(tmp) / "cell.csv", preset="arbin")}
        for name, path in files.items():
            out[f"{name}_MiB_on_disk"] = path.stat().st_size / 2**20
            s, mem, read = measure(lambda p=path: read_cycling(p, area=DEMO_CELL["area"]),
                                   args.repeat)
            out[f"read_{name}_s"], out[f"read_{name}_peak_MiB"] = s, mem
        s, mem, result = measure(lambda: critical_current_density(read), args.repeat)
        out["analyse_s"], out["analyse_peak_MiB"] = s, mem
    out["half_cycles"] = result.steps.n
    out["CCD_mA_cm2"] = result["CCD"].value / 10.0
    out["j_last_stable_mA_cm2"] = result["j_last_stable"].value / 10.0
    out["ASR_ohm_cm2"] = result["ASR"].value * 1e4
    out["ASR_err_ohm_cm2"] = result["ASR"].error * 1e4
    width = max(len(k) for k in out)
    for k, v in out.items():
        print(f"{k:{width}s}  {v:.4g}" if isinstance(v, float) else f"{k:{width}s}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
