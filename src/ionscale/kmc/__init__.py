"""Lattice kinetic Monte Carlo of ion transport and interdiffusion.

A :class:`Model` (a :class:`Lattice`, :class:`Species` with Arrhenius hop rates
``ν exp(-(E_KRA + ΔE/2)/kT)``, site energies, nearest-neighbour interactions, :class:`Exchange`
events, periodic / closed / :class:`Reservoir` boundaries, an initial :class:`Couple`) is run by
the residence-time (BKL) algorithm in a numba kernel (:func:`simulate`); :func:`analyse` turns
the unwrapped trajectories into D* (total and per direction), D_σ (centre of mass), the
correlation factors f and f_I, the Haven ratio and jump statistics, each with a standard error
from a generalised least-squares MSD fit whose covariance is measured over blocks and replicas
(:mod:`ionscale.kmc.msd`). Couples give :class:`ConcentrationProfiles`; :func:`arrhenius_series`
gives per-temperature results for :func:`ionscale.transport.fit_arrhenius`.

* :mod:`~ionscale.kmc.lattice`: built-in chain, square, triangular, honeycomb, sc, bcc, fcc,
  diamond lattices and any periodic lattice from a cell and a basis;
* :mod:`~ionscale.kmc.model`: species, rates, energies, boundaries, initial state, memory
  estimate;
* :mod:`~ionscale.kmc.simulate`: the run (replicas, sampling, progress, acceleration of
  flickering events);
* :mod:`~ionscale.kmc.analysis`: transport coefficients, single-vacancy correlation factors,
  temperature series;
* :mod:`~ionscale.kmc.cif`: mobile-ion sublattices from CIF files;
* :mod:`~ionscale.kmc.io`: model TOML files (``ionscale kmc run model.toml``), demo model.

Units: SI inside (m, s, J, K); energies and rates may be typed with units (``"0.3 eV"``).
"""

from .._lazy import lazy_exports

_EXPORTS = {
    ".lattice": ["BUILTIN_LATTICES", "Lattice", "builtin_lattice"],
    ".model": ["Couple", "Exchange", "Model", "Reservoir", "Species", "estimate_memory"],
    ".simulate": ["Simulation", "simulate"],
    ".msd": ["MSDFit", "fit_msd"],
    ".results": ["ConcentrationProfiles", "KMCResult", "KMCSeries"],
    ".analysis": ["SINGLE_VACANCY_F", "analyse", "arrhenius_series", "correlation_factor",
                  "lattice_gas_correlation_factor", "run"],
    ".couple": ["ab_couple", "ab_couple_profiles"],
    ".io": ["demo_model_toml", "read_model", "write_demo_model"],
    ".cif": ["CifSites", "lattice_from_cif", "read_cif_sites"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
