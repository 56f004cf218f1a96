"""The state file: its exact form, versions and backups, and every refusal that keeps a bad
or foreign state file untouched."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cupiform.errors import StateCorruptError, StateError, StateLockedError, StateMismatchError
from cupiform.state import FileStateBackend, State, StateEntry, load_state
from cupiform.state.document import encode_state

SERVER = "https://cuc-pub.example.com:8443"
JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
LINEAGE = "6f1c1e1a-3a57-4d39-9d0f-0b8c2a6c7e11"


def entry(address: str, object_id: str = "3d71d2ed-5baf-48c4-bf25-875bca56e30e") -> StateEntry:
    return StateEntry(object_id, {"SmtpAddress": address, "ObjectGlobalUserObjectId": JDOE})


def backend(tmp_path: Path) -> FileStateBackend:
    return FileStateBackend(tmp_path / "state" / "cupiform-state.json", "state/cupiform-state.json")


def test_the_file_format_is_exact() -> None:
    state = State(
        lineage=LINEAGE,
        serial=3,
        server=SERVER,
        resources={
            "smtp_proxy_address.jdoe-work": entry("john.doe@example.com"),
            "smtp_proxy_address.jdoe-legacy": entry("jd@old.example.com", "062fc8cc"),
        },
    )
    assert encode_state(state).decode() == (
        "{\n"
        '  "format_version": 1,\n'
        f'  "lineage": "{LINEAGE}",\n'
        '  "resources": {\n'
        '    "smtp_proxy_address.jdoe-legacy": {"attributes": {"ObjectGlobalUserObjectId": '
        f'"{JDOE}", "SmtpAddress": "jd@old.example.com"}}, "object_id": "062fc8cc"}},\n'
        '    "smtp_proxy_address.jdoe-work": {"attributes": {"ObjectGlobalUserObjectId": '
        f'"{JDOE}", "SmtpAddress": "john.doe@example.com"}}, "object_id": '
        '"3d71d2ed-5baf-48c4-bf25-875bca56e30e"}\n'
        "  },\n"
        '  "serial": 3,\n'
        f'  "server": "{SERVER}"\n'
        "}\n"
    )
    empty = encode_state(State(LINEAGE, 1, SERVER)).decode()
    assert '  "resources": {},\n' in empty


def test_keys_are_sorted_at_every_level(tmp_path: Path) -> None:
    store = backend(tmp_path)
    store.write(State.new(SERVER).with_entry("smtp_proxy_address.b", entry("b@example.com")))
    text = store.path.read_text()
    document = json.loads(text)
    assert json.dumps(document, sort_keys=True) == json.dumps(json.loads(text))
    assert text.endswith("}\n") and not text.endswith("\n\n")


def test_writes_are_mode_0600_count_serials_keep_lineage_and_a_backup(tmp_path: Path) -> None:
    store = backend(tmp_path)
    assert store.read() is None
    first = store.write(State.new(SERVER).with_entry("smtp_proxy_address.a", entry("a@x.com")))
    assert first.serial == 1
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert not store.backup_path.exists()
    second = store.write(first.without("smtp_proxy_address.a"))
    assert (second.serial, second.lineage) == (2, first.lineage)
    assert json.loads(store.backup_path.read_text())["serial"] == 1
    assert stat.S_IMODE(os.stat(store.backup_path).st_mode) == 0o600
    reread = backend(tmp_path).read()
    assert reread == second
    assert [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_missing_state_is_a_new_empty_one_of_this_server(tmp_path: Path) -> None:
    state = load_state(backend(tmp_path), SERVER)
    assert (state.serial, state.server, dict(state.resources)) == (0, SERVER, {})
    assert len(state.lineage) == 36


def test_with_entry_and_without_leave_the_original_alone() -> None:
    state = State(LINEAGE, 1, SERVER, {"smtp_proxy_address.a": entry("a@x.com")})
    more = state.with_entry("smtp_proxy_address.b", entry("b@x.com"))
    assert sorted(more.resources) == ["smtp_proxy_address.a", "smtp_proxy_address.b"]
    assert sorted(state.resources) == ["smtp_proxy_address.a"]
    assert more.without("smtp_proxy_address.a", "smtp_proxy_address.zz").resources == {
        "smtp_proxy_address.b": entry("b@x.com")
    }


def _write_raw(tmp_path: Path, text: str) -> FileStateBackend:
    store = backend(tmp_path)
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(text)
    return store


VALID = encode_state(
    State(LINEAGE, 4, SERVER, {"smtp_proxy_address.a": entry("a@example.com")})
).decode()
UNTOUCHED = "it is left as it is; repair it, or restore the .backup beside it"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (
            '{"format_version": 1,\n  "lineage": ',
            StateCorruptError,
            "state/cupiform-state.json is not a state file: Expecting value at line 2 column 14; "
            + UNTOUCHED,
        ),
        (
            VALID.replace('"serial": 4', '"serial": 4, "serial": 5'),
            StateCorruptError,
            "state/cupiform-state.json is not a valid state file: the key 'serial' appears "
            f"twice in one object; {UNTOUCHED}",
        ),
        (
            VALID.replace('"format_version": 1', '"format_version": 2'),
            StateMismatchError,
            "state/cupiform-state.json has format_version 2, written by a newer cupiform; this "
            "one reads format_version 1: upgrade cupiform to use it",
        ),
        (
            VALID.replace('"serial": 4', '"serial": "4"').replace(
                '"object_id": "3d71', '"objectid": "3d71'
            ),
            StateCorruptError,
            f"state/cupiform-state.json does not follow the state file format; {UNTOUCHED}:\n"
            "  resources.smtp_proxy_address.a: missing required key 'object_id'\n"
            "  serial: expected a whole number, got the text '4'",
        ),
        (
            VALID.replace("smtp_proxy_address.a", "smtp_proxy_adress.a"),
            StateCorruptError,
            f"state/cupiform-state.json does not follow the state file format; {UNTOUCHED}:\n"
            "  resources: unknown key 'smtp_proxy_adress.a'",
        ),
        (
            # JSON Schema's "$" ends the text (Python's also matches before a final "\n")
            VALID.replace('"object_id": "3d71', '"object_id": "\\n3d71').replace(
                'smtp_proxy_address.a"', 'smtp_proxy_address.a\\n"'
            ),
            StateCorruptError,
            f"state/cupiform-state.json does not follow the state file format; {UNTOUCHED}:\n"
            "  resources: unknown key 'smtp_proxy_address.a\\n'",
        ),
        (
            "[]\n",
            StateCorruptError,
            f"state/cupiform-state.json does not follow the state file format; {UNTOUCHED}:\n"
            "  expected a mapping, got a list",
        ),
    ],
)
def test_a_bad_state_file_is_refused_and_never_overwritten(
    tmp_path: Path, text: str, error: type[StateError], message: str
) -> None:
    store = _write_raw(tmp_path, text)
    with pytest.raises(error) as refused:
        load_state(store, SERVER)
    assert str(refused.value) == message
    with pytest.raises(error):
        store.write(State.new(SERVER))
    assert store.path.read_text() == text


def test_another_servers_state_is_refused_and_never_overwritten(tmp_path: Path) -> None:
    store = _write_raw(tmp_path, VALID)
    with pytest.raises(StateMismatchError) as refused:
        load_state(store, "https://cuc-sub.example.com:8443")
    assert str(refused.value) == (
        f"the state state/cupiform-state.json belongs to server '{SERVER}', not to "
        "'https://cuc-sub.example.com:8443' (server.url, or CUPIFORM_SERVER_URL); it is left "
        "as it is: point state: at another file for this server"
    )
    # compared verbatim: a trailing slash is another server
    with pytest.raises(StateMismatchError):
        load_state(backend(tmp_path), SERVER + "/")
    assert store.path.read_text() == VALID


def test_a_state_changed_on_disk_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    store = _write_raw(tmp_path, VALID)
    state = load_state(store, SERVER)
    edited = VALID.replace("a@example.com", "edited-by-hand@example.com")
    store.path.write_text(edited)
    os.utime(store.path, ns=(1, 1))  # a different mtime even on coarse clocks
    with pytest.raises(StateError) as refused:
        store.write(state)
    assert "changed on disk since cupiform read it; not overwritten" in str(refused.value)
    assert store.path.read_text() == edited


def test_a_file_that_appears_after_a_read_of_nothing_is_not_overwritten(tmp_path: Path) -> None:
    store = backend(tmp_path)
    state = load_state(store, SERVER)
    _write_raw(tmp_path, VALID)
    with pytest.raises(StateError):
        store.write(state)
    assert store.path.read_text() == VALID


def test_a_state_of_another_lineage_or_serial_is_not_written(tmp_path: Path) -> None:
    store = _write_raw(tmp_path, VALID)
    load_state(store, SERVER)
    with pytest.raises(StateMismatchError) as refused:
        store.write(State(LINEAGE, 3, SERVER))
    assert str(refused.value) == (
        f"the state state/cupiform-state.json on disk is lineage {LINEAGE} serial 4, not "
        f"lineage {LINEAGE} serial 3 as the update assumes; not overwritten"
    )
    assert store.path.read_text() == VALID


def test_the_lock_names_its_holder_and_is_released(tmp_path: Path) -> None:
    store = backend(tmp_path)
    with store.lock("apply") as info:
        assert (info.pid, info.operation) == (os.getpid(), "apply")
        held = json.loads(store.lock_path.read_text())
        assert held["pid"] == os.getpid() and held["operation"] == "apply"
        with pytest.raises(StateLockedError) as refused, backend(tmp_path).lock("plan"):
            pass
        assert str(refused.value) == (
            f"the state state/cupiform-state.json is locked by {info.describe()}; wait for it "
            "to finish (the lock goes when that process ends)"
        )
        assert f"(pid {os.getpid()}), running 'apply' since " in info.describe()
        with pytest.raises(StateLockedError) as not_cleared:
            store.clear_stale_lock()
        assert str(not_cleared.value) == (
            f"not unlocked: the state state/cupiform-state.json is locked by "
            f"{info.describe()}, which is still running; wait for it to finish"
        )
    assert store.lock_path.read_text() == ""
    with store.lock("apply"):
        pass
    assert store.clear_stale_lock() is None


def test_encoding_with_the_line_cache_gives_the_same_bytes() -> None:
    from cupiform.state.document import EncodedLines, State, StateEntry, encode_state

    state = State.new("https://cuc.example.com:8443")
    cache: EncodedLines = {}
    for i in range(5):
        entry = StateEntry(f"id-{i}", {"SmtpAddress": f"a{i}@example.com"})
        state = state.with_entry(f"smtp_proxy_address.r{i}", entry)
        assert encode_state(state, cache) == encode_state(state)
    state = state.with_entry("smtp_proxy_address.r2", StateEntry("id-2", {"SmtpAddress": "x@y.z"}))
    state = state.without("smtp_proxy_address.r0")
    assert encode_state(state, cache) == encode_state(state)
    assert set(cache) == set(state.resources)
    assert b"x@y.z" in encode_state(state, cache)
