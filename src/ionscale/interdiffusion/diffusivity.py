"""Interdiffusion coefficients as functions of composition, D̃(C).

Two representations, both usable by the solver (:mod:`ionscale.interdiffusion.solver`) and
both phase-aware (a binary couple may cross two-phase gaps, where D̃ is undefined):

* :class:`LogSplineDiffusivity`: ``ln D̃`` as a spline through a few knots per phase (one knot:
  constant; two: ln D̃ linear in C; three or more: natural cubic spline), continued linearly
  beyond the end knots. ``ln D̃(C)`` is linear in the knot values, so a fit's covariance of the
  knots gives the confidence band of the whole curve (:meth:`LogSplineDiffusivity.band`);
* :class:`TabulatedDiffusivity`: a table of ``(C, D̃)`` interpolated linearly in ``ln D̃``
  (pyDiffusion's saved results, a Boltzmann-Matano output).

``phases`` is a sequence of composition ranges ``(low, high)``, one per phase, increasing and
separated by the two-phase gaps; ``None`` means one phase over all compositions. Compositions
below the first phase belong to it, above the last to the last.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from ..errors import InputError

__all__ = ["LogSplineDiffusivity", "TabulatedDiffusivity", "as_diffusivity", "check_phases"]

Phases = tuple[tuple[float, float], ...]


def check_phases(phases, *, field: str = "phases") -> Phases:
    """Validate ``phases`` (``None`` → one unbounded phase) and return them as tuples."""
    if phases is None:
        return ((-math.inf, math.inf),)
    try:
        out = tuple((float(lo), float(hi)) for lo, hi in phases)
    except (TypeError, ValueError):
        raise InputError(f"cannot read phases {phases!r}", field=field,
                         expected="a list of composition ranges [(low, high), ...]") from None
    if not out:
        raise InputError("no phase", field=field, expected="at least one (low, high) range")
    for i, (lo, hi) in enumerate(out):
        if not lo < hi:
            raise InputError(f"phase {i} has low {lo} >= high {hi}", field=field,
                             expected="low < high")
        if i and lo <= out[i - 1][1]:
            raise InputError(f"phase {i} starts at {lo}, inside phase {i - 1}", field=field,
                             expected="increasing, non-overlapping ranges separated by gaps")
    return out


def phase_index(c, phases: Phases) -> np.ndarray:
    """Index of the phase each composition belongs to, -1 inside a two-phase gap."""
    c = np.asarray(c, dtype=float)
    idx = np.full(c.shape, -1, dtype=int)
    for k, (lo, hi) in enumerate(phases):
        lo_ = -np.inf if k == 0 else lo
        hi_ = np.inf if k == len(phases) - 1 else hi
        idx[(c >= lo_) & (c <= hi_)] = k
    return idx


def _spline_basis(knots: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``(len(c), len(knots))`` weights: ``ln D(c) = basis @ ln_D_knots``; natural cubic spline
    (linear for two knots, constant for one), continued linearly outside the knots."""
    m = knots.size
    c = np.asarray(c, dtype=float)
    if m == 1:
        return np.ones((c.size, 1))
    if m == 2:
        w = (c - knots[0]) / (knots[1] - knots[0])
        return np.column_stack([1 - w, w])
    spl = CubicSpline(knots, np.eye(m), bc_type="natural")
    out = spl(np.clip(c, knots[0], knots[-1]))
    lo, hi = c < knots[0], c > knots[-1]
    if np.any(lo):
        out[lo] = spl(knots[0]) + np.outer(c[lo] - knots[0], spl(knots[0], 1))
    if np.any(hi):
        out[hi] = spl(knots[-1]) + np.outer(c[hi] - knots[-1], spl(knots[-1], 1))
    return out


@dataclass(frozen=True, eq=False)
class LogSplineDiffusivity:
    """D̃(C) as a spline in ln D̃ through knots, per phase.

    Parameters
    ----------
    knots : sequence of array_like
        Knot compositions of each phase (increasing within a phase).
    D : sequence of array_like
        D̃ at the knots, m² s⁻¹ (positive), same shapes as ``knots``.
    phases : sequence of (float, float), optional
        Composition range of each phase; None for one phase.

    Examples
    --------
    >>> d = LogSplineDiffusivity.single([0.0, 1.0], [1e-14, 1e-13])
    >>> float(d(0.5))  # doctest: +ELLIPSIS
    3.16...e-14
    """

    knots: tuple[np.ndarray, ...]
    D: tuple[np.ndarray, ...]
    phases: Phases | None = None

    def __post_init__(self) -> None:
        phases = check_phases(self.phases)
        knots = tuple(np.atleast_1d(np.asarray(k, dtype=float)) for k in self.knots)
        values = tuple(np.atleast_1d(np.asarray(v, dtype=float)) for v in self.D)
        if len(knots) != len(phases) or len(values) != len(phases):
            raise InputError(f"{len(knots)} knot sets and {len(values)} value sets for "
                             f"{len(phases)} phase(s)", field="knots",
                             expected="one knot set per phase")
        for i, (k, v) in enumerate(zip(knots, values, strict=True)):
            if k.size == 0 or k.shape != v.shape:
                raise InputError(f"phase {i}: {k.size} knots, {v.size} values", field="knots",
                                 expected="as many D values as knots, at least one")
            if k.size > 1 and np.any(np.diff(k) <= 0):
                raise InputError(f"phase {i}: knots are not increasing", field="knots",
                                 expected="increasing knot compositions")
            if not np.all(np.isfinite(v)) or np.any(v <= 0):
                raise InputError(f"phase {i}: D must be positive and finite", field="D",
                                 expected="D > 0 (m² s⁻¹)")
        object.__setattr__(self, "knots", knots)
        object.__setattr__(self, "D", values)
        object.__setattr__(self, "phases", phases)

    @classmethod
    def single(cls, knots, D) -> LogSplineDiffusivity:
        """One phase over all compositions."""
        return cls((np.asarray(knots, float),), (np.asarray(D, float),), None)

    @classmethod
    def from_function(cls, func: Callable, knots: Sequence, phases=None) -> LogSplineDiffusivity:
        """Sample ``func(C)`` (m² s⁻¹) at ``knots`` (one array per phase; a flat list for one
        phase)."""
        if phases is None and np.ndim(knots[0]) == 0:
            knots = [knots]
        ks = [np.asarray(k, float) for k in knots]
        return cls(tuple(ks), tuple(np.asarray(func(k), float) for k in ks), phases)

    @property
    def n_knots(self) -> int:
        return int(sum(k.size for k in self.knots))

    @property
    def flat_knots(self) -> np.ndarray:
        """Every knot composition, phase after phase."""
        return np.concatenate(self.knots)

    @property
    def flat_ln_D(self) -> np.ndarray:
        """ln D̃ at every knot, phase after phase."""
        return np.log(np.concatenate(self.D))

    def with_ln_D(self, ln_d) -> LogSplineDiffusivity:
        """The same knots with new ``ln D̃`` values (flat, phase after phase)."""
        ln_d = np.asarray(ln_d, float)
        out, i = [], 0
        for k in self.knots:
            out.append(np.exp(ln_d[i:i + k.size]))
            i += k.size
        return LogSplineDiffusivity(self.knots, tuple(out), self.phases)

    def basis(self, c) -> tuple[np.ndarray, np.ndarray]:
        """``(B, phase)``: ``ln D̃(c) = B @ flat_ln_D`` (rows of gap compositions are zero)
        and the phase index of each composition (-1 in a gap)."""
        c = np.atleast_1d(np.asarray(c, dtype=float))
        ph = phase_index(c, self.phases)
        B = np.zeros((c.size, self.n_knots))
        start = 0
        for k, knots in enumerate(self.knots):
            m = ph == k
            if np.any(m):
                B[np.ix_(np.flatnonzero(m), np.arange(start, start + knots.size))] = \
                    _spline_basis(knots, c[m])
            start += knots.size
        return B, ph

    def __call__(self, c) -> np.ndarray:
        """D̃ (m² s⁻¹) at compositions ``c``; NaN inside a two-phase gap."""
        scalar = np.ndim(c) == 0
        B, ph = self.basis(c)
        out = np.exp(B @ self.flat_ln_D)
        out[ph < 0] = np.nan
        return float(out[0]) if scalar else out

    def band(self, c, covariance_ln_D, z: float = 1.0) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
        """``(D̃, low, high)`` at ``c``: the curve and its ``z``-σ band from the covariance of
        the knots' ln D̃ (``exp(ln D̃ ± z σ)``)."""
        B, ph = self.basis(c)
        ln_d = B @ self.flat_ln_D
        var = np.einsum("ij,jk,ik->i", B, np.asarray(covariance_ln_D, float), B)
        sd = np.sqrt(np.clip(var, 0, None))
        d = np.exp(ln_d)
        lo, hi = np.exp(ln_d - z * sd), np.exp(ln_d + z * sd)
        for a in (d, lo, hi):
            a[ph < 0] = np.nan
        return d, lo, hi

    def to_dict(self) -> dict:
        return {"phases": [list(p) for p in self.phases],
                "knots": [k.tolist() for k in self.knots], "D": [v.tolist() for v in self.D]}


@dataclass(frozen=True, eq=False)
class TabulatedDiffusivity:
    """D̃(C) from a table, interpolated linearly in ln D̃ within each phase.

    Parameters
    ----------
    c : array_like
        Compositions (need not be sorted; repeated values are averaged in ln D̃).
    D : array_like
        D̃ at ``c``, m² s⁻¹, positive.
    phases : sequence of (float, float), optional
        Composition range of each phase; None for one phase. Outside the table's range in a
        phase, D̃ is held at the nearest tabulated value.
    """

    c: np.ndarray
    D: np.ndarray
    phases: Phases | None = None

    def __post_init__(self) -> None:
        c = np.asarray(self.c, float).ravel()
        d = np.asarray(self.D, float).ravel()
        if c.size != d.size or c.size == 0:
            raise InputError(f"{c.size} compositions and {d.size} D values", field="D",
                             expected="one D per composition")
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(d)) and np.all(d > 0)):
            raise InputError("compositions must be finite and D positive", field="D",
                             expected="finite C, D > 0")
        order = np.argsort(c, kind="stable")
        c, d = c[order], d[order]
        uc, inv = np.unique(c, return_inverse=True)
        ln = np.bincount(inv, weights=np.log(d)) / np.bincount(inv)
        object.__setattr__(self, "c", uc)
        object.__setattr__(self, "D", np.exp(ln))
        object.__setattr__(self, "phases", check_phases(self.phases))

    def __call__(self, c) -> np.ndarray:
        scalar = np.ndim(c) == 0
        c = np.atleast_1d(np.asarray(c, float))
        ph = phase_index(c, self.phases)
        tab_ph = phase_index(self.c, self.phases)
        out = np.full(c.shape, np.nan)
        for k in range(len(self.phases)):
            m, t = ph == k, tab_ph == k
            if not np.any(m):
                continue
            if not np.any(t):
                raise InputError(f"the table has no value in phase {k} {self.phases[k]}",
                                 field="D", expected="at least one tabulated D per phase")
            out[m] = np.exp(np.interp(c[m], self.c[t], np.log(self.D[t])))
        return float(out[0]) if scalar else out


def as_diffusivity(D, phases=None):
    """Turn a number, a callable ``D(C)`` or a diffusivity object into ``(callable, phases)``.

    A callable's own ``phases`` attribute wins over ``phases``.
    """
    if isinstance(D, (int, float, np.floating, np.integer)) and not isinstance(D, bool):
        value = float(D)
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"D = {D!r}", field="D", expected="a positive diffusivity (m² s⁻¹)")

        def constant(c, _v=value):
            return np.full(np.shape(c), _v)

        return constant, check_phases(phases)
    if callable(D):
        return D, check_phases(getattr(D, "phases", None) or phases)
    raise InputError(f"cannot use {type(D).__name__} as a diffusivity", field="D",
                     expected="a number (m² s⁻¹), a callable D(C) or a LogSplineDiffusivity")
