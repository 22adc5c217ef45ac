"""NMR diffusion and relaxation.

* :mod:`~ionscale.nmr.bvalues`: γ of nuclei, b-values of rectangular, shaped, stimulated and
  bipolar sequences (with a numerical reference);
* :mod:`~ionscale.nmr.models`: isotropic, multi-component, powder-averaged anisotropic and
  log-normal echo decays;
* :mod:`~ionscale.nmr.pfg`: fits of echo decays and iso/aniso model selection;
* :mod:`~ionscale.nmr.relaxation`: BPP (and asymmetric) fits of T1/T1ρ(T), Einstein-Smoluchowski;
* :mod:`~ionscale.nmr.recovery`: T1 from one inversion- or saturation-recovery curve.

Readers are in :mod:`ionscale.io.nmr`.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    ".bvalues": ["GAMMA", "b_value", "diffusion_time", "gamma"],
    ".data": ["PFGData", "RelaxationData"],
    ".models": ["isotropic", "lognormal_distribution", "multi_exponential", "powder_anisotropic"],
    ".pfg": ["PFGComparison", "PFGFit", "compare_pfg_models", "fit_pfg"],
    ".recovery": ["fit_inversion_recovery", "fit_saturation_recovery"],
    ".relaxation": [
        "BPPFit",
        "bpp_rate",
        "einstein_smoluchowski",
        "fit_bpp",
        "flank_activation_energies",
        "larmor_frequency",
    ],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "GAMMA",
    "b_value",
    "diffusion_time",
    "gamma",
    "PFGData",
    "RelaxationData",
    "isotropic",
    "lognormal_distribution",
    "multi_exponential",
    "powder_anisotropic",
    "PFGComparison",
    "PFGFit",
    "compare_pfg_models",
    "fit_pfg",
    "fit_inversion_recovery",
    "fit_saturation_recovery",
    "BPPFit",
    "bpp_rate",
    "einstein_smoluchowski",
    "fit_bpp",
    "flank_activation_energies",
    "larmor_frequency",
]
