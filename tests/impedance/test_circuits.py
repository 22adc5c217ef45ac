"""Circuit elements and the circuit-string compiler: analytic limits, Jacobians, parser errors."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscale.errors import InputError
from ionscale.impedance.circuits import Circuit
from ionscale.impedance.elements import ELEMENTS, element_table

F = np.logspace(-3, 7, 41)


def z_of(text, params, f=F):
    return Circuit(text).impedance(f, params)


# --------------------------------------------------------------------------- elements


def test_rc_limits():
    R, C = 1e4, 1e-9
    low = z_of("p(R1,C1)", [R, C], [1e-9])[0]
    high = z_of("p(R1,C1)", [R, C], [1e13])[0]
    assert low.real == pytest.approx(R, rel=1e-9) and abs(low.imag) < 1e-6 * R
    assert abs(high) < 1e-6 * R


def test_rc_apex_at_time_constant():
    R, C = 2e5, 3e-10
    c = Circuit("p(R1,C1)")
    f = np.logspace(2, 5, 3001)
    z = c.impedance(f, [R, C])
    tau = c.time_constants([R, C])[0]
    assert tau.tau == pytest.approx(R * C, rel=1e-12)
    assert f[np.argmax(-z.imag)] == pytest.approx(tau.frequency, rel=3e-3)
    assert np.max(-z.imag) == pytest.approx(R / 2, rel=1e-6)


def test_cpe_with_alpha_one_is_a_capacitor():
    assert np.allclose(z_of("CPE1", [2e-7, 1.0]), z_of("C1", [2e-7]), rtol=1e-12, atol=0)


def test_cpe_phase_and_slope():
    z = z_of("CPE1", [1e-6, 0.7])
    assert np.allclose(np.angle(z), -0.7 * np.pi / 2, atol=1e-12)
    slope = np.diff(np.log(np.abs(z))) / np.diff(np.log(F))
    assert np.allclose(slope, -0.7, atol=1e-12)


def test_inductors():
    assert np.allclose(z_of("L1", [1e-6]), 2j * np.pi * F * 1e-6, rtol=1e-12, atol=0)
    assert np.allclose(z_of("La1", [1e-6, 1.0]), z_of("L1", [1e-6]), rtol=1e-12, atol=0)
    z = z_of("La1", [1e-3, 0.8])
    assert np.allclose(np.angle(z), 0.8 * np.pi / 2, atol=1e-12)


def test_semi_infinite_warburg():
    A = 300.0
    z = z_of("W1", [A])
    assert np.allclose(np.angle(z), -np.pi / 4, atol=1e-12)
    assert np.allclose(np.abs(z) * np.sqrt(2 * np.pi * F), A, rtol=1e-12)


def test_finite_length_warburg_limits():
    R, tau = 50.0, 2.0
    low = z_of("Ws1", [R, tau], [1e-9])[0]
    assert low.real == pytest.approx(R, rel=1e-8)
    # high frequency: R tanh(s)/s -> R/sqrt(jωτ), a Warburg with A = R/sqrt(τ)
    f_hi = np.logspace(3, 7, 9)
    assert np.allclose(z_of("Ws1", [R, tau], f_hi), z_of("W1", [R / math.sqrt(tau)], f_hi),
                       rtol=1e-9, atol=0)


def test_finite_space_warburg_limits():
    R, tau = 50.0, 2.0
    f_lo = np.array([1e-7, 1e-6])
    z = z_of("Wo1", [R, tau], f_lo)
    # low frequency: capacitor τ/R in series with R/3
    cap = 1 / (2j * np.pi * f_lo * tau / R)
    assert np.allclose(z - cap, R / 3, rtol=1e-5)
    f_hi = np.logspace(3, 7, 9)
    assert np.allclose(z_of("Wo1", [R, tau], f_hi), z_of("W1", [R / math.sqrt(tau)], f_hi),
                       rtol=1e-9, atol=0)


def test_gerischer_limits():
    R, tau = 80.0, 1e-3
    assert z_of("G1", [R, tau], [1e-9])[0].real == pytest.approx(R, rel=1e-9)
    f_hi = np.array([1e8, 1e9])
    expected = R / np.sqrt(2j * np.pi * f_hi * tau)
    assert np.allclose(z_of("G1", [R, tau], f_hi), expected, rtol=1e-4)


def test_series_and_parallel_compose():
    p = {"R0": 10.0, "R1": 1e3, "C1": 1e-6, "L2": 1e-5}
    z = z_of("R0-p(R1,C1)-L2", p)
    w = 2 * np.pi * F
    expected = 10 + 1 / (1 / 1e3 + 1j * w * 1e-6) + 1j * w * 1e-5
    assert np.allclose(z, expected, rtol=1e-12)
    # three branches in parallel
    z3 = z_of("p(R1,R2,R3)", [1.0, 2.0, 2.0])
    assert np.allclose(z3, 0.5, rtol=1e-12)


# --------------------------------------------------------------------------- Jacobians


def _random_params(circuit: Circuit, draw) -> np.ndarray:
    out = []
    for name in circuit.parameter_names:
        if name in circuit.log_parameters:
            out.append(10.0 ** draw(st.floats(-9, 5)))
        else:
            out.append(draw(st.floats(0.3, 1.0)))
    return np.array(out)


def _check_jacobian(circuit: Circuit, p: np.ndarray, f=F) -> None:
    J = circuit.jacobian(f, p)
    z = circuit.impedance(f, p)
    scale = np.abs(z)[:, None]
    h = 1e-6
    for i, name in enumerate(circuit.parameter_names):
        up, down = p.copy(), p.copy()
        if name in circuit.log_parameters:  # derivative along ln p
            up[i] *= math.exp(h)
            down[i] *= math.exp(-h)
            analytic = J[:, i] * p[i]
        else:
            up[i] += h
            down[i] -= h
            analytic = J[:, i]
        numeric = (circuit.impedance(f, up) - circuit.impedance(f, down)) / (2 * h)
        err = np.abs(analytic - numeric) / scale[:, 0]
        # central differences with h = 1e-6 carry an O(h²) truncation error: at small α and far
        # from the arcs that reaches a few 1e-6 of |Z| for the CPE exponent
        assert np.all(err < 1e-5), (name, float(err.max()))


@pytest.mark.parametrize("prefix", list(ELEMENTS))
def test_every_element_has_a_correct_jacobian(prefix):
    c = Circuit(f"{prefix}1")
    rng = np.random.default_rng(1)
    for _ in range(20):
        p = np.array([rng.uniform(0.3, 1.0) if n not in c.log_parameters
                      else 10 ** rng.uniform(-9, 5) for n in c.parameter_names])
        _check_jacobian(c, p)


def test_finite_length_warburg_derivative_near_zero_frequency():
    c = Circuit("Ws1")
    _check_jacobian(c, np.array([10.0, 1e-3]), f=np.logspace(-8, -2, 7))


NESTED = [
    "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3",
    "L0-R0-p(R1,CPE1)-p(R2-Ws2,CPE2)-Wo3",
    "p(R1,p(C1,R2-W1))-G1-La1",
    "R0-p(R1-p(R2,C2),CPE1,L1)",
]


@pytest.mark.parametrize("text", NESTED)
@given(data=st.data())
def test_nested_jacobian_matches_central_differences(text, data):
    c = Circuit(text)
    p = _random_params(c, data.draw)
    _check_jacobian(c, p)


# --------------------------------------------------------------------------- parser


def test_parameter_names_and_units():
    c = Circuit("R0-p(R1,CPE1)-Ws2-La3-W4-C5-L6-G7-Wo8")
    assert c.parameter_names == (
        "R0", "R1", "CPE1_Q", "CPE1_alpha", "Ws2_R", "Ws2_tau", "La3_L", "La3_alpha", "W4",
        "C5", "L6", "G7_R", "G7_tau", "Wo8_R", "Wo8_tau")
    assert c.units["R0"] == "ohm" and c.units["C5"] == "F" and c.units["L6"] == "H"
    assert c.units["CPE1_Q"] == "F s^(α-1)" and c.units["W4"] == "ohm s^-1/2"
    assert c.units["Ws2_tau"] == "s" and c.units["CPE1_alpha"] == ""
    assert "CPE1_alpha" not in c.log_parameters and "CPE1_Q" in c.log_parameters
    text = str(c)
    assert "(R1 ‖ CPE1)" in text and "[F s^(α-1)]" in text


def test_labels_spaces_round_trip_and_pickle():
    c = Circuit(" R_s - p( R_bulk , CPE_bulk ) - CPE_el ")
    assert c.text == "R_s-p(R_bulk,CPE_bulk)-CPE_el"
    assert c.parameter_names[:3] == ("R_s", "R_bulk", "CPE_bulk_Q")
    assert Circuit(c.text) == c
    clone = pickle.loads(pickle.dumps(c))
    p = [1.0, 2.0, 1e-6, 0.9, 1e-5, 0.8]
    assert np.array_equal(clone.impedance(F, p), c.impedance(F, p))
    assert repr(c) == "Circuit('R_s-p(R_bulk,CPE_bulk)-CPE_el')"


@pytest.mark.parametrize(
    "text, fragment, position",
    [
        ("R0-p(R1,CPE1", "never closed", 13),
        ("R0-X1", "unknown element 'X1'", 4),
        ("R1-p(R1,C1)", "duplicate element name 'R1'", 6),
        ("", "empty", None),
        ("   ", "empty", None),
        ("R0-p(R1)", "at least two branches", 4),
        ("R0-p(R1,C1))", "without a matching", 12),
        ("R0--R1", "where an element was expected", 4),
        ("R0-", "where an element was expected", 4),
        ("cpe1", "did you mean CPE1", 1),
        ("Rb", "unknown element 'Rb'", 1),
        ("R0 R1", "unexpected 'R'", 4),
        ("R0-p(R1;C1)", "unexpected ';'", 8),
    ],
)
def test_parser_errors_name_the_position(text, fragment, position):
    with pytest.raises(InputError) as exc:
        Circuit(text)
    msg = str(exc.value)
    assert fragment in msg
    assert exc.value.field == "circuit"
    assert exc.value.expected
    if position is not None:
        assert f"position {position}" in msg


@given(st.text(alphabet="RCLPEWsoGap(),-_0123 ", max_size=24))
def test_parser_never_crashes(text):
    try:
        c = Circuit(text)
    except InputError:
        return
    assert c.n_parameters >= 1
    assert Circuit(c.text) == c


def test_not_a_string():
    with pytest.raises(InputError):
        Circuit(42)


def test_wrong_parameter_count_and_names():
    c = Circuit("R0-p(R1,CPE1)")
    with pytest.raises(InputError, match="3 value"):
        c.impedance(F, [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="missing"):
        c.impedance(F, {"R0": 1.0})
    with pytest.raises(InputError, match="unknown"):
        c.impedance(F, {"R0": 1, "R1": 1, "CPE1_Q": 1, "CPE1_alpha": 1, "R9": 1})
    with pytest.raises(InputError):
        c.impedance(F, ["a", "b", "c", "d"])
    with pytest.raises(InputError, match="positive"):
        c.impedance([0.0, 1.0], [1, 1, 1, 1])
    with pytest.raises(InputError):
        c.index("R7")


def test_arcs_and_time_constants():
    c = Circuit("R0-p(R1,CPE1)-p(C2,R2)-p(R3-W3,CPE3)-CPE4")
    assert [(a.resistor, a.capacitor, a.kind) for a in c.arcs] == [
        ("R1", "CPE1", "CPE"), ("R2", "C2", "C")]
    assert c.interchangeable_arcs() == []  # a CPE arc and a C arc cannot swap
    p = dict(zip(c.parameter_names,
                 [1, 1e4, 1e-9, 0.9, 1e-8, 5e3, 7e3, 10.0, 1e-6, 0.8, 1e-5, 0.7], strict=True))
    t1, t2 = c.time_constants(p)
    assert t1.tau == pytest.approx((1e4 * 1e-9) ** (1 / 0.9), rel=1e-12)
    assert t1.capacitance == pytest.approx(1e-9 ** (1 / 0.9) * 1e4 ** (0.1 / 0.9), rel=1e-12)
    assert t2.tau == pytest.approx(5e3 * 1e-8, rel=1e-12)
    assert Circuit("p(R1,C1)-p(R2,C2)-p(R3,CPE3)").interchangeable_arcs() == [[0, 1]]


def test_element_table_lists_every_element():
    table = element_table()
    for prefix, e in ELEMENTS.items():
        assert f"\n{prefix} " in "\n" + table
        assert e.equation in table
