"""Connected components of a phase, the faces they touch, and percolation between two faces.

Conventions
-----------
Connectivity (``connectivity=``) says which voxels are neighbours:

* ``6``: voxels sharing a face (the default, as in seed 004's 6-neighbour propagation);
* ``18``: sharing a face or an edge;
* ``26``: sharing a face, an edge or a corner.

Faces of a ``(z, y, x)`` volume are named ``"z-"`` (the first slice along z, index 0), ``"z+"``
(the last slice), and likewise ``"y-"``, ``"y+"``, ``"x-"``, ``"x+"``; :data:`FACES` is their order
in the boolean tables of :func:`component_faces`. A component touches a face when one of its
voxels lies in that outermost slice.

Percolation along ``axis`` (:func:`percolation`) classifies every component of the phase by the
two faces normal to that axis (inlet ``"<axis>-"`` and outlet ``"<axis>+"``):

* **through** (percolating): touches both faces;
* **dead-end**: touches exactly one of them (open at one end, blind at the other);
* **isolated**: touches neither (it may still touch the four lateral faces, where the imaged
  volume cuts it); **enclosed** components, which touch none of the six faces, are the subset
  of isolated ones that are closed pores inside the volume.

Fractions are of the phase's voxels (through + dead-end + isolated = 1).

Chunked labelling of dask/zarr volumes (:func:`label_components`): every block is labelled
on its own with ``cc3d``; the labels on the two sides of every internal block boundary plane
(with the in-plane offsets the connectivity allows, so edge and corner contacts between
blocks count for 18/26) are joined into a graph of equivalences whose connected components
(``scipy.sparse.csgraph``, a union-find in effect) give one global label per component; the
output is a lazy dask array that labels each block again and maps its labels through that
table (or a zarr store when ``out`` is given). Only block faces and the label table are held in
memory; the result equals the in-memory labelling up to a renumbering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Provenance, Result, Value, new_axes
from .fractions import (
    _bar,
    block_offsets,
    is_dask,
    is_zarr,
    iter_blocks,
    lazy_input,
)
from .volume import AXIS_NAMES, check_labels, phase_display_name, resolve_phase, source_files

__all__ = [
    "CONNECTIVITIES",
    "FACES",
    "PercolationResult",
    "component_faces",
    "component_sizes",
    "label_components",
    "percolation",
]

CONNECTIVITIES = (6, 18, 26)
FACES = ("z-", "z+", "y-", "y+", "x-", "x+")

#: Class codes of :meth:`PercolationResult.classes`.
CLASS_CODES = {"other phase": 0, "isolated": 1, "dead-end": 2, "through": 3}


def _check_connectivity(connectivity) -> int:
    if isinstance(connectivity, bool) or connectivity not in CONNECTIVITIES:
        raise InputError(f"connectivity {connectivity!r}", field="connectivity",
                         expected="6 (faces), 18 (faces + edges) or 26 (+ corners)")
    return int(connectivity)


def _check_axis(axis) -> int:
    if isinstance(axis, str) and axis in AXIS_NAMES:
        return AXIS_NAMES.index(axis)
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) and 0 <= axis <= 2:
        return int(axis)
    raise InputError(f"axis {axis!r}", field="axis", expected="0 (z), 1 (y), 2 (x) or a name")


def _mask(volume, phase, voxel_size, allow_empty=True):
    """Boolean mask (numpy or dask) of the phase; voxel size is optional here."""
    volume = lazy_input(volume)
    from .volume import Volume

    if voxel_size is None and not isinstance(volume, Volume):
        # connectivity does not depend on the voxel size: check with a placeholder
        mask, _ = resolve_phase(volume, phase, 1e-6, allow_empty=allow_empty)
        return volume, mask, None
    mask, vs = resolve_phase(volume, phase, voxel_size, allow_empty=allow_empty)
    return volume, mask, vs


# --------------------------------------------------------------------------- labelling


def label_components(mask_or_volume, phase=None, *, voxel_size=None, connectivity: int = 6,
                     out=None, progress: bool = True) -> tuple[Any, int]:
    """Connected components of a phase, numbered ``1 … n`` (0 outside the phase).

    Parameters
    ----------
    mask_or_volume : Volume, ndarray, dask array or zarr array
        ``(z, y, x)`` labels or a boolean mask.
    phase : str or int, optional
        Phase (default True for a mask, 1 for labels).
    voxel_size : optional
        Checked if given; components do not depend on it.
    connectivity : {6, 18, 26}
        Neighbours sharing a face (6), also an edge (18), also a corner (26).
    out : str, path or zarr store, optional
        Chunked input only: write the labels to this zarr store and return it opened as a
        dask array (otherwise the labels stay lazy and are recomputed each time they are used).
    progress : bool
        Progress bar over the blocks of a chunked volume.

    Returns
    -------
    labels : ndarray or dask array
        uint32 component labels (uint64 for 2³² voxels or components and more).
    n : int
        Number of components.

    Raises
    ------
    InputError
        Bad volume, phase or connectivity.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((3, 3, 3), bool); m[0, 0, 0] = m[1, 1, 1] = True
    >>> [label_components(m, connectivity=c)[1] for c in (6, 18, 26)]
    [2, 2, 1]
    """
    conn = _check_connectivity(connectivity)
    _, mask, _ = _mask(mask_or_volume, phase, voxel_size)
    if not is_dask(mask):
        mask = np.asarray(mask)
        from .memory import check_memory

        check_memory(mask.shape, "labels", include_input=False)
        return _cc3d(mask, conn)
    return _label_chunked(mask, conn, out, progress)


def _cc3d(blk: np.ndarray, conn: int) -> tuple[np.ndarray, int]:
    """cc3d labels (uint32; uint64 from 2³² voxels) of a boolean block.

    Blocks thinner than 3 voxels along an axis are padded with background first: cc3d 3.x
    under-sizes its union-find table for some one-voxel-thick 26-connected blocks ("Label n
    cannot be mapped to union-find array")."""
    import cc3d

    blk = np.asarray(blk, dtype=bool)
    shape = blk.shape
    if min(shape) < 3:
        blk = np.pad(blk, [(0, max(0, 3 - n)) for n in shape])
    lab, n = cc3d.connected_components(blk, connectivity=conn, return_N=True,
                                       out_dtype=np.uint32 if blk.size < 2**32 else np.uint64)
    if lab.shape != shape:
        lab = np.ascontiguousarray(lab[:shape[0], :shape[1], :shape[2]])
    return lab, int(n)


def _plane_offsets(conn: int) -> list[tuple[int, int]]:
    """In-plane offsets (du, dv) joining two voxels across a plane, for a connectivity."""
    if conn == 6:
        return [(0, 0)]
    if conn == 18:
        return [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
    return [(du, dv) for du in (-1, 0, 1) for dv in (-1, 0, 1)]


def _pairs(low: np.ndarray, high: np.ndarray, conn: int) -> np.ndarray:
    """Label pairs (both > 0) facing each other across a plane: ``low[u, v]``, ``high[u+du,
    v+dv]``."""
    nu, nv = low.shape
    out = []
    for du, dv in _plane_offsets(conn):
        a = low[max(0, -du):nu - max(0, du), max(0, -dv):nv - max(0, dv)]
        b = high[max(0, du):nu - max(0, -du), max(0, dv):nv - max(0, -dv)]
        keep = (a > 0) & (b > 0)
        if keep.any():
            out.append(np.column_stack([a[keep], b[keep]]))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(out), axis=0)


def _label_chunked(mask, conn: int, out, progress: bool):
    import dask.array as da
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    offs = block_offsets(mask.chunks)
    grid = tuple(len(c) for c in mask.chunks)
    shape = mask.shape
    n_local = np.zeros(grid, dtype=np.int64)
    # first and last plane of every block along every axis (local labels)
    planes: dict[tuple[int, tuple[int, ...], int], np.ndarray] = {}
    def first_pass(blk, off):
        idx = tuple(int(np.searchsorted(offs[a], off[a])) for a in range(3))
        lab, n = _cc3d(blk, conn)
        faces = {}
        for a in range(3):
            if idx[a] > 0:
                faces[(a, idx, 0)] = np.take(lab, 0, axis=a).copy()
            if idx[a] < grid[a] - 1:
                faces[(a, idx, 1)] = np.take(lab, -1, axis=a).copy()
        return idx, int(n), faces

    for _, (idx, n, faces) in iter_blocks(mask, first_pass, progress=progress,
                                          desc="labelling blocks"):
        n_local[idx] = n
        planes.update(faces)
    label_off = np.concatenate([[0], np.cumsum(n_local.ravel())[:-1]]).reshape(grid)
    n_total = int(n_local.sum())

    def glob(p: np.ndarray, idx) -> np.ndarray:
        g = p.astype(np.int64)
        g[g > 0] += label_off[idx]
        return g

    edges = []
    bar = _bar(sum(g - 1 for g in grid), progress, "joining blocks", "plane")
    for a in range(3):
        others = [b for b in range(3) if b != a]
        for i in range(1, grid[a]):
            low = np.zeros((shape[others[0]], shape[others[1]]), dtype=np.int64)
            high = np.zeros_like(low)
            for j in range(grid[others[0]]):
                for k in range(grid[others[1]]):
                    lo_idx = [0, 0, 0]
                    lo_idx[a], lo_idx[others[0]], lo_idx[others[1]] = i - 1, j, k
                    hi_idx = list(lo_idx)
                    hi_idx[a] = i
                    u0 = offs[others[0]][j]
                    v0 = offs[others[1]][k]
                    p_lo = planes.pop((a, tuple(lo_idx), 1))
                    p_hi = planes.pop((a, tuple(hi_idx), 0))
                    low[u0:u0 + p_lo.shape[0], v0:v0 + p_lo.shape[1]] = glob(p_lo, tuple(lo_idx))
                    high[u0:u0 + p_hi.shape[0], v0:v0 + p_hi.shape[1]] = glob(p_hi,
                                                                             tuple(hi_idx))
            edges.append(_pairs(low, high, conn))
            bar.update(1)
    bar.close()
    pairs = np.concatenate(edges) if edges else np.zeros((0, 2), dtype=np.int64)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(n_total + 1, n_total + 1))
    _, comp = connected_components(graph, directed=False)
    # number the merged components 1..n in the order of their first block label
    comp_fg = comp[1:]
    _, first = np.unique(comp_fg, return_index=True)
    ordered = comp_fg[np.sort(first)]
    n = int(ordered.size)
    dtype = np.uint32 if n < 2**32 - 1 else np.uint64
    new_id = np.zeros(int(comp.max()) + 1, dtype=dtype)
    new_id[ordered] = np.arange(1, n + 1, dtype=dtype)
    lut = np.zeros(n_total + 1, dtype=dtype)
    lut[1:] = new_id[comp_fg]
    block_luts = {}
    for idx in np.ndindex(grid):
        o, m = int(label_off[idx]), int(n_local[idx])
        t = lut[o:o + m + 1].copy()
        t[0] = 0
        block_luts[idx] = t

    def relabel(blk, block_info=None):
        loc = tuple(block_info[0]["chunk-location"])
        lab, _ = _cc3d(blk, conn)
        return block_luts[loc][lab]

    labels = da.map_blocks(relabel, mask, dtype=dtype,
                           name=f"cc3d-relabel-{conn}-{mask.name}")
    if out is not None:
        labels.to_zarr(out, overwrite=True)
        labels = da.from_zarr(out)
    return labels, n


# --------------------------------------------------------------------------- faces and sizes


def _scan(labels, n: int, progress: bool = False):
    """Voxels per component and the faces each touches, in one pass over the blocks."""
    shape = labels.shape
    sizes = np.zeros(n + 1, dtype=np.int64)
    faces = np.zeros((n + 1, 6), dtype=bool)

    def per_block(blk, off):
        cnt = np.bincount(blk.reshape(-1), minlength=n + 1)[:n + 1]
        touched = []
        for a in range(3):
            if off[a] == 0:
                touched.append((2 * a, np.unique(np.take(blk, 0, axis=a))))
            if off[a] + blk.shape[a] == shape[a]:
                touched.append((2 * a + 1, np.unique(np.take(blk, -1, axis=a))))
        return cnt, touched

    for _, (cnt, touched) in iter_blocks(labels, per_block, progress=progress,
                                         desc="component sizes"):
        sizes += cnt
        for f, labs in touched:
            faces[labs, f] = True
    faces[0] = False
    return sizes, faces


def _n_components(labels, n_components) -> int:
    if n_components is not None:
        if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) \
                or n_components < 0:
            raise InputError(f"n_components {n_components!r}", field="n_components",
                             expected="the number of components (an integer ≥ 0)")
        return int(n_components)
    if is_dask(labels):
        return int(labels.max().compute())
    return int(np.max(labels)) if labels.size else 0


def _check_component_labels(labels):
    if is_zarr(labels):
        import dask.array as da

        labels = da.from_zarr(labels)
    labels = check_labels(labels, min_size=1)
    if np.dtype(labels.dtype).kind == "b":
        raise InputError("boolean array given as component labels", field="labels",
                         expected="integer labels from label_components")
    if np.dtype(labels.dtype).kind == "i":
        labels = labels.astype(np.int64) if is_dask(labels) else np.asarray(labels, np.int64)
    return labels


def component_faces(labels, n_components: int | None = None) -> np.ndarray:
    """Which faces of the volume each component touches.

    Parameters
    ----------
    labels : ndarray, dask array or zarr array
        Component labels ``0 … n`` from :func:`label_components`.
    n_components : int, optional
        ``n``; found from the labels if omitted (one more pass over a chunked volume).

    Returns
    -------
    ndarray of bool, shape ``(n + 1, 6)``
        Row ``c``: does component ``c`` touch faces :data:`FACES` = ``("z-", "z+", "y-", "y+",
        "x-", "x+")``; row 0 (background) is all False.

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.zeros((4, 4, 4), np.uint32); lab[:, 1, 1] = 1; lab[2, 2, 2] = 2
    >>> component_faces(lab)[1:].astype(int).tolist()
    [[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
    """
    labels = _check_component_labels(labels)
    n = _n_components(labels, n_components)
    return _scan(labels, n)[1]


def component_sizes(labels, n_components: int | None = None) -> np.ndarray:
    """Voxels in each component: array of length ``n + 1`` (index 0: background).

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.zeros((3, 3, 3), np.uint32); lab[0] = 1; lab[2, 2, 2] = 2
    >>> component_sizes(lab).tolist()
    [17, 9, 1]
    """
    labels = _check_component_labels(labels)
    n = _n_components(labels, n_components)
    return _scan(labels, n)[0]


# --------------------------------------------------------------------------- percolation


@dataclass(frozen=True, kw_only=True)
class PercolationResult(Result):
    """Percolation of a phase between the two faces normal to an axis.

    Values (all dimensionless): ``percolating`` (1 or 0), ``phase_fraction`` (ε),
    ``through_fraction``, ``dead_end_fraction``, ``isolated_fraction`` (fractions of the phase,
    summing to 1), ``enclosed_fraction`` (touching no face at all; part of the isolated),
    ``dead_end_inlet_fraction`` / ``dead_end_outlet_fraction`` (dead ends open to the inlet
    ``<axis>-`` / outlet ``<axis>+``), and the counts ``n_components``, ``n_through``,
    ``n_dead_end``, ``n_isolated``.

    Attributes
    ----------
    phase : str
    axis : int
        0 (z), 1 (y), 2 (x).
    connectivity : int
        6, 18 or 26.
    faces : tuple of str
        ``(inlet, outlet)``, e.g. ``("z-", "z+")``.
    percolating : bool
    component_volumes : ndarray
        Voxels per component (index 0: voxels outside the phase).
    component_faces : ndarray
        ``(n + 1, 6)`` bool, faces touched (order :data:`FACES`).
    component_class : ndarray
        ``(n + 1,)`` uint8 class code per component (:data:`CLASS_CODES`: 1 isolated,
        2 dead-end, 3 through; 0 for the background).
    class_slice : ndarray
        Class codes on the mid slice that contains the transport axis (rows along the axis).
    slice_axes : tuple of int
        ``(row axis, column axis, cut axis)`` of :attr:`class_slice`.
    labels : ndarray, dask array or None
        Component labels (only with ``return_labels=True``).
    voxel_size : tuple of float or None
        m.
    shape : tuple of int
    """

    phase: str
    axis: int
    connectivity: int
    faces: tuple[str, str]
    percolating: bool
    component_volumes: np.ndarray
    component_faces: np.ndarray
    component_class: np.ndarray
    class_slice: np.ndarray
    slice_axes: tuple[int, int, int]
    labels: Any = None
    voxel_size: tuple[float, float, float] | None = None
    shape: tuple[int, int, int] = (0, 0, 0)
    conventions: dict[str, str] = field(default_factory=dict)

    def classes(self):
        """Class code of every voxel (0 other phase, 1 isolated, 2 dead-end, 3 through);
        needs ``return_labels=True``."""
        if self.labels is None:
            raise InputError("the labels were not kept", field="return_labels",
                             expected="percolation(..., return_labels=True)")
        if is_dask(self.labels):
            lut = self.component_class
            return self.labels.map_blocks(lambda b: lut[b], dtype=np.uint8)
        return self.component_class[self.labels]

    def _extra_dict(self) -> dict[str, Any]:
        d = super()._extra_dict()
        d.pop("labels", None)
        return d

    def summary(self) -> str:
        return "\n".join([super().summary(),
                          f"  faces {self.faces[0]} → {self.faces[1]}, "
                          f"{self.connectivity}-connectivity"])

    def plot(self, ax=None):
        """The mid slice containing the transport axis, coloured by class: through (blue),
        dead-end (orange), isolated (red), other phase (light grey)."""
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        ax = new_axes(ax)
        colours = ["#eeeeee", "#d62728", "#ff7f0e", "#1f77b4"]
        cmap = ListedColormap(colours)
        row, col, cut = self.slice_axes
        if self.voxel_size is not None:
            vs = np.asarray(self.voxel_size) * 1e6
            extent = (0, self.shape[col] * vs[col], self.shape[row] * vs[row], 0)
            unit = " (µm)"
        else:
            extent = (0, self.shape[col], self.shape[row], 0)
            unit = " (voxels)"
        ax.imshow(self.class_slice, cmap=cmap, vmin=-0.5, vmax=3.5, extent=extent,
                  interpolation="nearest")
        ax.set_xlabel(f"{AXIS_NAMES[col]}{unit}")
        ax.set_ylabel(f"{AXIS_NAMES[row]}{unit}")
        fr = {k: self.values[f"{k}_fraction"].value for k in ("through", "dead_end", "isolated")}
        handles = [Patch(color=colours[3], label=f"through {fr['through'] * 100:.1f} %"),
                   Patch(color=colours[2], label=f"dead-end {fr['dead_end'] * 100:.1f} %"),
                   Patch(color=colours[1], label=f"isolated {fr['isolated'] * 100:.1f} %")]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1),
                  frameon=False)
        state = "percolates" if self.percolating else "does not percolate"
        ax.set_title(f"{self.phase} {state} {self.faces[0]}→{self.faces[1]} "
                     f"(mid {AXIS_NAMES[cut]} slice)")
        return ax


def percolation(volume, phase=None, axis: int | str = 0, *, voxel_size=None,
                connectivity: int = 6, return_labels: bool = False,
                progress: bool = True) -> PercolationResult:
    """Does a phase connect the two faces normal to ``axis``; through, dead-end and isolated
    fractions of the phase.

    Parameters
    ----------
    volume : Volume, ndarray, dask array or zarr array
        ``(z, y, x)`` labels or a boolean mask.
    phase : str or int, optional
        Phase (default True for a mask, 1 for labels).
    axis : int or str
        0/"z", 1/"y" or 2/"x": faces ``"<axis>-"`` (inlet, index 0) and ``"<axis>+"`` (outlet).
    voxel_size : optional
        ``(dz, dy, dx)`` in m (only used for the plot's scale).
    connectivity : {6, 18, 26}
    return_labels : bool
        Keep the component labels in the result (for :meth:`PercolationResult.classes`).
    progress : bool
        Progress bars over the blocks of a chunked volume.

    Returns
    -------
    PercolationResult

    Raises
    ------
    InputError
        Bad volume, empty or unknown phase, bad axis or connectivity.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((8, 5, 5), bool); m[:, 2, 2] = True; m[:3, 0, 0] = True
    >>> r = percolation(m, axis=0)
    >>> r.percolating, r["through_fraction"].value, r["dead_end_fraction"].value
    (True, 0.7272727272727273, 0.2727272727272727)
    """
    conn = _check_connectivity(connectivity)
    ax = _check_axis(axis)
    volume, mask, vs = _mask(volume, phase, voxel_size, allow_empty=True)
    labels, n = label_components(mask, connectivity=conn, progress=progress)
    sizes, faces = _scan(labels, n, progress=progress)
    name = phase_display_name(volume, phase)
    total = int(sizes[1:].sum())
    if total == 0:
        raise InputError(f"phase {name!r} has no voxel", field="phase",
                         expected="a phase present in the volume")
    inlet, outlet = faces[:, 2 * ax], faces[:, 2 * ax + 1]
    cls = np.zeros(n + 1, dtype=np.uint8)
    cls[1:] = 1
    cls[inlet ^ outlet] = 2
    cls[inlet & outlet] = 3
    cls[0] = 0
    enclosed = ~faces.any(axis=1)
    enclosed[0] = False
    fg = slice(1, None)

    def frac(sel) -> float:
        return float(sizes[fg][sel[fg]].sum()) / total

    n_vox = int(np.prod(labels.shape))
    percolating = bool((cls == 3).any())
    vals = {
        "percolating": (float(percolating), "percolating"),
        "phase_fraction": (total / n_vox, f"φ_{name}"),
        "through_fraction": (frac(cls == 3), "f_through"),
        "dead_end_fraction": (frac(cls == 2), "f_dead-end"),
        "isolated_fraction": (frac(cls == 1), "f_isolated"),
        "enclosed_fraction": (frac(enclosed), "f_enclosed"),
        "dead_end_inlet_fraction": (frac((cls == 2) & inlet), "f_dead-end,in"),
        "dead_end_outlet_fraction": (frac((cls == 2) & outlet), "f_dead-end,out"),
        "n_components": (float(n), "N"),
        "n_through": (float(np.count_nonzero(cls == 3)), "N_through"),
        "n_dead_end": (float(np.count_nonzero(cls == 2)), "N_dead-end"),
        "n_isolated": (float(np.count_nonzero(cls == 1)), "N_isolated"),
    }
    values = {k: Value(k, v, 0.0, "", s) for k, (v, s) in vals.items()}
    # mid slice containing the transport axis: cut the first other axis
    others = [a for a in range(3) if a != ax]
    cut, col = others[0], others[1]
    index: list[Any] = [slice(None)] * 3
    index[cut] = labels.shape[cut] // 2
    sl = labels[tuple(index)]
    sl = np.asarray(sl.compute() if is_dask(sl) else sl)
    class_slice = cls[sl]
    if ax > col:
        class_slice = class_slice.T
    fnames = (FACES[2 * ax], FACES[2 * ax + 1])
    conventions = {
        "connectivity": f"{conn}-connectivity (6: faces, 18: + edges, 26: + corners)",
        "faces": f"inlet {fnames[0]} = first slice along {AXIS_NAMES[ax]}, "
                 f"outlet {fnames[1]} = last slice",
        "classes": "through: touches both faces; dead-end: exactly one; isolated: neither; "
                   "enclosed: touches none of the six faces",
    }
    params = {"phase": name, "axis": ax, "connectivity": conn,
              "voxel_size": None if vs is None else vs.tolist(), "chunked": is_dask(labels)}
    title = f"Percolation of {name} along {AXIS_NAMES[ax]}"
    return PercolationResult(
        values=values, provenance=Provenance.build("percolation", source_files(volume), params),
        title=title, phase=name, axis=ax, connectivity=conn, faces=fnames,
        percolating=percolating, component_volumes=sizes, component_faces=faces,
        component_class=cls, class_slice=class_slice, slice_axes=(ax, col, cut),
        labels=labels if return_labels else None,
        voxel_size=None if vs is None else tuple(float(v) for v in vs),
        shape=tuple(int(s) for s in labels.shape), conventions=conventions)

