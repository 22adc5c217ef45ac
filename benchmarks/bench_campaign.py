"""Campaigns on dask: wall time, speed-up and memory against the number of workers.

Run with the project environment::

    .venv/bin/python benchmarks/bench_campaign.py [--samples 20] [--spectra 50] [--volumes 4]
        [--mode series|fit] [--workers 1 2 4] [--no-scheduler] [--json out.json]

A synthetic campaign (:mod:`ionscale.datasets.synthetic_eis`, :mod:`~ionscale.datasets.
synthetic_volumes`) is written once: ``--samples`` pellets, each measured at ``--spectra``
temperatures (one CSV file per spectrum, −20 to 80 °C, 0.5 % noise), analysed with one
``eis.series`` batch fit of all its spectra (``--mode series``, the default: one task per
sample) or one ``eis.fit`` per spectrum (``--mode fit``: one task per spectrum, each with its
figure), plus ``--volumes`` small FIB-SEM-like volumes (``--volume-size`` voxels a side) with
every ``micro.metrics`` part. The same campaign then runs into a fresh database

* serially (``workers=1``, in this process),
* on a local cluster started by ``run_campaign`` for each ``--workers`` N > 1,
* on a ``LocalCluster`` of 2 processes started here and reached through its address
  (``scheduler=``, the path of an existing cluster: files checked by SHA-256 on the workers).

Reported for each: wall time, speed-up over serial, and the peak resident memory of each
process that computed analyses (``RunSummary.timings``). From the serial run come the per-task
costs (compute and figure; the driver's store commit per analysis) and from them, on paper, the
wall time of 100 samples on a 16-node cluster (``--nodes``, ``--cores-per-node``).

Every run's stored values are compared with the serial run's (status, value and error of every
(sample, label)); a difference is printed and makes the exit code 1.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

CIRCUIT = "p(R1,CPE1)-p(R2,CPE2)-CPE3"


def _write_csv(path: Path, spectrum, temperature_c: float) -> None:
    f, z = spectrum.frequency[::-1], spectrum.impedance[::-1]
    rows = [f"{a:.8g},{b:.8g},{c:.8g},{temperature_c:.4g}"
            for a, b, c in zip(f, z.real, -z.imag, strict=True)]
    path.write_text("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,T/degC\n" + "\n".join(rows) + "\n")


def write_campaign(folder: Path, samples: int, spectra: int, volumes: int, size: int,
                   mode: str, seed: int = 2024) -> Path:
    """The synthetic campaign described in the module docstring; returns its TOML file."""
    from ionscale.datasets.synthetic_eis import temperature_series
    from ionscale.datasets.synthetic_volumes import sintered_pellet
    from ionscale.io.volume import write_volume

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    temps_c = np.linspace(-20.0, 80.0, spectra)
    text = ['[campaign]\nname = "bench campaign"\n']
    for i in range(samples):
        sample = f"pellet-{i:03d}"
        series = temperature_series(temps_c + 273.15, noise=0.005,
                                    seed=int(rng.integers(1 << 31)))
        text.append(f'[[samples]]\nname = "{sample}"\n')
        files = []
        for k, (tc, s) in enumerate(zip(temps_c, series, strict=True)):
            name = f"{sample}_{k:03d}.csv"
            _write_csv(folder / name, s, float(tc))
            files.append(f'"{name}"')
            if mode == "fit":
                text.append(f'[[samples.measurements]]\nname = "eis-{k:03d}"\ntechnique = "eis"\n'
                            f'files = ["{name}"]\nconditions = {{ temperature = "{tc:.4g} degC",'
                            ' thickness = "1 mm", diameter = "10 mm" }\n')
        if mode == "fit":
            text += [f'[[samples.analyses]]\nmethod = "eis.fit"\nmeasurements = ["eis-{k:03d}"]\n'
                     f'parameters = {{ circuit = "{CIRCUIT}" }}\n' for k in range(spectra)]
        else:
            text.append(f'[[samples.measurements]]\nname = "series"\ntechnique = "eis"\n'
                        f'files = [{", ".join(files)}]\n'
                        'conditions = { thickness = "1 mm", diameter = "10 mm" }\n')
            text.append('[[samples.analyses]]\nmethod = "eis.series"\nmeasurements = ["series"]\n'
                        f'parameters = {{ circuit = "{CIRCUIT}" }}\n')
    for j in range(volumes):
        pellet = sintered_pellet((size,) * 3, porosity=0.105, pore_radius_m=0.12e-6,
                                 voxel_size=20e-9, axis=1, seed=int(rng.integers(1 << 31)))
        name = f"volume_{j}.tif"
        write_volume(pellet, folder / name, overwrite=True)
        text.append(f'[[samples]]\nname = "volume-{j}"\n\n[[samples.measurements]]\n'
                    f'name = "fib-sem"\ntechnique = "volume"\nfiles = ["{name}"]\n\n'
                    '[[samples.analyses]]\nmethod = "micro.metrics"\nmeasurements = ["fib-sem"]\n'
                    'parameters = { phase = "pore", phases = { pore = 0, solid = 1 }, axis = 1 }\n')
    path = folder / "campaign.toml"
    path.write_text("\n".join(text))
    return path


def _load() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _fresh(folder: Path) -> None:
    for name in ("results.sqlite", "results.sqlite-wal", "results.sqlite-shm"):
        (folder / name).unlink(missing_ok=True)


def _snapshot(database: Path) -> dict:
    from ionscale.store import Store

    with Store(database, readonly=True) as db:
        rows = db.results()
        status = {(a["sample"], a["label"]): a["status"] for a in db.analyses()}
    out: dict = {k: [v, []] for k, v in status.items()}
    for r in rows:
        out[(r["sample"], r["label"])][1].append((r["name"], r["value"], r["error"]))
    return out


def _differences(a: dict, b: dict) -> list[str]:
    if a.keys() != b.keys():
        return [f"analyses differ: {sorted(set(a) ^ set(b))[:5]}"]
    out = []
    for key in a:
        if a[key][0] != b[key][0]:
            out.append(f"{key}: status {a[key][0]} against {b[key][0]}")
        for (n, x, e), (_, y, f) in zip(a[key][1], b[key][1], strict=True):
            for p, q in ((x, y), (e, f)):
                if (p is None) != (q is None) or (p is not None and not math.isclose(
                        p, q, rel_tol=1e-9, abs_tol=0.0)):
                    out.append(f"{key} {n}: {p} against {q}")
    return out


def _timed_store():
    """Time every Store.save_analysis of this process (the driver's commits)."""
    from ionscale.store import Store

    spent: list[float] = []
    original = Store.save_analysis

    def save(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t)

    Store.save_analysis = save
    return spent


def run_once(path: Path, label: str, spent: list[float], **options) -> dict:
    from ionscale.campaign import run_campaign

    _fresh(path.parent)
    spent.clear()
    start = time.perf_counter()
    summary = run_campaign(path, progress=False, report=False, **options)
    wall = time.perf_counter() - start
    peaks: dict[str, int] = {}
    for t in summary.timings:
        if t.peak_rss is not None:
            peaks[t.where] = max(peaks.get(t.where, 0), t.peak_rss)
    return {"run": label, "wall_s": wall, "ran": len(summary.ran),
            "failed": len(summary.failed), "tasks": [(t.label, t.seconds, t.where)
                                                    for t in summary.timings],
            "peak_rss_MB": {w: p / 2**20 for w, p in sorted(peaks.items())},
            "store_s": list(spent), "snapshot": _snapshot(path.parent / "results.sqlite")}


def projection(serial: dict, samples: int, volumes: int, target_samples: int, nodes: int,
               cores: int) -> dict:
    """Wall time of ``target_samples`` on ``nodes`` × ``cores`` workers, from the serial
    per-task costs: the larger of (work / workers, the longest task) and the driver's
    commits (one SQLite transaction per analysis, done one after the other)."""
    scale = target_samples / samples
    by_kind: dict[str, list[float]] = {}
    for label, seconds, _ in serial["tasks"]:
        kind = "volume" if label.startswith("volume-") else "eis"
        by_kind.setdefault(kind, []).append(seconds)
    eis = by_kind.get("eis", [])
    vol = by_kind.get("volume", [])
    n_eis = len(eis) * scale
    n_vol = len(vol) * scale
    work = (sum(eis) + sum(vol)) * scale
    workers = nodes * cores
    longest = max(eis + vol) if eis or vol else 0.0
    store = float(np.mean(serial["store_s"])) if serial["store_s"] else 0.0
    compute = max(work / workers, longest)
    driver = (n_eis + n_vol) * store
    return {"target_samples": target_samples, "nodes": nodes, "cores_per_node": cores,
            "workers": workers, "tasks": n_eis + n_vol, "cpu_s": work,
            "mean_eis_task_s": float(np.mean(eis)) if eis else None,
            "mean_volume_task_s": float(np.mean(vol)) if vol else None,
            "store_commit_s": store, "compute_bound_s": compute, "driver_bound_s": driver,
            "expected_wall_s": max(compute, driver) + 10.0,
            "note": "+10 s: cluster connection and each worker's first imports; Slurm queueing "
                    "not included"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--spectra", type=int, default=50)
    parser.add_argument("--volumes", type=int, default=4)
    parser.add_argument("--volume-size", type=int, default=48)
    parser.add_argument("--mode", choices=("series", "fit"), default="series")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--no-scheduler", action="store_true",
                        help="skip the run through an existing LocalCluster's address")
    parser.add_argument("--target-samples", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--cores-per-node", type=int, default=32)
    parser.add_argument("--folder", help="where to write the campaign (default: a temporary "
                        "folder, removed afterwards)")
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args(argv)

    folder = Path(args.folder) if args.folder else Path(tempfile.mkdtemp(prefix="ionscale-"))
    try:
        t = time.perf_counter()
        path = write_campaign(folder, args.samples, args.spectra, args.volumes,
                              args.volume_size, args.mode)
        print(f"campaign: {args.samples} samples x {args.spectra} spectra ({args.mode}), "
              f"{args.volumes} volumes of {args.volume_size}^3, written in "
              f"{time.perf_counter() - t:.1f} s; {os.cpu_count()} cores, "
              f"{platform.processor() or platform.machine()}, Python "
              f"{platform.python_version()}; load average {_load()}", flush=True)
        spent = _timed_store()
        runs = []
        for n in args.workers:
            label = "serial" if n == 1 else f"workers={n}"
            runs.append(run_once(path, label, spent, workers=n))
            print(f"  {label}: {runs[-1]['wall_s']:.1f} s", flush=True)
        if not args.no_scheduler:
            import distributed

            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=None,
                                          silence_logs=logging.ERROR) as cluster:
                runs.append(run_once(path, "scheduler (LocalCluster, 2)", spent,
                                     scheduler=cluster.scheduler_address))
            print(f"  scheduler: {runs[-1]['wall_s']:.1f} s", flush=True)
        serial = next((r for r in runs if r["run"] == "serial"), runs[0])
        bad = 0
        print(f"\n{'run':<30}{'wall s':>9}{'speed-up':>10}  peak memory per process (MiB)")
        for r in runs:
            diffs = _differences(serial["snapshot"], r["snapshot"])
            bad += len(diffs)
            peaks = ", ".join(f"{v:.0f}" for v in r["peak_rss_MB"].values())
            print(f"{r['run']:<30}{r['wall_s']:9.1f}{serial['wall_s'] / r['wall_s']:10.2f}  "
                  f"{peaks}" + (f"  [{len(diffs)} DIFFERENCES]" if diffs else "")
                  + (f"  [{r['failed']} failed]" if r["failed"] else ""))
            for d in diffs[:5]:
                print("    " + d)
        costs = [s for _, s, _ in serial["tasks"]]
        print(f"\nserial per-task cost: mean {np.mean(costs):.2f} s, max {np.max(costs):.2f} s "
              f"over {len(costs)} analyses; driver commit per analysis "
              f"{np.mean(serial['store_s']) * 1e3:.1f} ms")
        plan = projection(serial, args.samples, args.volumes, args.target_samples, args.nodes,
                          args.cores_per_node)
        print(f"projection: {plan['target_samples']} samples on {plan['nodes']} nodes x "
              f"{plan['cores_per_node']} cores = {plan['workers']} workers: {plan['tasks']:.0f} "
              f"tasks, {plan['cpu_s']:.0f} CPU-s; compute-bound {plan['compute_bound_s']:.1f} s,"
              f" driver commits {plan['driver_bound_s']:.1f} s -> about "
              f"{plan['expected_wall_s']:.0f} s ({plan['note']})")
        if args.json:
            for r in runs:
                r.pop("snapshot")
            Path(args.json).write_text(json.dumps({
                "args": vars(args), "cores": os.cpu_count(), "runs": runs,
                "projection": plan}, indent=1, default=str))
        print(f"load average at the end: {_load()} (other processes share these cores)")
        return 1 if bad else 0
    finally:
        if not args.folder:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
