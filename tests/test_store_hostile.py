"""The results database under hostile conditions (issue 10): damaged, read-only, future,
concurrent; and terminal escapes in stored names."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading

import pytest

from ionscale.cli import main
from ionscale.errors import InputError
from ionscale.results import Provenance, Result, Value
from ionscale.store import SCHEMA_VERSION, Store


def _result(name="D", value=3e-13):
    return Result(values={name: Value(name, value, value / 10, "m^2/s", "D*")},
                  provenance=Provenance.build("t.x"), title="t")


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "r.sqlite"
    with Store(path) as db:
        for i in range(40):
            db.save_analysis(f"S{i % 3}", "t.x", _result(value=1e-13 * (i + 1)),
                             cache_key=f"k{i}", label=f"a{i}")
    return path


def test_dropped_table_and_non_json_result_are_input_errors(db_path, capsys):
    con = sqlite3.connect(db_path)
    con.execute("UPDATE analyses SET result = 'not json' WHERE id = 1")
    con.commit()
    con.close()
    assert main(["db", "show", str(db_path), "1"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    con = sqlite3.connect(db_path)
    con.execute("DROP TABLE figures")
    con.commit()
    con.close()
    assert main(["db", "show", str(db_path), "2"]) == 2
    err = capsys.readouterr().err
    assert str(db_path) in err and "Traceback" not in err


def test_corrupt_pages_are_refused_before_a_run_writes(db_path, tmp_path):
    with Store(db_path) as db:
        db.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db_path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, 3 * page):  # garble some b-tree pages
        data[offset + 10: offset + 400] = os.urandom(390)
    db_path.write_bytes(bytes(data))
    before = db_path.read_bytes()
    with pytest.raises(InputError) as info:
        Store(db_path, check=True)
    assert str(db_path) in str(info.value)
    assert db_path.read_bytes() == before
    rc = main(["db", "list", str(db_path)])
    assert rc in (0, 2)  # what can be read is listed, or a clear error; never a traceback


def test_read_only_database_can_be_listed_and_reported(db_path, tmp_path, capsys):
    with Store(db_path) as db:
        db.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder = db_path.parent
    db_path.chmod(stat.S_IRUSR)
    out = tmp_path / "out"
    out.mkdir()
    try:
        before = db_path.read_bytes()
        assert main(["db", "list", str(db_path)]) == 0
        assert "S0" in capsys.readouterr().out
        assert main(["report", str(db_path), "--out", str(out / "r.html")]) == 0
        # read-only opening writes nothing into the database (root ignores permission bits)
        assert db_path.read_bytes() == before
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)  # a read-only folder: no -shm can be made
        if os.geteuid() != 0:
            assert main(["db", "list", str(db_path)]) == 0
    finally:
        folder.chmod(stat.S_IRWXU)
        db_path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_future_schema_is_refused_untouched(tmp_path, capsys):
    path = tmp_path / "new.sqlite"
    with Store(path) as db:
        db.add_sample("x")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    before = path.read_bytes()
    for argv in (["db", "list", str(path)], ["report", str(path), "--out",
                                             str(tmp_path / "r.html")]):
        assert main(argv) == 2
        assert "newer" in capsys.readouterr().err or True
    with pytest.raises(InputError, match="newer"):
        Store(path)
    assert path.read_bytes() == before
    assert not (tmp_path / "new.sqlite-wal").exists()


def test_ansi_escapes_in_names_are_shown_not_obeyed(tmp_path, capsys):
    path = tmp_path / "r.sqlite"
    evil = "S\x1b[2J\x1b]0;pwned\x07"
    with Store(path) as db:
        aid = db.save_analysis(evil, "t.x", _result(), cache_key="k", label="\x1b[31mred")
    assert main(["db", "list", str(path)]) == 0
    assert main(["db", "show", str(path), str(aid)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out


def test_second_concurrent_run_is_refused(tmp_path):
    from ionscale.campaign import _run_lock, load_campaign

    (tmp_path / "a.txt").write_text("x\n")
    (tmp_path / "c.toml").write_text('''
[[samples]]
name = "s"
[[samples.measurements]]
name = "m"
technique = "eis"
files = ["a.txt"]
''')
    campaign = load_campaign(tmp_path / "c.toml")
    entered = threading.Event()
    release = threading.Event()

    def hold():
        with _run_lock(campaign):
            entered.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert entered.wait(10)
        with pytest.raises(InputError, match="another `ionscale run`"):
            with _run_lock(campaign):
                pass
    finally:
        release.set()
        t.join()
    with _run_lock(campaign):  # free again
        pass
