"""Reading Arrhenius tables: temperature, D or σ, and an optional error, from delimited text.

A table is a text file with one header line and one row per temperature; ``#`` lines are
comments, and ``# key: value`` (or ``# key = value``) comments become metadata. Columns are
recognised from the header by their *units*, written as ``name (unit)``, ``name [unit]``,
``name/unit`` or ``name_unit``:

======================  ===============================================================
column                  accepted headers (examples)
======================  ===============================================================
temperature             ``T (K)``, ``T_C``, ``temperature_degC``, ``T/°C``, ``1000/T (1/K)``
diffusion coefficient   ``D (cm2/s)``, ``D* [cm^2 s^-1]``, ``D_eff_m2s``, ``D (m²/s)``
conductivity            ``sigma (S/cm)``, ``σ [mS cm-1]``, ``conductivity_S_m``
error (optional)        a second D/σ column whose name says error: ``D_err (cm2/s)``,
                        ``error``, ``std``, ``dD``, ``uncertainty (%)`` (``%`` = relative)
======================  ===============================================================

Everything is returned in SI (K, m² s⁻¹, S m⁻¹). Columns without a unit need ``T_unit`` /
``value_unit``; nothing is assumed silently.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..units import ZERO_CELSIUS, unit_factor

#: temperature and relative-error spellings (normalised) -> (kind, factor). D and σ units are
#: read by :func:`ionscale.units.unit_factor`, the one place unit labels are converted.
_UNITS: dict[str, tuple[str, float]] = {
    "k": ("K", 1.0), "kelvin": ("K", 1.0),
    "c": ("C", 1.0), "°c": ("C", 1.0), "degc": ("C", 1.0), "celsius": ("C", 1.0),
    "degreesc": ("C", 1.0), "deg": ("C", 1.0),
    "%": ("rel", 0.01), "percent": ("rel", 0.01),
}
_T_NAMES = ("t", "temp", "temperature", "tk", "tc")
_INVERSE_T = re.compile(r"^\s*(1000|1e3|10\^3|10\*\*3)\s*/\s*t\b", re.IGNORECASE)
_ERROR_TOKENS = ("std", "stdev", "sd", "delta", "se", "dev")


def _normalise_unit(text: str) -> str:
    u = text.strip().lower()
    for a, b in (("²", "2"), ("⁻¹", "-1"), ("**", ""), ("^", ""), (" ", ""), ("·", ""),
                 ("*", ""), ("μ", "µ"), ("deg.c", "degc"), ("_", "/")):
        u = u.replace(a, b)
    return u


def _lookup_unit(text: str) -> tuple[str, float] | None:
    u = _normalise_unit(text)
    if u in _UNITS:
        return _UNITS[u]
    if u in ("1/k", "k-1", "1000/k", "10-3k-1"):
        return ("invK", 1.0)
    label = text.replace("_", "/")  # "cm2_s" as written in snake-case headers
    # run-together shorthands of column names: D_eff_m2s, sigma_Scm
    label = re.sub(r"(m2)s$", r"\1/s", label)
    label = re.sub(r"(?i)(m?|u|µ)s\s*cm(-1)?$", lambda m: f"{m.group(1)}S/cm", label)
    for kind, si in (("D", "m^2/s"), ("sigma", "S/m")):
        factor = unit_factor(label, si)
        if factor is not None:
            return kind, factor
    return None


def _split_header(header: str) -> tuple[str, str | None]:
    """``(name, unit text or None)`` of a column header."""
    h = header.strip()
    m = re.match(r"^(.*?)\s*[\(\[](.*)[\)\]]\s*$", h)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    if "/" in h and not _INVERSE_T.match(h):
        left, right = h.split("/", 1)
        if left.strip() and _lookup_unit(right) is not None:
            return left.strip(), right.strip()
    parts = h.split("_")
    for i in range(1, len(parts)):  # longest unit suffix first
        tail = "_".join(parts[i:])
        if _lookup_unit(tail) is not None:
            return "_".join(parts[:i]), tail
    return h, None


def _is_error_name(name: str, value_names: list[str]) -> bool:
    n = name.strip().lower()
    if "±" in n or "+-" in n or "+/-" in n:
        return True
    tokens = [t for t in re.split(r"[^a-z0-9*δσ]+", n) if t]
    if any(t.startswith(("err", "uncert")) or t in _ERROR_TOKENS for t in tokens):
        return True
    return any(n in ("d" + v.lower(), "δ" + v.lower(), "d_" + v.lower()) for v in value_names)


@dataclass(frozen=True)
class ArrheniusTable:
    """Temperature-dependent D or σ read from a table, in SI.

    Attributes
    ----------
    T : ndarray
        Temperatures, K.
    y : ndarray
        D in m² s⁻¹ or σ in S m⁻¹.
    y_err : ndarray or None
        One-σ errors of ``y`` (same unit), if the table has them.
    quantity : str
        ``"D"`` or ``"sigma"``.
    source : str
        The file read.
    columns : dict
        Header of the column used for ``"T"``, ``"y"`` and ``"y_err"``.
    metadata : dict
        ``# key: value`` comments of the file.
    """

    T: np.ndarray
    y: np.ndarray
    y_err: np.ndarray | None
    quantity: str
    source: str
    columns: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        """SI unit string of ``y``."""
        return "m^2/s" if self.quantity == "D" else "S/m"

    @property
    def form(self) -> str:
        """The Arrhenius form to fit: ``"D"`` or ``"sigmaT"``."""
        return "D" if self.quantity == "D" else "sigmaT"

    def fit(self, **kwargs):
        """:func:`~ionscale.transport.arrhenius.fit_arrhenius` on this table (file recorded)."""
        from .arrhenius import fit_arrhenius

        return fit_arrhenius(self.T, self.y, y_err=self.y_err, form=self.form,
                             files=[self.source], **kwargs)


def read_arrhenius_table(
    path: str | os.PathLike,
    *,
    T_column: str | None = None,
    value_column: str | None = None,
    error_column: str | None = None,
    T_unit: str | None = None,
    value_unit: str | None = None,
    delimiter: str | None = None,
) -> ArrheniusTable:
    """Read a delimited text table of temperatures and D or σ values into SI arrays.

    Parameters
    ----------
    path : str or PathLike
        The file.
    T_column, value_column, error_column : str, optional
        Headers of the columns to use, when the automatic choice is ambiguous.
    T_unit : str, optional
        Unit of a temperature column without one (``"K"`` or ``"C"``).
    value_unit : str, optional
        Unit of a value column without one (``"cm2/s"``, ``"m2/s"``, ``"S/cm"``, ``"S/m"``...).
    delimiter : str, optional
        Column separator; by default tab, comma or semicolon if the header has one, else
        whitespace.

    Returns
    -------
    ArrheniusTable

    Raises
    ------
    InputError
        Missing file, no header, unknown or missing units, unreadable numbers (with the line),
        non-positive T, D or σ, fewer than 2 rows.

    Examples
    --------
    A file ``deff.csv``::

        # sample: LLTO pellet
        T_C, D (cm2/s), D_err (cm2/s)
        22, 3.0e-9, 0.5e-9
        100, 6.0e-8, 1.0e-8

    >>> table = read_arrhenius_table("deff.csv")                    # doctest: +SKIP
    >>> table.T, table.y                                            # doctest: +SKIP
    (array([295.15, 373.15]), array([3.0e-13, 6.0e-12]))
    """
    from ..io.text import read_table

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("cannot read the file (not found)", file=path,
                         expected="a readable text file")
    table = read_table(path, delimiter=... if delimiter is None else delimiter)
    if not table.has_header:
        raise InputError("no header line", file=path,
                         expected="a header such as 'T (K), D (cm2/s)'")
    metadata: dict[str, Any] = {}
    for text in table.header:
        m = re.match(r"^#\s*([^:=]+?)\s*[:=]\s*(.*)$", text)
        if m:
            metadata[m.group(1)] = m.group(2).strip()
    header = list(table.columns)
    header_line = int(table.lines[0]) - 1 if len(table) else 0
    t_idx, t_kind = _find_temperature(header, T_column, T_unit, path, header_line)
    v_idx, v_kind, v_factor, e_idx, e_kind, e_factor = _find_values(
        header, value_column, error_column, value_unit, path, header_line, exclude=t_idx)
    if len(table) < 2:
        raise InputError(f"{len(table)} data row(s)", file=path,
                         expected="at least 2 rows of temperature and value")
    cols = [t_idx, v_idx] + ([e_idx] if e_idx is not None else [])
    data = table.data[:, cols]
    for c, idx in enumerate(cols):
        bad = np.flatnonzero(~np.isfinite(data[:, c]))
        if bad.size:
            raise InputError(f"{data[bad[0], c]!r} is not finite", file=path,
                             line=table.line_of(int(bad[0])), field=header[idx],
                             expected="a finite number")
    T = data[:, 0]
    if t_kind == "C":
        T = T + ZERO_CELSIUS
    elif t_kind == "invK":
        if np.any(data[:, 0] <= 0):
            raise InputError("non-positive 1000/T", file=path, field=header[t_idx],
                             expected="1000/T > 0")
        T = 1000.0 / data[:, 0]
    if np.any(T <= 0):
        raise InputError(f"non-positive absolute temperature (min {T.min():.4g} K)", file=path,
                         field=header[t_idx], expected="T > 0 K")
    with np.errstate(over="ignore", invalid="ignore"):
        y = data[:, 1] * v_factor
    if not np.all(np.isfinite(y)):
        raise InputError("value is not finite (or overflows after unit conversion)", file=path,
                         field=header[v_idx], expected=f"finite {v_kind} values")
    if np.any(y <= 0):
        raise InputError("non-positive value", file=path, field=header[v_idx],
                         expected=f"{v_kind} > 0")
    y_err = None
    if e_idx is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            y_err = data[:, 2] * e_factor
            if e_kind == "rel":
                y_err = y_err * y
        if not np.all(np.isfinite(y_err)):
            raise InputError("error is not finite (or overflows after unit conversion)",
                             file=path, field=header[e_idx], expected="finite errors")
        if np.any(y_err <= 0):
            raise InputError("non-positive error", file=path, field=header[e_idx],
                             expected="errors > 0")
    columns = {"T": header[t_idx], "y": header[v_idx]}
    if e_idx is not None:
        columns["y_err"] = header[e_idx]
    return ArrheniusTable(T=T, y=y, y_err=y_err, quantity=v_kind, source=path,
                          columns=columns, metadata=metadata)


def _find_column(header: list[str], name: str, path: str, line: int, what: str) -> int:
    for i, h in enumerate(header):
        if h == name or h.strip().lower() == name.strip().lower():
            return i
    raise InputError(f"no column {name!r} (columns: {header})", file=path, line=line,
                     field=what, expected="one of the header names")


def _find_temperature(header, T_column, T_unit, path, line) -> tuple[int, str]:
    if T_column is not None:
        candidates = [_find_column(header, T_column, path, line, "T_column")]
    else:
        candidates = []
        for i, h in enumerate(header):
            name, unit = _split_header(h)
            if _INVERSE_T.match(h) or name.strip().lower() in _T_NAMES:
                candidates.append(i)
        if not candidates:
            raise InputError(f"no temperature column among {header}", file=path, line=line,
                             field="T", expected="a header such as 'T (K)', 'T_C' or "
                             "'1000/T (1/K)'")
        if len(candidates) > 1:
            raise InputError(f"several temperature columns: {[header[i] for i in candidates]}",
                             file=path, line=line, field="T",
                             expected="one, or choose with T_column=")
    idx = candidates[0]
    h = header[idx]
    if _INVERSE_T.match(h):
        return idx, "invK"
    _, unit = _split_header(h)
    if unit is None:
        unit = T_unit
    if unit is None:
        raise InputError("temperature column has no unit", file=path, line=line, field=h,
                         expected="a unit in the header ('T (K)', 'T_C') or T_unit='K'/'C'")
    found = _lookup_unit(unit)
    if found is None or found[0] not in ("K", "C"):
        raise InputError(f"unknown temperature unit {unit!r}", file=path, line=line, field=h,
                         expected="K or °C (degC, C)")
    return idx, found[0]


def _find_values(header, value_column, error_column, value_unit, path, line, exclude):
    parsed = []
    for i, h in enumerate(header):
        if i == exclude:
            continue
        name, unit = _split_header(h)
        found = _lookup_unit(unit) if unit is not None else None
        parsed.append((i, name, unit, found))
    if value_column is not None:
        v_idx = _find_column(header, value_column, path, line, "value_column")
    else:
        names = [n for _, n, _, f in parsed if f is not None and f[0] in ("D", "sigma")]
        values = [i for i, n, _, f in parsed if f is not None and f[0] in ("D", "sigma")
                  and not _is_error_name(n, names)]
        if not values and value_unit is not None:
            values = [i for i, n, u, _ in parsed if u is None and not _is_error_name(n, [])]
        unknown = [i for i, _, u, f in parsed if u is not None and f is None]
        if not values and unknown:
            h = header[unknown[0]]
            raise InputError(f"unknown unit {_split_header(h)[1]!r}", file=path, line=line,
                             field=h, expected="cm2/s, m2/s (D) or S/cm, mS/cm, S/m "
                             "(conductivity)")
        if not values:
            raise InputError(f"no D or conductivity column with a unit among {header}",
                             file=path, line=line, field="value",
                             expected="a header such as 'D (cm2/s)' or 'sigma (S/cm)', or "
                             "value_unit=")
        if len(values) > 1:
            raise InputError(f"several value columns: {[header[i] for i in values]}",
                             file=path, line=line, field="value",
                             expected="one, or choose with value_column=")
        v_idx = values[0]
    v_name, v_unit = _split_header(header[v_idx])
    v_unit = v_unit if v_unit is not None else value_unit
    if v_unit is None:
        raise InputError("value column has no unit", file=path, line=line, field=header[v_idx],
                         expected="a unit in the header or value_unit='cm2/s', 'S/cm'...")
    found = _lookup_unit(v_unit)
    if found is None or found[0] not in ("D", "sigma"):
        raise InputError(f"unknown unit {v_unit!r}", file=path, line=line,
                         field=header[v_idx],
                         expected="cm2/s, m2/s (D) or S/cm, mS/cm, S/m (conductivity)")
    v_kind, v_factor = found
    # error column
    e_idx = None
    if error_column is not None:
        e_idx = _find_column(header, error_column, path, line, "error_column")
    else:
        errors = [i for i, n, _, f in parsed if i != v_idx and _is_error_name(n, [v_name])
                  and (f is None or f[0] in (v_kind, "rel"))]
        if len(errors) > 1:
            raise InputError(f"several error columns: {[header[i] for i in errors]}",
                             file=path, line=line, field="error",
                             expected="one, or choose with error_column=")
        e_idx = errors[0] if errors else None
    e_kind, e_factor = v_kind, v_factor
    if e_idx is not None:
        _, e_unit = _split_header(header[e_idx])
        if e_unit is not None:
            found = _lookup_unit(e_unit)
            if found is None or found[0] not in (v_kind, "rel"):
                raise InputError(f"error unit {e_unit!r} does not match the values",
                                 file=path, line=line, field=header[e_idx],
                                 expected=f"the unit of {header[v_idx]!r} or %")
            e_kind, e_factor = found
    return v_idx, v_kind, v_factor, e_idx, e_kind, e_factor
