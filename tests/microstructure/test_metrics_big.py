"""``microstructure_metrics`` on big-volume inputs (issue 17): zarr stores, progress per part."""

import numpy as np
import pytest

from ionscale.datasets.synthetic_volumes import blobs
from ionscale.microstructure import as_volume, microstructure_metrics

PARTS = ("fractions", "slices", "percolation", "tortuosity", "geodesic", "pores")


@pytest.fixture(scope="module")
def labels():
    return blobs((40, 36, 32), 0.4, seed=2).astype(np.uint8)


def test_zarr_store_gives_the_in_memory_values(labels, tmp_path):
    zarr = pytest.importorskip("zarr")
    da = pytest.importorskip("dask.array")
    path = str(tmp_path / "v.zarr")
    da.from_array(labels, chunks=16).to_zarr(path)
    store = zarr.open(path, mode="r")
    ref = microstructure_metrics(as_volume(labels, 1e-6), 1, parts=PARTS)
    got = microstructure_metrics(as_volume(store, 1e-6), 1, parts=PARTS)
    assert set(got.values) == set(ref.values)
    for key, value in ref.values.items():
        assert got[key].value == pytest.approx(value.value, rel=1e-12, abs=1e-300), key
    assert got.status == ref.status


def test_progress_shows_every_part(labels, capsys):
    m = microstructure_metrics(labels, 1, voxel_size=1e-6, parts=("fractions", "tortuosity"),
                               progress=True)
    assert m["tau"].value > 1
    err = capsys.readouterr().err
    assert "micro metrics: fractions" in err and "micro metrics: tortuosity" in err
