"""The data objects of the imaging technique: a 2D image (or map) and a stack of slices.

Both keep their physical coordinates with the pixels, so that registration, resampling and
fusion act in metres (DESIGN: "keep the data's own coordinates"):

* :class:`Image`: one 2D image or map, ``(y, x)`` or ``(c, y, x)`` with named channels; the
  pixel size ``(dy, dx)`` in m, the ``origin`` ``(y0, x0)`` in m (the position of the corner of
  pixel ``[0, 0]``, not its centre), the slice index in its stack, and metadata.
* :class:`ImageStack`: ``n`` slices ``(z, y, x)`` or ``(z, c, y, x)`` with the same pixel size,
  the slice thickness ``dz`` in m (the distance between milled faces in FIB-SEM), the origin
  ``(z0, y0, x0)``, the file of each slice, and metadata.

Conventions: axis order ``(z, [c,] y, x)``; row index ``y`` grows downwards in the image; a
pixel ``[i, j]`` covers ``[y0 + i dy, y0 + (i + 1) dy) × [x0 + j dx, x0 + (j + 1) dx)``, so its
centre is at ``y0 + (i + ½) dy``. Every size is in metres. Intensities keep their type (counts
stay counts); processing steps return float32 copies and never change their input.

Examples
--------
>>> import numpy as np
>>> img = Image(np.zeros((4, 6), np.float32), pixel_size=(10e-9, 10e-9))
>>> img.extent.tolist()
[4e-08, 6e-08]
>>> img.crop(1, 3, 2, 6).origin
(1e-08, 2e-08)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["Image", "ImageStack", "as_image", "as_stack", "pixel_size_2"]


def _check_size(values, n: int, name: str, source: str | None) -> tuple[float, ...]:
    """``n`` positive finite sizes in metres from one number or ``n`` numbers (or strings)."""
    from ..units import parse_quantity

    if values is None:
        raise InputError(f"no {name} given", file=source, field=name,
                         expected="a size in m, e.g. 20e-9 or '20 nm'")
    if isinstance(values, str):
        parts = [p for p in values.replace(";", ",").split(",") if p.strip()]
        vals = [parse_quantity(p.strip(), "m", field=name, file=source) for p in parts]
    else:
        vals = [parse_quantity(v, "m", field=name, file=source) if isinstance(v, str) else v
                for v in np.ravel(np.asarray(values, dtype=object)).tolist()]
    try:
        arr = np.asarray(vals, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {name} {values!r}", file=source, field=name,
                         expected="numbers in m") from None
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise InputError(f"{arr.size} values given for {name}", file=source, field=name,
                         expected=f"one size or {n}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(f"{name} {arr.tolist()} m", file=source, field=name,
                         expected="positive, finite sizes in m")
    if np.any(arr > 1e-2):
        raise InputError(f"{name} {arr.tolist()} m is over 1 cm", file=source, field=name,
                         expected="sizes in metres (give units: '20 nm', '0.5 um')")
    return tuple(float(v) for v in arr)


def pixel_size_2(pixel_size, *, source: str | None = None,
                 field_name: str = "pixel_size") -> tuple[float, float]:
    """Pixel size ``(dy, dx)`` in m from a number, a string (``"20 nm"``) or two of them.

    Raises
    ------
    InputError
        Missing, not positive and finite, over 1 cm (a size given in nm as a bare number), or
        not 1 or 2 values.
    """
    return _check_size(pixel_size, 2, field_name, source)  # type: ignore[return-value]


def _origin(origin, n: int, source: str | None) -> tuple[float, ...]:
    arr = np.asarray(origin if origin is not None else (0.0,) * n, dtype=float).ravel()
    if arr.size != n or not np.all(np.isfinite(arr)):
        raise InputError(f"origin {origin!r}", file=source, field="origin",
                         expected=f"{n} finite positions in m")
    return tuple(float(v) for v in arr)


def _channels(channels, n: int, source: str | None) -> tuple[str, ...]:
    if channels is None:
        return tuple(f"c{i}" for i in range(n)) if n > 1 else ("intensity",)
    names = (channels,) if isinstance(channels, str) else tuple(str(c) for c in channels)
    if len(names) != n or len(set(names)) != n:
        raise InputError(f"channel names {list(names)} for {n} channel(s)", file=source,
                         field="channels", expected=f"{n} distinct names")
    return names


@dataclass(frozen=True)
class Image:
    """A 2D image or map with its physical coordinates.

    Attributes
    ----------
    data : ndarray
        ``(y, x)`` for one channel, ``(c, y, x)`` for several.
    pixel_size : tuple of 2 float
        ``(dy, dx)``, m.
    origin : tuple of 2 float
        ``(y0, x0)``: position of the corner of pixel ``[0, 0]``, m.
    channels : tuple of str
        One name per channel (``("SE", "BSE")``, ``("Li", "La")``...).
    index : int or None
        The slice this image is in its stack.
    source : str or None
        File it was read from.
    metadata : dict
        What the reader found (instrument, detector, dwell time...).
    """

    data: np.ndarray
    pixel_size: tuple[float, float]
    origin: tuple[float, float] = (0.0, 0.0)
    channels: tuple[str, ...] = ("intensity",)
    index: int | None = None
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim not in (2, 3):
            raise InputError(f"image of shape {data.shape}", file=self.source, field="data",
                             expected="a 2D (y, x) or 3D (channel, y, x) array")
        if data.ndim == 3 and data.shape[0] == 1:
            data = data[0]
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "pixel_size", pixel_size_2(self.pixel_size, source=self.source))
        object.__setattr__(self, "origin", _origin(self.origin, 2, self.source))
        nc = 1 if data.ndim == 2 else data.shape[0]
        object.__setattr__(self, "channels", _channels(
            None if self.channels == ("intensity",) and nc > 1 else self.channels, nc,
            self.source))
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``: pixels along y and x."""
        return tuple(int(n) for n in self.data.shape[-2:])  # type: ignore[return-value]

    @property
    def n_channels(self) -> int:
        return 1 if self.data.ndim == 2 else int(self.data.shape[0])

    @property
    def extent(self) -> np.ndarray:
        """Physical size ``(height, width)``, m."""
        return np.asarray(self.shape) * np.asarray(self.pixel_size)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(y_min, y_max, x_min, x_max)`` of the field of view, m."""
        (y0, x0), (h, w) = self.origin, self.extent
        return (y0, y0 + h, x0, x0 + w)

    def channel(self, name: str | int = 0) -> np.ndarray:
        """The ``(y, x)`` array of one channel (by name or number)."""
        if self.data.ndim == 2:
            if name in (0, self.channels[0]):
                return self.data
        else:
            if isinstance(name, (int, np.integer)) and 0 <= int(name) < self.n_channels:
                return self.data[int(name)]
            if name in self.channels:
                return self.data[self.channels.index(name)]
        raise InputError(f"no channel {name!r}", file=self.source, field="channel",
                         expected=f"one of {list(self.channels)} or a channel number")

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """Centres of the rows and columns, m: ``(y, x)`` 1D arrays."""
        (dy, dx), (y0, x0) = self.pixel_size, self.origin
        return (y0 + (np.arange(self.shape[0]) + 0.5) * dy,
                x0 + (np.arange(self.shape[1]) + 0.5) * dx)

    def crop(self, y0: int, y1: int, x0: int, x1: int) -> Image:
        """Pixels ``[y0:y1, x0:x1]`` (a view), with the origin moved to match."""
        ny, nx = self.shape
        if not (0 <= y0 < y1 <= ny and 0 <= x0 < x1 <= nx):
            raise InputError(f"crop [{y0}:{y1}, {x0}:{x1}] of a {ny}×{nx} image",
                             file=self.source, field="crop",
                             expected="a non-empty box inside the image")
        (dy, dx), (oy, ox) = self.pixel_size, self.origin
        return dataclasses.replace(self, data=self.data[..., y0:y1, x0:x1],
                                   origin=(oy + y0 * dy, ox + x0 * dx))

    def with_data(self, data: np.ndarray, **changes) -> Image:
        """A copy holding ``data`` (same coordinates unless ``changes`` says otherwise)."""
        return dataclasses.replace(self, data=data, **changes)


@dataclass(frozen=True)
class ImageStack:
    """A stack of 2D slices (FIB-SEM, serial sections) with its physical coordinates.

    Attributes
    ----------
    data : ndarray or dask array
        ``(z, y, x)`` for one channel, ``(z, c, y, x)`` for several.
    pixel_size : tuple of 2 float
        ``(dy, dx)`` of every slice, m.
    slice_thickness : float or None
        ``dz``: distance between consecutive slices, m (None when unknown).
    origin : tuple of 3 float
        ``(z0, y0, x0)``: position of the corner of voxel ``[0, 0, 0]``, m.
    channels : tuple of str
        One name per channel.
    files : tuple of str
        The file of each slice (one TIFF per slice), or empty.
    source : str or None
        File or folder it was read from.
    metadata : dict
        What the reader found, and the processing steps applied (``"history"``).
    """

    data: Any
    pixel_size: tuple[float, float]
    slice_thickness: float | None = None
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    channels: tuple[str, ...] = ("intensity",)
    files: tuple[str, ...] = ()
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = self.data
        if not hasattr(data, "ndim"):
            data = np.asarray(data)
        if data.ndim not in (3, 4):
            raise InputError(f"stack of shape {tuple(data.shape)}", file=self.source,
                             field="data", expected="a 3D (z, y, x) or 4D (z, c, y, x) array")
        if data.ndim == 4 and data.shape[1] == 1:
            data = data[:, 0]
        if data.shape[0] < 1 or data.shape[-1] < 2 or data.shape[-2] < 2:
            raise InputError(f"stack of shape {tuple(data.shape)}", file=self.source,
                             field="data", expected="at least one slice of 2×2 pixels")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "pixel_size", pixel_size_2(self.pixel_size, source=self.source))
        if self.slice_thickness is not None:
            object.__setattr__(self, "slice_thickness", _check_size(
                self.slice_thickness, 1, "slice_thickness", self.source)[0])
        object.__setattr__(self, "origin", _origin(self.origin, 3, self.source))
        nc = 1 if data.ndim == 3 else data.shape[1]
        object.__setattr__(self, "channels", _channels(
            None if self.channels == ("intensity",) and nc > 1 else self.channels, nc,
            self.source))
        object.__setattr__(self, "files", tuple(str(f) for f in self.files))
        object.__setattr__(self, "metadata", dict(self.metadata))

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, k: int) -> Image:
        n = len(self)
        if not -n <= k < n:
            raise IndexError(f"slice {k} of a stack of {n}")
        k %= n
        dz = self.slice_thickness or 0.0
        return Image(np.asarray(self.data[k]), self.pixel_size, self.origin[1:], self.channels,
                     index=k, source=self.files[k] if self.files else self.source,
                     metadata={"z": self.origin[0] + (k + 0.5) * dz})

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(nz, ny, nx)``."""
        s = self.data.shape
        return (int(s[0]), int(s[-2]), int(s[-1]))

    @property
    def n_channels(self) -> int:
        return 1 if self.data.ndim == 3 else int(self.data.shape[1])

    @property
    def voxel_size(self) -> tuple[float, float, float]:
        """``(dz, dy, dx)``, m; raises when the slice thickness is unknown."""
        if self.slice_thickness is None:
            raise InputError("the slice thickness is not known", file=self.source,
                             field="slice_thickness",
                             expected="the distance between slices, e.g. '20 nm'")
        return (self.slice_thickness, *self.pixel_size)

    @property
    def extent(self) -> np.ndarray:
        """Physical size ``(depth, height, width)``, m (depth 0 when ``dz`` is unknown)."""
        dz = self.slice_thickness or 0.0
        return np.asarray(self.shape) * np.asarray((dz, *self.pixel_size))

    def channel(self, name: str | int = 0) -> Any:
        """The ``(z, y, x)`` array of one channel (by name or number)."""
        if self.data.ndim == 3:
            if name in (0, self.channels[0]):
                return self.data
        else:
            if isinstance(name, (int, np.integer)) and 0 <= int(name) < self.n_channels:
                return self.data[:, int(name)]
            if name in self.channels:
                return self.data[:, self.channels.index(name)]
        raise InputError(f"no channel {name!r}", file=self.source, field="channel",
                         expected=f"one of {list(self.channels)} or a channel number")

    def with_data(self, data, **changes) -> ImageStack:
        """A copy holding ``data`` (same coordinates unless ``changes`` says otherwise);
        ``step=`` (a dict) is appended to ``metadata["history"]``."""
        step = changes.pop("step", None)
        if step is not None:
            meta = dict(changes.pop("metadata", self.metadata))
            meta["history"] = [*meta.get("history", []), dict(step)]
            changes["metadata"] = meta
        return dataclasses.replace(self, data=data, **changes)

    def crop(self, y0: int, y1: int, x0: int, x1: int, z0: int = 0,
             z1: int | None = None) -> ImageStack:
        """Voxels ``[z0:z1, y0:y1, x0:x1]`` (a view), with the origin moved to match."""
        nz, ny, nx = self.shape
        z1 = nz if z1 is None else z1
        if not (0 <= y0 < y1 <= ny and 0 <= x0 < x1 <= nx and 0 <= z0 < z1 <= nz):
            raise InputError(f"crop [{z0}:{z1}, {y0}:{y1}, {x0}:{x1}] of a {nz}×{ny}×{nx} "
                             "stack", file=self.source, field="crop",
                             expected="a non-empty box inside the stack")
        dz = self.slice_thickness or 0.0
        (dy, dx), (oz, oy, ox) = self.pixel_size, self.origin
        data = self.data[z0:z1, ..., y0:y1, x0:x1]
        return dataclasses.replace(self, data=data,
                                   origin=(oz + z0 * dz, oy + y0 * dy, ox + x0 * dx),
                                   files=self.files[z0:z1] if self.files else ())


def as_image(image, pixel_size=None, *, origin=None, channels=None) -> Image:
    """An :class:`Image` from an Image (returned as is, or with its pixel size replaced) or an
    array (``pixel_size`` required; ``1`` gives pixel units for quick work)."""
    if isinstance(image, Image):
        if pixel_size is None and origin is None:
            return image
        return dataclasses.replace(
            image, pixel_size=image.pixel_size if pixel_size is None else pixel_size,
            origin=image.origin if origin is None else origin)
    arr = np.asarray(image)
    if pixel_size is None:
        raise InputError("an array without a pixel size", field="pixel_size",
                         expected="pixel_size=(dy, dx) in m, or an Image")
    return Image(arr, pixel_size, origin if origin is not None else (0.0, 0.0),
                 channels if channels is not None else ("intensity",))


def as_stack(stack, pixel_size=None, slice_thickness=None, *, origin=None,
             channels=None) -> ImageStack:
    """An :class:`ImageStack` from a stack (returned as is, or with the sizes given replacing
    its own), a ``(z, y, x)`` array or a sequence of 2D arrays/Images of one shape."""
    if isinstance(stack, ImageStack):
        changes = {}
        if pixel_size is not None:
            changes["pixel_size"] = pixel_size
        if slice_thickness is not None:
            changes["slice_thickness"] = slice_thickness
        if origin is not None:
            changes["origin"] = origin
        return dataclasses.replace(stack, **changes) if changes else stack
    if isinstance(stack, Sequence) and stack and isinstance(stack[0], Image):
        first = stack[0]
        for k, im in enumerate(stack):
            if im.shape != first.shape or im.n_channels != first.n_channels:
                raise InputError(f"slice {k} has shape {im.data.shape}", field=f"slices[{k}]",
                                 expected=f"the shape of slice 0, {first.data.shape}")
        data = np.stack([im.data for im in stack])
        pixel_size = first.pixel_size if pixel_size is None else pixel_size
        channels = first.channels if channels is None else channels
        origin = (0.0, *first.origin) if origin is None else origin
        return ImageStack(data, pixel_size, slice_thickness, origin, channels,
                          files=tuple(im.source or "" for im in stack) if all(
                              im.source for im in stack) else ())
    if pixel_size is None:
        raise InputError("an array without a pixel size", field="pixel_size",
                         expected="pixel_size=(dy, dx) in m, or an ImageStack")
    if isinstance(stack, Sequence) and not hasattr(stack, "ndim"):
        shapes = [np.shape(s) for s in stack]
        for k, s in enumerate(shapes):
            if s != shapes[0]:
                raise InputError(f"slice {k} has shape {s}", field=f"slices[{k}]",
                                 expected=f"the shape of slice 0, {shapes[0]}")
        stack = np.stack([np.asarray(s) for s in stack])
    return ImageStack(stack, pixel_size, slice_thickness,
                      origin if origin is not None else (0.0, 0.0, 0.0),
                      channels if channels is not None else ("intensity",))
