"""The one least-squares core every ionscale fit goes through.

A fit is described by named parameters (initial values, bounds, fixed or free, fitted linearly
or in log space) and a weighted residual. The core returns a :class:`FitResult` with values,
standard errors and covariance from the Jacobian at the optimum, reduced χ², AIC and BIC, and
optionally Monte-Carlo (parametric bootstrap) errors.

Conventions
-----------
* ``sigma`` are one-standard-deviation uncertainties of the data. With ``absolute_sigma=True``
  (the default when ``sigma`` is given) the covariance is ``(Jᵀ W J)⁻¹``; otherwise it is scaled
  by the reduced χ², as when the noise level is unknown.
* Parameters listed in ``log`` must be positive and are optimised as ``ln p``; this conditions
  fits of quantities that span decades (D, k, τ). Their covariance is reported for ``p``
  itself (first-order propagation), so the API never shows the transform.
* AIC and BIC are ``χ² + 2k`` and ``χ² + k ln n`` with known σ, and ``n ln(χ²/n) + 2k`` and
  ``n ln(χ²/n) + k ln n`` otherwise (k free parameters, n points; constants dropped), so they
  compare models fitted to the same data with the same weights.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from .errors import FitError, FitWarning, InputError
from .status import Diagnostic

Bounds = Mapping[str, tuple[float, float]]


@dataclass(frozen=True, kw_only=True)
class FitResult:
    """Outcome of a least-squares fit; the same fields whatever the model.

    Attributes
    ----------
    names : tuple of str
        Every parameter, free and fixed, in model order.
    values, errors : ndarray
        Best values and one-σ standard errors (0 for fixed parameters), SI.
    covariance : ndarray
        Covariance of all parameters (rows/columns of fixed ones are zero).
    free : tuple of bool
        Which parameters were fitted.
    residuals : ndarray
        Weighted residuals ``(model - data) / σ`` at the optimum.
    chi2 : float
        Sum of squared weighted residuals.
    n_points, dof : int
        Number of residuals and degrees of freedom ``n - k``.
    aic, bic : float
        Information criteria (see module notes).
    absolute_sigma : bool
        Whether σ were taken as absolute.
    error_method : str
        ``"jacobian"`` or ``"monte-carlo"``.
    success : bool
        Whether the optimiser reported convergence.
    message : str
        The optimiser's message.
    nfev : int
        Model evaluations.
    samples : ndarray or None
        Monte-Carlo parameter samples, shape ``(n_samples, n_params)``.
    diagnostics : tuple of Diagnostic
        What a user must know about the fit: not converged, undetermined parameters (rank-
        deficient covariance), parameters at a bound, an improbable χ² with known σ. A
        :class:`~ionscale.results.Result` built on this fit inherits them.
    """

    names: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray
    covariance: np.ndarray
    free: tuple[bool, ...]
    residuals: np.ndarray
    chi2: float
    n_points: int
    dof: int
    aic: float
    bic: float
    absolute_sigma: bool
    error_method: str = "jacobian"
    success: bool = True
    message: str = ""
    nfev: int = 0
    samples: np.ndarray | None = field(default=None, repr=False)
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def reduced_chi2(self) -> float:
        """χ² per degree of freedom (NaN when there are none)."""
        return self.chi2 / self.dof if self.dof > 0 else math.nan

    @property
    def params(self) -> dict[str, float]:
        """Best values by name."""
        return dict(zip(self.names, map(float, self.values), strict=True))

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix of the parameters (NaN where an error is zero)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.sqrt(np.diag(self.covariance))
            return self.covariance / np.outer(d, d)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no parameter {name!r}; parameters are {self.names}") from None

    def value(self, name: str) -> float:
        """Best value of parameter ``name``."""
        return float(self.values[self.index(name)])

    def error(self, name: str) -> float:
        """Standard error of parameter ``name``."""
        return float(self.errors[self.index(name)])

    def quality(self) -> dict[str, float]:
        """The fit-quality numbers a report or the store keeps."""
        return {
            "chi2": float(self.chi2),
            "reduced_chi2": float(self.reduced_chi2),
            "dof": int(self.dof),
            "n_points": int(self.n_points),
            "aic": float(self.aic),
            "bic": float(self.bic),
        }


def _check_names(p0: Mapping[str, float], other: Iterable[str], what: str) -> None:
    unknown = set(other) - set(p0)
    if unknown:
        raise InputError(f"unknown parameter(s) {sorted(unknown)}", field=what,
                         expected=f"names among {list(p0)}")


def fit_residuals(
    residual: Callable[[dict[str, float]], np.ndarray],
    p0: Mapping[str, float],
    *,
    bounds: Bounds | None = None,
    fixed: Iterable[str] = (),
    log: Iterable[str] = (),
    jacobian: Callable[[dict[str, float]], np.ndarray] | None = None,
    absolute_sigma: bool = True,
    max_nfev: int | None = None,
) -> FitResult:
    """Minimise ``sum(residual(params)**2)`` over the free parameters.

    Parameters
    ----------
    residual : callable
        ``residual(params) -> ndarray`` of *weighted* residuals ``(model - data) / σ`` (real; a
        complex array is split into real and imaginary parts). ``params`` maps every parameter
        name, free and fixed, to its value in SI.
    p0 : mapping
        Initial value of every parameter; the order defines the model order.
    bounds : mapping, optional
        ``{name: (lower, upper)}``; missing names are unbounded.
    fixed : iterable of str
        Parameters held at their initial value.
    log : iterable of str
        Parameters optimised in log space (must be positive).
    jacobian : callable, optional
        ``jacobian(params) -> (n, n_params)`` derivative of the weighted residuals with respect to
        every parameter (columns in ``p0`` order). Finite differences are used otherwise.
    absolute_sigma : bool
        Whether the weights are absolute (see module notes).
    max_nfev : int, optional
        Cap on model evaluations.

    Returns
    -------
    FitResult
    """
    names = tuple(p0)
    fixed = set(fixed)
    log = set(log)
    bounds = dict(bounds or {})
    _check_names(p0, fixed, "fixed")
    _check_names(p0, log, "log")
    _check_names(p0, bounds, "bounds")
    start = np.array([float(p0[n]) for n in names])
    if not np.all(np.isfinite(start)):
        bad = [n for n, v in zip(names, start, strict=True) if not np.isfinite(v)]
        raise InputError("initial value is not finite", field=", ".join(bad),
                         expected="finite initial values")
    free = np.array([n not in fixed for n in names])
    is_log = np.array([n in log for n in names])
    if np.any(is_log & (start <= 0)):
        bad = [n for n, lg, v in zip(names, is_log, start, strict=True) if lg and v <= 0]
        raise InputError("log-space parameter must start positive", field=", ".join(bad),
                         expected="initial value > 0")
    scale = np.where(start != 0, np.abs(start), 1.0)
    lower = np.full(len(names), -np.inf)
    upper = np.full(len(names), np.inf)
    for i, n in enumerate(names):
        if n in bounds:
            lower[i], upper[i] = map(float, bounds[n])
            if not lower[i] < upper[i]:
                raise InputError(f"lower bound {lower[i]} is not below upper {upper[i]}",
                                 field=n, expected="lower < upper")
            if not lower[i] <= start[i] <= upper[i]:
                start[i] = np.clip(start[i], lower[i], upper[i])
                if is_log[i] and start[i] <= 0:
                    start[i] = max(lower[i], 1e-300) * 1.0000001
    idx = np.flatnonzero(free)
    if idx.size == 0:
        raise FitError("no free parameter to fit")

    def to_q(p: np.ndarray) -> np.ndarray:
        return np.where(is_log, np.log(np.where(is_log, p, 1.0)), p / scale)[idx]

    def to_p(q: np.ndarray) -> np.ndarray:
        p = start.copy()
        qq = np.zeros(len(names))
        qq[idx] = q
        lg = idx[is_log[idx]]
        lin = idx[~is_log[idx]]
        p[lg] = np.exp(qq[lg])
        p[lin] = qq[lin] * scale[lin]
        return p

    def dp_dq(p: np.ndarray) -> np.ndarray:
        return np.where(is_log, p, scale)[idx]

    def as_dict(p: np.ndarray) -> dict[str, float]:
        return dict(zip(names, map(float, p), strict=True))

    def flat(r: np.ndarray) -> np.ndarray:
        r = np.asarray(r)
        if np.iscomplexobj(r):
            r = np.concatenate([r.real.ravel(), r.imag.ravel()])
        return r.ravel().astype(float, copy=False)

    # residuals are divided by a power of two when the data are huge (×1e200) or tiny, so that
    # χ² and JᵀJ stay representable; results are scaled back exactly
    r_scale = 1.0

    def raw(q: np.ndarray) -> np.ndarray:
        return flat(residual(as_dict(to_p(q))))

    def fun(q: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            r = raw(q) / r_scale
        if not np.all(np.isfinite(r)):
            # steer the optimiser away from the region where the model is undefined
            r = np.where(np.isfinite(r), r, 1e150)
        return r

    jac_q = None
    if jacobian is not None:
        def jac_q(q: np.ndarray) -> np.ndarray:
            p = to_p(q)
            j = np.asarray(jacobian(as_dict(p)))
            if np.iscomplexobj(j):
                j = np.concatenate([j.real, j.imag], axis=0)
            j = j[:, idx] * dp_dq(p) / r_scale
            if not np.all(np.isfinite(j)):
                # an overflowing derivative must not reach LAPACK (NaN makes its SVD hang)
                j = np.nan_to_num(j, nan=0.0, posinf=1e150, neginf=-1e150)
            return j

    lo_q = np.where(is_log, np.log(np.where(lower > 0, lower, 1.0)), lower / scale)[idx]
    lo_q = np.where(is_log[idx] & ~(lower[idx] > 0), -np.inf, lo_q)
    hi_q = np.where(is_log, np.log(np.where(upper > 0, upper, 1.0)), upper / scale)[idx]
    hi_q = np.where(is_log[idx] & ~np.isfinite(upper[idx]), np.inf, hi_q)
    bounded = bool(np.any(np.isfinite(lo_q)) or np.any(np.isfinite(hi_q)))
    q0 = to_q(start)
    r0 = raw(q0)
    n = r0.size
    if n < idx.size:
        raise FitError(f"{n} data points cannot determine {idx.size} free parameters")
    finite = r0[np.isfinite(r0)]
    biggest = float(np.max(np.abs(finite))) if finite.size else 0.0
    if biggest > 1e100 or 0 < biggest < 1e-100:
        r_scale = 2.0 ** math.frexp(biggest)[1]
    try:
        sol = least_squares(
            fun, q0, jac=jac_q if jac_q is not None else "2-point",
            bounds=(lo_q, hi_q) if bounded else (-np.inf, np.inf),
            method="trf" if bounded else "lm", x_scale=1.0, max_nfev=max_nfev,
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise FitError(f"optimiser failed: {exc}") from exc
    p_best = to_p(sol.x)
    if not np.all(np.isfinite(p_best)):
        raise FitError("the fit diverged: a parameter overflowed to infinity")
    r_scaled = fun(sol.x)
    if np.any(np.abs(r_scaled) >= 1e149):
        raise FitError("model is undefined (NaN or inf) at the optimum")
    # the optimiser's forward-difference Jacobian is too coarse for a covariance
    jq = jac_q(sol.x) if jac_q is not None else _central_jacobian(fun, sol.x, r_scaled)
    with np.errstate(over="ignore"):
        r = r_scaled * r_scale
        chi2 = float(np.float64(r_scaled @ r_scaled) * np.float64(r_scale) ** 2)
    if not (np.all(np.isfinite(r)) and math.isfinite(chi2)):
        raise FitError(f"the weighted residuals (up to {biggest:.3g}) are too large to square: "
                       "rescale the data or give their uncertainties")
    k = idx.size
    dof = n - k
    # finite differences carry ~1e-8 relative noise, which would hide an exact degeneracy
    if np.all(np.isfinite(jq)) and np.all(np.abs(jq) < 1e149):
        # covariance of the scaled problem; the residual scale cancels for relative σ
        cov_q, rank, undetermined = _covariance(jq, rtol=None if jac_q is not None else 1e-9)
    else:  # the model's derivative overflows at the optimum: nothing is determined
        cov_q, rank, undetermined = np.zeros((k, k)), 0, np.ones(k, bool)
    if absolute_sigma:
        factor = 1.0 / np.float64(r_scale) ** 2
    else:
        factor = float(r_scaled @ r_scaled) / dof if dof > 0 else 1.0 / np.float64(r_scale) ** 2
    d = dp_dq(p_best)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        cov = np.zeros((len(names), len(names)))
        cov[np.ix_(idx, idx)] = cov_q * factor * np.outer(d, d)
        # errors from the square roots, so that large parameters (1e200) do not overflow
        err_free = np.sqrt(np.clip(np.diag(cov_q), 0, None)) * np.sqrt(factor) * np.abs(d)
    errors = np.zeros(len(names))
    errors[idx] = err_free
    bad = idx[undetermined]
    cov[bad, :] = np.inf
    cov[:, bad] = np.inf
    errors[bad] = np.inf
    diagnostics = _fit_diagnostics(
        names=[names[i] for i in bad], rank=rank, k=k,
        at_lower=[names[i] for i in idx if np.isfinite(lower[i]) and
                  np.isclose(p_best[i], lower[i], rtol=1e-9, atol=0)],
        at_upper=[names[i] for i in idx if np.isfinite(upper[i]) and
                  np.isclose(p_best[i], upper[i], rtol=1e-9, atol=0)],
        success=bool(sol.success), message=str(sol.message), chi2=chi2, dof=dof,
        absolute_sigma=absolute_sigma)
    for d in diagnostics:
        warnings.warn(d.message, FitWarning, stacklevel=2)
    if absolute_sigma:
        aic = chi2 + 2 * k
        bic = chi2 + k * math.log(n)
    else:
        base = n * math.log(max(chi2, 1e-300) / n)
        aic = base + 2 * k
        bic = base + k * math.log(n)
    return FitResult(
        names=names, values=p_best, errors=errors, covariance=cov,
        free=tuple(bool(f) for f in free), residuals=r, chi2=chi2, n_points=n, dof=dof,
        aic=aic, bic=bic, absolute_sigma=absolute_sigma, success=bool(sol.success),
        message=str(sol.message), nfev=int(sol.nfev), diagnostics=diagnostics,
    )


def _fit_diagnostics(*, names: list[str], rank: int, k: int, at_lower: list[str],
                     at_upper: list[str], success: bool, message: str, chi2: float, dof: int,
                     absolute_sigma: bool) -> tuple[Diagnostic, ...]:
    """The diagnostics of a finished fit, one plain sentence each."""
    out = []
    if rank < k:
        which = f" ({', '.join(names)})" if names else ""
        out.append(Diagnostic(
            "undetermined", f"the Jacobian has rank {rank} < {k} free parameters: "
            f"parameter(s){which} are not determined by the data (errors set to inf)",
            fields=tuple(names)))
    for side, group in (("lower", at_lower), ("upper", at_upper)):
        if group:
            out.append(Diagnostic(
                "at-bound", f"parameter(s) {', '.join(group)} ended at the {side} bound; "
                "their errors are not meaningful", fields=tuple(group)))
    if not success:
        out.append(Diagnostic("not-converged", f"the fit did not converge: {message}"))
    if absolute_sigma and dof > 0 and _chi2_tail(chi2, dof) < 1e-6:
        out.append(Diagnostic(
            "chi2-improbable", f"reduced χ² = {chi2 / dof:.3g} with {dof} degrees of freedom: "
            "the model does not describe the data within their errors (check fixed parameters "
            "and the noise model); the standard errors are too small"))
    return tuple(out)


def _chi2_tail(chi2: float, dof: int) -> float:
    """Probability of a χ² at least this large for a correct model with true σ."""
    from scipy.stats import chi2 as chi2_dist

    return float(chi2_dist.sf(chi2, dof))


def _central_jacobian(fun, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of ``fun`` at ``q`` (error ~ eps^(2/3))."""
    jac = np.empty((r.size, q.size))
    for i in range(q.size):
        h = np.finfo(float).eps ** (1 / 3) * max(1.0, abs(q[i]))
        up, down = q.copy(), q.copy()
        up[i] += h
        down[i] -= h
        jac[:, i] = (fun(up) - fun(down)) / (2 * h)
    return jac


def _covariance(j: np.ndarray, rtol: float | None = None
                ) -> tuple[np.ndarray, int, np.ndarray]:
    """``(JᵀJ)⁻¹`` through the SVD, dropping singular directions; returns it, the rank and
    which parameters have a share in a dropped (undetermined) direction."""
    _, s, vt = np.linalg.svd(j, full_matrices=False)
    if s.size == 0:
        return np.zeros((j.shape[1], j.shape[1])), 0, np.ones(j.shape[1], bool)
    if rtol is None:
        rtol = np.finfo(float).eps * max(j.shape)
    threshold = rtol * s[0]
    keep = s > threshold
    null = vt[~keep]
    vt = vt[keep]
    cov = (vt.T / s[keep] ** 2) @ vt
    # a parameter that moves along an undetermined direction is itself undetermined
    undetermined = (np.abs(null) > 0.1).any(axis=0) if null.size else np.zeros(j.shape[1], bool)
    return cov, int(keep.sum()), undetermined


def fit_curve(
    model: Callable[..., np.ndarray],
    x,
    y,
    p0: Mapping[str, float],
    *,
    sigma=None,
    bounds: Bounds | None = None,
    fixed: Iterable[str] = (),
    log: Iterable[str] = (),
    jacobian: Callable[..., np.ndarray] | None = None,
    absolute_sigma: bool | None = None,
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
    max_nfev: int | None = None,
) -> FitResult:
    """Fit ``y ≈ model(x, **params)`` by weighted least squares.

    Parameters
    ----------
    model : callable
        ``model(x, **params) -> ndarray`` shaped like ``y`` (may be complex).
    x : array_like
        Independent variable(s), passed through unchanged.
    y : array_like
        Data (real or complex).
    p0 : mapping
        Initial value of every parameter of ``model``.
    sigma : array_like, optional
        One-σ uncertainty of each ``y`` (for complex ``y``, of each part). Unit weights if
        omitted, in which case the covariance is scaled by the reduced χ².
    bounds, fixed, log, max_nfev
        As in :func:`fit_residuals`.
    jacobian : callable, optional
        ``jacobian(x, **params) -> (n, n_params)`` derivative of ``model`` with respect to each
        parameter in ``p0`` order.
    absolute_sigma : bool, optional
        Defaults to ``sigma is not None``.
    monte_carlo : int
        If positive, refit this many synthetic data sets drawn around the best fit with the
        data's σ (scaled by √χ²_red when σ are relative) and report the spread of the refits as
        the standard errors and covariance (``error_method="monte-carlo"``).
    seed : int or Generator, optional
        Seed of the Monte-Carlo draws.

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 20)
    >>> res = fit_curve(lambda x, a, b: a * x + b, x, 2 * x + 1, {"a": 1.0, "b": 0.0})
    >>> round(res.value("a"), 6)
    2.0
    """
    y = np.asarray(y)
    if y.size == 0:
        raise InputError("no data to fit", field="y", expected="at least one point")
    if not np.all(np.isfinite(y)):
        raise InputError("data contain NaN or inf", field="y", expected="finite values")
    if sigma is None:
        w = np.ones(y.shape)
    else:
        w = np.broadcast_to(np.asarray(sigma, dtype=float), y.shape)
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise InputError("uncertainties must be finite and positive", field="sigma",
                             expected="sigma > 0")
    if absolute_sigma is None:
        absolute_sigma = sigma is not None
    names = tuple(p0)

    def make_residual(data):
        def residual(params):
            return (model(x, **params) - data) / w
        return residual

    jac = None
    if jacobian is not None:
        def jac(params):
            j = np.asarray(jacobian(x, **params))
            return j / w.reshape(-1, 1) if not np.iscomplexobj(j) else j / w.reshape(-1, 1)

    result = fit_residuals(make_residual(y), p0, bounds=bounds, fixed=fixed, log=log,
                           jacobian=jac, absolute_sigma=absolute_sigma, max_nfev=max_nfev)
    if monte_carlo <= 0:
        return result
    rng = np.random.default_rng(seed)
    best = result.params
    clean = np.asarray(model(x, **best))
    noise = w * (1.0 if absolute_sigma else math.sqrt(max(result.reduced_chi2, 0.0)))
    samples = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        for _ in range(int(monte_carlo)):
            draw = clean + rng.normal(size=y.shape) * noise
            if np.iscomplexobj(y):
                draw = draw + 1j * rng.normal(size=y.shape) * noise
            try:
                refit = fit_residuals(make_residual(draw), best, bounds=bounds, fixed=fixed,
                                      log=log, jacobian=jac, absolute_sigma=absolute_sigma,
                                      max_nfev=max_nfev)
            except FitError:
                continue
            samples.append(refit.values)
    if len(samples) < 2:
        raise FitError("Monte-Carlo refits failed; no error estimate")
    samples = np.array(samples)
    cov = np.cov(samples, rowvar=False)
    cov[~np.array(result.free), :] = 0
    cov[:, ~np.array(result.free)] = 0
    return FitResult(
        names=names, values=result.values, errors=np.sqrt(np.diag(cov)), covariance=cov,
        free=result.free, residuals=result.residuals, chi2=result.chi2,
        n_points=result.n_points, dof=result.dof, aic=result.aic, bic=result.bic,
        absolute_sigma=absolute_sigma, error_method="monte-carlo", success=result.success,
        message=result.message, nfev=result.nfev, samples=samples,
        diagnostics=result.diagnostics,
    )
