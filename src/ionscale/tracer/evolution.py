"""D from the evolution of a measured tracer profile, with the numerical model.

:func:`fit_evolution` fits D (or the grain-boundary D of a layered medium) from the change of a
measured profile: the *before* profile is the initial condition of
:func:`ionscale.tracer.numerical.solve`, each *after* profile is compared with the simulation at
its time, jointly (seed 000: storage at 22 °C for 2 and 6 weeks, D*_eff = 3.0e-9 cm² s⁻¹; an
anneal at 200 °C for 3.8 h).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import FitError, FitWarning, InputError
from ..fitting import fit_residuals
from ..results import Provenance, Result, Value, new_axes, values_from_fit
from .data import Profile
from .numerical import (
    Grid,
    LayeredMedium,
    _check_xy,
    _edges_from_kwargs,
    _initial_on_grid,
    _positive_time,
    _theta,
    interpolate,
    layered_diffusivity,
    series_diffusivity,
    solve,
)


@dataclass(frozen=True, kw_only=True)
class EvolutionFit(Result):
    """Diffusivity fitted from the evolution of a measured profile.

    Values: ``"D"`` (D*_eff, m² s⁻¹); with ``model="layered"`` also ``"D_gb"``; with offsets
    ``"offset_1"``, ``"offset_2"``... (fraction).

    Attributes
    ----------
    before : Profile
        The measured initial profile.
    afters : tuple of Profile
        The measured later profiles.
    times : ndarray
        Time of each after-profile since the before-profile, s.
    x_model : ndarray
        Grid cell centres, m.
    initial : ndarray
        The initial condition on the grid (smoothed/interpolated ``before``).
    simulated : ndarray
        ``(len(times), n_cells)`` best-fit simulation at each time (offsets included).
    offsets : ndarray
        Fitted constant offset of each after-profile (zeros when not fitted).
    model : str
        ``"uniform"`` or ``"layered"``.
    """

    before: Profile
    afters: tuple[Profile, ...]
    times: np.ndarray
    x_model: np.ndarray
    initial: np.ndarray
    simulated: np.ndarray
    offsets: np.ndarray
    model: str = "uniform"

    def plot(self, ax=None):
        """Before profile, each after profile (points) and its simulation (line, same colour).

        Parameters
        ----------
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        um = 1e6
        b = self.before
        ax.plot(b.x * um, b.fraction, "o", ms=3, color="k", alpha=0.5, label="before")
        ax.plot(self.x_model * um, self.initial, "-", color="k", lw=1)
        for i, (p, t) in enumerate(zip(self.afters, self.times, strict=True)):
            colour = f"C{(i + 3) % 10}"
            ax.plot(p.x * um, p.fraction, "o", ms=3, color=colour, alpha=0.6,
                    label=f"after {_format_time(t)}")
            ax.plot(self.x_model * um, self.simulated[i], "-", color=colour, lw=1.5)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("isotope fraction")
        D = self.values.get("D")
        ax.set_title(str(D) if D is not None else (self.title or self.method))
        ax.legend()
        return ax


def _format_time(t: float) -> str:
    for unit, s in (("weeks", 604800.0), ("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if t >= s and (unit != "weeks" or abs(t / s - round(t / s)) < 1e-6):
            return f"{t / s:.3g} {unit}"
    return f"{t:.3g} s"


def _as_profiles(afters) -> tuple[Profile, ...]:
    if isinstance(afters, Profile):
        return (afters,)
    try:
        out = tuple(afters)
    except TypeError:
        raise InputError("not a profile", field="afters",
                         expected="a Profile or a sequence of Profiles") from None
    if not out or not all(isinstance(p, Profile) for p in out):
        raise InputError("not a sequence of Profiles", field="afters",
                         expected="at least one Profile")
    return out


def _validated(p: Profile, name: str) -> Profile:
    x = np.asarray(p.x, dtype=float)
    c = np.asarray(p.fraction, dtype=float)
    _check_xy(x, c, name, p.sigma)
    sigma = None if p.sigma is None else np.asarray(p.sigma, dtype=float)
    return replace(p, x=x, fraction=c, sigma=sigma)


def fit_evolution(
    before: Profile,
    afters: Profile | Sequence[Profile],
    times,
    *,
    D0: float | None = None,
    model: str = "uniform",
    layers: Mapping[str, Any] | None = None,
    boundaries: Mapping[str, Any] | None = None,
    fit_range: tuple[float, float] | None = None,
    offsets: bool = False,
    smooth: int | None = None,
    n_cells: int = 400,
    pad: float | tuple[float, float] = 0.0,
    n_steps: int = 200,
    theta: float | str = "crank-nicolson",
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> EvolutionFit:
    """Fit D from how a measured profile changed: before → after(s), jointly.

    The measured ``before`` profile is the initial condition: optionally smoothed with a
    quadratic Savitzky-Golay filter of ``smooth`` points (for noisy data; assumes near-uniform
    spacing), then interpolated onto the cell centres with monotone PCHIP (no overshoot), held
    constant beyond its range. The grid spans every profile's positions plus ``pad``: pad only
    where the sample goes on beyond the measured range, since the padding is filled with the
    before-profile's end value (padding past a real surface adds tracer that is not there).
    Boundaries are closed by default: a stored sample out of contact with the tracer source
    keeps its total tracer. Each after-profile is compared, at its own positions, with
    the simulation at its time; the joint weighted residual goes to
    :func:`ionscale.fitting.fit_residuals` (D in log space). Weights are the after-profiles'
    ``sigma`` when all have one (absolute errors); otherwise unit weights and errors scaled by
    the reduced χ².

    Parameters
    ----------
    before : Profile
        Initial profile (x in m).
    afters : Profile or sequence of Profile
        Profiles measured after ``times``.
    times : float, str or sequence
        Time of each after-profile since ``before`` (cumulative), s, or strings ``"2 weeks"``.
    D0 : float, optional
        Starting D (m² s⁻¹; for ``"layered"``, a starting D_eff). By default a coarse scan of D
        over the diffusion lengths the grid can show picks the start.
    model : {"uniform", "layered"}
        Uniform D (fitted: ``"D"``), or grains and boundaries (fitted: ``"D_gb"``, with
        ``"D"`` the series D_eff of the realised grains over the grid,
        :func:`series_diffusivity`, its error propagated from D_gb's).
    layers : mapping, optional
        For ``"layered"``: ``D_bulk``, ``grain_size``, ``gb_width`` (SI) and optionally the other
        keywords of :func:`layered_diffusivity` (``grain_sizes``, ``size_spread``, ``rng``,
        ``offset``, ``method``).
    boundaries : mapping, optional
        Boundary keywords of :func:`solve` (``left``, ``right``, ``left_value``, ``k_left``...);
        closed on both sides by default.
    fit_range : (float, float), optional
        Only after-profile points with ``lo <= x <= hi`` (m) enter the fit.
    offsets : bool
        Fit a constant offset per after-profile (e.g. a background drift between sessions).
    smooth : int, optional
        Savitzky-Golay window (odd, points) for the before profile.
    n_cells, pad, n_steps, theta
        Grid size, domain padding (m; one width or ``(left, right)``), time steps to the
        longest time, time scheme.

    monte_carlo : int
        If positive, also propagate the noise of the *before* profile (the initial condition,
        which the least-squares error ignores): refit this many data sets in which the before
        profile is redrawn with its σ and the after profiles around the best fit with theirs,
        and report the spread of the refits as the errors (``fit.error_method`` stays
        ``"jacobian"``; the result's ``provenance.parameters["error_method"]`` says
        ``"monte-carlo"``). Needs σ on every profile.
    seed : int or Generator, optional
        Seed of those draws.

    Returns
    -------
    EvolutionFit

    Examples
    --------
    >>> x = np.linspace(0, 6e-3, 61)
    >>> from scipy.special import erfc
    >>> before = Profile(x=x, fraction=erfc(x / 1.1e-3))
    >>> after = Profile(x=x, fraction=simulate_profile(x, before, 3e-13, "2 weeks"))
    >>> res = fit_evolution(before, after, "2 weeks")
    >>> round(res["D"].value / 3e-13, 2)
    1.0
    """
    if not isinstance(before, Profile):
        raise InputError(f"got {type(before).__name__}", field="before", expected="a Profile")
    before = _validated(before, "before")
    profs = tuple(_validated(p, f"afters[{i}]") for i, p in enumerate(_as_profiles(afters)))
    tlist = [times] if isinstance(times, (str, int, float, np.number)) else list(times)
    t = np.array([_positive_time(v, "times") for v in tlist])
    if t.size != len(profs):
        raise InputError(f"{t.size} time(s) for {len(profs)} after-profile(s)", field="times",
                         expected="one time per after-profile")
    if model not in ("uniform", "layered"):
        raise InputError(f"unknown model {model!r}", field="model",
                         expected="'uniform' or 'layered'")
    bc = dict(boundaries or {})
    allowed = {"left", "right", "left_value", "right_value", "k_left", "k_right", "C_gas_left",
               "C_gas_right"}
    if set(bc) - allowed:
        raise InputError(f"unknown key(s) {sorted(set(bc) - allowed)}", field="boundaries",
                         expected=f"keys among {sorted(allowed)}")
    if fit_range is not None:
        lo, hi = (float(v) for v in fit_range)
        if not hi > lo:
            raise InputError(f"got {fit_range!r}", field="fit_range",
                             expected="(lo, hi) with lo < hi (m)")
    th = _theta(theta)

    xs_all = np.concatenate([before.x] + [p.x for p in profs])
    grid = Grid.covering(xs_all, n_cells, pad)
    C_init = _initial_on_grid(before.x, before.fraction, grid.centres, smooth, "before")

    # data of the fit
    use_sigma = all(p.sigma is not None for p in profs)
    pts = []
    for i, p in enumerate(profs):
        m = p.valid() if use_sigma else np.isfinite(p.fraction)
        if fit_range is not None:
            m &= (p.x >= lo) & (p.x <= hi)
        if not np.any(m):
            raise InputError("no valid point in the fit range", field=f"afters[{i}]",
                             expected="finite fractions inside fit_range")
        s = np.asarray(p.sigma, dtype=float)[m] if use_sigma else np.ones(int(m.sum()))
        pts.append((p.x[m], p.fraction[m], s))

    layer_kw: dict[str, Any] = {}
    if model == "layered":
        layer_kw = dict(layers or {})
        missing = {"D_bulk", "grain_size", "gb_width"} - set(layer_kw)
        if missing:
            raise InputError(f"missing {sorted(missing)}", field="layers",
                             expected="D_bulk, grain_size and gb_width (SI)")
        if layer_kw.get("size_spread", 0) and layer_kw.get("rng") is None:
            layer_kw["rng"] = 0  # the same grains in every evaluation
        gen = layer_kw.get("rng")
        if isinstance(gen, np.random.Generator):
            layer_kw["rng"] = int(gen.integers(2**31))
        D_bulk = float(layer_kw["D_bulk"])
        l_mean = float(layer_kw["grain_size"])
        delta = float(layer_kw["gb_width"])

        def d_gb_of(d_eff: float) -> float:
            d_eff = min(d_eff, 0.999 * D_bulk * (l_mean + delta) / l_mean)
            return delta / ((l_mean + delta) / d_eff - l_mean / D_bulk)

    def medium(d_gb: float) -> LayeredMedium:
        return layered_diffusivity(grid, D_bulk, d_gb, l_mean, delta,
                                   **{k: v for k, v in layer_kw.items()
                                      if k not in ("D_bulk", "grain_size", "gb_width")})

    def simulate(params: Mapping[str, float]) -> np.ndarray:
        D = medium(params["D_gb"]) if model == "layered" else params["D"]
        states = solve(C_init, grid, D, float(t.max()), n_steps=n_steps, theta=th,
                       return_times=t, **bc)
        return states, _edges_from_kwargs(states, grid, D, bc)

    def residual(params: Mapping[str, float]) -> np.ndarray:
        states, (e_lo, e_hi) = simulate(params)
        out = []
        for i, (x, y, s) in enumerate(pts):
            yi = interpolate(grid, states[i], x, edge_values=(e_lo[i], e_hi[i]))
            out.append((yi + params.get(f"offset_{i + 1}", 0.0) - y) / s)
        return np.concatenate(out)

    name = "D_gb" if model == "layered" else "D"
    if D0 is None:
        h = float(grid.widths.min())
        lo_d = h * h / (2 * t.max()) / 10
        hi_d = grid.length ** 2 / (2 * t.min()) * 10
        trial = np.geomspace(lo_d, hi_d, 25)
    else:
        if not (math.isfinite(D0) and D0 > 0):
            raise InputError(f"got {D0!r}", field="D0", expected="a positive D (m^2/s)")
        trial = np.array([float(D0)])
    if model == "layered":
        trial = np.array([d_gb_of(v) for v in trial])
    p_off = {f"offset_{i + 1}": 0.0 for i in range(len(profs))} if offsets else {}
    if trial.size > 1:
        chi = [float(np.sum(residual({name: v, **p_off}) ** 2)) for v in trial]
        start = float(trial[int(np.argmin(chi))])
    else:
        start = float(trial[0])
    p0 = {name: start, **p_off}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        fit = fit_residuals(residual, p0, log=[name], absolute_sigma=use_sigma)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=2)

    units = {name: "m^2/s", **{k: "" for k in p_off}}
    symbols = {"D": "D*_eff", "D_gb": "D*_gb", **{k: k for k in p_off}}
    values = values_from_fit(fit, units, symbols)
    if model == "layered":
        d_gb, e_gb = fit.value("D_gb"), fit.error("D_gb")
        d_eff = series_diffusivity(grid, medium(d_gb))
        eps = 1e-6  # derivative in ln D_gb; D_eff is smooth in D_gb
        slope = (series_diffusivity(grid, medium(d_gb * math.exp(eps)))
                 - series_diffusivity(grid, medium(d_gb * math.exp(-eps)))) / (2 * eps)
        values = {"D": Value("D", d_eff, abs(slope) * e_gb / d_gb, "m^2/s", "D*_eff"),
                  **values}
    states, _ = simulate(fit.params)
    off = np.array([fit.params.get(f"offset_{i + 1}", 0.0) for i in range(len(profs))])
    files = [s for s in [before.source, *(p.source for p in profs)]
             if s is not None and os.path.isfile(s)]
    prov = Provenance.build(
        "tracer.numerical.fit_evolution", list(dict.fromkeys(files)),
        {"model": model, "times_s": t, "n_cells": grid.n_cells, "n_steps": n_steps,
         "pad_m": pad, "theta": th, "boundaries": bc, "fit_range_m": fit_range,
         "offsets": offsets, "smooth": smooth, "weights": "sigma" if use_sigma else "unit",
         "layers": {k: v for k, v in layer_kw.items()} if model == "layered" else None},
    )
    if monte_carlo > 0:
        values, prov = _monte_carlo_errors(
            values, prov, before, profs, grid.centres, states + off[:, None], t,
            int(monte_carlo), seed,
            dict(D0=fit.value(name), model=model, layers=layers, boundaries=boundaries,
                 fit_range=fit_range, offsets=offsets, smooth=smooth, n_cells=n_cells, pad=pad,
                 n_steps=n_steps, theta=theta))
    return EvolutionFit(
        values=values, provenance=prov, fit=fit,
        title=f"D*_eff from the evolution of a tracer profile ({len(profs)} time(s), {model})",
        before=before, afters=profs, times=t, x_model=grid.centres, initial=C_init,
        simulated=states + off[:, None], offsets=off, model=model,
    )


def _monte_carlo_errors(values, prov, before, afters, x_model, simulated, times, n, seed,
                        kwargs):
    """Errors of an evolution fit from refits of redrawn before and after profiles."""
    if before.sigma is None or any(p.sigma is None for p in afters):
        raise InputError("Monte-Carlo errors need σ on every profile", field="monte_carlo",
                         expected="profiles with sigma (counts), or monte_carlo=0")
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in values}

    def redraw(p: Profile, centre) -> Profile:
        return Profile(x=p.x, fraction=centre + rng.normal(size=p.x.size) * p.sigma,
                       sigma=p.sigma, source=p.source)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        for _ in range(n):
            b = redraw(before, before.fraction)
            a = [redraw(p, np.interp(p.x, x_model, sim))
                 for p, sim in zip(afters, simulated, strict=True)]
            try:
                refit = fit_evolution(b, a, times, **kwargs)
            except FitError:
                continue
            for k in values:
                draws[k].append(refit.values[k].value)
    if min(len(v) for v in draws.values()) < 2:
        raise FitError("Monte-Carlo refits of the evolution failed")
    out = {k: Value(v.name, v.value, float(np.std(draws[k], ddof=1)), v.unit, v.symbol)
           for k, v in values.items()}
    params = {**prov.parameters, "error_method": "monte-carlo", "monte_carlo": n}
    return out, Provenance(method=prov.method, inputs=prov.inputs, parameters=params)
