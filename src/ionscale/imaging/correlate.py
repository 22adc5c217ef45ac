"""Voxel-by-voxel comparison of two channels: covariance, Pearson r, product map, 2D
correlation histogram, line profiles.

Definitions (SCIENCE §9)
------------------------
* sample covariance ``cov = Σ (A_i - Ā)(B_i - B̄) / (n - 1)`` (Eq. 3), with its standard error
  from the fourth moments, ``se² = (m₂₂ - cov²) / n`` where ``m₂₂ = mean((A - Ā)² (B - B̄)²)``
  (the delta method; exact for any distribution as ``n`` grows);
* Pearson ``r = cov / (s_A s_B)``; its standard error by the delta method from the fourth
  moments of the standardised channels ``a, b``: ``se² = [E(a²b²) - r (E(a³b) + E(ab³)) +
  r²/4 (E(a⁴) + E(b⁴) + 2 E(a²b²))] / (n_eff - 3)``, which is ``(1 - r²)² / (n_eff - 3)`` for
  normal data and stays right for skewed counts; a 68 % interval from Fisher's
  ``z = atanh r`` (normal theory); the two-sided p-value of ``r = 0`` from Student's t with
  ``n_eff - 2`` degrees of freedom;
* the product map ``A · B`` of the two (normalised) channels (Eq. 3's per-voxel term, without
  the means, as the seed's "Li × Zr" map).

Neighbouring voxels of a resampled map are not independent (the resampling kernel and the
probe spread each count over several voxels), so ``n`` overstates the information: give
``n_effective`` (or ``correlation_length`` in voxels, which divides ``n`` by the number of
voxels per correlated patch, ``(2 ℓ)^d`` for ``d`` dimensions) for an honest error. Voxels
where either channel is NaN, or outside ``mask``, are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes

__all__ = ["ChannelCorrelation", "correlate_channels", "correlation_histogram",
           "line_profile", "product_map"]


@dataclass(frozen=True, kw_only=True)
class ChannelCorrelation(Result):
    """Correlation of two channels over a set of voxels.

    Values: ``r`` (Pearson, ± its standard error), ``covariance`` (± se), ``p_value`` (r = 0),
    ``n`` (voxels used), ``n_effective``.

    Attributes
    ----------
    names : (str, str)
        The two channels.
    histogram : ndarray (bins, bins)
        2D histogram of the pairs (counts), rows = first channel.
    edges : (ndarray, ndarray)
        Bin edges of the two channels.
    interval : (float, float)
        68 % interval of r from Fisher's z.
    """

    names: tuple[str, str]
    histogram: np.ndarray
    edges: tuple[np.ndarray, np.ndarray]
    interval: tuple[float, float]

    def plot(self, ax=None):
        """The 2D correlation histogram (log colour scale) with r in the title."""
        import matplotlib.colors as mcolors

        ax = new_axes(ax)
        h = np.asarray(self.histogram, float)
        ea, eb = self.edges
        pos = h[h > 0]
        norm = mcolors.LogNorm(vmin=max(pos.min(), 1), vmax=max(pos.max(), 2)) if pos.size \
            else None
        im = ax.pcolormesh(eb, ea, np.where(h > 0, h, np.nan), norm=norm, cmap="viridis",
                           shading="flat")
        ax.set_xlabel(self.names[1])
        ax.set_ylabel(self.names[0])
        r = self.values["r"]
        ax.set_title(f"r = {r.value:.3f} ± {r.error:.3f}")
        ax.figure.colorbar(im, ax=ax, label="voxels")
        return ax


def _pair(a, b, mask):
    A = np.asarray(a, dtype=np.float64)
    B = np.asarray(b, dtype=np.float64)
    if A.shape != B.shape:
        raise InputError(f"channels of shapes {A.shape} and {B.shape}", field="b",
                         expected="two channels on the same grid (resample first)")
    ok = np.isfinite(A) & np.isfinite(B)
    if mask is not None:
        m = np.asarray(mask, bool)
        if m.shape != A.shape:
            raise InputError(f"mask of shape {m.shape} for channels of {A.shape}",
                             field="mask", expected="a mask of the channels' shape")
        ok &= m
    return A[ok], B[ok]


def correlate_channels(a, b, *, mask=None, names: tuple[str, str] = ("A", "B"),
                       n_effective: float | None = None,
                       correlation_length: float | None = None, bins: int = 64,
                       ranges=None) -> ChannelCorrelation:
    """Covariance and Pearson r of two channels, with errors and a significance test.

    Parameters
    ----------
    a, b : array_like
        The two channels on one grid (any dimension: a map or a fused volume).
    mask : bool array, optional
        Voxels to use (NaN voxels are always skipped).
    names : (str, str)
        Channel names, for the output.
    n_effective : float, optional
        Number of independent voxels for the errors and the test (default: ``n``, or from
        ``correlation_length``).
    correlation_length : float, optional
        Correlation length in voxels: ``n_eff = n / max(1, 2ℓ)^d``.
    bins : int
        Bins per axis of the correlation histogram.
    ranges : ((a_min, a_max), (b_min, b_max)), optional
        Histogram ranges (default: the data ranges).

    Returns
    -------
    ChannelCorrelation
        ``r``, ``covariance``, ``p_value``, ``n``, ``n_effective``; the histogram.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=100000); y = 0.6 * x + 0.8 * rng.normal(size=100000)
    >>> round(correlate_channels(x, y)["r"].value, 2)
    0.6
    """
    from scipy import stats

    dim = np.ndim(a)
    A, B = _pair(a, b, mask)
    n = A.size
    diagnostics = []
    if n < 4:
        raise InputError(f"{n} voxels where both channels are defined", field="mask",
                         expected="at least 4 voxels in common")
    if n_effective is None:
        n_eff = float(n)
        if correlation_length is not None:
            n_eff = n / max(1.0, 2.0 * float(correlation_length)) ** max(dim, 1)
    else:
        n_eff = float(n_effective)
    if not 3 < n_eff <= n:
        raise InputError(f"n_effective = {n_eff:g} for {n} voxels", field="n_effective",
                         expected="more than 3 and at most the number of voxels")
    da, db = A - A.mean(), B - B.mean()
    cov = float(np.dot(da, db) / (n - 1))
    m22 = float(np.mean(da * da * db * db))
    cov_se = math.sqrt(max(m22 - (np.dot(da, db) / n) ** 2, 0.0) / n_eff)
    sa, sb = float(np.sqrt(np.dot(da, da) / (n - 1))), float(np.sqrt(np.dot(db, db) / (n - 1)))
    if sa == 0 or sb == 0:
        r, r_se, p, lo, hi = math.nan, math.inf, math.nan, math.nan, math.nan
        diagnostics.append(Diagnostic("failed", "a channel is constant over the voxels used: "
                                      "r is undefined", fields=("r",)))
    else:
        r = float(np.clip(cov / (sa * sb), -1.0, 1.0))
        # delta-method variance of r from the standardised fourth moments (any distribution;
        # (1 - r²)² for a bivariate normal)
        za, zb = da / math.sqrt(np.dot(da, da) / n), db / math.sqrt(np.dot(db, db) / n)
        a2, b2 = za * za, zb * zb
        v = (float(np.mean(a2 * b2)) - r * float(np.mean(a2 * za * zb) + np.mean(b2 * za * zb))
             + r * r / 4 * float(np.mean(a2 * a2) + np.mean(b2 * b2) + 2 * np.mean(a2 * b2)))
        r_se = math.sqrt(max(v, 0.0) / (n_eff - 3)) if v > 0 else (1 - r * r) / math.sqrt(
            n_eff - 3)
        z, zse = math.atanh(min(max(r, -1 + 1e-15), 1 - 1e-15)), 1 / math.sqrt(n_eff - 3)
        lo, hi = math.tanh(z - zse), math.tanh(z + zse)
        if abs(r) < 1:
            t = r * math.sqrt((n_eff - 2) / (1 - r * r))
            p = float(2 * stats.t.sf(abs(t), n_eff - 2))
        else:
            p = 0.0
    if ranges is None:
        ranges = ((float(A.min()), float(A.max()) if A.max() > A.min() else A.min() + 1),
                  (float(B.min()), float(B.max()) if B.max() > B.min() else B.min() + 1))
    h, ea, eb = np.histogram2d(A, B, bins=bins, range=ranges)
    values = {
        "r": Value("r", r, r_se, "", "Pearson r", valid=(-1.0, 1.0)),
        "covariance": Value("covariance", cov, cov_se, "", "cov"),
        "p_value": Value("p_value", p, 0.0, "", "p (r = 0)", valid=(0.0, 1.0)),
        "n": Value("n", float(n), 0.0, "", "voxels"),
        "n_effective": Value("n_effective", n_eff, 0.0, "", "independent voxels"),
    }
    prov = Provenance.build("imaging.correlate_channels", [], {
        "names": list(names), "n_effective": n_effective,
        "correlation_length": correlation_length, "bins": bins})
    return ChannelCorrelation(values=values, provenance=prov,
                              title=f"correlation of {names[0]} and {names[1]}",
                              diagnostics=tuple(diagnostics), names=tuple(names),
                              histogram=h.astype(np.int64), edges=(ea, eb), interval=(lo, hi))


def product_map(a, b) -> np.ndarray:
    """The per-voxel product ``A · B`` (float32); NaN where either is NaN."""
    A = np.asarray(a, dtype=np.float32)
    B = np.asarray(b, dtype=np.float32)
    if A.shape != B.shape:
        raise InputError(f"channels of shapes {A.shape} and {B.shape}", field="b",
                         expected="two channels on the same grid")
    return A * B


def correlation_histogram(a, b, *, bins: int = 64, mask=None, ranges=None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2D histogram of the pairs ``(A_i, B_i)``: ``(counts, edges_a, edges_b)``."""
    A, B = _pair(a, b, mask)
    return np.histogram2d(A, B, bins=bins, range=ranges)


def line_profile(image, start, end, *, channels=None, width: float = 0.0,
                 step: float | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Values along a straight line between two points given in metres.

    Parameters
    ----------
    image : Image
        A map (or a fused slice).
    start, end : (y, x)
        End points, m, in the image's frame (its origin included).
    channels : sequence of str, optional
        Channels to sample (default: all).
    width : float
        Width of the band averaged across the line, m (0: the line itself).
    step : float, optional
        Distance between samples, m (default: the smaller pixel size).

    Returns
    -------
    distance : ndarray
        Distance from ``start``, m.
    profiles : dict of str to ndarray
        Bilinear samples (band means); NaN outside the map.
    """
    from scipy import ndimage as ndi

    from .image import Image

    if not isinstance(image, Image):
        raise InputError(f"a {type(image).__name__}", field="image",
                         expected="an Image (a map with its pixel size)")
    p0, p1 = np.asarray(start, float), np.asarray(end, float)
    length = float(np.hypot(*(p1 - p0)))
    if not length > 0:
        raise InputError("start and end coincide", field="end", expected="a line of length > 0")
    step = float(step or min(image.pixel_size))
    n = max(2, int(length / step) + 1)
    t = np.linspace(0.0, 1.0, n)
    pts = p0[None, :] + t[:, None] * (p1 - p0)[None, :]
    normal = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / length
    m = max(1, int(round(width / step)) + 1) if width > 0 else 1
    offsets = (np.linspace(-width / 2, width / 2, m) if m > 1 else np.zeros(1))
    names = image.channels if channels is None else tuple(channels)
    (dy, dx), (oy, ox) = image.pixel_size, image.origin
    out = {}
    for c in names:
        arr = np.asarray(image.channel(c), dtype=np.float64)
        acc = np.zeros(n)
        for o in offsets:
            q = pts + o * normal[None, :]
            iy = (q[:, 0] - oy) / dy - 0.5
            ix = (q[:, 1] - ox) / dx - 0.5
            vals = ndi.map_coordinates(arr, [iy, ix], order=1, mode="nearest")
            outside = ((iy < -0.5 - 1e-9) | (iy > arr.shape[0] - 0.5 + 1e-9) |
                       (ix < -0.5 - 1e-9) | (ix > arr.shape[1] - 0.5 + 1e-9))
            acc += np.where(outside, np.nan, vals)
        out[c] = acc / len(offsets)
    return t * length, out
