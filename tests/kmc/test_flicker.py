"""Flickering between two states: the diagnostic, and the acceleration that cures it."""

import math

from ionscale.kmc import Lattice, Model, Species, run
from ionscale.units import BOLTZMANN, EV

A = 1e-10
T = 300.0


def _dimer_chain_model():
    # sites at 0 and 0.4 a in each cell: a short fast bond (intra) and a long slow one (inter)
    lat = Lattice.from_cell([[A]], [[0.0], [0.4]], 32, sublattices=["p", "q"], shells=2,
                            jump_types={("p", "q", 0): "intra", ("q", "p", 0): "intra",
                                        ("p", "q", 1): "inter", ("q", "p", 1): "inter"})
    sp = Species("Li", count=1, nu=1e13, Ea={"intra": "0.1 eV", "inter": "0.45 eV"})
    return Model(lat, [sp], T)


def _rates():
    kT = BOLTZMANN * T
    return 1e13 * math.exp(-0.1 * EV / kT), 1e13 * math.exp(-0.45 * EV / kT)


def test_flicker_is_diagnosed():
    res = run(_dimer_chain_model(), events=2e5, blocks=32, lags=4, seed=1)
    codes = [d.code for d in res.diagnostics]
    assert "data-quality" in codes
    msg = next(d.message for d in res.diagnostics if "flickers" in d.message)
    assert "Li intra" in msg and "accelerate=True" in msg
    assert res.jump_statistics["reversal_fraction"] > 0.99
    assert res.jump_statistics["rate_span_decades"] > 5


def test_acceleration_keeps_slow_transport():
    g1, g2 = _rates()
    exact = A**2 / (2 * (1 / g1 + 1 / g2))  # two bonds in series per cell of length a
    res = run(_dimer_chain_model(), time=4000 / g2, accelerate=True, seed=3, blocks=128,
              lags=4)
    D = res["D_tracer"]
    # rate scaling keeps the fast pair ~100 x faster than the slow hop: a 1 % bias
    assert abs(D.value - exact) < 3.5 * D.error + 0.02 * exact, (D, exact)
    assert D.error < 0.25 * exact
    # ~4000 slow hops cost about 1e6 events instead of ~3e9
    assert res.jump_statistics["events"] < 3e7
    assert res.jump_statistics["acceleration"]
    codes = [d.code for d in res.diagnostics]
    assert "fixed-choice" in codes
    assert not any("flickers" in d.message for d in res.diagnostics)
