"""``ionscale tracer ...`` commands: fraction, fit, evolve, gb.

Each command prints its result (summary with status and diagnostics, or ``--json``) and exits
0, or 1 when the result's status is ``failed`` (2 for bad input, from the top-level command).
"""

from __future__ import annotations

import argparse

import numpy as np

from ..cli_support import add_output_options, print_result
from ..errors import InputError
from ..io.text import row_range
from ..units import parse_quantity


def _read(args, path):
    from ..io.sims import read_profile

    isotopes = args.isotopes.split(",") if getattr(args, "isotopes", None) else None
    return read_profile(path, x_unit=args.x_unit, rows=row_range(args.rows, field="--rows"),
                        isotopes=isotopes, x_column=_column(args.x_column),
                        fraction_column=_column(args.fraction_column))


def _column(name: str | None) -> str | int | None:
    """A column option: a name, or a 0-based index given as digits."""
    if name is None:
        return None
    return int(name) if name.strip().isdigit() else name


def _exit_code(result) -> int:
    """1 when the printed result must not be used (status ``failed``), else 0."""
    return 1 if getattr(result, "status", "ok") == "failed" else 0


def _count_map(args: argparse.Namespace):
    """The count maps named on the command line (one file per isotope, or one file)."""
    from ..io.sims import read_map

    files = args.files
    if args.isotopes:
        channels = dict(zip(args.isotopes.split(","), files, strict=True))
    else:
        channels = files if len(files) > 1 else files[0]
    return read_map(channels, pixel_size=args.pixel_size)


def _fraction(args: argparse.Namespace) -> int:
    from .fraction import FractionMapResult, fraction_map

    fmap = fraction_map(_count_map(args), tracer=args.tracer,
                        other=args.other, bin=args.bin,
                        normalise_to=None if args.source is None else float(args.source))
    result = FractionMapResult.of(fmap, parameters=vars_json(args))
    if args.out:
        header = (f"isotope fraction {args.tracer}; pixel size {fmap.pixel_size} m; "
                  "NaN = no counts")
        np.savetxt(args.out, fmap.fraction, fmt="%.6g", header=header)
    print_result(result, args.json, args.plot)
    return _exit_code(result)


def vars_json(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k != "func" and v is not None}


def _fit(args: argparse.Namespace) -> int:
    from .profiles import fit_profile

    profile = _read(args, args.profile)

    def opt(v):
        if v is None or v.strip().lower() == "fit":
            return v
        return v  # a number or a quantity ("2 um"), read by fit_profile with the field named

    result = fit_profile(profile, model=args.model, time=args.time, surface=opt(args.surface),
                         background=opt(args.background), source=opt(args.source),
                         direction=args.direction, weights=args.weights,
                         monte_carlo=args.monte_carlo, seed=0)
    print_result(result, args.json, args.plot)
    return _exit_code(result)


def _evolve(args: argparse.Namespace) -> int:
    from .evolution import fit_evolution

    if len(args.time) != len(args.after):
        raise InputError(f"{len(args.after)} after-profiles but {len(args.time)} --time values",
                         field="--time", expected="one --time per AFTER file")
    before = _read(args, args.before)
    afters = [_read(args, p) for p in args.after]
    pad = 0.0
    if args.surface is not None:
        pad = (max(before.x[0] - parse_quantity(args.surface, "m", field="--surface"), 0.0), 0.0)
    result = fit_evolution(before, afters, args.time, smooth=args.smooth, offsets=args.offsets,
                           n_cells=args.n_cells, pad=pad, monte_carlo=args.monte_carlo, seed=0)
    print_result(result, args.json, args.plot)
    return _exit_code(result)


def _gb(args: argparse.Namespace) -> int:
    from .fraction import fraction_map
    from .grain_boundary import analyse_boundaries

    fmap = fraction_map(_count_map(args), tracer=args.tracer,
                        other=args.other, bin=args.bin)
    batch = analyse_boundaries(
        fmap, args.segments, segment_unit=args.segment_unit,
        width=parse_quantity(args.width, "m", field="--width"),
        window=parse_quantity(args.window, "m", field="--window"),
        exclude=parse_quantity(args.exclude, "m", field="--exclude"),
        D_bulk=parse_quantity(args.D_bulk, "m^2/s", field="--D-bulk"),
        D_bulk_error=parse_quantity(args.D_bulk_error, "m^2/s", field="--D-bulk-error"),
        gb_width=None if args.gb_width is None else parse_quantity(args.gb_width, "m",
                                                                   field="--gb-width"),
    )
    print_result(batch, args.json, args.plot)
    return _exit_code(batch)


def register(subparsers) -> None:
    """Add ``ionscale tracer`` and its verbs to the top-level parser."""
    tracer = subparsers.add_parser("tracer", help="isotope-exchange SIMS tracer diffusion")
    verbs = tracer.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    def reading(p):
        p.add_argument("--x-unit", default="um", help="position unit if the header has none")
        p.add_argument("--rows", help="rows to use, 'start:stop' (0-based)")
        p.add_argument("--isotopes", help="count-column isotopes, e.g. 6Li,7Li")
        p.add_argument("--x-column", help="position column, by name (any order) or 0-based index")
        p.add_argument("--fraction-column", help="fraction column, by name or 0-based index")

    def mapping(p):
        p.add_argument("files", nargs="+", help="count maps: one per isotope, or one file")
        p.add_argument("--pixel-size", required=True, help="e.g. '1 um'")
        p.add_argument("--isotopes", help="isotope of each file, e.g. 6Li,7Li")
        p.add_argument("--tracer", default="6Li")
        p.add_argument("--other", default="7Li")
        p.add_argument("--bin", type=int, default=1, help="bin counts in n×n blocks")

    p = verbs.add_parser("fraction", help="isotope-fraction map from count maps")
    mapping(p)
    p.add_argument("--source", help="source fraction to normalise to")
    p.add_argument("--out", help="write the fraction map as a text matrix")
    add_output_options(p)
    p.set_defaults(func=_fraction)

    p = verbs.add_parser("fit", help="fit an analytic profile (erfc, thin film, exchange)")
    p.add_argument("profile", help="line scan or depth profile")
    p.add_argument("--model", choices=["erfc", "thin-film", "exchange"], default="erfc")
    p.add_argument("--time", required=True, help="anneal/exchange time, e.g. '110 h'")
    p.add_argument("--surface", help="surface position in m, or 'fit'")
    p.add_argument("--background", help="background fraction, or 'fit'")
    p.add_argument("--source", help="source fraction, or 'fit'")
    p.add_argument("--direction", choices=["auto", "from-surface", "from-far-face"],
                   default="auto",
                   help="where the source was: 'from-far-face' flips the depth axis for a "
                        "profile rising towards its end; 'auto' refuses such a profile "
                        "(default: %(default)s)")
    p.add_argument("--weights", choices=["sigma", "counts"], default="sigma")
    p.add_argument("--monte-carlo", type=int, default=0, help="Monte-Carlo refits for errors")
    reading(p)
    add_output_options(p)
    p.set_defaults(func=_fit)

    p = verbs.add_parser("evolve", help="D_eff from a profile before and after anneals")
    p.add_argument("before", help="profile before")
    p.add_argument("after", nargs="+", help="profile(s) after")
    p.add_argument("--time", action="append", required=True,
                   help="cumulative time of each after-profile, e.g. '2 weeks' (repeat)")
    p.add_argument("--surface", help="position of the sample's closed edge, e.g. '0 um'")
    p.add_argument("--smooth", type=int, help="Savitzky-Golay window for the before-profile")
    p.add_argument("--offsets", action="store_true", help="fit an offset per after-profile")
    p.add_argument("--n-cells", type=int, default=400)
    p.add_argument("--monte-carlo", type=int, default=0,
                   help="refits that add the before-profile's noise to the error")
    reading(p)
    add_output_options(p)
    p.set_defaults(func=_evolve)

    p = verbs.add_parser("gb", help="grain-boundary step analysis (D_gb/δ, D_gb) on a map")
    mapping(p)
    p.add_argument("--segments", required=True, help="file of segments x0 y0 x1 y1 [boundary]")
    p.add_argument("--segment-unit", default="um")
    p.add_argument("--width", default="3 um", help="averaging width across each segment")
    p.add_argument("--window", default="6 um", help="quadratic-fit window on each side")
    p.add_argument("--exclude", default="1 um", help="excluded next to the boundary")
    p.add_argument("--D-bulk", dest="D_bulk", required=True, help="e.g. '2.6e-8 cm^2/s'")
    p.add_argument("--D-bulk-error", dest="D_bulk_error", default="0")
    p.add_argument("--gb-width", help="boundary width δ, e.g. '0.5 nm'")
    add_output_options(p)
    p.set_defaults(func=_gb)
