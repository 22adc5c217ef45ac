"""Impedance files: one entry point for every instrument format.

:func:`read_spectra` reads a file into one :class:`~ionscale.impedance.data.Spectrum` per
sweep, :func:`read_spectrum` picks one sweep, :func:`read_directory` reads a folder sorted
by start time or temperature. The format is detected from the file's first bytes
(:func:`detect_format`) or given by name; :data:`FORMATS` lists them.

==============  =================  =============================================================
format          extensions         kept besides f, Z
==============  =================  =============================================================
gamry           .dta               DATE/TIME, Time per point, Idc/Vdc, AREA, DC/AC settings,
                                   aborted flag, notes, temperature (TEMP entry, Temp column),
                                   drift-corrected Z (option ``drift_corrected``)
biologic-mpr    .mpr               acquisition start (LOG module), time/s, <Ewe>, <I>,
                                   Temperature/°C, cycles/z cycles as sweeps, modules, ids
biologic-mpt    .mpt, .txt         acquisition start, time/s, <Ewe>, <I>, area, device,
                                   technique settings, cycles as sweeps
zplot           .z                 date/time, Time(Sec), settings, comments (temperature),
                                   points announced
autolab         .txt, .z, .csv     Z60W (ZView-style) or NOVA export: date/time, times
parstat         .txt               elapsed time, potential, current (DC rows dropped)
chi             .txt               date, model, settings
versastudio     .par               date/time, elapsed time, E, I, area, instrument, segments
powersuite      .txt               f, Z only
novocontrol     .txt, .dat         fixed values, sample name, temperature (header or name)
relaxis         .txt               spectrum parameters and names, export date
csv             .csv, .txt, .dat   columns recognised by name with units and signs
==============  =================  =============================================================

Every reader also takes a temperature written in the file name (``...-160deg.txt``,
``..._-25C.mpr``) when the file itself has none, and says so in
``metadata["temperature_source"]``. Sign convention: Z'' < 0 for a capacitor; ``-Im(Z)`` and
``-Z''`` columns are negated. Text exports may be UTF-8, Latin-1, or UTF-16/UTF-32 (with a
byte-order mark, or without one: recognised by the NUL bytes of their ASCII characters).
Options of one reader (``drift_corrected=True`` for Gamry) pass through :func:`read_spectra`
and :func:`read_spectrum`.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..impedance.data import Spectrum
from . import eis_formats as _f
from .biologic_mpr import MAGIC as _MPR_MAGIC
from .biologic_mpr import read_biologic_mpr
from .text import parse_float, sniff_delimiter, split_line

__all__ = ["EISFormat", "FORMATS", "detect_format", "read_spectra", "read_spectrum",
           "read_directory"]

_HEAD = 8192


@dataclass(frozen=True)
class EISFormat:
    """One row of :data:`FORMATS`.

    Attributes
    ----------
    name : str
        Name accepted by ``format=``.
    extensions : tuple of str
        Usual file extensions (lower case, with the dot); informative, detection reads the
        content.
    detect : callable
        ``detect(head: bytes, path: str) -> bool`` on the file's first 8 KiB.
    read : callable
        ``read(path, **options) -> list[Spectrum]``; its keyword-only parameters are the
        options :func:`read_spectra` passes on.
    keeps : tuple of str
        What the reader keeps besides frequency and impedance.
    """

    name: str
    extensions: tuple[str, ...]
    detect: Callable[[bytes, str], bool]
    read: Callable[..., list[Spectrum]]
    keeps: tuple[str, ...]


def _text(head: bytes) -> str:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    return text


def _first_lines(head: bytes, n: int = 12) -> list[str]:
    return [ln for ln in _text(head).splitlines()[:n]]


def _is_mpr(head: bytes, path: str) -> bool:
    return head.startswith(_MPR_MAGIC[:10])


def _is_gamry(head: bytes, path: str) -> bool:
    lines = [ln.strip() for ln in _first_lines(head, 4) if ln.strip()]
    return bool(lines) and lines[0] == "EXPLAIN" or "\nZCURVE\tTABLE" in _text(head)


def _is_mpt(head: bytes, path: str) -> bool:
    return bool(re.match(r"^(EC|BT)-Lab ASCII FILE", _text(head).lstrip()))


def _is_relaxis(head: bytes, path: str) -> bool:
    return _text(head).lstrip().lower().startswith("relaxis")


def _is_zplot(head: bytes, path: str) -> bool:
    first = _text(head).lstrip().split("\n", 1)[0].strip().strip('"').lower()
    return first.startswith("zplot") or (first.startswith("zview") and "data file" in first)


def _is_autolab(head: bytes, path: str) -> bool:
    text = _text(head)
    first = text.lstrip().split("\n", 1)[0].strip().strip('"').lower()
    if first.startswith("z60") and "data file" in first:
        return True
    return "-Z''" in text and "-Phase" in text and "Frequency (Hz)" in text


def _is_versastudio(head: bytes, path: str) -> bool:
    text = _text(head)
    return "<Application>" in text[:200] and ("VersaStudio" in text or "<Segment" in text)


def _is_chi(head: bytes, path: str) -> bool:
    text = "\n".join(_first_lines(head, 8))
    return "A.C. Impedance" in text or "Instrument Model:  CHI" in text


def _is_parstat(head: bytes, path: str) -> bool:
    first = _text(head).lstrip().split("\n", 1)[0]
    return "Frequency (Hz)" in first and "Zre (ohms)" in first


def _is_powersuite(head: bytes, path: str) -> bool:
    first = _text(head).lstrip().split("\n", 1)[0]
    return [t.strip() for t in first.split("\t")] == ["Frequency", "Zre", "Zimg"]


def _is_novocontrol(head: bytes, path: str) -> bool:
    text = _text(head)
    return "Fixed value(s)" in text or bool(re.search(r"Freq\.\s*\[Hz\]", text))


def _is_csv(head: bytes, path: str) -> bool:
    if b"\x00" in head:
        return False
    lines = _text(head).splitlines()
    if len(head) >= _HEAD and lines:
        lines = lines[:-1]  # the last line may be cut by the 8 KiB window
    delim = sniff_delimiter(lines)
    rows = [split_line(ln, delim) for ln in lines if ln.strip() and not ln.startswith("#")]
    # rows made of numbers only (prose such as a licence has numbered clauses, not tables)
    widths = [len(r) for r in rows if len(r) >= 3
              and all(parse_float(t, decimal_comma=delim != ",") is not None for t in r)]
    return any(widths.count(w) >= 3 for w in set(widths))


#: The formats, in the order :func:`detect_format` tries them.
FORMATS: tuple[EISFormat, ...] = (
    EISFormat("biologic-mpr", (".mpr",), _is_mpr, read_biologic_mpr,
              ("start_time (LOG module)", "time", "dc_voltage", "dc_current",
               "temperature (Temperature/°C)", "sweeps (z cycle / cycle number)", "modules",
               "column ids")),
    EISFormat("gamry", (".dta",), _is_gamry, _f.read_gamry,
              ("start_time (DATE/TIME)", "time (Pt times)", "dc_current (Idc)",
               "dc_voltage (Vdc)", "area", "temperature (TEMP, Temp column)", "aborted",
               "mode", "settings", "notes",
               "impedance_drift_corrected / impedance_measured (ZrealDrCor, ZimagDrCor)")),
    EISFormat("biologic-mpt", (".mpt", ".txt"), _is_mpt, _f.read_biologic_mpt,
              ("start_time (Acquisition started on)", "time", "dc_voltage", "dc_current",
               "area", "device", "technique settings", "sweeps (z cycle / cycle number)")),
    EISFormat("relaxis", (".txt",), _is_relaxis, _f.read_relaxis,
              ("spectrum parameters", "spectrum names", "export date", "sweeps (blocks)")),
    EISFormat("zplot", (".z",), _is_zplot, _f.read_zplot,
              ("start_time (Date/Time)", "time (Time(Sec))", "settings", "comments",
               "temperature (comment)", "points_declared")),
    EISFormat("autolab", (".txt", ".z", ".csv"), _is_autolab, _f.read_autolab,
              ("start_time (Z60W date)", "time", "points_declared")),
    EISFormat("versastudio", (".par",), _is_versastudio, _f.read_versastudio,
              ("start_time (DateAcquired/TimeAcquired)", "time", "dc_voltage", "dc_current",
               "area", "instrument", "sweeps (segments)")),
    EISFormat("chi", (".txt",), _is_chi, _f.read_chi,
              ("start_time (date line)", "model", "settings")),
    EISFormat("parstat", (".txt",), _is_parstat, _f.read_parstat,
              ("time (Elapsed Time)", "dc_voltage", "dc_current")),
    EISFormat("powersuite", (".txt",), _is_powersuite, _f.read_powersuite, ()),
    EISFormat("novocontrol", (".txt", ".dat"), _is_novocontrol, _f.read_novocontrol,
              ("temperature (fixed value or file name)", "fixed values", "sample name")),
    EISFormat("csv", (".csv", ".txt", ".dat"), _is_csv, _f.read_csv,
              ("time", "temperature", "dc_voltage", "dc_current", "sweeps (cycle column)")),
)

_BY_NAME = {fmt.name: fmt for fmt in FORMATS}


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(_HEAD)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path,
                         expected="a readable impedance file") from None


def detect_format(path: str | os.PathLike) -> str:
    """The name of the impedance format of a file, from its first 8 KiB.

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    str
        A name from :data:`FORMATS`.

    Raises
    ------
    InputError
        When no format recognises the file.

    Examples
    --------
    ::

        detect_format("exampleDataGamry.DTA")   # 'gamry'
    """
    file = os.fspath(path)
    if os.path.isdir(file):
        raise InputError("this is a folder", file=file, expected="a file (use read_directory)")
    head = _head(file)
    if not head.strip():
        raise InputError("the file is empty", file=file, field="data",
                         expected="an impedance file")
    wide = None if head.startswith(_MPR_MAGIC[:10]) else _f.decode_text(head, partial=True)
    if wide is not None:
        # a UTF-16/UTF-32 export: the detectors read its text as UTF-8
        head = wide.encode("utf-8")
    for fmt in FORMATS:
        if fmt.detect(head, file):
            return fmt.name
    raise InputError("the impedance format is not recognised", file=file, field="format",
                     expected="one of " + ", ".join(_BY_NAME) + " (or give format=)")


def _read_with(name: str, file: str, options: dict[str, Any]) -> list[Spectrum]:
    """Call the reader of format ``name``, with the reader options it declares."""
    reader = _BY_NAME[name].read
    if options:
        accepted = [p.name for p in inspect.signature(reader).parameters.values()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise InputError(f"option {unknown[0]!r} does not apply to the {name} format",
                             file=file, field=unknown[0],
                             expected=f"options of the {name} reader: {accepted or 'none'}")
    return reader(file, **options)


def read_spectra(path: str | os.PathLike, *, format: str | None = None,
                 **options: Any) -> list[Spectrum]:
    """Read every sweep of an impedance file.

    Parameters
    ----------
    path : str or PathLike
        The file (opened read-only).
    format : str, optional
        A name from :data:`FORMATS`; detected from the content when omitted.
    **options
        Options of the format's reader, e.g. ``drift_corrected=True`` for a Gamry file
        measured with drift correction (:func:`~ionscale.io.eis_formats.read_gamry`); an option
        the reader does not take is an InputError.

    Returns
    -------
    list of Spectrum
        One per sweep, in file order, each sorted by increasing frequency with Z'' < 0 for a
        capacitor; ``sweep`` is the 0-based index when the file holds several, None when one.
        ``metadata["format"]`` names the format.

    Raises
    ------
    InputError
        Unknown format, malformed or truncated file (naming the line or byte offset),
        missing columns, NaN, zero, repeated or non-monotonic frequencies.

    Examples
    --------
    ::

        spectra = read_spectra("PEIS_SSB.mpr")
        spectra[0].frequency[:3], spectra[0].impedance[:3]
    """
    file = os.fspath(path)
    if format is None:
        name = detect_format(file)
    else:
        name = str(format).strip().lower()
        if name not in _BY_NAME:
            raise InputError(f"unknown format {format!r}", file=file, field="format",
                             expected="one of " + ", ".join(_BY_NAME))
        if not os.path.isfile(file):
            raise InputError("no such file", file=file, expected="an existing file")
    return _read_with(name, file, options)


def read_spectrum(path: str | os.PathLike, *, format: str | None = None,
                  sweep: int = 0, **options: Any) -> Spectrum:
    """Read one sweep of an impedance file (the first by default).

    Parameters
    ----------
    path : str or PathLike
        The file.
    format : str, optional
        A name from :data:`FORMATS`; detected when omitted.
    sweep : int
        0-based sweep index (negative counts from the end).
    **options
        Options of the format's reader (see :func:`read_spectra`).

    Returns
    -------
    Spectrum

    Examples
    --------
    ::

        s = read_spectrum("exampleDataBioLogic.mpt")
        s.start_time   # '2018-02-04T10:02:46'
    """
    spectra = read_spectra(path, format=format, **options)
    try:
        k = int(sweep)
    except (TypeError, ValueError):
        raise InputError(f"sweep {sweep!r} is not an integer", file=os.fspath(path),
                         field="sweep", expected="an integer index") from None
    if not -len(spectra) <= k < len(spectra):
        raise InputError(f"sweep {k} asked for but the file holds {len(spectra)}",
                         file=os.fspath(path), field="sweep",
                         expected=f"an index from 0 to {len(spectra) - 1}")
    return spectra[k]


def _start(s: Spectrum) -> datetime | None:
    if s.start_time is None:
        return None
    try:
        return datetime.fromisoformat(s.start_time)
    except ValueError:
        return None


def read_directory(
    directory: str | os.PathLike,
    pattern: str = "*",
    *,
    sort: str = "auto",
    skip_unrecognised: bool = True,
) -> list[Spectrum]:
    """Read every impedance file of a folder, sorted by start time or temperature.

    Parameters
    ----------
    directory : str or PathLike
        The folder.
    pattern : str
        Glob pattern of the files (``"*.DTA"``; ``"**/*"`` searches sub-folders).
    sort : {"auto", "time", "temperature", "name"}
        ``auto``: by start time when every sweep has one, else by temperature when every
        sweep has one, else by file name and sweep.
    skip_unrecognised : bool
        Skip files whose format is not recognised (licences, notes); with False they raise.
        A recognised file that is malformed always raises.

    Returns
    -------
    list of Spectrum
        Every sweep of every file.

    Raises
    ------
    InputError
        Not a folder, no impedance file matching, a malformed file, an unknown ``sort``.

    Examples
    --------
    ::

        series = read_directory("eisfitpython-s04147", "*.txt")
        [round(s.temperature - 273.15) for s in series]   # [140, 150, ..., 200]
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError("not a folder", file=folder, field="directory",
                         expected="an existing folder")
    if sort not in ("auto", "time", "temperature", "name"):
        raise InputError(f"unknown sort {sort!r}", field="sort",
                         expected="'auto', 'time', 'temperature' or 'name'")
    spectra: list[Spectrum] = []
    for file in sorted(p for p in folder.glob(pattern) if p.is_file()):
        try:
            name = detect_format(file)
        except InputError:
            if skip_unrecognised:
                continue
            raise
        spectra.extend(_BY_NAME[name].read(file))
    if not spectra:
        raise InputError(f"no impedance file matches {pattern!r}", file=folder,
                         field="pattern", expected="a folder holding impedance files")
    by_name = sorted(spectra, key=lambda s: (s.source or "", s.sweep or 0))
    if sort == "name":
        return by_name
    starts = [_start(s) for s in by_name]
    if sort == "time" or (sort == "auto" and all(t is not None for t in starts)):
        if any(t is None for t in starts):
            missing = next(s for s, t in zip(by_name, starts, strict=True) if t is None)
            raise InputError("a sweep has no start time", file=missing.source,
                             field="start_time", expected="start times to sort by "
                                                          "(or sort='name')")
        order = sorted(range(len(by_name)), key=lambda i: starts[i])
        return [by_name[i] for i in order]
    temps = [s.temperature for s in by_name]
    if sort == "temperature" or (sort == "auto" and all(t is not None for t in temps)):
        if any(t is None for t in temps):
            missing = next(s for s in by_name if s.temperature is None)
            raise InputError("a sweep has no temperature", file=missing.source,
                             field="temperature", expected="temperatures to sort by "
                                                           "(or sort='name')")
        return sorted(by_name, key=lambda s: s.temperature)
    return by_name
