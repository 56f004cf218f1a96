"""Immutable records of a plan: what the server holds, what state binds, what will change.

The planner (``planner.py``) makes a ``Plan`` from plain values; the renderers turn it into
text, markdown or JSON; the executor carries out its ``actions`` in dependency order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

Attributes = Mapping[str, str]

# The actions a plan may hold. State-only ones make no write call.
CREATE, UPDATE, DELETE = "create", "update", "delete"
ADOPT, FORGET, MOVE = "adopt", "forget", "move"
WRITE_ACTIONS = (CREATE, UPDATE, DELETE)
ACTION_ORDER = (CREATE, UPDATE, DELETE, ADOPT, MOVE, FORGET)


class LiveObject(NamedTuple):
    """One object as the server holds it: its ObjectId and the fields cupiform manages.
    (A named tuple: a large directory lists hundreds of thousands.)"""

    kind: str
    object_id: str
    attributes: Attributes


@dataclass(frozen=True)
class Action:
    """One step of a plan.

    ``key`` is unique within the plan and is what ``depends_on`` names: the resource
    address, or ``<address>#tmp`` for the first half of an update split to break a cycle,
    or ``<kind>[<ObjectId>]`` for an unmanaged object deleted by ``prune``.
    ``before``/``after`` are the managed fields before and after (None for a create's
    before, a delete's after); ``diff`` is their deepdiff, for updates.
    """

    key: str
    kind: str
    address: str | None
    action: str
    object_id: str | None
    before: Attributes | None
    after: Attributes | None
    reason: str
    depends_on: tuple[str, ...] = ()
    source: str | None = None
    moved_from: str | None = None
    diff: Mapping[str, Any] | None = None

    @property
    def writes(self) -> bool:
        return self.action in WRITE_ACTIONS


@dataclass(frozen=True)
class Drift:
    """An object in state that changed (``changed``) or vanished (``deleted``) outside
    cupiform: ``before`` is what state recorded, ``after`` what the server holds now."""

    address: str
    kind: str
    object_id: str
    drift: str
    before: Attributes
    after: Attributes | None
    diff: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Unmanaged:
    """A live object of an owner the manifests manage, bound to no resource."""

    kind: str
    object_id: str
    attributes: Attributes
    owner: str  # the owner's alias when known, else its ObjectId
    pruned: bool = False


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    drift: tuple[Drift, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    refresh_only: bool = False
    prune: bool = False

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTION_ORDER, 0)
        for action in self.actions:
            if not action.key.endswith("#tmp"):
                counts[action.action] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        """What ``--detailed-exitcode`` reports as 2: actions, drift, and unmanaged objects
        when they are to be pruned."""
        return bool(self.actions or self.drift or (self.prune and self.unmanaged))
