"""Correlative EDS + SIMS in 3D (seed 003): partly overlapping maps of serial sections fused
into one volume, in physical coordinates, with counts conserved.

A composite cathode (LLZTO, LCO, Al2O3, carbon) is cut into 6 slices of 60 nm; each slice has
EDS maps of Zr, Co, Al, C (216×352 px at 81.4 nm) and SIMS maps of 6Li and 7Li (500×500 px at
72 nm) of a partly overlapping area whose true offset is unknown to the script. The script
aligns the EDS slices, registers every SIMS map on its EDS map (masked NCC), fuses the counts
on the EDS grid, identifies the phases from the marker elements, and compares the phase
fractions and the per-phase 6Li fraction with the truth; it draws the fused slice, the Li-Zr
correlation histogram and the per-phase 6Li fraction.

Run::

    python examples/correlative_eds_sims.py [output.png]

The figure goes to ``examples/output/correlative_eds_sims.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from ionscale.datasets.synthetic_correlative import (  # noqa: E402
    LI6_FRACTION,
    composite_volume,
    render_correlative,
    truth_fractions,
)
from ionscale.imaging import (  # noqa: E402
    correlate_channels,
    fuse_slices,
    identify_phases,
    normalise_array,
    phase_chemistry,
)

#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"


def main(out: str | Path) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    syn = render_correlative(composite_volume((6, 1000, 1000), seed=3), seed=4)
    fused = fuse_slices(syn.eds, syn.sims, eds_channels=["Zr", "Co"],
                        sims_channels=["6Li", "7Li"])
    print(fused.summary())
    vol = identify_phases(fused.stack)            # Zr -> LLZTO, Co -> LCO, Al, C
    chem = phase_chemistry(fused.stack, vol)
    print(chem.summary())
    truth = truth_fractions(syn, fused.stack)
    for p, f in truth.items():
        print(f"  {p:7s} fraction: fused {chem[f'fraction_{p}'].value:.3f}, truth {f:.3f}")
    for p, f in LI6_FRACTION.items():
        v = chem[f"6Li_{p}"]
        print(f"  {p:7s} 6Li fraction: {v.value:.4f} ± {v.error:.4f}, truth {f:.4f}")
    st = fused.stack
    li = normalise_array(st.channel("7Li"), "log")
    zr = normalise_array(st.channel("Zr"), "log")
    corr = correlate_channels(li, zr, names=("Li (log)", "Zr (log)"), correlation_length=1.0)
    print(corr.summary())

    fig, axes = plt.subplots(1, 3, figsize=(10, 3.3), layout="constrained")
    fused.plot(axes[0], channels=["7Li", "Zr", "Co"])
    corr.plot(axes[1])
    chem.plot(axes[2])
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"figure: {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else OUTPUT / "correlative_eds_sims.png")
