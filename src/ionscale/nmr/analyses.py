"""Campaign analyses of the NMR technique.

==============  ================================  ===========================================
method          measurements                      what it does
==============  ================================  ===========================================
``nmr.pfg``     one ``pfg-table`` or              echo-decay fit (iso, aniso powder, multi,
                ``pfg-bruker``                    log-normal), or the iso/aniso comparison
``nmr.bpp``     one ``relaxation-table``          BPP (or asymmetric) fit of T1/T1ρ(T)
==============  ================================  ===========================================

The temperature of a PFG measurement (its ``conditions.temperature``, else the file's) files
the result, so ``transport.arrhenius`` with ``from_method = "nmr.pfg"`` and ``value = "D"``
(isotropic) or ``"D_mean"`` (powder) gives the Arrhenius law of D_NMR.
"""

from __future__ import annotations

from dataclasses import replace

from ..campaign import AnalysisContext, Param, analysis
from ..io.nmr import SEQUENCES, read_bruker_pfg, read_pfg_table, read_relaxation_table
from .pfg import compare_pfg_models, fit_pfg
from .relaxation import fit_bpp

_PFG_MODELS = ("iso", "aniso", "multi", "lognormal")


def _pfg_data(ctx: AnalysisContext):
    m = ctx.measurement()
    p = ctx.parameters
    shape = {"gradient_shape": p["gradient_shape"], "sequence": p["sequence"],
             "tau": p["tau"]}
    if m.technique == "pfg-bruker":
        region, noise = p["region"], p["noise_region"]
        data = read_bruker_pfg(m.files[0].parent if m.files[0].is_file() else m.files[0],
                               region=tuple(region) if region else None,
                               noise_region=tuple(noise) if noise else None, delta=p["delta"],
                               Delta=p["Delta"], nucleus=p["nucleus"], **shape)
    elif m.technique == "pfg-table":
        if p["region"] or p["noise_region"]:
            raise ctx.error("region and noise_region integrate Bruker spectra", "region",
                            "a pfg-bruker measurement, or no region")
        data = read_pfg_table(m.files[0], delta=p["delta"], Delta=p["Delta"],
                              nucleus=p["nucleus"], temperature=m.condition("temperature"),
                              **shape)
    else:
        raise ctx.error(f"technique {m.technique!r}", "measurements",
                        "a pfg-table or pfg-bruker measurement")
    if m.condition("temperature") is not None:
        data = replace(data, temperature=m.condition("temperature"))
    return data


@analysis(
    "nmr.pfg",
    techniques=("pfg-table", "pfg-bruker"),
    parameters={
        "model": Param(None, "iso", "decay model", _PFG_MODELS),
        "n_components": Param(None, 2, "components of the multi-exponential model", (2, 3)),
        "compare": Param(None, False, "compare iso with the model (aniso when the model is "
                                      "iso; F-test, BIC) instead"),
        "normalise": Param(None, False, "fit S/S0 with S0 = 1 fixed"),
        "baseline": Param(None, False, "fit a constant baseline"),
        "delta": Param("s", None, "gradient pulse length δ (if the file does not say)"),
        "Delta": Param("s", None, "diffusion time Δ (if the file does not say)"),
        "nucleus": Param(None, None, "observed nucleus (if the file does not say)"),
        "region": Param(None, None, "Bruker data: integration region [lo, hi] in ppm"),
        "noise_region": Param(None, None, "Bruker data: signal-free region [lo, hi] in ppm "
                                          "whose noise gives the errors of the integrals"),
        "gradient_shape": Param(None, None, "gradient pulse shape (SMSQ10.100, SINE.100, "
                                            "RECT.1, rectangular, sine; Bruker default: GPNAM6, "
                                            "tables: rectangular)"),
        "sequence": Param(None, None, "pulse sequence (Bruker default: from PULPROG; tables: "
                                      "spin-echo)", SEQUENCES),
        "tau": Param("s", None, "gap between the lobes of bipolar pairs (Bruker default: "
                                "D16 + P2)"),
    },
)
def pfg_analysis(ctx: AnalysisContext):
    """PFG-NMR echo-decay fit: D (iso) or in-plane/out-of-plane D of a powder (aniso)."""
    p = ctx.parameters
    data = _pfg_data(ctx)
    if p["compare"]:
        other = "aniso" if p["model"] == "iso" else p["model"]
        return compare_pfg_models(data, models=("iso", other),
                                  n_components=int(p["n_components"]),
                                  normalise=bool(p["normalise"]), baseline=bool(p["baseline"]))
    return fit_pfg(data, model=p["model"], n_components=int(p["n_components"]),
                   normalise=bool(p["normalise"]), baseline=bool(p["baseline"]))


@analysis(
    "nmr.bpp",
    techniques=("relaxation-table",),
    parameters={
        "kind": Param(None, None, "T1, T1rho or T2 (default: from the file)"),
        "frequency": Param("Hz", None, "Larmor (T1) or spin-lock (T1rho) frequency"),
        "nucleus": Param(None, None, "nucleus, with field, for the Larmor frequency"),
        "field": Param("T", None, "magnetic field, with nucleus"),
        "asymmetric": Param(None, False, "fit different activation energies on the two flanks"),
    },
)
def bpp_analysis(ctx: AnalysisContext):
    """BPP fit of relaxation times against temperature (τ0, Ea, T1 minimum)."""
    m = ctx.measurement("relaxation-table")
    p = ctx.parameters
    data = read_relaxation_table(m.files[0], kind=p["kind"], frequency=p["frequency"],
                                 nucleus=p["nucleus"])
    return fit_bpp(data, nucleus=p["nucleus"],
                   field=p["field"],
                   asymmetric=bool(p["asymmetric"]))
