"""``cupiform emulator serve``: the CUPI emulator as a real HTTP(S) server."""

from __future__ import annotations

import sys
from pathlib import Path

from cupiform.emulator.core import Emulator, Faults
from cupiform.emulator.seed import load_seed
from cupiform.emulator.server import serve
from cupiform.emulator.store import ADDRESSES_TABLE, USERS_TABLE, Store
from cupiform.errors import EmulatorError, UsageError


def _rate(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{name} must be between 0 and 1, not {value}")
    return value


def run(
    options: object,
    *,
    host: str,
    port: int,
    db: str,
    seed: Path | None,
    tls: bool,
    ca_out: Path | None,
    username: str,
    password: str,
    latency_ms: float,
    max_concurrent: int,
    busy_wait_ms: float,
    fail_rate: float,
    drop_post_rate: float,
    owner_create_only: bool,
    random_seed: int | None,
    exit_after: float,
) -> None:
    if ca_out is not None and not tls:
        raise UsageError("--ca-out needs --tls")
    if latency_ms < 0 or busy_wait_ms < 0 or max_concurrent < 0 or exit_after < 0:
        raise UsageError(
            "--latency-ms, --busy-wait-ms, --max-concurrent and --exit-after must not be negative"
        )
    faults = Faults(
        latency_ms=latency_ms,
        max_concurrent=max_concurrent,
        busy_wait_ms=busy_wait_ms,
        fail_rate=_rate("--fail-rate", fail_rate),
        drop_post_rate=_rate("--drop-post-rate", drop_post_rate),
        owner_create_only=owner_create_only,
    )
    if db != ":memory:":
        parent = Path(db).parent
        if not parent.is_dir():
            raise EmulatorError(f"--db {db}: folder {parent} does not exist")
    store = Store(db)
    if seed is not None:
        if store.is_empty():
            users, addresses = load_seed(store, seed)
            print(
                f"cupiform emulator: seeded {users} users and {addresses} addresses from {seed}",
                file=sys.stderr,
            )
        else:
            print(
                f"cupiform emulator: {db} already holds data; --seed {seed} not loaded",
                file=sys.stderr,
            )
    emulator = Emulator(
        store, username=username, password=password, faults=faults, random_seed=random_seed
    )

    def announce(url: str) -> None:
        users = store.count(USERS_TABLE)
        addresses = store.count(ADDRESSES_TABLE)
        print(
            f"cupiform emulator: serving {url}/vmrest ({users} users, {addresses} "
            "addresses); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )

    try:
        serve(
            emulator,
            host=host,
            port=port,
            tls=tls,
            ca_out=ca_out,
            exit_after=exit_after,
            announce=announce,
        )
    finally:
        store.close()
