"""A random-forest classifier for voxel features (numba; no scikit-learn needed).

Breiman's random forest (Machine Learning 45 (2001) 5): each tree is grown on a bootstrap
sample, choosing at every node the best Gini split among ``mtry`` features drawn at random.
Features are binned once into 64 quantile bins of the training data (as LightGBM and
scikit-learn's ``HistGradientBoosting`` do), so a node's split search is one pass over its
samples; the thresholds are the bin edges, so prediction compares raw feature values.
Trees grow in parallel (numba threads); every tree has its own seeded generator, so a forest
is the same for the same ``seed`` whatever the number of threads. The out-of-bag accuracy
(each training voxel predicted by the trees that did not see it) comes with every forest.

scikit-learn is not a dependency of ionscale; with it installed, its
``RandomForestClassifier`` can be used through :class:`~ionscale.imaging.segmentation.Segmenter`
(``classifier="sklearn"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
from numba import prange

from ..errors import InputError
from . import _kernels as K

__all__ = ["RandomForest"]

N_BINS = 64


@nb.njit(cache=True, nogil=True, parallel=True)
def _grow_forest(Xb, y, weights, n_classes, n_bins, edges, max_depth, min_leaf, mtry, seeds,
                 feat, thr, left, right, value, n_nodes):
    T = weights.shape[0]
    for t in prange(T):
        n_nodes[t] = K.grow_tree(Xb, y, weights[t], n_classes, n_bins, edges, max_depth,
                                 min_leaf, mtry, seeds[t], feat[t], thr[t], left[t], right[t],
                                 value[t])


def _bin_features(X: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Quantile bin edges per feature ``(F, n_bins - 1)`` and the binned ``(n, F)`` uint8."""
    n, F = X.shape
    qs = np.linspace(0, 1, n_bins + 1)[1:-1]
    edges = np.full((F, n_bins - 1), np.inf, np.float32)
    Xb = np.empty((n, F), np.uint8)
    for f in range(F):
        col = X[:, f]
        e = np.unique(np.quantile(col, qs).astype(np.float32))
        # a value equal to an edge goes left (<=): searchsorted 'left' counts edges < value
        edges[f, :e.size] = e
        Xb[:, f] = np.searchsorted(e, col, side="left").astype(np.uint8)
    return edges, Xb


@dataclass(frozen=True)
class RandomForest:
    """A trained random forest (see the module docstring).

    Build one with :meth:`fit`; :meth:`predict` and :meth:`predict_proba` take features as
    ``(n, F)`` rows (or ``(F, n)`` columns with ``columns=True``, the layout of feature
    blocks).

    Attributes
    ----------
    classes : ndarray
        The class labels, in the order of the probability columns.
    n_features : int
    oob_accuracy : float
        Out-of-bag accuracy on the training samples.
    oob_confusion : ndarray (C, C)
        Out-of-bag confusion counts, rows = true class, columns = predicted.
    """

    classes: np.ndarray
    n_features: int
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    oob_accuracy: float
    oob_confusion: np.ndarray
    parameters: dict

    @classmethod
    def fit(cls, X, y, *, n_trees: int = 64, max_depth: int = 16, min_samples_leaf: int = 1,
            max_features="sqrt", class_weight: str | None = None, seed=0) -> RandomForest:
        """Train on rows ``X`` (n, F) with labels ``y`` (n,).

        Parameters
        ----------
        n_trees : int
            Number of trees.
        max_depth : int
            Deepest split level.
        min_samples_leaf : int
            Smallest (bootstrap-weighted) sample count of a leaf.
        max_features : "sqrt", int or float
            Features tried per split (``"sqrt"``: √F; a float: that fraction of F).
        class_weight : None or "balanced"
            ``"balanced"`` weighs classes inversely to their frequency (for labels painted
            with unequal effort per class).
        seed : int or numpy Generator
            Reproducible bootstrap and feature draws.
        """
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
            raise InputError(f"X of shape {X.shape} and y of shape {y.shape}", field="X",
                             expected="(n, F) features and (n,) labels")
        if not np.all(np.isfinite(X)):
            raise InputError("NaN or infinite features", field="X", expected="finite values")
        classes, yi = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise InputError(f"training labels hold {classes.size} class", field="labels",
                             expected="at least two classes with labelled voxels")
        n, F = X.shape
        if isinstance(max_features, str):
            if max_features != "sqrt":
                raise InputError(f"max_features {max_features!r}", field="max_features",
                                 expected="'sqrt', an integer or a fraction")
            mtry = max(1, int(round(math.sqrt(F))))
        elif isinstance(max_features, float):
            mtry = max(1, int(round(max_features * F)))
        else:
            mtry = int(max_features)
        if not 1 <= mtry <= F or n_trees < 1 or max_depth < 1 or min_samples_leaf < 1:
            raise InputError(f"n_trees {n_trees}, max_depth {max_depth}, min_samples_leaf "
                             f"{min_samples_leaf}, max_features {max_features}",
                             field="classifier", expected="positive values, max_features <= "
                             f"{F}")
        rng = np.random.default_rng(seed)
        edges, Xb = _bin_features(X, N_BINS)
        weights = np.empty((n_trees, n), np.float64)
        for t in range(n_trees):
            weights[t] = np.bincount(rng.integers(0, n, n), minlength=n)
        if class_weight == "balanced":
            counts = np.bincount(yi, minlength=classes.size).astype(float)
            weights *= (n / (classes.size * counts))[yi][None, :]
        elif class_weight is not None:
            raise InputError(f"class_weight {class_weight!r}", field="class_weight",
                             expected="None or 'balanced'")
        seeds = rng.integers(1, 2**62, n_trees, dtype=np.int64).astype(np.uint64)
        max_nodes = int(min(2 * n + 1, 2 ** (max_depth + 1) - 1))
        C = classes.size
        feat = np.empty((n_trees, max_nodes), np.int32)
        thr = np.empty((n_trees, max_nodes), np.float32)
        left = np.empty((n_trees, max_nodes), np.int32)
        right = np.empty((n_trees, max_nodes), np.int32)
        value = np.empty((n_trees, max_nodes, C), np.float32)
        n_nodes = np.zeros(n_trees, np.int64)
        _grow_forest(Xb, yi.astype(np.int64), weights, C, N_BINS, edges, int(max_depth),
                     float(min_samples_leaf), mtry, seeds, feat, thr, left, right, value,
                     n_nodes)
        # concatenate the trees, children renumbered
        offsets = np.concatenate([[0], np.cumsum(n_nodes)[:-1]]).astype(np.int64)
        total = int(n_nodes.sum())
        cf = np.empty(total, np.int32)
        ct = np.empty(total, np.float32)
        cl = np.empty(total, np.int32)
        cr = np.empty(total, np.int32)
        cv = np.empty((total, C), np.float32)
        for t in range(n_trees):
            m, o = int(n_nodes[t]), int(offsets[t])
            cf[o:o + m] = feat[t, :m]
            ct[o:o + m] = thr[t, :m]
            leaf = feat[t, :m] < 0
            cl[o:o + m] = np.where(leaf, -1, left[t, :m] + o)
            cr[o:o + m] = np.where(leaf, -1, right[t, :m] + o)
            cv[o:o + m] = value[t, :m]
        forest = cls(classes=classes, n_features=F, feature=cf, threshold=ct, left=cl,
                     right=cr, value=cv, roots=offsets, oob_accuracy=math.nan,
                     oob_confusion=np.zeros((C, C), np.int64),
                     parameters={"n_trees": n_trees, "max_depth": max_depth,
                                 "min_samples_leaf": min_samples_leaf, "mtry": mtry,
                                 "class_weight": class_weight, "n_samples": n})
        acc, conf = forest._oob(X, yi, weights > 0)
        object.__setattr__(forest, "oob_accuracy", acc)
        object.__setattr__(forest, "oob_confusion", conf)
        return forest

    def _oob(self, X, yi, in_bag) -> tuple[float, np.ndarray]:
        n = X.shape[0]
        C = self.classes.size
        Xc = np.ascontiguousarray(X.T)
        votes = np.zeros((n, C), np.float64)
        one = np.empty((n, C), np.float32)
        for t in range(self.roots.size):
            oob = ~in_bag[t]
            if not oob.any():
                continue
            K.predict_proba(Xc[:, oob], self.feature, self.threshold, self.left, self.right,
                            self.value, self.roots[t:t + 1], one[:oob.sum()])
            votes[oob] += one[:oob.sum()]
        seen = votes.sum(axis=1) > 0
        if not seen.any():
            return math.nan, np.zeros((C, C), np.int64)
        pred = np.argmax(votes[seen], axis=1)
        conf = np.zeros((C, C), np.int64)
        np.add.at(conf, (yi[seen], pred), 1)
        return float(np.mean(pred == yi[seen])), conf

    def _columns(self, X, columns: bool) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        Xc = X if columns else X.T
        if Xc.ndim != 2 or Xc.shape[0] != self.n_features:
            raise InputError(f"features of shape {X.shape}", field="X",
                             expected=f"{self.n_features} features per sample")
        return np.ascontiguousarray(Xc)

    def predict_proba(self, X, *, columns: bool = False) -> np.ndarray:
        """Class probabilities ``(n, C)`` (mean of the trees' leaf class frequencies)."""
        Xc = self._columns(X, columns)
        out = np.empty((Xc.shape[1], self.classes.size), np.float32)
        K.predict_proba(Xc, self.feature, self.threshold, self.left, self.right, self.value,
                        self.roots, out)
        return out

    def predict(self, X, *, columns: bool = False, confidence: bool = False):
        """Class labels ``(n,)`` (with ``confidence=True`` also the winning probability
        ``(n,)`` and the sum of each class's probability over the samples ``(C,)``)."""
        Xc = self._columns(X, columns)
        n = Xc.shape[1]
        dtype = self.classes.dtype if self.classes.dtype.kind in "iu" else np.int64
        labels = np.empty(n, dtype)
        conf = np.empty(n, np.float32)
        psum = np.empty(((n + 1023) // 1024, self.classes.size), np.float64)
        K.predict_labels(Xc, self.feature, self.threshold, self.left, self.right, self.value,
                         self.roots, self.classes.astype(dtype), labels, conf, psum)
        return (labels, conf, psum.sum(axis=0)) if confidence else labels

    @property
    def n_nodes(self) -> int:
        return int(self.feature.size)
