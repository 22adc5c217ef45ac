"""Circuit fits: synthetic round trips with coverage, automatic starting values on real data,
weighting/domain options, bad input."""

from __future__ import annotations

import json
import math
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from ionscale.datasets.synthetic_eis import (
    default_frequencies,
    simulate_spectrum,
    temperature_series,
)
from ionscale.errors import FitWarning, InputError
from ionscale.impedance.circuits import Circuit
from ionscale.impedance.data import spectrum_from_arrays
from ionscale.impedance.fit import (
    arc_permutation,
    fit_circuit,
    initial_guess,
    permute_fit,
)
from ionscale.units import BOLTZMANN_EV

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "eis" / "eisfitpython-s04147"

# short spectra keep the coverage runs fast: 1 MHz to 0.1 Hz, 3 points per decade
SHORT = np.logspace(6, -1, 22)

CASES = {
    "R0-p(R1,C1)": {"R0": 20.0, "R1": 1e3, "C1": 1e-7},
    "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3": {
        "R0": 50.0, "R1": 1e4, "CPE1_Q": 3e-10, "CPE1_alpha": 0.92, "R2": 3e4,
        "CPE2_Q": 2e-7, "CPE2_alpha": 0.8, "CPE3_Q": 1e-5, "CPE3_alpha": 0.85},
    "R0-p(R1-Ws1,CPE1)": {"R0": 10.0, "R1": 200.0, "Ws1_R": 500.0, "Ws1_tau": 1.0,
                          "CPE1_Q": 2e-6, "CPE1_alpha": 0.9},
    "L0-R0-p(R1,CPE1)-G1": {"L0": 2e-6, "R0": 5.0, "R1": 100.0, "CPE1_Q": 1e-5,
                            "CPE1_alpha": 0.85, "G1_R": 300.0, "G1_tau": 0.05},
}


def _quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit_circuit(*args, **kwargs)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("text", list(CASES))
def test_round_trip_coverage(text):
    """Over 100 noisy replicas the 2σ intervals hold the truth ~95 % of the time and χ²/dof ≈ 1."""
    truth = CASES[text]
    c = Circuit(text)
    rng = np.random.default_rng(zlib.crc32(text.encode()))  # hash() differs between runs
    inside, red = [], []
    for _ in range(100):
        s = simulate_spectrum(c, truth, SHORT, noise=0.01, seed=rng)
        res = _quiet_fit(s, c, truth, weighting="sigma")
        v, e = res.fit.values, res.fit.errors
        t = np.array([truth[n] for n in c.parameter_names])
        inside.append(np.abs(v - t) <= 2 * e)
        red.append(res.fit.reduced_chi2)
    inside = np.array(inside)
    assert 0.92 <= inside.mean() <= 0.985, inside.mean(axis=0)
    assert np.all(inside.mean(axis=0) >= 0.87), inside.mean(axis=0)
    assert np.mean(red) == pytest.approx(1.0, abs=0.1)


def test_round_trip_single_replica_within_two_sigma():
    truth = CASES["R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"]
    s = simulate_spectrum("R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", truth, noise=0.01, seed=11)
    res = fit_circuit(s, "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", weighting="sigma")  # no guess
    for name, value in truth.items():
        assert abs(res[name].value - value) < 2 * res[name].error, name


def test_modulus_weighting_coverage_with_scaled_errors():
    """Relative noise with modulus weights: errors scaled by χ²_red still cover the truth."""
    text = "R0-p(R1,CPE1)"
    truth = {"R0": 30.0, "R1": 5e3, "CPE1_Q": 2e-8, "CPE1_alpha": 0.88}
    rng = np.random.default_rng(5)
    inside = []
    for _ in range(100):
        s = simulate_spectrum(text, truth, SHORT, noise=0.02, seed=rng)
        res = _quiet_fit(s, text, truth, weighting="modulus")
        assert not res.fit.absolute_sigma
        t = np.array(list(truth.values()))
        inside.append(np.abs(res.fit.values - t) <= 2 * res.fit.errors)
    assert 0.9 <= np.mean(inside) <= 0.99


@pytest.mark.parametrize("weighting", ["unit", "modulus", "proportional"])
@pytest.mark.parametrize("domain", ["impedance", "admittance"])
def test_exact_data_recovered_with_every_weighting_and_domain(weighting, domain):
    text = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
    truth = CASES[text]
    s = simulate_spectrum(text, truth, noise=0)
    start = {k: v * (1.2 if "alpha" not in k else 1.0) for k, v in truth.items()}
    res = _quiet_fit(s, text, start, weighting=weighting, domain=domain)
    for name, value in truth.items():
        assert res.fit.value(name) == pytest.approx(value, rel=1e-5), name


def test_sigma_weighting_in_admittance_domain():
    text = "R0-p(R1,CPE1)"
    truth = {"R0": 30.0, "R1": 5e3, "CPE1_Q": 2e-8, "CPE1_alpha": 0.88}
    s = simulate_spectrum(text, truth, noise=0.01, seed=4)
    z = fit_circuit(s, text, truth, weighting="sigma")
    y = fit_circuit(s, text, truth, weighting="sigma", domain="admittance")
    for name in truth:
        assert abs(z[name].value - y[name].value) < 0.5 * z[name].error
    assert y.fit.reduced_chi2 == pytest.approx(1.0, abs=0.4)


# --------------------------------------------------------------------------- starting values


@pytest.mark.parametrize("text", list(CASES))
def test_automatic_starting_values_find_the_truth(text):
    truth = CASES[text]
    s = simulate_spectrum(text, truth, noise=0.003, seed=2)
    res = _quiet_fit(s, text, weighting="sigma")
    assert res.fit.reduced_chi2 < 1.5
    for name, value in truth.items():
        assert abs(res[name].value - value) < 4 * res[name].error, name


def test_automatic_starting_values_temperature_series():
    c = "p(R1,CPE1)-p(R2,CPE2)-CPE3"
    for s in temperature_series(seed=3):
        res = _quiet_fit(s, c, weighting="sigma")
        truth = s.metadata["true_parameters"]
        assert res.fit.reduced_chi2 < 1.5
        for name in ("R1", "R2", "CPE3_alpha"):
            assert abs(res[name].value - truth[name]) < 4 * res[name].error, (s.temperature,
                                                                              name)


def test_partial_initial_values_are_kept_and_completed():
    text = "R0-p(R1,C1)"
    s = simulate_spectrum(text, CASES[text], noise=0)
    g = initial_guess(s, text, known={"R0": 25.0})
    assert g["R0"] == 25.0
    assert g["R1"] == pytest.approx(1e3, rel=0.3) and g["C1"] == pytest.approx(1e-7, rel=0.5)


# EISFitPython's published fits of these files (Example 3, modulus weighting):
# (R1, R2) in ohm at 140 ... 200 °C
EISFIT = {140: (1.462e5, 2.012e6), 150: (1.123e5, 1.139e6), 160: (7.949e4, 6.673e5),
          170: (5.605e4, 3.980e5), 180: (3.984e4, 2.430e5), 190: (2.743e4, 1.526e5),
          200: (2.246e4, 9.502e4)}


@pytest.mark.skipif(not DATA.is_dir(), reason="shared data not available")
def test_real_solid_electrolyte_without_a_guess():
    """s04147 at 140-200 °C, p(R1,CPE1)-p(R2,CPE2)-CPE3 from automatic starting values: the
    optimum published by EISFitPython (the small fast arc R1, the large arc R2)."""
    R1, R2 = [], []
    for T, (r1, r2) in EISFIT.items():
        d = np.loadtxt(DATA / f"s04147-{T}deg.txt", skiprows=3)
        s = spectrum_from_arrays(d[:, 0], real=d[:, 1], imag=d[:, 2],
                                 temperature=T + 273.15)
        res = _quiet_fit(s, "p(R1,CPE1)-p(R2,CPE2)-CPE3")
        assert res.fit.reduced_chi2 < 2e-4  # ~1 % relative misfit
        assert res["R1"].value == pytest.approx(r1, rel=0.01), T
        assert res["R2"].value == pytest.approx(r2, rel=0.01), T
        taus = [t.tau for t in res.time_constants()]
        assert taus[0] < taus[1]  # arcs in string order of increasing τ
        R1.append(res["R1"].value)
        R2.append(res["R2"].value)
    assert np.all(np.diff(R1) < 0) and np.all(np.diff(R2) < 0)


# --------------------------------------------------------------------------- options


def test_fixed_parameters():
    text = "R0-p(R1,CPE1)"
    truth = {"R0": 30.0, "R1": 5e3, "CPE1_Q": 2e-8, "CPE1_alpha": 0.88}
    s = simulate_spectrum(text, truth, noise=0.01, seed=1)
    res = fit_circuit(s, text, fixed={"CPE1_alpha": 0.88}, weighting="sigma")
    assert res["CPE1_alpha"].value == 0.88 and res["CPE1_alpha"].error == 0
    assert res.fit.free == (True, True, True, False)
    res2 = fit_circuit(s, text, {**truth, "R0": 31.0}, fixed=["R0"], weighting="sigma")
    assert res2["R0"].value == 31.0
    with pytest.raises(InputError, match="no value"):
        fit_circuit(s, text, fixed=["R0"])
    with pytest.raises(InputError):
        fit_circuit(s, text, fixed=["R9"])


def test_bounds_are_respected():
    text = "R0-p(R1,CPE1)"
    truth = {"R0": 30.0, "R1": 5e3, "CPE1_Q": 2e-8, "CPE1_alpha": 0.88}
    s = simulate_spectrum(text, truth, noise=0.01, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        res = fit_circuit(s, text, truth, bounds={"R1": (100.0, 4e3)}, weighting="sigma")
    assert any("R1 ended at the upper bound" in str(w.message) for w in caught)
    assert any(d.code == "at-bound" and d.fields == ("R1",) for d in res.diagnostics)
    assert res.status == "warning"
    assert 100.0 <= res["R1"].value <= 4e3
    with pytest.raises(InputError):
        fit_circuit(s, text, truth, bounds={"R1": (1.0,)})


def test_multistart_escapes_a_bad_start_and_is_reproducible():
    text = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
    truth = CASES[text]
    s = simulate_spectrum(text, truth, noise=0.01, seed=8)
    bad = {**truth, "R0": 2e3, "R1": 1e2, "CPE1_Q": 1e-6}
    single = _quiet_fit(s, text, bad, weighting="sigma", auto_start=False)
    multi = _quiet_fit(s, text, bad, weighting="sigma", multistart=8, seed=3,
                       auto_start=False)
    again = _quiet_fit(s, text, bad, weighting="sigma", multistart=8, seed=3,
                       auto_start=False)
    assert single.fit.reduced_chi2 > 10  # stuck in a local minimum
    assert multi.fit.reduced_chi2 < 1.5
    assert np.array_equal(multi.fit.values, again.fit.values)
    # by default the automatic start is fitted too, and the result says it won
    rescued = _quiet_fit(s, text, bad, weighting="sigma")
    assert rescued.fit.reduced_chi2 < 1.5
    assert [d.code for d in rescued.diagnostics] == ["auto-start"]
    assert rescued.provenance.parameters["start"] == "automatic"


def test_frequency_window():
    text = "R0-p(R1,C1)"
    s = simulate_spectrum(text, CASES[text], noise=0.01, seed=1)
    res = fit_circuit(s, text, CASES[text], fmin=1.0, fmax=1e5)
    assert res.frequency.min() >= 1.0 and res.frequency.max() <= 1e5
    with pytest.raises(InputError):
        fit_circuit(s, text, CASES[text], fmin=1e7)


def test_arc_relabelling_keeps_the_model():
    text = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
    truth = CASES[text]
    s = simulate_spectrum(text, truth, noise=0.01, seed=3)
    swapped = {**truth, "R1": truth["R2"], "CPE1_Q": truth["CPE2_Q"],
               "CPE1_alpha": truth["CPE2_alpha"], "R2": truth["R1"],
               "CPE2_Q": truth["CPE1_Q"], "CPE2_alpha": truth["CPE1_alpha"]}
    kept = fit_circuit(s, text, swapped, weighting="sigma")  # user labels are kept
    assert kept["R1"].value == pytest.approx(truth["R2"], rel=0.05)
    c = Circuit(text)
    perm = arc_permutation(c, kept.fit.values, free=kept.fit.free)
    assert perm is not None
    fixed_up = permute_fit(kept.fit, perm)
    assert fixed_up.value("R1") == kept.fit.value("R2")
    assert fixed_up.error("CPE1_Q") == kept.fit.error("CPE2_Q")
    assert fixed_up.covariance[1, 2] == kept.fit.covariance[4, 5]
    assert np.allclose(c.impedance(s.frequency, fixed_up.values),
                       c.impedance(s.frequency, kept.fit.values), rtol=1e-12)
    sorted_fit = fit_circuit(s, text, swapped, weighting="sigma", sort_arcs=True)
    assert sorted_fit["R1"].value == pytest.approx(truth["R1"], rel=0.05)
    assert arc_permutation(c, sorted_fit.fit.values) is None


# --------------------------------------------------------------------------- result


def test_circuit_fit_result(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    text = "R0-p(R1,CPE1)"
    truth = {"R0": 30.0, "R1": 5e3, "CPE1_Q": 2e-8, "CPE1_alpha": 0.88}
    s = simulate_spectrum(text, truth, noise=0.01, seed=1, temperature=300.0)
    res = fit_circuit(s, text, weighting="sigma")
    assert np.allclose(res.predict(res.frequency), res.model, rtol=1e-12)
    assert np.std(res.residual_percent.real) == pytest.approx(1.0, rel=0.3)
    assert res.temperature == 300.0
    assert res["R1"].unit == "ohm" and res["CPE1_Q"].unit == "F s^(α-1)"
    tau = res.time_constants()[0]
    assert res["CPE1_tau"].value == pytest.approx(tau.tau, rel=1e-12)
    assert res["CPE1_C"].value == pytest.approx(tau.capacitance, rel=1e-12)
    assert 0 < res["CPE1_C"].error < res["CPE1_C"].value
    corr = res.fit.correlation
    assert np.allclose(np.diag(corr), 1.0)
    assert math.isfinite(res.fit.aic)
    json.dumps(res.to_dict())
    assert "R1 =" in res.summary()
    for kind in ("nyquist", "bode", "residuals"):
        ax = res.plot(kind=kind)
        ax.figure.savefig(tmp_path / f"{kind}.png")
    ax = res.plot(kind="nyquist")
    assert ax.get_aspect() == 1.0
    assert ax.get_ylabel().startswith("−Z″")
    with pytest.raises(InputError):
        res.plot(kind="polar")


# --------------------------------------------------------------------------- bad input


def test_bad_fit_arguments():
    text = "R0-p(R1,C1)"
    s = simulate_spectrum(text, CASES[text], noise=0.01, seed=1)
    with pytest.raises(InputError, match="4 value"):
        fit_circuit(s, text, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InputError, match="unknown"):
        fit_circuit(s, text, {"R5": 1.0})
    with pytest.raises(InputError, match="weighting"):
        fit_circuit(s, text, weighting="chi")
    with pytest.raises(InputError, match="domain"):
        fit_circuit(s, text, domain="modulus")
    with pytest.raises(InputError, match="multistart"):
        fit_circuit(s, text, multistart=-1)
    with pytest.raises(InputError, match="position 11"):
        fit_circuit(s, "R0-p(R1,C1")
    with pytest.raises(InputError):
        fit_circuit((s.frequency, s.impedance), text)
    exact = simulate_spectrum(text, CASES[text], noise=0)
    with pytest.raises(InputError, match="sigma"):
        fit_circuit(exact, text, weighting="sigma")


@pytest.mark.parametrize(
    "f, z",
    [
        ([1.0, 2.0, 2.0, 3.0], [1, 1, 1, 1]),  # duplicate frequency
        ([1.0, 3.0, 2.0, 4.0], [1, 1, 1, 1]),  # not monotonic
        ([0.0, 1.0, 2.0], [1, 1, 1]),  # zero frequency
        ([1.0, 2.0, 3.0], [1, np.nan, 1]),  # NaN
    ],
)
def test_bad_spectra_are_input_errors(f, z):
    with pytest.raises(InputError):
        spectrum_from_arrays(f, np.asarray(z, complex))


# --------------------------------------------------------------------------- synthetic data


def test_simulated_noise_matches_sigma():
    text = "R0-p(R1,C1)"
    c = Circuit(text)
    s = simulate_spectrum(text, CASES[text], np.logspace(6, -1, 2000), noise=0.02, seed=0)
    clean = c.impedance(s.frequency, CASES[text])
    assert np.allclose(s.sigma, 0.02 * np.abs(clean))
    z = (s.impedance - clean) / s.sigma
    assert np.std(z.real) == pytest.approx(1.0, abs=0.05)
    assert np.std(z.imag) == pytest.approx(1.0, abs=0.05)
    a = simulate_spectrum(text, CASES[text], noise=5.0, noise_model="absolute", seed=0)
    assert np.all(a.sigma == 5.0)
    f = default_frequencies()
    assert f.size == 71 and f[0] == pytest.approx(1e6) and f[-1] == pytest.approx(0.1)
    assert simulate_spectrum(text, CASES[text], noise=0).sigma is None
    with pytest.raises(InputError):
        simulate_spectrum(text, CASES[text], noise_model="gaussian")


def test_temperature_series_is_arrhenius():
    T = np.array([260.0, 290.0, 320.0])
    spectra = temperature_series(T, noise=0)
    R = np.array([s.metadata["true_parameters"]["R1"] for s in spectra])
    slope = np.polyfit(1 / T, np.log(R / T), 1)[0]
    assert slope * BOLTZMANN_EV == pytest.approx(0.35, rel=1e-9)
    assert [s.temperature for s in spectra] == list(T)
    with pytest.raises(InputError):
        temperature_series([-5.0])
