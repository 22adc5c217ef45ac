"""Per-component statistics of :func:`.pores.pore_size_distribution` on chunked labels.

The phase is labelled block by block (:func:`.connectivity.label_components`: cc3d per block,
union-find across block faces, edges and corners), then one more pass over the blocks measures
every component *piece* (its part in one block) and merges the pieces per component:

* voxel counts, coordinate sums (exact integers, so the centroids equal cc3d's ``sum /
  count``), bounding boxes and the first voxel in C order (which gives cc3d's numbering of the
  in-memory run, so the tables come out in the same order);
* Crofton crossings: a pair of voxels ``(p, p + d)`` (13 directions) is counted once: by the
  block holding both voxels, or the one holding the voxel inside the volume when the other is
  outside, or, for two voxels in different blocks, at the first block boundary plane that
  separates them (per axis, the whole boundary plane assembled from the blocks' stored planes).
  The pairs and the outside-is-background rule are exactly those of ``_crossings``, so the
  integer crossing counts, and the areas computed from them, equal the in-memory ones;
* the maximum Feret diameter: a piece that touches no internal block face is a whole component
  and is measured in its block exactly as in memory; the others keep their candidate hull points
  (voxel corners of the first and last voxel of every row, reduced to their convex hull's
  vertices), which are merged per component at the end (re-hulled when they pile up). The
  diameter of the merged points is the in-memory value: both sets contain every vertex of the
  component's hull and lie inside it;
* marching-cubes areas only for components inside one block (NaN for the others, with a
  diagnostic in the result).

Memory: about ``2 × CPUs`` blocks in flight (each: the labels, the mask, cc3d's local labels),
the first and last plane of every block along every axis, per-component tables (about 250 bytes
per component) and the Feret candidate points of the components that cross block faces.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

#: Candidate points kept for the Feret diameters of block-crossing components before they are
#: reduced to the hull vertices of each component (16 bytes each).
_FERET_COMPACT = 4_000_000


@nb.njit(cache=True, nogil=True)
def _piece_stats(loc, m):
    """Per local label 1..m: voxels, coordinate sums, bounding box (lo, hi exclusive) and the
    flat index of the first voxel in C order."""
    nz, ny, nx = loc.shape
    cnt = np.zeros(m + 1, np.int64)
    sums = np.zeros((m + 1, 3), np.int64)
    lo = np.full((m + 1, 3), 2**31 - 1, np.int64)
    hi = np.zeros((m + 1, 3), np.int64)
    first = np.full(m + 1, -1, np.int64)
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                lab = loc[z, y, x]
                if lab == 0:
                    continue
                if cnt[lab] == 0:
                    first[lab] = (z * ny + y) * nx + x
                cnt[lab] += 1
                sums[lab, 0] += z
                sums[lab, 1] += y
                sums[lab, 2] += x
                if z < lo[lab, 0]:
                    lo[lab, 0] = z
                if y < lo[lab, 1]:
                    lo[lab, 1] = y
                if x < lo[lab, 2]:
                    lo[lab, 2] = x
                if z + 1 > hi[lab, 0]:
                    hi[lab, 0] = z + 1
                if y + 1 > hi[lab, 1]:
                    hi[lab, 1] = y + 1
                if x + 1 > hi[lab, 2]:
                    hi[lab, 2] = x + 1
    return cnt, sums, lo, hi, first


@nb.njit(cache=True, nogil=True)
def _block_crossings(g, loc, dirs, m, off, shape):
    """Crofton crossings of the pairs this block owns, per local label.

    Around the block, a voxel outside the volume is background (0) and a voxel inside the
    volume but in another block is skipped (those pairs are counted on the boundary planes).
    ``p`` runs over the voxels of the block and its one-voxel rim whose global coordinates lie
    in ``[-1, n]`` (the range of the in-memory loop)."""
    bz, by, bx = g.shape
    nd = dirs.shape[0]
    out = np.zeros((m + 1, nd), np.int64)
    for z in range(-1, bz + 1):
        gz = off[0] + z
        if gz < -1 or gz > shape[0]:
            continue
        for y in range(-1, by + 1):
            gy = off[1] + y
            if gy < -1 or gy > shape[1]:
                continue
            for x in range(-1, bx + 1):
                gx = off[2] + x
                if gx < -1 or gx > shape[2]:
                    continue
                # value at p: inside the block, outside the volume (0) or elsewhere (skip)
                if 0 <= z < bz and 0 <= y < by and 0 <= x < bx:
                    a = np.int64(g[z, y, x])
                    la = loc[z, y, x]
                elif (gz < 0 or gy < 0 or gx < 0 or gz >= shape[0] or gy >= shape[1]
                      or gx >= shape[2]):
                    a = 0
                    la = 0
                else:
                    continue
                for k in range(nd):
                    zz = z + dirs[k, 0]
                    yy = y + dirs[k, 1]
                    xx = x + dirs[k, 2]
                    if zz < -1 or yy < -1 or xx < -1 or zz > bz or yy > by or xx > bx:
                        continue
                    if 0 <= zz < bz and 0 <= yy < by and 0 <= xx < bx:
                        b = np.int64(g[zz, yy, xx])
                        lb = loc[zz, yy, xx]
                    else:
                        qz = off[0] + zz
                        qy = off[1] + yy
                        qx = off[2] + xx
                        if (qz < 0 or qy < 0 or qx < 0 or qz >= shape[0] or qy >= shape[1]
                                or qx >= shape[2]):
                            b = 0
                            lb = 0
                        else:
                            continue
                    if a != b:
                        if a:
                            out[la, k] += 1
                        if b:
                            out[lb, k] += 1
    return out


@nb.njit(cache=True, nogil=True)
def _plane_crossings(low, high, dk, du, dv, slab_u, slab_v, cons_u, cons_v, out):
    """Crossings of the voxel pairs across one block boundary plane (``low``: the last plane
    before it, ``high``: the first after it; both in global labels), for the directions whose
    component along the plane's normal is ``dk[k] = ±1``. A pair whose two voxels also lie in
    different blocks along an earlier axis (``cons_u``/``cons_v``) belongs to that axis' plane;
    pairs reaching outside the volume belong to the blocks."""
    nu, nv = low.shape
    nd = dk.shape[0]
    for k in range(nd):
        if dk[k] == 0:
            continue
        for u in range(nu):
            uu = u + du[k]
            if uu < 0 or uu >= nu:
                continue
            if cons_u and slab_u[u] != slab_u[uu]:
                continue
            for v in range(nv):
                vv = v + dv[k]
                if vv < 0 or vv >= nv:
                    continue
                if cons_v and slab_v[v] != slab_v[vv]:
                    continue
                if dk[k] > 0:
                    a = np.int64(low[u, v])
                    b = np.int64(high[uu, vv])
                else:
                    a = np.int64(high[u, v])
                    b = np.int64(low[uu, vv])
                if a != b:
                    if a:
                        out[a, k] += 1
                    if b:
                        out[b, k] += 1


def _hull_reduce(pts: np.ndarray) -> np.ndarray:
    """The convex hull's vertices of more than 200 points (all of them if Qhull fails)."""
    if pts.shape[0] <= 200:
        return pts
    from scipy.spatial import ConvexHull, QhullError

    try:
        return pts[ConvexHull(pts.astype(np.float64)).vertices]
    except QhullError:
        return pts


class _FeretCandidates:
    """Candidate hull points (global voxel-corner coordinates) of the components that cross
    block faces, merged per component."""

    def __init__(self):
        self.ids: list[np.ndarray] = []
        self.pts: list[np.ndarray] = []
        self.size = 0

    def add(self, gid: int, pts: np.ndarray):
        self.ids.append(np.full(pts.shape[0], gid, np.int64))
        self.pts.append(pts.astype(np.int64))
        self.size += pts.shape[0]
        if self.size > _FERET_COMPACT:
            self._compact()

    def _grouped(self):
        if not self.ids:
            return
        ids = np.concatenate(self.ids)
        pts = np.concatenate(self.pts)
        self.ids, self.pts = [], []
        order = np.argsort(ids, kind="stable")
        ids, pts = ids[order], pts[order]
        cuts = np.flatnonzero(np.diff(ids)) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, ids.size]
        for s, e in zip(starts, ends, strict=True):
            yield int(ids[s]), pts[s:e]

    def _compact(self):
        ids, pts = [], []
        for gid, p in self._grouped():
            p = _hull_reduce(np.unique(p, axis=0))
            ids.append(np.full(p.shape[0], gid, np.int64))
            pts.append(p)
        self.ids, self.pts = ids, pts
        self.size = sum(p.shape[0] for p in pts)

    def diameters(self, lo: np.ndarray, vs: np.ndarray, out: np.ndarray):
        """``out[gid]`` = Feret diameter of the merged points, in the frame of the component's
        bounding box (as in memory, so that the floating-point values agree)."""
        from .pores import _feret_from_points

        for gid, p in self._grouped():
            p = np.unique(p, axis=0)
            out[gid] = _feret_from_points((p - lo[gid]).astype(np.float64) * vs)


def chunked_statistics(mask, vs: np.ndarray, conn: int, surface: str, progress: bool):
    """Per-component tables of a dask mask, in the in-memory (cc3d) order.

    Returns a dict: ``n``, ``counts``, ``lo``, ``hi`` (bounding boxes, voxels), ``centroids``
    (voxels, cc3d's convention), ``feret`` (m), ``area`` (m²), ``area_missing`` (count of NaN
    areas), ``n_phase``, ``size``, ``chunks``.
    """
    from .connectivity import _cc3d, label_components
    from .fractions import _bar, block_offsets, iter_blocks
    from .pores import (
        _DIRECTIONS,
        _crofton_weights,
        _feret_from_points,
        _mc_area,
        _row_extreme_corners,
    )

    labels, n = label_components(mask, connectivity=conn, progress=progress)
    shape = tuple(int(s) for s in labels.shape)
    shape_arr = np.asarray(shape, np.int64)
    offs = block_offsets(labels.chunks)
    grid = tuple(len(c) for c in labels.chunks)
    nd = _DIRECTIONS.shape[0]
    counts = np.zeros(n + 1, np.int64)
    sums = np.zeros((n + 1, 3), np.int64)
    lo = np.full((n + 1, 3), np.iinfo(np.int64).max, np.int64)
    hi = np.zeros((n + 1, 3), np.int64)
    first = np.full(n + 1, np.iinfo(np.int64).max, np.int64)
    cross = np.zeros((n + 1, nd), np.int64) if surface == "crofton" else None
    feret = np.full(n + 1, np.nan)
    area_mc = np.full(n + 1, np.nan) if surface != "crofton" else None
    spans = np.zeros(n + 1, bool)
    cand = _FeretCandidates()
    planes: dict[tuple[int, tuple[int, ...], int], np.ndarray] = {}
    vsf = np.asarray(vs, float)

    def per_block(blk, off):
        idx = tuple(int(np.searchsorted(offs[a], off[a])) for a in range(3))
        off_arr = np.asarray(off, np.int64)
        faces = {}
        for a in range(3):
            if idx[a] > 0:
                faces[(a, idx, 0)] = np.take(blk, 0, axis=a).copy()
            if idx[a] < grid[a] - 1:
                faces[(a, idx, 1)] = np.take(blk, -1, axis=a).copy()
        loc, m = _cc3d(blk > 0, conn)
        cnt, s, plo, phi, pfirst = _piece_stats(loc, m)
        gid = blk.reshape(-1)[pfirst[1:]].astype(np.int64) if m else np.zeros(0, np.int64)
        bshape = np.asarray(blk.shape, np.int64)
        # first voxel of each piece: global C-order index (cc3d numbers components by it)
        fz, rem = np.divmod(pfirst[1:], bshape[1] * bshape[2])
        fy, fx = np.divmod(rem, bshape[2])
        lin = ((fz + off_arr[0]) * shape[1] + (fy + off_arr[1])) * shape[2] + (fx + off_arr[2])
        crs = None
        if surface == "crofton" and m:
            crs = _block_crossings(blk, loc, _DIRECTIONS, m, off_arr, shape_arr)[1:]
        internal_lo = off_arr > 0
        internal_hi = off_arr + bshape < shape_arr
        touches = ((plo[1:] == 0) & internal_lo).any(axis=1) | \
            ((phi[1:] == bshape) & internal_hi).any(axis=1) if m else np.zeros(0, bool)
        fer = np.full(m, np.nan)
        mc = np.full(m, np.nan)
        pts_out = []
        cache: dict = {}
        for j in range(m):
            sl = tuple(slice(int(plo[j + 1, a]), int(phi[j + 1, a])) for a in range(3))
            crop = loc[sl] == j + 1
            if touches[j]:
                p = _row_extreme_corners(crop).astype(np.int64) + (off_arr + plo[j + 1])
                pts_out.append((int(gid[j]), _hull_reduce(p)))
                continue
            key = (crop.shape, crop.tobytes()) if crop.size <= 64 else None
            if key is not None and key in cache:
                fer[j], mc[j] = cache[key]
                continue
            fer[j] = _feret_from_points(_row_extreme_corners(crop) * vsf)
            if surface != "crofton":
                mc[j] = _mc_area(crop, vsf)
            if key is not None:
                cache[key] = (fer[j], mc[j])
        return (idx, faces, gid, cnt[1:], s[1:] + cnt[1:, None] * off_arr, plo[1:] + off_arr,
                phi[1:] + off_arr, lin, crs, touches, fer, mc, pts_out)

    for _, res in iter_blocks(labels, per_block, progress=progress,
                              desc="component statistics"):
        (idx, faces, gid, cnt, s, plo, phi, lin, crs, touches, fer, mc, pts_out) = res
        planes.update(faces)
        if gid.size == 0:
            continue
        np.add.at(counts, gid, cnt)
        np.add.at(sums, gid, s)
        np.minimum.at(lo, gid, plo)
        np.maximum.at(hi, gid, phi)
        np.minimum.at(first, gid, lin)
        if crs is not None:
            np.add.at(cross, gid, crs)
        whole = ~touches
        feret[gid[whole]] = fer[whole]
        if area_mc is not None:
            area_mc[gid[whole]] = mc[whole]
        spans[gid[touches]] = True
        for g_, p in pts_out:
            cand.add(g_, p)

    # voxel pairs across block boundary planes (first separating axis only)
    if cross is not None:
        dirs = _DIRECTIONS
        slab = [np.repeat(np.arange(len(c)), c).astype(np.int64) for c in labels.chunks]
        bar = _bar(sum(g - 1 for g in grid), progress, "surface across blocks", "plane")
        for a in range(3):
            u_ax, v_ax = [b for b in range(3) if b != a]
            dk = np.ascontiguousarray(dirs[:, a])
            du = np.ascontiguousarray(dirs[:, u_ax])
            dv = np.ascontiguousarray(dirs[:, v_ax])
            for i in range(1, grid[a]):
                low = np.zeros((shape[u_ax], shape[v_ax]), labels.dtype)
                high = np.zeros_like(low)
                for j in range(grid[u_ax]):
                    for k in range(grid[v_ax]):
                        lo_idx = [0, 0, 0]
                        lo_idx[a], lo_idx[u_ax], lo_idx[v_ax] = i - 1, j, k
                        hi_idx = list(lo_idx)
                        hi_idx[a] = i
                        u0, v0 = offs[u_ax][j], offs[v_ax][k]
                        p_lo = planes.pop((a, tuple(lo_idx), 1))
                        p_hi = planes.pop((a, tuple(hi_idx), 0))
                        low[u0:u0 + p_lo.shape[0], v0:v0 + p_lo.shape[1]] = p_lo
                        high[u0:u0 + p_hi.shape[0], v0:v0 + p_hi.shape[1]] = p_hi
                _plane_crossings(low, high, dk, du, dv, slab[u_ax], slab[v_ax],
                                 u_ax < a, v_ax < a, cross)
                bar.update(1)
        bar.close()
    planes.clear()

    # Feret diameters of the components that cross block faces
    spanning = np.flatnonzero(spans)
    feret[spanning] = np.nan
    cand.diameters(lo, vsf, feret)

    # in-memory (cc3d) order: by the first voxel in C order
    order = np.argsort(first[1:], kind="stable") + 1
    counts_o = counts[order]
    vox = float(np.prod(vsf))
    if cross is not None:
        a_line = vox / np.linalg.norm(_DIRECTIONS * vsf, axis=1)
        w = _crofton_weights(vsf / vsf.min())
        area = 2.0 * (cross[order] * (w * a_line)).sum(axis=1) if n else np.zeros(0)
        missing = 0
    else:
        area = area_mc[order]
        missing = int(np.isnan(area).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = sums[order] / counts_o[:, None] if n else np.zeros((0, 3))
    if not np.all(np.isfinite(feret[order])):
        raise RuntimeError("chunked Feret diameters: a component was not measured")
    return {
        "n": n, "counts": counts_o, "lo": lo[order], "hi": hi[order], "centroids": centroids,
        "feret": feret[order], "area": area, "area_missing": missing,
        "n_phase": int(counts.sum()), "size": int(math.prod(shape)),
        "shape": shape, "chunks": tuple(int(c[0]) for c in labels.chunks),
    }
