"""Writing files so that a reader never sees half of one: write under a temporary name in the same
folder, then rename it into place (atomic on POSIX); the temporary is removed on any failure.

The written thing may be a file or a folder (a Zarr store). An existing file or folder at the
destination is replaced only by a complete new one, and never by one of the other kind.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"
"""Suffix of the temporary names, hidden as ``.NAME.<random>.tmp`` beside the target."""

PREVIOUS_SUFFIX = ".old"
"""Suffix under which an existing folder waits while its replacement is moved in."""


def write_atomically(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)`` (nothing exists there yet; it may create a file or a
    folder), then move the result to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _sibling(path, TEMPORARY_SUFFIX)
    try:
        write(temporary)
        _replace(temporary, path)
    finally:
        _remove(temporary)


def _sibling(path: Path, suffix: str) -> Path:
    return path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}{suffix}"


def _replace(temporary: Path, path: Path) -> None:
    """Rename ``temporary`` to ``path``; an existing folder is removed once it is replaced."""
    if path.exists() and path.is_dir() != temporary.is_dir():
        kind = "folder" if path.is_dir() else "file"
        raise ValueError(f"{str(path)!r} exists and is a {kind}; remove it or choose another name")
    if path.is_dir():
        previous = _sibling(path, PREVIOUS_SUFFIX)
        os.replace(path, previous)
        os.replace(temporary, path)
        shutil.rmtree(previous)
    else:
        os.replace(temporary, path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
