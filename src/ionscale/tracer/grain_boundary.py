"""Grain-boundary diffusivity from the step of an isotope-fraction profile across a boundary.

Where boundaries are *slower* than the grains (seed 000: LLTO, ``D*_gb ≪ D*_bulk``), the tracer
fraction ``C`` is smooth inside each grain and jumps at the boundary. The flux through a thin
boundary of width ``δ`` is continuous (seed 000, eqs 2-3)::

    D_bulk (∂C/∂y)_bulk = D_gb ΔC_gb / δ    ⇒    D_gb / δ = D_bulk |∂C/∂y|_bulk / ΔC_gb

The bulk gradient at the boundary and the step ``ΔC_gb`` both come from a quadratic fitted to
the profile inside each grain, ``C(y) = a + b (y − y_gb) + c (y − y_gb)²``, within ``window`` of
the boundary and leaving out the ``exclude`` nearest it (the SIMS resolution blurs the step):
``ΔC_gb = |a_left − a_right|`` (the two sides extrapolated to the boundary) and the gradient is
the slope ``b``. Flux continuity says both sides' slopes agree; both are reported with the
z-score of their difference, and the gradient used is their inverse-variance weighted mean
(or one side's on request).

The profile must cross the boundary at right angles: along a line at an angle θ to the
boundary normal the gradient appears as ``g cos θ`` while the step is unchanged, so ``D_gb/δ``
comes out ``cos θ`` too small (divide by ``cos θ``, or draw the segments along the normal).

The errors are first order: the quadratic fits' covariances (the slopes and the intercepts,
including the correlation of slope and intercept on each side), the error of ``D_bulk`` and of
``δ``, combined as relative errors in quadrature.

Steps of the workflow:

1. :func:`extract_line` — a profile along a segment of a :class:`~ionscale.tracer.data.FractionMap`
   (physical coordinates, averaged over a width, with standard errors).
2. :func:`analyse_boundary` — one boundary → :class:`BoundaryResult`.
3. :func:`analyse_boundaries` — many segments → :class:`BoundaryBatch` (mean, SD, SEM, median,
   range of ``D_gb/δ`` and ``D_gb``, as in seed 000's Table S2).

:func:`gb_diffusivity_from_step` is the bare formula with error propagation;
:func:`synthetic_boundary_profile` makes a profile that satisfies flux continuity exactly.

Everything is SI: positions in m, gradients in m⁻¹, ``D`` in m² s⁻¹, ``D_gb/δ`` in m s⁻¹.

References
----------
Seed 000 (LLTO grain boundaries by cryo-SIMS), eqs 2-3, Fig. 3, Table S2.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr

from ..errors import FitError, InputError
from ..fitting import FitResult, fit_curve
from ..results import InputFile, Provenance, Result, Value, new_axes
from ..units import format_value, to_field
from .data import FractionMap, Profile
from .lines import LineProfile, _number, _point, extract_line

_UM = 1e6

SYMBOLS = {
    "gradient": "(∂C/∂y)_bulk",
    "gradient_left": "(∂C/∂y)_left",
    "gradient_right": "(∂C/∂y)_right",
    "C_left": "C_left(y_gb)",
    "C_right": "C_right(y_gb)",
    "delta_C": "ΔC_gb",
    "boundary": "y_gb",
    "D_gb_over_delta": "D*_gb/δ",
    "D_gb": "D*_gb",
}

# --------------------------------------------------------------------------------------------
# the flux-continuity formula
# --------------------------------------------------------------------------------------------


def gb_diffusivity_from_step(
    gradient: float,
    delta_C: float,
    D_bulk: float | str,
    *,
    gradient_error: float = 0.0,
    delta_C_error: float = 0.0,
    D_bulk_error: float = 0.0,
    gb_width: float | str | None = None,
    gb_width_error: float = 0.0,
    covariance: float = 0.0,
) -> dict[str, Value]:
    """``D_gb/δ = D_bulk |∂C/∂y| / ΔC_gb`` and ``D_gb`` with first-order errors.

    Parameters
    ----------
    gradient : float
        Bulk gradient of the fraction at the boundary, m⁻¹ (its sign is ignored).
    delta_C : float
        Step of the fraction across the boundary (dimensionless; its sign is ignored).
    D_bulk : float or str
        Bulk tracer diffusivity, m² s⁻¹ (or ``"2.6e-8 cm^2/s"``).
    gradient_error, delta_C_error, D_bulk_error : float
        Standard errors, in the units above.
    gb_width : float or str, optional
        Boundary width δ, m (or ``"0.5 nm"``); gives ``D_gb`` as well.
    gb_width_error : float
        Standard error of δ, m.
    covariance : float
        Covariance of ``gradient`` and ``delta_C`` as signed (m⁻¹), when they come from the same
        fits; 0 when independent.

    Returns
    -------
    dict of str to Value
        ``"D_gb_over_delta"`` (m s⁻¹) and, with ``gb_width``, ``"D_gb"`` (m² s⁻¹). Relative
        errors add in quadrature (plus the covariance term).

    Examples
    --------
    Seed 000, Fig. 3e: 1.1 cm⁻¹, ΔC = 0.02, D_bulk = 2.6e-8 cm² s⁻¹, δ = 0.5 nm:

    >>> v = gb_diffusivity_from_step(110.0, 0.02, "2.6e-8 cm^2/s", gb_width="0.5 nm")
    >>> print(v["D_gb_over_delta"], "|", v["D_gb"])
    D*_gb/δ = 1.43e-6 cm s⁻¹ | D*_gb = 7.15e-14 cm² s⁻¹
    """
    g = _number(gradient, "gradient", "1/m")
    dc = _number(delta_C, "delta_C", "")
    d = _number(D_bulk, "D_bulk", "m^2/s", positive=True)
    sg = _number(gradient_error, "gradient_error", "1/m", non_negative=True)
    sdc = _number(delta_C_error, "delta_C_error", "", non_negative=True)
    sd = _number(D_bulk_error, "D_bulk_error", "m^2/s", non_negative=True)
    if dc == 0:
        raise InputError("the step is zero", field="delta_C",
                         expected="a non-zero step of the fraction at the boundary")
    cov = float(covariance)
    ratio = d * abs(g) / abs(dc)
    rel2 = (sd / d) ** 2 + (sdc / dc) ** 2
    if g != 0:
        rel2 += (sg / g) ** 2 - 2.0 * cov / (g * dc)
    else:
        rel2 = math.inf
    rel2 = max(rel2, 0.0)
    out = {"D_gb_over_delta": Value("D_gb_over_delta", ratio, ratio * math.sqrt(rel2), "m/s",
                                    SYMBOLS["D_gb_over_delta"])}
    if gb_width is not None:
        delta = _number(gb_width, "gb_width", "m", positive=True)
        s_delta = _number(gb_width_error, "gb_width_error", "m", non_negative=True)
        dgb = ratio * delta
        rel_gb = math.sqrt(rel2 + (s_delta / delta) ** 2)
        out["D_gb"] = Value("D_gb", dgb, dgb * rel_gb, "m^2/s", SYMBOLS["D_gb"])
    return out


# --------------------------------------------------------------------------------------------
# one boundary
# --------------------------------------------------------------------------------------------


def locate_step(x, fraction, *, smooth: int = 3) -> float:
    """Position of the steepest step of a profile.

    For every gap between neighbouring points, the mean of the ``smooth`` points after it minus
    the mean of the ``smooth`` points before it (a derivative of the box-smoothed profile that
    peaks exactly at an isolated step); the boundary is the midpoint of the gap where its
    magnitude is largest.

    Parameters
    ----------
    x : array_like
        Positions, m, increasing.
    fraction : array_like
        Fraction at ``x`` (finite).
    smooth : int
        Points averaged on each side (≥ 1); reduced for short profiles.

    Returns
    -------
    float
        Boundary position, m.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(fraction, dtype=float)
    n = x.size
    if n < 2:
        raise InputError("a step needs at least two points", field="x",
                         expected="a profile of two or more points")
    k = max(1, min(int(smooth), n // 2))
    c = np.concatenate([[0.0], np.cumsum(y)])
    gaps = np.arange(k - 1, n - k)  # gap i lies between points i and i + 1
    left = (c[gaps + 1] - c[gaps + 1 - k]) / k
    right = (c[gaps + 1 + k] - c[gaps + 1]) / k
    i = int(gaps[np.argmax(np.abs(right - left))])
    return float(0.5 * (x[i] + x[i + 1]))


def _poly(u, a, b, c=0.0):
    return a + u * (b + c * u)


def _poly_jac(u, a, b, c=0.0):
    return np.column_stack([np.ones_like(u), u, u * u])


def _poly1(u, a, b):
    return a + b * u


def _poly1_jac(u, a, b):
    return np.column_stack([np.ones_like(u), u])


@dataclass(frozen=True)
class SideFit:
    """The polynomial fitted to one side of the boundary, in SI.

    Attributes
    ----------
    side : str
        ``"left"`` (``y < y_gb``) or ``"right"``.
    coefficients : ndarray
        ``(a, b[, c])`` of ``C = a + b u + c u²`` with ``u = y − y_gb`` in m.
    covariance : ndarray
        Their covariance.
    fit : FitResult
        The fit itself (on ``u`` scaled by the window, see :attr:`scale`).
    scale : float
        The length ``u`` was divided by in the fit, m.
    used : ndarray of bool
        Points of the profile in the fit.
    """

    side: str
    coefficients: np.ndarray
    covariance: np.ndarray
    fit: FitResult
    scale: float
    used: np.ndarray

    @property
    def intercept(self) -> float:
        return float(self.coefficients[0])

    @property
    def slope(self) -> float:
        return float(self.coefficients[1])

    def predict(self, u) -> np.ndarray:
        """The polynomial at ``u = y − y_gb`` (m)."""
        u = np.asarray(u, dtype=float)
        return np.polyval(self.coefficients[::-1], u)


def _safe_start(start: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Initial values of a linear model kept away from 0.

    The fitting core scales each parameter by its initial magnitude; a coefficient that starts
    at (nearly) zero would get a vanishing scale and a rank-deficient covariance. On scaled
    coordinates every coefficient's natural size is the data's spread, so near-zero starts are
    moved there; the model is linear, so the optimiser still lands on the exact optimum.
    """
    ref = float(max(np.ptp(y), np.max(np.abs(y)), 1e-12))
    small = np.abs(start) < 1e-3 * ref
    return np.where(small, ref, start)


def _fit_side(side: str, u: np.ndarray, y: np.ndarray, s: np.ndarray | None, used: np.ndarray,
              degree: int, scale: float, absolute_sigma: bool | None) -> SideFit:
    uu = u[used] / scale
    yy = y[used]
    ss = None if s is None else s[used]
    w = None if ss is None else 1.0 / ss
    start = _safe_start(np.polyfit(uu, yy, degree, w=w)[::-1], yy)
    names = ("a", "b", "c")[: degree + 1]
    p0 = dict(zip(names, map(float, start), strict=True))
    model, jac = (_poly, _poly_jac) if degree == 2 else (_poly1, _poly1_jac)
    fit = fit_curve(model, uu, yy, p0, sigma=ss, jacobian=jac, absolute_sigma=absolute_sigma)
    factors = scale ** -np.arange(degree + 1, dtype=float)
    coef = fit.values * factors
    cov = fit.covariance * np.outer(factors, factors)
    return SideFit(side=side, coefficients=coef, covariance=cov, fit=fit, scale=scale,
                   used=used)


def _profile_arrays(line_or_positions, fraction, sigma
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str | None,
                               LineProfile | None]:
    line = None
    source = None
    if isinstance(line_or_positions, (LineProfile, Profile)):
        if fraction is not None:
            raise InputError("fraction given twice", field="fraction",
                             expected="either a LineProfile/Profile or positions + fraction")
        obj = line_or_positions
        x, y = obj.x, obj.fraction
        s = obj.sigma if sigma is None else sigma
        source = obj.source
        line = obj if isinstance(obj, LineProfile) else None
    else:
        if fraction is None:
            raise InputError("no fraction given", field="fraction",
                             expected="analyse_boundary(positions, fraction[, sigma], ...)")
        x, y, s = line_or_positions, fraction, sigma
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    if y.shape != x.shape:
        raise InputError(f"{y.size} fractions for {x.size} positions", file=source,
                         field="fraction", expected="one fraction per position")
    if s is not None:
        s = np.broadcast_to(np.asarray(s, dtype=float), x.shape).copy()
    if not np.all(np.isfinite(x)):
        raise InputError("positions contain NaN or inf", file=source, field="x",
                         expected="finite positions in m")
    ok = np.isfinite(y)
    if s is not None:
        ok &= np.isfinite(s)
        if np.any(s[ok] <= 0):
            raise InputError("standard errors must be positive", file=source, field="sigma",
                             expected="sigma > 0")
    x, y = x[ok], y[ok]
    s = None if s is None else s[ok]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    s = None if s is None else s[order]
    if x.size < 2 or np.any(np.diff(x) == 0):
        raise InputError("positions must be distinct and at least two must be valid",
                         file=source, field="x", expected="distinct positions with finite "
                         "fractions")
    return x, y, s, source, line


@dataclass(frozen=True, kw_only=True)
class BoundaryResult(Result):
    """Grain-boundary diffusivity from the step of one profile.

    Values (SI): ``boundary`` (m), ``gradient_left``, ``gradient_right`` and ``gradient``
    (the one used, signed, m⁻¹), ``C_left`` and ``C_right`` (extrapolated to the boundary),
    ``delta_C`` (``|C_left − C_right|``), ``D_gb_over_delta`` (m s⁻¹) and, with a boundary
    width, ``D_gb`` (m² s⁻¹).

    Attributes
    ----------
    x, fraction : ndarray
        The profile's valid points (m, fraction).
    sigma : ndarray or None
        Their standard errors (None: unit weights, covariance scaled by χ²_red).
    left, right : SideFit
        The fits on each side.
    boundary : float
        Boundary position, m.
    boundary_given : bool
        Whether the position was given (else located as the steepest step).
    window : tuple of float
        Window on the left and the right, m.
    exclude : float
        Distance left out next to the boundary, m.
    side : str
        Slope used: ``"auto"`` (weighted mean of both), ``"left"`` or ``"right"``.
    slope_z : float
        ``(b_left − b_right) / √(σ_left² + σ_right²)``; flux continuity expects |z| ≲ 2.
    notes : tuple of str
        Warnings about this boundary (slopes disagree, step not significant, step and gradient
        of opposite sign).
    line : LineProfile or None
        The map line the profile came from, if any.
    """

    x: np.ndarray
    fraction: np.ndarray
    sigma: np.ndarray | None
    left: SideFit
    right: SideFit
    boundary: float
    boundary_given: bool
    window: tuple[float, float]
    exclude: float
    side: str
    slope_z: float
    notes: tuple[str, ...] = ()
    line: LineProfile | None = None

    def _extra_dict(self) -> dict[str, Any]:
        return {
            "x": self.x.tolist(), "fraction": self.fraction.tolist(),
            "sigma": None if self.sigma is None else self.sigma.tolist(),
            "boundary": self.boundary, "boundary_given": self.boundary_given,
            "window": list(self.window), "exclude": self.exclude, "side": self.side,
            "slope_z": self.slope_z, "notes": list(self.notes),
            "left": {"coefficients": self.left.coefficients.tolist(),
                     "reduced_chi2": self.left.fit.reduced_chi2,
                     "n_points": int(self.left.used.sum())},
            "right": {"coefficients": self.right.coefficients.tolist(),
                      "reduced_chi2": self.right.fit.reduced_chi2,
                      "n_points": int(self.right.used.sum())},
            "line": None if self.line is None else {
                "start_m": list(self.line.start), "end_m": list(self.line.end),
                "width_m": self.line.width, "order": self.line.order},
        }

    def boundary_point(self) -> tuple[float, float] | None:
        """Physical ``(x, y)`` of the boundary on the map line (None without a line)."""
        if self.line is None:
            return None
        p = self.line.position(self.boundary)
        return float(p[0]), float(p[1])

    def summary(self) -> str:
        lines = [super().summary()]
        for f in (self.left, self.right):
            q = f.fit.quality()
            lines.append(f"  {f.side} fit: {int(f.used.sum())} points, "
                         f"χ²_red = {q['reduced_chi2']:.3g}")
        lines.append(f"  slope consistency z = {self.slope_z:.2f}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax=None):
        """Profile with error bars, the two fits, the boundary and the step; x in µm.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made if omitted.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        used = self.left.used | self.right.used
        style = dict(fmt="o", ms=3, elinewidth=0.6, capsize=0)
        yerr = None if self.sigma is None else self.sigma
        ax.errorbar(self.x[~used] * _UM, self.fraction[~used],
                    yerr=None if yerr is None else yerr[~used], color="0.65",
                    label="not fitted", **style)
        for f, color in ((self.left, "C0"), (self.right, "C2")):
            ax.errorbar(self.x[f.used] * _UM, self.fraction[f.used],
                        yerr=None if yerr is None else yerr[f.used], color=color,
                        label=f"{f.side} grain", **style)
            xs = self.x[f.used]
            lo, hi = (xs.min(), self.boundary) if f.side == "left" else (self.boundary, xs.max())
            u = np.linspace(lo, hi, 100)
            ax.plot(u * _UM, f.predict(u - self.boundary), "-", color=color, lw=1.4)
        yb = self.boundary * _UM
        ax.axvline(yb, color="k", ls=":", lw=0.8)
        if self.exclude > 0:
            ax.axvspan(yb - self.exclude * _UM, yb + self.exclude * _UM, color="0.9", zorder=0)
        cl, cr = self.left.intercept, self.right.intercept
        ax.annotate("", xy=(yb, cr), xytext=(yb, cl),
                    arrowprops=dict(arrowstyle="<->", color="C3", lw=1.2))
        dc = self.values["delta_C"]
        ax.text(yb, 0.5 * (cl + cr), f"  ΔC = {format_value(dc.value, dc.error)}", color="C3",
                va="center", ha="left", fontsize="small")
        ax.set_xlabel("distance along the line (µm)")
        ax.set_ylabel("isotope fraction C")
        key = "D_gb" if "D_gb" in self.values else "D_gb_over_delta"
        ax.set_title(str(self.values[key]))
        ax.legend(frameon=False)
        return ax


def _window(value) -> tuple[float, float]:
    if isinstance(value, (tuple, list, np.ndarray)) and not isinstance(value, str):
        if len(value) != 2:
            raise InputError(f"window = {value!r}", field="window",
                             expected="a length in m or (left, right) lengths")
        return (_number(value[0], "window", "m", positive=True),
                _number(value[1], "window", "m", positive=True))
    w = _number(value, "window", "m", positive=True)
    return w, w


def _check_side(side: str) -> str:
    key = str(side).strip().lower()
    if key in ("auto", "both", "mean"):
        return "auto"
    if key in ("left", "right"):
        return key
    raise InputError(f"side = {side!r}", field="side", expected="'auto', 'left' or 'right'")


def analyse_boundary(
    line_or_positions,
    fraction=None,
    sigma=None,
    *,
    boundary: float | str | None = None,
    window: float | str | tuple[float, float],
    exclude: float | str = 0.0,
    D_bulk: float | str,
    D_bulk_error: float | str = 0.0,
    gb_width: float | str | None = None,
    gb_width_error: float | str = 0.0,
    side: str = "auto",
    degree: int = 2,
    smooth: int = 3,
    absolute_sigma: bool | None = None,
    _inputs: Sequence[InputFile] | None = None,
) -> BoundaryResult:
    """Grain-boundary ``D_gb/δ`` (and ``D_gb``) from the step of a profile across a boundary.

    Parameters
    ----------
    line_or_positions : LineProfile, Profile or array_like
        The profile (from :func:`extract_line`, or a
        :class:`~ionscale.tracer.data.Profile`), or positions along it in m.
    fraction : array_like, optional
        Isotope fraction at the positions (only with positions).
    sigma : array_like, optional
        One-σ errors of the fraction (taken from the profile when it has them). Without them
        the fits use unit weights and scale the covariance by χ²_red.
    boundary : float or str, optional
        Boundary position along the profile, m. Default: the steepest step
        (:func:`locate_step` with ``smooth``).
    window : float, str or (float, float)
        Length on each side of the boundary fitted by the polynomial, m (or ``(left,
        right)``). It must fit within the line.
    exclude : float or str
        Distance next to the boundary left out of both fits, m (≈ the SIMS resolution).
    D_bulk : float or str
        Bulk tracer diffusivity, m² s⁻¹ (or e.g. ``"2.6e-8 cm^2/s"``).
    D_bulk_error : float or str
        Its standard error, m² s⁻¹.
    gb_width : float or str, optional
        Boundary width δ, m (``"0.5 nm"``): adds ``D_gb = (D_gb/δ) δ``.
    gb_width_error : float or str
        Standard error of δ, m.
    side : {"auto", "left", "right"}
        Bulk gradient used: the inverse-variance weighted mean of both sides' slopes, or one
        side's.
    degree : {2, 1}
        Polynomial degree on each side (2: quadratic, as in seed 000).
    smooth : int
        Points averaged on each side when locating the step.
    absolute_sigma : bool, optional
        Whether ``sigma`` are absolute (default: yes when given).

    Returns
    -------
    BoundaryResult

    Raises
    ------
    InputError
        Bad parameters (negative ``D_bulk``...), a window longer than the line or reaching past
        its ends, a boundary outside the line, too few points on a side, no valid points.
    FitError
        A side's fit failed.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.linspace(0, 40e-6, 81)
    >>> c = synthetic_boundary_profile(y, boundary=20e-6, gradient=-2e3, D_bulk=2.6e-12,
    ...                                D_gb_over_delta=1.5e-8, C_boundary=0.4)
    >>> r = analyse_boundary(y, c, boundary=20e-6, window=15e-6, D_bulk=2.6e-12)
    >>> f"{r['D_gb_over_delta'].value:.4g}"
    '1.5e-08'
    """
    x, y, s, source, line = _profile_arrays(line_or_positions, fraction, sigma)
    d_bulk = _number(D_bulk, "D_bulk", "m^2/s", positive=True)
    d_bulk_err = _number(D_bulk_error, "D_bulk_error", "m^2/s", non_negative=True)
    delta = None if gb_width is None else _number(gb_width, "gb_width", "m", positive=True)
    delta_err = _number(gb_width_error, "gb_width_error", "m", non_negative=True)
    wl, wr = _window(window)
    excl = _number(exclude, "exclude", "m", non_negative=True)
    side = _check_side(side)
    if degree not in (1, 2):
        raise InputError(f"degree = {degree!r}", field="degree", expected="1 or 2")
    if excl >= min(wl, wr):
        raise InputError(f"exclude = {excl:.3g} m is not below the window "
                         f"({min(wl, wr):.3g} m)", field="exclude",
                         expected="0 <= exclude < window")
    length = float(x[-1] - x[0])
    if max(wl, wr) > length:
        raise InputError(f"window {max(wl, wr) * _UM:.3g} µm is longer than the line "
                         f"({length * _UM:.3g} µm)", file=source, field="window",
                         expected="a window shorter than the profile")
    given = boundary is not None
    if given:
        yb = _number(boundary, "boundary", "m")
        if not x[0] < yb < x[-1]:
            raise InputError(f"boundary at {yb * _UM:.4g} µm is outside the line "
                             f"({x[0] * _UM:.4g} to {x[-1] * _UM:.4g} µm)", file=source,
                             field="boundary", expected="a position inside the profile")
    else:
        yb = locate_step(x, y, smooth=smooth)
    tol = float(np.median(np.diff(x))) * 0.5 + 1e-12 * length
    if yb - wl < x[0] - tol or yb + wr > x[-1] + tol:
        raise InputError(
            f"the window reaches past the line: boundary at {yb * _UM:.4g} µm, "
            f"{(yb - x[0]) * _UM:.3g} µm of profile on the left and "
            f"{(x[-1] - yb) * _UM:.3g} µm on the right", file=source, field="window",
            expected=f"window <= the profile on each side of the boundary "
            f"(asked {wl * _UM:.3g}, {wr * _UM:.3g} µm)")
    u = x - yb
    used_l = (u < -excl) & (u >= -wl - 1e-12 * length)
    used_r = (u > excl) & (u <= wr + 1e-12 * length)
    need = degree + 2
    for name, mask in (("left", used_l), ("right", used_r)):
        if int(mask.sum()) < need:
            raise InputError(f"only {int(mask.sum())} points on the {name} side of the "
                             f"boundary at {yb * _UM:.4g} µm", file=source, field="window",
                             expected=f"at least {need} points between exclude and window")
    fl = _fit_side("left", u, y, s, used_l, degree, wl, absolute_sigma)
    fr = _fit_side("right", u, y, s, used_r, degree, wr, absolute_sigma)
    vbl, vbr = fl.covariance[1, 1], fr.covariance[1, 1]
    bl, br = fl.slope, fr.slope
    slope_z = float((bl - br) / math.sqrt(vbl + vbr)) if vbl + vbr > 0 else math.nan
    if side == "auto":
        if vbl > 0 and vbr > 0:
            wgt_l, wgt_r = (1 / vbl) / (1 / vbl + 1 / vbr), (1 / vbr) / (1 / vbl + 1 / vbr)
        else:
            wgt_l = wgt_r = 0.5
    else:
        wgt_l, wgt_r = (1.0, 0.0) if side == "left" else (0.0, 1.0)
    g = wgt_l * bl + wgt_r * br
    var_g = wgt_l**2 * vbl + wgt_r**2 * vbr
    step = fl.intercept - fr.intercept  # signed, left minus right
    var_step = fl.covariance[0, 0] + fr.covariance[0, 0]
    cov_g_step = wgt_l * fl.covariance[0, 1] - wgt_r * fr.covariance[0, 1]
    notes = []
    if step == 0:
        raise FitError("the fitted step at the boundary is exactly zero")
    if math.isfinite(slope_z) and abs(slope_z) > 3:
        notes.append(f"the slopes on the two sides differ by {abs(slope_z):.1f} σ "
                     "(flux continuity expects them equal)")
    if var_step > 0 and abs(step) < 2 * math.sqrt(var_step):
        notes.append(f"the step is only {abs(step) / math.sqrt(var_step):.1f} σ: "
                     "D_gb/δ is poorly determined (a lower limit)")
    if var_g > 0 and abs(g) < 2 * math.sqrt(var_g):
        notes.append(f"the gradient is only {abs(g) / math.sqrt(var_g):.1f} σ from zero: "
                     "D_gb/δ is poorly determined and biased high (|∂C/∂y| is used)")
    # C_right − C_left must have the sign of the gradient for flux to flow through
    if g != 0 and np.sign(-step) != np.sign(g) and abs(g) > 2 * math.sqrt(var_g):
        notes.append("the step and the gradient have opposite signs: not a flux-continuity "
                     "step")
    values: dict[str, Value] = {
        "boundary": Value("boundary", yb, 0.0 if given else math.nan, "m", SYMBOLS["boundary"]),
        "gradient_left": Value("gradient_left", bl, math.sqrt(vbl), "1/m",
                               SYMBOLS["gradient_left"]),
        "gradient_right": Value("gradient_right", br, math.sqrt(vbr), "1/m",
                                SYMBOLS["gradient_right"]),
        "gradient": Value("gradient", g, math.sqrt(var_g), "1/m", SYMBOLS["gradient"]),
        "C_left": Value("C_left", fl.intercept, math.sqrt(fl.covariance[0, 0]), "",
                        SYMBOLS["C_left"]),
        "C_right": Value("C_right", fr.intercept, math.sqrt(fr.covariance[0, 0]), "",
                         SYMBOLS["C_right"]),
        "delta_C": Value("delta_C", abs(step), math.sqrt(var_step), "", SYMBOLS["delta_C"]),
    }
    values.update(gb_diffusivity_from_step(
        g, step, d_bulk, gradient_error=math.sqrt(var_g), delta_C_error=math.sqrt(var_step),
        D_bulk_error=d_bulk_err, gb_width=delta, gb_width_error=delta_err,
        covariance=cov_g_step))
    parameters: dict[str, Any] = {
        "boundary_m": yb, "boundary_given": given, "window_m": [wl, wr], "exclude_m": excl,
        "D_bulk_m2_s": d_bulk, "D_bulk_error_m2_s": d_bulk_err, "gb_width_m": delta,
        "gb_width_error_m": delta_err, "side": side, "degree": degree, "smooth": smooth,
        "weights": "sigma" if s is not None else "unit",
    }
    if line is not None:
        parameters.update({"line_start_m": list(line.start), "line_end_m": list(line.end),
                           "line_width_m": line.width, "line_order": line.order})
    if _inputs is None:
        files = [source] if source and os.path.isfile(source) else []
        if source and not files:
            parameters["source"] = source
        provenance = Provenance.build("tracer.gb-step", files, parameters)
    else:
        provenance = Provenance.build("tracer.gb-step", _inputs, parameters)
    return BoundaryResult(
        values=values, provenance=provenance,
        title=f"grain-boundary step at {yb * _UM:.4g} µm" + (f" ({source})" if source else ""),
        x=x, fraction=y, sigma=s, left=fl, right=fr, boundary=yb, boundary_given=given,
        window=(wl, wr), exclude=excl, side=side, slope_z=slope_z, notes=tuple(notes),
        line=line,
    )


# --------------------------------------------------------------------------------------------
# many boundaries
# --------------------------------------------------------------------------------------------


def _stats(values: np.ndarray, errors: np.ndarray) -> dict[str, float]:
    n = values.size
    out = {"n": float(n)}
    if n == 0:
        return {**out, **dict.fromkeys(("mean", "sd", "sem", "median", "min", "max",
                                        "weighted_mean", "weighted_error"), math.nan)}
    sd = float(np.std(values, ddof=1)) if n > 1 else math.nan
    ok = np.isfinite(errors) & (errors > 0)
    if np.any(ok):
        w = 1.0 / errors[ok] ** 2
        wm = float(np.sum(w * values[ok]) / np.sum(w))
        we = float(1.0 / math.sqrt(np.sum(w)))
    else:
        wm = we = math.nan
    return {**out, "mean": float(np.mean(values)), "sd": sd,
            "sem": sd / math.sqrt(n) if n > 1 else math.nan,
            "median": float(np.median(values)), "min": float(np.min(values)),
            "max": float(np.max(values)), "weighted_mean": wm, "weighted_error": we}


@dataclass(frozen=True, kw_only=True)
class BoundaryBatch(Result):
    """Step analyses of many boundaries (seed 000, Table S2).

    Values: ``D_gb_over_delta`` (and ``D_gb`` with a boundary width) as the plain mean over
    the analysed boundaries with the standard error of the mean; ``n_boundaries``. The full
    statistics (mean, SD, SEM, median, min, max, inverse-variance weighted mean and its
    error) are in :attr:`statistics`.

    Attributes
    ----------
    results : tuple of BoundaryResult or None
        One per segment, None where the analysis failed.
    reasons : tuple of str or None
        Why each failed analysis failed (None where it succeeded).
    segments : tuple
        The ``(start, end)`` segments, m.
    statistics : dict
        ``{"D_gb_over_delta": {...}, "D_gb": {...}}`` of the statistics above (SI).
    """

    results: tuple[BoundaryResult | None, ...]
    reasons: tuple[str | None, ...]
    segments: tuple[tuple[tuple[float, float], tuple[float, float]], ...]
    statistics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @property
    def succeeded(self) -> list[BoundaryResult]:
        return [r for r in self.results if r is not None]

    def table(self) -> list[dict[str, Any]]:
        """One row (dict, SI) per segment, failed ones included with their reason."""
        rows = []
        for i, (res, why, seg) in enumerate(zip(self.results, self.reasons, self.segments,
                                                strict=True)):
            row: dict[str, Any] = {
                "index": i, "start_x": seg[0][0], "start_y": seg[0][1],
                "end_x": seg[1][0], "end_y": seg[1][1],
                "status": "ok" if res is not None else "failed", "reason": why,
            }
            keys = ("boundary", "gradient", "gradient_left", "gradient_right", "delta_C",
                    "D_gb_over_delta", "D_gb")
            for k in keys:
                v = res.values.get(k) if res is not None else None
                row[k] = v.value if v is not None else math.nan
                row[f"{k}_error"] = v.error if v is not None else math.nan
            point = res.boundary_point() if res is not None else None
            row["boundary_x"], row["boundary_y"] = point if point else (math.nan, math.nan)
            row["slope_z"] = res.slope_z if res is not None else math.nan
            row["notes"] = "; ".join(res.notes) if res is not None else ""
            rows.append(row)
        return rows

    def _extra_dict(self) -> dict[str, Any]:
        from ..results import json_safe

        return {"table": json_safe(self.table()), "statistics": json_safe(self.statistics)}

    def summary(self) -> str:
        lines = [super().summary()]
        for key, st in self.statistics.items():
            if not st or st["n"] == 0:
                continue
            unit = "m^2/s" if key == "D_gb" else "m/s"
            conv = [to_field(st[k], unit)[0] for k in ("mean", "sd", "median", "min", "max")]
            label = to_field(0.0, unit)[1]
            lines.append(f"  {SYMBOLS[key]}: mean {conv[0]:.3g}, SD {conv[1]:.3g}, "
                         f"median {conv[2]:.3g}, range {conv[3]:.3g} to {conv[4]:.3g} {label}")
        for i, why in enumerate(self.reasons):
            if why is not None:
                lines.append(f"  boundary {i} failed: {why}")
        return "\n".join(lines)

    def plot(self, ax=None):
        """``D_gb`` (or ``D_gb/δ``) per boundary with error bars and the mean ± SEM band.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made if omitted.

        Returns
        -------
        matplotlib Axes
        """
        ax = new_axes(ax)
        ok = [(i, r) for i, r in enumerate(self.results) if r is not None]
        key = "D_gb" if ok and "D_gb" in ok[0][1].values else "D_gb_over_delta"
        unit = "m^2/s" if key == "D_gb" else "m/s"
        label = to_field(0.0, unit)[1]
        idx = np.array([i for i, _ in ok])
        val = np.array([to_field(r.values[key].value, unit)[0] for _, r in ok])
        err = np.array([to_field(r.values[key].error, unit)[0] for _, r in ok])
        if idx.size:
            ax.errorbar(idx, val, yerr=err, fmt="o", ms=4, capsize=2, color="C0",
                        label="boundaries")
        st = self.statistics.get(key, {})
        if st and st.get("n", 0) > 0:
            mean = to_field(st["mean"], unit)[0]
            sem = to_field(st["sem"], unit)[0] if math.isfinite(st["sem"]) else 0.0
            ax.axhline(mean, color="C3", lw=1.2, label=f"mean {mean:.3g} {label}")
            ax.axhspan(mean - sem, mean + sem, color="C3", alpha=0.15, label="± SEM")
        failed = [i for i, r in enumerate(self.results) if r is None]
        for i in failed:
            ax.axvline(i, color="0.8", lw=0.8, ls="--")
        if val.size and np.all(val - err > 0) and val.max() / val.min() > 30:
            ax.set_yscale("log")
        ax.set_xlabel("boundary")
        ax.set_ylabel(f"{SYMBOLS[key]} ({label})")
        ax.legend(frameon=False)
        if self.title:
            ax.set_title(self.title)
        return ax


def _boundary_on_line(value, start: np.ndarray, end: np.ndarray, i: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, (tuple, list, np.ndarray)):
        p = _point(value, f"boundaries[{i}]")
        e = (end - start) / float(np.hypot(*(end - start)))
        return float((p - start) @ e)
    return _number(value, f"boundaries[{i}]", "m")


def segments_from(segments, unit: str = "m", *, file: str | None = None,
                  field: str = "segments") -> tuple[list, list | None]:
    """Grain-boundary segments in the one format the CLI, campaigns and the API share.

    Parameters
    ----------
    segments : path, or sequence
        A file of rows ``x0 y0 x1 y1 [y_boundary]`` (whitespace, tab or comma separated, ``#``
        comments; ``nan`` for a boundary not given), or a sequence of such rows
        (``[x0, y0, x1, y1]`` or with a 5th value), or of ``((x0, y0), (x1, y1))`` pairs.
    unit : str
        Length unit of the numbers (``"m"``, ``"um"``, ``"px"`` is not accepted: physical
        coordinates only).

    Returns
    -------
    segments : list of ((x0, y0), (x1, y1))
        In m.
    boundaries : list or None
        Per segment, the given boundary as the point ``(x0, y_boundary)`` (m) or None; None
        when no row gives one.

    Examples
    --------
    >>> segs, b = segments_from([[7.5, 6.3, 7.5, 24.3]], "um")
    >>> [round(v * 1e6, 3) for v in segs[0][1]], b
    ([7.5, 24.3], None)
    """
    from ..units import parse_quantity

    scale = parse_quantity(f"1 {unit}", "m", field=f"{field} unit", file=file)
    if isinstance(segments, (str, os.PathLike)):
        from ..io.text import read_table

        file = os.fspath(segments)
        table = read_table(segments)
        rows = np.asarray(table.data, dtype=float).tolist()
    else:
        rows = list(segments)
    out, given = [], []
    for i, row in enumerate(rows):
        try:
            if len(row) == 2:  # ((x0, y0), (x1, y1))
                (x0, y0), (x1, y1) = row
                values = [x0, y0, x1, y1]
            else:
                values = list(row)
            values = [float(v) for v in values]
        except (TypeError, ValueError):
            values = []
        if len(values) == 5 and math.isnan(values[4]):  # an empty boundary column
            values = values[:4]
        if len(values) not in (4, 5) or not all(math.isfinite(v) for v in values):
            raise InputError(f"segment {i} is {row!r}", file=file, field=f"{field}[{i}]",
                             expected="x0 y0 x1 y1 or x0 y0 x1 y1 y_boundary (finite numbers)")
        v = [c * scale for c in values]
        out.append(((v[0], v[1]), (v[2], v[3])))
        given.append((v[0], v[4]) if len(v) == 5 else None)
    if not out:
        raise InputError("no segments", file=file, field=field, expected="at least one segment")
    return out, (given if any(g is not None for g in given) else None)


def analyse_boundaries(
    fmap: FractionMap,
    segments,
    *,
    window: float | str | tuple[float, float],
    D_bulk: float | str,
    width: float | str | None = None,
    exclude: float | str = 0.0,
    boundaries: Sequence[Any] | None = None,
    D_bulk_error: float | str = 0.0,
    gb_width: float | str | None = None,
    gb_width_error: float | str = 0.0,
    side: str = "auto",
    degree: int = 2,
    smooth: int = 3,
    spacing: float | str | None = None,
    order: int = 0,
    progress: bool = False,
    segment_unit: str = "m",
) -> BoundaryBatch:
    """Step analyses of many boundaries of one map.

    Parameters
    ----------
    fmap : FractionMap
        The isotope-fraction map (pixel size and origin in m).
    segments : path or sequence
        A segment crossing each boundary, in any form :func:`segments_from` reads (a file,
        rows ``[x0, y0, x1, y1(, y_boundary)]`` or ``((x, y), (x, y))`` pairs), in
        ``segment_unit``; a 5th value gives the boundary position when ``boundaries`` is not
        given.
    segment_unit : str
        Length unit of ``segments`` (default m).
    window, exclude, D_bulk, D_bulk_error, gb_width, gb_width_error, side, degree, smooth
        As in :func:`analyse_boundary` (the same for every boundary).
    width, spacing, order
        As in :func:`extract_line`.
    boundaries : sequence, optional
        Known boundary per segment: None (locate the steepest step), a distance along the line
        from its start (m), or a physical point ``(x, y)`` (m, projected onto the line).
    progress : bool
        Show a progress bar (tqdm, on stderr).

    Returns
    -------
    BoundaryBatch
        Every boundary's result, failed ones kept with their reason, and the statistics of
        ``D_gb/δ`` and ``D_gb`` over the successful ones.

    Raises
    ------
    InputError
        Parameters that are wrong for every boundary (``D_bulk`` ≤ 0, a bad window...),
        or ``boundaries`` of another length than ``segments``. A boundary that cannot be
        analysed does not raise: it is recorded with its reason.
    """
    segs, given = segments_from(segments, segment_unit)
    segs = [(_point(a, f"segments[{i}] start"), _point(b, f"segments[{i}] end"))
            for i, (a, b) in enumerate(segs)]
    if boundaries is None:
        boundaries = given
    if boundaries is not None and len(boundaries) != len(segs):
        raise InputError(f"{len(boundaries)} boundaries for {len(segs)} segments",
                         field="boundaries", expected="one entry (or None) per segment")
    # validate the shared parameters once, so they raise instead of failing every boundary
    d_bulk = _number(D_bulk, "D_bulk", "m^2/s", positive=True)
    d_err = _number(D_bulk_error, "D_bulk_error", "m^2/s", non_negative=True)
    delta = None if gb_width is None else _number(gb_width, "gb_width", "m", positive=True)
    delta_err = _number(gb_width_error, "gb_width_error", "m", non_negative=True)
    win = _window(window)
    excl = _number(exclude, "exclude", "m", non_negative=True)
    if excl >= min(win):
        raise InputError(f"exclude = {excl:.3g} m is not below the window", field="exclude",
                         expected="0 <= exclude < window")
    side = _check_side(side)
    if degree not in (1, 2):
        raise InputError(f"degree = {degree!r}", field="degree", expected="1 or 2")
    files = [f for f in fmap.sources if os.path.isfile(f)]
    inputs = Provenance.build("tracer.gb-step", files).inputs
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(segs), desc="boundaries", unit="boundary")
    results: list[BoundaryResult | None] = []
    reasons: list[str | None] = []
    for i, (a, b) in enumerate(segs):
        try:
            yb = _boundary_on_line(boundaries[i] if boundaries is not None else None, a, b, i)
            line = extract_line(fmap, a, b, width=width, spacing=spacing, order=order)
            res = analyse_boundary(
                line, boundary=yb, window=win, exclude=excl, D_bulk=d_bulk,
                D_bulk_error=d_err, gb_width=delta, gb_width_error=delta_err, side=side,
                degree=degree, smooth=smooth, _inputs=inputs)
            results.append(res)
            reasons.append(None)
        except (InputError, FitError) as exc:
            results.append(None)
            reasons.append(str(exc))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    ok = [r for r in results if r is not None]
    statistics: dict[str, dict[str, float]] = {}
    keys = ["D_gb_over_delta"] + (["D_gb"] if delta is not None else [])
    values: dict[str, Value] = {}
    for key in keys:
        v = np.array([r.values[key].value for r in ok])
        e = np.array([r.values[key].error for r in ok])
        st = _stats(v, e)
        statistics[key] = st
        unit = "m^2/s" if key == "D_gb" else "m/s"
        values[key] = Value(key, st["mean"], st["sem"], unit, f"⟨{SYMBOLS[key]}⟩")
        # a ratio with a noisy gradient has a long upper tail: the median and the
        # inverse-variance mean are the robust summaries (seed 000 quotes the plain mean)
        mad = float(np.median(np.abs(v - st["median"]))) if v.size else math.nan
        median_error = 1.2533 * 1.4826 * mad / math.sqrt(v.size) if v.size > 1 else math.nan
        values[f"{key}_median"] = Value(f"{key}_median", st["median"], median_error, unit,
                                        f"median {SYMBOLS[key]}")
        values[f"{key}_weighted"] = Value(f"{key}_weighted", st["weighted_mean"],
                                          st["weighted_error"], unit,
                                          f"weighted mean {SYMBOLS[key]}")
    values["n_boundaries"] = Value("n_boundaries", float(len(ok)), 0.0, "", "boundaries")
    parameters = {
        "n_segments": len(segs), "n_failed": len(segs) - len(ok), "window_m": list(win),
        "exclude_m": excl, "width": width, "spacing": spacing, "order": order,
        "D_bulk_m2_s": d_bulk, "D_bulk_error_m2_s": d_err, "gb_width_m": delta,
        "gb_width_error_m": delta_err, "side": side, "degree": degree,
    }
    return BoundaryBatch(
        values=values, provenance=Provenance.build("tracer.gb-step.batch", inputs, parameters),
        title=f"grain-boundary steps: {len(ok)} of {len(segs)} boundaries analysed",
        results=tuple(results), reasons=tuple(reasons),
        segments=tuple(((float(a[0]), float(a[1])), (float(b[0]), float(b[1])))
                       for a, b in segs),
        statistics=statistics,
    )


# --------------------------------------------------------------------------------------------
# synthetic profile
# --------------------------------------------------------------------------------------------


def synthetic_boundary_profile(
    y,
    *,
    boundary: float,
    gradient: float,
    D_bulk: float,
    D_gb_over_delta: float,
    C_boundary: float = 0.5,
    curvature: float = 0.0,
    resolution: float = 0.0,
) -> np.ndarray:
    """A profile across a slow boundary that satisfies flux continuity exactly.

    ``C(y) = C_b + g u + c u² ± ΔC/2`` with ``u = y − y_gb``, where the step
    ``C_right − C_left = g D_bulk / (D_gb/δ)`` has the sign of the gradient (tracer flows down
    the gradient, through the boundary); optionally blurred by a Gaussian of standard deviation
    ``resolution`` (the SIMS beam), which turns the step into an error function and adds
    ``c·resolution²`` to both sides.

    Parameters
    ----------
    y : array_like
        Positions, m.
    boundary : float
        Boundary position ``y_gb``, m.
    gradient : float
        Bulk gradient ``g`` at the boundary (both sides), m⁻¹.
    D_bulk : float
        Bulk diffusivity, m² s⁻¹.
    D_gb_over_delta : float
        ``D_gb/δ``, m s⁻¹.
    C_boundary : float
        Mean of the two sides' values at the boundary.
    curvature : float
        ``c``, m⁻².
    resolution : float
        Gaussian blur (standard deviation), m.

    Returns
    -------
    ndarray
        The fraction at ``y``.
    """
    y = np.asarray(y, dtype=float)
    d = _number(D_bulk, "D_bulk", "m^2/s", positive=True)
    r = _number(D_gb_over_delta, "D_gb_over_delta", "m/s", positive=True)
    res = _number(resolution, "resolution", "m", non_negative=True)
    u = y - float(boundary)
    step = gradient * d / r  # C_right − C_left
    smooth = C_boundary + gradient * u + curvature * (u * u + res * res)
    if res > 0:
        jump = ndtr(u / res) - 0.5
    else:
        jump = np.where(u > 0, 0.5, np.where(u < 0, -0.5, 0.0))
    return smooth + step * jump
