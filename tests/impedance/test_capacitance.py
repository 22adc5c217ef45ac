"""Brug capacitance, peak frequency and the Irvine-Sinclair-West assignment of arcs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from ionscale.errors import InputError
from ionscale.fitting import fit_curve
from ionscale.impedance.capacitance import (
    IRVINE_RANGES,
    arc_capacitances,
    assign_arcs,
    brug_capacitance,
    peak_frequency,
    time_constant,
)

EPS0 = 8.8541878128e-12  # F/m


def z_rcpe(omega, R, Q, alpha):
    """Impedance of R in parallel with a CPE 1/(Q (jω)^α)."""
    return R / (1.0 + R * Q * (1j * omega) ** alpha)


def apex_omega(R, Q, alpha):
    """Angular frequency of the maximum of -Z'' found numerically (no formula used)."""
    grid = np.logspace(-12, 12, 2401)
    mz = -z_rcpe(grid, R, Q, alpha).imag
    i = int(np.argmax(mz))
    lo, hi = math.log(grid[max(i - 1, 0)]), math.log(grid[min(i + 1, grid.size - 1)])
    res = minimize_scalar(lambda lw: z_rcpe(np.exp(lw), R, Q, alpha).imag, bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-12})
    return math.exp(res.x)


@pytest.mark.parametrize(("R", "Q", "alpha"), [
    (1e5, 1e-10, 0.9), (250.0, 3e-6, 0.6), (3e3, 2e-9, 0.75), (1e7, 5e-12, 1.0),
])
def test_brug_equals_capacitance_of_the_simulated_apex(R, Q, alpha):
    w_max = apex_omega(R, Q, alpha)
    c_true = 1.0 / (R * w_max)
    c = brug_capacitance(R, Q, alpha)
    assert c.value == pytest.approx(c_true, rel=1e-6, abs=0)
    assert peak_frequency(R, Q, alpha).value == pytest.approx(w_max / (2 * math.pi), rel=1e-6)
    assert time_constant(R, Q, alpha).value == pytest.approx(1.0 / w_max, rel=1e-6)


@given(st.floats(1.0, 1e8), st.floats(-13.0, -4.0), st.floats(0.5, 1.0))
def test_brug_apex_property(R, log_q, alpha):
    Q = 10.0**log_q
    c = float(brug_capacitance(R, Q, alpha).value)
    f = float(peak_frequency(R, Q, alpha).value)
    # the ideal R‖C with this capacitance has its apex where the R‖CPE has it
    assert 2 * math.pi * f * R * c == pytest.approx(1.0, rel=1e-9)
    # and the -Z'' at that frequency is the maximum of the CPE arc
    w = 2 * math.pi * f
    mz = -z_rcpe(np.array([w / 1.01, w, w * 1.01]), R, Q, alpha).imag
    assert mz[1] >= mz[0] and mz[1] >= mz[2]


def test_alpha_one_gives_q_and_its_error():
    c = brug_capacitance(1234.0, 3.3e-9, 1.0, errors=(50.0, 1e-10, 0.0))
    assert c.value == 3.3e-9
    assert c.error == pytest.approx(1e-10, rel=1e-12)
    # R error does not matter at α = 1
    c2 = brug_capacitance(1234.0, 3.3e-9, 1.0, errors=(500.0, 1e-10, 0.0))
    assert c2.error == pytest.approx(c.error, rel=1e-12)


def test_error_propagation_matches_monte_carlo():
    mean = np.array([2.0e4, 4.0e-10, 0.85])
    sd = np.array([0.02 * 2.0e4, 0.03 * 4.0e-10, 0.004])
    corr = np.array([[1.0, -0.6, 0.5], [-0.6, 1.0, -0.85], [0.5, -0.85, 1.0]])
    cov = corr * np.outer(sd, sd)
    rng = np.random.default_rng(1)
    s = rng.multivariate_normal(mean, cov, size=200_000)
    c_mc = brug_capacitance(s[:, 0], s[:, 1], s[:, 2]).value
    f_mc = peak_frequency(s[:, 0], s[:, 1], s[:, 2]).value
    c = brug_capacitance(*mean, covariance=cov)
    f = peak_frequency(*mean, covariance=cov)
    assert c.error == pytest.approx(np.std(c_mc), rel=0.04)
    assert f.error == pytest.approx(np.std(f_mc), rel=0.04)
    # correlations matter: ignoring them gives a different error
    c_ind = brug_capacitance(*mean, errors=tuple(sd))
    assert abs(c_ind.error / c.error - 1) > 0.1


def test_errors_equal_diagonal_covariance():
    sd = (300.0, 2e-11, 0.01)
    a = brug_capacitance(1e4, 1e-9, 0.8, errors=sd)
    b = brug_capacitance(1e4, 1e-9, 0.8, covariance=np.diag(np.square(sd)))
    assert a.error == pytest.approx(b.error, rel=1e-12)
    # gradient checked against finite differences, one input at a time
    for i in range(3):
        e = [0.0, 0.0, 0.0]
        e[i] = sd[i]
        analytic = brug_capacitance(1e4, 1e-9, 0.8, errors=tuple(e)).error
        x = np.array([1e4, 1e-9, 0.8])
        h = x[i] * 1e-6
        up, dn = x.copy(), x.copy()
        up[i] += h
        dn[i] -= h
        numeric = abs(brug_capacitance(*up).value - brug_capacitance(*dn).value) / (2 * h)
        assert analytic == pytest.approx(numeric * sd[i], rel=1e-5)


def test_arrays_broadcast():
    c = brug_capacitance(np.array([1e3, 1e4, 1e5]), 1e-9, 0.9)
    assert c.value.shape == (3,)
    assert c.value[2] == pytest.approx(float(brug_capacitance(1e5, 1e-9, 0.9).value))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"R": -1.0, "Q": 1e-9, "alpha": 0.9}, "R"),
    ({"R": 1.0, "Q": 0.0, "alpha": 0.9}, "Q"),
    ({"R": 1.0, "Q": 1e-9, "alpha": 1.2}, "alpha"),
    ({"R": 1.0, "Q": 1e-9, "alpha": 0.9, "covariance": np.eye(2)}, "covariance"),
    ({"R": 1.0, "Q": 1e-9, "alpha": 0.9, "errors": (1.0, 2.0)}, "errors"),
    ({"R": 1.0, "Q": 1e-9, "alpha": 0.9, "covariance": np.eye(3), "errors": (1, 1, 1)},
     "covariance"),
])
def test_bad_inputs_name_the_field(kwargs, field):
    with pytest.raises(InputError) as exc:
        brug_capacitance(**kwargs)
    assert exc.value.field == field


# --------------------------------------------------------------------------- fitted arcs


def _fit_rcpe(rng, R=5e4, Q=2e-10, alpha=0.85, noise=0.01):
    f = np.logspace(-1, 7, 60)
    w = 2 * np.pi * f
    z = z_rcpe(w, R, Q, alpha)
    sigma = noise * np.abs(z)
    data = z + sigma * (rng.normal(size=f.size) + 1j * rng.normal(size=f.size))

    def model(w, R1, CPE1_Q, CPE1_alpha):
        return z_rcpe(w, R1, CPE1_Q, CPE1_alpha)

    return fit_curve(model, w, data, {"R1": R * 1.2, "CPE1_Q": Q * 0.7, "CPE1_alpha": 0.8},
                     sigma=sigma, log=("R1", "CPE1_Q"))


def test_fitted_arc_capacitance_covers_truth():
    rng = np.random.default_rng(7)
    R, Q, alpha = 5e4, 2e-10, 0.85
    c_true = float(brug_capacitance(R, Q, alpha).value)
    pulls = []
    for _ in range(60):
        fit = _fit_rcpe(rng, R, Q, alpha)
        arcs = arc_capacitances(fit)
        assert len(arcs) == 1 and arcs[0].index == "1"
        c = arcs[0].capacitance
        pulls.append((c.value - c_true) / c.error)
    pulls = np.asarray(pulls)
    inside = np.mean(np.abs(pulls) < 1)
    assert 0.5 < inside < 0.86
    assert 0.7 < np.std(pulls) < 1.35


def test_arc_capacitances_accepts_mappings_and_sequences():
    p = {"R0": 10.0, "R1": 1e5, "CPE1_Q": 1e-10, "CPE1_alpha": 0.9, "R2": 1e3, "C2": 1e-7,
         "CPE3_Q": 1e-6, "CPE3_alpha": 0.7}
    arcs = arc_capacitances(p)
    assert [a.index for a in arcs] == ["1", "2"]  # sorted by decreasing peak frequency
    assert arcs[0].capacitance.value == pytest.approx(
        float(brug_capacitance(1e5, 1e-10, 0.9).value), rel=1e-12)
    assert arcs[1].capacitance.value == pytest.approx(1e-7, rel=1e-12)
    # impedance.py names CPE parameters CPE1_0, CPE1_1
    arcs2 = arc_capacitances([10.0, 1e5, 1e-10, 0.9], ["R0", "R1", "CPE1_0", "CPE1_1"],
                             errors=[0, 1e3, 1e-12, 0.01])
    assert arcs2[0].capacitance.value == pytest.approx(arcs[0].capacitance.value, rel=1e-12)
    assert arcs2[0].capacitance.error > 0
    # a series R1-CPE1 is not an arc when the circuit says so
    assert arc_capacitances(p, circuit="R0-R1-CPE1-p(R2,C2)-CPE3")[0].index == "2"
    assert len(arc_capacitances(p, circuit="R0-R1-CPE1-p(R2,C2)-CPE3")) == 1
    with pytest.raises(InputError):
        arc_capacitances([1.0, 2.0])


def test_arcs_follow_the_circuit_structure():
    """With a circuit the pairing is structural: names need not share a suffix."""
    p = {"R0": 5.0, "R_bulk": 2e3, "CPE_b_Q": 3e-11, "CPE_b_alpha": 0.92,
         "R_gb": 8e3, "C_x": 2e-9, "CPE_el_Q": 1e-6, "CPE_el_alpha": 0.8}
    circuit = "R0-p(R_bulk,CPE_b)-p(R_gb,C_x)-CPE_el"
    arcs = arc_capacitances(p, circuit=circuit)
    assert [a.names[0] for a in arcs] == ["R_bulk", "R_gb"]
    assert arcs[0].capacitance.value == pytest.approx(
        float(brug_capacitance(2e3, 3e-11, 0.92).value), rel=1e-12)
    assert arcs[1].capacitance.value == pytest.approx(2e-9, rel=1e-12)
    assert arc_capacitances(p) == []  # by name nothing pairs
    with pytest.raises(InputError):
        arc_capacitances({"R0": 5.0}, circuit=circuit)


# --------------------------------------------------------------------------- assignment


def test_typical_capacitances_are_assigned():
    out = assign_arcs([2e-12, 5e-10, 3e-6])
    assert [a.label for a in out] == ["bulk", "grain_boundary", "electrode"]
    assert all(a.inside and not a.normalized_by_geometry for a in out)


def test_bulk_arc_is_bulk_whatever_the_geometry():
    """C = ε0 εr A / L: normalised to L/A = 1 cm⁻¹ it is ε0 εr · 1 cm for any sample."""
    eps_r = 30.0
    geoms = [(1e-3, 1e-4), (0.5e-3, math.pi * 3.5e-3**2), (1e-6, 1e-6), (2e-3, 4e-5)]
    raw = [EPS0 * eps_r * a / L for L, a in geoms]
    plain = assign_arcs(raw)
    assert any(a.label != "bulk" for a in plain)  # raw values span decades
    for (L, a), c in zip(geoms, raw, strict=True):
        (res,) = assign_arcs(c, thickness=L, area=a)
        assert res.label == "bulk" and res.inside and res.normalized_by_geometry
        assert res.normalized == pytest.approx(EPS0 * eps_r * 0.01, rel=1e-12)
    (d,) = assign_arcs(raw[1], thickness=0.5e-3, diameter=7e-3)
    assert d.normalized == pytest.approx(EPS0 * eps_r * 0.01, rel=1e-12)


def test_position_in_range_and_overlaps():
    lo, hi = IRVINE_RANGES["grain_boundary"]
    centre = math.sqrt(lo * hi)
    (a,) = assign_arcs(centre)
    assert a.label == "grain_boundary"
    assert a.position == pytest.approx(0.5) and a.decades_from_centre == pytest.approx(0.0)
    (b,) = assign_arcs(5e-9)  # in the grain-boundary and surface-layer ranges
    assert b.ambiguous and set(b.candidates) == {"grain_boundary", "surface_layer"}
    (c,) = assign_arcs(1e-3)
    assert c.label == "electrode" and not c.inside and c.position > 1


def test_assign_accepts_estimates_and_arcs():
    arcs = arc_capacitances({"R1": 1e5, "CPE1_Q": 1e-11, "CPE1_alpha": 0.95,
                             "R2": 1e3, "CPE2_Q": 1e-6, "CPE2_alpha": 0.8})
    labels = [a.label for a in assign_arcs(arcs)]
    assert labels == ["bulk", "electrode"]
    est = brug_capacitance(1e5, 1e-11, 0.95, errors=(1e3, 1e-13, 0.001))
    (x,) = assign_arcs(est, thickness=1e-3, area=1e-5)  # L/A = 1 cm⁻¹: unchanged
    assert x.normalized == pytest.approx(float(est.value), rel=1e-12)
    assert x.normalized_error == pytest.approx(float(est.error), rel=1e-12)


@pytest.mark.parametrize(("args", "kwargs", "field"), [
    ([-1e-9], {}, "capacitances"),
    ([1e-9], {"thickness": 1e-3}, "area"),
    ([1e-9], {"area": 1e-4}, "thickness"),
    ([1e-9], {"thickness": 1e-3, "area": -1.0}, "area"),
    (["abc"], {}, "capacitances"),
])
def test_assign_bad_inputs(args, kwargs, field):
    with pytest.raises(InputError) as exc:
        assign_arcs(*args, **kwargs)
    assert exc.value.field == field


def test_undetermined_parameter_gives_infinite_error():
    cov = np.diag([1e4, 1e-24, 1e-4, 1.0])
    cov[2, 2] = np.inf  # the fit could not determine CPE1_Q
    arcs = arc_capacitances([10.0, 1e5, 1e-10, 0.9], ["R0", "R1", "CPE1_Q", "CPE1_alpha"],
                            covariance=cov)
    assert math.isinf(arcs[0].capacitance.error)
    assert math.isfinite(arcs[0].capacitance.value)


def test_agrees_with_the_circuit_fit():
    """The circuit fit reports Brug capacitances of its own; both must agree, errors too."""
    fit_mod = pytest.importorskip("ionscale.impedance.fit")
    synth = pytest.importorskip("ionscale.datasets.synthetic_eis")
    circuit = "R0-p(R1,CPE1)-p(R2,CPE2)"
    truth = {"R0": 30.0, "R1": 2e4, "CPE1_Q": 5e-11, "CPE1_alpha": 0.93, "R2": 5e4,
             "CPE2_Q": 2e-8, "CPE2_alpha": 0.8}
    spec = synth.simulate_spectrum(circuit, truth, noise=0.005, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_mod.fit_circuit(spec, circuit, initial=truth, weighting="sigma")
    arcs = arc_capacitances(res)  # circuit and covariance come from the fit result
    assert [a.names[0] for a in arcs] == ["R1", "R2"]
    for arc in arcs:
        key = f"{arc.names[1].rsplit('_', 1)[0]}_C"
        if key in res.values:
            assert arc.capacitance.value == pytest.approx(res.values[key].value, rel=1e-9)
            assert arc.capacitance.error == pytest.approx(res.values[key].error, rel=1e-6)
        c_true = float(brug_capacitance(truth[arc.names[0]], truth[arc.names[1]],
                                        truth[arc.names[2]]).value)
        assert abs(arc.capacitance.value - c_true) < 4 * arc.capacitance.error
