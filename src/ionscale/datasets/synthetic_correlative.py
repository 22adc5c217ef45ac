# ruff: noqa: E501  (the campaign template keeps TOML lines whole)
"""Synthetic correlative EDS + SIMS serial sections of a known 3D phase volume (seed 003).

:func:`composite_volume` builds a four-phase composite cathode (LLZTO, LCO, Al2O3, carbon) on a
fine grid (40 nm in-plane, one plane per milled slice): smoothed random fields thresholded in
turn at the quantiles that give the wanted fractions, so that particle sizes follow the seed
(LLZTO a few µm, LCO about 1 µm, small Al2O3 and carbon agglomerates).

:func:`render_correlative` images it the way the seed did, slice by slice: EDS maps of
``Zr``, ``Co``, ``Al``, ``C`` (216×352 px at 81.4 nm) and SIMS maps of ``6Li``, ``7Li``
(500×500 px at 72 nm) of partly overlapping fields of view. Each map pixel's expected counts
are the area-weighted mean of the phases' yields over the pixel (partial volumes at
boundaries), blurred by the probe (Gaussian, ``blur`` pixels), then Poisson-drawn. The SIMS map
sits at an offset from its nominal (stage) position that the user does not know, and the EDS
field drifts from slice to slice (a random walk); both are returned so that tests compare.
Phases without Li give zero Li counts (the log normalisation and the isotope fraction must
cope).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from ..imaging.image import Image
from ..imaging.maps import MapSeries, make_map
from ..imaging.resample import Grid, resample

__all__ = ["CorrelativeTruth", "SyntheticCorrelative", "composite_volume",
           "render_correlative", "truth_fractions", "write_correlative_demo"]

#: Phase label, fraction, feature size (µm): seed 003's composite (47.5/47.5/5 wt%).
PHASES = {"LLZTO": (1, 0.42, 1.6), "LCO": (2, 0.36, 0.8), "Al2O3": (3, 0.08, 0.45),
          "carbon": (4, 0.14, 0.7)}
#: Expected EDS counts per 81.4 nm pixel for each element in each phase.
EDS_YIELD = {"Zr": {"LLZTO": 30.0}, "Co": {"LCO": 40.0, "Al2O3": 2.0},
             "Al": {"Al2O3": 25.0, "LCO": 1.0}, "C": {"carbon": 20.0}}
EDS_BACKGROUND = 0.5
#: Expected total Li SIMS counts per 72 nm pixel, and the 6Li fraction, per phase.
LI_TOTAL = {"LLZTO": 8.0, "LCO": 14.0}
LI6_FRACTION = {"LLZTO": 0.30, "LCO": 0.0759}


@dataclass(frozen=True)
class CorrelativeTruth:
    """A known phase volume: ``labels (z, y, x)`` on ``pixel_size`` (m) in-plane, one plane per
    milled slice (``slice_thickness``, m), origin (0, 0) of the stage frame."""

    labels: np.ndarray
    pixel_size: float
    slice_thickness: float
    phases: dict

    def indicator_image(self, k: int) -> Image:
        lab = self.labels[k]
        data = np.stack([(lab == v).astype(np.float64) for v in self.phases.values()])
        return Image(data, self.pixel_size, (0.0, 0.0), tuple(self.phases))


def composite_volume(shape=(8, 1000, 1000), *, pixel_size: float = 40e-9,
                     slice_thickness: float = 60e-9, seed=None) -> CorrelativeTruth:
    """A four-phase composite (labels 1-4 in :data:`PHASES` order), fractions as declared."""
    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    labels = np.zeros(shape, np.uint8)
    free = np.ones(shape, bool)
    order = sorted(PHASES, key=lambda p: PHASES[p][1])   # the rarest phases first
    remaining = 1.0
    coarse = 4                     # fields drawn on a 4× coarser grid, then interpolated
    cy, cx = -(-ny // coarse) + 1, -(-nx // coarse) + 1
    zz = np.arange(nz) * slice_thickness
    for p in order[:-1]:
        label, frac, size = PHASES[p]
        s = size * 1e-6 / (pixel_size * coarse)
        # smooth in z: two independent smooth 2D fields mixed with a phase turning over one
        # feature size of depth (a random field of correlation length ~size along z)
        f0, f1 = (ndi.gaussian_filter(rng.normal(size=(cy, cx)).astype(np.float32), s,
                                      mode="wrap") for _ in range(2))
        ang = zz / (size * 1e-6) * 0.7
        small = (np.cos(ang)[:, None, None] * f0[None] + np.sin(ang)[:, None, None] * f1[None])
        f = ndi.zoom(small, (1, coarse, coarse), order=1, grid_mode=False)[:, :ny, :nx]
        # threshold at the quantile of the free voxels that gives the wanted fraction
        q = 1.0 - frac / remaining
        thr = np.quantile(f[free][:: max(1, int(free.sum()) // 400_000)], q)
        sel = free & (f > thr)
        labels[sel] = label
        free &= ~sel
        remaining -= frac
    labels[free] = PHASES[order[-1]][0]
    return CorrelativeTruth(labels, pixel_size, slice_thickness,
                            {p: PHASES[p][0] for p in PHASES})


def _render(truth: CorrelativeTruth, k: int, grid: Grid, yields: dict, background: float,
            blur: float, rng) -> dict:
    """Poisson counts per channel on ``grid`` for slice ``k``."""
    ind = resample(truth.indicator_image(k), grid, "area")
    frac = np.asarray(ind.data) * (truth.pixel_size ** 2) / (grid.pixel_size[0] *
                                                            grid.pixel_size[1])
    names = list(truth.phases)
    out = {}
    for ch, per_phase in yields.items():
        lam = np.full(grid.shape, background)
        for p, y in per_phase.items():
            lam = lam + y * frac[names.index(p)]
        if blur > 0:
            lam = ndi.gaussian_filter(lam, blur, mode="nearest")
        out[ch] = rng.poisson(lam).astype(np.float64)
    return out


@dataclass(frozen=True)
class SyntheticCorrelative:
    """Rendered EDS and SIMS series with their true positions."""

    eds: MapSeries
    sims: MapSeries
    truth: CorrelativeTruth
    eds_true_origins: np.ndarray
    sims_true_origins: np.ndarray


def render_correlative(truth: CorrelativeTruth, *, n_slices: int | None = None,
                       eds_shape=(216, 352), eds_pixel: float = 81.4e-9,
                       sims_shape=(500, 500), sims_pixel: float = 72e-9,
                       eds_origin=(22.0e-6, 4.0e-6), sims_origin=(1.0e-6, 1.0e-6),
                       sims_offset=(0.83e-6, 0.77e-6), drift_sigma: float = 0.5,
                       blur: float = 0.8, seed=None) -> SyntheticCorrelative:
    """EDS and SIMS maps of the first ``n_slices`` planes of ``truth``.

    ``eds_origin``/``sims_origin`` are the nominal (stage) corners, m, the same for every slice;
    the SIMS map really sits at ``sims_origin + sims_offset`` (+ a 0.3-px jitter per slice) and
    the EDS field at ``eds_origin`` + a random walk of ``drift_sigma`` EDS pixels per slice.
    """
    rng = np.random.default_rng(seed)
    n = truth.labels.shape[0] if n_slices is None else int(n_slices)
    eds_maps, sims_maps, eo, so = [], [], [], []
    drift = np.zeros(2)
    sims_yield = {"6Li": {p: LI_TOTAL[p] * LI6_FRACTION[p] for p in LI_TOTAL},
                  "7Li": {p: LI_TOTAL[p] * (1 - LI6_FRACTION[p]) for p in LI_TOTAL}}
    for k in range(n):
        if k:
            drift += rng.normal(0, drift_sigma, 2) * eds_pixel
        e_true = (eds_origin[0] + drift[0], eds_origin[1] + drift[1])
        s_true = tuple(sims_origin[i] + sims_offset[i] + rng.normal(0, 0.3) * sims_pixel
                       for i in range(2))
        eg = Grid(eds_shape, eds_pixel, e_true)
        sg = Grid(sims_shape, sims_pixel, s_true)
        e = _render(truth, k, eg, EDS_YIELD, EDS_BACKGROUND, blur, rng)
        s = _render(truth, k, sg, sims_yield, 0.0, blur, rng)
        eds_maps.append(make_map(e, eds_pixel, eds_origin, kind="EDS", index=k,
                                 angles={"sem_fib": 52.0, "stage_tilt": 54.0}))
        sims_maps.append(make_map(s, sims_pixel, sims_origin, kind="SIMS", index=k,
                                  angles={"fib_sims": 56.0, "rotation": 180.0}))
        eo.append(e_true)
        so.append(s_true)
    dz = truth.slice_thickness
    return SyntheticCorrelative(MapSeries(tuple(eds_maps), dz, "EDS"),
                                MapSeries(tuple(sims_maps), dz, "SIMS"), truth,
                                np.asarray(eo), np.asarray(so))


def truth_fractions(syn: SyntheticCorrelative, stack) -> dict[str, float]:
    """The truth's phase fractions inside the fused stack's region (in the frame of EDS slice
    0's true position, which the fused stack's origin refers to)."""
    (dy, dx), (_, y0, x0) = stack.pixel_size, stack.origin
    ny, nx = stack.shape[1:]
    shift = syn.eds_true_origins[0] - np.asarray(syn.eds.maps[0].origin)
    t = syn.truth
    ys = int(round((y0 + shift[0]) / t.pixel_size))
    ye = int(round((y0 + shift[0] + ny * dy) / t.pixel_size))
    xs = int(round((x0 + shift[1]) / t.pixel_size))
    xe = int(round((x0 + shift[1] + nx * dx) / t.pixel_size))
    lab = t.labels[: stack.shape[0], ys:ye, xs:xe]
    return {p: float(np.mean(lab == v)) for p, v in t.phases.items()}


def write_correlative_demo(data: Path, rng: np.random.Generator, *, n_slices: int = 6) -> str:
    """Write the demo's correlative sample under ``data/correlative`` and return its campaign
    TOML (paths relative to the campaign file, which sits beside ``data``).

    ``n_slices`` EDS maps (one 4-channel TIFF per slice, 81.4 nm) and SIMS maps (one 2-channel
    TIFF per slice, 72 nm) of seed 003's sizes and offsets; the campaign fuses them and measures
    the phases.
    """
    import tifffile

    from ..imaging.image import ImageStack
    from ..imaging.readers import write_stack

    folder = Path(data) / "correlative"
    folder.mkdir(parents=True, exist_ok=True)
    truth = composite_volume((n_slices, 1000, 1000), seed=int(rng.integers(1 << 31)))
    syn = render_correlative(truth, seed=int(rng.integers(1 << 31)))
    eds_files, sims_files = [], []
    for k in range(n_slices):
        e, s = syn.eds[k], syn.sims[k]
        st = ImageStack(np.asarray(e.data, np.float32)[None], e.pixel_size, None,
                        (0.0, *e.origin), e.channels)
        name = f"eds_slice{k:02d}.tif"
        write_stack(st, folder / name, overwrite=True)
        eds_files.append(f"data/correlative/{name}")
        name = f"sims_slice{k:02d}.tif"
        tifffile.imwrite(folder / name, np.asarray(s.data, np.uint16))
        sims_files.append(f"data/correlative/{name}")
    eds_list = ", ".join(f'"{f}"' for f in eds_files)
    sims_list = ", ".join(f'"{f}"' for f in sims_files)
    return f"""
[[samples]]
name = "Composite cathode, correlative EDS + SIMS (synthetic)"
description = "LLZTO + LCO + Al2O3 + carbon, {n_slices} PFIB slices of 60 nm: EDS 216x352 px at 81.4 nm, SIMS 500x500 px at 72 nm, partly overlapping."

[[samples.measurements]]
name = "eds maps"
technique = "eds-maps"
files = [{eds_list}]

[[samples.measurements]]
name = "sims maps"
technique = "sims-maps"
files = [{sims_list}]

[[samples.analyses]]
method = "correlative.fuse"
label = "Fuse EDS and SIMS"
measurements = ["eds maps", "sims maps"]
parameters = {{ eds_elements = ["Zr", "Co", "Al", "C"], sims_isotopes = ["6Li", "7Li"], sims_pixel_size = "72 nm", slice_thickness = "60 nm", eds_origin = ["22 um", "4 um"], sims_origin = ["1 um", "1 um"], eds_channels = ["Zr", "Co"], sims_channels = ["6Li", "7Li"] }}

[[samples.analyses]]
method = "correlative.phases"
label = "Phases and per-phase 6Li fraction"
measurements = ["eds maps", "sims maps"]
parameters = {{ eds_elements = ["Zr", "Co", "Al", "C"], sims_isotopes = ["6Li", "7Li"], sims_pixel_size = "72 nm", slice_thickness = "60 nm", eds_origin = ["22 um", "4 um"], sims_origin = ["1 um", "1 um"], eds_channels = ["Zr", "Co"], sims_channels = ["6Li", "7Li"], rules = {{ LLZTO = "Zr", LCO = "Co", Al2O3 = "Al", carbon = "C" }} }}

[[samples.analyses]]
method = "correlative.stats"
label = "Li (SIMS) against Zr (EDS)"
measurements = ["eds maps", "sims maps"]
parameters = {{ eds_elements = ["Zr", "Co", "Al", "C"], sims_isotopes = ["6Li", "7Li"], sims_pixel_size = "72 nm", slice_thickness = "60 nm", eds_origin = ["22 um", "4 um"], sims_origin = ["1 um", "1 um"], eds_channels = ["Zr", "Co"], sims_channels = ["6Li", "7Li"], pair = ["7Li", "Zr"] }}
"""
