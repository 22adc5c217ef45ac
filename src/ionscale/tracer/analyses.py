"""Campaign analyses of the tracer technique.

===================  ======================  ==============================================
method               measurements            what it does
===================  ======================  ==============================================
``tracer.fraction``  one ``sims-map``        counts → isotope-fraction map (binned, masked)
``tracer.profile``   one ``sims-line``       analytic profile fit (erfc, thin film, exchange)
``tracer.evolve``    ``sims-line`` × (1+n)   joint numerical fit of a profile's evolution
``tracer.gb``        one ``sims-map``        grain-boundary step analysis along segments
``tracer.regime``    none                    Harrison regime of the sample's numbers
===================  ======================  ==============================================

Measurement conditions used: ``time`` (exchange or cumulative anneal time), ``temperature``,
``pixel_size`` (maps), ``isotopes`` (map channels, in file order).
"""

from __future__ import annotations

from ..campaign import AnalysisContext, Measurement, Param, analysis
from ..errors import InputError
from ..io.sims import read_map, read_profile
from ..io.text import row_range
from ..tracer.data import Profile
from .evolution import fit_evolution
from .fraction import FractionMapResult, fraction_map
from .profiles import fit_profile

_READ = {
    "x_unit": Param(None, "um", "unit of the position column when the header does not say"),
    "rows": Param(None, None, "rows to use, 'start:stop' (0-based, stop excluded)"),
    "isotopes": Param(None, None, "isotope names of the count columns, e.g. ['6Li', '7Li']"),
}


def read_line(ctx: AnalysisContext, m: Measurement) -> Profile:
    """Read a line-scan measurement with the analysis' reading parameters."""
    if len(m.files) != 1:
        raise ctx.error(f"measurement {m.name!r} has {len(m.files)} files", "measurements",
                        "one file per line scan")
    rows = row_range(ctx.parameters.get("rows"), field=f"{ctx.where}.parameters.rows",
                     file=ctx.file)
    return read_profile(m.files[0], x_unit=ctx.parameters.get("x_unit", "um"), rows=rows,
                        isotopes=ctx.parameters.get("isotopes"))


def _time(ctx: AnalysisContext, m: Measurement) -> float:
    t = m.condition("time")
    if t is None:
        raise ctx.error(f"measurement {m.name!r} has no time", "measurements",
                        "conditions.time, e.g. '110 h'")
    return t


def read_count_map(ctx: AnalysisContext, m: Measurement):
    """Read a map measurement (one file per isotope, names from ``conditions.isotopes``)."""
    pixel = m.condition("pixel_size")
    if pixel is None:
        raise ctx.error(f"map {m.name!r} has no pixel size", "measurements",
                        "conditions.pixel_size, e.g. '1 um'")
    isotopes = m.condition("isotopes")
    files = [str(f) for f in m.files]
    if isotopes is not None:
        return read_map(dict(zip(isotopes, files, strict=True)), pixel_size=pixel)
    return read_map(files if len(files) > 1 else files[0], pixel_size=pixel)


@analysis(
    "tracer.fraction",
    techniques=("sims-map",),
    parameters={
        "tracer": Param(None, "6Li", "tracer isotope"),
        "other": Param(None, "7Li", "the other isotope"),
        "bin": Param(None, 1, "bin counts in blocks of this many pixels"),
        "source": Param(None, None, "source fraction to normalise to (C' = 1)"),
    },
)
def fraction_analysis(ctx: AnalysisContext) -> FractionMapResult:
    """Isotope-fraction map from SIMS count maps."""
    m = ctx.measurement("sims-map")
    fmap = fraction_map(read_count_map(ctx, m), tracer=ctx.parameters["tracer"],
                        other=ctx.parameters["other"], bin=int(ctx.parameters["bin"]),
                        normalise_to=ctx.parameters["source"])
    return FractionMapResult.of(fmap, parameters=dict(ctx.parameters))


@analysis(
    "tracer.profile",
    techniques=("sims-line", "sims-depth"),
    parameters={
        "model": Param(None, "erfc", "profile model", ("erfc", "thin-film", "exchange")),
        "surface": Param(None, None, "surface position (m), or 'fit'"),
        "background": Param(None, None, "background fraction, or 'fit' (default: fitted for "
                                            "count data, 0 for a normalised fraction)"),
        "source": Param(None, None, "source fraction, or 'fit' (default: fitted for count "
                                    "data, 1 for a normalised fraction)"),
        "direction": Param(None, "auto", "where the source was: 'from-far-face' flips the "
                                         "depth axis; 'auto' refuses a profile rising towards "
                                         "its end", ("auto", "from-surface", "from-far-face")),
        "weights": Param(None, "sigma", "weights: 'sigma' or 'counts'", ("sigma", "counts")),
        "monte_carlo": Param(None, 0, "Monte-Carlo refits for the errors (0: Jacobian)"),
        **_READ,
    },
)
def profile_analysis(ctx: AnalysisContext):
    """Analytic diffusion-profile fit (D*, k*) of one line scan or depth profile."""
    m = ctx.measurement()
    p = ctx.parameters
    return fit_profile(read_line(ctx, m), model=p["model"], time=_time(ctx, m),
                       surface=p["surface"], background=p["background"], source=p["source"],
                       direction=p["direction"], weights=p["weights"],
                       monte_carlo=int(p["monte_carlo"]), seed=0)


@analysis(
    "tracer.evolve",
    techniques=("sims-line",),
    parameters={
        "surface": Param("m", None, "position of the sample's closed edge; the model is padded "
                                    "to it"),
        "smooth": Param(None, None, "Savitzky-Golay window for the initial profile"),
        "offsets": Param(None, False, "fit a constant offset per later profile"),
        "n_cells": Param(None, 400, "cells of the numerical model"),
        "monte_carlo": Param(None, 0, "refits that add the before-profile's noise to the error"),
        **_READ,
    },
)
def evolve_analysis(ctx: AnalysisContext):
    """D*_eff from the evolution of a profile: first measurement before, the others after."""
    if len(ctx.measurements) < 2:
        raise ctx.error("needs a profile before and at least one after", "measurements",
                        "['before', 'after', ...]")
    before, *afters = (read_line(ctx, m) for m in ctx.measurements)
    times = [_time(ctx, m) for m in ctx.measurements[1:]]
    p = ctx.parameters
    pad = 0.0
    if p["surface"] is not None:
        pad = (max(float(before.x[0] - p["surface"]), 0.0), 0.0)
    return fit_evolution(before, afters, times, smooth=p["smooth"], offsets=bool(p["offsets"]),
                         n_cells=int(p["n_cells"]), pad=pad,
                         monte_carlo=int(p["monte_carlo"]), seed=0)


@analysis(
    "tracer.gb",
    techniques=("sims-map",),
    parameters={
        "segments": Param(None, doc="[[x0, y0, x1, y1], ...] (a 5th value: the boundary "
                                    "position along y) in segment_unit, or a file of such "
                                    "rows, as on the CLI"),
        "segment_unit": Param(None, "um", "unit of the segment coordinates"),
        "D_bulk": Param("m^2/s", doc="bulk tracer diffusivity (e.g. from PFG-NMR)"),
        "D_bulk_error": Param("m^2/s", 0.0, "its standard error"),
        "gb_width": Param("m", None, "boundary width δ, for D_gb"),
        "width": Param("m", 3e-6, "averaging width across each segment"),
        "window": Param("m", 6e-6, "fit window on each side of the boundary"),
        "exclude": Param("m", 1e-6, "excluded next to the boundary (SIMS resolution)"),
        "degree": Param(None, 2, "polynomial degree of the side fits (1 or 2)", (1, 2)),
        "tracer": Param(None, "6Li", "tracer isotope"),
        "other": Param(None, "7Li", "the other isotope"),
        "bin": Param(None, 1, "bin counts in blocks of this many pixels"),
    },
)
def gb_analysis(ctx: AnalysisContext):
    """Grain-boundary step analysis (D_gb/δ, D_gb) along many segments of one map."""
    from .grain_boundary import analyse_boundaries, segments_from

    p = ctx.parameters
    m = ctx.measurement("sims-map")
    fmap = fraction_map(read_count_map(ctx, m), tracer=p["tracer"], other=p["other"],
                        bin=int(p["bin"]))
    segments = p["segments"]
    if isinstance(segments, str):  # a segments file beside the campaign, as on the CLI
        segments = ctx.campaign_dir / segments
    elif not isinstance(segments, list):
        raise ctx.error(f"segments is {segments!r}", "parameters.segments",
                        "a list of [x0, y0, x1, y1(, y_boundary)] rows or a file name")
    try:
        segs, given = segments_from(segments, p["segment_unit"], field=f"{ctx.where}."
                                    "parameters.segments", file=None if isinstance(
                                        segments, list) else str(segments))
    except InputError as exc:
        raise exc.with_file(ctx.file) from None
    return analyse_boundaries(
        fmap, segs, boundaries=given,
        window=p["window"], D_bulk=p["D_bulk"], width=p["width"], exclude=p["exclude"],
        D_bulk_error=p["D_bulk_error"], gb_width=p["gb_width"], degree=int(p["degree"]))


@analysis(
    "tracer.regime",
    parameters={
        "D_bulk": Param("m^2/s", doc="bulk diffusivity"),
        "time": Param("s", doc="anneal time"),
        "grain_size": Param("m", doc="grain size"),
        "gb_width": Param("m", 0.5e-9, "boundary width δ"),
        "D_gb": Param("m^2/s", None, "grain-boundary diffusivity, if known"),
    },
)
def regime_analysis(ctx: AnalysisContext):
    """Harrison regime (A/B/C) of grain-boundary diffusion for the given numbers."""
    from .regimes import harrison_regime

    p = ctx.parameters
    return harrison_regime(p["D_bulk"], p["time"], p["grain_size"], p["gb_width"],
                           D_gb=p["D_gb"])
