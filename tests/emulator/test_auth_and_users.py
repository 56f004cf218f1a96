"""Credentials, session cookies, and writing users (with the server's own proxy address)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import JDOE, Target
from tests.emulator.helpers import JSON, JSON_BODY, error_of


@pytest.mark.parametrize("auth", [None, ("admin", "wrong"), ("someone", "admin")])
def test_missing_or_wrong_credentials_are_401(target: Target, auth: object) -> None:
    client = target.client(auth=auth)
    for headers in ({}, JSON):
        response = client.get("/vmrest/users", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        assert error_of(response)[0] == "AUTHENTICATION_FAILED"
        assert "set-cookie" not in response.headers


def test_malformed_basic_header_is_401(target: Target) -> None:
    client = target.client(auth=None)
    response = client.get("/vmrest/users", headers={"Authorization": "Basic !!!notbase64"})
    assert response.status_code == 401


def test_a_session_cookie_spares_the_credential_check(target: Target) -> None:
    client = target.client()
    first = client.get("/vmrest/users")
    cookies = {c.split("=", 1)[0] for c in first.headers.get_list("set-cookie")}
    assert cookies == {"JSESSIONIDSSO", "JSESSIONID", "REQUEST_TOKEN_KEY"}
    assert "Path=/vmrest" in next(
        c for c in first.headers.get_list("set-cookie") if c.startswith("JSESSIONID=")
    )
    for _ in range(20):
        assert client.get("/vmrest/smtpproxyaddresses").status_code == 200
    stats = target.emulator.stats()
    assert stats.credential_checks == 1
    assert stats.sessions_created == 1
    assert stats.requests == 21


def test_without_cookies_every_request_checks_credentials(target: Target) -> None:
    for _ in range(5):
        with target.client() as client:
            assert client.get("/vmrest/users").status_code == 200
    assert target.emulator.stats().credential_checks == 5


def test_a_session_cookie_alone_is_enough(target: Target) -> None:
    client = target.client()
    client.get("/vmrest/users")
    session = client.cookies["JSESSIONID"]
    bare = target.client(auth=None)
    response = bare.get("/vmrest/users", headers={"Cookie": f"JSESSIONID={session}"})
    assert response.status_code == 200
    forged = bare.get("/vmrest/users", headers={"Cookie": "JSESSIONID=FORGED"})
    assert forged.status_code == 401


def test_create_user_needs_a_template_and_may_make_a_proxy_address(target: Target) -> None:
    client = target.client()
    body = {
        "Alias": "newbie",
        "DtmfAccessId": "5555",
        "EmailAddress": "newbie@corp.example.com",
        "CreateSmtpProxyFromCorp": "true",
    }
    refused = client.post("/vmrest/users", headers=JSON_BODY, json=body)
    assert refused.status_code == 400
    assert "templateAlias" in error_of(refused)[1]
    created = client.post(
        "/vmrest/users?templateAlias=voicemailusertemplate", headers=JSON_BODY, json=body
    )
    assert created.status_code == 201
    user = client.get(created.text, headers=JSON).json()
    assert user["Alias"] == "newbie"
    assert user["SmtpAddress"] == "newbie@cuc.example.com"
    # The server made an address the reconciler never asked for.
    owned = client.get(
        f"/vmrest/smtpproxyaddresses?query=(ObjectGlobalUserObjectId%20is%20{user['ObjectId']})",
        headers=JSON,
    ).json()
    assert owned["SmtpProxyAddress"]["SmtpAddress"] == "newbie@corp.example.com"
    duplicate = client.post(
        "/vmrest/users?templateAlias=voicemailusertemplate",
        headers=JSON_BODY,
        json={"Alias": "NEWBIE", "DtmfAccessId": "5556"},
    )
    assert duplicate.status_code == 400
    assert "Alias NEWBIE is already in use" in error_of(duplicate)[1]


def test_update_and_delete_user(target: Target) -> None:
    client = target.client()
    response = client.put(
        f"/vmrest/users/{JDOE}", headers=JSON_BODY, json={"DisplayName": "Johnny"}
    )
    assert response.status_code == 204
    assert client.get(f"/vmrest/users/{JDOE}", headers=JSON).json()["DisplayName"] == "Johnny"
    assert client.delete(f"/vmrest/users/{JDOE}").status_code == 204
    assert client.get(f"/vmrest/globalusers/{JDOE}").status_code == 404
    owned = client.get(
        f"/vmrest/smtpproxyaddresses?query=(ObjectGlobalUserObjectId%20is%20{JDOE})",
        headers=JSON,
    ).json()
    assert owned == {"@total": "0"}


def test_text_is_escaped_in_xml(target: Target) -> None:
    client = target.client()
    response = client.get("/vmrest/users?query=(alias%20is%20ops.team)")
    assert "Operations &amp; Support &lt;ops&gt;" in response.text
    assert ET.fromstring(response.content)[0].findtext("DisplayName") == (
        "Operations & Support <ops>"
    )
