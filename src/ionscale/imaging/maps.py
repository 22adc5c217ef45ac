"""Element and isotope maps for correlative EDS/SIMS work: building, checking, normalising.

A map is an :class:`~ionscale.imaging.image.Image` (the data object FIB-SEM slices use too):
``(c, y, x)`` channels named after what they count (``"Zr"``, ``"Co La1"``, ``"6Li"``), the
pixel size ``(dy, dx)`` and the ``origin`` (corner of pixel ``[0, 0]``) in metres, the slice
``index`` in its series and, in ``metadata``, the kind of map (``"EDS"``/``"SIMS"``), the
instrument's angles in degrees (``metadata["angles"]``, e.g. ``{"stage_tilt": 54.0}``) and
the counting unit (``"counts"`` or ``"counts/s"``). :class:`MapSeries` holds the maps of one
kind over the milled slices, with the slice thickness.

Normalisation (:func:`normalise`) is per channel and returns float32 in [0, 1]:

* ``"minmax"``: ``(x - min) / (max - min)`` (SCIENCE §9 Eq. 1; sensitive to outliers);
* ``"log"``: ``log10(x + 1) / log10(x_max + 1)`` (Eq. 2 with one count added, so that a pixel
  with zero counts gives 0, not -inf; this is the convention of ionscale, stated in every
  result that uses it);
* ``"percentile"``: min-max between the ``percentiles`` (default 1 and 99), clipped.

NaN pixels (outside an irregular acquisition area) stay NaN. A constant channel normalises to 0.

The isotope fraction (:func:`add_isotope_fraction`) is ``C = N_t / (N_t + N_o)`` from counts
(never from normalised images), with its binomial standard error
``sqrt(C (1 - C) / N + 1 / (4 N²))`` (the same definition as the tracer technique's; the
Wilson floor keeps it finite at ``C = 0, 1``). Where ``N = 0`` the fraction is undefined: the
channel holds 0 there and ``metadata["fraction_defined"]`` names the counts channels that tell
where it is defined (``N > 0``); every statistic of ionscale skips those pixels.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .image import Image, pixel_size_2

__all__ = [
    "ELEMENTS",
    "MapSeries",
    "add_isotope_fraction",
    "element_of",
    "make_map",
    "normalise",
    "normalise_array",
]

#: Element symbols (Z = 1 to 92) accepted in channel names.
ELEMENTS: tuple[str, ...] = tuple(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As "
    "Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd "
    "Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U".split())

_ISOTOPE = re.compile(r"^\^?(\d{1,3})\s*([A-Z][a-z]?)\s*[+-]?$")
_ISOTOPE_DASH = re.compile(r"^([A-Z][a-z]?)-(\d{1,3})$")
_ELEMENT_LINE = re.compile(r"^([A-Z][a-z]?)(?:[\s_]+.*)?$")

NORMALISATIONS = ("minmax", "log", "percentile", "none")


def element_of(name: str, *, source: str | None = None) -> str:
    """The element symbol a channel name refers to.

    Accepts ``"Zr"``, ``"Zr La1"``, ``"Co_Ka"``, ``"6Li"``, ``"^7Li+"``, ``"Li-6"``.

    Raises
    ------
    InputError
        The name is not an element symbol of Z = 1 to 92 (``"Xx"``, ``"zirconium"``).

    Examples
    --------
    >>> element_of("Zr La1"), element_of("6Li")
    ('Zr', 'Li')
    """
    text = str(name).strip()
    m = _ISOTOPE.match(text)
    if m:
        symbol = m.group(2)
    else:
        m = _ISOTOPE_DASH.match(text) or _ELEMENT_LINE.match(text)
        symbol = m.group(1) if m else text
    if symbol not in ELEMENTS:
        raise InputError(f"unknown element {name!r}", file=source, field="channels",
                         expected="a channel named by an element symbol (Zr, 'Co La1', 6Li), "
                         "Z = 1 to 92")
    return symbol


def make_map(channels: Mapping[str, Any], pixel_size, origin=(0.0, 0.0), *,
             kind: str = "EDS", index: int | None = None,
             angles: Mapping[str, float] | None = None, unit: str = "counts",
             source: str | None = None, metadata: Mapping[str, Any] | None = None,
             check_elements: bool = True) -> Image:
    """A multi-channel map from one 2D array per channel.

    Parameters
    ----------
    channels : dict of str to 2D array
        Counts (or count rates) per element line or isotope, all of one shape; NaN marks pixels
        outside the acquired area.
    pixel_size : float, str or (dy, dx)
        m, or a quantity string (``"81.4 nm"``). Required.
    origin : (y0, x0)
        Position of the corner of pixel ``[0, 0]`` in the common stage frame, m.
    kind : str
        ``"EDS"``, ``"SIMS"``...
    index : int, optional
        Slice index in its series.
    angles : dict of str to float, optional
        Instrument angles in degrees (``{"stage_tilt": 54, "sem_fib": 52}``).
    unit : str
        ``"counts"`` (Poisson counts, conserved by area resampling) or ``"counts/s"``.
    check_elements : bool
        Require every channel name to name an element (see :func:`element_of`).

    Raises
    ------
    InputError
        No channels; channels that are not 2D or of different shapes; negative or infinite
        values; a missing pixel size; an unknown element.

    Examples
    --------
    >>> import numpy as np
    >>> m = make_map({"Zr": np.ones((4, 6)), "Co": np.zeros((4, 6))}, "81.4 nm")
    >>> m.channels, m.pixel_size[0]
    (('Zr', 'Co'), 8.14e-08)
    """
    if not isinstance(channels, Mapping) or not channels:
        raise InputError("no channels given", file=source, field="channels",
                         expected="a dict {name: 2D array} with at least one channel")
    if pixel_size is None:
        raise InputError("the map has no pixel size", file=source, field="pixel_size",
                         expected="the pixel size, e.g. '81.4 nm' (from the file or given)")
    px = pixel_size_2(pixel_size, source=source)
    arrays = []
    shape = None
    first = None
    for name, arr in channels.items():
        a = np.asarray(arr)
        if a.ndim != 2:
            raise InputError(f"channel {name!r} has shape {a.shape}", file=source,
                             field=str(name), expected="a 2D (y, x) map")
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
            raise InputError(f"channel {name!r} of type {a.dtype}", file=source,
                             field=str(name), expected="real counts")
        if shape is None:
            shape, first = a.shape, name
        elif a.shape != shape:
            raise InputError(f"channel {name!r} has shape {a.shape}, channel {first!r} "
                             f"{shape}", file=source, field=str(name),
                             expected="channels of one shape within a map")
        af = a.astype(np.float64, copy=False)
        finite = af[np.isfinite(af)]
        if np.any(np.isinf(af)) or (finite.size and finite.min() < 0):
            raise InputError(f"channel {name!r} has negative or infinite values", file=source,
                             field=str(name), expected="counts >= 0 (NaN outside the map)")
        if check_elements:
            element_of(str(name), source=source)
        arrays.append(a)
    dtype = np.result_type(*arrays)
    if not np.issubdtype(dtype, np.floating) and any(np.isnan(np.asarray(a, float)).any()
                                                      for a in arrays):
        dtype = np.float64
    data = np.stack([a.astype(dtype, copy=False) for a in arrays])
    meta = {"kind": kind, "unit": unit, "angles": dict(angles or {}), **dict(metadata or {})}
    return Image(data if len(arrays) > 1 else data[0], px, origin, tuple(channels), index,
                 source, meta)


@dataclass(frozen=True)
class MapSeries:
    """The maps of one kind (EDS or SIMS) over the milled slices of a serial-section series.

    Attributes
    ----------
    maps : tuple of Image
        One map per slice, in milling order (``index`` set to the position), each with its own
        origin (the stage may move between slices); same channels and pixel size.
    slice_thickness : float
        Distance between milled faces, m.
    kind : str
        ``"EDS"``, ``"SIMS"``...
    """

    maps: tuple[Image, ...]
    slice_thickness: float
    kind: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        maps = tuple(self.maps)
        if not maps:
            raise InputError("no maps", field="maps", expected="at least one map")
        first = maps[0]
        fixed = []
        for k, m in enumerate(maps):
            if not isinstance(m, Image):
                raise InputError(f"slice {k} is a {type(m).__name__}", field=f"maps[{k}]",
                                 expected="an Image (see make_map)")
            if m.channels != first.channels:
                raise InputError(f"slice {k} has channels {list(m.channels)}", file=m.source,
                                 field=f"maps[{k}].channels",
                                 expected=f"the channels of slice 0, {list(first.channels)}")
            if not np.allclose(m.pixel_size, first.pixel_size, rtol=1e-6, atol=0):
                raise InputError(f"slice {k} has pixel size {m.pixel_size} m", file=m.source,
                                 field=f"maps[{k}].pixel_size",
                                 expected=f"the pixel size of slice 0, {first.pixel_size} m")
            fixed.append(m if m.index == k else dataclasses.replace(m, index=k))
        object.__setattr__(self, "maps", tuple(fixed))
        from .image import _check_size

        object.__setattr__(self, "slice_thickness",
                           _check_size(self.slice_thickness, 1, "slice_thickness", None)[0])
        object.__setattr__(self, "metadata", dict(self.metadata))

    def __len__(self) -> int:
        return len(self.maps)

    def __getitem__(self, k: int) -> Image:
        return self.maps[k]

    def __iter__(self):
        return iter(self.maps)

    @property
    def channels(self) -> tuple[str, ...]:
        return self.maps[0].channels

    @property
    def pixel_size(self) -> tuple[float, float]:
        return self.maps[0].pixel_size


def normalise_array(x, method: str = "log", *, percentiles: tuple[float, float] = (1.0, 99.0)
                    ) -> np.ndarray:
    """Normalise one channel to [0, 1] (float32); see the module docstring for the methods.

    NaN stays NaN; zero counts give 0 with ``"log"`` (never -inf); a constant map gives 0.

    Examples
    --------
    >>> normalise_array([0.0, 9.0, 99.0], "log").round(3).tolist()
    [0.0, 0.5, 1.0]
    """
    a = np.asarray(x, dtype=np.float64)
    if method not in NORMALISATIONS:
        raise InputError(f"normalisation {method!r}", field="method",
                         expected=f"one of {list(NORMALISATIONS)}")
    if method == "none":
        return a.astype(np.float32)
    finite = np.isfinite(a)
    if not finite.any():
        return np.full(a.shape, np.nan, np.float32)
    vals = a[finite]
    if method == "log":
        if vals.min() < 0:
            raise InputError(f"negative values (minimum {vals.min():g}) for log normalisation",
                             field="method", expected="counts >= 0, or method='minmax'")
        top = np.log10(vals.max() + 1.0)
        out = np.log10(np.where(finite, a, 0.0) + 1.0) / top if top > 0 else np.zeros_like(a)
    else:
        if method == "minmax":
            lo, hi = float(vals.min()), float(vals.max())
        else:
            p0, p1 = (float(p) for p in percentiles)
            if not 0 <= p0 < p1 <= 100:
                raise InputError(f"percentiles {percentiles}", field="percentiles",
                                 expected="0 <= low < high <= 100")
            lo, hi = (float(v) for v in np.percentile(vals, (p0, p1)))
        out = (np.clip((a - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(a))
    out = np.where(finite, out, np.nan)
    return out.astype(np.float32)


def normalise(image: Image, method: str = "log", *, channels: Sequence[str] | None = None,
              percentiles: tuple[float, float] = (1.0, 99.0)) -> Image:
    """Normalise every channel of a map (or those named) to [0, 1], float32.

    The result's ``metadata["normalisation"]`` states the method (and for ``"log"`` the +1
    convention); the counts are not kept (keep the original map for ratios and sums).
    """
    names = image.channels if channels is None else tuple(channels)
    data = np.stack([normalise_array(image.channel(c), method, percentiles=percentiles)
                     for c in names])
    meta = dict(image.metadata)
    meta["normalisation"] = {"minmax": "(x - min)/(max - min)",
                             "log": "log10(x + 1)/log10(x_max + 1)",
                             "percentile": f"(x - p{percentiles[0]:g})/(p{percentiles[1]:g} - "
                                           f"p{percentiles[0]:g}), clipped",
                             "none": "none"}[method]
    meta["unit"] = "normalised"
    return image.with_data(data if len(names) > 1 else data[0], channels=names, metadata=meta)


def fraction_and_error(tracer, other) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(C, sigma, N)`` from tracer and other counts; ``C = sigma = 0`` where ``N = 0``
    (undefined: test ``N > 0``). Counts must be >= 0 (NaN counts give N = 0)."""
    t = np.nan_to_num(np.asarray(tracer, dtype=np.float64), nan=0.0)
    o = np.nan_to_num(np.asarray(other, dtype=np.float64), nan=0.0)
    if np.any(t < 0) or np.any(o < 0):
        raise InputError("negative counts", field="counts", expected="counts >= 0")
    n = t + o
    ok = n > 0
    safe = np.where(ok, n, 1.0)
    c = np.where(ok, t / safe, 0.0)
    s = np.where(ok, np.sqrt(np.clip(c * (1 - c) / safe + 0.25 / safe ** 2, 0, None)), 0.0)
    return c, s, n


def add_isotope_fraction(image: Image, tracer: str = "6Li", other: str = "7Li", *,
                         name: str | None = None) -> Image:
    """Add the isotope-fraction channel ``N_t / (N_t + N_o)`` computed from counts.

    Parameters
    ----------
    image : Image
        A map holding the counts channels ``tracer`` and ``other`` (counts, not normalised).
    name : str, optional
        Name of the new channel (default ``"<tracer>_fraction"``).

    Returns
    -------
    Image
        The map with one more channel: the fraction where ``N > 0``, 0 where ``N = 0``
        (undefined; ``metadata["fraction_defined"]`` names the counts channels).
    """
    if image.metadata.get("unit") == "normalised":
        raise InputError("the map is normalised", file=image.source, field="image",
                         expected="counts: the isotope fraction needs counts, not normalised "
                         "images")
    t, o = image.channel(tracer), image.channel(other)
    c, _, _ = fraction_and_error(t, o)
    name = name or f"{tracer}_fraction"
    data = np.asarray(image.data, np.float64)
    data = np.concatenate([data if data.ndim == 3 else data[None], c[None]], axis=0)
    meta = dict(image.metadata)
    meta["fraction_defined"] = {name: [tracer, other]}
    return image.with_data(data, channels=(*image.channels, name), metadata=meta)
