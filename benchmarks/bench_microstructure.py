"""Microstructure benchmark: ionscale against TauFactor and PoreSpy on the same volumes.

Run with the benchmark environment (it has the reference tools)::

    .venv-bench/bin/python benchmarks/bench_microstructure.py            # 128³, 256³, electrode
    .venv-bench/bin/python benchmarks/bench_microstructure.py --quick    # 128³ only
    .venv-bench/bin/python benchmarks/bench_microstructure.py --json out.json --large

Volumes: PoreSpy blobs (``porespy.generators.blobs(shape, porosity=0.5, blobiness=1,
seed=1)``, pore = True) at 128³ and 256³, and TauFactor's electrode volume
(``shared/data/microstructure/taufactor-electrode.tiff``, pore = label 0), all with cubic voxels.

Tortuosity factor along axis 0 (all tools on the CPU, all cores):

* ionscale :func:`~ionscale.microstructure.tortuosity.tortuosity_factor` (default solver,
  ``rtol = 1e-6``), best of two runs (the first also loads numba's compiled kernels);
* TauFactor ``taufactor.Solver(img, device="cpu").solve()`` (its default SOR convergence: slice
  fluxes within 1 %, τ change < 2e-3), one run;
* PoreSpy ``porespy.simulations.tortuosity_fd(im, axis=0)`` (OpenPNM + pyamg), one run, when
  OpenPNM is installed. PoreSpy's convention differs: the Dirichlet values sit on the centres of
  the first and last slices (length ``N − 1``) and ε is the percolating porosity, so its τ is
  not expected to equal TauFactor's (ionscale uses TauFactor's convention exactly).

Local thickness (radius, voxels) of the pore phase:

* ionscale :func:`~ionscale.microstructure.thickness.local_thickness` ``method="fast"`` and
  ``"exact"`` (the reference of the agreement columns);
* PoreSpy ``porespy.filters.local_thickness(im)`` (its default, ``method="bf"``), and
  ``method="dt"`` (once);
* and, without a reference tool (PoreSpy takes no voxel size), ionscale on the electrode with
  FIB-SEM-like voxels, slices 1.5× the pixel size (radii in pixels).

ionscale fast, exact and PoreSpy bf run interleaved ``--repeat`` times (default 3) in the same
run; the medians and the ratios of medians are reported. Only each tool's own call is timed: the
conversion of its map to float64 radii in voxels comes after (a fresh 128 MB array whose page
faults cost up to 0.3 s at 256³). Agreement with ionscale's exact map
over the phase (voxels of radius): mean and max absolute difference, share of voxels off by
more than one voxel, share identical, mean radius. PoreSpy's radii are integers (floored), so
part of its difference is one of definition, not of error.

Goals (issue 4): τ at least 3× faster than TauFactor at 256³ and within 0.5 %; local thickness
at least 5× faster than PoreSpy at equal or better agreement with the exact method. Timings
on a shared machine are noisy.

``--large`` then runs ``benchmarks/bench_microstructure_large.py`` (1024³ chunked volume) with
the arguments that follow ``--``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ELECTRODE = ROOT.parent / "shared" / "data" / "microstructure" / "taufactor-electrode.tiff"
VS = 1e-6          # nominal voxel size (m): τ and thickness in voxels do not depend on it
#: FIB-SEM-like voxels for the anisotropic row: slices 1.5× the pixel size (z, y, x; m)
ANISO_VS = (1.5e-6, 1e-6, 1e-6)
BLOBS = {"porosity": 0.5, "blobiness": 1, "seed": 1}


# --------------------------------------------------------------------------- volumes


def blobs(n: int) -> np.ndarray:
    import porespy

    return np.asarray(porespy.generators.blobs([n, n, n], **BLOBS), dtype=bool)


def electrode() -> np.ndarray | None:
    if not ELECTRODE.exists():
        return None
    import tifffile

    return tifffile.imread(ELECTRODE) == 0


def volumes(quick: bool):
    yield "blobs 128³", lambda: blobs(128)
    if quick:
        return
    yield "blobs 256³", lambda: blobs(256)
    yield "electrode 256³", electrode


# --------------------------------------------------------------------------- tools


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def ionscale_tau(im: np.ndarray) -> dict:
    from ionscale.microstructure.tortuosity import tortuosity_factor

    best = None
    for _ in range(2):
        t, r = timed(lambda: tortuosity_factor(im, True, 0, voxel_size=VS))
        if best is None or t < best[0]:
            best = (t, r)
    t, r = best
    return {"time_s": t, "tau": r.tau, "D_eff_rel": r.D_eff_rel, "eps": r.porosity,
            "solver": r.solver, "iterations": r.iterations,
            "flux_deviation": r.flux_deviation,
            "stages_s": {k: round(v, 3) for k, v in r.timings.items()}}


def taufactor_tau(im: np.ndarray) -> dict:
    try:
        import taufactor
        import torch
    except ImportError as e:
        return {"skipped": f"taufactor not available ({e})"}
    torch.set_num_threads(os.cpu_count() or 1)
    img = im.astype(np.uint8)
    t0 = time.perf_counter()
    s = taufactor.Solver(img, device="cpu")
    tau = s.solve(verbose=False)
    t = time.perf_counter() - t0
    return {"time_s": t, "tau": float(np.ravel(tau)[0]), "D_eff_rel": float(np.ravel(s.D_rel)[0]),
            "iterations": int(s.iter)}


def porespy_tau(im: np.ndarray) -> dict:
    try:
        import openpnm  # noqa: F401  (tortuosity_fd imports it)
        import porespy
    except ImportError as e:
        return {"skipped": f"porespy.simulations.tortuosity_fd needs openpnm ({e})"}
    t, r = timed(lambda: porespy.simulations.tortuosity_fd(im, axis=0))
    return {"time_s": t, "tau": float(r.tortuosity), "eps_eff": float(r.effective_porosity)}


def thickness_runs(im: np.ndarray, repeat: int, porespy_too: bool, voxel=VS) -> dict:
    """Local thickness (radius, in units of the smallest voxel size) by ionscale
    ``fast``/``exact`` and PoreSpy ``bf``, interleaved ``repeat`` times in the same run
    (after a warm-up of ionscale's compiled kernels); PoreSpy ``dt`` once. ``voxel``: the
    voxel size, one value or three (PoreSpy knows none: leave it out then). Returns
    ``{tool: (median time s, map, all times)}``."""
    try:
        from ionscale.microstructure.thickness import local_thickness
    except ImportError as e:
        return {"skipped": str(e)}
    ps = None
    if porespy_too:
        try:
            import porespy as ps
        except ImportError:
            ps = None
        else:
            ps.settings.tqdm["disable"] = True
    local_thickness(im[:32, :32, :32], True, method="fast", voxel_size=voxel)   # warm-up
    local_thickness(im[:32, :32, :32], True, method="exact", voxel_size=voxel)
    runs: dict = {"ionscale fast": [], "ionscale exact": []}
    # only each tool's own call is timed; the conversion of its map to radii in voxels
    # (float64, a fresh array whose page faults cost up to 0.3 s at 256³) comes after
    calls = {m: (lambda m=m: local_thickness(
        im, True, method=m.split()[1], measure="radius", voxel_size=voxel)) for m in runs}
    scale = {m: 1.0 / float(np.min(voxel)) for m in runs}
    if ps is not None:
        runs["porespy bf"] = []
        calls["porespy bf"] = lambda: ps.filters.local_thickness(im, method="bf")
        scale["porespy bf"] = 1.0
    maps = {}
    for _ in range(repeat):
        for tool in runs:
            t, raw = timed(calls[tool])
            maps[tool] = np.asarray(raw, np.float64) * scale[tool]
            del raw
            runs[tool].append(t)
    out = {tool: (float(np.median(ts)), maps[tool], ts) for tool, ts in runs.items()}
    if ps is not None:
        t, lt = timed(lambda: ps.filters.local_thickness(im, method="dt"))
        out["porespy dt"] = (t, np.asarray(lt, np.float64), [t])
    return out


def agreement(a: np.ndarray, ref: np.ndarray, im: np.ndarray) -> dict:
    d = np.abs(a[im] - ref[im])
    return {"mean_abs_diff_vox": float(d.mean()), "max_abs_diff_vox": float(d.max()),
            "fraction_off_gt1": float(np.mean(d > 1.0)),
            "fraction_equal": float(np.mean(d < 1e-4)),
            "mean_radius_vox": float(a[im].mean())}


# --------------------------------------------------------------------------- driver


def bench_volume(name: str, im: np.ndarray, args) -> dict:
    row: dict = {"volume": name, "shape": list(im.shape), "porosity": float(im.mean())}
    if not args.no_tau:
        tau = {"ionscale": ionscale_tau(im)}
        if not args.no_taufactor:
            tau["taufactor"] = taufactor_tau(im)
        if not args.no_porespy:
            tau["porespy"] = porespy_tau(im)
        ref = tau["ionscale"]
        for tool, res in tau.items():
            if tool == "ionscale" or "tau" not in res:
                continue
            res["speedup_ionscale"] = res["time_s"] / ref["time_s"]
            res["tau_rel_diff"] = (ref["tau"] - res["tau"]) / res["tau"]
        row["tortuosity"] = tau
    if not args.no_thickness:
        row["thickness"] = thickness_table(thickness_runs(im, args.repeat,
                                                          not args.no_porespy), im)
    return row


def thickness_table(runs: dict, im: np.ndarray) -> dict:
    """Per tool: median and all times, agreement with ionscale ``exact``, speed-ups."""
    th: dict = {}
    if "skipped" in runs:
        th["ionscale"] = runs
        return th
    exact = runs["ionscale exact"][1]
    fast = runs["ionscale fast"][0]
    ex_t = runs["ionscale exact"][0]
    for tool, (t, lt, ts) in runs.items():
        th[tool] = {"time_s": t, "times_s": [round(x, 3) for x in ts],
                    **agreement(lt, exact, im)}
        if tool.startswith("porespy"):
            th[tool]["speedup_ionscale_fast"] = t / fast
            th[tool]["speedup_ionscale_exact"] = t / ex_t
    return th


def print_row(row: dict) -> None:
    print(f"\n== {row['volume']}  shape {tuple(row['shape'])}, porosity {row['porosity']:.3f}")
    if "tortuosity" in row:
        print(f"  {'tortuosity (axis 0)':24s} {'time s':>8s} {'τ':>9s} {'Δτ ion':>9s} "
              f"{'speed-up':>10s}  notes")
        for tool, r in row["tortuosity"].items():
            if "skipped" in r:
                print(f"  {tool:24s} skipped: {r['skipped']}")
                continue
            diff = f"{r['tau_rel_diff']:+.3%}" if "tau_rel_diff" in r else ""
            speed = f"{r['speedup_ionscale']:.1f}" if "speedup_ionscale" in r else ""
            note = ""
            if tool == "ionscale":
                note = (f"{r['solver']}, {r['iterations']} it, flux dev "
                        f"{r['flux_deviation']:.1e}")
            elif "iterations" in r:
                note = f"{r['iterations']} SOR it"
            elif "eps_eff" in r:
                note = "slice-centre BC, ε_perc"
            print(f"  {tool:24s} {r['time_s']:8.2f} {r['tau']:9.5f} {diff:>9s} {speed:>10s}"
                  f"  {note}")
    if "thickness" in row:
        print(f"  {'local thickness (radius)':24s} {'median s':>8s} {'mean r':>8s} "
              f"{'|Δ| exact':>9s} {'max |Δ|':>8s} {'>1 vox':>7s} {'=exact':>7s} "
              f"{'/fast':>6s} {'/exact':>6s}")
        for tool, r in row["thickness"].items():
            if "skipped" in r:
                print(f"  {tool:24s} skipped: {r['skipped']}")
                continue
            sf = f"{r['speedup_ionscale_fast']:.1f}×" if "speedup_ionscale_fast" in r else ""
            se = f"{r['speedup_ionscale_exact']:.1f}×" if "speedup_ionscale_exact" in r else ""
            print(f"  {tool:24s} {r['time_s']:8.2f} {r['mean_radius_vox']:8.3f} "
                  f"{r['mean_abs_diff_vox']:9.3f} {r['max_abs_diff_vox']:8.2f} "
                  f"{r['fraction_off_gt1']:7.2%} {r['fraction_equal']:7.1%} {sf:>6s} {se:>6s}")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="128³ blobs only")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--large", action="store_true",
                    help="also run bench_microstructure_large.py (arguments after --)")
    ap.add_argument("--no-taufactor", action="store_true")
    ap.add_argument("--no-porespy", action="store_true")
    ap.add_argument("--no-tau", action="store_true", help="skip the tortuosity factor")
    ap.add_argument("--no-thickness", action="store_true", help="skip local thickness")
    ap.add_argument("--repeat", type=int, default=3,
                    help="local thickness: interleaved repeats, medians reported (default 3)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    rows = []
    for name, make in volumes(args.quick):
        im = make()
        if im is None:
            print(f"\n== {name}: not available, skipped")
            continue
        row = bench_volume(name, im, args)
        print_row(row)
        rows.append(row)
    im = None if args.quick or args.no_thickness else electrode()
    if im is not None:
        # FIB-SEM voxels are rarely cubic; PoreSpy's local thickness takes no voxel size
        mm = " × ".join(f"{v * 1e6:g}" for v in ANISO_VS)
        row = {"volume": f"electrode 256³, voxels {mm} µm (no reference tool)",
               "shape": list(im.shape), "porosity": float(im.mean()),
               "thickness": thickness_table(thickness_runs(im, args.repeat, False, ANISO_VS),
                                            im)}
        print_row(row)
        rows.append(row)
    out = {"volumes": rows}
    if args.large:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        try:
            import bench_microstructure_large as large
        except ImportError:
            print("\nbench_microstructure_large.py not found; --large skipped")
        else:
            print("\n== large volume (bench_microstructure_large.py)")
            out["large_exit_code"] = large.main(rest)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
