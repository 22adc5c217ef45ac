"""Synthetic impedance spectra from equivalent circuits, for demos, tests and benchmarks.

:func:`simulate_spectrum` evaluates any circuit string and adds Gaussian noise to Z' and Z''
(σ recorded in ``spectrum.sigma``); :func:`temperature_series` builds the spectra of a
solid-electrolyte pellet (bulk arc, grain-boundary arc, blocking electrodes) whose bulk and
grain-boundary resistances follow Arrhenius laws. The true parameters go into
``spectrum.metadata["true_parameters"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..impedance.circuits import as_circuit
from ..impedance.data import Spectrum, spectrum_from_arrays
from ..units import BOLTZMANN_EV

__all__ = ["PELLET", "default_frequencies", "simulate_spectrum", "temperature_series"]

#: Defaults of :func:`temperature_series`: a moderately conducting pellet (values at T_ref).
PELLET = {
    "R_bulk": 1e5,  # ohm at T_ref
    "R_gb": 3e5,  # ohm at T_ref
    "Ea_bulk": 0.35,  # eV
    "Ea_gb": 0.45,  # eV
    "C_bulk": 5e-12,  # F
    "C_gb": 1e-9,  # F
    "alpha_bulk": 0.95,
    "alpha_gb": 0.85,
    "Q_electrode": 1e-6,  # F s^(α-1)
    "alpha_electrode": 0.8,
    "T_ref": 298.15,  # K
}


def default_frequencies(fmax: float = 1e6, fmin: float = 0.1, per_decade: int = 10
                        ) -> np.ndarray:
    """Log-spaced frequencies, Hz, from ``fmax`` down to ``fmin`` (as a sweep runs)."""
    n = int(round(per_decade * np.log10(fmax / fmin))) + 1
    return np.logspace(np.log10(fmax), np.log10(fmin), n)


def simulate_spectrum(
    circuit,
    params,
    frequency=None,
    *,
    noise: float = 0.01,
    noise_model: str = "proportional",
    seed: int | np.random.Generator | None = None,
    temperature: float | None = None,
) -> Spectrum:
    """Impedance spectrum of a circuit with Gaussian noise.

    Parameters
    ----------
    circuit : Circuit or str
        E.g. ``"R0-p(R1,CPE1)"``.
    params : mapping or sequence
        Every parameter, SI.
    frequency : array_like, optional
        Hz; default 1 MHz to 0.1 Hz, 10 points per decade.
    noise : float
        ``"proportional"``: relative σ of Z' and Z'' (fraction of |Z|); ``"absolute"``: σ in
        ohm. 0 gives an exact spectrum (``sigma`` None).
    noise_model : {"proportional", "absolute"}
    seed : int or Generator, optional
    temperature : float, optional
        K, stored in the spectrum.

    Returns
    -------
    Spectrum
        Sorted by increasing frequency, with ``sigma`` and
        ``metadata["true_parameters"]``.

    Examples
    --------
    >>> s = simulate_spectrum("R0-p(R1,C1)", {"R0": 10, "R1": 100, "C1": 1e-6}, noise=0)
    >>> round(float(s.impedance.real[0]), 3)  # 0.1 Hz: R0 + R1
    110.0
    """
    c = as_circuit(circuit)
    if noise_model not in ("proportional", "absolute"):
        raise InputError(f"noise_model = {noise_model!r}", field="noise_model",
                         expected="'proportional' or 'absolute'")
    if not np.isfinite(noise) or noise < 0:
        raise InputError(f"noise = {noise!r}", field="noise", expected="a number >= 0")
    f = default_frequencies() if frequency is None else np.asarray(frequency, dtype=float)
    p = c.parameter_array(params)
    z = c.impedance(f, p)
    sigma = None
    if noise > 0:
        rng = np.random.default_rng(seed)
        sigma = noise * np.abs(z) if noise_model == "proportional" else np.full(f.size, noise)
        z = z + sigma * (rng.normal(size=f.size) + 1j * rng.normal(size=f.size))
    meta = {"circuit": c.text, "true_parameters": dict(zip(c.parameter_names, p.tolist(),
                                                            strict=True)),
            "noise": float(noise), "noise_model": noise_model, "synthetic": True}
    return spectrum_from_arrays(f, z, sigma=sigma, temperature=temperature, metadata=meta)


def _arrhenius_resistance(R_ref: float, Ea_eV: float, T, T_ref: float):
    """R(T) for σT = A exp(−Ea/kT): ``R_ref (T/T_ref) exp(Ea/k (1/T − 1/T_ref))``."""
    T = np.asarray(T, dtype=float)
    return R_ref * (T / T_ref) * np.exp(Ea_eV / BOLTZMANN_EV * (1.0 / T - 1.0 / T_ref))


def temperature_series(
    temperatures: Sequence[float] | None = None,
    *,
    frequency=None,
    noise: float = 0.005,
    noise_model: str = "proportional",
    seed: int | np.random.Generator | None = None,
    parameters: Mapping[str, float] | None = None,
) -> list[Spectrum]:
    """Spectra of a solid-electrolyte pellet at several temperatures.

    Circuit ``p(R1,CPE1)-p(R2,CPE2)-CPE3``: bulk (R1‖CPE1), grain boundaries (R2‖CPE2) and the
    blocking electrodes (CPE3). Bulk and grain-boundary resistances follow
    ``R(T) = R_ref (T/T_ref) exp(Ea/k (1/T − 1/T_ref))`` (i.e. σT Arrhenius); their CPEs keep
    the effective capacitances ``C_bulk``, ``C_gb`` fixed (``Q = C^α R^(α−1)``).

    Parameters
    ----------
    temperatures : sequence of float, optional
        K; default −20 to 50 °C in 10 K steps.
    frequency : array_like, optional
        Hz; default 1 MHz to 0.1 Hz, 10 points per decade.
    noise, noise_model, seed
        As in :func:`simulate_spectrum`.
    parameters : mapping, optional
        Overrides of :data:`PELLET` (R in ohm at ``T_ref``, Ea in eV, C in F, T_ref in K).

    Returns
    -------
    list of Spectrum
        One per temperature, with ``temperature`` set and the true circuit parameters in
        ``metadata["true_parameters"]``.

    Examples
    --------
    >>> spectra = temperature_series([280.0, 300.0], seed=0)
    >>> [round(s.temperature) for s in spectra]
    [280, 300]
    """
    par = dict(PELLET)
    if parameters:
        unknown = sorted(set(parameters) - set(par))
        if unknown:
            raise InputError(f"unknown parameter(s) {unknown}", field="parameters",
                             expected=f"names among {', '.join(par)}")
        par.update({k: float(v) for k, v in parameters.items()})
    if temperatures is None:
        temperatures = np.arange(253.15, 324.0, 10.0)
    T = np.asarray(temperatures, dtype=float).ravel()
    if T.size == 0 or not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise InputError("temperatures must be finite and positive", field="temperatures",
                         expected="kelvin > 0")
    rng = np.random.default_rng(seed)
    circuit = as_circuit("p(R1,CPE1)-p(R2,CPE2)-CPE3")
    out = []
    for t in T:
        Rb = float(_arrhenius_resistance(par["R_bulk"], par["Ea_bulk"], t, par["T_ref"]))
        Rg = float(_arrhenius_resistance(par["R_gb"], par["Ea_gb"], t, par["T_ref"]))
        ab, ag = par["alpha_bulk"], par["alpha_gb"]
        p = {
            "R1": Rb, "CPE1_Q": par["C_bulk"] ** ab * Rb ** (ab - 1), "CPE1_alpha": ab,
            "R2": Rg, "CPE2_Q": par["C_gb"] ** ag * Rg ** (ag - 1), "CPE2_alpha": ag,
            "CPE3_Q": par["Q_electrode"], "CPE3_alpha": par["alpha_electrode"],
        }
        out.append(simulate_spectrum(circuit, p, frequency, noise=noise, noise_model=noise_model,
                                     seed=rng, temperature=float(t)))
    return out
