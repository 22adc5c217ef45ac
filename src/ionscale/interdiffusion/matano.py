"""Direct methods: Matano plane, Boltzmann-Matano, Sauer-Freise and Hall.

With ``Y = (C − C_L)/(C_R − C_L)`` over the profile (``C_L``, ``C_R`` its end values):

* **Matano plane** ``x_M``: ``∫ (x − x_M) dC = 0`` over the whole profile.
* **Boltzmann-Matano** ``D̃(C*) = −1/(2t) (dx/dC)|_{C*} ∫_{C_L}^{C*} (x − x_M) dC``.
* **Sauer-Freise** (no Matano plane needed)
  ``D̃(Y*) = 1/(2t (dY/dx)*) [(1 − Y*) ∫_{−∞}^{x*} Y dx + Y* ∫_{x*}^{∞} (1 − Y) dx]``.
* **Hall** for the tails, where dC/dx is too small to differentiate: with
  ``Y = (1 + erf u)/2`` and ``u = h λ + k`` linear in ``λ = (x − x_M)/√t`` near an end,
  ``D̃ = [1 + √π k e^{u²} (1 ± erf u)]/(4h²)`` (``+`` for the left tail, ``−`` for the right).

The two integral forms are discretised with the trapezoid rule in the Stieltjes form
(``Σ x̄ ΔY`` and ``Σ Ȳ Δx``); the rule obeys summation by parts exactly, so Boltzmann-Matano
and Sauer-Freise agree to round-off on the same profile, as the exact identity says.

Measured profiles are smoothed first (:mod:`ionscale.interdiffusion.smoothing`, never
interactively), per phase; the error band comes from Monte-Carlo redraws of the data around
the smoothed profile with the measured (or estimated) noise, each smoothed and analysed again.
Diagnostics say when the method's conditions fail: no plateau at an end, a non-monotonic
profile, a composition where ``2√(D̃t)`` is under five probe steps (or the probe broadening
``s²/(2t)`` biases D̃ by more than 10 %).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import erf, erfinv

from ..errors import FitWarning, InputError
from ..results import Diagnostic, Provenance, Result, Value
from .data import DiffusionProfile
from .plotting import check_kind, draw_diffusivity, draw_profile, draw_residuals, overview
from .smoothing import Segmented, smooth_profile, smooth_savgol

__all__ = ["matano_plane", "boltzmann_matano", "sauer_freise", "hall_method",
           "DirectResult", "HallResult", "value_name", "profile_checks"]


def value_name(c: float) -> str:
    """Name of the stored value of D̃ at composition ``c`` (``"D_0.5"``), the ``value`` a
    ``transport.arrhenius`` analysis reads."""
    return f"D_{float(c):g}"


# ---------------------------------------------------------------------------- integrals
def _integrals(x: np.ndarray, y: np.ndarray):
    """Normalised Y, Matano plane and the Boltzmann-Matano / Sauer-Freise numerators."""
    y0, y1 = y[0], y[-1]
    span = y1 - y0
    Y = (y - y0) / span
    dY = np.diff(Y)
    xbar = 0.5 * (x[1:] + x[:-1])
    x_m = float(np.sum(xbar * dY) / (Y[-1] - Y[0]))
    bm = -np.concatenate([[0.0], np.cumsum((xbar - x_m) * dY)])
    A = np.concatenate([[0.0], np.cumsum(0.5 * (Y[1:] + Y[:-1]) * np.diff(x))])
    one = 1.0 - Y
    Bc = np.concatenate([[0.0], np.cumsum(0.5 * (one[1:] + one[:-1]) * np.diff(x))])
    B = Bc[-1] - Bc
    sf = (1.0 - Y) * A + Y * B
    return Y, span, x_m, bm, sf


def matano_plane(profile: DiffusionProfile, species: str | None = None, *,
                 smooth: str | None = None) -> float:
    """Position (m) of the Matano plane, ``∫ (x − x_M) dC = 0`` over the profile.

    Parameters
    ----------
    profile : DiffusionProfile
    species : str, optional
        Species (default: the profile's first).
    smooth : {None, "spline", "savgol"}
        Smooth the profile first (the data points are used as they are by default).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1e-4, 1e-4, 201)
    >>> p = DiffusionProfile(x, {"B": 0.5 + 0.5 * np.tanh(x / 1e-5)})
    >>> abs(matano_plane(p)) < 1e-9
    True
    """
    profile.require_position("the Matano plane")
    seg = smooth_profile(profile.x, profile.c(species), method=smooth,
                         interfaces=profile.interfaces)
    xg, cg, _ = seg.grid(None if smooth is None else 2000)
    if cg[-1] == cg[0]:
        raise InputError("the profile has the same composition at both ends",
                         file=profile.source, field=profile.pick(species),
                         expected="a profile across an interface (different end compositions)")
    return _integrals(xg, cg)[2]


# ---------------------------------------------------------------------------- checks
def profile_checks(x: np.ndarray, c: np.ndarray, seg: Segmented, *, ends=None,
                   noise: float = 0.0) -> list[Diagnostic]:
    """Plateau and monotonicity diagnostics of a (smoothed) profile.

    Without ``ends`` a plateau is missing when the profile still changes by more than 3 % of
    its steepest slope over the last 5 % of its length; with ``ends`` (the known end-member
    compositions) when it ends more than 5 % of the total change away from them.
    """
    out = []
    span = float(c[-1] - c[0]) if seg is None else float(seg.fitted[-1] - seg.fitted[0])
    xg, cg, dg = seg.grid(None if seg.method != "spline" else 1500)
    L = float(xg[-1] - xg[0])
    slope_max = float(np.nanmax(np.abs(dg))) if dg.size else 0.0
    for side, sl in (("left", slice(None, None)), ("right", slice(None, None, -1))):
        if ends is not None:  # the end members are known: only how close the ends come counts
            break
        xs, cs = xg[sl], cg[sl]
        seg_len = 0.05 * L
        j = int(np.searchsorted(np.abs(xs - xs[0]), seg_len))
        j = min(max(j, 2), xs.size - 1)
        mean_slope = abs(float((cs[j] - cs[0]) / (xs[j] - xs[0])))
        if slope_max > 0 and mean_slope > 0.03 * slope_max:
            out.append(Diagnostic(
                "data-quality", f"no plateau on the {side}: the profile still changes "
                f"({100 * mean_slope / slope_max:.0f} % of its steepest slope) over the last "
                "5 % of its length, so the end composition is not reached; the Matano plane "
                "and D̃ near that end are biased (measure further into the end member)",
                fields=("plateau",)))
    if ends is not None:
        for side, have, want in (("left", cg[0], ends[0]), ("right", cg[-1], ends[1])):
            if abs(have - want) > 0.05 * abs(ends[1] - ends[0]):
                out.append(Diagnostic(
                    "data-quality", f"no plateau on the {side}: the profile ends at "
                    f"{have:.4g}, not at the given end composition {want:.4g}",
                    fields=("plateau",)))
    # monotonicity of the data themselves (not of the monotone fit)
    inc = span >= 0
    sign = 1.0 if inc else -1.0
    worst = 0.0
    for part in seg.parts:
        n = part.x.size
        w = min(max(7, (n // 15) | 1), n - (1 - n % 2))
        free = smooth_savgol(part.x, part.y, order=2, window=w).fitted if n >= 7 else part.y
        run = np.maximum.accumulate(sign * free)
        worst = max(worst, float(np.max(run - sign * free)))
    threshold = max(0.03 * abs(span), 2.0 * noise)
    if worst > threshold:
        out.append(Diagnostic(
            "data-quality", f"the profile is not monotonic: it turns back by {worst:.3g} "
            f"({100 * worst / abs(span):.0f} % of its change) beyond the noise; Boltzmann-"
            "Matano and Sauer-Freise assume a monotonic profile (uphill diffusion, a "
            "reaction layer or an artefact?)", fields=("monotonic",)))
    return out


# ---------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True)
class DirectResult(Result):
    """D̃(C) by Boltzmann-Matano or Sauer-Freise, with its Monte-Carlo band.

    Attributes
    ----------
    species : str
    time : float
        Anneal time, s.
    x, c, sigma : ndarray
        The measured points (m, concentration, one-σ or None).
    x_grid, c_grid : ndarray
        The smoothed profile on the evaluation grid.
    D_grid : ndarray
        D̃ at ``c_grid`` (NaN where undefined), m² s⁻¹.
    D_low, D_high : ndarray
        16th and 84th percentiles of the Monte-Carlo D̃ (NaN without Monte Carlo).
    unmeasurable : ndarray of bool
        Grid points where ``2√(D̃t)`` is under five probe steps or the probe broadening
        biases D̃ by more than 10 %.
    reliable : ndarray of bool
        Grid points inside the measurable range, away from the noise-dominated tails.
    x_matano : float
        Matano plane, m.
    interfaces : tuple of float
        Phase interfaces found or declared, m.
    smoothing : dict
        Smoother and its settings.
    hall : HallResult or None
        Hall's tails, when asked for.
    """

    species: str
    time: float
    x: np.ndarray
    c: np.ndarray
    sigma: np.ndarray | None
    x_grid: np.ndarray
    c_grid: np.ndarray
    D_grid: np.ndarray
    D_low: np.ndarray
    D_high: np.ndarray
    unmeasurable: np.ndarray
    reliable: np.ndarray
    x_matano: float
    interfaces: tuple[float, ...] = ()
    smoothing: dict[str, Any] = field(default_factory=dict)
    fitted: np.ndarray | None = None
    hall: Any = None

    def diffusivity(self, c) -> np.ndarray:
        """D̃ (m² s⁻¹) at compositions ``c``, interpolated in ln D̃ within each phase; NaN
        outside the reliable range."""
        return _interp_ln(self.c_grid, self.D_grid, np.atleast_1d(np.asarray(c, float)),
                          self.reliable & np.isfinite(self.D_grid), _phase_ids(self.x_grid))

    def _extra_dict(self) -> dict[str, Any]:
        out = super()._extra_dict()
        if self.hall is not None:
            out["hall"] = self.hall.to_dict()
        return out

    def plot(self, ax=None, kind: str | None = None):
        """Profile with smoothed curve and Matano plane, D̃(C) with band on a log axis,
        or residuals of the smoothing; ``"overview"`` (the default without ``ax``) draws all
        three and returns the first axes."""
        if kind is None:
            kind = "overview" if ax is None else "diffusivity"
        if kind == "overview":
            return overview(self)
        check_kind(kind)
        if kind == "profile":
            label = f"smoothed ({self.smoothing.get('method')})"
            return draw_profile(ax, x=self.x, c=self.c, sigma=self.sigma, x_fit=self.x_grid,
                                c_fit=self.c_grid, fit_label=label,
                                x_matano=self.x_matano, interfaces=self.interfaces,
                                species=self.species)
        if kind == "residuals":
            r = self.c - self.fitted if self.fitted is not None else np.zeros_like(self.c)
            return draw_residuals(ax, x=self.x, r=r, sigma=self.sigma)
        others = []
        if self.hall is not None:
            for tail in self.hall.tails:
                others.append({"c": tail["c"], "D": tail["D"], "fmt": "--", "color": "C2",
                               "label": f"Hall ({tail['side']})"})
        show = np.isfinite(self.D_grid) & (self.reliable | self.unmeasurable)
        D = np.where(show, self.D_grid, np.nan)
        return draw_diffusivity(ax, c=self.c_grid, D=D, low=self.D_low, high=self.D_high,
                                band_label="Monte-Carlo 16–84 %",
                                label=self.title.split(" D̃")[0],
                                unmeasurable=self.unmeasurable & show, species=self.species,
                                others=others)


def _phase_ids(x: np.ndarray) -> np.ndarray:
    """Segment number of each grid point (a repeated position starts a new phase)."""
    return np.concatenate([[0], np.cumsum(np.diff(x) == 0)])


def _interp_ln(c_grid, D_grid, c, mask, phase) -> np.ndarray:
    out = np.full(c.shape, np.nan)
    for k in np.unique(phase):
        m = mask & (phase == k)
        if m.sum() < 2:
            continue
        cs, ds = c_grid[m], np.log(D_grid[m])
        order = np.argsort(cs)
        cs, ds = cs[order], ds[order]
        inside = (c >= cs[0]) & (c <= cs[-1])
        out[inside] = np.exp(np.interp(c[inside], cs, ds))
    return out


# ---------------------------------------------------------------------------- analysis
def _direct_D(seg: Segmented, n_grid: int | None, t: float, method: str):
    xg, cg, dg = seg.grid(n_grid)
    Y, span, x_m, bm, sf = _integrals(xg, cg)
    dY = dg / span
    num = bm if method == "boltzmann-matano" else sf
    with np.errstate(divide="ignore", invalid="ignore"):
        D = num / (2.0 * t * dY)
    D[(dY <= 0) | (Y <= 0) | (Y >= 1) | ~np.isfinite(D) | (D <= 0)] = np.nan
    return xg, cg, D, x_m, Y


def _direct(profile: DiffusionProfile, species, time, method, *, smooth, lam, window, ends,
            monte_carlo, seed, at, n_grid, jump) -> DirectResult:
    profile.require_position(method)
    name = profile.pick(species)
    t = profile.anneal_time(time)
    x, c = profile.x, profile.c(name)
    sig = profile.sigma_of(name)
    if float(np.ptp(c)) == 0.0:
        raise InputError("the concentration is the same everywhere: nothing interdiffuses",
                         file=profile.source, field=name,
                         expected="a profile across an interface (two different end members)")
    if x.size < 5:
        raise InputError(f"{x.size} points", file=profile.source, field="x",
                         expected="at least 5 points")
    smooth = None if smooth in (None, "none", False) else smooth
    weights = None if sig is None else 1.0 / sig**2
    seg = smooth_profile(x, c, method=smooth, interfaces=profile.interfaces, lam=lam,
                         window=window, jump=jump, weights=weights)
    grid_n = n_grid if smooth == "spline" else None
    xg, cg, D, x_m, Y = _direct_D(seg, grid_n, t, method)
    noise = seg.noise
    diags = profile_checks(x, c, seg, ends=ends, noise=noise if sig is None else
                           float(np.median(sig)))
    phase = _phase_ids(xg)
    # Monte-Carlo band
    lo = np.full(cg.shape, np.nan)
    hi = np.full(cg.shape, np.nan)
    x_m_err = math.nan
    draws_D = None
    if monte_carlo and smooth is not None:
        rng = np.random.default_rng(seed)
        point_sigma = sig if sig is not None else np.concatenate(
            [np.full(p.x.size, p.noise) for p in seg.parts])
        base = seg.fitted
        draws, xms = [], []
        for _ in range(int(monte_carlo)):
            y = base + rng.normal(size=base.size) * point_sigma
            try:
                s2 = seg.refit(y)
                xg2, cg2, D2, xm2, _ = _direct_D(s2, grid_n, t, method)
            except (InputError, np.linalg.LinAlgError, ValueError):
                continue
            xms.append(xm2)
            ok = np.isfinite(D2)
            draws.append(_interp_ln(cg2, np.where(ok, D2, 1.0), cg, ok, _phase_ids(xg2))
                         if xg2.size != xg.size or not np.allclose(xg2, xg) else
                         _interp_ln(cg2, np.where(ok, D2, 1.0), cg, ok, phase))
        if len(draws) >= 5:
            draws_D = np.array(draws)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo = np.nanpercentile(draws_D, 16, axis=0)
                hi = np.nanpercentile(draws_D, 84, axis=0)
            x_m_err = float(np.std(xms, ddof=1))
    # measurability
    step = float(np.median(np.diff(x)[np.diff(x) > 0]))
    with np.errstate(invalid="ignore"):
        too_narrow = 2.0 * np.sqrt(D * t) < 5.0 * step
        s = profile.resolution or 0.0
        broadened = (s**2 / (2.0 * t)) > 0.1 * D if s > 0 else np.zeros_like(too_narrow)
    span = abs(float(cg[-1] - cg[0]))
    tail = min(0.2, max(0.005, 3.0 * (noise if sig is None else float(np.median(sig)))
                        / span)) if smooth is not None else 0.0
    inner = np.isfinite(D) & (Y > tail) & (Y < 1 - tail)
    unmeasurable = inner & (too_narrow | broadened)
    reliable = inner & ~unmeasurable
    if np.any(unmeasurable):
        cu = cg[unmeasurable]
        why = []
        if np.any(too_narrow & inner):
            why.append(f"2√(D̃t) is under five probe steps (5 × {step * 1e6:.3g} µm)")
        if np.any(broadened & inner):
            why.append(f"the probe broadening s²/(2t) = {s**2 / (2 * t):.3g} m² s⁻¹ is over "
                       "10 % of D̃")
        diags.append(Diagnostic(
            "unmeasurable", f"D̃ for {name} between {cu.min():.4g} and {cu.max():.4g} is not "
            f"measurable: {' and '.join(why)}", fields=("D",)))
    # values
    values = {"x_matano": Value("x_matano", x_m, x_m_err, "m", "x_M (Matano plane)"),
              "C_left": Value("C_left", float(cg[0]), noise, "", f"{name} (left end)"),
              "C_right": Value("C_right", float(cg[-1]), noise, "", f"{name} (right end)")}
    for cstar in ([] if at is None else np.atleast_1d(at)):
        cstar = float(cstar)
        key = value_name(cstar)
        d = _interp_ln(cg, np.where(np.isfinite(D), D, 1.0), np.array([cstar]),
                       np.isfinite(D), phase)[0]
        err = math.nan
        if draws_D is not None:
            samples = []
            for row in draws_D:
                ok = np.isfinite(row)
                samples.append(_interp_ln(cg, np.where(ok, row, 1.0), np.array([cstar]), ok,
                                          phase)[0])
            samples = np.asarray(samples)
            samples = samples[np.isfinite(samples)]
            if samples.size >= 5:
                err = float(np.std(samples, ddof=1))
        values[key] = Value(key, d, err, "m^2/s", f"D̃({name}={cstar:g})")
        inside = _interp_ln(cg, np.where(reliable, D, 1.0), np.array([cstar]), reliable,
                            phase)[0]
        if not np.isfinite(d):
            diags.append(Diagnostic("unmeasurable", f"{name} = {cstar:g} is outside the "
                                    "profile's compositions (or in a two-phase gap)",
                                    fields=(key,), severity="failed"))
        elif not np.isfinite(inside):
            diags.append(Diagnostic("unmeasurable", f"D̃ at {name} = {cstar:g} lies in the "
                                    "noise-dominated tail or the unmeasurable range",
                                    fields=(key,)))
    params = {"species": name, "time_s": t, "temperature_K": profile.temperature,
              "smooth": smooth, "lam": lam, "window": window,
              "monte_carlo": monte_carlo, "seed": seed, "ends": ends, "at": at,
              "smoothing": {k: v for k, v in seg.parts[0].settings.items()
                            if not k.startswith("_")}}
    title = {"boltzmann-matano": "Boltzmann-Matano", "sauer-freise": "Sauer-Freise"}[method]
    return DirectResult(
        values=values, title=f"{title} D̃({name}), t = {t / 3600:.4g} h",
        provenance=Provenance.build(f"interdiffusion.{method.replace('-', '_')}",
                                    [profile.source] if profile.source else [], params),
        diagnostics=tuple(diags), species=name, time=t, x=np.asarray(x), c=np.asarray(c),
        sigma=sig, x_grid=xg, c_grid=cg, D_grid=D, D_low=lo, D_high=hi,
        unmeasurable=unmeasurable, reliable=reliable, x_matano=x_m,
        interfaces=tuple(seg.interfaces) or profile.interfaces,
        smoothing={"method": seg.method, "noise": noise,
                   **{k: v for k, v in seg.parts[0].settings.items() if not k.startswith("_")}},
        fitted=seg.fitted)


_DOC_PARAMS = """
    Parameters
    ----------
    profile : DiffusionProfile
        Positions (m) and concentrations; a sputter-time profile must be calibrated first.
    species : str, optional
        Species analysed (default: the profile's first).
    time : float or str, optional
        Anneal time (s, or e.g. ``"100 h"``); the profile's own by default.
    smooth : {"spline", "savgol", None}
        Monotone P-spline (default), Savitzky-Golay, or none (exact or simulated profiles).
    lam, window : optional
        Smoother settings; chosen by generalised cross-validation when omitted.
    ends : (float, float), optional
        End-member compositions to check the plateaus against (e.g. ``(0, 1)``).
    monte_carlo : int
        Redraws of the data for the error band (0: none).
    seed : int
        Seed of the redraws.
    at : sequence of float, optional
        Compositions at which to report D̃ as values ``D_<c>`` (with Monte-Carlo errors).
    n_grid : int
        Evaluation points of a smoothed profile.
    jump : float, optional
        Smallest composition jump between neighbouring points that separates two phases.

    Returns
    -------
    DirectResult
"""


def boltzmann_matano(profile: DiffusionProfile, species: str | None = None, *, time=None,
                     smooth: str | None = "spline", lam: float | None = None,
                     window: int | None = None, ends: Sequence[float] | None = None,
                     monte_carlo: int = 100, seed: int = 0, at=None, n_grid: int = 2000,
                     jump: float | None = None, hall: bool = False) -> DirectResult:
    result = _direct(profile, species, time, "boltzmann-matano", smooth=smooth, lam=lam,
                     window=window, ends=ends, monte_carlo=monte_carlo, seed=seed, at=at,
                     n_grid=n_grid, jump=jump)
    return _with_hall(result, profile, species, time, hall)


def sauer_freise(profile: DiffusionProfile, species: str | None = None, *, time=None,
                 smooth: str | None = "spline", lam: float | None = None,
                 window: int | None = None, ends: Sequence[float] | None = None,
                 monte_carlo: int = 100, seed: int = 0, at=None, n_grid: int = 2000,
                 jump: float | None = None, hall: bool = False) -> DirectResult:
    result = _direct(profile, species, time, "sauer-freise", smooth=smooth, lam=lam,
                     window=window, ends=ends, monte_carlo=monte_carlo, seed=seed, at=at,
                     n_grid=n_grid, jump=jump)
    return _with_hall(result, profile, species, time, hall)


boltzmann_matano.__doc__ = """D̃(C) by the Boltzmann-Matano method.
""" + _DOC_PARAMS + """
    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import erfc
    >>> x = np.linspace(-2e-3, 2e-3, 4001); t = 3.6e5
    >>> p = DiffusionProfile(x, {"B": 0.5 * erfc(-x / (2 * np.sqrt(1e-13 * t)))}, time=t)
    >>> r = boltzmann_matano(p, smooth=None, monte_carlo=0, at=[0.5])
    >>> round(float(r["D_0.5"].value) / 1e-13, 4)
    1.0
"""
sauer_freise.__doc__ = """D̃(C) by the Sauer-Freise method (no Matano plane needed).
""" + _DOC_PARAMS


def _with_hall(result: DirectResult, profile, species, time, hall: bool) -> DirectResult:
    if not hall:
        return result
    import dataclasses

    h = hall_method(profile, species, time=time, x_matano=result.x_matano)
    return dataclasses.replace(result, hall=h, diagnostics=(*result.diagnostics,
                                                            *h.diagnostics))


# ---------------------------------------------------------------------------- Hall
@dataclass(frozen=True, kw_only=True)
class HallResult(Result):
    """Hall's tail analysis: per tail the line ``u = h λ + k`` and D̃(C) along the tail."""

    species: str
    time: float
    x_matano: float
    tails: tuple[dict[str, Any], ...]

    def plot(self, ax=None, kind: str | None = None):
        """D̃(C) of each tail on a log axis."""
        from ..results import new_axes

        ax = new_axes(ax)
        for tail in self.tails:
            ax.plot(tail["c"], tail["D"], "-", label=f"Hall ({tail['side']})")
        ax.set_yscale("log")
        ax.set_xlabel(self.species)
        ax.set_ylabel("D̃ (m² s⁻¹)")
        ax.legend(fontsize="x-small", frameon=False)
        return ax


def hall_method(profile: DiffusionProfile, species: str | None = None, *, time=None,
                tails: tuple[float, float] = (0.003, 0.15), x_matano: float | None = None,
                ends: Sequence[float] | None = None) -> HallResult:
    """D̃ in the tails of a profile by Hall's method.

    Parameters
    ----------
    profile : DiffusionProfile
    species : str, optional
    time : float or str, optional
        Anneal time; the profile's own by default.
    tails : (float, float)
        ``(Y_min, Y_max)``: points with ``Y_min < Y < Y_max`` form the left tail and
        ``1 − Y_max < Y < 1 − Y_min`` the right tail.
    x_matano : float, optional
        Matano plane, m (computed from the data when omitted).
    ends : (float, float), optional
        End compositions for Y (default: the end values of the profile).

    Returns
    -------
    HallResult
        Values ``h_left``, ``k_left``, ``D_left`` (at the middle of the tail's Y range) and the
        same for the right; a tail with fewer than three points is skipped with a diagnostic.
    """
    from ..fitting import fit_curve

    profile.require_position("Hall's method")
    name = profile.pick(species)
    t = profile.anneal_time(time)
    x, c = profile.x, profile.c(name)
    sig = profile.sigma_of(name)
    if x_matano is None:
        x_matano = matano_plane(profile, name)
    cl, cr = (float(c[0]), float(c[-1])) if ends is None else map(float, ends)
    Y = (c - cl) / (cr - cl)
    lam = (x - x_matano) / math.sqrt(t)
    values, out, diags = {}, [], []
    for side in ("left", "right"):
        if side == "left":
            m = (Y > tails[0]) & (Y < tails[1])
        else:
            m = (Y > 1 - tails[1]) & (Y < 1 - tails[0])
        if m.sum() < 3:
            diags.append(Diagnostic("data-quality", f"the {side} tail has {int(m.sum())} "
                                    f"points with {tails[0]} < Y < {tails[1]}; Hall's method "
                                    "needs at least 3", fields=(f"D_{side}",)))
            continue
        u = erfinv(2 * Y[m] - 1)
        su = None
        if sig is not None:
            su = sig[m] / abs(cr - cl) * math.sqrt(math.pi) * np.exp(u**2)
        lm = lam[m]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            slope0 = float(np.polyfit(lm, u, 1)[0])
            fit = fit_curve(lambda v, h, k: h * v + k, lm, u, {"h": slope0, "k": 0.0},
                            sigma=su)
        h, k = fit.value("h"), fit.value("k")
        ym = np.linspace(*(tails if side == "left" else (1 - tails[1], 1 - tails[0])), 60)
        uu = erfinv(2 * ym - 1)
        sgn = 1.0 if side == "left" else -1.0
        dcurve = (1 + sgn * math.sqrt(math.pi) * k * np.exp(uu**2) * (1 + sgn * erf(uu))) / (
            4 * h * h)
        ymid = 0.5 * (ym[0] + ym[-1])
        umid = float(erfinv(2 * ymid - 1))
        g = math.sqrt(math.pi) * math.exp(umid**2) * (1 + sgn * math.erf(umid))
        d_mid = (1 + sgn * k * g) / (4 * h * h)
        grad = np.array([-2 * d_mid / h, sgn * g / (4 * h * h)])
        cov = fit.covariance[np.ix_([fit.index("h"), fit.index("k")],
                                    [fit.index("h"), fit.index("k")])]
        err = float(math.sqrt(max(grad @ cov @ grad, 0.0))) if np.all(np.isfinite(cov)) \
            else math.inf
        values[f"h_{side}"] = Value(f"h_{side}", h, fit.error("h"), "s^0.5/m",
                                    f"h ({side} tail)")
        values[f"k_{side}"] = Value(f"k_{side}", k, fit.error("k"), "", f"k ({side} tail)")
        c_mid = cl + ymid * (cr - cl)
        values[f"D_{side}"] = Value(f"D_{side}", d_mid, err, "m^2/s",
                                    f"D̃({name}={c_mid:.3g}) Hall {side}")
        out.append({"side": side, "h": h, "k": k, "c": (cl + ym * (cr - cl)).tolist(),
                    "Y": ym.tolist(), "D": dcurve.tolist(), "n_points": int(m.sum())})
    if not out:
        diags.append(Diagnostic("failed", "neither tail has enough points for Hall's method"))
    return HallResult(values=values, title=f"Hall's method, tails of {name}",
                      provenance=Provenance.build("interdiffusion.hall",
                                                  [profile.source] if profile.source else [],
                                                  {"species": name, "time_s": t,
                                                   "tails": list(tails)}),
                      diagnostics=tuple(diags), species=name, time=t,
                      x_matano=float(x_matano), tails=tuple(out))
