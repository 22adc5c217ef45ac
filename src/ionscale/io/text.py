"""Delimited-text helpers shared by the ionscale readers.

Instrument software writes numbers as text in many small variations: tab, comma, semicolon or
whitespace delimiters, a few lines of metadata or ``#`` comments before the numbers, a header
row naming the columns (often with a unit, ``Depth (nm)``), sometimes a decimal comma. The
functions here turn such a file into a :class:`Table` (named float columns with the 1-based
line number of every row) or a list of :class:`TextBlock` (numeric blocks separated by blank
or text lines, for matrices), and report a bad row by file, column and line.

They never modify the file: it is opened read-only, once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..units import unit_factor

#: Delimiters tried by :func:`sniff_delimiter`, in order of preference (``None`` = whitespace).
DELIMITERS: tuple[str | None, ...] = ("\t", ";", ",", None)

#: Length units that may appear in a column name, with their size in m.
_BRACKET_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[\{]\s*(?P<unit>[^\)\]\}]*?)\s*[\)\]\}]\s*$")
_SLASH_UNIT = re.compile(r"^(?P<name>.*?\S)\s*/\s*(?P<unit>[^/\s]+)$")
_SUFFIX_UNIT = re.compile(r"^(?P<name>.*?\S)[_\s]+(?P<unit>[A-Za-zµμÅå]+)$")


#: A text file held as Python lines takes about this many times its size in memory.
TEXT_MEMORY_FACTOR = 10


def _available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``), None when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def decode_text(raw: bytes, path: str | os.PathLike | None = None) -> str:
    """Text from an instrument export's bytes: UTF-8 (with or without byte-order mark),
    UTF-16/32 (byte-order mark, or UTF-16 recognised by its zero bytes), else Latin-1.

    Raises
    ------
    InputError
        The bytes are binary (zero bytes that are not UTF-16 text).
    """
    import codecs

    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"not valid {encoding} text ({exc.reason} at byte {exc.start})",
                                 file=path, expected=f"a complete {encoding} text file") from None
    head = raw[:4096]
    if b"\x00" in head:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is zero
        even, odd = head[0::2], head[1::2]
        for zeros, encoding in ((odd, "utf-16-le"), (even, "utf-16-be")):
            if len(zeros) > 8 and zeros.count(0) > 0.9 * len(zeros):
                try:
                    return raw.decode(encoding)
                except UnicodeDecodeError:
                    break
        raise InputError("the file is binary, not text", file=path,
                         expected="a delimited text file (UTF-8, UTF-16 or Latin-1)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_lines(path: str | os.PathLike) -> list[str]:
    """Read a text file into lines (without line ends).

    UTF-8 (with or without byte-order mark) is tried first, UTF-16/32 are recognised, then
    Latin-1, which decodes any byte sequence (old Windows exports write ``µ`` as one Latin-1
    byte).

    Parameters
    ----------
    path : str or PathLike
        The file.

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        If the file does not exist, cannot be read, is binary, or is too large to hold in the
        memory available (its lines take about ten times its size).
    """
    try:
        size = os.path.getsize(path)
        available = _available_memory()
        if available is not None and size * TEXT_MEMORY_FACTOR > available:
            raise InputError(
                f"the file is {size / 2**30:.2f} GiB; reading it as text needs about "
                f"{size * TEXT_MEMORY_FACTOR / 2**30:.1f} GiB but {available / 2**30:.1f} GiB "
                "is available", file=path, expected="a smaller file (split it)")
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path,
                         expected="a readable text file") from None
    return decode_text(raw, path).splitlines()


def is_comment(line: str, comment: str | Sequence[str] = "#") -> bool:
    """True when ``line`` (after leading spaces) starts with a comment marker."""
    markers = (comment,) if isinstance(comment, str) else tuple(comment)
    stripped = line.lstrip()
    return any(m and stripped.startswith(m) for m in markers)


def split_line(line: str, delimiter: str | None) -> list[str]:
    """Split a line into stripped fields; ``delimiter=None`` splits on runs of whitespace.

    A trailing empty field (a line ending with the delimiter) is dropped.
    """
    text = line.strip()
    if delimiter is None:
        return text.split()
    fields = [f.strip() for f in text.split(delimiter)]
    while len(fields) > 1 and fields[-1] == "":
        fields.pop()
    return fields


def parse_float(token: str, *, decimal_comma: bool = False) -> float | None:
    """A number from a text field, or None when the field is not a number.

    ``nan`` and ``inf`` are numbers here (the readers reject them with a precise message later).
    With ``decimal_comma`` a comma is read as the decimal mark (``"1,5"`` -> 1.5).
    """
    try:
        return float(token)
    except ValueError:
        pass
    if decimal_comma and "," in token:
        try:
            return float(token.replace(",", "."))
        except ValueError:
            return None
    return None


def _numeric_share(fields: list[str], decimal_comma: bool) -> float:
    if not fields:
        return 0.0
    return sum(parse_float(f, decimal_comma=decimal_comma) is not None for f in fields) / len(
        fields)


def is_data_like(fields: list[str], *, decimal_comma: bool = False) -> bool:
    """True when a split line looks like a row of numbers (a bad row included).

    A row is data-like when its first field is a number or more than half its fields are, so a
    row with one unreadable value is reported as a bad row rather than taken for a header.
    """
    if not fields or fields == [""]:
        return False
    if parse_float(fields[0], decimal_comma=decimal_comma) is not None:
        return True
    return _numeric_share(fields, decimal_comma) > 0.5


def sniff_delimiter(lines: Sequence[str], *, comment: str | Sequence[str] = "#") -> str | None:
    """Guess the delimiter of the numeric lines of a file.

    The last (up to 50) non-blank, non-comment lines are split with each of tab, ``;``, ``,``
    and whitespace in turn; the first delimiter that splits the lines starting with a number
    into the same number (at least two) of fields wins (one ragged line in ten is tolerated, so
    that the reader can report it by line). Whitespace (``None``) is
    the answer when nothing splits (one column).

    Parameters
    ----------
    lines : sequence of str
        Lines of the file.
    comment : str or sequence of str
        Comment markers.

    Returns
    -------
    str or None
    """
    content = [ln for ln in lines if ln.strip() and not is_comment(ln, comment)]
    sample = content[-50:]
    if not sample:
        return None
    for delim in DELIMITERS:
        widths: dict[int, int] = {}
        for ln in sample:
            fields = split_line(ln, delim)
            if parse_float(fields[0], decimal_comma=delim != ",") is None:
                # a header or bad row inside the sample: judge on the others
                continue
            widths[len(fields)] = widths.get(len(fields), 0) + 1
        if not widths:
            continue
        width, hits = max(widths.items(), key=lambda item: (item[1], item[0]))
        misses = sum(widths.values()) - hits
        # tolerate one ragged row in ten (reported later, with its line, by the reader)
        if width >= 2 and misses <= max(1, sum(widths.values()) // 10):
            return delim
    return None


def uses_decimal_comma(lines: Sequence[str], delimiter: str | None) -> bool:
    """True when the fields of ``lines`` use a comma as the decimal mark (not as delimiter)."""
    if delimiter == ",":
        return False
    for ln in lines[-50:]:
        for f in split_line(ln, delimiter):
            if "," in f and parse_float(f) is None and parse_float(f, decimal_comma=True):
                return True
    return False


@dataclass(frozen=True)
class TextBlock:
    """A run of data-like lines of one text file, not yet converted to numbers.

    Attributes
    ----------
    rows : list of list of str
        The split fields of each line.
    lines : tuple of int
        1-based line number of each row in the file.
    preamble : tuple of str
        The non-blank text and comment lines between the previous block (or the start of the
        file) and this block.
    """

    rows: list[list[str]]
    lines: tuple[int, ...]
    preamble: tuple[str, ...] = ()


def find_blocks(
    lines: Sequence[str],
    delimiter: str | None,
    *,
    comment: str | Sequence[str] = "#",
    decimal_comma: bool = False,
    split_on_blank: bool = True,
) -> list[TextBlock]:
    """Split a file's lines into blocks of data-like lines.

    A block ends at a text line, a comment line and (with ``split_on_blank``) a blank line.

    Parameters
    ----------
    lines : sequence of str
        Lines of the file.
    delimiter : str or None
        Field delimiter (None: whitespace).
    comment : str or sequence of str
        Comment markers.
    decimal_comma : bool
        Read ``,`` as the decimal mark.
    split_on_blank : bool
        Whether a blank line ends a block.

    Returns
    -------
    list of TextBlock
    """
    blocks: list[TextBlock] = []
    preamble: list[str] = []
    rows: list[list[str]] = []
    numbers: list[int] = []

    def close() -> None:
        nonlocal rows, numbers, preamble
        if rows:
            blocks.append(TextBlock(rows=rows, lines=tuple(numbers), preamble=tuple(preamble)))
            rows, numbers, preamble = [], [], []

    for i, ln in enumerate(lines, start=1):
        if not ln.strip():
            if split_on_blank:
                close()
            continue
        if is_comment(ln, comment):
            close()
            preamble.append(ln.strip())
            continue
        fields = split_line(ln, delimiter)
        if is_data_like(fields, decimal_comma=decimal_comma):
            rows.append(fields)
            numbers.append(i)
        else:
            close()
            preamble.append(ln.strip())
    close()
    return blocks


def parse_rows(
    rows: Sequence[Sequence[str]],
    lines: Sequence[int],
    *,
    columns: Sequence[str] | None = None,
    file: str | os.PathLike | None = None,
    decimal_comma: bool = False,
) -> np.ndarray:
    """Convert split rows of text into a float array, naming the first bad field.

    Parameters
    ----------
    rows : sequence of sequence of str
        Split fields; every row must have the same number of fields.
    lines : sequence of int
        1-based line number of each row (for messages).
    columns : sequence of str, optional
        Column names (for messages); ``column 1``, ``column 2``... by default.
    file : str or PathLike, optional
        File named in messages.
    decimal_comma : bool
        Read ``,`` as the decimal mark.

    Returns
    -------
    ndarray, shape (n_rows, n_columns)

    Raises
    ------
    InputError
        For a row with a different number of fields or a field that is not a number.
    """
    if not rows:
        return np.empty((0, 0 if columns is None else len(columns)))
    ncols = len(rows[0]) if columns is None else len(columns)
    names = list(columns) if columns is not None else [f"column {j + 1}" for j in range(ncols)]
    out = np.empty((len(rows), ncols))
    for r, (fields, line) in enumerate(zip(rows, lines, strict=True)):
        if len(fields) != ncols:
            raise InputError(f"row has {len(fields)} fields but the block has {ncols}",
                             file=file, field="data", line=int(line),
                             expected=f"{ncols} fields on every row")
        for j, tok in enumerate(fields):
            value = parse_float(tok, decimal_comma=decimal_comma)
            if value is None:
                raise InputError(f"cannot read {tok!r} as a number", file=file, field=names[j],
                                 line=int(line), expected="a number")
            out[r, j] = value
    return out


def split_unit(name: str) -> tuple[str, str | None]:
    """Split a column name into a bare name and the unit it states, if any.

    Recognises ``Depth (nm)``, ``x [µm]``, ``depth / cm``, and a known length or time unit
    as a suffix (``depth_cm``, ``x_um``, ``time s``).

    Examples
    --------
    >>> split_unit("Depth (nm)")
    ('Depth', 'nm')
    >>> split_unit("depth_cm")
    ('depth', 'cm')
    >>> split_unit("6Li")
    ('6Li', None)
    """
    text = name.strip()
    m = _BRACKET_UNIT.match(text)
    if m and m.group("name"):
        return m.group("name").strip(), m.group("unit").strip() or None
    m = _SLASH_UNIT.match(text)
    if m:
        return m.group("name").strip(), m.group("unit").strip()
    m = _SUFFIX_UNIT.match(text)
    if m and unit_scale(m.group("unit")) is not None:
        return m.group("name").strip(), m.group("unit")
    return text, None


def unit_scale(unit: str) -> tuple[str, float] | None:
    """``("length", metres per unit)`` or ``("time", seconds per unit)`` for a unit label.

    Returns None for anything else (``Counts``, ``a.u.``, ``%``). The conversion itself is
    :func:`ionscale.units.unit_factor`, the one place unit labels are read.
    """
    for kind, si in (("length", "m"), ("time", "s")):
        factor = unit_factor(unit, si)
        if factor is not None:
            return kind, factor
    return None


def row_range(text: str | None, *, field: str, file: str | None = None) -> slice | None:
    """``"start:stop"`` (0-based, stop excluded, either side may be empty) as a slice.

    Examples
    --------
    >>> row_range("0:584", field="rows")
    slice(0, 584, None)
    """
    if text is None:
        return None
    try:
        start, stop = (int(s) if s.strip() else None for s in str(text).split(":"))
    except ValueError:
        raise InputError(f"cannot read rows {text!r}", file=file, field=field,
                         expected="'start:stop' such as '0:584'") from None
    return slice(start, stop)


def _merge_unit_tokens(tokens: list[str]) -> list[str]:
    """Rejoin ``T (K)`` or ``x [µm]`` that a whitespace split cut in two."""
    merged: list[str] = []
    for t in tokens:
        if merged and t[:1] in "([":
            merged[-1] += " " + t
        else:
            merged.append(t)
    return merged


def _header_names(line: str, delimiter: str | None, ncols: int,
                  comment: str | Sequence[str]) -> tuple[str, ...] | None:
    text = line.strip()
    if is_comment(text, comment):
        markers = (comment,) if isinstance(comment, str) else tuple(comment)
        for m in markers:
            if m and text.startswith(m):
                text = text[len(m):].strip()
                break
    candidates = [split_line(text, delimiter)]
    if delimiter is None:
        candidates.append([f.strip() for f in re.split(r"\t|\s{2,}", text) if f.strip()])
        candidates.append(_merge_unit_tokens(text.split()))
    for names in candidates:
        if len(names) == ncols and all(n and parse_float(n) is None for n in names):
            return tuple(names)
    return None


@dataclass(frozen=True)
class Table:
    """Named numeric columns read from a delimited text file.

    Attributes
    ----------
    data : ndarray, shape (n_rows, n_columns)
        The numbers, float.
    columns : tuple of str
        Column names from the header row (``column 1``, ``column 2``... when there is none).
    lines : ndarray of int
        1-based line number of every row in the file.
    has_header : bool
        Whether the names came from a header row.
    header : tuple of str
        The text and comment lines before the numbers (metadata, header row included).
    delimiter : str or None
        The delimiter found (None: whitespace).
    path : str or None
        The file.
    """

    data: np.ndarray
    columns: tuple[str, ...]
    lines: np.ndarray
    has_header: bool = False
    header: tuple[str, ...] = ()
    delimiter: str | None = None
    path: str | None = None
    metadata: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def index(self, column: str | int) -> int:
        """Index of a column by name (case-insensitive) or position; InputError if absent."""
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            j = int(column)
            if -len(self.columns) <= j < len(self.columns):
                return j % len(self.columns)
            raise InputError(f"the file has only {len(self.columns)} columns", file=self.path,
                             field=f"column {j}", expected=f"an index below {len(self.columns)}")
        wanted = str(column).strip().lower()
        for j, name in enumerate(self.columns):
            if name.strip().lower() == wanted:
                return j
        for j, name in enumerate(self.columns):
            if split_unit(name)[0].lower() == wanted:
                return j
        raise InputError("no such column in the file", file=self.path, field=str(column),
                         expected=f"one of {list(self.columns)}")

    def column(self, column: str | int) -> np.ndarray:
        """The values of one column (a view)."""
        return self.data[:, self.index(column)]

    def line_of(self, row: int) -> int:
        """1-based file line of data row ``row``."""
        return int(self.lines[row])


def read_table(
    path: str | os.PathLike,
    *,
    delimiter: str | None | type[Ellipsis] = ...,
    comment: str | Sequence[str] = "#",
    names: Sequence[str] | None = None,
) -> Table:
    """Read a delimited text file with one block of numeric rows into a :class:`Table`.

    Leading metadata lines, ``#`` comments and a header row are skipped; the header row (the
    last text line before the numbers, or the last comment line when that splits into as many
    names as there are columns) names the columns. The numeric block starts at the first
    data-like row of the most common width that is followed by data-like rows; every later
    non-blank, non-comment line must be a row of that width, or an :class:`InputError` names
    its line.

    Parameters
    ----------
    path : str or PathLike
        The file (opened read-only).
    delimiter : str or None, optional
        Force a delimiter (None: whitespace); sniffed when omitted.
    comment : str or sequence of str
        Comment markers, ``#`` by default.
    names : sequence of str, optional
        Column names to use instead of the header's.

    Returns
    -------
    Table

    Raises
    ------
    InputError
        Empty file, no numeric rows, ragged rows, or a field that is not a number.
    """
    lines = read_lines(path)
    if not any(ln.strip() for ln in lines):
        raise InputError("the file is empty", file=path, field="data",
                         expected="rows of numbers")
    delim = sniff_delimiter(lines, comment=comment) if delimiter is ... else delimiter
    content = [(i, ln) for i, ln in enumerate(lines, start=1)
               if ln.strip() and not is_comment(ln, comment)]
    decimal_comma = uses_decimal_comma([ln for _, ln in content], delim)
    split = [split_line(ln, delim) for _, ln in content]
    like = [is_data_like(f, decimal_comma=decimal_comma) for f in split]
    widths: dict[int, int] = {}
    for k in range(len(content)):
        if like[k]:
            widths[len(split[k])] = widths.get(len(split[k]), 0) + 1
    if not widths:
        raise InputError("the file has no rows of numbers", file=path, field="data",
                         expected="a block of numeric rows after any header lines")
    width = max(widths.items(), key=lambda item: (item[1], item[0]))[0]
    start = None
    for k in range(len(content)):
        # the block starts at the first row of the usual width followed by data-like rows
        if like[k] and len(split[k]) == width and all(
                like[j] for j in range(k + 1, min(k + 4, len(content)))):
            start = k
            break
    if start is None:
        start = next(k for k in range(len(content)) if like[k] and len(split[k]) == width)
    ncols = width
    first_line = content[start][0]
    header = tuple(ln.strip() for ln in lines[: first_line - 1] if ln.strip())
    columns: tuple[str, ...] | None = None
    has_header = False
    if names is not None:
        if len(names) != ncols:
            raise InputError(f"{len(names)} names given for {ncols} columns", file=path,
                             field="names", expected=f"{ncols} names")
        columns, has_header = tuple(names), True
    else:
        before = [ln for ln in lines[: first_line - 1] if ln.strip()]
        text_lines = [ln for ln in before if not is_comment(ln, comment)]
        comment_lines = [ln for ln in before if is_comment(ln, comment)]
        for candidate in (text_lines[-1:] + comment_lines[-1:]):
            found = _header_names(candidate, delim, ncols, comment)
            if found is not None:
                columns, has_header = found, True
                break
    if columns is None:
        columns = tuple(f"column {j + 1}" for j in range(ncols))
    rows = split[start:]
    numbers = [i for i, _ in content[start:]]
    data = parse_rows(rows, numbers, columns=columns, file=path, decimal_comma=decimal_comma)
    return Table(data=data, columns=columns, lines=np.asarray(numbers, dtype=int),
                 has_header=has_header, header=header, delimiter=delim,
                 path=os.fspath(path), metadata={"decimal_comma": decimal_comma})
