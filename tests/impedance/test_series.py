"""Series fits: warm start, arc labels kept in τ order, global parameters, parallel chunks."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest

from ionscale.datasets.synthetic_eis import simulate_spectrum, temperature_series
from ionscale.errors import FitError, FitWarning, InputError
from ionscale.impedance import series as series_mod
from ionscale.impedance.circuits import Circuit
from ionscale.impedance.fit import arc_permutation, fit_circuit, permute_fit
from ionscale.impedance.series import fit_series

PELLET = "p(R1,CPE1)-p(R2,CPE2)-CPE3"
TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"
F = np.logspace(6, -1, 36)


@pytest.fixture(scope="module")
def pellet_spectra():
    return temperature_series(np.arange(263.15, 324.0, 10.0), seed=7,
                              frequency=np.logspace(6, -1, 36))


def _series(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit_series(*args, progress=False, **kwargs)


def _crossing_spectra():
    """Arc A (R 2e4) sweeps τ from 1 µs to 10 ms through arc B (R 5e4, τ = 0.1 ms)."""
    c = Circuit(TWO_ARCS)
    tau_a = np.logspace(-6, -2, 9)
    tau_a = tau_a[np.abs(np.log10(tau_a) + 4) > 0.3]
    spectra, truth = [], []
    for i, t in enumerate(tau_a):
        p = {"R0": 20.0, "R1": 2e4, "CPE1_Q": t ** 0.95 / 2e4, "CPE1_alpha": 0.95,
             "R2": 5e4, "CPE2_Q": 1e-4 ** 0.8 / 5e4, "CPE2_alpha": 0.8}
        truth.append(p)
        spectra.append(simulate_spectrum(c, p, F, noise=0.005, seed=i))
    return spectra, truth, tau_a


# --------------------------------------------------------------------------- warm start


def test_warm_start_uses_the_previous_fit(pellet_spectra):
    warm = _series(pellet_spectra, PELLET, weighting="sigma")
    cold = _series(pellet_spectra, PELLET, weighting="sigma", warm_start=False)
    for prev, cur in zip(warm.fits[:-1], warm.fits[1:], strict=True):
        start = cur.provenance.parameters["initial"]
        assert start == pytest.approx(prev.fit.params, rel=1e-12)
    assert sum(f.fit.nfev for f in warm.fits[1:]) < sum(f.fit.nfev for f in cold.fits[1:])
    assert np.allclose(warm.parameters, cold.parameters, rtol=1e-4)
    for f, s in zip(warm.fits, pellet_spectra, strict=True):
        truth = s.metadata["true_parameters"]
        for name in ("R1", "R2"):
            assert abs(f[name].value - truth[name]) < 4 * f[name].error


def test_series_result_arrays(pellet_spectra, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    s = _series(pellet_spectra, PELLET, weighting="sigma")
    assert len(s) == len(pellet_spectra)
    assert s.names[:8] == Circuit(PELLET).parameter_names
    assert "CPE1_C" in s.names and s.units["R1"] == "ohm"
    T, R1, e1 = s.parameter_series("R1", axis="temperature")
    assert np.array_equal(T, [sp.temperature for sp in pellet_spectra])
    assert np.all(np.diff(R1) < 0) and np.all(e1 > 0)
    C_b, _ = s.parameter("CPE1_C")
    assert np.allclose(C_b, 5e-12, rtol=0.1)  # the pellet's bulk capacitance at every T
    with pytest.raises(InputError):
        s.parameter("R9")
    with pytest.raises(InputError):
        s.parameter_series("R1", axis="time")
    json.dumps(s.to_dict())
    ax = s.plot()
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "T / K"
    ax.figure.savefig(tmp_path / "series.png")


def test_time_axis_from_start_times():
    spectra, _, _ = _crossing_spectra()
    stamped = [replace(sp, start_time=f"2024-05-01T10:{2 * i:02d}:00")
               for i, sp in enumerate(spectra[:3])]
    s = _series(stamped, TWO_ARCS, weighting="sigma")
    t, R, _ = s.parameter_series("R2", axis="time")
    assert np.array_equal(t, [0.0, 120.0, 240.0])
    assert s.temperature is None


# --------------------------------------------------------------------------- labels


def test_label_order_kept_when_time_constants_cross():
    spectra, truth, tau_a = _crossing_spectra()
    s = _series(spectra, TWO_ARCS, weighting="sigma")
    tau1, _ = s.parameter("CPE1_tau")
    tau2, _ = s.parameter("CPE2_tau")
    assert np.all(tau1 < tau2)  # R1‖CPE1 is the faster arc in every spectrum
    R1, _ = s.parameter("R1")
    fast_is_a = tau_a < 1e-4
    expected = np.where(fast_is_a, 2e4, 5e4)
    far = np.abs(np.log10(tau_a) + 4) > 0.9  # arcs clearly apart
    assert np.allclose(R1[far], expected[far], rtol=0.05)


def test_swapped_fits_are_relabelled(monkeypatch):
    """A fit that lands with its arcs swapped is relabelled back to the first spectrum's τ
    order; covariance and model follow."""
    spectra, _, _ = _crossing_spectra()
    spectra = spectra[:4]
    c = Circuit(TWO_ARCS)

    def swapping_fit(spectrum, circuit, initial=None, **kwargs):
        res = fit_circuit(spectrum, circuit, initial, **kwargs)
        if spectrum is spectra[0]:
            return res
        # arcs in decreasing τ order: what an unlucky start can give
        perm = arc_permutation(c, res.fit.values, reference=[1.0, 0.0])
        if perm is None:
            return res
        fit = permute_fit(res.fit, perm)
        return replace(res, fit=fit, values=series_mod._values(c, fit))

    monkeypatch.setattr(series_mod, "fit_circuit", swapping_fit)
    raw = _series(spectra, TWO_ARCS, weighting="sigma", order_time_constants=False)
    fixed = _series(spectra, TWO_ARCS, weighting="sigma", order_time_constants=True)
    assert not raw.relabelled.any()
    assert list(fixed.relabelled) == [False, True, True, True]
    tau1, _ = raw.parameter("CPE1_tau")
    tau2, _ = raw.parameter("CPE2_tau")
    assert np.all(tau1[1:] > tau2[1:])
    tau1, e1 = fixed.parameter("CPE1_tau")
    tau2, _ = fixed.parameter("CPE2_tau")
    assert np.all(tau1 < tau2)
    assert np.allclose(fixed.parameter("R1")[0][1:], raw.parameter("R2")[0][1:], rtol=1e-12)
    assert np.allclose(fixed.parameter("R1")[1][1:], raw.parameter("R2")[1][1:], rtol=1e-12)
    for a, b in zip(raw.fits, fixed.fits, strict=True):
        assert np.allclose(a.predict(F), b.predict(F), rtol=1e-10)


# --------------------------------------------------------------------------- global parameters


def test_global_parameters(pellet_spectra):
    single = _series(pellet_spectra, PELLET, weighting="sigma")
    joint = _series(pellet_spectra, PELLET, weighting="sigma",
                    global_parameters=["CPE3_alpha", "CPE1_alpha"])
    assert set(joint.values) == {"CPE3_alpha", "CPE1_alpha"}
    a3 = joint["CPE3_alpha"]
    assert abs(a3.value - 0.8) < 3 * a3.error
    assert abs(joint["CPE1_alpha"].value - 0.95) < 3 * joint["CPE1_alpha"].error
    _, e_single = single.parameter("CPE3_alpha")
    assert a3.error < e_single.min()  # shared by all spectra: better determined
    v, e = joint.parameter("CPE3_alpha")
    assert np.all(v == a3.value) and np.all(e == a3.error)
    assert joint.fit is not None and joint.fit.chi2 == pytest.approx(joint.chi2.sum(),
                                                                     rel=1e-9)
    assert joint.fit.reduced_chi2 == pytest.approx(1.0, abs=0.15)
    # the local parameters barely move
    assert np.allclose(joint.parameter("R1")[0], single.parameter("R1")[0], rtol=0.02)
    for f, s in zip(joint.fits, pellet_spectra, strict=True):
        truth = s.metadata["true_parameters"]
        assert abs(f["R2"].value - truth["R2"]) < 4 * f["R2"].error


# --------------------------------------------------------------------------- parallel


def test_two_jobs_equal_one(pellet_spectra):
    one = _series(pellet_spectra, PELLET, weighting="sigma", n_jobs=1)
    two = _series(pellet_spectra, PELLET, weighting="sigma", n_jobs=2)
    assert np.array_equal(one.index, two.index)
    assert np.allclose(one.parameters, two.parameters, rtol=1e-6)
    assert np.allclose(one.errors, two.errors, rtol=1e-4)


# --------------------------------------------------------------------------- errors


def test_failed_spectra_are_skipped_or_raise(pellet_spectra):
    tiny = simulate_spectrum(PELLET, pellet_spectra[0].metadata["true_parameters"],
                             [1e5, 1e3, 1e1], noise=0.01, seed=0)
    spectra = [pellet_spectra[0], tiny, pellet_spectra[1]]
    with pytest.warns(FitWarning, match="1 spectra not fitted"):
        s = fit_series(spectra, PELLET, weighting="sigma", progress=False)
    assert list(s.index) == [0, 2]
    assert any("spectrum 1" in m for m in s.messages)
    with pytest.raises(FitError, match="spectrum 1"):
        _series(spectra, PELLET, weighting="sigma", on_error="raise")


def test_bad_series_arguments(pellet_spectra):
    with pytest.raises(InputError):
        fit_series([], PELLET)
    with pytest.raises(InputError):
        fit_series([pellet_spectra[0], "x"], PELLET)
    with pytest.raises(InputError, match="unknown option"):
        fit_series(pellet_spectra, PELLET, colour="red")
    with pytest.raises(InputError, match="global"):
        fit_series(pellet_spectra, PELLET, global_parameters=["R7"])
    with pytest.raises(InputError):
        fit_series(pellet_spectra, PELLET, n_jobs=0)
    with pytest.raises(InputError):
        fit_series(pellet_spectra, PELLET, on_error="ignore")
    with pytest.raises(InputError, match="position"):
        fit_series(pellet_spectra, "p(R1,CPE1")
