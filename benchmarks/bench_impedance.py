"""Equivalent-circuit fits: ionscale against impedance.py on the same synthetic spectra.

Run with the benchmark environment (it has impedance.py)::

    .venv-bench/bin/python benchmarks/bench_impedance.py [--n 1000] [--json out.json]

N spectra of ``R0-p(R1,CPE1)-p(R2,CPE2)-CPE3`` (bulk arc, grain-boundary arc, blocking
electrode) are drawn with a realistic spread of parameters (fixed seed) and 1 % proportional
noise, 1 MHz to 0.1 Hz with 10 points per decade. Each spectrum is fitted

* by ionscale, ``fit_circuit(spectrum, circuit, initial=start, weighting="modulus")``;
* by impedance.py, ``CustomCircuit(circuit, initial_guess=start).fit(f, Z,
  weight_by_modulus=True)``;

from the SAME starting values (the truth perturbed by up to ×10^±0.25, exponents lowered by up
to 0.08), with the same objective: residuals ``(Z_model − Z)/|Z|`` of the real and imaginary
parts (``--weighting unit`` compares unweighted fits instead). χ² is recomputed here for both
with the same formula and the same circuit evaluation. Reported: milliseconds per spectrum
(one core), their ratio, the median relative difference of the parameters, the fraction of
spectra where ionscale's χ² ≤ impedance.py's × 1.0001, and the median error against the truth.
ionscale's automatic start (``fit_circuit`` without ``initial``), the DRT
(``compute_drt``) and the Kramers-Kronig test (``kramers_kronig``) are timed as well.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
NAMES = ("R0", "R1", "CPE1_Q", "CPE1_alpha", "R2", "CPE2_Q", "CPE2_alpha", "CPE3_Q",
         "CPE3_alpha")
ALPHAS = (3, 6, 8)
TOLERANCE = 1.0001


def draw_parameters(rng: np.random.Generator) -> np.ndarray:
    """One realistic parameter set (SI) of a pellet with bulk, grain boundary and electrode.

    Arcs are drawn by resistance and apex frequency; the CPE coefficient follows from the
    effective (Brug) capacitance, ``Q = C^α R^(α−1)``.
    """
    R0 = 10 ** rng.uniform(0.0, 2.0)
    R1 = 10 ** rng.uniform(3.0, 5.0)
    f1 = 10 ** rng.uniform(3.5, 5.3)  # bulk apex 3 kHz - 200 kHz
    a1 = rng.uniform(0.85, 1.0)
    C1 = 1.0 / (2 * math.pi * f1 * R1)
    R2 = R1 * 10 ** rng.uniform(-0.5, 1.0)
    f2 = f1 / 10 ** rng.uniform(1.5, 3.0)  # grain boundary 1.5 - 3 decades lower
    a2 = rng.uniform(0.7, 0.95)
    C2 = 1.0 / (2 * math.pi * f2 * R2)
    Q3 = 10 ** rng.uniform(-7.0, -5.0)
    a3 = rng.uniform(0.6, 0.9)
    return np.array([R0, R1, C1**a1 * R1 ** (a1 - 1), a1, R2, C2**a2 * R2 ** (a2 - 1), a2,
                     Q3, a3])


def perturb(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Starting values a user might give: within ×10^±0.25 of the truth, α up to 0.08 low."""
    start = p.copy()
    for i in range(p.size):
        if i in ALPHAS:
            start[i] = min(p[i] - rng.uniform(0.0, 0.08), 0.99)
        else:
            start[i] = p[i] * 10 ** rng.uniform(-0.25, 0.25)
    return start


def chi2(circuit, spectrum, params, weighting: str) -> float:
    """Σ of squared residuals (real and imaginary) with the benchmark's weighting."""
    z = circuit.impedance(spectrum.frequency, np.asarray(params, dtype=float))
    r = z - spectrum.impedance
    if weighting == "modulus":
        r = r / np.abs(spectrum.impedance)
    return float(np.sum(r.real**2 + r.imag**2))


def timed(func):
    t0 = time.perf_counter()
    out = func()
    return out, time.perf_counter() - t0


def _stats(ms: np.ndarray) -> dict:
    ms = ms[np.isfinite(ms)]
    if ms.size == 0:
        return {"mean_ms": math.nan, "median_ms": math.nan, "n": 0}
    return {"mean_ms": float(np.mean(ms)), "median_ms": float(np.median(ms)), "n": int(ms.size)}


def run(n: int, seed: int, noise: float, weighting: str, aux_n: int, progress: bool) -> dict:
    from impedance.models.circuits import CustomCircuit

    from ionscale.datasets.synthetic_eis import default_frequencies, simulate_spectrum
    from ionscale.impedance.circuits import Circuit
    from ionscale.impedance.fit import fit_circuit

    try:
        from ionscale.impedance.drt import compute_drt
    except ImportError:
        compute_drt = None
    try:
        from ionscale.impedance.kramers_kronig import kramers_kronig
    except ImportError:
        kramers_kronig = None

    circuit = Circuit(CIRCUIT)
    assert circuit.parameter_names == NAMES
    rng = np.random.default_rng(seed)
    freq = default_frequencies()
    cases = []
    for _ in range(n):
        p = draw_parameters(rng)
        cases.append((p, perturb(p, rng), simulate_spectrum(circuit, p, freq, noise=noise,
                                                            seed=rng)))
    # the two tools evaluate the same model
    p, _, s = cases[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z_ref = CustomCircuit(CIRCUIT, initial_guess=list(p)).predict(s.frequency,
                                                                      use_initial=True)
    model_gap = float(np.max(np.abs(z_ref - circuit.impedance(s.frequency, p)) / np.abs(z_ref)))

    ion_w = "modulus" if weighting == "modulus" else "unit"
    # warm-up (imports, caches) outside the timings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_circuit(s, circuit, initial=list(cases[0][1]), weighting=ion_w)
        CustomCircuit(CIRCUIT, initial_guess=list(cases[0][1])).fit(
            s.frequency, s.impedance, weight_by_modulus=weighting == "modulus")

    t_is = np.full(n, np.nan)
    t_imp = np.full(n, np.nan)
    t_auto = np.full(n, np.nan)
    chi_is = np.full(n, np.nan)
    chi_imp = np.full(n, np.nan)
    chi_auto = np.full(n, np.nan)
    p_is = np.full((n, len(NAMES)), np.nan)
    p_imp = np.full((n, len(NAMES)), np.nan)
    p_auto = np.full((n, len(NAMES)), np.nan)
    fail_is = fail_imp = fail_auto = 0
    bar = _progress(n, progress, "fits")
    for i, (_, start, spec) in enumerate(cases):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res, dt = timed(lambda s=spec, x=start: fit_circuit(
                    s, circuit, initial=list(x), weighting=ion_w))
                t_is[i], p_is[i] = dt, res.fit.values
                chi_is[i] = chi2(circuit, spec, p_is[i], weighting)
            except Exception:  # noqa: BLE001 - a benchmark counts failures
                fail_is += 1
            try:
                cc = CustomCircuit(CIRCUIT, initial_guess=list(start))
                _, dt = timed(lambda s=spec, c=cc: c.fit(
                    s.frequency, s.impedance, weight_by_modulus=weighting == "modulus"))
                t_imp[i], p_imp[i] = dt, cc.parameters_
                chi_imp[i] = chi2(circuit, spec, p_imp[i], weighting)
            except Exception:  # noqa: BLE001
                fail_imp += 1
            try:
                res, dt = timed(lambda s=spec: fit_circuit(s, circuit, weighting=ion_w))
                t_auto[i], p_auto[i] = dt, res.fit.values
                chi_auto[i] = chi2(circuit, spec, p_auto[i], weighting)
            except Exception:  # noqa: BLE001
                fail_auto += 1
        bar.update()
    bar.close()

    both = np.isfinite(chi_is) & np.isfinite(chi_imp)
    le = chi_is[both] <= chi_imp[both] * TOLERANCE
    same_min = both.copy()
    same_min[both] = np.abs(chi_is[both] - chi_imp[both]) <= 1e-3 * chi_imp[both]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_diff = np.abs(p_is - p_imp) / np.abs(p_imp)
        truth = np.array([c[0] for c in cases])
        err_is = np.abs(p_is - truth) / np.abs(truth)
        err_imp = np.abs(p_imp - truth) / np.abs(truth)
        err_auto = np.abs(p_auto - truth) / np.abs(truth)
    # R0 is often unresolved (bulk apex near the top frequency): judge agreement on the rest
    core = [i for i, nm in enumerate(NAMES) if nm != "R0"]

    out = {
        "config": {"n": n, "seed": seed, "noise": noise, "weighting": weighting,
                   "circuit": CIRCUIT, "frequencies": f"{freq.max():g}-{freq.min():g} Hz, "
                   f"{freq.size} points", "start": "truth x10^U(-0.25,0.25), alpha -U(0,0.08)",
                   "python": sys.version.split()[0], "machine": platform.machine(),
                   "threads": os.environ.get("OMP_NUM_THREADS")},
        "model_gap_relative": model_gap,
        "ionscale": {**_stats(t_is * 1e3), "failures": fail_is},
        "impedance.py": {**_stats(t_imp * 1e3), "failures": fail_imp},
        "ionscale_auto_start": {**_stats(t_auto * 1e3), "failures": fail_auto},
        "ratio_mean": float(np.nanmean(t_imp) / np.nanmean(t_is)),
        "ratio_median_per_spectrum": float(np.nanmedian(t_imp / t_is)),
        "chi2_fraction_ionscale_le": float(np.mean(le)) if le.size else math.nan,
        "chi2_fraction_auto_le": float(np.mean(
            chi_auto[both] <= chi_imp[both] * TOLERANCE)) if both.any() else math.nan,
        "chi2_fraction_same_minimum": float(np.mean(same_min[both])) if both.any() else math.nan,
        "chi2_median_ratio_ionscale_over_impedancepy": float(np.nanmedian(chi_is / chi_imp)),
        "param_median_rel_diff": float(np.nanmedian(rel_diff[:, core])),
        "param_median_rel_diff_same_minimum": float(np.nanmedian(rel_diff[same_min][:, core]))
        if same_min.any() else math.nan,
        "param_median_rel_diff_by_name": {nm: float(np.nanmedian(rel_diff[:, i]))
                                          for i, nm in enumerate(NAMES)},
        "truth_median_rel_error": {
            "ionscale": {nm: float(np.nanmedian(err_is[:, i])) for i, nm in enumerate(NAMES)},
            "impedance.py": {nm: float(np.nanmedian(err_imp[:, i]))
                             for i, nm in enumerate(NAMES)},
            "ionscale_auto_start": {nm: float(np.nanmedian(err_auto[:, i]))
                                    for i, nm in enumerate(NAMES)},
        },
        "per_spectrum": {"chi2_ionscale": chi_is.tolist(), "chi2_impedancepy": chi_imp.tolist(),
                         "chi2_auto": chi_auto.tolist(), "ms_ionscale": (t_is * 1e3).tolist(),
                         "ms_impedancepy": (t_imp * 1e3).tolist()},
    }

    m = min(aux_n, n)
    for name, func in (("compute_drt", compute_drt), ("kramers_kronig", kramers_kronig)):
        if func is None:
            out[name] = {"available": False}
            continue
        kwargs = {"include_capacitance": True} if name == "kramers_kronig" else {}
        times, passed, fails = [], [], 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            func(cases[0][2], **kwargs)  # warm-up
            for _, _, spec in cases[:m]:
                try:
                    res, dt = timed(lambda s=spec, k=kwargs, f=func: f(s, **k))
                except Exception:  # noqa: BLE001
                    fails += 1
                    continue
                times.append(dt * 1e3)
                if name == "kramers_kronig":
                    passed.append("passed" in res.summary().splitlines()[0])
        out[name] = {"available": True, **_stats(np.asarray(times)), "failures": fails,
                     "options": kwargs}
        if passed:
            out[name]["pass_fraction_valid_spectra"] = float(np.mean(passed))
    return out


class _NoBar:
    def update(self, k: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(n: int, on: bool, desc: str):
    if not on:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=n, desc=desc, leave=False, file=sys.stderr)


def print_table(r: dict) -> None:
    c = r["config"]
    print(f"Impedance benchmark: {c['n']} spectra of {c['circuit']}, {c['frequencies']}, "
          f"{c['noise']:.0%} noise, seed {c['seed']}, weighting '{c['weighting']}', "
          f"threads {c['threads']}")
    print(f"start values: {c['start']} (same for both tools); "
          f"model evaluations agree to {r['model_gap_relative']:.1e}")
    print()
    print(f"{'':34s}{'mean ms':>10s}{'median ms':>11s}{'failures':>10s}")
    for key, label in (("ionscale", "ionscale fit_circuit"),
                       ("impedance.py", "impedance.py CustomCircuit.fit"),
                       ("ionscale_auto_start", "ionscale fit_circuit (auto start)")):
        s = r[key]
        print(f"{label:34s}{s['mean_ms']:10.2f}{s['median_ms']:11.2f}{s['failures']:10d}")
    for key, label in (("compute_drt", "ionscale compute_drt"),
                       ("kramers_kronig", "ionscale kramers_kronig")):
        s = r.get(key, {})
        if s.get("available"):
            extra = ""
            if "pass_fraction_valid_spectra" in s:
                extra = f"  (passes {s['pass_fraction_valid_spectra']:.0%} of valid spectra)"
            print(f"{label:34s}{s['mean_ms']:10.2f}{s['median_ms']:11.2f}{s['failures']:10d}"
                  f"{extra}")
        else:
            print(f"{label:34s}  not available")
    print()
    print(f"speed-up (impedance.py / ionscale): {r['ratio_mean']:.1f}x on the mean, "
          f"{r['ratio_median_per_spectrum']:.1f}x median per spectrum (goal >= 10x)")
    print(f"χ² ionscale <= impedance.py x {TOLERANCE}: {r['chi2_fraction_ionscale_le']:.1%} of "
          f"spectra (auto start: {r['chi2_fraction_auto_le']:.1%}); same minimum (0.1 %): "
          f"{r['chi2_fraction_same_minimum']:.1%}; median χ² ratio "
          f"{r['chi2_median_ratio_ionscale_over_impedancepy']:.4g}")
    print(f"median relative parameter difference (all but R0): {r['param_median_rel_diff']:.2e}"
          f"; where both found the same minimum: {r['param_median_rel_diff_same_minimum']:.2e}")
    print()
    print(f"{'median |p - truth|/truth':26s}" + "".join(f"{nm:>11s}" for nm in NAMES))
    for key in ("ionscale", "impedance.py", "ionscale_auto_start"):
        row = r["truth_median_rel_error"][key]
        print(f"{key:26s}" + "".join(f"{row[nm]:11.2e}" for nm in NAMES))
    print(f"{'ionscale vs impedance.py':26s}" + "".join(
        f"{r['param_median_rel_diff_by_name'][nm]:11.2e}" for nm in NAMES))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="number of spectra (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=0.01, help="relative noise (default 0.01)")
    ap.add_argument("--weighting", choices=("modulus", "unit"), default="modulus",
                    help="objective of both fits (default: residuals divided by |Z|)")
    ap.add_argument("--aux-n", type=int, default=None,
                    help="spectra for the DRT and KK timings (default: all)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        import impedance  # noqa: F401
    except ImportError:
        print("impedance.py is not installed: run with .venv-bench/bin/python", file=sys.stderr)
        return 2
    r = run(args.n, args.seed, args.noise, args.weighting,
            args.aux_n if args.aux_n is not None else args.n, not args.no_progress)
    print_table(r)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(r, fh, indent=1, allow_nan=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
