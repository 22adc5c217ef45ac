"""Kinetic Monte Carlo from hop barriers to transport numbers, and the couple's profiles.

Three short runs, a few seconds each on one core:

1. the single-vacancy tracer correlation factor of the seven built-in lattices against the
   exact values (SCIENCE.md §7);
2. an interacting Li lattice gas (half filled, simple cubic, E_KRA 0.35 eV, 20 meV repulsion)
   at four temperatures: D*, D_σ, the Haven ratio, and an Arrhenius fit of D* (through
   ``ionscale.transport.fit_arrhenius``, weighted by the kMC errors);
3. an A|B couple with 5 % vacancies and equal rates: the concentration profiles, as plain SI
   arrays ready for ``ionscale.interdiffusion``.

Run::

    python examples/kmc_correlation.py [output folder]

It writes ``kmc_correlation.png`` (correlation factors, MSD fits, Arrhenius, profiles) and
``kmc_couple_profile.json`` into ``examples/output/`` (or the folder given).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from ionscale.kmc import (  # noqa: E402
    SINGLE_VACANCY_F,
    Model,
    Species,
    ab_couple,
    ab_couple_profiles,
    arrhenius_series,
    builtin_lattice,
    correlation_factor,
    run,
)
from ionscale.report.style import new_figure, save_figure  # noqa: E402

LATTICES = ["square", "honeycomb", "triangular", "diamond", "sc", "bcc", "fcc"]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = new_figure("double", aspect=0.75, nrows=2, ncols=2)
    (ax_f, ax_msd), (ax_arr, ax_prof) = axes

    # 1. correlation factors
    found = [correlation_factor(name, events=3e5, blocks=48, lags=4, seed=7)["f"]
             for name in LATTICES]
    for name, f in zip(LATTICES, found, strict=True):
        print(f"f({name:10s}) = {f.value:.4f} ± {f.error:.4f}   exact {SINGLE_VACANCY_F[name]:.5f}")
    x = np.arange(len(LATTICES))
    ax_f.errorbar(x, [f.value for f in found], yerr=[2 * f.error for f in found], fmt="o",
                  label="kMC ±2σ")
    ax_f.plot(x, [SINGLE_VACANCY_F[n] for n in LATTICES], "k_", ms=14, label="exact")
    ax_f.set_xticks(x, LATTICES, rotation=30)
    ax_f.set_ylabel("tracer correlation factor f")
    ax_f.legend()

    # 2. an interacting lattice gas, one temperature and a series
    lattice = builtin_lattice("sc", 12, a="3 angstrom")
    gas = Model(lattice, [Species("Li", fraction=0.5, nu="1e13 1/s", Ea="0.35 eV")], 600.0,
                interactions={("Li", "Li"): "0.02 eV"})
    at600 = run(gas, events=4e5, blocks=48, lags=6, equilibrate=5e4, seed=1)
    print(at600.summary())
    at600.plot(ax=ax_msd)
    series = arrhenius_series(gas, [500.0, 600.0, 700.0, 800.0], events=2e5, blocks=48,
                              lags=6, equilibrate=5e4, seed=2)
    arr = series.arrhenius("D_tracer")      # ionscale.transport.fit_arrhenius, kMC errors
    print(f"Ea(D*) = {arr['Ea'].value / 1.602176634e-19:.3f} ± "
          f"{arr['Ea'].error / 1.602176634e-19:.3f} eV (E_KRA 0.35 eV + interactions)")
    series.plot(ax=ax_arr)

    # 3. an A|B couple: profiles as plain arrays
    couple = ab_couple_profiles(model=ab_couple((48, 12, 12)), seed=1, track=1000)
    couple.profiles.plot(ax=ax_prof)
    snapshot = couple.profiles.profile(-1)
    print(f"couple: D* along the interface = {couple['D_expected']}; the profiles' "
          f"Boltzmann-Matano D̃ equals it (tests/test_kmc_interdiffusion.py)")
    with open(out / "kmc_couple_profile.json", "w", encoding="utf-8") as fh:
        json.dump({k: (v.tolist() if hasattr(v, "tolist") else
                       {s: np.asarray(a).tolist() for s, a in v.items()}
                       if isinstance(v, dict) else v)
                   for k, v in snapshot.items()}, fh)
    (out / "kmc_correlation.png").write_bytes(save_figure(fig)["png"])  # wraps long titles


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "output")
