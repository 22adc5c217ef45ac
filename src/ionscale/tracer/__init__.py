"""Isotope-exchange tracer diffusion read by SIMS.

* :mod:`~ionscale.tracer.fraction`: isotope fractions from counts, normalisation, binning;
* :mod:`~ionscale.tracer.profiles`: erfc, thin-film and Crank surface-exchange fits;
* :mod:`~ionscale.tracer.numerical`: 1D finite-volume model, layered grains;
* :mod:`~ionscale.tracer.evolution`: D from a measured profile's evolution (joint fit);
* :mod:`~ionscale.tracer.lines`: line profiles from maps in physical coordinates;
* :mod:`~ionscale.tracer.grain_boundary`: grain-boundary step analysis;
* :mod:`~ionscale.tracer.regimes`: Harrison regimes and the Le Claire triple product.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "..io.sims": ["read_map", "read_profile"],
    ".data": ["CountMap", "FractionMap", "Profile"],
    ".evolution": ["EvolutionFit", "fit_evolution"],
    ".fraction": [
        "NATURAL_ABUNDANCE",
        "FractionMapResult",
        "bin_counts",
        "fraction_map",
        "fraction_profile",
        "isotope_fraction",
        "normalise",
        "plot_fraction_map",
    ],
    ".grain_boundary": [
        "BoundaryBatch",
        "BoundaryResult",
        "analyse_boundaries",
        "analyse_boundary",
        "gb_diffusivity_from_step",
    ],
    ".lines": ["LineProfile", "extract_line"],
    ".numerical": [
        "Grid",
        "layered_diffusivity",
        "series_diffusivity",
        "simulate_profile",
        "solve",
    ],
    ".profiles": [
        "ProfileFit",
        "constant_source",
        "diffusion_length",
        "fit_profile",
        "surface_exchange",
        "thin_film",
    ],
    ".regimes": ["harrison_regime", "le_claire_triple_product"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "read_map",
    "read_profile",
    "CountMap",
    "FractionMap",
    "Profile",
    "NATURAL_ABUNDANCE",
    "FractionMapResult",
    "bin_counts",
    "fraction_map",
    "fraction_profile",
    "isotope_fraction",
    "normalise",
    "plot_fraction_map",
    "BoundaryBatch",
    "BoundaryResult",
    "analyse_boundaries",
    "analyse_boundary",
    "extract_line",
    "LineProfile",
    "gb_diffusivity_from_step",
    "EvolutionFit",
    "Grid",
    "fit_evolution",
    "layered_diffusivity",
    "series_diffusivity",
    "simulate_profile",
    "solve",
    "ProfileFit",
    "constant_source",
    "diffusion_length",
    "fit_profile",
    "surface_exchange",
    "thin_film",
    "harrison_regime",
    "le_claire_triple_product",
]
