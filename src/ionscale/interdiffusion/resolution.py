"""Probe resolution: Gaussian instrument broadening of a measured profile.

A probe (EPMA/EDS interaction volume, SIMS atomic mixing and roughness) measures the true
profile convolved with a Gaussian of standard deviation ``s``. For an erfc profile of
``D̃ t`` the convolution is again an erfc, with

    4 D_app t = 4 D̃ t + 2 s²,   i.e.   D_app = D̃ + s² / (2t),

so a width-based D̃ is biased high by ``s²/(2t)`` and a profile narrower than a few ``s``
measures the probe, not diffusion. :func:`apparent_diffusivity` and
:func:`intrinsic_diffusivity` apply the identity; the forward fit
(:func:`ionscale.interdiffusion.fit_diffusivity`) removes the broadening of any profile by
convolving the simulated profile with the same Gaussian before comparing it with the data.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..results import Diagnostic, Value

__all__ = ["broaden", "apparent_diffusivity", "intrinsic_diffusivity"]


def broaden(x, c, s: float) -> np.ndarray:
    """Convolve a profile with a normalised Gaussian of standard deviation ``s`` (m).

    Beyond the ends the profile is continued with its end values (the plateaus), so the
    convolution neither loses nor invents solute at the edges of a couple.

    Parameters
    ----------
    x : array_like
        Positions, m, increasing (uniform spacing is fastest; any spacing works).
    c : array_like
        Values at ``x``.
    s : float
        Standard deviation of the probe, m (0 returns ``c``).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 2001)
    >>> y = broaden(x, (x > 0).astype(float), 0.1)
    >>> round(float(np.interp(0.1, x, y)), 2)  # Φ(1) = 0.841 of a unit step
    0.84
    """
    x = np.asarray(x, float)
    c = np.asarray(c, float)
    s = float(s)
    if not (math.isfinite(s) and s >= 0):
        raise InputError(f"resolution s = {s!r}", field="resolution",
                         expected="a non-negative standard deviation in m")
    if s == 0 or x.size < 2:
        return c.copy()
    dx = np.diff(x)
    if np.allclose(dx, dx[0], rtol=1e-6, atol=0):
        from scipy.ndimage import gaussian_filter1d

        return gaussian_filter1d(c, s / dx[0], mode="nearest", truncate=6.0)
    # non-uniform: exact convolution of the piecewise-linear profile, sampled finely
    fine = np.arange(x[0] - 6 * s, x[-1] + 6 * s + 0.5 * min(dx.min(), s / 4),
                     min(dx.min(), s / 4))
    from scipy.ndimage import gaussian_filter1d

    cf = gaussian_filter1d(np.interp(fine, x, c), s / (fine[1] - fine[0]), mode="nearest",
                           truncate=6.0)
    return np.interp(x, fine, cf)


def apparent_diffusivity(D: float, time: float, s: float) -> float:
    """D_app = D̃ + s²/(2t) of an erfc profile measured with a Gaussian probe of SD ``s``.

    Parameters
    ----------
    D : float
        True interdiffusion coefficient, m² s⁻¹.
    time : float
        Anneal time, s.
    s : float
        Probe standard deviation, m.

    Examples
    --------
    >>> apparent_diffusivity(1e-16, 3600.0, 20e-9) > 1e-16
    True
    """
    if not (time > 0):
        raise InputError(f"time = {time!r}", field="time", expected="a positive time (s)")
    return float(D) + float(s) ** 2 / (2.0 * float(time))


def intrinsic_diffusivity(D_app: float, time: float, s: float, *, D_app_error: float = math.nan,
                          s_error: float = 0.0) -> tuple[Value, tuple[Diagnostic, ...]]:
    """Remove the probe broadening from an apparent (erfc-width) diffusivity.

    ``D̃ = D_app − s²/(2t)`` with error ``√(σ_app² + (s σ_s / t)²)``; a result at or below zero,
    or a correction larger than half of ``D_app``, comes with an ``unmeasurable`` diagnostic.

    Returns
    -------
    (Value, tuple of Diagnostic)
    """
    if not (time > 0):
        raise InputError(f"time = {time!r}", field="time", expected="a positive time (s)")
    corr = float(s) ** 2 / (2.0 * float(time))
    d = float(D_app) - corr
    err = math.hypot(D_app_error, float(s) * float(s_error) / float(time)) \
        if math.isfinite(D_app_error) else math.nan
    diags = []
    if d <= 0:
        diags.append(Diagnostic("unmeasurable", f"the probe broadening s²/(2t) = {corr:.3g} "
                                f"m² s⁻¹ is as large as D_app = {D_app:.3g} m² s⁻¹: the "
                                "profile measures the probe, not diffusion", fields=("D",)))
        d = math.nan
    elif corr > 0.5 * D_app:
        diags.append(Diagnostic("unmeasurable", f"the probe correction s²/(2t) is "
                                f"{100 * corr / D_app:.0f} % of D_app; D̃ depends on s",
                                fields=("D",)))
    return Value("D", d, err, "m^2/s", "D̃"), tuple(diags)
