# ruff: noqa: E501  (the campaign template keeps TOML lines whole)
"""The bundled example campaign: ``ionscale demo``.

A synthetic LLTO-like polycrystal (seed 000) measured the way the paper did, plus the real ¹⁸O
profile of De Souza (BayesECR):

* a ⁶Li/⁷Li SIMS map after 3 h of exchange at 22 °C → fraction map → D_gb/δ at ~50 boundaries;
* line scans after 110 h of exchange and after 2 and 6 weeks of storage at 22 °C → erfc fit and
  D*_eff from the profile's evolution;
* exchange then anneal at 100-250 °C → D*_eff(T) → Arrhenius;
* D_bulk(T) (as from PFG-NMR) and the grain-boundary conductivity term (as from impedance) as
  tables → series model, (l/δ)·D_gb(T) and the Haven ratio from the prefactors;
* the real ¹⁸O depth profile (t = 5640 s) → Crank surface-exchange fit (D*, k*).

Every file is generated with the numerical model and Poisson counts, then analysed end to end
through a campaign file like a user's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ..io.atomic import write_text_atomic
from ..units import BOLTZMANN, ELEMENTARY_CHARGE
from .demo_eis import write_eis_demo
from .demo_interdiffusion import write_interdiffusion_demo
from .demo_kmc import write_kmc_demo
from .demo_micro import write_micro_demo
from .synthetic import (
    LLTO,
    exchange_and_anneal_lines,
    grain_boundary_map,
    llto_diffusivities,
    llto_pfg_diffusivities,
    pfg_decay,
    t1_curve,
    write_count_map,
    write_pfg_table,
    write_profile,
    write_relaxation_table,
)
from .synthetic_correlative import write_correlative_demo
from .synthetic_cycling import write_cycling_demo
from .synthetic_fibsem import write_fibsem_demo

DATA_DIR = Path(__file__).parent / "data"
REAL_18O = DATA_DIR / "bayesecr-18O-pH2O-dependent-1.txt"

#: Carrier density of Li in LLTO used by the demo, m⁻³ (5.0e21 cm⁻³, seed 000).
LLTO_LI_DENSITY = 5.0e27
#: Haven ratio built into the synthetic grain-boundary conductivity (seed 000: 0.24).
DEMO_HAVEN = 0.24
ANNEAL_TEMPERATURES_C = (100.0, 150.0, 200.0, 250.0)
PFG_TEMPERATURES_K = (295.15, 333.15, 363.15, 393.15, 433.15)
#: Bulk Haven ratio built into the synthetic bulk conductivity (LLTO bulk: H_R ≈ 1, seed 000).
DEMO_HAVEN_BULK = 1.0


def real_18o_profile_path() -> Path:
    """Path of the bundled real ¹⁸O depth profile (BSD-2 licence beside it)."""
    return REAL_18O


def _table(path: Path, header: str, rows) -> None:
    lines = [header] + ["\t".join(f"{v:.6g}" for v in row) for row in rows]
    write_text_atomic(path, "\n".join(lines) + "\n")


def write_demo_files(out: str | os.PathLike, *, seed: int = 2024) -> Path:
    """Generate the demo's measurement files and campaign file in ``out``.

    Parameters
    ----------
    out : str or path-like
        Folder (created if needed). Existing files of the same names are replaced atomically;
        nothing else in the folder is touched.
    seed : int
        Random seed of every synthetic measurement.

    Returns
    -------
    Path
        The campaign file.
    """
    out = Path(out)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t_room = LLTO["T_ref"]

    gb = grain_boundary_map(seed=int(rng.integers(1 << 31)))
    write_count_map(data / "map_6Li.txt", gb.counts.counts["6Li"], header="6Li counts, 1 um px")
    write_count_map(data / "map_7Li.txt", gb.counts.counts["7Li"], header="7Li counts, 1 um px")
    # the boundary positions are what a user reads off the etched micrograph (seed 000, Fig. 3c)
    segments = [[round(float(c) * 1e6, 3) for c in (*a, *b, yb)]
                for (a, b), yb in zip(gb.segments, gb.boundaries, strict=True)]

    room = llto_diffusivities(t_room)
    storage = exchange_and_anneal_lines(
        D_exchange=room["D_eff"] * 3.0, exchange_time=110 * 3600.0, D_anneal=room["D_eff"],
        anneal_times=(14 * 86400.0, 42 * 86400.0), seed=int(rng.integers(1 << 31)))
    names = ["line_exchange_110h.txt", "line_storage_2w.txt", "line_storage_6w.txt"]
    for name, prof in zip(names, storage.profiles, strict=True):
        write_profile(data / name, prof, header="synthetic LLTO line scan, 22 degC")

    anneal_meas, anneal_analyses = [], []
    for tc in ANNEAL_TEMPERATURES_C:
        d = llto_diffusivities(tc + 273.15)["D_eff"]
        t_anneal = float(np.round((0.8e-3) ** 2 / d))
        lines = exchange_and_anneal_lines(
            D_exchange=room["D_eff"] * 3.0, exchange_time=63 * 3600.0, D_anneal=d,
            anneal_times=(t_anneal,), seed=int(rng.integers(1 << 31)))
        b, a = f"line_{int(tc)}C_before.txt", f"line_{int(tc)}C_after.txt"
        write_profile(data / b, lines.profiles[0], header="after exchange 63 h at 22 degC")
        write_profile(data / a, lines.profiles[1], header=f"after anneal at {tc} degC")
        anneal_meas.append(f"""
[[samples.measurements]]
name = "before-{int(tc)}C"
technique = "sims-line"
files = ["data/{b}"]
conditions = {{ temperature = "22 degC", time = "63 h" }}

[[samples.measurements]]
name = "anneal-{int(tc)}C"
technique = "sims-line"
files = ["data/{a}"]
conditions = {{ temperature = "{tc:g} degC", time = "{t_anneal:g} s" }}
""")
        anneal_analyses.append(f"""
[[samples.analyses]]
method = "tracer.evolve"
label = "D*_eff from anneal at {tc:g} °C"
measurements = ["before-{int(tc)}C", "anneal-{int(tc)}C"]
parameters = {{ surface = "0 um" }}
""")

    temps = np.array([295.15, 323.15, 348.15, 373.15, 398.15, 423.15, 448.15, 473.15])
    d_bulk = llto_diffusivities(temps)["D_bulk"]
    d_bulk_meas = d_bulk * (1 + 0.05 * rng.normal(size=temps.size))
    _table(data / "nmr_D_bulk.txt", "T (K)\tD (cm2/s)\tD_err (cm2/s)",
           zip(temps, d_bulk_meas * 1e4, 0.05 * d_bulk * 1e4, strict=True))
    gb_term = llto_diffusivities(temps)["gb_term"]
    d_sigma = gb_term / DEMO_HAVEN
    sigma = LLTO_LI_DENSITY * ELEMENTARY_CHARGE**2 * d_sigma / (BOLTZMANN * temps)
    sigma_meas = sigma * (1 + 0.04 * rng.normal(size=temps.size))
    _table(data / "impedance_gb_conductivity.txt",
           "T (K)\tsigma (S/cm)\tsigma_err (S/cm)",
           zip(temps, sigma_meas * 1e-2, 0.04 * sigma * 1e-2, strict=True))
    # NMR: a PFG temperature series of the 2D conductor (seed 001) and a T1(T) curve
    nmr_meas, nmr_analyses = [], []
    for T in PFG_TEMPERATURES_K:
        d = llto_pfg_diffusivities(T)
        decay = pfg_decay(d["D_a"], d["D_c"], temperature=T, seed=int(rng.integers(1 << 31)))
        name = f"pfg_{int(round(T))}K.txt"
        write_pfg_table(data / name, decay)
        nmr_meas.append(f'''
[[samples.measurements]]
name = "pfg-{int(round(T))}K"
technique = "pfg-table"
files = ["data/{name}"]
conditions = {{ temperature = "{T:.2f} K" }}
''')
        nmr_analyses.append(f'''
[[samples.analyses]]
method = "nmr.pfg"
label = "7Li PFG powder fit, {T - 273.15:.0f} °C"
measurements = ["pfg-{int(round(T))}K"]
parameters = {{ model = "aniso" }}
''')
    write_relaxation_table(data / "t1_7Li.txt",
                           t1_curve(np.linspace(160.0, 560.0, 21),
                                    seed=int(rng.integers(1 << 31))))
    d_bulk_sigma = llto_diffusivities(temps)["D_bulk"] / DEMO_HAVEN_BULK
    sigma_bulk = LLTO_LI_DENSITY * ELEMENTARY_CHARGE**2 * d_bulk_sigma / (BOLTZMANN * temps)
    sigma_bulk_meas = sigma_bulk * (1 + 0.03 * rng.normal(size=temps.size))
    _table(data / "impedance_bulk_conductivity.txt", "T (K)\tsigma (S/cm)\tsigma_err (S/cm)",
           zip(temps, sigma_bulk_meas * 1e-2, 0.03 * sigma_bulk * 1e-2, strict=True))
    shutil.copyfile(REAL_18O, data / REAL_18O.name)
    shutil.copyfile(DATA_DIR / "LICENSE-bayesecr", data / "LICENSE-bayesecr")

    eis_samples = write_eis_demo(data, rng)
    micro_samples = write_micro_demo(data, rng)
    cycling_samples = write_cycling_demo(data, rng)
    diffusion_samples = write_interdiffusion_demo(data, rng)
    fibsem_samples = write_fibsem_demo(data, rng)
    kmc_samples = write_kmc_demo(data, rng)
    correlative_samples = write_correlative_demo(data, rng)
    seg_text = ",\n  ".join(str(s) for s in segments)
    campaign = f"""# ionscale demo campaign: a synthetic LLTO polycrystal (seed 000) and a real 18O profile.
# Paths are relative to this file. Run with:  ionscale run {out.name}/campaign.toml

[campaign]
name = "ionscale demo: Li tracer diffusion in LLTO"
database = "results.sqlite"
report = "report.html"

[[samples]]
name = "LLTO (synthetic)"
description = "Li0.29La0.57TiO3-like polycrystal: D_bulk = 2.6e-8 cm2/s, D_gb/delta = 1.5e-6 cm/s at 22 C, grains 16 +- 11 um, 95 % 6Li source."
properties = {{ grain_size = "16 um", gb_width = "0.5 nm" }}

[[samples.measurements]]
name = "map-22C"
technique = "sims-map"
files = ["data/map_6Li.txt", "data/map_7Li.txt"]
conditions = {{ temperature = "22 degC", time = "3 h", pixel_size = "1 um", isotopes = ["6Li", "7Li"] }}

[[samples.measurements]]
name = "line-exchange"
technique = "sims-line"
files = ["data/line_exchange_110h.txt"]
conditions = {{ temperature = "22 degC", time = "110 h" }}

[[samples.measurements]]
name = "line-2w"
technique = "sims-line"
files = ["data/line_storage_2w.txt"]
conditions = {{ temperature = "22 degC", time = "2 weeks" }}

[[samples.measurements]]
name = "line-6w"
technique = "sims-line"
files = ["data/line_storage_6w.txt"]
conditions = {{ temperature = "22 degC", time = "6 weeks" }}
{"".join(anneal_meas)}
[[samples.measurements]]
name = "nmr-bulk"
technique = "arrhenius-table"
files = ["data/nmr_D_bulk.txt"]

{"".join(nmr_meas)}
[[samples.measurements]]
name = "t1"
technique = "relaxation-table"
files = ["data/t1_7Li.txt"]

[[samples.measurements]]
name = "impedance-bulk"
technique = "arrhenius-table"
files = ["data/impedance_bulk_conductivity.txt"]

[[samples.measurements]]
name = "impedance-gb"
technique = "arrhenius-table"
files = ["data/impedance_gb_conductivity.txt"]

[[samples.analyses]]
method = "tracer.fraction"
label = "6Li fraction map, 22 °C"
measurements = ["map-22C"]

[[samples.analyses]]
method = "tracer.gb"
label = "Grain-boundary steps, 22 °C"
measurements = ["map-22C"]
parameters = {{ D_bulk = "2.6e-8 cm^2/s", D_bulk_error = "0.2e-8 cm^2/s", gb_width = "0.5 nm", width = "11 um", window = "7 um", exclude = "1 um", degree = 1, segment_unit = "um", segments = [
  {seg_text}
] }}

[[samples.analyses]]
method = "tracer.profile"
label = "erfc fit after 110 h exchange"
measurements = ["line-exchange"]
parameters = {{ model = "erfc", source = "fit", background = "fit" }}

[[samples.analyses]]
method = "tracer.evolve"
label = "D*_eff from 2 and 6 weeks of storage at 22 °C"
measurements = ["line-exchange", "line-2w", "line-6w"]
parameters = {{ surface = "0 um", monte_carlo = 20 }}
{"".join(anneal_analyses)}
{"".join(nmr_analyses)}
[[samples.analyses]]
method = "nmr.pfg"
label = "Is the 7Li decay at 120 °C anisotropic? (F-test, BIC)"
measurements = ["pfg-393K"]
parameters = {{ compare = true }}

[[samples.analyses]]
method = "transport.arrhenius"
label = "Arrhenius of D_NMR (powder mean)"
parameters = {{ from_method = "nmr.pfg", value = "D_mean" }}

[[samples.analyses]]
method = "nmr.bpp"
label = "7Li T1(T), BPP"
measurements = ["t1"]

[[samples.analyses]]
method = "transport.haven_bulk"
label = "Bulk Haven ratio: D_NMR against bulk conductivity"
measurements = ["impedance-bulk"]
parameters = {{ from_method = "nmr.pfg", value = "D_mean", carrier_density = "5.0e21 cm^-3" }}

[[samples.analyses]]
method = "transport.arrhenius"
label = "Arrhenius of D*_eff"
parameters = {{ from_method = "tracer.evolve", value = "D" }}

[[samples.analyses]]
method = "transport.arrhenius"
label = "Curvature test of D*_eff (two-segment, VTF)"
parameters = {{ from_method = "tracer.evolve", value = "D", compare = true }}

[[samples.analyses]]
method = "transport.arrhenius"
label = "Arrhenius of D_bulk (NMR table)"
measurements = ["nmr-bulk"]

[[samples.analyses]]
method = "transport.series"
label = "Series model: D*_eff from D_bulk and D_gb/δ"
parameters = {{ D_bulk = "2.6e-8 cm^2/s", grain_size = "16 um", grain_size_error = "11 um", from_method = "tracer.gb" }}

[[samples.analyses]]
method = "transport.haven"
label = "Grain-boundary Haven ratio"
measurements = ["nmr-bulk", "impedance-gb"]
parameters = {{ from_method = "tracer.evolve", value = "D", carrier_density = "5.0e21 cm^-3" }}

[[samples]]
name = "De Souza 18O exchange (real data)"
description = "Measured 18O SIMS depth profile, pH2O = 220 mbar, t = 5640 s (BayesECR, BSD-2)."

[[samples.measurements]]
name = "depth-profile"
technique = "sims-depth"
files = ["data/{REAL_18O.name}"]
conditions = {{ time = "5640 s" }}

[[samples.analyses]]
method = "tracer.profile"
label = "Crank surface-exchange fit (D*, k*)"
measurements = ["depth-profile"]
parameters = {{ model = "exchange", x_unit = "cm", rows = "0:584", source = 1.0, background = 0.0 }}
{eis_samples}{micro_samples}{cycling_samples}{diffusion_samples}{fibsem_samples}{kmc_samples}{correlative_samples}"""
    path = out / "campaign.toml"
    write_text_atomic(path, campaign)
    return path


def run_demo(out: str | os.PathLike = "demo-output", *, progress: bool = True):
    """Write the demo campaign into ``out``, run it and write its report.

    Returns
    -------
    ionscale.campaign.RunSummary
    """
    from ..campaign import run_campaign

    path = write_demo_files(out)
    return run_campaign(path, progress=progress)
