"""Interdiffusion across interfaces: D̃(C) from concentration profiles.

* :mod:`~ionscale.interdiffusion.data`: :class:`DiffusionProfile` (positions or sputter times,
  one concentration per species, σ, anneal, probe resolution);
* :mod:`~ionscale.interdiffusion.depth`: sputter time → depth (crater depth, rates per layer
  blended by composition), normalisation, interface position (50 %, steepest point);
* :mod:`~ionscale.interdiffusion.resolution`: Gaussian probe broadening,
  ``4 D_app t = 4 D̃ t + 2 s²``;
* :mod:`~ionscale.interdiffusion.smoothing`: monotone P-spline or Savitzky-Golay, chosen by
  cross-validation, per phase;
* :mod:`~ionscale.interdiffusion.matano`: Matano plane, Boltzmann-Matano, Sauer-Freise, Hall,
  Monte-Carlo bands and diagnostics;
* :mod:`~ionscale.interdiffusion.solver`: implicit conservative finite-volume solver of
  ``∂C/∂t = ∂/∂x(D̃(C) ∂C/∂x)`` with phases, closed/fixed/flux/exchange/thin-film boundaries;
* :mod:`~ionscale.interdiffusion.forward`: D̃(C) as a spline in ln D̃ fitted through the
  solver (forward-simulation analysis) with a confidence band;
* :mod:`~ionscale.interdiffusion.series`: D̃ at fixed C over several anneals (Arrhenius
  through :mod:`ionscale.transport`), profile width ∝ √t.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "..io.interdiffusion": ["pydiffusion_diffusivity", "read_profile", "read_pydiffusion"],
    ".data": ["DiffusionProfile"],
    ".depth": ["interface_position", "normalise", "plateaus", "to_depth"],
    ".diffusivity": ["LogSplineDiffusivity", "TabulatedDiffusivity"],
    ".forward": [
        "ForwardFit",
        "SimulationResult",
        "detect_phases",
        "fit_diffusivity",
        "simulate_profile",
    ],
    ".matano": [
        "DirectResult",
        "HallResult",
        "boltzmann_matano",
        "hall_method",
        "matano_plane",
        "sauer_freise",
    ],
    ".resolution": ["apparent_diffusivity", "broaden", "intrinsic_diffusivity"],
    ".series": [
        "DiffusivitySeries",
        "GrowthResult",
        "diffusivity_at",
        "growth_check",
        "profile_width",
    ],
    ".smoothing": ["smooth_profile", "smooth_savgol", "smooth_spline"],
    ".solver": ["Boundary", "Solution", "reconstruct", "simulate_couple", "solve"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "DiffusionProfile",
    "read_profile",
    "read_pydiffusion",
    "pydiffusion_diffusivity",
    "to_depth",
    "normalise",
    "plateaus",
    "interface_position",
    "LogSplineDiffusivity",
    "TabulatedDiffusivity",
    "fit_diffusivity",
    "ForwardFit",
    "simulate_profile",
    "SimulationResult",
    "detect_phases",
    "matano_plane",
    "boltzmann_matano",
    "sauer_freise",
    "hall_method",
    "DirectResult",
    "HallResult",
    "broaden",
    "apparent_diffusivity",
    "intrinsic_diffusivity",
    "diffusivity_at",
    "DiffusivitySeries",
    "growth_check",
    "GrowthResult",
    "profile_width",
    "smooth_profile",
    "smooth_spline",
    "smooth_savgol",
    "solve",
    "simulate_couple",
    "Boundary",
    "Solution",
    "reconstruct",
]
