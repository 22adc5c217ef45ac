"""Regression tests of the tracer profile fit's robustness (issues 9 and 10).

* a profile measured from the other face (source at the far end) is refused, not fitted into
  D* = 5e24 cm² s⁻¹, and ``direction="from-far-face"`` fits it;
* a diffusion length outside what the profile can measure is flagged ``unmeasurable``;
* raw ⁶Li/⁷Li counts give the right D by default (source and background fitted), and a value
  the software fixed on its own is shown (``fixed-choice``, text and JSON);
* the exchange model with everything free never ends in a ZeroDivisionError;
* ``read_profile`` selects columns by name whatever their order (``X,dis``);
* absurd positions or fractions are an InputError, never a crash or a hang.
"""

from __future__ import annotations

import json
import math
import time
import warnings

import numpy as np
import pytest

from ionscale.cli import main
from ionscale.datasets.demo import REAL_18O
from ionscale.datasets.synthetic import exchange_and_anneal_lines, write_profile
from ionscale.errors import FitError, InputError
from ionscale.io.sims import read_profile
from ionscale.tracer import profiles as P
from ionscale.tracer.data import Profile
from ionscale.tracer.profiles import constant_source, fit_profile, surface_exchange

T_REAL = 5640.0
D_LINE, T_LINE = 6.6e-13, 97 * 3600.0  # the line scan of issue 9 (⁶Li, 97 h)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


def far_face() -> Profile:
    """BayesECR rows 585 onwards: the fraction rises towards the end of the profile."""
    return read_profile(REAL_18O, x_unit="cm", rows=slice(584, None))


@pytest.fixture(scope="module")
def count_line(tmp_path_factory):
    """A raw ⁶Li/⁷Li count line scan (95 % source on natural Li) written as a SIMS export."""
    lines = exchange_and_anneal_lines(D_exchange=D_LINE, exchange_time=T_LINE, D_anneal=1e-13,
                                      anneal_times=(), seed=3)
    path = tmp_path_factory.mktemp("line") / "line.csv"
    write_profile(path, lines.profiles[0], header="synthetic 6Li exchange, 97 h")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# ------------------------------------------------------------------ 1. direction, unmeasurable


def test_profile_from_the_far_face_is_refused_with_a_clear_message():
    with pytest.raises(InputError) as err:
        fit_profile(far_face(), model="exchange", time=T_REAL)
    assert err.value.field == "direction"
    assert "far" in str(err.value) and "from-far-face" in str(err.value)


def test_direction_from_far_face_flips_the_depth_axis():
    prof = far_face()
    fit = fit_profile(prof, model="exchange", time=T_REAL, direction="from-far-face")
    assert fit.status != "failed"
    D = fit["D"].value
    assert 1e-13 < D < 1e-10 and fit["D"].relative_error < 0.1  # ~1e-12 m² s⁻¹
    assert "unmeasurable" not in codes(fit)
    # the fit is made on the depth from the far end: the first fitted point is the last measured
    assert fit.x[0] == pytest.approx(0.0, abs=1e-12)
    assert fit.fraction[0] == prof.fraction[-1]
    assert fit.provenance.parameters["direction"] == "from-far-face"
    # the same as flipping the data by hand
    flipped = Profile(x=prof.x[-1] - prof.x[::-1], fraction=prof.fraction[::-1])
    ref = fit_profile(flipped, model="exchange", time=T_REAL)
    assert D == pytest.approx(ref["D"].value, rel=1e-6)
    # a surface profile is left as it is; forcing the far face on it is refused
    first = read_profile(REAL_18O, x_unit="cm", rows=slice(0, 584))
    assert fit_profile(first, model="exchange", time=T_REAL,
                       direction="from-surface")["D"].value == pytest.approx(
        fit_profile(first, model="exchange", time=T_REAL)["D"].value)
    with pytest.raises(InputError) as err:
        fit_profile(prof, model="exchange", time=T_REAL, direction="sideways")
    assert err.value.field == "direction"


def test_forced_wrong_direction_is_failed_and_unmeasurable():
    fit = fit_profile(far_face(), model="exchange", time=T_REAL, direction="from-surface")
    assert fit.status == "failed"
    assert "unmeasurable" in codes(fit)


def test_diffusion_length_outside_the_profile_is_unmeasurable():
    t = 3600.0
    x = np.arange(1e-6, 41e-6, 1e-6)  # first step 1 µm, profile 40 µm deep
    for D, flagged in ((1e-14, False),      # √(Dt) = 6 µm
                       (1e-17, True),       # √(Dt) = 0.19 µm < first step
                       (1e-11, True)):      # √(Dt) = 190 µm > profile
        prof = Profile(x=x, fraction=constant_source(x, D, t), sigma=np.full(x.size, 1e-3))
        fit = fit_profile(prof, model="erfc", time=t, source=1.0, background=0.0)
        assert ("unmeasurable" in codes(fit)) is flagged, (D, fit.diagnostics)
        if flagged:
            d = next(d for d in fit.diagnostics if d.code == "unmeasurable")
            assert "D" in d.fields and "√(D t)" in d.message


# ------------------------------------------------------------------ 2. raw counts, fixed choices


def test_raw_counts_give_the_right_D_by_default(count_line):
    prof = read_profile(count_line)
    assert prof.counts
    fit = fit_profile(prof, model="erfc", time="97 h")
    assert fit["D"].value == pytest.approx(D_LINE, rel=0.03)
    assert abs(fit["D"].value - D_LINE) < 3 * fit["D"].error
    assert fit.fit.reduced_chi2 < 1.5
    assert {"C_s", "C_bg"} <= set(fit.values)
    assert "fixed-choice" not in codes(fit)
    assert fit.provenance.parameters["defaults"]["C_s"] == "fit"


def test_a_fixed_choice_is_visible(count_line):
    # normalised data without source/background: fixed at 1 and 0, and said so
    x = np.linspace(0, 20e-6, 50)
    prof = Profile(x=x, fraction=constant_source(x, 1e-14, 3600.0))
    fit = fit_profile(prof, time=3600.0)
    assert fit.status == "warning"
    d = next(d for d in fit.diagnostics if d.code == "fixed-choice")
    assert set(d.fields) == {"C_s", "C_bg"} and "C_s = 1" in d.message
    assert "fixed: " in fit.summary() and "C_s = 1 (default)" in fit.summary()
    record = fit.to_dict()
    assert record["provenance"]["parameters"]["fixed_values"]["C_s"] == 1.0
    assert record["provenance"]["parameters"]["defaults"]["C_bg"] == 0.0
    # values the user gave are recorded but are not a diagnostic
    fit = fit_profile(prof, time=3600.0, source=1.0, background=0.0)
    assert "fixed-choice" not in codes(fit)
    assert "C_s = 1 (given)" in fit.summary()
    # raw counts with a fixed source: the count data cannot hide it
    fit = fit_profile(read_profile(count_line), model="erfc", time="97 h", source=1.0)
    assert "C_s = 1 (given)" in fit.summary()


def test_cli_count_line_default_and_fixed_choice(count_line, capsys):
    code, out, _ = run(capsys, "tracer", "fit", count_line, "--model", "erfc", "--time", "97 h",
                       "--json")
    assert code == 0
    result = json.loads(out)
    assert result["values"]["D"]["value"] == pytest.approx(D_LINE, rel=0.03)
    assert result["fit"]["reduced_chi2"] < 1.5
    code, out, err = run(capsys, "tracer", "fit", count_line, "--model", "erfc", "--time",
                         "97 h", "--source", "1", "--background", "0")
    assert code == 0
    assert "fixed: " in out and "C_s = 1 (given)" in out and "C_bg = 0 (given)" in out


# ------------------------------------------------------------------ 3. exchange, all free


def test_exchange_with_everything_free_never_divides_by_zero():
    try:
        fit = fit_profile(far_face(), model="exchange", time=T_REAL, surface="fit",
                          background="fit", source="fit", direction="from-surface")
    except (FitError, InputError):
        return
    assert fit.status == "failed"


def test_exchange_kernels_stay_finite_at_extreme_parameters():
    x = np.linspace(0, 1e-5, 20)
    for D, k in ((0.0, 1e-9), (1e-320, 1e-9), (1e300, 1e-9), (1e-14, 0.0), (1e-14, 1e300),
                 (1e-14, math.inf)):
        m = P._exchange_model(x, D, k, 0.0, 1.0, 0.0, t=3600.0)
        j = P._exchange_jac(x, D, k, 0.0, 1.0, 0.0, t=3600.0)
        assert np.all(np.isfinite(m)) and np.all(np.isfinite(j)), (D, k)
    for D in (0.0, 1e-320, 1e300):
        assert np.all(np.isfinite(P._erfc_jac(x, D, 0.0, 1.0, 0.0, t=3600.0)))
        assert np.all(np.isfinite(P._thin_film_jac(x, D, 1e-6, 0.0, 0.0, t=3600.0)))


def test_cli_exchange_everything_free_exits_without_traceback(capsys):
    code, out, err = run(capsys, "tracer", "fit", REAL_18O, "--x-unit", "cm", "--rows", "584:",
                         "--model", "exchange", "--time", "5640 s", "--surface", "fit",
                         "--background", "fit", "--source", "fit", "--direction",
                         "from-surface")
    assert code == 1  # a fit that cannot describe the data: one line, no numbers
    assert "FAILED" in out or err.startswith("ionscale: fit failed: ")
    code, out, err = run(capsys, "tracer", "fit", REAL_18O, "--x-unit", "cm", "--rows", "584:",
                         "--model", "exchange", "--time", "5640 s")
    assert code == 2 and "--direction" in err
    code, out, err = run(capsys, "tracer", "fit", REAL_18O, "--x-unit", "cm", "--rows", "584:",
                         "--model", "exchange", "--time", "5640 s", "--direction",
                         "from-far-face", "--source", "1", "--background", "0")
    assert code == 0, err
    assert "D* = " in out


def test_cli_prints_status_and_diagnostics(capsys):
    code, out, err = run(capsys, "tracer", "fit", REAL_18O, "--x-unit", "cm", "--rows", "584:",
                         "--model", "exchange", "--time", "5640 s", "--direction",
                         "from-surface", "--source", "1", "--background", "0", "--json")
    assert code == 1
    result = json.loads(out)
    assert result["status"] == "failed"
    assert "unmeasurable" in [d["code"] for d in result["diagnostics"]]


# ------------------------------------------------------------------ 4. column order


def test_read_profile_selects_columns_by_name_in_any_order(tmp_path):
    path = tmp_path / "couple.csv"
    path.write_text("X,dis\n0.9,0\n0.8,1\n0.5,2\n0.2,3\n0.1,4\n", encoding="utf-8")
    prof = read_profile(path, x_column="dis", fraction_column="X")
    np.testing.assert_allclose(prof.x, np.arange(5) * 1e-6)
    np.testing.assert_allclose(prof.fraction, [0.9, 0.8, 0.5, 0.2, 0.1])
    assert prof.metadata["x_column"] == "dis" and prof.metadata["fraction_column"] == "X"
    # by index and with the position named alone
    same = read_profile(path, x_column=1, fraction_column=0)
    np.testing.assert_allclose(same.fraction, prof.fraction)
    same = read_profile(path, x_column="dis")
    np.testing.assert_allclose(same.fraction, prof.fraction)
    with pytest.raises(InputError) as err:
        read_profile(path, x_column="dis", fraction_column="dis")
    assert err.value.field == "dis"


# ------------------------------------------------------------------ 5. absurd inputs


def _real_first() -> tuple[np.ndarray, np.ndarray]:
    depth_cm, frac = np.loadtxt(REAL_18O, max_rows=584, unpack=True)
    return depth_cm * 1e-2, frac


@pytest.mark.parametrize("model", ["erfc", "exchange", "thin-film"])
def test_positions_scaled_by_1e_minus_12_are_an_input_error(model):
    x, frac = _real_first()
    with pytest.raises(InputError) as err:
        fit_profile(Profile(x=x * 1e-12, fraction=frac), model=model, time=T_REAL)
    assert err.value.field == "x" and "span" in str(err.value)


@pytest.mark.parametrize("model", ["erfc", "exchange", "thin-film"])
def test_fractions_times_1e300_are_an_input_error_quickly(model):
    x, frac = _real_first()
    start = time.perf_counter()
    with pytest.raises(InputError) as err:
        fit_profile(Profile(x=x, fraction=frac * 1e300), model=model, time=T_REAL)
    assert err.value.field == "fraction"
    assert time.perf_counter() - start < 2.0


def test_infinite_values_are_an_input_error():
    x = np.linspace(0, 20e-6, 30)
    c = constant_source(x, 1e-14, 3600.0)
    bad = c.copy()
    bad[3] = np.inf
    with pytest.raises(InputError) as err:
        fit_profile(Profile(x=x, fraction=bad), time=3600.0)
    assert err.value.field == "fraction"
    xs = x.copy()
    xs[-1] = np.inf
    with pytest.raises(InputError) as err:
        fit_profile(Profile(x=xs, fraction=c), time=3600.0)
    assert err.value.field == "x"
    # NaN fractions are masked points (no counts), as before
    masked = c.copy()
    masked[3] = np.nan
    assert not fit_profile(Profile(x=x, fraction=masked), time=3600.0).used[3]


def test_fit_with_tiny_but_valid_positions_works():
    # a 10 nm thin-film profile (0.2 nm steps) is a legitimate SIMS depth profile
    t = 60.0
    x = np.arange(0, 10e-9, 0.2e-9)
    D, k = 2e-20, 3e-12
    prof = Profile(x=x, fraction=surface_exchange(x, D, k, t), sigma=np.full(x.size, 1e-3))
    fit = fit_profile(prof, model="exchange", time=t, source=1.0, background=0.0)
    assert fit["D"].value == pytest.approx(D, rel=1e-4)
