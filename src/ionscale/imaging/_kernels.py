"""numba kernels of the imaging package: separable float32 convolutions, per-voxel derived
features (gradient, Hessian eigenvalues, Laplacian) and the random forest's tree growth and
prediction. Compiled on first use and cached on disk (numba ``cache=True``)."""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import prange

_jit = nb.njit(cache=True, nogil=True)
_pjit = nb.njit(cache=True, nogil=True, parallel=True)


# ============================================================ separable convolution


@_jit
def _reflect(i, n):
    """scipy's 'reflect' (half-sample symmetric) index for any i."""
    if n == 1:
        return 0
    period = 2 * n
    i = i % period
    if i < 0:
        i += period
    if i >= n:
        i = period - 1 - i
    return i


@_pjit
def conv_z(src, kernel, z_start, nz_out, dst):
    """dst[k] = sum_t kernel[t] src[reflect(z_start + k + t - r)] along axis 0."""
    r = (kernel.shape[0] - 1) // 2
    nz = src.shape[0]
    ny, nx = src.shape[1], src.shape[2]
    for k in prange(nz_out):
        for y in range(ny):
            for x in range(nx):
                dst[k, y, x] = 0.0
        for t in range(kernel.shape[0]):
            zz = _reflect(z_start + k + t - r, nz)
            w = kernel[t]
            for y in range(ny):
                for x in range(nx):
                    dst[k, y, x] += w * src[zz, y, x]


@_pjit
def conv_y(src, kernel, dst):
    """Convolution along axis 1 (reflect boundary)."""
    r = (kernel.shape[0] - 1) // 2
    nz, ny, nx = src.shape
    for z in prange(nz):
        for y in range(ny):
            for x in range(nx):
                dst[z, y, x] = 0.0
            for t in range(kernel.shape[0]):
                yy = _reflect(y + t - r, ny)
                w = kernel[t]
                for x in range(nx):
                    dst[z, y, x] += w * src[z, yy, x]


@_pjit
def conv_x(src, kernel, dst):
    """Convolution along axis 2 (reflect boundary), through a padded row buffer."""
    r = (kernel.shape[0] - 1) // 2
    nz, ny, nx = src.shape
    nk = kernel.shape[0]
    for z in prange(nz):
        buf = np.empty(nx + 2 * r, np.float32)
        for y in range(ny):
            for i in range(nx + 2 * r):
                buf[i] = src[z, y, _reflect(i - r, nx)]
            for x in range(nx):
                dst[z, y, x] = 0.0
            for t in range(nk):
                w = kernel[t]
                for x in range(nx):
                    dst[z, y, x] += w * buf[x + t]


# ============================================================ derived features


@_jit
def _eig3(a11, a22, a33, a12, a13, a23):
    """Eigenvalues of a symmetric 3×3 matrix, descending (Smith 1961), with ``cos(acos(r)/3)``
    found as the largest root of ``4c³ - 3c = r`` by Newton's method from c = 1 (monotone
    convergence; no trigonometric call, about 1e-7 relative accuracy)."""
    p1 = a12 * a12 + a13 * a13 + a23 * a23
    q = (a11 + a22 + a33) * (1.0 / 3.0)
    b11 = a11 - q
    b22 = a22 - q
    b33 = a33 - q
    p2 = b11 * b11 + b22 * b22 + b33 * b33 + 2.0 * p1
    p = math.sqrt(p2 * (1.0 / 6.0)) + 1e-30
    inv = 1.0 / p
    c11 = b11 * inv
    c22 = b22 * inv
    c33 = b33 * inv
    c12 = a12 * inv
    c13 = a13 * inv
    c23 = a23 * inv
    det = (c11 * (c22 * c33 - c23 * c23) - c12 * (c12 * c33 - c23 * c13)
           + c13 * (c12 * c23 - c22 * c13))
    r = min(max(0.5 * det, -1.0), 1.0)
    c = 1.0
    for _ in range(8):
        c -= (4.0 * c * c * c - 3.0 * c - r) / max(12.0 * c * c - 3.0, 1e-3)
    c = min(max(c, 0.5), 1.0)
    s = math.sqrt(max(1.0 - c * c, 0.0))
    e1 = q + 2.0 * p * c
    e3 = q + p * (-c - 1.7320508075688772 * s)
    e2 = 3.0 * q - e1 - e3
    return e1, e2, e3


@nb.njit(cache=True, nogil=True, fastmath=True)
def _eig_rows(h11, h22, h33, h12, h13, h23, e1o, e2o, e3o):
    """Eigenvalues (descending) of rows of symmetric 3×3 matrices, float32, vectorisable:
    Smith's (1961) closed form with ``cos(acos(r)/3)`` as the largest root of ``4c³ - 3c =
    r`` (Newton from c = 1, monotone; about 1e-5 relative accuracy)."""
    one, half = np.float32(1.0), np.float32(0.5)
    for i in range(h11.shape[0]):
        a11 = h11[i]
        a22 = h22[i]
        a33 = h33[i]
        a12 = h12[i]
        a13 = h13[i]
        a23 = h23[i]
        p1 = a12 * a12 + a13 * a13 + a23 * a23
        q = (a11 + a22 + a33) * np.float32(1.0 / 3.0)
        b11 = a11 - q
        b22 = a22 - q
        b33 = a33 - q
        p2 = b11 * b11 + b22 * b22 + b33 * b33 + np.float32(2.0) * p1
        p = math.sqrt(p2 * np.float32(1.0 / 6.0)) + np.float32(1e-30)
        inv = one / p
        c11 = b11 * inv
        c22 = b22 * inv
        c33 = b33 * inv
        c12 = a12 * inv
        c13 = a13 * inv
        c23 = a23 * inv
        det = (c11 * (c22 * c33 - c23 * c23) - c12 * (c12 * c33 - c23 * c13)
               + c13 * (c12 * c23 - c22 * c13))
        r = min(max(half * det, -one), one)
        c = one
        for _ in range(7):
            c -= (np.float32(4.0) * c * c * c - np.float32(3.0) * c - r) / max(
                np.float32(12.0) * c * c - np.float32(3.0), np.float32(1e-3))
        c = min(max(c, half), one)
        s = math.sqrt(max(one - c * c, np.float32(0.0)))
        e1 = q + np.float32(2.0) * p * c
        e3 = q + p * (-c - np.float32(1.7320508) * s)
        e1o[i] = e1
        e2o[i] = np.float32(3.0) * q - e1 - e3
        e3o[i] = e3


@_pjit
def derived(G, z_lo, out, col, want_g, want_grad, want_log, want_hess, scale):
    """Features of the smoothed block ``G`` (cz + 2 slices: one of halo each side, or a
    reflected copy at the volume's faces) into ``out[col + j, k]`` for the core slices ``k``.

    ``scale`` = (sz, sy, sx): derivative factors per axis (1 / spacing in x-voxel units).
    Columns in order: smoothed, gradient magnitude, LoG, Hessian eigenvalues (3).
    """
    nz = G.shape[0] - 2
    ny, nx = G.shape[1], G.shape[2]
    sz = np.float32(scale[0])
    sy = np.float32(scale[1])
    sx = np.float32(scale[2])
    h = np.float32(0.5)
    qq = np.float32(0.25)
    two = np.float32(2.0)
    for k in prange(nz):
        z = k + 1
        rows = np.empty((9, nx), np.float32)
        for y in range(ny):
            ym = y - 1 if y > 0 else 0
            yp = y + 1 if y < ny - 1 else ny - 1
            j = col
            if want_g:
                for x in range(nx):
                    out[j, k, y, x] = G[z, y, x]
                j += 1
            if want_grad:
                for x in range(nx):
                    xm = x - 1 if x > 0 else 0
                    xp = x + 1 if x < nx - 1 else nx - 1
                    gz = h * (G[z + 1, y, x] - G[z - 1, y, x]) * sz
                    gy = h * (G[z, yp, x] - G[z, ym, x]) * sy
                    gx = h * (G[z, y, xp] - G[z, y, xm]) * sx
                    out[j, k, y, x] = math.sqrt(gz * gz + gy * gy + gx * gx)
                j += 1
            if want_log or want_hess:
                for x in range(nx):
                    xm = x - 1 if x > 0 else 0
                    xp = x + 1 if x < nx - 1 else nx - 1
                    c = G[z, y, x]
                    rows[0, x] = (G[z + 1, y, x] - two * c + G[z - 1, y, x]) * sz * sz
                    rows[1, x] = (G[z, yp, x] - two * c + G[z, ym, x]) * sy * sy
                    rows[2, x] = (G[z, y, xp] - two * c + G[z, y, xm]) * sx * sx
                if want_log:
                    for x in range(nx):
                        out[j, k, y, x] = rows[0, x] + rows[1, x] + rows[2, x]
                    j += 1
            if want_hess:
                for x in range(nx):
                    xm = x - 1 if x > 0 else 0
                    xp = x + 1 if x < nx - 1 else nx - 1
                    rows[3, x] = qq * (G[z + 1, yp, x] - G[z + 1, ym, x] - G[z - 1, yp, x]
                                       + G[z - 1, ym, x]) * sz * sy
                    rows[4, x] = qq * (G[z + 1, y, xp] - G[z + 1, y, xm] - G[z - 1, y, xp]
                                       + G[z - 1, y, xm]) * sz * sx
                    rows[5, x] = qq * (G[z, yp, xp] - G[z, yp, xm] - G[z, ym, xp]
                                       + G[z, ym, xm]) * sy * sx
                _eig_rows(rows[0], rows[1], rows[2], rows[3], rows[4], rows[5], rows[6],
                          rows[7], rows[8])
                for x in range(nx):
                    out[j, k, y, x] = rows[6, x]
                    out[j + 1, k, y, x] = rows[7, x]
                    out[j + 2, k, y, x] = rows[8, x]


@_pjit
def subtract_into(a, b, out, j, lo):
    """out[j] = a[lo:lo+n] - b[lo:lo+n] (difference of Gaussians of the core slices)."""
    nz = out.shape[1]
    for k in prange(nz):
        for y in range(out.shape[2]):
            for x in range(out.shape[3]):
                out[j, k, y, x] = a[lo + k, y, x] - b[lo + k, y, x]


# ============================================================ random forest

@_jit
def _rand(state):
    """xorshift64* step: (new state, uniform in [0, 1))."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    v = x * np.uint64(2685821657736338717)
    return (v >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@_jit
def _randint(state, n):
    return min(int(_rand(state) * n), n - 1)


@_jit
def grow_tree(Xb, y, weight, n_classes, n_bins, edges, max_depth, min_leaf, mtry, seed,
              feat, thr, left, right, value):
    """Grow one tree on binned features ``Xb`` (n, F uint8) with bootstrap ``weight`` (counts
    per sample; 0 = out of bag). Node arrays are filled; returns the number of nodes.

    Splits: Gini impurity on class histograms per bin; the threshold of a split at bin ``b``
    is ``edges[f, b]`` (a sample goes left when its value <= the threshold).
    """
    n, F = Xb.shape
    state = np.empty(1, np.uint64)
    state[0] = np.uint64(seed) * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
    if state[0] == 0:
        state[0] = np.uint64(88172645463325252)
    idx = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if weight[i] > 0:
            idx[m] = i
            m += 1
    max_nodes = feat.shape[0]
    # stack of (node, start, end, depth)
    st_node = np.empty(max_nodes, np.int64)
    st_start = np.empty(max_nodes, np.int64)
    st_end = np.empty(max_nodes, np.int64)
    st_depth = np.empty(max_nodes, np.int64)
    sp = 0
    n_nodes = 1
    st_node[0] = 0
    st_start[0] = 0
    st_end[0] = m
    st_depth[0] = 0
    sp = 1
    hist = np.zeros((n_bins, n_classes), np.float64)
    tot = np.zeros(n_classes, np.float64)
    lcount = np.zeros(n_classes, np.float64)
    cand = np.empty(F, np.int64)
    while sp > 0:
        sp -= 1
        node = st_node[sp]
        s = st_start[sp]
        e = st_end[sp]
        depth = st_depth[sp]
        for c in range(n_classes):
            tot[c] = 0.0
        for ii in range(s, e):
            i = idx[ii]
            tot[y[i]] += weight[i]
        wsum = 0.0
        for c in range(n_classes):
            wsum += tot[c]
        for c in range(n_classes):
            value[node, c] = tot[c] / wsum if wsum > 0 else 0.0
        feat[node] = -1
        thr[node] = 0.0
        left[node] = -1
        right[node] = -1
        pure = False
        for c in range(n_classes):
            if tot[c] == wsum:
                pure = True
        if pure or depth >= max_depth or wsum < 2 * min_leaf or n_nodes + 2 > max_nodes:
            continue
        gini_parent = 1.0
        for c in range(n_classes):
            gini_parent -= (tot[c] / wsum) ** 2
        # choose mtry candidate features (partial Fisher-Yates)
        for f in range(F):
            cand[f] = f
        best_gain = 1e-12
        best_f = -1
        best_b = -1
        for j in range(min(mtry, F)):
            r = j + _randint(state, F - j)
            tmp = cand[j]
            cand[j] = cand[r]
            cand[r] = tmp
            f = cand[j]
            for b in range(n_bins):
                for c in range(n_classes):
                    hist[b, c] = 0.0
            for ii in range(s, e):
                i = idx[ii]
                hist[Xb[i, f], y[i]] += weight[i]
            for c in range(n_classes):
                lcount[c] = 0.0
            lw = 0.0
            for b in range(n_bins - 1):
                for c in range(n_classes):
                    lcount[c] += hist[b, c]
                    lw += hist[b, c]
                rw = wsum - lw
                if lw < min_leaf or rw < min_leaf:
                    continue
                gl = 1.0
                gr = 1.0
                for c in range(n_classes):
                    pl = lcount[c] / lw
                    pr = (tot[c] - lcount[c]) / rw
                    gl -= pl * pl
                    gr -= pr * pr
                gain = gini_parent - (lw * gl + rw * gr) / wsum
                if gain > best_gain:
                    best_gain = gain
                    best_f = f
                    best_b = b
        if best_f < 0:
            continue
        # partition idx[s:e] by Xb[:, best_f] <= best_b
        lo = s
        hi = e - 1
        while lo <= hi:
            if Xb[idx[lo], best_f] <= best_b:
                lo += 1
            else:
                tmp = idx[lo]
                idx[lo] = idx[hi]
                idx[hi] = tmp
                hi -= 1
        feat[node] = best_f
        thr[node] = edges[best_f, best_b]
        lnode = n_nodes
        rnode = n_nodes + 1
        n_nodes += 2
        left[node] = lnode
        right[node] = rnode
        st_node[sp] = lnode
        st_start[sp] = s
        st_end[sp] = lo
        st_depth[sp] = depth + 1
        sp += 1
        st_node[sp] = rnode
        st_start[sp] = lo
        st_end[sp] = e
        st_depth[sp] = depth + 1
        sp += 1
    return n_nodes


@_pjit
def predict_proba(X, feat, thr, left, right, value, roots, out):
    """Mean leaf class frequencies over the trees for every column of ``X`` (F, n) into
    ``out`` (n, C)."""
    n = X.shape[1]
    T = roots.shape[0]
    C = value.shape[1]
    for i in prange(n):
        for c in range(C):
            out[i, c] = 0.0
        for t in range(T):
            node = roots[t]
            while feat[node] >= 0:
                if X[feat[node], i] <= thr[node]:
                    node = left[node]
                else:
                    node = right[node]
            for c in range(C):
                out[i, c] += value[node, c]
        for c in range(C):
            out[i, c] /= T


@_pjit
def predict_labels(X, feat, thr, left, right, value, roots, classes, labels_out, conf_out,
                   psum):
    """Most probable class label of every column of ``X`` (F, n) and its probability; the
    columns are taken in blocks of 1024, whose class-probability sums go to ``psum`` (blocks,
    C)."""
    n = X.shape[1]
    T = roots.shape[0]
    C = value.shape[1]
    B = 1024
    nb_ = (n + B - 1) // B
    for b in prange(nb_):
        acc = np.zeros(C, np.float32)
        for c in range(C):
            psum[b, c] = 0.0
        for i in range(b * B, min(n, (b + 1) * B)):
            for c in range(C):
                acc[c] = 0.0
            for t in range(T):
                node = roots[t]
                while feat[node] >= 0:
                    if X[feat[node], i] <= thr[node]:
                        node = left[node]
                    else:
                        node = right[node]
                for c in range(C):
                    acc[c] += value[node, c]
            best = 0
            for c in range(1, C):
                if acc[c] > acc[best]:
                    best = c
            labels_out[i] = classes[best]
            conf_out[i] = acc[best] / T
            for c in range(C):
                psum[b, c] += acc[c] / T
