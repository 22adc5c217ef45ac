"""Pellet conductivities and the temperature-series batch (σ, brick layer, Arrhenius Ea)."""

from pathlib import Path

import numpy as np
import pytest

from ionscale.datasets.synthetic_eis import PELLET, temperature_series
from ionscale.errors import InputError
from ionscale.impedance.fit import fit_circuit
from ionscale.impedance.pellet import Geometry, pellet_conductivities, pellet_series
from ionscale.io.eis import read_directory
from ionscale.units import EV

CIRCUIT = "p(R1,CPE1)-p(R2,CPE2)-CPE3"
S04147 = Path(__file__).resolve().parents[2] / "src/ionscale/datasets/data/s04147"
GEOMETRY = Geometry(thickness=0.21e-2, diameter=0.8e-2)


def test_conductivity_from_a_fit_is_l_over_ra():
    s = temperature_series([300.0], noise=0.0, seed=0)[0]
    r = pellet_conductivities(fit_circuit(s, CIRCUIT), GEOMETRY)
    true = s.metadata["true_parameters"]
    area = np.pi * 0.8e-2 ** 2 / 4
    assert r.labels == {"R1": "bulk", "R2": "grain_boundary"}
    assert r["sigma_bulk"].value == pytest.approx(0.21e-2 / (true["R1"] * area), rel=1e-6)
    assert r["sigma_total"].value == pytest.approx(
        0.21e-2 / ((true["R1"] + true["R2"]) * area), rel=1e-6)
    # brick layer: apparent σ_gb times C_bulk / C_gb
    assert r["sigma_gb_specific"].value == pytest.approx(
        r["sigma_gb"].value * PELLET["C_bulk"] / PELLET["C_gb"], rel=1e-5)
    assert r["C_bulk"].value == pytest.approx(PELLET["C_bulk"], rel=1e-6)


def test_user_assignment_overrides_capacitances_and_is_checked():
    s = temperature_series([300.0], noise=0.0, seed=0)[0]
    fit = fit_circuit(s, CIRCUIT)
    r = pellet_conductivities(fit, GEOMETRY, assignment={"R1": "grain_boundary", "R2": "bulk"})
    assert r["R_bulk"].value == pytest.approx(fit["R2"].value)
    with pytest.raises(InputError, match="assignment"):
        pellet_conductivities(fit, GEOMETRY, assignment={"R1": "bulk", "R2": "interface"})
    with pytest.raises(InputError, match="assignment"):
        pellet_conductivities(fit, GEOMETRY, assignment={"R1": "bulk"})


def test_geometry_needs_a_size():
    with pytest.raises(InputError, match="area"):
        Geometry(thickness=1e-3)
    with pytest.raises(InputError, match="thickness"):
        Geometry(thickness=-1e-3, diameter=1e-2)


def test_temperature_series_recovers_activation_energies():
    T = np.arange(253.15, 334.0, 10.0)
    spectra = temperature_series(T, noise=0.005, seed=3)
    r = pellet_series(spectra, CIRCUIT, GEOMETRY, progress=False)
    for key, truth in (("bulk", PELLET["Ea_bulk"]), ("gb", PELLET["Ea_gb"])):
        ea = r[f"Ea_{key}"]
        assert abs(ea.value / EV - truth) < 2.5 * ea.error / EV + 1e-4, key
    assert np.all(np.diff(r.temperature) > 0)
    assert set(r.arrhenius) >= {"bulk", "gb", "total", "gb_specific"}


@pytest.mark.skipif(not S04147.exists(), reason="bundled s04147 data missing")
def test_s04147_pellet_in_one_batch():
    spectra = read_directory(S04147)
    assert [round(s.temperature - 273.15) for s in spectra] == [140, 150, 160, 170, 180, 190,
                                                                200]
    r = pellet_series(spectra, CIRCUIT, GEOMETRY, progress=False)
    assert all(p.labels == {"R1": "bulk", "R2": "grain_boundary"} for p in r.pellets)
    table = r.table()
    # conductivities rise with temperature, the bulk conducts better than the boundaries
    assert np.all(np.diff(table["sigma_bulk"]) > 0)
    assert np.all(table["sigma_bulk"] > table["sigma_gb"])
    ea_b, ea_gb = r["Ea_bulk"].value / EV, r["Ea_gb"].value / EV
    assert 0.4 < ea_b < 0.8 and 0.7 < ea_gb < 1.1
    assert r["Ea_bulk"].error / EV < 0.05 and r["Ea_gb"].error / EV < 0.02
    # every fit describes its spectrum within a few per cent
    for p in r.pellets:
        assert np.max(np.abs(p.circuit_fit.residual_percent)) < 10
