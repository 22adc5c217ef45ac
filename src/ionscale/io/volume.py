"""Readers and writers of segmented 3D volumes (label maps): :func:`read_volume`,
:func:`write_volume`.

Every reader returns a :class:`~ionscale.microstructure.volume.Volume`: ``(z, y, x)`` integer
labels, the voxel size ``(dz, dy, dx)`` in metres, phase names, the source file and what the
reader found in the file (``metadata``). Files are opened read-only and never changed.

Accepted formats
----------------

* **Multi-page TIFF** (``.tif``, ``.tiff``; ImageJ hyperstacks, OME-TIFF, tifffile): voxel size
  from the ImageJ ``unit`` with X/YResolution and ``spacing``, the OME-XML ``PhysicalSize*``,
  or ionscale's JSON description (``voxel_size_m``). Plain resolution tags in cm give dy and dx
  only; dots-per-inch tags are ignored (72 dpi is a print default, not a size). Numpy, or
  dask through tifffile's zarr store with ``chunks``.
* **One TIFF per slice**: a directory, or a glob such as ``"stack/slice_*.tif"``, in natural
  order (``s2`` before ``s10``); every slice must have the first one's shape and type. Numpy,
  or dask with ``chunks`` (one task per slice).
* **HDF5** (``.h5``, ``.hdf5``): the dataset ``dataset=`` or the only 3D one; voxel size from
  the ``element_size_um`` attribute (z, y, x in µm, as Fiji and Ilastik write it) or
  ``voxel_size_m``, on the dataset or the file. Numpy, or dask with ``chunks``.
* **Ilastik exports** (HDF5 ``exported_data``, ``(z, y, x, c)`` with ``c = 1``): the channel
  axis is squeezed, the axis order taken from the ``axistags`` attribute. "Simple
  Segmentation" labels are the class numbers (1, 2, … in the order of the classes);
  probability maps (several channels) are refused.
* **zarr** (v2 or v3 directory store; a single array or a group): voxel size from the
  ``voxel_size_m`` / ``element_size_um`` attributes or the OME-NGFF ``multiscales`` scale
  and axis units (first resolution level). Dask, or numpy when under :data:`SMALL_BYTES` and
  no ``chunks``.
* **Raw binary** (``.raw``, ``.bin``, ``.dat``, ``.vol``, ``.img``, or any file with
  ``shape=`` and ``dtype=``): byte order in the dtype (``">u2"``), ``order`` and a header of
  ``offset`` bytes; the file size must be exactly ``offset + prod(shape) × itemsize``. A
  read-only ``np.memmap``.
* **.npy**: memory-mapped ``np.load``.
* **.zip** holding one TIFF stack (read into memory through :mod:`zipfile`) or TIFF slices.

``voxel_size=`` always overrides the file (the file's value is kept in
``metadata["file_voxel_size"]``); a file without one needs it, and a missing voxel size is an
error, never a silent default. Axes of length 1 beyond the three spatial ones (channel, time)
are squeezed; more than one channel is refused (a probability map or an RGB image is not a
label map).

Writers (:func:`write_volume`): TIFF (ImageJ hyperstack with ``unit="um"``, X/YResolution and
``spacing`` for uint8/uint16 labels; otherwise a tifffile TIFF whose JSON description holds
``voxel_size_m``), HDF5 (dataset ``labels``, gzip, attributes ``element_size_um``,
``voxel_size_m``, ``phases``) and zarr (v3 directory store, same attributes), raw (bytes in C
order; give ``shape``/``dtype`` when reading back). Writes are atomic (a temporary name in the
same folder, then a rename) and refuse to replace an existing path unless ``overwrite=True``.

Bad input raises :class:`~ionscale.errors.InputError` naming the file and the field: missing
file, unknown format, raw size that does not match ``shape × dtype`` (the expected byte count
is given), a 2D image, a multichannel image, non-integer labels, a dataset that is not there
(the datasets that are, listed).

Hostile input
-------------
Before any pixel data is decoded, the size the header declares (TIFF series, zip member, HDF5
dataset, .npy header, slice count × slice size) is compared with the memory this process can
still take (:func:`~ionscale.microstructure.memory.available_memory`, capped by an address-
space limit, less a margin): a volume that does not fit is refused with its declared shape and
size, and the lazy way to read it (``chunks=``) where there is one, before anything is
allocated. Decompression is bounded by the declared sizes: zip members stop at their declared
size, the zlib/LZMA TIFF segments at the segment's size, and an HDF5 chunk that stores more
bytes than it can hold compressed, or could inflate past the memory left, is refused. Every
decoder error (tifffile, zipfile, zlib, h5py, zarr, numpy's .npy header...) and a
``MemoryError`` become an :class:`~ionscale.errors.InputError` naming the file (and the
member, dataset or slice) and what went wrong.
"""

from __future__ import annotations

import glob
import io
import json
import lzma
import math
import os
import re
import shutil
import struct
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..microstructure import memory
from ..microstructure.volume import Volume, as_volume, check_labels, voxel_size_3

__all__ = ["SMALL_BYTES", "read_volume", "write_volume"]

#: zarr arrays up to this size are read into memory (larger ones come back as dask arrays).
SMALL_BYTES = 256 * 2**20

_TIFF = {".tif", ".tiff"}
_HDF5 = {".h5", ".hdf5", ".hdf", ".he5"}
_RAW = {".raw", ".bin", ".dat", ".vol", ".img"}
_MAGIC = {b"II*\x00": "tiff", b"MM\x00*": "tiff", b"II+\x00": "tiff", b"MM\x00+": "tiff",
          b"\x89HDF": "hdf5", b"PK\x03\x04": "zip", b"\x93NUM": "npy"}

#: Length units found in ImageJ / OME / NGFF metadata, in metres.
_UNITS = {
    "m": 1.0, "meter": 1.0, "metre": 1.0, "cm": 1e-2, "centimeter": 1e-2, "mm": 1e-3,
    "millimeter": 1e-3, "um": 1e-6, "µm": 1e-6, "μm": 1e-6, "micron": 1e-6, "microns": 1e-6,
    "micrometer": 1e-6, "micrometre": 1e-6, "nm": 1e-9, "nanometer": 1e-9,
    "nanometre": 1e-9, "a": 1e-10, "å": 1e-10, "angstrom": 1e-10, "pm": 1e-12,
}


# --------------------------------------------------------------- hostile input: guards

#: Share of the available memory a reader may fill (the rest: decoder temporaries, the caller).
MEMORY_SHARE = 0.9

#: Largest output of DEFLATE per compressed byte (zlib's limit is about 1032:1).
_DEFLATE_RATIO = 1032

#: Exceptions the decoders (tifffile, zipfile, zlib, lzma, h5py, zarr, numcodecs, numpy's .npy
#: header parser) raise on damaged input; each becomes an InputError naming the file. ImportError:
#: a codec the file needs is not installed (a TIFF compressed with LZW or zstd without
#: imagecodecs). AssertionError: tifffile's internal checks on inconsistent pages. SyntaxError,
#: TokenError: numpy's parser of a damaged .npy header.
_DECODER_ERRORS: tuple[type[BaseException], ...] = (
    OSError, EOFError, ValueError, KeyError, IndexError, TypeError, RuntimeError,
    ArithmeticError, struct.error, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
    ImportError, AssertionError, SyntaxError, tokenize.TokenError,
)


def _nbytes(shape, dtype) -> int:
    """Declared size in bytes (Python integers: no overflow for absurd shapes)."""
    return math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize


def _fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("kiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def _address_space_left() -> int | None:
    """Bytes of address space left under RLIMIT_AS (None when there is no limit)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    used = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    return max(int(soft) - used, 0)


def _memory_available() -> int | None:
    """Bytes this process can still allocate (None when unknown)."""
    avail = memory.available_memory()
    left = _address_space_left()
    known = [v for v in (avail if avail > 0 else None, left) if v is not None]
    return min(known) if known else None


def _check_fits(src: str, what: str, shape, dtype, *, reserved: int = 0,
                lazy: str | None = None, field: str = "shape") -> int:
    """Refuse (before reading) a declared volume that does not fit in memory; return its size.

    ``reserved``: bytes already taken by this read (a zip member held in memory). ``lazy``:
    how to read it without loading it, for the message.
    """
    dt = np.dtype(dtype)
    need = _nbytes(shape, dt)
    n = need // max(dt.itemsize, 1)
    if dt.kind == "f":  # check_labels tests finiteness and casts to int64
        need += 9 * n
    avail = _memory_available()
    if avail is None:
        return need
    budget = int(MEMORY_SHARE * avail) - int(reserved)
    if need > budget:
        shp = tuple(int(k) for k in shape)
        raise InputError(
            f"{what} declares {shp} voxels of {dt} ({_fmt_bytes(need)} to read), more than "
            f"fits in the {_fmt_bytes(avail)} of memory available"
            + (f" ({_fmt_bytes(reserved)} already taken by this read)" if reserved else ""),
            file=src, field=field,
            expected="a volume that fits in memory" + (f"; {lazy}" if lazy else
                                                        ", or a smaller crop of it"))
    return need


_LAZY_HINT = ("read it lazily with chunks=(64, 256, 256) (a dask array, loaded block by "
              "block)")


@contextmanager
def _decoding(src: str, what: str, expected: str, *, field: str = "path",
              declared: int | None = None):
    """Turn a decoder's exception into an InputError naming ``src`` and ``what`` was read.

    InputErrors pass unchanged (given the file if they lack one). A MemoryError says how much
    the file declared.
    """
    try:
        yield
    except InputError as exc:
        raise exc.with_file(src) from None
    except MemoryError as exc:
        size = f" (it declares {_fmt_bytes(declared)})" if declared else ""
        raise InputError(f"out of memory reading {what}{size}: {str(exc)[:200] or 'MemoryError'}",
                         file=src, field="shape",
                         expected="a volume that fits in memory; " + _LAZY_HINT) from None
    except _DECODER_ERRORS as exc:
        text = str(exc).strip().replace("\n", " ")
        if len(text) > 300:
            text = text[:300] + "..."
        kind = type(exc)
        name = kind.__qualname__ if kind.__module__ == "builtins" else \
            f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"
        raise InputError(f"cannot read {what} ({name}: {text})", file=src,
                         field=field, expected=expected) from exc


def _zlib_bounded(data, /, *, out=None):
    """tifffile's zlib decoder, stopping at the segment size ``out`` (a bomb cannot inflate
    past what the TIFF header declares)."""
    if not isinstance(out, int) or out < 0:
        return zlib.decompress(data)
    d = zlib.decompressobj()
    res = d.decompress(data, out)
    if not d.eof and len(res) < out:
        raise zlib.error("incomplete or truncated stream")
    return res


def _lzma_bounded(data, /, *, out=None):
    """tifffile's LZMA decoder, stopping at the segment size ``out``."""
    if not isinstance(out, int) or out < 0:
        return lzma.decompress(data)
    d = lzma.LZMADecompressor()
    res = d.decompress(data, out)
    if not d.eof and len(res) < out:
        raise lzma.LZMAError("incomplete or truncated stream")
    return res


def _bound_tiff_decoders(tifffile) -> None:
    """Replace tifffile's own (unbounded) zlib/LZMA fallbacks by bounded ones.

    tifffile passes each segment's decoded size as ``out``; its pure-Python fallbacks (used
    when imagecodecs is not installed) ignore it and inflate everything. imagecodecs' decoders
    already stop at ``out`` and are left alone. Decoding of valid files is unchanged.
    """
    table = getattr(getattr(tifffile, "TIFF", None), "DECOMPRESSORS", None)
    codecs = getattr(table, "_codecs", None)
    if not isinstance(codecs, dict):
        return
    for key, bounded in ((8, _zlib_bounded), (32946, _zlib_bounded), (50013, _zlib_bounded),
                         (34925, _lzma_bounded)):
        if codecs.get(key) in (_zlib_bounded, _lzma_bounded):
            continue
        try:
            current = table[key]
        except Exception:  # noqa: BLE001 - codec unavailable: tifffile reports it when used
            continue
        if str(getattr(current, "__module__", "")).startswith("tifffile"):
            codecs[key] = bounded


# --------------------------------------------------------------------------- reading


def read_volume(
    path,
    *,
    voxel_size=None,
    phases: Mapping[str, int] | None = None,
    dataset: str | None = None,
    shape: Sequence[int] | None = None,
    dtype=None,
    order: str = "C",
    offset: int = 0,
    chunks=None,
) -> Volume:
    """Read a segmented volume (label map) from a TIFF stack, HDF5, zarr, raw or zip file.

    Parameters
    ----------
    path : str or path-like
        A file, a directory (zarr store or one TIFF per slice) or a glob pattern of TIFF
        slices (``"stack/slice_*.tif"``). The format follows the extension, then the file's
        first bytes (see the module table).
    voxel_size : float, str or sequence of 3, optional
        ``(dz, dy, dx)`` in m (``"20 nm"``, ``(50e-9, 20e-9, 20e-9)``); overrides the file's.
        Required when the file has none.
    phases : dict of str to int, optional
        Phase names, e.g. ``{"pore": 0, "LPS": 85, "Li2S": 170}``; default: those stored by
        :func:`write_volume`, else none.
    dataset : str, optional
        HDF5 dataset or zarr array path inside the file (default: the only 3D one).
    shape : sequence of 3 int, optional
        ``(nz, ny, nx)``: required for raw files; checked against other formats.
    dtype : str or numpy dtype, optional
        Raw files: element type with byte order (``"uint8"``, ``"<u2"``, ``">i4"``).
        Checked against other formats.
    order : {"C", "F"}
        Raw files: ``"C"`` when x varies fastest (the usual stack layout).
    offset : int
        Raw files: header bytes to skip.
    chunks : int, tuple or "auto", optional
        Return the labels as a dask array with these chunks (read lazily).

    Returns
    -------
    Volume

    Raises
    ------
    InputError
        Missing file, unknown format, wrong raw size, not a 3D single-channel integer volume,
        dataset not found, no voxel size; a damaged file (every decoder error, named with the
        file and member/dataset/slice); a declared size that does not fit in the memory
        available (before anything is read: use ``chunks=``), a decompression bomb.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> v = np.zeros((4, 5, 6), np.uint8); v[2:] = 1
    >>> p = write_volume(v, os.path.join(d, "v.tif"), voxel_size="20 nm")
    >>> vol = read_volume(p)
    >>> vol.shape, vol.voxel_size
    ((4, 5, 6), (2e-08, 2e-08, 2e-08))
    """
    src = os.fspath(path)
    kind, target = _locate(src, shape=shape, dtype=dtype)
    if kind == "raw":
        labels, meta = _read_raw(target, shape, dtype, order, offset)
    else:
        _no_raw_options(src, order, offset)
        if kind == "tiff":
            labels, meta = _read_tiff(target, chunks, src)
        elif kind == "slices":
            labels, meta = _read_slices(target, chunks, src)
        elif kind == "hdf5":
            labels, meta = _read_hdf5(target, dataset, chunks)
        elif kind == "zarr":
            labels, meta = _read_zarr(target, dataset, chunks)
        elif kind == "zip":
            labels, meta = _read_zip(target, src)
        else:  # npy
            labels, meta = _read_npy(target, src)
        if dataset is not None and kind not in ("hdf5", "zarr"):
            raise InputError(f"dataset={dataset!r} given for a {kind} file", file=src,
                             field="dataset", expected="dataset only for HDF5 and zarr")
    if chunks is not None and getattr(labels, "ndim", 3) == 3:  # else: refused below
        _check_user_chunks(labels.shape, chunks, src)
        if type(labels).__module__.split(".")[0] == "dask":
            labels = labels.rechunk(chunks)
        else:
            import dask.array as da

            labels = da.from_array(labels, chunks=chunks)
    return _finish(labels, meta, src, voxel_size, phases, shape, dtype, kind)


def _no_raw_options(src, order, offset):
    if order != "C":
        raise InputError(f"order={order!r} given for a file that is not raw", file=src,
                         field="order", expected="order only for raw files")
    if offset:
        raise InputError(f"offset={offset!r} given for a file that is not raw", file=src,
                         field="offset", expected="offset only for raw files")


def _finish(labels, meta, src, voxel_size, phases, shape, dtype, kind) -> Volume:
    if shape is not None and kind != "raw":
        want = _shape3(shape, src)
        if tuple(labels.shape) != want:
            raise InputError(f"the volume has shape {tuple(labels.shape)}, not {want}",
                             file=src, field="shape", expected=f"{tuple(labels.shape)}")
    if dtype is not None and kind != "raw":
        want_dt = _dtype(dtype, src)
        if np.dtype(labels.dtype) != want_dt:
            raise InputError(f"the labels are {labels.dtype}, not {want_dt}", file=src,
                             field="dtype", expected=str(labels.dtype))
    try:
        labels = check_labels(labels, source=src)
    except InputError as exc:
        raise exc.with_file(src) from None
    file_vs = meta.pop("voxel_size", None)
    if voxel_size is None:
        if file_vs is None:
            why = meta.get("voxel_size_note", "the file does not give one")
            raise InputError(f"no voxel size: {why}", file=src, field="voxel_size",
                             expected="voxel_size=(dz, dy, dx) in m, e.g. '20 nm'")
        vs = file_vs
        meta["voxel_size_from"] = "file"
    else:
        vs = voxel_size_3(voxel_size, source=src)
        meta["voxel_size_from"] = "argument"
        if file_vs is not None:
            meta["file_voxel_size"] = [float(v) for v in file_vs]
    file_phases = meta.pop("phases", None)
    if phases is None and file_phases:
        phases = file_phases
    if phases is not None:
        phases = _check_phases(phases, src)
    meta["kind"] = kind
    return as_volume(labels, vs, phases=phases, source=src, metadata=meta)


def _check_phases(phases, src) -> dict[str, int]:
    if not isinstance(phases, Mapping):
        raise InputError(f"phases {phases!r}", file=src, field="phases",
                         expected="a dict of phase name to integer label")
    out = {}
    for k, v in phases.items():
        try:
            out[str(k)] = int(v)
        except (TypeError, ValueError):
            raise InputError(f"phase {k!r} has label {v!r}", file=src, field="phases",
                             expected="integer labels") from None
    return out


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _locate(src: str, *, shape, dtype) -> tuple[str, Any]:
    p = Path(src)
    if not p.exists() and any(c in src for c in "*?["):
        files = sorted(glob.glob(src), key=lambda f: _natural_key(os.path.basename(f)))
        files = [f for f in files if os.path.isfile(f)]
        if not files:
            raise InputError("no file matches the pattern", file=src, field="path",
                             expected="a glob matching one TIFF per slice")
        return "slices", files
    if not p.exists():
        raise InputError("file not found", file=src, field="path",
                         expected="an existing file, directory or glob pattern")
    if p.is_dir():
        if any((p / n).exists() for n in (".zarray", ".zgroup", "zarr.json")):
            return "zarr", p
        with _decoding(src, "the directory", "a readable directory"):
            files = [f for f in p.iterdir() if f.is_file() and f.suffix.lower() in _TIFF
                     and not f.name.startswith(".")]
        if not files:
            raise InputError("directory holds neither a zarr store nor TIFF slices", file=src,
                             field="path", expected="a zarr store or *.tif slices")
        return "slices", sorted((str(f) for f in files),
                                key=lambda f: _natural_key(os.path.basename(f)))
    suffix = p.suffix.lower()
    if suffix in _TIFF:
        return "tiff", p
    if suffix in _HDF5:
        return "hdf5", p
    if suffix == ".zip":
        return "zip", p
    if suffix == ".npy":
        return "npy", p
    if suffix in _RAW or (shape is not None and dtype is not None):
        return "raw", p
    with _decoding(src, "the file's first bytes", "a readable file"), open(p, "rb") as fh:
        head = fh.read(4)
    if head in _MAGIC:
        return _MAGIC[head], p
    raise InputError(f"unknown volume format (extension {suffix or 'none'})", file=src,
                     field="path", expected=".tif, .h5, .zarr, .zip, .npy, or raw with "
                                            "shape= and dtype=")


def _shape3(shape, src) -> tuple[int, int, int]:
    try:
        out = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise InputError(f"shape {shape!r}", file=src, field="shape",
                         expected="three positive integers (nz, ny, nx)") from None
    if len(out) != 3 or min(out) < 1:
        raise InputError(f"shape {shape!r}", file=src, field="shape",
                         expected="three positive integers (nz, ny, nx)")
    return out


def _dtype(dtype, src) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise InputError(f"dtype {dtype!r}", file=src, field="dtype",
                         expected="a numpy dtype such as 'uint8' or '>u2'") from None
    if dt.kind not in "iub":
        raise InputError(f"dtype {dt}", file=src, field="dtype",
                         expected="an integer type (labels), e.g. 'uint8', '<u2'")
    return dt


# ----------------------------------------------------------------------------- raw


def _read_raw(p: Path, shape, dtype, order, offset):
    src = str(p)
    if shape is None or dtype is None:
        raise InputError("a raw file needs shape= and dtype=", file=src,
                         field="shape" if shape is None else "dtype",
                         expected="shape=(nz, ny, nx) and dtype such as 'uint8' or '<u2'")
    shp = _shape3(shape, src)
    dt = _dtype(dtype, src)
    if order not in ("C", "F"):
        raise InputError(f"order {order!r}", file=src, field="order", expected="'C' or 'F'")
    if not isinstance(offset, (int, np.integer)) or offset < 0:
        raise InputError(f"offset {offset!r}", file=src, field="offset",
                         expected="a number of bytes >= 0")
    need = int(offset) + _nbytes(shp, dt)
    size = p.stat().st_size
    if size != need:
        raise InputError(
            f"file has {size} bytes; shape {shp} of {dt} ({dt.itemsize} B each)"
            + (f" after a {offset}-byte header" if offset else "") + f" needs {need} bytes",
            file=src, field="shape", expected=f"a file of exactly {need} bytes, or the "
                                              "right shape/dtype/offset")
    with _decoding(src, "the raw file", "a readable raw file"):
        arr = np.memmap(p, dtype=dt, mode="r", shape=shp, order=order, offset=int(offset))
    return arr, {"format": "raw", "dtype": dt.str, "order": order, "offset": int(offset)}


# ----------------------------------------------------------------------------- npy


def _read_npy(p: Path, src: str):
    """A memory-mapped .npy file; the header is checked against the file size first (a
    header that declares more data than the file holds is refused, not mapped)."""
    fmt = np.lib.format
    expected = "an intact .npy file (numpy.save)"
    with _decoding(src, "the .npy header", expected, field="header"), open(p, "rb") as fh:
        version = fmt.read_magic(fh)
        if version not in ((1, 0), (2, 0)):  # 3.0 (utf-8 header): numpy's own checks
            fh.close()
            with _decoding(src, "the .npy file", expected):
                return np.load(p, mmap_mode="r"), {"format": "npy"}
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else \
            fmt.read_array_header_2_0
        shape, fortran, dt = read_header(fh)
        offset = fh.tell()
        size = os.fstat(fh.fileno()).st_size
    dt = np.dtype(dt)
    if dt.hasobject:
        raise InputError(f"the .npy file holds Python objects ({dt})", file=src,
                         field="dtype", expected="integer labels")
    need = _nbytes(shape, dt)
    if offset + need > size:
        raise InputError(
            f"the .npy header declares shape {tuple(shape)} of {dt} ({_fmt_bytes(need)}) but the "
            f"file holds {max(size - offset, 0)} bytes after its {offset}-byte header",
            file=src, field="header", expected=f"a file of {offset + need} bytes (a "
                                                "complete .npy file)")
    meta = {"format": "npy", "dtype": dt.str}
    if need == 0:  # nothing to map (check_labels says what is wrong)
        return np.zeros(shape, dt), meta
    with _decoding(src, "the .npy file", expected):
        arr = np.memmap(p, dtype=dt, mode="r", shape=tuple(shape),
                        order="F" if fortran else "C", offset=offset)
    return arr, meta


# ---------------------------------------------------------------------------- TIFF


def _read_tiff(target, chunks, src: str, *, what: str = "the TIFF", reserved: int = 0,
               lazy: str | None = _LAZY_HINT):
    """A TIFF stack (``target``: a path or a file object). The declared series size is checked
    against the memory left before it is decoded; decoder errors become InputErrors."""
    import tifffile

    _bound_tiff_decoders(tifffile)
    expected = "an intact TIFF stack"
    declared = None
    with _decoding(src, what, expected), tifffile.TiffFile(target) as tif:
        series = _first_series(tif, src, what, expected)
        axes = series.axes
        meta = _tiff_metadata(tif)
        if chunks is not None and isinstance(target, (str, os.PathLike)):
            import dask.array as da
            import zarr

            store = tifffile.imread(target, aszarr=True, series=0)
            arr = zarr.open(store, mode="r")
            data = da.from_zarr(arr, chunks=_dask_chunks(arr.shape, arr.chunks))
        else:
            declared = _check_fits(src, what, series.shape, series.dtype, reserved=reserved,
                                   lazy=lazy)
            with _decoding(src, f"the pixels of {what}", expected, field="labels",
                           declared=declared):
                data = series.asarray()
    data, axes = _squeeze_axes(data, axes, src)
    meta["axes"] = axes
    return data, meta


def _first_series(tif, src: str, what: str, expected: str):
    """The first image series of an open TiffFile.

    The page chain is indexed first (``len(tif.pages)``): that walk detects a circular chain
    of IFDs, which tifffile's page-by-page walk of a generic series does not (it would loop
    for ever on a damaged file).
    """
    _check_ifd_chain(tif, src, what)
    if len(tif.pages) == 0 or not tif.series:
        raise InputError(f"{what} holds no image", file=src, field="labels",
                         expected=expected)
    series = tif.series[0]
    page = series.keyframe
    declared = math.prod(int(n) for n in getattr(page, "chunked", ()) or (1,))
    listed = len(getattr(page, "dataoffsets", ()) or ())
    if declared > max(listed, 1024):  # tifffile would visit every missing strip or tile
        raise InputError(
            f"{what}: page {page.index} of {page.imagelength} × {page.imagewidth} pixels "
            f"needs {declared} strips or tiles but lists {listed}", file=src, field="pages",
            expected="an intact TIFF file")
    return series


def _check_ifd_chain(tif, src: str, what: str) -> None:
    """Refuse a TIFF whose chain of pages (IFDs) loops back on itself.

    tifffile looks for a loop only among the first 100 pages while it indexes them, and not at
    all while it walks a generic series page by page: a loop further on never ends.
    """
    fmt = tif.tiff
    if fmt.version not in (42, 43) or tif.is_ndpi:
        return
    fh = tif.filehandle
    pos = fh.tell()
    try:
        fh.seek(4 if fmt.version == 42 else 8)
        offset = struct.unpack(fmt.offsetformat, fh.read(fmt.offsetsize))[0]
        seen: dict[int, int] = {}
        while 0 < offset < fh.size:
            if offset in seen:
                raise InputError(
                    f"the chain of pages of {what} loops: page {len(seen)} points back to "
                    f"page {seen[offset]} (byte {offset})", file=src, field="pages",
                    expected="an intact TIFF file")
            seen[offset] = len(seen)
            fh.seek(offset)
            ntags = struct.unpack(fmt.tagnoformat, fh.read(fmt.tagnosize))[0]
            if ntags > 4096:  # tifffile stops there
                break
            fh.seek(offset + fmt.tagnosize + ntags * fmt.tagsize)
            offset = struct.unpack(fmt.offsetformat, fh.read(fmt.offsetsize))[0]
    except (struct.error, OSError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        # a chain that ends in damage: tifffile stops there too
    finally:
        fh.seek(pos)


def _tiff_metadata(tif) -> dict[str, Any]:
    """Format name, voxel size (m) and phases from a TIFF's tags/descriptions."""
    meta: dict[str, Any] = {}
    page = tif.pages[0]
    tags = page.tags

    def res(name):
        t = tags.get(name)
        if t is None:
            return None
        v = t.value
        try:  # a damaged tag is no resolution
            if isinstance(v, tuple) and len(v) == 2:
                r = v[0] / v[1] if v[1] else None
            else:
                r = float(v)
        except (TypeError, ValueError, ArithmeticError):
            return None
        return r if r is not None and math.isfinite(r) and r > 0 else None

    xres, yres = res("XResolution"), res("YResolution")
    unit_tag = tags.get("ResolutionUnit")
    try:
        res_unit = int(unit_tag.value) if unit_tag is not None else 2
    except (TypeError, ValueError):
        res_unit = 0
    if tif.is_imagej:
        md = tif.imagej_metadata or {}
        meta["format"] = "imagej-tiff"
        meta["imagej"] = {k: v for k, v in md.items() if isinstance(v, (str, int, float))}
        factor = _UNITS.get(str(md.get("unit", "")).strip().lower().replace("\\u00b5", "µ"))
        if factor and xres and yres:
            dx, dy = factor / xres, factor / yres
            if "spacing" in md:
                try:
                    meta["voxel_size"] = (float(md["spacing"]) * factor, dy, dx)
                except (TypeError, ValueError):
                    meta["voxel_size_note"] = (f"the ImageJ spacing {md['spacing']!r} is not "
                                               "a number")
            else:
                meta["voxel_size_note"] = (f"the ImageJ file gives dy = {dy:.4g} m and dx = "
                                           f"{dx:.4g} m but no slice spacing")
        else:
            meta["voxel_size_note"] = (f"the ImageJ unit is {md.get('unit', 'missing')!r}, "
                                       "not a length")
        if "phases" in md:
            meta["phases"] = _json_dict(md["phases"])
        return meta
    if tif.is_ome:
        meta["format"] = "ome-tiff"
        vs = _ome_voxel_size(tif.ome_metadata)
        if vs is not None:
            meta["voxel_size"] = vs
        else:
            meta["voxel_size_note"] = "the OME-XML has no PhysicalSizeX/Y/Z"
        return meta
    meta["format"] = "tiff"
    shaped = tif.shaped_metadata[0] if tif.is_shaped and tif.shaped_metadata else {}
    if isinstance(shaped, Mapping) and "voxel_size_m" in shaped:
        try:
            meta["voxel_size"] = tuple(float(v) for v in shaped["voxel_size_m"])
        except (TypeError, ValueError):
            meta["voxel_size_note"] = (f"the description's voxel_size_m "
                                       f"{shaped['voxel_size_m']!r} is not three numbers")
        if "phases" in shaped:
            meta["phases"] = _json_dict(shaped["phases"])
        return meta
    if res_unit == 3 and xres and yres:  # centimetre
        meta["voxel_size_note"] = (f"the resolution tags give dy = {1e-2 / yres:.4g} m, "
                                   f"dx = {1e-2 / xres:.4g} m but no slice spacing")
    elif xres and yres and res_unit == 2:
        meta["tiff_dpi"] = (float(xres), float(yres))
        meta["voxel_size_note"] = ("the TIFF has only a print resolution in dots per inch "
                                   f"({xres:g} dpi), not a voxel size")
    return meta


def _json_dict(value) -> dict | None:
    if isinstance(value, Mapping):
        return dict(value)
    try:
        out = json.loads(value)
    except (TypeError, ValueError):
        return None
    return out if isinstance(out, dict) else None


def _ome_voxel_size(xml: str | None):
    if not xml:
        return None
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    for el in root.iter():
        if el.tag.endswith("Pixels"):
            out = []
            for ax in ("Z", "Y", "X"):
                v = el.get(f"PhysicalSize{ax}")
                unit = el.get(f"PhysicalSize{ax}Unit", "µm")
                f = _UNITS.get(unit.strip().lower())
                if v is None or f is None:
                    return None
                out.append(float(v) * f)
            return tuple(out)
    return None


def _squeeze_axes(data, axes: str, src: str):
    """Drop length-1 non-spatial axes (then any length-1 axis) down to 3; refuse channels."""
    axes = axes.upper()
    channel_like = "CSTE"
    while data.ndim > 3:
        ones = [i for i, n in enumerate(data.shape) if n == 1]
        pref = [i for i in ones if axes[i] in channel_like] or ones
        if not pref:
            many = [f"{axes[i]}={data.shape[i]}" for i in range(data.ndim)
                    if axes[i] in channel_like]
            raise InputError(f"{data.ndim}D image (axes {axes}, shape {tuple(data.shape)}"
                             f"{', ' + ', '.join(many) if many else ''})", file=src,
                             field="labels",
                             expected="a 3D label map with one channel (z, y, x)")
        i = pref[0]
        data = data[(slice(None),) * i + (0,)]
        axes = axes[:i] + axes[i + 1:]
    chans = [i for i, a in enumerate(axes) if a in "SC" and data.shape[i] > 1]
    if data.ndim == 3 and chans:
        raise InputError(f"a 2D image with {data.shape[chans[0]]} channels (axes {axes})",
                         file=src, field="labels",
                         expected="a 3D label map (z, y, x), not an RGB/multichannel image")
    return data, axes


def _read_slice_header(tifffile, f: str, with_meta: bool):
    """Shape (length-1 axes dropped), dtype and (``with_meta``) metadata of one slice file."""
    with _decoding(f, "the TIFF slice", "an intact TIFF image"), tifffile.TiffFile(f) as tif:
        s = _first_series(tif, f, "the TIFF slice", "one 2D image per file")
        shp = tuple(int(n) for n in s.shape if n != 1) or (1,)
        dt = np.dtype(s.dtype)
        meta = _tiff_metadata(tif) if with_meta else {}
    return shp, dt, meta


def _read_slice(tifffile, f: str, ny: int, nx: int, dt) -> np.ndarray:
    """The pixels of one slice file, checked to be ``(ny, nx)`` of ``dt``."""
    expected = "an intact TIFF image"
    with _decoding(f, "the TIFF slice", expected), tifffile.TiffFile(f) as tif:
        s = _first_series(tif, f, "the TIFF slice", "one 2D image per file")
        if _nbytes(s.shape, s.dtype) != ny * nx * np.dtype(dt).itemsize \
                or np.dtype(s.dtype) != dt:
            raise InputError(f"slice has shape {tuple(s.shape)} of {s.dtype}, the first "
                             f"slice {(ny, nx)} of {dt}", file=f, field="labels",
                             expected="slices of one shape and type")
        with _decoding(f, "the pixels of the TIFF slice", expected):
            return s.asarray().reshape(ny, nx)


def _read_slices(files: list[str], chunks, src: str):
    import tifffile

    _bound_tiff_decoders(tifffile)
    shapes = []
    dtypes = []
    meta: dict[str, Any] = {}
    for k, f in enumerate(files):
        shp, dt, m = _read_slice_header(tifffile, f, k == 0)
        shapes.append(shp)
        dtypes.append(dt)
        if k == 0:
            meta = m
    if len(shapes[0]) != 2:
        raise InputError(f"slice has shape {shapes[0]}", file=files[0], field="labels",
                         expected="one 2D image per file")
    for f, shp, dt in zip(files, shapes, dtypes, strict=True):
        if shp != shapes[0]:
            raise InputError(f"slice has shape {shp}, the first slice {shapes[0]}", file=f,
                             field="labels", expected="slices of one shape")
        if dt != dtypes[0]:
            raise InputError(f"slice is {dt}, the first slice {dtypes[0]}", file=f,
                             field="labels", expected="slices of one type")
    ny, nx = shapes[0]
    dt = dtypes[0]
    if chunks is not None:
        import dask
        import dask.array as da

        def load(f):
            return _read_slice(tifffile, f, ny, nx, dt)

        parts = [da.from_delayed(dask.delayed(load)(f), (ny, nx), dtype=dt) for f in files]
        _check_user_chunks((len(files), ny, nx), chunks, src)
        data = da.stack(parts).rechunk(chunks)
    else:
        declared = _check_fits(src, f"the {len(files)} TIFF slices", (len(files), ny, nx), dt,
                               lazy=_LAZY_HINT)
        with _decoding(src, f"the {len(files)} TIFF slices", "slices that fit in memory",
                       declared=declared):
            data = np.empty((len(files), ny, nx), dtype=dt)
        for i, f in enumerate(files):
            data[i] = _read_slice(tifffile, f, ny, nx, dt)
    meta["format"] = "tiff-slices"
    meta["n_files"] = len(files)
    meta["first_file"] = files[0]
    return data, meta


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, src: str, *,
                 reserved: int = 0) -> bytes:
    """One zip member, read in blocks and stopped at its declared size (zipfile itself checks
    the size and CRC at the end). The declared size, twice (the blocks and their join), is
    checked against the memory first; ``reserved``: bytes this read already holds."""
    what = f"member {info.filename!r}"
    avail = _memory_available()
    if avail is not None and 2 * info.file_size > int(MEMORY_SHARE * avail) - reserved:
        raise InputError(
            f"{what} declares {_fmt_bytes(info.file_size)} uncompressed ({info.compress_size} "
            f"bytes compressed); reading it takes twice that, more than fits in the "
            f"{_fmt_bytes(avail)} of memory available"
            + (f" ({_fmt_bytes(reserved)} already taken by this read)" if reserved else ""),
            file=src, field="member",
            expected="a member that fits in memory; unzip it and read the TIFF with "
                     "chunks=(64, 256, 256) (lazy)")
    parts = []
    total = 0
    with _decoding(src, what, "an intact zip archive", field="member",
                   declared=info.file_size), z.open(info) as fh:
        while True:
            block = fh.read(1 << 22)
            if not block:
                break
            total += len(block)
            if total > info.file_size:  # never with zipfile, which stops there
                raise InputError(f"{what} decompresses to more than its declared "
                                 f"{info.file_size} bytes", file=src, field="member",
                                 expected="an intact zip archive")
            parts.append(block)
    return b"".join(parts)


def _read_zip(p: Path, src: str):
    import tifffile

    _bound_tiff_decoders(tifffile)
    with _decoding(src, "the zip archive", "an intact zip archive"), \
            zipfile.ZipFile(p) as z:
        members = [i for i in z.infolist() if not i.is_dir()
                   and not i.filename.startswith("__MACOSX/")
                   and not os.path.basename(i.filename).startswith(".")]
        tiffs = sorted((i for i in members if Path(i.filename).suffix.lower() in _TIFF),
                       key=lambda i: _natural_key(i.filename))
        if not tiffs:
            raise InputError(f"no TIFF in the archive (members: "
                             f"{[i.filename for i in members][:10]})", file=src,
                             field="path", expected="a .zip holding a TIFF stack or slices")
        if len(tiffs) == 1:
            info = tiffs[0]
            data = _read_member(z, info, src)
            labels, meta = _read_tiff(
                io.BytesIO(data), None, src, what=f"member {info.filename!r}",
                reserved=len(data),
                lazy="unzip it and read the TIFF with chunks=(64, 256, 256) (lazy)")
            del data
            meta["member"] = info.filename
            return labels, meta
        out = None
        meta = {}
        for k, info in enumerate(tiffs):
            what = f"member {info.filename!r}"
            used = 0 if out is None else out.nbytes
            buf = _read_member(z, info, src, reserved=used)
            with _decoding(src, what, "a TIFF slice"), \
                    tifffile.TiffFile(io.BytesIO(buf)) as tif:
                s = _first_series(tif, src, what, "2D slices of one shape")
                shp = tuple(int(n) for n in s.shape if n != 1)
                dt = np.dtype(s.dtype)
                if len(shp) != 2 or (out is not None and (shp != out.shape[1:]
                                                          or dt != out.dtype)):
                    raise InputError(
                        f"{what} has shape {tuple(s.shape)} of {dt}" + (
                            f", the first slice {out.shape[1:]} of {out.dtype}"
                            if out is not None else ""),
                        file=src, field="labels", expected="2D slices of one shape and type")
                if out is None:
                    meta = _tiff_metadata(tif)
                    declared = _check_fits(
                        src, f"the {len(tiffs)} TIFF slices of the archive",
                        (len(tiffs), *shp), dt, reserved=len(buf),
                        lazy="unzip it and read the slices with chunks=(64, 256, 256) (lazy)")
                    with _decoding(src, f"the {len(tiffs)} TIFF slices", "slices that fit "
                                   "in memory", declared=declared):
                        out = np.empty((len(tiffs), *shp), dtype=dt)
                with _decoding(src, f"the pixels of {what}", "a TIFF slice"):
                    out[k] = s.asarray().reshape(shp)
            del buf
    meta.pop("voxel_size", None)
    meta["format"] = "zip-tiff-slices"
    return out, meta


# ---------------------------------------------------------------------------- HDF5


def _read_hdf5(p: Path, dataset, chunks):
    import h5py

    src = str(p)
    expected = "an intact HDF5 file"
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise InputError(f"cannot open as HDF5 ({exc})", file=src, field="path",
                         expected="an HDF5 file") from None
    except (*_DECODER_ERRORS, MemoryError) as exc:
        raise InputError(f"cannot open as HDF5 ({type(exc).__name__}: {str(exc)[:300]})",
                         file=src, field="path", expected="an HDF5 file") from exc
    keep_open = False
    try:
        with _decoding(src, "the HDF5 file", expected):
            found: list[tuple[str, tuple]] = []
            f.visititems(lambda name, obj: found.append((name, tuple(obj.shape or ())))
                         if isinstance(obj, h5py.Dataset) else None)
            if dataset is not None:
                name = dataset.strip("/")
                obj = f.get(name)
                if not isinstance(obj, h5py.Dataset):
                    raise InputError(f"no dataset {dataset!r}", file=src, field="dataset",
                                     expected=f"one of {[n for n, _ in found]}")
            else:
                cands = [n for n, s in found if len(s) in (3, 4, 5)]
                if len(cands) > 1:  # prefer those that can be a label map
                    fit = [n for n, s in found if n in cands
                           and sum(k == 1 for k in s) >= len(s) - 3]
                    cands = fit or cands
                if len(cands) != 1:
                    raise InputError(
                        f"{len(cands)} 3D datasets" + (f": {cands}" if cands else
                                                       f" (datasets: {found[:20]})"),
                        file=src, field="dataset",
                        expected="dataset='path/in/file' naming the label map")
                name = cands[0]
        what = f"the dataset '/{name}'"
        with _decoding(src, what, expected, field="dataset"):
            dset = f[name]
            shape, dtype = tuple(int(n) for n in (dset.shape or ())), np.dtype(dset.dtype)
            meta: dict[str, Any] = {"format": "hdf5", "dataset": "/" + name}
            guard = _HeapGuard(src)
            if dtype.hasobject:  # variable-length strings or sequences: not a label map
                raise InputError(f"{what} holds {dtype} data (strings or sequences)",
                                 file=src, field="labels", expected="integer labels")
            axes = _axistags(_attr(dset.attrs, "axistags", guard))
            if axes and len(axes) == len(shape):
                meta["axistags"] = axes
                meta["format"] = "hdf5-ilastik"
            else:
                axes = None
            vs = None
            for holder in (dset, f):
                vs = _attr_voxel_size(lambda k, h=holder: _attr(h.attrs, k, guard))
                if vs is not None:
                    break
            if vs is not None:
                meta["voxel_size"] = vs
            ph = _attr(dset.attrs, "phases", guard)
            if ph is None:
                ph = _attr(f.attrs, "phases", guard)
            if ph is not None:
                meta["phases"] = _json_dict(ph.decode("utf-8", "replace")
                                            if isinstance(ph, bytes) else ph)
        if axes is not None:
            _check_axes(axes, src, "axistags")
        if chunks is not None:
            import dask.array as da

            if len(shape) == 3:
                _check_user_chunks(shape, chunks, src)
            with _decoding(src, what, expected, field="dataset"):
                data = da.from_array(dset, chunks=chunks if len(shape) == 3 else "auto")
            keep_open = True  # the dask graph reads from the open file
        else:
            declared = _check_fits(src, what, shape, dtype, lazy=_LAZY_HINT)
            with _decoding(src, what, expected, field="dataset"):
                _check_hdf5_chunks(dset, src, what, shape, dtype, declared)
            with _decoding(src, f"the voxels of {what}", expected, field="dataset",
                           declared=declared):
                data = dset[()]
        data = _reorder(data, axes, src)
        if chunks is not None and data.ndim == 3:
            _check_user_chunks(data.shape, chunks, src)
            data = data.rechunk(chunks)
        return data, meta
    finally:
        if not keep_open:
            f.close()


def _attr(attrs, key, guard: _HeapGuard):
    """An HDF5 attribute, or None (also when it cannot be read: damaged metadata is no
    metadata). A variable-length attribute is read only once the file's global heaps are known
    to be sound (``guard``)."""
    try:
        if key not in attrs:
            return None
        if attrs.get_id(key).dtype.hasobject:
            guard.check()
        return attrs[key]
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        if isinstance(exc, InputError):
            raise
        return None


class _HeapGuard:
    """Checks, once per file, the HDF5 global heap collections that variable-length data
    (strings) are read from.

    HDF5 (2.0 and before) loops for ever on a collection holding a free-space object of size 0
    (or an object whose size wraps around): reading a string attribute of such a file never
    returns. The collections (signature ``GCOL``) are found by scanning the file (all of it up
    to 64 MiB, else the first and last 32 MiB, where writers put metadata) and walked as HDF5
    walks them.
    """

    SCAN = 64 * 2**20

    def __init__(self, path: str):
        self.path = path
        self.done = False

    def check(self) -> None:
        if self.done:
            return
        size = os.path.getsize(self.path)
        spans = [(0, size)] if size <= self.SCAN else \
            [(0, self.SCAN // 2), (size - self.SCAN // 2, size)]
        with open(self.path, "rb") as fh:
            for start, stop in spans:
                fh.seek(start)
                buf = fh.read(stop - start)
                i = buf.find(b"GCOL")
                while i >= 0:
                    why = _gcol_damage(fh, start + i, size)
                    if why:
                        raise InputError(
                            f"damaged global heap at byte {start + i}: {why} (HDF5 would "
                            "loop for ever reading its strings)", file=self.path,
                            field="attributes", expected="an intact HDF5 file")
                    i = buf.find(b"GCOL", i + 4)
        self.done = True


def _gcol_damage(fh, at: int, file_size: int) -> str | None:
    """Why the global heap collection at byte ``at`` would hang HDF5, or None."""
    fh.seek(at)
    head = fh.read(16)
    if len(head) < 16 or head[4] != 1:  # not a version-1 collection
        return None
    csize = int.from_bytes(head[8:16], "little")
    if csize <= 16 or at + csize > file_size:  # HDF5 reads nothing, or fails on its own
        return None
    data = head + fh.read(csize - 16)
    p = 16
    while p + 16 <= csize:
        idx = int.from_bytes(data[p:p + 2], "little")
        osize = int.from_bytes(data[p + 8:p + 16], "little")
        need = ((16 + ((osize + 7) & ~7)) if idx else osize) % 2**64  # size_t arithmetic
        if need == 0 or need > csize - p:
            return f"object {idx} at offset {p} declares {osize} bytes"
        p += need
    return None


#: Chunked datasets with more chunks than this, each smaller than _TINY_CHUNK bytes, take
#: longer to read chunk by chunk (about 20 µs each) than their size warrants: refused.
_MAX_CHUNKS = 2**18
_TINY_CHUNK = 16 * 2**10


def _check_chunk_count(src: str, what: str, shape, chunk_shape, dtype) -> None:
    if not chunk_shape or len(chunk_shape) != len(shape) or min(chunk_shape) < 1:
        return
    n = math.prod(-(-int(s) // int(c)) for s, c in zip(shape, chunk_shape, strict=True))
    size = _nbytes(chunk_shape, dtype)
    if n > _MAX_CHUNKS and size < _TINY_CHUNK:
        raise InputError(
            f"{what} is stored in {n} chunks of {tuple(int(c) for c in chunk_shape)} voxels "
            f"({size} bytes each): reading it chunk by chunk would take minutes",
            file=src, field="chunks",
            expected=f"at most {_MAX_CHUNKS} chunks or chunks of {_TINY_CHUNK // 1024} kiB "
                     "and more (rewrite it with larger chunks, e.g. 64³ voxels)")


def _check_hdf5_chunks(dset, src: str, what: str, shape, dtype, declared: int) -> None:
    """Refuse a chunked, filtered dataset whose stored chunks cannot be what they claim.

    HDF5 inflates a compressed chunk in full before it copies the chunk's declared size out,
    so a chunk that stores a decompression bomb would allocate all of it. A chunk stored with
    more bytes than its data (plus the filters' overhead) is damaged or a bomb; and the largest
    stored chunk, inflated at DEFLATE's maximum ratio, must fit beside the volume.
    """
    chunk_shape = dset.chunks
    if chunk_shape is None:
        return
    _check_chunk_count(src, what, shape, chunk_shape, dtype)
    dcpl = dset.id.get_create_plist()
    if dcpl.get_nfilters() == 0:
        return
    chunk_bytes = _nbytes(chunk_shape, dtype)
    sizes = []
    if hasattr(dset.id, "chunk_iter"):
        dset.id.chunk_iter(lambda info: sizes.append(int(info.size)))
    else:  # pragma: no cover - HDF5 < 1.12.3
        for i in range(min(int(dset.id.get_num_chunks()), _MAX_CHUNKS)):
            sizes.append(int(dset.id.get_chunk_info(i).size))
    largest = max(sizes, default=0)
    if largest > chunk_bytes * 1.1 + 4096:
        raise InputError(
            f"{what} stores a chunk of {largest} bytes for {chunk_bytes} bytes of data "
            f"(chunks of {tuple(int(c) for c in chunk_shape)} {dtype}): a damaged chunk or "
            "a decompression bomb", file=src, field="chunks", expected="an intact HDF5 file")
    avail = _memory_available()
    worst = _DEFLATE_RATIO * largest
    if avail is not None and declared + worst > MEMORY_SHARE * avail:
        raise InputError(
            f"{what} has a compressed chunk of {_fmt_bytes(largest)} that could inflate to "
            f"{_fmt_bytes(worst)} while it is decoded; with the volume ({_fmt_bytes(declared)})"
            f" that is more than fits in the {_fmt_bytes(avail)} of memory available",
            file=src, field="chunks",
            expected="smaller chunks (e.g. 64³ voxels), or more memory")


def _axistags(raw) -> str | None:
    """Axis keys (``"zyxc"``) of an Ilastik/vigra ``axistags`` attribute."""
    if raw is None:
        return None
    try:
        tags = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        keys = "".join(str(a["key"]) for a in tags["axes"])
    except (TypeError, ValueError, KeyError):
        return None
    return keys.lower()


def _check_axes(axes: str, src: str, field: str) -> None:
    """Axis keys must be unique (``"zzxc"`` names two z axes and no y)."""
    repeated = sorted({a for a in axes if axes.count(a) > 1})
    if repeated:
        raise InputError(f"the axes {axes!r} repeat {', '.join(map(repr, repeated))}",
                         file=src, field=field,
                         expected="each axis once, e.g. 'zyxc' (z, y, x and a channel axis)")


def _reorder(data, axes: str | None, src: str):
    """Put z, y, x in that order and squeeze channel/time axes of length 1."""
    if axes is None:
        if data.ndim > 3:
            data, _ = _squeeze_axes(data, "Q" * (data.ndim - 2) + "YX", src)
        return data
    _check_axes(axes, src, "axes")
    spatial = [a for a in "zyx" if a in axes]
    others = [i for i, a in enumerate(axes) if a not in "zyx"]
    for i in others:
        if data.shape[i] != 1:
            raise InputError(f"axis {axes[i]!r} has {data.shape[i]} entries (axes {axes}, "
                             f"shape {tuple(data.shape)})", file=src, field="labels",
                             expected="a single-channel label map (probability maps and "
                                      "multichannel data are not label maps)")
    index = tuple(0 if a not in "zyx" else slice(None) for a in axes)
    data = data[index]
    kept = [a for a in axes if a in "zyx"]
    perm = [kept.index(a) for a in spatial]
    if perm != list(range(len(perm))):
        data = data.transpose(perm)
    return data


def _attr_voxel_size(get):
    """Voxel size (m) from the attributes read by ``get(key)`` (None when absent)."""
    for key, factor in (("voxel_size_m", 1.0), ("element_size_um", 1e-6)):
        value = get(key)
        if value is None:
            continue
        try:
            v = np.ravel(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            continue  # an attribute that is not three numbers is no voxel size
        if v.size == 3 and np.all(np.isfinite(v)) and np.all(v > 0):
            return tuple(float(x) * factor for x in v)
    return None


# ---------------------------------------------------------------------------- zarr


def _read_zarr(p: Path, dataset, chunks):
    import zarr

    src = str(p)
    expected = "an intact zarr v2/v3 store"
    try:
        node = zarr.open(str(p), mode="r")
    except Exception as exc:  # zarr raises many types for a broken store
        raise InputError(f"cannot open as zarr ({type(exc).__name__}: {exc})", file=src,
                         field="path", expected="a zarr v2/v3 store") from None
    meta: dict[str, Any] = {"format": "zarr"}
    axes = None
    scale = None
    with _decoding(src, "the zarr store", expected):
        if hasattr(node, "shape"):
            arr = node
            if dataset is not None:
                raise InputError(f"dataset={dataset!r} given for a zarr array", file=src,
                                 field="dataset", expected="dataset only for zarr groups")
        else:
            group = node
            ms = _ngff_multiscales(dict(group.attrs))
            arrays = _zarr_arrays(group)
            if dataset is not None:
                name = dataset.strip("/")
                if name not in arrays:
                    raise InputError(f"no array {dataset!r}", file=src, field="dataset",
                                     expected=f"one of {sorted(arrays)}")
            elif ms is not None and ms[0] in arrays:
                name, axes, scale = ms
                meta["format"] = "ome-zarr"
            else:
                cands = [n for n, a in arrays.items() if a.ndim == 3
                         or (a.ndim in (4, 5) and sum(k == 1 for k in a.shape) >= a.ndim - 3)]
                if len(cands) != 1:
                    raise InputError(f"{len(cands)} 3D arrays in the group: {sorted(cands)}",
                                     file=src, field="dataset",
                                     expected="dataset='name' naming the label map")
                name = cands[0]
            arr = arrays[name]
            meta["dataset"] = name
        attrs = dict(arr.attrs)
        shape, dtype = tuple(int(n) for n in arr.shape), np.dtype(arr.dtype)
        chunk_shape = tuple(int(c) for c in (arr.chunks or ()))
    vs = _attr_voxel_size(attrs.get)
    if vs is None and scale is not None and axes is not None:
        vs = _ngff_voxel_size(axes, scale)
    if vs is not None:
        meta["voxel_size"] = vs
    ph = attrs.get("phases")
    if ph is not None:
        meta["phases"] = _json_dict(ph)
    what = "the zarr array" + (f" {meta['dataset']!r}" if "dataset" in meta else "")
    nbytes = _nbytes(shape, dtype)
    avail = _memory_available()
    small = min(SMALL_BYTES, int(MEMORY_SHARE * avail)) if avail is not None else SMALL_BYTES
    if chunks is None and nbytes <= small:
        _check_chunk_count(src, what, shape, chunk_shape, dtype)
        with _decoding(src, f"the voxels of {what}", expected, field="dataset",
                       declared=nbytes):
            data = np.asarray(arr[...])
    else:
        import dask.array as da

        with _decoding(src, what, expected, field="dataset"):
            data = da.from_zarr(arr, chunks=_dask_chunks(shape, chunk_shape))
    keys = _ngff_axis_keys(axes)
    data = _reorder(data, keys if keys and len(keys) == data.ndim else None, src)
    if chunks is not None and data.ndim == 3:
        _check_user_chunks(data.shape, chunks, src)
        data = data.rechunk(chunks)
    return data, meta


def _ngff_axis_keys(axes) -> str | None:
    """First letters of the OME-NGFF axis names (``"czyx"``), or None when unusable."""
    if not isinstance(axes, list):
        return None
    keys = []
    for a in axes:
        name = a.get("name") if isinstance(a, Mapping) else None
        if not isinstance(name, str) or not name:
            return None
        keys.append(name[0].lower())
    return "".join(keys)


#: At most this many tasks in the dask graph of a stored array (each reads whole chunks).
_MAX_TASKS = 2**15

#: At most this many blocks from the ``chunks=`` a caller gives (a dask graph of more takes
#: gigabytes: a damaged header that declares a huge shape must not get that far).
_MAX_BLOCKS = 2**20


def _check_user_chunks(shape, chunks, src: str) -> None:
    """Refuse ``chunks=`` that would split the (declared) volume into too many blocks."""
    if isinstance(chunks, (int, np.integer)):
        chunks = (int(chunks),) * len(shape)
    if not isinstance(chunks, (tuple, list)) or len(chunks) != len(shape) or not all(
            isinstance(c, (int, np.integer)) and c > 0 for c in chunks):
        return  # "auto", -1, per-axis tuples...: dask's own rules
    n = math.prod(-(-int(s) // int(c)) for s, c in zip(shape, chunks, strict=True))
    if n > _MAX_BLOCKS:
        raise InputError(
            f"chunks={tuple(int(c) for c in chunks)} split the volume of shape "
            f"{tuple(int(s) for s in shape)} into {n} blocks", file=src, field="chunks",
            expected=f"at most {_MAX_BLOCKS} blocks: larger chunks, e.g. (64, 256, 256)")


def _dask_chunks(shape, chunk_shape):
    """Dask chunks for a stored array: its own, or whole multiples of them when they are so
    small that one task per chunk would make a huge graph."""
    if not chunk_shape or len(chunk_shape) != len(shape) or min(chunk_shape) < 1:
        return "auto"
    shape = [int(s) for s in shape]
    ch = [max(min(int(c), s), 1) for c, s in zip(chunk_shape, shape, strict=True)]

    def counts():
        return [-(-s // c) for s, c in zip(shape, ch, strict=True)]

    while math.prod(counts()) > _MAX_TASKS:  # double along the axis with the most chunks
        k = int(np.argmax(counts()))
        ch[k] = min(2 * ch[k], shape[k])
    return tuple(ch)


def _zarr_arrays(group, prefix: str = "") -> dict:
    out = {}
    for name, a in group.arrays():
        out[prefix + name] = a
    for name, g in group.groups():
        out.update(_zarr_arrays(g, prefix + name + "/"))
    return out


def _ngff_multiscales(attrs):
    ome = attrs.get("ome")
    ms = attrs.get("multiscales") or (ome.get("multiscales") if isinstance(ome, Mapping)
                                      else None)
    if not ms:
        return None
    try:
        first = ms[0]
        ds = first["datasets"][0]
        axes = first.get("axes")
        if axes and isinstance(axes[0], str):
            axes = [{"name": a} for a in axes]
        scale = None
        for t in ds.get("coordinateTransformations", []):
            if t.get("type") == "scale":
                scale = t["scale"]
        return str(ds["path"]), axes, scale
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _ngff_voxel_size(axes, scale):
    out = {}
    try:
        for a, s in zip(axes, scale, strict=False):
            name = str(a.get("name", "")).lower()
            if name in ("z", "y", "x"):
                f = _UNITS.get(str(a.get("unit", "")).lower())
                if f is None:
                    return None
                out[name] = float(s) * f
    except (AttributeError, TypeError, ValueError):
        return None  # damaged metadata is no voxel size
    if len(out) != 3:
        return None
    return (out["z"], out["y"], out["x"])


# --------------------------------------------------------------------------- writing


def write_volume(
    volume,
    path,
    *,
    voxel_size=None,
    phases: Mapping[str, int] | None = None,
    overwrite: bool = False,
    dataset: str = "labels",
    chunks=None,
    compression: bool = True,
) -> Path:
    """Write a label volume to TIFF, HDF5, zarr or raw, atomically.

    Parameters
    ----------
    volume : Volume or array_like
        Labels ``(z, y, x)`` (numpy or dask; dask arrays are written block by block).
    path : str or path-like
        ``.tif``/``.tiff``, ``.h5``/``.hdf5``, ``.zarr`` (a directory) or ``.raw``.
    voxel_size : float, str or sequence of 3, optional
        ``(dz, dy, dx)``, m; required for plain arrays, overrides a Volume's.
    phases : dict, optional
        Phase names to store (default: the Volume's).
    overwrite : bool
        Replace an existing ``path`` (the new file is complete before the old one goes).
    dataset : str
        HDF5 dataset / zarr array name (HDF5 only; zarr writes a single array).
    chunks : tuple of int, optional
        HDF5/zarr chunk shape (default: up to 64³).
    compression : bool
        zlib/gzip compression for TIFF, HDF5 and zarr.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        Existing path without ``overwrite``, unknown extension, bad labels or voxel size.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "v.h5")
    >>> write_volume(np.ones((3, 4, 5), np.uint8), p, voxel_size=(50e-9, 20e-9, 20e-9)).name
    'v.h5'
    """
    if isinstance(volume, Volume):
        labels = volume.labels
        vs = voxel_size_3(volume.voxel_size if voxel_size is None else voxel_size)
        phases = dict(volume.phases) if phases is None else dict(phases)
        origin = volume.origin
    else:
        labels = volume if hasattr(volume, "dtype") else np.asarray(volume)
        vs = voxel_size_3(voxel_size)
        phases = dict(phases or {})
        origin = (0.0, 0.0, 0.0)
    labels = check_labels(labels)
    if labels.dtype == bool:
        labels = labels.astype(np.uint8)
    p = Path(os.fspath(path))
    if p.exists() and not overwrite:
        raise InputError("file exists", file=str(p), field="path",
                         expected="a new name, or overwrite=True")
    if not p.parent.is_dir():
        raise InputError("folder does not exist", file=str(p), field="path",
                         expected="a path in an existing folder")
    suffix = p.suffix.lower()
    attrs = {"voxel_size_m": [float(v) for v in vs],
             "element_size_um": [float(v) * 1e6 for v in vs],
             "phases": json.dumps(phases), "origin_m": [float(o) for o in origin],
             "axes": "zyx", "writer": f"ionscale {_version()}"}
    if suffix in _TIFF:
        with _atomic_file(p) as tmp:
            _write_tiff(labels, tmp, vs, phases, compression)
    elif suffix in _HDF5:
        with _atomic_file(p) as tmp:
            _write_hdf5(labels, tmp, attrs, dataset, chunks, compression)
    elif suffix == ".zarr":
        with _atomic_dir(p) as tmp:
            _write_zarr(labels, tmp, attrs, chunks, compression)
    elif suffix in _RAW:
        with _atomic_file(p) as tmp:
            _write_raw(labels, tmp)
    else:
        raise InputError(f"cannot write {suffix or 'files without extension'}", file=str(p),
                         field="path", expected=".tif, .h5, .zarr or .raw")
    return p


def _version() -> str:
    from .. import __version__

    return __version__


@contextmanager
def _atomic_file(path: Path):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def _atomic_dir(path: Path):
    tmp = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        yield tmp
        if path.exists():
            old = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old")
            os.rmdir(old)
            os.replace(path, old)  # the old store goes only once the new one is in place
            os.replace(tmp, path)
            if os.path.isdir(old):
                shutil.rmtree(old)
            else:
                os.unlink(old)
        else:
            os.replace(tmp, path)
        os.chmod(path, 0o755)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _slices(labels):
    for i in range(labels.shape[0]):
        yield np.ascontiguousarray(np.asarray(labels[i]))


def _write_tiff(labels, tmp, vs, phases, compression):
    import tifffile

    dt = np.dtype(labels.dtype)
    dz, dy, dx = (float(v) for v in vs)
    comp = "zlib" if compression else None
    if dt in (np.dtype(np.uint8), np.dtype(np.uint16)):
        tifffile.imwrite(
            tmp, _slices(labels), shape=labels.shape, dtype=dt, imagej=True,
            resolution=(1e-6 / dx, 1e-6 / dy),
            metadata={"axes": "ZYX", "unit": "um", "spacing": dz * 1e6,
                      "phases": json.dumps(phases)},
            compression=comp)
    else:
        tifffile.imwrite(
            tmp, _slices(labels), shape=labels.shape, dtype=dt,
            resolution=(1e-2 / dx, 1e-2 / dy), resolutionunit="CENTIMETER",
            metadata={"axes": "ZYX", "voxel_size_m": [dz, dy, dx], "phases": phases},
            compression=comp)


def _chunk_shape(shape, chunks):
    if chunks is not None:
        return tuple(int(c) for c in chunks)
    return tuple(min(64, int(n)) for n in shape)


def _write_hdf5(labels, tmp, attrs, dataset, chunks, compression):
    import h5py

    with h5py.File(tmp, "w") as f:
        d = f.create_dataset(dataset, shape=labels.shape, dtype=labels.dtype,
                             chunks=_chunk_shape(labels.shape, chunks),
                             compression="gzip" if compression else None)
        _store(labels, d)
        for k, v in attrs.items():
            d.attrs[k] = v


def _write_zarr(labels, tmp, attrs, chunks, compression):
    import zarr

    kwargs: dict[str, Any] = {}
    if not compression:
        kwargs["compressors"] = None
    shape, chunk = labels.shape, _chunk_shape(labels.shape, chunks)
    if hasattr(zarr, "create_array"):  # zarr 3
        arr = zarr.create_array(store=tmp, shape=shape, dtype=labels.dtype, chunks=chunk,
                                overwrite=True, **kwargs)
    else:  # pragma: no cover - zarr 2
        arr = zarr.open_array(tmp, mode="w", shape=shape, dtype=labels.dtype, chunks=chunk,
                              **({"compressor": None} if not compression else {}))
    _store(labels, arr)
    arr.attrs.update(attrs)


def _store(labels, target):
    if type(labels).__module__.split(".")[0] == "dask":
        import dask.array as da

        da.store(labels, target, lock=True)
    else:
        for i in range(labels.shape[0]):  # slab by slab: no copy of a memmap
            target[i] = np.asarray(labels[i])


def _write_raw(labels, tmp):
    with open(tmp, "wb") as fh:
        for sl in _slices(labels):
            fh.write(sl.tobytes(order="C"))
        fh.flush()
        os.fsync(fh.fileno())
