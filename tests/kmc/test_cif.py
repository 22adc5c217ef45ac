"""Mobile-ion lattices from CIF files: symmetry expansion, sublattices, units, bad files."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.errors import InputError
from ionscale.kmc import correlation_factor, lattice_from_cif, read_cif_sites


def cubic_operations(centring):
    """The 48 point operations of m-3m, each with every centring translation (as CIF text)."""
    ops = []
    for perm in itertools.permutations("xyz"):
        for signs in itertools.product("+-", repeat=3):
            for t in centring:
                parts = []
                for s, axis, shift in zip(signs, perm, t, strict=True):
                    term = ("-" if s == "-" else "") + axis
                    parts.append(term + (f"+{shift}" if shift != "0" else ""))
                ops.append(", ".join(parts))
    return ops


def cif_text(a, sites, ops, *, header="_symmetry_equiv_pos_as_xyz", symbol=True):
    lines = ["data_test", "_chemical_name_common 'test structure'",
             f"_cell_length_a {a}(3)", f"_cell_length_b {a}", f"_cell_length_c {a}",
             "_cell_angle_alpha 90.0", "_cell_angle_beta 90", "_cell_angle_gamma 90",
             "loop_", header] + [f"'{o}'" for o in ops]
    lines += ["loop_", "_atom_site_label"] + (["_atom_site_type_symbol"] if symbol else []) + [
        "_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z",
        "_atom_site_occupancy"]
    for label, sym, xyz, occ in sites:
        lines.append(" ".join([label] + ([sym] if symbol else [])
                              + [str(v) for v in xyz] + [str(occ)]))
    return "\n".join(lines) + "\n"


FCC = [("0", "0", "0"), ("0", "1/2", "1/2"), ("1/2", "0", "1/2"), ("1/2", "1/2", "0")]


@pytest.fixture
def rocksalt(tmp_path):
    """LiF, Fm-3m, all 192 operations written out: Li on 4a, F on 4b."""
    path = tmp_path / "LiF.cif"
    path.write_text(cif_text(4.0263, [("Li1", "Li1+", (0, 0, 0), 1.0),
                                      ("F1", "F1-", (0.5, 0.5, 0.5), 1.0)],
                             cubic_operations(FCC),
                             header="_space_group_symop_operation_xyz"))
    return path


def test_rocksalt_li_sublattice_is_fcc(rocksalt):
    sites = read_cif_sites(rocksalt, "Li")
    assert sites.fractional.shape == (4, 3)
    assert set(sites.labels) == {"Li1"}
    np.testing.assert_allclose(np.diag(sites.cell), 4.0263e-10)
    lat = lattice_from_cif(rocksalt, "Li", 4)
    assert lat.n_sites == 4 * 4**3
    assert lat.coordination == 12
    assert lat.jump_length == pytest.approx(4.0263e-10 / math.sqrt(2))
    # the same fcc single-vacancy correlation factor as the built-in lattice
    big = lattice_from_cif(rocksalt, "Li", 12)
    f = correlation_factor(big, events=3e5, blocks=48, lags=4, seed=3)["f"]
    assert abs(f.value - 0.78145) < max(4 * f.error, 0.006)


def test_two_labels_make_two_sublattices(tmp_path):
    """CsCl-like cell with Li on both sites under two labels: two sublattices, bcc jumps."""
    path = tmp_path / "two.cif"
    path.write_text(cif_text(3.5, [("Li1", "Li", (0, 0, 0), 1.0),
                                   ("Li2", "Li", (0.5, 0.5, 0.5), 0.5)],
                             ["x,y,z", "-x,-y,-z"], symbol=False))
    sites = read_cif_sites(path, ["Li"])
    assert sites.labels == ("Li1", "Li2")
    np.testing.assert_allclose(sites.occupancy, [1.0, 0.5])
    lat = lattice_from_cif(path, "Li", 3)
    assert lat.coordination == 8
    assert set(lat.sublattice_names) == {"Li1", "Li2"}


def test_hexagonal_cell_vectors(tmp_path):
    path = tmp_path / "hex.cif"
    text = cif_text(3.0, [("Li1", "Li", (1 / 3, 2 / 3, 0.25), 1)], ["x,y,z"])
    text = text.replace("_cell_angle_gamma 90", "_cell_angle_gamma 120")
    text = text.replace("_cell_length_c 3.0", "_cell_length_c 5.0")
    path.write_text(text)
    cell = read_cif_sites(path).cell
    assert np.linalg.norm(cell[1]) == pytest.approx(3e-10)
    assert np.degrees(np.arccos(cell[0] @ cell[1] / 9e-20)) == pytest.approx(120.0)
    assert cell[2] == pytest.approx([0, 0, 5e-10], abs=1e-22)


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda t: t.replace("_cell_length_b 4.0263\n", ""), "_cell_length_b"),
    (lambda t: t.replace("_cell_angle_beta 90", "_cell_angle_beta abc"), "_cell_angle_beta"),
    (lambda t: t.replace("'x, y, z'", "'x, y'"), "symmetry operation"),
    (lambda t: t.replace("'x, y, z'", "'x, w, z'"), "symmetry operation"),
    (lambda t: t.replace("Li1 Li1+ 0 0 0 1.0", "Li1 Li1+ 0 0 1.0"), "_atom_site"),
    (lambda t: t.replace("Li1 Li1+", "Na1 Na1+"), "_atom_site"),
])
def test_bad_files_name_the_item(rocksalt, mutate, field):
    rocksalt.write_text(mutate(rocksalt.read_text()))
    before = rocksalt.read_bytes()
    with pytest.raises(InputError, match=field) as err:
        read_cif_sites(rocksalt, "Li")
    assert str(rocksalt) in str(err.value)
    assert rocksalt.read_bytes() == before


def test_missing_file_and_model_toml(tmp_path, rocksalt):
    with pytest.raises(InputError, match="cannot read"):
        read_cif_sites(tmp_path / "nope.cif")
    from ionscale.kmc import read_model

    model = tmp_path / "model.toml"
    model.write_text(f'''temperature = "600 K"
[lattice]
type = "cif"
file = "{rocksalt.name}"
elements = ["Li"]
shape = 3
[[species]]
name = "Li"
count = 1
''')
    m, _ = read_model(model)
    assert m.lattice.n_sites == 108 and m.lattice.coordination == 12


@settings(max_examples=60)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cif") / "x.cif"
    path.write_bytes(data)
    try:
        read_cif_sites(path)
    except InputError:
        pass
