"""Preprocessing of FIB-SEM stacks: viewing geometry (shear and foreshortening), alignment with
cropping to the common field of view, curtaining removal and shading correction.

FIB-SEM geometry (the convention of every function here)
-------------------------------------------------------
The FIB mills the cross-section face slice by slice, ``t`` (the slice thickness) deeper into the
sample along z each time; the SEM images the face at the **viewing angle θ** between its beam and
the face (54° on a Zeiss Crossbeam, 52° on FEI/Thermo dual beams; 90° would be a head-on view).
Two consequences, in an image whose rows (y) grow downwards and whose pixel size ``dy`` is the
SEM's (projected) one:

* **foreshortening**: a depth ``d`` below the sample surface spans ``d sin θ / dy`` rows; the true
  depth per row is ``dy / sin θ`` (y stretched by ``1 / sin θ``: 1.236 at 54°, 1.269 at 52°);
* **shear**: each new slice moves the face ``t`` away, which moves its content by
  ``t cos θ / dy`` rows in the image: ``direction × t cos θ / dy`` rows per slice, ``direction =
  -1`` when the face content moves up (towards row 0, the usual case for a face below the
  protective layer seen from above), ``+1`` when the image is flipped. In the corrected (depth)
  frame this is ``t cot θ`` per slice, in metres. The protective layer and fiducial marks on the
  top surface do not move with the face: registering on them gives the drift alone.

:func:`align_stack` undoes both (and the drift) with one interpolation per slice: slice ``k`` is
resampled at ``y + drift_y(k) + direction k t cos θ / dy`` and ``x + drift_x(k)``, rows stretched
by ``1 / sin θ`` (pixel size ``dy / sin θ``, or resampled to a chosen ``dy``), and cropped to the
region every slice covers (and to the region of interest). The output y axis is depth in the
frame of slice 0; its ``origin`` says where the first row is.

Curtaining and shading
----------------------
:func:`destripe` removes vertical stripes (the milling direction is along y) by damping the
Fourier band ``|f_y| ≈ 0`` of the mirror-padded image, except at the lowest ``f_x`` (shading),
or by the wavelet-FFT filter of Münch et al. (Opt. Express 17 (2009) 8567).
:func:`correct_background` divides (or subtracts) a smooth background: a robust low-order
polynomial fitted to block medians, or a large Gaussian.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy import ndimage as ndi

from ..errors import InputError
from .image import Image, ImageStack, as_stack

__all__ = [
    "FibsemGeometry",
    "align_stack",
    "common_field_of_view",
    "correct_background",
    "destripe",
]


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class FibsemGeometry:
    """The FIB-SEM viewing geometry (see the module docstring for the convention).

    Parameters
    ----------
    angle : float
        Viewing angle θ between the SEM beam and the milled face, degrees, in (0, 90).
    slice_thickness : float
        Distance ``t`` between consecutive faces, m.
    direction : {-1, +1}
        Sign of the face content's motion along image y per slice (-1: upwards).

    Examples
    --------
    >>> g = FibsemGeometry(54.0, 20e-9)
    >>> round(g.stretch, 4), round(g.shear_px(20e-9), 4)
    (1.2361, -0.5878)
    """

    angle: float
    slice_thickness: float
    direction: int = -1

    def __post_init__(self) -> None:
        try:
            a = float(self.angle)
        except (TypeError, ValueError):
            a = math.nan
        if not 0 < a < 90:
            raise InputError(f"viewing angle {self.angle!r}°", field="angle",
                             expected="an angle between the SEM beam and the milled face in "
                             "(0, 90) degrees, e.g. 54 (Zeiss) or 52 (FEI/Thermo)")
        object.__setattr__(self, "angle", a)
        t = self.slice_thickness
        if t is None or not (isinstance(t, (int, float, np.floating)) and 0 < t < 1e-3):
            raise InputError(f"slice thickness {t!r}", field="slice_thickness",
                             expected="the distance between slices in m (e.g. 20e-9)")
        if self.direction not in (-1, 1):
            raise InputError(f"direction {self.direction!r}", field="direction",
                             expected="-1 (face content moves up) or +1")

    @property
    def stretch(self) -> float:
        """``1 / sin θ``: true depth per projected length."""
        return 1.0 / math.sin(math.radians(self.angle))

    def shear_px(self, pixel_size_y: float) -> float:
        """Motion of the face content per slice along image y, raw rows (signed)."""
        return self.direction * self.slice_thickness * math.cos(math.radians(self.angle)) / (
            pixel_size_y)

    @property
    def shear_m(self) -> float:
        """Motion of the face content per slice in the corrected depth frame: ``t cot θ``, m
        (signed)."""
        return self.direction * self.slice_thickness / math.tan(math.radians(self.angle))

    @classmethod
    def from_shear(cls, shear_px: float, pixel_size_y: float, slice_thickness: float
                   ) -> FibsemGeometry:
        """The geometry implied by a measured shear (raw rows per slice)."""
        c = abs(shear_px) * pixel_size_y / slice_thickness
        if not 0 < c < 1:
            raise InputError(f"a shear of {shear_px:.3g} rows per slice", field="shear",
                             expected="a shear below t/dy rows per slice (cos θ < 1)")
        return cls(math.degrees(math.acos(c)), slice_thickness, -1 if shear_px < 0 else 1)


def _drift_array(drift, n: int) -> np.ndarray:
    if drift is None:
        return np.zeros((n, 2))
    d = getattr(drift, "drift", drift)
    d = np.asarray(d, dtype=float)
    if d.shape != (n, 2) or not np.all(np.isfinite(d)):
        raise InputError(f"drift of shape {d.shape}", field="drift",
                         expected=f"({n}, 2) finite displacements in pixels (one per slice)")
    return d


def _roi(roi, shape2) -> tuple[int, int, int, int]:
    if roi is None:
        return (0, shape2[0], 0, shape2[1])
    try:
        y0, y1, x0, x1 = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise InputError(f"roi {roi!r}", field="roi",
                         expected="(y0, y1, x0, x1) in pixels of slice 0") from None
    if not (0 <= y0 < y1 <= shape2[0] and 0 <= x0 < x1 <= shape2[1]):
        raise InputError(f"roi [{y0}:{y1}, {x0}:{x1}] outside a {shape2[0]}×{shape2[1]} slice",
                         field="roi", expected="a box inside the slices")
    return (y0, y1, x0, x1)


def common_field_of_view(shape2, displacements, *, roi=None, scale_y: float = 1.0
                         ) -> tuple[int, int, int, int]:
    """Output rows and columns ``(r0, r1, c0, c1)`` that every slice covers.

    Output row ``r`` of slice ``k`` samples raw row ``y0 - 0.5 + (r + 0.5) scale_y +
    D_k,y`` and column ``x0 + c + D_k,x`` (``D``: content displacement, pixels; ``(y0, y1, x0,
    x1)``: the region of interest in slice 0, rows ``[0, (y1 - y0) / scale_y)``).
    """
    ny, nx = shape2
    y0, y1, x0, x1 = _roi(roi, shape2)
    D = np.asarray(displacements, float)
    nr = int(math.floor((y1 - y0) / scale_y + 1e-9))
    nc = x1 - x0
    r_lo = np.ceil((0.0 - D[:, 0] - y0 + 0.5) / scale_y - 0.5 - 1e-9).max()
    r_hi = np.floor((ny - 1.0 - D[:, 0] - y0 + 0.5) / scale_y - 0.5 + 1e-9).min()
    c_lo = np.ceil(0.0 - D[:, 1] - x0 - 1e-9).max()
    c_hi = np.floor(nx - 1.0 - D[:, 1] - x0 + 1e-9).min()
    r0, r1 = int(max(0, r_lo)), int(min(nr - 1, r_hi)) + 1
    c0, c1 = int(max(0, c_lo)), int(min(nc - 1, c_hi)) + 1
    if r1 - r0 < 2 or c1 - c0 < 2:
        raise InputError(f"no common field of view: the slices move by up to "
                         f"{np.abs(D).max(axis=0).round(1).tolist()} pixels", field="drift",
                         expected="a drift smaller than the region of interest (check the "
                         "registration region and the viewing angle)")
    return r0, r1, c0, c1


def align_stack(stack, drift=None, *, angle: float | None = None, direction: int = -1,
                shear: bool = True, roi=None, pixel_size_y=None, order: int = 3,
                progress: bool = False) -> ImageStack:
    """Undo drift, shear and foreshortening in one interpolation per slice, and crop to the
    field of view every slice covers.

    Parameters
    ----------
    stack : ImageStack
        Raw slices with their pixel size (and slice thickness when ``angle`` is given).
    drift : StackRegistration or (n, 2) array, optional
        Displacement of each slice's content relative to slice 0, pixels (from
        :func:`~ionscale.imaging.registration.register_stack`, on fiducials when the shear is
        corrected here).
    angle : float, optional
        Viewing angle θ, degrees in (0, 90): correct the shear and stretch y by ``1 / sin θ``.
        None: drift only, the pixel size is kept.
    direction : {-1, +1}
        See :class:`FibsemGeometry`.
    shear : bool
        Apply the geometric shear (False when ``drift`` already holds it: a registration on
        the face itself, or a measured shear added to the drift).
    roi : (y0, y1, x0, x1), optional
        Region of interest in raw pixels of slice 0 (the face, without the protective layer).
    pixel_size_y : float or "isotropic", optional
        Output y pixel size, m. Default ``dy / sin θ`` (no resampling of rows: the pixel size
        changes); ``"isotropic"``: the x pixel size (rows are resampled).
    order : int
        Spline order of the interpolation (1: linear, 3: cubic).

    Returns
    -------
    ImageStack
        float32 slices on the corrected grid; ``origin`` in the frame of slice 0 (y: depth
        coordinate ``raw row × dy / sin θ``); ``metadata["history"]`` records the step.
    """
    from ._progress import progress_bar

    st = as_stack(stack)
    n = len(st)
    D = _drift_array(drift, n).copy()
    py, px = st.pixel_size
    stretch = 1.0
    shear_px = 0.0
    if angle is not None:
        if st.slice_thickness is None:
            raise InputError("the slice thickness is not known", file=st.source,
                             field="slice_thickness",
                             expected="the distance between slices (needed for the shear)")
        g = FibsemGeometry(angle, st.slice_thickness, direction)
        stretch = g.stretch
        shear_px = g.shear_px(py) if shear else 0.0
        D[:, 0] += shear_px * np.arange(n)
    dy_native = py * stretch
    if pixel_size_y is None:
        dy_out = dy_native
    elif isinstance(pixel_size_y, str):
        if pixel_size_y != "isotropic":
            raise InputError(f"pixel_size_y {pixel_size_y!r}", field="pixel_size_y",
                             expected="a size in m or 'isotropic'")
        dy_out = px
    else:
        dy_out = float(pixel_size_y)
        if not 0 < dy_out < 1e-3:
            raise InputError(f"pixel_size_y {pixel_size_y!r}", field="pixel_size_y",
                             expected="a size in m")
    f = dy_out / dy_native              # raw rows per output row
    y0, y1, x0, x1 = _roi(roi, st.shape[1:])
    r0, r1, c0, c1 = common_field_of_view(st.shape[1:], D, roi=(y0, y1, x0, x1), scale_y=f)
    out_shape = (r1 - r0, c1 - c0)
    data = st.data
    multi = data.ndim == 4
    out = np.empty((n, *((data.shape[1],) if multi else ()), *out_shape), np.float32)
    bar = progress_bar(total=n, desc="align", unit="slice", enabled=progress)

    def one(k):
        offset = (y0 - 0.5 + (r0 + 0.5) * f + D[k, 0], x0 + c0 + D[k, 1])
        planes = data[k] if multi else data[k][None]
        for c, plane in enumerate(planes):
            res = ndi.affine_transform(np.asarray(plane, np.float32), np.array([f, 1.0]),
                                       offset=offset, output_shape=out_shape, order=order,
                                       mode="nearest")
            if multi:
                out[k, c] = res
            else:
                out[k] = res
        bar.update()

    with ThreadPoolExecutor(_threads()) as pool:
        list(pool.map(one, range(n)))
    bar.close()
    oz, oy, ox = st.origin
    origin = (oz, oy + (y0 + r0 * f) * dy_native, ox + (x0 + c0) * px)
    step = {"step": "align", "angle_deg": angle, "direction": direction,
            "shear_px_per_slice": shear_px, "stretch": stretch, "roi": [y0, y1, x0, x1],
            "crop": [r0, r1, c0, c1], "pixel_size_y": dy_out, "order": order,
            "max_drift_px": np.abs(_drift_array(drift, n)).max(axis=0).tolist()}
    return st.with_data(out, pixel_size=(dy_out, px), origin=origin, step=step)


# ============================================================== curtaining (stripes)


def _stripe_filter(shape, sigma: float, keep: float) -> np.ndarray:
    """Multiplier on the rfft2 grid of ``shape``: 0 on the band f_y ≈ 0 (Gaussian of ``sigma``
    bins of the unpadded image), 1 elsewhere and at f_x ≈ 0 (Gaussian of ``keep`` bins)."""
    ny, nx = shape
    fy = sfft.fftfreq(ny)[:, None] * ny / 2      # bins of the unpadded image (padded 2×)
    fx = sfft.rfftfreq(nx)[None, :] * nx / 2
    band = np.exp(-0.5 * (fy / max(sigma, 1e-6)) ** 2)
    low = np.exp(-0.5 * (fx / keep) ** 2) if keep > 0 else (fx == 0).astype(float)
    return (1 - band * (1 - low)).astype(np.float32)


def _destripe_fft(img: np.ndarray, sigma: float, keep: float) -> np.ndarray:
    ny, nx = img.shape
    # mirror padding: the periodic image has no edge jumps (which would put energy on the band)
    pad = np.pad(img, ((0, ny), (0, nx)), mode="symmetric")
    F = sfft.rfft2(pad, workers=-1)
    F *= _stripe_filter(pad.shape, sigma, keep)
    return sfft.irfft2(F, s=pad.shape, workers=-1)[:ny, :nx].astype(np.float32)


# Daubechies scaling filters (orthonormal), for the wavelet-FFT method
_DB = {
    "haar": [0.7071067811865476, 0.7071067811865476],
    "db2": [0.48296291314469025, 0.836516303737469, 0.22414386804185735,
            -0.12940952255092145],
    "db3": [0.3326705529509569, 0.8068915093133388, 0.4598775021193313,
            -0.13501102001039084, -0.08544127388224149, 0.035226291882100656],
    "db4": [0.23037781330885523, 0.7148465705525415, 0.6308807679295904,
            -0.02798376941698385, -0.18703481171888114, 0.030841381835986965,
            0.032883011666982945, -0.010597401784997278],
}


def _filters(name: str):
    h = np.asarray(_DB[name])
    g = h[::-1] * (-1) ** np.arange(len(h))
    return h, g


def _dwt_axis(a: np.ndarray, h, g, axis: int):
    """One periodised analysis step along ``axis``: (low, high), each half the length."""
    n = a.shape[axis]
    lo = np.zeros_like(np.take(a, np.arange(0, n, 2), axis=axis))
    hi = np.zeros_like(lo)
    idx = np.arange(0, n, 2)
    for k in range(len(h)):
        part = np.take(a, (idx + k) % n, axis=axis)
        lo += h[k] * part
        hi += g[k] * part
    return lo, hi


def _idwt_axis(lo: np.ndarray, hi: np.ndarray, h, g, axis: int) -> np.ndarray:
    n = lo.shape[axis] * 2
    shape = list(lo.shape)
    shape[axis] = n
    out = np.zeros(shape, dtype=lo.dtype)
    idx = np.arange(0, n, 2)
    for k in range(len(h)):
        contrib = h[k] * lo + g[k] * hi
        # out[(idx + k) % n] += contrib  (along axis)
        target = (idx + k) % n
        sl = [slice(None)] * out.ndim
        sl[axis] = target          # distinct positions for one k (n is even)
        out[tuple(sl)] += contrib
    return out


def _destripe_wavelet(img: np.ndarray, sigma: float, levels: int, wavelet: str) -> np.ndarray:
    ny, nx = img.shape
    m = 2 ** levels
    py, px = (-ny) % m, (-nx) % m
    a = np.pad(img.astype(np.float64), ((0, py + 0), (0, px + 0)), mode="symmetric")
    h, g = _filters(wavelet)
    details = []
    for _ in range(levels):
        lo_x, hi_x = _dwt_axis(a, h, g, 1)       # along x
        ll, lh = _dwt_axis(lo_x, h, g, 0)         # low x: along y
        hl, hh = _dwt_axis(hi_x, h, g, 0)         # high x: along y
        # vertical details (high in x, low in y) hold the stripes: damp f_y ≈ 0 along y
        F = np.fft.rfft(hl, axis=0)
        k = np.arange(F.shape[0])[:, None]
        F *= 1 - np.exp(-(k ** 2) / (2 * sigma ** 2))
        hl = np.fft.irfft(F, n=hl.shape[0], axis=0)
        details.append((lh, hl, hh))
        a = ll
    for lh, hl, hh in reversed(details):
        lo_x = _idwt_axis(a, lh, h, g, 0)
        hi_x = _idwt_axis(hl, hh, h, g, 0)
        a = _idwt_axis(lo_x, hi_x, h, g, 1)
    return a[:ny, :nx].astype(np.float32)


def destripe(image, *, method: str = "fft", sigma: float = 2.0, keep: float = 0.0,
             levels: int = 4, wavelet: str = "db3", progress: bool = False):
    """Remove vertical curtaining stripes (constant along y, the milling direction).

    Parameters
    ----------
    image : Image, ImageStack or array (2D, or 3D as slices)
        The images, stripes vertical (rotate first if the FIB mills along x).
    method : {"fft", "wavelet-fft"}
        ``"fft"``: the Fourier band ``|f_y| ≲ sigma`` bins is removed from the mirror-padded
        image except at ``|f_x| ≲ keep`` bins (the shading), everything else untouched.
        ``"wavelet-fft"``: Münch et al. 2009: the vertical detail coefficients of a ``levels``-
        level Daubechies decomposition are damped near ``f_y = 0`` with a Gaussian of ``sigma``.
    sigma : float
        Half-width of the stripe band along f_y, in frequency bins of the image (1 bin =
        ``1 / ny`` cycles per pixel). Stripes that fade along y need a wider band.
    keep : float
        Half-width along f_x of the band kept untouched, bins (0: only ``f_x = 0``, the
        mean of each row, is kept; curtains often have a large-scale component, so keeping
        more leaves part of them; the column-to-column shading goes with them and the
        shading correction is not needed for it).
    levels, wavelet
        Decomposition depth and filter (``"haar"``, ``"db2"``, ``"db3"``, ``"db4"``) of the
        wavelet-FFT method.

    Returns
    -------
    Same type as ``image``, float32.

    Notes
    -----
    Both methods are linear, so what they leave of the stripes is the filter applied to the
    stripes alone. On the synthetic curtaining of
    :func:`ionscale.datasets.synthetic_fibsem.render_fibsem` (stripes 0.6-2.5 px wide, fading
    slowly along y), ``"fft"`` divides the stripe amplitude by several hundred and changes
    the power of the image outside the band ``|f_y| > 3 sigma`` by about 0.3 dB;
    ``"wavelet-fft"`` changes the image less (0.001 dB) but divides the stripes by 2-3 only
    (the coarsest approximation keeps their large-scale part).
    """
    from ._progress import progress_bar

    if method not in ("fft", "wavelet-fft"):
        raise InputError(f"method {method!r}", field="method",
                         expected="'fft' or 'wavelet-fft'")
    if method == "wavelet-fft" and wavelet not in _DB:
        raise InputError(f"wavelet {wavelet!r}", field="wavelet", expected=f"one of {list(_DB)}")
    if not sigma > 0:
        raise InputError(f"sigma {sigma!r}", field="sigma", expected="a positive band width")

    def one(a):
        a = np.asarray(a, np.float32)
        if method == "fft":
            return _destripe_fft(a, sigma, keep)
        return _destripe_wavelet(a, sigma, int(levels), wavelet)

    if isinstance(image, Image):
        d = image.data
        out = np.stack([one(p) for p in d]) if d.ndim == 3 else one(d)
        return image.with_data(out)
    if isinstance(image, ImageStack):
        data = image.data
        out = np.empty(data.shape, np.float32)
        bar = progress_bar(total=len(image), desc="destripe", unit="slice", enabled=progress)
        flat = data.reshape(-1, *data.shape[-2:])
        res = out.reshape(-1, *data.shape[-2:])
        for k in range(flat.shape[0]):
            res[k] = one(flat[k])
            if k % max(1, flat.shape[0] // len(image)) == 0:
                bar.update()
        bar.close()
        return image.with_data(out, step={"step": "destripe", "method": method,
                                          "sigma": sigma, "keep": keep})
    arr = np.asarray(image)
    if arr.ndim == 2:
        return one(arr)
    if arr.ndim == 3:
        return np.stack([one(p) for p in arr])
    raise InputError(f"array of shape {arr.shape}", field="image",
                     expected="a 2D image or a 3D stack of slices")


# ============================================================== shading (background)


def _poly_terms(y: np.ndarray, x: np.ndarray, degree: int) -> np.ndarray:
    cols = [y ** i * x ** j for i in range(degree + 1) for j in range(degree + 1 - i)]
    return np.stack(cols, axis=-1)


def _fit_polynomial(img: np.ndarray, degree: int, blocks: int, mask=None) -> np.ndarray:
    ny, nx = img.shape
    by, bx = max(1, ny // blocks), max(1, nx // blocks)
    nby, nbx = ny // by, nx // bx
    core = img[:nby * by, :nbx * bx].reshape(nby, by, nbx, bx)
    if mask is not None:
        mcore = np.asarray(mask)[:nby * by, :nbx * bx].reshape(nby, by, nbx, bx)
        core = np.where(mcore, core, np.nan)
    med = np.nanmedian(core, axis=(1, 3))
    yc = (np.arange(nby) + 0.5) * by / ny * 2 - 1
    xc = (np.arange(nbx) + 0.5) * bx / nx * 2 - 1
    Y, X = np.meshgrid(yc, xc, indexing="ij")
    A = _poly_terms(Y.ravel(), X.ravel(), degree)
    b = med.ravel()
    ok = np.isfinite(b)
    coef = np.zeros(A.shape[1])
    for _ in range(4):       # robust: drop blocks far from the fit (phase-rich blocks)
        if ok.sum() < A.shape[1]:
            break
        coef, *_ = np.linalg.lstsq(A[ok], b[ok], rcond=None)
        res = b - A @ coef
        s = 1.4826 * np.median(np.abs(res[ok])) + 1e-12
        new = np.isfinite(b) & (np.abs(res) < 3 * s)
        if np.array_equal(new, ok):
            break
        ok = new
    yy = (np.arange(ny) + 0.5) / ny * 2 - 1
    xx = (np.arange(nx) + 0.5) / nx * 2 - 1
    out = np.zeros((ny, nx))
    terms = [(i, j) for i in range(degree + 1) for j in range(degree + 1 - i)]
    for c, (i, j) in zip(coef, terms, strict=True):
        out += c * np.outer(yy ** i, xx ** j)
    return out.astype(np.float32)


def _background(img, method, degree, sigma, blocks, mask):
    if method == "polynomial":
        return _fit_polynomial(img, degree, blocks, mask)
    if mask is None:
        return ndi.gaussian_filter(img, sigma, mode="reflect").astype(np.float32)
    m = np.asarray(mask, np.float32)
    num = ndi.gaussian_filter(np.where(mask, img, 0).astype(np.float32), sigma, mode="reflect")
    den = ndi.gaussian_filter(m, sigma, mode="reflect")
    return (num / np.maximum(den, 1e-6)).astype(np.float32)


def correct_background(image, *, method: str = "polynomial", degree: int = 2,
                       sigma=None, mode: str = "divide", per_slice: bool = False,
                       blocks: int = 16, mask=None):
    """Remove a smooth background (shading, the intensity gradient of SE images).

    Parameters
    ----------
    image : Image, ImageStack or array
        One image or a stack of slices.
    method : {"polynomial", "gaussian"}
        ``"polynomial"``: a 2D polynomial of ``degree`` fitted to the medians of
        ``blocks × blocks`` blocks, robustly (blocks more than 3 robust σ from the fit are
        dropped and the fit repeated). ``"gaussian"``: a Gaussian of ``sigma``.
    degree : int
        Polynomial degree (2: a gradient and a bowl).
    sigma : float or str, optional
        Gaussian σ: pixels, or a length (``"2 um"``) for Images and stacks; default an eighth
        of the smaller side.
    mode : {"divide", "subtract"}
        Divide by the background (multiplicative shading, the default) or subtract it; the
        mean grey level is kept.
    per_slice : bool
        Stacks: fit each slice (True) or one background on the mean of all slices (False:
        structure averages out; the shading is fixed to the detector).
    mask : bool array, optional
        Pixels used in the fit (True), e.g. the face without the protective layer.

    Returns
    -------
    Same type as ``image``, float32.
    """
    if method not in ("polynomial", "gaussian"):
        raise InputError(f"method {method!r}", field="method",
                         expected="'polynomial' or 'gaussian'")
    if mode not in ("divide", "subtract"):
        raise InputError(f"mode {mode!r}", field="mode", expected="'divide' or 'subtract'")
    if method == "polynomial" and not (isinstance(degree, (int, np.integer)) and 0 <= degree
                                       <= 6):
        raise InputError(f"degree {degree!r}", field="degree", expected="an integer in 0-6")
    pixel = None
    if isinstance(image, (Image, ImageStack)):
        pixel = min(image.pixel_size)
    arr = image.data if isinstance(image, (Image, ImageStack)) else np.asarray(image)
    shape2 = arr.shape[-2:]
    if sigma is None:
        sig = min(shape2) / 8.0
    elif isinstance(sigma, str):
        from ..units import parse_quantity

        if pixel is None:
            raise InputError(f"sigma {sigma!r} in length units for a plain array",
                             field="sigma", expected="sigma in pixels (or an Image)")
        sig = parse_quantity(sigma, "m", field="sigma") / pixel
    else:
        sig = float(sigma)

    def fix(img, bg):
        img = np.asarray(img, np.float32)
        level = float(np.mean(bg))
        if mode == "divide":
            floor = max(abs(level) * 1e-3, 1e-12)
            return (img / np.maximum(np.abs(bg), floor) * level).astype(np.float32)
        return (img - bg + level).astype(np.float32)

    def run2d(img):
        return fix(img, _background(np.asarray(img, np.float32), method, degree, sig, blocks,
                                    mask))

    if arr.ndim == 2:
        out = run2d(arr)
    elif arr.ndim >= 3:
        planes = arr.reshape(-1, *shape2)
        if per_slice:
            out = np.stack([run2d(p) for p in planes])
        else:
            mean = np.mean(np.asarray(planes, np.float32), axis=0)
            bg = _background(mean, method, degree, sig, blocks, mask)
            out = np.stack([fix(p, bg) for p in planes])
        out = out.reshape(arr.shape)
    else:
        raise InputError(f"array of shape {arr.shape}", field="image",
                         expected="a 2D image or a stack of slices")
    if isinstance(image, ImageStack):
        return image.with_data(out, step={"step": "background", "method": method,
                                          "degree": degree, "sigma_px": sig, "mode": mode,
                                          "per_slice": per_slice})
    if isinstance(image, Image):
        return image.with_data(out)
    return out

