"""Conductivity from resistance and geometry, brick-layer grain boundaries, ASR, Arrhenius of σT.

A pellet of thickness ``L`` between electrodes of area ``A`` with resistance ``R`` has the
conductivity ``σ = L / (R A)``. Geometry is often the largest uncertainty: seed 004 shows that
a soft electrolyte pressed in its cell creeps during the measurement, so the thickness measured
before and after differs. :func:`conductivity` then uses the mean thickness and adds half the
difference as a systematic uncertainty (in quadrature with the statistical one) and also
reports the two conductivities that bound it.

The brick-layer model (cubic grains of size d separated by boundaries of thickness δ ≪ d, the
same permittivity in grain and boundary) gives the *specific* grain-boundary conductivity from
the grain-boundary arc, ``σ_gb,sp = (L / A) (1 / R_gb) (C_bulk / C_gb)``, because
``C_bulk / C_gb ≈ δ / d`` (Haile, West & Campbell, J. Mater. Res. 13 (1998) 1576).

The conductivity diffusion coefficient ``D_σ`` (Nernst-Einstein) and the Haven ratio are in
:mod:`ionscale.transport.nernst_einstein` (``conductivity_diffusivity``); the Arrhenius
analysis of ``σT`` goes through :func:`ionscale.transport.arrhenius.fit_arrhenius`
(:func:`sigma_T_arrhenius` is a thin wrapper).

Everything is SI: R in ohm, L in m, A in m², σ in S m⁻¹ (printed in S cm⁻¹), ASR in ohm m²
(1 ohm cm² = 1e-4 ohm m²). Errors are one-σ, independent inputs, first order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from ..errors import InputError
from ..results import Estimate, Provenance, Value
from ..uncertainty import as_scalar, broadcast_inputs, propagate_relative, value_and_error
from .arrhenius import ArrheniusFit, fit_arrhenius

__all__ = [
    "area_specific_resistance", "brick_layer_gb_conductivity", "conductivity",
    "electrode_area", "sigma_T_arrhenius", "total_conductivity",
]




def electrode_area(area=None, diameter=None, *, area_error=None,
                   diameter_error=None) -> tuple[np.ndarray, np.ndarray]:
    """Electrode area and its error from an area or the diameter of a round electrode.

    Parameters
    ----------
    area : float or Estimate, optional
        Area A, m².
    diameter : float or Estimate, optional
        Diameter d, m (``A = π d² / 4``, ``σ_A = A · 2 σ_d / d``).
    area_error, diameter_error : float, optional
        One-σ errors, m² and m.

    Returns
    -------
    area, error : ndarray
        m².

    Raises
    ------
    InputError
        Neither or both of area and diameter, non-positive values.

    Examples
    --------
    >>> a, e = electrode_area(diameter=7e-3, diameter_error=0.05e-3)
    >>> round(float(a) * 1e6, 3), round(float(e) * 1e6, 3)   # mm²
    (38.485, 0.55)
    """
    if (area is None) == (diameter is None):
        raise InputError("give the electrode area or its diameter" if area is None else
                         "both area and diameter given", field="area",
                         expected="exactly one of area (m^2) or diameter (m)")
    if area is not None:
        return value_and_error(area, area_error, field="area")
    d, d_e = value_and_error(diameter, diameter_error, field="diameter")
    a = math.pi * d * d / 4.0
    return a, a * 2.0 * d_e / d


def conductivity(
    R,
    thickness,
    *,
    area=None,
    diameter=None,
    R_error=None,
    thickness_error=None,
    area_error=None,
    diameter_error=None,
    thickness_after=None,
    thickness_after_error=None,
) -> Estimate:
    """Conductivity ``σ = L / (R A)`` with its uncertainty from resistance and geometry.

    When the thickness was measured before and after the impedance measurement (seed 004),
    give the first as ``thickness`` and the second as ``thickness_after``: σ is computed with
    the mean ``L = (L_before + L_after) / 2``; half their difference ``|L_before - L_after| / 2``
    is a systematic uncertainty of L, added in quadrature to the statistical error, and the
    two conductivities computed with each thickness are reported in ``details`` as
    ``sigma_before`` and ``sigma_after`` (they bound σ).

    Parameters
    ----------
    R : float, array_like or Estimate
        Resistance, ohm (arrays for a temperature or time series).
    thickness : float or Estimate
        Sample thickness L (before the measurement when ``thickness_after`` is given), m.
    area : float or Estimate, optional
        Electrode area A, m².
    diameter : float or Estimate, optional
        Electrode diameter, m, instead of ``area``.
    R_error, thickness_error, area_error, diameter_error : float, optional
        One-σ errors in ohm, m, m², m (taken from Estimates when omitted; 0 otherwise).
    thickness_after : float or Estimate, optional
        Thickness measured after the measurement, m.
    thickness_after_error : float, optional
        Its error, m.

    Returns
    -------
    Estimate
        ``sigma`` in S m⁻¹. ``details``: ``relative_error_R`` (the point-to-point part),
        ``relative_error_geometry`` (common to every point of a series: L, A and the
        before/after systematic), ``thickness`` used, and with ``thickness_after`` also
        ``sigma_before``, ``sigma_after``, ``systematic_error`` and ``statistical_error``.

    Raises
    ------
    InputError
        Non-positive values, missing area and diameter.

    Examples
    --------
    An LPS pellet of 7 mm diameter that crept from 0.62 to 0.58 mm during the measurement:

    >>> s = conductivity(520.0, 0.62e-3, diameter=7e-3, thickness_after=0.58e-3)
    >>> print(s)
    σ = (3.00 ± 0.10)e-4 S cm⁻¹
    >>> round(s.details["sigma_before"] * 10, 3), round(s.details["sigma_after"] * 10, 3)
    (0.31, 0.29)
    """
    r, r_e = value_and_error(R, R_error, field="R")
    lb, lb_e = value_and_error(thickness, thickness_error, field="thickness")
    a, a_e = electrode_area(area, diameter, area_error=area_error,
                            diameter_error=diameter_error)
    details: dict = {}
    params: dict = {"R": r, "thickness": lb, "area": a}
    if thickness_after is not None:
        la, la_e = value_and_error(thickness_after, thickness_after_error,
                                   field="thickness_after")
        lb, la = broadcast_inputs(lb, la, fields=("thickness", "thickness_after"))
        L = 0.5 * (lb + la)
        L_stat = 0.5 * np.sqrt(lb_e**2 + la_e**2)
        L_sys = 0.5 * np.abs(lb - la)
        params["thickness_after"] = la
    else:
        L, L_stat, L_sys = lb, lb_e, np.zeros_like(lb)
    r, L, a = broadcast_inputs(r, L, a, fields=("R", "thickness", "area"))
    sigma = L / (r * a)
    rel_r = r_e / r
    rel_geom_stat = np.sqrt((L_stat / L) ** 2 + (a_e / a) ** 2)
    rel_sys = L_sys / L
    stat = np.abs(sigma) * np.sqrt(rel_r**2 + rel_geom_stat**2)
    sys_ = np.abs(sigma) * rel_sys
    err = np.sqrt(stat**2 + sys_**2)
    details.update(relative_error_R=as_scalar(rel_r),
                   relative_error_geometry=as_scalar(np.sqrt(rel_geom_stat**2 + rel_sys**2)),
                   thickness=as_scalar(L))
    if thickness_after is not None:
        details.update(sigma_before=as_scalar(lb / (r * a)), sigma_after=as_scalar(la / (r * a)),
                       statistical_error=as_scalar(stat), systematic_error=as_scalar(sys_),
                       rule="mean thickness; half the before/after difference as systematic "
                            "error, added in quadrature")
    return Estimate(name="sigma", value=as_scalar(sigma), error=as_scalar(err), unit="S/m",
                    symbol="σ", provenance=Provenance.build("transport.conductivity", (),
                                                            params),
                    details=details)


def total_conductivity(
    resistances: Sequence,
    thickness,
    *,
    area=None,
    diameter=None,
    resistance_errors=None,
    resistance_covariance=None,
    thickness_error=None,
    area_error=None,
    diameter_error=None,
    thickness_after=None,
    thickness_after_error=None,
) -> Estimate:
    """Total conductivity from the resistances of the arcs in series, ``σ = L / (A Σ R_i)``.

    Parameters
    ----------
    resistances : sequence of float or Estimate
        Resistances in series (bulk, grain boundary...), ohm. Each item may be an array (a
        series of spectra); they must broadcast together.
    thickness, area, diameter, thickness_error, area_error, diameter_error, thickness_after,
    thickness_after_error
        As in :func:`conductivity`.
    resistance_errors : sequence of float, optional
        One-σ errors of the resistances, ohm (taken from Estimates when omitted).
    resistance_covariance : array_like, optional
        Their covariance matrix (from the circuit fit; ``R_b`` and ``R_gb`` are usually
        anti-correlated), instead of ``resistance_errors``.

    Returns
    -------
    Estimate
        ``sigma_total`` in S m⁻¹ (details as in :func:`conductivity`, plus ``R_total``).

    Examples
    --------
    >>> s = total_conductivity([100.0, 300.0], 1e-3, area=1e-4)
    >>> round(float(s.value), 6)   # S/m
    0.025
    """
    if isinstance(resistances, Estimate | Value) or np.isscalar(resistances):
        resistances = [resistances]
    items = list(resistances)
    if not items:
        raise InputError("no resistance given", field="resistances",
                         expected="at least one resistance in ohm")
    errs = list(resistance_errors) if resistance_errors is not None else [None] * len(items)
    if len(errs) != len(items):
        raise InputError(f"{len(errs)} errors for {len(items)} resistances",
                         field="resistance_errors", expected="one error per resistance")
    vals, es = [], []
    for i, (x, e) in enumerate(zip(items, errs, strict=True)):
        v, ee = value_and_error(x, e, field=f"resistances[{i}]")
        vals.append(v)
        es.append(ee)
    vals = broadcast_inputs(*vals, fields=tuple(f"resistances[{i}]" for i in range(len(vals))))
    total = np.sum(vals, axis=0)
    if resistance_covariance is not None:
        cov = np.asarray(resistance_covariance, dtype=float)
        if cov.shape != (len(items), len(items)) or not np.all(np.isfinite(cov)):
            raise InputError(f"covariance has shape {cov.shape}", field="resistance_covariance",
                             expected=f"a finite ({len(items)}, {len(items)}) matrix")
        var = float(np.sum(cov))
        if var < 0:
            raise InputError("the covariance gives a negative variance of the sum",
                             field="resistance_covariance", expected="a covariance matrix")
        total_e = np.full(np.shape(total), math.sqrt(var))
    else:
        total_e = np.sqrt(np.sum([np.broadcast_to(e, np.shape(total)) ** 2 for e in es],
                                 axis=0))
    s = conductivity(total, thickness, area=area, diameter=diameter, R_error=total_e,
                     thickness_error=thickness_error, area_error=area_error,
                     diameter_error=diameter_error, thickness_after=thickness_after,
                     thickness_after_error=thickness_after_error)
    return replace(s, name="sigma_total", symbol="σ_total",
                   details={**s.details, "R_total": as_scalar(total),
                            "R_total_error": as_scalar(total_e)},
                   provenance=Provenance.build("transport.total_conductivity", (),
                                               {"resistances": [np.asarray(v) for v in vals],
                                                **dict(s.provenance.parameters)}))


def area_specific_resistance(
    R,
    area=None,
    *,
    diameter=None,
    R_error=None,
    area_error=None,
    diameter_error=None,
    n_interfaces: int = 1,
) -> Estimate:
    """Area-specific resistance ``ASR = R A / n_interfaces``.

    Parameters
    ----------
    R : float, array_like or Estimate
        Resistance (e.g. of the interfacial arc), ohm.
    area : float or Estimate, optional
        Electrode area, m².
    diameter : float, optional
        Electrode diameter, m, instead of ``area``.
    R_error, area_error, diameter_error : float, optional
        One-σ errors.
    n_interfaces : int
        Number of identical interfaces in series in ``R`` (2 for a symmetric Li|SE|Li cell,
        to get the ASR of one interface).

    Returns
    -------
    Estimate
        ``ASR`` in ohm m² (1 ohm cm² = 1e-4 ohm m²).

    Examples
    --------
    >>> asr = area_specific_resistance(50.0, 1e-4, n_interfaces=2)
    >>> round(float(asr.value) * 1e4, 6)   # ohm cm²
    25.0
    """
    if int(n_interfaces) != n_interfaces or n_interfaces < 1:
        raise InputError(f"n_interfaces = {n_interfaces!r}", field="n_interfaces",
                         expected="a positive integer")
    r, r_e = value_and_error(R, R_error, field="R")
    a, a_e = electrode_area(area, diameter, area_error=area_error,
                            diameter_error=diameter_error)
    r, a = broadcast_inputs(r, a, fields=("R", "area"))
    asr = r * a / n_interfaces
    err = propagate_relative(asr, (r, r_e, 1), (a, a_e, 1))
    return Estimate(name="ASR", value=as_scalar(asr), error=as_scalar(err), unit="ohm*m^2",
                    symbol="ASR",
                    provenance=Provenance.build("transport.area_specific_resistance", (),
                                                {"R": r, "area": a,
                                                 "n_interfaces": int(n_interfaces)}))


def brick_layer_gb_conductivity(
    R_gb,
    C_bulk,
    C_gb,
    thickness,
    area=None,
    *,
    diameter=None,
    R_gb_error=None,
    C_bulk_error=None,
    C_gb_error=None,
    thickness_error=None,
    area_error=None,
    diameter_error=None,
    grain_size=None,
    grain_size_error=None,
) -> Estimate:
    """Specific grain-boundary conductivity by the brick-layer model.

    ``σ_gb,sp = (L / A) (1 / R_gb) (C_bulk / C_gb)``: the apparent grain-boundary conductivity
    ``L / (A R_gb)`` corrected by the volume fraction of boundaries, ``δ / d ≈ C_bulk / C_gb``
    (equal permittivities of grain and boundary assumed). Use Brug capacitances
    (:func:`ionscale.impedance.capacitance.brug_capacitance`) for CPE arcs.

    Parameters
    ----------
    R_gb : float, array_like or Estimate
        Grain-boundary resistance, ohm.
    C_bulk, C_gb : float, array_like or Estimate
        Capacitances of the bulk and grain-boundary arcs, F.
    thickness : float or Estimate
        Sample thickness, m.
    area : float or Estimate, optional
        Electrode area, m² (or ``diameter``, m).
    R_gb_error, C_bulk_error, C_gb_error, thickness_error, area_error, diameter_error : optional
        One-σ errors of independent inputs.
    grain_size : float, optional
        Grain size d, m: also reports the boundary thickness ``δ = d C_bulk / C_gb``.
    grain_size_error : float, optional
        Its error, m.

    Returns
    -------
    Estimate
        ``sigma_gb_sp`` in S m⁻¹; ``details``: ``sigma_gb_apparent`` (``L / (A R_gb)``),
        ``delta_over_d`` (``C_bulk / C_gb``) and, with ``grain_size``, ``gb_thickness`` and
        its error (m).

    Examples
    --------
    >>> s = brick_layer_gb_conductivity(1e4, 2e-12, 2e-10, 1e-3, 1e-4)
    >>> float(s.value)   # S/m: (10 m⁻¹)(1e-4 S)(0.01)
    1e-05
    """
    r, r_e = value_and_error(R_gb, R_gb_error, field="R_gb")
    cb, cb_e = value_and_error(C_bulk, C_bulk_error, field="C_bulk")
    cg, cg_e = value_and_error(C_gb, C_gb_error, field="C_gb")
    L, L_e = value_and_error(thickness, thickness_error, field="thickness")
    a, a_e = electrode_area(area, diameter, area_error=area_error,
                            diameter_error=diameter_error)
    r, cb, cg, L, a = broadcast_inputs(r, cb, cg, L, a,
                                 fields=("R_gb", "C_bulk", "C_gb", "thickness", "area"))
    apparent = L / (a * r)
    ratio = cb / cg
    s = apparent * ratio
    err = propagate_relative(s, (r, r_e, -1), (cb, cb_e, 1), (cg, cg_e, -1), (L, L_e, 1),
                             (a, a_e, -1))
    details: dict = {
        "sigma_gb_apparent": as_scalar(apparent),
        "sigma_gb_apparent_error": as_scalar(propagate_relative(apparent, (r, r_e, -1),
                                                              (L, L_e, 1), (a, a_e, -1))),
        "delta_over_d": as_scalar(ratio),
        "delta_over_d_error": as_scalar(propagate_relative(ratio, (cb, cb_e, 1),
                                                         (cg, cg_e, -1))),
    }
    if grain_size is not None:
        d, d_e = value_and_error(grain_size, grain_size_error, field="grain_size")
        delta = d * ratio
        details["gb_thickness"] = as_scalar(delta)
        details["gb_thickness_error"] = as_scalar(
            propagate_relative(delta, (d, d_e, 1), (cb, cb_e, 1), (cg, cg_e, -1)))
    return Estimate(name="sigma_gb_sp", value=as_scalar(s), error=as_scalar(err), unit="S/m",
                    symbol="σ_gb,sp",
                    provenance=Provenance.build("transport.brick_layer_gb_conductivity", (),
                                                {"R_gb": r, "C_bulk": cb, "C_gb": cg,
                                                 "thickness": L, "area": a}),
                    details=details)


def sigma_T_arrhenius(
    T,
    sigma,
    sigma_err=None,
    *,
    T_unit: str = "K",
    scale_error: float = 0.0,
    files: Iterable = (),
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> ArrheniusFit:
    """Arrhenius fit of ``σT = A exp(-Ea / k_B T)`` over a temperature series.

    A thin wrapper of :func:`ionscale.transport.arrhenius.fit_arrhenius` with
    ``form="sigmaT"``. An error common to every point (the geometry of one pellet) does not
    change Ea; pass it as ``scale_error`` (relative) rather than in ``sigma_err``: it is added
    to the error of the prefactor only.

    Parameters
    ----------
    T : array_like
        Temperatures in ``T_unit``.
    sigma : array_like or Estimate
        Conductivities σ, S m⁻¹ (an Estimate from :func:`conductivity` brings its errors).
    sigma_err : array_like, optional
        Point-to-point one-σ errors of σ, S m⁻¹. Taken from an Estimate ``sigma`` when omitted
        (its geometry part, ``details["relative_error_geometry"]``, then goes to
        ``scale_error`` instead). Unit weights without errors.
    T_unit : {"K", "C"}
        Unit of ``T``.
    scale_error : float
        Relative one-σ error common to all σ (e.g. 0.03 for 3 % on L/A).
    files, monte_carlo, seed
        As in :func:`~ionscale.transport.arrhenius.fit_arrhenius`.

    Returns
    -------
    ArrheniusFit
        ``"Ea"`` in J (prints in eV) and ``"prefactor"`` A in S K m⁻¹, with errors.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([243.0, 263.0, 283.0, 303.0, 323.0])
    >>> s = 50.0 * np.exp(-0.37 * 1.602176634e-19 / (1.380649e-23 * T)) / T * 1e3
    >>> fit = sigma_T_arrhenius(T, s, 0.02 * s)
    >>> round(fit["Ea"].value / 1.602176634e-19, 3)
    0.37
    """
    if isinstance(sigma, Estimate):
        if sigma_err is None:
            rel_r = sigma.details.get("relative_error_R")
            rel_g = sigma.details.get("relative_error_geometry")
            if rel_r is not None and rel_g is not None:
                sigma_err = np.asarray(rel_r) * np.asarray(sigma.value)
                g = np.asarray(rel_g, dtype=float)
                if not scale_error:
                    scale_error = float(np.max(g)) if g.size else 0.0
                if np.all(sigma_err == 0):
                    sigma_err = None
            else:
                sigma_err = sigma.error
        sigma = sigma.value
    if not np.isfinite(scale_error) or scale_error < 0:
        raise InputError(f"scale_error = {scale_error!r}", field="scale_error",
                         expected="a relative error >= 0")
    fit = fit_arrhenius(T, sigma, y_err=sigma_err, form="sigmaT", T_unit=T_unit, files=files,
                        monte_carlo=monte_carlo, seed=seed)
    if scale_error == 0:
        return fit
    cov = np.array(fit.covariance, dtype=float)
    cov[1, 1] += scale_error**2  # first order: sd(ln A) = relative error of A
    ln_err = math.sqrt(max(cov[1, 1], 0.0))
    a = fit.values["prefactor"]
    values = dict(fit.values)
    values["prefactor"] = Value(a.name, a.value, a.value * ln_err, a.unit, a.symbol)
    params = {**dict(fit.provenance.parameters), "scale_error": float(scale_error)}
    return replace(fit, values=values, covariance=cov, ln_prefactor_error=ln_err,
                   provenance=replace(fit.provenance, parameters=params))
