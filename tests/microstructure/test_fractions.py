"""Volume fractions, slice profiles and the representative elementary volume."""

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.datasets.synthetic_volumes import blobs, layers
from ionscale.errors import InputError
from ionscale.microstructure import as_volume
from ionscale.microstructure.fractions import (
    representative_volume,
    slice_fractions,
    volume_fractions,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "microstructure"
ELECTRODE = DATA / "taufactor-electrode.tiff"

volumes = st.builds(
    lambda shape, seed, k: np.random.default_rng(seed).integers(0, k, shape).astype(np.uint8),
    st.tuples(*[st.integers(2, 9)] * 3), st.integers(0, 2**31), st.integers(2, 4))


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not ELECTRODE.exists(), reason="electrode volume absent")
def test_electrode_volume_fractions():
    import tifffile

    labels = tifffile.imread(ELECTRODE)
    vol = as_volume(labels, 1e-6, phases={"pore": 0, "phase_85": 85, "phase_170": 170})
    fr = volume_fractions(vol, progress=False)
    assert fr.fraction("pore") == pytest.approx(0.4499, abs=5e-5)
    assert fr.fraction("phase_85") == pytest.approx(0.4005, abs=5e-5)
    assert fr.fraction("phase_170") == pytest.approx(0.1496, abs=5e-5)
    assert fr["pore"].value == fr.fraction(0)
    # chunked (dask, uneven chunks) gives the same exact counts
    chunked = as_volume(da.from_array(labels, chunks=(100, 64, 77)), 1e-6, phases=vol.phases)
    assert volume_fractions(chunked, progress=False).counts == fr.counts
    # the slice profiles average to the same porosity
    prof = slice_fractions(vol, "pore", progress=False)
    for ax in "zyx":
        assert prof.mean(ax) == pytest.approx(fr.fraction("pore"), rel=1e-12)


# --------------------------------------------------------------------------- invariants


@given(volumes, st.permutations([0, 1, 2]), st.tuples(*[st.booleans()] * 3))
@settings(max_examples=40)
def test_fractions_invariant_under_flips_and_permutations(vol, perm, flips):
    ref = volume_fractions(vol, progress=False)
    moved = np.transpose(vol, perm)
    for a, f in enumerate(flips):
        if f:
            moved = np.flip(moved, axis=a)
    got = volume_fractions(moved, progress=False)
    assert got.counts == ref.counts
    assert sum(got.fractions.values()) == pytest.approx(1.0, rel=1e-12)
    label = int(vol.flat[0])
    p0 = slice_fractions(vol, label, voxel_size=1e-6, progress=False)
    p1 = slice_fractions(moved, label, voxel_size=1e-6, progress=False)
    for a in range(3):
        expect = p0.profiles["zyx"[perm[a]]]
        if flips[a]:
            expect = expect[::-1]
        np.testing.assert_array_equal(p1.profiles["zyx"[a]], expect)


@given(volumes)
@settings(max_examples=30)
def test_slice_means_equal_global_fraction(vol):
    label = int(vol.flat[-1])
    p = slice_fractions(vol, label, voxel_size=(2e-6, 1e-6, 3e-6), progress=False)
    frac = np.count_nonzero(vol == label) / vol.size
    assert p.fraction == frac
    for a, n in enumerate("zyx"):
        assert p.profiles[n].size == vol.shape[a]
        assert p[f"mean_{n}"].value == pytest.approx(frac, rel=1e-12)
        manual = [np.mean(np.take(vol, i, axis=a) == label) for i in range(vol.shape[a])]
        np.testing.assert_allclose(p.profiles[n], manual, rtol=1e-12)
        assert p[f"sd_{n}"].value == pytest.approx(np.std(manual, ddof=1), abs=1e-12)


def test_layered_profile_and_positions():
    lab = layers((12, 5, 7), [1, 2], axis=0)  # 0,1,1,0,1,1,...
    vol = as_volume(lab, (2e-6, 1e-6, 1e-6), phases={"a": 0, "b": 1}, origin=(1e-6, 0, 0))
    p = slice_fractions(vol, "b", progress=False)
    np.testing.assert_array_equal(p.profiles["z"], np.tile([0.0, 1.0, 1.0], 4))
    assert p.sd("y") == 0 and p.sd("x") == 0
    assert p.fraction == pytest.approx(2 / 3)
    # slice centres: origin + (i + 1/2) d
    np.testing.assert_allclose(p.positions["z"], 1e-6 + (np.arange(12) + 0.5) * 2e-6)
    np.testing.assert_allclose(p.positions["x"], (np.arange(7) + 0.5) * 1e-6)
    single = slice_fractions(vol, "b", axis="z", progress=False)
    assert set(single.profiles) == {"z"} and single.axes == (0,)


# --------------------------------------------------------------------------- REV


def test_rev_of_random_volume_matches_binomial_theory():
    p, tol, z = 0.3, 0.05, 1.959964
    m = np.random.default_rng(3).random((96, 96, 96)) < p
    sizes = np.arange(6, 32, 2) * 1e-6
    r = representative_volume(m, voxel_size=1e-6, sizes=sizes, n_samples=400, seed=4,
                              tolerance=tol, progress=False)
    # independent voxels: SD of a cube of n³ voxels is sqrt(p(1-p)/n³) (the cubes come from one
    # finite volume and overlap, so the sampled SD scatters by more than 1/sqrt(2 × 400))
    n = r.edge_voxels[:, 0]
    np.testing.assert_allclose(r.sd, np.sqrt(p * (1 - p) / n**3), rtol=0.2)
    # band half width z·SD = tol·p  =>  n = (z² (1-p) / (p tol²))^(1/3) = 15.3 voxels
    n_theory = (z**2 * (1 - p) / (p * tol**2)) ** (1 / 3)
    assert r.converged
    assert abs(r.rev_size / 1e-6 - n_theory) <= 2.7
    # the band shrinks with the size and the means stay on the whole-volume fraction
    assert np.all(np.diff(r.high - r.low) < 0)
    np.testing.assert_allclose(r.mean, r.fraction, atol=4 * r.sd.max() / np.sqrt(400))
    # a looser tolerance gives a smaller REV
    loose = representative_volume(m, voxel_size=1e-6, sizes=sizes, n_samples=400, seed=4,
                                  tolerance=0.1, progress=False)
    assert loose.rev_size < r.rev_size


def test_rev_periodic_structure_exact_at_multiples_of_period():
    lab = layers((32, 32, 32), [2, 2], axis=0)  # period 4 along z, fraction 1/2
    r = representative_volume(lab, 1, voxel_size=1e-6, sizes=[4e-6, 8e-6, 12e-6, 16e-6],
                              n_samples=50, seed=0, progress=False)
    assert np.all(r.samples == 0.5) and np.all(r.high == r.low)
    assert r.rev_size == 4e-6
    off = representative_volume(lab, 1, voxel_size=1e-6,
                                sizes=[3e-6, 4e-6, 5e-6, 8e-6, 12e-6], n_samples=200, seed=0,
                                progress=False)
    # odd edges hold one layer more of one phase: fractions (n ± 1)/(2n), never exact
    assert set(np.round(off.samples[0] * 3).astype(int)) == {1, 2}
    assert set(np.round(off.samples[2] * 5).astype(int)) == {2, 3}
    # the 5-voxel cubes (±20 %) are outside ±5 %, so the REV is the next exact size
    assert off.rev_size == 8e-6


def test_rev_cubes_are_physical_with_anisotropic_voxels():
    m = blobs((20, 40, 40), 0.4, seed=2)
    r = representative_volume(m, voxel_size=(2e-6, 1e-6, 1e-6), sizes=[8e-6, 20e-6],
                              n_samples=20, seed=0, progress=False)
    np.testing.assert_array_equal(r.edge_voxels, [[4, 8, 8], [10, 20, 20]])


def test_rev_of_whole_volume_is_not_an_rev():
    m = blobs((24, 24, 24), 0.4, seed=2)
    r = representative_volume(m, voxel_size=1e-6, sizes=[2e-6, 24e-6], n_samples=10,
                              seed=0, progress=False)
    assert r.sd[-1] == pytest.approx(0, abs=1e-12)
    assert not r.converged and "rev_size" not in r.values and np.isnan(r.rev_size)
    assert r.status == "warning" and [d.code for d in r.diagnostics] == ["unmeasurable"]


def test_chunked_equals_in_memory(tmp_path):
    import zarr

    lab = (blobs((30, 26, 34), 0.35, seed=5).astype(np.uint8)
           + layers((30, 26, 34), [3, 4], axis=2))
    chunked = da.from_array(lab, chunks=(7, 9, 11))
    assert volume_fractions(chunked, progress=False).counts == \
        volume_fractions(lab, progress=False).counts
    a = slice_fractions(lab, 1, voxel_size=1e-6, progress=False)
    b = slice_fractions(chunked, 1, voxel_size=1e-6, progress=False)
    for n in "zyx":
        np.testing.assert_array_equal(a.counts[n], b.counts[n])
    kw = {"voxel_size": 1e-6, "sizes": [4e-6, 10e-6], "n_samples": 15, "seed": 7,
          "progress": False}
    np.testing.assert_array_equal(representative_volume(lab, 2, **kw).samples,
                                  representative_volume(chunked, 2, **kw).samples)
    z = zarr.open_array(str(tmp_path / "v.zarr"), mode="w", shape=lab.shape,
                        chunks=(8, 8, 8), dtype=lab.dtype)
    z[:] = lab
    assert volume_fractions(z, progress=False).counts == \
        volume_fractions(lab, progress=False).counts
    zp = slice_fractions(as_volume(z, 1e-6), 1, progress=False)
    np.testing.assert_array_equal(zp.counts["y"], a.counts["y"])


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_input_error():
    good = np.zeros((4, 4, 4), np.uint8)
    good[0] = 1
    with pytest.raises(InputError, match="phase"):
        slice_fractions(good, 7, voxel_size=1e-6)  # empty phase
    with pytest.raises(InputError, match="phase"):
        slice_fractions(da.from_array(good, chunks=2), 7, voxel_size=1e-6)
    with pytest.raises(InputError, match="phase"):
        representative_volume(good, 7, voxel_size=1e-6)
    with pytest.raises(InputError, match="single slice|at least"):
        volume_fractions(np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(InputError, match="voxel_size"):
        slice_fractions(good, 1, voxel_size=-1e-6)
    with pytest.raises(InputError, match="voxel_size"):
        slice_fractions(good, 1, voxel_size=(1e-6, 1e-6))
    with pytest.raises(InputError, match="voxel_size"):
        slice_fractions(good, 1)  # plain array without voxel size
    nan = good.astype(float)
    nan[1, 1, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        volume_fractions(nan)
    with pytest.raises(InputError, match="whole numbers"):
        slice_fractions(good + 0.5, 1, voxel_size=1e-6)
    with pytest.raises(InputError, match="unknown phase"):
        slice_fractions(as_volume(good, 1e-6, phases={"a": 0}), "b")
    with pytest.raises(InputError, match="axis"):
        slice_fractions(good, 1, axis=3, voxel_size=1e-6)
    with pytest.raises(InputError, match="does not fit"):
        representative_volume(good, 1, voxel_size=1e-6, sizes=[5e-6])
    for kw in ({"n_samples": 1}, {"tolerance": 0}, {"confidence": 1.5}, {"band": "x"},
               {"sizes": [-1e-6]}):
        with pytest.raises(InputError):
            representative_volume(good, 1, voxel_size=1e-6, **kw)


def test_plots_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lab = blobs((24, 24, 24), 0.3, seed=1).astype(np.uint8)
    vol = as_volume(lab, 20e-9, phases={"solid": 0, "pore": 1})
    for res in (volume_fractions(vol, progress=False),
                slice_fractions(vol, "pore", progress=False),
                representative_volume(vol, "pore", n_samples=10, seed=0, progress=False)):
        ax = res.plot()
        assert ax.get_title()
        assert res.to_dict()["values"]
        plt.close(ax.figure)
