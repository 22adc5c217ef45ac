"""Fit one circuit to many spectra: time or temperature series in one call.

:func:`fit_series` fits every spectrum of a list with :func:`~ionscale.impedance.fit.fit_circuit`:

* **warm start**: each fit starts from the previous spectrum's best values (the first from
  ``initial`` and/or the automatic starting values), which is faster and keeps the fits on the
  same branch of solutions;
* **fixed time-constant order**: arcs that can exchange labels without changing Z (R‖C or
  R‖CPE blocks of the same series chain) are relabelled after each fit so that their τ keep the
  order they have in the first spectrum: ``R1`` stays the faster arc even if a fit lands with
  the two arcs swapped;
* **global parameters**: names in ``global_parameters`` take one value shared by all spectra;
  after the independent fits (which give the starting values) one joint least-squares fit of
  all stacked residuals is made, with a block-sparse Jacobian (each spectrum's block touches
  only its own parameters and the shared ones);
* **parallel execution**: ``n_jobs`` worker processes fit chunks of consecutive spectra, so the
  warm start still works inside each chunk (inside a dask worker, e.g. a campaign run with
  ``--workers`` or on a cluster, the chunks are tasks of that cluster instead);
* a tqdm progress bar.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from ..errors import FitError, FitWarning, InputError
from ..fitting import FitResult, fit_residuals
from ..results import Provenance, Result, Value, json_safe, new_axes
from .circuits import Circuit, as_circuit
from .data import Spectrum
from .fit import (
    CircuitFit,
    _bounds,
    _core_bounds,
    _derived,
    _fixed_values,
    _Problem,
    arc_permutation,
    build_fit_result,
    fit_circuit,
    permute_fit,
)

__all__ = ["SeriesFit", "fit_series"]

_FIT_OPTIONS = ("fixed", "bounds", "weighting", "domain", "multistart", "seed", "fmin", "fmax",
                "max_nfev")


@dataclass(frozen=True, kw_only=True)
class SeriesFit(Result):
    """Fits of one circuit to a series of spectra.

    ``values`` holds the global parameters (shared by all spectra) when there are any.

    Attributes
    ----------
    circuit : str
    fits : tuple of CircuitFit
        One per fitted spectrum (spectra whose fit failed are left out; see ``index``).
    index : ndarray of int
        Position in the input list of the spectrum behind each fit.
    names : tuple of str
        Columns of ``parameters``: the circuit parameters, then the derived arc values
        (``<cap>_tau``, ``<cap>_C``).
    units : dict
        SI unit of each name.
    parameters, errors : ndarray
        Shape ``(n_fits, n_names)``: best values and standard errors, SI.
    chi2 : ndarray
        χ² of each fit.
    time : ndarray or None
        s from the first spectrum: from the spectra's ``start_time`` stamps, else from their
        point times; None if unknown.
    temperature : ndarray or None
        K, when every spectrum has one.
    relabelled : ndarray of bool
        Which fits had their arcs relabelled to keep the τ order.
    global_parameters : tuple of str
    messages : tuple of str
        Warnings of the individual fits, prefixed with the spectrum's position.
    """

    circuit: str
    fits: tuple[CircuitFit, ...]
    index: np.ndarray
    names: tuple[str, ...]
    units: Mapping[str, str]
    parameters: np.ndarray
    errors: np.ndarray
    chi2: np.ndarray
    time: np.ndarray | None = None
    temperature: np.ndarray | None = None
    relabelled: np.ndarray | None = None
    global_parameters: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.fits)

    def column(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise InputError(f"no parameter {name!r} in this series", field="name",
                             expected=f"one of {', '.join(self.names)}") from None

    def parameter(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Values and standard errors of ``name`` over the series (SI)."""
        i = self.column(name)
        return self.parameters[:, i].copy(), self.errors[:, i].copy()

    def axis(self, axis: str | None = None) -> tuple[np.ndarray, str]:
        """The x values of the series and their kind: ``"temperature"`` (K), ``"time"`` (s)
        or ``"index"``; ``None`` picks the first available in that order."""
        if axis is None:
            axis = ("temperature" if self.temperature is not None else
                    "time" if self.time is not None else "index")
        if axis == "temperature":
            if self.temperature is None:
                raise InputError("the spectra have no temperatures", field="axis",
                                 expected="'time' or 'index'")
            return self.temperature, axis
        if axis == "time":
            if self.time is None:
                raise InputError("the spectra have no times", field="axis",
                                 expected="'temperature' or 'index'")
            return self.time, axis
        if axis == "index":
            return self.index.astype(float), axis
        raise InputError(f"axis = {axis!r}", field="axis",
                         expected="'temperature', 'time' or 'index'")

    def parameter_series(self, name: str, axis: str | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, values, errors)`` of parameter ``name`` against temperature (K), time (s) or
        index."""
        x, _ = self.axis(axis)
        v, e = self.parameter(name)
        return x.copy(), v, e

    def _extra_dict(self) -> dict[str, Any]:
        return json_safe({
            "circuit": self.circuit, "index": self.index, "names": list(self.names),
            "units": dict(self.units), "parameters": self.parameters, "errors": self.errors,
            "chi2": self.chi2, "time": self.time, "temperature": self.temperature,
            "relabelled": self.relabelled, "global_parameters": list(self.global_parameters),
            "messages": list(self.messages),
            "fits": [f.title for f in self.fits],
        })

    def plot(self, ax=None, parameters: Sequence[str] | None = None, axis: str | None = None):
        """Parameters against temperature, time or index, with error bars.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        parameters : sequence of str, optional
            Names to draw (same unit preferred); default: the resistances.
        axis : {"temperature", "time", "index"}, optional
            Default: temperature if known, else time, else index.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        x, kind = self.axis(axis)
        if parameters is None:
            parameters = [n for n in self.names if self.units.get(n) == "ohm"
                          and "_" not in n] or list(self.names[:1])
        xlabel = {"temperature": "T / K", "time": "t / s", "index": "spectrum"}[kind]
        if kind == "time" and np.nanmax(x) > 7200:
            x, xlabel = x / 3600, "t / h"
        positive = True
        for name in parameters:
            v, e = self.parameter(name)
            e = np.where(np.isfinite(e), e, np.nan)
            ax.errorbar(x, v, yerr=e, fmt="o-", ms=4, lw=1, capsize=2, label=name)
            positive &= bool(np.all(v[np.isfinite(v)] > 0))
        units = {self.units.get(n, "") for n in parameters}
        unit = units.pop() if len(units) == 1 else ""
        label = {"ohm": "Ω", "": "value"}.get(unit, unit)
        ax.set_ylabel("R / Ω" if unit == "ohm" else f"value / {label}" if unit else "value (SI)")
        if positive:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.legend(frameon=False, fontsize=8)
        ax.set_title(self.title or self.circuit, fontsize=9)
        return ax


# --------------------------------------------------------------------------- workers


def _fit_chunk(circuit_text: str, spectra: list[Spectrum], initial, warm_start: bool,
               options: dict[str, Any], offset: int, callback=None
               ) -> list[tuple[int, CircuitFit | None, list[str]]]:
    """Fit consecutive spectra (warm-started inside the chunk); never raises FitError."""
    c = Circuit(circuit_text)
    out = []
    previous: dict[str, float] | None = None
    for k, s in enumerate(spectra):
        start = previous if (warm_start and previous is not None) else initial
        msgs: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FitWarning)
            try:
                res = fit_circuit(s, c, start, **options)
            except FitError as exc:
                res = None
                msgs.append(f"fit failed: {exc}")
        msgs += [str(w.message) for w in caught if issubclass(w.category, FitWarning)]
        if res is not None and start is previous and previous is not None \
                and not res.fit.success:
            # a warm start that went astray: try the cold start once
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                try:
                    cold = fit_circuit(s, c, initial, **options)
                    if cold.fit.chi2 < res.fit.chi2:
                        res = cold
                except FitError:
                    pass
        if res is not None:
            previous = _carry(res, previous)
        out.append((offset + k, res, msgs))
        if callback is not None:
            callback(1)
    return out


def _carry(res: CircuitFit, previous: dict[str, float] | None) -> dict[str, float]:
    """Starting values for the next spectrum: the best values, except those the fit did not
    determine (relative error above 100 % or infinite), which keep their earlier value; in log
    space such a parameter may have drifted towards 0, where its gradient vanishes and a warm
    start from it would take hundreds of iterations."""
    fallback = previous if previous is not None else res.provenance.parameters["initial"]
    out = {}
    for name, v, e in zip(res.fit.names, res.fit.values.tolist(), res.fit.errors.tolist(),
                          strict=True):
        good = math.isfinite(e) and e <= abs(v)
        out[name] = v if good or name not in fallback else float(fallback[name])
    return out


def _worker(args) -> list[tuple[int, CircuitFit | None, list[str]]]:
    return _fit_chunk(*args)


def _in_dask_worker() -> bool:
    if "distributed" not in sys.modules:  # never imported: not a dask worker
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _map_chunks(tasks: list, jobs: int):
    """Each chunk's fits, in order: inside a dask worker (a campaign run on a cluster) as
    tasks of the same cluster through ``worker_client`` (a worker process never starts a
    process pool of its own), elsewhere in a pool of ``jobs`` processes."""
    if _in_dask_worker():
        from distributed import worker_client

        with worker_client() as client:
            for future in client.map(_worker, tasks, pure=False):
                yield future.result()
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
        yield from pool.map(_worker, tasks)


# --------------------------------------------------------------------------- helpers


def _check_spectra(spectra) -> list[Spectrum]:
    if isinstance(spectra, Spectrum):
        spectra = [spectra]
    try:
        spectra = list(spectra)
    except TypeError:
        raise InputError(f"got {type(spectra).__name__}", field="spectra",
                         expected="a list of Spectrum") from None
    if not spectra:
        raise InputError("no spectra", field="spectra", expected="at least one Spectrum")
    for i, s in enumerate(spectra):
        if not isinstance(s, Spectrum):
            raise InputError(f"item {i} is a {type(s).__name__}", field="spectra",
                             expected="ionscale.impedance.Spectrum objects")
    return spectra


def _n_jobs(n_jobs) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0 \
            or n_jobs < -1:
        raise InputError(f"n_jobs = {n_jobs!r}", field="n_jobs",
                         expected="a positive integer, or -1 for every core")
    return os.cpu_count() or 1 if n_jobs == -1 else int(n_jobs)


def _times(spectra: list[Spectrum]) -> np.ndarray | None:
    stamps = [s.start_time for s in spectra]
    if all(stamps):
        try:
            t = [datetime.fromisoformat(str(x).replace("Z", "+00:00")) for x in stamps]
            return np.array([(x - t[0]).total_seconds() for x in t])
        except (ValueError, TypeError):
            pass
    if all(s.time is not None and s.time.size for s in spectra):
        return np.array([float(np.mean(s.time)) for s in spectra])
    return None


def _values(circuit: Circuit, fit: FitResult) -> dict[str, Value]:
    values = {n: Value(n, float(v), float(e), circuit.units[n] or "", None)
              for n, v, e in zip(fit.names, fit.values, fit.errors, strict=True)}
    values.update(_derived(circuit, fit))
    return values


def _relabel(circuit: Circuit, cf: CircuitFit, reference: list[float]) -> tuple[CircuitFit,
                                                                                 bool]:
    perm = arc_permutation(circuit, cf.fit.values, reference=reference, free=cf.fit.free)
    if perm is None:
        return cf, False
    fit = permute_fit(cf.fit, perm)
    return replace(cf, fit=fit, values=_values(circuit, fit)), True


def _table(fits: list[CircuitFit]) -> tuple[tuple[str, ...], dict[str, str], np.ndarray,
                                           np.ndarray]:
    names: list[str] = []
    units: dict[str, str] = {}
    for f in fits:
        for k, v in f.values.items():
            if k not in units:
                names.append(k)
                units[k] = v.unit
    P = np.full((len(fits), len(names)), math.nan)
    E = np.full((len(fits), len(names)), math.nan)
    for i, f in enumerate(fits):
        for j, k in enumerate(names):
            if k in f.values:
                P[i, j] = f.values[k].value
                E[i, j] = f.values[k].error
    return tuple(names), units, P, E


# --------------------------------------------------------------------------- joint fit


def _joint_fit(circuit: Circuit, spectra: list[Spectrum], fits: list[CircuitFit],
               global_names: list[str], options: dict[str, Any]) -> tuple[FitResult,
                                                                           list[CircuitFit]]:
    """One least-squares fit of all spectra with ``global_names`` shared."""
    weighting = options.get("weighting", "modulus")
    domain = options.get("domain", "impedance")
    fixed_names, fixed_values = _fixed_values(circuit, options.get("fixed", ()))
    all_bounds = _core_bounds(circuit, _bounds(circuit, options.get("bounds")))
    fmin, fmax = options.get("fmin"), options.get("fmax")
    log = set(circuit.log_parameters)
    locals_ = [n for n in circuit.parameter_names if n not in global_names]
    n_s = len(fits)
    # parameter vector: globals, then each spectrum's locals
    p0: dict[str, float] = {}
    for g in global_names:
        vals = np.array([f.fit.value(g) for f in fits])
        p0[g] = float(fixed_values.get(g, np.exp(np.median(np.log(vals))) if g in log
                                       and np.all(vals > 0) else np.median(vals)))
    for i, f in enumerate(fits):
        for n in locals_:
            p0[f"{n}[{i}]"] = float(f.fit.value(n))
    position = {k: j for j, k in enumerate(p0)}
    columns = [np.array([position[n] if n in global_names else position[f"{n}[{i}]"]
                         for n in circuit.parameter_names]) for i in range(n_s)]
    problems = []
    for s in spectra:
        if fmin is not None or fmax is not None:
            s = s.select(fmin, fmax)
        problems.append(_Problem(circuit, s.frequency, s.impedance, s.sigma, weighting, domain))
    rows = np.cumsum([0] + [2 * len(p.grid) for p in problems])
    n_total = len(p0)

    def residual(params: dict[str, float]) -> np.ndarray:
        v = np.fromiter(params.values(), float, n_total)
        return np.concatenate([pr.residual_p(v[cols].tolist())
                               for pr, cols in zip(problems, columns, strict=True)])

    def jacobian(params: dict[str, float]) -> np.ndarray:
        v = np.fromiter(params.values(), float, n_total)
        J = np.zeros((rows[-1], n_total))
        for i, (pr, cols) in enumerate(zip(problems, columns, strict=True)):
            J[rows[i]:rows[i + 1], cols] = pr.jacobian_p(v[cols].tolist())
        return J

    def expand(names: Iterable[str]) -> list[str]:
        out = []
        for n in names:
            out += [n] if n in global_names else [f"{n}[{i}]" for i in range(n_s)]
        return out

    bounds = {}
    for n, b in all_bounds.items():
        for k in expand([n]):
            bounds[k] = b
    result = fit_residuals(residual, p0, bounds=bounds, fixed=expand(fixed_names),
                           log=expand(log), jacobian=jacobian,
                           absolute_sigma=weighting == "sigma",
                           max_nfev=options.get("max_nfev"))
    out = []
    for i, (f, s, cols) in enumerate(zip(fits, spectra, columns, strict=True)):
        r = result.residuals[rows[i]:rows[i + 1]]
        chi2 = float(r @ r)
        n_pts = r.size
        k = sum(1 for n in locals_ if n not in fixed_names) + \
            sum(1 for n in global_names if n not in fixed_names)
        dof = n_pts - k
        if result.absolute_sigma:
            aic, bic = chi2 + 2 * k, chi2 + k * math.log(n_pts)
        else:
            base = n_pts * math.log(max(chi2, 1e-300) / n_pts)
            aic, bic = base + 2 * k, base + k * math.log(n_pts)
        sub = FitResult(
            names=circuit.parameter_names, values=result.values[cols],
            errors=result.errors[cols], covariance=result.covariance[np.ix_(cols, cols)],
            free=tuple(np.asarray(result.free)[cols].tolist()), residuals=r, chi2=chi2,
            n_points=n_pts, dof=dof, aic=aic, bic=bic, absolute_sigma=result.absolute_sigma,
            success=result.success, message=result.message, nfev=result.nfev)
        if fmin is not None or fmax is not None:
            s = s.select(fmin, fmax)
        out.append(build_fit_result(
            circuit, s, sub, weighting=weighting, domain=domain,
            parameters={**f.provenance.parameters, "global_parameters": list(global_names),
                        "joint": True},
            method="impedance.fit_series"))
    return result, out


# --------------------------------------------------------------------------- public


def fit_series(
    spectra: Iterable[Spectrum],
    circuit,
    initial=None,
    *,
    warm_start: bool = True,
    order_time_constants: bool = True,
    global_parameters: Iterable[str] = (),
    n_jobs: int = 1,
    progress: bool = True,
    on_error: str = "skip",
    **fit_options,
) -> SeriesFit:
    """Fit one circuit to every spectrum of a time or temperature series.

    Parameters
    ----------
    spectra : iterable of Spectrum
        In series order (time or temperature).
    circuit : Circuit or str
        E.g. ``"p(R1,CPE1)-p(R2,CPE2)-CPE3"``.
    initial : mapping or sequence, optional
        Starting values (SI) for the first spectrum of each chunk; missing ones are automatic
        (see :func:`~ionscale.impedance.fit.initial_guesses`).
    warm_start : bool
        Start each fit from the previous spectrum's best values.
    order_time_constants : bool
        Relabel interchangeable arcs after each fit so that their τ keep the order they have
        in the first spectrum (arcs cannot swap labels between spectra).
    global_parameters : iterable of str
        Parameters shared by all spectra (e.g. an electrode CPE exponent); fitted jointly
        after the independent fits. The joint Jacobian is stored dense, so keep the series to
        a few hundred spectra.
    n_jobs : int
        Worker processes (-1: every core). Each fits a chunk of consecutive spectra.
    progress : bool
        Show a tqdm progress bar.
    on_error : {"skip", "raise"}
        A spectrum whose fit fails is left out (with a warning) or raises FitError.
    **fit_options
        Passed to :func:`~ionscale.impedance.fit.fit_circuit`: ``fixed``, ``bounds``,
        ``weighting``, ``domain``, ``multistart``, ``seed``, ``fmin``, ``fmax``, ``max_nfev``.

    Returns
    -------
    SeriesFit

    Examples
    --------
    >>> from ionscale.datasets.synthetic_eis import temperature_series
    >>> spectra = temperature_series([280.0, 290.0, 300.0], seed=0)
    >>> series = fit_series(spectra, "p(R1,CPE1)-p(R2,CPE2)-CPE3", weighting="sigma",
    ...                     progress=False)
    >>> T, R1, err = series.parameter_series("R1", axis="temperature")
    >>> bool(np.all(np.diff(R1) < 0))  # bulk resistance falls with temperature
    True
    """
    spectra = _check_spectra(spectra)
    c = as_circuit(circuit)
    jobs = _n_jobs(n_jobs)
    unknown = sorted(set(fit_options) - set(_FIT_OPTIONS))
    if unknown:
        raise InputError(f"unknown option(s) {unknown}", field="fit_options",
                         expected=f"options of fit_circuit: {', '.join(_FIT_OPTIONS)}")
    if on_error not in ("skip", "raise"):
        raise InputError(f"on_error = {on_error!r}", field="on_error",
                         expected="'skip' or 'raise'")
    if isinstance(global_parameters, str):
        global_parameters = [global_parameters]
    global_names = [str(g) for g in global_parameters]
    bad = [g for g in global_names if g not in c.parameter_names]
    if bad:
        raise InputError(f"unknown global parameter(s) {bad} for circuit '{c.text}'",
                         field="global_parameters",
                         expected=f"names among {', '.join(c.parameter_names)}")
    options = dict(fit_options)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(spectra), desc=f"fit {c.text}", unit="spectrum", disable=not progress,
               leave=False)
    try:
        if jobs == 1 or len(spectra) == 1:
            rows = _fit_chunk(c.text, spectra, initial, warm_start, options, 0, bar.update)
        else:
            n_chunks = min(jobs, len(spectra))
            edges = np.linspace(0, len(spectra), n_chunks + 1).round().astype(int)
            tasks = [(c.text, spectra[a:b], initial, warm_start, options, int(a))
                     for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
            rows = []
            for chunk in _map_chunks(tasks, jobs):
                rows += chunk
                bar.update(len(chunk))
    finally:
        bar.close()

    messages: list[str] = []
    fits: list[CircuitFit] = []
    index: list[int] = []
    for i, res, msgs in rows:
        messages += [f"spectrum {i} ({spectra[i].label}): {m}" for m in msgs]
        if res is None:
            if on_error == "raise":
                raise FitError(f"spectrum {i} ({spectra[i].label}): {msgs[0]}")
            continue
        fits.append(res)
        index.append(i)
    if not fits:
        raise FitError(f"no spectrum could be fitted with circuit '{c.text}': "
                       + (messages[0] if messages else ""))
    relabelled = np.zeros(len(fits), bool)
    if order_time_constants and c.interchangeable_arcs():
        reference = [t.tau for t in fits[0].time_constants()]
        for k in range(1, len(fits)):
            fits[k], relabelled[k] = _relabel(c, fits[k], reference)
    joint = None
    values: dict[str, Value] = {}
    if global_names:
        fitted = [spectra[i] for i in index]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FitWarning)
            joint, fits = _joint_fit(c, fitted, fits, global_names, options)
        messages += [f"joint fit: {w.message}" for w in caught
                     if issubclass(w.category, FitWarning)]
        for g in global_names:
            values[g] = Value(g, joint.value(g), joint.error(g), c.units[g] or "", None)
    failed = [m for m in messages if "fit failed" in m]
    if messages:
        warnings.warn(f"{len(messages)} warning(s) in the series fit"
                      + (f", {len(failed)} spectra not fitted" if failed else "")
                      + f"; first: {messages[0]} (all in SeriesFit.messages)",
                      FitWarning, stacklevel=2)
    names, units, P, E = _table(fits)
    kept = [spectra[i] for i in index]
    temps = [s.temperature for s in kept]
    time = _times(kept)
    params = {"circuit": c.text, "n_spectra": len(spectra), "warm_start": warm_start,
              "order_time_constants": order_time_constants, "global_parameters": global_names,
              "n_jobs": jobs, "options": options}
    inputs = []
    seen = set()
    for f in fits:
        for inp in f.provenance.inputs:
            if inp.path not in seen:
                seen.add(inp.path)
                inputs.append(inp)
    return SeriesFit(
        values=values,
        provenance=Provenance(method="impedance.fit_series", inputs=tuple(inputs),
                              parameters=json_safe(params)),
        fit=joint,
        title=f"{c.text} fitted to {len(fits)} spectra",
        circuit=c.text,
        fits=tuple(fits),
        index=np.array(index, int),
        names=names,
        units=units,
        parameters=P,
        errors=E,
        chi2=np.array([f.fit.chi2 for f in fits]),
        time=time,
        temperature=None if any(t is None for t in temps) else np.array(temps, float),
        relabelled=relabelled,
        global_parameters=tuple(global_names),
        messages=tuple(messages),
    )
