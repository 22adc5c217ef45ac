"""Helpers for quantities with independent one-σ errors (scalars or arrays, SI).

Every derived-quantity function (Nernst-Einstein, conductivity, capacitance, effective medium,
relaxation) takes a plain number, an array or a :class:`~ionscale.results.Value` and returns a
``Value``; these helpers do the splitting, checking and first-order propagation once.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .results import Value


def value_and_error(x, error=None, *, field: str, positive: bool = True,
                    allow_zero: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Split an input into value and error arrays, accepting Estimate/Value or plain numbers.

    Parameters
    ----------
    x : float, array_like, Estimate or Value
        The quantity (SI).
    error : float or array_like, optional
        Its one-σ error; taken from ``x`` when it is an Estimate/Value, else 0.
    field : str
        Argument name used in error messages.
    positive : bool
        Require ``x > 0`` (``x >= 0`` with ``allow_zero``).
    allow_zero : bool
        Accept zeros when ``positive``.

    Returns
    -------
    value, error : ndarray (float)
    """
    if isinstance(x, Value):
        if error is None:
            error = x.error
        x = x.value
    try:
        v = np.asarray(x, dtype=float)
        e = np.asarray(0.0 if error is None else error, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"cannot read {x!r} as a number", field=field,
                         expected="a number or array (SI)") from None
    e = np.where(np.isnan(e), 0.0, e)
    if not np.all(np.isfinite(v)):
        raise InputError("value is NaN or inf", field=field, expected="finite values")
    if positive:
        bad = v < 0 if allow_zero else v <= 0
        if np.any(bad):
            raise InputError(f"non-positive value {v[bad].ravel()[0]:.4g}",
                             field=field, expected=f"{field} > 0 (SI)")
    if np.any(e < 0) or not np.all(np.isfinite(e)):
        raise InputError("error must be finite and >= 0", field=f"{field}_error",
                         expected="a standard error >= 0")
    try:
        np.broadcast_shapes(v.shape, e.shape)
    except ValueError:
        raise InputError(f"error shape {e.shape} does not match value shape {v.shape}",
                         field=f"{field}_error", expected="matching shapes") from None
    return v, e


def as_scalar(a):
    """A 0-d array as a float; arrays unchanged (float)."""
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a


def propagate_relative(value, *terms) -> np.ndarray:
    """Error of a product of powers: ``value · sqrt(Σ (p_i e_i / x_i)²)``.

    ``terms`` are ``(x, e, p)`` triples of an independent input, its error and its power.
    """
    rel2 = 0.0
    for x, e, p in terms:
        rel2 = rel2 + (p * e / x) ** 2
    return np.abs(value) * np.sqrt(rel2)


def broadcast_inputs(*arrays, fields):
    """``np.broadcast_arrays`` with an :class:`InputError` naming ``fields`` on mismatch."""
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(f"{f}{np.shape(a)}" for f, a in zip(fields, arrays, strict=True))
        raise InputError(f"shapes do not broadcast: {shapes}", field=fields[0],
                         expected="arrays of equal length or scalars") from None
