"""The HTML report: one self-contained file, built from the results database.

Figures are embedded as data URIs (PNG shown, PNG and SVG to download), tables can be
downloaded as CSV (data URIs too), styles and the small script (contents, search, downloads)
are inline: the page opens offline in any browser with no server and can be mailed as one file.
Everything comes from the store, so a report can be rebuilt at any time
(``ionscale report results.sqlite``) and always shows what is stored, with provenance.

Layout: a sticky contents sidebar (samples → analyses with their status, and a search box that
filters analyses by name, method or value), an overview (every sample's headline numbers side
by side and the Arrhenius plot of all samples), then per sample its key results, diffusivity
overview, measurements and analyses.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import io
import json
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .display import (
    condition_text,
    file_stem,
    parameter_rows,
    value_text,
)
from .figures import arrhenius_overview_figure, diffusivity_overview_figure
from .style import png_size, save_figure

_TEMPLATE = Path(__file__).with_name("template.html")

#: CSS pixels per inch of printed figure: figures show at 1.2× their printed size (8-pt text
#: at about 13 px)
_SCREEN_SCALE = 96 * 1.2

#: Headline quantities (stored result names), in the order the key-results tables list them.
#: An entry is an exact name or a regular expression (``re.fullmatch``) for names that carry a
#: composition, species or phase: ``D_0.5`` (interdiffusion D̃ at C = 0.5), ``D_tracer_Li``
#: (kMC, one species of several), ``fraction_LLZTO`` (a segmented phase), ``6Li_LLZTO`` (the
#: tracer fraction in a phase). A series' ``name@<T>K`` values count as ``name`` at T.
HEADLINE = (
    "D", "D_mean", "k", "D_gb_over_delta", "D_gb", "D_eff", "D_eff_rel",
    # interdiffusion: D̃ at a composition, D̃ from the growth of the interdiffusion width; the
    # knots of a D̃(C) fit only when its analysis gives no D̃ at a named composition
    r"D_-?[0-9][0-9.eE+-]*", r"D_knot[0-9]+", "D_width",
    # kinetic Monte Carlo: tracer and collective (σ) diffusivities, correlation factors; a
    # species suffix when several move (D_tracer_x/_y/_z are axis components, not species)
    r"D_tracer(?:_(?![xyz](?:_|$))\w+)?", r"D_sigma(?:_\w+)?",
    "sigma_bulk", "sigma_gb", "sigma_total",
    "Ea", "Ea_bulk", "Ea_gb", "Ea_total", "H_R", r"H_R_\w+", r"f(?:_(?!I(?:_|$))\w+)?",
    "fraction", "porosity", "tau", "tau_geometric",
    "thickness_mean_diameter", "thickness_mean_radius", "mean_equivalent_diameter",
    # correlative and FIB-SEM: phase fractions, the tracer (isotope) fraction of each phase,
    # Pearson r of two channels
    r"fraction_\w+", r"[0-9]+[A-Z][a-z]?_\w+", "r",
    "ASR", "CCD",
)
_HEADLINE_EXACT = {name: i for i, name in enumerate(HEADLINE) if name.isidentifier()}
_HEADLINE_PATTERNS = [(re.compile(name), i) for i, name in enumerate(HEADLINE)
                      if not name.isidentifier()]
#: headline entries shown only for an analysis that has no other headline number
_FALLBACK = {HEADLINE.index(r"D_knot[0-9]+")}
_AT_T = re.compile(r"(?P<name>.+)@(?P<T>[0-9.eE+-]+)K")


def headline_rank(name: str) -> tuple[int, float | None] | None:
    """``(position in HEADLINE, temperature in K or None)`` of a stored value's name, or
    None when it is not a headline quantity (``D_tracer@600K`` → the rank of ``D_tracer``,
    600 K)."""
    T = None
    m = _AT_T.fullmatch(name)
    if m:
        name = m["name"]
        try:
            T = float(m["T"])
        except ValueError:
            return None
    if name in _HEADLINE_EXACT:
        return _HEADLINE_EXACT[name], T
    for pattern, i in _HEADLINE_PATTERNS:
        if pattern.fullmatch(name):
            return i, T
    return None


# ------------------------------------------------------------------------------ helpers


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def csv_uri(header: list[str], rows: list[list[Any]]) -> str:
    """A ``data:text/csv`` URI of a table (UTF-8 with BOM, so spreadsheets read µ and ²)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + buf.getvalue(), safe="")


def _num(x: Any) -> Any:
    """A number for a CSV cell (repr precision), blank when missing or not finite."""
    if x is None:
        return ""
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else ""
    return x


def _celsius(T: float | None) -> str:
    return "" if T is None else f"{T - 273.15:.4g}"


def _figure_entry(stem: str, name: str, png: bytes, svg: bytes | None, alt: str,
                  fig_id: str) -> dict[str, Any]:
    w, h, dpi = png_size(png)
    dpi = dpi or 110.0  # ionscale ≤ 0.1 stored 110-dpi figures without saying so
    width = round(w / dpi * _SCREEN_SCALE) if w else None
    height = round(h / dpi * _SCREEN_SCALE) if h else None
    return {"id": fig_id, "name": name, "alt": alt, "png": _b64(png),
            "svg": _b64(svg) if svg else None, "width": width, "height": height,
            "file": file_stem(stem, name)}


def _figures(store, analysis_id: int, stem: str, alt: str) -> list[dict[str, Any]]:
    stored = store.figures(analysis_id)
    out = []
    for name, data in stored.items():
        if name.endswith(".svg") or data[:8] != b"\x89PNG\r\n\x1a\n":
            continue
        svg = stored.get(f"{name}.svg")
        out.append(_figure_entry(stem, name, data, svg, f"{alt} ({name})",
                                 f"fig-{analysis_id}-{file_stem(name)}"))
    return out


def _rendered(fig, stem: str, name: str, alt: str) -> dict[str, Any] | None:
    if fig is None:
        return None
    out = save_figure(fig)
    return _figure_entry(stem, name, out["png"], out["svg"], alt, f"fig-{stem}")


def _declared_units(method: str) -> dict[str, str | None]:
    """SI units of the parameters an analysis declares (empty when it is not registered)."""
    try:
        from ..campaign import registry

        spec = registry().get(method)
    except Exception:  # a store written by a plug-in that is not installed here
        return {}
    return {} if spec is None else {k: p.unit for k, p in spec.parameters.items()}


def _value_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for v in (result.get("values") or {}).values():
        value, error = v.get("field_value"), v.get("field_error")
        if isinstance(value, list):  # array values: shown in the raw result only
            continue
        text, rel = value_text(value, error, v.get("field_unit", ""), v.get("unit", ""))
        rows.append({"symbol": v.get("symbol") or v.get("name"), "name": v.get("name"),
                     "text": text, "rel": rel, "value": value, "error": error,
                     "unit": v.get("field_unit", "")})
    return rows


def _fit_row(result: dict[str, Any]) -> dict[str, str] | None:
    fit = result.get("fit")
    if not fit:
        return None

    def g(x):
        return "n/a" if x is None else f"{x:.4g}"

    return {"reduced_chi2": g(fit.get("reduced_chi2")), "n_points": fit.get("n_points"),
            "dof": fit.get("dof"), "aic": g(fit.get("aic")),
            "error_method": fit.get("error_method", "jacobian")}


def _search_text(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p).lower()


# ------------------------------------------------------------------------------ context


def _key_results(sample: str, rows: list[dict], analyses: dict[int, dict]) -> list[dict]:
    """The headline numbers of one sample, each linking to its analysis."""
    ranked = [(r, rank) for r in rows if r["analysis_id"] in analyses
              and (rank := headline_rank(r["name"])) is not None]
    primary = {r["analysis_id"] for r, rank in ranked if rank[0] not in _FALLBACK}
    out = []
    for r, rank in ranked:
        if rank[0] in _FALLBACK and r["analysis_id"] in primary:
            continue
        a = analyses[r["analysis_id"]]
        T_K = r.get("temperature_K")
        if T_K is None:
            T_K = rank[1]
        text, rel = value_text(r.get("field_value"), r.get("field_error"),
                               r.get("field_unit", ""), r.get("unit", ""))
        out.append({
            "sample": sample, "symbol": r["symbol"] or r["name"], "name": r["name"],
            "rank": rank[0], "method": r["method"], "T": _celsius(T_K),
            "T_K": T_K, "text": text, "rel": rel,
            "value": r.get("field_value"), "error": r.get("field_error"),
            "unit": r.get("field_unit", ""), "status": a["status"], "analysis": a["id"],
            "label": a["label"],
            "search": _search_text(sample, r["symbol"], r["name"], r["method"], a["label"],
                                   text, a["status"]),
        })
    # stable: values of one analysis keep their stored order (D̃ knots by composition)
    out.sort(key=lambda k: (k["rank"], k["method"], k["T_K"] or 0, k["analysis"]))
    return out


def _key_csv(rows: list[dict]) -> str:
    return csv_uri(
        ["sample", "quantity", "name", "method", "analysis", "analysis_id", "T_C", "value",
         "error", "unit", "status"],
        [[k["sample"], k["symbol"], k["name"], k["method"], k["label"], k["analysis"], k["T"],
          _num(k["value"]), _num(k["error"]), k["unit"], k["status"]] for k in rows])


def _comparison(samples: list[dict]) -> dict[str, Any] | None:
    """Headline numbers of every sample side by side: a row per quantity, method and
    temperature, a column per sample."""
    names = [s["name"] for s in samples if s["key_results"]]
    if len(names) < 2:
        return None
    rows: dict[tuple, dict[str, Any]] = {}
    for s in samples:
        for k in s["key_results"]:
            key = (k["rank"], k["symbol"], k["method"], k["T"], k["unit"])
            row = rows.setdefault(key, {"symbol": k["symbol"], "method": k["method"],
                                        "T": k["T"], "cells": {n: [] for n in names},
                                        "search": ""})
            row["cells"][s["name"]].append(k)
            row["search"] += " " + k["search"]
    ordered = [rows[key] for key in sorted(rows, key=lambda t: (t[0], t[2], _t_sort(t[3]),
                                                                 t[1]))]
    for row in ordered:
        row["cells"] = [row["cells"][n] for n in names]
    csv_rows = [k for s in samples for k in s["key_results"]]
    return {"samples": names, "rows": ordered, "csv": _key_csv(csv_rows)}


def _t_sort(t: str) -> float:
    try:
        return float(t)
    except ValueError:
        return -math.inf


def build_context(store, title: str) -> dict[str, Any]:
    """Collect everything the template shows from an open :class:`~ionscale.store.Store`."""
    from .. import __version__

    samples = []
    n_analyses = 0
    units_cache: dict[str, dict[str, str | None]] = {}
    for si, s in enumerate(store.samples(), start=1):
        sample_stem = file_stem(s["name"])
        measurements = []
        for m in store.measurements(sample=s["name"]):
            conditions = m.get("conditions") or {}
            measurements.append({
                "name": m["name"], "technique": m["technique"],
                "conditions": [{"key": k, "text": condition_text(k, v)}
                               for k, v in conditions.items()],
                "files": [{"name": Path(f["path"]).name, "sha": f["sha256"][:12] + "…",
                           "sha256": f["sha256"]} for f in m.get("files", [])],
            })
        analyses = []
        for a in store.analyses(sample=s["name"]):
            full = store.analysis(a["id"])
            result = full.get("result") or {}
            prov = result.get("provenance", {})
            method = a["method"]
            if method not in units_cache:
                units_cache[method] = _declared_units(method)
            label = a.get("label") or method
            parameters = prov.get("parameters", full.get("parameters") or {})
            rows = _value_rows(result)
            stem = file_stem(s["name"], label)
            T = full.get("temperature_K")
            conditions = full.get("conditions") or {}
            analyses.append({
                "status": a.get("status", "ok"), "diagnostics": a.get("diagnostics") or [],
                "id": a["id"], "method": method, "label": label, "sample": s["name"],
                "title": result.get("title", ""), "rows": rows,
                "rows_csv": csv_uri(
                    ["quantity", "name", "value", "error", "unit", "relative_error"],
                    [[r["symbol"], r["name"], _num(r["value"]), _num(r["error"]), r["unit"],
                      r["rel"]] for r in rows]),
                "csv_file": file_stem(stem, "values") + ".csv",
                "fit": _fit_row(result),
                "figures": _figures(store, a["id"], stem, label),
                "temperature": condition_text("temperature", T) if T is not None else "",
                "conditions": [{"key": k, "text": condition_text(k, v)}
                               for k, v in conditions.items() if k != "temperature"],
                "version": prov.get("version", a.get("version")),
                "created": prov.get("created", a.get("created")),
                "inputs": prov.get("inputs", []), "cache_key": a.get("cache_key", ""),
                "parameter_rows": parameter_rows(parameters, units_cache[method]),
                "parameters": json.dumps(parameters, indent=1, ensure_ascii=False),
                "search": _search_text(s["name"], label, method, result.get("title", ""),
                                       a.get("status", "ok"),
                                       *(f"{r['symbol']} {r['text']}" for r in rows),
                                       *(f"{d.get('code', '')} {d.get('message', '')}"
                                         for d in a.get("diagnostics") or [])),
            })
        n_analyses += len(analyses)
        by_id = {a["id"]: a for a in analyses}
        results = store.results(sample=s["name"])
        key_results = _key_results(s["name"], results, by_id)
        overview = _rendered(diffusivity_overview_figure(results), sample_stem,
                             "diffusivities",
                             f"diffusivities of {s['name']}, all techniques")
        properties = [{"key": k, "text": condition_text(k, v)}
                      for k, v in (s.get("properties") or {}).items()]
        samples.append({
            "name": s["name"], "anchor": f"sample-{si}",
            "description": s.get("description", ""),
            "overview": overview, "properties": properties,
            "properties_csv": csv_uri(["property", "value"],
                                      [[p["key"], p["text"]] for p in properties]),
            "key_results": key_results, "key_csv": _key_csv(key_results),
            "measurements": measurements,
            "measurements_csv": csv_uri(
                ["measurement", "technique", "conditions", "files", "sha256"],
                [[m["name"], m["technique"],
                  "; ".join(f"{c['key']} = {c['text']}" for c in m["conditions"]),
                  "; ".join(f["name"] for f in m["files"]),
                  "; ".join(f["sha256"] for f in m["files"])] for m in measurements]),
            "stem": sample_stem, "analyses": analyses,
            "attention": [a for a in analyses if a["status"] != "ok"],
            "n_failed": sum(a["status"] == "failed" for a in analyses),
        })
    everything = store.results()
    arrhenius = _rendered(arrhenius_overview_figure(everything), "all-samples", "arrhenius",
                          "Arrhenius plot of all samples") if len(samples) > 1 else None
    return {"title": title, "samples": samples, "n_analyses": n_analyses,
            "comparison": _comparison(samples), "arrhenius": arrhenius,
            "version": __version__, "database": str(store.path),
            "generated": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}


def render_report(context: dict[str, Any]) -> str:
    """The HTML text of a report context (Jinja2, autoescaped)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_TEMPLATE.read_text(encoding="utf-8")).render(**context)


def write_report(database: str | os.PathLike, out: str | os.PathLike,
                 *, title: str = "ionscale report", force: bool = False) -> Path:
    """Write the self-contained HTML report of a results database.

    Parameters
    ----------
    database : str or path-like
        The SQLite results database.
    out : str or path-like
        HTML file to write (replaced atomically).
    title : str
        Page title.
    force : bool
        Replace ``out`` even if it exists and is not an earlier ionscale report (the database
        itself is never replaced).

    Returns
    -------
    Path
        The report written.

    Raises
    ------
    InputError
        ``out`` is the database (or one of its files), a folder, or an existing file that is
        not an ionscale report (unless ``force``).
    """
    from ..io.atomic import check_output_path, write_text_atomic
    from ..store import Store

    check_output_path(out, {Path(database): "the results database"}, force=force,
                      field="--out")
    with Store(database, readonly=True) as store:
        html = render_report(build_context(store, title))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, html)
    return out.resolve()


__all__ = ["HEADLINE", "build_context", "csv_uri", "headline_rank", "render_report",
           "write_report"]
