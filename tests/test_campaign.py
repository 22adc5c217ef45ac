"""Integration tests of campaigns: synthetic files → TOML → run_campaign → store and report.

The measurements are made with the numerical model and binomial counts
(:mod:`ionscale.datasets.synthetic`), so the diffusivities that went in are known.
"""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ionscale.campaign import load_campaign, run_campaign
from ionscale.datasets.synthetic import STORAGE_STUDY, write_profile, write_storage_study
from ionscale.errors import InputError
from ionscale.store import Store
from ionscale.units import EV

D_EXCHANGE = STORAGE_STUDY["D_exchange"]  # m^2/s, during the 110 h exchange
D_ANNEAL = STORAGE_STUDY["D_anneal"]  # m^2/s, during 2 weeks of storage
EA_TABLE = STORAGE_STUDY["Ea"]  # eV, of the Arrhenius table
D0_TABLE = STORAGE_STUDY["D0"]  # m^2/s

CAMPAIGN = """\
[campaign]
name = "integration campaign"
database = "results.sqlite"
report = "report.html"

[[samples]]
name = "LLTO"
description = "synthetic bar"
properties = { grain_size = "16 um" }

[[samples.measurements]]
name = "before"
technique = "sims-line"
files = ["before.txt"]
conditions = { temperature = "22 degC", time = "110 h" }

[[samples.measurements]]
name = "after"
technique = "sims-line"
files = ["after.txt"]
conditions = { temperature = "22 degC", time = "2 weeks" }

[[samples.analyses]]
method = "tracer.profile"
label = "erfc"
measurements = ["before"]
parameters = { model = "erfc", source = "fit", background = "fit" }

[[samples.analyses]]
method = "tracer.evolve"
label = "evolve"
measurements = ["before", "after"]
parameters = { surface = "0 um" }
{extra}
[[samples]]
name = "tables"

[[samples.measurements]]
name = "nmr"
technique = "arrhenius-table"
files = ["nmr.txt"]

[[samples.analyses]]
method = "transport.arrhenius"
label = "arrhenius"
measurements = ["nmr"]
"""

FAILING = """
[[samples.analyses]]
method = "tracer.evolve"
label = "evolve without an after-profile"
measurements = ["before"]
"""


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    # the profiles the campaign files hold, for the tests that rewrite a file
    return write_storage_study(tmp_path_factory.mktemp("inputs"))


def make_campaign(folder: Path, lines, extra: str = "") -> Path:
    write_storage_study(folder)
    path = folder / "campaign.toml"
    path.write_text(CAMPAIGN.replace("{extra}", extra), encoding="utf-8")
    return path


def one_value(db: Store, sample: str, method: str, name: str) -> dict:
    rows = db.results(sample=sample, method=method, name=name)
    assert len(rows) == 1, rows
    return rows[0]


def digest(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir()) if p.suffix in {".txt", ".toml"}}


# -- a full run, cache and report ---------------------------------------------------------------


def test_run_stores_true_values_and_caches(tmp_path, lines):
    path = make_campaign(tmp_path, lines)
    summary = run_campaign(path, progress=False)
    assert summary.failed == ()
    assert sorted(summary.ran) == ["LLTO: erfc", "LLTO: evolve", "tables: arrhenius"]
    assert summary.skipped == ()
    assert summary.database == tmp_path / "results.sqlite"
    assert summary.report is not None and summary.report.is_file()
    assert summary.report.stat().st_size > 1000
    with Store(summary.database, create=False) as db:
        erfc = one_value(db, "LLTO", "tracer.profile", "D")
        evolve = one_value(db, "LLTO", "tracer.evolve", "D")
        ea = one_value(db, "tables", "transport.arrhenius", "Ea")
        assert abs(erfc["value"] - D_EXCHANGE) < 3 * erfc["error"]
        assert abs(evolve["value"] - D_ANNEAL) < 3 * evolve["error"]
        assert abs(ea["value"] - EA_TABLE * EV) < 3 * ea["error"]
        # the analysis is filed under the conditions of its last measurement (22 °C)
        assert evolve["temperature_K"] == pytest.approx(295.15)
        assert erfc["unit"] == "m^2/s" and erfc["field_unit"] == "cm² s⁻¹"
        n_analyses = len(db.analyses())
        assert n_analyses == 3
        assert all(db.figures(a["id"]) for a in db.analyses())
        assert {s["name"] for s in db.samples()} == {"LLTO", "tables"}

    again = run_campaign(path, progress=False)
    assert again.ran == () and again.failed == ()
    assert len(again.skipped) == 3
    forced = run_campaign(path, progress=False, force=True)
    assert len(forced.ran) == 3 and forced.skipped == ()
    with Store(summary.database, create=False) as db:
        # re-running unchanged inputs replaces, it does not pile up
        assert len(db.analyses()) == 3
        assert len(db.results(sample="LLTO", method="tracer.evolve", name="D")) == 1


def test_changed_file_reruns_only_its_analyses(tmp_path, lines):
    path = make_campaign(tmp_path, lines)
    first = run_campaign(path, progress=False, report=False)
    assert len(first.ran) == 3 and first.report is None
    with Store(tmp_path / "results.sqlite") as db:
        old_evolve = one_value(db, "LLTO", "tracer.evolve", "D")

    # same numbers, different bytes (a new comment line): only the evolve reads after.txt
    write_profile(tmp_path / "after.txt", lines.profiles[1], header="after 2 weeks, re-exported")
    second = run_campaign(path, progress=False, report=False)
    assert second.ran == ("LLTO: evolve",)
    assert sorted(second.skipped) == ["LLTO: erfc", "tables: arrhenius"]

    # before.txt is read by both tracer analyses
    write_profile(tmp_path / "before.txt", lines.profiles[0], header="after exchange (v2)")
    third = run_campaign(path, progress=False, report=False)
    assert sorted(third.ran) == ["LLTO: erfc", "LLTO: evolve"]
    assert third.skipped == ("tables: arrhenius",)

    with open(tmp_path / "nmr.txt", "a") as f:
        f.write("# checked\n")
    fourth = run_campaign(path, progress=False, report=False)
    assert fourth.ran == ("tables: arrhenius",)

    with Store(tmp_path / "results.sqlite") as db:
        new_evolve = one_value(db, "LLTO", "tracer.evolve", "D")
        assert new_evolve["analysis_id"] > old_evolve["analysis_id"]
        assert new_evolve["value"] == pytest.approx(old_evolve["value"], rel=1e-9)
        history = db.results(sample="LLTO", method="tracer.evolve", name="D",
                             include_superseded=True)
        assert len(history) == 3 and sum(r["superseded"] for r in history) == 2


def test_changed_condition_reruns(tmp_path, lines):
    path = make_campaign(tmp_path, lines)
    run_campaign(path, progress=False, report=False)
    text = path.read_text().replace('time = "2 weeks"', 'time = "15 d"')
    path.write_text(text)
    summary = run_campaign(path, progress=False, report=False)
    assert summary.ran == ("LLTO: evolve",)
    with Store(tmp_path / "results.sqlite") as db:
        d = one_value(db, "LLTO", "tracer.evolve", "D")["value"]
    # the same spreading over a longer time: D scales as 1/t
    assert d == pytest.approx(D_ANNEAL * 14 / 15, rel=0.05)


def test_failed_analysis_is_reported_others_stored(tmp_path, lines):
    path = make_campaign(tmp_path, lines, extra=FAILING)
    summary = run_campaign(path, progress=False)
    assert len(summary.failed) == 1
    label, why = summary.failed[0]
    assert label == "LLTO: evolve without an after-profile"
    assert "samples[0].analyses[2].measurements" in why
    assert str(path) in why
    assert sorted(summary.ran) == ["LLTO: erfc", "LLTO: evolve", "tables: arrhenius"]
    assert "FAILED LLTO: evolve without an after-profile" in str(summary)
    assert summary.report is not None and summary.report.is_file()
    with Store(summary.database, create=False) as db:
        assert len(db.analyses()) == 3
        assert {a["label"] for a in db.analyses()} == {"erfc", "evolve", "arrhenius"}
    # a failed analysis is not cached: it is tried again, the others are skipped
    again = run_campaign(path, progress=False, report=False)
    assert again.ran == () and len(again.skipped) == 3 and len(again.failed) == 1


def test_inputs_unchanged_by_a_run(tmp_path, lines):
    path = make_campaign(tmp_path, lines)
    before = digest(tmp_path)
    assert set(before) == {"before.txt", "after.txt", "nmr.txt", "campaign.toml"}
    run_campaign(path, progress=False)
    run_campaign(path, progress=False, force=True)
    assert digest(tmp_path) == before


def test_load_campaign_converts_to_si(tmp_path, lines):
    path = make_campaign(tmp_path, lines)
    c = load_campaign(path)
    assert c.name == "integration campaign"
    assert c.database == tmp_path / "results.sqlite"
    before, after = c.measurements["LLTO"]
    assert before.condition("time") == pytest.approx(110 * 3600.0)
    assert after.condition("time") == pytest.approx(14 * 86400.0)
    assert after.condition("temperature") == pytest.approx(295.15)
    assert before.files == ((tmp_path / "before.txt").resolve(),)
    assert c.samples[0].properties["grain_size"] == pytest.approx(16e-6)
    evolve = c.analyses["LLTO"][1]
    assert evolve.parameters["surface"] == 0.0 and evolve.parameters["n_cells"] == 400


# -- bad campaign input ---------------------------------------------------------------------------


def check_bad(tmp_path, lines, old: str | None, new: str, *needles: str,
              text: str | None = None) -> str:
    """Write the campaign with ``old`` replaced by ``new`` (or ``text``) and check the error."""
    path = make_campaign(tmp_path, lines)
    if text is None:
        original = path.read_text()
        assert old in original
        text = original.replace(old, new, 1)
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_campaign(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message
    # run_campaign refuses the same way, before it creates a database
    with pytest.raises(InputError):
        run_campaign(path, progress=False)
    assert not (tmp_path / "results.sqlite").exists()
    return message


def test_bad_missing_file(tmp_path, lines):
    check_bad(tmp_path, lines, 'files = ["after.txt"]', 'files = ["afterr.txt"]',
              "samples[0].measurements[1].files[0]", "afterr.txt", "not found")


def test_bad_unknown_method(tmp_path, lines):
    check_bad(tmp_path, lines, 'method = "tracer.evolve"', 'method = "tracer.evolution"',
              "samples[0].analyses[1].method", "tracer.evolution", "tracer.evolve")


def test_bad_unknown_parameter(tmp_path, lines):
    check_bad(tmp_path, lines, 'parameters = { surface = "0 um" }',
              'parameters = { surfase = "0 um" }',
              "samples[0].analyses[1].parameters", "surfase")


def test_bad_quantity_in_conditions(tmp_path, lines):
    check_bad(tmp_path, lines, 'time = "2 weeks"', 'time = "12 parsecs"',
              "samples[0].measurements[1].conditions.time", "12 parsecs")


def test_bad_quantity_in_parameters(tmp_path, lines):
    check_bad(tmp_path, lines, 'surface = "0 um"', 'surface = "0 s"',
              "samples[0].analyses[1].parameters.surface", "0 s")


def test_bad_choice(tmp_path, lines):
    check_bad(tmp_path, lines, 'model = "erfc"', 'model = "gaussian"',
              "samples[0].analyses[0].parameters.model", "gaussian", "thin-film")


def test_bad_measurement_name(tmp_path, lines):
    check_bad(tmp_path, lines, 'measurements = ["before", "after"]',
              'measurements = ["before", "afterwards"]',
              "samples[0].analyses[1].measurements", "afterwards", "after")


def test_bad_no_samples(tmp_path, lines):
    check_bad(tmp_path, lines, None, "", "field 'samples'", "no samples",
              text='[campaign]\nname = "empty"\n')


def test_bad_sample_without_name(tmp_path, lines):
    check_bad(tmp_path, lines, 'name = "tables"', '# name = "tables"', "samples[1].name")


def test_bad_toml(tmp_path, lines):
    message = check_bad(tmp_path, lines, 'name = "LLTO"', 'name = "LLTO', "not valid TOML")
    assert "line 7" in message  # name = "LLTO" is line 7


def test_missing_campaign_file(tmp_path):
    with pytest.raises(InputError, match="campaign file not found") as info:
        load_campaign(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)


# -- a killed run ---------------------------------------------------------------------------------

KILL_ANALYSES = "".join(f"""
[[samples.analyses]]
method = "tracer.evolve"
label = "evolve {n}"
measurements = ["before", "after"]
parameters = {{ surface = "0 um", n_cells = {n} }}
""" for n in (300, 340, 380, 420, 460, 500, 540, 580))


def stored_analyses(db_path: Path) -> int:
    """Analyses committed so far (read by another process while the run writes)."""
    if not db_path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM analyses").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def test_killed_run_leaves_valid_database(tmp_path, lines):
    path = make_campaign(tmp_path, lines, extra=KILL_ANALYSES)
    total = 3 + 8
    db_path = tmp_path / "results.sqlite"
    script = textwrap.dedent(f"""
        from ionscale.campaign import run_campaign
        run_campaign({str(path)!r}, progress=False)
    """)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # kill as soon as a few analyses are in (about 0.25 s each), mid-campaign
        deadline = time.monotonic() + 60
        while stored_analyses(db_path) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    con = sqlite3.connect(db_path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = con.execute("SELECT COUNT(*) FROM analyses").fetchone()[0]
        # every stored analysis is complete: its values are there too
        empty = con.execute("SELECT COUNT(*) FROM analyses a WHERE NOT EXISTS "
                            "(SELECT 1 FROM results r WHERE r.analysis_id = a.id)").fetchone()[0]
    finally:
        con.close()
    assert 3 <= stored < total
    assert empty == 0
    assert not (tmp_path / "report.html").exists()

    summary = run_campaign(path, progress=False)
    assert summary.failed == ()
    assert len(summary.skipped) == stored
    assert len(summary.ran) + len(summary.skipped) == total
    assert summary.report.is_file()
    with Store(db_path, create=False) as db:
        assert len(db.analyses()) == total
        for row in db.results(method="tracer.evolve", name="D"):
            assert abs(row["value"] - D_ANNEAL) < 0.05 * D_ANNEAL


def test_label_is_part_of_the_cache_key():
    from ionscale.campaign import Measurement, cache_key

    m = (Measurement("a", "sims-line", (), {}, ("0" * 64,)),)
    assert cache_key("S", "tracer.profile", {}, m, label="one") != \
        cache_key("S", "tracer.profile", {}, m, label="two")
    assert cache_key("S", "tracer.profile", {}, m, label="one") != \
        cache_key("T", "tracer.profile", {}, m, label="one")
