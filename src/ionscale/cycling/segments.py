"""Cutting a galvanostatic trace into constant-current segments and rests.

One rule for every reader, so that the same data give the same indices whatever the file format
(an EC-Lab ``.mpr`` and its text export, a Neware CSV...):

1. A *boundary* is put between points ``k-1`` and ``k`` when the measured current jumps:
   ``|I_k - I_{k-1}| > rel_tol · max(|I_k|, |I_{k-1}|)`` **and** more than 10 times the
   current's point-to-point noise (``1.4826 · median|ΔI| / √2``); and wherever the file's own
   step index changes.
2. Segments shorter than ``min_points`` points (the transition point of a current switch, a
   spike) are merged into the neighbour whose median current is closest, preferring the
   neighbour in the same file step.
3. A segment whose median current is at most ``rest_current`` (default: 1 % of the largest
   segment median |I|, and at least 10 times the current noise) is a *rest*; every other
   segment is a *half-cycle*.
4. Half-cycles are numbered 0, 1, 2... in time order; a *cycle* starts at every half-cycle that
   has the sign of the first one (so ``+ − + −`` gives cycles 0, 0, 1, 1). Rest points carry
   ``-1`` in both indices.

The rule uses only the measured current (not the set point), because text exports often drop
the set point column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Segments", "segment_current", "DEFAULT_REL_TOL", "DEFAULT_REST_FRACTION"]

#: Relative current jump that separates two segments.
DEFAULT_REL_TOL = 0.05
#: Default rest threshold as a fraction of the largest segment current.
DEFAULT_REST_FRACTION = 0.01
#: Segments with fewer points are merged into a neighbour.
DEFAULT_MIN_POINTS = 3


@dataclass(frozen=True)
class Segments:
    """Constant-current segments of a trace.

    Attributes
    ----------
    start, stop : ndarray of int
        Point index range ``[start, stop)`` of each segment, in time order.
    level : ndarray of float
        Median measured current of each segment, A.
    rest : ndarray of bool
        Whether each segment is a rest (``|level| <= rest_current``).
    half_cycle : ndarray of int
        Half-cycle number of each segment (-1 for rests).
    cycle : ndarray of int
        Cycle number of each segment (-1 for rests).
    rest_current : float
        Threshold used, A.
    """

    start: np.ndarray
    stop: np.ndarray
    level: np.ndarray
    rest: np.ndarray
    half_cycle: np.ndarray
    cycle: np.ndarray
    rest_current: float

    def __len__(self) -> int:
        return int(self.start.size)

    def point_indices(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-point ``(half_cycle, cycle)`` arrays for a trace of ``n`` points."""
        lengths = self.stop - self.start
        hc = np.repeat(self.half_cycle, lengths)
        cy = np.repeat(self.cycle, lengths)
        if hc.size != n:  # pragma: no cover - segments always tile the trace
            raise ValueError("segments do not tile the trace")
        return hc, cy


def _noise(x: np.ndarray) -> float:
    if x.size < 3:
        return 0.0
    return float(1.4826 * np.median(np.abs(np.diff(x))) / np.sqrt(2.0))


def segment_current(
    current: np.ndarray,
    step: np.ndarray | None = None,
    *,
    rest_current: float | None = None,
    rel_tol: float = DEFAULT_REL_TOL,
    min_points: int = DEFAULT_MIN_POINTS,
) -> Segments:
    """Cut a measured current into constant-current segments and rests (see module notes).

    Parameters
    ----------
    current : ndarray
        Measured current, A (any sign convention).
    step : ndarray of int, optional
        The file's own step index; its changes are boundaries too.
    rest_current : float, optional
        |I| at or below which a segment is a rest, A. Default: 1 % of the largest segment
        median |I|, at least 10 times the point-to-point current noise.
    rel_tol : float
        Relative current jump that separates segments.
    min_points : int
        Shorter segments are merged into a neighbour.

    Returns
    -------
    Segments

    Examples
    --------
    >>> import numpy as np
    >>> I = np.r_[np.zeros(5), np.full(10, 1e-4), np.zeros(5), np.full(10, -1e-4)]
    >>> seg = segment_current(I)
    >>> seg.half_cycle.tolist(), seg.cycle.tolist()
    ([-1, 0, -1, 1], [-1, 0, -1, 0])
    """
    current = np.asarray(current, dtype=float)
    n = current.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Segments(empty, empty, np.zeros(0), np.zeros(0, bool), empty, empty,
                        float(rest_current or 0.0))
    d = np.abs(np.diff(current))
    scale = np.maximum(np.abs(current[1:]), np.abs(current[:-1]))
    noise = _noise(current)
    top = float(np.percentile(np.abs(current), 99.9)) or float(np.max(np.abs(current)))
    # a jump smaller than 0.2 % of the largest current is never a new step (quantised
    # currents at rest would otherwise cut the rest into single points)
    floor = max(10.0 * noise, 2e-3 * top, 1e-300)
    change = (d > rel_tol * scale) & (d > floor)
    file_step = None
    if step is not None:
        file_step = np.asarray(step)
        change |= file_step[1:] != file_step[:-1]
    cuts = np.flatnonzero(change) + 1
    start = np.r_[0, cuts].astype(np.int64)
    stop = np.r_[cuts, n].astype(np.int64)
    start, stop = _merge_short(current, start, stop, file_step, min_points)
    level = np.array([np.median(current[a:b]) for a, b in zip(start, stop, strict=True)])
    # adjacent segments at the same level inside one file step are one segment (a spike that
    # was merged away leaves two halves behind)
    start, stop, level = _merge_equal(current, start, stop, level, file_step, rel_tol)
    top = float(np.max(np.abs(level))) if level.size else 0.0
    # a level within the current's own noise is a rest too (an open-circuit file whose
    # leakage current is all noise has no half-cycle)
    threshold = (max(DEFAULT_REST_FRACTION * top, 10.0 * noise) if rest_current is None
                 else float(rest_current))
    rest = np.abs(level) <= threshold
    half = np.full(level.size, -1, dtype=np.int64)
    cyc = np.full(level.size, -1, dtype=np.int64)
    active = np.flatnonzero(~rest)
    if active.size:
        half[active] = np.arange(active.size)
        signs = np.sign(level[active])
        cyc[active] = np.cumsum(signs == signs[0]) - 1
    return Segments(start, stop, level, rest, half, cyc, threshold)


def _merge_short(current, start, stop, file_step, min_points):
    """Merge segments shorter than ``min_points`` into their closest-level neighbour.

    Consecutive short segments form one transition group first (one pass, linear in the
    number of segments); a group still shorter than ``min_points`` joins its left or right
    neighbour: the one in the same file step, else the one with the closer median current.
    """
    lengths = stop - start
    short = lengths < min_points
    if start.size <= 1 or not np.any(short):
        return start, stop
    # groups: runs of short segments are fused, long segments stay alone
    new_group = np.r_[True, ~(short[1:] & short[:-1])]
    gid = np.cumsum(new_group) - 1
    first = np.flatnonzero(new_group)
    last = np.r_[first[1:] - 1, start.size - 1]
    g_start, g_stop = start[first], stop[last]
    g_short = (g_stop - g_start) < min_points
    del gid
    if not np.any(g_short) or g_start.size == 1:
        return g_start, g_stop

    def med(a, b):
        return float(np.median(current[a:b]))

    owner = np.arange(g_start.size)  # which group each group's points end up in
    for g in np.flatnonzero(g_short):
        here = med(g_start[g], g_stop[g])
        best = None
        for j in (g - 1, g + 1):
            if 0 <= j < g_start.size and not g_short[j]:
                same = file_step is None or file_step[g_start[j]] == file_step[g_start[g]]
                key = (not same, abs(med(g_start[j], g_stop[j]) - here))
                if best is None or key < best[0]:
                    best = (key, j)
        if best is not None:
            owner[g] = best[1]
    keep = np.r_[True, owner[1:] != owner[:-1]]
    first = np.flatnonzero(keep)
    last = np.r_[first[1:] - 1, g_start.size - 1]
    return g_start[first].astype(np.int64), g_stop[last].astype(np.int64)


def _merge_equal(current, start, stop, level, file_step, rel_tol):
    if start.size <= 1:
        return start, stop, level
    same_level = np.abs(np.diff(level)) <= rel_tol * np.maximum(np.abs(level[1:]),
                                                                np.abs(level[:-1]))
    same_sign = np.sign(level[1:]) == np.sign(level[:-1])
    join = same_level & same_sign
    if file_step is not None:
        join &= file_step[start[1:]] == file_step[start[:-1]]
    if not np.any(join):
        return start, stop, level
    keep = np.r_[True, ~join]
    first = np.flatnonzero(keep)
    last = np.r_[first[1:] - 1, start.size - 1]
    new_start, new_stop = start[first], stop[last]
    new_level = np.array([np.median(current[a:b]) for a, b in zip(new_start, new_stop,
                                                                  strict=True)])
    return new_start, new_stop, new_level
