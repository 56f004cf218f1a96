"""``cupiform validate`` and ``cupiform state ...`` as a user runs them: exit codes, stdout,
stderr."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cupiform.cli import main
from cupiform.state import FileStateBackend, State, StateEntry

FIXTURES = Path(__file__).parent / "fixtures"
SERVER = "https://cuc-pub.example.com:8443"
JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the valid project; the CLI's chdir is undone after the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CUPIFORM_SERVER_URL", raising=False)
    copy = tmp_path / "project"
    shutil.copytree(FIXTURES / "projects" / "valid", copy)
    return copy


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_prints_a_summary(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "-C", str(project), "validate") == (
        0,
        "4 resources in 3 files: valid\n",
        "",
    )


def test_validate_in_the_current_directory(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "manifests")
    assert run(capsys, "validate")[0] == 1
    monkeypatch.chdir(project)
    assert run(capsys, "validate")[:2] == (0, "4 resources in 3 files: valid\n")


def test_validate_prints_every_error_sorted_and_exits_1(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "manifests" / "zz.yaml").write_text(
        "smtp_proxy_addresses:\n  jdoe-work:\n    adress: x@example.com\n    user: jdoe\n"
    )
    (project / "manifests" / "aa.yaml").write_text(
        "smtp_proxy_addresses:\n  info:\n    address: INFO@example.com\n    user: x\n"
    )
    code, out, err = run(capsys, "-C", str(project), "validate")
    assert (code, out) == (1, "")
    assert err == (
        "cupiform: error: 4 errors:\n"
        "  manifests/team/sales.yaml:3:14: smtp_proxy_addresses.sales-info.address: "
        "'info@example.com' is already declared by smtp_proxy_address.info at "
        "manifests/aa.yaml:3:14\n"
        "  manifests/zz.yaml:2:3: smtp_proxy_addresses.jdoe-work: missing required key 'address'\n"
        "  manifests/zz.yaml:2:3: smtp_proxy_addresses: 'jdoe-work' is already declared at "
        "manifests/jdoe.yaml:3:3\n"
        "  manifests/zz.yaml:3:5: unknown key 'adress' (did you mean 'address'?)\n"
    )


def test_validate_refuses_a_bad_project_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "cupiform.yaml").write_text("server:\n  url: embedded\n  verfy: false\n")
    assert run(capsys, "-C", str(project), "validate") == (
        1,
        "",
        "cupiform: error: 1 error:\n  cupiform.yaml:3:3: unknown key 'verfy' "
        "(did you mean 'verify'?)\n",
    )


def test_validate_without_a_project_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "validate")
    assert (code, out) == (1, "")
    assert err.startswith("cupiform: error: no cupiform.yaml in ")
    assert "Traceback" not in err


def write_state(project: Path, server: str = SERVER) -> FileStateBackend:
    store = FileStateBackend(project / "state" / "cupiform-state.json", "state")
    state = State.new(server)
    for name, address in (("jdoe-work", "john.doe@example.com"), ("sales-info", "info@x.com")):
        entry = StateEntry(f"id-{name}", {"SmtpAddress": address, "ObjectGlobalUserObjectId": JDOE})
        state = state.with_entry(f"smtp_proxy_address.{name}", entry)
    store.write(state)
    return store


def test_state_list_and_show(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "-C", str(project), "state", "list") == (0, "", "")
    write_state(project)
    assert run(capsys, "-C", str(project), "state", "list") == (
        0,
        "smtp_proxy_address.jdoe-work\nsmtp_proxy_address.sales-info\n",
        "",
    )
    code, out, err = run(capsys, "-C", str(project), "state", "show", "jdoe-work")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "address": "smtp_proxy_address.jdoe-work",
        "object_id": "id-jdoe-work",
        "attributes": {"SmtpAddress": "john.doe@example.com", "ObjectGlobalUserObjectId": JDOE},
    }
    full = run(capsys, "-C", str(project), "state", "show", "smtp_proxy_address.jdoe-work")
    assert full == (0, out, "")
    assert run(capsys, "-C", str(project), "state", "show", "nobody") == (
        1,
        "",
        "cupiform: error: no resource named 'nobody' in state/cupiform-state.json\n",
    )


def test_state_rm_forgets_by_name_or_address(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = write_state(project)
    code, out, err = run(
        capsys, "-C", str(project), "state", "rm", "jdoe-work", "smtp_proxy_address.sales-info"
    )
    assert (code, err) == (0, "")
    assert out == (
        "Removed smtp_proxy_address.jdoe-work (object id-jdoe-work) from the state; the object "
        "stays on the server.\n"
        "Removed smtp_proxy_address.sales-info (object id-sales-info) from the state; the "
        "object stays on the server.\n"
    )
    state = store.read()
    assert state is not None and (state.serial, dict(state.resources)) == (2, {})
    assert json.loads(store.backup_path.read_text())["serial"] == 1


def test_state_rm_is_all_or_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = write_state(project)
    before = store.path.read_bytes()
    assert run(capsys, "-C", str(project), "state", "rm", "jdoe-work", "nobody") == (
        1,
        "",
        "cupiform: error: no resource named 'nobody' in state/cupiform-state.json\n",
    )
    assert store.path.read_bytes() == before


def test_state_commands_refuse_another_servers_state(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_state(project)
    monkeypatch.setenv("CUPIFORM_SERVER_URL", "https://cuc-sub.example.com")
    code, out, err = run(capsys, "-C", str(project), "state", "list")
    assert (code, out) == (1, "")
    assert err.startswith(
        f"cupiform: error: the state state/cupiform-state.json belongs to server '{SERVER}', "
        "not to 'https://cuc-sub.example.com'"
    )


def test_state_unlock(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = write_state(project)
    assert run(capsys, "-C", str(project), "state", "unlock") == (
        0,
        "The state state/cupiform-state.json is not locked.\n",
        "",
    )
    store.lock_path.write_text(
        '{"host": "ci-7", "operation": "apply", "pid": 999999, '
        '"since": "2024-05-01T10:00:00+00:00", "user": "jenkins"}\n'
    )
    assert run(capsys, "-C", str(project), "state", "unlock") == (
        0,
        "Cleared the lock left by jenkins@ci-7 (pid 999999), running 'apply' since "
        "2024-05-01T10:00:00+00:00.\n",
        "",
    )
    with store.lock("apply"):
        code, out, err = run(capsys, "-C", str(project), "state", "unlock")
    assert (code, out) == (1, "")
    assert err.startswith("cupiform: error: not unlocked: the state state/cupiform-state.json is")
