"""Immutable records of what the manifests ask for.

A ``Resource`` is one manifest entry, already checked against the schema and the rules:
its kind, its name, the CUPI fields it sets, its owner (by alias or by ObjectId) and where
it was written. The planner compares these with state and with live objects.

``Source``, ``Owner`` and ``Resource`` are named tuples rather than frozen dataclasses: a
large project makes hundreds of thousands of them, and a named tuple is made in a third of
the time. They are as immutable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple


class Source(NamedTuple):
    """A place in an input file: the path relative to the project directory, line and
    column counted from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @property
    def line_ref(self) -> str:
        """``file:line``, as plans cite a resource's manifest location."""
        return f"{self.file}:{self.line}"


class Owner(NamedTuple):
    """The object a resource belongs to: exactly one of ``alias`` (looked up on the server
    later) or ``object_id``; ``source`` is where the manifest names it, for the error
    when the server does not know the alias."""

    alias: str | None
    object_id: str | None
    source: Source


def address_of(kind: str, name: str) -> str:
    """The resource's address in messages, state and plans: ``smtp_proxy_address.jdoe-work``."""
    return f"{kind}.{name}"


class Resource(NamedTuple):
    """One declared resource. ``attributes`` maps CUPI field names to the values the manifest
    gives (the owner's id is not among them when the owner is named by alias)."""

    kind: str
    name: str
    attributes: Mapping[str, str]
    owner: Owner
    source: Source

    @property
    def address(self) -> str:
        return address_of(self.kind, self.name)


@dataclass(frozen=True)
class ManifestSet:
    """Every resource of every manifest file, in file order then declaration order."""

    files: tuple[str, ...]
    resources: tuple[Resource, ...]

    def by_address(self) -> dict[str, Resource]:
        return {resource.address: resource for resource in self.resources}
