"""Readers of interdiffusion profiles: delimited text with any species columns, and
pyDiffusion's CSV layout.

==========================  =============================================  =====================
layout                      example (first lines)                          result
==========================  =============================================  =====================
delimited text              ``x (um), Ni (at%), Co (at%), La (at%)`` then  ``DiffusionProfile``;
                            rows; tab, comma, semicolon or whitespace;     at.% / wt.% → fraction,
                            ``#`` comments and metadata lines skipped      units in ``metadata``
sputter-time depth profile  ``Sputter time (s), 59Co, 139La, ...``         ``coordinate="time"``;
                                                                           calibrate with
                                                                           ``to_depth``
errors per species          a column ``sigma_Ni``, ``Ni_err``, ``err(Ni)``  ``profile.sigma``
                            or ``u(Ni)`` next to ``Ni``
pyDiffusion, measured       ``X,dis`` (mole fraction of B, distance in     species ``"X"``
                            µm)
pyDiffusion, results        ``DC,X,dis`` (D̃ in m² s⁻¹ at each simulated    profile + the D̃ table
                            point; a repeated ``dis`` marks a phase        (``pydiffusion_
                            interface)                                     diffusivity``)
==========================  =============================================  =====================

Positions come back in metres (sputter times in seconds). The unit of the position column is
read from its name (``x (um)``, ``depth [nm]``, ``dis_um``) or taken from ``x_unit``. Files are
opened read-only. Bad input raises :class:`~ionscale.errors.InputError` naming the file, the
column and the line: a file with fewer than two columns, no concentration column, NaN, positions
that are not strictly increasing, repeated positions (outside pyDiffusion's interface
convention).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..interdiffusion.data import DiffusionProfile
from ..interdiffusion.diffusivity import TabulatedDiffusivity
from ..units import parse_quantity
from .text import Table, read_table, split_unit, unit_scale

__all__ = ["read_profile", "read_pydiffusion", "pydiffusion_diffusivity"]

_DISTANCE = re.compile(r"^(dis|dist|distance|depth|position|pos|length|d)$", re.I)
_TIME = re.compile(r"^(sputter[\s_-]*time|time|t)$", re.I)
_AXIS = re.compile(r"^(x|y|z)$", re.I)
_DIFFUSIVITY = re.compile(r"^(dc|d|d_?tilde|d̃|diffusivity|interdiffusivity)$", re.I)
_SIGMA_PREFIX = re.compile(r"^(sigma|err|error|std|sd|u|unc)[\s_(\[-]*(?P<name>[^)\]]+?)[)\]]?$",
                           re.I)
_SIGMA_SUFFIX = re.compile(r"^(?P<name>.+?)[\s_-]+(sigma|err|error|std|sd|unc)$", re.I)
_FRACTION_UNITS = {"%": 0.01, "at%": 0.01, "at.%": 0.01, "at. %": 0.01, "wt%": 0.01,
                   "wt.%": 0.01, "mol%": 0.01, "mol.%": 0.01, "ppm": 1e-6,
                   "at.frac.": 1.0, "at. frac.": 1.0, "fraction": 1.0, "x": 1.0}


def _position_column(table: Table, x_column) -> int:
    if x_column is not None:
        return table.index(x_column)
    bare = [split_unit(n)[0].strip() for n in table.columns]
    if table.has_header:
        for pattern in (_DISTANCE, _TIME):
            for j, b in enumerate(bare):
                if pattern.match(b):
                    return j
        for j, n in enumerate(table.columns):
            unit = split_unit(n)[1]
            if unit and unit_scale(unit) is not None:
                return j
        for j, b in enumerate(bare):
            if _AXIS.match(b) and b.islower():
                return j
    return 0


def _position_scale(table: Table, j: int, x_unit: str, path: str) -> tuple[str, float, str]:
    """``(coordinate, factor to SI, unit label)`` of the position column."""
    name = table.columns[j]
    bare, unit = split_unit(name)
    if unit:
        scale = unit_scale(unit)
        if scale is None:
            raise InputError(f"unit {unit!r} of the position column is not a length or a time",
                             file=path, field=name, expected="e.g. 'um', 'nm', 's'")
        kind, factor = scale
        return ("position" if kind == "length" else "time"), factor, unit
    if _TIME.match(bare.strip()):
        return "time", 1.0, "s"
    factor = parse_quantity(f"1 {x_unit}", "m", field="x_unit", file=path)
    return "position", factor, x_unit


def _species_scale(name: str) -> tuple[str, float, str | None]:
    bare, unit = split_unit(name)
    if unit is None:
        return name.strip(), 1.0, None
    key = unit.strip().lower().replace(" ", "")
    for k, f in _FRACTION_UNITS.items():
        if key == k.replace(" ", ""):
            return bare, f, unit
    return bare, 1.0, unit


def _check_column(values: np.ndarray, table: Table, j: int, path: str) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError("value is NaN or infinite", file=path, field=table.columns[j],
                         line=table.line_of(int(bad[0])), expected="finite numbers")


def _check_sorted(x: np.ndarray, table: Table, j: int, path: str, allow_repeat) -> list[float]:
    """Raise on decreasing or repeated positions; return the repeated ones ``allow_repeat``
    accepts (pyDiffusion interfaces)."""
    repeats = []
    for i in np.flatnonzero(np.diff(x) <= 0):
        i = int(i)
        if x[i + 1] < x[i]:
            raise InputError(f"positions are not sorted ({x[i + 1]:.6g} after {x[i]:.6g})",
                             file=path, field=table.columns[j], line=table.line_of(i + 1),
                             expected="strictly increasing positions")
        if allow_repeat is None or not allow_repeat(i):
            raise InputError(f"position {x[i]:.6g} repeats", file=path, field=table.columns[j],
                             line=table.line_of(i + 1),
                             expected="strictly increasing positions (one row per position)")
        repeats.append(float(x[i]))
    return repeats


def read_profile(path: str | os.PathLike, *, species: Sequence[str] | None = None,
                 x_column: str | int | None = None, x_unit: str = "um", time=None,
                 temperature=None, resolution=None) -> DiffusionProfile:
    """Read a concentration profile from delimited text.

    Parameters
    ----------
    path : str or path-like
        The file (opened read-only).
    species : sequence of str, optional
        Species columns to keep (by bare name, e.g. ``["Ni", "Co"]``); all by default.
    x_column : str or int, optional
        The position (or sputter-time) column; found by name otherwise (``dis``, ``distance``,
        ``depth``, ``position``, ``sputter time``, ``x``), else the first column.
    x_unit : str
        Unit of the position column when its name gives none (default µm).
    time, temperature, resolution : str or float, optional
        Anneal time (s or e.g. ``"100 h"``), anneal temperature (K or ``"1000 degC"``) and
        probe resolution (SD of the Gaussian, m or ``"0.5 um"``).

    Returns
    -------
    DiffusionProfile

    Raises
    ------
    InputError
        Fewer than two columns, no concentration column, NaN, unsorted or repeated positions,
        an unknown species.
    """
    path = os.fspath(path)
    table = read_table(path)
    if len(table.columns) < 2:
        raise InputError(f"the file has {len(table.columns)} column", file=path, field="columns",
                         expected="a position column and at least one concentration column")
    j = _position_column(table, x_column)
    coordinate, factor, xlabel = _position_scale(table, j, x_unit, path)
    x = table.data[:, j] * factor
    _check_column(table.data[:, j], table, j, path)
    _check_sorted(x, table, j, path, None)
    names = {}
    sigma_cols, diffusivity_cols = {}, []
    for k, col in enumerate(table.columns):
        if k == j:
            continue
        bare = split_unit(col)[0].strip()
        if _DIFFUSIVITY.match(bare):
            diffusivity_cols.append(k)
            continue
        m = _SIGMA_PREFIX.match(bare) or _SIGMA_SUFFIX.match(bare)
        if m and m.group("name").strip() in {split_unit(c)[0].strip() for c in table.columns}:
            sigma_cols[m.group("name").strip()] = k
            continue
        names[k] = _species_scale(col)
    if not names:
        raise InputError("no concentration column", file=path, field="columns",
                         expected="at least one species column besides the position")
    if species is not None:
        wanted = [str(s) for s in species]
        have = {v[0]: k for k, v in names.items()}
        missing = [s for s in wanted if s not in have]
        if missing:
            raise InputError(f"no column for species {missing}", file=path, field="species",
                             expected=f"species among {list(have)}")
        names = {have[s]: names[have[s]] for s in wanted}
    conc, sig, units = {}, {}, {}
    for k, (name, f, unit) in names.items():
        _check_column(table.data[:, k], table, k, path)
        conc[name] = table.data[:, k] * f
        units[name] = unit
        if name in sigma_cols:
            s = sigma_cols[name]
            _check_column(table.data[:, s], table, s, path)
            sig[name] = table.data[:, s] * f
    meta = {"columns": list(table.columns), "x_unit": xlabel, "units": units,
            "header": list(table.header)}
    if diffusivity_cols:
        k = diffusivity_cols[0]
        meta["diffusivity"] = {"column": table.columns[k], "D": table.data[:, k].tolist()}
    return DiffusionProfile(
        x=x, concentrations=conc, sigma=sig or None, coordinate=coordinate,
        time=None if time is None else parse_quantity(time, "s", field="time", file=path),
        temperature=None if temperature is None else parse_quantity(temperature, "K",
                                                                    field="temperature",
                                                                    file=path),
        resolution=None if resolution is None else parse_quantity(resolution, "m",
                                                                  field="resolution",
                                                                  file=path),
        source=path, metadata=meta)


def read_pydiffusion(path: str | os.PathLike, *, time=None, temperature=None,
                     jump: float = 0.05) -> DiffusionProfile:
    """Read pyDiffusion's CSV layout: ``X,dis`` (measured) or ``DC,X,dis`` (its results).

    ``X`` is the mole fraction of the right-hand element, ``dis`` the distance in µm. In
    pyDiffusion's results a distance repeats at each phase interface (the compositions on both
    sides); those positions become :attr:`DiffusionProfile.interfaces`. The ``DC`` column (D̃ in
    m² s⁻¹) is kept in ``metadata["diffusivity"]``; :func:`pydiffusion_diffusivity` turns it
    into a :class:`~ionscale.interdiffusion.TabulatedDiffusivity`.

    Parameters
    ----------
    path : str or path-like
        The CSV file.
    time, temperature : str or float, optional
        Anneal time and temperature (pyDiffusion files do not store them).
    jump : float
        Smallest composition jump at a repeated distance that counts as an interface.

    Returns
    -------
    DiffusionProfile
        Species ``"X"``.
    """
    path = os.fspath(path)
    table = read_table(path)
    lower = [c.strip().lower() for c in table.columns]
    for required in ("x", "dis"):
        if required not in lower:
            raise InputError(f"no column {required!r}", file=path, field=required,
                             expected="pyDiffusion's layout: columns X and dis (and DC)")
    jx, jd = lower.index("x"), lower.index("dis")
    X, dis = table.data[:, jx], table.data[:, jd]
    _check_column(X, table, jx, path)
    _check_column(dis, table, jd, path)
    x = dis * 1e-6

    def interface(i: int) -> bool:
        return abs(X[i + 1] - X[i]) >= jump

    interfaces = _check_sorted(x, table, jd, path, interface)
    meta = {"columns": list(table.columns), "x_unit": "um", "layout": "pydiffusion"}
    if "dc" in lower:
        jdc = lower.index("dc")
        _check_column(table.data[:, jdc], table, jdc, path)
        meta["diffusivity"] = {"column": "DC", "D": table.data[:, jdc].tolist()}
    return DiffusionProfile(
        x=x, concentrations={"X": X}, interfaces=tuple(interfaces),
        time=None if time is None else parse_quantity(time, "s", field="time", file=path),
        temperature=None if temperature is None else parse_quantity(temperature, "K",
                                                                    field="temperature",
                                                                    file=path),
        source=path, metadata=meta)


def pydiffusion_diffusivity(profile: DiffusionProfile | str | os.PathLike,
                            phases=None) -> TabulatedDiffusivity:
    """The D̃(X) table of a pyDiffusion results file (its ``DC`` column).

    Parameters
    ----------
    profile : DiffusionProfile or path
        A profile read by :func:`read_pydiffusion` from a ``DC,X,dis`` file, or the file.
    phases : sequence of (low, high), optional
        Phase composition ranges; by default the composition range of each segment between
        the file's interfaces.

    Returns
    -------
    TabulatedDiffusivity
    """
    if not isinstance(profile, DiffusionProfile):
        profile = read_pydiffusion(profile)
    d = profile.metadata.get("diffusivity")
    if d is None:
        raise InputError("the file has no DC column", file=profile.source, field="DC",
                         expected="a pyDiffusion results file (DC,X,dis)")
    X = profile.c("X")
    D = np.asarray(d["D"], float)
    if phases is None and profile.interfaces:
        cuts = [0] + [int(np.flatnonzero(np.isclose(profile.x, v, rtol=1e-12, atol=1e-15))[0]) + 1
                      for v in profile.interfaces] + [X.size]
        segs = [X[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        phases = [(float(s.min()), float(s.max())) for s in segs]
        if X[-1] < X[0]:
            phases = phases[::-1]
    return TabulatedDiffusivity(X, D, phases)
