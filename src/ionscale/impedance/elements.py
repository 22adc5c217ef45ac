"""Circuit elements of impedance spectroscopy, declared once.

Each :class:`ElementType` in :data:`ELEMENTS` carries everything the rest of the package needs:
the name prefix used in circuit strings, its parameters (SI unit, default bounds, whether they
are fitted in log space), the impedance ``Z(ω; p)`` and its analytic derivatives ``∂Z/∂p``. The
circuit compiler (:mod:`ionscale.impedance.circuits`), the fits, the docs and the tests are all
driven by this table, so adding an element is adding one entry here.

Conventions: ``ω = 2πf`` in rad s⁻¹, ``j² = −1``, ``Z = Z' + jZ''`` in ohm (a capacitor has
``Z'' < 0``). Values are SI; the ``unit`` strings are for docs and printing.

=======  ==========================================  ===============================================
prefix   impedance                                   parameters (name in a circuit ``…1``)
=======  ==========================================  ===============================================
R        ``R``                                       ``R1`` (ohm)
C        ``1/(jωC)``                                 ``C1`` (F)
L        ``jωL``                                     ``L1`` (H)
CPE      ``1/(Q (jω)^α)``                            ``CPE1_Q`` (F s^(α-1)), ``CPE1_alpha``
W        ``A_W / sqrt(jω)``                          ``W1`` (ohm s^-1/2)
Ws       ``R tanh(sqrt(jωτ)) / sqrt(jωτ)``           ``Ws1_R`` (ohm), ``Ws1_tau`` (s)
Wo       ``R coth(sqrt(jωτ)) / sqrt(jωτ)``           ``Wo1_R`` (ohm), ``Wo1_tau`` (s)
G        ``R / sqrt(1 + jωτ)``                       ``G1_R`` (ohm), ``G1_tau`` (s)
La       ``L (jω)^α``                                ``La1_L`` (ohm s^α), ``La1_alpha``
=======  ==========================================  ===============================================

One-parameter elements (R, C, L, W) name their parameter after the element itself; the others
append ``_<parameter>``.

Examples
--------
>>> import numpy as np
>>> cpe = ELEMENTS["CPE"]
>>> grid = Grid(np.array([1.0]))
>>> z = cpe.impedance(grid, (1e-6, 1.0))
>>> bool(np.isclose(z[0], 1 / (1j * 2 * np.pi * 1e-6)))
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ELEMENTS", "ElementType", "Grid", "ParameterSpec", "element_table"]


class Grid:
    """Angular-frequency quantities shared by every element of one evaluation.

    Parameters
    ----------
    frequency : ndarray
        Hz (positive).
    """

    __slots__ = ("frequency", "omega", "jw", "log_jw", "sqrt_jw", "ones")

    def __init__(self, frequency: np.ndarray) -> None:
        self.frequency = np.asarray(frequency, dtype=float)
        self.omega = 2 * np.pi * self.frequency
        self.jw = 1j * self.omega
        #: principal log of jω: ln ω + jπ/2
        self.log_jw = np.log(self.omega) + 0.5j * np.pi
        self.sqrt_jw = np.sqrt(self.omega) * complex(math.cos(math.pi / 4), math.sin(math.pi / 4))
        self.ones = np.ones(self.omega.shape, complex)
        self.ones.flags.writeable = False

    def __len__(self) -> int:
        return self.frequency.size


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of an element type.

    Attributes
    ----------
    suffix : str
        Appended to the element's name as ``<name>_<suffix>``; empty for one-parameter elements
        (the parameter is then called like the element, e.g. ``R1``).
    unit : str
        SI unit, for docs and printing (``"ohm"``, ``"F"``, ``"F s^(α-1)"``...).
    description : str
        What the parameter is.
    bounds : tuple of float
        Default (lower, upper) bounds.
    log : bool
        Whether it is fitted as ln p (keeps it positive; conditions values spanning decades).
    """

    suffix: str
    unit: str
    description: str
    bounds: tuple[float, float] = (0.0, math.inf)
    log: bool = True


Impedance = Callable[[Grid, Sequence[float]], np.ndarray]
Derivatives = Callable[[Grid, Sequence[float], np.ndarray], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class ElementType:
    """A kind of circuit element (see the module table).

    Attributes
    ----------
    prefix : str
        Letters that start an element's name in a circuit string (``"CPE"`` in ``CPE1``).
    description : str
        One line.
    equation : str
        The impedance formula, for docs.
    parameters : tuple of ParameterSpec
    impedance : callable
        ``impedance(grid, values) -> Z`` (complex, one per frequency).
    derivatives : callable
        ``derivatives(grid, values, Z) -> (∂Z/∂p₁, ...)``, one complex array per parameter.
    kind : str
        ``"resistor"``, ``"capacitor"``, ``"inductor"`` or ``"distributed"``; the automatic
        initial values use it.
    """

    prefix: str
    description: str
    equation: str
    parameters: tuple[ParameterSpec, ...]
    impedance: Impedance
    derivatives: Derivatives
    kind: str

    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    def parameter_names(self, name: str) -> tuple[str, ...]:
        """Names of the parameters of the element called ``name`` (``"CPE1"`` ->
        ``("CPE1_Q", "CPE1_alpha")``)."""
        return tuple(name if not p.suffix else f"{name}_{p.suffix}" for p in self.parameters)


# --------------------------------------------------------------------------- equations
# Each takes (grid, values) or (grid, values, Z) and works on whole arrays.


def _r(g: Grid, p) -> np.ndarray:
    return g.ones * p[0]


def _dr(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    return (g.ones,)


def _c(g: Grid, p) -> np.ndarray:
    return 1.0 / (g.jw * p[0])


def _dc(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    return (-z / p[0],)


def _l(g: Grid, p) -> np.ndarray:
    return g.jw * p[0]


def _dl(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    return (g.jw,)


def _cpe(g: Grid, p) -> np.ndarray:
    return np.exp(-p[1] * g.log_jw) / p[0]


def _dcpe(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    return (-z / p[0], -z * g.log_jw)


def _w(g: Grid, p) -> np.ndarray:
    return p[0] / g.sqrt_jw


def _dw(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    return (1.0 / g.sqrt_jw,)


_SMALL_S = 1e-3


def _ws(g: Grid, p) -> np.ndarray:
    s = g.sqrt_jw * math.sqrt(p[1])
    return p[0] * np.tanh(s) / s


def _dws(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    R, tau = p[0], p[1]
    s = g.sqrt_jw * math.sqrt(tau)
    t = np.tanh(s)
    # d/dτ [R tanh(s)/s] with s = sqrt(jωτ): R/(2τ) (1 - tanh² s - tanh(s)/s)
    core = 1.0 - t * t - t / s
    small = np.abs(s) < _SMALL_S
    if small.any():
        s2 = s[small] ** 2
        core[small] = s2 * (-2.0 / 3.0 + s2 * (8.0 / 15.0 - s2 * 34.0 / 105.0))
    return (z / R, R / (2 * tau) * core)


def _wo(g: Grid, p) -> np.ndarray:
    s = g.sqrt_jw * math.sqrt(p[1])
    return p[0] / (np.tanh(s) * s)


def _dwo(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    R, tau = p[0], p[1]
    s = g.sqrt_jw * math.sqrt(tau)
    c = 1.0 / np.tanh(s)
    # d/dτ [R coth(s)/s]: R/(2τ) (1 - coth² s - coth(s)/s); no cancellation at small s
    return (z / R, R / (2 * tau) * (1.0 - c * c - c / s))


def _g(g: Grid, p) -> np.ndarray:
    return p[0] / np.sqrt(1.0 + g.jw * p[1])


def _dg(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    return (z / p[0], -0.5 * z * g.jw / (1.0 + g.jw * p[1]))


def _la(g: Grid, p) -> np.ndarray:
    return p[0] * np.exp(p[1] * g.log_jw)


def _dla(g: Grid, p, z) -> tuple[np.ndarray, ...]:
    return (z / p[0], z * g.log_jw)


_ALPHA = ParameterSpec("alpha", "", "exponent α (1: ideal capacitor)", (0.0, 1.0), log=False)

#: Every element type, by prefix.
ELEMENTS: dict[str, ElementType] = {
    e.prefix: e
    for e in (
        ElementType("R", "resistor", "Z = R",
                    (ParameterSpec("", "ohm", "resistance R"),), _r, _dr, "resistor"),
        ElementType("C", "capacitor", "Z = 1/(jωC)",
                    (ParameterSpec("", "F", "capacitance C"),), _c, _dc, "capacitor"),
        ElementType("L", "inductor", "Z = jωL",
                    (ParameterSpec("", "H", "inductance L"),), _l, _dl, "inductor"),
        ElementType("CPE", "constant-phase element", "Z = 1/(Q (jω)^α)",
                    (ParameterSpec("Q", "F s^(α-1)", "CPE coefficient Q"), _ALPHA),
                    _cpe, _dcpe, "capacitor"),
        ElementType("W", "semi-infinite Warburg", "Z = A_W/sqrt(jω)",
                    (ParameterSpec("", "ohm s^-1/2", "Warburg coefficient A_W"),),
                    _w, _dw, "distributed"),
        ElementType("Ws", "finite-length Warburg (transmissive)",
                    "Z = R tanh(sqrt(jωτ))/sqrt(jωτ)",
                    (ParameterSpec("R", "ohm", "diffusion resistance R"),
                     ParameterSpec("tau", "s", "diffusion time τ = l²/D")),
                    _ws, _dws, "distributed"),
        ElementType("Wo", "finite-space Warburg (reflective)",
                    "Z = R coth(sqrt(jωτ))/sqrt(jωτ)",
                    (ParameterSpec("R", "ohm", "diffusion resistance R"),
                     ParameterSpec("tau", "s", "diffusion time τ = l²/D")),
                    _wo, _dwo, "distributed"),
        ElementType("G", "Gerischer", "Z = R/sqrt(1 + jωτ)",
                    (ParameterSpec("R", "ohm", "Gerischer resistance R"),
                     ParameterSpec("tau", "s", "reaction time τ")),
                    _g, _dg, "distributed"),
        ElementType("La", "inductance with exponent", "Z = L (jω)^α",
                    (ParameterSpec("L", "ohm s^α", "inductance coefficient L"),
                     ParameterSpec("alpha", "", "exponent α (1: ideal inductor)", (0.0, 1.0),
                                   log=False)),
                    _la, _dla, "inductor"),
    )
}


def element_table() -> str:
    """A plain-text table of the element types (for docs and ``--help``).

    Examples
    --------
    >>> print(element_table().splitlines()[0])
    prefix  impedance                           parameters
    """
    lines = [f"{'prefix':<8}{'impedance':<36}parameters"]
    for e in ELEMENTS.values():
        names = e.parameter_names(e.prefix + "1")
        params = ", ".join(f"{n} [{p.unit or '1'}]"
                           for n, p in zip(names, e.parameters, strict=True))
        lines.append(f"{e.prefix:<8}{e.equation:<36}{params}")
    return "\n".join(lines)
