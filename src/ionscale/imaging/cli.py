"""``ionscale fibsem ...`` commands: align, destripe, segment, pipeline.

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

