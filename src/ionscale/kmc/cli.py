"""``ionscale kmc ...`` commands: run, correlation, demo-model, lattices."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..cli_support import add_output_options, print_result
from ..units import parse_quantity


def _run(args) -> int:
    from .analysis import run
    from .io import read_model

    T = parse_quantity(args.temperature, "K", field="--temperature") if args.temperature \
        else None
    model, settings = read_model(args.model, temperature=T)
    if args.events is not None:
        settings["events"] = float(args.events)
        settings.pop("time", None)
    if args.time is not None:
        settings["time"] = parse_quantity(args.time, "s", field="--time")
        settings.pop("events", None)
    for key in ("blocks", "lags", "replicas", "seed"):
        v = getattr(args, key)
        if v is not None:
            settings[key] = v
    if args.accelerate:
        settings["accelerate"] = True
    settings.setdefault("seed", 0)
    result = run(model, files=[args.model], progress=not args.no_progress, **settings)
    print_result(result, args.json, args.plot)
    if args.profiles and result.profiles is not None:
        import json

        with open(args.profiles, "w", encoding="utf-8") as fh:
            json.dump(result.profiles.to_dict(), fh)
        if not args.json:
            print(f"profiles: {args.profiles}")
    return 0


def _correlation(args) -> int:
    from .analysis import correlation_factor

    result = correlation_factor(args.lattice, events=float(args.events), seed=args.seed,
                                progress=not args.no_progress)
    print_result(result, args.json, args.plot)
    return 0


def _demo_model(args) -> int:
    from .io import write_demo_model

    path = write_demo_model(args.out, args.kind)
    print(f"model: {path}")
    return 0


def _lattices(args) -> int:  # noqa: ARG001
    from .lattice import BUILTIN_LATTICES, SINGLE_VACANCY_F

    print(f"{'lattice':<11} {'d':>2} {'z':>3} {'jump/a':>8} {'f (1 vacancy)':>14}")
    for name, (d, z, nn) in BUILTIN_LATTICES.items():
        f = SINGLE_VACANCY_F.get(name)
        print(f"{name:<11} {d:>2} {z:>3} {nn:>8.4f} {f if f is not None else '':>14}")
    return 0


def register(subparsers) -> None:
    """Add ``ionscale kmc`` and its verbs."""
    kmc = subparsers.add_parser("kmc", help="lattice kinetic Monte Carlo: D*, D_σ, correlation "
                                            "factors, Haven ratio, couple profiles")
    verbs = kmc.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("run", help="run a model file (TOML): lattice, species, events, T")
    p.add_argument("model", help="model TOML file (`ionscale kmc demo-model` writes one)")
    p.add_argument("--events", "--steps", type=float, help="number of events (overrides "
                                                           "the file)")
    p.add_argument("--time", help="simulated time, e.g. '10 ns' (overrides the file)")
    p.add_argument("--temperature", help="temperature, e.g. '600 K' (overrides the file)")
    p.add_argument("--blocks", type=int)
    p.add_argument("--lags", type=int)
    p.add_argument("--replicas", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--accelerate", action="store_true",
                   help="scale down flickering event classes")
    p.add_argument("--profiles", metavar="JSON", help="write the concentration profiles here")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_output_options(p)
    p.set_defaults(func=_run)

    p = verbs.add_parser("correlation", help="tracer correlation factor of single-vacancy "
                                             "diffusion on a built-in lattice")
    p.add_argument("lattice", help="chain, square, triangular, honeycomb, sc, bcc, fcc, diamond")
    p.add_argument("--events", type=float, default=2e6, help="vacancy jumps (default 2e6)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_output_options(p)
    p.set_defaults(func=_correlation)

    p = verbs.add_parser("demo-model", help="write a small demo model file")
    p.add_argument("out", help="TOML file to write")
    p.add_argument("--kind", default="lattice-gas", choices=("lattice-gas", "walker", "couple"))
    p.set_defaults(func=_demo_model)

    p = verbs.add_parser("lattices", help="list the built-in lattices")
    p.set_defaults(func=_lattices)


def main(argv: Sequence[str] | None = None) -> int:
    """``ionscale kmc`` on its own: :func:`ionscale.cli.main` with its exit codes (2 on bad
    input, 1 on a failed fit or a printed result whose status is ``failed``)."""
    from ..cli import main as ionscale_main

    return ionscale_main(["kmc", *(sys.argv[1:] if argv is None else argv)])

if __name__ == "__main__":
    sys.exit(main())
