"""Atomic file writes: a reader never sees half a file, a crash never destroys the old one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..errors import InputError

#: Written into the head of every HTML report, so that a report may replace an earlier one.
REPORT_MARKER = b'name="generator" content="ionscale'


def check_output_path(out: str | os.PathLike, protected: Mapping[Path, str], *,
                      force: bool = False, file: str | None = None,
                      field: str = "out") -> Path:
    """Refuse to write a report at ``out`` over something that must not be lost.

    Parameters
    ----------
    out : str or path-like
        The file about to be written.
    protected : mapping of Path to str
        Files that are never replaced, with what they are ("the results database"); a
        database's ``-wal``/``-shm``/``-journal`` companions are protected with it.
    force : bool
        Allow replacing an existing file that is not an earlier ionscale report.
    file, field : str, optional
        Named in the error (the campaign file and its key, or the CLI option).

    Returns
    -------
    Path
        ``out``, resolved.

    Raises
    ------
    InputError
        ``out`` is a protected file, a folder, or (without ``force``) an existing file that is
        not an ionscale report.
    """
    target = Path(out).resolve()
    guarded: dict[Path, str] = {}
    for path, what in protected.items():
        path = Path(path).resolve()
        guarded[path] = what
        if "database" in what:
            for suffix in ("-wal", "-shm", "-journal"):
                guarded.setdefault(Path(f"{path}{suffix}"), f"a file of {what}")
    if target in guarded:
        raise InputError(f"{target} would overwrite {guarded[target]}", file=file, field=field,
                         expected="another file name, e.g. report.html")
    if target.is_dir():
        raise InputError(f"{target} is a folder", file=file, field=field,
                         expected="a file name, e.g. report.html")
    if target.exists() and not force and not _is_report(target):
        raise InputError(f"{target} exists and is not an ionscale report; refusing to "
                         "replace it", file=file, field=field,
                         expected="a new file name, an earlier ionscale report, or --force")
    return target


def _is_report(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return REPORT_MARKER in fh.read(4096)
    except OSError:
        return False


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Parameters
    ----------
    path : str or path-like
        Destination; replaced only once the new content is complete and flushed.
    data : bytes
        Content.

    Returns
    -------
    Path
    """
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp creates 0600; keep the file readable as before
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """:func:`write_bytes_atomic` for UTF-8 text."""
    return write_bytes_atomic(path, text.encode("utf-8"))
