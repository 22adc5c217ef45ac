"""Forward-simulation analysis: D̃(C) fitted to a measured profile through the solver.

D̃(C) is a spline in ln D̃ through a few knots per phase
(:class:`~ionscale.interdiffusion.LogSplineDiffusivity`). For trial knot values the couple is
simulated (:mod:`~ionscale.interdiffusion.solver`: a step from ``C_L`` to ``C_R`` between far,
closed ends, so the couple is effectively semi-infinite unless ``domain`` says otherwise),
convolved with the probe's Gaussian when a resolution is given, shifted by the fitted initial
interface position and compared with the measured points; :func:`ionscale.fitting.fit_residuals`
adjusts ``ln D̃`` at the knots and the interface position. The Jacobian columns of the knots
are forward differences of the simulation (one simulation per knot), the interface column is
the profile's slope, exactly. The knots' covariance gives the confidence band of the whole
curve, and D̃ where dC/dx is too flat or too steep for Boltzmann-Matano comes out all the same.

This is pyDiffusion's forward-simulation analysis (FSA) made non-interactive: no prompts, a
least-squares objective instead of manual rounds, and errors on the result.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FitError, FitWarning, InputError
from ..fitting import FitResult, fit_residuals
from ..results import Diagnostic, Provenance, Result, Value
from .data import DiffusionProfile
from .diffusivity import LogSplineDiffusivity, check_phases, phase_index
from .matano import boltzmann_matano, profile_checks, value_name
from .plotting import check_kind, draw_diffusivity, draw_profile, draw_residuals, overview
from .resolution import broaden
from .smoothing import smooth_profile, split_phases
from .solver import (
    Boundary,
    KirchhoffTable,
    _run,
    graded_edges,
    reconstruct,
    step_profile,
    time_steps,
)

__all__ = ["fit_diffusivity", "ForwardFit", "CoupleModel", "detect_phases",
           "simulate_profile", "SimulationResult"]


def detect_phases(profile: DiffusionProfile, species: str | None = None, *,
                  jump: float | None = None) -> tuple[tuple[float, float], ...] | None:
    """Phase composition ranges of a measured profile from its composition jumps (None for a
    single-phase profile): each range spans the smoothed values of one segment, extended to the
    values extrapolated to the interfaces."""
    c = profile.c(species)
    segs = split_phases(profile.x, c, interfaces=profile.interfaces, jump=jump)
    if len(segs) < 2:
        return None
    seg = smooth_profile(profile.x, c, method="spline" if min(b - a for a, b in segs) >= 5
                         else None, interfaces=profile.interfaces, jump=jump)
    xg, cg, _ = seg.grid(None)
    cuts = np.flatnonzero(np.diff(xg) == 0) + 1
    pieces = np.split(cg, cuts)
    ranges = [(float(p.min()), float(p.max())) for p in pieces]
    if c[-1] < c[0]:
        ranges = ranges[::-1]
    return tuple(ranges)


class CoupleModel:
    """A diffusion couple simulated on a fixed grid, table and time schedule, so that the
    simulated profile is a smooth function of ``ln D̃`` at the knots (what a fit needs).

    Parameters
    ----------
    spline : LogSplineDiffusivity
        Knots and starting values.
    time : float
        Anneal time, s.
    ends : (float, float)
        Compositions of the two end members.
    x_step : float
        Position of the initial step in the simulation, m.
    edges : array_like
        Cell edges, m (closed ends).
    n_steps : int
        Time steps.
    resolution : float, optional
        Probe SD (m) the simulated profile is convolved with.
    """

    def __init__(self, spline: LogSplineDiffusivity, time: float, ends, x_step: float,
                 edges, n_steps: int = 150, resolution: float | None = None) -> None:
        self.spline = spline
        self.time = float(time)
        self.ends = (float(ends[0]), float(ends[1]))
        self.edges = np.asarray(edges, float)
        self.h = np.diff(self.edges)
        self.x = 0.5 * (self.edges[:-1] + self.edges[1:])
        self.x_step = float(x_step)
        self.c0 = step_profile(self.edges, self.x_step, *self.ends)
        lo, hi = min(self.ends), max(self.ends)
        self.table = KirchhoffTable(lo, hi, spline.phases)
        self.B, _ = spline.basis(self.table.points)
        self.resolution = resolution
        d0 = np.exp(self.B @ spline.flat_ln_D)
        first = 0.02 * float(self.h.min()) ** 2 / float(d0.max())
        self.schedule = time_steps(self.time, int(n_steps), first)
        self._cache: dict[bytes, Any] = {}
        self.n_simulations = 0

    def simulate(self, ln_d):
        """The simulated profile at the end time for knot values ``ln_d`` (cached): a
        :class:`~ionscale.interdiffusion.solver.PhaseProfile` with sharp interfaces, or, with a
        probe resolution, the profile convolved with the probe (a smooth callable)."""
        ln_d = np.asarray(ln_d, float)
        key = ln_d.tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        d = np.exp(np.clip(self.B @ ln_d, -230.0, 0.0))
        tab = self.table.table(d)
        sol = _run(self.edges, self.h, self.c0, self.table, tab, self.time, 0, (), 0.0,
                   Boundary.closed(), Boundary.closed(), 1e-10, 50, schedule=self.schedule)
        prof = reconstruct(self.edges, sol.C[-1], self.spline.phases)
        if self.resolution:
            step = min(float(self.h.min()), self.resolution / 5.0)
            xf = np.arange(self.edges[0], self.edges[-1] + step, step)
            cf = broaden(xf, prof(xf), self.resolution)
            prof = _Smooth(xf, cf)
        self.n_simulations += 1
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = prof
        return prof

    def at(self, ln_d, x, x0: float) -> np.ndarray:
        """Simulated composition at data positions ``x`` for an initial interface at ``x0``."""
        return self.simulate(ln_d)(np.asarray(x, float) - (x0 - self.x_step))

    def slope(self, ln_d, x, x0: float) -> np.ndarray:
        return self.simulate(ln_d).slope(np.asarray(x, float) - (x0 - self.x_step))


class _Smooth:
    """A sampled smooth profile (after the probe convolution)."""

    def __init__(self, x, c) -> None:
        self.x, self.c = x, c
        self.g = np.gradient(c, x)
        self.interfaces = np.array([])

    def __call__(self, xq):
        return np.interp(xq, self.x, self.c)

    def slope(self, xq):
        return np.interp(xq, self.x, self.g)

    def sampled(self, x):
        keep = (self.x >= x[0]) & (self.x <= x[-1])
        return self.x[keep], self.c[keep]


@dataclass(frozen=True, kw_only=True)
class ForwardFit(Result):
    """D̃(C) fitted by forward simulation, with its confidence band.

    Attributes
    ----------
    species : str
    time : float
        Anneal time, s.
    x, c, sigma : ndarray
        Measured points (m, composition, one-σ or None).
    diffusivity : LogSplineDiffusivity
        The fitted D̃(C).
    covariance_ln_D : ndarray
        Covariance of ln D̃ at the knots.
    c_grid, D_grid, D_low, D_high : ndarray
        D̃(C) and its ±1σ band on a composition grid (NaN in two-phase gaps).
    x_sim, c_sim : ndarray
        The simulated profile in the data's coordinates.
    model : ndarray
        The simulated profile at the measured points.
    x0 : float
        Fitted initial interface position, m.
    ends : (float, float)
    phases : tuple
    mean_abs_deviation : float
        Mean |measured − simulated| (pyDiffusion's error measure).
    """

    species: str
    time: float
    x: np.ndarray
    c: np.ndarray
    sigma: np.ndarray | None
    diffusivity: LogSplineDiffusivity
    covariance_ln_D: np.ndarray
    c_grid: np.ndarray
    D_grid: np.ndarray
    D_low: np.ndarray
    D_high: np.ndarray
    x_sim: np.ndarray
    c_sim: np.ndarray
    model: np.ndarray
    x0: float
    ends: tuple[float, float]
    phases: tuple
    mean_abs_deviation: float
    settings: dict[str, Any] = field(default_factory=dict)

    def D(self, c) -> np.ndarray:
        """Fitted D̃ (m² s⁻¹) at compositions ``c`` (NaN in a two-phase gap)."""
        return self.diffusivity(c)

    def band(self, c, z: float = 1.0):
        """``(D̃, low, high)`` at ``c``: the ``z``-σ confidence band."""
        return self.diffusivity.band(c, self.covariance_ln_D, z)

    @property
    def residuals(self) -> np.ndarray:
        return self.c - self.model

    def _extra_dict(self) -> dict[str, Any]:
        out = super()._extra_dict()
        out["diffusivity"] = self.diffusivity.to_dict()
        return out

    def summary(self) -> str:
        text = super().summary().split("\n")
        text.insert(1 + len(self.values), f"  mean |{self.species}measured − simulated| = "
                    f"{self.mean_abs_deviation:.3g} ({self.x.size} points, "
                    f"{self.settings.get('n_simulations', 0)} simulations)")
        return "\n".join(text)

    def plot(self, ax=None, kind: str | None = None):
        """Profile with the simulated curve, D̃(C) with its ±1σ band (log axis) and the knots,
        or the residuals; ``"overview"`` (the default without ``ax``) draws all three."""
        if kind is None:
            kind = "overview" if ax is None else "diffusivity"
        if kind == "overview":
            return overview(self)
        check_kind(kind)
        if kind == "profile":
            return draw_profile(ax, x=self.x, c=self.c, sigma=self.sigma, x_fit=self.x_sim,
                                c_fit=self.c_sim, fit_label="forward simulation",
                                x_initial=self.x0, species=self.species)
        if kind == "residuals":
            return draw_residuals(ax, x=self.x, r=self.residuals, sigma=self.sigma)
        k = self.diffusivity.flat_knots
        dk = np.exp(self.diffusivity.flat_ln_D)
        sk = np.sqrt(np.clip(np.diag(self.covariance_ln_D), 0, None))
        ax = draw_diffusivity(ax, c=self.c_grid, D=self.D_grid, low=self.D_low,
                              high=self.D_high, band_label="±1σ (fit covariance)",
                              label="forward fit", species=self.species)
        ax.errorbar(k, dk, yerr=[dk - dk * np.exp(-sk), dk * np.exp(sk) - dk], fmt="s", ms=4,
                    color="C3", mfc="white", capsize=2, label="knots")
        return ax


def seg_noise(x, c, profile, jump) -> float:
    """Point scatter of a profile from its smoothed phases (weights when no σ is given)."""
    seg = smooth_profile(x, c, method="spline", interfaces=profile.interfaces, jump=jump)
    return max(seg.noise, 1e-12 * float(np.ptp(c)))


def _knots(knots, phases, ends) -> list[np.ndarray]:
    lo_end, hi_end = min(ends), max(ends)
    if isinstance(knots, (int, np.integer)):
        out = []
        for k, (lo, hi) in enumerate(phases):
            lo = lo_end if k == 0 or not math.isfinite(lo) else max(lo, lo_end)
            hi = hi_end if k == len(phases) - 1 or not math.isfinite(hi) else min(hi, hi_end)
            n = int(knots)
            if n < 1:
                raise InputError(f"knots = {knots}", field="knots", expected=">= 1 per phase")
            out.append(np.array([0.5 * (lo + hi)]) if n == 1 else
                       lo + (hi - lo) * np.linspace(0.05, 0.95, n))
        return out
    ks = list(knots)
    if len(phases) == 1 and ks and np.ndim(ks[0]) == 0:
        ks = [ks]
    if len(ks) != len(phases):
        raise InputError(f"{len(ks)} knot sets for {len(phases)} phase(s)", field="knots",
                         expected="one list of knot compositions per phase")
    return [np.sort(np.asarray(k, float)) for k in ks]


def fit_diffusivity(profile: DiffusionProfile, species: str | None = None, *, time=None,
                    knots: int | Sequence = 5, phases=None, ends=None, resolution=None,
                    initial=None, domain=None, n_cells: int | None = None, n_steps: int = 150,
                    at=None, smooth: str | None = "spline", jump: float | None = None,
                    max_nfev: int | None = 60) -> ForwardFit:
    """Fit D̃(C) to a measured profile by forward simulation (see the module notes).

    Parameters
    ----------
    profile : DiffusionProfile
        Measured profile (positions in m).
    species : str, optional
        Species fitted (default: the profile's first).
    time : float or str, optional
        Anneal time; the profile's own by default.
    knots : int or sequence
        Knots per phase (int: evenly spread over 5–95 % of each phase's range) or their
        compositions (one list per phase).
    phases : sequence of (low, high), optional
        Composition ranges of the phases (the interface compositions of a multi-phase couple);
        found from the profile's jumps when omitted.
    ends : (float, float), optional
        End-member compositions of the couple (default: the smoothed profile's end values).
    resolution : float or str, optional
        Probe SD (m or e.g. ``"0.3 um"``): the simulated profile is convolved with it, which
        deconvolves the probe from D̃. The profile's own by default. Without one, a
        multi-phase model is convolved with a Gaussian of half the median point spacing, so
        that the fit can move its interfaces (a sharp jump gives no gradient).
    initial : float, callable or LogSplineDiffusivity, optional
        Starting D̃(C); Boltzmann-Matano of the smoothed profile by default.
    domain : (float, float), optional
        Simulated span (m, closed ends); default: the data and ``8 √(D̃_max t)`` on both sides
        of the interface (a semi-infinite couple), starting at depth 0 for a depth profile made
        by :func:`~ionscale.interdiffusion.to_depth` (the sample's surface is closed).
    n_cells : int, optional
        Uniform cells over the domain; by default a graded grid: cells of
        ``min(2√(D̃_min t)/12, span/300)`` over the data, growing by 6 % per cell outside.
    n_steps : int
        Time steps per simulation.
    at : sequence of float, optional
        Compositions where D̃ is reported as values ``D_<c>`` with band errors.
    smooth : {"spline", "savgol", None}
        Smoothing for the starting values and the plateau checks.
    max_nfev : int, optional
        Cap on the optimiser's function evaluations.

    Returns
    -------
    ForwardFit

    Raises
    ------
    InputError
        Missing time, a profile without a composition change, bad knots or phases.
    FitError
        The fit could not be carried out.
    """
    from ..units import parse_quantity

    profile.require_position("the forward fit")
    name = profile.pick(species)
    t = profile.anneal_time(time)
    x, c = profile.x, profile.c(name)
    sig = profile.sigma_of(name)
    if float(np.ptp(c)) == 0.0:
        raise InputError("the concentration is the same everywhere: nothing interdiffuses",
                         file=profile.source, field=name,
                         expected="a profile across an interface")
    s = profile.resolution if resolution is None else parse_quantity(resolution, "m",
                                                                     field="resolution")
    if phases is None:
        phases = detect_phases(profile, name, jump=jump)
    ph = check_phases(phases)
    bm = boltzmann_matano(profile, name, time=t, smooth=smooth if x.size >= 5 else None,
                          monte_carlo=0, jump=jump)
    ends_given = ends is not None
    if ends is None:
        ends = (float(bm.c_grid[0]), float(bm.c_grid[-1]))
    ends = (float(ends[0]), float(ends[1]))
    kn = _knots(knots, ph, ends)
    if initial is None:
        ok = np.isfinite(bm.D_grid) & bm.reliable
        if ok.sum() < 2:
            ok = np.isfinite(bm.D_grid)
        if ok.sum() < 1:
            raise FitError("no starting D̃: Boltzmann-Matano gave no value; pass initial=")
        pid = phase_index(bm.c_grid, ph)
        d0 = []
        for k, kk in enumerate(kn):
            m = ok & (pid == k)
            if m.sum() == 0:
                m = ok
            cs, ls = bm.c_grid[m], np.log(bm.D_grid[m])
            order = np.argsort(cs)
            d0.append(np.exp(np.interp(kk, cs[order], ls[order])))
        start = LogSplineDiffusivity(tuple(kn), tuple(d0), ph)
    elif isinstance(initial, LogSplineDiffusivity):
        start = initial
        kn = list(start.knots)
    else:
        from .diffusivity import as_diffusivity

        func, _ = as_diffusivity(initial)
        start = LogSplineDiffusivity(tuple(kn), tuple(np.asarray(func(k), float) for k in kn),
                                     ph)
    d_start = np.exp(start.flat_ln_D)
    d_max, d_min = float(d_start.max()) * 3.0, float(d_start.min()) / 3.0
    x_m = float(bm.x_matano)
    if domain is None:
        half = 8.0 * math.sqrt(d_max * t)
        margin = 0.25 * float(x[-1] - x[0])
        domain = (min(x_m - half, float(x[0]) - margin), max(x_m + half, float(x[-1]) + margin))
        if "depth_calibration" in profile.metadata:  # sputtered from the sample's surface,
            domain = (0.0, domain[1])                 # which is closed at depth 0
    domain = (float(domain[0]), float(domain[1]))
    L = float(x[-1] - x[0])
    width = 2.0 * math.sqrt(d_min * t)
    if n_cells is None:
        h = min(width / 12.0, L / 300.0)
        edges = graded_edges(domain, (float(x[0]) - 0.05 * L, float(x[-1]) + 0.05 * L), h)
    else:
        edges = np.linspace(domain[0], domain[1], int(n_cells) + 1)
    step = float(np.median(np.diff(x)[np.diff(x) > 0]))
    model = CoupleModel(start, t, ends, x_m, edges, n_steps=n_steps, resolution=s)
    n_k = start.n_knots
    names = [f"D_knot{i + 1}" for i in range(n_k)]
    # a multi-phase profile is compared phase by phase (each point with the simulated phase
    # it was measured in) plus the interface positions: a sharp jump compared point by point
    # gives cliffs in χ² (a point on the wrong side) and no gradient to move the interface
    phasewise = len(ph) > 1 and not s
    if phasewise:
        segs = split_phases(x, c, interfaces=profile.interfaces, jump=jump)
        if len(segs) != len(ph):
            raise InputError(f"the profile shows {len(segs)} phase(s) but {len(ph)} phase "
                             "ranges are used", file=profile.source, field="phases",
                             expected="as many phase ranges as composition jumps + 1")
        data_phase = np.concatenate([np.full(b_ - a_, k) for k, (a_, b_) in enumerate(segs)])
        if c[-1] < c[0]:
            data_phase = len(ph) - 1 - data_phase
        x_if = np.array([0.5 * (x[a_ - 1] + x[a_]) for a_, _ in segs[1:]])
        sx_if = np.array([max(x[a_] - x[a_ - 1], step) / math.sqrt(12.0) for a_, _ in segs[1:]])
    scatter = seg_noise(x, c, profile, jump) if (phasewise and sig is None) else 1.0
    w = np.full(c.shape, scatter) if sig is None else sig

    def unpack(p):
        ln_d = np.log([p[n] for n in names])
        return ln_d, x_m + p["shift"] - L

    def predict(ln_d, x0):
        if not phasewise:
            return (model.at(ln_d, x, x0) - c) / w
        prof = model.simulate(ln_d)
        shift = x0 - model.x_step
        order = np.arange(len(ph)) if c[-1] >= c[0] else np.arange(len(ph))[::-1]
        out = np.empty(c.shape)
        for k in range(len(ph)):
            m = data_phase == k
            sx, sc = prof.segments[int(np.flatnonzero(order == k)[0])]
            out[m] = np.interp(x[m] - shift, sx, sc)
        r_if = (prof.interfaces + shift - x_if) / sx_if * scatter
        return np.concatenate([(out - c) / w, r_if / scatter])

    def residual(p):
        return predict(*unpack(p))

    def jacobian(p):
        ln_d, x0 = unpack(p)
        base = predict(ln_d, x0)
        J = np.empty((base.size, n_k + 1))
        eps = 1e-3
        for i in range(n_k):
            lp = ln_d.copy()
            lp[i] += eps
            J[:, i] = (predict(lp, x0) - base) / eps / p[names[i]]
        J[:, n_k] = -model.slope(ln_d, x, x0) / w if not phasewise else np.concatenate(
            [-model.slope(ln_d, x, x0) / w, 1.0 / sx_if])
        return J

    p0 = {n: float(v) for n, v in zip(names, d_start, strict=True)}
    p0["shift"] = L
    bounds = {n: (v / 1e3, min(v * 1e3, 1e-4)) for n, v in p0.items() if n != "shift"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fit: FitResult = fit_residuals(residual, p0, bounds=bounds, log=names,
                                       jacobian=jacobian, absolute_sigma=sig is not None,
                                       max_nfev=max_nfev)
    ln_d, x0 = unpack(fit.params)
    spline = start.with_ln_D(ln_d)
    idx = [fit.index(n) for n in names]
    cov_d = fit.covariance[np.ix_(idx, idx)]
    dk = np.exp(ln_d)
    cov_ln = cov_d / np.outer(dk, dk)
    # results
    model_at_data = model.at(ln_d, x, x0)
    mad = float(np.mean(np.abs(c - model_at_data)))
    cg = np.linspace(min(ends), max(ends), 801)
    D_grid, D_lo, D_hi = spline.band(cg, cov_ln)
    values: dict[str, Value] = {}
    flat = spline.flat_knots
    for i, n in enumerate(names):
        values[n] = Value(n, float(dk[i]), fit.error(n), "m^2/s", f"D̃({name}={flat[i]:.4g})")
    values["x0"] = Value("x0", x0, fit.error("shift"), "m", "initial interface x₀")
    diags = list(fit.diagnostics)
    for cstar in ([] if at is None else np.atleast_1d(at)):
        cstar = float(cstar)
        key = value_name(cstar)
        d, lo, hi = spline.band([cstar], cov_ln)
        err = float(d[0] * 0.5 * (math.log(hi[0]) - math.log(lo[0]))) if np.isfinite(lo[0]) \
            and lo[0] > 0 else math.nan
        values[key] = Value(key, float(d[0]), err, "m^2/s", f"D̃({name}={cstar:g})")
        if not np.isfinite(d[0]):
            diags.append(Diagnostic("unmeasurable", f"{name} = {cstar:g} lies in a two-phase "
                                    "gap", fields=(key,), severity="failed"))
        elif not (min(ends) < cstar < max(ends)):
            diags.append(Diagnostic("unmeasurable", f"{name} = {cstar:g} is outside the "
                                    "couple's compositions", fields=(key,)))
    seg = smooth_profile(x, c, method=smooth, interfaces=profile.interfaces, jump=jump)
    diags += profile_checks(x, c, seg, ends=ends if ends_given else None, noise=seg.noise)
    with np.errstate(invalid="ignore"):
        narrow = np.isfinite(D_grid) & (2.0 * np.sqrt(D_grid * t) < 5.0 * step)
    if np.any(narrow):
        diags.append(Diagnostic(
            "unmeasurable", f"2√(D̃t) is under five probe steps (5 × {step * 1e6:.3g} µm) for "
            f"{name} between {cg[narrow].min():.4g} and {cg[narrow].max():.4g}: the profile "
            "there is too steep for the point spacing", fields=("D",)))
    shift = x0 - model.x_step
    xs_, cs_ = model.simulate(ln_d).sampled((x[0] - 0.05 * L - shift, x[-1] + 0.05 * L - shift))
    x_sim, c_sim = xs_ + shift, cs_
    settings = {"knots": [k.tolist() for k in spline.knots], "phases": [list(p) for p in ph],
                "ends": list(ends), "resolution_m": s, "phasewise": phasewise,
                "domain_m": list(domain),
                "n_cells": int(edges.size - 1), "n_steps": int(n_steps),
                "n_simulations": model.n_simulations, "time_s": t, "species": name,
                "temperature_K": profile.temperature,
                "at": None if at is None else list(np.atleast_1d(at))}
    return ForwardFit(
        values=values, fit=fit, diagnostics=tuple(diags),
        title=f"forward-simulation fit of D̃({name}), t = {t / 3600:.4g} h",
        provenance=Provenance.build("interdiffusion.fit",
                                    [profile.source] if profile.source else [], settings),
        species=name, time=t, x=np.asarray(x), c=np.asarray(c), sigma=sig,
        diffusivity=spline, covariance_ln_D=cov_ln, c_grid=cg, D_grid=D_grid, D_low=D_lo,
        D_high=D_hi, x_sim=x_sim, c_sim=c_sim, model=model_at_data, x0=x0,
        ends=ends, phases=ph, mean_abs_deviation=mad, settings=settings)


# ------------------------------------------------------------------------------ simulation
@dataclass(frozen=True, kw_only=True)
class SimulationResult(Result):
    """A couple simulated with a given D̃(C), compared with a measured profile."""

    species: str
    time: float
    x: np.ndarray
    c: np.ndarray
    x_sim: np.ndarray
    c_sim: np.ndarray
    model: np.ndarray
    c_grid: np.ndarray
    D_grid: np.ndarray
    x0: float

    def plot(self, ax=None, kind: str | None = None):
        """Measured and simulated profiles, D̃(C) used, or the residuals."""
        if kind is None:
            kind = "overview" if ax is None else "profile"
        if kind == "overview":
            return overview(self)
        check_kind(kind)
        if kind == "profile":
            return draw_profile(ax, x=self.x, c=self.c, x_fit=self.x_sim, c_fit=self.c_sim,
                                fit_label="simulated", x_initial=self.x0, species=self.species)
        if kind == "residuals":
            return draw_residuals(ax, x=self.x, r=self.c - self.model)
        return draw_diffusivity(ax, c=self.c_grid, D=self.D_grid, label="D̃ used",
                                species=self.species)


def simulate_profile(profile: DiffusionProfile, D, species: str | None = None, *, time=None,
                     ends=None, phases=None, x0: float | None = None, domain=None,
                     resolution=None, n_steps: int = 300) -> SimulationResult:
    """Simulate the couple of a measured profile with a given D̃(C) and compare.

    Parameters
    ----------
    profile : DiffusionProfile
        The measured profile: its span, end compositions and Matano plane set the simulation.
    D : float, callable, LogSplineDiffusivity or TabulatedDiffusivity
        D̃(C), m² s⁻¹ (a table's or spline's phases are used).
    time : float or str, optional
        Anneal time; the profile's own by default.
    ends : (float, float), optional
        End-member compositions (default: the profile's end values).
    x0 : float, optional
        Initial interface, m (default: the Matano plane of the profile).
    domain : (float, float), optional
        Simulated span with closed ends, m (default: semi-infinite, as in the fit).
    resolution : float, optional
        Probe SD (m) the simulated profile is convolved with.

    Returns
    -------
    SimulationResult
        Values ``mean_abs_deviation`` (mean |measured − simulated|, pyDiffusion's error
        measure) and ``x0``.
    """
    from ..units import parse_quantity
    from .diffusivity import as_diffusivity
    from .matano import matano_plane

    profile.require_position("the simulation")
    name = profile.pick(species)
    t = profile.anneal_time(time)
    x, c = profile.x, profile.c(name)
    func, ph = as_diffusivity(D, phases)
    if ends is None:
        ends = (float(c[0]), float(c[-1]))
    if x0 is None:
        x0 = matano_plane(profile, name)
    cg = np.linspace(min(ends), max(ends), 801)
    dg = np.asarray(func(cg), float)
    d_max = float(np.nanmax(dg))
    d_min = float(np.nanmin(dg[dg > 0]))
    L = float(x[-1] - x[0])
    if domain is None:
        half = 8.0 * math.sqrt(d_max * t)
        domain = (min(x0 - half, x[0] - 0.25 * L), max(x0 + half, x[-1] + 0.25 * L))
    h = min(2.0 * math.sqrt(d_min * t) / 12.0, L / 300.0)
    edges = graded_edges(domain, (float(x[0]) - 0.05 * L, float(x[-1]) + 0.05 * L), h)
    table = KirchhoffTable(min(ends), max(ends), ph)
    tab = table.table(np.asarray(func(table.points), float))
    c0 = step_profile(edges, float(x0), float(ends[0]), float(ends[1]))
    hh = np.diff(edges)
    sol = _run(edges, hh, c0, table, tab, t, n_steps, (), 0.02 * float(hh.min())**2 / d_max,
               Boundary.closed(), Boundary.closed(), 1e-10, 50)
    prof = reconstruct(edges, sol.C[-1], ph)
    s = profile.resolution if resolution is None else parse_quantity(resolution, "m",
                                                                     field="resolution")
    if s:
        step = min(float(hh.min()), s / 5.0)
        xf = np.arange(edges[0], edges[-1] + step, step)
        prof = _Smooth(xf, broaden(xf, prof(xf), s))
    model = prof(x)
    mad = float(np.mean(np.abs(c - model)))
    xs_, cs_ = prof.sampled((x[0] - 0.05 * L, x[-1] + 0.05 * L))
    return SimulationResult(
        values={"mean_abs_deviation": Value("mean_abs_deviation", mad, math.nan, "",
                                            f"mean |Δ{name}|"),
                "x0": Value("x0", float(x0), math.nan, "m", "initial interface x₀")},
        title=f"simulated couple, t = {t / 3600:.4g} h",
        provenance=Provenance.build("interdiffusion.simulate",
                                    [profile.source] if profile.source else [],
                                    {"species": name, "time_s": t, "ends": list(ends),
                                     "phases": [list(p) for p in ph], "domain_m": list(domain),
                                     "resolution_m": s, "n_cells": int(hh.size),
                                     "temperature_K": profile.temperature}),
        species=name, time=t, x=np.asarray(x), c=np.asarray(c), x_sim=xs_, c_sim=cs_,
        model=model, c_grid=cg, D_grid=dg, x0=float(x0))
