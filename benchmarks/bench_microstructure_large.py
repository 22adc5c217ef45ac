"""Large-volume microstructure benchmark: a 1024³ uint8 volume processed chunk by chunk.

Goal (issue item 7): fractions, slice profiles, connected-component labels and local thickness
of a 1024³ uint8 volume within 24 GiB of memory; designed for about 8 GiB on a 2-core,
23 GiB machine.

The volume is generated chunk by chunk into a zarr store on disk (never whole in memory):
white noise smoothed by a Gaussian (σ = 2 voxels) with ``dask.array.map_overlap`` (halo 4σ),
thresholded at the porosity quantile of the field's (theoretical) distribution: label 1 = pore
(≈ 30 %), 0 = solid, 20 nm voxels. Each metric then runs in its own process on the zarr store
(through dask), and the process's wall time and peak resident memory (``getrusage`` maxrss,
i.e. VmHWM, which includes the ~0.2 GiB of the interpreter and libraries) are reported next to
:func:`ionscale.microstructure.memory.estimate_memory`'s chunked estimate.

Measured (2 shared CPUs, 23 GiB, chunks 256³, local thickness ``method="fast"``):

===========  =====================  =====================
stage        512³: wall, peak RSS   1024³: wall, peak RSS
===========  =====================  =====================
generate     15 s, 1.07 GiB         110 s, 4.63 GiB
fractions    4.8 s, 0.31 GiB        13.9 s, 0.35 GiB
slices       2.3 s, 0.27 GiB        5.4 s, 0.27 GiB
labels       6.9 s, 0.57 GiB        61 s, 0.67 GiB (69 181 components, written to zarr)
percolation  8.6 s, 0.66 GiB        52 s, 0.73 GiB
thickness    51 s, 1.20 GiB         295 s, 1.64 GiB (map written to zarr, then statistics)
===========  =====================  =====================

Usage::

    python benchmarks/bench_microstructure_large.py                # 1024³, chunks of 256
    python benchmarks/bench_microstructure_large.py --size 512     # quicker
    python benchmarks/bench_microstructure_large.py --stages fractions,labels --keep DIR
    python benchmarks/bench_microstructure_large.py --size 384 --stages tortuosity

``tortuosity`` (not run by default) leaves the labels in the zarr store: the solver reads
them chunk by chunk into its one-byte phase mask and solves for τ with the matrix-free
multigrid (float32 vectors); its estimate is
:func:`ionscale.microstructure.memory.tortuosity_bytes` (20.6 GiB at 1024³).
``tortuosity_crop`` solves the first 256³ of the same volume with that solver and with the
assembled float64 one (``cg-amg``, rtol 1e-9) and gives their relative difference.
Measured at 1024³ (2 CPUs, 23 GiB)::

    tortuosity       733.7 s  peak  20.96 GiB  (estimate 20.58 GiB)  τ 4.6247924, float32,
                     18 iterations, residual 1.7e-06, ok (components 25 s, solve 696 s)
    tortuosity_crop   57.7 s  peak   2.89 GiB  τ 4.67764278 (cg-mg, float32) against
                     4.67764307 (cg-amg, float64): relative difference 6.1e-08
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VOXEL = 20e-9
POROSITY = 0.3
SIGMA = 2.0
STAGES = ("generate", "fractions", "slices", "labels", "percolation", "thickness",
          "tortuosity", "tortuosity_crop")
DEFAULT_STAGES = ("generate", "fractions", "slices", "labels", "thickness")


def peak_rss() -> int:
    """Peak resident memory of this process so far, bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --------------------------------------------------------------------------- stages


def stage_generate(store: Path, size: int, chunk: int, **_) -> dict:
    import dask.array as da
    import numpy as np
    from scipy.ndimage import gaussian_filter
    from scipy.stats import norm

    shape = (size,) * 3
    noise = da.random.default_rng(1).standard_normal(shape, chunks=chunk, dtype=np.float32)
    depth = int(math.ceil(4 * SIGMA))
    field = noise.map_overlap(lambda b: gaussian_filter(b, SIGMA, mode="reflect"),
                              depth=depth, boundary="reflect", dtype=np.float32)
    # std of Gaussian-filtered unit white noise: (2 √π σ)^(-3/2)
    std = (2 * math.sqrt(math.pi) * SIGMA) ** -1.5
    threshold = float(norm.ppf(POROSITY)) * std
    labels = (field < threshold).astype(np.uint8)
    labels.to_zarr(str(store), overwrite=True)
    return {"store": str(store), "shape": list(shape), "chunks": chunk}


def _open(store: Path):
    import dask.array as da

    from ionscale.microstructure import as_volume

    return as_volume(da.from_zarr(str(store)), VOXEL, phases={"solid": 0, "pore": 1})


def stage_fractions(store: Path, **_) -> dict:
    from ionscale.microstructure.fractions import volume_fractions

    fr = volume_fractions(_open(store), progress=False)
    return {"pore": round(fr.fraction("pore"), 5)}


def stage_slices(store: Path, **_) -> dict:
    from ionscale.microstructure.fractions import slice_fractions

    p = slice_fractions(_open(store), "pore", progress=False)
    return {f"sd_{a}": float(f"{p.sd(a):.3g}") for a in "zyx"}


def stage_labels(store: Path, work: Path, **_) -> dict:
    from ionscale.microstructure.connectivity import label_components

    out = work / "labels.zarr"
    _, n = label_components(_open(store), "pore", connectivity=6, out=out, progress=False)
    return {"components": n}


def stage_percolation(store: Path, **_) -> dict:
    from ionscale.microstructure.connectivity import percolation

    r = percolation(_open(store), "pore", axis=0, progress=False)
    return {"through": round(r["through_fraction"].value, 4),
            "components": int(r["n_components"].value)}


def stage_thickness(store: Path, work: Path, **_) -> dict:
    try:
        from ionscale.microstructure.thickness import local_thickness, thickness_statistics
    except ImportError:
        return {"skipped": "ionscale.microstructure.thickness is not available"}
    import dask.array as da

    vol = _open(store)
    out = str(work / "thickness.zarr")
    lazy = local_thickness(vol, "pore", method="fast", progress=False)  # chunked, with halo
    lazy.to_zarr(out, overwrite=True)
    res = thickness_statistics(vol, "pore", thickness=da.from_zarr(out), progress=False)
    return {"mean_um": round(res["mean"].value * 1e6, 4), "sd_um": round(res["sd"].value * 1e6, 4)}


def stage_tortuosity(store: Path, **_) -> dict:
    """τ along z of the pore phase. The volume stays in its zarr store: the solver reads it
    chunk by chunk into its one-byte phase mask (the labels are never whole in memory) and
    solves by the matrix-free multigrid with float32 vectors (``precision="auto"``)."""
    from ionscale.microstructure.tortuosity import tortuosity_factor

    r = tortuosity_factor(_open(store), "pore", axis=0, progress=False)
    return {"tau": round(r.tau, 7), "precision": r.precision, "iterations": r.iterations,
            "residual": float(f"{r.residual:.2g}"), "status": r.status,
            "timings_s": {k: round(v, 1) for k, v in r.timings.items()}}


def stage_tortuosity_crop(store: Path, **_) -> dict:
    """τ of the first 256³ of the volume twice: the matrix-free multigrid with float32 vectors
    (as at full size) and the assembled matrix with float64 vectors (``cg-amg``, rtol 1e-9),
    the in-memory reference; their relative difference is the accuracy of the large solve's
    method on the same microstructure."""
    import dask.array as da
    import numpy as np

    from ionscale.microstructure import as_volume
    from ionscale.microstructure.tortuosity import tortuosity_factor

    crop = np.asarray(da.from_zarr(str(store))[:256, :256, :256])
    vol = as_volume(crop, VOXEL, phases={"solid": 0, "pore": 1})
    mg = tortuosity_factor(vol, "pore", axis=0, solver="cg-mg", precision="single",
                           progress=False)
    ref = tortuosity_factor(vol, "pore", axis=0, solver="cg-amg", rtol=1e-9, progress=False)
    return {"tau_cg_mg_single": round(mg.tau, 8), "tau_cg_amg_double": round(ref.tau, 8),
            "relative_difference": float(f"{abs(mg.tau / ref.tau - 1):.2g}")}


RUNNERS = {"generate": stage_generate, "fractions": stage_fractions, "slices": stage_slices,
           "labels": stage_labels, "percolation": stage_percolation,
           "thickness": stage_thickness, "tortuosity": stage_tortuosity,
           "tortuosity_crop": stage_tortuosity_crop}
ESTIMATE = {"fractions": "fractions", "slices": "slice_fractions", "labels": "labels",
            "percolation": "percolation", "thickness": "local_thickness",
            "tortuosity": "tortuosity"}
#: Stages that read the whole volume: their estimate is not a chunked one.
WHOLE = ("tortuosity",)


def run_stage(name: str, store: Path, work: Path, size: int, chunk: int) -> dict:
    """Run one stage in this process; return wall time, peak RSS and the stage's summary."""
    t0 = time.perf_counter()
    summary = RUNNERS[name](store=store, work=work, size=size, chunk=chunk)
    return {"stage": name, "wall_s": time.perf_counter() - t0, "peak_rss": peak_rss(),
            "result": summary}


# --------------------------------------------------------------------------- driver


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="edge of the cubic volume, voxels")
    ap.add_argument("--chunk", type=int, default=256, help="chunk edge, voxels")
    ap.add_argument("--stages", default=",".join(DEFAULT_STAGES),
                    help=f"comma-separated, from {','.join(STAGES)}")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temp folder)")
    ap.add_argument("--stage", help=argparse.SUPPRESS)  # internal: run one stage
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.stage:  # child process
        work = Path(args.work)
        res = run_stage(args.stage, work / "volume.zarr", work, args.size, args.chunk)
        print("RESULT " + json.dumps(res))
        return 0

    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    bad = set(stages) - set(STAGES)
    if bad:
        ap.error(f"unknown stages {sorted(bad)}")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ionscale-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    from ionscale.microstructure.memory import estimate_memory

    shape = (args.size,) * 3
    rows = []
    try:
        if "generate" not in stages and not (work / "volume.zarr").exists():
            stages.insert(0, "generate")
        for name in stages:
            proc = subprocess.run(
                [sys.executable, __file__, "--stage", name, "--work", str(work),
                 "--size", str(args.size), "--chunk", str(args.chunk)],
                capture_output=True, text=True)
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode != 0 or not line:
                rows.append({"stage": name, "wall_s": math.nan, "peak_rss": 0,
                             "result": {"error": proc.stderr.strip().splitlines()[-1:]}})
            else:
                rows.append(json.loads(line[0][7:]))
            r = rows[-1]
            # the whole-volume stages read the zarr store into their own arrays: the labels
            # are never in memory whole, so the estimate leaves them out
            est = (estimate_memory(shape, ESTIMATE[name], include_input=name not in WHOLE,
                                   chunks=None if name in WHOLE else args.chunk)
                   if name in ESTIMATE else math.nan)
            r["estimate"] = est
            print(f"{name:12s} {r['wall_s']:9.1f} s  peak {r['peak_rss'] / 2**30:6.2f} GiB  "
                  f"(estimate {est / 2**30:6.2f} GiB)  {r['result']}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"volume {args.size}³ uint8, chunks {args.chunk}³, {os.cpu_count()} CPUs")
    print(f"{'stage':12s} {'wall (s)':>9s} {'peak RSS (GiB)':>15s} {'estimate (GiB)':>15s}  result")
    for r in rows:
        print(f"{r['stage']:12s} {r['wall_s']:9.1f} {r['peak_rss'] / 2**30:15.2f} "
              f"{r['estimate'] / 2**30:15.2f}  {r['result']}")
    worst = max((r["peak_rss"] for r in rows), default=0)
    print(f"largest peak: {worst / 2**30:.2f} GiB (goal: within 24 GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
