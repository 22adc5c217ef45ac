# ruff: noqa: E501  (the campaign template keeps TOML lines whole)
"""The impedance part of the demo campaign.

* a synthetic pellet measured from −20 to 50 °C (bulk Ea 0.35 eV, grain boundaries 0.45 eV,
  blocking electrodes), as EC-Lab-style CSV files → circuit fits with σ at every temperature,
  a Kramers-Kronig test, a DRT, one batch fit of the whole series with its Arrhenius laws, and
  the Arrhenius law of the stored per-temperature bulk conductivities;
* a Li | solid electrolyte | Li cell whose interface resistance grows for 180 h, one spectrum
  every 6 h, with the two √t regimes of seed 004 → R(t) and its two-segment fit;
* the real seven-temperature pellet of Adediwura et al. (EISFitpython, MIT) → one batch fit,
  bulk and grain-boundary σ and their activation energies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..io.atomic import write_text_atomic
from .synthetic_eis import simulate_spectrum, temperature_series

S04147_DIR = Path(__file__).parent / "data" / "s04147"
#: Temperatures of the synthetic pellet series, °C.
PELLET_TEMPERATURES_C = (-20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0)
#: Pellet geometry of the synthetic series: thickness and electrode diameter, m.
PELLET_THICKNESS, PELLET_DIAMETER = 1.0e-3, 10.0e-3
#: Interface growth of the time series (seed 004): R = R0 + s1 √t, then slope s2 after t_break.
GROWTH = {"R_start": 200.0, "slope_1": 2.0, "slope_2": 0.5, "t_break_h": 49.0}


def _write_csv(path: Path, spectrum, time_offset: float | None = None,
               temperature_c: float | None = None) -> None:
    f = spectrum.frequency[::-1]  # as a sweep runs: high to low frequency
    z = spectrum.impedance[::-1]
    header = "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm"
    cols = [f, z.real, -z.imag]
    if time_offset is not None:
        header += ",time/s"
        cols.append(time_offset + np.arange(f.size) * 2.0)  # 2 s per point
    if temperature_c is not None:
        header += ",T/degC"
        cols.append(np.full(f.size, temperature_c))
    rows = [",".join(f"{v:.8g}" for v in row) for row in zip(*cols, strict=True)]
    write_text_atomic(path, header + "\n" + "\n".join(rows) + "\n")


def _growth_resistance(t_s: np.ndarray) -> np.ndarray:
    g = GROWTH
    x = np.sqrt(t_s)
    xb = np.sqrt(g["t_break_h"] * 3600.0)
    return g["R_start"] + np.where(x < xb, g["slope_1"] * x,
                                   g["slope_1"] * xb + g["slope_2"] * (x - xb))


def write_eis_demo(data: Path, rng: np.random.Generator) -> str:
    """Write the impedance files under ``data/eis`` and return the campaign's samples (TOML)."""
    folder = data / "eis"
    folder.mkdir(parents=True, exist_ok=True)
    temps_k = np.array(PELLET_TEMPERATURES_C) + 273.15
    spectra = temperature_series(temps_k, noise=0.005, seed=int(rng.integers(1 << 31)))
    meas, fits, pellet_files = [], [], []
    for tc, s in zip(PELLET_TEMPERATURES_C, spectra, strict=True):
        name = f"pellet_{int(tc):+d}C.csv".replace("+", "p").replace("-", "m")
        pellet_files.append(f'"data/eis/{name}"')
        _write_csv(folder / name, s, temperature_c=tc)
        label = f"eis-{int(tc)}C"
        meas.append(f"""
[[samples.measurements]]
name = "{label}"
technique = "eis"
files = ["data/eis/{name}"]
conditions = {{ temperature = "{tc:g} degC", thickness = "{PELLET_THICKNESS * 1e3:g} mm", diameter = "{PELLET_DIAMETER * 1e3:g} mm" }}
""")
        fits.append(f"""
[[samples.analyses]]
method = "eis.fit"
label = "Circuit fit and σ at {tc:g} °C"
measurements = ["{label}"]
parameters = {{ circuit = "p(R1,CPE1)-p(R2,CPE2)-CPE3" }}
""")

    # Interface growth of a symmetric Li cell, one spectrum every 6 h for 180 h (seed 004).
    times = np.arange(0.0, 181.0, 6.0) * 3600.0
    resistances = _growth_resistance(times)
    growth_files = []
    for t, r in zip(times, resistances, strict=True):
        s = simulate_spectrum("R0-p(R1,CPE1)", {"R0": 150.0, "R1": float(r), "CPE1_Q": 2e-6,
                                                  "CPE1_alpha": 0.85},
                              noise=0.005, seed=int(rng.integers(1 << 31)))
        name = f"cell_{int(t / 3600):03d}h.csv"
        _write_csv(folder / name, s, time_offset=float(t))
        growth_files.append(f'"data/eis/{name}"')

    real = data / "eis" / "s04147"
    real.mkdir(parents=True, exist_ok=True)
    real_meas = []
    for path in sorted(S04147_DIR.glob("s04147-*.txt")):
        shutil.copyfile(path, real / path.name)
        real_meas.append(f'"data/eis/s04147/{path.name}"')
    shutil.copyfile(S04147_DIR / "LICENSE-eisfitpython", real / "LICENSE-eisfitpython")

    return f"""
[[samples]]
name = "Pellet (synthetic impedance)"
description = "Solid-electrolyte pellet, 1 mm thick, 10 mm electrodes: bulk Ea 0.35 eV, grain boundaries 0.45 eV, C_bulk 5 pF, C_gb 1 nF, blocking electrodes; 0.5 % noise."
{"".join(meas)}
[[samples.measurements]]
name = "eis-all"
technique = "eis"
files = [{", ".join(pellet_files)}]
conditions = {{ thickness = "{PELLET_THICKNESS * 1e3:g} mm", diameter = "{PELLET_DIAMETER * 1e3:g} mm" }}
{"".join(fits)}
[[samples.analyses]]
method = "eis.kk"
label = "Kramers-Kronig test at 20 °C"
measurements = ["eis-20C"]
parameters = {{ blocking = true }}

[[samples.analyses]]
method = "eis.drt"
label = "DRT at 20 °C"
measurements = ["eis-20C"]
parameters = {{ blocking = true }}

[[samples.analyses]]
method = "eis.series"
label = "Temperature series in one batch: σ(T) and Ea of bulk and grain boundaries"
measurements = ["eis-all"]
parameters = {{ circuit = "p(R1,CPE1)-p(R2,CPE2)-CPE3" }}

[[samples.analyses]]
method = "transport.arrhenius"
label = "Arrhenius of the stored bulk conductivities"
parameters = {{ from_method = "eis.fit", value = "sigma_bulk", form = "sigmaT" }}

[[samples]]
name = "Li | SE | Li cell (synthetic, 180 h)"
description = "Interface resistance growing as sqrt(t) in two regimes (seed 004): 2 ohm s^-1/2 until 49 h, then 0.5."

[[samples.measurements]]
name = "ageing"
technique = "eis"
files = [{", ".join(growth_files)}]

[[samples.analyses]]
method = "eis.evolution"
label = "Interface resistance against sqrt(t)"
measurements = ["ageing"]
parameters = {{ circuit = "R0-p(R1,CPE1)", resistance = "R1" }}

[[samples]]
name = "Adediwura pellet s04147 (real data)"
description = "Solid-electrolyte pellet, 140-200 C, 0.8 cm electrodes, 0.21 cm thick (EISFitpython, MIT); temperatures from the file names."

[[samples.measurements]]
name = "s04147"
technique = "eis"
files = [{", ".join(real_meas)}]
conditions = {{ thickness = "0.21 cm", diameter = "0.8 cm" }}

[[samples.analyses]]
method = "eis.series"
label = "Seven temperatures in one batch: bulk and grain-boundary σ and Ea"
measurements = ["s04147"]
parameters = {{ circuit = "p(R1,CPE1)-p(R2,CPE2)-CPE3" }}
"""
