"""Tests of the 1D finite-volume tracer model and the fit of a profile's evolution."""

import json
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy.special import erfc, erfcx  # noqa: E402

from ionscale.errors import InputError  # noqa: E402
from ionscale.tracer.data import Profile  # noqa: E402
from ionscale.tracer.evolution import EvolutionFit, fit_evolution  # noqa: E402
from ionscale.tracer.numerical import (  # noqa: E402
    Grid,
    interpolate,
    layered_diffusivity,
    series_diffusivity,
    simulate_profile,
    solve,
)

WEEK = 7 * 86400.0
D_STORE = 3.0e-13  # seed 000: D*_eff = 3.0e-9 cm² s⁻¹ at 22 °C (storage 2 and 6 weeks)


# ------------------------------------------------------------------ analytic solutions

def _erfc(x, D, t):
    return erfc(x / (2 * np.sqrt(D * t)))


def _gaussian(x, D, t, M=1.0):
    # thin film of amount M at a reflecting surface
    return M / np.sqrt(np.pi * D * t) * np.exp(-x**2 / (4 * D * t))


def _crank(x, D, k, t):
    # surface-exchange (Robin) solution; the second term erfc-scaled to avoid overflow:
    # exp(h x + h² D t) erfc(u + h√(Dt)) = exp(-u²) erfcx(u + h√(Dt))
    h = k / D
    u = x / (2 * np.sqrt(D * t))
    return erfc(u) - np.exp(-(u**2)) * erfcx(u + h * np.sqrt(D * t))


D1, T1 = 1e-12, 1e5
L1 = np.sqrt(D1 * T1)


def _stretched_grid(length, n, ratio=1.004):
    w = ratio ** np.arange(n)
    return Grid(np.concatenate([[0.0], np.cumsum(w)]) * length / w.sum())


@pytest.mark.parametrize("theta", [1.0, "crank-nicolson"])
@pytest.mark.parametrize("uniform", [True, False])
def test_constant_source_matches_erfc(theta, uniform):
    g = Grid.uniform(0, 12 * L1, 600) if uniform else _stretched_grid(12 * L1, 600)
    C = solve(np.zeros(g.n_cells), g, D1, T1, n_steps=400, left="fixed", left_value=1.0,
              theta=theta)
    err = np.abs(C - _erfc(g.centres, D1, T1)).max()
    assert err <= 1e-3
    # and through simulate_profile, whose edge value is the boundary value
    x = np.linspace(0, 3 * L1, 31)
    c = simulate_profile(x, lambda z: np.zeros_like(z), D1, T1, grid=g, n_steps=400,
                         left="fixed", left_value=1.0, theta=theta)
    assert c[0] == 1.0
    assert np.abs(c - _erfc(x, D1, T1)).max() <= 1e-3


@pytest.mark.parametrize("theta", [1.0, 0.5])
def test_thin_film_gaussian_with_closed_boundary(theta):
    g = Grid.uniform(0, 12 * L1, 600)
    t0 = T1 / 4
    C = solve(_gaussian(g.centres, D1, t0), g, D1, T1 - t0, n_steps=400, theta=theta)
    ref = _gaussian(g.centres, D1, T1)
    assert np.abs(C - ref).max() <= 1e-3 * _gaussian(0, D1, t0)


@pytest.mark.parametrize("k", [1e-9, 1e-8, 1e-7])
def test_surface_exchange_matches_crank(k):
    g = Grid.uniform(0, 12 * L1, 600)
    C = solve(np.zeros(600), g, D1, T1, n_steps=400, left="exchange", k_left=k,
              C_gas_left=1.0, theta="crank-nicolson")
    ref = _crank(g.centres, D1, k, T1)
    assert np.abs(C - ref).max() <= 1e-3 * ref.max()


def test_exchange_limits_are_closed_and_fixed():
    g = Grid.uniform(0, 10 * L1, 200)
    C0 = _gaussian(g.centres, D1, T1 / 10)
    closed = solve(C0, g, D1, T1, n_steps=50)
    k0 = solve(C0, g, D1, T1, n_steps=50, left="exchange", k_left=0.0, C_gas_left=0.3)
    np.testing.assert_allclose(k0, closed, rtol=0, atol=1e-14)
    fixed = solve(C0, g, D1, T1, n_steps=50, left="fixed", left_value=0.3)
    kinf = solve(C0, g, D1, T1, n_steps=50, left="exchange", k_left=np.inf, C_gas_left=0.3)
    np.testing.assert_allclose(kinf, fixed, rtol=0, atol=1e-14)


def test_crank_nicolson_is_second_order():
    g = Grid.uniform(0, 12 * L1, 400)
    t0 = T1 / 4
    exact = solve(_gaussian(g.centres, D1, t0), g, D1, T1 - t0, n_steps=4000, theta=0.5)
    errs = []
    for n in (20, 40):
        c = solve(_gaussian(g.centres, D1, t0), g, D1, T1 - t0, n_steps=n, theta=0.5)
        errs.append(np.abs(c - exact).max())
    assert 3.0 < errs[0] / errs[1] < 5.0  # ~4 for second order
    be = [np.abs(solve(_gaussian(g.centres, D1, t0), g, D1, T1 - t0, n_steps=n) - exact).max()
          for n in (20, 40)]
    assert 1.6 < be[0] / be[1] < 2.4  # ~2 for backward Euler


def test_return_times_match_separate_runs():
    g = Grid.uniform(0, 8 * L1, 300)
    C0 = np.where(g.centres < L1, 1.0, 0.0)
    states = solve(C0, g, D1, T1, n_steps=100, return_times=[T1, 0, T1 / 2])
    np.testing.assert_array_equal(states[1], C0)
    half = solve(C0, g, D1, T1 / 2, n_steps=50)
    np.testing.assert_allclose(states[2], half, rtol=0, atol=1e-14)
    np.testing.assert_allclose(states[0], solve(half, g, D1, T1 / 2, n_steps=50), atol=1e-14)


# ------------------------------------------------------------------ conservation

@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(5, 120),
    seed=st.integers(0, 2**31 - 1),
    theta=st.sampled_from([1.0, 0.5, 0.75]),
    with_r=st.booleans(),
)
def test_closed_boundaries_conserve_tracer(n, seed, theta, with_r):
    rng = np.random.default_rng(seed)
    g = Grid(np.concatenate([[0.0], np.cumsum(rng.uniform(0.2, 5.0, n))]) * 1e-6)
    D = 10 ** rng.uniform(-16, -11, n)  # five decades of D(x)
    R = 10 ** rng.uniform(2, 8, n + 1) if with_r else None
    C0 = rng.uniform(0, 1, n)
    C = solve(C0, g, D, 1e4, n_steps=200, theta=theta, face_resistance=R)
    assert abs(g.total(C) - g.total(C0)) <= 1e-10 * g.total(C0)
    if theta == 1.0:  # backward Euler keeps the discrete maximum principle
        assert C.min() >= C0.min() - 1e-12 and C.max() <= C0.max() + 1e-12
    assert np.any(np.abs(C - C0) > 1e-6)  # something did happen


@pytest.mark.parametrize("method", ["interface", "resolved"])
def test_layered_medium_conserves_tracer(method):
    g = Grid.uniform(0, 2e-3, 800)
    med = layered_diffusivity(g, 2.6e-12, 7.5e-18, 16e-6, 0.5e-9, size_spread=11e-6, rng=3,
                              method=method)
    C0 = _erfc(g.centres, 8e-13, 4e5)
    C = solve(C0, g, med, 6 * WEEK, n_steps=300)
    assert abs(g.total(C) - g.total(C0)) <= 1e-10 * g.total(C0)
    assert np.abs(C - C0).max() > 0.01


# ------------------------------------------------------------------ layered medium

@pytest.mark.parametrize("method, width, cells_per_period", [
    ("interface", 0.5e-9, 8),   # seed 000: δ = 0.5 nm, 16 µm grains; boundaries as resistances
    ("resolved", 0.5e-6, 33),   # boundaries of 0.5 µm resolved by 0.5 µm cells
    ("resolved", 0.5e-9, 8),    # unresolved: harmonic mean inside the cell
])
def test_layered_steady_state_flux_follows_series_formula(method, width, cells_per_period):
    D_bulk, D_gb, grain, n_grains = 2.6e-12, 7.5e-18, 16e-6, 10
    period = grain + width
    g = Grid.uniform(0, n_grains * period, n_grains * cells_per_period)
    med = layered_diffusivity(g, D_bulk, D_gb, grain, width, method=method)
    assert med.boundaries.size == n_grains
    C = solve(np.zeros(g.n_cells), g, med, 1e11, n_steps=60, left="fixed", left_value=1.0,
              right="fixed", right_value=0.0)
    # flux through the first half cell (bulk) into the sample at steady state (1 − C[0] is
    # small, so round-off limits the comparison to ~1e-8)
    flux = (1.0 - C[0]) * 2 * med.D[0] / g.widths[0]
    D_eff = period / (grain / D_bulk + width / D_gb)  # (l+δ)/D_eff = l/D_bulk + δ/D_gb
    assert flux == pytest.approx(D_eff / g.length, rel=1e-6, abs=0)
    assert series_diffusivity(g, med) == pytest.approx(D_eff, rel=1e-12, abs=0)
    # seed 000's numbers: D_eff ≈ 2.2e-9 cm² s⁻¹ when the boundaries are 0.5 nm wide
    if width == 0.5e-9:
        assert D_eff == pytest.approx(2.2e-13, rel=0.02, abs=0)


def test_layered_medium_acts_as_uniform_D_eff_on_the_mm_scale():
    D_bulk, D_gb, grain, width = 2.6e-12, 7.5e-18, 16e-6, 0.5e-9
    D_eff = (grain + width) / (grain / D_bulk + width / D_gb)
    g = Grid.uniform(0, 3e-3, 750)  # 4 µm cells, 4 per grain
    med = layered_diffusivity(g, D_bulk, D_gb, grain, width)
    t = 4e5
    C = solve(np.zeros(g.n_cells), g, med, t, n_steps=400, left="fixed", left_value=1.0)
    uptake = g.total(C)
    # the homogenised uptake 2√(D_eff t/π) (340 µm here), up to the first grain, which fills
    # at once behind the surface
    assert abs(uptake - 2 * np.sqrt(D_eff * t / np.pi)) < grain
    # locally the profile steps at every boundary by about l/√(D t) of the range
    assert np.abs(C - _erfc(g.centres, D_eff, t)).max() < 0.03


def test_layered_diffusivity_options():
    g = Grid.uniform(0, 100e-6, 100)
    med = layered_diffusivity(g, 1e-12, 1e-16, 10e-6, 1e-9, grain_sizes=[5e-6, 15e-6],
                              offset=2e-6)
    gaps = np.diff(med.boundaries)
    np.testing.assert_allclose(gaps[:3], [15e-6 + 1e-9, 5e-6 + 1e-9, 15e-6 + 1e-9])
    assert med.boundaries[0] == pytest.approx(2e-6 + 5e-6 + 0.5e-9, rel=1e-12, abs=0)
    a = layered_diffusivity(g, 1e-12, 1e-16, 10e-6, 1e-9, size_spread=5e-6, rng=7)
    b = layered_diffusivity(g, 1e-12, 1e-16, 10e-6, 1e-9, size_spread=5e-6, rng=7)
    np.testing.assert_array_equal(a.boundaries, b.boundaries)
    assert np.std(a.grain_sizes) > 0
    # built from centres too
    c = layered_diffusivity(g.centres, 1e-12, 1e-16, 10e-6, 1e-9)
    np.testing.assert_allclose(c.face_resistance, layered_diffusivity(
        g, 1e-12, 1e-16, 10e-6, 1e-9).face_resistance)


# ------------------------------------------------------------------ performance

def test_two_thousand_cells_thousand_steps_is_fast():
    g = Grid.uniform(0, 1e-3, 2000)
    C0 = np.random.default_rng(0).uniform(size=2000)
    solve(C0, g, 1e-12, 10.0, n_steps=5)  # warm-up
    best = np.inf
    for theta in (1.0, 0.5):
        t0 = time.perf_counter()
        solve(C0, g, 1e-12, 1e4, n_steps=1000, theta=theta)
        best = min(best, time.perf_counter() - t0)
    assert best < 1.0


# ------------------------------------------------------------------ fit of the evolution

X = np.linspace(0, 6e-3, 121)
BEFORE = Profile(x=X, fraction=0.0759 + 0.87 * _erfc(X, 8e-13, 110 * 3600.0))


@pytest.fixture(scope="module")
def truth():
    """After-profiles of seed 000's storage, from a much finer simulation than the fit's."""
    return simulate_profile(X, BEFORE, D_STORE, [2 * WEEK, 6 * WEEK], n_cells=1500,
                            n_steps=1500, theta=0.5)


def _noisy(truth, rng, sigma=0.01, with_sigma=True):
    return [Profile(x=X, fraction=c + rng.normal(0, sigma, X.size),
                    sigma=np.full(X.size, sigma) if with_sigma else None) for c in truth]


def test_round_trip_storage_two_and_six_weeks(truth):
    res = fit_evolution(BEFORE, _noisy(truth, np.random.default_rng(11)),
                        ["2 weeks", "6 weeks"])
    assert isinstance(res, EvolutionFit)
    D = res["D"]
    assert D.unit == "m^2/s" and D.symbol == "D*_eff"
    assert abs(D.value - D_STORE) < 2 * D.error
    assert D.error / D.value < 0.05
    assert 0.7 < res.fit.reduced_chi2 < 1.3
    assert res.simulated.shape == (2, res.x_model.size)
    assert str(D).startswith("D*_eff = (") and str(D).endswith("e-9 cm² s⁻¹")


def test_round_trip_coverage(truth):
    rng = np.random.default_rng(2024)
    pulls = []
    for _ in range(20):
        res = fit_evolution(BEFORE, _noisy(truth, rng), [2 * WEEK, 6 * WEEK], n_cells=300,
                            n_steps=120)
        pulls.append((res["D"].value - D_STORE) / res["D"].error)
    pulls = np.array(pulls)
    assert np.sum(np.abs(pulls) < 2) >= 17
    assert 0.6 < pulls.std() < 1.5


def test_anneal_200C_reference():
    # seed 000: 3.8 h at 200 °C gave D*_eff = 6.6e-6 cm² s⁻¹ (printed as cm⁻² s⁻¹, a unit typo)
    D_anneal = 6.6e-10
    after = simulate_profile(X, BEFORE, D_anneal, "3.8 h", n_cells=1200, n_steps=1200,
                             theta=0.5)
    rng = np.random.default_rng(5)
    prof = Profile(x=X, fraction=after + rng.normal(0, 0.005, X.size),
                   sigma=np.full(X.size, 0.005))
    res = fit_evolution(BEFORE, prof, "3.8 h")
    assert abs(res["D"].value - D_anneal) < 2 * res["D"].error
    # the field unit is cm² s⁻¹
    assert res["D"].field()[2] == "cm² s⁻¹"


def test_unit_weights_scale_errors(truth):
    rng = np.random.default_rng(3)
    res = fit_evolution(BEFORE, _noisy(truth, rng, with_sigma=False), [2 * WEEK, 6 * WEEK])
    assert not res.fit.absolute_sigma
    assert abs(res["D"].value - D_STORE) < 2 * res["D"].error
    assert res["D"].error / res["D"].value < 0.05


def test_offsets_are_fitted_per_profile(truth):
    rng = np.random.default_rng(8)
    afters = _noisy(truth, rng)
    shifted = Profile(x=X, fraction=afters[1].fraction + 0.03, sigma=afters[1].sigma)
    res = fit_evolution(BEFORE, [afters[0], shifted], [2 * WEEK, 6 * WEEK], offsets=True)
    assert abs(res["offset_1"].value) < 2 * res["offset_1"].error
    assert abs(res["offset_2"].value - 0.03) < 2 * res["offset_2"].error
    assert abs(res["D"].value - D_STORE) < 2 * res["D"].error
    # without offsets the shifted profile biases the fit and the χ² says so
    bad = fit_evolution(BEFORE, [afters[0], shifted], [2 * WEEK, 6 * WEEK])
    assert bad.fit.reduced_chi2 > 2


def test_fit_range_and_padding_and_start(truth):
    afters = _noisy(truth, np.random.default_rng(4))
    res = fit_evolution(BEFORE, afters, ["2 weeks", "6 weeks"], fit_range=(0, 3e-3),
                        pad=(0, 1e-3), D0=1e-12)
    assert res.fit.n_points == 2 * np.sum(X <= 3e-3)
    assert res.x_model.min() > 0 and res.x_model.max() > 6.9e-3
    assert abs(res["D"].value - D_STORE) < 2 * res["D"].error


def test_noisy_before_profile_with_smoothing(truth):
    rng = np.random.default_rng(9)
    noisy_before = Profile(x=X, fraction=BEFORE.fraction + rng.normal(0, 0.01, X.size))
    res = fit_evolution(noisy_before, _noisy(truth, rng), ["2 weeks", "6 weeks"], smooth=9)
    assert res["D"].value == pytest.approx(D_STORE, rel=0.1, abs=0)


def test_layered_model_recovers_D_eff(truth):
    afters = _noisy(truth, np.random.default_rng(6))
    layers = {"D_bulk": 2.6e-12, "grain_size": 16e-6, "gb_width": 0.5e-9}
    res = fit_evolution(BEFORE, afters, ["2 weeks", "6 weeks"], model="layered", layers=layers)
    assert set(res.values) == {"D", "D_gb"}
    assert abs(res["D"].value - D_STORE) < 2 * res["D"].error
    # D_gb/δ from the series formula with the true D_eff
    d_gb = 0.5e-9 / ((16e-6 + 0.5e-9) / D_STORE - 16e-6 / 2.6e-12)
    assert abs(res["D_gb"].value - d_gb) < 2.5 * res["D_gb"].error


def test_result_plots_and_serialises(truth):
    res = fit_evolution(BEFORE, _noisy(truth, np.random.default_rng(1)), ["2 weeks", "6 weeks"],
                        n_cells=200, n_steps=60)
    ax = res.plot()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["before", "after 2 weeks", "after 6 weeks"]
    assert len(ax.lines) == 6
    assert ax.get_xlabel() == "x (µm)"
    assert ax.lines[3].get_color() == ax.lines[2].get_color()
    assert ax.lines[2].get_xdata().max() == pytest.approx(6000)
    d = res.to_dict()
    json.dumps(d)
    assert d["provenance"]["method"] == "tracer.numerical.fit_evolution"
    assert d["values"]["D"]["unit"] == "m^2/s"
    assert "D*_eff" in res.summary()


def test_interpolate_uses_edge_values():
    g = Grid.uniform(0, 1, 4)
    C = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(interpolate(g, C, [0, 0.125, 0.5, 1]), [1, 1, 2.5, 4])
    np.testing.assert_allclose(interpolate(g, C, [0, 1], edge_values=(0.0, 5.0)), [0, 5])
    assert interpolate(g, np.stack([C, 2 * C]), [0.5]).shape == (2, 1)


# ------------------------------------------------------------------ bad input

def _field(excinfo):
    return excinfo.value.field


@pytest.mark.parametrize("times, field", [
    (["2 weeks", 0], "times"),
    ([-1.0, 6 * WEEK], "times"),
    (["2 weeks"], "times"),  # one time for two profiles
    (["2 weeks", "6 parsecs"], "times"),
])
def test_bad_times(times, field, truth):
    afters = [Profile(x=X, fraction=c) for c in truth]
    with pytest.raises(InputError) as e:
        fit_evolution(BEFORE, afters, times)
    assert _field(e) == field


def test_bad_profiles(truth):
    after = Profile(x=X, fraction=truth[0])
    unsorted = Profile(x=X[::-1].copy(), fraction=BEFORE.fraction)
    with pytest.raises(InputError) as e:
        fit_evolution(unsorted, after, WEEK)
    assert _field(e) == "before.x"
    with pytest.raises(InputError) as e:
        fit_evolution(BEFORE, [after, Profile(x=X[::-1].copy(), fraction=truth[1])],
                      [WEEK, 2 * WEEK])
    assert _field(e) == "afters[1].x"
    with pytest.raises(InputError) as e:
        fit_evolution(BEFORE, Profile(x=X, fraction=truth[0][:-1]), WEEK)
    assert _field(e) == "afters[0].fraction"
    with pytest.raises(InputError) as e:
        fit_evolution(BEFORE, Profile(x=X, fraction=truth[0], sigma=np.ones(3)), WEEK)
    assert _field(e) == "afters[0].sigma"
    with pytest.raises(InputError) as e:
        fit_evolution(BEFORE, after, WEEK, model="fractal")
    assert _field(e) == "model"
    with pytest.raises(InputError) as e:
        fit_evolution(BEFORE, after, WEEK, model="layered", layers={"D_bulk": 1e-12})
    assert _field(e) == "layers"
    with pytest.raises(InputError) as e:
        fit_evolution(BEFORE, after, WEEK, boundaries={"lft": "fixed"})
    assert _field(e) == "boundaries"
    with pytest.raises(InputError) as e:
        fit_evolution(BEFORE, after, WEEK, smooth=4)
    assert _field(e) == "smooth"


@pytest.mark.parametrize("kwargs, field", [
    ({"C0": np.zeros(9)}, "C0"),
    ({"D": -1e-12}, "D"),
    ({"D": np.full(7, 1e-12)}, "D"),
    ({"t_end": 0.0}, "t_end"),
    ({"t_end": -5.0}, "t_end"),
    ({"n_steps": 0}, "n_steps"),
    ({"theta": 0.2}, "theta"),
    ({"left": "open"}, "left"),
    ({"left": "fixed"}, "left_value"),
    ({"right": "exchange", "C_gas_right": 1.0}, "k_right"),
    ({"right": "exchange", "k_right": 1e-8}, "C_gas_right"),
    ({"face_resistance": np.ones(4)}, "face_resistance"),
    ({"face_resistance": np.full(11, -1e9)}, "face_resistance"),
    ({"return_times": [20.0]}, "return_times"),
])
def test_bad_solver_input(kwargs, field):
    g = Grid.uniform(0, 1e-5, 10)
    args = {"C0": np.zeros(10), "D": 1e-12, "t_end": 10.0}
    args.update(kwargs)
    C0, D, t_end = args.pop("C0"), args.pop("D"), args.pop("t_end")
    with pytest.raises(InputError) as e:
        solve(C0, g, D, t_end, **args)
    assert _field(e) == field


def test_bad_grid():
    for edges in ([0.0, 2.0, 1.0], [0.0], [0.0, np.nan, 1.0]):
        with pytest.raises(InputError) as e:
            Grid(np.array(edges))
        assert _field(e) == "edges"
    with pytest.raises(InputError) as e:
        layered_diffusivity(Grid.uniform(0, 1e-4, 10), 1e-12, 0.0, 1e-5, 1e-9)
    assert _field(e) == "D_gb"


def test_no_warnings_on_a_good_fit(truth):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_evolution(BEFORE, [Profile(x=X, fraction=c, sigma=np.full(X.size, 0.01))
                               for c in truth], [2 * WEEK, 6 * WEEK], n_cells=200, n_steps=60)
