"""From the records of a run to transport coefficients with errors.

:func:`analyse` turns a :class:`~ionscale.kmc.simulate.Simulation` into a
:class:`~ionscale.kmc.results.KMCResult`; :func:`run` does both; :func:`correlation_factor`
runs the single-vacancy model of a lattice; :func:`arrhenius_series` repeats a model over
temperatures.

Conventions (named in every value's symbol): D* is the tracer diffusion coefficient
``<|Δr|²> / (2d t)``, D_σ the "conductivity" diffusion coefficient of the centre of mass
``<|Σ Δr_i|²> / (2d N t)`` (Nernst-Einstein: σ = n q² D_σ / kT), f = D*/D_uncorrelated and
f_I = D_σ/D_uncorrelated with ``D_uncorrelated = Σ a² / (2d N t)`` over the jumps made, the
Haven ratio H_R = D*/D_σ = f / f_I, Γ the total jump rate of a particle (all directions).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from ..results import Provenance, Value
from ..status import Diagnostic
from .lattice import SINGLE_VACANCY_F
from .model import Model
from .msd import MSDFit, fit_msd, ratio_error
from .results import ConcentrationProfiles, KMCResult, KMCSeries, series_from_results
from .simulate import Simulation, simulate

__all__ = ["analyse", "arrhenius_series", "correlation_factor", "lattice_gas_correlation_factor",
           "run", "SINGLE_VACANCY_F"]


_AXES = "xyz"


def lattice_gas_correlation_factor(c, f0: float):
    """Tracer correlation factor of a non-interacting lattice gas at site occupancy ``c``.

    ``f(c) = (1 - α) / (1 - α + 2 α c)`` with ``α = (1 - f0) / (1 + f0)`` and ``f0`` the
    single-vacancy value: exact in both limits (``f → 1`` as c → 0, ``f → f0`` as c → 1) and
    within about 1-2 % of simulations in between for 3D lattices (an interpolation of the
    Tahir-Kheli–Elliott type). For a non-interacting lattice gas the Haven ratio equals f(c)
    (f_I = 1).

    Examples
    --------
    >>> round(lattice_gas_correlation_factor(1.0, 0.65311), 5)
    0.65311
    """
    a = (1.0 - f0) / (1.0 + f0)
    c = np.asarray(c, dtype=float)
    out = (1.0 - a) / (1.0 - a + 2.0 * a * c)
    return float(out) if out.ndim == 0 else out


def _blocks(sim: Simulation):
    """Yield (replica, origin grid index) of every block."""
    K = sim.lags
    for r in range(sim.replicas):
        for b in range(sim.blocks):
            yield r, b * K


def _suffix(name: str, species: str, several: bool) -> str:
    return f"{name}_{species}" if several else name


def analyse(
    sim: Simulation,
    *,
    intercept: bool = True,
    flicker_threshold: float = 0.75,
    files: Iterable = (),
    method: str = "kmc.run",
) -> KMCResult:
    """Transport coefficients of a run, with standard errors.

    Parameters
    ----------
    sim : Simulation
    intercept : bool
        Fit an intercept in MSD(t) (absorbs the short-time transient of correlated motion).
    flicker_threshold : float
        Fraction of events that undo the event before them above which the run is flagged as
        flickering (a ``data-quality`` warning naming the fast class and the span of rates).
    files : iterable of path
        Input files to record in the provenance (the model file).
    method : str
        Provenance method name.

    Returns
    -------
    KMCResult
    """
    model = sim.model
    lat = model.lattice
    d = lat.dimension
    names = model.species_names
    K = sim.lags
    M = sim.blocks * sim.replicas
    tau = sim.times[sim.grid[1:K + 1]] - sim.times[sim.grid[0]]
    block_T = float(tau[-1])
    tables = model.tables()
    mobile = [i for i in range(len(names))
              if sim.n_particles[i] > 0 and tables["hop0"][i].max() + tables["ex0"][i].max() > 0]
    several = len(mobile) > 1
    values: dict[str, Value] = {}
    diags: list[Diagnostic] = []
    msd: dict[str, Any] = {}
    main_fit = None
    blocks = list(_blocks(sim))
    cos_info: dict[str, float] = {}
    # the centre of mass of a species drifts in a couple: no collective values out of equilibrium
    from .model import Couple

    collective = not isinstance(model.initial, Couple)

    if sim.has_reservoir:
        diags.append(Diagnostic("data-quality", "particles enter and leave through the "
                                "reservoirs: no MSD-based values (D*, D_σ, f, H_R); use the "
                                "profiles", fields=("D_tracer",)))
    elif M < 2 * (K + 5):
        diags.append(Diagnostic("data-quality", f"{M} blocks x replicas for {K} lags: too few "
                                "samples to estimate the MSD covariance, no D is reported; use "
                                f"at least {2 * (K + 5)} (about {max(8 * K, 48)} for reliable "
                                "errors)", fields=("D_tracer",)))
    else:
        if M < max(8 * K, 48):
            diags.append(Diagnostic("data-quality", f"only {M} samples (blocks x replicas) for "
                                    f"{K} lags: the errors of D are themselves uncertain by "
                                    f"about {100 / math.sqrt(M - K):.0f} %",
                                    fields=("D_tracer",)))
        for i in mobile:
            sp = names[i]
            N = int(sim.n_particles[i])
            # --- samples per block
            tr = np.zeros((M, K))
            trd = np.zeros((M, K, d))
            cmv = np.zeros((M, K))
            jsq = np.zeros(M)
            njp = np.zeros(M)
            cs = np.zeros(M)
            cn = np.zeros(M)
            have_tracer = True
            for j, (r, g) in enumerate(blocks):
                mask = sim.tracked_species[r] == i
                if not mask.any():
                    have_tracer = False
                else:
                    delta = sim.positions[r, g + 1:g + K + 1][:, mask] - sim.positions[r, g][mask]
                    sq = delta**2
                    trd[j] = sq.mean(axis=1)
                    tr[j] = trd[j].sum(axis=1)
                gi = sim.grid[g:g + K + 1]
                dc = sim.displacement_sum[r, gi[1:], i] - sim.displacement_sum[r, gi[0], i]
                cmv[j] = np.sum(dc**2, axis=1) / N
                jsq[j] = (sim.jump_sq[r, gi[-1], i] - sim.jump_sq[r, gi[0], i]) / N
                njp[j] = (sim.jumps[r, gi[-1], i] - sim.jumps[r, gi[0], i]) / N
                cs[j] = sim.cos_sum[r, gi[-1], i] - sim.cos_sum[r, gi[0], i]
                cn[j] = sim.cos_count[r, gi[-1], i] - sim.cos_count[r, gi[0], i]
            d0 = jsq / (2 * d * block_T)  # uncorrelated D per block
            D0 = float(d0.mean())
            entry: dict[str, Any] = {"dimension": d}
            cm_fit = fit_msd(tau, cmv, factor=2 * d, intercept=intercept)
            if collective:
                values[_suffix("D_sigma", sp, several)] = Value(
                    _suffix("D_sigma", sp, several), cm_fit.D, cm_fit.error, "m^2/s",
                    f"D_σ({sp})" if several else "D_σ",
                    details={"method": "GLS of the centre-of-mass MSD over blocks",
                             "samples": M, "lags": K})
            entry["collective"] = (cm_fit.mean, cm_fit.sem)
            entry["collective_fit"] = (cm_fit.D, cm_fit.offset)
            tr_fit: MSDFit | None = None
            if have_tracer:
                tr_fit = fit_msd(tau, tr, factor=2 * d, intercept=intercept)
                main_fit = main_fit or tr_fit.fit
                key = _suffix("D_tracer", sp, several)
                values[key] = Value(key, tr_fit.D, tr_fit.error, "m^2/s",
                                    f"D*({sp})" if several else "D*",
                                    details={"method": "GLS of the tracer MSD over blocks "
                                             "(Hartlap + Dodelson-Schneider corrected)",
                                             "samples": M, "lags": K,
                                             "reduced_chi2": tr_fit.fit.reduced_chi2})
                if d > 1:
                    for c in range(d):
                        f_c = fit_msd(tau, trd[:, :, c], factor=2, intercept=intercept)
                        kc = _suffix(f"D_tracer_{_AXES[c]}", sp, several)
                        values[kc] = Value(kc, f_c.D, f_c.error, "m^2/s",
                                           f"D*_{_AXES[c]}" + (f"({sp})" if several else ""))
                entry["tracer"] = (tr_fit.mean, tr_fit.sem)
                entry["tracer_fit"] = (tr_fit.D, tr_fit.offset)
                fval, ferr = ratio_error(tr_fit.per_sample, d0, tr_fit.inflation)
                hval, herr = ratio_error(tr_fit.per_sample, cm_fit.per_sample,
                                         max(tr_fit.inflation, cm_fit.inflation))
            else:
                entry["tracer"] = (np.full(K, np.nan), np.full(K, np.nan))
                entry["tracer_fit"] = (math.nan, math.nan)
            fi_val, fi_err = ratio_error(cm_fit.per_sample, d0, cm_fit.inflation)
            if have_tracer and D0 > 0:
                fk = _suffix("f", sp, several)
                f_msd = Value(fk, fval, ferr, "", f"f({sp})" if several else "f",
                              valid=(0.0, math.inf),
                              details={"method": "D*/D_uncorrelated (MSD)"})
                values[fk] = f_msd
                if cn.sum() > 0:
                    cos_info[sp] = float(cs.sum() / cn.sum())
            if D0 > 0 and collective:
                ki = _suffix("f_I", sp, several)
                values[ki] = Value(ki, fi_val, fi_err, "", f"f_I({sp})" if several else "f_I",
                                   valid=(0.0, math.inf),
                                   details={"method": "D_σ/D_uncorrelated"})
            if have_tracer and collective:
                kh = _suffix("H_R", sp, several)
                values[kh] = Value(kh, hval, herr, "", f"H_R({sp})" if several else "H_R",
                                   valid=(0.0, math.inf), details={"method": "D*/D_σ"})
            gam = njp / block_T
            kg = _suffix("Gamma", sp, several)
            values[kg] = Value(kg, float(gam.mean()),
                               float(gam.std(ddof=1) / math.sqrt(M)) if M > 1 else math.nan,
                               "1/s", f"Γ({sp}, total)" if several else "Γ (total)",
                               details={"convention": "jumps per particle per second, all "
                                        "directions"})
            msd[sp] = entry

    # --- occupancy and energy (time averages), errors from the blocks
    occ, occ_err, e_mean, e_err = _time_averages(sim)
    # --- profiles
    profiles = _profiles(sim) if sim.profile_times.size else None
    # --- jump statistics and flicker diagnostic
    stats = _jump_statistics(sim)
    # <cos θ> between successive jumps of a particle; for one vacancy f ≈ (1+<cos>)/(1-<cos>),
    # biased low by about N_sites/events (the late returns of the last encounters are cut off)
    stats["mean_cos_theta"] = cos_info
    frac = stats["reversal_fraction"]
    if frac >= flicker_threshold and stats["events"] > 100 and not sim.acceleration:
        top = stats["dominant_class"]
        diags.append(Diagnostic(
            "data-quality",
            f"{100 * frac:.0f} % of the events undid the event before them (mostly {top}): the "
            f"simulation flickers between a few states while rates span "
            f"{stats['rate_span_decades']:.1f} decades, so the slow processes are poorly "
            "sampled; rerun with accelerate=True (scales the flickering class down, keeping "
            "detailed balance) or run much longer", fields=tuple(values)[:1] or ("events",)))
    if sim.acceleration:
        last = {}
        for a in sim.acceleration:
            last[a["class"]] = a["scale"]
        diags.append(Diagnostic(
            "fixed-choice",
            "flickering events were accelerated by scaling their attempt frequencies ("
            + ", ".join(f"{k} × {v:.3g}" for k, v in last.items())
            + f"); slow transport is kept to about 1/{sim.parameters.get('separation', 100):g}"
            " of its value, but the jump rates of the scaled classes are not physical",
            fields=tuple(values)[:1] or ("events",)))
    prov = Provenance.build(method, files, {**sim.parameters, "model": model.summary(),
                                            "intercept": intercept})
    title = (f"kMC {lat.name} ({lat.n_sites} sites), T = {model.temperature:.6g} K, "
             f"{int(sim.events.sum())} events")
    return KMCResult(values=values, provenance=prov, fit=main_fit, title=title,
                     diagnostics=tuple(diags), temperature=model.temperature, species=names,
                     lag_times=tau, msd=msd, occupancy=occ, occupancy_error=occ_err,
                     sublattices=lat.sublattice_names, mean_energy=e_mean,
                     mean_energy_error=e_err, jump_statistics=stats, profiles=profiles)


def _time_averages(sim: Simulation):
    lat = sim.model.lattice
    n_sub_sites = np.bincount(lat.sublattice, minlength=len(lat.sublattice_names)).astype(float)
    T = sim.duration
    rows, erows = [], []
    for r, g in _blocks(sim):
        gi = sim.grid[g], sim.grid[g + sim.lags]
        dt = sim.times[gi[1]] - sim.times[gi[0]]
        rows.append((sim.occupancy_time[r, gi[1]] - sim.occupancy_time[r, gi[0]]) / dt
                    / n_sub_sites)
        erows.append((sim.energy_time[r, gi[1]] - sim.energy_time[r, gi[0]]) / dt)
    a = np.array(rows)
    e = np.array(erows)
    M = a.shape[0]
    occ = a.mean(axis=0)
    occ_err = a.std(axis=0, ddof=1) / math.sqrt(M) if M > 1 else np.full_like(occ, np.nan)
    del T
    return (occ, occ_err, float(e.mean()),
            float(e.std(ddof=1) / math.sqrt(M)) if M > 1 else math.nan)


def _profiles(sim: Simulation) -> ConcentrationProfiles:
    counts = sim.profile_counts.astype(float)  # (R, n_t, S+1, n_layers)
    n = sim.sites_per_layer.astype(float)
    frac = counts / n
    c = frac.mean(axis=0)
    if sim.replicas > 1:
        sig = frac.std(axis=0, ddof=1) / math.sqrt(sim.replicas)
        sig = np.maximum(sig, np.sqrt(1.0 / (4.0 * n)) / n)
    else:
        sig = np.sqrt((c * (1 - c) + 1.0 / (4.0 * n)) / n)
    return ConcentrationProfiles(
        x=sim.layer_x - sim.layer_x.min(), times=sim.profile_times.copy(),
        species=("vacancy", *sim.species_names), concentration=c, sigma=sig,
        sites_per_layer=sim.sites_per_layer.copy(), temperature=sim.model.temperature,
        axis=int(sim.profile_axis))


def _jump_statistics(sim: Simulation) -> dict[str, Any]:
    ev = int(sim.events.sum())
    rev = int(sim.reversals.sum())
    counts = sim.class_events.sum(axis=0)
    revs = sim.class_reversals.sum(axis=0)
    classes = {name: {"events": int(c), "reversal_fraction": float(r / c) if c else 0.0}
               for name, c, r in zip(sim.class_names, counts, revs, strict=True) if c}
    dominant = max(classes, key=lambda k: classes[k]["events"]) if classes else "none"
    names = sim.species_names
    return {
        "events": ev,
        "events_per_replica": sim.events.tolist(),
        "events_per_second": sim.events_per_second,
        "simulated_time_s": sim.duration,
        "reversal_fraction": rev / ev if ev else 0.0,
        "dominant_class": dominant,
        "classes": classes,
        "rate_span_decades": float(sim.rate_span.max()) if sim.rate_span.size else 0.0,
        "jumps": {names[i]: int(sim.jumps[:, sim.grid[-1], i].sum()) for i in range(len(names))},
        "acceleration": list(sim.acceleration),
        "replicas": sim.replicas,
        "blocks": sim.blocks,
        "lags": sim.lags,
    }


def run(model: Model, *, intercept: bool = True, files: Iterable = (), method: str = "kmc.run",
        flicker_threshold: float = 0.75, **kwargs) -> KMCResult:
    """:func:`~ionscale.kmc.simulate.simulate` then :func:`analyse` (the other keywords go to
    ``simulate``).

    Examples
    --------
    >>> from ionscale.kmc import Model, Species, builtin_lattice
    >>> walker = Model(builtin_lattice("square", 32, a=3e-10),
    ...                [Species("Li", count=1, nu=1e12, Ea="0.2 eV")], 500.0)
    >>> r = run(walker, events=20000, seed=2)
    >>> sorted(r.values)[:3]
    ['D_sigma', 'D_tracer', 'D_tracer_x']
    """
    return analyse(simulate(model, **kwargs), intercept=intercept, files=files, method=method,
                   flicker_threshold=flicker_threshold)


def correlation_factor(
    lattice,
    *,
    shape=None,
    events: float = 2e6,
    blocks: int = 64,
    lags: int = 4,
    seed=None,
    progress: bool = False,
) -> KMCResult:
    """Tracer correlation factor of single-vacancy diffusion on a lattice.

    One vacancy in a periodic box; every atom is a tracer, so every vacancy jump is a tracer
    jump. ``f = D* / D_uncorrelated``: D* from the GLS fit of the MSD of all atoms over blocks
    (the many vacancy-atom encounters of the run), ``D_uncorrelated = Σ a² / (2d N t)`` from the
    jumps made; the error comes from the per-block estimates (:mod:`ionscale.kmc.msd`).
    ``jump_statistics["mean_cos_theta"]`` gives <cos θ> between successive jumps of an atom for
    comparison ((1 + <cos θ>)/(1 - <cos θ>) is biased low by about sites/events, the cut-off
    late returns of the last encounters).

    Parameters
    ----------
    lattice : str or Lattice
        A built-in name (``"fcc"``...) or a lattice.
    shape : int or sequence, optional
        Box for a built-in name (default: about 20 000 sites).
    events : float
        Vacancy jumps (the error of f falls as 1/√events: about ±0.002 at 2e6 in 3D).
    blocks, lags, seed, progress
        As in :func:`~ionscale.kmc.simulate.simulate`.

    Returns
    -------
    KMCResult
        ``f``, ``D_tracer``, ``D_sigma``, ``H_R``... and ``jump_statistics``.

    Examples
    --------
    >>> r = correlation_factor("sc", events=3e5, seed=1)
    >>> abs(r["f"].value - 0.65311) < 4 * r["f"].error
    True
    """
    from .lattice import Lattice, builtin_lattice
    from .model import Species

    if isinstance(lattice, Lattice):
        lat = lattice
    else:
        if shape is None:
            shape = {"chain": 20000, "square": 128, "triangular": 128, "honeycomb": 96,
                     "sc": 28, "bcc": 22, "fcc": 17, "diamond": 14}.get(str(lattice), 16)
        lat = builtin_lattice(str(lattice), shape, a=1e-10)
    model = Model(lat, [Species("A", nu=1.0, Ea=0.0)], temperature=300.0, vacancies=1)
    return run(model, events=events, blocks=blocks, lags=lags, seed=seed, track="all",
               progress=progress, method="kmc.correlation")


def arrhenius_series(
    model: Model,
    temperatures: Sequence[float],
    *,
    seed=None,
    progress: bool = False,
    **kwargs,
) -> KMCSeries:
    """Run ``model`` at each temperature (K); the series feeds an Arrhenius fit.

    Each run gets its own seed (spawned from ``seed``); keywords go to
    :func:`~ionscale.kmc.simulate.simulate` (give ``events`` rather than ``time``: rates change
    by decades over a series).

    Returns
    -------
    KMCSeries
        Per-temperature :class:`KMCResult` objects (``results``) with their ``temperature``;
        ``series.arrhenius("D_tracer")`` fits them with
        :func:`ionscale.transport.fit_arrhenius`, ``series.table(value)`` gives the arrays.
    """
    temps = [float(t) for t in temperatures]
    if not temps or any(not (t > 0) for t in temps):
        raise InputError(f"temperatures {temperatures!r}", field="temperatures",
                         expected="positive temperatures in K")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    seeds = rng.spawn(len(temps))
    results = []
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=len(temps), unit="T", desc="kmc series", file=sys.stderr)
    for T, s in zip(temps, seeds, strict=True):
        results.append(run(model.with_temperature(T), seed=s, **kwargs))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    prov = Provenance.build("kmc.series", (), {"temperatures": temps, **{
        k: v for k, v in kwargs.items() if isinstance(v, (int, float, str, bool))}})
    return series_from_results(results, prov)
