"""Clients for the CUPI client tests: the emulator in-process and over HTTP, in both
formats, with retries that wait (almost) no time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from cupiform.cupi import ClientSettings, CupiClient, RetryPolicy
from cupiform.emulator.core import Emulator
from cupiform.emulator.server import serve_in_thread
from cupiform.emulator.transport import EmulatorTransport
from tests.conftest import seeded_emulator

FAST_RETRY = RetryPolicy(max_attempts=6, backoff_base=0.001, backoff_cap=0.01, budget=10.0)
IN_PROCESS_URL = "https://cuc-pub.example.com:8443"
# Credentials of the emulator; no test prints them.
USERNAME = "admin"
PASSWORD = "admin"


def settings(url: str, **changes: object) -> ClientSettings:
    values: dict[str, object] = {
        "url": url,
        "username": USERNAME,
        "password": PASSWORD,
        "format": "json",
        "timeout": 5.0,
        "page_size": 1000,
        "parallelism": 4,
    }
    values.update(changes)
    return ClientSettings(**values)  # type: ignore[arg-type]


@dataclass
class Server:
    """An emulator and a way to make clients for it (closed at the end of the test)."""

    mode: str
    format: str
    emulator: Emulator
    url: str
    transport: Callable[[], httpx.BaseTransport | None]
    made: list[CupiClient]

    def client(self, **changes: object) -> CupiClient:
        retry = changes.pop("retry", FAST_RETRY)
        extra = {k: changes.pop(k) for k in ("limiter", "sleep", "clock", "dice") if k in changes}
        changes.setdefault("format", self.format)
        client = CupiClient(
            settings(self.url, **changes),
            transport=self.transport(),
            retry=retry,  # type: ignore[arg-type]
            **extra,  # type: ignore[arg-type]
        )
        self.made.append(client)
        return client


def _serve(mode: str, wire_format: str, emulator: Emulator) -> Iterator[Server]:
    made: list[CupiClient] = []
    if mode == "inprocess":
        yield Server(
            mode, wire_format, emulator, IN_PROCESS_URL, lambda: EmulatorTransport(emulator), made
        )
    else:
        with serve_in_thread(emulator) as served:
            yield Server(mode, wire_format, emulator, served.url, lambda: None, made)
    for client in made:
        client.close()


@pytest.fixture(
    params=[
        ("inprocess", "json"),
        ("inprocess", "xml"),
        ("http", "json"),
        ("http", "xml"),
    ],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The small seed, every way the client can meet it."""
    mode, wire_format = request.param
    yield from _serve(mode, wire_format, seeded_emulator())


@pytest.fixture(params=["inprocess", "http"])
def server_json(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The small seed, in-process and over HTTP, JSON only (for fault tests)."""
    yield from _serve(request.param, "json", seeded_emulator())


@pytest.fixture
def inprocess() -> Iterator[Server]:
    yield from _serve("inprocess", "json", seeded_emulator())
