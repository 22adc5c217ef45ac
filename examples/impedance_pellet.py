"""Bulk and grain-boundary conductivity of a real pellet from seven temperatures, in one call.

The spectra are the pellet of Adediwura et al. (J. Mater. Chem. A 12 (2024) 15847), shipped
with ionscale (EISFitpython, MIT): 140-200 °C, 1 MHz down to 0.03 Hz, pellet 0.21 cm thick
between 0.8 cm electrodes. Each spectrum is checked by a Kramers-Kronig test (with a series
capacitance for the blocking electrodes), then all seven are fitted with
``p(R1,CPE1)-p(R2,CPE2)-CPE3`` in one batch call without initial values; the arcs are assigned
from their Brug capacitances, and σT of bulk and grain boundaries gives the activation energies.
The DRT of the 160 °C spectrum shows the same two processes.

Run::

    python examples/impedance_pellet.py [output.png]

The figure goes to ``examples/output/impedance_pellet.png`` unless a path is given.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import ionscale  # noqa: E402
from ionscale.impedance import (  # noqa: E402
    Geometry,
    compute_drt,
    kramers_kronig,
    pellet_series,
)
from ionscale.io.eis import read_directory  # noqa: E402
from ionscale.units import EV  # noqa: E402

DATA = Path(ionscale.__file__).parent / "datasets" / "data" / "s04147"  # bundled (MIT)
#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"


def main(out: str | Path) -> None:
    spectra = read_directory(DATA)  # temperatures come from the file names (-160deg)
    for s in spectra:
        kk = kramers_kronig(s, include_capacitance=True)
        print(f"{s.label}: {s.temperature - 273.15:.0f} °C, KK "
              f"{'passes' if kk.passed else 'FAILS'} (max residual {kk.max_residual:.2f} %)")

    geometry = Geometry(thickness=0.21e-2, diameter=0.8e-2)
    result = pellet_series(spectra, "p(R1,CPE1)-p(R2,CPE2)-CPE3", geometry, progress=False)
    print(result.summary())
    for p in result.pellets:
        print(f"  {p.temperature - 273.15:5.0f} °C  {p['sigma_bulk']}  {p['sigma_gb']}  "
              f"{p['C_bulk']}  {p['C_gb']}")
    print(f"Ea(bulk) = {result['Ea_bulk'].value / EV:.3f} ± {result['Ea_bulk'].error / EV:.3f} eV,"
          f" Ea(gb) = {result['Ea_gb'].value / EV:.3f} ± {result['Ea_gb'].error / EV:.3f} eV")

    drt = compute_drt(spectra[2], capacitance=True)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), layout="constrained")
    result.pellets[2].circuit_fit.plot(ax=axes[0, 0], kind="nyquist")
    result.pellets[2].circuit_fit.plot(ax=axes[0, 1], kind="bode")
    drt.plot(ax=axes[1, 0])
    result.plot(ax=axes[1, 1])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    print(f"figure: {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else OUTPUT / "impedance_pellet.png")
