"""End to end: ``cupiform import NAME ID_OR_ADDRESS`` against ``cupiform emulator serve``.

Each test starts its own emulator, seeded with two users and three addresses, and writes a
project in a temporary folder; every step is a real CLI run. Import binds in state only:
the server must see no write call.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cupiform.state.lock import hold_lock
from tests.processes import Served, emulator_process, run_cli

JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
MARY = "2b0c3d4e-0000-4000-8000-000000000002"
SEED = {
    "users": [{"alias": "jdoe", "object_id": JDOE}, {"alias": "mary", "object_id": MARY}],
    "smtp_proxy_addresses": [
        {"address": "john.doe@example.com", "user": "jdoe"},
        {"address": "old@example.com", "user": "jdoe"},
        {"address": "mary@example.com", "user": "mary"},
    ],
}
CREDENTIALS = {"CUPI_USERNAME": "admin", "CUPI_PASSWORD": "admin"}
MANIFEST = {
    "jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"},
    "mary-work": {"address": "mary@example.com", "user_object_id": MARY},
}
STATE = "state/cupiform-state.json"


@dataclass
class Workspace:
    directory: Path
    served: Served

    def write(self, resources: dict[str, dict[str, str]]) -> None:
        config = {
            "server": {"url": self.served.url, "format": "json", "timeout": 10},
            "manifests": ["manifests/*.yaml"],
        }
        (self.directory / "cupiform.yaml").write_text(yaml.safe_dump(config))
        (self.directory / "manifests").mkdir(exist_ok=True)
        (self.directory / "manifests" / "main.yaml").write_text(
            yaml.safe_dump({"smtp_proxy_addresses": resources}, sort_keys=False)
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=self.directory, env=CREDENTIALS)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.cli(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def refused(self, *args: str) -> str:
        """The one-line error of a command that must fail with exit 1 and print nothing."""
        result = self.cli(*args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        return result.stderr.strip()

    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.directory / STATE).read_text())
        return loaded

    def server(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.served.url,
            auth=("admin", "admin"),
            headers={"Accept": "application/json"},
        )

    def live(self) -> dict[str, str]:
        """SmtpAddress -> ObjectId of every address on the server."""
        with self.server() as client:
            items = client.get("/vmrest/smtpproxyaddresses").json().get("SmtpProxyAddress", [])
        items = [items] if isinstance(items, dict) else items
        return {item["SmtpAddress"]: item["ObjectId"] for item in items}

    def reset_stats(self) -> None:
        with self.server() as client:
            client.post("/emulator/stats").raise_for_status()

    def writes(self) -> dict[str, int]:
        """Answers of write calls (201 created, 204 updated or deleted) since the reset."""
        with self.server() as client:
            by_status: dict[str, int] = client.get("/emulator/stats").json()["by_status"]
        return {status: n for status, n in by_status.items() if status in ("201", "204")}


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(SEED))
    folder = tmp_path / "project"
    folder.mkdir()
    with emulator_process("--seed", str(seed)) as served:
        yield Workspace(folder, served)


def test_import_by_id_and_by_address_then_the_plan_is_empty(workspace: Workspace) -> None:
    workspace.write(MANIFEST)
    live = workspace.live()
    workspace.reset_stats()

    by_id = workspace.ok("import", "jdoe-work", live["john.doe@example.com"])
    assert by_id.stdout == (
        f"Imported smtp_proxy_address.jdoe-work: object {live['john.doe@example.com']} "
        f"(john.doe@example.com, user 'jdoe' ({JDOE})).\n"
    )
    # By address, given in another case (the server compares without case), by full address.
    by_address = workspace.ok("import", "smtp_proxy_address.mary-work", "MARY@Example.com")
    assert by_address.stdout.startswith(
        f"Imported smtp_proxy_address.mary-work: object {live['mary@example.com']} "
    )
    assert "differs" not in by_address.stdout

    assert workspace.writes() == {}
    state = workspace.state()
    assert state["serial"] == 2
    assert state["resources"] == {
        "smtp_proxy_address.jdoe-work": {
            "object_id": live["john.doe@example.com"],
            "attributes": {"SmtpAddress": "john.doe@example.com", "ObjectGlobalUserObjectId": JDOE},
        },
        "smtp_proxy_address.mary-work": {
            "object_id": live["mary@example.com"],
            "attributes": {"SmtpAddress": "mary@example.com", "ObjectGlobalUserObjectId": MARY},
        },
    }
    plan = workspace.cli("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout


def test_an_object_that_differs_is_imported_and_the_next_plan_updates_it(
    workspace: Workspace,
) -> None:
    workspace.write({"jdoe-work": {"address": "new@example.com", "user": "jdoe"}})
    old = workspace.live()["old@example.com"]

    result = workspace.ok("import", "jdoe-work", "old@example.com")
    assert result.stdout == (
        f"Imported smtp_proxy_address.jdoe-work: object {old} (old@example.com, user 'jdoe' "
        f"({JDOE})).\nThe object differs from manifests/main.yaml:2: SmtpAddress is "
        "'old@example.com' on the server, 'new@example.com' in the manifest. The next plan "
        "will update it.\n"
    )
    plan = json.loads(workspace.ok("plan", "--format", "json").stdout)
    assert [(a["action"], a["address"], a["object_id"]) for a in plan["actions"]] == [
        ("update", "smtp_proxy_address.jdoe-work", old)
    ]


def test_an_owner_that_differs_is_named(workspace: Workspace) -> None:
    workspace.write({"mary-work": {"address": "mary@example.com", "user": "jdoe"}})
    result = workspace.ok("import", "mary-work", "mary@example.com")
    assert (
        f"the owner is user 'mary' ({MARY}) on the server, user 'jdoe' ({JDOE}) in the "
        "manifest. The next plan will update it." in result.stdout
    )


def test_refusals_name_the_reason_and_leave_the_state_alone(workspace: Workspace) -> None:
    workspace.write(MANIFEST)
    live = workspace.live()
    missing = "00000000-0000-4000-8000-000000000000"
    assert workspace.refused("import", "nobody", live["old@example.com"]) == (
        "cupiform: error: no resource named 'nobody' in the manifests"
    )
    assert workspace.refused("import", "smtp_proxy_address.nobody", missing) == (
        "cupiform: error: no resource smtp_proxy_address.nobody in the manifests"
    )
    assert workspace.refused("import", "jdoe-work", missing) == (
        f"cupiform: error: no smtp_proxy_address with ObjectId {missing} on the server "
        "(give an existing object's ObjectId or SMTP address)"
    )
    assert workspace.refused("import", "jdoe-work", "nobody@example.com") == (
        "cupiform: error: no smtp_proxy_address with SmtpAddress nobody@example.com on the server"
    )
    assert not (workspace.directory / STATE).exists()

    workspace.ok("import", "jdoe-work", "john.doe@example.com")
    before = (workspace.directory / STATE).read_bytes()
    # The resource is bound already.
    assert workspace.refused("import", "jdoe-work", "old@example.com") == (
        f"cupiform: error: smtp_proxy_address.jdoe-work is already bound to object "
        f"{live['john.doe@example.com']} in the state {STATE}; to bind it to another object, "
        "first run: cupiform state rm smtp_proxy_address.jdoe-work"
    )
    # The object is bound already, to another resource.
    assert workspace.refused("import", "mary-work", live["john.doe@example.com"]) == (
        f"cupiform: error: object {live['john.doe@example.com']} (john.doe@example.com) is "
        f"already bound to smtp_proxy_address.jdoe-work in the state {STATE}; an object is "
        "bound to one resource at most (cupiform state rm smtp_proxy_address.jdoe-work "
        "releases it)"
    )
    # Another process holds the state's lock.
    lock = workspace.directory / (STATE + ".lock")
    with hold_lock(lock, STATE, "apply"):
        message = workspace.refused("import", "mary-work", "mary@example.com")
    assert message.startswith(f"cupiform: error: the state {STATE} is locked by ")
    assert "running 'apply'" in message
    assert (workspace.directory / STATE).read_bytes() == before
