"""Non-interacting lattice gas: f_I = 1, D_σ exact, Haven ratio against theory at low and high
occupancy; calibration of the 95 % intervals (slow)."""

import numpy as np
import pytest

from ionscale.kmc import (
    Model,
    Species,
    builtin_lattice,
    lattice_gas_correlation_factor,
    run,
)


def exact_d_sigma(nu, a, n_sites, n):
    """D_σ of the symmetric exclusion process, canonical ensemble: the summed displacement is a
    martingale, so <|ΣΔr|²> = a² <jumps> and <jumps>/t = ν z N (Ns - N)/(Ns - 1); with
    z = 2d on sc, D_σ = ν a² (Ns - N)/(Ns - 1)."""
    return nu * a**2 * (n_sites - n) / (n_sites - 1)


@pytest.mark.parametrize("c", [0.05, 0.95])
def test_haven_ratio_and_collective_correlation(c):
    lat = builtin_lattice("sc", 6, a=1e-10)
    model = Model(lat, [Species("A", fraction=c, nu=1.0)], 300.0)
    res = run(model, events=8e5, blocks=512, lags=4, replicas=2, seed=3)
    n = int(round(c * lat.n_sites))
    fI, DS, HR, f = res["f_I"], res["D_sigma"], res["H_R"], res["f"]
    assert abs(fI.value - 1.0) < 3.5 * fI.error and fI.error < 0.05
    exact = exact_d_sigma(1.0, 1e-10, lat.n_sites, n)
    assert abs(DS.value - exact) < 3.5 * DS.error
    # H_R = f / f_I = f for a non-interacting lattice gas
    assert abs(HR.value - f.value) < 3.5 * HR.error
    theory = lattice_gas_correlation_factor(c, 0.65311)
    # the interpolation is exact at both ends; a 216-site box adds a little at c -> 1
    assert abs(HR.value - theory) < 3.5 * HR.error + 0.01, (HR, theory)
    assert abs(f.value - theory) < 0.02, (f, theory)


def test_theory_limits():
    assert lattice_gas_correlation_factor(0.0, 0.5) == pytest.approx(1.0)
    assert lattice_gas_correlation_factor(1.0, 0.5) == pytest.approx(0.5)
    assert np.all(np.diff(lattice_gas_correlation_factor(np.linspace(0, 1, 5), 0.78)) < 0)


def _coverage(values, errors, truth):
    z = (np.asarray(values) - truth) / np.asarray(errors)
    return float(np.mean(np.abs(z) < 1.959964))


@pytest.mark.slow
def test_interval_calibration_walker():
    """1000 short runs of a lone walker (D exact): the 95 % interval holds D 95 ± 1.5 %."""
    lat = builtin_lattice("square", 8, a=1e-10)
    model = Model(lat, [Species("A", count=1, nu=1.0)], 300.0)
    truth = 4 * 1.0 * 1e-20 / 4  # Γ a² / (2d), Γ = 4 ν
    vals, errs = [], []
    for i in range(1000):
        r = run(model, events=256 * 4 * 50, blocks=256, lags=4, seed=5000 + i)
        vals.append(r["D_tracer"].value)
        errs.append(r["D_tracer"].error)
    cover = _coverage(vals, errs, truth)
    assert 0.935 <= cover <= 0.965, cover


@pytest.mark.slow
def test_interval_calibration_lattice_gas():
    """1000 short runs of a half-filled lattice gas (D_σ exact): 95 ± 1.5 % coverage."""
    lat = builtin_lattice("sc", 4, a=1e-10)
    model = Model(lat, [Species("A", fraction=0.5, nu=1.0)], 300.0)
    n = 32
    truth = exact_d_sigma(1.0, 1e-10, lat.n_sites, n)
    vals, errs = [], []
    for i in range(1000):
        r = run(model, events=256 * 4 * n, blocks=256, lags=4, seed=9000 + i, track=0)
        vals.append(r["D_sigma"].value)
        errs.append(r["D_sigma"].error)
    cover = _coverage(vals, errs, truth)
    assert 0.935 <= cover <= 0.965, cover
