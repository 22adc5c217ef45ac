"""Numbers as the field writes them in the report: conditions, properties and parameters.

The store keeps every condition in SI (``time = 396000`` s, ``gb_width = 5e-10`` m); the report
shows each in the unit a scientist would type, chosen by magnitude: times in s, min, h or d,
lengths in nm, µm or mm, temperatures in °C, areas in mm² or cm². Counted quantities (no unit,
no error, a whole number) are shown as integers without an error.

Examples
--------
>>> quantity_text(396000.0, "s")
'110 h'
>>> quantity_text(5e-10, "m")
'0.5 nm'
>>> quantity_text(295.15, "K")
'22 °C'
>>> condition_text("time", 1209600.0)
'14 d'
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..units import CONDITION_UNITS, format_value, to_field


def _number(x: float) -> str:
    """A number with up to 4 significant digits, no exponent between 1e-3 and 1e6."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if 1e-3 <= abs(x) < 1e6:
        text = f"{x:.4g}"
        if "e" not in text:
            return text
        return f"{x:.0f}"
    return format_value(x)


def _length(v: float) -> tuple[float, str]:
    a = abs(v)
    if a >= 1e-3:
        return v * 1e3, "mm"
    if a >= 1e-6 or a == 0:
        return v * 1e6, "µm"
    return v * 1e9, "nm"


def _time(v: float) -> tuple[float, str]:
    a = abs(v)
    if a < 120:
        return v, "s"
    if a < 7200:
        return v / 60, "min"
    if a < 240 * 3600:
        return v / 3600, "h"
    return v / 86400, "d"


def _area(v: float) -> tuple[float, str]:
    if abs(v) >= 1e-6:
        return v * 1e4, "cm²"
    if abs(v) >= 1e-12:
        return v * 1e12, "µm²"
    return v * 1e18, "nm²"


_BY_MAGNITUDE = {"m": _length, "s": _time, "m^2": _area,
                 "K": lambda v: (v - 273.15, "°C")}


def display_unit(value: float, si_unit: str) -> tuple[float, str]:
    """``(value, unit label)`` of an SI value in the unit the field would write."""
    if si_unit in _BY_MAGNITUDE:
        return _BY_MAGNITUDE[si_unit](value)
    return to_field(value, si_unit)


def quantity_text(value: Any, si_unit: str | None) -> str:
    """An SI value (or a list of them) as text in its display unit."""
    if isinstance(value, list | tuple) and value and all(_is_number(v) for v in value):
        if si_unit is None:
            return "[" + ", ".join(_number(float(v)) for v in value) + "]"
        # one unit for the whole list, chosen by its largest magnitude
        big = float(max(value, key=lambda v: abs(float(v))))
        _, label = display_unit(big, si_unit)
        if si_unit == "K":
            parts = [_number(float(v) - 273.15) for v in value]
        else:
            scale = display_unit(big, si_unit)[0] / big if big else display_unit(1.0, si_unit)[0]
            parts = [_number(float(v) * scale) for v in value]
        return "[" + ", ".join(parts) + "]" + (f" {label}" if label else "")
    if not _is_number(value):
        return "—" if value is None else str(value)
    if si_unit is None:
        return _number(float(value))
    v, label = display_unit(float(value), si_unit)
    return _number(v) + (f" {label}" if label else "")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def condition_text(key: str, value: Any) -> str:
    """A stored condition or sample property as the field writes it."""
    return quantity_text(value, CONDITION_UNITS.get(key))


#: SI units that a parameter name's suffix declares (``D_bulk_m2_s``, ``window_m``...)
_SUFFIXES = (("_m2_s", "m^2/s"), ("_m_s", "m/s"), ("_S_m", "S/m"), ("_m2", "m^2"),
             ("_m", "m"), ("_s", "s"), ("_K", "K"), ("_J", "J"))


def parameter_unit(key: str, declared: dict[str, str | None] | None = None
                   ) -> tuple[str, str | None]:
    """``(display name, SI unit or None)`` of a stored parameter.

    The unit comes from the analysis's declared parameters (``declared``), the condition keys
    of :data:`ionscale.units.CONDITION_UNITS`, or the suffix of the name (``gb_width_m``)."""
    if declared and declared.get(key):
        return key, declared[key]
    if key in CONDITION_UNITS:
        return key, CONDITION_UNITS[key]
    for suffix, unit in _SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], unit
    return key, None


def parameter_rows(parameters: dict[str, Any], declared: dict[str, str | None] | None = None
                   ) -> list[dict[str, str]]:
    """Rows ``{"name", "text"}`` of a parameter dict, quantities in display units."""
    rows = []
    for key, value in (parameters or {}).items():
        name, unit = parameter_unit(key, declared)
        numeric = _is_number(value) or (isinstance(value, list | tuple) and value and all(
            _is_number(v) for v in value))
        if numeric and unit is not None:
            text = quantity_text(value, unit)
        elif isinstance(value, dict | list | tuple):
            text = _compact(value)
        elif _is_number(value):
            text = _number(float(value)) if isinstance(value, float) else str(value)
        else:
            text = "—" if value is None else str(value)
        rows.append({"name": name, "text": text})
    return rows


def _compact(value: Any, limit: int = 160) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_count(value: float | None, error: float | None, unit: str) -> bool:
    """A counted quantity: no unit, an error of exactly 0 and a whole-number value."""
    return (value is not None and unit == "" and error is not None and error == 0
            and math.isfinite(value) and float(value).is_integer())


def value_text(value: float | None, error: float | None, unit_label: str, si_unit: str
               ) -> tuple[str, str]:
    """``(value ± error text, relative error text)`` of a stored value in field units."""
    if value is None:
        return "n/a", ""
    if is_count(value, error, si_unit):
        return f"{int(value)}", ""
    has_error = error is not None and math.isfinite(error) and error > 0
    text = format_value(value, error if has_error else math.nan, unit_label)
    rel = f"{abs(error / value):.1%}" if has_error and value != 0 else ""
    return text, rel


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(*parts: str) -> str:
    """A file name stem made of ``parts`` (letters, digits, ``.``, ``_``, ``-``)."""
    return "-".join(p for p in (_SAFE.sub("_", str(x)).strip("_") for x in parts) if p)[:80] \
        or "ionscale"
