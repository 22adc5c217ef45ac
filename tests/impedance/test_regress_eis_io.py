"""Regressions of the impedance readers (issues 9 and 10): EC-Lab tables with unnamed columns,
Gamry tables with space-separated rows, decimal-comma header values and drift-corrected
columns, UTF-16/UTF-32 text exports."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pytest

from ionscale.errors import InputError
from ionscale.io.eis import detect_format, read_spectra, read_spectrum

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "eis"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared EIS data not available")

MPT = DATA / "impedance.py" / "exampleDataBioLogic.mpt"
GAMRY = DATA / "impedance.py" / "exampleDataGamry.DTA"
NOVO = DATA / "eisfitpython-s04147" / "s04147-140deg.txt"


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("latin-1").split("\n")


def _save(path: Path, lines: list[str]) -> Path:
    path.write_bytes("\n".join(lines).encode("latin-1"))
    return path


def _mpt_parts() -> tuple[list[str], int]:
    lines = _lines(MPT)
    nb = int(lines[1].split(":")[1])
    return lines, nb


# --------------------------------------------------------------------------- issue 9.1


def _mpt_variant(tmp_path: Path, kind: str) -> Path:
    """The real EC-Lab export with an unnamed column, the way EC-Lab writes them."""
    lines, nb = _mpt_parts()
    header = lines[nb - 1].rstrip("\r")
    names = header.rstrip("\t").split("\t")
    rows = range(nb, len(lines))
    if kind == "empty-name-no-values":
        # a column named "" between time/s and <Ewe>/V; the rows hold no field for it
        k = names.index("time/s") + 1
        lines[nb - 1] = "\t".join(names[:k] + [""] + names[k:]) + "\t\r"
    elif kind == "empty-name-with-values":
        k = names.index("time/s") + 1
        lines[nb - 1] = "\t".join(names[:k] + [""] + names[k:]) + "\r"
        for i in rows:
            if lines[i].strip():
                f = lines[i].rstrip("\r").split("\t")
                lines[i] = "\t".join(f[:k] + ["0"] + f[k:]) + "\r"
    elif kind == "trailing-tabs":
        # header and rows ending with a tab (an empty last field)
        lines[nb - 1] = header.rstrip("\t") + "\t\r"
        for i in rows:
            if lines[i].strip():
                lines[i] = lines[i].rstrip("\r") + "\t\r"
    elif kind == "blank-last-values":
        # the last two columns have no value on any row: the rows end with two tabs
        for i in rows:
            if lines[i].strip():
                f = lines[i].rstrip("\r").split("\t")
                lines[i] = "\t".join(f[:-2] + ["", ""]) + "\r"
    else:
        raise AssertionError(kind)
    return _save(tmp_path / f"{kind}.mpt", lines)


@pytest.mark.parametrize("kind", ["empty-name-no-values", "empty-name-with-values",
                                  "trailing-tabs", "blank-last-values"])
def test_mpt_with_an_unnamed_column_reads_like_the_original(tmp_path, kind):
    ref = read_spectrum(MPT)
    path = _mpt_variant(tmp_path, kind)
    s = read_spectrum(path)
    np.testing.assert_array_equal(s.frequency, ref.frequency)
    np.testing.assert_array_equal(s.impedance, ref.impedance)
    np.testing.assert_array_equal(s.time, ref.time)
    np.testing.assert_array_equal(s.metadata["dc_voltage"], ref.metadata["dc_voltage"])


def test_mpt_row_that_fits_no_reading_is_still_reported_by_line(tmp_path):
    lines, nb = _mpt_parts()
    i = nb + 5
    lines[i] = "\t".join(lines[i].split("\t")[:-3]) + "\r"  # three fields lost
    path = _save(tmp_path / "short.mpt", lines)
    with pytest.raises(InputError) as err:
        read_spectra(path)
    assert err.value.line == i + 1


def test_mpt_wanted_value_left_blank_is_named(tmp_path):
    lines, nb = _mpt_parts()
    i = nb + 3
    f = lines[i].rstrip("\r").split("\t")
    f[1] = ""  # Re(Z)/Ohm
    lines[i] = "\t".join(f) + "\r"
    path = _save(tmp_path / "blank.mpt", lines)
    with pytest.raises(InputError) as err:
        read_spectra(path)
    assert err.value.line == i + 1 and err.value.field == "Re(Z)/Ohm"


# --------------------------------------------------------------------------- issue 9.2


def _gamry_rows(lines: list[str]) -> list[int]:
    start = next(i for i, ln in enumerate(lines) if ln.startswith("ZCURVE"))
    return [i for i in range(start + 3, len(lines)) if lines[i].startswith("\t")]


@pytest.mark.parametrize("lead", ["", "  ", "\t"])
def test_gamry_space_separated_last_rows_are_read(tmp_path, lead):
    ref = read_spectrum(GAMRY)
    lines = _lines(GAMRY)
    rows = _gamry_rows(lines)
    for i in rows[-3:]:
        lines[i] = lead + " ".join(lines[i].strip().split("\t")) + "\r"
    s = read_spectrum(_save(tmp_path / "spaces.DTA", lines))
    assert len(s) == len(ref) == 72
    np.testing.assert_array_equal(s.frequency, ref.frequency)
    np.testing.assert_array_equal(s.impedance, ref.impedance)


def test_gamry_rows_that_cannot_be_split_name_the_line(tmp_path):
    lines = _lines(GAMRY)
    rows = _gamry_rows(lines)
    i = rows[-2]
    lines[i] = " ".join(lines[i].strip().split("\t")[:-2]) + "\r"  # two values missing
    with pytest.raises(InputError) as err:
        read_spectra(_save(tmp_path / "short.DTA", lines))
    assert err.value.line == i + 1


def test_gamry_number_rows_after_the_table_are_never_dropped(tmp_path):
    lines = _lines(GAMRY)
    rows = _gamry_rows(lines)
    i = rows[-1]
    lines[i] = "71;861;0.0158898;17007.49;-6635.557;1;18256.1;-21.31349;0;0;7\r"
    with pytest.raises(InputError) as err:
        read_spectra(_save(tmp_path / "semicolon.DTA", lines))
    assert err.value.line == i + 1


# --------------------------------------------------------------------------- issue 9.3


def test_gamry_decimal_comma_header_values_are_numbers(tmp_path):
    lines = _lines(GAMRY)
    for i, ln in enumerate(lines):
        if ln.startswith("AREA\t"):
            lines[i] = "AREA\tQUANT\t0,5\tArea (cm^2)\r"
        if ln.startswith("ZGUESS\t"):
            lines[i] = "ZGUESS\tQUANT\t1,00000E+002\tE&stimated Z (ohms)\r"
    s = read_spectrum(_save(tmp_path / "comma.DTA", lines))
    assert s.metadata["header"]["AREA"] == 0.5
    assert s.metadata["header"]["ZGUESS"] == 100.0
    assert s.metadata["area"] == pytest.approx(0.5e-4)


def test_mpt_decimal_comma_area(tmp_path):
    lines = _lines(MPT)
    k = next(i for i, ln in enumerate(lines) if ln.startswith("Electrode surface area"))
    lines[k] = "Electrode surface area : 0,5 cm²\r"
    s = read_spectrum(_save(tmp_path / "comma.mpt", lines))
    assert s.metadata["area"] == pytest.approx(0.5e-4)


# --------------------------------------------------------------------------- issue 9.4


def _gamry_with_drift(tmp_path: Path) -> Path:
    lines = _lines(GAMRY)
    start = next(i for i, ln in enumerate(lines) if ln.startswith("ZCURVE"))
    lines[start + 1] = lines[start + 1].rstrip("\r") + "\tZrealDrCor\tZimagDrCor\r"
    lines[start + 2] = lines[start + 2].rstrip("\r") + "\tohm\tohm\r"
    for i in _gamry_rows(lines):
        f = lines[i].rstrip("\r").split("\t")
        zr, zi = float(f[4]), float(f[5])
        lines[i] = lines[i].rstrip("\r") + f"\t{zr * 0.9:.6g}\t{zi * 1.1:.6g}\r"
    return _save(tmp_path / "drift.DTA", lines)


def test_gamry_drift_corrected_columns_are_kept_and_selectable(tmp_path):
    path = _gamry_with_drift(tmp_path)
    ref = read_spectrum(GAMRY)
    raw = read_spectrum(path)
    np.testing.assert_array_equal(raw.impedance, ref.impedance)
    assert raw.metadata["impedance_columns"] == ("Zreal", "Zimag")
    other = raw.metadata["impedance_drift_corrected"]
    np.testing.assert_allclose(other.real, 0.9 * ref.impedance.real, rtol=1e-5)
    np.testing.assert_allclose(other.imag, 1.1 * ref.impedance.imag, rtol=1e-5)
    cor = read_spectrum(path, drift_corrected=True)
    assert cor.metadata["impedance_columns"] == ("ZrealDrCor", "ZimagDrCor")
    np.testing.assert_allclose(cor.impedance.real, 0.9 * ref.impedance.real, rtol=1e-5)
    np.testing.assert_allclose(cor.impedance.imag, 1.1 * ref.impedance.imag, rtol=1e-5)
    np.testing.assert_array_equal(cor.metadata["impedance_measured"], ref.impedance)
    # a file without them: asking for them is an error, not a silent fall-back
    with pytest.raises(InputError, match="ZrealDrCor"):
        read_spectrum(GAMRY, drift_corrected=True)
    with pytest.raises(InputError, match="drift_corrected"):
        read_spectrum(MPT, drift_corrected=True)


# --------------------------------------------------------------------------- issue 10.8


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                      "utf-32-le"])
@pytest.mark.parametrize("src", [NOVO, MPT, GAMRY, DATA / "impedance.py" / "exampleData.csv",
                                 DATA / "impedance.py" / "exampleDataZPlot.z"])
def test_utf16_and_utf32_exports_are_read(tmp_path, encoding, src):
    text = src.read_bytes().decode("latin-1")
    path = tmp_path / (src.stem + "-" + encoding + src.suffix)
    # "utf-16"/"utf-32" write a byte-order mark; the -le/-be forms do not
    path.write_bytes(text.encode(encoding))
    assert detect_format(path) == detect_format(src)
    ref = read_spectrum(src)
    s = read_spectrum(path)
    np.testing.assert_array_equal(s.frequency, ref.frequency)
    np.testing.assert_array_equal(s.impedance, ref.impedance)
    assert s.temperature == ref.temperature
    assert s.start_time == ref.start_time


def test_utf16_bom_variants(tmp_path):
    text = NOVO.read_bytes().decode("latin-1")
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
                     (codecs.BOM_UTF32_BE, "utf-32-be")):
        path = tmp_path / f"bom-{enc}.txt"
        path.write_bytes(bom + text.encode(enc))
        assert len(read_spectrum(path)) == 42


def test_utf16_cut_in_half_a_character_is_an_input_error(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_bytes(NOVO.read_bytes().decode("latin-1").encode("utf-16")[:-1])
    with pytest.raises(InputError):
        read_spectra(path)
