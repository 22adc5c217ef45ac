"""``ionscale nmr ...`` commands: pfg, bpp."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from ..cli import add_output_options, print_result
from ..units import parse_quantity


def _pfg(args: argparse.Namespace) -> int:
    from ..io.nmr import read_bruker_pfg, read_pfg_table
    from .pfg import compare_pfg_models, fit_pfg

    delta = None if args.delta is None else parse_quantity(args.delta, "s", field="--delta")
    Delta = None if args.Delta is None else parse_quantity(args.Delta, "s", field="--Delta")
    path = Path(args.file)
    if path.is_dir() or args.bruker:
        region = None
        if args.region:
            lo, hi = (float(v) for v in args.region.split(","))
            region = (lo, hi)
        data = read_bruker_pfg(path if path.is_dir() else path.parent, region=region,
                               delta=delta, Delta=Delta, nucleus=args.nucleus)
    else:
        data = read_pfg_table(path, delta=delta, Delta=Delta, nucleus=args.nucleus)
    if args.temperature is not None:
        data = replace(data, temperature=parse_quantity(args.temperature, "K",
                                                        field="--temperature"))
    if args.compare:
        result = compare_pfg_models(data, normalise=args.normalise, baseline=args.baseline)
    else:
        model = {"multi3": "multi"}.get(args.model, args.model)
        result = fit_pfg(data, model=model, n_components=3 if args.model == "multi3" else 2,
                         normalise=args.normalise, baseline=args.baseline,
                         monte_carlo=args.monte_carlo, seed=0)
    print_result(result, args.json, args.plot)
    return 0


def _bpp(args: argparse.Namespace) -> int:
    from ..io.nmr import read_relaxation_table
    from .relaxation import fit_bpp

    frequency = None
    if args.frequency is not None:
        frequency = parse_quantity(args.frequency, "Hz", field="--frequency")
    data = read_relaxation_table(args.table, kind=args.kind, frequency=frequency,
                                 nucleus=args.nucleus)
    field = None if args.field is None else parse_quantity(args.field, "T", field="--field")
    result = fit_bpp(data, nucleus=args.nucleus, field=field, asymmetric=args.asymmetric,
                     monte_carlo=args.monte_carlo, seed=0)
    print_result(result, args.json, args.plot)
    return 0


def register(subparsers) -> None:
    """Add ``ionscale nmr`` and its verbs."""
    nmr = subparsers.add_parser("nmr", help="PFG-NMR diffusion and relaxation (BPP)")
    verbs = nmr.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("pfg", help="fit a PFG echo decay (table or Bruker directory)")
    p.add_argument("file", help="table of g (or b) and intensity, or a Bruker experiment dir")
    p.add_argument("--model", choices=["iso", "aniso", "multi", "multi3", "lognormal"],
                   default="iso", help="iso: exp(-bD); aniso: powder average of D_a, D_c; "
                                       "multi: 2 components (multi3: 3); lognormal")
    p.add_argument("--compare", action="store_true",
                   help="is the anisotropic model warranted? (F-test and BIC)")
    p.add_argument("--delta", help="gradient pulse length δ, e.g. '2 ms'")
    p.add_argument("--Delta", help="diffusion time Δ, e.g. '100 ms'")
    p.add_argument("--nucleus", help="e.g. 7Li")
    p.add_argument("--temperature", help="e.g. '120 degC'")
    p.add_argument("--bruker", action="store_true", help="FILE is inside a Bruker directory")
    p.add_argument("--region", help="Bruker: integration region in ppm, e.g. --region=-5,5")
    p.add_argument("--normalise", action="store_true", help="S0 = 1 fixed")
    p.add_argument("--baseline", action="store_true", help="fit a constant baseline")
    p.add_argument("--monte-carlo", type=int, default=0, help="Monte-Carlo refits for errors")
    add_output_options(p)
    p.set_defaults(func=_pfg)

    p = verbs.add_parser("bpp", help="BPP fit of T1 (or T1rho) against temperature")
    p.add_argument("table", help="table of T and T1 (or rate), optional error")
    p.add_argument("--kind", choices=["T1", "T1rho"], help="default: from the header")
    p.add_argument("--frequency", help="Larmor frequency, e.g. '155.4 MHz'")
    p.add_argument("--nucleus", help="with --field, gives the Larmor frequency")
    p.add_argument("--field", help="magnetic field, e.g. '9.4 T'")
    p.add_argument("--asymmetric", action="store_true",
                   help="different activation energies on the two flanks")
    p.add_argument("--monte-carlo", type=int, default=0, help="Monte-Carlo refits for errors")
    add_output_options(p)
    p.set_defaults(func=_bpp)
