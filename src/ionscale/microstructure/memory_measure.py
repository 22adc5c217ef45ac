"""Measure the memory the metrics really use, to calibrate :mod:`.memory`'s model.

Kept apart from :mod:`.memory` because it imports every metric module, while the metrics
import :mod:`.memory` to check a run before starting it.
"""

from __future__ import annotations

from ..errors import InputError
from .memory import MODELS, _model


def _runner(metric: str):
    """A function ``run(labels_uint8, voxel_size)`` running ``metric`` on phase label 1, or None
    when the module implementing it is not there."""
    import importlib

    m = _model(metric).metric

    def imp(name):
        try:
            return importlib.import_module(f"ionscale.microstructure.{name}")
        except Exception:  # absent, or broken while being edited: not measurable now
            return None

    if m == "fractions":
        from .fractions import volume_fractions
        return lambda v, vs: volume_fractions(v, progress=False)
    if m == "slice_fractions":
        from .fractions import slice_fractions
        return lambda v, vs: slice_fractions(v, 1, voxel_size=vs, progress=False)
    if m == "rev":
        from .fractions import representative_volume
        return lambda v, vs: representative_volume(v, 1, voxel_size=vs, seed=0,
                                                   progress=False)
    if m == "labels":
        from .connectivity import label_components
        return lambda v, vs: label_components(v, 1, progress=False)
    if m == "percolation":
        from .connectivity import percolation
        return lambda v, vs: percolation(v, 1, progress=False)
    if m in ("tortuosity", "tortuosity_double"):
        mod = imp("tortuosity")
        if mod is None:
            return None
        precision = "single" if m == "tortuosity" else "double"
        return lambda v, vs: mod.tortuosity_factor(v, 1, 0, voxel_size=vs, solver="cg-mg",
                                                   precision=precision)
    if m in ("local_thickness", "local_thickness_fast"):
        mod = imp("thickness")
        if mod is None or not hasattr(mod, "local_thickness"):
            return None
        method = "exact" if m == "local_thickness" else "fast"

        def run_lt(v, vs):
            try:
                return mod.local_thickness(v, 1, voxel_size=vs, method=method)
            except TypeError:
                return mod.local_thickness(v, 1, voxel_size=vs)
        return run_lt
    if m in ("geodesic", "geodesic_graph"):
        mod = imp("geodesic")
        fn = None if mod is None else getattr(mod, "geometric_tortuosity", None)
        if fn is None:
            return None
        metric_name = "euclidean" if m == "geodesic" else "6-neighbour"
        return lambda v, vs: fn(v, 1, 0, voxel_size=vs, metric=metric_name)
    if m in ("psd", "psd_watershed"):
        mod = imp("pores")
        fn = None if mod is None else getattr(mod, "pore_size_distribution", None)
        if fn is None:
            return None
        split = "none" if m == "psd" else "watershed"
        return lambda v, vs: fn(v, 1, voxel_size=vs, split=split)
    return None


_MEASURE_SCRIPT = r"""
import json, sys, tracemalloc
import numpy as np
from ionscale.datasets.synthetic_volumes import blobs
from ionscale.microstructure.memory_measure import _runner, _rss

metric, n, phi, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
run = _runner(metric)
if run is None:
    print(json.dumps(None)); sys.exit(0)
vs = 20e-9
run(blobs((16, 16, 16), phi, seed=1).astype(np.uint8), vs)   # imports, JIT
vol = blobs((n, n, n), phi, seed=0).astype(np.uint8)
if mode == "rss":
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")   # reset the peak (VmHWM) to the current RSS
    except OSError:
        pass
    base = _rss()["VmRSS"]
    run(vol, vs)
    print(json.dumps(_rss()["VmHWM"] - base))
else:
    tracemalloc.start()
    run(vol, vs)
    print(json.dumps(tracemalloc.get_traced_memory()[1]))
"""


def _rss() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) * 1024
    return out


def measure_memory(metric: str, n: int = 128, *, phase_fraction: float = 0.5,
                   mode: str = "rss") -> float | None:
    """Measure the peak memory of ``metric`` on an ``n³`` uint8 blob volume, bytes per voxel.

    Runs in a fresh Python process: ``mode="rss"`` is the rise of the resident set (VmHWM,
    Linux; counts C/C++ allocations), ``mode="tracemalloc"`` the peak of Python/numpy
    allocations. Returns None when the metric's module is not installed.
    """
    import json
    import subprocess
    import sys

    if mode not in ("rss", "tracemalloc"):
        raise InputError(f"mode {mode!r}", field="mode", expected="'rss' or 'tracemalloc'")
    proc = subprocess.run([sys.executable, "-c", _MEASURE_SCRIPT, _model(metric).metric,
                           str(int(n)), str(float(phase_fraction)), mode],
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"measuring {metric} failed:\n{proc.stderr[-2000:]}")
    val = json.loads(proc.stdout.strip().splitlines()[-1])
    return None if val is None else float(val) / n**3


if __name__ == "__main__":  # python -m ionscale.microstructure.memory_measure [n]
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    print(f"{'metric':24s} {'RSS B/voxel':>12s} {'tracemalloc B/voxel':>20s}  model a+b/2")
    for name, mdl in MODELS.items():
        rss = measure_memory(name, size)
        tm = measure_memory(name, size, mode="tracemalloc")
        f = "   (absent)" if rss is None else f"{rss:12.2f}"
        g = "" if tm is None else f"{tm:20.2f}"
        print(f"{name:24s} {f} {g}  {mdl.a + mdl.b / 2:8.1f}")
