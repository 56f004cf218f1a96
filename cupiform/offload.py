"""Reading large manifests in a child process, while this one reads the server and state.

Planning a large project is CPU work under one interpreter lock: the manifests (YAML and
their checks), the state, the server's pages. The manifests need nothing but their files,
so on a machine with ``fork`` a child reads them on another core and hands the resources
back as plain tuples (``marshal``), which this process turns into ``Resource`` values.

Only the result crosses: resources, or the problems that refuse them (raised here as the
same ``ManifestError``). Anything else (a bug, a child killed or gone) makes this process
read the manifests itself, so the outcome never depends on the child. The child must be
forked before any thread, connection or lock exists: a child outliving a parent that was
killed outright would otherwise hold the state lock while it reads. It leaves by
``os._exit`` (no cleanup of what it inherited), dies at Ctrl-C with its parent, and is
ended and reaped whenever the parent stops waiting for it.
"""

from __future__ import annotations

import marshal
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

from cupiform.errors import ManifestError, Problem
from cupiform.model import ManifestSet, Owner, Resource, Source

# Below this many bytes of manifests, forking costs more than it saves.
OFFLOAD_MIN_BYTES = 512 * 1024

_Loader = Callable[[], ManifestSet]


def can_offload(files: Sequence[tuple[Path, str]]) -> bool:
    """Whether reading ``files`` in a child pays: a large project, on Linux (``fork``
    without the caveats other systems attach to it)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    if os.environ.get("CUPIFORM_NO_OFFLOAD"):
        return False
    total = 0
    for path, _ in files:
        try:
            total += path.stat().st_size
        except OSError:
            return False  # the child would only report it: let this process do it
        if total >= OFFLOAD_MIN_BYTES:
            return True
    return False


class ManifestReader:
    """The manifests, being read by ``load`` in a child (or here, when no child is used).

    Made before any thread starts; ``result()`` waits for the resources."""

    def __init__(self, load: _Loader, offload: bool) -> None:
        self._load = load
        self._pid: int | None = None
        self._chunks: list[bytes] = []
        self._reader: threading.Thread | None = None
        self._outcome: ManifestSet | list[Problem] | None = None
        if offload:
            self._start()

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:  # the child
            os.close(read_end)
            _child(self._load, write_end)
        os.close(write_end)
        self._pid = pid
        self._reader = threading.Thread(
            target=self._drain, args=(read_end,), name="cupiform-manifests", daemon=True
        )
        self._reader.start()

    def _drain(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            while chunk := pipe.read(1 << 20):
                self._chunks.append(chunk)

    @property
    def offloaded(self) -> bool:
        """Whether a child reads them (else ``result`` reads them here)."""
        return self._reader is not None

    def result(self) -> ManifestSet:
        """The manifests; ``ManifestError`` when they are refused."""
        if self._reader is None:
            return self._load()
        if self._outcome is None:
            self._reader.join()
            pid, self._pid = self._pid, None
            _, status = os.waitpid(pid, 0) if pid is not None else (0, 1)
            decoded = _decode(b"".join(self._chunks)) if status == 0 else None
            self._chunks.clear()
            self._outcome = decoded if decoded is not None else self._read_here()
        if isinstance(self._outcome, ManifestSet):
            return self._outcome
        raise ManifestError(list(self._outcome))

    def _read_here(self) -> ManifestSet | list[Problem]:
        """The child failed (a bug, or killed): read them here, to the same end."""
        try:
            return self._load()
        except ManifestError as error:
            return error.problems

    def close(self) -> None:
        """End the child, if it still runs (the parent stopped early: an error, Ctrl-C)."""
        if self._pid is not None:
            pid, self._pid = self._pid, None
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _child(load: _Loader, fd: int) -> None:
    """Read, send, leave: never returns."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child with the parent
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = 0
    try:
        payload: tuple[str, Any]
        try:
            payload = ("resources", _encode(load()))
        except ManifestError as error:
            problems = [(p.file, p.line, p.column, p.message) for p in error.problems]
            payload = ("problems", problems)
        data = marshal.dumps(payload)
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(data)
    except BaseException:  # the parent then reads them itself, and reports
        code = 1
    finally:
        os._exit(code)


def _encode(manifests: ManifestSet) -> tuple[Any, ...]:
    """The resources as columns (the transpositions run in C, and marshal writes a string
    met again, such as a file name, as a reference to the first)."""
    resources = manifests.resources
    if not resources:
        return (list(manifests.files), 0, ())
    kinds, names, attributes, owners, sources = zip(*resources, strict=True)
    aliases, object_ids, owner_sources = zip(*owners, strict=True)
    return (
        list(manifests.files),
        len(resources),
        (
            kinds,
            names,
            attributes,
            aliases,
            object_ids,
            *zip(*owner_sources, strict=True),
            *zip(*sources, strict=True),
        ),
    )


def _decode(data: bytes) -> ManifestSet | list[Problem] | None:
    try:
        kind, body = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if kind == "problems":
        return [Problem(*fields) for fields in body]
    files, count, columns = body
    if not count:
        return ManifestSet(files=tuple(files), resources=())
    (kinds, names, attributes, aliases, object_ids, *positions) = columns
    owner_files, owner_lines, owner_columns, source_files, lines, source_columns = positions
    # Made by tuple.__new__ (what a named tuple's constructor calls) mapped over the columns:
    # no Python-level call per record.
    new = tuple.__new__
    owner_sources = map(
        new, repeat(Source), zip(owner_files, owner_lines, owner_columns, strict=True)
    )
    owners = map(new, repeat(Owner), zip(aliases, object_ids, owner_sources, strict=True))
    sources = map(new, repeat(Source), zip(source_files, lines, source_columns, strict=True))
    resources = tuple(
        map(new, repeat(Resource), zip(kinds, names, attributes, owners, sources, strict=True))
    )
    return ManifestSet(files=tuple(files), resources=resources)
