"""Synthetic volumes: exact porosities, known geometry, reproducibility."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.datasets.synthetic_volumes import (
    blobs,
    channels,
    layers,
    mask_volume,
    sintered_pellet,
    spheres,
)
from ionscale.errors import InputError
from ionscale.microstructure.connectivity import label_components


@given(st.tuples(*[st.integers(2, 20)] * 3), st.floats(0.01, 0.99), st.floats(0.3, 3),
       st.integers(0, 2**31))
@settings(max_examples=30)
def test_blobs_porosity_is_exact_and_reproducible(shape, porosity, blobiness, seed):
    m = blobs(shape, porosity, blobiness, seed=seed)
    assert m.dtype == bool and m.shape == shape
    assert int(m.sum()) == round(porosity * m.size)
    np.testing.assert_array_equal(m, blobs(shape, porosity, blobiness, seed=seed))


def test_blobiness_sets_the_blob_size():
    few = label_components(blobs((48, 48, 48), 0.2, 0.5, seed=1))[1]
    many = label_components(blobs((48, 48, 48), 0.2, 3.0, seed=1))[1]
    assert many > 4 * few
    assert not np.array_equal(blobs((16, 16, 16), 0.5, seed=1), blobs((16, 16, 16), 0.5,
                                                                      seed=2))


def test_periodic_blobs_tile_without_seams():
    m = blobs((32, 32, 32), 0.5, 1.0, seed=0, periodic=True)
    tiled = np.concatenate([m, m], axis=0)
    # no seam where two copies meet: neighbouring slices agree as often there as inside
    across = np.mean(tiled[31] == tiled[32])
    inside = np.mean([np.mean(m[i] == m[i + 1]) for i in range(31)])
    assert across == pytest.approx(inside, abs=0.05)
    plain = blobs((32, 32, 32), 0.5, 1.0, seed=0)
    assert np.mean(plain[31] == plain[0]) < across - 0.1


def test_sintered_pellet_like_seed_004():
    v = sintered_pellet((64, 64, 64), seed=7)
    assert v.phases == {"pore": 0, "solid": 1}
    assert v.voxel_size == (20e-9, 20e-9, 20e-9)
    assert v.labels.dtype == np.uint8
    assert np.count_nonzero(v.labels == 0) == round(0.105 * 64**3)
    again = sintered_pellet((64, 64, 64), seed=7)
    np.testing.assert_array_equal(v.labels, again.labels)
    with_li2s = sintered_pellet((64, 64, 64), seed=7, li2s_fraction=0.002)
    assert with_li2s.phases["Li2S"] == 2
    assert np.count_nonzero(with_li2s.labels == 2) == round(0.002 * 64**3)
    np.testing.assert_array_equal(with_li2s.labels == 0, v.labels == 0)


def test_straight_and_inclined_channels():
    r = 6.0
    m = channels((40, 41, 41), r, centers=[(20, 20)])
    per_slice = m.sum(axis=(1, 2))
    assert np.all(per_slice == per_slice[0])
    assert per_slice[0] == pytest.approx(np.pi * r * r, rel=0.03)
    theta = 40.0
    t = channels((41, 30, 60), 2.0, axis=0, angle_deg=theta, tilt_axis=2, centers=[(15, 30)])
    # the channel centre moves by tan θ per slice along the tilt axis (x)
    cy = np.array([np.mean(np.nonzero(t[i])[1]) for i in (0, 40)])
    assert cy[1] - cy[0] == pytest.approx(40 * np.tan(np.deg2rad(theta)), abs=0.5)
    many = channels((20, 40, 40), 2.0, n=5, seed=3)
    assert label_components(many, connectivity=26)[1] == 5


def test_spheres_and_layers():
    s = spheres((30, 30, 30), 3.0, n=4, seed=0)
    assert s.n == 4 and np.all(s.voxel_counts == 123)
    assert np.count_nonzero(s.mask) == 4 * 123
    assert set(np.unique(s.labels)) == {0, 1, 2, 3, 4}
    radii = [1, 2, 3]
    s = spheres((20, 20, 20), radii, seed=2)
    assert s.voxel_counts.tolist() == [7, 33, 123]   # lattice points in balls of radius 1-3
    lab = layers((10, 3, 4), [3, 2], axis=2, labels=[5, 7])
    assert lab.shape == (10, 3, 4) and lab[0, 0].tolist() == [5, 5, 5, 7]
    lab = layers((60, 2, 2), [1, 2])
    assert np.mean(lab == 1) == pytest.approx(2 / 3)


def test_bad_input():
    for call in (lambda: blobs((4, 4), 0.5), lambda: blobs((4, 4, 4), 1.0),
                 lambda: blobs((4, 4, 4), 0.5, blobiness=0),
                 lambda: sintered_pellet((8, 8, 8), pore_radius_m=1e-9),
                 lambda: sintered_pellet((8, 8, 8), axis=4),
                 lambda: channels((8, 8, 8), 0.0), lambda: channels((8, 8, 8), 1, angle_deg=90),
                 lambda: channels((8, 8, 8), 1, axis=0, tilt_axis=0),
                 lambda: spheres((8, 8, 8), 5.0), lambda: spheres((8, 8, 8), [1, 2], n=3),
                 lambda: spheres((10, 10, 10), 2.0, n=200, max_tries=500),
                 lambda: layers((4, 4, 4), [0, 1]), lambda: layers((4, 4, 4), [1], labels=[300]),
                 lambda: mask_volume(np.zeros((2, 2, 2)), 1e-6)):
        with pytest.raises(InputError):
            call()
