"""Numba kernels of :mod:`ionscale.microstructure.thickness` (private).

* :func:`edt_sq`: separable squared Euclidean distance transform (Felzenszwalb &
  Huttenlocher's lower envelope of parabolas), anisotropic voxels, the outside of the array
  counting as phase; one binary sweep along z (parallel over rows), then the y and x passes
  fused per z-plane (parallel over planes, the plane stays in cache).
* :func:`thin_centres`: the parallel, order-free thinning of the ``"fast"`` method.

References
----------
P. F. Felzenszwalb, D. P. Huttenlocher, "Distance transforms of sampled functions", Theory of
Computing 8 (2012) 415-428.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import prange

__all__ = ["centres_iso", "edt_sq", "shrunk_index", "thin_centres"]

_INF = np.inf


@nb.njit(cache=True, nogil=True, inline="always")
def _envelope(f, n, w, v, zb, out):
    """Lower envelope of the parabolas ``w (q − p)² + f[p]`` over ``p`` (inf sites skipped),
    sampled at ``q = 0 … n−1`` into ``out``. ``v`` (int) and ``zb`` (float) are work
    buffers of at least ``n + 1`` entries."""
    k = -1
    for q in range(n):
        fq = f[q]
        if fq == _INF:
            continue
        if k < 0:
            k = 0
            v[0] = q
            zb[0] = -_INF
            continue
        wq2 = fq + w * q * q
        while True:
            p = v[k]
            s = (wq2 - (f[p] + w * p * p)) / (2.0 * w * (q - p))
            if s <= zb[k]:
                k -= 1
                if k < 0:
                    break
            else:
                break
        k += 1
        v[k] = q
        zb[k] = -_INF if k == 0 else s
    if k < 0:
        for q in range(n):
            out[q] = _INF
        return
    zb[k + 1] = _INF
    j = 0
    for q in range(n):
        while zb[j + 1] < q:
            j += 1
        p = v[j]
        out[q] = w * (q - p) * (q - p) + f[p]


@nb.njit(cache=True, nogil=True, parallel=True)
def _edt_sq_kernel(mask, h0, h1, h2):
    nz, ny, nx = mask.shape
    out = np.empty(mask.shape, np.float32)
    big = nz + 1
    # pass 1 (z, binary): steps to the nearest voxel outside the phase along z
    for y in prange(ny):
        g = np.empty(nx, np.int64)
        for x in range(nx):
            g[x] = big
        for z in range(nz):
            for x in range(nx):
                if mask[z, y, x] == 0:
                    g[x] = 0
                elif g[x] < big:
                    g[x] += 1
                out[z, y, x] = g[x]
        for x in range(nx):
            g[x] = big
        for z in range(nz - 1, -1, -1):
            for x in range(nx):
                if mask[z, y, x] == 0:
                    g[x] = 0
                elif g[x] < big:
                    g[x] += 1
                c = out[z, y, x]
                if g[x] < c:
                    c = g[x]
                out[z, y, x] = _INF if c >= big else c * c * h0
    # passes 2 and 3 (y then x) on each plane while it is in cache
    w1 = h1
    w2 = h2
    m = max(ny, nx)
    for z in prange(nz):
        f = np.empty(m, np.float64)
        r = np.empty(m, np.float64)
        v = np.empty(m + 1, np.int64)
        zb = np.empty(m + 1, np.float64)
        plane = out[z]
        for x in range(nx):
            for y in range(ny):
                f[y] = plane[y, x]
            _envelope(f, ny, w1, v, zb, r)
            for y in range(ny):
                plane[y, x] = r[y]
        for y in range(ny):
            for x in range(nx):
                f[x] = plane[y, x]
            _envelope(f, nx, w2, v, zb, r)
            for x in range(nx):
                plane[y, x] = r[x]
    return out


def edt_sq(mask: np.ndarray, h) -> np.ndarray:
    """Squared Euclidean distance from each voxel centre to the nearest voxel outside the phase.

    Parameters
    ----------
    mask : ndarray of bool, shape (z, y, x)
        The phase (C-contiguous).
    h : 3 floats
        Voxel size per axis, in any unit (typically divided by the smallest one).

    Returns
    -------
    ndarray of float32
        Squared distance in ``h``'s unit squared; 0 outside the phase, ``inf`` where no voxel
        outside the phase exists along the separable passes (the outside of the array counts
        as phase). Integer-exact for cubic voxels (``h = (1, 1, 1)``) up to 2²⁴.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.ones((1, 1, 5), bool); m[0, 0, 0] = False
    >>> edt_sq(m, (1.0, 1.0, 1.0)).ravel().tolist()
    [0.0, 1.0, 4.0, 9.0, 16.0]
    """
    m = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    return _edt_sq_kernel(m, float(h[0]) ** 2, float(h[1]) ** 2, float(h[2]) ** 2)


@nb.njit(cache=True, nogil=True, parallel=True)
def _thin_kernel(flag, dsq, oz, oy, ox, olen, tol):
    """Bit 2 of ``flag``: the centre's sphere, shrunk by ``tol``, lies in a neighbouring
    centre's sphere; bit 4: it does so in a neighbour without bit 2 (dropped)."""
    nz, ny, nx = dsq.shape
    no = oz.shape[0]
    for stage in range(2):
        for z in prange(nz):
            for y in range(ny):
                for x in range(nx):
                    if flag[z, y, x] & 1 == 0:
                        continue
                    d = math.sqrt(dsq[z, y, x]) - tol
                    for i in range(no):
                        zz = z + oz[i]
                        yy = y + oy[i]
                        xx = x + ox[i]
                        if zz < 0 or zz >= nz or yy < 0 or yy >= ny or xx < 0 or xx >= nx:
                            continue
                        fl = flag[zz, yy, xx]
                        if fl & 1 == 0:
                            continue
                        if stage == 1 and fl & 2:
                            continue
                        t = d + olen[i]
                        if dsq[zz, yy, xx] >= t * t:
                            flag[z, y, x] |= np.uint8(2) if stage == 0 else np.uint8(4)
                            break
    # counts of kept centres per plane
    counts = np.zeros(nz, np.int64)
    for z in prange(nz):
        c = 0
        for y in range(ny):
            for x in range(nx):
                fl = flag[z, y, x]
                if fl & 4:
                    flag[z, y, x] = 0
                elif fl & 1:
                    flag[z, y, x] = 1
                    c += 1
        counts[z] = c
    return counts


def thin_centres(flag, dsq, oz, oy, ox, olen, tol: float) -> np.ndarray:
    """Drop the centres of maximal balls whose sphere, shrunk by ``tol`` voxels, lies inside
    the sphere of a neighbouring centre that is itself kept (order-free, parallel).

    A centre is *dominated* when a neighbour centre's sphere contains it shrunk by ``tol``;
    it is dropped when a neighbour that is not dominated (hence kept) does so. Every dropped
    centre thus has a kept dominator, so the loss does not chain, and the result does not
    depend on the thread count.

    Parameters
    ----------
    flag : ndarray of uint8
        1 at the centres (modified in place: 0 at the dropped ones).
    dsq : ndarray of float32
        Squared distance map (units of the smallest voxel).
    oz, oy, ox : ndarray of int
        Neighbour offsets.
    olen : ndarray of float
        Their lengths (units of the smallest voxel).
    tol : float
        Voxels, ``0 ≤ tol < 1``.

    Returns
    -------
    ndarray of int64
        Kept centres per z-plane.
    """
    return _thin_kernel(flag, dsq, oz, oy, ox, olen, float(tol))


@nb.njit(cache=True, nogil=True, parallel=True)
def _centres_iso_kernel(dsq, lut, mt, oz, oy, ox, ocls, dclip, thin):
    nz, ny, nx = dsq.shape
    flag = np.zeros(dsq.shape, np.uint8)
    counts = np.zeros(nz, np.int64)
    no = oz.shape[0]
    for z in prange(nz):
        cnt = 0
        for y in range(ny):
            inner = 0 < z < nz - 1 and 0 < y < ny - 1
            for x in range(nx):
                v = dsq[z, y, x]
                if v <= 0 or v > dclip:
                    continue
                d = np.int64(v)
                dt = mt[d]
                dom = False
                tdom = False
                edge = not (inner and 0 < x < nx - 1)
                for i in range(no):
                    zz = z + oz[i]
                    yy = y + oy[i]
                    xx = x + ox[i]
                    if edge and (zz < 0 or zz >= nz or yy < 0 or yy >= ny or xx < 0
                                 or xx >= nx):
                        continue
                    w = dsq[zz, yy, xx]
                    if w > lut[d, ocls[i]]:
                        dom = True
                        break
                    if thin and not tdom and w >= v and w > lut[dt, ocls[i]]:
                        tdom = True
                if not dom:
                    flag[z, y, x] = 3 if tdom else 1
                    cnt += 1
        counts[z] = cnt
    if thin:
        # drop a dominated centre when a neighbouring centre that is not dominated (so
        # kept) holds its shrunk sphere
        for z in prange(nz):
            cnt = 0
            for y in range(ny):
                for x in range(nx):
                    fl = flag[z, y, x]
                    if fl == 0:
                        continue
                    if fl == 3:
                        v = dsq[z, y, x]
                        dt = mt[np.int64(v)]
                        drop = False
                        for i in range(no):
                            zz = z + oz[i]
                            yy = y + oy[i]
                            xx = x + ox[i]
                            if (zz < 0 or zz >= nz or yy < 0 or yy >= ny or xx < 0
                                    or xx >= nx):
                                continue
                            if flag[zz, yy, xx] != 1:
                                continue
                            w = dsq[zz, yy, xx]
                            if w >= v and w > lut[dt, ocls[i]]:
                                drop = True
                                break
                        if drop:
                            flag[z, y, x] = 4
                            continue
                    cnt += 1
            counts[z] = cnt
        for z in prange(nz):
            for y in range(ny):
                for x in range(nx):
                    if flag[z, y, x] > 1:
                        flag[z, y, x] = 1 if flag[z, y, x] == 3 else 0
    return flag, counts


def shrunk_index(dmax: int, tol: float) -> np.ndarray:
    """``m[D]``: the lookup-table row of a sphere of squared radius ``D`` shrunk by ``tol``.

    ``lut[m[D]]`` covers the lattice points ``p`` with ``|p| < √D − tol``; rounding errs
    towards more points (a stricter containment test).

    Parameters
    ----------
    dmax : int
        Largest squared radius (voxels²).
    tol : float
        Shrinkage, voxels (``0 ≤ tol < 1``).

    Returns
    -------
    ndarray of int64, shape (dmax + 1,)
    """
    d = np.arange(dmax + 1, dtype=np.float64)
    m = np.ceil((np.maximum(np.sqrt(d) - tol, 0.0)) ** 2 + 1e-9).astype(np.int64)
    return np.minimum(np.maximum(m, 0), np.arange(dmax + 1))


def centres_iso(dsq, lut, oz, oy, ox, ocls, dclip, tol: float):
    """Centres of maximal balls on cubic voxels, thinned for ``tol > 0``.

    A phase voxel is a centre unless a 26-neighbour's sphere holds every lattice point of its
    own (exact lookup table, Rémy & Thiel). With ``tol > 0`` a centre is also dropped when a
    neighbouring centre that is itself kept, with a radius at least as large, holds every
    lattice point closer than ``√D − tol`` to it (order-free: a neighbour that such a test
    could drop is never used as the holder, so losses do not chain).

    Parameters
    ----------
    dsq : ndarray of float32
        Squared distance map, integer values (voxels²).
    lut : ndarray of int64, shape (dmax + 2, 3)
        ``lut[D, k]``: the largest ``|p − u_k|²`` over lattice ``|p|² < D``.
    oz, oy, ox, ocls : ndarray of int64
        The 26 neighbour offsets and their class (0 face, 1 edge, 2 corner).
    dclip : float
        Voxels with a larger squared distance are not centres.
    tol : float
        Thinning tolerance, voxels (0: the exact centres).

    Returns
    -------
    flag : ndarray of uint8
        1 at the kept centres.
    counts : ndarray of int64
        Kept centres per z-plane.
    """
    dmax = lut.shape[0] - 2
    mt = shrunk_index(dmax, float(tol))
    return _centres_iso_kernel(dsq, lut, mt, oz, oy, ox, ocls, np.float32(dclip),
                               bool(tol > 0))
