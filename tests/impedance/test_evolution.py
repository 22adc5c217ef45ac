"""Resistance evolution against √t: one line, two segments with a breakpoint, log growth."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from ionscale.errors import FitWarning, InputError
from ionscale.impedance.evolution import resistance_evolution

HOUR = 3600.0
T = np.linspace(0.0, 180.0, 121) * HOUR  # 180 h (seed 004), one point every 1.5 h
X = np.sqrt(T)
XB = math.sqrt(25 * HOUR)  # breakpoint after 25 h
S1, S2 = 0.8, 0.2  # ohm s^-1/2


def two_segment(x):
    return 500.0 + np.where(x < XB, S1 * x, S1 * XB + S2 * (x - XB))


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return resistance_evolution(*args, **kwargs)


def test_exact_two_segment_series_is_recovered():
    ev = quiet(T, two_segment(X))
    assert ev.preferred == "two_segment"
    assert ev["sqrt_t_break"].value == pytest.approx(XB, rel=1e-6)
    assert ev["t_break"].value == pytest.approx(25 * HOUR, rel=1e-6)
    assert ev["slope_1"].value == pytest.approx(S1, rel=1e-6)
    assert ev["slope_2"].value == pytest.approx(S2, rel=1e-6)
    assert ev["R_break"].value == pytest.approx(500 + S1 * XB, rel=1e-9)


def test_two_segment_round_trip_coverage():
    """Over noisy replicas the breakpoint and both slopes fall within 2σ about 95 % of the
    time, and their pulls are unbiased."""
    rng = np.random.default_rng(4)
    noise = 1.0
    pulls = []
    for _ in range(40):
        R = two_segment(X) + noise * rng.normal(size=X.size)
        ev = quiet(T, R, np.full(X.size, noise))
        assert ev.preferred == "two_segment"
        pulls.append([(ev["sqrt_t_break"].value - XB) / ev["sqrt_t_break"].error,
                      (ev["slope_1"].value - S1) / ev["slope_1"].error,
                      (ev["slope_2"].value - S2) / ev["slope_2"].error])
    pulls = np.asarray(pulls)
    assert np.all(np.mean(np.abs(pulls) < 2, axis=0) >= 0.85)
    assert np.all(np.abs(np.mean(pulls, axis=0)) < 0.5)
    assert np.all(np.std(pulls, axis=0) < 1.4)
    # the error of t_break follows from that of √t_break
    assert ev["t_break"].error == pytest.approx(
        2 * ev["sqrt_t_break"].value * ev["sqrt_t_break"].error, rel=1e-12)


def test_straight_line_prefers_one_segment():
    rng = np.random.default_rng(5)
    prefs = []
    for _ in range(20):
        R = 480.0 + 0.5 * X + rng.normal(size=X.size)
        ev = quiet(T, R, np.ones(X.size))
        prefs.append(ev.preferred)
    assert prefs.count("line") >= 17
    assert ev["slope"].value == pytest.approx(0.5, abs=4 * ev["slope"].error)
    assert ev["slope"].unit == "ohm/s^0.5"


def test_log_series_prefers_log_model():
    rng = np.random.default_rng(6)
    t0 = 5 * HOUR
    for _ in range(10):
        R = 500.0 + 40.0 * np.log1p(T / t0) + rng.normal(size=T.size)
        ev = quiet(T, R, np.ones(T.size))
        assert ev.preferred == "log"
        assert ev["delta_aic_log"].value > ev.values["delta_aic_two_segment"].value
    assert ev["log_t0"].value == pytest.approx(t0, abs=4 * ev["log_t0"].error)
    assert ev["log_b"].value == pytest.approx(40.0, abs=4 * ev["log_b"].error)


def test_unit_weights_and_f_test():
    rng = np.random.default_rng(8)
    R = two_segment(X) + 0.5 * rng.normal(size=X.size)
    ev = quiet(T, R)  # no errors: covariance scaled by the reduced χ²
    assert ev.R_err is None
    assert ev.preferred == "two_segment"
    assert ev["p_value"].value < 1e-6
    assert ev["slope_1"].value == pytest.approx(S1, abs=4 * ev["slope_1"].error)
    # the table ranks the same data with the same weights
    assert set(ev.table) == {"line", "two_segment", "log"}
    assert ev.table["two_segment"]["chi2"] <= ev.table["line"]["chi2"]


def test_series_of_values_with_errors_and_unsorted_input():
    from ionscale.results import Value

    rng = np.random.default_rng(9)
    R = two_segment(X) + rng.normal(size=X.size)
    vals = [Value("R1", float(r), 1.0, "ohm") for r in R]
    perm = rng.permutation(X.size)
    ev = quiet(T[perm], [vals[i] for i in perm])
    ref = quiet(T, R, np.ones(X.size))
    assert ev["t_break"].value == pytest.approx(ref["t_break"].value, rel=1e-9)
    np.testing.assert_array_equal(ev.time, T)
    assert ev.predict(T[:3], "two_segment") == pytest.approx(ref.predict(T[:3]), rel=1e-9)


def test_plot_draws_segments_and_breakpoint():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = quiet(T, two_segment(X) + 0.1)
    ax = ev.plot()
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert any("two segments" in s for s in labels)
    assert "h" in ax.get_xlabel()
    plt.close(ax.figure)


@pytest.mark.parametrize(("args", "kwargs", "field"), [
    (([0.0, 1.0], [1.0, 2.0]), {}, "R"),
    (([-1.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]), {}, "time_s"),
    (([0.0, 1.0, 2.0], [1.0, 2.0]), {}, "R"),
    (([0.0, 1.0, 2.0, 3.0], [1.0, np.nan, 3.0, 4.0]), {}, "R"),
    (([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]), {"R_err": [1, -1, 1, 1]}, "R_err"),
    (([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]), {"models": ("cubic",)}, "models"),
])
def test_bad_inputs(args, kwargs, field):
    with pytest.raises(InputError) as exc:
        resistance_evolution(*args, **kwargs)
    assert exc.value.field == field


def test_series_from_fitted_spectra_with_time_stamps():
    """R(t) from a series of fitted spectra: the growth law of the simulated R1 comes back."""
    fit_mod = pytest.importorskip("ionscale.impedance.fit")
    synth = pytest.importorskip("ionscale.datasets.synthetic_eis")
    from dataclasses import replace

    circuit = "R0-p(R1,CPE1)"
    t = np.linspace(0.0, 180.0, 37) * HOUR
    R1 = two_segment(np.sqrt(t)) * 10  # ohm
    rng = np.random.default_rng(12)
    fits = []
    for ti, r in zip(t, R1, strict=True):
        truth = {"R0": 20.0, "R1": float(r), "CPE1_Q": 1e-10, "CPE1_alpha": 0.9}
        spec = synth.simulate_spectrum(circuit, truth, noise=0.002, seed=rng)
        # the file gives an absolute start time per sweep
        stamp = np.datetime64("2024-03-01T08:00:00") + np.timedelta64(int(ti), "s")
        spec = replace(spec, start_time=str(stamp))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.append(fit_mod.fit_circuit(spec, circuit, initial=truth, weighting="sigma"))
    from ionscale.impedance.evolution import resistance_series

    tt, R, E = resistance_series(fits[::-1], "R1")
    assert tt[0] == 0.0
    np.testing.assert_allclose(tt, t - t[0], atol=2.0)  # mean time of each sweep adds little
    ev = quiet(tt, R, E)
    assert ev.preferred == "two_segment"
    assert abs(ev["t_break"].value - 25 * HOUR) < 3 * ev["t_break"].error + 0.5 * HOUR
    assert ev["slope_1"].value == pytest.approx(10 * S1, abs=4 * ev["slope_1"].error)
    with pytest.raises(InputError):
        resistance_series(fits, "R9")
