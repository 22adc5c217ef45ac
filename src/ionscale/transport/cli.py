"""``ionscale transport ...`` commands."""

from __future__ import annotations

import argparse

from ..cli_support import add_output_options, print_result
from ..units import format_value, parse_quantity, to_field


def _arrhenius(args: argparse.Namespace) -> int:
    from .arrhenius import compare_arrhenius_models
    from .io import read_arrhenius_table

    table = read_arrhenius_table(args.table)
    if args.compare:
        result = compare_arrhenius_models(table.T, table.y, table.y_err, form=table.form,
                                          files=[table.source])
        print_result(result, args.json, args.plot)
        return 0
    result = table.fit()
    print_result(result, args.json, args.plot)
    for text in args.extrapolate or []:
        T = parse_quantity(text, "K", field="--extrapolate")
        y, e = result.predict([T])
        unit = table.unit
        v, label = to_field(float(y[0]), unit)
        ev, _ = to_field(float(e[0]), unit)
        if not args.json:
            print(f"  at {text}: {format_value(v, ev, label)}")
    return 0


def register(subparsers) -> None:
    """Add ``ionscale transport`` and its verbs."""
    transport = subparsers.add_parser("transport",
                                      help="Arrhenius, Nernst-Einstein, Haven, effective media")
    verbs = transport.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    p = verbs.add_parser("arrhenius", help="Arrhenius fit of a D(T) or σ(T) table")
    p.add_argument("table", help="table with a temperature column and a D or σ column")
    p.add_argument("--compare", action="store_true",
                   help="test for curvature (two-segment and VTF models)")
    p.add_argument("--extrapolate", action="append", metavar="T",
                   help="also print the fitted value at T, e.g. '-110 degC' (repeat)")
    add_output_options(p)
    p.set_defaults(func=_arrhenius)
