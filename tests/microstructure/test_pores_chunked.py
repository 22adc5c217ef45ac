"""Chunked pore statistics (dask/zarr input): equal to the in-memory run on the same volume,
with components crossing chunk faces, edges and corners, anisotropic voxels, every
connectivity; marching cubes, the watershed warning, the memory fallback and the model."""

import warnings

import numpy as np
import pytest

from ionscale.datasets.synthetic_volumes import blobs
from ionscale.microstructure import memory
from ionscale.microstructure.memory import MemoryWarning, estimate_memory
from ionscale.microstructure.pores import pore_size_distribution, watershed_split

da = pytest.importorskip("dask.array")

FIELDS = ("voxel_count", "volume", "equivalent_diameter", "feret_diameter", "surface_area",
          "sphericity", "touches_border", "centroid", "included", "size_sorted",
          "cumulative_number", "cumulative_volume", "bin_edges", "bin_count",
          "bin_volume_fraction")


def assert_same(a, b):
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.values.keys() == b.values.keys()
    for k in a.values:
        np.testing.assert_equal(a[k].value, b[k].value, err_msg=k)


def corner_volume():
    """Components across a chunk corner (8 chunks), an edge, a face, diagonal-only contacts
    and a component touching the volume's high faces."""
    m = np.zeros((20, 22, 24), bool)
    g = np.indices(m.shape)
    m |= ((g[0] - 10) ** 2 + (g[1] - 11) ** 2 + (g[2] - 12) ** 2) <= 16   # ball on a corner
    m[2:5, 9:14, 2:5] = True                                               # across an edge
    m[14:18, 2:4, 10:15] = True                                            # across a face
    m[9, 2, 2] = m[10, 3, 3] = m[11, 4, 4] = True                          # corner-to-corner
    m[9, 20, 11] = m[10, 21, 12] = True                                    # edge contact
    m[15:, 18:, 20:] = True                                                # high corner
    m[0, 0, :] = True                                                      # whole row
    return m


@pytest.mark.parametrize("connectivity", [6, 18, 26])
@pytest.mark.parametrize("voxel_size", ["1 um", ("2 um", "1 um", "0.5 um")])
def test_chunked_equals_in_memory_across_chunk_corners(connectivity, voxel_size):
    m = corner_volume()
    ref = pore_size_distribution(m, voxel_size=voxel_size, connectivity=connectivity)
    for chunks in [(10, 11, 12), (7, 5, 9), (3, 4, 5)]:
        r = pore_size_distribution(da.from_array(m, chunks=chunks), voxel_size=voxel_size,
                                   connectivity=connectivity)
        assert_same(ref, r)
        assert r.provenance.parameters["chunks"] == list(chunks)
        assert r.diagnostics == ()


@pytest.mark.parametrize("connectivity", [6, 26])
def test_chunked_equals_in_memory_on_random_and_blob_volumes(connectivity):
    rng = np.random.default_rng(4)
    m = rng.random((23, 29, 31)) < 0.35          # many components, most across chunks
    vs = ("2 um", "1 um", "0.5 um")
    assert_same(pore_size_distribution(m, voxel_size=vs, connectivity=connectivity),
                pore_size_distribution(da.from_array(m, chunks=(8, 10, 5)), voxel_size=vs,
                                       connectivity=connectivity))
    b = blobs((48, 48, 48), 0.3, 4.0, seed=2)    # large components spanning many chunks
    kw = {"voxel_size": ("1 um", "0.7 um", "0.5 um"), "connectivity": connectivity,
          "size": "feret", "exclude_border": True}
    assert_same(pore_size_distribution(b, **kw),
                pore_size_distribution(da.from_array(b, chunks=16), **kw))


def test_chunked_zarr_volume_and_labels_phase(tmp_path):
    zarr = pytest.importorskip("zarr")
    from ionscale.microstructure.volume import as_volume

    labels = np.where(blobs((40, 40, 40), 0.25, 3.0, seed=5), 0, 2).astype(np.uint8)
    z = zarr.open(str(tmp_path / "v.zarr"), mode="w", shape=labels.shape, chunks=(16, 16, 16),
                  dtype=labels.dtype)
    z[...] = labels
    ref = pore_size_distribution(as_volume(labels, "20 nm", phases={"pore": 0, "solid": 2}),
                                 "pore")
    r = pore_size_distribution(as_volume(z, "20 nm", phases={"pore": 0, "solid": 2}), "pore")
    assert_same(ref, r)
    assert r.phase == "pore"


def test_crofton_total_counts_every_face_once():
    # one component filling the volume: area of the box, as in memory, whatever the chunks
    m = np.ones((9, 10, 11), bool)
    ref = pore_size_distribution(m, voxel_size="1 um")
    for chunks in [(1, 2, 3), (2, 3, 4), (9, 10, 11)]:
        r = pore_size_distribution(da.from_array(m, chunks=chunks), voxel_size="1 um")
        assert r.surface_area[0] == ref.surface_area[0]
        assert r.feret_diameter[0] == ref.feret_diameter[0] == pytest.approx(
            np.sqrt(81 + 100 + 121) * 1e-6)


def test_marching_cubes_chunked_is_nan_only_across_chunks_and_says_so():
    m = corner_volume()
    ref = pore_size_distribution(m, voxel_size="1 um", surface="marching_cubes")
    r = pore_size_distribution(da.from_array(m, chunks=(10, 11, 12)), voxel_size="1 um",
                               surface="marching_cubes")
    ok = np.isfinite(r.surface_area)
    assert 0 < ok.sum() < ok.size
    np.testing.assert_array_equal(r.surface_area[ok], ref.surface_area[ok])
    np.testing.assert_array_equal(r.feret_diameter, ref.feret_diameter)
    assert [d.code for d in r.diagnostics] == ["unmeasurable"]
    assert "marching-cubes" in r.diagnostics[0].message


def test_watershed_on_chunked_input_warns_and_reads_whole():
    z, y, x = np.mgrid[:24, :24, :40]
    two = ((z - 12) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 <= 81) | (
        (z - 12) ** 2 + (y - 12) ** 2 + (x - 26) ** 2 <= 81)
    lazy = da.from_array(two, chunks=12)
    with pytest.warns(MemoryWarning, match="in memory only"):
        r = pore_size_distribution(lazy, voxel_size="1 um", split="watershed")
    assert r["count"].value == 2
    with pytest.warns(MemoryWarning, match="in memory only"):
        assert int(watershed_split(lazy, voxel_size="1 um").max()) == 2


def test_numpy_volume_too_big_for_memory_runs_chunked(monkeypatch):
    m = corner_volume()
    ref = pore_size_distribution(m, voxel_size="1 um")
    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = pore_size_distribution(m, voxel_size="1 um")
    assert r.provenance.parameters["chunks"] == [20, 22, 24]
    assert_same(ref, r)


def test_memory_model_of_chunked_psd():
    shape = (1024, 1024, 1024)
    chunked = estimate_memory(shape, "psd", chunks=256, blocks_in_flight=4)
    assert chunked < 2 * 2**30 < estimate_memory(shape, "psd")
    # blocks in flight × (itemsize + 17) bytes per voxel, plus planes and component tables
    assert chunked > 4 * 18 * 256**3
    assert estimate_memory(shape, "psd_watershed", chunks=256) == estimate_memory(
        shape, "psd_watershed")



@pytest.mark.parametrize("pos", [(5, 5, 5), (0, 0, 0), (5, 5, 9), (5, 9, 5), (9, 5, 5),
                                 (9, 9, 9), (0, 9, 9)])
def test_crofton_area_does_not_depend_on_where_the_pore_touches_the_border(pos):
    """A one-voxel pore has the same Crofton area anywhere: the far faces (x = nx, y = ny)
    used to lose the oblique pairs entering from the outer rim (2.45-2.74 µm² instead of
    3.004), in memory and chunked alike."""
    m = np.zeros((10, 10, 10), bool)
    m[pos] = True
    ref = pore_size_distribution(m, voxel_size="1 um")
    assert ref.surface_area[0] == pytest.approx(3.004087e-12, rel=1e-6)
    assert_same(ref, pore_size_distribution(da.from_array(m, chunks=(4, 4, 4)),
                                            voxel_size="1 um"))
