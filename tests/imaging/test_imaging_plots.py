"""Report figures of the imaging results: orthogonal sections, before/after, confidence
histogram, with no clipped or overlapping text."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

from ionscale.datasets.synthetic_fibsem import (  # noqa: E402
    render_fibsem,
    sparse_labels,
    two_phase_volume,
)
from ionscale.imaging import ImageStack, segment_stack  # noqa: E402
from ionscale.imaging.pipeline import preprocess_stack  # noqa: E402
from ionscale.imaging.plots import confidence_counts, fraction_below  # noqa: E402
from ionscale.report.style import DOUBLE, draw_figure, text_problems  # noqa: E402


@pytest.fixture(scope="module")
def segmented():
    shape = (24, 40, 48)
    lab = np.asarray(two_phase_volume(shape, 0.15, 4.0, seed=3).labels)
    img = ndi.gaussian_filter(np.where(lab == 1, 0.3, 0.7).astype(np.float32), 1.0)
    img += np.random.default_rng(4).normal(0, 0.3, shape).astype(np.float32)
    stack = ImageStack(img, (20e-9, 20e-9), 30e-9)
    return segment_stack(stack, sparse_labels(lab, 0.01, seed=5),
                         phases={"pore": 1, "solid": 2}, n_trees=8)


def test_segmentation_figure_has_sections_and_confidence_histogram(segmented):
    r = segmented
    assert r.confidence is None and r.confidence_counts.sum() == r.volume.labels.size
    assert set(r.sections) == {"xy", "xz", "yz"}
    assert r.sections["xz"].shape == (24, 48) and r.sections["yz"].shape == (24, 40)
    fig = draw_figure(r)
    try:
        assert fig.get_size_inches()[0] == pytest.approx(DOUBLE, abs=0.02)
        axes = fig.axes
        assert len(axes) == 4
        assert [a.get_xlabel() for a in axes[:3]] == ["x (µm)", "x (µm)", "y (µm)"]
        assert [a.get_ylabel() for a in axes[:3]] == ["y (µm)", "z (µm)", "z (µm)"]
        # physical extent: 48 x 20 nm = 0.96 µm wide, 24 x 30 nm = 0.72 µm deep
        assert axes[1].get_xlim() == pytest.approx((0, 0.96))
        assert sorted(axes[1].get_ylim()) == pytest.approx([0, 0.72])
        assert all(len(a.get_images()) >= 2 for a in axes[:3])   # grey + phase overlays
        hist = axes[3]
        assert len(hist.patches) == 32 and sum(p.get_height() for p in hist.patches) == \
            pytest.approx(1.0)
        note = " ".join(t.get_text() for t in hist.texts)
        for t in (0.6, 0.8):
            assert f"p < {t:g}: {100 * fraction_below(r.confidence_counts, t):.1f} %" in note
        assert len(fig.legends) == 1 and "pore" in fig.legends[0].texts[0].get_text()
        assert text_problems(fig) == []
    finally:
        plt.close(fig)
    ax = r.plot()                     # an Axes whose figure holds every panel (as the CLI uses)
    assert len(ax.figure.axes) == 4 and ax.get_xlabel() == "x (µm)"
    ax = r.plot(plt.subplots()[1])    # one Axes: the middle-slice overlay, as before
    assert len(ax.get_images()) == 3
    plt.close("all")


def test_confidence_counts_and_fractions():
    c = np.array([0, 100, 153, 204, 255], np.uint8)   # p = 0, 0.39, 0.6, 0.8, 1
    n = confidence_counts(c)
    assert n.shape == (256,) and n.sum() == 5
    assert fraction_below(n, 0.6) == pytest.approx(2 / 5)
    assert fraction_below(n, 0.8) == pytest.approx(3 / 5)
    assert np.array_equal(confidence_counts(c / 255.0), n)


def test_preprocess_figure_shows_raw_and_corrected_sections():
    truth = two_phase_volume((16, 48, 48), 0.15, 3.0, seed=1)
    syn = render_fibsem(truth, noise=0.05, stripes=0.05, drift_sigma=1.0, seed=2)
    pre = preprocess_stack(syn.stack, fiducials=syn.fiducial_region, angle=54.0,
                           roi=syn.face_region)
    assert set(pre.raw_sections) == {"xy", "xz", "yz"}
    assert pre.raw_sections["xy"].shape == syn.stack.shape[1:]
    fig = draw_figure(pre)
    try:
        assert fig.get_size_inches()[0] == pytest.approx(DOUBLE, abs=0.02)
        titles = [a.get_title() for a in fig.axes]
        assert titles[:6] == ["raw xy", "raw xz", "raw yz", "corrected xy", "corrected xz",
                              "corrected yz"]
        assert len(fig.axes) == 7 and fig.axes[6].get_ylabel() == "drift (nm)"
        assert text_problems(fig) == []
    finally:
        plt.close(fig)
    assert len(pre.plot().figure.axes) == 7
    plt.close("all")
