"""``ionscale fibsem ...`` commands: align, destripe, segment, pipeline; and
``ionscale correlate ...``: fuse, phases, stats (correlative EDS + SIMS serial sections).

Every verb reads a stack (a multi-page TIFF, a folder or glob of TIFF slices), writes its
output with ``--out`` and prints a result (``--json`` for machine-readable output, ``--plot``
for its figure). Boxes are ``y0:y1,x0:x1`` in raw pixels of slice 0.
"""

from __future__ import annotations

from ..cli_support import add_output_options, parse_pairs, print_result
from ..errors import InputError


def _box(text: str | None, option: str):
    if not text:
        return None
    try:
        ys, xs = text.split(",")
        y0, y1 = (int(v) for v in ys.split(":"))
        x0, x1 = (int(v) for v in xs.split(":"))
    except ValueError:
        raise InputError(f"cannot read {text!r}", field=option,
                         expected="a pixel box 'y0:y1,x0:x1', e.g. '2:34,2:180'") from None
    return (y0, y1, x0, x1)


def _stack(args):
    from .readers import read_stack

    source = args.stack if len(args.stack) > 1 else args.stack[0]
    return read_stack(source, pixel_size=args.pixel_size, slice_thickness=args.slice_thickness,
                      allow_gaps=args.allow_gaps)


def _sigmas(text: str | None):
    if not text:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--sigmas {text!r}", field="--sigmas",
                         expected="comma-separated scales in voxels, e.g. 0.7,1,1.6,3.5,5"
                         ) from None


def _preprocess_options(args) -> dict:
    return {"fiducials": _box(args.fiducials, "--fiducials"),
            "register_region": _box(args.region, "--region"),
            "edge_region": _box(args.edge, "--edge"), "angle": args.angle,
            "direction": args.direction, "shear": args.shear, "roi": _box(args.roi, "--roi"),
            "pixel_size_y": "isotropic" if args.isotropic else None,
            "destripe_sigma": None if args.no_destripe else args.destripe_sigma,
            "background": None if args.no_background else args.background}


def _align(args) -> int:
    from .pipeline import preprocess_stack
    from .readers import write_stack

    options = _preprocess_options(args)
    if args.only_align:
        options.update(destripe_sigma=None, background=None)
    result = preprocess_stack(_stack(args), progress=not args.no_progress, **options)
    if args.out:
        write_stack(result.stack, args.out, overwrite=args.force)
    print_result(result, args.json, args.plot)
    return 0


def _destripe(args) -> int:
    from ..results import Provenance, Result, Value
    from .preprocess import destripe
    from .readers import write_stack

    st = _stack(args)
    out = destripe(st, method=args.method, sigma=args.destripe_sigma,
                   progress=not args.no_progress)
    if args.out:
        write_stack(out, args.out, overwrite=args.force)
    import numpy as np

    removed = float(np.sqrt(np.mean((np.asarray(out.data, np.float32) -
                                     np.asarray(st.data, np.float32)) ** 2)))
    res = Result(values={"removed_rms": Value("removed_rms", removed, 0.0, "",
                                              "rms of the removed stripes (grey levels)")},
                 provenance=Provenance.build("imaging.destripe", [], {
                     "method": args.method, "sigma": args.destripe_sigma,
                     "output": args.out}), title="destriping")
    print_result(res, args.json, None)
    return 0


def _labels(args):
    from ..io.volume import read_volume

    if not args.labels:
        raise InputError("no training labels", field="--labels",
                         expected="a label volume of the preprocessed stack's shape (0 = "
                         "unlabelled), e.g. labels.tif")
    if args.label_voxel_size:
        return read_volume(args.labels, voxel_size=args.label_voxel_size)
    try:
        return read_volume(args.labels)
    except InputError as exc:
        if exc.field != "voxel_size":
            raise
        # a label file painted without a voxel size: only its shape matters
        return read_volume(args.labels, voxel_size="1 nm")


def _phases(args):
    return parse_pairs(args.phases, "--phases", int, "pore=1,solid=2", "an integer class")


def _segment(args) -> int:
    from .segmentation import segment_stack

    st = _stack(args)
    if st.slice_thickness is None:
        raise InputError("the slice thickness is not known", file=st.source,
                         field="--slice-thickness", expected="e.g. '20 nm'")
    res = segment_stack(st, _labels(args), phases=_phases(args), sigmas=_sigmas(args.sigmas),
                        n_trees=args.trees, seed=args.seed, output=args.out,
                        overwrite=args.force, max_memory=args.max_memory * 2**20,
                        progress=not args.no_progress)
    print_result(res, args.json, args.plot)
    return 0


def _pipeline(args) -> int:
    from .pipeline import fibsem_pipeline

    res = fibsem_pipeline(_stack(args), _labels(args), phases=_phases(args),
                          sigmas=_sigmas(args.sigmas), n_trees=args.trees, seed=args.seed,
                          output=args.out, overwrite=args.force,
                          max_memory=args.max_memory * 2**20,
                          progress=not args.no_progress, **_preprocess_options(args))
    if args.save_stack:
        from .readers import write_stack

        write_stack(res.preprocess.stack, args.save_stack, overwrite=args.force)
    print_result(res, args.json, args.plot)
    return 0


def _add_stack(p) -> None:
    p.add_argument("stack", nargs="+", metavar="STACK",
                   help="multi-page TIFF, folder of TIFF slices, glob or slice files")
    p.add_argument("--pixel-size", help="SEM pixel size, e.g. '5 nm' or 'dy,dx' "
                                        "(default: from the file)")
    p.add_argument("--slice-thickness", help="distance between slices, e.g. '20 nm'")
    p.add_argument("--allow-gaps", action="store_true",
                   help="accept gaps in the slice numbering")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="replace existing output files")


def _add_preprocess(p) -> None:
    p.add_argument("--fiducials", metavar="BOX",
                   help="fiducial marks y0:y1,x0:x1: register the drift on them")
    p.add_argument("--region", metavar="BOX",
                   help="without fiducials: a box of the face, registered slice to slice "
                        "(drift and shear together)")
    p.add_argument("--edge", metavar="BOX",
                   help="box holding the face's top edge: measure the shear")
    p.add_argument("--angle", type=float,
                   help="SEM viewing angle to the face, degrees (54 Zeiss, 52 FEI): shear and "
                        "1/sin stretch")
    p.add_argument("--direction", type=int, default=-1, choices=[-1, 1],
                   help="face content moves up (-1, default) or down (+1) per slice")
    p.add_argument("--shear", default="geometry", choices=["geometry", "measured"],
                   help="shear applied: from the angle, or measured on --edge")
    p.add_argument("--roi", metavar="BOX", help="the face in slice 0, y0:y1,x0:x1")
    p.add_argument("--isotropic", action="store_true",
                   help="resample y to the x pixel size (cubic voxels)")
    p.add_argument("--destripe-sigma", type=float, default=2.0,
                   help="stripe band half-width, frequency bins (default %(default)s)")
    p.add_argument("--no-destripe", action="store_true", help="skip destriping")
    p.add_argument("--background", default="polynomial", choices=["polynomial", "gaussian"])
    p.add_argument("--no-background", action="store_true", help="skip shading correction")


def _add_segment(p) -> None:
    p.add_argument("--labels", help="sparse training labels (0 = unlabelled), same shape as "
                                    "the preprocessed stack")
    p.add_argument("--label-voxel-size", help="voxel size of the label file if it has none "
                                              "(only its shape is used)")
    p.add_argument("--phases", help="class names, e.g. pore=1,solid=2")
    p.add_argument("--sigmas", help="feature scales in voxels, e.g. 0.7,1,1.6,3.5,5")
    p.add_argument("--trees", type=int, default=64, help="trees of the forest")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-memory", type=float, default=1024,
                   help="MiB for one feature block (default %(default)s)")


def register(subparsers) -> None:
    """Add ``ionscale fibsem`` and its verbs."""
    fib = subparsers.add_parser("fibsem", help="FIB-SEM stacks: alignment, shear, destriping, "
                                               "trainable segmentation")
    verbs = fib.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("align", help="drift, shear and stretch correction, crop (and "
                                       "destripe and shading unless --only-align)")
    _add_stack(p)
    _add_preprocess(p)
    p.add_argument("--only-align", action="store_true", help="no destriping or shading")
    p.add_argument("--out", help="corrected stack (TIFF)")
    add_output_options(p)
    p.set_defaults(func=_align)

    p = verbs.add_parser("destripe", help="remove curtaining stripes (vertical)")
    _add_stack(p)
    p.add_argument("--method", default="fft", choices=["fft", "wavelet-fft"])
    p.add_argument("--destripe-sigma", type=float, default=2.0,
                   help="stripe band half-width, frequency bins")
    p.add_argument("--out", help="destriped stack (TIFF)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_destripe)

    p = verbs.add_parser("segment", help="trainable segmentation of a preprocessed stack "
                                         "from sparse labels")
    _add_stack(p)
    _add_segment(p)
    p.add_argument("--out", help="labelled volume (.tif, .h5, .zarr)")
    add_output_options(p)
    p.set_defaults(func=_segment)

    p = verbs.add_parser("pipeline", help="raw slices to segmented volume: align, destripe, "
                                          "shading, segment")
    _add_stack(p)
    _add_preprocess(p)
    _add_segment(p)
    p.add_argument("--out", help="labelled volume (.tif, .h5, .zarr)")
    p.add_argument("--save-stack", metavar="TIF", help="also write the corrected stack")
    add_output_options(p)
    p.set_defaults(func=_pipeline)

    register_correlate(subparsers)



# ====================================================================== correlate


def _names(text: str | None, option: str):
    if not text:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise InputError(f"{option} {text!r}", field=option,
                         expected="comma-separated names, e.g. Zr,Co")
    return names


def _pair_m(text: str | None, option: str):
    if not text:
        return None
    from ..units import parse_quantity

    parts = [t.strip() for t in text.split(",")]
    if len(parts) != 2:
        raise InputError(f"{option} {text!r}", field=option,
                         expected="'y,x' with units, e.g. '20 um,4 um'")
    return tuple(parse_quantity(v, "m", field=option) for v in parts)


def _fuse(args):
    from .eds import read_eds_map, read_sims_map
    from .fusion import fuse_slices
    from .maps import MapSeries
    from .readers import write_stack

    if len(args.eds) != len(args.sims):
        raise InputError(f"{len(args.eds)} EDS files and {len(args.sims)} SIMS files",
                         field="--sims", expected="one SIMS file per EDS file (slice)")
    if not args.slice_thickness:
        raise InputError("no slice thickness", field="--slice-thickness", expected="'60 nm'")
    elements = _names(args.eds_elements, "--eds-elements")
    isotopes = _names(args.sims_isotopes, "--sims-isotopes")
    eo, so = _pair_m(args.eds_origin, "--eds-origin"), _pair_m(args.sims_origin,
                                                                "--sims-origin")
    eds = [read_eds_map(f, elements=elements, pixel_size=args.eds_pixel_size, origin=eo,
                        index=k) for k, f in enumerate(args.eds)]
    sims = [read_sims_map(f, isotopes=isotopes, pixel_size=args.sims_pixel_size,
                          origin=so or (0.0, 0.0), index=k) for k, f in enumerate(args.sims)]
    tracer = args.tracer if args.tracer in sims[0].channels else None
    res = fuse_slices(MapSeries(tuple(eds), args.slice_thickness, "EDS"),
                      MapSeries(tuple(sims), args.slice_thickness, "SIMS"),
                      eds_channels=_names(args.eds_channels, "--eds-channels"),
                      sims_channels=_names(args.sims_channels, "--sims-channels"),
                      tracer=tracer, other=args.other, method=args.method,
                      min_overlap=args.min_overlap, min_ncc=args.min_ncc,
                      rotation=args.rotation, align_slices=not args.no_align,
                      progress=not args.no_progress)
    if getattr(args, "out", None) and res.stack is not None:
        write_stack(res.stack, args.out, overwrite=args.force)
    return res


def _correlate_fuse(args) -> int:
    print_result(_fuse(args), args.json, args.plot)
    return 0


def _correlate_phases(args) -> int:
    from .phases import identify_phases, phase_chemistry

    fused = _fuse(args)
    if fused.stack is None:
        print_result(fused, args.json, None)
        return 0
    rules = parse_pairs(args.rules, "--rules", str, "LLZTO=Zr,LCO=Co", "an element")
    vol = identify_phases(fused.stack, rules, method=args.phase_method,
                          threshold=args.threshold)
    if args.labels_out:
        from ..io.volume import write_volume

        write_volume(vol, args.labels_out, overwrite=args.force)
    chem = phase_chemistry(fused.stack, vol, tracer=fused.fraction_channel and args.tracer,
                           other=args.other, erode=args.erode)
    print_result(chem, args.json, args.plot)
    return 0


def _correlate_stats(args) -> int:
    import numpy as np

    from .correlate import correlate_channels
    from .maps import normalise_array

    pair = _names(args.pair, "--pair")
    if not pair or len(pair) != 2:
        raise InputError(f"--pair {args.pair!r}", field="--pair",
                         expected="two channel names, e.g. 7Li,Zr")
    fused = _fuse(args)
    if fused.stack is None:
        print_result(fused, args.json, None)
        return 0
    st = fused.stack
    a = normalise_array(np.asarray(st.channel(pair[0])), args.normalisation)
    b = normalise_array(np.asarray(st.channel(pair[1])), args.normalisation)
    res = correlate_channels(a, b, names=(pair[0], pair[1]),
                             correlation_length=args.correlation_length)
    print_result(res, args.json, args.plot)
    return 0


def _add_correlate(p) -> None:
    p.add_argument("--eds", nargs="+", required=True, metavar="FILE",
                   help="EDS map file of each slice, in milling order (multi-channel TIFF, "
                        ".h5oina, or text with one element)")
    p.add_argument("--sims", nargs="+", required=True, metavar="FILE",
                   help="SIMS map file of each slice (multi-channel TIFF or text blocks)")
    p.add_argument("--eds-elements", help="EDS channel names in file order, e.g. Zr,Co,Al,C")
    p.add_argument("--sims-isotopes", default="6Li,7Li",
                   help="SIMS channel names in file order (default %(default)s)")
    p.add_argument("--eds-pixel-size", help="EDS pixel size (default: from the files)")
    p.add_argument("--sims-pixel-size", help="SIMS pixel size, e.g. '72 nm'")
    p.add_argument("--slice-thickness", help="milled slice thickness, e.g. '60 nm'")
    p.add_argument("--eds-origin", help="nominal EDS corner 'y,x', e.g. '20 um,4 um'")
    p.add_argument("--sims-origin", help="nominal SIMS corner 'y,x'")
    p.add_argument("--eds-channels", help="EDS channels registered, e.g. Zr,Co")
    p.add_argument("--sims-channels", help="SIMS channels registered, e.g. 6Li,7Li")
    p.add_argument("--tracer", default="6Li", help="tracer isotope (default %(default)s)")
    p.add_argument("--other", default="7Li", help="other isotope (default %(default)s)")
    p.add_argument("--method", default="ncc", choices=["ncc", "mi"],
                   help="registration measure")
    p.add_argument("--min-overlap", type=float, default=0.2,
                   help="smallest overlap, fraction of the smaller map (default %(default)s)")
    p.add_argument("--min-ncc", type=float, default=0.3, help="smallest peak NCC accepted")
    p.add_argument("--rotation", action="store_true", help="also estimate rotation/scale")
    p.add_argument("--no-align", action="store_true",
                   help="keep the EDS origins (no slice-to-slice alignment)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    add_output_options(p)


def register_correlate(subparsers) -> None:
    """Add ``ionscale correlate`` and its verbs."""
    cor = subparsers.add_parser("correlate", help="correlative EDS + SIMS serial sections: "
                                                  "registration, fusion, phases, statistics")
    verbs = cor.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    p = verbs.add_parser("fuse", help="register SIMS on EDS per slice and fuse into a volume")
    _add_correlate(p)
    p.add_argument("--out", help="fused stack (TIFF, counts, z×c×y×x)")
    p.set_defaults(func=_correlate_fuse)
    p = verbs.add_parser("phases", help="fuse, then phases, fractions, contacts and the "
                                        "per-phase 6Li fraction")
    _add_correlate(p)
    p.add_argument("--rules", help="marker element per phase, e.g. LLZTO=Zr,LCO=Co,Al2O3=Al,"
                                   "carbon=C (default: these)")
    p.add_argument("--phase-method", default="rules", choices=["rules", "kmeans"])
    p.add_argument("--threshold", type=float, default=0.15,
                   help="smallest scaled marker of a phase")
    p.add_argument("--erode", type=int, default=3,
                   help="in-plane erosion before the Li fraction, voxels")
    p.add_argument("--labels-out", help="labelled volume (.tif, .h5, .zarr)")
    p.set_defaults(func=_correlate_phases)
    p = verbs.add_parser("stats", help="fuse, then covariance and Pearson r of two channels")
    _add_correlate(p)
    p.add_argument("--pair", required=True, help="two channels, e.g. 7Li,Zr")
    p.add_argument("--normalisation", default="log",
                   choices=["log", "minmax", "percentile", "none"])
    p.add_argument("--correlation-length", type=float, default=1.0,
                   help="voxels, for the effective number of voxels")
    p.set_defaults(func=_correlate_stats)
