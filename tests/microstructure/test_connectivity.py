"""Connected components, faces touched, and percolation (through / dead-end / isolated)."""

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.datasets.synthetic_volumes import channels, sintered_pellet, spheres
from ionscale.errors import InputError
from ionscale.microstructure import as_volume
from ionscale.microstructure.connectivity import (
    FACES,
    component_faces,
    component_sizes,
    label_components,
    percolation,
)


def same_partition(a, b) -> bool:
    """Equal up to a renumbering of the labels (a bijection between non-zero labels)."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if not np.array_equal(a > 0, b > 0):
        return False
    fg = a > 0
    pairs = np.unique(np.column_stack([a[fg], b[fg]]), axis=0)
    return len(pairs) == len(np.unique(pairs[:, 0])) == len(np.unique(pairs[:, 1]))


# --------------------------------------------------------------------------- components


def test_spheres_known_count_and_volumes():
    s = spheres((40, 40, 40), [2, 3, 4, 5, 2.5, 3.5], seed=1)
    for conn in (6, 18, 26):
        lab, n = label_components(s.mask, connectivity=conn)
        assert n == 6
        assert same_partition(lab, s.labels)
        sizes = component_sizes(lab, n)
        assert sorted(sizes[1:]) == sorted(s.voxel_counts)
        assert sizes[0] == s.mask.size - s.voxel_counts.sum()
    # ball of radius 3 on the voxel lattice: 123 points (a known lattice count)
    assert s.voxel_counts[1] == 123


@pytest.mark.parametrize("chunked", [False, True])
def test_6_18_26_connectivity_on_diagonal_contacts(chunked):
    m = np.zeros((8, 8, 8), bool)
    # across the block boundaries at 4 (chunks of 4): a face, an edge and a corner contact
    m[3, 1, 1] = m[4, 1, 1] = True          # face: one component for all
    m[3, 3, 6] = m[4, 4, 6] = True          # edge (offset 1, 1, 0): 6 → 2, 18/26 → 1
    m[3, 6, 3] = m[4, 7, 4] = True          # corner (offset 1, 1, 1): 6/18 → 2, 26 → 1
    arr = da.from_array(m, chunks=4) if chunked else m
    counts = {c: label_components(arr, connectivity=c, progress=False)[1] for c in (6, 18, 26)}
    assert counts == {6: 5, 18: 4, 26: 3}


@given(st.integers(0, 2**31), st.tuples(*[st.integers(2, 7)] * 3),
       st.sampled_from([6, 18, 26]), st.floats(0.2, 0.6))
@settings(max_examples=30)
def test_chunked_labels_equal_in_memory(seed, chunks, conn, p):
    m = np.random.default_rng(seed).random((13, 11, 15)) < p
    ref, n = label_components(m, connectivity=conn)
    lab, n2 = label_components(da.from_array(m, chunks=chunks), connectivity=conn,
                               progress=False)
    assert n2 == n
    got = lab.compute()
    assert same_partition(got, ref)
    assert got.max() == n and got.dtype == np.uint32


@pytest.mark.parametrize("conn", [6, 18, 26])
def test_chunked_labels_with_one_voxel_thick_blocks(conn):
    # cc3d mislabels some one-voxel-thick 26-connected blocks unless they are padded
    m = np.random.default_rng(0).random((9, 10, 11)) < 0.5
    ref, n = label_components(m, connectivity=conn)
    lab, n2 = label_components(da.from_array(m, chunks=(1, 3, 5)), connectivity=conn,
                               progress=False)
    assert n2 == n and same_partition(lab.compute(), ref)


def test_chunked_labels_to_zarr_and_percolation_equal(tmp_path):
    v = sintered_pellet((48, 40, 44), pore_radius_m=0.12e-6, seed=3)
    chunked = as_volume(da.from_array(v.labels, chunks=(16, 13, 20)), v.voxel_size,
                        phases=v.phases)
    ref, n = label_components(v, "pore", connectivity=26)
    lab, n2 = label_components(chunked, "pore", connectivity=26, out=tmp_path / "lab.zarr",
                               progress=False)
    assert n2 == n and (tmp_path / "lab.zarr").exists()
    assert same_partition(lab.compute(), ref)
    a = percolation(v, "pore", axis=1, progress=False)
    b = percolation(chunked, "pore", axis=1, progress=False)
    for k, val in a.values.items():
        assert b[k].value == pytest.approx(val.value, rel=1e-12), k


def test_component_faces():
    lab = np.zeros((6, 5, 4), np.uint32)
    lab[:, 2, 2] = 1            # z column: z- and z+
    lab[2, 2, 0:2] = 2          # touches x- only
    lab[3, 1, 1] = 3            # inside: no face
    lab[5, 4, 3] = 4            # corner voxel: z+, y+, x+
    f = component_faces(lab)
    assert f.shape == (5, 6) and not f[0].any()
    named = {c: {FACES[i] for i in np.flatnonzero(f[c])} for c in range(1, 5)}
    assert named == {1: {"z-", "z+"}, 2: {"x-"}, 3: set(), 4: {"z+", "y+", "x+"}}
    chunked = component_faces(da.from_array(lab, chunks=(2, 3, 3)), n_components=4)
    np.testing.assert_array_equal(chunked, f)


# --------------------------------------------------------------------------- percolation


def test_straight_channel_percolates():
    m = channels((30, 21, 21), 3.0, axis=0, centers=[(10, 10)])
    r = percolation(m, axis=0, voxel_size=1e-6)
    assert r.percolating and r["through_fraction"].value == 1.0
    assert r["n_through"].value == 1 and r["isolated_fraction"].value == 0
    assert r.faces == ("z-", "z+")
    # across the channel it touches neither x face: isolated, but not enclosed (it is cut by
    # the z faces)
    side = percolation(m, axis="x", voxel_size=1e-6)
    assert not side.percolating and side["isolated_fraction"].value == 1.0
    assert side["enclosed_fraction"].value == 0.0


def test_inclined_channel_percolates():
    m = channels((40, 24, 40), 2.5, axis=0, angle_deg=30, centers=[(12, 20)])
    assert percolation(m, axis=0).percolating


def test_blocked_channel_has_two_dead_ends():
    m = np.zeros((20, 5, 5), bool)
    m[:, 2, 2] = True
    m[12, 2, 2] = False                     # the block: 12 voxels below, 7 above
    r = percolation(m, axis=0)
    assert not r.percolating and r["n_dead_end"].value == 2
    assert r["dead_end_fraction"].value == 1.0
    assert r["dead_end_inlet_fraction"].value == pytest.approx(12 / 19, rel=1e-15)
    assert r["dead_end_outlet_fraction"].value == pytest.approx(7 / 19, rel=1e-15)


def test_dead_end_branch_and_isolated_fractions_exact():
    m = np.zeros((30, 20, 20), bool)
    m[:, 4, 4] = True                       # through: 30 voxels
    m[:11, 12, 12] = True                   # blind branch open at z-: 11 voxels
    m[20:, 15, 3] = True                    # blind branch open at z+: 10 voxels
    m[10:13, 9:11, 15:17] = True            # enclosed block: 12 voxels
    m[14, 0:3, 10] = True                   # touches y- but no z face: isolated, 3 voxels
    total = 30 + 11 + 10 + 12 + 3
    for conn in (6, 18, 26):
        r = percolation(m, axis=0, connectivity=conn)
        assert r["through_fraction"].value == pytest.approx(30 / total, rel=1e-15)
        assert r["dead_end_fraction"].value == pytest.approx(21 / total, rel=1e-15)
        assert r["dead_end_inlet_fraction"].value == pytest.approx(11 / total, rel=1e-15)
        assert r["isolated_fraction"].value == pytest.approx(15 / total, rel=1e-15)
        assert r["enclosed_fraction"].value == pytest.approx(12 / total, rel=1e-15)
        assert r["phase_fraction"].value == pytest.approx(total / m.size, rel=1e-15)
        assert [r[k].value for k in ("n_through", "n_dead_end", "n_isolated")] == [1, 2, 2]
    keep = percolation(m, axis=0, return_labels=True)
    classes = keep.classes()
    assert np.count_nonzero(classes == 3) == 30 and np.count_nonzero(classes == 2) == 21
    assert np.count_nonzero(classes == 1) == 15


def test_diagonal_staircase_percolates_only_with_26():
    m = np.zeros((10, 12, 12), bool)
    for i in range(10):
        m[i, i, i] = True                   # voxels touching by corners only
    got = {c: percolation(m, axis=0, connectivity=c).percolating for c in (6, 18, 26)}
    assert got == {6: False, 18: False, 26: True}


def test_sintered_pellet_percolates_along_its_chains():
    v = sintered_pellet((64, 64, 64), pore_radius_m=0.15e-6, seed=0)
    r = percolation(v, "pore", axis="y", progress=False)
    assert r.percolating and r["through_fraction"].value > 0.5
    assert r["isolated_fraction"].value > 0          # closed pores
    assert r["phase_fraction"].value == pytest.approx(0.105, abs=1e-5)
    assert "6-connectivity" in r.conventions["connectivity"]


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_input_error():
    m = np.zeros((5, 5, 5), bool)
    m[:, 2, 2] = True
    with pytest.raises(InputError, match="connectivity"):
        label_components(m, connectivity=8)
    with pytest.raises(InputError, match="axis"):
        percolation(m, axis=3)
    with pytest.raises(InputError, match="no voxel"):
        percolation(np.zeros((5, 5, 5), bool))  # empty phase
    with pytest.raises(InputError, match="no voxel"):
        percolation(da.zeros((6, 6, 6), dtype=bool, chunks=3), progress=False)
    with pytest.raises(InputError, match="at least"):
        percolation(m[:1])                     # a single slice
    with pytest.raises(InputError, match="voxel_size"):
        percolation(m, voxel_size=0)
    nan = m.astype(float)
    nan[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        label_components(nan)
    with pytest.raises(InputError, match="unknown phase"):
        percolation(as_volume(m.astype(np.uint8), 1e-6, phases={"pore": 1}), "solid")
    with pytest.raises(InputError, match="boolean"):
        component_faces(m)
    # an empty phase is not an error for labelling: no components
    assert label_components(np.zeros((4, 4, 4), bool))[1] == 0


def test_plot_draws():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = sintered_pellet((32, 32, 32), pore_radius_m=0.08e-6, seed=1)
    r = percolation(v, "pore", axis=1, progress=False)
    ax = r.plot()
    assert "percolate" in ax.get_title()
    assert r.class_slice.shape == (32, 32)
    assert "labels" not in r.to_dict()["data"]
    plt.close(ax.figure)
