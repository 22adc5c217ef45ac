"""The ``ionscale`` command, called in-process through :func:`ionscale.cli.main`."""

import csv
import json
import re

import numpy as np
import pytest

from ionscale.cli import main
from ionscale.datasets.demo import real_18o_profile_path
from ionscale.datasets.synthetic import (
    STORAGE_STUDY,
    grain_boundary_map,
    write_count_map,
    write_storage_study,
)
from ionscale.units import EV

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
D_EXCHANGE, D_ANNEAL = STORAGE_STUDY["D_exchange"], STORAGE_STUDY["D_anneal"]  # m^2/s
EA, D0 = STORAGE_STUDY["Ea"], STORAGE_STUDY["D0"]  # eV, m^2/s

CAMPAIGN = """\
[campaign]
name = "cli campaign"

[[samples]]
name = "LLTO"

[[samples.measurements]]
name = "before"
technique = "sims-line"
files = ["before.txt"]
conditions = { temperature = "22 degC", time = "110 h" }

[[samples.measurements]]
name = "nmr"
technique = "arrhenius-table"
files = ["nmr.txt"]

[[samples.analyses]]
method = "tracer.profile"
label = "erfc"
measurements = ["before"]
parameters = { model = "erfc", source = "fit", background = "fit" }

[[samples.analyses]]
method = "transport.arrhenius"
label = "NMR"
measurements = ["nmr"]
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    write_storage_study(d, seed=5)

    gb = grain_boundary_map(shape=(120, 48), seed=3)
    write_count_map(d / "map6.txt", gb.counts.counts["6Li"], header="6Li")
    write_count_map(d / "map7.txt", gb.counts.counts["7Li"], header="7Li")
    with open(d / "segments.txt", "w") as f:
        f.write("# x0 y0 x1 y1 y_boundary (um)\n")
        for (a, b), yb in zip(gb.segments, gb.boundaries, strict=True):
            f.write(" ".join(f"{v * 1e6:.4f}" for v in (*a, *b, yb)) + "\n")
    with open(d / "segments4.txt", "w") as f:
        for a, b in gb.segments:
            f.write(",".join(f"{v * 1e6:.4f}" for v in (*a, *b)) + "\n")

    (d / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    return {"dir": d, "gb": gb, "n_segments": len(gb.segments)}


def run_json(capsys, *argv) -> dict:
    code = main([*map(str, argv), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def fails(capsys, *argv, code: int = 2) -> str:
    got = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    assert got == code, (out, err)
    assert err.startswith("ionscale: error: ") or code != 2
    return err


def within(value: dict, truth: float, n_sigma: float = 3.0) -> bool:
    return abs(value["value"] - truth) < n_sigma * value["error"]


# -- tracer ------------------------------------------------------------------------------------


def test_tracer_fit_json(files, capsys):
    f = files["dir"] / "before.txt"
    out = run_json(capsys, "tracer", "fit", f, "--model", "erfc", "--time", "110 h")
    assert out["method"] == "tracer.profile.erfc"
    d = out["values"]["D"]
    assert d["unit"] == "m^2/s" and d["field_unit"] == "cm² s⁻¹"
    assert d["value"] > 0 and 0 < d["error"] < d["value"]
    assert out["provenance"]["inputs"][0]["path"].endswith("before.txt")
    assert out["provenance"]["parameters"]["time_s"] == pytest.approx(396000.0)
    # with the source and background fractions fitted the raw fraction gives the true D
    out = run_json(capsys, "tracer", "fit", f, "--model", "erfc", "--time", "110 h",
                   "--source", "fit", "--background", "fit")
    assert within(out["values"]["D"], D_EXCHANGE)
    assert set(out["values"]) >= {"D", "C_s", "C_bg"}


def test_tracer_fit_real_18o(capsys):
    path = real_18o_profile_path()
    argv = ["tracer", "fit", str(path), "--model", "exchange", "--time", "5640 s",
            "--x-unit", "cm", "--rows", "0:584"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert re.search(r"D\* = \(4\.0\d ± 0\.0\d\)e-8 cm² s⁻¹", text), text
    assert "k* = " in text and "584 points" in text
    out = run_json(capsys, *argv)
    assert out["values"]["D"]["value"] == pytest.approx(4.0e-12, rel=0.05)
    assert out["values"]["k"]["value"] == pytest.approx(3.64e-8, rel=0.05)
    assert out["fit"]["n_points"] == 584


def test_tracer_evolve(files, capsys):
    d = files["dir"]
    argv = ["tracer", "evolve", d / "before.txt", d / "after.txt", "--time", "2 weeks",
            "--surface", "0 um"]
    out = run_json(capsys, *argv)
    assert within(out["values"]["D"], D_ANNEAL)
    assert main(list(map(str, argv))) == 0
    assert "D*_eff = " in capsys.readouterr().out
    err = fails(capsys, "tracer", "evolve", d / "before.txt", d / "after.txt",
                "--time", "2 weeks", "--time", "6 weeks")
    assert "--time" in err


def test_tracer_fraction(files, capsys, tmp_path):
    d = files["dir"]
    matrix = tmp_path / "fraction.txt"
    out = run_json(capsys, "tracer", "fraction", d / "map6.txt", d / "map7.txt",
                   "--isotopes", "6Li,7Li", "--pixel-size", "1 um", "--out", matrix)
    assert out["method"] == "tracer.fraction"
    true_mean = float(np.mean(files["gb"].truth["true_fraction"]))
    assert within(out["values"]["mean"], true_mean)
    assert out["values"]["valid_fraction"]["value"] == 1.0
    fraction = np.loadtxt(matrix)
    assert fraction.shape == (120, 48)
    assert np.nanmean(fraction) == pytest.approx(out["values"]["mean"]["value"], rel=1e-4)


def test_tracer_gb_with_boundaries(files, capsys):
    d = files["dir"]
    out = run_json(capsys, "tracer", "gb", d / "map6.txt", d / "map7.txt",
                   "--isotopes", "6Li,7Li", "--pixel-size", "1 um",
                   "--segments", d / "segments.txt", "--D-bulk", "2.6e-8 cm^2/s",
                   "--width", "11 um", "--window", "7 um", "--gb-width", "0.5 nm")
    values = out["values"]
    assert values["n_boundaries"]["value"] == files["n_segments"] >= 5
    truth = files["gb"].truth["D_gb_over_delta"]
    assert within(values["D_gb_over_delta_weighted"], truth)
    assert values["D_gb"]["unit"] == "m^2/s"
    assert values["D_gb_weighted"]["value"] == pytest.approx(
        values["D_gb_over_delta_weighted"]["value"] * 0.5e-9, rel=1e-9)


def test_tracer_gb_located_boundaries(files, capsys):
    d = files["dir"]
    code = main(["tracer", "gb", str(d / "map6.txt"), str(d / "map7.txt"), "--isotopes",
                 "6Li,7Li", "--pixel-size", "1 um", "--segments", str(d / "segments4.txt"),
                 "--D-bulk", "2.6e-8 cm^2/s", "--width", "11 um", "--window", "7 um"])
    assert code == 0
    text = capsys.readouterr().out
    assert f"of {files['n_segments']} boundaries analysed" in text
    assert "D*_gb/δ" in text and "cm s⁻¹" in text


def test_tracer_gb_bad_segments(files, capsys, tmp_path):
    bad = tmp_path / "segments.txt"
    bad.write_text("1 2 3\n4 5 6\n")
    d = files["dir"]
    err = fails(capsys, "tracer", "gb", d / "map6.txt", d / "map7.txt", "--isotopes",
                "6Li,7Li", "--pixel-size", "1 um", "--segments", bad, "--D-bulk", "1e-8 cm^2/s")
    assert str(bad) in err and "segments" in err


# -- transport ---------------------------------------------------------------------------------


def test_transport_arrhenius(files, capsys):
    table = files["dir"] / "nmr.txt"
    out = run_json(capsys, "transport", "arrhenius", table)
    ea = out["values"]["Ea"]
    assert ea["unit"] == "J" and ea["field_unit"] == "eV"
    assert within(ea, EA * EV)
    assert within(out["values"]["prefactor"], D0)
    assert main(["transport", "arrhenius", str(table), "--extrapolate", "-110 degC"]) == 0
    text = capsys.readouterr().out
    assert "Ea = " in text and "eV" in text
    assert "at -110 degC: " in text and "cm² s⁻¹" in text


def test_transport_arrhenius_compare(files, capsys):
    out = run_json(capsys, "transport", "arrhenius", files["dir"] / "nmr.txt", "--compare")
    p = out["values"]["p_value"]["value"]
    assert 0.0 <= p <= 1.0
    assert p > 0.01  # the data are Arrhenius: no curvature found
    assert main(["transport", "arrhenius", str(files["dir"] / "nmr.txt"), "--compare"]) == 0
    assert "Arrhenius adequate" in capsys.readouterr().out


# -- plots -------------------------------------------------------------------------------------


def test_plot_writes_png(files, capsys, tmp_path):
    png = tmp_path / "out.png"
    assert main(["tracer", "fit", str(files["dir"] / "before.txt"), "--time", "110 h",
                 "--source", "fit", "--background", "fit", "--plot", str(png)]) == 0
    assert f"figure: {png}" in capsys.readouterr().out
    assert png.read_bytes()[:8] == PNG_MAGIC
    png2 = tmp_path / "arrhenius.png"
    run_json(capsys, "transport", "arrhenius", files["dir"] / "nmr.txt", "--plot", png2)
    assert png2.read_bytes()[:8] == PNG_MAGIC and png2.stat().st_size > 5000


# -- campaign and results database -------------------------------------------------------------


@pytest.fixture(scope="module")
def database(files):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["run", str(files["dir"] / "campaign.toml"), "--no-progress"])
    assert code == 0, buf.getvalue()
    assert "ran 2, skipped 0 unchanged, failed 0" in buf.getvalue()
    return files["dir"] / "results.sqlite"


def test_run_again_skips(files, database, capsys):
    assert main(["run", str(files["dir"] / "campaign.toml"), "--no-progress"]) == 0
    assert "ran 0, skipped 2 unchanged, failed 0" in capsys.readouterr().out


def test_db_list(database, capsys):
    assert main(["db", "list", str(database)]) == 0
    text = capsys.readouterr().out
    assert "tracer.profile" in text and "transport.arrhenius" in text
    assert "±" in text and "cm² s⁻¹" in text and "eV" in text
    assert "295.15 K (22 °C)" in text
    rows = run_json(capsys, "db", "list", database, "--method", "tracer.profile", "--name", "D")
    assert len(rows) == 1
    assert within(rows[0], D_EXCHANGE)
    assert main(["db", "list", str(database), "--sample", "nobody"]) == 0
    assert "no stored results" in capsys.readouterr().out


def test_db_show(database, capsys):
    rows = run_json(capsys, "db", "list", database, "--method", "transport.arrhenius")
    aid = rows[0]["analysis_id"]
    assert main(["db", "show", str(database), str(aid)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"analysis {aid}: LLTO / transport.arrhenius / NMR")
    assert "nmr.txt  sha256 " in text
    assert "Ea = " in text and "figures: main" in text
    full = run_json(capsys, "db", "show", database, aid)
    assert full["id"] == aid and full["measurements"] == ["nmr"]
    assert {v["name"] for v in full["values"]} >= {"Ea", "prefactor"}
    err = fails(capsys, "db", "show", database, 9999)
    assert "9999" in err and str(database) in err


def test_db_export(database, capsys, tmp_path):
    n = len(run_json(capsys, "db", "list", database))
    out_csv = tmp_path / "values.csv"
    assert main(["db", "export", str(database), str(out_csv)]) == 0
    assert f"exported {n} value(s)" in capsys.readouterr().out
    with open(out_csv, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert len(table) == n
    d = next(r for r in table if r["method"] == "tracer.profile" and r["name"] == "D")
    assert float(d["value"]) == pytest.approx(float(d["field_value"]) * 1e-4)
    assert d["unit"] == "m^2/s" and float(d["error"]) > 0
    out_json = tmp_path / "all.json"
    assert main(["db", "export", str(database), str(out_json)]) == 0
    capsys.readouterr()
    payload = json.loads(out_json.read_text(encoding="utf-8"))
    assert payload["format"] == "ionscale-results"
    assert len(payload["analyses"]) == 2
    assert [s["name"] for s in payload["samples"]] == ["LLTO"]


def test_db_missing_database(tmp_path, capsys):
    err = fails(capsys, "db", "list", tmp_path / "none.sqlite")
    assert "none.sqlite" in err
    assert not (tmp_path / "none.sqlite").exists()


# -- bad input: exit code 2 and a message naming the file or field ------------------------------


@pytest.mark.parametrize("time", ["0 s", "-3 h"])
def test_non_positive_time(files, capsys, time):
    err = fails(capsys, "tracer", "fit", files["dir"] / "before.txt", "--time", time)
    assert "time" in err and time in err and "positive" in err
    err = fails(capsys, "tracer", "evolve", files["dir"] / "before.txt",
                files["dir"] / "after.txt", "--time", time)
    assert "time" in err and time in err


def test_bad_time_unit(files, capsys):
    err = fails(capsys, "tracer", "fit", files["dir"] / "before.txt", "--time", "12 parsecs")
    assert "'time'" in err and "12 parsecs" in err


def test_missing_file(capsys, tmp_path):
    missing = tmp_path / "nope.txt"
    err = fails(capsys, "tracer", "fit", missing, "--time", "1 h")
    assert str(missing) in err
    err = fails(capsys, "transport", "arrhenius", missing)
    assert str(missing) in err


def test_empty_file(capsys, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    err = fails(capsys, "tracer", "fit", empty, "--time", "1 h")
    assert str(empty) in err and "empty" in err


def test_unsorted_positions(files, capsys, tmp_path):
    lines = (files["dir"] / "before.txt").read_text().splitlines()
    header = [i for i, line in enumerate(lines) if line.startswith("x (um)")][0]
    lines[header + 1], lines[header + 2] = lines[header + 2], lines[header + 1]
    bad = tmp_path / "unsorted.txt"
    bad.write_text("\n".join(lines) + "\n")
    err = fails(capsys, "tracer", "fit", bad, "--time", "1 h")
    assert f"{bad}:{header + 3}" in err  # file and 1-based line of the decreasing position
    assert "x (um)" in err and "increasing" in err


def test_bad_rows(files, capsys):
    err = fails(capsys, "tracer", "fit", files["dir"] / "before.txt", "--time", "1 h",
                "--rows", "a:b")
    assert "--rows" in err


def test_run_bad_campaign(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[samples]]\nname = "s"\n[[samples.analyses]]\nmethod = "tracer.nope"\n')
    err = fails(capsys, "run", path, "--no-progress")
    assert str(path) in err and "samples[0].analyses[0].method" in err
    assert not (tmp_path / "results.sqlite").exists()


def test_methods_lists_every_analysis_with_units(capsys):
    from ionscale.cli import main

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("tracer.profile", "tracer.evolve", "tracer.gb", "transport.haven"):
        assert f"{name}:" in out
    assert "D_bulk [m^2/s]" in out
    assert main(["methods", "nope.nothing"]) == 2
