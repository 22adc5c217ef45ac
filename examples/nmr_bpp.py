"""BPP analysis of ⁷Li spin-lattice relaxation in LLTO, and the local diffusion coefficient.

Seed 001 fits the T1(T) of Li0.29La0.57TiO3 at 155.4 MHz (⁷Li, 9.4 T) with the BPP law and
finds τ0 = 1.4e-11 s and Ea = 0.11 eV; the Einstein-Smoluchowski relation with the A-site
spacing l = 3.87 Å then gives a local diffusion coefficient to compare with PFG-NMR
(D_NMR = 9.2e-8 cm² s⁻¹ at 333 K).

The paper does not tabulate T1, so the data here are synthetic: the seed's τ0 and Ea, a T1
minimum of 50 ms, 3 % noise, 150-500 K. A second data set with an asymmetric peak (β = 1.6, as
for correlated or low-dimensional motion) is fitted with both models and compared by AIC.

Run::

    python examples/nmr_bpp.py [output.png]

The figure goes to ``examples/output/nmr_bpp.png`` unless a path is given.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ionscale.errors import FitWarning  # noqa: E402
from ionscale.nmr.data import RelaxationData  # noqa: E402
from ionscale.nmr.relaxation import (  # noqa: E402
    BPP_T1_MINIMUM,
    asymmetric_bpp_rate,
    bpp_rate,
    correlation_time,
    einstein_smoluchowski,
    fit_bpp,
    flank_activation_energies,
    larmor_frequency,
)
from ionscale.units import EV  # noqa: E402

F0 = 155.4e6                 # Hz, ⁷Li Larmor frequency of seed 001
TAU0, EA = 1.4e-11, 0.11 * EV
C = 1.37e10                  # s⁻², T1 minimum of 50 ms
L_JUMP = 3.87e-10            # m, LLTO A-site spacing
#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"


def synthetic(beta: float = 2.0, seed: int = 1) -> RelaxationData:
    rng = np.random.default_rng(seed)
    T = np.linspace(150.0, 500.0, 22)
    T1 = 1 / asymmetric_bpp_rate(T, TAU0, EA, C, 2 * math.pi * F0, beta)
    return RelaxationData(T=T, time=T1 * (1 + 0.03 * rng.normal(size=T.size)),
                          time_error=0.03 * T1, kind="T1", frequency=F0, nucleus="7Li",
                          source=None, metadata={"synthetic": True, "beta": beta})


def main(out: Path) -> None:
    print(f"7Li at 9.4 T: {larmor_frequency('7Li', 9.4) / 1e6:.2f} MHz "
          f"(seed: {F0 / 1e6} MHz); T1 minimum at ω0τ = {BPP_T1_MINIMUM:.10f}")

    fit = fit_bpp(synthetic())
    print(fit.summary())
    tau, tau_err = fit.tau(333.0)
    print(f"τ(333 K) = {tau:.3e} ± {tau_err:.1e} s, jump rate {1 / tau:.3e} s⁻¹")
    for d in (2, 3):
        print(f"D_local(333 K, d = {d}) from the fit: "
              f"{fit.diffusion_coefficient(333.0, L_JUMP, d)}")

    # what the seed's own τ0 and Ea give (it quotes 1.28e-7 cm²/s against D_NMR = 9.2e-8)
    tau_seed = correlation_time(333.0, TAU0, EA)
    for d in (2, 3):
        print(f"seed τ0, Ea -> τ = {tau_seed:.3e} s, d = {d}: "
              f"{einstein_smoluchowski(tau_seed, L_JUMP, d)}")

    data = synthetic(beta=1.6, seed=2)
    asym = fit_bpp(data, asymmetric=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        sym = fit_bpp(data)                 # BPP does not describe an asymmetric peak
    for w in caught:
        print(f"BPP on the asymmetric data: {w.message}")
    flanks = flank_activation_energies(asym)
    print(asym.summary())
    print(f"flanks: {flanks['Ea_high']}, {flanks['Ea_low']}; "
          f"AIC BPP {sym.fit.aic:.1f} vs asymmetric {asym.fit.aic:.1f}")

    # T1ρ of the same motion under a 30 kHz spin lock
    w1 = 2 * math.pi * 30e3
    T = np.linspace(90.0, 200.0, 18)
    t1r = 1 / bpp_rate(T, TAU0, EA, C, 2 * math.pi * F0, kind="T1rho", omega1=w1)
    rng = np.random.default_rng(3)
    rho = fit_bpp(RelaxationData(T=T, time=t1r * (1 + 0.03 * rng.normal(size=T.size)),
                                 time_error=0.03 * t1r, kind="T1rho", frequency=30e3,
                                 nucleus="7Li"), omega0=2 * math.pi * F0)
    print(rho.summary())

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    fit.plot(axes[0])
    axes[0].set_title("BPP, LLTO T1 (synthetic)")
    asym.plot(axes[1])
    grid = np.linspace(140.0, 520.0, 200)
    axes[1].plot(1e3 / grid, 1 / np.asarray(sym.rate(grid)[0]), "--", label="BPP fit")
    axes[1].legend(fontsize="small")
    axes[1].set_title("asymmetric peak, β = 1.6")
    rho.plot(axes[2])
    axes[2].set_title("T1ρ, 30 kHz spin lock")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"figure: {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT / "nmr_bpp.png")
