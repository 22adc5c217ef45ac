"""ionscale: ion-transport numbers for solid electrolytes that hold up.

Tracer diffusion from isotope-exchange SIMS, PFG-NMR diffusion and relaxation, impedance
spectroscopy, conductivity, Arrhenius and Haven analysis, and 3D microstructure metrics, with
uncertainties, provenance, a results database and reports.

Every technique package (``ionscale.tracer``, ``ionscale.impedance``...) is imported on
first use: ``import ionscale`` alone is fast.
"""

__version__ = "0.1.0"

from ._lazy import lazy_exports  # noqa: E402

#: Heavy parts (numba, scipy.stats, scikit-image) load on first use, so that ``ionscale --help``
#: and a one-technique command start at once.
_EXPORTS = {
    ".errors": ["FitError", "FitWarning", "InputError", "IonscaleError"],
    ".fitting": ["FitResult", "fit_curve", "fit_residuals"],
    ".results": ["Provenance", "Result", "Value"],
    ".status": ["Diagnostic"],
    ".units": ["format_value", "parse_quantity"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "__version__", "Diagnostic", "FitError", "FitWarning", "InputError", "IonscaleError",
    "FitResult", "fit_curve", "fit_residuals", "Provenance", "Result", "Value", "format_value",
    "parse_quantity", "nmr", "tracer", "transport", "impedance", "microstructure", "cycling",
]
