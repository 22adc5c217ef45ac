"""From raw FIB-SEM slices to a segmented volume in one call, and the shear measurement.

:func:`preprocess_stack` runs, in this order (each step optional):

1. **drift**: :func:`~ionscale.imaging.registration.register_stack` on the ``fiducials`` region
   (marks on the protective layer: every slice against slice 0, no accumulated error), or on a
   ``register_region`` of the face (slice to slice: drift plus shear);
2. **shear measurement** (:func:`estimate_shear`, with ``edge_region``): the face's top edge
   moves by the shear per slice relative to the fiducials; its slope gives the shear and the
   viewing angle it implies, to compare with the nominal one;
3. **alignment** (:func:`~ionscale.imaging.preprocess.align_stack`): drift, shear (from the
   ``angle`` given, or the measured one with ``shear="measured"``) and the ``1/sin θ`` stretch
   undone with one interpolation per slice, cropped to ``roi`` and the common field of view;
4. **destriping** (:func:`~ionscale.imaging.preprocess.destripe`) of the aligned face;
5. **shading** (:func:`~ionscale.imaging.preprocess.correct_background`).

Destriping and shading come after the alignment because both act on the face alone (the
protective layer has neither curtains nor the face's shading) and vertical stripes stay
vertical through y shifts and stretches. :func:`fibsem_pipeline` adds the segmentation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from ..errors import InputError
from ..results import Diagnostic, Provenance, Result, Value, new_axes
from .image import ImageStack, as_stack
from .plots import centre_sections
from .preprocess import FibsemGeometry, align_stack, correct_background, destripe
from .registration import StackRegistration, _region_slices, register_stack

__all__ = ["PipelineResult", "PreprocessResult", "ShearEstimate", "estimate_shear",
           "fibsem_pipeline", "preprocess_stack"]


@dataclass(frozen=True, kw_only=True)
class ShearEstimate(Result):
    """The measured shear of a FIB-SEM stack.

    Attributes
    ----------
    edge : ndarray (n,)
        Position of the face's top edge in each slice, raw rows, drift removed.
    fit : line through ``edge`` (slope = shear, rows per slice).
    method : str
        ``"edge"`` or ``"structure"``.
    """

    edge: np.ndarray
    slope_px: float
    slope_error_px: float
    method_name: str = "edge"

    def plot(self, ax=None):
        ax = new_axes(ax)
        k = np.arange(len(self.edge))
        ax.plot(k, self.edge, ".", label="edge position (drift removed)")
        a = np.mean(self.edge) - self.slope_px * np.mean(k)
        ax.plot(k, a + self.slope_px * k, "-", label=f"slope {self.slope_px:.4f} px/slice")
        ax.set_xlabel("slice")
        ax.set_ylabel("row")
        ax.legend(fontsize=8)
        ax.set_title(self.title or "shear")
        return ax


def _edge_positions(data, region, drift_y) -> np.ndarray:
    """Row of the strongest intensity step of each slice's column-median profile (sub-pixel:
    the vertex of the parabola through the extremum of the smoothed derivative)."""
    sy, sx = region
    n = data.shape[0]
    out = np.empty(n)
    for k in range(n):
        prof = np.median(np.asarray(data[k, sy, sx], np.float64), axis=1)
        g = ndi.gaussian_filter1d(prof, 1.0, order=1, mode="nearest")
        a = np.abs(g)
        i = int(np.argmax(a[1:-1])) + 1
        cm, c0, cp = a[i - 1], a[i], a[i + 1]
        den = cm - 2 * c0 + cp
        off = 0.5 * (cm - cp) / den if den < 0 else 0.0
        out[k] = sy.start + i + float(np.clip(off, -0.5, 0.5)) - drift_y[k]
    return out


def estimate_shear(stack, drift=None, *, edge_region=None, region=None,
                   slice_thickness=None, angle: float | None = None) -> ShearEstimate:
    """Measure the shear (face motion per slice along y) of a FIB-SEM stack.

    Parameters
    ----------
    stack : ImageStack
        Raw slices.
    drift : StackRegistration or (n, 2) array, optional
        Drift of the fixed features (fiducials), pixels; removed from the edge positions.
    edge_region : (y0, y1, x0, x1), optional
        Raw pixel box that holds the face's top edge (the sample surface) in every slice:
        ``method "edge"``: the edge is located in each slice (the strongest step of the
        column-median profile) and a line fitted to its drift-free positions; precise
        (independent slices, no accumulation).
    region : (y0, y1, x0, x1), optional
        Without ``edge_region``: a box of the face registered slice to slice (``"structure"``):
        the mean y displacement per slice minus the drift's. Biased by the structure itself
        (inclined features look like motion): a few per cent on a small volume.
    slice_thickness : float, optional
        Overrides the stack's (for the implied angle).
    angle : float, optional
        Nominal viewing angle, degrees: the result then reports the difference.

    Returns
    -------
    ShearEstimate
        ``shear`` (raw rows per slice, signed) ± its standard error, the viewing ``angle`` it
        implies (with the slice thickness and pixel size) and, with a nominal ``angle``, the
        relative difference from the nominal shear.
    """
    st = as_stack(stack)
    n = len(st)
    if n < 3:
        raise InputError(f"a stack of {n} slices", field="stack",
                         expected="at least 3 slices to measure a shear")
    d = np.zeros((n, 2)) if drift is None else np.asarray(getattr(drift, "drift", drift), float)
    if d.shape != (n, 2):
        raise InputError(f"drift of shape {d.shape}", field="drift",
                         expected=f"({n}, 2) pixels")
    k = np.arange(n, dtype=float)
    data = st.channel(0)
    if edge_region is not None:
        sl = _region_slices(edge_region, st.shape[1:])
        edge = _edge_positions(data, sl, d[:, 0])
        keep = np.ones(n, bool)
        for _ in range(3):   # robust line: drop slices far from it (a missed edge)
            A = np.vstack([np.ones(keep.sum()), k[keep]]).T
            coef, *_ = np.linalg.lstsq(A, edge[keep], rcond=None)
            res = edge - (coef[0] + coef[1] * k)
            s = 1.4826 * np.median(np.abs(res[keep])) + 1e-9
            new = np.abs(res) < max(5 * s, 0.3)
            if np.array_equal(new, keep) or new.sum() < 3:
                break
            keep = new
        A = np.vstack([np.ones(keep.sum()), k[keep]]).T
        coef, *_ = np.linalg.lstsq(A, edge[keep], rcond=None)
        res = edge[keep] - A @ coef
        dof = max(keep.sum() - 2, 1)
        s2 = float(res @ res) / dof
        cov = s2 * np.linalg.inv(A.T @ A)
        slope, se = float(coef[1]), float(math.sqrt(cov[1, 1]))
        method = "edge"
    elif region is not None:
        reg = register_stack(st, region=region, reference="previous")
        inc = np.diff(reg.drift[:, 0]) - np.diff(d[:, 0])
        slope = float(np.mean(inc))
        se = float(np.std(inc, ddof=1) / math.sqrt(len(inc)))
        edge = np.concatenate([[0.0], np.cumsum(inc)])
        method = "structure"
    else:
        raise InputError("no region to measure the shear on", field="edge_region",
                         expected="edge_region (a box holding the face's top edge) or region "
                         "(a box of the face)")
    py = st.pixel_size[0]
    t = slice_thickness if slice_thickness is not None else st.slice_thickness
    values = {"shear": Value("shear", slope, se, "", "shear (rows/slice)")}
    diagnostics = []
    if t:
        c = abs(slope) * py / t
        if 0 < c < 1:
            theta = math.degrees(math.acos(c))
            dtheta = math.degrees(se * py / t / math.sqrt(max(1 - c * c, 1e-12)))
            values["angle"] = Value("angle", theta, dtheta, "", "implied viewing angle (°)")
        if angle is not None:
            nominal = FibsemGeometry(angle, t, -1 if slope < 0 else 1).shear_px(py)
            rel = slope / nominal - 1
            values["shear_vs_nominal"] = Value("shear_vs_nominal", rel, se / abs(nominal), "",
                                               "shear / nominal - 1")
            if abs(rel) > max(0.05, 3 * se / abs(nominal)):
                diagnostics.append(Diagnostic(
                    "data-quality", f"the measured shear differs from the one a {angle:g}° "
                    f"view implies by {100 * rel:+.1f} %: check the angle, the slice thickness "
                    "or the pixel size", fields=("shear",)))
    prov = Provenance.build("imaging.estimate_shear", [],
                            {"edge_region": edge_region, "region": region, "method": method})
    return ShearEstimate(values=values, provenance=prov, title="FIB-SEM shear",
                         diagnostics=tuple(diagnostics), edge=edge, slope_px=slope,
                         slope_error_px=se, method_name=method)


@dataclass(frozen=True, kw_only=True)
class PreprocessResult(Result):
    """A preprocessed FIB-SEM stack and how it was obtained.

    Attributes
    ----------
    stack : ImageStack
        The corrected stack (float32, cropped, voxel size ``(t, dy/sin θ, dx)``).
    registration : StackRegistration or None
    shear : ShearEstimate or None
    raw_slice, slice_index
        A raw slice for the before/after plot, and its index.
    raw_sections : dict
        Grey levels of the raw stack's ``xy``, ``xz`` and ``yz`` sections through its centre
        (:func:`~ionscale.imaging.plots.centre_sections`), for :meth:`plot`.
    raw_voxel_size : tuple or None
        ``(slice thickness, dy, dx)`` of the raw stack, metres.
    """

    stack: ImageStack
    registration: StackRegistration | None = None
    shear: ShearEstimate | None = None
    raw_slice: np.ndarray | None = field(default=None, repr=False)
    slice_index: int = 0
    raw_sections: dict = field(default_factory=dict, repr=False)
    raw_voxel_size: tuple | None = None

    def _extra_dict(self) -> dict[str, Any]:
        st = self.stack
        return {"shape": list(st.shape), "voxel_size_m": list(st.voxel_size) if
                st.slice_thickness else None, "origin_m": list(st.origin),
                "history": st.metadata.get("history", []),
                "drift_px": None if self.registration is None else
                self.registration.drift.tolist()}

    def plot(self, ax=None):
        """Before/after: orthogonal sections (xy, xz, yz through the centre, µm) of the raw
        stack (top row) and the corrected one (bottom row), beside the drift curve (or the
        measured shear), on a new double-column figure; returns the raw xy Axes (``.figure``
        holds every panel). With ``ax`` (a sequence of 2-3 Axes): the raw and corrected
        middle slices and the drift curve, returned as an array."""
        if ax is not None:
            return self._plot_slices(ax)
        from ..report.style import new_figure
        from .plots import centre_cuts, centre_sections, draw_section, section_extent

        names = ("xy", "xz", "yz")
        st = self.stack
        vs = (st.slice_thickness or st.pixel_size[0], *st.pixel_size)
        rows = []
        if self.raw_sections and self.raw_voxel_size is not None:
            raw_shape = (self.raw_sections["xz"].shape[0], *self.raw_sections["xy"].shape)
            rows.append(("raw", self.raw_sections, raw_shape, tuple(self.raw_voxel_size)))
        rows.append(("corrected", centre_sections(st.channel(0)), tuple(st.shape[-3:]), vs))
        side = self.registration if self.registration is not None else self.shear
        ext = {(r, n): section_extent(n, shape, v) for r, _, shape, v in rows for n in names}
        ratios = [float(np.clip(max(abs(ext[r, n][1] - ext[r, n][0]) /
                                    max(abs(ext[r, n][2] - ext[r, n][3]), 1e-30)
                                    for r, *_ in rows), 0.6, 1.8)) for n in names]
        if side is not None:
            ratios.append(1.6)
        fig, axes = new_figure("double", 0.2 + 0.18 * len(rows), nrows=len(rows),
                               ncols=len(ratios), gridspec_kw={"width_ratios": ratios},
                               squeeze=False)
        for i, (r, sections, shape, v) in enumerate(rows):
            cuts = centre_cuts(shape, v)
            for j, n in enumerate(names):
                draw_section(axes[i, j], n, sections.get(n), ext[r, n], cuts=cuts,
                             title=f"{r} {n}")
        if side is not None:
            gs = axes[0, -1].get_gridspec()
            for a in axes[:, -1]:
                a.remove()
            side_ax = fig.add_subplot(gs[:, -1])
            side.plot(side_ax)
        fig.suptitle(self.title or "FIB-SEM preprocessing")
        return axes[0, 0]

    def _plot_slices(self, ax):
        """A raw slice and the same slice corrected (and the drift curve), into ``ax``."""
        axes = np.atleast_1d(ax)
        if self.raw_slice is not None:
            axes[0].imshow(self.raw_slice, cmap="gray")
            axes[0].set_title(f"raw slice {self.slice_index}")
        k = min(self.slice_index, len(self.stack) - 1)
        axes[1].imshow(np.asarray(self.stack.channel(0)[k]), cmap="gray")
        axes[1].set_title(f"corrected slice {k}")
        if len(axes) > 2 and self.registration is not None:
            self.registration.plot(axes[2])
        return axes


def preprocess_stack(stack, *, fiducials=None, register_region=None, edge_region=None,
                     angle: float | None = None, direction: int = -1, shear: str = "geometry",
                     roi=None, pixel_size_y=None, destripe_sigma: float | None = 2.0,
                     background: str | None = "polynomial", background_degree: int = 2,
                     order: int = 3, progress: bool = False) -> PreprocessResult:
    """Raw FIB-SEM slices to a corrected stack (see the module docstring for the steps).

    Parameters
    ----------
    stack : ImageStack
        Raw slices with pixel size and slice thickness.
    fiducials : (y0, y1, x0, x1), optional
        Raw pixel box of fixed marks (protective layer): the drift alone.
    register_region : (y0, y1, x0, x1), optional
        Without fiducials: a box of the face registered slice to slice (drift and shear
        together; the geometric shear is then not applied again).
    edge_region : (y0, y1, x0, x1), optional
        Box holding the face's top edge: measure the shear (:func:`estimate_shear`).
    angle : float, optional
        Viewing angle θ, degrees in (0, 90); None: no shear or stretch correction.
    direction : {-1, +1}
        See :class:`~ionscale.imaging.preprocess.FibsemGeometry`.
    shear : {"geometry", "measured"}
        Shear applied: the nominal ``t cos θ / dy`` or the measured one (needs
        ``edge_region``).
    roi : (y0, y1, x0, x1), optional
        The face in raw pixels of slice 0 (without the protective layer).
    pixel_size_y : float or "isotropic", optional
        Output y pixel size (default ``dy / sin θ``).
    destripe_sigma : float or None
        Band half-width of :func:`~ionscale.imaging.preprocess.destripe` (None: no
        destriping).
    background : {"polynomial", "gaussian"} or None
        Shading correction (None: none).
    order : int
        Interpolation order of the alignment.
    """
    st = as_stack(stack)
    if st.slice_thickness is None and angle is not None:
        raise InputError("the slice thickness is not known", file=st.source,
                         field="slice_thickness", expected="the distance between slices, "
                         "e.g. '20 nm' (needed for the shear)")
    if angle is not None:
        FibsemGeometry(angle, st.slice_thickness, direction)   # validates the angle
    if shear not in ("geometry", "measured"):
        raise InputError(f"shear {shear!r}", field="shear",
                         expected="'geometry' or 'measured'")
    registration = None
    apply_shear = angle is not None
    if fiducials is not None:
        registration = register_stack(st, region=fiducials, reference="first",
                                      progress=progress)
    elif register_region is not None:
        registration = register_stack(st, region=register_region, reference="previous",
                                      progress=progress)
        apply_shear = False         # the face's registration already holds the shear
    drift = None if registration is None else registration.drift.copy()
    measured = None
    if edge_region is not None:
        measured = estimate_shear(st, drift, edge_region=edge_region, angle=angle)
    if shear == "measured":
        if measured is None:
            raise InputError("shear='measured' without an edge region", field="edge_region",
                             expected="the box holding the face's top edge")
    n = len(st)
    D = np.zeros((n, 2)) if drift is None else drift
    if apply_shear and shear == "measured":
        D = D.copy()
        D[:, 0] += measured.slope_px * np.arange(n)
        aligned = align_stack(st, D, angle=angle, direction=direction, roi=roi,
                              pixel_size_y=pixel_size_y, order=order, progress=progress,
                              shear=False)
    else:
        aligned = align_stack(st, D, angle=angle, direction=direction, roi=roi,
                              pixel_size_y=pixel_size_y, order=order, progress=progress,
                              shear=apply_shear)
    out = aligned
    if destripe_sigma:
        out = destripe(out, sigma=destripe_sigma, progress=progress)
    if background:
        out = correct_background(out, method=background, degree=background_degree)
    values: dict[str, Value] = {"n_slices": Value("n_slices", float(len(out)), 0.0, "",
                                                  "slices")}
    diagnostics: list[Diagnostic] = []
    if registration is not None:
        values.update(registration.values)
        diagnostics += list(registration.diagnostics)
    if measured is not None:
        values.update({f"measured_{k}": v for k, v in measured.values.items()})
        diagnostics += list(measured.diagnostics)
    mid = n // 2
    raw = np.asarray(st.channel(0)[mid], np.float32)
    raw_sections = centre_sections(st.channel(0))        # for plot(): before/after
    raw_vs = (st.slice_thickness or st.pixel_size[0], *st.pixel_size)
    prov = Provenance.build("imaging.preprocess", [st.source] if st.source and _isfile(
        st.source) else [], {"fiducials": fiducials, "register_region": register_region,
                             "edge_region": edge_region, "angle": angle,
                             "direction": direction, "shear": shear, "roi": roi,
                             "pixel_size_y": pixel_size_y, "destripe_sigma": destripe_sigma,
                             "background": background, "order": order})
    return PreprocessResult(values=values, provenance=prov, title="FIB-SEM preprocessing",
                            diagnostics=tuple(diagnostics), stack=out,
                            registration=registration, shear=measured, raw_slice=raw,
                            slice_index=mid, raw_sections=raw_sections,
                            raw_voxel_size=raw_vs)


@dataclass(frozen=True, kw_only=True)
class PipelineResult(Result):
    """Preprocessing and segmentation of a raw stack (``preprocess``, ``segmentation``)."""

    preprocess: PreprocessResult
    segmentation: Any

    @property
    def volume(self):
        return self.segmentation.volume

    def _extra_dict(self) -> dict[str, Any]:
        return {"preprocess": self.preprocess._extra_dict(),
                "segmentation": self.segmentation._extra_dict()}

    def plot(self, ax=None):
        return self.segmentation.plot(ax)


def fibsem_pipeline(stack, labels=None, *, phases=None, segmenter=None, sigmas=None,
                    n_trees: int = 64, seed=0, output=None, overwrite: bool = False,
                    max_memory: float = 1 << 30, progress: bool = False,
                    **preprocess) -> PipelineResult:
    """Raw slices → corrected stack → segmented Volume.

    ``preprocess`` keywords go to :func:`preprocess_stack`; ``labels`` (sparse, on the
    corrected stack's grid), ``phases``, ``segmenter``, ``sigmas``, ``n_trees``, ``seed``,
    ``output`` to :func:`~ionscale.imaging.segmentation.segment_stack`.
    """
    from .segmentation import segment_stack

    pre = preprocess_stack(stack, progress=progress, **preprocess)
    seg = segment_stack(pre.stack, labels, segmenter=segmenter, phases=phases, sigmas=sigmas,
                        n_trees=n_trees, seed=seed, output=output, overwrite=overwrite,
                        max_memory=max_memory, progress=progress)
    values = {**pre.values, **seg.values}
    prov = Provenance.build("imaging.fibsem_pipeline", pre.provenance.inputs,
                            {"preprocess": pre.provenance.parameters,
                             "segmentation": seg.provenance.parameters})
    return PipelineResult(values=values, provenance=prov, title="FIB-SEM: raw stack to volume",
                          diagnostics=(*pre.diagnostics, *seg.diagnostics), preprocess=pre,
                          segmentation=seg)


def _isfile(path) -> bool:
    import os

    return bool(path) and os.path.isfile(str(path))
