"""The bundled demo campaign: it runs end to end and recovers the physics it was built with."""

import pytest

from ionscale.campaign import load_campaign, run_campaign
from ionscale.cli import main
from ionscale.datasets.demo import ANNEAL_TEMPERATURES_C, DEMO_HAVEN, write_demo_files
from ionscale.datasets.synthetic import LLTO, llto_diffusivities
from ionscale.store import Store
from ionscale.units import EV


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    path = write_demo_files(folder)
    n = sum(len(v) for v in load_campaign(path).analyses.values())
    summary = run_campaign(path, progress=False)
    store = Store(summary.database, create=False)
    yield {"path": path, "summary": summary, "db": store, "n": n}
    store.close()


def value(db, method, name, label=None, sample=None):
    rows = [r for r in db.results(method=method, name=name, sample=sample)
            if label is None or r["label"] == label]
    assert len(rows) == 1, [(r["label"], r["value"]) for r in rows]
    return rows[0]


def test_all_analyses_ran(demo):
    s, n = demo["summary"], demo["n"]
    assert n >= 13
    assert s.failed == ()
    assert len(s.ran) == n and s.skipped == ()
    assert s.report.is_file() and s.report.stat().st_size > 50_000
    db = demo["db"]
    assert len(db.analyses()) == demo["n"]
    assert all(db.figures(a["id"]) for a in db.analyses())
    html = s.report.read_text(encoding="utf-8")
    # one figure per analysis, the multi-technique Arrhenius overviews of the two samples with
    # diffusivities at several temperatures (LLTO; the kMC lattice gas, whose series values
    # are stored at their own temperatures) and the Arrhenius plot of all samples
    assert html.count('src="data:image/png;base64,') == n + 3
    assert 'alt="diffusivities of LLTO (synthetic), all techniques"' in html
    assert 'alt="diffusivities of Li lattice gas (kinetic Monte Carlo), all techniques"' in html
    assert "http://" not in html and "https://" not in html


def test_storage_deff(demo):
    """D*_eff from 2 and 6 weeks of storage at 22 °C: the series-model D_eff that made it."""
    row = value(demo["db"], "tracer.evolve", "D",
                label="D*_eff from 2 and 6 weeks of storage at 22 °C")
    truth = float(llto_diffusivities(LLTO["T_ref"])["D_eff"])
    assert row["value"] == pytest.approx(truth, rel=0.10)
    assert abs(row["value"] - truth) < 3 * row["error"]
    assert row["temperature_K"] == pytest.approx(295.15)


@pytest.mark.parametrize("tc", ANNEAL_TEMPERATURES_C)
def test_anneal_deff(demo, tc):
    row = value(demo["db"], "tracer.evolve", "D", label=f"D*_eff from anneal at {tc:g} °C")
    assert row["temperature_K"] == pytest.approx(tc + 273.15)
    truth = float(llto_diffusivities(tc + 273.15)["D_eff"])
    assert row["value"] == pytest.approx(truth, rel=0.05)


def test_arrhenius_of_deff(demo):
    row = value(demo["db"], "transport.arrhenius", "Ea", label="Arrhenius of D*_eff")
    ea = row["value"] / EV
    assert 0.35 < ea < 0.45
    assert row["field_unit"] == "eV" and row["field_value"] == pytest.approx(ea)


def test_arrhenius_of_nmr_table(demo):
    row = value(demo["db"], "transport.arrhenius", "Ea", label="Arrhenius of D_bulk (NMR table)")
    assert abs(row["value"] - LLTO["Ea_bulk"] * EV) < 3 * row["error"]


def test_haven_ratio(demo):
    db = demo["db"]
    hr = value(db, "transport.haven", "H_R")
    assert abs(hr["value"] - DEMO_HAVEN) < 3 * hr["error"]
    assert 0 < hr["error"] < 0.2 * hr["value"]
    mean = value(db, "transport.haven", "H_R_mean")
    assert abs(mean["value"] - DEMO_HAVEN) < 3 * mean["error"]
    # both grain-boundary lines have the grain-boundary activation energy
    for name in ("Ea_tracer", "Ea_sigma"):
        ea = value(db, "transport.haven", name)
        assert ea["value"] / EV == pytest.approx(LLTO["Ea_gb"], abs=0.03)


def test_grain_boundaries(demo):
    db = demo["db"]
    g = value(db, "tracer.gb", "D_gb_over_delta_weighted")
    assert abs(g["value"] - LLTO["D_gb_over_delta"]) < 3 * g["error"]
    assert value(db, "tracer.gb", "n_boundaries")["value"] >= 30
    series = value(db, "transport.series", "D_eff")
    truth = float(llto_diffusivities(LLTO["T_ref"])["D_eff"])
    assert abs(series["value"] - truth) < 2 * series["error"]


def test_exchange_profile(demo):
    row = value(demo["db"], "tracer.profile", "D", label="erfc fit after 110 h exchange")
    truth = 3.0 * float(llto_diffusivities(LLTO["T_ref"])["D_eff"])  # the demo's exchange D
    assert abs(row["value"] - truth) < 3 * row["error"]


def test_real_18o_exchange_fit(demo):
    db = demo["db"]
    d = value(db, "tracer.profile", "D", sample="De Souza 18O exchange (real data)")
    assert d["value"] == pytest.approx(4.0e-12, rel=0.05)
    assert 0 < d["error"] < 0.05 * d["value"]
    k = value(db, "tracer.profile", "k", sample="De Souza 18O exchange (real data)")
    assert k["unit"] == "m/s" and k["value"] > 0


def test_demo_rerun_skips_everything(demo, capsys):
    assert main(["run", str(demo["path"]), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"ran 0, skipped {demo['n']} unchanged, failed 0" in out
    assert len(demo["db"].analyses()) == demo["n"]


def test_nmr_powder_fits_recover_the_series(demo):
    """Each PFG decay gives D_mean = D_bulk(T) and D_a/D_c ≈ 18 (seed 001) within 3σ."""
    from ionscale.datasets.demo import PFG_TEMPERATURES_K
    from ionscale.datasets.synthetic import LLTO_NMR, llto_pfg_diffusivities

    rows = demo["db"].results(method="nmr.pfg", name="D_mean")
    rows = [r for r in rows if "anisotropic?" not in r["label"]]
    assert sorted(round(r["temperature_K"], 2) for r in rows) == list(PFG_TEMPERATURES_K)
    for r in rows:
        truth = llto_pfg_diffusivities(r["temperature_K"])["D_mean"]
        assert abs(r["value"] - truth) < 3 * r["error"]
    ratios = demo["db"].results(method="nmr.pfg", name="anisotropy")
    for r in ratios:
        assert abs(r["value"] - LLTO_NMR["anisotropy"]) < 3 * r["error"]


def test_nmr_model_selection_and_arrhenius(demo):
    comparison = demo["db"].results(method="nmr.pfg", name="p_value")
    assert len(comparison) == 1 and comparison[0]["value"] < 0.01
    ea = value(demo["db"], "transport.arrhenius", "Ea", label="Arrhenius of D_NMR (powder mean)")
    assert abs(ea["value"] - LLTO["Ea_bulk"] * EV) < 3 * ea["error"]


def test_bpp_and_bulk_haven(demo):
    from ionscale.datasets.demo import DEMO_HAVEN_BULK
    from ionscale.datasets.synthetic import LLTO_NMR

    tau0 = value(demo["db"], "nmr.bpp", "tau0")
    ea = value(demo["db"], "nmr.bpp", "Ea")
    assert abs(tau0["value"] - LLTO_NMR["tau0"]) < 3 * tau0["error"]
    assert abs(ea["value"] - LLTO_NMR["Ea_tau"] * EV) < 3 * ea["error"]
    hr = value(demo["db"], "transport.haven_bulk", "H_R_mean")
    assert abs(hr["value"] - DEMO_HAVEN_BULK) < 3 * hr["error"]


def test_impedance_series_recovers_the_pellet(demo):
    """Synthetic pellet: Ea of bulk and grain boundaries from one batch and from stored fits."""
    from ionscale.datasets.synthetic_eis import PELLET

    for name, truth in (("Ea_bulk", PELLET["Ea_bulk"]), ("Ea_gb", PELLET["Ea_gb"])):
        row = value(demo["db"], "eis.series", name, sample="Pellet (synthetic impedance)")
        assert abs(row["value"] / EV - truth) < max(3 * row["error"] / EV, 2e-3)
    row = value(demo["db"], "transport.arrhenius", "Ea",
                label="Arrhenius of the stored bulk conductivities")
    assert row["value"] / EV == pytest.approx(PELLET["Ea_bulk"], abs=2e-3)


def test_real_pellet_and_interface_growth(demo):
    row = value(demo["db"], "eis.series", "Ea_bulk", sample="Adediwura pellet s04147 (real data)")
    assert 0.5 < row["value"] / EV < 0.7
    row = value(demo["db"], "eis.evolution", "t_break")
    assert row["value"] / 3600 == pytest.approx(49.0, rel=0.03)


def test_microstructure_of_the_demo_volumes(demo):
    row = value(demo["db"], "micro.tortuosity", "tau")
    assert row["value"] == pytest.approx(2.0776, rel=5e-3)  # TauFactor: 2.07763
    row = value(demo["db"], "micro.metrics", "fraction",
                label="Pores: every metric (transport along y)")
    assert row["value"] == pytest.approx(0.105, abs=1e-3)
