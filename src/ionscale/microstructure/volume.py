"""The data object of the microstructure technique: a labelled volume with its voxel size.

Every metric accepts either a :class:`Volume` or a plain array (labels or a boolean phase mask)
together with ``voxel_size``; :func:`resolve_phase` turns both into a boolean mask and a voxel
size per axis, and is the one place input volumes are checked.

Conventions: arrays are ``(z, y, x)``; ``voxel_size`` is ``(dz, dy, dx)`` in metres (one number
means cubic voxels); axis 0 is z.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..units import parse_quantity

AXIS_NAMES = ("z", "y", "x")


def _is_dask(a) -> bool:
    return type(a).__module__.startswith("dask")


@dataclass(frozen=True)
class Volume:
    """A segmented volume: integer labels per voxel and the voxel size per axis.

    Attributes
    ----------
    labels : ndarray or dask array
        ``(z, y, x)`` integer (or boolean) labels.
    voxel_size : tuple of 3 float
        ``(dz, dy, dx)``, m.
    phases : dict of str to int
        Names of the labels, e.g. ``{"pore": 0, "solid": 1}``.
    origin : tuple of 3 float
        Position of the first voxel's corner, m.
    source : str or None
        File the volume was read from.
    metadata : dict
        Whatever the reader found (instrument, segmentation tool...).
    """

    labels: Any
    voxel_size: tuple[float, float, float]
    phases: Mapping[str, int] = field(default_factory=dict)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.labels.shape)

    @property
    def extent(self) -> np.ndarray:
        """Physical size along (z, y, x), m."""
        return np.asarray(self.shape) * np.asarray(self.voxel_size)

    def label_of(self, phase: str | int) -> int:
        """The integer label of ``phase`` (a name in :attr:`phases` or a label)."""
        return _label_of(phase, self.phases, self.source)

    def mask(self, phase: str | int) -> Any:
        """Boolean mask of ``phase`` (numpy or dask, like :attr:`labels`)."""
        return self.labels == self.label_of(phase)


def voxel_size_3(voxel_size, *, field_name: str = "voxel_size", source: str | None = None
                 ) -> np.ndarray:
    """Voxel size per axis ``(dz, dy, dx)`` in m, from a number, a string or three of them.

    Parameters
    ----------
    voxel_size : float, str or sequence of 3
        ``20e-9``, ``"20 nm"``, ``(50e-9, 20e-9, 20e-9)`` or ``"50 nm, 20 nm, 20 nm"``. A bare
        number is metres.

    Raises
    ------
    InputError
        Not positive and finite, or not 1 or 3 values.

    Examples
    --------
    >>> voxel_size_3("20 nm")
    array([2.e-08, 2.e-08, 2.e-08])
    """
    if voxel_size is None:
        raise InputError("no voxel size given", file=source, field=field_name,
                         expected="a size per axis in m, e.g. '20 nm' or (dz, dy, dx)")
    if isinstance(voxel_size, str):
        parts = [p for p in voxel_size.replace(";", ",").split(",") if p.strip()]
        values = [parse_quantity(p.strip(), "m", field=field_name, file=source) for p in parts]
    else:
        values = [parse_quantity(v, "m", field=field_name, file=source)
                  if isinstance(v, str) else v for v in np.ravel(voxel_size).tolist()]
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"cannot read voxel size {voxel_size!r}", file=source,
                         field=field_name, expected="numbers in m") from None
    if arr.size == 1:
        arr = np.repeat(arr, 3)
    if arr.size != 3:
        raise InputError(f"{arr.size} voxel sizes given", file=source, field=field_name,
                         expected="one size, or three (dz, dy, dx)")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(f"voxel size {arr.tolist()} m", file=source, field=field_name,
                         expected="positive, finite sizes in m")
    if np.any(arr > 1e-2):
        raise InputError(f"voxel size {arr.tolist()} m is over 1 cm", file=source,
                         field=field_name,
                         expected="sizes in metres (give units: '20 nm', '0.5 um')")
    return arr


def _label_of(phase, phases: Mapping[str, int], source: str | None) -> int:
    if isinstance(phase, str):
        if phase in phases:
            return int(phases[phase])
        try:
            return int(phase)
        except ValueError:
            raise InputError(f"unknown phase {phase!r}", file=source, field="phase",
                             expected=f"one of {sorted(phases)} or an integer label") from None
    if isinstance(phase, (bool, np.bool_)):
        return int(phase)
    if isinstance(phase, (int, np.integer)):
        return int(phase)
    raise InputError(f"phase {phase!r}", file=source, field="phase",
                     expected="a phase name or an integer label")


def check_labels(labels, *, source: str | None = None, min_size: int = 2) -> Any:
    """Check that ``labels`` is a 3D integer/boolean volume with at least ``min_size`` voxels per
    axis; return it (numpy or dask, unchanged; no copy).

    Raises
    ------
    InputError
        Not 3D, a single slice, float labels that are not whole numbers, NaN.
    """
    if not hasattr(labels, "shape") or not hasattr(labels, "dtype"):
        labels = np.asarray(labels)
    if labels.ndim != 3:
        raise InputError(f"volume has {labels.ndim} dimensions, shape {tuple(labels.shape)}",
                         file=source, field="labels", expected="a 3D (z, y, x) volume")
    if min(labels.shape) < min_size:
        axis = int(np.argmin(labels.shape))
        raise InputError(f"only {labels.shape[axis]} voxel(s) along {AXIS_NAMES[axis]}",
                         file=source, field="labels",
                         expected=f"at least {min_size} voxels along every axis "
                                  "(a single slice is an image, not a volume)")
    kind = np.dtype(labels.dtype).kind
    if kind in "iub":
        return labels
    if kind == "f":
        if _is_dask(labels):
            raise InputError(f"floating-point labels ({labels.dtype}) in a dask array",
                             file=source, field="labels",
                             expected="integer labels (cast with .astype)")
        if not np.all(np.isfinite(labels)):
            raise InputError(f"{int((~np.isfinite(labels)).sum())} NaN/inf voxels",
                             file=source, field="labels", expected="finite integer labels")
        if not np.all(labels == np.round(labels)):
            raise InputError("labels are not whole numbers", file=source, field="labels",
                             expected="integer labels (segment the volume first)")
        return labels.astype(np.int64)
    raise InputError(f"labels of type {labels.dtype}", file=source, field="labels",
                     expected="integer or boolean labels")


def as_volume(
    labels,
    voxel_size,
    *,
    phases: Mapping[str, int] | None = None,
    origin=(0.0, 0.0, 0.0),
    source: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Volume:
    """Check ``labels`` and ``voxel_size`` and wrap them in a :class:`Volume`.

    Parameters
    ----------
    labels : array_like or dask array
        ``(z, y, x)`` integer labels.
    voxel_size : float, str or sequence of 3
        See :func:`voxel_size_3`.
    phases : dict, optional
        Phase names to labels.
    """
    labels = check_labels(labels, source=source)
    vs = voxel_size_3(voxel_size, source=source)
    return Volume(labels=labels, voxel_size=tuple(float(v) for v in vs),
                  phases=dict(phases or {}), origin=tuple(float(o) for o in origin),
                  source=source, metadata=dict(metadata or {}))


def resolve_phase(volume, phase=None, voxel_size=None, *, allow_empty: bool = False,
                  min_size: int = 2) -> tuple[Any, np.ndarray]:
    """Boolean mask of ``phase`` and the voxel size, from a :class:`Volume` or an array.

    Parameters
    ----------
    volume : Volume, ndarray or dask array
        Labels, or a boolean mask (then ``phase`` defaults to True).
    phase : str or int, optional
        Phase name or label; defaults to ``True`` for boolean masks and to label ``1``
        otherwise.
    voxel_size : optional
        Overrides the volume's; required for plain arrays (see :func:`voxel_size_3`).
    allow_empty : bool
        If False, a phase with no voxel raises :class:`InputError`.

    Returns
    -------
    mask : bool ndarray or dask array
    voxel_size : ndarray of 3 floats, m
    """
    if isinstance(volume, Volume):
        labels = check_labels(_lazy_zarr(volume.labels), source=volume.source,
                              min_size=min_size)
        vs = voxel_size_3(volume.voxel_size if voxel_size is None else voxel_size,
                          source=volume.source)
        phases, source = volume.phases, volume.source
    else:
        labels = check_labels(_lazy_zarr(volume), min_size=min_size)
        vs = voxel_size_3(voxel_size)
        phases, source = {}, None
    if labels.dtype == bool:
        label = True if phase is None else bool(_label_of(phase, phases, source))
        mask = labels if label else ~labels
    else:
        if phase is None:
            phase = 1
        label = _label_of(phase, phases, source)
        mask = labels == label
    if not allow_empty:
        n = int(mask.sum())  # one pass; dask computes it here
        if n == 0:
            raise InputError(f"phase {phase!r} has no voxel", file=source, field="phase",
                             expected=f"a phase present in the volume ({_present(labels)}; "
                             "`ionscale micro labels FILE` lists them)")
    return mask, vs


def _lazy_zarr(labels):
    """A zarr array as a dask array (read chunk by chunk; zarr has no element-wise ``==``);
    anything else unchanged."""
    if type(labels).__module__.startswith("zarr"):
        import dask.array as da

        return da.from_zarr(labels)
    return labels


def _present(labels) -> str:
    """The labels a volume holds, for an error message (not computed for lazy arrays)."""
    if not isinstance(labels, np.ndarray):
        return "labels not listed for a chunked volume"
    values = np.unique(labels)
    shown = ", ".join(str(int(v)) for v in values[:12])
    return f"labels present: {shown}{', …' if values.size > 12 else ''}"


def source_files(volume) -> list[str]:
    """The file a :class:`Volume` was read from, for provenance (hashed); empty for arrays and
    for volumes read from a folder of slices or a zarr store."""
    if isinstance(volume, Volume) and volume.source and os.path.isfile(volume.source):
        return [volume.source]
    return []


def phase_display_name(volume, phase) -> str:
    """Display name of ``phase``: its name in a Volume's phases, else the label as text."""
    if isinstance(phase, str):
        return phase
    if isinstance(volume, Volume):
        if phase is None and np.dtype(volume.labels.dtype) != bool:
            phase = 1  # resolve_phase's default label
        if phase is not None:
            for name, lab in volume.phases.items():
                if int(lab) == int(phase):
                    return name
    return "phase" if phase is None else str(int(phase))
