"""Cross-technique transport physics: Arrhenius, Nernst-Einstein, Haven ratio, effective media."""

from .._lazy import lazy_exports

_EXPORTS = {
    ".arrhenius": [
        "ArrheniusFit",
        "ModelComparison",
        "compare_arrhenius_models",
        "fit_arrhenius",
        "fit_two_segment",
        "fit_vtf",
    ],
    ".conductivity": [
        "area_specific_resistance",
        "brick_layer_gb_conductivity",
        "conductivity",
        "sigma_T_arrhenius",
        "total_conductivity",
    ],
    ".effective_medium": [
        "gb_term_from_effective",
        "hashin_shtrikman_bounds",
        "maxwell_garnett",
        "parallel_mixture",
        "series_diffusivity",
        "series_mixture",
    ],
    ".io": ["read_arrhenius_table"],
    ".nernst_einstein": [
        "Estimate",
        "carrier_density",
        "conductivity_diffusivity",
        "conductivity_from_diffusivity",
        "haven_ratio",
        "haven_ratio_from_fits",
        "haven_ratio_from_prefactors",
        "molar_mass",
    ],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "area_specific_resistance",
    "brick_layer_gb_conductivity",
    "conductivity",
    "sigma_T_arrhenius",
    "total_conductivity",
    "ArrheniusFit",
    "ModelComparison",
    "compare_arrhenius_models",
    "fit_arrhenius",
    "fit_two_segment",
    "fit_vtf",
    "gb_term_from_effective",
    "hashin_shtrikman_bounds",
    "maxwell_garnett",
    "parallel_mixture",
    "series_diffusivity",
    "series_mixture",
    "read_arrhenius_table",
    "Estimate",
    "carrier_density",
    "conductivity_diffusivity",
    "conductivity_from_diffusivity",
    "haven_ratio",
    "haven_ratio_from_fits",
    "haven_ratio_from_prefactors",
    "molar_mass",
]
