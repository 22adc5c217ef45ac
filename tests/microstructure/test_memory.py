"""Memory estimates per metric and the check before a run."""

import warnings

import numpy as np
import pytest

from ionscale.errors import InputError
from ionscale.microstructure import memory
from ionscale.microstructure.memory import (
    MODELS,
    MemoryWarning,
    available_memory,
    check_memory,
    estimate_memory,
)
from ionscale.microstructure.memory_measure import measure_memory

GIB = 2**30
REQUIRED = ("fractions", "slice_fractions", "rev", "labels", "percolation", "local_thickness",
            "local_thickness_fast", "tortuosity", "geodesic", "psd")


def test_every_metric_has_a_model_and_aliases_resolve():
    assert set(REQUIRED) <= set(MODELS)
    assert estimate_memory((64, 64, 64), "tortuosity_factor") == \
        estimate_memory((64, 64, 64), "tortuosity")
    assert estimate_memory((64, 64, 64), "Local-Thickness") == \
        estimate_memory((64, 64, 64), "local_thickness")


@pytest.mark.parametrize("metric", REQUIRED)
def test_estimate_scales_with_voxels_and_input(metric):
    m = MODELS[metric]
    big, small = (512, 512, 512), (256, 512, 512)
    n = 512**3
    # beyond the counting slab the estimate is linear in N: a + b φ bytes per voxel
    slope = (estimate_memory(big, metric, include_input=False, phase_fraction=0.4)
             - estimate_memory(small, metric, include_input=False, phase_fraction=0.4)) / (n / 2)
    # τ is counted from its arrays (coarse levels round up): a is that count at large sizes
    tol = 2e-3 * m.a if metric.startswith("tortuosity") else 1e-6
    assert slope == pytest.approx(m.a + 0.4 * m.b, abs=tol)
    # the input adds N × itemsize
    diff = estimate_memory(big, metric, np.uint16) - estimate_memory(big, metric,
                                                                     include_input=False)
    assert diff == 2 * n


def test_chunked_runs_fit_the_benchmark_budget():
    shape = (1024, 1024, 1024)
    for metric in ("fractions", "slice_fractions", "labels", "local_thickness"):
        whole = estimate_memory(shape, metric)
        chunked = estimate_memory(shape, metric, chunks=256, blocks_in_flight=4)
        assert chunked < 8 * GIB, metric
        assert chunked < whole or metric == "fractions"
    # metrics that need the whole volume ignore chunks
    assert estimate_memory(shape, "tortuosity", chunks=128) == estimate_memory(shape,
                                                                               "tortuosity")


def test_check_memory_warns_then_raises():
    need = estimate_memory((256, 256, 256), "labels")
    assert check_memory((256, 256, 256), "labels", available=100 * need) == need
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_memory((256, 256, 256), "labels", available=100 * need)
    with pytest.warns(MemoryWarning, match="GiB"):
        check_memory((256, 256, 256), "labels", available=int(need / 0.9))
    with pytest.raises(InputError, match="labels.*needs about") as err:
        check_memory((256, 256, 256), "labels", available=need // 2)
    assert err.value.field == "shape" and "chunked" in err.value.expected


def test_metrics_check_memory_before_running(monkeypatch):
    from ionscale.microstructure.connectivity import label_components

    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    with pytest.raises(InputError, match="needs about"):
        label_components(np.ones((16, 16, 16), bool))


def test_available_memory_is_plausible():
    avail = available_memory()
    with open("/proc/meminfo") as fh:
        total = int(next(line for line in fh if line.startswith("MemTotal")).split()[1]) * 1024
    assert 0 < avail <= total


def test_bad_arguments():
    for call in (lambda: estimate_memory((64, 64), "labels"),
                 lambda: estimate_memory((64, 64, 64), "magic"),
                 lambda: estimate_memory((64, 64, 64), "labels", phase_fraction=2),
                 lambda: estimate_memory((64, 64, 64), "labels", chunks=0),
                 lambda: measure_memory("labels", 16, mode="psutil")):
        with pytest.raises(InputError):
            call()


@pytest.mark.parametrize("metric", ["slice_fractions", "labels"])
def test_model_covers_measured_peak(metric):
    measured = measure_memory(metric, 96)  # bytes per voxel, fresh process
    model = MODELS[metric]
    n = 96**3
    predicted = (estimate_memory((96,) * 3, metric, include_input=False,
                                 phase_fraction=0.5) - model.fixed) / n
    assert measured <= predicted * 1.05 + 0.5
    assert predicted <= 3 * measured + 2


def test_tortuosity_memory_is_counted_from_the_solver_arrays():
    """Issue 17: τ at 1024³ within 24 GiB (volume included) with float32 vectors."""
    from ionscale.microstructure.memory import tortuosity_bytes

    shape = (1024, 1024, 1024)
    n = 1024**3
    single = tortuosity_bytes(shape)
    double = tortuosity_bytes(shape, "double")
    assert single + n < 24 * GIB
    # four vectors of 4 more bytes each
    assert double - single == pytest.approx(16 * n, rel=1e-9)
    assert estimate_memory(shape, "tortuosity") == single + n
    assert estimate_memory(shape, "tau_double", include_input=False) == double
    # a transport axis other than z copies the mask; a diffusivity map stores conductances
    assert tortuosity_bytes(shape, axis=1) >= single
    assert tortuosity_bytes(shape, diffusivity_map=True) > double
    with pytest.raises(InputError):
        tortuosity_bytes(shape, "half")


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["tortuosity", "tortuosity_double"])
def test_tortuosity_model_covers_the_measured_peak(metric):
    """Measured peak (VmHWM above the volume) within the model and not far below it (slow)."""
    from ionscale.microstructure.memory import _TAU_FIXED, tortuosity_bytes

    n = 192
    measured = measure_memory(metric, n, phase_fraction=0.4) * n**3
    model = tortuosity_bytes((n, n, n), "single" if metric == "tortuosity" else "double")
    # the fixed term covers numba's compilation, absent when the kernels are cached
    assert 0.9 * (model - _TAU_FIXED) < measured < 1.1 * model
