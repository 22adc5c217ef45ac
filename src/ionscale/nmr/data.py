"""Data objects of the NMR technique: PFG echo decays and relaxation-time series.

Everything is SI: b in s m⁻², gradients in T m⁻¹, δ and Δ in s, temperatures in K, relaxation
times in s, frequencies in Hz.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PFGData:
    """A pulsed-field-gradient echo decay: signal against b (and the settings behind b).

    Attributes
    ----------
    b : ndarray
        Diffusion weighting b, s m⁻², non-negative, one per signal.
    signal : ndarray
        Echo intensity (any scale; S0 is fitted or the data are normalised).
    sigma : ndarray or None
        One-σ error of ``signal`` (None: unknown, unit weights).
    gradient : ndarray or None
        Gradient strength g of each point, T m⁻¹, when known.
    delta : float or None
        Gradient pulse length δ, s.
    Delta : float or None
        Diffusion time Δ (pulse separation), s.
    nucleus : str or None
        ``"7Li"``, ``"1H"``...
    temperature : float or None
        K.
    source : str or None
        File or directory read.
    metadata : dict
        Sequence name, shape factors, acquisition parameters...; ``metadata["assumptions"]``
        lists choices a reader had to make without the data saying (each becomes a
        ``fixed-choice`` diagnostic of the fit).
    b_formula : str or None
        How b was obtained: the formula, gradient shape, sequence, δ, Δ, τ and where each came
        from (shown with every fit of these data).
    """

    b: np.ndarray
    signal: np.ndarray
    sigma: np.ndarray | None = None
    gradient: np.ndarray | None = None
    delta: float | None = None
    Delta: float | None = None
    nucleus: str | None = None
    temperature: float | None = None
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    b_formula: str | None = None

    def __len__(self) -> int:
        return int(self.b.size)


@dataclass(frozen=True)
class RelaxationData:
    """Relaxation times (T1, T1ρ or T2) against temperature.

    Attributes
    ----------
    T : ndarray
        Temperature, K.
    time : ndarray
        Relaxation time, s (T1, T1ρ or T2 at each temperature).
    time_error : ndarray or None
        One-σ error of ``time``, s.
    kind : str
        ``"T1"``, ``"T1rho"`` or ``"T2"``.
    frequency : float or None
        Larmor frequency ω0/2π for T1 (or the spin-lock frequency ω1/2π for T1ρ), Hz.
    nucleus : str or None
    source : str or None
    metadata : dict
    """

    T: np.ndarray
    time: np.ndarray
    time_error: np.ndarray | None = None
    kind: str = "T1"
    frequency: float | None = None
    nucleus: str | None = None
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.T.size)
