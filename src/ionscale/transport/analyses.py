"""Campaign analyses that combine techniques: Arrhenius, series model, Haven ratio.

======================  ===============================================================
method                  what it does
======================  ===============================================================
``transport.arrhenius``  Arrhenius fit of an ``arrhenius-table`` measurement, or of the
                         sample's stored results ``value`` of ``from_method`` (each with the
                         temperature of its measurement); curvature test included
``transport.series``     D_eff of the series (brick) model from D_bulk, D_gb/δ (given or the
                         mean of a stored grain-boundary analysis) and the grain size ± spread
``transport.haven``      (l/δ)·D*_gb(T) from stored D*_eff and a D_bulk table, D_σ from a
                         conductivity table (Nernst-Einstein), both Arrhenius-fitted; Haven
                         ratio from the prefactors (seed 000) and pointwise
======================  ===============================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..campaign import AnalysisContext, Param, analysis
from ..results import Provenance, Result, Value, new_axes
from .arrhenius import ArrheniusFit, compare_arrhenius_models, fit_arrhenius
from .effective_medium import gb_term_from_effective, series_diffusivity
from .io import read_arrhenius_table
from .nernst_einstein import conductivity_diffusivity, haven_ratio, haven_ratio_from_prefactors


def stored_series(ctx: AnalysisContext, method: str, name: str):
    """``(T, value, error, labels)`` of the sample's latest stored ``name`` from ``method``."""
    rows = ctx.store.results(sample=ctx.sample.name, method=method, name=name)
    latest: dict[str, dict] = {}
    for r in rows:  # one row per analysis label: the newest
        if r.get("temperature_K") is None:
            continue
        key = r.get("label") or str(r.get("analysis_id"))
        if key not in latest or r.get("analysis_id", 0) > latest[key].get("analysis_id", 0):
            latest[key] = r
    if not latest:
        raise ctx.error(f"no stored '{name}' results of {method} with a temperature for sample "
                        f"{ctx.sample.name!r}", "parameters.from_method",
                        "the analyses it reads to come earlier in the campaign")
    rows = sorted(latest.values(), key=lambda r: r["temperature_K"])
    T = np.array([r["temperature_K"] for r in rows], dtype=float)
    y = np.array([r["value"] for r in rows], dtype=float)
    e = np.array([r["error"] if r["error"] is not None else math.nan for r in rows], dtype=float)
    return T, y, (e if np.all(np.isfinite(e) & (e > 0)) else None), [r.get("label") for r in rows]


def _table(ctx: AnalysisContext, index: int = 0):
    m = ctx.measurements[index]
    return read_arrhenius_table(m.files[0])


@analysis(
    "transport.arrhenius",
    techniques=("arrhenius-table",),
    uses_results=True,
    parameters={
        "from_method": Param(None, None, "read stored results of this method instead of a table"),
        "value": Param(None, "D", "name of the stored value to fit"),
        "form": Param(None, None, "'D' or 'sigmaT' (default: from the table or 'D')",
                      (None, "D", "sigmaT")),
        "compare": Param(None, False, "return the curvature test (two-segment, VTF) instead"),
    },
)
def arrhenius_analysis(ctx: AnalysisContext):
    """Arrhenius fit (Ea, prefactor) of a table or of stored results."""
    p = ctx.parameters
    if ctx.measurements:
        table = _table(ctx)
        T, y, err, form, files = table.T, table.y, table.y_err, table.form, [table.source]
    elif p["from_method"]:
        T, y, err, _ = stored_series(ctx, p["from_method"], p["value"])
        form, files = "D", []
    else:
        raise ctx.error("nothing to fit", "measurements",
                        "an arrhenius-table measurement or parameters.from_method")
    form = p["form"] or form
    if p["compare"]:
        return compare_arrhenius_models(T, y, err, form=form, files=files)
    return fit_arrhenius(T, y, y_err=err, form=form, files=files)


@dataclass(frozen=True, kw_only=True)
class SeriesModelResult(Result):
    """Series-model prediction of D_eff, with the measured D_eff it is compared to."""

    measured_T: np.ndarray
    measured: np.ndarray
    measured_error: np.ndarray | None
    temperature: float | None = None

    def plot(self, ax=None):
        """Predicted D_eff (band) against measured D_eff at each temperature."""
        ax = new_axes(ax)
        d = self["D_eff"]
        ax.axhspan((d.value - d.error) * 1e4, (d.value + d.error) * 1e4, color="C1", alpha=0.3,
                   label="series model ±1σ")
        ax.axhline(d.value * 1e4, color="C1")
        if self.measured.size:
            err = None if self.measured_error is None else self.measured_error * 1e4
            ax.errorbar(self.measured_T - 273.15, self.measured * 1e4, yerr=err, fmt="o",
                        color="C0", capsize=3, label="measured D*_eff")
        ax.set_yscale("log")
        ax.set_xlabel("T (°C)")
        ax.set_ylabel("D*_eff (cm² s⁻¹)")
        ax.legend()
        ax.set_title("series (brick) model vs measurement")
        return ax


@analysis(
    "transport.series",
    uses_results=True,
    parameters={
        "D_bulk": Param("m^2/s", doc="bulk tracer diffusivity"),
        "D_bulk_error": Param("m^2/s", 0.0, "its standard error"),
        "grain_size": Param("m", doc="mean grain size l"),
        "grain_size_error": Param("m", 0.0, "grain-size spread (standard deviation)"),
        "D_gb_over_delta": Param("m/s", None, "D_gb/δ; if absent, from a stored analysis"),
        "D_gb_over_delta_error": Param("m/s", 0.0, "its standard error"),
        "from_method": Param(None, "tracer.gb", "stored analysis giving D_gb_over_delta"),
        "statistic": Param(None, "weighted", "which summary of the stored boundaries to use",
                           ("mean", "median", "weighted")),
        "compare_method": Param(None, "tracer.evolve", "stored D_eff to compare with"),
    },
)
def series_analysis(ctx: AnalysisContext) -> SeriesModelResult:
    """Effective diffusivity of grains and slow boundaries in series (seed 000, eq. 6)."""
    p = ctx.parameters
    g, g_err, temperature = p["D_gb_over_delta"], p["D_gb_over_delta_error"], None
    if g is None:
        name = "D_gb_over_delta" + ("" if p["statistic"] == "mean" else f"_{p['statistic']}")
        T, y, e, _ = stored_series(ctx, p["from_method"], name)
        g, g_err, temperature = float(y[-1]), float(e[-1]) if e is not None else 0.0, float(T[-1])
    est = series_diffusivity(p["D_bulk"], g, p["grain_size"], D_bulk_error=p["D_bulk_error"],
                             D_gb_over_delta_error=g_err, grain_size_error=p["grain_size_error"])
    try:
        mT, my, me, _ = stored_series(ctx, p["compare_method"], "D")
    except Exception:  # nothing measured to compare with is fine
        mT, my, me = np.array([]), np.array([]), None
    if temperature is not None and mT.size:
        keep = np.abs(mT - temperature) < 5.0
        mT, my = mT[keep], my[keep]
        me = None if me is None else me[keep]
    values = {"D_eff": est.to_value(),
              "D_gb_over_delta": Value("D_gb_over_delta", g, g_err, "m/s", "D*_gb/δ")}
    if my.size:
        values["D_eff_measured"] = Value("D_eff_measured", float(np.mean(my)),
                                         float(np.std(my) / math.sqrt(my.size)) if my.size > 1
                                         else (float(me[0]) if me is not None else math.nan),
                                         "m^2/s", "D*_eff (measured)")
    return SeriesModelResult(
        values=values, title="series model D_eff = 1/(1/D_bulk + 1/((l/δ)·D_gb))",
        provenance=Provenance.build("transport.series", [], {**p, "D_gb_over_delta": g}),
        measured_T=mT, measured=my, measured_error=me, temperature=temperature)


@dataclass(frozen=True, kw_only=True)
class HavenResult(Result):
    """Grain-boundary Haven ratio: tracer and conductivity Arrhenius fits of (l/δ)·D_gb."""

    tracer_fit: ArrheniusFit
    sigma_fit: ArrheniusFit
    pointwise_T: np.ndarray
    pointwise: np.ndarray
    pointwise_error: np.ndarray

    def _extra_dict(self) -> dict[str, Any]:
        return {"tracer_fit": self.tracer_fit.to_dict(), "sigma_fit": self.sigma_fit.to_dict(),
                "pointwise_T": self.pointwise_T.tolist(), "pointwise": self.pointwise.tolist(),
                "pointwise_error": self.pointwise_error.tolist()}

    def plot(self, ax=None):
        """Both Arrhenius lines on one plot (seed 000, Fig. 5c)."""
        ax = new_axes(ax)
        self.tracer_fit.plot(ax=ax, label="(l/δ)·D*_gb (tracer)")
        self.sigma_fit.plot(ax=ax, label="(l/δ)·D_σ,gb (conductivity)", celsius_axis=False)
        ax.set_title(f"grain boundaries: {self['H_R']}")
        ax.legend()
        return ax


@analysis(
    "transport.haven",
    techniques=("arrhenius-table",),
    uses_results=True,
    parameters={
        "from_method": Param(None, "tracer.evolve", "stored analysis giving D*_eff(T)"),
        "value": Param(None, "D", "name of the stored D*_eff"),
        "carrier_density": Param("1/m^3", doc="mobile-ion number density n"),
        "carrier_density_error": Param("1/m^3", 0.0, "its standard error"),
    },
)
def haven_analysis(ctx: AnalysisContext) -> HavenResult:
    """Haven ratio of grain-boundary diffusion: measurements = [D_bulk table, σ_gb table]."""
    if len(ctx.measurements) != 2:
        raise ctx.error(f"got {len(ctx.measurements)} measurements", "measurements",
                        "[D_bulk table, grain-boundary conductivity table]")
    p = ctx.parameters
    bulk, cond = _table(ctx, 0), _table(ctx, 1)
    if bulk.quantity != "D" or cond.quantity != "sigma":
        raise ctx.error("wrong table kinds", "measurements",
                        "first a diffusivity table (D), then a conductivity table (sigma)")
    T, d_eff, d_eff_err, _ = stored_series(ctx, p["from_method"], p["value"])
    d_bulk, d_bulk_err = bulk.fit().predict(T)
    term = gb_term_from_effective(d_eff, d_bulk, D_eff_error=d_eff_err, D_bulk_error=d_bulk_err)
    return haven_result(T, term.value, term.error, cond, p["carrier_density"],
                        p["carrier_density_error"], [bulk.source, cond.source],
                        {**p, "tracer_temperatures_K": T.tolist()},
                        method="transport.haven", what="(l/δ)D_gb",
                        title="Haven ratio of grain-boundary diffusion")


def haven_result(T, D, D_err, cond, n, n_err, files, parameters, *, method: str, what: str,
                 title: str) -> HavenResult:
    """Arrhenius fits of D(T) and of D_σ from the conductivity table ``cond``
    (Nernst-Einstein with carrier density ``n``), their prefactor ratio (seed 000) and the
    pointwise ratio at the temperatures of ``D``."""
    tracer_fit = fit_arrhenius(T, D, y_err=D_err, files=[f for f in files if f != cond.source])
    d_sigma = conductivity_diffusivity(cond.y, cond.T, n, sigma_error=cond.y_err,
                                       n_error=n_err or None)
    sigma_fit = fit_arrhenius(cond.T, d_sigma.value, y_err=d_sigma.error, files=[cond.source])
    a_t, a_s = tracer_fit["prefactor"], sigma_fit["prefactor"]
    ea_t, ea_s = tracer_fit["Ea"], sigma_fit["Ea"]
    hr = haven_ratio_from_prefactors(a_t.value, a_s.value, A_tracer_error=a_t.error,
                                     A_sigma_error=a_s.error)
    ds_at_T, ds_err = sigma_fit.predict(T)
    point = haven_ratio(D, ds_at_T, D_tracer_error=D_err, D_sigma_error=ds_err)
    pv, pe = np.asarray(point.value, float), np.asarray(point.error, float)
    w = 1.0 / pe**2
    sigma_what = what.replace("D_gb", "D_σ,gb") if "gb" in what else "D_σ"
    values = {
        "H_R": Value("H_R", float(hr.value), float(hr.error), "", "H_R (prefactors)"),
        "H_R_mean": Value("H_R_mean", float(np.sum(w * pv) / np.sum(w)),
                          float(1.0 / math.sqrt(np.sum(w))), "", "H_R (pointwise mean)"),
        "Ea_tracer": Value("Ea_tracer", ea_t.value, ea_t.error, "J", f"Ea of {what}"),
        "Ea_sigma": Value("Ea_sigma", ea_s.value, ea_s.error, "J", f"Ea of {sigma_what}"),
        "A_tracer": Value("A_tracer", a_t.value, a_t.error, "m^2/s", f"prefactor of {what}"),
        "A_sigma": Value("A_sigma", a_s.value, a_s.error, "m^2/s",
                         f"prefactor of {sigma_what}"),
    }
    return HavenResult(values=values, provenance=Provenance.build(method, files, parameters),
                       tracer_fit=tracer_fit, sigma_fit=sigma_fit, pointwise_T=np.asarray(T),
                       pointwise=pv, pointwise_error=pe, title=title)


@analysis(
    "transport.haven_bulk",
    techniques=("arrhenius-table",),
    uses_results=True,
    parameters={
        "from_method": Param(None, "nmr.pfg", "stored analysis giving D(T) (tracer or NMR)"),
        "value": Param(None, "D_mean", "name of the stored diffusivity"),
        "carrier_density": Param("1/m^3", doc="mobile-ion number density n"),
        "carrier_density_error": Param("1/m^3", 0.0, "its standard error"),
    },
)
def haven_bulk_analysis(ctx: AnalysisContext) -> HavenResult:
    """Haven ratio D/D_σ of stored diffusivities against a conductivity table."""
    p = ctx.parameters
    cond = _table(ctx, 0)
    if len(ctx.measurements) != 1 or cond.quantity != "sigma":
        raise ctx.error("needs one conductivity table", "measurements",
                        "[a conductivity (sigma) table]")
    T, d, d_err, _ = stored_series(ctx, p["from_method"], p["value"])
    return haven_result(T, d, d_err, cond, p["carrier_density"], p["carrier_density_error"],
                        [cond.source], {**p, "temperatures_K": T.tolist()},
                        method="transport.haven_bulk", what="D",
                        title=f"Haven ratio of {p['value']} ({p['from_method']})")
