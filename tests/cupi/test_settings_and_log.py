"""Settings (credentials from the environment only) and the -v HTTP log (nothing secret)."""

from __future__ import annotations

import base64
import io
import logging
import re
from pathlib import Path

import pytest

from cupiform.cupi import ClientSettings, CupiClient, is_, log
from cupiform.cupi.query import query_string
from cupiform.errors import ConfigError
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES as ADDRESSES
from cupiform.resources.users import USERS
from tests.conftest import JDOE
from tests.cupi.conftest import PASSWORD, USERNAME, Server, settings

ENV = {"CUPI_USERNAME": USERNAME, "CUPI_PASSWORD": PASSWORD}


def test_settings_from_the_environment() -> None:
    made = ClientSettings.from_environment(
        "https://cuc-pub.example.com:8443/vmrest/",
        verify=Path("ca.pem"),
        format="xml",
        timeout=1,
        page_size=500,
        parallelism=2,
        environ=ENV,
    )
    assert made.url == "https://cuc-pub.example.com:8443"
    assert (made.username, made.password) == (USERNAME, PASSWORD)
    assert (made.verify, made.format, made.timeout, made.page_size) == ("ca.pem", "xml", 1.0, 500)
    assert "username" not in repr(made)
    assert "password" not in repr(made)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"environ": {}}, "no credentials: set CUPI_USERNAME and CUPI_PASSWORD"),
        ({"url": "cuc.example.com"}, "server.url must be an http(s) URL"),
        ({"url": "https://me:secret@cuc.example.com"}, "server.url must not hold credentials"),
        ({"url": "https://cuc.example.com/?x=1"}, "must not have a query"),
        ({"format": "yaml"}, "server.format must be json or xml"),
        ({"timeout": 0}, "server.timeout must be a positive number"),
        ({"page_size": 0}, "server.page_size must be a whole number"),
        ({"parallelism": True}, "server.parallelism must be a whole number"),
    ],
)
def test_settings_refused(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"url": "https://cuc.example.com", "environ": ENV}
    values.update(changes)
    url = values.pop("url")
    with pytest.raises(ConfigError, match=re.escape(message)) as e:
        ClientSettings.from_environment(url, **values)  # type: ignore[arg-type]
    assert "secret" not in str(e.value)


def test_a_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"server\.verify: no CA bundle at"):
        CupiClient(settings("https://cuc.example.com", verify=str(tmp_path / "none.pem")))
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match=r"server\.verify: cannot use CA bundle"):
        CupiClient(settings("https://cuc.example.com", verify=str(bad)))


def test_queries_are_sent_with_percent_20() -> None:
    assert (
        query_string(is_("Alias", "j doe"), rows_per_page=0)
        == "query=(Alias%20is%20j%20doe)&rowsPerPage=0"
    )
    assert (
        query_string(is_("SmtpAddress", "a+b&c@x.com"))
        == "query=(SmtpAddress%20is%20a%2Bb%26c@x.com)"
    )
    for bad in ("", " lead", "trail ", "new\nline"):
        with pytest.raises(ValueError):
            is_("Alias", bad)


def test_the_http_log_names_calls_and_hides_secrets(server: Server) -> None:
    stream = io.StringIO()
    handler = log.enable(stream)
    try:
        client = server.client()
        client.count(USERS)
        object_id = client.create(
            ADDRESSES, {"SmtpAddress": "logged@example.com", "ObjectGlobalUserObjectId": JDOE}
        )
        client.delete(ADDRESSES, object_id)
    finally:
        log.http_log.removeHandler(handler)
        log.http_log.setLevel(logging.NOTSET)
    text = stream.getvalue()
    assert "GET /vmrest/users?rowsPerPage=0 -> 200 OK (" in text
    assert "POST /vmrest/smtpproxyaddresses -> 201 Created (" in text
    assert f"DELETE /vmrest/smtpproxyaddresses/{object_id} -> 204 No Content (" in text
    assert "authorization: [redacted]" in text
    assert "cookie: [redacted]" in text
    assert "set-cookie: [redacted]" in text
    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    assert basic not in text
    cookies = list(client._http.cookies.jar)
    assert {cookie.name for cookie in cookies} == {
        "JSESSIONIDSSO",
        "JSESSIONID",
        "REQUEST_TOKEN_KEY",
    }
    for cookie in cookies:
        assert cookie.value
        assert cookie.value not in text
