"""BPP relaxation: rate limits, T1 minimum, fit round trips, Einstein-Smoluchowski, bad input."""

import json
import math
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from ionscale.errors import FitWarning, InputError
from ionscale.nmr.data import RelaxationData
from ionscale.nmr.relaxation import (
    BPP_T1_MINIMUM,
    BPPFit,
    asymmetric_bpp_rate,
    bpp_minimum_position,
    bpp_rate,
    correlation_time,
    einstein_smoluchowski,
    fit_bpp,
    flank_activation_energies,
    larmor_frequency,
)
from ionscale.units import BOLTZMANN, EV

W0 = 2 * math.pi * 155.4e6          # 7Li at 9.4 T (seed 001), rad/s
TAU0 = 1.4e-11                       # s, seed 001 reference fit (LLTO)
EA = 0.11 * EV                       # J
C = 1.37e10                          # s^-2: T1 minimum of 50 ms
T_GRID = np.linspace(150.0, 500.0, 15)


def _data(T, T1, rel=0.03, rng=None, **kw):
    noisy = T1 if rng is None else T1 * (1 + rel * rng.normal(size=T1.size))
    return RelaxationData(T=T, time=noisy, time_error=rel * T1, **kw)


def _true_t_min(tau0=TAU0, ea=EA, w0=W0, x=BPP_T1_MINIMUM):
    return ea / (BOLTZMANN * math.log(x / (w0 * tau0)))


# --------------------------------------------------------------------------- rate formula


def test_minimum_constant_exact():
    def f(x):
        return x / (1 + x * x) + 4 * x / (1 + 4 * x * x)

    best = minimize_scalar(lambda u: -f(math.exp(u)), bracket=(-2.0, 0.0), tol=1e-12)
    assert BPP_T1_MINIMUM == pytest.approx(math.exp(best.x), abs=1e-6)
    assert BPP_T1_MINIMUM == pytest.approx(0.6157951469617562, abs=1e-12)
    y = BPP_T1_MINIMUM**2
    assert 32 * y**3 + 20 * y**2 + y - 5 == pytest.approx(0.0, abs=1e-12)
    assert bpp_minimum_position() == BPP_T1_MINIMUM
    # the general (numerical) peak finder agrees with the closed form as β -> 2
    assert bpp_minimum_position(2.0 - 1e-9) == pytest.approx(BPP_T1_MINIMUM, rel=1e-7)
    # maximum rate = 1.4251757 C / ω0, at τ = x*/ω0 (Ea = 0 makes τ = τ0 at every T)
    r = bpp_rate(300.0, BPP_T1_MINIMUM / W0, 0.0, C, W0)
    assert r == pytest.approx(1.4251757190865015 * C / W0, rel=1e-12)
    for x in (0.5, 0.6, 0.63, 0.7):
        assert bpp_rate(300.0, x / W0, 0.0, C, W0) < r


@pytest.mark.parametrize("beta", [1.2, 1.5, 1.8])
def test_asymmetric_minimum_is_rate_maximum(beta):
    x = bpp_minimum_position(beta)
    best = minimize_scalar(
        lambda u: -asymmetric_bpp_rate(300.0, math.exp(u) / W0, 0.0, 1.0, W0, beta),
        bracket=(math.log(x) - 1, math.log(x) + 1), tol=1e-12)
    assert x == pytest.approx(math.exp(best.x), rel=1e-5)
    # smaller β moves the peak to longer τ (it vanishes as β -> 1)
    assert x > BPP_T1_MINIMUM
    assert math.isnan(bpp_minimum_position(1.0))


def test_t1_limits():
    for tau in (1e-5 / W0, 1e-6 / W0):                      # ω0τ ≪ 1: 5 C τ
        assert bpp_rate(300.0, tau, 0.0, C, W0) == pytest.approx(5 * C * tau, rel=1e-9)
    for tau in (1e5 / W0, 1e6 / W0):                        # ω0τ ≫ 1: 2 C / (ω0² τ)
        r = bpp_rate(300.0, tau, 0.0, C, W0)
        assert r == pytest.approx(2 * C / (W0**2 * tau), rel=1e-9)
        assert r != pytest.approx(5 * C / (W0**2 * tau), rel=0.1)


def test_t1rho_limits():
    w1 = 2 * math.pi * 30e3
    tau = 1e-5 / W0                                          # everything fast: 5 C τ
    assert bpp_rate(300.0, tau, 0.0, C, W0, kind="T1rho", omega1=w1) == pytest.approx(
        5 * C * tau, rel=1e-9)
    tau = math.sqrt(1 / (W0 * w1))                           # ω1τ ≪ 1 ≪ ω0τ: 3/2 C τ
    expected = C * (1.5 * tau / (1 + 4 * (w1 * tau) ** 2) + 2.5 * tau / (1 + (W0 * tau) ** 2)
                    + tau / (1 + 4 * (W0 * tau) ** 2))
    r = bpp_rate(300.0, tau, 0.0, C, W0, kind="T1rho", omega1=w1)
    assert r == pytest.approx(expected, rel=1e-12)
    assert r == pytest.approx(1.5 * C * tau, rel=0.03)
    tau = 1e5 / w1                                           # ω1τ ≫ 1: 3/8 C / (ω1² τ)
    r = bpp_rate(300.0, tau, 0.0, C, W0, kind="T1rho", omega1=w1)
    assert r == pytest.approx(3 / 8 * C / (w1**2 * tau), rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(T=st.floats(50.0, 2000.0), ea_ev=st.floats(0.01, 1.5), lg_tau0=st.floats(-15.0, -9.0))
def test_rate_matches_formula_and_beta2(T, ea_ev, lg_tau0):
    tau0 = 10.0**lg_tau0
    tau = tau0 * math.exp(ea_ev * EV / (BOLTZMANN * T))
    expected = C * (tau / (1 + (W0 * tau) ** 2) + 4 * tau / (1 + 4 * (W0 * tau) ** 2))
    r = bpp_rate(T, tau0, ea_ev * EV, C, W0)
    assert r == pytest.approx(expected, rel=1e-10, abs=0)
    assert asymmetric_bpp_rate(T, tau0, ea_ev * EV, C, W0, 2.0) == pytest.approx(r, rel=1e-12)
    assert r <= 1.4251757190865015 * C / W0 * (1 + 1e-12)
    assert correlation_time(T, tau0, ea_ev * EV) == pytest.approx(tau, rel=1e-12)


@pytest.mark.parametrize("beta", [1.3, 1.6, 2.0])
def test_flank_slopes(beta):
    def slope(T1, T2):
        r1 = asymmetric_bpp_rate(T1, TAU0, EA, C, W0, beta)
        r2 = asymmetric_bpp_rate(T2, TAU0, EA, C, W0, beta)
        return math.log(r2 / r1) / (1 / T2 - 1 / T1) * BOLTZMANN

    assert slope(5000.0, 4000.0) == pytest.approx(EA, rel=2e-3)          # high T: Ea
    assert slope(40.0, 35.0) == pytest.approx(-(beta - 1) * EA, rel=2e-3)  # low T


def test_larmor_frequency():
    assert larmor_frequency("7Li", 9.4) == pytest.approx(103.962e6 * 9.4 / (2 * math.pi))
    assert larmor_frequency("7Li", 9.4) / 1e6 == pytest.approx(155.4, abs=0.2)
    assert larmor_frequency("Li-7", 9.4) == larmor_frequency("Li7", 9.4)
    assert larmor_frequency("29Si", 9.4) > 0                 # γ < 0: |γ| B / 2π
    assert larmor_frequency("1H", 9.4) / 1e6 == pytest.approx(400.2, abs=0.1)
    with pytest.raises(InputError, match="nucleus"):
        larmor_frequency("8Li", 9.4)
    with pytest.raises(InputError, match="field"):
        larmor_frequency("7Li", -1.0)


# --------------------------------------------------------------------------- fits


def test_round_trip_bpp():
    rng = np.random.default_rng(11)
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    res = fit_bpp(_data(T_GRID, T1, rng=rng, frequency=155.4e6))
    assert isinstance(res, BPPFit)
    for name, truth in (("tau0", TAU0), ("Ea", EA), ("C", C)):
        v = res[name]
        assert abs(v.value - truth) < 2 * v.error, name
        assert v.error < 0.2 * truth
    t_min = res["T_min"]
    assert t_min.value == pytest.approx(335.2, abs=5)
    assert abs(t_min.value - _true_t_min()) < 2 * t_min.error
    assert res["tau_at_min"].value == pytest.approx(BPP_T1_MINIMUM / W0, rel=1e-12)
    assert res["rate_at_min"].value == pytest.approx(1.4251757 * C / W0, rel=0.03)
    assert res.fit.reduced_chi2 < 3
    assert res["Ea"].unit == "J" and "eV" in str(res["Ea"])


def test_fit_exact_data_and_units_from_field():
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    res = fit_bpp(RelaxationData(T=T_GRID, time=T1, nucleus="7Li"), field=9.4)
    w0 = 2 * math.pi * larmor_frequency("7Li", 9.4)
    assert res.omega0 == pytest.approx(w0)
    # the data were made at 155.4 MHz; at 155.53 MHz τ0 shifts by the frequency ratio
    res = fit_bpp(RelaxationData(T=T_GRID, time=T1), omega0=W0)
    assert res["Ea"].value == pytest.approx(EA, rel=1e-7)
    assert res["tau0"].value == pytest.approx(TAU0, rel=1e-6)
    assert res.fit.error_method == "jacobian" and not res.fit.absolute_sigma


def test_coverage_and_timing():
    rng = np.random.default_rng(2024)
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    truth = {"tau0": TAU0, "Ea": EA, "T_min": _true_t_min()}
    z = []
    start = time.perf_counter()
    n = 100
    for _ in range(n):
        res = fit_bpp(_data(T_GRID, T1, rng=rng, frequency=155.4e6))
        z.append([(res[k].value - v) / res[k].error for k, v in truth.items()])
    per_fit = (time.perf_counter() - start) / n
    z = np.array(z)
    cover = np.mean(np.abs(z) < 2, axis=0)           # measured: 0.98, 0.96, 1.00
    assert np.all((cover[:2] >= 0.88) & (cover[:2] <= 0.99)), cover
    assert cover[2] >= 0.88, cover
    # the errors are calibrated: the spread of (fit - truth) / σ is 1
    spread = z.std(axis=0)
    assert np.all((spread > 0.8) & (spread < 1.25)), spread
    assert per_fit < 0.05, per_fit                      # measured ~2 ms per fit


def test_round_trip_asymmetric():
    rng = np.random.default_rng(5)
    T = np.linspace(150.0, 500.0, 25)
    beta = 1.6
    T1 = 1 / asymmetric_bpp_rate(T, TAU0, EA, C, W0, beta)
    res = fit_bpp(_data(T, T1, rng=rng, frequency=155.4e6), asymmetric=True)
    for name, truth in (("beta", beta), ("Ea", EA), ("tau0", TAU0)):
        assert abs(res[name].value - truth) < 2 * res[name].error, name
    assert res["beta"].error < 0.1
    flanks = flank_activation_energies(res)
    assert abs(flanks["Ea_low"].value - (beta - 1) * EA) < 2 * flanks["Ea_low"].error
    assert flanks["Ea_high"].value == res["Ea"].value
    assert res["Ea_low"].value == pytest.approx(flanks["Ea_low"].value)
    t_true = _true_t_min(x=bpp_minimum_position(beta))
    assert abs(res["T_min"].value - t_true) < 2 * res["T_min"].error
    # BPP on the same asymmetric data is visibly worse
    with pytest.warns(FitWarning, match="reduced"):
        sym = fit_bpp(_data(T, T1, rng=np.random.default_rng(5), frequency=155.4e6))
    assert sym.fit.aic > res.fit.aic + 10


def test_symmetric_flanks_equal():
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    res = fit_bpp(_data(T_GRID, T1, rng=np.random.default_rng(1), frequency=155.4e6))
    flanks = flank_activation_energies(res)
    assert flanks["Ea_low"].value == flanks["Ea_high"].value == res["Ea"].value


def test_round_trip_t1rho():
    rng = np.random.default_rng(3)
    w1 = 2 * math.pi * 30e3
    tau0, ea, c = 1e-13, 0.40 * EV, 1e9
    T = np.linspace(200.0, 400.0, 20)
    T1r = 1 / bpp_rate(T, tau0, ea, c, W0, kind="T1rho", omega1=w1)
    res = fit_bpp(_data(T, T1r, rng=rng, kind="T1rho", frequency=30e3), omega0=W0)
    assert res.kind == "T1rho" and res.omega1 == pytest.approx(w1)
    for name, truth in (("tau0", tau0), ("Ea", ea), ("C", c)):
        assert abs(res[name].value - truth) < 2 * res[name].error, name
    # T1ρ minimum: 2 ω1 τ ≈ 1 (ω0 terms negligible there)
    assert res["tau_at_min"].value * 2 * w1 == pytest.approx(1.0, rel=1e-3)


def test_tau_jump_rate_and_errors():
    rng = np.random.default_rng(7)
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    res = fit_bpp(_data(T_GRID, T1, rng=rng, frequency=155.4e6))
    tau, err = res.tau(333.0)
    rate, rate_err = res.jump_rate(333.0)
    assert rate * tau == pytest.approx(1.0)
    assert rate_err / rate == pytest.approx(err / tau)
    # at T -> ∞, τ -> τ0 and so does its error
    tau_inf, err_inf = res.tau(1e12)
    assert err_inf / tau_inf == pytest.approx(res["tau0"].error / res["tau0"].value, rel=1e-6)
    # Monte-Carlo errors agree with the Jacobian ones
    mc = fit_bpp(_data(T_GRID, T1, rng=np.random.default_rng(7), frequency=155.4e6),
                 monte_carlo=300, seed=1)
    assert mc.fit.error_method == "monte-carlo"
    for name in ("tau0", "Ea", "T_min"):
        assert mc[name].error == pytest.approx(res[name].error, rel=0.25), name
    # predicted T1 at the fitted minimum is the fitted minimum
    t1, t1_err = res.predict(res["T_min"].value)
    assert 1 / t1 == pytest.approx(res["rate_at_min"].value, rel=1e-9)
    assert 0 < t1_err < 0.05 * t1


def test_plot_and_dict(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    res = fit_bpp(_data(T_GRID, T1, rng=np.random.default_rng(0), frequency=155.4e6))
    ax = res.plot()
    assert ax.get_yscale() == "log"
    assert "1000/T" in ax.get_xlabel()
    ax.figure.savefig(tmp_path / "bpp.png")
    assert res.plot(rate=True).get_ylabel().startswith("1/T1")
    json.dumps(res.to_dict())
    assert "T_min" in res.summary()


# --------------------------------------------------------------------------- Einstein-Smoluchowski


def test_einstein_smoluchowski_seed_001():
    tau = correlation_time(333.0, TAU0, EA)
    assert tau == pytest.approx(6.4702e-10, rel=1e-4)
    d3 = einstein_smoluchowski(tau, 3.87e-10, 3)
    d2 = einstein_smoluchowski(tau, 3.87e-10, 2)
    assert d3.value * 1e4 == pytest.approx(3.858e-7, rel=1e-3, abs=0)   # cm²/s
    assert d2.value * 1e4 == pytest.approx(5.787e-7, rel=1e-3, abs=0)
    # seed 001 quotes D_local = 1.28e-7 cm²/s (d = 3): its τ0 and Ea give 3.0 times more
    assert d3.value * 1e4 / 1.28e-7 == pytest.approx(3.01, abs=0.01)
    # the τ that would give 1.28e-7 cm²/s in 3D
    assert (3.87e-10) ** 2 / (6 * 1.28e-11) == pytest.approx(1.95e-9, rel=1e-2)
    assert d3.unit == "m^2/s" and d3.name == "D_local"


def test_einstein_smoluchowski_errors():
    d, err = einstein_smoluchowski(1e-9, 4e-10, 3, tau_error=1e-10, jump_length_error=2e-11)
    assert d == pytest.approx(16e-20 / 6e-9, rel=1e-12)
    assert err / d == pytest.approx(math.hypot(0.1, 0.1), rel=1e-12)
    arr = einstein_smoluchowski(np.array([1e-9, 2e-9]), 4e-10, 1)
    assert np.allclose(arr.value, [8e-11, 4e-11], rtol=1e-12, atol=0)
    # an Estimate from a fit carries its error
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    res = fit_bpp(_data(T_GRID, T1, rng=np.random.default_rng(4), frequency=155.4e6))
    dd = res.diffusion_coefficient(333.0, 3.87e-10, 3)
    tau, tau_err = res.tau(333.0)
    assert dd.error / dd.value == pytest.approx(tau_err / tau)


# --------------------------------------------------------------------------- bad input


def _good(**kw):
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    base = {"T": T_GRID, "time": T1, "time_error": 0.03 * T1, "frequency": 155.4e6}
    base.update(kw)
    return RelaxationData(**base)


@pytest.mark.parametrize("kw, field", [
    ({"T": np.r_[-1.0, T_GRID[1:]]}, "T"),
    ({"T": np.r_[0.0, T_GRID[1:]]}, "T"),
    ({"time": np.r_[0.0, np.ones(14)]}, "time"),
    ({"time": np.r_[np.nan, np.ones(14)]}, "time"),
    ({"time": np.ones(14)}, "time"),
    ({"time_error": np.ones(3)}, "time_error"),
    ({"time_error": np.zeros(15)}, "time_error"),
    ({"T": T_GRID[:3], "time": np.ones(3), "time_error": None}, "T"),
    ({"kind": "T2"}, "kind"),
    ({"frequency": None}, "omega0"),
    ({"frequency": -5.0}, "frequency"),
])
def test_bad_data(kw, field):
    with pytest.raises(InputError) as info:
        fit_bpp(_good(**kw))
    assert info.value.field == field


def test_bad_arguments():
    with pytest.raises(InputError) as info:
        fit_bpp(_good(frequency=None), nucleus="9Xx", field=9.4)
    assert info.value.field == "nucleus"
    with pytest.raises(InputError) as info:
        fit_bpp(_good(), omega0=155.4e6)            # Hz given as rad/s: inconsistent
    assert info.value.field == "omega0"
    with pytest.raises(InputError) as info:
        fit_bpp(_good(), p0={"D": 1.0})
    assert info.value.field == "p0"
    with pytest.raises(InputError) as info:
        fit_bpp(_good(kind="T1rho", frequency=None), omega0=W0)
    assert info.value.field == "frequency"
    with pytest.raises(InputError) as info:
        fit_bpp(_good(kind="T1rho"))
    assert info.value.field == "omega0"
    with pytest.raises(InputError) as info:
        fit_bpp([1, 2, 3])
    assert info.value.field == "data"
    with pytest.raises(InputError) as info:
        einstein_smoluchowski(1e-9, 3.87e-10, 4)
    assert info.value.field == "dimension"
    with pytest.raises(InputError) as info:
        einstein_smoluchowski(-1e-9, 3.87e-10, 3)
    assert info.value.field == "tau"
    with pytest.raises(InputError) as info:
        bpp_rate(300.0, TAU0, EA, C, W0, kind="T1rho")
    assert info.value.field == "omega1"
    with pytest.raises(InputError) as info:
        asymmetric_bpp_rate(300.0, TAU0, EA, C, W0, 2.5)
    assert info.value.field == "beta"
    with pytest.raises(InputError) as info:
        bpp_rate([300.0, -1.0], TAU0, EA, C, W0)
    assert info.value.field == "T"


def test_no_minimum():
    T = np.linspace(150.0, 300.0, 10)        # only the low-T flank: T1 falls monotonically
    T1 = 1 / bpp_rate(T, TAU0, EA, C, W0)
    data = RelaxationData(T=T, time=T1, time_error=0.03 * T1, frequency=155.4e6)
    with pytest.raises(InputError) as info:
        fit_bpp(data, asymmetric=True)
    assert info.value.field == "time"
    with pytest.warns(FitWarning, match="no minimum"):
        res = fit_bpp(data)
    # the result says so too (stored, printed, reported): not ok
    assert res.status == "warning"
    assert [d.code for d in res.diagnostics] == ["data-quality"]
    with pytest.raises(InputError):            # 4 points is too few for β as well
        fit_bpp(RelaxationData(T=T_GRID[5:9], time=np.ones(4), frequency=155.4e6),
                asymmetric=True)


def test_no_warning_for_good_fit():
    T1 = 1 / bpp_rate(T_GRID, TAU0, EA, C, W0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        fit_bpp(_data(T_GRID, T1, rng=np.random.default_rng(9), frequency=155.4e6))
