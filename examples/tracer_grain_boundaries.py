"""Grain-boundary diffusivity from the steps of a SIMS isotope-fraction map (seed 000, eqs 2-3).

1. The seed's own numbers through the flux-continuity formula.
2. A synthetic ⁶Li/⁷Li count map of a polycrystal in steady state: tracer flows along y through
   columns of grains; inside a grain C falls linearly, and at each slow boundary it steps down
   by ``ΔC = |∂C/∂y| D_bulk / (D_gb/δ)`` (each boundary with its own D_gb). Counts are Poisson
   (total) and binomial (⁶Li); the fraction map carries binomial errors.
3. A segment across every boundary (along the boundary normal), averaged over 11 pixels; the
   step analysis of each, and the statistics over all (seed 000, Table S2).
4. Harrison's regime of the seed's LLTO experiment, and a Le Claire triple product.

Run::

    python examples/tracer_grain_boundaries.py [output.png]

The figure goes to ``examples/output/tracer_grain_boundaries.png`` unless a path is given.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ionscale.tracer.data import CountMap  # noqa: E402
from ionscale.tracer.fraction import fraction_map, plot_fraction_map  # noqa: E402
from ionscale.tracer.grain_boundary import (  # noqa: E402
    analyse_boundaries,
    gb_diffusivity_from_step,
)
from ionscale.tracer.regimes import harrison_regime, le_claire_triple_product  # noqa: E402

D_BULK = 2.6e-12  # m^2/s (2.6e-8 cm^2/s, LLTO bulk at 22 °C)
DELTA = 0.5e-9  # m, boundary width
PIXEL = 0.5e-6  # m
#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"


def seed_numbers() -> None:
    for label, grad, step in (("after exchange", 110.0, 0.02), ("after 16 d", 65.0, 0.009)):
        v = gb_diffusivity_from_step(grad, step, D_BULK, gb_width=DELTA)
        print(f"seed 000 {label}: {v['D_gb_over_delta']}, {v['D_gb']}")
    print("  (paper: 1.5e-6 cm/s and 7.6e-14 cm²/s; 9.2e-14 cm²/s after 16 d)")


def synthetic_map(seed: int = 1):
    """Counts of a steady-state polycrystal; returns counts, segments and the truth."""
    rng = np.random.default_rng(seed)
    ny, nx, band = 240, 160, 32  # pixels; grain columns 16 µm wide
    gradient = -2.0e3  # m^-1, the same flux through every grain
    y = np.arange(ny) * PIXEL
    fraction = np.empty((ny, nx))
    segments, truth = [], []
    for x_lo in range(0, nx, band):
        # boundaries every 14-30 µm along y; each with its own D_gb/δ around 1.3e-7 m/s
        edges = np.cumsum(rng.uniform(14e-6, 30e-6, 8)) + rng.uniform(-10e-6, 0)
        edges = edges[(edges > 12e-6) & (edges < y[-1] - 12e-6)]
        ratios = 1.3e-7 * np.exp(rng.normal(0, 0.4, edges.size))
        steps = np.abs(gradient) * D_BULK / ratios
        c = 0.85 + gradient * y
        for yb, dc in zip(edges, steps, strict=True):
            c = c - dc * (y > yb)
        fraction[:, x_lo:x_lo + band] = c[:, None]
        x_mid = (x_lo + band / 2 - 0.5) * PIXEL
        for i, yb in enumerate(edges):
            lo = edges[i - 1] if i else 0.0
            hi = edges[i + 1] if i + 1 < edges.size else y[-1]
            half = min(yb - lo, hi - yb) - 1e-6  # stay inside the two neighbouring grains
            if half > 10e-6:
                segments.append(((x_mid, yb - half), (x_mid, yb + half)))
                truth.append(ratios[i])
    total = rng.poisson(3000.0, fraction.shape)
    li6 = rng.binomial(total, np.clip(fraction, 0, 1))
    counts = CountMap(counts={"6Li": li6.astype(float), "7Li": (total - li6).astype(float)},
                      pixel_size=(PIXEL, PIXEL))
    return counts, segments, np.array(truth)


def main(out: Path) -> None:
    seed_numbers()
    counts, segments, truth = synthetic_map()
    fmap = fraction_map(counts, tracer="6Li", other="7Li")
    batch = analyse_boundaries(fmap, segments, width="11 px", window=9e-6, exclude=1e-6,
                               D_bulk=D_BULK, D_bulk_error=0.1 * D_BULK, gb_width=DELTA)
    print()
    print(batch.summary())
    ok = [i for i, r in enumerate(batch.results) if r is not None]
    found = np.array([batch.results[i]["D_gb_over_delta"].value for i in ok])
    errs = np.array([batch.results[i]["D_gb_over_delta"].error for i in ok])
    pulls = (found - truth[ok]) / errs
    print(f"per boundary (found − true)/σ: mean {pulls.mean():+.2f}, SD {pulls.std():.2f} "
          f"(below 1: σ includes the 10 % error of D_bulk, common to all); "
          f"within 2σ: {np.mean(np.abs(pulls) < 2):.0%}")
    print(f"mean of the true D_gb/δ: {truth.mean() * 1e2:.3g} cm/s")

    info = harrison_regime(D_BULK, "59 h", "16 um", DELTA, D_gb="7.2e-14 cm^2/s")
    print()
    print(info.summary())
    # a fast-boundary (type B) tail, 3 % noise: ln C linear in y^(6/5)
    y = np.linspace(5e-6, 30e-6, 30)
    c = np.exp(-2e6 * y**1.2)
    noisy = c * (1 + 0.03 * np.random.default_rng(0).normal(size=y.size))
    tail = le_claire_triple_product(y, noisy, sigma=0.03 * c, D_bulk=1e-17, t=3600.0,
                                    gb_width=DELTA)
    print(tail.summary())

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    plot_fraction_map(fmap, ax=axes[0])
    for (a, b), i in zip(segments, range(len(segments)), strict=True):
        axes[0].plot([a[0] * 1e6, b[0] * 1e6], [a[1] * 1e6, b[1] * 1e6],
                     "-", color="w" if batch.results[i] is not None else "r", lw=0.8)
        if batch.results[i] is not None:
            bx, by = batch.results[i].boundary_point()
            axes[0].plot(bx * 1e6, by * 1e6, "o", ms=3, mfc="none", color="w")
    axes[0].set_title("⁶Li fraction, segments and located boundaries")
    batch.results[ok[0]].plot(ax=axes[1])
    batch.plot(ax=axes[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"figure written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT / "tracer_grain_boundaries.png")
