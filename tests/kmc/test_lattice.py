"""Lattices: neighbour tables, jump vectors, sublattices, boundaries, errors."""

import math

import numpy as np
import pytest

from ionscale.errors import InputError
from ionscale.kmc import BUILTIN_LATTICES, Lattice, builtin_lattice


@pytest.mark.parametrize("name", sorted(BUILTIN_LATTICES))
def test_builtin_tables_are_consistent(name):
    d, z, nn = BUILTIN_LATTICES[name]
    shape = 9 if d == 1 else 5
    lat = builtin_lattice(name, shape, a=2.0)
    assert lat.dimension == d and lat.coordination == z
    assert math.isclose(lat.jump_length, 2.0 * nn, rel_tol=1e-9)
    box = np.array(lat.shape) @ lat.cell  # supercell vectors: diagonal for these cells
    inv = np.linalg.inv(np.diag(np.array(lat.shape, float)) @ lat.cell)
    for s in range(lat.n_sites):
        b = lat.basis_index[s]
        for k in range(z):
            t = lat.neighbours[s, k]
            assert t >= 0
            # the reverse slot points back, with the opposite vector
            r = lat.reverse_slot[b, k]
            assert lat.neighbours[t, r] == s
            np.testing.assert_allclose(lat.jump_vectors[lat.basis_index[t], r],
                                       -lat.jump_vectors[b, k], atol=1e-12)
            # the unwrapped vector joins the two sites modulo the box
            diff = lat.positions[t] - lat.positions[s] - lat.jump_vectors[b, k]
            frac = diff @ inv
            np.testing.assert_allclose(frac, np.round(frac), atol=1e-9)
            assert math.isclose(np.linalg.norm(lat.jump_vectors[b, k]), lat.jump_length,
                                rel_tol=1e-9)
    del box


def test_sites_are_numbered_in_tiles():
    lat = builtin_lattice("sc", 8)
    # neighbours along the fastest tile axis are adjacent numbers
    assert np.median(np.abs(lat.neighbours - np.arange(lat.n_sites)[:, None])) <= 16


def test_custom_lattice_with_two_sublattices():
    lat = Lattice.from_cell([[2.0, 0], [0, 1.0]], [[0, 0], [0.5, 0]], (4, 8),
                            sublattices=["a", "b"])
    assert lat.n_sites == 64 and lat.coordination == 4
    assert set(lat.jump_type_names) == {"a-a", "a-b", "b-a", "b-b"}
    assert np.bincount(lat.sublattice).tolist() == [32, 32]


def test_explicit_jumps_and_shells():
    lat = Lattice.from_cell(np.eye(2), [[0, 0]], 6, jumps=[[1, 0], [-1, 0]])
    assert lat.coordination == 2
    two = Lattice.from_cell(np.eye(2), [[0, 0]], 6, shells=2)
    assert two.coordination == 8 and two.jump_type_names == ("nn#0", "nn#1")
    with pytest.raises(InputError, match="does not end on a site"):
        Lattice.from_cell(np.eye(2), [[0, 0]], 6, jumps=[[0.5, 0]])


def test_closed_boundary_and_layers():
    lat = builtin_lattice("sc", (6, 4, 4), a=1.0, boundary=["closed", "periodic", "periodic"])
    x = lat.positions[:, 0]
    edge = x == x.min()
    assert np.all((lat.neighbours[edge] < 0).sum(axis=1) == 1)
    layer, pos = lat.layers(0)
    np.testing.assert_allclose(pos, np.arange(6.0))
    fcc = builtin_lattice("fcc", 3, a=1.0)
    assert fcc.layers(0)[1].size == 6  # (100) planes every a/2


def test_small_box_and_bad_input_are_refused():
    with pytest.raises(InputError, match="too small"):
        builtin_lattice("sc", 2)
    with pytest.raises(InputError, match="unknown lattice"):
        builtin_lattice("hcp", 4)
    with pytest.raises(InputError, match="boundary"):
        builtin_lattice("sc", 4, boundary="open")
    with pytest.raises(InputError, match="shape"):
        builtin_lattice("sc", (4, 4))
