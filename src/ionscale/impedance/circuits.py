"""Equivalent circuits written as strings, compiled once into a vectorised model.

The syntax is the one people know from impedance.py: elements joined by ``-`` are in series,
``p(a, b, ...)`` puts two or more branches in parallel, and branches may nest::

    R0-p(R1,CPE1)-p(R2,CPE2)-CPE3
    L0-R0-p(R1,CPE1)-p(R2-Ws2,CPE2)

An element's name is a prefix from :data:`~ionscale.impedance.elements.ELEMENTS` (``R``, ``C``,
``L``, ``CPE``, ``W``, ``Ws``, ``Wo``, ``G``, ``La``) followed by a number and/or an
``_label`` (``R1``, ``CPE_gb``, ``R_bulk``); names must be unique. Whitespace is ignored.

Parameters are named after their element: one-parameter elements (R, C, L, W) use the element's
name (``R1``, ``C2``, ``W1``); the others append ``_<parameter>`` (``CPE1_Q``, ``CPE1_alpha``,
``Ws1_R``, ``Ws1_tau``, ``Wo1_R``, ``Wo1_tau``, ``G1_R``, ``G1_tau``, ``La1_L``,
``La1_alpha``). :attr:`Circuit.parameter_names` lists them in the order the elements appear.

The string is parsed once (no ``eval``) into a tree whose evaluation returns ``Z`` and, for the
fits, the analytic Jacobian by the chain rule: in series ``∂Z/∂p = ∂Z_i/∂p``; in parallel
``Z = 1/Σ(1/Z_i)`` and ``∂Z/∂p = (Z/Z_i)² ∂Z_i/∂p``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .elements import ELEMENTS, ElementType, Grid

__all__ = ["Arc", "ArcTime", "Circuit"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LETTERS = re.compile(r"[A-Za-z]+")
_EXPECT_TERM = "an element name such as R1, CPE1, Ws1, or p( to open a parallel block"


# --------------------------------------------------------------------------- tree


class _Leaf:
    __slots__ = ("name", "etype", "start", "stop", "position")

    def __init__(self, name: str, etype: ElementType, position: int) -> None:
        self.name = name
        self.etype = etype
        self.position = position
        self.start = self.stop = 0


class _Series:
    __slots__ = ("children", "start", "stop")

    def __init__(self, children: list) -> None:
        self.children = children
        self.start = self.stop = 0


class _Parallel:
    __slots__ = ("children", "start", "stop")

    def __init__(self, children: list) -> None:
        self.children = children
        self.start = self.stop = 0


def _number(node, start: int, leaves: list[_Leaf]) -> int:
    """Assign parameter columns in order of appearance; return the next free column."""
    node.start = start
    if isinstance(node, _Leaf):
        node.stop = start + node.etype.n_parameters
        leaves.append(node)
        return node.stop
    for child in node.children:
        start = _number(child, start, leaves)
    node.stop = start
    return start


def _text(node, pretty: bool = False) -> str:
    if isinstance(node, _Leaf):
        return node.name
    if isinstance(node, _Series):
        return (" - " if pretty else "-").join(_text(c, pretty) for c in node.children)
    if pretty:
        return "(" + " ‖ ".join(_text(c, pretty) for c in node.children) + ")"
    return "p(" + ",".join(_text(c, pretty) for c in node.children) + ")"


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.names: dict[str, int] = {}

    def error(self, message: str, expected: str, pos: int | None = None):
        pos = self.i if pos is None else pos
        pointer = f"'{self.text}' at position {pos + 1}"
        return InputError(f"{message} in circuit {pointer}", field="circuit", expected=expected)

    def skip(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.i] if self.i < len(self.text) else ""

    def parse(self):
        if not self.text.strip():
            raise InputError("the circuit string is empty", field="circuit",
                             expected="elements joined by '-' and p(...), e.g. R0-p(R1,CPE1)")
        node = self.series()
        rest = self.peek()
        if rest:
            if rest == ")":
                raise self.error("unbalanced parentheses: ')' without a matching 'p('",
                                 "no ')' here")
            raise self.error(f"unexpected {rest!r}", "'-' between elements, or the end")
        return node

    def series(self):
        items = [self.term()]
        while self.peek() == "-":
            self.i += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else _Series(items)

    def term(self):
        ch = self.peek()
        pos = self.i
        match = _NAME.match(self.text, self.i)
        if match is None:
            what = "the end of the string" if not ch else repr(ch)
            raise self.error(f"found {what} where an element was expected", _EXPECT_TERM)
        name = match.group()
        self.i = match.end()
        if name == "p" and self.peek() == "(":
            return self.parallel(pos)
        return self.element(name, pos)

    def parallel(self, pos: int):
        self.i += 1  # '('
        branches = [self.series()]
        while self.peek() == ",":
            self.i += 1
            branches.append(self.series())
        ch = self.peek()
        if ch != ")":
            if not ch:
                raise self.error(f"unbalanced parentheses: 'p(' opened at position {pos + 1} "
                                 "is never closed", "',' followed by another branch, or ')'")
            raise self.error(f"unexpected {ch!r} inside 'p(' opened at position {pos + 1}",
                             "',' followed by another branch, or ')'")
        self.i += 1
        if len(branches) < 2:
            raise self.error("a parallel block needs at least two branches", "p(a,b,...)",
                             pos)
        return _Parallel(branches)

    def element(self, name: str, pos: int) -> _Leaf:
        letters = _LETTERS.match(name).group()
        etype = ELEMENTS.get(letters)
        rest = name[len(letters):]
        if etype is None or (rest and not (rest[0].isdigit() or rest[0] == "_")):
            hint = ""
            close = [p for p in ELEMENTS if p.lower() == letters.lower()]
            close = close or difflib.get_close_matches(letters, list(ELEMENTS), n=1, cutoff=0.5)
            if close:
                hint = f" (did you mean {close[0]}{rest if etype is None else ''}?)"
            raise self.error(
                f"unknown element {name!r}{hint}",
                f"a name made of one of {', '.join(ELEMENTS)} followed by a number or _label",
                pos)
        if name in self.names:
            raise self.error(f"duplicate element name {name!r} (first used at position "
                             f"{self.names[name] + 1})", "every element name used once", pos)
        self.names[name] = pos
        return _Leaf(name, etype, pos)


# --------------------------------------------------------------------------- compilation


def _compile(node):
    """Closures ``z(grid, p) -> Z`` and ``zj(grid, p, J) -> Z`` (J filled in place) of a tree.

    ``p`` is a list of floats in parameter order; the tree is walked once, here.
    """
    if isinstance(node, _Leaf):
        f_z, f_d = node.etype.impedance, node.etype.derivatives
        a, b = node.start, node.stop

        def z_leaf(g, p):
            return f_z(g, p[a:b])

        def zj_leaf(g, p, J):
            q = p[a:b]
            z = f_z(g, q)
            for k, d in enumerate(f_d(g, q, z)):
                J[:, a + k] = d
            return z

        return z_leaf, zj_leaf

    parts = [_compile(c) for c in node.children]
    zs = [p[0] for p in parts]
    zjs = [p[1] for p in parts]
    if isinstance(node, _Series):
        def z_series(g, p):
            total = zs[0](g, p)
            for f in zs[1:]:
                total = total + f(g, p)
            return total

        def zj_series(g, p, J):
            total = zjs[0](g, p, J)
            for f in zjs[1:]:
                total = total + f(g, p, J)
            return total

        return z_series, zj_series

    cols = [(c.start, c.stop) for c in node.children]

    def z_parallel(g, p):
        y = 1.0 / zs[0](g, p)
        for f in zs[1:]:
            y = y + 1.0 / f(g, p)
        return 1.0 / y

    def zj_parallel(g, p, J):
        ys = [1.0 / f(g, p, J) for f in zjs]
        y = ys[0]
        for yi in ys[1:]:
            y = y + yi
        z = 1.0 / y
        for (a, b), yi in zip(cols, ys, strict=True):
            f = z * yi
            J[:, a:b] *= (f * f)[:, None]
        return z

    return z_parallel, zj_parallel


@dataclass(frozen=True)
class Arc:
    """A resistor in parallel with a capacitor or CPE, the usual model of one arc.

    Attributes
    ----------
    resistor, capacitor : str
        Element names (``"R1"``, ``"CPE1"``).
    kind : str
        Prefix of the capacitive element: ``"C"`` or ``"CPE"``.
    group : int
        Arcs with the same group sit in the same series chain, so exchanging two of the same
        kind leaves Z unchanged (their labels are interchangeable).
    columns : tuple of int
        Parameter columns of the arc: resistor, then the capacitive element's.
    """

    resistor: str
    capacitor: str
    kind: str
    group: int
    columns: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.resistor}‖{self.capacitor}"


@dataclass(frozen=True)
class ArcTime:
    """Time constant of one arc for given parameter values.

    Attributes
    ----------
    arc : Arc
    tau : float
        s: ``R C``, or ``(R Q)^(1/α)`` for a CPE.
    capacitance : float
        F: ``C``, or the effective (Brug) capacitance ``Q^(1/α) R^((1-α)/α) = τ/R``.
    frequency : float
        Hz: apex frequency ``1/(2πτ)``.
    """

    arc: Arc
    tau: float
    capacitance: float
    frequency: float


def _find_arcs(node, group: int, out: list[Arc], counter: list[int]) -> None:
    if isinstance(node, _Leaf):
        return
    if isinstance(node, _Series):
        counter[0] += 1
        mine = counter[0]
        for c in node.children:
            _find_arcs(c, mine, out, counter)
        return
    kids = node.children
    if len(kids) == 2 and all(isinstance(k, _Leaf) for k in kids):
        kinds = [k.etype.prefix for k in kids]
        for r, c in ((0, 1), (1, 0)):
            if kinds[r] == "R" and kinds[c] in ("C", "CPE"):
                cols = (kids[r].start, *range(kids[c].start, kids[c].stop))
                out.append(Arc(kids[r].name, kids[c].name, kinds[c], group, cols))
                return
    for k in kids:
        counter[0] += 1
        _find_arcs(k, counter[0], out, counter)


class Circuit:
    """An equivalent circuit parsed once from its string.

    Parameters
    ----------
    text : str
        The circuit, e.g. ``"R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"`` (see the module docs).

    Raises
    ------
    InputError
        Empty string, unknown element, duplicate name, unbalanced parentheses; the message
        names the position in the string and what was expected there.

    Attributes
    ----------
    text : str
        Canonical form of the string (no spaces).
    parameter_names : tuple of str
        Every parameter, in order of appearance.
    units : dict
        SI unit of each parameter (for docs and printing).
    bounds : dict
        Default (lower, upper) bounds of each parameter.
    log_parameters : tuple of str
        Parameters fitted in log space.
    elements : dict
        Element name -> :class:`~ionscale.impedance.elements.ElementType`.

    Examples
    --------
    >>> c = Circuit("R0-p(R1,CPE1)")
    >>> c.parameter_names
    ('R0', 'R1', 'CPE1_Q', 'CPE1_alpha')
    >>> z = c.impedance([1e-3, 1e9], {"R0": 10, "R1": 100, "CPE1_Q": 1e-6, "CPE1_alpha": 0.9})
    >>> [round(float(v), 3) for v in z.real]  # R0 + R1 at low f, R0 at high f
    [110.0, 10.0]
    """

    def __init__(self, text: str) -> None:
        if isinstance(text, Circuit):
            text = text.text
        if not isinstance(text, str):
            raise InputError(f"got {type(text).__name__}", field="circuit",
                             expected="a circuit string such as 'R0-p(R1,CPE1)'")
        self._tree = _Parser(text).parse()
        leaves: list[_Leaf] = []
        n = _number(self._tree, 0, leaves)
        self._leaves = tuple(leaves)
        self.text = _text(self._tree)
        self.elements = {leaf.name: leaf.etype for leaf in leaves}
        names, units, bounds, log, specs = [], {}, {}, [], {}
        for leaf in leaves:
            for pname, spec in zip(leaf.etype.parameter_names(leaf.name), leaf.etype.parameters,
                                   strict=True):
                names.append(pname)
                units[pname] = spec.unit
                bounds[pname] = spec.bounds
                specs[pname] = (leaf.name, spec)
                if spec.log:
                    log.append(pname)
        assert len(names) == n
        self.parameter_names = tuple(names)
        self.units = units
        self.bounds = bounds
        self.log_parameters = tuple(log)
        self._specs = specs
        self._index = {name: i for i, name in enumerate(names)}
        self._z, self._zj = _compile(self._tree)
        arcs: list[Arc] = []
        _find_arcs(self._tree, 0, arcs, [0])
        self.arcs = tuple(arcs)

    @classmethod
    def parse(cls, text: str) -> Circuit:
        """Parse ``text`` (same as ``Circuit(text)``)."""
        return cls(text)

    # ------------------------------------------------------------------ plumbing

    def __reduce__(self):
        return (Circuit, (self.text,))

    def __eq__(self, other) -> bool:
        return isinstance(other, Circuit) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Circuit({self.text!r})"

    def __str__(self) -> str:
        lines = [f"{_text(self._tree, pretty=True)}  ({self.n_parameters} parameters)"]
        width = max(len(n) for n in self.parameter_names)
        for name in self.parameter_names:
            element, spec = self._specs[name]
            etype = self.elements[element]
            unit = spec.unit or "1"
            lines.append(f"  {name:<{width}}  [{unit}]  {spec.description} of {element} "
                         f"({etype.description}, {etype.equation})")
        return "\n".join(lines)

    @property
    def n_parameters(self) -> int:
        return len(self.parameter_names)

    def describe(self, name: str) -> str:
        """One line about parameter ``name``: its element, meaning and unit."""
        element, spec = self._specs[self._check_name(name)]
        return f"{name}: {spec.description} of {element} [{spec.unit or '1'}]"

    def _check_name(self, name: str) -> str:
        if name not in self._index:
            raise InputError(f"no parameter {name!r} in circuit '{self.text}'", field=name,
                             expected=f"one of {', '.join(self.parameter_names)}")
        return name

    def index(self, name: str) -> int:
        """Column of parameter ``name``."""
        return self._index[self._check_name(name)]

    def parameter_array(self, params, field: str = "params") -> np.ndarray:
        """Parameter values in circuit order from a mapping or a sequence.

        Raises
        ------
        InputError
            Missing or unknown names, or a sequence of the wrong length.
        """
        if isinstance(params, Mapping):
            unknown = [k for k in params if k not in self._index]
            if unknown:
                raise InputError(f"unknown parameter(s) {unknown} for circuit '{self.text}'",
                                 field=field,
                                 expected=f"names among {', '.join(self.parameter_names)}")
            missing = [n for n in self.parameter_names if n not in params]
            if missing:
                raise InputError(f"missing parameter(s) {missing} for circuit '{self.text}'",
                                 field=field,
                                 expected=f"a value for each of {', '.join(self.parameter_names)}")
            values = [params[n] for n in self.parameter_names]
        else:
            values = params
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise InputError("parameter values are not numbers", field=field,
                             expected="floats in SI units") from None
        if arr.ndim != 1 or arr.size != self.n_parameters:
            raise InputError(
                f"{arr.size} value(s) for the {self.n_parameters} parameters of circuit "
                f"'{self.text}'", field=field,
                expected=f"{self.n_parameters} values in the order "
                         f"{', '.join(self.parameter_names)}")
        return arr

    @staticmethod
    def _grid(frequency) -> Grid:
        f = np.atleast_1d(np.asarray(frequency, dtype=float))
        if f.ndim != 1:
            f = f.ravel()
        if not np.all(np.isfinite(f)) or np.any(f <= 0):
            raise InputError("frequencies must be finite and positive", field="frequency",
                             expected="f > 0 Hz")
        return Grid(f)

    # ------------------------------------------------------------------ evaluation

    def impedance(self, frequency, params) -> np.ndarray:
        """Complex impedance, ohm.

        Parameters
        ----------
        frequency : array_like
            Hz (> 0).
        params : mapping or sequence
            Every parameter, SI, by name or in :attr:`parameter_names` order.

        Returns
        -------
        ndarray of complex
            One Z per frequency.
        """
        p = self.parameter_array(params).tolist()
        return self._z(self._grid(frequency), p)

    def admittance(self, frequency, params) -> np.ndarray:
        """Complex admittance 1/Z, S (arguments as :meth:`impedance`)."""
        return 1.0 / self.impedance(frequency, params)

    def jacobian(self, frequency, params) -> np.ndarray:
        """Analytic ``∂Z/∂p``, shape ``(n_frequencies, n_parameters)``, complex (ohm per SI unit
        of each parameter)."""
        p = self.parameter_array(params).tolist()
        g = self._grid(frequency)
        J = np.empty((len(g), self.n_parameters), complex)
        self._zj(g, p, J)
        return J

    def evaluate(self, grid: Grid, p: list[float], jacobian: bool = False):
        """Fast path for fits: ``Z`` (and ``J`` if asked) on a prepared :class:`Grid` from a
        list of floats, without checks."""
        if not jacobian:
            return self._z(grid, p)
        J = np.empty((len(grid), len(p)), complex, order="F")  # leaves fill whole columns
        return self._zj(grid, p, J), J

    # ------------------------------------------------------------------ arcs

    def time_constants(self, params) -> list[ArcTime]:
        """τ, capacitance and apex frequency of each R‖C and R‖CPE arc, in string order.

        Examples
        --------
        >>> c = Circuit("R0-p(R1,C1)")
        >>> round(c.time_constants({"R0": 1, "R1": 1e3, "C1": 1e-9})[0].tau, 12)
        1e-06
        """
        p = self.parameter_array(params)
        out = []
        for arc in self.arcs:
            R = p[arc.columns[0]]
            if arc.kind == "C":
                tau = R * p[arc.columns[1]]
            else:
                Q, alpha = p[arc.columns[1]], p[arc.columns[2]]
                with np.errstate(all="ignore"):
                    tau = (R * Q) ** (1.0 / alpha) if alpha > 0 else math.nan
            cap = tau / R if R else math.nan
            freq = 1.0 / (2 * math.pi * tau) if tau > 0 else math.nan
            out.append(ArcTime(arc, float(tau), float(cap), float(freq)))
        return out

    def interchangeable_arcs(self) -> list[list[int]]:
        """Groups (indices into :attr:`arcs`) of arcs that can swap labels without changing Z:
        same kind, same series chain. Only groups of two or more are listed."""
        groups: dict[tuple[int, str], list[int]] = {}
        for i, arc in enumerate(self.arcs):
            groups.setdefault((arc.group, arc.kind), []).append(i)
        return [g for g in groups.values() if len(g) > 1]

    def top_level(self) -> list[tuple[str, object]]:
        """The series components of the top level: ``("element", name)``, ``("arc", Arc)`` or
        ``("block", None)`` for anything more nested (used by the automatic initial values)."""
        nodes = self._tree.children if isinstance(self._tree, _Series) else [self._tree]
        by_members = {frozenset((a.resistor, a.capacitor)): a for a in self.arcs}
        out: list[tuple[str, object]] = []
        for node in nodes:
            if isinstance(node, _Leaf):
                out.append(("element", node.name))
                continue
            members = frozenset(_leaf_names(node))
            if isinstance(node, _Parallel) and len(node.children) == 2 \
                    and members in by_members:
                out.append(("arc", by_members[members]))
            else:
                out.append(("block", tuple(_leaf_names(node))))
        return out


def _leaf_names(node) -> tuple[str, ...]:
    if isinstance(node, _Leaf):
        return (node.name,)
    return tuple(n for c in node.children for n in _leaf_names(c))


def as_circuit(circuit) -> Circuit:
    """A :class:`Circuit` from a string or a Circuit."""
    return circuit if isinstance(circuit, Circuit) else Circuit(circuit)

