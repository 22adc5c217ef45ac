# ruff: noqa: E501  (the campaign template keeps TOML lines whole)
"""The microstructure part of the demo campaign.

* a sintered solid-electrolyte pellet like seed 004's (255 MPa: 10.5 % porosity, 20 nm voxels,
  pores percolating along the pressing direction y), 96³ voxels, as a TIFF stack with its voxel
  size → every metric of the pores (fractions, slice profiles, REV, percolation, τ, geodesic
  tortuosity with seed 004's 6-neighbour metric, local thickness, pore sizes) and the geometric
  tortuosity and local thickness of the solid;
* the real-like battery electrode of TauFactor (MIT; 256³, labels 0/85/170) → fractions,
  percolation and pore sizes of the pores, and the tortuosity factor of the pores along the
  first axis (TauFactor's own reference case).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..io.volume import write_volume
from .synthetic_volumes import sintered_pellet

DATA_DIR = Path(__file__).parent / "data"
ELECTRODE = DATA_DIR / "taufactor-electrode.tif"
#: Shape and voxel size of the demo pellet volume.
PELLET_SHAPE, PELLET_VOXEL = (96, 96, 96), 20e-9


def write_micro_demo(data: Path, rng: np.random.Generator) -> str:
    """Write the volumes under ``data/volumes`` and return the campaign's samples (TOML)."""
    folder = data / "volumes"
    folder.mkdir(parents=True, exist_ok=True)
    pellet = sintered_pellet(PELLET_SHAPE, porosity=0.105, pore_radius_m=0.12e-6,
                             voxel_size=PELLET_VOXEL, axis=1, seed=int(rng.integers(1 << 31)))
    write_volume(pellet, folder / "pellet_255MPa.tif", overwrite=True)
    shutil.copyfile(ELECTRODE, folder / ELECTRODE.name)
    shutil.copyfile(DATA_DIR / "LICENSE-taufactor", folder / "LICENSE-taufactor")
    return """
[[samples]]
name = "Sintered pellet, 255 MPa (synthetic FIB-SEM volume)"
description = "Seed 004-like: 10.5 % porosity, 20 nm voxels, open pores percolating along y (the pressing direction), closed pores elsewhere."

[[samples.measurements]]
name = "fib-sem"
technique = "volume"
files = ["data/volumes/pellet_255MPa.tif"]

[[samples.analyses]]
method = "micro.metrics"
label = "Pores: every metric (transport along y)"
measurements = ["fib-sem"]
parameters = { phase = "pore", phases = { pore = 0, solid = 1 }, axis = 1, geodesic_metric = "6-neighbour" }

[[samples.analyses]]
method = "micro.metrics"
label = "Solid: geometric tortuosity and local thickness"
measurements = ["fib-sem"]
parameters = { phase = "solid", phases = { pore = 0, solid = 1 }, axis = 1, parts = ["fractions", "slices", "geodesic", "thickness"] }

[[samples]]
name = "Battery electrode (TauFactor, real-like)"
description = "256^3 NMC-like electrode from TauFactor (MIT): pore = 0, two solid phases 85 and 170."

[[samples.measurements]]
name = "electrode"
technique = "volume"
files = ["data/volumes/taufactor-electrode.tif"]

[[samples.analyses]]
method = "micro.metrics"
label = "Pores: fractions, percolation and pore sizes"
measurements = ["electrode"]
parameters = { phase = "pore", phases = { pore = 0, NMC = 85, binder = 170 }, voxel_size = "1 um", parts = ["fractions", "slices", "percolation", "pores"] }

[[samples.analyses]]
method = "micro.tortuosity"
label = "Pore tortuosity factor along the first axis"
measurements = ["electrode"]
parameters = { phase = "pore", phases = { pore = 0, NMC = 85, binder = 170 }, voxel_size = "1 um", axis = 0 }
"""
