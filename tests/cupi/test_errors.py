"""Every kind of failure, with the message a user would read: what was asked, of which
server, and what came back."""

from __future__ import annotations

import socket

import httpx
import pytest

from cupiform.cupi import CupiClient
from cupiform.emulator.server import serve_in_thread
from cupiform.errors import (
    AuthenticationError,
    BadResponseError,
    ConnectError,
    NotFoundError,
    RejectedError,
    RequestTimeout,
    ThrottledError,
    TLSError,
)
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES as ADDRESSES
from cupiform.resources.users import USERS
from tests.conftest import JDOE, seeded_emulator
from tests.cupi.conftest import FAST_RETRY, PASSWORD, Server, settings

NEW = {"SmtpAddress": "new@example.com", "ObjectGlobalUserObjectId": JDOE}


def _mock(
    answer: httpx.Response, url: str = "https://cuc.example.com:8443", **changes: object
) -> CupiClient:
    return CupiClient(
        settings(url, **changes),
        transport=httpx.MockTransport(lambda request: answer),
        retry=FAST_RETRY,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with CupiClient(settings(url), retry=FAST_RETRY) as client, pytest.raises(ConnectError) as err:
        client.count(USERS)
    message = str(err.value)
    assert message.startswith(f"GET {url}/vmrest/users?rowsPerPage=0: could not connect: ")
    assert "gave up after 6 attempts in" in message
    assert err.value.request == f"GET {url}/vmrest/users?rowsPerPage=0"


def test_tls_without_the_ca_bundle_fails_and_is_not_retried() -> None:
    emulator = seeded_emulator()
    with serve_in_thread(emulator, tls=True) as served:
        client = CupiClient(settings(served.url), retry=FAST_RETRY)
        with client, pytest.raises(TLSError) as err:
            client.count(USERS)
        message = str(err.value)
        assert message.startswith(f"GET {served.url}/vmrest/users?rowsPerPage=0: TLS failed: ")
        assert "CERTIFICATE_VERIFY_FAILED" in message or "certificate verify failed" in message
        assert "set server.verify to the PEM CA bundle" in message
        assert "gave up" not in message
        assert emulator.stats().requests == 0

        assert served.ca_file is not None
        with CupiClient(settings(served.url, verify=str(served.ca_file))) as client:
            assert client.count(USERS) == 3
        warnings: list[str] = []
        with CupiClient(settings(served.url, verify=False), warn=warnings.append) as client:
            assert client.count(USERS) == 3
            assert client.count(USERS) == 3
        assert len(warnings) == 1
        assert "verification is off" in warnings[0]


def test_plain_http_to_a_tls_server_says_so() -> None:
    with serve_in_thread(seeded_emulator(), tls=True) as served:
        url = served.url.replace("https:", "http:")
        with (
            CupiClient(settings(url), retry=FAST_RETRY) as client,
            pytest.raises(ConnectError) as err,
        ):
            client.count(USERS)
    assert str(err.value).startswith(
        f"GET {url}/vmrest/users?rowsPerPage=0: the connection was lost: "
    )


def test_https_to_a_plain_server_is_a_tls_error() -> None:
    with serve_in_thread(seeded_emulator()) as served:
        url = served.url.replace("http:", "https:")
        with CupiClient(settings(url), retry=FAST_RETRY) as client, pytest.raises(TLSError) as err:
            client.count(USERS)
    assert "TLS failed" in str(err.value)


def test_bad_credentials_are_checked_once_and_never_retried(server: Server) -> None:
    client = server.client(password="wrong-" + PASSWORD)
    with pytest.raises(AuthenticationError) as err:
        client.list_all(ADDRESSES)
    message = str(err.value)
    assert message == (
        f"GET {server.url}/vmrest/smtpproxyaddresses?rowsPerPage=1000&pageNumber=1: "
        "401 AUTHENTICATION_FAILED: Authentication failed: missing or wrong credentials. "
        "(check CUPI_USERNAME and CUPI_PASSWORD; not retried, as repeated failures can lock "
        "the account)"
    )
    assert err.value.status == 401
    assert "wrong-" not in message
    # Later calls are not even sent: each would count against the account.
    with pytest.raises(AuthenticationError, match="not sent, as the server refused"):
        client.create(ADDRESSES, NEW)
    with pytest.raises(AuthenticationError):
        client.delete(ADDRESSES, "x")
    stats = server.emulator.stats()
    assert stats.credential_checks == 1
    assert stats.requests == 1


def test_not_found(server: Server) -> None:
    client = server.client()
    with pytest.raises(NotFoundError) as err:
        client.get(ADDRESSES, "no-such-id")
    assert str(err.value) == (
        f"GET {server.url}/vmrest/smtpproxyaddresses/no-such-id: 404 NOT_FOUND: "
        "SmtpProxyAddress with ObjectId no-such-id was not found."
    )


def test_latency_beyond_the_timeout(server_json: Server) -> None:
    server_json.emulator.set_faults(latency_ms=400)
    client = server_json.client(
        timeout=0.1, retry=FAST_RETRY.__class__(max_attempts=2, backoff_base=0.001)
    )
    with pytest.raises(RequestTimeout) as err:
        client.count(USERS)
    assert str(err.value).startswith(
        f"GET {server_json.url}/vmrest/users?rowsPerPage=0: no answer within 0.1 s; "
        "gave up after 2 attempts in "
    )


def test_an_html_error_page_becomes_readable_text(server_json: Server) -> None:
    client = server_json.client()
    server_json.emulator.set_faults(html_next=1)
    assert client.count(USERS) == 3  # a 500 is retried
    server_json.emulator.set_faults(html_next=6)
    with pytest.raises(RejectedError) as err:
        client.count(USERS)
    assert str(err.value).startswith(
        f"GET {server_json.url}/vmrest/users?rowsPerPage=0: 500 Internal Server Error "
        "(an HTML page): HTTP Status 500 – Internal Server Error; Type: Exception Report; "
        "Message: Request processing failed; Description: The server encountered an "
        "unexpected condition that prevented it from fulfilling the request; gave up after "
        "6 attempts in "
    )
    assert err.value.status == 500


def test_server_busy_until_the_attempts_run_out() -> None:
    busy = httpx.Response(
        503,
        headers={"Content-Type": "application/json"},
        json={"errors": {"code": "SERVICE_UNAVAILABLE", "message": "The server is busy."}},
    )
    with _mock(busy) as client, pytest.raises(ThrottledError) as err:
        client.delete(ADDRESSES, "abc")
    assert str(err.value).startswith(
        "DELETE https://cuc.example.com:8443/vmrest/smtpproxyaddresses/abc: "
        "503 SERVICE_UNAVAILABLE: The server is busy; gave up after 6 attempts in "
    )
    assert err.value.code == "SERVICE_UNAVAILABLE"
    assert client.limiter.stats().decreases >= 1


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            httpx.Response(
                415,
                content=b"<ErrorDetails><errors><code>UNSUPPORTED_MEDIA_TYPE</code><message>no"
                b" Content-Type</message></errors></ErrorDetails>",
            ),
            "415 UNSUPPORTED_MEDIA_TYPE: no Content-Type",
        ),
        (httpx.Response(403), "403 Forbidden"),
        (
            httpx.Response(405, text="Method Not Allowed"),
            "405 Method Not Allowed: Method Not Allowed",
        ),
        (
            httpx.Response(302, headers={"Location": "https://cuc.example.com:8443/vmrest/users"}),
            "302 Found, redirected to https://cuc.example.com:8443/vmrest/users",
        ),
    ],
)
def test_other_refusals(response: httpx.Response, expected: str) -> None:
    with _mock(response) as client, pytest.raises(RejectedError) as err:
        client.update(ADDRESSES, "abc", {"SmtpAddress": "x@example.com"})
    assert str(err.value) == (
        f"PUT https://cuc.example.com:8443/vmrest/smtpproxyaddresses/abc: {expected}"
    )


def test_a_redirect_from_plain_http_names_the_fix() -> None:
    moved = httpx.Response(302, headers={"Location": "https://cuc.example.com/vmrest/users"})
    with _mock(moved, url="http://cuc.example.com") as client, pytest.raises(RejectedError) as e:
        client.count(USERS)
    assert str(e.value).endswith("(server.url should use https)")


def test_an_answer_that_cannot_be_read() -> None:
    garbage = httpx.Response(200, headers={"Content-Type": "application/json"}, content=b"{no")
    with _mock(garbage) as client, pytest.raises(BadResponseError) as err:
        client.list_all(USERS)
    assert str(err.value).startswith(
        "GET https://cuc.example.com:8443/vmrest/users?rowsPerPage=1000&pageNumber=1: "
        "200 OK, but the body cannot be read: the JSON body does not parse"
    )


def test_a_body_that_does_not_decompress() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
        )

    client = CupiClient(
        settings("https://cuc.example.com:8443"),
        transport=httpx.MockTransport(broken),
        retry=FAST_RETRY,
    )
    with client, pytest.raises(BadResponseError) as err:
        client.count(USERS)
    assert str(err.value).startswith(
        "GET https://cuc.example.com:8443/vmrest/users?rowsPerPage=0: the answer could not "
        "be read: "
    )
    assert "gave up after 6 attempts" in str(err.value)
