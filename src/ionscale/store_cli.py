"""``ionscale db``: list, show and export what a results database holds.

``ionscale db list DB [--sample S] [--method M] [--name N] [--all] [--json]``
    One line per stored value: analysis id, sample, method, label, value ± error in field units,
    temperature.
``ionscale db show DB ID [--json]``
    One analysis: conditions, parameters, provenance (inputs with SHA-256), values, fit quality.
``ionscale db export DB OUT [--format csv|json] [--sample S]``
    Every value (CSV) or everything (JSON) to a file, written atomically.

Each handler takes the parsed arguments, writes to stdout and returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .units import format_value


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``db`` command (with ``list``, ``show``, ``export``) to ``subparsers``."""
    db = subparsers.add_parser("db", help="query and export a results database",
                               description="Query and export an ionscale results database.")
    verbs = db.add_subparsers(dest="db_command", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("list", help="one line per stored value")
    p.add_argument("database", help="results database (SQLite)")
    p.add_argument("--sample", help="only this sample")
    p.add_argument("--method", help="only this analysis method (e.g. tracer.fit)")
    p.add_argument("--name", help="only this value (e.g. D, Ea)")
    p.add_argument("--all", action="store_true", help="include superseded analyses")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_list)

    p = verbs.add_parser("show", help="everything about one analysis")
    p.add_argument("database", help="results database (SQLite)")
    p.add_argument("id", type=int, help="analysis id (first column of `db list`)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run_show)

    p = verbs.add_parser("export", help="write the results to CSV or JSON")
    p.add_argument("database", help="results database (SQLite)")
    p.add_argument("out", help="output file")
    p.add_argument("--format", choices=("csv", "json"),
                   help="default: from OUT's suffix, csv unless it ends in .json")
    p.add_argument("--sample", help="only this sample")
    p.set_defaults(func=run_export)
    return db


_STATUS_MARK = {"ok": "ok", "warning": "WARNING", "failed": "FAILED"}

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F) if c not in (0x0A,)}
_CONTROL.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})


def _safe(text: Any) -> str:
    """Text from the database with control characters (ANSI escapes...) shown, not obeyed."""
    return str(text).translate(_CONTROL)


def _write_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines)


def _value_text(row: dict[str, Any]) -> str:
    if row.get("field_value") is None:
        return "—"
    return format_value(row["field_value"], row.get("field_error"), row.get("field_unit") or "")


def _temperature_text(t: float | None) -> str:
    return "—" if t is None else f"{t:.6g} K ({t - 273.15:.0f} °C)"


def run_list(args: argparse.Namespace) -> int:
    """``ionscale db list``: the stored values as a table (or JSON)."""
    from .store import Store  # loaded when a command runs, not for --help

    with Store(args.database, readonly=True) as db:
        rows = db.results(sample=args.sample, method=args.method, name=args.name,
                          include_superseded=args.all)
    if args.json:
        _write_json(rows)
        return 0
    if not rows:
        print(f"no stored results in {args.database}"
              + (" matching the filters" if args.sample or args.method or args.name else ""))
        return 0
    table = [[str(r["analysis_id"]) + ("*" if r["superseded"] else ""), r["sample"],
              r["method"], r["label"] or r["title"] or "", _STATUS_MARK.get(r["status"], "?"),
              r["symbol"], _value_text(r), _temperature_text(r["temperature_K"])]
             for r in rows]
    print(_safe(_table(["id", "sample", "method", "label", "status", "name", "value ± error",
                        "T"], table)))
    flagged = sorted({r["analysis_id"] for r in rows if r["status"] != "ok"})
    if flagged:
        print(f"{len(flagged)} analysis(es) need attention: `ionscale db show DB ID` gives the "
              f"diagnostics (ids {', '.join(map(str, flagged))})")
    if any(r["superseded"] for r in rows):
        print("* superseded by a newer analysis with the same label")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """``ionscale db show``: one analysis with its parameters, provenance and values."""
    from .store import Store  # loaded when a command runs, not for --help

    with Store(args.database, readonly=True) as db:
        a = db.analysis(args.id)
    if args.json:
        _write_json(a)
        return 0
    result = a["result"]
    prov = result.get("provenance", {})
    head = f"analysis {a['id']}: {a['sample']} / {a['method']}"
    if a["label"]:
        head += f" / {a['label']}"
    lines = [head]
    if a["title"]:
        lines.append(f"  title:       {a['title']}")
    if a["superseded"]:
        lines.append("  superseded by a newer analysis with the same label")
    lines += [
        f"  status:      {a['status']}",
        *[f"    {d.get('severity', '?')} [{d.get('code', '?')}]: {d.get('message', '')}"
          for d in a.get("diagnostics") or []],
        f"  created:     {a['created']} (saved {a['saved']})",
        f"  ionscale:    {a['version']}",
        f"  cache key:   {a['cache_key'] or '—'}",
        f"  temperature: {_temperature_text(a['temperature_K'])}",
    ]
    if a["measurements"]:
        lines.append(f"  measurements: {', '.join(a['measurements'])}")
    if a["conditions"]:
        lines.append("  conditions (SI):")
        lines += [f"    {k} = {v}" for k, v in a["conditions"].items()]
    if a["parameters"]:
        lines.append("  parameters:")
        lines += [f"    {k} = {json.dumps(v, ensure_ascii=False)}"
                  for k, v in a["parameters"].items()]
    inputs = prov.get("inputs") or []
    if inputs:
        lines.append("  inputs:")
        lines += [f"    {f['path']}  sha256 {f['sha256']}" for f in inputs]
    lines.append("  values:")
    if a["values"]:
        lines += [f"    {v['symbol']} = {_value_text(v)}" for v in a["values"]]
    else:
        lines.append("    (none)")
    fit = result.get("fit")
    if fit:
        def num(key: str) -> str:
            x = fit.get(key)
            return "—" if x is None else f"{x:.4g}"

        lines.append(f"  fit: χ²_red = {num('reduced_chi2')}, {fit.get('n_points')} points, "
                     f"{fit.get('dof')} dof, AIC = {num('aic')}, errors: "
                     f"{fit.get('error_method', '?')}")
    if a["figures"]:
        lines.append(f"  figures: {', '.join(a['figures'])}")
    print(_safe("\n".join(lines)))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``ionscale db export``: results to CSV (one row per value) or JSON (everything)."""
    fmt = args.format or ("json" if str(args.out).lower().endswith(".json") else "csv")
    from .store import Store  # loaded when a command runs, not for --help

    with Store(args.database, readonly=True) as db:
        n = len(db.results(sample=args.sample))
        out = db.export(args.out, format=fmt, sample=args.sample)
    print(f"exported {n} value(s) to {out} ({fmt})")
    return 0
