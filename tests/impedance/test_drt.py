"""Distribution of relaxation times: analytic DRTs, peak positions and resistances, inputs."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.errors import InputError
from ionscale.impedance import spectrum_from_arrays
from ionscale.impedance.drt import DRTResult, compute_drt, drt_matrix, zarc_drt

matplotlib.use("Agg")

# tests/impedance/ is one level below tests/: /work/main/tests/impedance -> /work/shared/data
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "eis" / "eisfitpython-s04147"

F = np.logspace(-1, 6, 71)  # Hz
W = 2 * np.pi * F


def zarc(r, tau, alpha, w=W):
    return r / (1 + (1j * w * tau) ** alpha)


def noisy(z, level, seed):
    """Gaussian noise of ``level`` × |Z| on the real and on the imaginary part."""
    rng = np.random.default_rng(seed)
    return z + level * np.abs(z) * (rng.standard_normal(z.size) + 1j * rng.standard_normal(z.size))


def two_arcs():
    return 20 + zarc(100, 1e-5, 0.9) + zarc(300, 1e-2, 0.9)


# --------------------------------------------------------------------------- the done criterion


@pytest.mark.parametrize("method", ["gcv", "lcurve"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_arcs_with_one_percent_noise(method, seed):
    drt = compute_drt(spectrum_from_arrays(F, noisy(two_arcs(), 0.01, seed)), method=method)
    assert len(drt.peaks) == 2
    fast, slow = drt.peaks
    assert fast.tau == pytest.approx(1e-5, rel=0.1)
    assert slow.tau == pytest.approx(1e-2, rel=0.1)
    assert fast.resistance == pytest.approx(100, rel=0.1)
    assert slow.resistance == pytest.approx(300, rel=0.1)
    assert fast.frequency == pytest.approx(1 / (2 * np.pi * fast.tau))
    assert drt.R_inf == pytest.approx(20, rel=0.1)
    # the peaks and the rest (what rises again beyond the outer peaks' minima: noise at the
    # ends of the grid) partition the distribution, which holds the polarisation resistance
    assert fast.resistance + slow.resistance + drt["R_rest"].value == pytest.approx(
        drt.R_pol, rel=1e-12)
    assert drt["R_rest"].value < 0.05 * drt.R_pol
    assert drt.R_pol == pytest.approx(400, rel=0.05)
    assert drt["R_1"].value == fast.resistance and drt["tau_2"].value == slow.tau
    assert not fast.outside_range and not slow.outside_range


def test_reconstruction_residuals_are_at_the_noise_level():
    drt = compute_drt(spectrum_from_arrays(F, noisy(two_arcs(), 0.01, seed=3)))
    rms = np.sqrt(np.mean(np.r_[drt.residual_real, drt.residual_imag] ** 2))
    assert 0.7 < rms < 1.3  # per cent, for 1 % noise on each part


# --------------------------------------------------------------------------- analytic DRTs


def test_single_rc_is_a_delta_at_rc():
    r, c = 250.0, 4e-6
    drt = compute_drt(spectrum_from_arrays(F, 15 + r / (1 + 1j * W * r * c)))
    (peak,) = drt.peaks
    assert peak.tau == pytest.approx(r * c, rel=0.02)
    assert peak.resistance == pytest.approx(r, rel=0.01)
    assert drt.R_inf == pytest.approx(15, rel=0.01)
    # a delta: the distribution is concentrated within a few grid steps of RC
    x = np.log(drt.tau)
    near = np.abs(x - np.log(r * c)) < 0.5
    assert np.trapezoid(np.where(near, drt.gamma, 0), x) > 0.9 * r


@pytest.mark.parametrize("alpha", [0.6, 0.7])
def test_zarc_matches_its_analytic_distribution(alpha):
    f = np.logspace(-2, 6, 81)
    w = 2 * np.pi * f
    drt = compute_drt(spectrum_from_arrays(f, 10 + zarc(100, 1e-3, alpha, w)))
    exact = zarc_drt(drt.tau, 100, 1e-3, alpha)
    x = np.log(drt.tau)
    assert np.trapezoid(np.abs(drt.gamma - exact), x) < 0.01 * 100
    assert drt.gamma.max() == pytest.approx(exact.max(), rel=0.02)
    (peak,) = drt.peaks
    assert peak.tau == pytest.approx(1e-3, rel=0.02)


def test_analytic_zarc_distribution_integrates_to_r():
    x = np.linspace(-40, 40, 40001)
    for alpha in (0.5, 0.8, 0.95):
        g = zarc_drt(np.exp(x), 42.0, 1.0, alpha)
        assert np.trapezoid(g, x) == pytest.approx(42.0, rel=1e-3)
        # and it is the distribution behind the ZARC impedance
        z = np.trapezoid(g / (1 + 1j * 2.0 * np.exp(x)), x)
        assert z == pytest.approx(42.0 / (1 + 2.0j ** alpha), rel=1e-3)


def test_matrix_maps_a_delta_to_an_rc_element():
    tau = np.logspace(-6, 0, 61)
    A = drt_matrix(F, tau)
    dx = np.log(tau[1] / tau[0])
    gamma = np.zeros(tau.size)
    gamma[30] = 1 / dx  # a hat of area 1 ohm at tau[30]
    np.testing.assert_allclose(A @ gamma, 1 / (1 + 1j * W * tau[30]), atol=5e-3)


# --------------------------------------------------------------------------- options


def test_series_inductance_is_recovered():
    z = two_arcs() + 1j * W * 2e-6
    drt = compute_drt(spectrum_from_arrays(F, noisy(z, 0.002, seed=4)), inductance=True)
    assert drt.L == pytest.approx(2e-6, rel=0.05)
    assert len(drt.peaks) == 2 and drt.R_pol == pytest.approx(400, rel=0.05)
    assert drt["L"].unit == "H"


@pytest.mark.parametrize("part", ["real", "imag"])
def test_one_part_gives_the_same_peaks(part):
    drt = compute_drt(spectrum_from_arrays(F, noisy(two_arcs(), 0.002, seed=5)), part=part)
    assert [round(np.log10(p.tau)) for p in drt.peaks] == [-5, -2]
    np.testing.assert_allclose([p.resistance for p in drt.peaks], [100, 300], rtol=0.1)
    assert drt.R_inf == pytest.approx(20, rel=0.1)


def test_blocking_electrode_capacitance():
    z = 20 + zarc(300, 1e-4, 0.85) + 1 / (1j * W * 1e-4)
    s = spectrum_from_arrays(F, noisy(z, 0.002, seed=11))
    drt = compute_drt(s, capacitance=True)
    assert drt["C"].value == pytest.approx(1e-4, rel=0.01)
    (peak,) = drt.peaks
    assert peak.tau == pytest.approx(1e-4, rel=0.1)
    assert peak.resistance == pytest.approx(300, rel=0.1)
    # without the capacitor the infinite relaxation time piles up beyond the data
    plain = compute_drt(s)
    assert plain.peaks[-1].outside_range and plain.peaks[-1].tau > 1 / (2 * np.pi * F[0])


def test_no_series_resistance_moves_it_into_the_distribution():
    z = noisy(two_arcs(), 0.002, seed=6)
    drt = compute_drt(spectrum_from_arrays(F, z), series_resistance=False)
    assert drt.R_inf == 0
    assert drt.R_pol == pytest.approx(420, rel=0.05)  # R_inf shows up at the smallest τ


def test_larger_lambda_smooths_more():
    s = spectrum_from_arrays(F, noisy(two_arcs(), 0.005, seed=7))
    out = [compute_drt(s, lambda_=lam) for lam in (1e-4, 1e-2, 1.0, 100.0)]
    misfit = [np.sum(d.residual_real ** 2 + d.residual_imag ** 2) for d in out]
    roughness = [np.sum(np.diff(d.gamma, 2) ** 2) for d in out]
    assert np.all(np.diff(misfit) > 0) and np.all(np.diff(roughness) < 0)
    assert out[0].lambda_ == 1e-4 and out[0].lambda_grid.size == 0


def test_gcv_rule_regularises_more_than_the_plain_minimum():
    s = spectrum_from_arrays(F, noisy(two_arcs(), 0.01, seed=8))
    rule, plain = compute_drt(s), compute_drt(s, method="gcv-min")
    assert rule.lambda_ >= plain.lambda_
    i = np.argmin(plain.criterion)
    assert plain.lambda_ == plain.lambda_grid[i]
    j = np.searchsorted(rule.lambda_grid, rule.lambda_)
    assert rule.criterion[j] <= 1.2 * plain.criterion[i]  # within the score's sampling error


def test_grid_defaults_and_choices():
    s = spectrum_from_arrays(F, two_arcs())
    drt = compute_drt(s)
    assert drt.tau[0] == pytest.approx(0.1 / (2 * np.pi * F[-1]))
    assert drt.tau[-1] == pytest.approx(10 / (2 * np.pi * F[0]))
    assert drt.tau.size == 91  # 10 per decade over 9 decades
    custom = compute_drt(s, n_tau=50, tau_range=(1e-7, 1.0))
    assert custom.tau.size == 50 and custom.tau[0] == pytest.approx(1e-7)
    assert "1/(2 pi f)" in custom.provenance.parameters["tau_convention"]


@settings(max_examples=5)
@given(scale=st.floats(1e-3, 1e6))
def test_scaling_the_impedance_scales_gamma_only(scale):
    z = noisy(two_arcs(), 0.005, seed=9)
    a = compute_drt(spectrum_from_arrays(F, z))
    b = compute_drt(spectrum_from_arrays(F, scale * z))
    assert b.lambda_ == pytest.approx(a.lambda_, rel=1e-6)  # λ is dimensionless
    np.testing.assert_allclose(b.gamma, scale * a.gamma, rtol=1e-5, atol=1e-9 * scale)
    assert b.R_inf == pytest.approx(scale * a.R_inf, rel=1e-5)


@settings(max_examples=8)
@given(r1=st.floats(1, 1e4), r2=st.floats(1, 1e4), t1=st.floats(-6, -1), alpha=st.floats(0.5, 1),
       seed=st.integers(0, 100))
def test_distribution_and_series_terms_are_never_negative(r1, r2, t1, alpha, seed):
    z = noisy(5 + zarc(r1, 10 ** t1, alpha) + zarc(r2, 10 ** (t1 + 2), 0.8) + 1j * W * 1e-7,
              0.01, seed)
    drt = compute_drt(spectrum_from_arrays(F, z), inductance=True)
    assert np.all(drt.gamma >= 0) and drt.R_inf >= 0 and drt.L >= 0
    assert sum(p.resistance for p in drt.peaks) + drt["R_rest"].value == pytest.approx(
        drt.R_pol, rel=1e-9)


# --------------------------------------------------------------------------- output, inputs


def test_result_plots_and_serialises():
    drt = compute_drt(spectrum_from_arrays(F, noisy(two_arcs(), 0.01, seed=10)))
    assert isinstance(drt, DRTResult)
    for kind in ("drt", "nyquist"):
        assert isinstance(drt.plot(kind=kind), matplotlib.axes.Axes)
    with pytest.raises(InputError, match="kind"):
        drt.plot(kind="bode")
    d = json.loads(json.dumps(drt.to_dict()))
    assert d["data"]["peaks"][0]["resistance"] == pytest.approx(drt.peaks[0].resistance)
    table = drt.peak_table()
    np.testing.assert_allclose(table["tau"], [p.tau for p in drt.peaks])
    assert "1/(2 pi f)" in drt.summary()


@pytest.mark.parametrize("kwargs, field", [
    ({"method": "aic"}, "method"), ({"part": "complex"}, "part"),
    ({"derivative_order": 3}, "derivative_order"), ({"derivative_order": 1.0}, "derivative_order"),
    ({"lambda_": -1.0}, "lambda_"), ({"lambda_": float("nan")}, "lambda_"),
    ({"lambda_": "big"}, "lambda_"), ({"n_tau": 5}, "n_tau"), ({"n_tau": 50.5}, "n_tau"),
    ({"tau_range": (1.0, 0.1)}, "tau_range"), ({"tau_range": (0, 1)}, "tau_range"),
    ({"tau_range": 3}, "tau_range"), ({"prominence": 2}, "prominence"),
])
def test_bad_options_name_the_field(kwargs, field):
    with pytest.raises(InputError) as err:
        compute_drt(spectrum_from_arrays(F, two_arcs()), **kwargs)
    assert err.value.field == field


def test_bad_data():
    with pytest.raises(InputError, match="Spectrum"):
        compute_drt(two_arcs())
    with pytest.raises(InputError) as err:
        compute_drt(spectrum_from_arrays([1.0, 2.0, 3.0], [1.0, 0.0, 1.0]))
    assert err.value.field == "impedance"


# --------------------------------------------------------------------------- real data


def test_real_pellet_spectrum():
    path = DATA / "s04147-160deg.txt"
    if not path.exists():
        pytest.skip("real EIS data not available")
    d = np.loadtxt(path, skiprows=3)
    s = spectrum_from_arrays(d[:, 0], real=d[:, 1], imag=d[:, 2], source=str(path))
    drt = compute_drt(s, capacitance=True)  # gold blocking electrodes
    # the bulk arc: the largest peak inside the data, at the apex of the first semicircle
    bulk = max((p for p in drt.peaks if not p.outside_range), key=lambda p: p.resistance)
    high = s.frequency > 1e3
    apex = s.frequency[high][np.argmin(s.imag[high])]
    assert bulk.tau == pytest.approx(1 / (2 * np.pi * apex), rel=0.3)
    assert 5e5 < bulk.resistance < 8e5
    assert 1e-6 < drt["C"].value < 1e-4  # an electrode double layer, F
    assert np.abs(np.r_[drt.residual_real, drt.residual_imag]).max() < 2.0
    assert len(drt.provenance.inputs) == 1


# --------------------------------------------------------------------------- per-region peaks,
# λ not set by the electrode, uncertainty band

EIS = DATA.parent
LPSCL = EIS / "hybrid-drt" / "PEIS_LPSCl_IonBlocking_-25C.txt"


def _s04147(temperature):
    path = DATA / f"s04147-{temperature}deg.txt"
    if not path.exists():
        pytest.skip("real EIS data not available")
    d = np.loadtxt(path, skiprows=3)
    return spectrum_from_arrays(d[:, 0], real=d[:, 1], imag=d[:, 2], source=str(path))


@pytest.mark.parametrize("blocking", [True, False])
def test_electrolyte_arc_beside_a_blocking_electrode_is_a_peak(blocking):
    # Li6PS5Cl between steel at -25 °C: the electrolyte arc (~1.3 kΩ near 1 MHz) is 10⁴ times
    # smaller than the electrode's γ; a prominence scaled by the largest γ hid it
    if not LPSCL.exists():
        pytest.skip("real EIS data not available")
    from ionscale.io.eis import read_spectra

    s = read_spectra(LPSCL)[0]
    drt = compute_drt(s, capacitance=blocking)
    electrolyte = [p for p in drt.peaks if p.tau < 1e-5]
    assert len(electrolyte) == 1
    (arc,) = electrolyte
    assert 1e-7 < arc.tau < 4e-7  # the apex of -Z'' lies near 1 MHz
    assert 1.0e3 < arc.resistance < 1.6e3
    assert not arc.outside_range
    assert drt.peaks[-1].tau > 1.0  # and the electrode, seconds


@pytest.mark.parametrize("blocking", [False, True])
def test_bulk_and_grain_boundary_arcs_are_resolved_with_and_without_blocking(blocking):
    # s04147 at 140 °C: bulk (R‖CPE, τ ≈ 1e-6 s by a circuit fit, 0.15-0.4 MΩ) and grain
    # boundaries (τ ≈ 3.5e-5 s, ~2 MΩ); the old DRT split the bulk into three peaks (λ set by
    # the noisy MHz points), or with the series capacitor merged it into the grain boundaries
    drt = compute_drt(_s04147(140), capacitance=blocking)
    sample = [p for p in drt.peaks if p.tau < 1e-4]
    assert len(sample) == 2
    bulk, gb = sample
    assert 1e-6 < bulk.tau < 1e-5 and 2e-5 < gb.tau < 6e-5
    assert 1.5e5 < bulk.resistance < 4.5e5
    assert 1.4e6 < gb.resistance < 2.2e6
    assert not bulk.outside_range and not gb.outside_range


def test_lambda_is_not_set_by_the_blocking_electrode():
    s = _s04147(140)
    plain, blocked = compute_drt(s), compute_drt(s, capacitance=True)
    assert 0.1 < blocked.lambda_ / plain.lambda_ < 10  # was 300×


def _two_zarcs(noise, seed):
    from ionscale.datasets.synthetic_eis import simulate_spectrum

    s = simulate_spectrum("R0-p(R1,CPE1)-p(R2,CPE2)",
                          {"R0": 20.0, "R1": 100.0, "CPE1_Q": 1e-5 ** 0.85 / 100,
                           "CPE1_alpha": 0.85, "R2": 300.0, "CPE2_Q": 1e-2 ** 0.8 / 300,
                           "CPE2_alpha": 0.8}, noise=noise, seed=seed)
    true = lambda tau: zarc_drt(tau, 100, 1e-5, 0.85) + zarc_drt(tau, 300, 1e-2, 0.8)  # noqa: E731
    return spectrum_from_arrays(s.frequency, s.impedance), true


@pytest.mark.parametrize("noise", [0.002, 0.01])
def test_uncertainty_band_covers_the_true_distribution(noise):
    for seed in range(3):
        s, true = _two_zarcs(noise, seed)
        drt = compute_drt(s)
        assert drt.gamma_sd.shape == drt.gamma.shape and np.all(drt.gamma_sd >= 0)
        assert np.all(drt.gamma_low <= drt.gamma) and np.all(drt.gamma <= drt.gamma_high)
        assert np.all(drt.gamma_low >= 0)
        inside = (drt.tau >= 1 / (2 * np.pi * F.max())) & (drt.tau <= 1 / (2 * np.pi * F.min()))
        g = true(drt.tau)
        covered = (g >= drt.gamma_low) & (g <= drt.gamma_high)
        assert covered[inside].mean() > 0.8
        # a band, not a blanket: half-width a few per cent of the largest γ
        width = (drt.gamma_high - drt.gamma_low)[inside]
        assert np.median(width) < 0.25 * g.max()
        assert [round(np.log10(p.tau)) for p in drt.peaks] == [-5, -2]
        assert all(p.significance > 2 for p in drt.peaks)


def test_band_is_drawn_and_serialised():
    s, _ = _two_zarcs(0.01, 0)
    drt = compute_drt(s)
    ax = drt.plot()
    assert any("95 %" in t.get_text() for t in ax.get_legend().get_texts())
    d = json.loads(json.dumps(drt.to_dict()))
    assert len(d["data"]["gamma_sd"]) == drt.tau.size
    assert "significance" in d["data"]["peaks"][0]


def test_infinite_series_capacitance_is_a_diagnostic_not_a_failure():
    # no blocking electrode, yet a capacitor asked for: 1/C = 0 is no number to report
    drt = compute_drt(spectrum_from_arrays(F, noisy(two_arcs(), 0.002, seed=12)),
                      capacitance=True)
    assert drt.status == "warning" and [d.code for d in drt.diagnostics] == ["unmeasurable"]
    assert drt.diagnostics[0].fields == ("C",)
    assert "C" not in drt.values or drt["C"].value > 1e-3  # F: far beyond the data
