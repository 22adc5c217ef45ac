"""Volume fractions of a segmented volume: whole volume, slice by slice, and the REV.

* :func:`volume_fractions`: the fraction of the voxels carrying each label.
* :func:`slice_fractions`: the fraction of one phase in every slice normal to z, y and x, with
  the mean and standard deviation along each axis (seed 004, Figure 3).
* :func:`representative_volume`: the fraction of the phase in random cubic sub-volumes against
  the cube edge, with a confidence band, and the representative elementary volume (REV): the
  smallest edge from which the band stays within ``±tolerance`` (relative, 5 % by default) of
  the whole-volume fraction (SCIENCE §8; seed 004, Figure S4).

All three take a :class:`~ionscale.microstructure.volume.Volume` or an array (labels or a
boolean mask) with ``voxel_size``. They run on numpy arrays and, chunk by chunk, on dask arrays
(and on zarr arrays, read through dask): the whole volume is never materialised, counts are
exact integers summed over blocks (a ``bincount`` per block for the fractions, per-slice counts
per block for the profiles), so a chunked run returns exactly the in-memory numbers.

Conventions: arrays are ``(z, y, x)``, voxel sizes ``(dz, dy, dx)`` in m; slice positions are
the slice centres, ``origin + (i + 1/2) d``; standard deviations over slices are sample standard
deviations (``ddof = 1``). A fraction is an exact count ratio for the volume analysed, so its
``Value.error`` is 0.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .volume import (
    AXIS_NAMES,
    Volume,
    check_labels,
    phase_display_name,
    resolve_phase,
    source_files,
    voxel_size_3,
)

__all__ = [
    "REVResult",
    "SliceProfile",
    "VolumeFractions",
    "representative_volume",
    "slice_fractions",
    "volume_fractions",
]

#: Voxels per slab when a numpy volume is walked through in pieces (bounds temporaries).
SLAB_VOXELS = 1 << 23

#: Numpy volumes up to this many voxels get a summed-volume table for the REV (4 B/voxel).
REV_TABLE_MAX_VOXELS = 1 << 28


# --------------------------------------------------------------------------- block helpers


def is_dask(a) -> bool:
    """True for a dask array."""
    return type(a).__module__.startswith("dask")


def is_zarr(a) -> bool:
    """True for a zarr array."""
    return type(a).__module__.startswith("zarr")


def lazy_input(volume):
    """Wrap zarr arrays (bare or inside a :class:`Volume`) as dask arrays; pass others on."""
    if isinstance(volume, Volume):
        if is_zarr(volume.labels):
            return replace(volume, labels=_from_zarr(volume.labels))
        return volume
    if is_zarr(volume):
        return _from_zarr(volume)
    return volume


def _from_zarr(z):
    import dask.array as da

    return da.from_zarr(z)


def block_offsets(chunks) -> list[np.ndarray]:
    """Start index of every chunk along each axis, from a dask ``chunks`` tuple."""
    return [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(np.int64) for c in chunks]


def iter_blocks(arr, func=None, *, progress: bool = False, desc: str = "blocks",
                batch: int | None = None) -> Iterator[tuple[tuple[int, int, int], Any]]:
    """Yield ``(offset, block)`` (or ``(offset, func(block, offset))``) covering ``arr``: the
    chunks of a dask array, or slabs of about 8 M voxels of a numpy array.

    Dask blocks are computed ``batch`` at a time (default twice the number of CPUs) with the
    threaded scheduler, ``func`` running inside the tasks, so memory stays at a few blocks and
    their working memory whatever the size of the array.

    Parameters
    ----------
    arr : ndarray or dask array
        3D array.
    func : callable, optional
        ``func(block: ndarray, offset: tuple) -> Any``, applied to each block.
    progress : bool
        Show a tqdm bar over the blocks.
    batch : int, optional
        Dask blocks in flight at once.
    """
    if not is_dask(arr):
        arr = np.asarray(arr)
        per_slice = max(1, int(np.prod(arr.shape[1:])))
        step = max(1, SLAB_VOXELS // per_slice)
        starts = range(0, arr.shape[0], step)
        bar = _bar(len(starts), progress, desc)
        for z0 in starts:
            off = (z0, 0, 0)
            blk = arr[z0:z0 + step]
            yield off, (blk if func is None else func(blk, off))
            bar.update(1)
        bar.close()
        return
    import dask

    delayed = arr.to_delayed()
    offs = block_offsets(arr.chunks)
    index = list(np.ndindex(delayed.shape))
    batch = batch or max(2, 2 * (os.cpu_count() or 1))
    bar = _bar(len(index), progress, desc)

    def offset_of(i):
        return tuple(int(offs[a][i[a]]) for a in range(3))

    def task(blk, off):
        blk = np.asarray(blk)
        return blk if func is None else func(blk, off)

    for start in range(0, len(index), batch):
        part = index[start:start + batch]
        results = dask.compute(*[dask.delayed(task)(delayed[i], offset_of(i)) for i in part],
                               scheduler="threads")
        for i, res in zip(part, results, strict=True):
            yield offset_of(i), res
            bar.update(1)
    bar.close()


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _bar(total: int, progress: bool, desc: str, unit: str = "block"):
    if not progress or total <= 1:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def count_labels(labels, *, progress: bool = False) -> dict[int, int]:
    """Voxel count of every label present, block by block (exact integers).

    Parameters
    ----------
    labels : ndarray or dask array
        Integer or boolean labels (checked by the caller).
    """
    totals: dict[int, int] = {}
    for _, counts in iter_blocks(labels, lambda b, o: _count_block(b), progress=progress,
                                 desc="counting labels"):
        for lab, n in counts.items():
            totals[lab] = totals.get(lab, 0) + n
    return dict(sorted(totals.items()))


def _count_block(blk: np.ndarray) -> dict[int, int]:
    if blk.size == 0:
        return {}
    if blk.size > SLAB_VOXELS and blk.ndim == 3 and blk.shape[0] > 1:
        # a large dask block: count it slab by slab (bincount makes an intp copy)
        step = max(1, SLAB_VOXELS // max(1, blk[0].size))
        out: dict[int, int] = {}
        for z0 in range(0, blk.shape[0], step):
            for k, v in _count_block(blk[z0:z0 + step]).items():
                out[k] = out.get(k, 0) + v
        return out
    if blk.dtype == bool:
        n1 = int(np.count_nonzero(blk))
        return {k: v for k, v in ((0, blk.size - n1), (1, n1)) if v}
    flat = blk.reshape(-1)
    lo, hi = int(flat.min()), int(flat.max())
    if lo >= 0 and hi < (1 << 20):
        counts = np.bincount(flat, minlength=hi + 1)
        nz = np.flatnonzero(counts)
        return {int(k): int(counts[k]) for k in nz}
    vals, counts = np.unique(flat, return_counts=True)
    return {int(k): int(c) for k, c in zip(vals, counts, strict=True)}


# --------------------------------------------------------------------------- volume fractions


@dataclass(frozen=True, kw_only=True)
class VolumeFractions(Result):
    """Volume fraction of every label of a volume.

    Values: one per label, keyed by the phase name (``Volume.phases``) or ``"label_<n>"`` for
    labels without a name; unit ``""`` (a fraction), error 0 (an exact count ratio).

    Attributes
    ----------
    labels : tuple of int
        The labels, ascending (named labels absent from the volume included, fraction 0).
    names : tuple of str
        Their names.
    counts : tuple of int
        Voxels per label.
    n_voxels : int
        Voxels in the volume.
    shape : tuple of int
    voxel_size : tuple of float or None
        ``(dz, dy, dx)``, m (None when no voxel size was given).
    """

    labels: tuple[int, ...]
    names: tuple[str, ...]
    counts: tuple[int, ...]
    n_voxels: int
    shape: tuple[int, int, int] = (0, 0, 0)
    voxel_size: tuple[float, float, float] | None = None

    @property
    def fractions(self) -> dict[str, float]:
        """``{name: fraction}``."""
        return {n: c / self.n_voxels for n, c in zip(self.names, self.counts, strict=True)}

    def as_dict(self) -> dict[str, float]:
        """``{name: fraction}`` (same as :attr:`fractions`)."""
        return self.fractions

    def fraction(self, phase: str | int) -> float:
        """Fraction of one phase, by name or label."""
        if isinstance(phase, str) and phase in self.names:
            return self.counts[self.names.index(phase)] / self.n_voxels
        try:
            lab = int(phase)
        except (TypeError, ValueError):
            raise InputError(f"unknown phase {phase!r}", field="phase",
                             expected=f"one of {list(self.names)} or a label") from None
        if lab in self.labels:
            return self.counts[self.labels.index(lab)] / self.n_voxels
        return 0.0

    def plot(self, ax=None):
        """Bar chart of the volume fraction of each phase (%)."""
        ax = new_axes(ax)
        fr = np.asarray(self.counts, float) / self.n_voxels * 100
        bars = ax.bar(range(len(fr)), fr, color="0.55", edgecolor="k")
        for b, f in zip(bars, fr, strict=True):
            ax.annotate(f"{f:.2f} %", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize="small")
        ax.set_xticks(range(len(fr)), list(self.names))
        ax.set_ylabel("volume fraction (%)")
        ax.set_title(self.title or "Volume fractions")
        return ax


def volume_fractions(volume, *, voxel_size=None, progress: bool = True) -> VolumeFractions:
    """Volume fraction of every label (phase) of a segmented volume.

    Parameters
    ----------
    volume : Volume, ndarray, dask array or zarr array
        ``(z, y, x)`` labels or a boolean mask.
    voxel_size : float, str or sequence of 3, optional
        ``(dz, dy, dx)``, m; fractions do not depend on it, it is only checked and recorded.
    progress : bool
        Progress bar over the blocks of a dask/zarr volume.

    Returns
    -------
    VolumeFractions
        Values keyed by phase name; ``.fractions`` is a ``{name: fraction}`` dict.

    Raises
    ------
    InputError
        Not a 3D integer volume (float or NaN labels, a single slice), bad voxel size.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((4, 4, 4), np.uint8); v[:1] = 1
    >>> volume_fractions(v).fractions
    {'label_0': 0.75, 'label_1': 0.25}
    """
    volume = lazy_input(volume)
    if isinstance(volume, Volume):
        labels = check_labels(volume.labels, source=volume.source)
        vs = voxel_size_3(volume.voxel_size if voxel_size is None else voxel_size,
                          source=volume.source)
        phases = dict(volume.phases)
    else:
        labels = check_labels(volume)
        vs = None if voxel_size is None else voxel_size_3(voxel_size)
        phases = {}
    counts = count_labels(labels, progress=progress)
    if labels.dtype == bool:
        counts = {int(k): v for k, v in counts.items()}
    for lab in phases.values():
        counts.setdefault(int(lab), 0)
    by_label = {int(v): k for k, v in phases.items()}
    labs = tuple(sorted(counts))
    names = tuple(by_label.get(k, f"label_{k}") for k in labs)
    cnt = tuple(int(counts[k]) for k in labs)
    n = int(np.prod(labels.shape))
    values = {nm: Value(nm, c / n, 0.0, "", f"φ_{nm}") for nm, c in zip(names, cnt, strict=True)}
    shape = tuple(int(s) for s in labels.shape)
    params = {"voxel_size": None if vs is None else vs.tolist(), "shape": shape,
              "chunked": is_dask(labels)}
    return VolumeFractions(
        values=values,
        provenance=Provenance.build("volume_fractions", source_files(volume), params),
        title="Volume fractions", labels=labs, names=names, counts=cnt, n_voxels=n,
        shape=shape, voxel_size=None if vs is None else tuple(float(v) for v in vs))


# --------------------------------------------------------------------------- slice profiles


@dataclass(frozen=True, kw_only=True)
class SliceProfile(Result):
    """Fraction of one phase in every slice normal to each axis.

    Values: ``fraction`` (whole volume) and, for each axis analysed, ``mean_<axis>`` (mean of the
    slice fractions; equal to ``fraction`` since all slices along an axis have the same number of
    voxels) and ``sd_<axis>`` (sample standard deviation of the slice fractions).

    Attributes
    ----------
    phase : str
        Name of the phase.
    axes : tuple of int
        Axes analysed (0 = z, 1 = y, 2 = x).
    positions : dict of str to ndarray
        Slice centres along each axis (``"z"``, ``"y"``, ``"x"``), m.
    profiles : dict of str to ndarray
        Fraction of the phase in each slice.
    counts : dict of str to ndarray
        Phase voxels in each slice.
    fraction : float
        Whole-volume fraction.
    shape : tuple of int
    voxel_size : tuple of float
        ``(dz, dy, dx)``, m.
    """

    phase: str
    axes: tuple[int, ...]
    positions: dict[str, np.ndarray]
    profiles: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    fraction: float
    shape: tuple[int, int, int] = (0, 0, 0)
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def mean(self, axis: int | str) -> float:
        """Mean slice fraction along ``axis``."""
        return float(np.mean(self.profiles[_axis_name(axis)]))

    def sd(self, axis: int | str) -> float:
        """Sample standard deviation of the slice fractions along ``axis``."""
        p = self.profiles[_axis_name(axis)]
        return float(np.std(p, ddof=1)) if p.size > 1 else 0.0

    def plot(self, ax=None):
        """Fraction (%) of every slice against its position (µm) along each axis, with the
        mean ± SD of each axis as a band."""
        ax = new_axes(ax)
        label = "porosity" if self.phase.lower() in ("pore", "pores", "porosity") else \
            f"{self.phase} fraction"
        for a in self.axes:
            n = AXIS_NAMES[a]
            x = self.positions[n] * 1e6
            y = self.profiles[n] * 100
            line, = ax.plot(x, y, lw=1.2, label=f"{n}: {self.mean(a) * 100:.2f} ± "
                                                  f"{self.sd(a) * 100:.2f} %")
            m, s = self.mean(a) * 100, self.sd(a) * 100
            ax.fill_between([x.min(), x.max()], m - s, m + s, color=line.get_color(),
                            alpha=0.15, lw=0)
        ax.axhline(self.fraction * 100, color="k", lw=0.8, ls="--", label="whole volume")
        ax.set_xlabel("slice position (µm)")
        ax.set_ylabel(f"{label} (%)")
        ax.legend(frameon=False)
        ax.set_title(self.title or f"{label} per slice")
        return ax


def _axis_name(axis) -> str:
    if isinstance(axis, str) and axis in AXIS_NAMES:
        return axis
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) and 0 <= axis <= 2:
        return AXIS_NAMES[int(axis)]
    raise InputError(f"axis {axis!r}", field="axis", expected="0 (z), 1 (y), 2 (x) or a name")


def _check_axis(axis) -> int:
    return AXIS_NAMES.index(_axis_name(axis))


def slice_fractions(volume, phase=None, axis: int | str | None = None, *, voxel_size=None,
                    progress: bool = True) -> SliceProfile:
    """Fraction of a phase in every slice along z, y and x, with mean and SD per axis.

    Parameters
    ----------
    volume : Volume, ndarray, dask array or zarr array
        ``(z, y, x)`` labels or a boolean mask.
    phase : str or int, optional
        Phase name or label (default: True for a mask, 1 for labels).
    axis : int or str, optional
        Only this axis (0/"z", 1/"y", 2/"x"); default all three.
    voxel_size : float, str or sequence of 3, optional
        ``(dz, dy, dx)``, m; required for plain arrays.
    progress : bool
        Progress bar over the blocks of a dask/zarr volume.

    Returns
    -------
    SliceProfile

    Raises
    ------
    InputError
        Bad volume or voxel size, unknown or empty phase, bad axis.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((4, 4, 4), bool); m[:, :, 0] = True
    >>> p = slice_fractions(m, voxel_size=1e-6)
    >>> p.profiles["x"].tolist(), round(p.sd("z"), 12)
    ([1.0, 0.0, 0.0, 0.0], 0.0)
    """
    axes = (0, 1, 2) if axis is None else (_check_axis(axis),)
    volume = lazy_input(volume)
    mask, vs = resolve_phase(volume, phase, voxel_size, allow_empty=True)
    shape = tuple(int(s) for s in mask.shape)
    sums = [np.zeros(n, dtype=np.int64) for n in shape]

    def per_block(blk, off):
        return [np.count_nonzero(blk, axis=tuple(b for b in range(3) if b != a)) for a in axes]

    for off, counts in iter_blocks(mask, per_block, progress=progress, desc="slice fractions"):
        for a, c in zip(axes, counts, strict=True):
            sums[a][off[a]:off[a] + c.size] += c
    total = int(sums[axes[0]].sum())
    name = phase_display_name(volume, phase)
    if total == 0:
        raise InputError(f"phase {name!r} has no voxel", field="phase",
                         expected="a phase present in the volume")
    n_vox = int(np.prod(shape))
    frac = total / n_vox
    origin = np.asarray(volume.origin if isinstance(volume, Volume) else (0.0, 0.0, 0.0))
    positions, profiles, counts = {}, {}, {}
    values = {"fraction": Value("fraction", frac, 0.0, "", f"φ_{name}")}
    for a in axes:
        n = AXIS_NAMES[a]
        per = n_vox // shape[a]
        positions[n] = origin[a] + (np.arange(shape[a]) + 0.5) * vs[a]
        counts[n] = sums[a]
        profiles[n] = sums[a] / per
        sd = float(np.std(profiles[n], ddof=1)) if shape[a] > 1 else 0.0
        values[f"mean_{n}"] = Value(f"mean_{n}", float(np.mean(profiles[n])), 0.0, "",
                                    f"⟨φ⟩_{n}")
        values[f"sd_{n}"] = Value(f"sd_{n}", sd, math.nan, "", f"SD(φ)_{n}")
    params = {"phase": name, "axes": list(axes), "voxel_size": vs.tolist(), "shape": shape,
              "chunked": is_dask(mask)}
    return SliceProfile(
        values=values, provenance=Provenance.build("slice_fractions", source_files(volume), params),
        title=f"{name} fraction per slice", phase=name, axes=axes, positions=positions,
        profiles=profiles, counts=counts, fraction=frac, shape=shape,
        voxel_size=tuple(float(v) for v in vs))


# --------------------------------------------------------------------------- REV


@dataclass(frozen=True, kw_only=True)
class REVResult(Result):
    """Phase fraction of random cubic sub-volumes against the cube edge, and the REV.

    Values: ``fraction`` (whole volume), ``rev_size`` (REV cube edge, m; NaN when no size
    qualifies) and ``rev_fraction_mean`` (mean sub-volume fraction at the REV size).

    Attributes
    ----------
    phase : str
    sizes : ndarray
        Cube edges, m (ascending).
    edge_voxels : ndarray
        ``(n_sizes, 3)`` voxels per edge along (z, y, x): ``round(size / d)``, at least 1.
    samples : ndarray
        ``(n_sizes, n_samples)`` fraction of every sampled cube.
    mean, sd, low, high : ndarray
        Mean, sample SD and the confidence band of the sub-volume fractions per size.
    fraction : float
        Whole-volume fraction.
    tolerance : float
        Relative tolerance of the REV criterion (0.05 = ±5 %).
    confidence : float
        Coverage of the band (0.95).
    band : str
        ``"normal"``: mean ± z SD (z = 1.96 for 95 %); ``"percentile"``: empirical quantiles.
    rev_size : float
        Smallest edge from which every larger size's band lies within
        ``fraction × (1 ± tolerance)``, m; NaN if none.
    converged : bool
        Whether an REV was found.
    """

    phase: str
    sizes: np.ndarray
    edge_voxels: np.ndarray
    samples: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    low: np.ndarray
    high: np.ndarray
    fraction: float
    tolerance: float
    confidence: float
    band: str
    rev_size: float
    converged: bool
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    shape: tuple[int, int, int] = (0, 0, 0)

    def plot(self, ax=None):
        """Mean sub-volume fraction (%) against the cube edge (µm) with the confidence band,
        the ±tolerance window around the whole-volume fraction and the REV."""
        ax = new_axes(ax)
        x = self.sizes * 1e6
        ax.fill_between(x, self.low * 100, self.high * 100, color="C0", alpha=0.25, lw=0,
                        label=f"{self.confidence * 100:.0f} % band ({self.band})")
        ax.plot(x, self.mean * 100, "o-", color="C0", ms=3, label="mean of sub-volumes")
        f = self.fraction * 100
        ax.axhline(f, color="k", lw=0.8, label="whole volume")
        for s in (-1, 1):
            ax.axhline(f * (1 + s * self.tolerance), color="k", lw=0.8, ls="--")
        if self.converged:
            ax.axvline(self.rev_size * 1e6, color="C3", lw=1,
                       label=f"REV = {self.rev_size * 1e6:.3g} µm")
        ax.set_xlabel("cube edge (µm)")
        ax.set_ylabel(f"{self.phase} fraction (%)")
        ax.legend(frameon=False)
        ax.set_title(self.title or "Representative elementary volume")
        return ax


def _default_sizes(shape, vs, n: int = 14) -> np.ndarray:
    extent = np.asarray(shape) * vs
    big = float(extent.min())
    small = max(2.0 * float(vs.max()), big / 64.0)
    if small >= big:
        return np.array([big])
    return np.unique(np.geomspace(small, big, n))


def _summed_table(mask: np.ndarray) -> np.ndarray:
    dtype = np.int32 if mask.size < 2**31 else np.int64
    s = np.zeros(tuple(n + 1 for n in mask.shape), dtype=dtype)
    inner = s[1:, 1:, 1:]
    np.cumsum(mask, axis=0, dtype=dtype, out=inner)
    np.cumsum(inner, axis=1, out=inner)
    np.cumsum(inner, axis=2, out=inner)
    return s


def _box_sums(s: np.ndarray, lo: np.ndarray, n: np.ndarray) -> np.ndarray:
    z0, y0, x0 = lo.T
    z1, y1, x1 = (lo + n).T
    return (s[z1, y1, x1].astype(np.int64) - s[z0, y1, x1] - s[z1, y0, x1] - s[z1, y1, x0]
            + s[z0, y0, x1] + s[z0, y1, x0] + s[z1, y0, x0] - s[z0, y0, x0])


def representative_volume(
    volume,
    phase=None,
    *,
    voxel_size=None,
    sizes=None,
    n_samples: int = 100,
    seed=None,
    tolerance: float = 0.05,
    confidence: float = 0.95,
    band: str = "normal",
    progress: bool = True,
) -> REVResult:
    """Representative elementary volume: phase fraction of random cubes against their edge.

    For each edge length ``L`` (physical, so anisotropic voxels give cubes of
    ``round(L / d_i)`` voxels along each axis), ``n_samples`` cubes are placed uniformly at random
    inside the volume and their phase fraction counted exactly. The band at each size is
    ``mean ± z SD`` (``band="normal"``, ``z`` the two-sided normal quantile of ``confidence``)
    or the empirical ``(1 ∓ confidence)/2`` quantiles (``band="percentile"``): the range where a
    single cube of that edge falls with probability ``confidence``. The REV is the smallest edge
    from which the band of that size and of every larger size lies within
    ``φ (1 ± tolerance)``, ``φ`` the whole-volume fraction (SCIENCE §8). A cube spanning the
    whole volume is exact by construction and is never reported as the REV. Cubes larger than
    about half the volume overlap heavily, so their band is narrower than independent samples
    would give: an REV close to the volume size says the volume is barely representative.

    Parameters
    ----------
    volume : Volume, ndarray, dask array or zarr array
        ``(z, y, x)`` labels or a boolean mask.
    phase : str or int, optional
        Phase (default True for a mask, 1 for labels).
    voxel_size : float, str or sequence of 3, optional
        ``(dz, dy, dx)``, m; required for plain arrays.
    sizes : sequence of float, optional
        Cube edges, m; default 14 edges spaced geometrically from ``max(2 d_max, L_min/64)`` to
        the smallest extent ``L_min`` of the volume.
    n_samples : int
        Cubes per size.
    seed : int or numpy Generator, optional
        Random positions.
    tolerance : float
        Relative half-width of the acceptance window (0.05 = ±5 %).
    confidence : float
        Coverage of the band, in (0, 1).
    band : {"normal", "percentile"}
    progress : bool
        Progress bar over the sizes.

    Returns
    -------
    REVResult

    Raises
    ------
    InputError
        Bad volume, phase, sizes (non-positive or larger than the volume), n_samples,
        tolerance, confidence or band.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.random.default_rng(0).random((48, 48, 48)) < 0.3
    >>> r = representative_volume(m, voxel_size=1e-6, seed=1, progress=False)
    >>> bool(r.converged), 10e-6 < r.rev_size < 30e-6
    (True, True)
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 2:
        raise InputError(f"n_samples {n_samples!r}", field="n_samples",
                         expected="an integer ≥ 2")
    for nm, v in (("tolerance", tolerance), ("confidence", confidence)):
        if not (isinstance(v, (int, float)) and 0 < v < 1):
            raise InputError(f"{nm} {v!r}", field=nm, expected="a number in (0, 1)")
    if band not in ("normal", "percentile"):
        raise InputError(f"band {band!r}", field="band", expected="'normal' or 'percentile'")
    volume = lazy_input(volume)
    mask, vs = resolve_phase(volume, phase, voxel_size, allow_empty=True)
    shape = np.asarray(mask.shape, dtype=np.int64)
    if sizes is None:
        sizes_arr = _default_sizes(shape, vs)
    else:
        try:
            sizes_arr = np.sort(np.asarray(sizes, dtype=float).ravel())
        except (TypeError, ValueError):
            raise InputError(f"sizes {sizes!r}", field="sizes",
                             expected="cube edges in m") from None
        if sizes_arr.size == 0 or not np.all(np.isfinite(sizes_arr)) or np.any(sizes_arr <= 0):
            raise InputError(f"sizes {sizes_arr.tolist()}", field="sizes",
                             expected="positive, finite cube edges in m")
    edges = np.maximum(1, np.rint(sizes_arr[:, None] / vs[None, :])).astype(np.int64)
    if np.any(edges > shape[None, :]):
        big = sizes_arr[np.any(edges > shape[None, :], axis=1)][0]
        raise InputError(f"cube edge {big:.4g} m does not fit in the volume "
                         f"({(shape * vs).tolist()} m)", field="sizes",
                         expected=f"edges up to {float((shape * vs).min()):.4g} m")
    rng = np.random.default_rng(seed)
    name = phase_display_name(volume, phase)

    dask_input = is_dask(mask)
    table = None
    if not dask_input:
        mask = np.asarray(mask)
        total = int(np.count_nonzero(mask))
        if mask.size <= REV_TABLE_MAX_VOXELS:
            table = _summed_table(mask)
    else:
        total = sum(n for _, n in iter_blocks(mask, lambda b, o: int(np.count_nonzero(b))))
    if total == 0:
        raise InputError(f"phase {name!r} has no voxel", field="phase",
                         expected="a phase present in the volume")
    frac = total / int(np.prod(shape))

    samples = np.empty((len(sizes_arr), n_samples))
    bar = _bar(len(sizes_arr), progress, "REV sizes", "size")
    for k, n in enumerate(edges):
        lo = np.column_stack([rng.integers(0, shape[a] - n[a] + 1, n_samples)
                              for a in range(3)])
        if table is not None:
            cnt = _box_sums(table, lo, n)
        elif dask_input:
            import dask

            cnt = np.asarray(dask.compute(*[
                mask[p[0]:p[0] + n[0], p[1]:p[1] + n[1], p[2]:p[2] + n[2]].sum()
                for p in lo], scheduler="threads"), dtype=np.int64)
        else:
            cnt = np.array([np.count_nonzero(mask[p[0]:p[0] + n[0], p[1]:p[1] + n[1],
                                                  p[2]:p[2] + n[2]]) for p in lo])
        samples[k] = cnt / float(np.prod(n))
        bar.update(1)
    bar.close()
    mean = samples.mean(axis=1)
    sd = samples.std(axis=1, ddof=1)
    if band == "normal":
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + confidence / 2))
        low, high = np.clip(mean - z * sd, 0, 1), np.clip(mean + z * sd, 0, 1)
    else:
        q = (1 - confidence) / 2
        low, high = np.quantile(samples, q, axis=1), np.quantile(samples, 1 - q, axis=1)
    # one-ulp slack so that a band exactly on the window edge is accepted
    eps = 1e-12 * max(frac, 1e-300)
    ok = (low >= frac * (1 - tolerance) - eps) & (high <= frac * (1 + tolerance) + eps)
    # smallest index from which every larger size is inside the window; a cube as large as
    # the whole volume is exact by construction and does not count as an REV
    whole = np.all(edges == shape[None, :], axis=1)
    bad = np.flatnonzero(~ok)
    first = 0 if bad.size == 0 else int(bad[-1]) + 1
    converged = first < len(sizes_arr) and not whole[first]
    rev = float(sizes_arr[first]) if converged else math.nan
    values = {"fraction": Value("fraction", frac, 0.0, "", f"φ_{name}")}
    diagnostics = ()
    if converged:
        values["rev_size"] = Value("rev_size", rev, math.nan, "m", "L_REV")
        values["rev_fraction_mean"] = Value("rev_fraction_mean", float(mean[first]),
                                            float(sd[first] / math.sqrt(n_samples)), "",
                                            "⟨φ⟩_REV")
    else:
        largest = float(sizes_arr[-1]) * 1e6
        diagnostics = (Diagnostic(
            "unmeasurable", f"no representative volume of {name} within the volume: cubes up "
            f"to {largest:.3g} µm still vary by more than ±{tolerance * 100:g} % "
            f"({confidence * 100:g} % band); the volume may be too small to be representative",
            fields=("rev_size",)),)
    params = {"phase": name, "voxel_size": vs.tolist(), "sizes": sizes_arr.tolist(),
              "n_samples": int(n_samples), "seed": seed if isinstance(seed, int) else None,
              "tolerance": tolerance, "confidence": confidence, "band": band}
    return REVResult(
        values=values, provenance=Provenance.build("representative_volume", source_files(volume),
                                                   params),
        title=f"REV of {name} (±{tolerance * 100:g} %)", diagnostics=diagnostics,
        phase=name, sizes=sizes_arr,
        edge_voxels=edges, samples=samples, mean=mean, sd=sd, low=np.asarray(low),
        high=np.asarray(high), fraction=frac, tolerance=float(tolerance),
        confidence=float(confidence), band=band, rev_size=rev, converged=bool(converged),
        voxel_size=tuple(float(v) for v in vs), shape=tuple(int(s) for s in shape))

