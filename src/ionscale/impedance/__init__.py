"""Impedance spectroscopy of solid electrolytes.

Readers are in :mod:`ionscale.io.eis`.
"""

from .data import Spectrum, spectrum_from_arrays

__all__ = ["Spectrum", "spectrum_from_arrays"]
