"""Linear Kramers-Kronig test of impedance spectra (Boukamp 1995; Schönleber et al. 2014).

A spectrum that is linear, causal and time-invariant obeys the Kramers-Kronig relations, and
then (and only then) it can be approximated to within its noise by a chain of Voigt elements

.. math::

    \\hat Z(\\omega) = R_0 + \\sum_{k=1}^{M} \\frac{R_k}{1 + j\\omega\\tau_k}
        + j\\omega L + \\frac{1}{j\\omega C},

whose time constants are *fixed*, log-spaced over the measured range ``1/ω_max ... 1/ω_min``.
The model is linear in ``R_0, R_k, L, 1/C``, so one weighted linear least-squares solve (numpy
``lstsq`` on the stacked real and imaginary rows) fits it; no starting values, no local minima
("lin-KK").

**τ range** (``tau_extension``). Arcs that lie partly outside the measured window need RC
elements beyond it (Schönleber and Ivers-Tiffée 2015). ``"auto"`` (default) fits the measured
range first; when the mean-square residual of the highest-frequency decade exceeds twice that of
the middle decades, it also tries 0.5, 1, 1.5 and 2 decades below ``1/ω_max``, and a wider range
replaces the fit kept so far when its μ criterion was met and its noise estimate is more than
10 % lower. Li6PS5Cl between steel at −25 °C (MHz arc cut by the window) fails at 1.16 % in the
measured range and passes at 0.29 % with 1 decade. The long-τ end is never extended
automatically: elements beyond ``1/ω_min`` absorb drift (which piles up there, at the slowest
and last-measured frequencies): allowing it, the detection of a 3 % drift under 0.2 % noise fell
from 100 % to 12 % on two arcs. Give ``tau_extension`` (both ends, or ``(short, long)``) for a
stable sample with a process below the lowest frequency.

**Blocking element** (``include_capacitance``): ``1/(Q (jω)^α)`` with α from the angle of the
low-frequency spike (:func:`spike_alpha`: in the lowest decade ``Z' = R + cot(απ/2)(−Z'')``), or
an ideal capacitor (``capacitance_alpha=1``). A real electrode is a CPE (α = 0.86 on the
Li6PS5Cl cell, 0.54-0.6 on s04147); a capacitor leaves a smooth misfit at the low-frequency end
that the noise-aware verdict reads as drift. Drift scales Z' and Z'' alike and keeps the angle,
so the element cannot absorb it.

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

**Pass/fail.** When the spectrum carries uncertainties ``sigma`` the fit is weighted by
``1/σ`` instead of ``1/|Z|`` and the test is a χ² test: the spectrum passes when
``P(χ²_{2N−p} ≥ χ²) ≥ alpha`` (default 0.001). Without them:

* ``verdict="threshold"``: every residual within ``±threshold`` per cent of ``|Z|`` (default
  1 %: the accuracy usually claimed for a good impedance measurement, Schönleber 2014). It
  fails valid spectra with more than ~0.3 % noise (the largest of 2N residuals is ~3σ) and
  passes drift that stays under the line: a pellet with a blocking electrode whose
  resistances drift 3 % during the sweep under 0.2 % noise passes in 50 of 50 sweeps (median
  largest residual 0.64 %).
* ``verdict="noise"`` (default) judges the residuals against the noise the data show. The fit is
  linear, ``r = L b`` (L from the pseudo-inverse of the design), so white noise e gives
  ``r = L e`` exactly. ``noise_data`` is σ from the first differences of neighbouring residuals,
  ``|Dr|² / tr(LᵀDᵀDL)``, which a smooth misfit hardly reaches; ``structure_p`` is the
  probability that white noise through the same fit leaves residuals as smooth: a ratio
  ``(|Sr|² / tr(LᵀSᵀSL)) / σ_diff²`` (S a running mean over half a decade) at least as large
  as observed, from the eigenvalues of the quadratic form (Lugannani-Rice saddlepoint). A
  spectrum fails when a residual exceeds ``max(threshold, z σ_diff)`` (z the two-sided
  Bonferroni quantile at ``alpha`` over 2N residuals, ~4.5), or when ``structure_p < 0.01`` and
  the largest residual exceeds ``threshold/4`` (smaller structure is the analyser's accuracy,
  not the sample's). A structure must also survive one more RC element (every τ moved by a
  fraction of a step): a chain whose fixed τ miss a sharp R‖C leaves a smooth misfit of its own.
  Over 50 sweeps each, valid spectra (the blocking pellet of ``temperature_series`` and two
  ZARCs, proportional noise 0.2, 0.5 and 1 %) fail in 0-2 % (the threshold rule: 0 %, 100 %,
  100 %), and the 3 % drift is detected in 92 % of the blocking pellets and 100 % of the two-arc
  sweeps. A failure is a ``data-quality`` diagnostic: status ``warning``, not an exception.

What fails: drift during the sweep, and distortions of one part without the matching change of
the other. ``part="real"`` (fit Z' only and predict Z'', Boukamp 1995) is about twice as
sensitive to drift as the complex fit, at the price of more noise in the residuals.

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
from scipy.optimize import brentq

from ..errors import InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .data import Spectrum

__all__ = ["KKResult", "KKSeries", "kk_series", "kk_time_constants", "kramers_kronig",
           "spike_alpha"]

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


def _extension_pair(tau_extension) -> tuple[float, float]:
    if np.ndim(tau_extension) == 0:
        return float(tau_extension), float(tau_extension)
    short, long = (float(v) for v in tau_extension)
    return short, long


def kk_time_constants(frequency: np.ndarray, m: int, tau_extension=0.0) -> np.ndarray:
    """The M fixed time constants of the lin-KK test, s.

    Log-spaced from ``1/ω_max`` to ``1/ω_min`` (ω = 2πf), each end pushed out by
    ``tau_extension`` decades, or by ``(short, long)`` decades below ``1/ω_max`` and above
    ``1/ω_min``. With M = 1 the single τ sits at the geometric middle.

    Examples
    --------
    >>> kk_time_constants(np.array([1.0, 1e4]) / (2 * np.pi), 5)
    array([1.e-04, 1.e-03, 1.e-02, 1.e-01, 1.e+00])
    >>> kk_time_constants(np.array([1.0, 1e4]) / (2 * np.pi), 6, (1.0, 0.0))
    array([1.e-05, 1.e-04, 1.e-03, 1.e-02, 1.e-01, 1.e+00])
    """
    short, long = _extension_pair(tau_extension)
    w = 2 * np.pi * np.asarray(frequency, float)
    lo = -math.log10(w.max()) - short
    hi = -math.log10(w.min()) + long
    if m == 1:
        return np.array([10 ** (0.5 * (lo + hi))])
    return np.logspace(lo, hi, m)


def _design(omega: np.ndarray, tau: np.ndarray, inductance: bool, capacitance: bool,
            capacitance_alpha: float = 1.0):
    """Complex design matrix: columns R0, R_1..R_M, [L], [1/C] (or [1/Q] of a blocking
    ``1/(Q (jω)^α)`` when ``capacitance_alpha`` < 1)."""
    cols = [np.ones_like(omega, dtype=complex)[:, None],
            1.0 / (1.0 + 1j * np.multiply.outer(omega, tau))]
    if inductance:
        cols.append((1j * omega)[:, None])
    if capacitance:
        cols.append((1.0 / (1j * omega) ** capacitance_alpha)[:, None])
    return np.hstack(cols)


def spike_alpha(frequency, impedance) -> float:
    """Exponent α of a blocking electrode ``1/(Q (jω)^α)`` from the angle of its spike.

    In the lowest decade, where the electrode dominates, ``Z' = R + cot(απ/2)·(−Z'')``; the
    slope of Z' against −Z'' gives α. Drift scales Z' and Z'' alike and leaves the angle, so
    a blocking element with this α cannot absorb it. Returns 1 (an ideal capacitor) when
    ``−Z''`` does not rise towards low frequency, and at least 0.5.

    Examples
    --------
    >>> f = np.logspace(-1, 5, 61)
    >>> z = 50 + 1 / (1e-5 * (2j * np.pi * f) ** 0.8)
    >>> round(spike_alpha(f, z), 3)
    0.8
    """
    f = np.asarray(frequency, float)
    z = np.asarray(impedance, complex)
    order = np.argsort(f)
    f, z = f[order], z[order]
    low = np.log10(f) <= math.log10(f[0]) + 1.0
    if low.sum() < 3 or not -z.imag[0] > -z.imag[low][-1] > 0:
        return 1.0
    slope = np.polyfit(-z.imag[low], z.real[low], 1)[0]
    return float(min(max(2 / math.pi * math.atan2(1.0, slope), 0.5), 1.0))


def _lstsq(K: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least squares with column scaling (the L and 1/C columns span many decades)."""
    scale = np.linalg.norm(K, axis=0)
    scale[scale == 0] = 1.0
    x = np.linalg.lstsq(K / scale, b, rcond=None)[0]
    return (x.T / scale).T


def _solve(A: np.ndarray, z: np.ndarray, weight: np.ndarray, part: str, m: int) -> np.ndarray:
    """Weighted linear least squares of the Voigt chain; columns R0, R_1..R_M, [L], [1/C].

    ``part="complex"`` fits the stacked real and imaginary rows; ``"real"`` fits Z' with R0 and
    the R_k, then L and 1/C (which have no real part) to the rest of Z''; ``"imag"`` fits Z''
    with the R_k, L and 1/C, then R0 to the rest of Z'.
    """
    wc = weight[:, None]
    return _solve_weighted(A.real * wc, A.imag * wc, z.real * weight, z.imag * weight, part, m)


def _solve_weighted(Kre, Kim, bre, bim, part: str, m: int) -> np.ndarray:
    """:func:`_solve` on the weighted design (real and imaginary rows) and weighted data; the
    data may have several columns (then so has the answer)."""
    if part == "complex":
        return _lstsq(np.vstack([Kre, Kim]), np.concatenate([bre, bim]))
    x = np.zeros((Kre.shape[1],) + np.shape(bre)[1:])
    rc = slice(0, 1 + m) if part == "real" else slice(1, Kre.shape[1])
    rest = slice(1 + m, Kre.shape[1]) if part == "real" else slice(0, 1)
    (K1, b1), (K2, b2) = ((Kre, bre), (Kim, bim)) if part == "real" else ((Kim, bim), (Kre, bre))
    x[rc] = _lstsq(K1[:, rc], b1)
    if rest.stop > rest.start:
        x[rest] = _lstsq(K2[:, rest], b2 - K2[:, rc] @ x[rc])
    return x


def _residual_operator(A: np.ndarray, weight: np.ndarray, part: str, m: int) -> np.ndarray:
    """The matrix L with ``r = L b``: weighted residuals ``[w(Z'−Ẑ'), w(Z''−Ẑ'')]`` of the fit
    as a linear function of the weighted data ``b = [wZ', wZ'']`` (the fit is linear)."""
    n = A.shape[0]
    wc = weight[:, None]
    Kre, Kim = A.real * wc, A.imag * wc

    def pinv(K):  # with the column scaling of _lstsq
        scale = np.linalg.norm(K, axis=0)
        scale[scale == 0] = 1.0
        return np.linalg.pinv(K / scale) / scale[:, None]

    K = np.vstack([Kre, Kim])
    if part == "complex":
        S = pinv(K)
    else:
        S = np.zeros((A.shape[1], 2 * n))
        rc = slice(0, 1 + m) if part == "real" else slice(1, A.shape[1])
        rest = slice(1 + m, A.shape[1]) if part == "real" else slice(0, 1)
        (K1, r1), (K2, r2) = (((Kre, slice(0, n)), (Kim, slice(n, 2 * n))) if part == "real"
                              else ((Kim, slice(n, 2 * n)), (Kre, slice(0, n))))
        S[rc, r1] = pinv(K1[:, rc])
        if rest.stop > rest.start:
            P2 = pinv(K2[:, rest])
            S[rest, r2] = P2
            S[rest, r1] = -P2 @ K2[:, rc] @ S[rc, r1]
    return np.eye(2 * n) - K @ S


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
    ``noise`` (noise σ estimated from the residual sum, % of ``|Z|``), ``noise_data`` (σ from
    the differences of neighbouring residuals, %), ``structure_p`` (probability of residuals
    this structured from white noise), ``max_residual`` (largest ``|Δ|``, % of ``|Z|``),
    ``tau_ext_short``, ``tau_ext_long`` (decades added below ``1/ω_max`` and above
    ``1/ω_min``), ``R0`` (ohm), ``L`` (H, if fitted), ``C`` (F; an ideal blocking capacitor,
    if fitted and 1/C ≠ 0) or ``Q`` (F s^(α−1)) and ``alpha_C`` (a blocking CPE). A spectrum
    that fails carries a ``data-quality`` diagnostic (status ``warning``).

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
        Residual line of the test, per cent (``threshold`` argument).
    passed : bool
        Whether the spectrum passes (see module notes).
    chi2_p : float
        χ² p-value when the spectrum has ``sigma`` (NaN otherwise).
    limit : float
        Largest residual accepted, per cent: ``threshold``, or more for noisy data under the
        noise-aware verdict.
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
    limit: float = math.nan

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
            band = self.limit if math.isfinite(self.limit) else self.threshold
            ax.axhspan(-band, band, color="0.9", zorder=0, label=f"±{band:.2g} %")
            ax.axhline(0, color="0.5", lw=0.7)
            ax.plot(f, self.residual_real, "o-", ms=3.5, lw=0.8, label="Δ′ (real)")
            ax.plot(f, self.residual_imag, "s-", ms=3.5, lw=0.8, label="Δ″ (imag.)")
            ax.set_xscale("log")
            ax.set_xlabel("frequency (Hz)")
            ax.set_ylabel("residual (% of |Z|)")
            lim = max(1.5 * band, 1.1 * self.max_residual)
            ax.set_ylim(-lim, lim)
        else:
            raise InputError(f"kind = {kind!r}", field="kind",
                             expected="'residuals' or 'nyquist'")
        ax.legend(fontsize="small", frameon=False)
        ext = [float(self.values[k].value) if k in self.values else 0.0
               for k in ("tau_ext_short", "tau_ext_long")]
        ax.set_title(f"lin-KK test: M = {self.m}, μ = {self.mu:.2f}"
                     + (f", τ +{ext[0]:g}/+{ext[1]:g} dec" if any(ext) else "")
                     + f", {status}")
        return ax


# --------------------------------------------------------------------------- the test


def _difference_matrix(n: int) -> np.ndarray:
    """First differences along frequency inside the real and inside the imaginary block."""
    D = np.zeros((2 * (n - 1), 2 * n))
    i = np.arange(n - 1)
    for blk in (0, 1):
        D[blk * (n - 1) + i, blk * n + i] = -1.0
        D[blk * (n - 1) + i, blk * n + i + 1] = 1.0
    return D


def _positive_probability(lam: np.ndarray) -> float:
    """``P(Σ λ_i χ²_1 ≥ 0)`` for independent χ²_1 variables (Lugannani-Rice saddlepoint)."""
    lam = np.asarray(lam, float)
    big = float(np.abs(lam).max()) if lam.size else 0.0
    lam = lam[np.abs(lam) > 1e-12 * big] if big > 0 else lam[:0]
    if lam.size == 0 or np.all(lam > 0):
        return 1.0
    if np.all(lam < 0):
        return 0.0
    mean, var = float(lam.sum()), float(2 * np.sum(lam ** 2))

    def k1(t):
        return float(np.sum(lam / (1 - 2 * t * lam)))

    lo, hi = 0.5 / lam.min(), 0.5 / lam.max()
    span = hi - lo
    try:
        t = brentq(k1, lo + 1e-12 * span, hi - 1e-12 * span, xtol=1e-14 * span)
    except ValueError:
        return float(stats.norm.sf(-mean / math.sqrt(var)))
    kt = -0.5 * float(np.sum(np.log1p(-2 * t * lam)))
    w = math.copysign(math.sqrt(max(-2.0 * kt, 0.0)), t)
    u = t * math.sqrt(float(np.sum(2 * lam ** 2 / (1 - 2 * t * lam) ** 2)))
    if abs(w) < 1e-4 or abs(u) < 1e-8:  # at the mean: the normal approximation is exact enough
        return float(stats.norm.sf(-mean / math.sqrt(var)))
    # X ≥ 0 is the upper tail of X at x = 0; the saddlepoint t < 0 when the mean is positive
    p = stats.norm.sf(w) + stats.norm.pdf(w) * (1.0 / u - 1.0 / w)
    return float(min(max(p, 0.0), 1.0))


def _smoother(frequency: np.ndarray) -> np.ndarray:
    """Running mean over about half a decade (at least 3 points), inside each part."""
    n = frequency.size
    per_decade = (n - 1) / max(math.log10(frequency[-1] / frequency[0]), 1e-12)
    half = max(1, int(round(0.3 * per_decade)))
    S = np.zeros((n, n))
    for i in range(n):
        lo, hi = max(0, i - half), min(n, i + half + 1)
        S[i, lo:hi] = 1.0 / (hi - lo)
    Z = np.zeros_like(S)
    return np.block([[S, Z], [Z, S]])


def _noise_structure(r: np.ndarray, L: np.ndarray, frequency: np.ndarray
                     ) -> tuple[float, float, float]:
    """Noise seen from point to point, residual noise and the structure p-value.

    ``r`` are the weighted residuals, ``L`` the residual operator (``r = L e`` for white noise
    e of variance σ² on the weighted data). Returns ``(σ_diff, σ_res, p)``: σ from the first
    differences of neighbouring residuals ``rᵀQr / tr(LᵀQL)`` (Q = DᵀD), which a smooth misfit
    hardly reaches; σ from the residual sum ``rᵀr / tr(LᵀL)``; and the probability, for white
    noise through the same fit, of residuals at least as smooth: of a ratio
    ``(|Sr|² / tr(LᵀSᵀSL)) / σ_diff²`` at least as large as observed (S a running mean over
    half a decade, which keeps a structure and averages noise away).
    """
    n = r.size // 2
    D = _difference_matrix(n)
    S = _smoother(frequency)
    DL, SL = D @ L, S @ L                      # (matrix products with sparse D and S)
    a, b, c = float(np.sum(L ** 2)), float(np.sum(DL ** 2)), float(np.sum(SL ** 2))
    rr, dr, sr = float(r @ r), D @ r, S @ r
    rq, rp = float(dr @ dr), float(sr @ sr)
    if a <= 0 or b <= 0 or c <= 0:
        return 0.0, 0.0, 1.0
    s_res, s_diff = rr / a, rq / b
    if s_diff <= 0:
        return 0.0, math.sqrt(s_res), (1.0 if rp <= 0 else 0.0)
    ratio = (rp / c) / s_diff
    M = SL.T @ SL / c - (ratio / b) * (DL.T @ DL)
    p = _positive_probability(np.linalg.eigvalsh(0.5 * (M + M.T)))
    return math.sqrt(s_diff), math.sqrt(s_res), p


@dataclass
class _Chain:
    extension: tuple[float, float]   # decades (below 1/ω_max, above 1/ω_min)
    tau: np.ndarray
    A: np.ndarray
    x: np.ndarray
    mus: list
    m: int
    min_m: int
    accepted: bool   # μ fell below c (or M was given)
    noise: float     # sqrt(χ²_ps / dof), fraction of |Z|
    ends: float      # mean-square residual of the top decade over that of the middle


def _end_ratio(frequency, d_re, d_im) -> float:
    """Mean-square residual of the highest-frequency decade over that of the middle decades."""
    lf = np.log10(frequency)
    r2 = d_re ** 2 + d_im ** 2
    low, high = lf <= lf.min() + 1.0, lf >= lf.max() - 1.0
    mid = ~(low | high)
    if mid.sum() < 3 or not high.any():
        return 1.0
    return float(r2[high].mean()) / max(float(r2[mid].mean()), 1e-300)


#: Decades tried beyond each end of the measured τ range when ``tau_extension="auto"``.
AUTO_EXTENSIONS = (0.5, 1.0, 1.5, 2.0)
#: A wider τ range is kept only when it lowers the residual noise by more than this factor.
_EXTENSION_GAIN = 0.9
#: Tried when the top decade's mean-square residual exceeds this multiple of the middle's.
_END_RATIO = 2.0
#: Significance level of the structure test (white noise through the same fit gives p < 0.01 in
#: 1 % of spectra; 3 % drift under 0.2 % noise gives p < 0.01 in ~95 % of sweeps, module notes).
STRUCTURE_ALPHA = 0.01
#: Structured residuals smaller than this fraction of ``threshold`` never fail a spectrum: the
#: accuracy of impedance analysers (systematic errors of ~0.1 %) rather than the sample.
STRUCTURE_FLOOR = 0.25


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
    tau_extension: float | tuple[float, float] | str = "auto",
    verdict: str = "noise",
    capacitance_alpha: float | str = "auto",
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
        Residual line, per cent of ``|Z|`` (default 1 %): the pass limit of
        ``verdict="threshold"``, the smallest limit of ``verdict="noise"``.
    part : {"complex", "real", "imag"}
        Fit both parts together (lin-KK, default), or only Z' and predict Z'' from it (the
        stricter test of Boukamp 1995), or only Z''.
    alpha : float
        Significance level of the χ² test (with ``sigma``) and of the noise-aware tests.
    tau_extension : float, (float, float) or "auto"
        Decades by which the τ range ``1/ω_max ... 1/ω_min`` is extended at each end (≥ 0), or
        ``(short, long)``: below ``1/ω_max`` and above ``1/ω_min``; or ``"auto"`` (default): the
        measured range, extended by 0.5-2 decades below ``1/ω_max`` when the residuals pile up
        at the high-frequency end and a wider chain (μ-accepted) lowers the noise (never above
        ``1/ω_min``, where a chain absorbs drift; module notes).
    verdict : {"noise", "threshold"}
        How a spectrum without ``sigma`` passes: against the noise the data show (default) or
        by the plain rule ``max |Δ| ≤ threshold`` (module notes).
    capacitance_alpha : float or "auto"
        Exponent α of the series blocking element ``1/(Q (jω)^α)`` fitted with
        ``include_capacitance``: 1 for an ideal capacitor, or ``"auto"`` (default): from the
        angle of the low-frequency spike (:func:`spike_alpha`; 1 when there is no spike).

    Returns
    -------
    KKResult
        ``M``, ``mu``, ``pseudo_chi2``, ``noise``, ``noise_data`` and ``max_residual`` (%),
        ``structure_p``, ``tau_ext_short``/``tau_ext_long``, the residuals and the
        KK-consistent model; ``.passed``, and a ``data-quality`` diagnostic when the spectrum fails.

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
    auto = isinstance(tau_extension, str) and tau_extension == "auto"
    if not auto:
        if isinstance(tau_extension, str) or np.ndim(tau_extension) not in (0, 1) or (
                np.ndim(tau_extension) == 1 and len(tau_extension) != 2):
            raise InputError(f"tau_extension = {tau_extension!r}", field="tau_extension",
                             expected="'auto', or decades in [0, 10] (one number or a pair)")
        ext_given = tuple(_real_number(v, "tau_extension", 0.0, 10.0, lo_open=False)
                          for v in np.atleast_1d(np.asarray(tau_extension, dtype=object)))
        tau_extension = ext_given if len(ext_given) == 2 else ext_given * 2
    if isinstance(capacitance_alpha, str) and capacitance_alpha == "auto":
        cap_alpha = spike_alpha(spectrum.frequency, spectrum.impedance)
    else:
        cap_alpha = _real_number(capacitance_alpha, "capacitance_alpha", 0.0, 1.0)
    if part not in ("complex", "real", "imag"):
        raise InputError(f"part = {part!r}", field="part",
                         expected="'complex', 'real' or 'imag'")
    if verdict not in ("noise", "threshold"):
        raise InputError(f"verdict = {verdict!r}", field="verdict",
                         expected="'noise' or 'threshold'")
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
    min_m_given = min_m
    if min_m is not None:
        min_m = _int_arg(min_m, "min_m", 1)

    omega = s.omega
    z = s.impedance
    mod = np.abs(z)
    weight = 1.0 / (s.sigma if s.sigma is not None else mod)

    def chain(ext: tuple[float, float]) -> _Chain:
        decades = math.log10(s.frequency[-1] / s.frequency[0]) + sum(ext)
        lo_m = math.ceil(RC_PER_DECADE * decades) + 1 if min_m_given is None else min_m
        lo_m = min(max(lo_m, 1), max_m)

        def fit(mm: int):
            tau = kk_time_constants(s.frequency, mm, ext)
            A = _design(omega, tau, ind, cap, cap_alpha)
            return tau, A, _solve(A, z, weight, part, mm)

        mus = []
        accepted = m is not None
        if m is None:
            for mm in range(lo_m, max_m + 1):
                tau, A, x = fit(mm)
                mus.append(_mu(x[1:1 + mm]))
                if mus[-1] < c:
                    accepted = True
                    break
        else:
            mm = m
            tau, A, x = fit(mm)
            mus.append(_mu(x[1:1 + mm]))
        model = A @ x
        d_re, d_im = (z.real - model.real) / mod, (z.imag - model.imag) / mod
        dof = max(2 * n - mm - n_extra, 1)
        noise = math.sqrt(float(np.sum(d_re ** 2 + d_im ** 2)) / dof)
        return _Chain(ext, tau, A, x, mus, mm, lo_m, accepted, noise,
                      _end_ratio(s.frequency, d_re, d_im))

    best = chain((0.0, 0.0) if auto else tau_extension)
    if auto and best.ends > _END_RATIO:
        # residuals pile up at the high-frequency end: the spectrum runs past the window
        for ext in AUTO_EXTENSIONS:
            cand = chain((ext, 0.0))
            if cand.accepted and cand.noise < _EXTENSION_GAIN * best.noise:
                best = cand

    tau, A, x, m, mus = best.tau, best.A, best.x, best.m, best.mus
    model = A @ x
    d_re = (z.real - model.real) / mod
    d_im = (z.imag - model.imag) / mod
    dof = 2 * n - m - n_extra
    chi2_ps = float(np.sum(d_re ** 2 + d_im ** 2))
    noise = math.sqrt(chi2_ps / dof) * 100
    max_res = float(max(np.abs(d_re).max(), np.abs(d_im).max()) * 100)

    # noise seen from point to point against the residuals (module notes)
    def structure(A_, x_, m_=None):
        r_w = np.concatenate([(z.real - (A_ @ x_).real) * weight,
                              (z.imag - (A_ @ x_).imag) * weight])
        return _noise_structure(r_w, _residual_operator(A_, weight, part,
                                                          m if m_ is None else m_),
                               s.frequency)

    s_diff, _, p_struct = structure(A, x)
    if s.sigma is None:
        noise_data = 100 * s_diff
    else:  # σ-weighted residuals: back to per cent of |Z| through the typical σ/|Z|
        noise_data = 100 * s_diff * float(np.sqrt(np.mean((s.sigma / mod) ** 2)))
    floor = STRUCTURE_FLOOR * threshold
    if (s.sigma is None and verdict == "noise" and p_struct < STRUCTURE_ALPHA
            and max_res > floor and m < m_limit):
        # a chain whose fixed τ miss a sharp relaxation leaves a smooth misfit of its own:
        # the structure must survive one more element (every τ moved by a fraction of a step)
        tau1 = kk_time_constants(s.frequency, m + 1, best.extension)
        A1 = _design(omega, tau1, ind, cap, cap_alpha)
        x1 = _solve(A1, z, weight, part, m + 1)
        r1 = z - A1 @ x1
        max1 = float(max(np.abs(r1.real / mod).max(), np.abs(r1.imag / mod).max()) * 100)
        p1 = structure(A1, x1, m + 1)[2] if max1 > floor else 1.0
        p_struct = max(p_struct, p1)

    chi2_p = math.nan
    limit = threshold
    reason = ""
    if s.sigma is not None:
        res = (z - model) / s.sigma
        chi2_p = float(stats.chi2.sf(float(np.sum(res.real ** 2 + res.imag ** 2)), dof))
        passed = chi2_p >= alpha
        if not passed:
            reason = (f"the residuals exceed the given uncertainties (χ² p = {chi2_p:.2g} < "
                      f"{alpha:g})")
    elif verdict == "threshold":
        passed = max_res <= threshold
        if not passed:
            reason = f"residuals up to {max_res:.2g} % exceed ±{threshold:g} %"
    else:
        # the largest of 2N Gaussian residuals: Bonferroni bound at alpha, σ from the data
        limit = max(threshold, float(stats.norm.isf(alpha / (4 * n))) * noise_data)
        structured = p_struct < STRUCTURE_ALPHA and max_res > floor
        passed = max_res <= limit and not structured
        if max_res > limit:
            reason = (f"residuals up to {max_res:.2g} % exceed the {limit:.2g} % that noise "
                      f"of {noise_data:.2g} % allows")
        elif structured:
            reason = (f"the residuals (rms {noise:.2g} %) form a smooth structure well above "
                      f"the noise of {noise_data:.2g} % seen from point to point "
                      f"(p = {p_struct:.2g}): drift, non-linearity or a non-causal artefact")

    values = {
        "M": Value("M", float(m), 0.0, "", "M"),
        "mu": Value("mu", mus[-1], math.nan, "", "μ"),
        "pseudo_chi2": Value("pseudo_chi2", chi2_ps, math.nan, "", "χ²_ps"),
        "noise": Value("noise", noise, math.nan, "%", "σ_est/|Z|"),
        "noise_data": Value("noise_data", noise_data, math.nan, "%", "σ_diff/|Z|"),
        "structure_p": Value("structure_p", p_struct, math.nan, "", "p_structure"),
        "max_residual": Value("max_residual", max_res, math.nan, "%", "max |Δ|"),
        "tau_ext_short": Value("tau_ext_short", best.extension[0], 0.0, "", "τ ext. < 1/ω_max"),
        "tau_ext_long": Value("tau_ext_long", best.extension[1], 0.0, "", "τ ext. > 1/ω_min"),
        # lin-KK's R0, L and C are unconstrained parameters of a test chain: any sign
        "R0": Value("R0", float(x[0]), math.nan, "ohm", "R₀", valid=(-math.inf, math.inf)),
    }
    k = 1 + m
    if ind:
        values["L"] = Value("L", float(x[k]), math.nan, "H", "L")
        k += 1
    if cap and float(x[k]) != 0:
        # lin-KK's series element is an unconstrained test parameter: any sign
        if cap_alpha == 1.0:
            values["C"] = Value("C", 1.0 / float(x[k]), math.nan, "F", "C",
                                valid=(-math.inf, math.inf))
        else:
            values["Q"] = Value("Q", 1.0 / float(x[k]), math.nan, "F s^(α-1)", "Q")
    if cap and cap_alpha != 1.0:
        values["alpha_C"] = Value("alpha_C", cap_alpha, math.nan, "", "α_C")
    diagnostics = ()
    if not passed:
        diagnostics = (Diagnostic(
            "data-quality", f"the spectrum fails the Kramers-Kronig test: {reason}; it may "
            "not be linear, causal and stable, and circuit fits to it are doubtful",
            fields=("max_residual",)),)
    params = {"c": c, "max_m": max_m, "min_m": best.min_m, "m": m,
              "include_capacitance": cap, "include_inductance": ind, "threshold": threshold,
              "part": part, "alpha": alpha,
              "tau_extension": "auto" if auto else list(tau_extension),
              "capacitance_alpha": capacitance_alpha if cap else None,
              "verdict": verdict if s.sigma is None else "chi2",
              "weighting": "sigma" if s.sigma is not None else "modulus"}
    return KKResult(
        values=values,
        provenance=Provenance.build("impedance.kramers_kronig", _files(s), params),
        title=f"lin-KK test of {s.label}: {'passed' if passed else 'FAILED'}",
        diagnostics=diagnostics,
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
        limit=limit,
    )


# --------------------------------------------------------------------------- series


@dataclass(frozen=True, kw_only=True)
class KKSeries(Result):
    """lin-KK tests of a series of spectra, with a drift flag.

    Values: ``n_failed``, ``max_residual`` (largest over the series, %), ``trend_rho``
    (Spearman correlation of the rms residual with measurement order; only with 4 spectra or
    more). Failures and growing residuals are ``data-quality`` diagnostics.

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
    }
    if math.isfinite(rho):  # (fewer than 4 spectra, or constant residuals: no trend measured)
        values["trend_rho"] = Value("trend_rho", rho, math.nan, "", "ρ_trend")
    files = []
    for sp in spectra:
        for f in _files(sp):
            if f not in files:
                files.append(f)
    diagnostics = []
    if not passed.all():
        bad = ", ".join(str(i) for i in np.flatnonzero(~passed))
        diagnostics.append(Diagnostic(
            "data-quality", f"{int((~passed).sum())} of {n} spectra fail the Kramers-Kronig test "
            f"(indices {bad})", fields=("n_failed",)))
    if grows:
        diagnostics.append(Diagnostic(
            "data-quality", f"the Kramers-Kronig residuals grow along the series (Spearman ρ = "
            f"{rho:.2f}): the sample drifts", fields=("trend_rho",)))
    return KKSeries(
        values=values,
        provenance=Provenance.build("impedance.kk_series", files,
                                    {**kwargs, "growth": growth, "trend_p": trend_p}),
        title=f"lin-KK over {n} spectra: " + ("drift" if drift else "no drift"),
        diagnostics=tuple(diagnostics),
        results=results,
        passed=passed,
        max_residuals=max_r,
        rms_residuals=rms,
        residual_growth=grows,
        drift=drift,
        labels=tuple(sp.label for sp in spectra),
        threshold=threshold,
    )
