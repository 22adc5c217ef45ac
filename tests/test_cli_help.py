"""Help that teaches and a CLI that answers at once (issue 11, items 7-8)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from ionscale.cli import main
from ionscale.tracer.grain_boundary import segments_from


def test_help_does_not_import_the_heavy_packages():
    code = ("import sys, ionscale.cli as c; c.build_parser(); "
            "heavy = [m for m in ('numba', 'skimage', 'scipy.stats', 'ionscale.tracer.numerical',"
            " 'ionscale.microstructure.tortuosity', 'ionscale.impedance.fit', 'matplotlib') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_help_is_quick():
    # generous bound for a loaded CI machine; benchmarks/bench_startup.py measures the target
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ionscale.cli", "--help"], capture_output=True,
                   check=True)
    assert time.perf_counter() - t0 < 3.0


def test_micro_labels_lists_labels_and_counts(tmp_path, capsys):
    tifffile = pytest.importorskip("tifffile")
    v = np.zeros((8, 10, 12), np.uint8)
    v[1:] = 85
    path = tmp_path / "v.tif"
    tifffile.imwrite(path, v)
    assert main(["micro", "labels", str(path), "--voxel", "20 nm", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["labels"]
    assert [(r["label"], r["voxels"]) for r in rows] == [(0, 120), (85, 840)]
    assert main(["micro", "tortuosity", str(path), "--voxel", "20 nm", "--phase", "3"]) == 2
    assert "labels present: 0, 85" in capsys.readouterr().err


def test_micro_metrics_parts_are_checked_and_listed(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["micro", "metrics", "--help"])
    assert "tortuosity, geodesic" in capsys.readouterr().out
    assert main(["micro", "metrics", str(tmp_path / "x.tif"), "--only", "tortuosty"]) == 2
    assert "unknown part(s) ['tortuosty']" in capsys.readouterr().err


def test_segments_one_format_everywhere(tmp_path):
    rows = [[7.5, 6.3, 7.5, 24.3], [7.5, 15.4, 7.5, 33.4, 20.0]]
    path = tmp_path / "seg.txt"
    path.write_text("# x0 y0 x1 y1 [y_boundary]\n7.5 6.3 7.5 24.3 nan\n7.5 15.4 7.5 33.4 20\n")
    pairs = [((7.5, 6.3), (7.5, 24.3)), ((7.5, 15.4), (7.5, 33.4))]
    a, ba = segments_from(rows, "um")
    b, bb = segments_from(path, "um")
    c, bc = segments_from(pairs, "um")
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c)
    assert ba == bb and ba[0] is None and ba[1] == pytest.approx((7.5e-6, 20e-6))
    assert bc is None
    from ionscale.errors import InputError

    with pytest.raises(InputError, match=r"segments\[0\]"):
        segments_from([[1, 2, 3]], "um")


def test_run_help_describes_the_campaign_format(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "[[samples.analyses]]" in out and "ionscale methods" in out and "units required" in out
