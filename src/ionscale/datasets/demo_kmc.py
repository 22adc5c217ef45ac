"""The demo's kinetic Monte Carlo samples: an interacting Li lattice gas run at four
temperatures (D*, D_σ, f, Haven ratio, Arrhenius) and an A|B couple whose profiles feed an
interdiffusion analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_kmc_demo(data: Path, rng: np.random.Generator) -> str:
    """Write the kMC model files under ``data/kmc`` and return the campaign's samples (TOML).

    The model files are the package's demo models (:func:`ionscale.kmc.demo_model_toml`); the
    seeds are fixed in them, so a rerun gives the same numbers (and is cached).
    """
    from ..kmc.io import write_demo_model

    del rng  # the runs are seeded by their model files
    folder = Path(data) / "kmc"
    write_demo_model(folder / "li_lattice_gas.toml", "lattice-gas")
    write_demo_model(folder / "ab_couple.toml", "couple")
    return """
[[samples]]
name = "Li lattice gas (kinetic Monte Carlo)"
description = "Half-filled simple-cubic Li sublattice, E_KRA 0.35 eV, 20 meV nearest-neighbour repulsion: D*, D_σ, correlation factors and Haven ratio from the simulated trajectories, at 600 K and as an Arrhenius series."

[[samples.measurements]]
name = "lattice-gas model"
technique = "kmc-model"
files = ["data/kmc/li_lattice_gas.toml"]
conditions = { temperature = "600 K" }

[[samples.analyses]]
method = "kmc.run"
label = "kMC at 600 K"
measurements = ["lattice-gas model"]

[[samples.analyses]]
method = "kmc.series"
label = "kMC Arrhenius series"
measurements = ["lattice-gas model"]
parameters = { temperatures = ["500 K", "600 K", "700 K", "800 K"], events = 200000 }

[[samples]]
name = "A|B couple (kinetic Monte Carlo)"
description = "Equal rates, 5 % vacancies, closed along x: concentration profiles at 20, 40 and 80 ns; their interdiffusion coefficient is the tracer D* (SCIENCE.md §7)."

[[samples.measurements]]
name = "couple model"
technique = "kmc-model"
files = ["data/kmc/ab_couple.toml"]

[[samples.analyses]]
method = "kmc.run"
label = "Couple profiles"
measurements = ["couple model"]
"""
# ruff: noqa: E501  (the campaign template keeps TOML lines whole)
