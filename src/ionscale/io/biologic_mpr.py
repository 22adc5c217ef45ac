"""Reader of BioLogic EC-Lab binary ``.mpr`` files (impedance techniques: PEIS, GEIS...).

BioLogic does not publish the format; what follows is what reverse engineering by the
community has established, checked here against EC-Lab text exports of the same
measurements (frequencies and impedances agree to float32 precision).

Layout
------
* A 52-byte file header: ``BIO-LOGIC MODULAR FILE\\x1a`` padded with spaces to 48 bytes, then
  four zero bytes.
* Modules, one after the other, each starting with ``MODULE`` and a header: a 10-byte short
  name (``VMP Set``, ``VMP data``, ``VMP LOG``, ``VMP loop``), a 25-byte long name, then

  - files from EC-Lab before 11.50: ``uint32`` length, ``uint32`` version, 8-byte date;
  - later files (the four bytes after the long name are ``ff ff ff ff``): those four bytes,
    ``uint32`` length, two ``uint32`` (a version and a second number: 11 for data modules,
    10 for the others), 8-byte date.

  ``length`` bytes of module data follow the header.
* The data module starts with the number of points (``uint32``) and the number of columns,
  then one id per column, then zeros up to a fixed offset where the records begin: one record
  per point, the columns in id order, each with the type its id implies. Three variants are
  known:

  ===================================  =================  ===========  ============
  files                                columns count      ids          records at
  ===================================  =================  ===========  ============
  data module version 0 (old)          ``uint8`` at 4     ``uint8``    byte 100
  data module version 2 / 3            ``uint8`` at 4     ``uint16``   405 / 406
  EC-Lab >= 11.50 (long header)        ``uint16`` at 4    ``uint16``   1007
  ===================================  =================  ===========  ============

  Ids 1, 2, 3, 21, 31, 65 are flags packed together into one byte.
* The LOG module holds the start of the acquisition as an OLE automation date (days since
  1899-12-30, ``float64``) at one of a few offsets (585 in recent files, 465, 469 or 473 in
  older ones).

Every column id used by impedance and common battery techniques is in :data:`COLUMN_IDS`; an
id that is not, and so prevents the record size from being known, raises
:class:`~ionscale.errors.InputError` naming it. A file cut short raises an InputError naming
the byte offset where the data stop.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ..errors import InputError
from ..impedance.data import Spectrum
from .eis_formats import biologic_spectra

__all__ = ["read_biologic_mpr", "COLUMN_IDS", "MAGIC"]

#: First bytes of every .mpr file.
MAGIC = b"BIO-LOGIC MODULAR FILE"
_FILE_HEADER = 52
_FLAG_IDS = frozenset({1, 2, 3, 21, 31, 65})


def _column_table() -> dict[int, tuple[str, str]]:
    """Column id -> (EC-Lab column name, little-endian numpy type)."""
    table: dict[int, tuple[str, str]] = {}
    doubles = {
        4: "time/s", 7: "dq/mA.h", 11: "<I>/mA", 13: "(Q-Qo)/mA.h", 23: "dQ/mA.h",
        24: "cycle number", 74: "|Energy|/W.h", 123: "Energy charge/W.h",
        124: "Energy discharge/W.h", 125: "Capacitance charge/µF",
        126: "Capacitance discharge/µF", 182: "step time/s", 211: "Q charge/discharge/mA.h",
        438: "step time/s", 467: "Q charge/discharge/mA.h", 498: "Q charge/mA.h",
        499: "Q discharge/mA.h", 500: "step time/s", 501: "Efficiency/%",
        502: "Capacity/mA.h",
    }
    singles = {
        5: "control/V/mA", 6: "Ewe/V", 8: "I/mA", 9: "Ece/V", 16: "Analog IN 1/V",
        17: "Analog IN 2/V", 19: "control/V", 20: "control/mA", 26: "Rapp/Ohm",
        27: "Ewe-Ece/V", 32: "freq/Hz", 33: "|Ewe|/V", 34: "|I|/A", 35: "Phase(Z)/deg",
        36: "|Z|/Ohm", 37: "Re(Z)/Ohm", 38: "-Im(Z)/Ohm", 69: "R/Ohm", 70: "P/W",
        75: "Analog OUT/V", 76: "<I>/mA", 77: "<Ewe>/V", 78: "Cs-2/µF-2", 96: "|Ece|/V",
        98: "Phase(Zce)/deg", 99: "|Zce|/Ohm", 100: "Re(Zce)/Ohm", 101: "-Im(Zce)/Ohm",
        163: "|Estack|/V", 168: "Rcmp/Ohm", 169: "Cs/µF", 172: "Cp/µF", 173: "Cp-2/µF-2",
        174: "<Ewe>/V", 178: "(Q-Qo)/C", 179: "dQ/C", 242: "|E2|/V",
        271: "Phase(Z1)/deg", 272: "Phase(Z2)/deg", 301: "|Z1|/Ohm", 302: "|Z2|/Ohm",
        331: "Re(Z1)/Ohm", 332: "Re(Z2)/Ohm", 361: "-Im(Z1)/Ohm", 362: "-Im(Z2)/Ohm",
        391: "<E1>/V", 392: "<E2>/V", 422: "Phase(Zstack)/deg", 423: "|Zstack|/Ohm",
        424: "Re(Zstack)/Ohm", 425: "-Im(Zstack)/Ohm", 426: "<Estack>/V",
        430: "Phase(Zwe-ce)/deg", 431: "|Zwe-ce|/Ohm", 432: "Re(Zwe-ce)/Ohm",
        433: "-Im(Zwe-ce)/Ohm", 434: "(Q-Qo)/C", 435: "dQ/C", 441: "<Ecv>/V",
        462: "Temperature/°C", 471: "<Ece>/V", 505: "Rdc/Ohm",
    }
    for first in (217, 473):
        # distortion and noise indicators come in groups: THD, NSD, NSR for Ewe and I
        for k, kind in enumerate(("THD", "NSD", "NSR")):
            singles[first + 3 * k] = f"{kind} Ewe/%"
            singles[first + 3 * k + 1] = f"{kind} I/%"
    for first in (230, 486):
        for h in range(2, 8):
            singles[first + h - 2] = f"|Ewe h{h}|/V"
            singles[first + 6 + h - 2] = f"|I h{h}|/A"
    for cid, name in doubles.items():
        table[cid] = (name, "<f8")
    for cid, name in singles.items():
        table[cid] = (name, "<f4")
    for cid, name in {39: "I Range", 131: "Ns"}.items():
        table[cid] = (name, "<u2")
    for cid, name in {212: "half cycle", 213: "z cycle", 468: "half cycle",
                      469: "z cycle"}.items():
        table[cid] = (name, "<u4")
    table[509] = ("Acir/Dcir Control", "u1")
    return table


#: Column id -> (EC-Lab column name, numpy type) for the ids known to this reader.
COLUMN_IDS: dict[int, tuple[str, str]] = _column_table()


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "little")


def _modules(data: bytes, file: str) -> list[dict[str, Any]]:
    """Headers of the modules: name, version, date and where their data lie."""
    out = []
    pos = _FILE_HEADER
    size = len(data)
    if size < _FILE_HEADER:
        raise InputError(f"the file ends at byte {size}, inside the 52-byte file header",
                         file=file, field="header", expected="a complete .mpr file "
                                                             "(the file looks cut short)")
    while pos < size:
        if data[pos:pos + 6] != b"MODULE":
            if size - pos < 6 and b"MODULE".startswith(data[pos:]):
                raise InputError(f"the file ends at byte {size}, inside a module marker",
                                 file=file, field="MODULE",
                                 expected="a complete .mpr file (the file looks cut short)")
            raise InputError(f"found {data[pos:pos + 6]!r} at byte {pos}", file=file,
                             field="MODULE", expected="a module starting with 'MODULE'")
        h = pos + 6
        if size < h + 51:
            raise InputError(f"the file ends at byte {size}, inside the header of the module "
                             f"at byte {pos}", file=file, field="MODULE",
                             expected="a complete .mpr file (the file looks cut short)")
        short = data[h:h + 10].decode("latin-1").strip()
        long_name = data[h + 10:h + 35].decode("latin-1").strip()
        if data[h + 35:h + 39] == b"\xff\xff\xff\xff":
            if size < h + 59:
                raise InputError(f"the file ends at byte {size}, inside the header of module "
                                 f"{short!r} at byte {pos}", file=file, field=short,
                                 expected="a complete .mpr file (the file looks cut short)")
            length = _u32(data, h + 39)
            version = _u32(data, h + 43)
            extra = _u32(data, h + 47)
            date = data[h + 51:h + 59].decode("latin-1")
            start = h + 59
            layout = "long"
        else:
            length = _u32(data, h + 35)
            version = _u32(data, h + 39)
            extra = None
            date = data[h + 43:h + 51].decode("latin-1")
            start = h + 51
            layout = "short"
        end = start + length
        if end > size:
            raise InputError(f"module {short!r} declares {length} bytes from byte {start} but "
                             f"the file ends at byte {size}", file=file, field=short,
                             expected="a complete .mpr file (the file looks cut short)")
        out.append({"name": short, "long_name": long_name, "version": version, "extra": extra,
                    "date": date, "start": start, "length": length, "header": layout,
                    "offset": pos})
        pos = end
    return out


def _dtype(ids: list[int], file: str, at: int) -> np.dtype:
    fields: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    flags = False
    for cid in ids:
        if cid in _FLAG_IDS:
            if not flags:
                fields.append(("flags", "u1"))
                flags = True
            continue
        if cid not in COLUMN_IDS:
            known = ", ".join(str(k) for k in sorted(COLUMN_IDS)[:12])
            raise InputError(f"unknown column id {cid} in the data module (ids at byte {at}: "
                             f"{ids}); its size is needed to read the records", file=file,
                             field=f"column id {cid}",
                             expected=f"known EC-Lab column ids ({known}, ...)")
        name, kind = COLUMN_IDS[cid]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} ({seen[name]})"
        fields.append((name, kind))
    return np.dtype(fields)


def _layouts(module: dict[str, Any]) -> list[str]:
    if module["header"] == "long":
        first = "wide"
    elif module["version"] == 0:
        first = "old"
    elif module["version"] == 3:
        first = "v3"
    else:
        first = "v2"
    return [first] + [x for x in ("wide", "v3", "v2", "old") if x != first]


def _read_records(data: bytes, module: dict[str, Any], file: str
                  ) -> tuple[np.ndarray, list[int], str, int]:
    """Records of the data module, its column ids, the layout and the file offset of the first
    record."""
    body = data[module["start"]:module["start"] + module["length"]]
    base = module["start"]
    if len(body) < 6:
        raise InputError(f"the data module at byte {module['offset']} holds {len(body)} bytes",
                         file=file, field="VMP data", expected="a point count and column ids")
    n_points = _u32(body, 0)
    first_error: InputError | None = None
    for layout in _layouts(module):
        if layout == "wide":
            n_cols = int.from_bytes(body[4:6], "little")
            ids = np.frombuffer(body, "<u2", count=n_cols, offset=6).tolist() \
                if 6 + 2 * n_cols <= len(body) else None
            offset = 1007
        elif layout == "old":
            n_cols = body[4]
            ids = list(body[5:5 + n_cols]) if 5 + n_cols <= len(body) else None
            offset = 100
        else:
            n_cols = body[4]
            ids = np.frombuffer(body, "<u2", count=n_cols, offset=5).tolist() \
                if 5 + 2 * n_cols <= len(body) else None
            offset = 406 if layout == "v3" else 405
        if not ids:
            continue
        try:
            dt = _dtype(ids, file, base + 4)
        except InputError as exc:
            first_error = first_error or exc
            continue
        need = n_points * dt.itemsize
        have = len(body) - offset
        if have < need or any(body[offset + need:]):
            if first_error is None:
                first_error = InputError(
                    f"the data module holds {max(have, 0)} bytes of records from byte "
                    f"{base + offset} but {n_points} points of {dt.itemsize} bytes need {need}",
                    file=file, field="VMP data",
                    expected="records matching the column ids (the file may be damaged)")
            continue
        records = np.frombuffer(body, dtype=dt, count=n_points, offset=offset)
        return records, ids, layout, base + offset
    if first_error is None:
        # no reading of the header found a column id: the count is 0 (or the ids lie past
        # the end of the module)
        raise InputError(f"the data module at byte {module['offset']} declares no readable "
                         f"columns (column count {body[4]} at byte {base + 4})", file=file,
                         field="VMP data", expected="a column count > 0 followed by the "
                                                    "column ids (the file may be damaged)")
    raise first_error


def _ole_start(data: bytes, log: dict[str, Any] | None) -> datetime | None:
    if log is None:
        return None
    body = data[log["start"]:log["start"] + log["length"]]
    for at in (585, 465, 469, 473):
        if at + 8 <= len(body):
            days = float(np.frombuffer(body, "<f8", count=1, offset=at)[0])
            if 32874.0 < days < 73051.0:  # 1990 to 2100
                moment = datetime(1899, 12, 30) + timedelta(days=days)
                # EC-Lab writes milliseconds
                ms = round(moment.microsecond / 1000)
                return moment.replace(microsecond=0) + timedelta(milliseconds=ms)
    return None


def read_biologic_mpr(path: str | os.PathLike) -> list[Spectrum]:
    """Read the impedance sweeps of a BioLogic EC-Lab binary ``.mpr`` file.

    Parameters
    ----------
    path : str or PathLike
        The ``.mpr`` file (read-only).

    Returns
    -------
    list of Spectrum
        One per ``z cycle`` (or ``cycle number``) and repeated sweep. ``start_time`` from
        the LOG module, ``time`` from ``time/s``, ``metadata["dc_voltage"]`` (V) and
        ``["dc_current"]`` (A) from ``<Ewe>/V`` and ``<I>/mA``, temperature from a
        ``Temperature/°C`` column; ``metadata`` also lists the modules, the column names and
        ids and the data layout.

    Raises
    ------
    InputError
        Not an .mpr file, a file cut short (naming the byte offset), an unknown column id that
        hides the record size (naming the id), no impedance columns.

    Examples
    --------
    ::

        (s,) = read_biologic_mpr("PEIS_LPSCl_IonBlocking_-25C.mpr")
        s.start_time   # '2025-05-15T01:18:45.867000'
    """
    file = os.fspath(path)
    try:
        with open(file, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=file,
                         expected="a readable .mpr file") from None
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data):
            raise InputError(f"the file ends at byte {len(data)}, inside the file header",
                             file=file, field="header",
                             expected="a complete .mpr file (the file looks cut short)")
        at = next((i for i, (a, b) in enumerate(zip(data, MAGIC, strict=False))
                   if a != b), 0)
        raise InputError(f"the file starts with {data[:24]!r} (unlike an .mpr file from byte "
                         f"{at})", file=file, field="header",
                         expected="a BioLogic .mpr file starting with 'BIO-LOGIC MODULAR "
                                  "FILE'")
    modules = _modules(data, file)
    by_name = {}
    for m in modules:
        by_name.setdefault(m["name"], m)
    if "VMP data" not in by_name:
        found = [f"{m['name']!r} at byte {m['offset']}" for m in modules]
        raise InputError("no 'VMP data' module", file=file, field="VMP data",
                         expected=f"a data module; found {', '.join(found) or 'none'}")
    data_module = by_name["VMP data"]
    records, ids, layout, first_record = _read_records(data, data_module, file)
    with np.errstate(invalid="ignore"):  # a damaged NaN: reported by the sweep check
        columns = {name: np.asarray(records[name], dtype=float)
                   for name in records.dtype.names if name != "flags"}
    start = _ole_start(data, by_name.get("VMP LOG"))
    meta: dict[str, Any] = {
        "instrument": "BioLogic",
        "modules": [{k: m[k] for k in ("name", "version", "extra", "date", "offset", "length")}
                    for m in modules],
        "columns": [n for n in records.dtype.names if n != "flags"],
        "column_ids": ids,
        "data_layout": layout,
        "n_points": int(records.size),
    }
    if start is None:
        meta["start_time_note"] = "no acquisition start found in the LOG module"
    try:
        return biologic_spectra(columns, path=file, fmt="biologic-mpr", lines=None,
                                start=start, metadata=meta)
    except InputError as exc:
        raise _at_record(exc, first_record, records.dtype.itemsize) from None


def _at_record(exc: InputError, first: int, size: int) -> InputError:
    """The error of a bad point, naming the byte offset of its record (``row k`` is record
    ``k``, 1-based)."""
    if "byte" in exc.message:
        return exc
    found = re.search(r"\(row (\d+)\)", exc.message)
    if found:
        k = int(found.group(1))
        message = exc.message.replace(
            found.group(0), f"(record {k}, at byte {first + (k - 1) * size})")
    else:
        message = f"{exc.message} (records of {size} bytes from byte {first})"
    return InputError(message, file=exc.file, field=exc.field, expected=exc.expected,
                      line=exc.line)


# --------------------------------------------------------------------------- time-domain data
# Added for galvanostatic cycling (GCPL, CP, OCV, MB...): the same modules and records as the
# impedance reader above, returned as plain columns instead of impedance spectra.

#: Bits of the packed flags byte: column id -> (EC-Lab name, bit mask).
FLAG_BITS: dict[int, tuple[str, int]] = {
    1: ("mode", 0x03), 2: ("ox/red", 0x04), 3: ("error", 0x08), 21: ("control changes", 0x10),
    31: ("Ns changes", 0x20), 65: ("counter inc.", 0x80),
}


def read_biologic_mpr_columns(path: str | os.PathLike) -> tuple[dict[str, np.ndarray],
                                                                 dict[str, Any]]:
    """Every column of the data module of a BioLogic ``.mpr`` file, by its EC-Lab name.

    For time-domain techniques (GCPL, CP, CA, OCV, Modulo Bat...), whose files hold
    ``time/s``, ``Ewe/V``, ``I/mA``, ``control/mA``, ``Ns``, ``half cycle``, ``cycle number``
    and charge columns rather than impedance. The flags byte is unpacked into its named
    columns (``mode``, ``ox/red``, ``error``, ``control changes``, ``Ns changes``,
    ``counter inc.``), those whose ids the file lists.

    Parameters
    ----------
    path : str or PathLike
        The ``.mpr`` file (read-only).

    Returns
    -------
    columns : dict of str to ndarray
        In the file's types (``time/s`` float64, ``Ewe/V`` float32, ``Ns`` uint16...) and
        units (EC-Lab names carry them: ``I/mA`` is mA).
    metadata : dict
        ``instrument``, ``modules``, ``column_ids``, ``columns``, ``data_layout``,
        ``n_points`` and ``start_time`` (ISO 8601, from the LOG module) when found.

    Raises
    ------
    InputError
        As :func:`read_biologic_mpr`: not an .mpr file, a file cut short (naming the byte
        offset), an unknown column id (naming it).

    Examples
    --------
    ::

        cols, meta = read_biologic_mpr_columns("hybrid-drt-CP_SSB.mpr")
        cols["I/mA"][:3], meta["start_time"]
    """
    file = os.fspath(path)
    try:
        with open(file, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=file,
                         expected="a readable .mpr file") from None
    if not data.startswith(MAGIC):
        if MAGIC.startswith(data):
            raise InputError(f"the file ends at byte {len(data)}, inside the file header",
                             file=file, field="header",
                             expected="a complete .mpr file (the file looks cut short)")
        raise InputError(f"the file starts with {data[:24]!r}", file=file, field="header",
                         expected="a BioLogic .mpr file starting with 'BIO-LOGIC MODULAR "
                                  "FILE'")
    modules = _modules(data, file)
    by_name: dict[str, dict[str, Any]] = {}
    for m in modules:
        by_name.setdefault(m["name"], m)
    if "VMP data" not in by_name:
        raise InputError("no 'VMP data' module", file=file, field="VMP data",
                         expected=f"a data module; found {[m['name'] for m in modules]}")
    # the first three items of _read_records: records, column ids, layout (whatever follows)
    records, ids, layout = _read_records(data, by_name["VMP data"], file)[:3]
    columns: dict[str, np.ndarray] = {}
    for name in records.dtype.names:
        if name == "flags":
            flags = np.asarray(records["flags"])
            for cid, (flag, mask) in FLAG_BITS.items():
                if cid in ids:
                    shift = (mask & -mask).bit_length() - 1
                    columns[flag] = ((flags & mask) >> shift).astype(np.uint8)
        else:
            columns[name] = np.array(records[name])
    start = _ole_start(data, by_name.get("VMP LOG"))
    meta: dict[str, Any] = {
        "instrument": "BioLogic",
        "modules": [{k: m[k] for k in ("name", "version", "extra", "date", "offset", "length")}
                    for m in modules],
        "column_ids": ids,
        "columns": list(columns),
        "data_layout": layout,
        "n_points": int(records.size),
    }
    if start is not None:
        meta["start_time"] = start.isoformat()
    return columns, meta
