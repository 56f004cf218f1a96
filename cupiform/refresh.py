"""Refresh: read what the server holds, for the planner.

Every object of each kind comes from paging its collection (never one GET per object);
owner aliases are resolved through the client (a query each when few, one listing of the
users when many). The cost grows linearly with what the server holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cupiform.cupi.client import CupiClient
from cupiform.cupi.codec import Item
from cupiform.errors import NotFoundError
from cupiform.model import Resource
from cupiform.plan import LiveObject
from cupiform.resources.kinds import ResourceKind


@dataclass(frozen=True)
class Refreshed:
    live: tuple[LiveObject, ...]
    owners: dict[str, str]  # lower-cased alias -> ObjectId, for the aliases manifests name
    owner_names: dict[str, str]  # lower-cased ObjectId -> alias, for messages


def list_live(client: CupiClient, kinds: Sequence[ResourceKind]) -> tuple[LiveObject, ...]:
    """Every object of each kind, by paging its collection."""
    live: list[LiveObject] = []
    for kind in kinds:
        # The managed fields, and the owner fields of other kinds, to name such owners.
        fields = (*kind.state_attributes, *(name for name, _ in kind.owner.other_fields))
        for item in client.list_all(kind.collection, fields=fields):
            object_id = item.pop("ObjectId")
            live.append(LiveObject(kind.name, object_id, item))
    return tuple(live)


def refresh(
    client: CupiClient,
    kinds: Sequence[ResourceKind],
    resources: Sequence[Resource],
    live: Sequence[LiveObject] | None = None,
    owner_listings: Mapping[str, Callable[[], list[Item]]] | None = None,
) -> Refreshed:
    """Live objects (listed here unless ``live`` is given) and the owners ``resources`` name.
    ``owner_listings`` (by the owner collection's path) are listings of every owner begun
    earlier, used when listing them all is the cheaper way to resolve the aliases."""
    if live is None:
        live = list_live(client, kinds)

    owners: dict[str, str] = {}
    owner_names: dict[str, str] = {}
    for kind in kinds:
        aliases = {r.owner.alias for r in resources if r.kind == kind.name and r.owner.alias}
        collection = kind.owner.collection
        listing = (owner_listings or {}).get(collection.path)
        for alias, user in client.find_users_by_alias(aliases, collection, listing=listing).items():
            owners[alias] = user["ObjectId"]
            owner_names[user["ObjectId"].lower()] = user["Alias"]

    # Name the owners of objects that hold a value some resource wants, for the messages
    # about conflicts: a few lookups at most.
    for kind in kinds:
        unique = [f.field for f in kind.fields if f.unique]
        wanted = {
            r.attributes[name].casefold()
            for r in resources
            if r.kind == kind.name
            for name in unique
            if name in r.attributes
        }
        for obj in live:
            owner_id = obj.attributes.get(kind.owner.field, "")
            if (
                obj.kind == kind.name
                and owner_id
                and owner_id.lower() not in owner_names
                and any(obj.attributes.get(name, "").casefold() in wanted for name in unique)
            ):
                try:
                    user = client.get_user(owner_id, kind.owner.collection)
                except NotFoundError:
                    continue
                owner_names[owner_id.lower()] = user.get("Alias", owner_id)
    return Refreshed(tuple(live), owners, owner_names)
