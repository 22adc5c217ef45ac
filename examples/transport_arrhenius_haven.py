"""Arrhenius fits, curvature tests, Nernst-Einstein, Haven ratio and the series model (LLTO).

The numbers follow seed 000 (Li0.29La0.57TiO3, cryo-SIMS): the effective tracer diffusivity
D*_eff is read from a table, fitted with an Arrhenius law and extrapolated to the -110 °C of
the SIMS stage with its propagated error; a synthetic bulk conductivity with the known
non-Arrhenius bend of LLTO is tested for curvature; the grain-boundary Haven ratio follows from
the Arrhenius prefactors; and the series (brick-layer) model reproduces D*_eff from the bulk
and grain-boundary terms with the grain-size spread propagated two ways.

The D*_eff(T) table is synthetic (the paper does not tabulate it): the series model built
from the seed's D_bulk(22 °C) = 2.6e-8 cm² s⁻¹ (bulk Ea assumed 0.25 eV) and its Fig. 5c
grain-boundary line, 0.048 cm² s⁻¹ exp(-0.43 eV / k_B T), with 10 % noise.

Run::

    python examples/transport_arrhenius_haven.py [output.png]

The D*_eff table and the figure go to ``examples/output/`` (the figure to the path given instead).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ionscale.transport.arrhenius import compare_arrhenius_models  # noqa: E402
from ionscale.transport.effective_medium import (  # noqa: E402
    gb_term_from_effective,
    series_diffusivity,
)
from ionscale.transport.io import read_arrhenius_table  # noqa: E402
from ionscale.transport.nernst_einstein import (  # noqa: E402
    carrier_density,
    conductivity_diffusivity,
    haven_ratio_from_prefactors,
    molar_mass,
)
from ionscale.units import BOLTZMANN, EV, format_value  # noqa: E402

K = BOLTZMANN
#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"


def write_deff_table(path: Path, seed: int = 0) -> None:
    """A D*_eff(T) table in field units (°C, cm² s⁻¹) as a lab would keep it."""
    rng = np.random.default_rng(seed)
    t_c = np.array([22.0, 50.0, 75.0, 100.0, 125.0, 150.0])
    T = t_c + 273.15
    d_bulk = 2.6e-8 * np.exp(-0.25 * EV / K * (1 / T - 1 / 295.15))   # cm^2/s
    gb = 0.048 * np.exp(-0.43 * EV / (K * T))                         # (l/δ) D_gb, cm^2/s
    d_eff = 1 / (1 / d_bulk + 1 / gb) * np.exp(rng.normal(0, 0.1, T.size))
    rows = "\n".join(f"{a:.0f}, {d:.3e}, {0.1 * d:.2e}" for a, d in zip(t_c, d_eff,
                                                                        strict=True))
    path.write_text("# sample: LLTO pellet (synthetic, after seed 000)\n"
                    "# method: SIMS line analysis after annealing\n"
                    f"T_C, D (cm2/s), D_err (cm2/s)\n{rows}\n")


def bulk_conductivity(seed: int = 1):
    """σ_bulk(T) of LLTO-like behaviour: Ea 0.30 eV below 450 K, 0.18 eV above (S/m)."""
    rng = np.random.default_rng(seed)
    T = np.linspace(250.0, 650.0, 17)
    tb = 450.0
    ea = np.where(T < tb, 0.30, 0.18) * EV
    sigma_t = 1e2 * 450.0 * np.exp(-ea * (1 / T - 1 / tb) / K)       # σT, S K/m
    sigma = sigma_t / T * np.exp(rng.normal(0, 0.04, T.size))
    return T, sigma, 0.04 * sigma


def main(out: Path) -> None:
    OUTPUT.mkdir(exist_ok=True)
    table_path = OUTPUT / "llto_deff.csv"
    write_deff_table(table_path)
    table = read_arrhenius_table(table_path)
    fit = table.fit()
    print(fit.summary())
    d, d_err = fit.extrapolate([-110.0], T_unit="C")
    print(f"D*_eff(-110 °C) = {format_value(d[0] * 1e4, d_err[0] * 1e4, 'cm² s⁻¹')}")
    length = math.sqrt(2 * d[0] * 5 * 3600)
    print(f"diffusion length in a 5 h SIMS run: {length * 1e6:.2f} µm (resolution 1 µm)")

    T, sigma, sigma_err = bulk_conductivity()
    comparison = compare_arrhenius_models(T, sigma, sigma_err, form="sigmaT")
    print(comparison.summary())

    n = carrier_density(5.07e3, "Li0.29La0.57TiO3", 0.29)   # ρ of the 3.87 Å perovskite cell
    print(f"M = {molar_mass('Li0.29La0.57TiO3') * 1e3:.2f} g/mol, {n}")
    d_sigma = conductivity_diffusivity(1e-1, 300.0, n, sigma_error=5e-3)  # 1 mS/cm at 300 K
    print(f"1 mS cm⁻¹ at 300 K -> {d_sigma}")

    h = haven_ratio_from_prefactors(0.048e-4, 0.20e-4)
    print(f"grain boundaries: {h}")

    first = series_diffusivity(2.6e-12, 1.5e-8, 16e-6, grain_size_error=11e-6)
    mc = series_diffusivity(2.6e-12, 1.5e-8, 16e-6, grain_size_error=11e-6,
                            error_method="monte-carlo", seed=0)
    print(f"series model, first order: {first}")
    print(f"series model, Monte Carlo (normal l): {mc}; mean "
          f"{mc.details['mean'] * 1e4:.2e} cm² s⁻¹")
    print(f"(l/δ)D*_gb at 22 °C from D*_eff = 3.0e-9: {gb_term_from_effective(3.0e-13, 2.6e-12)}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    fit.plot(axes[0])
    axes[0].set_title("D*_eff of LLTO")
    comparison.plot(axes[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"figure: {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT / "transport_arrhenius_haven.png")
