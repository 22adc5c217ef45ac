"""Analytic tracer-diffusion profiles of a semi-infinite solid, and their least-squares fits.

Three classical solutions of Fick's second law for an anneal of duration ``t`` (Crank, *The
Mathematics of Diffusion*, 2nd ed., 1975, §3.3 and eqs 2.45, 3.9-3.10 there); the solid occupies
``x ≥ x0`` (``x0`` is where the surface sits in the measured coordinate) and ``ξ = x − x0``:

* **constant source** (surface held at the source fraction ``C_s``)::

      C(x) = C_bg + (C_s − C_bg) erfc(ξ / (2 √(D t)))

* **thin film** of ``M`` (tracer amount per unit area, in fraction × m) at a reflecting surface::

      C(x) = C_bg + M / √(π D t) · exp(−ξ² / (4 D t))

* **surface exchange** (Robin boundary ``−D ∂C/∂x = k (C_s − C)`` at ``x0``), with ``h = k / D``
  and ``u = ξ / (2 √(D t))``::

      C'(x) = erfc(u) − exp(h ξ + h² D t) erfc(u + h √(D t))
      C(x)  = C_bg + (C_s − C_bg) C'(x)

  The second term is evaluated as ``exp(−u²) erfcx(u + h √(D t))`` (``erfcx(z) = exp(z²)
  erfc(z)``), which is algebraically the same and never overflows: ``k → ∞`` gives the
  constant-source profile, ``k → 0`` gives no uptake.

For ``x < x0`` (outside the solid) every model returns its surface value (``ξ`` is clipped at 0),
so a free ``x0`` keeps the number of points fixed; with a fixed ``x0`` the fitter simply leaves
those points out.

Everything is SI: ``x`` in m, ``t`` in s, ``D`` in m² s⁻¹, ``k`` in m s⁻¹, ``M`` in m.
The fit (:func:`fit_profile`) goes through :func:`ionscale.fitting.fit_curve` with analytic
Jacobians; ``D``, ``k`` and ``M`` are optimised in log space.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfc, erfcx

from ..errors import FitError, InputError
from ..fitting import fit_curve
from ..results import Diagnostic, Provenance, Result, Value, new_axes, values_from_fit
from ..units import parse_quantity
from .data import Profile
from .fraction import binomial_sigma

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# --------------------------------------------------------------------------------------------
# model kernels (no validation; used by the fitter)
# --------------------------------------------------------------------------------------------


def _xi(x: np.ndarray, x0: float) -> tuple[np.ndarray, np.ndarray]:
    """Depth below the surface clipped at 0, and the mask of points inside the solid."""
    xi = np.asarray(x, dtype=float) - x0
    inside = xi > 0
    return np.where(inside, xi, 0.0), inside


# The optimiser may probe any positive D (log space): D = 0 after an underflow, or 1e300. The
# kernels clamp D and √(Dt) to ranges where every expression stays finite, and the Jacobians
# replace the 0·∞ of their far tails by 0 (the exact limit), so no probe raises or returns NaN.
_D_MIN, _D_MAX = 1e-300, 1e300
_S_MIN, _S_MAX = 1e-150, 1e150


def _clamp_D(D: float) -> float:
    D = float(D)
    return min(max(D, _D_MIN), _D_MAX) if D == D else _D_MIN


def _root_Dt(D: float, t: float) -> float:
    return min(max(math.sqrt(D * t), _S_MIN), _S_MAX)


def _finite_columns(*columns) -> np.ndarray:
    """Stack Jacobian columns, with NaN (0·∞ far in a tail) as 0 and ±∞ as ±1e300."""
    with np.errstate(all="ignore"):
        j = np.column_stack(columns)
    return np.nan_to_num(j, nan=0.0, posinf=1e300, neginf=-1e300)


def _erfc_shape(x, D, t, x0):
    xi, inside = _xi(x, x0)
    s = _root_Dt(_clamp_D(D), t)
    u = xi / (2.0 * s)
    return erfc(u), u, s, inside


def _exchange_shape(x, D, k, t, x0):
    """``C'`` of the exchange model and the pieces its Jacobian needs."""
    xi, inside = _xi(x, x0)
    D = _clamp_D(D)
    s = _root_Dt(D, t)
    u = xi / (2.0 * s)
    k = float(k)
    if not k > 0:  # k = 0 (or a NaN probe): no uptake
        a = 0.0
    elif math.isfinite(k):
        a = k * s / D  # h √(D t); overflows to inf for a huge k, which is the erfc limit
    else:
        a = math.inf
    with np.errstate(all="ignore"):
        z = u + a
        eu = np.exp(-(u * u))
        g = eu * erfcx(z)  # = exp(h ξ + h² D t) erfc(u + h √(D t)), overflow-free
    f = erfc(u) - g if a > 0 else np.zeros_like(u)  # k = 0: no uptake, exactly
    return f, u, a, z, eu, g, s, inside


def _erfc_model(x, D, x0, C_s, C_bg, *, t):
    f = _erfc_shape(x, D, t, x0)[0]
    return C_bg + (C_s - C_bg) * f


def _erfc_jac(x, D, x0, C_s, C_bg, *, t):
    f, u, s, inside = _erfc_shape(x, D, t, x0)
    D = _clamp_D(D)
    dfdu = -_TWO_OVER_SQRT_PI * np.exp(-(u * u))
    amp = C_s - C_bg
    with np.errstate(all="ignore"):
        d_D = amp * dfdu * (-u / (2.0 * D))
        d_x0 = np.where(inside, amp * dfdu * (-1.0 / (2.0 * s)), 0.0)
    return _finite_columns(d_D, d_x0, f, 1.0 - f)


def _thin_film_model(x, D, M, x0, C_bg, *, t):
    xi, _ = _xi(x, x0)
    s = _root_Dt(_clamp_D(D), t)
    u = xi / (2.0 * s)
    with np.errstate(all="ignore"):
        return C_bg + M / (math.sqrt(math.pi) * s) * np.exp(-(u * u))


def _thin_film_jac(x, D, M, x0, C_bg, *, t):
    xi, inside = _xi(x, x0)
    D = _clamp_D(D)
    s = _root_Dt(D, t)
    u = xi / (2.0 * s)
    with np.errstate(all="ignore"):
        shape = np.exp(-(u * u)) / (math.sqrt(math.pi) * s)
        gauss = M * shape
        d_D = gauss * (u * u - 0.5) / D
        d_x0 = np.where(inside, gauss * u / s, 0.0)
    return _finite_columns(d_D, shape, d_x0, np.ones_like(shape))


def _exchange_model(x, D, k, x0, C_s, C_bg, *, t):
    f = _exchange_shape(x, D, k, t, x0)[0]
    return C_bg + (C_s - C_bg) * f


def _exchange_jac(x, D, k, x0, C_s, C_bg, *, t):
    f, u, a, z, eu, g, s, inside = _exchange_shape(x, D, k, t, x0)
    D = _clamp_D(D)
    # ∂C'/∂u = −2 a g ;  ∂C'/∂a = −(2 z g − 2/√π e^{−u²})
    with np.errstate(all="ignore"):
        # erfcx(z) → 1/(z √π) for z → ∞: z g and a g tend to e^{−u²}/√π (k → ∞ is erfc)
        zg = np.where(np.isinf(z), eu / math.sqrt(math.pi), z * g)
        ag = np.where(np.isinf(z), eu / math.sqrt(math.pi), a * g)
        dfdu = -2.0 * ag
        dfda = -(2.0 * zg - _TWO_OVER_SQRT_PI * eu)
        amp = C_s - C_bg
        via_a = np.where(np.isinf(z), 0.0, dfda * (-a / (2.0 * D)))  # a ∂C'/∂a → 0
        d_D = amp * (dfdu * (-u / (2.0 * D)) + via_a)
        d_k = np.where(np.isinf(z), 0.0, amp * dfda * (s / D))
        d_x0 = np.where(inside, amp * dfdu * (-1.0 / (2.0 * s)), 0.0)
    return _finite_columns(d_D, d_k, d_x0, f, 1.0 - f)


# --------------------------------------------------------------------------------------------
# public model functions
# --------------------------------------------------------------------------------------------


def _positive(value, name: str, unit: str, *, allow_inf: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {value!r} as a number", field=name,
                         expected=f"a positive number in {unit}") from None
    if not (v > 0 and (math.isfinite(v) or (allow_inf and v == math.inf))):
        raise InputError(f"{name} = {value!r} is not positive and finite", field=name,
                         expected=f"{name} > 0 in {unit}")
    return v


def _finite(value, name: str) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{name} = {value!r} is not finite", field=name,
                         expected="a finite number")
    return v


def constant_source(x, D: float, t: float, *, x0: float = 0.0, source: float = 1.0,
                    background: float = 0.0) -> np.ndarray:
    """Profile under a constant surface fraction: ``C_bg + (C_s − C_bg) erfc(ξ / 2√(Dt))``.

    Parameters
    ----------
    x : array_like
        Position in the measured coordinate, m.
    D : float
        Tracer diffusion coefficient, m² s⁻¹.
    t : float
        Anneal (exchange) time, s.
    x0 : float
        Position of the surface, m; the solid is ``x ≥ x0`` (``x < x0`` gets the surface value).
    source : float
        Source fraction ``C_s`` at the surface (1 for normalised data).
    background : float
        Background fraction ``C_bg`` deep in the solid (0 for normalised data).

    Returns
    -------
    ndarray
        Isotope fraction at ``x``.

    Examples
    --------
    >>> float(constant_source(0.0, 1e-13, 3600.0))
    1.0
    """
    D = _positive(D, "D", "m^2/s")
    t = _positive(t, "t", "s")
    return _erfc_model(np.asarray(x, dtype=float), D, _finite(x0, "x0"), float(source),
                       float(background), t=t)


def thin_film(x, D: float, t: float, M: float, *, x0: float = 0.0,
              background: float = 0.0) -> np.ndarray:
    """Thin-film (instantaneous source, reflecting surface) profile.

    ``C = C_bg + M / √(π D t) · exp(−ξ² / (4 D t))``; ``∫₀^∞ (C − C_bg) dξ = M``.

    Parameters
    ----------
    x : array_like
        Position, m.
    D : float
        Diffusion coefficient, m² s⁻¹.
    t : float
        Anneal time, s.
    M : float
        Tracer deposited per unit area, as fraction × m (the integral of the excess fraction).
    x0 : float
        Position of the surface, m.
    background : float
        Background fraction.

    Returns
    -------
    ndarray
        Isotope fraction at ``x``.

    Examples
    --------
    >>> round(float(thin_film(0.0, 1e-14, 1e4, 1e-5)), 3)   # M / sqrt(pi D t)
    0.564
    """
    D = _positive(D, "D", "m^2/s")
    t = _positive(t, "t", "s")
    return _thin_film_model(np.asarray(x, dtype=float), D, float(M), _finite(x0, "x0"),
                            float(background), t=t)


def surface_exchange(x, D: float, k: float, t: float, *, x0: float = 0.0, source: float = 1.0,
                     background: float = 0.0) -> np.ndarray:
    """Surface-exchange-limited profile (Crank eq. 3.10), overflow-free.

    ``C' = erfc(u) − exp(−u²) erfcx(u + h√(Dt))`` with ``h = k / D``, ``u = ξ / (2√(Dt))``,
    then ``C = C_bg + (C_s − C_bg) C'``.

    Parameters
    ----------
    x : array_like
        Position, m.
    D : float
        Tracer diffusion coefficient, m² s⁻¹.
    k : float
        Surface exchange coefficient, m s⁻¹ (``inf`` allowed: gives :func:`constant_source`).
    t : float
        Exchange time, s.
    x0 : float
        Position of the surface, m.
    source, background : float
        Fractions ``C_s`` (gas or liquid source) and ``C_bg`` (natural background).

    Returns
    -------
    ndarray
        Isotope fraction at ``x``.

    Examples
    --------
    >>> x = np.array([0.0, 1e-6, 5e-6])
    >>> np.round(surface_exchange(x, D=1e-14, k=1e-9, t=3600.0), 4)
    array([0.4322, 0.3773, 0.2   ])
    """
    D = _positive(D, "D", "m^2/s")
    t = _positive(t, "t", "s")
    try:
        k = float(k)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {k!r} as a number", field="k",
                         expected="k >= 0 in m/s") from None
    if not k >= 0:
        raise InputError(f"k = {k!r} is negative or NaN", field="k", expected="k >= 0 in m/s")
    return _exchange_model(np.asarray(x, dtype=float), D, k, _finite(x0, "x0"), float(source),
                           float(background), t=t)


def diffusion_length(D, t, dim: int = 1):
    """Root-mean-square displacement ``L = √(2 · dim · D t)``.

    Parameters
    ----------
    D : float or array_like
        Diffusion coefficient, m² s⁻¹.
    t : float or array_like
        Time, s.
    dim : int
        Number of dimensions (1, 2 or 3).

    Returns
    -------
    float or ndarray
        Length, m.

    Examples
    --------
    >>> round(diffusion_length(1e-18, 5 * 3600) * 1e6, 2)   # 1e-14 cm² s⁻¹ for 5 h, in µm
    0.19
    """
    if dim not in (1, 2, 3):
        raise InputError(f"dim = {dim!r}", field="dim", expected="1, 2 or 3")
    D = np.asarray(D, dtype=float)
    t = np.asarray(t, dtype=float)
    if np.any(D < 0) or np.any(t < 0):
        raise InputError("negative D or t", field="D" if np.any(D < 0) else "t",
                         expected="D >= 0 (m^2/s) and t >= 0 (s)")
    out = np.sqrt(2.0 * dim * D * t)
    return float(out) if out.ndim == 0 else out


def diffusion_length_error(D, sD, t, dim: int = 1):
    """Standard error of :func:`diffusion_length` from that of ``D`` (first order).

    ``σ_L = L σ_D / (2 D) = √(2 · dim · t) σ_D / (2 √D)``.

    Parameters
    ----------
    D, sD : float or array_like
        Diffusion coefficient and its standard error, m² s⁻¹.
    t : float
        Time, s (taken as exact).
    dim : int
        Number of dimensions.

    Returns
    -------
    float or ndarray
        Standard error of ``L``, m.
    """
    L = diffusion_length(D, t, dim)
    D = np.asarray(D, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(D > 0, L * np.asarray(sD, dtype=float) / (2.0 * D), np.inf)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# the model registry (declared once: parameters, units, symbols, log space, functions)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str
    params: tuple[str, ...]
    model: Callable[..., np.ndarray]
    jacobian: Callable[..., np.ndarray]
    log: tuple[str, ...]
    title: str


_MODELS: dict[str, _Spec] = {
    "erfc": _Spec("erfc", ("D", "x0", "C_s", "C_bg"), _erfc_model, _erfc_jac, ("D",),
                  "constant-source (erfc) profile"),
    "thin-film": _Spec("thin-film", ("D", "M", "x0", "C_bg"), _thin_film_model, _thin_film_jac,
                       ("D", "M"), "thin-film (Gaussian) profile"),
    "exchange": _Spec("exchange", ("D", "k", "x0", "C_s", "C_bg"), _exchange_model,
                      _exchange_jac, ("D", "k"), "surface-exchange (Crank) profile"),
}
_ALIASES = {"erfc": "erfc", "constant-source": "erfc", "constant_source": "erfc",
            "thin-film": "thin-film", "thin_film": "thin-film", "gaussian": "thin-film",
            "exchange": "exchange", "surface-exchange": "exchange",
            "surface_exchange": "exchange", "crank": "exchange"}

UNITS: dict[str, str] = {"D": "m^2/s", "k": "m/s", "M": "m", "x0": "m", "C_s": "", "C_bg": "",
                         "L": "m"}
SYMBOLS: dict[str, str] = {"D": "D*", "k": "k*", "M": "M", "x0": "x₀", "C_s": "C_s",
                           "C_bg": "C_bg", "L": "L"}

#: Models :func:`fit_profile` knows, with the names of their parameters.
MODELS: dict[str, tuple[str, ...]] = {k: v.params for k, v in _MODELS.items()}


# --------------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProfileFit(Result):
    """A fitted analytic tracer profile.

    Attributes
    ----------
    x : ndarray
        Positions of the profile, m (all points, used or not); for a profile fitted from the
        far face, the depth from that face (``far_face_at − x`` of the measured coordinate).
    fraction : ndarray
        Measured fraction at ``x``.
    sigma : ndarray or None
        Standard errors of ``fraction`` (None when the fit used unit weights).
    used : ndarray of bool
        Points that entered the fit.
    model_name : str
        ``"erfc"``, ``"thin-film"`` or ``"exchange"``.
    time : float
        Anneal time, s.
    parameters : dict
        Every model parameter (free and fixed), SI.
    x_fit, y_fit : ndarray
        The fitted model on a dense grid, m and fraction.
    fixed_values : dict
        Parameters held fixed, with their values (SI).
    fixed_by : dict
        For each fixed parameter, ``"default"`` (the software chose it) or ``"given"``.
    far_face_at : float or None
        Position of the far face in the measured coordinate, m, when the profile was fitted
        from the far face (``direction="from-far-face"``); None otherwise.
    """

    x: np.ndarray
    fraction: np.ndarray
    sigma: np.ndarray | None
    used: np.ndarray
    model_name: str
    time: float
    parameters: Mapping[str, float]
    x_fit: np.ndarray
    y_fit: np.ndarray
    fixed_values: Mapping[str, float] = field(default_factory=dict)
    fixed_by: Mapping[str, str] = field(default_factory=dict)
    far_face_at: float | None = None

    def fixed_line(self) -> str:
        """``"fixed: C_s = 1 (default), x₀ = 0 µm (given)"``, or "" when nothing was fixed."""
        items = []
        for name, value in self.fixed_values.items():
            shown = Value(name, value, 0.0, UNITS.get(name, ""), SYMBOLS.get(name)).field()
            unit = f" {shown[2]}" if shown[2] else ""
            items.append(f"{SYMBOLS.get(name, name)} = {shown[0]:g}{unit} "
                         f"({self.fixed_by.get(name, 'given')})")
        return "fixed: " + ", ".join(items) if items else ""

    def summary(self) -> str:
        """The base summary with the fixed values and the fit direction after the fit line."""
        lines = super().summary().split("\n")
        extra = []
        if self.fixed_values:
            extra.append(f"  {self.fixed_line()}")
        if self.far_face_at is not None:
            extra.append(f"  depth measured from the far face at x = "
                         f"{self.far_face_at * 1e6:.6g} µm (direction from-far-face)")
        at = 1 + len(self.values) + (1 if self.fit is not None else 0)
        return "\n".join(lines[:at] + extra + lines[at:])

    def predict(self, x) -> np.ndarray:
        """The fitted model at positions ``x`` (m)."""
        spec = _MODELS[self.model_name]
        return spec.model(np.asarray(x, dtype=float), **self.parameters, t=self.time)

    @property
    def residuals(self) -> np.ndarray:
        """``fraction − model`` at the points used (unweighted)."""
        return self.fraction[self.used] - self.predict(self.x[self.used])

    def plot(self, ax=None, *, residuals: bool = False):
        """Data (with error bars when known) and the fitted curve, positions in µm.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made if omitted.
        residuals : bool
            Add an inset with the residuals of the points used.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        um = 1e6
        used = self.used
        style = dict(fmt="o", ms=3, capsize=0, elinewidth=0.6)
        yerr = None if self.sigma is None else self.sigma[used]
        ax.errorbar(self.x[used] * um, self.fraction[used], yerr=yerr, color="C0",
                    label="data", **style)
        if np.any(~used):
            ax.plot(self.x[~used] * um, self.fraction[~used], "o", ms=3, mfc="none",
                    color="0.6", label="not fitted")
        d = self.values["D"]
        ax.plot(self.x_fit * um, self.y_fit, "-", color="C3", lw=1.5,
                label=f"{self.model_name} fit: {d}")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("isotope fraction C'")
        ax.legend(frameon=False)
        if self.title:
            ax.set_title(self.title)
        if residuals:
            inset = ax.inset_axes([0.55, 0.45, 0.42, 0.25])
            inset.axhline(0.0, color="0.5", lw=0.6)
            inset.plot(self.x[used] * um, self.residuals, ".", ms=2, color="C0")
            inset.set_title("residuals", fontsize="small")
            inset.tick_params(labelsize="small")
        return ax


# --------------------------------------------------------------------------------------------
# automatic initial values
# --------------------------------------------------------------------------------------------


def _smooth(y: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or y.size < width:
        return y
    kernel = np.ones(width) / width
    pad = width // 2
    padded = np.concatenate([np.full(pad, y[0]), y, np.full(width - 1 - pad, y[-1])])
    return np.convolve(padded, kernel, mode="valid")


def _half_depth(xi: np.ndarray, yn: np.ndarray, level: float) -> float:
    """Depth where the smoothed normalised profile first falls below ``level``."""
    ys = _smooth(yn, max(1, min(9, yn.size // 20)))
    below = np.flatnonzero(ys < level)
    if below.size == 0:
        return float(xi[-1] if xi[-1] > 0 else 1.0)  # profile never falls: deep penetration
    i = int(below[0])
    if i == 0:
        return float(max(xi[0], (xi[-1] - xi[0]) / max(xi.size, 1)) / 2 or 1e-9)
    x1, x2, y1, y2 = xi[i - 1], xi[i], ys[i - 1], ys[i]
    return float(x1 + (level - y1) * (x2 - x1) / (y2 - y1)) if y2 != y1 else float(x2)


def _initial_values(spec: _Spec, x: np.ndarray, y: np.ndarray, t: float,
                    start: dict[str, float], free: set[str]) -> dict[str, float]:
    """Guess D (and k or M) from the data, given x0, C_s, C_bg (known or guessed)."""
    out = dict(start)
    order = np.argsort(x)
    x, y = x[order], y[order]
    n_edge = max(3, x.size // 20)
    if "C_bg" in free and "C_bg" not in start:
        out["C_bg"] = float(np.median(y[-n_edge:]))
    bg = out.get("C_bg", 0.0)
    x0 = out.get("x0", 0.0)
    inside = x >= x0
    xi = (x - x0)[inside] if np.any(inside) else x - x[0]
    yy = y[inside] if np.any(inside) else y
    top = float(np.mean(_smooth(yy, 3)[:3]))
    if spec.name == "thin-film":
        excess = yy - bg
        pos = np.clip(excess, 0, None)
        mass = float(np.sum(0.5 * (pos[1:] + pos[:-1]) * np.diff(xi)))
        # the surface point may lie below x0 + first step: add the missing slab
        mass += max(top - bg, 0.0) * float(xi[0])
        peak = max(top - bg, 1e-12)
        mass = mass if mass > 0 else peak * max(float(np.ptp(xi)), 1e-9) / 10
        s = mass / (peak * math.sqrt(math.pi))
        out.setdefault("D", s * s / t)
        out.setdefault("M", mass)
        return out
    if "C_s" in free and "C_s" not in start:
        out["C_s"] = max(top, bg + 1e-6) if spec.name == "erfc" else max(1.0, top)
    amp = out.get("C_s", 1.0) - bg
    amp = amp if amp != 0 else 1.0
    yn = (yy - bg) / amp
    fs = float(np.clip(np.mean(_smooth(yn, 3)[:3]), 1e-6, 1.0 - 1e-6))
    if spec.name == "erfc":
        u_half = 0.4769362762044699  # erfc(u) = 1/2
        s = max(_half_depth(xi, yn, 0.5), 1e-12) / (2.0 * u_half)
        out.setdefault("D", s * s / t)
        return out
    # exchange: the surface value fixes a = h √(Dt) through 1 − erfcx(a) = C'(0)
    if "k" in start and "D" in start:
        return out
    a = brentq(lambda a: 1.0 - erfcx(a) - fs, 1e-12, 1e12, xtol=1e-14, rtol=1e-10)
    f0 = 1.0 - erfcx(a)

    def shape(u):
        return erfc(u) - math.exp(-u * u) * erfcx(u + a) - 0.5 * f0

    u_half = brentq(shape, 0.0, 10.0)
    s = max(_half_depth(xi, yn, 0.5 * fs), 1e-12) / (2.0 * u_half)
    D = out.setdefault("D", s * s / t)
    out.setdefault("k", a * math.sqrt(D * t) / t)
    return out


# --------------------------------------------------------------------------------------------
# the fit
# --------------------------------------------------------------------------------------------


def _resolve_model(model: str) -> _Spec:
    key = _ALIASES.get(str(model).strip().lower())
    if key is None:
        raise InputError(f"unknown profile model {model!r}", field="model",
                         expected="'erfc', 'thin-film' or 'exchange'")
    return _MODELS[key]


def _option(value, name: str, default: float) -> tuple[float | None, bool]:
    """``(value or None, free)`` for a surface/background/source option."""
    if value is None:
        return default, False
    if isinstance(value, str) and value.strip().lower() in ("fit", "free"):
        return None, True
    if isinstance(value, str):
        return parse_quantity(value, "m" if name == "surface" else "", field=name), False
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"cannot use {value!r}", field=name,
                         expected="None, a number or 'fit'") from None
    if not math.isfinite(v):
        raise InputError(f"{name} = {value!r} is not finite", field=name,
                         expected="None, a finite number or 'fit'")
    return v, False


def _total_counts(profile: Profile) -> np.ndarray:
    """Total counts per point for ``weights='counts'``, checked against the fraction."""
    counts = profile.counts
    if not counts:
        raise InputError("the profile has no counts", file=profile.source, field="weights",
                         expected="a profile with counts (fraction_profile) for "
                         "weights='counts', or weights='sigma'")
    total = np.sum([np.asarray(c, dtype=float) for c in counts.values()], axis=0)
    if total.shape != np.shape(profile.x):
        raise InputError("counts and positions differ in shape", file=profile.source,
                         field="counts", expected="one count per position and isotope")
    tracer = profile.metadata.get("tracer")
    if tracer in counts:
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.asarray(counts[tracer], dtype=float) / total
        ok = total > 0
        if not np.allclose(raw[ok], np.asarray(profile.fraction)[ok], rtol=1e-6, atol=1e-9):
            raise InputError("the fraction is not the raw fraction of the counts (normalised?)",
                             file=profile.source, field="weights",
                             expected="the raw fraction I_t / N for weights='counts'; fit "
                             "raw C with background= and source=, or use weights='sigma'")
    return total


def _scatter(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.full(mask.shape, np.nan)
    out[mask] = values
    return out


def _reweighted_fit(fit, model_fn, jac_fn, x, y, total, fixed, log, monte_carlo, seed,
                    max_iter: int = 20):
    """Binomial maximum likelihood by iteratively reweighted least squares.

    The stationary point of ``Σ (y − m)² / σ²(m)`` with σ held at the model is the score
    equation of the binomial likelihood, so the converged fit is its maximum.
    """
    for _ in range(max_iter):
        sigma = binomial_sigma(np.clip(model_fn(x, **fit.params), 0.0, 1.0), total)
        new = fit_curve(model_fn, x, y, fit.params, sigma=sigma, fixed=fixed, log=log,
                        jacobian=jac_fn)
        free = np.array(new.free)
        change = np.abs(new.values - fit.values)[free]
        fit = new
        if np.all(change <= 1e-3 * np.maximum(new.errors[free], 1e-300)):
            break
    if monte_carlo > 0:
        fit = fit_curve(model_fn, x, y, fit.params, sigma=sigma, fixed=fixed, log=log,
                        jacobian=jac_fn, monte_carlo=monte_carlo, seed=seed)
    return fit, sigma


# --------------------------------------------------------------------------------------------
# input checks, direction, what the data can measure
# --------------------------------------------------------------------------------------------

#: Values of ``direction`` (:func:`fit_profile`).
DIRECTIONS = ("auto", "from-surface", "from-far-face")
_DIRECTION_ALIASES = {"auto": "auto", "from-surface": "from-surface", "surface": "from-surface",
                      "from-far-face": "from-far-face", "far-face": "from-far-face",
                      "reverse": "from-far-face", "reversed": "from-far-face"}

#: Plausible span of a profile's positions, m: from 0.1 nm (a few SIMS depth steps) to 1 m.
SPAN_RANGE = (1e-10, 1.0)
#: Plausible isotope fractions (raw in [0, 1]; normalised ones scatter a little outside).
FRACTION_RANGE = (-1.0, 2.0)


def _direction(value) -> str:
    key = _DIRECTION_ALIASES.get(str(value).strip().lower().replace("_", "-"))
    if key is None:
        raise InputError(f"direction = {value!r}", field="direction",
                         expected="'auto', 'from-surface' or 'from-far-face'")
    return key


def _check_profile_values(profile: Profile) -> None:
    """Positions finite; fractions finite or NaN (a masked point), never ±∞."""
    x = np.asarray(profile.x, dtype=float)
    y = np.asarray(profile.fraction, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError("x and fraction differ in shape", file=profile.source, field="profile",
                         expected="1D arrays of equal length")
    bad = ~np.isfinite(x)
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"position {k} is {x[k]}", file=profile.source, field="x",
                         expected="finite positions in m")
    bad = np.isinf(y)
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"fraction {k} is {y[k]}", file=profile.source, field="fraction",
                         expected="finite isotope fractions (NaN marks a point without counts)")


def _check_used(profile: Profile, x: np.ndarray, y: np.ndarray) -> None:
    """The fitted points must look like a profile: a sensible span, fractions near [0, 1]."""
    span = float(np.ptp(x))
    lo, hi = SPAN_RANGE
    if not lo <= span <= hi:
        raise InputError(f"the positions span {span:.3g} m", file=profile.source, field="x",
                         expected=f"a profile spanning {lo:g} m to {hi:g} m (positions in "
                                  "metres; check the position unit)")
    lo, hi = FRACTION_RANGE
    bad = (y < lo) | (y > hi)
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"fraction {y[k]:.3g} at x = {x[k]:.3g} m is not an isotope fraction",
                         file=profile.source, field="fraction",
                         expected=f"fractions between 0 and 1 (normalised ones within "
                                  f"[{lo:g}, {hi:g}]), not percent or counts")


def _rises_to_far_end(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the profile clearly rises towards its far end (the source is at the far face).

    The median of the deepest tenth must exceed that of the shallowest tenth by half the range
    of the (smoothed) profile and by five standard errors of the point-to-point noise.
    """
    n = y.size
    if n < 6:
        return False
    m = max(3, n // 10)
    head, tail = float(np.median(y[:m])), float(np.median(y[-m:]))
    ys = _smooth(y, max(1, min(9, n // 20)))
    spread = float(np.max(ys) - np.min(ys))
    noise = 1.4826 * float(np.median(np.abs(np.diff(y)))) / math.sqrt(2.0)
    rise = tail - head
    return rise > 0.5 * spread and rise > 5.0 * noise / math.sqrt(m) and rise > 0


def _flip(profile: Profile, x_ref: float) -> Profile:
    """The profile seen from its far end: depth ``x_ref − x``, increasing."""
    rev = slice(None, None, -1)
    return Profile(
        x=x_ref - np.asarray(profile.x, dtype=float)[rev],
        fraction=np.asarray(profile.fraction, dtype=float)[rev],
        sigma=None if profile.sigma is None else np.asarray(profile.sigma, dtype=float)[rev],
        counts=None if profile.counts is None else {
            k: np.asarray(v)[rev] for k, v in profile.counts.items()},
        source=profile.source,
        metadata={**dict(profile.metadata), "direction": "from-far-face", "far_face_at": x_ref},
    )


def _fmt_length(x: float) -> str:
    return f"{x * 1e6:.3g} µm"


def _measurable(fit, t: float, x: np.ndarray, x0: float) -> tuple[Diagnostic, ...]:
    """``unmeasurable`` when √(D t) is below the first depth step or beyond the profile, or
    when a rate (D, k, M) has a standard error larger than itself (only a bound is known).

    A D of zero or with an infinite error is no measurement at all: that one is ``failed``.
    """
    out = []
    D, sD = fit.value("D"), fit.error("D")
    if math.isfinite(D) and x.size >= 2:
        root = math.sqrt(max(D, 0.0) * t)
        step = float(x[1] - x[0])
        depth = float(x[-1] - min(x0, x[0])) if math.isfinite(x0) else float(x[-1] - x[0])
        why = None
        if root < step:
            why = (f"is shorter than the first depth step ({_fmt_length(step)}): the profile "
                   "does not resolve it, D* is at most an upper bound")
        elif root > depth:
            why = (f"is longer than the profile ({_fmt_length(depth)} deep): the data do not "
                   "reach the end of the diffusion profile, D* is at most a lower bound")
        if why:
            severity = "failed" if not (D > 0 and math.isfinite(sD)) else None
            out.append(Diagnostic("unmeasurable", f"the diffusion length √(D t) = "
                                  f"{_fmt_length(root)} {why}", severity, fields=("D", "L")))
    for name in ("D", "k", "M"):
        if name not in fit.names or not fit.free[fit.index(name)]:
            continue
        v, e = fit.value(name), fit.error(name)
        if math.isfinite(v) and math.isfinite(e) and e > abs(v):
            out.append(Diagnostic(
                "unmeasurable", f"{SYMBOLS[name]} is not measured by these data: its standard "
                f"error exceeds its value ({v:.3g} ± {e:.3g} {UNITS[name]}), so at most a bound "
                "is known", fields=(name,)))
    return tuple(out)


def _fixed_choice(defaults: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
    """A diagnostic naming the fractions the software fixed on its own."""
    chosen = {n: defaults[n] for n in ("C_s", "C_bg") if defaults.get(n, "fit") != "fit"}
    if not chosen:
        return ()
    which = " and ".join(f"{SYMBOLS[n]} = {v:g}" for n, v in chosen.items())
    one = len(chosen) == 1
    return (Diagnostic(
        "fixed-choice",
        f"{which} {'was' if one else 'were'} fixed by default (a normalised fraction "
        f"assumed), not fitted, and D* depends on {'it' if one else 'them'}: give source= / "
        "background= (--source / --background), a value or 'fit'", fields=tuple(chosen)),)


def _time_text(t: float) -> str:
    """An anneal time as the field writes it (``110 h``, ``94 min``), for titles."""
    from ..report.display import quantity_text

    return quantity_text(float(t), "s")


def fit_profile(
    profile: Profile,
    *,
    model: str = "erfc",
    time: float | str,
    p0: Mapping[str, float] | None = None,
    fixed: Iterable[str] = (),
    fit_range: tuple[float | None, float | None] | None = None,
    surface: float | str | None = None,
    background: float | str | None = None,
    source: float | str | None = None,
    direction: str = "auto",
    weights: str = "sigma",
    monte_carlo: int = 0,
    seed: int | np.random.Generator | None = None,
) -> ProfileFit:
    """Fit an analytic diffusion profile to a measured isotope-fraction profile.

    Parameters
    ----------
    profile : Profile
        Positions in m and isotope fractions (raw ``C`` or normalised ``C'``). Its ``sigma``
        are used as absolute weights when present; otherwise every point weighs the same and
        the covariance is scaled by the reduced χ². NaN points are skipped. Positions must be
        finite and span 0.1 nm to 1 m, fractions lie within [−1, 2] (else InputError).
    model : str
        ``"erfc"`` (constant source), ``"thin-film"`` or ``"exchange"`` (surface exchange,
        fits ``k*`` too).
    time : float or str
        Anneal (exchange) time, s, or a string with a unit such as ``"110 h"``.
    p0 : mapping, optional
        Initial values by parameter name (``"D"``, ``"k"``, ``"M"``, ``"x0"``, ``"C_s"``,
        ``"C_bg"``, SI), overriding the automatic guesses from the data.
    fixed : iterable of str
        Parameters held at their ``p0`` value (e.g. ``fixed=("k",)`` with ``p0={"k": ...}``).
    fit_range : (float or None, float or None), optional
        Only points with ``lo ≤ x ≤ hi`` (m, measured coordinate) are fitted.
    surface : float, str or None
        Position ``x0`` of the surface, m. ``None``: 0, fixed. A number (or ``"2 um"``): fixed
        there. ``"fit"``: fitted. With a fixed surface, points with ``x < x0`` are left out.
        With ``direction="from-far-face"`` a number is the far face's position in the measured
        coordinate (default: the last point), and ``x0`` is a depth from it.
    background : float, "fit" or None
        Background fraction ``C_bg``. ``None``: fitted for a profile with counts (a raw
        fraction), else 0 (a normalised fraction), fixed, with a ``fixed-choice`` diagnostic.
        A number: fixed there. ``"fit"``: fitted (starting from the median of the deepest
        points).
    source : float, "fit" or None
        Source fraction ``C_s`` (erfc and exchange only). ``None``: fitted for a profile with
        counts, else 1 (normalised), fixed, with a ``fixed-choice`` diagnostic.
    direction : {"auto", "from-surface", "from-far-face"}
        Where the source was. ``"from-surface"``: at ``x = x0``, the start of the profile.
        ``"from-far-face"``: at the far end; the depth axis is flipped (depth = far face − x,
        the fit and the result use that depth). ``"auto"``: from the surface, but a profile
        that clearly rises towards its far end is refused (InputError naming ``direction``)
        rather than fitted into a meaningless D.
    weights : {"sigma", "counts"}
        ``"sigma"``: the profile's ``sigma`` (unit weights when it has none). ``"counts"``:
        binomial maximum likelihood for a raw fraction ``C = I_t / N`` with known counts
        (``profile.counts``, e.g. from :func:`ionscale.tracer.fraction.fraction_profile`): σ
        is recomputed from the *model* fraction, ``σ² = C(1 − C)/N + 1/(4N²)``, and the fit
        repeated until it settles (iteratively reweighted least squares). Weights taken from
        the measured fraction favour points that fluctuated low, which biases ``D`` low where
        the profile runs into a background of a few counts per point (measured: ~4 % at
        ``C_bg`` = 0.2 % and 2000 counts per point); ``"counts"`` removes that bias.
    monte_carlo : int
        If positive, standard errors from this many parametric-bootstrap refits.
    seed : int or Generator, optional
        Seed of the Monte-Carlo draws.

    Returns
    -------
    ProfileFit
        Values ``"D"`` (D*, m² s⁻¹), ``"k"`` (k*, m s⁻¹, exchange), ``"M"`` (m, thin film),
        ``"x0"``, ``"C_s"``, ``"C_bg"`` when fitted, and ``"L"`` = √(2 D t) (m), all with
        standard errors. Diagnostics add ``unmeasurable`` when √(D t) is shorter than the
        first depth step or longer than the profile, and ``fixed-choice`` when a fraction was
        fixed by default. ``provenance.parameters`` records ``fixed_values``, ``defaults``
        and ``direction``; :meth:`ProfileFit.summary` lists the fixed values.

    Raises
    ------
    InputError
        Bad model name, non-positive time, unknown parameter names, too few points, absurd
        positions or fractions, or a profile rising towards its far end with
        ``direction="auto"``.
    FitError
        The least-squares fit failed.

    Examples
    --------
    >>> x = np.linspace(0, 20e-6, 60)
    >>> prof = Profile(x=x, fraction=surface_exchange(x, 1e-14, 1e-10, 3600.0))
    >>> fit = fit_profile(prof, model="exchange", time="1 h", source=1.0, background=0.0)
    >>> f"{fit['D'].value:.3e}", f"{fit['k'].value:.3e}"
    ('1.000e-14', '1.000e-10')
    """
    if not isinstance(profile, Profile):
        raise InputError(f"got {type(profile).__name__}", field="profile",
                         expected="an ionscale.tracer.data.Profile")
    spec = _resolve_model(model)
    direction = _direction(direction)
    t = parse_quantity(time, "s", field="time", file=profile.source)
    if not (math.isfinite(t) and t > 0):
        raise InputError(f"time = {time!r} is not positive", field="time",
                         expected="an anneal time > 0 s")
    p0 = dict(p0 or {})
    unknown = set(p0) - set(spec.params)
    if unknown:
        raise InputError(f"unknown parameter(s) {sorted(unknown)} for model {spec.name!r}",
                         field="p0", expected=f"names among {list(spec.params)}")
    for name, value in p0.items():
        try:
            ok = math.isfinite(float(value))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InputError(f"p0[{name!r}] = {value!r}", field="p0",
                             expected="finite numbers (SI)")
    fixed = set(fixed)
    unknown = fixed - set(spec.params)
    if unknown:
        raise InputError(f"unknown parameter(s) {sorted(unknown)} for model {spec.name!r}",
                         field="fixed", expected=f"names among {list(spec.params)}")
    missing = [n for n in fixed if n not in p0 and n not in ("x0", "C_s", "C_bg")]
    if missing:
        raise InputError(f"fixed parameter(s) {sorted(missing)} have no value", field="p0",
                         expected="a p0 value for every fixed model parameter")
    if weights not in ("sigma", "counts"):
        raise InputError(f"weights = {weights!r}", field="weights",
                         expected="'sigma' or 'counts'")
    if source is not None and spec.name == "thin-film":
        raise InputError("a thin-film profile has no source fraction", field="source",
                         expected="None for model 'thin-film' (M sets the amount)")
    _check_profile_values(profile)
    if fit_range is not None:
        try:
            lo, hi = fit_range
        except (TypeError, ValueError):
            raise InputError(f"fit_range = {fit_range!r}", field="fit_range",
                             expected="(lo, hi) in m; either may be None") from None
        lo = -np.inf if lo is None else parse_quantity(lo, "m", field="fit_range")
        hi = np.inf if hi is None else parse_quantity(hi, "m", field="fit_range")
        if not lo < hi:
            raise InputError(f"fit_range {fit_range!r} is empty", field="fit_range",
                             expected="lo < hi")
    else:
        lo, hi = -np.inf, np.inf

    # the far face: flip the depth axis (the far face's position plays the surface's role)
    far_face_at = None
    if direction == "from-far-face":
        surface_value, surface_free = _option(surface, "surface", math.nan)
        if len(profile) == 0:
            raise InputError("the profile is empty", file=profile.source, field="profile",
                             expected="at least one point")
        far_face_at = (float(surface_value) if not surface_free and surface is not None
                       else float(np.max(profile.x)))
        profile = _flip(profile, far_face_at)
        lo, hi = far_face_at - hi, far_face_at - lo
        if surface is not None and not surface_free:
            surface = 0.0

    # surface / background / source: known (fixed) or fitted; a default is recorded
    has_counts = bool(profile.counts)
    start: dict[str, float] = {}
    free_opts: set[str] = set()
    defaults: dict[str, Any] = {}
    given: dict[str, float] = {}
    options = {"x0": ("surface", surface, 0.0), "C_bg": ("background", background, 0.0),
               "C_s": ("source", source, 1.0)}
    for name, (opt, raw, default) in options.items():
        if name not in spec.params:
            continue
        if raw is None and name not in fixed and name not in p0 and has_counts \
                and name in ("C_s", "C_bg"):
            raw = "fit"  # a raw fraction from counts: its source and background are unknown
            defaults[name] = "fit"
        value, is_free = _option(raw, opt, default)
        if is_free and name not in fixed:
            free_opts.add(name)
            continue
        if name in p0 and raw is not None and not is_free:
            raise InputError(f"{name} given both as {opt}= and in p0", field="p0",
                             expected=f"{name} in one place only")
        start[name] = float(p0.get(name, value if value is not None else default))
        if raw is None and name not in p0:
            defaults[name] = start[name]
        else:
            given[name] = start[name]
        fixed.add(name)
    for name in free_opts:
        if name in p0:
            start[name] = float(p0[name])
    for name in ("D", "k", "M"):
        if name in p0:
            start[name] = float(p0[name])
    for name in spec.log:
        if name in start and not start[name] > 0:
            raise InputError(f"initial {name} = {start[name]!r} is not positive", field="p0",
                             expected=f"{name} > 0")

    # points to fit
    x_all = np.asarray(profile.x, dtype=float)
    y_all = np.asarray(profile.fraction, dtype=float)
    s_all = None if profile.sigma is None else np.asarray(profile.sigma, dtype=float)
    used = profile.valid() & (x_all >= lo) & (x_all <= hi)
    if "x0" in fixed:
        used &= x_all >= start["x0"]
    n_free = len([n for n in spec.params if n not in fixed])
    n_used = int(used.sum())
    if n_used < n_free + 1:
        raise InputError(f"{n_used} usable points cannot determine {n_free} free parameters "
                         "with a degree of freedom left", file=profile.source, field="profile",
                         expected=f"at least {n_free + 1} finite points in the fit range")
    x, y = x_all[used], y_all[used]
    _check_used(profile, x, y)
    if direction == "auto" and _rises_to_far_end(x, y):
        raise InputError(
            "the fraction rises towards the far end of the profile: the source was at the "
            "other face (a profile measured from the far face), which the models cannot fit "
            "as it is", file=profile.source, field="direction",
            expected="direction='from-far-face' (CLI --direction from-far-face) to flip the "
                     "depth axis, or direction='from-surface' to fit it as it is")
    sigma = None if s_all is None else s_all[used]
    total = None
    if weights == "counts":
        total = _total_counts(profile)[used]
        sigma = binomial_sigma(y, total)

    if "x0" not in fixed and "x0" not in start:
        step = float(np.median(np.diff(x))) if x.size > 1 else 0.0
        start["x0"] = float(x[0] - 0.5 * step)
    guess = _initial_values(spec, x, y, t, start, free_opts)
    p_init = {n: float(guess[n]) for n in spec.params}
    if not all(math.isfinite(v) for v in p_init.values()):
        raise FitError(f"could not guess initial values from the data ({p_init}); give p0")

    def model_fn(xx, **p):
        return spec.model(xx, **p, t=t)

    def jac_fn(xx, **p):
        return spec.jacobian(xx, **p, t=t)

    log = tuple(n for n in spec.log if n not in fixed)
    try:
        fit = fit_curve(model_fn, x, y, p_init, sigma=sigma, fixed=tuple(fixed), log=log,
                        jacobian=jac_fn, monte_carlo=0 if total is not None else monte_carlo,
                        seed=seed)
        if total is not None:
            fit, sigma = _reweighted_fit(fit, model_fn, jac_fn, x, y, total, tuple(fixed),
                                         log, monte_carlo, seed)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        # the optimiser ran to where the model is degenerate (D → 0, k → ∞, ...): no numbers
        raise FitError(
            f"the {spec.name} fit diverged ({type(exc).__name__}: {exc}); the model does not "
            "describe these data with the parameters left free: fix some of them (source=, "
            "background=, surface=) or check the direction, time and position unit") from None

    values = values_from_fit(fit, UNITS, SYMBOLS)
    D, sD = fit.value("D"), fit.error("D")
    with np.errstate(all="ignore"):
        L, sL = (diffusion_length(D, t), diffusion_length_error(D, sD, t)) if D >= 0 \
            else (math.nan, math.nan)
    values["L"] = Value("L", L, sL, "m", SYMBOLS["L"])
    params = fit.params
    span = float(x[-1] - x[0]) if x.size > 1 else 1e-6
    x0 = params["x0"]
    x_lo = max(min(x0, float(x[0])), float(x[0]) - 0.2 * span)
    x_fit = np.linspace(x_lo, float(x[-1]), 400)
    y_fit = spec.model(x_fit, **params, t=t)
    files = [profile.source] if profile.source and os.path.isfile(profile.source) else []
    fixed_values = {n: float(params[n]) for n in spec.params if n in fixed}
    parameters: dict[str, Any] = {
        "model": spec.name, "time_s": t, "fixed": sorted(fixed), "fit_range": fit_range,
        "n_points": n_used,
        "weights": weights if weights == "counts" or sigma is not None else "unit",
        "monte_carlo": int(monte_carlo), "initial": p_init,
        "fixed_values": fixed_values, "defaults": defaults,
        "direction": "from-far-face" if far_face_at is not None else "from-surface",
    }
    if far_face_at is not None:
        parameters["far_face_at"] = far_face_at
    if profile.source and not files:
        parameters["source"] = profile.source
    diagnostics = (*_measurable(fit, t, x, x0), *_fixed_choice(defaults))
    return ProfileFit(
        values=values,
        provenance=Provenance.build(f"tracer.profile.{spec.name}", files, parameters),
        fit=fit,
        title=f"{spec.title}, t = {_time_text(t)}"
        + (" from the far face" if far_face_at is not None else "")
        + (f" ({os.path.basename(profile.source)})" if profile.source else ""),
        diagnostics=diagnostics,
        x=x_all, fraction=y_all, sigma=s_all if total is None else _scatter(sigma, used),
        used=used, model_name=spec.name, time=t,
        parameters=params, x_fit=x_fit, y_fit=y_fit,
        fixed_values=fixed_values,
        fixed_by={n: ("default" if n in defaults else "given") for n in fixed_values},
        far_face_at=far_face_at,
    )
