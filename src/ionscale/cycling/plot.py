"""Figures of the cycling results (matplotlib, imported on first use).

Field units on every axis: time in h, voltage and polarisation in mV, current density in
mA cm⁻², capacity in mAh cm⁻².
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..report.style import DOUBLE, SINGLE
from ..results import new_axes
from .data import MA_CM2, MAH_CM2, MV

# the result classes call these functions from their plot(); naming the classes here would
# tie the modules in a loop, so the annotations stay as strings

__all__ = ["plot_trace", "plot_polarisation", "plot_table", "plot_ccd"]

_FAIL = "#c0392b"


def _level_colours(n: int):
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.1 + 0.8 * k / max(n - 1, 1)) for k in range(n)]


def plot_trace(steps: StepAnalysis,  # noqa: F821
                ax=None, *, shorts=None):
    """Cell voltage (mV) against time (h), half-cycles shaded by current-density level; with
    ``shorts`` (:class:`~ionscale.cycling.shorts.ShortFlags`) the failure is marked by a red
    line and crosses on the failing half-cycles' plateaus."""
    ax = new_axes(ax, figsize=(DOUBLE, 2.6))
    tab = steps.table
    t_h = steps.plot_time / 3600.0
    ax.plot(t_h, steps.plot_potential * MV, lw=0.6, color="0.15", zorder=3)
    colours = _level_colours(len(steps.levels))
    seen = set()
    for k in range(steps.n):
        lv = int(tab["level"][k])
        t0 = tab["t_start"][k] / 3600.0
        label = None
        if lv not in seen:
            seen.add(lv)
            label = f"{steps.levels[lv] * MA_CM2:.3g} mA cm⁻²"
        ax.axvspan(t0, t0 + tab["duration"][k] / 3600.0, color=colours[lv], alpha=0.18, lw=0,
                   label=label, zorder=1)
    v_ref = steps["V_ref"].value
    if shorts is not None and shorts.first >= 0:
        ax.axvline(shorts.failure_time / 3600.0, color=_FAIL, lw=1.4, zorder=4,
                   label=f"failure: {shorts.kind}")
        idx = np.flatnonzero(shorts.failing)
        t_mid = (tab["t_start"][idx] + 0.9 * tab["duration"][idx]) / 3600.0
        v = (tab["sign"][idx] * tab["eta"][idx] + v_ref) * MV
        ax.plot(t_mid, v, "x", color=_FAIL, ms=5, zorder=5, label="failing half-cycles")
    ax.axhline(v_ref * MV, color="0.5", lw=0.5, ls=":", zorder=2)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("cell voltage (mV)")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.4 * (hi - lo))  # room for the legend above the trace
    ax.legend(ncol=4, loc="upper left", framealpha=0.8)
    return ax


def plot_polarisation(asr: ASRResult,  # noqa: F821
                       ax=None):
    """Plateau polarisation (mV) against j (mA cm⁻²): used half-cycles filled, the others
    open, the ASR line (and R·A of impedance, dashed)."""
    ax = new_axes(ax)
    j = asr.j * MA_CM2
    eta = asr.eta * MV
    err = np.where(np.isfinite(asr.eta_err), asr.eta_err * MV, 0.0)
    used = asr.used
    ax.errorbar(j[used], eta[used], yerr=err[used], fmt="o", ms=4, capsize=2, color="C0",
                label="stable half-cycles", zorder=3)
    if np.any(~used):
        ax.plot(j[~used], eta[~used], "o", ms=4, mfc="none", color="0.55",
                label="excluded (failed, tail)", zorder=2)
    top = float(np.max(j)) if j.size else 1.0
    xx = np.linspace(0.0, top * 1.05, 50)
    if "ASR" in asr.values:
        v = asr.values["ASR"]
        ax.plot(xx, v.value * 1e4 * xx, "-", color="C1", label=str(v), zorder=4)
    if "RA_impedance" in asr.values:
        v = asr.values["RA_impedance"]
        ax.plot(xx, v.value * 1e4 * xx, "--", color="C2", label=str(v), zorder=4)
    ax.set_xlabel("current density j (mA cm⁻²)")
    ax.set_ylabel("plateau polarisation η (mV)")
    ax.set_xlim(left=0)
    ax.legend()
    return ax


def _level_rows(result: CCDResult) -> list[list[str]]:  # noqa: F821
    rows = []
    by_level: dict[int, list[dict]] = {}
    for c in result.cycles:
        by_level.setdefault(c["level"], []).append(c)
    tab = result.steps.table
    for lv, cyc in by_level.items():
        idx = np.flatnonzero(tab["level"] == lv)
        counts: dict[str, int] = {}
        for c in cyc:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
        verdict = ", ".join(f"{n} {v}" for v, n in counts.items())
        ok = [i for i in idx if result.shorts is None or not result.shorts.failing[i]]
        eta = f"{np.median(tab['eta'][ok]) * MV:.3g}" if ok else "-"
        rows.append([f"{result.steps.levels[lv] * MA_CM2:.3g}", str(len(cyc)), eta,
                     f"{np.sum(tab['capacity'][idx]) * MAH_CM2:.3g}", verdict])
    return rows


def plot_table(result: CCDResult,  # noqa: F821
                ax=None):
    """The per-level table: j, cycles, median plateau of the passing half-cycles, capacity,
    cycle verdicts."""
    ax = new_axes(ax, figsize=(SINGLE, 2.0))
    ax.axis("off")
    rows = _level_rows(result)
    if rows:
        table = ax.table(cellText=rows, colLabels=["j\n(mA cm⁻²)", "cycles", "η\n(mV)",
                                                   "Q\n(mAh cm⁻²)", "cycle verdicts"],
                         loc="center", cellLoc="center",
                         colWidths=[0.17, 0.12, 0.1, 0.19, 0.42])
        table.auto_set_font_size(False)
        table.set_fontsize(6.5)
        table.scale(1.0, 1.3)
        for (row, _), cell in table.get_celld().items():
            if row == 0:  # two-line headers
                cell.set_height(cell.get_height() * 1.9)
    lines = []
    for key in ("CCD", "CCD_lower_bound", "j_last_stable", "capacity_to_failure", "ASR"):
        if key in result.values:
            lines.append(_field(result.values[key]))
    ax.set_title("\n".join(lines))
    return ax


def _field(v) -> str:
    if v.unit == "A/m^2":
        return f"{v.label} = {v.value * MA_CM2:.3g} mA cm⁻²"
    if v.unit == "C/m^2":
        return f"{v.label} = {v.value * MAH_CM2:.3g} mAh cm⁻²"
    return str(v)


def plot_ccd(result: CCDResult, ax=None, *, kind: str | None = None):  # noqa: F821
    """All panels of a CCD analysis on a new figure, or one ``kind`` on ``ax``."""
    kinds = ("trace", "polarisation", "table")
    if kind is not None and kind not in kinds:
        raise InputError(f"unknown figure {kind!r}", field="kind", expected=f"one of {kinds}")
    if ax is not None or kind is not None:
        kind = kind or "trace"
        if kind == "trace":
            return plot_trace(result.steps, ax=ax, shorts=result.shorts)
        if kind == "polarisation":
            if result.asr is None:
                raise InputError("no ohmic check in this result", field="kind",
                                 expected="'trace' or 'table'")
            return plot_polarisation(result.asr, ax=ax)
        return plot_table(result, ax=ax)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(DOUBLE, 5.0), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1.1, 1.0])
    top = fig.add_subplot(grid[0, :])
    plot_trace(result.steps, ax=top, shorts=result.shorts)
    top.set_title(result.failure if result.failure else result.title)
    if result.asr is not None:
        plot_polarisation(result.asr, ax=fig.add_subplot(grid[1, 0]))
    plot_table(result, ax=fig.add_subplot(grid[1, 1]))
    return top
