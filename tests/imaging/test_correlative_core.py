"""Correlative EDS/SIMS: resampling, normalisation, registration and statistics (issue 15)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from ionscale.errors import InputError
from ionscale.imaging.correlate import correlate_channels, line_profile, product_map
from ionscale.imaging.fusion import register_maps
from ionscale.imaging.image import Image
from ionscale.imaging.maps import (
    MapSeries,
    add_isotope_fraction,
    element_of,
    make_map,
    normalise,
    normalise_array,
)
from ionscale.imaging.resample import Grid, coverage, resample

EDS_PX, SIMS_PX = 81.4e-9, 72e-9


def _field(seed: int, n_modes: int = 60):
    """A smooth random texture defined everywhere (m): sum of plane waves, 0.4-4 µm."""
    rng = np.random.default_rng(seed)
    lam = np.exp(rng.uniform(np.log(0.4e-6), np.log(4e-6), n_modes))
    theta = rng.uniform(0, 2 * np.pi, n_modes)
    ky, kx = np.sin(theta) / lam, np.cos(theta) / lam
    ph = rng.uniform(0, 2 * np.pi, n_modes)
    amp = lam / lam.max()

    def f(y, x):
        out = np.zeros(np.broadcast(y, x).shape)
        for a, u, v, p in zip(amp, ky, kx, ph, strict=True):
            out += a * np.cos(2 * np.pi * (u * y + v * x) + p)
        return out / np.sqrt(0.5 * np.sum(amp ** 2))

    return f


def _counts_map(f, shape, px, origin, rng, name, level=20.0):
    g = Grid(shape, px, origin)
    y, x = np.meshgrid(g.centres(0), g.centres(1), indexing="ij")
    lam = level * np.clip(1 + 0.45 * f(y, x), 0, None)
    return make_map({name: rng.poisson(lam).astype(float)}, px, origin)


# ------------------------------------------------------------------ resampling


def test_lanczos_reproduces_a_sinusoid_72_to_81nm_within_1_percent():
    period = 1.2e-6
    yy = (np.arange(500) + 0.5) * SIMS_PX
    src = Image(np.sin(2 * np.pi * yy / period)[:, None] * np.cos(2 * np.pi * yy / period *
                0.8)[None, :], SIMS_PX)
    g = Grid((400, 400), EDS_PX, (0.6e-6, 0.6e-6))
    out = resample(src, g, "lanczos")
    truth = (np.sin(2 * np.pi * g.centres(0) / period)[:, None] *
             np.cos(2 * np.pi * g.centres(1) / period * 0.8)[None, :])
    err = np.max(np.abs(out.data - truth))
    assert err < 0.01            # of the unit amplitude
    assert out.pixel_size == (EDS_PX, EDS_PX) and out.origin == g.origin


def test_lanczos_is_clipped_and_nan_outside():
    step = np.zeros((60, 60))
    step[:, 30:] = 100.0
    src = Image(step, SIMS_PX)
    out = resample(src, Grid((70, 70), EDS_PX * 0.7, (-1e-6, 0.0)), "lanczos")
    d = out.data
    assert np.nanmin(d) >= 0 and np.nanmax(d) <= 100
    assert np.isnan(d[:5]).all() and np.isfinite(d[20:50, 5:60]).all()
    raw = resample(src, Grid((70, 70), EDS_PX * 0.7, (-1e-6, 0.0)), "lanczos", clip=False)
    assert np.nanmin(raw.data) < 0          # the unclipped kernel does ring


def test_area_resampling_conserves_counts_and_is_never_negative():
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.7, (500, 500)).astype(float)     # many zeros
    src = make_map({"6Li": counts, "7Li": counts[::-1]}, SIMS_PX, (0.13e-6, -0.41e-6))
    g = Grid.covering((-1e-6, 37e-6, -1e-6, 37e-6), EDS_PX)
    out = resample(src, g, "area")
    for k in range(2):
        total = src.data[k].sum()
        assert abs(out.data[k].sum() - total) / total < 1e-12
    assert out.data.min() >= 0
    assert np.all(np.isfinite(out.data))
    cov = coverage(src, g)
    assert cov.max() <= 1 and cov[200, 200] == pytest.approx(1.0)
    # a grid covering only part: the counts of the covered part
    part = resample(src, Grid((100, 100), EDS_PX, (0.0, 0.0)), "area")
    assert 0 < part.data[0].sum() < counts.sum()


# ------------------------------------------------------------------ maps and normalisation


def test_normalisation_handles_zero_counts():
    x = np.array([[0.0, 0.0, 9.0], [99.0, 0.0, 1.0]])
    log = normalise_array(x, "log")
    assert np.all(np.isfinite(log)) and log.min() == 0 and log.max() == 1
    assert log[0, 2] == pytest.approx(0.5)
    mm = normalise_array(x, "minmax")
    assert mm.max() == 1 and mm.min() == 0
    pc = normalise_array(np.r_[np.arange(100.0), 1e6], "percentile")
    assert pc[-1] == 1 and pc[50] == pytest.approx(0.5, abs=0.02)
    assert np.all(normalise_array(np.full(5, 3.0), "log") == 1.0)
    assert np.all(normalise_array(np.full(5, 3.0), "minmax") == 0.0)
    m = normalise(make_map({"Zr": x, "Co": x}, "81.4 nm"), "log")
    assert "log10(x + 1)" in m.metadata["normalisation"]


def test_isotope_fraction_channel_from_counts():
    t = np.array([[0.0, 3.0], [5.0, 0.0]])
    o = np.array([[0.0, 7.0], [5.0, 4.0]])
    m = add_isotope_fraction(make_map({"6Li": t, "7Li": o}, "72 nm"))
    f = m.channel("6Li_fraction")
    assert np.all(np.isfinite(f))
    assert f.tolist() == [[0.0, 0.3], [0.5, 0.0]]
    with pytest.raises(InputError, match="normalised"):
        add_isotope_fraction(normalise(make_map({"6Li": t, "7Li": o}, "72 nm")))


def test_bad_maps_raise_clear_errors():
    with pytest.raises(InputError, match="pixel size"):
        make_map({"Zr": np.ones((4, 4))}, None)
    with pytest.raises(InputError, match="shape"):
        make_map({"Zr": np.ones((4, 4)), "Co": np.ones((4, 5))}, "81.4 nm")
    with pytest.raises(InputError, match="unknown element"):
        make_map({"Xq": np.ones((4, 4))}, "81.4 nm")
    with pytest.raises(InputError, match="negative"):
        make_map({"Zr": -np.ones((4, 4))}, "81.4 nm")
    assert element_of("Co La1") == "Co" and element_of("^7Li+") == "Li"
    a = make_map({"Zr": np.ones((4, 4))}, "81.4 nm")
    b = make_map({"Co": np.ones((4, 4))}, "81.4 nm")
    with pytest.raises(InputError, match="channels"):
        MapSeries((a, b), "60 nm")


# ------------------------------------------------------------------ registration


def _pair(offset_px=(0.37, -0.29), eds_corner=(9.1e-6, 3.3e-6), seed=5, sims_seed=None):
    """A 500×500 SIMS-like map and a 216×352 EDS-like map cut from the same texture."""
    rng = np.random.default_rng(seed)
    f = _field(seed)
    sims = _counts_map(f if sims_seed is None else _field(sims_seed), (500, 500), SIMS_PX,
                       (0.0, 0.0), rng, "7Li")
    true = (eds_corner[0] + offset_px[0] * EDS_PX, eds_corner[1] + offset_px[1] * EDS_PX)
    eds = _counts_map(f, (216, 352), EDS_PX, true, rng, "Zr", level=15.0)
    # the EDS map is the reference: its nominal corner is the truth; the SIMS nominal corner
    # is off by a known amount
    eds = dataclasses.replace(eds, origin=(0.0, 0.0))
    truth_sims = (-true[0], -true[1])
    return eds, sims, truth_sims


def test_registration_locates_eds_map_in_sims_map_within_half_a_pixel():
    eds, sims, truth = _pair()
    reg = register_maps(eds, sims)
    assert reg.success and reg.status == "ok"
    err = np.abs(np.asarray(reg.origin) - np.asarray(truth)) / EDS_PX
    assert err.max() < 0.5, err
    assert reg["overlap_fraction"].value == pytest.approx(1.0, abs=0.02)
    assert reg["overlap_area"].value == pytest.approx(216 * 352 * EDS_PX ** 2, rel=0.02)
    assert 0 < reg["residual"].value < 1


def test_registration_with_30_percent_overlap_succeeds():
    # the EDS map hangs off the SIMS field: only 30 % of it overlaps
    width = 352 * EDS_PX
    corner = (5e-6, 36e-6 - 0.3 * width)
    eds, sims, truth = _pair(eds_corner=corner, seed=7)
    reg = register_maps(eds, sims, min_overlap=0.2)
    assert reg.success
    assert reg["overlap_fraction"].value == pytest.approx(0.3, abs=0.03)
    err = np.abs(np.asarray(reg.origin) - np.asarray(truth)) / EDS_PX
    assert err.max() < 0.5, err


def test_registration_without_real_overlap_reports_failure():
    # same geometry, but the SIMS map shows another region (no shared structure)
    eds, sims, _ = _pair(sims_seed=99)
    reg = register_maps(eds, sims)
    assert not reg.success and reg.status == "failed"
    assert any(d.code == "failed" for d in reg.diagnostics)
    # fields of view that cannot overlap by the minimum: failure, no exception
    far = dataclasses.replace(sims, origin=(0.0, 0.0))
    tiny = make_map({"Zr": np.ones((20, 20)) + np.eye(20)}, EDS_PX, (0.0, 0.0))
    reg2 = register_maps(tiny, far, min_overlap=1.0)
    assert reg2.status == "failed"


def test_mutual_information_option_and_overlap_guard():
    eds, sims, truth = _pair(seed=11)
    # an inverted contrast: NCC is negative, MI does not care
    inv = sims.with_data(sims.data.max() - sims.data)
    reg = register_maps(eds, inv, method="mi")
    assert reg.success
    err = np.abs(np.asarray(reg.origin) - np.asarray(truth)) / EDS_PX
    assert err.max() < 1.0, err
    assert not register_maps(eds, inv, method="ncc").success


# ------------------------------------------------------------------ statistics


def test_pearson_r_of_rho_06_over_a_million_voxels():
    rng = np.random.default_rng(0)
    n = 1_000_000
    x = rng.normal(size=n)
    y = 0.6 * x + 0.8 * rng.normal(size=n)
    res = correlate_channels(x.reshape(100, 100, 100), y.reshape(100, 100, 100))
    r = res["r"]
    assert abs(r.value - 0.6) < 0.005
    assert r.error == pytest.approx((1 - 0.36) / math.sqrt(n), rel=0.02)
    assert res["p_value"].value < 1e-12
    assert res["covariance"].value == pytest.approx(0.6, abs=0.005)
    assert res.status == "ok"


def test_pearson_error_matches_the_spread_of_repeats():
    rng = np.random.default_rng(1)
    rs, ses, covs, cse = [], [], [], []
    for _ in range(300):
        x = rng.normal(size=2000)
        y = 0.6 * x + 0.8 * rng.exponential(size=2000)       # skewed noise
        res = correlate_channels(x, y)
        rs.append(res["r"].value)
        ses.append(res["r"].error)
        covs.append(res["covariance"].value)
        cse.append(res["covariance"].error)
    assert np.std(rs) == pytest.approx(np.mean(ses), rel=0.15)
    assert np.std(covs) == pytest.approx(np.mean(cse), rel=0.15)


def test_correlation_skips_nan_and_uses_effective_n():
    a = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 2.0])
    b = np.array([2.0, 4.1, 1.0, 7.9, 10.2, 12.0, 4.0])
    res = correlate_channels(a, b, names=("Li", "Zr"))
    assert res["n"].value == 6
    slow = correlate_channels(np.arange(1000.0) % 17, np.arange(1000.0) % 13,
                              correlation_length=2.0)
    assert slow["n_effective"].value == pytest.approx(250)
    with pytest.raises(InputError):
        correlate_channels(np.ones(5), np.ones(6))
    flat = correlate_channels(np.ones(10), np.arange(10.0))
    assert flat.status == "failed"


def test_product_map_and_line_profile():
    m = make_map({"Zr": np.tile(np.arange(10.0), (8, 1)), "Co": np.ones((8, 10))}, "100 nm")
    p = product_map(m.channel("Zr"), m.channel("Co"))
    assert p.dtype == np.float32 and p[0, 3] == 3
    d, prof = line_profile(m, (0.4e-6, 0.05e-6), (0.4e-6, 0.95e-6))
    assert d[-1] == pytest.approx(0.9e-6)
    assert prof["Zr"][0] == pytest.approx(0.0) and prof["Zr"][-1] == pytest.approx(9.0)
