"""Effective transport coefficients of two-phase media: grains and grain boundaries.

Everything here applies to any transport coefficient that obeys a flux law of the same form —
diffusion coefficients (m² s⁻¹) or conductivities (S m⁻¹).

* **Series (1D brick) model** of grains of size ``l`` separated by boundaries of width ``δ``:
  ``(l + δ) / D_eff = l / D_bulk + δ / D_gb``; for ``l ≫ δ``,
  ``D_eff = 1 / (1/D_bulk + 1/((l/δ) D_gb))`` (:func:`series_diffusivity`), and its inverse
  (:func:`gb_term_from_effective`). This is the right model when ``D_gb ≪ D_bulk`` so that
  transport along the boundaries is negligible (LLTO, seed 000).
* **Volume-fraction bounds and mixtures**: Wiener series/parallel (Reuss ≤ D ≤ Voigt),
  Maxwell-Garnett and the Hashin-Shtrikman bounds for an isotropic mixture in 2 or 3
  dimensions.
* **Brick-layer impedance relations**: the specific grain-boundary conductivity from the
  apparent one and the capacitance ratio, ``σ_gb,sp = σ_gb,app · C_bulk / C_gb``.

Functions with uncertain inputs return an :class:`~ionscale.transport.nernst_einstein.Estimate`
(value, error, SI unit, provenance); the pure mixing rules return arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from ..errors import InputError
from ..results import Estimate, Provenance
from ..uncertainty import as_scalar, propagate_relative, value_and_error

_ERROR_METHODS = ("first-order", "monte-carlo")
_DISTRIBUTIONS = ("normal", "lognormal")


# --------------------------------------------------------------------------- helpers


def _positive_samples(rng, mean, sd, size, distribution):
    """Draws of a positive quantity with the given mean and SD (shape ``mean.shape + size``)."""
    mean = np.asarray(mean, dtype=float)[..., None]
    sd = np.asarray(sd, dtype=float)[..., None]
    shape = np.broadcast_shapes(mean.shape, sd.shape)[:-1] + (size,)
    if not np.any(sd > 0):
        return np.broadcast_to(mean, shape).copy()
    if distribution == "lognormal":
        s2 = np.log1p((sd / mean) ** 2)
        return rng.lognormal(np.log(mean) - s2 / 2, np.sqrt(s2), shape)
    # normal truncated to positive values (a grain size cannot be negative)
    safe = np.where(sd > 0, sd, 1.0)
    a = np.where(sd > 0, -mean / safe, -np.inf)
    out = stats.truncnorm.rvs(a, np.inf, loc=mean, scale=safe, size=shape, random_state=rng)
    return np.where(sd > 0, out, mean)


def _check_fraction(f, field: str = "volume_fraction") -> np.ndarray:
    try:
        f = np.asarray(f, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {f!r}", field=field, expected="a number in [0, 1]") \
            from None
    if not np.all(np.isfinite(f)) or np.any((f < 0) | (f > 1)):
        raise InputError("volume fraction outside [0, 1]", field=field, expected="0 <= f <= 1")
    return f


def _check_dimension(dimension) -> int:
    if dimension not in (1, 2, 3):
        raise InputError(f"dimension {dimension!r}", field="dimension", expected="1, 2 or 3")
    return int(dimension)


def _positive(x, field: str) -> np.ndarray:
    return value_and_error(x, None, field=field)[0]


# --------------------------------------------------------------------------- series model


def _series_approx(d_b, g, l):
    return 1.0 / (1.0 / d_b + 1.0 / (l * g))


def _series_exact(d_b, d_gb, delta, l):
    return (l + delta) / (l / d_b + delta / d_gb)


def series_diffusivity(
    D_bulk,
    D_gb_over_delta=None,
    grain_size=None,
    *,
    D_gb=None,
    delta=None,
    D_bulk_error=None,
    D_gb_over_delta_error=None,
    D_gb_error=None,
    delta_error=None,
    grain_size_error=None,
    error_method: str = "first-order",
    distribution: str = "normal",
    n_samples: int = 200_000,
    seed: int | np.random.Generator | None = None,
) -> Estimate:
    """Effective diffusivity of grains and boundaries in series (1D brick-layer model).

    Give either ``D_gb_over_delta`` (the ``l ≫ δ`` form,
    ``D_eff = 1 / (1/D_bulk + 1/((l/δ) D_gb))``) or ``D_gb`` and ``delta`` separately (the
    exact form ``(l + δ) / D_eff = l / D_bulk + δ / D_gb``).

    Error propagation (independent inputs):

    * ``"first-order"``: the Jacobian of the formula times the input errors (delta method).
      With a wide grain-size distribution (16 ± 11 µm) this is a linearisation around the
      nominal value.
    * ``"monte-carlo"``: ``n_samples`` draws; the grain size follows ``distribution``
      (``"normal"`` truncated at 0, or ``"lognormal"`` with the same mean and SD), the other
      positive inputs are drawn log-normally with their mean and SD. The value stays the
      nominal one; the error is the SD of the draws, and ``interval`` (16th-84th percentile),
      ``details["mean"]`` and ``details["median"]`` describe the distribution of D_eff.

    Parameters
    ----------
    D_bulk : float or array_like
        Bulk (grain interior) diffusivity, m² s⁻¹.
    D_gb_over_delta : float or array_like, optional
        Grain-boundary diffusivity over boundary width, m s⁻¹ (1.5e-6 cm s⁻¹ = 1.5e-8 m s⁻¹).
    grain_size : float or array_like
        Grain size ``l``, m.
    D_gb : float, optional
        Grain-boundary diffusivity, m² s⁻¹ (exact form, with ``delta``).
    delta : float, optional
        Boundary width, m.
    D_bulk_error, D_gb_over_delta_error, D_gb_error, delta_error, grain_size_error : optional
        One-σ errors (or the SD of the grain-size distribution), same units.
    error_method : {"first-order", "monte-carlo"}
        How errors are propagated.
    distribution : {"normal", "lognormal"}
        Grain-size distribution for Monte Carlo.
    n_samples : int
        Monte-Carlo draws.
    seed : int or Generator, optional
        Seed of the draws.

    Returns
    -------
    Estimate
        ``D_eff`` in m² s⁻¹.

    Examples
    --------
    >>> d = series_diffusivity(2.6e-12, 1.5e-8, 16e-6, grain_size_error=11e-6)  # seed 000
    >>> print(d)
    D_eff = (2.2 ± 1.4)e-9 cm² s⁻¹
    """
    if error_method not in _ERROR_METHODS:
        raise InputError(f"unknown error method {error_method!r}", field="error_method",
                         expected=" or ".join(_ERROR_METHODS))
    if distribution not in _DISTRIBUTIONS:
        raise InputError(f"unknown distribution {distribution!r}", field="distribution",
                         expected=" or ".join(_DISTRIBUTIONS))
    if grain_size is None:
        raise InputError("no grain size given", field="grain_size", expected="l in m")
    exact = D_gb is not None or delta is not None
    if exact and D_gb_over_delta is not None:
        raise InputError("give D_gb_over_delta or (D_gb and delta), not both",
                         field="D_gb_over_delta", expected="one form of the boundary term")
    if exact and (D_gb is None or delta is None):
        raise InputError("the exact form needs both D_gb and delta",
                         field="delta" if delta is None else "D_gb",
                         expected="D_gb in m^2/s and delta in m")
    if not exact and D_gb_over_delta is None:
        raise InputError("no grain-boundary term given", field="D_gb_over_delta",
                         expected="D_gb_over_delta in m/s, or D_gb and delta")
    db, db_e = value_and_error(D_bulk, D_bulk_error, field="D_bulk")
    l, l_e = value_and_error(grain_size, grain_size_error, field="grain_size")
    params: dict[str, Any] = {"error_method": error_method, "D_bulk": db, "grain_size": l,
                              "grain_size_error": l_e}
    if exact:
        dg, dg_e = value_and_error(D_gb, D_gb_error, field="D_gb")
        dl, dl_e = value_and_error(delta, delta_error, field="delta")
        value = _series_exact(db, dg, dl, l)
        s = l / db + dl / dg
        grads = [
            (value**2 * l / ((l + dl) * db**2), db_e),
            (value**2 * dl / ((l + dl) * dg**2), dg_e),
            ((1.0 - value / dg) / s, dl_e),
            ((1.0 - value / db) / s, l_e),
        ]
        inputs = [(db, db_e), (dg, dg_e), (dl, dl_e), (l, l_e)]
        params.update(form="exact", D_gb=dg, delta=dl)

        def model(x):
            return _series_exact(*x)
    else:
        g, g_e = value_and_error(D_gb_over_delta, D_gb_over_delta_error,
                                 field="D_gb_over_delta")
        value = _series_approx(db, g, l)
        gl = l * g
        grads = [
            (value**2 / db**2, db_e),
            (value**2 / gl**2 * l, g_e),
            (value**2 / gl**2 * g, l_e),
        ]
        inputs = [(db, db_e), (g, g_e), (l, l_e)]
        params.update(form="l >> delta", D_gb_over_delta=g)

        def model(x):
            return _series_approx(*x)
    err = np.sqrt(sum((d * e) ** 2 for d, e in grads))
    interval = None
    details: dict[str, Any] = {"first_order_error": as_scalar(err)}
    if error_method == "monte-carlo":
        rng = np.random.default_rng(seed)
        n = int(n_samples)
        if n < 100:
            raise InputError(f"n_samples = {n}", field="n_samples", expected="at least 100")
        draws = []
        for i, (v, e) in enumerate(inputs):
            is_grain = i == len(inputs) - 1
            draws.append(_positive_samples(rng, v, e, n,
                                           distribution if is_grain else "lognormal"))
        draws = np.broadcast_arrays(*draws)
        samples = model(draws)
        err = samples.std(axis=-1, ddof=1)
        lo, hi = np.percentile(samples, [15.865, 84.135], axis=-1)
        interval = (as_scalar(lo), as_scalar(hi))
        details.update(mean=as_scalar(samples.mean(axis=-1)),
                       median=as_scalar(np.median(samples, axis=-1)),
                       distribution=distribution, n_samples=n)
        params.update(distribution=distribution, n_samples=n, seed=seed if isinstance(
            seed, int) else None)
    return Estimate(name="D_eff", value=as_scalar(value), error=as_scalar(err), unit="m^2/s",
                    symbol="D_eff", interval=interval, details=details,
                    provenance=Provenance.build("transport.series_diffusivity", (), params))


def gb_term_from_effective(D_eff, D_bulk, *, D_eff_error=None, D_bulk_error=None) -> Estimate:
    """Grain-boundary term ``(l/δ) D_gb`` from effective and bulk diffusivities.

    The inverse of the ``l ≫ δ`` series model: ``(l/δ) D_gb = 1 / (1/D_eff - 1/D_bulk)``
    (seed 000, Fig. 5c). First-order errors of independent inputs.

    Parameters
    ----------
    D_eff : float or array_like
        Effective (long-range) diffusivity, m² s⁻¹; must be below ``D_bulk``.
    D_bulk : float or array_like
        Bulk diffusivity at the same temperatures, m² s⁻¹.
    D_eff_error, D_bulk_error : optional
        One-σ errors, m² s⁻¹.

    Returns
    -------
    Estimate
        ``(l/δ) D_gb`` in m² s⁻¹.

    Examples
    --------
    >>> print(gb_term_from_effective(3.0e-13, 2.6e-12))   # 22 °C, seed 000
    (l/δ)D_gb = 3.39e-9 cm² s⁻¹
    """
    de, de_e = value_and_error(D_eff, D_eff_error, field="D_eff")
    db, db_e = value_and_error(D_bulk, D_bulk_error, field="D_bulk")
    try:
        de, db = np.broadcast_arrays(de, db)
    except ValueError:
        raise InputError("shapes do not broadcast", field="D_bulk",
                         expected="arrays of equal length or scalars") from None
    if np.any(de >= db):
        raise InputError("D_eff is not below D_bulk, so the boundary term is not finite",
                         field="D_eff", expected="D_eff < D_bulk (series model)")
    g = de * db / (db - de)
    err = np.sqrt((g**2 / de**2 * de_e) ** 2 + (g**2 / db**2 * db_e) ** 2)
    return Estimate(name="gb_term", value=as_scalar(g), error=as_scalar(err), unit="m^2/s",
                    symbol="(l/δ)D_gb",
                    provenance=Provenance.build("transport.gb_term_from_effective", (), {}))


# --------------------------------------------------------------------------- mixing rules


def series_mixture(D1, D2, f1):
    """Wiener lower bound (Reuss, layers across the flux): ``1 / (f1/D1 + (1-f1)/D2)``.

    Parameters
    ----------
    D1, D2 : float or array_like
        Coefficients of the two phases (any unit, e.g. m² s⁻¹ or S m⁻¹), > 0.
    f1 : float or array_like
        Volume fraction of phase 1, in [0, 1].

    Returns
    -------
    ndarray or float
        Effective coefficient, same unit as D1.
    """
    d1, d2, f = _positive(D1, "D1"), _positive(D2, "D2"), _check_fraction(f1, "f1")
    return as_scalar(1.0 / (f / d1 + (1.0 - f) / d2))


def parallel_mixture(D1, D2, f1):
    """Wiener upper bound (Voigt, layers along the flux): ``f1 D1 + (1-f1) D2``.

    Parameters
    ----------
    D1, D2 : float or array_like
        Coefficients of the two phases, > 0.
    f1 : float or array_like
        Volume fraction of phase 1, in [0, 1].

    Returns
    -------
    ndarray or float
        Effective coefficient, same unit as D1.
    """
    d1, d2, f = _positive(D1, "D1"), _positive(D2, "D2"), _check_fraction(f1, "f1")
    return as_scalar(f * d1 + (1.0 - f) * d2)


def _mg(dm, di, f, d):
    # the textbook form, rearranged so that every term is positive (no cancellation)
    num = (1.0 + (d - 1) * f) * di + (d - 1) * (1.0 - f) * dm
    den = (1.0 - f) * di + (d - 1 + f) * dm
    return dm * num / den


def maxwell_garnett(D_matrix, D_inclusion, volume_fraction, *, dimension: int = 3):
    """Maxwell-Garnett effective coefficient of dilute inclusions in a continuous matrix.

    ``D = D_m [D_i + (d-1) D_m + (d-1) f (D_i - D_m)] / [D_i + (d-1) D_m - f (D_i - D_m)]``
    for spherical (d = 3) or circular (d = 2) inclusions; d = 1 is the series model.

    Parameters
    ----------
    D_matrix, D_inclusion : float or array_like
        Coefficients of matrix and inclusions (any common unit), > 0.
    volume_fraction : float or array_like
        Volume fraction of the inclusions, in [0, 1].
    dimension : {1, 2, 3}
        Dimensionality.

    Returns
    -------
    ndarray or float
        Effective coefficient, same unit as the inputs. With the better conductor as matrix
        this is the Hashin-Shtrikman upper bound, with the worse one the lower bound.
    """
    dm, di = _positive(D_matrix, "D_matrix"), _positive(D_inclusion, "D_inclusion")
    f = _check_fraction(volume_fraction)
    return as_scalar(_mg(dm, di, f, _check_dimension(dimension)))


def hashin_shtrikman_bounds(D1, D2, f1, *, dimension: int = 3):
    """Hashin-Shtrikman bounds of an isotropic two-phase mixture.

    The tightest bounds given only the volume fractions: Maxwell-Garnett with the worse
    conductor as matrix (lower) and with the better one as matrix (upper).

    Parameters
    ----------
    D1, D2 : float or array_like
        Coefficients of the two phases (any common unit), > 0.
    f1 : float or array_like
        Volume fraction of phase 1, in [0, 1].
    dimension : {2, 3}
        Dimensionality (in 1D the bounds collapse to the series value).

    Returns
    -------
    lower, upper : ndarray or float
        ``series_mixture ≤ lower ≤ upper ≤ parallel_mixture``.
    """
    d1, d2, f = _positive(D1, "D1"), _positive(D2, "D2"), _check_fraction(f1, "f1")
    d = _check_dimension(dimension)
    d1, d2, f = np.broadcast_arrays(d1, d2, f)
    low_is_1 = d1 <= d2
    d_lo = np.where(low_is_1, d1, d2)
    d_hi = np.where(low_is_1, d2, d1)
    f_hi = np.where(low_is_1, 1.0 - f, f)  # volume fraction of the better phase
    lower = _mg(d_lo, d_hi, f_hi, d)
    upper = _mg(d_hi, d_lo, 1.0 - f_hi, d)
    return as_scalar(lower), as_scalar(upper)


# --------------------------------------------------------------------------- brick layer


def brick_layer_conductivity(sigma_bulk, sigma_gb, grain_size, delta):
    """Conductivity of grains and boundaries in series (brick layer, transport across GBs).

    ``(l + δ) / σ = l / σ_bulk + δ / σ_gb`` with the *specific* boundary conductivity.

    Parameters
    ----------
    sigma_bulk, sigma_gb : float or array_like
        Bulk and specific grain-boundary conductivities, S m⁻¹.
    grain_size, delta : float or array_like
        Grain size and boundary width, m.

    Returns
    -------
    ndarray or float
        Total conductivity, S m⁻¹.
    """
    sb, sg = _positive(sigma_bulk, "sigma_bulk"), _positive(sigma_gb, "sigma_gb")
    l, dl = _positive(grain_size, "grain_size"), _positive(delta, "delta")
    return as_scalar(_series_exact(sb, sg, dl, l))


def specific_gb_conductivity(
    sigma_gb_apparent,
    C_bulk,
    C_gb,
    *,
    sigma_gb_apparent_error=None,
    C_bulk_error=None,
    C_gb_error=None,
) -> Estimate:
    """Specific grain-boundary conductivity from the brick-layer capacitance ratio.

    The apparent boundary conductivity ``σ_gb,app = L / (R_gb A)`` refers to the pellet
    geometry; the boundaries occupy only ``δ/l ≈ C_bulk / C_gb`` of it (equal permittivities),
    so ``σ_gb,sp = σ_gb,app · C_bulk / C_gb``.

    Parameters
    ----------
    sigma_gb_apparent : float or array_like
        Apparent grain-boundary conductivity, S m⁻¹.
    C_bulk, C_gb : float or array_like
        Bulk and grain-boundary capacitances, F (e.g. from the Brug formula).
    sigma_gb_apparent_error, C_bulk_error, C_gb_error : optional
        One-σ errors, same units.

    Returns
    -------
    Estimate
        ``sigma_gb_specific`` in S m⁻¹.
    """
    s, s_e = value_and_error(sigma_gb_apparent, sigma_gb_apparent_error,
                             field="sigma_gb_apparent")
    cb, cb_e = value_and_error(C_bulk, C_bulk_error, field="C_bulk")
    cg, cg_e = value_and_error(C_gb, C_gb_error, field="C_gb")
    v = s * cb / cg
    err = propagate_relative(v, (s, s_e, 1), (cb, cb_e, 1), (cg, cg_e, -1))
    return Estimate(name="sigma_gb_specific", value=as_scalar(v), error=as_scalar(err),
                    unit="S/m", symbol="σ_gb,sp",
                    provenance=Provenance.build("transport.specific_gb_conductivity", (), {}))


def gb_thickness_from_capacitance(grain_size, C_bulk, C_gb, *, grain_size_error=None,
                                  C_bulk_error=None, C_gb_error=None) -> Estimate:
    """Grain-boundary width from the brick-layer capacitance ratio, ``δ = l · C_bulk / C_gb``.

    Parameters
    ----------
    grain_size : float or array_like
        Grain size, m.
    C_bulk, C_gb : float or array_like
        Bulk and grain-boundary capacitances, F.
    grain_size_error, C_bulk_error, C_gb_error : optional
        One-σ errors, same units.

    Returns
    -------
    Estimate
        ``delta`` in m.
    """
    l, l_e = value_and_error(grain_size, grain_size_error, field="grain_size")
    cb, cb_e = value_and_error(C_bulk, C_bulk_error, field="C_bulk")
    cg, cg_e = value_and_error(C_gb, C_gb_error, field="C_gb")
    v = l * cb / cg
    err = propagate_relative(v, (l, l_e, 1), (cb, cb_e, 1), (cg, cg_e, -1))
    return Estimate(name="delta", value=as_scalar(v), error=as_scalar(err), unit="m", symbol="δ",
                    provenance=Provenance.build("transport.gb_thickness_from_capacitance", (),
                                                {}))
