"""Volume readers and writers: round trips that keep labels, voxel size and phases; files
written the way Fiji, Ilastik, OME and zarr tools write them; the two real volumes; bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ionscale.errors import InputError
from ionscale.io.volume import read_volume, write_volume
from ionscale.microstructure.volume import as_volume

# /work/shared/data from tests/microstructure/ (the checkout sits beside shared/)
DATA = next((q / "shared" / "data" / "microstructure" for q in Path(__file__).resolve().parents
             if (q / "shared" / "data").is_dir()), Path("shared/data/microstructure"))
VS = (50e-9, 20e-9, 10e-9)


def labels(shape=(6, 7, 8), dtype=np.uint8, seed=0, values=(0, 85, 170)):
    rng = np.random.default_rng(seed)
    return np.asarray(values, dtype=dtype)[rng.integers(0, len(values), shape)]


def is_dask(a) -> bool:
    return type(a).__module__.startswith("dask")


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name,dtype", [
    ("v.tif", np.uint8), ("v.tiff", np.uint16), ("v.tif", np.int32), ("v.h5", np.uint8),
    ("v.hdf5", np.int64), ("v.zarr", np.uint16), ("v.zarr", np.uint8),
])
def test_round_trip_keeps_labels_voxel_size_and_phases(tmp_path, name, dtype):
    lab = labels(dtype=dtype, values=(0, 3, 7) if dtype != np.uint8 else (0, 85, 170))
    vol = as_volume(lab, VS, phases={"pore": int(lab.flat[0]), "solid": int(lab.max())})
    p = write_volume(vol, tmp_path / name)
    back = read_volume(p)
    np.testing.assert_array_equal(np.asarray(back.labels), lab)
    assert back.labels.dtype == lab.dtype
    assert back.voxel_size == pytest.approx(VS, rel=1e-6)
    assert back.phases == dict(vol.phases)
    assert back.metadata["voxel_size_from"] == "file"
    assert back.source == str(p)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_round_trip_raw(tmp_path):
    lab = labels(dtype=np.uint16, values=(0, 1, 300))
    p = write_volume(lab, tmp_path / "v.raw", voxel_size=VS)
    assert p.stat().st_size == lab.nbytes
    back = read_volume(p, shape=lab.shape, dtype="<u2", voxel_size=VS)
    assert isinstance(back.labels, np.memmap)
    np.testing.assert_array_equal(back.labels, lab)
    assert back.voxel_size == pytest.approx(VS)


def test_raw_byte_order_offset_and_fortran_order(tmp_path):
    lab = labels(dtype=np.uint16, values=(1, 2, 513))
    p = tmp_path / "be.bin"
    p.write_bytes(b"HEAD" * 4 + lab.astype(">u2").tobytes(order="F"))
    back = read_volume(p, shape=lab.shape, dtype=">u2", order="F", offset=16,
                       voxel_size="10 nm")
    np.testing.assert_array_equal(back.labels, lab)
    little = read_volume(p, shape=lab.shape, dtype="<u2", order="F", offset=16,
                         voxel_size="10 nm")
    assert not np.array_equal(np.asarray(little.labels), lab)  # byte order matters


@given(arrays(np.uint8, st.tuples(st.integers(2, 5), st.integers(2, 5), st.integers(2, 5)),
              elements=st.integers(0, 255)),
       st.sampled_from(["a.tif", "a.h5", "a.zarr", "a.raw"]))
@settings(max_examples=20)
def test_round_trip_any_labels(tmp_path_factory, lab, name):
    d = tmp_path_factory.mktemp("rt")
    p = write_volume(lab, d / name, voxel_size=(3e-9, 2e-9, 1e-9))
    kw = {"shape": lab.shape, "dtype": "uint8", "voxel_size": (3e-9, 2e-9, 1e-9)} \
        if name.endswith(".raw") else {}
    back = read_volume(p, **kw)
    np.testing.assert_array_equal(np.asarray(back.labels), lab)
    assert back.voxel_size == pytest.approx((3e-9, 2e-9, 1e-9), rel=1e-6)


def test_bool_volume_is_written_as_uint8(tmp_path):
    m = labels(values=(0, 1)).astype(bool)
    back = read_volume(write_volume(m, tmp_path / "m.tif", voxel_size=1e-8))
    assert back.labels.dtype == np.uint8
    np.testing.assert_array_equal(back.labels, m.astype(np.uint8))


def test_dask_volume_is_written_blockwise(tmp_path):
    import dask.array as da

    lab = labels((9, 10, 11))
    d = da.from_array(lab, chunks=(4, 5, 6))
    for name in ("d.h5", "d.zarr", "d.tif"):
        back = read_volume(write_volume(d, tmp_path / name, voxel_size=VS))
        np.testing.assert_array_equal(np.asarray(back.labels), lab)


# --------------------------------------------------------------------------- TIFF flavours


def test_imagej_tiff_written_by_fiji_conventions(tmp_path):
    lab = labels()
    p = tmp_path / "fiji.tif"
    tifffile.imwrite(p, lab, imagej=True, resolution=(1 / 0.02, 1 / 0.01),
                     metadata={"axes": "ZYX", "unit": "micron", "spacing": 0.05})
    vol = read_volume(p)
    assert vol.voxel_size == pytest.approx((50e-9, 10e-9, 20e-9), rel=1e-6)
    assert vol.metadata["format"] == "imagej-tiff"
    # without a slice spacing the z size is unknown: named in the error
    p2 = tmp_path / "nospacing.tif"
    tifffile.imwrite(p2, lab, imagej=True, resolution=(50.0, 50.0),
                     metadata={"axes": "ZYX", "unit": "um"})
    with pytest.raises(InputError, match="no slice spacing") as e:
        read_volume(p2)
    assert e.value.field == "voxel_size" and e.value.file == str(p2)
    # the argument overrides the file, which is kept in the metadata
    v = read_volume(p, voxel_size="30 nm")
    assert v.voxel_size == pytest.approx((3e-8,) * 3)
    assert v.metadata["file_voxel_size"] == pytest.approx([50e-9, 10e-9, 20e-9], rel=1e-6)


def test_ome_tiff_physical_sizes(tmp_path):
    lab = labels()
    p = tmp_path / "v.ome.tif"
    tifffile.imwrite(p, lab, ome=True, metadata={
        "axes": "ZYX", "PhysicalSizeX": 0.01, "PhysicalSizeY": 0.02, "PhysicalSizeZ": 40.0,
        "PhysicalSizeXUnit": "µm", "PhysicalSizeYUnit": "µm", "PhysicalSizeZUnit": "nm"})
    vol = read_volume(p)
    assert vol.metadata["format"] == "ome-tiff"
    assert vol.voxel_size == pytest.approx((40e-9, 20e-9, 10e-9), rel=1e-9)


def test_single_channel_axis_is_squeezed_and_channels_refused(tmp_path):
    lab = labels()
    p = tmp_path / "c1.tif"
    tifffile.imwrite(p, lab[:, None], imagej=True, metadata={"axes": "ZCYX"})
    np.testing.assert_array_equal(read_volume(p, voxel_size=VS).labels, lab)
    p3 = tmp_path / "c3.tif"
    tifffile.imwrite(p3, np.stack([lab] * 3, axis=1), imagej=True,
                     metadata={"axes": "ZCYX"})
    with pytest.raises(InputError, match="C=3") as e:
        read_volume(p3, voxel_size=VS)
    assert e.value.file == str(p3) and e.value.field == "labels"
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((8, 9, 3), np.uint8), photometric="rgb")
    with pytest.raises(InputError, match="channels"):
        read_volume(rgb, voxel_size=VS)


def test_slice_directory_and_glob_in_natural_order(tmp_path):
    lab = labels((12, 5, 6))
    d = tmp_path / "stack"
    d.mkdir()
    for i in range(12):  # s1 … s12: "s10" sorts before "s2" as text
        tifffile.imwrite(d / f"s{i + 1}.tif", lab[i])
    (d / "notes.txt").write_text("not a slice")
    vol = read_volume(d, voxel_size=VS)
    np.testing.assert_array_equal(vol.labels, lab)
    assert vol.metadata["n_files"] == 12
    lazy = read_volume(str(d / "s*.tif"), voxel_size=VS, chunks=(4, 5, 6))
    assert is_dask(lazy.labels) and lazy.labels.chunks[0] == (4, 4, 4)
    np.testing.assert_array_equal(lazy.labels.compute(), lab)
    tifffile.imwrite(d / "s13.tif", lab[0, :4])
    with pytest.raises(InputError, match="shape") as e:
        read_volume(d, voxel_size=VS)
    assert e.value.file.endswith("s13.tif")


def test_lazy_multipage_tiff(tmp_path):
    lab = labels((10, 6, 7))
    p = write_volume(lab, tmp_path / "v.tif", voxel_size=VS)
    vol = read_volume(p, chunks=(5, 6, 7))
    assert is_dask(vol.labels) and vol.labels.chunksize == (5, 6, 7)
    np.testing.assert_array_equal(vol.labels.compute(), lab)


# --------------------------------------------------------------------------- HDF5 flavours


def test_hdf5_fiji_attribute_and_dataset_choice(tmp_path):
    lab = labels()
    p = tmp_path / "fiji.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("meta/info", data=np.arange(3))
        d = f.create_dataset("data/volume", data=lab)
        d.attrs["element_size_um"] = [0.05, 0.02, 0.01]
    vol = read_volume(p)
    assert vol.voxel_size == pytest.approx(VS)
    assert vol.metadata["dataset"] == "/data/volume"
    with h5py.File(p, "a") as f:
        f.create_dataset("other", data=lab)
    with pytest.raises(InputError, match="2 3D datasets") as e:
        read_volume(p)
    assert e.value.field == "dataset"
    assert read_volume(p, dataset="/other", voxel_size=VS).shape == lab.shape
    with pytest.raises(InputError, match="no dataset") as e:
        read_volume(p, dataset="missing")
    assert "data/volume" in str(e.value) and e.value.file == str(p)


@pytest.mark.parametrize("order", ["zyxc", "xyzc", "czyx"])
def test_ilastik_export_is_squeezed_and_reordered(tmp_path, order):
    lab = labels(values=(1, 2, 3))  # Simple Segmentation: class numbers from 1
    arr = lab[..., None]  # zyxc
    perm = ["zyxc".index(a) for a in order]
    p = tmp_path / "ilastik.h5"
    with h5py.File(p, "w") as f:
        d = f.create_dataset("exported_data", data=np.transpose(arr, perm))
        d.attrs["axistags"] = json.dumps(
            {"axes": [{"key": a, "typeFlags": 2, "resolution": 0, "description": ""}
                      for a in order]})
    vol = read_volume(p, voxel_size="20 nm", phases={"LPS": 1, "pore": 2, "Li2S": 3})
    np.testing.assert_array_equal(vol.labels, lab)
    assert vol.metadata["format"] == "hdf5-ilastik"
    lazy = read_volume(p, voxel_size="20 nm", chunks=(3, 7, 8))
    np.testing.assert_array_equal(lazy.labels.compute(), lab)


def test_ilastik_probability_map_is_refused(tmp_path):
    p = tmp_path / "probs.h5"
    with h5py.File(p, "w") as f:
        d = f.create_dataset("exported_data", data=np.random.default_rng(0).random((4, 5, 6, 3)))
        d.attrs["axistags"] = json.dumps({"axes": [{"key": a} for a in "zyxc"]})
    with pytest.raises(InputError, match="'c' has 3") as e:
        read_volume(p, voxel_size="20 nm")
    assert e.value.file == str(p) and e.value.field == "labels"


def test_float_labels(tmp_path):
    p = tmp_path / "f.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("whole", data=labels().astype(np.float32))
        f.create_dataset("frac", data=np.full((3, 4, 5), 0.5))
    vol = read_volume(p, dataset="whole", voxel_size=VS)  # whole numbers are accepted
    assert vol.labels.dtype.kind == "i"
    with pytest.raises(InputError, match="whole numbers") as e:
        read_volume(p, dataset="frac", voxel_size=VS)
    assert e.value.file == str(p)


# --------------------------------------------------------------------------- zarr flavours


def test_zarr_v2_store_and_lazy_arrays(tmp_path):
    lab = labels((8, 9, 10))
    p = tmp_path / "v2.zarr"
    a = zarr.open_array(str(p), mode="w", shape=lab.shape, chunks=(4, 9, 10), dtype=lab.dtype,
                        zarr_format=2)
    a[:] = lab
    a.attrs["element_size_um"] = [0.05, 0.02, 0.01]
    vol = read_volume(p)
    assert isinstance(vol.labels, np.ndarray)  # small: read into memory
    assert vol.voxel_size == pytest.approx(VS)
    lazy = read_volume(p, chunks=(2, 9, 10))
    assert is_dask(lazy.labels) and lazy.labels.chunksize == (2, 9, 10)
    np.testing.assert_array_equal(lazy.labels.compute(), lab)


def test_zarr_large_arrays_come_back_lazy(tmp_path, monkeypatch):
    import ionscale.io.volume as iv

    lab = labels((8, 9, 10))
    p = write_volume(lab, tmp_path / "v.zarr", voxel_size=VS)
    monkeypatch.setattr(iv, "SMALL_BYTES", 100)
    vol = read_volume(p)
    assert is_dask(vol.labels)
    np.testing.assert_array_equal(vol.labels.compute(), lab)


def test_ome_zarr_group(tmp_path):
    lab = labels((6, 7, 8))
    p = tmp_path / "img.zarr"
    g = zarr.open_group(str(p), mode="w")
    a = g.create_array("0", shape=(1,) + lab.shape, dtype=lab.dtype, chunks=(1, 3, 7, 8))
    a[:] = lab[None]
    g.create_array("1", shape=(1, 3, 4, 4), dtype=lab.dtype)
    g.attrs["multiscales"] = [{
        "version": "0.4",
        "axes": [{"name": "c", "type": "channel"},
                 {"name": "z", "type": "space", "unit": "nanometer"},
                 {"name": "y", "type": "space", "unit": "micrometer"},
                 {"name": "x", "type": "space", "unit": "micrometer"}],
        "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": [1.0, 50.0, 0.02, 0.01]}]},
            {"path": "1", "coordinateTransformations": [
                {"type": "scale", "scale": [1.0, 100.0, 0.04, 0.02]}]}]}]
    vol = read_volume(p)
    assert vol.metadata["format"] == "ome-zarr"
    np.testing.assert_array_equal(vol.labels, lab)
    assert vol.voxel_size == pytest.approx(VS)
    assert read_volume(p, dataset="1", voxel_size=VS).shape == (3, 4, 4)


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not (DATA / "taufactor-electrode.tiff").exists(), reason="no data")
def test_real_electrode_tiff():
    vol = read_volume(DATA / "taufactor-electrode.tiff", voxel_size="20 nm",
                      phases={"pore": 0, "a": 85, "b": 170})
    assert vol.shape == (256, 256, 256) and vol.labels.dtype == np.uint8
    assert np.unique(vol.labels).tolist() == [0, 85, 170]
    assert vol.label_of("b") == 170


@pytest.mark.skipif(not (DATA / "taufactor-TF-500x500x500-1x2x6-v3.tiff.zip").exists(),
                    reason="no data")
def test_real_zipped_tiff():
    vol = read_volume(DATA / "taufactor-TF-500x500x500-1x2x6-v3.tiff.zip", voxel_size=1e-6)
    assert vol.shape == (500, 500, 500) and vol.labels.dtype == np.uint8
    assert vol.labels.nbytes == 125_000_000
    assert set(np.unique(vol.labels[::50]).tolist()) == {0, 255}
    assert vol.metadata["member"].endswith(".tiff")
    assert vol.metadata["tiff_dpi"] == (72.0, 72.0)  # a print resolution, not a voxel size


# --------------------------------------------------------------------------- bad input


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(InputError, match="not found") as e:
        read_volume(tmp_path / "nope.tif", voxel_size=VS)
    assert e.value.field == "path" and e.value.file.endswith("nope.tif")
    with pytest.raises(InputError, match="no file matches"):
        read_volume(str(tmp_path / "x*.tif"), voxel_size=VS)
    q = tmp_path / "notes.xyz"
    q.write_text("hello")
    with pytest.raises(InputError, match="unknown volume format"):
        read_volume(q, voxel_size=VS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="neither"):
        read_volume(tmp_path / "empty", voxel_size=VS)
    z = tmp_path / "a.zip"
    import zipfile

    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "x")
    with pytest.raises(InputError, match="no TIFF"):
        read_volume(z, voxel_size=VS)


def test_raw_size_mismatch_names_expected_bytes(tmp_path):
    p = tmp_path / "v.raw"
    p.write_bytes(bytes(1000))
    with pytest.raises(InputError, match="needs 2000 bytes") as e:
        read_volume(p, shape=(10, 10, 10), dtype="uint16", voxel_size=VS)
    assert e.value.file == str(p) and "1000 bytes" in str(e.value)
    with pytest.raises(InputError, match="shape= and dtype="):
        read_volume(p, voxel_size=VS)
    with pytest.raises(InputError) as e:
        read_volume(p, shape=(10, 10, 10), dtype="float32", voxel_size=VS)
    assert e.value.field == "dtype"
    with pytest.raises(InputError) as e:
        read_volume(p, shape=(10, 100), dtype="uint8", voxel_size=VS)
    assert e.value.field == "shape"


def test_2d_image_and_wrong_expectations(tmp_path):
    p = tmp_path / "img.tif"
    tifffile.imwrite(p, np.zeros((8, 9), np.uint8))
    with pytest.raises(InputError, match="2 dimensions") as e:
        read_volume(p, voxel_size=VS)
    assert e.value.file == str(p) and e.value.field == "labels"
    q = write_volume(labels(), tmp_path / "v.tif", voxel_size=VS)
    with pytest.raises(InputError) as e:
        read_volume(q, shape=(6, 7, 9))
    assert e.value.field == "shape"
    with pytest.raises(InputError) as e:
        read_volume(q, dtype="uint16")
    assert e.value.field == "dtype"
    with pytest.raises(InputError) as e:
        read_volume(q, dataset="x")
    assert e.value.field == "dataset"
    with pytest.raises(InputError, match="no voxel size"):
        tifffile.imwrite(tmp_path / "plain.tif", labels())
        read_volume(tmp_path / "plain.tif")


def test_writer_refuses_to_overwrite_and_replaces_atomically(tmp_path):
    lab = labels()
    p = write_volume(lab, tmp_path / "v.h5", voxel_size=VS)
    with pytest.raises(InputError, match="exists") as e:
        write_volume(lab + 1, p, voxel_size=VS)
    assert e.value.field == "path"
    np.testing.assert_array_equal(read_volume(p).labels, lab)  # untouched
    write_volume(lab + 1, p, voxel_size=VS, overwrite=True)
    np.testing.assert_array_equal(read_volume(p).labels, lab + 1)
    z = write_volume(lab, tmp_path / "v.zarr", voxel_size=VS)
    write_volume(lab + 2, z, voxel_size=VS, overwrite=True)
    np.testing.assert_array_equal(read_volume(z).labels, lab + 2)
    assert sorted(os.listdir(tmp_path)) == ["v.h5", "v.zarr"]  # no temporary left
    # overwriting the volume's own source from its lazy labels
    vol = read_volume(z, chunks=(3, 7, 8))
    write_volume(vol, z, overwrite=True)
    np.testing.assert_array_equal(read_volume(z).labels, lab + 2)
    with pytest.raises(InputError, match="cannot write"):
        write_volume(lab, tmp_path / "v.png", voxel_size=VS)
    with pytest.raises(InputError, match="voxel"):
        write_volume(lab, tmp_path / "w.h5")
    with pytest.raises(InputError, match="folder"):
        write_volume(lab, tmp_path / "missing" / "w.h5", voxel_size=VS)
