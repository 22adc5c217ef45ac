"""Nernst-Einstein relation, carrier densities and the Haven ratio.

The conductivity diffusion coefficient of mobile ions of charge ``z e`` and number density
``n`` is ``D_σ = σ k_B T / (n z² e²)``; the Haven ratio compares it with the tracer diffusion
coefficient, ``H_R = D* / D_σ``. The carrier density follows from the composition,
``n = ρ N_A x / M`` (density ρ, molar mass M of the formula unit, x mobile ions per formula
unit), or from a unit cell, ``n = x_cell / V_cell``.

All inputs and outputs are SI (S m⁻¹, K, m⁻³, m² s⁻¹, kg m⁻³, kg mol⁻¹). Every function takes
scalars or arrays with optional one-σ errors of independent inputs and returns an
:class:`Estimate` (value, first-order propagated error, unit, provenance), which unpacks as
``value, error = estimate``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Estimate, Provenance
from ..uncertainty import (  # noqa: F401  (re-exported: transport's public helpers)
    as_scalar,
    broadcast_inputs,
    propagate_relative,
    value_and_error,
)
from ..units import AVOGADRO, BOLTZMANN, ELEMENTARY_CHARGE

# --------------------------------------------------------------------------- composition

#: Standard atomic weights (IUPAC, abridged conventional values), g mol⁻¹.
ATOMIC_MASS: dict[str, float] = {
    "H": 1.008, "He": 4.0026, "Li": 6.94, "Be": 9.0122, "B": 10.81, "C": 12.011, "N": 14.007,
    "O": 15.999, "F": 18.998, "Ne": 20.180, "Na": 22.990, "Mg": 24.305, "Al": 26.982,
    "Si": 28.085, "P": 30.974, "S": 32.06, "Cl": 35.45, "Ar": 39.95, "K": 39.098,
    "Ca": 40.078, "Sc": 44.956, "Ti": 47.867, "V": 50.942, "Cr": 51.996, "Mn": 54.938,
    "Fe": 55.845, "Co": 58.933, "Ni": 58.693, "Cu": 63.546, "Zn": 65.38, "Ga": 69.723,
    "Ge": 72.630, "As": 74.922, "Se": 78.971, "Br": 79.904, "Rb": 85.468, "Sr": 87.62,
    "Y": 88.906, "Zr": 91.224, "Nb": 92.906, "Mo": 95.95, "Ag": 107.87, "Cd": 112.41,
    "In": 114.82, "Sn": 118.71, "Sb": 121.76, "Te": 127.60, "I": 126.90, "Cs": 132.91,
    "Ba": 137.33, "La": 138.91, "Ce": 140.12, "Pr": 140.91, "Nd": 144.24, "Sm": 150.36,
    "Eu": 151.96, "Gd": 157.25, "Tb": 158.93, "Dy": 162.50, "Ho": 164.93, "Er": 167.26,
    "Yb": 173.05, "Lu": 174.97, "Hf": 178.49, "Ta": 180.95, "W": 183.84, "Pt": 195.08,
    "Au": 196.97, "Pb": 207.2, "Bi": 208.98,
}

_TOKEN = re.compile(r"(?:([A-Z][a-z]?)|(\()|(\)))(\d+\.?\d*|\.\d+)?|(\s+)")


def parse_formula(formula: str) -> dict[str, float]:
    """Count the atoms of a chemical formula, with fractional stoichiometry and parentheses.

    Parameters
    ----------
    formula : str
        E.g. ``"Li0.29La0.57TiO3"``, ``"Li7La3Zr2O12"``, ``"Li1.3Al0.3Ti1.7(PO4)3"``.

    Returns
    -------
    dict
        Element symbol → atoms per formula unit.

    Raises
    ------
    InputError
        Unknown element, unbalanced parentheses or unreadable text.

    Examples
    --------
    >>> parse_formula("Li1.3Al0.3Ti1.7(PO4)3")["O"]
    12.0
    """
    if not isinstance(formula, str) or not formula.strip():
        raise InputError(f"cannot read formula {formula!r}", field="formula",
                         expected="a chemical formula such as 'Li0.29La0.57TiO3'")
    stack: list[dict[str, float]] = [{}]
    pos = 0
    text = formula.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InputError(f"cannot read {text[pos:]!r} in formula {formula!r}",
                             field="formula", expected="element symbols, numbers, ( )")
        el, open_, close, num, _ = m.groups()
        pos = m.end()
        n = float(num) if num is not None else 1.0
        if el is not None:
            if el not in ATOMIC_MASS:
                raise InputError(f"unknown element {el!r} in formula {formula!r}",
                                 field="formula",
                                 expected="an element symbol listed in ATOMIC_MASS")
            stack[-1][el] = stack[-1].get(el, 0.0) + n
        elif open_ is not None:
            if num is not None:
                raise InputError(f"number after '(' in formula {formula!r}", field="formula",
                                 expected="an element after '('")
            stack.append({})
        elif close is not None:
            if len(stack) == 1:
                raise InputError(f"unbalanced ')' in formula {formula!r}", field="formula",
                                 expected="matching parentheses")
            group = stack.pop()
            for k, v in group.items():
                stack[-1][k] = stack[-1].get(k, 0.0) + v * n
    if len(stack) != 1:
        raise InputError(f"unbalanced '(' in formula {formula!r}", field="formula",
                         expected="matching parentheses")
    counts = {k: v for k, v in stack[0].items() if v != 0}
    if not counts:
        raise InputError(f"no atoms in formula {formula!r}", field="formula",
                         expected="at least one element")
    return counts


def molar_mass(formula: str) -> float:
    """Molar mass of one formula unit, kg mol⁻¹.

    Parameters
    ----------
    formula : str
        Chemical formula (see :func:`parse_formula`).

    Returns
    -------
    float
        M in kg mol⁻¹ (multiply by 1000 for g mol⁻¹).

    Examples
    --------
    >>> round(molar_mass("Li0.29La0.57TiO3") * 1e3, 1)
    177.1
    """
    return sum(n * ATOMIC_MASS[el] for el, n in parse_formula(formula).items()) * 1e-3


_formula_mass = molar_mass


def carrier_density(
    density,
    molar_mass,
    ions_per_formula,
    *,
    density_error=None,
    molar_mass_error=None,
) -> Estimate:
    """Number density of mobile ions from composition, ``n = ρ N_A x / M``.

    Parameters
    ----------
    density : float or array_like
        Mass density ρ, kg m⁻³ (5.0 g cm⁻³ = 5000 kg m⁻³).
    molar_mass : float or str
        Molar mass of the formula unit, kg mol⁻¹, or a formula for :func:`molar_mass`.
    ions_per_formula : float
        Mobile ions per formula unit x (0.29 Li in Li0.29La0.57TiO3).
    density_error, molar_mass_error : float, optional
        One-σ errors, same units.

    Returns
    -------
    Estimate
        ``n`` in m⁻³.

    Examples
    --------
    >>> n = carrier_density(5070.0, "Li0.29La0.57TiO3", 0.29)
    >>> print(n)
    n = 5.00e21 cm⁻³
    """
    formula = molar_mass if isinstance(molar_mass, str) else None
    if formula is not None:
        molar_mass = _formula_mass(formula)
    rho, rho_e = value_and_error(density, density_error, field="density")
    m, m_e = value_and_error(molar_mass, molar_mass_error, field="molar_mass")
    x, _ = value_and_error(ions_per_formula, None, field="ions_per_formula")
    n = rho * AVOGADRO * x / m
    err = propagate_relative(n, (rho, rho_e, 1), (m, m_e, -1))
    return Estimate(
        name="n", value=as_scalar(n), error=as_scalar(err), unit="1/m^3", symbol="n",
        provenance=Provenance.build("transport.carrier_density", (), {
            "density": rho, "molar_mass": m, "formula": formula, "ions_per_formula": x}))


def carrier_density_from_cell(cell_volume, ions_per_cell, *, cell_volume_error=None) -> Estimate:
    """Number density of mobile ions from a unit cell, ``n = x_cell / V_cell``.

    Parameters
    ----------
    cell_volume : float
        Unit-cell volume, m³ (a cubic perovskite with a = 3.87 Å: 5.80e-29 m³).
    ions_per_cell : float
        Mobile ions per cell.
    cell_volume_error : float, optional
        One-σ error of the volume, m³.

    Returns
    -------
    Estimate
        ``n`` in m⁻³.
    """
    v, v_e = value_and_error(cell_volume, cell_volume_error, field="cell_volume")
    x, _ = value_and_error(ions_per_cell, None, field="ions_per_cell")
    n = x / v
    return Estimate(
        name="n", value=as_scalar(n), error=as_scalar(propagate_relative(n, (v, v_e, -1))),
        unit="1/m^3", symbol="n",
        provenance=Provenance.build("transport.carrier_density_from_cell", (),
                                    {"cell_volume": v, "ions_per_cell": x}))


# --------------------------------------------------------------------------- Nernst-Einstein


def _check_z(z) -> float:
    try:
        z = float(z)
    except (TypeError, ValueError):
        raise InputError(f"charge number {z!r}", field="z", expected="a non-zero number") from None
    if z == 0 or not math.isfinite(z):
        raise InputError(f"charge number {z!r}", field="z", expected="a non-zero number")
    return z


def conductivity_diffusivity(
    sigma,
    T,
    n,
    z: float = 1,
    *,
    sigma_error=None,
    T_error=None,
    n_error=None,
) -> Estimate:
    """Conductivity diffusion coefficient from the Nernst-Einstein relation.

    ``D_σ = σ k_B T / (n z² e²)``, with the error of independent inputs propagated to first
    order (a product of powers: relative errors add in quadrature).

    Parameters
    ----------
    sigma : float or array_like
        Ionic conductivity, S m⁻¹ (1 mS cm⁻¹ = 0.1 S m⁻¹).
    T : float or array_like
        Temperature, K.
    n : float, array_like or Estimate
        Number density of mobile ions, m⁻³ (5.0e21 cm⁻³ = 5.0e27 m⁻³).
    z : float
        Charge number of the mobile ion (1 for Li⁺).
    sigma_error, T_error, n_error : float or array_like, optional
        One-σ errors in the same units (``n_error`` defaults to the error of an Estimate).

    Returns
    -------
    Estimate
        ``D_sigma`` in m² s⁻¹.

    Examples
    --------
    >>> d = conductivity_diffusivity(0.1, 300.0, 5.0e27)        # 1 mS/cm, 5e21 cm^-3
    >>> print(d)
    D_σ = 3.23e-8 cm² s⁻¹
    """
    z = _check_z(z)
    s, s_e = value_and_error(sigma, sigma_error, field="sigma")
    t, t_e = value_and_error(T, T_error, field="T")
    nn, n_e = value_and_error(n, n_error, field="n")
    s, t, nn = broadcast_inputs(s, t, nn, fields=("sigma", "T", "n"))
    d = s * BOLTZMANN * t / (nn * z * z * ELEMENTARY_CHARGE**2)
    err = propagate_relative(d, (s, s_e, 1), (t, t_e, 1), (nn, n_e, -1))
    return Estimate(
        name="D_sigma", value=as_scalar(d), error=as_scalar(err), unit="m^2/s", symbol="D_σ",
        provenance=Provenance.build("transport.nernst_einstein", (), {"z": z, "n": nn}))


def conductivity_from_diffusivity(
    D,
    T,
    n,
    z: float = 1,
    *,
    D_error=None,
    T_error=None,
    n_error=None,
) -> Estimate:
    """Conductivity from a diffusion coefficient, ``σ = n z² e² D / (k_B T)``.

    The inverse of :func:`conductivity_diffusivity`: with ``D = D_σ`` it returns the measured
    conductivity; with a tracer ``D*`` it returns ``H_R σ``.

    Parameters
    ----------
    D : float or array_like
        Diffusion coefficient, m² s⁻¹.
    T : float or array_like
        Temperature, K.
    n : float, array_like or Estimate
        Number density of mobile ions, m⁻³.
    z : float
        Charge number.
    D_error, T_error, n_error : optional
        One-σ errors in the same units.

    Returns
    -------
    Estimate
        ``sigma`` in S m⁻¹.
    """
    z = _check_z(z)
    d, d_e = value_and_error(D, D_error, field="D")
    t, t_e = value_and_error(T, T_error, field="T")
    nn, n_e = value_and_error(n, n_error, field="n")
    d, t, nn = broadcast_inputs(d, t, nn, fields=("D", "T", "n"))
    s = nn * z * z * ELEMENTARY_CHARGE**2 * d / (BOLTZMANN * t)
    err = propagate_relative(s, (d, d_e, 1), (t, t_e, -1), (nn, n_e, 1))
    return Estimate(
        name="sigma", value=as_scalar(s), error=as_scalar(err), unit="S/m", symbol="σ",
        provenance=Provenance.build("transport.nernst_einstein_inverse", (), {"z": z, "n": nn}))


# --------------------------------------------------------------------------- Haven ratio


def haven_ratio(D_tracer, D_sigma, *, D_tracer_error=None, D_sigma_error=None) -> Estimate:
    """Haven ratio at matching conditions, ``H_R = D* / D_σ`` (pointwise for arrays).

    Parameters
    ----------
    D_tracer : float, array_like or Estimate
        Tracer diffusion coefficient D*, m² s⁻¹.
    D_sigma : float, array_like or Estimate
        Conductivity diffusion coefficient D_σ at the same temperatures, m² s⁻¹.
    D_tracer_error, D_sigma_error : optional
        One-σ errors (taken from Estimates when omitted).

    Returns
    -------
    Estimate
        ``H_R`` (dimensionless).
    """
    dt, dt_e = value_and_error(D_tracer, D_tracer_error, field="D_tracer")
    ds, ds_e = value_and_error(D_sigma, D_sigma_error, field="D_sigma")
    dt, ds = broadcast_inputs(dt, ds, fields=("D_tracer", "D_sigma"))
    h = dt / ds
    err = propagate_relative(h, (dt, dt_e, 1), (ds, ds_e, -1))
    return Estimate(name="H_R", value=as_scalar(h), error=as_scalar(err), unit="", symbol="H_R",
                    provenance=Provenance.build("transport.haven_ratio", (), {}))


def haven_ratio_from_prefactors(
    A_tracer,
    A_sigma,
    *,
    A_tracer_error=None,
    A_sigma_error=None,
    Ea_tracer=None,
    Ea_sigma=None,
    Ea_tracer_error=None,
    Ea_sigma_error=None,
    T=None,
) -> Estimate:
    """Haven ratio from Arrhenius parameters of D* and D_σ.

    With equal activation energies ``H_R = A* / A_σ``, independent of T. With different ones
    ``H_R(T) = (A* / A_σ) exp(-(Ea* - Ea_σ) / (k_B T))``, which needs ``T``. Errors of
    independent inputs are propagated to first order; the prefactor-Ea correlation within one
    fit is ignored here (use :func:`haven_ratio_from_fits` to keep it).

    Parameters
    ----------
    A_tracer, A_sigma : float
        Prefactors of D* and D_σ, m² s⁻¹ (0.048 cm² s⁻¹ = 4.8e-6 m² s⁻¹).
    A_tracer_error, A_sigma_error : float, optional
        Their one-σ errors, m² s⁻¹.
    Ea_tracer, Ea_sigma : float, optional
        Activation energies, J. If both are given and differ, ``T`` is required.
    Ea_tracer_error, Ea_sigma_error : float, optional
        Their errors, J.
    T : float or array_like, optional
        Temperature(s), K.

    Returns
    -------
    Estimate
        ``H_R``.

    Examples
    --------
    >>> print(haven_ratio_from_prefactors(0.048e-4, 0.20e-4))
    H_R = 0.24
    """
    at, at_e = value_and_error(A_tracer, A_tracer_error, field="A_tracer")
    as_, as_e = value_and_error(A_sigma, A_sigma_error, field="A_sigma")
    h = at / as_
    rel2 = (at_e / at) ** 2 + (as_e / as_) ** 2
    params: dict[str, Any] = {"A_tracer": at, "A_sigma": as_}
    if (Ea_tracer is None) != (Ea_sigma is None):
        raise InputError("only one activation energy given",
                         field="Ea_sigma" if Ea_sigma is None else "Ea_tracer",
                         expected="both Ea_tracer and Ea_sigma, or neither")
    if Ea_tracer is not None:
        et, et_e = value_and_error(Ea_tracer, Ea_tracer_error, field="Ea_tracer",
                                   positive=False)
        es, es_e = value_and_error(Ea_sigma, Ea_sigma_error, field="Ea_sigma", positive=False)
        params.update(Ea_tracer=et, Ea_sigma=es)
        if np.any(et != es):
            if T is None:
                raise InputError("the activation energies differ, so H_R depends on T",
                                 field="T", expected="the temperature(s) in K")
        if T is not None:
            t, _ = value_and_error(T, None, field="T")
            u = 1.0 / (BOLTZMANN * t)
            h = h * np.exp(-(et - es) * u)
            rel2 = rel2 + (u * et_e) ** 2 + (u * es_e) ** 2
            params["T"] = t
    err = np.abs(h) * np.sqrt(rel2)
    return Estimate(name="H_R", value=as_scalar(h), error=as_scalar(err), unit="", symbol="H_R",
                    provenance=Provenance.build("transport.haven_ratio_from_prefactors", (),
                                                params))


def haven_ratio_from_fits(tracer_fit, sigma_fit, T, *, n=None, n_error=None,
                          z: float = 1) -> Estimate:
    """Haven ratio at temperatures ``T`` from two Arrhenius fits, with their covariances.

    ``ln H_R(T) = ln D*(T) - ln D_σ(T)``; each fit contributes its full (Ea, ln A)
    covariance, the two fits are independent. A conductivity fit (``form="sigmaT"``) is
    converted with Nernst-Einstein, ``D_σ = (σT) k_B / (n z² e²)``, which needs ``n``.

    Parameters
    ----------
    tracer_fit : ArrheniusFit
        Fit of D* (``form="D"``).
    sigma_fit : ArrheniusFit
        Fit of D_σ (``form="D"``) or of σ (``form="sigmaT"``).
    T : float or array_like
        Temperature(s), K.
    n : float or Estimate, optional
        Carrier density, m⁻³ (required for a σT fit).
    n_error : float, optional
        Its error, m⁻³.
    z : float
        Charge number.

    Returns
    -------
    Estimate
        ``H_R`` at ``T``.
    """
    from .arrhenius import TemperatureFit

    for name, f in (("tracer_fit", tracer_fit), ("sigma_fit", sigma_fit)):
        if not isinstance(f, TemperatureFit):
            raise InputError(f"got {type(f).__name__}", field=name,
                             expected="an ArrheniusFit (or another TemperatureFit)")
    if tracer_fit.form != "D":
        raise InputError("tracer fit is not a diffusion coefficient", field="tracer_fit",
                         expected="form='D'")
    t, _ = value_and_error(T, None, field="T")
    m_t, s_t = tracer_fit.predict_log(t)
    m_s, s_s = sigma_fit.predict_log(t)
    var = s_t**2 + s_s**2
    params: dict[str, Any] = {"T": t, "sigma_form": sigma_fit.form}
    if sigma_fit.form == "sigmaT":
        if n is None:
            raise InputError("a conductivity fit needs the carrier density", field="n",
                             expected="n in m^-3")
        zz = _check_z(z)
        nn, n_e = value_and_error(n, n_error, field="n")
        m_s = m_s + np.log(BOLTZMANN / (nn * zz * zz * ELEMENTARY_CHARGE**2))
        var = var + (n_e / nn) ** 2
        params.update(n=nn, z=zz)
    h = np.exp(m_t - m_s)
    return Estimate(name="H_R", value=as_scalar(h), error=as_scalar(h * np.sqrt(var)), unit="",
                    symbol="H_R",
                    provenance=Provenance.build("transport.haven_ratio_from_fits", (), params))
