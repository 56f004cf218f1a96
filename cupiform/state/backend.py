"""Where state lives: the narrow interface the planner and the executor use, and the one
implementation so far, a local JSON file.

A backend reads and writes whole ``State`` values and holds the lock; it knows nothing of
plans. Another store (a database, an object store) is another class with these four
methods, chosen in ``open_backend``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from cupiform.errors import StateError, StateMismatchError
from cupiform.state.atomic import write_atomically
from cupiform.state.document import (
    EncodedLines,
    State,
    StateColumns,
    decode_state,
    decode_state_columns,
    encode_state,
    state_from_columns,
    state_schema,
)
from cupiform.state.lock import LockInfo, clear_stale_lock, hold_lock


class StateBackend(Protocol):
    @property
    def location(self) -> str:
        """How messages name the store (``state/cupiform-state.json``)."""
        ...

    def read(self) -> State | None:
        """The stored state; None when there is none yet. Refuses a store it cannot use."""
        ...

    def write(self, state: State) -> State:
        """Store ``state`` as the next version and return it as stored (``serial`` + 1).
        Refused when the store changed since it was last read or written here."""
        ...

    def lock(self, operation: str) -> AbstractContextManager[LockInfo]:
        """Hold the store's lock for a ``with`` block, or raise ``StateLockedError``."""
        ...

    def clear_stale_lock(self) -> LockInfo | None:
        """Clear a lock whose holder is gone and return who it was (None: no lock)."""
        ...


_Fingerprint = tuple[int, int, int, int]


class FileStateBackend:
    """State in a JSON file, with ``<name>.backup`` (the previous version) and ``<name>.lock``
    beside it. Writes are atomic; a file that changed on disk since it was read here (or that
    could not be read) is never overwritten."""

    def __init__(self, path: Path, location: str) -> None:
        self.path = path
        self._location = location
        self._schema = state_schema()
        self._read_once = False
        self._on_disk: _Fingerprint | None = None
        self._version: tuple[str, int] | None = None  # lineage and serial on disk
        self._lines: EncodedLines = {}  # entries encoded by earlier writes, for the next
        self._elsewhere: Callable[[], DecodedState | None] | None = None

    @property
    def location(self) -> str:
        return self._location

    @property
    def backup_path(self) -> Path:
        return self.path.with_name(self.path.name + ".backup")

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def read(self) -> State | None:
        try:
            data = self.path.read_bytes()
            fingerprint = _fingerprint(self.path)
        except FileNotFoundError:
            state, fingerprint = None, None
        except OSError as error:
            raise StateError(f"cannot read the state {self._location}: {error.strerror}") from None
        else:
            state = self._decoded_elsewhere(data)
            if state is None:
                state = decode_state(data, self._location, self._schema)
        self._read_once = True
        self._on_disk = fingerprint
        self._version = (state.lineage, state.serial) if state else None
        return state

    def decode_elsewhere(self, decoded: Callable[[], DecodedState | None]) -> None:
        """Let the next ``read`` take the state ``decoded`` gives (``decode_file`` run
        elsewhere, a child process say), when it was decoded from the very bytes read."""
        self._elsewhere = decoded

    def _decoded_elsewhere(self, data: bytes) -> State | None:
        elsewhere, self._elsewhere = self._elsewhere, None
        decoded = elsewhere() if elsewhere is not None else None
        if decoded is None or decoded[0] != _digest(data):
            return None
        try:
            return state_from_columns(decoded[1])
        except (TypeError, ValueError):  # not what decode_file gives: decoded here instead
            return None

    def decode_file(self) -> DecodedState | None:
        """The state in the file, decoded as ``read`` does (as columns), with the digest of
        the bytes it was decoded from; None when there is none, or when ``read`` has
        something to report (then ``read`` reports it)."""
        try:
            data = self.path.read_bytes()
            return _digest(data), decode_state_columns(data, self._location, self._schema)
        except (OSError, StateError):
            return None

    def write(self, state: State) -> State:
        if not self._read_once:
            self.read()
        if _fingerprint_or_none(self.path) != self._on_disk:
            raise StateError(
                f"the state {self._location} changed on disk since cupiform read it; "
                "not overwritten (run the command again)"
            )
        if self._version is not None and self._version != (state.lineage, state.serial):
            lineage, serial = self._version
            raise StateMismatchError(
                f"the state {self._location} on disk is lineage {lineage} serial {serial}, "
                f"not lineage {state.lineage} serial {state.serial} as the update assumes; "
                "not overwritten"
            )
        written = replace(state, serial=state.serial + 1)
        try:
            data = encode_state(written, self._lines)
            write_atomically(self.path, data, backup=self.backup_path)
            self._on_disk = _fingerprint(self.path)
        except OSError as error:
            raise StateError(f"cannot write the state {self._location}: {error}") from None
        self._version = (written.lineage, written.serial)
        return written

    def lock(self, operation: str) -> AbstractContextManager[LockInfo]:
        return hold_lock(self.lock_path, self._location, operation)

    def clear_stale_lock(self) -> LockInfo | None:
        return clear_stale_lock(self.lock_path, self._location)


# The state decoded elsewhere (as columns), with the digest of the bytes it was decoded from.
DecodedState = tuple[bytes, StateColumns]


def _digest(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


def _fingerprint(path: Path) -> _Fingerprint:
    status = os.stat(path)
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def _fingerprint_or_none(path: Path) -> _Fingerprint | None:
    try:
        return _fingerprint(path)
    except FileNotFoundError:
        return None
