"""Harrison's kinetic regimes of grain-boundary diffusion, and the Le Claire triple product.

For *fast* grain boundaries (``D_gb ≫ D_bulk``: metals, many oxides) a tracer depth profile of a
polycrystal depends on how far the tracer has moved through the grains, ``L = √(D_bulk t)``,
compared with the grain size ``l`` and the (segregation-weighted) boundary width ``s δ``
(Harrison 1961; Kaur, Mishin & Lojkowski 1995, ch. 2; Mishin, Herzig, Bernardini & Gust,
Int. Mater. Rev. 42 (1997) 155; Mehrer, *Diffusion in Solids* (2007), ch. 32):

* **A**: ``L`` exceeds the grain size; every grain is reached by several boundaries and the
  profile is one effective (Hart) diffusion.
* **B**: ``s δ ≪ L ≪ l``: isolated boundaries feed the grains; the tail of the layer-averaged
  profile is linear in ``ln C̄`` against ``y^(6/5)`` and gives the triple product
  ``P = s δ D_gb`` (Le Claire 1963):
  ``s δ D_gb = 1.322 √(D_bulk / t) (−∂ ln C̄ / ∂ y^(6/5))^(−5/3)``, valid for
  ``β = s δ D_gb / (2 D_bulk √(D_bulk t)) > 10`` (Le Claire's parameter).
* **C**: ``L ≲ s δ``: bulk diffusion is negligible; only the boundaries carry tracer and the
  profile gives ``D_gb`` itself.

Numerical criteria used here (the "≫" made explicit; each is a keyword argument):

==========  ====================================================================================
regime      condition
==========  ====================================================================================
A           ``l / L ≤ 0.8``, i.e. ``L ≥ l / 0.8`` (Kaur-Mishin-Lojkowski, Mehrer §32.3)
C           ``α = s δ / (2 L) ≥ 1`` (Mishin & Herzig; lattice Monte Carlo puts the onset of pure
            C kinetics nearer α = 5, Belova, Murch & Fiedler 2010)
B           ``α ≤ 0.1`` (same sources) and ``l / L ≥ 5.5``: the bulk diffusion zones of
            neighbouring boundaries, reaching ``2 erfc⁻¹(0.05) L ≈ 2.8 L`` on each side, do not
            overlap (this isolation threshold is ionscale's choice; Harrison only says ≪)
AB          ``0.8 < l / L < 5.5`` with ``α ≤ 0.1``: transition (Divinski & Larikov's AB regime)
BC          ``0.1 < α < 1``: transition between B and C
==========  ====================================================================================

The classification is geometric: it assumes the boundaries are the fast paths. When ``D_gb`` is
given and is not larger than ``D_bulk`` (LLTO, seed 000), the regimes do not apply and the
message says so: use the step analysis of :mod:`ionscale.tracer.grain_boundary` and the
series model instead.

SI throughout: ``D`` in m² s⁻¹, ``t`` in s, lengths in m, ``s δ D_gb`` in m³ s⁻¹.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FitError, InputError
from ..fitting import fit_curve
from ..results import Provenance, Result, Value, new_axes
from ..units import parse_quantity
from .grain_boundary import _safe_start

#: Le Claire's constant in ``s δ D_gb = 1.322 √(D/t) (−∂ ln C̄/∂y^(6/5))^(−5/3)``.
LE_CLAIRE_CONSTANT = 1.322

#: Default thresholds of :func:`harrison_regime`.
THRESHOLDS = {"a_grain_ratio": 0.8, "b_grain_ratio": 5.5, "b_alpha": 0.1, "c_alpha": 1.0}

_UM = 1e6


def _positive(value, name: str, unit: str) -> float:
    v = parse_quantity(value, unit, field=name)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name} = {value!r} is not positive and finite", field=name,
                         expected=f"{name} > 0 ({unit or 'dimensionless'})")
    return v


def _non_negative(value, name: str, unit: str) -> float:
    v = parse_quantity(value, unit, field=name)
    if not (math.isfinite(v) and v >= 0):
        raise InputError(f"{name} = {value!r} is negative or not finite", field=name,
                         expected=f"{name} >= 0 ({unit or 'dimensionless'})")
    return v


@dataclass(frozen=True, kw_only=True)
class RegimeInfo(Result):
    """Harrison regime of a grain-boundary diffusion experiment.

    Values: ``diffusion_length`` ``L = √(D t)`` (m), ``alpha`` ``= s δ / (2 L)``,
    ``grain_ratio`` ``= l / L`` and, with ``D_gb``, ``beta`` (Le Claire's
    ``s δ D_gb / (2 D L)``).

    Attributes
    ----------
    regime : str
        ``"A"``, ``"AB"``, ``"B"``, ``"BC"`` or ``"C"``.
    message : str
        What the regime means for the analysis.
    fast_boundaries : bool or None
        Whether ``D_gb > D_bulk`` (None when ``D_gb`` was not given).
    thresholds : dict
        The criteria used.
    """

    regime: str
    message: str
    fast_boundaries: bool | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return "\n".join([super().summary(), f"  regime {self.regime}: {self.message}"])

    def plot(self, ax=None):
        """The experiment on the (l/L, α) plane with the regime boundaries; returns the Axes."""
        ax = new_axes(ax)
        th = self.thresholds
        x, y = self.values["grain_ratio"].value, self.values["alpha"].value
        lo_x = min(x, th["a_grain_ratio"]) / 10
        hi_x = max(x, th["b_grain_ratio"]) * 10
        lo_y = min(y, th["b_alpha"]) / 10
        hi_y = max(y, th["c_alpha"]) * 10
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo_x, hi_x)
        ax.set_ylim(lo_y, hi_y)
        ax.axvline(th["a_grain_ratio"], color="0.5", lw=0.8)
        ax.axvline(th["b_grain_ratio"], color="0.5", lw=0.8, ls="--")
        ax.axhline(th["b_alpha"], color="0.5", lw=0.8, ls="--")
        ax.axhline(th["c_alpha"], color="0.5", lw=0.8)
        ax.plot([x], [y], "o", color="C3", ms=7, label=f"regime {self.regime}")
        ax.text(math.sqrt(lo_x * th["a_grain_ratio"]), math.sqrt(lo_y * th["b_alpha"]), "A",
                ha="center")
        ax.text(math.sqrt(th["b_grain_ratio"] * hi_x), math.sqrt(lo_y * th["b_alpha"]), "B",
                ha="center")
        ax.text(math.sqrt(th["b_grain_ratio"] * hi_x), math.sqrt(th["c_alpha"] * hi_y), "C",
                ha="center")
        ax.set_xlabel("grain size / √(D t)")
        ax.set_ylabel("α = sδ / (2√(D t))")
        ax.legend(frameon=False)
        return ax


_MESSAGES = {
    "A": "bulk diffusion length exceeds the grain size: one effective (Hart) diffusivity "
         "describes the profile",
    "AB": "between A and B: boundary tails overlap; Le Claire's analysis is approximate",
    "B": "isolated fast boundaries: the profile tail gives s·δ·D_gb (Le Claire)",
    "BC": "between B and C: the boundary is not thin compared with the bulk diffusion length",
    "C": "bulk diffusion negligible: the profile gives D_gb directly",
}


def harrison_regime(
    D_bulk: float | str,
    t: float | str,
    grain_size: float | str,
    gb_width: float | str,
    *,
    segregation: float = 1.0,
    D_gb: float | str | None = None,
    a_grain_ratio: float = THRESHOLDS["a_grain_ratio"],
    b_grain_ratio: float = THRESHOLDS["b_grain_ratio"],
    b_alpha: float = THRESHOLDS["b_alpha"],
    c_alpha: float = THRESHOLDS["c_alpha"],
) -> RegimeInfo:
    """Classify an experiment into Harrison's regimes A, B, C (with AB and BC transitions).

    Parameters
    ----------
    D_bulk : float or str
        Bulk (lattice) diffusivity, m² s⁻¹ (or ``"2.6e-8 cm^2/s"``).
    t : float or str
        Anneal time, s (or ``"16 d"``).
    grain_size : float or str
        Grain size (boundary spacing) ``l``, m.
    gb_width : float or str
        Boundary width ``δ``, m (typically 0.5 nm).
    segregation : float
        Segregation factor ``s`` (1 for self-diffusion).
    D_gb : float or str, optional
        Boundary diffusivity, m² s⁻¹: adds Le Claire's β and says whether the boundaries are
        fast at all.
    a_grain_ratio, b_grain_ratio, b_alpha, c_alpha : float
        Thresholds (module table): A if ``l/L ≤ a_grain_ratio``; C if ``α ≥ c_alpha``; B if
        ``α ≤ b_alpha`` and ``l/L ≥ b_grain_ratio``.

    Returns
    -------
    RegimeInfo

    Examples
    --------
    LLTO at 22 °C after 59 h (seed 000): D_bulk = 2.6e-8 cm² s⁻¹, l = 16 µm, δ = 0.5 nm:

    >>> info = harrison_regime("2.6e-8 cm^2/s", "59 h", "16 um", "0.5 nm", D_gb="7.2e-14 cm^2/s")
    >>> info.regime, round(info["grain_ratio"].value, 3), info.fast_boundaries
    ('A', 0.022, False)
    """
    d = _positive(D_bulk, "D_bulk", "m^2/s")
    time = _positive(t, "t", "s")
    grain = _positive(grain_size, "grain_size", "m")
    delta = _positive(gb_width, "gb_width", "m")
    s = _positive(segregation, "segregation", "")
    th = {"a_grain_ratio": _positive(a_grain_ratio, "a_grain_ratio", ""),
          "b_grain_ratio": _positive(b_grain_ratio, "b_grain_ratio", ""),
          "b_alpha": _positive(b_alpha, "b_alpha", ""),
          "c_alpha": _positive(c_alpha, "c_alpha", "")}
    if not th["a_grain_ratio"] < th["b_grain_ratio"] or not th["b_alpha"] < th["c_alpha"]:
        raise InputError("thresholds out of order", field="thresholds",
                         expected="a_grain_ratio < b_grain_ratio and b_alpha < c_alpha")
    L = math.sqrt(d * time)
    alpha = s * delta / (2.0 * L)
    ratio = grain / L
    if ratio <= th["a_grain_ratio"]:
        regime = "A"
    elif alpha >= th["c_alpha"]:
        regime = "C"
    elif alpha > th["b_alpha"]:
        regime = "BC"
    elif ratio >= th["b_grain_ratio"]:
        regime = "B"
    else:
        regime = "AB"
    values = {
        "diffusion_length": Value("diffusion_length", L, math.nan, "m", "√(D t)"),
        "alpha": Value("alpha", alpha, math.nan, "", "α"),
        "grain_ratio": Value("grain_ratio", ratio, math.nan, "", "l/√(D t)"),
    }
    message = _MESSAGES[regime]
    fast = None
    if D_gb is not None:
        dgb = _positive(D_gb, "D_gb", "m^2/s")
        fast = dgb > d
        beta = s * delta * dgb / (2.0 * d * L)
        values["beta"] = Value("beta", beta, math.nan, "", "β")
        if not fast:
            message = ("D_gb ≤ D_bulk: the boundaries are not fast paths and Harrison's "
                       "regimes do not apply; analyse the steps at the boundaries "
                       "(tracer.grain_boundary) and use the series model")
        elif regime == "B" and beta < 10:
            message += f"; but β = {beta:.3g} < 10, outside Le Claire's range"
    parameters: dict[str, Any] = {"D_bulk_m2_s": d, "t_s": time, "grain_size_m": grain,
                                  "gb_width_m": delta, "segregation": s, **th}
    if D_gb is not None:
        parameters["D_gb_m2_s"] = dgb
    return RegimeInfo(values=values,
                      provenance=Provenance.build("tracer.regime", (), parameters),
                      title=f"Harrison regime {regime}", regime=regime, message=message,
                      fast_boundaries=fast, thresholds=th)


# --------------------------------------------------------------------------------------------
# Le Claire
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LeClaireResult(Result):
    """Triple product ``s δ D_gb`` from the tail of a profile (Le Claire 1963).

    Values: ``slope`` (``∂ ln C̄/∂ y^(6/5)``, m^(−6/5)), ``triple_product`` (m³ s⁻¹),
    ``beta`` (Le Claire's parameter) and, with a boundary width, ``D_gb`` (m² s⁻¹) and
    ``alpha``.

    Attributes
    ----------
    y, fraction : ndarray
        The whole profile (m, fraction).
    used : ndarray of bool
        Points in the fit.
    time : float
        Anneal time, s.
    notes : tuple of str
        Warnings (β < 10, fit range close to the surface).
    """

    y: np.ndarray
    fraction: np.ndarray
    used: np.ndarray
    time: float
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        return "\n".join([super().summary(), *[f"  note: {n}" for n in self.notes]])

    def plot(self, ax=None):
        """``ln C`` against ``y^(6/5)`` (µm^(6/5)) with the fitted line; returns the Axes."""
        ax = new_axes(ax)
        pos = (self.fraction > 0) & (self.y >= 0)
        z = (self.y * _UM) ** 1.2
        ax.plot(z[pos & ~self.used], np.log(self.fraction[pos & ~self.used]), "o", ms=3,
                mfc="none", color="0.6", label="not fitted")
        ax.plot(z[self.used], np.log(self.fraction[self.used]), "o", ms=3, color="C0",
                label="tail")
        a = self.fit.value("a") if self.fit is not None else 0.0
        m = self.values["slope"].value
        zz = np.linspace(z[self.used].min(), z[self.used].max(), 50)
        ax.plot(zz, a + m * zz / _UM**1.2, "-", color="C3",
                label=str(self.values["triple_product"]))
        ax.set_xlabel("y^(6/5) (µm^(6/5))")
        ax.set_ylabel("ln C")
        ax.legend(frameon=False)
        return ax


def _line(z, a, b):
    return a + b * z


def _line_jac(z, a, b):
    return np.column_stack([np.ones_like(z), z])


def le_claire_triple_product(
    y,
    C,
    *,
    D_bulk: float | str,
    t: float | str,
    sigma=None,
    fit_range: tuple[float | None, float | None] | None = None,
    D_bulk_error: float | str = 0.0,
    gb_width: float | str | None = None,
    segregation: float = 1.0,
    source: str | None = None,
) -> LeClaireResult:
    """``s δ D_gb`` from the tail of a layer-averaged depth profile (Harrison B regime).

    Fits ``ln C = a + m y^(6/5)`` by weighted least squares and returns
    ``s δ D_gb = 1.322 √(D_bulk / t) (−m)^(−5/3)``, with the error of ``m`` and of ``D_bulk``
    propagated to first order (``σ_P/P = √((5/3 σ_m/m)² + (σ_D/2D)²)``).

    Parameters
    ----------
    y : array_like
        Depth below the surface, m (≥ 0 in the fitted range).
    C : array_like
        Tracer concentration or fraction above background (> 0 in the fitted range).
    D_bulk : float or str
        Bulk diffusivity, m² s⁻¹.
    t : float or str
        Anneal time, s.
    sigma : array_like, optional
        Standard errors of ``C`` (``σ_lnC = σ/C``). Unit weights otherwise (covariance scaled
        by χ²_red).
    fit_range : (float or None, float or None), optional
        Depths ``lo ≤ y ≤ hi`` (m) of the tail to fit; default all points.
    D_bulk_error : float or str
        Standard error of ``D_bulk``, m² s⁻¹.
    gb_width : float or str, optional
        ``δ``, m: adds ``D_gb = P / (s δ)`` and ``α``.
    segregation : float
        ``s`` (1 for self-diffusion).
    source : str, optional
        File the profile came from (provenance).

    Returns
    -------
    LeClaireResult

    Raises
    ------
    InputError
        Mismatched or non-finite arrays, negative depths or non-positive ``C`` in the range,
        fewer than three points, bad ``D_bulk`` or ``t``.
    FitError
        ``ln C`` does not decrease with ``y^(6/5)``.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.linspace(5e-6, 30e-6, 40)
    >>> r = le_claire_triple_product(y, np.exp(-2e6 * y**1.2), D_bulk=1e-17, t=3600.0)
    >>> f"{r['triple_product'].value:.4g}", f"{1.322 * (1e-17 / 3600) ** 0.5 * 2e6 ** (-5 / 3):.4g}"
    ('2.195e-21', '2.195e-21')
    """
    d = _positive(D_bulk, "D_bulk", "m^2/s")
    time = _positive(t, "t", "s")
    d_err = _non_negative(D_bulk_error, "D_bulk_error", "m^2/s")
    s_seg = _positive(segregation, "segregation", "")
    try:
        yy = np.asarray(y, dtype=float).reshape(-1)
        cc = np.asarray(C, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("y and C must be numbers", file=source, field="y, C",
                         expected="arrays of depths (m) and concentrations") from None
    if yy.shape != cc.shape:
        raise InputError(f"{cc.size} concentrations for {yy.size} depths", file=source,
                         field="C", expected="one concentration per depth")
    ss = None
    if sigma is not None:
        ss = np.broadcast_to(np.asarray(sigma, dtype=float), yy.shape)
    used = np.isfinite(yy) & np.isfinite(cc)
    if ss is not None:
        used &= np.isfinite(ss)
    if fit_range is not None:
        lo, hi = fit_range
        if lo is not None:
            used &= yy >= parse_quantity(lo, "m", field="fit_range")
        if hi is not None:
            used &= yy <= parse_quantity(hi, "m", field="fit_range")
    if int(used.sum()) < 3:
        raise InputError(f"only {int(used.sum())} valid points in the fit range", file=source,
                         field="fit_range", expected="at least three points in the tail")
    if np.any(yy[used] < 0):
        raise InputError("negative depths in the fit range", file=source, field="y",
                         expected="depths y >= 0 below the surface (set fit_range)")
    if np.any(cc[used] <= 0):
        raise InputError("C ≤ 0 in the fit range (ln C undefined)", file=source, field="C",
                         expected="C > 0 above background; subtract it and trim the range")
    if ss is not None and np.any(ss[used] <= 0):
        raise InputError("standard errors must be positive", file=source, field="sigma",
                         expected="sigma > 0")
    z = yy[used] ** 1.2
    lnc = np.log(cc[used])
    s_ln = None if ss is None else ss[used] / cc[used]
    if np.ptp(z) == 0:
        raise InputError("all depths in the fit range are equal", file=source, field="y",
                         expected="a range of depths")
    scale = float(np.max(z))  # fit on z / max(z): coefficients of the data's size
    zs = z / scale
    start = np.polyfit(zs, lnc, 1, w=None if s_ln is None else 1.0 / s_ln)[::-1]
    start = _safe_start(start, lnc)
    fit = fit_curve(_line, zs, lnc, {"a": float(start[0]), "b": float(start[1])},
                    sigma=s_ln, jacobian=_line_jac)
    m, sm = fit.value("b") / scale, fit.error("b") / scale
    if not m < 0:
        raise FitError(f"ln C does not decrease with y^(6/5) (slope {m:.3g} m^(-6/5)); the "
                       "fitted range is not a grain-boundary tail")
    P = LE_CLAIRE_CONSTANT * math.sqrt(d / time) * (-m) ** (-5.0 / 3.0)
    rel = math.sqrt((5.0 / 3.0 * sm / m) ** 2 + (0.5 * d_err / d) ** 2)
    L = math.sqrt(d * time)
    beta = P / (2.0 * d * L)
    values = {
        "slope": Value("slope", m, sm, "m^(-6/5)", "∂lnC/∂y^(6/5)"),
        "triple_product": Value("triple_product", P, P * rel, "m^3/s", "sδD*_gb"),
        "beta": Value("beta", beta, beta * rel, "", "β"),
    }
    notes = []
    delta = None
    if gb_width is not None:
        delta = _positive(gb_width, "gb_width", "m")
        dgb = P / (s_seg * delta)
        values["D_gb"] = Value("D_gb", dgb, dgb * rel, "m^2/s", "D*_gb")
        values["alpha"] = Value("alpha", s_seg * delta / (2.0 * L), math.nan, "", "α")
    if beta < 10:
        notes.append(f"β = {beta:.3g} < 10: outside the range of Le Claire's relation")
    if float(yy[used].min()) < 3.0 * L:
        notes.append(f"the fit starts at {yy[used].min() * _UM:.3g} µm, within 3√(Dt) = "
                     f"{3 * L * _UM:.3g} µm of the surface, where bulk diffusion contributes")
    files = [source] if source and os.path.isfile(source) else []
    parameters: dict[str, Any] = {
        "D_bulk_m2_s": d, "D_bulk_error_m2_s": d_err, "t_s": time, "fit_range": fit_range,
        "gb_width_m": delta,
        "segregation": s_seg, "n_points": int(used.sum()),
        "weights": "sigma" if ss is not None else "unit",
    }
    if source and not files:
        parameters["source"] = source
    return LeClaireResult(
        values=values, fit=fit,
        provenance=Provenance.build("tracer.le-claire", files, parameters),
        title="Le Claire triple product" + (f" ({source})" if source else ""),
        y=yy, fraction=cc, used=used, time=time, notes=tuple(notes),
    )
