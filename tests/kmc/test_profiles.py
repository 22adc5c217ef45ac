"""A|B couples and reservoirs: concentration profiles as plain arrays."""

import numpy as np
import pytest
from scipy.optimize import curve_fit
from scipy.special import erfc

from ionscale.kmc import Model, Reservoir, Species, ab_couple, ab_couple_profiles, builtin_lattice
from ionscale.kmc import run as kmc_run


@pytest.fixture(scope="module")
def couple():
    return ab_couple_profiles(model=ab_couple((32, 10, 10)), seed=5, track=1000)


def test_couple_profiles_are_plain_consistent_arrays(couple):
    p = couple.profiles
    assert p.species == ("vacancy", "A", "B")
    assert p.concentration.shape == (3, 3, 32) and p.x.shape == (32,)
    np.testing.assert_allclose(p.concentration.sum(axis=1), 1.0, atol=1e-12)
    # the box is closed along x: every A stays in it
    n = p.sites_per_layer
    a_total = (p.concentration[:, 1] * n).sum(axis=1)
    assert np.all(a_total == a_total[0])
    assert np.all(p.sigma > 0)
    snap = p.profile(-1)
    assert set(snap) == {"x", "concentrations", "sigma", "time", "temperature"}
    assert set(snap["concentrations"]) == {"A", "B"}
    assert snap["time"] == pytest.approx(p.times[-1])
    norm = p.profile(-1, normalise=True)["concentrations"]
    np.testing.assert_allclose(norm["A"] + norm["B"], 1.0, atol=1e-12)
    d = p.to_dict()
    assert d["species"] == ["vacancy", "A", "B"]


def test_couple_profile_is_an_erfc_with_the_tracer_d(couple):
    p = couple.profiles
    D_ref = couple["D_expected"].value
    snap = p.profile(-1, normalise=True)
    x, c, t = snap["x"], snap["concentrations"]["A"], snap["time"]

    def model(x, x0, D):
        return 0.5 * erfc((x - x0) / (2 * np.sqrt(D * t)))

    (x0, D), _ = curve_fit(model, x, c, p0=[x.mean(), D_ref], sigma=snap["sigma"]["A"])
    assert abs(x0 - x.mean()) < 3 * (x[1] - x[0])
    assert D == pytest.approx(D_ref, rel=0.3)


def test_reservoirs_give_a_linear_steady_state():
    lat = builtin_lattice("sc", (12, 4, 4), a=1e-10, boundary=["closed", "periodic", "periodic"])
    model = Model(lat, [Species("A", fraction=0.5, nu=1.0)], 300.0,
                  reservoir=Reservoir(axis=0, low={"A": 0.8}, high={"A": 0.2}))
    times = np.linspace(100.0, 800.0, 60)
    res = kmc_run(model, profile_times=times, blocks=16, lags=2, seed=2, track=0)
    assert "D_tracer" not in res.values  # particles come and go: no MSD values
    assert any("reservoir" in d.message for d in res.diagnostics)
    c = res.profiles.concentration[:, 1].mean(axis=0)  # time average of the steady state
    x = res.profiles.x
    assert c[0] == pytest.approx(0.8, abs=0.05) and c[-1] == pytest.approx(0.2, abs=0.05)
    slope, icpt = np.polyfit(x, c, 1)
    assert np.max(np.abs(c - (slope * x + icpt))) < 0.05
    assert slope < 0


def test_plots(couple):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = couple.profiles.plot()
    assert len(ax.lines) >= 3
    ax2 = couple.plot()  # MSD of the tracers with the fits
    assert ax2.get_xlabel() == "lag time (s)"
    plt.close("all")
