"""Line profiles from isotope-fraction maps, in physical coordinates.

:func:`extract_line` samples a :class:`~ionscale.tracer.data.FractionMap` along a segment given
in metres (the map's own frame: pixel size and origin), averaging across a width, with the
standard error of every point from the pixels' binomial errors (pixels shared by several points
counted once) or, when larger, from the scatter across the width. The grain-boundary step
analysis (:mod:`ionscale.tracer.grain_boundary`) works on these lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..results import new_axes
from ..units import parse_quantity
from .data import FractionMap, Profile

_UM = 1e6


# --------------------------------------------------------------------------------------------
# small validators
# --------------------------------------------------------------------------------------------


def _number(value, name: str, unit: str, *, positive: bool = False,
            non_negative: bool = False) -> float:
    v = parse_quantity(value, unit, field=name)
    if not math.isfinite(v):
        raise InputError(f"{name} = {value!r} is not finite", field=name,
                         expected=f"a finite number in {unit or '1'}")
    if positive and not v > 0:
        raise InputError(f"{name} = {value!r} is not positive", field=name,
                         expected=f"{name} > 0 ({unit or 'dimensionless'})")
    if non_negative and v < 0:
        raise InputError(f"{name} = {value!r} is negative", field=name,
                         expected=f"{name} >= 0 ({unit or 'dimensionless'})")
    return v


def _point(value, name: str) -> np.ndarray:
    try:
        p = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {value!r} as a point", field=name,
                         expected="(x, y) in m") from None
    if p.size != 2 or not np.all(np.isfinite(p)):
        raise InputError(f"{name} = {value!r} is not a finite (x, y) pair", field=name,
                         expected="(x, y) in m")
    return p


def _width(value, pixel: float) -> float:
    """Width in m from a number (m) or a string ('3 um', '5 px')."""
    if value is None:
        return 0.0
    if isinstance(value, str):
        text = value.strip().lower()
        for suffix in ("pixels", "pixel", "px"):
            if text.endswith(suffix):
                try:
                    n = float(text[: -len(suffix)])
                except ValueError:
                    raise InputError(f"cannot read width {value!r}", field="width",
                                     expected="'5 px' or a length such as '3 um'") from None
                if not (math.isfinite(n) and n >= 0):
                    raise InputError(f"width {value!r} is negative", field="width",
                                     expected="width >= 0")
                return n * pixel
    return _number(value, "width", "m", non_negative=True)


# --------------------------------------------------------------------------------------------
# line extraction
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineProfile:
    """An isotope-fraction profile sampled along a segment of a map.

    Attributes
    ----------
    x : ndarray
        Distance along the line from ``start``, m (points without a valid pixel are dropped).
    fraction : ndarray
        Mean fraction across the width at each point.
    sigma : ndarray
        Its standard error: the larger of ``sigma_binomial`` and ``sigma_scatter``.
    sigma_binomial : ndarray
        Standard error propagated exactly from the pixels' binomial σ (pixels shared by
        several samples are accounted for).
    sigma_scatter : ndarray
        Standard deviation of the samples across the width divided by √n (NaN with one sample).
    n_pixels : ndarray of int
        Distinct valid pixels that contributed to each point.
    points : ndarray
        ``(n, 2)`` physical ``(x, y)`` of each point on the centre line, m.
    start, end : tuple of float
        The segment's ends ``(x, y)``, m.
    width : float
        Width averaged across, m (0: the centre line only).
    spacing : float
        Step between points along the line, m.
    order : int
        0: nearest-pixel sampling; 1: bilinear.
    source : str, optional
        The map's file(s).
    """

    x: np.ndarray
    fraction: np.ndarray
    sigma: np.ndarray
    sigma_binomial: np.ndarray
    sigma_scatter: np.ndarray
    n_pixels: np.ndarray
    points: np.ndarray
    start: tuple[float, float]
    end: tuple[float, float]
    width: float
    spacing: float
    order: int
    source: str | None = None

    def __len__(self) -> int:
        return int(self.x.size)

    @property
    def length(self) -> float:
        """Length of the segment, m."""
        return float(math.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1]))

    def position(self, s) -> np.ndarray:
        """Physical ``(x, y)`` (m) of distance(s) ``s`` (m) along the line."""
        s = np.asarray(s, dtype=float)
        a, b = np.asarray(self.start), np.asarray(self.end)
        e = (b - a) / self.length
        return a + s[..., None] * e

    def as_profile(self) -> Profile:
        """The line as a :class:`~ionscale.tracer.data.Profile` (x = distance along it)."""
        return Profile(x=self.x, fraction=self.fraction, sigma=self.sigma, source=self.source,
                       metadata={"start_m": list(self.start), "end_m": list(self.end),
                                 "width_m": self.width, "order": self.order})

    def plot(self, ax=None):
        """The profile with its error bars, distance in µm; returns the Axes."""
        ax = new_axes(ax)
        ax.errorbar(self.x * _UM, self.fraction, yerr=self.sigma, fmt="o", ms=3,
                    elinewidth=0.6, color="C0")
        ax.set_xlabel("distance along the line (µm)")
        ax.set_ylabel("isotope fraction C")
        return ax


def _sample_weights(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], order: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Pixel indices ``(..., q)`` (−1 outside) and interpolation weights of sample points."""
    ny, nx = shape
    if order == 0:
        r = np.rint(rows).astype(np.int64)[..., None]
        c = np.rint(cols).astype(np.int64)[..., None]
        w = np.ones(r.shape)
    else:
        r0 = np.floor(rows).astype(np.int64)
        c0 = np.floor(cols).astype(np.int64)
        fr, fc = rows - r0, cols - c0
        r = np.stack([r0, r0 + 1, r0, r0 + 1], axis=-1)
        c = np.stack([c0, c0, c0 + 1, c0 + 1], axis=-1)
        w = np.stack([(1 - fr) * (1 - fc), fr * (1 - fc), (1 - fr) * fc, fr * fc], axis=-1)
    inside = (r >= 0) & (r < ny) & (c >= 0) & (c < nx)
    index = np.where(inside, r * nx + c, -1)
    return index, np.where(inside, w, 0.0)


def extract_line(
    fmap: FractionMap,
    start,
    end,
    *,
    width: float | str | None = None,
    spacing: float | str | None = None,
    order: int = 0,
) -> LineProfile:
    """Sample an isotope-fraction map along a segment, averaged across a width.

    Parameters
    ----------
    fmap : FractionMap
        The map; its ``pixel_size`` ``(dy, dx)`` and ``origin`` ``(y0, x0)`` (centre of pixel
        ``[0, 0]``) are in m. NaN pixels (no counts) are ignored.
    start, end : (float, float)
        Ends of the segment as physical ``(x, y)`` in m, in the frame of ``fmap.origin``. Note
        the order: points are ``(x, y)`` as on a plot, while the arrays are ``(y, x)``.
    width : float or str, optional
        Width averaged across the line, m (or ``"5 px"``, ``"3 um"``). Samples are taken across
        it every ``min(dy, dx)``: ``round(width / min(dy, dx))`` of them (at least one), centred
        on the line. ``None`` or 0: the centre line only.
    spacing : float or str, optional
        Step between points along the line, m; default ``min(dy, dx)``.
    order : {0, 1}
        Sampling of the map at each sample point: 0, the nearest pixel (default: every point
        is a mean of whole pixels, so the binomial errors stay exact along axis-aligned lines);
        1, bilinear interpolation of the fraction, with the weights renormalised over the valid
        neighbours (NaN pixels never leak into a value).

    Returns
    -------
    LineProfile
        Points along the line (distance from ``start``, m) with the mean fraction across the
        width and its standard error: the error propagated from the pixels' σ through the
        sampling weights (exact even where samples share a pixel) or, if larger, the scatter of
        the samples across the width divided by √n (which catches a boundary that is not
        perpendicular to the line). Points with no valid pixel are dropped.

    Raises
    ------
    InputError
        Bad geometry (start = end, non-finite points, negative width or spacing), a map whose
        ``fraction`` and ``sigma`` differ in shape, or no valid pixel along the line.

    Notes
    -----
    Successive points share pixels when the spacing is below the pixel size or the line runs
    diagonally; their errors are then correlated, which the fits downstream do not model.

    Examples
    --------
    >>> import numpy as np
    >>> from ionscale.tracer.data import FractionMap
    >>> f = np.tile(np.linspace(0.1, 0.5, 5)[:, None], (1, 4))
    >>> m = FractionMap(fraction=f, sigma=np.full(f.shape, 0.01), total=np.full(f.shape, 1e3),
    ...                 pixel_size=(1e-6, 1e-6))
    >>> line = extract_line(m, (1.5e-6, 0.0), (1.5e-6, 4e-6), width="2 px")
    >>> line.fraction.round(2).tolist(), line.sigma.round(4).tolist()[0]
    ([0.1, 0.2, 0.3, 0.4, 0.5], 0.0071)
    """
    if order not in (0, 1):
        raise InputError(f"order = {order!r}", field="order", expected="0 (nearest) or 1 "
                         "(bilinear)")
    frac = np.asarray(fmap.fraction, dtype=float)
    sig = np.asarray(fmap.sigma, dtype=float)
    source = ", ".join(map(str, fmap.sources)) or None
    if frac.ndim != 2 or sig.shape != frac.shape:
        raise InputError(f"fraction {frac.shape} and sigma {sig.shape} do not match",
                         file=source, field="fmap", expected="2D (y, x) maps of one shape")
    dy, dx = (float(v) for v in fmap.pixel_size)
    if not (dy > 0 and dx > 0 and math.isfinite(dy) and math.isfinite(dx)):
        raise InputError(f"pixel size {fmap.pixel_size!r}", file=source, field="pixel_size",
                         expected="positive (dy, dx) in m")
    y0, x0 = (float(v) for v in fmap.origin)
    a, b = _point(start, "start"), _point(end, "end")
    length = float(np.hypot(*(b - a)))
    if not length > 0:
        raise InputError("start and end are the same point", field="end",
                         expected="a segment of non-zero length")
    pixel = min(dy, dx)
    w = _width(width, pixel)
    step = pixel if spacing is None else _number(spacing, "spacing", "m", positive=True)
    n_along = int(math.floor(length / step * (1 + 1e-12))) + 1
    n_across = max(1, int(round(w / pixel)))
    e = (b - a) / length
    normal = np.array([-e[1], e[0]])
    s = np.arange(n_along) * step
    o = (np.arange(n_across) - (n_across - 1) / 2.0) * pixel
    pts = a + s[:, None, None] * e + o[None, :, None] * normal  # (K, J, 2) as (x, y)
    rows = (pts[..., 1] - y0) / dy
    cols = (pts[..., 0] - x0) / dx
    index, weight = _sample_weights(rows, cols, frac.shape, order)
    flat_f, flat_s = frac.ravel(), sig.ravel()
    safe = np.where(index >= 0, index, 0)
    ok_pix = (index >= 0) & np.isfinite(flat_f[safe]) & np.isfinite(flat_s[safe])
    weight = np.where(ok_pix, weight, 0.0)
    wsum = weight.sum(axis=-1)  # (K, J)
    sample_ok = wsum > 1e-9
    wn = np.where(sample_ok[..., None], weight / np.where(sample_ok, wsum, 1.0)[..., None], 0.0)
    values = np.sum(wn * np.where(ok_pix, flat_f[safe], 0.0), axis=-1)  # (K, J)
    n_ok = sample_ok.sum(axis=1)  # (K,)
    point_ok = n_ok > 0
    if not np.any(point_ok):
        raise InputError("no valid pixel along the line", file=source, field="start, end",
                         expected="a segment crossing pixels with counts inside the map "
                         f"(x {x0 - dx / 2:.3g}..{x0 + (frac.shape[1] - 0.5) * dx:.3g} m, "
                         f"y {y0 - dy / 2:.3g}..{y0 + (frac.shape[0] - 0.5) * dy:.3g} m)")
    n_safe = np.where(point_ok, n_ok, 1)
    mean = np.where(sample_ok, values, 0.0).sum(axis=1) / n_safe
    # weight of each pixel in each point's mean, combined over samples sharing it
    k_idx = np.broadcast_to(np.arange(n_along)[:, None, None], index.shape)
    contrib = wn / n_safe[:, None, None]
    keep = contrib > 0
    key = k_idx[keep] * frac.size + index[keep]
    uniq, inverse = np.unique(key, return_inverse=True)
    w_pix = np.bincount(inverse, weights=contrib[keep])
    pix = uniq % frac.size
    k_of = uniq // frac.size
    var = np.bincount(k_of, weights=w_pix**2 * flat_s[pix] ** 2, minlength=n_along)
    n_pix = np.bincount(k_of, minlength=n_along)
    sigma_bin = np.sqrt(var)
    dev = np.where(sample_ok, values - mean[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.sum(dev**2, axis=1) / (n_ok - 1))
        sigma_sc = np.where(n_ok > 1, sd / np.sqrt(n_ok), np.nan)
    sigma = np.fmax(sigma_bin, sigma_sc)
    centre = a + s[:, None] * e
    sel = point_ok
    return LineProfile(
        x=s[sel], fraction=mean[sel], sigma=sigma[sel], sigma_binomial=sigma_bin[sel],
        sigma_scatter=sigma_sc[sel], n_pixels=n_pix[sel], points=centre[sel],
        start=(float(a[0]), float(a[1])), end=(float(b[0]), float(b[1])),
        width=n_across * pixel if n_across > 1 else 0.0, spacing=step, order=order,
        source=source,
    )
