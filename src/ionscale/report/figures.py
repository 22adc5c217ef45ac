"""Figures the report draws from the store itself (across analyses, techniques and samples).

Each function takes result rows of :meth:`ionscale.store.Store.results` (SI values) and returns a
matplotlib figure in the ionscale style (:mod:`ionscale.report.style`), or None when there is
nothing to plot; :func:`ionscale.report.style.save_figure` turns it into PNG and SVG bytes.
Results of failed analyses are left out; those with warnings are drawn as open markers.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from .style import DOUBLE, SINGLE, save_figure, style

_MARKERS = "os^vDP<>Xph*"

#: quantity kinds of the Arrhenius overviews: SI unit -> (axis label, field factor)
_KINDS = {"m^2/s": ("D (cm² s⁻¹)", 1e4), "S/m": ("σ (S cm⁻¹)", 1e-2)}


def _series(rows: list[dict], unit: str, by_sample: bool):
    """``{label: [(T, value, error, warning)]}`` of the rows in ``unit`` with a temperature."""
    series: dict[str, list[tuple[float, float, float, bool]]] = defaultdict(list)
    for r in rows:
        T, value = r.get("temperature_K"), r.get("value")
        if r.get("unit") != unit or T is None or value is None or value <= 0:
            continue
        status = r.get("status", "ok")
        if status == "failed":
            continue
        error = r.get("error")
        label = f"{r.get('symbol') or r['name']} ({r['method']})"
        if by_sample:
            label = f"{r.get('sample', '?')}: {label}"
        series[label].append((float(T), float(value),
                              float(error) if error is not None and math.isfinite(error)
                              else 0.0, status == "warning"))
    return series


def _draw(ax, series, factor: float, colours: dict[str, str] | None = None) -> None:
    for i, (label, points) in enumerate(sorted(series.items())):
        points.sort()
        T = np.array([p[0] for p in points])
        y = np.array([p[1] for p in points]) * factor
        e = np.array([p[2] for p in points]) * factor
        warn = np.array([p[3] for p in points])
        colour = (colours or {}).get(label.split(": ", 1)[0]) if colours else None
        kw = {"color": colour} if colour else {}
        line = ax.errorbar(1000.0 / T, y, yerr=e, fmt=_MARKERS[i % len(_MARKERS)], ms=3.5,
                           ls="-" if len(points) > 2 else "none", lw=0.8, label=label, **kw)
        if warn.any():  # a result with warnings: open marker
            c = line.lines[0].get_color()
            ax.plot(1000.0 / T[warn], y[warn], _MARKERS[i % len(_MARKERS)], ms=3.5, mfc="white",
                    mec=c, ls="none")


def _celsius_axis(ax) -> None:
    top = ax.secondary_xaxis("top", functions=(lambda x: 1000.0 / np.maximum(x, 1e-9) - 273.15,
                                               lambda c: 1000.0 / np.maximum(c + 273.15,
                                                                             1e-9)))
    top.set_xlabel("T (°C)")


def diffusivity_overview_figure(rows: list[dict]):
    """Multi-technique Arrhenius plot of every stored diffusivity of one sample (seed 000,
    Fig. 5b): log D against 1000/T, one series per method and quantity, error bars.

    Returns
    -------
    matplotlib Figure or None
        None when fewer than two temperatures carry a diffusivity.
    """
    series = _series(rows, "m^2/s", by_sample=False)
    if len({t for points in series.values() for t, *_ in points}) < 2:
        return None
    import matplotlib.pyplot as plt

    with style():
        fig, ax = plt.subplots(figsize=(SINGLE, 2.9), layout="constrained")
        _draw(ax, series, 1e4)
        ax.set_yscale("log")
        ax.set_xlabel("1000/T (K⁻¹)")
        ax.set_ylabel("D (cm² s⁻¹)")
        ax.set_title("diffusivities of this sample, all techniques")
        if len(series) <= 6:
            ax.legend(loc="upper right")
        else:  # too many to sit on the data: below it, the figure taller to hold them
            fig.set_size_inches(SINGLE, 2.9 + 0.14 * len(series))
            fig.legend(loc="outside lower center", ncols=1, fontsize="small")
        _celsius_axis(ax)
    return fig


def diffusivity_overview(rows: list[dict]) -> bytes | None:
    """PNG (300 dpi) of :func:`diffusivity_overview_figure`, or None."""
    fig = diffusivity_overview_figure(rows)
    return None if fig is None else save_figure(fig)["png"]


def arrhenius_overview_figure(rows: list[dict]):
    """Arrhenius plot of every sample: diffusivities (left) and conductivities (right, when
    stored) against 1000/T, one colour per sample, one marker per quantity and method.

    Parameters
    ----------
    rows : list of dict
        Result rows of every sample (:meth:`ionscale.store.Store.results`).

    Returns
    -------
    matplotlib Figure or None
        None when no quantity is stored at two temperatures or more.
    """
    kinds = []
    for unit, (ylabel, factor) in _KINDS.items():
        series = _series(rows, unit, by_sample=True)
        if len({t for points in series.values() for t, *_ in points}) >= 2:
            kinds.append((series, ylabel, factor))
    if not kinds:
        return None
    import matplotlib.pyplot as plt

    samples = sorted({label.split(": ", 1)[0] for series, *_ in kinds for label in series})
    colours = {s: f"C{i % 10}" for i, s in enumerate(samples)}
    from matplotlib.lines import Line2D

    with style():
        # one legend below both panels, one entry per sample (its colour): every series of a
        # campaign would not fit at a journal width; each sample's own diffusivity figure
        # names its series
        fig, axes = plt.subplots(1, len(kinds),
                                 figsize=(DOUBLE, 3.0 + 0.16 * math.ceil(len(samples) / 2)),
                                 layout="constrained", squeeze=False)
        for ax, (series, ylabel, factor) in zip(axes[0], kinds, strict=True):
            _draw(ax, series, factor, colours)
            ax.set_yscale("log")
            ax.set_xlabel("1000/T (K⁻¹)")
            ax.set_ylabel(ylabel)
            _celsius_axis(ax)
        handles = [Line2D([], [], color=colours[s], marker="o", ms=3.5, lw=0.8)
                   for s in samples]
        fig.legend(handles, samples, loc="outside lower center", ncols=2, fontsize="small")
        fig.suptitle("Arrhenius plot of all samples (colour: sample; open markers: results "
                     "with warnings)")
    return fig
