"""``cupiform import NAME ID_OR_ADDRESS``: bind a manifest resource to an object that already
exists on the server, in state only (no write call), as ``terraform import`` does.

The object is named by its ObjectId (one GET) or by its SMTP address (one query). Refused,
before the state is touched: a name no manifest declares, a resource already bound, an
object that does not exist or that another resource already holds, an object that belongs
to no user. An object that differs from its manifest is imported all the same; the result
says so, and the next plan updates it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cupiform.commands.project import open_project, warn
from cupiform.connect import open_client
from cupiform.cupi.client import CupiClient
from cupiform.cupi.codec import Item
from cupiform.cupi.query import is_
from cupiform.errors import NotFoundError, UsageError
from cupiform.model import Resource
from cupiform.resources.kinds import KINDS, ResourceKind, kind_named, resolve_address
from cupiform.state import StateEntry, load_state


def run(name: str, id_or_address: str) -> str:
    """Import, and return what to print: what was bound, and what the next plan will do."""
    project = open_project()
    declared = project.manifests.by_address()
    address = resolve_address(name, declared, KINDS, where="the manifests")
    resource = declared[address]
    kind = kind_named(resource.kind)
    wanted = id_or_address.strip()
    if not wanted:
        raise UsageError("import: ID_OR_ADDRESS is empty: give an ObjectId or an SMTP address")
    with project.backend.lock("import"):
        state = load_state(project.backend, project.server)
        bound = state.resources.get(address)
        if bound is not None:
            raise UsageError(
                f"{address} is already bound to object {bound.object_id} in the state "
                f"{project.backend.location}; to bind it to another object, first run: "
                f"cupiform state rm {address}"
            )
        with open_client(project.config, os.environ, warn=warn) as client:
            item = _find(client, kind, wanted)
            object_id = item["ObjectId"]
            holder = next(
                (a for a, e in state.resources.items() if e.object_id.lower() == object_id.lower()),
                None,
            )
            if holder is not None:
                raise UsageError(
                    f"object {object_id} ({_value(kind, item)}) is already bound to {holder} "
                    f"in the state {project.backend.location}; an object is bound to one "
                    f"resource at most (cupiform state rm {holder} releases it)"
                )
            owner_id = item.get(kind.owner.field, "")
            if not owner_id:
                raise UsageError(
                    f"object {object_id} ({_value(kind, item)}) belongs to no user (a contact, "
                    "a distribution list...): cupiform manages only the addresses of users"
                )
            owner = _owner_label(client, kind, owner_id)
            differences, unknown_user = _differences(client, kind, resource, item, owner)
        attributes = {f: item[f] for f in kind.state_attributes if f in item}
        project.backend.write(state.with_entry(address, StateEntry(object_id, attributes)))
    lines = [f"Imported {address}: object {object_id} ({_value(kind, item)}, {owner})."]
    if differences:
        lines.append(
            f"The object differs from {resource.source.line_ref}: "
            + "; ".join(differences)
            + ". The next plan will update it."
        )
    if unknown_user:
        lines.append(
            f"Note: user '{unknown_user}' ({resource.owner.source}) is not known to the server; "
            "plans refuse the manifest until it is."
        )
    return "\n".join(lines)


def _value(kind: ResourceKind, item: Mapping[str, str]) -> str:
    """The object's unique value, as messages show it (``john.doe@example.com``)."""
    unique = next((f.field for f in kind.fields if f.unique), None)
    return item.get(unique, "?") if unique else "?"


def _find(client: CupiClient, kind: ResourceKind, wanted: str) -> Item:
    """The object ``wanted`` names: an SMTP address when it holds an ``@``, else an ObjectId."""
    collection = kind.collection
    if "@" not in wanted:
        try:
            return client.get(collection, wanted)
        except NotFoundError:
            raise UsageError(
                f"no {kind.name} with ObjectId {wanted} on the server "
                "(give an existing object's ObjectId or SMTP address)"
            ) from None
    unique = next(f.field for f in kind.fields if f.unique)
    try:
        query = is_(unique, wanted)
    except ValueError:
        found: list[Item] = []  # no server could hold such a value
    else:
        found = client.list_all(collection, query)
    # The server compares without case, as the planner does.
    matches = [item for item in found if item.get(unique, "").casefold() == wanted.casefold()]
    if not matches:
        raise UsageError(f"no {kind.name} with {unique} {wanted} on the server")
    return matches[0]


def _owner_label(client: CupiClient, kind: ResourceKind, owner_id: str) -> str:
    try:
        alias = client.get_user(owner_id, kind.owner.collection).get(kind.owner.alias_field)
    except NotFoundError:
        alias = None
    return f"user '{alias}' ({owner_id})" if alias else f"owner {owner_id}"


def _differences(
    client: CupiClient,
    kind: ResourceKind,
    resource: Resource,
    item: Mapping[str, str],
    live_owner_label: str,
) -> tuple[list[str], str | None]:
    """How the live object differs from what the manifest declares, one phrase per field;
    and the manifest's owner alias when the server does not know it (nothing to compare)."""
    found: list[str] = []
    for name, value in resource.attributes.items():
        live = item.get(name, "")
        if live != value:
            found.append(f"{name} is '{live}' on the server, '{value}' in the manifest")
    live_owner = item.get(kind.owner.field, "")
    owner = resource.owner
    if owner.object_id is not None:
        if owner.object_id.lower() != live_owner.lower():
            found.append(
                f"the owner is {live_owner_label} on the server, {owner.object_id} in the manifest"
            )
    elif owner.alias is not None:
        users = client.find_users_by_alias([owner.alias], kind.owner.collection)
        user = users.get(owner.alias.lower())
        if user is None:
            return found, owner.alias
        if user["ObjectId"].lower() != live_owner.lower():
            found.append(
                f"the owner is {live_owner_label} on the server, user '{owner.alias}' "
                f"({user['ObjectId']}) in the manifest"
            )
    return found, None
