import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.errors import FitError, FitWarning, InputError
from ionscale.fitting import fit_curve, fit_residuals


def line(x, a, b):
    return a * x + b


def test_linear_fit_matches_closed_form_covariance():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 10, 30)
    sigma = np.full(x.size, 0.3)
    y = 2.0 * x - 1.0 + rng.normal(0, 0.3, x.size)
    res = fit_curve(line, x, y, {"a": 1.0, "b": 0.0}, sigma=sigma)
    design = np.column_stack([x, np.ones_like(x)]) / sigma[:, None]
    cov = np.linalg.inv(design.T @ design)
    coef = cov @ design.T @ (y / sigma)
    assert res.values == pytest.approx(coef, rel=1e-8)
    assert res.covariance == pytest.approx(cov, rel=1e-6)
    assert res.dof == 28
    assert res.absolute_sigma


def test_relative_sigma_scales_covariance_by_reduced_chi2():
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 40)
    y = 3 * x + 0.5 + rng.normal(0, 0.1, x.size)
    absolute = fit_curve(line, x, y, {"a": 1, "b": 0}, sigma=np.ones_like(x))
    relative = fit_curve(line, x, y, {"a": 1, "b": 0})
    assert relative.errors == pytest.approx(absolute.errors * np.sqrt(absolute.reduced_chi2))


def test_log_parameters_report_linear_errors():
    rng = np.random.default_rng(2)
    x = np.linspace(0, 5, 60)
    truth = {"A": 2.0, "k": 0.7}
    sigma = 0.02

    def model(x, A, k):
        return A * np.exp(-k * x)

    y = model(x, **truth) + rng.normal(0, sigma, x.size)
    lin = fit_curve(model, x, y, {"A": 1, "k": 1}, sigma=sigma)
    logged = fit_curve(model, x, y, {"A": 1, "k": 1}, sigma=sigma, log=["A", "k"])
    assert logged.values == pytest.approx(lin.values, rel=1e-6)
    assert logged.errors == pytest.approx(lin.errors, rel=1e-4)


def test_fixed_parameters_keep_their_value_and_zero_error():
    x = np.linspace(0, 1, 10)
    res = fit_curve(line, x, 2 * x + 5, {"a": 1.0, "b": 5.0}, fixed=["b"])
    assert res.value("b") == 5.0
    assert res.error("b") == 0.0
    assert res.value("a") == pytest.approx(2.0)
    assert res.free == (True, False)


def test_bounds_are_respected_and_flagged():
    x = np.linspace(0, 1, 10)
    with pytest.warns(FitWarning, match="bound"):
        res = fit_curve(line, x, 2 * x, {"a": 0.5, "b": 0.0}, bounds={"a": (0, 1)})
    assert res.value("a") <= 1.0


def test_aic_prefers_the_true_model():
    rng = np.random.default_rng(3)
    x = np.linspace(-1, 1, 80)
    y = 1 + 2 * x + rng.normal(0, 0.05, x.size)

    def quad(x, a, b, c):
        return a * x**2 + b * x + c

    lin = fit_curve(line, x, y, {"a": 1, "b": 0}, sigma=0.05)
    q = fit_curve(quad, x, y, {"a": 0, "b": 1, "c": 0}, sigma=0.05)
    assert lin.bic < q.bic


def test_monte_carlo_errors_agree_with_jacobian_for_linear_model():
    rng = np.random.default_rng(4)
    x = np.linspace(0, 1, 25)
    y = line(x, 1.5, 0.2) + rng.normal(0, 0.1, x.size)
    jac = fit_curve(line, x, y, {"a": 1, "b": 0}, sigma=0.1)
    mc = fit_curve(line, x, y, {"a": 1, "b": 0}, sigma=0.1, monte_carlo=400, seed=5)
    assert mc.error_method == "monte-carlo"
    assert mc.samples.shape == (400, 2)
    assert mc.errors == pytest.approx(jac.errors, rel=0.12)


def test_coverage_of_two_sigma_intervals_is_near_95_percent():
    rng = np.random.default_rng(6)
    x = np.linspace(0, 4, 30)

    def model(x, A, k):
        return A * np.exp(-k * x)

    hits = 0
    n = 300
    for _ in range(n):
        y = model(x, 1.0, 0.8) + rng.normal(0, 0.03, x.size)
        r = fit_curve(model, x, y, {"A": 0.5, "k": 0.3}, sigma=0.03, log=["k"])
        hits += abs(r.value("k") - 0.8) < 2 * r.error("k")
    assert 0.91 <= hits / n <= 0.985


def test_analytic_jacobian_gives_same_answer():
    x = np.linspace(0, 1, 20)
    y = 4 * x - 2

    def jac(x, a, b):
        return np.column_stack([x, np.ones_like(x)])

    a = fit_curve(line, x, y, {"a": 0, "b": 0}, jacobian=jac, sigma=0.1)
    b = fit_curve(line, x, y, {"a": 0, "b": 0}, sigma=0.1)
    assert a.values == pytest.approx(b.values, abs=1e-9)
    assert a.errors == pytest.approx(b.errors, rel=1e-6)


def test_complex_data_are_fitted_in_both_parts():
    w = np.logspace(0, 5, 40)

    def rc(w, R, C):
        return R / (1 + 1j * w * R * C)

    z = rc(w, 100.0, 1e-4)
    res = fit_curve(rc, w, z, {"R": 50.0, "C": 1e-3}, log=["R", "C"])
    assert res.value("R") == pytest.approx(100.0, rel=1e-8)
    assert res.n_points == 80


def test_unidentifiable_parameter_warns_and_reports_inf():
    x = np.linspace(0, 1, 10)
    with pytest.warns(FitWarning, match="rank"):
        res = fit_curve(lambda x, a, b: (a + b) * x, x, x, {"a": 0.3, "b": 0.3})
    assert np.isinf(res.errors).all()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"fixed": ["zzz"]}, "fixed"),
        ({"log": ["b"], "p0": {"a": 1.0, "b": -1.0}}, "b"),
        ({"bounds": {"a": (2, 1)}}, "a"),
        ({"sigma": -1.0}, "sigma"),
    ],
)
def test_bad_fit_input_names_the_field(kwargs, field):
    x = np.linspace(0, 1, 10)
    p0 = kwargs.pop("p0", {"a": 1.0, "b": 1.0})
    with pytest.raises(InputError, match=field):
        fit_curve(line, x, x, p0, **kwargs)


def test_nan_data_and_too_few_points():
    with pytest.raises(InputError, match="NaN"):
        fit_curve(line, np.arange(3.0), np.array([1, np.nan, 2]), {"a": 1, "b": 1})
    with pytest.raises(FitError, match="cannot determine"):
        fit_curve(line, np.arange(1.0), np.array([1.0]), {"a": 1, "b": 1})


def test_fit_residuals_for_joint_problems():
    x1, x2 = np.linspace(0, 1, 10), np.linspace(0, 2, 15)
    y1, y2 = 2 * x1 + 1, 2 * x2 + 3

    def residual(p):
        return np.concatenate([(p["a"] * x1 + p["b1"]) - y1, (p["a"] * x2 + p["b2"]) - y2])

    res = fit_residuals(residual, {"a": 1, "b1": 0, "b2": 0})
    assert res.params == pytest.approx({"a": 2, "b1": 1, "b2": 3})


@settings(max_examples=30, deadline=None)
@given(st.floats(-50, 50), st.floats(-50, 50))
def test_exact_line_is_recovered_for_any_coefficients(a, b):
    x = np.linspace(-1, 1, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res = fit_curve(line, x, a * x + b, {"a": 0.1, "b": 0.1})
    assert res.value("a") == pytest.approx(a, abs=1e-6)
    assert res.value("b") == pytest.approx(b, abs=1e-6)


def test_wrong_model_with_absolute_sigma_warns_about_chi2():
    x = np.linspace(0, 1, 30)
    y = np.sin(6 * x)
    with pytest.warns(FitWarning, match="reduced χ²"):
        fit_curve(line, x, y, {"a": 1, "b": 0}, sigma=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        fit_curve(line, x, 2 * x + 0.01 * np.cos(40 * x), {"a": 1, "b": 0}, sigma=0.01)


def test_only_the_undetermined_parameters_get_infinite_errors():
    x = np.linspace(0, 1, 10)
    y = x + 1 + 0.01 * np.sin(9 * x)
    with pytest.warns(FitWarning, match="rank"):
        res = fit_curve(lambda x, a, b, c: (a + b) * x + c, x, y, {"a": 0.3, "b": 0.3, "c": 0})
    assert np.isinf(res.error("a")) and np.isinf(res.error("b"))
    assert np.isfinite(res.error("c")) and res.error("c") > 0
