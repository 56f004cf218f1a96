"""One object at a time: GET, POST, PUT, DELETE on SMTP proxy addresses, and their errors."""

from __future__ import annotations

import pytest

from cupiform.emulator.store import ADDRESSES_TABLE
from tests.conftest import JDOE, Target
from tests.emulator.helpers import JSON, JSON_BODY, XML_BODY, error_of, xml

ADDRESSES = "/vmrest/smtpproxyaddresses"


def _object_id_of(target: Target, address: str) -> str:
    body = (
        target.client()
        .get(ADDRESSES, params={"query": f"(SmtpAddress is {address})"}, headers=JSON)
        .json()
    )
    assert body["@total"] == "1", body
    return str(body["SmtpProxyAddress"]["ObjectId"])


def test_get_one_object_both_formats(target: Target) -> None:
    object_id = _object_id_of(target, "chhavi@we.com")
    client = target.client()
    as_json = client.get(f"{ADDRESSES}/{object_id}", headers=JSON).json()
    assert as_json == {
        "URI": f"{ADDRESSES}/{object_id}",
        "ObjectId": object_id,
        "SmtpAddress": "chhavi@we.com",
        "ObjectGlobalUserObjectId": JDOE,
        "ObjectGlobalUserURI": f"/vmrest/globalusers/{JDOE}",
    }
    root = xml(client.get(f"{ADDRESSES}/{object_id}"))
    assert root.tag == "SmtpProxyAddress"
    assert {child.tag: child.text for child in root} == as_json


def test_get_missing_object_is_404_not_found(target: Target) -> None:
    for headers in ({}, JSON):
        response = target.client().get(
            f"{ADDRESSES}/00000000-0000-0000-0000-000000000000", headers=headers
        )
        assert response.status_code == 404
        code, message = error_of(response)
        assert code == "NOT_FOUND"
        assert "00000000-0000-0000-0000-000000000000" in message


def test_unknown_path_is_404_error_details(target: Target) -> None:
    response = target.client().get("/vmrest/nosuchthing")
    assert response.status_code == 404
    assert error_of(response)[0] == "NOT_FOUND"


@pytest.mark.parametrize("wire", ["json", "xml"])
def test_post_creates_and_answers_the_uri(target: Target, wire: str) -> None:
    client = target.client()
    if wire == "json":
        response = client.post(
            ADDRESSES,
            headers=JSON_BODY,
            json={
                "SmtpAddress": "Texoma@cisco.com",
                "ObjectGlobalUserObjectId": JDOE,
                "SomeUnknownField": "ignored",
            },
        )
    else:
        response = client.post(
            ADDRESSES,
            headers=XML_BODY,
            content=(
                "<SmtpProxyAddress><SmtpAddress>Texoma@cisco.com</SmtpAddress>"
                f"<ObjectGlobalUserObjectId>{JDOE}</ObjectGlobalUserObjectId>"
                "<SomeUnknownField>ignored</SomeUnknownField></SmtpProxyAddress>"
            ),
        )
    assert response.status_code == 201
    # The body is the bare URI as plain text, even when JSON was asked for.
    assert response.headers["content-type"].startswith("text/plain")
    uri = response.text
    assert uri.startswith(f"{ADDRESSES}/")
    assert response.headers["location"] == target.base_url + uri
    created = client.get(uri, headers=JSON).json()
    assert created["SmtpAddress"] == "Texoma@cisco.com"
    assert created["ObjectGlobalUserObjectId"] == JDOE
    assert created["ObjectId"] == uri.rsplit("/", 1)[1]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"SmtpAddress": "CHHAVI@WE.COM", "ObjectGlobalUserObjectId": JDOE},
            "CHHAVI@WE.COM is already in use",
        ),
        (
            {
                "SmtpAddress": "new@example.com",
                "ObjectGlobalUserObjectId": "11111111-2222-3333-4444-555555555555",
            },
            "does not name a global user",
        ),
        ({"ObjectGlobalUserObjectId": JDOE}, "SmtpAddress is required"),
        ({"SmtpAddress": "new@example.com"}, "ObjectGlobalUserObjectId is required"),
        (
            {"SmtpAddress": "no-at-sign", "ObjectGlobalUserObjectId": JDOE},
            "is not a valid SMTP address",
        ),
        (
            {"SmtpAddress": "a\u0001b@example.com", "ObjectGlobalUserObjectId": JDOE},
            "is not a valid SMTP address",
        ),
        (
            {"SmtpAddress": "a" * 310 + "@example.com", "ObjectGlobalUserObjectId": JDOE},
            "longer than 320",
        ),
    ],
)
def test_post_refusals_are_400_data_exception(
    target: Target, body: dict[str, str], fragment: str
) -> None:
    before = target.emulator.store.count(ADDRESSES_TABLE)
    response = target.client().post(ADDRESSES, headers=JSON_BODY, json=body)
    assert response.status_code == 400
    code, message = error_of(response)
    assert code == "DATA_EXCEPTION"
    assert fragment in message
    assert target.emulator.store.count(ADDRESSES_TABLE) == before


def test_body_without_content_type_is_415(target: Target) -> None:
    client = target.client()
    response = client.post(ADDRESSES, content=b'{"SmtpAddress": "x@example.com"}')
    assert response.status_code == 415
    assert error_of(response)[0] == "UNSUPPORTED_MEDIA_TYPE"
    object_id = _object_id_of(target, "chhavi@we.com")
    response = client.put(f"{ADDRESSES}/{object_id}", content=b"{}", headers=JSON)
    assert response.status_code == 415
    assert error_of(response)[0] == "UNSUPPORTED_MEDIA_TYPE"


def test_unparseable_bodies_are_400(target: Target) -> None:
    client = target.client()
    response = client.post(ADDRESSES, headers=JSON_BODY, content=b"{not json")
    assert response.status_code == 400
    assert "does not parse" in error_of(response)[1]
    response = client.post(ADDRESSES, headers=XML_BODY, content=b"<a><b></a>")
    assert response.status_code == 400
    assert "does not parse" in error_of(response)[1]


@pytest.mark.parametrize("wire", ["json", "xml"])
def test_put_changes_the_address_in_place(target: Target, wire: str) -> None:
    client = target.client()
    object_id = _object_id_of(target, "chhavi@5.co")
    if wire == "json":
        response = client.put(
            f"{ADDRESSES}/{object_id}", headers=JSON_BODY, json={"SmtpAddress": "texoma@cisco.com"}
        )
    else:
        response = client.put(
            f"{ADDRESSES}/{object_id}",
            headers=XML_BODY,
            content="<SmtpProxyAddress><SmtpAddress>texoma@cisco.com"
            "</SmtpAddress></SmtpProxyAddress>",
        )
    assert response.status_code == 204
    assert response.content == b""
    assert _object_id_of(target, "texoma@cisco.com") == object_id


def test_put_case_only_change_of_own_address_is_allowed(target: Target) -> None:
    object_id = _object_id_of(target, "chhavi@5.co")
    response = target.client().put(
        f"{ADDRESSES}/{object_id}", headers=JSON_BODY, json={"SmtpAddress": "Chhavi@5.co"}
    )
    assert response.status_code == 204


def test_put_refusals(target: Target) -> None:
    client = target.client()
    missing = client.put(
        f"{ADDRESSES}/00000000-0000-0000-0000-000000000000",
        headers=JSON_BODY,
        json={"SmtpAddress": "x@example.com"},
    )
    assert missing.status_code == 400  # not 404: that is what the server does
    assert error_of(missing)[0] == "DATA_EXCEPTION"
    object_id = _object_id_of(target, "chhavi@5.co")
    taken = client.put(
        f"{ADDRESSES}/{object_id}", headers=JSON_BODY, json={"SmtpAddress": "Ops@Example.com"}
    )
    assert taken.status_code == 400
    assert "already in use" in error_of(taken)[1]


def test_put_may_change_the_owner_unless_the_server_refuses(target: Target) -> None:
    client = target.client()
    mary = client.get("/vmrest/users?query=(alias%20is%20mary)", headers=JSON).json()["User"]
    object_id = _object_id_of(target, "chhavi@5.co")
    moved = client.put(
        f"{ADDRESSES}/{object_id}",
        headers=JSON_BODY,
        json={"ObjectGlobalUserObjectId": mary["ObjectId"]},
    )
    assert moved.status_code == 204
    got = client.get(f"{ADDRESSES}/{object_id}", headers=JSON).json()
    assert got["ObjectGlobalUserObjectId"] == mary["ObjectId"]
    target.emulator.set_faults(owner_create_only=True)
    refused = client.put(
        f"{ADDRESSES}/{object_id}", headers=JSON_BODY, json={"ObjectGlobalUserObjectId": JDOE}
    )
    assert refused.status_code == 400
    assert "cannot be changed" in error_of(refused)[1]


def test_delete_then_404(target: Target) -> None:
    client = target.client()
    object_id = _object_id_of(target, "chhavi@we.com")
    response = client.delete(f"{ADDRESSES}/{object_id}")
    assert response.status_code == 204
    again = client.delete(f"{ADDRESSES}/{object_id}", headers=JSON)
    assert again.status_code == 404
    assert error_of(again)[0] == "NOT_FOUND"
    # The address is free again.
    created = client.post(
        ADDRESSES,
        headers=JSON_BODY,
        json={"SmtpAddress": "chhavi@we.com", "ObjectGlobalUserObjectId": JDOE},
    )
    assert created.status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", ADDRESSES, "GET, POST"),
        ("PUT", ADDRESSES, "GET, POST"),
        ("POST", f"{ADDRESSES}/x", "GET, PUT, DELETE"),
        ("POST", "/vmrest/globalusers", "GET"),
        ("DELETE", f"/vmrest/globalusers/{JDOE}", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(target: Target, method: str, path: str, allow: str) -> None:
    response = target.client().request(method, path, headers=JSON_BODY, content=b"{}")
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert error_of(response)[0] == "METHOD_NOT_ALLOWED"
