"""The vendor's own examples, fed to the client byte for byte through a mock server, so that
the parser is shown to read documents it was not written against (not only our emulator).

The files keep the chapter's typos; see tests/fixtures/vendor/README.md.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from cupiform.cupi import CupiClient, is_
from cupiform.cupi.codec import decode_listing, decode_object
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES as ADDRESSES
from tests.cupi.conftest import FAST_RETRY, settings

VENDOR = Path(__file__).parent.parent / "fixtures" / "vendor"
OWNER = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
FIRST = "3d71d2ed-5baf-48c4-bf25-875bca56e30e"
SECOND = "062fc8cc-a0aa-4ad7-b74c-9589dd95cb1c"
NEW = "8375d893-c8eb-437b-90bf-7de4b1d0c3e8"

# The chapter's typos and the real names (CUPI's own spelling), longest first.
TYPOS = (
    (b"SmtProxyAddresses", b"SmtpProxyAddresses"),
    (b"SmtProxyAddress", b"SmtpProxyAddress"),
    (b"SmtproxyAddress", b"SmtpProxyAddress"),
    (b"SmtAddress", b"SmtpAddress"),
    (b"smtproxyaddresses", b"smtpproxyaddresses"),
)


def vendor(name: str) -> bytes:
    return (VENDOR / name).read_bytes()


def corrected(body: bytes) -> bytes:
    for typo, real in TYPOS:
        body = body.replace(typo, real)
    return body


def item(object_id: str, address: str, address_field: str = "SmtpAddress") -> dict[str, str]:
    return {
        "URI": f"/vmrest/smtpproxyaddresses/{object_id}",
        "ObjectId": object_id,
        address_field: address,
        "ObjectGlobalUserObjectId": OWNER,
    }


def test_xml_listing_verbatim_items_found_by_shape_stray_uri_dropped() -> None:
    listing = decode_listing(vendor("list-addresses.xml"), "application/xml", ADDRESSES)
    assert listing.total == 2
    # The item and field names are the chapter's; the stray ObjectGlobalUserURI is no item.
    assert listing.items == (
        item(FIRST, "chhavi@we.com", "SmtAddress"),
        item(SECOND, "chhavi@5.co", "SmtAddress"),
    )


def test_json_listing_verbatim() -> None:
    listing = decode_listing(vendor("list-addresses.json"), "application/json", ADDRESSES)
    assert listing.total == 2
    uri = {"ObjectGlobalUserURI": f"/vmrest/globalusers/{OWNER}"}
    assert listing.items == (
        {**item(FIRST, "john@we.com", "SmtAddress"), **uri},
        {**item(SECOND, "mary@5.co", "SmtAddress"), **uri},
    )


def test_vendor_request_bodies_read_as_the_fields_they_carry() -> None:
    create = decode_object(corrected(vendor("create-request.xml")), None, ADDRESSES)
    assert create == {"SmtpAddress": "Texoma@cisco.com", "ObjectGlobalUserObjectId": OWNER}
    for name in ("update-request.xml", "update-request.json"):
        assert decode_object(corrected(vendor(name)), None, ADDRESSES) == {
            "SmtpAddress": "Texoma@cisco.com"
        }


def _chapter_server(wire_format: str, calls: list[httpx.Request]) -> httpx.MockTransport:
    """Answers as the chapter does (names corrected), with no Location on a 201."""

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        path = request.url.path
        if request.method == "GET" and path == "/vmrest/smtpproxyaddresses":
            if wire_format == "json":
                body = corrected(vendor("list-addresses.json"))
                return httpx.Response(
                    200, headers={"Content-Type": "application/json"}, content=body
                )
            body = corrected(vendor("list-addresses.xml"))
            return httpx.Response(200, headers={"Content-Type": "application/xml"}, content=body)
        if request.method == "POST" and path == "/vmrest/smtpproxyaddresses":
            name = (
                "create-response-json-example.txt"
                if wire_format == "json"
                else "create-response.txt"
            )
            return httpx.Response(201, content=vendor(name))  # the chapter's own bytes
        if request.method in ("PUT", "DELETE") and path.startswith("/vmrest/smtpproxyaddresses/"):
            return httpx.Response(204)
        return httpx.Response(404)

    return httpx.MockTransport(answer)


def test_the_client_against_the_chapter_in_both_formats() -> None:
    for wire_format in ("json", "xml"):
        calls: list[httpx.Request] = []
        client = CupiClient(
            settings("https://cuc.example.com", format=wire_format),
            transport=_chapter_server(wire_format, calls),
            retry=FAST_RETRY,
        )
        with client:
            found = client.list_all(ADDRESSES, is_("ObjectGlobalUserObjectId", OWNER))
            assert [(a["ObjectId"], a["SmtpAddress"]) for a in found] == (
                [(FIRST, "john@we.com"), (SECOND, "mary@5.co")]
                if wire_format == "json"
                else [(FIRST, "chhavi@we.com"), (SECOND, "chhavi@5.co")]
            )
            # The 201 bodies of both examples, one of them with the typo'd path.
            assert (
                client.create(
                    ADDRESSES,
                    {"SmtpAddress": "Texoma@cisco.com", "ObjectGlobalUserObjectId": OWNER},
                )
                == NEW
            )
            client.update(ADDRESSES, NEW, {"SmtpAddress": "Texoma@cisco.com"})
            client.delete(ADDRESSES, NEW)
        listing_call = calls[0]
        assert listing_call.url.raw_path.startswith(
            b"/vmrest/smtpproxyaddresses?query=(ObjectGlobalUserObjectId%20is%20" + OWNER.encode()
        )
        post = calls[1]
        assert post.headers["content-type"] == f"application/{wire_format}"
        assert decode_object(post.content, post.headers["content-type"], ADDRESSES) == {
            "SmtpAddress": "Texoma@cisco.com",
            "ObjectGlobalUserObjectId": OWNER,
        }
        assert [c.method for c in calls] == ["GET", "POST", "PUT", "DELETE"]


def test_a_delete_answered_200_as_one_page_of_the_guide_says() -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(200)

    transport = httpx.MockTransport(answer)
    with CupiClient(settings("https://cuc.example.com"), transport=transport) as client:
        client.delete(ADDRESSES, NEW)  # 200 is success too: no error, no retry
        client.update(ADDRESSES, NEW, {"SmtpAddress": "x@example.com"})
    assert sent == ["DELETE", "PUT"]
