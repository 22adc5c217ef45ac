import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscale.errors import InputError
from ionscale.units import (
    BOLTZMANN_EV,
    format_value,
    from_field,
    parse_quantity,
    to_field,
)


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("110 h", "s", 396000.0),
        ("2.6e-8 cm^2/s", "m^2/s", 2.6e-12),
        ("0.5 nm", "m", 5e-10),
        ("22 degC", "K", 295.15),
        ("22 °C", "K", 295.15),
        ("16 µm", "m", 1.6e-5),
        ("16 um", "m", 1.6e-5),
        ("2 weeks", "s", 14 * 86400.0),
        ("1.5e-6 cm/s", "m/s", 1.5e-8),
        ("1e-3 S/cm", "S/m", 0.1),
        ("0.43 eV", "J", 0.43 * 1.602176634e-19),
        ("5.0e21 cm^-3", "1/m^3", 5.0e27),
        (3.5, "s", 3.5),
        ("42", "s", 42.0),
    ],
)
def test_parse_quantity_converts_to_si(text, unit, expected):
    assert parse_quantity(text, unit) == pytest.approx(expected, rel=1e-12, abs=0)


def test_plain_units_agree_with_pint():
    """The units converted without pint (start-up) give pint's factors, and a unit of the
    wrong kind still fails through pint."""
    from ionscale.units import _PLAIN_UNITS, registry

    ureg = registry()
    for si, table in _PLAIN_UNITS.items():
        for spelling, factor in table.items():
            want = float(ureg.Quantity(1.0, ureg.parse_units(spelling)).to(si).magnitude)
            assert factor == pytest.approx(want, rel=1e-15, abs=0), spelling
            assert parse_quantity(f"2.5 {spelling}", si) == pytest.approx(2.5 * want,
                                                                        rel=1e-15, abs=0)
    assert parse_quantity("3 µm", "m") == pytest.approx(3e-6, rel=1e-15)
    with pytest.raises(InputError):
        parse_quantity("3 s", "m", field="voxel")


@pytest.mark.parametrize("text", ["abc", "3 furlongs/fortnight^3", "12 kg", "", None, True])
def test_parse_quantity_rejects_bad_text_with_field_name(text):
    with pytest.raises(InputError) as err:
        parse_quantity(text, "s", field="time", file="campaign.toml")
    assert "time" in str(err.value)
    assert "campaign.toml" in str(err.value)


def test_field_conversion_round_trip():
    for unit in ["m^2/s", "m/s", "m", "J", "S/m", "1/m^3", "K"]:
        v, _ = to_field(1.234e-7, unit)
        assert from_field(v, unit) == pytest.approx(1.234e-7, rel=1e-14, abs=0)
    assert to_field(1e-13, "m^2/s") == (pytest.approx(1e-9, abs=0), "cm² s⁻¹")
    assert BOLTZMANN_EV == pytest.approx(8.617333262e-5)


def test_format_value_as_the_field_writes_it():
    assert format_value(3.04e-9, 2.1e-10, "cm² s⁻¹") == "(3.0 ± 0.2)e-9 cm² s⁻¹"
    assert format_value(0.4312, 0.0123, "eV") == "0.431 ± 0.012 eV"
    assert format_value(2.2e-9, 1.5e-9) == "(2.2 ± 1.5)e-9"
    assert format_value(7.2e-14, None) == "7.20e-14"
    assert format_value(5640.0, 30.0, "s") == "5640 ± 30 s"
    assert format_value(math.nan, 1.0) == "nan"


@given(st.floats(1e-30, 1e30), st.floats(1e-3, 0.5))
def test_format_value_keeps_value_within_rounding(value, rel):
    text = format_value(value, value * rel)
    body = text.strip("()").split(")")[0] if text.startswith("(") else text
    central = float(body.split("±")[0])
    exponent = int(text.split("e")[-1]) if text.startswith("(") else 0
    assert central * 10.0**exponent == pytest.approx(value, rel=rel)


@pytest.mark.parametrize(
    ("label", "si", "factor"),
    [("cm2/s", "m^2/s", 1e-4), ("cm2 s-1", "m^2/s", 1e-4), ("cm^2/s", "m^2/s", 1e-4),
     ("mS cm-1", "S/m", 0.1), ("S/cm", "S/m", 100.0), ("µm", "m", 1e-6), ("micron", "m", 1e-6),
     ("Å", "m", 1e-10), ("nm", "m", 1e-9), ("min", "s", 60.0), ("h", "s", 3600.0)],
)
def test_unit_labels_from_files(label, si, factor):
    from ionscale.units import unit_factor

    assert unit_factor(label, si) == pytest.approx(factor, rel=1e-12, abs=0)


@pytest.mark.parametrize(("label", "si"), [("Counts", "m"), ("a.u.", "m"), ("K", "m"),
                                           ("cm2/s", "S/m"), ("", "m")])
def test_non_units_and_wrong_dimensions_are_none(label, si):
    from ionscale.units import unit_factor

    assert unit_factor(label, si) is None


@pytest.mark.parametrize(
    ("label", "si", "factor"),
    [("G/cm", "T/m", 1e-2), ("gauss/cm", "T/m", 1e-2), ("mT/m", "T/m", 1e-3),
     ("1e9 s/m2", "s/m^2", 1e9), ("10^9 s/m2", "s/m^2", 1e9), ("s/mm2", "s/m^2", 1e6)],
)
def test_nmr_unit_labels(label, si, factor):
    from ionscale.units import unit_factor

    assert unit_factor(label, si) == pytest.approx(factor, rel=1e-12, abs=0)
    assert unit_factor("GPa", "m") is None
