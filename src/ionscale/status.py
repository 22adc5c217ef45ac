"""How far a result can be trusted: its status and the diagnostics behind it.

Every :class:`~ionscale.results.Result` (and every :class:`~ionscale.fitting.FitResult`)
carries :class:`Diagnostic` objects; the result's status is the worst of them. The codes are
declared once in :data:`DIAGNOSTIC_CODES`, so the store, the CLI and the report explain them
the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: How far a result can be trusted: ``ok``, ``warning`` (a number to check before use) or
#: ``failed`` (a number that must not be used).
Status = Literal["ok", "warning", "failed"]
STATUSES: tuple[Status, ...] = ("ok", "warning", "failed")

#: Every diagnostic code, with the severity it has unless a producer says otherwise and what it
#: means. One table, so that the store, the CLI and the report explain codes the same way.
DIAGNOSTIC_CODES: dict[str, tuple[Status, str]] = {
    "not-converged": ("warning", "the optimiser stopped before it converged"),
    "undetermined": ("warning", "the data do not determine a parameter (infinite error)"),
    "at-bound": ("warning", "a parameter ended at a bound; its error is not meaningful"),
    "chi2-improbable": ("warning", "the fit does not describe the data within their errors"),
    "non-finite": ("failed", "a value is NaN or infinite"),
    "out-of-range": ("failed", "a value is outside the physically possible range"),
    "unmeasurable": ("warning", "a value is outside the range the data can measure"),
    "auto-start": ("warning", "the automatic start was used instead of the user's"),
    "fixed-choice": ("warning", "a quantity was fixed, not fitted; the result depends on it"),
    "data-quality": ("warning", "the data do not meet a condition of the method"),
    "failed": ("failed", "the analysis could not produce a trustworthy number"),
}


@dataclass(frozen=True)
class Diagnostic:
    """One thing a user must know about a result, in one plain sentence.

    Parameters
    ----------
    code : str
        A key of :data:`DIAGNOSTIC_CODES` (``"not-converged"``, ``"at-bound"``...).
    message : str
        One sentence for a person, naming the quantity concerned.
    severity : {"warning", "failed"}, optional
        Defaults to the code's own severity.
    fields : tuple of str
        Names of the values or parameters concerned.

    Examples
    --------
    >>> str(Diagnostic("at-bound", "R0 ended at its lower bound", fields=("R0",)))
    'warning [at-bound]: R0 ended at its lower bound'
    """

    code: str
    message: str
    severity: Status | None = None
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.code not in DIAGNOSTIC_CODES:
            raise ValueError(f"unknown diagnostic code {self.code!r}; known: "
                             f"{sorted(DIAGNOSTIC_CODES)}")
        if self.severity is None:
            object.__setattr__(self, "severity", DIAGNOSTIC_CODES[self.code][0])
        if self.severity not in STATUSES[1:]:
            raise ValueError(f"severity {self.severity!r} is not 'warning' or 'failed'")
        object.__setattr__(self, "fields", tuple(str(f) for f in self.fields))

    def __str__(self) -> str:
        return f"{self.severity} [{self.code}]: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "fields": list(self.fields)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Diagnostic:
        code = str(d.get("code", "failed"))
        if code not in DIAGNOSTIC_CODES:  # a code from a newer ionscale: keep its severity
            code = "failed" if d.get("severity") == "failed" else "data-quality"
        return cls(code, str(d.get("message", "")), d.get("severity"),
                   tuple(d.get("fields", ()) or ()))


def worst_status(diagnostics: Iterable[Diagnostic]) -> Status:
    """``failed`` if any diagnostic is, else ``warning`` if there are any, else ``ok``."""
    worst = 0
    for d in diagnostics:
        worst = max(worst, STATUSES.index(d.severity))
    return STATUSES[worst]
