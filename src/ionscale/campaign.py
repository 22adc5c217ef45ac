"""Campaigns: a TOML file naming samples, measurements and analyses, run into the results store.

A campaign is ionscale's main job::

    ionscale run campaign.toml

reads the file, registers every sample and measurement (files hashed) in the SQLite store, runs
each analysis whose inputs or parameters changed since the last run (a content hash decides; the
others are skipped), stores every result with its figure, and writes the HTML report.

File layout (paths are relative to the campaign file)::

    [campaign]
    name = "LLTO tracer study"
    database = "results.sqlite"
    report = "report.html"

    [[samples]]
    name = "LLTO-A"
    description = "Li0.29La0.57TiO3 pellet"
    properties = { grain_size = "16 um" }

    [[samples.measurements]]
    name = "line-22C"
    technique = "sims-line"
    files = ["line_before.txt"]
    conditions = { temperature = "22 degC", time = "110 h" }

    [[samples.analyses]]
    method = "tracer.profile"
    measurements = ["line-22C"]
    parameters = { model = "erfc" }

Techniques add analyses without touching this module: they decorate a function with
:func:`analysis` in their own ``analyses`` module and list that module under the
``ionscale.analyses`` entry-point group in ``pyproject.toml``. Each analysis declares its
parameters once (:class:`Param`, with an SI unit for quantities); the campaign parses and checks
them, so an error names the campaign file and the exact key.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, IonscaleError
from .results import InputFile, Result, json_safe
from .units import parse_quantity

#: Condition keys understood everywhere, with the SI unit they are converted to.
CONDITION_UNITS: dict[str, str] = {
    "temperature": "K",
    "time": "s",
    "pixel_size": "m",
    "thickness": "m",
    "diameter": "m",
    "area": "m^2",
    "grain_size": "m",
    "gb_width": "m",
    "density": "kg/m^3",
}

_REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """Declaration of one analysis parameter.

    Parameters
    ----------
    unit : str or None
        SI unit for a physical quantity (the value may be typed with any convertible unit,
        e.g. ``"2.6e-8 cm^2/s"``); ``None`` for plain values (str, bool, int, lists).
    default : object, optional
        Value when the campaign does not give one; required if omitted.
    doc : str
        One line for the docs and error messages.
    choices : tuple, optional
        Allowed values for plain parameters.
    """

    unit: str | None = None
    default: Any = _REQUIRED
    doc: str = ""
    choices: tuple | None = None

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


@dataclass(frozen=True)
class AnalysisSpec:
    """A registered analysis: name, function, declared parameters."""

    name: str
    func: Callable[[AnalysisContext], Result]
    parameters: Mapping[str, Param]
    doc: str = ""
    techniques: tuple[str, ...] = ()
    uses_results: bool = False


_REGISTRY: dict[str, AnalysisSpec] = {}
_BUILTIN_MODULES = ("ionscale.tracer.analyses", "ionscale.nmr.analyses",
                    "ionscale.transport.analyses", "ionscale.impedance.analyses",
                    "ionscale.microstructure.analyses")


def analysis(
    name: str,
    *,
    parameters: Mapping[str, Param] | None = None,
    techniques: Iterable[str] = (),
    uses_results: bool = False,
    doc: str = "",
):
    """Register ``func(ctx) -> Result`` as the campaign analysis ``name``.

    Parameters
    ----------
    name : str
        Method name used in campaign files, ``"<technique>.<verb>"``.
    parameters : mapping of str to Param
        Every parameter the analysis accepts.
    techniques : iterable of str
        Measurement techniques it accepts (empty: any).
    uses_results : bool
        True when it reads earlier results of the same sample from the store (Arrhenius,
        Haven...); its cache key then includes those analyses' keys.
    """

    def decorate(func):
        _REGISTRY[name] = AnalysisSpec(
            name=name, func=func, parameters=dict(parameters or {}),
            doc=doc or (func.__doc__ or "").strip().split("\n")[0],
            techniques=tuple(techniques), uses_results=uses_results,
        )
        return func

    return decorate


def registry() -> dict[str, AnalysisSpec]:
    """Every registered analysis, loading the technique modules on first use."""
    if not getattr(registry, "_loaded", False):
        modules = list(_BUILTIN_MODULES)
        try:
            from importlib.metadata import entry_points

            modules += [ep.value for ep in entry_points(group="ionscale.analyses")]
        except Exception:  # metadata unavailable when running from a source tree
            pass
        for module in dict.fromkeys(modules):
            importlib.import_module(module)
        registry._loaded = True
    return _REGISTRY


@dataclass(frozen=True)
class Measurement:
    """A measurement of a sample: its files (absolute paths) and conditions (SI)."""

    name: str
    technique: str
    files: tuple[Path, ...]
    conditions: Mapping[str, Any] = field(default_factory=dict)
    hashes: tuple[str, ...] = ()

    def condition(self, key: str, default: Any = None) -> Any:
        return self.conditions.get(key, default)


@dataclass(frozen=True)
class Sample:
    name: str
    description: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisEntry:
    """One ``[[samples.analyses]]`` entry, parsed."""

    method: str
    label: str
    measurements: tuple[str, ...]
    parameters: Mapping[str, Any]
    where: str  # the TOML path, for error messages


@dataclass(frozen=True)
class AnalysisContext:
    """What an analysis function receives."""

    sample: Sample
    measurements: tuple[Measurement, ...]
    parameters: Mapping[str, Any]
    store: Any
    label: str
    campaign_dir: Path
    where: str = ""
    file: str | None = None

    def measurement(self, technique: str | None = None) -> Measurement:
        """The single measurement (of ``technique``, if given) this analysis works on."""
        found = [m for m in self.measurements if technique is None or m.technique == technique]
        if len(found) != 1:
            raise InputError(
                f"expected exactly one measurement{' of ' + technique if technique else ''}, "
                f"got {len(found)}", file=self.file, field=f"{self.where}.measurements",
                expected="one measurement name")
        return found[0]

    def error(self, message: str, key: str, expected: str | None = None) -> InputError:
        """An :class:`InputError` that points at ``key`` of this analysis in the campaign."""
        return InputError(message, file=self.file, field=f"{self.where}.{key}", expected=expected)


@dataclass(frozen=True)
class Campaign:
    """A parsed campaign file."""

    path: Path
    name: str
    database: Path
    report: Path
    samples: tuple[Sample, ...]
    measurements: Mapping[str, tuple[Measurement, ...]]
    analyses: Mapping[str, tuple[AnalysisEntry, ...]]

    @property
    def directory(self) -> Path:
        return self.path.parent


def _parse_conditions(raw: Mapping[str, Any], file: str, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in CONDITION_UNITS:
            out[key] = parse_quantity(value, CONDITION_UNITS[key], field=f"{where}.{key}",
                                      file=file)
        else:
            out[key] = value
    return out


def _parse_parameters(spec: AnalysisSpec, raw: Mapping[str, Any], file: str,
                      where: str) -> dict[str, Any]:
    unknown = set(raw) - set(spec.parameters)
    if unknown:
        raise InputError(f"unknown parameter(s) {sorted(unknown)} for {spec.name}", file=file,
                         field=f"{where}.parameters",
                         expected=f"names among {sorted(spec.parameters)}")
    out: dict[str, Any] = {}
    for name, param in spec.parameters.items():
        key = f"{where}.parameters.{name}"
        if name not in raw:
            if param.required:
                raise InputError(f"{spec.name} needs parameter '{name}' ({param.doc})",
                                 file=file, field=key, expected=param.unit or "a value")
            out[name] = param.default
            continue
        value = raw[name]
        if param.unit is not None:
            if isinstance(value, list):
                out[name] = [parse_quantity(v, param.unit, field=key, file=file) for v in value]
            else:
                out[name] = parse_quantity(value, param.unit, field=key, file=file)
        else:
            if param.choices is not None and value not in param.choices:
                raise InputError(f"{value!r} is not allowed", file=file, field=key,
                                 expected=f"one of {list(param.choices)}")
            out[name] = value
    return out


def _require(table: Mapping[str, Any], key: str, kind: type, file: str, where: str) -> Any:
    if key not in table:
        raise InputError(f"missing '{key}'", file=file, field=f"{where}.{key}",
                         expected=kind.__name__)
    value = table[key]
    if not isinstance(value, kind):
        raise InputError(f"'{key}' is {type(value).__name__}", file=file,
                         field=f"{where}.{key}", expected=kind.__name__)
    return value


def load_campaign(path: str | os.PathLike) -> Campaign:
    """Read and check a campaign file; every error names the file and the key at fault.

    Parameters
    ----------
    path : str or path-like
        The campaign TOML file.

    Returns
    -------
    Campaign
    """
    path = Path(path).resolve()
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("campaign file not found", file=file) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=file) from None
    head = data.get("campaign", {})
    base = path.parent
    name = str(head.get("name", path.stem))
    database = base / head.get("database", "results.sqlite")
    report = base / head.get("report", "report.html")
    specs = registry()
    samples, measurements, analyses = [], {}, {}
    raw_samples = data.get("samples", [])
    if not isinstance(raw_samples, list) or not raw_samples:
        raise InputError("no samples", file=file, field="samples",
                         expected="at least one [[samples]] table")
    for i, raw in enumerate(raw_samples):
        where = f"samples[{i}]"
        sname = _require(raw, "name", str, file, where)
        props = _parse_conditions(raw.get("properties", {}), file, f"{where}.properties")
        samples.append(Sample(sname, str(raw.get("description", "")), props))
        meas = []
        for j, m in enumerate(raw.get("measurements", [])):
            mw = f"{where}.measurements[{j}]"
            files = m.get("files", [])
            if isinstance(files, str):
                files = [files]
            paths = tuple((base / f).resolve() for f in files)
            for k, p in enumerate(paths):
                if not p.is_file():
                    raise InputError("file not found", file=file, field=f"{mw}.files[{k}]",
                                     expected=f"an existing file ({p})")
            meas.append(Measurement(
                name=_require(m, "name", str, file, mw),
                technique=_require(m, "technique", str, file, mw),
                files=paths,
                conditions=_parse_conditions(m.get("conditions", {}), file,
                                             f"{mw}.conditions"),
            ))
        names = [m.name for m in meas]
        if len(set(names)) != len(names):
            raise InputError("measurement names repeat", file=file, field=f"{where}.measurements",
                             expected="unique names within a sample")
        measurements[sname] = tuple(meas)
        entries = []
        for j, a in enumerate(raw.get("analyses", [])):
            aw = f"{where}.analyses[{j}]"
            method = _require(a, "method", str, file, aw)
            if method not in specs:
                raise InputError(f"unknown analysis method {method!r}", file=file,
                                 field=f"{aw}.method", expected=f"one of {sorted(specs)}")
            uses = a.get("measurements", [])
            if isinstance(uses, str):
                uses = [uses]
            for u in uses:
                if u not in names:
                    raise InputError(f"no measurement named {u!r} in sample {sname!r}",
                                     file=file, field=f"{aw}.measurements",
                                     expected=f"names among {names}")
            params = _parse_parameters(specs[method], a.get("parameters", {}), file, aw)
            entries.append(AnalysisEntry(method, str(a.get("label", method)), tuple(uses),
                                         params, aw))
        analyses[sname] = tuple(entries)
    return Campaign(path=path, name=name, database=database, report=report,
                    samples=tuple(samples), measurements=measurements, analyses=analyses)


def _with_hashes(m: Measurement) -> Measurement:
    hashes = tuple(InputFile.of(p).sha256 for p in m.files)
    return Measurement(m.name, m.technique, m.files, m.conditions, hashes)


def cache_key(sample: str, method: str, parameters: Mapping[str, Any],
              measurements: Iterable[Measurement], upstream: Iterable[str] = (),
              label: str = "") -> str:
    """Content hash of an analysis: sample, label, method, parameters, input file hashes,
    conditions, upstream analyses' keys and the ionscale version."""
    from . import __version__

    payload = {
        "sample": sample,
        "label": label,
        "method": method,
        "parameters": json_safe(parameters),
        "inputs": [{"technique": m.technique, "sha256": list(m.hashes),
                    "conditions": json_safe(m.conditions)} for m in measurements],
        "upstream": list(upstream),
        "version": __version__,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run_campaign` did."""

    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    database: Path
    report: Path | None

    def __str__(self) -> str:
        lines = [f"ran {len(self.ran)}, skipped {len(self.skipped)} unchanged, "
                 f"failed {len(self.failed)}", f"database: {self.database}"]
        lines += [f"FAILED {label}: {why}" for label, why in self.failed]
        if self.report is not None:
            lines.append(f"report: {self.report}")
        return "\n".join(lines)


def figure_png(result: Result) -> bytes | None:
    """Render ``result.plot()`` to PNG bytes (None if the result cannot plot)."""
    import io

    import matplotlib.pyplot as plt

    try:
        ax = result.plot()
    except NotImplementedError:
        return None
    fig = ax.figure if hasattr(ax, "figure") else ax[0].figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def run_campaign(
    path: str | os.PathLike,
    *,
    force: bool = False,
    progress: bool = True,
    report: bool = True,
) -> RunSummary:
    """Run every analysis of a campaign into its store and write its report.

    Parameters
    ----------
    path : str or path-like
        Campaign TOML file.
    force : bool
        Re-run analyses even when their inputs are unchanged.
    progress : bool
        Show a progress bar (stderr).
    report : bool
        Write the HTML report afterwards.

    Returns
    -------
    RunSummary
        Which analyses ran, were skipped or failed (a failing analysis is recorded and the
        campaign goes on; earlier results stay in the store).
    """
    from .store import Store

    campaign = load_campaign(path)
    specs = registry()
    ran, skipped, failed = [], [], []
    total = sum(len(v) for v in campaign.analyses.values())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=campaign.name, unit="analysis")
    campaign.database.parent.mkdir(parents=True, exist_ok=True)
    with Store(campaign.database) as store:
        for sample in campaign.samples:
            store.add_sample(sample.name, sample.description, **json_safe(sample.properties))
            measured = {m.name: _with_hashes(m) for m in campaign.measurements[sample.name]}
            for m in measured.values():
                store.add_measurement(sample.name, m.name, m.technique,
                                      [InputFile(str(p), h) for p, h in zip(m.files, m.hashes,
                                                                            strict=True)],
                                      json_safe(m.conditions))
            earlier: list[str] = []
            for entry in campaign.analyses[sample.name]:
                spec = specs[entry.method]
                used = tuple(measured[n] for n in entry.measurements)
                key = cache_key(sample.name, entry.method, entry.parameters, used,
                                earlier if spec.uses_results else (), label=entry.label)
                earlier.append(key)
                label = f"{sample.name}: {entry.label}"
                if bar is not None:
                    bar.set_postfix_str(entry.label[:30])
                if not force and store.find_analysis(key, sample=sample.name) is not None:
                    skipped.append(label)
                    if bar is not None:
                        bar.update()
                    continue
                ctx = AnalysisContext(sample=sample, measurements=used,
                                      parameters=entry.parameters, store=store,
                                      label=entry.label, campaign_dir=campaign.directory,
                                      where=entry.where, file=str(campaign.path))
                try:
                    result = spec.func(ctx)
                    png = figure_png(result)
                    # an analysis is filed under the conditions of its last measurement: the
                    # anneal of a before/after pair, the map of a map analysis
                    conditions = dict(used[-1].conditions) if used else {}
                    store.save_analysis(sample.name, entry.method, result, cache_key=key,
                                        measurements=[m.name for m in used],
                                        label=entry.label, conditions=json_safe(conditions),
                                        figures={"main": png} if png else None)
                    ran.append(label)
                except IonscaleError as exc:
                    failed.append((label, str(exc)))
                except Exception as exc:  # a bug in one analysis must not stop the campaign
                    failed.append((label, f"{type(exc).__name__}: {exc}"))
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    report_path = None
    if report:
        from .report import write_report

        report_path = write_report(campaign.database, campaign.report, title=campaign.name)
    return RunSummary(tuple(ran), tuple(skipped), tuple(failed), campaign.database, report_path)


def results_by_temperature(store, sample: str, method: str, name: str,
                           label: str | None = None) -> list[dict]:
    """Stored results ``name`` of ``method`` for ``sample`` that know their temperature.

    Used by cross-measurement analyses (Arrhenius, Haven) to gather values and errors.
    """
    rows = store.results(sample=sample, method=method, name=name)
    if label is not None:
        rows = [r for r in rows if r.get("label") == label]
    return [r for r in rows if r.get("temperature_K") is not None
            and math.isfinite(r["temperature_K"])]
