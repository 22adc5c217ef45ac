"""Pores of a sintered solid electrolyte (seed 004): do they percolate, and how tortuous are they?

Seed 004 pressed Li3PS4 pellets at 255 and 510 MPa, imaged them by FIB-SEM (20 nm voxels) and
found that pore connectivity, not porosity, decides whether lithium dendrites find a path. This
script builds a seed 004-like pellet volume (10.5 % porosity, pores percolating along the pressing
direction y), writes it as a TIFF stack and reads it back like a measured one, then computes:
volume and slice fractions, the REV, percolation, the tortuosity factor τ of the pores (diffusion
solve), their geometric tortuosity with seed 004's 6-neighbour metric and with the Euclidean
metric, the local thickness of the solid, and the pore size distribution.

Run::

    python examples/microstructure_pellet.py [output.png]

The TIFF stack and the figure go to ``examples/output/`` (the figure to the path given instead).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from ionscale.datasets.synthetic_volumes import sintered_pellet  # noqa: E402
from ionscale.io.volume import read_volume, write_volume  # noqa: E402
from ionscale.microstructure import (  # noqa: E402
    geometric_tortuosity,
    microstructure_metrics,
    thickness_statistics,
)

#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"


def main(out: str | Path) -> None:
    pellet = sintered_pellet((80, 80, 80), porosity=0.105, pore_radius_m=0.12e-6,
                             voxel_size=20e-9, axis=1, seed=4)
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "pellet_255MPa.tif"
    write_volume(pellet, path, overwrite=True)
    volume = read_volume(path, phases={"pore": 0, "solid": 1})  # voxel size from the TIFF
    print(f"{path.name}: {volume.shape} voxels of {volume.voxel_size[0] * 1e9:.0f} nm")

    metrics = microstructure_metrics(volume, "pore", axis=1, progress=False)
    print(metrics.summary())
    seed004 = geometric_tortuosity(volume, "pore", axis=1, metric="6-neighbour")
    print(f"geometric tortuosity of the pores along y: {metrics['tau_geometric'].value:.3f} "
          f"(Euclidean), {seed004['tau'].value:.3f} (6-neighbour, as seed 004)")
    solid = thickness_statistics(volume, "solid", measure="diameter")
    print(f"solid: {solid['mean']} (seed 004 at 255 MPa: 0.96 µm on a 20 µm volume)")

    axes = metrics.plot()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    axes.figure.savefig(out, dpi=110)
    print(f"figure: {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else OUTPUT / "microstructure_pellet.png")
