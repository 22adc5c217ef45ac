"""Helpers every ``ionscale`` command shares: result output, option parsing, exit status.

They live apart from :mod:`ionscale.cli` so that a technique's ``cli`` module can use them
without importing the top-level command (which imports every technique's ``cli``).

Exit status: a command exits 1 when any result it printed has status ``failed``, even if it
computed that result without an exception (:func:`worst_printed_status` tells the entry point).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from .errors import InputError

_PRINTED: list[str] = []


def reset_statuses() -> None:
    """Forget the statuses of results printed so far (the entry point calls it per command)."""
    _PRINTED.clear()


def worst_printed_status() -> str:
    """``failed``, ``warning`` or ``ok``: the worst status of the results printed so far."""
    for status in ("failed", "warning"):
        if status in _PRINTED:
            return status
    return "ok"


def one_line_warnings() -> None:
    """Show each warning once, as one line on stderr without Python source lines."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
        text = " ".join(str(message).split())
        if text in seen:
            return
        seen.add(text)
        print(f"ionscale: warning: {text}", file=file or sys.stderr)

    warnings.showwarning = show


def _status_line(result) -> str | None:
    status = getattr(result, "status", "ok")
    if status == "ok":
        return None
    n = len(getattr(result, "diagnostics", ()))
    return f"ionscale: result status {status.upper()} ({n} diagnostic{'s' * (n != 1)}, see above)"


def print_result(result, as_json: bool, plot: str | None = None) -> None:
    """Write a result to stdout as its summary or as JSON, and optionally save its figure."""
    _PRINTED.append(str(getattr(result, "status", "ok")))
    if as_json:
        json.dump(result.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(result.summary())
        line = _status_line(result)
        if line:
            print(line, file=sys.stderr)
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = result.plot()
        ax.figure.savefig(plot, dpi=150)
        plt.close(ax.figure)
        if not as_json:
            print(f"figure: {plot}")


def parse_pairs(text: str | None, option: str, convert, example: str, value_kind: str
                ) -> dict | None:
    """``"a=1,b=2"`` from a command-line option as ``{"a": convert("1"), ...}`` (None if empty).

    Raises
    ------
    InputError
        An item without ``name=``, or a value ``convert`` rejects (ValueError); the message
        names ``option`` and shows ``example``.
    """
    if not text:
        return None
    out = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"cannot read {item!r}", field=option,
                             expected=f"name=value pairs, e.g. {example}")
        try:
            out[name.strip()] = convert(value.strip())
        except ValueError:
            raise InputError(f"value {value!r} of {name.strip()}", field=option,
                             expected=value_kind) from None
    return out


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--json`` and ``--plot`` options shared by every analysis command."""
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--plot", metavar="PNG", help="save the result's figure to this file")


