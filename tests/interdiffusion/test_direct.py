"""Boltzmann-Matano, Sauer-Freise, Hall and the checks of a profile (issue 12)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy.special import erf, erfc  # noqa: E402

from ionscale.errors import InputError  # noqa: E402
from ionscale.interdiffusion import (  # noqa: E402
    DiffusionProfile,
    boltzmann_matano,
    hall_method,
    matano_plane,
    sauer_freise,
)

D = 1e-14
T = 200 * 3600.0
L = np.sqrt(D * T)


def erfc_profile(n=8001, half=12.0, x_m=3e-4):
    x = np.linspace(-half * L, half * L, n) + x_m
    return DiffusionProfile(x, {"B": 0.5 * erfc(-(x - x_m) / (2 * L))}, time=T)


@pytest.mark.parametrize("method", [boltzmann_matano, sauer_freise])
def test_erfc_constant_D_within_5e_5(method):
    r = method(erfc_profile(), smooth=None, monte_carlo=0, at=[0.5])
    Y = r.c_grid
    sel = (Y > 0.01) & (Y < 0.99)
    assert sel.sum() > 1000
    assert np.nanmax(np.abs(r.D_grid[sel] / D - 1)) < 5e-5
    assert abs(r["D_0.5"].value / D - 1) < 5e-5
    assert abs(r.x_matano - 3e-4) < 1e-3 * L
    assert r.status == "ok", r.diagnostics


def test_matano_plane_function():
    assert abs(matano_plane(erfc_profile()) - 3e-4) < 1e-3 * L


def test_truncated_profile_raises_missing_plateau():
    p = erfc_profile()
    inside = np.abs(p.x - 3e-4) < 3 * L  # Y from 0.017 to 0.983: no plateau
    for method in (boltzmann_matano, sauer_freise):
        r = method(p.select(inside), smooth=None, monte_carlo=0)
        assert r.status == "warning"
        plateau = [d for d in r.diagnostics if "plateau" in d.fields]
        assert len(plateau) == 2 and all(d.code == "data-quality" for d in plateau)
    # with the end members given, the check is how close the ends come
    r = boltzmann_matano(p.select(inside), smooth=None, monte_carlo=0, ends=(0.0, 1.0))
    assert not [d for d in r.diagnostics if "plateau" in d.fields]
    r = boltzmann_matano(p.select(np.abs(p.x - 3e-4) < 1.5 * L), smooth=None, monte_carlo=0,
                         ends=(0.0, 1.0))
    assert [d for d in r.diagnostics if "plateau" in d.fields]


@settings(max_examples=25)
@given(st.lists(st.tuples(st.floats(0.1, 1.0), st.floats(-1.0, 1.0), st.floats(0.2, 1.5)),
                min_size=1, max_size=3),
       st.floats(0.0, 0.3))
def test_bm_and_sf_agree_on_any_smooth_profile(parts, base):
    x = np.linspace(-12, 12, 3001) * 1e-5
    y = np.full(x.shape, base)
    for amp, centre, width in parts:  # a sum of rising erf steps: smooth and monotonic
        y = y + amp * 0.5 * (1 + erf((x - centre * 2e-5) / (width * 2e-5)))
    p = DiffusionProfile(x, {"B": y}, time=3600.0)
    bm = boltzmann_matano(p, smooth=None, monte_carlo=0)
    sf = sauer_freise(p, smooth=None, monte_carlo=0)
    Y = (bm.c_grid - bm.c_grid[0]) / (bm.c_grid[-1] - bm.c_grid[0])
    sel = (Y > 1e-3) & (Y < 1 - 1e-3) & np.isfinite(bm.D_grid)
    assert sel.any()
    np.testing.assert_allclose(bm.D_grid[sel], sf.D_grid[sel], rtol=1e-4)


def test_hall_tails_of_erfc():
    h = hall_method(erfc_profile(), x_matano=3e-4)
    assert abs(h["D_left"].value / D - 1) < 1e-6
    assert abs(h["D_right"].value / D - 1) < 1e-6
    r = boltzmann_matano(erfc_profile(), smooth=None, monte_carlo=0, hall=True)
    assert r.hall is not None and len(r.hall.tails) == 2


def test_noisy_profile_band_covers_truth():
    rng = np.random.default_rng(3)
    x = np.linspace(-8 * L, 8 * L, 161)
    y = 0.5 * erfc(-x / (2 * L)) + rng.normal(0, 0.005, x.size)
    p = DiffusionProfile(x, {"B": y}, sigma={"B": np.full(x.size, 0.005)}, time=T)
    r = boltzmann_matano(p, at=[0.3, 0.5, 0.7], monte_carlo=40, seed=1)
    for c in (0.3, 0.5, 0.7):
        v = r[f"D_{c:g}"]
        assert abs(v.value - D) < 4 * v.error + 0.05 * D
        assert 0 < v.error < 0.2 * D
    ok = r.reliable & np.isfinite(r.D_low)
    assert np.mean((r.D_low[ok] <= 1.05 * D) & (r.D_high[ok] >= 0.95 * D)) > 0.8
    assert r.smoothing["method"] == "spline"
    sg = sauer_freise(p, smooth="savgol", monte_carlo=0, at=[0.5])
    assert abs(sg["D_0.5"].value / D - 1) < 0.1


def test_non_monotonic_profile_is_flagged():
    x = np.linspace(-8 * L, 8 * L, 201)
    y = 0.5 * erfc(-x / (2 * L)) + 0.15 * np.exp(-((x - 2 * L) / L) ** 2)  # a hump
    r = boltzmann_matano(DiffusionProfile(x, {"B": y}, time=T), monte_carlo=0)
    assert any("monotonic" in d.fields for d in r.diagnostics)


def test_coarse_points_are_unmeasurable():
    # 2√(Dt) = 2L spans under five point spacings where D is small
    x = np.linspace(-10 * L, 10 * L, 41)  # spacing L/2: 2√(Dt)=2L = 4 spacings
    p = DiffusionProfile(x, {"B": 0.5 * erfc(-x / (2 * L))}, time=T)
    r = boltzmann_matano(p, smooth=None, monte_carlo=0)
    assert any(d.code == "unmeasurable" for d in r.diagnostics)
    assert r.unmeasurable.any()


def test_probe_broadening_flagged_as_unmeasurable():
    p = erfc_profile().replace(resolution=L)  # s²/(2t) = D/2
    r = boltzmann_matano(p, smooth=None, monte_carlo=0)
    assert any(d.code == "unmeasurable" and "broadening" in d.message for d in r.diagnostics)


def test_bad_inputs_raise():
    p = erfc_profile(n=101)
    with pytest.raises(InputError, match="time"):
        boltzmann_matano(p.replace(time=None), smooth=None)
    with pytest.raises(InputError):
        DiffusionProfile(p.x, {"B": p.c()}, time=0.0)
    flat = DiffusionProfile(p.x, {"B": np.full(p.x.size, 0.3)}, time=T)
    with pytest.raises(InputError, match="nothing interdiffuses"):
        sauer_freise(flat)
    with pytest.raises(InputError, match="sputter time"):
        boltzmann_matano(p.replace(coordinate="time"))


def test_result_serialises_and_plots(tmp_path):
    import json

    import matplotlib.pyplot as plt

    r = boltzmann_matano(erfc_profile(n=401), smooth="spline", monte_carlo=10, at=[0.5])
    json.dumps(r.to_dict())
    ax = r.plot()
    ax.figure.savefig(tmp_path / "bm.png")
    plt.close("all")
    assert "Boltzmann-Matano" in r.summary()
