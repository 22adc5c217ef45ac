"""The numba kernel of the residence-time (BKL) algorithm; private to :mod:`ionscale.kmc`.

Bookkeeping
-----------
* Each site ``m`` has ``z`` jump slots (its neighbour table) and, with a reservoir, one more
  slot for the exchange of its content with the bath. ``rate[m, k]`` is the rate of the event
  stored in slot ``k`` of ``m``: the hop of the particle on ``m`` to the vacant neighbour of
  slot ``k``, or the exchange of the particles on ``m`` and that neighbour (stored at the lower
  of the two site numbers only, so that every event is stored once).
* Per-site totals are grouped in blocks of 64 consecutive sites (sites are numbered tile by
  tile, so a block is a compact piece of the lattice); a binary sum tree over the block sums
  gives the total rate at its root and selects a block in O(log N), a scan of the block's 64
  totals selects the site and a scan over its ``z`` slots the event. Keeping the tree over
  blocks (256 kB for 10⁶ sites) makes the descent cache-resident: a plain tree over 10⁶ sites
  costs a chain of dependent cache misses per event. Layout of ``tree``: ``tree[1]`` is the
  total, ``tree[p2 + b]`` the sum of block ``b``, ``tree[2 p2 + m]`` the total of site ``m``.
* After an event only the rates that can have changed are recomputed: the slots of the two
  sites involved and the slots of their neighbours that point at them; with nearest-neighbour
  interactions, the same for every site within one jump of the two sites (the interaction
  fields of those sites changed). The tree is updated once per changed site total, each
  common ancestor once.
* Rates: ``r = ν exp(-(E_KRA + ΔE/2) / kT)`` for a hop and an exchange, with ΔE the change of
  the lattice energy (site energies and nearest-neighbour pair energies); this obeys detailed
  balance: ``r_forward / r_backward = exp(-ΔE / kT)``. ``hop0 = ν exp(-E_KRA / kT)`` is
  precomputed, so that a model without energies costs no exponential per event.
* Random numbers come from the caller's ``numpy.random.Generator`` (numba draws from its bit
  generator), so runs are reproducible and independent of any global state.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# integer parameters (ip)
IP_NB = 0          # basis sites per cell
IP_HAS_EPS = 1     # site energies present
IP_INTERACT = 2    # pair interactions present
IP_HAS_EX = 3      # exchange events present
IP_HAS_RES = 4     # reservoir slot present
IP_NSLOT = 5       # z (+1 with a reservoir)
IP_P2 = 6          # number of leaves of the sum tree (power of two >= number of blocks)
IP_NT = 7          # number of jump types
IP_SIZE = 8
BLOCK_SHIFT = 6    # sites per block of the tree's leaves: 2**BLOCK_SHIFT
# float parameters (fp)
FP_INV2KT = 0      # 1 / (2 kT), 1/J
FP_RESK = 1        # reservoir exchange rate, 1/s
FP_SIZE = 2
# dynamic floats (df)
DF_T = 0           # current time, s
DF_E = 1           # current lattice energy, J
DF_ETIME = 2       # ∫ E dt up to DF_T, J s
DF_SIZE = 3
# dynamic integers (di)
DI_JNEXT = 0       # next sample to record
DI_LAST_M = 1      # previous event: from site
DI_LAST_N = 2      # previous event: to site
DI_LAST_KIND = 3   # previous event: 0 hop, 1 exchange, 2 reservoir, -1 none
DI_NFREE = 4       # free particle ids on the stack
DI_EVENTS = 5      # events executed so far
DI_REVERSALS = 6   # events that undid the previous event
DI_SIZE = 7


@njit(cache=True, _nrt=False)
def _rate(m, k, nbr, jtype, site_b, site_sub, hop0, allowed, eps, jint, ex0, res_side, res_cum,
          occ, h,
          ip, fp):
    z = nbr.shape[1]
    s = occ[m]
    if k == z:  # reservoir slot
        side = res_side[m]
        if side == 0:
            return 0.0
        a = s + 1
        pa = res_cum[side - 1, a + 1] - res_cum[side - 1, a]
        return fp[FP_RESK] * (1.0 - pa)
    if s < 0:
        return 0.0
    n = nbr[m, k]
    if n < 0:
        return 0.0
    o = occ[n]
    if o < 0:
        r = hop0[s, jtype[site_b[m] if site_b.shape[0] > 1 else 0, k]]
        if r == 0.0 or allowed[s, site_sub[n] if site_sub.shape[0] > 1 else 0] == 0:
            return 0.0
        de = 0.0
        if ip[IP_HAS_EPS]:
            de = eps[s, n] - eps[s, m]
        if ip[IP_INTERACT]:
            de += h[s, n] - jint[s, s] - h[s, m]
        if de != 0.0:
            r *= math.exp(-de * fp[FP_INV2KT])
        return r
    if ip[IP_HAS_EX] == 0 or m > n or o == s:
        return 0.0
    r = ex0[s, o]
    if site_sub.shape[0] > 1:
        if allowed[s, site_sub[n]] == 0 or allowed[o, site_sub[m]] == 0:
            return 0.0
    elif allowed[s, 0] == 0 or allowed[o, 0] == 0:
        return 0.0
    if r == 0.0:
        return 0.0
    de = 0.0
    if ip[IP_HAS_EPS]:
        de = eps[s, n] + eps[o, m] - eps[s, m] - eps[o, n]
    if ip[IP_INTERACT]:
        de += (h[o, m] + h[s, n] - h[s, m] - h[o, n] - jint[o, o] - jint[s, s]
               + 2.0 * jint[s, o])
    if de != 0.0:
        r *= math.exp(-de * fp[FP_INV2KT])
    return r


@njit(cache=True, _nrt=False)
def _site_total(rate, m, nslot):
    t = 0.0
    for k in range(nslot):
        t += rate[m, k]
    return t


@njit(cache=True, _nrt=False)
def _refresh_site(tree, p2, rate, x, nslot, leaves, nleaf):
    """Set site ``x``'s total rate in the tree; when it changed, add its block to ``leaves``
    (once). Returns the new number of leaves."""
    off = 2 * p2
    tot = _site_total(rate, x, nslot)
    if tree[off + x] == tot:
        return nleaf
    tree[off + x] = tot
    leaf = p2 + (x >> BLOCK_SHIFT)
    for q in range(nleaf):
        if leaves[q] == leaf:
            return nleaf
    leaves[nleaf] = leaf
    return nleaf + 1


@njit(cache=True, _nrt=False)
def _tree_build(tree, p2, rate, n, nslot):
    off = 2 * p2
    for i in range(n):
        tree[off + i] = _site_total(rate, i, nslot)
    for b in range(p2):
        tree[p2 + b] = _block_sum(tree, p2, b, n)
    for j in range(p2 - 1, 0, -1):
        tree[j] = tree[2 * j] + tree[2 * j + 1]


@njit(cache=True, _nrt=False)
def _block_sum(tree, p2, b, n):
    off = 2 * p2
    lo = b << BLOCK_SHIFT
    hi = min(lo + (1 << BLOCK_SHIFT), n)
    t = 0.0
    for i in range(lo, hi):
        t += tree[off + i]
    return t


@njit(cache=True, _nrt=False)
def _tree_update(tree, leaves, nleaf, buf):
    """Recompute the ancestors of ``leaves[:nleaf]`` (tree indices, values already set), each
    common ancestor once."""
    # insertion sort (a handful of leaves)
    for i in range(1, nleaf):
        v = leaves[i]
        j = i - 1
        while j >= 0 and leaves[j] > v:
            leaves[j + 1] = leaves[j]
            j -= 1
        leaves[j + 1] = v
    cur = leaves
    nxt = buf
    cnt = nleaf
    while cnt > 0 and cur[0] > 1:
        np_ = 0
        for i in range(cnt):
            p = cur[i] >> 1
            if np_ == 0 or nxt[np_ - 1] != p:
                nxt[np_] = p
                np_ += 1
        for i in range(np_):
            p = nxt[i]
            tree[p] = tree[2 * p] + tree[2 * p + 1]
        tmp = cur
        cur = nxt
        nxt = tmp
        cnt = np_


@njit(cache=True, _nrt=False)
def _fields(h, jint, nbr, occ):
    h[:, :] = 0.0
    n, z = nbr.shape
    ns = h.shape[0]
    for m in range(n):
        for k in range(z):
            lq = nbr[m, k]
            if lq < 0:
                continue
            o = occ[lq]
            if o >= 0:
                for x in range(ns):
                    h[x, m] += jint[x, o]


@njit(cache=True, _nrt=False)
def _energy(occ, eps, jint, nbr, ip):
    e = 0.0
    n, z = nbr.shape
    for m in range(n):
        s = occ[m]
        if s < 0:
            continue
        if ip[IP_HAS_EPS]:
            e += eps[s, m]
        if ip[IP_INTERACT]:
            for k in range(z):
                lq = nbr[m, k]
                if lq >= 0 and occ[lq] >= 0:
                    e += 0.5 * jint[s, occ[lq]]
    return e


@njit(cache=True)
def rebuild(nbr, jtype, site_b, site_sub, hop0, allowed, eps, jint, ex0, res_side, res_cum, occ,
            h, ip,
            fp, rate, tree):
    """All rates and the tree from scratch (start of a run, after a rescaling)."""
    n = nbr.shape[0]
    nslot = ip[IP_NSLOT]
    if ip[IP_INTERACT]:
        _fields(h, jint, nbr, occ)
    for m in range(n):
        for k in range(nslot):
            rate[m, k] = _rate(m, k, nbr, jtype, site_b, site_sub, hop0, allowed, eps, jint, ex0,
                               res_side, res_cum, occ, h, ip, fp)
    _tree_build(tree, ip[IP_P2], rate, n, nslot)
    return _energy(occ, eps, jint, nbr, ip)


@njit(cache=True, _nrt=False)
def _change_site(m, old, new, h, jint, nbr):
    """Site ``m`` changed from species ``old`` to ``new`` (-1: vacancy): fields of its
    neighbours."""
    z = nbr.shape[1]
    ns = h.shape[0]
    for k in range(z):
        lq = nbr[m, k]
        if lq < 0:
            continue
        for x in range(ns):
            d = 0.0
            if new >= 0:
                d += jint[x, new]
            if old >= 0:
                d -= jint[x, old]
            h[x, lq] += d


@njit(cache=True, _nrt=False)
def _event_energy(kind, m, n, s, o, new, eps, jint, h, ip):
    """Lattice-energy change of an event, before it is executed."""
    de = 0.0
    if kind == 0:
        if ip[IP_HAS_EPS]:
            de = eps[s, n] - eps[s, m]
        if ip[IP_INTERACT]:
            de += h[s, n] - jint[s, s] - h[s, m]
    elif kind == 1:
        if ip[IP_HAS_EPS]:
            de = eps[s, n] + eps[o, m] - eps[s, m] - eps[o, n]
        if ip[IP_INTERACT]:
            de += (h[o, m] + h[s, n] - h[s, m] - h[o, n] - jint[o, o] - jint[s, s]
                   + 2.0 * jint[s, o])
    else:  # reservoir: site m goes from s to new
        if s >= 0:
            if ip[IP_HAS_EPS]:
                de -= eps[s, m]
            if ip[IP_INTERACT]:
                de -= h[s, m]
        if new >= 0:
            if ip[IP_HAS_EPS]:
                de += eps[new, m]
            if ip[IP_INTERACT]:
                de += h[new, m]
    return de


@njit(cache=True, _nrt=False)
def _touch(m, stamp, mark, touched, nt):
    if stamp[m] != mark:
        stamp[m] = mark
        touched[nt] = m
        return nt + 1
    return nt


@njit(cache=True)
def _record(j, t, df, cm, njump, jsq, cos_sum, cos_n, sub_count, occ_time, ppos, occ,
            pos_index, track, pos_rec, prof_index, layer, prof_rec, cm_rec, njump_rec, jsq_rec,
            cos_rec, cosn_rec, occt_rec, e_rec):
    dt = t - df[DF_T]
    cm_rec[j] = cm
    njump_rec[j] = njump
    jsq_rec[j] = jsq
    cos_rec[j] = cos_sum
    cosn_rec[j] = cos_n
    ns, nsub = sub_count.shape
    for s in range(ns):
        for u in range(nsub):
            occt_rec[j, s, u] = occ_time[s, u] + dt * sub_count[s, u]
    e_rec[j] = df[DF_ETIME] + dt * df[DF_E]
    pi = pos_index[j]
    if pi >= 0:
        for i in range(track.shape[0]):
            pos_rec[pi, i] = ppos[track[i]]
    qi = prof_index[j]
    if qi >= 0:
        for m in range(occ.shape[0]):
            prof_rec[qi, occ[m] + 1, layer[m]] += 1


@njit(cache=True)
def run_events(
    # lattice and model (read only)
    nbr, jvec, jtype, rev, site_b, site_sub, hop0, allowed, eps, jint, ex0, res_side, res_cum,
    site_xyz,
    ip, fp, cls_base,
    # state
    occ, pid, ppos, pspec, psite, plast, phas, free, h, rate, tree, df, di,
    # running statistics
    cm, njump, jsq, cos_sum, cos_n, cls_n, cls_rev, sub_count, occ_time,
    # sampling
    t_samples, pos_index, track, pos_rec, prof_index, layer, prof_rec, cm_rec, njump_rec,
    jsq_rec, cos_rec, cosn_rec, occt_rec, e_rec,
    rng, max_events, stamp,
):
    """Run events until every sample time is recorded or ``max_events`` were executed.

    Returns the number of events executed in this call.
    """
    n, z = nbr.shape
    nslot = ip[IP_NSLOT]
    p2 = ip[IP_P2]
    off = 2 * p2
    ntypes = ip[IP_NT]
    ns = hop0.shape[0]
    d = jvec.shape[2]
    interacting = ip[IP_INTERACT] != 0
    has_eps = ip[IP_HAS_EPS] != 0
    simple = not interacting and ip[IP_HAS_EX] == 0 and ip[IP_HAS_RES] == 0
    multi_b = site_b.shape[0] > 1
    multi_sub = site_sub.shape[0] > 1
    inv2kt = fp[FP_INV2KT]
    track_energy = ip[IP_HAS_EPS] != 0 or interacting
    n_samples = t_samples.shape[0]
    cap = 4 * (z + 1) * (z + 1) + 8
    touched = np.empty(cap, dtype=np.int64)
    leaves = np.empty(cap, dtype=np.int64)
    buf = np.empty(cap, dtype=np.int64)
    done = 0
    while di[DI_JNEXT] < n_samples and done < max_events:
        total = tree[1]
        if not total > 0.0:  # nothing can happen: the state holds until the end
            while di[DI_JNEXT] < n_samples:
                j = di[DI_JNEXT]
                _record(j, t_samples[j], df, cm, njump, jsq, cos_sum, cos_n, sub_count,
                        occ_time, ppos, occ, pos_index, track, pos_rec, prof_index, layer,
                        prof_rec, cm_rec, njump_rec, jsq_rec, cos_rec, cosn_rec, occt_rec,
                        e_rec)
                di[DI_JNEXT] = j + 1
            break
        dt = -math.log(1.0 - rng.random()) / total
        t_new = df[DF_T] + dt
        while di[DI_JNEXT] < n_samples and t_samples[di[DI_JNEXT]] < t_new:
            j = di[DI_JNEXT]
            _record(j, t_samples[j], df, cm, njump, jsq, cos_sum, cos_n, sub_count, occ_time,
                    ppos, occ, pos_index, track, pos_rec, prof_index, layer, prof_rec, cm_rec,
                    njump_rec, jsq_rec, cos_rec, cosn_rec, occt_rec, e_rec)
            di[DI_JNEXT] = j + 1
        if di[DI_JNEXT] >= n_samples:
            break
        # time averages up to the event
        for s in range(ns):
            for u in range(sub_count.shape[1]):
                occ_time[s, u] += dt * sub_count[s, u]
        df[DF_ETIME] += dt * df[DF_E]
        df[DF_T] = t_new

        # ---- select the site, then the slot
        m = -1
        k = -1
        for _attempt in range(8):
            u = rng.random() * total
            j = 1
            while j < p2:
                left = tree[2 * j]
                if u < left:
                    j = 2 * j
                else:
                    u -= left
                    j = 2 * j + 1
            blk = j - p2
            lo = blk << BLOCK_SHIFT
            hi = min(lo + (1 << BLOCK_SHIFT), n)
            m = -1
            lastm = -1
            off = 2 * p2
            for i in range(lo, hi):
                st = tree[off + i]
                if st > 0.0:
                    lastm = i
                    if u < st:
                        m = i
                        break
                    u -= st
            if m < 0:
                m = lastm
                if m < 0:
                    continue
                u = tree[off + m] * 0.999999
            acc = 0.0
            last = -1
            k = -1
            for kk in range(nslot):
                r = rate[m, kk]
                if r > 0.0:
                    acc += r
                    last = kk
                    if u < acc:
                        k = kk
                        break
            if k < 0:
                k = last
            if k >= 0:
                break
        if k < 0:  # rounding left no event: rebuild the tree and draw again
            _tree_build(tree, p2, rate, n, nslot)
            continue

        # ---- execute
        s = occ[m]
        mark = di[DI_EVENTS] + 1
        nt = 0
        if k == z:  # reservoir: redraw the site's content from the bath
            side = res_side[m] - 1
            a = s + 1
            pa = res_cum[side, a + 1] - res_cum[side, a]
            u = rng.random() * (1.0 - pa)
            newstate = -1
            acc = 0.0
            for st in range(ns + 1):
                if st == a:
                    continue
                acc += res_cum[side, st + 1] - res_cum[side, st]
                newstate = st
                if u < acc:
                    break
            new = newstate - 1
            if track_energy:
                df[DF_E] += _event_energy(2, m, m, s, -1, new, eps, jint, h, ip)
            if s >= 0:  # the particle leaves into the bath
                p = pid[m]
                free[di[DI_NFREE]] = p
                di[DI_NFREE] += 1
                pid[m] = -1
                psite[p] = -1
                sub_count[s, site_sub[m] if site_sub.shape[0] > 1 else 0] -= 1
            if new >= 0:  # a particle comes in from the bath
                di[DI_NFREE] -= 1
                p = free[di[DI_NFREE]]
                pid[m] = p
                psite[p] = m
                pspec[p] = new
                for c in range(d):
                    ppos[p, c] = site_xyz[m, c]
                    plast[p, c] = 0.0
                phas[p] = 0
                sub_count[new, site_sub[m] if site_sub.shape[0] > 1 else 0] += 1
            occ[m] = new
            if interacting:
                _change_site(m, s, new, h, jint, nbr)
            cls_n[cls_base + ns * ns] += 1
            if di[DI_LAST_KIND] == 2 and di[DI_LAST_M] == m:
                cls_rev[cls_base + ns * ns] += 1
                di[DI_REVERSALS] += 1
            di[DI_LAST_KIND] = 2
            di[DI_LAST_M] = m
            di[DI_LAST_N] = m
            touched[0] = m
            nt = 1
            if interacting:
                stamp[m] = mark
            n2 = m
        else:
            n2 = nbr[m, k]
            o = occ[n2]
            b = site_b[m] if site_b.shape[0] > 1 else 0
            if o < 0:  # hop m -> n2
                if track_energy:
                    df[DF_E] += _event_energy(0, m, n2, s, -1, -1, eps, jint, h, ip)
                p = pid[m]
                occ[n2] = s
                occ[m] = -1
                pid[n2] = p
                pid[m] = -1
                psite[p] = n2
                vv = 0.0
                dot = 0.0
                ll = 0.0
                for c in range(d):
                    v = jvec[b, k, c]
                    ppos[p, c] += v
                    cm[s, c] += v
                    vv += v * v
                    dot += v * plast[p, c]
                    ll += plast[p, c] * plast[p, c]
                if phas[p]:
                    cos_sum[s] += dot / math.sqrt(vv * ll)
                    cos_n[s] += 1
                for c in range(d):
                    plast[p, c] = jvec[b, k, c]
                phas[p] = 1
                njump[s] += 1
                jsq[s] += vv
                sub_count[s, site_sub[m] if site_sub.shape[0] > 1 else 0] -= 1
                sub_count[s, site_sub[n2] if site_sub.shape[0] > 1 else 0] += 1
                if interacting:
                    _change_site(m, s, -1, h, jint, nbr)
                    _change_site(n2, -1, s, h, jint, nbr)
                ci = s * ntypes + jtype[b, k]
                cls_n[ci] += 1
                if di[DI_LAST_KIND] == 0 and di[DI_LAST_M] == n2 and di[DI_LAST_N] == m:
                    cls_rev[ci] += 1
                    di[DI_REVERSALS] += 1
                di[DI_LAST_KIND] = 0
                di[DI_LAST_M] = m
                di[DI_LAST_N] = n2
            else:  # exchange of the particles on m and n2
                if track_energy:
                    df[DF_E] += _event_energy(1, m, n2, s, o, -1, eps, jint, h, ip)
                p = pid[m]
                q = pid[n2]
                occ[m] = o
                occ[n2] = s
                pid[m] = q
                pid[n2] = p
                psite[p] = n2
                psite[q] = m
                vv = 0.0
                for c in range(d):
                    v = jvec[b, k, c]
                    ppos[p, c] += v
                    ppos[q, c] -= v
                    cm[s, c] += v
                    cm[o, c] -= v
                    vv += v * v
                for pp, sign in ((p, 1.0), (q, -1.0)):
                    dot = 0.0
                    ll = 0.0
                    for c in range(d):
                        dot += sign * jvec[b, k, c] * plast[pp, c]
                        ll += plast[pp, c] * plast[pp, c]
                    sp = pspec[pp]
                    if phas[pp]:
                        cos_sum[sp] += dot / math.sqrt(vv * ll)
                        cos_n[sp] += 1
                    for c in range(d):
                        plast[pp, c] = sign * jvec[b, k, c]
                    phas[pp] = 1
                njump[s] += 1
                njump[o] += 1
                jsq[s] += vv
                jsq[o] += vv
                sub_count[s, site_sub[m] if site_sub.shape[0] > 1 else 0] -= 1
                sub_count[s, site_sub[n2] if site_sub.shape[0] > 1 else 0] += 1
                sub_count[o, site_sub[n2] if site_sub.shape[0] > 1 else 0] -= 1
                sub_count[o, site_sub[m] if site_sub.shape[0] > 1 else 0] += 1
                if interacting:
                    _change_site(m, s, o, h, jint, nbr)
                    _change_site(n2, o, s, h, jint, nbr)
                ci = cls_base + s * ns + o
                cls_n[ci] += 1
                lo = min(m, n2)
                hi = max(m, n2)
                if di[DI_LAST_KIND] == 1 and di[DI_LAST_M] == lo and di[DI_LAST_N] == hi:
                    cls_rev[ci] += 1
                    di[DI_REVERSALS] += 1
                di[DI_LAST_KIND] = 1
                di[DI_LAST_M] = lo
                di[DI_LAST_N] = hi
            touched[0] = m
            touched[1] = n2
            nt = 2
            if interacting:
                stamp[m] = mark
                stamp[n2] = mark
        di[DI_EVENTS] += 1
        done += 1

        # ---- sites whose slots must be recomputed in full
        if interacting:
            base = nt
            for i in range(base):
                x = touched[i]
                for kk in range(z):
                    lq = nbr[x, kk]
                    if lq >= 0:
                        nt = _touch(lq, stamp, mark, touched, nt)
        full = nt
        nleaf = 0
        for i in range(full):
            x = touched[i]
            if simple:  # the rate law inline: no call in the hot loop
                sx = occ[x]
                bx = site_b[x] if multi_b else 0
                for kk in range(z):
                    r = 0.0
                    y = nbr[x, kk]
                    if sx >= 0 and y >= 0 and occ[y] < 0:
                        r = hop0[sx, jtype[bx, kk]]
                        if r > 0.0:
                            if multi_sub and allowed[sx, site_sub[y]] == 0:
                                r = 0.0
                            elif not multi_sub and allowed[sx, 0] == 0:
                                r = 0.0
                            elif has_eps:
                                de = eps[sx, y] - eps[sx, x]
                                if de != 0.0:
                                    r *= math.exp(-de * inv2kt)
                    rate[x, kk] = r
            else:
                for kk in range(nslot):
                    rate[x, kk] = _rate(x, kk, nbr, jtype, site_b, site_sub, hop0, allowed, eps,
                                        jint, ex0, res_side, res_cum, occ, h, ip, fp)
        # slots of outside neighbours that point into the recomputed sites
        for i in range(full):
            x = touched[i]
            bx = site_b[x] if site_b.shape[0] > 1 else 0
            for kk in range(z):
                lq = nbr[x, kk]
                if lq < 0:
                    continue
                if interacting:
                    if stamp[lq] == mark:
                        continue
                elif lq == touched[0] or lq == touched[nt - 1]:
                    continue
                rk = rev[bx, kk]
                if simple:
                    new_r = 0.0
                    sl = occ[lq]
                    if sl >= 0 and occ[x] < 0:
                        new_r = hop0[sl, jtype[site_b[lq] if multi_b else 0, rk]]
                        if new_r > 0.0:
                            if multi_sub and allowed[sl, site_sub[x]] == 0:
                                new_r = 0.0
                            elif not multi_sub and allowed[sl, 0] == 0:
                                new_r = 0.0
                            elif has_eps:
                                de = eps[sl, x] - eps[sl, lq]
                                if de != 0.0:
                                    new_r *= math.exp(-de * inv2kt)
                else:
                    new_r = _rate(lq, rk, nbr, jtype, site_b, site_sub, hop0, allowed, eps,
                                  jint, ex0, res_side, res_cum, occ, h, ip, fp)
                if new_r != rate[lq, rk]:
                    rate[lq, rk] = new_r
                    nleaf = _refresh_site(tree, p2, rate, lq, nslot, leaves, nleaf)
        for i in range(full):
            nleaf = _refresh_site(tree, p2, rate, touched[i], nslot, leaves, nleaf)
        for q in range(nleaf):
            tree[leaves[q]] = _block_sum(tree, p2, leaves[q] - p2, n)
        if nleaf:
            _tree_update(tree, leaves, nleaf, buf)
    return done
