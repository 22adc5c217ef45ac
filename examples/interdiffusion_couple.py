"""Interdiffusion D̃(C) across an interface: direct methods and the forward fit.

1. pyDiffusion's Ti-Zr couple (1000 °C, 100 h; MIT, bundled with ionscale):
   Boltzmann-Matano with its Monte-Carlo band and the forward-simulation fit, compared with
   pyDiffusion's own D̃(X).
2. A synthetic NMC|LLZO-like SIMS depth profile with a known D̃(X_Co): sputter time → depth
   with layer-dependent rates, then Boltzmann-Matano and the forward fit (probe resolution
   deconvolved), compared with the truth.

Figures and the synthetic profile are written next to this script::

    python examples/interdiffusion_couple.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import ionscale.datasets  # noqa: E402
from ionscale.datasets.synthetic_interdiffusion import nmc_llzo_couple, write_couple  # noqa: E402
from ionscale.interdiffusion import (  # noqa: E402
    boltzmann_matano,
    fit_diffusivity,
    pydiffusion_diffusivity,
    read_profile,
    read_pydiffusion,
    to_depth,
)

#: outputs go next to this script, never into the working or the system temporary folder
OUT = Path(__file__).resolve().parent / "output"
#: pyDiffusion's Ti-Zr couple, bundled with ionscale (MIT, licence beside it)
DATA = Path(ionscale.datasets.__file__).resolve().parent / "data"


def real_couple() -> None:
    exp = read_pydiffusion(DATA / "pydiffusion-TiZr_exp.csv", time="100 h",
                           temperature="1000 degC")
    ref = pydiffusion_diffusivity(DATA / "pydiffusion-TiZr.csv")
    bm = boltzmann_matano(exp, ends=(0, 1), at=[0.5], monte_carlo=50)
    fit = fit_diffusivity(exp, ends=(0, 1), knots=5, at=[0.5])
    print(bm["D_0.5"], "(Boltzmann-Matano)")
    print(fit["D_0.5"], "(forward fit);", f"pyDiffusion: {ref(0.5) * 1e4:.3g} cm² s⁻¹")
    print(f"mean |ΔX| of the fit: {fit.mean_abs_deviation:.2e} (pyDiffusion's own: 1.2e-3)")
    ax = fit.plot()
    ax.figure.savefig(OUT / "interdiffusion_couple.png", dpi=110)
    fig, ax = plt.subplots(figsize=(5, 3.6), layout="constrained")
    bm.plot(ax=ax, kind="diffusivity")
    X = np.linspace(0.01, 0.99, 99)
    ax.plot(X, fit.D(X), "-", color="C2", label="forward fit")
    ax.plot(X, ref(X), "k:", label="pyDiffusion")
    ax.legend(fontsize="x-small", frameon=False)
    fig.savefig(OUT / "interdiffusion_TiZr_D.png", dpi=110)
    plt.close("all")


def synthetic_couple() -> None:
    couple = nmc_llzo_couple(seed=0)
    path = write_couple(OUT / "interdiffusion_nmc_llzo.csv", couple)
    raw = read_profile(path, time="10 h", temperature="700 degC", resolution="20 nm")
    depth = to_depth(raw, crater_depth="4.5 um", layer_rates=(0.8, 1.2), marker="Co")
    bm = boltzmann_matano(depth, "Co", at=[0.5], monte_carlo=50)
    fit = fit_diffusivity(depth, "Co", knots=3, ends=(0, 1), at=[0.25, 0.5, 0.75])
    truth = couple.truth["D"]
    for c in (0.25, 0.5, 0.75):
        print(fit[f"D_{c:g}"], f"(truth {truth(c) * 1e4:.3g} cm² s⁻¹)")
    print(bm["D_0.5"], "(Boltzmann-Matano)")
    ax = fit.plot()
    ax.figure.savefig(OUT / "interdiffusion_nmc_llzo_fit.png", dpi=110)
    plt.close("all")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    real_couple()
    synthetic_couple()
    print(f"figures written to {OUT}")
