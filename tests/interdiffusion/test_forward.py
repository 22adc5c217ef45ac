"""Round trip: simulate a known D̃(C), recover it by Boltzmann-Matano and the forward fit."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ionscale.interdiffusion import (  # noqa: E402
    DiffusionProfile,
    LogSplineDiffusivity,
    boltzmann_matano,
    fit_diffusivity,
    simulate_couple,
    simulate_profile,
)

T = 200 * 3600.0
TRUE = LogSplineDiffusivity.single([0.0, 1.0], [1e-14, 1e-13])  # 1e-14 · 10^X


def truth(X):
    return 1e-14 * 10.0 ** np.asarray(X)


@pytest.fixture(scope="module")
def simulated():
    sol = simulate_couple(TRUE, T, n_cells=3000, n_steps=400,
                          half_width=10 * np.sqrt(1e-13 * T))
    return sol


def test_boltzmann_matano_recovers_within_1_percent(simulated):
    p = DiffusionProfile(simulated.x, {"B": simulated.C[-1]}, time=T)
    r = boltzmann_matano(p, smooth=None, monte_carlo=0)
    sel = (r.c_grid > 0.05) & (r.c_grid < 0.95)
    assert np.max(np.abs(r.D_grid[sel] / truth(r.c_grid[sel]) - 1)) < 0.01


def test_forward_fit_recovers_within_1_percent_and_band(simulated):
    rng = np.random.default_rng(0)
    keep = (simulated.x > -2.5e-3) & (simulated.x < 2.5e-3)
    x = simulated.x[keep][::12]
    c = simulated.C[-1][keep][::12]
    sigma = 5e-4
    p = DiffusionProfile(x, {"B": c + rng.normal(0, sigma, x.size)},
                         sigma={"B": np.full(x.size, sigma)}, time=T)
    r = fit_diffusivity(p, knots=4, ends=(0.0, 1.0), at=[0.25, 0.5, 0.75])
    X = np.linspace(0.05, 0.95, 19)
    d, lo, hi = r.band(X, z=2.0)
    assert np.max(np.abs(d / truth(X) - 1)) < 0.01
    assert np.all((truth(X) >= lo) & (truth(X) <= hi))
    assert 0.5 < r.fit.reduced_chi2 < 1.5
    assert abs(r.x0) < 2e-6
    for c_ in (0.25, 0.5, 0.75):
        v = r[f"D_{c_:g}"]
        assert abs(v.value - truth(c_)) < 3 * v.error
    assert r.status == "ok", r.diagnostics
    json.dumps(r.to_dict())
    r.plot()


def test_forward_fit_deconvolves_the_probe():
    D = 1e-14
    s = 0.8 * np.sqrt(D * T)  # D_app = 1.32 D
    sol = simulate_couple(D, T, n_cells=1500, resolution=s)
    keep = np.abs(sol.x) < 6 * np.sqrt(D * T)
    p = DiffusionProfile(sol.x[keep][::10], {"B": sol.C[-1][keep][::10]}, time=T,
                         resolution=s)
    r = fit_diffusivity(p, knots=1, ends=(0.0, 1.0))
    assert abs(r["D_knot1"].value / D - 1) < 0.01
    naive = fit_diffusivity(p.replace(resolution=None), knots=1, ends=(0.0, 1.0))
    assert abs(naive["D_knot1"].value / (D + s**2 / (2 * T)) - 1) < 0.01


def test_simulate_profile_compares(simulated):
    x = simulated.x[::20]
    p = DiffusionProfile(x, {"B": simulated.C[-1][::20]}, time=T)
    r = simulate_profile(p, TRUE, ends=(0, 1))
    assert r["mean_abs_deviation"].value < 1e-3
    r.plot()
