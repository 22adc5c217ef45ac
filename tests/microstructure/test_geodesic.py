"""Geodesic distance and geometric tortuosity: analytic channels, known serpentine lengths,
metric biases, symmetry, anisotropic voxels, percolation and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage as ndi

from ionscale.errors import InputError
from ionscale.microstructure.geodesic import (
    geodesic_distance,
    geometric_tortuosity,
    minimal_path,
    trace_back,
)
from ionscale.microstructure.volume import as_volume

METRICS = ("euclidean", "fast-marching", "6-neighbour", "26-neighbour")


def inclined_channel(n: int, theta_deg: float, width: float, *, dz=1.0, dx=1.0, ny=3):
    """Slab channel in the (z, x) plane at ``theta`` to z, ``width`` thick (physical units of
    dz, dx), full along y; voxel centres at ``(k dz, i dx)``. Returns the mask and the exact
    per-outlet-voxel geodesic lengths (the channel is convex: straight lines to the nearest
    inlet voxel centre)."""
    t = math.radians(theta_deg)
    length_z = (n - 1) * dz
    span = length_z * math.tan(t) + width / math.cos(t) + 4 * dx
    nx = int(math.ceil(span / dx)) + 2
    z = np.arange(n)[:, None] * dz
    x = np.arange(nx)[None, :] * dx
    x0 = width / (2 * math.cos(t)) + 2 * dx
    m2 = np.abs(-math.sin(t) * z + math.cos(t) * (x - x0)) <= width / 2
    mask = np.repeat(m2[:, None, :], ny, axis=1)
    xin = x[0, m2[0]]
    xout = x[0, m2[-1]]
    exact = np.sqrt(length_z**2 + (xout[:, None] - xin[None, :]) ** 2).min(axis=1)
    manhattan = (length_z + np.abs(xout[:, None] - xin[None, :])).min(axis=1)
    return mask, exact, manhattan, xin, xout


def porous(n=24, seed=0, frac=0.65, sigma=1.5):
    rng = np.random.default_rng(seed)
    r = ndi.gaussian_filter(rng.random((n, n, n)), sigma)
    return r > np.quantile(r, 1 - frac)


# --------------------------------------------------------------------------- straight


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_straight_channels_give_one(metric, axis):
    v = np.zeros((12, 12, 12), bool)
    idx = [slice(None)] * 3
    others = [a for a in range(3) if a != axis]
    idx[others[0]] = slice(3, 6)
    idx[others[1]] = slice(7, 9)
    v[tuple(idx)] = True
    r = geometric_tortuosity(v, axis=axis, metric=metric, voxel_size=(2e-8, 3e-8, 5e-8))
    assert r.percolating and r.reason == ""
    for t in (r.tau, r.tau_min, r.tau_max):
        assert t == pytest.approx(1.0, rel=1e-12)
    assert r.tau_sd == pytest.approx(0.0, abs=1e-12)
    assert r.straight_distance == pytest.approx(11 * (2e-8, 3e-8, 5e-8)[axis], rel=1e-12)
    assert r.n_connected == r.n_outlet == 6
    assert np.allclose(r.slice_tortuosity[1:], 1.0)
    assert len(r.path) == 12
    assert np.all(r.path[:, axis] == np.arange(12))


def test_open_block_distance_is_the_axial_coordinate():
    d = geodesic_distance(np.ones((7, 5, 6), bool), seeds="x+", voxel_size=(1e-6, 2e-6, 3e-6))
    expected = (5 - np.arange(6)) * 3e-6
    for metric_d in (d,):
        assert np.allclose(metric_d, expected[None, None, :], rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- inclined


@pytest.mark.parametrize("theta", [30.0, 45.0])
def test_inclined_channel_euclidean_is_one_over_cos(theta):
    mask, exact, _, _, _ = inclined_channel(201, theta, 6.0)
    r = geometric_tortuosity(mask, axis=0, voxel_size=1e-6)
    L = 200.0
    assert r.straight_distance == pytest.approx(200e-6, rel=1e-12)
    target = 1 / math.cos(math.radians(theta))
    # the done criterion: 1/cos θ within 2 % (the shortest paths hug the inner corner of the
    # oblique inlet, so the mean sits a little below 1/cos θ for a channel of finite width)
    assert r.tau == pytest.approx(target, rel=0.02)
    assert r.tau_max == pytest.approx(target, rel=0.01)
    # and against the exact continuous geodesics of this digital channel: within 1 %
    assert r.tau == pytest.approx(exact.mean() / L, rel=0.01)
    assert r.tau_min == pytest.approx(exact.min() / L, rel=0.01)
    assert r.tau_max == pytest.approx(exact.max() / L, rel=0.01)


@pytest.mark.parametrize("theta", [20.0, 30.0, 45.0])
def test_thin_inclined_channels(theta):
    """Two voxels wide: the any-angle search stays within 0.5 % of the exact geodesic, fast
    marching overstates it (documented: +9 to +31 %)."""
    mask, exact, _, _, _ = inclined_channel(101, theta, 2.0)
    L = 100.0
    r = geometric_tortuosity(mask, voxel_size=1e-6)
    assert r.percolating
    assert r.tau == pytest.approx(exact.mean() / L, rel=0.005)
    assert r.tau >= exact.mean() / L * (1 - 1e-9)
    rf = geometric_tortuosity(mask, metric="fast-marching", voxel_size=1e-6)
    assert rf.tau > 1.05 * exact.mean() / L


def test_inclined_channel_fast_marching_when_wide():
    mask, exact, _, _, _ = inclined_channel(201, 30.0, 12.0)
    rf = geometric_tortuosity(mask, metric="fast-marching", voxel_size=1e-6)
    assert rf.tau == pytest.approx(exact.mean() / 200, rel=0.005)


@pytest.mark.parametrize("theta", [30.0, 45.0])
def test_inclined_channel_graph_metrics_bias(theta):
    """The 6-neighbour metric counts the Manhattan length (documented: τ ≈ 1 + tan θ instead
    of 1/cos θ); the 26-neighbour metric is exact at 45° and 7.3 % long at 30°."""
    mask, exact, manhattan, xin, xout = inclined_channel(201, theta, 6.0)
    L = 200.0
    r6 = geometric_tortuosity(mask, axis=0, metric="6-neighbour", voxel_size=1e-6)
    # exact graph distances: a monotone staircase fits in the channel
    assert r6.tau == pytest.approx(manhattan.mean() / L, rel=1e-12)
    assert r6.tau_max == pytest.approx(manhattan.max() / L, rel=1e-12)
    t = math.radians(theta)
    assert r6.tau == pytest.approx(1 + math.tan(t), rel=0.015)
    # bias relative to the Euclidean value: cos θ + sin θ (1.366 at 30°, √2 at 45°)
    re = geometric_tortuosity(mask, axis=0, voxel_size=1e-6)
    assert r6.tau_max / re.tau_max == pytest.approx(math.cos(t) + math.sin(t), rel=0.015)
    r26 = geometric_tortuosity(mask, axis=0, metric="26-neighbour", voxel_size=1e-6)
    dx = np.abs(xout[:, None] - xin[None, :])
    chamfer = (np.maximum(L, dx) - np.minimum(L, dx) + math.sqrt(2) * np.minimum(L, dx))
    assert r26.tau == pytest.approx(chamfer.min(axis=1).mean() / L, rel=1e-12)
    # in-plane chamfer bias cos θ + (√2 − 1) sin θ: 1.0731 at 30°, exact at 45°
    assert r26.tau_max * math.cos(t) == pytest.approx({30.0: 1.0731, 45.0: 1.0}[theta],
                                                      abs=2e-3)


def test_anisotropic_voxels_match_isotropic_resampling():
    """The same physical channel (45°, 4 µm wide, 60 µm tall) on 0.5 µm cubes and on
    1 × 0.5 × 0.5 µm voxels."""
    fine, ex_f, _, _, _ = inclined_channel(121, 45.0, 4.0, dz=0.5, dx=0.5)
    coarse, ex_c, _, _, _ = inclined_channel(61, 45.0, 4.0, dz=1.0, dx=0.5)
    rf = geometric_tortuosity(fine, voxel_size=0.5e-6)
    rc = geometric_tortuosity(coarse, voxel_size=(1e-6, 0.5e-6, 0.5e-6))
    assert rf.straight_distance == pytest.approx(rc.straight_distance, rel=1e-12)
    assert rc.tau == pytest.approx(ex_c.mean() / 60.0, rel=0.01)
    assert rc.tau == pytest.approx(rf.tau, rel=0.01)
    assert rc.tau_max == pytest.approx(rf.tau_max, rel=0.01)
    # anisotropy only rescales the 6-neighbour steps: z-steps of 1 µm, x-steps of 0.5 µm
    r6 = geometric_tortuosity(coarse, metric="6-neighbour", voxel_size=(1e-6, 0.5e-6, 0.5e-6))
    assert r6.tau_max == pytest.approx(2.0, rel=0.02)


# --------------------------------------------------------------------------- serpentine


def serpentine():
    """121 × 3 × 60 channel with two baffles: gap on the right (x ≥ 45) at rows 30-33 and on
    the left (x ≤ 14) at rows 70-73."""
    v = np.ones((121, 3, 60), bool)
    v[30:34, :, :45] = False
    v[70:74, :, 15:] = False
    return v


def test_serpentine_known_path_lengths():
    v = serpentine()
    L = 120.0
    # taut string: down to the first corner (30, 45), through the gap, diagonal to (70, 14),
    # through the second gap, straight down
    shortest = 30 + 3 + math.hypot(37, 31) + 3 + 47
    longest = 30 + 3 + math.hypot(37, 31) + 3 + math.hypot(47, 45)  # to x = 59
    r = geometric_tortuosity(v, voxel_size=1e-6)
    assert r.path_length_min == pytest.approx(shortest * 1e-6, rel=0.01)
    assert r.tau_min == pytest.approx(shortest / L, rel=0.01)
    assert r.tau_max == pytest.approx(longest / L, rel=0.01)
    r6 = geometric_tortuosity(v, metric="6-neighbour", voxel_size=1e-6)
    assert r6.path_length_min == pytest.approx(151e-6, rel=1e-12)  # 120 down + 31 across
    assert r6.tau_max == pytest.approx((120 + 31 + 45) / L, rel=1e-12)
    # the minimal path: 152 face-adjacent voxels, inlet to outlet, in the phase
    p = r6.path
    assert len(p) == 152
    assert p[0, 0] == 0 and p[-1, 0] == 120
    assert np.all(np.abs(np.diff(p, axis=0)).sum(axis=1) == 1)
    assert v[tuple(p.T)].all()
    pe = minimal_path(v, voxel_size=1e-6)
    assert pe[0, 0] == 0 and pe[-1, 0] == 120
    assert np.all(np.abs(np.diff(pe, axis=0)).max(axis=1) == 1)
    assert v[tuple(pe.T)].all()
    # it passes through both gaps
    assert np.all(pe[(pe[:, 0] >= 30) & (pe[:, 0] <= 33), 2] >= 45)
    assert np.all(pe[(pe[:, 0] >= 70) & (pe[:, 0] <= 73), 2] <= 14)


def test_profile_along_axis():
    r = geometric_tortuosity(serpentine(), metric="6-neighbour", voxel_size=1e-6)
    assert np.isnan(r.slice_tortuosity[0])
    assert r.slice_position[-1] == pytest.approx(120e-6)
    assert r.slice_mean_distance[-1] == pytest.approx(r.path_length_mean, rel=1e-12)
    assert r.slice_min_distance[-1] == pytest.approx(r.path_length_min, rel=1e-12)
    # above the first baffle every path is straight
    assert np.allclose(r.slice_tortuosity[1:30], 1.0)
    assert np.all(r.slice_tortuosity[35:] > 1.0)
    assert r.hist_counts.sum() == r.n_connected == 180


# --------------------------------------------------------------------------- percolation


@pytest.mark.parametrize("metric", METRICS)
def test_blocked_phase_does_not_percolate(metric):
    v = np.ones((20, 6, 6), bool)
    v[10] = False
    r = geometric_tortuosity(v, metric=metric, voxel_size=1e-6)
    assert not r.percolating
    assert math.isinf(r.tau) and math.isinf(r.tau_min) and math.isinf(r.path_length_min)
    assert r.n_connected == 0 and r.n_outlet == 36 and r.connected_fraction == 0.0
    assert "no path" in r.reason
    assert len(r.path) == 0
    d = geodesic_distance(v, seeds="z-", metric=metric, voxel_size=1e-6)
    assert np.all(np.isnan(d[10]))
    assert np.all(np.isinf(d[11:]))
    assert np.all(np.isfinite(d[:10]))
    assert "not percolating" in r.summary()


def test_dead_end_and_isolated_voxels():
    v = np.ones((10, 5, 5), bool)
    v[5] = False
    v[5, 2, 2] = True  # one hole through the wall
    v[8, :, :] = False
    v[9, 0, 0] = False
    v[8, 4, 4] = True  # a connection reaches only the corner
    r = geometric_tortuosity(v, voxel_size=1e-6, metric="6-neighbour")
    assert r.percolating and r.n_outlet == 24 and r.n_connected == 24
    w = np.ones((10, 5, 5), bool)
    w[8] = False
    w[9, 1:, :] = False  # outlet: one isolated row beyond a full wall
    r2 = geometric_tortuosity(w, voxel_size=1e-6)
    assert not r2.percolating and r2.n_outlet == 5


def test_no_phase_on_inlet_face():
    v = np.ones((8, 4, 4), bool)
    v[0] = False
    r = geometric_tortuosity(v, voxel_size=1e-6)
    assert not r.percolating and "inlet face" in r.reason
    d = geodesic_distance(v, seeds="z-", voxel_size=1e-6)
    assert np.all(np.isinf(d[1:])) and np.all(np.isnan(d[0]))


# --------------------------------------------------------------------------- symmetry


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("axis", [0, 2])
def test_flipping_the_volume_swaps_the_faces(metric, axis):
    v = porous(20, seed=3)
    a = geometric_tortuosity(v, axis=axis, metric=metric, voxel_size=1e-6)
    b = geometric_tortuosity(np.flip(v, axis=axis), axis=axis, metric=metric,
                             voxel_size=1e-6, inlet="+")
    # graph searches are exact; the any-angle search and fast marching depend on the order
    # in which ties are visited, which the flip changes
    rel = 1e-12 if "neighbour" in metric else 2e-3
    for name in ("tau", "tau_min", "tau_max", "path_length_mean"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=rel)
    np.testing.assert_allclose(b.slice_mean_distance, a.slice_mean_distance, rtol=rel)
    # the path in the flipped volume is the mirror image
    pb = b.path.copy()
    pb[:, axis] = v.shape[axis] - 1 - pb[:, axis]
    assert v[tuple(pb.T)].all()


@pytest.mark.parametrize("metric,rel", [("6-neighbour", 1e-12), ("26-neighbour", 1e-12),
                                        ("euclidean", 0.003), ("fast-marching", 0.01)])
def test_minimal_through_path_is_the_same_both_ways(metric, rel):
    v = porous(24, seed=5)
    down = geometric_tortuosity(v, metric=metric, voxel_size=1e-6, inlet="-")
    up = geometric_tortuosity(v, metric=metric, voxel_size=1e-6, inlet="+")
    assert down.percolating and up.percolating
    assert up.path_length_min == pytest.approx(down.path_length_min, rel=rel)


def test_metric_ordering_on_a_porous_volume():
    """Euclidean ≤ 26-neighbour ≤ 6-neighbour, and the 6-neighbour bias is large even for
    nearly straight paths."""
    v = porous(32, seed=1)
    t = {m: geometric_tortuosity(v, metric=m, voxel_size=1e-6).tau for m in METRICS}
    assert 1.0 <= t["euclidean"] < t["26-neighbour"] < t["6-neighbour"]
    assert t["6-neighbour"] / t["euclidean"] > 1.03


# --------------------------------------------------------------------------- point seeds


def test_point_seed_distances():
    n = 31
    seeds = np.zeros((n, n, n), bool)
    seeds[15, 15, 15] = True
    block = np.ones((n, n, n), bool)
    g = np.abs(np.indices(block.shape) - 15).astype(float)
    d6 = geodesic_distance(block, seeds=seeds, metric="6-neighbour", voxel_size=1.0e-6)
    assert np.allclose(d6, g.sum(0) * 1e-6, rtol=1e-12, atol=0)
    s = -np.sort(-g, axis=0)
    cham = (s[0] - s[1]) + math.sqrt(2) * (s[1] - s[2]) + math.sqrt(3) * s[2]
    d26 = geodesic_distance(block, seeds=seeds, metric="26-neighbour", voxel_size=1.0e-6)
    assert np.allclose(d26, cham * 1e-6, rtol=1e-12, atol=0)
    r = np.sqrt((g**2).sum(0)) * 1e-6
    de = geodesic_distance(block, seeds=seeds, voxel_size=1.0e-6)
    # any-angle: exact in open space (all offsets here are within its reach of 16 voxels)
    assert np.allclose(de, r, rtol=1e-12, atol=1e-20)
    df = geodesic_distance(block, seeds=seeds, metric="fast-marching", voxel_size=1.0e-6)
    far = r >= 10e-6
    # fast marching from a point: the documented 2-6 % at 10-15 voxels, never below
    rel = df[far] / r[far] - 1
    assert rel.min() > -1e-9 and 0.02 < rel.max() < 0.06
    assert df[15, 15, 15] == 0.0


# --------------------------------------------------------------------------- invariants


@given(arrays(bool, (6, 5, 4), elements=st.booleans()))
def test_reachable_set_is_the_connected_component(mask):
    mask = mask.copy()
    mask[0, 0, 0] = True
    for metric, structure in (("6-neighbour", ndi.generate_binary_structure(3, 1)),
                              ("euclidean", ndi.generate_binary_structure(3, 1)),
                              ("26-neighbour", np.ones((3, 3, 3), bool))):
        d = geodesic_distance(mask, seeds="z-", metric=metric, voxel_size=(1e-6, 2e-6, 3e-6))
        lab, _ = ndi.label(mask, structure)
        seeds = np.unique(lab[0][mask[0]])
        reach = np.isin(lab, seeds[seeds > 0])
        assert np.array_equal(np.isfinite(d), reach)
        assert np.array_equal(np.isnan(d), ~mask)
        # never shorter than the straight distance from the face
        z = np.arange(6)[:, None, None] * 1e-6
        assert np.all(d[reach] >= np.broadcast_to(z, d.shape)[reach] * (1 - 1e-12))


@given(arrays(bool, (5, 5, 5), elements=st.booleans()))
def test_graph_distances_are_one_step_lipschitz(mask):
    mask = mask.copy()
    mask[0] = True
    d = geodesic_distance(mask, seeds="z-", metric="6-neighbour", voxel_size=1e-6)
    for ax in range(3):
        a = np.moveaxis(d, ax, 0)
        both = np.isfinite(a[1:]) & np.isfinite(a[:-1])
        step = np.abs(np.where(both, a[1:], 0) - np.where(both, a[:-1], 0))
        assert np.all(step <= 1e-6 * (1 + 1e-12))


# --------------------------------------------------------------------------- API


def test_volume_object_and_phase_names():
    labels = np.zeros((10, 4, 4), np.uint8)
    labels[:, 1:3, 1:3] = 85
    vol = as_volume(labels, "20 nm", phases={"pore": 0, "solid": 85})
    r = geometric_tortuosity(vol, "solid")
    assert r.tau == 1.0 and r.voxel_size == (2e-8, 2e-8, 2e-8)
    assert r.straight_distance == pytest.approx(9 * 20e-9)
    d = r.to_dict()
    assert d["values"]["tau"]["value"] == 1.0
    rp = geometric_tortuosity(vol, "pore", axis=1)
    assert rp.percolating
    assert rp.provenance.parameters["phase"] == "pore"
    full = geometric_tortuosity(vol, "solid", return_map=True)
    assert full.distance.shape == labels.shape
    assert np.isnan(full.distance[0, 0, 0])


def test_trace_back_reaches_a_seed():
    v = serpentine()
    d = geodesic_distance(v, seeds="z-", metric="26-neighbour", voxel_size=1e-6)
    p = trace_back(d, (120, 1, 59), metric="26-neighbour")
    assert d[tuple(p[0])] == 0.0 and tuple(p[-1]) == (120, 1, 59)
    assert np.all(np.diff(d[tuple(p.T)]) > 0)
    with pytest.raises(InputError, match="start"):
        trace_back(d, (31, 0, 0))  # in the baffle
    with pytest.raises(InputError, match="start"):
        trace_back(d, (500, 0, 0))


def test_plot_draws_map_and_distribution():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = geometric_tortuosity(serpentine(), voxel_size=1e-6)
    ax = r.plot()
    assert ax.images and len(ax.figure.axes) == 3  # map, colour bar, histogram
    assert "μm" in ax.get_xlabel() or "µm" in ax.get_xlabel()
    plt.close("all")
    blocked = np.ones((6, 4, 4), bool)
    blocked[3] = False
    fig, ax0 = plt.subplots()
    geometric_tortuosity(blocked, voxel_size=1e-6).plot(ax0)
    plt.close("all")


@pytest.mark.parametrize("kwargs,field", [
    ({"metric": "manhattan"}, "metric"),
    ({"axis": 3}, "axis"),
    ({"axis": True}, "axis"),
    ({"inlet": "top"}, "inlet"),
    ({"bins": 0}, "bins"),
])
def test_bad_arguments(kwargs, field):
    with pytest.raises(InputError) as e:
        geometric_tortuosity(np.ones((4, 4, 4), bool), voxel_size=1e-6, **kwargs)
    assert e.value.field == field


def test_bad_volumes_and_seeds():
    block = np.ones((4, 4, 4), bool)
    with pytest.raises(InputError, match="voxel"):
        geometric_tortuosity(block)
    with pytest.raises(InputError) as e:
        geometric_tortuosity(np.ones((4, 4), bool), voxel_size=1e-6)
    assert e.value.field == "labels"
    with pytest.raises(InputError, match="whole numbers"):
        geodesic_distance(np.full((4, 4, 4), 0.5), voxel_size=1e-6)
    with pytest.raises(InputError) as e:
        geodesic_distance(block, seeds="w-", voxel_size=1e-6)
    assert e.value.field == "seeds"
    with pytest.raises(InputError, match="shape"):
        geodesic_distance(block, seeds=np.ones((3, 4, 4), bool), voxel_size=1e-6)
    with pytest.raises(InputError, match="type"):
        geodesic_distance(block, seeds=np.ones((4, 4, 4)), voxel_size=1e-6)
    v = block.copy()
    v[0] = False
    s = np.zeros_like(v)
    s[0] = True
    with pytest.raises(InputError, match="no seed"):
        geodesic_distance(v, seeds=s, voxel_size=1e-6)
    with pytest.raises(InputError, match="no voxel"):
        geometric_tortuosity(np.zeros((4, 4, 4), np.uint8), phase=1, voxel_size=1e-6)
