# ruff: noqa: E501  (the campaign template keeps TOML lines whole)
"""Synthetic FIB-SEM acquisitions of a known 3D phase volume, for tests, benchmarks and demos.

:func:`render_fibsem` images a labelled volume the way a FIB-SEM does, slice by slice, with
everything that the preprocessing of :mod:`ionscale.imaging` must undo, each part known:

* **contrast**: one grey level per phase; a 3D Gaussian **blur** (the probe and the
  interaction volume);
* **viewing geometry**: the SEM sees the milled face at ``angle`` θ (54° on a Zeiss Crossbeam,
  52° on FEI/Thermo): depth is foreshortened by sin θ in the image, and each slice of thickness
  ``t`` moves the face by ``t cos θ`` in the image (the shear): the face content of slice ``k``
  appears ``k t cos θ / dy`` rows *higher* (towards row 0) than in slice 0. The convention of
  :mod:`ionscale.imaging.geometry` (``direction = -1``);
* a **top surface** above the face with **fiducial marks** that do not move with the face
  (only with the drift): the region to register the drift on;
* **drift**: a 2D random walk of the whole image (``drift_sigma`` pixels per slice per axis);
* **curtaining**: vertical stripes from the milling, running down from the face's top edge,
  random in position, width and amplitude, evolving slowly from slice to slice;
* **shading**: a smooth multiplicative intensity gradient fixed to the detector (image frame);
* **noise**: additive Gaussian.

Every parameter is returned with the images (:class:`SyntheticFibsem`), so a test compares what
the preprocessing found with the truth: drift per slice, shear per slice, the stripe and shading
fields, the clean image, the face region and the fiducial region.

:func:`two_phase_volume` gives a pore/solid volume of known porosity to render;
:func:`write_fibsem_demo` writes the demo campaign's FIB-SEM sample.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from ..errors import InputError
from ..imaging.image import ImageStack
from ..microstructure.volume import Volume, as_volume

__all__ = [
    "SyntheticFibsem",
    "render_fibsem",
    "sparse_labels",
    "truth_on_grid",
    "two_phase_volume",
    "write_fibsem_demo",
]


@dataclass(frozen=True)
class SyntheticFibsem:
    """A rendered FIB-SEM acquisition and everything that went into it.

    Attributes
    ----------
    stack : ImageStack
        The raw slices (float32), pixel size ``(dy, dx)`` of the SEM image (dy projected: the
        face's depth is foreshortened by sin θ), slice thickness ``t``.
    truth : Volume
        The imaged volume: labels ``(z, y, x)``, voxel ``(t, v, v)``; y is depth below the
        sample surface, z the milling direction (slice k is layer k).
    angle_deg : float
        Viewing angle θ between the SEM beam and the face, degrees.
    drift : ndarray (n, 2)
        Displacement of the whole image of slice k relative to slice 0, raw pixels.
    shear : float
        Displacement of the face content per slice along y, raw pixels (negative: upwards).
    face_top : float
        Row of the face's top edge (the sample surface) in slice 0, raw pixels.
    face_region : tuple of 4 int
        ``(y0, y1, x0, x1)`` raw pixel box of slice 0 that shows the truth volume.
    fiducial_region : tuple of 4 int
        Raw pixel box holding the fiducial marks (fixed to the sample, drift only).
    clean, stripes, shading : ndarray or None
        Per slice: the image before stripes, shading and noise; the additive stripe field;
        the multiplicative shading (with ``keep_fields=True``).
    intensities : dict
        Grey level of each phase label.
    """

    stack: ImageStack
    truth: Volume
    angle_deg: float
    drift: np.ndarray
    shear: float
    face_top: float
    face_region: tuple[int, int, int, int]
    fiducial_region: tuple[int, int, int, int]
    clean: np.ndarray | None = None
    stripes: np.ndarray | None = None
    shading: np.ndarray | None = None
    intensities: dict = field(default_factory=dict)
    noise: float = 0.0

    @property
    def shear_per_slice_m(self) -> float:
        """Shear per slice in metres of the corrected depth axis: ``t cot θ``."""
        t = self.truth.voxel_size[0]
        return t / math.tan(math.radians(self.angle_deg))


def two_phase_volume(shape, porosity: float = 0.1, feature_size: float = 4.0, *,
                     voxel_size=20e-9, seed=None) -> Volume:
    """A pore/solid volume of exact porosity: Gaussian-filtered noise thresholded at the
    porosity quantile (``feature_size``: the filter's σ in voxels).

    Returns
    -------
    Volume
        Labels ``pore = 1``, ``solid = 2`` (uint8), cubic voxels of ``voxel_size`` m.
    """
    from .synthetic_volumes import _exact_lowest, _fraction, _shape3

    shp = _shape3(shape)
    por = _fraction(porosity, "porosity")
    if not feature_size > 0:
        raise InputError(f"feature_size {feature_size!r}", field="feature_size",
                         expected="a positive size in voxels")
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(shp, dtype=np.float32)
    fld = ndi.gaussian_filter(noise, feature_size, mode="reflect")
    pore = _exact_lowest(fld, por)
    labels = np.where(pore, 1, 2).astype(np.uint8)
    return as_volume(labels, voxel_size, phases={"pore": 1, "solid": 2},
                     metadata={"generator": "two_phase_volume", "porosity": por})


def _stripe_profiles(n: int, width: int, rng, amplitude: float, density: float,
                     persistence: float) -> np.ndarray:
    """``(n, width)`` stripe profiles along x, evolving slowly from slice to slice."""
    x = np.arange(width, dtype=np.float64)
    count = max(1, int(density * width))
    centres = rng.uniform(0, width, count)
    widths = rng.uniform(0.6, 2.5, count)
    amps = rng.normal(0, 1, count)
    out = np.empty((n, width), np.float32)
    for k in range(n):
        prof = np.zeros(width)
        for c, w, a in zip(centres, widths, amps, strict=True):
            prof += a * np.exp(-0.5 * ((x - c) / w) ** 2)
        prof -= prof.mean()
        sd = prof.std()
        out[k] = amplitude * prof / sd if sd > 0 else 0.0
        # the curtains evolve: amplitudes drift, a few stripes are replaced
        amps = persistence * amps + math.sqrt(1 - persistence ** 2) * rng.normal(0, 1, count)
        renew = rng.random(count) < (1 - persistence) / 2
        centres[renew] = rng.uniform(0, width, renew.sum())
    return out


def _surface_texture(shape, rng) -> np.ndarray:
    """The top surface (protective layer) with fiducial crosses: fixed to the sample."""
    ny, nx = shape
    grain = ndi.gaussian_filter(rng.normal(size=shape), 1.2)
    grain = 0.55 + 0.08 * grain / max(grain.std(), 1e-12)
    return grain.astype(np.float32)


def _draw_crosses(img: np.ndarray, rows: tuple[int, int], rng, count: int = 4) -> None:
    y0, y1 = rows
    nx = img.shape[1]
    h = y1 - y0
    arm = max(3, h // 3)
    for k in range(count):
        cy = (y0 + y1) // 2
        cx = int((k + 0.5) * nx / count + rng.uniform(-0.1, 0.1) * nx / count)
        for d in range(-arm, arm + 1):
            for t in (-1, 0, 1):
                for yy, xx in ((cy + d, cx + d + t), (cy + d, cx - d + t)):
                    if 0 <= yy < img.shape[0] and 0 <= xx < nx:
                        img[yy, xx] = 0.95


def render_fibsem(
    truth,
    *,
    angle: float = 54.0,
    intensities=None,
    blur: float = 1.0,
    noise: float = 0.05,
    stripes: float = 0.1,
    stripe_density: float = 0.08,
    stripe_persistence: float = 0.95,
    shading: float = 0.2,
    drift_sigma: float = 1.5,
    pixel_size=None,
    fiducial_rows: int = 32,
    margin: int = 12,
    order: int = 3,
    keep_fields: bool = False,
    seed=None,
) -> SyntheticFibsem:
    """Image a labelled volume as a FIB-SEM acquisition.

    Parameters
    ----------
    truth : Volume
        Labels ``(z, y, x)``: z is the milling direction (one slice per layer), y the depth
        below the surface, x the face's width; voxel ``(t, v, v)``.
    angle : float
        Viewing angle θ between the SEM beam and the face, degrees, in (0, 90].
    intensities : dict, optional
        Grey level per label (default: evenly spread in [0.2, 0.8] in label order), or a tuple
        of levels per label for several channels (``{1: (0.15, 0.1), 2: (0.6, 0.8)}``: SE and
        BSE images, as seed 004 merged them); the stack is then ``(z, c, y, x)``.
    blur : float
        σ of the 3D Gaussian blur, voxels.
    noise : float
        σ of the additive Gaussian noise (grey levels).
    stripes : float
        Standard deviation of the curtaining stripe profile (grey levels; 0: none).
    stripe_density, stripe_persistence : float
        Stripes per pixel of width; slice-to-slice correlation of their amplitudes.
    shading : float
        Amplitude of the multiplicative shading (0: none): ``1 + a (linear ramp in y +
        quadratic in x)``.
    drift_sigma : float
        Standard deviation of the random-walk drift step per slice and axis, pixels.
    pixel_size : (dy, dx), optional
        SEM pixel size, m. Default ``(v sin θ, v)``: the corrected depth pixel is then ``v``
        (cubic voxels with no resampling); give ``(v, v)`` for square SEM pixels.
    fiducial_rows : int
        Height of the band with fiducial marks at the top of the image, pixels.
    margin : int
        Pixels added around the face to absorb the drift.
    order : int
        Interpolation order when sampling the volume (1 is faster for large stacks).
    keep_fields : bool
        Return the clean images, the stripe field and the shading (memory: three float32
        copies of the stack).
    seed : int or numpy Generator, optional

    Returns
    -------
    SyntheticFibsem
    """
    if not isinstance(truth, Volume):
        raise InputError(f"truth of type {type(truth).__name__}", field="truth",
                         expected="a Volume (e.g. from two_phase_volume or read_volume)")
    if not 0 < angle <= 90:
        raise InputError(f"angle {angle}", field="angle", expected="degrees in (0, 90]")
    rng = np.random.default_rng(seed)
    labels = np.asarray(truth.labels)
    nz, ty, tx = labels.shape
    t, vy, vx = truth.voxel_size
    th = math.radians(angle)
    sin, cos = math.sin(th), math.cos(th)
    py, px = (vy * sin, vx) if pixel_size is None else tuple(float(p) for p in
                                                              np.broadcast_to(pixel_size, 2))
    present = [int(v) for v in np.unique(labels)]
    if intensities is None:
        levels = np.linspace(0.2, 0.8, len(present)) if len(present) > 1 else [0.5]
        intensities = {lab: float(g) for lab, g in zip(present, levels, strict=True)}
    n_ch = max(np.size(g) for g in intensities.values())
    lut = np.zeros((n_ch, int(labels.max()) + 1), np.float32)
    for lab, g in intensities.items():
        if int(lab) < lut.shape[1]:
            lut[:, int(lab)] = np.broadcast_to(np.asarray(g, np.float32), n_ch)
    vols = [lut[c][labels] for c in range(n_ch)]
    if blur > 0:
        vols = [ndi.gaussian_filter(v, blur, mode="reflect", truncate=3.5) for v in vols]

    # image geometry (raw pixels)
    shear = -t * cos / py                     # face content moves up by t cos θ per slice
    drift = np.vstack([np.zeros((1, 2)),
                       np.cumsum(rng.normal(0, drift_sigma, (nz - 1, 2)), axis=0)])
    face_rows = ty * vy * sin / py            # rows the truth's depth spans
    span = np.abs(drift).max(axis=0) + 2
    top_needed = fiducial_rows + 4 + abs(shear) * (nz - 1) + span[0] + 2
    face_top = float(math.ceil(top_needed))
    ny = int(math.ceil(face_top + face_rows + span[0] + margin))
    cols = tx * vx / px
    x_off = float(math.ceil(span[1] + margin))
    nx = int(math.ceil(cols + 2 * x_off))

    pad = int(np.ceil(np.abs(drift).max())) + 4
    surface = _surface_texture((ny + 2 * pad, nx + 2 * pad), rng)
    _draw_crosses(surface, (pad + 4, pad + fiducial_rows - 2), rng)
    prof = (_stripe_profiles(nz, tx, rng, stripes, stripe_density, stripe_persistence)
            if stripes > 0 else np.zeros((nz, tx), np.float32))
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    u = yy + 0.5                              # row centres, pixels from the top edge
    shade = (1 + shading * (0.6 * (yy / ny - 0.5) + 0.4 * (4 * (xx / nx - 0.5) ** 2 - 1 / 3))
             ).astype(np.float32)
    slices = np.empty((nz, n_ch, ny, nx), np.float32)
    clean_all = np.empty_like(slices) if keep_fields else None
    stripe_all = np.empty_like(slices) if keep_fields else None
    for k, c in ((k, c) for k in range(nz) for c in range(n_ch)):
        dy, dx = drift[k]
        edge = face_top + shear * k + dy      # the face's top edge in slice k
        depth = (u - edge) * py / (sin * vy)  # depth below the surface, voxels
        xt = (xx - x_off - dx) * px / vx
        # the top surface moves with the drift only (content from outside the frame enters)
        top = ndi.map_coordinates(surface, [yy + pad - dy, xx + pad - dx], order=1,
                                  mode="nearest")
        face = np.zeros_like(top)
        inside = u + 0.5 > edge
        coords = np.stack([depth[inside] - 0.5, xt[inside] - 0.5 + 0.5 * px / vx])
        face[inside] = ndi.map_coordinates(vols[c][k], coords, order=order, mode="mirror")
        # partial-pixel coverage at the edge, and the bright rim of the edge (SE edge effect)
        cover = np.clip(u + 0.5 - edge, 0.0, 1.0)
        img = (1 - cover) * top + cover * face
        img += 0.35 * np.exp(-0.5 * ((u - (edge - 0.75)) / 0.6) ** 2)
        clean = img
        if keep_fields:
            clean_all[k, c] = clean
        st = np.zeros_like(img)
        if stripes > 0:
            # the stripe profile lives on the face (moves with the x drift), from the top edge
            # down, fading slowly with depth
            sx = ndi.map_coordinates(prof[k][None, :], [np.zeros(nx), (np.arange(nx) - x_off
                                     - dx) * px / vx], order=1, mode="nearest")
            fade = np.where(u >= edge, 0.75 + 0.25 * np.exp(-np.maximum(depth, 0) / (2 * ty)), 0)
            st = (fade * sx[None, :]).astype(np.float32)
            if keep_fields:
                stripe_all[k, c] = st
        img = (clean + st) * shade
        if noise > 0:
            img = img + rng.normal(0, noise, img.shape).astype(np.float32)
        slices[k, c] = img
    if n_ch == 1:
        slices = slices[:, 0]
        clean_all = None if clean_all is None else clean_all[:, 0]
        stripe_all = None if stripe_all is None else stripe_all[:, 0]
    y0 = int(math.ceil(face_top))
    face_region = (y0, int(min(ny, math.floor(face_top + face_rows))),
                   int(math.ceil(x_off)), int(math.floor(x_off + cols)))
    fiducial_region = (2, 2 + fiducial_rows, 2, nx - 2)
    chans = ("intensity",) if n_ch == 1 else (("SE", "BSE") if n_ch == 2 else
                                              tuple(f"c{i}" for i in range(n_ch)))
    stack = ImageStack(slices, (py, px), t, origin=(0.0, 0.0, 0.0), channels=chans,
                       metadata={"generator": "render_fibsem", "angle_deg": angle})
    # the truth's place in the corrected frame (y: slice-0 raw rows stretched by 1/sin θ)
    placed = dataclasses.replace(truth, origin=(truth.origin[0], face_top * py / sin,
                                                x_off * px))
    return SyntheticFibsem(
        stack=stack, truth=placed, angle_deg=float(angle), drift=drift, shear=float(shear),
        face_top=face_top, face_region=face_region, fiducial_region=fiducial_region,
        clean=clean_all, stripes=stripe_all, shading=np.broadcast_to(shade, slices.shape)
        if keep_fields else None, intensities=dict(intensities), noise=float(noise))


def write_fibsem_demo(data: Path, rng: np.random.Generator) -> str:
    """Write the demo's FIB-SEM sample under ``data/fibsem`` and return its campaign TOML.

    A seed 004-like pellet (pores 10 %, 20 nm voxels) rendered as 48 raw slices at 54° with
    drift, curtaining, shading and noise, plus sparse training labels (0.5 % of the voxels of
    the corrected stack); the campaign aligns, destripes, corrects and segments it.
    """
    from ..imaging.readers import write_stack
    from ..io.volume import write_volume

    folder = Path(data) / "fibsem"
    folder.mkdir(parents=True, exist_ok=True)
    truth = two_phase_volume((48, 64, 64), porosity=0.1, feature_size=3.0,
                             seed=int(rng.integers(1 << 31)))
    syn = render_fibsem(truth, noise=0.08, stripes=0.08, shading=0.2, drift_sigma=1.0,
                        seed=int(rng.integers(1 << 31)))
    write_stack(syn.stack, folder / "pellet_raw.tif", overwrite=True)
    labels = _demo_labels(syn, rng)
    write_volume(labels, folder / "pellet_labels.tif", overwrite=True)
    fy0, fy1, fx0, fx1 = syn.fiducial_region
    y0, y1, x0, x1 = syn.face_region
    return f"""
[[samples]]
name = "Sintered pellet, raw FIB-SEM stack (synthetic)"
description = "48 raw slices at 54 deg: drift, curtaining, shading, noise; segmented from sparse labels."

[[samples.measurements]]
name = "fib-sem raw"
technique = "fibsem"
files = ["data/fibsem/pellet_raw.tif"]

[[samples.measurements]]
name = "training labels"
technique = "fibsem-labels"
files = ["data/fibsem/pellet_labels.tif"]

[[samples.analyses]]
method = "fibsem.segment"
label = "Preprocess and segment"
measurements = ["fib-sem raw", "training labels"]
parameters = {{ angle = 54.0, fiducials = [{fy0}, {fy1}, {fx0}, {fx1}], roi = [{y0}, {y1}, {x0}, {x1}], phases = {{ pore = 1, solid = 2 }}, output = "segmented/pellet_segmented.tif" }}
"""


def truth_on_grid(syn: SyntheticFibsem, stack: ImageStack) -> np.ndarray:
    """The truth's labels at the voxel centres of a corrected stack (nearest voxel, by
    physical coordinates; 0 where the stack reaches outside the truth)."""
    lab = np.asarray(syn.truth.labels)
    (tz, ty, tx), (oz, oy, ox) = syn.truth.voxel_size, syn.truth.origin
    nz, ny, nx = stack.shape
    dz = stack.slice_thickness or tz
    (dy, dx), (sz, sy, sx) = stack.pixel_size, stack.origin
    iz = np.floor((sz + (np.arange(nz) + 0.5) * dz - oz) / tz).astype(int)
    iy = np.floor((sy + (np.arange(ny) + 0.5) * dy - oy) / ty).astype(int)
    ix = np.floor((sx + (np.arange(nx) + 0.5) * dx - ox) / tx).astype(int)
    okz = (iz >= 0) & (iz < lab.shape[0])
    oky = (iy >= 0) & (iy < lab.shape[1])
    okx = (ix >= 0) & (ix < lab.shape[2])
    out = lab[np.clip(iz, 0, lab.shape[0] - 1)][:, np.clip(iy, 0, lab.shape[1] - 1)][
        :, :, np.clip(ix, 0, lab.shape[2] - 1)]
    inside = okz[:, None, None] & oky[None, :, None] & okx[None, None, :]
    return np.where(inside, out, 0).astype(lab.dtype)


def sparse_labels(labels: np.ndarray, fraction: float, *, seed=None) -> np.ndarray:
    """Keep a random ``fraction`` of the labelled voxels (0 elsewhere): sparse training
    labels like a user's, drawn uniformly (the class proportions are kept)."""
    rng = np.random.default_rng(seed)
    lab = np.asarray(labels)
    keep = (rng.random(lab.shape) < fraction) & (lab > 0)
    return np.where(keep, lab, 0).astype(lab.dtype)


def _demo_labels(syn: SyntheticFibsem, rng: np.random.Generator, fraction: float = 0.005):
    """Sparse labels on the corrected stack's grid (what a user paints), from the truth."""
    from ..imaging.pipeline import preprocess_stack

    fy0, fy1, fx0, fx1 = syn.fiducial_region
    pre = preprocess_stack(syn.stack, fiducials=syn.fiducial_region, angle=syn.angle_deg,
                           roi=syn.face_region)
    lab = truth_on_grid(syn, pre.stack)
    sparse = sparse_labels(lab, fraction, seed=rng)
    return as_volume(sparse, pre.stack.voxel_size, phases=dict(syn.truth.phases),
                     metadata={"what": "sparse training labels (0 = unlabelled)"})
