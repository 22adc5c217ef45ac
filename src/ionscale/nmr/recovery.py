"""T1 from a single relaxation curve: inversion- and saturation-recovery fits.

The curves come from :func:`ionscale.io.nmr.read_topspin_relaxation` (TopSpin's T1/T2 module
export) or from arrays; the T1(T) series they give is what :mod:`ionscale.nmr.relaxation` fits
with BPP.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..fitting import fit_curve
from ..io.nmr import RelaxationCurve
from ..results import Provenance, Result, new_axes, values_from_fit


@dataclass(frozen=True, kw_only=True)
class RecoveryFit(Result):
    """A T1 from an inversion- or saturation-recovery curve.

    Values: ``T1`` (s), ``I0`` (the recovered intensity) and ``alpha`` (inversion or
    saturation efficiency: 1 for a perfect pulse).

    Attributes
    ----------
    tau : ndarray
        Delays, s.
    intensity : ndarray
        Data.
    sequence : str
        ``"inversion"`` (I = I0 (1 − 2α e^(−τ/T1))) or ``"saturation"``
        (I = I0 (1 − α e^(−τ/T1))).
    """

    tau: np.ndarray
    intensity: np.ndarray
    sequence: str = "inversion"

    def predict(self, tau) -> np.ndarray:
        """Model intensity at delays ``tau`` (s)."""
        model = _ir_model if self.sequence == "inversion" else _sr_model
        return model(np.asarray(tau, dtype=float), self["I0"].value, self["T1"].value,
                     self["alpha"].value)

    def plot(self, ax=None):
        """Data and fitted curve against τ (s, log axis)."""
        ax = new_axes(ax)
        ax.plot(self.tau, self.intensity, "o", label="data")
        pos = self.tau[self.tau > 0]
        lo = pos.min() if pos.size else 1e-3
        grid = np.geomspace(lo / 2, self.tau.max() * 1.5, 200)
        ax.plot(grid, self.predict(grid), "-", label=str(self["T1"]))
        ax.set_xscale("log")
        ax.set_xlabel("τ (s)")
        ax.set_ylabel("intensity")
        ax.legend()
        ax.set_title(self.title)
        return ax


def _ir_model(tau, I0, T1, alpha):
    return I0 * (1.0 - 2.0 * alpha * np.exp(-tau / T1))


def _sr_model(tau, I0, T1, alpha):
    return I0 * (1.0 - alpha * np.exp(-tau / T1))


def _recovery_fit(curve, intensity, sigma, alpha, sequence: str, monte_carlo: int,
                  seed) -> RecoveryFit:
    if isinstance(curve, RelaxationCurve):
        tau = np.asarray(curve.tau, dtype=float)
        y = np.asarray(curve.intensity, dtype=float)
        source = curve.source
    else:
        if intensity is None:
            raise InputError("intensity missing", field="intensity",
                             expected="a RelaxationCurve, or tau and intensity arrays")
        tau = np.asarray(curve, dtype=float)
        y = np.asarray(intensity, dtype=float)
        source = None
    if tau.shape != y.shape or tau.ndim != 1:
        raise InputError(f"tau {tau.shape} and intensity {y.shape} differ", field="intensity",
                         expected="1-D arrays of the same length")
    n_free = 3 if alpha is None else 2
    if tau.size <= n_free:
        raise InputError(f"{tau.size} points for {n_free} parameters", field="tau",
                         expected=f"more than {n_free} delays")
    if not (np.all(np.isfinite(tau)) and np.all(np.isfinite(y))) or np.any(tau < 0):
        raise InputError("non-finite intensity or negative delay", field="tau",
                         expected="finite data and delays >= 0")
    scale = 2.0 if sequence == "inversion" else 1.0
    model = _ir_model if sequence == "inversion" else _sr_model
    # start: for T1 on a log grid the model is linear in (I0, I0·α); keep the best
    pos = tau[tau > 0]
    lo = pos.min() / 10 if pos.size else 1e-6
    grid = np.geomspace(lo, max(tau.max(), lo) * 10, 240)
    best = None
    for t1 in grid:
        A = np.column_stack([np.ones_like(tau), np.exp(-tau / t1)])
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        r = float(np.sum((A @ coef - y) ** 2))
        if best is None or r < best[0]:
            best = (r, t1, coef)
    _, t1_0, (a0, c0) = best
    i0 = a0 if a0 != 0 else (np.max(np.abs(y)) or 1.0)
    alpha0 = float(np.clip(-c0 / (scale * i0), 0.05, 1.45)) if alpha is None else float(alpha)
    p0 = {"I0": float(i0), "T1": float(t1_0), "alpha": alpha0}
    fit = fit_curve(model, tau, y, p0, sigma=sigma, bounds={"T1": (0.0, np.inf),
                                                            "alpha": (0.0, 1.5)},
                    fixed=() if alpha is None else ("alpha",), log=("T1",),
                    monte_carlo=monte_carlo, seed=seed)
    values = values_from_fit(fit, {"I0": "", "T1": "s", "alpha": ""},
                             {"T1": "T1", "I0": "I0", "alpha": "α"},
                             names=("T1", "I0", "alpha"))
    files = [source] if source is not None and os.path.isfile(source) else []
    prov = Provenance.build(f"nmr.fit_{sequence}_recovery", files,
                            {"alpha": "free" if alpha is None else float(alpha),
                             "model": "I0*(1-2*alpha*exp(-tau/T1))" if sequence == "inversion"
                             else "I0*(1-alpha*exp(-tau/T1))", "monte_carlo": monte_carlo})
    title = f"T1 from {sequence} recovery"
    if isinstance(curve, RelaxationCurve):
        title += f" (peak {curve.peak})"
    return RecoveryFit(values=values, provenance=prov, fit=fit, title=title, tau=tau,
                       intensity=y, sequence=sequence)


def fit_inversion_recovery(
    curve: RelaxationCurve | Sequence[float] | np.ndarray,
    intensity: Sequence[float] | np.ndarray | None = None,
    *,
    sigma: Sequence[float] | np.ndarray | None = None,
    alpha: float | None = None,
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> RecoveryFit:
    """Fit I(τ) = I0 (1 − 2α exp(−τ/T1)) to an inversion-recovery curve.

    α = 1 is a perfect inversion; it is fitted (0 ≤ α ≤ 1.5) unless given, which absorbs an
    imperfect 180° pulse (TopSpin's ``I[t]=I[0]+P*exp(-t/T1)`` is the same model with
    P = −2αI0).

    Parameters
    ----------
    curve : RelaxationCurve or array_like
        A curve from :func:`read_topspin_relaxation`, or the delays τ in s.
    intensity : array_like, optional
        Intensities when ``curve`` is τ.
    sigma : array_like, optional
        One-σ errors of the intensities (unit weights, covariance scaled by χ²_red, if
        omitted).
    alpha : float, optional
        Hold α at this value.
    monte_carlo, seed
        Monte-Carlo errors, as in :func:`ionscale.fitting.fit_curve`.

    Returns
    -------
    RecoveryFit
        ``T1`` (s) ± standard error, ``I0``, ``alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> tau = np.geomspace(1e-3, 10, 12)
    >>> res = fit_inversion_recovery(tau, 5 * (1 - 1.9 * np.exp(-tau / 0.8)))
    >>> round(res["T1"].value, 6), round(res["alpha"].value, 6)
    (0.8, 0.95)
    """
    return _recovery_fit(curve, intensity, sigma, alpha, "inversion", monte_carlo, seed)


def fit_saturation_recovery(
    curve: RelaxationCurve | Sequence[float] | np.ndarray,
    intensity: Sequence[float] | np.ndarray | None = None,
    *,
    sigma: Sequence[float] | np.ndarray | None = None,
    alpha: float | None = None,
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> RecoveryFit:
    """Fit I(τ) = I0 (1 − α exp(−τ/T1)) to a saturation-recovery curve.

    α = 1 is complete saturation; it is fitted (0 ≤ α ≤ 1.5) unless given. Arguments as in
    :func:`fit_inversion_recovery`.

    Returns
    -------
    RecoveryFit
        ``T1`` (s) ± standard error, ``I0``, ``alpha``.
    """
    return _recovery_fit(curve, intensity, sigma, alpha, "saturation", monte_carlo, seed)
