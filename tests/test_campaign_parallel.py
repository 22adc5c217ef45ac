"""Campaigns on dask (issue 17): a run on a cluster stores what a serial run stores.

One small impedance campaign (synthetic pellets, :mod:`ionscale.datasets.synthetic_eis`) is run
serially and on a ``LocalCluster`` of two worker processes (one thread each). The cluster run
also

* sends every file as bytes (``ship="always"``), so the workers check SHA-256 hashes;
* has an analysis that kills its own worker process the first time it runs (a marker file
  says it already did): dask reruns it on a new worker, nothing is lost or half-written;
* has an analysis whose result does not pickle: it is computed on the driver instead;
* has ``eis.series`` with ``n_jobs = 2`` inside a worker: its chunks go to the same cluster
  (a process pool inside a daemonic worker process would fail);
* has a ``transport.arrhenius`` between the fits it reads and one it must not read.

The whole module takes about 40 s on two cores, most of it in figure rendering.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from ionscale import campaign as campaign_module  # noqa: E402
from ionscale.campaign import (  # noqa: E402
    analysis_seed,
    load_campaign,
    plan_campaign,
    run_campaign,
    seeded,
)
from ionscale.errors import InputError  # noqa: E402
from ionscale.parallel import localise  # noqa: E402
from ionscale.store import Store  # noqa: E402

TEMPS_C = (20.0, 40.0, 60.0, 80.0)
CIRCUIT = "p(R1,CPE1)-p(R2,CPE2)-CPE3"
PLUGIN = "ionscale_parallel_test_plugin"
#: (sample, label) of the analysis that kills its worker once, and of the unpicklable one
KILLER = ("A", "eis.fit [eis-80C]")
UNPICKLABLE = ("B", "does not pickle")

PLUGIN_SOURCE = '''
"""Test analyses for tests/test_campaign_parallel.py (uploaded to the dask workers)."""
import os
from pathlib import Path

from ionscale.campaign import analysis
from ionscale.impedance.analyses import _FIT_PARAMETERS, fit_analysis
from ionscale.results import Provenance, Result, Value

MARKER = Path({marker!r})


@analysis("testing.fit_or_die", techniques=("eis",), parameters=dict(_FIT_PARAMETERS))
def fit_or_die(ctx):
    """eis.fit, but the first call anywhere kills its own process (a lost worker)."""
    try:
        os.close(os.open(MARKER, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return fit_analysis(ctx)
    os._exit(1)


@analysis("testing.unpicklable")
def unpicklable(ctx):
    """A result that cannot be sent back from a worker (it holds a lambda)."""
    result = Result(values={{"x": Value("x", float(ctx.seed % 1000), 0.5, "")}},
                    provenance=Provenance.build("testing.unpicklable"), title="unpicklable")
    object.__setattr__(result, "hook", lambda: None)
    return result
'''


def _write_csv(path: Path, spectrum, temperature_c: float) -> None:
    f, z = spectrum.frequency[::-1], spectrum.impedance[::-1]
    rows = [f"{a:.8g},{b:.8g},{c:.8g},{temperature_c:g}" for a, b, c in zip(f, z.real, -z.imag,
                                                                              strict=True)]
    path.write_text("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,T/degC\n" + "\n".join(rows) + "\n")


def write_campaign(folder: Path, seed: int = 7, testing: bool = True) -> Path:
    """Sample A: fits at 20-60 °C, the Arrhenius law of their σ_bulk, a fit at 80 °C (after it:
    the Arrhenius law must not see it), one batch fit of all four in two chunks. Sample B: the
    unpicklable analysis. ``testing=False``: only ionscale's own analyses."""
    from ionscale.datasets.synthetic_eis import temperature_series

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    text = ['[campaign]\nname = "parallel test"\n']
    for name in ("A", "B"):
        spectra = temperature_series(np.array(TEMPS_C) + 273.15, noise=0.005,
                                     seed=int(rng.integers(1 << 31)))
        text.append(f'[[samples]]\nname = "{name}"\n')
        files = []
        for tc, s in zip(TEMPS_C, spectra, strict=True):
            file = f"{name}_{int(tc)}C.csv"
            _write_csv(folder / file, s, tc)
            files.append(f'"{file}"')
            text.append(f'[[samples.measurements]]\nname = "eis-{int(tc)}C"\ntechnique = "eis"\n'
                        f'files = ["{file}"]\nconditions = {{ temperature = "{tc:g} degC", '
                        'thickness = "1 mm", diameter = "10 mm" }\n')
        text.append(f'[[samples.measurements]]\nname = "eis-all"\ntechnique = "eis"\n'
                    f'files = [{", ".join(files)}]\n'
                    'conditions = { thickness = "1 mm", diameter = "10 mm" }\n')

        def fit(tc, method="eis.fit"):
            return (f'[[samples.analyses]]\nmethod = "{method}"\nlabel = "eis.fit [eis-{tc}C]"\n'
                    f'measurements = ["eis-{tc}C"]\nparameters = {{ circuit = "{CIRCUIT}" }}\n')

        if name == "A":
            text += [fit(20), fit(40), fit(60)]
            text.append('[[samples.analyses]]\nmethod = "transport.arrhenius"\n'
                        'label = "Arrhenius of sigma_bulk"\nparameters = { from_method = '
                        '"eis.fit", value = "sigma_bulk", form = "sigmaT" }\n')
            text.append(fit(80, "testing.fit_or_die" if testing else "eis.fit"))
            text.append('[[samples.analyses]]\nmethod = "eis.series"\nlabel = "series"\n'
                        f'measurements = ["eis-all"]\nparameters = {{ circuit = "{CIRCUIT}", '
                        'n_jobs = 2 }\n')
        else:
            if testing:
                text.append('[[samples.analyses]]\nmethod = "testing.unpicklable"\n'
                            f'label = "{UNPICKLABLE[1]}"\n')
    path = folder / "campaign.toml"
    path.write_text("\n".join(text))
    return path


def snapshot(database: Path) -> dict:
    """(sample, label) → status, [(name, value, error)], figure names, stored result JSON."""
    with Store(database, readonly=True) as db:
        out = {}
        for a in db.analyses():
            full = db.analysis(a["id"])
            out[(a["sample"], a["label"])] = {
                "status": a["status"],
                "values": [(v["name"], v["value"], v["error"]) for v in full["values"]],
                "figures": full["figures"],
                "result": full["result"],
            }
    return out


def assert_same_numbers(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key]["status"] == b[key]["status"], key
        assert a[key]["figures"] == b[key]["figures"], key
        assert [v[0] for v in a[key]["values"]] == [v[0] for v in b[key]["values"]], key
        for (name, x, ex), (_, y, ey) in zip(a[key]["values"], b[key]["values"], strict=True):
            for p, q in ((x, y), (ex, ey)):
                if p is None or q is None:
                    assert p is q, (key, name)
                else:
                    assert math.isclose(p, q, rel_tol=1e-9, abs_tol=0.0), (key, name, p, q)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The test analyses, registered in this process (removed from the registry after)."""
    folder = tmp_path_factory.mktemp("plugin")
    marker = folder / "killed-once"
    source = folder / f"{PLUGIN}.py"
    source.write_text(PLUGIN_SOURCE.format(marker=str(marker)))
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(PLUGIN)
        yield {"source": source, "marker": marker, "module": module}
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(PLUGIN, None)
        for name in ("testing.fit_or_die", "testing.unpicklable"):
            campaign_module._REGISTRY.pop(name, None)


@pytest.fixture(scope="module")
def serial(tmp_path_factory, plugin):
    folder = tmp_path_factory.mktemp("serial")
    path = write_campaign(folder)
    plugin["marker"].touch()  # in this process the killer must not kill
    try:
        summary = run_campaign(path, progress=False, report=False)
    finally:
        plugin["marker"].unlink()
    return {"path": path, "summary": summary, "store": snapshot(folder / "results.sqlite")}


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory, plugin, serial):
    folder = tmp_path_factory.mktemp("cluster")
    path = write_campaign(folder)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        client.upload_file(str(plugin["source"]), load=False)
        workers_before = set(client.scheduler_info()["workers"])
        summary = run_campaign(path, progress=False, report=False, client=client,
                               ship="always")
        again = run_campaign(path, progress=False, report=False, client=client)
        workers_after = set(client.scheduler_info()["workers"])
    return {"path": path, "folder": folder, "summary": summary, "again": again,
            "store": snapshot(folder / "results.sqlite"), "killed": plugin["marker"].exists(),
            "workers_before": workers_before, "workers_after": workers_after}


def test_cluster_run_stores_what_a_serial_run_stores(serial, cluster_run):
    assert serial["summary"].failed == ()
    assert cluster_run["summary"].failed == (), cluster_run["summary"]
    assert cluster_run["summary"].ran == serial["summary"].ran  # file order in both
    assert len(serial["store"]) == 7
    assert_same_numbers(serial["store"], cluster_run["store"])
    # the work was done on the workers, except what reads the store or does not pickle
    where = {t.label: t.where for t in cluster_run["summary"].timings}
    assert where["A: Arrhenius of sigma_bulk"] == "driver"
    assert where[": ".join(UNPICKLABLE)] == "driver"
    assert where["A: eis.fit [eis-20C]"].startswith("tcp://")
    assert where["A: series"].startswith("tcp://")
    # the same seed wherever it ran (the unpicklable result's value is its seed mod 1000)
    assert serial["store"][UNPICKLABLE]["values"] == cluster_run["store"][UNPICKLABLE]["values"]


def test_rerun_on_the_cluster_is_cached(cluster_run):
    again = cluster_run["again"]
    assert again.ran == () and again.failed == ()
    assert len(again.skipped) == 7


def test_uses_results_waits_for_the_analyses_before_it(serial, cluster_run):
    for run in (serial, cluster_run):
        result = run["store"][("A", "Arrhenius of sigma_bulk")]["result"]
        # the three fits before it in the file, not the 80 °C one after it
        assert result["data"]["T"] == pytest.approx([293.15, 313.15, 333.15])
        assert result["fit"]["n_points"] == 3


def test_a_killed_worker_loses_nothing(cluster_run):
    assert cluster_run["killed"]  # the analysis did kill its worker once
    assert cluster_run["workers_before"] != cluster_run["workers_after"]  # a new one started
    stored = cluster_run["store"][KILLER]
    assert stored["status"] == "ok" and stored["values"]
    db = cluster_run["folder"] / "results.sqlite"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    # every stored analysis is whole: one value row per value of its result
    for key, item in cluster_run["store"].items():
        assert len(item["values"]) == len(item["result"]["values"]), key
        assert item["figures"] == ["main", "main.svg"], key


def test_shipped_files_keep_their_paths_in_the_provenance(cluster_run):
    result = cluster_run["store"][("A", "eis.fit [eis-20C]")]["result"]
    paths = [Path(f["path"]) for f in result["provenance"]["inputs"]]
    assert paths and all(p.parent == cluster_run["folder"] for p in paths), paths


def test_worker_refuses_a_file_whose_hash_differs(tmp_path):
    path = write_campaign(tmp_path / "c", testing=False)
    campaign = load_campaign(path)
    with Store(":memory:") as db:
        task = plan_campaign(campaign, db)[0]
    file, sha = task.measurements[0].files[0], task.measurements[0].hashes[0]
    # bytes damaged on the way
    with pytest.raises(InputError, match="damaged in transfer") as info:
        localise(task, {sha: file.read_bytes() + b"x"}, "tcp://w:1")
    assert file.name in str(info.value)
    # a worker that sees another file at the same path
    file.write_text(file.read_text() + "\n")
    with pytest.raises(InputError, match="SHA-256 mismatch on dask worker tcp://w:1"):
        localise(task, {}, "tcp://w:1")
    # a worker that does not see the file, which was not sent
    file.unlink()
    with pytest.raises(InputError, match="not readable on dask worker"):
        localise(task, {}, "tcp://w:1")


def test_shipped_bytes_land_in_a_local_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    path = write_campaign(tmp_path / "c", testing=False)
    with Store(":memory:") as db:
        task = plan_campaign(load_campaign(path), db)[0]
    file, sha = task.measurements[0].files[0], task.measurements[0].hashes[0]
    local, renamed = localise(task, {sha: file.read_bytes()})
    copy = local.measurements[0].files[0]
    assert copy != file and copy.name == file.name
    assert copy.read_bytes() == file.read_bytes()
    assert renamed == {str(copy): str(file)}


def test_seeds_come_from_the_cache_key(tmp_path):
    path = write_campaign(tmp_path, testing=False)
    with Store(":memory:") as db:
        plan = plan_campaign(load_campaign(path), db)
    seeds = [t.context(None).seed for t in plan]
    assert seeds == [analysis_seed(t.key) for t in plan]
    assert len(set(seeds)) == len(seeds)
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    with seeded(seeds[0]):
        a = np.random.random(3)  # noqa: NPY002
    with seeded(seeds[0]):
        b = np.random.random(3)  # noqa: NPY002
    assert np.array_equal(a, b)
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


@pytest.mark.parametrize("options, field", [
    ({"workers": 0}, "workers"),
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "workers"),
    ({"ship": "sometimes"}, "ship"),
    ({"ship_limit": -1}, "ship_limit"),
])
def test_run_options_are_checked(tmp_path, options, field):
    path = write_campaign(tmp_path, testing=False)
    with pytest.raises(InputError) as info:
        run_campaign(path, progress=False, report=False, **options)
    assert info.value.field == field
    assert not (tmp_path / "results.sqlite").exists()


def test_cli_run_options(tmp_path, capsys, monkeypatch):
    from ionscale.cli import main

    path = write_campaign(tmp_path, testing=False)
    assert main(["run", str(path), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--workers and --scheduler" in capsys.readouterr().err
    assert main(["run", str(path), "--workers", "0"]) == 2
    # an unreachable scheduler named in the environment is an input error, not a traceback
    import dask

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:9")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(["run", str(path), "--no-progress"]) == 2
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def test_slurm_example_explains_without_slurm(tmp_path):
    import subprocess

    script = Path(__file__).resolve().parents[1] / "examples" / "campaign_on_slurm.py"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    figure = tmp_path / "slurm.png"
    proc = subprocess.run([sys.executable, str(script), "--dry-run", "--figure", str(figure)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert figure.read_bytes()[:4] == b"\x89PNG"
    assert "SLURMCluster" in proc.stdout
    assert "run_campaign" in proc.stdout
    assert "Traceback" not in proc.stderr
