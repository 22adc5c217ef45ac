"""From a fitted circuit to the numbers of a solid-electrolyte pellet.

A circuit fit gives resistances and CPEs; a pellet needs to know which arc is the bulk, which
the grain boundaries and which the electrode, and then conductivities with the geometry's
uncertainty, the brick-layer grain-boundary conductivity, and, over a temperature series,
activation energies. This module joins :mod:`~ionscale.impedance.fit`,
:mod:`~ionscale.impedance.capacitance` and :mod:`ionscale.transport.conductivity`:

* each R‖CPE (or R‖C) arc gets its Brug capacitance (errors from the covariance);
* arcs are labelled by the user (``assignment={"R1": "bulk", "R2": "grain_boundary"}``) or from
  their capacitances normalised by the cell constant (Irvine, Sinclair & West 1990); when two
  arcs fall in the same range the faster one (smaller τ) is taken as bulk;
* ``sigma_bulk = L/(R_b A)``, ``sigma_gb = L/(R_gb A)`` (apparent, "macroscopic"),
  ``sigma_gb_specific = (L/A)(1/R_gb)(C_b/C_gb)`` (brick layer), ``sigma_total =
  L/((R_b + R_gb) A)`` and ``ASR`` of the electrode arc.

Everything is SI (ohm, F, S m⁻¹, m, m², K).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Provenance, Result, Value, json_safe, new_axes
from ..transport.arrhenius import ArrheniusFit
from ..transport.conductivity import (
    area_specific_resistance,
    brick_layer_gb_conductivity,
    conductivity,
    sigma_T_arrhenius,
)
from .capacitance import ArcCapacitance, arc_capacitances, assign_arcs
from .data import Spectrum
from .fit import CircuitFit
from .series import SeriesFit, fit_series

#: Arc labels understood by :func:`pellet_conductivities`.
ARC_LABELS = ("bulk", "grain_boundary", "surface_layer", "electrode")
_SHORT = {"bulk": "bulk", "grain_boundary": "gb", "surface_layer": "surface",
          "electrode": "electrode"}


@dataclass(frozen=True)
class Geometry:
    """Pellet geometry between the electrodes.

    Attributes
    ----------
    thickness : float
        L, m (before the measurement when ``thickness_after`` is given).
    area : float or None
        Electrode area A, m² (or ``diameter``).
    diameter : float or None
        Electrode diameter, m.
    thickness_error, area_error, diameter_error : float
        One-σ errors, m, m², m.
    thickness_after : float or None
        Thickness measured after the measurement, m (seed 004).
    """

    thickness: float
    area: float | None = None
    diameter: float | None = None
    thickness_error: float = 0.0
    area_error: float = 0.0
    diameter_error: float = 0.0
    thickness_after: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.thickness) and self.thickness > 0):
            raise InputError(f"thickness {self.thickness!r} m", field="thickness",
                             expected="a positive thickness in m")
        if (self.area is None) == (self.diameter is None):
            raise InputError("give the electrode area or its diameter", field="area",
                             expected="exactly one of area (m^2) or diameter (m)")

    def _area_kwargs(self) -> dict[str, Any]:
        if self.area is not None:
            return {"area": self.area, "area_error": self.area_error}
        return {"diameter": self.diameter, "diameter_error": self.diameter_error}

    def _kwargs(self) -> dict[str, Any]:
        return {"thickness": self.thickness, "thickness_error": self.thickness_error,
                "thickness_after": self.thickness_after, **self._area_kwargs()}


def _label_arcs(arcs: Sequence[ArcCapacitance], taus: Sequence[float], geometry: Geometry,
                assignment: Mapping[str, str] | None) -> list[str]:
    if assignment:
        labels = []
        for arc in arcs:
            label = assignment.get(arc.names[0])
            if label is None:
                raise InputError(f"arc {arc.names[0]} has no label", field="assignment",
                                 expected=f"a label for every resistor of an arc: "
                                          f"{[a.names[0] for a in arcs]}")
            if label not in ARC_LABELS:
                raise InputError(f"unknown arc label {label!r}", field="assignment",
                                 expected=f"one of {ARC_LABELS}")
            labels.append(label)
        unknown = set(assignment) - {a.names[0] for a in arcs}
        if unknown:
            raise InputError(f"{sorted(unknown)} are not resistors of an arc",
                             field="assignment",
                             expected=f"resistors among {[a.names[0] for a in arcs]}")
        return labels
    found = assign_arcs([a.capacitance for a in arcs], thickness=geometry.thickness,
                        area=geometry.area, diameter=geometry.diameter)
    labels = [f.label for f in found]
    # Two arcs in one range: the faster is the bulk (or the boundaries before the electrode).
    order = np.argsort(taus)
    for rank, i in enumerate(order):
        for j in order[rank + 1:]:
            if labels[i] == labels[j]:
                k = ARC_LABELS.index(labels[i])
                if labels[i] in ("bulk", "grain_boundary") and k + 1 < len(ARC_LABELS):
                    labels[j] = ARC_LABELS[k + 1]
    return labels


@dataclass(frozen=True, kw_only=True)
class PelletResult(Result):
    """Conductivities of a pellet from one circuit fit.

    ``values``: for each labelled arc ``R_<lab>``, ``C_<lab>`` (Brug, F), ``f_<lab>`` (apex
    frequency, Hz), with ``lab`` one of ``bulk``, ``gb``, ``surface``, ``electrode``; then
    ``sigma_bulk``, ``sigma_gb`` (apparent), ``sigma_gb_specific`` (brick layer),
    ``sigma_total`` (S m⁻¹) and ``ASR_electrode`` (ohm m²) where the arcs exist.

    Attributes
    ----------
    circuit_fit : CircuitFit
        The fit behind the numbers.
    labels : dict
        Resistor name → arc label.
    geometry : Geometry
    temperature : float or None
        K.
    """

    circuit_fit: CircuitFit
    labels: Mapping[str, str]
    geometry: Geometry
    temperature: float | None = None

    def _extra_dict(self) -> dict[str, Any]:
        return {"labels": dict(self.labels), "geometry": json_safe(self.geometry.__dict__),
                "temperature": self.temperature,
                "circuit_fit": self.circuit_fit._extra_dict()}

    def plot(self, ax=None):
        """Nyquist, Bode and residual plots of the fit (Nyquist only on a given ``ax``), arcs
        labelled."""
        overview = ax is None
        ax = self.circuit_fit.plot(ax=ax)
        text = ", ".join(f"{r}: {lab}" for r, lab in self.labels.items())
        if overview:  # panels are titled (a), (b), (c): the pellet goes above them
            ax.figure.suptitle(f"{self.title}; {text}")
        else:
            ax.set_title(f"{self.title}\n{text}")
        return ax


def pellet_conductivities(
    circuit_fit: CircuitFit,
    geometry: Geometry,
    *,
    assignment: Mapping[str, str] | None = None,
) -> PelletResult:
    """Bulk, grain-boundary and total conductivity of a pellet from a circuit fit.

    Parameters
    ----------
    circuit_fit : CircuitFit
        From :func:`~ionscale.impedance.fit.fit_circuit` (its covariance gives the errors).
    geometry : Geometry
        Thickness and electrode area (or diameter), m and m².
    assignment : mapping, optional
        ``{resistor: label}`` with labels among :data:`ARC_LABELS`; by default from the
        capacitances (Irvine, Sinclair & West ranges normalised by L/A).

    Returns
    -------
    PelletResult

    Examples
    --------
    >>> from ionscale.datasets.synthetic_eis import simulate_spectrum
    >>> from ionscale.impedance.fit import fit_circuit
    >>> c = "p(R1,CPE1)-p(R2,CPE2)"
    >>> s = simulate_spectrum(c, {"R1": 1e4, "CPE1_Q": 5e-11, "CPE1_alpha": 0.95, "R2": 3e4,
    ...                           "CPE2_Q": 2e-8, "CPE2_alpha": 0.85}, noise=0.0)
    >>> r = pellet_conductivities(fit_circuit(s, c), Geometry(thickness=2e-3, diameter=8e-3))
    >>> r.labels
    {'R1': 'bulk', 'R2': 'grain_boundary'}
    """
    arcs = arc_capacitances(circuit_fit)
    if not arcs:
        raise InputError(f"circuit {circuit_fit.circuit} has no R‖CPE or R‖C arc",
                         field="circuit", expected="arcs such as p(R1,CPE1)")
    taus = [a.capacitance.value * a.R.value for a in arcs]
    labels = _label_arcs(arcs, taus, geometry, assignment)
    values: dict[str, Value] = {}
    by_label: dict[str, ArcCapacitance] = {}
    for arc, label in zip(arcs, labels, strict=True):
        short = _SHORT[label]
        if label in by_label:  # several arcs of one kind: add their resistances
            short = f"{short}_{arc.index}"
        else:
            by_label[label] = arc
        values[f"R_{short}"] = Value(f"R_{short}", arc.R.value, arc.R.error, "ohm",
                                     f"R_{short}")
        values[f"C_{short}"] = Value(f"C_{short}", float(arc.capacitance.value),
                                     float(arc.capacitance.error), "F", f"C_{short}")
        values[f"f_{short}"] = Value(f"f_{short}", float(arc.peak_frequency.value),
                                     float(arc.peak_frequency.error), "Hz", f"f_{short}")
    geo = geometry._kwargs()
    bulk, gb = by_label.get("bulk"), by_label.get("grain_boundary")
    if bulk is not None:
        s = conductivity(bulk.R.value, R_error=bulk.R.error, **geo)
        values["sigma_bulk"] = Value("sigma_bulk", s.value, s.error, "S/m", "σ_bulk")
    if gb is not None:
        s = conductivity(gb.R.value, R_error=gb.R.error, **geo)
        values["sigma_gb"] = Value("sigma_gb", s.value, s.error, "S/m", "σ_gb")
    if bulk is not None and gb is not None:
        sp = brick_layer_gb_conductivity(
            gb.R.value, bulk.capacitance, gb.capacitance, geometry.thickness,
            R_gb_error=gb.R.error, thickness_error=geometry.thickness_error,
            **geometry._area_kwargs())
        values["sigma_gb_specific"] = Value("sigma_gb_specific", sp.value, sp.error, "S/m",
                                            "σ_gb,sp")
        r_tot = bulk.R.value + gb.R.value
        r_err = math.hypot(bulk.R.error, gb.R.error)
        s = conductivity(r_tot, R_error=r_err, **geo)
        values["sigma_total"] = Value("sigma_total", s.value, s.error, "S/m", "σ_total")
    if "electrode" in by_label:
        el = by_label["electrode"]
        asr = area_specific_resistance(el.R.value, R_error=el.R.error,
                                       **geometry._area_kwargs())
        values["ASR_electrode"] = Value("ASR_electrode", asr.value, asr.error, "ohm*m^2",
                                        "ASR")
    label_map = {arc.names[0]: label for arc, label in zip(arcs, labels, strict=True)}
    params = {"assignment": dict(assignment) if assignment else "capacitance",
              **json_safe(geometry.__dict__)}
    return PelletResult(
        values=values,
        provenance=Provenance(method="impedance.pellet",
                              inputs=circuit_fit.provenance.inputs,
                              parameters=json_safe(params)),
        fit=circuit_fit.fit,
        title=f"Pellet conductivities from {circuit_fit.circuit}"
              + (f" at {circuit_fit.temperature:.1f} K" if circuit_fit.temperature else ""),
        circuit_fit=circuit_fit,
        labels=label_map,
        geometry=geometry,
        temperature=circuit_fit.temperature,
    )


@dataclass(frozen=True, kw_only=True)
class PelletSeries(Result):
    """A temperature series of one pellet: conductivities and their Arrhenius laws.

    ``values``: ``Ea_bulk``, ``Ea_gb``, ``Ea_gb_specific``, ``Ea_total`` (J, print in eV) and
    the matching σT prefactors ``A_*`` (S K m⁻¹), where two or more temperatures have the arc.

    Attributes
    ----------
    pellets : tuple of PelletResult
        One per spectrum, in temperature order.
    series : SeriesFit
        The batch fit.
    arrhenius : dict of str to ArrheniusFit
        Keyed by ``bulk``, ``gb``, ``gb_specific``, ``total``.
    temperature : ndarray
        K.
    """

    pellets: tuple[PelletResult, ...]
    series: SeriesFit
    arrhenius: Mapping[str, ArrheniusFit]
    temperature: np.ndarray

    def table(self) -> dict[str, np.ndarray]:
        """Columns T (K) and every conductivity (S m⁻¹) with errors, NaN where absent."""
        out: dict[str, np.ndarray] = {"T": self.temperature}
        for key in ("sigma_bulk", "sigma_gb", "sigma_gb_specific", "sigma_total"):
            out[key] = np.array([p.values[key].value if key in p.values else math.nan
                                 for p in self.pellets])
            out[key + "_error"] = np.array([p.values[key].error if key in p.values
                                            else math.nan for p in self.pellets])
        return out

    def _extra_dict(self) -> dict[str, Any]:
        return json_safe({"table": self.table(),
                          "labels": [dict(p.labels) for p in self.pellets]})

    def plot(self, ax=None):
        """Arrhenius plot of σT (S K cm⁻¹, log) against 1000/T with the fitted lines."""
        ax = new_axes(ax)
        styles = {"bulk": "o", "gb": "s", "gb_specific": "^", "total": "D"}
        for key, fit in self.arrhenius.items():
            T = np.asarray(fit.T, float)
            y = np.asarray(fit.y, float) * T / 100.0  # σT in S K cm⁻¹
            ax.plot(1000.0 / T, y, styles.get(key, "o"), label=f"{key}: {fit['Ea']}")
            Tg = np.linspace(T.min(), T.max(), 50)
            yg, _ = fit.predict(Tg)
            ax.plot(1000.0 / Tg, np.asarray(yg) * Tg / 100.0, "-", lw=1,
                    color=ax.lines[-1].get_color())
        ax.set_yscale("log")
        ax.set_xlabel("1000 / T (K⁻¹)")
        ax.set_ylabel("σT (S K cm⁻¹)")
        ax.legend()
        ax.set_title(self.title)
        return ax


def pellet_series(
    spectra: Iterable[Spectrum],
    circuit,
    geometry: Geometry,
    *,
    assignment: Mapping[str, str] | None = None,
    temperatures=None,
    progress: bool = True,
    **fit_options,
) -> PelletSeries:
    """Fit every spectrum of a temperature series in one batch and fit σT Arrhenius laws.

    Parameters
    ----------
    spectra : iterable of Spectrum
        One spectrum per temperature (``spectrum.temperature`` in K, or give
        ``temperatures``).
    circuit : str or Circuit
        E.g. ``"p(R1,CPE1)-p(R2,CPE2)-CPE3"``.
    geometry : Geometry
        Pellet thickness and electrode size, m.
    assignment : mapping, optional
        ``{resistor: label}``; by default from capacitances (see
        :func:`pellet_conductivities`). The labels of the first spectrum are kept for all
        (the batch fit keeps arcs in their time-constant order).
    temperatures : array_like, optional
        K, one per spectrum, overriding the spectra's.
    progress : bool
        Progress bar.
    **fit_options
        Passed to :func:`~ionscale.impedance.series.fit_series` (``weighting``, ``fmin``...).

    Returns
    -------
    PelletSeries
    """
    spectra = list(spectra)
    if temperatures is not None:
        T_in = np.asarray(temperatures, float).ravel()
        if T_in.size != len(spectra):
            raise InputError(f"{T_in.size} temperatures for {len(spectra)} spectra",
                             field="temperatures", expected="one temperature per spectrum")
        spectra = [replace(s, temperature=float(t)) for s, t in zip(spectra, T_in, strict=True)]
    missing = [s.label for s in spectra if s.temperature is None]
    if missing:
        raise InputError(f"no temperature for {missing}", field="temperature",
                         expected="spectra with temperatures (or temperatures=...)")
    spectra.sort(key=lambda s: s.temperature)
    series = fit_series(spectra, circuit, progress=progress, **fit_options)
    first = pellet_conductivities(series.fits[0], geometry, assignment=assignment)
    labels = dict(first.labels)
    pellets = [first] + [pellet_conductivities(f, geometry, assignment=labels)
                         for f in series.fits[1:]]
    T = np.array([p.temperature for p in pellets], float)
    arrhenius: dict[str, ArrheniusFit] = {}
    values: dict[str, Value] = {}
    files = [f.path for p in pellets for f in p.provenance.inputs]
    for key in ("bulk", "gb", "gb_specific", "total"):
        name = f"sigma_{key}"
        rows = [(p.temperature, p.values[name]) for p in pellets if name in p.values]
        if len(rows) < 2:
            continue
        t = np.array([r[0] for r in rows])
        s = np.array([r[1].value for r in rows])
        e = np.array([r[1].error for r in rows])
        ok = np.all(np.isfinite(e) & (e > 0))
        fit = sigma_T_arrhenius(t, s, e if ok else None, files=files)
        arrhenius[key] = fit
        values[f"Ea_{key}"] = Value(f"Ea_{key}", fit["Ea"].value, fit["Ea"].error, "J",
                                    f"Ea({key})")
        values[f"A_{key}"] = Value(f"A_{key}", fit["prefactor"].value, fit["prefactor"].error,
                                   "S*K/m", f"A({key})")
    return PelletSeries(
        values=values,
        provenance=Provenance(method="impedance.pellet_series",
                              inputs=tuple(i for p in pellets for i in p.provenance.inputs),
                              parameters=json_safe({"circuit": str(circuit), "labels": labels,
                                                    **geometry.__dict__, **fit_options})),
        title=f"{len(pellets)} temperatures, {circuit}",
        pellets=tuple(pellets),
        series=series,
        arrhenius=arrhenius,
        temperature=T,
    )
