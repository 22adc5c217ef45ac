"""Lithium plating and stripping in symmetric cells: polarisation, ASR, shorts, CCD.

A Li | solid electrolyte | Li cell is cycled galvanostatically at increasing current densities
(seed 004: 0.05 to 0.8 mA cm⁻², five cycles each, 30 min rests). This package turns the trace
into numbers:

* :mod:`~ionscale.cycling.data`: :class:`CyclingTrace` (time, current, voltage, step, cycle and
  half-cycle indices, electrode area; SI), built by the readers of :mod:`ionscale.io.cycling`
  (BioLogic ``.mpr``/``.mpt``, Gamry ``.DTA``, cycler CSV exports);
* :mod:`~ionscale.cycling.segments`: one rule that cuts any trace into constant-current
  half-cycles and rests;
* :mod:`~ionscale.cycling.steps`: per half-cycle j, duration, areal capacity, plateau
  polarisation (median of the last 20 %), initial overpotential, contact-loss tail;
* :mod:`~ionscale.cycling.ohmic`: polarisation against j: ASR ± error (through
  :mod:`ionscale.fitting`), linearity test, comparison with R·A from impedance;
* :mod:`~ionscale.cycling.shorts`: short detection (sudden drop, ohmic floor, noisy near-zero
  voltage = soft short), critical current density, last stable j, capacity to failure.

Units: SI inside (A m⁻², V, C m⁻², Ω m²); 1 mA cm⁻² = 10 A m⁻², 1 Ω cm² = 1e-4 Ω m²,
1 mAh cm⁻² = 36 000 C m⁻².
"""

from .._lazy import lazy_exports

_EXPORTS = {
    ".data": ["EC_LAB_DEFAULT_AREA", "CyclingTrace", "trace_from_arrays"],
    ".ohmic": ["ASRResult", "compare_with_impedance", "fit_asr", "impedance_asr"],
    ".segments": ["Segments", "segment_current"],
    ".shorts": [
        "SHORT_DEFAULTS",
        "CCDResult",
        "ShortFlags",
        "area_specific_resistance",
        "critical_current_density",
        "detect_shorts",
    ],
    ".steps": ["STEP_DEFAULTS", "StepAnalysis", "analyse_steps"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "ASRResult",
    "CCDResult",
    "CyclingTrace",
    "EC_LAB_DEFAULT_AREA",
    "SHORT_DEFAULTS",
    "STEP_DEFAULTS",
    "Segments",
    "ShortFlags",
    "StepAnalysis",
    "analyse_steps",
    "area_specific_resistance",
    "compare_with_impedance",
    "critical_current_density",
    "detect_shorts",
    "fit_asr",
    "impedance_asr",
    "segment_current",
    "trace_from_arrays",
]
