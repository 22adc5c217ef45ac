"""FIB-SEM preprocessing and segmentation against the reference tools, side by side.

Run (scikit-learn and pystackreg live in a separate environment, not ionscale's)::

    make bench-reference    # creates .venv-bench (with scikit-learn, pystackreg), runs all
    .venv-bench/bin/python benchmarks/bench_imaging.py [--quick] [--repeats 3] [--large 512]
        [--reg-n 200 --reg-size 1024 --vol 256] [--only reg,feat,seg,large]

Cases, each in a fresh process (its peak resident memory is the process's VmHWM):

* ``reg-*``: slice-to-slice registration of a 200-slice 1024² stack (a textured image moved by
  a known random walk of σ 1.5 px per slice, Fourier-shifted so the truth is exact, with noise):
  ionscale's ``register_stack`` against scikit-image's ``phase_cross_correlation`` called
  pair by pair (defaults, and ``upsample_factor=100``) and pystackreg (translation, previous).
  Accuracy: rms of the cumulative drift error over the slices, and rms error per pair.
* ``seg-*``: features and random-forest segmentation of a 256³ two-phase stack (10 % pores,
  contrast 0.4, noise σ 0.35, blur 1 voxel) from labels on 0.2 % of the voxels: ionscale
  against scikit-image's ``multiscale_basic_features`` + scikit-learn's
  ``RandomForestClassifier`` (64 trees, all cores), at the same σ list.
* ``feat-*``: features only of the 256³ stack, the whole volume in memory for both, same σ list
  (goal (b)); ``reg-*`` and ``feat-*`` are repeated ``--repeats`` times (default 3, fresh
  processes) and the medians reported.
* ``large``: ionscale's segmentation of an N³ stack (default 512³): the stack and its sparse
  labels are written to .npy by a separate process, and the measured process only loads and
  segments them (peak from ``/usr/bin/time -v`` and VmHWM).

Measured (issue 14, one run, ``--repeats 3``, 2 shared cores with a load of ~4 from other
work, so wall times vary by up to 3× between repeats; cpu = process CPU time)::

    case                       wall s (median)  cpu s    rms cumul. px  rms pair px  peak MiB
    reg ionscale 200×1024²          6.7           3.5        0.057        0.0058        928
    reg skimage (defaults)         15.2           8.7        2.56         0.42          928
    reg skimage upsample=100       51.6          36.9        0.96         0.097         928
    reg pystackreg (translation)  135.9         119.2        0.118        0.0156       1668
    feat ionscale 256³ (34 feat.)  11.0          12.9         -             -          2583
    feat skimage 256³ (25 feat.)  198.4         128.9         -             -         13295
    large: 512³ segmentation      383.5         348.7         -             -          2691

Goals: (a) registration 2.3× (wall) / 2.5× (cpu) faster than sequential scikit-image with its
defaults (integer-pixel, 44× worse cumulative drift): goal ≥ 3× MISSED; 7.7× / 10.5× faster
than scikit-image at ``upsample_factor=100`` (still 17× less accurate per pair than ionscale):
met; 20× / 34× faster than pystackreg, at 2× better cumulative accuracy. (b) features 18× wall
/ 10× cpu faster (24× / 14× per feature column): met. (c) 512³ (10 % pores, labels on a
sparse subset): peak 2.63 GiB (`/usr/bin/time -v`, the stack itself 0.76 GiB of it), 383 s wall,
voxel accuracy 99.87 %, porosity 0.10010 against 0.10000: within 4 GiB, met.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

SIGMAS = tuple(float(s) for s in np.logspace(np.log2(0.7), np.log2(5.0), 5, base=2))


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reg_stack(n, size, seed=0):
    import scipy.fft as sfft
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    big = size + 128
    t = ndi.gaussian_filter(rng.normal(size=(big, big)), 4)
    tex = ndi.gaussian_filter((t > 0).astype(np.float32) * 0.4, 1.0).astype(np.float32)
    F = sfft.rfft2(tex)
    ky = sfft.fftfreq(big)[:, None]
    kx = sfft.rfftfreq(big)[None, :]
    drift = np.vstack([np.zeros((1, 2)), np.cumsum(rng.normal(0, 1.5, (n - 1, 2)), axis=0)])
    drift -= drift.mean(axis=0)
    stack = np.empty((n, size, size), np.float32)
    for k in range(n):
        s = sfft.irfft2(F * np.exp(-2j * np.pi * (ky * drift[k, 0] + kx * drift[k, 1])),
                        s=(big, big), workers=-1)
        stack[k] = s[64:64 + size, 64:64 + size] + rng.normal(0, 0.05, (size, size))
    return stack, drift - drift[0]


def _reg_errors(est, truth):
    cum = np.sqrt(np.mean(np.sum((est - truth) ** 2, axis=1)))
    pair = np.sqrt(np.mean(np.sum((np.diff(est, axis=0) - np.diff(truth, axis=0)) ** 2,
                                  axis=1)))
    return float(cum), float(pair)


def case_reg(method, n, size):
    stack, truth = _reg_stack(n, size)
    t0, c0 = time.perf_counter(), time.process_time()
    if method == "ionscale":
        from ionscale.imaging import ImageStack, register_stack

        r = register_stack(ImageStack(stack, 10e-9), reference="previous")
        est = r.drift
    elif method.startswith("skimage"):
        from skimage.registration import phase_cross_correlation

        up = 100 if method.endswith("100") else 1
        pairs = [phase_cross_correlation(stack[k - 1], stack[k], upsample_factor=up)[0]
                 for k in range(1, n)]
        est = np.vstack([np.zeros((1, 2)), np.cumsum(-np.asarray(pairs), axis=0)])
    elif method == "pystackreg":
        from pystackreg import StackReg

        sr = StackReg(StackReg.TRANSLATION)
        mats = sr.register_stack(stack, reference="previous")
        # pystackreg's matrices map the output to the input: the slice content sits at +t
        est = np.array([[m[1, 2], m[0, 2]] for m in mats])
        est -= est[0]
    else:
        raise SystemExit(f"unknown method {method}")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    cum, pair = _reg_errors(est, truth)
    return {"case": f"reg-{method}", "wall_s": wall, "cpu_s": cpu, "rms_cumulative_px": cum,
            "rms_pair_px": pair, "peak_rss_mib": _peak_rss_mib()}


def _seg_data(n, seed=3):
    from scipy import ndimage as ndi

    from ionscale.datasets.synthetic_fibsem import sparse_labels, two_phase_volume

    truth = two_phase_volume((n, n, n), 0.1, 6.0 * n / 96, seed=seed)
    lab = np.asarray(truth.labels)
    img = ndi.gaussian_filter(np.where(lab == 1, 0.3, 0.7).astype(np.float32), 1.0)
    img += np.random.default_rng(4).normal(0, 0.35, img.shape).astype(np.float32)
    return img, lab, sparse_labels(lab, 0.002, seed=5)


def case_seg(method, n):
    img, lab, sparse = _seg_data(n)
    base = _peak_rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    if method == "ionscale":
        from ionscale.imaging import FeatureSpec, ImageStack, segment_stack, voxel_features

        st = ImageStack(img, 20e-9, 20e-9)
        tf = time.perf_counter()
        cf = time.process_time()
        f = voxel_features(st, FeatureSpec(sigmas=SIGMAS))
        feat_wall, feat_cpu = time.perf_counter() - tf, time.process_time() - cf
        nfeat = f.shape[0]
        del f
        t0, c0 = time.perf_counter(), time.process_time()
        r = segment_stack(st, sparse, phases={"pore": 1, "solid": 2}, sigmas=SIGMAS,
                          n_trees=64)
        seg = np.asarray(r.volume.labels)
    else:
        from skimage.feature import multiscale_basic_features
        from sklearn.ensemble import RandomForestClassifier

        tf = time.perf_counter()
        cf = time.process_time()
        f = multiscale_basic_features(img, sigma_min=SIGMAS[0], sigma_max=SIGMAS[-1],
                                      num_sigma=len(SIGMAS))
        feat_wall, feat_cpu = time.perf_counter() - tf, time.process_time() - cf
        nfeat = f.shape[-1]
        m = sparse > 0
        clf = RandomForestClassifier(n_estimators=64, n_jobs=-1, random_state=0)
        clf.fit(f[m], sparse[m])
        seg = clf.predict(f.reshape(-1, nfeat)).reshape(lab.shape)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if method != "ionscale":
        wall, cpu = wall, cpu
    return {"case": f"seg-{method}", "n": n, "features": int(nfeat),
            "features_wall_s": feat_wall, "features_cpu_s": feat_cpu,
            "segmentation_wall_s": wall, "segmentation_cpu_s": cpu,
            "accuracy": float((seg == lab).mean()),
            "porosity": float((seg == 1).mean()), "true_porosity": float((lab == 1).mean()),
            "peak_rss_mib": _peak_rss_mib(), "rss_before_mib": base}


def case_feat(method, n):
    """Features only (goal (b)): the same σ list, the whole volume in memory for both."""
    img, _, _ = _seg_data(n)
    t0, c0 = time.perf_counter(), time.process_time()
    if method == "ionscale":
        from ionscale.imaging import FeatureSpec, ImageStack, voxel_features

        f = voxel_features(ImageStack(img, 20e-9, 20e-9), FeatureSpec(sigmas=SIGMAS))
        nfeat = f.shape[0]
    else:
        from skimage.feature import multiscale_basic_features

        f = multiscale_basic_features(img, sigma_min=SIGMAS[0], sigma_max=SIGMAS[-1],
                                      num_sigma=len(SIGMAS))
        nfeat = f.shape[-1]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"case": f"feat-{method}", "n": n, "features": int(nfeat), "dtype": str(f.dtype),
            "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": _peak_rss_mib()}


def prep_large(n, path):
    """Write the N³ grey stack and its sparse labels to ``path``-img.npy / -lab.npy, so the
    measured process holds only what segmentation needs (not the generator's temporaries)."""
    img, lab, sparse = _seg_data(n)
    np.save(f"{path}-img.npy", img)
    np.save(f"{path}-lab.npy", sparse.astype(np.uint8))
    np.save(f"{path}-truth.npy", (lab == 1))
    return {"case": "prep-large", "n": n}


def case_large(n, path=None):
    from ionscale.imaging import ImageStack, segment_stack

    if path is None:
        img, lab, sparse = _seg_data(n)
        del lab
    else:
        img, sparse = np.load(f"{path}-img.npy"), np.load(f"{path}-lab.npy")
    before = _peak_rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    r = segment_stack(ImageStack(img, 20e-9, 20e-9), sparse, phases={"pore": 1, "solid": 2},
                      n_trees=64, max_memory=1 << 30)
    out = {"case": "large", "n": n, "wall_s": time.perf_counter() - t0,
           "cpu_s": time.process_time() - c0, "peak_rss_mib": _peak_rss_mib(),
           "rss_after_data_mib": before, "porosity": r["fraction_pore"].value}
    if path is not None:
        pore = np.asarray(r.volume.labels) == 1
        truth = np.load(f"{path}-truth.npy", mmap_mode="r")
        out["accuracy"] = float(np.mean(pore == truth))
        out["true_porosity"] = float(np.mean(truth))
    return out


def _run(args, timed=False):
    cmd = [sys.executable, __file__, "--case", *args]
    if timed and os.path.exists("/usr/bin/time"):
        cmd = ["/usr/bin/time", "-v", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    if out.returncode:
        return {"case": " ".join(args), "error": out.stderr.strip()[-400:]}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    for line in out.stderr.splitlines():
        if "Maximum resident set size" in line:  # /usr/bin/time -v, kB
            res["time_v_max_rss_mib"] = int(line.split()[-1]) / 1024
    return res


def _median(runs):
    """The median of each numeric field over repeated runs (the runs kept under ``runs``)."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    med = dict(ok[0])
    for k, v in ok[0].items():
        if isinstance(v, float):
            med[k] = float(np.median([r[k] for r in ok]))
    med["repeats"] = len(ok)
    med["wall_s_all"] = [round(r.get("wall_s", r.get("features_wall_s", np.nan)), 2) for r in ok]
    return med


def _summary(results):
    by = {r["case"]: r for r in results if "error" not in r}
    lines = []
    io = by.get("reg-ionscale")
    if io:
        for m in ("skimage", "skimage100", "pystackreg"):
            o = by.get(f"reg-{m}")
            if o:
                lines.append(f"(a) registration vs {m:11s}: {o['wall_s'] / io['wall_s']:6.2f}x "
                             f"wall, {o['cpu_s'] / io['cpu_s']:6.2f}x cpu; rms cumulative "
                             f"{io['rms_cumulative_px']:.3f} vs {o['rms_cumulative_px']:.3f} px, "
                             f"per pair {io['rms_pair_px']:.3f} vs {o['rms_pair_px']:.3f} px")
    fi, fs = by.get("feat-ionscale"), by.get("feat-skimage")
    if fi and fs:
        lines.append(f"(b) features vs skimage: {fs['wall_s'] / fi['wall_s']:6.2f}x wall, "
                     f"{fs['cpu_s'] / fi['cpu_s']:6.2f}x cpu ({fi['features']} vs "
                     f"{fs['features']} features; per feature "
                     f"{(fs['wall_s'] / fs['features']) / (fi['wall_s'] / fi['features']):.2f}x)")
    lg = by.get("large")
    if lg:
        peak = lg.get("time_v_max_rss_mib", lg["peak_rss_mib"])
        lines.append(f"(c) {lg['n']}^3 segmentation: peak {peak / 1024:.2f} GiB "
                     f"(goal 4 GiB), {lg['wall_s']:.0f} s wall")
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--case", nargs="+")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    p.add_argument("--large", type=int, default=512)
    p.add_argument("--reg-n", type=int, default=None, help="slices (default 200)")
    p.add_argument("--reg-size", type=int, default=None, help="slice side (default 1024)")
    p.add_argument("--vol", type=int, default=None, help="feature/segmentation side (256)")
    p.add_argument("--repeats", type=int, default=3,
                   help="fresh-process repeats of the reg-* and feat-* cases (medians)")
    p.add_argument("--only", default="reg,feat,seg,large",
                   help="comma-separated groups to run: reg, feat, seg, large")
    p.add_argument("--out", default=None, help="JSON file for the results")
    a = p.parse_args()
    if a.case:
        kind = a.case[0]
        if kind == "reg":
            res = case_reg(a.case[1], int(a.case[2]), int(a.case[3]))
        elif kind == "seg":
            res = case_seg(a.case[1], int(a.case[2]))
        elif kind == "feat":
            res = case_feat(a.case[1], int(a.case[2]))
        elif kind == "prep-large":
            res = prep_large(int(a.case[1]), a.case[2])
        else:
            res = case_large(int(a.case[1]), a.case[2] if len(a.case) > 2 else None)
        print(json.dumps(res))
        return
    n, size, vol = (20, 256, 64) if a.quick else (200, 1024, 256)
    n, size, vol = a.reg_n or n, a.reg_size or size, a.vol or vol
    groups = set(a.only.split(","))
    results = []
    if "reg" in groups:
        for m in ("ionscale", "skimage", "skimage100", "pystackreg"):
            results.append(_median([_run(["reg", m, str(n), str(size)])
                                    for _ in range(a.repeats)]))
            print(json.dumps(results[-1]), flush=True)
    if "feat" in groups:
        for m in ("ionscale", "skimage"):
            results.append(_median([_run(["feat", m, str(vol)]) for _ in range(a.repeats)]))
            print(json.dumps(results[-1]), flush=True)
    if "seg" in groups:
        for m in ("ionscale", "skimage"):
            results.append(_run(["seg", m, str(vol)]))
            print(json.dumps(results[-1]), flush=True)
    if "large" in groups:
        import tempfile

        nl = 64 if a.quick else a.large
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "large")
            prep = _run(["prep-large", str(nl), path])
            results.append(prep if "error" in prep else
                           _run(["large", str(nl), path], timed=True))
        print(json.dumps(results[-1]), flush=True)
    for line in _summary(results):
        print(line, flush=True)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
