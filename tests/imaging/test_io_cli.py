"""Stack readers, the ``ionscale fibsem`` command and the campaign analysis."""

import argparse
import json

import numpy as np
import pytest
import tifffile

from ionscale.cli_support import reset_statuses
from ionscale.datasets.synthetic_fibsem import (
    render_fibsem,
    sparse_labels,
    truth_on_grid,
    two_phase_volume,
)
from ionscale.errors import InputError
from ionscale.imaging import Image, ImageStack, as_stack, read_stack, write_stack
from ionscale.imaging import cli as fib_cli
from ionscale.io.volume import read_volume, write_volume
from ionscale.microstructure.volume import as_volume


def _main(argv):
    """Run ``ionscale fibsem ...`` through a parser holding only the fibsem verbs."""
    parser = argparse.ArgumentParser(prog="ionscale")
    sub = parser.add_subparsers(dest="command")
    fib_cli.register(sub)
    args = parser.parse_args(argv)
    reset_statuses()
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"ionscale: error: {exc}")
        return 2


def test_stack_roundtrip_keeps_coordinates(tmp_path):
    st = ImageStack(np.random.default_rng(0).random((4, 2, 10, 12)).astype(np.float32),
                    (12e-9, 10e-9), 20e-9, origin=(0, 1e-6, 2e-6), channels=("SE", "BSE"))
    write_stack(st, tmp_path / "s.tif")
    back = read_stack(tmp_path / "s.tif")
    assert back.shape == (4, 10, 12) and back.channels == ("SE", "BSE")
    assert back.pixel_size == pytest.approx((12e-9, 10e-9))
    assert back.slice_thickness == pytest.approx(20e-9)
    assert back.origin == pytest.approx((0, 1e-6, 2e-6))
    assert np.array_equal(back.data, st.data)
    with pytest.raises(InputError, match="exists"):
        write_stack(st, tmp_path / "s.tif")
    img = back[1]
    assert isinstance(img, Image) and img.channel("BSE").shape == (10, 12)
    assert img.crop(2, 6, 3, 9).origin == pytest.approx((1e-6 + 24e-9, 2e-6 + 30e-9))


def test_slice_folder_errors(tmp_path):
    for k in range(4):
        tifffile.imwrite(tmp_path / f"slice_{k:03d}.tif", np.zeros((8, 9), np.uint16),
                         imagej=True, resolution=(100.0, 100.0), metadata={"unit": "um"})
    st = read_stack(tmp_path)
    assert st.shape == (4, 8, 9) and st.pixel_size == pytest.approx((1e-8, 1e-8))
    assert len(st.files) == 4
    (tmp_path / "slice_002.tif").unlink()
    with pytest.raises(InputError, match="slice 2 missing between slice_001.tif and "
                                         "slice_003.tif"):
        read_stack(tmp_path)
    assert len(read_stack(tmp_path, allow_gaps=True)) == 3
    tifffile.imwrite(tmp_path / "slice_002.tif", np.zeros((8, 10), np.uint16))
    with pytest.raises(InputError, match=r"slice_002.tif: field 'slices\[2\]': slice 2 has "
                                         r"shape \(8, 10\)"):
        read_stack(tmp_path)
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((3, 8, 8), np.uint8),
                     photometric="minisblack")
    with pytest.raises(InputError, match="no pixel size"):
        read_stack(tmp_path / "plain.tif")
    assert read_stack(tmp_path / "plain.tif", pixel_size="5 nm").pixel_size == (5e-9, 5e-9)
    with pytest.raises(InputError, match="not found"):
        read_stack(tmp_path / "missing.tif")
    with pytest.raises(InputError, match="slice 1 has shape"):
        as_stack([np.zeros((4, 4)), np.zeros((4, 5))], pixel_size=1e-9)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    d = tmp_path_factory.mktemp("fib")
    truth = two_phase_volume((24, 48, 64), 0.25, 3.0, seed=1)
    syn = render_fibsem(truth, noise=0.05, stripes=0.05, drift_sigma=1.0, seed=2)
    write_stack(syn.stack, d / "raw.tif")
    return d, syn


def _box(b):
    return f"{b[0]}:{b[1]},{b[2]}:{b[3]}"


def test_cli_align_segment_pipeline(raw, capsys):
    d, syn = raw
    common = ["--fiducials", _box(syn.fiducial_region), "--angle", "54", "--roi",
              _box(syn.face_region), "--no-progress"]
    assert _main(["fibsem", "align", str(d / "raw.tif"), *common, "--out",
                  str(d / "aligned.tif"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["type"] == "PreprocessResult" and out["status"] == "ok"
    aligned = read_stack(d / "aligned.tif")
    assert aligned.voxel_size == pytest.approx((20e-9, 20e-9, 20e-9))
    lab = sparse_labels(truth_on_grid(syn, aligned), 0.01, seed=0)
    write_volume(as_volume(lab, aligned.voxel_size, phases={"pore": 1, "solid": 2}),
                 d / "labels.tif")
    assert _main(["fibsem", "segment", str(d / "aligned.tif"), "--labels",
                  str(d / "labels.tif"), "--out", str(d / "seg.tif"), "--json",
                  "--sigmas", "1,2,4", "--trees", "16", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["fraction_pore"]["value"] == pytest.approx(0.25, abs=0.03)
    vol = read_volume(d / "seg.tif")
    assert vol.shape == aligned.shape
    assert _main(["fibsem", "pipeline", str(d / "raw.tif"), *common, "--labels",
                  str(d / "labels.tif"), "--out", str(d / "seg2.tif"), "--trees", "16",
                  "--plot", str(d / "seg.png")]) == 0
    assert (d / "seg.png").stat().st_size > 1000
    assert _main(["fibsem", "destripe", str(d / "raw.tif"), "--out", str(d / "ds.tif"),
                  "--json", "--no-progress"]) == 0
    assert _main(["fibsem", "align", str(d / "raw.tif"), "--angle", "95",
                  "--no-progress"]) == 2
    assert "(0, 90)" in capsys.readouterr().out


def test_campaign_segment_analysis(tmp_path):
    import ionscale.imaging.analyses  # noqa: F401  (registered by the entry point once wired)
    from ionscale.campaign import run_campaign
    from ionscale.datasets.synthetic_fibsem import write_fibsem_demo

    toml = write_fibsem_demo(tmp_path / "data", np.random.default_rng(0))
    (tmp_path / "campaign.toml").write_text('[campaign]\nname = "fib"\n' + toml)
    summary = run_campaign(tmp_path / "campaign.toml", progress=False, report=False)
    assert summary.failed == () and len(summary.ran) == 1, str(summary)
    vol = read_volume(tmp_path / "segmented" / "pellet_segmented.tif")
    assert vol.phases == {"pore": 1, "solid": 2} or vol.labels.max() == 2
