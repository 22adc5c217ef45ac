"""Memory a microstructure metric needs, and a check before a run that would not fit.

:func:`estimate_memory` gives the peak memory of one metric on a volume of a given shape;
:func:`check_memory` compares it with the memory available now and warns
(:class:`MemoryWarning`) or raises :class:`~ionscale.errors.InputError` before the run starts.
The metrics call it themselves on numpy input; call it yourself before loading a volume.

Model
-----
For a volume of ``N`` voxels of which a fraction ``φ`` is the analysed phase::

    bytes = input + a N + b φ N + c min(N, 2²³) + fixed

``input`` is the volume itself (``N × itemsize``; left out with ``include_input=False``, as
when the volume is already in memory), ``a`` the bytes per voxel of the work arrays (masks,
label and distance maps, tables), ``b`` the bytes per phase voxel of what scales with the phase
(sparse matrices, solver vectors, queues), ``c`` the slab temporaries of block-wise counting.

Measured with :func:`.memory_measure.measure_memory` (``python -m
ionscale.microstructure.memory_measure 128``): one run in a fresh process on a 128³ uint8 two-
phase blob volume with φ = 0.5 (φ = 0.3 as well for τ), after a warm-up on 16³; "RSS" is the
rise of the peak resident set above the loaded volume (VmHWM, counts C/C++ allocations: cc3d,
edt, scikit-fmm, pyamg), "traced" the peak of the Python/numpy allocations (tracemalloc). Bytes
per voxel of the whole volume; Linux, numpy 2.4.
The coefficients of :data:`MODELS` cover the RSS figures (the geodesic one the figure measured
at 500³, where the fixed costs that dominate at 128³ no longer count):

=======================  =======  ========  =================  ================================
metric                   RSS      traced    model (a, b, c)    what takes it
=======================  =======  ========  =================  ================================
fractions                8.0      8.0       c = 8              intp copy of one slab (bincount)
slice_fractions          1.0      1.0       a = 1, c = 1       the phase mask
rev                      9.1      9.1       a = 9.5            mask, int32 summed-volume table
labels                   7.0      5.0       a = 8              mask, uint32 labels, union-find
percolation              13.1     13.0      a = 7, c = 8       labels, per-slab bincount
local_thickness          8.8      8.3       a = 10             mask, float32 d² painted in place
local_thickness_fast     7.1      6.7       a = 8.5            as exact, fewer sphere centres
tortuosity               see below         a ≈ 20.5           float32 CG vectors, uint8 diagonal
geodesic (euclidean)     38.0     36.0      a = 21             float64 map, int32 queue/parent
geodesic_graph (6/26)    13.0     15.5      a = 16             float64 map, int32 heap/positions
psd                      10.0     10.8      a = 12             labels, statistics, Feret
psd_watershed            103.8    102.9     a = 105            distance map, markers, watershed
=======================  =======  ========  =================  ================================

The tortuosity factor is not fitted but counted from the arrays of its implementation
(:func:`tortuosity_bytes`): the larger of the percolation stage (phase mask, cc3d's uint32
labels and its union-find table, the percolating mask) and the solve (level 0: a uint8
diagonal code, or float64 face conductances and diagonal with a diffusivity map; the four CG
vectors, float32 with ``precision="single"``, float64 with ``"double"``; every coarse level's
three float32 face conductances, float32 diagonal, solution and right-hand side). Per voxel at
large sizes: 20.4 bytes (single), 36.4 (double) for one phase, plus 0.125 GiB for the coarsest
factorisation and numba's compilation on first use. The solver before issue 17 used about 100
bytes per voxel (85 + 30 φ: 8.3 GiB above the volume measured at 500³, 116 GiB at 1024³).
Validated against the measured peak (VmHWM above the loaded volume, 2 CPUs):

=======  ===================  ===========  ==============================================
volume   measured (GiB)       model (GiB)  note
=======  ===================  ===========  ==============================================
256³     0.34 (blobs, φ 0.5)  0.45         single, kernels already compiled
256³     0.66 (blobs, φ 0.5)  0.70         double, kernels compiled during the run
384³     1.09 (φ 0.3 and 0.5) 1.21         single, kernels already compiled
500³     2.56 (TauFactor)     2.51         single, compiled during the run (model −2 %)
1024³    20.96 (blobs, φ 0.3) 20.58        single, labels read from zarr (not held whole);
                                          τ 4.6248 in 734 s on 2 CPUs (36.6 double)
=======  ===================  ===========  ==============================================

``tortuosity_double`` is the same solve with float64 vectors.

Chunked runs (dask or zarr input; ``chunks=`` here): the local metrics (fractions, slice
profiles, labels, local thickness with its halo) hold about ``2 × CPUs`` blocks at a time, so
their memory is ``blocks in flight × block voxels × (itemsize + a)`` plus what they keep per
block (for labels: the six boundary planes of every block and the label table). The other
metrics need the whole volume in memory.

Pore statistics (``psd``, without the watershed split) run chunked too: labels by blocks, then
one pass measuring every component's part in each block. Per block in flight: the mask, the
block's global labels (cc3d output and its table lookup) and cc3d's local labels, about
``itemsize + 17`` bytes per voxel; kept: the boundary planes of every block (as for labels),
per-component tables of about 250 bytes per component (counts, coordinate sums, bounding
boxes, 13 Crofton crossing counts, Feret diameter; the estimate assumes one component per 1000
phase voxels: add 250 bytes per component beyond that) and the Feret candidate points of the
components that cross block faces (their per-block hull vertices, re-hulled past 4 M points).
Measured (``/usr/bin/time -v``, 2 CPUs, 4 blocks in flight): 384³ blobs (φ = 0.4, 11 109
components) in a zarr store of 128³ chunks, peak RSS 343 MB chunked against 601 MB in memory,
imports alone 182 MB (161 MB against 420 MB above them; the model says 208 MB chunked and
713 MB in memory); the
results are identical. ``psd_watershed`` stays in memory (a warning says so for chunked input).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = [
    "MODELS",
    "MemoryModel",
    "MemoryWarning",
    "available_memory",
    "check_memory",
    "estimate_memory",
    "tortuosity_bytes",
]

#: Slab size of block-wise counting on numpy arrays (see fractions.SLAB_VOXELS).
_SLAB = 1 << 23


class MemoryWarning(UserWarning):
    """A run will use most of the memory available (a UserWarning, so that it is shown by
    default; Python hides ResourceWarning outside development mode)."""


@dataclass(frozen=True)
class MemoryModel:
    """Peak memory of one metric: ``a N + b φ N + c min(N, 2²³) + fixed`` bytes.

    Attributes
    ----------
    metric : str
    a : float
        Bytes per voxel of the volume.
    b : float
        Bytes per voxel of the analysed phase.
    c : float
        Bytes per voxel of a counting slab (at most 2²³ voxels).
    fixed : float
        Bytes independent of the size.
    chunked : bool
        Whether the metric runs block by block on dask/zarr input.
    measured : float or None
        Measured bytes per voxel at 128³ (φ = 0.5), NaN if not measured.
    note : str
    """

    metric: str
    a: float
    b: float = 0.0
    c: float = 0.0
    fixed: float = 32 * 2**20
    chunked: bool = False
    measured: float = math.nan
    note: str = ""

    def bytes(self, n_voxels: int, phase_fraction: float = 1.0) -> float:
        return (self.a * n_voxels + self.b * phase_fraction * n_voxels
                + self.c * min(n_voxels, _SLAB) + self.fixed)


#: One model per metric (bytes beyond the input volume).
MODELS: dict[str, MemoryModel] = {m.metric: m for m in [
    MemoryModel("fractions", a=0.0, c=8.0, chunked=True,
                note="bincount of one slab at a time (intp copy of the slab)"),
    MemoryModel("slice_fractions", a=1.0, c=1.0, chunked=True, note="the phase mask"),
    MemoryModel("rev", a=9.5, note="phase mask + int32 summed-volume table (+ one copy)"),
    MemoryModel("labels", a=8.0, chunked=True,
                note="phase mask, cc3d output (uint32) and its provisional-label table"),
    MemoryModel("percolation", a=7.0, c=8.0, chunked=True,
                note="labels + per-slab bincount + per-component tables"),
    MemoryModel("local_thickness", a=10.0, chunked=True,
                note="mask, float32 squared distance map (painted over by the thickness "
                     "map), centre flags and lists (7.8 B/voxel measured at 256³)"),
    MemoryModel("local_thickness_fast", a=8.5, chunked=True,
                note="as exact, fewer sphere centres (6.7 B/voxel measured at 256³)"),
    MemoryModel("tortuosity", a=20.43,
                note="uint8 diagonal code, four float32 CG vectors, float32 coarse levels "
                     "(counted by tortuosity_bytes)"),
    MemoryModel("tortuosity_double", a=36.43,
                note="as tortuosity with float64 CG vectors (precision='double')"),
    MemoryModel("geodesic", a=21.0,
                note="geometric tortuosity, any-angle search: mask, float64 map, int32 heap "
                     "positions and parents (measured 19.3 B/voxel at 500³, φ = 0.3; the "
                     "38 at 128³ is mostly fixed costs)"),
    MemoryModel("geodesic_graph", a=16.0,
                note="geometric tortuosity, 6/26-neighbour Dijkstra: mask, float64 map, int32 "
                     "heap and heap positions (13.0 B/voxel RSS, 15.5 traced at 256³; 17.0 and "
                     "20.0 with the int64 ones before 2026-12-03)"),
    MemoryModel("psd", a=12.0, chunked=True,
                note="labels, per-component statistics, equivalent and Feret diameters; "
                     "chunked: labels by blocks, per-component tables merged across blocks"),
    MemoryModel("psd_watershed", a=105.0,
                note="psd after a watershed split of touching pores: distance map, markers"),
]}

#: Other spellings accepted by :func:`estimate_memory`.
ALIASES = {
    "volume_fractions": "fractions", "fraction": "fractions",
    "slice_profile": "slice_fractions", "slices": "slice_fractions",
    "representative_volume": "rev", "rev_size": "rev",
    "label_components": "labels", "components": "labels", "connectivity": "labels",
    "local_thickness_exact": "local_thickness", "thickness": "local_thickness",
    "thickness_fast": "local_thickness_fast",
    "tortuosity_factor": "tortuosity", "tau": "tortuosity",
    "tortuosity_single": "tortuosity", "tau_double": "tortuosity_double",
    "geodesic_tortuosity": "geodesic", "geodesic_distance": "geodesic",
    "geometric_tortuosity": "geodesic", "geodesic_6": "geodesic_graph",
    "geodesic_26": "geodesic_graph",
    "pore_size_distribution": "psd", "pores": "psd", "watershed": "psd_watershed",
}


def _model(metric: str) -> MemoryModel:
    key = str(metric).strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in MODELS:
        raise InputError(f"unknown metric {metric!r}", field="metric",
                         expected=f"one of {sorted(MODELS)}")
    return MODELS[key]


#: Chunked pore statistics: bytes per voxel of a block in flight (mask, global labels, cc3d
#: local labels and tables), bytes per component of the merged tables, and the phase voxels
#: per component the estimate assumes.
_PSD_BLOCK = 17.0
_PSD_COMPONENT = 250.0
_PSD_VOXELS_PER_COMPONENT = 1000.0

#: Bytes per voxel of the cc3d percolation stage of τ beyond the phase mask: uint32 labels,
#: the percolating mask and cc3d's union-find table (measured ≤ 1 byte per voxel on blob
#: volumes).
_TAU_COMPONENTS = 4.0 + 1.0 + 1.0
#: Bytes independent of the size: the coarsest level's sparse LU (≤ 4096 cells) and numba's
#: compilation of the kernels on their first use (about 0.1 GiB; nothing once cached).
_TAU_FIXED = 128 * 2**20


def tortuosity_bytes(shape, precision: str = "single", *, diffusivity_map: bool = False,
                     axis: int = 0) -> int:
    """Peak bytes of :func:`~.tortuosity.tortuosity_factor` (``solver="cg-mg"``) beyond the
    input volume, counted from the arrays it allocates.

    Parameters
    ----------
    shape : sequence of 3 int
        ``(z, y, x)`` voxels.
    precision : {"single", "double"}
        Storage of the CG vectors (float32 or float64).
    diffusivity_map : bool
        A multi-label solve (``diffusivity=``): float64 diffusivity map, face conductance
        arrays and a float64 diagonal instead of the one-byte diagonal code.
    axis : int
        Transport axis: a transport axis other than z copies the phase mask once.

    Returns
    -------
    int
        Bytes: the larger of the percolation stage and the solve.

    Examples
    --------
    >>> round(tortuosity_bytes((1024, 1024, 1024)) / 2**30, 1)   # GiB, float32 vectors
    20.6
    """
    if precision not in ("single", "double"):
        raise InputError(f"precision {precision!r}", field="precision",
                         expected="'single' or 'double'")
    shp = _shape(shape)
    n = float(np.prod(shp, dtype=np.float64))
    vec = 4.0 if precision == "single" else 8.0
    plane = float(np.prod(shp, dtype=np.float64) / shp[axis])
    mask = 1.0 + (1.0 if axis != 0 else 0.0)          # phase mask (+ transposed copy)
    dmap = 8.0 if diffusivity_map else 0.0            # float64 diffusivity map
    components = (mask + dmap + _TAU_COMPONENTS) * n
    # the percolating mask is freed once level 0 is built, before the coarse levels
    if diffusivity_map:
        level0 = (3 * 8.0 + 8.0) * n                  # float64 face conductances, diagonal
    else:
        level0 = 1.0 * n                              # uint8 diagonal code
    coarse = 0.0
    s = np.asarray(shp, dtype=np.int64)
    while np.prod(s) > 4096:
        s = (s + 1) // 2
        coarse += 24.0 * float(np.prod(s))           # 6 float32 arrays per coarse cell
    solve = level0 + dmap * n + 4 * vec * n + coarse + 4 * 8.0 * plane
    return int(max(components, solve) + _TAU_FIXED)


def _shape(shape) -> tuple[int, ...]:
    try:
        vals = tuple(int(s) for s in np.ravel(shape))
    except (TypeError, ValueError):
        vals = ()
    if len(vals) != 3 or min(vals) < 1:
        raise InputError(f"shape {shape!r}", field="shape",
                         expected="three positive voxel counts (z, y, x)")
    return vals


def estimate_memory(shape, metric: str, dtype=np.uint8, *, phase_fraction: float = 1.0,
                    include_input: bool = True, chunks=None,
                    blocks_in_flight: int | None = None, halo: int | None = None) -> int:
    """Peak memory, in bytes, of one metric on a volume of ``shape``.

    Parameters
    ----------
    shape : sequence of 3 int
        ``(z, y, x)`` voxels.
    metric : str
        One of :data:`MODELS` (``"fractions"``, ``"slice_fractions"``, ``"rev"``,
        ``"labels"``, ``"percolation"``, ``"local_thickness"``, ``"local_thickness_fast"``,
        ``"tortuosity"``, ``"geodesic"``, ``"geodesic_graph"``, ``"psd"``,
        ``"psd_watershed"``) or an alias (``"tortuosity_factor"``...).
    dtype : numpy dtype
        Type of the input labels.
    phase_fraction : float
        Volume fraction of the analysed phase, in [0, 1] (1 is the upper bound).
    include_input : bool
        Count the input volume (False when it is already loaded).
    chunks : int or sequence of 3 int, optional
        Chunk shape of a dask/zarr volume: for the metrics that run block by block, the
        estimate is for a chunked run (the input stays on disk).
    blocks_in_flight : int, optional
        Blocks processed at once in a chunked run (default ``2 × CPUs``).
    halo : int, optional
        Chunked local thickness: voxels added on each side of a block (``2 R_max + 1``, R_max
        the largest distance-map value in voxels); default 16 for local thickness, 0 otherwise.

    Returns
    -------
    int
        Bytes.

    Raises
    ------
    InputError
        Unknown metric, bad shape, chunks or phase fraction.

    Examples
    --------
    >>> estimate_memory((128, 128, 128), "slice_fractions") // 2**20   # input + mask + slab
    38
    """
    model = _model(metric)
    shp = _shape(shape)
    phi = float(phase_fraction)
    if not 0 <= phi <= 1:
        raise InputError(f"phase_fraction {phase_fraction!r}", field="phase_fraction",
                         expected="a fraction in [0, 1]")
    item = np.dtype(dtype).itemsize
    n = int(np.prod(shp, dtype=np.int64))
    if chunks is not None and model.chunked:
        ch = np.broadcast_to(np.asarray(chunks, dtype=np.int64), (3,))
        if np.any(ch < 1):
            raise InputError(f"chunks {chunks!r}", field="chunks",
                             expected="positive chunk sizes")
        ch = np.minimum(ch, shp)
        if halo is None:
            halo = 16 if model.metric.startswith("local_thickness") else 0
        nb = int(np.prod(np.minimum(ch + 2 * int(halo), shp)))
        k = blocks_in_flight or max(2, 2 * (os.cpu_count() or 1))
        per_block = model.bytes(nb, phi) - model.fixed + item * nb
        kept = 0.0
        if model.metric == "psd":
            per_block = (_PSD_BLOCK + item) * nb
            kept = _PSD_COMPONENT * phi * n / _PSD_VOXELS_PER_COMPONENT
        if model.metric in ("labels", "percolation", "psd"):
            # uint32 first/last plane of every block along every axis, and the int64 global
            # planes and label pairs of one block boundary while they are joined
            grid = np.ceil(np.asarray(shp) / ch)
            plane = [n / shp[a] for a in range(3)]
            kept += 4.0 * sum(2 * grid[a] * plane[a] for a in range(3)) + 48.0 * max(plane)
        return int(k * per_block + kept + model.fixed)
    if model.metric in ("tortuosity", "tortuosity_double"):
        precision = "single" if model.metric == "tortuosity" else "double"
        total = tortuosity_bytes(shp, precision) + (item * n if include_input else 0)
        return int(total)
    total = model.bytes(n, phi) + (item * n if include_input else 0)
    return int(total)


def available_memory() -> int:
    """Memory available to this process now, bytes: ``MemAvailable`` of ``/proc/meminfo``,
    capped by a cgroup limit if one is set; ``os.sysconf`` elsewhere."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 0
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as fh:
                text = fh.read().strip()
            if text == "max":
                continue
            limit = int(text)
            with open(usage_file) as fh:
                used = int(fh.read().strip())
            if 0 < limit < 2**60:
                avail = min(avail, max(limit - used, 0)) if avail else max(limit - used, 0)
        except (OSError, ValueError):
            continue
    return int(avail)


def check_memory(shape, metric: str, dtype=np.uint8, *, available: int | None = None,
                 phase_fraction: float = 1.0, include_input: bool = True, chunks=None,
                 warn_above: float = 0.8, stacklevel: int = 2) -> int:
    """Warn or raise before a run that would not fit in memory.

    Parameters
    ----------
    shape, metric, dtype, phase_fraction, include_input, chunks
        As :func:`estimate_memory`.
    available : int, optional
        Bytes available (default :func:`available_memory`).
    warn_above : float
        Warn with :class:`MemoryWarning` when the estimate exceeds this share of ``available``.

    Returns
    -------
    int
        The estimate, bytes.

    Raises
    ------
    InputError
        The estimate exceeds ``available``: the message gives both and suggests a chunked
        (dask/zarr) run or a smaller volume.

    Examples
    --------
    >>> check_memory((64, 64, 64), "labels", available=2**30) < 2**30
    True
    """
    est = estimate_memory(shape, metric, dtype, phase_fraction=phase_fraction,
                          include_input=include_input, chunks=chunks)
    avail = available_memory() if available is None else int(available)
    if avail <= 0:  # unknown: nothing to compare with
        return est
    gib = 2**30
    model = _model(metric)
    hint = ("run it on a dask/zarr volume (chunked)" if model.chunked and chunks is None
            else "use a smaller volume or crop it")
    if est > avail:
        raise InputError(
            f"{model.metric} on a {tuple(_shape(shape))} volume needs about {est / gib:.2f} GiB"
            f" but {avail / gib:.2f} GiB is available", field="shape",
            expected=f"a run that fits in memory: {hint}")
    if est > warn_above * avail:
        warnings.warn(f"{model.metric} on a {tuple(_shape(shape))} volume needs about "
                      f"{est / gib:.2f} GiB of the {avail / gib:.2f} GiB available; {hint} "
                      "if it fails", MemoryWarning, stacklevel=stacklevel)
    return est
