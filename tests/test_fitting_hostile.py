"""The least-squares core on hostile scales: never a LinAlgError, a hang or an overflow."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.errors import FitError, IonscaleError
from ionscale.fitting import fit_curve, fit_residuals

X = np.linspace(0.0, 1.0, 30)
NOISE = np.random.default_rng(0).normal(0.0, 0.01, X.size)


def _line(x, a, b):
    return a * x + b


def _jac(x, a, b):
    return np.column_stack([x, np.ones_like(x)])


@settings(max_examples=40, deadline=None)
@given(exponent=st.integers(-280, 280), analytic=st.booleans())
def test_scaling_the_data_scales_values_and_errors_exactly(exponent, analytic):
    f = 10.0 ** exponent
    y = (2 * X + 1 + NOISE) * f
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = fit_curve(_line, X, 2 * X + 1 + NOISE, {"a": 2.0, "b": 0.9}, sigma=0.01,
                        jacobian=_jac if analytic else None)
        r = fit_curve(_line, X, y, {"a": 2 * f, "b": 0.9 * f}, sigma=0.01 * f,
                      jacobian=_jac if analytic else None)
    np.testing.assert_allclose(r.values / f, ref.values, rtol=1e-6)
    np.testing.assert_allclose(r.errors / f, ref.errors, rtol=1e-5)
    assert r.chi2 == pytest.approx(ref.chi2, rel=1e-6)


@pytest.mark.parametrize("f", [1e-12, 1e12, 1e-250])
def test_positions_scaled_away_do_not_raise_linalg_errors(f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fit_curve(lambda x, a, b: a * x / f + b, X * f, 2 * X + 1 + NOISE,
                      {"a": 1.0, "b": 0.0})
    np.testing.assert_allclose(r.values, [2.0, 1.0], atol=0.05)


def test_huge_unweighted_residuals_are_a_fit_error_not_an_overflow():
    with pytest.raises(FitError, match="too large"):
        fit_curve(_line, X, (2 * X + 1 + NOISE) * 1e300, {"a": 1.0, "b": 0.0})


def test_non_finite_jacobian_never_reaches_lapack():
    """A Jacobian that overflows (exp of a large log-parameter) gives a flagged result or a
    FitError, not a LinAlgError or a hang."""
    def residual(p):
        return np.exp(p["k"] * X) - np.exp(3 * X)

    def jacobian(p):
        with np.errstate(over="ignore"):
            return (X * np.exp(p["k"] * X) * (np.inf if p["k"] > 2.5 else 1.0))[:, None]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fit_residuals(residual, {"k": 1.0}, jacobian=jacobian)
        except IonscaleError:
            return
    assert np.isinf(r.errors[0]) or r.diagnostics
