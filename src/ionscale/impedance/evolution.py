"""Resistance evolution R(t): √t laws, two segments with a fitted breakpoint, logarithmic growth.

A resistive layer that grows by diffusion (an interphase, a reaction layer) has a thickness
and hence a resistance that rise as ``√t``; seed 004 follows the ionic resistance of Li3PS4
pellets for 180 h and finds that ``R(√t)`` needs two straight segments (fast relaxation of the
porosity, then a surface reaction) while ``R(t)`` looks logarithmic. :func:`resistance_evolution`
fits, to the same data with the same weights:

* ``line``: ``R = R0 + b √t``;
* ``two_segment``: a continuous broken line in ``x = √t`` with slopes ``b1`` (before) and
  ``b2`` (after) the breakpoint ``x_b`` (parameters ``R_break``, ``slope_1``, ``slope_2``,
  ``sqrt_t_break``). The breakpoint is found by scanning candidate positions (each a linear
  least-squares problem), then refined with all four parameters free, so it gets a standard
  error; ``t_break = x_b²``;
* ``log``: ``R = a + b ln(1 + t / t0)`` (``t0`` in log space; started from a scan of ``t0``).

Models are ranked by AIC (BIC also reported). The two-segment line is nested in the single
line (``b1 = b2``), so an F-test compares them, ``F = ((χ²₁ - χ²₂) / 2) / (χ²₂ / (n - 4))``;
because the breakpoint is searched, this F is anti-conservative and the two-segment model is
accepted only when it passes the test at ``alpha`` *and* has the lowest AIC.

Units: t in s, R in ohm, slopes in ohm s⁻¹ᐟ², t0 and t_break in s.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..errors import FitError, FitWarning, InputError
from ..fitting import FitResult, fit_curve
from ..results import Provenance, Result, Value, new_axes

__all__ = ["EvolutionResult", "resistance_evolution", "resistance_series"]

SLOPE_UNIT = "ohm/s^0.5"
MODELS = ("line", "two_segment", "log")


# --------------------------------------------------------------------------- models


def _line(x, R0, slope):
    return R0 + slope * x


def _line_jac(x, R0, slope):
    return np.column_stack([np.ones_like(x), x])


def _two(x, R_break, slope_1, slope_2, sqrt_t_break):
    d = x - sqrt_t_break
    return R_break + np.where(d <= 0, slope_1, slope_2) * d


def _two_jac(x, R_break, slope_1, slope_2, sqrt_t_break):
    d = x - sqrt_t_break
    before = d <= 0
    return np.column_stack([np.ones_like(x), np.where(before, d, 0.0),
                            np.where(before, 0.0, d),
                            -np.where(before, slope_1, slope_2)])


def _log(t, a, b, t0):
    return a + b * np.log1p(t / t0)


def _log_jac(t, a, b, t0):
    return np.column_stack([np.ones_like(t), np.log1p(t / t0), -b * t / (t0 * (t0 + t))])


def _wlstsq(X, y, w):
    """Weighted linear least squares: coefficients and χ²."""
    coef, *_ = np.linalg.lstsq(X * w[:, None], y * w, rcond=None)
    r = (X @ coef - y) * w
    return coef, float(r @ r)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, kw_only=True)
class EvolutionResult(Result):
    """Fits of a resistance series against √t (line, two segments) and ln t.

    Values (SI): ``slope`` and ``R0`` of the line; ``slope_1``, ``slope_2`` (ohm s⁻¹ᐟ²),
    ``t_break`` (s), ``sqrt_t_break`` (s¹ᐟ²) and ``R_break`` of the two segments; ``log_a``,
    ``log_b`` (ohm) and ``log_t0`` (s) of the logarithmic model; ``F``, ``p_value`` and
    ``delta_aic_*`` (AIC of the line minus AIC of the alternative; positive favours it).

    Attributes
    ----------
    time : ndarray
        Times, s (sorted).
    R : ndarray
        Resistances, ohm.
    R_err : ndarray or None
        Their one-σ errors (None: unit weights, covariances scaled by the reduced χ²).
    fits : dict
        ``{"line": FitResult, "two_segment": FitResult or None, "log": FitResult or None}``.
    table : dict
        Per fitted model: ``k`` (free parameters), ``chi2``, ``aic``, ``bic``.
    preferred : str
        ``"line"``, ``"two_segment"`` or ``"log"``.
    verdict : str
        One sentence explaining the choice.
    alpha : float
        Significance level of the F-test.
    notes : dict
        Warnings of each model's fit (bounds reached, poor χ²...), by model name.
    """

    time: np.ndarray
    R: np.ndarray
    R_err: np.ndarray | None = None
    fits: dict = field(default_factory=dict)
    table: dict = field(default_factory=dict)
    preferred: str = "line"
    verdict: str = ""
    alpha: float = 0.01
    notes: dict = field(default_factory=dict)

    def predict(self, t, model: str | None = None) -> np.ndarray:
        """Resistance of ``model`` (default: the preferred one) at times ``t`` (s), ohm."""
        model = model or self.preferred
        fit = self.fits.get(model)
        if fit is None:
            raise InputError(f"model {model!r} was not fitted", field="model",
                             expected=f"one of {[k for k, v in self.fits.items() if v]}")
        t = np.asarray(t, dtype=float)
        p = fit.params
        if model == "log":
            return _log(t, **p)
        x = np.sqrt(np.clip(t, 0.0, None))
        return _line(x, **p) if model == "line" else _two(x, **p)

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}"]
        for name, row in self.table.items():
            mark = " *" if name == self.preferred else ""
            lines.append(f"  {name:12s} k={row['k']}  χ²={row['chi2']:.4g}  "
                         f"AIC={row['aic']:.4g}  BIC={row['bic']:.4g}{mark}")
        lines += [f"  {v}" for v in self.values.values()]
        lines.append(f"  ionscale {self.provenance.version}")
        return "\n".join(lines)

    def plot(self, ax=None):
        """R against √t with the data, the line, the two segments with their breakpoint and
        the logarithmic model; the preferred model is drawn thicker.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made if omitted.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        hours = self.time.max() > 2 * 3600.0
        unit, scale = ("h", 3600.0) if hours else ("s", 1.0)
        xs = np.sqrt(self.time / scale)
        if self.R_err is not None:
            ax.errorbar(xs, self.R, yerr=self.R_err, fmt="o", ms=3, capsize=2, color="0.4",
                        label="data", zorder=1)
        else:
            ax.plot(xs, self.R, "o", ms=3, color="0.4", label="data", zorder=1)
        tt = np.linspace(self.time.min(), self.time.max(), 400)
        xx = np.sqrt(tt / scale)
        styles = {"line": ("--", "one line"), "two_segment": ("-", "two segments"),
                  "log": ("-.", "a + b ln(1 + t/t0)")}
        for name, (ls, label) in styles.items():
            if self.fits.get(name) is None:
                continue
            lw = 2.4 if name == self.preferred else 1.2
            d_aic = self.values.get(f"delta_aic_{name}")
            if d_aic is not None:
                label += f" (ΔAIC {d_aic.value:+.3g})"
            ax.plot(xx, self.predict(tt, name), ls, lw=lw, label=label, zorder=2)
        two = self.fits.get("two_segment")
        if two is not None:
            xb = self.values["sqrt_t_break"].value / math.sqrt(scale)
            xbe = self.values["sqrt_t_break"].error / math.sqrt(scale)
            ax.axvline(xb, color="k", ls=":", lw=1)
            if math.isfinite(xbe):
                ax.axvspan(xb - xbe, xb + xbe, color="k", alpha=0.08, lw=0)
            tb = self.values["t_break"].value / scale
            ax.annotate(f"break {tb:.3g} {unit}", (xb, float(np.max(self.R))),
                        textcoords="offset points", xytext=(4, -10), fontsize="small")
        ax.set_xlabel(f"√t ({unit}$^{{1/2}}$)")
        ax.set_ylabel("R (Ω)")
        ax.set_title(f"preferred: {self.preferred.replace('_', ' ')}", fontsize="small")
        ax.legend(fontsize="small")
        return ax


# --------------------------------------------------------------------------- fitting


def _read_series(time_s, R, R_err):
    def unpack(x, name):
        if isinstance(x, list | tuple) and x and all(hasattr(v, "value") and hasattr(v, "error")
                                                     for v in x):
            return (np.array([float(v.value) for v in x]),
                    np.array([float(v.error) for v in x]))
        if hasattr(x, "value") and hasattr(x, "error") and not isinstance(x, np.ndarray):
            return np.asarray(x.value, dtype=float), np.asarray(x.error, dtype=float)
        try:
            return np.asarray(x, dtype=float), None
        except (TypeError, ValueError):
            raise InputError(f"cannot read {name} as numbers", field=name,
                             expected="an array of numbers (SI)") from None

    t, _ = unpack(time_s, "time_s")
    r, r_e = unpack(R, "R")
    if R_err is not None:
        try:
            r_e = np.broadcast_to(np.asarray(R_err, dtype=float), r.shape).copy()
        except (TypeError, ValueError):
            raise InputError("R_err does not match R", field="R_err",
                             expected="one error per resistance, ohm") from None
    if t.ndim != 1 or r.shape != t.shape:
        raise InputError(f"time_s has shape {t.shape} but R has shape {r.shape}", field="R",
                         expected="1-D arrays of equal length")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(r))):
        raise InputError("NaN or inf in the series", field="R" if np.all(np.isfinite(t))
                         else "time_s", expected="finite values")
    if np.any(t < 0):
        raise InputError(f"negative time {t.min():.4g} s", field="time_s",
                         expected="times >= 0 s from the start of the series")
    if r_e is not None:
        if np.all(r_e == 0):
            r_e = None
        elif not np.all(np.isfinite(r_e)) or np.any(r_e <= 0):
            raise InputError("errors must be finite and positive", field="R_err",
                             expected="R_err > 0, ohm")
    order = np.argsort(t, kind="stable")
    t, r = t[order], r[order]
    if r_e is not None:
        r_e = r_e[order]
    if t.size < 3:
        raise InputError(f"{t.size} point(s)", field="R", expected="at least 3 points")
    if np.unique(t).size < 3:
        raise InputError("fewer than 3 distinct times", field="time_s",
                         expected="at least 3 distinct times")
    return t, r, r_e


def _fit_line(x, r, r_e):
    w = 1.0 / r_e if r_e is not None else np.ones_like(x)
    coef, _ = _wlstsq(np.column_stack([np.ones_like(x), x]), r, w)
    p0 = {"R0": _nonzero(coef[0], r), "slope": _nonzero(coef[1], r / max(x.max(), 1e-300))}
    return fit_curve(_line, x, r, p0, sigma=r_e, jacobian=_line_jac)


def _nonzero(v, ref) -> float:
    """A start value away from 0 (the core scales parameters by their start)."""
    floor = 1e-6 * float(np.max(np.abs(ref))) if np.size(ref) else 1e-12
    floor = max(floor, 1e-300)
    v = float(v)
    return v if abs(v) >= floor else math.copysign(floor, v if v else 1.0)


def _fit_two(x, r, r_e, min_points, n_grid):
    xs = np.unique(x)
    if xs.size < 2 * min_points:
        return None, "too few distinct times for two segments"
    lo, hi = xs[min_points - 1], xs[-min_points]
    cands = np.union1d(xs[(xs >= lo) & (xs <= hi)], 0.5 * (xs[1:] + xs[:-1]))
    cands = cands[(cands >= lo) & (cands <= hi)]
    if cands.size > n_grid:
        cands = cands[np.unique(np.linspace(0, cands.size - 1, n_grid).round().astype(int))]
    w = 1.0 / r_e if r_e is not None else np.ones_like(x)
    best = None
    for xb in cands:
        d = x - xb
        X = np.column_stack([np.ones_like(x), np.where(d <= 0, d, 0.0), np.where(d > 0, d, 0.0)])
        coef, chi2 = _wlstsq(X, r, w)
        if best is None or chi2 < best[0]:
            best = (chi2, xb, coef)
    _, xb, coef = best
    scale_r = r / max(float(np.ptp(x)), 1e-300)
    p0 = {"R_break": _nonzero(coef[0], r), "slope_1": _nonzero(coef[1], scale_r),
          "slope_2": _nonzero(coef[2], scale_r), "sqrt_t_break": max(float(xb), 1e-300)}
    bounds = {"sqrt_t_break": (float(lo), float(hi))} if hi > lo else None
    if bounds is not None and not lo < p0["sqrt_t_break"] < hi:
        p0["sqrt_t_break"] = float(np.clip(xb, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        try:
            fit = fit_curve(_two, x, r, p0, sigma=r_e, jacobian=_two_jac, bounds=bounds)
        except FitError as exc:
            return None, f"two-segment fit failed: {exc}"
    return fit, "; ".join(str(w.message) for w in caught)


def _fit_log(t, r, r_e, n_grid):
    positive = t[t > 0]
    if positive.size < 2:
        return None, "too few positive times for the logarithmic model"
    dt = np.diff(np.unique(t))
    t_lo = max(float(dt.min()) * 1e-2, 1e-9 * float(t.max()))
    t_hi = float(t.max()) * 1e3
    w = 1.0 / r_e if r_e is not None else np.ones_like(t)
    best = None
    for t0 in np.geomspace(t_lo, t_hi, max(int(n_grid) // 4, 30)):
        X = np.column_stack([np.ones_like(t), np.log1p(t / t0)])
        coef, chi2 = _wlstsq(X, r, w)
        if best is None or chi2 < best[0]:
            best = (chi2, t0, coef)
    _, t0, coef = best
    p0 = {"a": _nonzero(coef[0], r), "b": _nonzero(coef[1], r), "t0": float(t0)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        try:
            fit = fit_curve(_log, t, r, p0, sigma=r_e, jacobian=_log_jac, log=("t0",),
                            bounds={"t0": (t_lo * 1e-3, t_hi * 1e3)})
        except FitError as exc:
            return None, f"logarithmic fit failed: {exc}"
    return fit, "; ".join(str(w.message) for w in caught)


def _absolute_time(item, i: int) -> float | None:
    """Seconds since the epoch (or since the file start) of one fitted spectrum, or None."""
    import datetime as _dt

    t = getattr(item, "time", None)
    start = getattr(item, "start_time", None)
    base = None
    if start:
        try:
            stamp = _dt.datetime.fromisoformat(str(start))
        except ValueError:
            raise InputError(f"cannot read start time {start!r}", field=f"fits[{i}].start_time",
                             expected="an ISO 8601 time stamp") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=_dt.UTC)
        base = stamp.timestamp()
    if t is None and base is None:
        return None
    return (base or 0.0) + (float(t) if t is not None else 0.0)


def resistance_series(fits, parameter: str = "R1", *, time_s=None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R(t) from a series of fitted spectra, for :func:`resistance_evolution`.

    Parameters
    ----------
    fits : sequence of results
        Circuit fits (e.g. :class:`~ionscale.impedance.fit.CircuitFit`), each with
        ``values[parameter]`` (a :class:`~ionscale.results.Value` in ohm) and, unless
        ``time_s`` is given, a ``time`` (s) and/or ``start_time`` (ISO 8601).
    parameter : str
        The resistance to follow (``"R1"``, ``"R_gb"``...).
    time_s : array_like, optional
        Time of each fit, s (overrides the fits' own times).

    Returns
    -------
    time, R, R_err : ndarray
        Times in s from the first spectrum, resistances and their errors in ohm.

    Raises
    ------
    InputError
        A fit without ``parameter``, or without a time when ``time_s`` is not given.

    Examples
    --------
    >>> from ionscale.results import Value
    >>> class Fit:                      # anything with values, time
    ...     def __init__(self, t, r):
    ...         self.values, self.time, self.start_time = {"R1": Value("R1", r, 1.0)}, t, None
    >>> t, R, e = resistance_series([Fit(600.0, 101.0), Fit(0.0, 100.0)])
    >>> t.tolist(), R.tolist()
    ([0.0, 600.0], [100.0, 101.0])
    """
    items = list(fits)
    if not items:
        raise InputError("no fit given", field="fits", expected="a sequence of circuit fits")
    R, E, T = [], [], []
    for i, item in enumerate(items):
        values = getattr(item, "values", None)
        if not isinstance(values, dict) and not hasattr(values, "get"):
            raise InputError(f"item {i} has no values", field=f"fits[{i}]",
                             expected="a fit result with values")
        v = values.get(parameter)
        if v is None:
            raise InputError(f"fit {i} has no parameter {parameter!r}", field="parameter",
                             expected=f"one of {sorted(values)}")
        R.append(float(v.value))
        E.append(float(v.error))
        if time_s is None:
            t = _absolute_time(item, i)
            if t is None:
                raise InputError(f"fit {i} has no time", field="time_s",
                                 expected="time_s, or fits of spectra with time stamps")
            T.append(t)
    if time_s is not None:
        T = np.asarray(time_s, dtype=float).ravel()
        if T.size != len(items):
            raise InputError(f"{T.size} times for {len(items)} fits", field="time_s",
                             expected="one time per fit, s")
    t = np.asarray(T, dtype=float)
    order = np.argsort(t, kind="stable")
    t = t[order] - t.min()
    return t, np.asarray(R)[order], np.asarray(E)[order]


def resistance_evolution(
    time_s,
    R,
    R_err=None,
    *,
    alpha: float = 0.01,
    min_points: int = 3,
    n_grid: int = 400,
    models: Iterable[str] = MODELS,
    files: Iterable = (),
) -> EvolutionResult:
    """Fit a resistance series against √t (one line, two segments) and ln(1 + t/t0).

    Parameters
    ----------
    time_s : array_like
        Time of each resistance from the start of the series (or of the contact), s, >= 0.
    R : array_like or sequence of Value/Estimate
        Resistances, ohm (e.g. the bulk R of a circuit fitted to each spectrum). Values with
        errors bring their errors.
    R_err : array_like, optional
        One-σ errors of R, ohm. Without them every point has unit weight and covariances
        are scaled by the reduced χ² (AIC then uses ``n ln(χ²/n)``).
    alpha : float
        Significance level of the F-test of two segments against one line.
    min_points : int
        Fewest points on each side of the breakpoint (at least 2).
    n_grid : int
        Most candidate breakpoints scanned before the refinement.
    models : iterable of str
        Which of ``"line"``, ``"two_segment"``, ``"log"`` to fit (the line always is).
    files : iterable of path
        Input files recorded in the provenance.

    Returns
    -------
    EvolutionResult
        Fits, slopes with errors, breakpoint with error, AIC/BIC table, preferred model.

    Raises
    ------
    InputError
        Fewer than 3 points, negative times, mismatched lengths, bad errors, unknown model.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 100, 101) * 3600.0              # 100 h
    >>> x = np.sqrt(t)
    >>> xb = np.sqrt(25 * 3600.0)
    >>> R = 500 + np.where(x < xb, 0.8 * x, 0.8 * xb + 0.2 * (x - xb))
    >>> ev = resistance_evolution(t, R, R_err=np.full(t.size, 0.5))
    >>> ev.preferred, round(ev["t_break"].value / 3600.0)
    ('two_segment', 25)
    """
    models = tuple(models)
    unknown = set(models) - set(MODELS)
    if unknown:
        raise InputError(f"unknown model(s) {sorted(unknown)}", field="models",
                         expected=f"names among {list(MODELS)}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha = {alpha!r}", field="alpha", expected="0 < alpha < 1")
    min_points = max(int(min_points), 2)
    t, r, r_e = _read_series(time_s, R, R_err)
    x = np.sqrt(t)
    fits: dict[str, FitResult | None] = {"line": None, "two_segment": None, "log": None}
    notes: dict[str, str] = {}
    with warnings.catch_warnings(record=True) as caught_line:
        warnings.simplefilter("always", FitWarning)
        fits["line"] = _fit_line(x, r, r_e)
    if caught_line:
        notes["line"] = "; ".join(str(w.message) for w in caught_line)
    if "two_segment" in models:
        if t.size >= 2 * min_points + 1:
            fits["two_segment"], notes["two_segment"] = _fit_two(x, r, r_e, min_points,
                                                                 n_grid)
        else:
            notes["two_segment"] = f"two segments need at least {2 * min_points + 1} points"
    if "log" in models:
        if t.size >= 4:
            fits["log"], notes["log"] = _fit_log(t, r, r_e, n_grid)
        else:
            notes["log"] = "the logarithmic model needs at least 4 points"
    notes = {k: v for k, v in notes.items() if v}

    table = {name: {"k": int(sum(f.free)), "chi2": f.chi2, "aic": f.aic, "bic": f.bic}
             for name, f in fits.items() if f is not None}
    line = fits["line"]
    values: dict[str, Value] = {
        "R0": Value("R0", line.value("R0"), line.error("R0"), "ohm", "R0"),
        "slope": Value("slope", line.value("slope"), line.error("slope"), SLOPE_UNIT,
                       "dR/d√t"),
    }
    two, lg = fits["two_segment"], fits["log"]
    f_stat = p_value = math.nan
    if two is not None:
        xb, xb_e = two.value("sqrt_t_break"), two.error("sqrt_t_break")
        values.update({
            "slope_1": Value("slope_1", two.value("slope_1"), two.error("slope_1"), SLOPE_UNIT,
                             "dR/d√t (1)"),
            "slope_2": Value("slope_2", two.value("slope_2"), two.error("slope_2"), SLOPE_UNIT,
                             "dR/d√t (2)"),
            "t_break": Value("t_break", xb * xb, 2 * xb * xb_e, "s", "t_break"),
            "sqrt_t_break": Value("sqrt_t_break", xb, xb_e, "s^0.5", "√t_break"),
            "R_break": Value("R_break", two.value("R_break"), two.error("R_break"), "ohm",
                             "R_break"),
        })
        n = t.size
        chi1, chi2 = line.chi2, two.chi2
        if n > 4 and chi2 > 0:
            f_stat = max(chi1 - chi2, 0.0) / 2.0 / (chi2 / (n - 4))
            p_value = float(stats.f.sf(f_stat, 2, n - 4))
        elif chi2 == 0 and chi1 > 0:
            f_stat, p_value = math.inf, 0.0
        values["F"] = Value("F", f_stat, math.nan, "", "F")
        values["p_value"] = Value("p_value", p_value, math.nan, "", "p")
        values["delta_aic_two_segment"] = Value("delta_aic_two_segment", line.aic - two.aic,
                                                math.nan, "", "ΔAIC(2 seg)")
    if lg is not None:
        values.update({
            "log_a": Value("log_a", lg.value("a"), lg.error("a"), "ohm", "a"),
            "log_b": Value("log_b", lg.value("b"), lg.error("b"), "ohm", "b"),
            "log_t0": Value("log_t0", lg.value("t0"), lg.error("t0"), "s", "t0"),
            "delta_aic_log": Value("delta_aic_log", line.aic - lg.aic, math.nan, "",
                                   "ΔAIC(log)"),
        })
    eligible = {"line": line.aic}
    two_ok = two is not None and p_value < alpha and two.aic < line.aic
    if two_ok:
        eligible["two_segment"] = two.aic
    if lg is not None:
        eligible["log"] = lg.aic
    preferred = min(eligible, key=eligible.get)
    reasons = {
        "line": "R grows linearly with √t (diffusion-limited growth)",
        "two_segment": (f"two √t regimes, slope {values.get('slope_1', Value('', 0)).value:.3g}"
                        f" then {values.get('slope_2', Value('', 0)).value:.3g} ohm s^-1/2, "
                        f"break at t = {values.get('t_break', Value('', 0)).value:.4g} s "
                        f"(F-test p = {p_value:.2g})"),
        "log": "logarithmic growth a + b ln(1 + t/t0) has the lowest AIC",
    }
    verdict = reasons[preferred]
    if two is not None and not two_ok and preferred != "two_segment":
        verdict += f"; two segments not warranted (F-test p = {p_value:.2g})"
    # only the warnings of the chosen model concern the user; the others are kept in notes
    if preferred in notes:
        warnings.warn(f"{preferred}: {notes[preferred]}", FitWarning, stacklevel=2)
    return EvolutionResult(
        values=values,
        provenance=Provenance.build("impedance.resistance_evolution", files,
                                    {"alpha": alpha, "min_points": min_points,
                                     "n_grid": n_grid, "models": list(models),
                                     "weights": "R_err" if r_e is not None else "unit"}),
        fit=fits[preferred],
        title="resistance evolution against √t",
        time=t, R=r, R_err=r_e, fits=fits, table=table, preferred=preferred,
        verdict=verdict, alpha=alpha, notes=notes,
    )
