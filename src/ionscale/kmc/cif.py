"""Mobile-ion sublattices from crystallographic information files (CIF).

:func:`read_cif_sites` reads what a kMC lattice needs from a CIF: the cell (lengths with
their uncertainties dropped, angles), the symmetry operations (``_space_group_symop_operation_
xyz`` or the older ``_symmetry_equiv_pos_as_xyz``) and the atom sites, and expands the sites of
the chosen elements over the operations (duplicates within ``tolerance`` of each other in the
periodic cell merged). :func:`lattice_from_cif` turns them into a
:class:`~ionscale.kmc.lattice.Lattice`, one sublattice per crystallographic site label (Li1 on
24d, Li2 on 96h in a garnet, ...), so that site energies and barriers can be given per site.

The parser is ours (CIF 1.1 syntax: data blocks, tags, loops, quoted and semicolon text);
it reads only these items and bounds its work (file size, operations, sites), so a damaged
file ends in an :class:`~ionscale.errors.InputError` naming the file and the item.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["CifSites", "lattice_from_cif", "read_cif_sites"]

#: Largest CIF read, bytes (structure files are kilobytes; a larger one is not a CIF).
MAX_BYTES = 20_000_000
#: Most symmetry operations (192 in Fm-3m with its centring) and expanded sites accepted.
MAX_OPERATIONS = 192
MAX_SITES = 20_000

_CELL_TAGS = ("_cell_length_a", "_cell_length_b", "_cell_length_c",
              "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma")
_SYMOP_TAGS = ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz",
               "_space_group_symop.operation_xyz")
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:\(\d+\))?$")


@dataclass(frozen=True)
class CifSites:
    """Sites of the chosen elements in the unit cell of a CIF.

    Attributes
    ----------
    cell : ndarray, shape (3, 3)
        Cell vectors as rows, m (a along x, b in the xy plane).
    fractional : ndarray, shape (n, 3)
        Fractional coordinates of every site in the cell, in [0, 1).
    labels : tuple of str
        Crystallographic site label of each site (``"Li1"``).
    occupancy : ndarray, shape (n,)
        The CIF's occupancy of each site (1 where it gives none).
    source : str
    """

    cell: np.ndarray
    fractional: np.ndarray
    labels: tuple[str, ...]
    occupancy: np.ndarray
    source: str


def _tokens(text: str, path: str) -> list[str]:
    """CIF tokens: words, quoted strings (quotes removed) and semicolon text fields."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(";"):
            block = [line[1:]]
            i += 1
            while i < len(lines) and not lines[i].startswith(";"):
                block.append(lines[i])
                i += 1
            if i == len(lines):
                raise InputError("a text field opened with ';' is never closed", file=path,
                                 field=f"line {i}", expected="a closing ';' line")
            out.append("\n".join(block).strip())
            i += 1
            continue
        j = 0
        n = len(line)
        while j < n:
            c = line[j]
            if c.isspace():
                j += 1
            elif c == "#":
                break
            elif c in "'\"":
                k = j + 1
                while k < n and not (line[k] == c and (k + 1 == n or line[k + 1].isspace())):
                    k += 1
                if k >= n:
                    raise InputError(f"unclosed quote on line {i + 1}", file=path,
                                     field=f"line {i + 1}", expected=f"a closing {c}")
                out.append(line[j + 1:k])
                j = k + 1
            else:
                k = j
                while k < n and not line[k].isspace():
                    k += 1
                out.append(line[j:k])
                j = k
        i += 1
    return out


def _parse(text: str, path: str) -> tuple[dict[str, str], list[dict[str, list[str]]]]:
    """The first data block's single items and loops."""
    items: dict[str, str] = {}
    loops: list[dict[str, list[str]]] = []
    toks = _tokens(text, path)
    i, n = 0, len(toks)
    seen_block = False
    while i < n:
        t = toks[i]
        low = t.lower()
        if low.startswith("data_"):
            if seen_block:
                break  # the first structure only
            seen_block = True
            i += 1
        elif low == "loop_":
            i += 1
            tags = []
            while i < n and toks[i].startswith("_"):
                tags.append(toks[i].lower())
                i += 1
            values = []
            while i < n and not toks[i].startswith("_") and toks[i].lower() != "loop_" \
                    and not toks[i].lower().startswith("data_"):
                values.append(toks[i])
                i += 1
            if not tags or len(values) % len(tags):
                raise InputError(f"a loop of {len(tags)} columns holds {len(values)} values",
                                 file=path, field=", ".join(tags[:3]) or "loop_",
                                 expected="a whole number of rows")
            m = len(tags)
            loops.append({tag: values[k::m] for k, tag in enumerate(tags)})
        elif t.startswith("_"):
            if i + 1 >= n:
                raise InputError(f"{t} has no value", file=path, field=t, expected="a value")
            items[low] = toks[i + 1]
            i += 2
        else:
            i += 1  # stray value (global_, save frames): not needed here
    return items, loops


def _number(value: str, path: str, field: str) -> float:
    m = _NUMBER.match(value.strip())
    if not m:
        raise InputError(f"{field} = {value!r}", file=path, field=field,
                         expected="a number, optionally with its uncertainty, e.g. 5.4307(2)")
    return float(m.group(1))


def _cell(items: dict[str, str], path: str) -> np.ndarray:
    missing = [t for t in _CELL_TAGS if t not in items]
    if missing:
        raise InputError("the cell is not given", file=path, field=missing[0],
                         expected="_cell_length_a/b/c (Å) and _cell_angle_alpha/beta/gamma (°)")
    a, b, c, al, be, ga = (_number(items[t], path, t) for t in _CELL_TAGS)
    if min(a, b, c) <= 0 or not all(0 < x < 180 for x in (al, be, ga)):
        raise InputError(f"cell {a, b, c, al, be, ga}", file=path, field="_cell",
                         expected="positive lengths and angles between 0 and 180°")
    al, be, ga = (math.radians(x) for x in (al, be, ga))
    cx = math.cos(be)
    cy = (math.cos(al) - math.cos(be) * math.cos(ga)) / math.sin(ga)
    cz2 = 1.0 - cx**2 - cy**2
    if cz2 <= 0:
        raise InputError("the cell angles do not make a cell", file=path, field="_cell_angle",
                         expected="angles of a real (non-degenerate) cell")
    cell = np.array([[a, 0.0, 0.0],
                     [b * math.cos(ga), b * math.sin(ga), 0.0],
                     [c * cx, c * cy, c * math.sqrt(cz2)]])
    return cell * 1e-10  # Å → m


_TERM = re.compile(r"([+-]?)(\d*\.?\d*(?:/\d+)?)\*?([xyz]?)")


def _operation(text: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    """``'x+1/2, -y, z'`` → (R, t) with x' = R x + t."""
    parts = [p.strip().lower().replace(" ", "") for p in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise InputError(f"symmetry operation {text!r}", file=path, field="symmetry operation",
                         expected="three comma-separated components such as 'x+1/2,-y,z'")
    R = np.zeros((3, 3))
    t = np.zeros(3)
    for row, part in enumerate(parts):
        pos = 0
        while pos < len(part):
            m = _TERM.match(part, pos)
            if not m or m.end() == pos:
                raise InputError(f"symmetry operation {text!r}", file=path,
                                 field="symmetry operation", expected="terms in x, y, z and "
                                 "fractions such as 1/2")
            sign = -1.0 if m.group(1) == "-" else 1.0
            num, axis = m.group(2), m.group(3)
            if axis:
                coef = 1.0 if num == "" else _fraction(num, text, path)
                R[row, "xyz".index(axis)] += sign * coef
            elif num:
                t[row] += sign * _fraction(num, text, path)
            else:
                raise InputError(f"symmetry operation {text!r}", file=path,
                                 field="symmetry operation", expected="no empty term")
            pos = m.end()
    return R, t


def _fraction(num: str, text: str, path: str) -> float:
    try:
        if "/" in num:
            p, q = num.split("/")
            return float(p) / float(q)
        return float(num)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"symmetry operation {text!r}", file=path, field="symmetry operation",
                         expected="numbers such as 1/2 or 0.25") from None


def _element(symbol: str) -> str:
    m = re.match(r"[A-Za-z]{1,2}", symbol)
    if not m:
        return ""
    s = m.group(0)
    return s[0].upper() + s[1:].lower() if len(s) == 2 and s[1].islower() else s[0].upper()


def read_cif_sites(path: str | os.PathLike, elements: str | Sequence[str] = "Li", *,
                   tolerance: float = 1e-3) -> CifSites:
    """The sites of ``elements`` in the unit cell of a CIF, expanded by its symmetry.

    Parameters
    ----------
    path : path
        The CIF (the first data block is read).
    elements : str or sequence of str
        Element symbols whose sites make the lattice (``"Li"``; charges such as ``Li1+`` in
        ``_atom_site_type_symbol`` are ignored; without that column the label's letters are
        the element).
    tolerance : float
        Fractional distance under which two expanded positions are the same site.

    Returns
    -------
    CifSites
    """
    path_s = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{size} bytes", file=path_s, field="file",
                             expected=f"a CIF under {MAX_BYTES // 1_000_000} MB")
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read it ({exc.strerror or exc})", file=path_s,
                         field="file", expected="a readable CIF") from None
    text = raw.decode("utf-8", errors="replace")
    items, loops = _parse(text, path_s)
    cell = _cell(items, path_s)
    wanted = {elements} if isinstance(elements, str) else set(elements)
    wanted = {_element(e) for e in wanted}

    ops_text = next((loop[t] for loop in loops for t in _SYMOP_TAGS if t in loop), None)
    if ops_text is None:
        one = next((items[t] for t in _SYMOP_TAGS if t in items), None)
        ops_text = [one] if one else ["x,y,z"]
    if len(ops_text) > MAX_OPERATIONS:
        raise InputError(f"{len(ops_text)} symmetry operations", file=path_s,
                         field=_SYMOP_TAGS[0], expected=f"at most {MAX_OPERATIONS}")
    ops = [_operation(o, path_s) for o in ops_text]

    sites = next((loop for loop in loops if "_atom_site_fract_x" in loop), None)
    if sites is None:
        raise InputError("no atom sites", file=path_s, field="_atom_site_fract_x",
                         expected="a loop of _atom_site_label and _atom_site_fract_x/y/z")
    for tag in ("_atom_site_fract_y", "_atom_site_fract_z"):
        if tag not in sites:
            raise InputError("incomplete atom sites", file=path_s, field=tag,
                             expected="fractional coordinates x, y and z")
    n = len(sites["_atom_site_fract_x"])
    labels = sites.get("_atom_site_label", [f"site{k + 1}" for k in range(n)])
    symbols = sites.get("_atom_site_type_symbol", labels)
    occ = sites.get("_atom_site_occupancy", ["1"] * n)

    frac: list[np.ndarray] = []
    out_labels: list[str] = []
    out_occ: list[float] = []
    for k in range(n):
        if _element(symbols[k]) not in wanted:
            continue
        xyz = np.array([_number(sites[f"_atom_site_fract_{c}"][k], path_s,
                                f"_atom_site_fract_{c} of {labels[k]}") for c in "xyz"])
        o = 1.0 if occ[k] in (".", "?") else _number(occ[k], path_s,
                                                      f"_atom_site_occupancy of {labels[k]}")
        mine: list[np.ndarray] = []
        for R, t in ops:
            q = np.mod(R @ xyz + t, 1.0)
            q[np.isclose(q, 1.0, atol=tolerance)] = 0.0
            if not any(np.all(np.abs((q - m + 0.5) % 1.0 - 0.5) < tolerance) for m in mine):
                mine.append(q)
        for q in mine:
            if any(np.all(np.abs((q - f + 0.5) % 1.0 - 0.5) < tolerance) for f in frac):
                continue  # two labels on one position (mixed occupancy): keep the first
            frac.append(q)
            out_labels.append(labels[k])
            out_occ.append(o)
        if len(frac) > MAX_SITES:
            raise InputError(f"more than {MAX_SITES} sites", file=path_s,
                             field="_atom_site", expected="a unit cell of a crystal")
    if not frac:
        found = sorted({_element(s) for s in symbols} - {""})
        raise InputError(f"no site of {sorted(wanted)}", file=path_s, field="_atom_site",
                         expected=f"one of the elements in the file: {found}")
    return CifSites(cell, np.array(frac), tuple(out_labels), np.array(out_occ), path_s)


def lattice_from_cif(path: str | os.PathLike, elements: str | Sequence[str] = "Li",
                     shape=4, *, boundary="periodic", shells: int = 1,
                     cutoff: float | None = None, tolerance: float = 1e-3):
    """A kMC :class:`~ionscale.kmc.lattice.Lattice` of the ``elements`` sites of a CIF.

    One sublattice per crystallographic site label; jumps to the nearest ``shells``
    neighbour shells of the whole sublattice (or within ``cutoff``, m), as
    :meth:`Lattice.from_cell`. ``tolerance`` is both the fractional distance under which two
    expanded positions are one site and the relative tolerance on jump lengths (a CIF's
    coordinates carry four or five digits: distances equal by symmetry differ in the last).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> cif = '''data_Li
    ... _cell_length_a 3.51
    ... _cell_length_b 3.51
    ... _cell_length_c 3.51
    ... _cell_angle_alpha 90
    ... _cell_angle_beta 90
    ... _cell_angle_gamma 90
    ... loop_
    ... _symmetry_equiv_pos_as_xyz
    ... 'x, y, z'
    ... 'x+1/2, y+1/2, z+1/2'
    ... loop_
    ... _atom_site_label
    ... _atom_site_fract_x
    ... _atom_site_fract_y
    ... _atom_site_fract_z
    ... Li1 0 0 0
    ... '''
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "Li.cif"
    >>> _ = f.write_text(cif)
    >>> lat = lattice_from_cif(f, "Li", 3)
    >>> lat.n_sites, lat.coordination
    (54, 8)
    """
    from .lattice import Lattice

    sites = read_cif_sites(path, elements, tolerance=tolerance)
    return Lattice.from_cell(sites.cell, sites.fractional, shape,
                             sublattices=list(sites.labels), boundary=boundary, shells=shells,
                             cutoff=cutoff, name=Path(path).stem, tolerance=tolerance)
