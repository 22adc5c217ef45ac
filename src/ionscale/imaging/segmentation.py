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
   the stack (or one block of it, for a lazily read HDF5/zarr stack), two bytes per voxel of
   output (labels and confidence), and one feature block.
4. **Uncertainty**: each phase fraction comes with a standard uncertainty from the forest's
   out-of-bag misclassification rates and the spatial clustering of the errors
   (:func:`fraction_uncertainty`; on the synthetic two-phase test it is 1-4 times the actual
   error of the porosity).
5. **Saving** (:meth:`Segmenter.save`, :meth:`Segmenter.load`): a trained model goes to an
   ``.npz`` file (forest arrays and a JSON description; no pickle) that another process
   loads and applies to other stacks (``segment_stack(stack, segmenter=...)``).

The output is a :class:`~ionscale.microstructure.volume.Volume` (labels = the class numbers,
``phases`` = their names, voxel size ``(slice thickness, dy, dx)`` and the stack's origin),
which every :mod:`ionscale.microstructure` metric takes as it is.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
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
from .plots import centre_sections, confidence_counts

__all__ = ["SegmentationResult", "Segmenter", "fraction_uncertainty", "segment_stack",
           "train_segmenter"]

#: Default memory for one feature block and its prediction, bytes.
DEFAULT_MEMORY = 1 << 30
#: Name and version of the saved-model format (:meth:`Segmenter.save`).
MODEL_FORMAT = "ionscale-segmenter"
MODEL_VERSION = 1


def _children_after_parents(forest: RandomForest) -> bool:
    """Every split node's children come after it (as :meth:`RandomForest.fit` stores them),
    so that a prediction walk always ends: a guard on loaded files."""
    i = np.arange(forest.feature.size)
    inner = forest.feature >= 0
    return bool(np.all(forest.left[inner] > i[inner]) and np.all(forest.right[inner] > i[inner])
                and np.all(forest.left[~inner] == -1) and np.all(forest.right[~inner] == -1))


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

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write the trained segmenter to an ``.npz`` file (no pickle).

        The file holds the forest's node arrays (``feature``, ``threshold``, ``left``,
        ``right``, ``value``, ``roots``, ``classes``, ``oob_confusion``) and one JSON string
        (``meta``) with the format name and version, the ionscale version, the feature
        specification, the phase names, the channels, the feature names and the training
        counts. :meth:`load` reads it back in any process.

        Parameters
        ----------
        path : str or os.PathLike
            Output file; ``.npz`` is appended when missing.
        overwrite : bool
            Replace an existing file.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        InputError
            A scikit-learn classifier (only ionscale's forest is saved: scikit-learn models
            need pickle), or an existing file without ``overwrite``.
        """
        import json
        import os

        from .. import __version__

        out = Path(path)
        if out.suffix.lower() != ".npz":
            out = out.with_name(out.name + ".npz")
        if not isinstance(self.forest, RandomForest):
            raise InputError("only ionscale's own forest can be saved", file=str(out),
                             field="classifier", expected="a segmenter trained with "
                             "classifier='forest' (scikit-learn models need pickle)")
        if out.exists() and not overwrite:
            raise InputError("file exists", file=str(out), field="output",
                             expected="a new file name, or overwrite=True")
        f = self.forest
        meta = {"format": MODEL_FORMAT, "format_version": MODEL_VERSION,
                "ionscale_version": __version__,
                "spec": {k: (list(v) if k == "sigmas" else bool(v))
                         for k, v in dataclasses.asdict(self.spec).items()},
                "phases": {str(k): int(v) for k, v in self.phases.items()},
                "channels": list(self.channels),
                "n_training": {str(k): int(v) for k, v in self.n_training.items()},
                "oob_accuracy": float(self.oob_accuracy),
                "feature_names": list(self.feature_names),
                "forest": {"n_features": int(f.n_features),
                           "oob_accuracy": float(f.oob_accuracy),
                           "parameters": {k: v for k, v in f.parameters.items()}}}
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.tmp{os.getpid()}.npz")
        try:
            np.savez_compressed(tmp, meta=np.asarray(json.dumps(meta)), classes=f.classes,
                                feature=f.feature, threshold=f.threshold, left=f.left,
                                right=f.right, value=f.value, roots=f.roots,
                                oob_confusion=f.oob_confusion)
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                tmp.unlink()
        return out

    @classmethod
    def load(cls, path) -> Segmenter:
        """Read a segmenter written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            An ``.npz`` file from :meth:`save`.

        Returns
        -------
        Segmenter
            Ready for :meth:`predict` and :func:`segment_stack` (``segmenter=``).

        Raises
        ------
        InputError
            Missing file, not an ``.npz`` archive, an archive that is not an ionscale
            segmenter, a newer model format, or inconsistent arrays; the message names the
            file and what was expected.
        """
        import json
        import zipfile

        src = str(path)
        what = (f"an ionscale segmenter model (.npz written by Segmenter.save, format "
                f"version <= {MODEL_VERSION})")
        try:
            z = np.load(src, allow_pickle=False)
            if not hasattr(z, "files"):
                raise InputError("a single array, not an archive", file=src, field="path",
                                 expected=what)
            with z:
                arrays = {k: z[k] for k in z.files}
        except InputError:
            raise
        except FileNotFoundError:
            raise InputError("file not found", file=src, field="path", expected=what) from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read as .npz ({type(exc).__name__})", file=src,
                             field="path", expected=what) from None
        need = ("meta", "classes", "feature", "threshold", "left", "right", "value", "roots",
                "oob_confusion")
        missing = [k for k in need if k not in arrays]
        if missing:
            raise InputError(f"arrays {', '.join(missing)} missing", file=src, field="path",
                             expected=what)
        try:
            meta = json.loads(str(arrays["meta"]))
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
            raise InputError("not an ionscale segmenter", file=src, field="meta",
                             expected=what)
        ver = meta.get("format_version")
        if not isinstance(ver, int) or ver > MODEL_VERSION:
            raise InputError(f"model format version {ver!r} (written by ionscale "
                             f"{meta.get('ionscale_version')})", file=src,
                             field="format_version", expected=what + "; update ionscale")
        try:
            spec_d = dict(meta["spec"])
            unknown = set(spec_d) - {f.name for f in dataclasses.fields(FeatureSpec)}
            if unknown:
                raise InputError(f"unknown feature families {sorted(unknown)} (written by "
                                 f"ionscale {meta.get('ionscale_version')})", file=src,
                                 field="spec", expected=what + "; update ionscale")
            spec = FeatureSpec(**{k: (tuple(v) if k == "sigmas" else bool(v))
                                  for k, v in spec_d.items()})
            fm = meta["forest"]
            forest = RandomForest(
                classes=arrays["classes"], n_features=int(fm["n_features"]),
                feature=arrays["feature"].astype(np.int32),
                threshold=arrays["threshold"].astype(np.float32),
                left=arrays["left"].astype(np.int32), right=arrays["right"].astype(np.int32),
                value=arrays["value"].astype(np.float32),
                roots=arrays["roots"].astype(np.int64),
                oob_accuracy=float(fm["oob_accuracy"]),
                oob_confusion=arrays["oob_confusion"].astype(np.int64),
                parameters=dict(fm["parameters"]))
            seg = cls(forest=forest, spec=spec,
                      phases={str(k): int(v) for k, v in meta["phases"].items()},
                      channels=tuple(str(c) for c in meta["channels"]),
                      n_training={str(k): int(v) for k, v in meta["n_training"].items()},
                      oob_accuracy=float(meta["oob_accuracy"]),
                      feature_names=tuple(str(n) for n in meta["feature_names"]))
        except InputError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"incomplete model description ({type(exc).__name__}: "
                             f"{str(exc)[:120]})", file=src, field="meta",
                             expected=what) from None
        n = forest.feature.size
        C = forest.classes.size
        names = feature_names(spec, seg.channels if len(seg.channels) > 1 else ("",))
        ok = (forest.threshold.shape == (n,) and forest.left.shape == (n,)
              and forest.right.shape == (n,) and forest.value.shape == (n, C)
              and forest.roots.ndim == 1 and forest.roots.size >= 1
              and np.all((forest.roots >= 0) & (forest.roots < n))
              and np.all((forest.left >= -1) & (forest.left < n))
              and np.all((forest.right >= -1) & (forest.right < n))
              and np.all(forest.feature < forest.n_features)
              and _children_after_parents(forest)
              and forest.n_features == len(names)
              and sorted(int(c) for c in forest.classes) == sorted(seg.phases.values())
              and (not seg.feature_names or list(seg.feature_names) == names))
        if not ok:
            raise InputError("inconsistent forest arrays or feature list", file=src,
                             field="forest", expected=what)
        return seg

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
        dec = np.nan_to_num(np.asarray(model.oob_decision_function_, np.float64))
        seen = dec.sum(axis=1) > 0
        ti = np.searchsorted(model.classes_, y[seen])
        cm = np.zeros((model.classes_.size, model.classes_.size), np.int64)
        np.add.at(cm, (ti, np.argmax(dec[seen], axis=1)), 1)
        model.ionscale_oob_confusion_ = cm
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
    sections : dict
        Grey levels of the ``xy``, ``xz`` and ``yz`` sections through the stack's centre
        (:func:`~ionscale.imaging.plots.centre_sections`), for :meth:`plot`.
    confidence_counts : ndarray (256,) or None
        Voxels per uint8 confidence level (kept without ``confidence``), for :meth:`plot`.
    output : str or None
        File the volume was written to.
    uncertainty : dict
        The terms of each fraction's error (:func:`fraction_uncertainty`): per phase
        ``bias``, ``sigma_rates``, ``sigma_spatial`` and ``soft``, and
        ``correlation_volume_voxels``.
    """

    volume: Volume
    confidence: np.ndarray | None = None
    segmenter: Segmenter | None = None
    overlay: tuple = field(default=(), repr=False)
    output: str | None = None
    uncertainty: dict = field(default_factory=dict)
    sections: dict = field(default_factory=dict, repr=False)
    confidence_counts: np.ndarray | None = field(default=None, repr=False)

    def _extra_dict(self) -> dict[str, Any]:
        v = self.volume
        seg = self.segmenter
        return {"shape": list(v.shape), "voxel_size_m": list(v.voxel_size),
                "origin_m": list(v.origin), "phases": dict(v.phases), "output": self.output,
                "n_training": dict(seg.n_training) if seg else None,
                "sigmas": list(seg.spec.sigmas) if seg else None,
                "n_features": len(seg.feature_names) if seg else None,
                "fraction_uncertainty": dict(self.uncertainty)}

    def plot(self, ax=None):
        """Orthogonal sections (xy, xz, yz through the volume centre, µm) in grey with each
        phase in colour, and the histogram of the per-voxel winning-class probability
        (fraction of voxels below 0.6 and 0.8 annotated), on a new double-column figure;
        returns the xy Axes (``.figure`` holds every panel). With ``ax`` (one Axes): the
        overlay of the middle slice only."""
        if ax is not None:
            return self._plot_overlay(ax)
        from ..report.style import new_figure
        from .plots import (
            PHASE_COLOURS,
            centre_cuts,
            draw_confidence_histogram,
            draw_section,
            section_extent,
            width_ratios,
        )

        v = self.volume
        labels = np.asarray(v.labels)
        shape, vs = labels.shape, tuple(v.voxel_size)
        counts = self.confidence_counts
        if counts is None and self.confidence is not None:
            from .plots import confidence_counts

            counts = confidence_counts(self.confidence)
        names = ("xy", "xz", "yz")
        extents = [section_extent(n, shape, vs) for n in names]
        ratios = width_ratios(extents)
        if counts is not None:
            ratios.append(1.25)
        fig, axes = new_figure("double", 0.36, ncols=len(ratios),
                               gridspec_kw={"width_ratios": ratios})
        nz, ny, nx = shape
        lab = {"xy": labels[nz // 2], "xz": labels[:, ny // 2, :], "yz": labels[:, :, nx // 2]}
        cuts = centre_cuts(shape, vs)
        where = {"xy": f"z = {cuts['z']:.2f} µm", "xz": f"y = {cuts['y']:.2f} µm",
                 "yz": f"x = {cuts['x']:.2f} µm"}
        for a, n, e in zip(axes, names, extents, strict=False):
            img = self.sections.get(n)
            if img is None and n == "xy" and self.overlay:
                img = self.overlay[0]
            draw_section(a, n, img, e, labels=lab[n], phases=v.phases,
                         title=f"{n} ({where[n]})",
                         cuts=cuts)
        if counts is not None:
            draw_confidence_histogram(axes[-1], counts, n_classes=len(v.phases))
        handles = []
        import matplotlib.patches as mpatches

        for (name, _), colour in zip(sorted(v.phases.items(), key=lambda kv: kv[1]),
                                     PHASE_COLOURS, strict=False):
            frac = self.values.get(f"fraction_{name}")
            text = name
            if frac is not None:
                text = f"{name}: {100 * frac.value:.1f} ± {100 * frac.error:.1f} %" \
                    if np.isfinite(frac.error) else f"{name}: {100 * frac.value:.1f} %"
            handles.append(mpatches.Patch(color=colour, alpha=0.6, label=text))
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
        fig.suptitle(self.title or "segmentation")
        return axes[0]

    def _plot_overlay(self, ax=None):
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


def _correlation_length(field: np.ndarray, axis: int) -> float:
    """Integral correlation length (voxels) of ``field`` along ``axis``: ``1 + 2 Σ ρ(k)``
    over the lags before the autocorrelation ``ρ`` first reaches zero (1 for white noise)."""
    x = np.moveaxis(np.asarray(field, np.float64), axis, -1)
    x = x - x.mean()
    n = x.shape[-1]
    if n < 2:
        return 1.0
    spec = np.fft.rfft(x, 2 * n, axis=-1)
    ac = np.fft.irfft(spec.real ** 2 + spec.imag ** 2, 2 * n, axis=-1)[..., :n]
    ac = ac.reshape(-1, n).sum(axis=0) / np.arange(n, 0, -1)
    if not ac[0] > 0:
        return 1.0
    rho = ac / ac[0]
    below = np.flatnonzero(rho <= 0)
    k = int(below[0]) if below.size else n
    return float(max(1.0, 1.0 + 2.0 * rho[1:k].sum()))


def _correlation_volume(uncertainty: np.ndarray, max_side: int = 128) -> float:
    """Correlation volume (voxels) of the per-voxel uncertainty ``1 - confidence``: the
    product of the integral correlation lengths along z, y and x, on a central block of at
    most ``max_side`` voxels per axis (bounded memory)."""
    sl = tuple(slice(max(0, (n - max_side) // 2), max(0, (n - max_side) // 2) + max_side)
               for n in uncertainty.shape)
    block = np.asarray(uncertainty[sl], np.float32)
    return float(np.prod([_correlation_length(block, a) for a in range(3)]))


def _oob_confusion(segmenter: Segmenter) -> np.ndarray | None:
    """Out-of-bag confusion counts ``(C, C)`` (rows true, columns predicted, classes in
    increasing order), or None when the classifier has none."""
    f = segmenter.forest
    conf = f.oob_confusion if isinstance(f, RandomForest) else getattr(
        f, "ionscale_oob_confusion_", None)
    if conf is None:
        return None
    conf = np.asarray(conf, np.float64)
    C = len(segmenter.phases)
    if conf.shape != (C, C) or conf.sum() <= 0:
        return None
    return conf


def fraction_uncertainty(hard: np.ndarray, confusion: np.ndarray | None, n_voxels: int,
                         correlation_volume: float = 1.0,
                         soft: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Standard uncertainty of volume fractions measured by counting classified voxels.

    The hard-label fraction ``q_k`` of class ``k`` differs from the true fraction ``φ_k`` by
    the net misclassification ``E_k = Σ_i φ_i R_ik - φ_k``, with ``R_ij`` the probability
    that a voxel of class ``i`` is labelled ``j``. ``R`` is estimated from the out-of-bag
    confusion counts ``n_ij`` of the forest (``R_ij = (n_ij + ½) / (n_i + C/2)``, a
    Jeffreys prior, so that an error-free training set still has a rate uncertainty), with
    ``φ ≈ q``. The uncertainty combines, in quadrature:

    * ``bias``: ``Ê_k``, the expected net misclassification (not subtracted from the
      fraction: with the few hundred labels of a sparse training set the estimate is too
      noisy to correct with, but it is an error of that size);
    * ``sigma_rates``: the binomial standard error of ``Ê_k`` from the finite number of
      labelled voxels per class, ``Σ_i q_i² R_ik (1 - R_ik) / n_i``;
    * ``sigma_spatial``: the fluctuation of the number of misclassified voxels, which come
      in clusters: ``√(V_c r (1 - r) / N)`` with ``r`` the overall error rate and ``V_c``
      the correlation volume of the classifier's uncertainty (an upper bound on that of the
      errors, so this term is conservative);
    * ``soft``: ``|q_k - p̄_k|``, the hard-label fraction against the mean class probability.

    Parameters
    ----------
    hard : ndarray (C,)
        Hard-label fractions, classes in increasing order of their numbers (dimensionless).
    confusion : ndarray (C, C) or None
        Out-of-bag confusion counts, rows true class, columns predicted; None: only the
        spatial and soft terms are available (the rate terms are then taken from the mean
        uncertainty ``1 - q`` of a uniform error rate of ``|q - p̄|``).
    n_voxels : int
        Voxels classified, ``N``.
    correlation_volume : float
        ``V_c``, voxels (1: independent voxels).
    soft : ndarray (C,), optional
        Mean class probabilities.

    Returns
    -------
    dict of str to ndarray (C,)
        ``sigma`` (the total standard uncertainty), ``bias``, ``sigma_rates``,
        ``sigma_spatial`` and ``soft``, all as fractions (dimensionless).
    """
    q = np.asarray(hard, np.float64)
    C = q.size
    soft_term = np.abs(q - np.asarray(soft, np.float64)) if soft is not None else np.zeros(C)
    if confusion is not None:
        n_ij = np.asarray(confusion, np.float64)
        n_i = n_ij.sum(axis=1)
        R = (n_ij + 0.5) / (n_i[:, None] + 0.5 * C)
        bias = q @ R - q
        var_rates = ((q ** 2 / np.maximum(n_i, 1.0))[:, None] * R * (1 - R)).sum(axis=0)
        r = float(np.clip(np.sum(q * (1 - np.diag(R))), 0.0, 1.0))
    else:
        bias = np.zeros(C)
        var_rates = np.zeros(C)
        r = float(np.clip(soft_term.max(initial=0.0), 0.0, 1.0))
    var_spatial = np.full(C, max(float(correlation_volume), 1.0) * r * (1 - r)
                          / max(int(n_voxels), 1))
    sigma = np.sqrt(bias ** 2 + var_rates + var_spatial + soft_term ** 2)
    return {"sigma": sigma, "bias": bias, "sigma_rates": np.sqrt(var_rates),
            "sigma_spatial": np.sqrt(var_spatial), "soft": soft_term}


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
        (the hard-label fraction; error: its standard uncertainty from the out-of-bag
        misclassification rates and the spatial correlation of the errors, see
        :func:`fraction_uncertainty`, with the terms in ``uncertainty``), the out-of-bag
        accuracy and ``plot()`` (overlay).
    """
    if segmenter is None:
        if labels is None:
            raise InputError("neither training labels nor a trained segmenter", field="labels",
                             expected="labels (0 = unlabelled) or segmenter=")
        segmenter = train_segmenter(stack, labels, phases=phases, spec=spec, sigmas=sigmas,
                                    n_trees=n_trees, max_depth=max_depth,
                                    class_weight=class_weight, classifier=classifier,
                                    max_memory=max_memory, seed=seed, progress=progress)
    lab, conf, psum = segmenter.predict(stack, max_memory=max_memory, confidence=True,
                                        progress=progress)
    n = lab.size
    classes = sorted(segmenter.phases.items(), key=lambda kv: kv[1])
    counts = np.bincount(lab.ravel(), minlength=max(v for _, v in classes) + 1)
    hard = np.asarray([counts[v] for _, v in classes], np.float64) / n
    vc = _correlation_volume(1.0 - conf / np.float32(255.0))
    unc = fraction_uncertainty(hard, _oob_confusion(segmenter), n, vc, psum / n)
    conf_counts = confidence_counts(conf)    # for plot(): the confidence histogram
    if not confidence:
        conf = None
    values: dict[str, Value] = {}
    diagnostics = []
    uncertainty: dict[str, Any] = {"correlation_volume_voxels": vc}
    for i, (name, v) in enumerate(classes):
        values[f"fraction_{name}"] = Value(f"fraction_{name}", float(hard[i]),
                                           float(unc["sigma"][i]), "", f"φ({name})",
                                           valid=(0.0, 1.0))
        uncertainty[name] = {k: float(unc[k][i]) for k in ("bias", "sigma_rates",
                                                           "sigma_spatial", "soft")}
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
    sections = centre_sections(arr[0])
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
                              segmenter=segmenter, overlay=overlay, output=written,
                              uncertainty=uncertainty, sections=sections,
                              confidence_counts=conf_counts)


def _isfile(path) -> bool:
    import os

    return bool(path) and os.path.isfile(str(path))
