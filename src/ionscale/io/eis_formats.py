"""Readers of impedance text formats, and the sweep builder every impedance reader shares.

Each ``read_*`` function takes a path and returns a list of
:class:`~ionscale.impedance.data.Spectrum`, one per sweep. The public entry points, the
format table and format detection are in :mod:`ionscale.io.eis`; the BioLogic binary
``.mpr`` reader is :mod:`ionscale.io.biologic_mpr`.

Conventions
-----------
* ``Z'' < 0`` for a capacitive response: columns written as ``-Im(Z)``, ``-Z''`` or
  ``-Zim`` are negated on reading.
* Frequencies in Hz, times in s, temperatures in K, areas in m², DC current in A and DC
  voltage in V (column units are converted with :func:`ionscale.units.unit_factor`).
* ``time`` is measured from ``start_time`` when the file gives a start; a multi-sweep file
  gives each sweep its own ``start_time`` (the file's start plus the time of the sweep's first
  point) so that sweeps sort by time.
* Rows that are not impedance points (frequency, Z' and Z'' all zero: the DC segments of a
  Parstat or EC-Lab sequence) are dropped and counted in ``metadata["dropped_rows"]``.
* A file is split into sweeps by its cycle column (``cycle number``, ``z cycle``,
  ``Segment #``) and, within a cycle, where the frequency jumps back to the start of the
  sweep. Anything else that is not monotonic is an error naming the line.

Every bad file raises :class:`~ionscale.errors.InputError` naming the file, the field and the
line: truncated tables (a row cut short), non-numeric fields, NaN, zero or repeated
frequencies, missing columns.
"""

from __future__ import annotations

import codecs
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..impedance.data import Spectrum, spectrum_from_arrays
from ..units import ZERO_CELSIUS, parse_quantity, unit_factor
from .text import Table, parse_float, read_table, split_line
from .text import read_lines as _read_lines_8bit

__all__ = [
    "text_encoding",
    "decode_text",
    "read_lines",
    "RawColumns",
    "build_spectra",
    "classify_column",
    "temperature_from_name",
    "read_gamry",
    "read_biologic_mpt",
    "read_zplot",
    "read_autolab",
    "read_parstat",
    "read_chi",
    "read_versastudio",
    "read_powersuite",
    "read_novocontrol",
    "read_relaxis",
    "read_csv",
]


# --------------------------------------------------------------------------- encodings

#: Byte-order marks of the wide Unicode encodings (UTF-32 first: its LE mark starts with
#: UTF-16's).
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
              (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def text_encoding(raw: bytes) -> str | None:
    """``utf-16``/``utf-32`` (with a byte-order mark) or their ``-le``/``-be`` forms (without
    one, recognised by the NUL bytes of mostly-ASCII text) for a wide-Unicode text file; None
    for anything else (UTF-8, Latin-1 or binary data).

    Parameters
    ----------
    raw : bytes
        The file's first bytes (a few hundred are enough).

    Examples
    --------
    >>> text_encoding("f,Z',Z''".encode("utf-16"))
    'utf-16'
    >>> text_encoding("f,Z',Z''".encode("utf-16-le"))
    'utf-16-le'
    >>> text_encoding(b"f,Z',Z''") is None
    True
    """
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            return name
    sample = raw[:4096]
    if len(sample) < 8 or b"\x00" not in sample:
        return None

    def nul(part: bytes) -> float:
        return part.count(0) / len(part) if part else 0.0

    n4 = len(sample) // 4 * 4
    q = [nul(sample[k:n4:4]) for k in range(4)]
    if q[3] == 1.0 and q[2] > 0.99 and q[1] > 0.9 and q[0] < 0.05:
        return "utf-32-le"
    if q[0] == 1.0 and q[1] > 0.99 and q[2] > 0.9 and q[3] < 0.05:
        return "utf-32-be"
    n2 = len(sample) // 2 * 2
    even, odd = nul(sample[0:n2:2]), nul(sample[1:n2:2])
    if odd > 0.9 and even < 0.05:
        return "utf-16-le"
    if even > 0.9 and odd < 0.05:
        return "utf-16-be"
    return None


def decode_text(raw: bytes, path: str | os.PathLike | None = None, *,
                partial: bool = False) -> str | None:
    """The text of a UTF-16/UTF-32 file (byte-order mark removed), or None when ``raw`` is
    not wide Unicode (:func:`text_encoding`).

    Parameters
    ----------
    raw : bytes
        The file's bytes.
    path : str or PathLike, optional
        Named in the error message.
    partial : bool
        ``raw`` is only the head of the file: a character cut at its end is dropped.

    Raises
    ------
    InputError
        Bytes that are not valid in the encoding (a file cut in the middle of a character).
    """
    name = text_encoding(raw)
    if name is None:
        return None
    if partial:
        width = 4 if "32" in name else 2
        return raw[:len(raw) // width * width].decode(name, errors="ignore").lstrip("\ufeff")
    try:
        text = raw.decode(name)
    except UnicodeDecodeError as exc:
        raise InputError(f"the bytes from offset {exc.start} are not valid {name} "
                         f"({exc.reason})", file=path, field="encoding",
                         expected=f"a complete {name.upper()} text file (it may be cut short)"
                         ) from None
    return text.lstrip("\ufeff")


def _read_bytes(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path,
                         expected="a readable text file") from None


def read_lines(path: str | os.PathLike) -> list[str]:
    """Lines of a text file: UTF-16 and UTF-32 (with or without a byte-order mark) as well as
    what :func:`ionscale.io.text.read_lines` reads (UTF-8, Latin-1).

    Raises
    ------
    InputError
        A file that cannot be read, binary data, invalid UTF-16/UTF-32.
    """
    text = decode_text(_read_bytes(path), path)
    if text is None:
        return _read_lines_8bit(path)
    if "\x00" in text[:4096]:
        raise InputError("the file is binary, not text", file=path,
                         expected="a delimited text file")
    return text.splitlines()


@contextmanager
def _utf8_path(path: str) -> Iterator[str]:
    """``path`` itself, or for a UTF-16/UTF-32 file a UTF-8 copy in a temporary folder (for
    :func:`ionscale.io.text.read_table`, which reads 8-bit text only); an InputError about the
    copy is re-raised naming ``path``."""
    text = decode_text(_read_bytes(path), path)
    if text is None:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="ionscale-utf8-") as folder:
        copy = os.path.join(folder, os.path.basename(path) or "file.txt")
        with open(copy, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        try:
            yield copy
        except InputError as exc:
            if exc.file != copy:
                raise
            raise InputError(exc.message, file=path, field=exc.field, expected=exc.expected,
                             line=exc.line) from None


# --------------------------------------------------------------------------- sweep builder

@dataclass
class RawColumns:
    """Per-row arrays of one file, in file order, before they are split into sweeps.

    Attributes
    ----------
    frequency, real, imag : ndarray
        Hz and ohm (``imag`` is Z'', negative for a capacitor).
    time : ndarray or None
        s, from the start of the file (or of the acquisition).
    group : ndarray or None
        A label per row (cycle number, segment); a change of label starts a new sweep.
    lines : ndarray or None
        1-based line number of each row in a text file (for messages).
    point_data : dict
        Further per-row arrays kept in ``metadata`` (``dc_voltage`` in V, ``dc_current`` in
        A, ``temperature_points`` in K...).
    """

    frequency: np.ndarray
    real: np.ndarray
    imag: np.ndarray
    time: np.ndarray | None = None
    group: np.ndarray | None = None
    lines: np.ndarray | None = None
    point_data: dict[str, np.ndarray] = field(default_factory=dict)


def _where(lines: np.ndarray | None, i: int) -> tuple[int | None, str]:
    """(line, words) for row ``i``: the file line when known, else the row number."""
    if lines is not None:
        return int(lines[i]), f"line {int(lines[i])}"
    return None, f"row {i + 1}"


def _split_resets(f: np.ndarray) -> list[tuple[int, int]]:
    """Pieces ``(start, stop)`` of a frequency column, cut where a new sweep begins.

    A new sweep begins where the frequency steps against the direction of the current sweep
    and lands within a factor 1.5 of the sweep's first frequency (a repeat of the sweep);
    anything else is left for the monotonicity check to report.
    """
    n = f.size
    starts = [0]
    for i in range(2, n):
        s0 = starts[-1]
        if i - s0 < 3:
            continue
        a, b, c = f[s0], f[s0 + 1], f[i - 1]
        if not all(0 < v < math.inf for v in (a, b, c, f[i])) or a == b:
            continue  # non-finite frequencies are reported by the column checks
        direction = math.copysign(1.0, b - a)
        step = f[i] - c
        if step != 0 and math.copysign(1.0, step) != direction and \
                abs(math.log(f[i] / a)) < math.log(1.5):
            starts.append(i)
    stops = starts[1:] + [n]
    return list(zip(starts, stops, strict=True))


def _check_sweep(raw: RawColumns, idx: np.ndarray, path: str) -> None:
    """Report the first bad point of a sweep by its line: NaN, f <= 0, repeats, reversals."""
    f = raw.frequency[idx]
    for name, arr in (("frequency", f), ("Z'", raw.real[idx]), ("Z''", raw.imag[idx])):
        bad = ~np.isfinite(arr)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            line, where = _where(raw.lines, int(idx[k]))
            raise InputError(f"value {arr[k]} is not a finite number ({where})", file=path,
                             field=name, line=line, expected="finite numbers")
    if np.any(f <= 0):
        k = int(np.flatnonzero(f <= 0)[0])
        line, where = _where(raw.lines, int(idx[k]))
        raise InputError(f"frequency {f[k]:g} Hz ({where})", file=path, field="frequency",
                         line=line, expected="frequencies > 0 Hz")
    step = np.diff(f)
    if np.any(step == 0):
        k = int(np.flatnonzero(step == 0)[0]) + 1
        line, where = _where(raw.lines, int(idx[k]))
        raise InputError(f"frequency {f[k]:g} Hz repeated ({where})", file=path,
                         field="frequency", line=line,
                         expected="distinct frequencies within one sweep")
    if step.size and not (np.all(step > 0) or np.all(step < 0)):
        direction = np.sign(step[0])
        k = int(np.flatnonzero(np.sign(step) != direction)[0]) + 1
        line, where = _where(raw.lines, int(idx[k]))
        raise InputError(
            f"frequencies are not monotonic: {f[k - 1]:g} Hz then {f[k]:g} Hz ({where})",
            file=path, field="frequency", line=line,
            expected="one monotonic sweep per cycle (or a repeat starting near the first "
                     "frequency)")
    if raw.time is not None:
        t = raw.time[idx]
        bad = ~np.isfinite(t)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            line, where = _where(raw.lines, int(idx[k]))
            raise InputError(f"time {t[k]} is not a finite number ({where})", file=path,
                             field="time", line=line, expected="finite times")


def build_spectra(
    raw: RawColumns,
    *,
    path: str | os.PathLike,
    fmt: str,
    start: datetime | None = None,
    temperature: float | None = None,
    temperature_source: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> list[Spectrum]:
    """Split per-row arrays into sweeps and check and sort each into a Spectrum.

    Parameters
    ----------
    raw : RawColumns
        The rows of the file in file order (Hz, ohm, s).
    path : str or PathLike
        The file (named in messages and stored as ``source``).
    fmt : str
        Format name, stored as ``metadata["format"]``.
    start : datetime, optional
        Start of the acquisition; ``time`` is measured from it.
    temperature : float, optional
        K, for every sweep (a per-point ``temperature_points`` array, K, takes precedence).
    temperature_source : str, optional
        Where the temperature came from (header key, column, file name).
    metadata : mapping, optional
        File-level metadata copied into every sweep.

    Returns
    -------
    list of Spectrum
        One per sweep, ``sweep`` set (0, 1...) when there are several, None for one.

    Raises
    ------
    InputError
        No impedance rows, NaN, zero, repeated or non-monotonic frequencies (with the line),
        fewer than 3 points in a sweep.
    """
    file = os.fspath(path)
    n = raw.frequency.size
    meta_file: dict[str, Any] = {"format": fmt}
    meta_file.update(metadata or {})
    keep = ~((raw.frequency == 0) & (raw.real == 0) & (raw.imag == 0))
    dropped = int(n - keep.sum())
    if dropped:
        meta_file["dropped_rows"] = dropped
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        raise InputError("the file has no impedance points (every row has f = Z' = Z'' = 0)"
                         if n else "the file has no impedance points", file=file,
                         field="frequency", expected="rows with a frequency and an impedance")
    # sweeps: runs of one group label, then repeats of the frequency sweep within a run
    runs: list[np.ndarray] = []
    if raw.group is not None:
        g = raw.group[rows]
        cut = np.flatnonzero(g[1:] != g[:-1]) + 1
        runs = np.split(rows, cut)
    else:
        runs = [rows]
    pieces: list[np.ndarray] = []
    for run in runs:
        for a, b in _split_resets(raw.frequency[run]):
            pieces.append(run[a:b])
    temps = raw.point_data.get("temperature_points")
    t_file = raw.time
    multi = len(pieces) > 1
    out = []
    for k, idx in enumerate(pieces):
        _check_sweep(raw, idx, file)
        meta = dict(meta_file)
        meta["n_sweeps"] = len(pieces)
        if raw.lines is not None:
            meta["lines"] = (int(raw.lines[idx[0]]), int(raw.lines[idx[-1]]))
        else:
            meta["rows"] = (int(idx[0]), int(idx[-1]))
        time = None if t_file is None else t_file[idx].astype(float)
        sweep_start = start
        if time is not None and multi:
            offset = float(time[0])
            time = time - offset
            meta["time_offset"] = offset
            if start is not None:
                try:
                    sweep_start = start + timedelta(seconds=offset)
                except (OverflowError, ValueError):
                    raise InputError(f"sweep {k + 1} starts {offset:.4g} s after the file's "
                                     "start, beyond any date", file=file, field="time",
                                     expected="times of a real measurement") from None
        if time is not None and start is None:
            meta["time_origin"] = "start of the file"
        temp = temperature
        source = temperature_source
        if temps is not None:
            tp = temps[idx]
            good = np.isfinite(tp)
            if good.any():
                temp = float(np.mean(tp[good]))
                source = meta_file.get("temperature_column", temperature_source)
                meta["temperature_range"] = (float(np.min(tp[good])), float(np.max(tp[good])))
        if temp is not None:
            meta["temperature_source"] = source
        try:
            spec = spectrum_from_arrays(
                raw.frequency[idx], real=raw.real[idx], imag=raw.imag[idx], time=time,
                start_time=None if sweep_start is None else _iso(sweep_start),
                temperature=temp, source=file, sweep=k if multi else None, metadata=meta)
        except InputError as exc:
            where = f" in sweep {k}" if multi else ""
            raise InputError(exc.message + where, file=file, field=exc.field,
                             expected=exc.expected,
                             line=None if raw.lines is None else int(raw.lines[idx[0]])
                             ) from None
        order = np.argsort(raw.frequency[idx])
        for name, arr in raw.point_data.items():
            spec.metadata[name] = np.asarray(arr)[idx][order]
        out.append(spec)
    return out


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# --------------------------------------------------------------------------- column names

#: column name (lower case, spaces, underscores and dots removed) -> role
_ROLES: dict[str, str] = {}
for _role, _keys in {
    "frequency": ("f", "freq", "frequency", "fr", "frequenz", "freqhz"),
    "angular_frequency": ("omega", "ω", "w", "angularfrequency"),
    "real": ("z'", "zs'", "zre", "zreal", "re(z)", "rez", "real", "realz", "real(z)", "zr",
             "z'(a)", "z1", "re(zs)", "zs'(re)", "zreal(ohm)"),
    "imag": ("z''", 'z"', "zs''", 'zs"', "zim", "zimag", "zimg", "zimaginary", "im(z)", "imz",
             "imag", "imaginary", "imagz", "imag(z)", "zi", "z''(b)", "z2", "im(zs)"),
    "modulus": ("|z|", "zmod", "z", "abs(z)", "absz", "modz", "mod(z)", "zabs", "|zs|"),
    "phase": ("phase", "phase(z)", "zphz", "theta", "theta(z)", "phi", "phasez", "phz",
              "phaseangle"),
    "time": ("time", "t", "elapsedtime", "times", "timesec", "time(sec)"),
    "temperature": ("temp", "temperature", "tk", "tc"),
    "dc_voltage": ("vdc", "<ewe>", "ewe", "potential", "e", "edc", "<e>", "ecell", "voltage"),
    "dc_current": ("idc", "<i>", "i", "current"),
    "cycle": ("cyclenumber", "cycle", "zcycle", "sweep", "segment#", "segment", "cycleno"),
}.items():
    for _k in _keys:
        _ROLES[_k] = _role

_SI_OF_ROLE = {"frequency": "Hz", "angular_frequency": "Hz", "real": "ohm", "imag": "ohm",
               "modulus": "ohm", "time": "s", "dc_voltage": "V", "dc_current": "A"}

_SQUARE = re.compile(r"^(?P<name>.*?)\s*\[(?P<unit>[^\]]*)\]\s*$")
_ROUND = re.compile(r"^(?P<name>.*?)\s*\((?P<unit>[^()]*)\)\s*$")
_SLASH = re.compile(r"^(?P<name>.*?\S)\s*/\s*(?P<unit>[^/()\s][^/()]*)$")
_OHM = re.compile(r"ohms?", re.I)


def _norm_key(text: str) -> str:
    key = re.sub(r"[\s_]+", "", text.lower())
    key = re.sub(r"^data:", "", key)
    return key.rstrip(".").replace("’", "'").replace("′", "'")


def _norm_unit(unit: str) -> str:
    """Spell a unit label so that pint reads it: ``Ohm`` -> ``ohm``, ``Sec`` -> ``s``."""
    u = _OHM.sub("ohm", unit.strip()).replace("Ω", "ohm")
    u = re.sub(r"(?i)^secs?$", "s", u)
    u = re.sub(r"(?i)^vrms$", "V", u)
    return u


def _split_name(text: str) -> list[tuple[str, str | None]]:
    """Candidate ``(name, unit)`` readings of a column header, most specific first."""
    out: list[tuple[str, str | None]] = []
    for rx in (_SQUARE, _SLASH, _ROUND):
        m = rx.match(text)
        if m and m.group("name").strip():
            out.append((m.group("name").strip(), m.group("unit").strip() or None))
    out.append((text, None))
    return out


@dataclass(frozen=True)
class ColumnRole:
    """What a column holds: ``role``, the factor to SI (sign included) and an offset (°C)."""

    role: str
    factor: float = 1.0
    offset: float = 0.0
    unit: str | None = None


def classify_column(name: str, *, file: str | None = None) -> ColumnRole | None:
    """Recognise an impedance column header, with its unit and sign.

    Parameters
    ----------
    name : str
        The header as the file writes it: ``freq/Hz``, ``Freq.[Hz]``, ``Frequency (kHz)``,
        ``Z' (kOhm)``, ``-Im(Z)/Ohm``, ``-Z'' (Ω)``, ``Zim (ohms)``, ``Time(Sec)``...
    file : str, optional
        Named in the error message.

    Returns
    -------
    ColumnRole or None
        ``role`` is one of ``frequency``, ``angular_frequency``, ``real``, ``imag``,
        ``modulus``, ``phase``, ``time``, ``temperature``, ``dc_voltage``, ``dc_current``,
        ``cycle``; ``factor`` converts to Hz, ohm, s, rad, V, A (negative for ``-Z''``
        columns); temperature converts as ``K = factor * value + offset``. None when the
        column is not one of these.

    Raises
    ------
    InputError
        An impedance column whose unit is not an impedance (``ohm cm2``, ``S``).

    Examples
    --------
    >>> classify_column("-Im(Z)/Ohm")
    ColumnRole(role='imag', factor=-1.0, offset=0.0, unit='Ohm')
    >>> classify_column("f / kHz").factor
    1000.0
    """
    text = name.strip().strip('"').strip()
    if not text:
        return None
    for base, unit in _split_name(text):
        key = _norm_key(base)
        sign = 1.0
        if key.startswith("-") and len(key) > 1:
            sign, key = -1.0, key[1:]
        role = _ROLES.get(key)
        if role is None:
            continue
        if unit is not None and role in ("frequency", "angular_frequency") and \
                re.search(r"rad", unit, re.I):
            role = "angular_frequency"
        if role == "angular_frequency":
            factor = 1.0 / (2 * math.pi)
            if unit is not None and not re.search(r"rad", unit, re.I):
                scale = unit_factor(_norm_unit(unit), "Hz")
                factor = factor * (scale if scale is not None else 1.0)
            return ColumnRole("frequency", sign * factor, 0.0, unit)
        if role == "phase":
            factor = 1.0 if unit is None or not re.search(r"rad", unit, re.I) else 180 / math.pi
            return ColumnRole("phase", sign * factor, 0.0, unit)
        if role in ("temperature", "time") and unit is not None:
            kelvin = _temperature_scale(unit)
            if kelvin is not None:
                return ColumnRole("temperature", kelvin[0], kelvin[1], unit)
            if role == "temperature":
                continue
        if role == "temperature":
            return ColumnRole("temperature", 1.0, 0.0, unit)  # no unit: K
        if role == "cycle":
            return ColumnRole("cycle", 1.0, 0.0, unit)
        si = _SI_OF_ROLE[role]
        if unit is None:
            return ColumnRole(role, sign, 0.0, None)
        factor = unit_factor(_norm_unit(unit), si)
        if factor is None:
            if role in ("real", "imag", "modulus") and re.search(r"ohm|Ω|S\b", unit, re.I):
                raise InputError(f"the unit {unit!r} of column {name!r} is not an impedance",
                                 file=file, field=name,
                                 expected="Z in ohm, kOhm, MOhm (not area-normalised)")
            factor = 1.0  # a label such as Z'(a), Theta (Z): not a unit
        return ColumnRole(role, sign * factor, 0.0, unit)
    return None


def _temperature_unit(unit: str) -> str | None:
    """A temperature unit label spelt for pint (``C``, ``deg C``, ``°C`` -> ``degC``)."""
    u = unit.strip().replace("°", "deg").replace(" ", "").lower()
    if u in ("degc", "c", "degreesc", "celsius", "deg", "degcelsius"):
        return "degC"
    if u in ("k", "kelvin"):
        return "K"
    if u in ("degf", "f", "fahrenheit"):
        return "degF"
    return None


def _temperature_scale(unit: str) -> tuple[float, float] | None:
    """``(a, b)`` with ``K = a * value + b`` for a temperature unit label, or None."""
    spelt = _temperature_unit(unit)
    if spelt is None:
        return None
    b = parse_quantity(f"0 {spelt}", "K")
    return parse_quantity(f"1 {spelt}", "K") - b, b


def _kelvin_scale(unit: str, field: str, file: str | None) -> tuple[float, float]:
    scale = _temperature_scale(unit)
    if scale is None:
        raise InputError(f"cannot read the temperature unit {unit!r}", file=file, field=field,
                         expected="K or °C")
    return scale


def kelvin(value: float, unit: str | None, *, field: str, file: str | None = None) -> float:
    """A temperature in ``unit`` (``C``, ``deg C``, ``°C``, ``K``; None: K) in K.

    The conversion is :func:`ionscale.units.parse_quantity`.

    Examples
    --------
    >>> round(kelvin(25, "deg C", field="Temp"), 2)
    298.15
    """
    if unit is None:
        return float(value)
    spelt = _temperature_unit(unit)
    if spelt is None:
        raise InputError(f"cannot read the temperature unit {unit!r}", file=file, field=field,
                         expected="K or °C")
    return parse_quantity(f"{float(value)!r} {spelt}", "K", field=field, file=file)


_NAME_TEMPERATURE = re.compile(
    r"(?<![A-Za-z0-9.])(?P<num>-?\d+(?:[.p]\d+)?)\s?(?P<unit>°C|degC|deg|C|K)(?![A-Za-z])")


def temperature_from_name(path: str | os.PathLike) -> float | None:
    """A temperature written in a file name, K, or None.

    ``s04147-160deg.txt`` -> 433.15 K, ``PEIS_-25C.mpr`` -> 248.15 K, ``cell_300K.csv`` ->
    300 K. ``deg``/``°C``/``degC`` are °C at any value; a bare ``C`` or ``K`` needs at least two
    digits (``2C`` is a C-rate, not 2 °C).

    Examples
    --------
    >>> round(temperature_from_name("s04147-160deg.txt"), 2)
    433.15
    >>> temperature_from_name("Circuit1_EIS_1.z") is None
    True
    """
    stem = Path(path).stem
    for m in _NAME_TEMPERATURE.finditer(stem):
        value = float(m.group("num").replace("p", "."))
        unit = m.group("unit")
        if unit in ("C", "K") and abs(value) < 10:
            continue
        k = value if unit == "K" else value + ZERO_CELSIUS
        if k > 0:
            return k
    return None


# --------------------------------------------------------------------------- dates

_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}


def parse_date(date: str, time: str | None = None, *,
               order: str = "MDY") -> tuple[datetime | None, str | None]:
    """A ``datetime`` from instrument date and time strings, and the date order used.

    Numeric dates (``4/23/2018``, ``10-12-2018``, ``15.05.25``) are read month first
    (``order="MDY"``, the instruments' US default) unless the first number cannot be a month
    (``23/4/2018`` is then read day first); written months (``Feb. 20, 2020``, ``Thursday,
    July 19, 2018``) are read as written. Times may have fractions of seconds and AM/PM.

    Returns
    -------
    (datetime or None, str or None)
        None when the text is not a date.
    """
    text = date.strip()
    d = None
    used = None
    m = re.match(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})$", text)
    if m:
        a, b, c = (int(x) for x in m.groups())
        if a > 31:  # ISO: year first
            y, mo, da, used = a, b, c, "YMD"
        elif order == "DMY" or a > 12:
            da, mo, y, used = a, b, c, "DMY"
        else:
            mo, da, y, used = a, b, c, "MDY"
        if y < 100:
            y += 2000
        try:
            d = datetime(y, mo, da)
        except ValueError:
            return None, None
    else:
        words = re.findall(r"[A-Za-z]+|\d+", text)
        month = next((_MONTHS[w[:3].lower()] for w in words if w[:3].lower() in _MONTHS
                      and len(w) >= 3), None)
        nums = [int(w) for w in words if w.isdigit()]
        if month is None or len(nums) < 2:
            return None, None
        day, year = nums[0], nums[-1]
        try:
            d = datetime(year, month, day)
        except ValueError:
            return None, None
        used = "written month"
    if time:
        t = re.match(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*([AaPp][Mm])?\s*$", time)
        if t is None:
            return d, used
        hh, mm = int(t.group(1)), int(t.group(2))
        ss = int(t.group(3) or 0)
        frac = float(t.group(4) or 0.0)
        ampm = (t.group(5) or "").lower()
        if ampm == "pm" and hh < 12:
            hh += 12
        if ampm == "am" and hh == 12:
            hh = 0
        try:
            d = d.replace(hour=hh, minute=mm, second=ss) + timedelta(
                microseconds=round(frac * 1e6))
        except ValueError:
            return d, used
    return d, used


# --------------------------------------------------------------------------- tables

def _numbers(fields: Sequence[str], line: int, names: Sequence[str], path: str,
             wanted: Sequence[int]) -> list[float]:
    out = []
    for j in wanted:
        tok = fields[j].strip()
        value = parse_float(tok, decimal_comma=True)
        if value is None:
            raise InputError(f"cannot read {tok!r} as a number", file=path, field=names[j],
                             line=line, expected="a number")
        out.append(value)
    return out


_TOKEN = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE](?P<exp>[-+]?\d*))?$")


def _token_shape(tok: str) -> tuple[bool, int, bool] | None:
    """(has exponent, exponent digits, has decimal point) of a number token, or None."""
    m = _TOKEN.match(tok)
    if m is None:
        return None
    exp = m.group("exp")
    return exp is not None, len((exp or "").lstrip("+-")), "." in tok or "," in tok


def check_not_cut(path: str, lines: Sequence[str]) -> None:
    """Raise when a text file ends inside a number.

    A file whose last byte is not a line end and whose last value is written unlike the value
    above it (``-5.46`` under ``-5.46635e+05``, ``1.2e+0`` under ``1.5e+05``) was cut in the
    middle of that value: the digits that are left still read as a (wrong) number.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            last_byte = fh.read(1)
    except OSError:
        return
    if text_encoding(head) is not None:
        # the last character of a UTF-16/UTF-32 file, whatever its byte order
        text = decode_text(_read_bytes(path), path) or ""
        if text.endswith(("\n", "\r")):
            return
    elif last_byte in (b"\n", b"\r"):
        return
    content = [(i, ln) for i, ln in enumerate(lines, start=1) if ln.strip()]
    if len(content) < 2:
        return
    split = re.compile(r"[\s,;]+")
    n, last = content[-1]
    b = split.split(last.strip())
    above = [split.split(ln.strip()) for _, ln in content[-6:-1]]
    above = [a for a in above if len(a) == len(b) and _token_shape(a[-1]) is not None]
    sb = _token_shape(b[-1])
    if sb is None and above and parse_float(b[-1]) is None:
        raise InputError(f"the last value {b[-1]!r} is not a number and the file has no final "
                         "line end", file=path, field="data", line=n,
                         expected="a complete file (it looks cut short)")
    if not above or sb is None or len(split.split(content[-2][1].strip())) != len(b):
        return  # a short row: the table readers report it with its width
    a = above[-1][-1]
    sa = _token_shape(a)
    fewer = _digits(b[-1]) < min(_digits(x[-1]) for x in above) - 1
    if sa[0] != sb[0] or (sa[0] and sa[1] != sb[1]) or (sa[2] and not sb[2]) or fewer:
        raise InputError(f"the last value {b[-1]!r} is written unlike {a!r} above it and "
                         "the file has no final line end", file=path, field="data", line=n,
                         expected="a complete file (it looks cut short in the middle of a "
                                  "number)")


def _digits(tok: str) -> int:
    """Significant digits written in a number token (mantissa only)."""
    mantissa = re.split(r"[eE]", tok)[0]
    digits = re.sub(r"\D", "", mantissa).lstrip("0")
    return max(len(digits), 1)


def _parse_block(rows: Sequence[tuple[int, list[str]]], names: Sequence[str], path: str,
                 wanted: Sequence[int]) -> np.ndarray:
    """Float array of the ``wanted`` columns; a row of another width is reported by line."""
    width = len(names)
    out = np.empty((len(rows), len(wanted)))
    for r, (line, fields) in enumerate(rows):
        if len(fields) != width:
            cut = " (the file looks cut short)" if r == len(rows) - 1 else ""
            raise InputError(f"row has {len(fields)} fields but the table has {width}{cut}",
                             file=path, field="data", line=line,
                             expected=f"{width} fields on every row")
        out[r] = _numbers(fields, line, names, path, wanted)
    return out


def _columns_from_roles(names: Sequence[str], path: str) -> dict[str, tuple[int, ColumnRole]]:
    found: dict[str, tuple[int, ColumnRole]] = {}
    for j, name in enumerate(names):
        role = classify_column(name, file=path)
        if role is not None and role.role not in found:
            found[role.role] = (j, role)
    return found


def raw_from_named(data: np.ndarray, names: Sequence[str], path: str,
                   lines: np.ndarray | None, *, group_column: bool = True
                   ) -> tuple[RawColumns, dict[str, Any]]:
    """Impedance arrays from a table whose columns are named (units and signs from names).

    Parameters
    ----------
    data : ndarray, shape (n_rows, n_columns)
        The numbers.
    names : sequence of str
        Column headers.
    path : str
        The file (for messages).
    lines : ndarray or None
        1-based line numbers of the rows.
    group_column : bool
        Whether a cycle/segment column splits sweeps.

    Returns
    -------
    (RawColumns, dict)
        The arrays and the metadata on the columns used.
    """
    found = _columns_from_roles(names, path)
    meta: dict[str, Any] = {"columns": list(names)}
    if "frequency" not in found:
        raise InputError("no frequency column", file=path, field="frequency",
                         expected="a column named like freq/Hz, Frequency (Hz), f, Freq.[Hz]; "
                                  f"found {list(names)}")

    def col(role: str) -> np.ndarray:
        j, r = found[role]
        return data[:, j] * r.factor + r.offset

    f = col("frequency")
    if "real" in found and "imag" in found:
        re_, im_ = col("real"), col("imag")
    elif "modulus" in found and "phase" in found:
        phi = np.deg2rad(col("phase"))
        mod = col("modulus")
        re_, im_ = mod * np.cos(phi), mod * np.sin(phi)
        meta["impedance_from"] = "modulus and phase"
    else:
        missing = "Z'" if "real" not in found else "Z''"
        raise InputError(f"no {missing} column", file=path, field=missing,
                         expected="columns named like Z', Re(Z)/Ohm, Zre and Z'', "
                                  f"-Im(Z)/Ohm, Zim (or |Z| and phase); found {list(names)}")
    meta["column_roles"] = {role: names[j] for role, (j, _) in found.items()}
    time = col("time") if "time" in found else None
    if time is not None and (not np.all(np.isfinite(time)) or np.ptp(time) == 0):
        if np.all(np.isfinite(time)):
            meta["time_ignored"] = "the time column is constant"
            time = None
    point_data = {}
    for role in ("dc_voltage", "dc_current"):
        if role in found:
            point_data[role] = col(role)
    if "temperature" in found:
        point_data["temperature_points"] = col("temperature")
        meta["temperature_column"] = f"column {names[found['temperature'][0]]!r}"
    group = col("cycle") if group_column and "cycle" in found else None
    raw = RawColumns(frequency=f, real=re_, imag=im_, time=time, group=group, lines=lines,
                     point_data=point_data)
    return raw, meta


def _raw_from_table(table: Table, path: str) -> tuple[RawColumns, dict[str, Any]]:
    if not table.has_header:
        if table.data.shape[1] == 3:
            raw = RawColumns(frequency=table.data[:, 0], real=table.data[:, 1],
                             imag=table.data[:, 2], lines=table.lines)
            return raw, {"columns": ["f/Hz", "Z'/ohm", "Z''/ohm"],
                         "columns_assumed": "no header: f (Hz), Z' (ohm), Z'' (ohm)"}
        raise InputError(f"the file has {table.data.shape[1]} columns but no header row naming "
                         "them", file=path, field="columns",
                         expected="a header row (freq, Z', Z''...) or exactly three columns "
                                  "f, Z', Z''")
    return raw_from_named(table.data, table.columns, path, table.lines)


def _filename_temperature(path: str, temperature: float | None,
                          source: str | None) -> tuple[float | None, str | None]:
    if temperature is not None:
        return temperature, source
    t = temperature_from_name(path)
    if t is None:
        return None, None
    return t, "file name"


def _read_generic(path: str | os.PathLike, fmt: str, *,
                  extra_meta: Mapping[str, Any] | None = None,
                  start: datetime | None = None,
                  temperature: float | None = None,
                  temperature_source: str | None = None,
                  delimiter: str | None | type[Ellipsis] = ...) -> list[Spectrum]:
    file = os.fspath(path)
    check_not_cut(file, read_lines(file))
    with _utf8_path(file) as readable:
        table = replace(read_table(readable, delimiter=delimiter), path=file)
    raw, meta = _raw_from_table(table, file)
    meta["header_lines"] = list(table.header)
    meta.update(extra_meta or {})
    temperature, temperature_source = _filename_temperature(file, temperature,
                                                            temperature_source)
    return build_spectra(raw, path=file, fmt=fmt, start=start, temperature=temperature,
                         temperature_source=temperature_source, metadata=meta)


# --------------------------------------------------------------------------- Gamry .DTA

@dataclass
class _GamryTable:
    name: str
    names: list[str]
    units: list[str]
    rows: list[tuple[int, list[str]]]
    declared: int | None


def _gamry_parse(path: str) -> tuple[dict[str, Any], dict[str, str], list[_GamryTable],
                                     list[str]]:
    lines = read_lines(path)
    check_not_cut(path, lines)
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first != "EXPLAIN":
        raise InputError(f"the first line is {first[:40]!r}", file=path, field="header",
                         expected="a Gamry .DTA file starting with EXPLAIN")
    header: dict[str, Any] = {}
    labels: dict[str, str] = {}
    tables: list[_GamryTable] = []
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
                raise InputError(f"the file ends inside the header of table {key}",
                                 file=path, field=key, line=i + 1,
                                 expected="a column-name row and a unit row after TABLE "
                                          "(the file looks cut short)")
            names = [s.strip() for s in lines[i + 1].split("\t")[1:]]
            units = [s.strip() for s in lines[i + 2].split("\t")[1:]]
            declared = int(parts[2]) if len(parts) > 2 and parts[2].strip().isdigit() else None
            rows = []
            j = i + 3
            while j < n:
                fields = _gamry_row(lines[j], len(names))
                if fields is None:
                    break
                rows.append((j + 1, fields))
                j += 1
            # a number row right after the table that could not be read as one of its rows
            # is an error, never a header entry that silently takes the point away
            k = j
            while k < n and not lines[k].strip():
                k += 1
            if k < n and rows and _ROW_START.match(lines[k]):
                raise InputError(f"line {k + 1} after table {key} holds numbers that do not "
                                 f"split into its {len(names)} columns: "
                                 f"{lines[k].strip()[:60]!r}", file=path, field=key,
                                 line=k + 1, expected=f"{len(names)} tab- or space-separated "
                                                      "numbers per row")
            if declared is not None and len(rows) < declared:
                raise InputError(f"table {key} announces {declared} rows but {len(rows)} follow",
                                 file=path, field=key, line=j if j < n else n,
                                 expected="every announced row (the file looks cut short)")
            tables.append(_GamryTable(key, names, units, rows, declared))
            i = j
            continue
        if kind == "NOTES":
            count = int(parts[2]) if len(parts) > 2 and parts[2].strip().isdigit() else 0
            notes = [ln.strip() for ln in lines[i + 1:i + 1 + count] if ln.strip()]
            i += 1 + count
            continue
        values = [p.strip() for p in parts[2:]]
        label = values[-1] if len(values) >= 2 else ""
        if kind in ("QUANT", "IQUANT", "POTEN"):
            # Gamry writes the decimal mark of the PC's locale: 0,5 as well as 0.5
            v = parse_float(values[0], decimal_comma=True) if values else None
            header[key] = v if v is not None else (values[0] if values else "")
        elif kind == "TOGGLE":
            header[key] = values[0] == "T" if values else None
        elif kind == "TWOPARAM" and len(values) >= 3:
            header[key] = (values[0] == "T", parse_float(values[1], decimal_comma=True),
                           parse_float(values[2], decimal_comma=True))
        else:
            header[key] = values[0] if values else (kind if len(parts) == 2 else "")
        if label:
            labels[key] = label.replace("&", "")
        i += 1
    return header, labels, tables, notes


#: The start of a line that holds a table row: optional blanks, then a number.
_ROW_START = re.compile(r"^[ \t]*[-+]?(?:\d|\.\d)")


def _gamry_row(line: str, width: int) -> list[str] | None:
    """The fields of a Gamry table row, or None when ``line`` is not one (the table ends).

    Gamry writes a tab, then tab-separated fields; rows edited or exported by other software
    may be space-separated (with or without the leading tab). Space-separated fields are
    accepted when the row does not split on tabs into the table's width.
    """
    if not _ROW_START.match(line) and not line.startswith("\t"):
        return None
    body = line.rstrip("\r\n")
    if body.startswith("\t"):
        body = body[1:]
    fields = body.split("\t")
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        fields = fields[:width]  # trailing tabs
    if len(fields) != width:
        spaced = body.split()
        if len(spaced) == width or len(fields) == 1:
            return spaced
    return fields


def _label_unit(label: str) -> str | None:
    m = re.search(r"\(([^()]*)\)\s*$", label)
    return m.group(1).strip() if m else None


def _gamry_column(table: _GamryTable, *names: str) -> int | None:
    lowered = [c.lower() for c in table.names]
    for nm in names:
        if nm.lower() in lowered:
            return lowered.index(nm.lower())
    return None


def _gamry_temperature(tables: list[_GamryTable], header: Mapping[str, Any],
                       labels: Mapping[str, str], path: str
                       ) -> tuple[float | None, str | None]:
    for key, value in header.items():
        if re.match(r"^TEMP", key) and isinstance(value, float):
            unit = _label_unit(labels.get(key, "")) or "C"
            try:
                return kelvin(value, unit, field=key, file=path), f"header {key}"
            except InputError:
                continue
    for tab in tables:
        j = _gamry_column(tab, "Temp")
        if j is None or not tab.rows:
            continue
        unit = tab.units[j] if j < len(tab.units) else "deg C"
        vals = []
        for _, fields in tab.rows:
            if j < len(fields):
                v = parse_float(fields[j].strip(), decimal_comma=True)
                if v is not None and v > -273.0:  # Gamry writes -327.67 without a probe
                    vals.append(v)
        if vals:
            k = kelvin(float(np.mean(vals)), unit or "deg C", field="Temp", file=path)
            return k, f"{tab.name} Temp column (mean)"
    return None, None


def read_gamry(path: str | os.PathLike, *, drift_corrected: bool = False) -> list[Spectrum]:
    """Read a Gamry ``.DTA`` impedance file (potentiostatic EISPOT or galvanostatic GALVEIS).

    Every ``ZCURVE`` table is a sweep. An aborted run (``EXPERIMENTABORTED T``) keeps the
    points that were measured. Kept: ``DATE``/``TIME`` (``start_time``), the ``Time`` of each
    point (s), ``Idc``/``Vdc`` per point (``metadata["dc_current"]``, A;
    ``["dc_voltage"]``, V), ``AREA`` (``metadata["area"]``, m²), the DC and AC settings,
    notes, and a temperature from a ``TEMP`` header entry or a ``Temp`` column when a probe
    was connected. Header numbers written with a decimal comma (``0,5``) are read as numbers.

    Files measured with drift correction hold two impedances: the measured ``Zreal``/``Zimag``
    and the drift-corrected ``ZrealDrCor``/``ZimagDrCor``. Both are kept: the one chosen by
    ``drift_corrected`` is the spectrum's impedance, the other is
    ``metadata["impedance_drift_corrected"]`` (or ``["impedance_measured"]``; complex, ohm,
    sorted like the spectrum), and ``metadata["impedance_columns"]`` names the columns used.

    Parameters
    ----------
    path : str or PathLike
        The ``.DTA`` file.
    drift_corrected : bool
        Use the drift-corrected columns (an :class:`InputError` when the file has none);
        default: the measured ``Zreal``/``Zimag``.

    Returns
    -------
    list of Spectrum

    Examples
    --------
    ::

        (s,) = read_gamry("exampleDataGamry.DTA")
        s.start_time   # '2018-04-23T16:43:15'
    """
    file = os.fspath(path)
    header, labels, tables, notes = _gamry_parse(file)
    zt = [t for t in tables if t.name.upper().startswith("ZCURVE")]
    if not zt:
        raise InputError("no ZCURVE table", file=file, field="ZCURVE",
                         expected="an impedance table (the file may be cut short or hold "
                                  "another technique)")
    meta: dict[str, Any] = {"instrument": "Gamry", "technique": header.get("TAG"),
                            "title": header.get("TITLE"), "notes": notes,
                            "aborted": bool(header.get("EXPERIMENTABORTED", False)),
                            "header": dict(header), "header_labels": dict(labels)}
    tag = str(header.get("TAG", ""))
    meta["mode"] = "galvanostatic" if "GALV" in tag.upper() else "potentiostatic"
    if isinstance(header.get("AREA"), float):
        unit = _label_unit(labels.get("AREA", "")) or "cm^2"
        factor = unit_factor(unit, "m^2")
        if factor is not None:
            meta["area"] = header["AREA"] * factor
    for key, name in (("PSTAT", "potentiostat"), ("VDC", "dc_voltage_setting"),
                      ("IDC", "dc_current_setting"), ("VAC", "ac_voltage_setting"),
                      ("IAC", "ac_current_setting"), ("EOC", "open_circuit_voltage")):
        if key in header:
            meta[name] = header[key]
    start, order = (None, None)
    if "DATE" in header:
        start, order = parse_date(str(header["DATE"]), str(header.get("TIME", "")) or None)
        meta["date_order"] = order
    temperature, tsource = _gamry_temperature(zt + [t for t in tables if t not in zt],
                                              header, labels, file)
    temperature, tsource = _filename_temperature(file, temperature, tsource)
    out: list[Spectrum] = []
    groups = []
    arrays = []
    for k, tab in enumerate(zt):
        need = {"Freq": _gamry_column(tab, "Freq"), "Zreal": _gamry_column(tab, "Zreal"),
                "Zimag": _gamry_column(tab, "Zimag")}
        for nm, j in need.items():
            if j is None:
                raise InputError(f"table {tab.name} has no {nm} column", file=file, field=nm,
                                 expected=f"columns Freq, Zreal, Zimag; found {tab.names}")
        if not tab.rows:
            raise InputError(f"table {tab.name} has no rows", file=file, field=tab.name,
                             expected="measured points (the file may be cut short)")
        for line, fields in tab.rows:
            empty = [j for j, s in enumerate(fields) if not s.strip()]
            if empty and len(fields) == len(tab.names):
                raise InputError(f"empty field in column {tab.names[empty[0]]} (the file "
                                 "looks cut short)", file=file, field=tab.names[empty[0]],
                                 line=line, expected="a number in every column")
        drift = {nm: _gamry_column(tab, nm) for nm in ("ZrealDrCor", "ZimagDrCor")}
        missing = [nm for nm, j in drift.items() if j is None]
        if drift_corrected and missing:
            raise InputError(f"table {tab.name} has no {missing[0]} column, so no "
                             "drift-corrected impedance", file=file, field=missing[0],
                             expected="columns ZrealDrCor and ZimagDrCor (a run measured with "
                                      f"drift correction), or drift_corrected=False; found "
                                      f"{tab.names}")
        opt = {nm: _gamry_column(tab, nm) for nm in ("Time", "Idc", "Vdc", "Temp")}
        if not missing:
            opt.update(drift)
        wanted = [need["Freq"], need["Zreal"], need["Zimag"]] + [
            j for j in opt.values() if j is not None]
        data = _parse_block(tab.rows, tab.names, file, wanted)
        cols = {"Freq": data[:, 0], "Zreal": data[:, 1], "Zimag": data[:, 2]}
        c = 3
        for nm, j in opt.items():
            if j is not None:
                cols[nm] = data[:, c]
                c += 1
        units = dict(zip(tab.names, tab.units, strict=False))

        def scaled(nm: str, si: str, cols=cols, units=units) -> np.ndarray:
            factor = unit_factor(_norm_unit(units.get(nm, "") or si), si) or 1.0
            return cols[nm] * factor

        point_data = {}
        if "Idc" in cols:
            point_data["dc_current"] = scaled("Idc", "A")
        if "Vdc" in cols:
            point_data["dc_voltage"] = scaled("Vdc", "V")
        if "Temp" in cols:
            a, b = _kelvin_scale(units.get("Temp") or "deg C", "Temp", file)
            tk = np.where(cols["Temp"] > -273.0, a * cols["Temp"] + b, np.nan)
            if np.isfinite(tk).any():
                point_data["temperature_points"] = tk
                meta["temperature_column"] = f"{tab.name} Temp column"
        used, other = ("Zreal", "Zimag"), None
        if not missing:
            used, other = ("Zreal", "Zimag"), ("ZrealDrCor", "ZimagDrCor")
            if drift_corrected:
                used, other = other, used
            key = "impedance_measured" if drift_corrected else "impedance_drift_corrected"
            point_data[key] = scaled(other[0], "ohm") + 1j * scaled(other[1], "ohm")
        meta["impedance_columns"] = used
        raw = RawColumns(frequency=scaled("Freq", "Hz"), real=scaled(used[0], "ohm"),
                         imag=scaled(used[1], "ohm"),
                         time=scaled("Time", "s") if "Time" in cols else None,
                         lines=np.array([ln for ln, _ in tab.rows]), point_data=point_data)
        arrays.append(raw)
        groups.append(np.full(len(tab.rows), k))
        if tab.declared is not None and tab.declared != len(tab.rows):
            meta.setdefault("points_declared", {})[tab.name] = tab.declared
    if len(arrays) == 1:
        raw = arrays[0]
    else:
        keys = set.intersection(*(set(a.point_data) for a in arrays))
        raw = RawColumns(
            frequency=np.concatenate([a.frequency for a in arrays]),
            real=np.concatenate([a.real for a in arrays]),
            imag=np.concatenate([a.imag for a in arrays]),
            time=None if any(a.time is None for a in arrays) else np.concatenate(
                [a.time for a in arrays]),
            group=np.concatenate(groups), lines=np.concatenate([a.lines for a in arrays]),
            point_data={k: np.concatenate([a.point_data[k] for a in arrays]) for k in keys})
    out = build_spectra(raw, path=file, fmt="gamry", start=start, temperature=temperature,
                        temperature_source=tsource, metadata=meta)
    return out


# --------------------------------------------------------------------------- BioLogic .mpt

#: EC-Lab column names -> (metadata key, SI unit, factor)
BIOLOGIC_POINT_COLUMNS = {
    "<Ewe>/V": ("dc_voltage", 1.0),
    "Ewe/V": ("dc_voltage", 1.0),
    "<I>/mA": ("dc_current", 1e-3),
    "I/mA": ("dc_current", 1e-3),
}


def biologic_spectra(columns: Mapping[str, np.ndarray], *, path: str, fmt: str,
                     lines: np.ndarray | None, start: datetime | None,
                     metadata: Mapping[str, Any]) -> list[Spectrum]:
    """Spectra from EC-Lab columns (``freq/Hz``, ``Re(Z)/Ohm``, ``-Im(Z)/Ohm``...).

    Shared by the ``.mpt`` text and ``.mpr`` binary readers. Sweeps are split on
    ``z cycle`` (when present) or ``cycle number``.
    """
    missing = [c for c in ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm") if c not in columns]
    if missing:
        raise InputError(f"column {missing[0]!r} is missing", file=path, field=missing[0],
                         expected="EC-Lab impedance columns freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm; "
                                  f"found {list(columns)}")
    meta = dict(metadata)
    point_data = {}
    for name, (key, factor) in BIOLOGIC_POINT_COLUMNS.items():
        if name in columns and key not in point_data:
            point_data[key] = np.asarray(columns[name], float) * factor
    temperature, tsource = None, None
    tcol = next((c for c in columns if c.lower().startswith("temperature/")), None)
    if tcol is not None:
        unit = tcol.split("/", 1)[1]
        a, b = _kelvin_scale(unit, tcol, path)
        point_data["temperature_points"] = a * np.asarray(columns[tcol], float) + b
        meta["temperature_column"] = f"column {tcol!r}"
    temperature, tsource = _filename_temperature(path, temperature, tsource)
    group = None
    for name in ("z cycle", "cycle number"):
        if name in columns:
            group = np.asarray(columns[name], float)
            meta["sweep_column"] = name
            break
    raw = RawColumns(frequency=np.asarray(columns["freq/Hz"], float),
                     real=np.asarray(columns["Re(Z)/Ohm"], float),
                     imag=-np.asarray(columns["-Im(Z)/Ohm"], float),
                     time=np.asarray(columns["time/s"], float) if "time/s" in columns else None,
                     group=group, lines=lines, point_data=point_data)
    return build_spectra(raw, path=path, fmt=fmt, start=start, temperature=temperature,
                         temperature_source=tsource, metadata=meta)


def _mpt_fields(line: str, names: Sequence[str]) -> list[str]:
    """The fields of an EC-Lab data row, aligned with the header's ``names``.

    EC-Lab writes unnamed columns: a header or rows ending with a tab, a column named ``""``
    between others (whose rows may hold no field for it), columns left blank at the end of the
    rows. Fields are split on tabs only; empty fields past the last name are dropped; a row
    with one field per *named* column gets an empty field at each unnamed column; a row ending
    with a tab but short of fields is padded with empty ones (blank trailing values). Any other
    width is left for the table check to report by line.
    """
    fields = [f.strip() for f in line.strip(" \r\n").split("\t")]
    width = len(names)
    if len(fields) > width and not any(fields[width:]):
        return fields[:width]
    if len(fields) < width:
        unnamed = [j for j, nm in enumerate(names) if not nm]
        if unnamed and len(fields) == width - len(unnamed):
            it = iter(fields)
            return ["" if not nm else next(it) for nm in names]
        if len(fields) > 1 and fields[-1] == "":
            return fields + [""] * (width - len(fields))
    return fields


def read_biologic_mpt(path: str | os.PathLike) -> list[Spectrum]:
    """Read a BioLogic EC-Lab text file (``.mpt``, or an EC-Lab ``.txt`` export).

    The second line gives the number of header lines, the last of which names the columns
    (``freq/Hz``, ``Re(Z)/Ohm``, ``-Im(Z)/Ohm``, ``time/s``, ``cycle number``...).
    Kept: ``Acquisition started on`` (``start_time``), ``time/s``, ``<Ewe>/V`` and ``<I>/mA``
    per point, the electrode area (m²), device, technique and its settings table; sweeps are
    split by ``z cycle`` or ``cycle number``.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of Spectrum

    Raises
    ------
    InputError
        A missing column (named), a row of the wrong width (by line), a bad header count.
    """
    file = os.fspath(path)
    lines = read_lines(file)
    check_not_cut(file, lines)
    if not lines or not re.match(r"^(EC|BT)-Lab ASCII FILE", lines[0].strip()):
        raise InputError(f"the first line is {lines[0][:40] if lines else ''!r}", file=file,
                         field="header", expected="'EC-Lab ASCII FILE'")
    m = re.match(r"^Nb header lines\s*:\s*(\d+)", lines[1].strip()) if len(lines) > 1 else None
    if m is None:
        raise InputError("no 'Nb header lines' on line 2", file=file, field="header", line=2,
                         expected="'Nb header lines : N'")
    nb = int(m.group(1))
    if nb < 3 or nb > len(lines):
        raise InputError(f"{nb} header lines announced but the file has {len(lines)} lines",
                         file=file, field="Nb header lines", line=2,
                         expected="a header count within the file (the file may be cut short)")
    names = split_line(lines[nb - 1], "\t")  # a header ending with a tab: no last name
    head = lines[2:nb - 1]
    meta: dict[str, Any] = {"instrument": "BioLogic"}
    info: dict[str, str] = {}
    settings: dict[str, str] = {}
    technique = next((ln.strip() for ln in head if ln.strip()), None)
    for ln in head:
        if " : " in ln or ln.rstrip().endswith(" :"):
            key, _, value = ln.partition(":")
            info[key.strip()] = value.strip()
        elif re.match(r"^\S.*?\s{2,}\S", ln):
            key, value = re.split(r"\s{2,}", ln.strip(), maxsplit=1)
            settings[key] = value.strip()
    meta.update({"technique": technique, "header": info, "settings": settings})
    if "Device" in info:
        meta["device"] = info["Device"]
    area = info.get("Electrode surface area")
    if area:
        am = re.match(r"^([-+\d.,eE]+)\s*(\S+)$", area)
        if am:
            factor = unit_factor(am.group(2), "m^2")
            value = parse_float(am.group(1), decimal_comma=True)
            if factor is not None and value is not None:
                meta["area"] = value * factor
    start = None
    for key in ("Acquisition started on", "Technique started on"):
        if info.get(key):
            parts = info[key].split()
            start, order = parse_date(parts[0], parts[1] if len(parts) > 1 else None)
            if start is not None:
                meta["date_order"] = order
                break
    rows = [(i + 1, _mpt_fields(lines[i], names)) for i in range(nb, len(lines))
            if lines[i].strip()]
    unnamed = [j for j, nm in enumerate(names) if not nm]
    if unnamed:
        meta["unnamed_columns"] = unnamed
    if not rows:
        raise InputError("no data rows after the header", file=file, field="data",
                         expected="rows of numbers after the column names")
    missing = [c for c in ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm") if c not in names]
    if missing:
        raise InputError(f"column {missing[0]!r} is missing from the header (line {nb})",
                         file=file, field=missing[0], line=nb,
                         expected="EC-Lab impedance columns freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm")
    wanted_names = ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "time/s", "cycle number", "z cycle",
                    *BIOLOGIC_POINT_COLUMNS]
    wanted_names += [c for c in names if c.lower().startswith("temperature/")]
    present = [c for c in dict.fromkeys(wanted_names) if c in names]
    data = _parse_block(rows, names, file, [names.index(c) for c in present])
    columns = {c: data[:, k] for k, c in enumerate(present)}
    return biologic_spectra(columns, path=file, fmt="biologic-mpt",
                            lines=np.array([ln for ln, _ in rows]), start=start, metadata=meta)


# --------------------------------------------------------------------------- ZPlot / ZView

_ZVIEW_ORDER = ("Freq(Hz)", "Ampl", "Bias", "Time(Sec)", "Z'(a)", "Z''(b)", "GD", "Err",
                "Range")


def _zview_names(line: str) -> list[str]:
    text = line.strip().strip('"').strip()
    if "\t" in text:
        return [s.strip() for s in text.split("\t") if s.strip()]
    return [s for s in re.split(r"\s{2,}", text) if s]


def _read_zview(path: str, fmt: str, instrument: str) -> list[Spectrum]:
    lines = read_lines(path)
    check_not_cut(path, lines)
    hdr = None
    for i, ln in enumerate(lines):
        low = ln.lower()
        if "freq" in low and "z'" in low and not is_number_row(ln):
            hdr = i
    if hdr is None:
        raise InputError("no column header naming Freq and Z'", file=path, field="header",
                         expected="a ZPlot/ZView header such as Freq(Hz) Ampl Bias Time(Sec) "
                                  "Z'(a) Z''(b)")
    names = _zview_names(lines[hdr])
    body = [(i + 1, ln) for i, ln in enumerate(lines[hdr + 1:], start=hdr + 1)
            if ln.strip() and ln.strip().lower() != "end comments"]
    if not body:
        raise InputError("no data rows after the column header", file=path, field="data",
                         line=hdr + 1, expected="rows of numbers")
    delim = "," if "," in body[0][1] else ("\t" if "\t" in body[0][1] else None)
    rows = [(i, split_line(ln, delim)) for i, ln in body]
    width = len(rows[0][1])
    if len(names) != width:
        if width == len(_ZVIEW_ORDER):
            names = list(_ZVIEW_ORDER)
        else:
            cut = " (the file looks cut short)" if len(rows) == 1 else ""
            raise InputError(f"the header names {len(names)} columns but the rows have "
                             f"{width}{cut}", file=path, field="header", line=rows[0][0],
                             expected="one name per column")
    roles: dict[str, int] = {}
    for j, nm in enumerate(names):
        key = _norm_key(nm)
        if key.startswith("freq"):
            roles.setdefault("frequency", j)
        elif key.startswith("time"):
            roles.setdefault("time", j)
        elif key.startswith("z''") or key.startswith('z"'):
            roles.setdefault("imag", j)
        elif key.startswith("z'"):
            roles.setdefault("real", j)
        elif key.startswith("bias"):
            roles.setdefault("bias", j)
    for r, label in (("frequency", "Freq(Hz)"), ("real", "Z'(a)"), ("imag", "Z''(b)")):
        if r not in roles:
            raise InputError(f"no {label} column", file=path, field=label, line=hdr + 1,
                             expected=f"ZView columns {', '.join(_ZVIEW_ORDER)}")
    order = [roles[r] for r in ("frequency", "real", "imag", "time") if r in roles]
    data = _parse_block(rows, names, path, order)
    meta: dict[str, Any] = {"instrument": instrument, "columns": names}
    header_text = [ln.strip().strip('"').strip() for ln in lines[:hdr]]
    info: dict[str, str] = {}
    free: list[str] = []
    in_comments = False
    for ln in header_text:
        if not ln:
            continue
        if ln.lower().startswith("begin user comments"):
            in_comments = True
            continue
        if ln.lower().startswith("end user comments"):
            in_comments = False
            continue
        if in_comments:
            free.append(ln)
            continue
        m = re.match(r"^([^:]{1,40}?):\s*(.*)$", ln)
        if m and not re.match(r"^date", ln, re.I):
            info[m.group(1).strip()] = m.group(2).strip()
        elif not re.match(r"^date", ln, re.I) and not re.match(r"^[\d.,\s+\-eE]+$", ln):
            free.append(ln)
    meta["header"] = info
    if free:
        meta["comments"] = free
    date_m = re.search(r"Date:\s*(\S+)", "\n".join(header_text))
    time_m = re.search(r"Time:\s*(\S+)", "\n".join(header_text))
    start = None
    if date_m:
        start, order_used = parse_date(date_m.group(1), time_m.group(1) if time_m else None)
        meta["date_order"] = order_used
    declared = info.get("Data Points")
    if declared is None:
        # ZPlotW layout: the count sits alone on the line before the column header
        prev = [ln for ln in header_text if ln][-1:] if header_text else []
        if prev and prev[0].isdigit():
            declared = prev[0]
    if declared is not None and str(declared).isdigit():
        meta["points_declared"] = int(declared)
        if int(declared) != len(rows):
            meta["incomplete"] = True
    temperature, tsource = None, None
    for text in free:
        m = re.search(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*(°C|deg\s*C|degC|C|K)(?![A-Za-z0-9])",
                      text)
        if m:
            unit = m.group(2)
            temperature = kelvin(float(m.group(1)), "K" if unit == "K" else "degC",
                                 field="comment", file=path)
            tsource = f"comment line {text!r}"
            break
    temperature, tsource = _filename_temperature(path, temperature, tsource)
    time = data[:, 3] if data.shape[1] > 3 else None
    if time is not None and np.all(np.isfinite(time)) and np.ptp(time) == 0:
        meta["time_ignored"] = "the time column is constant"
        time = None
    raw = RawColumns(frequency=data[:, 0], real=data[:, 1], imag=data[:, 2], time=time,
                     lines=np.array([i for i, _ in rows]))
    return build_spectra(raw, path=path, fmt=fmt, start=start, temperature=temperature,
                         temperature_source=tsource, metadata=meta)


def is_number_row(line: str) -> bool:
    """True when the first field of a line (comma, tab or space separated) is a number."""
    first = re.split(r"[,\t ]+", line.strip(), maxsplit=1)[0] if line.strip() else ""
    return parse_float(first) is not None


def read_zplot(path: str | os.PathLike) -> list[Spectrum]:
    """Read a Scribner ZPlot/ZView ``.z`` file, with or without the ``ZPLOT2 ASCII`` header.

    Columns ``Freq(Hz) Ampl Bias Time(Sec) Z'(a) Z''(b) GD Err Range`` (tab- or
    comma-separated). Kept: date and time (``start_time``), ``Time(Sec)``, the instrument
    settings, user comments (a temperature written in them, such as ``800 C``, becomes
    ``temperature``), and the number of points the header announced (``points_declared``;
    ``incomplete`` when fewer rows follow).
    """
    return _read_zview(os.fspath(path), "zplot", "Scribner ZPlot")


def read_autolab(path: str | os.PathLike) -> list[Spectrum]:
    """Read an Autolab export: the ZView-style ``Z60W Data File`` text, or a NOVA ASCII export.

    NOVA exports name their columns (``Frequency (Hz)``, ``Z' (Ω)``, ``-Z'' (Ω)``,
    ``Time (s)``...), which are recognised with their units and signs.
    """
    file = os.fspath(path)
    lines = read_lines(file)
    if lines and "data file" in lines[0].lower():
        return _read_zview(file, "autolab", "Metrohm Autolab")
    return _read_generic(file, "autolab", extra_meta={"instrument": "Metrohm Autolab"})


# --------------------------------------------------------------------------- other text

def read_parstat(path: str | os.PathLike) -> list[Spectrum]:
    """Read a Parstat/VersaStudio tab-separated text export.

    Columns by name: ``Frequency (Hz)``, ``Zre (ohms)``, ``Zim (ohms)``, ``Elapsed Time (s)``,
    ``Potential (V)``, ``Current (A)``. The rows of DC segments (frequency 0) are dropped.
    """
    return _read_generic(path, "parstat", extra_meta={"instrument": "Princeton Applied "
                                                                    "Research Parstat"})


def read_powersuite(path: str | os.PathLike) -> list[Spectrum]:
    """Read a PowerSuite text export (``Frequency  Zre  Zimg``, tab-separated)."""
    return _read_generic(path, "powersuite", extra_meta={"instrument": "PowerSuite"})


def read_csv(path: str | os.PathLike) -> list[Spectrum]:
    """Read a delimited text file of f, Z', Z''.

    Without a header the file must have exactly three columns, f (Hz), Z' (ohm), Z'' (ohm),
    as impedance.py writes them. With a header, columns are recognised by name, with units
    (``Hz``, ``kHz``, ``ohm``, ``kOhm``...) and signs (``-Z''``, ``-Im(Z)``); |Z| and phase
    are accepted when Z' and Z'' are absent; a ``cycle`` column splits sweeps.
    """
    return _read_generic(path, "csv")


def read_chi(path: str | os.PathLike) -> list[Spectrum]:
    """Read a CH Instruments ``A.C. Impedance`` text export.

    Kept: the date line (``start_time``), instrument model and the ``key = value`` settings.
    """
    file = os.fspath(path)
    lines = read_lines(file)
    meta: dict[str, Any] = {"instrument": "CH Instruments"}
    settings = {}
    start = None
    for ln in lines[:60]:
        m = re.match(r"^\s*(.+?)\s*=\s*(\S.*)$", ln)
        if m:
            settings[m.group(1)] = m.group(2).strip()
        m = re.match(r"^\s*Instrument Model:\s*(.*)$", ln)
        if m:
            meta["model"] = m.group(1).strip()
        if start is None:
            dm = re.match(r"^\s*([A-Za-z]{3}\.?\s+\d{1,2},\s*\d{4})\s+(\d{1,2}:\d{2}:\d{2})",
                          ln)
            if dm:
                start, _ = parse_date(dm.group(1), dm.group(2))
    meta["settings"] = settings
    return _read_generic(file, "chi", extra_meta=meta, start=start, delimiter=",")


def read_novocontrol(path: str | os.PathLike) -> list[Spectrum]:
    """Read a Novocontrol-style text export (``Freq.[Hz]  Zs'[ohm]  Zs''[ohm]``).

    ``Fixed value(s)`` lines are kept (``metadata["fixed_values"]``); a fixed temperature
    gives ``temperature``, otherwise a temperature in the file name (``...-160deg.txt`` ->
    433.15 K) does, and ``metadata["temperature_source"]`` says which.
    """
    file = os.fspath(path)
    lines = read_lines(file)
    meta: dict[str, Any] = {"instrument": "Novocontrol"}
    fixed: dict[str, float | str] = {}
    temperature, tsource = None, None
    for ln in lines[:20]:
        if ln.lower().startswith("fixed value"):
            for name, unit, value in re.findall(
                    r"([A-Za-z][\w .]*?)\s*\[([^\]]*)\]\s*=\s*([-+]?[\d.,]+(?:[eE][-+]?\d+)?)",
                    ln.split(":", 1)[-1]):
                key = f"{name.strip()} [{unit}]"
                value = value.rstrip(",")
                v = parse_float(value, decimal_comma=True)
                fixed[key] = v if v is not None else value
                if name.strip().lower().startswith("temp") and v is not None:
                    temperature = kelvin(v, unit, field=key, file=file)
                    tsource = f"fixed value {key}"
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first and not is_number_row(first) and "freq" not in first.lower():
        meta["sample"] = first
    meta["fixed_values"] = fixed
    return _read_generic(file, "novocontrol", extra_meta=meta, temperature=temperature,
                         temperature_source=tsource)


def read_relaxis(path: str | os.PathLike) -> list[Spectrum]:
    """Read a RelaxIS spectrum export.

    A ``Data: Frequency  Data: Z'  Data: Z''...`` header names the columns; each spectrum
    starts with a parameter line (``DC=..., TM=..., J=...`` then the model and the spectrum
    name), kept in ``metadata["parameters"]`` and ``metadata["spectrum_name"]``. ``Date:`` is
    the export date (``metadata["export_date"]``), not the measurement time.
    """
    file = os.fspath(path)
    lines = read_lines(file)
    check_not_cut(file, lines)
    if not lines or not lines[0].lstrip().lower().startswith("relaxis"):
        raise InputError("not a RelaxIS export", file=file, field="header", line=1,
                         expected="a first line starting with 'RelaxIS'")
    meta: dict[str, Any] = {"software": lines[0].strip()}
    names: list[str] | None = None
    blocks: list[dict[str, Any]] = []
    for i, ln in enumerate(lines, start=1):
        if not ln.strip() or i == 1:
            continue
        if ln.lower().startswith("date:"):
            meta["export_date"] = ln.split(":", 1)[1].strip()
            continue
        if ln.lower().startswith("data:"):
            names = [s.strip() for s in ln.split("\t") if s.strip()]
            continue
        fields = split_line(ln, "\t")
        if is_number_row(fields[0]):
            if names is None:
                raise InputError("numbers before the 'Data:' column header", file=file,
                                 field="header", line=i,
                                 expected="a line 'Data: Frequency<TAB>Data: Z'...'")
            if not blocks:
                blocks.append({"params": {}, "name": None, "rows": []})
            blocks[-1]["rows"].append((i, fields))
            continue
        params: dict[str, Any] = {}
        for key, value in re.findall(r"([A-Za-z]\w*)\s*=\s*([^,\t]+)", fields[0]):
            v = parse_float(value.strip())
            params[key] = v if v is not None else value.strip()
        blocks.append({"params": params, "name": fields[-1] if len(fields) > 1 else None,
                       "model": fields[1] if len(fields) > 2 else None, "rows": [],
                       "line": i})
    if names is None:
        raise InputError("no 'Data:' column header", file=file, field="header",
                         expected="a line 'Data: Frequency<TAB>Data: Z'...'")
    blocks = [b for b in blocks if b["rows"]]
    if not blocks:
        raise InputError("no data rows", file=file, field="data", expected="rows of numbers")
    all_rows = [r for b in blocks for r in b["rows"]]
    found = _columns_from_roles(names, file)
    for role, label in (("frequency", "Frequency"), ("real", "Z'"), ("imag", "Z''")):
        if role not in found:
            raise InputError(f"no {label} column", file=file, field=label,
                             expected=f"'Data: {label}' in the header; found {names}")
    idx = [found[r][0] for r in ("frequency", "real", "imag")]
    data = _parse_block(all_rows, names, file, idx)
    factors = [found[r][1].factor for r in ("frequency", "real", "imag")]
    group = np.concatenate([np.full(len(b["rows"]), k) for k, b in enumerate(blocks)])
    raw = RawColumns(frequency=data[:, 0] * factors[0], real=data[:, 1] * factors[1],
                     imag=data[:, 2] * factors[2], group=group,
                     lines=np.array([i for i, _ in all_rows]))
    meta["columns"] = names
    temperature, tsource = _filename_temperature(file, None, None)
    out = build_spectra(raw, path=file, fmt="relaxis", temperature=temperature,
                        temperature_source=tsource, metadata=meta)
    if len(out) == len(blocks):
        for spec, block in zip(out, blocks, strict=True):
            spec.metadata["parameters"] = block["params"]
            spec.metadata["spectrum_name"] = block["name"]
            spec.metadata["model"] = block.get("model")
    return out


# --------------------------------------------------------------------------- VersaStudio

def read_versastudio(path: str | os.PathLike) -> list[Spectrum]:
    """Read a Princeton Applied Research VersaStudio ``.par`` file.

    Sections ``<Name> key=value ... </Name>``; each ``<SegmentN>`` holds a ``Definition=``
    line naming the comma-separated columns (``Frequency(Hz)``, ``Z Real``, ``Z Imag``,
    ``Elapsed Time(s)``, ``E(V)``, ``I(A)``) and the data rows. Each segment is a sweep (split
    further if the sweep repeats). Kept: ``DateAcquired``/``TimeAcquired``, the instrument,
    the actions' settings and the electrode area (m²).
    """
    file = os.fspath(path)
    lines = read_lines(file)
    sections: dict[str, dict[str, str]] = {}
    segments: list[tuple[str, list[str], list[tuple[int, list[str]]]]] = []
    current: str | None = None
    definition: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    open_line = 0
    for i, ln in enumerate(lines, start=1):
        s = ln.strip()
        if current is None:
            m = re.match(r"^<([A-Za-z][\w]*)>$", s)
            if m:
                current, definition, rows, open_line = m.group(1), None, [], i
                sections[current] = {}
            continue
        if s == f"</{current}>":
            if current.lower().startswith("segment"):
                if definition is None:
                    raise InputError(f"section <{current}> has no Definition= line", file=file,
                                     field=current, line=open_line,
                                     expected="Definition=Segment #, Point #, ...")
                segments.append((current, definition, rows))
            current = None
            continue
        if s.lower().startswith("definition="):
            names = [t.strip() for t in s.split("=", 1)[1].split(",")]
            while names and parse_float(names[-1]) is not None:
                names.pop()
            definition = names
            continue
        if current.lower().startswith("segment") and s and is_number_row(s):
            rows.append((i, [t.strip() for t in s.split(",")]))
            continue
        if "=" in s:
            key, _, value = s.partition("=")
            sections[current][key.strip()] = value.strip()
    if current is not None:
        raise InputError(f"the file ends inside <{current}> opened on line {open_line}",
                         file=file, field=current, line=len(lines),
                         expected=f"a closing </{current}> (the file looks cut short)")
    if not segments:
        raise InputError("no <Segment> section with data", file=file, field="Segment",
                         expected="a <Segment1> section holding Definition= and rows")
    all_rows, groups = [], []
    names = segments[0][1]
    for k, (_, defn, seg_rows) in enumerate(segments):
        if defn != names:
            raise InputError("segments with different column definitions", file=file,
                             field="Definition", expected="one layout for every segment")
        all_rows += seg_rows
        groups += [k] * len(seg_rows)
    if not all_rows:
        raise InputError("the segments hold no rows", file=file, field="data",
                         expected="comma-separated rows of numbers")
    width = len(all_rows[0][1])
    if len(names) > width:
        names = names[:width]
    data = _parse_block(all_rows, names, file, range(len(names)))
    rename = {"Z Real": "Zre", "Z Imag": "Zim", "E(V)": "Potential (V)", "I(A)": "Current (A)",
              "Segment #": "other: segment"}
    mapped = [rename.get(n, n) for n in names]
    raw, meta = raw_from_named(data, mapped, file, np.array([i for i, _ in all_rows]),
                               group_column=False)
    raw.group = np.asarray(groups)
    back = {rename.get(n, n): n for n in names}
    meta["column_roles"] = {r: back.get(c, c) for r, c in meta["column_roles"].items()}
    meta["columns"] = list(names)
    meta["instrument"] = sections.get("Instrument", {}).get("Type", "VersaSTAT")
    meta["sections"] = {k: v for k, v in sections.items()
                        if k.startswith(("Application", "Action", "Instrument", "Experiment"))}
    for sec in sections.values():
        for key, value in sec.items():
            am = re.match(r"^.*Area\s*\((\w+)\)$", key)
            if am and "area" not in meta:
                factor = unit_factor(am.group(1), "m^2")
                v = parse_float(value, decimal_comma=True)
                if factor is not None and v is not None:
                    meta["area"] = v * factor
    exp = sections.get("Experiment", {})
    start = None
    if "DateAcquired" in exp:
        start, order = parse_date(exp["DateAcquired"], exp.get("TimeAcquired"))
        meta["date_order"] = order
    temperature, tsource = _filename_temperature(file, None, None)
    return build_spectra(raw, path=file, fmt="versastudio", start=start,
                         temperature=temperature, temperature_source=tsource, metadata=meta)
