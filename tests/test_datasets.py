import hashlib
from pathlib import Path

import numpy as np
import pytest

from ionscale.datasets.demo import REAL_18O
from ionscale.datasets.synthetic import (
    LLTO,
    draw_counts,
    exchange_and_anneal_lines,
    grain_boundary_map,
    llto_diffusivities,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "tracer" / REAL_18O.name


def test_bundled_real_profile_is_the_shared_file_with_its_licence():
    assert (REAL_18O.parent / "LICENSE-bayesecr").is_file()
    if SHARED.exists():  # beside the repository in CI and on developers' machines
        digest = hashlib.sha256(REAL_18O.read_bytes()).hexdigest()
        assert digest == hashlib.sha256(SHARED.read_bytes()).hexdigest()


def test_llto_model_reproduces_seed_numbers_at_room_temperature():
    d = llto_diffusivities(LLTO["T_ref"])
    assert d["D_bulk"] == pytest.approx(2.6e-12, rel=1e-12, abs=0)
    assert d["D_gb_over_delta"] == pytest.approx(1.5e-8, rel=1e-12, abs=0)
    # series model, seed 000 eq. 6: 2.2e-9 cm²/s
    assert d["D_eff"] * 1e4 == pytest.approx(2.2e-9, rel=0.01, abs=0)


def test_counts_are_poisson_total_and_binomial_tracer():
    rng = np.random.default_rng(0)
    f = np.full(20000, 0.3)
    n6, n7 = draw_counts(f, 500.0, rng)
    total = n6 + n7
    assert total.mean() == pytest.approx(500, rel=0.01)
    assert total.var() == pytest.approx(500, rel=0.05)
    assert (n6 / total).mean() == pytest.approx(0.3, abs=0.002)


def test_synthetic_lines_conserve_tracer_during_closed_anneal():
    lines = exchange_and_anneal_lines(D_exchange=8e-13, exchange_time=110 * 3600.0,
                                      D_anneal=3e-13, anneal_times=(14 * 86400.0,),
                                      counts_per_point=1e7, seed=1)
    before, after = lines.profiles
    bg, src = LLTO["background_fraction"], LLTO["source_fraction"]
    def amount(p):  # the sample starts at x = 0, half a step before the first point
        c = (p.fraction - bg) / (src - bg)
        return np.trapezoid(c, p.x) + c[0] * p.x[0]

    assert amount(after) == pytest.approx(amount(before), rel=0.003)
    assert after.fraction[0] < before.fraction[0]


def test_synthetic_map_has_steps_at_the_reported_boundaries():
    m = grain_boundary_map(shape=(120, 48), seed=2)
    truth = m.truth["true_fraction"]
    assert m.counts.shape == (120, 48)
    assert len(m.segments) == len(m.boundaries) > 0
    for (a, _b), yb in zip(m.segments, m.boundaries, strict=True):
        col = int(round(a[0] / 1e-6))
        row = int(yb / 1e-6)
        jump = truth[row, col] - truth[row + 1, col]
        inside = truth[row - 3, col] - truth[row - 2, col]
        assert jump > 5 * abs(inside)
