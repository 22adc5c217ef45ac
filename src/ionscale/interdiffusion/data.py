"""The data object of the interdiffusion technique: :class:`DiffusionProfile`.

A profile is one line across an interface: positions (m) or sputter times (s), one
concentration array per species, optional one-σ errors, the anneal (temperature, time), the
probe resolution and metadata. Positions are strictly increasing, except that a position may
appear twice at a declared phase interface (the value on each side, pyDiffusion's convention).
Concentrations are in whatever unit the file had (mole fraction, at.% converted to a fraction,
mol m⁻³...); every method of this package works on normalised or relative quantities, so the
unit only has to be consistent along the profile.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import InputError

__all__ = ["DiffusionProfile"]

Coordinate = Literal["position", "time"]


def _array(values, name: str, source: str | None) -> np.ndarray:
    try:
        a = np.array(values, dtype=float, copy=True)
    except (TypeError, ValueError):
        raise InputError("cannot read the values as numbers", file=source, field=name,
                         expected="a 1D array of numbers") from None
    if a.ndim != 1:
        raise InputError(f"got shape {a.shape}", file=source, field=name,
                         expected="a 1D array")
    return a


@dataclass(frozen=True, eq=False)
class DiffusionProfile:
    """Concentrations of one or more species along a line across an interface.

    Parameters
    ----------
    x : array_like
        Position, m (``coordinate="position"``), or sputter time, s (``coordinate="time"``);
        strictly increasing except for a repeated position at each entry of ``interfaces``.
    concentrations : mapping of str to array_like
        One array per species, same length as ``x``, finite.
    sigma : mapping of str to array_like, optional
        One-σ errors of some or all species (positive where given).
    coordinate : {"position", "time"}
        What ``x`` is; a sputter-time profile must be calibrated with
        :func:`ionscale.interdiffusion.to_depth` before it is analysed.
    temperature : float, optional
        Anneal temperature, K.
    time : float, optional
        Anneal time, s (positive).
    resolution : float, optional
        Probe resolution: the standard deviation ``s`` (m) of the Gaussian that broadens the
        measured profile (EPMA interaction volume, SIMS mixing depth).
    interfaces : tuple of float
        Positions (m) of phase interfaces where ``x`` repeats (a jump in composition).
    source : str, optional
        File the profile came from.
    metadata : dict
        Anything else the reader found (header lines, units of the file).

    Examples
    --------
    >>> p = DiffusionProfile([0.0, 1e-6, 2e-6], {"Zr": [0.0, 0.5, 1.0]}, time=3600.0)
    >>> p.species, len(p)
    (('Zr',), 3)
    """

    x: np.ndarray
    concentrations: Mapping[str, np.ndarray]
    sigma: Mapping[str, np.ndarray] | None = None
    coordinate: Coordinate = "position"
    temperature: float | None = None
    time: float | None = None
    resolution: float | None = None
    interfaces: tuple[float, ...] = ()
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = self.source
        x = _array(self.x, "x", src)
        if x.size < 3:
            raise InputError(f"the profile has {x.size} points", file=src, field="x",
                             expected="at least 3 points")
        if not np.all(np.isfinite(x)):
            i = int(np.flatnonzero(~np.isfinite(x))[0])
            raise InputError(f"position {i} is NaN or infinite", file=src, field="x",
                             expected="finite positions")
        if self.coordinate not in ("position", "time"):
            raise InputError(f"coordinate {self.coordinate!r}", file=src, field="coordinate",
                             expected="'position' or 'time'")
        interfaces = tuple(float(v) for v in self.interfaces)
        dx = np.diff(x)
        if np.any(dx < 0):
            i = int(np.flatnonzero(dx < 0)[0])
            raise InputError(f"positions are not sorted: x[{i + 1}] = {x[i + 1]:.6g} < "
                             f"x[{i}] = {x[i]:.6g}", file=src, field="x",
                             expected="strictly increasing positions (sort the file)")
        for i in np.flatnonzero(dx == 0):
            if not any(math.isclose(x[i], v, rel_tol=1e-12, abs_tol=1e-15) for v in interfaces):
                raise InputError(f"position {x[i]:.6g} appears twice (rows {i} and {i + 1})",
                                 file=src, field="x",
                                 expected="strictly increasing positions; a repeated position "
                                          "only at a declared phase interface")
        x.setflags(write=False)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "interfaces", interfaces)
        if not isinstance(self.concentrations, Mapping) or not self.concentrations:
            raise InputError("no concentration column", file=src, field="concentrations",
                             expected="at least one species")
        conc = {}
        for name, values in self.concentrations.items():
            c = _array(values, str(name), src)
            if c.shape != x.shape:
                raise InputError(f"{c.size} values for {x.size} positions", file=src,
                                 field=str(name), expected="one value per position")
            if not np.all(np.isfinite(c)):
                i = int(np.flatnonzero(~np.isfinite(c))[0])
                raise InputError(f"value {i} (x = {x[i]:.6g}) is NaN or infinite", file=src,
                                 field=str(name), expected="finite concentrations (drop or "
                                 "interpolate missing points before the analysis)")
            c.setflags(write=False)
            conc[str(name)] = c
        object.__setattr__(self, "concentrations", conc)
        if self.sigma is not None:
            sig = {}
            for name, values in self.sigma.items():
                if str(name) not in conc:
                    raise InputError(f"σ given for unknown species {name!r}", file=src,
                                     field="sigma", expected=f"species among {list(conc)}")
                s = _array(values, f"sigma[{name}]", src)
                if s.shape != x.shape or not np.all(np.isfinite(s)) or np.any(s <= 0):
                    raise InputError("σ must be finite, positive, one per position", file=src,
                                     field=f"sigma[{name}]", expected="σ > 0")
                s.setflags(write=False)
                sig[str(name)] = s
            object.__setattr__(self, "sigma", sig or None)
        for name, unit in (("temperature", "K"), ("time", "s"), ("resolution", "m")):
            v = getattr(self, name)
            if v is None:
                continue
            v = float(v)
            bad = not math.isfinite(v) or (v <= 0 if name != "resolution" else v < 0)
            if bad:
                kind = "non-negative" if name == "resolution" else "positive"
                raise InputError(f"{name} = {v!r}", file=src, field=name,
                                 expected=f"a finite {kind} value in {unit}")
            object.__setattr__(self, name, v)
        object.__setattr__(self, "metadata", dict(self.metadata))

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return int(self.x.size)

    @property
    def species(self) -> tuple[str, ...]:
        """Names of the species, in file order."""
        return tuple(self.concentrations)

    def pick(self, species: str | None = None) -> str:
        """The species a binary analysis works on: ``species``, or the only one, or the first.

        Raises
        ------
        InputError
            ``species`` is not in the profile.
        """
        if species is None:
            return self.species[0]
        if species not in self.concentrations:
            raise InputError(f"no species {species!r} in the profile", file=self.source,
                             field="species", expected=f"one of {list(self.species)}")
        return species

    def c(self, species: str | None = None) -> np.ndarray:
        """Concentration of ``species`` (see :meth:`pick`)."""
        return self.concentrations[self.pick(species)]

    def sigma_of(self, species: str | None = None) -> np.ndarray | None:
        """One-σ errors of ``species``, or None when the profile has none."""
        name = self.pick(species)
        return None if self.sigma is None else self.sigma.get(name)

    def replace(self, **changes) -> DiffusionProfile:
        """A copy with some fields changed (profiles are frozen)."""
        return dataclasses.replace(self, **changes)

    def select(self, mask) -> DiffusionProfile:
        """A new profile with only the points where ``mask`` is true."""
        m = np.asarray(mask, dtype=bool)
        sig = None if self.sigma is None else {k: v[m] for k, v in self.sigma.items()}
        kept = set(np.round(self.x[m], 15))
        return self.replace(x=self.x[m], concentrations={k: v[m] for k, v in
                                                          self.concentrations.items()},
                            sigma=sig, interfaces=tuple(v for v in self.interfaces
                                                        if round(v, 15) in kept))

    def require_position(self, what: str = "this analysis") -> None:
        """Raise InputError unless ``x`` is a position (not a sputter time)."""
        if self.coordinate != "position":
            raise InputError(f"{what} needs positions, but the profile is in sputter time",
                             file=self.source, field="coordinate",
                             expected="a depth profile: calibrate it first with "
                                      "interdiffusion.to_depth(profile, crater_depth=... or "
                                      "rate=...)")

    def anneal_time(self, time=None) -> float:
        """The anneal time to use: ``time`` (s or a string such as ``"100 h"``) or the
        profile's own; InputError if neither is a positive finite number."""
        from ..units import parse_quantity

        t = self.time if time is None else parse_quantity(time, "s", field="time",
                                                          file=self.source)
        if t is None:
            raise InputError("no anneal time", file=self.source, field="time",
                             expected="time=..., e.g. '100 h' (or a profile with its time)")
        if not (math.isfinite(t) and t > 0):
            raise InputError(f"anneal time {t!r} s", file=self.source, field="time",
                             expected="a positive, finite anneal time")
        return float(t)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view (arrays as lists)."""
        from ..results import json_safe

        return json_safe({
            "x": self.x, "coordinate": self.coordinate, "concentrations": self.concentrations,
            "sigma": self.sigma, "temperature": self.temperature, "time": self.time,
            "resolution": self.resolution, "interfaces": self.interfaces,
            "source": self.source})
