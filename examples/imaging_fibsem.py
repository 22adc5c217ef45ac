"""From raw FIB-SEM slices to a segmented volume (seed 004's preprocessing, without Fiji or
Ilastik).

A seed 004-like pellet (10 % pores, 20 nm voxels) is imaged as a FIB-SEM would: 40 raw slices
seen at 54°, with drift, curtaining, shading and noise. The script reads the raw stack back
like a measured one, registers the drift on the fiducial marks, measures the shear on the
face's top edge (and the viewing angle it implies), corrects drift, shear and foreshortening,
removes the curtains and the shading, trains a random forest on 0.5 % of the voxels and
segments the stack. The porosity and percolation of the result are compared with the truth.

Run::

    python examples/imaging_fibsem.py [output.png]

The raw stack, the labelled volume and the figure go to ``examples/output/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ionscale.datasets.synthetic_fibsem import (  # noqa: E402
    render_fibsem,
    sparse_labels,
    truth_on_grid,
    two_phase_volume,
)
from ionscale.imaging import fibsem_pipeline, read_stack, write_stack  # noqa: E402
from ionscale.imaging.pipeline import preprocess_stack  # noqa: E402
from ionscale.microstructure import percolation  # noqa: E402

#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"


def main(out: str | Path) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    truth = two_phase_volume((40, 64, 96), porosity=0.10, feature_size=4.0, seed=4)
    syn = render_fibsem(truth, noise=0.06, stripes=0.08, shading=0.25, drift_sigma=1.5, seed=5)
    raw_path = OUTPUT / "imaging_fibsem_raw.tif"
    write_stack(syn.stack, raw_path, overwrite=True)
    raw = read_stack(raw_path)                       # as a measured stack would be read
    fy0, fy1, fx0, fx1 = syn.fiducial_region
    y0, y1, x0, x1 = syn.face_region
    options = {"fiducials": syn.fiducial_region, "edge_region": (fy1 + 2, y0 + 6, x0, x1),
               "angle": 54.0, "roi": syn.face_region}

    # a user paints a few voxels of each phase on the corrected stack; here, from the truth
    grid = preprocess_stack(raw, **options).stack
    labels = sparse_labels(truth_on_grid(syn, grid), 0.005, seed=6)

    result = fibsem_pipeline(raw, labels, phases={"pore": 1, "solid": 2},
                             output=OUTPUT / "imaging_fibsem_labels.tif", overwrite=True,
                             **options)
    pre, seg = result.preprocess, result.segmentation
    print(pre.summary())
    print(seg.summary())
    drift_err = np.sqrt(np.mean(np.sum((pre.registration.drift - syn.drift) ** 2, axis=1)))
    print(f"drift error: {drift_err:.3f} px rms; shear {pre.shear.slope_px:.4f} px/slice "
          f"(true {syn.shear:.4f})")
    perc = percolation(seg.volume, "pore", axis=1, progress=False)
    print(f"porosity {100 * seg['fraction_pore'].value:.2f} % (true 10.00 %), pores "
          f"{'percolate' if perc.percolating else 'do not percolate'} along y")

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), layout="constrained")
    pre.plot(axes[0, :2].tolist() + [axes[1, 0]])
    seg.plot(axes[1, 1])
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"figure: {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else OUTPUT / "imaging_fibsem.png")
