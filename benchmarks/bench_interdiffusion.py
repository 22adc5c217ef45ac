"""Interdiffusion benchmarks (run on demand; not a timed test).

Reports, on one core:
* a forward simulation of pyDiffusion's Ti-Zr couple (1000 °C, 100 h) with pyDiffusion's own
  D̃(X), its time and its mean |ΔX| against the measured profile;
* the full forward-simulation D̃ fit of Ti-Zr (5 knots) and of the three-phase Ni-Mo couple
  (1100 °C, 1000 h, pyDiffusion's 5 knots), with the mean |ΔX| of each;
* Boltzmann-Matano with 100 Monte-Carlo redraws on Ti-Zr.

pyDiffusion itself, if it is installed in ``.venv-bench-pyd`` (it needs ``numpy<2``):
``python3 -m venv .venv-bench-pyd && .venv-bench-pyd/bin/pip install "numpy<2" scipy
matplotlib "pandas<2.3" setuptools wheel && .venv-bench-pyd/bin/pip install
--no-build-isolation pydiffusion``: its explicit ``mphSim`` on the same couple and, when
``PYD_EXAMPLES`` names a folder with its ``NiMo_DC_init.csv`` and ``NiMo_exp.csv``, its FSA of
Ni-Mo run non-interactively (every prompt answered with its default, "satisfied" at the end).

    python benchmarks/bench_interdiffusion.py
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from ionscale.interdiffusion import (  # noqa: E402
    boltzmann_matano,
    fit_diffusivity,
    pydiffusion_diffusivity,
    read_pydiffusion,
    simulate_profile,
)

DATA = Path(os.environ.get("IONSCALE_INTERDIFFUSION_DATA", "/work/shared/data/interdiffusion"))
ROOT = Path(__file__).resolve().parents[1]
PYD = ROOT / ".venv-bench-pyd" / "bin" / "python"
NIMO_PHASES = [(0.0, 0.25), (0.49, 0.53), (0.97, 1.0)]

PYD_SIM = textwrap.dedent("""
    import time, json, sys
    from pydiffusion.io import read_csv
    from pydiffusion.utils import step, automesh, matanocalc, error_profile
    from pydiffusion.simulation import mphSim
    D = sys.argv[1]
    fsa, diffsys = read_csv(D + '/pydiffusion-TiZr.csv', [0, 1])
    exp, _ = read_csv(D + '/pydiffusion-TiZr_exp.csv')
    dism = automesh(fsa, diffsys, [300, 350])
    init = step(dism, matanocalc(fsa, [0, 1]), diffsys)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        sim = mphSim(init, diffsys, 100 * 3600, output=False)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"s": min(times), "n": len(dism), "error": float(error_profile(sim, exp))}))
""")

PYD_FSA = textwrap.dedent("""
    import builtins, contextlib, io, json, sys, time
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.pause = lambda *a, **k: None
    import pydiffusion.Dtools as dt
    from pydiffusion.io import read_csv
    from pydiffusion.utils import error_profile
    def answer(prompt=""):
        return "y" if "Satisfied" in prompt else ""
    builtins.input = dt.ask_input = answer
    dt.ita_start = dt.ita_finish = lambda *a, **k: None
    sm, dinit = read_csv(sys.argv[1] + "/NiMo_DC_init.csv")
    exp, _ = read_csv(sys.argv[1] + "/NiMo_exp.csv")
    dinit.Xspl = [[.05, .2], [.5, .515], [.985]]
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        sim, _ = dt.FSA(exp, sm, dinit, 3600 * 1000, Xlim=[0, 1], n=[250, 300])
    print(json.dumps({"s": time.perf_counter() - t0, "error": float(error_profile(sim, exp))}))
""")


def best_of(func, repeat: int = 3):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return min(times), out


def pydiffusion(script: str, arg: str) -> dict | None:
    if not PYD.is_file():
        return None
    proc = subprocess.run([str(PYD), "-c", script, arg], capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        return {"failed": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    tizr = read_pydiffusion(DATA / "pydiffusion-TiZr_exp.csv", time="100 h")
    nimo = read_pydiffusion(DATA / "pydiffusion-NiMo_exp.csv", time="1000 h")
    ref = pydiffusion_diffusivity(DATA / "pydiffusion-TiZr.csv")
    simulate_profile(tizr, ref, ends=(0, 1))  # compile the kernel once
    s, sim = best_of(lambda: simulate_profile(tizr, ref, ends=(0, 1)), 5)
    print(f"Ti-Zr forward simulation (pyDiffusion's D̃): {s * 1e3:.0f} ms, "
          f"{sim.provenance.parameters['n_cells']} cells, 300 implicit steps, "
          f"mean |ΔX| = {sim['mean_abs_deviation'].value:.2e}")
    s, fit = best_of(lambda: fit_diffusivity(tizr, ends=(0, 1), knots=5))
    X = np.linspace(0.05, 0.95, 19)
    print(f"Ti-Zr D̃ fit (5 knots): {s:.2f} s, {fit.settings['n_simulations']} simulations, "
          f"mean |ΔX| = {fit.mean_abs_deviation:.2e}, "
          f"max |D̃/D̃_pyDiffusion − 1| = {np.max(np.abs(fit.D(X) / ref(X) - 1)):.3f}")
    s, fit = best_of(lambda: fit_diffusivity(nimo, ends=(0, 1), phases=NIMO_PHASES,
                                             knots=[[.05, .2], [.5, .515], [.985]]))
    print(f"Ni-Mo D̃ fit (3 phases, 5 knots): {s:.2f} s, {fit.settings['n_simulations']} "
          f"simulations, mean |ΔX| = {fit.mean_abs_deviation:.2e}")
    s, _ = best_of(lambda: boltzmann_matano(tizr, monte_carlo=100))
    print(f"Ti-Zr Boltzmann-Matano with 100 Monte-Carlo redraws: {s:.2f} s")
    res = pydiffusion(PYD_SIM, str(DATA))
    if res is None:
        print("pyDiffusion: not installed in .venv-bench-pyd (see the module docstring)")
        return
    print(f"pyDiffusion mphSim, Ti-Zr: {res}")
    examples = os.environ.get("PYD_EXAMPLES")
    if examples:
        print(f"pyDiffusion FSA, Ni-Mo (defaults, non-interactive): "
              f"{pydiffusion(PYD_FSA, examples)}")


if __name__ == "__main__":
    main()
