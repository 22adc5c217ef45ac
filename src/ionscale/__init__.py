"""ionscale: ion-transport numbers for solid electrolytes that hold up.

Tracer diffusion from isotope-exchange SIMS, PFG-NMR diffusion and relaxation, impedance
spectroscopy, conductivity, Arrhenius and Haven analysis, and 3D microstructure metrics, with
uncertainties, provenance, a results database and reports.

``ionscale.impedance`` and ``ionscale.microstructure`` are imported on first use (the latter
loads numba and scikit-image, which take a second or two).
"""

__version__ = "0.1.0"

from . import nmr, tracer, transport  # noqa: E402
from .errors import FitError, FitWarning, InputError, IonscaleError  # noqa: E402
from .fitting import FitResult, fit_curve, fit_residuals  # noqa: E402
from .results import Provenance, Result, Value  # noqa: E402
from .units import format_value, parse_quantity  # noqa: E402

__all__ = [
    "__version__", "FitError", "FitWarning", "InputError", "IonscaleError", "FitResult",
    "fit_curve", "fit_residuals", "Provenance", "Result", "Value", "format_value",
    "parse_quantity", "nmr", "tracer", "transport", "impedance", "microstructure",
]


def __getattr__(name: str):
    if name in ("impedance", "microstructure"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ionscale' has no attribute {name!r}")
