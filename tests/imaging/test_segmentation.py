"""Features, random forest, trainable segmentation and the full chain on the TauFactor
electrode."""

from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi

from ionscale.datasets.synthetic_fibsem import (
    render_fibsem,
    sparse_labels,
    truth_on_grid,
    two_phase_volume,
)
from ionscale.errors import InputError
from ionscale.imaging import (
    FeatureSpec,
    ImageStack,
    RandomForest,
    fibsem_pipeline,
    segment_stack,
    voxel_features,
)
from ionscale.imaging.features import feature_names
from ionscale.microstructure import percolation, tortuosity_factor
from ionscale.microstructure.volume import as_volume

ELECTRODE = Path(__file__).resolve().parents[2] / "src/ionscale/datasets/data/" \
    "taufactor-electrode.tif"


def test_features_match_scipy_and_do_not_depend_on_chunks():
    v = np.random.default_rng(0).random((20, 24, 28)).astype(np.float32)
    spec = FeatureSpec(sigmas=(1.0, 2.0))
    f = voxel_features(v, spec, chunk=6)
    names = feature_names(spec)
    assert f.shape == (len(names), 20, 24, 28) and f.dtype == np.float32
    g1 = ndi.gaussian_filter(v, 1.0, truncate=3.5)
    g2 = ndi.gaussian_filter(v, 2.0, truncate=3.5)
    assert np.abs(f[names.index("gauss_1")] - g1).max() < 1e-5
    assert np.abs(f[names.index("dog_1-2")] - (g1 - g2)).max() < 1e-5
    grad = np.sqrt(sum(d ** 2 for d in np.gradient(g1)))
    assert np.abs(f[names.index("gradient_1")] - grad)[1:-1, 1:-1, 1:-1].max() < 1e-5
    lap = ndi.laplace(g1, mode="nearest")
    assert np.abs(f[names.index("log_1")] - lap)[1:-1, 1:-1, 1:-1].max() < 1e-4
    e = f[[names.index(f"hessian{i}_1") for i in (1, 2, 3)]]
    assert np.all(e[0] >= e[1] - 1e-4) and np.all(e[1] >= e[2] - 1e-4)
    assert np.allclose(e.sum(axis=0), f[names.index("log_1")], atol=1e-3)
    assert np.array_equal(f, voxel_features(v, spec, chunk=20))


def test_forest_is_reproducible_and_learns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 6)).astype(np.float32)
    y = np.where(X[:, 0] + X[:, 1] ** 2 > 0.5, 3, 7)
    a = RandomForest.fit(X[:3000], y[:3000], n_trees=16, seed=1)
    b = RandomForest.fit(X[:3000], y[:3000], n_trees=16, seed=1)
    assert np.array_equal(a.threshold, b.threshold)
    assert set(np.unique(a.predict(X))) <= {3, 7}
    assert (a.predict(X[3000:]) == y[3000:]).mean() > 0.9
    assert a.oob_accuracy > 0.9
    p = a.predict_proba(X[:10])
    assert np.allclose(p.sum(axis=1), 1)


@pytest.fixture(scope="module")
def two_phase():
    shape = (64, 96, 96)
    truth = two_phase_volume(shape, 0.1, 6.0, seed=3)
    lab = np.asarray(truth.labels)
    img = ndi.gaussian_filter(np.where(lab == 1, 0.3, 0.7).astype(np.float32), 1.0)
    img += np.random.default_rng(4).normal(0, 0.35, shape).astype(np.float32)
    return ImageStack(img, (20e-9, 20e-9), 20e-9), lab


def test_two_phase_segmentation_from_02_percent_labels(two_phase):
    stack, lab = two_phase
    sparse = sparse_labels(lab, 0.002, seed=5)
    assert 0.0015 < (sparse > 0).mean() < 0.0025
    r = segment_stack(stack, sparse, phases={"pore": 1, "solid": 2}, seed=0)
    seg = np.asarray(r.volume.labels)
    assert (seg == lab).mean() >= 0.98
    assert r["fraction_pore"].value == pytest.approx((lab == 1).mean(), abs=0.005)
    truth_vol = as_volume(lab, 20e-9, phases={"pore": 1, "solid": 2})
    for axis in (0, 1, 2):
        assert percolation(r.volume, "pore", axis=axis, progress=False).percolating == \
            percolation(truth_vol, "pore", axis=axis, progress=False).percolating
    assert r.volume.voxel_size == pytest.approx((20e-9, 20e-9, 20e-9))
    assert r.status == "ok"
    r.plot()
    assert r.to_dict()["data"]["phases"] == {"pore": 1, "solid": 2}


def test_labels_errors(two_phase):
    stack, lab = two_phase
    sparse = sparse_labels(lab, 0.002, seed=5)
    with pytest.raises(InputError, match="'Li2S' \\(class 3\\) has no labelled voxel"):
        segment_stack(stack, sparse, phases={"pore": 1, "solid": 2, "Li2S": 3})
    with pytest.raises(InputError, match="shape"):
        segment_stack(stack, sparse[:, :10])
    with pytest.raises(InputError, match="at least two classes"):
        segment_stack(stack, np.where(sparse == 1, 1, 0))


@pytest.mark.skipif(not ELECTRODE.exists(), reason="bundled TauFactor electrode missing")
def test_full_chain_on_the_taufactor_electrode():
    """Raw two-channel (SE + BSE) slices of a 96³ crop, with drift, shear, curtains, shading
    and noise → fractions within 1 % and pore τ within 3 % of the truth."""
    a = tifffile.imread(ELECTRODE)[:96, :96, :96]
    lab = np.select([a == 0, a == 85, a == 170], [1, 2, 3]).astype(np.uint8)
    phases = {"pore": 1, "NMC": 2, "binder": 3}
    truth = as_volume(lab, 20e-9, phases=phases)
    syn = render_fibsem(truth, intensities={1: (0.15, 0.1), 2: (0.6, 0.8), 3: (0.75, 0.35)},
                        noise=0.05, blur=0.5, stripes=0.08, shading=0.2, drift_sigma=1.5,
                        seed=7)
    from ionscale.imaging.pipeline import preprocess_stack

    pre = preprocess_stack(syn.stack, fiducials=syn.fiducial_region, angle=54.0,
                           roi=syn.face_region)
    g = truth_on_grid(syn, pre.stack)
    assert (g > 0).all()
    sparse = sparse_labels(g, 0.005, seed=3)
    r = fibsem_pipeline(syn.stack, sparse, phases=phases, fiducials=syn.fiducial_region, angle=54.0,
                        roi=syn.face_region)
    seg = r.volume
    assert seg.shape == g.shape
    for name, v in phases.items():
        assert r[f"fraction_{name}"].value == pytest.approx((g == v).mean(), abs=0.01), name
    tv = as_volume(g, seg.voxel_size, phases=phases)
    tau_true = tortuosity_factor(tv, "pore", 0)["tau"].value
    tau_seg = tortuosity_factor(seg, "pore", 0)["tau"].value
    assert tau_seg == pytest.approx(tau_true, rel=0.03)
