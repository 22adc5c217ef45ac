"""FIB-SEM stack preprocessing and trainable segmentation (and, later, correlative EDS/SIMS
map fusion): from raw slices to a labelled :class:`~ionscale.microstructure.volume.Volume`.

* :mod:`~ionscale.imaging.image`: the data objects, :class:`Image` (2D image or map with pixel
  size, origin, channels) and :class:`ImageStack` (slices with slice thickness);
* :mod:`~ionscale.imaging.readers`: TIFF stacks (one file per slice or multi-page) with the
  pixel size from the metadata, HDF5/zarr stacks read lazily slice by slice, and writing;
* :mod:`~ionscale.imaging.registration`: phase correlation, masked NCC, rotation/scale,
  stack drift;
* :mod:`~ionscale.imaging.preprocess`: FIB-SEM geometry (shear, foreshortening), alignment and
  cropping, destriping, shading correction;
* :mod:`~ionscale.imaging.features`: per-voxel filter features (Gaussian, gradient, LoG, DoG,
  Hessian and structure-tensor eigenvalues), chunked and parallel;
* :mod:`~ionscale.imaging.forest`: a random-forest classifier (numba);
* :mod:`~ionscale.imaging.segmentation`: training from sparse labels, chunked prediction,
  porosity uncertainty, saving and loading trained models;
* :mod:`~ionscale.imaging.pipeline`: everything in one call.

Correlative EDS + SIMS (seed 003):

* :mod:`~ionscale.imaging.maps`: element/isotope maps (an :class:`Image` per slice),
  :class:`MapSeries`, normalisation, the isotope-fraction channel;
* :mod:`~ionscale.imaging.eds`: EDS readers (TIFF, text, multi-channel TIFF, ``.h5oina``,
  ``.bcf`` through the optional RosettaSciIO) and SIMS maps through :mod:`ionscale.io.sims`;
* :mod:`~ionscale.imaging.resample`: Lanczos and counts-conserving area resampling;
* :mod:`~ionscale.imaging.fusion`: map registration on partial overlap, fusion into a volume;
* :mod:`~ionscale.imaging.correlate`: covariance, Pearson r, product map, histograms, profiles;
* :mod:`~ionscale.imaging.phases`: phase identification and per-phase chemistry.

This package imports :mod:`ionscale.microstructure.volume` (the Volume data object its output
is) and nothing else of another technique.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    ".image": ["Image", "ImageStack", "as_image", "as_stack", "pixel_size_2"],
    ".readers": ["LazyArray", "read_image", "read_stack", "write_stack"],
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
    ".segmentation": ["SegmentationResult", "Segmenter", "fraction_uncertainty", "segment_stack",
                      "train_segmenter"],
    ".pipeline": ["PreprocessResult", "estimate_shear", "fibsem_pipeline", "preprocess_stack"],
    ".maps": ["MapSeries", "add_isotope_fraction", "element_of", "make_map", "normalise",
              "normalise_array"],
    ".eds": ["read_bcf", "read_eds_map", "read_h5oina", "read_sims_map"],
    ".resample": ["Grid", "coverage", "resample"],
    ".correlate": ["ChannelCorrelation", "correlate_channels", "correlation_histogram",
                   "line_profile", "product_map"],
    ".fusion": ["FusionResult", "MapRegistration", "fuse_slices", "register_maps",
                "structural_image"],
    ".phases": ["PhaseChemistry", "identify_phases", "phase_chemistry"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
