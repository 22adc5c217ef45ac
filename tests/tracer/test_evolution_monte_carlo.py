import numpy as np
import pytest

from ionscale.datasets.synthetic import exchange_and_anneal_lines
from ionscale.errors import InputError
from ionscale.tracer.data import Profile
from ionscale.tracer.evolution import fit_evolution


@pytest.fixture(scope="module")
def lines():
    return exchange_and_anneal_lines(D_exchange=8e-13, exchange_time=110 * 3600.0,
                                     D_anneal=3e-13, anneal_times=(14 * 86400.0, 42 * 86400.0),
                                     counts_per_point=1500.0, seed=11)


def test_monte_carlo_adds_the_noise_of_the_initial_profile(lines):
    kw = {"pad": (12.5e-6, 0.0), "n_cells": 300}
    plain = fit_evolution(lines.profiles[0], lines.profiles[1:], lines.times, **kw)
    mc = fit_evolution(lines.profiles[0], lines.profiles[1:], lines.times, monte_carlo=25,
                       seed=1, **kw)
    assert mc["D"].value == plain["D"].value
    # the before profile is as noisy as the after ones: its noise must widen the error
    assert mc["D"].error > 1.05 * plain["D"].error
    assert mc["D"].error < 4 * plain["D"].error
    assert mc.provenance.parameters["error_method"] == "monte-carlo"
    assert abs(mc["D"].value - 3e-13) < 3 * mc["D"].error


def test_monte_carlo_needs_sigma(lines):
    p = lines.profiles[0]
    bare = Profile(x=p.x, fraction=p.fraction)
    with pytest.raises(InputError, match="monte_carlo"):
        fit_evolution(bare, [Profile(x=q.x, fraction=q.fraction) for q in lines.profiles[1:]],
                      lines.times, monte_carlo=3, pad=(12.5e-6, 0.0))
    assert np.isfinite(p.sigma).all()
