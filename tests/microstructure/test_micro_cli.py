"""``ionscale micro`` end to end on small volumes written like measured ones."""

import json

import numpy as np
import pytest

from ionscale.cli import main
from ionscale.io.volume import write_volume


@pytest.fixture()
def channel_tif(tmp_path):
    """A straight pore channel (label 0) along z through solid (label 1), 20 nm voxels."""
    labels = np.ones((16, 12, 12), np.uint8)
    labels[:, 4:8, 4:8] = 0
    path = tmp_path / "channel.tif"
    write_volume(labels, path, voxel_size=20e-9)
    return path


def test_metrics_of_a_straight_channel(channel_tif, capsys):
    rc = main(["micro", "metrics", str(channel_tif), "--phase", "pore", "--voxel", "20 nm",
               "--only", "fractions,percolation,tortuosity,geodesic", "--json",
               "--no-progress"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    v = out["values"]
    assert v["fraction"]["value"] == pytest.approx(16 / 144)
    assert v["tau"]["value"] == pytest.approx(1.0, abs=1e-8)
    assert v["tau_geometric"]["value"] == pytest.approx(1.0, abs=1e-9)
    assert v["through_fraction"]["value"] == pytest.approx(1.0)


def test_heavy_commands_one_at_a_time(channel_tif, capsys, tmp_path):
    assert main(["micro", "tortuosity", str(channel_tif), "--phase", "0", "--axis", "x"]) == 0
    assert "inf" in capsys.readouterr().out  # the channel does not reach the x faces
    png = tmp_path / "lt.png"
    assert main(["micro", "thickness", str(channel_tif), "--phase", "0", "--measure",
                 "diameter", "--method", "exact", "--plot", str(png)]) == 0
    assert "diameter" in capsys.readouterr().out and png.stat().st_size > 1000
    assert main(["micro", "psd", str(channel_tif), "--phase", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["values"]["count"]["value"] == 1
    assert main(["micro", "memory", "1024,1024,1024", "--metrics", "fractions,tortuosity"]) == 0
    assert "GiB" in capsys.readouterr().out


def test_bad_input_is_a_clear_error(channel_tif, capsys):
    assert main(["micro", "tortuosity", str(channel_tif), "--phase", "0", "--axis", "w"]) == 2
    assert "--axis" in capsys.readouterr().err
    assert main(["micro", "tortuosity", str(channel_tif), "--phase", "7"]) == 2
    assert "no voxel" in capsys.readouterr().err
    assert main(["micro", "metrics", str(channel_tif) + ".missing", "--phase", "0"]) == 2


def test_a_folder_of_slices_runs_every_metric(tmp_path):
    """A volume read from a folder (no single file to hash) still gets its results."""
    import tifffile

    from ionscale.io.volume import read_volume
    from ionscale.microstructure import microstructure_metrics

    labels = np.ones((6, 10, 10), np.uint8)
    labels[:, 3:7, 3:7] = 0
    for i, plane in enumerate(labels):
        tifffile.imwrite(tmp_path / f"s{i:02d}.tif", plane)
    volume = read_volume(tmp_path, voxel_size="1 um", phases={"pore": 0})
    m = microstructure_metrics(volume, 0, parts=("fractions", "thickness", "pores"))
    assert m["fraction"].value == pytest.approx(16 / 100)
    assert m.parts["pores"]["count"].value == 1
    assert "phase pore" in m.parts["thickness"].title  # label 0 shown by its name
    assert m.provenance.inputs == ()


def test_tortuosity_precision_and_memory_figures(channel_tif, capsys):
    """Issue 17: --precision reaches the solver; micro memory states τ's single and double
    figures and the chunked estimates."""
    assert main(["micro", "tortuosity", str(channel_tif), "--phase", "0", "--solver", "cg-mg",
                 "--precision", "single", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["tau"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert main(["micro", "memory", "1024,1024,1024"]) == 0
    lines = {ln.split()[0]: float(ln.split()[1]) for ln in capsys.readouterr().out.splitlines()}
    assert lines["tortuosity"] < 24 < lines["tortuosity_double"]
    assert main(["micro", "memory", "1024,1024,1024", "--chunks", "256", "--metrics",
                 "labels,tortuosity"]) == 0
    text = capsys.readouterr().out
    assert "chunked" in text and "whole volume in memory" in text
    assert main(["micro", "memory", "10,x,3"]) == 2


def test_thickness_tolerance_reaches_the_fast_method(tmp_path, capsys):
    """``--tolerance 0`` makes ``fast`` the exact map; a tolerance outside [0, 1) is an error
    that names the field."""
    from ionscale.datasets.synthetic_volumes import blobs

    path = tmp_path / "blobs.tif"
    write_volume(blobs((24, 26, 28), 0.5, 1.0, seed=4).astype(np.uint8), path,
                 voxel_size=1e-6)

    def mean(*extra):
        assert main(["micro", "thickness", str(path), "--phase", "1", "--measure", "radius",
                     "--json", "--no-progress", *extra]) == 0
        return json.loads(capsys.readouterr().out)["values"]["mean"]["value"]

    exact = mean("--method", "exact")
    assert mean("--tolerance", "0") == exact
    assert mean() < exact  # the default drops spheres: a little below, never above
    assert main(["micro", "thickness", str(path), "--phase", "1", "--tolerance", "1.5"]) == 2
    assert "tolerance" in capsys.readouterr().err
