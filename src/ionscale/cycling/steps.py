"""Per half-cycle numbers of a plating/stripping trace: j, duration, capacity, polarisation.

:func:`analyse_steps` cuts a :class:`~ionscale.cycling.data.CyclingTrace` into its
constant-current half-cycles and rests (:mod:`ionscale.cycling.segments`) and measures, for
every half-cycle (windows are fractions of the half-cycle's duration ``D``):

* ``j``: |median current| / area, A m⁻², and the direction ``sign`` (+1 or -1);
* ``duration`` (s) from its first point to the first point of the next segment;
  ``capacity``: ∫|I| dt / area, C m⁻² (1 mAh cm⁻² = 36 000 C m⁻²);
* the polarisation ``eta = sign · (V - V_ref)``, V, positive when the voltage follows the
  current as in an ohmic cell; ``V_ref`` is the median cell voltage at the end (last 20 %)
  of the rests, 0 when there is none;
* ``eta_plateau``: **median** of ``eta`` over the plateau window (default the last 20 % of the
  half-cycle), with the standard error ``1.2533 · 1.4826 · MAD / √n`` of a median;
* ``eta_start``: the largest ``eta`` over the first 5 % after a 3-point running median (the
  nucleation / initial overpotential);
* ``tail_rise``: (median ``eta`` over the last 5 %) / (median over 50-75 %) - 1; a rise above
  ``tail_threshold`` (10 %) and 5 standard errors is a *contact-loss tail* (voids at the
  interface; seed 004);
* ``noise``: the point-to-point scatter of ``eta`` after the first 10 %
  (``1.4826 · median|Δη| / √2``), V;
* ``drop``: the largest relative drop of ``eta`` inside the half-cycle (after its first 10 %):
  median of a 10 % window against the median of everything after it, counted only when it also
  exceeds 5 standard errors; ``drop_time`` is when it happens (s). Short detection
  (:mod:`ionscale.cycling.shorts`) reads it.

Half-cycles at the same |j| (within 5 %) in a row form a *level*; ``cycle_in_level`` counts
cycles from 1 within each level, as a protocol is written ("0.4 mA cm⁻², cycle 3").

A trace that is not a symmetric-cell plating/stripping test gets a ``failed`` diagnostic: a rest
voltage beyond ``ocv_limit`` (0.1 V: Li | Li rests at 0 V), or current in one direction only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Diagnostic, Provenance, Result, Value
from .data import EC_LAB_DEFAULT_AREA, MA_CM2, MAH_CM2, MV, STEP_DEFAULTS, CyclingTrace, check_area

__all__ = ["StepAnalysis", "analyse_steps", "STEP_DEFAULTS", "decimate"]



_TABLE_DOC = {
    "index": "half-cycle number", "level": "current-density level", "cycle": "cycle number",
    "cycle_in_level": "cycle within the level (from 1)", "sign": "direction (+1/-1)",
    "start_index": "first point", "stop_index": "one past the last point",
    "t_start": "s", "duration": "s", "current": "A (signed median)", "j": "A/m^2",
    "capacity": "C/m^2", "eta": "V (plateau median)", "eta_err": "V", "eta_start": "V",
    "tail_rise": "relative", "tail": "contact-loss tail", "noise": "V", "drop": "relative",
    "drop_time": "s", "n_points": "points",
}


def _window(x: np.ndarray, lo: float, hi: float, minimum: int = 3) -> np.ndarray:
    """Boolean mask of ``lo <= x <= hi`` with at least ``minimum`` points (taken at the
    window's end side when it is too sparse)."""
    m = (x >= lo) & (x <= hi)
    if m.sum() >= minimum or x.size <= minimum:
        return m if m.sum() >= min(minimum, x.size) else np.ones_like(m)
    centre = np.searchsorted(x, hi, side="right")
    a = max(0, min(centre, x.size) - minimum)
    m = np.zeros_like(m)
    m[a:a + minimum] = True
    return m


def _med(a: np.ndarray) -> float:
    """Median of a 1-D float array (np.median without its per-call overhead)."""
    n = a.size
    if n == 0:
        return math.nan
    k = n // 2
    if n % 2:
        return float(np.partition(a, k)[k])
    p = np.partition(a, (k - 1, k))
    return 0.5 * float(p[k - 1] + p[k])


def _row_medians(a: np.ndarray) -> np.ndarray:
    """Median of each row of a 2-D array (through partition)."""
    n = a.shape[1]
    k = n // 2
    if n % 2:
        return np.partition(a, k, axis=1)[:, k]
    p = np.partition(a, (k - 1, k), axis=1)
    return 0.5 * (p[:, k - 1] + p[:, k])


def _robust_noise(y: np.ndarray) -> float:
    if y.size < 3:
        return math.nan
    return 1.4826 * _med(np.abs(np.diff(y))) / math.sqrt(2.0)


def _intra_drop(eta: np.ndarray, noise: float) -> tuple[float, int]:
    """Largest relative drop (left 10 % window median vs median of all after), and the index
    where it starts; ``(0, -1)`` when there is none above 5 standard errors."""
    n = eta.size
    if n < 12:
        return 0.0, -1
    blocks = min(40, n // 3)
    size = n // blocks
    m = _row_medians(eta[n - blocks * size:].reshape(blocks, size))
    offset = n - blocks * size
    w = max(2, blocks // 10)
    se = 1.2533 * (noise if math.isfinite(noise) and noise > 0 else 0.0) / math.sqrt(w * size)
    b = np.arange(w, blocks - w + 1)
    left = _row_medians(np.lib.stride_tricks.sliding_window_view(m, w)[b - w])
    # medians of the suffixes m[b:], all at once: sort rows padded with +inf
    grid = np.where(np.arange(blocks)[None, :] >= b[:, None], m[None, :], np.inf)
    grid.sort(axis=1)
    count = blocks - b
    rows = np.arange(b.size)
    right = 0.5 * (grid[rows, count // 2] + grid[rows, (count - 1) // 2])
    d = left - right
    ok = (left > 0) & (d > 5.0 * math.sqrt(2.0) * se)
    if not np.any(ok):
        return 0.0, -1
    rel = np.where(ok, d / np.where(left > 0, left, 1.0), -np.inf)
    k = int(np.argmax(rel))
    # the drop happens at the first block after the left window that is closer to the level
    # after than to the level before
    half = 0.5 * (left[k] + right[k])
    below = np.flatnonzero(m[b[k] - w:] < half)
    at = b[k] - w + (int(below[0]) if below.size else w)
    return float(rel[k]), int(offset + at * size)


def decimate(t: np.ndarray, y: np.ndarray, max_points: int = 4000
             ) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points of a trace for a figure, keeping each bin's min and max
    (spikes and sudden drops stay visible)."""
    n = t.size
    if n <= max_points:
        return t.copy(), y.copy()
    bins = max_points // 2
    size = n // bins
    m = bins * size
    tb = t[:m].reshape(bins, size)
    yb = y[:m].reshape(bins, size)
    lo = np.argmin(yb, axis=1)
    hi = np.argmax(yb, axis=1)
    first = np.minimum(lo, hi)
    second = np.maximum(lo, hi)
    rows = np.arange(bins)
    tt = np.column_stack([tb[rows, first], tb[rows, second]]).ravel()
    yy = np.column_stack([yb[rows, first], yb[rows, second]]).ravel()
    return np.r_[tt, t[m:]], np.r_[yy, y[m:]]


@dataclass(frozen=True, kw_only=True)
class StepAnalysis(Result):
    """Half-cycles and rests of a plating/stripping trace (module notes for definitions).

    Values (SI): ``V_ref`` (V), ``noise_rest`` (V, point scatter at rest, or of the first
    level when there is no rest), ``n_half_cycles``, ``capacity_total`` (C m⁻²).

    Attributes
    ----------
    table : dict of str to ndarray
        One entry per half-cycle: ``index``, ``level``, ``cycle``, ``cycle_in_level``,
        ``sign``, ``t_start`` and ``duration`` (s), ``current`` (A), ``j`` (A m⁻²),
        ``capacity`` (C m⁻²), ``eta``, ``eta_err``, ``eta_start``, ``noise`` (V),
        ``tail_rise``, ``tail``, ``drop``, ``drop_time`` (s), ``n_points``, ``start_index``,
        ``stop_index``.
    levels : ndarray
        |j| of each level, A m⁻², in order of appearance.
    rests : dict of str to ndarray
        ``t_start``, ``t_end`` (s) and ``v_end`` (V, median of the last 20 %) of each rest.
    settings : dict
        The windows and thresholds used (:data:`STEP_DEFAULTS` with the caller's changes).
    area : float
        Electrode area used, m².
    plot_time, plot_potential : ndarray
        The trace decimated for figures (s, V).
    """

    table: Mapping[str, np.ndarray] = field(default_factory=dict)
    levels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rests: Mapping[str, np.ndarray] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    area: float = math.nan
    plot_time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    plot_potential: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n(self) -> int:
        """Number of half-cycles."""
        return int(self.table["index"].size) if self.table else 0

    def rows(self) -> list[dict[str, Any]]:
        """The table as one dict per half-cycle (SI)."""
        keys = list(self.table)
        return [{k: self.table[k][i].item() for k in keys} for i in range(self.n)]

    def summary(self) -> str:
        head = super().summary().splitlines()
        return "\n".join([head[0], *format_step_table(self.table), *head[1:]])

    def plot(self, ax=None):
        """Cell voltage against time with the half-cycles shaded by current density.

        Parameters
        ----------
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        from .plot import plot_trace

        return plot_trace(self, ax=ax)


def format_step_table(table: Mapping[str, np.ndarray], verdicts=None, limit: int = 80
                      ) -> list[str]:
    """Lines of a per-half-cycle table in field units (mA cm⁻², mV, mAh cm⁻²)."""
    n = int(table["index"].size) if table else 0
    lines = ["  #   j/mA cm-2  cyc  dir  eta/mV   ±      start/mV  tail%   Q/mAh cm-2  "
             + ("verdict" if verdicts is not None else "")]
    shown = range(n) if n <= limit else list(range(limit // 2)) + list(range(n - limit // 2, n))
    last = -1
    for i in shown:
        if i != last + 1:
            lines.append("  ...")
        last = i
        row = (f"  {i:<3d} {table['j'][i] * MA_CM2:9.4g}  {table['cycle_in_level'][i]:>3d}  "
               f"{'+' if table['sign'][i] > 0 else '-':>3s}  {table['eta'][i] * MV:7.3f}  "
               f"{table['eta_err'][i] * MV:5.3f}  {table['eta_start'][i] * MV:8.3f}  "
               f"{100 * table['tail_rise'][i]:6.1f}  {table['capacity'][i] * MAH_CM2:10.4g}")
        if verdicts is not None:
            row += f"  {verdicts[i]}"
        lines.append(row)
    return lines


def analyse_steps(
    trace: CyclingTrace,
    *,
    area: float | None = None,
    plateau_window: tuple[float, float] = STEP_DEFAULTS["plateau_window"],
    tail_threshold: float = STEP_DEFAULTS["tail_threshold"],
    ocv_limit: float = STEP_DEFAULTS["ocv_limit"],
    method: str = "cycling.steps",
) -> StepAnalysis:
    """Measure every half-cycle of a symmetric-cell plating/stripping trace.

    Parameters
    ----------
    trace : CyclingTrace
        The trace (any reader of :mod:`ionscale.io.cycling`).
    area : float, optional
        Electrode area, m²; overrides the file's.
    plateau_window : (float, float)
        Fractions of each half-cycle's duration over which the plateau median is taken
        (default the last 20 %: ``(0.8, 1.0)``).
    tail_threshold : float
        Relative rise of the last 5 % over the 50-75 % median that flags a contact-loss tail.
    ocv_limit : float
        |rest voltage| above which the cell is not a Li | Li symmetric cell, V.
    method : str
        Method name recorded in the provenance.

    Returns
    -------
    StepAnalysis

    Raises
    ------
    InputError
        No electrode area (or EC-Lab's default 0.001 cm² from the file), an area that is not
        positive, a trace with no current step, bad windows.

    Examples
    --------
    >>> from ionscale.datasets.synthetic_cycling import symmetric_cell_trace
    >>> trace = symmetric_cell_trace(cycles=1, levels=(0.5,), noise=0.0)
    >>> steps = analyse_steps(trace)
    >>> round(float(steps.table["eta"][0]) * 1e3, 3)   # 55 Ω cm² × 0.05 mA cm⁻², mV
    2.75
    """
    if area is not None:
        trace = trace.with_area(check_area(area, file=trace.source))
    a_used = _usable_area(trace)
    lo, hi = (float(x) for x in plateau_window)
    if not 0.0 <= lo < hi <= 1.0:
        raise InputError(f"plateau window {plateau_window!r}", field="plateau_window",
                         expected="two fractions 0 <= start < end <= 1 of the half-cycle")
    if not tail_threshold > 0:
        raise InputError(f"tail threshold {tail_threshold!r}", field="tail_threshold",
                         expected="a positive relative rise, e.g. 0.1")
    settings = {**STEP_DEFAULTS, "plateau_window": (lo, hi), "tail_threshold": tail_threshold,
                "ocv_limit": ocv_limit, "rest_current": trace.segments.rest_current}
    seg = trace.segments
    t, v, cur = trace.time, trace.potential, trace.current
    n = t.size
    active = np.flatnonzero(~seg.rest)
    if active.size == 0:
        raise InputError(f"no current step: |I| <= {seg.rest_current:.3g} A at every point "
                         "(an open-circuit or empty trace)", file=trace.source,
                         field="current", expected="a galvanostatic plating/stripping "
                         "protocol with constant-current half-cycles")
    # ---- rests: reference voltage and noise
    rest_t0, rest_t1, rest_v = [], [], []
    rest_noise = []
    for k in np.flatnonzero(seg.rest):
        a, b = int(seg.start[k]), int(seg.stop[k])
        if b - a < 3:
            continue
        tt = t[a:b]
        d = tt[-1] - tt[0]
        x = (tt - tt[0]) / d if d > 0 else np.linspace(0, 1, b - a)
        w = _window(x, 1.0 - STEP_DEFAULTS["rest_window"], 1.0)
        rest_t0.append(t[a])
        rest_t1.append(t[b - 1])
        rest_v.append(_med(v[a:b][w]))
        rest_noise.append(_robust_noise(v[a:b][w]))
    diagnostics: list[Diagnostic] = []
    v_ref = _med(np.asarray(rest_v)) if rest_v else 0.0
    # ---- half-cycles
    cols: dict[str, list] = {k: [] for k in _TABLE_DOC}
    for k in active:
        a, b = int(seg.start[k]), int(seg.stop[k])
        tt = t[a:b]
        t0 = tt[0]
        t_end = t[b] if b < n else tt[-1]
        duration = float(t_end - t0)
        x = (tt - t0) / duration if duration > 0 else np.linspace(0.0, 1.0, b - a)
        sign = 1 if seg.level[k] > 0 else -1
        eta = sign * (v[a:b] - v_ref)
        w = _window(x, lo, hi)
        plateau = _med(eta[w])
        mad = _med(np.abs(eta[w] - plateau))
        err = 1.2533 * 1.4826 * mad / math.sqrt(max(int(w.sum()), 1))
        after = x >= STEP_DEFAULTS["drop_skip"]
        if after.sum() < 3:
            after = np.ones_like(after)
        noise = _robust_noise(eta[after])
        first = _window(x, 0.0, STEP_DEFAULTS["start_window"], minimum=3)
        head = eta[: int(np.flatnonzero(first)[-1]) + 2]
        if head.size >= 3:  # 3-point running median
            a0, a1, a2 = head[:-2], head[1:-1], head[2:]
            smooth = np.maximum(np.minimum(a0, a1), np.minimum(np.maximum(a0, a1), a2))
        else:
            smooth = head
        eta_start = float(np.max(smooth))
        ref_lo, ref_hi = STEP_DEFAULTS["tail_reference"]
        ref = _med(eta[_window(x, ref_lo, ref_hi)])
        end_mask = _window(x, 1.0 - STEP_DEFAULTS["tail_window"], 1.0)
        end = _med(eta[end_mask])
        rise = (end - ref) / abs(ref) if ref != 0 else 0.0
        se_end = 1.2533 * (noise if math.isfinite(noise) else 0.0) / math.sqrt(
            max(int(end_mask.sum()), 1))
        tail = bool(rise > tail_threshold and (end - ref) > 5.0 * math.sqrt(2.0) * se_end
                    and ref > 0)
        drop, where = _intra_drop(eta[after], noise)
        offset = int(np.flatnonzero(after)[0])
        drop_time = float(tt[offset + where]) if where >= 0 else math.nan
        dt = np.diff(np.r_[tt, t_end]) if b < n else np.r_[np.diff(tt), 0.0]
        charge = float(np.sum(np.abs(cur[a:b]) * dt))
        cols["index"].append(int(seg.half_cycle[k]))
        cols["cycle"].append(int(seg.cycle[k]))
        cols["sign"].append(sign)
        cols["start_index"].append(a)
        cols["stop_index"].append(b)
        cols["t_start"].append(float(t0))
        cols["duration"].append(duration)
        cols["current"].append(float(seg.level[k]))
        cols["j"].append(abs(float(seg.level[k])) / a_used)
        cols["capacity"].append(charge / a_used)
        cols["eta"].append(plateau)
        cols["eta_err"].append(err)
        cols["eta_start"].append(eta_start)
        cols["tail_rise"].append(rise)
        cols["tail"].append(tail)
        cols["noise"].append(noise)
        cols["drop"].append(drop)
        cols["drop_time"].append(drop_time)
        cols["n_points"].append(b - a)
        cols["level"].append(0)
        cols["cycle_in_level"].append(0)
    table = {k: np.asarray(v_) for k, v_ in cols.items()}
    levels = _assign_levels(table, settings["level_tolerance"])
    # ---- noise reference and checks
    if rest_noise and np.any(np.isfinite(rest_noise)):
        noise_ref = float(np.nanmedian(rest_noise))
    else:
        first_level = table["level"] == 0
        noise_ref = float(np.nanmedian(table["noise"][first_level]))
    signs = set(table["sign"].tolist())
    if len(signs) == 1:
        diagnostics.append(Diagnostic(
            "failed", "current flows in one direction only: this is not a plating/stripping "
            "protocol (symmetric cells alternate the current)", fields=("current",)))
    if abs(v_ref) > ocv_limit:
        diagnostics.append(Diagnostic(
            "failed", f"the cell rests at {v_ref:.4g} V: not a Li | Li symmetric cell "
            f"(expected |V_rest| < {ocv_limit:g} V)", fields=("V_ref",)))
    elif not rest_v and len(signs) == 2:
        mid = _midpoint(table, v_ref)
        if math.isfinite(mid) and abs(mid) > ocv_limit:
            diagnostics.append(Diagnostic(
                "failed", f"the plating and stripping voltages are centred on {mid:.4g} V: "
                f"not a Li | Li symmetric cell (expected within ±{ocv_limit:g} V of 0)",
                fields=("V_ref",)))
    unpaired = _unpaired_cycles(table)
    if unpaired:
        diagnostics.append(Diagnostic(
            "data-quality", f"{unpaired} cycle(s) pass unequal charge in their two directions "
            "(> 10 %): the protocol is not a symmetric plating/stripping", fields=("capacity",)))
    if np.any(table["tail"]):
        idx = np.flatnonzero(table["tail"])
        diagnostics.append(Diagnostic(
            "data-quality", f"{idx.size} half-cycle(s) end with a rising tail (contact loss), "
            f"first at j = {table['j'][idx[0]] * MA_CM2:.3g} mA cm⁻² (half-cycle {idx[0]}, "
            f"+{100 * table['tail_rise'][idx[0]]:.0f} % over the last 5 %; threshold "
            f"{100 * tail_threshold:.0f} %)", fields=("tail_rise",)))
    if trace.metadata.get("area_source") is None:
        settings["area_source"] = "file"
    else:
        settings["area_source"] = trace.metadata.get("area_source")
    values = {
        "V_ref": Value("V_ref", v_ref, math.nan, "V", "V_ref"),
        "noise_rest": Value("noise_rest", noise_ref, math.nan, "V", "σ_V"),
        "n_half_cycles": Value("n_half_cycles", float(table["index"].size), 0.0, "",
                               "half-cycles"),
        "capacity_total": Value("capacity_total", float(np.sum(table["capacity"])), math.nan,
                                "C/m^2", "Q_total"),
    }
    pt, pv = decimate(t, v)
    rests = {"t_start": np.asarray(rest_t0), "t_end": np.asarray(rest_t1),
             "v_end": np.asarray(rest_v)}
    provenance = Provenance.build(method, [trace.source] if trace.source else [],
                                  {**settings, "area": a_used})
    return StepAnalysis(values=values, provenance=provenance,
                        title=f"Plating/stripping steps of {trace.label}",
                        diagnostics=tuple(diagnostics), table=table, levels=levels,
                        rests=rests, settings=settings, area=a_used, plot_time=pt,
                        plot_potential=pv)


def _usable_area(trace: CyclingTrace) -> float:
    area = trace.require_area()
    if (trace.metadata.get("area_source") in (None, "file")
            and math.isclose(area, EC_LAB_DEFAULT_AREA, rel_tol=1e-6)):
        raise InputError("the file states EC-Lab's default electrode area (0.001 cm²), which "
                         "is almost never the cell's", file=trace.source, field="area",
                         expected="the real electrode area (area='0.126 cm^2' or --area)")
    return area


def _assign_levels(table: dict[str, np.ndarray], tol: float) -> np.ndarray:
    j = table["j"]
    if j.size == 0:
        return np.zeros(0)
    new = np.r_[True, np.abs(np.diff(j)) > tol * np.maximum(j[1:], j[:-1])]
    level = np.cumsum(new) - 1
    table["level"] = level
    cil = np.zeros(j.size, dtype=np.int64)
    for lv in np.unique(level):
        idx = np.flatnonzero(level == lv)
        first_sign = table["sign"][idx[0]]
        cil[idx] = np.cumsum(table["sign"][idx] == first_sign)
    table["cycle_in_level"] = cil
    return np.array([(_med(j[level == lv])) for lv in range(int(level.max()) + 1)])


def _midpoint(table, v_ref) -> float:
    """Median of (V₊ + V₋)/2 over consecutive half-cycles of opposite sign (raw voltages)."""
    v_raw = table["sign"] * table["eta"] + v_ref
    s = table["sign"]
    pairs = np.flatnonzero(s[1:] != s[:-1])
    if pairs.size == 0:
        return math.nan
    return _med((v_raw[pairs] + v_raw[pairs + 1]) / 2.0)


def _unpaired_cycles(table) -> int:
    count = 0
    cyc = table["cycle"]
    for c in np.unique(cyc):
        idx = np.flatnonzero(cyc == c)
        if idx.size != 2:
            continue
        q = table["capacity"][idx]
        if max(q) > 0 and abs(q[0] - q[1]) / max(q) > 0.10:
            count += 1
    return count
