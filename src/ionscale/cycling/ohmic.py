"""Ohmic check of a symmetric cell: polarisation against current density, ASR, R·A.

A Li | SE | Li cell that plates and strips without trouble is ohmic: the plateau polarisation
is ``eta = ASR · j`` (seed 004: 22 mV at 0.4 mA cm⁻² is 55 Ω cm²). :func:`fit_asr` fits that
line through the origin to the stable half-cycles with :func:`ionscale.fitting.fit_curve`
(weights 1/σ² from the plateaus' standard errors, floored at a third of their median; the
standard error of the ASR comes from the scatter of the half-cycles about the line, i.e. the
covariance is scaled by the reduced χ²) and tests linearity with a second fit
``eta = ASR · j + c · j²`` (needs three or more current densities): the polarisation is called
non-linear when ``c`` differs from 0 by more than 3 standard errors *and* changes ``eta`` at the
largest ``j`` by more than ``linearity_tolerance`` (10 %).

The ASR of a symmetric cell holds the electrolyte and both interfaces; impedance gives the same
sum as ``R · A`` (:func:`impedance_asr`, :func:`compare_with_impedance`). Both are in Ω m²
(1 Ω cm² = 1e-4 Ω m²).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import FitError, FitWarning, InputError
from ..fitting import FitResult, fit_curve
from ..results import Diagnostic, Provenance, Result, Value

__all__ = ["ASRResult", "fit_asr", "impedance_asr", "compare_with_impedance"]


def _line(j, ASR):
    return ASR * j


def _line_jac(j, ASR):
    return j[:, None]


def _quad(j, ASR, c):
    return ASR * j + c * j * j


def _quad_jac(j, ASR, c):
    return np.column_stack([j, j * j])


@dataclass(frozen=True, kw_only=True)
class ASRResult(Result):
    """Polarisation against current density: ASR and the linearity test.

    Values (SI): ``ASR`` (Ω m²), ``nonlinearity`` (relative change of ``eta`` at the largest
    ``j`` due to the ``j²`` term; with three or more current densities), ``n_used``; after
    :func:`compare_with_impedance` also ``RA_impedance`` (Ω m²) and ``ASR_ratio`` (ASR / R·A).

    Attributes
    ----------
    j, eta, eta_err : ndarray
        Every half-cycle's current density (A m⁻²) and plateau polarisation ± error (V).
    used : ndarray of bool
        Which half-cycles the fit used (the stable ones).
    linear : bool or None
        Outcome of the linearity test (None: fewer than three current densities).
    quadratic : FitResult or None
        The ``ASR · j + c · j²`` fit.
    settings : dict
        Thresholds used.
    """

    j: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eta: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eta_err: np.ndarray = field(default_factory=lambda: np.zeros(0))
    used: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    linear: bool | None = None
    quadratic: FitResult | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    def _extra_dict(self) -> dict[str, Any]:
        out = super()._extra_dict()
        q = self.quadratic
        out["quadratic"] = None if q is None else {"params": q.params,
                                                   "errors": dict(zip(q.names,
                                                                      map(float, q.errors),
                                                                      strict=True))}
        return out

    def plot(self, ax=None):
        """Plateau polarisation (mV) against current density (mA cm⁻²) with the ASR line
        (and the R·A line of impedance when compared).

        Parameters
        ----------
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        from .plot import plot_polarisation

        return plot_polarisation(self, ax=ax)


def fit_asr(
    j,
    eta,
    eta_err=None,
    *,
    used=None,
    linearity_tolerance: float = 0.10,
    source: str | None = None,
    method: str = "cycling.asr",
    parameters: Mapping[str, Any] | None = None,
) -> ASRResult:
    """Fit ``eta = ASR · j`` through the origin to the stable half-cycles, and test linearity.

    Parameters
    ----------
    j : array_like
        Current density of each half-cycle, A m⁻² (positive).
    eta : array_like
        Plateau polarisation of each half-cycle, V.
    eta_err : array_like, optional
        Their standard errors, V (weights; equal weights when omitted).
    used : array_like of bool, optional
        Which half-cycles to fit (default all).
    linearity_tolerance : float
        Relative effect of the ``j²`` term at the largest ``j`` that counts as non-linear.
    source : str, optional
        File recorded in the provenance.
    method : str
        Method name for the provenance.
    parameters : mapping, optional
        Extra parameters for the provenance.

    Returns
    -------
    ASRResult
        ``failed`` (no ASR value) when fewer than two half-cycles or only one current density
        are usable.

    Examples
    --------
    >>> import numpy as np
    >>> j = np.repeat([0.5, 1.0, 2.0, 4.0], 4)                 # A m⁻²
    >>> r = fit_asr(j, 5.5e-3 * j + np.tile([1e-5, -1e-5], 8))
    >>> round(r["ASR"].value * 1e4, 2)                          # Ω cm²
    55.0
    """
    j = np.asarray(j, dtype=float)
    eta = np.asarray(eta, dtype=float)
    err = np.full(j.shape, np.nan) if eta_err is None else np.asarray(eta_err, dtype=float)
    if j.shape != eta.shape or err.shape != j.shape:
        raise InputError(f"j has {j.size} values, eta {eta.size}, eta_err {err.size}",
                         field="eta", expected="one polarisation per current density")
    if np.any(~np.isfinite(j)) or np.any(j < 0):
        raise InputError("current densities must be finite and >= 0", field="j",
                         expected="|j| in A m⁻²")
    mask = np.ones(j.shape, bool) if used is None else np.asarray(used, dtype=bool).copy()
    mask &= np.isfinite(eta) & (j > 0)
    settings = {"linearity_tolerance": linearity_tolerance,
                "weights": "1/σ² of the plateau standard errors (floored at median/3)",
                "errors": "scatter (covariance × reduced χ²)", "model": "eta = ASR·j"}
    prov = Provenance.build(method, [source] if source else [],
                            {**settings, **dict(parameters or {})})
    common = dict(provenance=prov, title="Ohmic check: polarisation against current density",
                  j=j, eta=eta, eta_err=err, used=mask, settings=settings)
    levels = np.unique(np.round(j[mask], 12))
    if mask.sum() < 2 or levels.size < 2:
        return ASRResult(values={"n_used": Value("n_used", float(mask.sum()), 0.0, "", "n")},
                         diagnostics=(Diagnostic(
                             "failed", f"{int(mask.sum())} stable half-cycle(s) at "
                             f"{levels.size} current densit{'y' if levels.size == 1 else 'ies'}"
                             ": an ASR needs two current densities or more", fields=("ASR",)),),
                         **common)
    x, y = j[mask], eta[mask]
    sigma = _weights(err[mask])
    guess = float(np.sum(x * y) / np.sum(x * x)) or 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        lin = fit_curve(_line, x, y, {"ASR": guess}, sigma=sigma, jacobian=_line_jac,
                        absolute_sigma=False)
    values = {"ASR": Value("ASR", lin.value("ASR"), lin.error("ASR"), "ohm*m^2", "ASR"),
              "n_used": Value("n_used", float(mask.sum()), 0.0, "", "n")}
    diagnostics: list[Diagnostic] = []
    quad, linear = None, None
    if levels.size >= 3:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                quad = fit_curve(_quad, x, y, {"ASR": guess, "c": 0.0}, sigma=sigma,
                                 jacobian=_quad_jac, absolute_sigma=False)
        except FitError:
            quad = None
        if quad is not None:
            jmax = float(np.max(x))
            a, c = quad.value("ASR"), quad.value("c")
            ea, ec = quad.error("ASR"), quad.error("c")
            rel = c * jmax / a if a else math.inf
            rel_err = abs(rel) * math.hypot(ec / c if c else 0.0, ea / a if a else 0.0)
            if c == 0:
                rel_err = abs(ec * jmax / a) if a else math.inf
            values["nonlinearity"] = Value("nonlinearity", rel, rel_err, "", "(c·j_max)/ASR")
            significant = ec > 0 and abs(c) > 3.0 * ec
            linear = not (significant and abs(rel) > linearity_tolerance)
            if not linear:
                diagnostics.append(Diagnostic(
                    "data-quality", f"the polarisation is not proportional to j: the j² term "
                    f"changes it by {100 * rel:+.0f} % at the largest j (|c| > 3σ, tolerance "
                    f"{100 * linearity_tolerance:.0f} %): non-ohmic behaviour (contact loss, "
                    "depletion); the ASR is an average slope", fields=("ASR",)))
    return ASRResult(values=values, fit=lin, diagnostics=tuple(diagnostics), linear=linear,
                     quadratic=quad, **common)


def _weights(err: np.ndarray) -> np.ndarray | None:
    """σ of each plateau for the fit: its standard error, floored at a third of the median
    one (a sparse half-cycle must not dominate); None (equal weights) when unknown."""
    good = np.isfinite(err) & (err > 0)
    if not np.any(good):
        return None
    floor = max(float(np.median(err[good])) / 3.0, 1e-12)
    return np.where(good, np.maximum(err, floor), float(np.median(err[good])))


def impedance_asr(resistance: float, area: float, resistance_error: float = math.nan
                  ) -> Value:
    """``R · A`` of an impedance resistance as an area-specific resistance.

    Parameters
    ----------
    resistance : float
        R of the cell from impedance, Ω (for a symmetric cell: electrolyte + both interfaces).
    area : float
        Electrode area, m².
    resistance_error : float, optional
        Standard error of R, Ω.

    Returns
    -------
    Value
        ``RA_impedance`` in Ω m².

    Examples
    --------
    >>> str(impedance_asr(436.5, 0.126e-4, 5.0))
    'R·A (EIS) = 55.0 ± 0.6 Ω cm²'
    """
    for name, x in (("resistance", resistance), ("area", area)):
        if not (isinstance(x, (int, float, np.floating)) and math.isfinite(x) and x > 0):
            raise InputError(f"{name} = {x!r}", field=name,
                             expected=f"a positive, finite {name} in SI (Ω, m²)")
    return Value("RA_impedance", float(resistance) * float(area),
                 float(resistance_error) * float(area), "ohm*m^2", "R·A (EIS)")


def compare_with_impedance(
    result: ASRResult,
    resistance: float,
    area: float,
    resistance_error: float = math.nan,
    *,
    tolerance: float = 0.25,
    source: str = "",
) -> ASRResult:
    """Add ``R · A`` of an impedance resistance and the ratio ASR / (R · A) to an ASR result.

    A ``data-quality`` warning says when they differ by more than ``tolerance`` (relative) and
    by more than 2 combined standard errors: the DC polarisation then holds more (or less)
    than the impedance resistance (contact loss, a partial short, a measurement at another time).

    Parameters
    ----------
    result : ASRResult
        From :func:`fit_asr` (or the ASR part of a CCD analysis).
    resistance : float
        Impedance resistance of the same cell, Ω.
    area : float
        Electrode area, m².
    resistance_error : float, optional
        Its standard error, Ω.
    tolerance : float
        Relative difference that is reported.
    source : str
        Where R came from (stored analysis, user), for the message.

    Returns
    -------
    ASRResult
    """
    ra = impedance_asr(resistance, area, resistance_error)
    values = dict(result.values)
    values["RA_impedance"] = ra
    diagnostics = list(result.diagnostics)
    if "ASR" in values:
        asr = values["ASR"]
        ratio = asr.value / ra.value
        e_asr = asr.error if math.isfinite(asr.error) else 0.0
        e_ra = ra.error if math.isfinite(ra.error) else 0.0
        ratio_err = abs(ratio) * math.hypot(e_asr / asr.value if asr.value else 0.0,
                                            e_ra / ra.value)
        values["ASR_ratio"] = Value("ASR_ratio", ratio, ratio_err, "", "ASR / R·A")
        combined = math.hypot(e_asr, e_ra)
        if abs(ratio - 1.0) > tolerance and abs(asr.value - ra.value) > 2.0 * combined:
            diagnostics.append(Diagnostic(
                "data-quality", f"the DC ASR is {ratio:.2f} × R·A of impedance"
                f"{' (' + source + ')' if source else ''} (tolerance ±{100 * tolerance:.0f} %)",
                fields=("ASR", "RA_impedance")))
    settings = {**result.settings, "impedance_resistance": resistance,
                "impedance_area": area, "impedance_source": source,
                "impedance_tolerance": tolerance}
    prov = replace(result.provenance,
                   parameters={**dict(result.provenance.parameters),
                               "impedance_resistance": float(resistance),
                               "impedance_resistance_error": (
                                   None if not math.isfinite(resistance_error)
                                   else float(resistance_error)),
                               "impedance_source": source})
    return replace(result, values=values, diagnostics=tuple(diagnostics), settings=settings,
                   provenance=prov)
