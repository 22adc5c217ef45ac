"""Implicit, conservative finite-volume solver of ∂C/∂t = ∂/∂x (D̃(C) ∂C/∂x).

Method
------
* **Kirchhoff transform.** With ``Φ(C) = ∫ D̃(C′) dC′`` the flux is ``J = −∂Φ/∂x``, so between
  cell centres ``i`` and ``i+1`` (distance ``d``) the flux is ``−(Φ_{i+1} − Φ_i)/d`` exactly
  for any D̃(C), without averaging D̃ on faces. Inside a two-phase gap Φ is flat (D̃ = 0), which
  is the enthalpy method of Stefan problems: phases grow or shrink and interfaces move on a fixed
  grid, with the interface compositions of the phase ranges (local equilibrium). Φ is tabulated
  once per D̃ on a fine composition grid (Gauss quadrature per interval, phase limits exact) and
  interpolated linearly.
* **Time stepping.** Variable-step BDF2 (second order, L-stable enough for a step initial
  profile), started with two backward-Euler steps; the steps grow geometrically from a first
  step that resolves a cell (``h²/D̃_max``), so early, steep profiles and late, wide ones are both
  resolved with a few hundred steps.
* **Newton** on the nonlinear cell balances, with the exact tridiagonal Jacobian of the
  tabulated Φ, solved by the Thomas algorithm (compiled with numba). Every full Newton update
  keeps ``Σ h_i C_i`` exactly (the Jacobian's column sums are the cell capacities), so with
  closed ends the amount of solute is conserved to round-off at every step.

Boundaries (one per side, :class:`Boundary`)
--------------------------------------------
``closed`` (no flux: the ends of a diffusion couple), ``fixed`` (C held at a value on the
boundary face), ``flux`` (a given inward flux, concentration·m s⁻¹), ``exchange`` (surface
exchange, inward flux ``k (C_gas − C_surface)``) and ``thin-film`` (a deposited amount, in
concentration·m, placed in the first cell at t = 0, closed afterwards: the Gaussian thin-film
solution ``C = M/√(πD̃t) exp(−x²/4D̃t)`` for a surface deposit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from ..errors import InputError
from .diffusivity import Phases, as_diffusivity

__all__ = ["Boundary", "Solution", "solve", "simulate_couple", "step_profile",
           "KirchhoffTable", "time_steps", "PhaseProfile", "reconstruct", "graded_edges"]

_KINDS = {"closed": 0, "fixed": 1, "flux": 2, "exchange": 3, "thin-film": 0}


@dataclass(frozen=True)
class Boundary:
    """One end of the solved domain.

    Parameters
    ----------
    kind : {"closed", "fixed", "flux", "exchange", "thin-film"}
    value : float
        ``fixed``: the concentration on the boundary face; ``flux``: the inward flux
        (concentration·m s⁻¹); ``exchange``: the gas-side concentration ``C_gas``;
        ``thin-film``: the deposited amount M (concentration·m).
    k : float
        ``exchange`` only: the surface-exchange coefficient, m s⁻¹.

    Examples
    --------
    >>> Boundary.fixed(1.0).kind, Boundary.exchange(1e-9, 1.0).k
    ('fixed', 1e-09)
    """

    kind: str = "closed"
    value: float = 0.0
    k: float = math.nan

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise InputError(f"unknown boundary kind {self.kind!r}", field="boundary",
                             expected=f"one of {sorted(_KINDS)}")
        if not math.isfinite(self.value):
            raise InputError(f"boundary value {self.value!r}", field="boundary",
                             expected="a finite value")
        if self.kind == "exchange" and not (math.isfinite(self.k) and self.k >= 0):
            raise InputError(f"exchange coefficient k = {self.k!r}", field="boundary",
                             expected="k >= 0 (m s⁻¹)")
        if self.kind == "thin-film" and self.value < 0:
            raise InputError(f"thin-film amount {self.value!r}", field="boundary",
                             expected="a non-negative deposited amount")

    @classmethod
    def closed(cls) -> Boundary:
        return cls("closed")

    @classmethod
    def fixed(cls, value: float) -> Boundary:
        return cls("fixed", float(value))

    @classmethod
    def flux(cls, inward: float) -> Boundary:
        return cls("flux", float(inward))

    @classmethod
    def exchange(cls, k: float, c_gas: float) -> Boundary:
        return cls("exchange", float(c_gas), float(k))

    @classmethod
    def thin_film(cls, amount: float) -> Boundary:
        return cls("thin-film", float(amount))

    def code(self) -> np.ndarray:
        return np.array([_KINDS[self.kind], self.value,
                         self.k if math.isfinite(self.k) else 0.0])


def _boundary(b) -> Boundary:
    if isinstance(b, Boundary):
        return b
    if isinstance(b, str):
        if b != "closed":
            raise InputError(f"boundary {b!r} needs a value", field="boundary",
                             expected="'closed' or a Boundary (Boundary.fixed(1.0), ...)")
        return Boundary.closed()
    raise InputError(f"cannot use {b!r} as a boundary", field="boundary",
                     expected="'closed' or a Boundary object")


# ------------------------------------------------------------------------------ Φ table
_GAUSS_X, _GAUSS_W = np.polynomial.legendre.leggauss(3)


class KirchhoffTable:
    """Tabulated Kirchhoff potential ``Φ(C) = ∫ D̃ dC`` over ``[c_min, c_max]``.

    The quadrature points (3-point Gauss on the in-phase part of every interval) are fixed at
    construction, so a fit that changes only D̃ rebuilds the table with one vectorised call
    (:meth:`table`).
    """

    def __init__(self, c_min: float, c_max: float, phases: Phases, n: int = 2049) -> None:
        if not (math.isfinite(c_min) and math.isfinite(c_max)):
            raise InputError("non-finite concentration range", field="C",
                             expected="finite concentrations")
        if c_max <= c_min:
            c_max = c_min + max(abs(c_min), 1.0) * 1e-6
        pad = 1e-9 * (c_max - c_min)
        self.c0 = c_min - pad
        self.dc = (c_max + pad - self.c0) / (n - 1)
        self.n = n
        nodes = self.c0 + self.dc * np.arange(n)
        a, b = nodes[:-1], nodes[1:]
        pts, wts, idx = [], [], []
        for k, (lo, hi) in enumerate(phases):
            lo_ = -np.inf if k == 0 else lo
            hi_ = np.inf if k == len(phases) - 1 else hi
            p, q = np.maximum(a, lo_), np.minimum(b, hi_)
            ok = q > p
            if not np.any(ok):
                continue
            j = np.flatnonzero(ok)
            mid, half = 0.5 * (p[ok] + q[ok]), 0.5 * (q[ok] - p[ok])
            for gx, gw in zip(_GAUSS_X, _GAUSS_W, strict=True):
                pts.append(mid + half * gx)
                wts.append(half * gw)
                idx.append(j)
        self.points = np.concatenate(pts)
        self.weights = np.concatenate(wts)
        self.interval = np.concatenate(idx)

    def table(self, d_at_points: np.ndarray) -> np.ndarray:
        """Φ at the table nodes from D̃ at :attr:`points`."""
        d = np.asarray(d_at_points, float)
        if not np.all(np.isfinite(d)) or np.any(d < 0):
            raise InputError("D̃(C) is negative, NaN or infinite inside the simulated range",
                             field="D", expected="a positive, finite D̃(C) in every phase")
        inc = np.bincount(self.interval, weights=self.weights * d, minlength=self.n - 1)
        return np.concatenate([[0.0], np.cumsum(inc)])


# ------------------------------------------------------------------------------ kernel
@njit(cache=True)
def _phi(c, c0, dc, tab):
    n = tab.size
    j = int(math.floor((c - c0) / dc))
    if j < 0:
        j = 0
    elif j > n - 2:
        j = n - 2
    s = (tab[j + 1] - tab[j]) / dc
    return tab[j] + s * (c - (c0 + j * dc)), s


@njit(cache=True)
def _boundary_terms(kind, a, b, c, phi_c, d_c, hb, c0, dc, tab):
    """Inward flux through a boundary face and its derivative with respect to the cell's C."""
    if kind == 1:  # fixed value on the face, half a cell from the centre
        phi_b, _ = _phi(a, c0, dc, tab)
        g = 2.0 / hb
        return g * (phi_b - phi_c), -g * d_c
    if kind == 2:  # given inward flux
        return a, 0.0
    if kind == 3:  # surface exchange (a = C_gas, b = k) in series with half a cell
        if b <= 0.0:
            return 0.0, 0.0
        r = 1.0 / b + (0.5 * hb / d_c if d_c > 0.0 else 1e300)
        return (a - c) / r, -1.0 / r
    return 0.0, 0.0


@njit(cache=True)
def _residual(C, h, g, rhs, a0, dt, c0, dc, tab, bl, br, phi, d, res, lo, di, up, jac):
    """Cell balances ``res`` (and, with ``jac``, the tridiagonal Jacobian); returns the
    root-mean-square of ``res_i / h_i`` (the norm the line search decreases)."""
    n = C.size
    for i in range(n):
        phi[i], d[i] = _phi(C[i], c0, dc, tab)
        res[i] = h[i] * (a0 * C[i] - rhs[i])
    if jac:
        for i in range(n):
            di[i] = h[i] * a0
            lo[i] = 0.0
            up[i] = 0.0
    for f in range(n - 1):
        q = g[f] * (phi[f + 1] - phi[f])  # into cell f from cell f+1
        res[f] -= dt * q
        res[f + 1] += dt * q
        if jac:
            di[f] += dt * g[f] * d[f]
            up[f] = -dt * g[f] * d[f + 1]
            di[f + 1] += dt * g[f] * d[f + 1]
            lo[f + 1] = -dt * g[f] * d[f]
    fl, dfl = _boundary_terms(int(bl[0]), bl[1], bl[2], C[0], phi[0], d[0], h[0], c0, dc, tab)
    res[0] -= dt * fl
    fr, dfr = _boundary_terms(int(br[0]), br[1], br[2], C[n - 1], phi[n - 1], d[n - 1],
                              h[n - 1], c0, dc, tab)
    res[n - 1] -= dt * fr
    if jac:
        di[0] -= dt * dfl
        di[n - 1] -= dt * dfr
    total = 0.0
    for i in range(n):
        r = res[i] / h[i]
        total += r * r
    return math.sqrt(total / n)


@njit(cache=True)
def _march(h, g, C, dts, orders, c0, dc, tab, bl, br, tol, max_iter, save, out):
    n = C.size
    cn = C.copy()
    cnm1 = C.copy()
    phi = np.empty(n)
    d = np.empty(n)
    rhs = np.empty(n)
    lo = np.zeros(n)
    di = np.zeros(n)
    up = np.zeros(n)
    res = np.empty(n)
    cp = np.empty(n)
    dp = np.empty(n)
    trial = np.empty(n)
    cmin, cmax = C.min(), C.max()
    for v in (bl[1], br[1]):
        cmin = min(cmin, v)
        cmax = max(cmax, v)
    scale = max(cmax - cmin, 1e-300)
    dt_prev = 0.0
    k_out = 0
    iters = 0
    worst = 0.0
    for s in range(dts.size):
        dt = dts[s]
        if orders[s] == 2 and dt_prev > 0.0 and dt / dt_prev < 2.0:
            w = dt / dt_prev
            a0 = (1.0 + 2.0 * w) / (1.0 + w)
            a1 = 1.0 + w
            a2 = w * w / (1.0 + w)
        else:
            a0, a1, a2 = 1.0, 1.0, 0.0
        for i in range(n):
            rhs[i] = a1 * cn[i] - a2 * cnm1[i]
            C[i] = cn[i]
        last = 0.0
        rnorm = _residual(C, h, g, rhs, a0, dt, c0, dc, tab, bl, br, phi, d, res, lo, di,
                          up, True)
        for _ in range(max_iter):
            # Thomas algorithm for J δ = −res
            cp[0] = up[0] / di[0]
            dp[0] = -res[0] / di[0]
            for i in range(1, n):
                m = di[i] - lo[i] * cp[i - 1]
                cp[i] = up[i] / m
                dp[i] = (-res[i] - lo[i] * dp[i - 1]) / m
            for i in range(n - 2, -1, -1):
                dp[i] = dp[i] - cp[i] * dp[i + 1]
            # backtracking on the rms balance residual (at the kinks of Φ at phase limits, and
            # in two-phase gaps where Φ′ = 0, a full Newton step can overshoot); any step
            # length keeps Σ h C
            lam = 1.0
            for _k in range(30):
                for i in range(n):
                    trial[i] = C[i] + lam * dp[i]
                rn = _residual(trial, h, g, rhs, a0, dt, c0, dc, tab, bl, br, phi, d, res,
                               lo, di, up, False)
                if rn <= (1.0 - 1e-4 * lam) * rnorm or rn == 0.0:
                    break
                lam *= 0.5
            for i in range(n):
                C[i] = trial[i]
            rnorm = _residual(C, h, g, rhs, a0, dt, c0, dc, tab, bl, br, phi, d, res, lo, di,
                              up, True)
            iters += 1
            last = rnorm
            if rnorm <= tol * scale:
                break
        if last > worst:
            worst = last
        for i in range(n):
            cnm1[i] = cn[i]
            cn[i] = C[i]
        dt_prev = dt
        if save[s]:
            for i in range(n):
                out[k_out, i] = C[i]
            k_out += 1
    return iters, worst


# ------------------------------------------------------------------------------ driver
def time_steps(t_end: float, n_steps: int, first: float, outputs=()) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """Geometrically growing steps from ``first`` that end exactly at ``t_end`` and at every
    time in ``outputs``; returns ``(dt, save)`` (``save`` marks the steps ending at an output).
    """
    first = min(first, t_end / n_steps)

    def total(q: float) -> float:  # first (q^n − 1)/(q − 1) without overflow
        return first * math.expm1(min(n_steps * math.log(q), 700.0)) / (q - 1.0)

    if first * n_steps >= t_end * (1 - 1e-12):
        q = 1.0
    else:
        lo_q, hi_q = 1.0, 2.0
        while total(hi_q) < t_end:
            hi_q *= 2
        for _ in range(200):
            q = 0.5 * (lo_q + hi_q)
            if q in (lo_q, hi_q):
                break
            if total(q) < t_end:
                lo_q = q
            else:
                hi_q = q
        q = 0.5 * (lo_q + hi_q)
    ends = first * (q ** np.arange(1, n_steps + 1) - 1) / (q - 1) if q != 1.0 else \
        first * np.arange(1, n_steps + 1)
    ends[-1] = t_end
    outputs = np.unique(np.asarray([*outputs, t_end], float))
    ends = np.asarray(ends)
    dt_local = np.diff(np.concatenate([[0.0], ends]))
    keep = np.ones(ends.size, bool)
    for t_o in outputs:
        close = np.abs(ends - t_o) < 0.3 * dt_local
        keep &= ~close
    ends = np.unique(np.concatenate([ends[keep], outputs]))
    dts = np.diff(np.concatenate([[0.0], ends]))
    save = np.isin(ends, outputs)
    return dts, save


@dataclass(frozen=True, eq=False)
class Solution:
    """Concentration profiles computed by :func:`solve`.

    Attributes
    ----------
    edges, x : ndarray
        Cell edges and centres, m.
    t : ndarray
        Output times, s.
    C : ndarray
        ``(len(t), n_cells)`` cell-average concentrations.
    mass : ndarray
        ``Σ h_i C_i`` at each output time (concentration·m).
    initial_mass : float
        ``Σ h_i C_i`` of the initial profile (thin-film deposit included).
    newton_iterations : int
        Newton iterations over all steps.
    max_residual : float
        Largest rms balance residual left by Newton at the end of a step (concentration
        units; converged steps are below ``tol`` × the concentration range).
    n_steps : int
        Time steps taken.
    """

    edges: np.ndarray
    x: np.ndarray
    t: np.ndarray
    C: np.ndarray
    mass: np.ndarray
    initial_mass: float
    newton_iterations: int
    max_residual: float
    n_steps: int
    parameters: dict[str, Any] = field(default_factory=dict)

    def at(self, x, index: int = -1) -> np.ndarray:
        """The profile at output ``index`` interpolated linearly at positions ``x`` (m); held
        at the end cells' values outside the centres."""
        return np.interp(np.asarray(x, float), self.x, self.C[index])


def _edges(x, length=None, n_cells=None) -> np.ndarray:
    e = np.asarray(x, dtype=float)
    if e.ndim != 1 or e.size < 3 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise InputError("cell edges must be a finite, strictly increasing array of >= 3",
                         field="edges", expected="cell edges in m")
    return e


def solve(edges, C0, D, time, *, phases=None, left="closed", right="closed",
          n_steps: int = 200, outputs=(), first_step: float | None = None,
          tol: float = 1e-10, max_iter: int = 50, table_points: int = 2049) -> Solution:
    """Solve ``∂C/∂t = ∂/∂x (D̃(C) ∂C/∂x)`` from ``C0`` for ``time`` seconds.

    Parameters
    ----------
    edges : array_like
        Cell edges, m (``n_cells + 1``, strictly increasing; uniform or not).
    C0 : array_like
        Initial cell-average concentrations (``n_cells``).
    D : float, callable or LogSplineDiffusivity
        D̃(C) in m² s⁻¹ (a callable's ``phases`` attribute, if any, gives the phases).
    time : float
        Anneal time, s (> 0).
    phases : sequence of (low, high), optional
        Composition ranges of the phases (two-phase gaps between them); one phase if omitted.
    left, right : "closed" or Boundary
        Boundary conditions (see the module notes).
    n_steps : int
        Number of time steps (geometrically growing).
    outputs : sequence of float
        Extra output times, s (the final time is always one).
    first_step : float, optional
        First time step, s; default ``0.2 h_min² / D̃_max`` (at most ``time/n_steps``).
    tol : float
        Newton tolerance on the update, relative to the concentration range.
    max_iter : int
        Newton iterations per step at most.
    table_points : int
        Nodes of the tabulated Kirchhoff potential.

    Returns
    -------
    Solution

    Examples
    --------
    >>> import numpy as np
    >>> e = np.linspace(-1e-3, 1e-3, 401)
    >>> c0 = (0.5 * (e[:-1] + e[1:]) > 0).astype(float)
    >>> sol = solve(e, c0, 1e-13, 3600.0 * 100)
    >>> bool(abs(sol.mass[-1] - sol.initial_mass) < 1e-15)
    True
    """
    edges = _edges(edges)
    h = np.diff(edges)
    n = h.size
    c = np.array(C0, dtype=float, copy=True)
    if c.shape != (n,) or not np.all(np.isfinite(c)):
        raise InputError(f"initial profile has shape {c.shape}", field="C0",
                         expected=f"{n} finite cell values")
    t_end = float(time)
    if not (math.isfinite(t_end) and t_end > 0):
        raise InputError(f"time = {time!r}", field="time", expected="a positive time in s")
    n_steps = int(n_steps)
    if n_steps < 1:
        raise InputError(f"n_steps = {n_steps}", field="n_steps", expected=">= 1")
    bl, br = _boundary(left), _boundary(right)
    if bl.kind == "thin-film":
        c[0] += bl.value / h[0]
    if br.kind == "thin-film":
        c[-1] += br.value / h[-1]
    func, ph = as_diffusivity(D, phases)
    cvals = [c.min(), c.max()]
    for b in (bl, br):
        if b.kind in ("fixed", "exchange"):
            cvals.append(b.value)
    table = KirchhoffTable(min(cvals), max(cvals), ph, n=table_points)
    d_points = np.asarray(func(table.points), float)
    tab = table.table(d_points)
    d_max = float(np.max(d_points)) if d_points.size else 0.0
    if first_step is None:
        first_step = 0.2 * float(h.min()) ** 2 / d_max if d_max > 0 else t_end / n_steps
    return _run(edges, h, c, table, tab, t_end, n_steps, outputs, first_step, bl, br, tol,
                max_iter)


def _run(edges, h, c, table, tab, t_end, n_steps, outputs, first_step, bl, br, tol, max_iter,
         schedule=None) -> Solution:
    centres = 0.5 * (edges[:-1] + edges[1:])
    g = 1.0 / np.diff(centres)
    dts, save = schedule if schedule is not None else time_steps(t_end, n_steps, first_step,
                                                                 outputs)
    orders = np.full(dts.size, 2, dtype=np.int64)
    orders[:2] = 1
    out = np.empty((int(save.sum()), h.size))
    initial_mass = float(np.sum(h * c))
    work = c.copy()
    iters, worst = _march(h, g, work, dts, orders, table.c0, table.dc, tab, bl.code(),
                          br.code(), tol, max_iter, save, out)
    t = np.cumsum(dts)[save]
    return Solution(edges=edges, x=centres, t=t, C=out, mass=out @ h,
                    initial_mass=initial_mass, newton_iterations=int(iters),
                    max_residual=float(worst), n_steps=int(dts.size))


def step_profile(edges, position: float, left: float, right: float) -> np.ndarray:
    """Cell averages of a step from ``left`` to ``right`` at ``position`` (m): the cell that
    contains the step gets the exact average, so the amount of solute is exact."""
    e = np.asarray(edges, float)
    frac = np.clip((e[1:] - position) / np.diff(e), 0.0, 1.0)  # share right of the step
    return left + (right - left) * frac


def simulate_couple(D, time, *, ends=(0.0, 1.0), interface: float = 0.0, x=None,
                    half_width: float | None = None, n_cells: int = 600, phases=None,
                    n_steps: int = 200, outputs=(), resolution: float | None = None
                    ) -> Solution:
    """Simulate a diffusion couple: a step from ``ends[0]`` to ``ends[1]`` at ``interface``
    between closed ends.

    Parameters
    ----------
    D : float, callable or LogSplineDiffusivity
        D̃(C), m² s⁻¹.
    time : float
        Anneal time, s.
    ends : (float, float)
        Compositions of the left and right end members.
    interface : float
        Initial interface (step) position, m.
    x : array_like, optional
        Positions (m) the domain must cover (e.g. the measured points); the domain is widened
        to at least ``half_width`` on each side of ``interface``.
    half_width : float, optional
        Half-width of the domain, m; default ``8 √(D̃_max t)``.
    n_cells : int
        Uniform cells.
    phases : sequence of (low, high), optional
        Phase composition ranges.
    n_steps, outputs
        As in :func:`solve`.
    resolution : float, optional
        If given, every output profile is convolved with a Gaussian of this standard deviation
        (m): what a probe of that resolution would measure.

    Returns
    -------
    Solution
    """
    func, ph = as_diffusivity(D, phases)
    lo_c, hi_c = sorted(map(float, ends))
    probe = np.linspace(lo_c, hi_c, 257)
    d_probe = np.asarray(func(probe), float)
    d_max = float(np.nanmax(d_probe)) if np.any(np.isfinite(d_probe)) else 0.0
    if not d_max > 0:
        raise InputError("D̃ is not positive between the end compositions", field="D",
                         expected="D̃(C) > 0")
    if half_width is None:
        half_width = 8.0 * math.sqrt(d_max * float(time))
    a, b = interface - half_width, interface + half_width
    if x is not None:
        xs = np.asarray(x, float)
        a, b = min(a, float(xs.min())), max(b, float(xs.max()))
    edges = np.linspace(a, b, int(n_cells) + 1)
    c0 = step_profile(edges, interface, float(ends[0]), float(ends[1]))
    sol = solve(edges, c0, func, time, phases=ph, n_steps=n_steps, outputs=outputs)
    if resolution:
        from .resolution import broaden

        C = np.array([broaden(sol.x, row, resolution) for row in sol.C])
        sol = Solution(edges=sol.edges, x=sol.x, t=sol.t, C=C, mass=C @ np.diff(sol.edges),
                       initial_mass=sol.initial_mass, newton_iterations=sol.newton_iterations,
                       max_residual=sol.max_residual, n_steps=sol.n_steps,
                       parameters={"resolution": resolution})
    return sol


# ------------------------------------------------------------------------------ reconstruction
@dataclass(frozen=True, eq=False)
class PhaseProfile:
    """A simulated profile with sharp phase interfaces, evaluable anywhere.

    In the enthalpy method an interface lies inside a cell whose average falls in a two-phase
    gap; the share of that cell held by each phase follows from the average (lever rule), which
    places the interface to a fraction of a cell. Between interfaces the profile is linear
    between cell centres and reaches the phase-boundary compositions at the interfaces (local
    equilibrium). The interface positions, and so the profile at any point away from them, move
    continuously with D̃: what a least-squares fit needs.

    Attributes
    ----------
    segments : tuple of (ndarray, ndarray)
        ``(x, C)`` nodes of each phase, left to right.
    interfaces : ndarray
        Interface positions, m (one fewer than segments).
    """

    segments: tuple[tuple[np.ndarray, np.ndarray], ...]
    interfaces: np.ndarray

    def __call__(self, xq) -> np.ndarray:
        xq = np.asarray(xq, float)
        k = np.searchsorted(self.interfaces, xq)
        out = np.empty(xq.shape)
        for i, (xs, cs) in enumerate(self.segments):
            m = k == i
            if np.any(m):
                out[m] = np.interp(xq[m], xs, cs)
        return out

    def slope(self, xq) -> np.ndarray:
        """dC/dx away from the interfaces (the jumps are not included)."""
        xq = np.asarray(xq, float)
        k = np.searchsorted(self.interfaces, xq)
        out = np.zeros(xq.shape)
        for i, (xs, cs) in enumerate(self.segments):
            m = k == i
            if np.any(m) and xs.size > 1:
                g = np.gradient(cs, xs) if xs.size > 2 else np.full(2, (cs[1] - cs[0]) /
                                                                    (xs[1] - xs[0]))
                out[m] = np.interp(xq[m], xs, g)
        return out

    def sampled(self, x) -> tuple[np.ndarray, np.ndarray]:
        """``(x, C)`` for plotting, with each interface as a repeated position."""
        xs, cs = [], []
        for sx, sc in self.segments:
            keep = (sx >= x[0]) & (sx <= x[-1])
            xs.append(sx[keep])
            cs.append(sc[keep])
        return np.concatenate(xs), np.concatenate(cs)


def reconstruct(edges, C, phases=None) -> PhaseProfile:
    """Sharp-interface profile of a cell solution (see :class:`PhaseProfile`).

    Parameters
    ----------
    edges : array_like
        Cell edges, m.
    C : array_like
        Cell averages of a profile that is monotonic across each two-phase gap.
    phases : sequence of (low, high), optional
        Phase composition ranges; one phase (linear interpolation) if omitted.
    """
    from .diffusivity import check_phases

    e = np.asarray(edges, float)
    C = np.asarray(C, float)
    x = 0.5 * (e[:-1] + e[1:])
    h = np.diff(e)
    ph = check_phases(phases)
    if len(ph) == 1:
        return PhaseProfile(((x, C),), np.array([]))
    if C[-1] < C[0]:  # mirror a decreasing profile, reconstruct, mirror back
        m = reconstruct(-e[::-1], C[::-1], ph)
        segs = tuple((-sx[::-1], sc[::-1]) for sx, sc in m.segments[::-1])
        return PhaseProfile(segs, -m.interfaces[::-1])
    xi = []
    for k in range(len(ph) - 1):
        lo, hi = ph[k][1], ph[k + 1][0]
        theta = np.clip((C - lo) / (hi - lo), 0.0, 1.0)  # share of each cell beyond the gap
        xi.append(e[-1] - float(np.sum(h * theta)))
    xi = np.maximum.accumulate(np.asarray(xi))
    pid = np.full(C.shape, -1)
    for k, (lo, hi) in enumerate(ph):
        lo_ = -np.inf if k == 0 else lo
        hi_ = np.inf if k == len(ph) - 1 else hi
        pid[(C >= lo_) & (C <= hi_)] = k
    segments = []
    bounds = [-np.inf, *xi.tolist(), np.inf]
    for k in range(len(ph)):
        a, b = bounds[k], bounds[k + 1]
        m = (pid == k) & (x > a) & (x < b)
        xs, cs = list(x[m]), list(C[m])
        if np.isfinite(a):
            xs.insert(0, a)
            cs.insert(0, ph[k][0])
        if np.isfinite(b):
            xs.append(b)
            cs.append(ph[k][1])
        if len(xs) == 1:
            xs.append(xs[0])
            cs.append(cs[0])
        segments.append((np.asarray(xs), np.asarray(cs)))
    return PhaseProfile(tuple(segments), xi)


def graded_edges(domain, core, h: float, growth: float = 1.06) -> np.ndarray:
    """Cell edges: uniform cells of ``h`` over ``core``, growing by ``growth`` per cell
    towards the ends of ``domain`` (m)."""
    a, b = float(domain[0]), float(domain[1])
    ca, cb = max(float(core[0]), a), min(float(core[1]), b)
    n = max(int(math.ceil((cb - ca) / h)), 1)
    mid = np.linspace(ca, cb, n + 1)
    hh = (cb - ca) / n

    def outward(start, stop, sign):
        pts, step, pos = [], hh, start
        while sign * (stop - pos) > 1e-12 * abs(stop - start + 1e-300):
            step *= growth
            pos = pos + sign * step
            if sign * (pos - stop) > -0.5 * step:
                pos = stop
            pts.append(pos)
        return pts

    left = outward(ca, a, -1.0)[::-1]
    right = outward(cb, b, 1.0)
    return np.concatenate([left, mid, right])
