"""Tests of the analytic tracer profiles (erfc, thin film, surface exchange) and their fits."""

from __future__ import annotations

import json
import math
import time
import warnings

import matplotlib

from ionscale.datasets.demo import REAL_18O as REAL_18O_BUNDLED

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy.integrate import quad  # noqa: E402
from scipy.special import erfc  # noqa: E402

from ionscale.errors import FitError, InputError  # noqa: E402
from ionscale.tracer import profiles as P  # noqa: E402
from ionscale.tracer.data import Profile  # noqa: E402
from ionscale.tracer.profiles import (  # noqa: E402
    ProfileFit,
    constant_source,
    diffusion_length,
    diffusion_length_error,
    fit_profile,
    surface_exchange,
    thin_film,
)

REAL_FILE = REAL_18O_BUNDLED  # the same bytes as ../shared/data/tracer (tested in test_datasets)
BG_18O = 0.00205  # natural 18O abundance
SOURCE = 0.9      # enriched gas


def counted_profile(rng, x, fraction, n_total=2000):
    """Binomial draw of 18O counts out of ~Poisson(n_total) O counts per point.

    Fraction ``C = n18 / N`` with the binomial σ taken from the measured ``C`` (floored at
    half a count), counts kept for ``weights="counts"``.
    """
    n = rng.poisson(n_total, size=x.shape)
    n18 = rng.binomial(n, fraction)
    c = n18 / n
    sigma = np.maximum(np.sqrt(c * (1 - c) / n), 1.0 / (2.0 * n))
    return Profile(x=x, fraction=c, sigma=sigma,
                   counts={"18O": n18.astype(float), "16O": (n - n18).astype(float)},
                   metadata={"tracer": "18O"})


# ---------------------------------------------------------------------------------------------
# the model functions
# ---------------------------------------------------------------------------------------------


def test_exchange_matches_naive_crank_formula_where_that_is_finite():
    D, k, t = 1e-14, 3e-10, 7200.0
    x = np.linspace(0, 30e-6, 40)
    h = k / D
    u = x / (2 * math.sqrt(D * t))
    naive = erfc(u) - np.exp(h * x + h * h * D * t) * erfc(u + h * math.sqrt(D * t))
    np.testing.assert_allclose(surface_exchange(x, D, k, t), naive, rtol=1e-10, atol=1e-15)


def test_exchange_never_overflows_and_tends_to_erfc_for_fast_exchange():
    D, t = 1e-14, 3600.0
    s = math.sqrt(D * t)
    k = 1e6 * D / s  # h sqrt(Dt) = 1e6: the naive formula overflows (exp(1e12))
    x = np.linspace(0, 1e-3, 2001)  # up to u ~ 80
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # (underflow is benign)
        c = surface_exchange(x, D, k, t)
    assert np.all(np.isfinite(c))
    np.testing.assert_allclose(c, erfc(x / (2 * s)), atol=2e-6)
    # k = inf is exactly the constant-source profile
    np.testing.assert_allclose(surface_exchange(x, D, math.inf, t), constant_source(x, D, t),
                               rtol=0, atol=1e-300)
    # convergence to erfc: the surface deficit erfcx(a) ~ 1/(a sqrt(pi))
    for a in (10.0, 1e3, 1e5):
        gap = np.max(np.abs(surface_exchange(x, D, a * D / s, t) - constant_source(x, D, t)))
        assert gap == pytest.approx(1 / (a * math.sqrt(math.pi)), rel=0.02)


def test_exchange_vanishes_for_slow_exchange_and_is_linear_in_k():
    D, t = 1e-14, 3600.0
    x = np.linspace(0, 30e-6, 50)
    assert np.all(surface_exchange(x, D, 0.0, t) == 0.0)
    u = x / (2 * math.sqrt(D * t))
    a = 1e-6
    k = a * math.sqrt(D / t)
    ierfc = np.exp(-u * u) / math.sqrt(math.pi) - u * erfc(u)
    # first order in a = h sqrt(Dt): C' = 2 a ierfc(u)
    np.testing.assert_allclose(surface_exchange(x, D, k, t), 2 * a * ierfc, rtol=1e-5,
                               atol=1e-20)


@settings(max_examples=60, deadline=None)
@given(logD=st.floats(-18, -10), logk=st.floats(-14, -2), logt=st.floats(1, 7))
def test_exchange_bounded_by_erfc_and_decreasing(logD, logk, logt):
    D, k, t = 10.0**logD, 10.0**logk, 10.0**logt
    s = math.sqrt(D * t)
    x = np.linspace(0, 8 * s, 200)
    c = surface_exchange(x, D, k, t)
    e = constant_source(x, D, t)
    assert np.all(np.isfinite(c))
    assert np.all(c >= -1e-15) and np.all(c <= e + 1e-12)
    assert np.all(np.diff(c) <= 1e-14)


def test_thin_film_conserves_mass_and_erfc_integral():
    D, t, M, bg, x0 = 2e-14, 5000.0, 3e-6, 0.01, 4e-6
    s = math.sqrt(D * t)
    integral, _ = quad(lambda x: thin_film(x, D, t, M, x0=x0, background=bg) - bg, x0,
                       x0 + 40 * s, epsabs=0, epsrel=1e-12)
    assert integral == pytest.approx(M, rel=1e-9)
    # ∫ erfc(x / 2√(Dt)) dx = 2 √(Dt/π): the tracer taken up from a constant source
    integral, _ = quad(lambda x: constant_source(x, D, t), 0, 40 * s, epsabs=0, epsrel=1e-12)
    assert integral == pytest.approx(2 * math.sqrt(D * t / math.pi), rel=1e-9)


def test_surface_background_source_and_outside_points():
    D, t = 1e-14, 3600.0
    x = np.array([-5e-6, 2e-6, 1e-3])
    c = constant_source(x, D, t, x0=2e-6, source=0.95, background=0.076)
    np.testing.assert_allclose(c, [0.95, 0.95, 0.076])  # x < x0 gets the surface value
    c = surface_exchange(x, D, 1e-9, t, x0=2e-6, source=0.95, background=0.076)
    assert c[0] == c[1] and c[2] == pytest.approx(0.076)
    assert thin_film(x, D, t, 1e-6, x0=2e-6)[0] == pytest.approx(1e-6 / math.sqrt(math.pi * D * t))


@pytest.mark.parametrize("name, params", [
    ("erfc", dict(D=1e-14, x0=1e-6, C_s=0.9, C_bg=0.01)),
    ("thin-film", dict(D=1e-14, M=2e-6, x0=1e-6, C_bg=0.01)),
    ("exchange", dict(D=1e-14, k=3e-10, x0=1e-6, C_s=0.9, C_bg=0.01)),
])
def test_analytic_jacobians_match_finite_differences(name, params):
    spec = P._MODELS[name]
    x, t = np.linspace(-1e-6, 30e-6, 60), 3600.0
    jac = spec.jacobian(x, **params, t=t)
    for i, n in enumerate(spec.params):
        h = abs(params[n]) * 1e-6
        up, down = dict(params), dict(params)
        up[n] += h
        down[n] -= h
        fd = (spec.model(x, **up, t=t) - spec.model(x, **down, t=t)) / (2 * h)
        np.testing.assert_allclose(jac[:, i], fd, atol=1e-6 * np.max(np.abs(fd)), err_msg=n)


def test_model_functions_reject_bad_arguments():
    with pytest.raises(InputError, match="'D'"):
        constant_source([0.0], -1e-14, 10.0)
    with pytest.raises(InputError, match="'t'"):
        thin_film([0.0], 1e-14, 0.0, 1e-6)
    with pytest.raises(InputError, match="'k'"):
        surface_exchange([0.0], 1e-14, -1.0, 10.0)


def test_diffusion_length_and_its_error():
    # seed 000: D = 1e-14 cm² s⁻¹ for a 5 h acquisition moves Li by ~0.2 µm
    assert diffusion_length(1e-18, 5 * 3600) == pytest.approx(0.19e-6, rel=0.01)
    assert diffusion_length(1e-14, 100.0, dim=3) == pytest.approx(math.sqrt(6e-12))
    D, sD, t = 4e-12, 2e-13, 5640.0
    h = 1e-18
    slope = (diffusion_length(D + h, t) - diffusion_length(D - h, t)) / (2 * h)
    assert diffusion_length_error(D, sD, t) == pytest.approx(slope * sD, rel=1e-6)
    with pytest.raises(InputError):
        diffusion_length(1e-14, 1.0, dim=4)


# ---------------------------------------------------------------------------------------------
# fits: round trips with counting noise
# ---------------------------------------------------------------------------------------------


def within(fit: ProfileFit, name: str, truth: float, n_sigma: float = 2.0) -> bool:
    v = fit[name]
    return abs(v.value - truth) <= n_sigma * v.error


def test_erfc_round_trip_raw_fractions():
    rng = np.random.default_rng(1)
    D, t = 3e-15, 4 * 3600.0
    x = np.arange(0.5e-6, 25e-6, 0.25e-6)
    prof = counted_profile(rng, x, constant_source(x, D, t, source=SOURCE, background=BG_18O))
    fit = fit_profile(prof, model="erfc", time="4 h", source=SOURCE, background=BG_18O)
    assert within(fit, "D", D)
    assert fit.fit.absolute_sigma and 0.7 < fit.fit.reduced_chi2 < 1.4
    assert set(fit.values) == {"D", "L"}
    assert fit["L"].value == pytest.approx(math.sqrt(2 * fit["D"].value * t))
    # free background and source are recovered too
    fit = fit_profile(prof, model="erfc", time=t, source="fit", background="fit")
    assert within(fit, "D", D) and within(fit, "C_s", SOURCE) and within(fit, "C_bg", BG_18O)


def test_exchange_round_trip_with_free_surface_position():
    rng = np.random.default_rng(2)
    D, k, t, x0 = 1e-14, 2e-10, 3600.0, 1.5e-6
    x = np.arange(0.0, 30e-6, 0.2e-6)
    truth = surface_exchange(x, D, k, t, x0=x0, source=SOURCE, background=BG_18O)
    prof = counted_profile(rng, x, truth)
    fit = fit_profile(prof, model="exchange", time=t, source=SOURCE, background=BG_18O,
                      surface="fit", weights="counts")
    assert within(fit, "D", D) and within(fit, "k", k) and within(fit, "x0", x0)
    assert fit["k"].symbol == "k*" and fit["k"].unit == "m/s"
    assert fit["D"].symbol == "D*" and fit["D"].unit == "m^2/s"
    # a fixed surface leaves the points outside the solid out of the fit
    fit = fit_profile(prof, model="exchange", time=t, source=SOURCE, background=BG_18O,
                      surface=x0, weights="counts")
    assert fit.used.sum() == np.count_nonzero(x >= x0)
    assert within(fit, "D", D) and within(fit, "k", k)


def test_thin_film_round_trip():
    rng = np.random.default_rng(3)
    D, t, M = 5e-15, 2 * 3600.0, 1.2e-6
    x = np.arange(0.0, 25e-6, 0.25e-6)
    prof = counted_profile(rng, x, thin_film(x, D, t, M, background=BG_18O))
    fit = fit_profile(prof, model="thin-film", time=t, background="fit", weights="counts")
    assert within(fit, "D", D) and within(fit, "M", M) and within(fit, "C_bg", BG_18O)


def _replicas(model, truth, D, n_rep, seed, **kwargs):
    """Fraction of 2σ intervals holding D, and the mean fitted D / true D."""
    rng = np.random.default_rng(seed)
    x = np.arange(0.0, 20e-6, 0.4e-6)
    truth = truth(x)
    hits, ratio = 0, []
    for _ in range(n_rep):
        fit = fit_profile(counted_profile(rng, x, truth), model=model, **kwargs)
        hits += within(fit, "D", D)
        ratio.append(fit["D"].value / D)
    return hits / n_rep, float(np.mean(ratio))


def test_two_sigma_intervals_cover_the_true_D_about_95_percent():
    D, k, t = 1e-14, 3e-10, 3600.0
    kw = dict(time=t, source=SOURCE, background=BG_18O)
    start = time.perf_counter()
    cov_erfc, _ = _replicas(
        "erfc", lambda x: constant_source(x, D, t, source=SOURCE, background=BG_18O), D, 200,
        seed=10, **kw)
    cov_exch, mean_exch = _replicas(
        "exchange", lambda x: surface_exchange(x, D, k, t, source=SOURCE, background=BG_18O),
        D, 200, seed=11, weights="counts", **kw)
    assert time.perf_counter() - start < 15.0
    assert 0.90 <= cov_erfc <= 0.99
    assert 0.90 <= cov_exch <= 0.99
    assert mean_exch == pytest.approx(1.0, abs=0.01)  # sd of one D ~ 3 %, mean of 200: 0.2 %


def test_weights_from_measured_fraction_bias_D_and_counts_weights_do_not():
    # the exchange profile runs into a background of ~4 counts per point, where weights from
    # the measured fraction favour the points that fluctuated low
    D, k, t = 1e-14, 3e-10, 3600.0

    def truth(x):
        return surface_exchange(x, D, k, t, source=SOURCE, background=BG_18O)

    kw = dict(time=t, source=SOURCE, background=BG_18O)
    _, biased = _replicas("exchange", truth, D, 150, seed=12, **kw)
    _, unbiased = _replicas("exchange", truth, D, 150, seed=12, weights="counts", **kw)
    assert biased < 0.985  # measured ~0.97
    assert unbiased == pytest.approx(1.0, abs=0.01)


def test_counts_weights_need_raw_counts():
    x = np.linspace(0, 1e-5, 20)
    prof = Profile(x=x, fraction=constant_source(x, 1e-14, 3600.0))
    with pytest.raises(InputError) as err:
        fit_profile(prof, time=3600.0, weights="counts")
    assert err.value.field == "weights"
    rng = np.random.default_rng(0)
    raw = counted_profile(rng, x, constant_source(x, 1e-14, 3600.0, source=0.9, background=0.01))
    normalised = Profile(x=x, fraction=(raw.fraction - 0.01) / 0.89, counts=raw.counts,
                         metadata=raw.metadata)
    with pytest.raises(InputError, match="raw fraction"):
        fit_profile(normalised, time=3600.0, weights="counts")
    with pytest.raises(InputError) as err:
        fit_profile(raw, time=3600.0, weights="poisson")
    assert err.value.field == "weights"


def test_unit_weights_scale_covariance_by_reduced_chi2():
    rng = np.random.default_rng(4)
    D, k, t = 1e-14, 3e-10, 3600.0
    x = np.arange(0.0, 30e-6, 0.3e-6)
    clean = surface_exchange(x, D, k, t)
    errors = []
    for noise in (0.005, 0.02):
        prof = Profile(x=x, fraction=clean + rng.normal(0, noise, x.size))
        fit = fit_profile(prof, model="exchange", time=t)
        assert not fit.fit.absolute_sigma
        assert fit.fit.reduced_chi2 == pytest.approx(noise**2, rel=0.3)
        assert within(fit, "D", D, 3) and within(fit, "k", k, 3)
        errors.append(fit["D"].error)
    assert errors[1] / errors[0] == pytest.approx(4.0, rel=0.35)


def test_monte_carlo_errors_agree_with_jacobian_errors():
    rng = np.random.default_rng(5)
    D, t = 1e-14, 3600.0
    x = np.arange(0.0, 20e-6, 0.4e-6)
    prof = counted_profile(rng, x, constant_source(x, D, t, source=SOURCE, background=BG_18O))
    kw = dict(model="erfc", time=t, source=SOURCE, background=BG_18O)
    jac = fit_profile(prof, **kw)
    mc = fit_profile(prof, **kw, monte_carlo=200, seed=1)
    assert mc.fit.error_method == "monte-carlo"
    assert mc["D"].error == pytest.approx(jac["D"].error, rel=0.2)
    assert mc["D"].value == jac["D"].value


def test_fixed_k_and_p0_override():
    D, k, t = 1e-14, 3e-10, 3600.0
    x = np.arange(0.0, 20e-6, 0.4e-6)
    prof = Profile(x=x, fraction=surface_exchange(x, D, k, t),
                   sigma=np.full(x.size, 1e-3))
    fit = fit_profile(prof, model="exchange", time=t, p0={"k": 2 * k}, fixed=("k",))
    assert fit.parameters["k"] == 2 * k and "k" not in fit.values
    assert fit.fit.reduced_chi2 > 10  # the wrong k cannot describe the data
    fit = fit_profile(prof, model="exchange", time=t, p0={"D": 3 * D, "k": k / 3})
    assert fit["D"].value == pytest.approx(D, rel=1e-6)


def test_fit_range_and_nan_points_are_left_out():
    D, t = 1e-14, 3600.0
    x = np.arange(0.0, 20e-6, 0.4e-6)
    c = constant_source(x, D, t)
    c[5] = np.nan
    c[-10:] = 0.5  # an artefact beyond the fit range
    fit = fit_profile(Profile(x=x, fraction=c), model="erfc", time=t, fit_range=(None, 15e-6))
    assert not fit.used[5] and not fit.used[-1]
    assert fit["D"].value == pytest.approx(D, rel=1e-6)


def test_bad_input_is_named():
    x = np.linspace(0, 1e-5, 20)
    prof = Profile(x=x, fraction=constant_source(x, 1e-14, 3600.0))
    with pytest.raises(InputError) as err:
        fit_profile(prof, time=0.0)
    assert err.value.field == "time"
    with pytest.raises(InputError) as err:
        fit_profile(prof, time="-3 h")
    assert err.value.field == "time"
    with pytest.raises(InputError) as err:
        fit_profile(prof, time="3 parsecs")
    assert err.value.field == "time"
    with pytest.raises(InputError) as err:
        fit_profile(prof, model="parabolic", time=1.0)
    assert err.value.field == "model"
    with pytest.raises(InputError) as err:
        fit_profile(prof, time=1.0, p0={"Q": 1.0})
    assert err.value.field == "p0"
    with pytest.raises(InputError) as err:
        fit_profile(prof, model="thin-film", time=1.0, source=0.9)
    assert err.value.field == "source"
    with pytest.raises(InputError) as err:
        fit_profile(prof.select(np.arange(20) < 2), model="exchange", time=1.0)
    assert err.value.field == "profile"
    with pytest.raises((InputError, FitError)):
        fit_profile(prof, time=1.0, fit_range=(1.0, 2.0))


def test_time_string_in_hours_and_result_record():
    t = 110 * 3600.0
    x = np.linspace(0, 100e-6, 50)
    prof = Profile(x=x, fraction=constant_source(x, 1e-15, t), source="synthetic")
    fit = fit_profile(prof, time="110 h")
    assert fit.time == pytest.approx(396000.0)
    assert fit["D"].value == pytest.approx(1e-15, rel=1e-6)
    d = fit.to_dict()
    json.dumps(d)
    assert d["provenance"]["parameters"]["model"] == "erfc"
    assert d["provenance"]["parameters"]["time_s"] == pytest.approx(396000.0)
    assert "D* = " in fit.summary()


def test_plot_labels_and_curve():
    rng = np.random.default_rng(6)
    D, k, t = 1e-14, 3e-10, 3600.0
    x = np.arange(0.0, 20e-6, 0.4e-6)
    prof = counted_profile(rng, x, surface_exchange(x, D, k, t, source=SOURCE,
                                                    background=BG_18O))
    fit = fit_profile(prof, model="exchange", time=t, source=SOURCE, background=BG_18O)
    ax = fit.plot(residuals=True)
    assert ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "isotope fraction C'"
    line = [ln for ln in ax.get_lines() if ln.get_color() == "C3"][0]
    assert np.max(line.get_xdata()) == pytest.approx(x[-1] * 1e6)
    np.testing.assert_allclose(fit.y_fit, fit.predict(fit.x_fit))
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# real data and speed
# ---------------------------------------------------------------------------------------------


def test_real_18O_exchange_profile():
    depth_cm, frac = np.loadtxt(REAL_FILE, max_rows=584, unpack=True)
    prof = Profile(x=depth_cm * 1e-2, fraction=frac, source=str(REAL_FILE))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no FitWarning (bounds, rank, convergence)
        fit = fit_profile(prof, model="exchange", time=5640.0)
    D, k = fit["D"], fit["k"]
    assert math.isfinite(fit.fit.reduced_chi2) and fit.fit.success
    assert D.value > 0 and k.value > 0 and D.relative_error < 0.05 and k.relative_error < 0.05
    # D* ~ 4e-8 cm² s⁻¹ and k* ~ 4e-6 cm s⁻¹ for this series
    assert 1e-13 < D.value < 1e-10 and 1e-9 < k.value < 1e-6
    assert np.sqrt(np.mean(fit.residuals**2)) < 0.01  # data noise ~ 0.006
    assert fit.provenance.inputs[0].path.endswith(REAL_FILE.name)
    # a free surface position gives a consistent result
    free = fit_profile(prof, model="exchange", time=5640.0, surface="fit")
    assert free["D"].value == pytest.approx(D.value, rel=0.15)


def test_thousand_point_exchange_fit_is_fast():
    rng = np.random.default_rng(7)
    D, k, t = 1e-14, 3e-10, 3600.0
    x = np.linspace(0.0, 30e-6, 1000)
    prof = counted_profile(rng, x, surface_exchange(x, D, k, t, source=SOURCE,
                                                    background=BG_18O))
    kw = dict(model="exchange", time=t, source=SOURCE, background=BG_18O)
    start = time.perf_counter()
    fit = fit_profile(prof, **kw)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5  # measured ~ 5 ms
    start = time.perf_counter()
    fit = fit_profile(prof, **kw, weights="counts")
    elapsed = time.perf_counter() - start
    assert within(fit, "D", D) and within(fit, "k", k)
    assert elapsed < 1.0  # measured ~ 15 ms
