"""``ionscale nmr ...`` commands: pfg, bpp."""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

from ..cli_support import add_output_options, print_result
from ..errors import InputError
from ..units import parse_quantity


def _ppm_option(text: str | None, option: str) -> tuple[float, float] | None:
    """``"lo,hi"`` (ppm) of a command-line option; InputError naming the option otherwise."""
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"cannot read {text!r}", field=option,
                         expected=f"two chemical shifts in ppm, e.g. {option}=-5,5") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        raise InputError(f"{text!r} is not a range", field=option,
                         expected=f"two different finite chemical shifts in ppm, e.g. "
                                  f"{option}=-5,5")
    return (lo, hi) if lo < hi else (hi, lo)


def _pfg(args: argparse.Namespace) -> int:
    from ..io.nmr import read_bruker_pfg, read_pfg_table
    from .pfg import compare_pfg_models, fit_pfg

    region = _ppm_option(args.region, "--region")
    noise_region = _ppm_option(args.noise_region, "--noise-region")
    delta = None if args.delta is None else parse_quantity(args.delta, "s", field="--delta")
    Delta = None if args.Delta is None else parse_quantity(args.Delta, "s", field="--Delta")
    tau = None if args.tau is None else parse_quantity(args.tau, "s", field="--tau")
    path = Path(args.file)
    if path.is_dir() or args.bruker:
        data = _named(read_bruker_pfg, path if path.is_dir() else path.parent, region=region,
                      noise_region=noise_region, delta=delta, Delta=Delta,
                      nucleus=args.nucleus, gradient_shape=args.gradient_shape,
                      sequence=args.sequence, tau=tau)
    else:
        for option, value in (("--region", region), ("--noise-region", noise_region)):
            if value is not None:
                raise InputError(f"{option} integrates Bruker spectra; {path} is a table",
                                 file=str(path), field=option,
                                 expected="a Bruker experiment directory (or no " + option
                                          + ")")
        data = _named(read_pfg_table, path, delta=delta, Delta=Delta, nucleus=args.nucleus,
                      gradient_shape=args.gradient_shape, sequence=args.sequence, tau=tau)
    if args.temperature is not None:
        data = replace(data, temperature=parse_quantity(args.temperature, "K",
                                                        field="--temperature"))
    model = args.model or "iso"
    n_components = 3 if model == "multi3" else 2
    model = {"multi3": "multi"}.get(model, model)
    if args.compare:
        # iso is the reference; --model names the alternative (aniso unless given)
        other = "aniso" if model == "iso" else model
        result = compare_pfg_models(data, models=("iso", other), n_components=n_components,
                                    normalise=args.normalise, baseline=args.baseline,
                                    monte_carlo=args.monte_carlo, seed=0)
    else:
        result = fit_pfg(data, model=model, n_components=n_components,
                         normalise=args.normalise, baseline=args.baseline,
                         monte_carlo=args.monte_carlo, seed=0)
    print_result(result, args.json, args.plot)
    return 0


_OPTION_OF = {"gradient_shape": "--gradient-shape", "shape": "--gradient-shape",
              "sequence": "--sequence", "tau": "--tau", "region": "--region",
              "noise_region": "--noise-region", "delta": "--delta", "Delta": "--Delta",
              "nucleus": "--nucleus"}


def _named(reader, *args, **kwargs):
    """Call a reader; an InputError about one of its keywords names the command-line option."""
    try:
        return reader(*args, **kwargs)
    except InputError as exc:
        if exc.file is None and exc.field in _OPTION_OF:
            raise InputError(exc.message, field=_OPTION_OF[exc.field],
                             expected=exc.expected) from None
        raise


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
    from ..io.pfg_sequences import SEQUENCES

    nmr = subparsers.add_parser("nmr", help="PFG-NMR diffusion and relaxation (BPP)")
    verbs = nmr.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("pfg", help="fit a PFG echo decay (table or Bruker directory)")
    p.add_argument("file", help="table of g (or b) and intensity, or a Bruker experiment dir")
    p.add_argument("--model", choices=["iso", "aniso", "multi", "multi3", "lognormal"],
                   default=None, help="iso (default): exp(-bD); aniso: powder average of D_a, "
                                      "D_c; multi: 2 components (multi3: 3); lognormal")
    p.add_argument("--compare", action="store_true",
                   help="is the model warranted over iso? (F-test and BIC; the model is "
                        "--model, aniso by default)")
    p.add_argument("--delta", help="gradient pulse length δ, e.g. '2 ms' (bipolar: the pair)")
    p.add_argument("--Delta", help="diffusion time Δ, e.g. '100 ms'")
    p.add_argument("--nucleus", help="e.g. 7Li")
    p.add_argument("--temperature", help="e.g. '120 degC'")
    p.add_argument("--gradient-shape", metavar="SHAPE",
                   help="gradient pulse shape: SMSQ10.100, SINE.100, RECT.1, rectangular, sine "
                        "or a shape file (Bruker default: GPNAM6 of acqus; tables: "
                        "rectangular)")
    p.add_argument("--sequence", choices=SEQUENCES,
                   help="pulse sequence (Bruker default: from PULPROG; tables: spin-echo)")
    p.add_argument("--tau", help="gap between the lobes of a bipolar pair, e.g. '200 us' "
                                 "(Bruker default: D16 + P2)")
    p.add_argument("--bruker", action="store_true", help="FILE is inside a Bruker directory")
    p.add_argument("--region", help="Bruker: integration region in ppm, e.g. --region=-5,5")
    p.add_argument("--noise-region", metavar="LO,HI",
                   help="Bruker: a signal-free region in ppm whose noise gives the errors "
                        "σ of the integrals, e.g. --noise-region=-30,-10")
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
