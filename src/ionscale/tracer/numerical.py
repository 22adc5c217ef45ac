"""Numerical 1D finite-volume model of tracer diffusion, and the fit of a profile's evolution.

What the analytic profiles cannot do: a measured initial profile, a closed sample (no source, the
total tracer conserved), position-dependent ``D(x)`` of grains and grain boundaries. The model
solves

    ∂C/∂t = ∂/∂x (D(x) ∂C/∂x)

on cells of a :class:`Grid` (uniform or not). Between neighbouring cells ``i`` and ``i+1`` the
flux is ``J = G (C_i − C_{i+1})`` with the face conductance (m s⁻¹)

    G = 1 / (h_i / (2 D_i) + h_{i+1} / (2 D_{i+1}) + R_face),

the two half-cells in series with an optional extra face resistance ``R_face`` (s m⁻¹), e.g. a
thin grain boundary ``δ / D_gb`` that no cell resolves. Boundaries (one per side):

* ``"closed"``: zero flux;
* ``"fixed"``: Dirichlet, ``C = value`` on the boundary face, half a cell from the first centre;
* ``"exchange"``: Robin (surface exchange), ``J_in = k (C_gas − C_surface)`` at the face, i.e.
  ``−D ∂C/∂x = k (C_gas − C)`` at a left surface; ``k`` in m s⁻¹ (``k = ∞`` is ``"fixed"``,
  ``k = 0`` is ``"closed"``).

Time stepping is the θ scheme on ``h dC/dt = −A C + b`` (``A`` symmetric tridiagonal):
``θ = 1`` backward Euler (default; L-stable, first order), ``θ = 1/2`` Crank-Nicolson (second
order) started with a few backward-Euler half steps (Rannacher start) so that a discontinuous
initial profile does not ring. The matrix ``h + θ Δt A`` is symmetric positive definite, so it is
Cholesky-factorised once per time-step size (``scipy.linalg.cholesky_banded``) and each step is one
banded back-substitution. With closed boundaries ``Σ h_i C_i`` is conserved to round-off.

The fit of D from the change of a measured profile is :mod:`ionscale.tracer.evolution`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.linalg import cho_solve_banded, cholesky_banded
from scipy.signal import savgol_filter

from ..errors import InputError
from ..units import parse_quantity
from .data import Profile

__all__ = [
    "Grid",
    "LayeredMedium",
    "layered_diffusivity",
    "series_diffusivity",
    "solve",
    "simulate_profile",
    "interpolate",
]

_BOUNDARY_KINDS = ("closed", "fixed", "exchange")


# --------------------------------------------------------------------------------------------
# grid and medium


@dataclass(frozen=True, eq=False)
class Grid:
    """Cells of a 1D finite-volume grid, given by their edges.

    Parameters
    ----------
    edges : array_like
        Cell edges in m, strictly increasing, at least two (one cell). Uniform or not.

    Attributes
    ----------
    centres : ndarray
        Cell centres, m (``n_cells``).
    widths : ndarray
        Cell widths ``h``, m (``n_cells``).

    Examples
    --------
    >>> g = Grid.uniform(0.0, 6e-3, 600)
    >>> g.n_cells, round(float(g.widths[0]) * 1e6, 6)
    (600, 10.0)
    """

    edges: np.ndarray

    def __post_init__(self) -> None:
        e = np.array(self.edges, dtype=float, copy=True)
        if e.ndim != 1 or e.size < 2:
            raise InputError(f"got shape {e.shape}", field="edges",
                             expected="a 1D array of at least two cell edges (m)")
        if not np.all(np.isfinite(e)):
            raise InputError("edges contain NaN or inf", field="edges", expected="finite edges")
        if np.any(np.diff(e) <= 0):
            raise InputError("edges are not strictly increasing", field="edges",
                             expected="strictly increasing cell edges (m)")
        e.setflags(write=False)
        object.__setattr__(self, "edges", e)

    @classmethod
    def uniform(cls, start: float, stop: float, n_cells: int) -> Grid:
        """``n_cells`` equal cells between ``start`` and ``stop`` (m)."""
        n = _positive_int(n_cells, "n_cells")
        if not (math.isfinite(start) and math.isfinite(stop) and stop > start):
            raise InputError(f"got start={start}, stop={stop}", field="stop",
                             expected="finite start < stop (m)")
        return cls(np.linspace(float(start), float(stop), n + 1))

    @classmethod
    def from_centres(cls, centres) -> Grid:
        """Cells around given centres: inner edges at the midpoints, outer edges mirrored."""
        c = np.asarray(centres, dtype=float)
        if c.ndim != 1 or c.size < 2:
            raise InputError(f"got shape {c.shape}", field="centres",
                             expected="at least two cell centres (m)")
        if np.any(np.diff(c) <= 0) or not np.all(np.isfinite(c)):
            raise InputError("centres are not finite and strictly increasing", field="centres",
                             expected="strictly increasing positions (m)")
        mid = 0.5 * (c[1:] + c[:-1])
        return cls(np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]]))

    @classmethod
    def covering(cls, x, n_cells: int, pad: float | tuple[float, float] = 0.0) -> Grid:
        """A uniform grid of ``n_cells`` cells over the range of ``x`` (m) widened by ``pad``.

        ``pad`` (m) is one width for both sides or a ``(left, right)`` pair.
        """
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        if x.size == 0:
            raise InputError("no finite position", field="x", expected="positions in m")
        pad_lo, pad_hi = _pad_pair(pad)
        lo, hi = float(x.min()) - pad_lo, float(x.max()) + pad_hi
        if hi <= lo:
            raise InputError("positions span no length", field="x",
                             expected="at least two distinct positions, or pad > 0")
        return cls.uniform(lo, hi, n_cells)

    @property
    def n_cells(self) -> int:
        return int(self.edges.size - 1)

    @property
    def centres(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.edges)

    @property
    def length(self) -> float:
        return float(self.edges[-1] - self.edges[0])

    def total(self, C) -> float:
        """Amount of tracer ``Σ h_i C_i`` (fraction × m)."""
        return float(np.dot(self.widths, np.asarray(C, dtype=float)))


def _pad_pair(pad) -> tuple[float, float]:
    try:
        pair = (float(pad), float(pad)) if np.ndim(pad) == 0 else tuple(map(float, pad))
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or not all(math.isfinite(p) and p >= 0 for p in pair):
        raise InputError(f"got {pad!r}", field="pad",
                         expected="a padding >= 0 (m), or a (left, right) pair")
    return pair


@dataclass(frozen=True, eq=False)
class LayeredMedium:
    """Diffusivity of grains separated by thin boundaries, ready for :func:`solve`.

    Attributes
    ----------
    D : ndarray
        Diffusivity of each cell, m² s⁻¹.
    face_resistance : ndarray or None
        Extra resistance of each of the ``n_cells + 1`` faces, s m⁻¹ (``"interface"`` method).
    boundaries : ndarray
        Centre of each grain boundary, m.
    grain_sizes : ndarray
        Size of each grain (bulk length between boundaries), m.
    method : str
        ``"interface"`` or ``"resolved"``.
    """

    D: np.ndarray
    face_resistance: np.ndarray | None
    boundaries: np.ndarray
    grain_sizes: np.ndarray
    method: str


def layered_diffusivity(
    grid,
    D_bulk: float,
    D_gb: float,
    grain_size: float,
    gb_width: float,
    *,
    grain_sizes=None,
    size_spread: float = 0.0,
    rng: int | np.random.Generator | None = None,
    offset: float = 0.0,
    method: str = "interface",
) -> LayeredMedium:
    """Build ``D(x)`` of grains (``D_bulk``) separated by boundaries (``D_gb``, width ``δ``).

    Starting at the grid's left edge plus ``offset``, grain ``j`` (size ``l_j``) is followed by a
    boundary of width ``δ``; the pattern repeats over the grid (the part left of the first grain
    start is bulk).

    Two formulations:

    * ``"interface"`` (default; right for δ = 0.5 nm between 16 µm grains): every cell is bulk
      and each boundary adds the resistance ``δ (1/D_gb − 1/D_bulk)`` to the grid face nearest
      its centre (the position is snapped by at most half a cell). The total resistance of a
      period is then exactly ``l/D_bulk + δ/D_gb``, the series model.
    * ``"resolved"``: each cell gets the harmonic (series) mean of the bulk and boundary lengths
      it contains, ``h / ((h − w)/D_bulk + w/D_gb)``; exact in series when cells resolve the
      boundaries, a smeared approximation otherwise.

    Parameters
    ----------
    grid : Grid or array_like
        The grid, or cell centres (m) from which one is built (:meth:`Grid.from_centres`).
    D_bulk, D_gb : float
        Diffusivities of grain interior and boundary, m² s⁻¹.
    grain_size : float
        Mean grain size ``l`` (bulk length between boundaries), m.
    gb_width : float
        Boundary width ``δ``, m.
    grain_sizes : array_like, optional
        Explicit grain sizes (m), used in order and repeated cyclically.
    size_spread : float
        Standard deviation of random grain sizes (m); sizes are drawn from a gamma distribution of
        mean ``grain_size`` when positive (seed 000: 16 ± 11 µm).
    rng : int or numpy.random.Generator, optional
        Seed or generator of the random sizes.
    offset : float
        Shift of the pattern from the grid's left edge, m.
    method : {"interface", "resolved"}

    Returns
    -------
    LayeredMedium

    Examples
    --------
    >>> g = Grid.uniform(0, 161e-6, 80)
    >>> med = layered_diffusivity(g, 2.6e-12, 7.5e-18, 16e-6, 0.5e-9)
    >>> med.boundaries.size
    10
    """
    if not isinstance(grid, Grid):
        grid = Grid.from_centres(grid)
    for name, v in (("D_bulk", D_bulk), ("D_gb", D_gb), ("grain_size", grain_size),
                    ("gb_width", gb_width)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v)
                and v > 0):
            raise InputError(f"got {v!r}", field=name, expected="a finite positive number (SI)")
    if not math.isfinite(offset):
        raise InputError(f"got {offset!r}", field="offset", expected="a finite shift (m)")
    if method not in ("interface", "resolved"):
        raise InputError(f"unknown method {method!r}", field="method",
                         expected="'interface' or 'resolved'")
    x0, x1 = float(grid.edges[0]), float(grid.edges[-1])
    span = x1 - (x0 + offset)
    sizes = _grain_sizes(span, grain_size, gb_width, grain_sizes, size_spread, rng)
    starts = x0 + offset + np.concatenate([[0.0], np.cumsum(sizes + gb_width)[:-1]])
    gb_lo = starts + sizes
    keep = gb_lo < x1
    gb_lo, sizes = gb_lo[keep], sizes[keep]
    centres_gb = gb_lo + 0.5 * gb_width
    n = grid.n_cells
    if method == "interface":
        face = np.clip(np.searchsorted(grid.edges, centres_gb), 0, n)
        # nearest face: compare with the face on the left
        left = np.clip(face - 1, 0, n)
        nearer_left = np.abs(grid.edges[left] - centres_gb) <= np.abs(grid.edges[face] - centres_gb)
        face = np.where(nearer_left, left, face)
        inside = (centres_gb >= x0) & (centres_gb <= x1)
        resistance = np.zeros(n + 1)
        np.add.at(resistance, face[inside], gb_width * (1.0 / D_gb - 1.0 / D_bulk))
        D = np.full(n, float(D_bulk))
        return LayeredMedium(D=D, face_resistance=resistance, boundaries=centres_gb,
                             grain_sizes=sizes, method=method)
    # resolved: overlap length of the boundaries with each cell
    e = grid.edges
    lo = np.maximum(e[:-1, None], gb_lo[None, :])
    hi = np.minimum(e[1:, None], (gb_lo + gb_width)[None, :])
    w = np.clip(hi - lo, 0.0, None).sum(axis=1)
    h = grid.widths
    w = np.minimum(w, h)
    D = h / ((h - w) / D_bulk + w / D_gb)
    return LayeredMedium(D=D, face_resistance=None, boundaries=centres_gb, grain_sizes=sizes,
                         method=method)


def _grain_sizes(span, mean, width, given, spread, rng) -> np.ndarray:
    """Enough grain sizes to cover ``span`` (m)."""
    count = int(math.ceil(max(span, 0.0) / (mean + width))) + 2
    if given is not None:
        g = np.asarray(given, dtype=float).ravel()
        if g.size == 0 or not np.all(np.isfinite(g)) or np.any(g <= 0):
            raise InputError("grain sizes must be finite and positive", field="grain_sizes",
                             expected="sizes > 0 (m)")
        reps = int(math.ceil(max(span, 0.0) / (g.sum() + g.size * width))) + 1
        return np.tile(g, reps)
    if not math.isfinite(spread) or spread < 0:
        raise InputError(f"got {spread!r}", field="size_spread", expected="a spread >= 0 (m)")
    if spread == 0:
        return np.full(count, float(mean))
    gen = np.random.default_rng(rng)
    shape = (mean / spread) ** 2
    out = []
    total = 0.0
    while total < span or not out:
        draw = gen.gamma(shape, mean / shape, size=count)
        out.append(draw)
        total += float(np.sum(draw + width))
    return np.concatenate(out)


def series_diffusivity(grid: Grid, D, face_resistance=None) -> float:
    """Effective diffusivity of the grid's cells and faces in series, m² s⁻¹.

    ``D_eff = L / (Σ h_i / D_i + Σ R_face)`` over every face, boundary faces included: the
    steady-state D of the whole grid between two fixed boundaries (the 1D series or brick model
    of a layered medium).

    Parameters
    ----------
    grid : Grid
    D : float, array_like or LayeredMedium
        Cell diffusivities, m² s⁻¹ (a medium brings its face resistances).
    face_resistance : array_like, optional
        As in :func:`solve`, s m⁻¹.

    Returns
    -------
    float
    """
    if isinstance(D, LayeredMedium):
        face_resistance, D = D.face_resistance, D.D
    d = _cell_diffusivity(D, grid.n_cells)
    r = _face_resistance(face_resistance, grid.n_cells)
    return grid.length / float(np.sum(grid.widths / d) + np.sum(r))


# --------------------------------------------------------------------------------------------
# solver


class _Boundary(NamedTuple):
    kind: str
    value: float  # fixed value or gas fraction
    k: float  # exchange coefficient (inf for fixed, 0 for closed), m/s


def _boundary(side: str, kind: str, value, k, c_gas) -> _Boundary:
    if kind not in _BOUNDARY_KINDS:
        raise InputError(f"unknown boundary {kind!r}", field=side,
                         expected="'closed', 'fixed' or 'exchange'")
    if kind == "closed":
        return _Boundary(kind, 0.0, 0.0)
    if kind == "fixed":
        if value is None or not math.isfinite(float(value)):
            raise InputError(f"fixed boundary needs a value, got {value!r}",
                             field=f"{side}_value", expected="a finite fraction")
        return _Boundary(kind, float(value), math.inf)
    if k is None or not (float(k) >= 0) or math.isnan(float(k)):
        raise InputError(f"exchange boundary needs k >= 0, got {k!r}", field=f"k_{side}",
                         expected="a surface exchange coefficient >= 0 (m/s)")
    if c_gas is None or not math.isfinite(float(c_gas)):
        raise InputError(f"exchange boundary needs the gas fraction, got {c_gas!r}",
                         field=f"C_gas_{side}", expected="a finite fraction")
    return _Boundary(kind, float(c_gas), float(k))


def _theta(theta) -> float:
    if isinstance(theta, str):
        names = {"implicit": 1.0, "backward-euler": 1.0, "crank-nicolson": 0.5}
        if theta not in names:
            raise InputError(f"unknown scheme {theta!r}", field="theta",
                             expected="a number in [0.5, 1], 'implicit' or 'crank-nicolson'")
        return names[theta]
    try:
        th = float(theta)
    except (TypeError, ValueError):
        raise InputError(f"got {theta!r}", field="theta",
                         expected="a number in [0.5, 1]") from None
    if not 0.5 <= th <= 1.0:
        raise InputError(f"got {theta!r}", field="theta",
                         expected="a number in [0.5, 1] (unconditionally stable schemes)")
    return th


def _positive_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise InputError(f"got {v!r}", field=name, expected="an integer >= 1")
    return int(v)


def _seconds(t, name: str) -> float:
    if isinstance(t, np.generic) and not isinstance(t, (np.str_, np.bool_)):
        t = t.item()
    return parse_quantity(t, "s", field=name)


def _positive_time(t, name: str) -> float:
    tt = _seconds(t, name)
    if not (math.isfinite(tt) and tt > 0):
        raise InputError(f"got {t!r}", field=name, expected="a finite time > 0 (s)")
    return tt


def _cell_diffusivity(D, n: int) -> np.ndarray:
    d = np.asarray(D, dtype=float)
    if d.ndim == 0:
        d = np.full(n, float(d))
    if d.shape != (n,):
        raise InputError(f"got shape {d.shape} for {n} cells", field="D",
                         expected="a scalar or one diffusivity per cell (m^2/s)")
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise InputError("diffusivity must be finite and positive", field="D",
                         expected="D > 0 (m^2/s)")
    return d


def _face_resistance(R, n: int) -> np.ndarray:
    out = np.zeros(n + 1)
    if R is None:
        return out
    r = np.asarray(R, dtype=float)
    if r.shape == (n + 1,):
        out[:] = r
    elif r.shape == (n - 1,):
        out[1:-1] = r
    else:
        raise InputError(f"got shape {r.shape} for {n} cells", field="face_resistance",
                         expected=f"{n + 1} values (every face) or {n - 1} (interior faces), s/m")
    if not np.all(np.isfinite(out)):
        raise InputError("face resistance contains NaN or inf", field="face_resistance",
                         expected="finite resistances (s/m)")
    return out


def _conductances(grid: Grid, d: np.ndarray, r: np.ndarray, left: _Boundary,
                  right: _Boundary) -> np.ndarray:
    """Conductance (m/s) of each of the ``n + 1`` faces."""
    half = 0.5 * grid.widths / d
    total = np.empty(grid.n_cells + 1)
    total[1:-1] = half[:-1] + half[1:] + r[1:-1]
    total[0] = half[0] + r[0] + (1.0 / left.k if left.k > 0 else math.inf)
    total[-1] = half[-1] + r[-1] + (1.0 / right.k if right.k > 0 else math.inf)
    if np.any(total <= 0):
        bad = np.flatnonzero(total <= 0)
        raise InputError(f"total resistance of face(s) {bad[:5].tolist()} is not positive",
                         field="face_resistance",
                         expected="h/(2D) of the neighbours plus the face resistance > 0")
    return 1.0 / total


class _System:
    """``h dC/dt = −A C + b`` with the θ-scheme matrices factorised per time step."""

    def __init__(self, grid: Grid, g: np.ndarray, left: _Boundary, right: _Boundary):
        self.h = grid.widths
        self.diag = g[:-1] + g[1:]
        self.off = -g[1:-1]
        self.b = np.zeros(grid.n_cells)
        self.b[0] += g[0] * left.value
        self.b[-1] += g[-1] * right.value
        self._cache: dict[tuple[float, float], np.ndarray] = {}

    def apply(self, C: np.ndarray) -> np.ndarray:
        out = self.diag * C
        out[:-1] += self.off * C[1:]
        out[1:] += self.off * C[:-1]
        return out

    def factor(self, dt: float, theta: float) -> np.ndarray:
        key = (dt, theta)
        if key not in self._cache:
            ab = np.zeros((2, self.h.size))
            ab[0, 1:] = theta * dt * self.off
            ab[1] = self.h + theta * dt * self.diag
            self._cache[key] = cholesky_banded(ab, lower=False, check_finite=False)
        return self._cache[key]

    def step(self, C: np.ndarray, dt: float, theta: float, n: int) -> np.ndarray:
        cb = self.factor(dt, theta)
        hb = dt * self.b
        for _ in range(n):
            rhs = self.h * C + hb
            if theta < 1.0:
                rhs -= (1.0 - theta) * dt * self.apply(C)
            C = cho_solve_banded((cb, False), rhs, check_finite=False)
        return C


def solve(
    C0,
    grid: Grid,
    D,
    t_end,
    *,
    n_steps: int = 200,
    left: str = "closed",
    right: str = "closed",
    left_value: float | None = None,
    right_value: float | None = None,
    k_left: float | None = None,
    k_right: float | None = None,
    C_gas_left: float | None = None,
    C_gas_right: float | None = None,
    face_resistance=None,
    theta: float | str = 1.0,
    return_times=None,
    startup_steps: int = 2,
) -> np.ndarray:
    """Evolve ``C`` under ``∂C/∂t = ∂/∂x (D ∂C/∂x)`` on a finite-volume grid.

    Parameters
    ----------
    C0 : array_like
        Initial value of each cell (fraction), ``grid.n_cells`` values.
    grid : Grid
        The cells (m).
    D : float, array_like or LayeredMedium
        Diffusivity, m² s⁻¹: one value, one per cell, or a :class:`LayeredMedium` (which brings
        its face resistances).
    t_end : float or str
        Duration, s (or ``"2 weeks"``).
    n_steps : int
        Number of time steps over ``t_end`` (constant Δt; with ``return_times`` each interval
        gets its share, at least one step).
    left, right : {"closed", "fixed", "exchange"}
        Boundary conditions (see the module notes).
    left_value, right_value : float, optional
        Boundary value of a ``"fixed"`` side (fraction).
    k_left, k_right : float, optional
        Surface exchange coefficient of an ``"exchange"`` side, m s⁻¹.
    C_gas_left, C_gas_right : float, optional
        Tracer fraction of the gas (or liquid) of an ``"exchange"`` side.
    face_resistance : array_like, optional
        Extra resistance of each face, s m⁻¹: ``n_cells + 1`` values (boundary faces included,
        ignored where closed) or ``n_cells − 1`` (interior faces).
    theta : float or {"implicit", "crank-nicolson"}
        Implicitness: 1 backward Euler, 0.5 Crank-Nicolson (with ``startup_steps`` steps done as
        two backward-Euler half steps each).
    return_times : array_like, optional
        Times (s, or strings) in ``[0, t_end]`` at which to return the state.
    startup_steps : int
        Rannacher start of Crank-Nicolson (ignored when ``theta == 1``).

    Returns
    -------
    ndarray
        ``C`` at ``t_end`` (``n_cells``), or ``(len(return_times), n_cells)`` states.

    Examples
    --------
    >>> g = Grid.uniform(0.0, 1e-3, 100)
    >>> C = solve(np.where(g.centres < 1e-4, 1.0, 0.0), g, 1e-12, "1 d", n_steps=50)
    >>> abs(g.total(C) - 1e-4) < 1e-16
    True
    """
    if not isinstance(grid, Grid):
        raise InputError(f"got {type(grid).__name__}", field="grid", expected="a Grid")
    n = grid.n_cells
    C = np.array(C0, dtype=float, copy=True)
    if C.shape != (n,):
        raise InputError(f"got shape {C.shape} for {n} cells", field="C0",
                         expected="one initial value per cell")
    if not np.all(np.isfinite(C)):
        raise InputError("initial profile contains NaN or inf", field="C0",
                         expected="finite values")
    if isinstance(D, LayeredMedium):
        if face_resistance is not None:
            raise InputError("a LayeredMedium brings its own face resistance",
                             field="face_resistance", expected="None with a LayeredMedium D")
        face_resistance = D.face_resistance
        D = D.D
    d = _cell_diffusivity(D, n)
    r = _face_resistance(face_resistance, n)
    t_end = _positive_time(t_end, "t_end")
    n_steps = _positive_int(n_steps, "n_steps")
    th = _theta(theta)
    startup = int(startup_steps)
    if startup < 0:
        raise InputError(f"got {startup_steps!r}", field="startup_steps",
                         expected="an integer >= 0")
    bl = _boundary("left", left, left_value, k_left, C_gas_left)
    br = _boundary("right", right, right_value, k_right, C_gas_right)
    system = _System(grid, _conductances(grid, d, r, bl, br), bl, br)

    if return_times is None:
        return _advance(system, C, [t_end], t_end, n_steps, th, startup)[0]
    times = np.atleast_1d(np.asarray(
        [_seconds(t, "return_times") for t in np.atleast_1d(return_times)],
        dtype=float))
    if times.ndim != 1 or times.size == 0:
        raise InputError("no return time", field="return_times", expected="times in s")
    if not np.all(np.isfinite(times)) or np.any(times < 0) or np.any(times > t_end * (1 + 1e-12)):
        raise InputError(f"got {times.tolist()}", field="return_times",
                         expected=f"finite times in [0, t_end = {t_end:g} s]")
    return _advance(system, C, times, t_end, n_steps, th, startup)


def _advance(system: _System, C: np.ndarray, times, t_end: float, n_steps: int, theta: float,
             startup: int) -> np.ndarray:
    """States at each of ``times`` (any order, repeats allowed)."""
    times = np.asarray(times, dtype=float)
    order = np.unique(times)
    states = {}
    t = 0.0
    started = False
    for target in order:
        span = target - t
        if span > 0:
            steps = max(1, int(round(n_steps * span / t_end)))
            dt = span / steps
            if theta < 1.0 and not started and startup > 0:
                first = min(startup, steps)
                C = system.step(C, 0.5 * dt, 1.0, 2 * first)
                steps -= first
            started = True
            if steps:
                C = system.step(C, dt, theta, steps)
            t = target
        states[float(target)] = C.copy()
    return np.stack([states[float(tt)] for tt in times])


def _edge_values(C: np.ndarray, grid: Grid, d: np.ndarray, r: np.ndarray, bl: _Boundary,
                 br: _Boundary) -> tuple[float, float]:
    """The fraction on the two boundary faces (surface values)."""
    out = []
    for c, h, dd, rr, b in ((C[..., 0], grid.widths[0], d[0], r[0], bl),
                            (C[..., -1], grid.widths[-1], d[-1], r[-1], br)):
        if b.kind == "closed":
            out.append(c)
        elif b.kind == "fixed":
            out.append(np.full_like(c, b.value))
        else:
            g = 1.0 / (1.0 / b.k + h / (2 * dd) + rr) if b.k > 0 else 0.0
            flux = g * (b.value - c)
            out.append(b.value - flux / b.k if b.k > 0 else c)
    return out[0], out[1]


def interpolate(grid: Grid, C, x, *, edge_values=None) -> np.ndarray:
    """Cell values ``C`` (``(..., n_cells)``) at positions ``x`` (m), linear between centres.

    Parameters
    ----------
    grid : Grid
    C : array_like
        Cell values, last axis over cells.
    x : array_like
        Positions, m, inside ``[grid.edges[0], grid.edges[-1]]`` (clamped outside).
    edge_values : tuple of (float or ndarray), optional
        Values on the left and right boundary faces; without them the first and last centre
        values are held to the edges.

    Returns
    -------
    ndarray
        ``(..., len(x))``.
    """
    C = np.asarray(C, dtype=float)
    x = np.asarray(x, dtype=float)
    xs = grid.centres
    if edge_values is not None:
        lo, hi = (np.asarray(v, dtype=float) for v in edge_values)
        xs = np.concatenate([[grid.edges[0]], xs, [grid.edges[-1]]])
        C = np.concatenate([lo[..., None], C, hi[..., None]], axis=-1)
    flat = C.reshape(-1, C.shape[-1])
    out = np.stack([np.interp(x, xs, row) for row in flat])
    return out.reshape(C.shape[:-1] + x.shape)


def _initial_on_grid(x, c, centres, smooth: int | None, field_name: str) -> np.ndarray:
    """Monotone PCHIP of (optionally Savitzky-Golay smoothed) data at the cell centres."""
    x = np.asarray(x, dtype=float)
    c = np.asarray(c, dtype=float)
    ok = np.isfinite(x) & np.isfinite(c)
    x, c = x[ok], c[ok]
    if x.size < 2:
        raise InputError("fewer than two finite points", field=field_name,
                         expected="an initial profile with at least two points")
    if smooth is not None:
        w = int(smooth)
        if w < 3 or w % 2 == 0:
            raise InputError(f"got {smooth!r}", field="smooth",
                             expected="an odd Savitzky-Golay window of at least 3 points")
        if w > x.size:
            raise InputError(f"window {w} is longer than the {x.size} points", field="smooth",
                             expected="a window no longer than the profile")
        c = savgol_filter(c, w, min(2, w - 1), mode="interp")
    inside = np.clip(centres, x[0], x[-1])  # hold the end values outside the measured range
    return PchipInterpolator(x, c, extrapolate=False)(inside)


def simulate_profile(
    x,
    initial,
    D,
    t,
    *,
    grid: Grid | None = None,
    n_cells: int = 400,
    pad: float | tuple[float, float] = 0.0,
    n_steps: int = 200,
    smooth: int | None = None,
    **solve_kwargs: Any,
) -> np.ndarray:
    """The profile at positions ``x`` after time(s) ``t``, starting from a given profile.

    Parameters
    ----------
    x : array_like
        Output positions, m.
    initial : Profile, (x0, C0) tuple of arrays, or callable
        Initial profile: measured points (interpolated onto the grid with monotone PCHIP, held
        constant beyond their range) or a function ``C0(x)`` of position in m.
    D : float, array_like or LayeredMedium
        Diffusivity (m² s⁻¹); an array or medium must match ``grid``.
    t : float, str or array_like
        Time(s), s.
    grid : Grid, optional
        Defaults to ``n_cells`` uniform cells over ``x`` and the initial positions, widened by
        ``pad`` (m; one width or a ``(left, right)`` pair).
    n_steps : int
        Time steps up to the longest time.
    smooth : int, optional
        Savitzky-Golay window (points, quadratic) applied to measured initial data first.
    **solve_kwargs
        Boundaries, ``theta`` and ``face_resistance``, as in :func:`solve`.

    Returns
    -------
    ndarray
        ``(len(x),)`` for one time, ``(len(t), len(x))`` for several.

    Examples
    --------
    >>> x = np.linspace(0, 1e-3, 11)
    >>> c = simulate_profile(x, lambda z: np.exp(-(z / 2e-4) ** 2), 1e-13, "1 h")
    >>> c.shape
    (11,)
    """
    x = np.asarray(x, dtype=float)
    if isinstance(initial, Profile):
        x0, c0 = initial.x, initial.fraction
    elif callable(initial):
        x0, c0 = None, None
    else:
        try:
            x0, c0 = (np.asarray(a, dtype=float) for a in initial)
        except (TypeError, ValueError):
            raise InputError("cannot read the initial profile", field="initial",
                             expected="a Profile, a (x, C) pair of arrays or a callable") from None
    if x0 is not None:
        _check_xy(x0, c0, "initial")
    if grid is None:
        pts = x if x0 is None else np.concatenate([x.ravel(), x0])
        grid = Grid.covering(pts, n_cells, pad)
    if x0 is None:
        C0 = np.asarray(initial(grid.centres), dtype=float)
    else:
        C0 = _initial_on_grid(x0, c0, grid.centres, smooth, "initial")
    scalar = np.ndim(t) == 0
    times = [_positive_time(tt, "t") for tt in np.atleast_1d(t)]
    states = solve(C0, grid, D, max(times), n_steps=n_steps, return_times=times, **solve_kwargs)
    edges = _edges_from_kwargs(states, grid, D, solve_kwargs)
    out = interpolate(grid, states, x, edge_values=edges)
    return out[0] if scalar else out


def _edges_from_kwargs(states, grid: Grid, D, kw: Mapping[str, Any]):
    face_r = kw.get("face_resistance")
    if isinstance(D, LayeredMedium):
        face_r, D = D.face_resistance, D.D
    d = _cell_diffusivity(D, grid.n_cells)
    r = _face_resistance(face_r, grid.n_cells)
    bl = _boundary("left", kw.get("left", "closed"), kw.get("left_value"), kw.get("k_left"),
                   kw.get("C_gas_left"))
    br = _boundary("right", kw.get("right", "closed"), kw.get("right_value"),
                   kw.get("k_right"), kw.get("C_gas_right"))
    return _edge_values(states, grid, d, r, bl, br)


def _check_xy(x, c, name: str, sigma=None) -> None:
    if x.ndim != 1 or c.ndim != 1 or x.size != c.size:
        raise InputError(f"positions ({x.shape}) and fractions ({c.shape}) differ in length",
                         field=f"{name}.fraction", expected="one fraction per position")
    if sigma is not None and np.shape(sigma) != x.shape:
        raise InputError(f"sigma has shape {np.shape(sigma)}, positions {x.shape}",
                         field=f"{name}.sigma", expected="one uncertainty per position")
    if x.size < 2:
        raise InputError("fewer than two points", field=f"{name}.x",
                         expected="a profile of at least two points")
    if not np.all(np.isfinite(x)):
        raise InputError("positions contain NaN or inf", field=f"{name}.x",
                         expected="finite positions (m)")
    if np.any(np.diff(x) <= 0):
        raise InputError("positions are not strictly increasing", field=f"{name}.x",
                         expected="sorted, strictly increasing positions (m)")
