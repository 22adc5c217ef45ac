"""Tests of Harrison's regimes and the Le Claire triple product."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy.sparse.linalg import splu  # noqa: E402

from ionscale.errors import FitError, InputError  # noqa: E402
from ionscale.tracer.regimes import (  # noqa: E402
    LE_CLAIRE_CONSTANT,
    RegimeInfo,
    harrison_regime,
    le_claire_triple_product,
)

# --------------------------------------------------------------------------------------------
# Harrison regimes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("D", "t", "grain", "regime"),
    [
        (4e-14, 1e4, 10e-6, "A"),     # √(Dt) = 20 µm > grain / 0.8
        (1e-16, 1e4, 50e-6, "B"),     # √(Dt) = 1 µm, l/L = 50, α = 2.5e-4
        (1e-16, 1e4, 3e-6, "AB"),     # l/L = 3: between
        (1e-22, 1e4, 50e-6, "BC"),    # √(Dt) = 1 nm, α = 0.25
        (1e-24, 1e4, 50e-6, "C"),     # √(Dt) = 0.1 nm, α = 2.5
    ],
)
def test_regimes(D, t, grain, regime):
    info = harrison_regime(D, t, grain, 0.5e-9)
    assert isinstance(info, RegimeInfo)
    assert info.regime == regime
    L = math.sqrt(D * t)
    assert info["diffusion_length"].value == pytest.approx(L)
    assert info["alpha"].value == pytest.approx(0.5e-9 / (2 * L))
    assert info["grain_ratio"].value == pytest.approx(grain / L)
    assert info.message


def test_thresholds_are_inclusive_and_adjustable():
    # l / L exactly 0.8 is A; moving the threshold moves the verdict
    L = 1e-6
    assert harrison_regime(1e-16, 1e4, 0.8 * L, 0.5e-9).regime == "A"
    assert harrison_regime(1e-16, 1e4, 0.81 * L, 0.5e-9).regime == "AB"
    assert harrison_regime(1e-16, 1e4, 0.81 * L, 0.5e-9, a_grain_ratio=1.0).regime == "A"
    # α = 2.5: C by default, BC if pure C kinetics needs α ≥ 5 (Belova & Murch)
    assert harrison_regime(1e-24, 1e4, 50e-6, 0.5e-9, c_alpha=5.0).regime == "BC"
    # segregation multiplies δ in α
    assert harrison_regime(1e-22, 1e4, 50e-6, 0.5e-9, segregation=10).regime == "C"


def test_llto_seed_case_is_not_a_fast_boundary_problem():
    info = harrison_regime("2.6e-8 cm^2/s", "59 h", "16 um", "0.5 nm",
                           D_gb="7.2e-14 cm^2/s")
    assert info.regime == "A"  # √(Dt) ≈ 0.74 mm ≫ 16 µm grains
    assert info["diffusion_length"].value == pytest.approx(math.sqrt(2.6e-12 * 59 * 3600))
    assert info.fast_boundaries is False
    assert "do not apply" in info.message
    assert info["beta"].value == pytest.approx(
        0.5e-9 * 7.2e-18 / (2 * 2.6e-12 * math.sqrt(2.6e-12 * 59 * 3600)))
    json.dumps(info.to_dict())
    info.plot()
    plt.close("all")


def test_beta_below_ten_is_flagged_in_regime_b():
    # B geometry; D_gb chosen for β = 5
    D, t, delta = 1e-16, 1e4, 0.5e-9
    L = math.sqrt(D * t)
    d_gb = 5 * 2 * D * L / delta
    info = harrison_regime(D, t, 50e-6, delta, D_gb=d_gb)
    assert info.regime == "B" and info.fast_boundaries
    assert info["beta"].value == pytest.approx(5.0)
    assert "β = 5 < 10" in info.message


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((-1e-16, 1e4, 1e-5, 5e-10), {}, "D_bulk"),
        ((1e-16, 0.0, 1e-5, 5e-10), {}, "t"),
        ((1e-16, 1e4, -1e-5, 5e-10), {}, "grain_size"),
        ((1e-16, 1e4, 1e-5, 0.0), {}, "gb_width"),
        ((1e-16, 1e4, 1e-5, 5e-10), {"segregation": 0.0}, "segregation"),
        ((1e-16, 1e4, 1e-5, 5e-10), {"D_gb": -1.0}, "D_gb"),
        ((1e-16, 1e4, 1e-5, 5e-10), {"b_alpha": 2.0}, "thresholds"),
        (("fast", 1e4, 1e-5, 5e-10), {}, "D_bulk"),
    ],
)
def test_regime_bad_input(args, kwargs, field):
    with pytest.raises(InputError) as info:
        harrison_regime(*args, **kwargs)
    assert info.value.field == field


# --------------------------------------------------------------------------------------------
# Le Claire
# --------------------------------------------------------------------------------------------


def test_exact_tail_gives_the_implied_triple_product():
    D, t, A = 1e-17, 3600.0, 2e6  # A in m^(-6/5)
    y = np.linspace(5e-6, 30e-6, 40)
    res = le_claire_triple_product(y, 0.3 * np.exp(-A * y**1.2), D_bulk=D, t=t,
                                   gb_width=0.5e-9, segregation=2.0)
    P = LE_CLAIRE_CONSTANT * math.sqrt(D / t) * A ** (-5 / 3)
    assert res["slope"].value == pytest.approx(-A, rel=1e-9)
    assert res["triple_product"].value == pytest.approx(P, rel=1e-9)
    assert res["D_gb"].value == pytest.approx(P / (2.0 * 0.5e-9), rel=1e-9)
    assert res["beta"].value == pytest.approx(P / (2 * D * math.sqrt(D * t)), rel=1e-9)
    assert res["alpha"].value == pytest.approx(2.0 * 0.5e-9 / (2 * math.sqrt(D * t)))
    assert res["triple_product"].unit == "m^3/s"


@settings(max_examples=30, deadline=None)
@given(log_a=st.floats(3.0, 9.0), log_d=st.floats(-20.0, -12.0), log_t=st.floats(2.0, 6.0))
def test_triple_product_scaling(log_a, log_d, log_t):
    """P ∝ √(D/t) A^(−5/3) over many decades, recovered from the exact tail."""
    A, D, t = 10.0**log_a, 10.0**log_d, 10.0**log_t
    y = np.linspace(1.0, 4.0, 25) * A ** (-1 / 1.2)  # where A y^(6/5) runs 1..5
    res = le_claire_triple_product(y, np.exp(-A * y**1.2), D_bulk=D, t=t)
    expected = LE_CLAIRE_CONSTANT * math.sqrt(D / t) * A ** (-5 / 3)
    assert res["triple_product"].value == pytest.approx(expected, rel=1e-7)


def test_errors_propagate_and_cover():
    rng = np.random.default_rng(4)
    D, t, A = 1e-17, 3600.0, 2e6
    y = np.linspace(5e-6, 30e-6, 30)
    c = np.exp(-A * y**1.2)
    sig = 0.03 * c
    P = LE_CLAIRE_CONSTANT * math.sqrt(D / t) * A ** (-5 / 3)
    vals, errs = [], []
    for _ in range(300):
        res = le_claire_triple_product(y, c + rng.normal(0, 1, c.size) * sig, sigma=sig,
                                       D_bulk=D, t=t)
        vals.append(res["triple_product"].value)
        errs.append(res["triple_product"].error)
    vals, errs = np.array(vals), np.array(errs)
    assert 0.91 <= np.mean(np.abs(vals - P) < 2 * errs) <= 0.99
    assert 0.85 < vals.std() / np.median(errs) < 1.15
    # the error of D_bulk enters as half its relative error
    res = le_claire_triple_product(y, c, D_bulk=D, D_bulk_error=0.1 * D, t=t, sigma=1e-9 * c)
    assert res["triple_product"].relative_error == pytest.approx(0.05, rel=1e-3)


def _bicrystal_tail(D=1.0, t=1.0, d_gb=1e4, delta=0.01, half=10.0, ny=400, dy=0.1,
                    n_steps=200):
    """Layer-averaged profile of an isolated slab boundary (Whipple geometry), numerically.

    2D finite volumes: the boundary's half-width δ/2 is the first column (D_gb), then the
    grain (D) in columns growing geometrically to ``half``; constant source C = 1 at y = 0,
    all other faces closed; backward Euler. Dimensionless units.
    """
    w = [delta / 2, 0.005]
    while sum(w) < half:
        w.append(min(w[-1] * 1.15, 0.5))
    w = np.array(w)
    w[-1] -= w.sum() - half
    nx = w.size
    dcol = np.full(nx, D)
    dcol[0] = d_gb
    n = nx * ny
    index = np.arange(n).reshape(ny, nx)
    gx = dy / (0.5 * w[:-1] / dcol[:-1] + 0.5 * w[1:] / dcol[1:])  # (nx-1,)
    gy = dcol * w / dy  # (nx,)
    p = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    q = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    g = np.concatenate([np.tile(gx, ny), np.tile(gy, ny - 1)])
    lap = sp.coo_matrix((np.concatenate([g, g, -g, -g]),
                         (np.concatenate([p, q, p, q]), np.concatenate([q, p, p, q]))),
                        shape=(n, n)).tocsc()
    g_src = dcol * w / (dy / 2)
    lap = lap - sp.csc_matrix((g_src, (index[0], index[0])), shape=(n, n))
    src = np.zeros(n)
    src[index[0]] = g_src
    vol = np.tile(w * dy, ny)
    dt = t / n_steps
    lu = splu((sp.diags(vol) - dt * lap).tocsc())
    c = np.zeros(n)
    for _ in range(n_steps):
        c = lu.solve(vol * c + dt * src)
    cbar = (c.reshape(ny, nx) * w).sum(axis=1) / half
    return (np.arange(ny) + 0.5) * dy, cbar


def test_le_claire_recovers_a_simulated_type_b_profile():
    """A numerically simulated isolated boundary (β = 50, B regime) gives sδD_gb within 5 %."""
    y, cbar = _bicrystal_tail()
    regime = harrison_regime(1.0, 1.0, 20.0, 0.01, D_gb=1e4)
    assert regime.regime == "B" and regime["beta"].value == pytest.approx(50.0)
    res = le_claire_triple_product(y, cbar, D_bulk=1.0, t=1.0, fit_range=(8.0, 25.0),
                                   gb_width=0.01)
    assert res["triple_product"].value == pytest.approx(100.0, rel=0.05)
    assert res["D_gb"].value == pytest.approx(1e4, rel=0.05)
    assert res.notes == ()
    # fitting next to the surface, where bulk diffusion still dominates, is flagged
    near = le_claire_triple_product(y, cbar, D_bulk=1.0, t=1.0, fit_range=(0.5, 10.0))
    assert any("3√(Dt)" in n for n in near.notes)
    json.dumps(res.to_dict())
    assert res.plot().get_ylabel() == "ln C"
    plt.close("all")


def test_le_claire_flags_small_beta():
    D, t = 1e-16, 1e4
    y = np.linspace(5e-6, 20e-6, 20)
    res = le_claire_triple_product(y, np.exp(-1e8 * y**1.2), D_bulk=D, t=t)
    assert res["beta"].value < 10
    assert any("β" in n for n in res.notes)


def test_le_claire_bad_input():
    y = np.linspace(1e-6, 10e-6, 10)
    c = np.exp(-1e6 * y**1.2)
    with pytest.raises(InputError, match="C ≤ 0"):
        le_claire_triple_product(y, c - 0.5, D_bulk=1e-16, t=1e4)
    with pytest.raises(InputError, match="negative depths"):
        le_claire_triple_product(y - 5e-6, c, D_bulk=1e-16, t=1e4)
    with pytest.raises(InputError) as info:
        le_claire_triple_product(y, c, D_bulk=-1e-16, t=1e4)
    assert info.value.field == "D_bulk"
    with pytest.raises(InputError) as info:
        le_claire_triple_product(y, c, D_bulk=1e-16, t=0)
    assert info.value.field == "t"
    with pytest.raises(InputError, match="concentrations for"):
        le_claire_triple_product(y, c[:-1], D_bulk=1e-16, t=1e4)
    with pytest.raises(InputError, match="valid points"):
        le_claire_triple_product(y, c, D_bulk=1e-16, t=1e4, fit_range=(9e-6, None))
    with pytest.raises(InputError, match="positive"):
        le_claire_triple_product(y, c, sigma=0.0, D_bulk=1e-16, t=1e4)
    with pytest.raises(FitError, match="does not decrease"):
        le_claire_triple_product(y, 1.0 / c, D_bulk=1e-16, t=1e4)
