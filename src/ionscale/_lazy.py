"""Lazy package exports: ``ionscale.tracer.fit_profile`` imports its module on first use.

A package ``__init__`` lists what it exports and where each name lives; nothing heavy (numba,
scipy.stats, scikit-image) is imported until a name is used, so ``ionscale --help`` and a
command that needs one technique start at once.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping, Sequence


class _ExportingModule(types.ModuleType):
    """A package whose exported function may share its name with the submodule defining it
    (``impedance.kramers_kronig``): importing that submodule must not replace the function
    with the module object, as the import system's ``setattr(package, name, module)`` would."""

    _shadowed: frozenset = frozenset()

    def __setattr__(self, name: str, value: object) -> None:
        if name in type(self)._shadowed and isinstance(value, types.ModuleType):
            return  # the submodule stays reachable through sys.modules
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]],
                 namespace: dict) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` exporting ``exports``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping of str to sequence of str
        Relative module (``".fit"``, ``"..io.eis"``) → the names it provides.
    namespace : dict
        The package's ``globals()``: a resolved name is cached there.

    Returns
    -------
    tuple of callables
        Assign them to ``__getattr__`` and ``__dir__`` in the package.
    """
    where = {name: module for module, names in exports.items() for name in names}
    shadowed = frozenset(name for name, module in where.items() if module.lstrip(".") == name)
    if shadowed:
        cls = type(f"{package}.<module>", (_ExportingModule,), {"_shadowed": shadowed})
        sys.modules[package].__class__ = cls

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if name in shadowed:  # the submodule may be loaded already: take the function from it
            value = getattr(importlib.import_module(module, package), name)
            namespace[name] = value
            return value
        if module is None:
            try:  # a submodule (``ionscale.impedance.fit``) that is not imported yet
                return importlib.import_module(f".{name}", package)
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
