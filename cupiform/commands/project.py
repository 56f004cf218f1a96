"""What plan, apply, destroy and import share: the project's files, its state store,
and making a plan from manifests, state and the live server."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from cupiform import ending
from cupiform.config import Config, load_config
from cupiform.errors import CupiformError, Problem
from cupiform.model import ManifestSet
from cupiform.offload import ManifestReader, can_offload
from cupiform.plan import LiveObject, Plan
from cupiform.refresh import (
    UserDirectory,
    list_directory,
    list_live,
    name_holders,
    refresh,
    resolve_owners,
)
from cupiform.resources.base import Collection
from cupiform.resources.kinds import KINDS, resolve_address
from cupiform.state import FileStateBackend, State, StateBackend, load_state, open_backend

# Imported where they are first used, not here: the client (and httpx) once the child is
# forked (the child does not need it, and starts sooner); the planner and the manifests'
# readers once the server is being read (the child reads the manifests; the server is
# asked sooner).
if TYPE_CHECKING:
    from cupiform.cupi.client import CupiClient
    from cupiform.planner import KindIndex

T = TypeVar("T")


def warn(message: str) -> None:
    print(f"cupiform: warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class Project:
    config: Config
    manifests: ManifestSet
    backend: StateBackend

    @property
    def server(self) -> str:
        return self.config.server.identity


def open_project() -> Project:
    """The project in the current directory: config and manifests checked, state store ready
    (not read yet: read it under the lock)."""
    config = load_config(Path.cwd(), os.environ)
    from cupiform.manifest import load_manifests

    manifests = load_manifests(config)
    return Project(config, manifests, open_backend(config))


def resolve_targets(names: Sequence[str], project: Project, state: State) -> list[str]:
    """``--target`` names as resource addresses: the full address, or a bare name while no
    other kind has it; known addresses are the manifests' and the state's."""
    known = [*(r.address for r in project.manifests.resources), *state.resources]
    return [resolve_address(n, known, KINDS, where="the manifests or the state") for n in names]


def plan_project(
    project: Project,
    state: State,
    client: CupiClient,
    *,
    refresh_only: bool = False,
    targets: Sequence[str] = (),
) -> Plan:
    """Refresh, then plan, one after the other (``planned`` reads side by side)."""
    addresses = resolve_targets(targets, project, state)
    resources = project.manifests.resources
    refreshed = refresh(client, KINDS, resources)
    from cupiform.planner import make_plan

    return make_plan(
        KINDS,
        resources,
        state.resources,
        refreshed.live,
        owners=refreshed.owners,
        owner_names=refreshed.owner_names,
        prune=project.config.prune,
        refresh_only=refresh_only,
        targets=addresses,
    )


class Background(Generic[T]):
    """Work on a daemon thread. Unlike a thread pool's, a daemon thread does not hold up the
    process when the main thread fails first (bad manifests, another server's state): the
    error is reported at once, not after the server has been read in vain."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="cupiform-refresh", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as error:  # handed to the caller of result()
            self._error = error

    def finish(self) -> None:
        """Wait for the work to end, whatever its outcome (for work whose result may go
        unused, which must not go on reading the server while apply writes)."""
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


# The fewest bytes a manifest entry naming its owner by alias takes in the usual layout
# (name, address and user on lines of their own).
_BYTES_PER_ALIAS = 64


def _likely_aliases(files: Sequence[tuple[Path, str]]) -> int:
    """How many aliases manifests this large are likely to name, before they are read."""
    total = 0
    for path, _ in files:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total // _BYTES_PER_ALIAS


def _listed(client: CupiClient) -> tuple[tuple[LiveObject, ...], dict[str, KindIndex]]:
    live = list_live(client, KINDS)
    from cupiform.planner import index_live

    return live, index_live(KINDS, live)


_Early = Background[UserDirectory | None]


def _early_directories(client: CupiClient, likely_aliases: int) -> dict[str, _Early]:
    """Listings of every owner, begun now for the owner collections whose aliases will
    likely be resolved by listing them all (``CupiClient.listing_pays``): on a large
    directory that takes seconds, and it need not wait for the manifests. Each gives None
    when the estimate says it would not pay; ``refresh`` decides, once the manifests are
    read, whether to use it."""
    from cupiform.cupi.client import FEW_ALIASES

    if likely_aliases <= FEW_ALIASES:
        return {}
    collections = {kind.owner.collection.path: kind.owner.collection for kind in KINDS}
    return {
        path: _begin_early_listing(client, collection, likely_aliases)
        for path, collection in collections.items()
    }


def _begin_early_listing(client: CupiClient, collection: Collection, likely_aliases: int) -> _Early:
    def early() -> UserDirectory | None:
        if not client.listing_pays(likely_aliases, collection):
            return None
        return list_directory(client, collection)

    return Background(early)


def _load_manifests(files: Sequence[tuple[Path, str]], problems: Sequence[Problem]) -> ManifestSet:
    from cupiform.manifest import load_manifest_files

    return load_manifest_files(files, KINDS, problems)


@contextlib.contextmanager
def _collection_paused() -> Iterator[Callable[[], None]]:
    """No cycle collection while the inputs are read and the plan is made: they are
    millions of objects without cycles, which the collector would walk over and over (a
    tenth of the time of a plan of 100,000 addresses). Ends with the call it yields, or
    when it exits; what was read is then frozen, never walked again."""
    enabled = gc.isenabled()
    paused = True
    gc.disable()

    def resume() -> None:
        nonlocal paused
        if paused:
            paused = False
            gc.freeze()
            if enabled:
                gc.enable()

    try:
        yield resume
    finally:
        resume()


@dataclass(frozen=True)
class Planned:
    """A plan, with what it was made from, while the lock and the client are still held."""

    project: Project
    state: State
    plan: Plan
    client: CupiClient


@contextlib.contextmanager
def planned(
    operation: str,
    *,
    refresh_only: bool = False,
    targets: Sequence[str] = (),
    destroy: bool = False,
    parallelism: int | None = None,
) -> Iterator[Planned]:
    """Plan the project in the current directory under the state lock.

    Each input takes seconds on a large directory, so they are read side by side: the
    server on other threads (mostly waiting on it); the state, then the manifests, in a
    child process when the manifests are large (``offload``), else here; the half of the
    plan that needs nothing from the server is made here meanwhile. Owners are resolved
    once the manifests name them. Errors come in the same order as when the inputs are
    read one after the other: manifests, then state, then server.
    """
    config = load_config(Path.cwd(), os.environ)
    backend = open_backend(config)
    files, glob_problems = config.manifest_files()
    with _collection_paused() as resume:
        # Forked before any thread, connection or lock exists: a child that outlived its
        # parent (killed outright) must not hold the state lock. The child decodes the
        # state too (taken here if it decoded the very bytes read here under the lock).
        file_backend = backend if isinstance(backend, FileStateBackend) else None
        reader = ManifestReader(
            lambda: _load_manifests(files, glob_problems),
            offload=can_offload(files),
            state=file_backend.decode_file if file_backend is not None else None,
        )
        if file_backend is not None:
            file_backend.decode_elsewhere(reader.state)
        from cupiform.connect import open_client

        with (
            contextlib.closing(reader),
            backend.lock(operation),
            open_client(config, os.environ, parallelism=parallelism, warn=warn) as client,
        ):
            # The users first: their pages are the larger. Destroy resolves no alias.
            early = _early_directories(client, 0 if destroy else _likely_aliases(files))
            # Listed, then indexed for the planner while the rest is still being read.
            listing = Background(lambda: _listed(client))
            try:
                state = load_state(backend, config.server.identity)
            except CupiformError:
                reader.result()  # refused manifests are reported first
                raise
            manifests = reader.result()
            project = Project(config, manifests, backend)
            resources = () if destroy else manifests.resources
            # What needs nothing from the server, made while the server is being read.
            from cupiform.planner import finish_plan, prepare_plan

            prepared = prepare_plan(
                KINDS, resources, state.resources, prune=config.prune and not destroy
            )
            live, live_index = listing.result()
            prepared.observe(live, live_index)  # the drift: the users may still be listed
            owners, owner_names = resolve_owners(
                client, KINDS, resources, {path: begun.result for path, begun in early.items()}
            )
            for begun in early.values():
                begun.finish()  # if unused: it must not read on while apply writes
            name_holders(client, KINDS, resources, live, owner_names)
            addresses = resolve_targets(targets, project, state)
            plan = finish_plan(
                prepared,
                live,
                owners=owners,
                owner_names=owner_names,
                refresh_only=refresh_only,
                targets=addresses,
                live_index=live_index,
            )
            resume()
            # What was read stays until the process ends, if it ends at once (``ending``).
            ending.keep(
                manifests, state, live, live_index, prepared, owners, owner_names, early, plan
            )
            yield Planned(project, state, plan, client)
