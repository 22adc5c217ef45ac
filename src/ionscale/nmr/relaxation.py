"""Diffusion-induced NMR relaxation: BPP fits of T1 and T1ρ against temperature.

A thermally activated jump motion with correlation time ``τ = τ0 exp(Ea / (k_B T))`` modulates
the dipolar (or quadrupolar) couplings of the nuclei and relaxes their magnetisation. With the
Lorentzian spectral density of Bloembergen, Purcell and Pound (BPP),
``J(ω) = τ / (1 + ω² τ²)``, the like-spin (homonuclear) dipolar rates are

* spin-lattice: ``1/T1 = C [J(ω0) + 4 J(2ω0)]``;
* spin-lattice in the rotating frame (spin lock of nutation frequency ω1, Look & Lowe form):
  ``1/T1ρ = C [3/2 J(2ω1) + 5/2 J(ω0) + J(2ω0)]``,

with ω0 = 2π × Larmor frequency and ω1 = 2π × spin-lock frequency, both in rad s⁻¹. ``C``
(s⁻²) holds the coupling constants; both forms tend to ``5 C τ`` in the fast-motion limit, so
one ``C`` describes both. ``1/T1`` has its maximum (the T1 minimum) at ``ω0 τ = x*`` with
``x*²`` the real root of ``32 y³ + 20 y² + y − 5 = 0``:
``x* = 0.6157951469617562`` (:data:`BPP_T1_MINIMUM`), where ``1/T1 = 1.4251757 C / ω0``.
1/T1ρ peaks near ``ω1 τ ≈ 0.5``.

Correlated or low-dimensional motion makes the rate peak asymmetric. The common
generalisation (Küchler, Heitjans et al.) replaces the Lorentzian by
``J(ω) = τ / (1 + (ω τ)^β)`` with ``1 < β ≤ 2`` (β = 2 is BPP). Then ``ln(1/T1)`` against
``1/T`` has the slope ``Ea / k_B`` on the high-temperature flank (ω0τ ≪ 1, rate ∝ τ) and
``−(β − 1) Ea / k_B`` on the low-temperature flank (ω0τ ≫ 1, rate ∝ τ^(1−β) ω0^(−β)): the
apparent low-temperature activation energy is ``(β − 1) Ea``
(:func:`flank_activation_energies`).

:func:`fit_bpp` fits ``ln(1/T1)`` (or ``ln(1/T1ρ)``) through :func:`ionscale.fitting.fit_curve`,
weighted by ``σ_T1 / T1`` (the first-order standard error of ``ln(1/T1)``; relaxation times
are measured to a relative precision and span decades, so the log residual is the natural one).
The Einstein-Smoluchowski relation turns a correlation time into a local diffusion
coefficient, ``D = l² / (2 d τ)`` (:func:`einstein_smoluchowski`).

Everything is SI: T in K, times in s, Ea in J (displayed in eV), ω in rad s⁻¹, C in s⁻²,
jump lengths in m, D in m² s⁻¹.

References
----------
N. Bloembergen, E. M. Purcell, R. V. Pound, Phys. Rev. 73, 679 (1948).
D. C. Look, I. J. Lowe, J. Chem. Phys. 44, 2995 (1966) (T1ρ).
W. Küchler, P. Heitjans, A. Payer, R. Schöllhorn, Solid State Ionics 70-71, 434 (1994);
P. Heitjans, S. Indris, J. Phys.: Condens. Matter 15, R1257 (2003) (asymmetric peaks).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from ..errors import FitWarning, InputError
from ..fitting import FitResult, fit_curve
from ..results import Diagnostic, Estimate, Provenance, Result, Value, new_axes
from ..uncertainty import value_and_error
from ..units import BOLTZMANN, EV, format_value
from .bvalues import gamma


def _bpp_t1_minimum() -> float:
    """``ω0 τ`` at the T1 minimum: ``√y`` for the real root of ``32 y³ + 20 y² + y − 5``."""
    roots = np.roots([32.0, 20.0, 1.0, -5.0])
    y = float(roots[np.argmin(np.abs(roots.imag))].real)
    return math.sqrt(y)


#: ``ω0 τ`` at the BPP T1 minimum (the maximum of ``x/(1+x²) + 4x/(1+4x²)``), 0.6157951...
BPP_T1_MINIMUM: float = _bpp_t1_minimum()

_KINDS = ("T1", "T1rho")
_BETA_BOUNDS = (1.0, 2.0)


# --------------------------------------------------------------------------- nuclei


def larmor_frequency(nucleus: str, field_T: float) -> float:
    """Larmor frequency ``γ B / 2π`` of a nucleus, Hz.

    Parameters
    ----------
    nucleus : str
        ``"7Li"`` (also ``"Li7"``, ``"Li-7"``, ``"⁷Li"``), ``"1H"``... any nucleus of
        :data:`ionscale.nmr.bvalues.GAMMA` (γ from :func:`ionscale.nmr.bvalues.gamma`; its sign
        is dropped).
    field_T : float
        Static magnetic field B0, T.

    Returns
    -------
    float
        Frequency in Hz (multiply by 2π for ω0 in rad s⁻¹).

    Examples
    --------
    >>> round(larmor_frequency("7Li", 9.4) / 1e6, 1)       # MHz
    155.5
    """
    g = abs(gamma(nucleus))                 # raises InputError(field="nucleus") if unknown
    try:
        b = float(field_T)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {field_T!r} as a field", field="field",
                         expected="B0 in T") from None
    if not (math.isfinite(b) and b > 0):
        raise InputError(f"field {field_T!r} is not positive", field="field",
                         expected="B0 > 0, in T")
    return g * b / (2 * math.pi)


# --------------------------------------------------------------------------- rate model


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise InputError(f"relaxation kind {kind!r} has no BPP rate here", field="kind",
                         expected="'T1' or 'T1rho'")
    return kind


def _terms(kind: str, omega0: float, omega1: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``a_i`` and frequencies ``ω_i`` of ``rate = C Σ a_i J(ω_i)``."""
    if kind == "T1":
        return np.array([1.0, 4.0]), np.array([omega0, 2 * omega0])
    return np.array([1.5, 2.5, 1.0]), np.array([2 * omega1, omega0, 2 * omega0])


def _log_spectrum(ln_tau, weights, omegas, beta: float):
    """``ln S``, ``d ln S / d ln τ`` and ``d ln S / dβ`` with ``S = Σ a_i J(ω_i)``.

    Everything stays in logarithms, so no τ (however large the optimiser makes it) overflows.
    """
    ln_tau = np.asarray(ln_tau, dtype=float)[..., None]
    ln_wt = np.log(omegas) + ln_tau                      # ln(ω_i τ)
    ln_z = beta * ln_wt                                   # ln (ω_i τ)^β
    ln_j = ln_tau - np.logaddexp(0.0, ln_z)               # ln J_i
    terms = np.log(weights) + ln_j
    ln_s = np.logaddexp.reduce(terms, axis=-1)
    share = np.exp(terms - ln_s[..., None])               # a_i J_i / S
    s = 0.5 * (1.0 + np.tanh(0.5 * ln_z))                 # z / (1 + z), no overflow
    d_ln_tau = np.sum(share * (1.0 - beta * s), axis=-1)
    d_beta = -np.sum(share * s * ln_wt, axis=-1)
    return ln_s, d_ln_tau, d_beta


def _ln_tau(T, tau0: float, Ea: float) -> np.ndarray:
    return math.log(tau0) + Ea / (BOLTZMANN * np.asarray(T, dtype=float))


def _positive(x, name: str, unit: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {x!r} as a number", field=name,
                         expected=f"{name} > 0, in {unit}") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name} = {x!r} is not positive", field=name,
                         expected=f"{name} > 0, in {unit}")
    return v


def _temperatures(T, name: str = "T") -> np.ndarray:
    try:
        arr = np.asarray(T, dtype=float)
    except (TypeError, ValueError):
        raise InputError("temperatures are not numbers", field=name,
                         expected="temperatures in K") from None
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError("temperature is not positive and finite", field=name,
                         expected="T > 0, in K")
    return arr


def _check_beta(beta) -> float:
    try:
        b = float(beta)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {beta!r} as β", field="beta",
                         expected="1 <= beta <= 2") from None
    if not _BETA_BOUNDS[0] <= b <= _BETA_BOUNDS[1]:
        raise InputError(f"β = {beta!r} is outside [1, 2]", field="beta",
                         expected="1 <= beta <= 2 (2 is BPP)")
    return b


def _omega1_for(kind: str, omega1) -> float | None:
    if kind == "T1rho":
        if omega1 is None:
            raise InputError("T1rho needs the spin-lock frequency", field="omega1",
                             expected="omega1 = 2π × spin-lock frequency, rad/s")
        return _positive(omega1, "omega1", "rad/s")
    return None


def asymmetric_bpp_rate(T, tau0: float, Ea: float, C: float, omega0: float, beta: float, *,
                        kind: str = "T1", omega1: float | None = None) -> np.ndarray:
    """Relaxation rate with the asymmetric spectral density ``J(ω) = τ / (1 + (ωτ)^β)``.

    ``1/T1 = C [J(ω0) + 4 J(2ω0)]`` or ``1/T1ρ = C [3/2 J(2ω1) + 5/2 J(ω0) + J(2ω0)]`` with
    ``τ = τ0 exp(Ea / k_B T)``. β = 2 is BPP (:func:`bpp_rate`); for ``1 < β < 2`` the
    low-temperature flank has the apparent activation energy ``(β − 1) Ea`` and the
    high-temperature flank ``Ea``.

    Parameters
    ----------
    T : float or array_like
        Temperature, K.
    tau0 : float
        Pre-exponential factor of the correlation time, s.
    Ea : float
        Activation energy, J (0.11 eV = 0.11 * ionscale.units.EV).
    C : float
        Relaxation constant, s⁻².
    omega0 : float
        Angular Larmor frequency ω0 = 2π f0, rad s⁻¹.
    beta : float
        Exponent, 1 ≤ β ≤ 2.
    kind : {"T1", "T1rho"}
        Which rate.
    omega1 : float, optional
        Angular spin-lock frequency ω1 = 2π f1, rad s⁻¹ (needed for T1rho).

    Returns
    -------
    ndarray or float
        The rate 1/T1 (or 1/T1ρ), s⁻¹.

    Examples
    --------
    >>> from ionscale.units import EV
    >>> r = asymmetric_bpp_rate(300.0, 1.4e-11, 0.11 * EV, 1e10, 2 * 3.14159 * 155.4e6, 1.6)
    >>> 10 < float(r) < 20
    True
    """
    kind = _check_kind(kind)
    T = _temperatures(T)
    tau0 = _positive(tau0, "tau0", "s")
    C = _positive(C, "C", "1/s^2")
    omega0 = _positive(omega0, "omega0", "rad/s")
    omega1 = _omega1_for(kind, omega1)
    beta = _check_beta(beta)
    try:
        ea = float(Ea)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {Ea!r} as an energy", field="Ea",
                         expected="Ea >= 0, in J") from None
    if not (math.isfinite(ea) and ea >= 0):
        raise InputError(f"Ea = {Ea!r} is negative or not finite", field="Ea",
                         expected="Ea >= 0, in J")
    weights, omegas = _terms(kind, omega0, omega1)
    ln_s, _, _ = _log_spectrum(_ln_tau(T, tau0, ea), weights, omegas, beta)
    rate = C * np.exp(ln_s)
    return float(rate) if rate.ndim == 0 else rate


def bpp_rate(T, tau0: float, Ea: float, C: float, omega0: float, *, kind: str = "T1",
             omega1: float | None = None) -> np.ndarray:
    """BPP relaxation rate 1/T1 or 1/T1ρ of thermally activated jumps.

    ``1/T1 = C [τ/(1 + ω0²τ²) + 4τ/(1 + 4ω0²τ²)]`` (Bloembergen, Purcell, Pound 1948) and,
    for a spin lock of nutation frequency ω1, the like-spin dipolar form of Look & Lowe (1966)
    ``1/T1ρ = C [3/2 τ/(1 + 4ω1²τ²) + 5/2 τ/(1 + ω0²τ²) + τ/(1 + 4ω0²τ²)]``, with
    ``τ = τ0 exp(Ea / k_B T)``. Limits: ``5 C τ`` for ω0τ ≪ 1; ``2 C / (ω0² τ)`` (T1) for
    ω0τ ≫ 1; the T1 minimum at ``ω0 τ = 0.6157951...`` (:data:`BPP_T1_MINIMUM`).

    Parameters
    ----------
    T : float or array_like
        Temperature, K.
    tau0 : float
        Pre-exponential factor of τ, s.
    Ea : float
        Activation energy, J.
    C : float
        Relaxation constant, s⁻².
    omega0 : float
        Angular Larmor frequency ω0 = 2π f0, rad s⁻¹ (⁷Li at 9.4 T: 2π × 155.4 MHz).
    kind : {"T1", "T1rho"}
        Which rate.
    omega1 : float, optional
        Angular spin-lock frequency ω1 = 2π f1, rad s⁻¹ (needed for T1rho).

    Returns
    -------
    ndarray or float
        Rate, s⁻¹.

    Examples
    --------
    >>> import math
    >>> w0 = 2 * math.pi * 155.4e6
    >>> T1 = 1 / bpp_rate([250.0, 335.0, 450.0], 1.4e-11, 0.11 * EV, 1.37e10, w0)
    >>> [round(float(t) * 1e3, 1) for t in T1]        # ms, minimum near 335 K
    [89.9, 50.0, 72.2]
    """
    return asymmetric_bpp_rate(T, tau0, Ea, C, omega0, 2.0, kind=kind, omega1=omega1)


def correlation_time(T, tau0: float, Ea: float):
    """``τ = τ0 exp(Ea / (k_B T))``, s (T in K, τ0 in s, Ea in J)."""
    T = _temperatures(T)
    tau = np.exp(_ln_tau(T, _positive(tau0, "tau0", "s"), float(Ea)))
    return float(tau) if tau.ndim == 0 else tau


def _peak_ln_tau(weights, omegas, beta: float) -> float:
    """``ln τ`` where ``S = Σ a_i J(ω_i)`` is largest (NaN when it has no maximum)."""
    if beta == 2.0 and omegas.size == 2:
        return math.log(BPP_T1_MINIMUM / omegas[0])
    lo = math.log(1e-3 / omegas.max())
    hi = math.log(1e6 / omegas.min())
    grid = np.linspace(lo, hi, 1200)
    _, slope, _ = _log_spectrum(grid, weights, omegas, beta)
    down = np.flatnonzero((slope[:-1] > 0) & (slope[1:] <= 0))
    if down.size == 0:
        return math.nan
    ln_s, _, _ = _log_spectrum(grid[down], weights, omegas, beta)
    i = down[int(np.argmax(ln_s))]

    def f(u):
        return float(_log_spectrum(u, weights, omegas, beta)[1])

    return float(brentq(f, grid[i], grid[i + 1], xtol=1e-13, rtol=4 * np.finfo(float).eps))


def bpp_minimum_position(beta: float = 2.0) -> float:
    """``ω0 τ`` at the T1 minimum of the (asymmetric) BPP rate.

    Parameters
    ----------
    beta : float
        Exponent of ``J(ω) = τ / (1 + (ωτ)^β)``, 1 < β ≤ 2 (2: BPP, 0.6157951469617562).

    Returns
    -------
    float
        The dimensionless ``ω0 τ`` (NaN for β = 1, where the rate has no maximum).

    Examples
    --------
    >>> round(bpp_minimum_position(), 7)
    0.6157951
    """
    beta = _check_beta(beta)
    weights, omegas = _terms("T1", 1.0, None)
    return math.exp(_peak_ln_tau(weights, omegas, beta))


# --------------------------------------------------------------------------- fit model


def _model_factory(kind: str, omega0: float, omega1: float | None):
    weights, omegas = _terms(kind, omega0, omega1)

    def model(T, tau0, Ea, C, beta=2.0):
        ln_s, _, _ = _log_spectrum(_ln_tau(T, tau0, Ea), weights, omegas, beta)
        return math.log(C) + ln_s

    def jacobian(T, tau0, Ea, C, beta=2.0, *, with_beta: bool = False):
        _, d_tau, d_beta = _log_spectrum(_ln_tau(T, tau0, Ea), weights, omegas, beta)
        cols = [d_tau / tau0, d_tau / (BOLTZMANN * T), np.full(T.shape, 1.0 / C)]
        if with_beta:
            cols.append(d_beta)
        return np.column_stack(cols)

    return model, jacobian, weights, omegas


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, kw_only=True)
class BPPFit(Result):
    """A BPP (or asymmetric BPP) fit of relaxation times against temperature.

    Values: ``"tau0"`` (s), ``"Ea"`` (J, shown in eV), ``"C"`` (s⁻²), ``"beta"`` (asymmetric
    fits only), ``"Ea_low"`` (asymmetric only: ``(β − 1) Ea``, J), ``"T_min"`` (K, where the
    rate is largest, i.e. T1 smallest), ``"tau_at_min"`` (s, τ there; exact from ω0 for BPP)
    and ``"rate_at_min"`` (s⁻¹).

    Attributes
    ----------
    T, time : ndarray
        The data: temperatures (K) and relaxation times (s), sorted by T.
    time_error : ndarray or None
        One-σ errors of ``time``, s.
    kind : str
        ``"T1"`` or ``"T1rho"``.
    omega0 : float
        Angular Larmor frequency, rad s⁻¹.
    omega1 : float or None
        Angular spin-lock frequency (T1rho), rad s⁻¹.
    asymmetric : bool
        Whether β was fitted.
    """

    T: np.ndarray = field(default_factory=lambda: np.empty(0))
    time: np.ndarray = field(default_factory=lambda: np.empty(0))
    time_error: np.ndarray | None = None
    kind: str = "T1"
    omega0: float = math.nan
    omega1: float | None = None
    asymmetric: bool = False

    @property
    def beta(self) -> float:
        """β of the fit (2 for BPP)."""
        return self.fit.value("beta") if self.asymmetric else 2.0

    def _params(self) -> dict[str, float]:
        p = {n: self.fit.value(n) for n in ("tau0", "Ea", "C")}
        p["beta"] = self.beta
        return p

    def _cov(self, names) -> np.ndarray:
        idx = [self.fit.index(n) for n in names]
        return self.fit.covariance[np.ix_(idx, idx)]

    def tau(self, T) -> tuple[np.ndarray, np.ndarray]:
        """Correlation time ``τ(T) = τ0 exp(Ea / k_B T)`` and its standard error, s.

        The error comes from the covariance of (τ0, Ea), propagated through ``ln τ``.

        Parameters
        ----------
        T : float or array_like
            Temperature, K.

        Returns
        -------
        tau, tau_error : ndarray or float
        """
        T = _temperatures(T)
        p = self._params()
        tau = np.exp(_ln_tau(T, p["tau0"], p["Ea"]))
        g0 = 1.0 / p["tau0"]                     # d ln τ / d τ0
        g1 = 1.0 / (BOLTZMANN * T)               # d ln τ / d Ea
        c = self._cov(("tau0", "Ea"))
        var = g0 * g0 * c[0, 0] + g1 * g1 * c[1, 1] + 2 * g0 * g1 * c[0, 1]
        err = tau * np.sqrt(np.clip(var, 0.0, None))
        return _scalar(tau), _scalar(err)

    def jump_rate(self, T) -> tuple[np.ndarray, np.ndarray]:
        """Jump rate ``1/τ`` and its standard error, s⁻¹ (T in K)."""
        tau, err = self.tau(T)
        rate = 1.0 / np.asarray(tau)
        return _scalar(rate), _scalar(rate * np.asarray(err) / np.asarray(tau))

    def rate(self, T) -> tuple[np.ndarray, np.ndarray]:
        """Fitted relaxation rate 1/T1 (or 1/T1ρ) at ``T`` (K) and its standard error, s⁻¹."""
        T = _temperatures(T)
        scalar = T.ndim == 0
        T = np.atleast_1d(T)
        model, jac, _, _ = _model_factory(self.kind, self.omega0, self.omega1)
        p = self._params()
        y = model(T, **p)
        names = ["tau0", "Ea", "C"] + (["beta"] if self.asymmetric else [])
        g = jac(T, **p, with_beta=self.asymmetric)
        var = np.einsum("ij,jk,ik->i", g, self._cov(names), g)
        r = np.exp(y)
        err = r * np.sqrt(np.clip(var, 0.0, None))
        if scalar:
            return float(r[0]), float(err[0])
        return r, err

    def predict(self, T) -> tuple[np.ndarray, np.ndarray]:
        """Fitted relaxation time T1 (or T1ρ) at ``T`` (K) and its standard error, s."""
        r, e = self.rate(T)
        r = np.asarray(r)
        return _scalar(1.0 / r), _scalar(np.asarray(e) / r**2)

    def diffusion_coefficient(self, T, jump_length: float, dimension: int = 3, *,
                              jump_length_error: float = 0.0) -> Estimate:
        """Local diffusion coefficient ``l² / (2 d τ(T))`` (see :func:`einstein_smoluchowski`).

        Parameters
        ----------
        T : float or array_like
            Temperature, K.
        jump_length : float
            Jump distance l, m.
        dimension : int
            1, 2 or 3.
        jump_length_error : float
            One-σ error of l, m.

        Returns
        -------
        Estimate
            D in m² s⁻¹.
        """
        tau, err = self.tau(T)
        return einstein_smoluchowski(tau, jump_length, dimension, tau_error=err,
                                     jump_length_error=jump_length_error)

    def plot(self, ax=None, *, rate: bool = False):
        """Relaxation time (or rate) on a log axis against 1000/T, with the fit and its minimum.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        rate : bool
            Plot 1/T1 instead of T1.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        label = "T1ρ" if self.kind == "T1rho" else "T1"
        y = 1.0 / self.time if rate else self.time
        yerr = None
        if self.time_error is not None:
            yerr = self.time_error / self.time**2 if rate else self.time_error
        ax.errorbar(1e3 / self.T, y, yerr=yerr, fmt="o", ms=4, capsize=2, label="data")
        lo, hi = float(self.T.min()), float(self.T.max())
        grid = np.linspace(lo * 0.95, hi * 1.05, 300)
        r, _ = self.rate(grid)
        fit_label = "asymmetric BPP" if self.asymmetric else "BPP"
        ax.plot(1e3 / grid, np.asarray(r) if rate else 1.0 / np.asarray(r), "-",
                label=f"{fit_label} fit")
        t_min = self.values["T_min"].value
        if math.isfinite(t_min):
            r_min = self.values["rate_at_min"].value
            ax.axvline(1e3 / t_min, ls=":", color="0.5")
            ax.plot([1e3 / t_min], [r_min if rate else 1.0 / r_min], "v", color="C3",
                    label=f"T_min = {format_value(t_min, self.values['T_min'].error, 'K')}")
        ax.set_yscale("log")
        ax.set_xlabel("1000/T (K⁻¹)")
        ax.set_ylabel(f"1/{label} (s⁻¹)" if rate else f"{label} (s)")
        ax.set_title(self.title or self.method)
        ax.legend()
        return ax


def _scalar(a):
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a


def flank_activation_energies(result: BPPFit) -> dict[str, Value]:
    """Apparent activation energies of the two flanks of the rate peak.

    The slope of ``ln(1/T1)`` against ``1/T`` is ``Ea / k_B`` on the high-temperature side
    (ω0τ ≪ 1) and ``−(β − 1) Ea / k_B`` on the low-temperature side (ω0τ ≫ 1); for BPP (β = 2)
    both are ``Ea``.

    Parameters
    ----------
    result : BPPFit

    Returns
    -------
    dict
        ``{"Ea_high": Value, "Ea_low": Value}`` in J (shown in eV), errors from the covariance
        of (Ea, β).
    """
    if not isinstance(result, BPPFit):
        raise InputError(f"expected a BPPFit, got {type(result).__name__}", field="result",
                         expected="the result of fit_bpp")
    ea, ea_err = result.fit.value("Ea"), result.fit.error("Ea")
    high = Value("Ea_high", ea, ea_err, "J", "Ea(high T)")
    if not result.asymmetric:
        return {"Ea_high": high, "Ea_low": Value("Ea_low", ea, ea_err, "J", "Ea(low T)")}
    beta = result.fit.value("beta")
    c = result._cov(("Ea", "beta"))
    g = np.array([beta - 1.0, ea])
    err = math.sqrt(max(float(g @ c @ g), 0.0))
    return {"Ea_high": high,
            "Ea_low": Value("Ea_low", (beta - 1.0) * ea, err, "J", "Ea(low T)")}


# --------------------------------------------------------------------------- fitting


def _prepare(data) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    source = getattr(data, "source", None)
    try:
        T = np.asarray(data.T, dtype=float).ravel()
        t = np.asarray(data.time, dtype=float).ravel()
        err = None if data.time_error is None else np.asarray(data.time_error,
                                                               dtype=float).ravel()
    except AttributeError:
        raise InputError(f"expected RelaxationData, got {type(data).__name__}", field="data",
                         expected="ionscale.nmr.data.RelaxationData") from None
    except (TypeError, ValueError):
        raise InputError("temperatures or times are not numbers", file=source, field="time",
                         expected="numeric arrays") from None
    if t.size != T.size:
        raise InputError(f"{t.size} times for {T.size} temperatures", file=source,
                         field="time", expected="one relaxation time per temperature")
    if err is not None and err.size != T.size:
        raise InputError(f"{err.size} errors for {T.size} times", file=source,
                         field="time_error", expected="one error per relaxation time")
    if not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise InputError("temperature is not positive and finite", file=source, field="T",
                         expected="T > 0, in K")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise InputError("relaxation time is not positive and finite", file=source,
                         field="time", expected="relaxation times > 0, in s")
    if err is not None and (not np.all(np.isfinite(err)) or np.any(err <= 0)):
        raise InputError("relaxation-time error is not positive and finite", file=source,
                         field="time_error", expected="one-σ errors > 0, in s")
    if T.size < 4:
        raise InputError(f"{T.size} points cannot fix a BPP curve", file=source, field="T",
                         expected="at least 4 temperatures")
    order = np.argsort(T, kind="stable")
    return T[order], t[order], None if err is None else err[order]


def _angular(data, kind, omega0, omega1, nucleus, field_T) -> tuple[float, float | None]:
    """Resolve ω0 (and ω1 for T1ρ), rad s⁻¹, from the arguments and the data."""
    frequency = getattr(data, "frequency", None)
    from_field = None
    nuc = nucleus if nucleus is not None else getattr(data, "nucleus", None)
    if field_T is not None:
        if nuc is None:
            raise InputError("a field without a nucleus gives no Larmor frequency",
                             field="nucleus", expected="e.g. nucleus='7Li'")
        from_field = 2 * math.pi * larmor_frequency(nuc, field_T)
    elif nucleus is not None:
        _ = larmor_frequency(nucleus, 1.0)  # validates the name even when no field is given
    if kind == "T1":
        if omega1 is not None:
            raise InputError("omega1 applies to T1rho data only", field="omega1",
                             expected="omega1=None for T1")
        candidates = [("omega0", None if omega0 is None else _positive(omega0, "omega0",
                                                                        "rad/s")),
                      ("field", from_field),
                      ("frequency", None if frequency is None
                       else 2 * math.pi * _positive(frequency, "frequency", "Hz"))]
        given = [(n, v) for n, v in candidates if v is not None]
        if not given:
            raise InputError("no Larmor frequency", field="omega0",
                             expected="omega0 [rad/s], data.frequency [Hz] or nucleus and "
                                      "field [T]")
        name, w0 = given[0]
        for other, v in given[1:]:
            if abs(v / w0 - 1.0) > 1e-2:
                raise InputError(f"{name} gives ω0 = {w0:.6g} rad/s but {other} gives "
                                 f"{v:.6g} rad/s", field=name,
                                 expected="one Larmor frequency (omega0 is 2π × f0)")
        return w0, None
    if omega1 is not None:
        w1 = _positive(omega1, "omega1", "rad/s")
    elif frequency is not None:
        w1 = 2 * math.pi * _positive(frequency, "frequency", "Hz")
    else:
        raise InputError("T1rho data need the spin-lock frequency", field="frequency",
                         expected="data.frequency (spin-lock f1, Hz) or omega1 [rad/s]")
    if omega0 is not None:
        w0 = _positive(omega0, "omega0", "rad/s")
    elif from_field is not None:
        w0 = from_field
    else:
        raise InputError("T1rho needs the Larmor frequency too", field="omega0",
                         expected="omega0 [rad/s] or nucleus and field [T]")
    return w0, w1


def _has_minimum(rate: np.ndarray) -> bool:
    i = int(np.argmax(rate))
    return 0 < i < rate.size - 1


def _flank_slope(inv_T: np.ndarray, y: np.ndarray) -> float:
    if inv_T.size < 2:
        return math.nan
    return float(np.polyfit(inv_T, y, 1)[0])


def _start(T, y, w, model, weights, omegas, asymmetric) -> dict[str, float]:
    """Starting values from the rate maximum and the flank slopes, refined on a grid of Ea."""
    i = int(np.argmax(y))
    inv = 1.0 / T
    high = _flank_slope(inv[i:], y[i:]) * BOLTZMANN        # Ea from the high-T flank
    low = -_flank_slope(inv[: i + 1], y[: i + 1]) * BOLTZMANN  # (β − 1) Ea
    beta = 2.0
    if asymmetric:
        beta = 1.6
        if high > 0 and low > 0:
            beta = float(np.clip(1.0 + low / high, 1.1, 1.95))
    ln_tau_peak = _peak_ln_tau(weights, omegas, beta)
    if not math.isfinite(ln_tau_peak):
        ln_tau_peak = math.log(1.0 / omegas.min())
    candidates = list(np.geomspace(0.02, 2.0, 25) * EV)
    for e in (high, low / (beta - 1.0)):
        if math.isfinite(e) and e > 0:
            candidates.append(e)
    best, best_ssr = None, math.inf
    for ea in candidates:
        tau0 = math.exp(ln_tau_peak - ea / (BOLTZMANN * T[i]))
        if not 0 < tau0 < math.inf:
            continue
        shape = model(T, tau0, ea, 1.0, beta)
        ln_c = float(np.sum((y - shape) / w**2) / np.sum(1.0 / w**2))
        ssr = float(np.sum(((shape + ln_c - y) / w) ** 2))
        if ssr < best_ssr:
            best, best_ssr = {"tau0": tau0, "Ea": float(ea), "C": math.exp(ln_c)}, ssr
    if best is None:
        best = {"tau0": 1e-12, "Ea": 0.3 * EV, "C": 1e10}
    if asymmetric:
        best["beta"] = beta
    return best


def _minimum(params: Mapping[str, float], weights, omegas) -> np.ndarray:
    """``(T_min, τ at the minimum, rate there)`` for the given parameters."""
    ln_tau_peak = _peak_ln_tau(weights, omegas, params.get("beta", 2.0))
    if not math.isfinite(ln_tau_peak):
        return np.full(3, math.nan)
    ln_s, _, _ = _log_spectrum(ln_tau_peak, weights, omegas, params.get("beta", 2.0))
    rate = params["C"] * math.exp(float(ln_s))
    gap = ln_tau_peak - math.log(params["tau0"])
    t_min = params["Ea"] / (BOLTZMANN * gap) if gap > 0 and params["Ea"] > 0 else math.nan
    return np.array([t_min, math.exp(ln_tau_peak), rate])


def _minimum_with_errors(fit: FitResult, names, weights, omegas):
    p = {n: fit.value(n) for n in names}
    centre = _minimum(p, weights, omegas)
    grad = np.zeros((3, len(names)))
    for k, n in enumerate(names):
        h = 1e-6 if n == "beta" else 1e-6 * abs(p[n])
        up, down = dict(p), dict(p)
        up[n] += h
        down[n] -= h
        grad[:, k] = (_minimum(up, weights, omegas) - _minimum(down, weights, omegas)) / (2 * h)
    idx = [fit.index(n) for n in names]
    cov = fit.covariance[np.ix_(idx, idx)]
    var = np.einsum("ij,jk,ik->i", grad, cov, grad)
    return centre, np.sqrt(np.clip(var, 0.0, None))


def fit_bpp(
    data,
    *,
    omega0: float | None = None,
    nucleus: str | None = None,
    field: float | None = None,
    omega1: float | None = None,
    asymmetric: bool = False,
    p0: Mapping[str, float] | None = None,
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> BPPFit:
    """Fit a BPP (or asymmetric BPP) law to relaxation times against temperature.

    The model is ``ln(1/T1) = ln C + ln[J(ω0) + 4 J(2ω0)]`` (T1) or the T1ρ form of
    :func:`bpp_rate`, with ``J(ω) = τ/(1 + (ωτ)^β)``, ``τ = τ0 exp(Ea / k_B T)`` and β = 2 unless
    ``asymmetric``. It is fitted in ``ln(rate)``: the standard error of ``ln(1/T1)`` is
    ``σ_T1 / T1`` to first order, so the weights are the relative errors of the data (equal
    weights, covariance scaled by χ²_red, when ``time_error`` is None). τ0 and C are optimised in
    log space and Ea as ``ln Ea`` (so Ea > 0); β is bounded to [1, 2]. The start comes from the
    temperature of the largest rate (τ there ≈ 0.616/ω0 for T1) and the slope of the
    high-temperature flank, refined on a grid of Ea.

    Parameters
    ----------
    data : RelaxationData
        ``T`` (K), ``time`` (s), optional ``time_error`` (s), ``kind`` ``"T1"`` or ``"T1rho"``,
        ``frequency`` (Hz: the Larmor frequency for T1, the spin-lock frequency for T1ρ),
        ``nucleus``.
    omega0 : float, optional
        Angular Larmor frequency ω0 = 2π f0, rad s⁻¹. Otherwise from ``data.frequency`` (T1)
        or from ``nucleus`` and ``field``. Sources given together must agree within 1 % (this
        catches a frequency in Hz passed as ``omega0``).
    nucleus : str, optional
        Nucleus for the Larmor frequency (defaults to ``data.nucleus``).
    field : float, optional
        Static field B0, T.
    omega1 : float, optional
        Angular spin-lock frequency, rad s⁻¹, for T1ρ (default ``2π data.frequency``).
    asymmetric : bool
        Fit β too (needs data on both flanks of the rate maximum).
    p0 : mapping, optional
        Starting values overriding the automatic ones: ``tau0`` (s), ``Ea`` (J), ``C`` (s⁻²),
        ``beta``.
    monte_carlo : int
        If positive, errors from this many parametric-bootstrap refits.
    seed : int or Generator, optional
        Seed of the Monte-Carlo draws.

    Returns
    -------
    BPPFit

    Raises
    ------
    InputError
        Non-positive temperatures or times, mismatched lengths, fewer than 4 points (5 for an
        asymmetric fit), an unknown nucleus or missing frequency, or an asymmetric fit of data
        without a rate maximum inside the temperature range (an error: β and Ea cannot be told
        apart from one flank). A BPP fit of such data only warns (FitWarning): τ0 and C are
        then fixed by the curvature alone.

    Examples
    --------
    >>> import numpy as np
    >>> from ionscale.nmr.data import RelaxationData
    >>> w0 = 2 * np.pi * 155.4e6
    >>> T = np.linspace(150, 500, 15)
    >>> T1 = 1 / bpp_rate(T, 1.4e-11, 0.11 * EV, 1.37e10, w0)
    >>> res = fit_bpp(RelaxationData(T=T, time=T1, time_error=0.03 * T1, frequency=155.4e6))
    >>> round(res["Ea"].value / EV, 3), round(res["T_min"].value)
    (0.11, 335)
    """
    kind = _check_kind(getattr(data, "kind", "T1"))
    T, t, t_err = _prepare(data)
    source = getattr(data, "source", None)
    if asymmetric and T.size < 5:
        raise InputError(f"{T.size} points cannot fix an asymmetric BPP curve", file=source,
                         field="T", expected="at least 5 temperatures")
    w0, w1 = _angular(data, kind, omega0, omega1, nucleus, field)
    y = -np.log(t)
    sigma = None if t_err is None else t_err / t
    if not _has_minimum(y):
        if asymmetric:
            raise InputError("the relaxation rate has no maximum inside the temperature range",
                             file=source, field="time",
                             expected=f"a {kind} minimum with points on both flanks for an "
                                      "asymmetric fit")
        message = (f"the {kind} data have no minimum inside the temperature range: τ0 and C "
                   "are fixed only by the curvature of one flank")
        warnings.warn(message, FitWarning, stacklevel=2)
        diagnostics = (Diagnostic("data-quality", message, fields=("tau0", "C")),)
    else:
        diagnostics = ()
    model, jac, weights, omegas = _model_factory(kind, w0, w1)
    names = ["tau0", "Ea", "C"] + (["beta"] if asymmetric else [])
    start = _start(T, y, np.ones_like(y) if sigma is None else sigma, model, weights, omegas,
                   asymmetric)
    if p0 is not None:
        unknown = set(p0) - set(names)
        if unknown:
            raise InputError(f"unknown start parameter(s) {sorted(unknown)}", field="p0",
                             expected=f"names among {names}")
        for n, v in p0.items():
            start[n] = _check_beta(v) if n == "beta" else _positive(v, f"p0[{n}]", "SI")

    def jacobian(x, **params):
        return jac(x, **params, with_beta=asymmetric)

    fit = fit_curve(model, T, y, start, sigma=sigma, log=("tau0", "Ea", "C"),
                    bounds={"beta": _BETA_BOUNDS} if asymmetric else None,
                    jacobian=jacobian, monte_carlo=monte_carlo, seed=seed)
    centre, err = _minimum_with_errors(fit, names, weights, omegas)
    units = {"tau0": "s", "Ea": "J", "C": "1/s^2", "beta": ""}
    symbols = {"tau0": "τ0", "Ea": "Ea", "C": "C", "beta": "β"}
    values = {n: Value(n, fit.value(n), fit.error(n), units[n], symbols[n]) for n in names}
    if asymmetric:
        tmp = BPPFit(values={}, provenance=Provenance(method="nmr.bpp"), fit=fit,
                     asymmetric=True)
        values["Ea_low"] = flank_activation_energies(tmp)["Ea_low"]
    values["T_min"] = Value("T_min", float(centre[0]), float(err[0]), "K", "T_min")
    values["tau_at_min"] = Value("tau_at_min", float(centre[1]), float(err[1]), "s", "τ(T_min)")
    values["rate_at_min"] = Value("rate_at_min", float(centre[2]), float(err[2]), "1/s",
                                  f"1/{'T1ρ' if kind == 'T1rho' else 'T1'}(T_min)")
    method = "nmr.bpp_asymmetric" if asymmetric else "nmr.bpp"
    files = [source] if source is not None and _is_file(source) else []
    provenance = Provenance.build(method, files, {
        "kind": kind, "omega0": w0, "omega1": w1, "asymmetric": asymmetric,
        "weights": "relative (time_error / time)" if sigma is not None else "equal",
        "fitted": "ln(rate)", "monte_carlo": monte_carlo, "start": start,
    })
    label = "T1ρ" if kind == "T1rho" else "T1"
    freq = f"ω0/2π = {w0 / (2 * math.pi) / 1e6:.4g} MHz"
    if w1 is not None:
        freq += f", ω1/2π = {w1 / (2 * math.pi) / 1e3:.4g} kHz"
    title = f"{'Asymmetric ' if asymmetric else ''}BPP fit of {label} ({freq})"
    return BPPFit(values=values, provenance=provenance, fit=fit, title=title, T=T, time=t,
                  time_error=t_err, kind=kind, omega0=w0, omega1=w1, asymmetric=asymmetric,
                  diagnostics=diagnostics)


def _is_file(path) -> bool:
    from pathlib import Path

    try:
        return Path(path).is_file()
    except (OSError, TypeError):
        return False


# --------------------------------------------------------------------------- Einstein-Smoluchowski


def einstein_smoluchowski(tau, jump_length, dimension: int = 3, *, tau_error=0.0,
                          jump_length_error=0.0) -> Estimate:
    """Local diffusion coefficient from a jump correlation time, ``D = l² / (2 d τ)``.

    Parameters
    ----------
    tau : float, array_like or Estimate
        Correlation (residence) time τ, s.
    jump_length : float or array_like
        Jump distance l, m (LLTO A-site spacing: 3.87e-10 m).
    dimension : int
        Dimensionality d of the motion: 1, 2 or 3.
    tau_error, jump_length_error : float or array_like
        One-σ errors of τ (s) and l (m), independent; propagated to first order
        (``σ_D / D = √((2 σ_l / l)² + (σ_τ / τ)²)``).

    Returns
    -------
    Estimate
        ``D_local`` in m² s⁻¹ (unpacks as ``value, error``).

    Examples
    --------
    >>> d = einstein_smoluchowski(6.47e-10, 3.87e-10, 3)
    >>> round(float(d.value) * 1e4 * 1e7, 2)              # 1e-7 cm² s⁻¹
    3.86
    """
    if isinstance(dimension, bool) or dimension not in (1, 2, 3):
        raise InputError(f"dimension {dimension!r} is not 1, 2 or 3", field="dimension",
                         expected="1, 2 or 3")
    if isinstance(tau, Estimate | Value) and np.all(np.asarray(tau_error) == 0):
        tau_error = None                    # keep the error the Estimate carries
    tv, te = value_and_error(tau, tau_error, field="tau")
    lv, le = value_and_error(jump_length, jump_length_error, field="jump_length")
    try:
        tv, lv, te, le = np.broadcast_arrays(tv, lv, te, le)
    except ValueError:
        raise InputError("tau and jump_length have incompatible shapes", field="jump_length",
                         expected="a scalar or an array shaped like tau") from None
    d = lv**2 / (2 * int(dimension) * tv)
    err = d * np.sqrt((2 * le / lv) ** 2 + (te / tv) ** 2)
    return Estimate(
        name="D_local", value=_scalar(d), error=_scalar(err), unit="m^2/s", symbol="D_local",
        provenance=Provenance.build("nmr.einstein_smoluchowski", (),
                                    {"dimension": int(dimension)}))
