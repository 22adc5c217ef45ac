"""Correlative fusion of EDS and SIMS maps of serial sections into one volume.

The chain (SCIENCE §9, seed 003), all in physical coordinates:

1. **slice-to-slice alignment** of the reference maps (EDS): the drift between consecutive
   slices by phase correlation on a structural channel (:func:`register_stack`); each slice's
   origin is corrected so that the same structure sits at the same stage position;
2. **registration of each SIMS map on its EDS map** (:func:`register_maps`): the SIMS map is
   resampled to the EDS pixel size (Lanczos, display only), both are reduced to a structural
   image (the sum of the log-normalised channels named, lightly smoothed against counting
   noise), and the translation is found by masked normalised cross-correlation over every
   shift with at least ``min_overlap`` of the smaller map in common (or by mutual information,
   ``method="mi"``, for structure that correlates non-linearly); optional rotation and scale
   on the overlap. The overlap area, the peak NCC, its distinctness (z-score) and the residual
   ``sqrt(2 (1 - NCC))`` (rms difference of the standardised images) are reported; a peak that
   is weak (NCC < ``min_ncc``) or not distinct (z < ``min_quality``) is a **failed**
   registration, never a silent match;
3. **fusion**: every map is resampled by area weighting (counts conserved, never negative) onto
   one grid of the EDS pixel size covering the region that every slice's EDS and SIMS maps
   share; the slices are stacked along z with the milled slice thickness; the isotope fraction
   is added as a channel (0 where no Li was counted; see :mod:`~ionscale.imaging.maps`).

The output is an :class:`~ionscale.imaging.image.ImageStack` ``(z, c, y, x)`` of counts per
voxel (float64), and the registrations behind it (:class:`FusionResult`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..errors import InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .image import Image, ImageStack
from .maps import MapSeries, normalise_array
from .registration import MIN_QUALITY, masked_correlation, register_rotation_scale
from .resample import Grid, coverage, resample

__all__ = ["FusionResult", "MapRegistration", "fuse_slices", "register_maps",
           "structural_image"]


# ================================================================== registration


@dataclass(frozen=True, kw_only=True)
class MapRegistration(Result):
    """Where a moving map (SIMS) lies on a reference map (EDS).

    Values: ``offset_y``, ``offset_x`` (m, the correction to add to the moving map's origin),
    ``overlap_area`` (m²), ``overlap_fraction`` (of the smaller map), ``ncc`` (peak normalised
    cross-correlation, or normalised mutual information for ``"mi"``), ``quality`` (peak
    z-score), ``residual`` (rms difference of the standardised images in the overlap),
    ``margin`` (lead of the NCC peak over the next one), ``rotation`` (rad) and ``scale`` when
    estimated.

    Attributes
    ----------
    success : bool
        False when no trustworthy match was found (status ``failed``).
    origin : (float, float)
        The moving map's registered origin (corner of pixel [0, 0]) in the reference frame, m.
    shift_px : (float, float)
        Where the moving map's pixel [0, 0] lands on the reference, reference pixels.
    pixel_size : (float, float)
        Reference pixel size, m.
    overlay : ndarray (2, ny, nx) or None
        The two structural images on the reference grid (moving NaN outside), for ``plot``.
    """

    success: bool
    origin: tuple[float, float]
    shift_px: tuple[float, float]
    pixel_size: tuple[float, float]
    rotation: float = 0.0
    scale: float = 1.0
    overlay: np.ndarray | None = None

    def _extra_dict(self):
        d = super()._extra_dict()
        d.pop("overlay", None)
        return d

    def plot(self, ax=None):
        """Overlay of the reference (magenta) and registered moving (green) structure."""
        ax = new_axes(ax)
        if self.overlay is None:
            ax.text(0.5, 0.5, "no overlay", ha="center", va="center", transform=ax.transAxes)
            return ax
        ref, mov = (np.nan_to_num(np.asarray(c, float), nan=0.0) for c in self.overlay)
        rgb = np.stack([ref, mov, ref], axis=-1)
        ny, nx = ref.shape
        (dy, dx) = self.pixel_size
        ax.imshow(np.clip(rgb, 0, 1), extent=(0, nx * dx * 1e6, ny * dy * 1e6, 0),
                  interpolation="nearest")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        state = "" if self.success else " (FAILED)"
        ax.set_title(f"registration{state}: NCC {self.values['ncc'].value:.2f}")
        return ax


def _channel_names(image: Image, names) -> tuple[str, ...]:
    if names is None:
        return tuple(c for c in image.channels if not c.endswith("_fraction"))
    names = (names,) if isinstance(names, str) else tuple(names)
    for c in names:
        image.channel(c)   # raises InputError naming the channels there are
    return names


def structural_image(image: Image, channels=None, *, normalisation: str = "log",
                     smooth: float = 1.0, weights=None) -> np.ndarray:
    """The sum of the normalised ``channels`` of a map, smoothed by a Gaussian of ``smooth``
    pixels (NaN-aware): the image registration works on (float32, NaN outside the map).

    ``weights`` (one per channel, default 1) may be negative: ``C`` against ``Li`` in a
    composite where carbon holds no Li.
    """
    names = _channel_names(image, channels)
    w = np.ones(len(names)) if weights is None else np.asarray(weights, float)
    if w.shape != (len(names),):
        raise InputError(f"{w.size} weights for {len(names)} channels", field="weights",
                         expected="one weight per channel")
    acc = np.zeros(image.shape, np.float64)
    valid = np.ones(image.shape, bool)
    for c, wc in zip(names, w, strict=True):
        n = normalise_array(image.channel(c), normalisation)
        valid &= np.isfinite(n)
        acc += wc * np.nan_to_num(n, nan=0.0)
    if smooth and smooth > 0:
        num = ndi.gaussian_filter(np.where(valid, acc, 0.0), smooth, mode="nearest")
        den = ndi.gaussian_filter(valid.astype(float), smooth, mode="nearest")
        acc = np.where(den > 1e-6, num / np.where(den > 1e-6, den, 1), 0.0)
    return np.where(valid, acc, np.nan).astype(np.float32)


def _failed_registration(reason, reference, moving, params, values_extra=None):
    nan = math.nan
    values = {k: Value(k, nan, nan, u, s) for k, u, s in (
        ("offset_y", "m", "Δy"), ("offset_x", "m", "Δx"))}
    values.update({
        "overlap_area": Value("overlap_area", 0.0, 0.0, "m^2", "overlap area"),
        "overlap_fraction": Value("overlap_fraction", 0.0, 0.0, "", "overlap fraction"),
    })
    values = {k: v for k, v in values.items() if math.isfinite(v.value)}
    values.update(values_extra or {})
    prov = Provenance.build("imaging.register_maps", [], params)
    return MapRegistration(values=values, provenance=prov, title="map registration",
                           diagnostics=(Diagnostic("failed", reason, fields=("offset",)),),
                           success=False, origin=moving.origin, shift_px=(nan, nan),
                           pixel_size=reference.pixel_size)


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    ny, nx = (a.shape[0] // f) * f, (a.shape[1] // f) * f
    return a[:ny, :nx].reshape(ny // f, f, nx // f, f).mean(axis=(1, 3))


def _mi(a: np.ndarray, b: np.ndarray, bins: int) -> float:
    """Normalised mutual information ``(H(A) + H(B)) / H(A, B)`` of two quantised images."""
    joint = np.bincount(a * bins + b, minlength=bins * bins).astype(float)
    p = joint / joint.sum()
    pa, pb = p.reshape(bins, bins).sum(1), p.reshape(bins, bins).sum(0)

    def h(q):
        q = q[q > 0]
        return -float(np.sum(q * np.log(q)))

    hab = h(p)
    return (h(pa) + h(pb)) / hab if hab > 0 else 1.0


def _quantise(img: np.ndarray, valid: np.ndarray, bins: int) -> np.ndarray:
    v = img[valid]
    lo, hi = np.percentile(v, (1, 99)) if v.size else (0.0, 1.0)
    q = np.clip(((img - lo) / (hi - lo if hi > lo else 1.0) * bins).astype(int), 0, bins - 1)
    return np.where(valid, q, -1)


def _mi_surface(ref, mov, mref, mmov, min_overlap, bins, shifts):
    """MI at each integer shift ``(uy, ux)`` (moving [0, 0] on reference [uy, ux])."""
    qr, qm = _quantise(ref, mref, bins), _quantise(mov, mmov, bins)
    small = min(mref.sum(), mmov.sum())
    out = np.full(len(shifts), -np.inf)
    ny, nx = ref.shape
    my, mx = mov.shape
    for k, (uy, ux) in enumerate(shifts):
        y0, y1 = max(0, uy), min(ny, my + uy)
        x0, x1 = max(0, ux), min(nx, mx + ux)
        if y1 <= y0 or x1 <= x0:
            continue
        a = qr[y0:y1, x0:x1]
        b = qm[y0 - uy:y1 - uy, x0 - ux:x1 - ux]
        ok = (a >= 0) & (b >= 0)
        n = int(ok.sum())
        if n < max(min_overlap * small, 16):
            continue
        out[k] = _mi(a[ok], b[ok], bins)
    return out


def _register_mi(ref, mov, mref, mmov, min_overlap, bins=24):
    """Exhaustive MI search on block means (about 96 px across), then full-resolution
    refinement within ±factor px and a parabolic sub-pixel vertex. Returns
    ``(shift, peak, quality, overlap)``."""
    f = max(1, int(math.ceil(max(*ref.shape, *mov.shape) / 96)))
    rc, mc = _block_mean(np.nan_to_num(ref), f), _block_mean(np.nan_to_num(mov), f)
    rmc = _block_mean(mref.astype(float), f) > 0.99
    mmc = _block_mean(mmov.astype(float), f) > 0.99
    uy = np.arange(-mc.shape[0] + 1, rc.shape[0])
    ux = np.arange(-mc.shape[1] + 1, rc.shape[1])
    grid = [(a, b) for a in uy for b in ux]
    s = _mi_surface(rc, mc, rmc, mmc, min_overlap, bins, grid)
    if not np.isfinite(s).any():
        return None
    finite = s[np.isfinite(s)]
    k = int(np.argmax(s))
    med = float(np.median(finite))
    mad = float(np.median(np.abs(finite - med))) * 1.4826
    quality = (s[k] - med) / mad if mad > 0 else math.inf
    cy, cx = grid[k][0] * f, grid[k][1] * f
    fine = [(cy + a, cx + b) for a in range(-f - 1, f + 2) for b in range(-f - 1, f + 2)]
    sf = _mi_surface(ref, mov, mref, mmov, min_overlap, bins, fine)
    if not np.isfinite(sf).any():
        return None
    j = int(np.argmax(sf))
    by, bx = fine[j]
    table = dict(zip(fine, sf, strict=True))

    def vertex(cm, c0, cp):
        if not (np.isfinite(cm) and np.isfinite(cp)):
            return 0.0
        den = cm - 2 * c0 + cp
        return float(np.clip(0.5 * (cm - cp) / den, -0.5, 0.5)) if den < 0 else 0.0

    c0 = sf[j]
    fy = vertex(table.get((by - 1, bx), np.nan), c0, table.get((by + 1, bx), np.nan))
    fx = vertex(table.get((by, bx - 1), np.nan), c0, table.get((by, bx + 1), np.nan))
    ny, nx = ref.shape
    my, mx = mov.shape
    y0, y1 = max(0, by), min(ny, my + by)
    x0, x1 = max(0, bx), min(nx, mx + bx)
    n = float((mref[y0:y1, x0:x1] & mmov[y0 - by:y1 - by, x0 - bx:x1 - bx]).sum())
    return (by + fy, bx + fx), float(c0), float(quality), n / min(mref.sum(), mmov.sum())


def register_maps(reference: Image, moving: Image, *, reference_channels=None,
                  moving_channels=None, reference_weights=None, moving_weights=None,
                  method: str = "ncc", min_overlap: float = 0.2, min_ncc: float = 0.3,
                  min_margin: float = 0.1, min_quality: float = MIN_QUALITY,
                  rotation: bool = False,
                  normalisation: str = "log", smooth: float = 1.0,
                  keep_overlay: bool = True) -> MapRegistration:
    """Register a moving map (SIMS) on a reference map (EDS) of a partly overlapping area.

    Parameters
    ----------
    reference, moving : Image
        Maps with their own pixel sizes and origins (m); the moving map's origin is the nominal
        position (the stage coordinates), corrected by the result.
    reference_channels, moving_channels : str or sequence of str, optional
        Structural channels summed (after normalisation) into the images that are matched
        (default: every channel but fractions).
    reference_weights, moving_weights : sequence of float, optional
        Weights of those channels (may be negative).
    method : {"ncc", "mi"}
        Masked normalised cross-correlation (linear relation of the two structures) or
        normalised mutual information (any relation; slower, coarse-to-fine search).
    min_overlap : float
        Smallest overlap tried, as a fraction of the smaller map (guards against a spurious
        match on a sliver).
    min_ncc : float
        Smallest peak NCC accepted (``"ncc"``); for ``"mi"`` the normalised MI must exceed
        ``1 + min_ncc / 10``.
    min_margin : float
        ``"ncc"``: smallest lead of the peak NCC over the best NCC away from the peak (outside
        twice its half-width): an unrelated pair has many near-equal maxima (no lead), a true
        match one clear peak; an ambiguous (periodic) match fails too.
    min_quality : float
        ``"mi"``: smallest peak z-score (robust, on the MI surface) accepted.
    rotation : bool
        Also estimate rotation and scale on the overlap (log-polar; needs a large overlap
        with texture); the translation is then re-estimated.
    normalisation : str
        Of each channel before summing (see :func:`~ionscale.imaging.maps.normalise_array`).
    smooth : float
        Gaussian smoothing of the structural images, reference pixels (counting noise).

    Returns
    -------
    MapRegistration
        Offset (m), registered origin, overlap area and fraction, NCC, z-score, residual;
        status ``failed`` (``success = False``) when no trustworthy match exists.

    Examples
    --------
    ::

        reg = register_maps(eds_map, sims_map, reference_channels=["Zr", "Co"],
                            moving_channels=["6Li", "7Li"])
        if reg.success:
            sims_on_eds = dataclasses.replace(sims_map, origin=reg.origin)
    """
    for name, im in (("reference", reference), ("moving", moving)):
        if not isinstance(im, Image):
            raise InputError(f"{name} is a {type(im).__name__}", field=name,
                             expected="an Image with its pixel size (see make_map)")
    if method not in ("ncc", "mi"):
        raise InputError(f"method {method!r}", field="method", expected="'ncc' or 'mi'")
    params = {"method": method, "min_overlap": min_overlap, "min_ncc": min_ncc,
              "min_quality": min_quality, "rotation": rotation,
              "normalisation": normalisation, "smooth": smooth,
              "reference_channels": reference_channels, "moving_channels": moving_channels}
    px = reference.pixel_size
    # the moving map on the reference pixel size, in its own (nominal) frame
    mgrid = Grid.covering(moving.bounds, px)
    mov_rs = resample(moving, mgrid, "lanczos")
    ref_img = structural_image(reference, reference_channels, normalisation=normalisation,
                               smooth=smooth, weights=reference_weights)
    mov_img = structural_image(mov_rs, _channel_names(moving, moving_channels),
                               normalisation=normalisation, smooth=smooth,
                               weights=moving_weights)
    mref, mmov = np.isfinite(ref_img), np.isfinite(mov_img)
    if mref.sum() < 16 or mmov.sum() < 16:
        raise InputError("a map has fewer than 16 valid pixels", field="reference",
                         expected="maps with data")
    theta, sc = 0.0, 1.0
    if method == "ncc":
        try:
            s = masked_correlation(ref_img, mov_img, mref, mmov, min_overlap=min_overlap)
        except InputError:
            return _failed_registration(
                f"the maps never overlap by {min_overlap:.0%} of the smaller one: no "
                "registration is possible", reference, moving, params)
        shift, peak, quality, overlap = s.shift, s.peak, s.quality, s.overlap
        margin = _ncc_margin(ref_img, mov_img, mref, mmov, min_overlap)
        if rotation and peak >= min_ncc:
            uy, ux = (int(round(v)) for v in shift)
            y0, y1 = max(0, uy), min(ref_img.shape[0], mov_img.shape[0] + uy)
            x0, x1 = max(0, ux), min(ref_img.shape[1], mov_img.shape[1] + ux)
            if min(y1 - y0, x1 - x0) >= 32:
                r = np.nan_to_num(ref_img[y0:y1, x0:x1])
                m = np.nan_to_num(mov_img[y0 - uy:y1 - uy, x0 - ux:x1 - ux])
                t = register_rotation_scale(r, m, scale=True)
                theta, sc = t.rotation, t.scale
                if abs(theta) > math.radians(0.05) or abs(sc - 1) > 1e-3:
                    # rotate/scale the moving structure about its centre, translate again
                    from .registration import Transform2D

                    tr = Transform2D(theta, sc, (0.0, 0.0))
                    warped = tr.apply(np.where(mmov, mov_img, 0).astype(np.float32),
                                      order=1, cval=np.nan)
                    wm = tr.apply(mmov.astype(np.float32), order=1, cval=0.0) > 0.999
                    s = masked_correlation(ref_img, np.nan_to_num(warped), mref,
                                           wm & np.isfinite(warped), min_overlap=min_overlap)
                    shift, peak, quality, overlap = s.shift, s.peak, s.quality, s.overlap
                    margin = _ncc_margin(ref_img, np.nan_to_num(warped), mref,
                                         wm & np.isfinite(warped), min_overlap)
        ok = peak >= min_ncc and margin >= min_margin
        residual = math.sqrt(max(2.0 * (1.0 - peak), 0.0))
    else:
        found = _register_mi(ref_img, mov_img, mref, mmov, min_overlap)
        if found is None:
            return _failed_registration(
                f"the maps never overlap by {min_overlap:.0%} of the smaller one: no "
                "registration is possible", reference, moving, params)
        shift, peak, quality, overlap = found
        ok = peak >= 1 + min_ncc / 10 and quality >= min_quality
        residual = math.nan
        margin = math.nan
    origin = (reference.origin[0] + shift[0] * px[0], reference.origin[1] + shift[1] * px[1])
    offset = (origin[0] - mgrid.origin[0], origin[1] - mgrid.origin[1])
    small = min(mref.sum(), mmov.sum())
    area = overlap * small * px[0] * px[1]
    # precision: a sub-pixel estimate on a distinct peak is good to about 0.1-0.2 px
    err = (0.2 * px[0], 0.2 * px[1])
    values = {
        "offset_y": Value("offset_y", offset[0], err[0], "m", "Δy"),
        "offset_x": Value("offset_x", offset[1], err[1], "m", "Δx"),
        "overlap_area": Value("overlap_area", float(area), 0.0, "m^2", "overlap area"),
        "overlap_fraction": Value("overlap_fraction", float(overlap), 0.0, "",
                                  "overlap fraction", valid=(0.0, 1.0)),
        "ncc": Value("ncc", float(peak), 0.0, "", "NCC" if method == "ncc" else "NMI",
                     valid=(-1.0, 2.0)),
        "quality": Value("quality", float(min(quality, 1e6)), 0.0, "", "peak z-score",
                         valid=(-math.inf, math.inf)),
    }
    if math.isfinite(margin):
        values["margin"] = Value("margin", float(margin), 0.0, "", "NCC lead over 2nd peak",
                                 valid=(-2.0, 2.0))
    if math.isfinite(residual):
        values["residual"] = Value("residual", residual, 0.0, "", "rms residual")
    if rotation:
        values["rotation"] = Value("rotation", float(theta), math.nan, "", "rotation (rad)",
                                   valid=(-math.pi, math.pi))
        values["scale"] = Value("scale", float(sc), math.nan, "", "scale")
    diagnostics = []
    if not ok:
        test = (f"lead over the next peak {margin:.3f} (at least {min_margin:g})"
                if method == "ncc" else f"z-score {quality:.1f} (at least {min_quality:g})")
        diagnostics.append(Diagnostic(
            "failed", f"no trustworthy match: peak {'NCC' if method == 'ncc' else 'NMI'} "
            f"{peak:.3f} (at least {min_ncc if method == 'ncc' else 1 + min_ncc / 10:.3g} "
            f"needed), {test}; the maps may not overlap, or share no structure in the "
            "channels used", fields=("offset_y", "offset_x")))
    overlay = None
    if keep_overlay:
        placed = dataclasses.replace(mov_rs, origin=origin)
        on_ref = resample(placed, Grid.of(reference), "lanczos")
        mimg = structural_image(on_ref, _channel_names(moving, moving_channels),
                                normalisation=normalisation, smooth=smooth,
                                weights=moving_weights)
        overlay = np.stack([_unit(ref_img), _unit(mimg)]).astype(np.float32)
    prov = Provenance.build("imaging.register_maps", [], params)
    return MapRegistration(values=values, provenance=prov, title="map registration",
                           diagnostics=tuple(diagnostics), success=bool(ok), origin=origin,
                           shift_px=(float(shift[0]), float(shift[1])), pixel_size=px,
                           rotation=float(theta), scale=float(sc), overlay=overlay)


def _ncc_margin(ref, mov, mref, mmov, min_overlap) -> float:
    """Peak NCC minus the best NCC outside twice the peak's half-width (at least 3 px)."""
    from .registration import _masked_ncc

    ncc, _, _, _ = _masked_ncc(np.where(mref, ref, 0), np.where(mmov, mov, 0), mref, mmov,
                               min_overlap)
    if not np.isfinite(ncc).any():
        return math.nan
    i, j = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    c0 = float(ncc[i, j])
    finite = ncc[np.isfinite(ncc)]
    half = 0.5 * (c0 + float(np.median(finite)))
    widths = []
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        w, y, x = 0, i, j
        while 0 <= y < ncc.shape[0] and 0 <= x < ncc.shape[1] and ncc[y, x] > half:
            y, x, w = y + di, x + dj, w + 1
        widths.append(w)
    r = max(3, 2 * max(widths))
    yy, xx = np.ogrid[:ncc.shape[0], :ncc.shape[1]]
    away = ((yy - i) ** 2 + (xx - j) ** 2 > r * r) & np.isfinite(ncc)
    return c0 - float(ncc[away].max()) if away.any() else c0


def _unit(a: np.ndarray) -> np.ndarray:
    v = a[np.isfinite(a)]
    if not v.size:
        return a
    lo, hi = np.percentile(v, (1, 99))
    return np.clip((a - lo) / (hi - lo if hi > lo else 1), 0, 1)


# ================================================================== fusion


@dataclass(frozen=True, kw_only=True)
class FusionResult(Result):
    """EDS and SIMS maps of serial sections fused into one volume.

    Values: ``n_slices``, ``n_registered`` (SIMS maps registered with success), ``offset_y`` /
    ``offset_x`` (median SIMS-on-EDS correction, m), ``fused_area`` (m², per slice),
    ``depth`` (m).

    Attributes
    ----------
    stack : ImageStack or None
        ``(z, c, y, x)`` counts per voxel on the EDS pixel size and the milled slice
        thickness; channels: the EDS channels, the SIMS channels, and
        ``"<tracer>_fraction"`` (0 where no Li was counted). None when fusion failed.
    registrations : tuple of MapRegistration
        SIMS on EDS, per slice.
    drift : ndarray (n, 2)
        Slice-to-slice correction applied to the EDS origins, m.
    sims_channels, eds_channels : tuple of str
    fraction_channel : str or None
    """

    stack: ImageStack | None
    registrations: tuple[MapRegistration, ...]
    drift: np.ndarray
    eds_channels: tuple[str, ...]
    sims_channels: tuple[str, ...]
    fraction_channel: str | None = None

    def _extra_dict(self):
        d = {"registrations": [r.to_dict() | {"data": {k: v for k, v in r.to_dict()[
            "data"].items() if k != "overlay"}} for r in self.registrations],
             "drift": self.drift.tolist(), "eds_channels": list(self.eds_channels),
             "sims_channels": list(self.sims_channels),
             "fraction_channel": self.fraction_channel,
             "shape": None if self.stack is None else list(self.stack.data.shape)}
        return d

    def slice_image(self, k: int) -> Image:
        if self.stack is None:
            raise InputError("fusion failed: there is no volume", field="stack",
                             expected="a fusion whose status is not failed")
        return self.stack[k]

    def plot(self, ax=None, *, slice_index: int | None = None,
             channels: Sequence[str] | None = None):
        """Overlay of a fused slice: up to three channels (log-normalised) as red, green,
        blue (default: the first SIMS channel and two EDS channels)."""
        ax = new_axes(ax)
        if self.stack is None:
            ax.text(0.5, 0.5, "fusion failed", ha="center", va="center",
                    transform=ax.transAxes)
            return ax
        k = len(self.stack) // 2 if slice_index is None else slice_index
        img = self.stack[k]
        names = list(channels) if channels else [self.sims_channels[0],
                                                 *self.eds_channels[:2]]
        names = names[:3]
        rgb = np.zeros((*img.shape, 3))
        for i, c in enumerate(names):
            rgb[..., i] = np.nan_to_num(normalise_array(img.channel(c), "percentile",
                                                        percentiles=(1, 99.5)))
        (dy, dx), (y0, x0) = img.pixel_size, img.origin
        ny, nx = img.shape
        ax.imshow(rgb, extent=(x0 * 1e6, (x0 + nx * dx) * 1e6, (y0 + ny * dy) * 1e6,
                               y0 * 1e6), interpolation="nearest")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        colours = ("red", "green", "blue")
        ax.set_title(f"slice {k}: " + ", ".join(f"{c} {colours[i]}"
                                                for i, c in enumerate(names)))
        return ax


def _as_series(maps, slice_thickness, what: str) -> MapSeries:
    if isinstance(maps, MapSeries):
        return maps
    if isinstance(maps, Image):
        maps = [maps]
    if slice_thickness is None:
        raise InputError("no slice thickness", field="slice_thickness",
                         expected="the milled slice thickness, e.g. '60 nm'")
    return MapSeries(tuple(maps), slice_thickness, what)


def _intersection(boxes) -> tuple[float, float, float, float] | None:
    y0 = max(b[0] for b in boxes)
    y1 = min(b[1] for b in boxes)
    x0 = max(b[2] for b in boxes)
    x1 = min(b[3] for b in boxes)
    return (y0, y1, x0, x1) if y1 > y0 and x1 > x0 else None


def fuse_slices(eds, sims, *, slice_thickness=None, eds_channels=None, sims_channels=None,
                eds_weights=None, sims_weights=None, tracer: str | None = "6Li",
                other: str = "7Li", align_slices: bool = True, method: str = "ncc",
                min_overlap: float = 0.2, min_ncc: float = 0.3, rotation: bool = False,
                normalisation: str = "log", progress: bool = False) -> FusionResult:
    """Fuse the EDS and SIMS maps of serial sections into one volume of counts.

    Parameters
    ----------
    eds, sims : MapSeries or sequence of Image
        One EDS and one SIMS map per slice, in milling order (origins: nominal stage
        positions, m). The EDS grid is the reference (seed 003).
    slice_thickness : float or str, optional
        Milled slice thickness (required unless the series carry it), m or ``"60 nm"``.
    eds_channels, sims_channels : sequence of str, optional
        Structural channels for the registration (see :func:`register_maps`).
    eds_weights, sims_weights : sequence of float, optional
        Their weights.
    tracer, other : str
        Counts channels of the isotope fraction channel (``tracer=None``: none).
    align_slices : bool
        Align the EDS slices on one another (drift by phase correlation); otherwise their
        origins are used as they are.
    method, min_overlap, min_ncc, rotation, normalisation
        See :func:`register_maps`.
    progress : bool
        Progress bar.

    Returns
    -------
    FusionResult
        The fused :class:`ImageStack`, the registrations and the drift. A slice whose SIMS
        map did not register is placed with the median offset of the others (a warning);
        when none registered, or the maps share no region, the status is ``failed`` and
        ``stack`` is None.
    """
    from ._progress import progress_bar
    from .registration import register_stack

    es = _as_series(eds, slice_thickness, "EDS")
    ss = _as_series(sims, slice_thickness if slice_thickness is not None
                    else es.slice_thickness, "SIMS")
    dz = es.slice_thickness if slice_thickness is None else _as_series(
        list(es.maps), slice_thickness, "EDS").slice_thickness
    if len(es) != len(ss):
        raise InputError(f"{len(es)} EDS maps and {len(ss)} SIMS maps", field="sims",
                         expected="one SIMS map per EDS map (slice)")
    clash = set(es.channels) & set(ss.channels)
    if clash:
        raise InputError(f"channels {sorted(clash)} are in both the EDS and the SIMS maps",
                         field="channels", expected="distinct channel names")
    if tracer is not None:
        for c in (tracer, other):
            if c not in ss.channels:
                raise InputError(f"no SIMS channel {c!r} for the isotope fraction",
                                 field="tracer", expected=f"one of {list(ss.channels)} "
                                 "(or tracer=None)")
    n = len(es)
    px = es.pixel_size
    diagnostics: list[Diagnostic] = []
    # 1. slice-to-slice alignment of the EDS maps
    drift = np.zeros((n, 2))
    eds_maps = list(es.maps)
    if align_slices and n > 1:
        shapes = {m.shape for m in eds_maps}
        if len(shapes) == 1:
            imgs = np.stack([np.nan_to_num(structural_image(m, eds_channels,
                                                            normalisation=normalisation,
                                                            weights=eds_weights))
                             for m in eds_maps])
            reg = register_stack(ImageStack(imgs, px, dz), progress=False)
            drift = reg.drift_m
            diagnostics += [d for d in reg.diagnostics if d.code != "failed"]
            if reg.status == "failed":
                diagnostics.append(Diagnostic(
                    "data-quality", "the EDS slices could not be aligned on one another (no "
                    "distinct correlation peak): their stage origins are used", fields=(
                        "drift",)))
                drift = np.zeros((n, 2))
            o0 = np.asarray(eds_maps[0].origin)
            eds_maps = [dataclasses.replace(m, origin=tuple(o0 - drift[k]))
                        for k, m in enumerate(eds_maps)]
        else:
            diagnostics.append(Diagnostic("data-quality", "EDS maps of different shapes: "
                                          "slices not aligned on one another",
                                          fields=("drift",)))
    # 2. SIMS on EDS, per slice
    regs = []
    bar = progress_bar(total=n, desc="registration", unit="slice", enabled=progress)
    for k in range(n):
        regs.append(register_maps(eds_maps[k], ss[k], reference_channels=eds_channels,
                                  moving_channels=sims_channels,
                                  reference_weights=eds_weights, moving_weights=sims_weights,
                                  method=method, min_overlap=min_overlap, min_ncc=min_ncc,
                                  rotation=rotation, normalisation=normalisation,
                                  keep_overlay=(k == n // 2)))
        bar.update()
    bar.close()
    good = [k for k, r in enumerate(regs) if r.success]
    params = {"slice_thickness": dz, "eds_channels": eds_channels,
              "sims_channels": sims_channels, "tracer": tracer, "other": other,
              "align_slices": align_slices, "method": method, "min_overlap": min_overlap,
              "min_ncc": min_ncc, "rotation": rotation, "normalisation": normalisation}
    files = sorted({m.source for m in (*es.maps, *ss.maps) if m.source and
                    _isfile(m.source)})
    prov = Provenance.build("imaging.fuse_slices", files, params)
    base = {"n_slices": Value("n_slices", float(n), 0.0, "", "slices"),
            "n_registered": Value("n_registered", float(len(good)), 0.0, "",
                                  "SIMS maps registered")}

    def nothing_fused(why: str) -> FusionResult:
        diagnostics.append(Diagnostic("failed", f"{why}: nothing was fused",
                                      fields=("stack",)))
        return FusionResult(values=base, provenance=prov, title="correlative fusion",
                            diagnostics=tuple(diagnostics), stack=None,
                            registrations=tuple(regs), drift=drift,
                            eds_channels=es.channels, sims_channels=ss.channels)

    if not good:
        return nothing_fused("no SIMS map could be registered on its EDS map")
    offsets = np.array([[regs[k].origin[0] - ss[k].origin[0],
                         regs[k].origin[1] - ss[k].origin[1]] for k in good])
    med = np.median(offsets, axis=0)
    sims_maps = []
    for k in range(n):
        if regs[k].success:
            origin = regs[k].origin
        else:
            origin = (ss[k].origin[0] + med[0], ss[k].origin[1] + med[1])
        sims_maps.append(dataclasses.replace(ss[k], origin=origin))
    if len(good) < n:
        bad = [k for k in range(n) if k not in good]
        diagnostics.append(Diagnostic(
            "data-quality", f"{len(bad)} of {n} SIMS maps did not register (slices "
            f"{', '.join(map(str, bad[:10]))}{'…' if len(bad) > 10 else ''}); they were placed "
            "with the median offset of the others", fields=("stack",)))
    # 3. the common region, on the EDS pixel grid of slice 0
    box = _intersection([m.bounds for m in (*eds_maps, *sims_maps)])
    if box is None:
        return nothing_fused("the EDS and SIMS maps of all slices share no region")
    g0 = eds_maps[0].origin
    iy0 = math.ceil((box[0] - g0[0]) / px[0] - 1e-6)
    iy1 = math.floor((box[1] - g0[0]) / px[0] + 1e-6)
    ix0 = math.ceil((box[2] - g0[1]) / px[1] - 1e-6)
    ix1 = math.floor((box[3] - g0[1]) / px[1] + 1e-6)
    if iy1 - iy0 < 2 or ix1 - ix0 < 2:
        return nothing_fused("the region the maps share is under 2 pixels wide")
    grid = Grid((iy1 - iy0, ix1 - ix0), px, (g0[0] + iy0 * px[0], g0[1] + ix0 * px[1]))
    channels = (*es.channels, *ss.channels)
    frac = None
    if tracer is not None:
        frac = f"{tracer}_fraction"
        channels = (*channels, frac)
    out = np.zeros((n, len(channels), *grid.shape))
    partial = 0
    for k in range(n):
        e = resample(eds_maps[k], grid, "area")
        s = resample(sims_maps[k], grid, "area")
        cov = np.minimum(coverage(eds_maps[k], grid), coverage(sims_maps[k], grid))
        partial += int((cov < 0.999).sum())
        ne, ns = len(es.channels), len(ss.channels)
        out[k, :ne] = np.asarray(e.data).reshape(ne, *grid.shape)
        out[k, ne:ne + ns] = np.asarray(s.data).reshape(ns, *grid.shape)
        if frac is not None:
            t = out[k, ne + ss.channels.index(tracer)]
            o = out[k, ne + ss.channels.index(other)]
            tot = t + o
            out[k, -1] = np.where(tot > 0, t / np.where(tot > 0, tot, 1), 0.0)
    if partial:
        diagnostics.append(Diagnostic(
            "data-quality", f"{partial} voxels are only partly covered by a map (missing pixels "
            "in an irregular acquisition area): their counts are partial", fields=("stack",)))
    meta = {"kind": "correlative", "unit": "counts",
            "fraction_defined": {frac: [tracer, other]} if frac else {},
            "eds_channels": list(es.channels), "sims_channels": list(ss.channels),
            "angles": {"eds": es[0].metadata.get("angles", {}),
                       "sims": ss[0].metadata.get("angles", {})}}
    stack = ImageStack(out, px, dz, (0.0, *grid.origin), channels, metadata=meta)
    depth = n * dz
    area = grid.shape[0] * grid.shape[1] * px[0] * px[1]
    values = {**base,
              "offset_y": Value("offset_y", float(med[0]), float(
                  np.std(offsets[:, 0]) if len(good) > 1 else 0.2 * px[0]), "m", "SIMS Δy"),
              "offset_x": Value("offset_x", float(med[1]), float(
                  np.std(offsets[:, 1]) if len(good) > 1 else 0.2 * px[1]), "m", "SIMS Δx"),
              "fused_area": Value("fused_area", float(area), 0.0, "m^2", "fused area"),
              "depth": Value("depth", float(depth), 0.0, "m", "depth")}
    return FusionResult(values=values, provenance=prov, title="correlative fusion",
                        diagnostics=tuple(diagnostics), stack=stack, registrations=tuple(regs),
                        drift=drift, eds_channels=es.channels, sims_channels=ss.channels,
                        fraction_channel=frac)


def _isfile(path) -> bool:
    import os

    return bool(path) and os.path.isfile(path)
