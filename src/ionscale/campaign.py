"""Campaigns: a TOML file naming samples, measurements and analyses, run into the results store.

A campaign is ionscale's main job::

    ionscale run campaign.toml

reads the file, registers every sample and measurement (files hashed) in the SQLite store, runs
each analysis whose inputs or parameters changed since the last run (a content hash decides; the
others are skipped), stores every result with its figure, and writes the HTML report.
``--workers N`` (``run_campaign(path, workers=N)``) computes independent analyses in parallel
on a local dask cluster, ``--scheduler ADDRESS`` on an existing one; this process still writes
every result (:mod:`ionscale.parallel`).

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

import contextlib
import difflib
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
from .units import CONDITION_UNITS, parse_quantity

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
                    "ionscale.microstructure.analyses", "ionscale.cycling.analyses",
                    "ionscale.interdiffusion.analyses", "ionscale.imaging.analyses",
                    "ionscale.kmc.analyses")


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
    #: Seed of this analysis, derived from its cache key (:func:`analysis_seed`): the same on
    #: every run and every worker. Analyses that draw random numbers take it (or their own
    #: ``seed`` parameter), never a seed from the process or the worker that runs them.
    seed: int | None = None

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
    inputs: frozenset[Path] = frozenset()

    @property
    def directory(self) -> Path:
        return self.path.parent


#: The keys each table of a campaign file may have; anything else is a typo to report.
ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "": ("campaign", "samples"),
    "campaign": ("name", "description", "database", "report"),
    "sample": ("name", "description", "properties", "measurements", "analyses"),
    "measurement": ("name", "technique", "files", "conditions", "description"),
    "analysis": ("method", "label", "measurements", "parameters"),
}


def _nearest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else ""


def _check_keys(table: Mapping[str, Any], kind: str, file: str, where: str) -> None:
    """Refuse unknown keys (``parameter`` for ``parameters``), naming the nearest valid one."""
    allowed = ALLOWED_KEYS[kind]
    for key in table:
        if key not in allowed:
            field_name = f"{where}.{key}" if where else key
            raise InputError(f"unknown key '{key}' {_nearest(key, allowed)}".strip(), file=file,
                             field=field_name, expected=f"keys among {list(allowed)}")


def _table(value: Any, file: str, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"is {type(value).__name__} {value!r}", file=file, field=where,
                         expected=f"a table ({what})")
    return value


def _string_list(value: Any, file: str, where: str, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"is {type(value).__name__} {value!r}", file=file, field=where,
                         expected=f"a list of {what} (strings)")
    return value


def _parse_conditions(raw: Any, file: str, where: str) -> dict[str, Any]:
    raw = _table(raw, file, where, "key = value pairs")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field_name = f"{where}.{key}"
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{value!r} is not a finite number", file=file,
                             field=field_name, expected="a finite value")
        if key in CONDITION_UNITS:
            unit = CONDITION_UNITS[key]
            bare = (isinstance(value, int | float) and not isinstance(value, bool)) or (
                isinstance(value, str) and _is_bare_number(value))
            if bare:
                example = {"K": "'600 degC' or '873.15 K'"}.get(unit, f"'1.0 {unit}'")
                raise InputError(f"{value!r} has no unit", file=file, field=field_name,
                                 expected=f"a quantity with its unit, e.g. {example}")
            out[key] = parse_quantity(value, unit, field=field_name, file=file)
            if not math.isfinite(out[key]):
                raise InputError(f"{value!r} is not a finite number", file=file,
                                 field=field_name, expected="a finite quantity")
            if key != "temperature" and out[key] < 0:
                raise InputError(f"{value!r} is negative", file=file, field=field_name,
                                 expected=f"a quantity >= 0 {unit}")
            if key == "temperature" and out[key] <= 0:
                raise InputError(f"{value!r} is not above absolute zero", file=file,
                                 field=field_name, expected="a temperature > 0 K")
        else:
            out[key] = value
    return out


def _is_bare_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def _parse_parameters(spec: AnalysisSpec, raw: Any, file: str,
                      where: str) -> dict[str, Any]:
    raw = _table(raw, file, f"{where}.parameters", f"the parameters of {spec.name}")
    for name in raw:
        if name not in spec.parameters:
            raise InputError(f"unknown parameter '{name}' for {spec.name} "
                             f"{_nearest(name, spec.parameters)}".strip(), file=file,
                             field=f"{where}.parameters.{name}",
                             expected=f"names among {sorted(spec.parameters)} "
                             f"(`ionscale methods {spec.name}` lists them)")
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
    if path.is_dir():
        raise InputError("is a folder", file=file, expected="a campaign TOML file")
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise InputError("campaign file not found", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot read the campaign file ({exc.strerror})", file=file) from None
    try:
        data = tomllib.loads(_decode_campaign(raw_bytes, file))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=file) from None
    _check_keys(data, "", file, "")
    head = _table(data.get("campaign", {}), file, "campaign", "[campaign]")
    _check_keys(head, "campaign", file, "campaign")
    base = path.parent
    name = _optional(head, "name", str, path.stem, file, "campaign")
    database = (base / _optional(head, "database", str, "results.sqlite", file,
                                 "campaign")).resolve()
    report = (base / _optional(head, "report", str, "report.html", file, "campaign")).resolve()
    specs = registry()
    techniques = sorted({t for spec in specs.values() for t in spec.techniques})
    samples, measurements, analyses = [], {}, {}
    raw_samples = data.get("samples", [])
    if not isinstance(raw_samples, list) or not raw_samples:
        raise InputError("no samples", file=file, field="samples",
                         expected="at least one [[samples]] table")
    inputs: set[Path] = set()
    for i, raw in enumerate(raw_samples):
        where = f"samples[{i}]"
        raw = _table(raw, file, where, "a [[samples]] table")
        _check_keys(raw, "sample", file, where)
        sname = _require(raw, "name", str, file, where)
        if not sname.strip():
            raise InputError("sample name is empty", file=file, field=f"{where}.name",
                             expected="a non-empty name")
        if sname in measurements:
            raise InputError(f"sample name {sname!r} is used twice", file=file,
                             field=f"{where}.name", expected="a unique name per sample "
                             "(put all analyses of one sample under one [[samples]])")
        props = _parse_conditions(raw.get("properties", {}), file, f"{where}.properties")
        samples.append(Sample(sname, _optional(raw, "description", str, "", file, where),
                              props))
        meas = []
        raw_meas = raw.get("measurements", [])
        if not isinstance(raw_meas, list):
            raise InputError(f"is {type(raw_meas).__name__}", file=file,
                             field=f"{where}.measurements",
                             expected="[[samples.measurements]] tables")
        for j, m in enumerate(raw_meas):
            mw = f"{where}.measurements[{j}]"
            m = _table(m, file, mw, "a [[samples.measurements]] table")
            _check_keys(m, "measurement", file, mw)
            files = _string_list(m.get("files", []), file, f"{mw}.files", "file paths")
            paths = tuple((base / f).resolve() for f in files)
            for k, p in enumerate(paths):
                if not p.is_file():
                    raise InputError("file not found", file=file, field=f"{mw}.files[{k}]",
                                     expected=f"an existing file ({p})")
            inputs.update(paths)
            technique = _require(m, "technique", str, file, mw)
            if techniques and technique not in techniques:
                raise InputError(f"unknown technique {technique!r} "
                                 f"{_nearest(technique, techniques)}".strip(), file=file,
                                 field=f"{mw}.technique", expected=f"one of {techniques}")
            meas.append(Measurement(
                name=_require(m, "name", str, file, mw),
                technique=technique,
                files=paths,
                conditions=_parse_conditions(m.get("conditions", {}), file,
                                             f"{mw}.conditions"),
            ))
        names = [m.name for m in meas]
        if len(set(names)) != len(names):
            raise InputError("measurement names repeat", file=file, field=f"{where}.measurements",
                             expected="unique names within a sample")
        by_name = {m.name: m for m in meas}
        measurements[sname] = tuple(meas)
        entries = []
        identities: dict[tuple[str, str], str] = {}
        raw_analyses = raw.get("analyses", [])
        if not isinstance(raw_analyses, list):
            raise InputError(f"is {type(raw_analyses).__name__}", file=file,
                             field=f"{where}.analyses", expected="[[samples.analyses]] tables")
        for j, a in enumerate(raw_analyses):
            aw = f"{where}.analyses[{j}]"
            a = _table(a, file, aw, "a [[samples.analyses]] table")
            _check_keys(a, "analysis", file, aw)
            method = _require(a, "method", str, file, aw)
            if method not in specs:
                raise InputError(f"unknown analysis method {method!r} "
                                 f"{_nearest(method, specs)}".strip(), file=file,
                                 field=f"{aw}.method", expected=f"one of {sorted(specs)}")
            spec = specs[method]
            uses = _string_list(a.get("measurements", []), file, f"{aw}.measurements",
                                "measurement names")
            for u in uses:
                if u not in names:
                    raise InputError(f"no measurement named {u!r} in sample {sname!r}",
                                     file=file, field=f"{aw}.measurements",
                                     expected=f"names among {names}")
                if spec.techniques and by_name[u].technique not in spec.techniques:
                    raise InputError(
                        f"{method} cannot analyse measurement {u!r} of technique "
                        f"{by_name[u].technique!r}", file=file, field=f"{aw}.measurements",
                        expected=f"measurements of technique {list(spec.techniques)}")
            params = _parse_parameters(spec, a.get("parameters", {}), file, aw)
            label = a.get("label")
            if label is not None and (not isinstance(label, str) or not label.strip()):
                raise InputError(f"label {label!r}", file=file, field=f"{aw}.label",
                                 expected="a non-empty string")
            # without a label an analysis is known by its method and measurements, so that
            # fits of four temperatures never replace each other in the store
            label = label or default_label(method, uses)
            identity = (method, label)
            if identity in identities:
                raise InputError(
                    f"{method} analysis {label!r} is also defined at {identities[identity]}: "
                    "the second would replace the first in the store", file=file,
                    field=f"{aw}.label", expected="a label that tells the two apart")
            identities[identity] = aw
            entries.append(AnalysisEntry(method, label, tuple(uses), params, aw))
        analyses[sname] = tuple(entries)
    return Campaign(path=path, name=name, database=database, report=report,
                    samples=tuple(samples), measurements=measurements, analyses=analyses,
                    inputs=frozenset(inputs))


def default_label(method: str, measurements: Iterable[str]) -> str:
    """The label of an analysis the campaign does not label: its method and measurements.

    Examples
    --------
    >>> default_label("eis.fit", ["140C"])
    'eis.fit [140C]'
    >>> default_label("transport.arrhenius", [])
    'transport.arrhenius'
    """
    used = list(measurements)
    return f"{method} [{', '.join(used)}]" if used else method


def _decode_campaign(raw: bytes, file: str) -> str:
    """Campaign text from UTF-8 (with or without BOM) or UTF-16/32 with a BOM."""
    import codecs

    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"not valid {encoding} text ({exc.reason} at byte "
                                 f"{exc.start})", file=file) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r};"
                         " Latin-1 or another legacy encoding?)", file=file,
                         expected="a campaign file saved as UTF-8") from None


def _optional(table: Mapping[str, Any], key: str, kind: type, default: Any, file: str,
              where: str) -> Any:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise InputError(f"'{key}' is {type(value).__name__} {value!r}", file=file,
                         field=f"{where}.{key}", expected=f"a non-empty {kind.__name__}")
    return value


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
class AnalysisTiming:
    """Where and how long one analysis of a run was computed.

    Attributes
    ----------
    label : str
        ``"<sample>: <analysis label>"``.
    seconds : float
        Wall time of the analysis and its figure, s (storing excluded).
    where : str
        ``"driver"`` (this process), or the address of the dask worker that computed it.
    peak_rss : int or None
        Peak resident memory of that process when the analysis ended, bytes (None if unknown).
    """

    label: str
    seconds: float
    where: str = "driver"
    peak_rss: int | None = None


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run_campaign` did."""

    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    database: Path
    report: Path | None
    warnings: tuple[tuple[str, str], ...] = ()
    #: One :class:`AnalysisTiming` per analysis computed in this run, in campaign order.
    timings: tuple[AnalysisTiming, ...] = ()

    def __str__(self) -> str:
        lines = [f"ran {len(self.ran)}, skipped {len(self.skipped)} unchanged, "
                 f"failed {len(self.failed)}, warnings {len(self.warnings)}",
                 f"database: {self.database}"]
        lines += [f"FAILED {label}: {why}" for label, why in self.failed]
        lines += [f"WARNING {label}: {why}" for label, why in self.warnings]
        if self.report is not None:
            lines.append(f"report: {self.report}")
        return "\n".join(lines)


def result_figures(result: Result) -> dict[str, bytes] | None:
    """The figures stored with an analysis: ``main`` (PNG, 300 dpi) and ``main.svg``, drawn
    through the report's style (journal column widths), or None if the result cannot plot."""
    from .report.style import render

    out = render(result)
    return None if out is None else {"main": out["png"], "main.svg": out["svg"]}


def figure_png(result: Result) -> bytes | None:
    """The PNG of :func:`result_figures` (None if the result cannot plot)."""
    figures = result_figures(result)
    return None if figures is None else figures["main"]


#: The largest measurement file (bytes) sent to a dask worker that cannot read its path;
#: a larger one must sit on a filesystem every worker sees (``ship_limit`` changes it).
SHIP_LIMIT = 50 * 2**20


def analysis_seed(key: str) -> int:
    """The random seed of the analysis whose cache key is ``key`` (63 bits, from its first 16
    hex digits): the same on every run, in every process and on every worker.

    Examples
    --------
    >>> analysis_seed("f" * 64) == 2**63 - 1
    True
    """
    return int(key[:16], 16) >> 1


@contextlib.contextmanager
def seeded(seed: int | None):
    """Seed Python's and NumPy's *global* generators with ``seed`` for the block and restore
    their states afterwards, so that an analysis drawing from them (rather than from its own
    ``numpy.random.Generator``) gives the same numbers serially and on any worker. The global
    state is per process: run such analyses one per process (``threads_per_worker=1``)."""
    if seed is None:
        yield
        return
    import random

    import numpy as np

    # the legacy global generator on purpose: it is what such an analysis would draw from
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)  # noqa: NPY002
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002


@dataclass(frozen=True)
class PlannedAnalysis:
    """One analysis of a run, as the graph builder :func:`plan_campaign` left it.

    Attributes
    ----------
    index : int
        Position in the campaign file (over all samples): the order of a serial run.
    sample, entry, spec
        The sample, the parsed ``[[samples.analyses]]`` entry and the registered analysis.
    measurements : tuple of Measurement
        Its measurements, with the SHA-256 of every file.
    key : str
        Its cache key (:func:`cache_key`).
    upstream : tuple of int
        Indices of the analyses it waits for: for ``uses_results`` analyses, every analysis of
        the same sample before it in the file (those its cache key includes); empty otherwise.
    cached : dict or None
        The stored analysis with the same key (it will be skipped), or None (it will run).
    """

    index: int
    sample: Sample
    entry: AnalysisEntry
    spec: AnalysisSpec
    measurements: tuple[Measurement, ...]
    key: str
    upstream: tuple[int, ...] = ()
    cached: Mapping[str, Any] | None = None
    campaign_dir: Path = Path(".")
    file: str | None = None

    @property
    def label(self) -> str:
        """``"<sample>: <analysis label>"``, as a run summary names it."""
        return f"{self.sample.name}: {self.entry.label}"

    @property
    def seed(self) -> int:
        return analysis_seed(self.key)

    def context(self, store: Any) -> AnalysisContext:
        """The :class:`AnalysisContext` its function receives."""
        return AnalysisContext(sample=self.sample, measurements=self.measurements,
                               parameters=self.entry.parameters, store=store,
                               label=self.entry.label, campaign_dir=self.campaign_dir,
                               where=self.entry.where, file=self.file, seed=self.seed)


def plan_campaign(campaign: Campaign, store: Any, *, force: bool = False
                  ) -> tuple[PlannedAnalysis, ...]:
    """Register the campaign's samples and measurements (files hashed) in ``store`` and build
    the graph of its analyses: cache keys, dependencies, and cached or to run.

    An analysis declared with ``uses_results=True`` depends on every analysis of its sample
    that comes before it in the file (its cache key includes their keys); the others depend on
    nothing but their files. Which analyses are cached is decided here, on the driver, before
    anything runs.

    Returns
    -------
    tuple of PlannedAnalysis
        In campaign order.
    """
    specs = registry()
    plan: list[PlannedAnalysis] = []
    for sample in campaign.samples:
        store.add_sample(sample.name, sample.description, **json_safe(sample.properties))
        measured = {m.name: _with_hashes(m) for m in campaign.measurements[sample.name]}
        for m in measured.values():
            store.add_measurement(sample.name, m.name, m.technique,
                                  [InputFile(str(p), h) for p, h in zip(m.files, m.hashes,
                                                                        strict=True)],
                                  json_safe(m.conditions))
        earlier: list[str] = []
        before: list[int] = []
        for entry in campaign.analyses[sample.name]:
            spec = specs[entry.method]
            used = tuple(measured[n] for n in entry.measurements)
            key = cache_key(sample.name, entry.method, entry.parameters, used,
                            earlier if spec.uses_results else (), label=entry.label)
            cached = None if force else store.find_analysis(key, sample=sample.name)
            plan.append(PlannedAnalysis(
                index=len(plan), sample=sample, entry=entry, spec=spec, measurements=used,
                key=key, upstream=tuple(before) if spec.uses_results else (), cached=cached,
                campaign_dir=campaign.directory, file=str(campaign.path)))
            earlier.append(key)
            before.append(plan[-1].index)
    return tuple(plan)


@dataclass(frozen=True)
class Outcome:
    """What computing one analysis gave: its result and figure, or why it failed.

    ``rerun`` is set by a worker that computed a result it could not send back (it does not
    pickle): the driver then computes that analysis itself.
    """

    result: Result | None = None
    png: dict[str, bytes] | None = None  # the figures by name (PNG and SVG)
    error: str | None = None
    seconds: float = 0.0
    where: str = "driver"
    peak_rss: int | None = None
    warnings: tuple[tuple[Any, str, str, int], ...] = ()
    rerun: bool = False


def _peak_rss() -> int | None:
    """Peak resident memory of this process, bytes (None where unknown)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def compute_analysis(task: PlannedAnalysis, store: Any = None, *, where: str = "driver",
                     figure_lock: Any = None) -> Outcome:
    """Run one planned analysis and render its figure, without storing anything.

    Exceptions become a failed :class:`Outcome` (an :class:`IonscaleError` by its message,
    anything else as ``"<Type>: <message>"``), as a serial run has always reported them. The
    global random generators are seeded from the analysis' cache key for the call.
    """
    import time

    start = time.perf_counter()
    result = png = error = None
    try:
        with seeded(task.seed):
            result = task.spec.func(task.context(store))
        with figure_lock if figure_lock is not None else contextlib.nullcontext():
            png = result_figures(result)
    except IonscaleError as exc:
        error = str(exc)
    except Exception as exc:  # a bug in one analysis must not stop the campaign
        error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        result = png = None
    return Outcome(result=result, png=png, error=error, seconds=time.perf_counter() - start,
                   where=where, peak_rss=_peak_rss())


class _Record:
    """What a run did, kept by analysis index so that a parallel run reports in file order."""

    def __init__(self) -> None:
        self.ran: list[tuple[int, str]] = []
        self.skipped: list[tuple[int, str]] = []
        self.failed: list[tuple[int, tuple[str, str]]] = []
        self.flagged: list[tuple[int, tuple[str, str]]] = []
        self.timings: list[tuple[int, AnalysisTiming]] = []

    def _status(self, task: PlannedAnalysis, status: str, diagnostics: list[dict]) -> None:
        failed: list = []
        flagged: list = []
        _file_status(task.label, status, diagnostics, failed, flagged)
        self.failed += [(task.index, f) for f in failed]
        self.flagged += [(task.index, f) for f in flagged]

    def skip(self, task: PlannedAnalysis) -> None:
        """Count a cached analysis (with the status of its stored result)."""
        self.skipped.append((task.index, task.label))
        self._status(task, task.cached["status"], task.cached.get("diagnostics") or [])

    def commit(self, task: PlannedAnalysis, outcome: Outcome, store: Any) -> None:
        """Store a computed analysis in one transaction (the driver is the only writer), or
        count its failure; nothing of a failed analysis is written."""
        self.timings.append((task.index, AnalysisTiming(task.label, outcome.seconds,
                                                        outcome.where, outcome.peak_rss)))
        if outcome.error is not None:
            self.failed.append((task.index, (task.label, outcome.error)))
            return
        result = outcome.result
        used = task.measurements
        try:
            # an analysis is filed under the conditions of its last measurement: the anneal
            # of a before/after pair, the map of a map analysis
            conditions = dict(used[-1].conditions) if used else {}
            store.save_analysis(task.sample.name, task.entry.method, result, cache_key=task.key,
                                measurements=[m.name for m in used], label=task.entry.label,
                                conditions=json_safe(conditions),
                                figures=outcome.png or None)
            self.ran.append((task.index, task.label))
            self._status(task, result.status, [d.to_dict() for d in result.diagnostics])
        except IonscaleError as exc:
            self.failed.append((task.index, (task.label, str(exc))))
        except Exception as exc:  # a bug in one analysis must not stop the campaign
            self.failed.append((task.index, (task.label, f"{type(exc).__name__}: {exc}")))

    def summary(self, database: Path, report: Path | None) -> RunSummary:
        def ordered(items):
            return tuple(item for _, item in sorted(items, key=lambda pair: pair[0]))

        return RunSummary(ordered(self.ran), ordered(self.skipped), ordered(self.failed),
                          database, report, ordered(self.flagged), ordered(self.timings))


def _check_run_options(workers: Any, scheduler: Any, client: Any, ship: Any,
                       ship_limit: Any, file: str) -> bool:
    """Validate the parallel options of :func:`run_campaign`; True for a run on dask."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers = {workers!r}", file=file, field="workers",
                         expected="a whole number of worker processes >= 1 (1: serial)")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise InputError(f"scheduler = {scheduler!r}", file=file, field="scheduler",
                         expected="the address of a dask scheduler, e.g. tcp://10.0.0.5:8786")
    if scheduler is not None and client is not None:
        raise InputError("both a scheduler address and a client were given", file=file,
                         field="scheduler", expected="one of them")
    if workers > 1 and (scheduler is not None or client is not None):
        raise InputError(f"workers = {workers} with an existing dask cluster", file=file,
                         field="workers", expected="workers only for a local cluster: an "
                         "existing cluster runs the analyses on its own workers")
    if ship not in ("auto", "always", "never"):
        raise InputError(f"ship = {ship!r}", file=file, field="ship",
                         expected="'auto', 'always' or 'never'")
    if isinstance(ship_limit, bool) or not isinstance(ship_limit, int | float) \
            or not ship_limit >= 0:
        raise InputError(f"ship_limit = {ship_limit!r}", file=file, field="ship_limit",
                         expected="a number of bytes >= 0")
    return workers > 1 or scheduler is not None or client is not None


def run_campaign(
    path: str | os.PathLike,
    *,
    force: bool = False,
    progress: bool = True,
    report: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
    client: Any = None,
    ship: str = "auto",
    ship_limit: float = SHIP_LIMIT,
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
    workers : int
        1 (default): every analysis in this process, one after the other. N > 1: independent
        analyses in parallel on a local dask cluster of N worker processes (one thread each).
    scheduler : str, optional
        Address of an existing ``dask.distributed`` scheduler (``tcp://host:8786``) to run the
        analyses on instead (a Slurm cluster through dask-jobqueue, say).
    client : distributed.Client, optional
        An open client to run them on (it is left open).
    ship : {"auto", "always", "never"}
        How workers get the measurement files: ``auto`` sends a file's bytes to the workers
        only when some worker cannot read its path (and it is at most ``ship_limit`` bytes);
        a local cluster always reads the paths. Every worker checks the SHA-256 of what it
        reads against the driver's before it analyses.
    ship_limit : float
        Largest file sent as bytes, in bytes (default 50 MiB).

    Returns
    -------
    RunSummary
        Which analyses ran, were skipped or failed (a failing analysis is recorded and the
        campaign goes on; earlier results stay in the store).

    Notes
    -----
    Whatever runs the analyses, only this process writes the store, one transaction per
    analysis, and each sample's analyses are stored in the order of the file. An analysis
    declared with ``uses_results`` (Arrhenius, Haven...) runs in this process once every
    analysis of its sample before it has been stored, so it reads exactly what a serial run
    would. Cached analyses are decided before anything is sent to a worker. A worker that dies
    has its analyses run again elsewhere (dask's ``allowed-failures``, 3 by default); past
    that they are reported failed and nothing of them is stored. See :mod:`ionscale.parallel`.
    """
    from .store import Store

    campaign = load_campaign(path)
    check_output_path(campaign.report, campaign, what="report")
    on_dask = _check_run_options(workers, scheduler, client, ship, ship_limit,
                                 str(campaign.path))
    record = _Record()
    total = sum(len(v) for v in campaign.analyses.values())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=campaign.name, unit="analysis")
    campaign.database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _run_lock(campaign), Store(campaign.database, check=True) as store:
            plan = plan_campaign(campaign, store, force=force)
            if on_dask:
                from .parallel import run_plan

                run_plan(plan, store, record, bar=bar, workers=workers, scheduler=scheduler,
                         client=client, ship=ship, ship_limit=ship_limit)
            else:
                for task in plan:
                    if bar is not None:
                        bar.set_postfix_str(task.entry.label[:30])
                    if task.cached is not None:
                        record.skip(task)
                    else:
                        record.commit(task, compute_analysis(task, store), store)
                    if bar is not None:
                        bar.update()
    finally:
        if bar is not None:
            bar.close()
    report_path = None
    if report:
        from .report import write_report

        report_path = write_report(campaign.database, campaign.report, title=campaign.name)
    return record.summary(campaign.database, report_path)


@contextlib.contextmanager
def _run_lock(campaign: Campaign):
    """Hold ``<database>.lock`` for the run: a second ``ionscale run`` on the same database is
    refused at once instead of redoing (and renumbering) the first one's work."""
    lock_path = campaign.database.with_name(campaign.database.name + ".lock")
    try:
        import fcntl
    except ImportError:  # not POSIX: SQLite's own locking still keeps every write whole
        yield
        return
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError("another `ionscale run` is using this results database now",
                             file=str(campaign.path), field="campaign.database",
                             expected="one run at a time per database (wait for the other "
                             "to finish)") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _file_status(label: str, status: str, diagnostics: list[dict], failed: list,
                 flagged: list) -> None:
    """Count a stored result whose status is not ``ok`` (its numbers stay in the store)."""
    if status == "ok":
        return
    why = "; ".join(str(d.get("message", "")) for d in diagnostics if
                    d.get("severity") == status) or status
    (failed if status == "failed" else flagged).append((label, f"result {status}: {why}"))


def check_output_path(out: Path, campaign: Campaign, *, what: str = "report") -> Path:
    """Refuse to write the campaign's ``out`` over its database, campaign file or inputs.

    See :func:`ionscale.io.atomic.check_output_path`; the error names the campaign file and
    ``campaign.<what>``.
    """
    from .io.atomic import check_output_path as check

    protected: dict[Path, str] = {campaign.database: "the results database",
                                  campaign.path: "the campaign file"}
    protected.update({Path(p): "a measurement file" for p in campaign.inputs})
    return check(out, protected, file=str(campaign.path), field=f"campaign.{what}")
