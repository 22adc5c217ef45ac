"""Readers, bad input, depth calibration, normalisation, interface position (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionscale.datasets.synthetic_interdiffusion import nmc_llzo_couple, write_couple
from ionscale.errors import InputError
from ionscale.interdiffusion import (
    DiffusionProfile,
    interface_position,
    normalise,
    plateaus,
    read_profile,
    read_pydiffusion,
    to_depth,
)


def write(tmp_path, text, name="p.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_text_reader_species_units_sigma(tmp_path):
    path = write(tmp_path, "# EPMA line scan\nx (um),Ni (at%),Co (at%),sigma_Ni\n"
                 "0,90,10,0.5\n1,80,20,0.5\n2,60,40,0.5\n3,55,45,0.5\n")
    p = read_profile(path, time="10 h", temperature="700 degC", resolution="0.5 um")
    assert p.species == ("Ni", "Co")
    np.testing.assert_allclose(p.x, [0, 1e-6, 2e-6, 3e-6])
    np.testing.assert_allclose(p.c("Co"), [0.1, 0.2, 0.4, 0.45])
    np.testing.assert_allclose(p.sigma_of("Ni"), 0.005)
    assert p.sigma_of("Co") is None
    assert p.time == 36000.0 and p.temperature == pytest.approx(973.15)
    assert p.resolution == pytest.approx(5e-7)
    assert read_profile(path, species=["Co"]).species == ("Co",)
    with pytest.raises(InputError, match="Fe"):
        read_profile(path, species=["Fe"])


def test_sputter_time_file_is_time_coordinate(tmp_path):
    path = write_couple(tmp_path / "couple.csv", nmc_llzo_couple(1))
    p = read_profile(path)
    assert p.coordinate == "time" and p.species == ("Co", "La") and p.sigma is not None


def test_pydiffusion_reader(tmp_path):
    p = read_pydiffusion(write(tmp_path, "X,dis\n0.0,0\n0.1,4\n0.5,8\n0.9,12\n1.0,16\n"))
    assert p.species == ("X",) and p.x[-1] == pytest.approx(16e-6)
    res = read_pydiffusion(write(tmp_path, "DC,X,dis\n1e-15,0.1,0\n1e-15,0.2,1\n2e-15,0.5,1\n"
                                 "2e-15,0.6,2\n2e-15,0.7,3\n", "r.csv"))
    assert res.interfaces == (1e-6,)
    assert "diffusivity" in res.metadata


@pytest.mark.parametrize("text, match", [
    ("x (um)\n0\n1\n2\n3\n", "column"),                       # one column
    ("x (um),Ni\n0,1\n2,0.5\n1,0.2\n3,0.1\n", "not sorted"),   # unsorted
    ("x (um),Ni\n0,1\n1,0.5\n1,0.2\n3,0.1\n", "repeats"),      # duplicate position
    ("x (um),Ni\n0,1\n1,nan\n2,0.2\n3,0.1\n", "NaN"),          # NaN
])
def test_bad_files_raise_input_error(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=match) as err:
        read_profile(path)
    assert str(path) in str(err.value)


def test_one_species_without_change_and_zero_time(tmp_path):
    from ionscale.interdiffusion import boltzmann_matano, fit_diffusivity

    path = write(tmp_path, "x (um),Ni\n" + "".join(f"{i},1.0\n" for i in range(10)))
    p = read_profile(path, time="1 h")
    with pytest.raises(InputError, match="nothing interdiffuses"):
        boltzmann_matano(p)
    with pytest.raises(InputError, match="nothing interdiffuses"):
        fit_diffusivity(p)
    with pytest.raises(InputError, match="time"):
        read_profile(path, time="0 s")


@settings(max_examples=30)
@given(st.lists(st.floats(-1e-3, 1e-3, allow_nan=False), min_size=3, max_size=30))
def test_profile_positions_must_increase(xs):
    """Invariant: a profile is accepted exactly when its positions strictly increase."""
    x = np.asarray(xs)
    ok = bool(np.all(np.diff(x) > 0))
    try:
        DiffusionProfile(x, {"B": np.linspace(0, 1, x.size)})
        accepted = True
    except InputError:
        accepted = False
    assert accepted == ok


def test_depth_from_rate_and_crater():
    p = DiffusionProfile(np.linspace(10, 100, 10), {"Co": np.linspace(0, 1, 10)},
                         coordinate="time")
    np.testing.assert_allclose(to_depth(p, rate="1 nm/s").x, np.linspace(10, 100, 10) * 1e-9)
    np.testing.assert_allclose(to_depth(p, crater_depth="200 nm").x[-1], 2e-7)
    with pytest.raises(InputError):
        to_depth(p)
    with pytest.raises(InputError):
        to_depth(to_depth(p, rate=1e-9), rate=1e-9)


def test_layer_rates_recover_the_true_depth():
    cp = nmc_llzo_couple(2)
    tr = cp.truth
    p = to_depth(cp.profile, crater_depth=tr["crater_depth"], layer_rates=(0.8, 1.2),
                 marker="Co")
    assert np.max(np.abs(p.x - tr["depth"])) < 10e-9  # 10 nm over 4.5 µm
    constant = to_depth(cp.profile, crater_depth=tr["crater_depth"])
    assert np.max(np.abs(constant.x - tr["depth"])) > 100e-9  # a single rate is wrong
    X, z = tr["X"], tr["depth"]
    assert interface_position(p, "Co") == pytest.approx(np.interp(0.5, X, z), abs=20e-9)
    steepest = z[np.argmax(np.gradient(X, z))]  # on the slow (LLZO) side: D̃ rises with X
    assert interface_position(p, "Co", method="gradient") == pytest.approx(steepest, abs=50e-9)


def test_normalise_and_plateaus():
    x = np.linspace(0, 1e-5, 101)
    c = 0.2 + 0.6 * (x > 5e-6)
    p = DiffusionProfile(x, {"B": c}, sigma={"B": np.full(101, 0.01)})
    assert plateaus(c) == pytest.approx((0.2, 0.8))
    n = normalise(p)
    assert n.c().min() == pytest.approx(0) and n.c().max() == pytest.approx(1)
    np.testing.assert_allclose(n.sigma_of(), 0.01 / 0.6)
