"""Readers of NMR measurements: PFG echo decays, relaxation times, TopSpin exports.

Every reader returns the data objects of :mod:`ionscale.nmr.data` (or, for TopSpin's T1/T2
module, :class:`RelaxationCurve`), SI inside: b in s m⁻², g in T m⁻¹, δ and Δ in s, T in K,
relaxation times in s, frequencies in Hz. Files are opened read-only and never changed.

=============================  ===============================================================
reader                         input
=============================  ===============================================================
:func:`read_pfg_table`         delimited text: a column of gradient g *or* of b, a column of
                               intensity, optionally one of its error; δ, Δ, nucleus and
                               temperature from keywords, ``# key: value`` lines or columns
:func:`read_relaxation_table`  delimited text: temperature (K or °C) and T1/T1ρ/T2 (s, ms...)
                               or a rate R1/R1ρ/R2 (1/s), optionally an error column
:func:`read_topspin_relaxation`  TopSpin's T1/T2 relaxation module export (``ct1t2.txt``;
                               decimal commas read; a diffusion export is refused)
:func:`read_bruker_pfg`        a Bruker experiment directory (``acqus``, ``ser``,
                               ``difflist``) of a pseudo-2D diffusion experiment
=============================  ===============================================================

Layout of a PFG table (:func:`read_pfg_table`)
----------------------------------------------
::

    # nucleus: 7Li
    # delta: 2 ms
    # Delta: 100 ms
    # temperature: 120 degC
    g (G/cm)    I        sigma
    20          0.998    0.004
    60          0.955    0.004
    ...

================  ==========================================  =================================
column / key      header names (case-insensitive)              units (from the header)
================  ==========================================  =================================
gradient g        ``g``, ``gradient``, ``grad``, ``gz``        ``G/cm``, ``T/m``, ``mT/m``...
b (instead of g)  ``b``, ``b-value``, ``bvalue``, ``k``        ``s/m2``, ``s/mm2``, ``1e9 s/m2``
intensity         ``I``, ``intensity``, ``signal``, ``S``,     none (any scale)
                  ``I/I0``, ``S/S0``, ``integral``, ``area``,
                  ``expt``, ``amplitude``
error (optional)  ``error``, ``err``, ``sigma``, ``sd``,       as the intensity
                  ``std``, ``uncertainty``, ``dI``, and
                  intensity word + error word either way
                  (``intensity_err``, ``intensity_error``,
                  ``sigma_I``, ``d_intensity``...)
δ, Δ (optional)   ``delta``/``δ``/``little delta``;            ``ms``, ``us``, ``s``
                  ``Delta``/``Δ``/``big delta`` (case matters:
                  ``delta`` is δ, ``Delta`` is Δ)
temperature       ``T``, ``temp``, ``temperature``             ``K``, ``°C``/``degC``
================  ==========================================  =================================

``# key: value`` (or ``key = value``) lines before the numbers give δ, Δ (``# delta: 2 ms``,
``# Delta: 100 ms``, also ``little delta``/``big delta``/``diffusion time``), ``nucleus``,
``temperature`` (``# temperature: 120 degC``); quantities are read with
:func:`ionscale.units.parse_quantity`. Keyword arguments win over columns, columns over
metadata lines. With a gradient column b = γ²g²δ²(Δ − δ/3) (rectangular pulses,
:func:`ionscale.nmr.bvalues.b_value`; ``gradient_shape=``, ``sequence=`` and ``tau=`` change
it), so δ, Δ and the nucleus are then required. Every number must be finite: NaN, ``inf`` or
``1e400`` anywhere raise :class:`~ionscale.errors.InputError` naming the file, column and line.

Layout of a relaxation table (:func:`read_relaxation_table`)
------------------------------------------------------------
::

    # nucleus: 7Li
    # frequency: 155.4 MHz
    T (K)    T1 (ms)   T1 error (ms)
    300      120.5     2.1
    ...

The kind (``T1``, ``T1rho``, ``T2``) comes from the header of the time column (``T1``,
``T1rho``/``T1ρ``/``T1r``, ``T2``, or rates ``R1``, ``R1rho``, ``R2``, ``1/T1``) unless
``kind=`` is given. Rates are inverted (T = 1/R, σ_T = σ_R / R²).

Bruker conventions (:func:`read_bruker_pfg`)
--------------------------------------------
* Parameter files (``acqus``, ``acqu2s``, ``procs``) are read by a bounded JCAMP-DX parser:
  a file cut inside an array or a ``<string>``, or without ``##END=``, and a parameter that is
  not a finite number (``##$TD= !0``) raise InputError naming the file and the parameter.
* Δ = ``D20`` (s), as in Bruker's diffusion pulse programs.
* δ from ``P30`` (µs): bipolar programs (name containing ``bp``, e.g. ``ledbpgp2s``,
  ``stebpgp1s``, ``dstebpgp3s``, or no ``PULPROG`` at all) apply a pair of gradient pulses of
  length P30, so δ = 2·P30; monopolar programs (``stegp1s``, ``ledgp2s``) have δ = P30. With
  P30 = 0, δ (and with D20 = 0, Δ) is taken from ``diff.xml`` (an element or attribute
  ``littleDelta``/``bigDelta``, unit attribute or suffix; bare numbers are ms) or from the title
  ``pdata/1/title`` (``little delta = 2 ms``, ``Delta = 100 ms``; a unit is required).
  ``delta=`` and ``Delta=`` override all of these.
* Sequence from ``PULPROG`` (``sequence=`` overrides): ``bp`` → bipolar pairs (13-interval)
  with a gap τ = D16 + P2 between the lobes (P2 = 0 is taken as 2·P1; ``tau=`` overrides);
  ``dste`` → double stimulated echo, D20 the total diffusion time (two halves of Δ/2);
  ``ste``/``led`` → stimulated echo; other names monopolar; one-shot programs are refused.
* Gradient shape from ``GPNAM6`` (``gradient_shape=`` overrides): the shape file itself when it
  lies in the experiment directory (sampled, exact), else the named shape in closed form:
  ``SMSQ10.100`` (smoothed square, sin² edges over 10 %, σ = 0.9), ``SINE.100`` (σ = 2/π),
  ``RECT.1`` (σ = 1); an unknown name is refused. Without GPNAM6 rectangular pulses are
  assumed and the assumption becomes a ``fixed-choice`` diagnostic of the fit.
  b = γ²g²σ²δ²·t_d with t_d the shape's and sequence's effective diffusion time
  (:func:`ionscale.nmr.bvalues.b_value`); ``PFGData.b_formula`` says which formula, shape,
  sequence, δ, Δ and τ were used and where each came from.
* Gradients from ``difflist`` (one value per line, G/cm, Bruker's convention); failing that,
  from a ``Difframp`` ramp (fractions of the maximum) times ``GPZ6`` (%) times
  ``gradient_calibration`` (the gradient at 100 %).
* Processing of each row: digital filter removed (:func:`nmrglue.bruker.remove_digital_filter`,
  from ``DECIM``/``DSPFVS``/``GRPDLY``), first point halved (FCOR 0.5), zero filled to a power
  of two at least ``zero_fill`` times the length, FFT (:func:`nmrglue.proc_base.fft`). The
  chemical-shift axis is ppm = ((SFO1 − SF)·10⁶ + f)/SF with f the offset from the carrier and
  SF from ``pdata/1/procs`` (else ``BF1``, else SFO1). The region is integrated either after a
  zero-order phase that makes the integral of the strongest row real and positive
  (``phase="auto"``, the same phase for every row), after a fixed zero-order phase in degrees,
  or in magnitude mode (``phase="magnitude"``, biased upwards at low signal-to-noise).
  A float64 ``ser`` holding NaN or inf, or FIDs so large that the spectra overflow, raise
  InputError.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..nmr.data import PFGData, RelaxationData
from ..units import ZERO_CELSIUS, parse_quantity, unit_factor
from .pfg_sequences import SEQUENCES
from .text import read_lines, read_table, split_unit

__all__ = [
    "SEQUENCES",
    "RelaxationCurve",
    "read_bruker_pfg",
    "read_pfg_table",
    "read_relaxation_table",
    "read_topspin_relaxation",
]

# --------------------------------------------------------------------------------------------
# unit labels and metadata lines
# --------------------------------------------------------------------------------------------

_CELSIUS = {"°c", "degc", "deg c", "c", "oc", "celsius", "° c", "ºc"}
_META_LINE = re.compile(r"^\s*[#%;!*]*\s*(?P<key>[^:=#]+?)\s*[:=]\s*(?P<value>\S.*?)\s*$")


def _parse_metadata(lines: Sequence[str]) -> dict[str, str]:
    """``key: value`` / ``key = value`` pairs of header lines (keys as written)."""
    out: dict[str, str] = {}
    for ln in lines:
        m = _META_LINE.match(ln)
        if m:
            out[m.group("key").strip()] = m.group("value").strip()
    return out


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower()).strip()


def _meta_role(key: str) -> str | None:
    """Role of a metadata key: delta, Delta, nucleus, temperature, frequency or kind."""
    raw = key.strip()
    low = _norm(raw)
    if raw in ("delta", "δ", "little delta") or low in (
            "little delta", "small delta", "gradient duration", "gradient pulse length",
            "gradient length", "pulse length"):
        return "delta"
    if raw in ("Delta", "DELTA", "Δ") or low in ("big delta", "diffusion time",
                                                 "diffusion delay", "large delta"):
        return "Delta"
    if low in ("nucleus", "nuc", "nuc1", "isotope", "observe nucleus"):
        return "nucleus"
    if low in ("temperature", "temp", "t", "te", "sample temperature"):
        return "temperature"
    if low in ("frequency", "larmor frequency", "larmor", "spectrometer frequency", "sfo1",
               "resonance frequency", "spin lock frequency", "spin-lock frequency"):
        return "frequency"
    if low in ("kind", "relaxation", "relaxation kind"):
        return "kind"
    return None


def _roles(meta: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Map role -> (key as written, value) for the metadata lines that have one."""
    out: dict[str, tuple[str, str]] = {}
    for key, value in meta.items():
        role = _meta_role(key)
        if role is not None and role not in out:
            out[role] = (key, value)
    return out


def _quantity(value: Any, unit: str, field_name: str, file: str | None) -> float:
    """A keyword or metadata value (number in SI, or ``"2 ms"``) as an SI float."""
    out = parse_quantity(value, unit, field=field_name, file=file)
    if not math.isfinite(out):
        raise InputError(f"{field_name} is not finite", file=file, field=field_name,
                         expected=f"a finite quantity in {unit}")
    return out


def _kelvin(values: np.ndarray, unit: str | None, *, file: str | None, field_name: str,
            table=None) -> np.ndarray:
    """Temperatures in the header's unit (K, mK or °C) to K (InputError on NaN, inf or ≤ 0 K,
    naming the line when ``table`` is given)."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        k = int(bad[0])
        raise InputError(f"temperature {values[k]!r} is not finite", file=file,
                         field=field_name, line=None if table is None else table.line_of(k),
                         expected="finite temperatures")
    if unit is None:
        raise InputError("the temperature column states no unit", file=file, field=field_name,
                         expected="a header such as 'T (K)' or 'T (°C)'")
    u = unit.strip().lower()
    if u in _CELSIUS:
        out = values + ZERO_CELSIUS
    else:
        factor = None if ("deg" in u or "°" in u) else unit_factor(unit, "K")
        if factor is None:
            raise InputError(f"unknown temperature unit {unit!r}", file=file, field=field_name,
                             expected="K or °C")
        out = values * factor
    bad = np.flatnonzero(out <= 0)
    if bad.size:
        raise InputError("temperature at or below 0 K", file=file, field=field_name,
                         line=None if table is None else table.line_of(int(bad[0])),
                         expected="temperatures above 0 K")
    return out


def _gamma(nucleus: str, *, file: str | None = None, field_name: str = "nucleus") -> float:
    """γ of ``nucleus`` (rad s⁻¹ T⁻¹), InputError when unknown."""
    from ..nmr.bvalues import gamma

    try:
        return float(gamma(nucleus))
    except InputError as exc:
        raise InputError(exc.message, file=file, field=field_name,
                         expected=exc.expected or "a known nucleus such as '7Li'") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"unknown nucleus {nucleus!r} ({exc})", file=file, field=field_name,
                         expected="a known nucleus such as '7Li', '1H', '19F'") from None


def _b_values(g: np.ndarray, delta, Delta, nucleus: str, *, shape="rectangular",
              sequence: str = "spin-echo", tau=None, file: str | None = None) -> np.ndarray:
    from ..nmr.bvalues import b_value

    try:
        b = b_value(g, delta, Delta, nucleus, shape=shape, sequence=sequence, tau=tau)
    except InputError as exc:
        raise InputError(exc.message, file=file, field=exc.field,
                         expected=exc.expected) from None
    return np.asarray(b, dtype=float) * np.ones_like(g)


def _single(values: np.ndarray) -> float | None:
    """The value of a constant column (None when it varies)."""
    return float(values[0]) if np.allclose(values, values[0], rtol=1e-9, atol=0) else None


# --------------------------------------------------------------------------------------------
# PFG tables
# --------------------------------------------------------------------------------------------

_GRADIENT_NAMES = {"g", "gradient", "grad", "gz", "g z", "gradient strength", "field gradient",
                   "gradient amplitude"}
_B_NAMES = {"b", "b value", "bvalue", "k", "b factor"}
_INTENSITY_NAMES = {"i", "intensity", "signal", "s", "i/i0", "s/s0", "e", "integral", "area",
                    "amplitude", "expt", "echo", "echo intensity", "attenuation",
                    "normalized intensity", "normalised intensity", "echo attenuation"}
_ERROR_NAMES = {"error", "err", "sigma", "σ", "sd", "std", "stdev", "std dev", "uncertainty",
                "di", "ds", "i error", "intensity error", "signal error", "±", "+/-",
                "i err", "s err", "σi", "σs"}
_TEMPERATURE_NAMES = {"t", "temp", "temperature"}
#: "<intensity word> <error word>" and the reverse (``intensity_err``, ``sigma_I``,
#: ``d_intensity``, ``signal error``...), matched on the normalised name.
_ERR_WORDS = r"(?:err|errs|error|errors|sigma|σ|sd|std|stdev|std dev|uncertainty|unc)"
_SIG_WORDS = (r"(?:i|s|intensity|intensities|signal|integral|area|amplitude|echo|expt|"
              r"attenuation|i/i0|s/s0)")
_ERROR_PATTERN = re.compile(rf"^(?:{_SIG_WORDS} ?{_ERR_WORDS}|{_ERR_WORDS} ?(?:of )?{_SIG_WORDS}"
                            rf"|(?:d|δ|σ) ?{_SIG_WORDS})$")


def _is_error_name(name: str) -> bool:
    return name in _ERROR_NAMES or bool(_ERROR_PATTERN.match(name))


def _column_roles(columns: Sequence[str]) -> dict[str, tuple[int, str | None]]:
    """Role -> (column index, unit label) for the columns of a PFG table."""
    roles: dict[str, tuple[int, str | None]] = {}
    for j, name in enumerate(columns):
        full = _norm(name)
        bare, unit = split_unit(name)
        low = _norm(bare)
        role = None
        if _is_error_name(full):  # before split_unit reads "intensity_err" as "intensity" [err]
            role, unit = "error", None
        elif full in _INTENSITY_NAMES:
            role, unit = "intensity", None
        elif low in _GRADIENT_NAMES:
            role = "gradient"
        elif low in _B_NAMES:
            role = "b"
        elif low in _INTENSITY_NAMES:
            role = "intensity"
        elif _is_error_name(low):
            role = "error"
        elif bare.strip() in ("delta", "δ") or low == "little delta":
            role = "delta"
        elif bare.strip() in ("Delta", "Δ", "DELTA") or low in ("big delta", "diffusion time"):
            role = "Delta"
        elif low in _TEMPERATURE_NAMES:
            role = "temperature"
        if role is not None and role not in roles:
            roles[role] = (j, unit)
    return roles


def read_pfg_table(
    path: str | os.PathLike,
    *,
    delta: float | str | None = None,
    Delta: float | str | None = None,
    nucleus: str | None = None,
    temperature: float | str | None = None,
    gradient_unit: str | None = None,
    b_unit: str | None = None,
    gradient_shape=None,
    sequence: str | None = None,
    tau: float | str | None = None,
) -> PFGData:
    """Read a PFG echo decay from a delimited text file (layout in the module docstring).

    Parameters
    ----------
    path : str or PathLike
        The file (opened read-only).
    delta : float or str, optional
        Gradient pulse length δ: a number in s or a quantity such as ``"2 ms"``. Wins over a
        ``delta`` column and a ``# delta:`` line.
    Delta : float or str, optional
        Diffusion time Δ, s (or a quantity string).
    nucleus : str, optional
        ``"7Li"``, ``"1H"``...; needed with a gradient column.
    temperature : float or str, optional
        Sample temperature, K (or ``"120 degC"``).
    gradient_unit : str, optional
        Unit of the gradient column (``"G/cm"``, ``"T/m"``); wins over the header's unit.
    b_unit : str, optional
        Unit of the b column (``"s/m2"``, ``"s/mm2"``); wins over the header's unit.
    gradient_shape, sequence, tau : optional
        With a gradient column: the pulse shape (``"rectangular"`` by default, ``"sine"``,
        ``"SMSQ10.100"``...), the sequence (``"spin-echo"`` by default, ``"stimulated"``,
        ``"bipolar"``) and the bipolar gap τ (s), as in :func:`ionscale.nmr.bvalues.b_value`.

    Returns
    -------
    PFGData
        b in s m⁻², the gradient in T m⁻¹ when the file gives g, δ and Δ in s, T in K; how b
        was obtained in ``b_formula``.

    Raises
    ------
    InputError
        No gradient/b or intensity column, a column without a unit, negative g or b,
        missing δ/Δ/nucleus when b must be computed, an unknown nucleus, non-positive errors.

    Examples
    --------
    >>> data = read_pfg_table("llto_393K.txt", delta="2 ms", Delta="100 ms")  # doctest: +SKIP
    >>> data.b[:3]  # s/m^2                                                   # doctest: +SKIP
    """
    file = os.fspath(path)
    table = read_table(path)
    meta = _parse_metadata(table.header)
    meta_roles = _roles(meta)
    roles = _column_roles(table.columns) if table.has_header else {}
    if not table.has_header:
        # no header: column 1 is g (gradient_unit given) or b (b_unit given), then I, error
        first = "gradient" if gradient_unit is not None else "b" if b_unit is not None else None
        if first is None:
            raise InputError("the file has no header naming its columns", file=file,
                             field="columns",
                             expected="a header such as 'g (G/cm)  I' or gradient_unit=/b_unit=")
        roles = {first: (0, None)}
        if table.data.shape[1] > 1:
            roles["intensity"] = (1, None)
        if table.data.shape[1] > 2:
            roles["error"] = (2, None)
    if "intensity" not in roles:
        others = [j for j in range(len(table.columns))
                  if j not in {idx for idx, _ in roles.values()}]
        # unnamed columns: one left is the intensity, two are intensity and error
        if len(others) in (1, 2) and ("gradient" in roles or "b" in roles):
            roles["intensity"] = (others[0], None)
            if len(others) == 2 and "error" not in roles:
                roles["error"] = (others[1], None)
    if "gradient" not in roles and "b" not in roles:
        raise InputError("no gradient or b column", file=file, field="columns",
                         expected=f"a column named g/gradient or b among {list(table.columns)}")
    if "intensity" not in roles:
        raise InputError("no intensity column", file=file, field="columns",
                         expected=f"a column named I/intensity/signal among "
                                  f"{list(table.columns)}")
    jI = roles["intensity"][0]
    signal = table.data[:, jI].astype(float)
    if not np.all(np.isfinite(signal)):
        bad = int(np.flatnonzero(~np.isfinite(signal))[0])
        raise InputError("intensity is not finite", file=file, field=table.columns[jI],
                         line=table.line_of(bad), expected="finite numbers")
    sigma = None
    if "error" in roles:
        jE = roles["error"][0]
        sigma = table.data[:, jE].astype(float)
        bad = np.flatnonzero(~(np.isfinite(sigma) & (sigma > 0)))
        if bad.size:
            raise InputError(f"error {sigma[bad[0]]!r} is not positive", file=file,
                             field=table.columns[jE], line=table.line_of(int(bad[0])),
                             expected="errors > 0")

    def scalar_or_column(role: str, given, unit: str):
        """Keyword, then column, then metadata line: (scalar or None, per-row array or None)."""
        if given is not None:
            value = _quantity(given, unit, role, None)
            return value, None
        if role in roles:
            j, col_unit = roles[role]
            if role == "temperature":
                values = _kelvin(table.data[:, j], col_unit, file=file,
                                 field_name=table.columns[j], table=table)
            else:
                factor = unit_factor(col_unit, unit) if col_unit else None
                if factor is None:
                    raise InputError(f"cannot read the unit of column {table.columns[j]!r}",
                                     file=file, field=table.columns[j],
                                     expected=f"a header such as '{role} (ms)'")
                values = table.data[:, j] * factor
                bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
                if bad.size:
                    k = int(bad[0])
                    raise InputError(f"{role} {table.data[k, j]!r} is not a positive finite "
                                     "time", file=file, field=table.columns[j],
                                     line=table.line_of(k), expected=f"{role} > 0 ({unit})")
            return _single(values), values
        if role in meta_roles:
            key, text = meta_roles[role]
            return _quantity(text, unit, key, file), None
        return None, None

    d_val, d_rows = scalar_or_column("delta", delta, "s")
    D_val, D_rows = scalar_or_column("Delta", Delta, "s")
    T_val, _ = scalar_or_column("temperature", temperature, "K")
    if T_val is not None and T_val <= 0:
        raise InputError("temperature at or below 0 K", file=file, field="temperature",
                         expected="a temperature above 0 K")
    nuc = nucleus if nucleus is not None else meta_roles.get("nucleus", (None, None))[1]
    if nuc is not None:
        nuc = str(nuc).strip()
        _gamma(nuc, file=None if nucleus is not None else file)

    gradient = None
    if "gradient" in roles:
        j, col_unit = roles["gradient"]
        label = gradient_unit if gradient_unit is not None else col_unit
        if label is None:
            raise InputError("the gradient column states no unit", file=file,
                             field=table.columns[j],
                             expected="a header such as 'g (G/cm)' or gradient_unit='G/cm'")
        factor = unit_factor(label, "T/m")
        if factor is None:
            raise InputError(f"{label!r} is not a unit of field gradient", file=file,
                             field=table.columns[j], expected="G/cm, T/m or mT/m")
        gradient = table.data[:, j] * factor
        _check_nonnegative(gradient, table, j, "gradient")
        for role, val, rows in (("delta", d_val, d_rows), ("Delta", D_val, D_rows)):
            if val is None and rows is None:
                raise InputError(f"{role} is needed to compute b from the gradient", file=file,
                                 field=role,
                                 expected=f"{role}= (s), a '# {role}: ... ms' line or a "
                                          f"{role} column")
        if nuc is None:
            raise InputError("the nucleus is needed to compute b from the gradient", file=file,
                             field="nucleus",
                             expected="nucleus='7Li' or a '# nucleus: 7Li' line")
        dd = d_rows if d_rows is not None and d_val is None else d_val
        DD = D_rows if D_rows is not None and D_val is None else D_val
        if np.any(np.asarray(dd) <= 0) or np.any(np.asarray(DD) <= 0):
            raise InputError("δ and Δ must be positive", file=file, field="delta",
                             expected="delta > 0 and Delta > 0")
        if np.any(np.asarray(DD) < np.asarray(dd) / 3):
            raise InputError("Δ is shorter than δ/3", file=file, field="Delta",
                             expected="Delta > delta/3")
        shape = "rectangular" if gradient_shape is None else gradient_shape
        seq = "spin-echo" if sequence is None else sequence
        tau_s = None if tau is None else _quantity(tau, "s", "tau", None)
        b = _b_values(gradient, dd, DD, nuc, shape=shape, sequence=seq, tau=tau_s, file=file)
        if gradient_shape is None and sequence is None and tau is None:
            b_formula = ("b = γ²g²δ²(Δ − δ/3) (rectangular pulses, spin or stimulated echo; "
                         "Stejskal-Tanner) from the gradient column")
        else:
            b_formula = (f"b from the gradient column for {shape} pulses, {seq} sequence"
                         + ("" if tau_s is None else f", τ = {tau_s * 1e6:.4g} µs")
                         + " (ionscale.nmr.bvalues.b_value)")
    else:
        j, col_unit = roles["b"]
        label = b_unit if b_unit is not None else col_unit
        if label is None:
            raise InputError("the b column states no unit", file=file, field=table.columns[j],
                             expected="a header such as 'b (s/m2)' or b_unit='s/m2'")
        factor = unit_factor(label, "s/m^2")
        if factor is None:
            raise InputError(f"{label!r} is not a unit of b", file=file,
                             field=table.columns[j], expected="s/m2, s/mm2 or '1e9 s/m2'")
        b = table.data[:, j] * factor
        _check_nonnegative(b, table, j, "b")
        if gradient_shape is not None or sequence is not None or tau is not None:
            raise InputError("gradient_shape, sequence and tau only apply when b is computed "
                             "from a gradient column, and this file gives b",
                             file=file, field=table.columns[j],
                             expected="no gradient_shape/sequence/tau with a b column")
        b_formula = f"b read from column {table.columns[j]!r}"
    metadata: dict[str, Any] = {"columns": list(table.columns), "header": dict(meta)}
    if d_val is None and d_rows is not None:
        metadata["delta_per_row"] = d_rows
    if D_val is None and D_rows is not None:
        metadata["Delta_per_row"] = D_rows
    return PFGData(b=b, signal=signal, sigma=sigma, gradient=gradient, delta=d_val,
                   Delta=D_val, nucleus=nuc, temperature=T_val, source=file,
                   metadata=metadata, b_formula=b_formula)


def _check_nonnegative(values: np.ndarray, table, j: int, what: str) -> None:
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        k = int(bad[0])
        raise InputError(f"negative or non-finite {what} {table.data[k, j]!r}", file=table.path,
                         field=table.columns[j], line=table.line_of(k),
                         expected=f"{what} >= 0 (give gradient magnitudes; the sign does not "
                                  f"change b)")


# --------------------------------------------------------------------------------------------
# relaxation tables
# --------------------------------------------------------------------------------------------

_KINDS = {"t1": "T1", "t1rho": "T1rho", "t1ρ": "T1rho", "t1r": "T1rho", "t1 rho": "T1rho",
          "t2": "T2"}
_RATES = {"r1": "T1", "r1rho": "T1rho", "r1ρ": "T1rho", "r1r": "T1rho", "r1 rho": "T1rho",
          "r2": "T2", "1/t1": "T1", "1/t1rho": "T1rho", "1/t1ρ": "T1rho", "1/t2": "T2"}
_GENERIC_TIME = {"time", "relaxation time", "tau"}
_GENERIC_RATE = {"rate", "relaxation rate"}


def _kind_of(text: str) -> str | None:
    low = _norm(text).replace("ρ", "rho")
    return {"t1": "T1", "t1rho": "T1rho", "t1 rho": "T1rho", "t1r": "T1rho",
            "t2": "T2"}.get(low)


def read_relaxation_table(
    path: str | os.PathLike,
    *,
    kind: str | None = None,
    frequency: float | str | None = None,
    nucleus: str | None = None,
) -> RelaxationData:
    """Read relaxation times against temperature from a delimited text file.

    Parameters
    ----------
    path : str or PathLike
        The file (layout in the module docstring).
    kind : str, optional
        ``"T1"``, ``"T1rho"`` or ``"T2"``; taken from the header when omitted.
    frequency : float or str, optional
        Larmor frequency (spin-lock frequency for T1ρ), Hz or ``"155.4 MHz"``; else a
        ``# frequency:`` line.
    nucleus : str, optional
        ``"7Li"``...; else a ``# nucleus:`` line.

    Returns
    -------
    RelaxationData
        T in K, relaxation times and their errors in s.

    Raises
    ------
    InputError
        Missing temperature or time/rate column, a column without a unit, non-positive times,
        unknown kind.

    Examples
    --------
    >>> data = read_relaxation_table("llto_t1.txt")  # doctest: +SKIP
    >>> data.kind, data.time[:2]                       # doctest: +SKIP
    """
    file = os.fspath(path)
    table = read_table(path)
    meta = _parse_metadata(table.header)
    meta_roles = _roles(meta)
    if not table.has_header:
        raise InputError("the file has no header naming its columns", file=file,
                         field="columns", expected="a header such as 'T (K)  T1 (ms)'")
    jT = jt = jE = None
    T_unit = t_unit = e_unit = None
    header_kind = None
    is_rate = False
    for j, name in enumerate(table.columns):
        full = _norm(name).replace("ρ", "rho")
        bare, unit = split_unit(name)
        low = _norm(bare).replace("ρ", "rho")
        if jT is None and low in _TEMPERATURE_NAMES:
            jT, T_unit = j, unit
        elif jt is None and (low in _KINDS or low in _GENERIC_TIME or low in _RATES
                             or low in _GENERIC_RATE or full.split(" (")[0] in _RATES):
            jt, t_unit = j, unit
            key = low if low in _KINDS or low in _RATES else full.split(" (")[0]
            is_rate = key in _RATES or low in _GENERIC_RATE
            header_kind = _KINDS.get(key) or _RATES.get(key)
        elif jE is None and (low in _ERROR_NAMES or full in _ERROR_NAMES
                             or re.match(r"^(d|δ|σ|err |error |sigma )?(t1|t2|t1rho|r1|r2|r1rho)"
                                         r"( error| err| sd| sigma| std)?$", low)
                             and low not in _KINDS and low not in _RATES):
            jE, e_unit = j, unit
    if jT is None:
        raise InputError("no temperature column", file=file, field="columns",
                         expected=f"a column named T/temperature among {list(table.columns)}")
    if jt is None:
        raise InputError("no relaxation-time or rate column", file=file, field="columns",
                         expected=f"a column named T1, T1rho, T2, R1, R2 or time among "
                                  f"{list(table.columns)}")
    if kind is None:
        kind_meta = meta_roles.get("kind", (None, None))[1]
        kind = header_kind or (kind_meta and _kind_of(kind_meta))
        if kind is None:
            raise InputError("the kind of relaxation time is not stated", file=file,
                             field="kind", expected="kind='T1', 'T1rho' or 'T2', or a column "
                                                    "named T1/T1rho/T2/R1...")
    else:
        kind_norm = _kind_of(kind)
        if kind_norm is None:
            raise InputError(f"unknown kind {kind!r}", field="kind",
                             expected="'T1', 'T1rho' or 'T2'")
        kind = kind_norm
    T = _kelvin(table.data[:, jT], T_unit, file=file, field_name=table.columns[jT],
                table=table)
    si = "1/s" if is_rate else "s"
    if t_unit is None:
        raise InputError(f"column {table.columns[jt]!r} states no unit", file=file,
                         field=table.columns[jt],
                         expected="a header such as 'T1 (ms)' or 'R1 (1/s)'")
    factor = unit_factor(t_unit, si)
    if factor is None:
        raise InputError(f"{t_unit!r} is not a unit of {'rate' if is_rate else 'time'}",
                         file=file, field=table.columns[jt],
                         expected="1/s" if is_rate else "s, ms or us")
    values = table.data[:, jt] * factor
    bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
    if bad.size:
        raise InputError(f"{table.columns[jt]} {table.data[bad[0], jt]!r} is not positive",
                         file=file, field=table.columns[jt], line=table.line_of(int(bad[0])),
                         expected="positive relaxation times or rates")
    err = None
    if jE is not None:
        e_factor = unit_factor(e_unit, si) if e_unit else factor
        if e_factor is None:
            raise InputError(f"cannot read the unit {e_unit!r}", file=file,
                             field=table.columns[jE], expected=f"a unit of {si}")
        err = table.data[:, jE] * e_factor
        bad = np.flatnonzero(~(np.isfinite(err) & (err >= 0)))
        if bad.size:
            raise InputError("negative or non-finite error", file=file,
                             field=table.columns[jE], line=table.line_of(int(bad[0])),
                             expected="errors >= 0")
    if is_rate:
        time = 1.0 / values
        time_error = None if err is None else err / values**2
    else:
        time, time_error = values, err
    freq = None
    if frequency is not None:
        freq = _quantity(frequency, "Hz", "frequency", None)
    elif "frequency" in meta_roles:
        key, text = meta_roles["frequency"]
        freq = _quantity(text, "Hz", key, file)
    nuc = nucleus if nucleus is not None else meta_roles.get("nucleus", (None, None))[1]
    order = np.argsort(T, kind="stable")
    return RelaxationData(
        T=T[order], time=time[order],
        time_error=None if time_error is None else time_error[order], kind=kind,
        frequency=freq, nucleus=None if nuc is None else str(nuc).strip(), source=file,
        metadata={"columns": list(table.columns), "header": dict(meta),
                  "from_rate": is_rate})


# --------------------------------------------------------------------------------------------
# TopSpin T1/T2 module export (ct1t2.txt)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelaxationCurve:
    """One peak's (or integral region's) recovery or decay curve.

    Attributes
    ----------
    tau : ndarray
        Delays (vd list, τ), s.
    intensity : ndarray
        Intensity or integral at each delay (the spectrometer's scale).
    peak : int
        Index of the peak or integral region in the file (1-based, as TopSpin counts).
    fitted_time : float or None
        The relaxation time the software fitted (first component), s.
    source : str or None
        The file read.
    kind : str
        ``"T1"``, ``"T1rho"`` or ``"T2"``.
    region : tuple of float or None
        Integral region ``(lo, hi)`` in ppm (``lo == hi`` for a peak point).
    metadata : dict
        Fitted function, the software's other numbers (I[0], P, SD), calculated curve...
    """

    tau: np.ndarray
    intensity: np.ndarray
    peak: int
    fitted_time: float | None = None
    source: str | None = None
    kind: str = "T1"
    region: tuple[float, float] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.tau.size)


_TS_BLOCK = re.compile(
    r"(?P<n>\d+)\s+points?\s+for\s+(?P<what>Integral|Peak)\s+(?P<idx>\d+)\s*,?\s*"
    r"(?:Integral\s+Region\s+from\s+(?P<a>\S+)\s+to\s+(?P<b>\S+)\s*ppm"
    r"|Peak\s+Point\s+at\s+(?P<pk>\S+)\s*ppm)?", re.IGNORECASE)
_TS_TIME = re.compile(r"^\s*(?P<kind>T1rho|T1ρ|T1r|T1|T2)\s*=\s*(?P<value>\S.*)$",
                      re.IGNORECASE)
_TS_PAIR = re.compile(r"^\s*(?P<key>[A-Za-z][\w\[\]\s.]*?)\s*=\s*(?P<value>\S+)")
_TS_FUNCTION = re.compile(r"(?:Fitted\s+function\s*:?\s*|fit\s*:\s*)(?P<f>\S.*)$",
                          re.IGNORECASE)
_TS_BARE_FUNCTION = re.compile(r"^(?P<f>(?:I\[t\]|I\(t\)|f\(t\)|y)\s*=.*exp.*)$",
                                re.IGNORECASE)
_TS_NUMBER = re.compile(
    r"^(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<suffix>[A-Za-zµμ]*)$")
#: TopSpin's delay suffixes (vdlist notation) as unit labels for unit_factor
_TS_SUFFIX = {"": "s", "s": "s", "sec": "s", "m": "ms", "ms": "ms", "u": "us", "us": "us",
              "µ": "us", "μ": "us", "µs": "us", "μs": "us", "n": "ns", "ns": "ns",
              "k": "ks", "min": "min"}
_TS_TAU_NAMES = {"tau", "vd", "time", "delay", "vdlist", "t"}
_TS_I_NAMES = {"expt", "intensity", "integral", "area", "exp", "experiment", "i"}


_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+(?:[eE][-+]?\d+)?[A-Za-zµμ]*$")


def _decimal_point(token: str) -> str:
    """``"4,500"`` → ``"4.500"`` (TopSpin in a decimal-comma locale); other tokens unchanged."""
    t = token.strip()
    return t.replace(",", ".") if _DECIMAL_COMMA.match(t) else t


def _topspin_float(token: str, *, file: str, line: int, field_name: str) -> float:
    """A number of a TopSpin export (decimal comma accepted); InputError if not finite."""
    try:
        value = float(_decimal_point(token))
    except ValueError:
        raise InputError(f"cannot read {token!r} as a number", file=file, field=field_name,
                         line=line, expected="a number") from None
    if not math.isfinite(value):
        raise InputError(f"{field_name} {token!r} is not finite", file=file, field=field_name,
                         line=line, expected="a finite number")
    return value


def _topspin_seconds(token: str, *, file: str, line: int) -> float:
    m = _TS_NUMBER.match(_decimal_point(token))
    label = _TS_SUFFIX.get(m.group("suffix").lower() if m else "", None) if m else None
    factor = unit_factor(label, "s") if label is not None else None
    if m is None or factor is None:
        raise InputError(f"cannot read the delay {token!r}", file=file, field="tau", line=line,
                         expected="a number with an optional suffix s, m (ms) or u (µs)")
    value = float(m.group("num")) * factor
    if not math.isfinite(value):
        raise InputError(f"the delay {token!r} is not finite", file=file, field="tau",
                         line=line, expected="a finite delay")
    return value


_TS_DIFFUSION = re.compile(r"^\s*(?:diffusion\s*:|diff\.?\s*con\.?\s*=|big\s+delta\s*=|"
                           r"little\s+delta\s*=|gamma\s*=.*hz/g)", re.IGNORECASE)


def read_topspin_relaxation(path: str | os.PathLike) -> list[RelaxationCurve]:
    """Read TopSpin's T1/T2 relaxation module export (``pdata/<n>/ct1t2.txt``).

    The file holds a header (data set, fitted function such as ``I[t]=I[0]+P*exp(-t/T1)``),
    then for each peak or integral region a block introduced by a line like
    ``14 points for Integral 1, Integral Region from 5.12 to -4.88 ppm`` (or ``Peak Point at
    ... ppm``), the fitted numbers (``T1 = 1.234s``, ``I[0] = ...``, ``P = ...``, ``SD = ...``)
    and a table ``Point  Tau  Expt  Calc  Difference`` with delays written in TopSpin's
    vd-list notation (``10.000m`` = 10 ms, ``500u`` = 500 µs, ``1.5s``). Blocks are often
    separated by ``=====`` lines. A SIMFIT multi-component line (``T1 = 60.7m 1.76s``) keeps
    every component in ``metadata["components"]``; ``fitted_time`` is the first.

    Parameters
    ----------
    path : str or PathLike
        The file, or a ``pdata/<n>`` directory containing ``ct1t2.txt``.

    Returns
    -------
    list of RelaxationCurve
        One per peak/region, in file order.

    Raises
    ------
    InputError
        No such file, no delay table, a bad or non-finite delay or intensity, or a diffusion
        export (``Diffusion : Variable Gradient``, a ``Gradient`` column): its gradients are not
        delays; read such data with :func:`read_bruker_pfg`. Decimal commas (``4,500``) are
        read.

    Examples
    --------
    >>> curves = read_topspin_relaxation("3/pdata/1/ct1t2.txt")  # doctest: +SKIP
    >>> from ionscale.nmr.recovery import fit_inversion_recovery     # doctest: +SKIP
    >>> fit_inversion_recovery(curves[0])["T1"]                   # doctest: +SKIP
    """
    file = os.fspath(path)
    if os.path.isdir(file):
        file = os.path.join(file, "ct1t2.txt")
    if not os.path.isfile(file):
        raise InputError("no such file", file=file, field="ct1t2.txt",
                         expected="TopSpin's T1/T2 module export (pdata/<n>/ct1t2.txt)")
    lines = read_lines(file)
    function = None
    global_kind = None
    blocks: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    columns: list[str] | None = None

    def new_block(index: int, region, npoints: int | None) -> dict[str, Any]:
        return {"peak": index, "region": region, "npoints": npoints, "rows": [],
                "numbers": {}, "time": None, "components": (), "kind": None,
                "lines": []}

    def diffusion(lineno: int, what: str):
        return InputError(f"this is a TopSpin diffusion export ({what}), not T1/T2 relaxation "
                          "data: its gradients would be read as delays", file=file,
                          field="Diffusion", line=lineno,
                          expected="a T1/T2 export of a vd-list experiment; read diffusion "
                                   "data with ionscale.io.nmr.read_bruker_pfg on the "
                                   "experiment directory (ionscale nmr pfg DIR)")

    for lineno, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        if set(text) <= set("=-*_ "):
            columns = None
            continue
        if _TS_DIFFUSION.match(text):
            raise diffusion(lineno, repr(text[:40]))
        m = _TS_FUNCTION.search(text) or _TS_BARE_FUNCTION.match(text)
        if m and ("exp" in m.group("f").lower() or "I[" in m.group("f")):
            function = m.group("f").strip()
            k = re.search(r"/\s*(T1rho|T1ρ|T1r|T1|T2)\b", function, re.IGNORECASE)
            if k:
                global_kind = _kind_of(k.group(1))
            continue
        m = _TS_BLOCK.search(text)
        if m:
            if m.group("pk") is not None:
                pk = _topspin_float(m.group("pk"), file=file, line=lineno, field_name="region")
                region = (pk, pk)
            elif m.group("a") is not None:
                a, b = (_topspin_float(m.group(k), file=file, line=lineno, field_name="region")
                        for k in ("a", "b"))
                region = (min(a, b), max(a, b))
            else:
                region = None
            cur = new_block(int(m.group("idx")), region, int(m.group("n")))
            blocks.append(cur)
            columns = None
            continue
        tokens = text.split()
        if "=" not in text and (tokens[0].lower() == "point" or (
                columns is None and _norm(tokens[0]) in _TS_TAU_NAMES)):
            columns = [t.lower() for t in tokens]
            gcol = next((t for t in tokens if t.lower().startswith(("grad", "gi"))), None)
            if gcol is not None:
                raise diffusion(lineno, f"a {gcol!r} column")
            if cur is None:
                cur = new_block(len(blocks) + 1, None, None)
                blocks.append(cur)
            continue
        m = _TS_TIME.match(text)
        if m:
            if cur is None:
                cur = new_block(len(blocks) + 1, None, None)
                blocks.append(cur)
            comps = []
            for tok in m.group("value").split():
                try:
                    comps.append(_topspin_seconds(tok, file=file, line=lineno))
                except InputError:
                    break
            if comps and cur["time"] is None:
                cur["time"], cur["components"] = comps[0], tuple(comps)
                cur["kind"] = _kind_of(m.group("kind"))
            continue
        if columns is not None and cur is not None and re.match(r"^[-+]?\d", tokens[0]):
            cur["rows"].append((lineno, tokens))
            continue
        m = _TS_PAIR.match(text)
        if m and cur is not None:
            try:
                cur["numbers"][m.group("key").strip()] = float(_decimal_point(m.group("value")))
            except ValueError:
                cur["numbers"][m.group("key").strip()] = m.group("value")
    curves = []
    for blk in blocks:
        if not blk["rows"]:
            continue
        curves.append(_topspin_curve(blk, _columns_of(blk, lines), file, function, global_kind))
    if not curves:
        raise InputError("no delay/intensity table found", file=file, field="data",
                         expected="blocks with a 'Point Tau Expt Calc Difference' table")
    return curves


def _columns_of(block: Mapping[str, Any], lines: Sequence[str]) -> list[str]:
    """Column names of a block's table: the last 'Point ...' line above its first row."""
    first = block["rows"][0][0]
    for k in range(first - 2, -1, -1):
        tokens = lines[k].split()
        if tokens and (tokens[0].lower() == "point" or _norm(tokens[0]) in _TS_TAU_NAMES):
            return [t.lower() for t in tokens]
    return []


def _topspin_curve(blk: Mapping[str, Any], columns: list[str], file: str,
                   function: str | None, global_kind: str | None) -> RelaxationCurve:
    names = list(columns)
    # rows start with the point number when the header starts with 'point'
    tau_j = next((j for j, n in enumerate(names) if n.strip("[]()").split("/")[0]
                  in _TS_TAU_NAMES), None)
    int_j = next((j for j, n in enumerate(names) if n in _TS_I_NAMES), None)
    calc_j = next((j for j, n in enumerate(names) if n.startswith("calc")), None)
    if tau_j is None:
        tau_j = 1 if names and names[0] == "point" else 0
    if int_j is None:
        int_j = tau_j + 1
    tau, inten, calc = [], [], []
    for lineno, tokens in blk["rows"]:
        if len(tokens) <= max(tau_j, int_j):
            raise InputError(f"row has {len(tokens)} fields", file=file, field="data",
                             line=lineno, expected=f"at least {max(tau_j, int_j) + 1} fields")
        tau.append(_topspin_seconds(tokens[tau_j], file=file, line=lineno))
        inten.append(_topspin_float(tokens[int_j], file=file, line=lineno,
                                    field_name="intensity"))
        if calc_j is not None and len(tokens) > calc_j:
            try:
                calc.append(float(_decimal_point(tokens[calc_j])))
            except ValueError:
                pass
    tau_a = np.asarray(tau)
    if np.any(tau_a < 0):
        raise InputError("negative delay", file=file, field="tau",
                         line=blk["rows"][int(np.argmax(tau_a < 0))][0], expected="delays >= 0")
    meta: dict[str, Any] = {"function": function, "numbers": dict(blk["numbers"]),
                            "components": blk["components"], "npoints": blk["npoints"]}
    if calc and len(calc) == len(tau):
        meta["calc"] = np.asarray(calc)
    kind = blk["kind"] or global_kind or "T1"
    return RelaxationCurve(tau=tau_a, intensity=np.asarray(inten, dtype=float),
                           peak=int(blk["peak"]), fitted_time=blk["time"], source=file,
                           kind=kind, region=blk["region"], metadata=meta)


# --------------------------------------------------------------------------------------------
# Bruker pseudo-2D diffusion experiments
# --------------------------------------------------------------------------------------------


#: Bounds on a Bruker parameter file (acqus is ~10-100 kB): larger files, or arrays claiming more
#: values, are refused before any parsing work.
_JCAMP_MAX_BYTES = 16 << 20
_JCAMP_MAX_ITEMS = 1 << 20
_JCAMP_ARRAY = re.compile(r"^\(\s*(\d+)\s*\.\.\s*(\d+)\s*\)\s*(.*)$")
_JCAMP_TOKEN = re.compile(r"<[^<>]*>|<|[^\s<>]+")


def _jcamp_scalar(token: str) -> Any:
    """A JCAMP value as int, float or str (``<...>`` strings lose their brackets)."""
    t = token.strip()
    if t.startswith("<") and t.endswith(">"):
        return t[1:-1]
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def _read_jcamp(path: str) -> dict[str, Any]:
    """Parameters of a Bruker JCAMP-DX file (``acqus``, ``acqu2s``, ``procs``).

    A small bounded parser (nmrglue's loops for ever on a file cut inside an array or a
    ``<string>``): ``##$KEY= value`` lines, arrays ``(0..N)`` whose N + 1 values follow on the
    next lines, ``<strings>``; ``$$`` lines are comments. The file must end with ``##END=``.
    Values are int, float or str as written; checking that a number is a number is left to
    :func:`_num`, which names the field.
    """
    try:
        size = os.path.getsize(path)
        if size > _JCAMP_MAX_BYTES:
            raise InputError(f"{size} bytes is too large for a parameter file", file=path,
                             expected=f"a Bruker JCAMP-DX parameter file (< "
                                      f"{_JCAMP_MAX_BYTES >> 20} MiB)")
        with open(path, "rb") as fh:
            raw = fh.read(_JCAMP_MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read the parameter file ({exc.strerror or exc})", file=path,
                         expected="a readable Bruker JCAMP-DX parameter file") from None
    if b"\x00" in raw:
        raise InputError("the parameter file is binary", file=path,
                         expected="a Bruker JCAMP-DX parameter file (text)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = text.splitlines()
    out: dict[str, Any] = {}
    i, n, ended = 0, len(lines), False
    while i < n:
        stripped = lines[i].strip()
        lineno = i + 1
        i += 1
        if not stripped.startswith("##"):
            continue  # $$ comments, blank lines, data of blocks we do not read
        key, sep, value = stripped[2:].partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"line {stripped[:40]!r} has no '='", file=path, field="##",
                             line=lineno, expected="'##KEY= value' lines")
        if key.upper() == "END":
            ended = True
            break
        name = key[1:] if key.startswith("$") else key
        value = value.strip()
        m = _JCAMP_ARRAY.match(value)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            count = hi - lo + 1
            if count <= 0 or count > _JCAMP_MAX_ITEMS:
                raise InputError(f"array ({lo}..{hi}) of {name}", file=path, field=name,
                                 line=lineno, expected=f"(0..N) with N < {_JCAMP_MAX_ITEMS}")
            tokens: list[str] = []
            rest = m.group(3)
            while True:
                for tok in _JCAMP_TOKEN.findall(rest):
                    if tok == "<":
                        raise InputError(f"a <string> in array {name} is not closed",
                                         file=path, field=name, line=lineno,
                                         expected="strings closed by '>' (is the file cut?)")
                    tokens.append(tok)
                if len(tokens) >= count or i >= n or lines[i].lstrip().startswith("##"):
                    break
                rest = "" if lines[i].lstrip().startswith("$$") else lines[i]
                lineno = i + 1
                i += 1
            if len(tokens) != count:
                cut = " (the file ends inside it)" if i >= n else ""
                raise InputError(f"array {name} ({lo}..{hi}) holds {len(tokens)} of its "
                                 f"{count} values{cut}", file=path, field=name, line=lineno,
                                 expected=f"{count} values (is the file cut?)")
            out[name] = [_jcamp_scalar(t) for t in tokens]
        elif value.startswith("<"):
            start = lineno
            while not value.endswith(">"):
                if i >= n or lines[i].lstrip().startswith("##") or len(value) > 1 << 16:
                    raise InputError(f"the string <...> of {name} is not closed", file=path,
                                     field=name, line=start,
                                     expected="a string closed by '>' (is the file cut?)")
                value += "\n" + lines[i]
                i += 1
            out[name] = value[1:-1]
        else:
            out[name] = _jcamp_scalar(value) if value else ""
    if not ended:
        raise InputError("the file ends without '##END=' (cut short?)", file=path,
                         field="##END", line=n,
                         expected="a complete Bruker JCAMP-DX parameter file ending in ##END=")
    return out


def _num(acq: Mapping[str, Any], key: str, file: str, expected: str, *,
         required: bool = True, integer: bool = False, default: float | None = None):
    """A numeric parameter of a JCAMP file, checked: InputError naming the file and field when
    it is missing (and required), not a number, not finite, or not an integer when it must be."""
    value = acq.get(key)
    if value is None or value == "":
        if required:
            raise InputError(f"parameter {key} missing", file=file, field=key,
                             expected=expected)
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{key} = {value!r} is not a number", file=file, field=key,
                         expected=expected)
    if not math.isfinite(value):
        raise InputError(f"{key} = {value} is not finite", file=file, field=key,
                         expected=expected)
    if integer:
        if value != int(value):
            raise InputError(f"{key} = {value} is not an integer", file=file, field=key,
                             expected=expected)
        return int(value)
    return float(value)


def _list_item(acq: Mapping[str, Any], key: str, index: int, file: str | None = None
               ) -> float | None:
    """Item ``index`` of array parameter ``key`` (None when absent); InputError when it is
    there but not a finite number."""
    values = acq.get(key)
    if not isinstance(values, list) or len(values) <= index:
        return None
    value = values[index]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise InputError(f"{key}{index} = {value!r} is not a finite number", file=file,
                         field=f"{key}{index}", expected="a number")
    return float(value)


def _read_difflist(path: str) -> np.ndarray:
    """Gradients of a ``difflist`` (G/cm, one per line) in T/m."""
    factor = unit_factor("G/cm", "T/m")
    values = []
    for lineno, raw in enumerate(read_lines(path), start=1):
        text = raw.strip()
        if not text or text.startswith(("#", "$$", "##")):
            continue
        token = text.split()[0].rstrip(",;")
        try:
            g = float(_decimal_point(token))
        except ValueError:
            raise InputError(f"cannot read {token!r} as a gradient", file=path, field="gradient",
                             line=lineno, expected="one gradient in G/cm per line") from None
        if not math.isfinite(g) or g < 0:
            raise InputError(f"negative or non-finite gradient {g!r} G/cm", file=path,
                             field="gradient", line=lineno,
                             expected="gradient magnitudes >= 0 G/cm (the sign does not "
                                      "change b)")
        values.append(g * factor)
    if not values:
        raise InputError("the gradient list is empty", file=path, field="gradient",
                         expected="one gradient in G/cm per line")
    return np.asarray(values)


def _read_ramp(path: str) -> np.ndarray:
    """Fractions (0–1) of a Bruker ``Difframp`` gradient ramp file (percent if above 1)."""
    values = []
    for lineno, raw in enumerate(read_lines(path), start=1):
        text = raw.strip()
        if not text or text.startswith(("#", "$$")):
            continue
        token = re.split(r"[,;\s]+", text)[0]
        try:
            value = float(token)
        except ValueError:
            raise InputError(f"cannot read {token!r}", file=path, field="ramp", line=lineno,
                             expected="one gradient fraction per line") from None
        if not math.isfinite(value):
            raise InputError(f"gradient fraction {token!r} is not finite", file=path,
                             field="ramp", line=lineno, expected="finite fractions")
        values.append(value)
    ramp = np.asarray(values)
    if ramp.size == 0:
        raise InputError("the ramp is empty", file=path, field="ramp",
                         expected="gradient fractions")
    if np.any(ramp < 0):
        raise InputError("negative gradient fraction", file=path, field="ramp",
                         expected="fractions >= 0")
    return ramp / 100.0 if ramp.max() > 1.0 else ramp


def _gradients(directory: str, acq: Mapping[str, Any], acqus: str, calibration
               ) -> tuple[np.ndarray, dict[str, Any]]:
    difflist = os.path.join(directory, "difflist")
    if os.path.isfile(difflist):
        return _read_difflist(difflist), {"gradient_source": "difflist (G/cm)"}
    ramp_path = os.path.join(directory, "Difframp")
    if os.path.isfile(ramp_path):
        if calibration is None:
            raise InputError("a Difframp ramp needs the gradient calibration",
                             file=ramp_path, field="gradient_calibration",
                             expected="gradient_calibration= the gradient at 100 % "
                                      "(T/m, or a string such as '53.5 G/cm')")
        cal = _quantity(calibration, "T/m", "gradient_calibration", None)
        if not cal > 0:
            raise InputError("the calibration is not positive", field="gradient_calibration",
                             expected="a gradient > 0")
        gpz = _list_item(acq, "GPZ", 6, acqus)
        if gpz is None:
            raise InputError("GPZ6 (gradient amplitude, %) missing", file=acqus, field="GPZ",
                             expected="a GPZ list with index 6")
        ramp = _read_ramp(ramp_path)
        return cal * gpz / 100.0 * ramp, {"gradient_source": "Difframp × GPZ6 × calibration",
                                          "GPZ6_percent": gpz, "calibration_T_per_m": cal}
    raise InputError("no gradient list", file=difflist, field="difflist",
                     expected="a difflist (G/cm, one per line) or a Difframp with "
                              "gradient_calibration")


def _ser_shape(acq: Mapping[str, Any], acqus: str, ser: str) -> tuple[int, int, bool, bool]:
    """(rows, stored points per row, big-endian, float64) of a ``ser`` file."""
    td = _num(acq, "TD", acqus, "TD, the number of points of each FID (an integer)",
              integer=True)
    if td < 4:
        raise InputError(f"TD = {td}", file=acqus, field="TD", expected="TD >= 4")
    dtypa = _num(acq, "DTYPA", acqus, "0 (int32) or 2 (float64)", required=False,
                 integer=True, default=0)
    if dtypa not in (0, 2):
        raise InputError(f"DTYPA = {dtypa}", file=acqus, field="DTYPA",
                         expected="0 (int32) or 2 (float64)")
    byt = _num(acq, "BYTORDA", acqus, "0 (little endian) or 1 (big endian)", required=False,
               integer=True, default=0)
    if byt not in (0, 1):
        raise InputError(f"BYTORDA = {byt}", file=acqus, field="BYTORDA",
                         expected="0 (little endian) or 1 (big endian)")
    size = 8 if dtypa == 2 else 4
    block = 1024 // size  # FIDs start on 1024-byte boundaries
    padded = int(math.ceil(td / block) * block)
    fsize = os.path.getsize(ser)
    for stored in (padded, td):
        if fsize > 0 and stored % 2 == 0 and fsize % (stored * size) == 0:
            return fsize // (stored * size), stored, byt == 1, dtypa == 2
    raise InputError(f"{fsize} bytes are not a whole number of FIDs of TD = {td}", file=ser,
                     field="ser", expected=f"a multiple of {padded * size} bytes "
                                           f"(TD padded to 1024-byte blocks)")


def _read_ser(ser: str, rows: int, stored: int, big: bool, isfloat: bool, td: int
              ) -> np.ndarray:
    """The FIDs of ``ser`` as complex rows of TD/2 points; InputError on NaN or inf."""
    dtype = np.dtype((">" if big else "<") + ("f8" if isfloat else "i4"))
    try:
        raw = np.fromfile(ser, dtype=dtype, count=rows * stored)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the FIDs ({exc})", file=ser, field="ser",
                         expected="Bruker ser data matching acqus") from None
    if raw.size != rows * stored:
        raise InputError(f"{raw.size} values read, {rows * stored} expected", file=ser,
                         field="ser", expected="Bruker ser data matching acqus")
    raw = raw.reshape(rows, stored).astype(float)
    if isfloat:
        bad = ~np.isfinite(raw)
        if bad.any():
            r, c = (int(x) for x in np.argwhere(bad)[0])
            raise InputError(f"FID {r + 1} (row {r + 1} of {rows}) holds {raw[r, c]!r} at "
                             f"point {c // 2 + 1}", file=ser, field="ser",
                             expected="finite FID points")
    n = td // 2
    return raw[:, 0:2 * n:2] + 1j * raw[:, 1:2 * n:2]


def _spectra(directory: str, acq: dict[str, Any], acqus: str, ser: str, zero_fill: int
             ) -> tuple[np.ndarray, int, dict[str, Any]]:
    import nmrglue as ng

    aq_mod = _num(acq, "AQ_mod", acqus, "complex (AQ_mod 1 or 3, DQD) data", required=False,
                  integer=True, default=3)
    if aq_mod not in (1, 3):
        raise InputError(f"AQ_mod = {aq_mod} (real, sequential acquisition)", file=acqus,
                         field="AQ_mod", expected="complex (AQ_mod 1 or 3, DQD) data")
    rows, stored, big, isfloat = _ser_shape(acq, acqus, ser)
    td = int(acq["TD"])
    data = _read_ser(ser, rows, stored, big, isfloat, td)
    info: dict[str, Any] = {"n_rows": rows, "TD": td, "dtype": "float64" if isfloat else "int32"}
    grpdly = _num(acq, "GRPDLY", acqus, "the group delay in points", required=False,
                  default=-1.0)
    decim = _num(acq, "DECIM", acqus, "the decimation factor", required=False)
    dspfvs = _num(acq, "DSPFVS", acqus, "the DSP firmware version", required=False)
    if (decim is not None and dspfvs is not None) or grpdly > 0:
        filt = {"acqus": {"DECIM": int(decim) if decim is not None else 1,
                          "DSPFVS": int(dspfvs) if dspfvs is not None else 20,
                          "GRPDLY": grpdly}}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = ng.bruker.remove_digital_filter(filt, data)
        except (ValueError, KeyError, IndexError) as exc:
            raise InputError(f"cannot remove the digital filter ({exc})", file=acqus,
                             field="DSPFVS", expected="DECIM/DSPFVS in nmrglue's table or "
                                                      "GRPDLY > 0") from None
        info["digital_filter"] = {"DECIM": filt["acqus"]["DECIM"],
                                  "DSPFVS": filt["acqus"]["DSPFVS"], "GRPDLY": grpdly}
    else:
        info["digital_filter"] = "not removed (no DECIM/DSPFVS/GRPDLY)"
    n_acq = data.shape[1]
    if n_acq < 2:
        raise InputError(f"{n_acq} FID points left after the digital filter", file=acqus,
                         field="TD", expected="a longer FID (TD, GRPDLY)")
    data = data.copy()
    data[:, 0] *= 0.5
    nfft = 1 << int(math.ceil(math.log2(max(n_acq * max(int(zero_fill), 1), 2))))
    data = ng.proc_base.zf_size(data, nfft)
    with np.errstate(over="ignore", invalid="ignore"):
        spec = ng.proc_base.fft(data)
    if not np.all(np.isfinite(spec)):
        raise InputError("the spectra overflow (FID values too large to transform)", file=ser,
                         field="ser", expected="FID values well below 1e300")
    info["fft_size"] = nfft
    return spec, n_acq, info


def _ppm_axis(directory: str, acq: Mapping[str, Any], acqus: str, nfft: int
              ) -> tuple[np.ndarray, float]:
    sw = _num(acq, "SW_h", acqus, "SW_h, the spectral width in Hz (> 0)")
    sfo1 = _num(acq, "SFO1", acqus, "SFO1, the observe frequency in MHz (> 0)")
    if not (sw > 0 and sfo1 > 0):
        raise InputError("SW_h and SFO1 must be positive", file=acqus, field="SW_h",
                         expected="SW_h > 0 Hz and SFO1 > 0 MHz")
    sf = None
    procs = os.path.join(directory, "pdata", "1", "procs")
    if os.path.isfile(procs):
        sf = _num(_read_jcamp(procs), "SF", procs, "SF, the reference frequency in MHz",
                  required=False)
    if not sf:
        sf = _num(acq, "BF1", acqus, "BF1, the basic frequency in MHz", required=False)
    if not sf or sf <= 0:
        sf = sfo1
    f = (np.arange(nfft) - nfft // 2) * sw / nfft
    return ((sfo1 - sf) * 1e6 + f) / sf, sw / nfft


# ---- gradient shape, sequence, δ, Δ and τ of a Bruker data set --------------------------------

# Pulse-sequence names accepted by ``sequence=`` (and the CLI's ``--sequence``): SEQUENCES, in
# io.pfg_sequences. Spin and stimulated echoes share one b; ``double-*`` is a double stimulated
# echo (convection compensated, e.g. ``dstebpgp3s``) whose D20 is the total diffusion time,
# i.e. two halves of Δ/2 each; ``bipolar`` the 13-interval sequence with pairs of opposite
# lobes. Other names people use for them:
_SEQUENCE_ALIASES = {"pgse": "spin-echo", "se": "spin-echo", "monopolar": "stimulated",
                     "ste": "stimulated", "pgste": "stimulated", "led": "stimulated",
                     "stimulated-echo": "stimulated", "bp": "bipolar", "13-interval": "bipolar",
                     "dste": "double-stimulated", "dste-bipolar": "double-bipolar",
                     "double-stimulated-bipolar": "double-bipolar"}
_SEQUENCE_TEXT = {
    "spin-echo": "spin echo, one gradient pulse per encoding",
    "stimulated": "stimulated echo, one gradient pulse per encoding",
    "bipolar": "bipolar gradient pairs (13-interval), lobes of δ/2 separated by τ",
    "double-stimulated": "double stimulated echo: two stimulated echoes of Δ/2 each",
    "double-bipolar": "double stimulated echo with bipolar pairs: two halves of Δ/2 each, "
                      "lobes of δ/2 separated by τ",
}


def _sequence(pulprog: str, given: str | None) -> tuple[str, str]:
    """(sequence, where it came from) from ``sequence=`` or the pulse-program name."""
    if given is not None:
        key = str(given).strip().lower().replace("_", "-")
        seq = key if key in SEQUENCES else _SEQUENCE_ALIASES.get(key)
        if seq is None:
            raise InputError(f"unknown sequence {given!r}", field="sequence",
                             expected=f"one of {', '.join(SEQUENCES)}")
        return seq, "given"
    p = pulprog.strip().lower()
    if not p:
        return "bipolar", "assumed: no PULPROG in acqus"
    if "oneshot" in p:
        raise InputError(f"pulse program {pulprog!r}: one-shot sequences (unbalanced bipolar "
                         "pairs) have a b that ionscale does not compute", field="PULPROG",
                         expected="b computed elsewhere and read with read_pfg_table, or "
                                  "sequence= when the program is a standard one renamed")
    bipolar = "bp" in p
    if p.startswith("dste") or "dste" in p:
        return ("double-bipolar" if bipolar else "double-stimulated"), f"PULPROG {pulprog}"
    if bipolar:
        return "bipolar", f"PULPROG {pulprog}"
    if "ste" in p or "led" in p:
        return "stimulated", f"PULPROG {pulprog}"
    return "spin-echo", f"PULPROG {pulprog} (monopolar assumed)"


def _read_shape_file(path: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Samples (relative amplitude, 1 = 100 %) of a Bruker gradient shape file."""
    if os.path.getsize(path) > 4 << 20:
        raise InputError("too large for a gradient shape file", file=path, field="shape",
                         expected="a Bruker gradient shape (JCAMP, one amplitude per line)")
    values, info = [], {}
    for lineno, raw in enumerate(read_lines(path), start=1):
        text = raw.strip()
        if not text or text.startswith("$$"):
            continue
        if text.startswith("##"):
            key, _, value = text[2:].partition("=")
            if key.strip().lstrip("$").upper() == "SHAPE_INTEGFAC":
                info["SHAPE_INTEGFAC"] = value.strip()
            if key.strip().upper() == "END":
                break
            continue
        token = re.split(r"[,;\s]+", text)[0]
        try:
            v = float(token)
        except ValueError:
            raise InputError(f"cannot read {token!r}", file=path, field="shape", line=lineno,
                             expected="one gradient amplitude (%) per line") from None
        if not math.isfinite(v):
            raise InputError(f"amplitude {token!r} is not finite", file=path, field="shape",
                             line=lineno, expected="finite amplitudes")
        values.append(v)
    s = np.asarray(values)
    if s.size < 2 or not np.any(s):
        raise InputError(f"{s.size} amplitudes, none non-zero" if s.size else "no amplitudes",
                         file=path, field="shape",
                         expected="a gradient lobe of at least 2 amplitudes (%)")
    return (s / 100.0 if np.max(np.abs(s)) > 1.0 else s), info


def _gradient_shape(directory: str, acq: Mapping[str, Any], acqus: str, given
                    ) -> tuple[Any, str, str, dict[str, Any]]:
    """(shape for b_value, its name, where it came from, info) of the diffusion gradient."""
    from ..nmr.bvalues import pulse_shape_factors

    def analytic(name, field_name, file):
        try:
            pulse_shape_factors(name)
        except InputError as exc:
            raise InputError(exc.message, file=file, field=field_name,
                             expected=exc.expected) from None
        return name

    if given is not None:
        if isinstance(given, (str, os.PathLike)) and os.path.isfile(os.fspath(given)):
            samples, info = _read_shape_file(os.fspath(given))
            return samples, os.path.basename(os.fspath(given)), os.fspath(given), info
        if isinstance(given, str):
            return analytic(given, "gradient_shape", None), given, "given", {}
        samples = np.asarray(given, dtype=float)
        return samples, f"array of {samples.size} samples", "given", {}
    names = acq.get("GPNAM")
    name = names[6] if isinstance(names, list) and len(names) > 6 else None
    name = str(name).strip() if name is not None else ""
    if not name:
        return "rectangular", "rectangular", "assumed", {}
    for candidate in (os.path.join(directory, name), os.path.join(directory, "gpnam6")):
        if os.path.isfile(candidate):
            samples, info = _read_shape_file(candidate)
            return samples, name, candidate, info
    try:
        return analytic(name, "GPNAM6", acqus), name, "GPNAM6 in acqus", {}
    except InputError:
        raise InputError(f"gradient shape {name!r} (GPNAM6) is not one ionscale knows, and "
                         "its shape file is not in the experiment directory", file=acqus,
                         field="GPNAM6",
                         expected="gradient_shape= (--gradient-shape) 'SMSQ10.100', 'SINE.100', "
                                  "'RECT.1', 'rectangular', 'sine', or the path of the shape "
                                  "file (copy it into the experiment directory)") from None


_TITLE_DELTA = {
    "delta": re.compile(r"(?:[Ll]ittle\s*[Dd]elta|[Ss]mall\s*[Dd]elta|δ|\bdelta\b|\bd\b)\s*"
                        r"[=:]\s*(?P<num>[0-9]+(?:[.,][0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*"
                        r"(?P<unit>ms|us|µs|μs|s|m|u)\b"),
    "Delta": re.compile(r"(?:[Bb]ig\s*[Dd]elta|Δ|\bDelta\b|\bDELTA\b|[Dd]iffusion\s+time)\s*"
                        r"[=:]\s*(?P<num>[0-9]+(?:[.,][0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*"
                        r"(?P<unit>ms|us|µs|μs|s|m|u)\b"),
}
_XML_NAMES = {
    "delta": {"littledelta", "smalldelta", "gradientpulselength", "gradientduration",
              "gradientlength", "lildelta"},
    "Delta": {"bigdelta", "largedelta", "diffusiontime", "diffusiondelay"},
}


def _from_title(directory: str, role: str) -> tuple[float, str] | None:
    path = os.path.join(directory, "pdata", "1", "title")
    if not os.path.isfile(path) or os.path.getsize(path) > 1 << 20:
        return None
    m = _TITLE_DELTA[role].search("\n".join(read_lines(path)))
    if m is None:
        return None
    label = _TS_SUFFIX[m.group("unit").lower()] if m.group("unit").lower() in _TS_SUFFIX \
        else m.group("unit")
    value = float(m.group("num").replace(",", ".")) * unit_factor(label, "s")
    return value, f"title ({m.group(0).strip()})"


def _from_diff_xml(directory: str, role: str) -> tuple[float, str] | None:
    """δ or Δ from ``diff.xml`` (an element or attribute named littleDelta/bigDelta...)."""
    import xml.etree.ElementTree as ET

    path = os.path.join(directory, "diff.xml")
    if not os.path.isfile(path):
        return None
    if os.path.getsize(path) > 1 << 20:
        raise InputError("too large for diff.xml", file=path, field="diff.xml",
                         expected="TopSpin's diffusion parameters (XML, < 1 MiB)")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"cannot read diff.xml ({exc})", file=path, field="diff.xml",
                         expected="well-formed XML") from None

    def norm(tag: str) -> str:
        return re.sub(r"[^a-z]", "", tag.rsplit("}", 1)[-1].lower())

    found = []
    for el in root.iter():
        if norm(el.tag) in _XML_NAMES[role] and (el.text or "").strip():
            found.append((el.tag, el.text.strip(), el.get("unit") or el.get("units")))
        for key, value in el.attrib.items():
            if norm(key) in _XML_NAMES[role]:
                found.append((key, value.strip(), None))
    for tag, text, unit in found:
        m = _TS_NUMBER.match(_decimal_point(text.replace(" ", "")))
        if m is None:
            continue
        suffix = m.group("suffix").lower()
        label = unit or (_TS_SUFFIX.get(suffix) if suffix else None)
        assumed = label is None
        factor = unit_factor(label or "ms", "s")
        if factor is None:
            raise InputError(f"unit {label!r} of {tag}", file=path, field=tag,
                             expected="a time unit (ms, us, s)")
        value = float(m.group("num")) * factor
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{tag} = {text!r}", file=path, field=tag,
                             expected="a positive time")
        return value, f"diff.xml {tag}" + (" (ms assumed)" if assumed else "")
    return None


def _timing(directory: str, acq: Mapping[str, Any], acqus: str, seq: str, delta, Delta,
            tau) -> tuple[float, str, float, str, float | None, str | None]:
    """(δ, rule, Δ, rule, τ, rule) of a Bruker experiment; keywords win over the data set."""
    bipolar = seq in ("bipolar", "double-bipolar")
    if delta is not None:
        dl, d_rule = _quantity(delta, "s", "delta", None), "given"
    else:
        p30 = _list_item(acq, "P", 30, acqus)
        found = None
        if p30 is not None and p30 > 0:
            found = ((2.0 if bipolar else 1.0) * p30 * 1e-6,
                     "2*P30 (bipolar)" if bipolar else "P30 (monopolar)")
        found = found or _from_diff_xml(directory, "delta") or _from_title(directory, "delta")
        if found is None:
            raise InputError("P30 (gradient pulse length) missing or zero, and neither "
                             "diff.xml nor the title states δ", file=acqus, field="delta",
                             expected="P30 > 0 µs in acqus, a littleDelta in diff.xml, "
                                      "'little delta = 2 ms' in pdata/1/title, or delta= "
                                      "(--delta)")
        dl, d_rule = found
    if Delta is not None:
        DL, D_rule = _quantity(Delta, "s", "Delta", None), "given"
    else:
        d20 = _list_item(acq, "D", 20, acqus)
        found = (d20, "D20") if d20 is not None and d20 > 0 else None
        found = found or _from_diff_xml(directory, "Delta") or _from_title(directory, "Delta")
        if found is None:
            raise InputError("D20 (diffusion time) missing or zero", file=acqus,
                             field="Delta", expected="D20 > 0 s in acqus, diff.xml or the "
                                                     "title, or Delta= (--Delta)")
        DL, D_rule = found
    if not (dl > 0 and DL > 0 and DL > dl / 3):
        raise InputError(f"δ = {dl} s ({d_rule}), Δ = {DL} s ({D_rule})",
                         file=None if delta is not None and Delta is not None else acqus,
                         field="delta", expected="0 < delta and delta/3 < Delta")
    if not bipolar:
        if tau is not None:
            raise InputError(f"τ (the gap of bipolar pairs) given for a {seq} sequence",
                             field="tau", expected="tau only with bipolar sequences")
        return dl, d_rule, DL, D_rule, None, None
    if tau is not None:
        t = _quantity(tau, "s", "tau", None)
        if t < 0:
            raise InputError(f"τ = {t} s", field="tau", expected="tau >= 0 s")
        return dl, d_rule, DL, D_rule, t, "given"
    d16 = _list_item(acq, "D", 16, acqus) or 0.0
    p2 = _list_item(acq, "P", 2, acqus) or 0.0
    rule = "D16 + P2"
    if p2 <= 0:
        p2 = 2.0 * (_list_item(acq, "P", 1, acqus) or 0.0)
        rule = "D16 + 2*P1 (P2 = 0)"
    return dl, d_rule, DL, D_rule, d16 + p2 * 1e-6, rule


def _bruker_b(g, dl, DL, nuc, shape, seq, tau, acqus) -> tuple[np.ndarray, float, float]:
    """(b, σ of the shape, effective diffusion time t_d) with b = γ²g²σ²δ²·t_d."""
    from ..nmr.bvalues import b_value, diffusion_time, pulse_shape_factors

    double = seq.startswith("double")
    base = {"double-bipolar": "bipolar", "double-stimulated": "stimulated"}.get(seq, seq)
    Dl = DL / 2 if double else DL
    try:
        b = np.asarray(b_value(g, dl, Dl, nuc, shape=shape, sequence=base, tau=tau), float)
        td = float(diffusion_time(Dl, dl, shape=shape, sequence=base, tau=tau))
    except InputError as exc:
        raise InputError(exc.message, file=acqus, field=exc.field,
                         expected=exc.expected) from None
    sigma = float(pulse_shape_factors(shape)[0])
    if double:
        b, td = 2 * b, 2 * td
    return b * np.ones_like(g), sigma, td


def read_bruker_pfg(
    directory: str | os.PathLike,
    *,
    region: tuple[float, float] | None = None,
    delta: float | str | None = None,
    Delta: float | str | None = None,
    gradient_calibration: float | str | None = None,
    nucleus: str | None = None,
    phase: str | float = "auto",
    zero_fill: int = 2,
    noise_region: tuple[float, float] | None = None,
    gradient_shape=None,
    sequence: str | None = None,
    tau: float | str | None = None,
) -> PFGData:
    """Read a Bruker pseudo-2D PFG experiment into an echo decay (conventions in module notes).

    Parameters
    ----------
    directory : str or PathLike
        The experiment directory (EXPNO) holding ``acqus``, ``ser`` and ``difflist``.
    region : (float, float), optional
        Chemical-shift range to integrate, ppm (either order); the whole spectrum if omitted.
    delta : float or str, optional
        Gradient pulse length δ (s, or ``"2 ms"``): the whole pulse, or the total of one bipolar
        pair; default 2·P30 (bipolar programs) or P30, else ``diff.xml``, else the title.
    Delta : float or str, optional
        Diffusion time Δ (s, or ``"100 ms"``); default D20.
    gradient_calibration : float or str, optional
        Gradient at 100 % (T/m, or ``"53.5 G/cm"``), used with a ``Difframp`` ramp when there
        is no ``difflist``.
    nucleus : str, optional
        Overrides NUC1.
    phase : {"auto", "magnitude"} or float
        How rows are integrated: zero-order autophase on the strongest row, magnitude, or a
        fixed zero-order phase in degrees (``nmrglue.proc_base.ps`` convention).
    zero_fill : int
        The FFT size is the next power of two at least ``zero_fill`` times the FID length.
    noise_region : (float, float), optional
        A signal-free ppm range; when given, the noise of the spectra there sets ``sigma``
        (the standard error of each integral, propagated exactly through FFT and region).
    gradient_shape : str, path or array_like, optional
        Shape of the diffusion gradient, overriding ``GPNAM6``: ``"SMSQ10.100"``,
        ``"SINE.100"``, ``"RECT.1"``, ``"rectangular"``, ``"sine"``, a shape file, or samples.
    sequence : str, optional
        One of :data:`SEQUENCES`, overriding the pulse-program name.
    tau : float or str, optional
        Gap between the lobes of a bipolar pair (s, or ``"200 us"``); default D16 + P2.

    Returns
    -------
    PFGData
        b (s m⁻²) = γ²g²σ²δ²·t_d for the data set's gradient shape (σ its integral factor)
        and sequence (t_d the effective diffusion time, :func:`ionscale.nmr.bvalues.b_value`),
        the integrals as ``signal``, g in T m⁻¹, δ, Δ, nucleus, temperature (``TE``, K), the
        formula and every choice behind it in ``b_formula`` and ``metadata``.

    Raises
    ------
    InputError
        Missing or cut ``acqus``/``ser``/``difflist``, a parameter that is not a number, a
        ``ser`` that does not match ``acqus`` or holds NaN, as many gradients as rows not given,
        missing δ/Δ, unknown nucleus, gradient shape or sequence, negative gradients, an
        empty region.

    Examples
    --------
    >>> data = read_bruker_pfg("LLTO/12", region=(-5, 5))  # doctest: +SKIP
    >>> data.b, data.signal, data.b_formula                 # doctest: +SKIP
    """
    d = os.fspath(directory)
    if not os.path.isdir(d):
        raise InputError("not a directory", file=d, field="directory",
                         expected="a Bruker experiment directory with acqus, ser and difflist")
    acqus = os.path.join(d, "acqus")
    ser = os.path.join(d, "ser")
    for path, what in ((acqus, "acqus"), (ser, "ser")):
        if not os.path.isfile(path):
            raise InputError(f"{what} missing", file=path, field=what,
                             expected=f"the Bruker {what} file in the experiment directory")
    acq = _read_jcamp(acqus)
    g, g_info = _gradients(d, acq, acqus, gradient_calibration)

    nuc = nucleus if nucleus is not None else acq.get("NUC1")
    if not nuc or str(nuc).lower() == "off":
        raise InputError("no nucleus", file=acqus, field="NUC1",
                         expected="NUC1 in acqus or nucleus='7Li'")
    nuc = str(nuc).strip()
    _gamma(nuc, file=None if nucleus is not None else acqus,
           field_name="nucleus" if nucleus is not None else "NUC1")
    pulprog = str(acq.get("PULPROG") or "")
    seq, seq_source = _sequence(pulprog, sequence)
    shape, shape_name, shape_source, shape_info = _gradient_shape(d, acq, acqus, gradient_shape)
    dl, delta_rule, DL, Delta_rule, tau_s, tau_rule = _timing(d, acq, acqus, seq, delta, Delta,
                                                              tau)

    spec, n_acq, info = _spectra(d, acq, acqus, ser, zero_fill)
    rows = spec.shape[0]
    if rows != g.size:
        raise InputError(f"ser holds {rows} FIDs but the gradient list has {g.size} values",
                         file=ser, field="gradient",
                         expected="one gradient per FID (check difflist and TD in acqu2s)")
    ppm, df = _ppm_axis(d, acq, acqus, spec.shape[1])
    if region is None:
        mask = np.ones(ppm.size, dtype=bool)
    else:
        lo, hi = _ppm_range(region, "region")
        mask = (ppm >= lo) & (ppm <= hi)
        if not mask.any():
            raise InputError(f"region {lo}..{hi} ppm holds no spectral point", field="region",
                             expected=f"a range within {ppm.min():.4g}..{ppm.max():.4g} ppm")
    sums = spec[:, mask].sum(axis=1)
    if isinstance(phase, str) and phase == "magnitude":
        signal = np.abs(spec[:, mask]).sum(axis=1) * df
        p0 = None
    elif isinstance(phase, str) and phase == "auto":
        ref = int(np.argmax(np.abs(sums)))
        p0 = -float(np.degrees(np.angle(sums[ref])))
    elif isinstance(phase, (int, float)) and not isinstance(phase, bool) and \
            math.isfinite(phase):
        p0 = float(phase)
    else:
        raise InputError(f"unknown phase mode {phase!r}", field="phase",
                         expected="'auto', 'magnitude' or a zero-order phase in degrees")
    if p0 is not None:
        signal = np.real(sums * np.exp(1j * np.radians(p0))) * df
    if not np.all(np.isfinite(signal)):
        raise InputError("the integrals overflow", file=ser, field="ser",
                         expected="FID values well below 1e300")
    sigma = None
    if noise_region is not None:
        sigma = _integral_noise(spec, ppm, mask, _ppm_range(noise_region, "noise_region"),
                                n_acq, p0, df)
    b, shape_sigma, td = _bruker_b(g, dl, DL, nuc, shape, seq, tau_s, acqus)
    te = _num(acq, "TE", acqus, "TE, the temperature in K", required=False)
    temperature = float(te) if te is not None and te > 0 else None
    assumptions = []
    if shape_source == "assumed":
        assumptions.append("the data set does not name its gradient shape (no GPNAM6 in "
                           "acqus): rectangular pulses assumed; with Bruker's default "
                           "SMSQ10.100 b would be 0.81 times smaller and D 1.23 times larger "
                           "(give gradient_shape= / --gradient-shape)")
    if seq_source.startswith("assumed"):
        assumptions.append("the data set does not name its pulse program (no PULPROG): "
                           "bipolar pairs assumed (give sequence= / --sequence)")
    if "ms assumed" in delta_rule:
        assumptions.append(f"δ = {dl * 1e3:g} ms from {delta_rule}")
    tau_text = "" if tau_s is None else f"; τ = {tau_s * 1e6:.4g} µs ({tau_rule})"
    b_formula = (f"b = γ²g²σ²δ²·t_d ({_SEQUENCE_TEXT[seq]}; {seq_source}); gradient shape "
                 f"{shape_name} (σ = {shape_sigma:.4g}; {shape_source}); δ = {dl * 1e3:.4g} ms "
                 f"({delta_rule}); Δ = {DL * 1e3:.4g} ms ({Delta_rule}){tau_text}; "
                 f"t_d = {td * 1e3:.5g} ms")
    metadata: dict[str, Any] = {
        "pulse_program": pulprog, "sequence": seq, "sequence_source": seq_source,
        "gradient_shape": shape_name, "shape_source": shape_source,
        "shape_factor": shape_sigma, "diffusion_time_s": td, "tau_s": tau_s,
        "tau_rule": tau_rule, "delta_rule": delta_rule, "Delta_rule": Delta_rule,
        "P30_us": _list_item(acq, "P", 30, acqus), "D20_s": _list_item(acq, "D", 20, acqus),
        "SFO1_MHz": acq.get("SFO1"), "SW_h_Hz": acq.get("SW_h"),
        "region_ppm": None if region is None else (lo, hi),
        "phase": "magnitude" if p0 is None else "zero-order",
        "phase0_deg": p0, "TD1": _read_jcamp(os.path.join(d, "acqu2s")).get("TD")
        if os.path.isfile(os.path.join(d, "acqu2s")) else None,
        "assumptions": assumptions, **shape_info, **info, **g_info}
    return PFGData(b=b, signal=signal, sigma=sigma, gradient=g, delta=dl, Delta=DL,
                   nucleus=nuc, temperature=temperature, source=d, metadata=metadata,
                   b_formula=b_formula)


def _ppm_range(value, field_name: str) -> tuple[float, float]:
    """``(lo, hi)`` ppm from a pair of numbers (either order); InputError otherwise."""
    try:
        lo, hi = (float(x) for x in value)
    except (TypeError, ValueError):
        raise InputError(f"{field_name} = {value!r}", field=field_name,
                         expected="two chemical shifts in ppm, e.g. (-5, 5)") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        raise InputError(f"{field_name} = ({lo}, {hi})", field=field_name,
                         expected="two different finite chemical shifts in ppm")
    return (lo, hi) if lo < hi else (hi, lo)


def _integral_noise(spec: np.ndarray, ppm: np.ndarray, mask: np.ndarray,
                    noise_region: tuple[float, float], n_acq: int, p0: float | None,
                    df: float) -> np.ndarray:
    """Standard error of each row's region integral from the noise in ``noise_region``.

    The noise of one real spectral point is σ_t √n_acq (σ_t: noise of each real and imaginary
    FID point); the integral is a linear map of the FID, so its variance is
    σ_t² Σ_n |w_n|² with w the FID-domain weights of the region (exact with zero filling).
    In magnitude mode this is the high signal-to-noise limit.
    """
    lo, hi = sorted(float(x) for x in noise_region)
    nmask = (ppm >= lo) & (ppm <= hi)
    if nmask.sum() < 8:
        raise InputError(f"noise region {lo}..{hi} ppm holds {int(nmask.sum())} points",
                         field="noise_region", expected="a signal-free range of >= 8 points")
    rot = np.exp(1j * np.radians(p0 or 0.0))
    x = ppm[nmask]
    var = []
    for row in spec:
        y = np.real(row[nmask] * rot)
        coef = np.polyfit(x, y, 1)
        var.append(np.var(y - np.polyval(coef, x), ddof=2))
    # the noise is the same in every row: pool it; the first FID point was halved
    sigma_t2 = float(np.mean(var)) / (n_acq - 0.75)
    # FID-domain weights of the region: the spectrum is fftshift(fft(x)), so undo the shift
    unshifted = np.fft.ifftshift(mask.astype(float))
    w = np.fft.ifft(unshifted)[:n_acq] * mask.size
    w[0] *= 0.5
    w2 = float(np.sum(np.abs(w) ** 2))
    return np.full(spec.shape[0], math.sqrt(sigma_t2 * w2) * df)
