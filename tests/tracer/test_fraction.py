"""Tests of isotope fractions, normalisation, count binning and fraction maps."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from ionscale.errors import InputError  # noqa: E402
from ionscale.tracer.data import CountMap  # noqa: E402
from ionscale.tracer.fraction import (  # noqa: E402
    NATURAL_ABUNDANCE,
    bin_counts,
    binned_geometry,
    binomial_sigma,
    fraction_map,
    fraction_profile,
    isotope_fraction,
    normalise,
    plot_fraction_map,
)


def test_fraction_values_and_masking():
    c, s = isotope_fraction([30, 0, 5, 0], [70, 0, 0, 8])
    np.testing.assert_allclose(c[[0, 2, 3]], [0.3, 1.0, 0.0])
    assert np.isnan(c[1]) and np.isnan(s[1])          # no counts: masked, never 0
    assert np.all(s[[0, 2, 3]] > 0)                   # never zero where there are counts
    assert s[2] == pytest.approx(1 / (2 * 5))          # floor at C = 1: half a count
    assert s[3] == pytest.approx(1 / (2 * 8))


def test_sigma_is_binomial_where_counts_are_many():
    n = np.array([100, 200, 1000, 10_000])
    c = np.array([0.3, 0.5, 0.1, 0.9])
    plain = np.sqrt(c * (1 - c) / n)
    sig = binomial_sigma(c, n)
    assert np.all(sig >= plain)
    np.testing.assert_allclose(sig, plain, rtol=0.01)   # N C (1 - C) > 12 here


@pytest.mark.parametrize("rate, p", [(1000.0, 0.3), (80.0, 0.1), (5000.0, 0.95)])
def test_sigma_matches_monte_carlo_spread(rate, p):
    rng = np.random.default_rng(42)
    n_rep = 40_000
    t = rng.poisson(rate * p, n_rep)
    o = rng.poisson(rate * (1 - p), n_rep)
    c, s = isotope_fraction(t, o)
    spread = np.std(c)
    predicted = np.sqrt(np.mean(s**2))
    assert predicted == pytest.approx(spread, rel=0.03)
    # and about 68 % of the replicas lie within one sigma of the truth
    coverage = np.mean(np.abs(c - p) <= s)
    assert 0.64 < coverage < 0.73


def test_bad_counts():
    with pytest.raises(InputError, match="tracer_counts.*negative"):
        isotope_fraction([-1, 2], [1, 2])
    with pytest.raises(InputError, match="other_counts.*NaN"):
        isotope_fraction([1, 2], [1, np.nan])
    with pytest.raises(InputError, match="other_counts"):
        isotope_fraction([1, 2, 3], [1, 2])


def test_normalise():
    bg, src = NATURAL_ABUNDANCE["6Li"], 0.95
    c, s = normalise([bg, src, 0.5], [0.01, 0.01, 0.02], source=src)
    np.testing.assert_allclose(c, [0, 1, (0.5 - bg) / (src - bg)])
    np.testing.assert_allclose(s, np.array([0.01, 0.01, 0.02]) / (src - bg))
    c18, _ = normalise([0.00205], None, isotope="18O", source=0.9)
    assert c18[0] == pytest.approx(0.0)
    # first-order error propagation of the background and source errors
    eb, es = 0.002, 0.01
    _, s2 = normalise([0.5], [0.0], background=bg, source=src, background_error=eb,
                      source_error=es)
    h = 1e-7

    def f(b, so):
        return (0.5 - b) / (so - b)

    db = (f(bg + h, src) - f(bg - h, src)) / (2 * h)
    ds = (f(bg, src + h) - f(bg, src - h)) / (2 * h)
    assert s2[0] == pytest.approx(np.hypot(db * eb, ds * es), rel=1e-6)
    with pytest.raises(InputError, match="source"):
        normalise([0.5], None, background=0.3, source=0.3)
    with pytest.raises(InputError, match="background"):
        normalise([0.5], None, background="99Xx", source=0.9)


@settings(max_examples=60, deadline=None)
@given(counts=arrays(np.int64, st.tuples(st.integers(1, 17), st.integers(1, 17)),
                     elements=st.integers(0, 10_000)),
       fy=st.integers(1, 5), fx=st.integers(1, 5))
def test_binning_conserves_counts(counts, fy, fx):
    ny, nx = counts.shape
    if fy > ny or fx > nx:
        with pytest.raises(InputError):
            bin_counts(counts, (fy, fx))
        return
    binned = bin_counts(counts, (fy, fx))
    assert binned.shape == (ny // fy, nx // fx)
    # every count of the whole blocks is kept; only the incomplete edge is dropped
    assert binned.sum() == counts[: ny // fy * fy, : nx // fx * fx].sum()
    if ny % fy == 0 and nx % fx == 0:
        assert binned.sum() == counts.sum()
    assert np.all(binned >= 0)


def test_binned_geometry_keeps_physical_positions():
    (dy, dx), (y0, x0) = binned_geometry((1e-6, 2e-6), (10e-6, -4e-6), (3, 2))
    assert (dy, dx) == pytest.approx((3e-6, 4e-6))
    # centre of binned pixel [0, 0] = mean of the centres of the original pixels it covers
    assert y0 == pytest.approx(10e-6 + np.mean([0, 1, 2]) * 1e-6)
    assert x0 == pytest.approx(-4e-6 + np.mean([0, 1]) * 2e-6)


def _count_map():
    rng = np.random.default_rng(7)
    ny, nx = 20, 30
    c_true = np.where(np.arange(nx)[None, :] < 16, 0.8, 0.2) * np.ones((ny, 1))
    total = rng.poisson(40, (ny, nx))
    total[0, 0] = 0
    li6 = rng.binomial(total, c_true)
    return CountMap({"6Li": li6, "7Li": total - li6}, pixel_size=(0.5e-6, 0.5e-6),
                    origin=(0.0, 1e-6), sources=("a.txt",)), c_true


def test_fraction_map_binning_and_masking():
    cmap, c_true = _count_map()
    fm = fraction_map(cmap)
    assert np.isnan(fm.fraction[0, 0]) and np.isnan(fm.sigma[0, 0])
    assert fm.pixel_size == cmap.pixel_size and fm.origin == cmap.origin
    fb = fraction_map(cmap, bin=2)
    t = bin_counts(cmap.counts["6Li"], 2)
    o = bin_counts(cmap.counts["7Li"], 2)
    np.testing.assert_allclose(fb.fraction, t / (t + o))     # ratio of summed counts
    np.testing.assert_array_equal(fb.total, t + o)
    assert fb.pixel_size == (1e-6, 1e-6)
    assert fb.origin == pytest.approx((0.25e-6, 1.25e-6))
    assert fb.metadata["bin"] == [2, 2] and fb.metadata["tracer"] == "6Li"
    # binned fractions scatter about the truth as their sigma says
    z = (fb.fraction - c_true[::2, ::2]) / fb.sigma
    assert 0.8 < np.std(z) < 1.2
    # extent covers the whole original field of view
    left, right, bottom, top = fb.extent()
    assert left == pytest.approx(1e-6 - 0.25e-6) and right == pytest.approx(1e-6 + 14.75e-6)
    assert bottom == pytest.approx(-0.25e-6) and top == pytest.approx(9.75e-6)


def test_fraction_map_normalised_and_other_inferred():
    cmap, _ = _count_map()
    fm = fraction_map(cmap, tracer="6Li", other=None, normalise_to=0.95)
    raw = fraction_map(cmap)
    bg = NATURAL_ABUNDANCE["6Li"]
    np.testing.assert_allclose(fm.fraction, (raw.fraction - bg) / (0.95 - bg))
    np.testing.assert_allclose(fm.sigma, raw.sigma / (0.95 - bg))
    assert fm.metadata["normalised"] and fm.metadata["source_fraction"] == 0.95
    with pytest.raises(InputError, match="18O"):
        fraction_map(cmap, tracer="18O", other="16O")


def test_fraction_profile():
    p = fraction_profile([0, 1e-6, 2e-6], [9, 0, 1], [1, 0, 9])
    np.testing.assert_allclose(p.fraction[[0, 2]], [0.9, 0.1])
    assert np.isnan(p.fraction[1])
    assert p.valid().tolist() == [True, False, True]
    with pytest.raises(InputError, match="increasing"):
        fraction_profile([0, 0, 1], [1, 1, 1], [1, 1, 1])


def test_plot_fraction_map():
    cmap, _ = _count_map()
    fm = fraction_map(cmap, normalise_to=0.95)
    ax = plot_fraction_map(fm)
    image = ax.images[0]
    left, right, bottom, top = image.get_extent()
    assert left == pytest.approx(0.75) and right == pytest.approx(15.75)   # µm
    assert bottom == pytest.approx(-0.25) and top == pytest.approx(9.75)
    assert np.ma.is_masked(image.get_array()[0, 0])
    labels = [a.get_ylabel() for a in ax.figure.axes if a is not ax]
    assert any("normalised 6Li fraction" in label for label in labels)
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
