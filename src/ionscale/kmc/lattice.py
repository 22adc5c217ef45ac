"""Periodic lattices for kinetic Monte Carlo: sites, sublattices, neighbour tables, jump vectors.

A :class:`Lattice` is a supercell of ``shape`` unit cells of a crystal (``cell``: rows are the
cell vectors, m; ``basis``: fractional coordinates of the sites in the cell), each axis
``periodic`` or ``closed``. It holds, for every site, the table of the sites it can jump to and,
for every basis site and neighbour slot, the *unwrapped* displacement vector of that jump (m),
so that particles keep continuous trajectories across periodic boundaries.

Conventions
-----------
* ``dimension`` d is the number of cell axes (1, 2 or 3); every vector has d components.
* ``a`` of the built-in lattices is the edge of the conventional cell (cubic lattices, square)
  or the Bravais lattice parameter (triangular, honeycomb); the jump length is
  :attr:`Lattice.jump_length` (the nearest-neighbour distance: a/√2 in fcc, a√3/4 in diamond,
  a/√3 in honeycomb...).
* Sites are numbered cell by cell (``site = cell * n_basis + basis_site``); cells are numbered
  in small tiles (4 cells per axis), so that neighbours have nearby numbers (this keeps the
  event-selection tree local). :attr:`Lattice.cells` gives the cell coordinates of each site.
* A jump *type* names a family of jumps that share a rate law: by default one type per
  (sublattice from, sublattice to, neighbour shell), named ``"nn"`` for a lattice with one
  sublattice and one shell, else ``"<from>-<to>"`` (``"<from>-<to>#<shell>"`` with several
  shells).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..units import parse_quantity

__all__ = ["BUILTIN_LATTICES", "Lattice", "builtin_lattice"]

#: Built-in lattices: name -> (dimension, coordination number, nearest-neighbour distance / a).
BUILTIN_LATTICES: dict[str, tuple[int, int, float]] = {
    "chain": (1, 2, 1.0),
    "square": (2, 4, 1.0),
    "triangular": (2, 6, 1.0),
    "honeycomb": (2, 3, 1.0 / math.sqrt(3.0)),
    "sc": (3, 6, 1.0),
    "bcc": (3, 8, math.sqrt(3.0) / 2.0),
    "fcc": (3, 12, 1.0 / math.sqrt(2.0)),
    "diamond": (3, 4, math.sqrt(3.0) / 4.0),
}

_BOUNDARIES = ("periodic", "closed")
_TILE = 4

#: Tracer correlation factors of single-vacancy diffusion on the built-in lattices
#: (SCIENCE.md §7), beside the lattices so that listing them loads no fitting code.
SINGLE_VACANCY_F: dict[str, float] = {
    "fcc": 0.78145, "bcc": 0.7272, "sc": 0.65311, "diamond": 0.5,
    "square": 1.0 / (math.pi - 1.0), "triangular": 0.56006, "honeycomb": 1.0 / 3.0,
}


def _cell_and_basis(name: str, a: float) -> tuple[np.ndarray, np.ndarray]:
    s3 = math.sqrt(3.0)
    if name == "chain":
        return np.array([[a]]), np.array([[0.0]])
    if name == "square":
        return a * np.eye(2), np.zeros((1, 2))
    if name == "triangular":
        return a * np.array([[1.0, 0.0], [0.5, s3 / 2]]), np.zeros((1, 2))
    if name == "honeycomb":
        return (a * np.array([[1.0, 0.0], [0.5, s3 / 2]]),
                np.array([[0.0, 0.0], [1 / 3, 1 / 3]]))
    if name == "sc":
        return a * np.eye(3), np.zeros((1, 3))
    if name == "bcc":
        return a * np.eye(3), np.array([[0, 0, 0], [0.5, 0.5, 0.5]])
    if name == "fcc":
        return a * np.eye(3), np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    if name == "diamond":
        fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
        return a * np.eye(3), np.vstack([fcc, fcc + 0.25])
    raise InputError(f"unknown lattice {name!r}", field="lattice",
                     expected=f"one of {sorted(BUILTIN_LATTICES)} or Lattice.from_cell(...)")


def _as_shape(shape, dim: int) -> tuple[int, ...]:
    if np.isscalar(shape):
        shape = (int(shape),) * dim
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputError(f"shape {shape!r}", field="shape",
                         expected=f"{dim} positive integers (cells per axis)") from None
    if len(out) != dim or any(s < 1 for s in out):
        raise InputError(f"shape {shape!r}", field="shape",
                         expected=f"{dim} positive integers (cells per axis)")
    return out


def _as_boundary(boundary, dim: int) -> tuple[str, ...]:
    if isinstance(boundary, str):
        boundary = (boundary,) * dim
    out = tuple(str(b) for b in boundary)
    if len(out) != dim or any(b not in _BOUNDARIES for b in out):
        raise InputError(f"boundary {boundary!r}", field="boundary",
                         expected=f"{dim} of {_BOUNDARIES} (one per axis)")
    return out


def _tiled_order(shape: tuple[int, ...]) -> np.ndarray:
    """Rank of each cell (row-major cell number) in a tile-by-tile numbering."""
    grids = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    coords = [g.ravel() for g in grids]
    tiles = [c // _TILE for c in coords]
    inner = [c % _TILE for c in coords]
    # lexsort sorts by the last key first: tile coordinates are the major keys
    keys = [*inner[::-1], *tiles[::-1]]
    order = np.lexsort(keys)  # cells in the new numbering, as row-major numbers
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank


@dataclass(frozen=True, eq=False)
class Lattice:
    """A periodic (or partly closed) lattice of sites with nearest-neighbour jumps.

    Build one with :func:`builtin_lattice` or :meth:`Lattice.from_cell`; the constructor takes
    the finished tables.

    Attributes
    ----------
    name : str
        ``"fcc"``, ``"custom"``...
    cell : ndarray, shape (d, d)
        Unit-cell vectors (rows), m.
    basis : ndarray, shape (n_basis, d)
        Fractional coordinates of the sites of a cell.
    sublattice_names : tuple of str
        Names of the sublattices.
    basis_sublattice : ndarray of int, shape (n_basis,)
        Sublattice of each basis site.
    shape : tuple of int
        Cells per axis.
    boundary : tuple of str
        ``"periodic"`` or ``"closed"`` per axis.
    neighbours : ndarray of int32, shape (n_sites, z)
        Sites reachable by a jump from each site (-1: none, across a closed boundary).
    jump_vectors : ndarray, shape (n_basis, z, d)
        Unwrapped displacement (m) of the jump through each slot, per basis site.
    jump_type : ndarray of int32, shape (n_basis, z)
        Jump type of each slot (index into :attr:`jump_type_names`).
    jump_type_names : tuple of str
    reverse_slot : ndarray of int32, shape (n_basis, z)
        Slot of the reverse jump at the target site.
    cell_rank : ndarray of int
        Number of each cell (row-major cell index) in the site numbering.
    """

    name: str
    cell: np.ndarray
    basis: np.ndarray
    sublattice_names: tuple[str, ...]
    basis_sublattice: np.ndarray
    shape: tuple[int, ...]
    boundary: tuple[str, ...]
    neighbours: np.ndarray
    jump_vectors: np.ndarray
    jump_type: np.ndarray
    jump_type_names: tuple[str, ...]
    reverse_slot: np.ndarray
    cell_rank: np.ndarray = field(repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_cell(
        cls,
        cell,
        basis,
        shape,
        *,
        sublattices: Sequence[str] | None = None,
        boundary: str | Sequence[str] = "periodic",
        shells: int = 1,
        cutoff: float | None = None,
        jumps: Sequence[Sequence[float]] | Mapping[int, Sequence[Sequence[float]]] | None = None,
        jump_types: Mapping[tuple[str, str, int], str] | None = None,
        name: str = "custom",
        tolerance: float = 1e-6,
    ) -> Lattice:
        """Any periodic lattice from its unit cell, its sites and its jumps.

        Parameters
        ----------
        cell : array_like, shape (d, d)
            Cell vectors as rows, m (d = 1, 2 or 3: the dimension of the lattice).
        basis : array_like, shape (n_basis, d)
            Fractional coordinates of the sites in the cell, in [0, 1).
        shape : int or sequence of int
            Cells per axis of the simulation box.
        sublattices : sequence of str, optional
            Sublattice name of each basis site (default: all ``"site"``).
        boundary : str or sequence of str
            ``"periodic"`` or ``"closed"`` per axis (a closed axis has walls at both ends).
        shells : int
            Jumps reach the nearest ``shells`` neighbour shells (1: nearest neighbours).
        cutoff : float, optional
            Jumps reach every site within this distance (m) instead of ``shells``.
        jumps : sequence of vectors, or {basis index: vectors}, optional
            Explicit jump vectors (Cartesian, m) from every basis site, or per basis site; each
            must end on a site. Overrides ``shells`` and ``cutoff``.
        jump_types : mapping, optional
            Rename or merge the default jump types: ``{(from_sublattice, to_sublattice,
            shell): name}``; shells count from 0.
        name : str
            Label of the lattice.
        tolerance : float
            Relative tolerance on distances (shells, matching of explicit jumps).

        Returns
        -------
        Lattice

        Examples
        --------
        A square lattice whose columns alternate between two sublattices:

        >>> lat = Lattice.from_cell([[2.0, 0], [0, 1.0]], [[0, 0], [0.5, 0]], (4, 8),
        ...                         sublattices=["a", "b"])
        >>> lat.n_sites, lat.coordination, lat.jump_type_names
        (64, 4, ('a-b', 'a-a', 'b-a', 'b-b'))
        """
        cell = np.atleast_2d(np.asarray(cell, dtype=float))
        d = cell.shape[0]
        if cell.shape != (d, d) or d not in (1, 2, 3):
            raise InputError(f"cell of shape {cell.shape}", field="cell",
                             expected="a (d, d) matrix of cell vectors (rows), d = 1, 2 or 3")
        if not np.all(np.isfinite(cell)) or abs(np.linalg.det(cell)) <= 0:
            raise InputError("the cell vectors are not independent", field="cell",
                             expected="a non-singular matrix of finite cell vectors (m)")
        basis = np.asarray(basis, dtype=float).reshape(-1, d)
        if basis.shape[0] < 1 or not np.all(np.isfinite(basis)):
            raise InputError("no usable basis site", field="basis",
                             expected="fractional coordinates, shape (n_basis, d)")
        basis = np.mod(basis, 1.0)
        basis[np.isclose(basis, 1.0, atol=1e-12)] = 0.0
        nb = basis.shape[0]
        shape_t = _as_shape(shape, d)
        boundary_t = _as_boundary(boundary, d)
        if sublattices is None:
            sublattices = ["site"] * nb
        sublattices = [str(s) for s in sublattices]
        if len(sublattices) != nb:
            raise InputError(f"{len(sublattices)} sublattice names for {nb} basis sites",
                             field="sublattices", expected="one name per basis site")
        sub_names = tuple(dict.fromkeys(sublattices))
        basis_sub = np.array([sub_names.index(s) for s in sublattices], dtype=np.int32)
        cart = basis @ cell  # (nb, d)

        # candidate targets: every basis site in the cells around, within reach
        recip = np.linalg.inv(cell).T  # rows: reciprocal vectors (no 2π)
        lengths = np.linalg.norm(cell, axis=1)
        if jumps is not None:
            per_basis = _explicit_jumps(jumps, nb, d)
            reach = max(np.linalg.norm(v) for vs in per_basis for v in vs) if any(
                len(v) for v in per_basis) else 0.0
        else:
            reach = None
        # nearest-neighbour distance first (search within one cell around)
        span = np.arange(-2, 3)
        offsets = np.array(np.meshgrid(*([span] * d), indexing="ij")).reshape(d, -1).T
        all_d = (cart[None, :, None, :] + (offsets @ cell)[None, None, :, :]
                 - cart[:, None, None, :])  # (nb, nb', n_off, d)
        dist = np.linalg.norm(all_d, axis=-1)
        positive = dist[dist > tolerance * lengths.min()]
        if positive.size == 0:
            raise InputError("no neighbour found", field="basis",
                             expected="sites at distinct positions")
        nn = float(positive.min())
        if jumps is None:
            if cutoff is not None:
                reach = float(cutoff)
                if not reach >= nn * (1 - tolerance):
                    raise InputError(f"cutoff {cutoff!r} m is below the nearest-neighbour "
                                     f"distance {nn:.4g} m", field="cutoff",
                                     expected="a distance that reaches the neighbours")
            else:
                if int(shells) < 1:
                    raise InputError(f"shells = {shells!r}", field="shells",
                                     expected="an integer >= 1")
                reach = None
        # offsets wide enough for the reach
        if reach is None:
            # shells: distances up to ~ shells * nn are enough to rank them
            want = nn * (int(shells) + 1)
        else:
            want = reach
        half = np.ceil(want * np.linalg.norm(recip, axis=1) + 1e-9).astype(int) + 1
        ranges = [np.arange(-h, h + 1) for h in half]
        offsets = np.array(np.meshgrid(*ranges, indexing="ij")).reshape(d, -1).T
        vec = (cart[None, :, None, :] + (offsets @ cell)[None, None, :, :]
               - cart[:, None, None, :])
        dist = np.linalg.norm(vec, axis=-1)  # (nb, nb', n_off)
        tol = tolerance * nn

        # distinct distance shells over the whole cell
        ds = np.sort(dist[dist > tol])
        shell_d = [ds[0]]
        for v in ds[1:]:
            if v - shell_d[-1] > tol:
                shell_d.append(v)
        shell_d = np.array(shell_d)

        slots: list[list[tuple[int, np.ndarray, int, np.ndarray]]] = []
        for b in range(nb):
            found = []
            if jumps is not None:
                for v in per_basis[b]:
                    v = np.asarray(v, dtype=float)
                    hit = np.argwhere(np.linalg.norm(vec[b] - v, axis=-1) <= tol)
                    if hit.size == 0:
                        raise InputError(f"jump {v.tolist()} from basis site {b} does not end "
                                         "on a site", field="jumps",
                                         expected="Cartesian jump vectors (m) between sites")
                    b2, o = int(hit[0, 0]), int(hit[0, 1])
                    found.append((b2, offsets[o], vec[b, b2, o]))
            else:
                limit = reach * (1 + tolerance) if reach is not None else (
                    shell_d[min(int(shells), shell_d.size) - 1] + tol)
                for b2 in range(nb):
                    for o in np.flatnonzero((dist[b, b2] > tol) & (dist[b, b2] <= limit)):
                        found.append((b2, offsets[o], vec[b, b2, o]))
            # deterministic slot order: by shell, then by direction
            found.sort(key=lambda f: (round(float(np.linalg.norm(f[2])) / nn, 6),
                                      *np.round(f[2] / nn, 6).tolist()))
            slots.append([(b2, o, v, int(np.argmin(np.abs(shell_d - np.linalg.norm(v)))))
                          for b2, o, v in found])
        z = max(len(s) for s in slots)
        if z == 0:
            raise InputError("no jump found", field="jumps", expected="at least one jump")

        # jump types
        n_shells = len({s[3] for row in slots for s in row})
        type_names: list[str] = []
        jtype = np.full((nb, z), -1, dtype=np.int32)
        jvec = np.zeros((nb, z, d))
        tgt_b = np.full((nb, z), -1, dtype=np.int64)
        tgt_o = np.zeros((nb, z, d), dtype=np.int64)
        for b, row in enumerate(slots):
            for k, (b2, o, v, sh) in enumerate(row):
                key = (sub_names[basis_sub[b]], sub_names[basis_sub[b2]], sh)
                if jump_types and key in jump_types:
                    label = str(jump_types[key])
                elif len(sub_names) == 1 and n_shells == 1:
                    label = "nn"
                elif len(sub_names) == 1:
                    label = f"nn#{sh}"
                else:
                    label = f"{key[0]}-{key[1]}" + (f"#{sh}" if n_shells > 1 else "")
                if label not in type_names:
                    type_names.append(label)
                jtype[b, k] = type_names.index(label)
                jvec[b, k] = v
                tgt_b[b, k] = b2
                tgt_o[b, k] = o
        # reverse slots
        rev = np.full((nb, z), -1, dtype=np.int32)
        for b in range(nb):
            for k in range(len(slots[b])):
                b2 = tgt_b[b, k]
                back = np.flatnonzero((tgt_b[b2] == b) & np.all(
                    np.abs(jvec[b2] + jvec[b, k]) <= tol, axis=-1))
                if back.size != 1:
                    raise InputError(f"jump {jvec[b, k].tolist()} from basis site {b} has no "
                                     "reverse jump", field="jumps",
                                     expected="a jump set that contains every jump's reverse")
                rev[b, k] = back[0]

        # neighbour table over the supercell
        shp = np.array(shape_t)
        n_cells = int(np.prod(shp))
        rank = _tiled_order(shape_t)
        grids = np.meshgrid(*[np.arange(s) for s in shape_t], indexing="ij")
        cidx = np.stack([g.ravel() for g in grids], axis=1)  # row-major cell coordinates
        nbr = np.full((n_cells * nb, z), -1, dtype=np.int32)
        periodic = np.array([b == "periodic" for b in boundary_t])
        for b in range(nb):
            sites = rank * nb + b
            for k in range(len(slots[b])):
                tc = cidx + tgt_o[b, k]
                inside = np.all((tc >= 0) & (tc < shp) | periodic, axis=1)
                tc = np.mod(tc, shp)
                flat = np.ravel_multi_index(tc.T, shape_t)
                target = rank[flat] * nb + tgt_b[b, k]
                nbr[sites, k] = np.where(inside, target, -1)
        # a periodic box too small for the jumps maps two slots onto one site (or onto itself)
        for b in range(nb):
            row = nbr[b][nbr[b] >= 0] if n_cells else nbr[b]
            if row.size != np.unique(row).size or np.any(row == b):
                need = [int(2 * np.abs(tgt_o[:, :, i]).max() + 1) for i in range(d)]
                raise InputError(f"the box {shape_t} is too small for the jumps: a site would "
                                 "reach another site by two jumps, or itself", field="shape",
                                 expected=f"at least {tuple(need)} cells per periodic axis")
        return cls(name=name, cell=cell, basis=basis, sublattice_names=sub_names,
                   basis_sublattice=basis_sub, shape=shape_t, boundary=boundary_t,
                   neighbours=nbr, jump_vectors=jvec, jump_type=jtype,
                   jump_type_names=tuple(type_names), reverse_slot=rev, cell_rank=rank)

    # ------------------------------------------------------------------ properties
    @property
    def dimension(self) -> int:
        """Number of spatial dimensions d."""
        return self.cell.shape[0]

    @property
    def n_basis(self) -> int:
        return self.basis.shape[0]

    @property
    def n_sites(self) -> int:
        return self.neighbours.shape[0]

    @property
    def coordination(self) -> int:
        """Largest number of jump slots of a site (z)."""
        return self.neighbours.shape[1]

    @cached_property
    def jump_length(self) -> float:
        """Nearest-neighbour jump length, m."""
        lengths = np.linalg.norm(self.jump_vectors, axis=-1)
        return float(lengths[lengths > 0].min())

    @cached_property
    def cells(self) -> np.ndarray:
        """Cell coordinates (integers, shape (n_sites, d)) of every site."""
        order = np.empty_like(self.cell_rank)
        order[self.cell_rank] = np.arange(self.cell_rank.size)
        coords = np.stack(np.unravel_index(order, self.shape), axis=1)
        return np.repeat(coords, self.n_basis, axis=0)

    @cached_property
    def basis_index(self) -> np.ndarray:
        """Basis site of every site."""
        return np.tile(np.arange(self.n_basis, dtype=np.int32), self.n_sites // self.n_basis)

    @cached_property
    def sublattice(self) -> np.ndarray:
        """Sublattice index of every site."""
        return self.basis_sublattice[self.basis_index]

    @cached_property
    def fractional(self) -> np.ndarray:
        """Fractional coordinates of every site in supercell units of cells (n_sites, d)."""
        return self.cells + self.basis[self.basis_index]

    @cached_property
    def positions(self) -> np.ndarray:
        """Cartesian position of every site, m (n_sites, d)."""
        return self.fractional @ self.cell

    @property
    def volume(self) -> float:
        """Volume (area, length in 2D, 1D) of the box, m^d."""
        return abs(float(np.linalg.det(self.cell))) * int(np.prod(self.shape))

    @cached_property
    def slot_count(self) -> np.ndarray:
        """Number of jump slots of each basis site."""
        return np.array([int(np.sum(np.any(self.jump_vectors[b] != 0, axis=-1)))
                         for b in range(self.n_basis)])

    def plane_spacing(self, axis: int) -> float:
        """Distance (m) between successive lattice planes of cells along cell axis ``axis``."""
        recip = np.linalg.inv(self.cell).T
        return 1.0 / float(np.linalg.norm(recip[axis]))

    def layers(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Atomic layers normal to cell axis ``axis``.

        Returns
        -------
        layer : ndarray of int, shape (n_sites,)
            Layer index of every site (0 at the lowest coordinate).
        x : ndarray
            Position (m) of each layer along the normal of the planes spanned by the other
            cell vectors (the interface normal of a diffusion couple).
        """
        self._check_axis(axis)
        f = np.round(self.fractional[:, axis], 9)
        values, layer = np.unique(f, return_inverse=True)
        return layer.astype(np.int32), values * self.plane_spacing(axis)

    def _check_axis(self, axis: int) -> None:
        if not (0 <= int(axis) < self.dimension):
            raise InputError(f"axis {axis!r}", field="axis",
                             expected=f"0 to {self.dimension - 1}")

    def summary(self) -> str:
        """One line describing the lattice."""
        return (f"{self.name} lattice, d = {self.dimension}, {self.n_sites} sites "
                f"({'x'.join(map(str, self.shape))} cells of {self.n_basis}), z = "
                f"{self.coordination}, jump length {self.jump_length * 1e10:.4g} Å, "
                f"boundary {'/'.join(self.boundary)}")

    def __repr__(self) -> str:
        return f"<Lattice {self.summary()}>"


def _explicit_jumps(jumps, nb: int, d: int) -> list[list[np.ndarray]]:
    if isinstance(jumps, Mapping):
        out = [[] for _ in range(nb)]
        for b, vs in jumps.items():
            if not (0 <= int(b) < nb):
                raise InputError(f"basis index {b!r}", field="jumps",
                                 expected=f"basis indices 0 to {nb - 1}")
            out[int(b)] = [np.asarray(v, dtype=float).reshape(d) for v in vs]
        return out
    vs = [np.asarray(v, dtype=float).reshape(d) for v in jumps]
    return [list(vs) for _ in range(nb)]


def builtin_lattice(
    name: str,
    shape,
    a: float = 1e-10,
    *,
    boundary: str | Sequence[str] = "periodic",
) -> Lattice:
    """A built-in lattice: chain, square, triangular, honeycomb, sc, bcc, fcc or diamond.

    Parameters
    ----------
    name : str
        A key of :data:`BUILTIN_LATTICES`.
    shape : int or sequence of int
        Conventional cells per axis (one number: the same on every axis).
    a : float or str
        Lattice parameter, m, or a string with its unit (``"3 angstrom"``): the conventional
        cube edge for sc/bcc/fcc/diamond, the Bravais lattice parameter for square,
        triangular, honeycomb, the site spacing of a chain.
    boundary : str or sequence of str
        ``"periodic"`` or ``"closed"``, for all axes or one per axis.

    Returns
    -------
    Lattice
        Nearest-neighbour jumps only, one sublattice (``"site"``), one jump type ``"nn"``.

    Examples
    --------
    >>> lat = builtin_lattice("fcc", 4, a=4e-10)
    >>> lat.n_sites, lat.coordination, round(lat.jump_length * 1e10, 4)
    (256, 12, 2.8284)
    """
    key = str(name).lower()
    if key not in BUILTIN_LATTICES:
        raise InputError(f"unknown lattice {name!r}", field="lattice",
                         expected=f"one of {sorted(BUILTIN_LATTICES)}")
    a = parse_quantity(a, "m", field="a")
    if not (np.isfinite(a) and a > 0):
        raise InputError(f"lattice parameter {a!r}", field="a", expected="a length > 0 (m)")
    cell, basis = _cell_and_basis(key, float(a))
    return Lattice.from_cell(cell, basis, shape, boundary=boundary, name=key)
