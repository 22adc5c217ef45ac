"""Exceptions and warnings raised by ionscale.

Every problem with what a user gave us is an :class:`InputError` that says *where* (file, line,
field) and *what was expected*, so the message alone is enough to fix the input.
"""

from __future__ import annotations

import os


class IonscaleError(Exception):
    """Base class of every ionscale exception."""


class InputError(IonscaleError, ValueError):
    """Bad input: a file, a column, a parameter or an array that cannot be used.

    Parameters
    ----------
    message : str
        What is wrong.
    file : str or os.PathLike, optional
        The file the problem was found in.
    field : str, optional
        The column, key, argument or parameter at fault.
    expected : str, optional
        What would have been accepted.
    line : int, optional
        1-based line number in ``file``.

    Examples
    --------
    >>> str(InputError("negative counts", file="map.txt", field="6Li", expected="counts >= 0"))
    "map.txt: field '6Li': negative counts (expected counts >= 0)"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike | None = None,
        field: str | None = None,
        expected: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.file = os.fspath(file) if file is not None else None
        self.field = field
        self.expected = expected
        self.line = line
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        text = ": ".join([*where, self.message])
        if self.expected:
            text += f" (expected {self.expected})"
        return text

    def with_file(self, file: str | os.PathLike) -> InputError:
        """Return a copy naming ``file`` (for readers that validate arrays after loading)."""
        if self.file is not None:
            return self
        return InputError(
            self.message, file=file, field=self.field, expected=self.expected, line=self.line
        )


class FitError(IonscaleError, RuntimeError):
    """A fit that could not be carried out (too few points, no convergence, singular model)."""


class FitWarning(UserWarning):
    """A fit that returned but whose diagnostics deserve a look (e.g. a parameter at a bound)."""
