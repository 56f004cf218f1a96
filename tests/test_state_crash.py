"""The state under crashes and concurrency: a write interrupted at any step leaves the old
state or the new one, never a broken file; the lock admits one process at a time and goes
with its holder."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cupiform.errors import StateError, StateLockedError
from cupiform.state import FileStateBackend, State, StateEntry

SERVER = "https://cuc-pub.example.com:8443"
JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
# the calls a write makes to the filesystem; a crash can come between any two
STEPS = ("open", "write", "fsync", "close", "link", "replace")
CRASHED = 86


def store_at(path: Path) -> FileStateBackend:
    return FileStateBackend(path, "state.json")


def grown(state: State) -> State:
    number = len(state.resources)
    entry = StateEntry(
        f"id-{number}", {"SmtpAddress": f"a{number}@x.com", "ObjectGlobalUserObjectId": JDOE}
    )
    return state.with_entry(f"smtp_proxy_address.a{number}", entry)


def seeded_state(tmp_path: Path) -> Path:
    """A state file at serial 2 (so that the next write also replaces a backup)."""
    path = tmp_path / "state.json"
    store = store_at(path)
    state = store.write(grown(State.new(SERVER)))
    store.write(grown(state))
    return path


@contextmanager
def intercepted(on_call: Callable[[str], None]) -> Iterator[None]:
    """Call ``on_call(name)`` before each filesystem step the process makes."""
    originals = {name: getattr(os, name) for name in STEPS}

    def wrap(name: str) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            on_call(name)
            return originals[name](*args, **kwargs)

        return step

    for name in STEPS:
        setattr(os, name, wrap(name))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(os, name, original)


def steps_of_a_write(path: Path) -> list[str]:
    store = store_at(path)
    state = store.read()
    assert state is not None
    calls: list[str] = []
    with intercepted(calls.append):
        store.write(grown(state))
    return calls


def crash_during_write(path: Path, at_step: int) -> int:
    """A child process writes the next state and dies (no clean-up at all) just before its
    ``at_step``-th filesystem call; returns its exit code."""
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            count = 0

            def maybe_die(_: str) -> None:
                nonlocal count
                if count == at_step:
                    os._exit(CRASHED)
                count += 1

            store = store_at(path)
            state = store.read()
            assert state is not None
            with intercepted(maybe_die):
                store.write(grown(state))
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_crash_between_any_two_steps_leaves_the_old_or_the_new_state(tmp_path: Path) -> None:
    steps = steps_of_a_write(seeded_state(tmp_path / "probe"))
    assert {"write", "fsync", "link", "replace"} <= set(steps)
    outcomes = []
    for at_step in range(len(steps) + 1):
        folder = tmp_path / f"crash-{at_step}"
        path = seeded_state(folder)
        before = path.read_bytes()
        code = crash_during_write(path, at_step)
        assert code == (0 if at_step == len(steps) else CRASHED)
        state = store_at(path).read()  # parses, follows the schema
        assert state is not None
        assert state.serial in (2, 3)
        if state.serial == 2:
            assert path.read_bytes() == before
        backup = store_at(folder / "state.json.backup").read()
        assert backup is not None and backup.serial in (1, 2)
        outcomes.append(state.serial)
    assert outcomes[0] == 2 and outcomes[-1] == 3


@pytest.mark.parametrize("failing", ["open", "write", "fsync", "replace"])
def test_a_failed_step_leaves_the_old_state_and_no_temporary_file(
    tmp_path: Path, failing: str
) -> None:
    path = seeded_state(tmp_path)
    before = path.read_bytes()
    store = store_at(path)
    state = store.read()
    assert state is not None

    def fail(name: str) -> None:
        if name == failing:
            raise OSError(errno.EIO, "I/O error")

    with pytest.raises(StateError) as refused, intercepted(fail):
        store.write(grown(state))
    assert "cannot write the state state.json" in str(refused.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "state.json",
        "state.json.backup",
    ]


def test_without_hard_links_the_backup_is_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = seeded_state(tmp_path)
    before = path.read_bytes()

    def no_links(*_: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    store = store_at(path)
    state = store.read()
    assert state is not None
    assert store.write(grown(state)).serial == 3
    assert (tmp_path / "state.json.backup").read_bytes() == before


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cupiform.state import FileStateBackend, State, StateEntry
    store = FileStateBackend(Path(sys.argv[1]), "state.json")
    state = store.read() or State.new("https://cuc-pub.example.com:8443")
    print("writing", flush=True)
    while True:
        n = state.serial
        attributes = {"SmtpAddress": f"a{n}@x.com", "ObjectGlobalUserObjectId": "x"}
        entry = StateEntry(f"id-{n}", attributes)
        state = store.write(state.with_entry(f"smtp_proxy_address.a{n % 50}", entry))
    """
)


def _serial(path: Path) -> int:
    state = store_at(path).read()  # (a broken state, seen at any moment, fails the test)
    return state.serial if state is not None else 0


def test_a_writer_killed_at_random_moments_never_leaves_a_broken_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    chance = random.Random(5)
    last_serial = 0
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
        time.sleep(chance.uniform(0.05, 0.3))
        deadline = time.monotonic() + 30  # a loaded machine: at least one write first
        while _serial(path) <= last_serial and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        state = store_at(path).read()
        assert state is not None and state.serial > last_serial
        last_serial = state.serial


HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cupiform.state import FileStateBackend
    store = FileStateBackend(Path(sys.argv[1]), "state.json")
    with store.lock("apply"):
        print("locked", flush=True)
        time.sleep(60)
    """
)


@contextmanager
def holder(path: Path) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "locked\n"
        yield child
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_another_process_cannot_take_the_lock_and_a_killed_holder_releases_it(
    tmp_path: Path,
) -> None:
    store = store_at(tmp_path / "state.json")
    with holder(store.path) as child:
        with pytest.raises(StateLockedError) as refused, store.lock("plan"):
            pass
        assert f"(pid {child.pid}), running 'apply' since" in str(refused.value)
        with pytest.raises(StateLockedError) as not_cleared:
            store.clear_stale_lock()
        assert "which is still running" in str(not_cleared.value)
        child.send_signal(signal.SIGKILL)
        child.wait()
        stale = store.clear_stale_lock()
        assert stale is not None and stale.pid == child.pid
        assert store.lock_path.read_text() == ""
        with store.lock("apply") as info:
            assert info.pid == os.getpid()


COUNTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cupiform.errors import StateLockedError
    from cupiform.state import FileStateBackend
    store = FileStateBackend(Path(sys.argv[1]), "state.json")
    counter = Path(sys.argv[2])
    done = 0
    while done < 15:
        try:
            with store.lock("count"):
                value = int(counter.read_text())
                time.sleep(0.002)  # a lost update if anyone else is inside too
                counter.write_text(str(value + 1))
            done += 1
        except StateLockedError:
            time.sleep(0.001)
    """
)


def test_two_processes_never_hold_the_lock_at_once(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", COUNTER, str(tmp_path / "state.json"), str(counter)]
        )
        for _ in range(3)
    ]
    for child in children:
        assert child.wait(timeout=60) == 0
    assert counter.read_text() == "45"
