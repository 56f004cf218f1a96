"""Resource kinds: everything cupiform's manifests, planner and client need to know about
one kind of CUPI object, in one value.

A ``ResourceKind`` names its manifest section (``smtp_proxy_addresses``) and its address
prefix (``smtp_proxy_address``), its CUPI collection (path, element names, fields and
which are read-only), how manifest keys map to CUPI fields, the checks a schema cannot
express, which fields must be unique, its identity field, and how its owner is named
and looked up. Adding a kind means a module for its ``Collection``, a ``ResourceKind``
in ``KINDS`` below, and a section in ``schemas/manifest.schema.json`` (and its state
attributes in ``schemas/state.schema.json``); nothing else reads kind-specific names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cupiform.errors import UsageError
from cupiform.model import address_of
from cupiform.resources.addr_spec import addr_spec_problem, all_plain_addr_specs
from cupiform.resources.base import Collection
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES
from cupiform.resources.users import USERS


@dataclass(frozen=True)
class ManifestField:
    """A manifest key and the CUPI field it sets.

    ``check`` returns why a value is refused (None when it is fine), for rules beyond the
    schema; ``unique`` values may appear once among all resources of the kind, compared
    without regard to case (as CUPI compares them)."""

    key: str
    field: str
    check: Callable[[str], str | None] | None = None
    unique: bool = False
    # A quick yes for many values: true when ``check`` would refuse none of them (false
    # says nothing: ``check`` then decides each).
    check_all: Callable[[Sequence[str]], bool] | None = None


@dataclass(frozen=True)
class OwnerLookup:
    """How a resource names the object it belongs to: by alias (``alias_key``, resolved on
    the server through ``collection``'s ``alias_field``) or by ObjectId (``id_key``).
    Either way the owner's ObjectId goes in the CUPI field ``field``. ``other_fields`` name
    the fields of owners of other kinds that cupiform does not manage (an object holding
    one of them belongs to a contact, say), with how messages call such an owner."""

    alias_key: str
    id_key: str
    field: str
    collection: Collection
    alias_field: str = "Alias"
    id_field: str = "ObjectId"
    other_fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ResourceKind:
    name: str
    section: str
    collection: Collection
    fields: tuple[ManifestField, ...]
    owner: OwnerLookup
    identity: str = "ObjectId"

    def address(self, resource_name: str) -> str:
        return address_of(self.name, resource_name)

    @property
    def read_only_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.collection.fields if f.read_only)

    def same_value(self, field: str, a: str | None, b: str | None) -> bool:
        """Whether two values of ``field`` are equal as the server sees them: exactly, but
        ObjectIds (the owner's) without regard to case."""
        if a is None or b is None:
            return a is b
        return a.lower() == b.lower() if field == self.owner.field else a == b

    @property
    def state_attributes(self) -> tuple[str, ...]:
        """The CUPI fields kept in state for each object (its identity aside)."""
        return (*(f.field for f in self.fields), self.owner.field)

    @property
    def manifest_keys(self) -> tuple[str, ...]:
        return (*(f.key for f in self.fields), self.owner.alias_key, self.owner.id_key)


SMTP_PROXY_ADDRESS = ResourceKind(
    name="smtp_proxy_address",
    section="smtp_proxy_addresses",
    collection=SMTP_PROXY_ADDRESSES,
    fields=(
        ManifestField(
            "address",
            "SmtpAddress",
            check=addr_spec_problem,
            unique=True,
            check_all=all_plain_addr_specs,
        ),
    ),
    owner=OwnerLookup(
        alias_key="user",
        id_key="user_object_id",
        field="ObjectGlobalUserObjectId",
        collection=USERS,
        other_fields=(
            ("ObjectContactObjectId", "contact"),
            ("ObjectDistributionListObjectId", "distribution list"),
            ("ObjectPersonalGroupObjectId", "private list"),
        ),
    ),
)

KINDS: tuple[ResourceKind, ...] = (SMTP_PROXY_ADDRESS,)


def kind_named(name: str, kinds: Iterable[ResourceKind] = KINDS) -> ResourceKind:
    """The kind whose address prefix is ``name``."""
    for kind in kinds:
        if kind.name == name:
            return kind
    raise KeyError(name)


def resolve_address(
    name: str, known: Iterable[str], kinds: Iterable[ResourceKind] = KINDS, where: str = "state"
) -> str:
    """The address that ``name`` means among the ``known`` addresses: ``name`` itself when it
    is a full address (``smtp_proxy_address.jdoe-work``), else the one known address of
    any kind with that bare name. ``where`` names the place searched, for the error."""
    kinds = tuple(kinds)
    known = set(known)
    prefix, dot, _ = name.partition(".")
    if dot and any(kind.name == prefix for kind in kinds):
        if name in known:
            return name
        raise UsageError(f"no resource {name} in {where}")
    matches = sorted(kind.address(name) for kind in kinds if kind.address(name) in known)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"'{name}' is ambiguous in {where}: give one of {', '.join(matches)}")
    raise UsageError(f"no resource named '{name}' in {where}")
