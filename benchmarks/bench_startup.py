"""Start-up time of the ``ionscale`` command (issue 11): every ``--help`` and a small command.

Targets: each ``--help`` ≤ 0.3 s, ``tracer fit`` of a 500-point profile ≤ 1.5 s wall from a warm
disk. Each command runs as a fresh process several times; the table shows min / median.

    python benchmarks/bench_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HELPS = [["--help"], ["run", "--help"], ["db", "list", "--help"], ["tracer", "fit", "--help"],
         ["nmr", "pfg", "--help"], ["eis", "fit", "--help"], ["micro", "metrics", "--help"],
         ["cycling", "ccd", "--help"], ["report", "--help"], ["methods", "--help"],
         ["diffusion", "--help"], ["diffusion", "matano", "--help"], ["fibsem", "--help"],
         ["fibsem", "pipeline", "--help"], ["kmc", "--help"], ["kmc", "run", "--help"],
         ["correlate", "--help"], ["correlate", "phases", "--help"], ["demo", "--help"]]

#: small commands that do real work but need no input file
SMALL = [["kmc", "lattices"], ["cycling", "formats"]]


def _profile(folder: Path) -> Path:
    from ionscale.tracer import constant_source

    x = np.linspace(0, 5e-6, 500)
    rng = np.random.default_rng(0)
    f = constant_source(x, 2e-14, 3600.0, source=0.9, background=0.01) + rng.normal(0, 2e-3,
                                                                                    x.size)
    path = folder / "profile.csv"
    path.write_text("depth (um),fraction\n" + "".join(f"{a * 1e6:.6g},{b:.6g}\n"
                                                     for a, b in zip(x, f, strict=True)))
    return path


def _time(argv: list[str], repeat: int) -> tuple[float, float, int]:
    exe = shutil.which("ionscale") or str(Path(sys.executable).with_name("ionscale"))
    times = []
    rc = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        rc = subprocess.run([exe, *argv], capture_output=True).returncode
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), rc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp())
    try:
        commands = HELPS + SMALL + [["tracer", "fit", str(_profile(folder)), "--time", "1 h",
                             "--source", "fit", "--background", "fit"]]
        print(f"{'command':58s} {'min s':>7s} {'median s':>9s}  rc")
        for cmd in commands:
            lo, med, rc = _time(cmd, args.repeat)
            shown = " ".join(c if "/" not in c else Path(c).name for c in cmd)
            print(f"ionscale {shown:49s} {lo:7.3f} {med:9.3f}  {rc}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
