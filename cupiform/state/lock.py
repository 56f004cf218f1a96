"""The lock that keeps one plan+apply (or ``state rm``) at a time on a state file.

An OS-level lock (``fcntl.flock``) on ``<state>.lock``: the kernel releases it when the
holding process ends, however it ends, so a lock is never left behind by a crash. The
file's content names the holder (user, host, pid, operation, start time) for whoever meets
the lock. The file is never deleted, only emptied: deleting it would let a process that
opened the old file and one that creates a new one both hold "the" lock.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cupiform.errors import StateError, StateLockedError


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock, and since when (UTC, ISO 8601)."""

    user: str
    host: str
    pid: int
    operation: str
    since: str

    @classmethod
    def for_this_process(cls, operation: str) -> LockInfo:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (containers)
            user = str(os.getuid())
        return cls(
            user=user,
            host=socket.gethostname(),
            pid=os.getpid(),
            operation=operation,
            since=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def describe(self) -> str:
        who = f"{self.user}@{self.host} (pid {self.pid})"
        return f"{who}, running '{self.operation}' since {self.since}"


def _read_info(handle: int) -> LockInfo | None:
    os.lseek(handle, 0, os.SEEK_SET)
    data = b""
    while chunk := os.read(handle, 4096):
        data += chunk
    try:
        fields = json.loads(data)
        return LockInfo(
            user=str(fields["user"]),
            host=str(fields["host"]),
            pid=int(fields["pid"]),
            operation=str(fields["operation"]),
            since=str(fields["since"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise StateError(f"cannot open the lock file {path}: {error.strerror}") from None


def _try_lock(handle: int) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _who(holder: LockInfo | None) -> str:
    return holder.describe() if holder else "another process (it has not said who yet)"


@contextmanager
def hold_lock(path: Path, location: str, operation: str) -> Iterator[LockInfo]:
    """Hold the lock on ``path`` for the ``with`` block, or raise ``StateLockedError`` naming
    the holder. ``location`` names the state file in messages."""
    handle = _open(path)
    try:
        if not _try_lock(handle):
            raise StateLockedError(
                f"the state {location} is locked by {_who(_read_info(handle))}; wait for it "
                "to finish (the lock goes when that process ends)"
            )
        info = LockInfo.for_this_process(operation)
        os.ftruncate(handle, 0)
        os.pwrite(handle, json.dumps(asdict(info), sort_keys=True).encode() + b"\n", 0)
        os.fsync(handle)
        try:
            yield info
        finally:
            os.ftruncate(handle, 0)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def clear_stale_lock(path: Path, location: str) -> LockInfo | None:
    """Clear what a holder that is gone left in the lock file, and return it (None when the
    file names nobody). Refused with ``StateLockedError`` naming the holder if it is alive."""
    if not path.exists():
        return None
    handle = _open(path)
    try:
        if not _try_lock(handle):
            raise StateLockedError(
                f"not unlocked: the state {location} is locked by {_who(_read_info(handle))}, "
                "which is still running; wait for it to finish"
            )
        stale = _read_info(handle)
        os.ftruncate(handle, 0)
        fcntl.flock(handle, fcntl.LOCK_UN)
        return stale
    finally:
        os.close(handle)
