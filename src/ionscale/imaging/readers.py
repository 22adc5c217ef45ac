"""Reading and writing image stacks (FIB-SEM series) with their pixel size.

Accepted inputs (:func:`read_stack`)
-----------------------------------
* **One TIFF per slice**: a folder, a glob (``"run/slice_*.tif"``) or a list of files, in
  natural order (``s2`` before ``s10``). Every slice must have the first one's shape (the
  error names the slice that differs); when the names carry slice numbers, a gap in the
  numbering is a missing slice and an error (``allow_gaps=True`` accepts it).
* **A multi-page TIFF** (ImageJ hyperstack, tifffile, Zeiss Atlas/SmartSEM or FEI export):
  ``(z, y, x)``, or ``(z, c, y, x)`` for ImageJ hyperstacks with channels (SE and BSE).
* **HDF5** (``.h5``, ``.hdf5``) **or zarr** (``.zarr``, a v2/v3 store): the array
  ``dataset=`` (or the only 3D/4D one), ``(z, y, x)`` or ``(z, c, y, x)``, read **lazily**:
  :attr:`ImageStack.data` is a :class:`LazyArray` that reads the slices asked for (the
  features, the segmentation and the alignment take a block of slices at a time); steps that
  need the whole stack (destriping) read it into memory. The voxel size comes from the
  ``element_size_um`` (z, y, x in µm, as Fiji and Ilastik write it) or ``voxel_size_m``
  attribute, else ``pixel_size_m`` (and ``slice_thickness_m``), on the array or its file.

The pixel size comes from, in this order: ``pixel_size=`` (always wins; the file's value is
kept in ``metadata["file_pixel_size"]``); ionscale's own JSON description (``pixel_size_m``,
``slice_thickness_m``, ``origin_m``); ImageJ (X/YResolution with ``unit``, and ``spacing``
for the slice thickness); Zeiss SmartSEM/Atlas (``CZ_SEM`` tag, "Image Pixel Size"); FEI/Thermo
(``[Scan] PixelWidth/PixelHeight``, m); resolution tags in centimetres. Dots-per-inch tags are
ignored (72 dpi is a print default, not a size). No pixel size is an error naming the file,
never a silent default. The slice thickness may stay unknown (``None``) until the shear
correction needs it.
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .image import Image, ImageStack

__all__ = ["LazyArray", "read_image", "read_stack", "write_stack"]

_UNITS = {"m": 1.0, "meter": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "μm": 1e-6,
          "micron": 1e-6, "microns": 1e-6, "micrometer": 1e-6, "nm": 1e-9, "nanometer": 1e-9,
          "pm": 1e-12, "\\u00b5m": 1e-6}
_TIFF = (".tif", ".tiff")
_HDF5 = (".h5", ".hdf5")


def _natural_key(path: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", Path(path).name)]


def _slice_number(path: str) -> int | None:
    nums = re.findall(r"\d+", Path(path).stem)
    return int(nums[-1]) if nums else None


def _length(value: str) -> float | None:
    """'20.5 nm' / '0.02 µm' → metres."""
    m = re.match(r"\s*([-+0-9.eE]+)\s*([a-zA-Zµμ\\0-9]+)", str(value))
    if not m:
        return None
    unit = _UNITS.get(m.group(2).lower().replace("μ", "µ"))
    try:
        return float(m.group(1)) * unit if unit else None
    except ValueError:
        return None


def _metadata_sizes(tif, page) -> dict[str, Any]:
    """Pixel size (dy, dx), slice thickness and origin found in a TIFF, with their source."""
    found: dict[str, Any] = {}
    desc = page.tags.get("ImageDescription")
    meta = _ionscale_info(tif)
    if not meta and desc is not None and isinstance(desc.value, str) and \
            desc.value.lstrip().startswith("{"):
        try:
            meta = json.loads(desc.value)
        except ValueError:
            meta = {}
    if meta:
        if isinstance(meta, dict) and "pixel_size_m" in meta:
            px = np.broadcast_to(np.asarray(meta["pixel_size_m"], float), 2)
            found.update(pixel_size=(float(px[0]), float(px[1])), source="ionscale")
            if meta.get("slice_thickness_m"):
                found["slice_thickness"] = float(meta["slice_thickness_m"])
            if meta.get("origin_m"):
                found["origin"] = tuple(float(v) for v in meta["origin_m"])
            if meta.get("channels"):
                found["channels"] = tuple(str(c) for c in meta["channels"])
            if meta.get("history"):
                found["history"] = meta["history"]
            return found
    ij = tif.imagej_metadata or {}
    if ij:
        unit = str(ij.get("unit", "")).strip().lower().replace("\\u00b5", "µ")
        scale = _UNITS.get(unit.replace("μ", "µ"))
        xr, yr = page.tags.get("XResolution"), page.tags.get("YResolution")
        if scale and xr is not None and yr is not None:
            rx = xr.value[0] / xr.value[1] if xr.value[1] else 0
            ry = yr.value[0] / yr.value[1] if yr.value[1] else 0
            if rx > 0 and ry > 0:
                found.update(pixel_size=(scale / ry, scale / rx), source="imagej")
                if ij.get("spacing"):
                    found["slice_thickness"] = float(ij["spacing"]) * scale
                return found
    sem = getattr(tif, "sem_metadata", None)
    if sem:
        for key in ("ap_image_pixel_size", "ap_pixel_size"):
            v = sem.get(key)
            if v is not None:
                text = v[1] if isinstance(v, (tuple, list)) and len(v) > 1 else v
                size = _length(str(text))
                if size:
                    found.update(pixel_size=(size, size), source="zeiss")
                    return found
    fei = getattr(tif, "fei_metadata", None)
    if fei:
        scan = fei.get("Scan") or fei.get("EScan") or {}
        w, h = scan.get("PixelWidth"), scan.get("PixelHeight")
        if w:
            found.update(pixel_size=(float(h or w), float(w)), source="fei")
            return found
    unit_tag = page.tags.get("ResolutionUnit")
    xr, yr = page.tags.get("XResolution"), page.tags.get("YResolution")
    if unit_tag is not None and int(unit_tag.value) == 3 and xr is not None and yr is not None:
        rx = xr.value[0] / xr.value[1] if xr.value[1] else 0
        ry = yr.value[0] / yr.value[1] if yr.value[1] else 0
        if rx > 0 and ry > 0:
            found.update(pixel_size=(1e-2 / ry, 1e-2 / rx), source="resolution (cm)")
    return found


def _open(path: str):
    import tifffile

    try:
        return tifffile.TiffFile(path)
    except FileNotFoundError:
        raise InputError("file not found", file=path, field="path",
                         expected="an existing TIFF file") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError, RuntimeError) as exc:
        raise InputError(f"cannot read as TIFF ({type(exc).__name__}: {str(exc)[:200]})",
                         file=path, field="path", expected="a TIFF image") from None


def _files(source) -> list[str]:
    if isinstance(source, (list, tuple)):
        files = [os.fspath(f) for f in source]
    else:
        s = os.fspath(source)
        if os.path.isdir(s):
            files = [str(p) for p in Path(s).iterdir() if p.suffix.lower() in _TIFF]
        elif any(ch in s for ch in "*?["):
            files = glob.glob(s)
        else:
            return [s]
    files = sorted(files, key=_natural_key)
    if not files:
        raise InputError("no TIFF slice found", file=os.fspath(source) if not isinstance(
            source, (list, tuple)) else None, field="path",
            expected="a folder or glob of .tif/.tiff slices, or a multi-page TIFF")
    return files


def _check_gaps(files: list[str]) -> None:
    nums = [_slice_number(f) for f in files]
    if any(n is None for n in nums) or len(set(nums)) != len(nums):
        return
    for a, b, fa, fb in zip(nums[:-1], nums[1:], files[:-1], files[1:], strict=True):
        if b - a > 1:
            missing = list(range(a + 1, b))
            shown = ", ".join(str(m) for m in missing[:5]) + ("…" if len(missing) > 5 else "")
            raise InputError(f"slice{'s' if len(missing) > 1 else ''} {shown} missing between "
                             f"{Path(fa).name} and {Path(fb).name}", file=fb, field="slices",
                             expected="consecutively numbered slices (or allow_gaps=True "
                             "when slices were dropped on purpose)")


class LazyArray:
    """A ``(z, y, x)`` or ``(z, c, y, x)`` array on disk (an h5py dataset or a zarr array),
    read when indexed.

    Indexing (``a[k]``, ``a[z0:z1]``, ``a[z0:z1, c]``) reads only the voxels asked for and
    returns a numpy array; ``np.asarray(a)`` reads the whole array slice by slice. The open
    file is kept for the object's lifetime (:meth:`close` releases it).

    Parameters
    ----------
    array : h5py.Dataset or zarr.Array
        The stored array (anything with ``shape``, ``dtype`` and numpy-style indexing).
    source : str, optional
        The file, for messages.
    handle : object, optional
        The open file to keep (and close in :meth:`close`).
    """

    def __init__(self, array, *, source: str | None = None, handle=None) -> None:
        self._array = array
        self._handle = handle
        self.source = source
        self.shape = tuple(int(n) for n in array.shape)
        self.dtype = np.dtype(array.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"LazyArray(shape={self.shape}, dtype={self.dtype}, source={self.source!r})"

    def _basic(self, key) -> tuple | None:
        """``key`` as a tuple of non-negative ints and forward slices, or None when it is not
        such a basic index."""
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            if sum(k is Ellipsis for k in key) > 1:
                return None
            i = next(j for j, k in enumerate(key) if k is Ellipsis)
            fill = (slice(None),) * (self.ndim - len(key) + 1)
            key = key[:i] + fill + key[i + 1:]
        if len(key) > self.ndim:
            return None
        out = []
        for k, n in zip(key, self.shape, strict=False):
            if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
                if not -n <= int(k) < n:
                    raise IndexError(f"index {int(k)} for an axis of {n}")
                out.append(int(k) % n)
            elif isinstance(k, slice):
                start, stop, step = k.indices(n)
                if step < 1:
                    return None
                out.append(slice(start, max(start, stop), step))
            else:
                return None
        return tuple(out)

    def __getitem__(self, key) -> np.ndarray:
        basic = self._basic(key)
        if basic is None:
            return np.asarray(self)[key]
        if any(isinstance(k, slice) and k.start == k.stop for k in basic):
            shape = [len(range(*k.indices(n))) for k, n in zip(basic, self.shape,
                                                               strict=False)
                     if isinstance(k, slice)] + list(self.shape[len(basic):])
            return np.empty(shape, self.dtype)
        return np.asarray(self._array[basic])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.empty(self.shape, self.dtype)
        for k in range(self.shape[0]):
            out[k] = self._array[k]
        return out if dtype is None else out.astype(dtype)

    def reshape(self, *shape) -> np.ndarray:
        """The whole array read into memory, reshaped."""
        return np.asarray(self).reshape(*shape)

    def astype(self, dtype, **kwargs) -> np.ndarray:
        """The whole array read into memory, converted."""
        return np.asarray(self).astype(dtype, **kwargs)

    def close(self) -> None:
        """Close the file (the array can no longer be read)."""
        if self._handle is not None and hasattr(self._handle, "close"):
            self._handle.close()
        self._handle = None


def _is_store(source) -> bool:
    if isinstance(source, (list, tuple)):
        return False
    s = os.fspath(source).rstrip("/\\")
    return Path(s).suffix.lower() in (*_HDF5, ".zarr")


def _attrs_sizes(*attr_sets) -> dict[str, Any]:
    """Pixel size, slice thickness and their source from HDF5/zarr attributes (the array's
    first, then its file's)."""
    from ..io.volume import _attr_voxel_size

    for attrs in attr_sets:
        get = attrs.get
        vs = _attr_voxel_size(get)
        if vs is not None:
            return {"pixel_size": (vs[1], vs[2]), "slice_thickness": vs[0],
                    "source": "attributes (z, y, x)"}
        px = get("pixel_size_m")
        if px is not None:
            try:
                v = np.ravel(np.asarray(px, float))
            except (TypeError, ValueError):
                continue
            if v.size in (1, 2) and np.all(np.isfinite(v)) and np.all(v > 0):
                v = np.broadcast_to(v, 2)
                found: dict[str, Any] = {"pixel_size": (float(v[0]), float(v[1])),
                                         "source": "attributes (pixel_size_m)"}
                try:
                    dz = float(np.ravel(np.asarray(get("slice_thickness_m"), float))[0])
                    if math.isfinite(dz) and dz > 0:
                        found["slice_thickness"] = dz
                except (TypeError, ValueError, IndexError):
                    pass
                return found
    return {}


def _open_store(path: str, dataset: str | None) -> tuple[Any, Any, str, list[dict]]:
    """(array, open file handle, dataset name, [array attrs, file attrs]) of an HDF5 file or a
    zarr store."""
    is_h5 = Path(path.rstrip("/\\")).suffix.lower() in _HDF5
    kind = "HDF5" if is_h5 else "zarr"
    expected = ("an HDF5 file (.h5, .hdf5)" if is_h5 else "a zarr store (.zarr)")
    if not os.path.exists(path):
        raise InputError("file not found", file=path, field="path", expected=expected)
    arrays: dict[str, Any] = {}
    try:
        if is_h5:
            import h5py

            handle = h5py.File(path, "r")

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    arrays[name] = obj

            handle.visititems(visit)
        else:
            import zarr

            handle = zarr.open(path, mode="r")
            if hasattr(handle, "shape"):
                arrays[""] = handle
            else:
                def walk(group, prefix):
                    for name, arr in group.arrays():
                        arrays[prefix + name] = arr
                    for name, sub in group.groups():
                        walk(sub, prefix + name + "/")

                walk(handle, "")
    except ImportError:
        raise InputError(f"reading {kind} needs {'h5py' if is_h5 else 'zarr'}", file=path,
                         field="path", expected=f"install {'h5py' if is_h5 else 'zarr'}"
                         ) from None
    except Exception as exc:  # h5py and zarr raise many types for a broken file
        raise InputError(f"cannot open as {kind} ({type(exc).__name__}: {str(exc)[:200]})",
                         file=path, field="path", expected=expected) from None
    if dataset is not None:
        name = str(dataset).strip("/")
        if name not in arrays:
            raise InputError(f"no dataset {dataset!r}", file=path, field="dataset",
                             expected=f"one of {sorted(arrays) or '(none: the file is empty)'}")
    elif "" in arrays:
        name = ""
    else:
        cands = sorted(n for n, a in arrays.items() if len(a.shape) in (3, 4))
        if len(cands) != 1:
            raise InputError(f"{len(cands)} 3D/4D datasets ({', '.join(cands) or 'none'})",
                             file=path, field="dataset",
                             expected="dataset='name' naming the image stack")
        name = cands[0]
    arr = arrays[name]
    file_attrs = dict(handle.attrs) if name else {}
    return arr, handle, name, [dict(arr.attrs), file_attrs]


def _read_store(path: str, dataset, pixel_size, slice_thickness, channels) -> ImageStack:
    from .image import pixel_size_2

    arr, handle, name, attr_sets = _open_store(path, dataset)
    shape = tuple(int(n) for n in arr.shape)
    dtype = np.dtype(arr.dtype)
    if len(shape) not in (3, 4) or dtype.kind not in "uif":
        if hasattr(handle, "close"):
            handle.close()
        raise InputError(f"dataset {name!r} of shape {shape} and type {dtype}",
                         file=path, field="dataset",
                         expected="a 3D (z, y, x) or 4D (z, c, y, x) array of grey levels")
    found = _attrs_sizes(*attr_sets)
    meta: dict[str, Any] = {"dataset": name, "lazy": True}
    if pixel_size is not None:
        if "pixel_size" in found:
            meta["file_pixel_size"] = list(found["pixel_size"])
        px = pixel_size_2(pixel_size, source=path)
        meta["pixel_size_source"] = "given"
    elif "pixel_size" in found:
        px = found["pixel_size"]
        meta["pixel_size_source"] = found["source"]
    else:
        if hasattr(handle, "close"):
            handle.close()
        raise InputError(f"no pixel size in the attributes of {name or 'the array'!r}",
                         file=path, field="pixel_size",
                         expected="pixel_size= (e.g. '5 nm', or (dy, dx) in m), or an "
                         "element_size_um / voxel_size_m / pixel_size_m attribute")
    dz = slice_thickness if slice_thickness is not None else found.get("slice_thickness")
    data = LazyArray(arr, source=path, handle=handle)
    chans = tuple(channels) if channels else ("intensity",)
    return ImageStack(data, px, dz, (0.0, 0.0, 0.0), chans, source=path, metadata=meta)


def read_stack(source, *, pixel_size=None, slice_thickness=None, channels=None,
               allow_gaps: bool = False, dataset: str | None = None) -> ImageStack:
    """Read a FIB-SEM (or any serial-section) stack with its pixel size.

    Parameters
    ----------
    source : path, glob or list of paths
        A multi-page TIFF, a folder of TIFF slices, a glob or a list of slice files; or an
        HDF5 file (``.h5``, ``.hdf5``) or zarr store (``.zarr``), read lazily.
    pixel_size : float, str or (dy, dx), optional
        SEM pixel size (m or "5 nm"), overriding the file's.
    slice_thickness : float or str, optional
        Distance between slices, overriding the file's.
    channels : sequence of str, optional
        Channel names (``("SE", "BSE")``).
    allow_gaps : bool
        Accept gaps in the slice numbering of one-file-per-slice stacks.
    dataset : str, optional
        HDF5 dataset or zarr array path (``"raw/se"``); default the only 3D/4D one.

    Returns
    -------
    ImageStack
        The slices as stored (integer types kept), with pixel size, slice thickness (or None),
        origin, the slice files and the metadata found (``pixel_size_source``).

    Raises
    ------
    InputError
        Missing file, not a TIFF, slices of different shapes or types (the slice is named), a
        missing slice, no pixel size; for HDF5/zarr also a missing dataset, several
        candidates and no ``dataset=``, an array that is not 3D/4D grey levels.
    """
    from .image import pixel_size_2

    if _is_store(source):
        return _read_store(os.fspath(source), dataset, pixel_size, slice_thickness, channels)
    if dataset is not None:
        raise InputError(f"dataset={dataset!r} for a TIFF source", file=str(source),
                         field="dataset", expected="dataset only with .h5/.hdf5/.zarr")

    files = _files(source)
    meta: dict[str, Any] = {}
    if len(files) == 1:
        path = files[0]
        with _open(path) as tif:
            series = tif.series[0]
            try:
                data = series.asarray()
            except (OSError, ValueError, RuntimeError, MemoryError) as exc:
                raise InputError(f"cannot decode the image data ({type(exc).__name__})",
                                 file=path, field="path", expected="a readable TIFF") from None
            axes = series.axes
            found = _metadata_sizes(tif, tif.pages[0])
        data = np.asarray(data)
        data, axes = _squeeze_axes(data, axes, path)
        slice_files: tuple[str, ...] = ()
        src = path
    else:
        arrays = []
        found = {}
        first_shape = first_dtype = None
        if not allow_gaps:
            _check_gaps(files)
        for k, f in enumerate(files):
            with _open(f) as tif:
                a = np.asarray(tif.series[0].asarray())
                if k == 0:
                    found = _metadata_sizes(tif, tif.pages[0])
            a = np.squeeze(a)
            if first_shape is None:
                first_shape, first_dtype = a.shape, a.dtype
                if a.ndim not in (2, 3):
                    raise InputError(f"slice of shape {a.shape}", file=f, field="slices",
                                     expected="2D slices (or channel × y × x)")
            elif a.shape != first_shape:
                raise InputError(f"slice {k} has shape {a.shape}", file=f, field=f"slices[{k}]",
                                 expected=f"the shape of the first slice {first_shape} "
                                 f"({Path(files[0]).name})")
            elif a.dtype != first_dtype:
                raise InputError(f"slice {k} is {a.dtype}", file=f, field=f"slices[{k}]",
                                 expected=f"the type of the first slice ({first_dtype})")
            arrays.append(a)
        data = np.stack(arrays)
        slice_files = tuple(files)
        src = os.fspath(source) if not isinstance(source, (list, tuple)) else files[0]
    if pixel_size is not None:
        if "pixel_size" in found:
            meta["file_pixel_size"] = list(found["pixel_size"])
        px = pixel_size_2(pixel_size, source=src)
        meta["pixel_size_source"] = "given"
    elif "pixel_size" in found:
        px = found["pixel_size"]
        meta["pixel_size_source"] = found.get("source")
    else:
        raise InputError("no pixel size in the file", file=src, field="pixel_size",
                         expected="pixel_size= (e.g. '5 nm', or (dy, dx) in m): the file has "
                         "no ImageJ, Zeiss, FEI or ionscale size")
    dz = slice_thickness if slice_thickness is not None else found.get("slice_thickness")
    chans = channels if channels is not None else found.get("channels")
    origin = found.get("origin", (0.0, 0.0, 0.0))
    if found.get("history"):
        meta["history"] = found["history"]
    return ImageStack(data, px, dz, origin, tuple(chans) if chans else ("intensity",),
                      files=slice_files, source=src, metadata=meta)


def _squeeze_axes(data: np.ndarray, axes: str, path: str) -> tuple[np.ndarray, str]:
    """(z, y, x) or (z, c, y, x) from tifffile's axes string."""
    axes = axes.upper()
    keep = [i for i, a in enumerate(axes) if data.shape[i] > 1 or a in "YX"]
    data = data.reshape([data.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    if data.ndim == 2:
        return data[None], "ZYX"
    if data.ndim == 3:
        if axes[-1] in "SC" and data.shape[-1] <= 4:     # RGB(A) single image
            raise InputError(f"a colour image of shape {data.shape}", file=path, field="path",
                             expected="grey-level slices (convert colour images first)")
        return data, "ZYX"
    if data.ndim == 4:
        zi = next((i for i, a in enumerate(axes) if a in "ZQIT"), 0)
        ci = next((i for i, a in enumerate(axes) if a in "CS" and i != zi), 1)
        yi, xi = axes.index("Y"), axes.index("X")
        return np.transpose(data, (zi, ci, yi, xi)), "ZCYX"
    raise InputError(f"image of shape {data.shape} (axes {axes})", file=path, field="path",
                     expected="a stack (z, y, x) or (z, channel, y, x)")


def read_image(path, *, pixel_size=None, channels=None) -> Image:
    """One 2D image (or map) with its pixel size (same metadata rules as :func:`read_stack`)."""
    st = read_stack(path, pixel_size=pixel_size, channels=channels)
    if len(st) != 1:
        raise InputError(f"{len(st)} slices", file=st.source, field="path",
                         expected="a single 2D image (use read_stack for stacks)")
    return Image(np.asarray(st.data[0]), st.pixel_size, st.origin[1:], st.channels,
                 index=None, source=st.source, metadata=st.metadata)


def write_stack(stack: ImageStack, path, *, overwrite: bool = False) -> Path:
    """Write a stack as an ImageJ hyperstack TIFF (pixel size in µm, ``spacing`` = slice
    thickness) whose ImageJ ``Info`` holds ionscale's JSON (pixel size, slice thickness,
    origin, channels, processing history) so that :func:`read_stack` gets everything back.
    Atomic: written to a temporary name in the same folder, then renamed; an existing file
    is replaced only with ``overwrite=True``."""
    import tifffile

    from ..results import json_safe

    out = Path(path)
    if out.exists() and not overwrite:
        raise InputError("file exists", file=str(out), field="output",
                         expected="a new file name, or overwrite=True")
    out.parent.mkdir(parents=True, exist_ok=True)
    data = np.asarray(stack.data)
    if data.dtype == np.float64:
        data = data.astype(np.float32)
    dy, dx = stack.pixel_size
    info = {"pixel_size_m": list(stack.pixel_size), "slice_thickness_m": stack.slice_thickness,
            "origin_m": list(stack.origin), "channels": list(stack.channels),
            "history": json_safe(stack.metadata.get("history", []))}
    axes = "ZYX" if data.ndim == 3 else "ZCYX"
    meta = {"axes": axes, "unit": "um", "Info": json.dumps(info)}
    if stack.slice_thickness:
        meta["spacing"] = stack.slice_thickness * 1e6
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        tifffile.imwrite(tmp, data, imagej=True, resolution=(1e-6 / dx, 1e-6 / dy),
                         metadata=meta, description=None)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _ionscale_info(tif) -> dict[str, Any]:
    ij = tif.imagej_metadata or {}
    info = ij.get("Info")
    if isinstance(info, str) and info.lstrip().startswith("{"):
        try:
            return json.loads(info)
        except ValueError:
            return {}
    return {}

