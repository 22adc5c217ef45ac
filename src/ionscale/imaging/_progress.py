"""The one switchable progress helper of the imaging package (tqdm on stderr, or nothing)."""

from __future__ import annotations


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass


def progress_bar(*, total: int, desc: str, unit: str = "it", enabled: bool = False):
    """A tqdm bar when ``enabled`` (the CLI), else an object with the same methods that does
    nothing (library calls never write to the terminal unless asked)."""
    if not enabled:
        return _Silent()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False)
