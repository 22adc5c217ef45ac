"""Tests of the SIMS readers (ionscale.io.sims) and the text helpers (ionscale.io.text)."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionscale.datasets.demo import REAL_18O as REAL_18O_BUNDLED
from ionscale.errors import InputError
from ionscale.io.sims import isotope_label, read_map, read_profile
from ionscale.io.text import read_table, sniff_delimiter, split_unit

REAL_18O = REAL_18O_BUNDLED  # the same bytes as ../shared/data/tracer (tested in test_datasets)


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@contextmanager
def bad_input(path: Path | list[Path], *, field: str, line: int | None = None):
    """Expect an InputError naming the file(s) and field (and line); the files stay unchanged."""
    paths = path if isinstance(path, list) else [path]
    before = [_sha(p) for p in paths]
    with pytest.raises(InputError) as info:
        yield info
    message = str(info.value)
    assert info.value.field == field
    assert f"field '{field}'" in message
    assert info.value.file is not None and Path(info.value.file).name in message
    assert any(Path(info.value.file) == p for p in paths)
    if line is not None:
        assert info.value.line == line
        assert f":{line}:" in message
    assert [_sha(p) for p in paths] == before


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _profile_counts(seed: int = 1, n: int = 60):
    rng = np.random.default_rng(seed)
    x_um = np.linspace(0.0, 30.0, n)
    from scipy.special import erfc

    c_true = 0.0759 + (0.95 - 0.0759) * erfc(x_um / 10.0)
    total = 2000.0
    li6 = rng.poisson(total * c_true)
    li7 = rng.poisson(total * (1 - c_true))
    return x_um, li6, li7, c_true


# ----------------------------------------------------------------------------- real data

def test_real_18o_profile_first_anneal():
    before = _sha(REAL_18O)
    p = read_profile(REAL_18O, x_unit="cm", rows=slice(0, 584))
    assert len(p) == 584
    assert p.x[0] == pytest.approx(2e-5, rel=1e-12)           # 0.002 cm
    assert p.x[-1] == pytest.approx(0.099166667e-2, rel=1e-9)
    assert np.all(np.diff(p.x) > 0)
    assert p.fraction[0] == pytest.approx(0.592283466)
    assert p.sigma is None and p.counts is None
    assert p.metadata["layout"] == "fraction"
    assert p.metadata["lines"] == [1, 584]
    whole = read_profile(REAL_18O, x_unit="cm")
    assert len(whole) == 1171
    assert _sha(REAL_18O) == before


# ----------------------------------------------------------------------------- profiles

def test_count_profile_round_trip(tmp_path):
    x_um, li6, li7, c_true = _profile_counts()
    path = tmp_path / "scan.txt"
    np.savetxt(path, np.column_stack([x_um, li6, li7]), header="x_um\t6Li\t7Li",
               delimiter="\t", comments="", fmt=["%.6f", "%d", "%d"])
    p = read_profile(path)
    assert np.allclose(p.x, x_um * 1e-6)
    assert p.metadata["x_unit"] == "um" and p.metadata["x_unit_source"] == "header"
    np.testing.assert_array_equal(p.counts["6Li"], li6)
    np.testing.assert_array_equal(p.counts["7Li"], li7)
    np.testing.assert_allclose(p.fraction, li6 / (li6 + li7))
    assert np.all(p.sigma > 0)
    # the measured fraction scatters around the truth as the binomial sigma says
    z = (p.fraction - c_true) / p.sigma
    assert abs(np.mean(z)) < 0.5 and 0.6 < np.std(z) < 1.5


@pytest.mark.parametrize("delimiter", ["\t", ",", ";", " ", "   "])
def test_delimiters_give_the_same_profile(tmp_path, delimiter):
    x_um, li6, li7, _ = _profile_counts(n=12)
    rows = [delimiter.join(["x_um", "6Li", "7Li"])]
    rows += [delimiter.join([f"{a:g}", str(b), str(c)])
             for a, b, c in zip(x_um, li6, li7, strict=True)]
    path = _write(tmp_path, "d.txt", "\n".join(rows) + "\n")
    p = read_profile(path)
    np.testing.assert_allclose(p.x, x_um * 1e-6, rtol=1e-5)
    np.testing.assert_allclose(p.fraction, li6 / (li6 + li7))


def test_decimal_comma_with_semicolons(tmp_path):
    path = _write(tmp_path, "eu.csv", "Depth (nm);6Li;7Li\n0,5;10;90\n1,5;20;80\n2,5;30;70\n")
    p = read_profile(path)
    np.testing.assert_allclose(p.x, [0.5e-9, 1.5e-9, 2.5e-9])
    np.testing.assert_allclose(p.fraction, [0.1, 0.2, 0.3])


def test_iontof_style_export_with_header_lines(tmp_path):
    text = (
        "# ION-TOF SurfaceLab export\n"
        "# Analysis: Bi3+ 30 keV, Sputter: Cs+ 500 eV\n"
        "Sample: LLTO pellet 3\n"
        "\n"
        "Depth (nm)\t7Li^+ (Counts)\t6Li^+ (Counts)\n"
        "0.0\t900\t100\n"
        "2.0\t800\t200\n"
        "4.0\t700\t300\n"
        "6.0\t600\t400\n"
    )
    path = _write(tmp_path, "iontof.txt", text)
    p = read_profile(path, x_unit="cm")   # the header's unit wins over the default
    np.testing.assert_allclose(p.x, [0, 2e-9, 4e-9, 6e-9])
    assert p.metadata["tracer"] == "6Li"          # the rarer isotope, whatever the order
    assert p.metadata["other"] == ["7Li"]
    np.testing.assert_allclose(p.fraction, [0.1, 0.2, 0.3, 0.4])
    assert "Sample: LLTO pellet 3" in p.metadata["header"]


def test_sputter_time_needs_a_rate(tmp_path):
    path = _write(tmp_path, "t.txt",
                  "Sputter time (s)\t16O\t18O\n0\t990\t10\n10\t995\t5\n20\t998\t2\n")
    with bad_input(path, field="Sputter time (s)"):
        read_profile(path)
    p = read_profile(path, sputter_rate="0.5 nm/s")
    np.testing.assert_allclose(p.x, [0, 5e-9, 10e-9])
    assert p.metadata["tracer"] == "18O"
    np.testing.assert_allclose(p.fraction, [0.01, 0.005, 0.002])


@pytest.mark.parametrize("name, factor", [("x [µm]", 1e-6), ("depth_cm", 1e-2),
                                          ("x/nm", 1e-9), ("Depth (mm)", 1e-3)])
def test_units_from_the_header(tmp_path, name, factor):
    path = _write(tmp_path, "u.txt", f"{name}\tfraction\n1\t0.5\n2\t0.4\n3\t0.3\n")
    p = read_profile(path)
    np.testing.assert_allclose(p.x, np.array([1, 2, 3]) * factor)
    assert p.metadata["layout"] == "fraction"


def test_headerless_counts_need_isotopes(tmp_path):
    path = _write(tmp_path, "nohead.csv", "0,10,90\n1,20,80\n2,30,70\n")
    with bad_input(path, field="isotopes"):
        read_profile(path)
    p = read_profile(path, isotopes=("6Li", "7Li"), x_unit="nm")
    np.testing.assert_allclose(p.x, [0, 1e-9, 2e-9])
    np.testing.assert_allclose(p.fraction, [0.1, 0.2, 0.3])


def test_fraction_layout_with_sigma_column(tmp_path):
    path = _write(tmp_path, "fs.txt", "x_um C sigma\n0 0.9 0.01\n1 0.5 0.02\n2 0.1 0.01\n")
    p = read_profile(path)
    np.testing.assert_allclose(p.sigma, [0.01, 0.02, 0.01])
    np.testing.assert_allclose(p.fraction, [0.9, 0.5, 0.1])


def test_row_selection(tmp_path):
    # two profiles concatenated: positions restart; each block is readable on its own
    path = _write(tmp_path, "two.txt", "0 0.9\n1 0.5\n2 0.1\n0 0.8\n1 0.4\n2 0.2\n")
    with bad_input(path, field="column 1", line=4):
        read_profile(path)
    p = read_profile(path, rows=slice(3, 6))
    np.testing.assert_allclose(p.fraction, [0.8, 0.4, 0.2])
    mask = np.zeros(6, bool)
    mask[:3] = True
    assert np.allclose(read_profile(path, rows=mask).fraction, [0.9, 0.5, 0.1])
    with bad_input(path, field="rows"):
        read_profile(path, rows=slice(10, 20))


# ----------------------------------------------------------------------------- bad profiles

def test_empty_file(tmp_path):
    path = _write(tmp_path, "empty.txt", "")
    with bad_input(path, field="data"):
        read_profile(path)
    path = _write(tmp_path, "only_header.txt", "# comment\nx_um\t6Li\t7Li\n\n")
    with bad_input(path, field="data"):
        read_profile(path)


def test_missing_column(tmp_path):
    path = _write(tmp_path, "m.txt", "x_um\t6Li\t16O\n0\t1\t2\n1\t2\t3\n2\t3\t4\n")
    with bad_input(path, field="7Li"):
        read_profile(path, isotopes=("6Li", "7Li"))
    with bad_input(path, field="depth"):
        read_profile(path, x_column="depth")


def test_non_numeric_column(tmp_path):
    path = _write(tmp_path, "nn.txt",
                  "x_um\t6Li\t7Li\n0\t1\t2\n1\tn/a\t3\n2\tn/a\t4\n3\tn/a\t5\n")
    with bad_input(path, field="6Li", line=3):
        read_profile(path)


def test_nan_in_counts(tmp_path):
    path = _write(tmp_path, "nan.txt", "x_um\t6Li\t7Li\n0\t1\t2\n1\t2\t3\n2\tnan\t4\n3\t1\t5\n")
    with bad_input(path, field="6Li", line=4):
        read_profile(path)


def test_nan_in_fraction(tmp_path):
    path = _write(tmp_path, "nanf.txt", "0 0.5\n1 NaN\n2 0.2\n")
    with bad_input(path, field="column 2", line=2):
        read_profile(path)


def test_negative_counts(tmp_path):
    path = _write(tmp_path, "neg.txt", "x_um,6Li,7Li\n0,1,2\n1,2,3\n2,3,-4\n")
    with bad_input(path, field="7Li", line=4):
        read_profile(path)


def test_unsorted_positions(tmp_path):
    path = _write(tmp_path, "unsorted.txt",
                  "Depth (nm)\t6Li\t7Li\n0\t1\t2\n2\t2\t3\n1\t3\t4\n3\t1\t1\n")
    with bad_input(path, field="Depth (nm)", line=4):
        read_profile(path)


def test_duplicate_positions(tmp_path):
    path = _write(tmp_path, "dup.txt", "x_um\t6Li\t7Li\n0\t1\t2\n1\t2\t3\n1\t3\t4\n")
    with bad_input(path, field="x_um", line=4) as info:
        read_profile(path)
    assert "repeats" in str(info.value)


def test_ragged_row(tmp_path):
    path = _write(tmp_path, "ragged.txt", "x_um\t6Li\t7Li\n0\t1\t2\n1\t2\t3\n2\t3\n3\t4\t5\n")
    with bad_input(path, field="data", line=4):
        read_profile(path)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 9), col=st.integers(1, 2),
       token=st.sampled_from(["abc", "1.2.3", "--", "7Li", "x"]))
def test_a_bad_token_is_reported_at_its_line(tmp_path, row, col, token):
    table = [["x_um", "6Li", "7Li"]] + [[str(i), str(10 + i), str(90 - i)] for i in range(10)]
    table[1 + row][col] = token
    path = _write(tmp_path, "hyp.txt", "\n".join("\t".join(r) for r in table) + "\n")
    with bad_input(path, field=["x_um", "6Li", "7Li"][col], line=row + 2):
        read_profile(path)


# ----------------------------------------------------------------------------- text helpers

def test_text_helpers():
    assert split_unit("Depth (nm)") == ("Depth", "nm")
    assert split_unit("x [µm]") == ("x", "µm")
    assert split_unit("6Li^+ (Counts)") == ("6Li^+", "Counts")
    assert split_unit("6Li") == ("6Li", None)
    assert sniff_delimiter(["a;b", "1;2", "3;4"]) == ";"
    assert sniff_delimiter(["1 2 3", "4 5 6"]) is None
    assert sniff_delimiter(["1.5\t2", "3\t4"]) == "\t"
    assert isotope_label("^6Li+") == "6Li"
    assert isotope_label("Li-7 counts") == "7Li"
    assert isotope_label("column 2") is None


def test_read_table_keeps_line_numbers(tmp_path):
    path = _write(tmp_path, "t.txt", "# c\nmeta: 1\n\na b\n1 2\n\n3 4\n# note\n5 6\n")
    t = read_table(path)
    assert t.columns == ("a", "b")
    np.testing.assert_array_equal(t.lines, [5, 7, 9])
    np.testing.assert_array_equal(t.column("b"), [2, 4, 6])


# ----------------------------------------------------------------------------- maps

def _maps(seed=3, shape=(6, 8)):
    rng = np.random.default_rng(seed)
    return rng.poisson(50, shape), rng.poisson(500, shape)


def test_read_map_text_files_dict_and_list(tmp_path):
    li6, li7 = _maps()
    p6, p7 = tmp_path / "scan_6Li.txt", tmp_path / "scan_7Li.txt"
    np.savetxt(p6, li6, fmt="%d", header="6Li counts\npixel 1 um")
    np.savetxt(p7, li7, fmt="%d", delimiter=",")
    a = read_map({"6Li": p6, "7Li": p7}, pixel_size="1 um")
    b = read_map([p6, p7], isotopes=["6Li", "7Li"], pixel_size=1e-6)
    c = read_map([p6, p7], pixel_size=(1e-6, 1e-6))     # isotope names from file names
    for m in (a, b, c):
        assert set(m.counts) == {"6Li", "7Li"}
        np.testing.assert_array_equal(m.counts["6Li"], li6)
        np.testing.assert_array_equal(m.counts["7Li"], li7)
        assert m.pixel_size == (1e-6, 1e-6) and m.shape == li6.shape
    assert a.sources == (str(p6), str(p7))


def test_read_map_text_blocks(tmp_path):
    li6, li7 = _maps()
    text = "# sample A\n# 6Li\n" + "\n".join(" ".join(map(str, r)) for r in li6)
    text += "\n\n# 7Li\n" + "\n".join(" ".join(map(str, r)) for r in li7) + "\n"
    path = _write(tmp_path, "both.txt", text)
    m = read_map(path, pixel_size="72 nm", origin=("1 um", 0))
    np.testing.assert_array_equal(m.counts["7Li"], li7)
    assert m.pixel_size == pytest.approx((7.2e-8, 7.2e-8))
    assert m.origin == pytest.approx((1e-6, 0.0))


def test_read_map_tiff(tmp_path):
    li6, li7 = _maps()
    stack = np.stack([li6, li7]).astype(np.uint16)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, stack, metadata={"axes": "CYX"})
    m = read_map(path, isotopes=["6Li", "7Li"], pixel_size=(2e-7, 1e-7))
    np.testing.assert_array_equal(m.counts["6Li"], li6)
    np.testing.assert_array_equal(m.counts["7Li"], li7)
    assert m.pixel_size == (2e-7, 1e-7)
    last = tmp_path / "last.tif"
    tifffile.imwrite(last, np.moveaxis(stack, 0, -1), photometric="minisblack",
                     planarconfig="contig", metadata={"axes": "YXS"})
    m2 = read_map(last, isotopes=["6Li", "7Li"], pixel_size=1e-7)
    np.testing.assert_array_equal(m2.counts["7Li"], li7)
    singles = {}
    for name, arr in (("6Li", li6), ("7Li", li7)):
        singles[name] = tmp_path / f"{name}.tiff"
        tifffile.imwrite(singles[name], arr.astype(np.float32))
    m3 = read_map(singles, pixel_size=1e-7)
    np.testing.assert_array_equal(m3.counts["6Li"], li6)


def test_map_bad_pixel_size():
    with pytest.raises(InputError, match="pixel_size"):
        read_map({}, pixel_size=-1.0)
    with pytest.raises(InputError, match="pixel_size"):
        read_map({}, pixel_size="1 s")


def test_maps_of_different_shapes(tmp_path):
    li6, li7 = _maps()
    p6, p7 = tmp_path / "a.txt", tmp_path / "b.txt"
    np.savetxt(p6, li6, fmt="%d")
    np.savetxt(p7, li7[:, :-1], fmt="%d")
    with bad_input([p6, p7], field="7Li") as info:
        read_map({"6Li": p6, "7Li": p7}, pixel_size=1e-6)
    assert info.value.file == str(p7)


def test_map_negative_counts(tmp_path):
    li6, li7 = _maps()
    li7[3, 2] = -1
    p6, p7 = tmp_path / "a.txt", tmp_path / "b.txt"
    np.savetxt(p6, li6, fmt="%d")
    np.savetxt(p7, li7, fmt="%d", header="7Li")
    with bad_input([p6, p7], field="7Li", line=5):   # header line + row 3 -> line 5
        read_map({"6Li": p6, "7Li": p7}, pixel_size=1e-6)


def test_map_nan(tmp_path):
    li6, _ = _maps()
    arr = li6.astype(float)
    arr[2, 1] = np.nan
    p = tmp_path / "nan_6Li.txt"
    np.savetxt(p, arr)
    with bad_input(p, field="6Li", line=3):
        read_map([p], pixel_size=1e-6)
    tif = tmp_path / "nan.tif"
    tifffile.imwrite(tif, arr.astype(np.float32))
    with bad_input(tif, field="6Li"):
        read_map({"6Li": tif}, pixel_size=1e-6)


def test_map_non_numeric_entry(tmp_path):
    p = _write(tmp_path, "m.txt", "1 2 3\n4 x 6\n7 8 9\n")
    with bad_input(p, field="6Li", line=2):
        read_map({"6Li": p}, pixel_size=1e-6)


def test_map_empty_file_and_unnamed_channel(tmp_path):
    p = _write(tmp_path, "empty.txt", "\n\n")
    with bad_input(p, field="data"):
        read_map({"6Li": p}, pixel_size=1e-6)
    q = _write(tmp_path, "noname.txt", "1 2\n3 4\n")
    with bad_input(q, field="isotopes"):
        read_map(q, pixel_size=1e-6)
