"""b values of PFG sequences: closed forms against the numerical double integral, γ table."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.errors import InputError
from ionscale.nmr.bvalues import (
    GAMMA,
    b_from_waveform,
    b_value,
    diffusion_time,
    gamma,
    gradient_waveform,
    pulse_shape_factors,
)

G7 = 103.962e6


def numerical(g, delta, Delta, nucleus="7Li", n=2001, **kw):
    t, geff = gradient_waveform(g, delta, Delta, n=n, **kw)
    return b_from_waveform(t, geff, nucleus)


def test_gamma_science_values():
    assert gamma("7Li") == 103.962e6
    assert gamma("6Li") == 39.371e6
    assert gamma("1H") == 267.522e6
    assert gamma("19F") == 251.815e6
    assert gamma("23Na") == 70.808e6
    assert gamma("31P") == 108.394e6
    for name in ("2H", "13C", "17O", "27Al", "29Si"):
        assert name in GAMMA
    # ratio to the proton from the IUPAC table (sign included)
    assert gamma("13C") / gamma("1H") == pytest.approx(0.25150, rel=1e-3)
    assert gamma("17O") < 0 and gamma("29Si") < 0


@pytest.mark.parametrize("alias", ["Li7", "Li-7", "7-Li", "⁷Li", " 7li "])
def test_gamma_aliases(alias):
    assert gamma(alias) == gamma("7Li")


def test_gamma_unknown_lists_known():
    with pytest.raises(InputError) as exc:
        gamma("99Xx")
    assert exc.value.field == "nucleus"
    assert "7Li" in str(exc.value) and "1H" in str(exc.value)


def test_rectangular_stejskal_tanner():
    g, d, D = 2.5, 2e-3, 0.1
    expected = G7 ** 2 * g ** 2 * d ** 2 * (D - d / 3)
    assert b_value(g, d, D, "7Li") == pytest.approx(expected, rel=1e-14)
    assert numerical(g, d, D) == pytest.approx(expected, rel=1e-13)
    # stimulated echo: same formula, Δ the separation of the encoding pulses
    assert b_value(g, d, D, "7Li", sequence="stimulated") == pytest.approx(expected, rel=1e-14)


def test_half_sine():
    g, d, D = 3.0, 3e-3, 0.05
    expected = G7 ** 2 * g ** 2 * d ** 2 * (4 / math.pi ** 2) * (D - d / 4)
    assert b_value(g, d, D, "7Li", shape="sine") == pytest.approx(expected, rel=1e-13)
    assert numerical(g, d, D, shape="sine", n=20001) == pytest.approx(expected, rel=1e-8)
    sigma, lam = pulse_shape_factors("sine")
    assert sigma == pytest.approx(2 / math.pi, rel=1e-14) and lam == pytest.approx(0.25, rel=1e-14)


def test_trapezoid_price():
    g, d, D, e = 1.2, 2e-3, 0.03, 4e-4
    expected = G7 ** 2 * g ** 2 * (d ** 2 * (D - d / 3) + e ** 3 / 30 - d * e ** 2 / 6)
    assert b_value(g, d, D, "7Li", shape="trapezoid", ramp=e) == pytest.approx(expected,
                                                                               rel=1e-13)
    # the waveform is piecewise linear: the numerical integral is exact
    assert numerical(g, d, D, shape="trapezoid", ramp=e) == pytest.approx(expected, rel=1e-12)
    # ε → 0 is the rectangle
    assert b_value(g, d, D, "7Li", shape="trapezoid", ramp=0.0) == pytest.approx(
        b_value(g, d, D, "7Li"), rel=1e-14)
    sigma, lam = pulse_shape_factors("trapezoid", delta=d, ramp=e)
    assert G7 ** 2 * g ** 2 * sigma ** 2 * d ** 2 * (D - lam * d) == pytest.approx(expected,
                                                                                    rel=1e-12)


def test_bipolar_rectangular():
    g, d, D, tau = 0.8, 4e-3, 0.05, 1e-3
    expected = G7 ** 2 * g ** 2 * d ** 2 * (D - d / 3 - tau / 2)
    assert b_value(g, d, D, "7Li", sequence="bipolar", tau=tau) == pytest.approx(expected,
                                                                                  rel=1e-13)
    assert numerical(g, d, D, sequence="bipolar", tau=tau) == pytest.approx(expected, rel=1e-12)
    # τ = 0: two back-to-back lobes of δ/2 (same effective sign) are one rectangle of δ
    assert b_value(g, d, D, "7Li", sequence="bipolar", tau=0.0) == pytest.approx(
        b_value(g, d, D, "7Li"), rel=1e-13)


@pytest.mark.parametrize("shape,kw,rel", [("sine", {}, 1e-7), ("trapezoid", {"ramp": 3e-4}, 1e-12),
                                          (np.array([0.0, 0.5, 1.0, 0.7, 0.2]), {}, 1e-12)])
@pytest.mark.parametrize("sequence,tau", [("spin-echo", None), ("bipolar", 7e-4)])
def test_every_closed_form_matches_numerical(shape, kw, rel, sequence, tau):
    args = (1.7, 3e-3, 0.02)
    closed = b_value(*args, "1H", shape=shape, sequence=sequence, tau=tau, **kw)
    assert numerical(*args, nucleus="1H", n=20001, shape=shape, sequence=sequence, tau=tau,
                     **kw) == pytest.approx(closed, rel=rel)


def test_array_shape():
    g, d, D = 1.0, 2e-3, 0.04
    ones = b_value(g, d, D, "7Li", shape=np.ones(7))
    assert ones == pytest.approx(b_value(g, d, D, "7Li"), rel=1e-13)
    t = np.linspace(0, 1, 4001)
    sampled = b_value(g, d, D, "7Li", shape=np.sin(np.pi * t))
    # the piecewise-linear interpolant of a smooth lobe: error O(h²) ≈ 1e-7 here
    assert sampled == pytest.approx(b_value(g, d, D, "7Li", shape="sine"), rel=1e-6)
    # an asymmetric ramp: the m1 term matters (would differ from the symmetric formula)
    ramp = np.linspace(0, 1, 50)
    closed = b_value(g, d, D, "7Li", shape=ramp)
    assert numerical(g, d, D, shape=ramp) == pytest.approx(closed, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(delta=st.floats(1e-4, 1e-2), extra=st.floats(0.0, 0.2), frac=st.floats(0.0, 1.0),
       tau=st.floats(0.0, 5e-3), g=st.floats(0.01, 20.0))
def test_hypothesis_closed_forms(delta, extra, frac, tau, g):
    ramp = frac * delta / 2
    for shape, kw, rel in (("rectangular", {}, 1e-11), ("trapezoid", {"ramp": ramp}, 1e-10)):
        for sequence, t in (("spin-echo", None), ("bipolar", tau)):
            span = delta + (tau if t is not None else 0) + 2 * ramp
            Delta = span + extra
            closed = b_value(g, delta, Delta, "7Li", shape=shape, sequence=sequence, tau=t, **kw)
            assert closed > 0
            ref = numerical(g, delta, Delta, shape=shape, sequence=sequence, tau=t, **kw)
            assert closed == pytest.approx(ref, rel=rel)
            # b scales as g²
            assert b_value(2 * g, delta, Delta, "7Li", shape=shape, sequence=sequence, tau=t,
                           **kw) == pytest.approx(4 * closed, rel=1e-13)


def test_strings_and_arrays():
    assert b_value("50 G/cm", "2 ms", "100 ms", "7Li") == pytest.approx(
        b_value(0.5, 2e-3, 0.1, "7Li"), rel=1e-12)
    assert b_value("300 mT/m", 2e-3, 0.1, "7Li") == pytest.approx(b_value(0.3, 2e-3, 0.1, "7Li"),
                                                                 rel=1e-12)
    g = np.linspace(0, 5, 16)
    b = b_value(g, 2e-3, 0.1, "7Li")
    assert b.shape == (16,) and b[0] == 0 and np.all(np.diff(b) > 0)
    assert b_value(1.0, 2e-3, 0.1, gamma=G7) == b_value(1.0, 2e-3, 0.1, "7Li")
    assert b_value(["10 G/cm", "20 G/cm"], 2e-3, 0.1, "7Li") == pytest.approx(
        b_value([0.1, 0.2], 2e-3, 0.1, "7Li"), rel=1e-12)


def test_diffusion_time():
    assert diffusion_time(0.1, 0.003) == pytest.approx(0.1 - 0.001, rel=1e-14)
    assert diffusion_time(0.1, 0.003, shape="sine") == pytest.approx(0.1 - 0.003 / 4, rel=1e-14)
    assert diffusion_time(0.1, 0.004, sequence="bipolar", tau=0.001) == pytest.approx(
        0.1 - 0.004 / 3 - 0.0005, rel=1e-14)
    d, e = 0.002, 0.0005
    assert diffusion_time(0.1, d, shape="trapezoid", ramp=e) == pytest.approx(
        0.1 - d / 3 + e ** 3 / (30 * d ** 2) - e ** 2 / (6 * d), rel=1e-13)


@pytest.mark.parametrize("kwargs,field", [
    ({"g": -1.0}, "g"),
    ({"delta": 0.0}, "delta"),
    ({"delta": -1e-3}, "delta"),
    ({"Delta": 1e-3}, "Delta"),
    ({"g": [1.0, 2.0, 3.0], "Delta": [0.1, 0.2]}, "g"),
    ({"delta": [1e-3, 2e-3], "Delta": [0.1, 0.2, 0.3]}, "delta, Delta"),
    ({"shape": "gaussian"}, "shape"),
    ({"sequence": "cpmg"}, "sequence"),
    ({"sequence": "bipolar"}, "tau"),
    ({"shape": "trapezoid"}, "ramp"),
    ({"shape": "trapezoid", "ramp": 5e-3}, "ramp"),
    ({"ramp": 1e-4}, "ramp"),
    ({"tau": 1e-3}, "tau"),
    ({"g": "50 furlongs"}, "g"),
    ({"g": float("nan")}, "g"),
])
def test_bad_input(kwargs, field):
    args = {"g": 1.0, "delta": 2e-3, "Delta": 0.05, **kwargs}
    with pytest.raises(InputError) as exc:
        b_value(args.pop("g"), args.pop("delta"), args.pop("Delta"), "7Li", **args)
    assert exc.value.field == field


def test_no_nucleus_and_echo_condition():
    with pytest.raises(InputError) as exc:
        b_value(1.0, 2e-3, 0.1)
    assert exc.value.field == "nucleus"
    with pytest.raises(InputError) as exc:
        b_from_waveform([0, 1e-3, 2e-3], [1.0, 1.0, 1.0], "1H")
    assert exc.value.field == "g_eff"


# ------------------------------------------------------------------------------------------
# issue 9: Bruker gradient shapes by name (SMSQ10.100, SINE.100, RECT.1)
# ------------------------------------------------------------------------------------------


def test_bruker_shape_names():
    assert pulse_shape_factors("SMSQ10.100")[0] == pytest.approx(0.9, rel=1e-14)
    assert pulse_shape_factors("smsq")[0] == pytest.approx(0.9, rel=1e-14)
    assert pulse_shape_factors("SMSQ20.64")[0] == pytest.approx(0.8, rel=1e-14)
    assert pulse_shape_factors("SINE.100") == pytest.approx(pulse_shape_factors("sine"),
                                                            rel=1e-14)
    assert pulse_shape_factors("RECT.1") == pytest.approx((1.0, 1 / 3), rel=1e-14)
    with pytest.raises(InputError) as exc:
        pulse_shape_factors("WURST.1000")
    assert exc.value.field == "shape"


@pytest.mark.parametrize("sequence,tau", [("spin-echo", None), ("bipolar", 2e-4)])
def test_smoothed_square_closed_form_matches_numerical(sequence, tau):
    args = (1.3, 2e-3, 0.05)
    closed = b_value(*args, "7Li", shape="SMSQ10.100", sequence=sequence, tau=tau)
    ref = numerical(*args, n=40001, shape="SMSQ10.100", sequence=sequence, tau=tau)
    assert ref == pytest.approx(closed, rel=1e-8)
    # σ² ≈ 0.81 of the rectangle (the diffusion time differs slightly as well)
    rect = b_value(*args, "7Li", sequence=sequence, tau=tau)
    assert closed / rect == pytest.approx(0.81, rel=0.01)
    # a sampled copy of the lobe gives the same b
    t = np.linspace(0.0, 1.0, 20001)
    e = 0.1
    s = np.where(t < e, np.sin(np.pi * t / (2 * e)) ** 2,
                 np.where(t > 1 - e, np.sin(np.pi * (1 - t) / (2 * e)) ** 2, 1.0))
    sampled = b_value(*args, "7Li", shape=s, sequence=sequence, tau=tau)
    assert sampled == pytest.approx(closed, rel=1e-7)
