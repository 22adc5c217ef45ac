"""``ionscale cycling ...`` commands: ccd, asr, steps, formats.

::

    ionscale cycling ccd cell.mpr --area "0.126 cm^2" [--json] [--plot ccd.png]
    ionscale cycling asr cell.mpt --diameter "4 mm" --impedance-resistance "436 ohm"
    ionscale cycling steps export.csv --preset arbin --area "0.126 cm^2"
    ionscale cycling formats

Also runnable alone (before the command is registered in ``ionscale.cli``):
``python -m ionscale.cycling.cli ccd FILE --area ...``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

from ..errors import InputError
from ..units import parse_quantity


def _trace(args):
    from ..io.cycling import read_cycling

    area = None
    if args.area:
        area = parse_quantity(args.area, "m^2", field="--area")
    elif args.diameter:
        area = math.pi * parse_quantity(args.diameter, "m", field="--diameter") ** 2 / 4.0
    columns = _pairs(args.columns, "--columns", "time=Test_Time(s),current=Current(A),"
                                                "potential=Voltage(V)")
    units = _pairs(args.units, "--units", "current=mA")
    return read_cycling(args.file, format=args.format, area=area, columns=columns,
                        units=units, preset=args.preset)


def _pairs(text, option, example):
    from ..cli_support import parse_pairs

    out = parse_pairs(text, option, str, example, "a column name or unit")
    if out and option == "--columns":
        out = {k: int(v) if v.lstrip("-").isdigit() else v for k, v in out.items()}
    return out


def _window(text: str | None) -> tuple[float, float]:
    from .data import STEP_DEFAULTS

    if not text:
        return STEP_DEFAULTS["plateau_window"]
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"cannot read {text!r}", field="--plateau-window",
                         expected="two fractions such as 0.8,1.0") from None
    return lo, hi


def _options(args) -> dict:
    out = {"plateau_window": _window(args.plateau_window),
           "tail_threshold": args.tail_threshold, "drop_fraction": args.drop_fraction,
           "floor_fraction": args.floor_fraction, "near_zero_snr": args.near_zero_snr,
           "soft_noise_excess": args.soft_noise_excess}
    if args.asr_reference:
        out["asr_reference"] = parse_quantity(args.asr_reference, "ohm*m^2",
                                              field="--asr-reference")
    return out


def _impedance(args) -> dict:
    if not args.impedance_resistance:
        return {}
    out = {"impedance_resistance": parse_quantity(args.impedance_resistance, "ohm",
                                                  field="--impedance-resistance"),
           "impedance_source": "--impedance-resistance"}
    if args.impedance_error:
        out["impedance_resistance_error"] = parse_quantity(args.impedance_error, "ohm",
                                                           field="--impedance-error")
    return out


def _print(result, args) -> None:
    from ..cli_support import print_result

    print_result(result, args.json, args.plot)


def _ccd(args: argparse.Namespace) -> int:
    from .shorts import critical_current_density

    result = critical_current_density(_trace(args), **_options(args), **_impedance(args))
    _print(result, args)
    return 0


def _asr(args: argparse.Namespace) -> int:
    from .shorts import area_specific_resistance

    result = area_specific_resistance(_trace(args), **_options(args), **_impedance(args))
    _print(result, args)
    return 0


def _steps(args: argparse.Namespace) -> int:
    from .steps import analyse_steps

    opts = _options(args)
    result = analyse_steps(_trace(args), plateau_window=opts["plateau_window"],
                           tail_threshold=opts["tail_threshold"])
    _print(result, args)
    return 0


def _formats(args: argparse.Namespace) -> int:
    from ..io.cycling import FORMATS

    for f in FORMATS:
        print(f"{f.name:14s} {', '.join(f.extensions):18s} keeps: {', '.join(f.keeps)}")
    return 0


def _add_input(p) -> None:
    from .data import SHORT_DEFAULTS, STEP_DEFAULTS

    p.add_argument("file", metavar="FILE", help="cycling file (.mpr, .mpt, .DTA, CSV export)")
    p.add_argument("--area", help="electrode area, e.g. '0.126 cm^2' (replaces the file's)")
    p.add_argument("--diameter", help="electrode diameter, e.g. '4 mm' (area = π d²/4)")
    p.add_argument("--format", help="force a reader (see `ionscale cycling formats`)")
    p.add_argument("--preset", choices=["arbin", "neware", "maccor", "biologic"],
                   help="CSV column names to try first")
    p.add_argument("--columns", help="CSV column mapping, e.g. time=Test_Time(s),"
                                     "current=Current(A),potential=Voltage(V)")
    p.add_argument("--units", help="units of unlabelled CSV columns, e.g. current=mA")
    p.add_argument("--plateau-window", help="fractions of each half-cycle for the plateau "
                                            "median (default 0.8,1.0: the last 20 %%)")
    p.add_argument("--tail-threshold", type=float, default=STEP_DEFAULTS["tail_threshold"],
                   help="relative rise of the last 5 %% that flags contact loss "
                        "(default %(default)s)")
    p.add_argument("--drop-fraction", type=float, default=SHORT_DEFAULTS["drop_fraction"],
                   help="relative drop of |V| that is a short (default %(default)s)")
    p.add_argument("--floor-fraction", type=float, default=SHORT_DEFAULTS["floor_fraction"],
                   help="fraction of ASR_ref·j below which a plateau is a short "
                        "(default %(default)s)")
    p.add_argument("--near-zero-snr", type=float, default=SHORT_DEFAULTS["near_zero_snr"],
                   help="plateau / scatter below which |V| is near zero (default %(default)s)")
    p.add_argument("--soft-noise-excess", type=float,
                   default=SHORT_DEFAULTS["soft_noise_excess"],
                   help="scatter / rest noise above which near zero is a soft short "
                        "(default %(default)s)")
    p.add_argument("--asr-reference", help="ASR_ref of the floor criterion, e.g. '55 ohm*cm^2' "
                                           "(default: the first level's)")
    p.add_argument("--impedance-resistance", help="R of impedance of the same cell, e.g. "
                                                  "'436 ohm': adds R·A and ASR / R·A")
    p.add_argument("--impedance-error", help="standard error of that R, e.g. '5 ohm'")


def register(subparsers) -> None:
    """Add ``ionscale cycling`` and its verbs."""
    from ..cli_support import add_output_options

    cyc = subparsers.add_parser("cycling", help="Li plating/stripping in symmetric cells: "
                                                "polarisation, ASR, shorts, CCD")
    verbs = cyc.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("ccd", help="critical current density: shorts, last stable j, "
                                     "capacity to failure, ASR, verdicts")
    _add_input(p)
    add_output_options(p)
    p.set_defaults(func=_ccd)

    p = verbs.add_parser("asr", help="ASR of the stable half-cycles, linearity, R·A of "
                                     "impedance")
    _add_input(p)
    add_output_options(p)
    p.set_defaults(func=_asr)

    p = verbs.add_parser("steps", help="per half-cycle j, capacity, plateau polarisation, "
                                       "overpotential, tail")
    _add_input(p)
    add_output_options(p)
    p.set_defaults(func=_steps)

    p = verbs.add_parser("formats", help="list the cycling file formats read")
    p.set_defaults(func=_formats)


def main(argv: Sequence[str] | None = None) -> int:
    """``ionscale cycling`` on its own: :func:`ionscale.cli.main` with its exit codes (2 on bad
    input, 1 on a failed fit or a printed result whose status is ``failed``)."""
    from ..cli import main as ionscale_main

    return ionscale_main(["cycling", *(sys.argv[1:] if argv is None else argv)])

if __name__ == "__main__":
    sys.exit(main())
