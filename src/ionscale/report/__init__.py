"""The HTML report: one self-contained file, built from the results database.

Figures are PNGs embedded as base64 data URIs, styles are inline: the page opens offline in any
browser with no server and can be mailed as one file. Everything comes from the store, so a
report can be rebuilt at any time (``ionscale report results.sqlite``) and always shows what is
stored, with provenance.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import os
from pathlib import Path
from typing import Any

from ..units import CONDITION_UNITS, format_value, to_field
from .figures import diffusivity_overview

_TEMPLATE = Path(__file__).with_name("template.html")


def _value_rows(result: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for v in (result.get("values") or {}).values():
        value, error = v.get("field_value"), v.get("field_error")
        unit = v.get("field_unit", "")
        if value is None:
            text = "n/a"
        else:
            text = format_value(value, error if error is not None else math.nan, unit)
        rel = "" if value in (None, 0) or error is None else f"{abs(error / value):.1%}"
        rows.append({"symbol": v.get("symbol") or v.get("name"), "text": text, "rel": rel})
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


def _quantity_text(key: str, value: Any) -> str:
    """A stored SI condition or property as the field writes it (temperature in °C)."""

    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"{key} = {value}"
    if key == "temperature":
        return f"{key} = {value - 273.15:.4g} °C"
    unit = CONDITION_UNITS.get(key)
    if unit is None:
        return f"{key} = {value:.4g}"
    v, label = to_field(value, unit)
    return f"{key} = {format_value(v, None, label)}"


def _conditions_text(conditions: dict[str, Any]) -> str:
    return ", ".join(_quantity_text(k, v) for k, v in (conditions or {}).items())


def build_context(store, title: str) -> dict[str, Any]:
    """Collect everything the template shows from an open :class:`~ionscale.store.Store`."""
    from .. import __version__

    samples = []
    n_analyses = 0
    for s in store.samples():
        measurements = []
        for m in store.measurements(sample=s["name"]):
            measurements.append({
                "name": m["name"], "technique": m["technique"],
                "conditions": _conditions_text(m.get("conditions") or {}),
                "files": [{"name": Path(f["path"]).name, "sha": f["sha256"][:12] + "…"}
                          for f in m.get("files", [])],
            })
        analyses = []
        for a in store.analyses(sample=s["name"]):
            full = store.analysis(a["id"])
            result = full.get("result") or {}
            prov = result.get("provenance", {})
            figures = {name: base64.b64encode(png).decode("ascii")
                       for name, png in store.figures(a["id"]).items()}
            analyses.append({
                "status": a.get("status", "ok"), "diagnostics": a.get("diagnostics") or [],
                "id": a["id"], "method": a["method"], "label": a.get("label") or a["method"],
                "title": result.get("title", ""), "rows": _value_rows(result),
                "fit": _fit_row(result), "figures": figures,
                "version": prov.get("version", a.get("version")),
                "created": prov.get("created", a.get("created")),
                "inputs": prov.get("inputs", []), "cache_key": a.get("cache_key", ""),
                "parameters": json.dumps(prov.get("parameters", {}), indent=1,
                                         ensure_ascii=False),
            })
        n_analyses += len(analyses)
        overview = diffusivity_overview(store.results(sample=s["name"]))
        samples.append({"name": s["name"], "description": s.get("description", ""),
                        "overview": base64.b64encode(overview).decode("ascii")
                        if overview else None,
                        "properties": {k: _quantity_text(k, v).split(" = ", 1)[1]
                                       for k, v in (s.get("properties") or {}).items()},
                        "measurements": measurements, "analyses": analyses,
                        "attention": [a for a in analyses if a["status"] != "ok"],
                        "n_failed": sum(a["status"] == "failed" for a in analyses)})
    return {"title": title, "samples": samples, "n_analyses": n_analyses,
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
