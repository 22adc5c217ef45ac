"""Isotope fractions from SIMS counts: per pixel or depth step, with binomial standard errors.

``C = I_t / (I_t + I_o)`` with ``I_t`` the counts of the tracer isotope (⁶Li, ¹⁸O) and ``I_o``
those of the other isotope(s) of the element. Counts are Poisson, so given the total
``N = I_t + I_o`` the tracer counts are binomial and

    σ_C = sqrt(C (1 − C) / N + 1 / (4 N²)).

The first term is the usual binomial standard error. It vanishes at ``C = 0`` or ``1`` (a pixel
with only ⁷Li counts), which would give such pixels infinite weight in a fit. The second term is
the floor we chose: it is what the Wilson score interval (z = 1) adds to the binomial variance
(``N C(1−C) + 1/4`` in its numerator), taken over ``N`` rather than ``N + 1`` so that it never
falls below the plain binomial value. It changes σ by a relative ``≈ 1/(8 N C (1 − C))`` (below
1 % once ``N C (1 − C) > 12``) and gives ``1 / (2N)`` at ``C = 0`` or ``1``: the resolution of
half a count. A pixel with ``N = 0`` has no fraction at all: fraction and σ are NaN (masked),
never 0.

Maps are binned by summing counts in blocks (area-weighted, conserving counts), never by
interpolating fractions; pixel size and origin follow the binning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Provenance, Result, Value
from .data import CountMap, FractionMap, Profile

#: Natural isotopic abundances (atom fraction; IUPAC representative values) of isotopes used
#: as tracers and of their partners.
NATURAL_ABUNDANCE: dict[str, float] = {
    "1H": 0.999885, "2H": 0.000115,
    "6Li": 0.0759, "7Li": 0.9241,
    "10B": 0.199, "11B": 0.801,
    "12C": 0.9893, "13C": 0.0107,
    "14N": 0.99636, "15N": 0.00364,
    "16O": 0.99757, "17O": 0.00038, "18O": 0.00205,
    "24Mg": 0.7899, "25Mg": 0.1000, "26Mg": 0.1101,
    "28Si": 0.92223, "29Si": 0.04685, "30Si": 0.03092,
    "32S": 0.9499, "33S": 0.0075, "34S": 0.0425,
    "35Cl": 0.7576, "37Cl": 0.2424,
    "39K": 0.932581, "41K": 0.067302,
    "40Ca": 0.96941, "44Ca": 0.02086,
    "63Cu": 0.6915, "65Cu": 0.3085,
    "107Ag": 0.51839, "109Ag": 0.48161,
}


def _counts_array(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError("counts are not numbers", field=name,
                         expected="an array of non-negative counts") from None
    if not np.all(np.isfinite(arr)):
        raise InputError("counts contain NaN or infinity", field=name,
                         expected="finite, non-negative counts")
    if np.any(arr < 0):
        raise InputError(f"negative counts (minimum {arr.min():g})", field=name,
                         expected="counts >= 0")
    return arr


def binomial_sigma(fraction, total) -> np.ndarray:
    """Standard error of an isotope fraction from ``total`` counts, with the Wilson floor.

    Parameters
    ----------
    fraction : array_like
        Isotope fraction ``C`` (dimensionless, 0 to 1).
    total : array_like
        Total counts ``N`` of the isotopes (dimensionless).

    Returns
    -------
    ndarray
        ``sqrt(C (1 − C) / N + 1 / (4 N²))``; NaN where ``N == 0``.

    Examples
    --------
    >>> float(binomial_sigma(0.5, 100))
    0.05024937810560445
    >>> float(binomial_sigma(0.0, 10))
    0.05
    """
    c = np.asarray(fraction, dtype=float)
    n = np.asarray(total, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = c * (1.0 - c) / n + 0.25 / n**2
        sigma = np.sqrt(np.clip(var, 0.0, None))
    return np.where(n > 0, sigma, np.nan)


def isotope_fraction(tracer_counts, other_counts) -> tuple[np.ndarray, np.ndarray]:
    """Isotope fraction ``C = I_t / (I_t + I_o)`` and its binomial standard error.

    Parameters
    ----------
    tracer_counts : array_like
        Counts of the tracer isotope (e.g. ⁶Li), non-negative; dead-time corrected
        (non-integer) counts are accepted.
    other_counts : array_like
        Counts of the other isotope(s) (e.g. ⁷Li), same shape (broadcastable).

    Returns
    -------
    fraction : ndarray
        ``C``, dimensionless; NaN where there are no counts.
    sigma : ndarray
        One-σ standard error (see the module docstring for the floor at ``C = 0, 1``);
        NaN where there are no counts.

    Raises
    ------
    InputError
        Negative, NaN or non-numeric counts.

    Examples
    --------
    >>> c, s = isotope_fraction([30, 0], [70, 0])
    >>> c
    array([0.3, nan])
    """
    t = _counts_array(tracer_counts, "tracer_counts")
    o = _counts_array(other_counts, "other_counts")
    try:
        t, o = np.broadcast_arrays(t, o)
    except ValueError:
        raise InputError(f"shapes {t.shape} and {o.shape} differ", field="other_counts",
                         expected="arrays of the same shape") from None
    n = t + o
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(n > 0, t / n, np.nan)
    return c, binomial_sigma(c, n)


def normalise(
    fraction,
    sigma,
    background: float | str | None = None,
    source: float | None = None,
    *,
    isotope: str = "6Li",
    background_error: float = 0.0,
    source_error: float = 0.0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Normalised fraction ``C' = (C − C_bg) / (C_s − C_bg)`` and its standard error.

    Parameters
    ----------
    fraction : array_like
        Raw isotope fraction ``C`` (dimensionless).
    sigma : array_like or None
        Its standard error; None gives None back (unless ``background_error`` or
        ``source_error`` are non-zero).
    background : float or str, optional
        Background fraction ``C_bg``, or an isotope name whose natural abundance to use;
        default: the natural abundance of ``isotope``.
    source : float
        Tracer fraction of the source (gas, liquid, film), e.g. 0.95.
    isotope : str
        Tracer isotope, for the default background (``"6Li"``: 0.0759, ``"18O"``: 0.00205).
    background_error, source_error : float
        Standard errors of ``C_bg`` and ``C_s``, propagated to first order.

    Returns
    -------
    fraction : ndarray
        ``C'``.
    sigma : ndarray or None
        ``sqrt(σ_C² + (C' − 1)² σ_bg² + C'² σ_s²) / |C_s − C_bg|``.

    Examples
    --------
    >>> c, s = normalise([0.0759, 0.95], [0.01, 0.01], source=0.95)
    >>> [round(float(v), 6) for v in c]
    [0.0, 1.0]
    """
    if source is None:
        raise InputError("the source fraction is needed", field="source",
                         expected="the tracer fraction of the source, e.g. 0.95")
    if background is None:
        background = isotope
    if isinstance(background, str):
        if background not in NATURAL_ABUNDANCE:
            raise InputError(f"no natural abundance known for {background!r}",
                             field="background",
                             expected=f"a number or one of {sorted(NATURAL_ABUNDANCE)}")
        background = NATURAL_ABUNDANCE[background]
    bg, src = float(background), float(source)
    if not (np.isfinite(bg) and np.isfinite(src)) or src == bg:
        raise InputError(f"source {src} and background {bg} give no contrast", field="source",
                         expected="a source fraction different from the background")
    span = src - bg
    c = np.asarray(fraction, dtype=float)
    cn = (c - bg) / span
    if sigma is None and background_error == 0 and source_error == 0:
        return cn, None
    s = np.zeros_like(c) if sigma is None else np.asarray(sigma, dtype=float)
    var = s**2 + (cn - 1.0) ** 2 * background_error**2 + cn**2 * source_error**2
    return cn, np.sqrt(var) / abs(span)


def _factors(factor: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(factor, (int, np.integer)) and not isinstance(factor, bool):
        fy = fx = int(factor)
    else:
        try:
            fy, fx = (int(f) for f in factor)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise InputError(f"cannot use {factor!r} as a bin factor", field="bin",
                             expected="a positive integer or a (fy, fx) pair") from None
    if fy < 1 or fx < 1:
        raise InputError(f"bin factor {(fy, fx)} is not positive", field="bin",
                         expected="integers >= 1")
    return fy, fx


def bin_counts(counts, factor: int | Sequence[int]) -> np.ndarray:
    """Sum counts in ``factor × factor`` blocks (area-weighted binning; counts are conserved).

    Rows and columns that do not fill a whole block at the far edges (``ny % fy``,
    ``nx % fx``) are dropped, so every binned pixel covers the same area.

    Parameters
    ----------
    counts : array_like, shape (ny, nx)
        Counts per pixel.
    factor : int or (int, int)
        Block size ``f`` or ``(fy, fx)`` in pixels.

    Returns
    -------
    ndarray, shape (ny // fy, nx // fx)

    Examples
    --------
    >>> bin_counts(np.ones((4, 5)), 2)
    array([[4., 4.],
           [4., 4.]])
    """
    arr = np.asarray(counts)
    if arr.ndim != 2:
        raise InputError(f"counts have {arr.ndim} dimensions", field="counts",
                         expected="a 2D (y, x) array")
    fy, fx = _factors(factor)
    ny, nx = arr.shape[0] // fy, arr.shape[1] // fx
    if ny == 0 or nx == 0:
        raise InputError(f"bin {(fy, fx)} is larger than the map {arr.shape}", field="bin",
                         expected="a bin no larger than the map")
    cropped = arr[: ny * fy, : nx * fx]
    return cropped.reshape(ny, fy, nx, fx).sum(axis=(1, 3))


def binned_geometry(
    pixel_size: tuple[float, float], origin: tuple[float, float], factor: int | Sequence[int]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Pixel size and origin (centre of pixel ``[0, 0]``, m) after :func:`bin_counts`."""
    fy, fx = _factors(factor)
    dy, dx = (float(v) for v in pixel_size)
    y0, x0 = (float(v) for v in origin)
    return (dy * fy, dx * fx), (y0 + (fy - 1) * dy / 2, x0 + (fx - 1) * dx / 2)


def _other_isotopes(counts: Mapping[str, np.ndarray], tracer: str,
                    other: str | Sequence[str] | None) -> tuple[str, ...]:
    if other is None:
        rest = tuple(k for k in counts if k != tracer)
        if len(rest) != 1:
            raise InputError(f"cannot tell the other isotope among {list(counts)}",
                             field="other", expected="other= naming the partner isotope(s)")
        return rest
    return (other,) if isinstance(other, str) else tuple(other)


def fraction_map(
    count_map: CountMap,
    tracer: str = "6Li",
    other: str | Sequence[str] | None = "7Li",
    bin: int | Sequence[int] = 1,
    normalise_to: float | None = None,
    *,
    background: float | str | None = None,
) -> FractionMap:
    """Isotope-fraction map from a count map, with optional binning of the counts.

    Parameters
    ----------
    count_map : CountMap
        Counts per isotope on one ``(y, x)`` grid.
    tracer : str
        Tracer isotope (numerator), e.g. ``"6Li"`` or ``"18O"``.
    other : str or sequence of str, optional
        The other isotope(s) of the element, summed (e.g. ``("16O", "17O")``); None: the one
        isotope of the map that is not ``tracer``.
    bin : int or (int, int)
        Sum counts in ``bin × bin`` blocks before taking the ratio (see :func:`bin_counts`);
        pixel size and origin are updated.
    normalise_to : float, optional
        Source tracer fraction ``C_s``; when given the map is normalised with
        :func:`normalise` (background: natural abundance of ``tracer`` unless ``background``).
    background : float or str, optional
        Background fraction or isotope name for the normalisation.

    Returns
    -------
    FractionMap
        NaN (masked) where a (binned) pixel had no counts. ``metadata`` records the tracer,
        other isotopes, bin and normalisation.

    Examples
    --------
    >>> cm = CountMap({"6Li": np.array([[3, 0]]), "7Li": np.array([[1, 0]])}, (1e-6, 1e-6))
    >>> fraction_map(cm).fraction
    array([[0.75,  nan]])
    """
    counts = count_map.counts
    others = _other_isotopes(counts, tracer, other)
    for name in (tracer, *others):
        if name not in counts:
            raise InputError(f"the map has no {name!r} channel", field=name,
                             expected=f"one of {list(counts)}")
    fy, fx = _factors(bin)
    t = _counts_array(counts[tracer], tracer)
    o = sum((_counts_array(counts[k], k) for k in others), np.zeros_like(t))
    if (fy, fx) != (1, 1):
        t, o = bin_counts(t, (fy, fx)), bin_counts(o, (fy, fx))
    pixel_size, origin = binned_geometry(count_map.pixel_size, count_map.origin, (fy, fx))
    frac, sigma = isotope_fraction(t, o)
    meta = dict(count_map.metadata)
    meta.update({"tracer": tracer, "other": list(others), "bin": [fy, fx],
                 "normalised": normalise_to is not None})
    if normalise_to is not None:
        bg = tracer if background is None else background
        frac, sigma = normalise(frac, sigma, bg, normalise_to, isotope=tracer)
        meta["source_fraction"] = float(normalise_to)
        meta["background"] = bg if isinstance(bg, str) else float(bg)
    return FractionMap(fraction=frac, sigma=sigma, total=t + o, pixel_size=pixel_size,
                       origin=origin, sources=tuple(count_map.sources), metadata=meta)


def fraction_profile(
    x,
    tracer_counts,
    other_counts,
    *,
    tracer: str = "6Li",
    other: str = "7Li",
    source: str | None = None,
    metadata: Mapping | None = None,
) -> Profile:
    """A :class:`Profile` of isotope fraction from the counts along a line or depth.

    Parameters
    ----------
    x : array_like
        Positions or depths, m, strictly increasing.
    tracer_counts, other_counts : array_like
        Counts of the tracer and of the other isotope(s) at each position.
    tracer, other : str
        Names under which the counts are kept in ``Profile.counts``.
    source : str, optional
        File the counts came from.
    metadata : dict, optional

    Returns
    -------
    Profile
        Fraction and binomial σ (NaN where no counts), counts kept.

    Examples
    --------
    >>> p = fraction_profile([0.0, 1e-6], [90, 10], [10, 90])
    >>> p.fraction
    array([0.9, 0.1])
    """
    xs = np.asarray(x, dtype=float)
    if xs.ndim != 1 or not np.all(np.isfinite(xs)):
        raise InputError("positions must be a finite 1D array", field="x",
                         expected="finite positions in m")
    if xs.size > 1 and np.any(np.diff(xs) <= 0):
        raise InputError("positions are not strictly increasing", field="x",
                         expected="strictly increasing positions")
    frac, sigma = isotope_fraction(tracer_counts, other_counts)
    if frac.shape != xs.shape:
        raise InputError(f"{frac.size} count values for {xs.size} positions",
                         field="tracer_counts", expected="one count per position")
    meta = {"tracer": tracer, "other": other, **dict(metadata or {})}
    counts = {tracer: np.asarray(tracer_counts, dtype=float),
              other: np.asarray(other_counts, dtype=float)}
    return Profile(x=xs, fraction=frac, sigma=sigma, counts=counts, source=source,
                   metadata=meta)


def plot_fraction_map(fmap: FractionMap, ax=None, *, cmap: str = "viridis",
                      vmin: float | None = None, vmax: float | None = None, label=None):
    """Show a fraction map with its physical extent in µm; masked pixels are grey.

    Parameters
    ----------
    fmap : FractionMap
        The map.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if omitted.
    cmap : str
        Colour map name.
    vmin, vmax : float, optional
        Colour limits (dimensionless fraction).
    label : str, optional
        Colour-bar label; default ``"⁶Li fraction C"`` or ``"normalised … C'"`` from metadata.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    from ..results import new_axes

    ax = new_axes(ax)
    colours = plt.get_cmap(cmap)
    colours = colours.with_extremes(bad="0.8")
    left, right, bottom, top = (v * 1e6 for v in fmap.extent())
    image = ax.imshow(np.ma.masked_invalid(fmap.fraction), origin="lower",
                      extent=(left, right, bottom, top), cmap=colours, vmin=vmin, vmax=vmax,
                      interpolation="nearest")
    if label is None:
        tracer = fmap.metadata.get("tracer", "tracer")
        label = (f"normalised {tracer} fraction C'" if fmap.metadata.get("normalised")
                 else f"{tracer} fraction C")
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    return ax


@dataclass(frozen=True, kw_only=True)
class FractionMapResult(Result):
    """A fraction map as an analysis result: the map and its summary numbers.

    Values: ``mean`` fraction over valid pixels with its standard error of the mean,
    ``valid_fraction`` (share of pixels with counts) and ``median_sigma`` (typical per-pixel
    binomial error).
    """

    fmap: FractionMap

    @classmethod
    def of(cls, fmap: FractionMap, parameters: Mapping[str, Any] | None = None
           ) -> FractionMapResult:
        """Summarise ``fmap`` (inputs hashed from ``fmap.sources``)."""
        ok = np.isfinite(fmap.fraction)
        n = int(ok.sum())
        mean = float(np.nanmean(fmap.fraction)) if n else np.nan
        sem = float(np.nanstd(fmap.fraction) / np.sqrt(n)) if n > 1 else np.nan
        values = {
            "mean": Value("mean", mean, sem, "", "mean C"),
            "valid_fraction": Value("valid_fraction", n / ok.size, 0.0, "", "valid pixels"),
            "median_sigma": Value("median_sigma", float(np.nanmedian(fmap.sigma)) if n else np.nan,
                                  np.nan, "", "median σ(C)"),
        }
        return cls(values=values, fmap=fmap, title=f"isotope-fraction map {fmap.shape}",
                   provenance=Provenance.build("tracer.fraction", fmap.sources, parameters))

    def _extra_dict(self) -> dict[str, Any]:
        # the full map belongs in files, not in every JSON record
        return {"shape": list(self.fmap.shape), "pixel_size_m": list(self.fmap.pixel_size),
                "origin_m": list(self.fmap.origin)}

    def plot(self, ax=None):
        """The fraction map (see :func:`plot_fraction_map`)."""
        return plot_fraction_map(self.fmap, ax=ax)
