"""Result status end to end: diagnostics on results, in the store, the CLI, campaigns and report.

Issue 9: a wrong number must never look like a right one.
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionscale.campaign import load_campaign, run_campaign
from ionscale.cli import main
from ionscale.errors import InputError
from ionscale.fitting import fit_curve
from ionscale.results import DIAGNOSTIC_CODES, Diagnostic, Provenance, Result, Value
from ionscale.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
S04147 = DATA / "eis" / "eisfitpython-s04147"


def _result(**values: Value) -> Result:
    return Result(values=values, provenance=Provenance.build("test.status"), title="t")


# -- the result itself -------------------------------------------------------------------------

def test_runaway_diffusivity_is_failed_not_ok():
    r = _result(D=Value("D", 5e20, 1e19, "m^2/s", "D*"))  # 5e24 cm² s⁻¹ (BayesECR case)
    assert r.status == "failed"
    (d,) = r.diagnostics
    assert d.code == "out-of-range" and d.fields == ("D",) and "cm² s⁻¹" in d.message
    assert "[FAILED]" in r.summary() and "out-of-range" in r.summary()
    stored = r.to_dict()
    assert stored["status"] == "failed" and stored["diagnostics"][0]["code"] == "out-of-range"


@pytest.mark.parametrize(("value", "error", "unit", "code"), [
    (1.6e156, 1.0, "ohm", "out-of-range"),   # s04147 runaway R2
    (-1e-3, 1e-4, "s", None),                # no range declared for seconds: ok
    (math.nan, 1.0, "ohm", "non-finite"),
    (math.inf, 1.0, "", "non-finite"),
    (5e-149, math.inf, "ohm", "undetermined"),  # Gamry R0
    (3e-13, math.nan, "m^2/s", None),        # unknown error is not a defect
])
def test_value_checks(value, error, unit, code):
    r = _result(x=Value("x", value, error, unit))
    assert [d.code for d in r.diagnostics] == ([code] if code else [])
    assert r.status == (DIAGNOSTIC_CODES[code][0] if code else "ok")


def test_declared_range_overrides_the_unit_one():
    tau = Value("tau", -2.0, 0.1, "s", "τ", valid=(0.0, math.inf))
    assert _result(tau=tau).status == "failed"


def test_diagnostic_codes_are_checked():
    with pytest.raises(ValueError, match="unknown diagnostic code"):
        Diagnostic("nonsense", "x")
    assert Diagnostic("at-bound", "x").severity == "warning"
    d = Diagnostic("data-quality", "x", "failed", ("a",))
    assert Diagnostic.from_dict(d.to_dict()) == d
    # a code from a newer ionscale keeps its severity
    assert Diagnostic.from_dict({"code": "future", "severity": "failed"}).severity == "failed"


def test_with_diagnostics_adds_and_deduplicates():
    r = _result(D=Value("D", 1e-12, 1e-13, "m^2/s"))
    extra = Diagnostic("auto-start", "the automatic start fitted better")
    r2 = r.with_diagnostics(extra, extra)
    assert r.status == "ok" and r2.status == "warning" and r2.diagnostics == (extra,)


def test_fit_diagnostics_reach_the_result():
    x = np.linspace(0, 1, 30)
    with pytest.warns(UserWarning):
        fit = fit_curve(lambda x, a, b: a * x + b, x, 2 * x + 1, {"a": 1.0, "b": 0.0},
                        bounds={"a": (0.0, 1.5)})
    assert [d.code for d in fit.diagnostics] == ["at-bound"]
    r = Result(values={"a": Value("a", fit.value("a"), fit.error("a"))},
               provenance=Provenance.build("x"), fit=fit)
    assert r.status == "warning" and r.diagnostics[0].fields == ("a",)


def test_undetermined_parameter_is_named():
    x = np.linspace(0, 1, 30)
    with pytest.warns(UserWarning):
        fit = fit_curve(lambda x, a, b: (a + b) * x, x, 2 * x, {"a": 1.0, "b": 0.5})
    (d,) = [d for d in fit.diagnostics if d.code == "undetermined"]
    assert set(d.fields) == {"a", "b"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amplitude=st.floats(0.01, 100), rate=st.floats(0.05, 20), noise=st.floats(0.0, 0.5),
       upper=st.floats(0.1, 50), seed=st.integers(0, 2**31 - 1))
def test_no_result_is_ok_with_a_value_at_a_bound_or_undetermined(amplitude, rate, noise, upper,
                                                                 seed):
    """Over random noisy decays: ``ok`` never comes with a value at a bound, non-finite or with
    an infinite error."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 3, 25)
    y = amplitude * np.exp(-rate * t) + rng.normal(0, noise * amplitude + 1e-12, t.size)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = fit_curve(lambda t, a, k: a * np.exp(-k * t), t, y, {"a": 1.0, "k": 1.0},
                            bounds={"k": (1e-3, upper)}, log=("k",))
        except Exception as exc:  # the core raises only its own errors
            from ionscale.errors import IonscaleError

            assert isinstance(exc, IonscaleError)
            return
    r = Result(values={n: Value(n, fit.value(n), fit.error(n)) for n in fit.names},
               provenance=Provenance.build("decay"), fit=fit)
    k = fit.value("k")
    at_bound = math.isclose(k, upper, rel_tol=1e-9) or math.isclose(k, 1e-3, rel_tol=1e-9)
    bad = at_bound or not all(math.isfinite(v.value) and not math.isinf(v.error)
                              for v in r.values.values())
    if bad:
        assert r.status != "ok"


# -- the store ---------------------------------------------------------------------------------

def test_store_keeps_status_and_diagnostics(tmp_path):
    path = tmp_path / "r.sqlite"
    bad = _result(R=Value("R", 1.6e156, 1.0, "ohm", "R2"))
    with Store(path) as db:
        aid = db.save_analysis("S", "eis.fit", bad, cache_key="k")
        with pytest.raises(InputError, match="milder"):
            db.save_analysis("S", "eis.fit", bad, cache_key="k2", status="ok")
        a = db.analysis(aid)
        assert a["status"] == "failed"
        assert a["diagnostics"][0]["code"] == "out-of-range"
        assert db.results()[0]["status"] == "failed"


def test_schema_1_database_is_migrated_and_rechecked(tmp_path):
    path = tmp_path / "old.sqlite"
    with Store(path) as db:
        db.save_analysis("S", "tracer.profile",
                         _result(D=Value("D", 5e20, 1.0, "m^2/s", "D*")), cache_key="a")
        db.save_analysis("S", "tracer.profile",
                         _result(D=Value("D", 3e-13, 1e-14, "m^2/s", "D*")), cache_key="b")
    # make it look like a file written by the previous ionscale: no diagnostics, all 'ok'
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE analyses DROP COLUMN diagnostics")
    con.execute("UPDATE analyses SET status = 'ok'")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with Store(path) as db:
        assert db.schema_version == 2
        statuses = [(a["status"], [d["code"] for d in a["diagnostics"]]) for a in db.analyses()]
    assert statuses == [("failed", ["out-of-range"]), ("ok", [])]


# -- campaigns -----------------------------------------------------------------------------------

def _eis_campaign(tmp_path: Path, temperatures=(140, 160, 180, 200), label: bool = False) -> Path:
    lines = ['[campaign]\nname = "s04147"\n\n[[samples]]\nname = "pellet"\n']
    for t in temperatures:
        shutil.copy(S04147 / f"s04147-{t}deg.txt", tmp_path / f"s04147-{t}deg.txt")
        lines.append(f'''
[[samples.measurements]]
name = "{t}C"
technique = "eis"
files = ["s04147-{t}deg.txt"]
conditions = {{ temperature = "{t} degC", thickness = "2.1 mm", diameter = "8 mm" }}
''')
    for t in temperatures:
        lines.append(f'''
[[samples.analyses]]
method = "eis.fit"
measurements = ["{t}C"]
parameters = {{ circuit = "p(R1,CPE1)-p(R2,CPE2)-CPE3" }}
''' + (f'label = "fit {t}"\n' if label else ""))
    path = tmp_path / "campaign.toml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.mark.skipif(not S04147.is_dir(), reason="shared data not present")
def test_unlabelled_analyses_of_four_temperatures_keep_their_own_results(tmp_path):
    path = _eis_campaign(tmp_path)
    summary = run_campaign(path, progress=False, report=False)
    assert len(summary.ran) == 4 and not summary.failed
    with Store(tmp_path / "results.sqlite", create=False) as db:
        rows = db.results(method="eis.fit", name="sigma_bulk")
        labels = sorted(a["label"] for a in db.analyses())
    temps = sorted(round(r["temperature_K"] - 273.15) for r in rows)
    assert temps == [140, 160, 180, 200]
    assert labels == [f"eis.fit [{t}C]" for t in (140, 160, 180, 200)]
    assert main(["db", "list", str(tmp_path / "results.sqlite"), "--name", "sigma_bulk"]) == 0


def test_two_analyses_that_would_replace_each_other_need_labels(tmp_path):
    path = tmp_path / "c.toml"
    f = tmp_path / "a.txt"
    f.write_text("x\n")
    path.write_text(f'''
[[samples]]
name = "s"
[[samples.measurements]]
name = "m"
technique = "eis"
files = ["{f.name}"]
[[samples.analyses]]
method = "eis.kk"
measurements = ["m"]
[[samples.analyses]]
method = "eis.kk"
measurements = ["m"]
parameters = {{ blocking = true }}
''')
    with pytest.raises(InputError, match=r"analyses\[1\]\.label.*|also defined") as info:
        load_campaign(path)
    assert "samples[0].analyses[1].label" in str(info.value)


GOOD = '''
[campaign]
name = "c"

[[samples]]
name = "s"

[[samples.measurements]]
name = "m"
technique = "eis"
files = ["a.txt"]
conditions = { temperature = "22 degC" }

[[samples.analyses]]
method = "eis.kk"
measurements = ["m"]
parameters = { blocking = true }
'''


@pytest.mark.parametrize(("old", "new", "needles"), [
    ("parameters = {", "parameter = {", ("samples[0].analyses[0].parameter", "'parameters'")),
    ("[campaign]", "[campain]", ("campain", "'campaign'")),
    ('measurements = ["m"]', 'measurments = ["m"]', ("measurments", "'measurements'")),
    ('technique = "eis"', 'technique = "impedence"', ("technique", "'eis'")),
    ('"22 degC"', '"22"', ("conditions.temperature", "unit")),
    ('"22 degC"', "22", ("conditions.temperature", "unit")),
    ('"22 degC"', "nan", ("conditions.temperature", "finite")),
    ('"22 degC"', '"-300 degC"', ("conditions.temperature", "absolute zero")),
    ('blocking = true', 'blocknig = true', ("parameters.blocknig", "'blocking'")),
    ('method = "eis.kk"', 'method = "eis.kramers"', ("method", "one of")),
    ('measurements = ["m"]\n', 'measurements = "x"\n', ("measurements", "no measurement")),
    ('conditions = { temperature = "22 degC" }', 'conditions = "hot"', ("conditions", "table")),
    ('files = ["a.txt"]', "files = [1]", ("files", "list of file paths")),
    ('parameters = { blocking = true }', "parameters = 5", ("parameters", "table")),
    ('name = "c"', 'name = "c"\nreport = true', ("campaign.report", "str")),
    ('name = "c"', 'name = "c"\ndatabase = 3', ("campaign.database", "str")),
    ('[[samples.measurements]]', '[[samples]]\nname = "s"\n[[samples.measurements]]',
     ("samples[1].name", "twice")),
])
def test_campaign_typos_and_wrong_types_are_input_errors(tmp_path, old, new, needles):
    (tmp_path / "a.txt").write_text("x\n")
    assert old in GOOD
    path = tmp_path / "c.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_campaign(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_campaign_in_utf16_or_with_bom_reads(tmp_path, encoding):
    (tmp_path / "a.txt").write_text("x\n")
    path = tmp_path / "c.toml"
    path.write_text(GOOD, encoding=encoding)
    assert load_campaign(path).samples[0].name == "s"


def test_latin1_campaign_and_folder_are_input_errors(tmp_path):
    (tmp_path / "a.txt").write_text("x\n")
    path = tmp_path / "c.toml"
    path.write_bytes(GOOD.replace('name = "s"', 'name = "Pr\u00fcfling"').encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_campaign(path)
    with pytest.raises(InputError, match="folder"):
        load_campaign(tmp_path)


@pytest.mark.parametrize("target", ["results.sqlite", "c.toml", "a.txt", "sub", "other.csv"])
def test_report_never_replaces_the_database_campaign_inputs_or_other_files(tmp_path, target):
    (tmp_path / "a.txt").write_text("x\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "other.csv").write_text("precious\n")
    with Store(tmp_path / "results.sqlite") as db:
        db.add_sample("keep")
    path = tmp_path / "c.toml"
    path.write_text(GOOD.replace('name = "c"', f'name = "c"\nreport = "{target}"'))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(InputError, match="campaign.report"):
        run_campaign(path, progress=False)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before


def test_report_command_refuses_to_overwrite_the_database(tmp_path, capsys):
    db_path = tmp_path / "r.sqlite"
    with Store(db_path) as db:
        db.save_analysis("S", "x.y", _result(D=Value("D", 1e-12, 1e-13, "m^2/s")),
                         cache_key="k")
    before = db_path.read_bytes()
    assert main(["report", str(db_path), "--out", str(db_path)]) == 2
    assert "would overwrite the results database" in capsys.readouterr().err
    assert db_path.read_bytes() == before
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    assert main(["report", str(db_path), "--out", str(other)]) == 2
    assert other.read_text() == "mine"
    assert main(["report", str(db_path), "--out", str(other), "--force"]) == 0
    out = tmp_path / "report.html"
    assert main(["report", str(db_path), "--out", str(out)]) == 0
    assert main(["report", str(db_path), "--out", str(out)]) == 0  # an earlier report: fine


def test_report_shows_badges_and_needs_attention(tmp_path):
    db_path = tmp_path / "r.sqlite"
    with Store(db_path) as db:
        db.save_analysis("S", "eis.fit", _result(R=Value("R", 1.6e156, 1.0, "ohm", "R2")),
                         cache_key="k1", label="runaway")
        db.save_analysis("S", "eis.fit", _result(R=Value("R", 1e5, 1e3, "ohm", "R1")),
                         cache_key="k2", label="fine")
    out = tmp_path / "report.html"
    assert main(["report", str(db_path), "--out", str(out)]) == 0
    html = out.read_text()
    assert "Needs attention" in html and 'class="badge failed"' in html
    assert 'class="badge ok"' in html and "outside the physically possible range" in html


def test_cli_records_the_worst_printed_status(capsys):
    from ionscale.cli_support import print_result, reset_statuses, worst_printed_status

    reset_statuses()
    print_result(_result(D=Value("D", 1e-12, 1e-13, "m^2/s")), as_json=False)
    assert worst_printed_status() == "ok"
    capsys.readouterr()
    print_result(_result(D=Value("D", 5e20, 1.0, "m^2/s", "D*")), as_json=True)
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "failed"
    assert payload["diagnostics"][0]["code"] == "out-of-range"
    assert worst_printed_status() == "failed"
    print_result(_result(D=Value("D", 5e20, 1.0, "m^2/s", "D*")), as_json=False)
    captured = capsys.readouterr()
    assert "[FAILED]" in captured.out and "status FAILED" in captured.err
    reset_statuses()


def _status_is_honest(result) -> None:
    """No result is ``ok`` while a value is non-finite or undetermined, or while its fit says
    it did not converge, ended at a bound or is undetermined."""
    values_bad = any(not np.all(np.isfinite(np.asarray(v.value, dtype=float)))
                     or np.any(np.isinf(np.asarray(v.error, dtype=float)))
                     for v in result.values.values())
    fit = getattr(result, "fit", None)
    fit_bad = fit is not None and (any(d.code in ("at-bound", "undetermined", "not-converged")
                                       for d in fit.diagnostics)
                                   or not np.all(np.isfinite(fit.values)))
    if values_bad or fit_bad:
        assert result.status != "ok", result.summary()
    if fit is not None:  # every fit diagnostic reaches the result
        assert {(d.code, d.message) for d in fit.diagnostics} <= {
            (d.code, d.message) for d in result.diagnostics}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_d=st.floats(-16.0, -11.0), noise=st.floats(0.0, 0.3),
       n=st.integers(8, 60), depth_um=st.floats(0.2, 50.0), seed=st.integers(0, 2**31 - 1))
def test_tracer_profile_fits_never_ok_when_flawed(log_d, noise, n, depth_um, seed):
    import warnings

    from ionscale.errors import IonscaleError
    from ionscale.tracer import Profile, constant_source, fit_profile

    rng = np.random.default_rng(seed)
    t = 3600.0
    x = np.linspace(0.0, depth_um * 1e-6, n)
    clean = constant_source(x, 10.0 ** log_d, t, source=0.9, background=0.002)
    frac = np.clip(clean + rng.normal(0.0, noise * 0.1 + 1e-4, n), 0.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fit_profile(Profile(x=x, fraction=frac), time=t, source="fit",
                            background="fit")
        except IonscaleError:
            return
    _status_is_honest(r)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r1=st.floats(1.0, 6.0), r2=st.floats(1.0, 6.0), noise=st.floats(0.0, 0.1),
       n=st.integers(12, 60), seed=st.integers(0, 2**31 - 1))
def test_impedance_fits_never_ok_when_flawed(r1, r2, noise, n, seed):
    import warnings

    from ionscale.datasets.synthetic_eis import simulate_spectrum
    from ionscale.errors import IonscaleError
    from ionscale.impedance import fit_circuit

    params = {"R0": 10.0, "R1": 10.0 ** r1, "CPE1_Q": 1e-9, "CPE1_alpha": 0.9,
              "R2": 10.0 ** r2, "CPE2_Q": 1e-6, "CPE2_alpha": 0.8}
    f = np.logspace(6, -1, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            s = simulate_spectrum("R0-p(R1,CPE1)-p(R2,CPE2)", params, f, noise=noise,
                                  seed=seed)
            r = fit_circuit(s, "R0-p(R1,CPE1)-p(R2,CPE2)")
        except IonscaleError:
            return
    _status_is_honest(r)
