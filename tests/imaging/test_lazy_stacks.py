"""HDF5 and zarr image stacks, read lazily slice by slice."""

import h5py
import numpy as np
import pytest
import zarr

from ionscale.datasets.synthetic_fibsem import sparse_labels, two_phase_volume
from ionscale.errors import InputError
from ionscale.imaging import ImageStack, read_stack, segment_stack
from ionscale.imaging.readers import LazyArray


class _Counting:
    """An array that records the slices read from it."""

    def __init__(self, a):
        self.a, self.shape, self.dtype, self.reads = a, a.shape, a.dtype, []

    def __getitem__(self, key):
        self.reads.append(key)
        return self.a[key]


@pytest.fixture(scope="module")
def grey():
    lab = np.asarray(two_phase_volume((24, 40, 40), 0.2, 4.0, seed=1).labels)
    rng = np.random.default_rng(2)
    img = np.where(lab == 1, 60, 180) + rng.normal(0, 20, lab.shape)
    return np.clip(img, 0, 255).astype(np.uint8), lab


def test_hdf5_stack_is_lazy_and_segments_like_memory(grey, tmp_path):
    img, lab = grey
    path = tmp_path / "raw.h5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("fib/se", data=img, chunks=(1, 40, 40))
        d.attrs["element_size_um"] = [0.03, 0.02, 0.01]
        f.create_dataset("notes", data=np.arange(4))
    st = read_stack(path)
    assert isinstance(st.data, LazyArray) and isinstance(st.data._array, h5py.Dataset)
    assert st.shape == img.shape and st.pixel_size == pytest.approx((2e-8, 1e-8))
    assert st.slice_thickness == pytest.approx(3e-8)
    assert st.metadata["dataset"] == "fib/se"
    assert np.array_equal(st.data[3:5], img[3:5]) and np.array_equal(st.data[-1], img[-1])
    assert np.array_equal(st.data[2, 5:9, ::3], img[2, 5:9, ::3])
    assert np.array_equal(np.asarray(st.data), img)
    assert np.array_equal(st[4].data, img[4])
    sparse = sparse_labels(lab, 0.02, seed=0)
    mem = ImageStack(img, st.pixel_size, st.slice_thickness)
    kw = dict(phases={"pore": 1, "solid": 2}, sigmas=(1.0, 2.0), n_trees=8)
    a = segment_stack(st, sparse, **kw)
    b = segment_stack(mem, sparse, **kw)
    assert np.array_equal(np.asarray(a.volume.labels), np.asarray(b.volume.labels))
    # the segmentation reads blocks of slices, never the whole array at once
    spy = _Counting(img)
    lazy = ImageStack(LazyArray(spy), st.pixel_size, st.slice_thickness)
    labels, _ = a.segmenter.predict(lazy, chunk=2)
    assert np.array_equal(labels, np.asarray(b.volume.labels))
    halo = a.segmenter.spec.halo
    extents = [k[0].stop - k[0].start if isinstance(k[0], slice) else 1 for k in spy.reads]
    assert len(extents) == 12 and max(extents) <= 2 + 2 * (halo + 1) < img.shape[0]


def test_zarr_stack_with_channels_and_given_sizes(grey, tmp_path):
    img, _ = grey
    two = np.stack([img, 255 - img], axis=1)            # (z, c, y, x)
    path = tmp_path / "raw.zarr"
    z = zarr.open_array(str(path), mode="w", shape=two.shape, dtype=two.dtype,
                        chunks=(1, 2, 40, 40))
    z[:] = two
    with pytest.raises(InputError, match=r"raw\.zarr.*no pixel size"):
        read_stack(path)
    st = read_stack(path, pixel_size="10 nm", slice_thickness="20 nm", channels=("SE", "BSE"))
    assert isinstance(st.data, LazyArray) and st.n_channels == 2
    assert st.channels == ("SE", "BSE") and st.voxel_size == pytest.approx((2e-8, 1e-8, 1e-8))
    assert np.array_equal(st.channel("BSE")[3], 255 - img[3])
    from ionscale.imaging.features import FeatureSpec, voxel_features

    spec = FeatureSpec(sigmas=(1.0,))
    assert np.array_equal(voxel_features(st, spec, chunk=5),
                          voxel_features(ImageStack(two, st.pixel_size, st.slice_thickness),
                                         spec, chunk=24))
    z.attrs["pixel_size_m"] = [1e-8, 1e-8]
    z.attrs["slice_thickness_m"] = 2e-8
    assert read_stack(path).voxel_size == pytest.approx((2e-8, 1e-8, 1e-8))


def test_store_errors(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=np.zeros((4, 5, 5)))
        f.create_dataset("b", data=np.zeros((4, 5, 5)))
        f.create_dataset("flat", data=np.zeros((5, 5)))
    with pytest.raises(InputError, match=r"bad\.h5.*2 3D/4D datasets"):
        read_stack(path, pixel_size=1e-8)
    with pytest.raises(InputError, match=r"no dataset 'c'.*one of \['a', 'b', 'flat'\]"):
        read_stack(path, dataset="c", pixel_size=1e-8)
    with pytest.raises(InputError, match=r"shape \(5, 5\).*3D"):
        read_stack(path, dataset="flat", pixel_size=1e-8)
    with pytest.raises(InputError, match="no pixel size"):
        read_stack(path, dataset="a")
    assert read_stack(path, dataset="/b", pixel_size=1e-8).shape == (4, 5, 5)
    with pytest.raises(InputError, match="not found"):
        read_stack(tmp_path / "absent.h5", pixel_size=1e-8)
    (tmp_path / "text.h5").write_text("no hdf5")
    with pytest.raises(InputError, match=r"text\.h5.*cannot open as HDF5"):
        read_stack(tmp_path / "text.h5", pixel_size=1e-8)
    with pytest.raises(InputError, match="dataset only with"):
        read_stack(tmp_path / "x.tif", dataset="a")


def test_lazy_stack_goes_through_preprocessing(grey, tmp_path):
    from ionscale.imaging.pipeline import preprocess_stack

    img, _ = grey
    path = tmp_path / "raw.hdf5"
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=img)
        f.attrs["voxel_size_m"] = [2e-8, 1e-8, 1e-8]
    st = read_stack(path)
    assert st.metadata["pixel_size_source"] == "attributes (z, y, x)"
    a = preprocess_stack(st, angle=54.0)
    b = preprocess_stack(ImageStack(img, st.pixel_size, st.slice_thickness), angle=54.0)
    assert np.allclose(np.asarray(a.stack.data), np.asarray(b.stack.data))
