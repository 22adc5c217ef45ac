"""Test-suite settings: hypothesis without per-example deadlines (CI machines vary in speed;
the suite's time budget is enforced as a whole, benchmarks live in benchmarks/)."""

from hypothesis import settings

settings.register_profile("ionscale", deadline=None, print_blob=True)
settings.load_profile("ionscale")
