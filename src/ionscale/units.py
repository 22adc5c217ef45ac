"""Units: SI constants, parsing of typed quantities, and field-unit display, in one place.

Inside ionscale every number is SI (m, s, K, J, S m⁻¹, m² s⁻¹). Field units (cm² s⁻¹, S cm⁻¹,
eV, µm) appear only at the edges: readers and the CLI convert *into* SI with
:func:`parse_quantity`, reports and ``summary()`` convert *out of* SI with :func:`to_field`
and :func:`format_value`.

SI unit strings used across the package (``Value.unit``) are the keys of :data:`FIELD_UNITS`.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np

from .errors import InputError

# exact by definition in the 2019 SI (the values scipy.constants gives; not imported from it
# because scipy.constants costs 0.15 s at start-up)
BOLTZMANN = 1.380649e-23  #: J K⁻¹
ELEMENTARY_CHARGE = 1.602176634e-19  #: C
BOLTZMANN_EV = BOLTZMANN / ELEMENTARY_CHARGE  #: eV K⁻¹
AVOGADRO = 6.02214076e23  #: mol⁻¹
ZERO_CELSIUS = 273.15  #: K
EV = ELEMENTARY_CHARGE  #: J per eV

#: SI unit string -> (field unit label, factor: field value = factor * SI value)
FIELD_UNITS: dict[str, tuple[str, float]] = {
    "": ("", 1.0),
    "m^2/s": ("cm² s⁻¹", 1e4),
    "m/s": ("cm s⁻¹", 1e2),
    "m": ("µm", 1e6),
    "1/m": ("cm⁻¹", 1e-2),
    "1/m^3": ("cm⁻³", 1e-6),
    "s": ("s", 1.0),
    "1/s": ("s⁻¹", 1.0),
    "1/s^2": ("s⁻²", 1.0),
    "s/m^2": ("s m⁻²", 1.0),
    "T/m": ("G cm⁻¹", 100.0),
    "Hz": ("Hz", 1.0),
    "T": ("T", 1.0),
    "m^3/s": ("cm³ s⁻¹", 1e6),
    "K": ("K", 1.0),
    "J": ("eV", 1.0 / EV),
    "S/m": ("S cm⁻¹", 1e-2),
    "S*K/m": ("S K cm⁻¹", 1e-2),
    "ohm": ("Ω", 1.0),
    "F": ("F", 1.0),
    "H": ("H", 1.0),
    "%": ("%", 1.0),
    "ohm*m^2": ("Ω cm²", 1e4),
    "ohm/s^0.5": ("Ω s⁻¹ᐟ²", 1.0),
    "s^0.5": ("s¹ᐟ²", 1.0),
    "kg/m^3": ("g cm⁻³", 1e-3),
    "kg/mol": ("g mol⁻¹", 1e3),
    "m^2": ("cm²", 1e4),
    "V": ("mV", 1e3),
    "A/m^2": ("mA cm⁻²", 0.1),
    "C/m^2": ("mAh cm⁻²", 1 / 36000),
}

#: SI unit -> closed range (SI) outside which a quantity of that unit cannot be physical in a
#: solid electrolyte; a value outside it is flagged ``out-of-range`` (failed). Generous on
#: purpose: the ranges catch optimiser runaways (D = 5e24 cm² s⁻¹, R = 1e156 Ω), not surprises.
#: A value may declare a narrower range itself (``Value.valid``).
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    "m^2/s": (0.0, 1e-4),          # diffusivity: at most 1 cm² s⁻¹ (gases are ~0.1)
    "m/s": (0.0, 1e2),             # surface-exchange coefficient
    "S/m": (0.0, 1e4),             # at most 100 S cm⁻¹
    "S*K/m": (0.0, 1e14),          # σT, prefactors of σT Arrhenius laws included
    "ohm": (0.0, 1e15),
    "ohm*m^2": (0.0, 1e6),
    "F": (0.0, 10.0),
    "K": (1e-3, 1e4),
    "J": (-10 * EV, 10 * EV),      # activation and site energies within ±10 eV
    "kg/m^3": (0.0, 3e4),
}


def physical_range(si_unit: str) -> tuple[float, float]:
    """The closed physical range (SI) of quantities in ``si_unit`` (±inf when none declared).

    Examples
    --------
    >>> physical_range("m^2/s")
    (0.0, 0.0001)
    >>> physical_range("s")
    (-inf, inf)
    """
    return PHYSICAL_RANGES.get(si_unit, (-math.inf, math.inf))


#: Condition keys understood everywhere (campaign conditions and sample properties), with the SI
#: unit they are converted to. A bare number is refused for them: the unit must be typed.
CONDITION_UNITS: dict[str, str] = {
    "temperature": "K",
    "time": "s",
    "pixel_size": "m",
    "thickness": "m",
    "diameter": "m",
    "area": "m^2",
    "grain_size": "m",
    "gb_width": "m",
    "density": "kg/m^3",
}


#: Field unit labels accepted by :func:`from_field` and the CLI, with their SI unit string.
_PINT_SPELLING = {"m^2/s": "m**2/s", "1/m^3": "1/m**3", "m^2": "m**2", "kg/m^3": "kg/m**3",
                  "S*K/m": "S*K/m", "J": "J", "ohm": "ohm"}

_NUMBER_UNIT = re.compile(
    r"^\s*(?P<num>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>.*?)\s*$"
)


#: Units typed most often, converted without pint (its registry takes about 0.9 s to build,
#: more than a whole local-thickness run): SI unit -> {spelling (after the substitutions of
#: :func:`parse_quantity`) -> factor}. Each factor is tested against pint's.
_PLAIN_UNITS: dict[str, dict[str, float]] = {
    "m": {"m": 1.0, "km": 1e3, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "nm": 1e-9, "pm": 1e-12},
    "s": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0},
}


@lru_cache(maxsize=1)
def registry():
    """The one pint unit registry of the package (created on first use; pint is slow to load)."""
    import pint

    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    # pint's gauss belongs to Gaussian-CGS and does not convert to tesla; gradients in G/cm
    # are the field's everyday unit
    ureg.define("field_gauss = 1e-4 * tesla")
    return ureg


def _pint_unit(si_unit: str) -> str:
    return _PINT_SPELLING.get(si_unit, si_unit) or "dimensionless"


def parse_quantity(
    text: str | float | int,
    unit: str,
    *,
    field: str | None = None,
    file: str | None = None,
) -> float:
    """Convert a quantity a user typed into its SI magnitude.

    Parameters
    ----------
    text : str or float
        ``"110 h"``, ``"2.6e-8 cm^2/s"``, ``"0.5 nm"``, ``"22 degC"``... A bare number (or a
        string without a unit) is taken to be in ``unit`` already.
    unit : str
        The SI unit wanted, e.g. ``"s"``, ``"m^2/s"``, ``"m"``, ``"K"`` (a key of
        :data:`FIELD_UNITS`).
    field, file : str, optional
        Named in the error message when the text cannot be read.

    Returns
    -------
    float
        The magnitude in ``unit``.

    Examples
    --------
    >>> parse_quantity("110 h", "s")
    396000.0
    >>> round(parse_quantity("22 degC", "K"), 2)
    295.15
    """
    if isinstance(text, bool):
        raise InputError(f"got a boolean {text!r}", file=file, field=field,
                         expected=f"a number or a quantity in {unit or 'no unit'}")
    if isinstance(text, int | float | np.integer | np.floating):
        return float(text)
    if not isinstance(text, str):
        raise InputError(f"cannot read {text!r} as a quantity", file=file, field=field,
                         expected=f"a number or a string such as '1.0 {unit}'")
    match = _NUMBER_UNIT.match(text)
    if match is None:
        raise InputError(f"cannot read {text!r} as a quantity", file=file, field=field,
                         expected=f"a number followed by a unit convertible to {unit or '1'}")
    magnitude = float(match.group("num"))
    unit_text = match.group("unit").replace("µ", "u").replace("μ", "u").replace("°C", "degC")
    unit_text = unit_text.replace("°", "deg").replace("^", "**").replace("²", "**2")
    unit_text = unit_text.replace("³", "**3").replace("⁻¹", "**-1")
    unit_text = _GAUSS.sub("field_gauss", unit_text)
    if not unit_text:
        return magnitude
    factor = _PLAIN_UNITS.get(unit, {}).get(unit_text)
    if factor is not None:
        return magnitude * factor
    ureg = registry()
    try:
        quantity = ureg.Quantity(magnitude, ureg.parse_units(unit_text))
        return float(quantity.to(_pint_unit(unit)).magnitude)
    except Exception as exc:  # pint raises several unrelated types
        raise InputError(
            f"cannot convert {text!r} to {unit or 'a dimensionless number'} ({exc})",
            file=file, field=field, expected=f"a quantity convertible to {unit or '1'}",
        ) from None


_LEADING_SCALE = re.compile(
    r"^[x×]?\s*(?P<num>\d+(?:\.\d*)?[eE][-+]?\d+|10\s*(?:\^|\*\*)\s*\(?-?\d+\)?)\s*"
    r"(?P<unit>\S.*)$")
_GAUSS = re.compile(r"(?<![A-Za-z])(?:G|gauss|Gauss)(?![A-Za-z])")
_EXPONENT = re.compile(r"(?<=[A-Za-z])(-?\d+)")
_AFTER_EXPONENT = re.compile(r"(\*\*-?\d+)(?=[A-Za-z])")
_ALIASES = {"micron": "um", "microns": "um", "sec": "s", "Å": "angstrom", "A": "angstrom",
            "a.u.": "", "%": ""}


@lru_cache(maxsize=512)
def unit_factor(label: str, si_unit: str) -> float | None:
    """Factor from a unit *label as files write it* to an SI unit, or None if it is not one.

    File headers spell units loosely: ``cm2/s``, ``cm2 s-1``, ``cm^2/s``, ``S/cm``,
    ``mS cm-1``, ``µm``, ``um``, ``micron``, ``Å``, ``min``. This is the one place such labels
    are converted (through pint); readers ask it instead of keeping tables of their own.
    Offset units (°C) are not handled here: temperatures are a reader's business.

    Parameters
    ----------
    label : str
        The unit text from a header, e.g. ``"cm2/s"``.
    si_unit : str
        The SI unit wanted (a key of :data:`FIELD_UNITS`).

    Returns
    -------
    float or None
        ``f`` such that ``value_SI = f · value``; None when ``label`` is not a unit of that
        dimension.

    Examples
    --------
    >>> unit_factor("cm2/s", "m^2/s")
    0.0001
    >>> unit_factor("mS cm-1", "S/m")
    0.1
    >>> unit_factor("Counts", "m") is None
    True
    """
    text = label.strip()
    text = _ALIASES.get(text, text)
    if not text:
        return None
    scale = 1.0
    scaled = _LEADING_SCALE.match(text)  # "1e9 s/m2", "10^9 s/m2", "x1e-3 mm"
    if scaled:
        number = scaled.group("num").replace(" ", "")
        if number.startswith("10") and ("^" in number or "**" in number):
            scale = 10.0 ** float(re.split(r"\^|\*\*", number)[1].strip("()"))
        else:
            scale = float(number)
        text = scaled.group("unit")
    text = _GAUSS.sub("field_gauss", text)
    for a, b in (("μ", "u"), ("µ", "u"), ("²", "2"), ("³", "3"), ("⁻¹", "-1"), ("·", " "),
                 ("^", ""), ("**", ""), ("Å", "angstrom")):
        text = text.replace(a, b)
    text = _AFTER_EXPONENT.sub(r"\1 ", _EXPONENT.sub(r"**\1", text))
    ureg = registry()
    try:
        quantity = ureg.Quantity(1.0, ureg.parse_units(text))
        return scale * float(quantity.to(_pint_unit(si_unit)).magnitude)
    except Exception:  # pint raises several unrelated types for labels that are not units
        return None


def to_field(value: float, si_unit: str) -> tuple[float, str]:
    """Convert an SI magnitude to the unit the field quotes, returning ``(value, label)``."""
    label, factor = FIELD_UNITS.get(si_unit, (si_unit, 1.0))
    return value * factor, label


def from_field(value: float, si_unit: str) -> float:
    """Inverse of :func:`to_field`: a value in the field unit of ``si_unit`` to SI."""
    _, factor = FIELD_UNITS.get(si_unit, (si_unit, 1.0))
    return value / factor


def celsius_to_kelvin(t_celsius):
    """Temperature in °C to K (works on arrays)."""
    return t_celsius + ZERO_CELSIUS


def _round_sig(x: float, digits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, -int(math.floor(math.log10(abs(x)))) + digits - 1)


def format_value(value: float, error: float | None = None, label: str = "") -> str:
    """Format a value with its standard error as the field writes it.

    The error keeps one significant digit (two when it starts with 1) and the value is
    rounded to the same decimal place; a common power of ten is factored out.

    Examples
    --------
    >>> format_value(3.04e-9, 2.1e-10, "cm² s⁻¹")
    '(3.0 ± 0.2)e-9 cm² s⁻¹'
    >>> format_value(0.4312, 0.0123, "eV")
    '0.431 ± 0.012 eV'
    >>> format_value(7.2e-14, None)
    '7.20e-14'
    """
    suffix = f" {label}" if label else ""
    if not math.isfinite(value):
        return f"{value}{suffix}"
    have_error = error is not None and math.isfinite(error) and error > 0
    exponent = 0 if value == 0 else int(math.floor(math.log10(abs(value))))
    if have_error and value == 0:
        exponent = int(math.floor(math.log10(error)))
    use_exponent = not (-2 <= exponent <= 3)
    scale = 10.0**exponent if use_exponent else 1.0
    if not have_error:
        text = f"{value / scale:.2f}" if use_exponent else f"{value:.4g}"
        return (f"{text}e{exponent}" if use_exponent else text) + suffix
    err_exp = int(math.floor(math.log10(error)))
    lead = int(error / 10.0**err_exp)
    sig = 2 if lead == 1 else 1
    decimals_abs = -(err_exp - sig + 1)  # decimal places in absolute units
    decimals = max(decimals_abs + (exponent if use_exponent else 0), 0)
    v = value / scale
    e = _round_sig(error, sig) / scale
    body = f"{v:.{decimals}f} ± {e:.{decimals}f}"
    if use_exponent:
        return f"({body})e{exponent}{suffix}"
    return body + suffix
