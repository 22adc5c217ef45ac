"""The finite-volume solver: conservation, analytic solutions, phases, boundaries (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.special import erfc

from ionscale.errors import InputError
from ionscale.interdiffusion import (
    Boundary,
    LogSplineDiffusivity,
    apparent_diffusivity,
    broaden,
    intrinsic_diffusivity,
    reconstruct,
    simulate_couple,
    solve,
)
from ionscale.interdiffusion.solver import graded_edges, step_profile

D = 1e-14
T = 200 * 3600.0
L = np.sqrt(D * T)


def test_couple_matches_erfc_and_conserves_mass():
    sol = simulate_couple(D, T, n_cells=600, n_steps=200)
    exact = 0.5 * erfc(-sol.x / (2 * L))
    assert np.max(np.abs(sol.C[-1] - exact)) < 1e-3
    assert abs(sol.mass[-1] - sol.initial_mass) <= 1e-10 * sol.initial_mass
    assert sol.max_residual < 1e-8


@settings(max_examples=15)
@given(st.lists(st.floats(0.0, 1.0), min_size=20, max_size=60), st.floats(-1.0, 1.0),
       st.floats(0.3, 3.0))
def test_closed_sample_conserves_any_profile(values, slope, decades):
    """Invariant: with closed ends Σ h C is conserved to 1e-10 for any initial profile and
    any positive D̃(C), on a non-uniform grid."""
    c0 = np.asarray(values)
    edges = np.cumsum(np.concatenate([[0.0], 1e-6 * (1 + 0.5 * np.sin(np.arange(c0.size)))]))
    d = LogSplineDiffusivity.single([0.0, 0.5, 1.0], [1e-15, 1e-15 * 10**(decades * abs(slope)),
                                                       1e-15 * 10**decades])
    sol = solve(edges, c0, d, 3600.0, n_steps=40)
    m0 = float(np.sum(np.diff(edges) * c0))
    assert abs(sol.mass[-1] - m0) <= 1e-10 * max(m0, 1e-12) + 1e-22
    assert np.all(sol.C[-1] >= min(c0) - 1e-9) and np.all(sol.C[-1] <= max(c0) + 1e-9)


def test_concentration_dependent_D_against_boltzmann_similarity():
    """A couple with D̃(C) is self-similar: C at x√2 after 2t equals C at x after t."""
    d = LogSplineDiffusivity.single([0, 1], [1e-14, 1e-13])
    sol = simulate_couple(d, T, n_cells=1200, n_steps=300, outputs=[T / 2],
                          half_width=12 * np.sqrt(1e-13 * T))
    half, full = sol.C[0], sol.C[1]
    assert np.allclose(sol.t, [T / 2, T])
    np.testing.assert_allclose(np.interp(sol.x * np.sqrt(2), sol.x, full), half, atol=2e-3)


def test_two_phase_couple_matches_stefan_solution():
    Da, Db, ca, cb = 2e-14, 5e-15, 0.3, 0.6
    t = 100 * 3600.0

    def stefan(k):
        ga = ca / erfc(-k / (2 * np.sqrt(Da)))
        gb = (1 - cb) / erfc(k / (2 * np.sqrt(Db)))
        return (cb - ca) * k / 2 - (Da * ga * np.exp(-k**2 / (4 * Da)) / np.sqrt(np.pi * Da)
                                    - Db * gb * np.exp(-k**2 / (4 * Db)) / np.sqrt(np.pi * Db))

    k = brentq(stefan, -1e-6, 1e-6)

    def exact(x):
        left = ca * erfc(-x / (2 * np.sqrt(Da * t))) / erfc(-k / (2 * np.sqrt(Da)))
        right = 1 - (1 - cb) * erfc(x / (2 * np.sqrt(Db * t))) / erfc(k / (2 * np.sqrt(Db)))
        return np.where(x < k * np.sqrt(t), left, right)

    half = 8 * np.sqrt(Da * t)
    edges = np.linspace(-half, half, 1601)
    d = LogSplineDiffusivity(([0.0], [1.0]), ([Da], [Db]), [(0, ca), (cb, 1)])
    sol = solve(edges, step_profile(edges, 0.0, 0.0, 1.0), d, t, n_steps=300)
    prof = reconstruct(edges, sol.C[-1], d.phases)
    assert abs(prof.interfaces[0] - k * np.sqrt(t)) < 2 * (edges[1] - edges[0])
    away = np.abs(sol.x - k * np.sqrt(t)) > 3 * (edges[1] - edges[0])
    assert np.max(np.abs(sol.C[-1][away] - exact(sol.x[away]))) < 5e-3
    assert abs(sol.mass[-1] - sol.initial_mass) < 1e-10 * sol.initial_mass


def test_fixed_value_boundary_is_erfc_of_half_space():
    edges = np.linspace(0, 12 * L, 601)
    sol = solve(edges, np.zeros(600), D, T, left=Boundary.fixed(1.0), n_steps=200)
    assert np.max(np.abs(sol.C[-1] - erfc(sol.x / (2 * L)))) < 2e-3


def test_flux_boundary_adds_the_flux():
    edges = np.linspace(0, 12 * L, 301)
    J = 1e-12  # concentration·m/s
    sol = solve(edges, np.zeros(300), D, T, left=Boundary.flux(J), n_steps=100)
    assert abs(sol.mass[-1] - J * T) < 1e-9 * J * T


def test_thin_film_gaussian():
    edges = np.linspace(0, 12 * L, 1201)
    M = 1e-7
    sol = solve(edges, np.zeros(1200), D, T, left=Boundary.thin_film(M), n_steps=300)
    exact = M / np.sqrt(np.pi * D * T) * np.exp(-sol.x**2 / (4 * D * T))
    assert np.max(np.abs(sol.C[-1] - exact)) < 2e-3 * exact.max()
    assert abs(sol.mass[-1] - M) < 1e-10 * M


def test_surface_exchange_limits():
    edges = np.linspace(0, 12 * L, 601)
    fast = solve(edges, np.zeros(600), D, T, left=Boundary.exchange(1.0, 1.0), n_steps=200)
    fixed = solve(edges, np.zeros(600), D, T, left=Boundary.fixed(1.0), n_steps=200)
    none = solve(edges, np.zeros(600), D, T, left=Boundary.exchange(0.0, 1.0), n_steps=50)
    assert np.max(np.abs(fast.C[-1] - fixed.C[-1])) < 1e-3
    assert np.max(np.abs(none.C[-1])) == 0.0
    # Crank's solution for moderate k
    from scipy.special import erfcx

    k = 0.5 * np.sqrt(D / T)
    mid = solve(edges, np.zeros(600), D, T, left=Boundary.exchange(k, 1.0), n_steps=200)
    h, x = k / D, mid.x
    crank = erfc(x / (2 * L)) - np.exp(-x**2 / (4 * D * T)) * erfcx(x / (2 * L) + h * L)
    assert np.max(np.abs(mid.C[-1] - crank)) < 5e-3


def test_resolution_identity_4Dapp_t():
    s = 0.7 * L
    x = np.linspace(-15 * L, 15 * L, 6001)
    measured = broaden(x, 0.5 * erfc(-x / (2 * L)), s)
    d_app = apparent_diffusivity(D, T, s)
    np.testing.assert_allclose(measured, 0.5 * erfc(-x / (2 * np.sqrt(d_app * T))), atol=2e-5)
    assert np.isclose(4 * d_app * T, 4 * D * T + 2 * s**2)
    v, diags = intrinsic_diffusivity(d_app, T, s)
    assert np.isclose(v.value, D) and not diags
    _, diags = intrinsic_diffusivity(d_app, T, 3 * L)
    assert diags and diags[0].code == "unmeasurable"


def test_bad_solver_inputs():
    edges = np.linspace(0, 1e-4, 11)
    with pytest.raises(InputError):
        solve(edges, np.zeros(5), D, T)
    with pytest.raises(InputError):
        solve(edges, np.zeros(10), D, 0.0)
    with pytest.raises(InputError):
        solve(edges[::-1], np.zeros(10), D, T)
    with pytest.raises(InputError):
        solve(edges, np.full(10, np.nan), D, T)
    with pytest.raises(InputError):
        Boundary("leaky")


def test_graded_edges():
    e = graded_edges((-1e-3, 2e-3), (0, 1e-3), 1e-5)
    assert e[0] == -1e-3 and e[-1] == 2e-3 and np.all(np.diff(e) > 0)
    core = e[(e >= 0) & (e <= 1e-3)]
    assert np.allclose(np.diff(core), 1e-5)
