import json
import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ionscale.errors import InputError  # noqa: E402
from ionscale.transport.arrhenius import (  # noqa: E402
    compare_arrhenius_models,
    fit_arrhenius,
    fit_two_segment,
    fit_vtf,
)
from ionscale.transport.io import read_arrhenius_table  # noqa: E402
from ionscale.units import BOLTZMANN, EV  # noqa: E402

K = BOLTZMANN


def arrhenius(T, ea_ev, prefactor):
    return prefactor * np.exp(-ea_ev * EV / (K * T))


def noisy(y, rel, rng):
    """Log-normal noise: ln y gets N(0, rel)."""
    return y * np.exp(rng.normal(0.0, rel, np.shape(y)))


T12 = np.linspace(300.0, 600.0, 12)


# --------------------------------------------------------------------------- single line


def test_round_trip_within_two_sigma():
    rng = np.random.default_rng(3)
    d = noisy(arrhenius(T12, 0.45, 1e-6), 0.05, rng)
    fit = fit_arrhenius(T12, d, y_err=0.05 * d)
    ea = fit["Ea"]
    assert abs(ea.value - 0.45 * EV) < 2 * ea.error
    assert abs(fit.ln_prefactor - math.log(1e-6)) < 2 * fit.ln_prefactor_error
    assert ea.unit == "J" and fit["prefactor"].unit == "m^2/s"
    assert fit.covariance.shape == (2, 2)
    assert fit.covariance[0, 1] > 0  # Ea and ln A are positively correlated
    assert fit["prefactor"].error == pytest.approx(fit["prefactor"].value
                                                   * fit.ln_prefactor_error)
    assert "eV" in str(fit["Ea"])


def test_matches_closed_form_weighted_least_squares():
    rng = np.random.default_rng(4)
    d = noisy(arrhenius(T12, 0.3, 1e-7), 0.1, rng)
    err = d * rng.uniform(0.05, 0.2, T12.size)
    fit = fit_arrhenius(T12, d, y_err=err)
    w = d / err
    design = np.column_stack([-1 / (K * T12), np.ones_like(T12)]) * w[:, None]
    cov = np.linalg.inv(design.T @ design)
    coef = cov @ design.T @ (np.log(d) * w)
    assert fit["Ea"].value == pytest.approx(coef[0], rel=1e-8)
    assert fit.ln_prefactor == pytest.approx(coef[1], rel=1e-8)
    assert fit.covariance == pytest.approx(cov, rel=1e-6)


@pytest.mark.parametrize("with_errors", [True, False])
def test_coverage_over_replicas(with_errors):
    rng = np.random.default_rng(11)
    truth = np.array([0.45 * EV, math.log(1e-6)])
    clean = arrhenius(T12, 0.45, 1e-6)
    hits = np.zeros(2)
    n = 300
    for _ in range(n):
        d = noisy(clean, 0.08, rng)
        fit = fit_arrhenius(T12, d, y_err=0.08 * d if with_errors else None)
        est = np.array([fit["Ea"].value, fit.ln_prefactor])
        err = np.sqrt(np.diag(fit.covariance))
        hits += np.abs(est - truth) < 1.96 * err
    coverage = hits / n
    # with unit weights the errors are scaled by χ²_red (t-distribution, 10 dof): a bit lower
    low = 0.90 if with_errors else 0.88
    assert np.all((coverage > low) & (coverage < 0.99)), coverage


def test_sigmaT_form_recovers_parameters_and_predicts_sigma():
    rng = np.random.default_rng(5)
    T = np.linspace(250.0, 450.0, 10)
    sigma = 3e6 / T * np.exp(-0.37 * EV / (K * T))  # S/m: σT = 3e6 S K/m exp(-Ea/kT)
    s = noisy(sigma, 0.03, rng)
    fit = fit_arrhenius(T, s, y_err=0.03 * s, form="sigmaT")
    assert fit["prefactor"].unit == "S*K/m"
    assert abs(fit["Ea"].value - 0.37 * EV) < 2 * fit["Ea"].error
    assert abs(fit.ln_prefactor - math.log(3e6)) < 2 * fit.ln_prefactor_error
    pred, _ = fit.predict([300.0])
    truth = 3e6 / 300.0 * np.exp(-0.37 * EV / (K * 300.0))
    assert pred[0] == pytest.approx(truth, rel=0.05)


def test_celsius_input_equals_kelvin_input():
    d = arrhenius(T12, 0.4, 1e-5)
    a = fit_arrhenius(T12, d, y_err=0.1 * d)
    b = fit_arrhenius(T12 - 273.15, d, y_err=0.1 * d, T_unit="C")
    assert a["Ea"].value == pytest.approx(b["Ea"].value, rel=1e-10)
    assert a.predict(350.0)[0] == pytest.approx(b.predict(350.0 - 273.15, "C")[0])


def test_predict_error_matches_monte_carlo():
    rng = np.random.default_rng(6)
    d = noisy(arrhenius(T12, 0.45, 1e-6), 0.05, rng)
    fit = fit_arrhenius(T12, d, y_err=0.05 * d)
    to_ev = np.diag([1 / EV, 1.0])  # draw in eV: J-scale covariances are ill-conditioned
    draws = rng.multivariate_normal([fit["Ea"].value / EV, fit.ln_prefactor],
                                    to_ev @ fit.covariance @ to_ev, 200_000)
    draws[:, 0] *= EV
    for T in (450.0, 163.15):  # inside the data and far outside (extrapolation)
        ln_y = draws[:, 1] - draws[:, 0] / (K * T)
        mean, sd = fit.predict_log(T)
        assert sd == pytest.approx(ln_y.std(), rel=0.02)
        assert mean == pytest.approx(ln_y.mean(), abs=0.01 * sd + 1e-9)
    # inside the data the relative error is small and the first-order y_err is accurate
    y, y_err = fit.predict(450.0)
    samples = np.exp(draws[:, 1] - draws[:, 0] / (K * 450.0))
    assert y_err == pytest.approx(samples.std(), rel=0.03)
    assert fit.extrapolate(450.0)[1] == y_err


def test_seed000_extrapolation_to_minus_110C():
    """D_eff at -110 °C ≈ 1e-14 cm² s⁻¹ (seed 000), and Li moves < 1 µm in a 5 h SIMS run.

    The seed does not tabulate D_eff(T), so the data are built from its numbers with the
    series model (eq 6): D_bulk = 2.6e-8 cm² s⁻¹ at 22 °C (bulk Ea assumed 0.25 eV) and the
    Fig. 5c grain-boundary line (l/δ)D_gb = 0.048 cm² s⁻¹ exp(-0.43 eV / kT), 10 % noise,
    measured between 22 and 150 °C (below the non-Arrhenius range).
    """
    rng = np.random.default_rng(0)
    T = np.array([22.0, 50.0, 75.0, 100.0, 125.0, 150.0]) + 273.15
    d_bulk = 2.6e-12 * np.exp(-0.25 * EV / K * (1 / T - 1 / 295.15))   # m^2/s
    gb = 0.048e-4 * np.exp(-0.43 * EV / (K * T))
    d_eff = noisy(1 / (1 / d_bulk + 1 / gb), 0.1, rng)
    fit = fit_arrhenius(T, d_eff, y_err=0.1 * d_eff)
    y, y_err = fit.extrapolate([-110.0], T_unit="C")
    d_cm2 = y[0] * 1e4
    assert 10 ** -14.5 < d_cm2 < 10 ** -13.5          # ≈ 1e-14 cm² s⁻¹
    assert 0.1 < y_err[0] / y[0] < 1.0                 # extrapolation error is honest, not tiny
    length = math.sqrt(2 * (y[0] + 2 * y_err[0]) * 5 * 3600)
    assert length < 1e-6                               # below SIMS resolution even at +2σ


def test_two_points_without_errors_warns_and_gives_nan_errors():
    d = arrhenius(np.array([300.0, 400.0]), 0.5, 1e-6)
    with pytest.warns(Warning, match="two points"):
        fit = fit_arrhenius([300.0, 400.0], d)
    assert fit["Ea"].value == pytest.approx(0.5 * EV, rel=1e-9)
    assert math.isnan(fit["Ea"].error)


@pytest.mark.parametrize(
    ("T", "y", "kwargs", "field"),
    [
        ([300.0, -5.0, 400.0], [1e-9, 1e-9, 1e-9], {}, "T"),
        ([30.0, -300.0, 40.0], [1e-9, 1e-9, 1e-9], {"T_unit": "C"}, "T"),
        ([300.0, 350.0, 400.0], [1e-9, -1e-9, 1e-9], {}, "y"),
        ([300.0, 350.0, 400.0], [1e-9, 1e-9], {}, "y"),
        ([300.0], [1e-9], {}, "T"),
        ([300.0, 300.0], [1e-9, 2e-9], {}, "T"),
        ([300.0, 350.0], [1e-9, 2e-9], {"form": "sigma"}, "form"),
        ([300.0, 350.0], [1e-9, 2e-9], {"T_unit": "F"}, "T_unit"),
        ([300.0, 350.0], [1e-9, 2e-9], {"y_err": [0.0, 1e-10]}, "y_err"),
        ([300.0, np.nan], [1e-9, 2e-9], {}, "T"),
    ],
)
def test_bad_input_raises_input_error(T, y, kwargs, field):
    with pytest.raises(InputError) as info:
        fit_arrhenius(T, y, **kwargs)
    assert info.value.field == field


@settings(max_examples=40, deadline=None)
@given(ea=st.floats(0.05, 1.5), log_a=st.floats(-12.0, 2.0), scale=st.floats(1e-3, 1e3),
       tmin=st.floats(150.0, 600.0), span=st.floats(50.0, 800.0))
def test_noise_free_data_recovered_and_scaling_only_shifts_prefactor(ea, log_a, scale, tmin,
                                                                     span):
    T = np.linspace(tmin, tmin + span, 6)
    d = arrhenius(T, ea, 10.0**log_a)
    fit = fit_arrhenius(T, d, y_err=0.1 * d)
    assert fit["Ea"].value == pytest.approx(ea * EV, rel=1e-6, abs=1e-9 * EV)
    assert fit.ln_prefactor == pytest.approx(log_a * math.log(10), abs=1e-6)
    scaled = fit_arrhenius(T, d * scale, y_err=0.1 * d * scale)
    assert scaled["Ea"].value == pytest.approx(fit["Ea"].value, rel=1e-6, abs=1e-9 * EV)
    assert scaled.ln_prefactor - fit.ln_prefactor == pytest.approx(math.log(scale), abs=1e-6)
    assert scaled["Ea"].error == pytest.approx(fit["Ea"].error, rel=1e-6)


def test_plot_has_arrhenius_axes_and_band():
    rng = np.random.default_rng(1)
    d = noisy(arrhenius(T12, 0.45, 1e-6), 0.05, rng)
    ax = fit_arrhenius(T12, d, y_err=0.05 * d).plot()
    assert ax.get_xlabel() == "1000/T (K⁻¹)"
    assert ax.get_ylabel() == "D (cm² s⁻¹)"
    assert ax.get_yscale() == "log"
    assert len(ax.collections) >= 1  # the 1σ band
    ax2 = fit_arrhenius(T12, d, form="sigmaT").plot(celsius_axis=False)
    assert ax2.get_ylabel() == "σT (S K cm⁻¹)"
    plt.close("all")


# --------------------------------------------------------------------------- curvature


def broken_line(T, ea_high, ea_low, t_break, y_break):
    x, xb = 1 / T, 1 / t_break
    ea = np.where(T >= t_break, ea_high, ea_low) * EV
    return y_break * np.exp(-ea * (x - xb) / K)


def test_two_segment_recovers_breakpoint_and_energies():
    rng = np.random.default_rng(8)
    T = np.linspace(280.0, 650.0, 16)
    d = noisy(broken_line(T, 0.20, 0.42, 450.0, 1e-11), 0.05, rng)
    fit = fit_two_segment(T, d, y_err=0.05 * d)
    for name, truth in (("Ea_high", 0.20 * EV), ("Ea_low", 0.42 * EV), ("T_break", 450.0)):
        v = fit[name]
        assert abs(v.value - truth) < 2.5 * v.error, name
    mean, sd = fit.predict_log(np.array([300.0, 600.0]))
    assert np.all(sd > 0)


def test_vtf_recovers_T0():
    rng = np.random.default_rng(9)
    T = np.linspace(260.0, 420.0, 14)
    ln_y = math.log(1e-7) - 0.08 * EV / (K * (T - 190.0))
    d = np.exp(ln_y + rng.normal(0, 0.02, T.size))
    fit = fit_vtf(T, d, y_err=0.02 * d)
    assert abs(fit["T0"].value - 190.0) < 2.5 * fit["T0"].error
    assert abs(fit["B"].value - 0.08 * EV) < 2.5 * fit["B"].error
    assert fit["T0"].value < T.min()


def test_vtf_bounds_and_point_count():
    T = np.linspace(300, 400, 6)
    d = arrhenius(T, 0.3, 1e-6)
    with pytest.raises(InputError) as info:
        fit_vtf(T, d, T0_max=300.0)
    assert info.value.field == "T0_max"
    with pytest.raises(InputError):
        fit_vtf(T[:3], d[:3])
    with pytest.raises(InputError):
        fit_two_segment(T[:4], d[:4])


def test_comparison_detects_broken_line_and_vtf():
    rng = np.random.default_rng(10)
    T = np.linspace(280.0, 650.0, 16)
    d = noisy(broken_line(T, 0.20, 0.42, 450.0, 1e-11), 0.05, rng)
    cmp_ = compare_arrhenius_models(T, d, 0.05 * d)
    assert cmp_.verdict.startswith("curvature")
    assert "two-segment" in cmp_.verdict
    assert cmp_["p_value"].value < 1e-3
    assert cmp_.table["two_segment"]["aic"] < cmp_.table["arrhenius"]["aic"]
    assert cmp_.preferred == "two_segment"
    assert json.loads(json.dumps(cmp_.to_dict()))["type"] == "ModelComparison"
    Tv = np.linspace(260.0, 420.0, 14)
    dv = np.exp(math.log(1e-7) - 0.08 * EV / (K * (Tv - 190.0)) + rng.normal(0, 0.02, 14))
    cmp_v = compare_arrhenius_models(Tv, dv, 0.02 * dv)
    assert "VTF" in cmp_v.verdict
    ax = cmp_v.plot()
    assert len(ax.get_lines()) >= 3
    plt.close("all")
    assert "Arrhenius curvature test" in cmp_v.summary()


def test_comparison_quiet_on_straight_lines():
    rng = np.random.default_rng(12)
    clean = arrhenius(T12, 0.45, 1e-6)
    one = noisy(clean, 0.05, rng)
    assert compare_arrhenius_models(T12, one, 0.05 * one).verdict == "Arrhenius adequate"
    false_alarms = 0
    n = 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n):
            d = noisy(clean, 0.05, rng)
            if compare_arrhenius_models(T12, d, 0.05 * d).verdict != "Arrhenius adequate":
                false_alarms += 1
    assert false_alarms / n < 0.2


def test_comparison_with_three_points_only_fits_line():
    T = np.array([300.0, 350.0, 400.0])
    cmp_ = compare_arrhenius_models(T, arrhenius(T, 0.3, 1e-6))
    assert cmp_.two_segment is None and cmp_.vtf is None
    assert cmp_.verdict == "Arrhenius adequate"


# --------------------------------------------------------------------------- table reader


def test_read_table_celsius_cm2s_with_errors_and_metadata(tmp_path):
    path = tmp_path / "deff.csv"
    path.write_text("# sample: LLTO pellet\n# operator = A\n"
                    "T_C, D (cm2/s), D_err (cm2/s)\n"
                    "22, 3.0e-9, 0.5e-9\n100, 6.0e-8, 1.0e-8\n200, 6.6e-7, 1e-7\n")
    table = read_arrhenius_table(path)
    assert table.T == pytest.approx([295.15, 373.15, 473.15])
    assert table.y == pytest.approx([3.0e-13, 6.0e-12, 6.6e-11])
    assert table.y_err == pytest.approx([5e-14, 1e-12, 1e-11])
    assert table.quantity == "D" and table.form == "D" and table.unit == "m^2/s"
    assert table.metadata == {"sample": "LLTO pellet", "operator": "A"}
    fit = table.fit()
    assert fit.provenance.inputs[0].path == str(path)


def test_read_table_conductivity_tab_percent_errors(tmp_path):
    path = tmp_path / "sigma.tsv"
    path.write_text("T (K)\tsigma_gb (mS/cm)\terror (%)\n300\t1\t5\n400\t10\t5\n")
    table = read_arrhenius_table(path)
    assert table.quantity == "sigma" and table.form == "sigmaT"
    assert table.y == pytest.approx([0.1, 1.0])
    assert table.y_err == pytest.approx([0.005, 0.05])


def test_read_table_inverse_temperature_whitespace(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("1000/T (1/K)   sigma_S_m\n3.0 0.1\n2.5 1\n")
    table = read_arrhenius_table(path)
    assert table.T == pytest.approx([1000 / 3.0, 400.0])
    assert table.y_err is None


def test_read_table_units_must_be_given(tmp_path):
    path = tmp_path / "bare.txt"
    path.write_text("T D\n300 1e-9\n400 1e-8\n")
    with pytest.raises(InputError) as info:
        read_arrhenius_table(path)
    assert info.value.file == str(path) and info.value.field == "T"
    table = read_arrhenius_table(path, T_unit="K", value_unit="cm2/s")
    assert table.y == pytest.approx([1e-13, 1e-12])


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("T (K), D (cm2/s)\n300, abc\n400, 1e-9\n", "D (cm2/s)"),
        ("T (K), D (furlongs)\n300, 1e-9\n400, 1e-9\n", "D (furlongs)"),
        ("T (C), D (cm2/s)\n-300, 1e-9\n400, 1e-9\n", "T (C)"),
        ("T (K), D (cm2/s)\n300, -1e-9\n400, 1e-9\n", "D (cm2/s)"),
        ("x, y\n1, 2\n3, 4\n", "T"),
    ],
)
def test_read_table_bad_input_names_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_arrhenius_table(path)
    assert info.value.file == str(path)
    assert info.value.field == field


def test_read_table_too_few_rows_and_missing_file(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("T (K), D (m2/s)\n300, 1e-13\n")
    with pytest.raises(InputError):
        read_arrhenius_table(path)
    with pytest.raises(InputError):
        read_arrhenius_table(tmp_path / "missing.csv")
