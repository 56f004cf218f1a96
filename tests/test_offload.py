"""Manifests read in a forked child (``offload``): the same resources, or the same refusal,
as when read in this process; a child that fails or is stopped leaves the answer intact and
no process behind; and ``cupiform plan`` on a large project answers the same either way."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import cupiform.state.backend as backend_module
from cupiform.errors import ManifestError, Problem, StateError
from cupiform.manifest import load_manifest_files
from cupiform.model import ManifestSet
from cupiform.offload import OFFLOAD_MIN_BYTES, ManifestReader, can_offload
from cupiform.state import FileStateBackend, State, StateEntry
from cupiform.state.document import decode_state, encode_state

LINUX = sys.platform.startswith("linux")
fork_only = pytest.mark.skipif(not LINUX, reason="manifests are offloaded only on Linux (fork)")

JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"

VALID = {
    "a.yaml": (
        "# John Doe's addresses\n"
        "smtp_proxy_addresses:\n"
        "  jdoe-work:\n"
        "    address: john.doe@example.com\n"
        "    user: jdoe\n"
        "  jdoe-legacy:\n"
        "    address: jd@old.example.com\n"
        f"    user_object_id: {JDOE}\n"
    ),
    "b.yaml": "",  # declares nothing
    # flow style and an anchor: read by the general path, not the quick one
    "c.yaml": (
        "smtp_proxy_addresses:\n"
        "  sales-info: {address: info@example.com, user: &sales sales}\n"
        "  sales-quotes:\n"
        "    address: 'quotes@example.com'\n"
        "    user: *sales\n"
    ),
    "d.yaml": (
        "smtp_proxy_addresses:\n"
        "  marie-work:\n"
        "    address: marie.curie@example.com\n"
        "    user: marie\n"
    ),
}

REFUSED = {
    "a.yaml": (
        "smtp_proxy_addresses:\n"
        "  jdoe-work:\n"
        "    address: john.doe@example.com\n"
        "    user: jdoe\n"
        "  jdoe-home:\n"
        "    address: john@home.example.com\n"
        "    user: jdoe\n"
        "    colour: red\n"
    ),
    "b.yaml": (
        "smtp_proxy_addresses:\n"
        "  mary-work:\n"
        "    address: mary at example.com\n"
        "    user: mary\n"
        "  john-again:\n"
        "    address: John.Doe@Example.COM\n"
        "    user: jdoe\n"
    ),
}


def _write(folder: Path, texts: dict[str, str]) -> list[tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text)
    return [(folder / name, name) for name in sorted(texts)]


def _fields(problems: list[Problem]) -> list[tuple[str, int, int, str]]:
    return [(p.file, p.line, p.column, p.message) for p in problems]


def _children() -> list[int]:
    """The pids of this process's children (zombies included), from /proc."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == me:
            found.append(int(entry))
    return found


def _no_reader_threads(within: float = 5) -> bool:
    """Whether the reader's drain thread ended (it reads until the child's end of the pipe
    closes), so that no thread outlives a test and later forks stay single-threaded."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(t.name == "cupiform-manifests" for t in threading.enumerate()):
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(autouse=True)
def _leaves_no_child() -> Iterator[None]:
    before = set(_children()) if LINUX else set()
    yield
    if LINUX:
        assert set(_children()) <= before
        assert _no_reader_threads()


def _in_child_only(
    fail: Callable[[], None], load: Callable[[], ManifestSet]
) -> Callable[[], ManifestSet]:
    """``load``, after ``fail()`` when it runs in another process than this one."""
    parent = os.getpid()

    def loader() -> ManifestSet:
        if os.getpid() != parent:
            fail()
        return load()

    return loader


class _Counted:
    """A load function that counts its calls in this process (the child's are its own)."""

    def __init__(self, files: list[tuple[Path, str]]) -> None:
        self.files = files
        self.calls = 0

    def __call__(self) -> ManifestSet:
        self.calls += 1
        return load_manifest_files(self.files)


# Reading


@fork_only
def test_offloaded_manifests_equal_those_read_here(tmp_path: Path) -> None:
    files = _write(tmp_path, VALID)
    expected = load_manifest_files(files)
    assert len(expected.resources) == 5
    load = _Counted(files)
    reader = ManifestReader(load, offload=True)
    try:
        assert reader.offloaded is True
        read = reader.result()
    finally:
        reader.close()
    assert load.calls == 0  # the child's answer, not this process's fallback
    assert read == expected
    assert read.files == ("a.yaml", "b.yaml", "c.yaml", "d.yaml")
    # field by field (named tuples compare as tuples: the types too)
    for got, want in zip(read.resources, expected.resources, strict=True):
        assert (got.kind, got.name, dict(got.attributes)) == (
            want.kind,
            want.name,
            dict(want.attributes),
        )
        assert got.owner == want.owner and type(got.owner) is type(want.owner)
        assert got.owner.source == want.owner.source
        assert type(got.owner.source) is type(want.owner.source)
        assert got.source == want.source and type(got.source) is type(want.source)
        assert got.address == want.address
    assert reader.result() == expected  # asked again: the same
    assert load.calls == 0


def test_manifests_not_offloaded_are_read_here(tmp_path: Path) -> None:
    files = _write(tmp_path, VALID)
    parent = os.getpid()
    pids: list[int] = []

    def load() -> ManifestSet:
        pids.append(os.getpid())
        return load_manifest_files(files)

    reader = ManifestReader(load, offload=False)
    assert reader.offloaded is False
    assert reader.result() == load_manifest_files(files)
    reader.close()
    assert pids == [parent]


@fork_only
def test_offloaded_refusal_is_the_same_refusal(tmp_path: Path) -> None:
    files = _write(tmp_path, REFUSED)
    with pytest.raises(ManifestError) as here:
        load_manifest_files(files)
    expected = _fields(here.value.problems)
    assert [f"{file}:{line}:{column}" for file, line, column, _ in expected] == [
        "a.yaml:8:5",
        "b.yaml:3:14",
        "b.yaml:6:14",
    ]
    load = _Counted(files)
    reader = ManifestReader(load, offload=True)
    try:
        assert reader.offloaded
        with pytest.raises(ManifestError) as first:
            reader.result()
        with pytest.raises(ManifestError) as second:
            reader.result()
    finally:
        reader.close()
    assert load.calls == 0  # the child's answer, not this process's fallback
    assert _fields(first.value.problems) == expected
    assert _fields(second.value.problems) == expected
    assert str(first.value) == str(second.value) == str(here.value)


def test_refusal_not_offloaded_is_the_same_refusal(tmp_path: Path) -> None:
    files = _write(tmp_path, REFUSED)
    with pytest.raises(ManifestError) as here:
        load_manifest_files(files)
    reader = ManifestReader(lambda: load_manifest_files(files), offload=False)
    assert not reader.offloaded
    with pytest.raises(ManifestError) as refused:
        reader.result()
    assert _fields(refused.value.problems) == _fields(here.value.problems)


# A child that fails


def _raise() -> None:
    raise RuntimeError("a bug in the child")


def _exit() -> None:
    os._exit(3)


def _killed() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _interrupted() -> None:
    raise KeyboardInterrupt


@fork_only
@pytest.mark.parametrize("fail", [_raise, _exit, _killed, _interrupted])
def test_a_failed_child_leaves_the_manifests_to_this_process(
    tmp_path: Path, fail: Callable[[], None]
) -> None:
    files = _write(tmp_path, VALID)
    expected = load_manifest_files(files)
    load = _Counted(files)
    reader = ManifestReader(_in_child_only(fail, load), offload=True)
    try:
        assert reader.offloaded
        assert reader.result() == expected
        assert reader.result() == expected
    finally:
        reader.close()
    assert load.calls == 1  # read here, once
    assert _children() == []
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


@fork_only
@pytest.mark.parametrize("fail", [_raise, _exit, _killed])
def test_a_failed_child_leaves_the_refusal_to_this_process(
    tmp_path: Path, fail: Callable[[], None]
) -> None:
    files = _write(tmp_path, REFUSED)
    with pytest.raises(ManifestError) as here:
        load_manifest_files(files)
    load = _Counted(files)
    reader = ManifestReader(_in_child_only(fail, load), offload=True)
    try:
        with pytest.raises(ManifestError) as refused:
            reader.result()
        with pytest.raises(ManifestError) as again:
            reader.result()
    finally:
        reader.close()
    assert load.calls == 1
    assert _fields(refused.value.problems) == _fields(here.value.problems)
    assert _fields(again.value.problems) == _fields(here.value.problems)
    assert _children() == []


@fork_only
def test_a_child_that_sends_nothing_is_not_believed(tmp_path: Path) -> None:
    """A child that exits 0 having sent something that is not a result (here: nothing)."""
    files = _write(tmp_path, VALID)
    reader = ManifestReader(
        _in_child_only(lambda: os._exit(0), lambda: load_manifest_files(files)), offload=True
    )
    try:
        assert reader.result() == load_manifest_files(files)
    finally:
        reader.close()
    assert _children() == []


# Stopping early


@fork_only
def test_close_ends_a_child_still_reading(tmp_path: Path) -> None:
    files = _write(tmp_path, VALID)
    reader = ManifestReader(
        _in_child_only(lambda: time.sleep(30), lambda: load_manifest_files(files)), offload=True
    )
    assert reader.offloaded
    time.sleep(0.1)  # the child is asleep
    assert len(_children()) == 1
    started = time.monotonic()
    reader.close()
    assert time.monotonic() - started < 2
    assert _children() == []
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    reader.close()  # twice: nothing more to do
    # asked after all, this process reads them
    assert reader.result() == load_manifest_files(files)


@fork_only
def test_close_after_the_result_has_nothing_to_end(tmp_path: Path) -> None:
    files = _write(tmp_path, VALID)
    reader = ManifestReader(lambda: load_manifest_files(files), offload=True)
    assert reader.result() == load_manifest_files(files)
    reader.close()
    assert _children() == []


# A parent that is killed while its child reads: the state lock ends with it (lock.py: "the
# kernel releases it when the holding process ends, however it ends"). A child forked while
# the lock is held would inherit the locked file description and keep the lock for as long
# as it reads; ``planned()`` forks before it takes the lock. Loaded by the ``cupiform``
# process (PYTHONPATH): the child names itself, then reads slowly.
_SLOW_CHILD = """
import os, time

_fork = os.fork


def _slow_fork():
    pid = _fork()
    if pid == 0:
        with open(os.environ["CUPIFORM_TEST_CHILD"], "w") as record:
            record.write(str(os.getpid()))
        time.sleep(10)
    return pid


os.fork = _slow_fork
"""


@fork_only
def test_a_killed_parent_leaves_no_lock_behind(tmp_path: Path) -> None:
    from cupiform.state.lock import hold_lock

    _large_project(tmp_path, broken=False)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_SLOW_CHILD)
    record = tmp_path / "child-pid"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CUPI")}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(hook), *filter(None, [environment.get("PYTHONPATH")])]
    )
    environment["CUPIFORM_TEST_CHILD"] = str(record)
    lock = tmp_path / "state" / "cupiform-state.json.lock"
    parent = subprocess.Popen(
        [sys.executable, "-m", "cupiform", "plan"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    child = 0
    try:
        deadline = time.monotonic() + 30
        # the child reads (slowly), and the parent holds the lock, waiting for it
        while not (record.exists() and record.read_text() and lock.exists()):
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        child = int(record.read_text())
        time.sleep(0.5)
        parent.kill()
        parent.wait()
        with hold_lock(lock, "state", "plan"):
            pass  # StateLockedError here: the orphan child kept the lock
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)  # the orphan, not ours to reap


# When to offload


def _sized(folder: Path, sizes: list[int]) -> list[tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number, size in enumerate(sizes):
        path = folder / f"m{number}.yaml"
        path.write_bytes(b"#" * (size - 1) + b"\n")
        files.append((path, path.name))
    return files


def test_small_manifests_are_read_here(tmp_path: Path) -> None:
    assert can_offload(_write(tmp_path, VALID)) is False
    assert can_offload(_sized(tmp_path / "under", [OFFLOAD_MIN_BYTES // 2, 1000])) is False
    assert can_offload([]) is False


@fork_only
def test_large_manifests_are_offloaded(tmp_path: Path) -> None:
    assert can_offload(_sized(tmp_path / "one", [OFFLOAD_MIN_BYTES])) is True
    half = OFFLOAD_MIN_BYTES // 2
    assert can_offload(_sized(tmp_path / "two", [half, OFFLOAD_MIN_BYTES - half])) is True
    assert can_offload(_sized(tmp_path / "short", [half, OFFLOAD_MIN_BYTES - half - 1])) is False


@fork_only
def test_no_offload_when_the_environment_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _sized(tmp_path, [OFFLOAD_MIN_BYTES * 2])
    monkeypatch.setenv("CUPIFORM_NO_OFFLOAD", "1")
    assert can_offload(files) is False
    monkeypatch.delenv("CUPIFORM_NO_OFFLOAD")
    assert can_offload(files) is True


def test_a_missing_file_is_read_here(tmp_path: Path) -> None:
    files = _sized(tmp_path, [OFFLOAD_MIN_BYTES * 2])
    assert can_offload([(tmp_path / "gone.yaml", "gone.yaml"), *files]) is False


# End to end

USERS = 7500
FILES = 3


def _address_entry(number: int) -> str:
    return (
        f"  user{number:05d}-work:\n"
        f"    address: first.last{number:05d}@example.com\n"
        f"    user: user{number:05d}\n"
    )


def _large_project(folder: Path, *, broken: bool) -> list[tuple[Path, str]]:
    """A project on the embedded emulator, with USERS users and an address for each, in
    FILES manifests; ``broken`` adds an address already declared in another file."""
    manifests = folder / "manifests"
    manifests.mkdir(parents=True)
    seed = {"users": [{"alias": f"user{n:05d}"} for n in range(USERS)]}
    (folder / "users.json").write_text(json.dumps(seed))
    (folder / "cupiform.yaml").write_text(
        "server:\n  url: embedded\n  seed: users.json\n"
        "state: state/cupiform-state.json\nmanifests:\n  - manifests/*.yaml\n"
    )
    per_file = USERS // FILES
    files = []
    for part in range(FILES):
        entries = [_address_entry(n) for n in range(part * per_file, (part + 1) * per_file)]
        if broken and part == FILES - 1:
            entries.append(
                "  stolen:\n    address: FIRST.LAST00042@example.com\n    user: user00043\n"
            )
        path = manifests / f"part{part}.yaml"
        path.write_text("smtp_proxy_addresses:\n" + "".join(entries))
        files.append((path, f"manifests/part{part}.yaml"))
    return files


# Loaded by the ``cupiform`` process (PYTHONPATH): records its forks and how the children
# ended, the observable sign that it read the manifests in a child and used their answer
# (``subprocess`` calls neither ``os.fork`` nor ``os.waitpid``).
_RECORD_FORKS = """
import os

_fork, _waitpid = os.fork, os.waitpid


def _record(line):
    with open(os.environ["CUPIFORM_TEST_FORKS"], "a") as record:
        record.write(line + "\\n")


def _recorded_fork():
    pid = _fork()
    if pid:
        _record("fork")
    return pid


def _recorded_waitpid(pid, options):
    answer = _waitpid(pid, options)
    _record(f"wait {answer[1]}")
    return answer


os.fork, os.waitpid = _recorded_fork, _recorded_waitpid
"""


def _plan(folder: Path, *, offload: bool) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """``cupiform plan --format json`` in ``folder``, and its forks and waits."""
    hook = folder / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(_RECORD_FORKS)
    forks = folder / ("forks-offloaded" if offload else "forks-here")
    forks.write_text("")
    # No CUPI* variable from outside: not a server URL override, not a stray NO_OFFLOAD.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CUPI")}
    pythonpath = [str(hook), *filter(None, [environment.get("PYTHONPATH")])]
    environment["PYTHONPATH"] = os.pathsep.join(pythonpath)
    environment["CUPIFORM_TEST_FORKS"] = str(forks)
    if not offload:
        environment["CUPIFORM_NO_OFFLOAD"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "cupiform", "plan", "--format", "json"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return result, forks.read_text().splitlines()


@fork_only
def test_a_large_plan_is_the_same_offloaded_or_not(tmp_path: Path) -> None:
    files = _large_project(tmp_path, broken=False)
    assert can_offload(files)  # so the first run reads them in a child
    offloaded, forked = _plan(tmp_path, offload=True)
    here, forked_here = _plan(tmp_path, offload=False)
    # one child, which exited 0 (its answer was used), and none when told not to
    assert (forked, forked_here) == (["fork", "wait 0"], [])
    assert offloaded.returncode == here.returncode == 0, offloaded.stderr + here.stderr
    assert offloaded.stdout == here.stdout
    document = json.loads(offloaded.stdout)
    actions = document["actions"]
    assert len(actions) == USERS
    assert {a["action"] for a in actions} == {"create"}
    assert actions[0]["source"] == "manifests/part0.yaml:2"


@fork_only
@pytest.mark.parametrize("manifests", ["refused", "valid"])
def test_a_corrupt_state_is_reported_the_same_offloaded_or_not(
    tmp_path: Path, manifests: str
) -> None:
    """Refused manifests are reported before a state that cannot be read, as when the two
    are read one after the other; with valid manifests, the state's error."""
    files = _large_project(tmp_path, broken=manifests == "refused")
    assert can_offload(files)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "cupiform-state.json").write_text("{not json\n")
    offloaded, forked = _plan(tmp_path, offload=True)
    here, _ = _plan(tmp_path, offload=False)
    assert forked == ["fork", "wait 0"]
    assert offloaded.returncode == here.returncode == 1
    assert offloaded.stdout == here.stdout == ""
    assert offloaded.stderr == here.stderr
    assert "Traceback" not in offloaded.stderr
    if manifests == "refused":
        assert "smtp_proxy_addresses.stolen.address" in offloaded.stderr
        assert "cupiform-state.json" not in offloaded.stderr
    else:
        assert "cupiform-state.json" in offloaded.stderr


@fork_only
def test_a_large_refusal_is_the_same_offloaded_or_not(tmp_path: Path) -> None:
    files = _large_project(tmp_path, broken=True)
    assert can_offload(files)
    offloaded, forked = _plan(tmp_path, offload=True)
    here, forked_here = _plan(tmp_path, offload=False)
    # one child, which exited 0 (its answer was used), and none when told not to
    assert (forked, forked_here) == (["fork", "wait 0"], [])
    assert offloaded.returncode == here.returncode == 1
    assert offloaded.stdout == here.stdout == ""
    assert offloaded.stderr == here.stderr
    line = 2 + 3 * (USERS // FILES)  # of "  stolen:", the last entry of part2.yaml
    assert (
        f"manifests/part2.yaml:{line + 1}:14: smtp_proxy_addresses.stolen.address: "
        "'FIRST.LAST00042@example.com' is already declared by "
        "smtp_proxy_address.user00042-work at manifests/part0.yaml:129:14"
    ) in offloaded.stderr
    assert "Traceback" not in offloaded.stderr


# The state, decoded by the child before the manifests


def _stored_state(path: Path, serial: int) -> State:
    state = State(
        "6b1f0b3e-7a53-4a8e-9d55-0d9c7f3c2e11",
        serial,
        "https://cuc.example.com:8443",
        {
            f"smtp_proxy_address.r{number}": StateEntry(
                f"00000000-0000-4000-8000-{number:012d}",
                {"ObjectGlobalUserObjectId": JDOE, "SmtpAddress": f"r{number}@example.com"},
            )
            for number in range(serial * 3)
        },
    )
    path.write_bytes(encode_state(state))
    return state


@contextlib.contextmanager
def _decoded_by_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FileStateBackend, ManifestReader, list[bytes]]]:
    """A file backend whose next read may take the state a child decoded, and what this
    process decoded itself (the child's own decoding is counted in the child only)."""
    decoded_here: list[bytes] = []

    def counted(data: bytes, location: str, schema: Any) -> State:
        decoded_here.append(data)
        return decode_state(data, location, schema)

    monkeypatch.setattr(backend_module, "decode_state", counted)
    files = _write(tmp_path, VALID)
    backend = FileStateBackend(tmp_path / "state.json", "state.json")
    reader = ManifestReader(
        lambda: load_manifest_files(files), offload=True, state=backend.decode_file
    )
    backend.decode_elsewhere(reader.state)
    try:
        yield backend, reader, decoded_here
    finally:
        reader.close()
    assert _children() == []


@fork_only
def test_the_state_the_child_decoded_is_taken_for_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = _stored_state(tmp_path / "state.json", serial=2)
    with _decoded_by_child(tmp_path, monkeypatch) as (backend, reader, decoded_here):
        assert backend.read() == stored
        assert decoded_here == []  # not decoded here: the child's was taken
        assert reader.result() == load_manifest_files(_write(tmp_path, VALID))


@fork_only
def test_a_state_changed_since_the_child_read_it_is_decoded_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stored_state(tmp_path / "state.json", serial=2)
    with _decoded_by_child(tmp_path, monkeypatch) as (backend, reader, decoded_here):
        assert reader.state() is not None  # the child has decoded the first
        newer = _stored_state(tmp_path / "state.json", serial=3)
        assert backend.read() == newer
        assert len(decoded_here) == 1


@fork_only
@pytest.mark.parametrize("text", ["{not json\n", '{"format_version": 99}\n', ""])
def test_a_state_the_child_could_not_use_is_refused_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    (tmp_path / "state.json").write_text(text)
    here = FileStateBackend(tmp_path / "state.json", "state.json")
    with pytest.raises(StateError) as expected:
        here.read()
    with _decoded_by_child(tmp_path, monkeypatch) as (backend, reader, decoded_here):
        assert reader.state() is None
        with pytest.raises(StateError) as refused:
            backend.read()
        assert str(refused.value) == str(expected.value)
        assert len(decoded_here) == 1


@fork_only
def test_no_state_file_is_no_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _decoded_by_child(tmp_path, monkeypatch) as (backend, reader, _):
        assert reader.state() is None
        assert backend.read() is None
