"""The ``ionscale`` command.

``ionscale <technique> <verb> FILE... [--json]`` for single analyses, ``ionscale run
campaign.toml`` for a whole campaign, ``ionscale demo`` for the bundled example, ``ionscale db``
to query the results database and ``ionscale report`` to (re)write a report from it.

Every command exits 0 on success, 2 on bad input (the message names the file and field) and
1 on a failed fit or a result whose status is ``failed`` (it is printed all the same, with its
diagnostics). Warnings print as one line each on stderr. No traceback reaches the user: an
unexpected error prints one line (``IONSCALE_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .cli_support import (  # noqa: F401  (re-exported for technique CLIs and scripts)
    add_output_options,
    one_line_warnings,
    parse_pairs,
    print_result,
    reset_statuses,
    worst_printed_status,
)
from .errors import FitError, InputError, IonscaleError


def _run(args: argparse.Namespace) -> int:
    from .campaign import run_campaign

    scheduler = args.scheduler
    if scheduler is not None and args.workers is not None:
        raise InputError("--workers and --scheduler together", field="--workers",
                         expected="--workers N for a local cluster, or --scheduler ADDRESS for "
                         "an existing one (it has its own workers)")
    if scheduler is None and args.workers is None:
        # the dask convention: a cluster named in the environment, unless --workers is given
        scheduler = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    if args.ship_limit is not None and not args.ship_limit >= 0:
        raise InputError(f"--ship-limit {args.ship_limit:g}", field="--ship-limit",
                         expected="a size in MiB >= 0")
    options = {} if args.ship_limit is None else {"ship_limit": args.ship_limit * 2**20}
    summary = run_campaign(args.campaign, force=args.force, progress=not args.no_progress,
                           workers=1 if args.workers is None else args.workers,
                           scheduler=scheduler, ship=args.ship, **options)
    print(summary)
    return 1 if summary.failed else 0


def _demo(args: argparse.Namespace) -> int:
    from .datasets.demo import run_demo

    summary = run_demo(Path(args.out), progress=not args.no_progress)
    print(summary)
    print(f"\nOpen the report in a browser: {summary.report}")
    return 1 if summary.failed else 0


def _methods(args: argparse.Namespace) -> int:
    from .campaign import registry

    specs = registry()
    names = [args.method] if args.method else sorted(specs)
    for name in names:
        if name not in specs:
            raise InputError(f"no analysis {name!r}", field="method",
                             expected=f"one of {sorted(specs)}")
        spec = specs[name]
        techniques = ", ".join(spec.techniques) or "any (or none)"
        print(f"{name}: {spec.doc}\n  measurements: {techniques}")
        for pname, param in spec.parameters.items():
            default = "required" if param.required else f"default {param.default!r}"
            unit = f" [{param.unit or '-'}]" if param.unit is not None else ""
            choices = f" one of {list(param.choices)}" if param.choices else ""
            print(f"  {pname}{unit}: {param.doc} ({default}){choices}")
        print()
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_report

    out = write_report(args.database, args.out, title=args.title, force=args.force)
    print(f"report: {out}")
    return 0


_RUN_DESCRIPTION = """\
Run every analysis of a campaign file into its results database and write the HTML report.
Unchanged analyses (same files, conditions, parameters, ionscale version) are skipped.

A campaign is a TOML file; paths are relative to it:

  [campaign]
  name = "LLTO tracer study"
  database = "results.sqlite"          # default
  report = "report.html"               # default; never the database, campaign or an input

  [[samples]]
  name = "LLTO-A"

  [[samples.measurements]]
  name = "line-22C"
  technique = "sims-line"              # what the files are (see `ionscale methods`)
  files = ["line.txt"]
  conditions = { temperature = "22 degC", time = "110 h" }   # units required

  [[samples.analyses]]
  method = "tracer.profile"            # `ionscale methods` lists them and their parameters
  measurements = ["line-22C"]
  parameters = { model = "erfc", source = "fit", background = "fit" }
  label = "erfc fit"                   # optional; default "<method> [<measurements>]"

Unknown keys, techniques or parameters are errors that name the file and the nearest valid
key. `ionscale methods METHOD` shows one analysis with its parameters, units and defaults.
Exit status: 0 all ok or warnings, 1 an analysis failed, 2 bad input.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionscale",
        description="Ion-transport numbers for solid electrolytes, with uncertainties.",
    )
    parser.add_argument("--version", action="version", version=f"ionscale {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("run", help="run every analysis of a campaign file and write the report",
                       description=_RUN_DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("campaign", help="campaign TOML file")
    p.add_argument("--force", action="store_true", help="re-run unchanged analyses too")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--workers", type=int, metavar="N",
                   help="run independent analyses in parallel in N local worker processes "
                   "(dask); 1 runs them one after the other in this process (the default)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the analyses on an existing dask.distributed cluster, e.g. "
                   "tcp://10.0.0.5:8786 (default: $DASK_SCHEDULER_ADDRESS when set and "
                   "--workers is not given)")
    p.add_argument("--ship", choices=("auto", "always", "never"), default="auto",
                   help="send measurement files to workers as bytes: auto (only to workers "
                   "that cannot read the path), always, never (default: %(default)s)")
    p.add_argument("--ship-limit", type=float, metavar="MIB",
                   help="largest file sent as bytes, MiB (default 50); larger ones must be on "
                   "a filesystem every worker reads")
    p.set_defaults(func=_run)

    p = sub.add_parser("demo", help="write the example campaign, run it and report it")
    p.add_argument("--out", default="demo-output", help="demo folder (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_demo)

    p = sub.add_parser("methods", help="list the campaign analyses and their parameters")
    p.add_argument("method", nargs="?", help="one analysis, e.g. tracer.gb")
    p.set_defaults(func=_methods)

    p = sub.add_parser("report", help="write the HTML report of a results database")
    p.add_argument("database", help="results database (SQLite)")
    p.add_argument("--out", default="report.html", help="HTML file (default: %(default)s)")
    p.add_argument("--title", default="ionscale report")
    p.add_argument("--force", action="store_true",
                   help="replace OUT even if it is not an earlier ionscale report")
    p.set_defaults(func=_report)

    from . import store_cli
    from .cycling import cli as cycling_cli
    from .imaging import cli as fibsem_cli
    from .impedance import cli as eis_cli
    from .interdiffusion import cli as diffusion_cli
    from .kmc import cli as kmc_cli
    from .microstructure import cli as micro_cli
    from .nmr import cli as nmr_cli
    from .tracer import cli as tracer_cli
    from .transport import cli as transport_cli

    store_cli.register(sub)
    tracer_cli.register(sub)
    nmr_cli.register(sub)
    transport_cli.register(sub)
    eis_cli.register(sub)
    micro_cli.register(sub)
    cycling_cli.register(sub)
    diffusion_cli.register(sub)
    fibsem_cli.register(sub)
    kmc_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ionscale`` console command."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # the command writes figures, never opens windows
    parser = build_parser()
    args = parser.parse_args(argv)
    reset_statuses()
    one_line_warnings()
    try:
        code = int(args.func(args) or 0)
        # a command that printed a failed result has failed, however it returned
        return max(code, 1 if worst_printed_status() == "failed" else 0)
    except InputError as exc:
        print(f"ionscale: error: {exc}", file=sys.stderr)
        return 2
    except FitError as exc:
        print(f"ionscale: fit failed: {exc}", file=sys.stderr)
        return 1
    except IonscaleError as exc:
        print(f"ionscale: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("ionscale: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("IONSCALE_DEBUG"):
            raise
        print(f"ionscale: internal error: {type(exc).__name__}: {exc} (this is a bug in "
              "ionscale; rerun with IONSCALE_DEBUG=1 for the traceback and report it)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
