"""Galvanostatic cycling files: one entry point for every instrument format.

:func:`read_cycling` reads a chronopotentiometry / galvanostatic-cycling file into a
:class:`~ionscale.cycling.data.CyclingTrace` (SI: s, A, V, m²). The format is detected from the
file's first bytes (:func:`detect_format`) or given by name; :data:`FORMATS` lists them.

==============  =================  ============================================================
format          extensions         kept besides time, current, voltage
==============  =================  ============================================================
biologic-mpr    .mpr               Ns (step), control/mA, half cycle, cycle number, charge
                                   columns, flags (mode, ox/red...), acquisition start (LOG)
biologic-mpt    .mpt, .txt         the same columns when exported, electrode area, technique,
                                   device, settings table, acquisition start
gamry           .dta               CHRONOP (and other ``CURVE`` tables): Pt, Vu, Sig, Ach, the
                                   table number as step, AREA, TAG, DATE/TIME, notes
csv             .csv, .txt, .dat   cycler exports with a column mapping (presets ``arbin``,
                                   ``neware``, ``maccor``, ``biologic``, or ``columns=``):
                                   step, cycle, half cycle, state (Maccor C/D/R signs the
                                   current), times as seconds or ``h:mm:ss`` or dates
==============  =================  ============================================================

The potential is the cell voltage: ``Ecell/V`` or ``Ewe-Ece/V`` when a BioLogic file has it,
else ``Ewe/V``; Gamry ``Vf``. The current keeps the file's sign. The electrode area comes from
the file when it states one (``metadata["area_source"] = "file"``) and is replaced by
``area=``; EC-Lab's default 0.001 cm² is refused by the analyses (it is almost never real). The
half-cycle and cycle indices are derived by one rule for every format
(:mod:`ionscale.cycling.segments`); the instrument's own counters stay in ``trace.extra``.

Large text files are parsed with :func:`numpy.loadtxt` (C speed: about a second per million
rows); a bad row is reported by file, line and column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cycling.data import CyclingTrace, trace_from_arrays
from ..errors import InputError
from ..units import unit_factor
from .text import read_lines, split_line

__all__ = ["CyclingFormat", "FORMATS", "PRESETS", "detect_format", "read_cycling",
           "read_biologic_mpr_trace", "read_biologic_text", "read_gamry_chronop",
           "read_cycling_csv"]

_HEAD = 8192

# --------------------------------------------------------------------------- column roles

#: Column names recognised for each role, in order of preference (case-insensitive).
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "biologic": {
        "time": ("time/s",),
        "current": ("I/mA", "<I>/mA"),
        "potential": ("Ecell/V", "Ewe-Ece/V", "Ewe/V", "<Ewe>/V"),
        "step": ("Ns",),
        "cycle": ("cycle number",),
        "half_cycle": ("half cycle",),
    },
    "arbin": {
        "time": ("Test_Time(s)", "Test Time (s)", "Test Time(s)", "Test_Time (s)"),
        "current": ("Current(A)", "Current (A)", "Current(mA)"),
        "potential": ("Voltage(V)", "Voltage (V)"),
        "step": ("Step_Index", "Step Index"),
        "cycle": ("Cycle_Index", "Cycle Index"),
    },
    "neware": {
        "time": ("Total Time", "Total Time(s)", "Test Time", "Time(h:min:s.ms)", "Realtime"),
        "current": ("Current(mA)", "Current(A)", "Current(uA)", "Current/mA"),
        "potential": ("Voltage(V)", "Voltage/V", "Voltage(mV)"),
        "step": ("Step Index", "Step ID", "Step_Index"),
        "cycle": ("Cycle Index", "Cycle ID", "Cycle_Index"),
    },
    "maccor": {
        "time": ("Test (Sec)", "Test Time (sec)", "TestTime", "Test Time"),
        "current": ("Amps", "Current", "Current (A)"),
        "potential": ("Volts", "Voltage", "Voltage (V)"),
        "step": ("Step",),
        "cycle": ("Cyc#", "Cycle", "Cycle C"),
        "state": ("State", "MD"),
    },
}

#: Generic names tried after the presets.
_GENERIC: dict[str, tuple[str, ...]] = {
    "time": ("time (s)", "time(s)", "time/s", "t (s)", "t/s", "elapsed time (s)",
             "elapsed time", "time", "t"),
    "current": ("current (a)", "current (ma)", "current/a", "current", "i (a)", "i (ma)",
                "i/a", "i"),
    "potential": ("cell voltage (v)", "voltage (v)", "potential (v)", "e (v)", "voltage",
                  "potential", "cell voltage", "v", "e"),
    "step": ("step", "step index", "step_index"),
    "cycle": ("cycle", "cycle index", "cycle_index"),
    "half_cycle": ("half cycle", "half_cycle"),
    "state": ("state",),
}

#: Unit implied by names that carry none.
_IMPLIED = {"amps": "A", "volts": "V", "test (sec)": "s", "test time (sec)": "s",
            "testtime": "s", "test time": "s", "total time": "s", "realtime": "s",
            "time": "s", "t": "s", "elapsed time": "s", "current": "A", "i": "A",
            "voltage": "V", "potential": "V", "cell voltage": "V", "v": "V", "e": "V"}
_TIME_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
               "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0, "h": 3600.0,
               "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0, "ms": 1e-3}
_SI = {"time": "s", "current": "A", "potential": "V"}
#: Common labels converted without pint (whose registry takes a second to build).
_FAST = {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6, "μA": 1e-6, "nA": 1e-9, "V": 1.0,
         "mV": 1e-3, "uV": 1e-6, "µV": 1e-6, "μV": 1e-6, "cm²": 1e-4, "cm2": 1e-4,
         "cm^2": 1e-4, "mm²": 1e-6, "mm2": 1e-6, "mm^2": 1e-6, "m²": 1.0, "m2": 1.0,
         "m^2": 1.0}


def _unit(label: str, si: str) -> float | None:
    """``unit_factor`` with a fast path for the labels cyclers write."""
    f = _FAST.get(label.strip())
    return f if f is not None else unit_factor(label, si)
_UNIT_IN_NAME = re.compile(r"^(?P<name>.*?)\s*(?:\((?P<p>[^()]*)\)|\[(?P<b>[^\]]*)\]|"
                           r"/\s*(?P<s>[^/\s][^/]*))\s*$")


def _unit_label(name: str) -> str | None:
    m = _UNIT_IN_NAME.match(name.strip())
    if not m:
        return None
    unit = m.group("p") or m.group("b") or m.group("s")
    return unit.strip() if unit else None


def _factor(name: str, role: str, file: str, given: str | None = None) -> float:
    """SI factor of a column from the unit its name carries (or ``given``)."""
    label = given if given is not None else _unit_label(name)
    if label is None:
        label = _IMPLIED.get(name.strip().lower())
    if label is None:
        label = _SI[role]
    if role == "time":
        if label.strip().lower() in _TIME_UNITS:
            return _TIME_UNITS[label.strip().lower()]
        if ":" in label or "h:m" in label.lower():
            return 1.0  # h:mm:ss strings, converted when parsed
    f = _unit(label, _SI[role])
    if f is None:
        raise InputError(f"cannot read the unit {label!r} of column {name!r}", file=file,
                         field=name, expected=f"a unit of {role} convertible to {_SI[role]} "
                         "(give units={...})")
    return f


def _find(names: Sequence[str], candidates: Sequence[str]) -> int | None:
    lowered = [n.strip().lower() for n in names]
    for c in candidates:
        c = c.lower()
        if c in lowered:
            return lowered.index(c)
    return None


def resolve_columns(names: Sequence[str], *, columns: Mapping[str, str | int] | None = None,
                    preset: str | None = None, file: str | None = None) -> dict[str, int]:
    """Which column of ``names`` plays each role (``time``, ``current``, ``potential``,
    ``step``, ``cycle``, ``half_cycle``, ``state``).

    ``columns`` maps roles to column names or 0-based indices and wins; then ``preset`` (a
    key of :data:`PRESETS`); then every preset and generic names. Time, current and potential
    are required: a missing one raises :class:`InputError` listing the columns found.
    """
    found: dict[str, int] = {}
    roles = ("time", "current", "potential", "step", "cycle", "half_cycle", "state")
    if columns:
        for role, col in columns.items():
            if role not in roles:
                raise InputError(f"unknown column role {role!r}", file=file, field="columns",
                                 expected=f"roles among {list(roles)}")
            if isinstance(col, int) and not isinstance(col, bool):
                if not -len(names) <= col < len(names):
                    raise InputError(f"column {col} does not exist", file=file, field=role,
                                     expected=f"an index below {len(names)}")
                found[role] = col % len(names)
            else:
                k = _find(names, [str(col)])
                if k is None:
                    raise InputError(f"no column named {col!r}", file=file, field=role,
                                     expected=f"one of {[n for n in names if n]}")
                found[role] = k
    if preset is not None and preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}", file=file, field="preset",
                         expected=f"one of {sorted(PRESETS)}")
    order = ([PRESETS[preset]] if preset else []) + [p for k, p in PRESETS.items()
                                                     if k != preset] + [_GENERIC]
    for role in roles:
        if role in found:
            continue
        for table in order:
            k = _find(names, table.get(role, ()))
            if k is not None and k not in found.values():
                found[role] = k
                break
    for role in ("time", "current", "potential"):
        if role not in found:
            what = {"time": "a time column (e.g. 'time/s', 'Test_Time(s)')",
                    "current": "a current column (e.g. 'I/mA', 'Current(A)', 'Amps')",
                    "potential": "a voltage column (e.g. 'Ewe/V', 'Voltage(V)', 'Volts')"}[role]
            raise InputError(f"no {role} column among {[n for n in names if n]}", file=file,
                             field=role, expected=f"{what}, or columns={{'{role}': ...}}")
    return found


# --------------------------------------------------------------------------- fast numbers

_LOADTXT_ROW = re.compile(r"at row (\d+), column (\d+)")       # 0-based row
_LOADTXT_WIDTH = re.compile(r"changed from (\d+) to (\d+) at row (\d+)")
_LOADTXT_INDEX = re.compile(r"invalid column index \d+ at row (\d+) with (\d+) columns")


def _loadtxt(lines: Sequence[str] | _Block, usecols: Sequence[int], *,
             delimiter: str | None, first_line: int, names: Sequence[str], file: str,
             dtype=float) -> np.ndarray:
    """Numbers of ``usecols`` from text rows (a list of lines, or a :class:`_Block` of the
    file read in C without holding its lines); errors name the file line and column."""
    if isinstance(lines, list) and not lines:
        raise InputError("no data rows", file=file, field="data",
                         expected="rows of numbers after the header")
    source: Any = lines
    skip = 0
    if isinstance(lines, _Block):
        skip = lines.skip
        source = lines.path if not lines.comma else _comma_lines(lines.path)
    try:
        out = np.loadtxt(source, delimiter=delimiter, usecols=list(usecols), dtype=dtype,
                         ndmin=2, comments=None, skiprows=skip, encoding="latin-1",
                         quotechar='"' if delimiter == "," else None)
    except ValueError as exc:
        text = str(exc)
        m = _LOADTXT_ROW.search(text)
        if m:
            row, col = int(m.group(1)), int(m.group(2))
            name = names[usecols[col - 1]] if 0 < col <= len(usecols) else f"column {col}"
            bad = re.search(r"string '([^']*)'", text)
            raise InputError(f"cannot read {bad.group(1) if bad else 'a field'!r} as a number",
                             file=file, field=name, line=first_line + row,
                             expected="a number") from None
        m = _LOADTXT_INDEX.search(text)  # 1-based row
        if m:
            raise InputError(f"row has only {m.group(2)} fields", file=file, field="data",
                             line=first_line + int(m.group(1)) - 1,
                             expected="complete rows (the file may be cut short)") from None
        m = _LOADTXT_WIDTH.search(text)
        if m:
            raise InputError(f"row has {m.group(2)} fields instead of {m.group(1)}", file=file,
                             field="data", line=first_line + int(m.group(3)) - 1,
                             expected="complete rows (the file may be cut short)") from None
        m = re.search(r"row (\d+)", text)
        raise InputError(f"cannot read the data ({text.splitlines()[0]})", file=file,
                         field="data", line=first_line + int(m.group(1)) - 1 if m else None,
                         expected="rows of numbers") from None
    if out.shape[0] == 0:
        raise InputError("no data rows", file=file, field="data", line=first_line,
                         expected="rows of numbers after the header")
    return out


@dataclass(frozen=True)
class _Block:
    """The numeric block of a text file: rows after ``skip`` lines (``comma``: decimal
    commas to turn into points)."""

    path: str
    skip: int
    comma: bool = False


def _comma_lines(path: str):
    with open(path, encoding="latin-1") as fh:
        for line in fh:
            yield line.replace(",", ".")


def _head_lines(path: str, n: int) -> list[str]:
    """The first ``n`` lines of a text file, decoded (UTF-8, else Latin-1), without ends."""
    out: list[str] = []
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                out.append(raw)
                if len(out) >= n:
                    break
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path,
                         expected="a readable text file") from None
    if out and b"\x00" in out[0]:
        raise InputError("the file is binary, not text", file=path,
                         expected="a delimited text file")
    text = b"".join(out)
    try:
        decoded = text.decode("utf-8-sig")
    except UnicodeDecodeError:
        decoded = text.decode("latin-1")
    return decoded.splitlines()


def _decimal_comma(lines: Sequence[str], delimiter: str | None) -> bool:
    if delimiter == ",":
        return False
    sample = [ln for ln in lines[:50] if ln.strip()]
    return bool(sample) and all(re.search(r"\d,\d", ln) for ln in sample) and not any(
        re.search(r"\d\.\d", ln) for ln in sample)


def _parse_times(values: np.ndarray, file: str, name: str, first_line: int) -> np.ndarray:
    """Seconds from ``h:mm:ss(.f)`` / ``d-hh:mm:ss`` strings or dates (relative to the
    first)."""
    v = np.char.strip(values.astype(str))
    if v.size and re.match(r"^\d{4}-\d{2}-\d{2}", v[0]):
        try:
            moments = np.array(np.char.replace(v, " ", "T"), dtype="datetime64[us]")
        except ValueError:
            raise InputError(f"cannot read the dates of column {name!r}", file=file,
                             field=name, line=first_line,
                             expected="ISO dates 'YYYY-MM-DD hh:mm:ss'") from None
        return (moments - moments[0]).astype("timedelta64[us]").astype(float) * 1e-6
    out = np.empty(v.size)
    for k, s in enumerate(v):
        days = 0.0
        if "-" in s[1:] and ":" in s:
            d, _, s = s.partition("-")
            days = float(d)
        parts = s.split(":")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise InputError(f"cannot read {s!r} as a time", file=file, field=name,
                             line=first_line + k,
                             expected="seconds, 'h:mm:ss' or 'YYYY-MM-DD hh:mm:ss'") from None
        secs = 0.0
        for x in nums:
            secs = secs * 60.0 + x
        out[k] = days * 86400.0 + secs
    return out


# --------------------------------------------------------------------------- BioLogic


def _biologic_arrays(cols: Mapping[str, np.ndarray], file: str, names: Sequence[str]
                     ) -> dict[str, Any]:
    roles = resolve_columns(list(names), preset="biologic", file=file)
    out: dict[str, Any] = {}
    for role in ("time", "current", "potential"):
        name = names[roles[role]]
        out[role] = np.asarray(cols[name], dtype=float) * _factor(name, role, file)
    out["step"] = (np.asarray(cols[names[roles["step"]]]).astype(np.int64)
                   if "step" in roles else None)
    keep = ("control/mA", "control/V/mA", "control/V", "half cycle", "cycle number", "ox/red",
            "mode", "Q charge/discharge/mA.h", "(Q-Qo)/mA.h", "(Q-Qo)/C", "Ns", "step time/s",
            "Ece/V", "Temperature/°C")
    out["extra"] = {k: np.asarray(cols[k]) for k in keep if k in cols}
    out["columns_used"] = {r: names[k] for r, k in roles.items()}
    return out


def read_biologic_mpr_trace(path: str | os.PathLike) -> CyclingTrace:
    """Read a BioLogic EC-Lab ``.mpr`` file of a time-domain technique (GCPL, CP, MB...).

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    CyclingTrace
        ``area`` is None: the settings module's area is not decoded (give it to the
        analysis).

    Raises
    ------
    InputError
        As :func:`ionscale.io.biologic_mpr.read_biologic_mpr_columns`, and no current column.
    """
    from .biologic_mpr import read_biologic_mpr_columns

    file = os.fspath(path)
    cols, meta = read_biologic_mpr_columns(file)
    arrays = _biologic_arrays(cols, file, list(cols))
    meta = {**meta, "columns_used": arrays["columns_used"],
            "area_note": "the .mpr settings module is not decoded for the area"}
    return trace_from_arrays(arrays["time"], arrays["current"], arrays["potential"],
                             step=arrays["step"], source=file, format="biologic-mpr",
                             start_time=meta.get("start_time"), extra=arrays["extra"],
                             metadata=meta)


def read_biologic_text(path: str | os.PathLike) -> CyclingTrace:
    """Read a BioLogic EC-Lab text file: ``.mpt``, or an EC-Lab ``.txt`` export with header.

    The second line gives the number of header lines; the last header line names the columns.
    Kept: the electrode area (``Electrode surface area``), technique, device, acquisition
    start, the settings table; columns as :func:`read_biologic_mpr_trace`.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    CyclingTrace

    Raises
    ------
    InputError
        A bad header count, no current (or time, voltage) column, a bad row (by line).
    """
    file = os.fspath(path)
    lines = _head_lines(file, 2)
    if not lines or not re.match(r"^(EC|BT)-Lab ASCII FILE", lines[0].strip()):
        raise InputError(f"the first line is {lines[0][:40] if lines else ''!r}", file=file,
                         field="header", expected="'EC-Lab ASCII FILE'")
    m = re.match(r"^Nb header lines\s*:\s*(\d+)", lines[1].strip()) if len(lines) > 1 else None
    if m is None:
        raise InputError("no 'Nb header lines' on line 2", file=file, field="header", line=2,
                         expected="'Nb header lines : N'")
    nb = int(m.group(1))
    lines = _head_lines(file, nb + 50)
    if nb < 3 or nb >= len(lines):
        raise InputError(f"{nb} header lines announced but the file has {len(lines)} lines",
                         file=file, field="Nb header lines", line=2,
                         expected="a header count within the file (the file may be cut short)")
    names = split_line(lines[nb - 1], "\t")
    head = lines[2:nb - 1]
    info: dict[str, str] = {}
    settings: dict[str, str] = {}
    for ln in head:
        if " : " in ln or ln.rstrip().endswith(" :"):
            key, _, value = ln.partition(":")
            info.setdefault(key.strip(), value.strip())
        elif re.match(r"^\S.*?\s{2,}\S", ln):
            key, value = re.split(r"\s{2,}", ln.strip(), maxsplit=1)
            settings[key] = value.strip()
    technique = next((ln.strip() for ln in head if ln.strip()), None)
    meta: dict[str, Any] = {"instrument": "BioLogic", "technique": technique, "header": info,
                            "settings": settings}
    if "Device" in info:
        meta["device"] = info["Device"]
    area = None
    text = info.get("Electrode surface area")
    if text:
        am = re.match(r"^([-+\d.,eE]+)\s*(\S+)$", text)
        if am:
            factor = _unit(am.group(2), "m^2")
            if factor is not None:
                area = float(am.group(1).replace(",", ".")) * factor
    start = None
    for key in ("Acquisition started on", "Technique started on"):
        if info.get(key):
            from .eis_formats import parse_date

            parts = info[key].split()
            moment, _ = parse_date(parts[0], parts[1] if len(parts) > 1 else None)
            if moment is not None:
                start = moment.isoformat()
                break
    roles = resolve_columns(names, preset="biologic", file=file)
    wanted = sorted({*roles.values(), *[names.index(k) for k in (
        "control/mA", "control/V/mA", "half cycle", "cycle number", "ox/red", "mode",
        "Q charge/discharge/mA.h", "(Q-Qo)/mA.h", "(Q-Qo)/C") if k in names]})
    block = _Block(file, nb, _decimal_comma(lines[nb:], "\t"))
    data = _loadtxt(block, wanted, delimiter="\t", first_line=nb + 1, names=names, file=file)
    cols = {names[c]: data[:, k] for k, c in enumerate(wanted)}
    arrays = _biologic_arrays(cols, file, [names[c] for c in wanted])
    meta["columns_used"] = arrays["columns_used"]
    if area is not None:
        meta["area_source"] = "file"
    return trace_from_arrays(arrays["time"], arrays["current"], arrays["potential"], area=area,
                             step=arrays["step"], source=file, format="biologic-mpt",
                             start_time=start, extra=arrays["extra"], metadata=meta)


# --------------------------------------------------------------------------- Gamry


def read_gamry_chronop(path: str | os.PathLike) -> CyclingTrace:
    """Read a Gamry ``.DTA`` chronopotentiometry file (``TAG CHRONOP``; any file whose
    ``CURVE`` tables have ``T``, ``Vf`` and ``Im`` columns).

    Every ``CURVE``/``CURVEn`` table (not ``OCVCURVE``) is a step, in file order; a table whose
    times restart is shifted to follow the previous one. Kept: ``AREA`` (cm², as
    ``area``), ``TAG``, ``TITLE``, ``DATE``/``TIME``, notes, the header values, the final
    open-circuit voltage of an ``OCVCURVE`` (``metadata["ocv"]``, V).

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    CyclingTrace

    Raises
    ------
    InputError
        No ``CURVE`` table, missing ``T``/``Vf``/``Im`` columns, a table cut short, a bad row.
    """
    file = os.fspath(path)
    lines = read_lines(file)
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first != "EXPLAIN":
        raise InputError(f"the first line is {first[:40]!r}", file=file, field="header",
                         expected="a Gamry .DTA file starting with EXPLAIN")
    header: dict[str, Any] = {}
    labels: dict[str, str] = {}
    tables: list[tuple[str, list[str], list[str], int, list[str]]] = []
    notes: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip() or line.startswith("\t") or line.strip() == "EXPLAIN":
            i += 1
            continue
        parts = line.split("\t")
        key = parts[0].strip()
        kind = parts[1].strip() if len(parts) > 1 else ""
        if kind == "TABLE":
            if i + 2 >= n:
                raise InputError(f"the file ends inside the header of table {key}", file=file,
                                 field=key, line=i + 1, expected="column names and units "
                                 "after TABLE (the file looks cut short)")
            tnames = [s.strip() for s in lines[i + 1].split("\t")[1:]]
            tunits = [s.strip() for s in lines[i + 2].split("\t")[1:]]
            j = i + 3
            while j < n and lines[j].startswith("\t") and lines[j].strip():
                j += 1
            declared = parts[2].strip() if len(parts) > 2 else ""
            rows = lines[i + 3:j]
            if declared.isdigit() and len(rows) < int(declared):
                raise InputError(f"table {key} announces {declared} rows but {len(rows)} "
                                 "follow", file=file, field=key, line=j,
                                 expected="every announced row (the file looks cut short)")
            tables.append((key, tnames, tunits, i + 4, rows))
            i = j
            continue
        if kind == "NOTES":
            count = int(parts[2]) if len(parts) > 2 and parts[2].strip().isdigit() else 0
            notes = [ln.strip() for ln in lines[i + 1:i + 1 + count] if ln.strip()]
            i += 1 + count
            continue
        values = [p.strip() for p in parts[2:]]
        if values:
            try:
                header[key] = float(values[0])
            except ValueError:
                header[key] = values[0]
        else:
            header[key] = kind
        if len(values) >= 2:
            labels[key] = values[-1].replace("&", "")
        i += 1
    curves = [t for t in tables if re.match(r"^CURVE\d*$", t[0].upper())]
    if not curves:
        raise InputError("no CURVE table", file=file, field="CURVE",
                         expected="a chronopotentiometry table CURVE (the file may be cut "
                                  f"short or hold another technique; tables: "
                                  f"{[t[0] for t in tables]})")
    times, currents, volts, steps = [], [], [], []
    extra: dict[str, list[np.ndarray]] = {"Pt": [], "Vu": []}
    t_end = None
    for k, (key, tnames, tunits, first_line, rows) in enumerate(curves):
        idx = {}
        for role, name in (("T", "T"), ("Vf", "Vf"), ("Im", "Im")):
            c = _find(tnames, [name])
            if c is None:
                if role == "Im":
                    raise InputError(f"table {key} has no current column Im", file=file,
                                     field="Im", expected=f"columns T, Vf, Im; found {tnames}")
                raise InputError(f"table {key} has no {name} column", file=file, field=name,
                                 expected=f"columns T, Vf, Im; found {tnames}")
            idx[role] = c
        opt = {nm: _find(tnames, [nm]) for nm in ("Pt", "Vu")}
        use = [idx["T"], idx["Vf"], idx["Im"]] + [c for c in opt.values() if c is not None]
        # rows start with a tab: field 0 is empty, table column c is field c + 1
        data = _loadtxt(rows, [c + 1 for c in use], delimiter="\t", first_line=first_line,
                        names=[""] + tnames, file=file)
        t = data[:, 0] * (_TIME_UNITS.get(tunits[idx["T"]].lower(), 1.0)
                          if idx["T"] < len(tunits) else 1.0)
        if t_end is not None and t.size and t[0] < t_end:
            dt = float(np.median(np.diff(t))) if t.size > 1 else 0.0
            t = t - t[0] + t_end + dt
        if t.size:
            t_end = float(t[-1])
        times.append(t)
        volts.append(data[:, 1])
        currents.append(data[:, 2])
        steps.append(np.full(t.size, k, dtype=np.int64))
        c = 3
        for nm, col in opt.items():
            if col is not None:
                extra[nm].append(data[:, c])
                c += 1
    meta: dict[str, Any] = {"instrument": "Gamry", "technique": header.get("TAG"),
                            "title": header.get("TITLE"), "notes": notes, "header": header,
                            "header_labels": labels, "tables": [t[0] for t in tables]}
    area = None
    if isinstance(header.get("AREA"), float):
        unit = re.search(r"\(([^()]*)\)\s*$", labels.get("AREA", ""))
        factor = _unit(unit.group(1) if unit else "cm^2", "m^2")
        if factor is not None and header["AREA"] > 0:
            area = header["AREA"] * factor
            meta["area_source"] = "file"
    ocv = [t for t in tables if t[0].upper() == "OCVCURVE"]
    if ocv and ocv[0][4]:
        c = _find(ocv[0][1], ["Vf"])
        if c is not None:
            last = split_line(ocv[0][4][-1], "\t")
            try:
                meta["ocv"] = float(last[c])
            except (IndexError, ValueError):
                pass
    start = None
    if "DATE" in header:
        from .eis_formats import parse_date

        moment, _ = parse_date(str(header["DATE"]), str(header.get("TIME", "")) or None)
        start = moment.isoformat() if moment is not None else None
    ex = {k: np.concatenate(v) for k, v in extra.items() if v and len(v) == len(curves)}
    return trace_from_arrays(np.concatenate(times), np.concatenate(currents),
                             np.concatenate(volts), area=area, step=np.concatenate(steps),
                             source=file, format="gamry", start_time=start, extra=ex,
                             metadata=meta)


# --------------------------------------------------------------------------- CSV


def _is_number(text: str) -> bool:
    try:
        float(text.strip('"').replace(",", "."))
        return True
    except ValueError:
        return False


def _sniff(line: str) -> str | None:
    counts = {d: line.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def read_cycling_csv(
    path: str | os.PathLike,
    *,
    columns: Mapping[str, str | int] | None = None,
    units: Mapping[str, str] | None = None,
    preset: str | None = None,
    delimiter: str | None | type(Ellipsis) = ...,
) -> CyclingTrace:
    """Read a cycler's delimited-text export (Arbin, Neware, Maccor, EC-Lab without header...).

    The header row is the first of the first 200 lines that names a time, a current and a
    voltage column (:func:`resolve_columns`); every non-empty line after it is a row.

    Parameters
    ----------
    path : str or PathLike
        The file.
    columns : mapping, optional
        Role -> column name or 0-based index: ``time``, ``current``, ``potential`` (required),
        ``step``, ``cycle``, ``half_cycle``, ``state`` (Maccor ``C``/``D``/``R``: signs an
        unsigned current). E.g. ``{"time": "Test_Time(s)", "current": "Current(A)"}``.
    units : mapping, optional
        Role -> unit label when the column name carries none (``{"current": "mA"}``); names
        such as ``Current(mA)``, ``I/mA``, ``Amps`` carry theirs.
    preset : {"arbin", "neware", "maccor", "biologic"}, optional
        Column names to try first.
    delimiter : str or None, optional
        Forced delimiter (None: whitespace); sniffed from the header row when omitted.

    Returns
    -------
    CyclingTrace

    Raises
    ------
    InputError
        No header row with the three columns (listing what was found), a bad unit, a bad row
        (by line and column).
    """
    file = os.fspath(path)
    lines = _head_lines(file, 260)
    if not any(ln.strip() for ln in lines):
        raise InputError("the file is empty", file=file, field="data",
                         expected="a header row and rows of numbers")
    found = None
    last_error: InputError | None = None
    for h, line in enumerate(lines[:200]):
        if not line.strip():
            continue
        d = _sniff(line) if delimiter is ... else delimiter
        names = split_line(line.lstrip("#").strip(), d)
        if len(names) < 3 or _is_number(names[0]):
            continue
        try:
            roles = resolve_columns(names, columns=columns, preset=preset, file=file)
        except InputError as exc:
            if exc.field in ("columns", "preset"):
                raise
            last_error = exc
            continue
        found = (h, d, names, roles)
        break
    if found is None:
        if last_error is not None:   # a header row lacks a column: say which
            raise last_error
        raise InputError("no header row naming time, current and voltage columns", file=file,
                         field="header", expected="a header row such as "
                         "'Test_Time(s),Current(A),Voltage(V)', or columns={...}")
    h, d, names, roles = found
    rows = [ln for ln in lines[h + 1:] if ln.strip()]
    if not rows:
        raise InputError("no data rows after the header", file=file, field="data",
                         line=h + 1, expected="rows of numbers")
    block = _Block(file, h + 1, _decimal_comma(rows, d))
    units = dict(units or {})
    first = split_line(rows[0].replace(",", ".") if block.comma else rows[0], d)
    numeric, text_roles = [], []
    for role, c in roles.items():
        tok = first[c] if c < len(first) else ""
        try:
            float(tok.strip('"'))
            numeric.append(role)
        except ValueError:
            text_roles.append(role)
    first_line = h + 2
    cols: dict[str, np.ndarray] = {}
    if numeric:
        data = _loadtxt(block, [roles[r] for r in numeric], delimiter=d,
                        first_line=first_line, names=names, file=file)
        cols = {r: data[:, k] for k, r in enumerate(numeric)}
    for role in text_roles:
        cols[role] = _loadtxt(block, [roles[role]], delimiter=d, first_line=first_line,
                              names=names, file=file, dtype=str)[:, 0]
    for role in ("current", "potential"):
        if role in text_roles:
            raise InputError(f"column {names[roles[role]]!r} is not numeric (first row: "
                             f"{first[roles[role]]!r})", file=file, field=names[roles[role]],
                             line=first_line, expected="numbers")
    if "time" in text_roles:
        t = _parse_times(cols["time"], file, names[roles["time"]], first_line)
    else:
        t = cols["time"] * _factor(names[roles["time"]], "time", file, units.get("time"))
    current = cols["current"] * _factor(names[roles["current"]], "current", file,
                                        units.get("current"))
    potential = cols["potential"] * _factor(names[roles["potential"]], "potential", file,
                                            units.get("potential"))
    meta: dict[str, Any] = {"columns_used": {r: names[k] for r, k in roles.items()},
                            "header_line": h + 1, "delimiter": d, "preset": preset}
    extra: dict[str, np.ndarray] = {}
    if "state" in roles:
        state = np.char.upper(np.char.strip(cols["state"].astype(str)))
        extra[names[roles["state"]]] = state
        if np.all(current >= 0):
            sign = np.where(np.char.startswith(state, "D"), -1.0,
                            np.where(np.char.startswith(state, "C"), 1.0, 0.0))
            current = current * sign
            meta["current_sign"] = "from the state column (C +, D -, other 0)"
    for role in ("cycle", "half_cycle"):
        if role in roles and role in cols:
            extra[names[roles[role]]] = cols[role]
    step = None
    if "step" in roles and "step" in cols:
        try:
            step = np.asarray(cols["step"], dtype=float).astype(np.int64)
        except ValueError:
            step = None
    return trace_from_arrays(t, current, potential, step=step, source=file, format="csv",
                             extra=extra, metadata=meta)


# --------------------------------------------------------------------------- dispatch


@dataclass(frozen=True)
class CyclingFormat:
    """One row of :data:`FORMATS`."""

    name: str
    extensions: tuple[str, ...]
    detect: Callable[[bytes, str], bool]
    read: Callable[..., CyclingTrace]
    keeps: tuple[str, ...]


def _text(head: bytes) -> str:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return head.decode("latin-1")


def _is_mpr(head: bytes, path: str) -> bool:
    return head.startswith(b"BIO-LOGIC MODULAR FILE")


def _is_mpt(head: bytes, path: str) -> bool:
    return bool(re.match(r"^(EC|BT)-Lab ASCII FILE", _text(head).lstrip("\ufeff")))


def _is_gamry(head: bytes, path: str) -> bool:
    return _text(head).lstrip("\ufeff").lstrip().startswith("EXPLAIN")


def _is_csv(head: bytes, path: str) -> bool:
    if b"\x00" in head:
        return False
    for line in _text(head).splitlines()[:200]:
        d = _sniff(line)
        names = split_line(line.lstrip("#").strip(), d)
        if len(names) >= 3:
            try:
                resolve_columns(names)
                return True
            except InputError:
                continue
    return False


#: The formats, in the order :func:`detect_format` tries them.
FORMATS: tuple[CyclingFormat, ...] = (
    CyclingFormat("biologic-mpr", (".mpr",), _is_mpr, read_biologic_mpr_trace,
                  ("Ns", "control/mA", "half cycle", "cycle number", "charge columns",
                   "flags", "start_time (LOG module)")),
    CyclingFormat("biologic-mpt", (".mpt", ".txt"), _is_mpt, read_biologic_text,
                  ("Ns", "control/mA", "half cycle", "cycle number", "area", "technique",
                   "device", "settings", "start_time")),
    CyclingFormat("gamry", (".dta",), _is_gamry, read_gamry_chronop,
                  ("Pt", "Vu", "CURVE tables as steps", "AREA", "TAG", "DATE/TIME",
                   "notes", "OCV")),
    CyclingFormat("csv", (".csv", ".txt", ".dat"), _is_csv, read_cycling_csv,
                  ("step", "cycle", "half cycle", "state (Maccor)", "presets: "
                   + ", ".join(PRESETS))),
)
_BY_NAME = {f.name: f for f in FORMATS}


def detect_format(path: str | os.PathLike) -> str:
    """The cycling format of a file, from its first 8 KiB (a name from :data:`FORMATS`).

    Raises
    ------
    InputError
        Missing, empty or unrecognised file.
    """
    file = os.fspath(path)
    if os.path.isdir(file):
        raise InputError("this is a folder", file=file, expected="a cycling file")
    try:
        with open(file, "rb") as fh:
            head = fh.read(_HEAD)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=file,
                         expected="a readable cycling file") from None
    if not head.strip():
        raise InputError("the file is empty", file=file, field="data",
                         expected="a cycling file")
    for fmt in FORMATS:
        if fmt.detect(head, file):
            return fmt.name
    raise InputError("the cycling format is not recognised (no time, current and voltage "
                     "columns found)", file=file, field="format",
                     expected="one of " + ", ".join(_BY_NAME) + " (or give format= and, for "
                     "CSV, columns=)")


def read_cycling(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    area: float | None = None,
    columns: Mapping[str, str | int] | None = None,
    units: Mapping[str, str] | None = None,
    preset: str | None = None,
) -> CyclingTrace:
    """Read a galvanostatic cycling / chronopotentiometry file of any supported format.

    Parameters
    ----------
    path : str or PathLike
        The file (opened read-only).
    format : str, optional
        A name from :data:`FORMATS`; detected when omitted.
    area : float, optional
        Electrode area, m²; replaces the file's (``metadata["area_in_file"]`` keeps it).
    columns, units, preset
        Column mapping of CSV exports (:func:`read_cycling_csv`); giving one implies
        ``format="csv"`` unless ``format`` says otherwise.

    Returns
    -------
    CyclingTrace
        ``metadata["format"]`` names the reader.

    Raises
    ------
    InputError
        Unknown format, missing columns (naming what was found), a malformed row (by line),
        an area that is not positive.

    Examples
    --------
    ::

        trace = read_cycling("LPS_GCPL.mpr", area=0.126e-4)
        trace.n_points, trace.half_cycle.max() + 1
    """
    file = os.fspath(path)
    if not os.path.isfile(file):
        raise InputError("no such file", file=file, expected="an existing file")
    if format is None:
        name = "csv" if (columns or units or preset) else detect_format(file)
    else:
        name = str(format).strip().lower()
        if name not in _BY_NAME:
            raise InputError(f"unknown format {format!r}", file=file, field="format",
                             expected="one of " + ", ".join(_BY_NAME))
    if name == "csv":
        trace = read_cycling_csv(file, columns=columns, units=units, preset=preset)
    else:
        trace = _BY_NAME[name].read(file)
    trace = _with_format(trace, name)
    if area is not None:
        trace = trace.with_area(area)
    return trace


def _with_format(trace: CyclingTrace, name: str) -> CyclingTrace:
    from dataclasses import replace

    meta = dict(trace.metadata)
    meta["format"] = name
    return replace(trace, metadata=meta)

