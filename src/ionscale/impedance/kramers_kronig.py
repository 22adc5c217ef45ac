"""Linear Kramers-Kronig test of impedance spectra (Boukamp 1995; Schönleber et al. 2014).

A spectrum that is linear, causal and time-invariant obeys the Kramers-Kronig relations, and
then (and only then) it can be approximated to within its noise by a chain of Voigt elements

.. math::

    \\hat Z(\\omega) = R_0 + \\sum_{k=1}^{M} \\frac{R_k}{1 + j\\omega\\tau_k}
        + j\\omega L + \\frac{1}{j\\omega C},

whose time constants are *fixed*, log-spaced over the measured range ``1/ω_max ... 1/ω_min``
(optionally extended by ``tau_extension`` decades on each side, as Schönleber and Ivers-Tiffée
2015 suggest for arcs that lie partly outside the measured window). The model is linear in
``R_0, R_k, L, 1/C``, so one weighted linear least-squares solve (numpy ``lstsq`` on the
stacked real and imaginary rows) fits it; no starting values, no local minima ("lin-KK").

**Choice of M** (Schönleber's μ criterion). Too few RC elements under-fit; too many over-fit
the noise, which shows up as resistances of alternating sign. With

.. math::  \\mu = 1 - \\frac{\\sum_{R_k<0} |R_k|}{\\sum_{R_k \\ge 0} |R_k|},

M grows until μ first falls below ``c`` (0.85 by default) or reaches ``max_m``. M starts at
``min_m``, by default 3 RC elements per decade of τ plus one: on a coarser grid μ also dips
below ``c`` when the chain merely cannot place a sharp relaxation between its fixed τ (a single
R‖C, noise-free, gives μ < 0.85 at M = 4, 6, 8, 9, 11, 13 and 15 over 7 decades, with
residuals of 68 % down to 3 %), which would stop the search while the fit is still far off. From
a 1/3-decade spacing on, any R‖C is reproduced to ~0.3 % of ``|Z|`` and the dips of μ mean
over-fitting again; ``min_m=1`` restores the original rule.

**Residuals** are in per cent of ``|Z|``:
``Δ' = (Z' − Ẑ')/|Z|·100``, ``Δ'' = (Z'' − Ẑ'')/|Z|·100``. Boukamp's pseudo-χ² is
``χ²_ps = Σ (Δ'² + Δ''²)`` (Δ as fractions), and ``noise = sqrt(χ²_ps / (2N − p))`` (p fitted
parameters) estimates the standard deviation of the noise relative to ``|Z|`` (of each part)
when the spectrum is valid.

**Pass/fail.** Without uncertainties a spectrum passes when every residual lies within
``±threshold`` per cent of ``|Z|`` (default 1 %: the accuracy usually claimed for a good
impedance measurement, below which residuals are read as noise, Schönleber 2014). With
Gaussian noise of σ (per cent of ``|Z|``, each part) the largest of 2N residuals is about
3σ, so the 1 % rule accepts noise up to ~0.3 %; noisier data need a larger ``threshold`` or
their ``sigma``. When the spectrum carries uncertainties ``sigma`` the fit is weighted by
``1/σ`` instead of ``1/|Z|`` and the test is a χ² test instead: the spectrum passes when
``P(χ²_{2N−p} ≥ χ²) ≥ alpha`` (default 0.001).

What fails: drift during the sweep (resistances growing by 3 % over a 7-decade sweep whose low
frequencies, measured last, take most of the time give ~1.4 % residuals at the low-frequency
end), and distortions of one part without the matching change of the other. ``part="real"``
(fit Z' only and predict Z'', Boukamp 1995) is about twice as sensitive to drift as the
complex fit, at the price of more noise in the residuals.

Sign convention: ``Z = Z' + j Z''``, so capacitive arcs have ``Z'' < 0``.

References
----------
B. A. Boukamp, J. Electrochem. Soc. 142 (1995) 1885.
M. Schönleber, D. Klotz, E. Ivers-Tiffée, Electrochim. Acta 131 (2014) 20.
M. Schönleber, E. Ivers-Tiffée, Electrochem. Commun. 58 (2015) 15.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import InputError
from ..results import Provenance, Result, Value, new_axes
from .data import Spectrum

__all__ = ["KKResult", "KKSeries", "kk_series", "kk_time_constants", "kramers_kronig"]

#: Default lower bound of M: this many RC elements per decade of τ (plus one), the spacing
#: (1/3 decade) at which a Voigt chain reproduces even a single RC element to ~0.3 % of |Z|.
RC_PER_DECADE = 3.0


# --------------------------------------------------------------------------- helpers


def _check_spectrum(spectrum, field: str = "spectrum") -> Spectrum:
    if not isinstance(spectrum, Spectrum):
        raise InputError(f"expected a Spectrum, got {type(spectrum).__name__}", field=field,
                         expected="ionscale.impedance.Spectrum (see spectrum_from_arrays)")
    if np.any(spectrum.impedance == 0):
        i = int(np.flatnonzero(spectrum.impedance == 0)[0])
        raise InputError(f"|Z| = 0 at point {i + 1}", file=spectrum.source, field="impedance",
                         expected="non-zero impedances")
    return spectrum


def _files(spectrum: Spectrum) -> list[str]:
    src = spectrum.source
    return [src] if src and os.path.isfile(src) else []


def _real_number(x, field: str, lo: float, hi: float, *, lo_open=True, hi_open=False) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{field} = {x!r} is not a number", field=field,
                         expected=f"a number in {'(' if lo_open else '['}{lo}, {hi}"
                                  f"{')' if hi_open else ']'}") from None
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if isinstance(x, bool) or not ok:
        raise InputError(f"{field} = {x!r}", field=field,
                         expected=f"a number in {'(' if lo_open else '['}{lo}, {hi}"
                                  f"{')' if hi_open else ']'}")
    return v


def _int_arg(x, field: str, lo: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
        raise InputError(f"{field} = {x!r}", field=field, expected=f"an integer >= {lo}")
    return int(x)


def kk_time_constants(frequency: np.ndarray, m: int, tau_extension: float = 0.0) -> np.ndarray:
    """The M fixed time constants of the lin-KK test, s.

    Log-spaced from ``1/ω_max`` to ``1/ω_min`` (ω = 2πf), each end pushed out by
    ``tau_extension`` decades. With M = 1 the single τ sits at the geometric middle.

    Examples
    --------
    >>> kk_time_constants(np.array([1.0, 1e4]) / (2 * np.pi), 5)
    array([1.e-04, 1.e-03, 1.e-02, 1.e-01, 1.e+00])
    """
    w = 2 * np.pi * np.asarray(frequency, float)
    lo = -math.log10(w.max()) - tau_extension
    hi = -math.log10(w.min()) + tau_extension
    if m == 1:
        return np.array([10 ** (0.5 * (lo + hi))])
    return np.logspace(lo, hi, m)


def _design(omega: np.ndarray, tau: np.ndarray, inductance: bool, capacitance: bool):
    """Complex design matrix: columns R0, R_1..R_M, [L], [1/C]."""
    cols = [np.ones_like(omega, dtype=complex)[:, None],
            1.0 / (1.0 + 1j * np.multiply.outer(omega, tau))]
    if inductance:
        cols.append((1j * omega)[:, None])
    if capacitance:
        cols.append((1.0 / (1j * omega))[:, None])
    return np.hstack(cols)


def _lstsq(K: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least squares with column scaling (the L and 1/C columns span many decades)."""
    scale = np.linalg.norm(K, axis=0)
    scale[scale == 0] = 1.0
    return np.linalg.lstsq(K / scale, b, rcond=None)[0] / scale


def _solve(A: np.ndarray, z: np.ndarray, weight: np.ndarray, part: str, m: int) -> np.ndarray:
    """Weighted linear least squares of the Voigt chain; columns R0, R_1..R_M, [L], [1/C].

    ``part="complex"`` fits the stacked real and imaginary rows; ``"real"`` fits Z' with R0 and
    the R_k, then L and 1/C (which have no real part) to the rest of Z''; ``"imag"`` fits Z''
    with the R_k, L and 1/C, then R0 to the rest of Z'.
    """
    wc = weight[:, None]
    if part == "complex":
        K = np.vstack([A.real * wc, A.imag * wc])
        return _lstsq(K, np.concatenate([z.real * weight, z.imag * weight]))
    x = np.zeros(A.shape[1])
    rc = slice(0, 1 + m) if part == "real" else slice(1, A.shape[1])
    rest = slice(1 + m, A.shape[1]) if part == "real" else slice(0, 1)
    first, second = (np.real, np.imag) if part == "real" else (np.imag, np.real)
    x[rc] = _lstsq(first(A[:, rc]) * wc, first(z) * weight)
    if rest.stop > rest.start:
        left = second(z - A[:, rc] @ x[rc])
        x[rest] = _lstsq(second(A[:, rest]) * wc, left * weight)
    return x


def _mu(r: np.ndarray) -> float:
    pos = r[r >= 0].sum()
    neg = -r[r < 0].sum()
    if pos <= 0:
        return -math.inf
    return float(1.0 - neg / pos)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, kw_only=True)
class KKResult(Result):
    """Outcome of a linear Kramers-Kronig test.

    Values: ``M`` (RC elements), ``mu`` (μ at that M), ``pseudo_chi2`` (Boukamp's χ²_ps),
    ``noise`` (estimated noise σ, % of ``|Z|``), ``max_residual`` (largest ``|Δ|``, % of
    ``|Z|``), ``R0`` (ohm), ``L`` (H, if fitted), ``C`` (F, if fitted).

    Attributes
    ----------
    frequency : ndarray
        Hz.
    impedance : ndarray
        Measured Z, ohm.
    model : ndarray
        KK-consistent Voigt-chain Ẑ at the measured frequencies, ohm.
    residual_real, residual_imag : ndarray
        ``(Z' − Ẑ')/|Z|`` and ``(Z'' − Ẑ'')/|Z|`` in per cent.
    tau : ndarray
        Time constants of the RC elements, s.
    resistances : ndarray
        Their fitted resistances, ohm (may be negative).
    mu_history : ndarray
        μ for M = ``min_m``, ``min_m`` + 1, ... as tried (one value when M was given).
    threshold : float
        Residual limit of the pass test, per cent.
    passed : bool
        Whether the spectrum passes (see module notes).
    chi2_p : float
        χ² p-value when the spectrum has ``sigma`` (NaN otherwise).
    """

    frequency: np.ndarray
    impedance: np.ndarray
    model: np.ndarray
    residual_real: np.ndarray
    residual_imag: np.ndarray
    tau: np.ndarray
    resistances: np.ndarray
    mu_history: np.ndarray
    threshold: float
    passed: bool
    chi2_p: float = math.nan

    @property
    def m(self) -> int:
        """Number of RC elements."""
        return int(self.values["M"].value)

    @property
    def mu(self) -> float:
        return float(self.values["mu"].value)

    @property
    def max_residual(self) -> float:
        """Largest ``|Δ'|`` or ``|Δ''|``, per cent of ``|Z|``."""
        return float(self.values["max_residual"].value)

    @property
    def rms_residual(self) -> float:
        """Root-mean-square of all residuals, per cent of ``|Z|``."""
        return float(np.sqrt(np.mean(np.r_[self.residual_real, self.residual_imag] ** 2)))

    def plot(self, ax=None, *, kind: str = "residuals"):
        """Residuals against frequency with the ``±threshold`` band (``kind="residuals"``), or
        the data with the KK-consistent model in the Nyquist plane (``kind="nyquist"``).

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        status = "passed" if self.passed else "FAILED"
        if kind == "nyquist":
            ax.plot(self.impedance.real, -self.impedance.imag, "o", ms=3.5, mfc="none",
                    label="data")
            ax.plot(self.model.real, -self.model.imag, "-", lw=1.2, label=f"lin-KK, M={self.m}")
            ax.set_xlabel("Z′ (Ω)")
            ax.set_ylabel("−Z″ (Ω)")
            ax.set_aspect("equal", adjustable="datalim")
        elif kind == "residuals":
            f = self.frequency
            ax.axhspan(-self.threshold, self.threshold, color="0.9", zorder=0,
                       label=f"±{self.threshold:g} %")
            ax.axhline(0, color="0.5", lw=0.7)
            ax.plot(f, self.residual_real, "o-", ms=3.5, lw=0.8, label="Δ′ (real)")
            ax.plot(f, self.residual_imag, "s-", ms=3.5, lw=0.8, label="Δ″ (imag.)")
            ax.set_xscale("log")
            ax.set_xlabel("frequency (Hz)")
            ax.set_ylabel("residual (% of |Z|)")
            lim = max(1.5 * self.threshold, 1.1 * self.max_residual)
            ax.set_ylim(-lim, lim)
        else:
            raise InputError(f"kind = {kind!r}", field="kind",
                             expected="'residuals' or 'nyquist'")
        ax.legend(fontsize="small", frameon=False)
        ax.set_title(f"lin-KK test: M = {self.m}, μ = {self.mu:.2f}, {status}")
        return ax


# --------------------------------------------------------------------------- the test


def kramers_kronig(
    spectrum: Spectrum,
    *,
    c: float = 0.85,
    max_m: int | None = None,
    min_m: int | None = None,
    m: int | None = None,
    include_capacitance: bool = False,
    include_inductance: bool = True,
    threshold: float = 1.0,
    part: str = "complex",
    alpha: float = 1e-3,
    tau_extension: float = 0.0,
) -> KKResult:
    """Linear Kramers-Kronig test with automatic number of RC elements (lin-KK).

    Parameters
    ----------
    spectrum : Spectrum
        The sweep (Hz, ohm). Its ``sigma`` (ohm), when present, weights the fit and decides the
        pass by a χ² test; otherwise the fit is weighted by ``1/|Z|``.
    c : float
        μ threshold in (0, 1]: M is the first number of RC elements ≥ ``min_m`` with μ < c
        (Schönleber 2014 recommend 0.85).
    max_m : int, optional
        Largest M tried (default: the number of frequencies for ``part="complex"``, half of it
        for a one-part fit, at most 100). M = ``max_m`` when μ never falls below ``c``.
    min_m : int, optional
        Smallest M considered by the μ criterion (default: 3 RC elements per decade of τ plus
        one, see module notes; 1 gives Schönleber's original rule).
    m : int, optional
        Use exactly this M instead of the μ criterion.
    include_capacitance : bool
        Fit a series capacitance (spectra whose ``-Z''`` diverges at low frequency: blocking
        electrodes, diffusion tails).
    include_inductance : bool
        Fit a series inductance (cables, high-frequency tails).
    threshold : float
        Largest accepted ``|Δ|``, per cent of ``|Z|`` (default 1 %).
    part : {"complex", "real", "imag"}
        Fit both parts together (lin-KK, default), or only Z' and predict Z'' from it (the
        stricter test of Boukamp 1995), or only Z''.
    alpha : float
        Significance level of the χ² test (only with ``sigma``).
    tau_extension : float
        Decades by which the τ range ``1/ω_max ... 1/ω_min`` is extended at each end (≥ 0).

    Returns
    -------
    KKResult
        ``M``, ``mu``, ``pseudo_chi2``, ``noise`` and ``max_residual`` (%), the residuals and the
        KK-consistent model; ``.passed``.

    Raises
    ------
    InputError
        Not a Spectrum, a zero impedance, bad options, or too few points for one RC element.

    Examples
    --------
    >>> from ionscale.impedance import spectrum_from_arrays
    >>> f = np.logspace(-1, 6, 71)
    >>> z = 10 + 100 / (1 + 2j * np.pi * f * 1e-3)
    >>> kk = kramers_kronig(spectrum_from_arrays(f, z))
    >>> bool(kk.passed), kk.max_residual < 1.0
    (True, True)
    """
    s = _check_spectrum(spectrum)
    c = _real_number(c, "c", 0.0, 1.0)
    threshold = _real_number(threshold, "threshold", 0.0, math.inf, hi_open=True)
    alpha = _real_number(alpha, "alpha", 0.0, 1.0, hi_open=True)
    tau_extension = _real_number(tau_extension, "tau_extension", 0.0, 10.0, lo_open=False)
    if part not in ("complex", "real", "imag"):
        raise InputError(f"part = {part!r}", field="part",
                         expected="'complex', 'real' or 'imag'")
    ind, cap = bool(include_inductance), bool(include_capacitance)
    n = len(s)
    n_extra = 1 + ind + cap
    # unknowns fitted to one block of rows: keep at least one degree of freedom
    if part == "complex":
        m_limit = 2 * n - n_extra - 1
    elif part == "real":
        m_limit = n - 2
    else:
        m_limit = n - ind - cap - 1
    if m_limit < 1:
        raise InputError(f"{n} points are too few for a Kramers-Kronig test", file=s.source,
                         field="frequency", expected="at least 3 points per fitted part")
    if m is not None:
        m = _int_arg(m, "m", 1)
        if m > m_limit:
            raise InputError(f"m = {m} RC elements for {n} points", field="m",
                             expected=f"at most {m_limit}")
    if max_m is None:
        max_m = min(n if part == "complex" else n // 2, 100, m_limit)
    else:
        max_m = min(_int_arg(max_m, "max_m", 1), m_limit)
    decades = math.log10(s.frequency[-1] / s.frequency[0]) + 2 * tau_extension
    if min_m is None:
        min_m = math.ceil(RC_PER_DECADE * decades) + 1
    else:
        min_m = _int_arg(min_m, "min_m", 1)
    min_m = min(max(min_m, 1), max_m)

    omega = s.omega
    z = s.impedance
    weight = 1.0 / (s.sigma if s.sigma is not None else np.abs(z))

    def fit(mm: int):
        tau = kk_time_constants(s.frequency, mm, tau_extension)
        A = _design(omega, tau, ind, cap)
        return tau, A, _solve(A, z, weight, part, mm)

    mus = []
    if m is None:
        for mm in range(min_m, max_m + 1):
            tau, A, x = fit(mm)
            mus.append(_mu(x[1:1 + mm]))
            if mus[-1] < c:
                break
        m = mm
    else:
        tau, A, x = fit(m)
        mus.append(_mu(x[1:1 + m]))

    model = A @ x
    mod = np.abs(z)
    d_re = (z.real - model.real) / mod
    d_im = (z.imag - model.imag) / mod
    dof = 2 * n - m - n_extra
    chi2_ps = float(np.sum(d_re ** 2 + d_im ** 2))
    noise = math.sqrt(chi2_ps / dof) * 100
    max_res = float(max(np.abs(d_re).max(), np.abs(d_im).max()) * 100)
    chi2_p = math.nan
    if s.sigma is not None:
        res = (z - model) / s.sigma
        chi2_p = float(stats.chi2.sf(float(np.sum(res.real ** 2 + res.imag ** 2)), dof))
        passed = chi2_p >= alpha
    else:
        passed = max_res <= threshold

    values = {
        "M": Value("M", float(m), 0.0, "", "M"),
        "mu": Value("mu", mus[-1], math.nan, "", "μ"),
        "pseudo_chi2": Value("pseudo_chi2", chi2_ps, math.nan, "", "χ²_ps"),
        "noise": Value("noise", noise, math.nan, "%", "σ_est/|Z|"),
        "max_residual": Value("max_residual", max_res, math.nan, "%", "max |Δ|"),
        "R0": Value("R0", float(x[0]), math.nan, "ohm", "R₀"),
    }
    k = 1 + m
    if ind:
        values["L"] = Value("L", float(x[k]), math.nan, "H", "L")
        k += 1
    if cap:
        inv_c = float(x[k])
        values["C"] = Value("C", 1.0 / inv_c if inv_c != 0 else math.inf, math.nan, "F", "C")
    params = {"c": c, "max_m": max_m, "min_m": min_m, "m": m, "include_capacitance": cap,
              "include_inductance": ind, "threshold": threshold, "part": part, "alpha": alpha,
              "tau_extension": tau_extension,
              "weighting": "sigma" if s.sigma is not None else "modulus"}
    return KKResult(
        values=values,
        provenance=Provenance.build("impedance.kramers_kronig", _files(s), params),
        title=f"lin-KK test of {s.label}: {'passed' if passed else 'FAILED'}",
        frequency=s.frequency.copy(),
        impedance=z.copy(),
        model=model,
        residual_real=d_re * 100,
        residual_imag=d_im * 100,
        tau=tau,
        resistances=x[1:1 + m].copy(),
        mu_history=np.asarray(mus),
        threshold=threshold,
        passed=bool(passed),
        chi2_p=chi2_p,
    )


# --------------------------------------------------------------------------- series


@dataclass(frozen=True, kw_only=True)
class KKSeries(Result):
    """lin-KK tests of a series of spectra, with a drift flag.

    Values: ``n_failed``, ``max_residual`` (largest over the series, %), ``trend_rho``
    (Spearman correlation of the rms residual with measurement order).

    Attributes
    ----------
    results : tuple of KKResult
        One test per spectrum, in the order given.
    passed : ndarray of bool
        Per-spectrum pass flags.
    max_residuals, rms_residuals : ndarray
        Per-spectrum largest and rms ``|Δ|``, per cent of ``|Z|``.
    residual_growth : bool
        Whether the residuals grow along the series (see :func:`kk_series`).
    drift : bool
        ``True`` when any spectrum fails or the residuals grow.
    labels : tuple of str
        Spectrum labels.
    threshold : float
        Per cent.
    """

    results: tuple[KKResult, ...]
    passed: np.ndarray
    max_residuals: np.ndarray
    rms_residuals: np.ndarray
    residual_growth: bool
    drift: bool
    labels: tuple[str, ...]
    threshold: float

    def _extra_dict(self):
        d = super()._extra_dict()
        d["results"] = [r.to_dict() for r in self.results]
        return d

    def plot(self, ax=None):
        """Largest and rms residual of each spectrum against its index, failures marked.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        i = np.arange(len(self.results))
        ax.axhspan(0, self.threshold, color="0.9", zorder=0, label=f"≤ {self.threshold:g} %")
        ax.plot(i, self.max_residuals, "o-", ms=4, lw=0.8, label="max |Δ|")
        ax.plot(i, self.rms_residuals, "s--", ms=3.5, lw=0.8, label="rms Δ")
        bad = ~self.passed
        if bad.any():
            ax.plot(i[bad], self.max_residuals[bad], "x", color="C3", ms=9, mew=2,
                    label="failed")
        ax.set_yscale("log")
        ax.set_xlabel("spectrum (measurement order)")
        ax.set_ylabel("KK residual (% of |Z|)")
        ax.legend(fontsize="small", frameon=False)
        ax.set_title("lin-KK over the series: " + ("DRIFT" if self.drift else "no drift"))
        return ax


def kk_series(
    spectra: Sequence[Spectrum],
    *,
    growth: float = 2.0,
    trend_p: float = 0.05,
    **kwargs,
) -> KKSeries:
    """Run :func:`kramers_kronig` on each spectrum of a series and flag drift.

    The series drifts when any spectrum fails, or when the rms residual grows along the series:
    a Spearman rank correlation with measurement order that is positive and significant
    (one-sided p < ``trend_p``, at least 4 spectra) and a last-to-first-quarter ratio above
    ``growth``.

    Parameters
    ----------
    spectra : sequence of Spectrum
        In measurement order.
    growth : float
        Factor by which the rms residual must grow to count as growth (> 1).
    trend_p : float
        Significance level of the trend test.
    **kwargs
        Passed to :func:`kramers_kronig` (``c``, ``threshold``, ...).

    Returns
    -------
    KKSeries

    Examples
    --------
    >>> series = kk_series([s1, s2, s3, s4])  # doctest: +SKIP
    >>> series.drift, series.passed  # doctest: +SKIP
    """
    if isinstance(spectra, (Spectrum, str, bytes)) or not isinstance(spectra, Iterable):
        raise InputError(f"expected a sequence of spectra, got {type(spectra).__name__}",
                         field="spectra", expected="a list of ionscale.impedance.Spectrum")
    spectra = list(spectra)
    if not spectra:
        raise InputError("no spectra", field="spectra",
                         expected="a non-empty list of ionscale.impedance.Spectrum")
    growth = _real_number(growth, "growth", 1.0, math.inf, hi_open=True)
    trend_p = _real_number(trend_p, "trend_p", 0.0, 1.0, hi_open=True)
    for i, sp in enumerate(spectra):
        _check_spectrum(sp, field=f"spectra[{i}]")
    results = tuple(kramers_kronig(sp, **kwargs) for sp in spectra)
    passed = np.array([r.passed for r in results])
    max_r = np.array([r.max_residual for r in results])
    rms = np.array([r.rms_residual for r in results])
    n = len(results)
    rho = math.nan
    grows = False
    if n >= 4:
        res = stats.spearmanr(np.arange(n), rms, alternative="greater")
        rho = float(res.statistic)
        q = max(1, n // 4)
        ratio = np.median(rms[-q:]) / max(np.median(rms[:q]), 1e-300)
        grows = bool(res.pvalue < trend_p and ratio > growth)
    drift = bool(grows or not passed.all())
    threshold = results[0].threshold
    values = {
        "n_failed": Value("n_failed", float((~passed).sum()), 0.0, "", "failed"),
        "max_residual": Value("max_residual", float(max_r.max()), math.nan, "%", "max |Δ|"),
        "trend_rho": Value("trend_rho", rho, math.nan, "", "ρ_trend"),
    }
    files = []
    for sp in spectra:
        for f in _files(sp):
            if f not in files:
                files.append(f)
    return KKSeries(
        values=values,
        provenance=Provenance.build("impedance.kk_series", files,
                                    {**kwargs, "growth": growth, "trend_p": trend_p}),
        title=f"lin-KK over {n} spectra: " + ("drift" if drift else "no drift"),
        results=results,
        passed=passed,
        max_residuals=max_r,
        rms_residuals=rms,
        residual_growth=grows,
        drift=drift,
        labels=tuple(sp.label for sp in spectra),
        threshold=threshold,
    )
