"""Detailed balance: site energies and pair interactions give Boltzmann equilibrium."""

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from ionscale.kmc import Exchange, Lattice, Model, Species, builtin_lattice, run
from ionscale.units import BOLTZMANN, EV

T = 600.0
KT = BOLTZMANN * T


def _two_sublattice_square(shape=(8, 16)):
    # a square lattice whose columns alternate between sublattices "a" and "b"
    return Lattice.from_cell([[2e-10, 0], [0, 1e-10]], [[0, 0], [0.5, 0]], shape,
                             sublattices=["a", "b"])


def test_lone_walker_occupies_sublattices_by_boltzmann():
    lat = _two_sublattice_square()
    eps = 0.04 * EV
    model = Model(lat, [Species("Li", count=1, nu=1e12, Ea="0.1 eV",
                                site_energy={"a": 0.0, "b": eps})], T)
    res = run(model, events=2e5, blocks=64, lags=4, seed=4)
    occ, err = res.occupancy[0], res.occupancy_error[0]
    # equal numbers of a and b sites: P_b / P_a = exp(-ε/kT)
    ratio = occ[1] / occ[0]
    r_err = ratio * math.hypot(err[0] / occ[0], err[1] / occ[1])
    assert abs(ratio - math.exp(-eps / KT)) < 3.5 * r_err, (ratio, math.exp(-eps / KT), r_err)
    assert occ.sum() * lat.n_sites / 2 == pytest.approx(1.0, rel=1e-9)


def test_lattice_gas_follows_fermi_dirac():
    lat = _two_sublattice_square((8, 16))
    eps = 0.05 * EV
    n = 96  # of 256 sites
    model = Model(lat, [Species("Li", count=n, nu=1e12, Ea="0.1 eV",
                                site_energy={"a": 0.0, "b": eps})], T)
    res = run(model, events=4e5, blocks=64, lags=4, seed=8, equilibrate=2e4)
    half = lat.n_sites // 2

    def excess(mu_ev):  # in eV: brentq's tolerance is absolute
        mu = mu_ev * EV
        return half * (1 / (1 + math.exp(-mu / KT)) + 1 / (1 + math.exp((eps - mu) / KT))) - n

    mu = brentq(excess, -1.0, 1.0, xtol=1e-12) * EV
    expected = [1 / (1 + math.exp(-mu / KT)), 1 / (1 + math.exp((eps - mu) / KT))]
    occ, err = res.occupancy[0], res.occupancy_error[0]
    # the canonical ensemble differs from Fermi-Dirac by O(1/N)
    for o, e, x in zip(occ, err, expected, strict=True):
        assert abs(o - x) < 3.5 * e + 0.01, (occ, expected)


def _exact_mean_energy(n_sites, n, J):
    """Canonical <E> of n particles on a periodic chain with NN pair energy J."""
    energies = []
    for sites in itertools.combinations(range(n_sites), n):
        s = set(sites)
        pairs = sum(1 for i in sites if (i + 1) % n_sites in s)
        energies.append(J * pairs)
    e = np.array(energies)
    w = np.exp(-(e - e.min()) / KT)
    return float((e * w).sum() / w.sum())


@pytest.mark.parametrize("J_eV", [0.04, -0.04])
def test_pair_interactions_give_boltzmann_energy(J_eV):
    lat = builtin_lattice("chain", 8, a=1e-10)
    J = J_eV * EV
    model = Model(lat, [Species("A", count=3, nu=1e12, Ea="0.05 eV")], T,
                  interactions={("A", "A"): J})
    res = run(model, events=3e5, blocks=64, lags=4, seed=12)
    exact = _exact_mean_energy(8, 3, J)
    assert abs(res.mean_energy - exact) < 3.5 * res.mean_energy_error, (
        res.mean_energy / EV, exact / EV, res.mean_energy_error / EV)
    assert res.mean_energy_error < 0.05 * abs(J)


def test_exchange_events_keep_detailed_balance():
    # A and B swap directly (no vacancy); B prefers sublattice b by 0.04 eV
    lat = _two_sublattice_square((4, 8))
    eps = 0.04 * EV
    model = Model(lat, [Species("A", count=32, nu=0.0),
                        Species("B", count=32, nu=0.0, site_energy={"a": eps, "b": 0.0})], T,
                  exchanges=[Exchange("A", "B", 1e12, "0.1 eV")])
    res = run(model, events=2e5, blocks=64, lags=4, seed=21)
    # exact: 32 B on 32 a + 32 b sites, full lattice; P(B on b) from the canonical sum
    k = np.arange(0, 33)
    w = np.array([math.comb(32, int(i)) * math.comb(32, 32 - int(i)) for i in k]) * np.exp(
        -(32 - k) * eps / KT)  # k = B on b, 32 - k B on a
    mean_b = float((k * w).sum() / w.sum()) / 32
    occ, err = res.occupancy[1], res.occupancy_error[1]
    assert abs(occ[1] - mean_b) < 3.5 * err[1], (occ, mean_b)
