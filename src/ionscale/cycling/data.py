"""The data object of galvanostatic cycling: :class:`CyclingTrace`.

A trace is what a galvanostat records on a cell: time, current and cell voltage at every point,
with the step index of the program, and the electrode area that turns currents into current
densities. Every reader in :mod:`ionscale.io.cycling` returns one; arrays are SI (s, A, V, m²).

Half-cycle and cycle indices are always derived by the same rule
(:mod:`ionscale.cycling.segments`), whatever the file: a half-cycle is one constant-current
segment, a cycle starts at each half-cycle with the sign of the first, rests carry -1. The
counters the instrument wrote (EC-Lab ``half cycle`` and ``cycle number``, Arbin
``Cycle_Index``...) are kept unchanged in :attr:`CyclingTrace.extra`.

Sign convention: the file's. Positive current is what the instrument calls positive (EC-Lab:
oxidation of the working electrode, i.e. Li stripped from it and plated on the counter
electrode); analyses work with ``|V|`` and ``|j|`` and name the direction ``+`` or ``-``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InputError
from .segments import Segments, segment_current

#: Windows and thresholds of :func:`analyse_steps` (fractions of a half-cycle's duration).
STEP_DEFAULTS: dict[str, Any] = {
    "plateau_window": (0.8, 1.0),
    "start_window": 0.05,
    "tail_window": 0.05,
    "tail_reference": (0.5, 0.75),
    "tail_threshold": 0.10,
    "drop_skip": 0.10,
    "ocv_limit": 0.1,
    "level_tolerance": 0.05,
    "rest_window": 0.2,
}


#: Thresholds of :func:`detect_shorts`.
SHORT_DEFAULTS: dict[str, float] = {
    "drop_fraction": 0.30,
    "floor_fraction": 0.50,
    "near_zero_snr": 3.0,
    "soft_noise_excess": 2.0,
    "drop_sigma": 5.0,
}


#: Field units used in tables and figures: A m⁻² → mA cm⁻², V → mV, C m⁻² → mAh cm⁻².
MA_CM2 = 0.1
MV = 1e3
MAH_CM2 = 1.0 / 36000.0

__all__ = ["CyclingTrace", "trace_from_arrays", "EC_LAB_DEFAULT_AREA"]

#: EC-Lab's default "Electrode surface area" (0.001 cm²), m²: a file that states it almost
#: always means that nobody entered the real area.
EC_LAB_DEFAULT_AREA = 1e-7


@dataclass(frozen=True, eq=False)
class CyclingTrace:
    """A galvanostatic (chronopotentiometry) trace of a cell.

    Attributes
    ----------
    time : ndarray
        Time since the start of the file, s (non-decreasing).
    current : ndarray
        Measured current, A (the instrument's sign).
    potential : ndarray
        Cell voltage (working against counter electrode), V.
    step : ndarray of int
        The program step of each point: the file's (EC-Lab ``Ns``, Arbin ``Step_Index``...)
        or, when the file has none, the segment number.
    half_cycle, cycle : ndarray of int
        Derived indices (module notes); -1 on rest points.
    area : float or None
        Electrode area, m² (None when neither the file nor the user gave one).
    source : str or None
        The file read.
    format : str
        Reader that produced the trace (``"biologic-mpr"``, ``"csv"``...).
    start_time : str or None
        Acquisition start, ISO 8601, when the file has it.
    extra : dict of str to ndarray
        Other columns kept from the file (set point, the instrument's own counters...), by
        their file names, in file units.
    metadata : dict
        Header information; ``area_source`` says where the area came from.
    segments : Segments
        The constant-current segments behind ``half_cycle`` and ``cycle``.
    """

    time: np.ndarray
    current: np.ndarray
    potential: np.ndarray
    step: np.ndarray
    half_cycle: np.ndarray
    cycle: np.ndarray
    segments: Segments
    area: float | None = None
    source: str | None = None
    format: str = "arrays"
    start_time: str | None = None
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time.size)

    @property
    def n_points(self) -> int:
        return int(self.time.size)

    @property
    def label(self) -> str:
        """The file name, or ``"trace"``."""
        return os.path.basename(self.source) if self.source else "trace"

    def require_area(self) -> float:
        """The electrode area, m²; an :class:`InputError` saying how to give it if unknown."""
        if self.area is None:
            raise InputError("the electrode area is not known", file=self.source, field="area",
                             expected="the electrode area (area='0.126 cm^2' or --area), "
                                      "needed to turn currents into current densities")
        return float(self.area)

    @property
    def current_density(self) -> np.ndarray:
        """``current / area``, A m⁻² (needs the area)."""
        return self.current / self.require_area()

    def with_area(self, area: float, source: str = "user") -> CyclingTrace:
        """A copy with the electrode area set (m²); ``metadata["area_source"]`` = ``source``."""
        area = check_area(area, file=self.source)
        meta = dict(self.metadata)
        if self.area is not None and not math.isclose(self.area, area, rel_tol=1e-9):
            meta["area_in_file"] = self.area
        meta["area_source"] = source
        return replace(self, area=area, metadata=meta)

    def select(self, t_min: float | None = None, t_max: float | None = None) -> CyclingTrace:
        """The points with ``t_min <= time <= t_max`` (s), indices re-derived."""
        keep = np.ones(self.time.size, bool)
        if t_min is not None:
            keep &= self.time >= t_min
        if t_max is not None:
            keep &= self.time <= t_max
        return trace_from_arrays(
            self.time[keep], self.current[keep], self.potential[keep], area=self.area,
            step=self.step[keep], source=self.source, format=self.format,
            start_time=self.start_time, extra={k: v[keep] for k, v in self.extra.items()},
            metadata=dict(self.metadata), rest_current=self.segments.rest_current)


def check_area(area: Any, *, file: str | None = None, field: str = "area") -> float:
    """A positive, finite electrode area in m², or an :class:`InputError`."""
    try:
        value = float(area)
    except (TypeError, ValueError):
        raise InputError(f"cannot read the area {area!r}", file=file, field=field,
                         expected="a positive area in m² (or a quantity such as "
                                  "'0.126 cm^2')") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"the electrode area is {value!r} m²", file=file, field=field,
                         expected="a positive, finite area (e.g. 1.26e-5 m² = 0.126 cm²)")
    return value


def _column(values: Any, name: str, n: int | None, file: str | None) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError("the column is not numeric", file=file, field=name,
                         expected="numbers") from None
    if a.ndim != 1:
        raise InputError(f"the column has shape {a.shape}", file=file, field=name,
                         expected="a one-dimensional array")
    if n is not None and a.size != n:
        raise InputError(f"the column has {a.size} points but time has {n}", file=file,
                         field=name, expected="columns of equal length")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise InputError(f"{bad.size} value(s) are NaN or infinite, the first at point "
                         f"{int(bad[0])}", file=file, field=name, expected="finite numbers")
    return a


def trace_from_arrays(
    time,
    current,
    potential,
    *,
    area: float | None = None,
    step=None,
    source: str | os.PathLike | None = None,
    format: str = "arrays",
    start_time: str | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    metadata: Mapping[str, Any] | None = None,
    rest_current: float | None = None,
) -> CyclingTrace:
    """Build a checked :class:`CyclingTrace` from arrays (SI), deriving the indices.

    Parameters
    ----------
    time : array_like
        s, non-decreasing.
    current : array_like
        A.
    potential : array_like
        V.
    area : float, optional
        Electrode area, m² (positive).
    step : array_like of int, optional
        The program's step index; the segment number when omitted.
    source, format, start_time, extra, metadata
        Stored as given (see :class:`CyclingTrace`).
    rest_current : float, optional
        |I| (A) at or below which a segment is a rest (default: 1 % of the largest current).

    Returns
    -------
    CyclingTrace

    Raises
    ------
    InputError
        Columns of unequal length, fewer than 2 points, NaN or infinite values (naming the
        first point), time going backwards (naming the point), an area that is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(40.0)
    >>> I = np.where(t < 20, 1e-5, -1e-5)
    >>> tr = trace_from_arrays(t, I, 0.01 * np.sign(I), area=1e-5)
    >>> tr.half_cycle[[0, 39]].tolist(), float(tr.current_density[0])
    ([0, 1], 1.0)
    """
    file = os.fspath(source) if source is not None else None
    t = _column(time, "time", None, file)
    n = t.size
    if n < 2:
        raise InputError(f"the trace has {n} point(s)", file=file, field="time",
                         expected="at least 2 points")
    i = _column(current, "current", n, file)
    v = _column(potential, "potential", n, file)
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        k = int(back[0]) + 1
        raise InputError(f"time goes backwards at point {k} ({t[k - 1]:.6g} s -> {t[k]:.6g} s)",
                         file=file, field="time", expected="non-decreasing times (one "
                         "experiment per file, or concatenate with increasing times)")
    if area is not None:
        area = check_area(area, file=file)
    file_step = None
    if step is not None:
        file_step = np.asarray(step)
        if file_step.shape != (n,):
            raise InputError(f"the step column has {file_step.size} points but time has {n}",
                             file=file, field="step", expected="columns of equal length")
        if not np.all(np.isfinite(file_step.astype(float))):
            raise InputError("the step column holds NaN", file=file, field="step",
                             expected="integer step indices")
        file_step = file_step.astype(np.int64)
    segments = segment_current(i, file_step, rest_current=rest_current)
    half, cyc = segments.point_indices(n)
    if file_step is None:
        file_step = np.repeat(np.arange(len(segments), dtype=np.int64),
                              segments.stop - segments.start)
    meta = dict(metadata or {})
    meta.setdefault("area_source", "user" if area is not None else None)
    return CyclingTrace(time=t, current=i, potential=v, step=file_step, half_cycle=half,
                        cycle=cyc, segments=segments, area=area, source=file, format=format,
                        start_time=start_time, extra=dict(extra or {}), metadata=meta)
