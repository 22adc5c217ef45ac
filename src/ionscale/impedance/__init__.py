"""Impedance spectroscopy of solid electrolytes.

* :mod:`~ionscale.impedance.elements`, :mod:`~ionscale.impedance.circuits`: circuit strings
  (``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3``) compiled once into a vectorised model with an analytic
  Jacobian;
* :mod:`~ionscale.impedance.fit`: complex non-linear least squares with automatic initial
  values; :mod:`~ionscale.impedance.series`: many spectra in one call (warm start, arc order,
  global parameters, processes);
* :mod:`~ionscale.impedance.kramers_kronig`: lin-KK with the μ criterion, drift across series;
* :mod:`~ionscale.impedance.drt`: Tikhonov/NNLS distribution of relaxation times and its peaks;
* :mod:`~ionscale.impedance.capacitance`: Brug capacitance, apex frequency, arc assignment;
* :mod:`~ionscale.impedance.pellet`: σ_bulk, σ_gb, brick layer, σT Arrhenius of a pellet;
* :mod:`~ionscale.impedance.evolution`: R(t) against √t (two segments), logarithmic model.

Readers are in :mod:`ionscale.io.eis`; conductivity from geometry in
:mod:`ionscale.transport.conductivity`.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    ".capacitance": ["arc_capacitances", "assign_arcs", "brug_capacitance", "peak_frequency"],
    ".circuits": ["Circuit"],
    ".data": ["Spectrum", "spectrum_from_arrays"],
    ".drt": ["DRTResult", "compute_drt"],
    ".elements": ["ELEMENTS", "element_table"],
    ".evolution": ["EvolutionResult", "resistance_evolution", "resistance_series"],
    ".fit": ["CircuitFit", "fit_circuit", "initial_guess", "initial_guesses"],
    ".kramers_kronig": ["KKResult", "KKSeries", "kk_series", "kramers_kronig"],
    ".pellet": [
        "Geometry",
        "PelletResult",
        "PelletSeries",
        "pellet_conductivities",
        "pellet_series",
    ],
    ".series": ["SeriesFit", "fit_series"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "Circuit",
    "CircuitFit",
    "DRTResult",
    "ELEMENTS",
    "EvolutionResult",
    "Geometry",
    "KKResult",
    "KKSeries",
    "PelletResult",
    "PelletSeries",
    "SeriesFit",
    "Spectrum",
    "arc_capacitances",
    "assign_arcs",
    "brug_capacitance",
    "compute_drt",
    "element_table",
    "fit_circuit",
    "fit_series",
    "initial_guess",
    "initial_guesses",
    "kk_series",
    "kramers_kronig",
    "peak_frequency",
    "pellet_conductivities",
    "pellet_series",
    "resistance_evolution",
    "resistance_series",
    "spectrum_from_arrays",
]
