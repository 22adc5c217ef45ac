"""``ionscale eis ...`` commands: fit, kk, drt, series, evolution."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from ..cli_support import add_output_options, parse_pairs, print_result
from ..errors import InputError
from ..units import parse_quantity


def _spectra(paths, args) -> list:
    from ..io.eis import read_directory, read_spectra

    out = []
    for p in paths:
        path = Path(p)
        found = read_directory(path) if path.is_dir() else read_spectra(path, format=args.format)
        out.extend(found)
    if getattr(args, "temperature", None):
        T = parse_quantity(args.temperature, "K", field="--temperature")
        out = [replace(s, temperature=T) for s in out]
    if getattr(args, "fmin", None) or getattr(args, "fmax", None):
        fmin = parse_quantity(args.fmin, "Hz", field="--fmin") if args.fmin else None
        fmax = parse_quantity(args.fmax, "Hz", field="--fmax") if args.fmax else None
        out = [s.select(fmin, fmax) for s in out]
    if not out:
        raise InputError("no spectrum found", field="FILES", expected="impedance files")
    return out


def _initial(text: str | None) -> dict[str, float] | None:
    return parse_pairs(text, "--initial", float, "R0=10,R1=1e4", "a number in SI units")


def _geometry(args):
    from .pellet import Geometry

    if not args.thickness:
        return None
    L = parse_quantity(args.thickness, "m", field="--thickness")
    after = (parse_quantity(args.thickness_after, "m", field="--thickness-after")
             if args.thickness_after else None)
    if args.diameter:
        return Geometry(thickness=L, diameter=parse_quantity(args.diameter, "m",
                                                             field="--diameter"),
                        thickness_after=after)
    if args.area:
        return Geometry(thickness=L, area=parse_quantity(args.area, "m^2", field="--area"),
                        thickness_after=after)
    raise InputError("--thickness needs --diameter or --area", field="--diameter",
                     expected="the electrode diameter, e.g. '8 mm'")


def _assignment(text: str | None) -> dict[str, str] | None:
    return parse_pairs(text, "--assign", str, "R1=bulk,R2=grain_boundary", "an arc label")


def _emit(results, args) -> None:
    if len(results) == 1:
        print_result(results[0], args.json, args.plot)
        return
    if args.json:
        json.dump([r.to_dict() for r in results], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print("\n\n".join(r.summary() for r in results))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        stem = Path(args.plot)
        for i, r in enumerate(results):
            ax = r.plot()
            ax.figure.savefig(stem.with_name(f"{stem.stem}-{i}{stem.suffix}"), dpi=150)
            plt.close(ax.figure)


def _fit(args: argparse.Namespace) -> int:
    from .fit import fit_circuit
    from .pellet import pellet_conductivities

    geometry = _geometry(args)
    results = []
    for s in _spectra(args.files, args):
        r = fit_circuit(s, args.circuit, _initial(args.initial), weighting=args.weighting,
                        domain=args.domain, multistart=args.multistart, seed=0)
        if geometry is not None:
            r = pellet_conductivities(r, geometry, assignment=_assignment(args.assign))
        results.append(r)
    _emit(results, args)
    return 0


def _tau_extension(text: str):
    """``auto``, one number of decades, or ``short,long``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2):
        raise InputError(f"--tau-extension {text!r}", field="--tau-extension",
                         expected="'auto', decades (e.g. 1) or 'short,long' (e.g. 1,0)")
    return parts[0] if len(parts) == 1 else tuple(parts)


def _kk(args: argparse.Namespace) -> int:
    from .kramers_kronig import kk_series, kramers_kronig

    spectra = _spectra(args.files, args)
    options = {"c": args.mu, "threshold": args.threshold, "include_capacitance": args.blocking,
               "tau_extension": _tau_extension(args.tau_extension), "verdict": args.verdict}
    if args.series:
        print_result(kk_series(spectra, **options), args.json, args.plot)
        return 0
    results = [kramers_kronig(s, **options) for s in spectra]
    _emit(results, args)
    return 0 if all(r.passed for r in results) or not args.strict else 3


def _drt(args: argparse.Namespace) -> int:
    from .drt import compute_drt

    lam = float(args.lam) if args.lam else None
    results = [compute_drt(s, lambda_=lam, method=args.method, inductance=args.inductance,
                           capacitance=args.blocking)
               for s in _spectra(args.files, args)]
    _emit(results, args)
    return 0


def _series(args: argparse.Namespace) -> int:
    from .pellet import pellet_series
    from .series import fit_series

    spectra = _spectra(args.files, args)
    geometry = _geometry(args)
    options = {"weighting": args.weighting, "n_jobs": args.jobs,
               "progress": not args.no_progress}
    if geometry is not None:
        result = pellet_series(spectra, args.circuit, geometry,
                               assignment=_assignment(args.assign), initial=_initial(args.initial),
                               **options)
    else:
        result = fit_series(spectra, args.circuit, _initial(args.initial), **options)
    print_result(result, args.json, args.plot)
    return 0


def _evolution(args: argparse.Namespace) -> int:
    from .evolution import resistance_evolution, resistance_series
    from .series import fit_series

    spectra = _spectra(args.files, args)
    series = fit_series(spectra, args.circuit, _initial(args.initial),
                        progress=not args.no_progress)
    t, R, e = resistance_series(series.fits, args.resistance)
    print_result(resistance_evolution(t, R, e), args.json, args.plot)
    return 0


def _add_input(p, *, circuit: bool) -> None:
    p.add_argument("files", nargs="+", metavar="FILES",
                   help="impedance files (any supported format) or directories")
    p.add_argument("--format", help="force a reader (see `ionscale eis formats`)")
    p.add_argument("--fmin", help="lowest frequency used, e.g. '1 Hz'")
    p.add_argument("--fmax", help="highest frequency used, e.g. '1 MHz'")
    p.add_argument("--temperature", help="temperature of every spectrum, e.g. '160 degC'")
    if circuit:
        p.add_argument("--circuit", required=True,
                       help="circuit string, e.g. 'R0-p(R1,CPE1)-p(R2,CPE2)-CPE3'")
        p.add_argument("--initial", help="initial values in SI, e.g. R1=1e5,CPE1_Q=1e-10 "
                                         "(default: estimated from the spectrum)")
        p.add_argument("--weighting", default="modulus",
                       choices=["modulus", "unit", "proportional", "sigma"])
        p.add_argument("--thickness", help="pellet thickness, e.g. '2.1 mm' (gives σ)")
        p.add_argument("--thickness-after", help="thickness measured after, e.g. '2.0 mm'")
        p.add_argument("--diameter", help="electrode diameter, e.g. '8 mm'")
        p.add_argument("--area", help="electrode area, e.g. '0.5 cm^2'")
        p.add_argument("--assign", help="arc labels, e.g. R1=bulk,R2=grain_boundary "
                                        "(default: from capacitances)")


def _formats(args: argparse.Namespace) -> int:
    from ..io.eis import FORMATS

    for f in FORMATS:
        print(f"{f.name:14s} {', '.join(f.extensions):18s} keeps: {', '.join(f.keeps)}")
    return 0


def register(subparsers) -> None:
    """Add ``ionscale eis`` and its verbs."""
    eis = subparsers.add_parser("eis", help="impedance: circuit fits, KK, DRT, series")
    verbs = eis.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("fit", help="fit an equivalent circuit to each spectrum")
    _add_input(p, circuit=True)
    p.add_argument("--domain", default="impedance", choices=["impedance", "admittance"])
    p.add_argument("--multistart", type=int, default=0, help="extra random starts")
    add_output_options(p)
    p.set_defaults(func=_fit)

    p = verbs.add_parser("kk", help="linear Kramers-Kronig test (lin-KK, μ criterion)")
    _add_input(p, circuit=False)
    p.add_argument("--mu", type=float, default=0.85, help="μ threshold (Schönleber)")
    p.add_argument("--threshold", type=float, default=1.0,
                   help="residual line, per cent: the limit of --verdict threshold, the "
                        "smallest limit of --verdict noise")
    p.add_argument("--verdict", default="noise", choices=["noise", "threshold"],
                   help="judge the residuals against the noise the data show (default; fails "
                        "smooth structure such as drift) or by the plain ±threshold rule")
    p.add_argument("--tau-extension", default="auto", metavar="DECADES",
                   help="extend the RC time constants beyond the measured range: 'auto' "
                        "(default: below 1/ω_max when the high-frequency residuals pile up), "
                        "decades at both ends (e.g. 1), or 'short,long' (e.g. 1,0)")
    p.add_argument("--series", action="store_true", help="one drift report for all spectra")
    p.add_argument("--blocking", action="store_true",
                   help="add a series capacitance (blocking electrodes: the low-frequency "
                        "spike of a solid electrolyte)")
    p.add_argument("--strict", action="store_true", help="exit code 3 if a spectrum fails")
    add_output_options(p)
    p.set_defaults(func=_kk)

    p = verbs.add_parser("drt", help="distribution of relaxation times (Tikhonov, NNLS)")
    _add_input(p, circuit=False)
    p.add_argument("--lambda", dest="lam", help="regularisation (default: chosen by --method)")
    p.add_argument("--method", default="gcv", choices=["gcv", "gcv-min", "lcurve"],
                   help="choice of λ: GCV with the one-standard-error rule, plain GCV "
                        "minimum, or L-curve corner")
    p.add_argument("--inductance", action="store_true", help="fit a series inductance")
    p.add_argument("--blocking", action="store_true",
                   help="add a series capacitance (blocking electrodes)")
    add_output_options(p)
    p.set_defaults(func=_drt)

    p = verbs.add_parser("series", help="fit a time or temperature series in one batch "
                                        "(with geometry: σ and Arrhenius)")
    _add_input(p, circuit=True)
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_output_options(p)
    p.set_defaults(func=_series)

    p = verbs.add_parser("evolution", help="R(t) of a time series against √t "
                                           "(two segments, log model)")
    _add_input(p, circuit=True)
    p.add_argument("--resistance", default="R1", help="which resistance to follow")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_output_options(p)
    p.set_defaults(func=_evolution)

    p = verbs.add_parser("formats", help="list the file formats read")
    p.set_defaults(func=_formats)
