"""Shared fixtures: a seeded emulator, in-process or over real HTTP, and clients for it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cupiform.emulator.core import Emulator, Faults
from cupiform.emulator.seed import load_seed
from cupiform.emulator.server import serve_in_thread
from cupiform.emulator.store import Store
from cupiform.emulator.transport import EmulatorTransport

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_SEED = FIXTURES / "seed-small.yaml"
JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
AUTH = ("admin", "admin")


def seeded_emulator(seed: Path | None = SMALL_SEED, **faults: object) -> Emulator:
    store = Store(":memory:")
    if seed is not None:
        load_seed(store, seed)
    return Emulator(store, faults=Faults(**faults), random_seed=1234)  # type: ignore[arg-type]


@dataclass
class Target:
    """An emulator and how to reach it: ``client()`` gives an httpx.Client whose base URL is
    the server root (requests name ``/vmrest/...``)."""

    mode: str
    emulator: Emulator
    base_url: str
    _make: Callable[..., httpx.Client]

    def client(self, **kwargs: object) -> httpx.Client:
        return self._make(**kwargs)


@pytest.fixture
def seed_path(tmp_path: Path) -> Path:
    copy = tmp_path / "seed.yaml"
    shutil.copy(SMALL_SEED, copy)
    return copy


@pytest.fixture(params=["inprocess", "http"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The small seed, served in-process (httpx transport) and over real HTTP (uvicorn)."""
    emulator = seeded_emulator()
    clients: list[httpx.Client] = []
    if request.param == "inprocess":
        base = "https://cuc-pub.example.com:8443"

        def make(**kwargs: object) -> httpx.Client:
            kwargs.setdefault("auth", AUTH)
            client = httpx.Client(
                base_url=base,
                transport=EmulatorTransport(emulator),
                **kwargs,  # type: ignore[arg-type]
            )
            clients.append(client)
            return client

        yield Target("inprocess", emulator, base, make)
    else:
        with serve_in_thread(emulator) as served:

            def make(**kwargs: object) -> httpx.Client:
                kwargs.setdefault("auth", AUTH)
                client = httpx.Client(base_url=served.url, **kwargs)  # type: ignore[arg-type]
                clients.append(client)
                return client

            yield Target("http", emulator, served.url, make)
    for client in clients:
        client.close()
