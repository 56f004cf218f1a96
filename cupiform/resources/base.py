"""What a CUPI collection looks like on the wire, as plain names (no codec logic)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One field of a CUPI object."""

    name: str
    read_only: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class Collection:
    """A ``/vmrest/<path>`` collection: its XML element names and its fields.

    ``list_element`` wraps a listing (``<SmtpProxyAddresses total="N">``) and
    ``item_element`` is one object; in JSON the item element is the array's key.
    """

    path: str
    list_element: str
    item_element: str
    fields: tuple[Field, ...]
    searchable: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return f"/vmrest/{self.path}"

    def uri(self, object_id: str) -> str:
        return f"/vmrest/{self.path}/{object_id}"

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)
