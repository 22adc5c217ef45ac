"""Distribution of relaxation times (DRT) by non-negative Tikhonov regularisation.

Model
-----
.. math::

    Z(\\omega) = R_\\infty + j\\omega L
        + \\frac{1}{j\\omega C}
        + \\int_{-\\infty}^{\\infty} \\frac{\\gamma(\\ln\\tau)}{1 + j\\omega\\tau}\\, d\\ln\\tau,

with **τ = 1/(2πf)** (the time constant of an RC element whose peak frequency is f; some tools
use τ = 1/f, which shifts every τ by 2π) and γ in ohm per unit ln τ, so that the resistance of a
process is the integral of γ over its peak, and the polarisation resistance ``R_pol = ∫γ d ln τ``.
A single R‖C gives a delta of weight R at τ = RC; a ZARC ``R/(1 + (jωτ₀)^α)`` gives
``γ = R/(2π) sin((1−α)π) / (cosh(α ln(τ/τ₀)) − cos((1−α)π))``.

Discretisation
--------------
γ is **piecewise linear** in ln τ (hat functions on a uniform grid of ``n_tau`` nodes, by default
10 per decade from one decade below ``1/(2π f_max)`` to one decade above ``1/(2π f_min)``); the
nodal values are the unknowns and γ ≥ 0 at the nodes makes γ ≥ 0 everywhere. The matrix entries
``∫ φ_m(x) / (1 + jω e^x) dx`` are computed by 4-point Gauss-Legendre quadrature on each grid
interval (exact to ~1e-7 for 10 nodes per decade).

Regularisation
--------------
The DRT minimises

.. math::

    \\sum_n w_n^2 |Z_n - \\hat Z_n|^2
        + \\lambda \\int v(\\ln\\tau) \\left(\\frac{d^k\\gamma}{d(\\ln\\tau)^k}\\right)^2
          d\\ln\\tau \\Big/ Z_s^2

subject to γ ≥ 0, R_∞ ≥ 0, L ≥ 0, 1/C ≥ 0 (series L and C only when asked for), with
``Z_s = max |Z|`` (so λ is dimensionless), k = ``derivative_order`` (0: ridge, 1: first
derivative, 2: curvature (default)); the penalty treats γ as zero just beyond both ends of the
grid. R_∞, L and 1/C are not penalised.

* **Weights** ``w = 1/σ`` when the spectrum has ``sigma``. Otherwise ``1/|Z|``, refined
  (``noise_weighting``) by the noise each region shows: a first fit's residuals, differenced
  between neighbours and averaged over ±½ decade, give a relative noise factor (kept above
  1/5 of the median) that divides the weight. Real analysers are several times noisier near
  1 MHz; with equal weights GCV fitted that noise: on s04147 at 140 °C the bulk arc came out as
  three peaks.
* **Penalty weight** ``v(τ) = (Z_s/ζ(τ))²`` (``relative_penalty``), ζ(τ) = ``|Z|`` at
  ``f = 1/(2πτ)`` smoothed over ±1 decade: the curvature of γ is penalised relative to the
  impedance where it lies. With one absolute penalty, an electrolyte arc of 1 kΩ beside a
  blocking electrode of 10 MΩ (Li6PS5Cl at −25 °C) was not regularised at all: γ alternated
  between 0 and spikes.
* **Beyond the lowest frequency** (``free_outside``, without a series capacitance) v is 1000
  times smaller: the pile-up of a blocking electrode (an infinite τ) there costs little, so that
  it no longer sets λ for the sample (on s04147 at 140 °C λ with and without ``capacitance``
  differed 300-fold; now within 1.2-fold).
* Blocking element (``capacitance``): ``1/(Q (jω)^α)`` with ``capacitance_alpha`` = α (1: an
  ideal capacitor, the default; "auto": α from the angle of the spike,
  :func:`~ionscale.impedance.kramers_kronig.spike_alpha`).

Choice of λ (when not given): the Tikhonov problem *without* the sign constraint is brought to
standard form (the series terms projected out, ``y = Pγ``) and decomposed once by SVD, after which
each λ costs O(n): 301 values are scanned. One NNLS (scipy ``nnls`` on the augmented system
``[K; √λ P] x = [b; 0]``) at the chosen λ then gives the non-negative DRT.

* ``method="gcv"`` (default): generalised cross-validation
  ``V(λ) = ‖r_λ‖² / (m − p − Σ f_i)²`` (m data rows, p unpenalised unknowns, f_i the filter
  factors) with the *one-standard-error rule*: the largest λ whose V is within a factor
  ``1 + sqrt(2/ν)`` (ν = residual degrees of freedom, the relative sampling error of V) of the
  minimum. The GCV curve of DRT problems is flat on its small-λ side and its minimum
  under-smooths: on synthetic two- and three-arc spectra with 1 % noise (20 noise draws
  each) the plain minimum gave spurious satellite peaks (ringing beside sharp arcs) in 1-2
  of 20 draws and worst-case errors of peak τ or R of 16 % and 79 %, the rule none and 5 %
  and 22 %.
* ``method="gcv-min"``: the plain GCV minimum.
* ``method="lcurve"``: the corner of the L-curve, the maximum curvature of
  ``(ln‖r_λ‖, ln‖Pγ_λ‖)`` against ln λ, searched among the fits whose residual is below
  0.1 % of the weighted data norm (the far end of the curve has a second, meaningless corner).

Uncertainty
-----------
``gamma_sd`` is the standard deviation of γ from the regularised posterior covariance
``σ² (KᵀK + λ PᵀP)⁻¹`` (the Gaussian posterior of the unconstrained problem, σ² from the
residuals and the effective number of parameters), and ``gamma_low``/``gamma_high`` the 95 %
band ``γ ± 1.96 sd`` (at least 0). It is evaluated at the GCV minimum (not below λ/30) rather
than at the one-standard-error λ, whose extra smoothing flattens peaks more than its own
posterior admits: on two ZARCs with 0.2-1 % noise the band then covers the true γ at 86-94 % of
the grid nodes inside the data range (66-71 % at the rule's λ).

Peaks
-----
Local maxima of γ (:func:`scipy.signal.find_peaks`), judged **each in its own region**: inside
the τ range of the data a peak counts when its height is at least 15 % of ζ(τ) at its own τ
(a process of the size of the spectrum there: the 1.3 kΩ electrolyte arc of Li6PS5Cl beside a
10 MΩ electrode counts) and its prominence at least ``prominence`` (2 %) of its own height; a
peak beyond the data (an extrapolation) only when its prominence is 10 % of the largest γ
inside, its side holds 10 % of the γ inside and its dip is half a posterior standard deviation.
Each peak's ``significance`` is its prominence in posterior standard deviations of the dip
(informative: the bulk shoulder of s04147 is a real arc of a circuit fit, yet its dip is below
one standard deviation). Each peak's region runs between the minima of γ separating it from its
neighbours, and for the outer ones to the ends of the grid, unless γ rises again beyond their
lowest point by a tenth of their height (the unresolved tail of an electrode): that part is
``R_rest``, so that ``Σ R_i + R_rest = R_pol``.

References
----------
T. H. Wan, M. Saccoccio, C. Chen, F. Ciucci, Electrochim. Acta 184 (2015) 483.
M. Saccoccio, T. H. Wan, C. Chen, F. Ciucci, Electrochim. Acta 147 (2014) 470.
G. H. Golub, M. Heath, G. Wahba, Technometrics 21 (1979) 215 (GCV).
P. C. Hansen, SIAM Rev. 34 (1992) 561 (L-curve).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import nnls
from scipy.signal import find_peaks

from ..errors import FitError, InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .data import Spectrum
from .kramers_kronig import spike_alpha

__all__ = ["DRTPeak", "DRTResult", "compute_drt", "drt_matrix", "zarc_drt"]

#: Nodes per decade of τ of the default grid.
POINTS_PER_DECADE = 10
#: Half-width of the uncertainty band in posterior standard deviations (95 %).
BAND_Z = 1.96
#: Smallest peak height, as a fraction of |Z| at the peak's own frequency 1/(2πτ).
PEAK_HEIGHT = 0.15
#: Peaks beyond the τ range of the data count when their prominence is at least this fraction
#: of the largest γ inside it (a blocking electrode's pile-up, not the ringing of an end).
OUTSIDE_PROMINENCE = 0.1
#: ... and when their dip is at least this many posterior standard deviations.
OUTSIDE_SIGNIFICANCE = 0.5
#: Relative noise below which a spectrum counts as exact (no noise weighting).
NOISE_FLOOR = 1e-4
#: Weight of the smoothness penalty beyond the τ range of the data (relative to inside).
OUTSIDE_PENALTY = 1e-3
#: Gauss-Legendre nodes per grid interval for the matrix entries.
_QUAD_NODES = 4
TAU_CONVENTION = "tau = 1/(2 pi f)"


# --------------------------------------------------------------------------- analytic helpers


def zarc_drt(tau, r: float, tau0: float, alpha: float) -> np.ndarray:
    """Analytic DRT of a ZARC ``Z = r / (1 + (jωτ₀)^α)``, ohm per unit ln τ.

    Parameters
    ----------
    tau : array_like
        s.
    r : float
        Resistance of the arc, ohm.
    tau0 : float
        Characteristic time constant, s.
    alpha : float
        CPE exponent, 0 < α < 1 (α → 1 tends to a delta of weight r at τ₀).

    Examples
    --------
    >>> x = np.linspace(-30, 30, 20001)
    >>> g = zarc_drt(np.exp(x), 100.0, 1.0, 0.8)
    >>> round(float(np.trapezoid(g, x)), 3)
    100.0
    """
    t = np.asarray(tau, float)
    a = float(alpha)
    return r / (2 * np.pi) * np.sin((1 - a) * np.pi) / (
        np.cosh(a * np.log(t / tau0)) - np.cos((1 - a) * np.pi))


@lru_cache(maxsize=16)
def _matrix_cached(fbytes: bytes, x0: float, x1: float, n_tau: int) -> np.ndarray:
    omega = 2 * np.pi * np.frombuffer(fbytes, dtype=float)
    x = np.linspace(x0, x1, n_tau)
    dx = x[1] - x[0]
    t, w = np.polynomial.legendre.leggauss(_QUAD_NODES)
    t = 0.5 * (t + 1.0)
    w = 0.5 * w
    xq = x[:-1, None] + dx * t[None, :]                      # (M-1, q)
    kern = 1.0 / (1.0 + 1j * omega[:, None, None] * np.exp(xq)[None])  # (N, M-1, q)
    left = dx * kern @ (w * (1.0 - t))                         # weight of node k
    right = dx * kern @ (w * t)                                # weight of node k+1
    A = np.zeros((omega.size, n_tau), complex)
    A[:, :-1] += left
    A[:, 1:] += right
    A.setflags(write=False)
    return A


def drt_matrix(frequency, tau) -> np.ndarray:
    """Complex matrix mapping nodal γ (ohm) on a uniform ln τ grid to Z (ohm).

    ``Z_n = Σ_m A[n, m] γ_m`` for a piecewise-linear γ(ln τ) with the given nodes.

    Parameters
    ----------
    frequency : array_like
        Hz.
    tau : array_like
        s, log-uniform and increasing (at least 2 nodes).

    Examples
    --------
    >>> tau = np.logspace(-8, 2, 101)
    >>> A = drt_matrix([1.0], tau)   # γ = 1 ohm from 1e-8 s to 100 s, seen at 1 Hz:
    >>> z = A.sum(axis=1)[0]         # Z' ≈ ln(1/(2π·1 Hz·1e-8 s)), Z'' ≈ -π/2
    >>> round(float(z.real), 2), round(float(z.imag), 2)
    (16.58, -1.57)
    """
    f = np.ascontiguousarray(np.asarray(frequency, float).ravel())
    x = np.log(np.asarray(tau, float).ravel())
    return _matrix_cached(f.tobytes(), float(x[0]), float(x[-1]), int(x.size))


def _penalty(n: int, order: int, dx: float, weight=None) -> np.ndarray:
    """Square upper-triangular R with ``‖R γ‖² = ∫ w (d^kγ/dx^k)² dx`` (finite differences).

    The differences treat γ as zero beyond both ends of the grid (``order`` virtual zeros on
    each side), and the rectangular difference matrix is reduced to a square one by QR.
    ``weight`` (one per node, default 1) weights each difference by the node at its centre.
    """
    w = np.ones(n) if weight is None else np.asarray(weight, float)
    if order == 0:
        return np.diag(np.sqrt(w)) * math.sqrt(dx)
    stencil = np.array([-1.0, 1.0]) if order == 1 else np.array([1.0, -2.0, 1.0])
    D = np.zeros((n + order, n))
    for j, c in enumerate(stencil):
        D[np.arange(n) + order - j, np.arange(n)] = c
    centre = np.clip(np.arange(n + order) - order // 2 - (order % 2), 0, n - 1)
    D *= (math.sqrt(dx) / dx ** order) * np.sqrt(w[centre])[:, None]
    return np.linalg.qr(D, mode="r")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DRTPeak:
    """One peak of a DRT.

    Attributes
    ----------
    tau : float
        Position, s (parabolic interpolation of γ in ln τ).
    frequency : float
        Characteristic frequency ``1/(2πτ)``, Hz.
    resistance : float
        ∫ γ d ln τ over the peak's region, ohm.
    gamma : float
        Height, ohm.
    tau_low, tau_high : float
        Bounds of the region integrated, s.
    outside_range : bool
        The peak lies outside the τ range the data cover, ``1/(2π f_max) ... 1/(2π f_min)``:
        an extrapolation (a process beyond the measured window, e.g. the capacitive tail of a
        blocking electrode), whose τ and resistance are not reliable.
    significance : float
        Prominence in posterior standard deviations of the dip (γ at the peak minus γ at its
        higher neighbouring minimum); below ~2 the peak is a shape the data allow rather than
        one they demand (inf when not estimated).
    """

    tau: float
    frequency: float
    resistance: float
    gamma: float
    tau_low: float
    tau_high: float
    outside_range: bool = False
    significance: float = math.inf

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class DRTResult(Result):
    """A distribution of relaxation times (τ = 1/(2πf)).

    Values: ``lambda`` (regularisation parameter), ``R_inf`` (ohm), ``L`` (H) and ``C`` (F, or
    ``Q_C`` in F s^(α−1) for a blocking CPE) if fitted, ``R_pol`` (∫γ d ln τ, ohm), ``R_rest``
    (the part of R_pol in no peak's region, ohm), ``n_peaks``, and for each peak i (1 = smallest
    τ) ``tau_i`` (s), ``f_i`` (Hz) and ``R_i`` (ohm). Errors are not estimated (NaN); γ has a
    95 % band. A series capacitance the data cannot measure is an ``unmeasurable``
    diagnostic.

    Attributes
    ----------
    tau : ndarray
        Grid, s.
    gamma : ndarray
        γ at the nodes, ohm per unit ln τ.
    frequency, impedance : ndarray
        The data (Hz, ohm).
    model : ndarray
        Reconstructed Z, ohm.
    residual_real, residual_imag : ndarray
        ``(Z − Ẑ)/|Z|`` real and imaginary, per cent.
    peaks : tuple of DRTPeak
        In increasing τ.
    lambda_grid, criterion : ndarray
        λ values searched and the GCV function or L-curve curvature on them (empty when λ was
        given).
    gamma_sd : ndarray
        Posterior standard deviation of γ at the nodes, ohm (module notes); ``gamma_low`` and
        ``gamma_high`` are the 95 % band.
    """

    tau: np.ndarray
    gamma: np.ndarray
    frequency: np.ndarray
    impedance: np.ndarray
    model: np.ndarray
    residual_real: np.ndarray
    residual_imag: np.ndarray
    peaks: tuple[DRTPeak, ...]
    lambda_grid: np.ndarray
    criterion: np.ndarray
    gamma_sd: np.ndarray | None = None

    @property
    def gamma_low(self) -> np.ndarray:
        """Lower edge of the 95 % band of γ (``γ − 1.96 sd``, at least 0), ohm."""
        sd = self.gamma_sd if self.gamma_sd is not None else np.zeros_like(self.gamma)
        return np.maximum(self.gamma - BAND_Z * sd, 0.0)

    @property
    def gamma_high(self) -> np.ndarray:
        """Upper edge of the 95 % band of γ (``γ + 1.96 sd``), ohm."""
        sd = self.gamma_sd if self.gamma_sd is not None else np.zeros_like(self.gamma)
        return self.gamma + BAND_Z * sd

    @property
    def lambda_(self) -> float:
        return float(self.values["lambda"].value)

    @property
    def R_inf(self) -> float:
        return float(self.values["R_inf"].value)

    @property
    def R_pol(self) -> float:
        return float(self.values["R_pol"].value)

    @property
    def L(self) -> float:
        return float(self.values["L"].value) if "L" in self.values else 0.0

    def peak_table(self) -> dict[str, np.ndarray]:
        """Peaks as columns: ``tau`` (s), ``frequency`` (Hz), ``resistance`` (ohm), ``gamma``
        (ohm), ``outside_range``."""
        cols = ("tau", "frequency", "resistance", "gamma", "outside_range")
        return {c: np.array([getattr(p, c) for p in self.peaks]) for c in cols}

    def plot(self, ax=None, *, kind: str = "drt"):
        """γ against τ with its 95 % band and the peaks marked (``kind="drt"``), or the data
        and the DRT's reconstruction in the Nyquist plane (``kind="nyquist"``).

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        if kind == "drt":
            lo, hi = 1 / (2 * np.pi * self.frequency.max()), 1 / (2 * np.pi * self.frequency.min())
            ax.axvspan(self.tau[0], lo, color="0.92", lw=0, zorder=0)
            ax.axvspan(hi, self.tau[-1], color="0.92", lw=0, zorder=0,
                       label="beyond the data")
            if self.gamma_sd is not None:
                ax.fill_between(self.tau, self.gamma_low, self.gamma_high, color="C0",
                                alpha=0.25, lw=0, label="95 % band (posterior)")
            ax.plot(self.tau, self.gamma, "-", color="C0", lw=1.5, label="γ")
            for i, p in enumerate(self.peaks, 1):
                ax.plot([p.tau], [p.gamma], "v", color="C3", ms=6,
                        mfc="none" if p.outside_range else "C3")
                ax.annotate(f"{i}: {p.resistance:.3g} Ω", (p.tau, p.gamma),
                            textcoords="offset points", xytext=(0, 6), ha="center",
                            fontsize="small")
            ax.set_xscale("log")
            ax.set_xlim(self.tau[0], self.tau[-1])
            ax.set_xlabel("τ = 1/(2πf) (s)")
            ax.set_ylabel("γ (Ω)")
            inside = (self.tau >= lo) & (self.tau <= hi)
            top_g = self.gamma_high if self.gamma_sd is not None else self.gamma
            ymax = max(float(top_g[inside].max() if inside.any() else top_g.max()),
                       float(self.gamma.max()), 1e-300)
            ax.set_ylim(0, 1.12 * ymax)
            ax.legend(fontsize="small", frameon=False, loc="upper right")
            top = ax.secondary_xaxis("top", functions=(_tau_to_f, _tau_to_f))
            top.set_xlabel("f (Hz)")
            ax.text(0.02, 0.97, f"λ = {self.lambda_:.2g}\nR∞ = {self.R_inf:.3g} Ω\n"
                    f"R_pol = {self.R_pol:.3g} Ω", transform=ax.transAxes, va="top",
                    fontsize="small")
        elif kind == "nyquist":
            ax.plot(self.impedance.real, -self.impedance.imag, "o", ms=3.5, mfc="none",
                    label="data")
            ax.plot(self.model.real, -self.model.imag, "-", lw=1.2, label="DRT reconstruction")
            ax.set_xlabel("Z′ (Ω)")
            ax.set_ylabel("−Z″ (Ω)")
            ax.set_aspect("equal", adjustable="datalim")
            ax.legend(fontsize="small", frameon=False)
        else:
            raise InputError(f"kind = {kind!r}", field="kind", expected="'drt' or 'nyquist'")
        return ax


def _tau_to_f(x):
    x = np.asarray(x, float)
    with np.errstate(divide="ignore"):
        return 1.0 / (2 * np.pi * np.where(x > 0, x, np.nan))


# --------------------------------------------------------------------------- λ selection


def _standard_form(K_g, K_0, b, P):
    """SVD quantities of the unconstrained problem with the series terms projected out."""
    if K_0.shape[1]:
        Q, _ = np.linalg.qr(K_0)
        K_g = K_g - Q @ (Q.T @ K_g)
        b = b - Q @ (Q.T @ b)
    # K_g P⁻¹. numpy's LAPACK, not scipy's: the wheels bundle separate OpenBLAS copies whose
    # thread pools stall each other when their calls alternate (50x slower on 16 cores)
    A_bar = np.linalg.solve(P.T, K_g.T).T
    U, s, _ = np.linalg.svd(A_bar, full_matrices=False)
    beta = U.T @ b
    rest = max(float(b @ b - beta @ beta), 0.0)
    return s, beta, rest


def _curves(lam, s, beta, rest):
    """Residual norm², penalty norm² and Σ filter factors for each λ."""
    s2 = s ** 2
    f = s2[None, :] / (s2[None, :] + lam[:, None])
    res = rest + np.sum(((1 - f) * beta[None, :]) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(s > 0, beta / np.where(s > 0, s, 1.0), 0.0)
    pen = np.sum((f * coef[None, :]) ** 2, axis=1)
    return res, pen, f.sum(axis=1)


#: λ grid searched, relative to the largest squared singular value of the standard form.
_LAMBDA_GRID = np.logspace(-14, 1, 301)
#: The L-curve corner is searched where the residual is below this fraction of the data norm.
_LCURVE_MAX_RESIDUAL = 1e-3


def _choose_lambda(method, s, beta, rest, n_rows, n_free):
    """λ by GCV (one-standard-error rule, or the plain minimum) or by the L-curve corner."""
    smax2 = float(s[0] ** 2) if s.size and s[0] > 0 else 1.0
    grid = smax2 * _LAMBDA_GRID
    res, pen, trace = _curves(grid, s, beta, rest)
    if method in ("gcv", "gcv-min"):
        dof = np.maximum(n_rows - n_free - trace, 1e-12)
        crit = res / dof ** 2
        i = int(np.argmin(crit))
        if method == "gcv-min":
            return float(grid[i]), grid, crit
        # the largest λ whose score is within one standard error of the minimum
        ok = np.flatnonzero(crit <= crit[i] * (1.0 + math.sqrt(2.0 / dof[i])))
        return float(grid[ok.max()]), grid, crit
    # L-curve: maximum curvature of (ln ρ, ln η) against ln λ, among fits that explain the data
    xr = 0.5 * np.log(np.maximum(res, 1e-300))
    yr = 0.5 * np.log(np.maximum(pen, 1e-300))
    t = np.log(grid)
    dx, dy = np.gradient(xr, t), np.gradient(yr, t)
    ddx, ddy = np.gradient(dx, t), np.gradient(dy, t)
    kappa = (dx * ddy - ddx * dy) / np.maximum((dx ** 2 + dy ** 2) ** 1.5, 1e-300)
    total = rest + float(beta @ beta)
    kappa[res > _LCURVE_MAX_RESIDUAL * total] = -np.inf
    kappa[:2] = kappa[-2:] = -np.inf
    if not np.isfinite(kappa).any():
        return float(grid[0]), grid, kappa
    i = int(np.argmax(kappa))
    return float(grid[i]), grid, kappa


# --------------------------------------------------------------------------- noise, uncertainty


def _impedance_scale(frequency, modulus, tau, half_width: float = 1.0) -> np.ndarray:
    """ζ(τ): |Z| at f = 1/(2πτ), smoothed over ``±half_width`` decades (log-log), constant
    beyond the data. The penalty acts on γ/ζ, so that a small arc next to a large one (an
    electrolyte beside a blocking electrode) is smoothed as much, relatively, as the large one.
    """
    lf = np.log10(frequency)
    lz = np.log10(modulus)
    smooth = np.array([lz[np.abs(lf - v) <= half_width].mean() for v in lf])
    ft = np.log10(1.0 / (2 * np.pi * np.asarray(tau)))
    return 10 ** np.interp(ft, lf, smooth)


def _local_noise(frequency, r_re, r_im, half_width: float = 0.5, floor: float = 0.2):
    """Relative noise at each frequency, from the differences of neighbouring residuals.

    ``(Δr)²/2`` of both parts, averaged over ``±half_width`` decades, divided by its median
    (so the result is a factor around 1) and kept above ``floor`` (no point is trusted more
    than 5 times the typical one). None when the residuals are below 0.01 % of |Z| (exact
    data: nothing to weight by).
    """
    lf = np.log10(frequency)
    mid = 0.5 * (lf[1:] + lf[:-1])
    d2 = 0.5 * (np.diff(r_re) ** 2 + np.diff(r_im) ** 2) / 2
    sig = np.empty(lf.size)
    for i, v in enumerate(lf):
        near = np.abs(mid - v) <= half_width
        sig[i] = math.sqrt(float(d2[near].mean())) if near.any() else math.nan
    good = np.isfinite(sig) & (sig > 0)
    if not good.any() or np.median(sig[good]) < NOISE_FLOOR:
        return None
    sig[~good] = np.median(sig[good])
    sig = sig / np.median(sig)
    return np.maximum(sig, floor)


def _posterior_cov(K_g, K_0, resid, lam, P):
    """Covariance of g = γ/ζ from the regularised posterior ``σ² (KᵀK + λ PᵀP)⁻¹`` (series
    terms included and then dropped), σ² from the residuals and the effective number of
    parameters (the trace of the influence matrix)."""
    n = K_g.shape[1]
    K = np.hstack([K_g, K_0])
    H = K.T @ K
    H[:n, :n] += lam * (P.T @ P)
    try:
        Hinv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        Hinv = np.linalg.pinv(H)
    edf = float(np.sum((K @ Hinv) * K))
    sigma2 = float(resid @ resid) / max(K.shape[0] - edf, 1.0)
    cov = Hinv[:n, :n] * sigma2
    return 0.5 * (cov + cov.T)


# --------------------------------------------------------------------------- peaks


def _find_peaks(x: np.ndarray, gamma: np.ndarray, prominence: float,
                covered: tuple[float, float], scale: np.ndarray, height: float,
                cov: np.ndarray | None = None) -> tuple[DRTPeak, ...]:
    # every local maximum that stands `height` of the impedance scale ζ(τ) at its own τ (a
    # process the size of the spectrum there, wherever it lies: an electrolyte arc of 1 kΩ
    # beside a blocking electrode of 10 MΩ counts as much as the electrode) and rises at least
    # `prominence` of its own height above the dip towards its higher neighbour
    n = gamma.size
    if n == 0 or gamma.max() <= 0:
        return ()
    t = np.exp(x)
    in_range = (t >= covered[0]) & (t <= covered[1])
    g_in = float(gamma[in_range].max()) if in_range.any() else float(gamma.max())
    mass_in = float(np.trapezoid(np.where(in_range, gamma, 0.0), x))
    mass_out = [float(np.trapezoid(np.where(t < covered[0], gamma, 0.0), x)),
                float(np.trapezoid(np.where(t > covered[1], gamma, 0.0), x))]
    padded = np.concatenate([[0.0], gamma, [0.0]])
    cand, props = find_peaks(padded, prominence=0.0)
    keep, signif = [], {}

    def signif_of(i, prom, lb, rb):  # the dip in standard deviations of the posterior
        if cov is None:
            return math.inf
        col = lb if (0 <= lb < n and (not 0 <= rb < n or gamma[lb] >= gamma[rb])) else rb
        var = cov[i, i]
        if 0 <= col < n and in_range[col]:  # (beyond the data γ is barely determined)
            var = cov[i, i] + cov[col, col] - 2 * cov[i, col]
        return prom / math.sqrt(var) if var > 0 else math.inf

    for i, prom, lb, rb in zip(cand - 1, props["prominences"], props["left_bases"] - 1,
                               props["right_bases"] - 1, strict=True):
        if prom <= 0 or prom < prominence * gamma[i]:
            continue
        if covered[0] <= math.exp(x[i]) <= covered[1]:
            if gamma[i] < height * scale[i]:
                continue
        elif (prom < OUTSIDE_PROMINENCE * g_in
              or mass_out[int(t[i] > covered[1])] < OUTSIDE_PROMINENCE * mass_in
              or signif_of(i, prom, lb, rb) < OUTSIDE_SIGNIFICANCE):
            continue  # an extrapolation: only a large one (a blocking pile-up, not ringing)
        keep.append(i)
        signif[i] = signif_of(i, prom, lb, rb)
    idx = np.asarray(keep, dtype=int)
    if idx.size == 0:
        return ()
    # region boundaries: the minimum of γ between neighbouring peaks
    # the outer ones run to the ends of the grid, unless γ rises again beyond their lowest
    # point by a tenth of their height (the unresolved tail of an electrode belongs to no peak)
    first, last = int(idx[0]), int(idx[-1])
    lo = int(np.flatnonzero(gamma[:first + 1] == gamma[:first + 1].min())[-1])
    if gamma[:lo + 1].max() - gamma[lo] < 0.1 * gamma[first]:
        lo = 0
    hi = int(last + np.argmin(gamma[last:]))
    if gamma[hi:].max() - gamma[hi] < 0.1 * gamma[last]:
        hi = gamma.size - 1
    bounds = [lo]
    for a, b in zip(idx[:-1], idx[1:], strict=True):
        bounds.append(int(a + np.argmin(gamma[a:b + 1])))
    bounds.append(hi)
    peaks = []
    n = gamma.size
    for k, i in enumerate(idx):
        lo, hi = bounds[k], bounds[k + 1]
        r = float(np.trapezoid(gamma[lo:hi + 1], x[lo:hi + 1])) if hi > lo else 0.0
        xp = x[i]
        if 0 < i < n - 1:
            y0, y1, y2 = gamma[i - 1], gamma[i], gamma[i + 1]
            den = y0 - 2 * y1 + y2
            if den < 0:
                xp = x[i] + 0.5 * (y0 - y2) / den * (x[1] - x[0])
        tau = math.exp(xp)
        peaks.append(DRTPeak(tau=tau, frequency=1 / (2 * math.pi * tau), resistance=r,
                             gamma=float(gamma[i]), tau_low=math.exp(x[lo]),
                             tau_high=math.exp(x[hi]),
                             outside_range=not covered[0] <= tau <= covered[1],
                             significance=float(signif[i])))
    return tuple(peaks)


# --------------------------------------------------------------------------- main


def _check_options(spectrum, lambda_, method, n_tau, tau_range, part, derivative_order,
                   prominence, capacitance_alpha):
    if not isinstance(spectrum, Spectrum):
        raise InputError(f"expected a Spectrum, got {type(spectrum).__name__}", field="spectrum",
                         expected="ionscale.impedance.Spectrum (see spectrum_from_arrays)")
    if np.any(spectrum.impedance == 0):
        raise InputError("|Z| = 0 at some frequency", file=spectrum.source, field="impedance",
                         expected="non-zero impedances")
    if method not in ("gcv", "gcv-min", "lcurve"):
        raise InputError(f"method = {method!r}", field="method",
                         expected="'gcv', 'gcv-min' or 'lcurve'")
    if part not in ("both", "real", "imag"):
        raise InputError(f"part = {part!r}", field="part", expected="'both', 'real' or 'imag'")
    if (isinstance(derivative_order, bool) or not isinstance(derivative_order, (int, np.integer))
            or derivative_order not in (0, 1, 2)):
        raise InputError(f"derivative_order = {derivative_order!r}", field="derivative_order",
                         expected="0, 1 or 2")
    if lambda_ is not None:
        try:
            lam = float(lambda_)
        except (TypeError, ValueError):
            lam = math.nan
        if isinstance(lambda_, bool) or not (math.isfinite(lam) and lam > 0):
            raise InputError(f"lambda_ = {lambda_!r}", field="lambda_",
                             expected="a positive finite number, or None to choose it")
    if n_tau is not None and (isinstance(n_tau, bool) or not isinstance(n_tau, (int, np.integer))
                              or not 10 <= n_tau <= 2000):
        raise InputError(f"n_tau = {n_tau!r}", field="n_tau", expected="an integer, 10 to 2000")
    if tau_range is not None:
        try:
            lo, hi = (float(v) for v in tau_range)
        except (TypeError, ValueError):
            lo = hi = math.nan
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise InputError(f"tau_range = {tau_range!r}", field="tau_range",
                             expected="(tau_min, tau_max) in s with 0 < tau_min < tau_max")
    try:
        prom = float(prominence)
    except (TypeError, ValueError):
        prom = math.nan
    if not 0 < prom < 1:
        raise InputError(f"prominence = {prominence!r}", field="prominence",
                         expected="a fraction of the peak's height, 0 < prominence < 1")
    if capacitance_alpha != "auto":
        try:
            a = float(capacitance_alpha)
        except (TypeError, ValueError):
            a = math.nan
        if isinstance(capacitance_alpha, bool) or not 0 < a <= 1:
            raise InputError(f"capacitance_alpha = {capacitance_alpha!r}",
                             field="capacitance_alpha", expected="a number in (0, 1] or 'auto'")


def compute_drt(
    spectrum: Spectrum,
    *,
    lambda_: float | None = None,
    method: str = "gcv",
    n_tau: int | None = None,
    tau_range: tuple[float, float] | None = None,
    series_resistance: bool = True,
    inductance: bool = False,
    capacitance: bool = False,
    part: str = "both",
    derivative_order: int = 2,
    prominence: float = 0.02,
    capacitance_alpha: float | str = 1.0,
    noise_weighting: bool = True,
    relative_penalty: bool = True,
    free_outside: bool = True,
) -> DRTResult:
    """Distribution of relaxation times of a spectrum (non-negative Tikhonov; τ = 1/(2πf)).

    Parameters
    ----------
    spectrum : Spectrum
        Hz, ohm; ``sigma`` (ohm), when given, weights the fit (else ``1/|Z|``).
    lambda_ : float, optional
        Regularisation parameter (dimensionless, see module notes); chosen by ``method`` when
        omitted.
    method : {"gcv", "gcv-min", "lcurve"}
        Generalised cross-validation with the one-standard-error rule, the plain GCV minimum, or
        the maximum curvature of the L-curve (see module notes).
    n_tau : int, optional
        Grid nodes (default: 10 per decade of ``tau_range``).
    tau_range : (float, float), optional
        Smallest and largest τ, s (default: one decade beyond ``1/(2π f_max)`` and
        ``1/(2π f_min)``).
    series_resistance : bool
        Fit R_∞ ≥ 0.
    inductance : bool
        Fit a series inductance L ≥ 0 (H).
    capacitance : bool
        Fit a series capacitance C (1/C ≥ 0; F): a blocking electrode, whose relaxation time
        is infinite and so lies beyond any τ grid.
    part : {"both", "real", "imag"}
        Which part of Z the DRT is fitted to. With ``"imag"``, R_∞ comes from the mean of
        ``Z' − Re Ẑ``; with ``"real"``, L and C from the rest of Z''.
    derivative_order : {0, 1, 2}
        Order of the derivative of γ penalised (2, curvature, recovers peak positions and
        resistances best on synthetic multi-arc spectra; 1 smooths less at the same λ).
    prominence : float
        Smallest peak prominence, as a fraction of the peak's own height (peaks must also
        reach 15 % of |Z| at their frequency; module notes).
    capacitance_alpha : float or "auto"
        Exponent of the blocking element ``1/(Q (jω)^α)`` with ``capacitance``: 1 (default) an
        ideal capacitor, or "auto" from the angle of the low-frequency spike.
    noise_weighting : bool
        Without ``sigma``, weight each point also by the noise its neighbours show (module
        notes; skipped for exact data).
    relative_penalty : bool
        Penalise the curvature of γ relative to |Z| at each τ (module notes); False gives one
        absolute penalty.
    free_outside : bool
        Smooth little beyond the lowest frequency when there is no series capacitance.

    Returns
    -------
    DRTResult
        γ(τ) with its 95 % band, λ, R_∞, L, R_pol, the peaks (τ, f, R, significance), the
        reconstruction and its residuals.

    Raises
    ------
    InputError
        Not a Spectrum, or an option out of range.
    FitError
        The non-negative least squares did not converge.

    Examples
    --------
    >>> from ionscale.impedance import spectrum_from_arrays
    >>> f = np.logspace(-1, 6, 71)
    >>> z = 20 + 100 / (1 + (2j * np.pi * f * 1e-4) ** 0.9)
    >>> drt = compute_drt(spectrum_from_arrays(f, z))
    >>> p = drt.peaks[0]
    >>> round(p.resistance), round(p.tau * 1e4, 1)
    (100, 1.0)
    """
    _check_options(spectrum, lambda_, method, n_tau, tau_range, part, derivative_order,
                   prominence, capacitance_alpha)
    s = spectrum
    f = s.frequency
    omega = s.omega
    z = s.impedance
    if tau_range is None:
        lo, hi = 0.1 / (2 * np.pi * f[-1]), 10.0 / (2 * np.pi * f[0])
    else:
        lo, hi = (float(v) for v in tau_range)
    if n_tau is None:
        n_tau = max(int(math.ceil(POINTS_PER_DECADE * math.log10(hi / lo))) + 1, 10)
    tau = np.logspace(math.log10(lo), math.log10(hi), n_tau)
    x = np.log(tau)
    dx = float(x[1] - x[0])
    A = drt_matrix(f, tau)

    mod = np.abs(z)
    zeta = _impedance_scale(f, mod, tau)
    zs = np.full(n_tau, mod.max())
    rows_re = part in ("both", "real")
    rows_im = part in ("both", "imag")
    # series terms: (name, real column, imaginary column); each coefficient ≥ 0
    terms = []
    if series_resistance:
        terms.append(("R_inf", np.ones_like(omega), np.zeros_like(omega)))
    if inductance:
        terms.append(("L", np.zeros_like(omega), omega))
    cap_alpha = 1.0
    if capacitance:
        cap_alpha = (spike_alpha(f, z) if isinstance(capacitance_alpha, str)
                     else float(capacitance_alpha))
        zc = 1.0 / (1j * omega) ** cap_alpha
        terms.append(("inv_C", zc.real, zc.imag))
    fitted = [t for t in terms if (rows_re and t[1].any()) or (rows_im and t[2].any())]
    covered = (1 / (2 * math.pi * f[-1]), 1 / (2 * math.pi * f[0]))
    pen_w = np.ones(n_tau)
    if relative_penalty:  # curvature of γ relative to the impedance scale where it lies
        pen_w = pen_w * (zs / zeta) ** 2
    if free_outside and not capacitance:
        # beyond the lowest frequency: little smoothing, so that the pile-up of a blocking
        # electrode (an infinite τ) does not set λ for the sample (with a series capacitance
        # the capacitor takes it; at the other end short τ are resistors, like R∞)
        pen_w = pen_w * np.where(tau > covered[1] * (1 + 1e-9), OUTSIDE_PENALTY, 1.0)
    P = _penalty(n_tau, int(derivative_order), dx, pen_w)

    def solve(weight):
        def stack(re, im):
            blocks = []
            if rows_re:
                blocks.append(re * (weight if re.ndim == 1 else weight[:, None]))
            if rows_im:
                blocks.append(im * (weight if im.ndim == 1 else weight[:, None]))
            return np.concatenate(blocks, axis=0)

        K_g = stack(A.real, A.imag) * zs[None, :]         # unknown g = γ / max|Z|
        K_0 = (np.column_stack([stack(re, im) for _, re, im in fitted]) if fitted
               else np.zeros((K_g.shape[0], 0)))
        scale0 = np.linalg.norm(K_0, axis=0)
        scale0[scale0 == 0] = 1.0
        K_0 = K_0 / scale0
        b = stack(z.real, z.imag)
        if lambda_ is None:
            sv, beta, rest = _standard_form(K_g, K_0, b, P)
            lam, grid, crit = _choose_lambda(method, sv, beta, rest, b.size, K_0.shape[1])
        else:
            lam, grid, crit = float(lambda_), np.zeros(0), np.zeros(0)
        p = K_0.shape[1]
        K = np.vstack([np.hstack([K_g, K_0]),
                       np.hstack([math.sqrt(lam) * P, np.zeros((n_tau, p))])])
        rhs = np.concatenate([b, np.zeros(n_tau)])
        try:
            sol, _ = nnls(K, rhs, maxiter=50 * K.shape[1])
        except RuntimeError as err:  # iteration limit; not seen on spectra, kept for safety
            raise FitError(f"non-negative least squares did not converge at λ = {lam:.3g} "
                           f"({err}); give a larger lambda_") from None
        gamma = sol[:n_tau] * zs
        coef = dict(zip([t[0] for t in fitted], sol[n_tau:] / scale0, strict=True))
        model = A @ gamma
        for name, re, im in terms:
            if name not in coef:  # a term the fitted part cannot see: from the rest of the other
                w2 = weight ** 2
                col, left = (re, z.real - model.real) if re.any() else (im, z.imag - model.imag)
                coef[name] = max(float(np.sum(w2 * col * left) / np.sum(w2 * col ** 2)), 0.0)
            model = model + coef[name] * (re + 1j * im)
        # the band at the GCV minimum: the one-standard-error rule smooths more than the data
        # ask, and a posterior at its λ would not cover the peaks it flattens
        # (not below λ/30: the flat side of the GCV curve can reach far down)
        lam_band = lam
        if method.startswith("gcv") and grid.size:
            lam_band = max(min(lam, float(grid[np.argmin(crit)])), lam / 30)
        cov = _posterior_cov(K_g, K_0, b - K[:b.size] @ sol, lam_band, P) * np.outer(zs, zs)
        return gamma, coef, model, lam, grid, crit, cov

    if s.sigma is not None:
        weighting = "sigma"
        gamma, coef, model, lam, grid, crit, gamma_cov = solve(1.0 / s.sigma)
    else:
        gamma, coef, model, lam, grid, crit, gamma_cov = solve(1.0 / mod)
        weighting = "modulus"
        rel = _local_noise(f, (z.real - model.real) / mod, (z.imag - model.imag) / mod)
        if noise_weighting and rel is not None:
            # the noise of real analysers grows towards the ends of the range (often ×10 at
            # MHz): weight each point by the noise its neighbours show, or GCV fits it
            gamma, coef, model, lam, grid, crit, gamma_cov = solve(1.0 / (mod * rel))
            weighting = "modulus x local noise"
    r_inf = float(coef.get("R_inf", 0.0))
    l_ind = float(coef.get("L", 0.0))
    inv_c = float(coef.get("inv_C", 0.0))
    covered = (1 / (2 * math.pi * f[-1]), 1 / (2 * math.pi * f[0]))
    peaks = _find_peaks(x, gamma, float(prominence), covered, zeta, PEAK_HEIGHT, gamma_cov)
    r_pol = float(np.trapezoid(gamma, x))

    values = {"lambda": Value("lambda", lam, math.nan, "", "λ")}
    values["R_inf"] = Value("R_inf", r_inf, math.nan, "ohm", "R∞")
    if inductance:
        values["L"] = Value("L", l_ind, math.nan, "H", "L")
    diagnostics = []
    if capacitance:
        # the capacitor's share of |Z| at the lowest frequency: below 1 % the data cannot
        # tell C (1/C = 0 is no number at all)
        share = inv_c / omega[0] ** cap_alpha / float(mod[0])
        if inv_c > 0:
            values["C"] = Value("C", 1 / inv_c, math.nan, "F" if cap_alpha == 1 else "F s^(α-1)",
                                "C" if cap_alpha == 1 else "Q_C")
        if share < 0.01:
            diagnostics.append(Diagnostic(
                "unmeasurable", "the series capacitance is too large for the data to measure "
                f"(its impedance is {100 * share:.2g} % of |Z| at the lowest frequency): no "
                "blocking electrode in this spectrum?", fields=("C",)))
    values["R_pol"] = Value("R_pol", r_pol, math.nan, "ohm", "R_pol")
    r_rest = max(r_pol - sum(pk.resistance for pk in peaks), 0.0)
    values["R_rest"] = Value("R_rest", r_rest, math.nan, "ohm", "R_rest")
    values["n_peaks"] = Value("n_peaks", float(len(peaks)), 0.0, "", "peaks")
    for i, pk in enumerate(peaks, 1):
        values[f"tau_{i}"] = Value(f"tau_{i}", pk.tau, math.nan, "s", f"τ{i}")
        values[f"f_{i}"] = Value(f"f_{i}", pk.frequency, math.nan, "Hz", f"f{i}")
        values[f"R_{i}"] = Value(f"R_{i}", pk.resistance, math.nan, "ohm", f"R{i}")
    params = {"lambda_": lambda_, "method": method if lambda_ is None else "given",
              "n_tau": n_tau, "tau_range": [lo, hi], "series_resistance": bool(series_resistance),
              "inductance": bool(inductance), "capacitance": bool(capacitance), "part": part,
              "derivative_order": int(derivative_order), "prominence": float(prominence),
              "capacitance_alpha": cap_alpha if capacitance else None,
              "noise_weighting": bool(noise_weighting), "relative_penalty": bool(relative_penalty),
              "free_outside": bool(free_outside), "peak_height": PEAK_HEIGHT,
              "discretisation": "piecewise linear in ln tau", "tau_convention": TAU_CONVENTION,
              "weighting": weighting}
    files = [s.source] if s.source and os.path.isfile(s.source) else []
    return DRTResult(
        values=values,
        provenance=Provenance.build("impedance.compute_drt", files, params),
        title=f"DRT of {s.label} ({TAU_CONVENTION}): {len(peaks)} peak(s)",
        diagnostics=tuple(diagnostics),
        tau=tau,
        gamma=gamma,
        frequency=f.copy(),
        impedance=z.copy(),
        model=model,
        residual_real=(z.real - model.real) / mod * 100,
        residual_imag=(z.imag - model.imag) / mod * 100,
        peaks=peaks,
        lambda_grid=grid,
        criterion=crit,
        gamma_sd=np.sqrt(np.clip(np.diag(gamma_cov), 0.0, None)),
    )
