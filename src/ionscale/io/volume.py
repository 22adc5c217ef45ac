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
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
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
        dataset not found, no voxel size.

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
            labels, meta = np.load(target, mmap_mode="r"), {"format": "npy"}
        if dataset is not None and kind not in ("hdf5", "zarr"):
            raise InputError(f"dataset={dataset!r} given for a {kind} file", file=src,
                             field="dataset", expected="dataset only for HDF5 and zarr")
    if chunks is not None:
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
    with open(p, "rb") as fh:
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
    need = int(offset) + int(np.prod(shp)) * dt.itemsize
    size = p.stat().st_size
    if size != need:
        raise InputError(
            f"file has {size} bytes; shape {shp} of {dt} ({dt.itemsize} B each)"
            + (f" after a {offset}-byte header" if offset else "") + f" needs {need} bytes",
            file=src, field="shape", expected=f"a file of exactly {need} bytes, or the "
                                              "right shape/dtype/offset")
    arr = np.memmap(p, dtype=dt, mode="r", shape=shp, order=order, offset=int(offset))
    return arr, {"format": "raw", "dtype": dt.str, "order": order, "offset": int(offset)}


# ---------------------------------------------------------------------------- TIFF


def _read_tiff(target, chunks, src: str):
    import tifffile

    with tifffile.TiffFile(target) as tif:
        series = tif.series[0]
        axes = series.axes
        meta = _tiff_metadata(tif)
        if chunks is not None and isinstance(target, (str, os.PathLike)):
            import dask.array as da
            import zarr

            store = tifffile.imread(target, aszarr=True, series=0)
            data = da.from_zarr(zarr.open(store, mode="r"))
        else:
            data = series.asarray()
    data, axes = _squeeze_axes(data, axes, src)
    meta["axes"] = axes
    return data, meta


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
        if isinstance(v, tuple) and len(v) == 2:
            return v[0] / v[1] if v[1] else None
        return float(v)

    xres, yres = res("XResolution"), res("YResolution")
    unit_tag = tags.get("ResolutionUnit")
    res_unit = int(unit_tag.value) if unit_tag is not None else 2
    if tif.is_imagej:
        md = tif.imagej_metadata or {}
        meta["format"] = "imagej-tiff"
        meta["imagej"] = {k: v for k, v in md.items() if isinstance(v, (str, int, float))}
        factor = _UNITS.get(str(md.get("unit", "")).strip().lower().replace("\\u00b5", "µ"))
        if factor and xres and yres:
            dx, dy = factor / xres, factor / yres
            if "spacing" in md:
                meta["voxel_size"] = (float(md["spacing"]) * factor, dy, dx)
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
    if "voxel_size_m" in shaped:
        meta["voxel_size"] = tuple(float(v) for v in shaped["voxel_size_m"])
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


def _read_slices(files: list[str], chunks, src: str):
    import tifffile

    shapes = []
    dtypes = []
    for f in files:
        with tifffile.TiffFile(f) as tif:
            s = tif.series[0]
            shp = tuple(n for n in s.shape if n != 1) or (1,)
            shapes.append(shp)
            dtypes.append(np.dtype(s.dtype))
            if f == files[0]:
                meta = _tiff_metadata(tif)
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
            return tifffile.imread(f).reshape(ny, nx)

        parts = [da.from_delayed(dask.delayed(load)(f), (ny, nx), dtype=dt) for f in files]
        data = da.stack(parts).rechunk(chunks)
    else:
        data = np.empty((len(files), ny, nx), dtype=dt)
        for i, f in enumerate(files):
            data[i] = tifffile.imread(f).reshape(ny, nx)
    meta["format"] = "tiff-slices"
    meta["n_files"] = len(files)
    meta["first_file"] = files[0]
    return data, meta


def _read_zip(p: Path, src: str):
    import tifffile

    with zipfile.ZipFile(p) as z:
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
            data = z.read(tiffs[0])
            labels, meta = _read_tiff(io.BytesIO(data), None, src)
            del data
            meta["member"] = tiffs[0].filename
            return labels, meta
        slices = []
        meta = {}
        for k, info in enumerate(tiffs):
            with tifffile.TiffFile(io.BytesIO(z.read(info))) as tif:
                if k == 0:
                    meta = _tiff_metadata(tif)
                img = tif.asarray()
            img = np.squeeze(img)
            if img.ndim != 2 or (slices and img.shape != slices[0].shape):
                raise InputError(f"member {info.filename} has shape {img.shape}", file=src,
                                 field="labels", expected="2D slices of one shape")
            slices.append(img)
    meta.pop("voxel_size", None)
    meta["format"] = "zip-tiff-slices"
    return np.stack(slices), meta


# ---------------------------------------------------------------------------- HDF5


def _read_hdf5(p: Path, dataset, chunks):
    import h5py

    src = str(p)
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise InputError(f"cannot open as HDF5 ({exc})", file=src, field="path",
                         expected="an HDF5 file") from None
    keep_open = False
    try:
        found: list[tuple[str, tuple]] = []
        f.visititems(lambda name, obj: found.append((name, obj.shape))
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
                                                   f" (datasets: {found})"),
                    file=src, field="dataset",
                    expected="dataset='path/in/file' naming the label map")
            name = cands[0]
        dset = f[name]
        meta: dict[str, Any] = {"format": "hdf5", "dataset": "/" + name}
        axes = _axistags(dset.attrs.get("axistags"))
        if axes and len(axes) == dset.ndim:
            meta["axistags"] = axes
            meta["format"] = "hdf5-ilastik"
        vs = None
        for holder in (dset, f):
            vs = _attr_voxel_size(holder.attrs)
            if vs is not None:
                break
        if vs is not None:
            meta["voxel_size"] = vs
        ph = dset.attrs.get("phases", f.attrs.get("phases"))
        if ph is not None:
            meta["phases"] = _json_dict(ph.decode() if isinstance(ph, bytes) else ph)
        if chunks is not None:
            import dask.array as da

            data = da.from_array(dset, chunks=chunks if dset.ndim == 3 else "auto")
            keep_open = True  # the dask graph reads from the open file
        else:
            data = dset[()]
        data = _reorder(data, axes if axes and len(axes) == dset.ndim else None, src)
        if chunks is not None and data.ndim == 3:
            data = data.rechunk(chunks)
        return data, meta
    finally:
        if not keep_open:
            f.close()


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


def _reorder(data, axes: str | None, src: str):
    """Put z, y, x in that order and squeeze channel/time axes of length 1."""
    if axes is None:
        if data.ndim > 3:
            data, _ = _squeeze_axes(data, "Q" * (data.ndim - 2) + "YX", src)
        return data
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


def _attr_voxel_size(attrs):
    for key, factor in (("voxel_size_m", 1.0), ("element_size_um", 1e-6)):
        if key in attrs:
            v = np.ravel(np.asarray(attrs[key], dtype=float))
            if v.size == 3 and np.all(np.isfinite(v)) and np.all(v > 0):
                return tuple(float(x) * factor for x in v)
    return None


# ---------------------------------------------------------------------------- zarr


def _read_zarr(p: Path, dataset, chunks):
    import zarr

    src = str(p)
    try:
        node = zarr.open(str(p), mode="r")
    except Exception as exc:  # zarr raises many types for a broken store
        raise InputError(f"cannot open as zarr ({type(exc).__name__}: {exc})", file=src,
                         field="path", expected="a zarr v2/v3 store") from None
    meta: dict[str, Any] = {"format": "zarr"}
    axes = None
    scale = None
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
    vs = _attr_voxel_size(dict(arr.attrs))
    if vs is None and scale is not None and axes is not None:
        vs = _ngff_voxel_size(axes, scale)
    if vs is not None:
        meta["voxel_size"] = vs
    ph = arr.attrs.get("phases")
    if ph is not None:
        meta["phases"] = _json_dict(ph)
    nbytes = int(np.prod(arr.shape)) * np.dtype(arr.dtype).itemsize
    if chunks is None and nbytes <= SMALL_BYTES:
        data = np.asarray(arr[...])
    else:
        import dask.array as da

        data = da.from_zarr(arr)
    keys = "".join(a.get("name", "?")[0].lower() for a in axes) if axes else None
    data = _reorder(data, keys if keys and len(keys) == data.ndim else None, src)
    if chunks is not None:
        data = data.rechunk(chunks)
    return data, meta


def _zarr_arrays(group, prefix: str = "") -> dict:
    out = {}
    for name, a in group.arrays():
        out[prefix + name] = a
    for name, g in group.groups():
        out.update(_zarr_arrays(g, prefix + name + "/"))
    return out


def _ngff_multiscales(attrs):
    ms = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
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
        return ds["path"], axes, scale
    except (KeyError, IndexError, TypeError):
        return None


def _ngff_voxel_size(axes, scale):
    out = {}
    for a, s in zip(axes, scale, strict=False):
        name = str(a.get("name", "")).lower()
        if name in ("z", "y", "x"):
            f = _UNITS.get(str(a.get("unit", "")).lower())
            if f is None:
                return None
            out[name] = float(s) * f
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
