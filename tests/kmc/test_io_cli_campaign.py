"""Model files, the ``ionscale kmc`` commands, campaign analyses, Arrhenius series, memory."""

import json
import math

import numpy as np
import pytest

from ionscale.errors import InputError
from ionscale.kmc import (
    Model,
    Species,
    arrhenius_series,
    builtin_lattice,
    demo_model_toml,
    estimate_memory,
    read_model,
    simulate,
    write_demo_model,
)
from ionscale.kmc.cli import main
from ionscale.units import BOLTZMANN, EV


def test_demo_models_read_back(tmp_path):
    for kind in ("lattice-gas", "walker", "couple"):
        model, settings = read_model(write_demo_model(tmp_path / f"{kind}.toml", kind))
        assert isinstance(model, Model) and settings["seed"] == 1
    model, settings = read_model(tmp_path / "lattice-gas.toml")
    assert model.temperature == 600.0
    assert model.interactions[("Li", "Li")] == pytest.approx(0.02 * EV)
    assert settings["events"] == 400000 and settings["equilibrate"] == 50000
    m2, _ = read_model(tmp_path / "lattice-gas.toml", temperature=450.0)
    assert m2.temperature == 450.0


@pytest.mark.parametrize(("text", "field"), [
    ('temperature = "600 K"\n[[species]]\nname = "A"\nEa = 0.3\n', "species[0].Ea"),
    ('temperature = "600 K"\n[lattice]\ntype = "sc"\nshap = 4\n[[species]]\nname = "A"\n',
     "lattice.shap"),
    ('[[species]]\nname = "A"\n', "temperature"),
    ('temperature = "600 K"\n[[species]]\nname = "A"\n[run]\nevnts = 3\n', "run.evnts"),
    ('temperature = "600 K"\n[lattice]\ntype = "hcp"\n[[species]]\nname = "A"\n',
     "lattice.type"),
])
def test_model_file_errors_name_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_model(path)
    assert info.value.field == field and str(path) in str(info.value)


def test_cli_run_json_plot_and_profiles(tmp_path, capsys):
    model = write_demo_model(tmp_path / "walker.toml", "walker")
    png = tmp_path / "msd.png"
    rc = main(["run", str(model), "--events", "30000", "--json", "--plot", str(png),
               "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["D_tracer"]["unit"] == "m^2/s"
    assert out["provenance"]["inputs"][0]["path"].endswith("walker.toml")
    assert png.read_bytes()[:4] == b"\x89PNG"
    couple = write_demo_model(tmp_path / "couple.toml", "couple")
    prof = tmp_path / "profiles.json"
    assert main(["run", str(couple), "--profiles", str(prof), "--no-progress"]) == 0
    data = json.loads(prof.read_text())
    assert data["species"] == ["vacancy", "A", "B"] and len(data["times"]) == 3


def test_cli_other_verbs_and_errors(tmp_path, capsys):
    assert main(["lattices"]) == 0
    assert "diamond" in capsys.readouterr().out
    assert main(["demo-model", str(tmp_path / "m.toml"), "--kind", "walker"]) == 0
    assert (tmp_path / "m.toml").exists()
    capsys.readouterr()
    assert main(["correlation", "square", "--events", "5e4", "--no-progress"]) == 0
    assert "f =" in capsys.readouterr().out
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_campaign_kmc_run_and_arrhenius(tmp_path):
    import ionscale.kmc.analyses  # noqa: F401  (registers kmc.* before integration)
    import ionscale.transport.analyses  # noqa: F401
    from ionscale.campaign import run_campaign
    from ionscale.store import Store

    write_demo_model(tmp_path / "walker.toml", "walker")
    meas = "\n".join(
        f'[[samples.measurements]]\nname = "T{T}"\ntechnique = "kmc-model"\n'
        f'files = ["walker.toml"]\nconditions = {{ temperature = "{T} K" }}\n'
        for T in (400, 500, 600))
    ana = "\n".join(
        f'[[samples.analyses]]\nmethod = "kmc.run"\nmeasurements = ["T{T}"]\n'
        f'parameters = {{ events = 40000, blocks = 64 }}\n' for T in (400, 500, 600))
    text = ('[campaign]\nname = "kmc"\n[[samples]]\nname = "walker"\n' + meas + ana
            + '[[samples.analyses]]\nmethod = "transport.arrhenius"\n'
              'parameters = { from_method = "kmc.run", value = "D_tracer" }\n')
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(text, encoding="utf-8")
    summary = run_campaign(campaign, progress=False, report=False)
    assert not summary.failed, summary.failed
    with Store(summary.database) as db:
        ea = [r for r in db.results(method="transport.arrhenius") if r["name"] == "Ea"][0]
        d = db.results(method="kmc.run", name="D_tracer")
    assert len(d) == 3 and all(r["temperature_K"] in (400.0, 500.0, 600.0) for r in d)
    assert abs(ea["value"] / EV - 0.2) < 3 * ea["error"] / EV + 0.01


def test_arrhenius_series_recovers_the_barrier():
    lat = builtin_lattice("square", 16, a=3e-10)
    model = Model(lat, [Species("Li", count=1, nu=1e12, Ea="0.25 eV")], 500.0)
    series = arrhenius_series(model, [400, 500, 650], events=30000, blocks=64, seed=4)
    T, D, err = series.table("D_tracer")
    assert list(T) == [400, 500, 650] and np.all(err > 0)
    expected = 1e12 * np.exp(-0.25 * EV / (BOLTZMANN * T)) * (3e-10) ** 2  # Γ a²/(2d)
    assert np.all(np.abs(D - expected) < 4 * err)
    fit = series.arrhenius("D_tracer")
    assert abs(fit["Ea"].value / EV - 0.25) < 3 * fit["Ea"].error / EV
    assert series.plot() is not None
    assert math.isclose(series.results[1].temperature, 500.0)


def test_memory_estimate_refuses_a_run_that_cannot_fit():
    lat = builtin_lattice("sc", 20)
    model = Model(lat, [Species("A", fraction=0.5)], 300.0)
    need = estimate_memory(model, samples=513, tracked=4000)
    assert need["records"] >= 513 * 4000 * 3 * 8
    with pytest.raises(InputError, match="MiB") as info:
        simulate(model, events=100, max_memory=1e6)
    assert info.value.field == "track"
    assert "[lattice]" in demo_model_toml()


def test_bad_model_input():
    lat = builtin_lattice("square", 8)
    with pytest.raises(InputError, match="temperature"):
        Model(lat, [Species("A", count=1)], -3.0)
    with pytest.raises(InputError, match="interaction"):
        Model(lat, [Species("A", count=1)], 300.0, interactions={("A", "Z"): 0.1})
    with pytest.raises(InputError, match="free"):
        simulate(Model(lat, [Species("A", count=100)], 300.0), events=10)
    with pytest.raises(InputError, match="no duration"):
        simulate(Model(lat, [Species("A", count=1)], 300.0))
    with pytest.raises(InputError, match="jump type"):
        Model(lat, [Species("A", count=1, nu={"xx": 1.0})], 300.0).tables()


def test_series_values_are_stored_at_their_own_temperatures(tmp_path):
    from ionscale.store import Store

    model = Model(builtin_lattice("sc", 6, a=3e-10),
                  [Species("Li", fraction=0.5, Ea="0.3 eV")], 600.0)
    series = arrhenius_series(model, [500.0, 700.0], events=3e4, blocks=48, lags=4, seed=1)
    assert "at 500 K" in series.summary() and "at 700 K" in series.summary()
    with Store(tmp_path / "x.sqlite") as store:
        store.add_sample("s")
        store.save_analysis("s", "kmc.series", series, cache_key="k",
                            conditions={"temperature": 600.0})
        rows = {r["name"]: r for r in store.results()}
    assert rows["D_tracer@500K"]["temperature_K"] == 500.0
    assert rows["D_tracer@700K"]["temperature_K"] == 700.0
    assert rows["D_tracer@500K"]["symbol"] == rows["D_tracer@700K"]["symbol"]


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-32"),                       # read (byte-order mark)
    lambda t: t.encode("utf-8").replace(b"demo", b"d\xe5mo", 1),   # stray Latin-1 byte
    lambda t: b"\x00\x01\x02binary" + t.encode(),       # binary: an InputError
])
def test_model_file_encodings_never_crash(tmp_path, encode):
    """Found by the fuzz run: a model file that is not UTF-8 raised UnicodeDecodeError."""
    path = tmp_path / "m.toml"
    path.write_bytes(encode(demo_model_toml("walker")))
    try:
        model, _ = read_model(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        assert model.temperature == 500.0
