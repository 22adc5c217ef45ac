"""Trainable segmentation of image stacks from sparse labels: the Ilastik pixel-classification
workflow, in bounded memory and without a GUI.

1. **Labels**: a volume of the stack's shape, ``0`` = unlabelled, ``1, 2, …`` = the classes a
   user painted (a few strokes per phase: 0.1-1 % of the voxels is plenty). ``phases`` names
   them (``{"pore": 1, "solid": 2}``).
2. **Training** (:func:`train_segmenter`): the features of :mod:`~ionscale.imaging.features`
   are computed block by block and kept only at the labelled voxels; a
   :class:`~ionscale.imaging.forest.RandomForest` is trained on them (its out-of-bag accuracy
   estimates the voxel accuracy on unseen voxels of the painted kind).
3. **Prediction** (:meth:`Segmenter.predict`, :func:`segment_stack`): features block by block
   (``chunk`` slices, chosen from ``max_memory``), each block classified and dropped. Peak memory:
   the stack, one byte per voxel of output (two with the confidence), and one feature block.

The output is a :class:`~ionscale.microstructure.volume.Volume` (labels = the class numbers,
``phases`` = their names, voxel size ``(slice thickness, dy, dx)`` and the stack's origin),
which every :mod:`ionscale.microstructure` metric takes as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..microstructure.volume import Volume, as_volume
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .features import (
    FeatureSpec,
    _as_volume_array,
    chunk_for_memory,
    feature_names,
    iter_feature_blocks,
)
from .forest import RandomForest
from .image import ImageStack

__all__ = ["SegmentationResult", "Segmenter", "segment_stack", "train_segmenter"]

#: Default memory for one feature block and its prediction, bytes.
DEFAULT_MEMORY = 1 << 30


def _check_labels(labels, shape, phases, source=None) -> tuple[np.ndarray, dict[str, int]]:
    """The label array (checked against the stack's shape) and the named classes."""
    vol_phases = {}
    if isinstance(labels, Volume):
        vol_phases = dict(labels.phases)
        source = labels.source or source
        labels = labels.labels
    lab = np.asarray(labels)
    if lab.shape != tuple(shape):
        raise InputError(f"labels of shape {lab.shape} for a stack of shape {tuple(shape)}",
                         file=source, field="labels",
                         expected="a label volume of the stack's shape (paint the labels on the "
                         "preprocessed stack; 0 = unlabelled)")
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or not np.all(lab == np.round(lab)):
            raise InputError("labels are not whole numbers", file=source, field="labels",
                             expected="integer class numbers (0 = unlabelled)")
        lab = lab.astype(np.int64)
    if lab.dtype.kind not in "iub":
        raise InputError(f"labels of type {lab.dtype}", file=source, field="labels",
                         expected="integer class numbers (0 = unlabelled)")
    if lab.dtype.kind == "i" and lab.size and lab.min() < 0:
        raise InputError("negative labels", file=source, field="labels",
                         expected="class numbers >= 0 (0 = unlabelled)")
    counts = np.bincount(lab.ravel().astype(np.int64)) if lab.size else np.zeros(1, int)
    present = {int(k): int(c) for k, c in enumerate(counts) if k > 0 and c > 0}
    names = dict(phases) if phases else {k: v for k, v in vol_phases.items() if int(v) > 0}
    out: dict[str, int] = {}
    for name, value in names.items():
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise InputError(f"phase {name!r} = {value!r}", file=source, field="phases",
                             expected="an integer class number per phase name") from None
        if v <= 0:
            raise InputError(f"phase {name!r} = {v}", file=source, field="phases",
                             expected="class numbers >= 1 (0 means unlabelled)")
        if v not in present:
            raise InputError(f"phase {name!r} (class {v}) has no labelled voxel", file=source,
                             field=f"phases.{name}",
                             expected="labels that paint every named class "
                             f"(classes painted: {sorted(present) or 'none'})")
        out[str(name)] = v
    for v in sorted(present):
        if v not in out.values():
            out[f"class_{v}"] = v
    if len(out) < 2:
        raise InputError(f"only {len(present)} class painted ({sorted(present)})", file=source,
                         field="labels", expected="labelled voxels of at least two classes")
    return lab, out


@dataclass(frozen=True)
class Segmenter:
    """A trained voxel classifier: features, forest and phase names.

    Attributes
    ----------
    forest : RandomForest or object
        The classifier (scikit-learn's with ``classifier="sklearn"``).
    spec : FeatureSpec
    phases : dict of str to int
        Class names and numbers.
    channels : tuple of str
        Channels the features were computed on (the stack to segment must have them).
    n_training : dict of str to int
        Labelled voxels per phase.
    oob_accuracy : float
        Out-of-bag accuracy on the labelled voxels.
    """

    forest: Any
    spec: FeatureSpec
    phases: Mapping[str, int]
    channels: tuple[str, ...]
    n_training: Mapping[str, int]
    oob_accuracy: float
    feature_names: tuple[str, ...] = ()

    def predict(self, stack, *, chunk: int | None = None, max_memory: float = DEFAULT_MEMORY,
                confidence: bool = False, progress: bool = False):
        """Labels of every voxel of ``stack``, block by block.

        Parameters
        ----------
        stack : ImageStack or (z, y, x) array
        chunk : int, optional
            Slices per feature block (default: the most that fit ``max_memory``).
        max_memory : float
            Bytes for one feature block and its prediction.
        confidence : bool
            Also return the winning class probability per voxel (uint8, 0-255).

        Returns
        -------
        labels : uint8 (or uint16) ndarray (z, y, x)
        confidence : uint8 ndarray, only with ``confidence=True``
        probability_sums : ndarray (C,)
            Sum over voxels of each class's probability (same order as ``phases``).
        """
        from ._progress import progress_bar

        arr, vs, chans = _as_volume_array(stack)
        if len(chans) != len(self.channels):
            raise InputError(f"a stack of {len(chans)} channel(s)", field="stack",
                             expected=f"the {len(self.channels)} channel(s) the segmenter was "
                             f"trained on ({', '.join(self.channels)})")
        nc, nz, ny, nx = arr.shape
        classes = np.asarray(sorted(self.phases.values()))
        dtype = np.uint8 if classes.max() < 256 else np.uint16
        out = np.empty((nz, ny, nx), dtype)
        conf = np.empty((nz, ny, nx), np.uint8) if confidence else None
        if chunk is None:
            chunk = chunk_for_memory((nz, ny, nx), self.spec, max_memory, nc,
                                     extra_per_slice=ny * nx * 8.0)
        psum = np.zeros(classes.size)
        bar = progress_bar(total=nz, desc="segment", unit="slice", enabled=progress)
        for z0, z1, block in iter_feature_blocks(stack, self.spec, chunk=chunk):
            X = block.reshape(block.shape[0], -1)
            if isinstance(self.forest, RandomForest):
                lab, cf, ps = self.forest.predict(X, columns=True, confidence=True)
            else:
                proba = self.forest.predict_proba(X.T)
                best = np.argmax(proba, axis=1)
                lab = self.forest.classes_[best]
                cf = proba[np.arange(best.size), best]
                ps = proba.sum(axis=0)
            out[z0:z1] = lab.reshape(z1 - z0, ny, nx)
            if conf is not None:
                conf[z0:z1] = np.clip(np.round(cf * 255), 0, 255).astype(np.uint8).reshape(
                    z1 - z0, ny, nx)
            psum += ps
            bar.update(z1 - z0)
        bar.close()
        return (out, conf, psum) if confidence else (out, psum)


def train_segmenter(stack, labels, *, phases: Mapping[str, int] | None = None,
                    spec: FeatureSpec | None = None, sigmas=None, n_trees: int = 64,
                    max_depth: int = 16, class_weight: str | None = None,
                    classifier: str = "forest", max_memory: float = DEFAULT_MEMORY, seed=0,
                    progress: bool = False) -> Segmenter:
    """Train a voxel classifier from sparse labels.

    Parameters
    ----------
    stack : ImageStack or (z, y, x) array
        Preprocessed grey levels (one or more channels).
    labels : Volume or integer array of the stack's shape
        ``0`` = unlabelled; class numbers elsewhere.
    phases : dict of str to int, optional
        Names of the classes (``{"pore": 1, "solid": 2}``); default the labels Volume's
        phases, and ``class_<k>`` for unnamed ones. A named class without a labelled voxel is
        an error.
    spec : FeatureSpec, optional
        Features (default: :data:`~ionscale.imaging.features.DEFAULT_SIGMAS`, all families).
    sigmas : sequence of float, optional
        Shortcut for ``FeatureSpec(sigmas=...)``.
    n_trees, max_depth, class_weight
        See :meth:`RandomForest.fit`.
    classifier : {"forest", "sklearn"}
        ionscale's forest, or scikit-learn's ``RandomForestClassifier`` if installed.
    max_memory : float
        Bytes for one feature block.
    seed : int
        Seed of the forest.

    Returns
    -------
    Segmenter
    """
    from ._progress import progress_bar

    if spec is None:
        spec = FeatureSpec() if sigmas is None else FeatureSpec(sigmas=tuple(sigmas))
    arr, vs, chans = _as_volume_array(stack)
    nc, nz, ny, nx = arr.shape
    lab, names = _check_labels(labels, (nz, ny, nx), phases,
                               getattr(stack, "source", None))
    chunk = chunk_for_memory((nz, ny, nx), spec, max_memory, nc)
    rows, ys = [], []
    has = np.asarray([(lab[z] > 0).any() for z in range(nz)])
    bar = progress_bar(total=nz, desc="features (training)", unit="slice", enabled=progress)
    # only blocks holding labels are computed
    for z0 in range(0, nz, chunk):
        z1 = min(nz, z0 + chunk)
        if not has[z0:z1].any():
            bar.update(z1 - z0)
            continue
        for b0, b1, block in iter_feature_blocks(stack, spec, chunk=z1 - z0, start=z0,
                                                 stop=z1):
            m = lab[b0:b1] > 0
            rows.append(block[:, m].T.copy())
            ys.append(lab[b0:b1][m])
        bar.update(z1 - z0)
    bar.close()
    X = np.concatenate(rows)
    y = np.concatenate(ys)
    keep = np.isin(y, list(names.values()))
    X, y = X[keep], y[keep]
    if classifier == "forest":
        model = RandomForest.fit(X, y, n_trees=n_trees, max_depth=max_depth,
                                 class_weight=class_weight, seed=seed)
        oob = model.oob_accuracy
    elif classifier == "sklearn":
        try:
            from sklearn.ensemble import RandomForestClassifier
        except ImportError:
            raise InputError("scikit-learn is not installed", field="classifier",
                             expected="classifier='forest' (ionscale's own), or install "
                             "scikit-learn") from None
        model = RandomForestClassifier(n_estimators=n_trees, max_depth=max_depth,
                                       class_weight=class_weight, n_jobs=-1, oob_score=True,
                                       random_state=int(np.random.default_rng(seed).integers(
                                           2**31)))
        model.fit(X, y)
        oob = float(model.oob_score_)
    else:
        raise InputError(f"classifier {classifier!r}", field="classifier",
                         expected="'forest' or 'sklearn'")
    counts = {name: int(np.sum(y == v)) for name, v in names.items()}
    return Segmenter(forest=model, spec=spec, phases=names, channels=tuple(chans),
                     n_training=counts, oob_accuracy=float(oob),
                     feature_names=tuple(feature_names(spec, chans if len(chans) > 1 else
                                                       ("",))))


@dataclass(frozen=True, kw_only=True)
class SegmentationResult(Result):
    """A segmented stack: the labelled Volume, phase fractions and training quality.

    Attributes
    ----------
    volume : Volume
        The labels (class numbers), phases, voxel size and origin.
    confidence : ndarray or None
        Winning class probability per voxel, uint8 (0-255).
    segmenter : Segmenter
    overlay : tuple (image, labels)
        The middle slice and its labels, for :meth:`plot`.
    output : str or None
        File the volume was written to.
    """

    volume: Volume
    confidence: np.ndarray | None = None
    segmenter: Segmenter | None = None
    overlay: tuple = field(default=(), repr=False)
    output: str | None = None

    def _extra_dict(self) -> dict[str, Any]:
        v = self.volume
        seg = self.segmenter
        return {"shape": list(v.shape), "voxel_size_m": list(v.voxel_size),
                "origin_m": list(v.origin), "phases": dict(v.phases), "output": self.output,
                "n_training": dict(seg.n_training) if seg else None,
                "sigmas": list(seg.spec.sigmas) if seg else None,
                "n_features": len(seg.feature_names) if seg else None}

    def plot(self, ax=None):
        """Segmentation overlay: the middle slice in grey, each phase in colour."""
        import matplotlib.colors as mcolors

        ax = new_axes(ax, figsize=(5.5, 4.2))
        if not self.overlay:
            return super().plot(ax)
        img, lab = self.overlay
        dy, dx = self.volume.voxel_size[1:]
        extent = (0, img.shape[1] * dx * 1e6, img.shape[0] * dy * 1e6, 0)
        ax.imshow(img, cmap="gray", extent=extent, interpolation="nearest")
        names = sorted(self.volume.phases.items(), key=lambda kv: kv[1])
        colours = ["tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan"]
        for (name, value), colour in zip(names, colours, strict=False):
            mask = np.ma.masked_where(lab != value, np.ones_like(lab, float))
            ax.imshow(mask, cmap=mcolors.ListedColormap([colour]), alpha=0.35, extent=extent,
                      interpolation="nearest", vmin=0, vmax=1)
            frac = self.values.get(f"fraction_{name}")
            ax.plot([], [], "s", color=colour, alpha=0.6,
                    label=f"{name}: {100 * frac.value:.1f} %" if frac else name)
        ax.legend(fontsize=8, loc="upper right", framealpha=0.8)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        ax.set_title(self.title or "segmentation")
        return ax


def segment_stack(stack, labels=None, *, segmenter: Segmenter | None = None,
                  phases: Mapping[str, int] | None = None, spec: FeatureSpec | None = None,
                  sigmas=None, n_trees: int = 64, max_depth: int = 16,
                  class_weight: str | None = None, classifier: str = "forest",
                  max_memory: float = DEFAULT_MEMORY, confidence: bool = False, seed=0,
                  output=None, overwrite: bool = False, progress: bool = False
                  ) -> SegmentationResult:
    """Segment a stack: train on sparse ``labels`` (or use a trained ``segmenter``) and
    classify every voxel.

    Parameters
    ----------
    stack : ImageStack
        Preprocessed stack with its pixel size and slice thickness (an array gives a Volume in
        voxel units of 1 m: give an ImageStack).
    labels : Volume or int array, optional
        Sparse training labels of the stack's shape (0 = unlabelled).
    segmenter : Segmenter, optional
        A trained segmenter (then ``labels`` are not needed).
    output : path, optional
        Write the labelled volume there (:func:`ionscale.io.volume.write_volume`: TIFF,
        HDF5, zarr by extension).
    confidence : bool
        Keep the per-voxel confidence (uint8).
    Other parameters: see :func:`train_segmenter`.

    Returns
    -------
    SegmentationResult
        ``volume`` (labels, phases, voxel size), one ``fraction_<phase>`` value per phase
        (error: the difference between the hard-label fraction and the mean class
        probability, a measure of the classifier's uncertainty), the out-of-bag accuracy and
        ``plot()`` (overlay).
    """
    if segmenter is None:
        if labels is None:
            raise InputError("neither training labels nor a trained segmenter", field="labels",
                             expected="labels (0 = unlabelled) or segmenter=")
        segmenter = train_segmenter(stack, labels, phases=phases, spec=spec, sigmas=sigmas,
                                    n_trees=n_trees, max_depth=max_depth,
                                    class_weight=class_weight, classifier=classifier,
                                    max_memory=max_memory, seed=seed, progress=progress)
    res = segmenter.predict(stack, max_memory=max_memory, confidence=confidence,
                            progress=progress)
    lab, conf, psum = res if confidence else (res[0], None, res[1])
    n = lab.size
    classes = sorted(segmenter.phases.items(), key=lambda kv: kv[1])
    counts = np.bincount(lab.ravel(), minlength=max(v for _, v in classes) + 1)
    values: dict[str, Value] = {}
    diagnostics = []
    for i, (name, v) in enumerate(classes):
        hard = counts[v] / n
        soft = psum[i] / n
        values[f"fraction_{name}"] = Value(f"fraction_{name}", float(hard),
                                           float(abs(hard - soft)), "", f"φ({name})",
                                           valid=(0.0, 1.0))
        if counts[v] == 0:
            diagnostics.append(Diagnostic("data-quality", f"no voxel was classified as {name}",
                                          fields=(f"fraction_{name}",)))
    oob = segmenter.oob_accuracy
    n_train = sum(segmenter.n_training.values())
    values["oob_accuracy"] = Value("oob_accuracy", float(oob),
                                   float(math.sqrt(max(oob * (1 - oob), 0) / max(n_train, 1))),
                                   "", "out-of-bag accuracy", valid=(0.0, 1.0))
    if oob < 0.9:
        diagnostics.append(Diagnostic(
            "data-quality", f"the classifier's out-of-bag accuracy is {100 * oob:.1f} % on the "
            "labelled voxels: add labels, or check the preprocessing", fields=("oob_accuracy",)))
    if isinstance(stack, ImageStack):
        vs = stack.voxel_size
        origin = stack.origin
        source = stack.source
    else:
        raise InputError("a plain array has no voxel size", field="stack",
                         expected="an ImageStack with pixel size and slice thickness")
    volume = as_volume(lab, vs, phases=dict(segmenter.phases), origin=origin,
                       metadata={"segmentation": "ionscale random forest" if isinstance(
                           segmenter.forest, RandomForest) else "scikit-learn random forest",
                           "sigmas": list(segmenter.spec.sigmas),
                           "oob_accuracy": oob, "stack": source})
    arr, _, _ = _as_volume_array(stack)
    mid = arr.shape[1] // 2
    overlay = (np.asarray(arr[0, mid], np.float32), lab[mid].copy())
    written = None
    if output is not None:
        from ..io.volume import write_volume

        write_volume(volume, output, overwrite=overwrite)
        written = str(output)
    prov = Provenance.build("imaging.segment", [source] if source and _isfile(source) else [],
                            {"phases": dict(segmenter.phases),
                             "sigmas": list(segmenter.spec.sigmas),
                             "n_training": dict(segmenter.n_training),
                             "n_trees": getattr(segmenter.forest, "parameters", {}).get(
                                 "n_trees", n_trees), "seed": seed, "output": written})
    return SegmentationResult(values=values, provenance=prov, title="trainable segmentation",
                              diagnostics=tuple(diagnostics), volume=volume, confidence=conf,
                              segmenter=segmenter, overlay=overlay, output=written)


def _isfile(path) -> bool:
    import os

    return bool(path) and os.path.isfile(str(path))
