"""``ionscale eis`` end to end on the bundled real pellet and on synthetic files."""

import json
from pathlib import Path

import pytest

from ionscale.cli import main
from ionscale.datasets.synthetic_eis import simulate_spectrum

S04147 = Path(__file__).resolve().parents[2] / "src/ionscale/datasets/data/s04147"
CIRCUIT = "p(R1,CPE1)-p(R2,CPE2)-CPE3"
GEOMETRY = ["--thickness", "0.21 cm", "--diameter", "0.8 cm"]


def test_fit_with_geometry_gives_conductivities_as_json(capsys):
    rc = main(["eis", "fit", str(S04147 / "s04147-160deg.txt"), "--circuit", CIRCUIT,
               *GEOMETRY, "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    v = out["values"]
    area = 3.141592653589793 * 0.008 ** 2 / 4
    assert v["sigma_bulk"]["value"] == pytest.approx(0.0021 / (v["R_bulk"]["value"] * area))
    assert out["data"]["labels"] == {"R1": "bulk", "R2": "grain_boundary"}


def test_series_on_a_directory_reports_activation_energies(capsys, tmp_path):
    png = tmp_path / "arrhenius.png"
    rc = main(["eis", "series", str(S04147), "--circuit", CIRCUIT, *GEOMETRY, "--no-progress",
               "--plot", str(png)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "Ea(bulk)" in text and "Ea(gb)" in text and "eV" in text
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_kk_and_drt(capsys):
    path = str(S04147 / "s04147-160deg.txt")
    assert main(["eis", "kk", path, "--blocking", "--strict"]) == 0
    assert "passed" in capsys.readouterr().out
    assert main(["eis", "kk", path, "--strict"]) == 3  # the blocking spike is not a Voigt chain
    capsys.readouterr()
    assert main(["eis", "drt", path, "--blocking", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["R_pol"]["value"] > 0


def test_evolution_of_a_time_series(tmp_path, capsys):
    for k, hours in enumerate(range(0, 60, 6)):
        r1 = 100.0 + 0.5 * (hours * 3600.0) ** 0.5
        s = simulate_spectrum("R0-p(R1,CPE1)", {"R0": 20.0, "R1": r1, "CPE1_Q": 1e-6,
                                                 "CPE1_alpha": 0.9}, noise=0.002, seed=k)
        rows = [f"{f:.8g},{z.real:.8g},{-z.imag:.8g},{hours * 3600.0 + i:.1f}"
                for i, (f, z) in enumerate(zip(s.frequency, s.impedance, strict=True))]
        (tmp_path / f"t{hours:03d}.csv").write_text(
            "freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,time/s\n" + "\n".join(rows) + "\n")
    rc = main(["eis", "evolution", str(tmp_path), "--circuit", "R0-p(R1,CPE1)",
               "--no-progress", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["slope"]["value"] == pytest.approx(0.5, rel=0.05)


def test_bad_circuit_and_missing_geometry_are_clear_errors(capsys):
    path = str(S04147 / "s04147-160deg.txt")
    assert main(["eis", "fit", path, "--circuit", "p(R1,CPE1)-p(R2,CPE2-CPE3"]) == 2
    assert "unbalanced" in capsys.readouterr().err
    assert main(["eis", "fit", path, "--circuit", CIRCUIT, "--thickness", "2 mm"]) == 2
    assert "--diameter" in capsys.readouterr().err
    assert main(["eis", "fit", path, "--circuit", CIRCUIT, *GEOMETRY, "--assign", "R1"]) == 2
    assert "--assign" in capsys.readouterr().err
    assert main(["eis", "fit", path, "--circuit", CIRCUIT, "--initial", "R1=big"]) == 2
    assert "--initial" in capsys.readouterr().err


def test_formats_lists_every_reader(capsys):
    assert main(["eis", "formats"]) == 0
    out = capsys.readouterr().out
    for name in ("gamry", "biologic-mpr", "zplot", "csv"):
        assert name in out


LPSCL = (Path(__file__).resolve().parents[3] / "shared" / "data" / "eis" / "hybrid-drt"
         / "PEIS_LPSCl_IonBlocking_-25C.txt")


def test_kk_tau_extension_and_verdict_options(capsys):
    if not LPSCL.exists():
        pytest.skip("real EIS data not available")
    path = str(LPSCL)
    # valid, but a chain confined to the measured window leaves 1.2 % at its ends
    assert main(["eis", "kk", path, "--blocking", "--tau-extension", "0", "--verdict",
                 "threshold", "--strict"]) == 3
    capsys.readouterr()
    assert main(["eis", "kk", path, "--blocking", "--strict", "--json"]) == 0  # auto
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["tau_ext_short"]["value"] >= 0.5
    assert out["values"]["max_residual"]["value"] < 0.5 and out["status"] == "ok"
    assert main(["eis", "kk", path, "--blocking", "--tau-extension", "1,0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["provenance"]["parameters"]["tau_extension"] == [1.0, 0.0]
    assert main(["eis", "kk", path, "--tau-extension", "wide"]) == 2
    assert "--tau-extension" in capsys.readouterr().err


def test_drt_reports_its_band_and_the_electrolyte_peak(capsys):
    if not LPSCL.exists():
        pytest.skip("real EIS data not available")
    assert main(["eis", "drt", str(LPSCL), "--blocking", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["data"]["gamma_sd"]) == len(out["data"]["tau"])
    taus = [p["tau"] for p in out["data"]["peaks"]]
    assert any(1e-7 < t < 4e-7 for t in taus)  # Li6PS5Cl itself, next to the electrode
