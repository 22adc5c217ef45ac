"""Hostile volume files (issue 10): one smallest reproducer per class of failure that
``read_volume`` let through. Whatever the damage, the reader returns a volume or raises an
InputError naming the file; a file that declares more voxels than fit in memory, or a
decompression bomb, is refused from its header in milliseconds, before anything is allocated;
no input file is ever changed. ``benchmarks/fuzz_volume.py`` is the random search these came
from."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile

from ionscale.errors import InputError
from ionscale.io.volume import read_volume, write_volume
from ionscale.microstructure import memory

VS = (50e-9, 20e-9, 10e-9)
MiB = 2**20


def labels(shape=(6, 16, 20), dtype=np.uint8):
    rng = np.random.default_rng(0)
    return np.asarray([0, 85, 170], dtype=dtype)[rng.integers(0, 3, shape)]


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def refused(path, *, seconds: float | None = None, match: str | None = None, **kwargs):
    """read_volume(path) raises an InputError naming the file (within ``seconds``)."""
    path = Path(path)
    before = digest(path) if path.is_file() else None
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=match) as info:
        read_volume(path, **{"voxel_size": VS, **kwargs})
    elapsed = time.perf_counter() - t0
    assert path.name in str(info.value), str(info.value)
    if seconds is not None:
        assert elapsed < seconds, f"{elapsed:.2f} s"
    if before is not None:
        assert digest(path) == before  # never modified
    return info.value


@pytest.fixture
def little_memory(monkeypatch):
    """This process has 64 MiB to spare (so that no test allocates much, whatever the host)."""
    monkeypatch.setattr(memory, "available_memory", lambda: 64 * MiB)
    return 64 * MiB


def run_isolated(code: str, timeout: float = 60.0) -> str:
    """Run ``code`` in a fresh interpreter: a regression that makes a C library loop for ever
    fails the test instead of hanging the suite."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


# --------------------------------------------------------------------------- damaged files


@pytest.mark.parametrize("suffix", [".tif", ".h5", ".zip", ".npy"])
def test_zero_byte_file(tmp_path, suffix):
    p = tmp_path / f"empty{suffix}"
    p.write_bytes(b"")
    refused(p)


def test_truncated_tiff(tmp_path):
    p = write_volume(labels(), tmp_path / "v.tif", voxel_size=VS)
    data = p.read_bytes()
    for cut in (6, 200, len(data) // 2, len(data) - 7):
        q = tmp_path / f"cut{cut}.tif"
        q.write_bytes(data[:cut])
        refused(q)


def test_tiff_strip_with_broken_zlib_stream(tmp_path):
    p = tmp_path / "v.tif"
    tifffile.imwrite(p, labels(), compression="zlib", metadata=None)
    with tifffile.TiffFile(p) as tif:
        at = tif.pages[2].dataoffsets[0]
    data = bytearray(p.read_bytes())
    data[at + 4:at + 12] = b"\xff" * 8
    p.write_bytes(bytes(data))
    e = refused(p, match="zlib")
    assert e.field == "labels"


def test_tiff_with_a_codec_that_is_not_installed(tmp_path):
    p = tmp_path / "v.tif"
    tifffile.imwrite(p, labels(), compression="zlib", metadata=None)
    with tifffile.TiffFile(p, mode="r+b") as tif:
        for page in tif.pages:
            page.tags["Compression"].overwrite(34892)  # lossy JPEG 8-bit: needs imagecodecs
    refused(p)


def test_tiff_pages_that_loop(tmp_path):
    """The last of 150 pages points back to page 120: tifffile would walk it for ever."""
    p = tmp_path / "loop.tif"
    tifffile.imwrite(p, labels((150, 4, 5)), metadata=None)
    with tifffile.TiffFile(p) as tif:
        offsets = [page.offset for page in tif.pages]
        last = tif.pages[-1]
        ntags = len(last.tags)
    data = bytearray(p.read_bytes())
    data[offsets[-1] + 2 + 12 * ntags:offsets[-1] + 6 + 12 * ntags] = \
        struct.pack("<I", offsets[120])
    p.write_bytes(bytes(data))
    out = run_isolated(f"""
        from ionscale.errors import InputError
        from ionscale.io.volume import read_volume
        try:
            read_volume({str(p)!r}, voxel_size=1e-8)
        except InputError as exc:
            print(exc)
    """)
    assert "loops" in out and "loop.tif" in out


def test_tiff_page_declaring_a_million_strips_it_does_not_list(tmp_path):
    """ImageLength says 15.8 million rows, in strips of 16 rows, with one strip listed:
    tifffile would visit 991 233 missing strips one by one."""
    p = tmp_path / "rows.tif"
    tifffile.imwrite(p, labels((2, 16, 20)), compression="zlib", metadata=None,
                     rowsperstrip=16)
    with tifffile.TiffFile(p, mode="r+b") as tif:
        tif.pages[0].tags["ImageLength"].overwrite(15_859_728)
    refused(p, seconds=2, match="991233 strips")


def test_corrupt_and_truncated_zip(tmp_path):
    tif = write_volume(labels(), tmp_path / "v.tif", voxel_size=VS)
    z = tmp_path / "v.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(tif, "stack.tif")
    data = z.read_bytes()
    bad = bytearray(data)
    bad[60:64] = b"\x00\xff\x00\xff"  # inside the deflate stream
    (tmp_path / "flipped.zip").write_bytes(bytes(bad))
    refused(tmp_path / "flipped.zip")
    (tmp_path / "cut.zip").write_bytes(data[:len(data) // 2])
    refused(tmp_path / "cut.zip", match="zip")


def test_zip_member_that_is_not_a_tiff(tmp_path):
    z = tmp_path / "v.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("stack.tif", b"II*\x00" + b"\x00" * 20)
    e = refused(z)
    assert "stack.tif" in str(e)


def test_slice_folders(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    for i in range(3):
        tifffile.imwrite(d / f"s{i}.tif", labels((4, 5))[..., :5 - (i == 2)])
    e = refused(d)
    assert e.file.endswith("s2.tif")
    e = refused(d, chunks=(1, 4, 5))
    d2 = tmp_path / "broken"
    d2.mkdir()
    for i in range(3):
        tifffile.imwrite(d2 / f"s{i}.tif", labels((4, 5)))
    (d2 / "s1.tif").write_bytes(b"")
    e = refused(d2)
    assert e.file.endswith("s1.tif")
    (d2 / "s1.tif").write_bytes(b"II*\x00\x08\x00\x00\x00\x00\x00")  # an IFD with no tags
    assert refused(d2).file.endswith("s1.tif")
    (tmp_path / "nothing").mkdir()
    refused(tmp_path / "nothing", match="neither")


def test_ilastik_axistags_that_repeat_an_axis(tmp_path):
    p = tmp_path / "ilastik.h5"
    with h5py.File(p, "w") as f:
        d = f.create_dataset("exported_data", data=labels()[..., None])
        d.attrs["axistags"] = json.dumps({"axes": [{"key": k} for k in "zzxc"]})
    e = refused(p, match="repeat 'z'")
    assert e.field == "axistags"


def test_npy_header_that_lies(tmp_path):
    p = tmp_path / "v.npy"
    with open(p, "wb") as fh:  # a 4096³ header on 1920 bytes of data
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "|u1", "fortran_order": False, "shape": (4096, 4096, 4096)})
        fh.write(labels().tobytes())
    e = refused(p, seconds=2, match=r"declares shape \(4096, 4096, 4096\)")
    assert "1920 bytes" in str(e)
    data = p.read_bytes()
    q = tmp_path / "garbled.npy"
    q.write_bytes(data[:10] + b"{'descr': '|u1', 'fortran_order': False, 'shape': (6," + b"\n")
    refused(q, match="header")


def test_hdf5_that_is_not_hdf5_inside(tmp_path):
    p = write_volume(labels(), tmp_path / "v.h5", voxel_size=VS)
    data = bytearray(p.read_bytes())
    for at in range(600, 1400, 8):  # object headers, B-tree, heaps
        data[at] ^= 0xFF
    p.write_bytes(bytes(data))
    try:
        read_volume(p, voxel_size=VS)
    except InputError as exc:
        assert "v.h5" in str(exc)


def test_hdf5_string_attribute_in_a_damaged_global_heap(tmp_path):
    """A free-space object of size 0 in a global heap: HDF5 reads it for ever."""
    p = write_volume(labels(), tmp_path / "v.h5", voxel_size=VS, phases={"pore": 0})
    data = bytearray(p.read_bytes())
    at = data.find(b"GCOL")
    assert at > 0
    size = int.from_bytes(data[at + 8:at + 16], "little")
    q = 16
    while q + 16 <= size:  # walk to the free space, as HDF5 does
        idx = int.from_bytes(data[at + q:at + q + 2], "little")
        if idx == 0:
            data[at + q + 8:at + q + 16] = bytes(8)
            break
        q += 16 + (int.from_bytes(data[at + q + 8:at + q + 16], "little") + 7) // 8 * 8
    else:
        pytest.fail("no free space in the global heap")
    p.write_bytes(bytes(data))
    out = run_isolated(f"""
        from ionscale.errors import InputError
        from ionscale.io.volume import read_volume
        try:
            read_volume({str(p)!r}, voxel_size=1e-8)
        except InputError as exc:
            print(exc)
    """)
    assert "global heap" in out and "v.h5" in out


# --------------------------------------------------------------------------- sizes and bombs


def test_hdf5_declaring_4096_cubed_fails_in_milliseconds(tmp_path, little_memory):
    p = tmp_path / "huge.h5"
    with h5py.File(p, "w") as f:
        d = f.create_dataset("labels", shape=(4096, 4096, 4096), dtype="u1",
                             chunks=(64, 64, 64), compression="gzip", fillvalue=1)
        d.attrs["element_size_um"] = [0.02, 0.02, 0.02]
    assert p.stat().st_size < 8000
    e = refused(p, seconds=2, match=r"\(4096, 4096, 4096\)")
    assert "64 GiB" in str(e) and "chunks=" in str(e) and e.field == "shape"
    lazy = read_volume(p, chunks=(1024, 1024, 1024))  # the lazy read is the way out
    assert lazy.shape == (4096, 4096, 4096) and type(lazy.labels).__module__.startswith("dask")


def test_hdf5_with_millions_of_tiny_chunks(tmp_path):
    p = tmp_path / "tiny-chunks.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("labels", shape=(128, 128, 128), dtype="u1", chunks=(1, 1, 1),
                         fillvalue=1)
    refused(p, seconds=2, match="2097152 chunks")


def test_hdf5_chunk_that_is_a_decompression_bomb(tmp_path):
    """An 8³ chunk (512 bytes) that stores 64 MiB of zeros deflated: HDF5 would inflate all
    of it before it copies 512 bytes out."""
    p = tmp_path / "bomb.h5"
    co = zlib.compressobj(9)
    stream = b"".join(co.compress(bytes(MiB)) for _ in range(64)) + co.flush()
    with h5py.File(p, "w") as f:
        d = f.create_dataset("labels", shape=(8, 8, 8), dtype="u1", chunks=(8, 8, 8),
                             compression="gzip")
        d.id.write_direct_chunk((0, 0, 0), stream)
    refused(p, seconds=2, match="decompression bomb")


def test_tiff_declaring_a_gibibyte(tmp_path, little_memory):
    p = tmp_path / "big.tif"
    tifffile.imwrite(p, np.zeros((64, 64), np.uint8), compression="zlib", metadata=None)
    with tifffile.TiffFile(p, mode="r+b") as tif:
        tif.pages[0].tags["ImageWidth"].overwrite(32768)
        tif.pages[0].tags["ImageLength"].overwrite(32768)
        tif.pages[0].tags["RowsPerStrip"].overwrite(32768)
    e = refused(p, seconds=2, match=r"\(32768, 32768\)")
    assert "1 GiB" in str(e) and "64 MiB" in str(e)


def test_tiff_strip_that_inflates_past_its_declared_size(tmp_path):
    """A 64 × 64 page whose one strip is 64 MiB of zeros deflated: decoding stops at the
    4 kiB the header declares."""
    p = tmp_path / "bomb.tif"
    tifffile.imwrite(p, np.zeros((2, 64, 64), np.uint8), compression="zlib", metadata=None,
                     rowsperstrip=64)
    co = zlib.compressobj(9)
    stream = b"".join(co.compress(bytes(4 * MiB)) for _ in range(16)) + co.flush()
    at = p.stat().st_size
    with open(p, "ab") as fh:
        fh.write(stream)
    with tifffile.TiffFile(p, mode="r+b") as tif:
        tif.pages[0].tags["StripOffsets"].overwrite([at])
        tif.pages[0].tags["StripByteCounts"].overwrite([len(stream)])
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        read_volume(p, voxel_size=VS)
    except InputError as exc:
        assert "bomb.tif" in str(exc)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - t0 < 2
    assert peak < 32 * MiB, peak


def test_zipped_tiff_bomb(tmp_path, little_memory):
    """A zip whose TIFF member inflates to 64 MiB: refused from its declared size."""
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("stack.tif", "w") as w:
        w.write(b"II*\x00")
        for _ in range(16):
            w.write(bytes(4 * MiB))
    assert z.stat().st_size < MiB
    e = refused(z, seconds=2, match="stack.tif")
    assert "64 MiB" in str(e) and e.field == "member"


def test_zip_member_with_a_lying_size(tmp_path):
    """The member's declared size says 1 kiB: reading stops there (zipfile then finds the
    CRC wrong)."""
    tif = write_volume(labels(), tmp_path / "v.tif", voxel_size=VS, compression=False)
    z = tmp_path / "liar.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(tif, "stack.tif")
    data = bytearray(z.read_bytes())
    real = tif.stat().st_size
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # local header, central directory
        at = data.find(sig)
        off = 22 if sig == b"PK\x03\x04" else 24
        assert int.from_bytes(data[at + off:at + off + 4], "little") == real
        data[at + off:at + off + 4] = (1024).to_bytes(4, "little")
    z.write_bytes(bytes(data))
    refused(z, seconds=2)


def test_memory_error_says_what_was_declared(tmp_path, monkeypatch):
    p = write_volume(labels(), tmp_path / "v.tif", voxel_size=VS)

    def no_memory(self, *args, **kwargs):
        raise MemoryError("Unable to allocate")

    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", no_memory)
    e = refused(p, match="out of memory")
    assert "1.88 kiB" in str(e)


def test_zarr_declaring_a_huge_shape_stays_lazy(tmp_path):
    p = write_volume(labels(), tmp_path / "v.zarr", voxel_size=VS)
    meta = json.loads((p / "zarr.json").read_text())
    meta["shape"] = [6, 2**31, 20]
    (p / "zarr.json").write_text(json.dumps(meta))
    t0 = time.perf_counter()
    vol = read_volume(p)
    assert time.perf_counter() - t0 < 2
    assert vol.shape == (6, 2**31, 20) and type(vol.labels).__module__.startswith("dask")
    assert vol.labels.npartitions <= 2**15
    with pytest.raises(InputError, match="blocks") as info:  # chunks= cannot make 10⁹ blocks
        read_volume(p, chunks=(3, 8, 8))
    assert info.value.field == "chunks" and "v.zarr" in str(info.value)
