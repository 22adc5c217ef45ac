"""Per-voxel filter features for trainable segmentation, chunked in z with halos.

For each scale σ of :attr:`FeatureSpec.sigmas` (voxels of the x axis; scaled per axis by the
voxel size, so anisotropic stacks are smoothed isotropically in metres) the volume is smoothed
by a separable Gaussian (three 1D float32 passes, truncated at 3.5 σ, reflecting boundaries),
and from the smoothed volume ``G_σ``:

=================  ===========  ========================================================
feature            columns      definition
=================  ===========  ========================================================
``gauss``          1            ``G_σ``
``gradient``       1            ``|∇G_σ|`` (central differences)
``log``            1            ``∇²G_σ`` (Laplacian of Gaussian; central differences)
``hessian``        3            eigenvalues of the Hessian of ``G_σ``, largest first
``structure``      3            eigenvalues of the structure tensor ``G_{σ/2} * (∇G_σ
                                ∇G_σᵀ)``, largest first (off by default)
``dog``            1            ``G_σ - G_σ'`` with σ' the next σ of the list
=================  ===========  ========================================================

The structure tensor uses Ilastik's scales: the gradient of ``G_σ`` (inner scale σ), its
outer product smoothed by a Gaussian of σ/2 (outer scale), in units of (grey level per x
voxel)². Its eigenvalues (like the Hessian's) come from the closed-form 3×3 solution of
:mod:`~ionscale.imaging._kernels`, not a general solver per voxel; they are ≥ 0 and large
where the grey level changes (the largest across an interface, all three at a corner).

Derivatives are central differences of the smoothed volume (the scheme of scikit-image's
``hessian_matrix(..., use_gaussian_derivatives=False)``), in units of x voxels. The volume is
processed in blocks of ``chunk`` slices with a halo of ``⌈3.5 σ_max⌉ + 1`` slices (results are
identical to a whole-volume computation); the kernels run in parallel (numba threads). Peak
memory is :func:`estimate_feature_memory`: independent of the number of slices.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = [
    "DEFAULT_SIGMAS",
    "FeatureSpec",
    "estimate_feature_memory",
    "feature_names",
    "iter_feature_blocks",
    "voxel_features",
]

#: Ilastik's default scales without the extremes (0.3 and 10 voxels).
DEFAULT_SIGMAS = (0.7, 1.0, 1.6, 3.5, 5.0)
TRUNCATE = 3.5
#: Outer (integration) scale of the structure tensor, as a fraction of its inner scale σ.
OUTER = 0.5


@dataclass(frozen=True)
class FeatureSpec:
    """Which features, at which scales.

    Parameters
    ----------
    sigmas : sequence of float
        Gaussian scales, voxels (x axis), increasing.
    gauss, gradient, log, hessian, dog, structure : bool
        Feature families (see the module table); ``structure`` (structure-tensor
        eigenvalues) is off by default.
    """

    sigmas: tuple[float, ...] = DEFAULT_SIGMAS
    gauss: bool = True
    gradient: bool = True
    log: bool = True
    hessian: bool = True
    dog: bool = True
    structure: bool = False

    def __post_init__(self) -> None:
        try:
            s = tuple(float(v) for v in np.ravel(self.sigmas))
        except (TypeError, ValueError):
            s = ()
        if not s or not all(math.isfinite(v) and 0 < v <= 64 for v in s):
            raise InputError(f"sigmas {self.sigmas!r}", field="sigmas",
                             expected="one or more scales in (0, 64] voxels, e.g. "
                             "(0.7, 1, 1.6, 3.5, 5)")
        object.__setattr__(self, "sigmas", tuple(sorted(set(s))))
        if not (self.gauss or self.gradient or self.log or self.hessian or self.dog
                or self.structure):
            raise InputError("no feature selected", field="features",
                             expected="at least one of gauss, gradient, log, hessian, dog, "
                             "structure")

    @property
    def per_sigma(self) -> int:
        return (int(self.gauss) + int(self.gradient) + int(self.log) + 3 * int(self.hessian)
                + 3 * int(self.structure))

    @property
    def n_features(self) -> int:
        """Features per channel."""
        return self.per_sigma * len(self.sigmas) + (len(self.sigmas) - 1) * int(self.dog)

    @property
    def halo(self) -> int:
        """Slices of context each block needs on either side (the structure tensor's outer
        smoothing and gradient need ``⌈3.5 σ_max / 2⌉ + 1`` more)."""
        extra = int(math.ceil(TRUNCATE * max(self.sigmas) * OUTER)) + 1 if self.structure \
            else 0
        return int(math.ceil(TRUNCATE * max(self.sigmas))) + 1 + extra


def feature_names(spec: FeatureSpec = FeatureSpec(), channels: Sequence[str] = ("",)
                  ) -> list[str]:
    """Names of the feature columns, in order (``"gauss_1.6"``, ``"hessian2_3.5"``...)."""
    out = []
    for ch in channels:
        pre = f"{ch}:" if ch else ""
        for s in spec.sigmas:
            if spec.gauss:
                out.append(f"{pre}gauss_{s:g}")
            if spec.gradient:
                out.append(f"{pre}gradient_{s:g}")
            if spec.log:
                out.append(f"{pre}log_{s:g}")
            if spec.hessian:
                out += [f"{pre}hessian{i}_{s:g}" for i in (1, 2, 3)]
            if spec.structure:
                out += [f"{pre}structure{i}_{s:g}" for i in (1, 2, 3)]
        if spec.dog:
            out += [f"{pre}dog_{a:g}-{b:g}" for a, b in zip(spec.sigmas[:-1], spec.sigmas[1:],
                                                              strict=True)]
    return out


def _kernel(sigma: float) -> np.ndarray:
    r = max(1, int(math.ceil(TRUNCATE * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _scales(voxel_size) -> np.ndarray:
    """Per-axis factors (dx / d_axis): σ in x voxels → σ in each axis' voxels."""
    if voxel_size is None:
        return np.ones(3)
    vs = np.asarray(voxel_size, float)
    return vs[2] / vs


def estimate_feature_memory(shape, spec: FeatureSpec = FeatureSpec(), *, chunk: int = 16,
                            n_channels: int = 1) -> int:
    """Peak bytes of one feature block of ``chunk`` slices of a ``(z, y, x)`` volume: the
    input slab with its halo, three smoothing buffers, the previous scale (for DoG) and the
    ``(features, chunk, y, x)`` float32 block."""
    _, ny, nx = (int(v) for v in shape)
    plane = ny * nx * 4
    cz = int(chunk)
    slab = (cz + 2 * spec.halo + 2) * plane
    work = 4 * (cz + 2) * plane
    block = spec.n_features * n_channels * cz * plane
    if spec.structure:
        ext = cz + 2 * (int(math.ceil(TRUNCATE * max(spec.sigmas) * OUTER)) + 1)
        work += (5 * ext + 2 * cz) * plane      # G, 3 gradients, a product; 2 buffers
    return int(slab + work + block)


def chunk_for_memory(shape, spec: FeatureSpec, max_memory: float, n_channels: int = 1,
                     extra_per_slice: float = 0.0) -> int:
    """The largest block height whose features fit in ``max_memory`` bytes (at least 1)."""
    nz = int(shape[0])
    per = estimate_feature_memory(shape, spec, chunk=1, n_channels=n_channels) - \
        estimate_feature_memory(shape, spec, chunk=0, n_channels=n_channels)
    base = estimate_feature_memory(shape, spec, chunk=0, n_channels=n_channels)
    cz = int((max_memory - base) // max(per + extra_per_slice, 1))
    return int(max(1, min(nz, cz)))


def _block_features(vol: np.ndarray, z0: int, z1: int, spec: FeatureSpec, scale: np.ndarray,
                    out: np.ndarray, col0: int) -> None:
    """Features of slices ``[z0, z1)`` of ``vol`` (one channel) into ``out[col0:...]``."""
    from . import _kernels as K

    nz = vol.shape[0]
    h = spec.halo
    zs, ze = max(0, z0 - 1 - h), min(nz, z1 + 1 + h)
    src = np.ascontiguousarray(vol[zs:ze], dtype=np.float32)
    cz = z1 - z0
    shp = (cz + 2, *src.shape[1:])
    a = np.empty(shp, np.float32)
    b = np.empty(shp, np.float32)
    G = np.empty(shp, np.float32)
    prev = np.empty(shp, np.float32) if spec.dog else None
    dog_col = col0 + spec.per_sigma * len(spec.sigmas)
    sc = scale.astype(np.float64)
    for i, s in enumerate(spec.sigmas):
        kz, ky, kx = (_kernel(s * f) for f in scale)
        K.conv_z(src, kz, (z0 - 1) - zs, cz + 2, a)
        K.conv_y(a, ky, b)
        K.conv_x(b, kx, G)
        K.derived(G, 0, out, col0 + i * spec.per_sigma, spec.gauss, spec.gradient, spec.log,
                  spec.hessian, sc)
        if spec.structure:
            _structure_eigenvalues(src, zs, z0, z1, nz, s, scale,
                                   out, col0 + (i + 1) * spec.per_sigma - 3)
        if spec.dog:
            if i > 0:
                K.subtract_into(prev, G, out, dog_col + i - 1, 1)
            prev, G = G, prev


class _ChannelSlabs:
    """One channel of a lazy ``(z, y, x)`` or ``(z, c, y, x)`` array as a ``(z, y, x)`` one:
    ``view[z0:z1]`` reads those slices only."""

    def __init__(self, data, channel: int) -> None:
        self._data = data
        self._c = channel
        s = data.shape
        self.shape = (int(s[0]), int(s[-2]), int(s[-1]))
        self.ndim = 3

    def __getitem__(self, key) -> np.ndarray:
        if self._data.ndim == 3:
            return np.asarray(self._data[key])
        key = key if isinstance(key, tuple) else (key,)
        return np.asarray(self._data[(key[0], self._c, *key[1:])])


class _LazyChannels:
    """A lazy stack as the ``(channels, z, y, x)`` array of :func:`_as_volume_array`:
    ``arr[c]`` is a :class:`_ChannelSlabs`, ``arr[c, z]`` a slice read from the file."""

    def __init__(self, data) -> None:
        nc = 1 if data.ndim == 3 else int(data.shape[1])
        self._views = [_ChannelSlabs(data, c) for c in range(nc)]
        self.shape = (nc, *self._views[0].shape)
        self.ndim = 4

    def __getitem__(self, key):
        if isinstance(key, tuple):
            return self._views[key[0]][key[1:]] if len(key) > 1 else self._views[key[0]]
        return self._views[key]


def _central_difference(G: np.ndarray, axis: int) -> np.ndarray:
    """``(G[i+1] - G[i-1]) / 2`` along ``axis`` (y or x), the neighbour outside the volume
    being its face value (the reflected smoothed volume), as in the gradient feature."""
    d = np.empty_like(G)
    n = G.shape[axis]
    sl = [slice(None)] * G.ndim

    def at(a, b):
        sl[axis] = slice(a, b)
        return tuple(sl)

    if n == 1:
        d[...] = 0
        return d
    d[at(1, n - 1)] = 0.5 * (G[at(2, n)] - G[at(0, n - 2)])
    d[at(0, 1)] = 0.5 * (G[at(1, 2)] - G[at(0, 1)])
    d[at(n - 1, n)] = 0.5 * (G[at(n - 1, n)] - G[at(n - 2, n - 1)])
    return d


def _structure_eigenvalues(src: np.ndarray, zs: int, z0: int, z1: int, nz: int, sigma: float,
                           scale: np.ndarray, out: np.ndarray, col: int) -> None:
    """Structure-tensor eigenvalues (largest first) of slices ``[z0, z1)`` into
    ``out[col:col + 3]``.

    ``src`` holds the volume's slices ``[zs, zs + len(src))``, with enough halo for the inner
    Gaussian (σ), the central difference and the outer Gaussian (``OUTER`` σ); at the
    volume's faces every step reflects, so the result does not depend on the blocks.
    """
    from . import _kernels as K

    ro = max(1, int(math.ceil(TRUNCATE * sigma * OUTER * scale[0])))
    r0, r1 = max(0, z0 - ro), min(nz, z1 + ro)       # slices whose gradient is smoothed
    n_ext = r1 - r0 + 2                               # + one each side for the z difference
    kz, ky, kx = (_kernel(sigma * f) for f in scale)
    a = np.empty((n_ext, *src.shape[1:]), np.float32)
    b = np.empty_like(a)
    G = np.empty_like(a)
    K.conv_z(src, kz, (r0 - 1) - zs, n_ext, a)
    K.conv_y(a, ky, b)
    K.conv_x(b, kx, G)
    del a, b
    sz, sy, sx = (np.float32(v) for v in scale)
    grads = (np.float32(0.5) * (G[2:] - G[:-2]) * sz,
             _central_difference(G[1:-1], 1) * sy,
             _central_difference(G[1:-1], 2) * sx)
    del G
    koz, koy, kox = (_kernel(sigma * OUTER * f) for f in scale)
    cz = z1 - z0
    ny, nx = src.shape[1], src.shape[2]
    t1 = np.empty((cz, ny, nx), np.float32)
    t2 = np.empty_like(t1)
    comps = np.empty((6, cz, ny, nx), np.float32)
    pairs = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
    for j, (p, q) in enumerate(pairs):
        prod = np.ascontiguousarray(grads[p] * grads[q])
        K.conv_z(prod, koz, z0 - r0, cz, t1)
        K.conv_y(t1, koy, t2)
        K.conv_x(t2, kox, comps[j])
    flat = comps.reshape(6, -1)
    e = np.empty((3, flat.shape[1]), np.float32)
    K._eig_rows(flat[0], flat[1], flat[2], flat[3], flat[4], flat[5], e[0], e[1], e[2])
    out[col:col + 3] = e.reshape(3, cz, ny, nx)


def _as_volume_array(volume) -> tuple[np.ndarray, tuple | None, tuple[str, ...]]:
    """(channels, z, y, x) array view, voxel size or None, channel names. A stack whose data
    is not in memory (:class:`~ionscale.imaging.readers.LazyArray`) gives a view that reads
    blocks of slices on indexing."""
    from .image import ImageStack

    if isinstance(volume, ImageStack):
        data = volume.data
        vs = (volume.slice_thickness or volume.pixel_size[1], *volume.pixel_size)
        chans = volume.channels
        if not isinstance(data, np.ndarray):
            return _LazyChannels(data), vs, chans  # type: ignore[return-value]
        arr = data[None] if data.ndim == 3 else np.moveaxis(data, 1, 0)
        return arr, vs, chans
    arr = np.asarray(volume)
    if arr.ndim != 3:
        raise InputError(f"volume of shape {arr.shape}", field="volume",
                         expected="a 3D (z, y, x) array or an ImageStack")
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"volume of type {arr.dtype}", field="volume",
                         expected="numbers (grey levels)")
    return arr[None], None, ("",)


def iter_feature_blocks(volume, spec: FeatureSpec = FeatureSpec(), *, chunk: int = 16,
                        voxel_size=None, start: int = 0, stop: int | None = None
                        ) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(z0, z1, block)`` with ``block`` the ``(features, z1 - z0, y, x)`` float32
    features of slices ``[z0, z1)``, for the slices ``[start, stop)`` (the same array object is
    reused: copy what you keep)."""
    arr, vs, chans = _as_volume_array(volume)
    scale = _scales(voxel_size if voxel_size is not None else vs)
    nc, nz, ny, nx = arr.shape
    stop = nz if stop is None else min(int(stop), nz)
    F = spec.n_features
    cz = max(1, min(int(chunk), max(1, stop - start)))
    buf = np.empty((F * nc, cz, ny, nx), np.float32)
    for z0 in range(int(start), stop, cz):
        z1 = min(stop, z0 + cz)
        block = buf[:, :z1 - z0]
        if z1 - z0 < cz:
            block = np.empty((F * nc, z1 - z0, ny, nx), np.float32)
        for c in range(nc):
            _block_features(arr[c], z0, z1, spec, scale, block, c * F)
        yield z0, z1, block


def voxel_features(volume, spec: FeatureSpec = FeatureSpec(), *, chunk: int = 16,
                   voxel_size=None) -> np.ndarray:
    """Every feature of every voxel: a ``(features, z, y, x)`` float32 array.

    For volumes whose features do not fit in memory, use :func:`iter_feature_blocks` (the
    segmentation does).

    Examples
    --------
    >>> import numpy as np
    >>> f = voxel_features(np.random.default_rng(0).random((8, 16, 16)),
    ...                    FeatureSpec(sigmas=(1.0, 2.0)))
    >>> f.shape
    (13, 8, 16, 16)
    """
    arr, _, _ = _as_volume_array(volume)
    nc, nz, ny, nx = arr.shape
    out = np.empty((spec.n_features * nc, nz, ny, nx), np.float32)
    for z0, z1, block in iter_feature_blocks(volume, spec, chunk=chunk, voxel_size=voxel_size):
        out[:, z0:z1] = block
    return out
