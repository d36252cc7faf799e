"""Files replaced whole: a reader sees the old file or the new one, never part of one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def replace_file(final: Path, write: Callable[[Path], object]) -> None:
    """``write`` fills a temporary file beside ``final``, which is then renamed over it: a reader sees the old
    file or the new one, never part of one, and a crash or error leaves the old file whole."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{final.name}.{uuid.uuid4().hex}.tmp"
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
