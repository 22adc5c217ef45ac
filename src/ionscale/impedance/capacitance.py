"""Capacitances of impedance arcs and their assignment to bulk, grain boundary or electrode.

An arc of a solid electrolyte is modelled by a resistor in parallel with a constant-phase
element, ``Z = R / (1 + R Q (jω)^α)`` with ``Z_CPE = 1 / (Q (jω)^α)`` (``Q`` in F s^(α-1),
``0 < α ≤ 1``). Its time constant is ``τ = (R Q)^(1/α)``; the apex of ``-Z''`` sits at
``ω = 1/τ``, i.e. the peak frequency ``f = 1 / (2π (R Q)^(1/α))``. The capacitance of the ideal
R‖C with the same apex, ``C = τ / R``, is Brug's formula (Brug et al., J. Electroanal. Chem.
176 (1984) 275; seed 004 eq. 1)::

    C = Q^(1/α) R^((1-α)/α)

which reduces to ``C = Q`` when ``α = 1``. Errors are propagated to first order from the full
covariance of ``(R, Q, α)`` with analytic derivatives of ``ln C``.

Arcs are assigned by the magnitude of their capacitance (Irvine, Sinclair & West, Adv. Mater.
2 (1990) 132): bulk ~1e-12 F, grain boundary 1e-11 to 1e-8 F, surface layer 1e-9 to 1e-7 F,
sample-electrode interface 1e-7 to 1e-5 F. These ranges hold for a cell constant
``L / A = 1 cm⁻¹``; since a capacitance scales as ``A / L``, a measured capacitance is first
normalised, ``C_n = C (L / A) / (1 cm⁻¹)``, and ``C_n`` is compared with the ranges.

Everything is SI: R in ohm, Q in F s^(α-1), C in F, f in Hz, L in m, A in m².
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Estimate, Provenance, Value
from ..uncertainty import as_scalar, value_and_error

__all__ = [
    "IRVINE_RANGES", "ArcAssignment", "ArcCapacitance", "arc_capacitances", "assign_arcs",
    "brug_capacitance", "peak_frequency", "time_constant",
]

#: Capacitance ranges of Irvine, Sinclair & West (1990) for a cell constant L/A = 1 cm⁻¹, F.
#: The bulk entry ("~1e-12 F") is taken as one decade either side (relative permittivities of
#: about 1 to 100); ranges overlap and are tried in this order.
IRVINE_RANGES: dict[str, tuple[float, float]] = {
    "bulk": (1e-13, 1e-11),
    "grain_boundary": (1e-11, 1e-8),
    "surface_layer": (1e-9, 1e-7),
    "electrode": (1e-7, 1e-5),
}

#: 1 cm⁻¹ in m⁻¹: the cell constant the Irvine ranges refer to.
_REFERENCE_CELL_CONSTANT = 100.0


# --------------------------------------------------------------------------- inputs



def _rqa(R, Q, alpha):
    r, _ = value_and_error(R, None, field="R")
    q, _ = value_and_error(Q, None, field="Q")
    a, _ = value_and_error(alpha, None, field="alpha")
    if np.any(a > 1.0 + 1e-6):
        raise InputError(f"alpha = {np.max(a):.6g} > 1", field="alpha",
                         expected="0 < alpha <= 1 (a CPE exponent)")
    try:
        r, q, a = np.broadcast_arrays(r, q, a)
    except ValueError:
        raise InputError(f"shapes do not broadcast: R{np.shape(r)}, Q{np.shape(q)}, "
                         f"alpha{np.shape(a)}", field="R",
                         expected="arrays of equal length or scalars") from None
    return r, q, a


def _covariance(shape, covariance, errors) -> np.ndarray:
    """A ``shape + (3, 3)`` covariance of (R, Q, α) from ``covariance`` or ``errors``."""
    if covariance is not None and errors is not None:
        raise InputError("both covariance and errors given", field="covariance",
                         expected="either the 3x3 covariance of (R, Q, alpha) or their errors")
    if covariance is not None:
        try:
            cov = np.asarray(covariance, dtype=float)
        except (TypeError, ValueError):
            raise InputError("covariance is not numeric", field="covariance",
                             expected="a 3x3 matrix of (R, Q, alpha)") from None
        if cov.shape[-2:] != (3, 3):
            raise InputError(f"covariance has shape {cov.shape}", field="covariance",
                             expected="shape (3, 3) (or (..., 3, 3)) in the order R, Q, alpha")
        if not np.all(np.isfinite(cov)):
            raise InputError("covariance contains NaN or inf", field="covariance",
                             expected="finite values")
        diag = np.diagonal(cov, axis1=-2, axis2=-1)
        if np.any(diag < 0):
            raise InputError("negative variance", field="covariance",
                             expected="a positive semi-definite matrix")
        scale = np.sqrt(diag[..., :, None] * diag[..., None, :])
        if np.any(np.abs(cov - np.swapaxes(cov, -1, -2)) > 1e-8 * scale + 1e-300):
            raise InputError("covariance is not symmetric", field="covariance",
                             expected="a symmetric covariance matrix")
        try:
            return np.broadcast_to(cov, tuple(shape) + (3, 3))
        except ValueError:
            raise InputError(f"covariance shape {cov.shape} does not match values {shape}",
                             field="covariance", expected="(3, 3) or values.shape + (3, 3)"
                             ) from None
    if errors is None:
        return np.zeros(tuple(shape) + (3, 3))
    if len(errors) != 3:
        raise InputError(f"{len(errors)} errors given", field="errors",
                         expected="(R_error, Q_error, alpha_error)")
    es = []
    for name, e in zip(("R", "Q", "alpha"), errors, strict=True):
        _, ee = value_and_error(1.0, 0.0 if e is None else e, field=name)
        es.append(np.broadcast_to(ee, shape))
    cov = np.zeros(tuple(shape) + (3, 3))
    for i in range(3):
        cov[..., i, i] = es[i] ** 2
    return cov


def _propagate(value, grad_ln, cov):
    """``|value| · sqrt(gᵀ Σ g)`` for gradients ``grad_ln`` of ``ln value``."""
    var = np.einsum("...i,...ij,...j->...", grad_ln, cov, grad_ln)
    return np.abs(value) * np.sqrt(np.clip(var, 0.0, None))


# --------------------------------------------------------------------------- Brug


def brug_capacitance(R, Q, alpha, *, covariance=None, errors=None) -> Estimate:
    """True capacitance of an R‖CPE arc, ``C = Q^(1/α) R^((1-α)/α)`` (Brug).

    Parameters
    ----------
    R : float or array_like
        Resistance of the arc, ohm.
    Q : float or array_like
        CPE parameter, F s^(α-1) (``Z_CPE = 1 / (Q (jω)^α)``).
    alpha : float or array_like
        CPE exponent, ``0 < α ≤ 1``.
    covariance : array_like, optional
        Covariance of ``(R, Q, α)`` in that order, shape ``(3, 3)`` (or one per value,
        ``(..., 3, 3)``), SI. Use the fit's covariance: R, Q and α are strongly correlated.
    errors : sequence of 3, optional
        One-σ errors ``(R_error, Q_error, alpha_error)`` of independent inputs (instead of
        ``covariance``).

    Returns
    -------
    Estimate
        ``C`` in F with its first-order error; ``details`` holds the time constant ``tau`` (s)
        and the gradient of ``ln C``.

    Raises
    ------
    InputError
        Non-positive R or Q, α outside (0, 1], a malformed covariance.

    Examples
    --------
    >>> c = brug_capacitance(1e5, 1e-10, 0.9, errors=(1e3, 2e-12, 0.005))
    >>> round(float(c.value) * 1e12, 2)   # pF
    27.83
    """
    r, q, a = _rqa(R, Q, alpha)
    cov = _covariance(r.shape, covariance, errors)
    ln_rq = np.log(r) + np.log(q)
    c = np.power(q, 1.0 / a) * np.power(r, (1.0 - a) / a)  # exactly Q when α = 1
    tau = c * r
    grad = np.stack([(1.0 - a) / (a * r), 1.0 / (a * q), -ln_rq / a**2], axis=-1)
    err = _propagate(c, grad, cov)
    return Estimate(
        name="C", value=as_scalar(c), error=as_scalar(err), unit="F", symbol="C",
        provenance=Provenance.build("impedance.brug_capacitance", (),
                                    {"R": r, "Q": q, "alpha": a}),
        details={"tau": as_scalar(tau), "gradient_ln": grad.tolist(),
                 "formula": "C = Q^(1/alpha) R^((1-alpha)/alpha)"})


def time_constant(R, Q, alpha, *, covariance=None, errors=None) -> Estimate:
    """Time constant of an R‖CPE arc, ``τ = (R Q)^(1/α)`` in s (the apex is at ``ω = 1/τ``).

    Parameters are those of :func:`brug_capacitance`.

    Returns
    -------
    Estimate
        ``tau`` in s.

    Examples
    --------
    >>> round(float(time_constant(1e3, 1e-6, 1.0).value), 6)
    0.001
    """
    r, q, a = _rqa(R, Q, alpha)
    cov = _covariance(r.shape, covariance, errors)
    ln_rq = np.log(r) + np.log(q)
    tau = np.exp(ln_rq / a)
    grad = np.stack([1.0 / (a * r), 1.0 / (a * q), -ln_rq / a**2], axis=-1)
    return Estimate(
        name="tau", value=as_scalar(tau), error=as_scalar(_propagate(tau, grad, cov)), unit="s",
        symbol="τ", provenance=Provenance.build("impedance.time_constant", (),
                                                {"R": r, "Q": q, "alpha": a}))


def peak_frequency(R, Q, alpha, *, covariance=None, errors=None) -> Estimate:
    """Apex frequency of an R‖CPE arc, ``f = 1 / (2π (R Q)^(1/α))``.

    Parameters are those of :func:`brug_capacitance`.

    Returns
    -------
    Estimate
        ``f_peak`` in Hz with its first-order error from the covariance.

    Examples
    --------
    >>> round(float(peak_frequency(1e3, 1e-6, 1.0).value), 3)   # 1/(2π R C)
    159.155
    """
    r, q, a = _rqa(R, Q, alpha)
    cov = _covariance(r.shape, covariance, errors)
    ln_rq = np.log(r) + np.log(q)
    f = np.exp(-ln_rq / a) / (2.0 * math.pi)
    grad = np.stack([-1.0 / (a * r), -1.0 / (a * q), ln_rq / a**2], axis=-1)
    return Estimate(
        name="f_peak", value=as_scalar(f), error=as_scalar(_propagate(f, grad, cov)), unit="Hz",
        symbol="f_peak", provenance=Provenance.build("impedance.peak_frequency", (),
                                                     {"R": r, "Q": q, "alpha": a}))


# --------------------------------------------------------------------------- arcs of a fit


@dataclass(frozen=True)
class ArcCapacitance:
    """One R‖CPE (or R‖C) arc found among a circuit's parameters.

    Attributes
    ----------
    index : str
        The resistor's name without its ``R`` (``"1"`` for R1‖CPE1, ``"_gb"`` for R_gb).
    names : tuple of str
        Parameter names used: ``(R, Q, alpha)`` for a CPE, ``(R, C)`` for a capacitor.
    R : Value
        Resistance, ohm.
    alpha : Value
        CPE exponent (exactly 1 for a capacitor).
    capacitance : Estimate
        Brug capacitance, F.
    peak_frequency : Estimate
        Apex frequency, Hz.
    """

    index: str
    names: tuple[str, ...]
    R: Value
    alpha: Value
    capacitance: Estimate
    peak_frequency: Estimate

    def __str__(self) -> str:
        return (f"arc {self.index} ({'‖'.join(self.names[:2])}): {self.R}, "
                f"{self.capacitance}, {self.peak_frequency}")


def _as_parameters(params, names, covariance, errors):
    """Normalise the accepted parameter containers to (names, values, covariance or None)."""
    fit = getattr(params, "fit", None)
    if fit is not None and hasattr(fit, "names") and not hasattr(params, "names"):
        params = fit
    if hasattr(params, "names") and hasattr(params, "values") and hasattr(params, "covariance"):
        nm = tuple(params.names)
        vals = np.asarray(params.values, dtype=float)
        if covariance is None and errors is None:
            covariance = np.asarray(params.covariance, dtype=float)
        return nm, vals, covariance, errors
    if isinstance(params, Mapping):
        nm = tuple(str(k) for k in params)
        vals = []
        errs = dict(errors or {}) if isinstance(errors, Mapping) or errors is None else None
        for k in nm:
            v = params[k]
            if isinstance(v, Value | Estimate):
                if errs is not None and k not in errs:
                    errs[k] = v.error
                v = v.value
            vals.append(v)
        try:
            vals = np.asarray(vals, dtype=float)
        except (TypeError, ValueError):
            raise InputError("parameter values are not numbers", field="params",
                             expected="a mapping of name to number") from None
        if errs is not None and errs and covariance is None:
            errors = errs
        return nm, vals, covariance, errors
    if names is None:
        raise InputError("parameter values given without names", field="names",
                         expected="the circuit's parameter names in the order of the values")
    nm = tuple(str(n) for n in names)
    try:
        vals = np.asarray(params, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError("parameter values are not numbers", field="params",
                         expected="a sequence of numbers") from None
    if vals.size != len(nm):
        raise InputError(f"{vals.size} values for {len(nm)} names", field="names",
                         expected="one name per parameter value")
    return nm, vals, covariance, errors


def _pairs_by_name(nm: Sequence[str], pos: Mapping[str, int]) -> list[tuple[str, ...]]:
    """(R, Q, alpha) or (R, C) parameter-name tuples paired by their shared suffix."""
    pairs = []
    for rname in nm:
        if not rname.startswith("R") or len(rname) < 2:
            continue
        suffix = rname[1:]
        cpe, cap = f"CPE{suffix}", f"C{suffix}"
        for qn, an in ((f"{cpe}_Q", f"{cpe}_alpha"), (f"{cpe}_0", f"{cpe}_1")):
            if qn in pos and an in pos:
                pairs.append((rname, qn, an))
                break
        else:
            if cap in pos:
                pairs.append((rname, cap))
    return pairs


def _pairs_from_circuit(circuit, nm: Sequence[str]) -> list[tuple[str, ...]]:
    """Parameter-name tuples of the R‖C and R‖CPE arcs of a circuit (structure, not names)."""
    from .circuits import as_circuit

    c = as_circuit(circuit)
    if tuple(nm) != tuple(c.parameter_names):
        missing = [n for n in c.parameter_names if n not in nm]
        if missing:
            raise InputError(f"parameters {missing} of circuit {c.text!r} are not given",
                             field="params", expected=f"values for {list(c.parameter_names)}")
    return [tuple(c.parameter_names[i] for i in arc.columns) for arc in c.arcs]


def arc_capacitances(
    params,
    names: Sequence[str] | None = None,
    *,
    covariance=None,
    errors=None,
    circuit=None,
) -> list[ArcCapacitance]:
    """Find the R‖CPE and R‖C arcs of a circuit and compute their Brug capacitances.

    With ``circuit`` (a string or :class:`~ionscale.impedance.circuits.Circuit`, also taken
    from ``params.circuit`` when present) the arcs are the circuit's own two-element parallel
    blocks (:attr:`Circuit.arcs`). Without it they are paired by name: a resistor
    ``R<k>`` with ``CPE<k>_Q`` and ``CPE<k>_alpha`` (also impedance.py's ``CPE<k>_0`` and
    ``CPE<k>_1``) or with a capacitor ``C<k>``.

    Parameters
    ----------
    params : mapping, FitResult, fit result object or sequence
        Parameter values by name (values may be :class:`~ionscale.results.Value`), a
        :class:`~ionscale.fitting.FitResult` (its covariance is used), an object with a
        ``.fit`` FitResult, or a plain sequence of values with ``names``.
    names : sequence of str, optional
        Parameter names in the order of ``params`` (and of ``covariance``).
    covariance : array_like, optional
        Full covariance of the parameters in the same order.
    errors : mapping or sequence, optional
        One-σ errors of independent parameters (by name, or in order), used without
        ``covariance``.
    circuit : str or Circuit, optional
        The circuit the parameters belong to.

    Returns
    -------
    list of ArcCapacitance
        Sorted by decreasing peak frequency (bulk first for a typical electrolyte).

    Examples
    --------
    >>> arcs = arc_capacitances({"R0": 10.0, "R1": 1e5, "CPE1_Q": 1e-10, "CPE1_alpha": 0.9})
    >>> arcs[0].index, round(float(arcs[0].capacitance.value) * 1e12, 2)
    ('1', 27.83)
    """
    if circuit is None:
        circuit = getattr(params, "circuit", None)
    nm, vals, cov, errs = _as_parameters(params, names, covariance, errors)
    n = len(nm)
    pos = {k: i for i, k in enumerate(nm)}
    if cov is not None:
        cov = np.asarray(cov, dtype=float)
        if cov.shape != (n, n):
            raise InputError(f"covariance has shape {cov.shape}", field="covariance",
                             expected=f"({n}, {n}), in the order of the parameter names")
    err_vec = np.zeros(n)
    if cov is None and errs is not None:
        if isinstance(errs, Mapping):
            for k, e in errs.items():
                if k in pos and e is not None and np.isfinite(e):
                    err_vec[pos[k]] = float(e)
        else:
            e = np.asarray(errs, dtype=float).ravel()
            if e.size != n:
                raise InputError(f"{e.size} errors for {n} parameters", field="errors",
                                 expected="one error per parameter")
            err_vec = np.where(np.isfinite(e), e, 0.0)
    full = cov if cov is not None else np.diag(err_vec**2)
    pairs = (_pairs_from_circuit(circuit, nm) if circuit is not None
             else _pairs_by_name(nm, pos))

    arcs: list[ArcCapacitance] = []
    for pair in pairs:
        ii = [pos[k] for k in pair]
        sub = full[np.ix_(ii, ii)]
        if len(pair) == 2:
            r, q, a = vals[ii[0]], vals[ii[1]], 1.0
            c3 = np.zeros((3, 3))
            c3[:2, :2] = sub
        else:
            r, q, a = vals[ii[0]], vals[ii[1]], vals[ii[2]]
            c3 = sub
        var = np.diag(c3).copy()  # before cleaning: an undetermined parameter keeps inf
        undetermined = not np.all(np.isfinite(c3))  # a fit could not determine a parameter
        if undetermined:
            c3 = np.where(np.isfinite(c3), c3, 0.0)
        c = brug_capacitance(r, q, a, covariance=c3)
        f = peak_frequency(r, q, a, covariance=c3)
        if undetermined:
            c = replace(c, error=math.inf)
            f = replace(f, error=math.inf)
        var = np.where(np.isnan(var), math.inf, np.clip(var, 0.0, None))
        arcs.append(ArcCapacitance(
            index=pair[0][1:], names=pair,
            R=Value(pair[0], float(r), math.sqrt(var[0]), "ohm", pair[0]),
            alpha=Value(pair[2] if len(pair) == 3 else "alpha", float(a), math.sqrt(var[2]), "",
                        "α"),
            capacitance=c, peak_frequency=f))
    arcs.sort(key=lambda arc: -float(arc.peak_frequency.value))
    return arcs


# --------------------------------------------------------------------------- assignment


@dataclass(frozen=True)
class ArcAssignment:
    """Where one capacitance falls among the Irvine-Sinclair-West ranges.

    Attributes
    ----------
    label : str
        ``"bulk"``, ``"grain_boundary"``, ``"surface_layer"`` or ``"electrode"`` (the range it
        lies in, or the nearest one when it lies in none).
    capacitance, capacitance_error : float
        The capacitance as given, F.
    normalized, normalized_error : float
        ``C (L/A) / (1 cm⁻¹)``, F: the value compared with the ranges.
    range : tuple of float
        The range of ``label``, F.
    position : float
        Position inside the range on a log scale: 0 at the lower edge, 1 at the upper edge,
        outside [0, 1] when the capacitance lies outside it.
    decades_from_centre : float
        ``log10(C_n) - log10(centre)``, the centre being the geometric mean of the edges.
    inside : bool
        Whether ``C_n`` lies in the range.
    candidates : tuple of str
        Every range containing ``C_n`` (more than one where ranges overlap).
    normalized_by_geometry : bool
        False when no geometry was given (``C`` compared as is, i.e. L/A = 1 cm⁻¹ assumed).
    """

    label: str
    capacitance: float
    capacitance_error: float
    normalized: float
    normalized_error: float
    range: tuple[float, float]
    position: float
    decades_from_centre: float
    inside: bool
    candidates: tuple[str, ...]
    normalized_by_geometry: bool

    @property
    def ambiguous(self) -> bool:
        """True when the capacitance lies in more than one range."""
        return len(self.candidates) > 1

    def __str__(self) -> str:
        where = (f"{self.position:.0%} into {self.range[0]:.0e}-{self.range[1]:.0e} F"
                 if self.inside else f"outside all ranges, nearest {self.range[0]:.0e}-"
                 f"{self.range[1]:.0e} F")
        extra = f" (also {', '.join(c for c in self.candidates if c != self.label)})" \
            if self.ambiguous else ""
        return f"{self.label}: C_n = {self.normalized:.3g} F, {where}{extra}"


def assign_arcs(
    capacitances,
    *,
    thickness=None,
    area=None,
    diameter=None,
    errors=None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> list[ArcAssignment]:
    """Assign capacitances to bulk, grain boundary, surface layer or electrode processes.

    Each capacitance is normalised to the reference cell constant of the Irvine-Sinclair-West
    ranges, ``C_n = C (L / A) / (1 cm⁻¹)``, and compared with :data:`IRVINE_RANGES`. Where
    ranges overlap, the one whose log-centre is nearest (in units of its half-width) wins and
    the others are listed as candidates. A capacitance outside every range gets the nearest
    range with ``inside=False``.

    Parameters
    ----------
    capacitances : float, array_like, Estimate, ArcCapacitance or sequence of them
        Capacitances, F.
    thickness : float, optional
        Sample thickness L between the electrodes, m.
    area : float, optional
        Electrode area A, m² (or give ``diameter``).
    diameter : float, optional
        Electrode diameter of a round pellet, m (``A = π d² / 4``).
    errors : float or array_like, optional
        One-σ errors of the capacitances, F (taken from Estimates when omitted).
    ranges : mapping, optional
        Other ranges ``{label: (low, high)}`` in F at L/A = 1 cm⁻¹.

    Returns
    -------
    list of ArcAssignment
        One per capacitance, in the order given.

    Raises
    ------
    InputError
        Non-positive capacitance or geometry, thickness without area (or vice versa).

    Examples
    --------
    >>> [a.label for a in assign_arcs([2e-12, 5e-10, 3e-6])]
    ['bulk', 'grain_boundary', 'electrode']
    """
    caps, errs = _capacitance_list(capacitances, errors)
    factor = 1.0
    by_geometry = False
    if area is not None and diameter is not None:
        raise InputError("both area and diameter given", field="area",
                         expected="either the electrode area or the diameter")
    if diameter is not None:
        d, _ = value_and_error(diameter, None, field="diameter")
        area = math.pi * float(d) ** 2 / 4.0
    if (thickness is None) != (area is None):
        raise InputError("geometry incomplete", field="thickness" if thickness is None else
                         "area", expected="both thickness and area (or diameter), or neither")
    if thickness is not None:
        L, _ = value_and_error(thickness, None, field="thickness")
        A, _ = value_and_error(area, None, field="area")
        factor = float(L) / float(A) / _REFERENCE_CELL_CONSTANT
        by_geometry = True
    table = dict(ranges) if ranges is not None else dict(IRVINE_RANGES)
    for k, (lo, hi) in table.items():
        if not 0 < lo < hi:
            raise InputError(f"range {k!r} = ({lo}, {hi})", field="ranges",
                             expected="0 < low < high, in F")
    out = []
    for c, e in zip(caps, errs, strict=True):
        cn = c * factor
        x = math.log10(cn)
        scored = []
        for k, (lo, hi) in table.items():
            llo, lhi = math.log10(lo), math.log10(hi)
            centre, half = 0.5 * (llo + lhi), 0.5 * (lhi - llo)
            inside = llo <= x <= lhi
            outside_by = 0.0 if inside else min(abs(x - llo), abs(x - lhi))
            scored.append((not inside, outside_by, abs(x - centre) / half, k))
        cands = tuple(s[3] for s in scored if not s[0])
        best = min(scored, key=lambda s: s[:3])
        label = best[3]
        lo, hi = table[label]
        llo, lhi = math.log10(lo), math.log10(hi)
        out.append(ArcAssignment(
            label=label, capacitance=c, capacitance_error=e, normalized=cn,
            normalized_error=e * factor, range=(lo, hi), position=(x - llo) / (lhi - llo),
            decades_from_centre=x - 0.5 * (llo + lhi), inside=not best[0], candidates=cands,
            normalized_by_geometry=by_geometry))
    return out


def _capacitance_list(capacitances, errors) -> tuple[list[float], list[float]]:
    items: list[Any]
    if isinstance(capacitances, ArcCapacitance | Estimate | Value):
        items = [capacitances]
    elif isinstance(capacitances, str) or np.isscalar(capacitances):
        items = [capacitances]
    elif isinstance(capacitances, np.ndarray):
        items = list(capacitances.ravel())
    else:
        try:
            items = list(capacitances)
        except TypeError:
            raise InputError(f"cannot read {capacitances!r}", field="capacitances",
                             expected="capacitances in F (numbers or Estimates)") from None
    caps, errs = [], []
    for it in items:
        if isinstance(it, ArcCapacitance):
            it = it.capacitance
        if isinstance(it, Estimate | Value):
            v = np.asarray(it.value, dtype=float).ravel()
            e = np.broadcast_to(np.asarray(it.error, dtype=float), np.shape(it.value)).ravel()
            caps.extend(v.tolist())
            errs.extend(np.where(np.isfinite(e), e, 0.0).tolist())
        else:
            caps.append(it)
            errs.append(0.0)
    if not caps:
        raise InputError("no capacitance given", field="capacitances",
                         expected="at least one capacitance in F")
    try:
        arr = np.asarray([float(v) for v in caps])
    except (TypeError, ValueError):
        raise InputError("capacitances are not numbers", field="capacitances",
                         expected="capacitances in F (numbers or Estimates)") from None
    c, _ = value_and_error(arr, None, field="capacitances")
    if errors is not None:
        _, e = value_and_error(c, errors, field="capacitances")
        e = np.broadcast_to(e, c.shape)
    else:
        e = np.asarray(errs, dtype=float)
    return [float(v) for v in c], [float(v) for v in e]
