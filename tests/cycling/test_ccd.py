"""Critical current density, plateaus and ASR of the seed-004 synthetic cell; failure types."""

import json
import math

import numpy as np
import pytest

from ionscale.cycling import (
    analyse_steps,
    area_specific_resistance,
    critical_current_density,
    detect_shorts,
)
from ionscale.datasets.synthetic_cycling import ContactLoss, Short, SoftShort, symmetric_cell_trace
from ionscale.errors import InputError

MA_CM2 = 10.0   # A m⁻² per mA cm⁻²
MAH_CM2 = 36000.0  # C m⁻² per mAh cm⁻²


def test_seed004_cell_ccd_last_stable_and_failure(seed004_ccd):
    r = seed004_ccd
    assert r.status == "ok", r.summary()
    assert r["CCD"].value == pytest.approx(0.4 * MA_CM2, rel=0.01)
    assert r["j_last_stable"].value == pytest.approx(0.2 * MA_CM2, rel=0.01)
    assert r.shorts.kind == "short (sudden drop)"
    f = r.shorts.first
    tab = r.steps.table
    assert tab["cycle_in_level"][f] == 3 and tab["sign"][f] == 1
    # 0.05, 0.1, 0.2 (10 half-cycles of 1 h each), 4 half-cycles at 0.4, half of the 5th
    expected = (10 * (0.05 + 0.1 + 0.2) + 4 * 0.4 + 0.5 * 0.4) * MAH_CM2
    assert r["capacity_to_failure"].value == pytest.approx(expected, rel=0.01)
    assert r["capacity_at_failure"].value == pytest.approx(0.2 * MAH_CM2, rel=0.05)
    # the drop is placed within two blocks (2.5 %) of the half-cycle's middle
    assert r["t_failure"].value - tab["t_start"][f] == pytest.approx(1800.0, abs=200.0)
    # every criterion that fired is written out with its threshold
    assert "(> 30 %)" in r.shorts.reasons[f] and "50 % of ASR_ref·j" in r.shorts.reasons[f]
    verdicts = [c["verdict"] for c in r.cycles if abs(c["j"] - 4.0) < 1e-6]
    assert verdicts[:5] == ["stable", "stable", "short", "shorted", "shorted"]
    assert all(v == "shorted" for v in r.shorts.verdict[f + 1:])


def test_seed004_plateaus_and_asr(seed004_ccd):
    r = seed004_ccd
    tab = r.steps.table
    stable = np.array([v == "stable" for v in r.shorts.verdict])
    for j, mv in ((0.05, 2.75), (0.1, 5.5), (0.2, 11.0), (0.4, 22.0)):
        sel = stable & np.isclose(tab["j"], j * MA_CM2, rtol=0.02)
        assert sel.sum() >= 4
        assert np.mean(tab["eta"][sel]) * 1e3 == pytest.approx(mv, rel=0.02)
    asr = r["ASR"]
    assert asr.value * 1e4 == pytest.approx(55.0, rel=0.02)
    assert abs(asr.value - 55e-4) <= 3 * asr.error    # the truth lies inside its error
    assert asr.error / asr.value < 0.01
    assert r.asr.linear is True
    assert r["ASR_ref"].value * 1e4 == pytest.approx(55.0, rel=0.02)


def test_result_serialises_and_plots(seed004_ccd, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = seed004_ccd.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert '"CCD"' in text and d["data"]["criteria"]["thresholds"]["drop_fraction"] == 0.3
    assert len(d["data"]["verdicts"]) == seed004_ccd.steps.n
    ax = seed004_ccd.plot()
    assert len(ax.figure.axes) == 3
    ax.figure.savefig(tmp_path / "ccd.png", dpi=40)
    plt.close(ax.figure)
    fig, ax = plt.subplots()
    assert seed004_ccd.plot(ax, kind="polarisation") is ax
    with pytest.raises(InputError, match="unknown figure"):
        seed004_ccd.plot(ax, kind="bode")
    plt.close(fig)
    summary = seed004_ccd.summary()
    assert "short (sudden drop) at j = 0.4 mA cm⁻²" in summary and "shorted" in summary


def test_soft_short_is_detected_and_named():
    trace = symmetric_cell_trace(seed=5, soft_short=SoftShort(j=2.0, cycle=2))
    r = critical_current_density(trace)
    assert r.shorts.kind == "soft short"
    assert r["CCD"].value == pytest.approx(2.0)
    assert r["j_last_stable"].value == pytest.approx(1.0)
    assert r.status == "warning"
    assert any(d.code == "data-quality" and "soft short" in d.message for d in r.diagnostics)


def test_contact_loss_tail_is_detected_named_and_left_out_of_the_asr():
    trace = symmetric_cell_trace(seed=6, contact_loss=ContactLoss(j=4.0, rise=0.5))
    r = critical_current_density(trace)
    tab = r.steps.table
    tails = tab["tail"]
    assert np.all(tails[tab["j"] >= 4.0 - 1e-9]) and not np.any(tails[tab["j"] < 3.9])
    assert "CCD" not in r.values and "CCD_lower_bound" in r.values   # no short
    assert {"contact loss", "stable"} == set(r.shorts.verdict)
    codes = {d.code for d in r.diagnostics}
    assert "unmeasurable" in codes
    assert any(d.code == "data-quality" and "contact loss" in d.message for d in r.diagnostics)
    assert r["ASR"].value * 1e4 == pytest.approx(55.0, rel=0.02)
    assert not np.any(r.asr.used & tails)


def test_short_at_the_first_level_has_no_stable_j():
    trace = symmetric_cell_trace(seed=7, short=Short(j=0.5, cycle=1, half=1, at=0.4,
                                                     drop_to=1e-3))
    r = critical_current_density(trace)
    assert r["CCD"].value == pytest.approx(0.5)
    assert "j_last_stable" not in r.values
    assert any("first current-density level" in d.message for d in r.diagnostics)


def test_asr_against_impedance_ra():
    trace = symmetric_cell_trace(seed=8, levels=(0.5, 1.0, 2.0), cycles=2)
    r = area_specific_resistance(trace, impedance_resistance=0.55 / 0.126e-4 * 1e-2,
                                 impedance_resistance_error=2.0)
    assert r["RA_impedance"].value == pytest.approx(5.5e-3)
    assert r["ASR_ratio"].value == pytest.approx(1.0, abs=0.01)
    assert r.status == "ok"
    far = area_specific_resistance(trace, impedance_resistance=200.0)
    assert far["ASR_ratio"].value == pytest.approx(2.18, rel=0.02)
    assert any("R·A of impedance" in d.message for d in far.diagnostics)


def test_non_linear_polarisation_is_flagged():
    from ionscale.cycling import fit_asr

    j = np.repeat([0.5, 1.0, 2.0, 4.0, 8.0], 4)
    eta = 5.5e-3 * j * (1 + 0.05 * j) + np.tile([2e-5, -2e-5], 10)   # +40 % at 8 A m⁻²
    r = fit_asr(j, eta, np.full(j.size, 2e-5))
    assert r.linear is False and r["nonlinearity"].value == pytest.approx(0.4, rel=0.1)
    assert r.status == "warning"


def test_asr_needs_two_current_densities():
    from ionscale.cycling import fit_asr

    r = fit_asr([1.0, 1.0, 1.0], [5e-3, 5.1e-3, 4.9e-3])
    assert r.status == "failed" and "ASR" not in r.values


def test_thresholds_are_parameters(seed004_trace):
    steps = analyse_steps(seed004_trace)
    strict = detect_shorts(steps, drop_fraction=0.6, floor_fraction=0.2)
    # 22 -> 10 mV (-55 %) is no longer a drop nor below 20 % of the ohmic value: the first
    # failure is the next, near-zero half-cycle
    assert strict.first == detect_shorts(steps).first + 1
    assert strict.thresholds["drop_fraction"] == 0.6
    assert math.isfinite(strict.asr_reference)
