"""FIB-SEM preprocessing and segmentation against the reference tools, side by side.

Run (scikit-learn and pystackreg live in a separate environment, not ionscale's)::

    python -m venv .venv-bench-img
    .venv-bench-img/bin/pip install -e . scikit-learn pystackreg
    .venv-bench-img/bin/python benchmarks/bench_imaging.py [--quick] [--large 384]

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
* ``large``: ionscale's segmentation of an N³ stack (default 384³), peak memory.
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


def case_large(n):
    from ionscale.imaging import ImageStack, segment_stack

    img, lab, sparse = _seg_data(n)
    del lab
    before = _peak_rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    r = segment_stack(ImageStack(img, 20e-9, 20e-9), sparse, phases={"pore": 1, "solid": 2},
                      n_trees=64, max_memory=1 << 30)
    return {"case": "large", "n": n, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0, "peak_rss_mib": _peak_rss_mib(),
            "rss_after_data_mib": before, "porosity": r["fraction_pore"].value}


def _run(args):
    cmd = [sys.executable, __file__, "--case", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    if out.returncode:
        return {"case": " ".join(args), "error": out.stderr.strip()[-400:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--case", nargs="+")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    p.add_argument("--large", type=int, default=384)
    p.add_argument("--out", default=None, help="JSON file for the results")
    a = p.parse_args()
    if a.case:
        kind = a.case[0]
        if kind == "reg":
            res = case_reg(a.case[1], int(a.case[2]), int(a.case[3]))
        elif kind == "seg":
            res = case_seg(a.case[1], int(a.case[2]))
        else:
            res = case_large(int(a.case[1]))
        print(json.dumps(res))
        return
    n, size, vol = (20, 256, 64) if a.quick else (200, 1024, 256)
    results = []
    for m in ("ionscale", "skimage", "skimage100", "pystackreg"):
        results.append(_run(["reg", m, str(n), str(size)]))
        print(json.dumps(results[-1]), flush=True)
    for m in ("ionscale", "skimage"):
        results.append(_run(["seg", m, str(vol)]))
        print(json.dumps(results[-1]), flush=True)
    results.append(_run(["large", str(64 if a.quick else a.large)]))
    print(json.dumps(results[-1]), flush=True)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
