"""Reading large manifests, and the state, in a child process, while this one reads the
server.

Planning a large project is CPU work under one interpreter lock: the manifests (YAML and
their checks), the state, the server's pages. The manifests and the state need nothing but
their files, so on a machine with ``fork`` a child decodes the state, then reads the
manifests, on another core, and hands each back as plain columns (``marshal``), which this
process turns into ``State`` and ``Resource`` values.

Only results cross: the state with the digest of the bytes it was decoded from (this
process takes it only for the very bytes it reads under the lock: see
``FileStateBackend.decode_elsewhere``), and the resources, or the problems that refuse them
(raised here as the same ``ManifestError``). A state the child could not use, and anything
else (a bug, a child killed or gone), leaves the work to this process, so the outcome
never depends on the child. The child must be forked before any thread, connection or
lock exists: a child outliving a parent that was killed outright would otherwise hold the
state lock while it reads. It leaves by ``os._exit`` (no cleanup of what it inherited),
dies at Ctrl-C with its parent, and is ended and reaped whenever the parent stops waiting
for it."""

from __future__ import annotations

import contextlib
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
from cupiform.state.backend import DecodedState

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
    """The manifests, being read by ``load`` in a child (or here, when no child is used),
    and the state, decoded there by ``state`` first, if given (``state()``).

    Made before any thread starts; ``result()`` waits for the resources."""

    def __init__(
        self,
        load: _Loader,
        offload: bool,
        *,
        state: Callable[[], DecodedState | None] | None = None,
    ) -> None:
        self._load = load
        self._decode_state = state
        self._pid: int | None = None
        self._frames: list[bytes] = []  # what the child sent: the state, the manifests
        self._arrived = threading.Condition()
        self._drained = False
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
            _child((self._state_job, self._manifests_job), write_end)
        os.close(write_end)
        self._pid = pid
        self._reader = threading.Thread(
            target=self._drain, args=(read_end,), name="cupiform-manifests", daemon=True
        )
        self._reader.start()

    def _state_job(self) -> Any:
        return self._decode_state() if self._decode_state is not None else None

    def _manifests_job(self) -> Any:
        try:
            return ("resources", _encode(self._load()))
        except ManifestError as error:
            return ("problems", [(p.file, p.line, p.column, p.message) for p in error.problems])

    def _drain(self, fd: int) -> None:
        """Read the child's frames (a length, then that many bytes) as they come."""
        try:
            with os.fdopen(fd, "rb") as pipe:
                while len(header := pipe.read(8)) == 8:
                    size = int.from_bytes(header, "little")
                    frame = pipe.read(size)
                    if len(frame) != size:
                        break  # the child died while writing it
                    with self._arrived:
                        self._frames.append(frame)
                        self._arrived.notify_all()
        finally:
            with self._arrived:
                self._drained = True
                self._arrived.notify_all()

    def _frame(self, index: int) -> Any:
        """What the child sent ``index``-th, or None when it sent no such thing."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._frames) > index or self._drained)
            frame = self._frames[index] if len(self._frames) > index else None
        try:
            return marshal.loads(frame) if frame is not None else None
        except (EOFError, ValueError, TypeError):
            return None

    @property
    def offloaded(self) -> bool:
        """Whether a child reads them (else ``result`` reads them here)."""
        return self._reader is not None

    def state(self) -> DecodedState | None:
        """The state the child decoded, with the digest of the bytes it decoded; None
        when it did not (no child, no state, or one to refuse: ``read`` says why)."""
        if self._reader is None:
            return None
        decoded = self._frame(0)
        return decoded if isinstance(decoded, tuple) and len(decoded) == 2 else None

    def result(self) -> ManifestSet:
        """The manifests; ``ManifestError`` when they are refused."""
        if self._reader is None:
            return self._load()
        if self._outcome is None:
            decoded = _decode(self._frame(1))
            self._reap()
            self._frames.clear()  # (the state's, if wanted, was taken before)
            self._outcome = decoded if decoded is not None else self._read_here()
        if isinstance(self._outcome, ManifestSet):
            return self._outcome
        raise ManifestError(list(self._outcome))

    def _reap(self) -> None:
        """Wait for the child, which leaves once it has sent everything."""
        if self._reader is not None:
            self._reader.join()
        pid, self._pid = self._pid, None
        if pid is not None:
            os.waitpid(pid, 0)

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


def _child(jobs: Sequence[Callable[[], Any]], fd: int) -> None:
    """Do each job, send what it gives (a frame each), leave: never returns."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child with the parent
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Its results are wanted only once the server has been read: on a machine with few
    # cores, the parent reading the server comes first (measured: a plan of 100,000
    # addresses ends about 0.1 s sooner on two cores).
    with contextlib.suppress(OSError):
        os.nice(10)
    code = 0
    try:
        with os.fdopen(fd, "wb") as pipe:
            for job in jobs:
                try:
                    data = marshal.dumps(job())
                except Exception:
                    data = marshal.dumps(None)
                pipe.write(len(data).to_bytes(8, "little"))
                pipe.write(data)
                pipe.flush()
    except BaseException:  # the parent then does it all itself, and reports
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


def _decode(payload: Any) -> ManifestSet | list[Problem] | None:
    try:
        kind, body = payload
    except (ValueError, TypeError):
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
