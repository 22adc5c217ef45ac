"""Figure helpers of the imaging results: orthogonal sections of a stack (with a label overlay)
and the histogram of the classifier's per-voxel confidence.

The sections go through the volume centre: ``xy`` (slice ``nz // 2``), ``xz`` (row
``ny // 2``) and ``yz`` (column ``nx // 2``), with physical axes in µm (``z`` downwards, the
milling direction). Used by :meth:`~ionscale.imaging.segmentation.SegmentationResult.plot` and
:meth:`~ionscale.imaging.pipeline.PreprocessResult.plot`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: Section name -> (horizontal axis, vertical axis) of the image.
SECTION_AXES = {"xy": ("x", "y"), "xz": ("x", "z"), "yz": ("y", "z")}
#: Phase colours of the overlays, by increasing class number.
PHASE_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan")
#: Confidence thresholds annotated on the histogram (winning-class probability).
CONFIDENCE_THRESHOLDS = (0.6, 0.8)


def centre_sections(volume) -> dict[str, np.ndarray]:
    """The ``xy``, ``xz`` and ``yz`` sections through the centre of a ``(z, y, x)`` array
    (or anything indexable like one, e.g. a lazily read stack), as float32 ``(vertical,
    horizontal)`` images: ``xy`` (y, x), ``xz`` (z, x), ``yz`` (z, y)."""
    nz, ny, nx = volume.shape[-3:]
    if isinstance(volume, np.ndarray):
        return {"xy": np.asarray(volume[nz // 2], np.float32),
                "xz": np.asarray(volume[:, ny // 2, :], np.float32),
                "yz": np.asarray(volume[:, :, nx // 2], np.float32)}
    xz = np.empty((nz, nx), np.float32)   # a lazy stack: one slice in memory at a time
    yz = np.empty((nz, ny), np.float32)
    for k in range(nz):
        sl = np.asarray(volume[k], np.float32)
        xz[k], yz[k] = sl[ny // 2, :], sl[:, nx // 2]
    return {"xy": np.asarray(volume[nz // 2], np.float32), "xz": xz, "yz": yz}


def section_extent(name: str, shape, voxel_size) -> tuple[float, float, float, float]:
    """``imshow`` extent (µm, origin at the top left) of section ``name`` of a volume of
    ``shape`` (z, y, x) and ``voxel_size`` (dz, dy, dx) in metres."""
    n = dict(zip("zyx", shape[-3:], strict=True))
    d = dict(zip("zyx", voxel_size, strict=True))
    h, v = SECTION_AXES[name]
    return (0.0, n[h] * d[h] * 1e6, n[v] * d[v] * 1e6, 0.0)


def _aspect(extent) -> float:
    return abs(extent[1] - extent[0]) / max(abs(extent[2] - extent[3]), 1e-30)


def width_ratios(extents: Sequence, lo: float = 0.6, hi: float = 1.8) -> list[float]:
    """Panel widths for images of these extents at one height (clipped to ``[lo, hi]`` so
    that a thin section does not squeeze the others)."""
    return [float(np.clip(_aspect(e), lo, hi)) for e in extents]


def draw_section(ax, name: str, image, extent, *, labels=None,
                 phases: Mapping[str, int] | None = None, title: str | None = None,
                 cuts: Mapping[str, float] | None = None, alpha: float = 0.22) -> None:
    """One section: ``image`` in grey (robust 1-99 % range), each phase of ``labels`` as a
    translucent colour, dashed lines where the other sections cut it (``cuts``: axis name ->
    position in µm), axes in µm and equal aspect."""
    import matplotlib.colors as mcolors

    h, v = SECTION_AXES[name]
    if image is not None:
        img = np.asarray(image, np.float32)
        finite = img[np.isfinite(img)]
        lo, hi = (np.percentile(finite, (1, 99)) if finite.size else (0.0, 1.0))
        ax.imshow(img, cmap="gray", extent=extent, vmin=lo, vmax=hi if hi > lo else lo + 1,
                  interpolation="nearest", aspect="equal")
    if labels is not None and phases:
        lab = np.asarray(labels)
        for (_, value), colour in zip(sorted(phases.items(), key=lambda kv: kv[1]),
                                      PHASE_COLOURS, strict=False):
            mask = np.ma.masked_where(lab != value, np.ones(lab.shape, np.float32))
            ax.imshow(mask, cmap=mcolors.ListedColormap([colour]), alpha=alpha, extent=extent,
                      interpolation="nearest", vmin=0, vmax=1, aspect="equal")
            if 0 < (lab == value).sum() < lab.size:   # the phase's boundary, in its colour
                ny, nx = lab.shape
                xs = extent[0] + (np.arange(nx) + 0.5) * (extent[1] - extent[0]) / nx
                ys = extent[3] + (np.arange(ny) + 0.5) * (extent[2] - extent[3]) / ny
                ax.contour(xs, ys, (lab == value).astype(np.float32), levels=[0.5],
                           colors=[colour], linewidths=0.6)
    for axis, pos in (cuts or {}).items():
        if axis == h:
            ax.axvline(pos, color="w", lw=0.5, ls="--", alpha=0.7)
        elif axis == v:
            ax.axhline(pos, color="w", lw=0.5, ls="--", alpha=0.7)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel(f"{h} (µm)")
    ax.set_ylabel(f"{v} (µm)")
    if title:
        ax.set_title(title)


def centre_cuts(shape, voxel_size) -> dict[str, float]:
    """Positions (µm) of the centre sections along z, y, x (the voxel centres they pass)."""
    return {a: (n // 2 + 0.5) * d * 1e6
            for a, n, d in zip("zyx", shape[-3:], voxel_size, strict=True)}


def confidence_counts(confidence) -> np.ndarray:
    """Voxel counts of each uint8 confidence level (0-255 = probability 0-1)."""
    c = np.asarray(confidence)
    if c.dtype != np.uint8:
        c = np.clip(np.round(np.asarray(c, np.float64) * 255), 0, 255).astype(np.uint8)
    return np.bincount(c.ravel(), minlength=256)[:256].astype(np.int64)


def fraction_below(counts, threshold: float) -> float:
    """Fraction of the voxels whose winning-class probability is below ``threshold``."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    p = np.arange(counts.size) / 255.0
    return float(counts[p < threshold - 1e-9].sum() / total)


def draw_confidence_histogram(ax, counts, *, n_classes: int | None = None, bins: int = 32,
                              thresholds: Sequence[float] = CONFIDENCE_THRESHOLDS) -> None:
    """Histogram (fraction of the voxels, log scale) of the winning-class probability from
    its uint8 ``counts``, with the ``thresholds`` drawn and the fraction below each
    annotated."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    p = np.arange(counts.size) / 255.0
    lo = 1.0 / n_classes if n_classes and n_classes > 1 else 0.0
    edges = np.linspace(lo, 1.0, bins + 1)
    hist, _ = np.histogram(p, bins=edges, weights=counts)
    frac = hist / total if total > 0 else hist
    ax.bar(edges[:-1], frac, width=np.diff(edges), align="edge", color="0.45",
           edgecolor="none")
    if np.any(frac > 0):
        ax.set_yscale("log")
        ax.set_ylim(max(frac[frac > 0].min() * 0.5, 1e-7), 2.0)
    ax.set_xlim(lo, 1.0)
    lines = []
    for t, ls in zip(thresholds, ("--", ":", "-."), strict=False):
        ax.axvline(t, color="tab:red", lw=0.8, ls=ls)
        lines.append(f"p < {t:g}: {100 * fraction_below(counts, t):.1f} %")
    ax.text(0.04, 0.96, "\n".join(lines), transform=ax.transAxes, ha="left", va="top",
            fontsize=7, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none",
                              "pad": 1.0})
    ax.set_xlabel("winning-class probability p")
    ax.set_ylabel("fraction of voxels")
    ax.set_title("classifier confidence")


__all__ = ["CONFIDENCE_THRESHOLDS", "PHASE_COLOURS", "SECTION_AXES", "centre_cuts",
           "centre_sections", "confidence_counts", "draw_confidence_histogram",
           "draw_section", "fraction_below", "section_extent", "width_ratios"]
