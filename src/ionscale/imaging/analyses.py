"""Campaign analyses of FIB-SEM stacks (measurement techniques ``fibsem`` and
``fibsem-labels``).

=================  ==============================  ==============================================
method             measurements                    what it does
=================  ==============================  ==============================================
``fibsem.align``   one ``fibsem``                  drift (fiducials or face), shear, stretch,
                                                   crop, destriping, shading; the corrected stack
                                                   is written to ``output`` (optional)
``fibsem.segment`` one ``fibsem`` and one          the same preprocessing, then trainable
                   ``fibsem-labels``               segmentation from the sparse labels (drawn on
                                                   the corrected stack); the labelled volume is
                                                   written to ``output`` (relative to the
                                                   campaign file) and the phase fractions stored
=================  ==============================  ==============================================

A ``fibsem`` measurement is one multi-page TIFF (or one file per slice, listed in order); its
pixel size comes from the file or the ``pixel_size`` parameter, the slice thickness from the
file or ``slice_thickness``. Boxes are ``[y0, y1, x0, x1]`` in raw pixels of slice 0. The
``output`` volume feeds the ``micro.*`` analyses as a ``volume`` measurement of a later run.
"""

from __future__ import annotations

import re

from ..campaign import AnalysisContext, Param, analysis
from .pipeline import preprocess_stack

_PRE = {
    "pixel_size": Param(None, None, "SEM pixel size, e.g. '5 nm' (default: from the file)"),
    "slice_thickness": Param(None, None, "distance between slices, e.g. '20 nm' (default: "
                                         "from the file)"),
    "fiducials": Param(None, None, "fiducial box [y0, y1, x0, x1]: the drift"),
    "region": Param(None, None, "without fiducials: a box of the face, slice to slice"),
    "edge": Param(None, None, "box holding the face's top edge: measure the shear"),
    "angle": Param(None, None, "SEM viewing angle to the face, degrees (54 Zeiss, 52 FEI)"),
    "direction": Param(None, -1, "face content moves up (-1) or down (+1)", (-1, 1)),
    "shear": Param(None, "geometry", "shear applied", ("geometry", "measured")),
    "roi": Param(None, None, "the face in slice 0, [y0, y1, x0, x1]"),
    "isotropic": Param(None, False, "resample y to the x pixel size"),
    "destripe_sigma": Param(None, 2.0, "stripe band half-width in frequency bins (0: none)"),
    "background": Param(None, "polynomial", "shading correction",
                        ("polynomial", "gaussian", "none")),
}


def _stack(ctx: AnalysisContext):
    from .readers import read_stack

    m = ctx.measurement("fibsem")
    p = ctx.parameters
    files = list(m.files)
    return read_stack(files[0] if len(files) == 1 else files, pixel_size=p["pixel_size"],
                      slice_thickness=p["slice_thickness"])


def _box(ctx, key):
    v = ctx.parameters.get(key)
    if v is None:
        return None
    if not isinstance(v, (list, tuple)) or len(v) != 4:
        raise ctx.error(f"{key} = {v!r}", f"parameters.{key}", "[y0, y1, x0, x1] in pixels")
    return tuple(int(x) for x in v)


def _preprocess(ctx: AnalysisContext):
    p = ctx.parameters
    return preprocess_stack(
        _stack(ctx), fiducials=_box(ctx, "fiducials"), register_region=_box(ctx, "region"),
        edge_region=_box(ctx, "edge"), angle=None if p["angle"] is None else float(p["angle"]),
        direction=int(p["direction"]), shear=p["shear"], roi=_box(ctx, "roi"),
        pixel_size_y="isotropic" if p["isotropic"] else None,
        destripe_sigma=float(p["destripe_sigma"]) or None,
        background=None if p["background"] == "none" else p["background"])


def _output(ctx: AnalysisContext, suffix: str):
    out = ctx.parameters.get("output")
    if out is None:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{ctx.sample.name}-{ctx.label}").strip("-")
        out = f"segmented/{slug[:80]}{suffix}"
    path = (ctx.campaign_dir / out).resolve()
    inputs = {f.resolve() for m in ctx.measurements for f in m.files}
    if path in inputs:
        raise ctx.error(f"output {out!r} is an input file", "parameters.output",
                        "a new file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@analysis("fibsem.align", techniques=("fibsem",),
          parameters={**_PRE, "output": Param(None, None, "corrected stack file (TIFF), "
                                                          "relative to the campaign file")})
def align_analysis(ctx: AnalysisContext):
    """Drift, shear and stretch correction, crop, destriping and shading of a raw stack."""
    result = _preprocess(ctx)
    if ctx.parameters.get("output"):
        from .readers import write_stack

        write_stack(result.stack, _output(ctx, ".tif"), overwrite=True)
    return result


@analysis(
    "fibsem.segment",
    techniques=("fibsem", "fibsem-labels"),
    parameters={
        **_PRE,
        "preprocess": Param(None, True, "preprocess the stack first (False: it already is)"),
        "phases": Param(None, None, "class names, e.g. {pore = 1, solid = 2}"),
        "sigmas": Param(None, None, "feature scales in voxels (default 0.7, 1, 1.6, 3.5, 5)"),
        "n_trees": Param(None, 64, "trees of the random forest"),
        "seed": Param(None, 0, "seed of the forest"),
        "output": Param(None, None, "labelled volume file (default segmented/<sample>-"
                                    "<label>.tif), relative to the campaign file"),
    },
)
def segment_analysis(ctx: AnalysisContext):
    """Trainable segmentation of a FIB-SEM stack from sparse labels; writes the volume."""
    from ..io.volume import read_volume
    from .segmentation import segment_stack

    p = ctx.parameters
    lm = ctx.measurement("fibsem-labels")
    if len(lm.files) != 1:
        raise ctx.error(f"{len(lm.files)} label files", "measurements",
                        "one label volume (0 = unlabelled)")
    try:
        labels = read_volume(lm.files[0])
    except Exception:  # a label file without a voxel size: only its shape matters
        labels = read_volume(lm.files[0], voxel_size="1 nm")
    if p["preprocess"]:
        pre = _preprocess(ctx)
        stack = pre.stack
    else:
        pre, stack = None, _stack(ctx)
    if stack.slice_thickness is None:
        raise ctx.error("the slice thickness is not known", "parameters.slice_thickness",
                        "the distance between slices, e.g. '20 nm'")
    out = _output(ctx, ".tif")
    seg = segment_stack(stack, labels, phases=p["phases"],
                        sigmas=None if p["sigmas"] is None else [float(s) for s in p["sigmas"]],
                        n_trees=int(p["n_trees"]), seed=int(p["seed"]), output=out,
                        overwrite=True)
    if pre is not None:
        import dataclasses

        return dataclasses.replace(seg, values={**seg.values, **{
            k: v for k, v in pre.values.items() if k not in seg.values}},
            diagnostics=(*seg.diagnostics, *pre.diagnostics))
    return seg
