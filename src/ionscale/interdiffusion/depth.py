"""Depth profiles: sputter time → depth, normalisation to the end plateaus, interface position.

Sputter rates differ between materials (NMC sputters faster than LLZO under the same beam), so
a constant rate distorts the depth scale across an interface. :func:`to_depth` integrates a rate
blended by composition: with a marker species normalised to ``Y = 0`` in the first layer and
``Y = 1`` in the second, ``ṙ(t) = r₁ (1 − Y) + r₂ Y`` and ``z(t) = ∫₀ᵗ ṙ dt′``. Given a crater
depth as well, the layer rates are taken as relative and scaled so that ``z(t_end)`` is the
crater depth.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import cumulative_trapezoid

from ..errors import InputError
from ..units import parse_quantity
from .data import DiffusionProfile
from .smoothing import smooth_profile

__all__ = ["to_depth", "normalise", "plateaus", "interface_position"]


def _positive(v, unit: str, name: str, source) -> float:
    out = parse_quantity(v, unit, field=name, file=source)
    if not (math.isfinite(out) and out > 0):
        raise InputError(f"{name} = {v!r}", file=source, field=name,
                         expected=f"a positive value in {unit}")
    return out


def to_depth(profile: DiffusionProfile, *, crater_depth=None, rate=None, layer_rates=None,
             marker: str | None = None, total_time=None) -> DiffusionProfile:
    """Convert a sputter-time profile into a depth profile.

    Parameters
    ----------
    profile : DiffusionProfile
        ``coordinate="time"`` (s).
    crater_depth : float or str, optional
        Depth of the crater after ``total_time`` of sputtering (m, or e.g. ``"2.1 um"``).
    rate : float or str, optional
        One sputter rate (m s⁻¹, or e.g. ``"0.5 nm/s"``) for the whole profile.
    layer_rates : (float, float), optional
        Rates in the first (surface) and the second layer, blended by the normalised
        composition of ``marker``; relative when ``crater_depth`` is given too.
    marker : str, optional
        Species whose normalised profile gives the layer fractions (default: the first).
    total_time : float or str, optional
        Sputter time at which ``crater_depth`` was reached (default: the last time).

    Returns
    -------
    DiffusionProfile
        ``coordinate="position"``, ``x`` = depth in m; the calibration is recorded in
        ``metadata["depth_calibration"]``.

    Examples
    --------
    >>> import numpy as np
    >>> p = DiffusionProfile(np.linspace(0, 100, 11), {"Co": np.linspace(1, 0, 11)},
    ...                      coordinate="time")
    >>> round(float(to_depth(p, crater_depth="1 um").x[-1]) * 1e6, 6)
    1.0
    """
    src = profile.source
    if profile.coordinate != "time":
        raise InputError("the profile is already in depth", file=src, field="coordinate",
                         expected="a sputter-time profile (coordinate='time')")
    t = profile.x
    t_end = float(t[-1]) if total_time is None else _positive(total_time, "s", "total_time",
                                                              src)
    given = sum(v is not None for v in (crater_depth, rate))
    if given == 0:
        raise InputError("no depth calibration", file=src, field="crater_depth",
                         expected="crater_depth=... or rate=... (with optional layer_rates)")
    if crater_depth is not None and rate is not None:
        raise InputError("both crater_depth and rate given", file=src, field="rate",
                         expected="one of them (layer_rates take relative rates)")
    calib = {"total_time_s": t_end}
    if layer_rates is None:
        if rate is not None:
            r = _positive(rate, "m/s", "rate", src)
        else:
            r = _positive(crater_depth, "m", "crater_depth", src) / t_end
        z = r * t
        calib.update(kind="constant rate", rate_m_per_s=r)
    else:
        try:
            r1, r2 = (float(parse_quantity(v, "m/s", field="layer_rates", file=src))
                      if crater_depth is None else float(v) for v in layer_rates)
        except (TypeError, ValueError):
            raise InputError(f"layer_rates = {layer_rates!r}", file=src, field="layer_rates",
                             expected="two rates (first layer, second layer)") from None
        if not (r1 > 0 and r2 > 0):
            raise InputError(f"layer_rates = {layer_rates!r}", file=src, field="layer_rates",
                             expected="two positive rates")
        name = profile.pick(marker)
        Y = _layer_fraction(t, profile.c(name))
        rates = r1 * (1 - Y) + r2 * Y
        z = cumulative_trapezoid(rates, t, initial=0.0) + rates[0] * t[0]
        if crater_depth is not None:
            depth = _positive(crater_depth, "m", "crater_depth", src)
            z_end = float(np.interp(t_end, t, z)) if t_end <= t[-1] else \
                float(z[-1] + rates[-1] * (t_end - t[-1]))
            scale = depth / z_end
            z = z * scale
            r1, r2 = r1 * scale, r2 * scale
        calib.update(kind="layer rates blended by composition", marker=name,
                     rates_m_per_s=[r1, r2])
    if crater_depth is not None:
        calib["crater_depth_m"] = parse_quantity(crater_depth, "m", field="crater_depth",
                                                 file=src)
    meta = {**profile.metadata, "depth_calibration": calib, "sputter_time_s": t.tolist()}
    return profile.replace(x=z, coordinate="position", metadata=meta, interfaces=())


def _layer_fraction(t: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Marker composition normalised to 0 in the first layer, 1 in the second (smoothed,
    monotone, clipped to [0, 1])."""
    seg = smooth_profile(t, c, method="spline" if t.size >= 8 else None)
    s = seg.fitted
    lo, hi = s[0], s[-1]
    if hi == lo:
        raise InputError("the marker species does not change across the interface",
                         field="marker", expected="a species that differs between the layers")
    return np.clip((s - lo) / (hi - lo), 0.0, 1.0)


def plateaus(c, n_end: int | None = None) -> tuple[float, float]:
    """Mean of the first and of the last ``n_end`` values (default: 5 %, at least 3)."""
    c = np.asarray(c, float)
    n = max(3, int(round(0.05 * c.size))) if n_end is None else int(n_end)
    n = min(n, c.size // 2)
    return float(np.mean(c[:n])), float(np.mean(c[-n:]))


def normalise(profile: DiffusionProfile, species: str | None = None, *, ends=None,
              n_end: int | None = None) -> DiffusionProfile:
    """``Y = (C − C_L)/(C_R − C_L)`` with the end plateaus (or given ``ends``).

    Returns
    -------
    DiffusionProfile
        One species, named as before, holding Y (σ scaled too); the plateaus are recorded in
        ``metadata["normalised"]``.
    """
    name = profile.pick(species)
    c = profile.c(name)
    cl, cr = plateaus(c, n_end) if ends is None else (float(ends[0]), float(ends[1]))
    if cr == cl:
        raise InputError("the two plateaus are equal", file=profile.source, field=name,
                         expected="different end compositions")
    sig = profile.sigma_of(name)
    return profile.replace(
        concentrations={name: (c - cl) / (cr - cl)},
        sigma=None if sig is None else {name: sig / abs(cr - cl)},
        metadata={**profile.metadata, "normalised": {"species": name, "C_left": cl,
                                                     "C_right": cr}})


def interface_position(profile: DiffusionProfile, species: str | None = None, *,
                       method: str = "half", smooth: str | None = "spline") -> float:
    """Position (m) of the interface: where the smoothed profile is halfway between its ends
    (``"half"``, the 50 % point) or where it is steepest (``"gradient"``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1e-6, 1e-6, 101)
    >>> p = DiffusionProfile(x, {"B": 0.5 + 0.5 * np.tanh((x - 2e-7) / 1e-7)})
    >>> round(interface_position(p, smooth=None) * 1e9, 3)
    200.0
    """
    if method not in ("half", "gradient"):
        raise InputError(f"method {method!r}", field="method",
                         expected="'half' (50 % point) or 'gradient' (steepest point)")
    profile.require_position("the interface position")
    seg = smooth_profile(profile.x, profile.c(species), method=smooth,
                         interfaces=profile.interfaces)
    xg, cg, dg = seg.grid(4000 if smooth == "spline" else None)
    if method == "half":
        Y = (cg - cg[0]) / (cg[-1] - cg[0])
        j = int(np.argmax(Y >= 0.5))
        if j == 0:
            return float(xg[0])
        f = (0.5 - Y[j - 1]) / (Y[j] - Y[j - 1]) if Y[j] != Y[j - 1] else 0.0
        return float(xg[j - 1] + f * (xg[j] - xg[j - 1]))
    a = np.abs(dg)
    j = int(np.nanargmax(a))
    if 0 < j < a.size - 1 and xg[j + 1] > xg[j] > xg[j - 1]:
        denom = a[j - 1] - 2 * a[j] + a[j + 1]
        if denom < 0:
            off = 0.5 * (a[j - 1] - a[j + 1]) / denom
            return float(xg[j] + off * 0.5 * (xg[j + 1] - xg[j - 1]))
    return float(xg[j])
