"""Shared synthetic cells of the cycling tests (built once per session: they are read-only)."""

import pytest

from ionscale.datasets.synthetic_cycling import DEMO_CELL, symmetric_cell_trace


@pytest.fixture(scope="session")
def seed004_trace():
    """ASR 55 Ω cm², 0.126 cm², 0.05-0.8 mA cm⁻² (+ back to 0.05), 0.2 mV noise, a short in
    cycle 3 at 0.4 mA cm⁻² (22 → 10 mV, then 0.5 Ω)."""
    return symmetric_cell_trace(**{k: DEMO_CELL[k] for k in ("asr", "area", "levels", "noise",
                                                            "short")}, seed=2024)


@pytest.fixture(scope="session")
def seed004_ccd(seed004_trace):
    from ionscale.cycling import critical_current_density

    return critical_current_density(seed004_trace)
