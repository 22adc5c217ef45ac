"""Linear Kramers-Kronig test: valid spectra pass, drifting and non-causal ones fail."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.datasets.synthetic_eis import simulate_spectrum, temperature_series
from ionscale.errors import InputError
from ionscale.impedance import spectrum_from_arrays
from ionscale.impedance.kramers_kronig import (
    KKResult,
    kk_series,
    kk_time_constants,
    kramers_kronig,
)

matplotlib.use("Agg")

# tests/impedance/ is one level below tests/: /work/main/tests/impedance -> /work/shared/data
EIS = Path(__file__).resolve().parents[3] / "shared" / "data" / "eis"
DATA = EIS / "eisfitpython-s04147"
LPSCL = EIS / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C.txt"

F = np.logspace(-1, 6, 71)  # Hz, 10 points per decade
W = 2 * np.pi * F


def zarc(r, tau, alpha, w=W):
    return r / (1 + (1j * w * tau) ** alpha)


def noisy(z, level, seed):
    """Gaussian noise of ``level`` × |Z| on the real and on the imaginary part."""
    rng = np.random.default_rng(seed)
    return z + level * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))


def two_arcs(r0=20.0, r1=100.0, r2=300.0, w=W):
    return r0 + zarc(r1, 1e-5, 0.9, w) + zarc(r2, 1e-2, 0.9, w)


def sweep_times(f=F):
    """Time at each point of a sweep from high to low frequency, 0.2 s + 3 periods per point."""
    dt = 0.2 + 3 / f
    return np.cumsum(dt[::-1])[::-1]


VALID = {
    "R-RC": 10 + zarc(100, 1e-3, 1.0),
    "two ZARCs": two_arcs(),
    "L-R-3 ZARCs": 5 + 1j * W * 1e-7 + zarc(100, 1e-5, 0.8) + zarc(300, 1e-3, 0.7)
    + zarc(1000, 1.0, 0.9),
    "Randles, finite Warburg": 10 + 1 / (1j * W * 2e-6 + 1 / (
        50 + 80 * np.tanh(np.sqrt(1j * W * 0.5)) / np.sqrt(1j * W * 0.5))),
}


# --------------------------------------------------------------------------- valid spectra


@pytest.mark.parametrize("name", list(VALID))
@pytest.mark.parametrize("level", [0.0, 0.001])
def test_valid_spectra_pass(name, level):
    z = noisy(VALID[name], level, seed=1)
    kk = kramers_kronig(spectrum_from_arrays(F, z))
    assert kk.passed
    assert kk.max_residual < 1.0
    assert kk.mu < 0.85 or kk.m == kk.provenance.parameters["max_m"]


def test_blocking_electrode_needs_the_series_capacitance():
    # a CPE spike at low frequency is KK-valid but no finite Voigt chain reaches it
    z = noisy(10 + zarc(100, 1e-4, 0.85) + 1 / (1e-4 * (1j * W) ** 0.8), 0.001, seed=2)
    s = spectrum_from_arrays(F, z)
    assert not kramers_kronig(s).passed
    kk = kramers_kronig(s, include_capacitance=True)
    assert kk.passed
    # the blocking element takes the angle of the spike: a CPE of α = 0.8, Q = 1e-4
    assert kk["alpha_C"].value == pytest.approx(0.8, abs=0.01)
    assert kk["Q"].value == pytest.approx(1e-4, rel=0.05)
    ideal = kramers_kronig(s, include_capacitance=True, capacitance_alpha=1.0)
    assert "C" in ideal.values and ideal["C"].value > 0 and "alpha_C" not in ideal.values


@pytest.mark.parametrize("level", [0.002, 0.005, 0.01])
def test_residuals_are_at_the_noise_level(level):
    kk = kramers_kronig(spectrum_from_arrays(F, noisy(two_arcs(), level, seed=3)))
    # σ estimated from the pseudo-χ² recovers the noise put in (per cent of |Z|)
    assert kk["noise"].value == pytest.approx(100 * level, rel=0.15)
    # the fit absorbs p of the 2N degrees of freedom: rms = σ sqrt((2N - p)/2N)
    dof = 2 * F.size - kk.m - 2
    assert kk.rms_residual == pytest.approx(100 * level * np.sqrt(dof / (2 * F.size)), rel=0.15)
    # and the largest residual is the extreme of ~2N Gaussian draws (≈ 2.9σ), not more
    assert 1.8 * 100 * level < kk.max_residual < 4.5 * 100 * level
    # the noise seen from point to point agrees with the noise from the residual sum
    assert kk["noise_data"].value == pytest.approx(100 * level, rel=0.2)


def test_exact_voigt_chain_is_reproduced():
    m = 24
    tau = kk_time_constants(F, m)
    rng = np.random.default_rng(4)
    r = rng.uniform(1, 50, m)
    z = 7.0 + (r / (1 + 1j * np.multiply.outer(W, tau))).sum(axis=1) + 1j * W * 3e-8
    kk = kramers_kronig(spectrum_from_arrays(F, z), m=m)
    assert kk.max_residual < 1e-8
    np.testing.assert_allclose(kk.resistances, r, rtol=1e-6)
    assert kk["R0"].value == pytest.approx(7.0, rel=1e-8)
    assert kk["L"].value == pytest.approx(3e-8, rel=1e-6)
    np.testing.assert_allclose(kk.model, z, rtol=1e-10)


@settings(max_examples=15)
@given(scale=st.floats(1e-3, 1e6))
def test_residuals_do_not_depend_on_the_impedance_scale(scale):
    z = noisy(two_arcs(), 0.002, seed=5)
    a = kramers_kronig(spectrum_from_arrays(F, z))
    b = kramers_kronig(spectrum_from_arrays(F, scale * z))
    assert b.m == a.m
    np.testing.assert_allclose(b.residual_real, a.residual_real, atol=1e-6)
    assert b["R0"].value == pytest.approx(scale * a["R0"].value, rel=1e-6)


def test_known_sigma_gives_a_chi2_test():
    level = 0.01
    z0 = two_arcs()
    sigma = level * np.abs(z0)
    z = noisy(z0, level, seed=6)
    good = kramers_kronig(spectrum_from_arrays(F, z, sigma=sigma))
    assert good.passed and good.chi2_p > 1e-3
    assert good.max_residual > 1.0  # fails the plain 1 % rule, passes the χ² test
    bad = kramers_kronig(spectrum_from_arrays(F, z, sigma=sigma / 3))
    assert not bad.passed and bad.chi2_p < 1e-3


# --------------------------------------------------------------------------- invalid spectra


@pytest.mark.parametrize("drift", [0.03, 0.05])
def test_drift_during_the_sweep_fails(drift):
    # every resistance grows linearly with time; the low frequencies are measured last
    t = sweep_times()
    g = 1 + drift * t / t.max()
    z = 20 * g + zarc(100 * g, 1e-5, 0.9) + zarc(300 * g, 1e-2, 0.9)
    kk = kramers_kronig(spectrum_from_arrays(F, noisy(z, 0.001, seed=7)))
    assert not kk.passed
    worst = np.argmax(np.maximum(np.abs(kk.residual_real), np.abs(kk.residual_imag)))
    assert F[worst] < 10.0  # the violation shows where the drift happened
    control = kramers_kronig(spectrum_from_arrays(F, noisy(two_arcs(), 0.001, seed=7)))
    assert control.passed


def test_real_part_fit_is_more_sensitive_to_drift():
    t = sweep_times()
    g = 1 + 0.03 * t / t.max()
    z = 20 + zarc(100, 1e-5, 0.9) + zarc(300 * g, 1e-2, 0.9)  # one arc drifts by 3 %
    for seed in range(4):
        s = spectrum_from_arrays(F, noisy(z, 0.001, seed=seed))
        complex_fit = kramers_kronig(s)
        real_fit = kramers_kronig(s, part="real")  # Z'' must follow from Z'
        assert not real_fit.passed
        assert real_fit.max_residual > 1.8 * complex_fit.max_residual


def test_non_causal_distortion_fails_but_a_causal_one_passes():
    z = two_arcs()
    bump = 0.05 * np.abs(z) * np.exp(-0.5 * ((np.log10(F) - 2) / 0.3) ** 2)
    # the same bump added to Z' alone violates KK...
    bad = kramers_kronig(spectrum_from_arrays(F, z + bump))
    assert not bad.passed
    # at the bump's centre (100 Hz) or its neighbour on the 10-per-decade grid (±26 %)
    assert F[np.argmax(np.abs(bad.residual_real))] == pytest.approx(100, rel=0.3)
    # ...while an extra arc of similar size is a valid process
    good = kramers_kronig(spectrum_from_arrays(F, z + zarc(20, 1.6e-3, 0.8)))
    assert good.passed


# --------------------------------------------------------------------------- μ criterion


def test_mu_stops_at_the_first_m_below_c():
    kk = kramers_kronig(spectrum_from_arrays(F, noisy(two_arcs(), 0.002, seed=9)))
    assert kk.mu_history[-1] < 0.85
    assert np.all(kk.mu_history[:-1] >= 0.85)
    assert kk.m == kk.provenance.parameters["min_m"] + kk.mu_history.size - 1
    # more elements than that over-fit the noise: μ falls further
    over = kramers_kronig(spectrum_from_arrays(F, noisy(two_arcs(), 0.002, seed=9)), m=60)
    assert over.mu < kk.mu


def test_m_grows_with_the_complexity_of_the_spectrum():
    ms = {}
    for name in ("R-RC", "L-R-3 ZARCs"):
        ms[name] = [kramers_kronig(spectrum_from_arrays(F, noisy(VALID[name], 0.001, s))).m
                    for s in range(5)]
    assert np.mean(ms["L-R-3 ZARCs"]) > np.mean(ms["R-RC"]) + 3
    assert min(ms["L-R-3 ZARCs"]) >= max(ms["R-RC"])


def test_original_rule_stops_early_on_a_sharp_relaxation():
    # why min_m exists: with M from 1, μ dips below c while a single RC is still unresolved
    s = spectrum_from_arrays(F, 10 + zarc(100, 1e-3, 1.0))
    early = kramers_kronig(s, min_m=1)
    assert early.m < 10 and early.max_residual > 10
    assert kramers_kronig(s).max_residual < 1


def test_time_constants_span_the_measured_range():
    tau = kk_time_constants(F, 15)
    assert tau[0] == pytest.approx(1 / W.max())
    assert tau[-1] == pytest.approx(1 / W.min())
    np.testing.assert_allclose(np.diff(np.log(tau)), np.log(tau[1] / tau[0]))
    wide = kk_time_constants(F, 15, tau_extension=1.0)
    assert wide[0] == pytest.approx(0.1 / W.max()) and wide[-1] == pytest.approx(10 / W.min())


# --------------------------------------------------------------------------- series


def test_series_of_stable_spectra_has_no_drift():
    spectra = [spectrum_from_arrays(F, noisy(two_arcs(), 0.001, seed=s)) for s in range(6)]
    series = kk_series(spectra)
    assert series.passed.all() and not series.drift and not series.residual_growth


def test_series_flags_growing_residuals_and_failures():
    t = sweep_times()
    spectra = []
    for k, rate in enumerate([0.0, 0.004, 0.008, 0.012, 0.016, 0.02]):
        g = 1 + rate * t / t.max()
        z = 20 * g + zarc(100 * g, 1e-5, 0.9) + zarc(300 * g, 1e-2, 0.9)
        spectra.append(spectrum_from_arrays(F, noisy(z, 0.0005, seed=k)))
    series = kk_series(spectra)
    assert series.residual_growth and series.drift
    assert series["trend_rho"].value > 0.8
    # a failing spectrum alone sets the flag
    bad = spectrum_from_arrays(F, two_arcs() + 0.05 * np.abs(two_arcs()) * np.exp(
        -0.5 * ((np.log10(F) - 2) / 0.3) ** 2))
    flagged = kk_series(spectra[:2] + [bad])
    assert flagged.drift and not flagged.passed[-1] and flagged["n_failed"].value == 1
    assert isinstance(flagged.plot(), matplotlib.axes.Axes)
    json.dumps(flagged.to_dict())


# --------------------------------------------------------------------------- output, inputs


def test_result_plots_and_serialises():
    kk = kramers_kronig(spectrum_from_arrays(F, noisy(two_arcs(), 0.001, seed=10)))
    assert isinstance(kk, KKResult)
    for kind in ("residuals", "nyquist"):
        assert isinstance(kk.plot(kind=kind), matplotlib.axes.Axes)
    d = json.loads(json.dumps(kk.to_dict()))
    assert d["values"]["M"]["value"] == kk.m
    assert len(d["data"]["residual_real"]) == F.size
    assert "passed" in kk.summary()
    with pytest.raises(InputError, match="kind"):
        kk.plot(kind="bode")


@pytest.mark.parametrize("kwargs, field", [
    ({"c": 0.0}, "c"), ({"c": 1.5}, "c"), ({"c": "x"}, "c"), ({"threshold": -1}, "threshold"),
    ({"max_m": 0}, "max_m"), ({"m": 0}, "m"), ({"m": 500}, "m"), ({"m": 2.5}, "m"),
    ({"min_m": True}, "min_m"), ({"part": "both"}, "part"),
    ({"tau_extension": -1}, "tau_extension"), ({"alpha": 1.0}, "alpha"),
    ({"tau_extension": "wide"}, "tau_extension"), ({"tau_extension": (1, 2, 3)}, "tau_extension"),
    ({"verdict": "strict"}, "verdict"), ({"capacitance_alpha": 1.5}, "capacitance_alpha"),
])
def test_bad_options_name_the_field(kwargs, field):
    s = spectrum_from_arrays(F, two_arcs())
    with pytest.raises(InputError) as err:
        kramers_kronig(s, **kwargs)
    assert err.value.field == field


def test_bad_data():
    with pytest.raises(InputError, match="Spectrum"):
        kramers_kronig({"f": F, "z": two_arcs()})
    with pytest.raises(InputError) as err:
        kramers_kronig(spectrum_from_arrays([1.0, 2.0, 3.0], [1.0, 0.0, 1.0]))
    assert err.value.field == "impedance"
    with pytest.raises(InputError, match="too few"):
        kramers_kronig(spectrum_from_arrays([1.0, 2.0, 3.0], [1 - 1j, 1 - 2j, 1 - 1j]),
                       part="imag", include_capacitance=True)
    for bad in ([], spectrum_from_arrays(F, two_arcs()), "abc"):
        with pytest.raises(InputError) as err:
            kk_series(bad)
        assert err.value.field == "spectra"
    with pytest.raises(InputError) as err:
        kk_series([spectrum_from_arrays(F, two_arcs()), None])
    assert err.value.field == "spectra[1]"


@settings(max_examples=25)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=6, max_size=6),
       st.integers(3, 30))
def test_any_finite_spectrum_gives_a_result_or_an_input_error(values, n):
    f = np.logspace(0, 5, n)
    rng = np.random.default_rng(abs(int(sum(values))) % 1000)
    z = np.interp(np.arange(n), np.linspace(0, n - 1, 6), values) * (1 + 0.1j) \
        + rng.standard_normal(n)
    s = spectrum_from_arrays(f, z)
    try:
        kk = kramers_kronig(s)
    except InputError:
        return
    assert np.all(np.isfinite(kk.residual_real)) and math.isfinite(kk.max_residual)


# --------------------------------------------------------------------------- real data


def _load(name):
    path = DATA / name
    if not path.exists():
        pytest.skip("real EIS data not available")
    d = np.loadtxt(path, skiprows=3)
    return spectrum_from_arrays(d[:, 0], real=d[:, 1], imag=d[:, 2], source=str(path))


def test_real_pellet_spectrum_is_valid_with_its_electrode_capacitance():
    s = _load("s04147-160deg.txt")
    bare = kramers_kronig(s)
    assert not bare.passed  # the blocking-electrode spike is beyond any Voigt chain
    kk = kramers_kronig(s, include_capacitance=True)
    assert kk.passed and kk.max_residual < 1.0
    assert 20 <= kk.m <= 35 and kk.mu < 0.85
    assert kk["noise"].value < 0.3
    assert len(kk.provenance.inputs) == 1


def _lpscl():
    if not LPSCL.exists():
        pytest.skip("real EIS data not available")
    from ionscale.io.eis import read_spectra

    return read_spectra(LPSCL)[0]


def test_blocking_lpscl_spectrum_passes_with_the_automatic_tau_extension():
    # Li6PS5Cl between steel at -25 °C: the electrode CPE (α ≈ 0.9) reaches beyond the lowest
    # frequency and the electrolyte arc beyond the highest; a chain confined to the measured
    # window leaves 1.2 % residuals at both ends although the spectrum is valid
    s = _lpscl()
    fixed = kramers_kronig(s, include_capacitance=True, tau_extension=0.0)
    assert fixed.max_residual > 1.0 and not fixed.passed
    assert fixed.status == "warning"
    assert [d.code for d in fixed.diagnostics] == ["data-quality"]
    kk = kramers_kronig(s, include_capacitance=True)  # tau_extension="auto"
    assert kk.passed and kk.status == "ok"
    # extended below 1/ω_max only: above 1/ω_min a chain would also absorb drift
    assert kk["tau_ext_short"].value >= 0.5 and kk["tau_ext_long"].value == 0.0
    assert kk.max_residual < 0.5
    assert kk["noise"].value < 0.15 and kk["noise"].value < 0.5 * fixed["noise"].value
    assert kk.tau[0] < 0.5 / (2 * np.pi * s.frequency[-1])
    assert kk.tau[-1] == pytest.approx(1 / (2 * np.pi * s.frequency[0]))
    assert kk["alpha_C"].value == pytest.approx(0.86, abs=0.03)  # the steel's blocking CPE
    assert kk.provenance.parameters["tau_extension"] == "auto"


def test_automatic_extension_keeps_the_measured_window_when_nothing_lies_beyond():
    kk = kramers_kronig(spectrum_from_arrays(F, noisy(two_arcs(), 0.002, seed=12)))
    assert kk["tau_ext_short"].value == 0.0 and kk["tau_ext_long"].value == 0.0
    assert kk.tau[0] == pytest.approx(1 / W.max()) and kk.tau[-1] == pytest.approx(1 / W.min())


# --------------------------------------------------------------------------- noise-aware verdict


def _pellet(noise, seed, drift=0.0, temperature=253.15):
    """The synthetic pellet of ``temperature_series`` (bulk, grain boundaries, blocking CPE),
    each point scaled by ``1 + drift t/t_end`` (t: time in a high-to-low sweep), with
    proportional noise and no ``sigma`` (the verdict must judge the noise from the data)."""
    exact = temperature_series([temperature], noise=0.0)[0]
    f, z = exact.frequency, exact.impedance
    t = sweep_times(f)
    z = z * (1 + drift * t / t.max())
    rng = np.random.default_rng(seed)
    z = z + noise * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))
    return spectrum_from_arrays(f, z)


def _two_zarcs(noise, seed):
    s = simulate_spectrum("R0-p(R1,CPE1)-p(R2,CPE2)",
                          {"R0": 20.0, "R1": 100.0, "CPE1_Q": 2e-6, "CPE1_alpha": 0.9,
                           "R2": 300.0, "CPE2_Q": 1e-4, "CPE2_alpha": 0.8},
                          noise=noise, seed=seed)
    return spectrum_from_arrays(s.frequency, s.impedance)  # sigma dropped


def test_drift_hidden_under_the_one_percent_line_fails_the_noise_aware_verdict():
    # resistances drifting 3 % during the sweep, 0.2 % noise: the largest residual stays below
    # 1 % (the threshold rule passes most sweeps) but the residuals are a smooth structure far
    # above the noise seen from point to point
    seeds = range(50)
    old = [kramers_kronig(_pellet(0.002, k, drift=0.03), include_capacitance=True,
                          verdict="threshold", tau_extension=0.0) for k in seeds]
    assert np.mean([r.passed for r in old]) > 0.5
    assert np.median([r.max_residual for r in old]) < 1.0
    new = [kramers_kronig(_pellet(0.002, k, drift=0.03), include_capacitance=True)
           for k in seeds]
    detected = np.mean([not r.passed for r in new])
    assert detected >= 0.9
    bad = new[0]
    assert bad.status == "warning" and bad.diagnostics[0].code == "data-quality"
    assert bad["structure_p"].value < 1e-3
    assert bad["noise"].value > 1.1 * bad["noise_data"].value


@pytest.mark.parametrize("level", [0.002, 0.005, 0.01])
def test_valid_noisy_spectra_rarely_fail_the_noise_aware_verdict(level):
    fails = []
    for k in range(50):
        pellet = kramers_kronig(_pellet(level, 100 + k), include_capacitance=True)
        arcs = kramers_kronig(_two_zarcs(level, 200 + k))
        fails += [not pellet.passed, not arcs.passed]
        # the noise seen from point to point is the noise put in
        assert pellet["noise_data"].value == pytest.approx(100 * level, rel=0.35)
    assert np.mean(fails) <= 0.05


def test_threshold_verdict_is_the_plain_one_percent_rule():
    s = spectrum_from_arrays(F, noisy(two_arcs(), 0.01, seed=13))
    plain = kramers_kronig(s, verdict="threshold")
    assert not plain.passed and plain.max_residual > 1.0
    assert kramers_kronig(s).passed  # 1 % noise, seen as such


def test_noise_free_valid_spectrum_passes_although_its_residuals_are_smooth():
    kk = kramers_kronig(spectrum_from_arrays(F, VALID["L-R-3 ZARCs"]))
    assert kk.passed and kk.max_residual < 0.25
