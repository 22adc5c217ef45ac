"""A synthetic NMC|LLZO-like interdiffusion couple measured by SIMS depth profiling.

The truth is known: D̃(X_Co) = 2e-18 · 10^(0.8 X) m² s⁻¹ (X_Co the cobalt fraction of the
transition-metal/lanthanum sublattice, 0 in LLZO, 1 in NMC), 10 h at 700 °C, an LLZO film of
1.5 µm on NMC, profiled to 4.5 µm. The couple is simulated with
:func:`ionscale.interdiffusion.solve` (the surface is closed), broadened by a 20 nm Gaussian
(atomic mixing), and "measured" by sputtering from the surface with layer-dependent rates
(LLZO 0.8 nm s⁻¹, NMC 1.2 nm s⁻¹, blended by composition, as
:func:`ionscale.interdiffusion.to_depth` assumes): ⁵⁹Co⁺ and ¹³⁹La⁺ counts are Poisson with a
background, then normalised to the plateaus, with their counting errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.integrate import cumulative_trapezoid

from ..interdiffusion.data import DiffusionProfile
from ..interdiffusion.diffusivity import LogSplineDiffusivity
from ..interdiffusion.resolution import broaden
from ..interdiffusion.solver import solve, step_profile

__all__ = ["NMC_LLZO", "SyntheticCouple", "nmc_llzo_couple", "true_diffusivity",
           "write_couple"]

#: Defaults of the NMC|LLZO-like couple (SI).
NMC_LLZO: dict[str, Any] = {
    "D0": 2e-18,                 # m² s⁻¹ at X_Co = 0
    "decades": 0.8,              # log10 D̃(1) − log10 D̃(0)
    "time": 10 * 3600.0,         # s
    "temperature": 973.15,       # K
    "film": 1.5e-6,              # m, LLZO film on NMC
    "depth": 4.5e-6,             # m, crater depth at the end of the profile
    "rates": (0.8e-9, 1.2e-9),   # m s⁻¹: LLZO, NMC
    "resolution": 20e-9,         # m, Gaussian SD of the depth resolution
    "dwell": 10.0,               # s between points
    "counts": (4000.0, 6000.0),  # Co, La counts per point in their own plateau
    "background": (3.0, 2.0),    # counts per point
}


def true_diffusivity(D0: float = NMC_LLZO["D0"], decades: float = NMC_LLZO["decades"]
                     ) -> LogSplineDiffusivity:
    """The known D̃(X_Co) = D0 · 10^(decades · X) (exactly a two-knot ln D̃ spline)."""
    return LogSplineDiffusivity.single([0.0, 1.0], [D0, D0 * 10**decades])


@dataclass(frozen=True)
class SyntheticCouple:
    """A synthetic SIMS depth profile and the truth behind it."""

    profile: DiffusionProfile
    truth: dict[str, Any] = field(default_factory=dict)


def nmc_llzo_couple(seed: int | np.random.Generator | None = 0, **overrides
                    ) -> SyntheticCouple:
    """Generate the NMC|LLZO-like couple (see the module notes; any key of
    :data:`NMC_LLZO` can be overridden).

    Returns
    -------
    SyntheticCouple
        ``profile``: sputter time (s) with species ``Co`` (cobalt fraction) and ``La``
        (lanthanum fraction), Poisson σ; ``truth``: the D̃ model, interface depth, rates,
        crater depth, the true depth of every point and the noise-free composition.
    """
    p = {**NMC_LLZO, **overrides}
    rng = np.random.default_rng(seed)
    D = true_diffusivity(p["D0"], p["decades"])
    depth, film = float(p["depth"]), float(p["film"])
    edges = np.linspace(0.0, depth * 1.2, 1201)
    sol = solve(edges, step_profile(edges, film, 0.0, 1.0), D, p["time"], n_steps=200)
    z = sol.x
    X = broaden(z, sol.C[-1], p["resolution"])
    r1, r2 = p["rates"]
    rate = r1 * (1 - X) + r2 * X
    t_of_z = cumulative_trapezoid(1.0 / rate, z, initial=0.0) + z[0] / rate[0]
    t_end = float(np.interp(depth, z, t_of_z))
    t = np.arange(p["dwell"], t_end + 0.5 * p["dwell"], p["dwell"])
    zt = np.interp(t, t_of_z, z)
    x_co = np.interp(zt, z, X)
    n_co, n_la = p["counts"]
    b_co, b_la = p["background"]
    co = rng.poisson(n_co * x_co + b_co).astype(float)
    la = rng.poisson(n_la * (1 - x_co) + b_la).astype(float)
    c_co, c_la = (co - b_co) / n_co, (la - b_la) / n_la
    s_co, s_la = np.sqrt(np.maximum(co, 1.0)) / n_co, np.sqrt(np.maximum(la, 1.0)) / n_la
    profile = DiffusionProfile(
        t, {"Co": c_co, "La": c_la}, sigma={"Co": s_co, "La": s_la}, coordinate="time",
        temperature=p["temperature"], time=p["time"], resolution=p["resolution"],
        source=None, metadata={"synthetic": "NMC|LLZO-like couple", "counts_Co": co.tolist(),
                               "counts_La": la.tolist()})
    truth = {"D": D, "interface_depth": film, "crater_depth": depth, "total_time": t_end,
             "rates": (r1, r2), "depth": zt, "X": x_co, "time": p["time"],
             "temperature": p["temperature"], "resolution": p["resolution"]}
    return SyntheticCouple(profile, truth)


def write_couple(path: str | Path, couple: SyntheticCouple | None = None) -> Path:
    """Write a couple's depth profile as CSV (``Sputter time (s),Co,La,sigma_Co,sigma_La``)
    with its conditions as ``#`` comments; returns the path."""
    from ..io.atomic import write_text_atomic

    couple = couple or nmc_llzo_couple()
    p = couple.profile
    tr = couple.truth
    lines = ["# synthetic NMC|LLZO-like SIMS depth profile (ionscale)",
             f"# anneal: {p.time / 3600:g} h at {p.temperature - 273.15:g} degC",
             f"# crater depth: {tr['crater_depth'] * 1e6:g} um after {tr['total_time']:.1f} s",
             f"# sputter rates: LLZO {tr['rates'][0] * 1e9:g} nm/s, NMC "
             f"{tr['rates'][1] * 1e9:g} nm/s",
             "Sputter time (s),Co,La,sigma_Co,sigma_La"]
    for i in range(len(p)):
        lines.append(f"{p.x[i]:.3f},{p.c('Co')[i]:.6g},{p.c('La')[i]:.6g},"
                     f"{p.sigma['Co'][i]:.4g},{p.sigma['La'][i]:.4g}")
    path = Path(path)
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
