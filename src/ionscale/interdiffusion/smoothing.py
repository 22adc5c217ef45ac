"""Smoothing of measured profiles before they are differentiated; never interactive.

* :func:`smooth_spline`: a **monotone penalised cubic spline** (P-spline: B-spline basis,
  second-difference penalty λ, coefficients constrained to be monotone, so the smoothed profile
  and its derivative have the sign of the profile everywhere). λ is chosen by generalised
  cross-validation (GCV) of the unconstrained penalised fit, or given.
* :func:`smooth_savgol`: **Savitzky-Golay** local polynomial regression (works on unevenly
  spaced points), window chosen by GCV (leave-one-out through the smoother's diagonal) or given.
* :func:`split_phases`: cut a multi-phase profile at its composition jumps (declared interfaces
  or jumps much larger than the point-to-point scatter); every phase is smoothed on its own.

Every smoother returns a :class:`Smooth`: values and derivatives anywhere in its range, the
residuals at the data, the effective number of parameters and the noise estimate
``σ̂ = √(RSS / (n − edf))`` that the Monte-Carlo error bands draw from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.interpolate import BSpline
from scipy.optimize import lsq_linear

from ..errors import InputError

__all__ = ["Smooth", "smooth_spline", "smooth_savgol", "smooth_profile", "split_phases",
           "Segmented"]


@dataclass(frozen=True, eq=False)
class Smooth:
    """A smoothed profile on ``[x_min, x_max]``.

    Attributes
    ----------
    method : str
        ``"spline"``, ``"savgol"`` or ``"none"``.
    x, y : ndarray
        The data smoothed.
    fitted : ndarray
        Smoothed values at ``x``.
    edf : float
        Effective number of parameters (trace of the smoother).
    noise : float
        ``√(RSS/(n − edf))``: estimated one-σ scatter of a data point.
    settings : dict
        ``lam`` (spline) or ``window`` / ``order`` (Savitzky-Golay), and how they were chosen.
    """

    method: str
    x: np.ndarray
    y: np.ndarray
    fitted: np.ndarray
    edf: float
    noise: float
    settings: dict[str, Any] = field(default_factory=dict)
    _spline: Any = None
    _deriv: Any = None

    @property
    def residuals(self) -> np.ndarray:
        return self.y - self.fitted

    def __call__(self, xq) -> np.ndarray:
        xq = np.asarray(xq, float)
        if self._spline is not None:
            return self._spline(xq)
        return np.interp(xq, self.x, self.fitted)

    def derivative(self, xq) -> np.ndarray:
        xq = np.asarray(xq, float)
        if self._deriv is not None:
            return self._deriv(xq)
        return np.interp(xq, self.x, self.settings["_dydx"])

    def refit(self, y) -> Smooth:
        """The same smoother (same λ or window, not re-chosen) applied to new data ``y``."""
        if self.method == "spline":
            return _refit_spline(self, np.asarray(y, float))
        if self.method == "savgol":
            return smooth_savgol(self.x, y, window=self.settings["window"],
                                 order=self.settings["order"])
        return no_smoothing(self.x, y)


# ------------------------------------------------------------------------------- spline
def _basis(x: np.ndarray, n_knots: int):
    lo, hi = float(x[0]), float(x[-1])
    inner = np.linspace(lo, hi, n_knots)
    t = np.concatenate([[lo] * 3, inner, [hi] * 3])
    nb = t.size - 4
    B = BSpline.design_matrix(np.clip(x, lo, hi), t, 3).toarray()
    return t, nb, B


def _penalty(nb: int) -> np.ndarray:
    return np.diff(np.eye(nb), 2, axis=0)


def smooth_spline(x, y, *, lam: float | None = None, n_knots: int | None = None,
                  increasing: bool | None = None, weights=None) -> Smooth:
    """Monotone penalised cubic spline (see the module notes).

    Parameters
    ----------
    x, y : array_like
        Positions (strictly increasing) and values.
    lam : float, optional
        Penalty weight λ (dimensionless: the basis is scaled to unit spacing); chosen by GCV
        when omitted.
    n_knots : int, optional
        Knots of the basis (default ``min(n // 2, 60)``, at least 6).
    increasing : bool, optional
        Direction of monotonicity; from the end values when omitted.
    weights : array_like, optional
        ``1/σ²`` per point.

    Returns
    -------
    Smooth
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = x.size
    if n < 5:
        raise InputError(f"{n} points cannot be smoothed", field="profile",
                         expected="at least 5 points per phase")
    if increasing is None:
        increasing = bool(y[-1] >= y[0])
    n_knots = int(n_knots or max(6, min(n // 2, 60)))
    t, nb, B = _basis(x, n_knots)
    P = _penalty(nb)
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    sw = np.sqrt(w)
    BtWB = B.T @ (B * w[:, None])
    BtWy = B.T @ (w * y)
    PtP = P.T @ P
    chosen = "given"
    if lam is None:
        chosen = "GCV"
        grid = 10.0 ** np.arange(-6.0, 8.01, 0.5)
        scores = []
        for lam_ in grid:
            A = np.linalg.solve(BtWB + lam_ * PtP, np.column_stack([BtWy, B.T * w]))
            a, H = A[:, 0], A[:, 1:]
            edf = float(np.einsum("ij,ji->", B, H))
            rss = float(np.sum(w * (y - B @ a) ** 2))
            scores.append(n * rss / max(n - edf, 1e-9) ** 2)
        k = int(np.argmin(scores))
        lam = float(grid[k])
    lam = float(lam)
    if not (math.isfinite(lam) and lam >= 0):
        raise InputError(f"lam = {lam!r}", field="lam", expected="a non-negative penalty")
    edf = float(np.trace(np.linalg.solve(BtWB + lam * PtP, BtWB)))
    # monotone coefficients: a = T b, b_0 free, b_k >= 0 (increasing) or <= 0 (decreasing)
    T = np.tril(np.ones((nb, nb)))
    A_ls = np.vstack([B * sw[:, None], math.sqrt(lam) * P]) @ T
    lo = np.full(nb, 0.0 if increasing else -np.inf)
    hi = np.full(nb, np.inf if increasing else 0.0)
    lo[0], hi[0] = -np.inf, np.inf
    design = {"t": t, "A": A_ls, "T": T, "sw": sw, "lo": lo, "hi": hi, "np": P.shape[0]}
    return _solve_spline(x, y, design, edf, {"lam": lam, "lam_chosen_by": chosen,
                                             "n_knots": n_knots, "increasing": increasing})


def _solve_spline(x, y, design, edf, settings) -> Smooth:
    rhs = np.concatenate([design["sw"] * y, np.zeros(design["np"])])
    if "qr" not in design:
        design["qr"] = np.linalg.qr(design["A"])
    q, r = design["qr"]
    b = np.linalg.solve(r, q.T @ rhs)  # unconstrained; kept when it is monotone already
    if np.any(b < design["lo"]) or np.any(b > design["hi"]):
        b = lsq_linear(design["A"], rhs, bounds=(design["lo"], design["hi"]), method="bvls",
                       lsq_solver="exact").x
    coef = design["T"] @ b
    spl = BSpline(design["t"], coef, 3, extrapolate=True)
    fitted = spl(x)
    rss = float(np.sum((y - fitted) ** 2))
    noise = math.sqrt(rss / max(x.size - edf, 1.0))
    return Smooth("spline", x, y, fitted, edf, noise, {**settings, "_design": design},
                  _spline=spl, _deriv=spl.derivative())


def _refit_spline(s: Smooth, y: np.ndarray) -> Smooth:
    """The same penalised spline (basis, λ, weights) on new data: one bounded solve."""
    settings = {k: v for k, v in s.settings.items() if k != "_design"}
    return _solve_spline(s.x, y, s.settings["_design"], s.edf, settings)


# ------------------------------------------------------------------------------ savgol
def _local_poly(x: np.ndarray, y: np.ndarray, window: int, order: int):
    """Values, derivatives and smoother diagonal of local polynomial fits of ``order`` on
    ``window`` nearest points (a Savitzky-Golay filter for even spacing)."""
    n = x.size
    dx = np.diff(x)
    if np.allclose(dx, dx[0], rtol=1e-6, atol=0):
        from scipy.signal import savgol_coeffs, savgol_filter

        vals = savgol_filter(y, window, order, mode="interp")
        ders = savgol_filter(y, window, order, deriv=1, delta=float(dx[0]), mode="interp")
        diag = np.full(n, float(savgol_coeffs(window, order)[window // 2]))
        half = window // 2
        for i in list(range(half)) + list(range(n - half, n)):  # the edges: full local fits
            a = 0 if i < half else n - window
            V = np.vander((x[a:a + window] - x[i]), order + 1, increasing=True)
            diag[i] = np.linalg.pinv(V)[0, i - a]
        return vals, ders, diag
    half = window // 2
    vals, ders, diag = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        a = min(max(i - half, 0), n - window)
        xs = x[a:a + window] - x[i]
        scale = max(np.max(np.abs(xs)), 1e-300)
        V = np.vander(xs / scale, order + 1, increasing=True)
        pinv = np.linalg.pinv(V)
        coef = pinv @ y[a:a + window]
        vals[i] = coef[0]
        ders[i] = coef[1] / scale
        diag[i] = pinv[0, i - a]
    return vals, ders, diag


def smooth_savgol(x, y, *, window: int | None = None, order: int = 3) -> Smooth:
    """Savitzky-Golay smoothing (local polynomial of ``order`` on ``window`` points).

    Parameters
    ----------
    x, y : array_like
        Positions (strictly increasing) and values.
    window : int, optional
        Odd number of points; chosen by GCV among odd windows from ``order + 2`` to ``n // 3``
        when omitted.
    order : int
        Polynomial order (default 3).

    Returns
    -------
    Smooth
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = x.size
    order = int(order)
    if n < order + 2:
        raise InputError(f"{n} points cannot be smoothed with order {order}", field="profile",
                         expected=f"at least {order + 2} points per phase")
    chosen = "given"
    if window is None:
        chosen = "GCV"
        best = None
        for w in range(order + 2 + (order + 1) % 2, max(order + 3, min(n // 3, 101)) + 1, 2):
            if w > n:
                break
            v, _, dg = _local_poly(x, y, w, order)
            edf = float(dg.sum())
            score = n * float(np.sum((y - v) ** 2)) / max(n - edf, 1e-9) ** 2
            if best is None or score < best[0]:
                best = (score, w)
        window = best[1]
    window = int(window)
    if window % 2 == 0 or window < order + 2 or window > n:
        raise InputError(f"window {window}", field="window",
                         expected=f"an odd number of points in [{order + 2}, {n}]")
    vals, ders, dg = _local_poly(x, y, window, order)
    edf = float(dg.sum())
    rss = float(np.sum((y - vals) ** 2))
    return Smooth("savgol", x, y, vals, edf, math.sqrt(rss / max(n - edf, 1.0)),
                  {"window": window, "order": order, "window_chosen_by": chosen,
                   "_dydx": ders})


def no_smoothing(x, y) -> Smooth:
    """The data themselves, with second-order finite-difference derivatives (exact or
    simulated profiles)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    return Smooth("none", x, y, y.copy(), float(x.size), 0.0,
                  {"_dydx": np.gradient(y, x, edge_order=2)})


# ------------------------------------------------------------------------------ phases
def split_phases(x, y, *, interfaces=(), jump: float | None = None) -> list[tuple[int, int]]:
    """Index ranges ``[(start, stop), ...]`` of the single-phase segments of a profile.

    A segment ends at a declared interface (a repeated position) or where consecutive points
    jump by more than ``jump`` (default: the larger of 10 % of the total change and 8 times the
    median point-to-point change) and by more than four times the steps on either side.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    dy = np.abs(np.diff(y))
    if jump is None:
        span = abs(float(y.max() - y.min()))
        jump = max(0.1 * span, 8.0 * float(np.median(dy)) if dy.size else 0.0)
    # a jump stands out from its neighbours (a steep but continuous profile does not)
    left = np.concatenate([[0.0], dy[:-1]])
    right = np.concatenate([dy[1:], [0.0]])
    isolated = dy > 4.0 * np.maximum(left, right)
    cuts = set(np.flatnonzero((dy > jump) & isolated) + 1)
    cuts |= set(np.flatnonzero(np.diff(x) == 0) + 1)
    bounds = [0, *sorted(cuts), x.size]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


@dataclass(frozen=True, eq=False)
class Segmented:
    """One :class:`Smooth` per phase, with the interface positions between them."""

    parts: tuple[Smooth, ...]
    interfaces: tuple[float, ...]

    @property
    def method(self) -> str:
        return self.parts[0].method

    @property
    def noise(self) -> float:
        n = sum(p.x.size for p in self.parts)
        return math.sqrt(sum(p.noise**2 * p.x.size for p in self.parts) / n)

    @property
    def fitted(self) -> np.ndarray:
        return np.concatenate([p.fitted for p in self.parts])

    def refit(self, y) -> Segmented:
        out, i = [], 0
        for p in self.parts:
            out.append(p.refit(y[i:i + p.x.size]))
            i += p.x.size
        return Segmented(tuple(out), self.interfaces)

    def grid(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, C, dC/dx)`` on an evaluation grid: ``n`` points spread over the phases by
        length (the data points themselves when ``n`` is None or the smoother has no
        continuous form), each phase extended to the interfaces next to it so that a
        composition jump appears as a repeated position."""
        xs, cs, ds = [], [], []
        total = sum(p.x[-1] - p.x[0] for p in self.parts) or 1.0
        for k, p in enumerate(self.parts):
            lo = self.interfaces[k - 1] if k > 0 else p.x[0]
            hi = self.interfaces[k] if k < len(self.parts) - 1 else p.x[-1]
            if n is None or p.method != "spline":
                xg = p.x.copy()
                if k > 0 and lo < xg[0]:
                    xg = np.concatenate([[lo], xg])
                if k < len(self.parts) - 1 and hi > xg[-1]:
                    xg = np.concatenate([xg, [hi]])
            else:
                m = max(20, int(round(n * (p.x[-1] - p.x[0]) / total)))
                xg = np.linspace(lo, hi, m)
            if p.method == "spline":
                c, d = p(xg), p.derivative(xg)
            else:
                # values at the data; linear continuation to the interfaces
                c = np.interp(xg, p.x, p.fitted)
                d = np.interp(xg, p.x, p.derivative(p.x))
                for edge in (0, -1):
                    j = 0 if edge == 0 else p.x.size - 1
                    out = xg < p.x[0] if edge == 0 else xg > p.x[-1]
                    c[out] = p.fitted[j] + d[out] * (xg[out] - p.x[j])
            xs.append(xg)
            cs.append(c)
            ds.append(d)
        return np.concatenate(xs), np.concatenate(cs), np.concatenate(ds)


def smooth_profile(x, y, *, method: str | None = "spline", interfaces=(), jump=None,
                   lam=None, window=None, order: int = 3, weights=None) -> Segmented:
    """Split a profile into phases (:func:`split_phases`) and smooth each one.

    Parameters
    ----------
    method : {"spline", "savgol", None}
        Monotone P-spline, Savitzky-Golay, or no smoothing (exact or simulated data).
    lam, window, order
        Smoother settings (chosen by GCV when omitted).
    interfaces : sequence of float
        Declared interface positions (m).

    Returns
    -------
    Segmented
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if method not in ("spline", "savgol", None, "none"):
        raise InputError(f"unknown smoothing {method!r}", field="smooth",
                         expected="'spline', 'savgol' or None")
    segs = split_phases(x, y, interfaces=interfaces, jump=jump)
    parts, cuts = [], []
    increasing = bool(y[-1] >= y[0])
    for k, (a, b) in enumerate(segs):
        xs, ys = x[a:b], y[a:b]
        ws = None if weights is None else np.asarray(weights, float)[a:b]
        if method == "spline":
            parts.append(smooth_spline(xs, ys, lam=lam, increasing=increasing, weights=ws))
        elif method == "savgol":
            parts.append(smooth_savgol(xs, ys, window=window, order=order))
        else:
            parts.append(no_smoothing(xs, ys))
        if k:
            cuts.append(0.5 * (x[a - 1] + x[a]))
    return Segmented(tuple(parts), tuple(cuts))
