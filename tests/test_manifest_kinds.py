"""Resource kinds and the schemas that describe them agree; addresses and names resolve; the
addr-spec rule."""

from __future__ import annotations

import dataclasses

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cupiform.errors import UsageError
from cupiform.resources.addr_spec import addr_spec_problem, all_plain_addr_specs
from cupiform.resources.kinds import KINDS, SMTP_PROXY_ADDRESS, kind_named, resolve_address
from cupiform.schema import schema_document


@pytest.mark.parametrize("name", ["config", "manifest", "state"])
def test_schemas_are_valid_json_schema_2020_12(name: str) -> None:
    document = schema_document(name)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_each_kind_has_its_manifest_section_and_state_entry(kind: object) -> None:
    assert isinstance(kind, type(SMTP_PROXY_ADDRESS))
    manifest = schema_document("manifest")
    section = manifest["properties"][kind.section]
    resource = manifest["$defs"][section["additionalProperties"]["$ref"].rsplit("/", 1)[1]]
    assert set(resource["properties"]) == set(kind.manifest_keys)
    for manifest_field in kind.fields:
        limit = kind.collection.field(manifest_field.field).max_length
        assert resource["properties"][manifest_field.key].get("maxLength") == limit
    state = schema_document("state")
    patterns = state["properties"]["resources"]["patternProperties"]
    (entry_ref,) = [
        ref for pattern, ref in patterns.items() if pattern.startswith(f"^{kind.name}\\.")
    ]
    entry = state["$defs"][entry_ref["$ref"].rsplit("/", 1)[1]]
    assert entry["properties"]["attributes"]["required"] == list(kind.state_attributes)


def test_the_smtp_proxy_address_kind() -> None:
    kind = kind_named("smtp_proxy_address")
    assert kind is SMTP_PROXY_ADDRESS
    assert kind.section == "smtp_proxy_addresses"
    assert kind.address("jdoe-work") == "smtp_proxy_address.jdoe-work"
    assert kind.collection.prefix == "/vmrest/smtpproxyaddresses"
    assert kind.read_only_fields == ("URI", "ObjectId", "ObjectGlobalUserURI")
    assert kind.state_attributes == ("SmtpAddress", "ObjectGlobalUserObjectId")
    assert (kind.owner.collection.path, kind.owner.alias_field) == ("users", "Alias")
    with pytest.raises(KeyError):
        kind_named("smtp_proxy_adress")


LONG_DOMAIN = ".".join(["d" * 63] * 4) + ".d"  # 257 characters
KNOWN = ["smtp_proxy_address.jdoe-work", "smtp_proxy_address.sales"]


def test_an_address_or_a_bare_name_resolves() -> None:
    assert resolve_address("smtp_proxy_address.jdoe-work", KNOWN) == KNOWN[0]
    assert resolve_address("jdoe-work", KNOWN) == KNOWN[0]
    with pytest.raises(UsageError, match=r"^no resource smtp_proxy_address.nobody in state$"):
        resolve_address("smtp_proxy_address.nobody", KNOWN)
    with pytest.raises(UsageError, match=r"^no resource named 'nobody' in plans$"):
        resolve_address("nobody", KNOWN, where="plans")


def test_a_bare_name_two_kinds_share_is_ambiguous() -> None:
    contact = dataclasses.replace(
        SMTP_PROXY_ADDRESS, name="contact_address", section="contact_addresses"
    )
    kinds = (SMTP_PROXY_ADDRESS, contact)
    known = [*KNOWN, "contact_address.sales"]
    assert resolve_address("jdoe-work", known, kinds) == KNOWN[0]
    with pytest.raises(UsageError) as ambiguous:
        resolve_address("sales", known, kinds)
    assert str(ambiguous.value) == (
        "'sales' is ambiguous in state: give one of contact_address.sales, smtp_proxy_address.sales"
    )
    assert resolve_address("contact_address.sales", known, kinds) == "contact_address.sales"


@pytest.mark.parametrize(
    "address",
    [
        "john.doe@example.com",
        "a@b",
        "first.o'brien+tag@sub-domain.example.co.uk",
        '"john doe"@example.com',
        '"a\\"b"@example.com',
        "x@[192.0.2.1]",
        "x@[IPv6:2001:db8::1]",
        "j" * 64 + "@example.com",
        "a@" + ".".join(["d" * 63] * 3) + ".com",
    ],
)
def test_valid_addresses(address: str) -> None:
    assert addr_spec_problem(address) is None


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("john.example.com", "'john.example.com' is not an email address: no '@'"),
        ("@example.com", "'@example.com' is not an email address: nothing before the '@'"),
        ("john@", "'john@' is not an email address: nothing after the '@'"),
        (
            "john..doe@example.com",
            "'john..doe' is not a valid local part (before the '@') of an email address",
        ),
        (
            "jöhn@example.com",
            "'jöhn' is not a valid local part (before the '@') of an email address",
        ),
        (
            "j" * 65 + "@example.com",
            "the part before the '@' is 65 characters long, at most 64 allowed",
        ),
        (
            "john@example..com",
            "'example..com' is not a valid domain of an email address: an "
            "empty label (two dots, or a dot at an end)",
        ),
        (
            "john@-example.com",
            "'-example.com' is not a valid domain of an email address: "
            "'-example' holds characters other than letters, digits and inner '-'",
        ),
        (
            "john@" + "d" * 64 + ".com",
            f"'{'d' * 64}.com' is not a valid domain of an email "
            "address: a label longer than 63 characters",
        ),
        (
            "x@[300.1.1.1]",
            "'[300.1.1.1]' is not a valid domain of an email address: Octet 300 "
            "(> 255) not permitted in '300.1.1.1'",
        ),
        (
            "a@" + LONG_DOMAIN,
            f"'{LONG_DOMAIN}' is not a valid domain of an email address: longer than 255 "
            "characters",
        ),
        ("a" * 64 + "@" + "b" * 256, "address is 321 characters long, at most 320 allowed"),
    ],
)
def test_invalid_addresses(address: str, problem: str) -> None:
    assert addr_spec_problem(address) == problem


_ADDRESS_PIECES = st.sampled_from(
    [
        "a",
        "j" * 63,
        "j" * 64,
        "j" * 65,
        ".",
        "..",
        "@",
        "-",
        "d" * 63,
        "é",
        '"',
        "[1.2.3.4]",
        "x" * 200,
    ]
)


@settings(max_examples=300, deadline=None)
@given(addresses=st.lists(st.lists(_ADDRESS_PIECES, max_size=6).map("".join), max_size=5))
def test_a_quick_yes_for_many_addresses_is_never_wrong(addresses: list[str]) -> None:
    """``all_plain_addr_specs`` says yes only when ``addr_spec_problem`` refuses none."""
    if all_plain_addr_specs(addresses):
        assert [addr_spec_problem(address) for address in addresses] == [None] * len(addresses)


def test_a_quick_yes_for_the_usual_addresses() -> None:
    assert all_plain_addr_specs(["john.doe@example.com", "a+b@sub.example.co.uk", "j" * 64 + "@x"])
    assert all_plain_addr_specs([])
    assert not all_plain_addr_specs(["john.doe@example.com", "j" * 65 + "@x"])  # then each
