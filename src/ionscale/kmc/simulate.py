"""Running a :class:`~ionscale.kmc.model.Model`: replicas, sampling, progress, acceleration.

:func:`simulate` returns a :class:`Simulation`: the raw records of every replica (unwrapped
positions of the tracked particles at the sample times, summed displacements per species, jump
counters, time-integrated occupancies and energy, concentration profiles) from which
:func:`ionscale.kmc.analyse` computes the transport coefficients.

Sampling
--------
A run of duration T is cut into ``blocks`` consecutive blocks of ``lags`` equal steps each;
positions are stored at the ``blocks * lags + 1`` grid times only (never at every event). Each
block is one sample of the MSD curve at the lags ``τ_k = k T / (blocks * lags)``, k = 1..lags,
measured from the block's own origin; the blocks of all replicas are the samples whose spread
gives the MSD covariance (see :mod:`ionscale.kmc.msd`). Profiles are recorded at the extra
``profile_times``.

Acceleration of flickering events
---------------------------------
When rates span many decades a simulation can spend nearly all of its events on one fast pair
of states (a particle hopping back and forth between two sites, seed 002's "stuck" run). With
``accelerate=True`` the kernel runs in chunks; after each chunk, every hop class (species, jump
type) that made more than ``separation / (separation + 1)`` of the events, most of them
immediate reversals, has its attempt frequency scaled down so that it stays about
``separation`` times faster than the rest. Both directions of a class are scaled alike, so the
equilibrium distribution is unchanged and a quasi-equilibrated fast process stays
quasi-equilibrated; the slow, long-range transport is then reproduced up to a relative error of
order ``1 / separation``, in far fewer events (rate scaling, as in Chatterjee & Voter's
accelerated superbasin kMC and Dybeck et al., J. Chem. Theory Comput. 13, 1525 (2017)). The
scale factors are reported, and results carry a ``fixed-choice`` warning.
"""

from __future__ import annotations

import math
import sys
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..units import parse_quantity
from . import _engine as E
from .model import Model, check_memory, estimate_memory

__all__ = ["Simulation", "simulate"]


@dataclass(frozen=True, eq=False)
class Simulation:
    """Raw records of a kMC run (all replicas). Arrays are SI (s, m, J).

    Attributes
    ----------
    model : Model
    times : ndarray, shape (J,)
        Every sample time, s.
    grid : ndarray of int
        Indices into ``times`` of the MSD grid (``blocks * lags + 1`` times).
    blocks, lags : int
        Blocks per replica and lags per block.
    n_particles : ndarray, shape (S,)
        Particles of each species at the start.
    tracked_species : ndarray, shape (R, n_track)
        Species index of each tracked particle in each replica.
    positions : ndarray, shape (R, blocks * lags + 1, n_track, d)
        Unwrapped positions of the tracked particles at the grid times, m.
    displacement_sum : ndarray, shape (R, J, S, d)
        Sum over the particles of each species of their displacements since t = 0, m.
    jumps, jump_sq : ndarray, shape (R, J, S)
        Cumulative number of jumps and sum of squared jump lengths (m²) per species.
    cos_sum, cos_count : ndarray, shape (R, J, S)
        Cumulative sum of cos θ between the successive jumps of a particle, and the number of
        such pairs (the single-vacancy correlation factor is ``(1 + <cos θ>) / (1 - <cos θ>)``).
    occupancy_time : ndarray, shape (R, J, S, n_sublattices)
        Cumulative ∫ (particles of a species on a sublattice) dt, s.
    energy_time : ndarray, shape (R, J)
        Cumulative ∫ E dt of the lattice energy, J s.
    profile_times : ndarray
        Times of the concentration profiles, s.
    profile_counts : ndarray, shape (R, n_profiles, S + 1, n_layers)
        Sites of each layer holding a vacancy (index 0) or species s (index s + 1).
    layer_x : ndarray
        Position of each layer along ``profile_axis``, m.
    sites_per_layer : ndarray
    profile_axis : int or None
    class_names : tuple of str
        Event classes ("A nn", "A<->B exchange", "reservoir").
    class_events, class_reversals : ndarray, shape (R, n_classes)
        Events of each class, and those that undid the event just before them.
    events, reversals : ndarray, shape (R,)
    rate_span : ndarray, shape (R,)
        Decades between the fastest and the slowest possible event at the end of the run.
    scale : ndarray, shape (R, S, n_jump_types)
        Final attempt-frequency scale factors (1: not accelerated).
    acceleration : tuple of dict
        Every rescaling: replica, time, class, factor.
    parameters : dict
        The run's settings (seed included).
    wall_time : float
        Seconds of computation (replicas, set-up included).
    kernel_time : float
        Seconds spent executing events (the figure behind :attr:`events_per_second`).
    """

    model: Model
    times: np.ndarray
    grid: np.ndarray
    blocks: int
    lags: int
    n_particles: np.ndarray
    tracked_species: np.ndarray
    positions: np.ndarray
    displacement_sum: np.ndarray
    jumps: np.ndarray
    jump_sq: np.ndarray
    cos_sum: np.ndarray
    cos_count: np.ndarray
    occupancy_time: np.ndarray
    energy_time: np.ndarray
    profile_times: np.ndarray
    profile_counts: np.ndarray
    layer_x: np.ndarray
    sites_per_layer: np.ndarray
    profile_axis: int | None
    class_names: tuple[str, ...]
    class_events: np.ndarray
    class_reversals: np.ndarray
    events: np.ndarray
    reversals: np.ndarray
    rate_span: np.ndarray
    scale: np.ndarray
    acceleration: tuple[dict, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0
    kernel_time: float = 0.0
    has_reservoir: bool = False

    @property
    def replicas(self) -> int:
        return self.positions.shape[0]

    @property
    def duration(self) -> float:
        """Simulated time per replica, s."""
        return float(self.times[self.grid[-1]])

    @property
    def species_names(self) -> tuple[str, ...]:
        return self.model.species_names

    @property
    def events_per_second(self) -> float:
        """Events executed per second of computation."""
        t = self.kernel_time or self.wall_time
        return float(self.events.sum() / t) if t > 0 else math.nan


def _seconds(value, name: str) -> float:
    v = parse_quantity(value, "s", field=name) if isinstance(value, str) else float(value)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{name} = {value!r}", field=name, expected="a time > 0 s")
    return v


def simulate(
    model: Model,
    *,
    time: float | str | None = None,
    events: float | None = None,
    blocks: int = 128,
    lags: int = 4,
    replicas: int = 1,
    equilibrate: float = 0,
    profile_times: Sequence[float | str] | None = None,
    profile_axis: int | None = None,
    track: str | int | Sequence[int] = "all",
    seed: int | np.random.Generator | None = None,
    accelerate: bool = False,
    separation: float = 100.0,
    progress: bool = False,
    max_memory: float | None = None,
) -> Simulation:
    """Run a kMC model (BKL / residence-time algorithm, numba kernel).

    Parameters
    ----------
    model : Model
    time : float or str, optional
        Simulated duration of each replica, s (``"1 ns"``).
    events : float, optional
        Duration given as a number of events instead: ``T = events / R₀`` with R₀ the total
        rate of the first replica's initial state (the number executed is close to it in a
        steady state). One of ``time``, ``events`` or ``profile_times`` is required.
    blocks, lags : int
        Sampling grid: ``blocks`` consecutive blocks of ``lags`` steps per replica (see the
        module notes). The MSD fit needs ``blocks * replicas >= 2 (lags + 5)``; its 95 %
        intervals hold the true value 95 ± 1.5 % of the time from about 256 samples (fewer
        samples of a single particle give intervals about 2 % short: the t-statistic of
        skewed chi-square-like samples).
    replicas : int
        Independent runs, each from its own random initial configuration.
    equilibrate : float
        Events run before t = 0 and discarded (for interacting models started at random).
    profile_times : sequence, optional
        Times (s or strings) at which to record concentration profiles along
        ``profile_axis``; the run lasts at least until the last one.
    profile_axis : int, optional
        Axis of the profiles (default: the couple's or the reservoir's axis, else 0).
    track : "all", int or sequence of int
        Particles whose positions are stored: all, that many chosen at random, or these ids
        (particles are numbered in site order of the initial configuration).
    seed : int or Generator, optional
        Seed of everything random (initial configurations and events); results are
        reproducible for a given seed.
    accelerate : bool
        Scale down flickering event classes (module notes).
    separation : float
        Factor by which an accelerated class is kept faster than the rest.
    progress : bool
        Show a progress bar (tqdm, stderr).
    max_memory : float, optional
        Bytes the run may use (default: 80 % of the available memory); a run that needs more
        raises :class:`~ionscale.errors.InputError` before it starts.

    Returns
    -------
    Simulation

    Examples
    --------
    >>> from ionscale.kmc import Model, Species, builtin_lattice, simulate
    >>> lat = builtin_lattice("square", 16, a=3e-10)
    >>> m = Model(lat, [Species("Li", fraction=0.5, nu=1e13, Ea="0.3 eV")], 600.0)
    >>> sim = simulate(m, events=20000, blocks=16, lags=4, seed=1)
    >>> sim.positions.shape
    (1, 65, 128, 2)
    """
    lat = model.lattice
    n, z, d = lat.n_sites, lat.coordination, lat.dimension
    names = model.species_names
    ns = len(names)
    blocks, lags, replicas = int(blocks), int(lags), int(replicas)
    if blocks < 1 or lags < 1 or replicas < 1:
        raise InputError(f"blocks = {blocks}, lags = {lags}, replicas = {replicas}",
                         field="blocks", expected="positive integers")
    if not (separation > 1):
        raise InputError(f"separation = {separation!r}", field="separation",
                         expected="a factor > 1")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    seeds = rng.spawn(replicas)
    tables = model.tables()
    ptimes = np.array(sorted(_seconds(v, "profile_times")
                             for v in ([] if profile_times is None else profile_times)))
    if profile_axis is None:
        if model.initial is not None and hasattr(model.initial, "axis"):
            profile_axis = int(model.initial.axis)
        elif model.reservoir is not None:
            profile_axis = int(model.reservoir.axis)
        else:
            profile_axis = 0
    lat._check_axis(profile_axis)

    # ---- static tables
    nb = lat.n_basis
    has_res = model.reservoir is not None
    nslot = z + (1 if has_res else 0)
    n_blocks = (n + (1 << E.BLOCK_SHIFT) - 1) >> E.BLOCK_SHIFT
    p2 = 1 << max(1, int(math.ceil(math.log2(max(n_blocks, 2)))))
    tree_size = 2 * p2 + n
    nt = len(lat.jump_type_names)
    ip = np.zeros(E.IP_SIZE, dtype=np.int64)
    ip[E.IP_NB] = nb
    ip[E.IP_HAS_EPS] = int(tables["has_eps"])
    ip[E.IP_INTERACT] = int(tables["interacting"])
    ip[E.IP_HAS_EX] = int(tables["has_ex"])
    ip[E.IP_HAS_RES] = int(has_res)
    ip[E.IP_NSLOT] = nslot
    ip[E.IP_P2] = p2
    ip[E.IP_NT] = nt
    fp = np.zeros(E.FP_SIZE)
    fp[E.FP_INV2KT] = 1.0 / (2.0 * model.kT)
    res_side = np.zeros(n if has_res else 1, dtype=np.int8)
    res_cum = np.zeros((2, ns + 2))
    if has_res:
        r = model.reservoir
        layer, _ = lat.layers(r.axis)
        res_side[layer == layer.min()] = 1
        res_side[layer == layer.max()] = 2
        for i, side in enumerate((r.low, r.high)):
            p = np.zeros(ns + 1)
            for k, v in side.items():
                p[names.index(k) + 1] = float(v)
            p[0] = 1.0 - p[1:].sum()
            res_cum[i, 1:] = np.cumsum(p)
        if r.rate is None:
            fp[E.FP_RESK] = 10.0 * max(float(tables["hop0"].max()), 1e-300)
        else:
            fp[E.FP_RESK] = _rate_value(r.rate)
    site_xyz = lat.positions if has_res else np.zeros((1, d))
    jvec = np.ascontiguousarray(lat.jump_vectors)
    jtype = np.ascontiguousarray(lat.jump_type)
    rev = np.ascontiguousarray(lat.reverse_slot)
    # length-1 tables when every site is alike: the kernel then skips the lookups
    site_b = (np.ascontiguousarray(lat.basis_index.astype(np.int32)) if nb > 1
              else np.zeros(1, dtype=np.int32))
    site_sub = (np.ascontiguousarray(lat.sublattice.astype(np.int32))
                if len(lat.sublattice_names) > 1 else np.zeros(1, dtype=np.int32))
    nbr = lat.neighbours
    base_hop0 = tables["hop0"].copy()
    allowed = tables["allowed"]
    eps, jint, ex0 = tables["eps"], tables["jint"], tables["ex0"]
    n_sub = len(lat.sublattice_names)
    cls_base = ns * nt
    class_names = tuple([f"{s} {t}" for s in names for t in lat.jump_type_names]
                        + [f"{a}<->{b} exchange" for a in names for b in names]
                        + ["reservoir"])
    n_cls = len(class_names)
    layer, layer_x = lat.layers(profile_axis)
    n_layers = layer_x.size
    sites_per_layer = np.bincount(layer, minlength=n_layers)

    # ---- first configuration, to size everything
    configs = [model.configuration(np.random.default_rng(s)) for s in seeds[:1]]
    n_part = int(np.sum(configs[0] >= 0))
    if isinstance(track, str):
        if track != "all":
            raise InputError(f"track = {track!r}", field="track",
                             expected="'all', a number of particles or a list of ids")
        track_ids = np.arange(n_part)
    elif np.ndim(track) == 0:
        k = int(track)
        if k < 0:
            raise InputError(f"track = {track!r}", field="track", expected="a number >= 0")
        track_ids = np.sort(np.random.default_rng(seeds[0].integers(2**63)).choice(
            n_part, size=min(k, n_part), replace=False)) if k else np.zeros(0, dtype=np.int64)
    else:
        track_ids = np.asarray(track, dtype=np.int64).ravel()
        if track_ids.size and (track_ids.min() < 0 or track_ids.max() >= n_part):
            raise InputError("a tracked particle id is out of range", field="track",
                             expected=f"ids from 0 to {n_part - 1}")
    track_ids = track_ids.astype(np.int32)
    n_grid = blocks * lags + 1
    need = estimate_memory(model, samples=n_grid + ptimes.size, tracked=track_ids.size,
                           profiles=ptimes.size, replicas=replicas)
    check_memory(need, max_memory)

    # ---- duration
    if time is not None:
        duration = _seconds(time, "time")
    elif events is not None:
        if not (float(events) > 0):
            raise InputError(f"events = {events!r}", field="events", expected="a number > 0")
        occ0 = configs[0]
        h0 = np.zeros((ns, n)) if tables["interacting"] else np.zeros((ns, 0))
        rate0 = np.zeros((n, nslot))
        tree0 = np.zeros(tree_size)
        E.rebuild(nbr, jtype, site_b, site_sub, base_hop0, allowed, eps, jint, ex0, res_side,
                  res_cum,
                  occ0.astype(np.int8), h0, ip, fp, rate0, tree0)
        if not tree0[1] > 0:
            raise InputError("no event is possible in the initial state", field="events",
                             expected="a model in which something can move (or give time)")
        duration = float(events) / float(tree0[1])
    elif ptimes.size:
        duration = float(ptimes[-1])
    else:
        raise InputError("no duration", field="time",
                         expected="time, events or profile_times")
    if ptimes.size and ptimes[-1] > duration:
        duration = float(ptimes[-1])
    grid_t = np.linspace(0.0, duration, n_grid)
    all_t = np.unique(np.concatenate([grid_t, ptimes]))
    grid_idx = np.searchsorted(all_t, grid_t)
    prof_idx = np.searchsorted(all_t, ptimes)
    n_t = all_t.size
    pos_index = np.full(n_t, -1, dtype=np.int32)
    pos_index[grid_idx] = np.arange(n_grid, dtype=np.int32)
    prof_index = np.full(n_t, -1, dtype=np.int32)
    prof_index[prof_idx] = np.arange(ptimes.size, dtype=np.int32)

    # ---- records
    R = replicas
    positions = np.zeros((R, n_grid, track_ids.size, d))
    disp_sum = np.zeros((R, n_t, ns, d))
    jumps = np.zeros((R, n_t, ns), dtype=np.int64)
    jump_sq = np.zeros((R, n_t, ns))
    cos_rec = np.zeros((R, n_t, ns))
    cosn_rec = np.zeros((R, n_t, ns), dtype=np.int64)
    occt_rec = np.zeros((R, n_t, ns, n_sub))
    e_rec = np.zeros((R, n_t))
    prof_rec = np.zeros((R, ptimes.size, ns + 1, n_layers), dtype=np.int32)
    class_events = np.zeros((R, n_cls), dtype=np.int64)
    class_rev = np.zeros((R, n_cls), dtype=np.int64)
    n_events = np.zeros(R, dtype=np.int64)
    n_rev = np.zeros(R, dtype=np.int64)
    spans = np.zeros(R)
    scales = np.ones((R, ns, nt))
    n_particles = np.bincount(configs[0][configs[0] >= 0], minlength=ns)
    tracked_species = np.zeros((R, track_ids.size), dtype=np.int32)
    accel_log: list[dict] = []

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=R * n_t, unit="sample", desc="kmc", file=sys.stderr, leave=False)
    start = _time.perf_counter()
    kernel_time = 0.0
    target_share = separation / (separation + 1.0)
    static = (nbr, jvec, jtype, rev, site_b, site_sub, allowed, eps, jint, ex0, res_side,
              res_cum, site_xyz, ip, fp, cls_base, track_ids, layer)
    for r in range(R):
        rrng = np.random.default_rng(seeds[r])
        occ = configs[r] if r < len(configs) else model.configuration(rrng)
        occ = occ.astype(np.int8)
        tracked_species[r] = occ[occ >= 0][track_ids] if track_ids.size else 0
        if int(np.sum(occ >= 0)) != n_part:
            raise InputError("replicas start with different numbers of particles",
                             field="initial", expected="a fixed composition")
        sites_occ = np.flatnonzero(occ >= 0)
        n_cap = n if has_res else n_part
        pid = np.full(n, -1, dtype=np.int32)
        pid[sites_occ] = np.arange(n_part, dtype=np.int32)
        ppos = np.zeros((max(n_cap, 1), d))
        ppos[:n_part] = lat.positions[sites_occ]
        pspec = np.full(max(n_cap, 1), -1, dtype=np.int32)
        pspec[:n_part] = occ[sites_occ]
        psite = np.full(max(n_cap, 1), -1, dtype=np.int32)
        psite[:n_part] = sites_occ
        plast = np.zeros((max(n_cap, 1), d))
        phas = np.zeros(max(n_cap, 1), dtype=np.uint8)
        free = np.zeros(max(n_cap, 1), dtype=np.int32)
        n_free = n_cap - n_part
        free[:n_free] = np.arange(n_cap - 1, n_part - 1, -1, dtype=np.int32)
        h = np.zeros((ns, n)) if tables["interacting"] else np.zeros((ns, 0))
        rate = np.zeros((n, nslot))
        tree = np.zeros(tree_size)
        hop0 = base_hop0.copy()
        scale = np.ones((ns, nt))
        energy = E.rebuild(nbr, jtype, site_b, site_sub, hop0, allowed, eps, jint, ex0, res_side,
                           res_cum, occ, h, ip, fp, rate, tree)
        df = np.zeros(E.DF_SIZE)
        df[E.DF_E] = energy
        di = np.zeros(E.DI_SIZE, dtype=np.int64)
        di[E.DI_LAST_KIND] = -1
        di[E.DI_NFREE] = n_free
        stamp = np.zeros(n, dtype=np.int64)
        cm = np.zeros((ns, d))
        njump = np.zeros(ns, dtype=np.int64)
        jsq = np.zeros(ns)
        cos_sum = np.zeros(ns)
        cos_n = np.zeros(ns, dtype=np.int64)
        cls_n = np.zeros(n_cls, dtype=np.int64)
        cls_r = np.zeros(n_cls, dtype=np.int64)
        sub_count = np.zeros((ns, n_sub), dtype=np.int64)
        np.add.at(sub_count, (occ[sites_occ], lat.sublattice[sites_occ]), 1)
        occ_time = np.zeros((ns, n_sub))
        st = {"hop0": hop0, "occ": occ, "pid": pid, "ppos": ppos, "pspec": pspec,
              "psite": psite, "plast": plast, "phas": phas, "free": free, "h": h, "rate": rate,
              "tree": tree, "df": df, "di": di, "cm": cm, "njump": njump, "jsq": jsq,
              "cos_sum": cos_sum, "cos_n": cos_n, "cls_n": cls_n, "cls_r": cls_r,
              "sub_count": sub_count, "occ_time": occ_time, "rng": rrng, "stamp": stamp}

        if equilibrate and float(equilibrate) > 0:
            dummy = _dummy_records(ns, d, n_sub, n_layers)
            left = int(equilibrate)
            while left > 0:
                done = _call(static, st, np.array([np.inf]), min(left, 1_000_000),
                             dummy["pos"], dummy["prof"], dummy)
                if done == 0:
                    break
                left -= done
            # reset clocks and counters; the configuration is kept
            df[E.DF_T] = 0.0
            df[E.DF_ETIME] = 0.0
            di[E.DI_JNEXT] = 0
            di[E.DI_EVENTS] = 0
            di[E.DI_REVERSALS] = 0
            di[E.DI_LAST_KIND] = -1
            for a in (cm, jsq, cos_sum, occ_time):
                a[...] = 0.0
            for a in (njump, cos_n, cls_n, cls_r):
                a[...] = 0
            stamp[...] = 0
            # the tracked particles' positions are measured from here on
        rec = {"pos_index": pos_index, "prof_index": prof_index, "cm": disp_sum[r],
               "nj": jumps[r], "jsq": jump_sq[r], "cos": cos_rec[r], "cosn": cosn_rec[r],
               "occt": occt_rec[r], "e": e_rec[r]}
        chunk = 200_000
        prev_n = cls_n.copy()
        prev_r = cls_r.copy()
        last_j = 0
        while di[E.DI_JNEXT] < n_t:
            t0 = _time.perf_counter()
            done = _call(static, st, all_t, chunk, positions[r], prof_rec[r], rec)
            dt_wall = _time.perf_counter() - t0
            kernel_time += dt_wall
            if bar is not None:
                bar.update(int(di[E.DI_JNEXT]) - last_j)
            last_j = int(di[E.DI_JNEXT])
            if dt_wall > 0 and done == chunk:  # aim at ~0.3 s per chunk
                chunk = int(min(max(chunk * 0.3 / dt_wall, 10_000), 50_000_000))
            if accelerate and done > 0:
                dn = cls_n - prev_n
                dr = cls_r - prev_r
                total = int(dn.sum())
                changed = False
                for c in range(ns * nt):
                    if dn[c] < 100 or total == 0:
                        continue
                    share = dn[c] / total
                    if share > target_share and dr[c] > 0.5 * dn[c]:
                        rest = total - dn[c]
                        alpha = separation * rest / dn[c] if rest > 0 else 1e-2
                        alpha = float(min(max(alpha, 1e-3), 1.0))
                        if alpha < 0.999:
                            s_i, t_i = divmod(c, nt)
                            scale[s_i, t_i] *= alpha
                            changed = True
                            accel_log.append({"replica": r, "time": float(df[E.DF_T]),
                                              "class": class_names[c], "factor": alpha,
                                              "scale": float(scale[s_i, t_i])})
                if changed:
                    hop0 = base_hop0 * scale
                    st["hop0"] = hop0
                    E.rebuild(nbr, jtype, site_b, site_sub, hop0, allowed, eps, jint, ex0, res_side,
                              res_cum, occ, h, ip, fp, rate, tree)
                prev_n = cls_n.copy()
                prev_r = cls_r.copy()
        class_events[r] = cls_n
        class_rev[r] = cls_r
        n_events[r] = di[E.DI_EVENTS]
        n_rev[r] = di[E.DI_REVERSALS]
        pos = rate[rate > 0]
        spans[r] = float(np.log10(pos.max() / pos.min())) if pos.size else 0.0
        scales[r] = scale
        if r + 1 < R:
            configs.append(model.configuration(np.random.default_rng(seeds[r + 1])))
    wall = _time.perf_counter() - start
    if bar is not None:
        bar.close()
    params = {"time": duration, "events": events, "blocks": blocks, "lags": lags,
              "replicas": replicas, "equilibrate": equilibrate, "track": int(track_ids.size),
              "accelerate": bool(accelerate), "separation": separation,
              "seed": seed if isinstance(seed, (int, type(None))) else "Generator",
              "profile_times": ptimes.tolist(), "profile_axis": profile_axis}
    return Simulation(
        model=model, times=all_t, grid=grid_idx, blocks=blocks, lags=lags,
        n_particles=n_particles, tracked_species=tracked_species,
        positions=positions, displacement_sum=disp_sum, jumps=jumps, jump_sq=jump_sq,
        cos_sum=cos_rec, cos_count=cosn_rec, occupancy_time=occt_rec, energy_time=e_rec,
        profile_times=ptimes, profile_counts=prof_rec, layer_x=layer_x,
        sites_per_layer=sites_per_layer, profile_axis=profile_axis if ptimes.size else None,
        class_names=class_names, class_events=class_events, class_reversals=class_rev,
        events=n_events, reversals=n_rev, rate_span=spans, scale=scales,
        acceleration=tuple(accel_log), parameters=params, wall_time=wall,
        kernel_time=kernel_time, has_reservoir=has_res)


def _call(static, st, t_samples, max_events, pos_rec, prof_rec_r, rec) -> int:
    """One call of the kernel on a replica's state ``st``."""
    (nbr, jvec, jtype, rev, site_b, site_sub, allowed, eps, jint, ex0, res_side, res_cum,
     site_xyz, ip, fp, cls_base, track_ids, layer) = static
    return E.run_events(
        nbr, jvec, jtype, rev, site_b, site_sub, st["hop0"], allowed, eps, jint, ex0,
        res_side, res_cum, site_xyz, ip, fp, cls_base,
        st["occ"], st["pid"], st["ppos"], st["pspec"], st["psite"], st["plast"], st["phas"],
        st["free"], st["h"], st["rate"], st["tree"], st["df"], st["di"],
        st["cm"], st["njump"], st["jsq"], st["cos_sum"], st["cos_n"], st["cls_n"], st["cls_r"],
        st["sub_count"], st["occ_time"],
        t_samples, rec["pos_index"], track_ids, pos_rec, rec["prof_index"], layer,
        prof_rec_r, rec["cm"], rec["nj"], rec["jsq"], rec["cos"], rec["cosn"],
        rec["occt"], rec["e"], st["rng"], int(max_events), st["stamp"])


def _rate_value(v) -> float:
    from .model import _rate

    return _rate(v, "reservoir.rate")


def _dummy_records(ns: int, d: int, n_sub: int, n_layers: int) -> dict:
    return {"pos_index": np.full(1, -1, dtype=np.int32),
            "prof_index": np.full(1, -1, dtype=np.int32),
            "pos": np.zeros((1, 0, d)), "prof": np.zeros((1, ns + 1, n_layers), dtype=np.int32),
            "cm": np.zeros((1, ns, d)), "nj": np.zeros((1, ns), dtype=np.int64),
            "jsq": np.zeros((1, ns)), "cos": np.zeros((1, ns)),
            "cosn": np.zeros((1, ns), dtype=np.int64), "occt": np.zeros((1, ns, n_sub)),
            "e": np.zeros(1)}
