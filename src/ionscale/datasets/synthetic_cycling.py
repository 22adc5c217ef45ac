# ruff: noqa: E501  (the campaign template keeps TOML lines whole)
"""Synthetic Li | solid electrolyte | Li plating/stripping traces with known answers.

:func:`symmetric_cell_trace` simulates the protocol of seed 004: an open-circuit rest, then at
each current density ``j`` (default 0.05, 0.1, 0.2, 0.4, 0.8 mA cm⁻², then back to 0.05) five
cycles of plating (+j) and stripping (-j), 30 min at open circuit after every half-cycle. The
cell is ohmic with a known area-specific resistance split into a bulk part (instantaneous) and
an interfacial part that charges and relaxes with a time constant ``tau``::

    V(t) = I (R_bulk + R_int (1 - exp(-t / tau)))      during a half-cycle
    V(t) = I_prev R_int exp(-t / tau)                   during the rest after it

with Gaussian noise. Failures can be injected at a known place:

* :class:`Short`: at ``at`` of the chosen half-cycle |V| drops suddenly to ``drop_to`` (seed
  004: 22 → 10 mV at 0.4 mA cm⁻²); from the next half-cycle on the cell is an ohmic
  ``resistance`` (0.5 Ω);
* :class:`SoftShort`: from the chosen half-cycle on, a small ohmic voltage under large erratic
  noise (a noisy near-zero trace, no sudden drop);
* :class:`ContactLoss`: from a current density on, |V| rises in the last part of every
  half-cycle (the "tail" of seed 004).

Units are SI: ASR in Ω m² (55 Ω cm² = 5.5e-3 Ω m²), j in A m⁻² (0.4 mA cm⁻² = 4 A m⁻²),
areas in m², times in s, voltages in V. :func:`write_mpt` writes a trace as an EC-Lab text file
and :func:`write_cycling_demo` the demo campaign's cycling sample.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cycling.data import CyclingTrace, trace_from_arrays

__all__ = [
    "ContactLoss", "DEMO_CELL", "SEED004_LEVELS", "Short", "SoftShort", "symmetric_cell_trace",
    "write_mpt", "write_csv", "write_cycling_demo",
]

#: Current densities of seed 004, A m⁻² (0.05, 0.1, 0.2, 0.4, 0.8 mA cm⁻²).
SEED004_LEVELS = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class Short:
    """A hard short: sudden drop of |V| inside one half-cycle, then an ohmic short.

    Parameters
    ----------
    j : float
        Current-density level (A m⁻²) at which it happens.
    cycle : int
        Cycle within that level, from 1 (seed language: "cycle 3").
    half : int
        0 for the first half-cycle of the cycle (plating), 1 for the second.
    at : float
        Fraction of the half-cycle at which |V| drops.
    drop_to : float
        |V| after the drop, V.
    resistance : float
        Resistance of the shorted cell from the next half-cycle on, Ω.
    """

    j: float
    cycle: int
    half: int = 0
    at: float = 0.5
    drop_to: float = 10e-3
    resistance: float = 0.5


@dataclass(frozen=True)
class SoftShort:
    """A soft short: from the chosen half-cycle on, ``I · resistance`` under erratic noise.

    ``noise`` (V) is the standard deviation of the extra noise (a random telegraph of partial
    contacts plus white noise of the same size).
    """

    j: float
    cycle: int
    half: int = 0
    resistance: float = 2.0
    noise: float = 2e-3


@dataclass(frozen=True)
class ContactLoss:
    """Rising tails: from level ``j`` on, |V| · (1 + rise · ((x - start)/(1 - start))²) for
    ``x = t/D > start`` of every half-cycle."""

    j: float
    rise: float = 0.5
    start: float = 0.85


#: The demo cell: seed 004's 510 MPa / 10 min pellet (Li disks of 4 mm: 0.126 cm²), ASR
#: 55 Ω cm² (22 mV at 0.4 mA cm⁻²), shorted in the third cycle at 0.4 mA cm⁻².
DEMO_CELL = {
    "asr": 5.5e-3, "area": 0.126e-4, "levels": SEED004_LEVELS, "noise": 0.2e-3,
    "short": Short(j=4.0, cycle=3, half=0, at=0.5, drop_to=10e-3, resistance=0.5),
}


def symmetric_cell_trace(
    *,
    asr: float = 5.5e-3,
    area: float = 0.126e-4,
    levels: tuple[float, ...] = SEED004_LEVELS,
    cycles: int = 5,
    return_to_first: bool = True,
    half_cycle_time: float = 3600.0,
    rest_time: float = 1800.0,
    dt: float = 10.0,
    noise: float = 0.2e-3,
    tau: float = 60.0,
    interface_fraction: float = 0.6,
    offset: float = 0.0,
    short: Short | None = None,
    soft_short: SoftShort | None = None,
    contact_loss: ContactLoss | None = None,
    seed: int | np.random.Generator | None = 0,
) -> CyclingTrace:
    """Simulate a galvanostatic plating/stripping test of a Li | SE | Li cell (module notes).

    Parameters
    ----------
    asr : float
        Area-specific resistance, Ω m² (5.5e-3 = 55 Ω cm²).
    area : float
        Electrode area, m².
    levels : tuple of float
        Current densities, A m⁻², in order.
    cycles : int
        Cycles (plating + stripping) per level.
    return_to_first : bool
        Repeat the first level at the end (seed 004).
    half_cycle_time, rest_time, dt : float
        Durations and sampling interval, s.
    noise : float
        Standard deviation of the voltage noise, V.
    tau : float
        Time constant of the interfacial part, s.
    interface_fraction : float
        Share of the ASR that is interfacial (charges with ``tau``).
    offset : float
        Voltage added everywhere (a cell that is not Li | Li rests away from 0 V), V.
    short, soft_short, contact_loss : optional
        Failures to inject.
    seed : int or Generator
        Noise seed.

    Returns
    -------
    CyclingTrace
        With ``metadata["synthetic"]`` holding the parameters (SI).

    Examples
    --------
    >>> tr = symmetric_cell_trace(levels=(4.0,), cycles=1, noise=0.0)
    >>> round(float(abs(tr.potential[tr.half_cycle == 0][-1])) * 1e3, 3)   # mV
    22.0
    """
    rng = np.random.default_rng(seed)
    r_total = asr / area
    r_int = interface_fraction * r_total
    r_bulk = r_total - r_int
    plan = list(levels) + ([levels[0]] if return_to_first and len(levels) > 1 else [])
    n_rest = max(int(round(rest_time / dt)), 1)
    n_half = max(int(round(half_cycle_time / dt)), 1)
    times, currents, volts, steps = [], [], [], []
    t_now = 0.0
    step = 0
    shorted: float | None = None     # resistance of a shorted cell
    soft: SoftShort | None = None

    def add(n, current, voltage):
        nonlocal t_now, step
        times.append(t_now + dt * np.arange(n))
        currents.append(np.full(n, current))
        volts.append(voltage)
        steps.append(np.full(n, step))
        t_now += dt * n
        step += 1

    tr = dt * np.arange(n_rest)
    add(n_rest, 0.0, np.zeros(n_rest))
    for level_j in plan:
        for c in range(1, cycles + 1):
            for half in (0, 1):
                sign = 1.0 if half == 0 else -1.0
                current = sign * level_j * area
                th = dt * np.arange(n_half)
                x = th / half_cycle_time
                if shorted is not None:
                    v = current * shorted + np.zeros(n_half)
                elif soft is not None or (soft_short is not None and _hit(soft_short, level_j,
                                                                          c, half)):
                    soft = soft or soft_short
                    v = current * soft.resistance + _erratic(rng, n_half, soft.noise)
                else:
                    v = current * (r_bulk + r_int * (1.0 - np.exp(-th / tau)))
                    if contact_loss is not None and level_j >= contact_loss.j * (1 - 1e-9):
                        y = np.clip((x - contact_loss.start) / (1.0 - contact_loss.start), 0, 1)
                        v = v * (1.0 + contact_loss.rise * y ** 2)
                    if short is not None and _hit(short, level_j, c, half):
                        v = np.where(x < short.at, v, sign * short.drop_to)
                        shorted = short.resistance
                add(n_half, current, v)
                if shorted is not None or soft is not None:
                    relax = np.zeros(n_rest)
                else:
                    relax = current * r_int * np.exp(-tr / tau)
                    if contact_loss is not None and level_j >= contact_loss.j * (1 - 1e-9):
                        relax = relax * (1.0 + contact_loss.rise)
                add(n_rest, 0.0, relax)
    t = np.concatenate(times)
    i = np.concatenate(currents)
    v = np.concatenate(volts) + offset
    if noise > 0:
        v = v + rng.normal(0.0, noise, v.size)
    truth = {"asr": asr, "area": area, "levels": list(levels), "cycles": cycles,
             "half_cycle_time": half_cycle_time, "rest_time": rest_time, "dt": dt,
             "noise": noise, "tau": tau, "offset": offset,
             "short": None if short is None else vars(short),
             "soft_short": None if soft_short is None else vars(soft_short),
             "contact_loss": None if contact_loss is None else vars(contact_loss)}
    return trace_from_arrays(t, i, v, area=area, step=np.concatenate(steps),
                             format="synthetic", metadata={"synthetic": truth})


def _hit(event, level_j: float, cycle: int, half: int) -> bool:
    return (math.isclose(level_j, event.j, rel_tol=1e-6) and cycle == event.cycle
            and half == event.half)


def _erratic(rng: np.random.Generator, n: int, size: float) -> np.ndarray:
    """Random telegraph (partial contacts making and breaking) plus white noise."""
    flips = rng.random(n) < 0.05
    state = np.cumsum(flips) % 2
    return size * (state - 0.5) * 2.0 * rng.random() + rng.normal(0.0, size, n)


# --------------------------------------------------------------------------- writers


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_mpt(trace: CyclingTrace, path: str | os.PathLike) -> Path:
    """Write a trace as an EC-Lab text file (GCPL-like ``.mpt``), atomically.

    Columns ``mode``, ``Ns``, ``time/s``, ``control/mA``, ``Ewe/V``, ``I/mA``, ``half cycle``,
    ``cycle number``; the header states the electrode area.
    """
    path = Path(path)
    names = ["mode", "ox/red", "Ns", "time/s", "control/mA", "Ewe/V", "I/mA", "half cycle",
             "cycle number"]
    area_cm2 = (trace.area or 1e-7) * 1e4
    head = [
        "EC-Lab ASCII FILE", "Nb header lines : {n}", "",
        "Galvanostatic Cycling with Potential Limitation", "",
        "Run on channel : 1 (SN 0000)", "Electrode connection : standard",
        "Acquisition started on : 05/17/2024 09:00:00.000", "Device : synthetic (ionscale)",
        "Electrode material : Li", "Electrolyte : Li3PS4",
        "Comments : ionscale synthetic symmetric cell",
        f"Electrode surface area : {area_cm2:.4f} cm²",
        "Cycle Definition : Charge/Discharge alternance", "",
    ]
    head.append("\t".join(names))
    head[1] = head[1].format(n=len(head))
    i_ma = trace.current * 1e3
    hc = np.maximum(trace.half_cycle, 0)
    data = np.column_stack([
        np.ones(trace.n_points), (trace.current > 0).astype(float), trace.step, trace.time,
        i_ma, trace.potential, i_ma, hc, np.maximum(trace.cycle, 0)])
    tmp = _tmp(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", encoding="latin-1", newline="\r\n") as fh:
        fh.write("\n".join(head) + "\n")
        np.savetxt(fh, data, fmt=["%d", "%d", "%d", "%.4f", "%.7e", "%.7e", "%.7e", "%d", "%d"],
                   delimiter="\t")
    os.replace(tmp, path)
    return path


def write_csv(trace: CyclingTrace, path: str | os.PathLike, *, preset: str = "arbin") -> Path:
    """Write a trace as a cycler CSV export (``arbin``, ``neware`` or ``maccor`` columns)."""
    path = Path(path)
    if preset == "arbin":
        header = "Data_Point,Test_Time(s),Step_Index,Cycle_Index,Current(A),Voltage(V)"
        data = np.column_stack([np.arange(trace.n_points) + 1, trace.time, trace.step,
                                np.maximum(trace.cycle, 0) + 1, trace.current,
                                trace.potential])
        fmt = ["%d", "%.3f", "%d", "%d", "%.7e", "%.7e"]
    elif preset == "neware":
        header = "DataPoint,Cycle Index,Step Index,Total Time,Current(mA),Voltage(V)"
        rows = []
        for k in range(trace.n_points):
            s = trace.time[k]
            hh, rem = divmod(s, 3600.0)
            mm, ss = divmod(rem, 60.0)
            rows.append(f"{k + 1},{max(trace.cycle[k], 0) + 1},{trace.step[k]},"
                        f"{int(hh)}:{int(mm):02d}:{ss:06.3f},{trace.current[k] * 1e3:.7e},"
                        f"{trace.potential[k]:.7e}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp(path)
        tmp.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path
    elif preset == "maccor":
        header = "Rec#\tCyc#\tStep\tTest (Sec)\tAmps\tVolts\tState"
        state = np.where(trace.current > 0, "C", np.where(trace.current < 0, "D", "R"))
        rows = [f"{k + 1}\t{max(trace.cycle[k], 0) + 1}\t{trace.step[k]}\t{trace.time[k]:.3f}\t"
                f"{abs(trace.current[k]):.7e}\t{trace.potential[k]:.7e}\t{state[k]}"
                for k in range(trace.n_points)]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp(path)
        tmp.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path
    else:
        raise ValueError(f"unknown preset {preset!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    with open(tmp, "w", encoding="utf-8") as fh:
        np.savetxt(fh, data, fmt=fmt, delimiter=",", header=header, comments="")
    os.replace(tmp, path)
    return path


#: Resistance R of an impedance measurement of the demo cell with R·A = ASR (Ω).
DEMO_IMPEDANCE_R = DEMO_CELL["asr"] / DEMO_CELL["area"]


def write_cycling_demo(data: Path, rng: np.random.Generator) -> str:
    """Write the demo's plating/stripping file under ``data/cycling`` and return its samples
    (TOML): the seed-004 cell of :data:`DEMO_CELL` (ASR 55 Ω cm², 0.126 cm², short in cycle 3
    at 0.4 mA cm⁻²) with ``cycling.ccd`` and ``cycling.asr`` (against R·A of an impedance
    resistance of the same cell)."""
    folder = Path(data) / "cycling"
    folder.mkdir(parents=True, exist_ok=True)
    trace = symmetric_cell_trace(asr=DEMO_CELL["asr"], area=DEMO_CELL["area"],
                                 levels=DEMO_CELL["levels"], noise=DEMO_CELL["noise"],
                                 short=DEMO_CELL["short"], seed=int(rng.integers(1 << 31)))
    name = "LPS-510MPa-10min_GCPL.mpt"
    write_mpt(trace, folder / name)
    r = DEMO_IMPEDANCE_R
    return f"""
[[samples]]
name = "LPS-510MPa-10min"
description = "Li | Li3PS4 | Li symmetric cell, pellet pressed 10 min at 510 MPa (synthetic, seed 004): ASR 55 Ω cm², short in cycle 3 at 0.4 mA cm⁻²"

[[samples.measurements]]
name = "plating-stripping"
technique = "cycling"
files = ["data/cycling/{name}"]
conditions = {{ area = "0.126 cm^2", temperature = "25 degC" }}

[[samples.analyses]]
method = "cycling.ccd"
label = "Critical current density"
measurements = ["plating-stripping"]

[[samples.analyses]]
method = "cycling.asr"
label = "ASR against impedance R·A"
measurements = ["plating-stripping"]
parameters = {{ impedance_resistance = "{r:.1f} ohm" }}
"""
