"""``ionscale nmr pfg|bpp`` end to end on files written by the synthetic generators."""

import json

import numpy as np
import pytest

from ionscale.cli import main
from ionscale.datasets.synthetic import (
    LLTO_NMR,
    llto_pfg_diffusivities,
    pfg_decay,
    t1_curve,
    write_pfg_table,
    write_relaxation_table,
)
from ionscale.units import EV


def run_json(capsys, *argv):
    code = main([*map(str, argv), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def within(v, truth, k=3.0):
    return abs(v["value"] - truth) < k * v["error"]


def test_pfg_powder_fit_and_comparison(tmp_path, capsys):
    d = llto_pfg_diffusivities(393.15)
    path = tmp_path / "pfg.txt"
    write_pfg_table(path, pfg_decay(d["D_a"], d["D_c"], temperature=393.15, seed=4))
    out = run_json(capsys, "nmr", "pfg", path, "--model", "aniso")
    assert within(out["values"]["D_a"], d["D_a"])
    assert within(out["values"]["D_c"], d["D_c"])
    comparison = run_json(capsys, "nmr", "pfg", path, "--compare")
    assert comparison["values"]["p_value"]["value"] < 0.01
    png = tmp_path / "fit.png"
    assert main(["nmr", "pfg", str(path), "--model", "iso", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pfg_isotropic_decay_is_not_called_anisotropic(tmp_path, capsys):
    path = tmp_path / "iso.txt"
    write_pfg_table(path, pfg_decay(2.6e-12, 2.6e-12, temperature=295.15, seed=9))
    out = run_json(capsys, "nmr", "pfg", path, "--model", "iso")
    assert within(out["values"]["D"], 2.6e-12)
    comparison = run_json(capsys, "nmr", "pfg", path, "--compare")
    assert "not warranted" in json.dumps(comparison)


def test_bpp_from_table(tmp_path, capsys):
    path = tmp_path / "t1.txt"
    write_relaxation_table(path, t1_curve(np.linspace(160.0, 560.0, 21), seed=2))
    out = run_json(capsys, "nmr", "bpp", path)
    assert within(out["values"]["tau0"], LLTO_NMR["tau0"])
    assert within(out["values"]["Ea"], LLTO_NMR["Ea_tau"] * EV)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nmr", "pfg", "missing.txt"], "missing.txt"),
        (["nmr", "pfg", "{pfg}", "--delta", "-2 ms"], "delta"),
        (["nmr", "bpp", "{pfg}"], "pfg.txt"),
    ],
)
def test_bad_input_exits_2_and_names_it(tmp_path, capsys, args, needle):
    pfg = tmp_path / "pfg.txt"
    d = llto_pfg_diffusivities(393.15)
    write_pfg_table(pfg, pfg_decay(d["D_a"], d["D_c"], seed=1))
    argv = [a.replace("{pfg}", str(pfg)) for a in args]
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# issue 9: options that ended in a traceback or were silently ignored
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--region=70.5", "--region=a,b", "--region=1,2,3",
                                    "--noise-region=-30", "--region=nan,4"])
def test_bad_ppm_ranges_exit_2(tmp_path, capsys, option):
    d = tmp_path / "12"
    d.mkdir()
    assert main(["nmr", "pfg", str(d), option]) == 2
    err = capsys.readouterr().err
    assert option.split("=")[0] in err
    assert "Traceback" not in err and "internal error" not in err


def test_region_on_a_table_is_refused(tmp_path, capsys):
    path = tmp_path / "pfg.txt"
    write_pfg_table(path, pfg_decay(2.6e-12, 2.6e-12, seed=9))
    assert main(["nmr", "pfg", str(path), "--region=-5,5"]) == 2
    assert "--region" in capsys.readouterr().err


def test_compare_honours_model(tmp_path, capsys):
    path = tmp_path / "iso.txt"
    write_pfg_table(path, pfg_decay(2.6e-12, 2.6e-12, temperature=295.15, seed=9))
    out = run_json(capsys, "nmr", "pfg", path, "--compare", "--model", "multi")
    assert set(out["data"]["table"]) == {"iso", "multi"}
    assert out["status"] != "failed"
    out = run_json(capsys, "nmr", "pfg", path, "--compare", "--model", "aniso")
    assert set(out["data"]["table"]) == {"iso", "aniso"}


def test_chi2_only_printed_with_sigma(tmp_path, capsys):
    decay = pfg_decay(2.6e-12, 2.6e-12, temperature=295.15, seed=9)
    path = tmp_path / "nosigma.txt"
    path.write_text("# nucleus: 7Li\n# delta: 2 ms\n# Delta: 100 ms\ng (G/cm)\tintensity\n"
                    + "".join(f"{g * 100:.6g}\t{1e7 * s:.6g}\n"
                              for g, s in zip(decay.gradient, decay.signal, strict=True)))
    assert main(["nmr", "pfg", str(path)]) == 0
    out = capsys.readouterr().out
    assert "χ²_red" not in out
    assert "scaled from the residuals" in out
    assert main(["nmr", "pfg", str(path), "--compare"]) == 0
    out = capsys.readouterr().out
    assert "χ² =" not in out and "scaled from the residuals" in out
    # the demo's tables carry σ (their 'intensity_err' column): χ²_red is printed
    path2 = tmp_path / "sigma.txt"
    write_pfg_table(path2, decay)
    assert main(["nmr", "pfg", str(path2)]) == 0
    assert "χ²_red" in capsys.readouterr().out
    out = run_json(capsys, "nmr", "pfg", path2)
    assert out["data"]["sigma"] is not None
