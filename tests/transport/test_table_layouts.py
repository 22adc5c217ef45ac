"""Arrhenius tables go through the shared text reader: layouts it must keep accepting."""

import pytest

from ionscale.errors import InputError
from ionscale.transport.io import read_arrhenius_table


@pytest.mark.parametrize(
    "text",
    [
        "# sample: LLTO\nT (K) D (cm2/s) D_err (cm2/s)\n300 1e-9 1e-10\n400 1e-8 1e-9\n",
        "# sample: LLTO\nT (K)\tD (cm2/s)\tD_err (cm2/s)\n300\t1e-9\t1e-10\n400\t1e-8\t1e-9\n",
        "# sample: LLTO\nT (K);D (cm2/s);D_err (cm2/s)\n300;1e-9;1e-10\n400;1e-8;1e-9\n",
        "# sample: LLTO\nT [K], D [cm2/s], D_err [cm2/s]\n300, 1e-9, 1e-10\n400, 1e-8, 1e-9\n",
    ],
)
def test_delimiters_and_unit_headers(tmp_path, text):
    path = tmp_path / "table.txt"
    path.write_text(text)
    t = read_arrhenius_table(path)
    assert t.T.tolist() == [300.0, 400.0]
    assert t.y == pytest.approx([1e-13, 1e-12], rel=1e-12, abs=0)
    assert t.y_err == pytest.approx([1e-14, 1e-13], rel=1e-12, abs=0)
    assert t.metadata["sample"] == "LLTO"


def test_bad_cell_is_reported_with_its_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("T_C, D (cm2/s)\n22, 3.0e-9\n100, abc\n")
    with pytest.raises(InputError) as err:
        read_arrhenius_table(path)
    assert "bad.csv:3" in str(err.value) and "D (cm2/s)" in str(err.value)


def test_table_without_header_is_refused(tmp_path):
    path = tmp_path / "bare.txt"
    path.write_text("300 1e-9\n400 1e-8\n")
    with pytest.raises(InputError, match="header"):
        read_arrhenius_table(path)


@pytest.mark.parametrize(
    ("header", "quantity", "factor"),
    [
        ("T_C,D_eff_m2s", "D", 1.0),
        ("T_C,D_cm2s", "D", 1e-4),
        ("T_C,D (cm^2 s^-1)", "D", 1e-4),
        ("T_C,D (cm² s⁻¹)", "D", 1e-4),
        ("T_K,sigma_Scm", "sigma", 1e2),
        ("T_K,sigma (mS cm-1)", "sigma", 1e-1),
        ("T_K,sigma (µS/cm)", "sigma", 1e-4),
    ],
)
def test_unit_spellings_of_value_columns(tmp_path, header, quantity, factor):
    path = tmp_path / "h.csv"
    path.write_text(f"{header}\n300,2.0\n400,3.0\n", encoding="utf-8")
    t = read_arrhenius_table(path)
    assert t.quantity == quantity
    assert t.y == pytest.approx([2.0 * factor, 3.0 * factor], rel=1e-12, abs=0)


def test_error_overflowing_after_unit_conversion_is_an_input_error(tmp_path):
    """Issue 10: an error of 1e308 S/cm became inf in S/m and was accepted."""
    import pytest

    from ionscale.errors import InputError
    from ionscale.transport.io import read_arrhenius_table

    path = tmp_path / "arr.txt"
    path.write_text("T (K)\tsigma (S/cm)\tsigma_err (S/cm)\n300\t1e-4\t1e308\n350\t1e-3\t1e-5\n")
    with pytest.raises(InputError, match="not finite") as info:
        read_arrhenius_table(path)
    assert "sigma_err" in str(info.value) and str(path) in str(info.value)
