"""What plan, apply, destroy and import share: the project's files, its state store,
and making a plan from manifests, state and the live server."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cupiform.config import Config, load_config
from cupiform.cupi.client import CupiClient
from cupiform.manifest import load_manifests
from cupiform.model import ManifestSet
from cupiform.plan import Plan
from cupiform.planner import make_plan
from cupiform.refresh import refresh
from cupiform.resources.kinds import KINDS, resolve_address
from cupiform.state import State, StateBackend, open_backend


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
    destroy: bool = False,
) -> Plan:
    """Refresh, then plan. ``destroy`` plans as if no manifest declared anything."""
    addresses = resolve_targets(targets, project, state)
    resources = () if destroy else project.manifests.resources
    refreshed = refresh(client, KINDS, resources)
    return make_plan(
        KINDS,
        resources,
        state.resources,
        refreshed.live,
        owners=refreshed.owners,
        owner_names=refreshed.owner_names,
        prune=project.config.prune and not destroy,
        refresh_only=refresh_only,
        targets=addresses,
    )
