"""``ionscale micro ...`` commands: metrics and the heavy metrics one at a time."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from ..cli_support import add_output_options, parse_pairs, print_result
from ..errors import InputError


def _phases(text: str | None) -> dict[str, int] | None:
    return parse_pairs(text, "--phases", int, "pore=0,solid=255", "an integer label")


def _phase(text: str | None):
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _volume(args):
    from ..io.volume import read_volume

    shape = tuple(int(n) for n in args.shape.split(",")) if args.shape else None
    volume = read_volume(args.volume, voxel_size=args.voxel, phases=_phases(args.phases),
                         dataset=args.dataset, shape=shape, dtype=args.dtype)
    if args.phase == "pore" and "pore" not in volume.phases:
        # the common convention of segmented tomography (TauFactor, Fiji): pores are label 0
        print("ionscale: phase 'pore' taken as label 0 (give --phases to name labels)",
              file=sys.stderr)
        volume = replace(volume, phases={**volume.phases, "pore": 0})
    return volume


def _axis(text: str) -> int:
    axes = {"z": 0, "y": 1, "x": 2, "0": 0, "1": 1, "2": 2}
    if text not in axes:
        raise InputError(f"axis {text!r}", field="--axis", expected="z, y or x (or 0, 1, 2)")
    return axes[text]


def _parts(text: str | None, option: str) -> tuple[str, ...]:
    from .metrics import PARTS

    if not text:
        return ()
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise InputError(f"unknown part(s) {unknown}", field=option,
                         expected=f"comma-separated names among {', '.join(PARTS)}")
    return parts


def _metrics(args: argparse.Namespace) -> int:
    from .metrics import PARTS, microstructure_metrics

    parts = _parts(args.only, "--only") or PARTS
    skip = _parts(args.skip, "--skip")
    parts = tuple(p for p in parts if p not in skip)
    result = microstructure_metrics(_volume(args), _phase(args.phase), axis=_axis(args.axis),
                                    connectivity=args.connectivity, parts=parts,
                                    thickness_method=args.method, measure=args.measure,
                                    geodesic_metric=args.metric,
                                    progress=not args.no_progress)
    print_result(result, args.json, args.plot)
    return 0


def _tortuosity(args: argparse.Namespace) -> int:
    from .tortuosity import tortuosity_factor

    print_result(tortuosity_factor(_volume(args), _phase(args.phase), _axis(args.axis),
                                   solver=args.solver, rtol=args.rtol,
                                   precision=args.precision,
                                   progress=not args.no_progress), args.json, args.plot)
    return 0


def _geodesic(args: argparse.Namespace) -> int:
    from .geodesic import geometric_tortuosity

    print_result(geometric_tortuosity(_volume(args), _phase(args.phase), _axis(args.axis),
                                      metric=args.metric), args.json, args.plot)
    return 0


def _thickness(args: argparse.Namespace) -> int:
    from .thickness import thickness_statistics

    print_result(thickness_statistics(_volume(args), _phase(args.phase), method=args.method,
                                      measure=args.measure, tolerance=args.tolerance,
                                      progress=not args.no_progress),
                 args.json, args.plot)
    return 0


def _psd(args: argparse.Namespace) -> int:
    from .pores import pore_size_distribution

    print_result(pore_size_distribution(_volume(args), _phase(args.phase),
                                        connectivity=args.connectivity,
                                        split="watershed" if args.watershed else "none"),
                 args.json, args.plot)
    return 0


def _labels(args: argparse.Namespace) -> int:
    """``micro labels``: every label of a volume with its voxel count and fraction."""
    import json

    import numpy as np

    volume = _volume(args)
    data = np.asarray(volume.labels)
    values, counts = np.unique(data, return_counts=True)
    names = {int(v): n for n, v in volume.phases.items()}
    rows = [{"label": int(v) if data.dtype != bool else bool(v), "name": names.get(int(v), ""),
             "voxels": int(c), "fraction": float(c) / data.size}
            for v, c in zip(values, counts, strict=True)]
    if args.json:
        json.dump({"file": str(args.volume), "shape": list(data.shape),
                   "voxel_size_m": [float(v) for v in volume.voxel_size], "labels": rows},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    vs = " × ".join(f"{v * 1e9:.4g}" for v in volume.voxel_size)
    print(f"{args.volume}: {' × '.join(map(str, data.shape))} voxels of {vs} nm, "
          f"{len(rows)} label(s)")
    print(f"{'label':>8s}  {'name':12s} {'voxels':>12s} {'fraction':>9s}")
    for r in rows:
        print(f"{r['label']!s:>8s}  {r['name']:12s} {r['voxels']:12d} {r['fraction']:9.4f}")
    return 0


def _memory(args: argparse.Namespace) -> int:
    from .memory import MODELS, _model, estimate_memory

    try:
        shape = tuple(int(n) for n in args.shape.split(","))
    except ValueError:
        raise InputError(f"shape {args.shape!r}", field="shape",
                         expected="z,y,x voxel counts, e.g. 1024,1024,1024") from None
    chunks = int(args.chunks) if args.chunks else None
    for metric in args.metrics.split(","):
        need = estimate_memory(shape, metric, chunks=chunks)
        model = MODELS[_model(metric).metric]
        how = ("chunked" if chunks and model.chunked
               else "whole volume in memory" if chunks else "")
        print(f"{metric:22s} {need / 2**30:8.2f} GiB  {how}".rstrip())
    return 0


def _add_volume(p) -> None:
    p.add_argument("volume", help="TIFF stack (file or folder), HDF5, zarr, raw or .zip")
    p.add_argument("--phase", help="phase name (with --phases) or label, e.g. 0")
    p.add_argument("--phases", help="names of labels, e.g. pore=0,solid=255")
    p.add_argument("--voxel", help="voxel size: '20 nm' or 'dz,dy,dx' ('50 nm,20 nm,20 nm'); "
                                   "default: from the file")
    p.add_argument("--dataset", help="HDF5/zarr dataset path")
    p.add_argument("--shape", help="raw files: z,y,x")
    p.add_argument("--dtype", help="raw files: e.g. uint8")
    p.add_argument("--axis", default="z", help="transport axis: z, y or x (or 0, 1, 2)")


def register(subparsers) -> None:
    """Add ``ionscale micro`` and its verbs."""
    micro = subparsers.add_parser("micro", help="3D microstructure metrics of a volume")
    verbs = micro.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("metrics", help="every metric of a phase (fractions, slices, REV, "
                                         "percolation, τ, geodesic, thickness, pores)")
    _add_volume(p)
    parts = "fractions, slices, rev, percolation, tortuosity, geodesic, thickness, pores"
    p.add_argument("--only", help=f"comma-separated parts to run, among: {parts}")
    p.add_argument("--skip", help="comma-separated parts to skip (same names)")
    p.add_argument("--connectivity", type=int, default=6, choices=[6, 18, 26])
    p.add_argument("--method", default="fast", choices=["fast", "exact"],
                   help="local-thickness method")
    p.add_argument("--measure", default="diameter", choices=["diameter", "radius"])
    p.add_argument("--metric", default="euclidean",
                   choices=["euclidean", "6-neighbour", "26-neighbour"],
                   help="geodesic metric (seed 004 used 6-neighbour)")
    p.add_argument("--no-progress", action="store_true")
    add_output_options(p)
    p.set_defaults(func=_metrics)

    p = verbs.add_parser("tortuosity", help="tortuosity factor τ (diffusion solve)")
    _add_volume(p)
    p.add_argument("--solver", default="auto",
                   choices=["auto", "cg-mg", "cg-amg", "cg-jacobi", "direct"],
                   help="auto (default): direct up to 20 000 unknowns, else cg-mg; cg-mg: "
                        "matrix-free CG with a grid multigrid (no matrix stored); cg-amg: "
                        "assembled matrix, pyamg preconditioner (about 4× the memory); "
                        "cg-jacobi; direct (sparse LU)")
    p.add_argument("--rtol", type=float, default=1e-6)
    p.add_argument("--precision", default="auto", choices=["auto", "single", "double"],
                   help="cg-mg vector storage: single (float32, 20.4 B/voxel in all), "
                        "double (float64, 36.4 B/voxel); auto: single from 256³ voxels")
    p.add_argument("--no-progress", action="store_true")
    add_output_options(p)
    p.set_defaults(func=_tortuosity)

    p = verbs.add_parser("geodesic", help="geodesic map and geometric tortuosity")
    _add_volume(p)
    p.add_argument("--metric", default="euclidean",
                   choices=["euclidean", "6-neighbour", "26-neighbour"])
    add_output_options(p)
    p.set_defaults(func=_geodesic)

    p = verbs.add_parser("thickness", help="local thickness distribution")
    _add_volume(p)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--method", default="fast", choices=["fast", "exact"])
    p.add_argument("--measure", default="diameter", choices=["diameter", "radius"])
    p.add_argument("--tolerance", type=float, default=0.75,
                   help="fast method: spheres shrunk by this many voxels (0 ≤ t < 1) may be "
                        "dropped; 0 gives the exact map (default 0.75)")
    add_output_options(p)
    p.set_defaults(func=_thickness)

    p = verbs.add_parser("psd", help="pore (particle) size distribution")
    _add_volume(p)
    p.add_argument("--connectivity", type=int, default=6, choices=[6, 18, 26])
    p.add_argument("--watershed", action="store_true", help="split touching pores")
    add_output_options(p)
    p.set_defaults(func=_psd)

    p = verbs.add_parser("labels", help="the labels of a volume with their voxel counts")
    _add_volume(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_labels)

    p = verbs.add_parser("memory", help="memory a metric needs for a volume shape")
    p.add_argument("shape", help="z,y,x")
    p.add_argument("--metrics", default="fractions,labels,local_thickness_fast,tortuosity,"
                                        "tortuosity_double,geodesic,psd",
                   help="comma-separated metric names (python -c 'from "
                        "ionscale.microstructure.memory import MODELS; print(*MODELS)')")
    p.add_argument("--chunks", help="chunk edge of a zarr/dask volume: the metrics that run "
                                    "block by block are estimated for a chunked run")
    p.set_defaults(func=_memory)
