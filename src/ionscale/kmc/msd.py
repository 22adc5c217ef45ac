"""Diffusion coefficients from mean-square displacements by generalised least squares.

The MSD values at different lags of one trajectory are strongly correlated (a displacement at
lag 2τ contains the one at τ), so an ordinary least-squares fit of MSD(t) understates the error
of D, often by a factor of several. Here the covariance is *measured*, and the error is the
honest spread of independent estimates:

1. The run is cut into M independent samples: consecutive blocks of a trajectory (a Markov
   process forgets its past, so blocks longer than the correlation time are independent) and
   independent replicas. Each sample gives an MSD curve ``y_b(τ_k)``, k = 1..K, measured from
   the block's own origin (for the tracer MSD, the average over the particles of the block).
2. Generalised least squares of ``y(τ) = 2 n D τ + c`` (n = d for the total MSD, 1 per
   direction; the intercept ``c`` absorbs a short-time transient) with the covariance ``S`` of
   the samples: ``β = (Xᵀ S⁻¹ X)⁻¹ Xᵀ S⁻¹ ȳ = Wᵀ ȳ``. Any weights with ``Wᵀ X = I`` give an
   unbiased estimate; the GLS ones give the smallest variance.
3. *Cross-fitting*: the samples are split into ``folds`` groups; the weights applied to a
   group come from the covariance of the other groups. Weights estimated from the very samples
   they weight are correlated with them (a block with a large displacement also inflates the
   variance that down-weights it), which biases D low by up to a standard error and makes the
   formal ``(Xᵀ S⁻¹ X)⁻¹`` too small for skewed MSD samples (a walker making a few jumps per
   block); cross-fitted weights do not.
4. Each sample then carries an unbiased estimate ``D_b = w_fᵀ y_b``; ``D`` is their mean and
   its standard error ``sd(D_b) / √M``. Ratios of two fitted quantities (correlation factors,
   Haven ratio) take their errors from the per-sample values, which keeps the correlation
   between numerator and denominator.

The pooled GLS fit (all samples, whitened residuals ``Lᵀ(Xβ - ȳ)`` with ``S⁻¹/M = L Lᵀ``) runs
through :func:`ionscale.fitting.fit_residuals` for the χ² of the line; its value agrees with
the cross-fitted one within a fraction of the error. The coverage of ``D ± 1.96 σ`` is checked
in the test suite (1000 short runs of a walker and of a lattice gas, whose D and D_σ are
exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..fitting import FitResult, fit_residuals

__all__ = ["MSDFit", "fit_msd"]


@dataclass(frozen=True, eq=False)
class MSDFit:
    """A GLS fit of an MSD curve.

    Attributes
    ----------
    D, error : float
        Diffusion coefficient (m² s⁻¹) and its standard error.
    offset, offset_error : float
        Intercept (m²).
    lags : ndarray
        Lag times τ_k, s.
    mean, sem : ndarray
        Mean MSD at each lag and its standard error (m²).
    covariance : ndarray
        Covariance of ``mean`` (m⁴).
    weights : ndarray
        Pooled GLS weights ``w`` (``w · mean`` is the pooled GLS value of D).
    per_sample : ndarray
        ``w_f · y_b``: the D carried by each sample with its cross-fitted weights (their mean
        is D, their spread gives its error).
    n_samples, factor : int
        M and the factor ``2n`` of ``MSD = 2 n D τ``.
    inflation : float
        Factor applied to the variance of ratios (1: the spread of the per-sample values is
        already honest).
    fit : FitResult
        The pooled GLS fit (χ² of the whitened residuals, dof = K - P).
    """

    D: float
    error: float
    offset: float
    offset_error: float
    lags: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    covariance: np.ndarray
    weights: np.ndarray
    per_sample: np.ndarray
    n_samples: int
    factor: int
    inflation: float
    fit: FitResult | None

    def line(self, t) -> np.ndarray:
        """The fitted MSD at times ``t`` (m²)."""
        return self.factor * self.D * np.asarray(t, dtype=float) + self.offset


def fit_msd(lags, samples, *, factor: int, intercept: bool = True, folds: int = 4) -> MSDFit:
    """Fit ``MSD(τ) = factor · D · τ (+ c)`` to per-sample MSD curves by GLS.

    Parameters
    ----------
    lags : array_like, shape (K,)
        Lag times, s (positive, increasing).
    samples : array_like, shape (M, K)
        MSD curve of each independent sample (block or replica), m².
    factor : int
        ``2d`` for the total MSD in d dimensions, 2 for one Cartesian component.
    intercept : bool
        Fit an intercept (default) or force the line through the origin.
    folds : int
        Cross-fitting folds (at most M // (K + 5); at least 2).

    Returns
    -------
    MSDFit

    Raises
    ------
    InputError
        Fewer than 2 (K + 5) samples (two folds must each estimate a covariance).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> steps = rng.normal(size=(400, 8)) * np.sqrt(2 * 1e-9 * 0.1)  # D = 1e-9, dt = 0.1 s
    >>> fit = fit_msd(0.1 * np.arange(1, 9), np.cumsum(steps, 1) ** 2, factor=2)
    >>> abs(fit.D - 1e-9) < 4 * fit.error
    True
    """
    t = np.asarray(lags, dtype=float).ravel()
    y = np.asarray(samples, dtype=float)
    if y.ndim != 2 or y.shape[1] != t.size:
        raise InputError(f"samples of shape {y.shape} for {t.size} lags", field="samples",
                         expected="an (M, K) array: one MSD curve per sample")
    M, K = y.shape
    P = 2 if intercept else 1
    if M < 2 * (K + 5):
        raise InputError(f"{M} samples for {K} lags", field="blocks",
                         expected=f"at least {2 * (K + 5)} samples (blocks x replicas) to "
                                  "estimate the MSD covariance; use more blocks or replicas, "
                                  "or fewer lags")
    if not np.all(np.isfinite(y)):
        raise InputError("an MSD sample is not finite", field="samples",
                         expected="finite values")
    ybar = y.mean(axis=0)
    sy = float(np.max(np.abs(ybar))) or 1.0
    st = float(t.max())
    yn = y / sy
    X = np.column_stack([factor * t / st, np.ones(K)])[:, :P]
    S_all = np.cov(yn, rowvar=False, ddof=1).reshape(K, K)
    exact = float(np.trace(S_all)) == 0.0  # no scatter at all (nothing moved)

    def weights(cov):
        tr = float(np.trace(cov))
        if tr == 0.0:
            cov = np.eye(K)
        else:
            cov = cov + np.eye(K) * tr / K * 1e-9
        prec = np.linalg.pinv(cov, hermitian=True)
        A = X.T @ prec @ X
        return prec @ X @ np.linalg.pinv(A), prec  # (K, P): β = Wᵀ y

    # cross-fitted per-sample estimates
    n_folds = max(2, min(int(folds), M // (K + 5)))
    fold = np.arange(M) % n_folds
    per = np.zeros((M, P))
    for f in range(n_folds):
        train = fold != f
        Wf, _ = weights(np.cov(yn[train], rowvar=False, ddof=1).reshape(K, K))
        per[~train] = yn[~train] @ Wf
    est = per.mean(axis=0)
    sd = per.std(axis=0, ddof=1) / math.sqrt(M)
    # pooled GLS line (χ² and the FitResult)
    W, prec = weights(S_all)
    psi = prec * M
    psi = 0.5 * (psi + psi.T)
    try:
        L = np.linalg.cholesky(psi)
    except np.linalg.LinAlgError:
        w_, v_ = np.linalg.eigh(psi)
        L = v_ @ np.diag(np.sqrt(np.clip(w_, 0, None)))
    target = ybar / sy
    names = ["D", "offset"][:P]

    def residual(p):
        b = np.array([p[n] for n in names])
        return L.T @ (X @ b - target)

    jac = L.T @ X
    fit = fit_residuals(residual, dict(zip(names, map(float, W.T @ target), strict=True)),
                        jacobian=lambda p: jac, absolute_sigma=True)
    D = float(est[0]) * sy / st
    err = 0.0 if exact else float(sd[0]) * sy / st
    off = float(est[1]) * sy if intercept else 0.0
    off_err = (0.0 if exact else float(sd[1]) * sy) if intercept else 0.0
    C = np.cov(y, rowvar=False, ddof=1).reshape(K, K) / M
    return MSDFit(D=D, error=err, offset=off, offset_error=off_err, lags=t, mean=ybar,
                  sem=np.sqrt(np.clip(np.diag(C), 0, None)), covariance=C,
                  weights=W[:, 0] / st, per_sample=per[:, 0] * sy / st, n_samples=M,
                  factor=int(factor), inflation=1.0, fit=fit)


def ratio_error(num: np.ndarray, den: np.ndarray, inflation: float = 1.0) -> tuple[float, float]:
    """Ratio of the means of two per-sample arrays, with its standard error (delta method over
    the samples, which keeps their correlation)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    a, b = float(num.mean()), float(den.mean())
    if b == 0:
        return math.nan, math.nan
    r = a / b
    if num.size < 2 or a == 0:
        return r, math.nan
    z = num / a - den / b
    return r, abs(r) * float(np.std(z, ddof=1)) / math.sqrt(num.size) * math.sqrt(inflation)
