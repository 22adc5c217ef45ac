"""Fit PFG-NMR echo decays: isotropic, anisotropic powder, multi-component and log-normal D.

:func:`fit_pfg` fits the signal S(b) of a :class:`~ionscale.nmr.data.PFGData` in linear S (not
ln S, so that the noise model stays honest where the echo is small) through
:func:`ionscale.fitting.fit_curve`, with diffusion coefficients optimised in log space, analytic
Jacobians and automatic starting values (several starts where the model has several minima; the
lowest χ² is kept). :func:`compare_pfg_models` decides whether a curved decay needs the
anisotropic powder model.

Models (``E = S/S0``; ``S = S0 E + baseline``; see :mod:`ionscale.nmr.models`):

* ``"iso"``: ``E = exp(−b D)``; value ``D`` (symbol D_NMR).
* ``"aniso"``: powder average of axially symmetric diffusion, in-plane ``D_a`` and out-of-plane
  ``D_c``; also ``D_mean = (2 D_a + D_c)/3`` (the initial slope, = D_NMR of a 3D average) and
  ``anisotropy = D_a / D_c``, with errors propagated through the covariance.
* ``"multi"``: ``E = Σ f_i exp(−b D_i)``, components sorted by decreasing D (``D_1`` fastest),
  fractions ``f_i`` summing to 1 (fitted as positive weights relative to the first component).
* ``"lognormal"``: ln D normally distributed; ``D_median``, ``sigma_ln`` and
  ``D_mean = D_median exp(σ_ln²/2)``.

Everything is SI: b in s m⁻², D in m² s⁻¹.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import FitError, FitWarning, InputError
from ..fitting import FitResult, fit_curve
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from . import models as _m
from .data import PFGData

MODELS = ("iso", "aniso", "multi", "lognormal")

#: Decision rule of :func:`compare_pfg_models`: the anisotropic model is warranted only when the
#: nested F-test rejects the isotropic model at this level AND BIC favours it by more than
#: ``BIC_THRESHOLD`` ("strong" evidence on the Kass-Raftery scale).
P_THRESHOLD = 0.01
BIC_THRESHOLD = 6.0


# --------------------------------------------------------------------------- model registry


@dataclass(frozen=True)
class _Spec:
    """One attenuation model E(b; θ) with E(0) = 1, its parameters and derivatives."""

    names: tuple[str, ...]
    E: Callable[[np.ndarray, Mapping[str, float]], np.ndarray]
    dE: Callable[[np.ndarray, Mapping[str, float]], np.ndarray]


def _iso_spec() -> _Spec:
    def E(b, p):
        return np.exp(-b * p["D"])

    def dE(b, p):
        return (-b * np.exp(-b * p["D"]))[:, None]

    return _Spec(("D",), E, dE)


def _aniso_spec() -> _Spec:
    def E(b, p):
        return _m.powder_anisotropic(b, p["D_a"], p["D_c"])

    def dE(b, p):
        return _m.powder_anisotropic_jacobian(b, p["D_a"], p["D_c"])[:, :2]

    return _Spec(("D_a", "D_c"), E, dE)


def _multi_spec(n: int) -> _Spec:
    d_names = tuple(f"D_{i + 1}" for i in range(n))
    w_names = tuple(f"w_{i + 1}" for i in range(1, n))

    def parts(b, p):
        D = np.array([p[k] for k in d_names])
        w = np.concatenate([[1.0], [p[k] for k in w_names]])
        e = np.exp(-np.multiply.outer(b, D))
        W = w.sum()
        return D, w, e, W

    def E(b, p):
        _, w, e, W = parts(b, p)
        return e @ w / W

    def dE(b, p):
        _, w, e, W = parts(b, p)
        g = e @ w / W
        dD = -b[:, None] * e * w / W
        dw = (e[:, 1:] - g[:, None]) / W
        return np.column_stack([dD, dw])

    return _Spec(d_names + w_names, E, dE)


def _lognormal_spec() -> _Spec:
    def E(b, p):
        return _m.lognormal_distribution(b, p["D_median"], p["sigma_ln"])

    def dE(b, p):
        return _m.lognormal_jacobian(b, p["D_median"], p["sigma_ln"])[:, :2]

    return _Spec(("D_median", "sigma_ln"), E, dE)


def _spec(model: str, n_components: int) -> _Spec:
    if model == "iso":
        return _iso_spec()
    if model == "aniso":
        return _aniso_spec()
    if model == "multi":
        return _multi_spec(n_components)
    return _lognormal_spec()


def _check_model(model: str, n_components: int) -> str:
    name = str(model).strip().lower()
    aliases = {"isotropic": "iso", "anisotropic": "aniso", "powder": "aniso",
               "multi_exponential": "multi", "multi-exponential": "multi",
               "log-normal": "lognormal"}
    name = aliases.get(name, name)
    if name not in MODELS:
        raise InputError(f"unknown PFG model {model!r}", field="model",
                         expected=f"one of {', '.join(MODELS)}")
    if name == "multi" and (isinstance(n_components, bool) or not isinstance(n_components, int)
                            or not 2 <= n_components <= 4):
        raise InputError(f"n_components = {n_components!r}", field="n_components",
                         expected="an integer from 2 to 4")
    return name


# --------------------------------------------------------------------------- data checks


def _column(x, field: str, source) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{field} is not numeric", file=source, field=field,
                         expected="numbers") from None
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{field} contains NaN or inf", file=source, field=field,
                         expected="finite values")
    return arr


def _check_data(data: PFGData, n_params: int):
    """Validated b, signal, sigma (or None) as float arrays."""
    if not isinstance(data, PFGData):
        raise InputError(f"expected PFGData, got {type(data).__name__}", field="data",
                         expected="ionscale.nmr.PFGData")
    src = data.source
    b = _column(data.b, "b", src)
    S = _column(data.signal, "signal", src)
    if b.size != S.size:
        raise InputError(f"{b.size} b values but {S.size} signals", file=src, field="signal",
                         expected="one signal per b value")
    sigma = None
    if data.sigma is not None:
        sigma = _column(data.sigma, "sigma", src)
        if sigma.size != b.size:
            raise InputError(f"{sigma.size} uncertainties for {b.size} points", file=src,
                             field="sigma", expected="one sigma per signal")
        if np.any(sigma <= 0):
            raise InputError("uncertainties must be positive", file=src, field="sigma",
                             expected="sigma > 0")
    if np.any(b < 0):
        raise InputError(f"negative b = {b.min():.3g} s/m^2", file=src, field="b",
                         expected="b >= 0 s/m^2")
    if b.size < n_params + 1:
        raise InputError(f"{b.size} points for {n_params} free parameters", file=src,
                         field="signal", expected=f"at least {n_params + 1} points")
    if np.ptp(b) == 0:
        raise InputError("all b values are equal", file=src, field="b",
                         expected="a range of b values")
    scale = _scale_of(S)
    _check_decays(b, S / scale, None if sigma is None else sigma / scale, src)
    return b, S, sigma


def _scale_of(S: np.ndarray) -> float:
    """The power of two nearest above max |S|: dividing by it is exact and brings any signal
    (1e300 or 1e-300 as well as 1e3) to order one before squares are taken."""
    m = float(np.max(np.abs(S))) if S.size else 0.0
    if not (m > 0 and math.isfinite(m)):
        return 1.0
    return math.ldexp(1.0, math.frexp(m)[1])


def _unscale(fit: FitResult, scale: float) -> FitResult:
    """A fit made on ``S / scale`` expressed in the units of S (S0 and baseline scale; with
    unknown σ the residuals and χ² too, and AIC/BIC shift by n ln scale²)."""
    if scale == 1.0:
        return fit
    f = np.ones(len(fit.names))
    for name in ("S0", "baseline"):
        if name in fit.names:
            f[fit.index(name)] = scale
    with np.errstate(over="ignore", invalid="ignore"):
        # the variance of S0 may not be representable (σ_S0² for S ~ 1e300): inf, while its
        # error and every other entry are
        changes = {"values": fit.values * f, "errors": fit.errors * f,
                   "covariance": (fit.covariance * f[:, None]) * f[None, :],
                   "samples": None if fit.samples is None else fit.samples * f}
        if not fit.absolute_sigma:
            shift = fit.n_points * 2.0 * math.log(scale)
            changes.update(residuals=fit.residuals * scale, chi2=fit.chi2 * scale * scale,
                           aic=fit.aic + shift, bic=fit.bic + shift)
    return dataclasses.replace(fit, **changes)


def _check_decays(b, S, sigma, src) -> None:
    """Reject intensities that rise with b (a wrong column, sign or b table)."""
    i0, i1 = int(np.argmin(b)), int(np.argmax(b))
    if sigma is not None and S[i1] - S[i0] > 3 * math.hypot(sigma[i0], sigma[i1]):
        raise InputError(f"the signal at the largest b ({S[i1]:.4g}) exceeds the signal at the "
                         f"smallest b ({S[i0]:.4g}) by more than 3σ", file=src, field="signal",
                         expected="an echo decaying with b")
    w = np.ones_like(S) if sigma is None else 1 / sigma ** 2
    bm = np.average(b, weights=w)
    Sm = np.average(S, weights=w)
    sxx = np.sum(w * (b - bm) ** 2)
    slope = np.sum(w * (b - bm) * (S - Sm)) / sxx
    if slope <= 0 or b.size < 3:
        return
    resid = S - Sm - slope * (b - bm)
    if sigma is None:
        se = math.sqrt(np.sum(resid ** 2) / (b.size - 2) / sxx)
    else:
        se = math.sqrt(1 / sxx)
    if se == 0 or slope / se > 3:
        raise InputError(f"the signal rises with b (slope {slope:.3g} per s/m^2, "
                         f"{slope / se if se else math.inf:.1f} standard errors)", file=src,
                         field="signal", expected="an echo decaying with b")


# --------------------------------------------------------------------------- starting values


def _initial_slope(b, S) -> tuple[float, float]:
    """(D, S0) from the initial slope of ln S against b."""
    order = np.argsort(b, kind="stable")
    b, S = b[order], S[order]
    first = max(float(np.max(S[: min(3, S.size)])), 1e-300)
    keep = (S > 0.3 * first)
    if keep.sum() < 3:
        keep = np.zeros(S.size, bool)
        keep[np.flatnonzero(S > 0)[:3]] = True
    D = math.nan
    S0 = first
    if keep.sum() >= 2 and np.ptp(b[keep]) > 0:
        slope, intercept = np.polyfit(b[keep], np.log(S[keep]), 1)
        D, S0 = -slope, math.exp(intercept)
    if not (math.isfinite(D) and D > 0):
        D = 1.0 / np.ptp(b)
    return float(D), float(S0)


def _starts(model: str, n: int, D0: float) -> list[dict[str, float]]:
    if model == "iso":
        return [{"D": D0}]
    if model == "aniso":
        out = []
        # the initial slope is (2 D_a + D_c)/3; near-isotropic starts on both sides, then the
        # strongly anisotropic ones (2D conductor: D_a > D_c; 1D: D_c > D_a)
        for ratio in (1.5, 1 / 1.5, 10.0, 0.1, 50.0):
            D_c = 3 * D0 / (2 * ratio + 1)
            out.append({"D_a": ratio * D_c, "D_c": D_c})
        return out
    if model == "multi":
        out = []
        for spread in (4.0, 20.0):
            start = {f"D_{i + 1}": D0 * spread ** ((n - 1) / 2 - i) for i in range(n)}
            start.update({f"w_{i + 1}": 1.0 for i in range(1, n)})
            out.append(start)
        return out
    return [{"D_median": D0, "sigma_ln": s} for s in (0.3, 1.0)]


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, kw_only=True)
class PFGFit(Result):
    """A fitted PFG echo decay.

    Attributes
    ----------
    b : ndarray
        b values fitted, s m⁻².
    signal, sigma : ndarray
        The signal fitted (divided by the signal at the smallest b when ``normalised``) and its
        one-σ errors (None: unit weights, χ²-scaled covariance).
    model : str
        ``"iso"``, ``"aniso"``, ``"multi"`` or ``"lognormal"``.
    n_components : int
        Components of a ``"multi"`` fit (1 otherwise).
    normalised : bool
        Whether the data were normalised to the smallest-b point (S0 not fitted).
    reference_b : float
        b of the normalising point (s m⁻²; NaN when not normalised).
    x_fit, y_fit : ndarray
        The fitted curve on a fine b grid (s m⁻², signal units as ``signal``).
    S0_plot, baseline_plot : float
        ``E = (signal − baseline_plot) / S0_plot`` is the attenuation S/S0 drawn by :meth:`plot`.
    b_formula : str
        How the b values were obtained (formula, gradient shape, sequence, δ, Δ, τ), as the
        reader recorded it ('' when unknown).
    """

    b: np.ndarray
    signal: np.ndarray
    sigma: np.ndarray | None
    model: str
    n_components: int = 1
    normalised: bool = False
    reference_b: float = math.nan
    x_fit: np.ndarray
    y_fit: np.ndarray
    S0_plot: float = 1.0
    baseline_plot: float = 0.0
    b_formula: str = ""

    def summary(self) -> str:
        """The values ± errors, the fit quality (χ²_red only when σ is known: with unit
        weights it would be in the signal's units squared) and how b was obtained."""
        lines = _fit_lines(super().summary(), self.sigma is None)
        if self.b_formula:
            at = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("  fit:")),
                      1 + len(self.values))
            lines.insert(at, f"  b: {self.b_formula}")
        return "\n".join(lines)

    def predict(self, b) -> np.ndarray:
        """Model signal at ``b`` (s m⁻²), in the units of :attr:`signal`."""
        return _predict(self.model, self.n_components, self.fit.params, np.asarray(b, float),
                        self.reference_b if self.normalised else None)

    def attenuation(self, b) -> np.ndarray:
        """Model ``E = S/S0`` (no baseline) at ``b`` (s m⁻²)."""
        p = self.fit.params
        return _spec(self.model, self.n_components).E(np.asarray(b, float), p)

    def plot(self, ax=None, *, residuals: bool = True):
        """ln(S/S0) against b: data with error bars, the fit, and a residual panel below.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; with ``residuals=True`` its slot in the figure's grid is split into
            the decay (top) and residuals (bottom).
        residuals : bool
            Draw the residual panel.

        Returns
        -------
        matplotlib Axes
            The decay axes.
        """
        ax, rax = _decay_axes(ax, residuals)
        _draw_data(ax, self)
        _draw_curve(ax, self, self, label=f"{self.model} fit", color="C1")
        if rax is not None:
            _draw_residuals(rax, self, color="C1")
        ax.legend(frameon=False)
        ax.set_title(self.title or self.method)
        return ax


def _fit_lines(summary: str, no_sigma: bool) -> list[str]:
    """The lines of a summary, the χ² line replaced when σ is unknown."""
    lines = summary.split("\n")
    if no_sigma:
        lines = [_NO_SIGMA_LINE if "χ²" in ln and ln.startswith("  fit:") else ln
                 for ln in lines]
    return lines


_NO_SIGMA_LINE = ("  fit: no σ given: unit weights, the errors were scaled from the residuals "
                  "(χ² is not a goodness of fit)")


def _predict(model, n, params, b, reference_b):
    spec = _spec(model, n)
    m = params["S0"] * spec.E(b, params) + params.get("baseline", 0.0)
    if reference_b is None:
        return m
    m_ref = params["S0"] * spec.E(np.array([reference_b]), params)[0] + params.get("baseline",
                                                                                   0.0)
    return m / m_ref


def _decay_axes(ax, residuals: bool):
    if not residuals:
        return new_axes(ax), None
    import matplotlib.pyplot as plt

    if ax is None:
        from ..report.style import SINGLE

        fig = plt.figure(figsize=(SINGLE, 2.9), layout="constrained")
        gs = fig.add_gridspec(2, 1, height_ratios=[3, 1])
    else:
        spec = ax.get_subplotspec()
        if spec is None:
            return ax, None
        fig = ax.figure
        ax.remove()
        gs = spec.subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
    main = fig.add_subplot(gs[0])
    rax = fig.add_subplot(gs[1], sharex=main)
    main.tick_params(labelbottom=False)
    return main, rax


_BSCALE = 1e9


def _draw_data(ax, fit: PFGFit) -> None:
    E = (fit.signal - fit.baseline_plot) / fit.S0_plot
    ok = E > 0
    yerr = None if fit.sigma is None else (fit.sigma / fit.S0_plot)[ok] / E[ok]
    ax.errorbar(fit.b[ok] / _BSCALE, np.log(E[ok]), yerr=yerr, fmt="o", ms=4, capsize=2,
                color="k", label="data")
    ax.set_ylabel("ln(S/S₀)")
    if not np.all(ok):
        ax.plot([], [], " ", label=f"{int((~ok).sum())} point(s) ≤ 0 not shown")


def _draw_curve(ax, fit: PFGFit, ref: PFGFit, *, label: str, color: str) -> None:
    E = (fit.y_fit - ref.baseline_plot) / ref.S0_plot
    ok = E > 0
    ax.plot(fit.x_fit[ok] / _BSCALE, np.log(E[ok]), "-", color=color, label=label)


def _draw_residuals(rax, fit: PFGFit, *, color: str, label=None) -> None:
    r = fit.signal - fit.predict(fit.b)
    if fit.sigma is not None:
        r, ylabel = r / fit.sigma, "residual / σ"
    else:
        r, ylabel = 100 * r / fit.S0_plot, "residual (% S₀)"
    rax.axhline(0, color="0.6", lw=0.8)
    rax.plot(fit.b / _BSCALE, r, "o", ms=3, color=color, label=label)
    rax.set_ylabel(ylabel)
    rax.set_xlabel("b (10⁹ s m⁻²)")


# --------------------------------------------------------------------------- fitting


def _run_fit(spec, b, S, sigma, start, *, normalise, reference_b, baseline, monte_carlo, seed):
    """One fit_curve call from ``start`` (a full parameter dict)."""
    names = spec.names

    def model(x, **p):
        m = p["S0"] * spec.E(x, p) + p.get("baseline", 0.0)
        if reference_b is None:
            return m
        m0 = p["S0"] * spec.E(np.array([reference_b]), p)[0] + p.get("baseline", 0.0)
        return m / m0

    def full_jac(x, p):
        E = spec.E(x, p)
        cols = [p["S0"] * spec.dE(x, p), E[:, None]]
        if baseline:
            cols.append(np.ones((x.size, 1)))
        return E, np.column_stack(cols)

    def jacobian(x, **p):
        E, J = full_jac(x, p)
        if reference_b is None:
            return J
        base = p.get("baseline", 0.0)
        m = p["S0"] * E + base
        E0, J0 = full_jac(np.array([reference_b]), p)
        m0 = p["S0"] * E0[0] + base
        return (J - np.outer(m / m0, J0[0])) / m0

    try:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return fit_curve(model, b, S, start, sigma=sigma, log=names,
                             fixed=("S0",) if normalise else (), jacobian=jacobian,
                             monte_carlo=monte_carlo, seed=seed)
    except (np.linalg.LinAlgError, FloatingPointError, OverflowError) as exc:
        # a coefficient ran off to 0 or ∞ and the Jacobian lost its meaning
        raise FitError(f"the fit broke down numerically ({exc}); a diffusion coefficient "
                       "probably ran off to 0 or infinity: check the model, the baseline "
                       "option and the b range") from None


def _best_fit(spec, b, S, sigma, starts, **kw) -> FitResult:
    best, best_warnings, errors = None, [], []
    for start in starts:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FitWarning)
            try:
                res = _run_fit(spec, b, S, sigma, start, **kw)
            except FitError as exc:
                errors.append(str(exc))
                continue
        if best is None or res.chi2 < best.chi2 * (1 - 1e-12):
            best = res
            best_warnings = [w for w in caught if issubclass(w.category, FitWarning)]
    if best is None:
        raise FitError(f"every start failed: {'; '.join(errors)}")
    for w in best_warnings:
        warnings.warn(str(w.message), FitWarning, stacklevel=3)
    return best


def _cov_value(name, value, grad, idx, fit: FitResult, unit, symbol=None) -> Value:
    cov = fit.covariance[np.ix_(idx, idx)]
    var = float(grad @ cov @ grad)
    return Value(name, float(value), math.sqrt(max(var, 0.0)), unit, symbol)


def _values(model: str, n: int, fit: FitResult, normalise: bool, baseline: bool):
    p = fit.params
    v: dict[str, Value] = {}
    if model == "iso":
        v["D"] = Value("D", p["D"], fit.error("D"), "m^2/s", "D_NMR")
    elif model == "aniso":
        ia, ic = fit.index("D_a"), fit.index("D_c")
        Da, Dc = p["D_a"], p["D_c"]
        v["D_a"] = Value("D_a", Da, fit.error("D_a"), "m^2/s", "D_a (in-plane)")
        v["D_c"] = Value("D_c", Dc, fit.error("D_c"), "m^2/s", "D_c (out-of-plane)")
        v["D_mean"] = _cov_value("D_mean", (2 * Da + Dc) / 3, np.array([2 / 3, 1 / 3]),
                                 [ia, ic], fit, "m^2/s", "D_mean")
        r = Da / Dc
        v["anisotropy"] = _cov_value("anisotropy", r, np.array([1 / Dc, -Da / Dc ** 2]),
                                     [ia, ic], fit, "", "D_a/D_c")
    elif model == "multi":
        d_idx = [fit.index(f"D_{i + 1}") for i in range(n)]
        w_idx = [fit.index(f"w_{i + 1}") for i in range(1, n)]
        D = fit.values[d_idx]
        w = np.concatenate([[1.0], fit.values[w_idx]])
        W = w.sum()
        f = w / W
        # ∂f_i/∂w_j = (δ_ij − f_i)/W for the free weights j = 2..n
        G = (np.eye(n)[:, 1:] - f[:, None]) / W
        cov_w = fit.covariance[np.ix_(w_idx, w_idx)]
        f_err = np.sqrt(np.clip(np.diag(G @ cov_w @ G.T), 0, None))
        for rank, i in enumerate(np.argsort(-D)):
            k = rank + 1
            v[f"D_{k}"] = Value(f"D_{k}", float(D[i]), float(fit.errors[d_idx[i]]), "m^2/s",
                                f"D_{k}")
            v[f"f_{k}"] = Value(f"f_{k}", float(f[i]), float(f_err[i]), "", f"f_{k}")
    else:
        i_m, i_s = fit.index("D_median"), fit.index("sigma_ln")
        Dm, s = p["D_median"], p["sigma_ln"]
        v["D_median"] = Value("D_median", Dm, fit.error("D_median"), "m^2/s", "D_median")
        v["sigma_ln"] = Value("sigma_ln", s, fit.error("sigma_ln"), "", "σ_ln")
        mean = Dm * math.exp(s * s / 2)
        v["D_mean"] = _cov_value("D_mean", mean, np.array([mean / Dm, mean * s]), [i_m, i_s],
                                 fit, "m^2/s", "D_mean")
    if not normalise:
        v["S0"] = Value("S0", p["S0"], fit.error("S0"), "", "S0")
    if baseline:
        v["baseline"] = Value("baseline", p["baseline"], fit.error("baseline"), "", "baseline")
    return v


def _unresolved(fit: FitResult, b: np.ndarray) -> list[Diagnostic]:
    """Diffusion coefficients the b range cannot measure (they ran off to 0 or ∞): one
    ``unmeasurable`` diagnostic each, and a FitWarning."""
    b_max = float(np.max(b))
    b_pos = b[b > 0]
    b_low = float(np.min(b_pos)) if b_pos.size else b_max
    out = []
    for name in fit.names:
        if name.startswith("D"):
            D = fit.value(name)
            # too slow: the echo hardly moves over the b range; too fast: it is gone (below
            # e⁻³ = 5 %) at every b > 0, so the data only say D is larger than about 3/b_low
            gone = not np.any((b > 0) & (b * D <= 3.0))
            if not math.isfinite(D) or D * b_max < 1e-3 or gone:
                out.append(Diagnostic(
                    "unmeasurable", f"{name} = {D:.3g} m^2/s is not resolved by the b range "
                    f"(b·D from {D * b_low:.2g} to {D * b_max:.2g}; it needs b·D from ~0.01 "
                    "and a point with b·D < 3): its value and error are not meaningful (check "
                    "the model, the baseline option and the b range)", fields=(name,)))
    for d in out:
        warnings.warn(d.message, FitWarning, stacklevel=3)
    return out


def _provenance(method: str, data: PFGData, parameters: dict) -> Provenance:
    files = []
    params = dict(parameters)
    params.update({"Delta": data.Delta, "delta": data.delta, "nucleus": data.nucleus,
                   "temperature": data.temperature, "b_formula": data.b_formula})
    if data.source is not None:
        if os.path.isfile(data.source):
            files.append(data.source)
        else:
            params["source"] = str(data.source)
    return Provenance.build(method, files, params)


def fit_pfg(
    data: PFGData,
    *,
    model: str = "iso",
    n_components: int = 2,
    normalise: bool = False,
    baseline: bool = False,
    p0: Mapping[str, float] | None = None,
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> PFGFit:
    """Fit a PFG echo decay S(b) with an isotropic, anisotropic, multi or log-normal model.

    The fit is in linear S, weighted by ``data.sigma`` (unit weights and a χ²-scaled covariance
    when sigma is None), diffusion coefficients in log space, through
    :func:`ionscale.fitting.fit_curve`. Starting values come from the initial slope of ln S;
    models with several minima (aniso, multi, lognormal) are started from several points and
    the lowest χ² is kept. The signal (and σ) are divided by the power of two nearest above
    max |S| for the fit, which is exact, so any scale (1e-300 to 1e300) gives the same D.

    Diagnostics besides the fit's own: ``unmeasurable`` for a diffusion coefficient the b range
    cannot resolve (the echo hardly moves, or is gone at every b > 0), ``fixed-choice`` for each
    assumption the reader made (``data.metadata["assumptions"]``, e.g. a gradient shape the
    data set does not name).

    Parameters
    ----------
    data : PFGData
        b (s m⁻²), signal, optional sigma.
    model : {"iso", "aniso", "multi", "lognormal"}
        Attenuation model (module notes).
    n_components : int
        Components of ``"multi"`` (2 to 4).
    normalise : bool
        Divide the data by the signal at the smallest b and fit ``S(b)/S(b_min)`` (that point
        is then dropped and its own noise ignored); S0 is not fitted. The default fits S0.
    baseline : bool
        Fit a constant offset of the signal.
    p0 : mapping, optional
        Starting values by parameter name (SI), replacing the automatic multi-start. Names:
        ``D``; ``D_a``, ``D_c``; ``D_1``.., ``w_2``.. (weights relative to component 1);
        ``D_median``, ``sigma_ln``; ``S0``, ``baseline``.
    monte_carlo : int
        Monte-Carlo refits for the errors (see :func:`ionscale.fitting.fit_curve`).
    seed : int or Generator, optional
        Seed of the Monte-Carlo draws.

    Returns
    -------
    PFGFit
        Values ``D`` (iso), ``D_a``, ``D_c``, ``D_mean``, ``anisotropy`` (aniso), ``D_i``,
        ``f_i`` (multi), ``D_median``, ``sigma_ln``, ``D_mean`` (lognormal), plus ``S0`` (when
        fitted) and ``baseline`` (when fitted), all with standard errors.

    Raises
    ------
    InputError
        Mismatched lengths, NaN, negative b, a signal that rises with b, fewer points than
        parameters + 1, unknown model or p0 names.
    FitError
        When no start converges.

    Examples
    --------
    >>> import numpy as np
    >>> from ionscale.nmr.data import PFGData
    >>> b = np.linspace(0, 2e11, 16)
    >>> S = 1000 * np.exp(-b * 2.6e-12)
    >>> res = fit_pfg(PFGData(b=b, signal=S, sigma=np.full(16, 5.0)))
    >>> f"{res['D'].value:.3e}"
    '2.600e-12'
    """
    model = _check_model(model, n_components)
    n = n_components if model == "multi" else 1
    spec = _spec(model, n)
    k = len(spec.names) + (0 if normalise else 1) + int(bool(baseline))
    b, S, sigma = _check_data(data, k + int(bool(normalise)))
    S_data, sigma_data = S, sigma
    reference_b = None
    if normalise:
        i0 = int(np.argmin(b))
        if S[i0] <= 0:
            raise InputError("the signal at the smallest b is not positive", file=data.source,
                             field="signal", expected="S(b_min) > 0 to normalise")
        ref = S[i0]
        reference_b = float(b[i0])
        keep = np.arange(b.size) != i0
        b, S = b[keep], S[keep] / ref
        sigma = None if sigma is None else sigma[keep] / ref
        S_data, sigma_data = S, sigma
    # fit S / scale (scale a power of two: exact) so that 1e300 or 1e-300 signals neither
    # overflow nor underflow; the normalised data are already of order one
    scale = 1.0 if normalise else _scale_of(S)
    S = S / scale
    sigma = None if sigma is None else sigma / scale
    D0, S00 = _initial_slope(b if reference_b is None else np.append(b, reference_b),
                             S if reference_b is None else np.append(S, 1.0))
    extra = {"S0": 1.0 if normalise else S00}
    if baseline:
        extra["baseline"] = 0.0
    if model == "aniso" and p0 is None:
        with warnings.catch_warnings():  # the isotropic start may misfit a curved decay
            warnings.simplefilter("ignore", FitWarning)
            iso = _best_fit(_iso_spec(), b, S, sigma, [{"D": D0, **extra}],
                            normalise=normalise, reference_b=reference_b, baseline=baseline,
                            monte_carlo=0, seed=None)
        D0 = iso.value("D")
        extra["S0"] = iso.value("S0")
    starts = [{**s, **extra} for s in _starts(model, n, D0)]
    if p0 is not None:
        unknown = set(p0) - set(starts[0])
        if unknown:
            raise InputError(f"unknown parameter(s) {sorted(unknown)}", field="p0",
                             expected=f"names among {list(starts[0])}")
        starts = [{**starts[0], **{k_: float(v) / (scale if k_ in ("S0", "baseline") else 1.0)
                                   for k_, v in p0.items()}}]
    kw = dict(normalise=normalise, reference_b=reference_b, baseline=baseline)
    best = _best_fit(spec, b, S, sigma, starts, monte_carlo=0, seed=None, **kw)
    if monte_carlo:
        best = _run_fit(spec, b, S, sigma, best.params, monte_carlo=monte_carlo, seed=seed, **kw)
    best = _unscale(best, scale)
    S, sigma = S_data, sigma_data
    diagnostics = _unresolved(best, b)
    diagnostics += [Diagnostic("fixed-choice", str(a))
                    for a in (data.metadata or {}).get("assumptions", ()) or ()]
    values = _values(model, n, best, normalise, baseline)
    x_fit = np.linspace(0.0, float(np.max(b)) * 1.02, 200)
    params = best.params
    y_fit = _predict(model, n, params, x_fit, reference_b)
    if reference_b is None:
        S0p, basep = params["S0"], params.get("baseline", 0.0)
    else:
        m_ref = _predict(model, n, params, np.array([reference_b]), None)[0]
        S0p, basep = 1.0 / m_ref, params.get("baseline", 0.0) / m_ref
    label = {"iso": "isotropic", "aniso": "anisotropic powder",
             "multi": f"{n}-component", "lognormal": "log-normal"}[model]
    where = ", ".join(x for x in (data.nucleus, f"{data.temperature:g} K"
                                  if data.temperature is not None else None) if x)
    return PFGFit(
        values=values,
        provenance=_provenance("nmr.fit_pfg", data, {
            "model": model, "n_components": n, "normalise": normalise, "baseline": baseline,
            "p0": dict(p0) if p0 is not None else None, "monte_carlo": monte_carlo,
            "seed": seed if isinstance(seed, int) else None}),
        fit=best,
        title=f"PFG-NMR {label} fit" + (f" ({where})" if where else ""),
        b=b, signal=S, sigma=sigma, model=model, n_components=n, normalised=normalise,
        reference_b=math.nan if reference_b is None else reference_b,
        x_fit=x_fit, y_fit=y_fit, S0_plot=float(S0p), baseline_plot=float(basep),
        diagnostics=tuple(diagnostics), b_formula=data.b_formula or "",
    )


# --------------------------------------------------------------------------- model comparison


@dataclass(frozen=True, kw_only=True)
class PFGComparison(Result):
    """Isotropic against anisotropic (and other) fits of the same decay.

    Attributes
    ----------
    fits : dict of str to PFGFit
        One fit per model, in the order asked.
    table : dict of str to dict
        Per model: ``k`` (free parameters), ``chi2``, ``aic``, ``bic``.
    preferred : str
        The model the data support (see :func:`compare_pfg_models`).
    verdict : str
        ``"anisotropic model warranted"`` or ``"anisotropic model not warranted"`` ('' when
        "aniso" was not compared).
    """

    fits: Mapping[str, PFGFit]
    table: Mapping[str, Mapping[str, float]]
    preferred: str
    verdict: str

    def summary(self) -> str:
        ref = self.fits[self.preferred]
        no_sigma = ref.sigma is None
        lines = [super().summary(), f"  verdict: {self.verdict or '-'}; preferred model: "
                                    f"{self.preferred}"]
        if no_sigma:
            lines.append(_NO_SIGMA_LINE.replace("  fit: ", "  fits: ") + "; RSS: residual sum "
                         "of squares")
        for name, row in self.table.items():
            fit_q = f"RSS = {row['chi2']:.4g}" if no_sigma else f"χ² = {row['chi2']:.4g}"
            lines.append(f"  {name:9s} k = {row['k']:d}  {fit_q}  "
                         f"AIC = {row['aic']:.4g}  BIC = {row['bic']:.4g}")
        if ref.b_formula:
            lines.append(f"  b: {ref.b_formula}")
        return "\n".join(lines)

    def plot(self, ax=None, *, residuals: bool = True):
        """Data with every model's fit (ln(S/S0) against b) and their residuals.

        Returns
        -------
        matplotlib Axes
            The decay axes.
        """
        ax, rax = _decay_axes(ax, residuals)
        ref = self.fits[self.preferred]
        _draw_data(ax, ref)
        for i, (name, fit) in enumerate(self.fits.items()):
            color = f"C{i + 1}"
            mark = " (preferred)" if name == self.preferred else ""
            _draw_curve(ax, fit, ref, label=f"{name}{mark}", color=color)
            if rax is not None:
                _draw_residuals(rax, fit, color=color, label=name)
        ax.legend(frameon=False)
        ax.set_title(self.verdict or self.title)
        return ax


def compare_pfg_models(
    data: PFGData,
    models: Sequence[str] = ("iso", "aniso"),
    *,
    n_components: int = 2,
    normalise: bool = False,
    baseline: bool = False,
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> PFGComparison:
    """Fit several models to one decay and decide whether anisotropy is warranted.

    The isotropic model is nested in the anisotropic one (D_a = D_c) with one parameter fewer;
    the nested F-test ``F = (χ²_iso − χ²_aniso) / (χ²_aniso / dof_aniso)`` with (1, dof_aniso)
    degrees of freedom gives ``p_value``. The anisotropic model is **warranted** only if
    ``p < 0.01`` *and* ``ΔBIC = BIC_iso − BIC_aniso > 6``. Why both: the F-test alone fixes the
    false-alarm rate (1 %) when the noise model is right, but with many points or tiny σ it
    calls any small systematic curvature (a baseline, a few % of a second phase) significant;
    ΔBIC > 6 is "strong" evidence on the Kass-Raftery scale and its ln n penalty grows with the
    data set. For one extra parameter with known σ it requires Δχ² > 6 + ln n (≈ 9 for 20
    points, p ≈ 0.003). Other models (multi, lognormal) are preferred over iso only with
    ΔBIC > 6; among the accepted models the lowest BIC wins.

    Parameters
    ----------
    data : PFGData
        The decay.
    models : sequence of str
        Models to fit; must include ``"iso"``.
    n_components, normalise, baseline, monte_carlo, seed
        As in :func:`fit_pfg`.

    Returns
    -------
    PFGComparison
        Values ``p_value``, ``F``, ``delta_bic`` and ``delta_aic`` (iso minus aniso; only when
        "aniso" is compared), ``delta_bic_<model>`` (iso minus each other model),
        ``preferred``, ``verdict``, every fit, and the preferred fit's diagnostics.
    """
    names = []
    for m in models:
        name = _check_model(m, n_components)
        if name not in names:
            names.append(name)
    if "iso" not in names:
        raise InputError("the comparison needs the isotropic reference", field="models",
                         expected="a sequence including 'iso'")
    fits, caught = {}, {}
    for m in names:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always", FitWarning)
            fits[m] = fit_pfg(data, model=m, n_components=n_components, normalise=normalise,
                              baseline=baseline, monte_carlo=monte_carlo, seed=seed)
        caught[m] = [w for w in record if issubclass(w.category, FitWarning)]
    table = {}
    for m, f in fits.items():
        table[m] = {"k": int(sum(f.fit.free)), "chi2": f.fit.chi2, "aic": f.fit.aic,
                    "bic": f.fit.bic}
    iso = fits["iso"].fit
    p_value = F = d_bic = d_aic = math.nan
    verdict = ""
    accepted = ["iso"]
    if "aniso" in fits:
        an = fits["aniso"].fit
        dk = table["aniso"]["k"] - table["iso"]["k"]
        d_chi2 = max(iso.chi2 - an.chi2, 0.0)
        F = (d_chi2 / dk) / (an.chi2 / an.dof) if an.dof > 0 and an.chi2 > 0 else math.inf
        p_value = float(stats.f.sf(F, dk, an.dof)) if an.dof > 0 else math.nan
        d_bic = iso.bic - an.bic
        d_aic = iso.aic - an.aic
        warranted = p_value < P_THRESHOLD and d_bic > BIC_THRESHOLD
        verdict = f"anisotropic model {'warranted' if warranted else 'not warranted'}"
        if warranted:
            accepted.append("aniso")
    for m in names:
        if m not in ("iso", "aniso") and iso.bic - fits[m].fit.bic > BIC_THRESHOLD:
            accepted.append(m)
    preferred = min(accepted, key=lambda m: fits[m].fit.bic)
    # a rejected model is expected to misfit; only the preferred fit's diagnostics matter
    for w in caught[preferred]:
        warnings.warn(f"{preferred} fit: {w.message}", FitWarning, stacklevel=2)
    values = {}
    if "aniso" in fits:  # NaN entries would read as a failed result
        values = {
            "p_value": Value("p_value", p_value, math.nan, "", "p (F-test, iso ⊂ aniso)"),
            "F": Value("F", F, math.nan, "", "F"),
            "delta_bic": Value("delta_bic", d_bic, math.nan, "", "ΔBIC (iso − aniso)"),
            "delta_aic": Value("delta_aic", d_aic, math.nan, "", "ΔAIC (iso − aniso)"),
        }
    for m in names:
        if m not in ("iso", "aniso"):
            values[f"delta_bic_{m}"] = Value(f"delta_bic_{m}", iso.bic - fits[m].fit.bic,
                                             math.nan, "", f"ΔBIC (iso − {m})")
    # the comparison can be trusted as far as the fit it prefers
    diagnostics = tuple(Diagnostic(d.code, f"{preferred} fit: {d.message}", d.severity,
                                   d.fields) for d in fits[preferred].diagnostics)
    prov = _provenance("nmr.compare_pfg_models", data, {
        "models": names, "n_components": n_components, "normalise": normalise,
        "baseline": baseline, "monte_carlo": monte_carlo,
        "p_threshold": P_THRESHOLD, "bic_threshold": BIC_THRESHOLD})
    return PFGComparison(values=values, provenance=prov, fit=None,
                         title=f"PFG-NMR model comparison: {verdict or 'preferred ' + preferred}",
                         fits=fits, table=table, preferred=preferred, verdict=verdict,
                         diagnostics=diagnostics)
