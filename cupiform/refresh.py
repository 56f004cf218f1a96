"""Refresh: read what the server holds, for the planner.

Every object of each kind comes from paging its collection (never one GET per object);
owner aliases are resolved through the client (a query each when few, one listing of the
users when many). The cost grows linearly with what the server holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import methodcaller
from typing import TYPE_CHECKING

from cupiform.errors import NotFoundError
from cupiform.model import Resource
from cupiform.plan import LiveObject
from cupiform.resources.base import Collection
from cupiform.resources.kinds import ResourceKind

if TYPE_CHECKING:
    from cupiform.cupi.client import CupiClient
    from cupiform.cupi.codec import Item


@dataclass(frozen=True)
class Refreshed:
    live: tuple[LiveObject, ...]
    owners: dict[str, str]  # lower-cased alias -> ObjectId, at least for the aliases named
    owner_names: dict[str, str]  # lower-cased ObjectId -> alias, for messages


def list_live(client: CupiClient, kinds: Sequence[ResourceKind]) -> tuple[LiveObject, ...]:
    """Every object of each kind, by paging its collection."""
    live: list[LiveObject] = []
    for kind in kinds:
        # The managed fields, and the owner fields of other kinds, to name such owners.
        fields = (*kind.state_attributes, *(name for name, _ in kind.owner.other_fields))
        items = client.list_all(kind.collection, fields=fields)
        # In C, object after object: what LiveObject(kind, ObjectId, the other fields) does.
        object_ids = map(methodcaller("pop", "ObjectId"), items)
        records = zip(repeat(kind.name), object_ids, items)
        live.extend(map(tuple.__new__, repeat(LiveObject), records))
    return tuple(live)


_alias = methodcaller("get", "Alias", "")
_object_id = methodcaller("get", "ObjectId", "")


@dataclass(frozen=True)
class UserDirectory:
    """Every user of an owner collection: ObjectIds by lower-cased alias, and aliases by
    lower-cased ObjectId (when two aliases differ only in case, the last listed wins)."""

    ids: dict[str, str]
    aliases: dict[str, str]

    @classmethod
    def of(cls, users: Iterable[Item]) -> UserDirectory:
        # In C, user after user (a large directory is 100,000 of them)
        listed = list(users)
        aliases, object_ids = list(map(_alias, listed)), list(map(_object_id, listed))
        if "" in aliases or "" in object_ids:  # a user without either is left out
            kept = [(a, o) for a, o in zip(aliases, object_ids, strict=True) if a and o]
            aliases, object_ids = [a for a, _ in kept], [o for _, o in kept]
        return cls(
            dict(zip(map(str.lower, aliases), object_ids, strict=True)),
            dict(zip(map(str.lower, object_ids), aliases, strict=True)),
        )


def list_directory(client: CupiClient, collection: Collection) -> UserDirectory:
    """One listing of every user of ``collection``, as a directory."""
    return UserDirectory.of(client.list_users(collection))


def refresh(
    client: CupiClient, kinds: Sequence[ResourceKind], resources: Sequence[Resource]
) -> Refreshed:
    """Live objects and the owners: those ``resources`` name (``resolve_owners``), and those
    of objects holding a value some resource wants (``name_holders``)."""
    live = list_live(client, kinds)
    owners, owner_names = resolve_owners(client, kinds, resources)
    name_holders(client, kinds, resources, live, owner_names)
    return Refreshed(tuple(live), owners, owner_names)


def resolve_owners(
    client: CupiClient,
    kinds: Sequence[ResourceKind],
    resources: Sequence[Resource],
    directories: Mapping[str, Callable[[], UserDirectory | None]] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The owners ``resources`` name by alias: lower-cased aliases to ObjectIds, and
    lower-cased ObjectIds to aliases (for messages).

    Aliases are resolved as ``find_users_by_alias`` does: a query each when few, else one
    listing of every user, which then names every owner, not only those the manifests
    name. ``directories`` (by the owner collection's path) give such listings begun
    earlier, or None when none was begun."""
    owners: dict[str, str] = {}
    owner_names: dict[str, str] = {}
    for kind in kinds:
        collection = kind.owner.collection
        # (records unpacked as the tuples they are: this runs once per resource)
        aliases = {owner[0] for name, _, _, owner, _ in resources if name == kind.name and owner[0]}
        if client.listing_pays(len(aliases), collection):
            early = (directories or {}).get(collection.path)
            directory = (early() if early else None) or list_directory(client, collection)
            owners.update(directory.ids)
            owner_names.update(directory.aliases)
            continue
        for alias, user in client.find_users_by_alias(aliases, collection).items():
            owners[alias] = user["ObjectId"]
            owner_names[user["ObjectId"].lower()] = user["Alias"]
    return owners, owner_names


def name_holders(
    client: CupiClient,
    kinds: Sequence[ResourceKind],
    resources: Sequence[Resource],
    live: Sequence[LiveObject],
    owner_names: dict[str, str],
) -> None:
    """Add to ``owner_names`` the owners of live objects that hold a value some resource
    wants, for the messages about conflicts: a few lookups at most."""
    for kind in kinds:
        field = kind.owner.field
        held = [obj.attributes for obj in live if obj.kind == kind.name]
        # Set operations run in C; a lower-case comparison only for ids not found as they are.
        owner_ids = set(map(methodcaller("get", field, ""), held)) - owner_names.keys()
        unnamed = {owner_id for owner_id in owner_ids if owner_id.lower() not in owner_names}
        unnamed.discard("")
        if not unnamed:
            continue  # the usual case: every owner is named already
        strangers = [
            obj for obj in live if obj.kind == kind.name and obj.attributes.get(field) in unnamed
        ]
        unique = [f.field for f in kind.fields if f.unique]
        wanted = {
            r.attributes[name].casefold()
            for r in resources
            if r.kind == kind.name
            for name in unique
            if name in r.attributes
        }
        for obj in strangers:
            owner_id = obj.attributes[field]
            if owner_id.lower() in owner_names or not any(
                obj.attributes.get(name, "").casefold() in wanted for name in unique
            ):
                continue
            try:
                user = client.get_user(owner_id, kind.owner.collection)
            except NotFoundError:
                continue
            owner_names[owner_id.lower()] = user.get("Alias", owner_id)
