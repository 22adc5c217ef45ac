"""Echo-attenuation models of PFG NMR: isotropic, multi-exponential, anisotropic powder, log-normal.

All functions act on arrays: ``b`` in s m⁻², diffusion coefficients in m² s⁻¹, the signal in the
units of ``S0`` (``S0 = 1`` gives S/S0). Each model is ``S0 · E(b) + baseline`` with E(0) = 1.

Powder average of axially symmetric diffusion (D_a = D_x = D_y in the plane, D_c along the
symmetry axis) over randomly oriented crystallites, u = cos θ to the axis::

    E = ∫₀¹ exp(−b [D_a (1 − u²) + D_c u²]) du = exp(−b D_a) I(a),  a = b (D_c − D_a),
    I(a) = ∫₀¹ exp(−a u²) du
         = √π erf(√a) / (2√a)               (a > 0),
         = exp(|a|) dawsn(√|a|) / √|a|       (a < 0, so E = exp(−b D_c) dawsn(√|a|)/√|a|),
         = Σ_k (−a)^k / (k! (2k+1))           (|a| < 1, the series that joins them smoothly).

The a < 0 branch (the 2D-conductor case, D_c < D_a) is written with the Dawson function so that
nothing overflows however large b is.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import integrate, special

from ..errors import InputError

#: |a| below which the powder integral is summed as a power series (terms up to a^22/22!:
#: truncation error < 1e-22)
_SERIES_LIMIT = 1.0
_SERIES_TERMS = 22
#: Gauss-Hermite nodes of the log-normal model (absolute error in S/S0 below 1e-10 up to
#: σ_ln = 2 and b·D_median = 1e3; below 1e-14 for σ_ln ≤ 1)
LOGNORMAL_NODES = 200


def _array(x, field: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{field} is not numeric", field=field, expected="numbers") from None
    return arr


def _positive(x, field: str) -> float:
    v = float(x)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{field} = {v!r}", field=field, expected=f"{field} > 0 (m^2/s)")
    return v


# --------------------------------------------------------------------------- isotropic


def isotropic(b, D, S0=1.0, baseline=0.0) -> np.ndarray:
    """Stejskal-Tanner decay ``S = S0 exp(−b D) + baseline``.

    Parameters
    ----------
    b : array_like
        Diffusion weighting, s m⁻².
    D : float
        Diffusion coefficient, m² s⁻¹.
    S0 : float
        Signal at b = 0 (signal units).
    baseline : float
        Constant offset (signal units).

    Returns
    -------
    ndarray
        Signal at each b.

    Examples
    --------
    >>> float(isotropic(1e9, 1e-9))
    0.36787944117144233
    """
    b = _array(b, "b")
    return S0 * np.exp(-b * D) + baseline


def isotropic_jacobian(b, D, S0=1.0, baseline=0.0) -> np.ndarray:
    """Derivatives of :func:`isotropic` with respect to (D, S0, baseline), shape ``(n, 3)``."""
    b = _array(b, "b")
    e = np.exp(-b * D)
    return np.column_stack([-b * S0 * e, e, np.ones_like(b)])


# --------------------------------------------------------------------------- multi-exponential


def _components(D_list, fractions) -> tuple[np.ndarray, np.ndarray]:
    D = np.atleast_1d(_array(D_list, "D_list"))
    f = np.atleast_1d(_array(fractions, "fractions"))
    if D.ndim != 1 or D.shape != f.shape:
        raise InputError(f"{D.size} diffusion coefficients but {f.size} fractions",
                         field="fractions", expected="one fraction per component")
    return D, f


def multi_exponential(b, D_list, fractions, S0=1.0, baseline=0.0) -> np.ndarray:
    """Sum of exponential decays ``S = S0 Σ f_i exp(−b D_i) + baseline``.

    Parameters
    ----------
    b : array_like
        s m⁻².
    D_list : sequence of float
        Diffusion coefficient of each component, m² s⁻¹.
    fractions : sequence of float
        Signal fraction of each component (used as given; they sum to 1 for ``E(0) = 1``).
    S0, baseline : float
        Signal at b = 0 and constant offset (signal units).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> round(float(multi_exponential(0.0, [1e-9, 1e-11], [0.3, 0.7])), 12)
    1.0
    """
    b = _array(b, "b")
    D, f = _components(D_list, fractions)
    e = np.exp(-np.multiply.outer(b, D))
    return S0 * (e @ f) + baseline


def multi_exponential_jacobian(b, D_list, fractions, S0=1.0, baseline=0.0) -> np.ndarray:
    """Derivatives of :func:`multi_exponential`: columns D_1..D_n, f_1..f_n, S0, baseline."""
    b = np.atleast_1d(_array(b, "b"))
    D, f = _components(D_list, fractions)
    e = np.exp(-np.multiply.outer(b, D))
    dD = -S0 * b[:, None] * e * f
    return np.column_stack([dD, S0 * e, e @ f, np.ones_like(b)])


# --------------------------------------------------------------------------- powder average


def _powder_parts(b: np.ndarray, D_a: float, D_c: float) -> tuple[np.ndarray, np.ndarray]:
    """E = S/S0 and M·exp(−bD_a) with M = ∫₀¹ u² exp(−a u²) du, both overflow-free."""
    a = b * (D_c - D_a)
    E = np.empty_like(a)
    EM = np.empty_like(a)
    ea = np.exp(-b * D_a)
    ec = np.exp(-b * D_c)
    small = np.abs(a) < _SERIES_LIMIT
    pos = ~small & (a > 0)
    neg = ~small & (a < 0)
    if np.any(small):
        I_s, M_s = _series_both(a[small])
        E[small] = ea[small] * I_s
        EM[small] = ea[small] * M_s
    if np.any(pos):
        r = np.sqrt(a[pos])
        E[pos] = ea[pos] * (math.sqrt(math.pi) / 2) * special.erf(r) / r
    if np.any(neg):
        r = np.sqrt(-a[neg])
        E[neg] = ec[neg] * special.dawsn(r) / r
    big = ~small
    # ∫u² e^{−au²} = (I − e^{−a}) / (2a); times e^{−bD_a}: (E − e^{−bD_c}) / (2a)
    EM[big] = (E[big] - ec[big]) / (2 * a[big])
    return E, EM


def _series_coefficients(offset: int) -> np.ndarray:
    k = np.arange(_SERIES_TERMS + 1)
    return (-1.0) ** k / (special.factorial(k) * (2 * k + offset))


_COEFS = np.column_stack([_series_coefficients(1), _series_coefficients(3)])


def _series_both(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """I(a) = Σ (−a)^k / (k!(2k+1)) and M(a) = Σ (−a)^k / (k!(2k+3)) for |a| < 1."""
    powers = np.empty((a.size, _SERIES_TERMS + 1))
    powers[:, 0] = 1.0
    powers[:, 1:] = a[:, None]
    np.cumprod(powers, axis=1, out=powers)
    out = powers @ _COEFS
    return out[:, 0], out[:, 1]


def powder_anisotropic(b, D_a, D_c, S0=1.0, baseline=0.0) -> np.ndarray:
    """Powder-averaged decay of axially symmetric diffusion (randomly oriented crystallites).

    ``S = S0 exp(−b D_a) ∫₀¹ exp(−a u²) du + baseline`` with ``a = b (D_c − D_a)``; closed forms
    with erf (a > 0) and the Dawson function (a < 0, never overflowing) and a power series for
    |a| < 1, so the model is smooth through the isotropic limit D_a = D_c (accurate to ~1e-15
    relative everywhere).

    Parameters
    ----------
    b : array_like
        s m⁻².
    D_a : float
        In-plane diffusion coefficient (D_x = D_y), m² s⁻¹.
    D_c : float
        Diffusion coefficient along the symmetry axis, m² s⁻¹.
    S0, baseline : float
        Signal at b = 0 and constant offset (signal units).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> b = 1e11
    >>> round(float(powder_anisotropic(b, 2e-11, 2e-11)), 12) == round(math.exp(-2.0), 12)
    True
    """
    b = _array(b, "b")
    E, _ = _powder_parts(np.atleast_1d(b).astype(float), float(D_a), float(D_c))
    return (S0 * E + baseline).reshape(b.shape)


def powder_anisotropic_jacobian(b, D_a, D_c, S0=1.0, baseline=0.0) -> np.ndarray:
    """Derivatives of :func:`powder_anisotropic`: columns D_a, D_c, S0, baseline.

    ``∂E/∂D_c = −b e^{−bD_a} M`` and ``∂E/∂D_a = −b (E − e^{−bD_a} M)``, with
    ``M = ∫₀¹ u² e^{−au²} du``.
    """
    b = np.atleast_1d(_array(b, "b")).astype(float)
    E, EM = _powder_parts(b, float(D_a), float(D_c))
    return np.column_stack([-b * S0 * (E - EM), -b * S0 * EM, E, np.ones_like(b)])


def powder_reference(b, D_a, D_c, *, epsrel: float = 1e-13) -> np.ndarray:
    """Powder average by direct numerical integration over orientations (for tests).

    Integrates ``exp(−b [D_a (1 − u²) + D_c u²])`` over u = cos θ ∈ [0, 1] with
    :func:`scipy.integrate.quad` (the exponent factored by its largest value to avoid underflow).

    Parameters
    ----------
    b : array_like
        s m⁻².
    D_a, D_c : float
        m² s⁻¹.
    epsrel : float
        Relative tolerance of the quadrature.

    Returns
    -------
    ndarray
        S/S0.
    """
    b = _array(b, "b")
    out = np.empty(b.shape)
    lo = min(D_a, D_c)
    for idx, bb in np.ndenumerate(b):
        def f(u, bb=bb):
            return math.exp(-bb * (D_a * (1 - u * u) + D_c * u * u - lo))
        width = 1.0 / math.sqrt(max(bb * abs(D_c - D_a), 1.0))
        peak = 0.0 if D_c > D_a else 1.0
        pts = sorted({min(max(peak + s * width * k, 0.0), 1.0) for k in (1, 4, 16)
                      for s in (-1, 1)} - {0.0, 1.0})
        val, _ = integrate.quad(f, 0.0, 1.0, epsabs=0.0, epsrel=epsrel, limit=500,
                                points=pts or None)
        out[idx] = val * math.exp(-bb * lo)
    return out


# --------------------------------------------------------------------------- log-normal


@lru_cache(maxsize=8)
def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite.hermgauss(n)
    return x, w / math.sqrt(math.pi)


def _lognormal_parts(b, D_median, sigma_ln, n_nodes):
    x, w = _hermite(n_nodes)
    D = D_median * np.exp(math.sqrt(2.0) * sigma_ln * x)          # (m,)
    e = np.exp(-np.multiply.outer(b, D))                            # (n, m)
    return x, w, D, e


def lognormal_distribution(b, D_median, sigma_ln, S0=1.0, baseline=0.0, *,
                           n_nodes: int = LOGNORMAL_NODES) -> np.ndarray:
    """Decay of a log-normal distribution of diffusion coefficients.

    ``S = S0 ∫ N(ln D; ln D_median, σ_ln²) exp(−b D) d ln D + baseline``, by Gauss-Hermite
    quadrature in ln D (``n_nodes`` nodes; the default keeps the absolute error in S/S0 below
    1e-10 for σ_ln ≤ 2 and b·D_median up to 1e3).

    Parameters
    ----------
    b : array_like
        s m⁻².
    D_median : float
        Median diffusion coefficient, m² s⁻¹ (the mean is ``D_median exp(σ_ln²/2)``).
    sigma_ln : float
        Standard deviation of ln D (dimensionless, ≥ 0).
    S0, baseline : float
        Signal at b = 0 and constant offset (signal units).
    n_nodes : int
        Quadrature nodes.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> round(float(lognormal_distribution(1e9, 1e-9, 0.0)), 12) == round(math.exp(-1), 12)
    True
    """
    b = _array(b, "b")
    if sigma_ln < 0:
        raise InputError(f"sigma_ln = {sigma_ln}", field="sigma_ln", expected="sigma_ln >= 0")
    _, w, _, e = _lognormal_parts(b, D_median, sigma_ln, n_nodes)
    return S0 * (e @ w) + baseline


def lognormal_jacobian(b, D_median, sigma_ln, S0=1.0, baseline=0.0, *,
                       n_nodes: int = LOGNORMAL_NODES) -> np.ndarray:
    """Derivatives of :func:`lognormal_distribution`: columns D_median, sigma_ln, S0, baseline."""
    b = np.atleast_1d(_array(b, "b")).astype(float)
    x, w, D, e = _lognormal_parts(b, D_median, sigma_ln, n_nodes)
    bDe = b[:, None] * D * e                                        # b D_i e^{−b D_i}
    d_med = -S0 * (bDe @ w) / D_median
    d_sig = -S0 * (bDe @ (w * math.sqrt(2.0) * x))
    return np.column_stack([d_med, d_sig, e @ w, np.ones_like(b)])


def lognormal_reference(b, D_median, sigma_ln, *, epsrel: float = 1e-12) -> np.ndarray:
    """Log-normal decay by adaptive quadrature over ln D (for tests), S/S0."""
    b = _array(b, "b")
    out = np.empty(b.shape)
    mu = math.log(D_median)
    for idx, bb in np.ndenumerate(b):
        def f(z, bb=bb):
            return math.exp(-0.5 * z * z - bb * math.exp(mu + sigma_ln * z)) / math.sqrt(
                2 * math.pi)
        val, _ = integrate.quad(f, -40.0, 40.0, epsabs=0.0, epsrel=epsrel, limit=500,
                                points=[-3.0, 0.0, 3.0])
        out[idx] = val
    return out
