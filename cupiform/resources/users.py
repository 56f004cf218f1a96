"""Users: ``/vmrest/users`` (locally homed) and ``/vmrest/globalusers`` (the directory).

cupiform only reads them, to resolve owner aliases; a global user's ObjectId equals the
user's ObjectId.
"""

from __future__ import annotations

from cupiform.resources.base import Collection, Field

_USER_FIELDS = (
    Field("URI", read_only=True),
    Field("ObjectId", read_only=True, max_length=36),
    Field("Alias", max_length=64),
    Field("DisplayName", max_length=64),
    Field("FirstName", max_length=64),
    Field("LastName", max_length=64),
    Field("DtmfAccessId", max_length=40),
    Field("EmailAddress", max_length=320),
    Field("SmtpAddress", read_only=True, max_length=320),
    Field("LocationObjectId", read_only=True, max_length=36),
    Field("CreateSmtpProxyFromCorp"),
    Field("SmtpProxyAddressesURI", read_only=True),
)

_SEARCHABLE = (
    "ObjectId",
    "Alias",
    "DisplayName",
    "FirstName",
    "LastName",
    "DtmfAccessId",
    "EmailAddress",
)

USERS = Collection(
    path="users",
    list_element="Users",
    item_element="User",
    fields=_USER_FIELDS,
    searchable=_SEARCHABLE,
)

GLOBAL_USERS = Collection(
    path="globalusers",
    list_element="GlobalUsers",
    item_element="GlobalUser",
    fields=tuple(
        f
        for f in _USER_FIELDS
        if f.name not in ("CreateSmtpProxyFromCorp", "SmtpProxyAddressesURI")
    ),
    searchable=_SEARCHABLE,
)
