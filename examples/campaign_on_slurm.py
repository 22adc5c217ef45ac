"""Run a campaign on a Slurm cluster: dask workers as batch jobs, one results database.

On a Slurm login node, with dask-jobqueue installed (``pip install "ionscale[slurm]"`` on the
login node and on the compute nodes, i.e. in the environment the jobs activate)::

    python examples/campaign_on_slurm.py campaign.toml --nodes 16 --cores 32 \\
        --memory 64GB --walltime 02:00:00 [--queue QUEUE] [--account ACCOUNT]

starts a dask scheduler in this process, submits ``--nodes`` batch jobs that each run one
single-threaded dask worker per core, and runs the campaign on them with
``run_campaign(path, client=client)``: the workers compute the analyses (reading the
measurement files from the shared filesystem, or receiving them as bytes up to 50 MiB, SHA-256
checked either way), this process stores every result in the campaign's SQLite database and
writes the report. The jobs end when the run does.

Without a campaign file, without dask-jobqueue, without ``sbatch`` on the PATH, or with
``--dry-run``, nothing is submitted: the script prints what it would do (the ``SLURMCluster``
call, and the batch script of one job when dask-jobqueue is installed), and draws the expected
wall time of a 100-sample impedance campaign against the number of nodes, from the per-task
costs that ``benchmarks/bench_campaign.py`` measured, into
``examples/output/campaign_on_slurm.png``. It exits 0.

The same by hand: start the cluster in one Python session (``cluster.scheduler_address``) and
run ``ionscale run campaign.toml --scheduler tcp://<login-node>:<port>`` (or set
``DASK_SCHEDULER_ADDRESS``) from another.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

#: outputs go next to this script, never into the working or the system temporary folder
OUTPUT = Path(__file__).resolve().parent / "output"

#: Per-task costs measured by benchmarks/bench_campaign.py on a 2-core machine (seconds): one
#: ``eis.series`` of 50 spectra with its figure (1.35 s), one ``eis.fit`` with its figure
#: (0.86 s, 0.04 s of it the fit), and one driver commit (one SQLite transaction,
#: synchronous=FULL: 4-9 ms; 9 ms taken).
SERIES_TASK_S = 1.35
FIT_TASK_S = 0.86
COMMIT_S = 0.009
#: A worker's first task also imports numpy, scipy and matplotlib.
WARM_UP_S = 8.0


def expected_wall(nodes: np.ndarray, cores: int, tasks: int, task_s: float) -> np.ndarray:
    """Wall time (s) of ``tasks`` tasks of ``task_s`` each on ``nodes`` × ``cores`` workers:
    whole waves of tasks, or the driver's commits if they take longer, plus the warm-up."""
    workers = nodes * cores
    waves = np.ceil(tasks / workers)
    return np.maximum(waves * task_s, tasks * COMMIT_S) + WARM_UP_S


def cluster_options(args: argparse.Namespace) -> dict:
    options = {"cores": args.cores, "processes": args.cores, "memory": args.memory,
               "walltime": args.walltime}
    if args.queue:
        options["queue"] = args.queue
    if args.account:
        options["account"] = args.account
    return options


def draw(figure: Path, args: argparse.Namespace) -> None:
    nodes = np.arange(1, 65)
    samples, spectra = 100, 50
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    ax.plot(nodes, expected_wall(nodes, args.cores, samples, SERIES_TASK_S) / 60, "o-", ms=3,
            label=f"one eis.series per sample ({samples} tasks)")
    ax.plot(nodes, expected_wall(nodes, args.cores, samples * spectra, FIT_TASK_S) / 60,
            "s-", ms=3, label=f"one eis.fit per spectrum ({samples * spectra} tasks)")
    serial = samples * spectra * FIT_TASK_S / 60
    ax.axhline(serial, color="grey", lw=0.8, ls="--")
    ax.text(nodes[-1], serial, f"one core, eis.fit per spectrum: {serial:.0f} min",
            ha="right", va="bottom", fontsize=8)
    ax.axvline(args.nodes, color="k", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"nodes ({args.cores} single-threaded workers each)")
    ax.set_ylabel("expected wall time / min")
    ax.set_title(f"{samples} pellets × {spectra} spectra on Slurm (paper estimate)", fontsize=9)
    ax.legend(frameon=False, fontsize=8, loc="center right")
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("campaign", nargs="?", help="campaign TOML file")
    parser.add_argument("--nodes", type=int, default=16, help="batch jobs, one per node")
    parser.add_argument("--cores", type=int, default=32, help="cores (workers) per node")
    parser.add_argument("--memory", default="64GB", help="memory per node")
    parser.add_argument("--walltime", default="02:00:00")
    parser.add_argument("--queue", help="Slurm partition")
    parser.add_argument("--account", help="Slurm account")
    parser.add_argument("--dry-run", action="store_true", help="print what would run, submit "
                        "nothing")
    parser.add_argument("--figure", default=str(OUTPUT / "campaign_on_slurm.png"))
    args = parser.parse_args(argv)

    options = cluster_options(args)
    shown = ", ".join(f"{k}={v!r}" for k, v in options.items())
    campaign = args.campaign or "campaign.toml"
    print("What this script runs:\n"
          "    from dask_jobqueue import SLURMCluster\n"
          "    from distributed import Client\n"
          "    from ionscale.campaign import run_campaign\n"
          f"    cluster = SLURMCluster({shown})\n"
          f"    cluster.scale(jobs={args.nodes})   # {args.nodes} nodes x {args.cores} "
          f"workers = {args.nodes * args.cores} workers\n"
          "    client = Client(cluster)\n"
          f"    summary = run_campaign({campaign!r}, client=client)\n")
    draw(Path(args.figure), args)
    tasks = 100
    print(f"Expected wall time of 100 samples x 50 spectra on {args.nodes} nodes: "
          f"{expected_wall(np.array([args.nodes]), args.cores, tasks, SERIES_TASK_S)[0]:.0f} s "
          f"with one eis.series per sample, "
          f"{expected_wall(np.array([args.nodes]), args.cores, tasks * 50, FIT_TASK_S)[0]:.0f} s "
          f"with one eis.fit per spectrum (figure: {args.figure})")

    have_jobqueue = importlib.util.find_spec("dask_jobqueue") is not None
    have_sbatch = shutil.which("sbatch") is not None
    reasons = []
    if not have_jobqueue:
        reasons.append("dask-jobqueue is not installed (pip install \"ionscale[slurm]\")")
    if not have_sbatch:
        reasons.append("there is no sbatch on the PATH (this is not a Slurm login node)")
    if args.campaign is None:
        reasons.append("no campaign file was given")
    if args.dry_run:
        reasons.append("--dry-run")
    if have_jobqueue:
        from dask_jobqueue import SLURMCluster

        with SLURMCluster(**options) as cluster:
            print("The batch script of each job:\n" + cluster.job_script())
            if not reasons:
                from distributed import Client

                from ionscale.campaign import run_campaign

                cluster.scale(jobs=args.nodes)
                with Client(cluster) as client:
                    client.wait_for_workers(1, timeout=3600)
                    summary = run_campaign(args.campaign, client=client)
                print(summary)
                return 1 if summary.failed else 0
    print("Nothing submitted: " + "; ".join(reasons) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
