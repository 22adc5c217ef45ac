"""Arrhenius analysis of diffusion coefficients and conductivities, with curvature tests.

A thermally activated quantity follows ``y = A exp(-Ea / (k_B T))``. Diffusion coefficients are
fitted as ``D = D0 exp(-Ea / k_B T)`` (``form="D"``); conductivities as
``σ T = A exp(-Ea / k_B T)`` (``form="sigmaT"``, the form that follows from Nernst-Einstein).
Both are fitted as straight lines of ``ln y`` against ``1/T`` through
:func:`ionscale.fitting.fit_curve`, weighted by the relative errors ``y_err / y`` (the standard
error of ``ln y`` to first order). Without errors the points get equal weights and the
covariance is scaled by the reduced χ².

Curvature (non-Arrhenius behaviour, e.g. LLTO above about 450 K) is tested against two
alternatives fitted to the same ``ln y`` with the same weights:

* a continuous broken line in ``1/T`` with a fitted breakpoint (:func:`fit_two_segment`);
* the Vogel-Tammann-Fulcher law ``y = A exp(-B / (k_B (T - T0)))`` (:func:`fit_vtf`);

and :func:`compare_arrhenius_models` ranks them by AIC/BIC and an F-test of the nested
broken line against the single line.

Everything is SI: T in K, D in m² s⁻¹, σ in S m⁻¹, σT prefactors in S K m⁻¹, energies in J
(displayed in eV).
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
from ..units import BOLTZMANN, EV, ZERO_CELSIUS, format_value

#: form -> (SI unit of the fitted prefactor, symbol of the prefactor, axis label of y in field
#: units, factor from SI to the field unit of the plotted quantity)
_FORMS = {
    "D": ("m^2/s", "D0", "D (cm² s⁻¹)", 1e4),
    "sigmaT": ("S*K/m", "A", "σT (S K cm⁻¹)", 1e-2),
}


# --------------------------------------------------------------------------- validation


def _as_kelvin(T, T_unit: str, field: str = "T") -> np.ndarray:
    """Temperatures as a float array in K (``T_unit`` is ``"K"`` or ``"C"``)."""
    unit = str(T_unit).strip()
    try:
        arr = np.asarray(T, dtype=float)
    except (TypeError, ValueError):
        raise InputError("temperatures are not numbers", field=field,
                         expected="an array of temperatures") from None
    if unit in ("C", "degC", "°C", "celsius"):
        arr = arr + ZERO_CELSIUS
    elif unit not in ("K", "kelvin"):
        raise InputError(f"unknown temperature unit {T_unit!r}", field="T_unit",
                         expected="'K' or 'C'")
    if not np.all(np.isfinite(arr)):
        raise InputError("temperatures contain NaN or inf", field=field,
                         expected="finite temperatures")
    if np.any(arr <= 0):
        raise InputError(f"non-positive absolute temperature (min {arr.min():.4g} K)",
                         field=field, expected="T > 0 K")
    return arr


def _check_form(form: str) -> str:
    if form not in _FORMS:
        raise InputError(f"unknown form {form!r}", field="form", expected="'D' or 'sigmaT'")
    return form


def _prepare(T, y, y_err, T_unit: str, form: str, min_points: int):
    """Validate data; return T (K), y, y_err (or None), ln of the fitted quantity, its σ."""
    _check_form(form)
    T = _as_kelvin(T, T_unit)
    try:
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise InputError("values are not numbers", field="y", expected="an array") from None
    if T.ndim != 1 or y.shape != T.shape:
        raise InputError(f"T has shape {T.shape} but y has shape {y.shape}", field="y",
                         expected="1-D arrays of equal length")
    if T.size < min_points:
        raise InputError(f"{T.size} point(s) given", field="T",
                         expected=f"at least {min_points} temperatures")
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise InputError("values must be finite and positive", field="y",
                         expected="D > 0 or sigma > 0 (SI)")
    sigma_ln = None
    if y_err is not None:
        y_err = np.broadcast_to(np.asarray(y_err, dtype=float), y.shape).copy()
        if not np.all(np.isfinite(y_err)) or np.any(y_err <= 0):
            raise InputError("errors must be finite and positive", field="y_err",
                             expected="y_err > 0, same unit as y")
        sigma_ln = y_err / y
    if np.unique(T).size < 2:
        raise InputError("all temperatures are equal", field="T",
                         expected="at least two different temperatures")
    ln_q = np.log(y * T) if form == "sigmaT" else np.log(y)
    return T, y, y_err, ln_q, sigma_ln


def _start(value: float, floor: float) -> float:
    """A starting value at least ``floor`` in magnitude.

    The fitting core scales each parameter by its starting value, so a start near zero would
    make that parameter's Jacobian column vanish; the (linear) fits do not care where they
    start.
    """
    if abs(value) >= floor:
        return float(value)
    return floor if value >= 0 else -floor


def _to_quantity(T: np.ndarray, y: np.ndarray, form: str) -> np.ndarray:
    """The fitted quantity (D or σT) from the data quantity (D or σ)."""
    return y * T if form == "sigmaT" else y


def _from_quantity(T: np.ndarray, q: np.ndarray, form: str) -> np.ndarray:
    return q / T if form == "sigmaT" else q


# --------------------------------------------------------------------------- result base


@dataclass(frozen=True, kw_only=True)
class TemperatureFit(Result):
    """Common base of the Arrhenius-type fits: the data, the form and prediction/plotting.

    Attributes
    ----------
    T : ndarray
        Temperatures, K.
    y : ndarray
        Data: D (m² s⁻¹) for ``form="D"``, σ (S m⁻¹) for ``form="sigmaT"``.
    y_err : ndarray or None
        One-σ errors of ``y`` (same unit), or None when the fit used unit weights.
    form : str
        ``"D"`` or ``"sigmaT"``.
    """

    T: np.ndarray
    y: np.ndarray
    y_err: np.ndarray | None = None
    form: str = "D"

    # subclasses implement the mean and standard deviation of ln(D or σT) at T
    def predict_log(self, T, T_unit: str = "K") -> tuple[np.ndarray, np.ndarray]:
        """``ln`` of the fitted quantity (D or σT, SI) and its standard error at ``T``."""
        raise NotImplementedError

    def predict(self, T, T_unit: str = "K") -> tuple[np.ndarray, np.ndarray]:
        """Model value and propagated one-σ error at temperatures ``T``.

        Parameters
        ----------
        T : array_like
            Temperatures in ``T_unit``.
        T_unit : {"K", "C"}
            Unit of ``T``.

        Returns
        -------
        y, y_err : ndarray
            D (m² s⁻¹) for ``form="D"``, σ (S m⁻¹, not σT) for ``form="sigmaT"``, and the
            first-order error ``y · sd(ln y)`` from the parameter covariance.
        """
        T = _as_kelvin(T, T_unit)
        mean, sd = self.predict_log(T)
        q = np.exp(mean)
        y = _from_quantity(T, q, self.form)
        return y, y * sd

    def extrapolate(self, T, T_unit: str = "K") -> tuple[np.ndarray, np.ndarray]:
        """Alias of :meth:`predict` (the same formula outside the measured range)."""
        return self.predict(T, T_unit)

    def plot(self, ax=None, *, celsius_axis: bool = True, band: bool = True, label=None):
        """Arrhenius plot: data (log scale) against 1000/T with the fit and its 1σ band.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made if omitted.
        celsius_axis : bool
            Add a top axis in °C.
        band : bool
            Shade the 1σ confidence band of the fitted line.
        label : str, optional
            Legend label of the fit line (defaults to the result title).

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        _, _, ylabel, factor = _FORMS[self.form]
        q = _to_quantity(self.T, self.y, self.form) * factor
        x = 1000.0 / self.T
        if self.y_err is not None:
            r = self.y_err / self.y
            yerr = np.vstack([q * (1 - np.exp(-r)), q * (np.exp(r) - 1)])
            ax.errorbar(x, q, yerr=yerr, fmt="o", capsize=3, label="data")
        else:
            ax.plot(x, q, "o", label="data")
        tt = 1.0 / np.linspace(1.0 / self.T.max(), 1.0 / self.T.min(), 200)
        mean, sd = self.predict_log(tt)
        line = ax.plot(1000.0 / tt, np.exp(mean) * factor, "-", label=label or self.title)
        if band:
            ax.fill_between(1000.0 / tt, np.exp(mean - sd) * factor, np.exp(mean + sd) * factor,
                            color=line[0].get_color(), alpha=0.25, linewidth=0)
        ax.set_yscale("log")
        ax.set_xlabel("1000/T (K⁻¹)")
        ax.set_ylabel(ylabel)
        if celsius_axis:
            _add_celsius_axis(ax)
        ax.legend()
        return ax


def _add_celsius_axis(ax) -> None:
    def forward(x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, 1000.0 / np.where(x > 0, x, 1.0) - ZERO_CELSIUS, np.inf)

    def inverse(c):
        c = np.asarray(c, dtype=float)
        tk = c + ZERO_CELSIUS
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(tk > 0, 1000.0 / np.where(tk > 0, tk, 1.0), np.inf)

    top = ax.secondary_xaxis("top", functions=(forward, inverse))
    top.set_xlabel("T (°C)")


# --------------------------------------------------------------------------- single line


@dataclass(frozen=True, kw_only=True)
class ArrheniusFit(TemperatureFit):
    """A straight-line Arrhenius fit ``ln y = ln A - Ea / (k_B T)``.

    Values: ``"Ea"`` (J, shown in eV) and ``"prefactor"`` (m² s⁻¹ for D, S K m⁻¹ for σT; its
    error is ``A · sd(ln A)``).

    Attributes
    ----------
    ln_prefactor, ln_prefactor_error : float
        ``ln A`` of the SI prefactor and its standard error.
    covariance : ndarray
        2 × 2 covariance of ``(Ea [J], ln A)``.
    """

    ln_prefactor: float = math.nan
    ln_prefactor_error: float = math.nan
    covariance: np.ndarray = field(default_factory=lambda: np.full((2, 2), np.nan))

    @property
    def activation_energy(self) -> Value:
        """``Ea`` in J (a :class:`Value`; prints in eV)."""
        return self.values["Ea"]

    @property
    def prefactor(self) -> Value:
        """The pre-exponential factor in SI (a :class:`Value`)."""
        return self.values["prefactor"]

    def predict_log(self, T, T_unit: str = "K") -> tuple[np.ndarray, np.ndarray]:
        """``ln`` of D or σT (SI) at ``T`` and its exact standard error (linear in Ea, ln A)."""
        T = _as_kelvin(T, T_unit)
        ea = self.values["Ea"].value
        u = -1.0 / (BOLTZMANN * T)  # d ln y / d Ea
        mean = self.ln_prefactor + ea * u
        c = self.covariance
        var = c[1, 1] + u * u * c[0, 0] + 2 * u * c[0, 1]
        return mean, np.sqrt(np.clip(var, 0.0, None))


def _line(x, Ea, ln_prefactor):
    return ln_prefactor - Ea * x / BOLTZMANN


def _line_jac(x, Ea, ln_prefactor):
    return np.column_stack([-x / BOLTZMANN, np.ones_like(x)])


def fit_arrhenius(
    T,
    y,
    *,
    y_err=None,
    form: str = "D",
    T_unit: str = "K",
    files: Iterable = (),
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> ArrheniusFit:
    """Fit an Arrhenius law to diffusion coefficients or conductivities.

    Parameters
    ----------
    T : array_like
        Temperatures in ``T_unit`` (K or °C).
    y : array_like
        D in m² s⁻¹ (``form="D"``) or σ in S m⁻¹ (``form="sigmaT"``, fitted as σT).
    y_err : array_like, optional
        One-σ errors of ``y`` in the same unit; the fit weights are ``y / y_err`` in ``ln y``
        and the errors are taken as absolute. Without them every point has unit weight and the
        covariance is scaled by the reduced χ².
    form : {"D", "sigmaT"}
        What is fitted: ``D = D0 exp(-Ea/kT)`` or ``σT = A exp(-Ea/kT)``.
    T_unit : {"K", "C"}
        Unit of ``T``. Temperature errors are not modelled.
    files : iterable of path, optional
        Input files recorded in the provenance.
    monte_carlo : int
        If positive, the errors come from this many parametric refits (see
        :func:`ionscale.fitting.fit_curve`).
    seed : int or Generator, optional
        Seed of the Monte-Carlo draws.

    Returns
    -------
    ArrheniusFit
        Values ``"Ea"`` (J) and ``"prefactor"`` with standard errors, ``ln_prefactor`` and the
        covariance of ``(Ea, ln A)``.

    Raises
    ------
    InputError
        Fewer than 2 points, non-positive T or y, mismatched lengths, bad errors.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([300.0, 350.0, 400.0, 450.0])
    >>> D = 1e-6 * np.exp(-0.4 * 1.602176634e-19 / (1.380649e-23 * T))   # m^2/s
    >>> fit = fit_arrhenius(T, D, y_err=0.05 * D)
    >>> print(fit["Ea"])
    Ea = 0.400 ± 0.005 eV
    """
    T, y, y_err, ln_q, sigma_ln = _prepare(T, y, y_err, T_unit, form, 2)
    x = 1.0 / T
    order = np.argsort(x)
    slope = (ln_q[order[-1]] - ln_q[order[0]]) / (x[order[-1]] - x[order[0]])
    ea0 = -slope * BOLTZMANN
    if ea0 == 0:
        ea0 = 0.1 * EV
    ln0 = float(np.mean(ln_q + ea0 * x / BOLTZMANN))
    if T.size == 2 and sigma_ln is None:
        warnings.warn("two points without errors: the line passes through both and the "
                      "standard errors are undefined (NaN)", FitWarning, stacklevel=2)
    p0 = {"Ea": _start(ea0, 0.01 * EV), "ln_prefactor": _start(ln0, 1.0)}
    fit = fit_curve(_line, x, ln_q, p0, sigma=sigma_ln,
                    jacobian=_line_jac, monte_carlo=monte_carlo, seed=seed)
    return _arrhenius_result(fit, T, y, y_err, form, files, monte_carlo)


def _arrhenius_result(fit: FitResult, T, y, y_err, form, files, monte_carlo) -> ArrheniusFit:
    unit, symbol, _, _ = _FORMS[form]
    ea, ln_a = fit.value("Ea"), fit.value("ln_prefactor")
    cov = np.array(fit.covariance, dtype=float)
    if fit.dof == 0 and not fit.absolute_sigma:
        cov = np.full((2, 2), np.nan)
    ea_err, ln_err = math.sqrt(max(cov[0, 0], 0)), math.sqrt(max(cov[1, 1], 0))
    if np.isnan(cov[0, 0]):
        ea_err = ln_err = math.nan
    a = math.exp(ln_a)
    values = {
        "Ea": Value("Ea", ea, ea_err, "J", "Ea"),
        "prefactor": Value("prefactor", a, a * ln_err, unit, symbol),
    }
    what = "D" if form == "D" else "σT"
    return ArrheniusFit(
        values=values,
        provenance=Provenance.build(
            "transport.arrhenius", files,
            {"form": form, "weights": "relative y_err" if y_err is not None else "unit",
             "monte_carlo": int(monte_carlo)}),
        fit=fit,
        title=f"Arrhenius fit of {what}: Ea = {format_value(ea / EV, ea_err / EV, 'eV')}",
        T=T, y=y, y_err=y_err, form=form,
        ln_prefactor=ln_a, ln_prefactor_error=ln_err, covariance=cov,
    )


# --------------------------------------------------------------------------- two segments


@dataclass(frozen=True, kw_only=True)
class TwoSegmentFit(TemperatureFit):
    """A continuous broken Arrhenius line with a fitted breakpoint.

    Values: ``"Ea_high"`` (J, above ``T_break``), ``"Ea_low"`` (J, below), ``"T_break"`` (K)
    and ``"ln_y_break"`` (ln of D or σT in SI at the breakpoint).
    """

    def predict_log(self, T, T_unit: str = "K") -> tuple[np.ndarray, np.ndarray]:
        """``ln`` of D or σT at ``T`` and its first-order standard error (full covariance)."""
        T = _as_kelvin(T, T_unit)
        p = self.fit.params
        mean = _broken(1.0 / T, **p)
        jac = _broken_jac(1.0 / T, **p)
        var = np.einsum("ij,jk,ik->i", jac, self.fit.covariance, jac)
        return mean, np.sqrt(np.clip(var, 0.0, None))


def _broken(x, Ea_high, Ea_low, ln_y_break, T_break):
    xb = 1.0 / T_break
    ea = np.where(x <= xb, Ea_high, Ea_low)
    return ln_y_break - ea * (x - xb) / BOLTZMANN


def _broken_jac(x, Ea_high, Ea_low, ln_y_break, T_break):
    xb = 1.0 / T_break
    high = x <= xb
    ea = np.where(high, Ea_high, Ea_low)
    d = -(x - xb) / BOLTZMANN
    return np.column_stack([
        np.where(high, d, 0.0),
        np.where(high, 0.0, d),
        np.ones_like(x),
        (ea / BOLTZMANN) * (-1.0 / T_break**2),
    ])


def fit_two_segment(
    T,
    y,
    *,
    y_err=None,
    form: str = "D",
    T_unit: str = "K",
    min_points: int = 2,
    n_grid: int = 40,
    files: Iterable = (),
) -> TwoSegmentFit:
    """Fit a continuous broken line in ``1/T`` (two activation energies, fitted breakpoint).

    ``ln y = ln y_b - Ea_high (1/T - 1/T_b) / k_B`` for ``T ≥ T_b`` and the same with
    ``Ea_low`` below ``T_b``. The breakpoint is first grid-searched (a linear fit at each
    trial ``T_b`` between the data), then refined with all four parameters free.

    Parameters
    ----------
    T, y, y_err, form, T_unit, files
        As in :func:`fit_arrhenius`.
    min_points : int
        Fewest data points on each side of the breakpoint (default 2).
    n_grid : int
        Trial breakpoints of the grid search.

    Returns
    -------
    TwoSegmentFit

    Raises
    ------
    InputError
        Fewer than ``2 * min_points + 1`` points, or bad data as in :func:`fit_arrhenius`.
    """
    min_points = max(int(min_points), 2)
    T, y, y_err, ln_q, sigma_ln = _prepare(T, y, y_err, T_unit, form, 2 * min_points + 1)
    x = 1.0 / T
    xs = np.unique(x)
    if xs.size < 2 * min_points:
        raise InputError(f"only {xs.size} distinct temperatures", field="T",
                         expected=f"at least {2 * min_points} distinct temperatures")
    lo, hi = xs[min_points - 1], xs[-min_points]
    grid = np.linspace(lo, hi, max(int(n_grid), 3))
    line0 = fit_arrhenius(T, y, y_err=y_err, form=form)
    ea0 = line0.values["Ea"].value
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        for xb in grid:
            tb = 1.0 / xb
            ln_b = float(np.asarray(line0.predict_log(tb)[0]).reshape(-1)[0])
            p0 = {"Ea_high": _start(ea0, 0.01 * EV), "Ea_low": _start(ea0, 0.01 * EV),
                  "ln_y_break": _start(ln_b, 1.0), "T_break": tb}
            try:
                trial = fit_curve(_broken, x, ln_q, p0, sigma=sigma_ln, fixed=("T_break",),
                                  jacobian=_broken_jac)
            except FitError:
                continue
            if best is None or trial.chi2 < best.chi2:
                best = trial
    if best is None:
        raise FitError("no breakpoint of the grid could be fitted")
    bounds = {"T_break": (1.0 / hi, 1.0 / lo)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        refined = fit_curve(_broken, x, ln_q, best.params, sigma=sigma_ln, bounds=bounds,
                            jacobian=_broken_jac)
    for w in caught:
        warnings.warn(w.message, FitWarning, stacklevel=2)
    if refined.chi2 > best.chi2 * (1 + 1e-6) + 1e-12:
        warnings.warn("refining the breakpoint raised χ² above the grid optimum; the fit may "
                      "sit in a local minimum", FitWarning, stacklevel=2)
    fit = refined
    values = {
        "Ea_high": Value("Ea_high", fit.value("Ea_high"), fit.error("Ea_high"), "J", "Ea(T>Tb)"),
        "Ea_low": Value("Ea_low", fit.value("Ea_low"), fit.error("Ea_low"), "J", "Ea(T<Tb)"),
        "T_break": Value("T_break", fit.value("T_break"), fit.error("T_break"), "K", "Tb"),
        "ln_y_break": Value("ln_y_break", fit.value("ln_y_break"), fit.error("ln_y_break"), "",
                            "ln y(Tb)"),
    }
    return TwoSegmentFit(
        values=values,
        provenance=Provenance.build("transport.two_segment", files,
                                    {"form": form, "min_points": min_points, "n_grid": n_grid}),
        fit=fit,
        title=f"two-segment Arrhenius fit (break at {fit.value('T_break'):.0f} K)",
        T=T, y=y, y_err=y_err, form=form,
    )


# --------------------------------------------------------------------------- VTF


@dataclass(frozen=True, kw_only=True)
class VTFFit(TemperatureFit):
    """A Vogel-Tammann-Fulcher fit ``y = A exp(-B / (k_B (T - T0)))``.

    Values: ``"B"`` (pseudo-activation energy, J), ``"T0"`` (K) and ``"prefactor"`` (as for
    :class:`ArrheniusFit`).
    """

    def predict_log(self, T, T_unit: str = "K") -> tuple[np.ndarray, np.ndarray]:
        """``ln`` of D or σT at ``T`` and its first-order standard error (full covariance)."""
        T = _as_kelvin(T, T_unit)
        p = self.fit.params
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = _vtf(T, **p)
            jac = _vtf_jac(T, **p)
        var = np.einsum("ij,jk,ik->i", jac, self.fit.covariance, jac)
        return mean, np.sqrt(np.clip(var, 0.0, None))


def _vtf(T, ln_prefactor, B, T0):
    return ln_prefactor - B / (BOLTZMANN * (T - T0))


def _vtf_jac(T, ln_prefactor, B, T0):
    dt = T - T0
    return np.column_stack([np.ones_like(T), -1.0 / (BOLTZMANN * dt),
                            -B / (BOLTZMANN * dt**2)])


def fit_vtf(
    T,
    y,
    *,
    y_err=None,
    form: str = "D",
    T_unit: str = "K",
    T0_max: float | None = None,
    files: Iterable = (),
) -> VTFFit:
    """Fit the Vogel-Tammann-Fulcher law ``y = A exp(-B / (k_B (T - T0)))``.

    ``T0`` is bounded to ``0 ≤ T0 ≤ T0_max < min(T)`` so the model stays finite over the data;
    ``T0 = 0`` is the Arrhenius law. Several starting ``T0`` are tried and the best refit kept.

    Parameters
    ----------
    T, y, y_err, form, T_unit, files
        As in :func:`fit_arrhenius`.
    T0_max : float, optional
        Upper bound of ``T0`` in K (default ``0.95 · min(T)``); must be below ``min(T)``.

    Returns
    -------
    VTFFit
        A ``T0`` at a bound is reported with a :class:`~ionscale.errors.FitWarning`.

    Raises
    ------
    InputError
        Fewer than 4 points, ``T0_max ≥ min(T)``, or bad data as in :func:`fit_arrhenius`.
    """
    T, y, y_err, ln_q, sigma_ln = _prepare(T, y, y_err, T_unit, form, 4)
    tmin = float(T.min())
    if T0_max is None:
        T0_max = 0.95 * tmin
    T0_max = float(T0_max)
    if not 0 < T0_max < tmin:
        raise InputError(f"T0_max = {T0_max:.4g} K", field="T0_max",
                         expected=f"0 < T0_max < min(T) = {tmin:.4g} K")
    bounds = {"T0": (0.0, T0_max), "B": (0.0, math.inf)}
    line0 = fit_arrhenius(T, y, y_err=y_err, form=form)
    best = None
    # wild trial steps of the optimiser overflow harmlessly (they are rejected)
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", FitWarning)
        for frac in (0.0, 0.3, 0.6, 0.85):
            t0 = frac * T0_max
            # with T0 fixed the model is linear in 1/(T - T0): start from its line
            lin = fit_curve(_vtf, T, ln_q, {"ln_prefactor": _start(line0.ln_prefactor, 1.0),
                                            "B": max(line0.values["Ea"].value, 1e-22), "T0": t0},
                            sigma=sigma_ln, fixed=("T0",), jacobian=_vtf_jac)
            p0 = lin.params
            p0["ln_prefactor"] = _start(p0["ln_prefactor"], 1.0)
            p0["B"] = max(p0["B"], 1e-3 * EV)
            p0["T0"] = max(t0, 1e-3 * T0_max)
            try:
                trial = fit_curve(_vtf, T, ln_q, p0, sigma=sigma_ln, bounds=bounds,
                                  jacobian=_vtf_jac)
            except FitError:
                continue
            if best is None or trial.chi2 < best.chi2:
                best = trial
    if best is None:
        raise FitError("VTF fit failed from every starting T0")
    t0 = best.value("T0")
    if np.isclose(t0, 0.0, atol=1e-6 * tmin) or np.isclose(t0, T0_max, rtol=1e-6):
        warnings.warn(f"VTF T0 ended at a bound ({t0:.4g} K); its error is not meaningful",
                      FitWarning, stacklevel=2)
    unit, symbol, _, _ = _FORMS[form]
    a = math.exp(best.value("ln_prefactor"))
    values = {
        "B": Value("B", best.value("B"), best.error("B"), "J", "B"),
        "T0": Value("T0", t0, best.error("T0"), "K", "T0"),
        "prefactor": Value("prefactor", a, a * best.error("ln_prefactor"), unit, symbol),
    }
    return VTFFit(
        values=values,
        provenance=Provenance.build("transport.vtf", files, {"form": form, "T0_max": T0_max}),
        fit=best,
        title=f"VTF fit (T0 = {t0:.0f} K)",
        T=T, y=y, y_err=y_err, form=form,
    )


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True, kw_only=True)
class ModelComparison(Result):
    """Single Arrhenius line against the two-segment and VTF alternatives.

    Values: ``"F"`` (F statistic of two-segment vs line), ``"p_value"`` and ``"delta_aic_*"``
    (AIC of the line minus AIC of the alternative; positive favours the alternative).

    Attributes
    ----------
    arrhenius : ArrheniusFit
    two_segment : TwoSegmentFit or None
        None with fewer than 5 points or when the fit failed.
    vtf : VTFFit or None
        None with fewer than 4 points or when the fit failed.
    table : dict
        Per model: number of free parameters ``k``, ``chi2``, ``aic``, ``bic``.
    verdict : str
        ``"Arrhenius adequate"`` or ``"curvature: ..."``.
    preferred : str
        The model with the lowest AIC (``"arrhenius"``, ``"two_segment"`` or ``"vtf"``).
    alpha : float
        Significance level of the F-test.
    """

    arrhenius: ArrheniusFit
    two_segment: TwoSegmentFit | None = None
    vtf: VTFFit | None = None
    table: dict = field(default_factory=dict)
    verdict: str = ""
    preferred: str = "arrhenius"
    alpha: float = 0.05

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}"]
        for name, row in self.table.items():
            lines.append(f"  {name:12s} k={row['k']}  χ²={row['chi2']:.4g}  "
                         f"AIC={row['aic']:.4g}  BIC={row['bic']:.4g}")
        lines += [f"  {v}" for v in self.values.values()]
        return "\n".join(lines)

    def plot(self, ax=None, *, celsius_axis: bool = True):
        """Arrhenius plot of the data with every fitted model (1σ band on the line only)."""
        ax = self.arrhenius.plot(ax, celsius_axis=celsius_axis, label="Arrhenius")
        _, _, _, factor = _FORMS[self.arrhenius.form]
        T = self.arrhenius.T
        tt = 1.0 / np.linspace(1.0 / T.max(), 1.0 / T.min(), 200)
        for name, f in (("two-segment", self.two_segment), ("VTF", self.vtf)):
            if f is not None:
                mean, _ = f.predict_log(tt)
                ax.plot(1000.0 / tt, np.exp(mean) * factor, "--", label=name)
        ax.legend()
        short = ("Arrhenius adequate" if self.verdict.startswith("Arrhenius")
                 else f"curvature (lowest AIC: {self.preferred})")
        ax.set_title(short)
        return ax


def _free_count(fit: FitResult) -> int:
    return int(sum(fit.free))


def compare_arrhenius_models(
    T,
    y,
    y_err=None,
    *,
    form: str = "D",
    T_unit: str = "K",
    alpha: float = 0.05,
    min_delta_aic: float = 2.0,
    files: Iterable = (),
) -> ModelComparison:
    """Test Arrhenius data for curvature: line vs two-segment line vs VTF.

    The three models are fitted to the same ``ln y`` with the same weights. The broken line is
    nested in the single line (equal energies), so an F-test compares them:
    ``F = ((χ²₁ - χ²₂) / 2) / (χ²₂ / (n - 4))``. Because the breakpoint is itself searched,
    this F is somewhat anti-conservative (the breakpoint does not exist under the null
    hypothesis); the verdict therefore also asks for a lower AIC. VTF contains the line at
    ``T0 = 0`` (a boundary), so it is judged by AIC alone.

    Verdict: ``"curvature: ..."`` when the two-segment line passes the F-test at ``alpha`` and
    has the lower AIC, or when VTF lowers the AIC by more than ``min_delta_aic``; otherwise
    ``"Arrhenius adequate"``.

    Parameters
    ----------
    T, y, y_err, form, T_unit, files
        As in :func:`fit_arrhenius`.
    alpha : float
        Significance level of the F-test.
    min_delta_aic : float
        AIC improvement VTF needs to count as curvature.

    Returns
    -------
    ModelComparison

    Raises
    ------
    InputError
        Fewer than 3 points or bad data.
    """
    T, y, y_err, _, _ = _prepare(T, y, y_err, T_unit, form, 3)
    line = fit_arrhenius(T, y, y_err=y_err, form=form, files=files)
    fits: dict[str, TemperatureFit | None] = {"arrhenius": line, "two_segment": None,
                                              "vtf": None}
    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        if T.size >= 5 and np.unique(T).size >= 4:
            try:
                fits["two_segment"] = fit_two_segment(T, y, y_err=y_err, form=form)
            except FitError as exc:
                notes.append(f"two-segment fit failed: {exc}")
        if T.size >= 4:
            try:
                fits["vtf"] = fit_vtf(T, y, y_err=y_err, form=form)
            except FitError as exc:
                notes.append(f"VTF fit failed: {exc}")
    table = {}
    for name, f in fits.items():
        if f is not None:
            table[name] = {"k": _free_count(f.fit), "chi2": f.fit.chi2, "aic": f.fit.aic,
                           "bic": f.fit.bic}
    values: dict[str, Value] = {}
    two, vtf = fits["two_segment"], fits["vtf"]
    reasons = []
    f_stat = p_value = math.nan
    if two is not None:
        n, k1, k2 = T.size, 2, 4
        chi1, chi2 = line.fit.chi2, two.fit.chi2
        if n > k2 and chi2 > 0:
            f_stat = max((chi1 - chi2) / (k2 - k1), 0.0) / (chi2 / (n - k2))
            p_value = float(stats.f.sf(f_stat, k2 - k1, n - k2))
        elif chi2 == 0 and chi1 > 0:
            f_stat, p_value = math.inf, 0.0
        d_aic = line.fit.aic - two.fit.aic
        values["F"] = Value("F", f_stat, math.nan, "", "F")
        values["p_value"] = Value("p_value", p_value, math.nan, "", "p")
        values["delta_aic_two_segment"] = Value("delta_aic_two_segment", d_aic, math.nan, "",
                                                "ΔAIC(2-seg)")
        if p_value < alpha and d_aic > 0:
            ea_h, ea_l = two.values["Ea_high"], two.values["Ea_low"]
            reasons.append(
                f"two-segment (Ea {ea_h.value / EV:.3g} eV above and {ea_l.value / EV:.3g} eV "
                f"below {two.values['T_break'].value:.0f} K; F-test p = {p_value:.2g})")
    if vtf is not None:
        d_aic = line.fit.aic - vtf.fit.aic
        values["delta_aic_vtf"] = Value("delta_aic_vtf", d_aic, math.nan, "", "ΔAIC(VTF)")
        if d_aic > min_delta_aic:
            reasons.append(f"VTF (T0 = {vtf.values['T0'].value:.0f} K, ΔAIC = {d_aic:.3g})")
    best_name = min(table, key=lambda name: table[name]["aic"])
    verdict = "Arrhenius adequate"
    if reasons:
        verdict = "curvature: " + "; ".join(reasons) + f" (lowest AIC: {best_name})"
    if notes:
        verdict += " [" + "; ".join(notes) + "]"
    return ModelComparison(
        values=values,
        provenance=Provenance.build("transport.compare_arrhenius", files,
                                    {"form": form, "alpha": alpha,
                                     "min_delta_aic": min_delta_aic}),
        fit=line.fit,
        title="Arrhenius curvature test",
        arrhenius=line, two_segment=two, vtf=vtf, table=table, verdict=verdict,
        preferred=best_name, alpha=alpha,
    )
