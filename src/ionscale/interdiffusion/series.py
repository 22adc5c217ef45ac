"""Several anneals: D̃ at fixed composition against temperature (Arrhenius), and the √t check.

* :func:`diffusivity_at` gathers D̃ at one composition from several results (Boltzmann-Matano,
  Sauer-Freise or forward fits) with their errors and anneal temperatures, as a
  :class:`DiffusivitySeries` whose :meth:`~DiffusivitySeries.arrhenius` hands them to
  :func:`ionscale.transport.fit_arrhenius`. In a campaign the same numbers are stored as the
  values ``D_<c>`` (``at = [...]``) and read by ``transport.arrhenius`` with
  ``from_method = "interdiffusion.fit"`` and ``value = "D_0.5"``.
* :func:`growth_check`: at one temperature the width of a diffusion-controlled profile grows as
  √t; the fitted exponent of ``width ∝ t^n`` should be 1/2 (a larger one points to an
  interface reaction or a moving boundary, a smaller one to a diffusion barrier or trapping).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .data import DiffusionProfile
from .smoothing import smooth_profile

__all__ = ["DiffusivitySeries", "diffusivity_at", "profile_width", "growth_check",
           "GrowthResult"]


@dataclass(frozen=True)
class DiffusivitySeries:
    """D̃ at one composition over several anneals.

    Attributes
    ----------
    composition : float
    T : ndarray
        Anneal temperatures, K.
    D, D_error : ndarray
        D̃ and its one-σ error, m² s⁻¹ (error NaN when unknown).
    labels : tuple of str
    """

    composition: float
    T: np.ndarray
    D: np.ndarray
    D_error: np.ndarray
    labels: tuple[str, ...] = ()

    def values(self) -> list[Value]:
        """One :class:`~ionscale.results.Value` per anneal."""
        return [Value(f"D_{self.composition:g}", float(d), float(e), "m^2/s",
                      f"D̃({self.composition:g}) at {t:.0f} K")
                for d, e, t in zip(self.D, self.D_error, self.T, strict=True)]

    def arrhenius(self, **kwargs):
        """Arrhenius fit (:func:`ionscale.transport.fit_arrhenius`) of the series."""
        from ..transport import fit_arrhenius

        err = self.D_error if np.all(np.isfinite(self.D_error) & (self.D_error > 0)) else None
        return fit_arrhenius(self.T, self.D, y_err=err, form="D", **kwargs)


def _d_at(result, c: float) -> tuple[float, float]:
    if hasattr(result, "band"):
        d, lo, hi = result.band([c])
        if np.isfinite(lo[0]) and lo[0] > 0:
            return float(d[0]), float(d[0] * 0.5 * (math.log(hi[0]) - math.log(lo[0])))
        return float(d[0]), math.nan
    d = float(result.diffusivity([c])[0])
    cl, lo = _sorted(result.c_grid, result.D_low)
    ch, hi = _sorted(result.c_grid, result.D_high)
    if cl.size < 2 or ch.size < 2:  # no Monte-Carlo band
        return d, math.nan
    return d, float(0.5 * (np.interp(c, ch, hi) - np.interp(c, cl, lo)))


def _sorted(c, v):
    ok = np.isfinite(c) & np.isfinite(v)
    o = np.argsort(c[ok])
    return c[ok][o], v[ok][o]


def diffusivity_at(results: Sequence, composition: float,
                   temperatures: Sequence[float] | None = None,
                   labels: Sequence[str] | None = None) -> DiffusivitySeries:
    """D̃ at ``composition`` from several interdiffusion results, with errors and temperatures.

    Parameters
    ----------
    results : sequence of DirectResult or ForwardFit
    composition : float
        The composition (same species and unit as the analyses).
    temperatures : sequence of float, optional
        Anneal temperatures, K; by default each result's own (from its profile).
    labels : sequence of str, optional

    Returns
    -------
    DiffusivitySeries

    Raises
    ------
    InputError
        A result without a temperature, or D̃ undefined at ``composition`` in one of them.
    """
    rows = []
    for i, r in enumerate(results):
        T = temperatures[i] if temperatures is not None else \
            r.provenance.parameters.get("temperature_K")
        if T is None:
            raise InputError(f"result {i} has no anneal temperature", field="temperatures",
                             expected="profiles with temperature=... or temperatures=[...]")
        d, e = _d_at(r, float(composition))
        if not np.isfinite(d):
            raise InputError(f"result {i} has no D̃ at {composition:g}", field="composition",
                             expected="a composition inside every profile's measured range")
        rows.append((float(T), d, e))
    T, D, E = (np.array(v) for v in zip(*rows, strict=True))
    return DiffusivitySeries(float(composition), T, D, E,
                             tuple(labels) if labels else tuple(str(i) for i in range(len(T))))


def profile_width(profile: DiffusionProfile, species: str | None = None, *,
                  smooth: str | None = "spline") -> float:
    """Width (m) of a profile: ``w = 2 √π ∫ Y(1 − Y) dx`` with Y normalised to the ends.

    For an erfc profile ``w = 2√(2) √(D̃t)`` (independent of noise in the plateaus as far as
    possible); whatever D̃(C), ``w ∝ √t`` for diffusion control.
    """
    profile.require_position("the profile width")
    seg = smooth_profile(profile.x, profile.c(species), method=smooth,
                         interfaces=profile.interfaces)
    xg, cg, _ = seg.grid(2000 if smooth == "spline" else None)
    Y = (cg - cg[0]) / (cg[-1] - cg[0])
    f = Y * (1 - Y)
    return float(2 * math.sqrt(math.pi) * np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(xg)))


@dataclass(frozen=True, kw_only=True)
class GrowthResult(Result):
    """Width of the profile against anneal time, fitted as ``w = A tⁿ``."""

    times: np.ndarray
    widths: np.ndarray
    width_errors: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def plot(self, ax=None):
        """log w against log t with the fitted power law and the √t slope."""
        ax = new_axes(ax)
        ax.loglog(self.times / 3600, self.widths * 1e6, "o", color="C0", label="measured")
        n, A = self["exponent"].value, self.extra["A"]
        tt = np.geomspace(self.times.min(), self.times.max(), 50)
        ax.loglog(tt / 3600, A * tt**n * 1e6, "-", color="C3", label=f"fit: n = {n:.3f}")
        ax.loglog(tt / 3600, self.widths[0] * np.sqrt(tt / self.times[0]) * 1e6, ":",
                  color="0.4", label="√t")
        ax.set_xlabel("t (h)")
        ax.set_ylabel("profile width (µm)")
        ax.legend(fontsize="x-small", frameon=False)
        ax.set_title(self.title, fontsize="medium")
        return ax


def growth_check(profiles: Sequence[DiffusionProfile], species: str | None = None, *,
                 times=None, smooth: str | None = "spline",
                 tolerance: float = 0.05) -> GrowthResult:
    """Check that the profile width grows as √t over several anneal times (same temperature).

    Parameters
    ----------
    profiles : sequence of DiffusionProfile
        At least three profiles (two give an exponent without an error).
    times : sequence of float or str, optional
        Anneal times; each profile's own by default.
    tolerance : float
        A fitted exponent further than ``max(tolerance, 2σ)`` from 1/2 gives a
        ``data-quality`` diagnostic.

    Returns
    -------
    GrowthResult
        Values ``exponent`` (n of ``w ∝ tⁿ``) and ``D_width`` (from ``w² = 8 D̃ t`` at n = ½,
        a composition-averaged D̃).
    """
    from ..fitting import fit_curve

    if len(profiles) < 2:
        raise InputError(f"{len(profiles)} profile(s)", field="profiles",
                         expected="profiles after at least two anneal times")
    ts = [p.anneal_time(None if times is None else times[i]) for i, p in enumerate(profiles)]
    ws = [profile_width(p, species, smooth=smooth) for p in profiles]
    t, w = np.asarray(ts), np.asarray(ws)
    if np.unique(t).size < 2:
        raise InputError("all anneal times are equal", field="times",
                         expected="different anneal times")
    lt, lw = np.log(t), np.log(w)
    fit = fit_curve(lambda v, n, a: n * v + a, lt, lw, {"n": 0.5, "a": float(lw.mean())})
    n, a = fit.value("n"), fit.value("a")
    ne = fit.error("n")
    diags = []
    if len(profiles) < 3:
        diags.append(Diagnostic("undetermined", "two anneal times give an exponent without an "
                                "error; measure a third", fields=("exponent",)))
    elif abs(n - 0.5) > max(tolerance, 2 * (ne if math.isfinite(ne) else 0)):
        diags.append(Diagnostic(
            "data-quality", f"the width grows as t^{n:.3f}, not √t: the profiles are not "
            "diffusion-controlled (interface reaction, moving boundary, trapping) or their "
            "times are wrong", fields=("exponent",)))
    d_w = float(np.mean(w**2 / (8 * t)))
    d_e = float(np.std(w**2 / (8 * t), ddof=1) / math.sqrt(t.size)) if t.size > 2 else math.nan
    return GrowthResult(
        values={"exponent": Value("exponent", n, ne, "", "n (w ∝ tⁿ)"),
                "D_width": Value("D_width", d_w, d_e, "m^2/s", "D̃ (width, w² = 8D̃t)")},
        fit=fit, diagnostics=tuple(diags), title="profile width against anneal time",
        provenance=Provenance.build("interdiffusion.growth",
                                    [p.source for p in profiles if p.source],
                                    {"times_s": t.tolist(), "species": species}),
        times=t, widths=w, extra={"A": math.exp(a)})
