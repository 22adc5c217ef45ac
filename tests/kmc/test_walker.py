"""A lone walker: D = Γ a² / (2d) in 1, 2 and 3 dimensions, within the reported error."""

import math

import pytest

from ionscale.kmc import Model, Species, builtin_lattice, run
from ionscale.units import BOLTZMANN, EV

CASES = [("chain", 64), ("square", 16), ("sc", 8), ("triangular", 16), ("bcc", 6)]


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_lone_walker_diffusion(name, shape):
    a = 3e-10
    nu, Ea, T = 1e13, 0.3, 600.0
    lat = builtin_lattice(name, shape, a=a)
    model = Model(lat, [Species("Li", count=1, nu=nu, Ea=f"{Ea} eV")], T)
    res = run(model, events=60_000, blocks=96, lags=6, seed=11)
    gamma = lat.coordination * nu * math.exp(-Ea * EV / (BOLTZMANN * T))  # total jump rate
    d = lat.dimension
    expected = gamma * lat.jump_length**2 / (2 * d)
    D = res["D_tracer"]
    assert D.error > 0
    assert abs(D.value - expected) < 3.5 * D.error, (D, expected)
    assert D.error / expected < 0.2
    # Γ (total) is the jump count rate: very precise
    G = res["Gamma"]
    assert abs(G.value - gamma) < 4 * G.error
    # one particle: the centre of mass is the particle, H_R = 1
    assert res["D_sigma"].value == pytest.approx(D.value, rel=1e-9)
    assert res["H_R"].value == pytest.approx(1.0, rel=1e-9)
    assert res.status == "ok"
    if d > 1:
        for c in "xyz"[:d]:
            Dc = res[f"D_tracer_{c}"]
            assert abs(Dc.value - expected) < 4 * Dc.error


def test_same_seed_same_result():
    model = Model(builtin_lattice("square", 12), [Species("A", count=3, nu=1.0)], 300.0)
    r1 = run(model, events=5000, blocks=24, lags=4, seed=5)
    r2 = run(model, events=5000, blocks=24, lags=4, seed=5)
    r3 = run(model, events=5000, blocks=24, lags=4, seed=6)
    assert r1["D_tracer"].value == r2["D_tracer"].value
    assert r1["D_tracer"].value != r3["D_tracer"].value


def test_too_few_blocks_report_no_d_and_say_why():
    model = Model(builtin_lattice("square", 12), [Species("A", count=3, nu=1.0)], 300.0)
    r = run(model, events=5000, blocks=16, lags=4, seed=5)
    assert "D_tracer" not in r.values
    assert r.status != "ok"
    assert any("too few samples" in d.message for d in r.diagnostics)
