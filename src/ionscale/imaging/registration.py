"""Image registration: translation by phase correlation, masked normalised cross-correlation
for partial overlap, rotation and scale, and the slice-to-slice drift of a stack.

Conventions
-----------
* A **shift** ``(dy, dx)`` is the translation to *apply to the moving image* to lay it on the
  reference (scikit-image's convention): ``shift_image(moving, s.shift)`` ≈ ``reference``. The
  displacement of the moving image's content relative to the reference is ``-shift``
  (:attr:`Shift.displacement`). Pixels of the moving image; metres in :attr:`Shift.shift_m`
  when the images carry a pixel size (:class:`~ionscale.imaging.image.Image`), which is then
  the reference's and must be the moving image's too (resample first otherwise).
* Rows (y) grow downwards, axis order ``(y, x)`` everywhere.

Methods
-------
:func:`phase_correlation`
    Translation by FFT phase correlation. Both images are tapered by a Tukey window (their
    edges would otherwise add a peak at zero shift that pulls every estimate towards an
    integer, the bias of plain phase correlation), the normalised cross-power spectrum is
    weighted by a Gaussian ``exp(-2π² σ² |f|²)``, which makes the correlation peak a sampled
    Gaussian of standard deviation ``σ`` pixels, and the sub-pixel position is the vertex of
    the parabola through the logarithm of the peak and its two neighbours along each axis
    (exact for a sampled Gaussian). The weighting also discards the noise-dominated high
    frequencies. Accuracy on a 256² textured image shifted by a known sub-pixel amount:
    0.01 px rms without noise, 0.02 px at SNR 8, 0.08 px at SNR 2 (σ = 1.5).
:func:`masked_correlation`
    Normalised cross-correlation with masks (Padfield, IEEE TIP 21 (2012) 2706), computed for
    every shift with FFTs: valid where the images overlap by at least ``min_overlap`` of the
    smaller mask, so images of different fields of view or with missing data (an EDS map and
    a SIMS map, a FIB-SEM region with a charging artefact) register. Reports the overlap
    fraction and the peak NCC; the sub-pixel position is refined by :func:`phase_correlation`
    on the overlapping part.
:func:`register_rotation_scale`
    Rotation and isotropic scale from the log-polar resampling of the Fourier magnitudes
    (Reddy & Chatterji, IEEE TIP 5 (1996) 1266), then translation.
:func:`register_stack`
    Drift of every slice of a stack from slice-to-slice (or slice-to-reference) phase
    correlation on a chosen region, each slice's spectrum computed once; outlying pair shifts
    (a bad slice, a charging flash) are replaced by the median of their neighbours and
    reported.

Peak quality
------------
Every estimate carries ``peak`` (the correlation at the peak: 1 for identical images, the NCC
for :func:`masked_correlation`) and ``quality``, the height of the peak above the median of
the correlation surface in units of the surface's robust standard deviation (1.4826 × MAD): a
z-score; below about 8 the peak is not distinct from the background and the shift should not be
trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.fft as sfft
from scipy import ndimage as ndi

from ..errors import InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .image import Image, ImageStack, as_stack

__all__ = [
    "Shift",
    "StackRegistration",
    "Transform2D",
    "masked_correlation",
    "phase_correlation",
    "register_rotation_scale",
    "register_stack",
    "shift_image",
    "warp_image",
]

#: Peak z-score under which a shift is not trusted (see the module's "Peak quality").
MIN_QUALITY = 8.0


def _workers() -> int:
    return -1


@dataclass(frozen=True)
class Shift:
    """A translation estimate between two images.

    Attributes
    ----------
    shift : tuple of 2 float
        ``(dy, dx)`` to apply to the moving image to lay it on the reference, pixels.
    pixel_size : tuple of 2 float or None
        ``(dy, dx)`` of the images, m (None for plain arrays).
    peak : float
        Correlation at the peak (1 for identical images; the NCC for masked correlation).
    quality : float
        Peak height above the correlation surface's median in robust standard deviations.
    overlap : float
        Fraction of the smaller image (or mask) that overlaps at this shift (1 for phase
        correlation, which assumes full overlap).
    method : str
        ``"phase"``, ``"masked-ncc"``...
    """

    shift: tuple[float, float]
    pixel_size: tuple[float, float] | None = None
    peak: float = math.nan
    quality: float = math.nan
    overlap: float = 1.0
    method: str = "phase"

    @property
    def displacement(self) -> tuple[float, float]:
        """Displacement of the moving image's content relative to the reference, pixels."""
        return (-self.shift[0], -self.shift[1])

    @property
    def shift_m(self) -> tuple[float, float] | None:
        """:attr:`shift` in metres (None without a pixel size)."""
        if self.pixel_size is None:
            return None
        return (self.shift[0] * self.pixel_size[0], self.shift[1] * self.pixel_size[1])

    @property
    def trusted(self) -> bool:
        """Whether the peak is distinct (``quality >= MIN_QUALITY``)."""
        return bool(self.quality >= MIN_QUALITY)

    def to_dict(self) -> dict[str, Any]:
        return {"shift_px": list(self.shift), "shift_m": None if self.shift_m is None else
                list(self.shift_m), "peak": self.peak, "quality": self.quality,
                "overlap": self.overlap, "method": self.method}


# ================================================================== helpers


def _as_array(image, what: str, channel=0) -> tuple[np.ndarray, tuple[float, float] | None]:
    if isinstance(image, Image):
        return np.asarray(image.channel(channel), dtype=np.float32), image.pixel_size
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise InputError(f"{what} has shape {arr.shape}", field=what,
                         expected="a 2D (y, x) image")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InputError(f"{what} of type {arr.dtype}", field=what, expected="a real image")
    return arr.astype(np.float32, copy=False), None


def _check_pair(ref, mov, ref_px, mov_px) -> tuple[float, float] | None:
    if ref.shape != mov.shape:
        raise InputError(f"reference {ref.shape} and moving {mov.shape} images differ in shape",
                         field="moving", expected="images of the same shape (crop or pad first, "
                         "or use masked_correlation)")
    if min(ref.shape) < 8:
        raise InputError(f"images of {ref.shape} pixels", field="reference",
                         expected="at least 8 pixels along each axis")
    if ref_px is not None and mov_px is not None and not np.allclose(ref_px, mov_px, atol=0,
                                                                      rtol=1e-6):
        raise InputError(f"pixel sizes differ: {ref_px} and {mov_px} m", field="moving",
                         expected="the same pixel size (resample one image first)")
    if not np.all(np.isfinite(ref)) or not np.all(np.isfinite(mov)):
        raise InputError("NaN or infinite pixels", field="reference",
                         expected="finite images (use masked_correlation with a mask for "
                         "missing data)")
    return ref_px if ref_px is not None else mov_px


@lru_cache(maxsize=16)
def _tukey(n: int, alpha: float) -> np.ndarray:
    if alpha <= 0:
        return np.ones(n, np.float32)
    x = np.arange(n, dtype=np.float64) / max(n - 1, 1)
    w = np.ones(n)
    edge = alpha / 2
    lo, hi = x < edge, x > 1 - edge
    w[lo] = 0.5 * (1 + np.cos(np.pi * (2 * x[lo] / alpha - 1)))
    w[hi] = 0.5 * (1 + np.cos(np.pi * (2 * x[hi] / alpha - 2 / alpha + 1)))
    return w.astype(np.float32)


def _window(shape, alpha: float) -> np.ndarray:
    return np.outer(_tukey(shape[0], alpha), _tukey(shape[1], alpha))


@lru_cache(maxsize=16)
def _gauss_weight(shape: tuple[int, int], sigma: float) -> np.ndarray:
    fy = sfft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = sfft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    if sigma <= 0:
        return np.ones((shape[0], shape[1] // 2 + 1), np.float32)
    return np.exp(np.float32(-2 * np.pi ** 2 * sigma ** 2) * (fy * fy + fx * fx))


def _spectrum(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    a = img - np.float32(img.mean())
    a *= window
    return sfft.rfft2(a, workers=_workers())


def _log_vertex(cm: float, c0: float, cp: float) -> float:
    """Sub-pixel offset of the vertex of the parabola through log(c) at -1, 0, +1."""
    if c0 <= 0:
        return 0.0
    tiny = c0 * 1e-6
    lm, l0, lp = math.log(max(cm, tiny)), math.log(c0), math.log(max(cp, tiny))
    den = lm - 2 * l0 + lp
    if den >= 0:
        return 0.0
    return float(np.clip(0.5 * (lm - lp) / den, -0.5, 0.5))


def _quality(c: np.ndarray, peak: float) -> float:
    """Robust z-score of ``peak`` against the correlation surface ``c`` (subsampled: the
    peak's neighbourhood is a negligible part of it)."""
    flat = c.ravel()
    step = max(1, flat.size // 65536)
    sample = flat[::step]
    med = float(np.median(sample))
    mad = float(np.median(np.abs(sample - med))) * 1.4826
    if mad <= 0:
        return math.inf if peak > med else 0.0
    return (peak - med) / mad


def _peak_from_cross_power(A: np.ndarray, B: np.ndarray, shape, sigma: float,
                           max_shift=None) -> tuple[float, float, float, float]:
    """(dy, dx, peak, quality) from the spectra of reference (A) and moving (B)."""
    R = A * np.conj(B)
    mag = np.abs(R)
    eps = np.float32(1e-12) * (float(mag.max()) if mag.size else 1.0) + np.float32(1e-30)
    R /= mag + eps
    W = _gauss_weight(tuple(shape), float(sigma))
    R *= W
    c = sfft.irfft2(R, s=shape, workers=_workers())
    # the mean of the weight over the full spectrum (rfft keeps half of it): the peak of
    # two identical images
    full = 2 * float(W.sum()) - float(W[:, 0].sum()) - (float(W[:, -1].sum())
                                                          if shape[1] % 2 == 0 else 0.0)
    norm = full / (shape[0] * shape[1])
    ny, nx = c.shape
    search = c
    if max_shift is not None:
        my, mx = (int(math.ceil(m)) for m in max_shift)
        if my < ny // 2 or mx < nx // 2:
            yy = np.minimum(np.arange(ny), ny - np.arange(ny))
            xx = np.minimum(np.arange(nx), nx - np.arange(nx))
            keep = (yy[:, None] <= my) & (xx[None, :] <= mx)
            search = np.where(keep, c, -np.inf)
    flat = int(np.argmax(search))
    i, j = divmod(flat, nx)
    c0 = float(c[i, j])
    dy = i + _log_vertex(float(c[(i - 1) % ny, j]), c0, float(c[(i + 1) % ny, j]))
    dx = j + _log_vertex(float(c[i, (j - 1) % nx]), c0, float(c[i, (j + 1) % nx]))
    if dy > ny / 2:
        dy -= ny
    if dx > nx / 2:
        dx -= nx
    q = _quality(c, c0)
    return float(dy), float(dx), c0 / norm if norm > 0 else math.nan, float(q)


def _region_slices(region, shape) -> tuple[slice, slice]:
    if region is None:
        return slice(0, shape[0]), slice(0, shape[1])
    try:
        y0, y1, x0, x1 = (int(v) for v in region)
    except (TypeError, ValueError):
        raise InputError(f"region {region!r}", field="region",
                         expected="(y0, y1, x0, x1) in pixels") from None
    if not (0 <= y0 < y1 <= shape[0] and 0 <= x0 < x1 <= shape[1]):
        raise InputError(f"region [{y0}:{y1}, {x0}:{x1}] outside a {shape[0]}×{shape[1]} "
                         "image", field="region", expected="a box inside the image")
    if y1 - y0 < 8 or x1 - x0 < 8:
        raise InputError(f"region [{y0}:{y1}, {x0}:{x1}] is under 8 pixels wide",
                         field="region", expected="a region of at least 8×8 pixels")
    return slice(y0, y1), slice(x0, x1)


# ================================================================== translation


def phase_correlation(reference, moving, *, region=None, sigma: float = 1.5,
                      window: float = 0.25, max_shift=None, channel=0) -> Shift:
    """Translation between two images by windowed, Gaussian-weighted phase correlation.

    Parameters
    ----------
    reference, moving : Image or 2D array
        Images of the same shape and pixel size.
    region : (y0, y1, x0, x1), optional
        Pixel box used in both images (a fiducial mark, a structure-rich area).
    sigma : float
        Standard deviation of the correlation peak, pixels: the Gaussian weight
        ``exp(-2π² σ² |f|²)`` on the cross-power spectrum. Larger is more robust to noise
        (1.5-3 for noisy images), smaller more precise on clean ones (1).
    window : float
        Tukey taper fraction (0: no window, 1: Hann).
    max_shift : float or (float, float), optional
        Largest expected |shift| per axis, pixels (limits the peak search).
    channel : str or int
        Channel of multi-channel Images.

    Returns
    -------
    Shift
        ``shift`` to apply to ``moving`` (pixels), its size in m, the peak and its quality.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> rng = np.random.default_rng(0)
    >>> ref = ndi.gaussian_filter(rng.normal(size=(128, 128)), 2)
    >>> mov = ndi.shift(ref, (2.3, -1.6), order=3, mode="reflect")
    >>> [round(v, 1) for v in phase_correlation(ref, mov).shift]
    [-2.3, 1.6]
    """
    ref, rpx = _as_array(reference, "reference", channel)
    mov, mpx = _as_array(moving, "moving", channel)
    px = _check_pair(ref, mov, rpx, mpx)
    sy, sx = _region_slices(region, ref.shape)
    ref, mov = ref[sy, sx], mov[sy, sx]
    if sigma < 0 or not 0 <= window <= 1:
        raise InputError(f"sigma {sigma}, window {window}", field="sigma",
                         expected="sigma >= 0 pixels and a window fraction in [0, 1]")
    w = _window(ref.shape, float(window))
    A, B = _spectrum(ref, w), _spectrum(mov, w)
    ms = None if max_shift is None else tuple(np.broadcast_to(np.asarray(max_shift, float), 2))
    dy, dx, peak, q = _peak_from_cross_power(A, B, ref.shape, sigma, ms)
    return Shift((dy, dx), px, peak, q, 1.0, "phase")


def _masked_ncc(ref, mov, mref, mmov, min_overlap):
    """NCC surface for every integer shift (linear, not circular), and the overlap counts."""
    ny, nx = ref.shape
    my, mx = mov.shape
    shape = (ny + my - 1, nx + mx - 1)
    fshape = tuple(sfft.next_fast_len(s, real=True) for s in shape)
    f = np.where(mref, ref, 0).astype(np.float64)
    m = np.where(mmov, mov, 0).astype(np.float64)
    mf, mm = mref.astype(np.float64), mmov.astype(np.float64)
    # correlate: C[u] = sum_p a[p] b[p - u]  ->  conv(a, flip(b)); flip moving
    m, mm = m[::-1, ::-1], mm[::-1, ::-1]

    def F(a):
        return sfft.rfft2(a, fshape, workers=_workers())

    def inv(X):
        return sfft.irfft2(X, fshape, workers=_workers())[:shape[0], :shape[1]]

    Ff, Fmf, Ff2 = F(f), F(mf), F(f * f)
    Fm, Fmm, Fm2 = F(m), F(mm), F(m * m)
    n = np.round(inv(Fmf * Fmm))
    sf = inv(Ff * Fmm)
    sm = inv(Fmf * Fm)
    sff = inv(Ff2 * Fmm)
    smm = inv(Fmf * Fm2)
    sfm = inv(Ff * Fm)
    with np.errstate(divide="ignore", invalid="ignore"):
        num = sfm - sf * sm / n
        den = (sff - sf * sf / n) * (smm - sm * sm / n)
        ncc = num / np.sqrt(np.maximum(den, 0))
    small = min(mref.sum(), mmov.sum())
    eps = np.finfo(float).eps * 1e3 * max(1.0, float(np.abs(sff).max()), float(np.abs(smm).max()))
    bad = (n < max(min_overlap * small, 4)) | ~np.isfinite(ncc) | (den <= eps)
    ncc[bad] = -np.inf
    # index u of C corresponds to shift (u - (my - 1)) of the moving image's content
    return ncc, n, (my - 1, mx - 1), small


def masked_correlation(reference, moving, reference_mask=None, moving_mask=None, *,
                       min_overlap: float = 0.3, refine: bool = True, sigma: float = 1.5,
                       max_shift=None, channel=0) -> Shift:
    """Translation by masked normalised cross-correlation (partial overlap, missing data).

    Parameters
    ----------
    reference, moving : Image or 2D array
        Images of the same pixel size; their shapes may differ. NaN pixels count as masked.
    reference_mask, moving_mask : bool array, optional
        True where a pixel is valid (default: every finite pixel).
    min_overlap : float
        Smallest accepted overlap, as a fraction of the smaller mask's valid pixels.
    refine : bool
        Refine the sub-pixel position by :func:`phase_correlation` on the overlapping
        rectangle (when it is at least 16×16 pixels and fully valid); otherwise the vertex of
        the parabola through the NCC peak.
    sigma : float
        See :func:`phase_correlation` (refinement).
    max_shift : float or (float, float), optional
        Largest accepted |shift| per axis, pixels.

    Returns
    -------
    Shift
        ``shift`` to apply to ``moving`` so that its pixel ``[0, 0]`` lands on the reference's
        pixel ``shift``: for images of the same shape, the usual translation. ``peak`` is the
        NCC at the peak, ``overlap`` the overlapping fraction of the smaller mask, ``quality``
        the peak's z-score on the NCC surface.
    """
    ref, rpx = _as_array(reference, "reference", channel)
    mov, mpx = _as_array(moving, "moving", channel)
    if rpx is not None and mpx is not None and not np.allclose(rpx, mpx, rtol=1e-6, atol=0):
        raise InputError(f"pixel sizes differ: {rpx} and {mpx} m", field="moving",
                         expected="the same pixel size (resample one image first)")
    px = rpx if rpx is not None else mpx
    mref = np.isfinite(ref) if reference_mask is None else (
        np.asarray(reference_mask, bool) & np.isfinite(ref))
    mmov = np.isfinite(mov) if moving_mask is None else (
        np.asarray(moving_mask, bool) & np.isfinite(mov))
    for name, mask, img in (("reference_mask", mref, ref), ("moving_mask", mmov, mov)):
        if mask.shape != img.shape:
            raise InputError(f"mask of shape {mask.shape} for an image of {img.shape}",
                             field=name, expected="a mask of the image's shape")
        if mask.sum() < 16:
            raise InputError(f"only {int(mask.sum())} valid pixels", field=name,
                             expected="at least 16 valid pixels")
    if not 0 < min_overlap <= 1:
        raise InputError(f"min_overlap {min_overlap}", field="min_overlap",
                         expected="a fraction in (0, 1]")
    ref0 = np.where(mref, ref, 0)
    mov0 = np.where(mmov, mov, 0)
    ncc, n, (oy, ox), small = _masked_ncc(ref0, mov0, mref, mmov, min_overlap)
    if max_shift is not None:
        ms = np.broadcast_to(np.asarray(max_shift, float), 2)
        uy = np.arange(ncc.shape[0]) - oy
        ux = np.arange(ncc.shape[1]) - ox
        far = (np.abs(uy)[:, None] > ms[0]) | (np.abs(ux)[None, :] > ms[1])
        ncc[far] = -np.inf
    if not np.isfinite(ncc).any():
        raise InputError("the images never overlap by the required fraction", field="min_overlap",
                         expected=f"an overlap of at least {min_overlap:.0%} (lower it, or give "
                         "images that overlap)")
    flat = int(np.argmax(ncc))
    i, j = divmod(flat, ncc.shape[1])
    c0 = float(ncc[i, j])

    def vertex(cm, cp):
        if not (np.isfinite(cm) and np.isfinite(cp)):
            return 0.0
        den = cm - 2 * c0 + cp
        return float(np.clip(0.5 * (cm - cp) / den, -0.5, 0.5)) if den < 0 else 0.0

    ny, nx = ncc.shape
    fy = vertex(ncc[i - 1, j] if i > 0 else np.nan, ncc[i + 1, j] if i + 1 < ny else np.nan)
    fx = vertex(ncc[i, j - 1] if j > 0 else np.nan, ncc[i, j + 1] if j + 1 < nx else np.nan)
    uy, ux = i - oy, j - ox   # the moving image's content sits at +u in the reference
    finite = ncc[np.isfinite(ncc)]
    med = float(np.median(finite))
    mad = float(np.median(np.abs(finite - med))) * 1.4826
    q = (c0 - med) / mad if mad > 0 else math.inf
    overlap = float(n[i, j] / small)
    shift = (float(uy + fy), float(ux + fx))
    if refine:
        # overlapping rectangle at the integer shift: reference [y0:y1], moving [y0-uy:y1-uy]
        y0, y1 = max(0, uy), min(ref.shape[0], mov.shape[0] + uy)
        x0, x1 = max(0, ux), min(ref.shape[1], mov.shape[1] + ux)
        if y1 - y0 >= 16 and x1 - x0 >= 16:
            r = ref[y0:y1, x0:x1]
            m = mov[y0 - uy:y1 - uy, x0 - ux:x1 - ux]
            ok = mref[y0:y1, x0:x1].all() and mmov[y0 - uy:y1 - uy, x0 - ux:x1 - ux].all()
            if ok:
                s = phase_correlation(r, m, sigma=sigma, max_shift=2)
                if abs(s.shift[0]) <= 1 and abs(s.shift[1]) <= 1:
                    shift = (uy + s.shift[0], ux + s.shift[1])
    return Shift(shift, px, c0, float(q), overlap, "masked-ncc")


# ================================================================== resampling


def shift_image(image, shift, *, order: int = 3, mode: str = "nearest", cval: float = np.nan):
    """Translate an image by ``shift = (dy, dx)`` pixels (spline interpolation).

    ``shift_image(moving, phase_correlation(ref, moving).shift)`` lays ``moving`` on ``ref``.
    Returns the same type it was given (an Image keeps its coordinates: the pixels move, the
    frame does not). ``mode``/``cval`` as :func:`scipy.ndimage.shift`.
    """
    if isinstance(image, Image):
        data = np.asarray(image.data, np.float32)
        if data.ndim == 3:
            out = np.stack([ndi.shift(d, shift, order=order, mode=mode, cval=cval)
                            for d in data])
        else:
            out = ndi.shift(data, shift, order=order, mode=mode, cval=cval)
        return image.with_data(out.astype(np.float32))
    return ndi.shift(np.asarray(image, np.float32), shift, order=order, mode=mode,
                     cval=cval).astype(np.float32)


@dataclass(frozen=True)
class Transform2D:
    """A similarity transform from a moving image to a reference: rotation, scale, shift.

    A moving-image pixel position ``p`` (``(y, x)``, pixels) lands on the reference at
    ``s R(θ) (p - c) + c + t``, with ``c`` the image centre ``((ny - 1)/2, (nx - 1)/2)``,
    ``θ`` = :attr:`rotation` (radians, counter-clockwise as displayed with y downwards is
    clockwise; positive θ turns +x towards +y), ``s`` = :attr:`scale` and ``t`` =
    :attr:`shift` (pixels).
    """

    rotation: float = 0.0
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    peak: float = math.nan
    quality: float = math.nan
    pixel_size: tuple[float, float] | None = None

    @property
    def rotation_deg(self) -> float:
        return math.degrees(self.rotation)

    def matrix(self) -> np.ndarray:
        """The 2×2 linear part ``s R(θ)`` acting on ``(y, x)``."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        return self.scale * np.array([[c, s], [-s, c]])

    def apply(self, image, *, order: int = 1, cval: float = np.nan):
        """Resample ``image`` (moving) onto the reference grid (same shape)."""
        if isinstance(image, Image):
            data = np.asarray(image.data, np.float32)
            out = (np.stack([self._warp(d, order, cval) for d in data]) if data.ndim == 3
                   else self._warp(data, order, cval))
            return image.with_data(out)
        return self._warp(np.asarray(image, np.float32), order, cval)

    def _warp(self, img, order, cval):
        centre = (np.asarray(img.shape, float) - 1) / 2
        Ainv = np.linalg.inv(self.matrix())
        # output q (reference) -> input p = A^-1 (q - c - t) + c
        offset = centre - Ainv @ (centre + np.asarray(self.shift))
        return ndi.affine_transform(img, Ainv, offset=offset, order=order, mode="constant",
                                    cval=cval).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"rotation_rad": self.rotation, "rotation_deg": self.rotation_deg,
                "scale": self.scale, "shift_px": list(self.shift), "peak": self.peak,
                "quality": self.quality}


def warp_image(image, transform: Transform2D, **kwargs):
    """``transform.apply(image)``: resample a moving image onto the reference grid."""
    return transform.apply(image, **kwargs)


def _log_polar(mag: np.ndarray, n_angles: int, n_radii: int) -> tuple[np.ndarray, float]:
    ny, nx = mag.shape
    cy, cx = ny // 2, nx // 2
    rmax = min(cy, cx) * 0.9
    log_base = math.exp(math.log(rmax) / n_radii)
    theta = np.linspace(0, np.pi, n_angles, endpoint=False)
    r = log_base ** np.arange(n_radii)
    yy = cy + r[None, :] * np.sin(theta)[:, None]
    xx = cx + r[None, :] * np.cos(theta)[:, None]
    out = ndi.map_coordinates(mag, [yy, xx], order=1, mode="constant")
    return out.astype(np.float32), log_base


def register_rotation_scale(reference, moving, *, scale: bool = True, sigma: float = 1.5,
                            channel=0) -> Transform2D:
    """Rotation, isotropic scale and translation that lay ``moving`` on ``reference``.

    The Fourier magnitudes (translation-invariant) of the windowed, high-pass-emphasised images
    are resampled on a log-polar grid where rotation and scale become shifts, found by
    :func:`phase_correlation`; the moving image is then rotated and scaled, and its translation
    found the same way (both 180°-ambiguous rotations are tried, the better peak is kept).

    Parameters
    ----------
    reference, moving : Image or 2D array
        Images of the same shape (and pixel size).
    scale : bool
        Estimate the scale too (else fixed at 1).

    Returns
    -------
    Transform2D
        ``rotation`` (rad), ``scale``, ``shift`` (pixels) and the final translation peak.

    Notes
    -----
    Reliable for rotations of any angle and scales within about 0.5-2 on images with
    texture at many orientations; the rotation is resolved to about 0.1° on 256² images.
    """
    ref, rpx = _as_array(reference, "reference", channel)
    mov, mpx = _as_array(moving, "moving", channel)
    px = _check_pair(ref, mov, rpx, mpx)
    n = min(ref.shape)
    w = _window(ref.shape, 1.0)

    def magnitude(img):
        F = sfft.fftshift(np.abs(sfft.fft2((img - img.mean()) * w, workers=_workers())))
        fy = sfft.fftshift(sfft.fftfreq(img.shape[0]))[:, None]
        fx = sfft.fftshift(sfft.fftfreq(img.shape[1]))[None, :]
        # high-pass emphasis (Reddy & Chatterji): suppress the low-frequency cross
        ch = np.cos(np.pi * fy) * np.cos(np.pi * fx)
        return F * (1 - ch) * (2 - ch)

    n_angles, n_radii = max(180, 2 * n), max(64, n)
    lr, base = _log_polar(magnitude(ref), n_angles, n_radii)
    lm, _ = _log_polar(magnitude(mov), n_angles, n_radii)
    s = phase_correlation(lr, lm, sigma=sigma, window=0.25 if scale else 0.25,
                          max_shift=(n_angles / 2, n_radii / 2 if scale else 0.5))
    angle = s.shift[0] * np.pi / n_angles
    sc = base ** (-s.shift[1]) if scale else 1.0
    best = None
    for theta in (angle, angle + np.pi):
        t0 = Transform2D(float(theta), float(sc), (0.0, 0.0))
        rotated = t0.apply(mov, order=1, cval=np.nan)
        valid = np.isfinite(rotated)
        fill = np.where(valid, rotated, np.float32(np.nanmean(rotated)))
        sh = masked_correlation(ref, fill, None, valid, min_overlap=0.3, refine=True,
                                sigma=sigma)
        if best is None or sh.peak > best[1].peak:
            best = (theta, sh)
    theta, sh = best
    theta = (theta + np.pi) % (2 * np.pi) - np.pi
    return Transform2D(float(theta), float(sc), sh.shift, sh.peak, sh.quality, px)


# ================================================================== stacks


@dataclass(frozen=True, kw_only=True)
class StackRegistration(Result):
    """Drift of the slices of a stack, from pairwise registration.

    Attributes
    ----------
    drift : ndarray (n, 2)
        Displacement ``(dy, dx)`` of each slice's content relative to slice 0, pixels (slice 0
        is ``(0, 0)``). Apply ``-drift`` to align.
    pair_shifts : ndarray (n - 1, 2)
        Measured displacement of slice ``k + 1`` relative to slice ``k``, pixels, before
        outlier replacement.
    quality : ndarray (n - 1,)
        Peak z-score of each pair.
    outliers : ndarray of int
        Pairs whose shift was replaced (index ``k``: the pair ``(k, k + 1)``).
    pixel_size : tuple of 2 float
        ``(dy, dx)``, m.
    reference : str
        ``"previous"`` (cumulative) or ``"first"``.
    region : tuple or None
        The pixel box registered.
    """

    drift: np.ndarray
    pair_shifts: np.ndarray
    quality: np.ndarray
    outliers: np.ndarray
    pixel_size: tuple[float, float]
    reference: str = "previous"
    region: tuple[int, int, int, int] | None = None

    @property
    def drift_m(self) -> np.ndarray:
        """:attr:`drift` in metres."""
        return self.drift * np.asarray(self.pixel_size)[None, :]

    def plot(self, ax=None):
        """Drift curve: cumulative drift in y and x per slice (nm), outliers marked."""
        ax = new_axes(ax)
        k = np.arange(len(self.drift))
        d = self.drift_m * 1e9
        ax.plot(k, d[:, 0], "-", label="y drift")
        ax.plot(k, d[:, 1], "-", label="x drift")
        if len(self.outliers):
            o = np.asarray(self.outliers) + 1
            ax.plot(o, d[o, 0], "rx", label="replaced (outlier)")
            ax.plot(o, d[o, 1], "rx")
        ax.set_xlabel("slice")
        ax.set_ylabel("drift (nm)")
        ax.set_title(self.title or "stack registration")
        ax.legend(fontsize=8)
        return ax


def _robust_replace(pairs: np.ndarray, quality: np.ndarray, window: int, threshold: float,
                    min_quality: float) -> tuple[np.ndarray, np.ndarray]:
    """Replace pair shifts that are far from their neighbours' median or have a weak peak."""
    n = len(pairs)
    out = pairs.copy()
    bad = np.zeros(n, bool)
    if n == 0:
        return out, np.zeros(0, int)
    half = max(1, window // 2)
    med = np.empty_like(pairs)
    for k in range(n):
        lo, hi = max(0, k - half), min(n, k + half + 1)
        nb = np.delete(pairs[lo:hi], k - lo, axis=0) if hi - lo > 1 else pairs[lo:hi]
        med[k] = np.median(nb, axis=0)
    dev = np.abs(pairs - med)
    mad = np.median(dev, axis=0) * 1.4826
    scale = np.maximum(mad, 0.25)
    bad |= np.any(dev > threshold * scale[None, :], axis=1)
    bad |= quality < min_quality
    if n > 2 * half and bad.all():
        bad[:] = False
    out[bad] = med[bad]
    return out, np.flatnonzero(bad)


def register_stack(stack, *, region=None, reference: str = "previous", channel=0,
                   sigma: float = 1.5, window: float = 0.25, max_shift=None,
                   outlier_threshold: float = 6.0, outlier_window: int = 5,
                   min_quality: float = MIN_QUALITY, progress: bool = False
                   ) -> StackRegistration:
    """Drift of every slice of a stack by phase correlation.

    Parameters
    ----------
    stack : ImageStack or (z, y, x) array
        The slices (an array is taken in pixel units: pixel size 1 m is then *not* assumed;
        give an ImageStack for drift in metres).
    region : (y0, y1, x0, x1), optional
        Pixel box registered in every slice: fiducial marks or the protective layer (which do
        not move with the milled face: the drift alone), or the cross-section (drift plus the
        shear of the milling geometry). Default: the whole slice.
    reference : {"previous", "first"}
        ``"previous"``: each slice against the one before, drift = cumulative sum (follows a
        slowly changing structure). ``"first"``: then each slice against slice 0, its box moved
        by the whole pixels of that drift (no accumulated error, large drifts allowed; for
        fixed features such as fiducials).
    sigma, window, max_shift
        See :func:`phase_correlation`.
    outlier_threshold : float
        A pair shift further than this many robust standard deviations (at least 0.25 px)
        from the median of its ``outlier_window`` neighbours is replaced by that median.
    min_quality : float
        Pairs with a weaker peak (z-score) are replaced too.
    progress : bool
        Show a progress bar.

    Returns
    -------
    StackRegistration
        Drift per slice (pixels and m), pair shifts, peak qualities, replaced pairs; ``plot()``
        draws the drift curve.
    """
    from ._progress import progress_bar

    st = stack if isinstance(stack, ImageStack) else as_stack(stack, pixel_size=1e-9)
    if reference not in ("previous", "first"):
        raise InputError(f"reference {reference!r}", field="reference",
                         expected="'previous' or 'first'")
    n = len(st)
    if n < 2:
        raise InputError(f"a stack of {n} slice", field="stack", expected="at least 2 slices")
    data = st.channel(channel)
    shape2 = st.shape[1:]
    sy, sx = _region_slices(region, shape2)
    sub = (sy.stop - sy.start, sx.stop - sx.start)
    w = _window(sub, float(window))
    ms = None if max_shift is None else tuple(np.broadcast_to(np.asarray(max_shift, float), 2))

    def spec(k):
        img = np.asarray(data[k, sy, sx], dtype=np.float32)
        if not np.all(np.isfinite(img)):
            raise InputError(f"slice {k} has NaN or infinite pixels", file=st.source,
                             field=f"slices[{k}]", expected="finite intensities")
        return _spectrum(img, w)

    pairs = np.zeros((n - 1, 2))
    qual = np.zeros(n - 1)
    prev = spec(0)
    bar = progress_bar(total=n - 1, desc="registration", unit="slice", enabled=progress)
    for k in range(1, n):
        B = spec(k)
        dy, dx, _, q = _peak_from_cross_power(prev, B, sub, sigma, ms)
        pairs[k - 1] = (-dy, -dx)        # displacement of slice k's content
        qual[k - 1] = q
        prev = B
        bar.update()
    bar.close()
    diagnostics = []
    fixed, outliers = _robust_replace(pairs, qual, outlier_window, outlier_threshold,
                                      min_quality)
    # a bad slice spoils the pairs on both sides: bridge it (its neighbours registered
    # directly, the slice itself placed halfway)
    bad = set(int(j) for j in outliers)
    for j in sorted(bad):
        if j + 1 in bad and j + 2 < n:
            dy, dx, _, q = _peak_from_cross_power(spec(j), spec(j + 2), sub, sigma, ms)
            if q >= min_quality:
                fixed[j] = fixed[j + 1] = (-dy / 2, -dx / 2)
    drift = np.vstack([np.zeros((1, 2)), np.cumsum(fixed, axis=0)])
    if reference == "first":
        # second pass: every slice against slice 0, its box moved by the whole-pixel part of the
        # sequential drift so that the same features are compared (no accumulated error)
        ref_img = np.asarray(data[0], dtype=np.float32)
        absolute = np.zeros((n, 2))
        qual = np.zeros(n - 1)
        for k in range(1, n):
            o = np.round(drift[k]).astype(int)
            y0 = max(sy.start, -o[0])
            y1 = min(sy.stop, shape2[0] - o[0])
            x0 = max(sx.start, -o[1])
            x1 = min(sx.stop, shape2[1] - o[1])
            if y1 - y0 < 8 or x1 - x0 < 8:
                absolute[k] = drift[k]
                continue
            r = ref_img[y0:y1, x0:x1]
            m = np.asarray(data[k, y0 + o[0]:y1 + o[0], x0 + o[1]:x1 + o[1]], np.float32)
            wk = _window(r.shape, float(window))
            dy, dx, _, q = _peak_from_cross_power(_spectrum(r, wk), _spectrum(m, wk), r.shape,
                                                  sigma, (3, 3))
            absolute[k] = o + (-dy, -dx)
            qual[k - 1] = q
        pairs = np.diff(absolute, axis=0)
        fixed_inc, outliers = _robust_replace(pairs, qual, outlier_window, outlier_threshold,
                                              min_quality)
        drift = absolute.copy()
        for k in outliers:
            # rebuild the replaced slice from its predecessor and the median increment
            drift[k + 1] = drift[k] + fixed_inc[k]
    if len(outliers):
        diagnostics.append(Diagnostic(
            "data-quality", f"{len(outliers)} of {n - 1} slice pairs had an outlying shift or a "
            f"weak correlation peak (pairs {', '.join(str(int(k)) for k in outliers[:10])}"
            f"{'…' if len(outliers) > 10 else ''}); their shift was replaced by the median of "
            "their neighbours", fields=("drift",)))
    if np.mean(qual < min_quality) > 0.5:
        diagnostics.append(Diagnostic(
            "failed", "most slice pairs have no distinct correlation peak: the drift is not "
            "measured (choose a region with structure, or fiducials)", fields=("drift",)))
    px = st.pixel_size
    total = drift[-1] * np.asarray(px)
    values = {
        "drift_y": Value("drift_y", float(total[0]), math.nan, "m", "total drift y"),
        "drift_x": Value("drift_x", float(total[1]), math.nan, "m", "total drift x"),
        "n_outliers": Value("n_outliers", float(len(outliers)), 0.0, "", "replaced pairs"),
    }
    prov = Provenance.build("imaging.register_stack", [st.source] if st.source and
                            _isfile(st.source) else [],
                            {"region": region, "reference": reference, "sigma": sigma,
                             "window": window, "outlier_threshold": outlier_threshold,
                             "channel": channel})
    reg = tuple(int(v) for v in region) if region is not None else None
    return StackRegistration(values=values, provenance=prov, title="FIB-SEM stack drift",
                             diagnostics=tuple(diagnostics), drift=drift, pair_shifts=pairs,
                             quality=qual, outliers=np.asarray(outliers, int), pixel_size=px,
                             reference=reference, region=reg)


def _isfile(path) -> bool:
    import os

    return bool(path) and os.path.isfile(path)

