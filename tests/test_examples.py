"""Every script in ``examples/`` runs to the end (exit 0) in a fresh folder, headless."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))

#: Measured wall times are about 1.5-2.5 s each; none needs the slow mark.
TIMEOUT_S = 120


def test_examples_found():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    # TMPDIR too: scripts that default to the temporary folder write there
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert "Traceback" not in proc.stderr
    # each script saves its figure into the working or temporary folder (both tmp_path here)
    pngs = list(tmp_path.rglob("*.png"))
    assert pngs, proc.stdout[-2000:]
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
