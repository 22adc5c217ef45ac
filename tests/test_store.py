import argparse
import csv
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ionscale.store as store_mod
from ionscale.errors import InputError, IonscaleError
from ionscale.fitting import fit_curve
from ionscale.results import InputFile, Provenance, Result, Value, values_from_fit
from ionscale.store import SCHEMA_VERSION, Store, temperature_of
from ionscale.store_cli import register
from ionscale.units import format_value


def make_result(D=3e-13, dD=2e-14, title="x", method="tracer.fit", files=(), **params):
    values = {"D": Value("D", D, dD, "m^2/s", "D*"),
              "L": Value("L", 1.2e-6, 3e-8, "m", "L")}
    return Result(values=values, provenance=Provenance.build(method, files, params), title=title)


@pytest.fixture
def db(tmp_path):
    with Store(tmp_path / "r.sqlite") as s:
        yield s


def test_round_trip_values_errors_units(db, tmp_path):
    f = tmp_path / "m.txt"
    f.write_text("1 2 3\n")
    db.add_sample("LLTO-1", "tape cast", density=5030.0)
    db.add_measurement("LLTO-1", "600C", "tof-sims", [f], {"temperature": 873.15, "time": 3600.0})
    aid = db.save_analysis("LLTO-1", "tracer.fit", make_result(files=[f], model="erfc"),
                           cache_key="k1", measurements=["600C"], label="600 °C")
    rows = db.results()
    assert [r["name"] for r in rows] == ["D", "L"]
    d = rows[0]
    assert (d["value"], d["error"], d["unit"], d["symbol"]) == (3e-13, 2e-14, "m^2/s", "D*")
    assert d["field_value"] == pytest.approx(3e-9, rel=1e-15)
    assert d["field_error"] == pytest.approx(2e-10, rel=1e-15)
    assert d["field_unit"] == "cm² s⁻¹"
    assert (d["sample"], d["method"], d["label"], d["analysis_id"]) == (
        "LLTO-1", "tracer.fit", "600 °C", aid)
    assert d["temperature_K"] == 873.15
    a = db.analysis(aid)
    assert a["result"]["values"]["D"]["value"] == 3e-13
    assert a["result"]["provenance"]["inputs"][0]["sha256"] == InputFile.of(f).sha256
    assert a["parameters"] == {"model": "erfc"}
    assert a["measurements"] == ["600C"]
    assert a["conditions"] == {"temperature": 873.15, "time": 3600.0}
    assert a["title"] == "x" and a["status"] == "ok" and a["version"]
    # a value rebuilt from the stored row prints like the original
    v = Value(d["name"], d["value"], d["error"], d["unit"], d["symbol"])
    assert str(v) == "D* = (3.0 ± 0.2)e-9 cm² s⁻¹"


def test_reopen_keeps_everything(tmp_path):
    path = tmp_path / "r.sqlite"
    with Store.open(path) as s:
        s.save_analysis("A", "m", make_result(), cache_key="k")
    with Store(path, create=False) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert [r["value"] for r in s.results(name="D")] == [3e-13]
        mode = s.connection.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        assert s.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert s.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_non_finite_values_are_stored_as_null(db):
    r = Result(values={"a": Value("a", 1.5, math.nan, ""), "b": Value("b", math.inf, 0.0, "K")},
               provenance=Provenance.build("m"))
    db.save_analysis("S", "m", r, cache_key=None)
    rows = {x["name"]: x for x in db.results()}
    assert rows["a"]["value"] == 1.5 and rows["a"]["error"] is None
    assert rows["b"]["value"] is None and rows["b"]["error"] == 0.0


def test_sample_upsert_merges(db):
    i = db.add_sample("S", "first", density=5000.0, phase="cubic")
    j = db.add_sample("S", density=5100.0, grain_size=2e-6)
    assert i == j
    (s,) = db.samples()
    assert s["description"] == "first"
    assert s["properties"] == {"density": 5100.0, "phase": "cubic", "grain_size": 2e-6}
    db.add_sample("S", "second")
    assert db.samples()[0]["description"] == "second"
    with pytest.raises(InputError, match="sample"):
        db.add_sample("  ")


def test_measurement_upsert_replaces_files_and_conditions(db, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a")
    b.write_text("b")
    before = (a.read_bytes(), a.stat().st_mtime_ns)
    i = db.add_measurement("S", "m1", "sims", [a], {"temperature": "600 degC"})
    (m,) = db.measurements("S")
    assert m["temperature_K"] == pytest.approx(873.15)
    assert m["files"] == [{"path": str(a), "sha256": InputFile.of(a).sha256}]
    j = db.add_measurement("S", "m1", "impedance", [InputFile.of(b), a], {"temperature": 500.0})
    assert i == j
    (m,) = db.measurements()
    assert m["technique"] == "impedance" and m["temperature_K"] == 500.0
    assert [f["path"] for f in m["files"]] == [str(b), str(a)]
    assert (a.read_bytes(), a.stat().st_mtime_ns) == before  # inputs never modified
    assert db.measurements("other") == []
    with pytest.raises(InputError) as err:
        db.add_measurement("S", "m2", "sims", [tmp_path / "missing.txt"])
    assert "missing.txt" in str(err.value)
    assert len(db.measurements()) == 1


def test_cache_key_lookup_and_atomic_replace(db):
    assert db.find_analysis("k") is None
    first = db.save_analysis("S", "m", make_result(D=1e-13), cache_key="k", label="T1")
    found = db.find_analysis("k")
    assert found["id"] == first and found["result"]["values"]["D"]["value"] == 1e-13
    second = db.save_analysis("S", "m", make_result(D=2e-13), cache_key="k", label="T1")
    assert second != first
    assert [a["id"] for a in db.analyses(include_superseded=True)] == [second]
    assert [r["value"] for r in db.results(name="D", include_superseded=True)] == [2e-13]
    n_rows = db.connection.execute("SELECT count(*) FROM results").fetchone()[0]
    assert n_rows == 2  # the replaced analysis' rows are gone too
    # the same key for another sample is a different analysis
    db.save_analysis("T", "m", make_result(D=5e-13), cache_key="k")
    assert db.find_analysis("k", sample="S")["id"] == second
    assert db.find_analysis("k", sample="T")["result"]["values"]["D"]["value"] == 5e-13
    assert db.find_analysis("k", sample="U") is None


def test_new_cache_key_with_same_label_supersedes(db):
    old = db.save_analysis("S", "m", make_result(D=1e-13), cache_key="k1", label="600C")
    other = db.save_analysis("S", "m", make_result(D=9e-13), cache_key="k9", label="700C")
    new = db.save_analysis("S", "m", make_result(D=2e-13), cache_key="k2", label="600C")
    assert [a["id"] for a in db.analyses()] == [other, new]
    hist = db.analyses(include_superseded=True)
    assert [(a["id"], a["superseded"]) for a in hist] == [(old, True), (other, False),
                                                          (new, False)]
    assert sorted(r["value"] for r in db.results(name="D")) == [2e-13, 9e-13]
    assert len(db.results(name="D", include_superseded=True)) == 3
    assert db.analysis(old)["superseded"] is True


def test_failed_save_leaves_previous_analysis(db, monkeypatch):
    first = db.save_analysis("S", "m", make_result(D=1e-13), cache_key="k", label="L")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "_insert_results", staticmethod(boom))
    with pytest.raises(RuntimeError, match="disk on fire"):
        db.save_analysis("S", "m", make_result(D=2e-13), cache_key="k", label="L")
    (a,) = db.analyses(include_superseded=True)
    assert a["id"] == first and not a["superseded"]
    assert [r["value"] for r in db.results(name="D")] == [1e-13]
    assert not db.connection.in_transaction


def test_unknown_measurement_is_input_error(db):
    db.add_measurement("S", "m1", "sims")
    with pytest.raises(InputError, match="no measurement 'm9'") as err:
        db.save_analysis("S", "m", make_result(), cache_key="k", measurements=["m9"])
    assert "m1" in str(err.value)
    assert db.analyses() == []


def test_temperature_cross_technique_query(db):
    for i, T in enumerate([600.0, 700.0, 800.0]):
        db.add_measurement("S", f"sims{i}", "sims", conditions={"temperature": T})
        db.save_analysis("S", "tracer.fit", make_result(D=1e-14 * (i + 1)), cache_key=f"t{i}",
                         measurements=[f"sims{i}"], label=f"{T} K")
    db.add_measurement("S", "nmr", "pfg-nmr", conditions={"T": 650.0})
    db.save_analysis("S", "nmr.pfg", make_result(D=4e-14), cache_key="n", measurements=["nmr"])
    # explicit conditions win over the measurements'
    db.save_analysis("S", "nmr.pfg", make_result(D=5e-14), cache_key="n2",
                     measurements=["nmr"], conditions={"temperature_K": 900.0})
    # measurements at different temperatures: temperature unknown
    db.save_analysis("S", "transport.arrhenius", make_result(), cache_key="a",
                     measurements=["sims0", "sims1"])
    rows = db.results(name="D")
    by_method = {}
    for r in rows:
        by_method.setdefault(r["method"], []).append((r["temperature_K"], r["value"]))
    assert by_method["tracer.fit"] == [(600.0, 1e-14), (700.0, 2e-14), (800.0, 3e-14)]
    assert by_method["nmr.pfg"] == [(650.0, 4e-14), (900.0, 5e-14)]
    assert by_method["transport.arrhenius"] == [(None, 3e-13)]
    T = np.array([r["temperature_K"] for r in rows if r["temperature_K"] is not None])
    assert T.size == 5


def test_temperature_of():
    assert temperature_of({"temperature_K": 300.0, "temperature": 1.0}) == 300.0
    assert temperature_of({"T": "25 degC"}) == pytest.approx(298.15)
    assert temperature_of({"time": 3.0}) is None and temperature_of(None) is None
    with pytest.raises(InputError, match="temperature"):
        temperature_of({"temperature": -4.0})
    with pytest.raises(InputError, match="conditions.T"):
        temperature_of({"T": [1, 2]})


def test_figures_are_kept(db):
    png = b"\x89PNG\r\n\x1a\nfake"
    aid = db.save_analysis("S", "m", make_result(), cache_key="k", figures={"main": png})
    assert db.analysis(aid)["figures"] == ["main"]
    assert db.figures(aid) == {"main": png}
    with pytest.raises(InputError, match="figure"):
        db.save_analysis("S", "m", make_result(), cache_key="k", figures={"main": "x.png"})
    assert db.figures(aid) == {"main": png}


@settings(max_examples=40, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False),
       error=st.floats(min_value=0, allow_infinity=False),
       name=st.text(min_size=1, max_size=12))
def test_any_finite_value_round_trips_exactly(value, error, name):
    with Store(":memory:") as s:
        r = Result(values={name: Value(name, value, error, "m")}, provenance=Provenance.build("m"))
        aid = s.save_analysis("S", "m", r, cache_key="k")
        (row,) = s.results()
        assert (row["name"], row["value"], row["error"]) == (name, value, error)
        assert s.analysis(aid)["result"]["values"][name]["value"] == value


# -- file checks ----------------------------------------------------------------------------------

def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(InputError) as err:
        Store(path)
    msg = str(err.value)
    assert str(path) in msg and "newer" in msg and "schema_version" in msg


def test_older_schema_is_migrated(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite"
    with Store(path) as s:
        s.save_analysis("S", "m", make_result(), cache_key="k")

    def add_notes(con):
        con.execute("ALTER TABLE analyses ADD COLUMN notes TEXT NOT NULL DEFAULT ''")

    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(store_mod.MIGRATIONS, SCHEMA_VERSION, add_notes)
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION + 1
        cols = [r[1] for r in s.connection.execute("PRAGMA table_info(analyses)")]
        assert "notes" in cols
        assert [r["value"] for r in s.results(name="D")] == [3e-13]


def test_missing_migration_is_an_error_and_leaves_file(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite"
    Store(path).close()
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(IonscaleError, match="no migration"):
        Store(path)
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", SCHEMA_VERSION)
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION


def test_not_a_database_names_the_file(tmp_path):
    path = tmp_path / "notes.txt"
    content = b"these are my notes, not a database\n" * 20
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        Store(path)
    assert str(path) in str(err.value) and "not a results database" in str(err.value)
    assert path.read_bytes() == content


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="not an ionscale results database") as err:
        Store(path)
    assert str(path) in str(err.value)


def test_missing_file_without_create(tmp_path):
    path = tmp_path / "none.sqlite"
    with pytest.raises(InputError, match="no such results database"):
        Store(path, create=False)
    assert not path.exists()


_WRITER = r"""
import sys
from ionscale.results import Provenance, Result, Value
from ionscale.store import Store

db = Store(sys.argv[1])
start, n = int(sys.argv[2]), int(sys.argv[3])
prov = Provenance.build("kill.test")
i = start
while True:
    values = {f"v{k}": Value(f"v{k}", float(i * 1000 + k), 0.5, "m") for k in range(n)}
    db.save_analysis("S", "kill.test", Result(values=values, provenance=prov, title=str(i)),
                     cache_key=f"k{i % 7}", label=f"L{i % 5}")
    if i == start:
        print("ready", flush=True)
    i += 1
"""


def test_killed_writer_leaves_consistent_file(tmp_path):
    path = tmp_path / "killed.sqlite"
    n_values = 150
    rng = np.random.default_rng(7)
    seen = 0
    for round_ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path),
                                 str(round_ * 100000), str(n_values)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            time.sleep(0.3 + 0.4 * rng.random())
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        with Store(path, create=False) as s:
            con = s.connection
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []
            analyses = s.analyses(include_superseded=True)
            assert 1 <= len(analyses) <= 7  # one per cache key
            assert len(s.analyses()) <= 5  # one current per label
            for a in analyses:
                i = int(a["title"])
                rows = s.analysis(a["id"])["values"]
                assert [r["value"] for r in rows] == [float(i * 1000 + k)
                                                      for k in range(n_values)]
            # every analysis started by this round's writer has i >= round_ * 100000
            newest = max(int(a["title"]) for a in analyses)
            assert newest >= round_ * 100000
            orphans = con.execute("SELECT count(*) FROM results WHERE analysis_id NOT IN "
                                  "(SELECT id FROM analyses)").fetchone()[0]
            assert orphans == 0
            seen += newest - round_ * 100000 + 1
    assert seen >= 3


# -- export ---------------------------------------------------------------------------------------

def _filled(db):
    db.add_measurement("A", "m", "sims", conditions={"temperature": 873.15})
    db.save_analysis("A", "tracer.fit", make_result(title="a"), cache_key="ka", measurements=["m"],
                     label="600C")
    db.save_analysis("B", "nmr.pfg", make_result(D=7e-14, dD=1e-15, title="b"), cache_key="kb")


def test_export_csv_and_json(db, tmp_path):
    _filled(db)
    out = db.export(tmp_path / "all.csv")
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(store_mod.EXPORT_COLUMNS)
    assert len(rows) == 4
    d = [r for r in rows if r["sample"] == "A" and r["name"] == "D"][0]
    assert float(d["value"]) == 3e-13 and float(d["error"]) == 2e-14
    assert d["unit"] == "m^2/s" and d["field_unit"] == "cm² s⁻¹"
    assert float(d["temperature_K"]) == 873.15 and d["label"] == "600C"
    b = [r for r in rows if r["sample"] == "B" and r["name"] == "D"][0]
    assert b["temperature_K"] == "" and float(b["value"]) == 7e-14

    out = db.export(tmp_path / "a.json", format="json", sample="A")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert [s["name"] for s in data["samples"]] == ["A"]
    (a,) = data["analyses"]
    assert a["result"]["values"]["D"]["error"] == 2e-14
    assert a["values"][0]["temperature_K"] == 873.15
    assert data["measurements"][0]["conditions"] == {"temperature": 873.15}


def test_failing_export_leaves_existing_file(db, tmp_path, monkeypatch):
    _filled(db)
    out = tmp_path / "out.csv"
    out.write_text("precious\n")

    real_replace = os.replace
    written = []

    def crash_on_rename(src, dst):
        written.append(open(src, encoding="utf-8").read())  # the full new content was there
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash_on_rename)
    with pytest.raises(OSError, match="disk full"):
        db.export(out)
    monkeypatch.setattr(os, "replace", real_replace)
    assert written and written[0].startswith("analysis_id,")
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out.csv", "r.sqlite", "r.sqlite-wal", "r.sqlite-shm"])  # no temporary file left
    with pytest.raises(InputError, match="format"):
        db.export(out, format="xlsx")
    with pytest.raises(InputError, match="database itself"):
        db.export(tmp_path / "r.sqlite")
    with pytest.raises(InputError, match="folder"):
        db.export(tmp_path / "nowhere" / "x.csv")
    assert out.read_text() == "precious\n"


# -- CLI ------------------------------------------------------------------------------------------

def _cli(*argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    register(sub)
    args = p.parse_args(list(map(str, argv)))
    return args.func(args)


def _fit_result(tmp_path):
    f = tmp_path / "profile.txt"
    f.write_text("0 1\n1 2\n")
    x = np.linspace(0, 1, 20)
    y = 2.0 * x + 1.0 + np.random.default_rng(1).normal(0, 0.01, x.size)
    fit = fit_curve(lambda x, a, b: a * x + b, x, y, {"a": 1.0, "b": 0.0}, sigma=0.01)
    values = values_from_fit(fit, {"a": "m", "b": "m"}, {"a": "α"})
    return Result(values=values, fit=fit, title="line",
                  provenance=Provenance.build("tracer.fit", [f], {"model": "line"})), f


def test_cli_list_show_export(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    result, f = _fit_result(tmp_path)
    with Store(path) as s:
        s.add_measurement("LLTO", "m", "sims", [f], {"temperature": 873.15})
        aid = s.save_analysis("LLTO", "tracer.fit", result, cache_key="k", measurements=["m"],
                              label="600 °C")
        s.save_analysis("LLZO", "nmr.pfg", make_result(), cache_key="k2")

    assert _cli("db", "list", path) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["id", "sample", "method", "label", "status", "name", "value", "±",
                                "error", "T"]
    assert len(lines) == 2 + 4
    row_a = [ln for ln in lines if " α " in ln][0]
    assert format_value(*result["a"].field()) in row_a  # in µm, the field unit of m
    assert "873.15 K (600 °C)" in row_a and "600 °C" in row_a
    assert "(3.0 ± 0.2)e-9 cm² s⁻¹" in out

    assert _cli("db", "list", path, "--sample", "LLZO", "--name", "D", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["sample"], r["name"], r["value"]) for r in rows] == [("LLZO", "D", 3e-13)]

    assert _cli("db", "list", path, "--method", "nothing") == 0
    assert "no stored results" in capsys.readouterr().out

    assert _cli("db", "show", path, aid) == 0
    out = capsys.readouterr().out
    assert f"analysis {aid}: LLTO / tracer.fit / 600 °C" in out
    assert 'model = "line"' in out
    assert InputFile.of(f).sha256 in out
    assert "χ²_red" in out and "measurements: m" in out and "temperature: 873.15 K" in out
    assert "α = " in out

    assert _cli("db", "show", path, aid, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == aid and shown["result"]["fit"]["n_points"] == 20

    assert _cli("db", "export", path, tmp_path / "out.json") == 0
    assert "exported 4 value(s)" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "out.json").read_text())["analyses"]) == 2
    assert _cli("db", "export", path, tmp_path / "out.txt", "--sample", "LLZO") == 0
    capsys.readouterr()
    assert (tmp_path / "out.txt").read_text().startswith("analysis_id,sample,")
    assert len((tmp_path / "out.txt").read_text().splitlines()) == 3


def test_cli_errors(tmp_path):
    with pytest.raises(InputError, match="no such results database"):
        _cli("db", "list", tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()
    path = tmp_path / "e.sqlite"
    Store(path).close()
    with pytest.raises(InputError, match="no analysis with id 42") as err:
        _cli("db", "show", path, 42)
    assert str(path) in str(err.value)
