"""Result types shared by every technique.

A :class:`Result` is a frozen record of named :class:`Value` objects (SI value, standard error,
SI unit, display symbol), the fit behind them (:class:`~ionscale.fitting.FitResult`, if any) and
its :class:`Provenance` (input files with SHA-256, parameters, ionscale version). Technique
packages subclass it to carry the arrays their ``plot`` needs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from dataclasses import field as _dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .status import (  # noqa: F401  (the status lives beside the results it describes)
    DIAGNOSTIC_CODES,
    STATUSES,
    Diagnostic,
    Status,
    worst_status,
)
from .units import format_value, physical_range, to_field

if TYPE_CHECKING:
    from .fitting import FitResult

def _unique(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    seen: dict[tuple[str, str], Diagnostic] = {}
    for d in diagnostics:
        seen.setdefault((d.code, d.message), d)
    return tuple(seen.values())


def _version() -> str:
    from . import __version__

    return __version__


@dataclass(frozen=True)
class Value:
    """A named quantity (scalar or array) with its standard error, in SI: ionscale's one
    uncertain-value type. ``Estimate`` is the same class under the name the derived-quantity
    functions (Nernst-Einstein, capacitance, effective medium) have always used.

    Parameters
    ----------
    name : str
        Key of the value in its result (``"D"``, ``"Ea"``...).
    value : float
        Best value in ``unit``.
    error : float
        One-σ standard error in ``unit`` (NaN when unknown, 0 when exact or fixed).
    unit : str
        SI unit string, a key of :data:`ionscale.units.FIELD_UNITS`.
    symbol : str, optional
        How the value is written (``"D*"``); defaults to ``name``.
    valid : tuple of float, optional
        Closed range ``(low, high)`` (SI) outside which the value is physically impossible;
        defaults to the range of its unit (:func:`ionscale.units.physical_range`).
    provenance : Provenance, optional
        Method and parameters of a derived quantity.
    interval : tuple of float, optional
        A central 68 % interval (16th, 84th percentile) when the error came from Monte Carlo.
    details : mapping
        Extra numbers (Monte-Carlo mean and median, the error method...).

    Notes
    -----
    A value unpacks as ``value, error = v``.

    Examples
    --------
    >>> str(Value("D", 3.04e-13, 2.1e-14, "m^2/s", "D*"))
    'D* = (3.0 ± 0.2)e-9 cm² s⁻¹'
    >>> [d.code for d in Value("D", 5e20, 1.0, "m^2/s", "D*").check()]
    ['out-of-range']
    """

    name: str
    value: float
    error: float = math.nan
    unit: str = ""
    symbol: str | None = None
    valid: tuple[float, float] | None = _dc_field(default=None, compare=False, repr=False)
    provenance: Provenance | None = _dc_field(default=None, compare=False, repr=False)
    interval: tuple[float, float] | None = _dc_field(default=None, compare=False, repr=False)
    details: Mapping[str, Any] = _dc_field(default_factory=dict, compare=False, repr=False)

    def __iter__(self):
        yield self.value
        yield self.error

    def check(self) -> tuple[Diagnostic, ...]:
        """What is wrong with this value: non-finite, outside its physical range, or an
        infinite error (undetermined). An error of NaN means "not known" and is not flagged."""
        v = np.asarray(self.value, dtype=float)
        e = np.asarray(self.error, dtype=float)
        # +inf is a legitimate value only where the value declares it (τ of a phase that does
        # not percolate)
        allowed_inf = self.valid is not None and self.valid[1] == math.inf
        if not np.all(np.isfinite(v) | (allowed_inf & (v == math.inf))):
            return (Diagnostic("non-finite", f"{self.label} is not a finite number",
                               fields=(self.name,)),)
        out = []
        low, high = self.valid if self.valid is not None else physical_range(self.unit)
        if np.any(v < low) or np.any(v > high):
            vf, _, label = self.field()
            lf, _ = to_field(low, self.unit)
            hf, _ = to_field(high, self.unit)
            shown = np.array2string(np.asarray(vf), precision=3) if v.ndim else f"{vf:.3g}"
            out.append(Diagnostic(
                "out-of-range", f"{self.label} = {shown} {label} is outside the physically "
                f"possible range [{lf:.3g}, {hf:.3g}] {label}".replace("  ", " "),
                fields=(self.name,)))
        if np.any(np.isinf(e)):
            out.append(Diagnostic("undetermined", f"{self.label} is not determined by the data "
                                  "(its error is infinite)", fields=(self.name,)))
        return tuple(out)

    @property
    def label(self) -> str:
        return self.symbol or self.name

    @property
    def is_scalar(self) -> bool:
        return np.ndim(self.value) == 0

    def field(self) -> tuple[Any, Any, str]:
        """``(value, error, unit label)`` in the unit the field quotes."""
        if self.is_scalar and np.ndim(self.error) == 0:
            v, label = to_field(float(self.value), self.unit)
            e, _ = to_field(float(self.error), self.unit)
            return v, abs(e), label
        v, label = to_field(np.asarray(self.value, dtype=float), self.unit)
        e, _ = to_field(np.asarray(self.error, dtype=float), self.unit)
        return v, np.abs(e), label

    def __str__(self) -> str:
        v, e, label = self.field()
        if np.ndim(v) == 0:
            return f"{self.label} = {format_value(float(v), float(e), label)}"
        e = np.broadcast_to(e, np.shape(v))
        items = ", ".join(format_value(float(a), float(b))
                          for a, b in zip(np.ravel(v), np.ravel(e), strict=True))
        return f"{self.label} = [{items}] {label}".rstrip()

    @property
    def relative_error(self):
        """``|error / value|`` (inf where the value is 0)."""
        if self.is_scalar:
            return abs(self.error / self.value) if self.value else math.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.asarray(self.value, dtype=float)
            return np.where(v != 0, np.abs(np.asarray(self.error) / v), np.inf)

    def to_value(self) -> Value:
        """This value, checked to be a scalar (for results and reports)."""
        if not self.is_scalar or np.ndim(self.error) != 0:
            from .errors import InputError

            raise InputError(f"{self.name} holds {np.size(self.value)} values",
                             field=self.name, expected="a scalar estimate")
        return Value(self.name, float(self.value), float(self.error), self.unit, self.symbol,
                     self.valid, self.provenance, self.interval, self.details)

    def to_dict(self) -> dict[str, Any]:
        v, e, label = self.field()
        if self.is_scalar and np.ndim(e) == 0:
            out = {
                "name": self.name, "symbol": self.label, "value": _json_float(self.value),
                "error": _json_float(self.error), "unit": self.unit,
                "field_value": _json_float(v), "field_error": _json_float(e),
                "field_unit": label,
            }
        else:
            out = json_safe({"name": self.name, "symbol": self.label, "value": self.value,
                             "error": self.error, "unit": self.unit, "field_value": v,
                             "field_error": e, "field_unit": label})
        if self.interval is not None:
            out["interval"] = json_safe(self.interval)
        if self.details:
            out["details"] = json_safe(dict(self.details))
        if self.provenance is not None:
            out["provenance"] = self.provenance.to_dict()
        return out


#: The name derived-quantity functions use for a :class:`Value` (same class).
Estimate = Value


def _json_float(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in chunks (never loads a large file at once)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class InputFile:
    """An input file as it was when analysed."""

    path: str
    sha256: str

    @classmethod
    def of(cls, path: str | os.PathLike) -> InputFile:
        return cls(path=str(Path(path)), sha256=file_sha256(path))


def json_safe(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths and tuples into JSON-serialisable objects."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if hasattr(obj, "to_dict"):
        return json_safe(obj.to_dict())
    return str(obj)


@dataclass(frozen=True)
class Provenance:
    """Where a result came from: method, inputs, parameters, software version, time."""

    method: str
    inputs: tuple[InputFile, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    version: str = field(default_factory=_version)
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))

    @classmethod
    def build(
        cls,
        method: str,
        files: Iterable[str | os.PathLike | InputFile] = (),
        parameters: Mapping[str, Any] | None = None,
    ) -> Provenance:
        """Record ``method`` run on ``files`` (hashed now) with JSON-safe ``parameters``."""
        inputs = tuple(f if isinstance(f, InputFile) else InputFile.of(f) for f in files)
        return cls(method=method, inputs=inputs, parameters=json_safe(dict(parameters or {})))

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "inputs": [{"path": f.path, "sha256": f.sha256} for f in self.inputs],
            "parameters": json_safe(self.parameters),
            "version": self.version,
            "created": self.created,
        }


@dataclass(frozen=True, kw_only=True)
class Result:
    """Base of every ionscale result.

    Attributes
    ----------
    values : dict of str to Value
        The numbers the analysis produced, in SI with standard errors.
    provenance : Provenance
        Inputs, parameters, version.
    fit : FitResult, optional
        The least-squares fit behind the values.
    title : str
        One line saying what this is.
    """

    values: Mapping[str, Value]
    provenance: Provenance
    fit: FitResult | None = None
    title: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()

    def __post_init__(self) -> None:
        found = list(self.diagnostics)
        if self.fit is not None:
            found += list(getattr(self.fit, "diagnostics", ()))
        for v in self.values.values():
            found += list(v.check())
        object.__setattr__(self, "diagnostics", _unique(found))

    @property
    def status(self) -> Status:
        """``ok``, ``warning`` or ``failed``: the worst of :attr:`diagnostics`."""
        return worst_status(self.diagnostics)

    def with_diagnostics(self, *diagnostics: Diagnostic) -> Result:
        """A copy of this result with ``diagnostics`` added (results are frozen)."""
        import dataclasses

        return dataclasses.replace(self, diagnostics=(*self.diagnostics, *diagnostics))

    def __getitem__(self, name: str) -> Value:
        try:
            return self.values[name]
        except KeyError:
            raise KeyError(f"{name!r} is not in this result; it has {list(self.values)}") from None

    @property
    def method(self) -> str:
        return self.provenance.method

    def summary(self) -> str:
        """A readable multi-line report: the values ± errors, fit quality and inputs."""
        lines = [self.title or self.method]
        if self.status != "ok":
            lines[0] += f"  [{self.status.upper()}]"
        for v in self.values.values():
            own_T = (v.details or {}).get("temperature_K")  # a value of a temperature series
            lines.append(f"  {v}" if own_T is None else f"  {v}   at {float(own_T):.4g} K")
        if self.fit is not None:
            q = self.fit.quality()
            if self.fit.absolute_sigma:
                lines.append(
                    f"  fit: χ²_red = {q['reduced_chi2']:.3g} (χ² = {q['chi2']:.4g}, "
                    f"{q['n_points']} points, {q['dof']} dof), AIC = {q['aic']:.4g}, "
                    f"errors: {self.fit.error_method}")
            else:  # without σ, χ² has no absolute meaning: it only scales the errors
                lines.append(
                    f"  fit: no σ given: unit weights, the errors ({self.fit.error_method}) "
                    "were scaled from the residuals (χ² is not a goodness of fit); "
                    f"{q['n_points']} points, {q['dof']} dof")
        for f in self.provenance.inputs:
            lines.append(f"  input: {f.path} (sha256 {f.sha256[:12]}…)")
        lines += [f"  {d}" for d in self.diagnostics]
        lines.append(f"  ionscale {self.provenance.version}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _extra_dict(self) -> dict[str, Any]:
        """Subclass data (arrays as lists) for :meth:`to_dict`."""
        base = {f.name for f in fields(Result)}
        return {f.name: json_safe(getattr(self, f.name)) for f in fields(self)
                if f.name not in base}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of everything in the result."""
        out: dict[str, Any] = {
            "type": type(self).__name__,
            "method": self.method,
            "title": self.title,
            "status": self.status,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "values": {k: v.to_dict() for k, v in self.values.items()},
            "fit": None,
            "provenance": self.provenance.to_dict(),
        }
        if self.fit is not None:
            out["fit"] = {
                **self.fit.quality(),
                "parameters": list(self.fit.names),
                "correlation": json_safe(self.fit.correlation),
                "error_method": self.fit.error_method,
                "success": self.fit.success,
            }
        out["data"] = self._extra_dict()
        return out

    def plot(self, ax=None):
        """Plot the result. The base class draws each value with its error bar.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made if omitted.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        items = list(self.values.values())
        for i, v in enumerate(items):
            fv, fe, label = v.field()
            ax.errorbar([i], [fv], yerr=[fe] if math.isfinite(fe) else None, fmt="o", capsize=3)
        ax.set_xticks(range(len(items)), [f"{v.label} ({v.field()[2]})" for v in items],
                      rotation=30, ha="right")
        ax.set_title(self.title or self.method)
        return ax


def new_axes(ax=None, *, figsize=(5.0, 3.6)):
    """Return ``ax`` or a fresh Axes on a new figure (for ``plot(ax=None)``)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def values_from_fit(
    fit: FitResult,
    units: Mapping[str, str],
    symbols: Mapping[str, str] | None = None,
    names: Iterable[str] | None = None,
) -> dict[str, Value]:
    """Turn fitted parameters into :class:`Value` objects (``names`` defaults to the free ones)."""
    symbols = symbols or {}
    if names is None:
        names = [n for n, free in zip(fit.names, fit.free, strict=True) if free]
    return {n: Value(n, fit.value(n), fit.error(n), units.get(n, ""), symbols.get(n))
            for n in names}
