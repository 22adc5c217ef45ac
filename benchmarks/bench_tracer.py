"""Tracer benchmarks (run on demand: ``make bench``; not a timed test).

Reports, on one core:
* a 1000-point Crank surface-exchange profile fit (and erfc, and counts-weighted);
* a forward solve of 2000 cells × 1000 implicit steps (backward Euler and Crank-Nicolson);
* a 512×512 ⁶Li/⁷Li map → fraction map, plus 100 grain-boundary step analyses;
* a joint evolution fit (before + 2 after profiles, 400 cells).
Target (issue 2): each well under a second.
"""

from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from ionscale.datasets.synthetic import draw_counts, exchange_and_anneal_lines  # noqa: E402
from ionscale.tracer import (  # noqa: E402
    CountMap,
    Grid,
    Profile,
    analyse_boundaries,
    constant_source,
    fit_evolution,
    fit_profile,
    fraction_map,
    isotope_fraction,
    solve,
    surface_exchange,
)


def best_of(func, repeat: int = 5) -> float:
    """Best wall time of ``repeat`` calls, s."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def profile_fit_case(model: str, weights: str = "sigma"):
    rng = np.random.default_rng(0)
    x = np.linspace(0, 400e-6, 1000)
    t = 5640.0
    true = (surface_exchange(x, 4e-12, 3.6e-8, t) if model == "exchange"
            else constant_source(x, 4e-12, t))
    n6, n7 = draw_counts(0.00205 + 0.9 * true, 2000, rng)
    c, s = isotope_fraction(n6, n7)
    prof = Profile(x=x, fraction=(c - 0.00205) / 0.9 if weights == "sigma" else c,
                   sigma=s / 0.9 if weights == "sigma" else s,
                   counts={"18O": n6, "16O": n7})
    kwargs = {} if weights == "sigma" else {"source": 0.9, "background": 0.00205}
    return lambda: fit_profile(prof, model=model, time=t, weights=weights, **kwargs)


def map_case():
    rng = np.random.default_rng(1)
    ny = nx = 512
    px = 1e-6
    y = np.arange(ny) * px
    boundaries = np.arange(20e-6, 500e-6, 16e-6)
    step = np.searchsorted(boundaries, y)
    c_true = 0.9 - 0.02 * step - 800.0 * y
    c_true = np.clip(c_true, 0.08, 0.95)
    n6, n7 = draw_counts(np.repeat(c_true[:, None], nx, axis=1), 3000, rng)
    cmap = CountMap(counts={"6Li": n6, "7Li": n7}, pixel_size=(px, px))
    xs = np.linspace(20e-6, 490e-6, 100)
    yb = boundaries[rng.integers(2, boundaries.size - 3, size=100)]
    segments = [((x, b - 7.5e-6), (x, b + 7.5e-6)) for x, b in zip(xs, yb, strict=True)]
    given = [(x, b) for x, b in zip(xs, yb, strict=True)]

    def fraction():
        return fraction_map(cmap)

    fmap = fraction()

    def boundaries_only():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return analyse_boundaries(fmap, segments, boundaries=given, width=5e-6,
                                      window=6e-6, exclude=1e-6, D_bulk=2.6e-12, degree=1)

    return fraction, boundaries_only


def main() -> None:
    rows = []
    for model, weights in [("exchange", "sigma"), ("erfc", "sigma"), ("exchange", "counts")]:
        rows.append((f"profile fit, 1000 points, {model}, weights={weights}",
                     best_of(profile_fit_case(model, weights))))
    grid = Grid.uniform(0, 1e-3, 2000)
    c0 = np.where(grid.centres < 1e-4, 1.0, 0.0)
    for theta in ("implicit", "crank-nicolson"):
        rows.append((f"forward solve 2000 cells × 1000 steps, {theta}",
                     best_of(lambda th=theta: solve(c0, grid, 1e-12, 1e5, n_steps=1000,
                                                    theta=th))))
    fraction, gb = map_case()
    t_frac = best_of(fraction)
    t_gb = best_of(gb, 3)
    rows.append(("512×512 map → fraction map", t_frac))
    rows.append(("100 grain-boundary analyses (5 µm wide lines)", t_gb))
    rows.append(("512×512 fraction + 100 boundaries", t_frac + t_gb))
    lines = exchange_and_anneal_lines(D_exchange=8e-13, exchange_time=110 * 3600.0,
                                      D_anneal=3e-13, anneal_times=(14 * 86400.0, 42 * 86400.0))
    rows.append(("joint evolution fit (before + 2 afters, 400 cells)",
                 best_of(lambda: fit_evolution(lines.profiles[0], lines.profiles[1:],
                                               lines.times, pad=(12.5e-6, 0.0)), 3)))
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  best time")
    for name, t in rows:
        print(f"{name:<{width}}  {t * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
