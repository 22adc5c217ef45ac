"""Correlative EDS/SIMS: the demo volume end to end, readers, CLI and campaign (issue 15)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ionscale.datasets.synthetic_correlative import (
    LI6_FRACTION,
    composite_volume,
    render_correlative,
    truth_fractions,
    write_correlative_demo,
)
from ionscale.errors import InputError
from ionscale.imaging.eds import read_bcf, read_eds_map, read_h5oina, read_sims_map
from ionscale.imaging.fusion import fuse_slices
from ionscale.imaging.phases import identify_phases, phase_chemistry


@pytest.fixture(scope="module")
def demo():
    truth = composite_volume((4, 1000, 1000), seed=1)
    syn = render_correlative(truth, seed=2)
    fused = fuse_slices(syn.eds, syn.sims, eds_channels=["Zr", "Co"],
                        sims_channels=["6Li", "7Li"])
    return syn, fused


def test_fused_volume_is_registered_and_finite(demo):
    syn, fused = demo
    assert fused.status in ("ok", "warning") and fused.stack is not None
    assert fused["n_registered"].value == len(syn.eds)
    st = fused.stack
    assert st.voxel_size == pytest.approx((60e-9, 81.4e-9, 81.4e-9))
    assert np.all(np.isfinite(st.data)) and st.data.min() >= 0
    # SIMS corners found within half an EDS pixel of the truth (fused frame = EDS slice 0)
    for k, reg in enumerate(fused.registrations):
        err = (np.asarray(reg.origin) - syn.sims_true_origins[k]) / 81.4e-9
        assert np.abs(err).max() < 0.5, (k, err)
    # slice-to-slice drift of the EDS field recovered
    true_drift = syn.eds_true_origins - syn.eds_true_origins[0]
    assert np.abs(-fused.drift - true_drift).max() / 81.4e-9 < 0.5


def test_demo_recovers_phase_fractions_and_per_phase_li_fraction(demo):
    syn, fused = demo
    vol = identify_phases(fused.stack)
    assert vol.shape == fused.stack.shape and vol.voxel_size[0] == pytest.approx(60e-9)
    chem = phase_chemistry(fused.stack, vol)
    truth = truth_fractions(syn, fused.stack)
    for p, f in truth.items():
        assert abs(chem[f"fraction_{p}"].value - f) < 0.02, (p, chem[f"fraction_{p}"], f)
    for p, f6 in LI6_FRACTION.items():
        v = chem[f"6Li_{p}"]
        assert abs(v.value - f6) < 2 * v.error, (p, v, f6)
        assert 0 < v.error < 0.01
    # phases without Li: a warning, never NaN or inf among the values
    assert all(np.all(np.isfinite(v.value)) for v in chem.values.values())
    assert chem.status == "warning"
    assert chem["contact_LLZTO_LCO"].value > 0


def test_kmeans_phases_name_clusters_after_markers(demo):
    _, fused = demo
    vol = identify_phases(fused.stack, method="kmeans", n_phases=4)
    assert set(vol.phases) == {"LLZTO", "LCO", "Al2O3", "carbon"}


def test_unknown_element_in_rules(demo):
    _, fused = demo
    with pytest.raises(InputError, match="unknown element"):
        identify_phases(fused.stack, {"X": "Qq"})
    with pytest.raises(InputError, match="no channel"):
        identify_phases(fused.stack, {"glass": "Si"})


def test_fusion_reports_failure_when_nothing_overlaps(demo):
    syn, _ = demo
    from ionscale.imaging.maps import MapSeries

    eds = MapSeries(syn.eds.maps[:2], 60e-9)
    # SIMS maps of another sample: no shared structure, nothing may be fused
    other = composite_volume((2, 1000, 1000), seed=77)
    foreign = render_correlative(other, n_slices=2, seed=3).sims
    res = fuse_slices(eds, foreign, eds_channels=["Zr", "Co"], align_slices=False)
    assert res.status == "failed" and res.stack is None
    assert any("registered" in d.message for d in res.diagnostics)
    assert all(not r.success for r in res.registrations)


# ------------------------------------------------------------------ readers


def test_h5oina_reader(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "map.h5oina"
    ny, nx = 6, 9
    rng = np.random.default_rng(0)
    zr = rng.poisson(5, (ny, nx)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["Format Version"] = "5.0"
        f["Index"] = ["1"]
        h = f.create_group("1/EDS/Header")
        h["X Cells"], h["Y Cells"] = np.array([nx], np.int32), np.array([ny], np.int32)
        h["X Step"], h["Y Step"] = np.array([0.0814], np.float32), np.array([0.0814],
                                                                              np.float32)
        h["Tilt Angle"] = np.array([math.radians(54)], np.float32)
        d = f.create_group("1/EDS/Data")
        d["Live Time"] = np.full(ny * nx, 0.5, np.float32)
        d["Window Integral/Zr La1"] = (zr / 0.5).ravel()
        d["Window Integral/Co La1"] = np.zeros(ny * nx, np.float32)
    m = read_h5oina(path)
    assert set(m.channels) == {"Zr La1", "Co La1"}
    assert m.pixel_size == pytest.approx((81.4e-9, 81.4e-9))
    assert np.allclose(m.channel("Zr La1"), zr)
    assert m.metadata["angles"]["stage_tilt"] == pytest.approx(54, abs=1e-4)
    assert read_eds_map(path).channels == m.channels
    with pytest.raises(InputError, match="no EDS group"):
        read_h5oina(path, slice_name="2")


def test_eds_text_and_tiff_readers_and_bad_input(tmp_path):
    import tifffile

    a = np.arange(12.0).reshape(3, 4)
    (tmp_path / "map_Zr.txt").write_text("\n".join(" ".join(map(str, r)) for r in a))
    (tmp_path / "map_Co.txt").write_text("\n".join(",".join(map(str, r)) for r in a[::-1]))
    m = read_eds_map([tmp_path / "map_Zr.txt", tmp_path / "map_Co.txt"],
                     pixel_size="81.4 nm")
    assert m.channels == ("Zr", "Co") and np.allclose(m.channel("Co"), a[::-1])
    with pytest.raises(InputError, match="pixel size"):
        read_eds_map({"Zr": tmp_path / "map_Zr.txt"})
    (tmp_path / "bad.txt").write_text("1 2 3\n4 5\n")
    with pytest.raises(InputError, match="rows of different lengths"):
        read_eds_map({"Zr": tmp_path / "bad.txt"}, pixel_size="81.4 nm")
    (tmp_path / "wide.txt").write_text("1 2 3 4 5\n1 2 3 4 5\n")
    with pytest.raises(InputError, match="shape"):
        read_eds_map({"Zr": tmp_path / "map_Zr.txt", "Co": tmp_path / "wide.txt"},
                     pixel_size="81.4 nm")
    with pytest.raises(InputError, match="unknown element"):
        read_eds_map({"Zq": tmp_path / "map_Zr.txt"}, pixel_size="81.4 nm")
    tifffile.imwrite(tmp_path / "multi.tif", np.stack([a, a * 2, a * 3]).astype(np.uint16))
    mm = read_eds_map(tmp_path / "multi.tif", elements=["Zr", "Co", "Al"],
                      pixel_size="81.4 nm")
    assert mm.channels == ("Zr", "Co", "Al") and mm.channel("Al")[2, 3] == 33
    with pytest.raises(InputError, match="element names"):
        read_eds_map(tmp_path / "multi.tif", elements=["Zr"], pixel_size="81.4 nm")


def test_sims_reader_and_bcf_message(tmp_path):
    a = np.array([[0, 1, 2], [3, 4, 5]])
    (tmp_path / "li6.txt").write_text("\n".join(" ".join(map(str, r)) for r in a))
    (tmp_path / "li7.txt").write_text("\n".join(" ".join(map(str, r)) for r in a * 10))
    m = read_sims_map({"6Li": tmp_path / "li6.txt", "7Li": tmp_path / "li7.txt"},
                      pixel_size="72 nm", origin=("1 um", "2 um"))
    assert m.channels == ("6Li", "7Li") and m.origin == pytest.approx((1e-6, 2e-6))
    assert m.metadata["kind"] == "SIMS"
    with pytest.raises(InputError, match="pixel size"):
        read_sims_map({"6Li": tmp_path / "li6.txt"})
    try:
        import rsciio  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="pip install rosettasciio"):
            read_bcf(tmp_path / "x.bcf")


# ------------------------------------------------------------------ CLI and campaign


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cordemo")
    toml = write_correlative_demo(root / "data", np.random.default_rng(5), n_slices=3)
    return root, toml


def test_cli_correlate_phases_json(demo_files, capsys):
    from ionscale.cli import main

    root, _ = demo_files
    eds = sorted(str(p) for p in (root / "data" / "correlative").glob("eds_*.tif"))
    sims = sorted(str(p) for p in (root / "data" / "correlative").glob("sims_*.tif"))
    rc = main(["correlate", "phases", "--eds", *eds, "--sims", *sims, "--eds-elements",
               "Zr,Co,Al,C", "--sims-pixel-size", "72 nm", "--slice-thickness", "60 nm",
               "--eds-origin", "22 um,4 um", "--sims-origin", "1 um,1 um", "--eds-channels",
               "Zr,Co", "--no-progress", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["type"] == "PhaseChemistry"
    assert abs(out["values"]["6Li_LLZTO"]["value"] - 0.30) < 0.01


@pytest.mark.slow
def test_campaign_runs_the_demo_sample(demo_files):
    from ionscale.campaign import run_campaign

    root, toml = demo_files
    path = root / "campaign.toml"
    path.write_text('[campaign]\nname = "correlative"\ndatabase = "r.sqlite"\n'
                    'report = "report.html"\n' + toml)
    summary = run_campaign(path, progress=False)
    text = str(summary)
    assert "failed 0" in text, text
    assert (root / "report.html").exists()
