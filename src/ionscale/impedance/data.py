"""The data object of the impedance technique: one spectrum Z(f).

Convention: ``Z = Z' + j Z''`` in ohm, so a capacitive arc has ``Z'' < 0`` (plotted as
``-Z''`` upwards in a Nyquist plot). Frequencies are in Hz (not rad/s), strictly increasing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Spectrum:
    """One impedance sweep, sorted by increasing frequency.

    Build it with :func:`spectrum_from_arrays`, which checks the data and sorts them.

    Attributes
    ----------
    frequency : ndarray
        Hz, strictly increasing, positive.
    impedance : ndarray
        Complex Z in ohm (``Z' + j Z''``).
    sigma : ndarray or None
        One-σ uncertainty of each point, ohm, applying to the real and the imaginary part alike
        (None: unknown).
    time : ndarray or None
        Time of each point, s, from ``start_time`` (or from the start of the file).
    start_time : str or None
        ISO 8601 time stamp of the start of the sweep, when the file has one.
    temperature : float or None
        K.
    source : str or None
        File the spectrum was read from.
    sweep : int or None
        0-based index of the sweep within a multi-sweep file.
    metadata : dict
        Instrument settings, areas, DC levels... as read from the file.
    """

    frequency: np.ndarray
    impedance: np.ndarray
    sigma: np.ndarray | None = None
    time: np.ndarray | None = None
    start_time: str | None = None
    temperature: float | None = None
    source: str | None = None
    sweep: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.frequency.size)

    @property
    def omega(self) -> np.ndarray:
        """Angular frequency ω = 2πf, rad s⁻¹."""
        return 2 * np.pi * self.frequency

    @property
    def real(self) -> np.ndarray:
        return self.impedance.real

    @property
    def imag(self) -> np.ndarray:
        return self.impedance.imag

    @property
    def admittance(self) -> np.ndarray:
        return 1.0 / self.impedance

    @property
    def label(self) -> str:
        """A short name: file (and sweep) or temperature."""
        name = self.source.rsplit("/", 1)[-1] if self.source else "spectrum"
        if self.sweep is not None:
            name += f"#{self.sweep}"
        return name

    def select(self, fmin: float | None = None, fmax: float | None = None) -> Spectrum:
        """The points with ``fmin <= f <= fmax`` (Hz)."""
        keep = np.ones(self.frequency.size, bool)
        if fmin is not None:
            keep &= self.frequency >= fmin
        if fmax is not None:
            keep &= self.frequency <= fmax
        if not keep.any():
            raise InputError(f"no point between {fmin} and {fmax} Hz", file=self.source,
                             field="frequency", expected="a range that holds data")
        return self._subset(keep)

    def positive_imaginary_removed(self) -> Spectrum:
        """Drop inductive points (``Z'' > 0``), as is usual before fitting capacitive arcs."""
        keep = self.impedance.imag <= 0
        if not keep.any():
            raise InputError("every point has Z'' > 0", file=self.source, field="Z''",
                             expected="a capacitive part (Z'' < 0)")
        return self._subset(keep)

    def _subset(self, keep: np.ndarray) -> Spectrum:
        return replace(
            self,
            frequency=self.frequency[keep],
            impedance=self.impedance[keep],
            sigma=None if self.sigma is None else self.sigma[keep],
            time=None if self.time is None else self.time[keep],
        )


def spectrum_from_arrays(
    frequency,
    impedance=None,
    *,
    real=None,
    imag=None,
    sigma=None,
    time=None,
    start_time: str | None = None,
    temperature: float | None = None,
    source: str | None = None,
    sweep: int | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Spectrum:
    """Check and sort measured arrays into a :class:`Spectrum`.

    Parameters
    ----------
    frequency : array_like
        Hz, positive, strictly monotonic (increasing or decreasing; a decreasing sweep is
        reversed).
    impedance : array_like of complex, optional
        Z in ohm; or give ``real`` and ``imag`` (Z' and Z'', ohm; Z'' < 0 for a capacitor).
    sigma : array_like, optional
        One-σ uncertainty of each point, ohm.
    time : array_like, optional
        Time of each point, s.
    start_time, temperature, source, sweep, metadata
        See :class:`Spectrum` (temperature in K).

    Raises
    ------
    InputError
        NaN or infinite values, zero or negative frequencies, duplicated or non-monotonic
        frequencies, mismatched lengths, fewer than 3 points. The message names ``source``, the
        field and the first offending point.

    Examples
    --------
    >>> s = spectrum_from_arrays([1e3, 1e2, 1e1], real=[1, 2, 3], imag=[-1, -2, -1])
    >>> s.frequency
    array([  10.,  100., 1000.])
    """
    f = np.asarray(frequency, dtype=float).ravel()
    if impedance is not None:
        z = np.asarray(impedance, dtype=complex).ravel()
    elif real is not None and imag is not None:
        re = np.asarray(real, dtype=float).ravel()
        im = np.asarray(imag, dtype=float).ravel()
        if re.size != im.size:
            raise InputError(f"{re.size} real but {im.size} imaginary values", file=source,
                             field="Z''", expected="one Z'' per Z'")
        z = re + 1j * im
    else:
        raise InputError("no impedance given", file=source, field="impedance",
                         expected="impedance=complex array, or real= and imag=")
    if f.size != z.size:
        raise InputError(f"{f.size} frequencies but {z.size} impedances", file=source,
                         field="frequency", expected="one frequency per impedance")
    if f.size < 3:
        raise InputError(f"only {f.size} points", file=source, field="frequency",
                         expected="at least 3 points")
    _check_finite(f, "frequency", source)
    _check_finite(z.real, "Z'", source)
    _check_finite(z.imag, "Z''", source)
    if np.any(f <= 0):
        i = int(np.flatnonzero(f <= 0)[0])
        raise InputError(f"frequency {f[i]:g} Hz at point {i + 1}", file=source,
                         field="frequency", expected="frequencies > 0 Hz")
    step = np.diff(f)
    if np.any(step == 0):
        i = int(np.flatnonzero(step == 0)[0])
        raise InputError(f"frequency {f[i]:g} Hz repeated at points {i + 1} and {i + 2}",
                         file=source, field="frequency",
                         expected="distinct frequencies (split multi-sweep files first)")
    if not (np.all(step > 0) or np.all(step < 0)):
        direction = np.sign(step[0])
        i = int(np.flatnonzero(np.sign(step) != direction)[0])
        raise InputError(
            f"frequencies are not monotonic: {f[i]:g} Hz then {f[i + 1]:g} Hz at point {i + 2}",
            file=source, field="frequency",
            expected="one monotonic sweep (split multi-sweep files first)")
    extras = {}
    for name, arr in (("sigma", sigma), ("time", time)):
        if arr is None:
            extras[name] = None
            continue
        a = np.asarray(arr, dtype=float).ravel()
        if a.size != f.size:
            raise InputError(f"{a.size} values for {f.size} frequencies", file=source,
                             field=name, expected="one per frequency")
        _check_finite(a, name, source)
        extras[name] = a
    if extras["sigma"] is not None and np.any(extras["sigma"] <= 0):
        raise InputError("uncertainties must be positive", file=source, field="sigma",
                         expected="sigma > 0")
    order = np.argsort(f)
    return Spectrum(
        frequency=f[order],
        impedance=z[order],
        sigma=None if extras["sigma"] is None else extras["sigma"][order],
        time=None if extras["time"] is None else extras["time"][order],
        start_time=start_time,
        temperature=None if temperature is None else float(temperature),
        source=None if source is None else str(source),
        sweep=sweep,
        metadata=dict(metadata or {}),
    )


def _check_finite(a: np.ndarray, name: str, source: str | None) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{int(bad.sum())} non-finite value(s), first at point {i + 1}",
                         file=source, field=name, expected="finite numbers")
