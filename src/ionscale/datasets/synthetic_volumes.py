"""Synthetic segmented volumes with known properties, for tests, demos and benchmarks.

Every generator is reproducible (``seed``: int or numpy Generator) and returns ``(z, y, x)``
arrays:

* :func:`blobs`: Gaussian-filtered white noise thresholded at the porosity quantile (the same
  idea as PoreSpy's ``blobs``, written here); boolean, True = pore, porosity exact.
* :func:`sintered_pellet`: a dense solid with ~10 % open and closed porosity, like the
  room-temperature sintered Li₃PS₄ pellet of seed 004 at 255 MPa; a
  :class:`~ionscale.microstructure.volume.Volume` with labels ``pore = 0``, ``solid = 1``
  (and ``Li2S = 2`` if asked for), 20 nm voxels.
* :func:`channels`: straight or inclined cylindrical channels (known geometric tortuosity
  ``1 / cos θ``); boolean.
* :func:`spheres`: non-overlapping spheres with known radii, count and voxel counts.
* :func:`layers`: stacked layers of given thicknesses and labels (series/parallel checks).

Sizes given in voxels are voxel units; :func:`sintered_pellet` takes metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..microstructure.volume import Volume, as_volume

__all__ = [
    "SphereSet",
    "blobs",
    "channels",
    "layers",
    "mask_volume",
    "sintered_pellet",
    "spheres",
]


def _shape3(shape) -> tuple[int, int, int]:
    try:
        vals = [int(s) for s in np.ravel(shape)]
    except (TypeError, ValueError):
        raise InputError(f"shape {shape!r}", field="shape",
                         expected="three positive integers (z, y, x)") from None
    if len(vals) == 1:
        vals = vals * 3
    if len(vals) != 3 or min(vals) < 1:
        raise InputError(f"shape {shape!r}", field="shape",
                         expected="three positive integers (z, y, x)")
    return tuple(vals)


def _fraction(value, field: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not 0 < v < 1:
        raise InputError(f"{field} {value!r}", field=field, expected="a number in (0, 1)")
    return v


def _exact_lowest(field: np.ndarray, fraction: float) -> np.ndarray:
    """Mask of the ``round(fraction N)`` lowest values of ``field`` (ties broken by order)."""
    k = int(round(fraction * field.size))
    flat = field.reshape(-1)
    out = np.zeros(field.size, dtype=bool)
    if k > 0:
        out[np.argpartition(flat, k - 1)[:k]] = True
    return out.reshape(field.shape)


def blobs(shape, porosity: float = 0.5, blobiness=1.0, *, seed=None,
          periodic: bool = False) -> np.ndarray:
    """Blob-like two-phase structure: smoothed noise thresholded at the porosity quantile.

    White Gaussian noise is filtered with a Gaussian of standard deviation
    ``σ = mean(shape) / (40 blobiness)`` voxels (per axis when ``blobiness`` has three values)
    and the ``round(porosity N)`` lowest voxels become pore, so the porosity is exact.

    Parameters
    ----------
    shape : int or sequence of 3 int
        ``(z, y, x)`` voxels.
    porosity : float
        Pore fraction, in (0, 1).
    blobiness : float or sequence of 3 float
        Larger gives smaller, more numerous blobs.
    seed : int or numpy Generator, optional
    periodic : bool
        Filter with wrap-around boundaries (the structure tiles periodically).

    Returns
    -------
    ndarray of bool
        True = pore.

    Examples
    --------
    >>> m = blobs((32, 32, 32), porosity=0.3, seed=0)
    >>> int(m.sum()), round(0.3 * 32**3)
    (9830, 9830)
    """
    from scipy.ndimage import gaussian_filter

    shp = _shape3(shape)
    por = _fraction(porosity, "porosity")
    b = np.broadcast_to(np.asarray(blobiness, dtype=float), (3,))
    if not np.all(np.isfinite(b)) or np.any(b <= 0):
        raise InputError(f"blobiness {blobiness!r}", field="blobiness",
                         expected="a positive number (or three)")
    sigma = np.mean(shp) / (40.0 * b)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(shp, dtype=np.float32)
    field = gaussian_filter(noise, sigma=sigma, mode="wrap" if periodic else "reflect")
    return _exact_lowest(field, por)


def mask_volume(mask, voxel_size, *, phase: str = "pore", other: str = "solid",
                source: str | None = None) -> Volume:
    """Wrap a boolean mask as a :class:`Volume` with labels ``other = 0`` and ``phase = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> v = mask_volume(np.ones((2, 2, 2), bool), 1e-6)
    >>> v.phases, v.labels.dtype
    ({'solid': 0, 'pore': 1}, dtype('uint8'))
    """
    m = np.asarray(mask)
    if m.dtype != bool:
        raise InputError(f"mask of type {m.dtype}", field="mask", expected="a boolean array")
    return as_volume(m.astype(np.uint8), voxel_size, phases={other: 0, phase: 1},
                     source=source)


# --------------------------------------------------------------------------- sintered pellet


def _paint_spheres(score: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                   vs: np.ndarray, reach: float = 1.5) -> None:
    """``score = max(score, 1 − |x − c| / r)`` within ``reach r`` of each centre (physical
    distances, so anisotropic voxels give round spheres)."""
    shape = np.asarray(score.shape)
    for c, r in zip(centres, radii, strict=True):
        half = np.ceil(reach * r / vs).astype(int)
        ci = np.floor(c / vs).astype(int)
        lo = np.maximum(ci - half, 0)
        hi = np.minimum(ci + half + 1, shape)
        if np.any(hi <= lo):
            continue
        axes = [(np.arange(lo[a], hi[a]) + 0.5) * vs[a] - c[a] for a in range(3)]
        d2 = (axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2
              + axes[2][None, None, :] ** 2)
        val = (1.0 - np.sqrt(d2) / r).astype(np.float32)
        box = score[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        np.maximum(box, val, out=box)


def _chain(rng, extent, r0, axis, step=0.55, wander=0.35):
    """Centres and radii of a random walk of overlapping spheres crossing ``axis``."""
    lateral = [a for a in range(3) if a != axis]
    p = np.empty(3)
    p[axis] = -r0
    for a in lateral:
        p[a] = rng.uniform(0, extent[a])
    direction = np.zeros(3)
    direction[axis] = 1.0
    centres, radii = [], []
    while p[axis] < extent[axis] + r0:
        r = r0 * float(np.exp(rng.normal(0.0, 0.25)))
        centres.append(p.copy())
        radii.append(r)
        d = direction + wander * rng.normal(size=3)
        d[axis] = abs(d[axis]) + 0.3
        d /= np.linalg.norm(d)
        p = p + step * r * d
        for a in lateral:  # reflect at the lateral faces
            if p[a] < 0:
                p[a] = -p[a]
            elif p[a] > extent[a]:
                p[a] = 2 * extent[a] - p[a]
    return np.array(centres), np.array(radii)


def sintered_pellet(shape=(128, 128, 128), porosity: float = 0.105, *,
                    pore_radius_m: float = 0.2e-6, voxel_size=20e-9,
                    open_fraction: float = 0.8, axis: int = 1, li2s_fraction: float = 0.0,
                    seed=None) -> Volume:
    """A dense sintered solid electrolyte with open and closed pores (seed 004, 255 MPa).

    Pores are overlapping spheres in a solid matrix. The *open* porosity (``open_fraction`` of
    the pores) is made of chains of overlapping spheres of radius about ``pore_radius_m``
    (log-normal, σ_ln = 0.25) that wander across the volume along ``axis`` (the pressing
    direction; seed 004 found pores percolating along y), so the pores percolate between the two
    faces normal to ``axis``. The *closed* porosity is many small spheres (radius about a
    third of ``pore_radius_m``) spread at random; most stay isolated. The sphere radii are then
    scaled by a common factor close to 1 so that the porosity is exact. The chain radius is
    reduced when a single chain would hold more than the open porosity (small volumes).
    Defaults: porosity 10.5 %, 20 nm voxels, as seed 004's pellet sintered at 255 MPa for
    10 min.

    Parameters
    ----------
    shape : int or sequence of 3 int
        ``(z, y, x)`` voxels.
    porosity : float
        Pore volume fraction, in (0, 1) (exact to one voxel).
    pore_radius_m : float
        Typical radius of the open-pore spheres, m.
    voxel_size : float, str or sequence of 3
        ``(dz, dy, dx)``, m.
    open_fraction : float
        Target share of the porosity in the percolating chains, in (0, 1).
    axis : int
        Axis the chains cross (0 z, 1 y, 2 x).
    li2s_fraction : float
        Volume fraction of small Li₂S inclusions (label 2) placed in the solid; 0 for none
        (seed 004: 0.1-0.3 %). Approximate (to a few voxels).
    seed : int or numpy Generator, optional

    Returns
    -------
    Volume
        uint8 labels with phases ``{"pore": 0, "solid": 1}`` (plus ``"Li2S": 2``), metadata
        ``generator``, ``porosity``, ``n_chains``, ``n_closed``.

    Examples
    --------
    >>> v = sintered_pellet((48, 48, 48), pore_radius_m=0.1e-6, seed=0)
    >>> v.phases, round(float((v.labels == 0).mean()), 3)
    ({'pore': 0, 'solid': 1}, 0.105)
    """
    from ..microstructure.volume import voxel_size_3

    shp = _shape3(shape)
    por = _fraction(porosity, "porosity")
    f_open = _fraction(open_fraction, "open_fraction")
    vs = voxel_size_3(voxel_size)
    if isinstance(axis, bool) or axis not in (0, 1, 2):
        raise InputError(f"axis {axis!r}", field="axis", expected="0, 1 or 2")
    r0 = float(pore_radius_m)
    if not np.isfinite(r0) or r0 < vs.max():
        raise InputError(f"pore_radius_m {pore_radius_m!r}", field="pore_radius_m",
                         expected=f"a radius in m of at least one voxel ({vs.max():.3g} m)")
    if not 0 <= float(li2s_fraction) < 1 - por:
        raise InputError(f"li2s_fraction {li2s_fraction!r}", field="li2s_fraction",
                         expected="a fraction in [0, 1 − porosity)")
    rng = np.random.default_rng(seed)
    extent = np.asarray(shp) * vs
    n_vox = int(np.prod(shp))
    target = por * n_vox
    score = np.full(shp, -1.0, dtype=np.float32)

    # chains: thin them if a single one would hold more than the open porosity
    open_target = f_open * target
    chain_voxels = 1.25 * np.pi * r0**2 * extent[axis] / float(np.prod(vs))
    r_chain = r0 * min(1.0, float(np.sqrt(open_target / chain_voxels)))
    r_chain = max(r_chain, float(vs.max()))
    n_chains = 0
    while np.count_nonzero(score > 0) < open_target and n_chains < 10_000:
        c, r = _chain(rng, extent, r_chain, axis)
        _paint_spheres(score, c, r, vs)
        n_chains += 1
    open_count = np.count_nonzero(score > 0)
    want = max(1.02 * target, open_count + 0.9 * (1.0 - f_open) * target)
    n_closed = 0
    rc = max(r0 / 3.0, 1.5 * float(vs.max()))
    while np.count_nonzero(score > 0) < want and n_closed < 10_000_000:
        k = 32
        centres = rng.uniform(0, 1, (k, 3)) * extent
        radii = np.maximum(rc * np.exp(rng.normal(0.0, 0.3, k)), float(vs.max()))
        _paint_spheres(score, centres, radii, vs)
        n_closed += k
    pore = _exact_lowest(-score, por)  # the round(por N) highest scores
    labels = np.ones(shp, dtype=np.uint8)
    labels[pore] = 0
    phases = {"pore": 0, "solid": 1}
    if li2s_fraction > 0:
        want = int(round(float(li2s_fraction) * n_vox))
        inc = np.full(shp, -1.0, dtype=np.float32)
        while np.count_nonzero((inc > 0) & ~pore) < want:
            centres = rng.uniform(0, 1, (8, 3)) * extent
            radii = np.full(8, max(2.0 * vs.max(), r0 / 5))
            _paint_spheres(inc, centres, radii, vs)
        inc[pore] = -np.inf
        labels[_exact_lowest(-inc, want / n_vox) & ~pore] = 2
        phases["Li2S"] = 2
    meta = {"generator": "ionscale.datasets.synthetic_volumes.sintered_pellet",
            "porosity": por, "pore_radius_m": r0, "chain_radius_m": r_chain,
            "open_fraction": f_open, "axis": int(axis), "n_chains": n_chains,
            "n_closed": n_closed}
    return as_volume(labels, vs, phases=phases, metadata=meta)


# --------------------------------------------------------------------------- channels


def channels(shape, radius: float, *, axis: int = 0, n: int = 1, angle_deg: float = 0.0,
             tilt_axis: int | None = None, centers=None, seed=None) -> np.ndarray:
    """Straight cylindrical channels along ``axis``, optionally inclined by ``angle_deg``.

    A channel is the set of voxel centres within ``radius`` (voxels) of a line through its
    centre point (on the mid slice along ``axis``) with direction ``cos θ e_axis + sin θ
    e_tilt``. Its geometric tortuosity along ``axis`` is ``1 / cos θ``.

    Parameters
    ----------
    shape : int or sequence of 3 int
    radius : float
        Channel radius, voxels (> 0).
    axis : int
        Channel direction (0 z, 1 y, 2 x).
    n : int
        Number of channels (ignored when ``centers`` is given).
    angle_deg : float
        Inclination from ``axis`` towards ``tilt_axis``, degrees, in [0, 90).
    tilt_axis : int, optional
        Default ``(axis + 1) % 3``.
    centers : sequence of (u, v), optional
        Channel positions on the mid slice, in voxel indices of the two other axes in
        increasing axis order; default: random, non-overlapping, ``radius`` clear of the sides.
    seed : int or numpy Generator, optional

    Returns
    -------
    ndarray of bool
        True inside the channels.

    Examples
    --------
    >>> m = channels((10, 9, 9), 1.0, centers=[(4, 4)])
    >>> int(m.sum()), bool(m[:, 4, 4].all())
    (50, True)
    """
    shp = _shape3(shape)
    if isinstance(axis, bool) or axis not in (0, 1, 2):
        raise InputError(f"axis {axis!r}", field="axis", expected="0, 1 or 2")
    tilt = (axis + 1) % 3 if tilt_axis is None else tilt_axis
    if isinstance(tilt, bool) or tilt not in (0, 1, 2) or tilt == axis:
        raise InputError(f"tilt_axis {tilt_axis!r}", field="tilt_axis",
                         expected="an axis other than axis")
    r = float(radius)
    if not np.isfinite(r) or r <= 0:
        raise InputError(f"radius {radius!r}", field="radius", expected="a positive number")
    theta = np.deg2rad(float(angle_deg))
    if not 0 <= theta < np.pi / 2:
        raise InputError(f"angle_deg {angle_deg!r}", field="angle_deg",
                         expected="an angle in [0, 90) degrees")
    lateral = [a for a in range(3) if a != axis]
    if centers is None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"n {n!r}", field="n", expected="a positive integer")
        rng = np.random.default_rng(seed)
        pts: list[np.ndarray] = []
        tries = 0
        while len(pts) < n:
            tries += 1
            if tries > 100_000:
                raise InputError(f"{n} channels of radius {r} do not fit", field="n",
                                 expected="fewer or thinner channels")
            p = np.array([rng.uniform(r, shp[a] - 1 - r) for a in lateral])
            if all(np.hypot(*(p - q)) > 2 * r + 1 for q in pts):
                pts.append(p)
        cen = np.array(pts)
    else:
        cen = np.asarray(centers, dtype=float).reshape(-1, 2)
    direction = np.zeros(3)
    direction[axis] = np.cos(theta)
    direction[tilt] = np.sin(theta)
    grid = np.indices(shp, dtype=np.float32)
    out = np.zeros(shp, dtype=bool)
    mid = (shp[axis] - 1) / 2.0
    for c in cen:
        point = np.zeros(3)
        point[axis] = mid
        point[lateral[0]], point[lateral[1]] = c
        rel = [grid[a] - point[a] for a in range(3)]
        along = sum(rel[a] * direction[a] for a in range(3))
        d2 = sum((rel[a] - along * direction[a]) ** 2 for a in range(3))
        out |= d2 <= r * r
    return out


# --------------------------------------------------------------------------- spheres


@dataclass(frozen=True)
class SphereSet:
    """Non-overlapping spheres with known geometry.

    Attributes
    ----------
    mask : ndarray of bool
        True inside a sphere.
    labels : ndarray of uint16/uint32
        Sphere index ``1 … n`` (0 outside), in the order of :attr:`radii`.
    centers : ndarray
        ``(n, 3)`` voxel indices of the centres.
    radii : ndarray
        Radii, voxels.
    voxel_counts : ndarray
        Voxels of each sphere (those with ``|x − c| ≤ r``).
    """

    mask: np.ndarray
    labels: np.ndarray
    centers: np.ndarray
    radii: np.ndarray
    voxel_counts: np.ndarray

    @property
    def n(self) -> int:
        return int(self.radii.size)


def spheres(shape, radii: Sequence[float] | float, n: int | None = None, *, seed=None,
            gap: float = 2.0, max_tries: int = 100_000) -> SphereSet:
    """Place non-overlapping spheres of given radii (voxels) at random integer centres.

    Spheres lie entirely inside the volume and their centres are more than ``r_i + r_j + gap``
    voxels apart, so with ``gap ≥ √3`` (default 2) no voxel of one sphere touches a voxel of
    another even by a corner: they are distinct components under any connectivity.

    Parameters
    ----------
    shape : int or sequence of 3 int
    radii : float or sequence of float
        Radius of each sphere, voxels; one value with ``n`` repeats it.
    n : int, optional
        Number of spheres when ``radii`` is one value.
    seed : int or numpy Generator, optional
    gap : float
        Minimum surface-to-surface distance, voxels.
    max_tries : int
        Random placements tried before giving up.

    Returns
    -------
    SphereSet

    Examples
    --------
    >>> s = spheres((20, 20, 20), [3, 2], seed=0)
    >>> s.n, s.voxel_counts.tolist()
    (2, [123, 33])
    """
    shp = _shape3(shape)
    r = np.atleast_1d(np.asarray(radii, dtype=float))
    if n is not None:
        if r.size != 1 or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"n {n!r} with radii {radii!r}", field="n",
                             expected="a positive integer with a single radius")
        r = np.repeat(r, n)
    if r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise InputError(f"radii {radii!r}", field="radii", expected="positive radii in voxels")
    rng = np.random.default_rng(seed)
    centres = np.zeros((r.size, 3), dtype=np.int64)
    tries = 0
    for i, ri in enumerate(r):
        lo = np.ceil(ri).astype(int)
        hi = np.asarray(shp) - 1 - lo
        if np.any(hi < lo):
            raise InputError(f"a sphere of radius {ri} does not fit in {shp}", field="radii",
                             expected="radii smaller than half the volume")
        while True:
            tries += 1
            if tries > max_tries:
                raise InputError(f"could not place {r.size} spheres in {shp}", field="radii",
                                 expected="fewer or smaller spheres")
            c = rng.integers(lo, hi + 1)
            d = np.linalg.norm(centres[:i] - c, axis=1)
            if np.all(d > r[:i] + ri + gap):
                centres[i] = c
                break
    dtype = np.uint16 if r.size < 2**16 else np.uint32
    labels = np.zeros(shp, dtype=dtype)
    counts = np.zeros(r.size, dtype=np.int64)
    for i, (c, ri) in enumerate(zip(centres, r, strict=True)):
        k = int(np.floor(ri))
        sl = tuple(slice(c[a] - k, c[a] + k + 1) for a in range(3))
        g = np.arange(-k, k + 1)
        ball = (g[:, None, None] ** 2 + g[None, :, None] ** 2 + g[None, None, :] ** 2) <= ri * ri
        labels[sl][ball] = i + 1
        counts[i] = int(ball.sum())
    return SphereSet(mask=labels > 0, labels=labels, centers=centres, radii=r,
                     voxel_counts=counts)


# --------------------------------------------------------------------------- layers


def layers(shape, thicknesses: Sequence[int], *, axis: int = 0,
           labels: Sequence[int] | None = None) -> np.ndarray:
    """Stacked layers along ``axis``, repeated periodically until the volume is filled.

    Parameters
    ----------
    shape : int or sequence of 3 int
    thicknesses : sequence of int
        Thickness of each layer of one period, voxels.
    axis : int
        Stacking direction (0 z, 1 y, 2 x).
    labels : sequence of int, optional
        Label of each layer (default ``0, 1, 2, …``).

    Returns
    -------
    ndarray of uint8
        Labels; conduction along ``axis`` is in series, across it in parallel.

    Examples
    --------
    >>> layers((6, 1, 1), [2, 1]).ravel().tolist()
    [0, 0, 1, 0, 0, 1]
    """
    shp = _shape3(shape)
    if isinstance(axis, bool) or axis not in (0, 1, 2):
        raise InputError(f"axis {axis!r}", field="axis", expected="0, 1 or 2")
    t = np.asarray(thicknesses)
    if t.ndim != 1 or t.size == 0 or t.dtype.kind not in "iu" or np.any(t < 1):
        raise InputError(f"thicknesses {thicknesses!r}", field="thicknesses",
                         expected="positive integer thicknesses in voxels")
    labs = np.arange(t.size) if labels is None else np.asarray(labels)
    if labs.shape != t.shape or labs.dtype.kind not in "iu" or np.any(labs < 0) \
            or np.any(labs > 255):
        raise InputError(f"labels {labels!r}", field="labels",
                         expected="one label in 0…255 per layer")
    period = np.repeat(labs, t).astype(np.uint8)
    line = np.resize(period, shp[axis])
    view = [1, 1, 1]
    view[axis] = shp[axis]
    return np.ascontiguousarray(np.broadcast_to(line.reshape(view), shp))
