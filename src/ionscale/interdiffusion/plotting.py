"""Figures shared by the interdiffusion results: profile, D̃(C) on a log axis, residuals."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..results import new_axes

UM = 1e6


def overview(result, kinds=("profile", "diffusivity", "residuals")):
    """Draw ``kinds`` side by side on a new figure; return the first Axes."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(kinds), figsize=(4.8 * len(kinds), 3.8),
                             layout="constrained")
    axes = np.atleast_1d(axes)
    for a, k in zip(axes, kinds, strict=True):
        result.plot(ax=a, kind=k)
    if result.title:
        fig.suptitle(result.title + ("" if result.status == "ok" else
                                     f"  [{result.status.upper()}]"), fontsize="medium")
    return axes[0]


def check_kind(kind: str, allowed=("profile", "diffusivity", "residuals")) -> None:
    if kind not in allowed:
        raise InputError(f"unknown plot kind {kind!r}", field="kind",
                         expected=f"one of {list(allowed)} or 'overview'")


def draw_profile(ax, *, x, c, sigma=None, x_fit=None, c_fit=None, fit_label="smoothed",
                 x_matano=None, interfaces=(), species="C", x_initial=None):
    ax = new_axes(ax)
    style = dict(fmt="o", ms=3, mfc="none", color="C0", elinewidth=0.6, capsize=0)
    ax.errorbar(x * UM, c, yerr=sigma, label="measured", **style)
    if x_fit is not None:
        ax.plot(x_fit * UM, c_fit, "-", color="C3", lw=1.5, label=fit_label)
    if x_matano is not None and np.isfinite(x_matano):
        ax.axvline(x_matano * UM, color="0.3", ls="--", lw=0.9,
                   label=f"Matano plane {x_matano * UM:.4g} µm")
    if x_initial is not None and np.isfinite(x_initial):
        ax.axvline(x_initial * UM, color="C2", ls=":", lw=0.9,
                   label=f"initial interface {x_initial * UM:.4g} µm")
    for v in interfaces:
        ax.axvline(v * UM, color="0.6", lw=0.6)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel(f"{species}")
    ax.legend(fontsize="x-small", frameon=False)
    return ax


def draw_diffusivity(ax, *, c, D, low=None, high=None, band_label="±1σ", label="D̃",
                     unmeasurable=None, species="C", others=()):
    ax = new_axes(ax)
    c = np.asarray(c, float)
    D = np.asarray(D, float)
    ok = np.isfinite(D) & (D > 0)
    ax.plot(c, np.where(ok, D, np.nan), "-", color="C3", lw=1.5, label=label)  # gaps break
    if low is not None and high is not None:
        lo, hi = np.asarray(low, float), np.asarray(high, float)
        band = ok & np.isfinite(lo) & np.isfinite(hi) & (lo > 0)
        ax.fill_between(c, np.where(band, lo, np.nan), np.where(band, hi, np.nan),
                        color="C3", alpha=0.25, lw=0, label=band_label)
    if unmeasurable is not None and np.any(unmeasurable & ok):
        u = unmeasurable & ok
        ax.plot(c[u], D[u], ".", ms=3, color="0.5", label="unmeasurable")
    for other in others:
        ax.plot(other["c"], other["D"], other.get("fmt", "--"), color=other.get("color", "C0"),
                lw=1.2, ms=3, label=other.get("label"))
    ax.set_yscale("log")
    ax.set_xlabel(species)
    ax.set_ylabel("D̃ (m² s⁻¹)")
    ax.legend(fontsize="x-small", frameon=False)
    return ax


def draw_residuals(ax, *, x, r, sigma=None):
    ax = new_axes(ax)
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.errorbar(x * UM, r, yerr=sigma, fmt="o", ms=3, color="C0", mfc="none", elinewidth=0.6)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("measured − model")
    return ax
