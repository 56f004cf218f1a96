"""End to end: ``cupiform import NAME ID_OR_ADDRESS`` against ``cupiform emulator serve``.

Each test starts its own emulator, seeded with two users and three addresses, and writes a
project in a temporary folder; every step is a real CLI run. Import binds in state only:
the server must see no write call.
"""

from __future__ import annotations

import json

import pytest

from cupiform.state.lock import hold_lock
from tests.e2e.conftest import JDOE, Project, ProjectFactory

MARY = "2b0c3d4e-0000-4000-8000-000000000002"
SEED = {
    "users": [{"alias": "jdoe", "object_id": JDOE}, {"alias": "mary", "object_id": MARY}],
    "smtp_proxy_addresses": [
        {"address": "john.doe@example.com", "user": "jdoe"},
        {"address": "old@example.com", "user": "jdoe"},
        {"address": "mary@example.com", "user": "mary"},
    ],
}
MANIFEST = {
    "jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"},
    "mary-work": {"address": "mary@example.com", "user_object_id": MARY},
}
STATE = "state/cupiform-state.json"


@pytest.fixture
def project(make_project: ProjectFactory) -> Project:
    """This module's project: its emulator holds SEED's two users and three addresses."""
    return make_project(seed=SEED)


def test_import_by_id_and_by_address_then_the_plan_is_empty(project: Project) -> None:
    project.write(MANIFEST, prune=None)
    live = project.live()
    project.reset_stats()

    by_id = project.ok("import", "jdoe-work", live["john.doe@example.com"])
    assert by_id.stdout == (
        f"Imported smtp_proxy_address.jdoe-work: object {live['john.doe@example.com']} "
        f"(john.doe@example.com, user 'jdoe' ({JDOE})).\n"
    )
    # By address, given in another case (the server compares without case), by full address.
    by_address = project.ok("import", "smtp_proxy_address.mary-work", "MARY@Example.com")
    assert by_address.stdout.startswith(
        f"Imported smtp_proxy_address.mary-work: object {live['mary@example.com']} "
    )
    assert "differs" not in by_address.stdout

    assert project.writes() == {}
    state = project.state()
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
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes." in plan.stdout


def test_an_object_that_differs_is_imported_and_the_next_plan_updates_it(
    project: Project,
) -> None:
    project.write({"jdoe-work": {"address": "new@example.com", "user": "jdoe"}}, prune=None)
    old = project.live()["old@example.com"]

    result = project.ok("import", "jdoe-work", "old@example.com")
    assert result.stdout == (
        f"Imported smtp_proxy_address.jdoe-work: object {old} (old@example.com, user 'jdoe' "
        f"({JDOE})).\nThe object differs from manifests/main.yaml:2: SmtpAddress is "
        "'old@example.com' on the server, 'new@example.com' in the manifest. The next plan "
        "will update it.\n"
    )
    plan = json.loads(project.ok("plan", "--format", "json").stdout)
    assert [(a["action"], a["address"], a["object_id"]) for a in plan["actions"]] == [
        ("update", "smtp_proxy_address.jdoe-work", old)
    ]


def test_an_owner_that_differs_is_named(project: Project) -> None:
    project.write({"mary-work": {"address": "mary@example.com", "user": "jdoe"}}, prune=None)
    result = project.ok("import", "mary-work", "mary@example.com")
    assert (
        f"the owner is user 'mary' ({MARY}) on the server, user 'jdoe' ({JDOE}) in the "
        "manifest. The next plan will update it." in result.stdout
    )


def test_refusals_name_the_reason_and_leave_the_state_alone(project: Project) -> None:
    project.write(MANIFEST, prune=None)
    live = project.live()
    missing = "00000000-0000-4000-8000-000000000000"
    assert project.refused("import", "nobody", live["old@example.com"]) == (
        "cupiform: error: no resource named 'nobody' in the manifests"
    )
    assert project.refused("import", "smtp_proxy_address.nobody", missing) == (
        "cupiform: error: no resource smtp_proxy_address.nobody in the manifests"
    )
    assert project.refused("import", "jdoe-work", missing) == (
        f"cupiform: error: no smtp_proxy_address with ObjectId {missing} on the server "
        "(give an existing object's ObjectId or SMTP address)"
    )
    assert project.refused("import", "jdoe-work", "nobody@example.com") == (
        "cupiform: error: no smtp_proxy_address with SmtpAddress nobody@example.com on the server"
    )
    assert not (project.directory / STATE).exists()

    project.ok("import", "jdoe-work", "john.doe@example.com")
    before = (project.directory / STATE).read_bytes()
    # The resource is bound already.
    assert project.refused("import", "jdoe-work", "old@example.com") == (
        f"cupiform: error: smtp_proxy_address.jdoe-work is already bound to object "
        f"{live['john.doe@example.com']} in the state {STATE}; to bind it to another object, "
        "first run: cupiform state rm smtp_proxy_address.jdoe-work"
    )
    # The object is bound already, to another resource.
    assert project.refused("import", "mary-work", live["john.doe@example.com"]) == (
        f"cupiform: error: object {live['john.doe@example.com']} (john.doe@example.com) is "
        f"already bound to smtp_proxy_address.jdoe-work in the state {STATE}; an object is "
        "bound to one resource at most (cupiform state rm smtp_proxy_address.jdoe-work "
        "releases it)"
    )
    # Another process holds the state's lock.
    lock = project.directory / (STATE + ".lock")
    with hold_lock(lock, STATE, "apply"):
        message = project.refused("import", "mary-work", "mary@example.com")
    assert message.startswith(f"cupiform: error: the state {STATE} is locked by ")
    assert "running 'apply'" in message
    assert (project.directory / STATE).read_bytes() == before
