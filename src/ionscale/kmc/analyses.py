"""Campaign analyses of kinetic Monte Carlo models (measurements of technique ``kmc-model``).

================  =====================  ==================================================
method            measurements           what it does
================  =====================  ==================================================
``kmc.run``       one ``kmc-model``      runs the model file (TOML, see
                                         :mod:`ionscale.kmc.io`): D*, D_σ, f, f_I, H_R, Γ,
                                         profiles of a couple
``kmc.series``    one ``kmc-model``      runs it at each of ``temperatures``: the per-T
                                         values and their Arrhenius plot
================  =====================  ==================================================

A measurement's ``conditions.temperature`` replaces the model file's, so several measurements
of one model file at different temperatures, each analysed by ``kmc.run``, are an Arrhenius
series in the store: ``transport.arrhenius`` with ``from_method = "kmc.run"`` and
``value = "D_tracer"`` fits it. Parameters given here override the file's ``[run]`` table; the
seed defaults to the file's, else 0, so that a campaign rerun is reproducible (and cached).
"""

from __future__ import annotations

from ..campaign import AnalysisContext, Param, analysis
from .analysis import arrhenius_series, run
from .io import read_model

_RUN = {
    "events": Param(None, None, "number of events (else the model file's [run])"),
    "time": Param("s", None, "simulated duration per replica"),
    "blocks": Param(None, None, "blocks per replica (MSD samples)"),
    "lags": Param(None, None, "lags per block"),
    "replicas": Param(None, None, "independent replicas"),
    "seed": Param(None, None, "random seed (default: the file's, else 0)"),
    "accelerate": Param(None, None, "scale down flickering event classes"),
    "track": Param(None, None, "'all' or the number of particles whose positions are kept"),
}


def _settings(ctx: AnalysisContext, temperature_override: bool = True):
    m = ctx.measurement("kmc-model")
    path = m.files[0]
    T = m.condition("temperature") if temperature_override else None
    model, settings = read_model(path, temperature=T)
    given = {k: v for k, v in ctx.parameters.items() if k in _RUN and v is not None}
    if "events" in given:
        settings.pop("time", None)
    if "time" in given:
        settings.pop("events", None)
    settings.update(given)
    settings.setdefault("seed", 0)
    if "events" in settings:
        settings["events"] = float(settings["events"])
    return model, settings, path


@analysis("kmc.run", techniques=("kmc-model",), parameters=dict(_RUN))
def run_analysis(ctx: AnalysisContext):
    """Run a kMC model file: D*, D_σ, correlation factors, Haven ratio, Γ, profiles."""
    model, settings, path = _settings(ctx)
    return run(model, files=[path], progress=False, **settings)


@analysis(
    "kmc.series",
    techniques=("kmc-model",),
    parameters={**_RUN, "temperatures": Param("K", doc="temperatures of the series")},
)
def series_analysis(ctx: AnalysisContext):
    """Run a kMC model file at several temperatures (Arrhenius series)."""
    model, settings, _ = _settings(ctx, temperature_override=False)
    temps = ctx.parameters["temperatures"]
    temps = temps if isinstance(temps, list) else [temps]
    if len(temps) < 2:
        raise ctx.error(f"{len(temps)} temperature", "parameters.temperatures",
                        "two or more temperatures, e.g. ['500 K', '600 K', '700 K']")
    seed = settings.pop("seed", 0)
    return arrhenius_series(model, temps, seed=seed, progress=False, **settings)
