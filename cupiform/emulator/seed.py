"""Seed files: the users (and optionally proxy addresses) a new emulator database starts with.

    users:
      - alias: jdoe                     # required, unique without regard to case
        object_id: 9375d893-...         # optional; else derived from the alias (stable)
        display_name: John Doe          # optional
        email_address: john@corp.com    # optional: the corporate address
        create_smtp_proxy_from_corp: true   # optional: the server adds that address itself
    smtp_proxy_addresses:
      - address: john.doe@example.com
        user: jdoe                      # the owner's alias

YAML (so JSON too). Generated ids are stable: the same seed gives the same ObjectIds.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from cupiform.emulator.store import DuplicateError, Store
from cupiform.errors import EmulatorError

_NAMESPACE = uuid.UUID("6f0b8d1e-2a57-4c0e-9a53-1f3c0e5d7b21")
_USER_KEYS = {
    "alias",
    "object_id",
    "display_name",
    "first_name",
    "last_name",
    "email_address",
    "dtmf_access_id",
    "create_smtp_proxy_from_corp",
}
_ADDRESS_KEYS = {"address", "user"}

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def user_object_id(alias: str) -> str:
    """The ObjectId a seed gives a user that names none."""
    return str(uuid.uuid5(_NAMESPACE, "user:" + alias.lower()))


def address_object_id(address: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "address:" + address.lower()))


def _entries(document: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    value = document.get(key) or []
    if not isinstance(value, list):
        raise EmulatorError(f"{source}: '{key}' must be a list")
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise EmulatorError(f"{source}: {key}[{index}] must be a mapping")
    return value


def _text(entry: dict[str, Any], key: str, where: str, required: bool = False) -> str:
    value = entry.get(key)
    if value is None:
        if required:
            raise EmulatorError(f"{where}: '{key}' is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise EmulatorError(f"{where}: '{key}' must be text")
    return str(value)


def load_seed(store: Store, path: Path) -> tuple[int, int]:
    """Load ``path`` into ``store``; returns (users, addresses) loaded."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EmulatorError(f"cannot read seed file {source}: {error.strerror}") from None
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise EmulatorError(f"seed file {source} is not valid YAML: {error}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise EmulatorError(f"{source}: a seed must be a mapping with 'users'")
    unknown = sorted(set(document) - {"users", "smtp_proxy_addresses"})
    if unknown:
        raise EmulatorError(
            f"{source}: unknown key(s) {', '.join(map(str, unknown))} "
            "(expected users, smtp_proxy_addresses)"
        )

    users: list[tuple[object, ...]] = []
    ids_by_alias: dict[str, str] = {}
    corporate: list[tuple[str, str]] = []  # (alias, email) of users the server gives one
    for index, entry in enumerate(_entries(document, "users", source)):
        where = f"{source}: users[{index}]"
        extra = sorted(set(entry) - _USER_KEYS)
        if extra:
            raise EmulatorError(f"{where}: unknown key(s) {', '.join(map(str, extra))}")
        alias = _text(entry, "alias", where, required=True)
        if alias.lower() in ids_by_alias:
            raise EmulatorError(f"{where}: alias {alias!r} appears twice")
        object_id = _text(entry, "object_id", where) or user_object_id(alias)
        ids_by_alias[alias.lower()] = object_id
        email = _text(entry, "email_address", where)
        if entry.get("create_smtp_proxy_from_corp", False) and email:
            corporate.append((alias.lower(), email))
        users.append(
            (
                object_id,
                alias,
                _text(entry, "dtmf_access_id", where) or str(100000 + index),
                _text(entry, "display_name", where) or alias,
                _text(entry, "first_name", where),
                _text(entry, "last_name", where),
                _text(entry, "email_address", where),
                int(bool(entry.get("create_smtp_proxy_from_corp", False))),
            )
        )

    addresses: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for index, entry in enumerate(_entries(document, "smtp_proxy_addresses", source)):
        where = f"{source}: smtp_proxy_addresses[{index}]"
        extra = sorted(set(entry) - _ADDRESS_KEYS)
        if extra:
            raise EmulatorError(f"{where}: unknown key(s) {', '.join(map(str, extra))}")
        address = _text(entry, "address", where, required=True)
        alias = _text(entry, "user", where, required=True)
        if alias.lower() not in ids_by_alias:
            raise EmulatorError(f"{where}: user {alias!r} is not among the seed's users")
        if address.lower() in seen:
            raise EmulatorError(f"{where}: address {address!r} appears twice")
        seen.add(address.lower())
        addresses.append((address_object_id(address), address, ids_by_alias[alias.lower()]))
    for alias_key, email in corporate:
        if email.lower() not in seen:
            seen.add(email.lower())
            addresses.append((address_object_id(email), email, ids_by_alias[alias_key]))

    try:
        store.bulk_load(users, addresses)
    except DuplicateError as duplicate:
        raise EmulatorError(
            f"{source}: two users share a {duplicate.column.replace('_', ' ')}"
        ) from None
    return len(users), len(addresses)
