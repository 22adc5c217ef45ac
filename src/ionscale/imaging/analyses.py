"""Campaign analyses of FIB-SEM stacks (measurement techniques ``fibsem`` and
``fibsem-labels``) and of correlative EDS + SIMS serial sections (``eds-maps`` and
``sims-maps``: ``correlative.fuse``, ``correlative.phases``, ``correlative.stats``, described
with their code below).

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


# ====================================================================== correlative EDS + SIMS
# Measurement techniques ``eds-maps`` (one EDS file per slice, in milling order: a multi-channel
# TIFF, an .h5oina, or a text matrix with one element) and ``sims-maps`` (one SIMS file per
# slice: a multi-channel TIFF or text blocks with the isotopes in order).
#
# ======================  ====================================================================
# method                  what it does
# ======================  ====================================================================
# ``correlative.fuse``    align the EDS slices, register each SIMS map on its EDS map, fuse on
#                         the EDS grid (counts conserved); writes the fused stack (``output``)
# ``correlative.phases``  the same fusion, then phases from marker elements (or k-means):
#                         fractions, contact areas, per-phase 6Li fraction ± error; writes the
#                         labelled volume (``output``) for the ``micro.*`` analyses
# ``correlative.stats``   the same fusion, then covariance and Pearson r of a channel pair
#                         (normalised), with the correlation histogram
# ======================  ====================================================================

_FUSE = {
    "eds_elements": Param(None, None, "EDS channel names in file order, e.g. ['Zr', 'Co']"),
    "sims_isotopes": Param(None, ["6Li", "7Li"], "SIMS channel names in file order"),
    "eds_pixel_size": Param("m", None, "EDS pixel size (default: from the files)"),
    "sims_pixel_size": Param("m", None, "SIMS pixel size, e.g. '72 nm' (required)"),
    "slice_thickness": Param("m", None, "milled slice thickness, e.g. '60 nm' (required)"),
    "eds_origin": Param("m", None, "nominal corner [y, x] of the EDS maps"),
    "sims_origin": Param("m", None, "nominal corner [y, x] of the SIMS maps"),
    "eds_channels": Param(None, None, "EDS channels registered (default: all)"),
    "sims_channels": Param(None, None, "SIMS channels registered (default: all)"),
    "tracer": Param(None, "6Li", "tracer isotope of the fraction channel"),
    "other": Param(None, "7Li", "other isotope of the fraction channel"),
    "method": Param(None, "ncc", "registration measure", ("ncc", "mi")),
    "min_overlap": Param(None, 0.2, "smallest overlap, fraction of the smaller map"),
    "min_ncc": Param(None, 0.3, "smallest peak NCC accepted"),
    "rotation": Param(None, False, "also estimate rotation and scale"),
    "align_slices": Param(None, True, "align the EDS slices on one another"),
}


def _origin(ctx: AnalysisContext, key: str):
    v = ctx.parameters.get(key)
    if v is None:
        return None
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ctx.error(f"{key} = {v!r}", f"parameters.{key}", "[y, x], e.g. ['20 um', '4 um']")
    return (float(v[0]), float(v[1]))


_FUSION_CACHE: dict = {}


def _fusion(ctx: AnalysisContext):
    """The fusion of this analysis' maps; the analyses of one sample share it within a
    process (keyed by the files' paths, sizes and modification times and the parameters)."""
    import json
    import os

    from ..results import json_safe

    em, sm = ctx.measurement("eds-maps"), ctx.measurement("sims-maps")
    key = json.dumps([[str(f), os.stat(f).st_size, os.stat(f).st_mtime_ns]
                      for f in (*em.files, *sm.files)] +
                     [json_safe({k: ctx.parameters.get(k) for k in _FUSE})], sort_keys=True)
    if key not in _FUSION_CACHE:
        _FUSION_CACHE.clear()
        _FUSION_CACHE[key] = _fuse_maps(ctx)
    return _FUSION_CACHE[key]


def _fuse_maps(ctx: AnalysisContext):
    from .eds import read_eds_map, read_sims_map
    from .fusion import fuse_slices
    from .maps import MapSeries

    p = ctx.parameters
    if p["slice_thickness"] is None:
        raise ctx.error("no slice thickness", "parameters.slice_thickness", "e.g. '60 nm'")
    if p["sims_pixel_size"] is None:
        raise ctx.error("no SIMS pixel size", "parameters.sims_pixel_size", "e.g. '72 nm'")
    em, sm = ctx.measurement("eds-maps"), ctx.measurement("sims-maps")
    if len(em.files) != len(sm.files):
        raise ctx.error(f"{len(em.files)} EDS files and {len(sm.files)} SIMS files",
                        "measurements", "one EDS and one SIMS file per slice")
    eo, so = _origin(ctx, "eds_origin"), _origin(ctx, "sims_origin")
    elements = p["eds_elements"]
    eds = [read_eds_map(f, elements=None if elements is None else list(elements),
                        pixel_size=p["eds_pixel_size"], origin=eo, index=k)
           for k, f in enumerate(em.files)]
    sims = [read_sims_map(f, isotopes=list(p["sims_isotopes"]),
                          pixel_size=p["sims_pixel_size"], origin=so or (0.0, 0.0), index=k)
            for k, f in enumerate(sm.files)]
    dz = p["slice_thickness"]
    tracer = p["tracer"] if p["tracer"] in p["sims_isotopes"] else None
    return fuse_slices(MapSeries(tuple(eds), dz, "EDS"), MapSeries(tuple(sims), dz, "SIMS"),
                       eds_channels=p["eds_channels"], sims_channels=p["sims_channels"],
                       tracer=tracer, other=p["other"], align_slices=bool(p["align_slices"]),
                       method=p["method"], min_overlap=float(p["min_overlap"]),
                       min_ncc=float(p["min_ncc"]), rotation=bool(p["rotation"]))


@analysis("correlative.fuse", techniques=("eds-maps", "sims-maps"),
          parameters={**_FUSE, "output": Param(None, None, "fused stack file (TIFF), relative "
                                                          "to the campaign file")})
def fuse_analysis(ctx: AnalysisContext):
    """EDS and SIMS maps of serial sections fused into one volume of counts."""
    fused = _fusion(ctx)
    if ctx.parameters.get("output") and fused.stack is not None:
        from .readers import write_stack

        write_stack(fused.stack, _output(ctx, ".tif"), overwrite=True)
    return fused


@analysis("correlative.phases", techniques=("eds-maps", "sims-maps"),
          parameters={**_FUSE,
                      "rules": Param(None, None, "marker element per phase, e.g. {LLZTO = "
                                                 "'Zr', LCO = 'Co'} (default: seed 003's)"),
                      "phase_method": Param(None, "rules", "phase identification",
                                            ("rules", "kmeans")),
                      "threshold": Param(None, 0.15, "smallest scaled marker of a phase"),
                      "erode": Param(None, 3, "in-plane erosion before the Li fraction, voxels"),
                      "output": Param(None, None, "labelled volume file, relative to the "
                                                  "campaign file")})
def phases_analysis(ctx: AnalysisContext):
    """Phases from the fused element channels: fractions, contacts, per-phase 6Li fraction."""
    import dataclasses

    from .phases import identify_phases, phase_chemistry

    p = ctx.parameters
    fused = _fusion(ctx)
    if fused.stack is None:
        return fused
    vol = identify_phases(fused.stack, p["rules"], method=p["phase_method"],
                          threshold=float(p["threshold"]), seed=int(ctx.seed or 0))
    chem = phase_chemistry(fused.stack, vol, tracer=fused.fraction_channel and p["tracer"],
                           other=p["other"], erode=int(p["erode"]))
    if p.get("output"):
        from ..io.volume import write_volume

        write_volume(vol, _output(ctx, ".tif"), overwrite=True)
    extra = tuple(d for d in fused.diagnostics if d.severity == "failed" or
                  d.code == "data-quality")
    return dataclasses.replace(chem, diagnostics=(*chem.diagnostics, *extra))


@analysis("correlative.stats", techniques=("eds-maps", "sims-maps"),
          parameters={**_FUSE,
                      "pair": Param(None, None, "the two channels, e.g. ['7Li', 'Zr']"),
                      "normalisation": Param(None, "log", "of each channel first",
                                             ("log", "minmax", "percentile", "none")),
                      "correlation_length": Param(None, 1.0, "voxels, for the effective n")})
def stats_analysis(ctx: AnalysisContext):
    """Covariance, Pearson r (± error, p-value) and correlation histogram of a channel pair."""
    import dataclasses

    import numpy as np

    from .correlate import correlate_channels
    from .maps import normalise_array

    p = ctx.parameters
    pair = p["pair"]
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise ctx.error(f"pair = {pair!r}", "parameters.pair", "two channel names")
    fused = _fusion(ctx)
    if fused.stack is None:
        return fused
    st = fused.stack
    a = normalise_array(np.asarray(st.channel(pair[0])), p["normalisation"])
    b = normalise_array(np.asarray(st.channel(pair[1])), p["normalisation"])
    res = correlate_channels(a, b, names=(str(pair[0]), str(pair[1])),
                             correlation_length=float(p["correlation_length"]))
    extra = tuple(d for d in fused.diagnostics if d.code == "data-quality")
    return dataclasses.replace(res, diagnostics=(*res.diagnostics, *extra))
