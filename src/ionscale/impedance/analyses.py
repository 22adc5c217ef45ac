"""Campaign analyses of the impedance technique.

================  ==========================  ===================================================
method            measurements                what it does
================  ==========================  ===================================================
``eis.fit``       one ``eis``                 circuit fit; with a geometry (conditions
                                              ``thickness`` and ``diameter`` or ``area``) also
                                              bulk, grain-boundary and total σ
``eis.kk``        one ``eis``                 linear Kramers-Kronig test (μ criterion)
``eis.drt``       one ``eis``                 distribution of relaxation times and its peaks
``eis.series``    several ``eis``             one batch fit of a temperature (or time) series;
                                              with a geometry, σ(T) and Arrhenius Ea of each arc
``eis.evolution`` several ``eis``             R(t) of one arc against √t: one or two segments,
                                              logarithmic model, model comparison
================  ==========================  ===================================================

A measurement's ``conditions.temperature`` overrides the file's; every file of a measurement is
read with :func:`ionscale.io.eis.read_spectra` (all sweeps). ``eis.fit`` results carry the
temperature of their measurement, so ``transport.arrhenius`` with ``from_method = "eis.fit"``,
``value = "sigma_bulk"`` and ``form = "sigmaT"`` gives the Arrhenius law of stored fits.
"""

from __future__ import annotations

from dataclasses import replace

from ..campaign import AnalysisContext, Param, analysis
from ..io.eis import read_spectra
from .drt import compute_drt
from .evolution import resistance_evolution, resistance_series
from .fit import fit_circuit
from .kramers_kronig import kramers_kronig
from .pellet import Geometry, pellet_conductivities, pellet_series
from .series import fit_series

_WEIGHTING = ("modulus", "unit", "proportional", "sigma")
_FIT_PARAMETERS = {
    "circuit": Param(None, doc="circuit string, e.g. 'p(R1,CPE1)-p(R2,CPE2)-CPE3'"),
    "initial": Param(None, None, "initial values {name = SI value} (default: estimated)"),
    "weighting": Param(None, "modulus", "residual weighting", _WEIGHTING),
    "fmin": Param("Hz", None, "lowest frequency used"),
    "fmax": Param("Hz", None, "highest frequency used"),
    "assignment": Param(None, None, "arc labels {R1 = 'bulk', R2 = 'grain_boundary'} "
                                    "(default: from capacitances)"),
    "thickness": Param("m", None, "pellet thickness (else conditions.thickness)"),
    "thickness_after": Param("m", None, "thickness measured after the measurement"),
    "diameter": Param("m", None, "electrode diameter (else conditions.diameter)"),
    "area": Param("m^2", None, "electrode area (else conditions.area)"),
}


def _spectra(ctx: AnalysisContext, measurements=None) -> list:
    out = []
    for m in measurements if measurements is not None else ctx.measurements:
        for f in m.files:
            for s in read_spectra(f):
                if m.condition("temperature") is not None:
                    s = replace(s, temperature=m.condition("temperature"))
                out.append(s)
    p = ctx.parameters
    if p.get("fmin") is not None or p.get("fmax") is not None:
        out = [s.select(p.get("fmin"), p.get("fmax")) for s in out]
    if not out:
        raise ctx.error("no spectrum in the measurements", "measurements",
                        "impedance files of a supported format")
    return out


def _geometry(ctx: AnalysisContext) -> Geometry | None:
    p = ctx.parameters
    m = ctx.measurements[0] if ctx.measurements else None

    def get(key):
        if p.get(key) is not None:
            return p[key]
        if m is not None and m.condition(key) is not None:
            return m.condition(key)
        return ctx.sample.properties.get(key)

    thickness = get("thickness")
    if thickness is None:
        return None
    diameter, area = get("diameter"), get("area")
    if diameter is None and area is None:
        raise ctx.error("a thickness but no electrode size", "parameters.diameter",
                        "diameter or area (parameters or measurement conditions)")
    return Geometry(thickness=float(thickness),
                    diameter=None if diameter is None else float(diameter),
                    area=None if diameter is not None or area is None else float(area),
                    thickness_after=p.get("thickness_after"))


@analysis("eis.fit", techniques=("eis",), parameters=dict(_FIT_PARAMETERS))
def fit_analysis(ctx: AnalysisContext):
    """Equivalent-circuit fit of one spectrum (with σ when the geometry is known)."""
    p = ctx.parameters
    spectrum = _spectra(ctx, [ctx.measurement("eis")])[0]
    result = fit_circuit(spectrum, p["circuit"], p["initial"], weighting=p["weighting"])
    geometry = _geometry(ctx)
    if geometry is None:
        return result
    return pellet_conductivities(result, geometry, assignment=p["assignment"])


@analysis(
    "eis.kk",
    techniques=("eis",),
    parameters={
        "c": Param(None, 0.85, "μ threshold of the automatic number of RC elements"),
        "threshold": Param(None, 1.0, "pass if every residual is within this many per cent"),
        "blocking": Param(None, False, "add a series capacitance (blocking electrodes)"),
        "fmin": Param("Hz", None, "lowest frequency used"),
        "fmax": Param("Hz", None, "highest frequency used"),
    },
)
def kk_analysis(ctx: AnalysisContext):
    """Linear Kramers-Kronig test of one spectrum."""
    p = ctx.parameters
    spectrum = _spectra(ctx, [ctx.measurement("eis")])[0]
    return kramers_kronig(spectrum, c=float(p["c"]), threshold=float(p["threshold"]),
                          include_capacitance=bool(p["blocking"]))


@analysis(
    "eis.drt",
    techniques=("eis",),
    parameters={
        "lambda": Param(None, None, "regularisation (default: chosen by method)"),
        "method": Param(None, "gcv", "choice of λ", ("gcv", "gcv-min", "lcurve")),
        "inductance": Param(None, False, "fit a series inductance"),
        "blocking": Param(None, False, "add a series capacitance (blocking electrodes)"),
        "fmin": Param("Hz", None, "lowest frequency used"),
        "fmax": Param("Hz", None, "highest frequency used"),
    },
)
def drt_analysis(ctx: AnalysisContext):
    """Distribution of relaxation times of one spectrum, with its peaks."""
    p = ctx.parameters
    spectrum = _spectra(ctx, [ctx.measurement("eis")])[0]
    lam = None if p["lambda"] is None else float(p["lambda"])
    return compute_drt(spectrum, lambda_=lam, method=p["method"],
                       inductance=bool(p["inductance"]), capacitance=bool(p["blocking"]))


@analysis(
    "eis.series",
    techniques=("eis",),
    parameters={**_FIT_PARAMETERS,
                "n_jobs": Param(None, 1, "worker processes")},
)
def series_analysis(ctx: AnalysisContext):
    """Batch fit of a temperature or time series; with a geometry, σ(T) and Ea of each arc."""
    p = ctx.parameters
    spectra = _spectra(ctx)
    geometry = _geometry(ctx)
    options = {"weighting": p["weighting"], "n_jobs": int(p["n_jobs"]), "progress": False}
    if geometry is None:
        return fit_series(spectra, p["circuit"], p["initial"], **options)
    return pellet_series(spectra, p["circuit"], geometry, assignment=p["assignment"],
                         initial=p["initial"], **options)


@analysis(
    "eis.evolution",
    techniques=("eis",),
    parameters={
        "circuit": Param(None, doc="circuit string"),
        "resistance": Param(None, "R1", "the resistance followed in time"),
        "initial": Param(None, None, "initial values {name = SI value}"),
        "weighting": Param(None, "modulus", "residual weighting", _WEIGHTING),
        "fmin": Param("Hz", None, "lowest frequency used"),
        "fmax": Param("Hz", None, "highest frequency used"),
    },
)
def evolution_analysis(ctx: AnalysisContext):
    """R(t) of a time series against √t: one or two segments, log model, comparison."""
    p = ctx.parameters
    series = fit_series(_spectra(ctx), p["circuit"], p["initial"], weighting=p["weighting"],
                        progress=False)
    t, R, e = resistance_series(series.fits, p["resistance"])
    return resistance_evolution(t, R, e)
