"""Campaign analyses of galvanostatic plating/stripping (measurements of technique ``cycling``).

================  ===================  ================================================
method            measurements         what it does
================  ===================  ================================================
``cycling.steps``  one ``cycling``      per half-cycle j, duration, areal capacity,
                                       plateau polarisation, initial overpotential, tail
``cycling.ccd``    one ``cycling``      short detection, critical current density, last
                                       stable j, capacity to failure, ASR, verdicts
``cycling.asr``    one ``cycling``      ASR of the stable half-cycles, linearity test,
                                       ASR / R·A of an impedance resistance
================  ===================  ================================================

The electrode area comes from the parameters (``area`` or ``diameter``), else the measurement's
conditions (``area``, ``diameter``), else the sample's properties, else the file. The impedance
resistance for the R·A comparison is given (``impedance_resistance = "436 ohm"``) or read from
the store: the latest ``impedance_value`` of ``impedance_method`` for the same sample
(``impedance_method = "eis.fit"``, ``impedance_value = ["R_bulk", "R_gb"]`` sums the two;
a value in Ω m², such as ``ASR_electrode``, is taken as R·A itself). Such an analysis must come
after the impedance analysis in the campaign.
"""

from __future__ import annotations

import math

from ..campaign import AnalysisContext, Param, analysis
from ..io.cycling import read_cycling
from .shorts import SHORT_DEFAULTS, area_specific_resistance, critical_current_density
from .steps import STEP_DEFAULTS, analyse_steps

_READ = {
    "area": Param("m^2", None, "electrode area (else conditions.area/diameter, the sample's, "
                               "or the file's)"),
    "diameter": Param("m", None, "electrode diameter: area = π d²/4"),
    "format": Param(None, None, "force a reader (see `ionscale cycling formats`)"),
    "columns": Param(None, None, "CSV column mapping {time = '...', current = '...', "
                                 "potential = '...'}"),
    "units": Param(None, None, "CSV units of unlabelled columns {current = 'mA'}"),
    "preset": Param(None, None, "CSV column preset",
                    (None, "arbin", "neware", "maccor", "biologic")),
}
_STEPS = {
    "plateau_window": Param(None, list(STEP_DEFAULTS["plateau_window"]),
                            "fractions of each half-cycle over which the plateau median is "
                            "taken"),
    "tail_threshold": Param(None, STEP_DEFAULTS["tail_threshold"],
                            "relative rise of the last 5 % that flags a contact-loss tail"),
}
_SHORTS = {
    "drop_fraction": Param(None, SHORT_DEFAULTS["drop_fraction"],
                           "relative drop of the polarisation that is a short"),
    "floor_fraction": Param(None, SHORT_DEFAULTS["floor_fraction"],
                            "fraction of ASR_ref·j below which a plateau is a short"),
    "near_zero_snr": Param(None, SHORT_DEFAULTS["near_zero_snr"],
                           "plateau / point scatter below which the voltage is near zero"),
    "soft_noise_excess": Param(None, SHORT_DEFAULTS["soft_noise_excess"],
                               "scatter / rest noise above which near zero is a soft short"),
    "asr_reference": Param("ohm*m^2", None, "ASR_ref of the floor criterion (default: the "
                                            "first level's)"),
}
_IMPEDANCE = {
    "impedance_resistance": Param("ohm", None, "R of impedance of the same cell"),
    "impedance_resistance_error": Param("ohm", None, "its standard error"),
    "impedance_method": Param(None, None, "stored analysis giving R (e.g. 'eis.fit')"),
    "impedance_value": Param(None, None, "stored value name(s), summed (e.g. ['R_bulk', "
                                         "'R_gb'])"),
    "impedance_label": Param(None, None, "label of that analysis when the sample has several"),
}


def _area(ctx: AnalysisContext) -> float | None:
    p = ctx.parameters
    m = ctx.measurements[0] if ctx.measurements else None
    for source in (p, m.conditions if m is not None else {}, ctx.sample.properties):
        if source.get("area") is not None:
            return float(source["area"])
        if source.get("diameter") is not None:
            return math.pi * float(source["diameter"]) ** 2 / 4.0
    return None


def _trace(ctx: AnalysisContext):
    m = ctx.measurement("cycling")
    if len(m.files) != 1:
        raise ctx.error(f"measurement {m.name!r} has {len(m.files)} files", "measurements",
                        "one cycling file per measurement")
    p = ctx.parameters
    return read_cycling(m.files[0], format=p.get("format"), area=_area(ctx),
                        columns=p.get("columns"), units=p.get("units"), preset=p.get("preset"))


def _window(ctx: AnalysisContext) -> tuple[float, float]:
    w = ctx.parameters.get("plateau_window")
    if not isinstance(w, (list, tuple)) or len(w) != 2:
        raise ctx.error(f"plateau_window = {w!r}", "parameters.plateau_window",
                        "two fractions, e.g. [0.8, 1.0]")
    return float(w[0]), float(w[1])


def _impedance(ctx: AnalysisContext, area: float) -> tuple[float | None, float, str]:
    """``(R, σ_R, source)`` from the parameters or the store (R in Ω)."""
    p = ctx.parameters
    if p.get("impedance_resistance") is not None:
        err = p.get("impedance_resistance_error")
        return float(p["impedance_resistance"]), math.nan if err is None else float(err), \
            "given"
    method = p.get("impedance_method")
    if not method:
        return None, math.nan, ""
    names = p.get("impedance_value")
    if not names:
        raise ctx.error("impedance_method needs impedance_value", "parameters.impedance_value",
                        "the stored value name(s), e.g. ['R_bulk', 'R_gb']")
    names = [names] if isinstance(names, str) else list(names)
    total, var = 0.0, 0.0
    for name in names:
        rows = ctx.store.results(sample=ctx.sample.name, method=method, name=name)
        if p.get("impedance_label") is not None:
            rows = [r for r in rows if r.get("label") == p["impedance_label"]]
        if not rows:
            raise ctx.error(f"no stored '{name}' of {method} for sample {ctx.sample.name!r}",
                            "parameters.impedance_method",
                            "the impedance analysis to come earlier in the campaign (or give "
                            "impedance_resistance)")
        row = max(rows, key=lambda r: r.get("analysis_id", 0))
        value = row["value"]
        if value is None:
            raise ctx.error(f"the stored '{name}' of {method} is not a number",
                            "parameters.impedance_value", "a finite stored value")
        unit = row.get("unit") or "ohm"
        if unit == "ohm*m^2":
            value = value / area
            err = (row["error"] or math.nan) / area
        elif unit == "ohm":
            err = row["error"] if row["error"] is not None else math.nan
        else:
            raise ctx.error(f"the stored '{name}' is in {unit!r}", "parameters.impedance_value",
                            "a resistance (ohm) or an area-specific resistance (ohm*m^2)")
        total += value
        var += err * err
    label = f" ({p['impedance_label']})" if p.get("impedance_label") else ""
    return total, math.sqrt(var), f"{method} {'+'.join(names)}{label}"


@analysis("cycling.steps", techniques=("cycling",), parameters={**_READ, **_STEPS})
def steps_analysis(ctx: AnalysisContext):
    """Per half-cycle j, duration, capacity, plateau polarisation, overpotential, tail."""
    return analyse_steps(_trace(ctx), plateau_window=_window(ctx),
                         tail_threshold=float(ctx.parameters["tail_threshold"]))


@analysis("cycling.ccd", techniques=("cycling",), uses_results=True,
          parameters={**_READ, **_STEPS, **_SHORTS, **_IMPEDANCE})
def ccd_analysis(ctx: AnalysisContext):
    """Short detection and critical current density, with the ASR of the stable steps."""
    p = ctx.parameters
    trace = _trace(ctx)
    options = _short_options(p)
    area = trace.require_area()
    R, R_err, source = _impedance(ctx, area)
    return critical_current_density(trace, plateau_window=_window(ctx),
                                    tail_threshold=float(p["tail_threshold"]),
                                    impedance_resistance=R, impedance_resistance_error=R_err,
                                    impedance_source=source, **options)


@analysis("cycling.asr", techniques=("cycling",), uses_results=True,
          parameters={**_READ, **_STEPS, **_SHORTS, **_IMPEDANCE,
                      "linearity_tolerance": Param(None, 0.10, "relative j² effect at the "
                                                               "largest j that is non-linear")})
def asr_analysis(ctx: AnalysisContext):
    """ASR of the stable half-cycles, linearity test, and ASR / R·A of impedance."""
    p = ctx.parameters
    trace = _trace(ctx)
    area = trace.require_area()
    R, R_err, source = _impedance(ctx, area)
    return area_specific_resistance(
        trace, impedance_resistance=R, impedance_resistance_error=R_err,
        impedance_source=source, linearity_tolerance=float(p["linearity_tolerance"]),
        plateau_window=_window(ctx), tail_threshold=float(p["tail_threshold"]),
        **_short_options(p))


def _short_options(p) -> dict:
    out = {k: float(p[k]) for k in ("drop_fraction", "floor_fraction", "near_zero_snr",
                                    "soft_noise_excess")}
    out["asr_reference"] = None if p.get("asr_reference") is None else float(p["asr_reference"])
    return out
