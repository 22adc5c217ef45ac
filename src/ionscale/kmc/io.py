"""Model files: a kMC model and its run settings in TOML (``ionscale kmc run model.toml``).

Format (every key optional unless marked; quantities as strings with units, a bare number is SI
except for energies, which must carry their unit so that J and eV cannot be confused)::

    temperature = "600 K"                  # required

    [lattice]
    type = "fcc"        # chain, square, triangular, honeycomb, sc, bcc, fcc, diamond, cif, custom
    a = "4.0 angstrom"  # lattice parameter (conventional cell)
    shape = [8, 8, 8]   # cells per axis (or one number)
    boundary = "periodic"            # or one per axis: ["closed", "periodic", "periodic"]
    # custom lattices: cell = [[1, 0], [0, 1]] (in units of a), basis = [[0, 0]] (fractional),
    # sublattices = ["Li"], shells = 1, cutoff = "3 angstrom", jumps = [[1, 0], ...] (units of a)
    # CIF lattices: file = "Li7La3Zr2O12.cif" (relative to this file), elements = ["Li"]: the
    # sites of these elements, one sublattice per CIF site label (a is not used)

    [[species]]                          # one table per species (required)
    name = "Li"
    fraction = 0.5       # site fraction, or count = 1, or {sublattice = fraction}
    nu = "1e13 1/s"      # attempt frequency per jump direction, or {jump_type = ...}
    Ea = "0.3 eV"        # E_KRA, or {jump_type = ...}
    site_energy = "0 eV" # or {sublattice = "0.1 eV"}
    sublattices = ["Li"] # allowed sublattices

    [interactions]       # nearest-neighbour pair energies (positive: repulsive)
    "Li-Li" = "0.05 eV"

    [[exchanges]]        # direct exchange of neighbouring A and B
    species = ["A", "B"]
    nu = "1e13 1/s"
    Ea = "0.8 eV"

    [reservoir]          # fixed concentrations at both ends of a closed axis
    axis = 0
    low = {Li = 0.5}
    high = {Li = 0.1}

    [initial]
    type = "random"      # or "couple" (axis, low, high, position)
    vacancies = 1        # fill all sites but this many

    [run]
    events = 1e6         # or time = "10 ns"; "steps" is a synonym of events
    blocks = 64
    lags = 8
    replicas = 1
    seed = 1
    equilibrate = 0
    profile_times = ["1 ns", "5 ns"]
    track = "all"        # or a number of particles
    accelerate = false
    separation = 100
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io.text import decode_text
from ..units import parse_quantity
from .model import Couple, Exchange, Model, Reservoir, Species, lattice_from_spec

__all__ = ["RUN_KEYS", "demo_model_toml", "read_model", "write_demo_model"]

_TOP = ("temperature", "lattice", "species", "interactions", "exchanges", "reservoir", "initial",
        "run", "title", "description")
_LATTICE = ("type", "a", "shape", "boundary", "cell", "basis", "sublattices", "shells", "cutoff",
            "jumps", "jump_types", "name", "file", "elements")
_SPECIES = ("name", "fraction", "count", "nu", "Ea", "site_energy", "sublattices")
_EXCHANGE = ("species", "nu", "Ea")
_RESERVOIR = ("axis", "low", "high", "rate")
_INITIAL = ("type", "axis", "low", "high", "position", "vacancies")
#: Keys of ``[run]`` and their meaning (the keywords of :func:`ionscale.kmc.simulate`).
RUN_KEYS: dict[str, str] = {
    "events": "number of events (sets the duration from the initial total rate)",
    "steps": "synonym of events",
    "time": "simulated duration per replica",
    "blocks": "blocks per replica (MSD samples)",
    "lags": "lags per block",
    "replicas": "independent replicas",
    "seed": "random seed",
    "equilibrate": "events run and discarded before t = 0",
    "profile_times": "times of the concentration profiles",
    "profile_axis": "axis of the profiles",
    "track": "'all' or the number of particles whose positions are stored",
    "accelerate": "scale down flickering event classes",
    "separation": "factor kept between an accelerated class and the rest",
}


def _check_keys(table: Mapping, allowed, where: str, file) -> None:
    if not isinstance(table, Mapping):
        raise InputError(f"{where} is not a table", file=file, field=where,
                         expected="a TOML table")
    for k in table:
        if k not in allowed:
            near = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InputError(f"unknown key {k!r}{hint}", file=file,
                             field=f"{where}.{k}" if where else str(k),
                             expected=f"keys among {list(allowed)}")


def _energy(value, field: str, file):
    if isinstance(value, Mapping):
        return {k: _energy(v, f"{field}.{k}", file) for k, v in value.items()}
    if not isinstance(value, str):
        raise InputError(f"energy {value!r} has no unit", file=file, field=field,
                         expected="an energy with its unit, e.g. '0.3 eV'")
    return parse_quantity(value, "J", field=field, file=file)


def _freq(value, field: str, file):
    if isinstance(value, Mapping):
        return {k: _freq(v, f"{field}.{k}", file) for k, v in value.items()}
    return parse_quantity(value, "1/s", field=field, file=file) if isinstance(value, str) \
        else float(value)


def read_model(path: str | os.PathLike, *, temperature: float | None = None
               ) -> tuple[Model, dict[str, Any]]:
    """Read a model file (module notes).

    Parameters
    ----------
    path : path-like
        TOML file.
    temperature : float, optional
        Temperature (K) that replaces the file's (a campaign measurement's condition).

    Returns
    -------
    model : Model
    run : dict
        The ``[run]`` settings as keywords of :func:`ionscale.kmc.simulate` (SI numbers).

    Raises
    ------
    InputError
        Naming the file and the key at fault.
    """
    path = Path(path)
    file = str(path)
    try:
        doc = tomllib.loads(decode_text(path.read_bytes(), file))
    except FileNotFoundError:
        raise InputError("file not found", file=file, expected="a kMC model TOML file") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise InputError(f"cannot read it ({exc.strerror})", file=file,
                         expected="a kMC model TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=file,
                         expected="a kMC model TOML file") from None
    _check_keys(doc, _TOP, "", file)
    try:
        return _build(doc, file, temperature)
    except InputError as exc:
        raise exc.with_file(file) from None


def _build(doc: Mapping, file, temperature) -> tuple[Model, dict[str, Any]]:
    lat_spec = doc.get("lattice", {})
    _check_keys(lat_spec, _LATTICE, "lattice", file)
    lattice = lattice_from_spec(lat_spec, file=file)
    if temperature is None:
        if "temperature" not in doc:
            raise InputError("no temperature", file=file, field="temperature",
                             expected="temperature = '600 K'")
        T = doc["temperature"]
        temperature = parse_quantity(T, "K", field="temperature", file=file) \
            if isinstance(T, str) else float(T)
    species = []
    for i, sp in enumerate(doc.get("species", [])):
        where = f"species[{i}]"
        _check_keys(sp, _SPECIES, where, file)
        if "name" not in sp:
            raise InputError("species without a name", file=file, field=where,
                             expected="name = '...'")
        kw: dict[str, Any] = {"name": str(sp["name"])}
        if "fraction" in sp:
            kw["fraction"] = sp["fraction"]
        if "count" in sp:
            kw["count"] = int(sp["count"])
        if "nu" in sp:
            kw["nu"] = _freq(sp["nu"], f"{where}.nu", file)
        if "Ea" in sp:
            kw["Ea"] = _energy(sp["Ea"], f"{where}.Ea", file)
        if "site_energy" in sp:
            kw["site_energy"] = _energy(sp["site_energy"], f"{where}.site_energy", file)
        if "sublattices" in sp:
            kw["sublattices"] = tuple(sp["sublattices"])
        species.append(Species(**kw))
    if not species:
        raise InputError("no species", file=file, field="species",
                         expected="one or more [[species]] tables")
    inter = {}
    for k, v in dict(doc.get("interactions", {})).items():
        parts = tuple(p.strip() for p in str(k).split("-"))
        inter[parts] = _energy(v, f"interactions.{k}", file)
    exchanges = []
    for i, x in enumerate(doc.get("exchanges", [])):
        where = f"exchanges[{i}]"
        _check_keys(x, _EXCHANGE, where, file)
        pair = x.get("species", [])
        if len(pair) != 2:
            raise InputError(f"species = {pair!r}", file=file, field=f"{where}.species",
                             expected="two species names")
        exchanges.append(Exchange(str(pair[0]), str(pair[1]),
                                  _freq(x.get("nu", 1e13), f"{where}.nu", file),
                                  _energy(x.get("Ea", "0 eV"), f"{where}.Ea", file)))
    reservoir = None
    if "reservoir" in doc:
        r = doc["reservoir"]
        _check_keys(r, _RESERVOIR, "reservoir", file)
        reservoir = Reservoir(axis=int(r.get("axis", 0)), low=dict(r.get("low", {})),
                              high=dict(r.get("high", {})),
                              rate=_freq(r["rate"], "reservoir.rate", file) if "rate" in r
                              else None)
    initial = None
    vacancies = None
    if "initial" in doc:
        ini = doc["initial"]
        _check_keys(ini, _INITIAL, "initial", file)
        kind = str(ini.get("type", "random"))
        if kind == "couple":
            initial = Couple(axis=int(ini.get("axis", 0)), low=dict(ini.get("low", {})),
                             high=dict(ini.get("high", {})),
                             position=float(ini.get("position", 0.5)))
        elif kind != "random":
            raise InputError(f"initial type {kind!r}", file=file, field="initial.type",
                             expected="'random' or 'couple'")
        if "vacancies" in ini:
            vacancies = int(ini["vacancies"])
    model = Model(lattice, species, temperature, interactions=inter, exchanges=exchanges,
                  reservoir=reservoir, initial=initial, vacancies=vacancies)
    run = dict(doc.get("run", {}))
    _check_keys(run, tuple(RUN_KEYS), "run", file)
    out: dict[str, Any] = {}
    for k, v in run.items():
        if k in ("events", "steps"):
            out["events"] = float(v)
        elif k == "time":
            out["time"] = parse_quantity(v, "s", field="run.time", file=file) \
                if isinstance(v, str) else float(v)
        elif k == "profile_times":
            out[k] = [parse_quantity(t, "s", field="run.profile_times", file=file)
                      if isinstance(t, str) else float(t) for t in v]
        elif k in ("blocks", "lags", "replicas", "seed", "profile_axis"):
            out[k] = int(v)
        elif k in ("equilibrate", "separation"):
            out[k] = float(v)
        elif k == "accelerate":
            out[k] = bool(v)
        else:
            out[k] = v
    return model, out


#: Demo models: name -> TOML text.
_DEMOS = {
    "lattice-gas": '''\
# ionscale kMC demo: Li on a simple cubic lattice (half filled, weak NN repulsion)
temperature = "600 K"

[lattice]
type = "sc"
a = "3.0 angstrom"
shape = 12

[[species]]
name = "Li"
fraction = 0.5
nu = "1e13 1/s"
Ea = "0.35 eV"

[interactions]
"Li-Li" = "0.02 eV"

[run]
events = 400000
blocks = 48
lags = 6
seed = 1
equilibrate = 50000
''',
    "walker": '''\
# ionscale kMC demo: one Li on a square lattice (D = Γ a² / 4)
temperature = "500 K"

[lattice]
type = "square"
a = "3.0 angstrom"
shape = 32

[[species]]
name = "Li"
count = 1
nu = "1e12 1/s"
Ea = "0.2 eV"

[run]
events = 200000
blocks = 64
lags = 8
seed = 1
''',
    "couple": '''\
# ionscale kMC demo: an A|B couple with 5 % vacancies and equal rates (D~ = D*)
temperature = "800 K"

[lattice]
type = "sc"
a = "3.0 angstrom"
shape = [40, 12, 12]
boundary = ["closed", "periodic", "periodic"]

[[species]]
name = "A"
nu = "1e13 1/s"
Ea = "0.5 eV"

[[species]]
name = "B"
nu = "1e13 1/s"
Ea = "0.5 eV"

[initial]
type = "couple"
axis = 0
low = {A = 0.95}
high = {B = 0.95}

[run]
profile_times = ["20 ns", "40 ns", "80 ns"]
blocks = 64
lags = 4
track = 2000
seed = 1
''',
}


def demo_model_toml(kind: str = "lattice-gas") -> str:
    """Text of a small demo model: ``"lattice-gas"`` (a few seconds), ``"walker"`` or
    ``"couple"``.

    Examples
    --------
    >>> "[lattice]" in demo_model_toml("walker")
    True
    """
    if kind not in _DEMOS:
        raise InputError(f"unknown demo model {kind!r}", field="kind",
                         expected=f"one of {sorted(_DEMOS)}")
    return _DEMOS[kind]


def write_demo_model(path: str | os.PathLike, kind: str = "lattice-gas") -> Path:
    """Write :func:`demo_model_toml` to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(demo_model_toml(kind), encoding="utf-8")
    return path
