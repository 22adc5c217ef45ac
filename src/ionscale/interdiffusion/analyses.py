"""Campaign analyses of the interdiffusion technique.

==============================  ====================  ===========================================
method                          measurements          what it does
==============================  ====================  ===========================================
``interdiffusion.matano``       one profile           Boltzmann-Matano D̃(C), Monte-Carlo band
``interdiffusion.sauer_freise`` one profile           Sauer-Freise D̃(C), Monte-Carlo band
``interdiffusion.fit``          one profile           forward-simulation fit of D̃(C) (spline in
                                                      ln D̃), confidence band
``interdiffusion.growth``       profiles × (2+)       width ∝ tⁿ check over anneal times
==============================  ====================  ===========================================

Measurement techniques accepted: ``diffusion-profile``, ``epma-line``, ``eds-line``,
``sims-depth``. Conditions used: ``time`` (anneal), ``temperature`` (anneal; stored with each
result, so ``transport.arrhenius`` with ``from_method = "interdiffusion.fit"`` and
``value = "D_0.5"`` fits D̃ at X = 0.5 over the sample's anneals), ``resolution`` (probe SD).
A sputter-time profile is calibrated with the parameters ``crater_depth`` or ``rate`` (and
``layer_rates``, ``marker``).
"""

from __future__ import annotations

from ..campaign import AnalysisContext, Measurement, Param, analysis
from ..units import parse_quantity
from .data import DiffusionProfile

TECHNIQUES = ("diffusion-profile", "epma-line", "eds-line", "sims-depth")

_READ = {
    "species": Param(None, None, "species analysed (default: the file's first)"),
    "format": Param(None, "auto", "file layout", ("auto", "text", "pydiffusion")),
    "x_unit": Param(None, "um", "unit of the position column when the header has none"),
    "crater_depth": Param("m", None, "crater depth of a sputter-time profile"),
    "rate": Param("m/s", None, "sputter rate of a sputter-time profile"),
    "layer_rates": Param(None, None, "[rate of layer 1, rate of layer 2] (relative with "
                                     "crater_depth, else in m/s)"),
    "marker": Param(None, None, "species whose composition blends the layer rates"),
    "ends": Param(None, None, "end-member compositions [left, right], e.g. [0, 1]"),
    "at": Param(None, None, "compositions where D̃ is stored as values D_<c>, e.g. [0.5]"),
}


def read_measurement(ctx: AnalysisContext, m: Measurement) -> DiffusionProfile:
    """Read one profile measurement with the analysis' reading parameters and conditions."""
    from ..io.interdiffusion import read_profile, read_pydiffusion
    from ..io.text import read_table
    from .depth import to_depth

    if len(m.files) != 1:
        raise ctx.error(f"measurement {m.name!r} has {len(m.files)} files", "measurements",
                        "one file per profile")
    p = ctx.parameters
    path = m.files[0]
    fmt = p.get("format", "auto")
    if fmt == "auto":
        cols = {c.strip().lower() for c in read_table(path).columns}
        fmt = "pydiffusion" if {"x", "dis"} <= cols else "text"
    kw = {"time": m.condition("time"), "temperature": m.condition("temperature")}
    if fmt == "pydiffusion":
        prof = read_pydiffusion(path, **kw)
    else:
        res = m.condition("resolution")
        prof = read_profile(path, x_unit=p.get("x_unit", "um"), **kw,
                            resolution=None if res is None else
                            parse_quantity(res, "m", field=f"{ctx.where}.resolution",
                                           file=ctx.file))
    if prof.coordinate == "time":
        if p.get("crater_depth") is None and p.get("rate") is None:
            raise ctx.error("the profile is in sputter time", "parameters.crater_depth",
                            "crater_depth or rate (and optionally layer_rates, marker)")
        prof = to_depth(prof, crater_depth=p.get("crater_depth"), rate=p.get("rate"),
                        layer_rates=p.get("layer_rates"), marker=p.get("marker"))
    return prof


def _direct(ctx: AnalysisContext, method: str):
    from .matano import boltzmann_matano, sauer_freise

    p = ctx.parameters
    prof = read_measurement(ctx, ctx.measurement())
    func = boltzmann_matano if method == "matano" else sauer_freise
    return func(prof, p["species"], smooth=p["smooth"], ends=p["ends"],
                monte_carlo=int(p["monte_carlo"]), seed=0, at=p["at"], hall=bool(p["hall"]))


_DIRECT = {
    **_READ,
    "smooth": Param(None, "spline", "smoothing", ("spline", "savgol", None)),
    "monte_carlo": Param(None, 100, "Monte-Carlo redraws for the band (0: none)"),
    "hall": Param(None, False, "add Hall's method for the tails"),
}


@analysis("interdiffusion.matano", techniques=TECHNIQUES, parameters=_DIRECT)
def matano_analysis(ctx: AnalysisContext):
    """Boltzmann-Matano D̃(C) of one interdiffusion profile."""
    return _direct(ctx, "matano")


@analysis("interdiffusion.sauer_freise", techniques=TECHNIQUES, parameters=_DIRECT)
def sauer_freise_analysis(ctx: AnalysisContext):
    """Sauer-Freise D̃(C) of one interdiffusion profile."""
    return _direct(ctx, "sauer-freise")


@analysis(
    "interdiffusion.fit",
    techniques=TECHNIQUES,
    parameters={
        **_READ,
        "knots": Param(None, 5, "knots per phase, or [[c, ...], ...] per phase"),
        "phases": Param(None, None, "phase composition ranges [[low, high], ...]"),
        "resolution": Param("m", None, "probe SD deconvolved in the fit (default: the "
                                       "measurement's condition)"),
        "n_steps": Param(None, 150, "time steps per simulation"),
        "domain": Param("m", None, "[start, end] of the simulated sample (closed ends)"),
    },
)
def fit_analysis(ctx: AnalysisContext):
    """Forward-simulation fit of D̃(C) (spline in ln D̃) to one interdiffusion profile."""
    from .forward import fit_diffusivity

    p = ctx.parameters
    prof = read_measurement(ctx, ctx.measurement())
    return fit_diffusivity(prof, p["species"], knots=p["knots"], phases=p["phases"],
                           ends=p["ends"], resolution=p["resolution"], at=p["at"],
                           n_steps=int(p["n_steps"]), domain=p["domain"])


@analysis(
    "interdiffusion.growth",
    techniques=TECHNIQUES,
    parameters={**_READ, "tolerance": Param(None, 0.05, "allowed |n − 1/2|")},
)
def growth_analysis(ctx: AnalysisContext):
    """Profile width against anneal time (w ∝ √t for diffusion control)."""
    from .series import growth_check

    if len(ctx.measurements) < 2:
        raise ctx.error("needs profiles after two or more anneal times", "measurements",
                        "['anneal-10h', 'anneal-40h', ...]")
    profiles = [read_measurement(ctx, m) for m in ctx.measurements]
    return growth_check(profiles, ctx.parameters["species"],
                        tolerance=float(ctx.parameters["tolerance"]))
