"""Diffusion weighting b of pulsed-field-gradient sequences, and gyromagnetic ratios.

The echo of spins diffusing with coefficient D is attenuated by ``exp(-b D)`` with

    b = γ² ∫₀^TE q(t)² dt,   q(t) = ∫₀ᵗ g_eff(t′) dt′,

where ``g_eff`` is the *effective* gradient (its sign flipped after every refocusing π pulse)
and the echo condition ``q(TE) = 0`` holds. :func:`b_from_waveform` evaluates this integral for
any sampled waveform (exactly for piecewise-linear ones); it is the reference every closed form
of :func:`b_value` is tested against.

Conventions (named in every docstring)
--------------------------------------
* ``g`` is the gradient amplitude (plateau or peak), T m⁻¹; ``γ`` in rad s⁻¹ T⁻¹.
* ``Delta`` (Δ) is the separation of the *leading edges* of the two encoding gradient pulses (or
  of the two bipolar pairs).
* ``delta`` (δ) is the duration of one gradient pulse for rectangular, half-sine and sampled
  shapes; for a trapezoid it is the plateau plus one ramp (the full width at half maximum, Price's
  convention, so a pulse occupies ``δ + ε``); for bipolar pairs it is the *total* gradient time of
  one pair (two lobes of ``δ/2`` each).
* Closed forms (spin echo or stimulated echo, whose b is the same with Δ the separation of the
  encoding pulses; crusher and background gradients are ignored):

  - rectangular: ``b = γ²g²δ²(Δ − δ/3)`` (Stejskal & Tanner 1965);
  - half-sine lobe: ``b = γ²g²δ²(4/π²)(Δ − δ/4)``, i.e. shape factor σ = 2/π, λ = 1/4 in
    ``b = γ²g²σ²δ²(Δ − λδ)``;
  - smoothed square (Bruker's ``SMSQ10.100``): a square whose first and last fraction f of the
    pulse (10 %) rise and fall as sin² (raised-cosine edges), σ = 1 − f = 0.9; λ and the bipolar
    form from the same lobe moments in closed form (below);
  - trapezoid with ramp ε: ``b = γ²g²[δ²(Δ − δ/3) + ε³/30 − δε²/6]`` (Price 1997);
  - bipolar pairs (13-interval sequence of Cotts et al. 1989), rectangular lobes of ``δ/2`` with
    a gap τ between them: ``b = γ²g²δ²(Δ − δ/3 − τ/2)`` (Wu, Chen & Johnson 1995);
  - any other lobe (sampled array, or shaped bipolar lobes): the same algebra from the lobe's
    moments ``a = ∫s``, ``m1 = ∫F``, ``m2 = ∫F²`` (``F`` the running integral of the lobe):
    ``B = a²Δ + 2 m2 − 2 a m1`` for one pulse per encoding, and
    ``B = 4a²Δ + 4 m2 − 2a²τ − 2a²T − 4 a m1`` for a bipolar pair of lobes of duration T,
    ``b = γ²g²B``.

References
----------
E. O. Stejskal, J. E. Tanner, J. Chem. Phys. 42, 288 (1965).
W. S. Price, Concepts Magn. Reson. 9, 299 (1997); 10, 197 (1998).
R. M. Cotts, M. J. R. Hoch, T. Sun, J. T. Markert, J. Magn. Reson. 83, 252 (1989).
D. Wu, A. Chen, C. S. Johnson, J. Magn. Reson. A 115, 260 (1995).
R. K. Harris et al. (IUPAC), Pure Appl. Chem. 73, 1795 (2001) (gyromagnetic ratios).
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..errors import InputError
from ..units import parse_quantity

#: Gyromagnetic ratios γ, rad s⁻¹ T⁻¹, with the IUPAC sign (b depends on γ² only). ¹H, ⁶Li,
#: ⁷Li, ¹⁹F, ²³Na and ³¹P are the values of the science reference (SCIENCE.md §5); the others
#: are IUPAC 2001 / CODATA values.
GAMMA: dict[str, float] = {
    "1H": 267.522e6,
    "2H": 41.0663e6,
    "3He": -203.802e6,
    "6Li": 39.371e6,
    "7Li": 103.962e6,
    "11B": 85.847e6,
    "13C": 67.2828e6,
    "15N": -27.1262e6,
    "17O": -36.2808e6,
    "19F": 251.815e6,
    "23Na": 70.808e6,
    "25Mg": -16.3887e6,
    "27Al": 69.7627e6,
    "29Si": -53.190e6,
    "31P": 108.394e6,
    "35Cl": 26.2420e6,
    "39K": 12.5006e6,
    "129Xe": -74.5210e6,
    "133Cs": 35.3325e6,
}

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_MASS_FIRST = re.compile(r"^(\d{1,3})-?([A-Za-z]{1,2})$")
_SYMBOL_FIRST = re.compile(r"^([A-Za-z]{1,2})-?(\d{1,3})$")

_SHAPES = {"rectangular": "rectangular", "rect": "rectangular", "square": "rectangular",
           "sine": "sine", "half-sine": "sine", "sin": "sine",
           "trapezoid": "trapezoid", "trapezoidal": "trapezoid",
           "smsq": "smsq", "smoothed-square": "smsq", "smoothed square": "smsq"}
#: Bruker gradient-shape file names (``GPNAM``): ``SMSQ10.100`` (smoothed square, 10 % edges,
#: 100 points), ``SINE.100`` (half sine), ``RECT.1`` (rectangle). The number of points does not
#: change the continuous shape.
_BRUKER_SHAPE = re.compile(r"^(?P<kind>smsq|sine|rect)(?P<pct>\d+)?(?:\.\d+)?$",
                           re.IGNORECASE)
#: Edge fraction of a smoothed square when the name does not give one (Bruker's SMSQ10).
SMSQ_EDGE = 0.1
_SHAPE_NAMES = ("'rectangular', 'sine', 'trapezoid', 'smsq' (smoothed square), a Bruker name "
                "such as 'SMSQ10.100', 'SINE.100' or 'RECT.1', or an array of samples of the "
                "lobe")
_SEQUENCES = {"spin-echo": "spin-echo", "pgse": "spin-echo", "stimulated": "stimulated",
              "stimulated-echo": "stimulated", "pgste": "stimulated", "bipolar": "bipolar",
              "13-interval": "bipolar"}


def _normalise_nucleus(nucleus: str) -> str:
    text = str(nucleus).strip().translate(_SUPERSCRIPTS).replace(" ", "")
    m = _MASS_FIRST.match(text) or _SYMBOL_FIRST.match(text)
    if m is None:
        return text
    mass, symbol = (m.group(1), m.group(2)) if text[0].isdigit() else (m.group(2), m.group(1))
    return f"{int(mass)}{symbol.capitalize()}"


def gamma(nucleus: str) -> float:
    """Gyromagnetic ratio of a nucleus, rad s⁻¹ T⁻¹ (signed; b uses γ²).

    Parameters
    ----------
    nucleus : str
        ``"7Li"``, ``"Li7"``, ``"Li-7"``, ``"⁷Li"``, ``"1H"``...

    Returns
    -------
    float
        γ in rad s⁻¹ T⁻¹.

    Raises
    ------
    InputError
        For a nucleus not in :data:`GAMMA` (field ``"nucleus"``; the message lists the known
        ones).

    Examples
    --------
    >>> gamma("7Li")
    103962000.0
    >>> gamma("Li-6") == gamma("6Li")
    True
    """
    key = _normalise_nucleus(nucleus)
    if key not in GAMMA:
        raise InputError(f"unknown nucleus {nucleus!r}", field="nucleus",
                         expected=f"one of {', '.join(GAMMA)} (or pass gamma= in rad/s/T)")
    return GAMMA[key]


def _resolve_gamma(nucleus: str | None, gamma_value: float | None) -> float:
    if gamma_value is not None:
        if nucleus is not None:
            raise InputError("give either nucleus or gamma, not both", field="gamma",
                             expected="one of nucleus= or gamma=")
        try:
            value = float(gamma_value)
        except (TypeError, ValueError):
            raise InputError(f"gamma {gamma_value!r} is not a number", field="gamma",
                             expected="γ in rad s⁻¹ T⁻¹") from None
        if not math.isfinite(value) or value == 0:
            raise InputError("gamma must be finite and non-zero", field="gamma",
                             expected="γ in rad s⁻¹ T⁻¹")
        return value
    if nucleus is None:
        raise InputError("no nucleus given", field="nucleus",
                         expected="nucleus='7Li' (or gamma= in rad s⁻¹ T⁻¹)")
    return gamma(nucleus)


# --------------------------------------------------------------------------- input parsing



def _gradient_from_text(text: str, field: str) -> float:
    """A gradient typed as text ("50 G/cm", "0.5 T/m", "300 mT/m") in T m⁻¹."""
    return parse_quantity(text, "T/m", field=field)


def _quantities(value, unit: str, field: str) -> np.ndarray:
    """Numbers, strings with units, or sequences of either, as a float array in ``unit``."""
    def one(v) -> float:
        if isinstance(v, str):
            return _gradient_from_text(v, field) if unit == "T/m" else \
                parse_quantity(v, unit, field=field)
        if isinstance(v, bool):
            raise InputError(f"got a boolean {v!r}", field=field, expected=f"a number in {unit}")
        try:
            return float(v)
        except (TypeError, ValueError):
            raise InputError(f"cannot read {v!r}", field=field,
                             expected=f"a number in {unit} or a string such as '1 {unit}'")\
                from None

    if isinstance(value, str):
        arr = np.asarray(one(value))
    else:
        raw = np.asarray(value, dtype=object)
        arr = np.vectorize(one, otypes=[float])(raw) if raw.size else raw.astype(float)
    if not np.all(np.isfinite(arr)):
        raise InputError("contains NaN or inf", field=field, expected=f"finite values in {unit}")
    return np.asarray(arr, dtype=float)


def _positive_scalar(value, field: str, *, allow_zero: bool = False) -> float:
    arr = _quantities(value, "s", field)
    if arr.ndim:
        raise InputError("must be a single value", field=field, expected="a scalar time in s")
    v = float(arr)
    if v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"{field} = {v:g} s", field=field,
                         expected=f"{field} {'>=' if allow_zero else '>'} 0 s")
    return v


# --------------------------------------------------------------------------- lobe moments


def _polyline_moments(t: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Running integral F at the nodes, ∫F dt and ∫F² dt of a piecewise-linear waveform.

    Exact for the piecewise-linear interpolant of the samples (a repeated time gives a jump).
    """
    h = np.diff(t)
    c1 = g[:-1] * h
    c2 = 0.5 * (g[1:] - g[:-1]) * h
    F = np.concatenate([[0.0], np.cumsum(c1 + c2)])
    F0 = F[:-1]
    m1 = float(np.sum(h * (F0 + c1 / 2 + c2 / 3)))
    m2 = float(np.sum(h * (F0 ** 2 + F0 * c1 + (2 * F0 * c2 + c1 ** 2) / 3 + c1 * c2 / 2
                           + c2 ** 2 / 5)))
    return F, m1, m2


def _parse_shape(shape, ramp) -> tuple[str, np.ndarray | None, float | None]:
    """(kind, samples, ramp) with kind in rectangular/sine/trapezoid/smsq/array.

    For ``"smsq"`` the third item is the edge fraction f of the smoothed square (not a time).
    """
    edge = None
    if isinstance(shape, str):
        kind = _SHAPES.get(shape.strip().lower())
        if kind is None:
            m = _BRUKER_SHAPE.match(shape.strip())
            if m is not None:
                kind = {"smsq": "smsq", "sine": "sine", "rect": "rectangular"}[
                    m.group("kind").lower()]
                if kind == "smsq" and m.group("pct") is not None:
                    edge = float(m.group("pct")) / 100.0
                elif kind != "smsq" and m.group("pct") is not None:
                    kind = None
        if kind is None:
            raise InputError(f"unknown gradient shape {shape!r}", field="shape",
                             expected=_SHAPE_NAMES)
        if kind == "smsq":
            edge = SMSQ_EDGE if edge is None else edge
            if not 0 < edge <= 0.5:
                raise InputError(f"smoothed-square edge of {100 * edge:g} % in {shape!r}",
                                 field="shape", expected="edges of 0 to 50 % (SMSQ10.100)")
        samples = None
    else:
        try:
            samples = np.asarray(shape, dtype=float)
        except (TypeError, ValueError):
            raise InputError("shape is neither a name nor an array of numbers", field="shape",
                             expected="'rectangular', 'sine', 'trapezoid' or an array") from None
        if samples.ndim != 1 or samples.size < 2:
            raise InputError(f"shape array has shape {samples.shape}", field="shape",
                             expected="a 1-D array of at least 2 samples over the pulse")
        if not np.all(np.isfinite(samples)):
            raise InputError("shape array contains NaN or inf", field="shape",
                             expected="finite samples")
        if not np.any(samples):
            raise InputError("shape array is all zero", field="shape",
                             expected="a gradient lobe with non-zero area")
        kind = "array"
    if kind == "smsq":
        if ramp is not None:
            raise InputError("ramp is only used with shape='trapezoid', not a smoothed square",
                             field="ramp", expected="ramp=None")
        return kind, samples, edge
    if kind == "trapezoid":
        if ramp is None:
            raise InputError("a trapezoid needs its ramp time", field="ramp",
                             expected="ramp = ε in s (0 <= ε <= δ)")
        ramp = _positive_scalar(ramp, "ramp", allow_zero=True)
    elif ramp is not None:
        raise InputError(f"ramp is only used with shape='trapezoid', not {kind!r}",
                         field="ramp", expected="ramp=None")
    return kind, samples, ramp


def _lobe_polyline(kind: str, samples, ramp, L: float, n: int = 2001):
    """Time nodes and relative amplitude of one lobe (starting at t = 0, zero at both ends)."""
    if kind == "rectangular":
        t, s = np.array([0.0, L]), np.array([1.0, 1.0])
    elif kind == "trapezoid":
        t, s = np.array([0.0, ramp, L, L + ramp]), np.array([0.0, 1.0, 1.0, 0.0])
    elif kind == "sine":
        t = np.linspace(0.0, L, n)
        s = np.sin(np.pi * t / L)
    elif kind == "smsq":
        t = np.linspace(0.0, L, n)
        s = _smsq(t / L, ramp)
    else:
        t = np.linspace(0.0, L, samples.size)
        s = samples
    return np.concatenate([[t[0]], t, [t[-1]]]), np.concatenate([[0.0], s, [0.0]])


def _smsq(x: np.ndarray, f: float) -> np.ndarray:
    """Smoothed square on x ∈ [0, 1]: sin² edges over the fraction ``f`` at each end."""
    x = np.asarray(x, dtype=float)
    edge = np.minimum(x, 1.0 - x) / f
    return np.where(edge < 1.0, np.sin(0.5 * np.pi * np.clip(edge, 0.0, 1.0)) ** 2, 1.0)


def _lobe_moments(kind: str, samples, ramp, L) -> tuple:
    """(duration T, area a, m1 = ∫F, m2 = ∫F²) of one lobe of unit amplitude and length L.

    ``L`` may be an array; closed forms for the named shapes, exact piecewise-linear integrals
    of the samples for an array shape.
    """
    L = np.asarray(L, dtype=float)
    if kind == "rectangular":
        T, a, m2 = L, L, L ** 3 / 3
    elif kind == "sine":
        T, a, m2 = L, 2 * L / np.pi, 3 * L ** 3 / (2 * np.pi ** 2)
    elif kind == "trapezoid":
        e = ramp
        T, a = L + e, L
        m2 = L ** 3 / 3 + L ** 2 * e / 2 - L * e ** 2 / 12 + e ** 3 / 60
    elif kind == "smsq":
        # edges of length e = fL rising as sin²: F = t/2 − (e/2π) sin(πt/e) on the edge,
        # ∫F = e²/4 − e²/π², ∫F² = e³/12 − 3e³/(8π²); plateau F = t − e/2; falling edge
        # F(L − u) = a − F_edge(u)
        e = ramp * L
        T, a = L, L - e
        i1 = e ** 2 / 4 - e ** 2 / np.pi ** 2
        i2 = e ** 3 / 12 - 3 * e ** 3 / (8 * np.pi ** 2)
        m2 = 2 * i2 - 2 * a * i1 + a ** 2 * e + ((L - 1.5 * e) ** 3 - (0.5 * e) ** 3) / 3
    else:
        t, s = _lobe_polyline(kind, samples, ramp, 1.0)
        F, m1u, m2u = _polyline_moments(t, s)
        return L, F[-1] * L, m1u * L ** 2, m2u * L ** 3
    return T, a, a * T / 2, m2  # the named shapes are symmetric: ∫F = a T / 2


def _weighting(kind, samples, ramp, delta, Delta, sequence, tau):
    """B = b / (γ² g²) in s³ and the encoding area per unit gradient A (s)."""
    if sequence == "bipolar":
        T, a, m1, m2 = _lobe_moments(kind, samples, ramp, delta / 2)
        B = 4 * a ** 2 * Delta + 4 * m2 - 2 * a ** 2 * tau - 2 * a ** 2 * T - 4 * a * m1
        return B, 2 * a, 2 * T + tau
    T, a, m1, m2 = _lobe_moments(kind, samples, ramp, delta)
    return a ** 2 * Delta + 2 * m2 - 2 * a * m1, a, T


def _prepare(delta, Delta, shape, ramp, sequence, tau):
    seq = _SEQUENCES.get(str(sequence).strip().lower()) if isinstance(sequence, str) else None
    if seq is None:
        raise InputError(f"unknown sequence {sequence!r}", field="sequence",
                         expected="'spin-echo', 'stimulated' or 'bipolar'")
    kind, samples, ramp = _parse_shape(shape, ramp)
    delta = _quantities(delta, "s", "delta")
    Delta = _quantities(Delta, "s", "Delta")
    if np.any(delta <= 0):
        raise InputError(f"gradient pulse length δ = {np.min(delta):g} s", field="delta",
                         expected="delta > 0 s")
    if seq == "bipolar":
        if tau is None:
            raise InputError("bipolar pairs need the gap τ between their lobes", field="tau",
                             expected="tau >= 0 in s")
        tau = _positive_scalar(tau, "tau", allow_zero=True)
    elif tau is not None:
        raise InputError(f"tau is only used with sequence='bipolar', not {seq!r}", field="tau",
                         expected="tau=None")
    else:
        tau = 0.0
    if kind == "trapezoid" and np.any(ramp > (delta / 2 if seq == "bipolar" else delta)):
        raise InputError(f"ramp ε = {ramp:g} s is longer than the half-height width of a lobe",
                         field="ramp", expected="ramp <= delta (delta/2 for bipolar pairs)")
    try:
        delta, Delta = np.broadcast_arrays(delta, Delta)
    except ValueError:
        raise InputError(f"delta has shape {delta.shape} but Delta has shape {Delta.shape}",
                         field="delta, Delta", expected="equal lengths or scalars") from None
    return seq, kind, samples, ramp, np.array(delta), np.array(Delta), tau


def _check_separation(Delta, duration, seq):
    if np.any(Delta < duration - 1e-15 * np.maximum(duration, 1.0)):
        what = "a bipolar pair (δ + τ, plus ramps)" if seq == "bipolar" else \
            "one gradient pulse (δ, plus a ramp for a trapezoid)"
        raise InputError(f"Δ = {np.min(Delta):g} s is shorter than {what}", field="Delta",
                         expected="Delta >= delta: the encoding pulses must not overlap")


def _out(arr: np.ndarray):
    return float(arr) if arr.ndim == 0 else arr


def b_value(
    g,
    delta,
    Delta,
    nucleus: str | None = None,
    *,
    gamma: float | None = None,
    shape="rectangular",
    ramp=None,
    sequence: str = "spin-echo",
    tau=None,
):
    """Diffusion weighting b of a PFG experiment, s m⁻².

    Parameters
    ----------
    g : float, str or array_like
        Gradient amplitude (plateau / peak), T m⁻¹, ≥ 0; strings with units are read
        (``"50 G/cm"`` = 0.5 T m⁻¹, ``"300 mT/m"``).
    delta : float, str or array_like
        Pulse length δ, s (``"2 ms"`` accepted): the whole pulse for rectangular, sine and array
        shapes; plateau + one ramp (full width at half maximum) for a trapezoid; the total
        gradient time of one bipolar pair (two lobes of δ/2) for ``sequence="bipolar"``.
    Delta : float, str or array_like
        Δ, s: separation of the leading edges of the two encoding pulses (or bipolar pairs).
    nucleus : str, optional
        ``"7Li"``...; its γ is taken from :data:`GAMMA`.
    gamma : float, optional
        γ in rad s⁻¹ T⁻¹ instead of ``nucleus``.
    shape : {"rectangular", "sine", "trapezoid", "smsq"}, Bruker name or array_like
        Lobe shape. ``"sine"`` is a half-sine lobe; ``"smsq"`` a smoothed square with sin²
        edges over 10 % at each end (Bruker's ``SMSQ10.100``, σ = 0.9); Bruker file names
        ``SMSQ<p>.<n>`` (edges of p %), ``SINE.<n>`` and ``RECT.<n>`` are understood; an array
        gives the relative amplitude of the lobe sampled uniformly from its start to its end
        (used as given, not rescaled; the piecewise-linear interpolant is integrated exactly).
    ramp : float or str, optional
        Ramp time ε of a trapezoid, s (0 ≤ ε ≤ δ).
    sequence : {"spin-echo", "stimulated", "bipolar"}
        Stimulated echoes have the spin-echo b with Δ the separation of the encoding pulses;
        ``"bipolar"`` is the 13-interval sequence (Cotts) with pairs of opposite lobes around
        a π pulse.
    tau : float or str, optional
        Gap between the two lobes of a bipolar pair, s (end of the first lobe to start of the
        second).

    Returns
    -------
    float or ndarray
        b in s m⁻² (broadcast over ``g``, ``delta`` and ``Delta``).

    Raises
    ------
    InputError
        g < 0, δ ≤ 0, Δ shorter than the encoding pulse(s), arrays of different lengths,
        unknown nucleus, shape or sequence, or a missing ramp/tau.

    Notes
    -----
    Closed forms (see the module notes): rectangular ``γ²g²δ²(Δ − δ/3)``; half-sine
    ``γ²g²δ²(4/π²)(Δ − δ/4)``; trapezoid ``γ²g²[δ²(Δ − δ/3) + ε³/30 − δε²/6]`` (Price);
    rectangular bipolar ``γ²g²δ²(Δ − δ/3 − τ/2)`` (Wu, Chen & Johnson 1995). Each is tested
    against :func:`b_from_waveform` on :func:`gradient_waveform`.

    Examples
    --------
    >>> b = b_value("50 G/cm", "2 ms", "100 ms", "7Li")
    >>> round(b / 1e9, 4)   # 1e9 s m⁻²
    1.0736
    """
    g_value = gamma
    gam = _resolve_gamma(nucleus, g_value)
    seq, kind, samples, ramp, delta, Delta, tau = _prepare(delta, Delta, shape, ramp, sequence,
                                                           tau)
    g = _quantities(g, "T/m", "g")
    if np.any(g < 0):
        raise InputError(f"negative gradient {np.min(g):g} T/m", field="g",
                         expected="g >= 0 T/m (the sign does not change b)")
    B, _, duration = _weighting(kind, samples, ramp, delta, Delta, seq, tau)
    _check_separation(Delta, duration, seq)
    try:
        b = gam ** 2 * np.multiply(g ** 2, B)
    except ValueError:
        raise InputError(f"g has shape {g.shape} but delta/Delta have shape {delta.shape}",
                         field="g", expected="equal lengths or scalars") from None
    return _out(np.asarray(b))


def diffusion_time(
    Delta,
    delta,
    *,
    shape="rectangular",
    ramp=None,
    sequence: str = "spin-echo",
    tau=None,
):
    """Effective diffusion time ``t_d = b / q²``, s, with ``q = γ g A`` (A the encoding area).

    Rectangular: ``Δ − δ/3``; half-sine: ``Δ − δ/4``; trapezoid:
    ``Δ − δ/3 + ε³/(30δ²) − ε²/(6δ)``; rectangular bipolar: ``Δ − δ/3 − τ/2``. Arguments and
    conventions as in :func:`b_value`.

    Parameters
    ----------
    Delta, delta : float, str or array_like
        Δ and δ in s.
    shape, ramp, sequence, tau
        As in :func:`b_value`.

    Returns
    -------
    float or ndarray
        t_d in s.

    Examples
    --------
    >>> round(diffusion_time(0.1, 0.003), 6)
    0.099
    """
    seq, kind, samples, ramp, delta, Delta, tau = _prepare(delta, Delta, shape, ramp, sequence,
                                                           tau)
    B, A, duration = _weighting(kind, samples, ramp, delta, Delta, seq, tau)
    _check_separation(Delta, duration, seq)
    return _out(np.asarray(B / A ** 2))


def pulse_shape_factors(shape="rectangular", *, delta=None, ramp=None) -> tuple[float, float]:
    """Shape factor σ and correction λ of one encoding pulse: ``b = γ²g²σ²δ²(Δ − λδ)``.

    ``σ = ∫s dt / δ`` (s the relative amplitude). Rectangular: (1, 1/3); half-sine: (2/π, 1/4);
    trapezoid (δ = half-height width, ramp ε): σ = 1, ``λ = 1/3 + ε²/(6δ²) − ε³/(30δ³)``.

    Parameters
    ----------
    shape : str or array_like
        As in :func:`b_value`.
    delta : float, optional
        δ in s; needed for a trapezoid (λ depends on ε/δ).
    ramp : float, optional
        Ramp time ε, s (trapezoid only).

    Returns
    -------
    (float, float)
        σ and λ (dimensionless).

    Examples
    --------
    >>> [round(x, 12) for x in pulse_shape_factors("sine")]
    [0.636619772368, 0.25]
    """
    kind, samples, ramp = _parse_shape(shape, ramp)
    if kind == "trapezoid":
        if delta is None:
            raise InputError("a trapezoid's λ depends on δ", field="delta",
                             expected="delta in s")
        L = _positive_scalar(delta, "delta")
        if ramp > L:
            raise InputError("ramp longer than δ", field="ramp", expected="ramp <= delta")
    else:
        L = 1.0
    T, a, m1, m2 = _lobe_moments(kind, samples, ramp, L)
    T, a, m1, m2 = float(T), float(a), float(m1), float(m2)
    # B = a²Δ + 2 m2 − 2 a m1 = (σL)²(Δ − λL)
    return a / L, (2 * a * m1 - 2 * m2) / (a ** 2 * L)


def gradient_waveform(
    g,
    delta,
    Delta,
    *,
    shape="rectangular",
    ramp=None,
    sequence: str = "spin-echo",
    tau=None,
    n: int = 2001,
) -> tuple[np.ndarray, np.ndarray]:
    """The effective gradient ``g_eff(t)`` of a PFG sequence, as a piecewise-linear polyline.

    Signs already include the refocusing π pulses: the first encoding is positive, the second
    negative, and both lobes of a bipolar pair count with the same sign. A repeated time is a
    jump (rectangular edges).

    Parameters
    ----------
    g : float or str
        Amplitude, T m⁻¹.
    delta, Delta, shape, ramp, sequence, tau
        As in :func:`b_value` (scalars).
    n : int
        Samples per half-sine lobe.

    Returns
    -------
    t : ndarray
        Times, s, from the start of the first pulse (non-decreasing).
    g_eff : ndarray
        Effective gradient at ``t``, T m⁻¹.
    """
    seq, kind, samples, ramp, delta, Delta, tau = _prepare(delta, Delta, shape, ramp, sequence,
                                                           tau)
    if delta.ndim or Delta.ndim:
        raise InputError("gradient_waveform draws one sequence", field="delta, Delta",
                         expected="scalars")
    g = _quantities(g, "T/m", "g")
    if g.ndim or g < 0:
        raise InputError("gradient must be one non-negative value", field="g",
                         expected="a scalar g >= 0 T/m")
    delta, Delta, g = float(delta), float(Delta), float(g)
    L = delta / 2 if seq == "bipolar" else delta
    tl, sl = _lobe_polyline(kind, samples, ramp, L, n)
    if seq == "bipolar":
        T_l = tl[-1]
        tl = np.concatenate([tl, tl + T_l + tau])
        sl = np.concatenate([sl, sl])
    duration = tl[-1]
    _check_separation(np.array(Delta), duration, seq)
    # Δ equal to the pulse length within rounding must not make time run backwards
    t = np.maximum.accumulate(np.concatenate([tl, tl + Delta]))
    s = np.concatenate([sl, -sl])
    return t, g * s


def b_from_waveform(t, g_eff, nucleus: str | None = None, *, gamma: float | None = None) -> float:
    """``b = γ² ∫ q(t)² dt`` for an effective-gradient waveform (the numerical reference).

    The waveform is the piecewise-linear interpolant of the samples (a repeated time is a
    jump), for which the double integral is evaluated exactly; a smooth shape is approximated
    to O(h²) in the sample spacing h.

    Parameters
    ----------
    t : array_like
        Times, s, non-decreasing.
    g_eff : array_like
        Effective gradient (signs of refocused periods flipped), T m⁻¹.
    nucleus : str, optional
        Nucleus for γ.
    gamma : float, optional
        γ in rad s⁻¹ T⁻¹ instead of ``nucleus``.

    Returns
    -------
    float
        b in s m⁻².

    Raises
    ------
    InputError
        If the arrays differ in length, t decreases, or the echo condition ``∫g_eff dt = 0``
        fails (field ``"g_eff"``).
    """
    gam = _resolve_gamma(nucleus, gamma)
    t = np.asarray(t, dtype=float)
    g = np.asarray(g_eff, dtype=float)
    if t.ndim != 1 or t.shape != g.shape or t.size < 2:
        raise InputError(f"t has shape {t.shape}, g_eff {g.shape}", field="g_eff",
                         expected="1-D arrays of equal length >= 2")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(g))):
        raise InputError("waveform contains NaN or inf", field="g_eff", expected="finite values")
    if np.any(np.diff(t) < 0):
        raise InputError("times decrease", field="t", expected="non-decreasing times")
    F, _, m2 = _polyline_moments(t, g)
    scale = max(float(np.max(np.abs(F))), 1e-300)
    if abs(F[-1]) > 1e-9 * scale:
        raise InputError(f"net effective gradient area {F[-1]:.3g} T s/m is not zero",
                         field="g_eff", expected="an echo: ∫ g_eff dt = 0 over the sequence")
    return gam ** 2 * m2
