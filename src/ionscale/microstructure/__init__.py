"""Metrics on segmented 3D volumes (FIB-SEM, X-ray tomography).

Volumes are ``(z, y, x)`` label arrays with a voxel size per axis in metres. Readers are in
:mod:`ionscale.io.volume`.
"""

from .volume import Volume, as_volume, check_labels, resolve_phase, voxel_size_3

__all__ = ["Volume", "as_volume", "check_labels", "resolve_phase", "voxel_size_3"]
