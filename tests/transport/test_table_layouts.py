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
