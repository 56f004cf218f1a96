"""Replacing a file so that a crash at any moment leaves the old content or the new, whole.

The new content goes to a temporary file in the same folder (so that the rename stays on
one filesystem), is flushed to disk, and is renamed over the target; the folder is then
flushed so that the rename itself survives a power cut. Before the rename, the current
file is kept as a backup: hard-linked (or, where links are not allowed, copied through a
temporary file of its own) and renamed over the previous backup.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, backup: Path | None = None) -> None:
    """Make ``path`` hold ``data`` (mode 0600 when new); the current file becomes ``backup``."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    temporary = _write_temporary(directory, path.name, data)
    try:
        if backup is not None and path.exists():
            _keep_backup(path, backup)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


def _write_temporary(directory: Path, name: str, data: bytes) -> Path:
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
        os.fsync(handle)
    except BaseException:
        os.close(handle)
        Path(temporary).unlink(missing_ok=True)
        raise
    os.close(handle)
    return Path(temporary)


def _keep_backup(path: Path, backup: Path) -> None:
    link = backup.with_name(f".{backup.name}.{os.getpid()}.tmp")
    link.unlink(missing_ok=True)
    try:
        os.link(path, link)
    except OSError:  # no hard links here: copy
        link = _write_temporary(backup.parent, backup.name, path.read_bytes())
    try:
        os.replace(link, backup)
    except BaseException:
        link.unlink(missing_ok=True)
        raise


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
