"""Readers of SIMS data: profiles and line scans (:func:`read_profile`), maps (:func:`read_map`).

Positions come back in metres, counts as they are in the file, fractions with their binomial
standard errors (:mod:`ionscale.tracer.fraction`). Files are opened read-only and never changed.

Accepted layouts
----------------

==========================  ==============================================  ===================
Layout                      Example (first lines)                           Result
==========================  ==============================================  ===================
profile, counts, header     ``x_um  6Li  7Li`` then rows ``0.5  120  1480`` ``Profile`` with
                                                                            fraction, binomial
                                                                            σ and ``counts``
profile, counts, no header  ``0.5,120,1480`` with ``isotopes=("6Li",        same
                            "7Li")`` (columns after the position, in order)
IONTOF-style ASCII export   ``# comments`` / text lines, then               same; the tracer is
                            ``Depth (nm)<TAB>6Li^+ (Counts)<TAB>7Li^+       the rarer isotope
                            (Counts)`` (or ``Sputter time (s)`` with        (⁶Li, ¹⁸O) unless
                            ``sputter_rate=``), then the numbers            ``isotopes`` says
profile, fraction           two columns, e.g. depth in cm and normalised    ``Profile`` with
                            ¹⁸O fraction, no header (``x_unit="cm"``)       ``sigma=None``
                                                                            (or a ``sigma`` /
                                                                            ``error`` column)
map, text matrix            one file per isotope (dict ``{"6Li": path}`` or ``CountMap``
                            list + ``isotopes``), whitespace / comma / tab
                            / semicolon, optional header lines
map, text with blocks       one file, one matrix per isotope separated by   ``CountMap``
                            blank or name lines (``# 6Li``)
map, TIFF                   single-channel files per isotope, or one        ``CountMap``
                            multi-channel file (``CYX`` or ``YXS``) with
                            ``isotopes`` in channel order
==========================  ==============================================  ===================

Delimiters (tab, ``;``, ``,``, whitespace) and a decimal comma are detected. Units of the
position column are read from its name when it states one (``Depth (nm)``, ``x [µm]``,
``depth_cm``, ``x/um``), otherwise ``x_unit`` applies. Isotope columns are recognised by name
(``6Li``, ``^6Li+``, ``6Li^+ (Counts)``, ``Li-6``).

Bad input raises :class:`~ionscale.errors.InputError` naming the file, the column (field) and,
for a bad row, the line: empty files, missing or non-numeric columns, NaN, negative counts,
positions that are not strictly increasing, maps of different shapes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..tracer.data import CountMap, Profile
from ..tracer.fraction import NATURAL_ABUNDANCE, isotope_fraction
from ..units import parse_quantity
from .text import (
    Table,
    find_blocks,
    parse_rows,
    read_lines,
    read_table,
    sniff_delimiter,
    split_unit,
    unit_scale,
    uses_decimal_comma,
)

__all__ = ["read_profile", "read_map", "isotope_label"]

_ISOTOPE = re.compile(r"(?<![A-Za-z0-9])\^?(?P<mass>\d{1,3})\s*(?P<symbol>[A-Z][a-z]?)(?![a-z])")
_ISOTOPE_DASH = re.compile(r"(?<![A-Za-z0-9])(?P<symbol>[A-Z][a-z]?)-(?P<mass>\d{1,3})(?!\d)")
_POSITION_WORDS = re.compile(r"^(depth|position|distance|x|y|z|pos|dist|length)$", re.I)
_TIME_WORDS = re.compile(r"(sputter\s*time|^time$|^t$)", re.I)
_FRACTION_WORDS = re.compile(r"(fraction|conc|ratio|norm|^c'?$|^c_?n$|isotop)", re.I)
_SIGMA_WORDS = re.compile(r"(sigma|err|std|uncert|^unc$|^s$|^u$)", re.I)
_TIFF_SUFFIXES = {".tif", ".tiff"}


def isotope_label(name: str) -> str | None:
    """The isotope a column or channel name refers to, as ``"6Li"``, or None.

    Examples
    --------
    >>> isotope_label("6Li^+ (Counts)"), isotope_label("^18O-"), isotope_label("Li-7")
    ('6Li', '18O', '7Li')
    >>> isotope_label("Depth (nm)") is None
    True
    """
    m = _ISOTOPE.search(name) or _ISOTOPE_DASH.search(name)
    if m is None:
        return None
    return f"{int(m.group('mass'))}{m.group('symbol')}"


def _element(label: str) -> str:
    return re.sub(r"^\d+", "", label)


# --------------------------------------------------------------------------- profiles

def _length_factor(unit: str, *, field: str, file: str) -> tuple[str, float]:
    scale = unit_scale(unit)
    if scale is not None:
        return scale
    return "length", parse_quantity(f"1 {unit}", "m", field=field, file=file)


def _position_kind(name: str) -> str | None:
    bare, unit = split_unit(name)
    scale = unit_scale(unit) if unit else None
    if scale is not None:
        return scale[0]
    if _TIME_WORDS.search(bare):
        return "time"
    if _POSITION_WORDS.match(bare):
        return "length"
    return None


def _choose_x(table: Table, x_column: str | int | None) -> int:
    if x_column is not None:
        return table.index(x_column)
    if table.has_header:
        kinds = [_position_kind(n) for n in table.columns]
        for wanted in ("length", "time"):
            if wanted in kinds:
                return kinds.index(wanted)
    return 0


def _rows_index(rows, n: int, path: str) -> np.ndarray:
    index = np.arange(n)
    if rows is None:
        return index
    try:
        chosen = index[rows]
    except (IndexError, TypeError, ValueError) as exc:
        raise InputError(f"cannot select rows {rows!r} from {n} rows ({exc})", file=path,
                         field="rows",
                         expected="a slice, integer indices or a boolean mask") from None
    chosen = np.atleast_1d(chosen)
    if chosen.size == 0:
        raise InputError(f"rows {rows!r} select nothing of {n} rows", file=path, field="rows",
                         expected="a selection of at least one row")
    return chosen


def _check_finite(values: np.ndarray, lines: np.ndarray, *, path: str, field: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"value {values[k]} is not a finite number", file=path, field=field,
                         line=int(lines[k]), expected="finite numbers")


def _match_column(table: Table, wanted: str | int, candidates: Sequence[int]) -> int | None:
    if isinstance(wanted, (int, np.integer)):
        return table.index(int(wanted))
    key = str(wanted).strip().lower()
    for j in candidates:
        if table.columns[j].strip().lower() == key:
            return j
    label = isotope_label(str(wanted))
    for j in candidates:
        if label is not None and isotope_label(table.columns[j]) == label:
            return j
    for j in candidates:
        if split_unit(table.columns[j])[0].lower() == key:
            return j
    return None


def _auto_isotopes(table: Table, value_cols: Sequence[int], path: str) -> list[tuple[str, int]]:
    labelled = [(isotope_label(table.columns[j]), j) for j in value_cols]
    labelled = [(lab, j) for lab, j in labelled if lab is not None]
    by_element: dict[str, list[tuple[str, int]]] = {}
    for lab, j in labelled:
        if lab not in {x for x, _ in by_element.get(_element(lab), [])}:
            by_element.setdefault(_element(lab), []).append((lab, j))
    pairs = [group for group in by_element.values() if len(group) >= 2]
    if len(pairs) != 1:
        found = [lab for lab, _ in labelled]
        raise InputError(
            f"cannot tell which count columns to use (isotopes found: {found or 'none'})",
            file=path, field="isotopes",
            expected="isotopes=('6Li', '7Li') naming the tracer and the other isotope(s)")
    group = pairs[0]
    if all(lab in NATURAL_ABUNDANCE for lab, _ in group):
        # the tracer is the rarer isotope: the one the experiment enriches
        tracer = min(group, key=lambda item: NATURAL_ABUNDANCE[item[0]])
        group = [tracer] + [g for g in group if g is not tracer]
    return group


def _select_isotopes(table: Table, isotopes, value_cols: Sequence[int],
                     path: str) -> list[tuple[str, int]]:
    if isotopes is None:
        if not table.has_header:
            raise InputError("the file has no header naming the count columns", file=path,
                             field="isotopes",
                             expected="isotopes=('6Li', '7Li') for the columns after the "
                                      "position, or kind='fraction'")
        return _auto_isotopes(table, value_cols, path)
    if isinstance(isotopes, str):
        isotopes = [isotopes]
    if isinstance(isotopes, Mapping):
        chosen = []
        for iso, col in isotopes.items():
            j = _match_column(table, col, range(len(table.columns)))
            if j is None:
                raise InputError(f"no column {col!r} for isotope {iso}", file=path,
                                 field=str(col), expected=f"one of {list(table.columns)}")
            chosen.append((str(iso), j))
    elif table.has_header:
        chosen = []
        for iso in isotopes:
            j = _match_column(table, iso, value_cols)
            if j is None:
                raise InputError("no count column for this isotope", file=path,
                                 field=str(iso), expected=f"one of {list(table.columns)}")
            chosen.append((str(iso), j))
    else:
        isotopes = list(isotopes)
        if len(isotopes) > len(value_cols):
            raise InputError(f"{len(isotopes)} isotopes named but the file has "
                             f"{len(value_cols)} columns after the position", file=path,
                             field=str(isotopes[len(value_cols)]),
                             expected=f"at most {len(value_cols)} isotopes")
        chosen = [(str(iso), j) for iso, j in zip(isotopes, value_cols, strict=False)]
    if len(chosen) < 2:
        raise InputError("counts of at least two isotopes are needed for a fraction", file=path,
                         field="isotopes", expected="the tracer and the other isotope(s), or "
                                                    "kind='fraction'")
    return chosen


def _fraction_column(table: Table, value_cols: Sequence[int], fraction_column,
                     isotopes, path: str) -> int:
    wanted = fraction_column
    if wanted is None and isotopes is not None:
        if isinstance(isotopes, str):
            wanted = isotopes
        elif not isinstance(isotopes, Mapping) and len(isotopes) == 1:
            wanted = list(isotopes)[0]
    if wanted is not None:
        if not table.has_header and not isinstance(wanted, int):
            return value_cols[0] if len(value_cols) >= 1 else table.index(wanted)
        j = _match_column(table, wanted, range(len(table.columns)))
        if j is None:
            raise InputError("no such fraction column in the file", file=path,
                             field=str(wanted), expected=f"one of {list(table.columns)}")
        return j
    if len(value_cols) == 1:
        return value_cols[0]
    named = [j for j in value_cols if _FRACTION_WORDS.search(split_unit(table.columns[j])[0])]
    if len(named) == 1:
        return named[0]
    found = [table.columns[j] for j in value_cols]
    raise InputError(f"cannot tell the fraction column among {found}", file=path,
                     field="fraction_column", expected="fraction_column= naming it")


def read_profile(
    path: str | os.PathLike,
    *,
    x_column: str | int | None = None,
    isotopes: Sequence[str] | Mapping[str, str | int] | str | None = None,
    x_unit: str = "um",
    kind: str | None = None,
    rows: slice | Sequence[int] | np.ndarray | None = None,
    fraction_column: str | int | None = None,
    sputter_rate: float | str | None = None,
    delimiter: str | None | type[Ellipsis] = ...,
) -> Profile:
    """Read a SIMS depth profile or line scan from delimited text.

    Parameters
    ----------
    path : str or PathLike
        The text file (see the module docstring for the layouts).
    x_column : str or int, optional
        Position column by name or index; default: the first column named like a position
        (``Depth``, ``x``, a length unit), else a sputter time, else the first column. Columns
        are selected by name in any order (``X,dis`` with ``x_column="dis"``).
    isotopes : sequence of str, dict or str, optional
        Count columns, tracer first: names matched against the header (``("6Li", "7Li")``;
        further isotopes are summed with the second), the columns after the position in
        order when there is no header, or a dict ``{isotope: column}``. Default: the two
        isotopes of one element found in the header, the rarer one (⁶Li, ¹⁸O) as tracer.
    x_unit : str
        Unit of the position column when its name does not say (``"um"``, ``"nm"``,
        ``"cm"``...; ``"s"`` for sputter time).
    kind : {"counts", "fraction"}, optional
        Force the layout; detected by default (one value column: fraction).
    rows : slice, sequence of int or bool array, optional
        Data rows to keep (0-based, in file order), e.g. ``slice(0, 584)``.
    fraction_column : str or int, optional
        Fraction column for the fraction layout when the file has several value columns.
    sputter_rate : float or str, optional
        Sputter rate (m/s, or ``"0.2 nm/s"``) to convert a sputter-time column into depth.
    delimiter : str or None, optional
        Force the delimiter (None: whitespace); sniffed by default.

    Returns
    -------
    Profile
        ``x`` in m, strictly increasing. Counts layout: binomial ``fraction`` and ``sigma``,
        ``counts`` per isotope. Fraction layout: the column as it is, ``sigma`` from a
        ``sigma``/``error`` column if there is one, else None. ``metadata`` holds the layout,
        column names, units, header lines and line numbers.

    Raises
    ------
    InputError
        Naming the file, the column and (for a bad row) the line.

    Examples
    --------
    Depth in cm and a normalised ¹⁸O fraction, no header, first anneal only::

        p = read_profile("bayesecr-18O-pH2O-dependent-1.txt", x_unit="cm", rows=slice(0, 584))
        p.x[0]   # 2e-05 (m)
    """
    file = os.fspath(path)
    if kind not in (None, "counts", "fraction"):
        raise InputError(f"unknown kind {kind!r}", file=file, field="kind",
                         expected="'counts', 'fraction' or None")
    table = read_table(path, delimiter=delimiter)
    xi = _choose_x(table, x_column)
    x_name = table.columns[xi]
    others = [j for j in range(len(table.columns)) if j != xi]
    if table.has_header:
        value_cols = [j for j in others if _position_kind(table.columns[j]) is None]
        if not value_cols and x_column is not None:
            # the position was named: the other columns hold values, whatever they are called
            # (a mole fraction ``X`` beside ``dis``)
            value_cols = others
    else:
        value_cols = others
    sigma_cols = [j for j in value_cols
                  if table.has_header and _SIGMA_WORDS.search(split_unit(table.columns[j])[0])]
    value_cols = [j for j in value_cols if j not in sigma_cols]

    layout = kind
    if layout is None:
        if fraction_column is not None:
            layout = "fraction"
        elif isotopes is not None and not isinstance(isotopes, str) and len(isotopes) >= 2:
            layout = "counts"
        elif len(value_cols) == 1 or isinstance(isotopes, str) or (
                isotopes is not None and len(isotopes) == 1):
            layout = "fraction"
        else:
            layout = "counts"
    if not value_cols and not (layout == "counts" and isinstance(isotopes, Mapping)) \
            and fraction_column is None:
        raise InputError("the file has a position column but no values", file=file,
                         field="data", expected="a count or fraction column after the position")

    # positions
    bare, unit = split_unit(x_name) if table.has_header else (x_name, None)
    unit_source = "header"
    scale = unit_scale(unit) if unit else None
    if scale is None:
        unit, unit_source = x_unit, "argument"
        scale = _length_factor(x_unit, field="x_unit", file=file)
    quantity, factor = scale
    if quantity == "time":
        if sputter_rate is None:
            raise InputError(f"the position column is a sputter time in {unit}", file=file,
                             field=x_name, expected="sputter_rate= (m/s) to convert it to depth")
        rate = parse_quantity(sputter_rate, "m/s", field="sputter_rate", file=file)
        if not (np.isfinite(rate) and rate > 0):
            raise InputError(f"sputter rate {rate} is not positive", file=file,
                             field="sputter_rate", expected="a positive rate in m/s")
        factor *= rate

    chosen = _rows_index(rows, len(table), file)
    lines = table.lines[chosen]
    x_raw = table.data[chosen, xi]
    _check_finite(x_raw, lines, path=file, field=x_name)
    x = x_raw * factor
    if x.size > 1:
        step = np.diff(x)
        if np.any(step <= 0):
            k = int(np.argmax(step <= 0)) + 1
            what = "repeats" if step[k - 1] == 0 else "decreases"
            raise InputError(f"position {x_raw[k]:g} {what} (previous {x_raw[k - 1]:g})",
                             file=file, field=x_name, line=int(lines[k]),
                             expected="strictly increasing positions (sort the rows or select "
                                      "one profile with rows=)")

    meta: dict[str, Any] = {
        "layout": layout, "x_column": x_name, "x_unit": unit, "x_unit_source": unit_source,
        "x_quantity": "sputter time" if quantity == "time" else "position",
        "columns": list(table.columns), "header": list(table.header),
        "delimiter": table.delimiter, "lines": [int(lines[0]), int(lines[-1])],
        "rows": None if rows is None else repr(rows),
    }
    if sputter_rate is not None:
        meta["sputter_rate"] = parse_quantity(sputter_rate, "m/s", field="sputter_rate",
                                              file=file)

    if layout == "fraction":
        fj = _fraction_column(table, value_cols, fraction_column, isotopes, file)
        if fj == xi:
            raise InputError("the fraction column is the position column", file=file,
                             field=x_name, expected="different position and fraction columns")
        frac = table.data[chosen, fj]
        _check_finite(frac, lines, path=file, field=table.columns[fj])
        sigma = None
        if sigma_cols:
            sj = sigma_cols[0]
            sigma = table.data[chosen, sj]
            _check_finite(sigma, lines, path=file, field=table.columns[sj])
            if np.any(sigma < 0):
                k = int(np.argmax(sigma < 0))
                raise InputError(f"negative standard error {sigma[k]:g}", file=file,
                                 field=table.columns[sj], line=int(lines[k]),
                                 expected="standard errors >= 0")
            meta["sigma_column"] = table.columns[sj]
        meta["fraction_column"] = table.columns[fj]
        given = [isotopes] if isinstance(isotopes, str) else list(isotopes or [])
        if len(given) == 1:
            meta["tracer"] = isotope_label(str(given[0])) or str(given[0])
        elif table.has_header and isotope_label(table.columns[fj]):
            meta["tracer"] = isotope_label(table.columns[fj])
        return Profile(x=x, fraction=np.array(frac, dtype=float),
                       sigma=None if sigma is None else np.array(sigma, dtype=float),
                       counts=None, source=file, metadata=meta)

    pairs = _select_isotopes(table, isotopes, value_cols, file)
    counts: dict[str, np.ndarray] = {}
    for iso, j in pairs:
        name = table.columns[j] if table.has_header else iso
        values = np.array(table.data[chosen, j], dtype=float)
        _check_finite(values, lines, path=file, field=name)
        if np.any(values < 0):
            k = int(np.argmax(values < 0))
            raise InputError(f"negative count {values[k]:g}", file=file, field=name,
                             line=int(lines[k]), expected="counts >= 0")
        counts[iso] = values
    tracer = pairs[0][0]
    other_names = [iso for iso, _ in pairs[1:]]
    other = np.sum([counts[iso] for iso in other_names], axis=0)
    frac, sigma = isotope_fraction(counts[tracer], other)
    meta.update({"tracer": tracer, "other": other_names,
                 "count_columns": {iso: table.columns[j] for iso, j in pairs}})
    return Profile(x=x, fraction=frac, sigma=sigma, counts=counts, source=file, metadata=meta)


# --------------------------------------------------------------------------- maps

def _length_pair(value, name: str, *, positive: bool) -> tuple[float, float]:
    if isinstance(value, (str, int, float, np.integer, np.floating)) and not isinstance(
            value, bool):
        pair = (value, value)
    else:
        try:
            pair = tuple(value)
        except TypeError:
            raise InputError(f"cannot read {value!r}", field=name,
                             expected="a length in m, a string such as '1 um', or a (dy, dx) "
                                      "pair") from None
        if len(pair) != 2:
            raise InputError(f"{len(pair)} values given", field=name,
                             expected="a (dy, dx) pair")
    out = tuple(parse_quantity(v if isinstance(v, str) else float(v), "m", field=name)
                for v in pair)
    for v in out:
        if not np.isfinite(v) or (positive and v <= 0):
            raise InputError(f"{name} {v} m is not {'positive' if positive else 'finite'}",
                             field=name, expected="positive lengths" if positive else
                             "finite lengths")
    return out  # type: ignore[return-value]


def _check_counts(arr: np.ndarray, *, file: str, field: str,
                  lines: Sequence[int] | None = None) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise InputError(f"the data are of type {arr.dtype}", file=file, field=field,
                         expected="real-valued counts")
    if arr.ndim != 2:
        raise InputError(f"the channel has shape {arr.shape}", file=file, field=field,
                         expected="a 2D (y, x) map")
    if arr.size == 0:
        raise InputError("the map is empty", file=file, field=field, expected="counts")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            r, c = np.unravel_index(int(np.argmax(bad)), arr.shape)
            raise InputError(f"pixel (y={r}, x={c}) is {arr[r, c]}", file=file, field=field,
                             line=None if lines is None else int(lines[r]),
                             expected="finite counts")
    if arr.dtype.kind in "if" and np.any(arr < 0):
        r, c = np.unravel_index(int(np.argmax(arr < 0)), arr.shape)
        raise InputError(f"pixel (y={r}, x={c}) has negative counts {arr[r, c]:g}", file=file,
                         field=field, line=None if lines is None else int(lines[r]),
                         expected="counts >= 0")
    return arr


def _text_channels(path: str, names: Sequence[str] | None) -> list[tuple[str | None,
                                                                           np.ndarray, tuple]]:
    lines = read_lines(path)
    if not any(ln.strip() for ln in lines):
        raise InputError("the file is empty", file=path, field="data",
                         expected="a matrix of counts")
    delim = sniff_delimiter(lines)
    content = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    decimal_comma = uses_decimal_comma(content, delim)
    blocks = find_blocks(lines, delim, decimal_comma=decimal_comma)
    if not blocks:
        raise InputError("the file has no rows of numbers", file=path, field="data",
                         expected="a matrix of counts after any header lines")
    out = []
    for k, block in enumerate(blocks):
        label = None
        for text in reversed(block.preamble):
            label = isotope_label(text)
            if label is not None:
                break
        field = (names[k] if names is not None and k < len(names) else label) or "counts"
        arr = parse_rows(block.rows, block.lines, columns=[field] * len(block.rows[0]),
                         file=path, decimal_comma=decimal_comma)
        out.append((label, arr, block.lines, block.preamble))
    return out


def _tiff_channels(path: str, n_wanted: int | None) -> tuple[list[np.ndarray], list[str | None]]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = series.asarray()
            axes = series.axes
            labels = (tif.imagej_metadata or {}).get("Labels") if tif.is_imagej else None
    except Exception as exc:  # tifffile raises several types for broken files
        raise InputError(f"cannot read the TIFF ({exc})", file=path, field="data",
                         expected="a readable TIFF image") from None
    keep = [i for i, n in enumerate(data.shape) if n != 1 or axes[i] in "YX"]
    if len(keep) != data.ndim:
        axes = "".join(axes[i] for i in keep)
        data = data.reshape([data.shape[i] for i in keep])
    if data.ndim == 2:
        return [data], [None]
    if data.ndim != 3:
        raise InputError(f"the image has shape {data.shape} (axes {axes})", file=path,
                         field="data", expected="a 2D map or a stack of 2D channel maps")
    others = [i for i, a in enumerate(axes) if a not in "YX"]
    if len(others) == 1 and "Y" in axes and "X" in axes:
        channel_axis = others[0]
    elif n_wanted is not None and data.shape[-1] == n_wanted and data.shape[0] != n_wanted:
        channel_axis = 2
    else:
        channel_axis = 0
    stack = np.moveaxis(data, channel_axis, 0)
    names: list[str | None] = [None] * stack.shape[0]
    if labels is not None and len(labels) == stack.shape[0]:
        names = [isotope_label(str(lab)) for lab in labels]
    return list(stack), names


def _label_from_filename(path: str) -> str | None:
    return isotope_label(Path(path).stem.replace("_", " "))


def _read_file_channels(path: str, isotopes: Sequence[str] | None
                        ) -> list[tuple[str, np.ndarray, tuple | None, tuple]]:
    """Channels of one file as ``(isotope, array, line numbers, header lines)``."""
    if Path(path).suffix.lower() in _TIFF_SUFFIXES:
        arrays, labels = _tiff_channels(path, None if isotopes is None else len(isotopes))
        found = [(lab, arr, None, ()) for lab, arr in zip(labels, arrays, strict=True)]
    else:
        found = _text_channels(path, isotopes)
    if isotopes is not None:
        if len(isotopes) != len(found):
            raise InputError(f"{len(isotopes)} isotopes named but the file has {len(found)} "
                             "channel(s)", file=path, field="isotopes",
                             expected=f"{len(found)} isotope name(s) in channel order")
        names = list(isotopes)
    else:
        names = [lab for lab, *_ in found]
        if len(found) == 1 and names[0] is None:
            names = [_label_from_filename(path)]
        if any(n is None for n in names):
            raise InputError(f"cannot tell which isotope each of the {len(found)} channel(s) is",
                             file=path, field="isotopes",
                             expected="isotopes= naming the channels in order, or a dict "
                                      "{isotope: path}")
    return [(str(n), arr, lines, pre)
            for n, (_, arr, lines, pre) in zip(names, found, strict=True)]


def read_map(
    paths_or_path: str | os.PathLike | Sequence[str | os.PathLike]
    | Mapping[str, str | os.PathLike],
    *,
    isotopes: Sequence[str] | None = None,
    pixel_size: float | str | Sequence[float | str],
    origin: Sequence[float | str] = (0.0, 0.0),
) -> CountMap:
    """Read SIMS count maps of several isotopes onto one :class:`CountMap`.

    Parameters
    ----------
    paths_or_path : path, sequence of paths, or dict of isotope to path
        One file per isotope (dict, or a list with ``isotopes`` in the same order; names are
        also read from file names such as ``scan_6Li.txt``), or one file holding every
        channel (a multi-channel TIFF, or a text file with one matrix per isotope separated
        by blank or name lines).
    isotopes : sequence of str, optional
        Isotope names in the order of the files or of the channels in the one file.
    pixel_size : float, str or (dy, dx)
        Pixel size in m, or a quantity string (``"72 nm"``), or a pair for ``(y, x)``.
    origin : (y0, x0)
        Position of the centre of pixel ``[0, 0]``, m (or quantity strings).

    Returns
    -------
    CountMap
        Counts as in the files (text: float; TIFF: the file's dtype), ``(y, x)`` with row 0
        the first row of the file. ``metadata`` holds each channel's file and header lines.

    Raises
    ------
    InputError
        Naming the file and the isotope (field): unreadable or empty files, non-numeric
        entries (with the line), NaN, negative counts, channels of different shapes.

    Examples
    --------
    ::

        cmap = read_map({"6Li": "li6.txt", "7Li": "li7.txt"}, pixel_size="0.2 um")
    """
    dy_dx = _length_pair(pixel_size, "pixel_size", positive=True)
    y0_x0 = _length_pair(origin, "origin", positive=False)
    channels: list[tuple[str, np.ndarray, tuple | None, tuple, str]] = []
    if isinstance(paths_or_path, Mapping):
        if isotopes is not None:
            raise InputError("isotopes given twice (dict keys and isotopes=)", field="isotopes",
                             expected="either a dict {isotope: path} or isotopes=")
        for iso, p in paths_or_path.items():
            (name, arr, lines, pre), *rest = _read_file_channels(os.fspath(p), [str(iso)])
            channels.append((name, arr, lines, pre, os.fspath(p)))
    elif isinstance(paths_or_path, (str, os.PathLike)):
        p = os.fspath(paths_or_path)
        for name, arr, lines, pre in _read_file_channels(p, isotopes):
            channels.append((name, arr, lines, pre, p))
    else:
        paths = [os.fspath(p) for p in paths_or_path]
        if isotopes is not None and len(isotopes) != len(paths):
            raise InputError(f"{len(isotopes)} isotopes for {len(paths)} files",
                             field="isotopes", expected="one isotope name per file")
        for k, p in enumerate(paths):
            names = None if isotopes is None else [isotopes[k]]
            for name, arr, lines, pre in _read_file_channels(p, names):
                channels.append((name, arr, lines, pre, p))
    if not channels:
        raise InputError("no map files given", field="paths_or_path",
                         expected="at least one file")
    counts: dict[str, np.ndarray] = {}
    shape = None
    first = None
    meta: dict[str, Any] = {"files": {}, "header": {}}
    for name, arr, lines, pre, p in channels:
        if name in counts:
            raise InputError(f"isotope {name} appears twice", file=p, field=name,
                             expected="each isotope once")
        arr = np.asarray(arr)
        if arr.dtype.kind == "f" and arr.dtype != np.float64:
            arr = arr.astype(np.float64)
        _check_counts(arr, file=p, field=name, lines=lines)
        if shape is None:
            shape, first = arr.shape, (name, p)
        elif arr.shape != shape:
            raise InputError(f"map shape {arr.shape} differs from {shape} of {first[0]} in "
                             f"{first[1]}", file=p, field=name,
                             expected="maps of the same (y, x) shape")
        counts[name] = arr
        meta["files"][name] = p
        meta["header"][name] = list(pre)
    sources = tuple(dict.fromkeys(p for *_, p in channels))
    return CountMap(counts=counts, pixel_size=dy_dx, origin=y0_x0, sources=sources,
                    metadata=meta)
