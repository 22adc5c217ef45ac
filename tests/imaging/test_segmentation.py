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


def test_segmenter_save_load_in_another_process(two_phase, tmp_path):
    """A saved model, loaded in a fresh interpreter, labels another stack identically."""
    import subprocess
    import sys

    from ionscale.imaging import Segmenter, train_segmenter

    stack, lab = two_phase
    sub = ImageStack(np.asarray(stack.data)[:24], stack.pixel_size, stack.slice_thickness)
    seg = train_segmenter(sub, sparse_labels(lab[:24], 0.01, seed=2),
                          phases={"pore": 1, "solid": 2}, sigmas=(1.0, 2.0), n_trees=8)
    path = seg.save(tmp_path / "model")
    assert path.suffix == ".npz"
    with pytest.raises(InputError, match="file exists"):
        seg.save(path)
    other = ImageStack(np.asarray(stack.data)[30:46], stack.pixel_size, stack.slice_thickness)
    np.save(tmp_path / "other.npy", np.asarray(other.data))
    expected, _ = seg.predict(other)
    code = ("import numpy as np, sys\n"
            "from ionscale.imaging import Segmenter\n"
            "s = Segmenter.load(sys.argv[1])\n"
            "lab, _ = s.predict(np.load(sys.argv[2]))\n"
            "np.save(sys.argv[3], lab)\n")
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "other.npy"),
                    str(tmp_path / "out.npy")], check=True)
    assert np.array_equal(np.load(tmp_path / "out.npy"), expected)
    back = Segmenter.load(path)
    assert back.phases == seg.phases and back.spec == seg.spec
    assert back.feature_names == seg.feature_names
    r = segment_stack(other, segmenter=back)
    assert np.array_equal(np.asarray(r.volume.labels), expected)
    # a tampered forest (a node pointing back to the root) is refused, not looped on
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    inner = np.flatnonzero(arrays["feature"] >= 0)[1]
    arrays["left"][inner] = 0
    np.savez(tmp_path / "cycle.npz", **arrays)
    with pytest.raises(InputError, match=r"cycle\.npz.*inconsistent forest"):
        Segmenter.load(tmp_path / "cycle.npz")
    # the structure-tensor family travels with the model
    st = train_segmenter(sub, sparse_labels(lab[:24], 0.01, seed=2),
                         phases={"pore": 1, "solid": 2}, n_trees=4,
                         spec=FeatureSpec(sigmas=(1.0,), structure=True))
    back = Segmenter.load(st.save(tmp_path / "structure.npz"))
    assert back.spec.structure and back.feature_names == st.feature_names
    assert np.array_equal(back.predict(other)[0], st.predict(other)[0])


def test_segmenter_load_rejects_other_files(tmp_path):
    import json

    from ionscale.imaging import Segmenter

    (tmp_path / "text.npz").write_text("not a model")
    with pytest.raises(InputError, match=r"text\.npz.*ionscale segmenter model"):
        Segmenter.load(tmp_path / "text.npz")
    np.savez(tmp_path / "arrays.npz", a=np.arange(3))
    with pytest.raises(InputError, match=r"arrays\.npz.*missing"):
        Segmenter.load(tmp_path / "arrays.npz")
    np.save(tmp_path / "one.npy", np.arange(3))
    with pytest.raises(InputError, match="not an archive"):
        Segmenter.load(tmp_path / "one.npy")
    with pytest.raises(InputError, match="not found"):
        Segmenter.load(tmp_path / "absent.npz")
    z = {k: np.zeros(1) for k in ("classes", "feature", "threshold", "left", "right",
                                  "value", "roots", "oob_confusion")}
    np.savez(tmp_path / "future.npz", meta=np.asarray(json.dumps(
        {"format": "ionscale-segmenter", "format_version": 99, "ionscale_version": "9.0"})), **z)
    with pytest.raises(InputError, match=r"future\.npz.*format version 99.*update ionscale"):
        Segmenter.load(tmp_path / "future.npz")
    np.savez(tmp_path / "other.npz", meta=np.asarray(json.dumps({"format": "x"})), **z)
    with pytest.raises(InputError, match="not an ionscale segmenter"):
        Segmenter.load(tmp_path / "other.npz")


def test_porosity_uncertainty_covers_the_actual_error(two_phase):
    """The fraction's error (out-of-bag misclassification rates + clustered errors) covers
    the actual error of the hard-label porosity within 2σ, and is not > 10× the rms error."""
    stack, lab = two_phase
    true = (lab == 1).mean()
    sigmas, actual = [], []
    for seed in (5, 6, 7):
        r = segment_stack(stack, sparse_labels(lab, 0.002, seed=seed),
                          phases={"pore": 1, "solid": 2}, seed=0)
        v = r["fraction_pore"]
        assert abs(v.value - true) <= 2 * v.error, seed
        assert r["fraction_solid"].error == pytest.approx(v.error)
        terms = r.uncertainty["pore"]
        assert terms["sigma_rates"] > 0 and terms["sigma_spatial"] > 0
        assert r.uncertainty["correlation_volume_voxels"] > 1
        sigmas.append(v.error)
        actual.append(v.value - true)
    rms = float(np.sqrt(np.mean(np.square(actual))))
    assert max(sigmas) <= 10 * rms
    assert "fraction_uncertainty" in r.to_dict()["data"]


def test_fraction_uncertainty_terms():
    from ionscale.imaging.segmentation import _correlation_length, fraction_uncertainty

    q = np.array([0.1, 0.9])
    # pores missed 10 % of the time, solid never: the pore fraction is biased low by 0.01
    u = fraction_uncertainty(q, np.array([[90_000, 10_000], [0, 900_000]]), 10**6)
    assert u["bias"][0] == pytest.approx(-0.01, rel=0.01)
    assert u["bias"][1] == pytest.approx(0.01, rel=0.01)
    assert u["sigma_rates"][0] < 1e-4
    # fewer labels → larger rate uncertainty; correlated errors → larger spatial term
    few = fraction_uncertainty(q, np.array([[90, 10], [0, 900]]), 10**6)
    assert few["sigma_rates"][0] > 10 * u["sigma_rates"][0]
    corr = fraction_uncertainty(q, np.array([[90, 10], [0, 900]]), 10**6, 100.0)
    assert corr["sigma_spatial"][0] == pytest.approx(10 * few["sigma_spatial"][0])
    rng = np.random.default_rng(0)
    assert _correlation_length(rng.normal(size=(8, 8, 4096)), 2) == pytest.approx(1, abs=0.2)
    smooth = ndi.uniform_filter1d(rng.normal(size=(8, 8, 4096)), 9, axis=2, mode="wrap")
    assert _correlation_length(smooth, 2) == pytest.approx(9, rel=0.15)


def test_structure_tensor_eigenvalues_match_eigvalsh():
    """Closed-form eigenvalues of the structure tensor (inner σ, outer σ/2) against a
    numpy reference, whatever the block height."""
    rng = np.random.default_rng(1)
    v = ndi.gaussian_filter(rng.random((18, 20, 22)), 1.0).astype(np.float32) * 10
    spec = FeatureSpec(sigmas=(1.0, 2.0), gauss=False, gradient=False, log=False,
                       hessian=False, dog=False, structure=True)
    names = feature_names(spec)
    assert names == [f"structure{i}_{s}" for s in (1, 2) for i in (1, 2, 3)]
    f = voxel_features(v, spec, chunk=4)
    assert f.shape == (6, 18, 20, 22)
    assert np.array_equal(f, voxel_features(v, spec, chunk=18))
    for s in (1.0, 2.0):
        g = ndi.gaussian_filter(v.astype(np.float64), s, truncate=3.5)
        gp = np.pad(g, 1, mode="edge")
        d = [0.5 * (gp[2:, 1:-1, 1:-1] - gp[:-2, 1:-1, 1:-1]),
             0.5 * (gp[1:-1, 2:, 1:-1] - gp[1:-1, :-2, 1:-1]),
             0.5 * (gp[1:-1, 1:-1, 2:] - gp[1:-1, 1:-1, :-2])]
        J = np.empty((*v.shape, 3, 3))
        for a in range(3):
            for b in range(3):
                J[..., a, b] = ndi.gaussian_filter(d[a] * d[b], s / 2, truncate=3.5)
        ref = np.linalg.eigvalsh(J)[..., ::-1]
        got = np.moveaxis(f[[names.index(f"structure{i}_{s:g}") for i in (1, 2, 3)]], 0, -1)
        scale = np.abs(ref).max()
        assert np.abs(got - ref).max() < 1e-4 * scale, s
        assert np.all(got[..., 0] >= got[..., 1] - 1e-5 * scale)
    both = FeatureSpec(sigmas=(1.0,), structure=True)
    fb = voxel_features(v, both, chunk=5)
    nb = feature_names(both)
    assert len(nb) == both.n_features == fb.shape[0] == 9
    assert np.allclose(fb[nb.index("structure1_1")], f[names.index("structure1_1")], atol=1e-5)
    assert both.halo > FeatureSpec(sigmas=(1.0,)).halo
