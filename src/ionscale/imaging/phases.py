"""Phase identification from fused element channels, and the chemistry of each phase.

:func:`identify_phases` turns a fused stack into a labelled
:class:`~ionscale.microstructure.volume.Volume` (which every :mod:`ionscale.microstructure`
metric measures):

* ``method="rules"``: each phase is named by the element that marks it (``{"LLZTO": "Zr",
  "LCO": "Co", "Al2O3": "Al", "carbon": "C"}``, seed 003). Each marker channel is smoothed
  (Gaussian, ``smooth`` voxels in-plane, against counting noise) and scaled to [0, 1] between
  its 1st and 99th percentiles over the volume; a voxel takes the phase whose marker is the
  strongest, and stays 0 (unassigned) when no marker reaches ``threshold``.
* ``method="kmeans"``: unsupervised k-means (scipy, best of four k-means++ starts) on the
  same scaled channels (the rules' markers, or those named), ``n_phases`` clusters; with rules
  given, each cluster is named after the rule whose marker is strongest in it.

:func:`phase_chemistry` measures, per phase: the volume fraction (of the assigned voxels), the
contact area with every other phase (voxel faces shared, × face area: an upper bound of the
true area on a staircase surface, stated), the mean of every channel, and the tracer isotope
fraction ``Σ N_t / Σ (N_t + N_o)`` from the counts of the phase's interior voxels (the mask
eroded in-plane by ``erode`` voxels, so that the resolution blur of the SIMS probe does not mix
neighbouring phases). Its standard error comes from the spread between blocks (slices, split
into tiles until there are at least 16 blocks), which holds counting noise, heterogeneity and
the correlation of neighbouring voxels; it is never below the binomial error of the total
counts. A phase without Li counts has no isotope fraction (a warning, no number).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..errors import InputError
from ..microstructure.volume import Volume
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .image import ImageStack
from .maps import element_of

__all__ = ["DEFAULT_RULES", "PhaseChemistry", "identify_phases", "phase_chemistry"]

#: Seed 003's marker elements.
DEFAULT_RULES: dict[str, str] = {"LLZTO": "Zr", "LCO": "Co", "Al2O3": "Al", "carbon": "C"}


def _marker_channel(stack: ImageStack, element: str) -> str:
    symbol = element_of(element)
    if element in stack.channels:
        return element
    for c in stack.channels:
        if c.endswith("_fraction"):
            continue
        try:
            if element_of(c) == symbol and not c[0].isdigit():
                return c
        except InputError:
            continue
    raise InputError(f"no channel for element {element!r}", file=stack.source,
                     field="rules", expected=f"an element among the channels "
                     f"{list(stack.channels)}")


def _scaled(stack: ImageStack, channel: str, smooth: float) -> np.ndarray:
    a = np.asarray(stack.channel(channel), dtype=np.float32)
    a = np.nan_to_num(a, nan=0.0)
    if smooth and smooth > 0:
        a = ndi.gaussian_filter(a, (0, smooth, smooth), mode="nearest")
    lo, hi = np.percentile(a, (1, 99))
    return np.clip((a - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(a)


def identify_phases(stack: ImageStack, rules: Mapping[str, str] | None = None, *,
                    method: str = "rules", channels: Sequence[str] | None = None,
                    n_phases: int | None = None, threshold: float = 0.15,
                    smooth: float = 1.0, seed: int = 0) -> Volume:
    """A labelled volume from the element channels of a fused stack.

    Parameters
    ----------
    stack : ImageStack
        Fused ``(z, c, y, x)`` counts with a slice thickness (see
        :func:`~ionscale.imaging.fusion.fuse_slices`).
    rules : dict of phase name to element, optional
        Marker element per phase (default :data:`DEFAULT_RULES`); labels 1, 2... in order.
    method : {"rules", "kmeans"}
    channels : sequence of str, optional
        Channels clustered by ``"kmeans"`` (default: the rules' markers).
    n_phases : int, optional
        Clusters for ``"kmeans"`` (default: the number of rules).
    threshold : float
        ``"rules"``: smallest scaled marker that assigns a phase (else label 0).
    smooth : float
        In-plane Gaussian smoothing of the channels, voxels.
    seed : int
        Of the k-means initialisation.

    Returns
    -------
    Volume
        ``labels`` uint8 ``(z, y, x)``, ``phases`` ``{name: label}`` (0 = unassigned), the
        voxel size ``(dz, dy, dx)`` and origin of the stack.

    Raises
    ------
    InputError
        An unknown element or one without a channel, no slice thickness, a bad method.
    """
    if not isinstance(stack, ImageStack):
        raise InputError(f"a {type(stack).__name__}", field="stack",
                         expected="a fused ImageStack (z, c, y, x)")
    rules = dict(DEFAULT_RULES if rules is None else rules)
    if not rules:
        raise InputError("no phase rules", field="rules", expected="{phase: element}")
    if len(rules) > 254:
        raise InputError(f"{len(rules)} phases", field="rules", expected="at most 254")
    markers = {p: _marker_channel(stack, e) for p, e in rules.items()}
    dz = stack.voxel_size[0]
    names = list(rules)
    if method == "rules":
        scaled = np.stack([_scaled(stack, markers[p], smooth) for p in names])
        best = np.argmax(scaled, axis=0)
        top = np.take_along_axis(scaled, best[None], axis=0)[0]
        labels = np.where(top >= threshold, best + 1, 0).astype(np.uint8)
        phases = {p: i + 1 for i, p in enumerate(names)}
    elif method == "kmeans":
        from scipy.cluster.vq import kmeans2, vq

        use = list(channels) if channels else [markers[p] for p in names]
        feats = np.stack([_scaled(stack, c, smooth).ravel() for c in use], axis=1)
        k = int(n_phases or len(names))
        if not 1 < k <= 254:
            raise InputError(f"n_phases = {k}", field="n_phases", expected="2 to 254")
        rng = np.random.default_rng(seed)
        sample = feats[rng.choice(len(feats), min(len(feats), 200_000), replace=False)]
        best_c, best_d = None, np.inf
        for _ in range(4):                         # best of four k-means++ starts
            c, lab_s = kmeans2(sample, k, minit="++", seed=rng, iter=30)
            d = float(np.sum((sample - c[lab_s]) ** 2))
            if d < best_d:
                best_c, best_d = c, d
        cl = vq(feats, best_c)[0].reshape(stack.shape)
        # name clusters: the rule whose marker is strongest in the cluster's centre
        centres = best_c
        phases = {}
        labels = np.zeros(stack.shape, np.uint8)
        marker_cols = {p: use.index(markers[p]) for p in names if markers[p] in use}
        for j in range(k):
            if marker_cols:
                p = max(marker_cols, key=lambda q: centres[j, marker_cols[q]])
                name = p if p not in phases else f"{p} ({j + 1})"
            else:
                name = f"cluster {j + 1}"
            phases[name] = j + 1
            labels[cl == j] = j + 1
    else:
        raise InputError(f"method {method!r}", field="method", expected="'rules' or 'kmeans'")
    return Volume(labels, (dz, *stack.pixel_size), phases, stack.origin, stack.source,
                  {"method": method, "rules": rules, "markers": markers,
                   "threshold": threshold, "smooth": smooth, "unassigned": 0})


@dataclass(frozen=True, kw_only=True)
class PhaseChemistry(Result):
    """Fractions, contacts and chemistry of the phases of a fused volume.

    Values: ``fraction_<phase>`` (of the assigned voxels), ``unassigned`` (fraction of all
    voxels), ``contact_<a>_<b>`` (m², voxel-face count, an upper bound), ``Li6_<phase>`` (or
    ``<tracer>_<phase>``, the tracer isotope fraction ± its standard error).

    Attributes
    ----------
    phases : dict of str to int
    channel_means : dict of str to dict of str to float
        Mean counts per voxel of each channel in each phase.
    tracer_fraction : dict of str to (float, float, float)
        ``(fraction, standard error, total counts)`` per phase with Li counts.
    """

    phases: Mapping[str, int]
    channel_means: Mapping[str, Mapping[str, float]]
    tracer_fraction: Mapping[str, tuple[float, float, float]]
    tracer: str = "6Li"

    def plot(self, ax=None):
        """The tracer fraction of each phase with its standard error (grey: a phase flagged
        for too few Li counts), and each phase's volume fraction as bar labels."""
        ax = new_axes(ax)
        names = list(self.tracer_fraction)
        if not names:
            ax.text(0.5, 0.5, "no phase with Li counts", ha="center", va="center",
                    transform=ax.transAxes)
            return ax
        f = [self.tracer_fraction[n][0] for n in names]
        e = [self.tracer_fraction[n][1] for n in names]
        x = np.arange(len(names))
        flagged = {fld for d in self.diagnostics for fld in d.fields}
        colours = ["0.7" if f"{_key(self.tracer)}_{_key(n)}" in flagged else "tab:blue"
                   for n in names]
        ax.bar(x, f, yerr=e, capsize=3, color=colours)
        if "0.7" in colours:
            ax.text(0.01, 0.99, "grey: few Li counts (see warnings)", transform=ax.transAxes,
                    ha="left", va="top", fontsize=7)
        ax.set_xticks(x, names)
        ax.set_ylabel(f"{self.tracer} fraction")
        ax.set_ylim(0, max(f) * 1.25 if max(f) > 0 else 1)
        for i, n in enumerate(names):
            v = self.values.get(f"fraction_{_key(n)}")
            if v is not None:
                ax.annotate(f"{100 * v.value:.0f} vol%", (i, f[i]), xytext=(0, 4),
                            textcoords="offset points", ha="center", fontsize=7)
        ax.set_title(self.title)
        return ax


def _key(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _blocks(nz: int, ny: int, nx: int, minimum: int = 16) -> list[tuple[slice, slice, slice]]:
    t = 1
    while nz * t * t < minimum and t < 8:
        t += 1
    ys = np.linspace(0, ny, t + 1).astype(int)
    xs = np.linspace(0, nx, t + 1).astype(int)
    return [(slice(z, z + 1), slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1]))
            for z in range(nz) for i in range(t) for j in range(t)]


def phase_chemistry(stack: ImageStack, volume: Volume, *, tracer: str | None = "6Li",
                    other: str = "7Li", erode: int = 3) -> PhaseChemistry:
    """Per-phase volume fractions, contact areas, channel means and tracer fraction.

    Parameters
    ----------
    stack : ImageStack
        Fused counts (``(z, c, y, x)``).
    volume : Volume
        Its labels (from :func:`identify_phases`), same ``(z, y, x)`` shape.
    tracer, other : str or None
        Counts channels of the isotope fraction (``None``: skip).
    erode : int
        In-plane erosion of each phase mask before the isotope fraction, voxels.

    Returns
    -------
    PhaseChemistry
    """
    lab = np.asarray(volume.labels)
    if lab.shape != stack.shape:
        raise InputError(f"labels of shape {lab.shape} for a stack of {stack.shape}",
                         field="volume", expected="the labels of this stack")
    vz, vy, vx = volume.voxel_size
    phases = {k: v for k, v in volume.phases.items() if v != 0}
    counts = np.bincount(lab.ravel(), minlength=256)
    assigned = counts[1:].sum()
    values: dict[str, Value] = {}
    diagnostics: list[Diagnostic] = []
    n = lab.size
    # binomial error of a fraction of voxels (independent voxels: a lower bound)
    for name, v in phases.items():
        f = counts[v] / assigned if assigned else math.nan
        values[f"fraction_{_key(name)}"] = Value(
            f"fraction_{_key(name)}", float(f), float(math.sqrt(f * (1 - f) / assigned))
            if assigned else math.nan, "", f"φ({name})", valid=(0.0, 1.0))
    values["unassigned"] = Value("unassigned", float(counts[0] / n), 0.0, "",
                                 "unassigned voxels", valid=(0.0, 1.0))
    if counts[0] / n > 0.05:
        diagnostics.append(Diagnostic("data-quality", f"{100 * counts[0] / n:.1f} % of the "
                                      "voxels have no phase (no marker above the threshold)",
                                      fields=("unassigned",)))
    # contact areas: voxel faces between different labels, per axis
    faces = np.zeros((256, 256))
    for axis, area in ((0, vy * vx), (1, vz * vx), (2, vz * vy)):
        a = np.moveaxis(lab, axis, 0)
        lo, hi = a[:-1].ravel(), a[1:].ravel()
        diff = lo != hi
        if diff.any():
            pair = np.minimum(lo[diff], hi[diff]).astype(np.int64) * 256 + np.maximum(
                lo[diff], hi[diff])
            faces += np.bincount(pair, minlength=65536).reshape(256, 256) * area
    names = list(phases)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            la, lb = sorted((phases[a], phases[b]))
            values[f"contact_{_key(a)}_{_key(b)}"] = Value(
                f"contact_{_key(a)}_{_key(b)}", float(faces[la, lb]), 0.0, "m^2",
                f"A({a}|{b})")
    means = {name: {c: float(np.nanmean(np.asarray(stack.channel(c))[lab == v]))
                    if counts[v] else math.nan for c in stack.channels}
             for name, v in phases.items()}
    fractions: dict[str, tuple[float, float, float]] = {}
    if tracer is not None:
        t = np.nan_to_num(np.asarray(stack.channel(tracer), np.float64))
        o = np.nan_to_num(np.asarray(stack.channel(other), np.float64))
        blocks = _blocks(*lab.shape)
        structure = np.zeros((1, 3, 3), bool)
        structure[0] = ndi.generate_binary_structure(2, 1)
        density: dict[str, float] = {}
        for name, v in phases.items():
            mask = lab == v
            if erode > 0:
                mask = ndi.binary_erosion(mask, structure, iterations=int(erode),
                                          border_value=0)
            A, N = float(t[mask].sum()), float((t + o)[mask].sum())
            if N <= 0:
                diagnostics.append(Diagnostic(
                    "undetermined", f"no {tracer}/{other} counts in {name}: its {tracer} "
                    "fraction is undefined (not reported)", severity="warning",
                    fields=(f"{_key(tracer)}_{_key(name)}",)))
                continue
            f = A / N
            ab = np.array([t[b][mask[b]].sum() for b in blocks])
            nb = np.array([(t + o)[b][mask[b]].sum() for b in blocks])
            use = nb > 0
            k = int(use.sum())
            var_bin = max(f * (1 - f), 0.25 / N) / N
            var_blk = (k / (k - 1) * float(np.sum((ab[use] - f * nb[use]) ** 2)) / N ** 2
                       if k > 1 else 0.0)
            se = math.sqrt(max(var_bin, var_blk))
            fractions[name] = (f, se, N)
            density[name] = N / max(int(mask.sum()), 1)
            key = f"{_key(tracer)}_{_key(name)}"
            values[key] = Value(key, f, se, "", f"{tracer} fraction ({name})",
                                valid=(0.0, 1.0))
            if k < 8:
                diagnostics.append(Diagnostic(
                    "data-quality", f"the {tracer} fraction of {name} rests on {k} blocks: its "
                    "error is rough", fields=(key,)))
        if density:
            top = max(density.values())
            for name, d in density.items():
                if d < 0.05 * top:
                    diagnostics.append(Diagnostic(
                        "data-quality", f"{name} holds {d:.2g} Li counts per voxel, under 5 % "
                        f"of the richest phase's: its {tracer} fraction may come from the "
                        "neighbouring phases (probe blur, misregistration)",
                        fields=(f"{_key(tracer)}_{_key(name)}",)))
    prov = Provenance.build("imaging.phase_chemistry", [], {
        "tracer": tracer, "other": other, "erode": erode, "phases": dict(phases)})
    return PhaseChemistry(values=values, provenance=prov, title="phase chemistry",
                          diagnostics=tuple(diagnostics), phases=phases, channel_means=means,
                          tracer_fraction=fractions, tracer=tracer or "")
