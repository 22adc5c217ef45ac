"""A kinetic Monte Carlo model: lattice, species, rates, energies, boundaries, initial state.

Rates
-----
A hop of species *s* through a slot of jump type *j* into a vacant site has the rate

    r = ν[s, j] · exp(-(E_KRA[s, j] + ΔE/2) / (k_B T)),

where ΔE is the change of the lattice energy: site energies ε_s(site) (per sublattice or per
site) and nearest-neighbour pair energies J[s, s'] between particles on sites connected by a
jump slot. This *kinetically resolved* barrier keeps detailed balance,
``r_forward / r_backward = exp(-ΔE / kT)``, so the equilibrium occupancy is Boltzmann's
(Fermi-Dirac's for many particles). An :class:`Exchange` swaps two neighbouring particles of
different species with ``ν_x exp(-(E_x + ΔE/2) / kT)`` (a direct-exchange interdiffusion
event). ``Γ`` in the outputs is the *total* jump rate of a particle (all directions), and
``ν exp(-E_KRA / kT)`` is the rate *per jump direction*: a lone walker with z neighbours has
``Γ = z ν exp(-E_KRA / kT)`` and ``D = Γ a² / (2d)``.

Units: SI inside (J, K, s⁻¹, m). Energies and rates may be given as strings with units
(``"0.3 eV"``, ``"1e13 1/s"``), which :func:`ionscale.units.parse_quantity` converts; a bare
number is SI (J for an energy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..units import BOLTZMANN, parse_quantity
from .lattice import Lattice

__all__ = ["Couple", "Exchange", "Model", "Reservoir", "Species", "estimate_memory"]


def _energy(value, field_name: str) -> float:
    if isinstance(value, str):
        return parse_quantity(value, "J", field=field_name)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {value!r} as an energy", field=field_name,
                         expected="an energy in J or a string such as '0.3 eV'") from None
    if not math.isfinite(v):
        raise InputError(f"energy {value!r} is not finite", field=field_name,
                         expected="a finite energy")
    return v


def _rate(value, field_name: str) -> float:
    v = parse_quantity(value, "1/s", field=field_name) if isinstance(value, str) else value
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {value!r} as a frequency", field=field_name,
                         expected="an attempt frequency in s⁻¹, e.g. '1e13 1/s'") from None
    if not (math.isfinite(v) and v >= 0):
        raise InputError(f"attempt frequency {value!r}", field=field_name,
                         expected="a finite frequency >= 0 (s⁻¹)")
    return v


@dataclass(frozen=True)
class Species:
    """A mobile (or immobile) species.

    Parameters
    ----------
    name : str
        Label (``"Li"``, ``"A"``); ``"vacancy"`` is reserved.
    fraction : float or mapping, optional
        Initial site fraction: of the whole lattice, or ``{sublattice: fraction}``.
    count : int, optional
        Initial number of particles instead of ``fraction`` (``count=1``: a lone walker).
    nu : float, str or mapping
        Attempt frequency ν per jump direction, s⁻¹: one value, or ``{jump type: ν}`` (a jump
        type missing from the mapping is forbidden). 0 makes the species immobile.
    Ea : float, str or mapping
        Kinetically resolved barrier E_KRA (the barrier when ΔE = 0), J or ``"0.3 eV"``; one
        value or ``{jump type: E_KRA}``.
    site_energy : float, str, mapping or array_like
        ε of this species: one value, ``{sublattice: ε}``, or one value per site.
    sublattices : sequence of str, optional
        Sublattices the species may occupy (default: all).
    """

    name: str
    fraction: float | Mapping[str, float] | None = None
    count: int | None = None
    nu: Any = 1e13
    Ea: Any = 0.0
    site_energy: Any = 0.0
    sublattices: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not str(self.name) or str(self.name) == "vacancy":
            raise InputError(f"species name {self.name!r}", field="species.name",
                             expected="a non-empty name other than 'vacancy'")
        if self.fraction is not None and self.count is not None:
            raise InputError(f"species {self.name!r} has both a fraction and a count",
                             field=f"species.{self.name}", expected="one of them")
        if self.count is not None and (int(self.count) != self.count or self.count < 0):
            raise InputError(f"count {self.count!r}", field=f"species.{self.name}.count",
                             expected="an integer >= 0")
        if self.sublattices is not None:
            object.__setattr__(self, "sublattices", tuple(str(s) for s in self.sublattices))


@dataclass(frozen=True)
class Exchange:
    """Direct exchange of neighbouring particles of species ``a`` and ``b``.

    Rate ``nu · exp(-(Ea + ΔE/2) / kT)`` per neighbouring a-b pair.
    """

    a: str
    b: str
    nu: Any = 1e13
    Ea: Any = 0.0


@dataclass(frozen=True)
class Reservoir:
    """Fixed-concentration boundaries at both ends of a closed axis.

    The sites of the first and the last layer along ``axis`` exchange their content with a bath
    of site fractions ``low`` / ``high`` (``{species: fraction}``, the rest vacant): a site in
    state *a* changes to state *b* at the rate ``rate · p_b``, which keeps the boundary layer at
    the bath's composition (detailed balance with respect to it).

    Parameters
    ----------
    axis : int
        Cell axis of the gradient; it must be ``"closed"`` in the lattice.
    low, high : mapping of str to float
        Bath site fractions at the low and the high end.
    rate : float or str, optional
        Exchange rate with the bath, s⁻¹ (default: 10 × the fastest hop rate).
    """

    axis: int = 0
    low: Mapping[str, float] = field(default_factory=dict)
    high: Mapping[str, float] = field(default_factory=dict)
    rate: Any = None


@dataclass(frozen=True)
class Couple:
    """Initial diffusion couple: one composition below ``position`` along ``axis``, another
    above.

    Parameters
    ----------
    axis : int
        Cell axis normal to the interface (make it ``"closed"`` for a couple with free ends).
    low, high : mapping of str to float
        Site fractions of each species on each side (the rest vacant), e.g.
        ``low={"A": 0.95}``, ``high={"B": 0.95}``: an A|B couple with 5 % vacancies.
    position : float
        Interface position as a fraction of the box length along ``axis``.
    """

    axis: int = 0
    low: Mapping[str, float] = field(default_factory=dict)
    high: Mapping[str, float] = field(default_factory=dict)
    position: float = 0.5


@dataclass(frozen=True, eq=False)
class Model:
    """A lattice kMC model (see the module notes for the rate law).

    Parameters
    ----------
    lattice : Lattice
    species : sequence of Species
    temperature : float or str
        K (``"600 K"``, ``"300 degC"`` accepted).
    interactions : mapping, optional
        Nearest-neighbour pair energies ``{("A", "B"): J}`` (J or ``"0.05 eV"``), symmetric;
        positive = repulsive.
    exchanges : sequence of Exchange, optional
    reservoir : Reservoir, optional
    initial : Couple or array_like, optional
        A :class:`Couple`, or one species name (``""`` or None: vacant) per site; default:
        particles placed at random from each species' ``fraction`` or ``count``.
    vacancies : int, optional
        Fill every site but this many, the species in proportion to their fractions (one
        species: all of it). ``vacancies=1`` with one species is the single-vacancy model.
    """

    lattice: Lattice
    species: tuple[Species, ...]
    temperature: Any
    interactions: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    exchanges: tuple[Exchange, ...] = ()
    reservoir: Reservoir | None = None
    initial: Any = None
    vacancies: int | None = None

    def __post_init__(self) -> None:
        species = tuple(self.species)
        if not species or not all(isinstance(s, Species) for s in species):
            raise InputError("no species", field="species", expected="one or more Species")
        names = [s.name for s in species]
        if len(set(names)) != len(names):
            raise InputError(f"species names repeat: {names}", field="species",
                             expected="distinct names")
        if len(species) > 126:
            raise InputError(f"{len(species)} species", field="species",
                             expected="at most 126 species")
        object.__setattr__(self, "species", species)
        T = self.temperature
        T = parse_quantity(T, "K", field="temperature") if isinstance(T, str) else float(T)
        if not (math.isfinite(T) and T > 0):
            raise InputError(f"temperature {self.temperature!r}", field="temperature",
                             expected="a temperature > 0 K")
        object.__setattr__(self, "temperature", T)
        inter = {}
        for key, value in dict(self.interactions).items():
            if isinstance(key, str):
                key = tuple(p.strip() for p in key.split("-"))
            if len(key) != 2 or any(k not in names for k in key):
                raise InputError(f"interaction {key!r}", field="interactions",
                                 expected=f"pairs of species among {names}, e.g. ('A', 'B')")
            inter[(key[0], key[1])] = _energy(value, f"interactions.{key[0]}-{key[1]}")
        object.__setattr__(self, "interactions", inter)
        object.__setattr__(self, "exchanges", tuple(self.exchanges))
        for x in self.exchanges:
            if x.a not in names or x.b not in names or x.a == x.b:
                raise InputError(f"exchange {x.a}-{x.b}", field="exchanges",
                                 expected=f"two different species among {names}")
        lat = self.lattice
        if self.reservoir is not None:
            r = self.reservoir
            lat._check_axis(r.axis)
            if lat.boundary[r.axis] != "closed":
                raise InputError(f"a reservoir on axis {r.axis}, which is periodic",
                                 field="reservoir.axis",
                                 expected="a closed axis (boundary 'closed')")
            for side in (r.low, r.high):
                _check_fractions(side, names, "reservoir")
        if isinstance(self.initial, Couple):
            lat._check_axis(self.initial.axis)
            _check_fractions(self.initial.low, names, "initial.low")
            _check_fractions(self.initial.high, names, "initial.high")
        if self.vacancies is not None and not (0 <= int(self.vacancies) <= lat.n_sites):
            raise InputError(f"vacancies = {self.vacancies!r}", field="vacancies",
                             expected=f"0 to {lat.n_sites}")

    # ------------------------------------------------------------------ helpers
    @property
    def species_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.species)

    @property
    def kT(self) -> float:
        """k_B T, J."""
        return BOLTZMANN * self.temperature

    def with_temperature(self, temperature) -> Model:
        """The same model at another temperature."""
        import dataclasses

        return dataclasses.replace(self, temperature=temperature)

    def _per_type(self, sp: Species, value, what: str, parse) -> np.ndarray:
        lat = self.lattice
        out = np.zeros(len(lat.jump_type_names))
        if isinstance(value, Mapping):
            for k in value:
                if str(k) not in lat.jump_type_names:
                    raise InputError(f"unknown jump type {k!r}", field=f"species.{sp.name}.{what}",
                                     expected=f"jump types among {list(lat.jump_type_names)}")
            for i, t in enumerate(lat.jump_type_names):
                out[i] = parse(value[t], f"species.{sp.name}.{what}.{t}") if t in value else (
                    0.0 if what == "nu" else math.nan)
        else:
            out[:] = parse(value, f"species.{sp.name}.{what}")
        return out

    def tables(self) -> dict[str, Any]:
        """Numeric tables for the engine (SI)."""
        lat = self.lattice
        names = self.species_names
        ns, nt = len(names), len(lat.jump_type_names)
        kT = self.kT
        hop0 = np.zeros((ns, nt))
        nu_t = np.zeros((ns, nt))
        ea_t = np.zeros((ns, nt))
        for i, sp in enumerate(self.species):
            nu = self._per_type(sp, sp.nu, "nu", _rate)
            ea = self._per_type(sp, sp.Ea, "Ea", _energy)
            ok = (nu > 0) & np.isfinite(ea)
            nu_t[i], ea_t[i] = nu, np.where(np.isfinite(ea), ea, 0.0)
            hop0[i] = np.where(ok, nu * np.exp(-np.where(ok, ea, 0.0) / kT), 0.0)
        allowed = np.ones((ns, len(lat.sublattice_names)), dtype=np.uint8)
        for i, sp in enumerate(self.species):
            if sp.sublattices is not None:
                for u in sp.sublattices:
                    if u not in lat.sublattice_names:
                        raise InputError(f"unknown sublattice {u!r}",
                                         field=f"species.{sp.name}.sublattices",
                                         expected=f"among {list(lat.sublattice_names)}")
                allowed[i] = [u in sp.sublattices for u in lat.sublattice_names]
        eps = np.zeros((ns, lat.n_sites))
        has_eps = False
        for i, sp in enumerate(self.species):
            eps[i] = self._site_energy(sp)
            has_eps |= bool(np.any(eps[i] != 0))
        jint = np.zeros((ns, ns))
        for (a, b), v in self.interactions.items():
            jint[names.index(a), names.index(b)] = v
            jint[names.index(b), names.index(a)] = v
        ex0 = np.zeros((ns, ns))
        for x in self.exchanges:
            i, j = names.index(x.a), names.index(x.b)
            r = _rate(x.nu, f"exchanges.{x.a}-{x.b}.nu") * math.exp(
                -_energy(x.Ea, f"exchanges.{x.a}-{x.b}.Ea") / kT)
            ex0[i, j] = ex0[j, i] = r
        return {"hop0": hop0, "nu": nu_t, "Ea": ea_t, "allowed": allowed,
                "eps": eps if has_eps else np.zeros((ns, 0)), "has_eps": has_eps,
                "jint": jint, "interacting": bool(np.any(jint != 0)), "ex0": ex0,
                "has_ex": bool(np.any(ex0 > 0))}

    def _site_energy(self, sp: Species) -> np.ndarray:
        lat = self.lattice
        v = sp.site_energy
        f = f"species.{sp.name}.site_energy"
        if isinstance(v, Mapping):
            per = np.zeros(len(lat.sublattice_names))
            for u, e in v.items():
                if u not in lat.sublattice_names:
                    raise InputError(f"unknown sublattice {u!r}", field=f,
                                     expected=f"among {list(lat.sublattice_names)}")
                per[lat.sublattice_names.index(u)] = _energy(e, f"{f}.{u}")
            return per[lat.sublattice]
        if isinstance(v, str) or np.ndim(v) == 0:
            return np.full(lat.n_sites, _energy(v, f))
        arr = np.asarray(v, dtype=float)
        if arr.shape != (lat.n_sites,) or not np.all(np.isfinite(arr)):
            raise InputError(f"site energies of shape {arr.shape}", field=f,
                             expected=f"one finite energy (J) per site ({lat.n_sites})")
        return arr

    def configuration(self, rng: np.random.Generator) -> np.ndarray:
        """An initial occupancy: species index per site, -1 where vacant."""
        lat = self.lattice
        names = self.species_names
        occ = np.full(lat.n_sites, -1, dtype=np.int32)
        allowed = self.tables()["allowed"]
        if self.initial is not None and not isinstance(self.initial, Couple):
            arr = np.asarray(self.initial, dtype=object).ravel()
            if arr.size != lat.n_sites:
                raise InputError(f"{arr.size} initial states for {lat.n_sites} sites",
                                 field="initial", expected="one species name (or '') per site")
            for i, v in enumerate(arr):
                if v is None or v == "" or v == "vacancy":
                    continue
                if str(v) not in names:
                    raise InputError(f"unknown species {v!r} at site {i}", field="initial",
                                     expected=f"among {list(names)}")
                occ[i] = names.index(str(v))
            return occ
        if isinstance(self.initial, Couple):
            c = self.initial
            frac = lat.fractional[:, c.axis]
            low = frac < c.position * lat.shape[c.axis] - 1e-9
            for region, fr in ((np.flatnonzero(low), c.low), (np.flatnonzero(~low), c.high)):
                self._place(occ, region, {k: float(v) for k, v in fr.items()}, allowed, rng)
            return occ
        sites = np.arange(lat.n_sites)
        if self.vacancies is not None:
            n_fill = lat.n_sites - int(self.vacancies)
            fr = np.array([s.fraction if isinstance(s.fraction, (int, float)) else
                           (1.0 if s.fraction is None else math.nan) for s in self.species])
            if np.any(~np.isfinite(fr)):
                raise InputError("vacancies with per-sublattice fractions", field="vacancies",
                                 expected="species with one overall fraction each")
            fr = fr / fr.sum() if fr.sum() > 0 else np.full(len(fr), 1 / len(fr))
            counts = np.floor(fr * n_fill).astype(int)
            counts[np.argmax(fr)] += n_fill - counts.sum()
            order = rng.permutation(lat.n_sites)
            start = 0
            for i, cnt in enumerate(counts):
                occ[order[start:start + cnt]] = i
                start += cnt
            return occ
        for i, sp in enumerate(self.species):
            free = sites[(occ < 0) & (allowed[i][lat.sublattice] > 0)]
            if sp.count is not None:
                if sp.count > free.size:
                    raise InputError(f"{sp.count} {sp.name} particles for {free.size} free "
                                     "sites", field=f"species.{sp.name}.count",
                                     expected="at most the number of free allowed sites")
                occ[rng.choice(free, size=int(sp.count), replace=False)] = i
            elif isinstance(sp.fraction, Mapping):
                for u, f in sp.fraction.items():
                    if u not in lat.sublattice_names:
                        raise InputError(f"unknown sublattice {u!r}",
                                         field=f"species.{sp.name}.fraction",
                                         expected=f"among {list(lat.sublattice_names)}")
                    on = np.flatnonzero(lat.sublattice == lat.sublattice_names.index(u))
                    self._place(occ, on, {sp.name: float(f)}, allowed, rng)
            elif sp.fraction is not None:
                self._place(occ, sites, {sp.name: float(sp.fraction)}, allowed, rng)
        return occ

    def _place(self, occ, region, fractions: Mapping[str, float], allowed, rng) -> None:
        names = self.species_names
        lat = self.lattice
        for name, f in fractions.items():
            i = names.index(name)
            free = region[(occ[region] < 0) & (allowed[i][lat.sublattice[region]] > 0)]
            n = int(round(f * region.size))
            if not (0 <= f <= 1) or n > free.size:
                raise InputError(f"site fraction {f!r} of {name}", field=f"species.{name}",
                                 expected="fractions in [0, 1] that fit on the free sites")
            occ[rng.choice(free, size=n, replace=False)] = i

    def summary(self) -> str:
        """A few lines describing the model."""
        t = self.tables()
        lines = [self.lattice.summary(), f"T = {self.temperature:.6g} K"]
        for i, sp in enumerate(self.species):
            rates = ", ".join(f"{name}: {r:.3g} s⁻¹" for name, r in
                              zip(self.lattice.jump_type_names, t["hop0"][i], strict=True))
            lines.append(f"species {sp.name}: hop rate per direction {rates}")
        if self.interactions:
            lines.append("interactions: " + ", ".join(
                f"{a}-{b} {v / 1.602176634e-19:+.4g} eV" for (a, b), v in
                self.interactions.items()))
        return "\n".join(lines)


def _check_fractions(fr: Mapping[str, float], names, where: str) -> None:
    total = 0.0
    for k, v in dict(fr).items():
        if k not in names:
            raise InputError(f"unknown species {k!r}", field=where,
                             expected=f"species among {list(names)}")
        if not (0 <= float(v) <= 1):
            raise InputError(f"site fraction {v!r} of {k}", field=where,
                             expected="a fraction in [0, 1]")
        total += float(v)
    if total > 1 + 1e-12:
        raise InputError(f"site fractions add up to {total:.4g}", field=where,
                         expected="a total of at most 1 (the rest vacant)")


def estimate_memory(
    model: Model,
    *,
    samples: int,
    tracked: int,
    profiles: int = 0,
    replicas: int = 1,
) -> dict[str, int]:
    """Bytes a run will hold, by part, before it starts.

    Parameters
    ----------
    model : Model
    samples : int
        Sample times per replica.
    tracked : int
        Particles whose positions are stored at every sample time.
    profiles : int
        Concentration profiles recorded per replica.
    replicas : int
        Independent replicas (their records are all kept).

    Returns
    -------
    dict
        ``{"lattice", "state", "records", "total"}`` in bytes.

    Examples
    --------
    >>> from ionscale.kmc.lattice import builtin_lattice
    >>> m = Model(builtin_lattice("sc", 10), [Species("A", fraction=0.5)], 300.0)
    >>> estimate_memory(m, samples=513, tracked=500)["total"] > 0
    True
    """
    lat = model.lattice
    n, z, d = lat.n_sites, lat.coordination, lat.dimension
    ns = len(model.species)
    t = model.tables()
    nslot = z + (1 if model.reservoir is not None else 0)
    p2 = 1 << max(1, int(math.ceil(math.log2(max(n, 2)))))
    lattice_b = n * z * 4 + n * 4 * 3 + n * d * 8 * 2  # neighbours, indices, positions
    n_particles = n
    state_b = (n * nslot * 8 + 2 * p2 * 8 + n * 4 * 3 + n_particles * (2 * d * 8 + 16)
               + (ns * n * 8 if t["has_eps"] else 0) + (ns * n * 8 if t["interacting"] else 0)
               + n * 8)
    n_layers = int(lat.shape[0]) * lat.n_basis if profiles else 0
    records_b = replicas * (samples * tracked * d * 8 + samples * ns * (d + 5) * 8
                            + profiles * (ns + 1) * n_layers * 4)
    return {"lattice": int(lattice_b), "state": int(state_b), "records": int(records_b),
            "total": int(lattice_b + state_b + records_b)}


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(need: Mapping[str, int], max_memory: float | None) -> None:
    """Raise :class:`InputError` when a run will not fit in ``max_memory`` bytes (default:
    80 % of the memory available now)."""
    limit = max_memory
    if limit is None:
        avail = available_memory()
        if avail is None:
            return
        limit = 0.8 * avail
    if need["total"] > limit:
        parts = ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in need.items() if k != "total")
        raise InputError(f"the run needs about {need['total'] / 2**20:.0f} MiB ({parts}), more "
                         f"than the {limit / 2**20:.0f} MiB allowed", field="track",
                         expected="fewer tracked particles (track=...), fewer samples or "
                                  "replicas, a smaller lattice, or a larger max_memory")


def lattice_from_spec(spec: Mapping[str, Any], *, file=None) -> Lattice:
    """A :class:`Lattice` from a ``[lattice]`` table (see :mod:`ionscale.kmc.io`)."""
    from .lattice import BUILTIN_LATTICES, builtin_lattice

    kind = str(spec.get("type", "sc")).lower()
    a_raw = spec.get("a", "1 angstrom")
    a = parse_quantity(a_raw, "m", field="lattice.a", file=file) if isinstance(a_raw, str) \
        else float(a_raw)
    shape = spec.get("shape", 8)
    boundary = spec.get("boundary", "periodic")
    if kind in BUILTIN_LATTICES:
        return builtin_lattice(kind, shape, a, boundary=boundary)
    if kind == "cif":
        return _cif_lattice(spec, shape, boundary, file)
    if kind != "custom":
        raise InputError(f"unknown lattice type {kind!r}", file=file, field="lattice.type",
                         expected=f"one of {sorted(BUILTIN_LATTICES)}, 'cif' or 'custom'")
    if "cell" not in spec or "basis" not in spec:
        raise InputError("a custom lattice needs 'cell' and 'basis'", file=file,
                         field="lattice", expected="cell (in units of a) and basis (fractional)")
    cell = np.asarray(spec["cell"], dtype=float) * a
    jumps = spec.get("jumps")
    if jumps is not None:
        jumps = [np.asarray(v, dtype=float) * a for v in jumps]
    cutoff = spec.get("cutoff")
    if isinstance(cutoff, str):
        cutoff = parse_quantity(cutoff, "m", field="lattice.cutoff", file=file)
    types = spec.get("jump_types")
    if types is not None:
        types = {(str(k.split("-")[0]), str(k.split("-")[1].split("#")[0]),
                  int(k.split("#")[1]) if "#" in k else 0): v for k, v in types.items()}
    return Lattice.from_cell(cell, spec["basis"], shape, sublattices=spec.get("sublattices"),
                             boundary=boundary, shells=int(spec.get("shells", 1)),
                             cutoff=cutoff, jumps=jumps, jump_types=types,
                             name=str(spec.get("name", "custom")))


def _cif_lattice(spec: Mapping[str, Any], shape, boundary, file) -> Lattice:
    """``type = "cif"``: ``file`` (relative to the model file), ``elements``, ``shells`` or
    ``cutoff``."""
    from pathlib import Path

    from .cif import lattice_from_cif

    if "file" not in spec:
        raise InputError("a CIF lattice needs its file", file=file, field="lattice.file",
                         expected="the path of a CIF, relative to the model file")
    cif = Path(str(spec["file"]))
    if not cif.is_absolute() and file is not None:
        cif = Path(file).parent / cif
    cutoff = spec.get("cutoff")
    if isinstance(cutoff, str):
        cutoff = parse_quantity(cutoff, "m", field="lattice.cutoff", file=file)
    return lattice_from_cif(cif, spec.get("elements", "Li"), shape, boundary=boundary,
                            shells=int(spec.get("shells", 1)), cutoff=cutoff)


def seq(value) -> Sequence:
    return value if isinstance(value, (list, tuple)) else [value]
