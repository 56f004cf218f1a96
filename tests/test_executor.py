"""The executor against the in-process emulator: results recorded as they come, and no call
started once the state can no longer be written."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace

import pytest

from cupiform.cupi import ClientSettings, CupiClient
from cupiform.emulator.core import Emulator
from cupiform.emulator.transport import EmulatorTransport
from cupiform.errors import StateError
from cupiform.executor import DONE, SKIPPED, StateWriter, execute
from cupiform.plan import CREATE, Action, Plan
from cupiform.resources.kinds import KINDS
from cupiform.state import LockInfo, State
from tests.conftest import JDOE, seeded_emulator

URL = "https://cuc-pub.example.com:8443"


class MemoryBackend:
    """A state store in memory whose writes start failing after ``good_writes``."""

    location = "memory"

    def __init__(self, good_writes: int = 1_000_000) -> None:
        self.good_writes = good_writes
        self.written: list[State] = []

    def read(self) -> State | None:
        return self.written[-1] if self.written else None

    def write(self, state: State) -> State:
        if len(self.written) >= self.good_writes:
            raise StateError("cannot write the state memory: disk full")
        stored = replace(state, serial=state.serial + 1)
        self.written.append(stored)
        return stored

    def lock(self, operation: str) -> AbstractContextManager[LockInfo]:
        raise NotImplementedError

    def clear_stale_lock(self) -> LockInfo | None:
        raise NotImplementedError


def creates(count: int) -> Plan:
    actions = []
    for n in range(count):
        address = f"smtp_proxy_address.r{n}"
        after = {"SmtpAddress": f"r{n}@example.com", "ObjectGlobalUserObjectId": JDOE}
        actions.append(
            Action(address, "smtp_proxy_address", address, CREATE, None, None, after, "")
        )
    return Plan(tuple(actions))


def client_for(latency_ms: float) -> tuple[CupiClient, Emulator]:
    emulator = seeded_emulator(latency_ms=latency_ms)
    settings = ClientSettings(
        url=URL, username="admin", password="admin", format="json", timeout=5, parallelism=3
    )
    return CupiClient(settings, transport=EmulatorTransport(emulator)), emulator


def test_every_result_is_in_state_bound_to_its_object() -> None:
    client, _ = client_for(latency_ms=0)
    backend = MemoryBackend()
    writer = StateWriter(backend, State.new(URL))
    with client:
        outcomes = execute(creates(12), client, KINDS, writer, parallelism=3)
    final = writer.close()
    assert [o.status for o in outcomes] == [DONE] * 12
    assert {a: e.object_id for a, e in final.resources.items()} == {
        o.action.address: o.object_id for o in outcomes
    }
    assert backend.written[-1] == final
    assert 1 <= writer.writes <= 12


def test_once_state_cannot_be_written_no_new_call_starts() -> None:
    """Only the calls already in flight (at most ``parallelism``) go on: a call queued behind
    them would make an object that no state could record."""
    client, emulator = client_for(latency_ms=20)
    writer = StateWriter(MemoryBackend(good_writes=1), State.new(URL))
    with client:
        outcomes = execute(creates(30), client, KINDS, writer, parallelism=3)
    with pytest.raises(StateError, match="disk full"):
        writer.close()
    done = [o for o in outcomes if o.status == DONE]
    skipped = [o for o in outcomes if o.status == SKIPPED]
    assert len(done) + len(skipped) == 30
    assert len(skipped) >= 10, len(done)
    assert {o.error for o in skipped} == {"not attempted: state cannot be written"}
    assert emulator.stats().by_status.get("201", 0) == len(done)
