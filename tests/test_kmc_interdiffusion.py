"""Round trip kMC → interdiffusion: the profiles of a simulated A|B couple with equal rates and
5 % vacancies, analysed by Boltzmann-Matano, give D̃ = D* (the labels do not change the
dynamics, so the interdiffusion coefficient is the tracer coefficient that the same run
measures from the MSD along the interface).

The two packages never import each other: the profile travels as plain SI arrays
(``ConcentrationProfiles.profile``), which is what a user's script or ``transport/`` does.
"""

import warnings

import numpy as np
import pytest

from ionscale.interdiffusion import DiffusionProfile, boltzmann_matano
from ionscale.kmc import ab_couple, ab_couple_profiles

CENTRAL = np.linspace(0.25, 0.75, 11)


def matano_over_tracer(shape, diffusion_length, seed):
    run = ab_couple_profiles(model=ab_couple(shape, vacancy_fraction=0.05), seed=seed,
                             track=4000, n_profiles=1, diffusion_length=diffusion_length)
    snap = run.profiles.profile(-1, normalise=True)
    profile = DiffusionProfile(snap["x"], {"A": snap["concentrations"]["A"]},
                               sigma={"A": snap["sigma"]["A"]}, time=snap["time"],
                               temperature=snap["temperature"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bm = boltzmann_matano(profile, "A", monte_carlo=100, at=list(CENTRAL))
    D = np.array([bm[f"D_{c:g}"].value for c in CENTRAL])
    err = np.array([bm[f"D_{c:g}"].error for c in CENTRAL])
    expected = run["D_expected"]
    assert np.all(np.isfinite(D)) and np.all(err > 0)
    return D / expected.value, err / expected.value, expected, bm


def test_small_couple_matano_is_the_tracer_d_within_its_error():
    ratio, err, expected, bm = matano_over_tracer((48, 14, 14), 8.0, seed=2)
    assert expected.error / expected.value < 0.03
    mid = len(CENTRAL) // 2
    assert abs(ratio[mid] - 1) < 3 * err[mid] + 0.02, (ratio[mid], err[mid])
    assert abs(ratio.mean() - 1) < 0.12, ratio


@pytest.mark.slow
def test_couple_matano_is_the_tracer_d_within_3_percent():
    """Issue 13: vacancy fraction 0.05, equal rates → D̃ (Boltzmann-Matano) = D* within 3 %."""
    ratio, err, expected, bm = matano_over_tracer((100, 40, 40), 15.0, seed=1)
    assert expected.error / expected.value < 0.01
    assert abs(ratio.mean() - 1) < 0.03, ratio
    assert np.all(np.abs(ratio - 1) < 3 * err + 0.01), (ratio, err)
