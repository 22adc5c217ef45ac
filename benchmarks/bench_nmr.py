"""PFG-NMR fit benchmarks (run on demand: ``make bench``; not a timed test).

Fits per second of :func:`ionscale.nmr.pfg.fit_pfg` on a 16-point decay with 0.5 % noise, one
core, for each model (including its automatic multi-start), plus :func:`compare_pfg_models`
(iso + aniso) and the b-value / powder-model evaluations behind them.
"""

from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from ionscale.nmr.bvalues import b_value  # noqa: E402
from ionscale.nmr.data import PFGData  # noqa: E402
from ionscale.nmr.models import (  # noqa: E402
    isotropic,
    lognormal_distribution,
    multi_exponential,
    powder_anisotropic,
)
from ionscale.nmr.pfg import compare_pfg_models, fit_pfg  # noqa: E402

N = 16
S0 = 1000.0


def decay_case(model: str) -> tuple[PFGData, dict]:
    """A 16-point decay of ``model`` (seed-001 LLTO values for aniso) and fit_pfg kwargs."""
    rng = np.random.default_rng(0)
    b = b_value(np.linspace(0.3, 6.2, N), 2e-3, 0.1, "7Li")   # δ = 2 ms, Δ = 100 ms
    if model == "iso":
        clean, kw = isotropic(b, 2.6e-11, S0), {"model": "iso"}
    elif model == "aniso":
        clean, kw = powder_anisotropic(b, 6.1e-11, 3.3e-12, S0), {"model": "aniso"}
    elif model == "multi-2":
        clean = multi_exponential(b, [6e-11, 4e-12], [0.5, 0.5], S0)
        kw = {"model": "multi", "n_components": 2}
    elif model == "multi-3":
        b = np.linspace(0, 3e12, N)
        clean = multi_exponential(b, [1e-10, 1e-11, 1e-12], [0.3, 0.3, 0.4], S0)
        kw = {"model": "multi", "n_components": 3}
    else:
        clean, kw = lognormal_distribution(b, 1e-11, 0.8, S0), {"model": "lognormal"}
    sigma = np.full(N, 0.005 * S0)
    return PFGData(b=b, signal=clean + rng.normal(0, sigma), sigma=sigma), kw


def rate(func, min_time: float = 1.0) -> float:
    """Calls per second of ``func`` (repeated for at least ``min_time`` s, best of 3 rounds)."""
    func()
    best = 0.0
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < min_time / 3:
            func()
            n += 1
        best = max(best, n / (time.perf_counter() - t0))
    return best


def main() -> None:
    warnings.simplefilter("ignore")
    rows = []
    for model in ("iso", "aniso", "multi-2", "multi-3", "lognormal"):
        data, kw = decay_case(model)
        rows.append((f"fit_pfg {model} (16 points)", rate(lambda d=data, k=kw: fit_pfg(d, **k))))
    data, _ = decay_case("aniso")
    rows.append(("compare_pfg_models iso vs aniso", rate(lambda: compare_pfg_models(data))))
    b = np.linspace(0, 1e12, 10_000)
    rows.append(("powder_anisotropic, 10k b values", rate(lambda: powder_anisotropic(
        b, 6.1e-11, 3.3e-12))))
    g = np.linspace(0, 10, 10_000)
    rows.append(("b_value trapezoid, 10k gradients", rate(lambda: b_value(
        g, 2e-3, 0.1, "7Li", shape="trapezoid", ramp=2e-4))))
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  calls/s   ms/call")
    for name, r in rows:
        print(f"{name:<{width}}  {r:8.1f}  {1e3 / r:8.2f}")


if __name__ == "__main__":
    main()
