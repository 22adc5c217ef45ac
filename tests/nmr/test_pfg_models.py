"""PFG attenuation models: powder average vs direct orientation integral, limits, Jacobians."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.nmr.models import (
    isotropic,
    isotropic_jacobian,
    lognormal_distribution,
    lognormal_jacobian,
    lognormal_reference,
    multi_exponential,
    multi_exponential_jacobian,
    powder_anisotropic,
    powder_anisotropic_jacobian,
    powder_reference,
)

RATIOS = np.logspace(-3, 3, 19)
BD = [1e-6, 1e-3, 0.05, 0.5, 0.99, 1.01, 2.0, 7.0, 20.0, 50.0]


@pytest.mark.parametrize("ratio", RATIOS)
def test_powder_matches_orientation_integral(ratio):
    D_a = 3e-12
    D_c = ratio * D_a
    worst = 0.0
    for bD in BD:
        # b·D up to 50 for the larger and for the in-plane coefficient
        for b in (bD / max(D_a, D_c), bD / D_a):
            got = float(powder_anisotropic(b, D_a, D_c))
            ref = float(powder_reference(b, D_a, D_c))
            worst = max(worst, abs(got / ref - 1))
    assert worst < 1e-10


@settings(max_examples=80, deadline=None)
@given(log_ratio=st.floats(-3, 3), bD=st.floats(0, 50), S0=st.floats(0.1, 1e4))
def test_powder_hypothesis(log_ratio, bD, S0):
    D_a = 6.1e-11
    D_c = D_a * 10 ** log_ratio
    b = bD / max(D_a, D_c)
    got = float(powder_anisotropic(b, D_a, D_c, S0))
    ref = S0 * float(powder_reference(b, D_a, D_c))
    assert got == pytest.approx(ref, rel=1e-10, abs=0)
    # bounded by the two isotropic decays
    lo, hi = sorted((math.exp(-b * D_a), math.exp(-b * D_c)))
    assert S0 * lo * (1 - 1e-12) <= got <= S0 * hi * (1 + 1e-12)


def test_powder_isotropic_limit_and_continuity():
    b = np.linspace(0, 5e11, 11)
    D = 1e-11
    iso = np.exp(-b * D)
    assert powder_anisotropic(b, D, D) == pytest.approx(iso, rel=1e-15, abs=0)
    for eps in (1e-9, 1e-6):
        for sign in (1, -1):
            D_c = D * (1 + sign * eps)
            got = powder_anisotropic(b, D, D_c)
            ref = powder_reference(b, D, D_c)
            assert got == pytest.approx(ref, rel=1e-12, abs=0)
            # first order: E ≈ exp(−bD)(1 − b ΔD / 3)
            assert got == pytest.approx(iso * (1 - b * (D_c - D) / 3), rel=1e-9, abs=0)
    # across the branch points |a| = 1 of the series
    for a in (1 - 1e-12, 1 + 1e-12, -1 + 1e-12, -1 - 1e-12):
        bb = 1e11
        D_c = D + a / bb
        assert float(powder_anisotropic(bb, D, D_c)) == pytest.approx(
            float(powder_reference(bb, D, D_c)), rel=1e-13, abs=0)


def test_powder_never_overflows():
    b = np.array([1e13, 1e15, 1e17])
    with np.errstate(over="raise", invalid="raise"):
        E = powder_anisotropic(b, 6.1e-11, 3.3e-12)
        J = powder_anisotropic_jacobian(b, 6.1e-11, 3.3e-12)
    assert np.all(np.isfinite(E)) and np.all(E >= 0) and np.all(np.isfinite(J))


@pytest.mark.parametrize("D_c", [3.3e-12, 6.1e-11 * (1 + 1e-7), 4e-10])
def test_powder_jacobian(D_c):
    b = np.array([0.0, 1e9, 3e10, 1e11, 2e11])
    D_a, S0, base = 6.1e-11, 2.0, 0.1
    J = powder_anisotropic_jacobian(b, D_a, D_c, S0, base)
    h = 1e-6
    num_a = (powder_anisotropic(b, D_a * (1 + h), D_c, S0, base)
             - powder_anisotropic(b, D_a * (1 - h), D_c, S0, base)) / (2 * h * D_a)
    num_c = (powder_anisotropic(b, D_a, D_c * (1 + h), S0, base)
             - powder_anisotropic(b, D_a, D_c * (1 - h), S0, base)) / (2 * h * D_c)
    scale = np.max(np.abs(J[:, :2]))
    assert np.max(np.abs(J[:, 0] - num_a)) < 1e-7 * scale
    assert np.max(np.abs(J[:, 1] - num_c)) < 1e-7 * scale
    assert J[:, 2] == pytest.approx(powder_anisotropic(b, D_a, D_c), rel=1e-14)
    assert np.all(J[:, 3] == 1)


def test_isotropic_and_multi():
    b = np.linspace(0, 1e11, 9)
    assert isotropic(b, 2e-11, 3.0, 0.5) == pytest.approx(3 * np.exp(-2e-11 * b) + 0.5, rel=1e-15)
    two = multi_exponential(b, [5e-11, 1e-12], [0.3, 0.7])
    assert two == pytest.approx(0.3 * np.exp(-5e-11 * b) + 0.7 * np.exp(-1e-12 * b), rel=1e-14)
    three = multi_exponential(b, [1e-10, 1e-11, 1e-12], [0.2, 0.3, 0.5], S0=2)
    assert three[0] == pytest.approx(2.0, rel=1e-15)
    # one component is the isotropic decay
    assert multi_exponential(b, [2e-11], [1.0]) == pytest.approx(isotropic(b, 2e-11), rel=1e-15)
    J = isotropic_jacobian(b, 2e-11, 3.0)
    h = 1e-6
    num = (isotropic(b, 2e-11 * (1 + h), 3.0) - isotropic(b, 2e-11 * (1 - h), 3.0)) / (4e-17)
    assert J[:, 0] == pytest.approx(num, rel=1e-7, abs=1e-6 * np.max(np.abs(num)))
    Jm = multi_exponential_jacobian(b, [5e-11, 1e-12], [0.3, 0.7], 2.0)
    assert Jm.shape == (9, 6)
    num = (multi_exponential(b, [5e-11 * (1 + h), 1e-12], [0.3, 0.7], 2.0)
           - multi_exponential(b, [5e-11 * (1 - h), 1e-12], [0.3, 0.7], 2.0)) / (2 * h * 5e-11)
    assert Jm[:, 0] == pytest.approx(num, rel=1e-6, abs=1e-6 * np.max(np.abs(num)))


@pytest.mark.parametrize("sigma", [0.05, 0.5, 1.0, 2.0])
def test_lognormal_against_quadrature(sigma):
    D = 1e-11
    b = np.array([0.0, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14]) / D * 1e-11
    got = lognormal_distribution(b, D, sigma)
    ref = lognormal_reference(b, D, sigma)
    assert np.max(np.abs(got - ref)) < 1e-8
    # small b: 1 − b<D> + b²<D²>/2 with <Dⁿ> = Dⁿ exp(n²σ²/2)
    x = 1e-7
    assert float(lognormal_distribution(x / D, D, sigma)) == pytest.approx(
        1 - x * math.exp(sigma ** 2 / 2) + x ** 2 / 2 * math.exp(2 * sigma ** 2), rel=1e-13)


def test_lognormal_narrow_limit_and_jacobian():
    b = np.linspace(0, 3e11, 7)
    assert lognormal_distribution(b, 1e-11, 1e-9) == pytest.approx(np.exp(-b * 1e-11), rel=1e-12)
    J = lognormal_jacobian(b, 1e-11, 0.7, 5.0)
    h = 1e-6
    num_d = (lognormal_distribution(b, 1e-11 * (1 + h), 0.7, 5.0)
             - lognormal_distribution(b, 1e-11 * (1 - h), 0.7, 5.0)) / (2 * h * 1e-11)
    num_s = (lognormal_distribution(b, 1e-11, 0.7 + h, 5.0)
             - lognormal_distribution(b, 1e-11, 0.7 - h, 5.0)) / (2 * h)
    assert J[:, 0] == pytest.approx(num_d, rel=1e-6, abs=1e-6 * np.max(np.abs(num_d)))
    assert J[:, 1] == pytest.approx(num_s, rel=1e-6, abs=1e-6 * np.max(np.abs(num_s)))
