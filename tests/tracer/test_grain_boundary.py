"""Tests of the grain-boundary step analysis: line extraction, flux continuity, batches."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ionscale.errors import InputError  # noqa: E402
from ionscale.tracer.data import FractionMap, Profile  # noqa: E402
from ionscale.tracer.fraction import binomial_sigma  # noqa: E402
from ionscale.tracer.grain_boundary import (  # noqa: E402
    BoundaryBatch,
    BoundaryResult,
    analyse_boundaries,
    analyse_boundary,
    extract_line,
    gb_diffusivity_from_step,
    locate_step,
    synthetic_boundary_profile,
)

D_BULK = 2.6e-12  # m^2/s, LLTO at 22 °C (seed 000)
UM = 1e-6


def _profile(gradient=-6e3, step=0.05, curvature=3e7, boundary=20.5 * UM, n=41, res=0.0):
    """Positions (1 µm steps), the exact profile and its D_gb/δ."""
    y = np.arange(n) * UM
    r = abs(gradient) * D_BULK / step
    c = synthetic_boundary_profile(y, boundary=boundary, gradient=gradient, D_bulk=D_BULK,
                                   D_gb_over_delta=r, C_boundary=0.35, curvature=curvature,
                                   resolution=res)
    return y, c, r


def _map_with_boundary(rng, *, counts=400.0, shape=(60, 40), pixel=UM, boundary_row=30.5,
                       gradient=-6e3, step=0.05, origin=(0.0, 0.0)):
    """A fraction map: a profile along y with a step, tiled along x; Poisson/binomial counts."""
    ny, nx = shape
    y = origin[0] + np.arange(ny) * pixel
    yb = origin[0] + boundary_row * pixel
    r = abs(gradient) * D_BULK / step
    c = synthetic_boundary_profile(y, boundary=yb, gradient=gradient, D_bulk=D_BULK,
                                   D_gb_over_delta=r, C_boundary=0.35, curvature=3e7)
    true = np.tile(c[:, None], (1, nx))
    total = rng.poisson(counts, true.shape)
    n6 = rng.binomial(total, true)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, n6 / total, np.nan)
    fmap = FractionMap(fraction=frac, sigma=binomial_sigma(frac, total),
                       total=total.astype(float), pixel_size=(pixel, pixel), origin=origin)
    return fmap, yb, r


# --------------------------------------------------------------------------------------------
# the formula and the seed's numbers
# --------------------------------------------------------------------------------------------


def test_seed_reference_numbers():
    # Fig. 3e: 1.1 cm^-1, ΔC = 0.02, D_bulk = 2.6e-8 cm^2/s, δ = 0.5 nm
    v = gb_diffusivity_from_step(110.0, 0.02, 2.6e-12, gb_width=0.5e-9)
    assert v["D_gb_over_delta"].value == pytest.approx(1.43e-8, rel=1e-9)  # 1.43e-6 cm/s
    assert v["D_gb_over_delta"].field()[0] == pytest.approx(1.43e-6, rel=1e-9)
    assert v["D_gb"].field()[0] == pytest.approx(7.15e-14, rel=1e-9)  # paper: 7.6e-14
    assert round(v["D_gb"].field()[0], 15) == pytest.approx(7.2e-14)
    # after 16 d: 0.65 cm^-1 and 0.009 → 9.4e-14 cm^2/s (paper 9.2e-14)
    v16 = gb_diffusivity_from_step("0.65 1/cm", 0.009, "2.6e-8 cm^2/s", gb_width="0.5 nm")
    assert v16["D_gb"].field()[0] == pytest.approx(9.39e-14, rel=1e-3)
    assert str(v16["D_gb"]) == "D*_gb = 9.39e-14 cm² s⁻¹"
    # the sign of the gradient or the step does not matter
    assert gb_diffusivity_from_step(-110.0, -0.02, 2.6e-12)["D_gb_over_delta"].value == \
        pytest.approx(1.43e-8)


def test_step_formula_errors_match_monte_carlo():
    rng = np.random.default_rng(0)
    g, sg, dc, sdc, d, sd, w, sw = 110.0, 6.0, 0.02, 0.001, 2.6e-12, 1.3e-13, 0.5e-9, 0.03e-9
    rho = 0.6  # correlated gradient and step (they come from the same fits)
    cov = rho * sg * sdc
    v = gb_diffusivity_from_step(g, dc, d, gradient_error=sg, delta_C_error=sdc,
                                 D_bulk_error=sd, gb_width=w, gb_width_error=sw, covariance=cov)
    n = 200_000
    gd = rng.multivariate_normal([g, dc], [[sg**2, cov], [cov, sdc**2]], size=n)
    ratio = rng.normal(d, sd, n) * gd[:, 0] / gd[:, 1]
    dgb = ratio * rng.normal(w, sw, n)
    assert v["D_gb_over_delta"].error == pytest.approx(ratio.std(), rel=0.04)
    assert v["D_gb"].error == pytest.approx(dgb.std(), rel=0.04)
    # the covariance term matters: without it the error is visibly larger
    v0 = gb_diffusivity_from_step(g, dc, d, gradient_error=sg, delta_C_error=sdc,
                                  D_bulk_error=sd)
    assert v0["D_gb_over_delta"].error > 1.1 * v["D_gb_over_delta"].error


# --------------------------------------------------------------------------------------------
# one boundary
# --------------------------------------------------------------------------------------------


def test_exact_profile_gives_exact_values():
    y, c, r = _profile()
    res = analyse_boundary(y, c, np.full(c.size, 0.01), boundary=20.5 * UM, window=15 * UM,
                           D_bulk=D_BULK, gb_width=0.5e-9)
    assert isinstance(res, BoundaryResult)
    assert res["gradient_left"].value == pytest.approx(-6e3, rel=1e-8)
    assert res["gradient_right"].value == pytest.approx(-6e3, rel=1e-8)
    assert res["gradient"].value == pytest.approx(-6e3, rel=1e-8)
    assert res["C_left"].value == pytest.approx(0.375, abs=1e-10)
    assert res["C_right"].value == pytest.approx(0.325, abs=1e-10)
    assert res["delta_C"].value == pytest.approx(0.05, rel=1e-8)
    assert res["D_gb_over_delta"].value == pytest.approx(r, rel=1e-7)
    assert res["D_gb"].value == pytest.approx(r * 0.5e-9, rel=1e-7)
    assert res.slope_z == pytest.approx(0.0, abs=1e-6)
    assert res.notes == ()
    assert res["gradient"].unit == "1/m" and res["D_gb_over_delta"].unit == "m/s"
    assert res["D_gb_over_delta"].label == "D*_gb/δ" and res["D_gb"].label == "D*_gb"


def test_linear_degree_and_single_side():
    y, c, r = _profile(curvature=0.0)
    res = analyse_boundary(y, c, 0.01, boundary=20.5 * UM, window=10 * UM, D_bulk=D_BULK,
                           degree=1, side="left")
    assert res["D_gb_over_delta"].value == pytest.approx(r, rel=1e-8)
    assert res["gradient"].error == pytest.approx(res["gradient_left"].error)
    assert res.side == "left"


def test_locates_the_steepest_step():
    rng = np.random.default_rng(3)
    y, c, _ = _profile(boundary=23.5 * UM)
    noisy = c + rng.normal(0, 0.003, c.size)
    assert locate_step(y, noisy) == pytest.approx(23.5 * UM)
    res = analyse_boundary(y, noisy, 0.003, window=15 * UM, D_bulk=D_BULK)
    assert res.boundary == pytest.approx(23.5 * UM)
    assert not res.boundary_given and math.isnan(res["boundary"].error)


def test_exclude_removes_the_blur_of_the_step():
    # the SIMS beam (σ = 1.5 µm) smears the step; points inside it bias a fit that keeps them
    y = np.arange(0, 81) * 0.5 * UM
    r = abs(-6e3) * D_BULK / 0.05
    c = synthetic_boundary_profile(y, boundary=20.25 * UM, gradient=-6e3, D_bulk=D_BULK,
                                   D_gb_over_delta=r, C_boundary=0.35, curvature=3e7,
                                   resolution=1.5 * UM)
    kept = analyse_boundary(y, c, 0.01, boundary=20.25 * UM, window=15 * UM, D_bulk=D_BULK)
    cut = analyse_boundary(y, c, 0.01, boundary=20.25 * UM, window=15 * UM, exclude=6 * UM,
                           D_bulk=D_BULK)
    assert abs(kept["D_gb_over_delta"].value / r - 1) > 0.5
    assert cut["D_gb_over_delta"].value == pytest.approx(r, rel=1e-3)
    assert int(cut.left.used.sum()) == 18 and int(cut.right.used.sum()) == 18


def test_notes_flag_unphysical_steps():
    y, up, _ = _profile(gradient=6e3, curvature=0.0)  # rising profile, C_right > C_left
    bad = up - 2 * 6e3 * (y - 20.5 * UM)  # slope now falls but the step still rises
    res = analyse_boundary(y, bad, 0.001, boundary=20.5 * UM, window=15 * UM, D_bulk=D_BULK)
    assert res["gradient"].value == pytest.approx(-6e3, rel=1e-6)
    assert any("opposite signs" in n for n in res.notes)
    good = analyse_boundary(y, up, 0.001, boundary=20.5 * UM, window=15 * UM, D_bulk=D_BULK)
    assert good.notes == ()
    tiny = synthetic_boundary_profile(y, boundary=20.5 * UM, gradient=-6e3, D_bulk=D_BULK,
                                      D_gb_over_delta=6e3 * D_BULK / 0.005, C_boundary=0.35)
    res = analyse_boundary(y, tiny, 0.01, boundary=20.5 * UM, window=15 * UM, D_bulk=D_BULK)
    assert any("poorly determined" in n for n in res.notes)


def test_accepts_profile_objects_and_strings():
    y, c, r = _profile()
    prof = Profile(x=y, fraction=c, sigma=np.full(c.size, 0.01), source="line.txt")
    res = analyse_boundary(prof, boundary="20.5 um", window="15 um", exclude="1 um",
                           D_bulk="2.6e-8 cm^2/s", gb_width="0.5 nm")
    assert res["D_gb_over_delta"].value == pytest.approx(r, rel=1e-7)
    assert res.provenance.parameters["source"] == "line.txt"
    # asymmetric window
    res2 = analyse_boundary(prof, boundary=20.5 * UM, window=(12 * UM, 18 * UM),
                            D_bulk=D_BULK)
    assert int(res2.left.used.sum()) == 12 and int(res2.right.used.sum()) == 18


def test_replica_coverage_and_error_size():
    """~95 % of 2σ intervals hold the truth, and the errors match the replica spread."""
    rng = np.random.default_rng(11)
    y, c, r = _profile()
    sig = 0.003
    vals, errs = [], []
    for _ in range(300):
        noisy = c + rng.normal(0, sig, c.size)
        res = analyse_boundary(y, noisy, sig, boundary=20.5 * UM, window=15 * UM,
                               exclude=1 * UM, D_bulk=D_BULK)
        vals.append(res["D_gb_over_delta"].value)
        errs.append(res["D_gb_over_delta"].error)
    vals, errs = np.array(vals), np.array(errs)
    coverage = np.mean(np.abs(vals - r) < 2 * errs)
    assert 0.91 <= coverage <= 0.99
    assert 0.85 < vals.std() / np.median(errs) < 1.2
    assert abs(np.median(vals) / r - 1) < 0.05


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-1e-3, 1e-3), scale=st.floats(0.1, 10.0))
def test_invariances(shift, scale):
    """Translation and mirror of the positions leave D_gb/δ unchanged; it is linear in D."""
    rng = np.random.default_rng(5)
    y, c, _ = _profile()
    noisy = c + rng.normal(0, 0.003, c.size)
    base = analyse_boundary(y, noisy, 0.003, boundary=20.5 * UM, window=15 * UM,
                            D_bulk=D_BULK)
    moved = analyse_boundary(y + shift, noisy, 0.003, boundary=20.5 * UM + shift,
                             window=15 * UM, D_bulk=D_BULK * scale)
    mirrored = analyse_boundary(-y[::-1], noisy[::-1], 0.003, boundary=-20.5 * UM,
                                window=15 * UM, D_bulk=D_BULK)
    v = base["D_gb_over_delta"]
    assert moved["D_gb_over_delta"].value == pytest.approx(v.value * scale, rel=1e-6)
    assert moved["D_gb_over_delta"].error == pytest.approx(v.error * scale, rel=1e-5)
    assert mirrored["D_gb_over_delta"].value == pytest.approx(v.value, rel=1e-6)
    assert mirrored["delta_C"].value == pytest.approx(base["delta_C"].value, rel=1e-8)
    assert mirrored["gradient"].value == pytest.approx(-base["gradient"].value, rel=1e-6)


# --------------------------------------------------------------------------------------------
# line extraction
# --------------------------------------------------------------------------------------------


def _linear_map(origin=(3e-6, -2e-6), pixel=(0.5e-6, 1e-6), shape=(30, 20), ky=1e4):
    ny, nx = shape
    yy = origin[0] + np.arange(ny)[:, None] * pixel[0]
    xx = origin[1] + np.arange(nx)[None, :] * pixel[1]
    f = 0.2 + 2e4 * xx + ky * yy + 0 * xx * yy
    return FractionMap(fraction=f, sigma=np.full(f.shape, 0.01), total=np.full(f.shape, 1e3),
                       pixel_size=pixel, origin=origin)


def test_line_is_in_physical_coordinates():
    fmap = _linear_map()
    start, end = (1e-6, 5e-6), (12e-6, 15e-6)  # (x, y), diagonal, inside the map
    exact = lambda p: 0.2 + 2e4 * p[..., 0] + 1e4 * p[..., 1]  # noqa: E731
    lin = extract_line(fmap, start, end, order=1)
    # bilinear interpolation reproduces a linear field exactly
    assert np.allclose(lin.fraction, exact(lin.points), atol=1e-12)
    assert lin.points[0] == pytest.approx(start)
    assert lin.x[1] - lin.x[0] == pytest.approx(0.5e-6)  # default spacing = min pixel
    assert np.allclose(np.hypot(*(lin.points - start).T), lin.x)
    near = extract_line(fmap, start, end, order=0)
    # nearest pixel: the value of the pixel whose centre is nearest, within half a pixel
    assert np.all(np.abs(near.fraction - exact(near.points)) <= 2e4 * 0.5e-6 + 1e4 * 0.25e-6
                  + 1e-12)
    assert np.all(near.n_pixels == 1)
    assert near.sigma == pytest.approx(np.full(len(near), 0.01))


def test_width_average_and_its_error():
    # horizontal line along row 10 (y = 8 µm), samples at column centres, 5 px = 2.5 µm wide:
    # the samples across are the pixel centres of rows 8..12
    for ky, scatter_wins in ((1e4, False), (4e4, True)):
        fmap = _linear_map(ky=ky)
        lin = extract_line(fmap, (0.0, 8e-6), (10e-6, 8e-6), width="5 px", spacing=1e-6)
        assert lin.width == pytest.approx(2.5e-6)
        assert len(lin) == 11 and np.all(lin.n_pixels == 5)
        # the field is linear across the line: the mean is the centre value
        assert np.allclose(lin.fraction, 0.2 + 2e4 * lin.points[:, 0] + ky * 8e-6, atol=1e-12)
        assert lin.sigma_binomial == pytest.approx(np.full(11, 0.01 / math.sqrt(5)))
        offsets = ky * 0.5e-6 * np.arange(-2, 3)
        assert lin.sigma_scatter == pytest.approx(np.full(11, offsets.std(ddof=1) / math.sqrt(5)))
        assert np.all(lin.sigma == np.fmax(lin.sigma_binomial, lin.sigma_scatter))
        assert bool(np.all(lin.sigma_scatter > lin.sigma_binomial)) is scatter_wins


def test_shared_pixels_are_counted_once_in_the_error():
    # 0.5 µm sampling across 1 µm-wide columns: nearest pixels 6, 6, 7, 8, 8 (or 6, 7, 7, 8, 8)
    fmap = _linear_map()
    lin = extract_line(fmap, (5e-6, 4e-6), (5e-6, 14e-6), width="5 px")
    assert np.all(lin.n_pixels == 3)
    expected = 0.01 * math.sqrt(4 + 1 + 4) / 5  # weights (2, 1, 2)/5 of three pixels
    assert lin.sigma_binomial == pytest.approx(np.full(len(lin), expected))
    assert np.all(lin.sigma_binomial > 0.01 / math.sqrt(5))  # not 5 independent samples


def test_bilinear_error_of_a_shared_sample():
    f = np.array([[0.2, 0.4], [0.2, 0.4]])
    s = np.array([[0.01, 0.03], [0.01, 0.03]])
    fmap = FractionMap(fraction=f, sigma=s, total=np.ones_like(f), pixel_size=(1e-6, 1e-6))
    lin = extract_line(fmap, (0.5e-6, 0.0), (0.5e-6, 1e-6), order=1)  # halfway between columns
    assert lin.fraction == pytest.approx([0.3, 0.3])
    assert lin.sigma == pytest.approx([math.sqrt(0.25 * 0.01**2 + 0.25 * 0.03**2)] * 2)


def test_nan_pixels_are_ignored_and_empty_points_dropped():
    f = np.tile(np.linspace(0.1, 0.5, 9)[:, None], (1, 5))
    f[2, 2] = np.nan  # one pixel inside the width
    f[5, :] = np.nan  # a whole row: that point has no valid pixel
    fmap = FractionMap(fraction=f, sigma=np.where(np.isfinite(f), 0.01, np.nan),
                       total=np.ones_like(f), pixel_size=(1e-6, 1e-6))
    lin = extract_line(fmap, (2e-6, 0.0), (2e-6, 8e-6), width="3 px")
    assert len(lin) == 8 and not np.any(np.isclose(lin.x, 5e-6))
    i = int(np.flatnonzero(np.isclose(lin.x, 2e-6))[0])
    assert lin.n_pixels[i] == 2 and lin.fraction[i] == pytest.approx(0.2)
    assert lin.sigma_binomial[i] == pytest.approx(0.01 / math.sqrt(2))
    for order in (0, 1):
        assert np.all(np.isfinite(extract_line(fmap, (2e-6, 0.0), (2e-6, 8e-6),
                                               order=order).fraction))


def test_map_round_trip_recovers_D_gb_over_delta():
    """Poisson counts (~400 per pixel), fraction and binomial σ, a 21-px line, the fit."""
    rng = np.random.default_rng(7)
    origin = (-12e-6, 40e-6)  # (y0, x0): the line is in the map's physical frame
    fmap, yb, r = _map_with_boundary(rng, origin=origin)
    x_line = origin[1] + 20e-6
    lin = extract_line(fmap, (x_line, origin[0] + 5e-6), (x_line, origin[0] + 55e-6),
                       width="21 px")
    assert np.median(lin.sigma_binomial) == pytest.approx(
        math.sqrt(0.35 * 0.65 / 400 / 21), rel=0.15)
    res = analyse_boundary(lin, window=18e-6, exclude=1e-6, D_bulk=D_BULK, gb_width=0.5e-9)
    assert res.boundary == pytest.approx(yb - (origin[0] + 5e-6), abs=0.6e-6)
    bx, by = res.boundary_point()
    assert (bx, by) == pytest.approx((x_line, yb), abs=0.6e-6)
    v = res["D_gb_over_delta"]
    assert abs(v.value - r) < 2 * v.error
    assert v.relative_error < 0.35
    assert abs(res.slope_z) < 3


def test_oblique_line_sees_the_gradient_times_cos_theta():
    """A line at 45° to the boundary normal: same step, gradient × cos θ (documented)."""
    y = np.arange(80) * UM
    r = 6e3 * D_BULK / 0.05
    c = synthetic_boundary_profile(y, boundary=40.5 * UM, gradient=-6e3, D_bulk=D_BULK,
                                   D_gb_over_delta=r, C_boundary=0.35)
    f = np.tile(c[:, None], (1, 80))
    fmap = FractionMap(fraction=f, sigma=np.full(f.shape, 0.01), total=np.ones_like(f),
                       pixel_size=(UM, UM))
    d = 25 * UM
    lin = extract_line(fmap, (40 * UM - d, 40.5 * UM - d), (40 * UM + d, 40.5 * UM + d),
                       order=1, spacing=0.5 * UM)
    res = analyse_boundary(lin, boundary=math.hypot(d, d), window=20 * UM, exclude=2 * UM,
                           D_bulk=D_BULK)
    assert res["delta_C"].value == pytest.approx(0.05, rel=1e-6)
    assert res["gradient"].value == pytest.approx(-6e3 * math.cos(math.pi / 4), rel=1e-6)
    assert res["D_gb_over_delta"].value == pytest.approx(r * math.cos(math.pi / 4), rel=1e-6)


def test_insignificant_gradient_is_flagged():
    rng = np.random.default_rng(2)
    y, c, _ = _profile(gradient=-2e2, step=0.05, curvature=0.0)
    res = analyse_boundary(y, c + rng.normal(0, 0.003, c.size), 0.003, boundary=20.5 * UM,
                           window=15 * UM, D_bulk=D_BULK)
    assert any("gradient is only" in n for n in res.notes)


def test_map_replicas_cover_the_truth():
    """Counts → fraction → 21-px line → step analysis: ~95 % of 2σ intervals hold the truth."""
    hits, rel = [], []
    for seed in range(120):
        rng = np.random.default_rng(1000 + seed)
        fmap, yb, r = _map_with_boundary(rng, shape=(60, 21))
        lin = extract_line(fmap, (10e-6, 5e-6), (10e-6, 55e-6), width="21 px")
        res = analyse_boundary(lin, boundary=yb - 5e-6, window=18e-6, exclude=1e-6,
                               D_bulk=D_BULK)
        v = res["D_gb_over_delta"]
        hits.append(abs(v.value - r) < 2 * v.error)
        rel.append(v.relative_error)
    assert 0.90 <= np.mean(hits) <= 1.0
    assert 0.15 < np.median(rel) < 0.4


# --------------------------------------------------------------------------------------------
# many boundaries
# --------------------------------------------------------------------------------------------


def test_batch_statistics_failures_table_and_plot():
    rng = np.random.default_rng(21)
    fmap, yb, r = _map_with_boundary(rng, shape=(60, 120))
    segs = [((x, 5e-6), (x, 55e-6)) for x in (10e-6, 30e-6, 50e-6, 70e-6, 90e-6)]
    segs.append(((500e-6, 5e-6), (500e-6, 55e-6)))  # outside the map: fails
    segs.append(((110e-6, 25e-6), (110e-6, 45e-6)))  # too short for the window: fails
    known = [None, (30e-6, yb), yb - 5e-6, None, None, None, None]
    batch = analyse_boundaries(fmap, segs, window=18e-6, exclude=1e-6, width="15 px",
                               D_bulk=D_BULK, gb_width=0.5e-9, boundaries=known)
    assert isinstance(batch, BoundaryBatch)
    assert [res is None for res in batch.results] == [False] * 5 + [True, True]
    assert "no valid pixel" in batch.reasons[5]
    assert "window" in batch.reasons[6]
    assert batch.results[1].boundary == pytest.approx(yb - 5e-6)
    assert batch.results[1].boundary_given and batch.results[2].boundary_given
    vals = np.array([res["D_gb"].value for res in batch.succeeded])
    st_ = batch.statistics["D_gb"]
    assert st_["n"] == 5
    assert st_["mean"] == pytest.approx(vals.mean())
    assert st_["sd"] == pytest.approx(vals.std(ddof=1))
    assert st_["sem"] == pytest.approx(vals.std(ddof=1) / math.sqrt(5))
    assert st_["median"] == pytest.approx(np.median(vals))
    assert (st_["min"], st_["max"]) == (vals.min(), vals.max())
    assert batch["D_gb"].value == pytest.approx(vals.mean())
    assert batch["D_gb"].error == pytest.approx(st_["sem"])
    # the mean over boundaries agrees with the truth
    mean_ratio = batch.statistics["D_gb_over_delta"]["mean"]
    assert abs(mean_ratio - r) < 3 * batch.statistics["D_gb_over_delta"]["sem"]
    rows = batch.table()
    assert len(rows) == 7 and rows[5]["status"] == "failed" and rows[0]["status"] == "ok"
    assert math.isnan(rows[6]["D_gb"]) and rows[0]["D_gb"] == pytest.approx(vals[0])
    json.dumps(batch.to_dict())
    assert "failed" in batch.summary()
    ax = batch.plot()
    assert ax.get_ylabel().startswith("D*_gb")
    ax2 = batch.results[0].plot()
    assert ax2.get_xlabel().endswith("(µm)")
    plt.close("all")


def test_result_serialises():
    y, c, _ = _profile()
    res = analyse_boundary(y, c, 0.01, window=15 * UM, D_bulk=D_BULK, gb_width=0.5e-9)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["values"]["D_gb"]["field_unit"] == "cm² s⁻¹"
    assert d["provenance"]["method"] == "tracer.gb-step"
    assert "slope consistency" in res.summary()


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window": 50 * UM}, "window"),  # longer than the 40 µm line
        ({"window": 15 * UM, "boundary": 45 * UM}, "boundary"),  # outside the line
        ({"window": 15 * UM, "boundary": 8 * UM}, "window"),  # reaches past the start
        ({"window": 15 * UM, "D_bulk": -2.6e-12}, "D_bulk"),
        ({"window": 15 * UM, "D_bulk": 0.0}, "D_bulk"),
        ({"window": 15 * UM, "D_bulk_error": -1.0}, "D_bulk_error"),
        ({"window": 15 * UM, "gb_width": -0.5e-9}, "gb_width"),
        ({"window": 15 * UM, "exclude": 15 * UM}, "exclude"),
        ({"window": 15 * UM, "side": "top"}, "side"),
        ({"window": 15 * UM, "degree": 3}, "degree"),
        ({"window": 2 * UM}, "window"),  # too few points per side
        ({"window": -1.0}, "window"),
    ],
)
def test_bad_input_raises(kwargs, field):
    y, c, _ = _profile()
    args = {"boundary": 20.5 * UM, "D_bulk": D_BULK, **kwargs}
    with pytest.raises(InputError) as info:
        analyse_boundary(y, c, 0.01, **args)
    assert info.value.field == field


def test_bad_arrays_and_maps_raise():
    y, c, _ = _profile()
    with pytest.raises(InputError, match="fractions for"):
        analyse_boundary(y, c[:-1], window=15 * UM, D_bulk=D_BULK)
    with pytest.raises(InputError, match="positive"):
        analyse_boundary(y, c, 0.0, window=15 * UM, D_bulk=D_BULK)
    with pytest.raises(InputError, match="no fraction"):
        analyse_boundary(y, window=15 * UM, D_bulk=D_BULK)
    empty = FractionMap(fraction=np.full((10, 10), np.nan), sigma=np.full((10, 10), np.nan),
                        total=np.zeros((10, 10)), pixel_size=(1e-6, 1e-6))
    with pytest.raises(InputError, match="no valid pixel"):
        extract_line(empty, (1e-6, 1e-6), (1e-6, 8e-6))
    fmap = _linear_map()
    with pytest.raises(InputError, match="no valid pixel"):
        extract_line(fmap, (1.0, 1.0), (1.0, 2.0))  # far outside
    with pytest.raises(InputError, match="same point"):
        extract_line(fmap, (1e-6, 5e-6), (1e-6, 5e-6))
    with pytest.raises(InputError):
        extract_line(fmap, (1e-6, 5e-6), (1e-6, np.nan))
    with pytest.raises(InputError):
        extract_line(fmap, (1e-6, 5e-6), (1e-6, 9e-6), width=-1e-6)
    with pytest.raises(InputError):
        extract_line(fmap, (1e-6, 5e-6), (1e-6, 9e-6), order=3)
    with pytest.raises(InputError):
        analyse_boundaries(fmap, [((1e-6, 5e-6), (1e-6, 9e-6))], window=1e-6, D_bulk=-1.0)
    with pytest.raises(InputError):
        analyse_boundaries(fmap, [((1e-6, 5e-6), (1e-6, 9e-6))], window=1e-6, D_bulk=1e-12,
                           boundaries=[None, None])
    with pytest.raises(InputError):
        gb_diffusivity_from_step(110.0, 0.0, 2.6e-12)
