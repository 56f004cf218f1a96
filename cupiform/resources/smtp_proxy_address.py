"""The SMTP proxy address: ``/vmrest/smtpproxyaddresses``.

An address belongs to exactly one owner; cupiform manages addresses of global users.
Addresses are unique across the directory, compared without regard to case.
"""

from __future__ import annotations

from cupiform.resources.base import Collection, Field

OWNER_FIELDS = (
    "ObjectGlobalUserObjectId",
    "ObjectContactObjectId",
    "ObjectDistributionListObjectId",
    "ObjectPersonalGroupObjectId",
)

SMTP_ADDRESS_MAX = 320
SMTP_LOCAL_PART_MAX = 64

SMTP_PROXY_ADDRESSES = Collection(
    path="smtpproxyaddresses",
    list_element="SmtpProxyAddresses",
    item_element="SmtpProxyAddress",
    fields=(
        Field("URI", read_only=True),
        Field("ObjectId", read_only=True, max_length=36),
        Field("SmtpAddress", max_length=SMTP_ADDRESS_MAX),
        Field("ObjectGlobalUserObjectId", max_length=36),
        Field("ObjectGlobalUserURI", read_only=True),
    ),
    searchable=("ObjectId", "SmtpAddress", *OWNER_FIELDS),
)
