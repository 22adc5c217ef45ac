"""``ionscale cycling`` commands and the campaign analyses."""

import json
from pathlib import Path

import numpy as np
import pytest

from ionscale.cycling.cli import main
from ionscale.datasets.synthetic_cycling import (
    DEMO_IMPEDANCE_R,
    symmetric_cell_trace,
    write_cycling_demo,
    write_mpt,
)


@pytest.fixture(scope="module")
def mpt(tmp_path_factory, seed004_trace):
    return write_mpt(seed004_trace, tmp_path_factory.mktemp("cli") / "cell.mpt")


def test_ccd_command_json_and_plot(mpt, tmp_path, capsys):
    png = tmp_path / "ccd.png"
    rc = main(["ccd", str(mpt), "--area", "0.126 cm^2", "--json", "--plot", str(png)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["CCD"]["value"] == pytest.approx(4.0)
    assert out["values"]["j_last_stable"]["value"] == pytest.approx(2.0)
    assert out["data"]["criteria"]["kind"] == "short (sudden drop)"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_asr_and_steps_commands(mpt, capsys):
    assert main(["asr", str(mpt), "--diameter", "4.005 mm",
                 "--impedance-resistance", f"{DEMO_IMPEDANCE_R} ohm"]) == 0
    text = capsys.readouterr().out
    assert "ASR = 5" in text and "R·A (EIS)" in text
    assert main(["steps", str(mpt)]) == 0      # the area stated in the .mpt header
    assert "half-cycles = 60" in capsys.readouterr().out
    assert main(["formats"]) == 0
    assert "biologic-mpr" in capsys.readouterr().out


def test_cli_bad_input_exit_codes(mpt, tmp_path, capsys):
    assert main(["ccd", str(mpt), "--area", "0 cm^2"]) == 2
    assert "area" in capsys.readouterr().err
    assert main(["ccd", str(tmp_path / "missing.mpr")]) == 2
    offset = symmetric_cell_trace(levels=(1.0,), cycles=1, half_cycle_time=600.0,
                                  rest_time=300.0, offset=3.0, seed=1)
    path = write_mpt(offset, tmp_path / "full_cell.mpt")
    assert main(["ccd", str(path)]) == 1       # printed, status failed
    assert "not a Li | Li symmetric cell" in capsys.readouterr().out


def test_campaign_runs_the_demo_sample(tmp_path):
    import ionscale.cycling.analyses  # noqa: F401  (registers cycling.* before integration)
    from ionscale.campaign import run_campaign
    from ionscale.store import Store

    samples = write_cycling_demo(tmp_path / "data", np.random.default_rng(0))
    campaign = tmp_path / "campaign.toml"
    campaign.write_text('[campaign]\nname = "cycling"\n' + samples, encoding="utf-8")
    summary = run_campaign(campaign, progress=False, report=False)
    assert not summary.failed, summary.failed
    with Store(summary.database) as db:
        ccd = {r["name"]: r for r in db.results(method="cycling.ccd")}
        asr = {r["name"]: r for r in db.results(method="cycling.asr")}
    assert ccd["CCD"]["value"] == pytest.approx(4.0)
    assert ccd["j_last_stable"]["value"] == pytest.approx(2.0)
    assert asr["ASR_ratio"]["value"] == pytest.approx(1.0, abs=0.02)


class _Store:
    """The one method of the store the analyses read."""

    def __init__(self, rows):
        self.rows = rows

    def results(self, sample=None, method=None, name=None):
        return [r for r in self.rows if r["method"] == method and r["name"] == name]


def test_asr_analysis_reads_impedance_from_the_store(mpt):
    import ionscale.cycling.analyses  # noqa: F401
    from ionscale.campaign import AnalysisContext, Measurement, Sample, registry

    spec = registry()["cycling.asr"]
    rows = [{"method": "eis.fit", "name": "R_bulk", "value": 300.0, "error": 3.0,
             "unit": "ohm", "analysis_id": 1, "label": "eis"},
            {"method": "eis.fit", "name": "R_gb", "value": DEMO_IMPEDANCE_R - 300.0,
             "error": 4.0, "unit": "ohm", "analysis_id": 1, "label": "eis"}]
    params = {name: (p.default if not p.required else None)
              for name, p in spec.parameters.items()}
    params.update(impedance_method="eis.fit", impedance_value=["R_bulk", "R_gb"],
                  area=0.126e-4)
    ctx = AnalysisContext(sample=Sample("cell"),
                          measurements=(Measurement("gcpl", "cycling", (Path(mpt),)),),
                          parameters=params, store=_Store(rows), label="asr",
                          campaign_dir=Path(mpt).parent)
    r = spec.func(ctx)
    assert r["RA_impedance"].value == pytest.approx(5.5e-3, rel=1e-6)
    assert r["RA_impedance"].error == pytest.approx(5.0 * 0.126e-4)
    assert r["ASR_ratio"].value == pytest.approx(1.0, abs=0.01)
    ctx = AnalysisContext(sample=Sample("cell"), measurements=ctx.measurements,
                          parameters={**params, "impedance_value": ["R_missing"]},
                          store=_Store(rows), label="asr", campaign_dir=Path(mpt).parent)
    from ionscale.errors import InputError

    with pytest.raises(InputError, match="no stored 'R_missing'"):
        spec.func(ctx)
