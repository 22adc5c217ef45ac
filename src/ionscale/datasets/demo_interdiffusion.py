"""The demo's interdiffusion samples: the real Ti-Zr couple of pyDiffusion (bundled, MIT) and a
synthetic NMC|LLZO-like SIMS depth profile with a known D̃(X_Co)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .synthetic_interdiffusion import nmc_llzo_couple, write_couple

BUNDLED = Path(__file__).parent / "data"


def write_interdiffusion_demo(data: Path, rng: np.random.Generator) -> str:
    """Write the interdiffusion files under ``data/interdiffusion`` and return the campaign's
    samples (TOML)."""
    folder = data / "interdiffusion"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUNDLED / "pydiffusion-TiZr_exp.csv", folder / "TiZr_1000C_100h.csv")
    shutil.copy(BUNDLED / "pydiffusion-NiMo_exp.csv", folder / "NiMo_1100C_1000h.csv")
    couple = nmc_llzo_couple(seed=int(rng.integers(1 << 31)))
    write_couple(folder / "nmc_llzo_depth.csv", couple)
    tr = couple.truth
    r1, r2 = tr["rates"]
    anneal_c = tr["temperature"] - 273.15
    desc = (f"Co and La across an NMC|LLZO interface after {tr['time'] / 3600:g} h at "
            f"{anneal_c:g} °C; sputter rates differ by 50 % between the layers (seed 002).")
    params = (f'species = "Co", crater_depth = "{tr["crater_depth"] * 1e6:g} um", '
              f'layer_rates = [{r1 / r2:.4g}, 1.0], marker = "Co", at = [0.5], '
              "monte_carlo = 50")
    return f"""
[[samples]]
name = "Ti-Zr couple (real data, pyDiffusion)"
description = "Ti|Zr diffusion couple annealed 100 h at 1000 °C (pyDiffusion's example, MIT)."

[[samples.measurements]]
name = "TiZr-1000C"
technique = "diffusion-profile"
files = ["data/interdiffusion/TiZr_1000C_100h.csv"]
conditions = {{ temperature = "1000 degC", time = "100 h" }}

[[samples.analyses]]
method = "interdiffusion.matano"
label = "Boltzmann-Matano D̃(X)"
measurements = ["TiZr-1000C"]
parameters = {{ ends = [0, 1], at = [0.5], monte_carlo = 50 }}

[[samples.analyses]]
method = "interdiffusion.fit"
label = "Forward-simulation fit of D̃(X)"
measurements = ["TiZr-1000C"]
parameters = {{ ends = [0, 1], at = [0.5], knots = 5 }}

[[samples]]
name = "Ni-Mo couple (real data, pyDiffusion)"
description = "Ni|Mo couple, 1000 h at 1100 °C, three phases (pyDiffusion's example, MIT)."

[[samples.measurements]]
name = "NiMo-1100C"
technique = "diffusion-profile"
files = ["data/interdiffusion/NiMo_1100C_1000h.csv"]
conditions = {{ temperature = "1100 degC", time = "1000 h" }}

[[samples.analyses]]
method = "interdiffusion.fit"
label = "Forward-simulation fit of D̃(X), three phases"
measurements = ["NiMo-1100C"]
parameters = {{ ends = [0, 1], knots = 5 }}

[[samples]]
name = "NMC | LLZO interface (synthetic SIMS depth profile)"
description = "{desc}"

[[samples.measurements]]
name = "depth-profile"
technique = "sims-depth"
files = ["data/interdiffusion/nmc_llzo_depth.csv"]
conditions = {{ temperature = "{anneal_c:g} degC", time = "{tr['time']:g} s" }}

[[samples.analyses]]
method = "interdiffusion.matano"
label = "Co: Boltzmann-Matano D̃(X)"
measurements = ["depth-profile"]
parameters = {{ {params} }}
"""
