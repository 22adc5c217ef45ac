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

from .bvalues import GAMMA, b_value, diffusion_time, gamma
from .data import PFGData, RelaxationData
from .models import isotropic, lognormal_distribution, multi_exponential, powder_anisotropic
from .pfg import PFGComparison, PFGFit, compare_pfg_models, fit_pfg
from .recovery import fit_inversion_recovery, fit_saturation_recovery
from .relaxation import (
    BPPFit,
    bpp_rate,
    einstein_smoluchowski,
    fit_bpp,
    flank_activation_energies,
    larmor_frequency,
)

__all__ = [
    "GAMMA", "b_value", "diffusion_time", "gamma", "PFGData", "RelaxationData", "isotropic",
    "lognormal_distribution", "multi_exponential", "powder_anisotropic", "PFGComparison",
    "PFGFit", "compare_pfg_models", "fit_pfg", "fit_inversion_recovery",
    "fit_saturation_recovery", "BPPFit", "bpp_rate", "einstein_smoluchowski", "fit_bpp",
    "flank_activation_energies", "larmor_frequency",
]
