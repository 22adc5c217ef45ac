"""Isotope-fraction map from SIMS count maps: read, bin, normalise, plot.

A synthetic ⁶Li/⁷Li exchange experiment: tracer (95 % ⁶Li) entered a pellet from its left
edge (x = 0) into two grains: the upper half of the field of view diffuses four times faster. The
count maps are written as text matrices (one file per isotope, as SIMS software exports them),
read back with :func:`ionscale.io.sims.read_map`, binned 2 × 2 (summing counts, never
interpolating), turned into a normalised fraction map with binomial errors, and plotted with
the physical extent in µm.

Run::

    python examples/tracer_fraction_map.py [output.png]

The count maps and the figure go to ``examples/output/`` (the figure to the path given instead).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import erfc  # noqa: E402

from ionscale.io.sims import read_map  # noqa: E402
from ionscale.tracer.fraction import (  # noqa: E402
    NATURAL_ABUNDANCE,
    fraction_map,
    plot_fraction_map,
)

#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"


def synthetic_counts(seed: int = 0):
    """⁶Li and ⁷Li count maps (y, x) of 120 × 200 pixels of 0.25 µm."""
    rng = np.random.default_rng(seed)
    ny, nx, pixel = 120, 200, 0.25e-6
    y, x = np.mgrid[0:ny, 0:nx] * pixel
    t = 3600.0                                        # anneal, s
    d = np.where(y > 15e-6, 2e-14, 5e-15)             # m^2/s: two grains
    c_norm = erfc(x / (2 * np.sqrt(d * t)))           # C' along x
    bg, src = NATURAL_ABUNDANCE["6Li"], 0.95
    c = bg + (src - bg) * c_norm
    total = rng.poisson(60.0, (ny, nx))               # Li counts per pixel
    total[:, :3] = 0                                   # beyond the edge: no counts
    li6 = rng.binomial(total, c)
    return li6, total - li6, pixel


def main(out: Path) -> None:
    li6, li7, pixel = synthetic_counts()
    OUTPUT.mkdir(exist_ok=True)
    files = {}
    for name, counts in (("6Li", li6), ("7Li", li7)):
        files[name] = OUTPUT / f"pellet_{name}.txt"   # one text matrix per isotope
        np.savetxt(files[name], counts, fmt="%d", header=f"{name} counts, 0.25 um pixels")
    cmap = read_map(files, pixel_size="0.25 um")

    fmap = fraction_map(cmap, tracer="6Li", other="7Li", bin=2, normalise_to=0.95)
    print(f"map {cmap.shape} -> binned {fmap.shape}, pixel {fmap.pixel_size[1] * 1e6:.2f} µm")
    print(f"masked pixels (no counts): {int(np.isnan(fmap.fraction).sum())}")
    has_counts = np.isfinite(fmap.fraction).any(axis=0)
    column = np.nanmean(fmap.fraction[:, has_counts], axis=0)
    print(f"C' in the first binned column with counts: {column[0]:.3f}")

    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    plot_fraction_map(fmap, ax=ax, vmin=0, vmax=1)
    ax.set_title("⁶Li tracer, 2 × 2 binned")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"figure written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT / "tracer_fraction_map.png")
