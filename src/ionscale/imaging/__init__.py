"""FIB-SEM stack preprocessing and trainable segmentation (and, later, correlative EDS/SIMS
map fusion): from raw slices to a labelled :class:`~ionscale.microstructure.volume.Volume`.

* :mod:`~ionscale.imaging.image`: the data objects, :class:`Image` (2D image or map with pixel
  size, origin, channels) and :class:`ImageStack` (slices with slice thickness);
* :mod:`~ionscale.imaging.readers`: TIFF stacks (one file per slice or multi-page) with the
  pixel size from the metadata, and writing;
* :mod:`~ionscale.imaging.registration`: phase correlation, masked NCC, rotation/scale,
  stack drift;
* :mod:`~ionscale.imaging.preprocess`: FIB-SEM geometry (shear, foreshortening), alignment and
  cropping, destriping, shading correction;
* :mod:`~ionscale.imaging.features`: per-voxel filter features, chunked and parallel;
* :mod:`~ionscale.imaging.forest`: a random-forest classifier (numba);
* :mod:`~ionscale.imaging.segmentation`: training from sparse labels and chunked prediction;
* :mod:`~ionscale.imaging.pipeline`: everything in one call.

This package imports :mod:`ionscale.microstructure.volume` (the Volume data object its output
is) and nothing else of another technique.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    ".image": ["Image", "ImageStack", "as_image", "as_stack", "pixel_size_2"],
    ".readers": ["read_image", "read_stack", "write_stack"],
    ".registration": [
        "Shift",
        "StackRegistration",
        "Transform2D",
        "masked_correlation",
        "phase_correlation",
        "register_rotation_scale",
        "register_stack",
        "shift_image",
        "warp_image",
    ],
    ".preprocess": [
        "FibsemGeometry",
        "align_stack",
        "common_field_of_view",
        "correct_background",
        "destripe",
    ],
    ".features": ["FeatureSpec", "feature_names", "voxel_features", "estimate_feature_memory"],
    ".forest": ["RandomForest"],
    ".segmentation": ["SegmentationResult", "Segmenter", "segment_stack", "train_segmenter"],
    ".pipeline": ["PreprocessResult", "estimate_shear", "fibsem_pipeline", "preprocess_stack"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
