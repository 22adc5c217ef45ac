"""Figures the report draws from the store itself (across analyses and techniques)."""

from __future__ import annotations

import io
import math
from collections import defaultdict

import numpy as np


def diffusivity_overview(rows: list[dict]) -> bytes | None:
    """Multi-technique Arrhenius plot of every stored diffusivity of one sample (seed 000,
    Fig. 5b): log D against 1000/T, one series per method and quantity, error bars.

    Parameters
    ----------
    rows : list of dict
        Result rows of one sample from :meth:`ionscale.store.Store.results` (SI values).

    Returns
    -------
    bytes or None
        PNG, or None when fewer than two temperatures carry a diffusivity.
    """
    series: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for r in rows:
        T, value = r.get("temperature_K"), r.get("value")
        if r.get("unit") != "m^2/s" or T is None or value is None or value <= 0:
            continue
        error = r.get("error")
        label = f"{r.get('symbol') or r['name']} ({r['method']})"
        series[label].append((float(T), float(value),
                              float(error) if error is not None and math.isfinite(error) else 0.0))
    temperatures = {t for points in series.values() for t, _, _ in points}
    if len(temperatures) < 2:
        return None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.2), layout="constrained")
    for i, (label, points) in enumerate(sorted(series.items())):
        points.sort()
        T, D, E = (np.array(v) for v in zip(*points, strict=True))
        ax.errorbar(1000.0 / T, D * 1e4, yerr=E * 1e4, fmt="os^vDP<>"[i % 8], ms=5, capsize=2,
                    ls="-" if len(points) > 2 else "none", lw=0.8, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("1000/T (K⁻¹)")
    ax.set_ylabel("D (cm² s⁻¹)")
    ax.set_title("diffusivities of this sample, all techniques", fontsize=10)
    ax.legend(fontsize=7)
    top = ax.secondary_xaxis("top", functions=(lambda x: 1000.0 / np.maximum(x, 1e-9) - 273.15,
                                               lambda c: 1000.0 / (c + 273.15)))
    top.set_xlabel("T (°C)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
