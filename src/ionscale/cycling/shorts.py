"""Short circuits and the critical current density (CCD) of a symmetric cell.

:func:`detect_shorts` judges every half-cycle of a :class:`~ionscale.cycling.steps.StepAnalysis`
by three criteria, each with its threshold stated in the output:

``drop``
    a sudden drop of the polarisation at the same or a higher current density: inside the
    half-cycle (``StepAnalysis.table["drop"]``: a 10 % window against everything after it) or
    against the previous half-cycle when ``j`` did not decrease; relative drop >
    ``drop_fraction`` (30 %) and > 5 standard errors. Seed 004: 22 → 10 mV at 0.4 mA cm⁻².
``floor``
    the plateau below ``floor_fraction`` (50 %) of the ohmic expectation ``ASR_ref · j``;
    ``ASR_ref`` is the median ``eta / j`` of the first current-density level (or the caller's).
``near-zero``
    the plateau is indistinguishable from zero: ``eta < near_zero_snr · noise`` (3 ×) with
    ``noise`` the half-cycle's own point scatter. When that scatter is also more than
    ``soft_noise_excess`` (2 ×) the rest noise, the trace is a noisy near-zero one: a *soft
    short* (``data-quality``: a soft short can heal, and its onset is less sharp).

The first half-cycle that meets any criterion is the failure; its ``j`` is the CCD. Reported
with it: the last stable ``j`` (the highest level whose every half-cycle came before the
failure), the areal capacity of the failing half-cycle and the capacity cumulated from the
start to the moment of failure (CCD depends on both; seed 004), a verdict per half-cycle and per
cycle. Half-cycles with a contact-loss tail are not shorts, but they are left out of the ASR.

:func:`critical_current_density` runs the whole chain on a trace: steps, shorts, ASR of the
stable half-cycles (:func:`ionscale.cycling.ohmic.fit_asr`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..results import Diagnostic, Provenance, Result, Value, json_safe
from .data import SHORT_DEFAULTS, CyclingTrace
from .ohmic import ASRResult, compare_with_impedance, fit_asr
from .steps import (
    MA_CM2,
    MAH_CM2,
    MV,
    STEP_DEFAULTS,
    StepAnalysis,
    analyse_steps,
    format_step_table,
)

__all__ = ["CCDResult", "SHORT_DEFAULTS", "ShortFlags", "area_specific_resistance",
           "critical_current_density", "detect_shorts"]


_ORDER = {"stable": 0, "contact loss": 1, "recovered": 1, "shorted": 2, "soft short": 3,
          "short": 3}


@dataclass(frozen=True)
class ShortFlags:
    """Per half-cycle criteria and verdicts of :func:`detect_shorts`.

    Attributes
    ----------
    drop, floor, near_zero, soft : ndarray of bool
        The criteria (module notes).
    failing : ndarray of bool
        Any of drop, floor, near_zero.
    first : int
        Index of the first failing half-cycle, -1 when none.
    kind : str
        ``"short (sudden drop)"``, ``"soft short"``, ``"short (near-zero voltage)"``,
        ``"short (below ohmic floor)"`` or ``""``.
    failure_time : float
        When the failure happened, s (the drop inside the half-cycle, else its start).
    verdict : list of str
        Per half-cycle: ``stable``, ``contact loss``, ``short``/``soft short`` (the first
        failure), ``shorted`` (failing afterwards), ``recovered`` (passing afterwards).
    asr_reference : float
        ``ASR_ref`` used by the floor criterion, Ω m² (NaN: criterion off).
    asr_reference_source : str
        ``"first level"`` or ``"given"``.
    noise_reference : float
        Rest noise, V.
    thresholds : dict
        The thresholds used.
    reasons : list of str
        Per half-cycle, the criteria met with their numbers (empty when none).
    """

    drop: np.ndarray
    floor: np.ndarray
    near_zero: np.ndarray
    soft: np.ndarray
    failing: np.ndarray
    first: int
    kind: str
    failure_time: float
    verdict: list
    asr_reference: float
    asr_reference_source: str
    noise_reference: float
    thresholds: Mapping[str, float]
    reasons: list

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def detect_shorts(
    steps: StepAnalysis,
    *,
    drop_fraction: float = SHORT_DEFAULTS["drop_fraction"],
    floor_fraction: float = SHORT_DEFAULTS["floor_fraction"],
    near_zero_snr: float = SHORT_DEFAULTS["near_zero_snr"],
    soft_noise_excess: float = SHORT_DEFAULTS["soft_noise_excess"],
    asr_reference: float | None = None,
) -> ShortFlags:
    """Judge every half-cycle for a short circuit (module notes).

    Parameters
    ----------
    steps : StepAnalysis
        From :func:`~ionscale.cycling.steps.analyse_steps`.
    drop_fraction : float
        Relative drop of the polarisation that counts as sudden.
    floor_fraction : float
        Fraction of the ohmic expectation ``ASR_ref · j`` below which a plateau fails.
    near_zero_snr : float
        A plateau below this many times its own point scatter is near zero.
    soft_noise_excess : float
        A near-zero half-cycle whose scatter exceeds this many times the rest noise is a soft
        short.
    asr_reference : float, optional
        ``ASR_ref`` (Ω m²) for the floor criterion, e.g. R·A of impedance; default the median
        ``eta / j`` of the first current-density level.

    Returns
    -------
    ShortFlags
    """
    tab = steps.table
    n = steps.n
    j, eta, err, noise = tab["j"], tab["eta"], tab["eta_err"], tab["noise"]
    noise_ref = steps["noise_rest"].value
    sigma = SHORT_DEFAULTS["drop_sigma"]
    safe_noise = np.where(np.isfinite(noise), noise, 0.0)
    near_zero = eta < near_zero_snr * safe_noise
    soft = near_zero & (safe_noise > soft_noise_excess * noise_ref)
    if asr_reference is not None:
        asr_ref, asr_src = float(asr_reference), "given"
    else:
        first = (tab["level"] == 0) & ~near_zero & (eta > 0)
        asr_ref = float(np.median(eta[first] / j[first])) if np.any(first) else math.nan
        asr_src = "first level"
    floor = (eta < floor_fraction * asr_ref * j) if math.isfinite(asr_ref) else np.zeros(n, bool)
    within = tab["drop"] > drop_fraction
    between = np.zeros(n, bool)
    if n > 1:
        prev_eta = eta[:-1]
        not_lower = j[1:] >= (1.0 - STEP_DEFAULTS["level_tolerance"]) * j[:-1]
        fell = eta[1:] < (1.0 - drop_fraction) * prev_eta
        clear = (prev_eta - eta[1:]) > sigma * np.hypot(err[1:], err[:-1])
        between[1:] = not_lower & fell & clear & (prev_eta > 0)
    drop = within | between
    failing = drop | floor | near_zero
    idx = np.flatnonzero(failing)
    first_fail = int(idx[0]) if idx.size else -1
    kind, t_fail = "", math.nan
    verdict, reasons = [], []
    for k in range(n):
        why = []
        if within[k]:
            why.append(f"drop {100 * tab['drop'][k]:.0f} % inside the half-cycle "
                       f"(> {100 * drop_fraction:.0f} %)")
        if between[k]:
            why.append(f"drop {eta[k - 1] * MV:.3g} → {eta[k] * MV:.3g} mV from the previous "
                       f"half-cycle at j ≥ its j (> {100 * drop_fraction:.0f} %)")
        if floor[k]:
            why.append(f"{eta[k] * MV:.3g} mV < {100 * floor_fraction:.0f} % of ASR_ref·j = "
                       f"{asr_ref * j[k] * MV:.3g} mV")
        if near_zero[k]:
            why.append(f"{eta[k] * MV:.3g} mV < {near_zero_snr:g} × scatter "
                       f"{safe_noise[k] * MV:.3g} mV"
                       + (f" (scatter {safe_noise[k] / noise_ref:.1f} × rest noise)"
                          if soft[k] and noise_ref > 0 else ""))
        reasons.append("; ".join(why))
        if first_fail < 0 or k < first_fail:
            verdict.append("contact loss" if tab["tail"][k] else "stable")
        elif k == first_fail:
            verdict.append("soft short" if soft[k] else "short")
        else:
            verdict.append("shorted" if failing[k] else "recovered")
    if first_fail >= 0:
        k = first_fail
        if soft[k]:
            kind = "soft short"
        elif drop[k]:
            kind = "short (sudden drop)"
        elif near_zero[k]:
            kind = "short (near-zero voltage)"
        else:
            kind = "short (below ohmic floor)"
        t_fail = float(tab["drop_time"][k]) if within[k] and math.isfinite(
            tab["drop_time"][k]) else float(tab["t_start"][k])
    thresholds = {"drop_fraction": drop_fraction, "floor_fraction": floor_fraction,
                  "near_zero_snr": near_zero_snr, "soft_noise_excess": soft_noise_excess,
                  "drop_sigma": sigma, "level_tolerance": STEP_DEFAULTS["level_tolerance"]}
    return ShortFlags(drop=drop, floor=floor, near_zero=near_zero, soft=soft, failing=failing,
                      first=first_fail, kind=kind, failure_time=t_fail, verdict=verdict,
                      asr_reference=asr_ref, asr_reference_source=asr_src,
                      noise_reference=noise_ref, thresholds=thresholds, reasons=reasons)


@dataclass(frozen=True, kw_only=True)
class CCDResult(Result):
    """Critical current density of a symmetric cell, with the steps, shorts and ASR behind it.

    Values (SI, only those that exist): ``CCD`` (A m⁻², the first failing ``j``) or
    ``CCD_lower_bound`` (the highest ``j`` tested, when nothing failed; flagged
    ``unmeasurable``), ``j_last_stable`` (A m⁻²), ``capacity_at_failure`` (C m⁻², of the
    failing half-cycle up to the failure), ``capacity_to_failure`` (C m⁻², cumulated from the
    start), ``t_failure`` (s), ``ASR`` (Ω m², stable half-cycles), ``ASR_ref`` (Ω m², the floor
    criterion's reference).

    Attributes
    ----------
    steps : StepAnalysis
        The half-cycles.
    shorts : ShortFlags or None
        Criteria and verdicts (None when the trace is not a symmetric-cell test).
    asr : ASRResult or None
        The ohmic check of the stable half-cycles.
    cycles : list of dict
        One verdict per cycle: ``level``, ``j`` (A m⁻²), ``cycle_in_level``, ``half_cycles``,
        ``eta`` (V, the half-cycles' plateaus), ``verdict``.
    failure : str
        One sentence on the failure (empty when none).
    """

    steps: StepAnalysis
    shorts: ShortFlags | None = None
    asr: ASRResult | None = None
    cycles: list = field(default_factory=list)
    failure: str = ""

    def _extra_dict(self) -> dict[str, Any]:
        return json_safe({
            "table": dict(self.steps.table),
            "verdicts": self.shorts.verdict if self.shorts else [],
            "reasons": self.shorts.reasons if self.shorts else [],
            "criteria": (None if self.shorts is None else
                         {"thresholds": dict(self.shorts.thresholds),
                          "asr_reference": self.shorts.asr_reference,
                          "asr_reference_source": self.shorts.asr_reference_source,
                          "noise_reference": self.shorts.noise_reference,
                          "kind": self.shorts.kind, "first": self.shorts.first}),
            "cycles": self.cycles,
            "failure": self.failure,
            "levels": self.steps.levels.tolist(),
            "step_settings": dict(self.steps.settings),
            "asr_fit": None if self.asr is None else self.asr.to_dict()["values"],
            "area": self.steps.area,
        })

    def summary(self) -> str:
        head = super().summary().splitlines()
        lines = [head[0]]
        if self.failure:
            lines.append(f"  {self.failure}")
        verdicts = self.shorts.verdict if self.shorts else None
        lines += format_step_table(self.steps.table, verdicts)
        lines += head[1:]
        return "\n".join(lines)

    def plot(self, ax=None, *, kind: str | None = None):
        """Figures of the analysis.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw one panel on; with none, a new figure holds all three panels and
            the voltage panel is returned.
        kind : {"trace", "polarisation", "table"}, optional
            The panel: cell voltage against time with the half-cycles shaded by current
            density and the failure marked; polarisation against j with the ASR line; the
            per-cycle table. Default: all three on a new figure, or ``"trace"`` on ``ax``.

        Returns
        -------
        matplotlib Axes
        """
        from .plot import plot_ccd

        return plot_ccd(self, ax=ax, kind=kind)


def _cycle_verdicts(table, verdict) -> list[dict[str, Any]]:
    out = []
    keys = sorted({(int(lv), int(c)) for lv, c in zip(table["level"], table["cycle_in_level"],
                                                       strict=True)})
    for lv, c in keys:
        idx = np.flatnonzero((table["level"] == lv) & (table["cycle_in_level"] == c))
        worst = max((verdict[i] for i in idx), key=lambda v: _ORDER.get(v, 0))
        out.append({"level": lv, "j": float(np.median(table["j"][idx])), "cycle_in_level": c,
                    "half_cycles": idx.tolist(), "eta": table["eta"][idx].tolist(),
                    "verdict": worst})
    return out


def critical_current_density(
    trace: CyclingTrace,
    *,
    area: float | None = None,
    steps: StepAnalysis | None = None,
    plateau_window: tuple[float, float] = STEP_DEFAULTS["plateau_window"],
    tail_threshold: float = STEP_DEFAULTS["tail_threshold"],
    drop_fraction: float = SHORT_DEFAULTS["drop_fraction"],
    floor_fraction: float = SHORT_DEFAULTS["floor_fraction"],
    near_zero_snr: float = SHORT_DEFAULTS["near_zero_snr"],
    soft_noise_excess: float = SHORT_DEFAULTS["soft_noise_excess"],
    asr_reference: float | None = None,
    impedance_resistance: float | None = None,
    impedance_resistance_error: float = math.nan,
    impedance_source: str = "",
    method: str = "cycling.ccd",
) -> CCDResult:
    """Critical current density, last stable j, capacities and ASR of a plating/stripping test.

    Parameters
    ----------
    trace : CyclingTrace
        The trace.
    area : float, optional
        Electrode area, m² (overrides the file's).
    steps : StepAnalysis, optional
        Reuse an analysis of the same trace.
    plateau_window, tail_threshold
        As in :func:`~ionscale.cycling.steps.analyse_steps`.
    drop_fraction, floor_fraction, near_zero_snr, soft_noise_excess, asr_reference
        As in :func:`detect_shorts`.
    impedance_resistance : float, optional
        R of impedance of the same cell, Ω: adds R·A and ASR / R·A
        (:func:`~ionscale.cycling.ohmic.compare_with_impedance`).
    impedance_resistance_error : float, optional
        Its standard error, Ω.
    impedance_source : str
        Where R came from, for messages.
    method : str
        Method name recorded in the provenance.

    Returns
    -------
    CCDResult
        ``failed`` with no CCD when the trace is not a symmetric-cell plating/stripping test;
        ``warning`` for a soft short, a contact-loss tail, a non-linear polarisation, or no
        failure at all (the CCD is then only bounded from below).

    Examples
    --------
    >>> from ionscale.datasets.synthetic_cycling import DEMO_CELL, symmetric_cell_trace
    >>> r = critical_current_density(symmetric_cell_trace(short=DEMO_CELL["short"], seed=2))
    >>> round(r["CCD"].value / 10, 3), round(r["j_last_stable"].value / 10, 3)  # mA cm⁻²
    (0.4, 0.2)
    """
    if steps is None:
        steps = analyse_steps(trace, area=area, plateau_window=plateau_window,
                              tail_threshold=tail_threshold, method=method)
    params = {**dict(steps.provenance.parameters), "drop_fraction": drop_fraction,
              "floor_fraction": floor_fraction, "near_zero_snr": near_zero_snr,
              "soft_noise_excess": soft_noise_excess, "asr_reference": asr_reference}
    prov = Provenance.build(method, [trace.source] if trace.source else [], params)
    title = f"Critical current density of {trace.label}"
    if steps.status == "failed":
        why = "; ".join(d.message for d in steps.diagnostics if d.severity == "failed")
        return CCDResult(values={}, provenance=prov, title=title, steps=steps,
                         diagnostics=(*steps.diagnostics, Diagnostic(
                             "failed", f"no critical current density: {why}")),
                         failure="")
    flags = detect_shorts(steps, drop_fraction=drop_fraction, floor_fraction=floor_fraction,
                          near_zero_snr=near_zero_snr, soft_noise_excess=soft_noise_excess,
                          asr_reference=asr_reference)
    tab = steps.table
    n = steps.n
    values: dict[str, Value] = {}
    diagnostics = list(steps.diagnostics)
    f = flags.first
    before = np.arange(n) < (f if f >= 0 else n)
    # last stable j: the highest level whose half-cycles all come before the failure
    stable_levels = [lv for lv in np.unique(tab["level"])
                     if np.all(before[tab["level"] == lv])]
    failure = ""
    if f >= 0:
        j_fail = float(tab["j"][f])
        frac = 0.0
        if math.isfinite(flags.failure_time) and tab["duration"][f] > 0:
            frac = min(max((flags.failure_time - tab["t_start"][f]) / tab["duration"][f], 0.0),
                       1.0)
        q_fail = float(tab["capacity"][f]) * frac
        q_cum = float(np.sum(tab["capacity"][:f])) + q_fail
        values["CCD"] = Value("CCD", j_fail, math.nan, "A/m^2", "CCD")
        values["capacity_at_failure"] = Value("capacity_at_failure", q_fail, math.nan, "C/m^2",
                                              "Q_half(failure)")
        values["capacity_to_failure"] = Value("capacity_to_failure", q_cum, math.nan, "C/m^2",
                                              "Q_cum(failure)")
        values["t_failure"] = Value("t_failure", flags.failure_time, math.nan, "s",
                                    "t_failure")
        failure = (f"{flags.kind} at j = {j_fail * MA_CM2:.3g} mA cm⁻², cycle "
                   f"{int(tab['cycle_in_level'][f])} of that level (half-cycle {f}, "
                   f"{'+' if tab['sign'][f] > 0 else '-'}), t = {flags.failure_time / 3600:.3g} h,"
                   f" after {q_cum * MAH_CM2:.3g} mAh cm⁻² in all: {flags.reasons[f]}")
        if flags.kind == "soft short":
            diagnostics.append(Diagnostic(
                "data-quality", f"soft short at j = {j_fail * MA_CM2:.3g} mA cm⁻² (half-cycle "
                f"{f}): noisy near-zero voltage ({flags.reasons[f]}); the CCD is taken at its "
                "onset, which a soft short blurs", fields=("CCD",)))
        if not stable_levels:
            diagnostics.append(Diagnostic(
                "data-quality", "the cell failed in the first current-density level: no "
                "stable j, and the floor criterion's reference is unreliable",
                fields=("j_last_stable",)))
    else:
        values["CCD_lower_bound"] = Value("CCD_lower_bound", float(np.max(tab["j"])), math.nan,
                                          "A/m^2", "CCD >")
        diagnostics.append(Diagnostic(
            "unmeasurable", f"no short up to j = {np.max(tab['j']) * MA_CM2:.3g} mA cm⁻²: the "
            "CCD is above the highest current density tested", fields=("CCD_lower_bound",)))
    if stable_levels:
        values["j_last_stable"] = Value("j_last_stable",
                                        float(max(steps.levels[lv] for lv in stable_levels)),
                                        math.nan, "A/m^2", "j_last stable")
    if math.isfinite(flags.asr_reference):
        values["ASR_ref"] = Value("ASR_ref", flags.asr_reference, math.nan, "ohm*m^2",
                                  f"ASR_ref ({flags.asr_reference_source})")
    used = before & ~tab["tail"]
    asr = fit_asr(tab["j"], tab["eta"], tab["eta_err"], used=used, source=trace.source,
                  method=method, parameters={"selection": "stable half-cycles before the "
                                             "failure, without contact-loss tails"})
    if impedance_resistance is not None:
        asr = compare_with_impedance(asr, impedance_resistance, steps.area,
                                     impedance_resistance_error, source=impedance_source)
    for key in ("ASR", "nonlinearity", "RA_impedance", "ASR_ratio"):
        if key in asr.values:
            values[key] = asr.values[key]
    diagnostics += [d for d in asr.diagnostics if d.code != "failed"]
    if "ASR" not in asr.values:
        diagnostics.append(Diagnostic("data-quality", "no ASR: " + "; ".join(
            d.message for d in asr.diagnostics if d.code == "failed"), fields=("ASR",)))
    return CCDResult(values=values, provenance=prov, title=title, fit=asr.fit,
                     diagnostics=tuple(diagnostics), steps=steps, shorts=flags, asr=asr,
                     cycles=_cycle_verdicts(tab, flags.verdict), failure=failure)



def area_specific_resistance(
    trace: CyclingTrace,
    *,
    area: float | None = None,
    impedance_resistance: float | None = None,
    impedance_resistance_error: float = math.nan,
    impedance_source: str = "",
    linearity_tolerance: float = 0.10,
    **options: Any,
) -> ASRResult:
    """ASR of the stable half-cycles of a trace (before any short, without contact-loss tails),
    with the linearity test and, given an impedance resistance, R·A and ASR / R·A.

    Parameters
    ----------
    trace : CyclingTrace
        The trace.
    area : float, optional
        Electrode area, m².
    impedance_resistance, impedance_resistance_error : float, optional
        R (± error) of impedance of the same cell, Ω.
    impedance_source : str
        Where R came from, for messages.
    linearity_tolerance : float
        As in :func:`~ionscale.cycling.ohmic.fit_asr`.
    **options
        Passed to :func:`critical_current_density` (windows and short thresholds).

    Returns
    -------
    ASRResult

    Examples
    --------
    >>> from ionscale.datasets.synthetic_cycling import symmetric_cell_trace
    >>> r = area_specific_resistance(symmetric_cell_trace(seed=3), impedance_resistance=436.5)
    >>> round(r["ASR"].value * 1e4), round(r["ASR_ratio"].value, 2)   # Ω cm², ratio
    (55, 1.0)
    """
    ccd = critical_current_density(trace, area=area, method="cycling.asr", **options)
    if ccd.asr is None:  # not a symmetric-cell test: say why, with no number
        prov = ccd.provenance
        return ASRResult(values={}, provenance=prov, diagnostics=ccd.diagnostics,
                         title="Ohmic check: polarisation against current density")
    tab = ccd.steps.table
    used = ccd.asr.used
    result = fit_asr(tab["j"], tab["eta"], tab["eta_err"], used=used, source=trace.source,
                     linearity_tolerance=linearity_tolerance, method="cycling.asr",
                     parameters={**dict(ccd.provenance.parameters),
                                 "selection": "stable half-cycles before the failure, without "
                                              "contact-loss tails"})
    if impedance_resistance is not None:
        result = compare_with_impedance(result, impedance_resistance, ccd.steps.area,
                                        impedance_resistance_error, source=impedance_source)
    extra = [d for d in ccd.steps.diagnostics if d.code in ("data-quality", "failed")]
    return result.with_diagnostics(*extra) if extra else result
