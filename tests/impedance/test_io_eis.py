"""Impedance file readers: every file of the shared data set, parity between the binary and
text exports of one measurement, sign and unit conventions, sweeps, truncated and bad files."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscale.errors import InputError
from ionscale.io.eis import FORMATS, detect_format, read_directory, read_spectra, read_spectrum
from ionscale.io.eis_formats import classify_column, parse_date, temperature_from_name

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "eis"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared EIS data not available")

#: file -> (format, sweeps, points per sweep, has time, has temperature, has start time)
EXPECTED = {
    "eisfitpython-s04147/s04147-140deg.txt": ("novocontrol", 1, [42], False, True, False),
    "eisfitpython-s04147/s04147-150deg.txt": ("novocontrol", 1, [42], False, True, False),
    "eisfitpython-s04147/s04147-160deg.txt": ("novocontrol", 1, [42], False, True, False),
    "eisfitpython-s04147/s04147-170deg.txt": ("novocontrol", 1, [41], False, True, False),
    "eisfitpython-s04147/s04147-180deg.txt": ("novocontrol", 1, [41], False, True, False),
    "eisfitpython-s04147/s04147-190deg.txt": ("novocontrol", 1, [41], False, True, False),
    "eisfitpython-s04147/s04147-200deg.txt": ("novocontrol", 1, [40], False, True, False),
    "hybrid-drt/EISGALV_EISTest3.DTA": ("gamry", 1, [71], True, False, True),
    "hybrid-drt/PEIS_LPSCl_IonBlocking_-25C.mpr": ("biologic-mpr", 1, [79], True, True, True),
    "hybrid-drt/PEIS_LPSCl_IonBlocking_-25C.txt": ("biologic-mpt", 1, [79], True, True, True),
    "hybrid-drt/PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt": ("relaxis", 1, [79], False, True,
                                                           False),
    "hybrid-drt/PEIS_SSB.mpr": ("biologic-mpr", 1, [89], True, False, True),
    "impedance.py/Circuit1_EIS_1.z": ("zplot", 1, [48], True, False, True),
    "impedance.py/Circuit1_EIS_2.z": ("zplot", 1, [48], True, False, True),
    "impedance.py/Circuit2_EIS_1.z": ("zplot", 1, [56], True, False, True),
    "impedance.py/Circuit2_EIS_2.z": ("zplot", 1, [56], True, False, True),
    "impedance.py/Circuit3_EIS_1.z": ("zplot", 1, [53], True, False, True),
    "impedance.py/Circuit3_EIS_2.z": ("zplot", 1, [53], True, False, True),
    "impedance.py/exampleData.csv": ("csv", 1, [66], False, False, False),
    "impedance.py/exampleDataAutolab.txt": ("autolab", 1, [41], False, False, False),
    "impedance.py/exampleDataBioLogic.mpt": ("biologic-mpt", 1, [43], True, False, True),
    "impedance.py/exampleDataCHInstruments.txt": ("chi", 1, [73], False, False, True),
    "impedance.py/exampleDataGamry.DTA": ("gamry", 1, [72], True, False, True),
    "impedance.py/exampleDataGamryABORT.DTA": ("gamry", 1, [72], True, False, True),
    "impedance.py/exampleDataParstat.txt": ("parstat", 1, [31], True, False, False),
    "impedance.py/exampleDataPowersuite.txt": ("powersuite", 1, [30], False, False, False),
    "impedance.py/exampleDataVersaStudio.par": ("versastudio", 1, [61], True, False, True),
    "impedance.py/exampleDataZPlot.z": ("zplot", 1, [21], True, False, True),
    "impedance.py/exampleDataZPlot_noComments.z": ("zplot", 1, [31], True, True, True),
}
#: malformed files -> text the InputError must contain
MALFORMED = {"impedance.py/exampleDataBioLogic_MissingFreq.mpt": "freq/Hz"}


def _data_files() -> list[str]:
    if not DATA.is_dir():
        return []
    return sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*")
                  if p.is_file() and not p.name.startswith(("LICENSE", "sample_info")))


# --------------------------------------------------------------------------- every file

@needs_data
@pytest.mark.parametrize("name", _data_files())
def test_every_file_loads_with_sane_spectra(name):
    path = DATA / name
    if name in MALFORMED:
        with pytest.raises(InputError, match=MALFORMED[name]) as info:
            read_spectra(path)
        assert info.value.file == str(path)
        return
    assert name in EXPECTED, f"record the sweeps and points of {name} in EXPECTED"
    fmt, n_sweeps, points, has_time, has_temp, has_start = EXPECTED[name]
    assert detect_format(path) == fmt
    spectra = read_spectra(path)
    assert len(spectra) == n_sweeps
    assert [len(s) for s in spectra] == points
    for k, s in enumerate(spectra):
        assert np.all(s.frequency > 0)
        assert np.all(np.diff(s.frequency) > 0)
        assert np.all(np.isfinite(s.impedance))
        assert np.any(s.imag < 0), "a capacitive part (Z'' < 0) somewhere"
        assert s.sweep == (k if n_sweeps > 1 else None)
        assert s.source == str(path)
        assert s.metadata["format"] == fmt
        assert (s.time is not None) == has_time
        assert (s.temperature is not None) == has_temp
        assert (s.start_time is not None) == has_start
        if s.time is not None:
            assert np.all(np.isfinite(s.time)) and s.time.size == s.frequency.size
        if s.start_time is not None:
            datetime.fromisoformat(s.start_time)
        if s.temperature is not None:
            assert 150 < s.temperature < 1500
            assert s.metadata["temperature_source"]


def test_format_table_is_complete():
    names = [f.name for f in FORMATS]
    assert len(set(names)) == len(names)
    for wanted in ("gamry", "biologic-mpr", "biologic-mpt", "zplot", "autolab", "parstat",
                   "chi", "versastudio", "powersuite", "novocontrol", "relaxis", "csv"):
        assert wanted in names
    assert all(callable(f.detect) and callable(f.read) for f in FORMATS)


# --------------------------------------------------------------------------- parity, signs

@needs_data
def test_mpr_matches_its_ec_lab_text_export():
    mpr = read_spectrum(DATA / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C.mpr")
    txt = read_spectrum(DATA / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C.txt")
    relaxis = read_spectrum(DATA / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt")
    eps32 = np.finfo(np.float32).eps
    np.testing.assert_allclose(mpr.frequency, txt.frequency, rtol=2 * eps32)
    assert np.max(np.abs(mpr.impedance - txt.impedance) / np.abs(txt.impedance)) < 2 * eps32
    # the binary holds float32: its values are the text values rounded to float32
    np.testing.assert_array_equal(mpr.frequency.astype(np.float32),
                                  txt.frequency.astype(np.float32))
    np.testing.assert_allclose(mpr.time, txt.time, rtol=0, atol=1e-9)
    assert mpr.start_time == txt.start_time == "2025-05-15T01:18:45.867000"
    np.testing.assert_allclose(mpr.metadata["dc_voltage"], txt.metadata["dc_voltage"],
                               rtol=2 * eps32)
    np.testing.assert_allclose(relaxis.frequency, mpr.frequency, rtol=2 * eps32)
    assert np.max(np.abs(relaxis.impedance - mpr.impedance) / np.abs(mpr.impedance)) < 1e-6
    # -25 °C from the file names, said so
    for s in (mpr, txt, relaxis):
        assert s.temperature == pytest.approx(248.15)
        assert s.metadata["temperature_source"] == "file name"
    assert mpr.metadata["column_ids"][:3] == [32, 37, 38]


@needs_data
def test_imaginary_sign_matches_the_phase_the_instrument_wrote():
    path = DATA / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C.txt"
    table = np.loadtxt(path, skiprows=65, encoding="latin-1")
    f, phase = table[:, 0], table[:, 4]
    s = read_spectrum(path)
    order = np.argsort(f)
    np.testing.assert_allclose(np.degrees(np.angle(s.impedance)), phase[order], atol=2e-5)
    assert np.all(phase < 0)  # a blocking pellet is capacitive everywhere
    # the Gamry Zphz column too (galvanostatic run, inductive at high frequency)
    gamry = read_spectrum(DATA / "hybrid-drt" / "EISGALV_EISTest3.DTA")
    assert gamry.imag[-1] > 0 and gamry.imag[0] < 0
    rows = [ln.split("\t") for ln in
            (DATA / "hybrid-drt" / "EISGALV_EISTest3.DTA").read_text("latin-1").splitlines()
            if ln.startswith("\t") and ln.split("\t")[1].isdigit()]
    zphz = np.array([float(r[8]) for r in rows])[::-1]
    np.testing.assert_allclose(np.degrees(np.angle(gamry.impedance)), zphz, atol=1e-4)


@needs_data
def test_biologic_text_negates_minus_im_z():
    s = read_spectrum(DATA / "impedance.py" / "exampleDataBioLogic.mpt")
    k = int(np.argmin(np.abs(s.frequency - 1.0003201e3)))
    assert s.frequency[k] == pytest.approx(1.0003201e3)
    assert s.real[k] == pytest.approx(65.470886)
    assert s.imag[k] == pytest.approx(-0.38998979)  # -Im(Z) = +0.39 in the file
    assert s.start_time == "2018-02-04T10:02:46"
    assert s.metadata["area"] == pytest.approx(1e-7)  # 0.001 cm²
    assert s.metadata["dc_current"].shape == s.frequency.shape


@needs_data
def test_second_mpr_file():
    (s,) = read_spectra(DATA / "hybrid-drt" / "PEIS_SSB.mpr")
    assert s.frequency[-1] == pytest.approx(7.0000185e6, rel=1e-7)
    assert s.frequency[0] == pytest.approx(9.99726355e-3, rel=1e-6)
    assert s.start_time == "2025-04-14T12:01:05.290000"
    assert s.time[-1] < s.time[0]  # the sweep ran from high to low frequency


# --------------------------------------------------------------------------- Gamry

@needs_data
def test_gamry_aborted_run_keeps_what_was_measured():
    full = read_spectrum(DATA / "impedance.py" / "exampleDataGamry.DTA")
    aborted = read_spectrum(DATA / "impedance.py" / "exampleDataGamryABORT.DTA")
    assert aborted.metadata["aborted"] is True
    assert full.metadata["aborted"] is False
    assert len(aborted) == 72
    np.testing.assert_allclose(aborted.impedance, full.impedance)
    assert aborted.start_time == "2020-03-18T16:54:44"
    assert full.start_time == "2018-04-23T16:43:15"
    assert full.metadata["area"] == pytest.approx(1e-4)  # 1 cm²
    assert full.metadata["dc_voltage_setting"] == pytest.approx(-0.05)
    # Time column: the highest frequency was measured first, one second in
    assert full.time[-1] == pytest.approx(1.0) and full.time[0] == pytest.approx(861.0)
    np.testing.assert_allclose(full.metadata["dc_voltage"], -0.341, atol=2e-3)


@needs_data
def test_gamry_galvanostatic():
    s = read_spectrum(DATA / "hybrid-drt" / "EISGALV_EISTest3.DTA")
    assert s.metadata["mode"] == "galvanostatic"
    assert s.metadata["technique"] == "GALVEIS"
    assert s.start_time == "2024-10-25T21:09:58.727375"
    assert np.mean(s.metadata["dc_current"]) == pytest.approx(0.4965, abs=2e-3)


@needs_data
def test_temperatures_from_names_and_comments():
    s = read_spectrum(DATA / "eisfitpython-s04147" / "s04147-160deg.txt")
    assert s.temperature == pytest.approx(433.15)
    assert s.metadata["temperature_source"] == "file name"
    assert s.metadata["fixed_values"]["AC Volt [Vrms]"] == pytest.approx(0.035)
    z = read_spectrum(DATA / "impedance.py" / "exampleDataZPlot_noComments.z")
    assert z.temperature == pytest.approx(1073.15)  # "800 C" in the comment line
    assert "comment" in z.metadata["temperature_source"]
    assert z.metadata["points_declared"] == 79 and z.metadata["incomplete"]
    assert temperature_from_name("cell_300K.csv") == pytest.approx(300.0)
    assert temperature_from_name("run_2C_rate.csv") is None  # a C-rate, not 2 °C
    assert temperature_from_name("PEIS_-25C_x.mpr") == pytest.approx(248.15)


# --------------------------------------------------------------------------- directories

@needs_data
def test_read_directory_sorts_by_temperature_or_start_time():
    series = read_directory(DATA / "eisfitpython-s04147", "*.txt")
    assert [round(s.temperature - 273.15) for s in series] == [140, 150, 160, 170, 180, 190,
                                                                200]
    circuits = read_directory(DATA / "impedance.py", "Circuit*")
    starts = [s.start_time for s in circuits]
    assert starts == sorted(starts)
    assert Path(circuits[0].source).name == "Circuit2_EIS_1.z"
    # LICENSE and sample_info are skipped; mixed metadata falls back to file names
    mixed = read_directory(DATA / "hybrid-drt")
    assert len(mixed) == 5
    assert [Path(s.source).name for s in mixed] == sorted(Path(s.source).name for s in mixed)
    with pytest.raises(InputError, match="start time"):
        read_directory(DATA / "hybrid-drt", sort="time")
    with pytest.raises(InputError):
        read_directory(DATA / "hybrid-drt", skip_unrecognised=False)


# --------------------------------------------------------------------------- truncation

def _line_offsets(raw: bytes) -> list[int]:
    """Byte offset of the start of each line, counted as the readers count lines."""
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("latin-1"), "latin-1"
    offsets, pos = [], len(raw) - len(raw.lstrip(b"\xef\xbb\xbf"))
    for piece in text.splitlines(keepends=True):
        offsets.append(pos)
        pos += len(piece.encode(encoding))
    return offsets


@needs_data
@pytest.mark.parametrize("name", [n for n in EXPECTED if not n.endswith(".mpr")])
def test_text_file_cut_mid_row_names_the_line(name, tmp_path):
    src = DATA / name
    last_line = read_spectra(src)[-1].metadata["lines"][1]
    raw = src.read_bytes()
    start = _line_offsets(raw)[last_line - 1]
    end = raw.find(b"\n", start) if b"\n" in raw[start:] else len(raw)
    cut = tmp_path / src.name
    cut.write_bytes(raw[:(start + end) // 2])  # the original is never touched
    with pytest.raises(InputError) as info:
        read_spectra(cut)
    assert info.value.file == str(cut)
    assert info.value.line == last_line


@needs_data
@pytest.mark.parametrize("fraction", [0.0005, 0.003, 0.2, 0.45, 0.62, 0.8, 0.9999])
def test_mpr_cut_short_names_the_offset(fraction, tmp_path):
    src = DATA / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C.mpr"
    raw = src.read_bytes()
    cut = tmp_path / src.name
    cut.write_bytes(raw[:max(1, int(len(raw) * fraction))])
    with pytest.raises(InputError, match="byte") as info:
        read_spectra(cut, format="biologic-mpr")
    assert info.value.file == str(cut)


@needs_data
def test_mpr_unknown_column_id_is_named(tmp_path):
    src = DATA / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C.mpr"
    raw = bytearray(src.read_bytes())
    at = raw.find(b"MODULEVMP data") + 65 + 6 + 2 * 15  # id of the last column
    assert int.from_bytes(raw[at:at + 2], "little") == 13
    raw[at:at + 2] = (999).to_bytes(2, "little")
    bad = tmp_path / "unknown.mpr"
    bad.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="999") as info:
        read_spectra(bad)
    assert info.value.field == "column id 999"


# --------------------------------------------------------------------------- sweeps

@needs_data
def test_multi_cycle_mpt_is_split_with_start_times(tmp_path):
    src = DATA / "impedance.py" / "exampleDataBioLogic.mpt"
    lines = src.read_text("latin-1").splitlines()
    head, rows = lines[:61], [r for r in lines[61:] if r.strip()]
    names = lines[60].rstrip("\t").split("\t")
    jt, jc = names.index("time/s"), names.index("cycle number")
    second = []
    for r in rows:
        fields = r.split("\t")
        fields[jt] = repr(float(fields[jt]) + 1000.0)
        fields[jc] = "2"
        second.append("\t".join(fields))
    path = tmp_path / "two_cycles.mpt"
    path.write_text("\n".join(head + rows + second) + "\n", encoding="latin-1")
    one, two = read_spectra(path)
    assert (one.sweep, two.sweep) == (0, 1)
    np.testing.assert_allclose(two.impedance, one.impedance)
    t0 = datetime.fromisoformat(one.start_time)
    t1 = datetime.fromisoformat(two.start_time)
    assert t1 - t0 == timedelta(seconds=1000.0)
    np.testing.assert_allclose(two.time, one.time, atol=1e-9)
    assert one.start_time == (datetime(2018, 2, 4, 10, 2, 46)
                              + timedelta(seconds=two.metadata["time_offset"] - 1000)).isoformat()


@needs_data
def test_gamry_with_two_zcurve_tables(tmp_path):
    text = (DATA / "impedance.py" / "exampleDataGamry.DTA").read_text("latin-1")
    table = text[text.index("ZCURVE\tTABLE"):]
    path = tmp_path / "two.DTA"
    path.write_text(text + table, encoding="latin-1")
    a, b = read_spectra(path)
    assert (a.sweep, b.sweep) == (0, 1)
    np.testing.assert_allclose(a.impedance, b.impedance)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_repeated_sweeps_without_a_cycle_column(tmp_path):
    f = np.logspace(5, -1, 13)
    z = 100 + 1e3 / (1 + 1j * f / 10)
    rows = [f"{float(a)!r},{float(b.real)!r},{float(b.imag)!r}" for a, b in zip(f, z, strict=True)]
    path = _write(tmp_path / "two.csv", "freq/Hz,Z'/ohm,Z''/ohm\n" + "\n".join(rows + rows))
    a, b = read_spectra(path)
    assert len(a) == len(b) == 13
    np.testing.assert_allclose(a.frequency, f[::-1])
    path = _write(tmp_path / "cycles.csv", "f,Z',Z'',cycle\n" + "\n".join(
        [r + ",1" for r in rows[:7]] + [r + ",2" for r in rows[7:]]))
    assert [len(s) for s in read_spectra(path)] == [7, 6]


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("rows, field, words, line", [
    (["1000,1,-1", "100,nan,-2", "10,3,-1"], "Z'", "finite", 3),
    (["1000,1,-1", "100,2,-2", "0,3,-1"], "frequency", "0 Hz", 4),
    (["1000,1,-1", "100,2,-2", "100,3,-1", "10,3,-1"], "frequency", "repeated", 4),
    (["1000,1,-1", "100,2,-2", "300,3,-1", "10,3,-1"], "frequency", "monotonic", 4),
    (["1000,1,-1", "-100,2,-2", "10,3,-1"], "frequency", "-100 Hz", 3),
])
def test_bad_rows_are_reported_by_line(tmp_path, rows, field, words, line):
    path = _write(tmp_path / "bad.csv", "f/Hz,Z'/ohm,Z''/ohm\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=words) as info:
        read_spectra(path)
    assert info.value.field == field
    assert info.value.line == line
    assert info.value.file == str(path)


def test_bad_files(tmp_path):
    empty = _write(tmp_path / "empty.csv", "")
    with pytest.raises(InputError, match="empty"):
        read_spectra(empty)
    wide = _write(tmp_path / "wide.csv", "\n".join(["1,2,3,4"] * 5))
    with pytest.raises(InputError, match="header"):
        read_spectra(wide)
    per_area = _write(tmp_path / "area.csv", "f (Hz),Z' (ohm cm2),Z'' (ohm cm2)\n"
                      "1,2,-3\n2,2,-3\n3,2,-3\n")
    with pytest.raises(InputError, match="not an impedance"):
        read_spectra(per_area)
    no_imag = _write(tmp_path / "noimag.csv", "f,Z',phase\n1,2,-3\n2,2,-3\n3,2,-3\n")
    with pytest.raises(InputError, match="Z''") as info:
        read_spectra(no_imag)
    assert info.value.field == "Z''"
    prose = _write(tmp_path / "notes.txt", "a few words\nand no numbers\n")
    with pytest.raises(InputError, match="not recognised"):
        read_spectra(prose)
    with pytest.raises(InputError, match="unknown format"):
        read_spectra(prose, format="nope")
    with pytest.raises(InputError, match="no such file"):
        read_spectra(tmp_path / "missing.csv", format="csv")
    good = _write(tmp_path / "ok.csv", "1,2,-3\n2,2,-3\n3,2,-3\n")
    with pytest.raises(InputError, match="sweep") as info:
        read_spectrum(good, sweep=1)
    assert info.value.field == "sweep"


def test_file_cut_inside_its_last_number(tmp_path):
    src = "f,Z',Z''\n" + "\n".join(f"{f:.5e},{1e5:.5e},{-2e5 * k:.5e}"
                                    for k, f in enumerate([1e3, 1e2, 1e1, 1.0], start=1))
    assert src.endswith("e+05")
    path = _write(tmp_path / "cut.csv", src[:-2])  # "-8.00000e+" would not read,
    with pytest.raises(InputError):  # "-8.00000e" neither; "-8.000" would, wrongly:
        read_spectra(path)
    path = _write(tmp_path / "cut2.csv", src[:-7])
    with pytest.raises(InputError, match="cut short") as info:
        read_spectra(path)
    assert info.value.line == 5
    assert len(read_spectrum(_write(tmp_path / "whole.csv", src))) == 4


# --------------------------------------------------------------------------- units, signs

@given(
    n=st.integers(3, 30),
    f_unit=st.sampled_from([("Hz", 1.0), ("kHz", 1e3), ("MHz", 1e6)]),
    z_unit=st.sampled_from([("ohm", 1.0), ("Ohm", 1.0), ("kOhm", 1e3), ("Ω", 1.0),
                            ("MOhm", 1e6)]),
    imag_name=st.sampled_from([("Z''", 1.0), ("-Z''", -1.0), ("-Im(Z)", -1.0), ("Zim", 1.0)]),
    style=st.sampled_from(["{} ({})", "{}/{}", "{} [{}]"]),
    delimiter=st.sampled_from([",", "\t", ";"]),
    descending=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_csv_round_trip_with_units_and_signs(tmp_path_factory, n, f_unit, z_unit, imag_name,
                                              style, delimiter, descending, seed):
    rng = np.random.default_rng(seed)
    f = np.sort(10 ** rng.uniform(-2, 6, n))
    if np.any(np.diff(f) <= 0):
        return
    z = rng.uniform(1, 1e4, n) - 1j * rng.uniform(0.1, 1e4, n)
    names = [style.format("freq", f_unit[0]), style.format("Z'", z_unit[0]),
             style.format(imag_name[0], z_unit[0])]
    order = slice(None, None, -1) if descending else slice(None)
    rows = [delimiter.join(repr(float(v)) for v in (a / f_unit[1], b.real / z_unit[1],
                                               imag_name[1] * b.imag / z_unit[1]))
            for a, b in zip(f[order], z[order], strict=True)]
    path = tmp_path_factory.mktemp("rt") / "spectrum.csv"
    path.write_text(delimiter.join(names) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    s = read_spectrum(path)
    np.testing.assert_allclose(s.frequency, f, rtol=1e-12)
    np.testing.assert_allclose(s.impedance, z, rtol=1e-12)


def test_column_names():
    assert classify_column("-Im(Z)/Ohm").factor == -1.0
    assert classify_column("-Im(Z)/Ohm").role == "imag"
    assert classify_column("Freq.[Hz]").role == "frequency"
    assert classify_column("f / kHz").factor == pytest.approx(1e3)
    assert classify_column("Z' (kOhm)").factor == pytest.approx(1e3)
    assert classify_column("Z\"/ohm").role == "imag"
    assert classify_column("omega (rad/s)").factor == pytest.approx(1 / (2 * np.pi))
    t = classify_column("Temperature (°C)")
    assert t.role == "temperature" and t.factor * 25 + t.offset == pytest.approx(298.15)
    assert classify_column("Re(Y)/Ohm-1") is None
    assert classify_column("Counts") is None


def test_dates():
    assert parse_date("4/23/2018", "16:43:15")[0] == datetime(2018, 4, 23, 16, 43, 15)
    assert parse_date("23/4/2018")[0] == datetime(2018, 4, 23)  # day first when it must be
    assert parse_date("Thursday, July 19, 2018", "9:40:30 PM")[0] == datetime(2018, 7, 19,
                                                                               21, 40, 30)
    assert parse_date("Feb. 20, 2020", "15:55:08")[0] == datetime(2020, 2, 20, 15, 55, 8)
    assert parse_date("not a date") == (None, None)


@needs_data
def test_format_can_be_forced(tmp_path):
    copy = tmp_path / "renamed.dat"
    shutil.copy(DATA / "impedance.py" / "exampleData.csv", copy)
    assert len(read_spectrum(copy, format="csv")) == 66
    with pytest.raises(InputError):
        read_spectra(DATA / "impedance.py" / "exampleData.csv", format="gamry")


@needs_data
def test_relaxis_export_with_two_spectra(tmp_path):
    lines = (DATA / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C_RelaxIS.txt").read_text(
        "latin-1").splitlines()
    second = [lines[3].replace("DC=-0.080042", "DC=0.5")] + lines[4:]
    path = tmp_path / "two_RelaxIS.txt"
    path.write_text("\n".join(lines + second) + "\n", encoding="latin-1")
    a, b = read_spectra(path)
    assert (a.sweep, b.sweep) == (0, 1)
    assert a.metadata["parameters"]["DC"] == pytest.approx(-0.080042)
    assert b.metadata["parameters"]["DC"] == pytest.approx(0.5)
    assert a.metadata["spectrum_name"].endswith("PEIS_TSeq7_-25C_#61_C01.mpr_1")
    np.testing.assert_array_equal(a.impedance, b.impedance)


@needs_data
def test_gamry_temperature_entry(tmp_path):
    text = (DATA / "hybrid-drt" / "EISGALV_EISTest3.DTA").read_text("latin-1")
    text = text.replace("NOTES\t", "TEMP\tQUANT\t85.0\tTemperature (C)\nNOTES\t", 1)
    path = tmp_path / "hot.DTA"
    path.write_text(text, encoding="latin-1")
    s = read_spectrum(path)
    assert s.temperature == pytest.approx(358.15)
    assert s.metadata["temperature_source"] == "header TEMP"


def test_csv_temperature_and_time_columns(tmp_path):
    rows = [f"{f},{r},{-i},{t},{T}" for f, r, i, t, T in
            [(1e4, 10, 1, 0.0, 24.9), (1e3, 12, 5, 0.5, 25.0), (1e2, 20, 8, 1.0, 25.1)]]
    path = _write(tmp_path / "t.csv", "Frequency (Hz),Z' (ohm),Z'' (ohm),time (min),T (°C)\n"
                  + "\n".join(rows) + "\n")
    s = read_spectrum(path)
    assert s.temperature == pytest.approx(298.15)
    assert s.metadata["temperature_range"] == pytest.approx((298.05, 298.25))
    np.testing.assert_allclose(s.time, [60.0, 30.0, 0.0])  # sorted with the frequencies
    assert s.metadata["time_origin"] == "start of the file"
