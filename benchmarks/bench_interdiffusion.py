"""Interdiffusion benchmarks, side by side with pyDiffusion (run on demand; not a timed test).

Three comparisons, each tool on the same data and the same problem, timed in the same run
(medians of ``--repeat`` repeats, one BLAS thread), with the same agreement measure, mean |ΔX|
between the measured profile and the simulated one (pyDiffusion's ``error_profile``):

* **Ti-Zr forward simulation** (1000 °C, 100 h) with pyDiffusion's published D̃(X): pyDiffusion's
  ``mphSim`` on its ``automesh`` grid and ionscale's ``simulate_profile`` on the same span
  (closed ends) from the same initial interface (pyDiffusion's Matano plane);
* **Ti-Zr full D̃ fit**, five knots at X = 0.05, 0.275, 0.5, 0.725, 0.95, from the raw profile:
  pyDiffusion's pipeline ``datasmooth`` (every prompt at its default) → ``Dmodel`` (the same
  knots) → ``FSA`` (stop criterion 0.0011, Point Mode), against ``fit_diffusivity``;
* **Ni-Mo full D̃ fit** (1100 °C, 1000 h, three phases, pyDiffusion's five knots): pyDiffusion's own
  FSA example (its ``NiMo_DC_init.csv`` start, prompts answered as in its documentation: stop
  0.0016, Phase Mode), against ``fit_diffusivity`` from the raw profile. It needs
  ``PYD_EXAMPLES``, a folder with pyDiffusion's ``examples/data/NiMo_DC_init.csv`` and
  ``NiMo_exp.csv`` (github.com/zhangqi-chen/pyDiffusion).

D̃ agreement is the median and max |log10(D̃/D̃_ref)| against pyDiffusion's published D̃ (its
``TiZr.csv`` / ``NiMo.csv`` results) over X = 0.05–0.95 (Ni-Mo: inside the knotted ranges).

pyDiffusion (MIT) is never a dependency of ionscale: it lives only in ``.venv-bench-pyd``
(``make bench-reference`` builds it). pyDiffusion 0.2.3 installs from PyPI but calls
``np.trapz``, removed in NumPy 2.4, so that environment pins ``numpy<2`` (with
``pandas<2.3 scipy<1.16 matplotlib<3.11``, the last releases that accept NumPy 1.26).
Its prompts (``input``/``ask_input``) are answered by a script; nothing of it is patched.

Measured on the development machine (2 shared cores, load ≈ 4, so absolute times are noisy; one
run, medians of 3 repeats, 5 for the simulation; pyDiffusion 0.2.3, NumPy 1.26.4):

=========================  ========  =========  ========  ===========  =======  ===============
problem                    ionscale  pyDiff.    speed-up  mean |ΔX|    D̃ dev.   pyDiff. |ΔX|,
                           (s)       (s)                  ionscale     ionsc.   D̃ dev.
=========================  ========  =========  ========  ===========  =======  ===============
Ti-Zr simulation, given D̃  0.011     0.284      25×       1.03e-3      –        1.04e-3, –
Ti-Zr D̃ fit, 5 knots       0.254     7.00       28×       0.68e-3      0.016    1.82e-3, 0.031
Ni-Mo D̃ fit, 3 phases      0.540     32.8       61×       1.22e-3      0.097    1.42e-3, 0 (*)
=========================  ========  =========  ========  ===========  =======  ===============

D̃ dev.: max |log10(D̃/D̃_published)| (medians 0.003 and 0.013 for ionscale, 0.009 for
pyDiffusion on Ti-Zr). Counting only pyDiffusion's time inside ``mphSim`` (its FSA also draws
figures, through Agg here) the fits are still 10.7× (Ti-Zr, 2.71 s) and 53× (Ni-Mo, 28.8 s)
faster. (*) pyDiffusion's published Ni-Mo D̃ *is* this FSA run, reproduced exactly. ionscale's
fits also fit the initial interface x₀ (one more free parameter than pyDiffusion's FSA); with
pyDiffusion's own D̃ and x₀ the simulations agree with the data equally (1.03e-3 vs 1.04e-3).
An earlier run the same day (load ≈ 4): 36×, 46×, 38×.

    python benchmarks/bench_interdiffusion.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
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

DATA = Path(os.environ.get("IONSCALE_INTERDIFFUSION_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"
                           / "interdiffusion"))
ROOT = Path(__file__).resolve().parents[1]
PYD = ROOT / ".venv-bench-pyd" / "bin" / "python"
NIMO_PHASES = [(0.0, 0.25), (0.49, 0.53), (0.97, 1.0)]
NIMO_KNOTS = [[0.05, 0.2], [0.5, 0.515], [0.985]]
TIZR_KNOTS = [0.05, 0.275, 0.5, 0.725, 0.95]
TIZR_X = np.linspace(0.05, 0.95, 19)
NIMO_X = np.r_[np.linspace(0.05, 0.2, 7), np.linspace(0.5, 0.515, 4), 0.985]

# run by pyDiffusion's own interpreter: argv = mode, data folder, repeats, X for D̃, extra
PYD_SIDE = r"""
import builtins, contextlib, io, json, statistics, sys, time
import numpy as np
import matplotlib; matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.pause = lambda *a, **k: None
import pydiffusion.io as pio
import pydiffusion.Dtools as dt
import pydiffusion.smooth as psm
from scipy.interpolate import splev
from pydiffusion.io import read_csv
from pydiffusion.utils import step, automesh, matanocalc, error_profile
from pydiffusion.simulation import mphSim

mode, D, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
script = {}
def answer(prompt=""):
    for key, queue in script.items():
        if key in prompt:
            return queue.pop(0) if len(queue) > 1 else queue[0]
    return ""
builtins.input = answer
for mod in (pio, dt, psm):
    mod.ask_input = answer
    mod.ita_start = mod.ita_finish = lambda *a, **k: None

def dc(dsys, X):
    out = np.full(len(X), np.nan)
    for k in range(dsys.Np):
        lo, hi = sorted(dsys.Xr[k])
        m = (X >= lo) & (X <= hi)
        out[m] = np.exp(splev(X[m], dsys.Dfunc[k]))
    return out.tolist()

in_sim = [0.0]
def counted(*a, **k):  # time spent in the simulations themselves (FSA also draws figures)
    t0 = time.perf_counter()
    try:
        return mphSim(*a, **k)
    finally:
        in_sim[0] += time.perf_counter() - t0
dt.mphSim = counted

def timed(f):
    times, out, sims = [], None, []
    for _ in range(repeat):
        in_sim[0] = 0.0
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            out = f()
        times.append(time.perf_counter() - t0)
        sims.append(in_sim[0])
        plt.close("all")
    timed.sims = sims
    return times, out

Xq = np.array(json.loads(sys.argv[4])) if len(sys.argv) > 4 else np.array([])
if mode == "sim":      # Ti-Zr forward simulation with pyDiffusion's own D(X)
    fsa, dsys = read_csv(D + "/pydiffusion-TiZr.csv", [0, 1])
    exp, _ = read_csv(D + "/pydiffusion-TiZr_exp.csv")
    dism = automesh(fsa, dsys, [300, 350])
    x0 = matanocalc(fsa, [0, 1])
    init = step(dism, x0, dsys)
    times, sim = timed(lambda: mphSim(init, dsys, 100 * 3600, output=False))
    extra = {"n": len(dism), "x0_um": float(x0), "domain_um": [float(dism[0]), float(dism[-1])]}
elif mode == "fsa-tizr":  # full pipeline: smooth (defaults) -> Dmodel (given knots) -> FSA
    exp, _ = read_csv(D + "/pydiffusion-TiZr_exp.csv")
    knots = json.loads(sys.argv[5])
    def run():
        script.clear()
        script.update({"stop criteria": ["0.0011"], "Use Phase Mode": ["n"],
                       "Satisfied": ["y"]})
        sm = psm.datasmooth(exp, n=500)
        dsys = dt.Dmodel(sm, 100 * 3600, Xspl=[knots], Xlim=[0, 1], output=False)
        return dt.FSA(exp, sm, dsys, 100 * 3600, Xlim=[0, 1], n=[300, 350])
    times, (sim, dsys) = timed(run)
    extra = {"D": dc(dsys, Xq)}
elif mode == "fsa-nimo":  # pyDiffusion's own FSA example, answered as in its docs
    sm, dinit = read_csv(D + "/NiMo_DC_init.csv")
    exp, _ = read_csv(D + "/NiMo_exp.csv")
    dinit.Xspl = [[.05, .2], [.5, .515], [.985]]
    def run():
        script.clear()
        script.update({"stop criteria": [".0016"], "Use Phase Mode": ["y"],
                       "Satisfied": ["n", "y"], "Point Mode (y)": ["n"], "Manually": [""]})
        return dt.FSA(exp, sm, dinit, 3600 * 1000, Xlim=[0, 1], n=[250, 300])
    times, (sim, dsys) = timed(run)
    extra = {"D": dc(dsys, Xq)}
print(json.dumps({"times": times, "median": statistics.median(times),
                  "in_mphSim": statistics.median(timed.sims),
                  "error": float(error_profile(sim, exp)),
                  "dis": sim.dis.tolist(), "X": sim.X.tolist(), **extra}))
"""


def median_time(func, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def pydiffusion(*args) -> dict | None:
    if not PYD.is_file():
        return None
    proc = subprocess.run([str(PYD), "-c", PYD_SIDE, *map(str, args)], capture_output=True,
                          text=True, timeout=3600)
    if proc.returncode != 0:
        return {"failed": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def log_dev(D, ref) -> str:
    d = np.abs(np.log10(np.asarray(D, float) / np.asarray(ref, float)))
    return f"{np.median(d):.3f} / {np.max(d):.3f}"


def row(name: str, ours: float, ours_mad: float, ours_d: str, pyd: dict | None) -> str:
    if pyd is None or "failed" in pyd:
        return (f"{name:28s} ionscale {ours:8.3f} s  |ΔX| {ours_mad:.2e}  D̃ {ours_d}  "
                f"pyDiffusion: {'not installed' if pyd is None else pyd['failed']}")
    return (f"{name:28s} ionscale {ours:8.3f} s  |ΔX| {ours_mad:.2e}  D̃ {ours_d}   "
            f"pyDiffusion {pyd['median']:8.3f} s  |ΔX| {pyd['error']:.2e}  D̃ {pyd.get('Ddev', '–')}"
            f"   ratio {pyd['median'] / ours:6.1f}×"
            + (f" (in mphSim alone {pyd['in_mphSim']:.2f} s: {pyd['in_mphSim'] / ours:.1f}×)"
               if pyd.get("in_mphSim") else ""))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    n = ap.parse_args().repeat
    tizr = read_pydiffusion(DATA / "pydiffusion-TiZr_exp.csv", time="100 h")
    nimo = read_pydiffusion(DATA / "pydiffusion-NiMo_exp.csv", time="1000 h")
    ref = pydiffusion_diffusivity(DATA / "pydiffusion-TiZr.csv")
    ref_nimo = pydiffusion_diffusivity(DATA / "pydiffusion-NiMo.csv", phases=NIMO_PHASES)
    x_um, c_exp = tizr.x * 1e6, tizr.c("X")
    rows = []

    # 1. forward simulation, pyDiffusion's D̃, same span and initial interface
    pyd = pydiffusion("sim", DATA, max(n, 5))
    if pyd and "failed" not in pyd:
        x0, dom = pyd["x0_um"] * 1e-6, tuple(v * 1e-6 for v in pyd["domain_um"])
        pyd["mad"] = float(np.mean(np.abs(c_exp - np.interp(x_um, pyd["dis"], pyd["X"]))))
    else:
        x0, dom = None, None
    run = lambda: simulate_profile(tizr, ref, ends=(0, 1), x0=x0, domain=dom)  # noqa: E731
    run()  # compile the kernel once
    s, sim = median_time(run, max(n, 5))
    rows.append(row("Ti-Zr forward simulation", s, sim["mean_abs_deviation"].value, "(given)",
                    pyd))
    print(f"  ionscale {sim.provenance.parameters['n_cells']} cells, 300 implicit steps; "
          f"pyDiffusion {pyd and pyd.get('n')} nodes, explicit steps; pyDiffusion's profile "
          f"re-measured here: |ΔX| = {pyd and pyd.get('mad')}")

    # 2. Ti-Zr full fit
    s, fit = median_time(lambda: fit_diffusivity(tizr, ends=(0, 1), knots=[TIZR_KNOTS]), n)
    pyd = pydiffusion("fsa-tizr", DATA, n, json.dumps(TIZR_X.tolist()), json.dumps(TIZR_KNOTS))
    if pyd and "failed" not in pyd:
        pyd["Ddev"] = log_dev(pyd["D"], ref(TIZR_X))
    rows.append(row("Ti-Zr D̃ fit (5 knots)", s, fit.mean_abs_deviation,
                    log_dev(fit.D(TIZR_X), ref(TIZR_X)), pyd))
    print(f"  ionscale {fit.settings['n_simulations']} simulations")

    # 3. Ni-Mo full fit
    s, fit = median_time(lambda: fit_diffusivity(nimo, ends=(0, 1), phases=NIMO_PHASES,
                                                 knots=NIMO_KNOTS), n)
    examples = os.environ.get("PYD_EXAMPLES")
    pyd = pydiffusion("fsa-nimo", examples, n, json.dumps(NIMO_X.tolist())) if examples \
        else {"failed": "PYD_EXAMPLES not set"} if PYD.is_file() else None
    if pyd and "failed" not in pyd:
        pyd["Ddev"] = log_dev(pyd["D"], ref_nimo(NIMO_X))
    rows.append(row("Ni-Mo D̃ fit (3 phases)", s, fit.mean_abs_deviation,
                    log_dev(fit.D(NIMO_X), ref_nimo(NIMO_X)), pyd))
    print(f"  ionscale {fit.settings['n_simulations']} simulations")

    s, _ = median_time(lambda: boltzmann_matano(tizr, monte_carlo=100), n)
    print(f"Ti-Zr Boltzmann-Matano with 100 Monte-Carlo redraws (ionscale only): {s:.2f} s")
    print("D̃ columns: median / max |log10(D̃/D̃_pyDiffusion-published)|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
