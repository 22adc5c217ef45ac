"""Conductivity from resistance and geometry, brick-layer grain boundaries, ASR, σT Arrhenius."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionscale.errors import InputError
from ionscale.transport.conductivity import (
    area_specific_resistance,
    brick_layer_gb_conductivity,
    conductivity,
    electrode_area,
    sigma_T_arrhenius,
    total_conductivity,
)
from ionscale.units import BOLTZMANN, EV

EPS0 = 8.8541878128e-12


def test_conductivity_of_a_known_pellet():
    # 1 mm thick, 1 cm² electrodes, 100 ohm: 1e-3 / (100 * 1e-4) = 0.1 S/m = 1 mS/cm
    s = conductivity(100.0, 1e-3, area=1e-4)
    assert s.value == pytest.approx(0.1, rel=1e-12)
    assert s.error == 0.0
    assert s.unit == "S/m"
    d = 2 * math.sqrt(1e-4 / math.pi)
    assert conductivity(100.0, 1e-3, diameter=d).value == pytest.approx(0.1, rel=1e-12)


@given(st.floats(1e-2, 1e7), st.floats(1e-6, 1e-2), st.floats(1e-8, 1e-3))
def test_conductivity_scaling(R, L, A):
    s = conductivity(R, L, area=A).value
    assert s * R * A / L == pytest.approx(1.0, rel=1e-12)
    # doubling the resistance halves σ; doubling L doubles it
    assert conductivity(2 * R, L, area=A).value == pytest.approx(s / 2, rel=1e-12)
    assert conductivity(R, 2 * L, area=A).value == pytest.approx(2 * s, rel=1e-12)


def test_error_propagation_matches_monte_carlo():
    R, Re, L, Le, d, de = 520.0, 10.0, 0.6e-3, 0.01e-3, 7e-3, 0.05e-3
    s = conductivity(R, L, diameter=d, R_error=Re, thickness_error=Le, diameter_error=de)
    rng = np.random.default_rng(3)
    n = 200_000
    mc = (L + Le * rng.normal(size=n)) / ((R + Re * rng.normal(size=n))
                                          * math.pi * (d + de * rng.normal(size=n)) ** 2 / 4)
    assert s.error == pytest.approx(np.std(mc), rel=0.03)
    assert s.details["relative_error_R"] == pytest.approx(Re / R)
    geo = math.hypot(Le / L, 2 * de / d)
    assert s.details["relative_error_geometry"] == pytest.approx(geo, rel=1e-12)


def test_thickness_before_and_after_seed004():
    """Seed 004 table 2 (255 MPa, 10 min): 0.32 mS/cm with the thickness measured before,
    0.36 with the thickness after; the mean thickness gives the mean σ and half the
    difference bounds it."""
    A = math.pi * (3.5e-3) ** 2
    L_before = 0.60e-3
    R = L_before / (0.032 * A)  # 0.32 mS/cm = 0.032 S/m
    L_after = L_before * 0.36 / 0.32
    s = conductivity(R, L_before, area=A, thickness_after=L_after)
    assert s.details["sigma_before"] == pytest.approx(0.032, rel=1e-12)
    assert s.details["sigma_after"] == pytest.approx(0.036, rel=1e-12)
    assert s.value == pytest.approx(0.034, rel=1e-12)
    assert s.error == pytest.approx(0.002, rel=1e-12)  # half the difference, nothing else
    assert s.details["systematic_error"] == pytest.approx(0.002, rel=1e-12)
    # order of the two measurements does not matter
    swapped = conductivity(R, L_after, area=A, thickness_after=L_before)
    assert swapped.value == pytest.approx(s.value) and swapped.error == pytest.approx(s.error)
    # the systematic part adds in quadrature to the statistical one
    s2 = conductivity(R, L_before, area=A, thickness_after=L_after, R_error=0.03 * R)
    assert s2.error == pytest.approx(math.hypot(0.002, 0.03 * 0.034), rel=1e-9)
    # equal thicknesses: no systematic error
    same = conductivity(R, L_before, area=A, thickness_after=L_before)
    assert same.error == 0.0 and same.value == pytest.approx(0.032)


def test_conductivity_arrays_for_a_series():
    R = np.array([100.0, 200.0, 400.0])
    s = conductivity(R, 1e-3, area=1e-4, R_error=0.01 * R, thickness_error=1e-5)
    assert s.value.shape == (3,)
    np.testing.assert_allclose(s.value, 1e-3 / (R * 1e-4))
    np.testing.assert_allclose(s.error / s.value, math.hypot(0.01, 0.01))


def test_total_conductivity_with_covariance():
    Rb, Rgb = 100.0, 300.0
    s = total_conductivity([Rb, Rgb], 1e-3, area=1e-4, resistance_errors=[5.0, 12.0])
    assert s.value == pytest.approx(1e-3 / (400.0 * 1e-4))
    assert s.details["R_total_error"] == pytest.approx(13.0)
    # anti-correlated bulk and grain-boundary resistances: the sum is better known
    cov = np.array([[25.0, -50.0], [-50.0, 144.0]])
    s2 = total_conductivity([Rb, Rgb], 1e-3, area=1e-4, resistance_covariance=cov)
    assert s2.details["R_total_error"] == pytest.approx(math.sqrt(25 + 144 - 100))
    assert s2.error < s.error
    with pytest.raises(InputError) as exc:
        total_conductivity([Rb, Rgb], 1e-3, area=1e-4, resistance_covariance=np.eye(3))
    assert exc.value.field == "resistance_covariance"


def test_area_specific_resistance():
    asr = area_specific_resistance(50.0, 1e-4, R_error=1.0, area_error=2e-6)
    assert asr.value == pytest.approx(5e-3)  # ohm m² = 50 ohm cm²
    assert asr.error == pytest.approx(5e-3 * math.hypot(0.02, 0.02))
    sym = area_specific_resistance(50.0, 1e-4, n_interfaces=2)
    assert sym.value == pytest.approx(2.5e-3)
    with pytest.raises(InputError) as exc:
        area_specific_resistance(50.0, 1e-4, n_interfaces=0)
    assert exc.value.field == "n_interfaces"


def test_brick_layer_round_trip():
    """Build the impedance of a brick-layer ceramic from its microstructure and recover the
    specific grain-boundary conductivity and the boundary thickness."""
    L, A = 1e-3, 5e-5
    eps = 30 * EPS0
    d, delta = 2e-6, 3e-9
    sigma_gb = 2e-6
    R_gb = (L / A) * (delta / d) / sigma_gb
    C_bulk = eps * A / L
    C_gb = eps * A / L * (d / delta)
    s = brick_layer_gb_conductivity(R_gb, C_bulk, C_gb, L, A, grain_size=d,
                                    R_gb_error=0.02 * R_gb, C_gb_error=0.05 * C_gb,
                                    C_bulk_error=0.05 * C_bulk)
    assert s.value == pytest.approx(sigma_gb, rel=1e-12)
    assert s.details["gb_thickness"] == pytest.approx(delta, rel=1e-12)
    assert s.details["sigma_gb_apparent"] == pytest.approx(L / (A * R_gb))
    assert s.error == pytest.approx(sigma_gb * math.sqrt(0.02**2 + 2 * 0.05**2), rel=1e-9)


def test_sigma_T_arrhenius_round_trip():
    rng = np.random.default_rng(11)
    T = np.linspace(243.0, 323.0, 9)
    Ea = 0.37 * EV
    A = 5e4  # S K / m
    true = A * np.exp(-Ea / (BOLTZMANN * T)) / T
    pulls = []
    for _ in range(40):
        s = true * (1 + 0.02 * rng.normal(size=T.size))
        fit = sigma_T_arrhenius(T, s, 0.02 * s)
        pulls.append((fit["Ea"].value - Ea) / fit["Ea"].error)
    assert np.mean(np.abs(pulls) < 2) > 0.85
    assert fit["Ea"].unit == "J" and "eV" in str(fit["Ea"])


def test_sigma_T_arrhenius_geometry_error_goes_to_prefactor_only():
    T = np.linspace(243.0, 323.0, 7)
    R = 1e3 * np.exp(0.37 * EV / BOLTZMANN * (1 / T - 1 / 300.0))
    rng = np.random.default_rng(2)
    R = R * (1 + 0.01 * rng.normal(size=T.size))
    est = conductivity(R, 0.6e-3, diameter=7e-3, R_error=0.01 * R, thickness_error=0.03e-3)
    fit = sigma_T_arrhenius(T, est)
    plain = sigma_T_arrhenius(T, est.value, 0.01 * est.value)
    assert fit["Ea"].value == pytest.approx(plain["Ea"].value, rel=1e-9)
    assert fit["Ea"].error == pytest.approx(plain["Ea"].error, rel=1e-9)
    rel_a = fit["prefactor"].error / fit["prefactor"].value
    rel_plain = plain["prefactor"].error / plain["prefactor"].value
    assert rel_a == pytest.approx(math.hypot(rel_plain, 0.05), rel=1e-6)
    # its predictions carry the geometry error too
    _, e = fit.predict(300.0)
    _, e0 = plain.predict(300.0)
    assert float(e) > float(e0)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"R": 100.0, "thickness": 1e-3}, "area"),
    ({"R": 100.0, "thickness": 1e-3, "area": 1e-4, "diameter": 1e-2}, "area"),
    ({"R": -100.0, "thickness": 1e-3, "area": 1e-4}, "R"),
    ({"R": 100.0, "thickness": 0.0, "area": 1e-4}, "thickness"),
    ({"R": 100.0, "thickness": 1e-3, "area": 1e-4, "thickness_after": -1.0},
     "thickness_after"),
    ({"R": [1.0, 2.0], "thickness": [1e-3, 2e-3, 3e-3], "area": 1e-4}, "R"),
    ({"R": "x", "thickness": 1e-3, "area": 1e-4}, "R"),
])
def test_bad_inputs(kwargs, field):
    with pytest.raises(InputError) as exc:
        conductivity(**kwargs)
    assert exc.value.field == field


def test_electrode_area_from_diameter():
    a, e = electrode_area(diameter=10e-3, diameter_error=0.1e-3)
    assert a == pytest.approx(math.pi * 25e-6)
    assert e == pytest.approx(a * 0.02)
