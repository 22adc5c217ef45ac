import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.errors import InputError
from ionscale.transport.effective_medium import (
    brick_layer_conductivity,
    gb_term_from_effective,
    gb_thickness_from_capacitance,
    hashin_shtrikman_bounds,
    maxwell_garnett,
    parallel_mixture,
    series_diffusivity,
    series_mixture,
    specific_gb_conductivity,
)
from ionscale.units import BOLTZMANN, EV

# seed 000 (SI): D_bulk = 2.6e-8 cm²/s, D_gb/δ = 1.5e-6 cm/s, l = 16 ± 11 µm
D_BULK = 2.6e-12
GB = 1.5e-8
L, L_SD = 16e-6, 11e-6


# --------------------------------------------------------------------------- series model


def test_seed000_series_first_order():
    """Eq. 6 reproduces D_eff = 2.2e-9 ± 1.4e-9 cm² s⁻¹ to first order (paper 2.3 ± 1.4)."""
    d = series_diffusivity(D_BULK, GB, L, grain_size_error=L_SD)
    assert d.value * 1e4 == pytest.approx(2.197e-9, rel=1e-3)
    assert d.error * 1e4 == pytest.approx(1.383e-9, rel=1e-3)
    assert d.unit == "m^2/s"
    assert str(d) == "D_eff = (2.2 ± 1.4)e-9 cm² s⁻¹"
    # the text's D_gb/δ = 2.8e-6 cm/s (with D_bulk 2.8e-8) gives 3.9e-9: the 2.8e-6 is a typo
    typo = series_diffusivity(2.8e-12, 2.8e-8, L)
    assert typo.value * 1e4 == pytest.approx(3.86e-9, rel=1e-2)


@pytest.mark.parametrize(("distribution", "mean", "sd"),
                         [("normal", 2.34e-9, 1.17e-9), ("lognormal", 2.12e-9, 1.25e-9)])
def test_seed000_series_monte_carlo(distribution, mean, sd):
    """Monte Carlo over the grain-size spread: a normal (truncated at 0) distribution gives a
    mean of 2.3e-9 cm² s⁻¹, the paper's printed value; the SD is 1.2e-9."""
    d = series_diffusivity(D_BULK, GB, L, grain_size_error=L_SD, error_method="monte-carlo",
                           distribution=distribution, n_samples=100_000, seed=1)
    assert d.value * 1e4 == pytest.approx(2.197e-9, rel=1e-3)  # value stays nominal
    assert d.details["mean"] * 1e4 == pytest.approx(mean, rel=0.02)
    assert d.error * 1e4 == pytest.approx(sd, rel=0.03)
    lo, hi = d.interval
    assert lo < d.details["median"] < hi
    assert d.details["first_order_error"] * 1e4 == pytest.approx(1.383e-9, rel=1e-3)


def test_first_order_matches_monte_carlo_for_small_errors():
    kw = {"D_bulk_error": 0.02 * D_BULK, "D_gb_over_delta_error": 0.03 * GB,
          "grain_size_error": 0.02 * L}
    fo = series_diffusivity(D_BULK, GB, L, **kw)
    mc = series_diffusivity(D_BULK, GB, L, **kw, error_method="monte-carlo", seed=3,
                            n_samples=100_000)
    assert mc.error == pytest.approx(fo.error, rel=0.03)
    ex = {"D_bulk_error": 0.02 * D_BULK, "D_gb_error": 0.03 * GB * 5e-10,
          "delta_error": 0.01 * 5e-10, "grain_size_error": 0.02 * L}
    fo_x = series_diffusivity(D_BULK, None, L, D_gb=GB * 5e-10, delta=5e-10, **ex)
    mc_x = series_diffusivity(D_BULK, None, L, D_gb=GB * 5e-10, delta=5e-10, **ex,
                              error_method="monte-carlo", seed=4, n_samples=100_000)
    assert mc_x.error == pytest.approx(fo_x.error, rel=0.03)


def test_exact_form_tends_to_thin_boundary_form():
    delta = 0.5e-9
    approx = series_diffusivity(D_BULK, GB, L)
    exact = series_diffusivity(D_BULK, None, L, D_gb=GB * delta, delta=delta)
    assert exact.value == pytest.approx(approx.value, rel=1e-4)
    # thick boundary: exact (l+δ)/D = l/D_b + δ/D_gb, checked directly
    thick = series_diffusivity(1.0, None, 1.0, D_gb=0.1, delta=1.0)
    assert thick.value == pytest.approx(2.0 / (1.0 + 10.0))


def test_series_limits():
    # vanishing boundary resistance -> bulk; vanishing bulk resistance -> boundary term
    assert series_diffusivity(D_BULK, 1e3, L).value == pytest.approx(D_BULK, rel=1e-6)
    assert series_diffusivity(1e3, GB, L).value == pytest.approx(GB * L, rel=1e-6)


def test_gb_term_inverts_series_and_seed_fig5c():
    d = series_diffusivity(D_BULK, GB, L)
    g = gb_term_from_effective(d.value, D_BULK)
    assert g.value == pytest.approx(GB * L, rel=1e-10)
    # 22 °C: D_eff = 3.0e-9 (storage profiles), D_bulk = 2.6e-8 -> (l/δ)D_gb = 3.4e-9 cm²/s;
    # the Fig. 5c line 0.048 cm²/s exp(-0.43 eV/kT) gives 2.2e-9 there (same order)
    g22 = gb_term_from_effective(3.0e-13, 2.6e-12, D_eff_error=0.3e-13)
    assert g22.value * 1e4 == pytest.approx(3.39e-9, rel=1e-2)
    line = 0.048 * np.exp(-0.43 * EV / (BOLTZMANN * 295.15))
    assert 0.5 < g22.value * 1e4 / line < 2.0
    # error: d g / d D_eff = (g / D_eff)^2
    assert g22.error == pytest.approx((g22.value / 3.0e-13) ** 2 * 0.3e-13)
    with pytest.raises(InputError) as info:
        gb_term_from_effective(3e-12, 2.6e-12)
    assert info.value.field == "D_eff"


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((D_BULK, GB, None), {}, "grain_size"),
        ((D_BULK, None, L), {}, "D_gb_over_delta"),
        ((D_BULK, GB, L), {"D_gb": 1e-20, "delta": 1e-9}, "D_gb_over_delta"),
        ((D_BULK, None, L), {"D_gb": 1e-20}, "delta"),
        ((-D_BULK, GB, L), {}, "D_bulk"),
        ((D_BULK, GB, -L), {}, "grain_size"),
        ((D_BULK, GB, L), {"error_method": "bootstrap"}, "error_method"),
        ((D_BULK, GB, L), {"distribution": "gamma"}, "distribution"),
        ((D_BULK, GB, L), {"grain_size_error": -1.0}, "grain_size_error"),
    ],
)
def test_series_bad_input(args, kwargs, field):
    with pytest.raises(InputError) as info:
        series_diffusivity(*args, **kwargs)
    assert info.value.field == field


# --------------------------------------------------------------------------- mixing rules

positive = st.floats(1e-6, 1e6)
fraction = st.floats(0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(d1=positive, d2=positive, f=fraction, dim=st.sampled_from([2, 3]))
def test_bounds_are_ordered(d1, d2, f, dim):
    reuss, voigt = series_mixture(d1, d2, f), parallel_mixture(d1, d2, f)
    lo, hi = hashin_shtrikman_bounds(d1, d2, f, dimension=dim)
    tol = 1e-9 * max(d1, d2)
    assert reuss <= lo + tol
    assert lo <= hi + tol
    assert hi <= voigt + tol
    for mg in (maxwell_garnett(d1, d2, 1 - f, dimension=dim),
               maxwell_garnett(d2, d1, f, dimension=dim)):
        assert lo - tol <= mg <= hi + tol
    # symmetry: swapping the phases and their fractions changes nothing
    lo2, hi2 = hashin_shtrikman_bounds(d2, d1, 1 - f, dimension=dim)
    assert lo2 == pytest.approx(lo, rel=1e-9) and hi2 == pytest.approx(hi, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(d1=positive, d2=positive)
def test_pure_phase_limits(d1, d2):
    for func in (series_mixture, parallel_mixture):
        assert func(d1, d2, 1.0) == pytest.approx(d1)
        assert func(d1, d2, 0.0) == pytest.approx(d2)
    assert maxwell_garnett(d1, d2, 0.0) == pytest.approx(d1)
    assert maxwell_garnett(d1, d2, 1.0) == pytest.approx(d2)
    lo, hi = hashin_shtrikman_bounds(d1, d2, 1.0)
    assert lo == pytest.approx(d1) and hi == pytest.approx(d1)
    assert maxwell_garnett(d1, d1, 0.4) == pytest.approx(d1)


def test_known_values():
    # 3D Maxwell-Garnett: D_m (D_i + 2D_m + 2f(D_i - D_m)) / (D_i + 2D_m - f(D_i - D_m))
    assert maxwell_garnett(1.0, 10.0, 0.3) == pytest.approx((10 + 2 + 0.6 * 9) / (12 - 2.7))
    # dilute limit: D ≈ D_m (1 + 3 f (D_i - D_m)/(D_i + 2 D_m))
    f = 1e-6
    assert maxwell_garnett(1.0, 10.0, f) == pytest.approx(1 + 3 * f * 9 / 12, rel=1e-10)
    # 1D Maxwell-Garnett is the series mixture
    assert maxwell_garnett(1.0, 10.0, 0.3, dimension=1) == pytest.approx(
        series_mixture(10.0, 1.0, 0.3))
    assert series_mixture(1.0, 10.0, 0.3) == pytest.approx(1 / (0.3 + 0.07))
    arr = hashin_shtrikman_bounds(np.array([1.0, 2.0]), 10.0, 0.5)
    assert arr[0].shape == (2,)


def test_mixing_bad_input():
    with pytest.raises(InputError) as info:
        series_mixture(1.0, 2.0, 1.5)
    assert info.value.field == "f1"
    with pytest.raises(InputError):
        maxwell_garnett(1.0, -2.0, 0.5)
    with pytest.raises(InputError) as info:
        hashin_shtrikman_bounds(1.0, 2.0, 0.5, dimension=4)
    assert info.value.field == "dimension"


# --------------------------------------------------------------------------- brick layer


def test_brick_layer_relations():
    # σ_gb,sp = σ_gb,app · C_bulk / C_gb; δ = l C_bulk / C_gb
    s = specific_gb_conductivity(1e-2, 1e-12, 1e-9, sigma_gb_apparent_error=1e-3,
                                 C_gb_error=1e-10)
    assert s.value == pytest.approx(1e-5)
    assert s.error == pytest.approx(1e-5 * np.sqrt(0.1**2 + 0.1**2))
    assert s.unit == "S/m"
    delta = gb_thickness_from_capacitance(5e-6, 1e-12, 1e-9)
    assert delta.value == pytest.approx(5e-9)
    # series conductivity with the specific boundary value recovers the apparent total
    sigma_b = 0.1
    total = brick_layer_conductivity(sigma_b, s.value, 5e-6, delta.value)
    apparent = 1 / (1 / sigma_b + 1 / 1e-2)  # resistances in series, pellet geometry
    assert total == pytest.approx(apparent, rel=2e-3)
    with pytest.raises(InputError):
        specific_gb_conductivity(1e-2, 0.0, 1e-9)
