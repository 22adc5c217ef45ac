"""Complex non-linear least-squares fits of equivalent circuits to impedance spectra.

:func:`fit_circuit` fits a :class:`~ionscale.impedance.circuits.Circuit` to a
:class:`~ionscale.impedance.data.Spectrum` through the shared core
:func:`ionscale.fitting.fit_residuals`, with the circuit's analytic Jacobian; resistances,
capacitances, CPE coefficients, inductances and time constants are fitted in log space (they stay
positive), exponents α linearly within (0, 1].

Weighting (each residual is ``(model − data)/w``, real and imaginary parts separately):

==================  ========================================================================
``"unit"``          the same weight for every point: ``w = median |Z|`` of the data
``"modulus"``       ``w = |Z|`` of the data (both parts; the usual choice)
``"proportional"``  ``w' = |Z'|``, ``w'' = |Z''|`` of the data, each floored at 10⁻³|Z|
``"sigma"``         ``w = spectrum.sigma`` (absolute, ohm): χ² is then a goodness-of-fit test
==================  ========================================================================

Only ``"sigma"`` gives absolute standard errors; the others scale the covariance by the reduced
χ². With ``domain="admittance"`` the residuals are those of ``Y = 1/Z`` (weights ``|Y|``,
``|Y'|, |Y''|`` or ``σ/|Z|²``).

Automatic starting values (:func:`initial_guesses`) need no user guess: a ridge-regularised
non-negative least-squares fit of a ladder of RC elements on a grid of time constants (plus a
series resistance, an inductance and low-frequency power laws when the circuit has them) gives
the high-frequency intercept, the sizes and apex time constants of the arcs (peaks of the
ladder over ln τ) and the electrode element from the low-frequency slope of −Z''. When the
peaks do not settle the assignment (more peaks than arcs, or a minor arc hidden as a shoulder
under a larger one) a few candidate starts are fitted and the lowest χ² is kept; with
automatic starts the arcs are then labelled in string order of increasing τ.

Speed: the circuit is compiled once, Z and its Jacobian are computed together and shared
between the residual and Jacobian calls, and the fast unbounded Levenberg-Marquardt solver runs
first whenever only the elements' default bounds apply (its optimum is kept if every exponent
lies within (0, 1], else the bounded solver takes over).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from scipy.optimize import nnls

from ..errors import FitError, FitWarning, InputError
from ..fitting import FitResult, fit_residuals
from ..results import Diagnostic, InputFile, Provenance, Result, Value, json_safe, new_axes
from .capacitance import brug_capacitance, time_constant
from .circuits import Circuit, as_circuit
from .data import Spectrum
from .elements import Grid

__all__ = ["WEIGHTINGS", "CircuitFit", "arc_permutation", "fit_circuit", "initial_guess",
           "initial_guesses", "permute_fit"]

WEIGHTINGS = ("unit", "modulus", "proportional", "sigma")
DOMAINS = ("impedance", "admittance")
#: Starting exponent of the CPEs of arcs.
ALPHA_START = 0.85
_PROPORTIONAL_FLOOR = 1e-3


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, kw_only=True)
class CircuitFit(Result):
    """An equivalent circuit fitted to one spectrum.

    ``values`` holds every circuit parameter (SI, with its standard error; 0 for fixed ones) and,
    for each R‖C or R‖CPE arc, its time constant ``<cap>_tau`` (s) and, for a CPE, the
    effective (Brug) capacitance ``<cap>_C = Q^(1/α) R^((1−α)/α)`` (F), with errors propagated
    through the covariance (``cap`` is the arc's capacitive element, e.g. ``CPE1_tau``).

    Attributes
    ----------
    circuit : str
        The circuit string.
    frequency : ndarray
        Hz, the points fitted.
    impedance : ndarray
        Measured Z, ohm (complex).
    model : ndarray
        Fitted Z at ``frequency``, ohm (complex).
    sigma : ndarray or None
        The spectrum's one-σ errors, ohm.
    weighting, domain : str
        As given to :func:`fit_circuit`.
    temperature : float or None
        K, from the spectrum.
    time : float or None
        s, time of the spectrum (mean of its point times), when known.
    start_time, source : str or None
        From the spectrum.
    """

    circuit: str
    frequency: np.ndarray
    impedance: np.ndarray
    model: np.ndarray
    sigma: np.ndarray | None = None
    weighting: str = "modulus"
    domain: str = "impedance"
    temperature: float | None = None
    time: float | None = None
    start_time: str | None = None
    source: str | None = None

    @cached_property
    def circuit_model(self) -> Circuit:
        """The parsed :class:`~ionscale.impedance.circuits.Circuit`."""
        return Circuit(self.circuit)

    @property
    def params(self) -> dict[str, float]:
        """Best value of every circuit parameter, SI."""
        return self.fit.params

    def predict(self, frequency) -> np.ndarray:
        """Model impedance (complex, ohm) at ``frequency`` (Hz)."""
        return self.circuit_model.impedance(frequency, self.fit.values)

    @property
    def residual_percent(self) -> np.ndarray:
        """``100 (Z_data − Z_model)/|Z_model|``: real part for Z', imaginary part for Z''."""
        return 100 * (self.impedance - self.model) / np.abs(self.model)

    def time_constants(self):
        """:meth:`Circuit.time_constants` at the best values."""
        return self.circuit_model.time_constants(self.fit.values)

    def _extra_dict(self) -> dict[str, Any]:
        out = {}
        for k, v in super()._extra_dict().items():
            out[k] = v
        for name in ("impedance", "model"):
            z = getattr(self, name)
            out[name] = {"real": json_safe(z.real), "imag": json_safe(z.imag)}
        return out

    def plot(self, ax=None, kind: str | None = None):
        """Publishable figure of the fit.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (a new figure if omitted).
        kind : {"nyquist", "bode", "residuals", "overview"}, optional
            Nyquist plot (−Z'' upwards, equal aspect, decades marked on the fit), Bode plot
            (|Z| and phase), the relative residuals of Z' and Z'' in per cent, or all three
            side by side on a new figure. Default: "overview" without ``ax``, else "nyquist".

        Returns
        -------
        matplotlib Axes
            The Nyquist axes for "overview".
        """
        if kind is None:
            kind = "overview" if ax is None else "nyquist"
        if kind == "overview":
            import matplotlib.pyplot as plt

            from ..report.style import DOUBLE

            fig, axes = plt.subplots(1, 3, figsize=(DOUBLE, 2.9), layout="constrained")
            for a, k, letter in zip(axes, ("nyquist", "bode", "residuals"), "abc", strict=True):
                self.plot(ax=a, kind=k)
                a.set_title(f"({letter}) {k}", loc="left")
                a.set_title("")
            fig.suptitle(self.title or self.circuit)
            return axes[0]
        if kind not in ("nyquist", "bode", "residuals"):
            raise InputError(f"unknown plot kind {kind!r}", field="kind",
                             expected="'nyquist', 'bode', 'residuals' or 'overview'")
        ax = new_axes(ax, figsize=(3.35, 2.9) if kind == "nyquist" else (3.35, 2.4))
        f = self.frequency
        fine = np.logspace(np.log10(f.min()), np.log10(f.max()), 400)
        zf = self.predict(fine)
        label = self.title or self.circuit
        if kind == "nyquist":
            factor, unit = _ohm_scale(np.max(np.abs(self.impedance)))
            ax.plot(self.impedance.real / factor, -self.impedance.imag / factor, "o", ms=3,
                    mfc="none", color="C0", label="data")
            ax.plot(zf.real / factor, -zf.imag / factor, "-", color="C1", lw=1.2,
                    label="fit")
            decades = 10.0 ** np.arange(math.ceil(np.log10(f.min())),
                                        math.floor(np.log10(f.max())) + 1)
            zd = self.predict(decades) if decades.size else np.array([])
            span = max(np.ptp(zf.real), np.ptp(zf.imag)) / factor or 1.0
            last = None
            for fd, z in zip(decades, zd, strict=True):
                x, y = z.real / factor, -z.imag / factor
                ax.plot(x, y, "+", color="k", ms=5)
                # label a decade only where its marker is clear of the last labelled one
                if last is not None and math.hypot(x - last[0], y - last[1]) < 0.12 * span:
                    continue
                last = (x, y)
                ax.annotate(f"$10^{{{int(round(np.log10(fd)))}}}$", (x, y),
                            textcoords="offset points", xytext=(2, -9), fontsize="small",
                            color="0.3")
            ax.set_aspect("equal", adjustable="datalim")
            ax.set_xlabel(f"Z′ / {unit}  (+: decades of f / Hz)")
            ax.set_ylabel(f"−Z″ / {unit}")
            ax.axhline(0, color="0.7", lw=0.6)
            ax.legend(frameon=False)
        elif kind == "bode":
            ax.loglog(f, np.abs(self.impedance), "o", ms=3, mfc="none", color="C0",
                      label="|Z| data")
            ax.loglog(fine, np.abs(zf), "-", color="C0", label="|Z| fit")
            ax.set_xlabel("f / Hz")
            ax.set_ylabel("|Z| / Ω", color="C0")
            ax2 = ax.twinx()
            ax2.semilogx(f, -np.degrees(np.angle(self.impedance)), "s", ms=2.5, mfc="none",
                         color="C3", label="−phase data")
            ax2.semilogx(fine, -np.degrees(np.angle(zf)), "-", color="C3", label="−phase fit")
            ax2.set_ylabel("−phase / °", color="C3")
        else:
            r = self.residual_percent
            ax.semilogx(f, r.real, "o-", ms=2.5, lw=0.6, label="Z′")
            ax.semilogx(f, r.imag, "s-", ms=2.5, lw=0.6, label="Z″")
            if self.sigma is not None:
                band = 100 * self.sigma / np.abs(self.model)
                ax.fill_between(f, -band, band, color="0.85", label="±σ", zorder=0)
            ax.axhline(0, color="0.5", lw=0.6)
            ax.set_xlabel("f / Hz")
            ax.set_ylabel("(data − fit)/|Z| / %")
            ax.legend(frameon=False, ncol=3)
        ax.set_title(label)
        return ax



def _ohm_scale(zmax: float) -> tuple[float, str]:
    for factor, unit in ((1e9, "GΩ"), (1e6, "MΩ"), (1e3, "kΩ")):
        if zmax >= 10 * factor:
            return factor, unit
    return 1.0, "Ω"


# --------------------------------------------------------------------------- problem


class _Problem:
    """Weighted residual and Jacobian of one spectrum, precomputed once (no dict churn)."""

    def __init__(self, circuit: Circuit, frequency: np.ndarray, data: np.ndarray,
                 sigma: np.ndarray | None, weighting: str, domain: str) -> None:
        self.circuit = circuit
        self.grid = Grid(frequency)
        self.admittance = domain == "admittance"
        target = 1.0 / data if self.admittance else data
        self.target = target
        if weighting == "unit":
            # one constant weight: scale-free χ² and optimiser tolerances (the optimum and the
            # χ²-scaled covariance do not depend on it)
            wr = wi = np.full(data.size, float(np.median(np.abs(target))))
        elif weighting == "modulus":
            wr = wi = np.abs(target)
        elif weighting == "proportional":
            floor = _PROPORTIONAL_FLOOR * np.abs(target)
            wr = np.maximum(np.abs(target.real), floor)
            wi = np.maximum(np.abs(target.imag), floor)
        else:
            wr = wi = sigma / np.abs(data) ** 2 if self.admittance else sigma
        self.inv_r = 1.0 / wr
        self.inv_i = 1.0 / wi
        self.n = circuit.n_parameters
        self._last: tuple | None = None

    def model(self, p: list[float]) -> np.ndarray:
        z = self.circuit._z(self.grid, p)
        return 1.0 / z if self.admittance else z

    def residual_p(self, p: list[float]) -> np.ndarray:
        """Weighted residuals (real parts, then imaginary parts) for values in circuit order.

        The Jacobian is computed on the way (it shares every intermediate with Z) and kept for
        :meth:`jacobian_p`: the optimisers ask for it at the point they just evaluated."""
        z, J = self.circuit.evaluate(self.grid, p, jacobian=True)
        self._last = (p, z, J)
        d = (1.0 / z if self.admittance else z) - self.target
        return np.concatenate((d.real * self.inv_r, d.imag * self.inv_i))

    def jacobian_p(self, p: list[float]) -> np.ndarray:
        """Their derivatives, shape (2 n_f, n_params)."""
        last = self._last
        if last is not None and last[0] == p:
            z, J = last[1], last[2]
        else:
            z, J = self.circuit.evaluate(self.grid, p, jacobian=True)
        if self.admittance:
            y = 1.0 / z
            J = J * (-(y * y))[:, None]
        return np.concatenate((J.real * self.inv_r[:, None], J.imag * self.inv_i[:, None]))

    # the core passes every parameter by name, in circuit order
    def residual(self, params: dict[str, float]) -> np.ndarray:
        return self.residual_p(list(params.values()))

    def jacobian(self, params: dict[str, float]) -> np.ndarray:
        return self.jacobian_p(list(params.values()))


# --------------------------------------------------------------------------- checks


def _check_spectrum(spectrum) -> Spectrum:
    if not isinstance(spectrum, Spectrum):
        raise InputError(f"got {type(spectrum).__name__}", field="spectrum",
                         expected="an ionscale.impedance.Spectrum (see spectrum_from_arrays)")
    return spectrum


def _check_impedance(spectrum: Spectrum, weighting: str, domain: str) -> None:
    """Finite impedances (a Spectrum built by hand is not checked), and no Z = 0 where the
    weights or the admittance divide by it."""
    z = np.asarray(spectrum.impedance)
    f = np.asarray(spectrum.frequency)
    bad = ~np.isfinite(z)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"Z = {z[i]} at {f[i]:g} Hz is not finite ({int(bad.sum())} such "
                         "point(s))", file=spectrum.source, field="impedance",
                         expected="finite impedances")
    zabs = np.abs(z)
    zero = zabs == 0
    if zero.all():
        raise InputError("every impedance is 0", file=spectrum.source, field="impedance",
                         expected="a measured spectrum")
    lo, hi = float(zabs[~zero].min()), float(zabs.max())
    if lo < _REPRESENTABLE[0] or hi > _REPRESENTABLE[1]:
        raise InputError(f"|Z| from {lo:.3g} to {hi:.3g} Ω: beyond what double precision "
                         "can fit (its parameters and Jacobian would under- or overflow)",
                         file=spectrum.source, field="impedance",
                         expected=f"|Z| between {_REPRESENTABLE[0]:g} and "
                                  f"{_REPRESENTABLE[1]:g} Ω (check the unit of the data)")
    if zero.any() and (weighting in ("modulus", "proportional") or domain == "admittance"):
        i = int(np.flatnonzero(zero)[0])
        why = "the admittance 1/Z" if domain == "admittance" else f"weighting {weighting!r}"
        raise InputError(f"Z = 0 at {f[i]:g} Hz ({int(zero.sum())} such point(s)); {why} "
                         "divides by it", file=spectrum.source, field="impedance",
                         expected="non-zero impedances: leave those points out (fmin/fmax) "
                                  "or use weighting='unit' in the impedance domain")


#: Median |Z| (ohm) within which circuits are fitted in ohm; outside, in scaled units.
_UNSCALED = (1e-30, 1e30)
#: |Z| (ohm) that can be fitted at all, in scaled units (subnormal numbers have no precision).
_REPRESENTABLE = (1e-280, 1e280)


def _impedance_powers(c: Circuit) -> dict[str, int] | None:
    """How each parameter scales with the impedance: ``Z(p · k^power) = k Z(p)``; None for a
    unit this does not know (no scaling then)."""
    out = {}
    for n, unit in c.units.items():
        u = (unit or "").strip()
        if u.startswith("ohm") or u == "H":
            out[n] = 1
        elif u.startswith("F"):
            out[n] = -1
        elif u in ("", "s"):
            out[n] = 0
        else:
            return None
    # check the homogeneity on typical values rather than trust the unit labels
    typical = {1: 1.0, -1: 1e-3, 0: 0.8}
    p = [typical[out[n]] if c.units[n] != "s" else 1e-2 for n in c.parameter_names]
    grid = Grid(np.logspace(-2, 5, 8))
    with np.errstate(all="ignore"):
        z1 = c._z(grid, p)
        z2 = c._z(grid, [v * 1e3 ** out[n] for n, v in zip(c.parameter_names, p,
                                                              strict=True)])
    if not np.allclose(z2, 1e3 * z1, rtol=1e-8, atol=0):
        return None
    return out


def _working_scale(c: Circuit, spectrum: Spectrum) -> tuple[float, dict[str, int]]:
    """(k, powers): fit ``Z/k`` with parameters ``p k^-power``; k = 1 for usual data."""
    mid = float(np.median(np.abs(spectrum.impedance)))
    if _UNSCALED[0] <= mid <= _UNSCALED[1] or not mid > 0:
        return 1.0, {}
    powers = _impedance_powers(c)
    if powers is None:
        return 1.0, {}
    return 10.0 ** round(math.log10(mid)), powers


def _rescale_fit(fit: FitResult, powers: Mapping[str, int], k: float) -> FitResult:
    """A fit made in units of ``Z/k`` back in ohm (values, errors, covariance)."""
    f = np.array([k ** powers[n] for n in fit.names])
    with np.errstate(over="ignore", invalid="ignore"):
        return replace(fit, values=fit.values * f, errors=fit.errors * f,
                       covariance=fit.covariance * np.outer(f, f),
                       samples=None if fit.samples is None else fit.samples * f)


def _runaway_diagnostics(c: Circuit, spectrum: Spectrum, fit: FitResult
                         ) -> tuple[Diagnostic, ...]:
    """``unmeasurable`` for fitted values the data cannot measure: a resistance far above the
    largest |Z| measured (an arc that never closes in the window) or far below the smallest
    (indistinguishable from 0), an arc time constant far outside the measured window."""
    zabs = np.abs(spectrum.impedance)
    zmax, zmin = float(zabs.max()), float(zabs[zabs > 0].min())
    out = []
    for n, v, free in zip(fit.names, fit.values, fit.free, strict=True):
        if not free or c.units.get(n) != "ohm" or not math.isfinite(v):
            continue
        if v > 1e3 * zmax:
            out.append(Diagnostic(
                "unmeasurable", f"{n} = {v:.3g} Ω is {v / zmax:.2g} times the largest measured "
                f"|Z| ({zmax:.3g} Ω): the fit ran away and the data cannot measure it",
                fields=(n,)))
        elif v < 1e-6 * zmin:
            out.append(Diagnostic(
                "unmeasurable", f"{n} = {v:.3g} Ω is below 10⁻⁶ of the smallest measured |Z| "
                f"({zmin:.3g} Ω): the data cannot tell it from 0", fields=(n,)))
    lo = 1e-3 / (2 * math.pi * float(spectrum.frequency.max()))
    hi = 1e3 / (2 * math.pi * float(spectrum.frequency.min()))
    free = dict(zip(fit.names, fit.free, strict=True))
    for arc, t in zip(c.arcs, c.time_constants(fit.values), strict=True):
        if not any(free[fit.names[j]] for j in arc.columns):
            continue
        if math.isfinite(t.tau) and t.tau > 0 and not lo <= t.tau <= hi:
            out.append(Diagnostic(
                "unmeasurable", f"τ({arc.label}) = {t.tau:.3g} s lies more than three decades "
                f"outside the measured window (1/2πf from {lo * 1e3:.3g} to {hi / 1e3:.3g} s)",
                fields=(f"{arc.capacitor}_tau",)))
    return tuple(out)


def _failing(c: Circuit, spectrum: Spectrum, fit: FitResult) -> str | None:
    """Why a fit (in ohm) is not physical: a non-finite or out-of-range value, derived ones
    included, or a runaway; None when it is."""
    values = [Value(n, float(v), float(e), c.units[n] or "")
              for n, v, e in zip(fit.names, fit.values, fit.errors, strict=True)]
    with np.errstate(all="ignore"):
        values += list(_derived(c, fit).values())
    for v in values:
        for d in v.check():
            if d.code in ("non-finite", "out-of-range"):
                return d.message
    run = [d for d in _runaway_diagnostics(c, spectrum, fit) if "ran away" in d.message]
    return run[0].message if run else None


def _fits_within_errors(c: Circuit, spectrum: Spectrum, fit: FitResult, k: float,
                        powers: Mapping[str, int]) -> bool:
    """Whether a fit with known σ describes the data within their errors (χ² probable) with
    physical values: no other minimum can then be meaningfully better."""
    if not fit.absolute_sigma or fit.dof <= 0 or not fit.success:
        return False
    if any(d.code == "chi2-improbable" for d in fit.diagnostics):
        return False
    return _failing(c, spectrum, fit if k == 1.0 else _rescale_fit(fit, powers, k)) is None


def _prefer_auto(c: Circuit, spectrum: Spectrum, given: FitResult | None,
                 auto: FitResult | None, k: float, powers: Mapping[str, int]) -> str | None:
    """Why the fit from the automatic start replaces the one from the user's start, or None
    when it does not (fits in working units; ``k``, ``powers`` convert them to ohm)."""
    if auto is None:
        return None
    if given is None:
        return "no fit from the given starting values converged"

    def real(fit: FitResult) -> FitResult:
        return fit if k == 1.0 else _rescale_fit(fit, powers, k)

    bad_given = _failing(c, spectrum, real(given))
    bad_auto = _failing(c, spectrum, real(auto))
    if bad_given and not bad_auto:
        return (f"the fit from the given starting values ran away ({bad_given}; "
                f"χ² = {given.chi2:.4g}, automatic start χ² = {auto.chi2:.4g})")
    if bad_auto and not bad_given:
        return None
    if auto.chi2 < given.chi2 * (1 - 1e-4):
        return (f"the fit from the given starting values ended in a worse minimum "
                f"(χ² = {given.chi2:.4g} against {auto.chi2:.4g} from the automatic start)")
    return None


def _check_choice(value, choices, field: str) -> str:
    if value not in choices:
        raise InputError(f"{field} = {value!r}", field=field,
                         expected="one of " + ", ".join(repr(c) for c in choices))
    return value


def _merge_initial(circuit: Circuit, initial) -> dict[str, float]:
    """User starting values as a (possibly partial) dict."""
    if initial is None:
        return {}
    if isinstance(initial, Mapping):
        unknown = [k for k in initial if k not in circuit.parameter_names]
        if unknown:
            raise InputError(f"unknown parameter(s) {unknown} for circuit '{circuit.text}'",
                             field="initial",
                             expected=f"names among {', '.join(circuit.parameter_names)}")
        out = {}
        for k, v in initial.items():
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                raise InputError(f"initial value {v!r} is not a number", field=k,
                                 expected="a float in SI units") from None
        return out
    arr = circuit.parameter_array(initial, field="initial")
    return dict(zip(circuit.parameter_names, arr.tolist(), strict=True))


def _fixed_values(circuit: Circuit, fixed) -> tuple[set[str], dict[str, float]]:
    if isinstance(fixed, str):
        fixed = [fixed]
    if isinstance(fixed, Mapping):
        values = {str(k): float(v) for k, v in fixed.items()}
        names = set(values)
    else:
        names = set(map(str, fixed))
        values = {}
    unknown = sorted(names - set(circuit.parameter_names))
    if unknown:
        raise InputError(f"unknown parameter(s) {unknown} for circuit '{circuit.text}'",
                         field="fixed",
                         expected=f"names among {', '.join(circuit.parameter_names)}")
    return names, values


def _bounds(circuit: Circuit, bounds) -> dict[str, tuple[float, float]]:
    out = dict(circuit.bounds)
    if bounds:
        for k, v in bounds.items():
            if k not in out:
                raise InputError(f"unknown parameter {k!r} for circuit '{circuit.text}'",
                                 field="bounds",
                                 expected=f"names among {', '.join(circuit.parameter_names)}")
            try:
                lo, hi = map(float, v)
            except (TypeError, ValueError):
                raise InputError(f"bounds {v!r}", field=k,
                                 expected="a (lower, upper) pair") from None
            out[k] = (lo, hi)
    return out


def _core_bounds(circuit: Circuit, bounds: dict) -> dict[str, tuple[float, float]]:
    """Only the bounds that constrain the optimiser (a log parameter's (0, inf) does not, and
    leaving it out keeps the faster unbounded solver when nothing else is bounded)."""
    log = set(circuit.log_parameters)
    out = {}
    for k, (lo, hi) in bounds.items():
        if k in log and lo <= 0 and hi == math.inf:
            continue
        if lo == -math.inf and hi == math.inf:
            continue
        out[k] = (lo, hi)
    return out


@lru_cache(maxsize=256)
def _input_file_cached(path: str, mtime: float, size: int) -> InputFile:
    return InputFile.of(path)


def _input_files(source: str | None) -> list[InputFile]:
    if not source or not os.path.isfile(source):
        return []
    st = os.stat(source)
    return [_input_file_cached(os.path.abspath(source), st.st_mtime, st.st_size)]


# --------------------------------------------------------------------------- initial values


_TAIL_POWERS = tuple(np.round(np.arange(0.4, 1.0001, 0.05), 2))
_RIDGE = 0.01
_PER_DECADE = 6


def _ladder(f: np.ndarray, Z: np.ndarray, *, constant: bool, inductive: bool, tails: bool,
            arcs: bool):
    """Ridge-regularised NNLS of the spectrum (weights 1/|Z|) on R∞, jωL, (jω)^-a and an RC
    ladder. Returns (R∞, L, tail coefficients, ladder τ, ladder R)."""
    omega = 2 * np.pi * f
    wmin, wmax = float(omega.min()), float(omega.max())
    cols, kinds = [], []
    if constant:
        cols.append(np.ones(f.size, complex))
        kinds.append("R")
    if inductive:
        cols.append(1j * omega)
        kinds.append("L")
    if tails:
        for a in _TAIL_POWERS:
            cols.append((1j * omega) ** (-a))
            kinds.append("T")
    taus = np.array([])
    if arcs:
        lo = (0.3 if constant else 0.03) / wmax
        hi = (1.0 if tails else 3.0) / wmin
        n = max(int(round(_PER_DECADE * np.log10(hi / lo))), 2)
        taus = np.logspace(np.log10(lo), np.log10(hi), n)
        cols.extend(1.0 / (1.0 + 1j * np.outer(omega, taus)).T)
        kinds.extend(["K"] * n)
    kinds = np.array(kinds)
    coef = np.zeros(len(cols))
    if cols:
        mod = np.abs(Z)
        mod = np.maximum(mod, 1e-3 * float(np.median(mod)))  # a point at Z = 0 (unit weights)
        A = np.column_stack(cols) / mod[:, None]
        A = np.vstack([A.real, A.imag])
        b = np.concatenate([Z.real / mod, Z.imag / mod])
        norm = np.linalg.norm(A, axis=0)
        norm[norm == 0] = 1.0
        A = A / norm
        ladder = kinds == "K"
        if ladder.any():
            reg = np.zeros((int(ladder.sum()), A.shape[1]))
            reg[:, ladder] = _RIDGE * np.eye(int(ladder.sum()))
            A = np.vstack([A, reg])
            b = np.concatenate([b, np.zeros(reg.shape[0])])
        try:
            sol, _ = nnls(A, b, maxiter=50 * A.shape[1])
            coef = sol / norm
        except RuntimeError:
            pass
    return (float(coef[kinds == "R"].sum()), float(coef[kinds == "L"].sum()),
            coef[kinds == "T"], taus, coef[kinds == "K"])


def _peaks(taus: np.ndarray, R: np.ndarray) -> list[tuple[float, float]]:
    """Peaks of the ladder distribution over ln τ: ``[(area R, R-weighted mean ln τ)]``."""
    if R.size == 0 or R.sum() <= 0:
        return []
    k = np.exp(-0.5 * (np.arange(-4, 5) / 1.5) ** 2)
    smooth = np.convolve(R, k / k.sum(), mode="same")
    inner = (smooth[1:-1] >= smooth[:-2]) & (smooth[1:-1] > smooth[2:])
    maxima = list(np.flatnonzero(inner) + 1)
    if smooth[0] > smooth[1]:
        maxima.insert(0, 0)
    if smooth[-1] > smooth[-2]:
        maxima.append(R.size - 1)
    if not maxima:
        maxima = [int(np.argmax(smooth))]
    # basins: split between consecutive maxima at the smoothed minimum
    edges = [0]
    for a, b in zip(maxima[:-1], maxima[1:], strict=True):
        edges.append(a + int(np.argmin(smooth[a:b + 1])))
    edges.append(R.size)
    lt = np.log(taus)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        r = R[lo:hi]
        if r.sum() > 0:
            out.append((float(r.sum()), float(np.average(lt[lo:hi], weights=r))))
    total = sum(p[0] for p in out)
    return [p for p in out if p[0] > 0.01 * total]


def _arc_sets(peaks: list[tuple[float, float]], n: int, limit: int = 4
              ) -> list[list[tuple[float, float]]]:
    """Candidate assignments of ``n`` arcs ``[(R, τ)]`` (τ ascending) from the peaks: the
    ``n`` largest first, then other choices among the ``n + 1`` largest; unchosen peaks are
    merged into the nearest chosen one (their resistance is kept)."""
    import itertools

    if n == 0:
        return [[]]
    if not peaks:
        return []
    if len(peaks) < n:
        groups = [list(p) for p in peaks]
        while len(groups) < n:
            i = int(np.argmax([g[0] for g in groups]))
            r, m = groups[i]
            groups[i:i + 1] = [[r / 2, m - 1.15], [r / 2, m + 1.15]]
        return [[(r, math.exp(m)) for r, m in groups]]
    by_size = sorted(range(len(peaks)), key=lambda i: -peaks[i][0])
    pool = sorted(by_size[:n + 1])
    top = tuple(sorted(by_size[:n]))
    choices = [top] + [c for c in itertools.combinations(pool, n) if c != top]

    def merged(choice) -> list[list[float]]:
        R = {i: peaks[i][0] for i in choice}
        for j in range(len(peaks)):
            if j not in R:
                near = min(choice, key=lambda i: abs(peaks[i][1] - peaks[j][1]))
                R[near] += peaks[j][0]
        return [[R[i], peaks[i][1]] for i in choice]

    out = [merged(c) for c in choices[:max(limit - 2, 1)]]
    if n >= 2:
        # a minor arc hidden under the flank of the largest peak (a shoulder, not a peak):
        # split the largest of the n - 1 largest peaks 15:85 a decade apart, each way
        base = merged(tuple(sorted(by_size[:n - 1])))
        k = int(np.argmax([g[0] for g in base]))
        r, m = base[k]
        for minor in (m - 2.3, m + 2.3):
            groups = base[:k] + [[0.85 * r, m], [0.15 * r, minor]] + base[k + 1:]
            out.append(sorted(groups, key=lambda g: g[1]))
    return [[(r, math.exp(m)) for r, m in groups] for groups in out[:limit]]


def _tail_estimate(f: np.ndarray, Z: np.ndarray) -> tuple[float, float] | None:
    """(|Z_tail| at the lowest frequency, exponent) of a low-frequency capacitive tail seen in
    −Z'' rising as f falls; None when there is no tail."""
    n = min(4, f.size)
    y = -Z.imag[:n]
    if np.any(y <= 0):
        return None
    slope = np.polyfit(np.log(f[:n]), np.log(y), 1)[0]
    if slope >= -0.2:
        return None
    alpha = float(np.clip(-slope, 0.3, 1.0))
    return float(y[0] / math.sin(alpha * math.pi / 2)), alpha


def initial_guesses(spectrum: Spectrum, circuit, known: Mapping[str, float] | None = None,
                    limit: int = 4) -> list[dict[str, float]]:
    """Candidate starting values of every parameter, read from the spectrum (most likely first).

    A non-negative least-squares fit (weights 1/|Z|, light ridge on the ladder) of
    ``R∞ + jωL + Σ_k R_k/(1 + jωτ_k) + Σ_a c_a (jω)^(−a)`` (terms present only when the circuit
    has a series resistor, an inductor, arcs, or a series C/CPE/Warburg) gives the series
    resistance R∞ (the high-frequency intercept), the inductance and the arcs: peaks of R_k over
    ln τ, whose areas are arc resistances and whose R-weighted mean τ are apex time constants
    (CPE α = 0.85). The electrode element comes from the low-frequency slope of −Z''. Arcs are
    assigned in string order from the highest apex frequency down. When there are more peaks
    than arcs, further candidates choose other peaks among the ``n + 1`` largest.

    Parameters
    ----------
    spectrum : Spectrum
    circuit : Circuit or str
    known : mapping, optional
        Values to keep as given (SI).
    limit : int
        Most candidates returned.

    Returns
    -------
    list of dict
        Each maps every parameter (circuit order) to an SI value.
    """
    c = as_circuit(circuit)
    f = spectrum.frequency
    Z = spectrum.impedance
    omega = 2 * np.pi * f
    wmin, wmax = float(omega.min()), float(omega.max())
    z_hf = float(np.abs(Z[-1]))
    scale = max(float(np.max(np.abs(Z))), 1e-300)
    comps = c.top_level()
    prefix = {name: et.prefix for name, et in c.elements.items()}
    series_r = [n for k, n in comps if k == "element" and prefix[n] == "R"]
    tails = [n for k, n in comps if k == "element" and prefix[n] in ("C", "CPE", "W")]
    inductors = [n for k, n in comps if k == "element" and prefix[n] in ("L", "La")]
    slots = [(k, n) for k, n in comps
             if k in ("arc", "block") or (k == "element" and prefix[n] in ("Ws", "Wo", "G"))]
    R_inf, L_est, tail_c, taus, ladder_R = _ladder(
        f, Z, constant=bool(series_r), inductive=bool(inductors), tails=bool(tails),
        arcs=bool(slots))
    if tails:
        keep = taus <= 0.1 / wmin  # slower "arcs" are the electrode tail's curvature
        taus, ladder_R = taus[keep], ladder_R[keep]
    sets = _arc_sets(_peaks(taus, ladder_R), len(slots), limit)
    if not sets:
        span = max(float(np.ptp(Z.real)), 1e-3 * scale)
        sets = [[(span / len(slots), 1.0 / math.sqrt(wmin * wmax))] * len(slots)]

    base: dict[str, float] = {}
    floor_r = 1e-3 * (z_hf if z_hf > 0 else scale)
    for i, name in enumerate(series_r):
        base[name] = max(R_inf, floor_r) if i == 0 else floor_r
    for i, name in enumerate(inductors):
        L = (L_est if L_est > 0 else 1e-3 * z_hf / wmax) * (1.0 if i == 0 else 1e-2)
        if prefix[name] == "L":
            base[name] = L
        else:
            base[f"{name}_L"] = L
            base[f"{name}_alpha"] = 0.95
    if tails:
        tail = _tail_estimate(f, Z)
        zt0, alpha = tail if tail is not None else (0.01 * abs(Z[0]), ALPHA_START)
        for i, name in enumerate(tails):
            zt = zt0 if i == 0 else 0.01 * zt0
            if prefix[name] == "CPE":
                a = min(alpha, 0.99)
                base[f"{name}_Q"] = 1.0 / (zt * wmin ** a)
                base[f"{name}_alpha"] = a
            elif prefix[name] == "C":
                base[name] = 1.0 / (zt * wmin)
            else:
                base[name] = zt * math.sqrt(wmin)
    out = []
    floor_arc = 1e-4 * scale
    for groups in sets:
        guess = dict(base)
        for (kind, obj), (R, tau) in zip(slots, groups, strict=True):
            R = max(R, floor_arc)
            if kind == "arc":
                guess[obj.resistor] = R
                if obj.kind == "C":
                    guess[obj.capacitor] = tau / R
                else:
                    guess[f"{obj.capacitor}_Q"] = tau ** ALPHA_START / R
                    guess[f"{obj.capacitor}_alpha"] = ALPHA_START
            elif kind == "element":
                # apex of -Z'' at ωτ ≈ 2.5 (Ws, Wo) or √3 (G)
                factor = {"Ws": 2.54, "Wo": 2.54, "G": 1.73}[prefix[obj]]
                guess[f"{obj}_R"] = R
                guess[f"{obj}_tau"] = tau * factor
            else:
                _generic(c, obj, R, tau, guess)
        # anything left (unusual layouts) from the spectrum's scales
        rest = [n for n in c.elements
                if not all(p in guess for p in c.elements[n].parameter_names(n))]
        _generic(c, rest, max(float(np.ptp(Z.real)), 1e-3 * scale),
                 1.0 / math.sqrt(wmin * wmax), guess)
        if known:
            guess.update(known)
        candidate = {n: float(guess[n]) for n in c.parameter_names}
        if candidate not in out:
            out.append(candidate)
    return out


def initial_guess(spectrum: Spectrum, circuit, known: Mapping[str, float] | None = None
                  ) -> dict[str, float]:
    """The most likely starting values (first of :func:`initial_guesses`).

    Parameters
    ----------
    spectrum : Spectrum
    circuit : Circuit or str
    known : mapping, optional
        Values to keep as given (SI).

    Returns
    -------
    dict
        Every parameter, SI, in circuit order.

    Examples
    --------
    >>> from ionscale.datasets.synthetic_eis import simulate_spectrum
    >>> s = simulate_spectrum("R0-p(R1,C1)", {"R0": 10, "R1": 1000, "C1": 1e-7}, noise=0)
    >>> g = initial_guess(s, "R0-p(R1,C1)")
    >>> 0.5 < g["R1"] / 1000 < 2 and 0.3 < g["C1"] / 1e-7 < 3
    True
    """
    return initial_guesses(spectrum, circuit, known, limit=1)[0]


def _generic(c: Circuit, names, R: float, tau: float, out: dict[str, float]) -> None:
    """Values for elements of a block with resistance scale R (ohm) and time scale τ (s)."""
    n_r = max(sum(1 for n in names if c.elements[n].prefix == "R"), 1)
    w = 1.0 / tau
    for n in names:
        p = c.elements[n].prefix
        if p == "R":
            out[n] = R / n_r
        elif p == "C":
            out[n] = tau / R
        elif p == "L":
            out[n] = 1e-3 * R / w
        elif p == "CPE":
            out[f"{n}_Q"] = tau ** ALPHA_START / R
            out[f"{n}_alpha"] = ALPHA_START
        elif p == "W":
            out[n] = R * math.sqrt(w)
        elif p in ("Ws", "Wo", "G"):
            out[f"{n}_R"] = R
            out[f"{n}_tau"] = tau
        elif p == "La":
            out[f"{n}_L"] = 1e-3 * R / w
            out[f"{n}_alpha"] = 0.95


# --------------------------------------------------------------------------- fit


def _perturb(circuit: Circuit, start: dict[str, float], free: list[str], bounds: dict,
             rng: np.random.Generator) -> dict[str, float]:
    out = dict(start)
    log = set(circuit.log_parameters)
    for name in free:
        lo, hi = bounds.get(name, (-math.inf, math.inf))
        if name in log:
            v = start[name] * 10.0 ** rng.uniform(-1.0, 1.0)
        else:
            v = start[name] + rng.uniform(-0.15, 0.15)
        span = hi - lo
        if math.isfinite(span):
            v = min(max(v, lo + 1e-3 * span), hi - 1e-3 * span)
        out[name] = v
    return out


def _within(values: np.ndarray, names: tuple[str, ...], bounds: dict) -> bool:
    for i, n in enumerate(names):
        if n in bounds:
            lo, hi = bounds[n]
            if not lo <= values[i] <= hi:
                return False
    return True


def _one_fit(problem: _Problem, start: dict[str, float], fixed: set[str], bounds: dict,
             log: tuple[str, ...], absolute: bool, max_nfev: int | None,
             unbounded_first: bool = False) -> FitResult:
    """One least-squares fit. With ``unbounded_first`` (only the elements' default bounds,
    i.e. exponents within (0, 1]) the faster unbounded solver runs first and its optimum is
    kept when it lies inside the bounds; otherwise the bounded solver takes over."""
    if unbounded_first and bounds:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FitWarning)
            try:
                res = fit_residuals(problem.residual, start, fixed=fixed, log=log,
                                    jacobian=problem.jacobian, absolute_sigma=absolute,
                                    max_nfev=max_nfev)
            except FitError:
                res = None
        if res is not None and res.success and _within(res.values, res.names, bounds):
            for w in caught:
                warnings.warn(w.message, w.category, stacklevel=2)
            return res
    return fit_residuals(problem.residual, start, bounds=bounds, fixed=fixed, log=log,
                         jacobian=problem.jacobian, absolute_sigma=absolute, max_nfev=max_nfev)


def _derived(circuit: Circuit, fit: FitResult) -> dict[str, Value]:
    """τ and effective (Brug) capacitance of each arc, errors through the covariance
    (:mod:`~ionscale.impedance.capacitance`); an arc whose τ over- or underflows gets inf/0."""
    out = {}
    p = fit.values
    cov = fit.covariance
    for arc in circuit.arcs:
        cols = list(arc.columns)
        R = p[cols[0]]
        sub = cov[np.ix_(cols, cols)]
        if arc.kind == "C":
            C = p[cols[1]]
            with np.errstate(invalid="ignore"):
                var = float(np.array([C, R]) @ sub @ np.array([C, R]))
            items = [("tau", R * C, math.sqrt(var) if var >= 0 else math.nan, "s",
                      f"τ({arc.label})")]
        else:
            Q, a = p[cols[1]], p[cols[2]]
            if not (R > 0 and Q > 0 and a > 0):
                continue
            known = bool(np.all(np.isfinite(sub)))  # inf where the data do not fix R, Q or α
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                tau = time_constant(R, Q, a, covariance=sub if known else None)
                cap = brug_capacitance(R, Q, a, covariance=sub if known else None)
            items = [("tau", tau.value, tau.error if known else math.inf, "s",
                      f"τ({arc.label})"),
                     ("C", cap.value, cap.error if known else math.inf, "F",
                      f"C_eff({arc.label})")]
        for suffix, val, err, unit, symbol in items:
            name = f"{arc.capacitor}_{suffix}"
            out[name] = Value(name, float(val), float(err), unit, symbol)
    return out


def _spectrum_time(spectrum: Spectrum) -> float | None:
    if spectrum.time is None or spectrum.time.size == 0:
        return None
    return float(np.mean(spectrum.time))


def build_fit_result(circuit: Circuit, spectrum: Spectrum, fit: FitResult, *, weighting: str,
                     domain: str, parameters: Mapping[str, Any] | None = None,
                     model: np.ndarray | None = None, method: str = "impedance.fit_circuit",
                     diagnostics: Iterable[Diagnostic] = ()) -> CircuitFit:
    """Wrap a :class:`FitResult` of ``circuit`` on ``spectrum`` into a :class:`CircuitFit`
    (``parameters``: JSON-safe provenance parameters; ``diagnostics``: the technique's own,
    merged with the fit's and the values' checks)."""
    values = {n: Value(n, float(v), float(e), circuit.units[n] or "", None)
              for n, v, e in zip(fit.names, fit.values, fit.errors, strict=True)}
    values.update(_derived(circuit, fit))
    if model is None:
        model = circuit._z(Grid(spectrum.frequency), fit.values.tolist())
    return CircuitFit(
        values=values,
        provenance=Provenance(method=method, inputs=tuple(_input_files(spectrum.source)),
                              parameters=dict(parameters or {})),
        fit=fit,
        title=f"{circuit.text} fitted to {spectrum.label}"
              + (f" at {spectrum.temperature:.1f} K" if spectrum.temperature else ""),
        circuit=circuit.text,
        frequency=spectrum.frequency,
        impedance=spectrum.impedance,
        model=model,
        sigma=spectrum.sigma,
        weighting=weighting,
        domain=domain,
        temperature=spectrum.temperature,
        time=_spectrum_time(spectrum),
        start_time=spectrum.start_time,
        source=spectrum.source,
        diagnostics=tuple(diagnostics),
    )


def arc_permutation(circuit: Circuit, values, reference: list[float] | None = None,
                    free: Iterable[bool] | None = None) -> np.ndarray | None:
    """Column permutation that relabels interchangeable arcs by their time constants.

    Arcs that can swap labels without changing Z (same kind, same series chain; see
    :meth:`Circuit.interchangeable_arcs`) are put in the τ order of ``reference`` (one τ per
    arc of ``circuit.arcs``, e.g. from the first spectrum of a series) or, by default, in string
    order of increasing τ (highest apex frequency first).

    Parameters
    ----------
    circuit : Circuit
    values : array_like
        Parameter values in circuit order.
    reference : list of float, optional
        τ (s) of each arc in the reference labelling.
    free : iterable of bool, optional
        Which parameters were fitted; arcs with different fixed patterns are never swapped.

    Returns
    -------
    ndarray of int or None
        ``new_values = values[perm]``; None when the labels are already in order.
    """
    taus = [t.tau for t in circuit.time_constants(values)]
    free = None if free is None else np.asarray(list(free), bool)
    perm = np.arange(circuit.n_parameters)
    changed = False
    for group in circuit.interchangeable_arcs():
        current = [taus[i] for i in group]
        if not all(math.isfinite(t) and t > 0 for t in current):
            continue
        if free is not None:
            patterns = {tuple(free[list(circuit.arcs[i].columns)]) for i in group}
            if len(patterns) > 1:
                continue
        if reference is None:
            slots = list(group)
        else:
            ref = [reference[i] for i in group]
            if not all(math.isfinite(t) for t in ref):
                continue
            slots = [group[k] for k in np.argsort(ref, kind="stable")]
        sources = [group[k] for k in np.argsort(current, kind="stable")]
        for slot, src in zip(slots, sources, strict=True):
            if slot != src:
                changed = True
                perm[list(circuit.arcs[slot].columns)] = circuit.arcs[src].columns
    return perm if changed else None


def permute_fit(fit: FitResult, perm: np.ndarray) -> FitResult:
    """The same fit with its parameter columns relabelled (``values[perm]``); the fit's
    diagnostics name the parameters by their new labels."""
    rename = {fit.names[int(j)]: fit.names[i] for i, j in enumerate(perm) if int(j) != i}
    return replace(fit, values=fit.values[perm], errors=fit.errors[perm],
                   covariance=fit.covariance[np.ix_(perm, perm)],
                   free=tuple(np.asarray(fit.free)[perm].tolist()),
                   samples=None if fit.samples is None else fit.samples[:, perm],
                   diagnostics=_renamed(fit.diagnostics, rename))


def _renamed(diagnostics: Iterable[Diagnostic], rename: Mapping[str, str]
             ) -> tuple[Diagnostic, ...]:
    """Diagnostics with parameter names replaced (fields and message, whole names only)."""
    diagnostics = tuple(diagnostics)
    if not rename:
        return diagnostics
    names = sorted(rename, key=len, reverse=True)
    rx = re.compile(r"(?<![\w])(" + "|".join(map(re.escape, names)) + r")(?![\w])")
    return tuple(Diagnostic(d.code, rx.sub(lambda m: rename[m.group(1)], d.message),
                            d.severity, tuple(rename.get(f, f) for f in d.fields))
                 for d in diagnostics)


def fit_circuit(
    spectrum: Spectrum,
    circuit,
    initial=None,
    *,
    fixed: Iterable[str] | Mapping[str, float] = (),
    bounds: Mapping[str, tuple[float, float]] | None = None,
    weighting: str = "modulus",
    domain: str = "impedance",
    multistart: int = 0,
    seed: int | np.random.Generator | None = None,
    fmin: float | None = None,
    fmax: float | None = None,
    max_nfev: int | None = None,
    sort_arcs: bool | None = None,
    auto_start: bool = True,
) -> CircuitFit:
    """Fit an equivalent circuit to a spectrum by complex non-linear least squares.

    Starting values given by the user are fitted first; with ``auto_start`` the fit is also
    run from the spectrum's own estimates (:func:`initial_guesses`) and the better of the two
    is kept: a physical fit before one that ran away (a value non-finite, outside its physical
    range or far beyond what the data can measure), then the lower χ². When the automatic
    start wins, the result carries an ``auto-start`` diagnostic (status ``warning``) saying so.
    Every result is checked for runaway values: a resistance above 10³ × the largest measured
    |Z| or below 10⁻⁶ × the smallest, an arc time constant three decades outside the measured
    window, get an ``unmeasurable`` diagnostic.

    Impedances far from 1 Ω (median |Z| outside 10⁻³⁰ to 10³⁰ Ω) are fitted in scaled units
    (``Z/k``, the parameters scaled to match) and the result converted back, so that Z² in the
    Jacobian cannot overflow.

    Parameters
    ----------
    spectrum : Spectrum
        The data (Hz, ohm).
    circuit : Circuit or str
        E.g. ``"R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"``.
    initial : mapping or sequence, optional
        Starting values (SI) by name (may be partial: the rest come from
        :func:`initial_guess`) or a full sequence in ``circuit.parameter_names`` order.
    fixed : iterable of str or mapping
        Parameters held constant: names (at their ``initial`` value) or ``{name: value}``.
    bounds : mapping, optional
        ``{name: (lower, upper)}`` replacing the element's default bounds.
    weighting : {"modulus", "unit", "proportional", "sigma"}
        See the module notes; ``"sigma"`` needs ``spectrum.sigma``.
    domain : {"impedance", "admittance"}
        Fit Z or Y = 1/Z.
    multistart : int
        Extra starts from log-uniform perturbations (×10^U(−1, 1)) of the free log-space
        parameters (exponents ±0.15); the lowest χ² is kept.
    seed : int or Generator, optional
        Seed of the multi-start perturbations.
    fmin, fmax : float, optional
        Hz: fit only the points in this range.
    max_nfev : int, optional
        Cap on model evaluations per start.
    sort_arcs : bool, optional
        Relabel interchangeable arcs (R‖C or R‖CPE blocks of the same series chain) so that
        their time constants increase in string order (``R1‖CPE1`` is the highest-frequency
        arc). Default: only when the starting values were not all given by the user; when
        they were and the automatic start wins, its arcs take the labels of the user's
        starting values (by τ order).
    auto_start : bool
        Also fit from the automatic starting values when ``initial`` gives some, and keep the
        better fit (see above). With False, the automatic start is tried only when no start
        from the given values converges (and is then reported as ``auto-start`` too).

    Returns
    -------
    CircuitFit

    Raises
    ------
    InputError
        Unknown weighting/domain/parameter names, wrong number of initial values, ``"sigma"``
        weighting without σ, a circuit string that does not parse, impedances that are not
        finite, Z = 0 where the weighting or the admittance domain divides by it.
    FitError
        Fewer points than free parameters, or no start converged.

    Examples
    --------
    >>> from ionscale.datasets.synthetic_eis import simulate_spectrum
    >>> truth = {"R0": 50.0, "R1": 2e3, "CPE1_Q": 1e-7, "CPE1_alpha": 0.9}
    >>> s = simulate_spectrum("R0-p(R1,CPE1)", truth, noise=0.005, seed=1)
    >>> res = fit_circuit(s, "R0-p(R1,CPE1)", weighting="sigma")
    >>> abs(res["R1"].value - 2e3) < 3 * res["R1"].error
    True
    """
    spectrum = _check_spectrum(spectrum)
    c = as_circuit(circuit)
    _check_choice(weighting, WEIGHTINGS, "weighting")
    _check_choice(domain, DOMAINS, "domain")
    if isinstance(multistart, bool) or not isinstance(multistart, int | np.integer) \
            or multistart < 0:
        raise InputError(f"multistart = {multistart!r}", field="multistart",
                         expected="an integer >= 0")
    if fmin is not None or fmax is not None:
        spectrum = spectrum.select(fmin, fmax)
    if weighting == "sigma" and spectrum.sigma is None:
        raise InputError("weighting='sigma' but the spectrum has no uncertainties",
                         file=spectrum.source, field="sigma",
                         expected="spectrum.sigma, or weighting 'modulus'/'proportional'")
    _check_impedance(spectrum, weighting, domain)
    fixed_names, fixed_values = _fixed_values(c, fixed)
    user = _merge_initial(c, initial)
    user.update(fixed_values)
    missing_fixed = sorted(fixed_names - set(user))
    if missing_fixed:
        raise InputError(f"fixed parameter(s) {missing_fixed} have no value", field="fixed",
                         expected="a value in initial, or fixed={name: value}")
    all_bounds = _bounds(c, bounds)
    # work in units where the median |Z| is about 1 when the data are extreme (|Z| ~ 1e200
    # would overflow the Jacobian, which squares Z)
    k, powers = _working_scale(c, spectrum)
    work = spectrum if k == 1.0 else replace(
        spectrum, impedance=spectrum.impedance / k,
        sigma=None if spectrum.sigma is None else spectrum.sigma / k)
    to_work = (lambda d: d) if k == 1.0 else (
        lambda d: {n: v * k ** -powers[n] for n, v in d.items()})
    user_w, fixed_w = to_work(user), to_work(fixed_values)
    bounds_w = all_bounds if k == 1.0 else {
        n: (lo * k ** -powers[n], hi * k ** -powers[n]) for n, (lo, hi) in all_bounds.items()}
    core_bounds = _core_bounds(c, bounds_w)
    problem = _Problem(c, work.frequency, work.impedance, work.sigma, weighting, domain)
    absolute = weighting == "sigma"
    log = c.log_parameters
    free = [n for n in c.parameter_names if n not in fixed_names]
    given_all = len(user) == c.n_parameters
    given_some = bool(set(user) - fixed_names)
    if given_all:
        user_starts = [{n: user_w[n] for n in c.parameter_names}]
    else:
        user_starts = initial_guesses(work, c, known=user_w)
    if multistart:
        rng = np.random.default_rng(seed)
        user_starts += [_perturb(c, user_starts[0], free, bounds_w, rng)
                        for _ in range(int(multistart))]
    errors: list[str] = []

    def best_of(starts_, stop=None) -> tuple[FitResult | None, list, dict | None]:
        best, best_warnings, best_start = None, [], None
        for st in starts_:
            if best is not None and stop is not None and stop(best):
                break
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", FitWarning)
                try:
                    res = _one_fit(problem, st, fixed_names, core_bounds, log, absolute,
                                   max_nfev, unbounded_first=not bounds)
                except FitError as exc:
                    errors.append(str(exc))
                    continue
                except InputError:
                    raise  # a bad starting value is the user's to fix
                except (np.linalg.LinAlgError, ValueError, FloatingPointError,
                        OverflowError, ZeroDivisionError) as exc:
                    # a model that over- or underflows on the way: this start failed
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
            if best is None or res.chi2 < best.chi2:
                best, best_start = res, st
                best_warnings = [w for w in caught if issubclass(w.category, FitWarning)]
        return best, best_warnings, best_start

    best, best_warnings, start = best_of(user_starts)
    diagnostics: list[Diagnostic] = []
    used_auto = False
    if given_some and (best is None or (auto_start and not _fits_within_errors(
            c, spectrum, best, k, powers))):
        # the user's start may lead to a poor local minimum or run away: fit from the
        # spectrum's own estimates too and keep the better (physical first, then lower χ²);
        # the candidates stop once one lands on the user's minimum
        given = best

        def same(fit: FitResult) -> bool:
            return given is not None and abs(fit.chi2 - given.chi2) <= 1e-6 * given.chi2

        auto, auto_warnings, auto_begin = best_of(initial_guesses(work, c, known=fixed_w),
                                                  stop=same)
        reason = _prefer_auto(c, spectrum, best, auto, k, powers)
        if reason is not None:
            diagnostics.append(Diagnostic(
                "auto-start", f"{reason}; the fit from the automatic starting values is "
                "reported instead (compare them, or give other starting values)"))
            best, best_warnings, start, used_auto = auto, auto_warnings, auto_begin, True
    if best is None:
        raise FitError(f"no start converged for circuit '{c.text}': {errors[0]}")
    for w in best_warnings:
        warnings.warn(w.message, w.category, stacklevel=2)
    if sort_arcs is None:
        sort_arcs = not given_all or used_auto
    if sort_arcs:
        reference = None
        if given_all and used_auto:
            # keep the user's labels: arcs in the τ order of the user's starting values
            reference = [t.tau for t in c.time_constants(
                [user_w[n] for n in c.parameter_names])]
        perm = arc_permutation(c, best.values, reference=reference, free=best.free)
        if perm is not None:
            best = permute_fit(best, perm)
    if k != 1.0:
        best = _rescale_fit(best, powers, k)
        start = {n: v * k ** powers[n] for n, v in start.items()}
    runaway = _runaway_diagnostics(c, spectrum, best)
    for d in [*diagnostics, *runaway]:
        warnings.warn(d.message, FitWarning, stacklevel=2)
    # plain JSON types already (json_safe on every fit of a long series costs)
    parameters = {
        "circuit": c.text, "weighting": weighting, "domain": domain,
        "fixed": sorted(fixed_names), "multistart": int(multistart),
        "seed": int(seed) if isinstance(seed, int | np.integer) else None,
        "fmin": None if fmin is None else float(fmin),
        "fmax": None if fmax is None else float(fmax),
        "initial": {k_: float(v) for k_, v in start.items()},
        "start": "automatic" if used_auto or not given_some else "given",
    }
    if k != 1.0:
        parameters["impedance_scale"] = float(k)
    return build_fit_result(c, spectrum, best, weighting=weighting, domain=domain,
                            parameters=parameters, diagnostics=(*diagnostics, *runaway))
