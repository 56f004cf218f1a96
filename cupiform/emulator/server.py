"""The emulator over real HTTP(S): an ASGI adapter around the core, run by uvicorn.

``--tls`` makes a private CA and a server certificate for 127.0.0.1, ::1 and localhost at
start (cryptography); the CA certificate can be written out for clients to trust, which is
how a real server's self-signed certificate is meant to be handled.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import uvicorn

from cupiform.emulator.core import Emulator, EmulatorRequest
from cupiform.errors import EmulatorError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


class _DropConnection(Exception):
    """Raised after the response has started, so that uvicorn closes the connection."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and record.exc_info[0] is _DropConnection)


class EmulatorApp:
    """ASGI application: every HTTP request goes to ``Emulator.handle`` in a worker thread."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    # Requests waiting for a --max-concurrent slot hold a thread each.
                    anyio.to_thread.current_default_thread_limiter().total_tokens = 200
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = (
                f"{headers[name]}; {value}" if name == "cookie" and name in headers else value
            )
        host = headers.get("host") or "{}:{}".format(*scope["server"])
        request = EmulatorRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers=headers,
            body=b"".join(chunks),
            base_url=f"{scope['scheme']}://{host}",
        )
        answer = await anyio.to_thread.run_sync(self.emulator.handle, request)
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
        raw_headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": raw_headers})
        if answer.drop_connection:
            raise _DropConnection("committed, then dropped on purpose")
        await send({"type": "http.response.body", "body": answer.body})


@dataclass(frozen=True)
class TLSFiles:
    ca_pem: bytes
    cert_file: Path
    key_file: Path


def make_tls_files(folder: Path) -> TLSFiles:
    """A CA and a server certificate signed by it, for 127.0.0.1, ::1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cupiform emulator CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return TLSFiles(ca_cert.public_bytes(serialization.Encoding.PEM), cert_file, key_file)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit it: no Nagle delay between the head and the body.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(256)
    except OSError as error:
        sock.close()
        raise EmulatorError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock


def _uvicorn(emulator: Emulator, tls_files: TLSFiles | None) -> uvicorn.Server:
    config = uvicorn.Config(
        EmulatorApp(emulator),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=60,
        server_header=False,
        ssl_certfile=str(tls_files.cert_file) if tls_files else None,
        ssl_keyfile=str(tls_files.key_file) if tls_files else None,
    )
    return uvicorn.Server(config)


def _url(sock: socket.socket, tls: bool) -> str:
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return f"{'https' if tls else 'http'}://{shown}:{bound_port}"


def serve(
    emulator: Emulator,
    *,
    host: str,
    port: int,
    tls: bool,
    ca_out: Path | None,
    exit_after: float,
    announce: Callable[[str], None],
) -> None:
    """Serve until interrupted (or ``exit_after`` seconds); ``announce`` gets the base URL
    once the socket listens, so a caller may connect as soon as it reads it."""
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    with tempfile.TemporaryDirectory(prefix="cupiform-emulator-") as scratch:
        tls_files = make_tls_files(Path(scratch)) if tls else None
        if tls_files is not None and ca_out is not None:
            ca_out.write_bytes(tls_files.ca_pem)
        sock = _listen(host, port)
        server = _uvicorn(emulator, tls_files)
        if exit_after > 0:
            timer = threading.Timer(exit_after, lambda: setattr(server, "should_exit", True))
            timer.daemon = True
            timer.start()
        announce(_url(sock, tls))
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()


@dataclass(frozen=True)
class Served:
    """A server running in a background thread: its base URL (no ``/vmrest``) and, with
    TLS, the CA certificate (PEM) to trust."""

    url: str
    ca_pem: bytes | None
    ca_file: Path | None


@contextlib.contextmanager
def serve_in_thread(emulator: Emulator, *, tls: bool = False) -> Iterator[Served]:
    """Serve on 127.0.0.1 (a free port) in a background thread until the block ends.

    For tests and benchmarks: the same app and uvicorn set-up as ``cupiform emulator serve``.
    """
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    with tempfile.TemporaryDirectory(prefix="cupiform-emulator-") as scratch:
        tls_files = make_tls_files(Path(scratch)) if tls else None
        ca_file = None
        if tls_files is not None:
            ca_file = Path(scratch) / "ca.pem"
            ca_file.write_bytes(tls_files.ca_pem)
        sock = _listen("127.0.0.1", 0)
        server = _uvicorn(emulator, tls_files)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            yield Served(_url(sock, tls), tls_files.ca_pem if tls_files else None, ca_file)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
