"""Data objects of the tracer technique: count and fraction profiles and maps.

Positions are SI metres. A profile's positions are strictly increasing. A map is ``(y, x)``
with a pixel size per axis and an origin (the physical position of pixel ``[0, 0]``'s centre),
so every derived line or boundary is in physical units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Profile:
    """An isotope-fraction profile along one coordinate (line scan or depth profile).

    Attributes
    ----------
    x : ndarray
        Position or depth, m, strictly increasing.
    fraction : ndarray
        Isotope fraction (raw ``C`` or normalised ``C'``); NaN where there were no counts.
    sigma : ndarray or None
        One-σ standard error of ``fraction`` (binomial from counts), or None when unknown.
    counts : dict of str to ndarray, optional
        Raw counts per isotope, keyed by isotope name (``"6Li"``, ``"7Li"``, ``"18O"``...).
    source : str, optional
        File the profile came from.
    metadata : dict
        Anything the reader found (header lines, instrument settings, units of the file).
    """

    x: np.ndarray
    fraction: np.ndarray
    sigma: np.ndarray | None = None
    counts: Mapping[str, np.ndarray] | None = None
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.size)

    def valid(self) -> np.ndarray:
        """Boolean mask of points with a finite fraction (and finite, positive σ if given)."""
        ok = np.isfinite(self.fraction)
        if self.sigma is not None:
            ok &= np.isfinite(self.sigma) & (self.sigma > 0)
        return ok

    def select(self, mask: np.ndarray) -> Profile:
        """A new profile with only the points where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        return Profile(
            x=self.x[mask], fraction=self.fraction[mask],
            sigma=None if self.sigma is None else self.sigma[mask],
            counts=None if self.counts is None else {k: v[mask] for k, v in self.counts.items()},
            source=self.source, metadata=dict(self.metadata),
        )


@dataclass(frozen=True)
class CountMap:
    """Raw SIMS counts of several isotopes on one ``(y, x)`` pixel grid.

    Attributes
    ----------
    counts : dict of str to ndarray
        Counts per isotope, all of the same 2D shape, non-negative.
    pixel_size : tuple of float
        ``(dy, dx)`` in m.
    origin : tuple of float
        ``(y0, x0)`` position of the centre of pixel ``[0, 0]``, m.
    sources : tuple of str
        Files the channels came from.
    metadata : dict
    """

    counts: Mapping[str, np.ndarray]
    pixel_size: tuple[float, float]
    origin: tuple[float, float] = (0.0, 0.0)
    sources: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return next(iter(self.counts.values())).shape


@dataclass(frozen=True)
class FractionMap:
    """An isotope-fraction map with its binomial standard errors.

    Attributes
    ----------
    fraction : ndarray
        ``(y, x)`` fraction; NaN where a pixel had no counts (masked, never 0).
    sigma : ndarray
        ``(y, x)`` one-σ standard error (NaN where masked).
    total : ndarray
        ``(y, x)`` total counts of the isotopes used.
    pixel_size : tuple of float
        ``(dy, dx)`` in m.
    origin : tuple of float
        ``(y0, x0)`` of pixel ``[0, 0]``'s centre, m.
    sources : tuple of str
    metadata : dict
    """

    fraction: np.ndarray
    sigma: np.ndarray
    total: np.ndarray
    pixel_size: tuple[float, float]
    origin: tuple[float, float] = (0.0, 0.0)
    sources: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.fraction.shape

    def extent(self) -> tuple[float, float, float, float]:
        """``(left, right, bottom, top)`` in m for ``imshow(origin='lower')``."""
        dy, dx = self.pixel_size
        y0, x0 = self.origin
        ny, nx = self.shape
        return (x0 - dx / 2, x0 + (nx - 0.5) * dx, y0 - dy / 2, y0 + (ny - 0.5) * dy)
