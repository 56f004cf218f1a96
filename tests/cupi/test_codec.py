"""The codecs: both wire formats and every quirk, to the same plain values and back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cupiform.cupi.codec import (
    DecodeError,
    ErrorDetail,
    decode_error,
    decode_listing,
    decode_object,
    encode_object,
    object_id_from_created,
    readable_html,
    sniff,
)
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES as ADDRESSES
from cupiform.resources.users import USERS

A = {
    "URI": "/vmrest/smtpproxyaddresses/a1",
    "ObjectId": "a1",
    "SmtpAddress": "a@example.com",
    "ObjectGlobalUserObjectId": "u1",
}
B = {**A, "URI": "/vmrest/smtpproxyaddresses/b2", "ObjectId": "b2", "SmtpAddress": "b@x.com"}
JSON = "application/json"
XML = "application/xml"


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


# -- JSON quirks ---------------------------------------------------------------------------------


def test_json_listing_of_many() -> None:
    listing = decode_listing(_json({"@total": "2", "SmtpProxyAddress": [A, B]}), JSON, ADDRESSES)
    assert listing.total == 2
    assert listing.items == (A, B)


def test_json_listing_of_one_comes_as_an_object() -> None:
    listing = decode_listing(_json({"@total": "1", "SmtpProxyAddress": A}), JSON, ADDRESSES)
    assert listing.total == 1
    assert listing.items == (A,)


def test_json_empty_listing_has_no_item_key() -> None:
    listing = decode_listing(b'{"@total":"0"}', JSON, ADDRESSES)
    assert listing.total == 0
    assert listing.items == ()


def test_json_values_are_turned_into_text_whatever_they_are() -> None:
    user = {"Alias": "jdoe", "CreateSmtpProxyFromCorp": True, "DtmfAccessId": 190, "X": None}
    listing = decode_listing(_json({"@total": 1, "User": user}), JSON, USERS)
    assert listing.total == 1
    assert listing.items == (
        {"Alias": "jdoe", "CreateSmtpProxyFromCorp": "true", "DtmfAccessId": "190", "X": ""},
    )


def test_json_item_key_is_matched_without_case_or_found_by_shape() -> None:
    by_case = decode_listing(_json({"@total": "1", "smtpproxyaddress": A}), JSON, ADDRESSES)
    assert by_case.items == (A,)
    by_shape = decode_listing(_json({"@total": "2", "Whatever": [A, B]}), JSON, ADDRESSES)
    assert by_shape.items == (A, B)
    with pytest.raises(DecodeError, match="cannot tell which"):
        decode_listing(_json({"@total": "2", "One": [A], "Two": [B]}), JSON, ADDRESSES)


def test_json_count_alone_and_missing_total() -> None:
    assert decode_listing(b'{"@total":"12345"}', JSON, ADDRESSES).total == 12345
    assert decode_listing(_json({"SmtpProxyAddress": [A]}), JSON, ADDRESSES).total is None
    with pytest.raises(DecodeError, match="@total should be a number"):
        decode_listing(b'{"@total":"many"}', JSON, ADDRESSES)


def test_json_object_has_no_wrapper() -> None:
    assert decode_object(_json(A), JSON, ADDRESSES) == A
    # A wrapped one, or a listing of exactly one, is read too.
    assert decode_object(_json({"SmtpProxyAddress": A}), JSON, ADDRESSES) == A
    assert decode_object(_json({"@total": "1", "SmtpProxyAddress": A}), JSON, ADDRESSES) == A


def test_json_that_does_not_parse() -> None:
    with pytest.raises(DecodeError, match="JSON body does not parse"):
        decode_listing(b'{"@total": "1", ', JSON, ADDRESSES)
    with pytest.raises(DecodeError, match="should be a JSON object"):
        decode_listing(b'["a"]', JSON, ADDRESSES)


# -- XML quirks ----------------------------------------------------------------------------------


def _xml_item(element: str, item: dict[str, str]) -> str:
    return f"<{element}>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + f"</{element}>"


def test_xml_listing_with_total_attribute() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<SmtpProxyAddresses total="2">{_xml_item("SmtpProxyAddress", A)}'
        f"{_xml_item('SmtpProxyAddress', B)}</SmtpProxyAddresses>"
    ).encode()
    listing = decode_listing(body, XML, ADDRESSES)
    assert listing.total == 2
    assert listing.items == (A, B)


def test_xml_empty_listing_and_count_alone() -> None:
    listing = decode_listing(b'<SmtpProxyAddresses total="0"/>', XML, ADDRESSES)
    assert listing.total == 0
    assert listing.items == ()
    assert decode_listing(b'<Users total="7"/>', XML, USERS).total == 7


def test_xml_namespaces_and_empty_fields() -> None:
    body = (
        b'<ns:Users xmlns:ns="urn:x" total="1"><ns:User><ns:Alias>jdoe</ns:Alias>'
        b"<ns:FirstName/></ns:User></ns:Users>"
    )
    assert decode_listing(body, XML, USERS).items == ({"Alias": "jdoe", "FirstName": ""},)


def test_xml_object_and_escaped_text() -> None:
    body = (
        b"<User><Alias>ops.team</Alias>"
        b"<DisplayName>Ops &amp; Support &lt;ops&gt;</DisplayName></User>"
    )
    assert decode_object(body, XML, USERS) == {
        "Alias": "ops.team",
        "DisplayName": "Ops & Support <ops>",
    }


def test_xml_stray_children_of_a_listing_are_not_items() -> None:
    body = (
        f'<SmtpProxyAddresses total="1">{_xml_item("SmtpProxyAddress", A)}'
        "<ObjectGlobalUserURI>/vmrest/globalusers/u1</ObjectGlobalUserURI></SmtpProxyAddresses>"
    ).encode()
    assert decode_listing(body, XML, ADDRESSES).items == (A,)


def test_xml_with_entities_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        b'<Users total="1"><User><Alias>&lol;</Alias></User></Users>'
    )
    with pytest.raises(DecodeError, match="refused"):
        decode_listing(bomb, XML, USERS)
    with pytest.raises(DecodeError, match="does not parse"):
        decode_listing(b"<Users total='1'><User>", XML, USERS)


def test_format_is_sniffed_from_the_body_not_trusted_from_the_header() -> None:
    assert sniff(JSON, b'<?xml version="1.0"?><Users total="0"/>') == "xml"
    assert sniff(XML, b' {"@total":"0"}') == "json"
    assert sniff("text/html", b"<!doctype html><html></html>") == "html"
    assert sniff(None, b"") == "empty"
    assert decode_listing(b'<Users total="3"/>', JSON, USERS).total == 3


def test_a_success_answer_that_is_an_html_page_is_refused_readably() -> None:
    with pytest.raises(DecodeError, match="got an HTML page: Sign in; Session expired"):
        decode_listing(
            b"<html><head><title>Sign in</title></head><body><p>Session expired</p></body></html>",
            "text/html",
            USERS,
        )


# -- errors --------------------------------------------------------------------------------------


def test_xml_error_details_with_repeated_errors() -> None:
    body = (
        b"<ErrorDetails><errors><code>DATA_EXCEPTION</code><message>SmtpAddress x is already "
        b"in use</message></errors><errors><code>INVALID_PARAMETER</code><message>second"
        b"</message></errors></ErrorDetails>"
    )
    said = decode_error(body, XML)
    assert said.details == (
        ErrorDetail("DATA_EXCEPTION", "SmtpAddress x is already in use"),
        ErrorDetail("INVALID_PARAMETER", "second"),
    )
    assert said.code == "DATA_EXCEPTION"
    assert said.summary == (
        "DATA_EXCEPTION: SmtpAddress x is already in use; INVALID_PARAMETER: second"
    )


def test_json_error_details_as_object_and_as_list() -> None:
    one = decode_error(b'{"errors":{"code":"NOT_FOUND","message":"gone"}}', JSON)
    assert one.summary == "NOT_FOUND: gone"
    many = decode_error(
        _json({"errors": [{"code": "A", "message": "1"}, {"code": "B", "message": "2"}]}), JSON
    )
    assert many.summary == "A: 1; B: 2"
    wrapped = decode_error(_json({"ErrorDetails": {"errors": {"code": "C", "message": "3"}}}), JSON)
    assert wrapped.summary == "C: 3"


TOMCAT = (
    '<!doctype html><html lang="en"><head><title>HTTP Status 500 – Internal Server Error'
    "</title><style>body {font-family:Tahoma}</style></head><body><h1>HTTP Status 500 – "
    'Internal Server Error</h1><hr class="line" /><p><b>Type</b> Exception Report</p><p>'
    "<b>Message</b> Request processing failed</p><p><b>Description</b> The server "
    "encountered an unexpected condition that prevented it from fulfilling the request.</p>"
    '<hr class="line" /><h3>Apache Tomcat/9.0.0</h3></body></html>'
).encode()


def test_tomcat_html_page_reduced_to_readable_text() -> None:
    said = decode_error(TOMCAT, "text/html;charset=utf-8")
    assert said.details == ()
    assert said.kind == "html"
    assert said.text == (
        "HTTP Status 500 – Internal Server Error; Type: Exception Report; "
        "Message: Request processing failed; Description: The server encountered an "
        "unexpected condition that prevented it from fulfilling the request."
    )


def test_long_pages_and_plain_text_are_shortened() -> None:
    page = "<html><body><pre>" + "java.lang.NullPointerException at x\n" * 100 + "</pre></body>"
    text = readable_html(page)
    assert len(text) <= 400
    assert text.endswith("…")
    assert decode_error(b"Service  Unavailable\n", "text/plain").text == "Service Unavailable"
    assert decode_error(b"", None).summary == ""
    # A body that claims to be ErrorDetails but is not: still something readable.
    assert decode_error(b"<ErrorDetails><oops", XML).text == "<ErrorDetails><oops"


# -- created objects -----------------------------------------------------------------------------


def test_object_id_from_location_else_body() -> None:
    oid = "8375d893-c8eb-437b-90bf-7de4b1d0c3e8"
    uri = f"/vmrest/smtpproxyaddresses/{oid}"
    assert object_id_from_created(f"https://h:8443{uri}", b"", None, ADDRESSES) == oid
    assert object_id_from_created(None, uri.encode(), "text/plain", ADDRESSES) == oid
    assert object_id_from_created(None, f'"{uri}"\n'.encode(), JSON, ADDRESSES) == oid
    assert object_id_from_created(None, _json({"ObjectId": oid}), JSON, ADDRESSES) == oid
    # Location wins over the body.
    assert object_id_from_created(f"{uri}/", b"/vmrest/x/other", None, ADDRESSES) == oid
    assert object_id_from_created(None, b"", None, ADDRESSES) is None
    assert object_id_from_created("/vmrest/smtpproxyaddresses", b"", None, ADDRESSES) is None
    assert object_id_from_created(None, b"created, thank you", None, ADDRESSES) is None


# -- encoding and back ---------------------------------------------------------------------------


def test_encoded_bodies_look_like_cupi_bodies() -> None:
    fields = {"SmtpAddress": "a&b<c>@example.com", "ObjectGlobalUserObjectId": "u1"}
    assert encode_object(fields, "json", ADDRESSES) == (
        b'{"SmtpAddress":"a&b<c>@example.com","ObjectGlobalUserObjectId":"u1"}'
    )
    assert encode_object(fields, "xml", ADDRESSES) == (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><SmtpProxyAddress>'
        b"<SmtpAddress>a&amp;b&lt;c&gt;@example.com</SmtpAddress>"
        b"<ObjectGlobalUserObjectId>u1</ObjectGlobalUserObjectId></SmtpProxyAddress>"
    )
    with pytest.raises(ValueError, match="not a CUPI field name"):
        encode_object({"<bad>": "x"}, "xml", ADDRESSES)
    with pytest.raises(ValueError, match="XML cannot carry"):
        encode_object({"SmtpAddress": "a\x00b"}, "xml", ADDRESSES)


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\t\n"),
    max_size=40,
)
_FIELDS = st.dictionaries(
    st.from_regex(r"[A-Z][A-Za-z0-9]{0,20}", fullmatch=True), _TEXT, max_size=6
)


@given(_FIELDS)
def test_both_formats_round_trip_to_the_same_values(fields: dict[str, str]) -> None:
    for wire_format, kind in (("json", JSON), ("xml", XML)):
        body = encode_object(fields, wire_format, USERS)
        assert decode_object(body, kind, USERS) == fields


# -- a page at a time ----------------------------------------------------------------------------

_KEYS = st.sampled_from(["ObjectId", "SmtpAddress", "ObjectGlobalUserObjectId", "URI", "Extra"])
_VALUES = st.one_of(st.text(max_size=3), st.integers(), st.booleans(), st.none())
_PAGES = st.lists(
    st.one_of(
        st.dictionaries(_KEYS, st.text(max_size=3), max_size=5),  # usually all text
        st.dictionaries(_KEYS, _VALUES, max_size=5),
    ),
    max_size=6,
)
_PROJECTIONS = st.one_of(
    st.none(), st.lists(_KEYS, unique=True, max_size=4).map(lambda keys: ("ObjectId", *keys))
)


@given(page=_PAGES, fields=_PROJECTIONS)
def test_a_page_decodes_to_its_items_decoded_one_by_one(
    page: list[dict[str, object]], fields: tuple[str, ...] | None
) -> None:
    """Pages of alike items are decoded a page at a time in C: the same items, fields in
    the same order, as decoding each item alone (one item alone is its own page)."""
    whole = decode_listing(
        _json({"@total": str(len(page)), "SmtpProxyAddress": page}), JSON, ADDRESSES, fields
    )
    one_by_one = [
        decode_listing(_json({"@total": "1", "SmtpProxyAddress": [item]}), JSON, ADDRESSES, fields)
        for item in page
    ]
    assert whole.items == tuple(item for listing in one_by_one for item in listing.items)
    for decoded, alone in zip(
        whole.items, (listing.items[0] for listing in one_by_one), strict=True
    ):
        assert list(decoded) == list(alone)


def test_a_page_of_alike_items_keeps_only_the_fields_asked_for() -> None:
    listing = decode_listing(
        _json({"@total": "2", "SmtpProxyAddress": [A, B]}),
        JSON,
        ADDRESSES,
        ("ObjectId", "SmtpAddress", "Nope"),
    )
    assert listing.items == (
        {"ObjectId": "a1", "SmtpAddress": "a@example.com"},
        {"ObjectId": "b2", "SmtpAddress": "b@x.com"},
    )
    one_field = decode_listing(
        _json({"@total": "2", "SmtpProxyAddress": [A, B]}), JSON, ADDRESSES, ("ObjectId",)
    )
    assert one_field.items == ({"ObjectId": "a1"}, {"ObjectId": "b2"})
