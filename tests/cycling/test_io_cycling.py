"""Readers of cycling files: the real EC-Lab .mpr against its text export, round trips through
every writer, Gamry CHRONOP, and bad input."""

from pathlib import Path

import numpy as np
import pytest

from ionscale.cycling import analyse_steps, critical_current_density
from ionscale.datasets.synthetic_cycling import symmetric_cell_trace, write_csv, write_mpt
from ionscale.errors import InputError
from ionscale.io.cycling import FORMATS, detect_format, read_cycling

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "cycling" / "hybrid-drt-CP_SSB"
needs_real = pytest.mark.skipif(not REAL.with_suffix(".mpr").exists(),
                                reason="the shared real .mpr/.txt pair is not available")


@needs_real
def test_real_mpr_reads_identically_to_its_text_export():
    mpr = read_cycling(REAL.with_suffix(".mpr"))
    txt = read_cycling(REAL.with_suffix(".txt"))
    assert (mpr.metadata["format"], txt.metadata["format"]) == ("biologic-mpr", "biologic-mpt")
    assert mpr.n_points == txt.n_points == 30208
    # time is float64 in both; current and voltage are float32 in the .mpr, printed with 8
    # significant digits in the export: equal to within one float32 step
    np.testing.assert_allclose(mpr.time, txt.time, rtol=1e-14, atol=0)
    np.testing.assert_array_max_ulp(mpr.current.astype(np.float32),
                                    txt.current.astype(np.float32), maxulp=1)
    np.testing.assert_array_max_ulp(mpr.potential.astype(np.float32),
                                    txt.potential.astype(np.float32), maxulp=1)
    for name in ("step", "half_cycle", "cycle"):
        np.testing.assert_array_equal(getattr(mpr, name), getattr(txt, name))
    np.testing.assert_array_equal(mpr.segments.start, txt.segments.start)
    assert mpr.half_cycle.max() == 5 and mpr.cycle.max() == 2    # ±8.4 µA pulses, 3 pairs
    assert mpr.start_time == txt.start_time == "2024-05-17T14:09:11.952000"
    assert txt.area == pytest.approx(1e-7) and txt.metadata["area_source"] == "file"
    assert mpr.area is None
    assert "half cycle" in mpr.extra and "control/mA" in mpr.extra   # the file's own counters
    assert mpr.current[3001 + 50] == pytest.approx(8.4e-6, rel=0.01)  # mA -> A


@needs_real
def test_real_file_is_not_a_symmetric_cell():
    txt = read_cycling(REAL.with_suffix(".txt"))
    with pytest.raises(InputError, match="EC-Lab's default electrode area"):
        analyse_steps(txt)
    r = critical_current_density(txt, area=0.126e-4)
    assert r.status == "failed"
    assert any("not a Li | Li symmetric cell" in d.message for d in r.diagnostics)
    assert "CCD" not in r.values


@pytest.fixture(scope="module")
def small_trace():
    return symmetric_cell_trace(levels=(0.5, 4.0), cycles=2, half_cycle_time=600.0,
                                rest_time=300.0, dt=10.0, seed=3)


@pytest.mark.parametrize("writer,name,fmt", [
    (write_mpt, "cell.mpt", "biologic-mpt"),
    (lambda t, p: write_csv(t, p, preset="arbin"), "arbin.csv", "csv"),
    (lambda t, p: write_csv(t, p, preset="neware"), "neware.csv", "csv"),
    (lambda t, p: write_csv(t, p, preset="maccor"), "maccor.txt", "csv"),
])
def test_round_trip_through_every_writer(small_trace, tmp_path, writer, name, fmt):
    path = writer(small_trace, tmp_path / name)
    assert detect_format(path) == fmt
    back = read_cycling(path, area=small_trace.area)
    np.testing.assert_allclose(back.time, small_trace.time, atol=1e-3)
    np.testing.assert_allclose(back.current, small_trace.current, rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(back.potential, small_trace.potential, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(back.half_cycle, small_trace.half_cycle)
    np.testing.assert_array_equal(back.cycle, small_trace.cycle)


def test_csv_column_mapping_and_units(small_trace, tmp_path):
    path = tmp_path / "custom.csv"
    rows = "\n".join(f"{t / 60:.6f};{i * 1e6:.6f};{v * 1e3:.6f}" for t, i, v in
                     zip(small_trace.time, small_trace.current, small_trace.potential,
                         strict=True))
    path.write_text("# exported by hand\nminutes;microamps;millivolts\n" + rows + "\n")
    with pytest.raises(InputError, match="not recognised"):
        read_cycling(path)
    with pytest.raises(InputError, match="no time column among"):
        read_cycling(path, format="csv")
    back = read_cycling(path, columns={"time": "minutes", "current": 1, "potential": "millivolts"},
                        units={"time": "min", "current": "uA", "potential": "mV"})
    np.testing.assert_allclose(back.current, small_trace.current, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(back.time, small_trace.time, atol=1e-3)


def test_ec_lab_text_with_decimal_commas(small_trace, tmp_path):
    path = write_mpt(small_trace, tmp_path / "comma.mpt")
    text = path.read_text(encoding="latin-1").splitlines()
    nb = int(text[1].split(":")[1])
    text = text[:nb] + [ln.replace(".", ",") for ln in text[nb:]]
    path.write_text("\n".join(text) + "\n", encoding="latin-1")
    back = read_cycling(path)
    np.testing.assert_allclose(back.potential, small_trace.potential, rtol=1e-6, atol=1e-12)
    assert back.area == pytest.approx(0.126e-4, rel=1e-3)


def _gamry_chronop(path: Path, t, i, v, split: int) -> Path:
    head = ["EXPLAIN", "TAG\tCHRONOP", "TITLE\tLABEL\tChronopotentiometry Scan\tTest &Identifier",
            "DATE\tLABEL\t5/17/2024\tDate", "TIME\tLABEL\t9:00:00\tTime",
            "NOTES\tNOTES\t1\t&Notes...", "\tLi | LPS | Li",
            "AREA\tQUANT\t1.26000E-001\tSample &Area (cm^2)",
            "OCVCURVE\tTABLE\t2", "\tPt\tT\tVf\tVm\tAch\tOver",
            "\t#\ts\tV vs. Ref.\tV\tV\tbits",
            "\t0\t0.5\t1.0E-004\t1.0E-004\t0\t.........",
            "\t1\t1.0\t2.0E-004\t2.0E-004\t0\t........."]
    out = head
    for k, (a, b) in enumerate(((0, split), (split, t.size))):
        out += [f"CURVE{k + 1}\tTABLE\t{b - a}", "\tPt\tT\tVf\tIm\tVu\tSig\tAch\tIERange\tOver",
                "\t#\ts\tV vs. Ref.\tA\tV\tV\tV\t#\tbits"]
        for n, p in enumerate(range(a, b)):
            tt = t[p] - (t[split] if k else 0.0)     # the second table restarts its clock
            out.append(f"\t{n}\t{tt:.6E}\t{v[p]:.7E}\t{i[p]:.7E}\t0\t0\t0\t7\t.........")
    path.write_text("\r\n".join(out) + "\r\n", encoding="latin-1")
    return path


def test_gamry_chronop(small_trace, tmp_path):
    s = small_trace
    split = int(np.flatnonzero(s.half_cycle == 2)[0])
    path = _gamry_chronop(tmp_path / "CHRONOP.DTA", s.time, s.current, s.potential, split)
    assert detect_format(path) == "gamry"
    back = read_cycling(path)
    assert back.area == pytest.approx(0.126e-4)
    assert back.metadata["technique"] == "CHRONOP" and back.metadata["ocv"] == pytest.approx(2e-4)
    np.testing.assert_allclose(back.time[:split], s.time[:split])
    assert np.all(np.diff(back.time) > 0)     # the restarted clock was shifted
    np.testing.assert_array_equal(back.half_cycle, s.half_cycle)
    assert set(back.step.tolist()) == {0, 1}


def test_formats_table_lists_every_reader():
    assert [f.name for f in FORMATS] == ["biologic-mpr", "biologic-mpt", "gamry", "csv"]


# --------------------------------------------------------------------------- bad input


def test_no_current_column(tmp_path):
    path = tmp_path / "no_current.csv"
    path.write_text("Test_Time(s),Voltage(V),Step_Index\n0,0.001,1\n1,0.002,1\n2,0.003,1\n")
    with pytest.raises(InputError) as err:
        read_cycling(path, format="csv")
    assert err.value.field == "current" and "Voltage(V)" in str(err.value)
    assert "a current column" in str(err.value)


def test_no_current_column_in_ec_lab_text(small_trace, tmp_path):
    path = write_mpt(small_trace, tmp_path / "cell.mpt")
    text = path.read_text(encoding="latin-1").replace("I/mA", "Q/mA.h").replace(
        "control/mA", "control/V")
    path.write_text(text, encoding="latin-1")
    with pytest.raises(InputError, match="no current column") as err:
        read_cycling(path)
    assert err.value.file == str(path)


@pytest.mark.parametrize("area", [0.0, -1e-5, float("nan"), "big"])
def test_bad_area(small_trace, area):
    with pytest.raises(InputError, match="area"):
        analyse_steps(small_trace, area=area)


def test_missing_area(small_trace):
    from dataclasses import replace

    with pytest.raises(InputError, match="electrode area is not known"):
        analyse_steps(replace(small_trace, area=None))


def test_file_with_no_steps(tmp_path):
    path = tmp_path / "ocv.csv"
    t = np.arange(100.0)
    path.write_text("time/s,I/mA,Ewe/V\n" + "\n".join(f"{x},0,{1e-4 * np.sin(x)}" for x in t))
    trace = read_cycling(path, area=1e-5)
    with pytest.raises(InputError, match="no current step") as err:
        analyse_steps(trace)
    assert err.value.field == "current"


def test_non_symmetric_protocols():
    one_way = symmetric_cell_trace(levels=(1.0,), cycles=2, half_cycle_time=600.0,
                                   rest_time=300.0, seed=1)
    from ionscale.cycling import trace_from_arrays

    charge_only = trace_from_arrays(one_way.time, np.abs(one_way.current),
                                    np.abs(one_way.potential), area=one_way.area)
    r = critical_current_density(charge_only)
    assert r.status == "failed"
    assert any("one direction only" in d.message for d in r.diagnostics)
    full_cell = symmetric_cell_trace(levels=(1.0,), cycles=2, half_cycle_time=600.0,
                                     rest_time=300.0, offset=3.7, seed=1)
    r = critical_current_density(full_cell)
    assert r.status == "failed" and "CCD" not in r.values
    assert any("not a Li | Li symmetric cell" in d.message for d in r.diagnostics)


def test_bad_rows_and_time_are_located(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time/s,I/mA,Ewe/V\n0,0.1,0.01\n1,0.1,abc\n2,0.1,0.01\n")
    with pytest.raises(InputError) as err:
        read_cycling(path)
    assert err.value.line == 3 and err.value.field == "Ewe/V"
    path.write_text("time/s,I/mA,Ewe/V\n0,0.1,0.01\n5,0.1,0.01\n2,0.1,0.01\n")
    with pytest.raises(InputError, match="time goes backwards at point 2"):
        read_cycling(path)
    path.write_text("time/s,I/mA,Ewe/V\n0,0.1,0.01\n5,0.1\n")
    with pytest.raises(InputError) as err:
        read_cycling(path)
    assert err.value.line == 3


def test_not_a_cycling_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("a lab note\nwith words only\n")
    with pytest.raises(InputError, match="not recognised"):
        read_cycling(path)
    with pytest.raises(InputError, match="no such file"):
        read_cycling(tmp_path / "missing.mpr")
