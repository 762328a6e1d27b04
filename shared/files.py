"""Writing files so that no reader ever takes a half-written one for a whole one.

Every write goes to a temporary file in the same folder and is renamed over the
target, which POSIX makes atomic; a crash leaves the old file or none.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_with(path: Path, write: Callable[[str], object]) -> Path:
    """Let ``write`` fill a temporary path, then rename it over ``path``.

    For libraries that write to a path themselves (safetensors, Pillow).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(fd)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole, or not at all."""
    return write_with(path, lambda temporary: Path(temporary).write_bytes(data))


def write_private(path: Path, text: str) -> Path:
    """Write a file only its owner can read, with no moment of wider permissions.

    mkstemp creates the temporary file with mode 0600, and the rename keeps it.
    """
    return write_with(path, lambda temporary: Path(temporary).write_text(text))
