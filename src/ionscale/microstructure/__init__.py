"""Metrics on segmented 3D volumes (FIB-SEM, X-ray tomography).

Volumes are ``(z, y, x)`` label arrays with a voxel size per axis in metres; every metric takes
a :class:`Volume` (or an array and ``voxel_size``) and a phase, and names its conventions.

* :mod:`~ionscale.microstructure.fractions`: volume fractions, slice profiles, REV;
* :mod:`~ionscale.microstructure.connectivity`: components (6/18/26), faces, percolation;
* :mod:`~ionscale.microstructure.tortuosity`: tortuosity factor τ (diffusion solve,
  TauFactor's convention: τ = 1 for an open block; τ, not τ²);
* :mod:`~ionscale.microstructure.geodesic`: geodesic maps and geometric tortuosity;
* :mod:`~ionscale.microstructure.thickness`: local thickness (exact and fast; diameter or
  radius);
* :mod:`~ionscale.microstructure.pores`: pore size distribution, watershed splitting;
* :mod:`~ionscale.microstructure.memory`: memory a metric needs, checked before a run;
* :mod:`~ionscale.microstructure.metrics`: all of it in one call.

Readers and writers are in :mod:`ionscale.io.volume`.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    ".connectivity": ["PercolationResult", "component_faces", "label_components", "percolation"],
    ".fractions": [
        "REVResult",
        "SliceProfile",
        "VolumeFractions",
        "representative_volume",
        "slice_fractions",
        "volume_fractions",
    ],
    ".geodesic": ["GeodesicResult", "geodesic_distance", "geometric_tortuosity", "minimal_path"],
    ".memory": ["check_memory", "estimate_memory"],
    ".metrics": ["PARTS", "MicrostructureMetrics", "microstructure_metrics"],
    ".pores": ["PoreSizeResult", "pore_size_distribution", "watershed_split"],
    ".thickness": ["ThicknessResult", "local_thickness", "thickness_statistics"],
    ".tortuosity": ["TortuosityResult", "tortuosity_factor"],
    ".volume": ["Volume", "as_volume", "check_labels", "resolve_phase", "voxel_size_3"],
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "PARTS",
    "GeodesicResult",
    "MicrostructureMetrics",
    "PercolationResult",
    "PoreSizeResult",
    "REVResult",
    "SliceProfile",
    "ThicknessResult",
    "TortuosityResult",
    "Volume",
    "VolumeFractions",
    "as_volume",
    "check_labels",
    "check_memory",
    "component_faces",
    "estimate_memory",
    "geodesic_distance",
    "geometric_tortuosity",
    "label_components",
    "local_thickness",
    "microstructure_metrics",
    "minimal_path",
    "percolation",
    "pore_size_distribution",
    "representative_volume",
    "resolve_phase",
    "slice_fractions",
    "thickness_statistics",
    "tortuosity_factor",
    "volume_fractions",
    "voxel_size_3",
    "watershed_split",
]
