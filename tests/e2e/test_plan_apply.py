"""End to end: the ``cupiform`` command against ``cupiform emulator serve`` over HTTP.

Each test starts its own emulator (seeded with three users) and writes a project in a
temporary folder; every step is a real CLI run, as a user would type it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import JDOE, Project


def _ids(state: dict[str, Any]) -> dict[str, str]:
    return {address: entry["object_id"] for address, entry in state["resources"].items()}


@pytest.mark.parametrize("wire", ["json", "xml"])
def test_plan_in_every_format_then_apply_then_nothing(project: Project, wire: str) -> None:
    project.write(
        {
            "jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"},
            "jdoe-legacy": {"address": "jd@old.example.com", "user_object_id": JDOE},
        },
        wire=wire,
    )
    text = project.cli("plan", "--detailed-exitcode")
    assert text.returncode == 2, text.stderr
    assert "+ smtp_proxy_address.jdoe-work  (manifests/main.yaml:2)" in text.stdout
    assert '+ SmtpAddress              = "john.doe@example.com"' in text.stdout
    assert text.stdout.rstrip().endswith("Plan: 2 to create.")
    markdown = project.ok("plan", "--format", "markdown").stdout
    assert markdown.startswith("## cupiform plan")
    assert "| + create | 2 |" in markdown
    document = project.plan_json()
    assert [a["action"] for a in document["actions"]] == ["create", "create"]
    assert document["actions"][1]["source"] == "manifests/main.yaml:2"
    assert document["summary"]["changes"] is True

    applied = project.ok("apply", "--auto-approve")
    assert "Apply finished: 2 done of 2 actions." in applied.stdout
    state = project.state()
    assert _ids(state) == {
        "smtp_proxy_address.jdoe-legacy": project.live()["jd@old.example.com"],
        "smtp_proxy_address.jdoe-work": project.live()["john.doe@example.com"],
    }
    again = project.cli("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def test_rename_keeps_the_object_and_address_change_updates_in_place(project: Project) -> None:
    project.write({"jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"}})
    project.ok("apply", "--auto-approve")
    before = _ids(project.state())["smtp_proxy_address.jdoe-work"]
    project.write({"john": {"address": "john.doe@example.com", "user": "jdoe"}})
    document = project.plan_json()
    assert [(a["action"], a["address"]) for a in document["actions"]] == [
        ("move", "smtp_proxy_address.john")
    ]
    project.ok("apply", "--auto-approve")
    assert _ids(project.state()) == {"smtp_proxy_address.john": before}
    project.write({"john": {"address": "johnny@example.com", "user": "jdoe"}})
    project.ok("apply", "--auto-approve")
    assert project.live() == {"johnny@example.com": before}


def test_swap_of_two_addresses_between_two_users(project: Project) -> None:
    project.write(
        {
            "jdoe-a": {"address": "a@example.com", "user": "jdoe"},
            "mary-b": {"address": "b@example.com", "user": "mary"},
        }
    )
    project.ok("apply", "--auto-approve")
    ids = _ids(project.state())
    project.write(
        {
            "jdoe-a": {"address": "b@example.com", "user": "jdoe"},
            "mary-b": {"address": "a@example.com", "user": "mary"},
        }
    )
    document = project.plan_json()
    assert [a["key"] for a in document["actions"]] == [
        "smtp_proxy_address.jdoe-a#tmp",
        "smtp_proxy_address.mary-b",
        "smtp_proxy_address.jdoe-a",
    ]
    # Saved, reviewed, then carried out: the check before the first call must accept the
    # split update, whose second step starts from the temporary address.
    project.ok("plan", "--out", "swap.plan")
    applied = project.ok("apply", "--auto-approve", "--parallelism", "8", "swap.plan")
    assert "3 done of 3 actions" in applied.stdout
    assert project.live() == {
        "b@example.com": ids["smtp_proxy_address.jdoe-a"],
        "a@example.com": ids["smtp_proxy_address.mary-b"],
    }
    assert project.cli("plan", "--detailed-exitcode").returncode == 0


def test_drift_is_shown_reverted_and_deleted_objects_come_back(project: Project) -> None:
    project.write(
        {
            "jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"},
            "mary-work": {"address": "mary@example.com", "user": "mary"},
        }
    )
    project.ok("apply", "--auto-approve")
    ids = _ids(project.state())
    with project.server() as client:
        client.put(
            f"/vmrest/smtpproxyaddresses/{ids['smtp_proxy_address.jdoe-work']}",
            json={"SmtpAddress": "hacked@example.com"},
        )
        client.delete(f"/vmrest/smtpproxyaddresses/{ids['smtp_proxy_address.mary-work']}")
    drift = project.cli("plan", "--refresh-only", "--detailed-exitcode")
    assert drift.returncode == 2
    assert "was changed outside cupiform" in drift.stdout
    assert '~ SmtpAddress = "john.doe@example.com" -> "hacked@example.com"' in drift.stdout
    assert "smtp_proxy_address.mary-work was deleted outside cupiform" in drift.stdout
    document = project.plan_json()
    assert {d["address"]: d["drift"] for d in document["drift"]} == {
        "smtp_proxy_address.jdoe-work": "changed",
        "smtp_proxy_address.mary-work": "deleted",
    }
    assert sorted(a["action"] for a in document["actions"]) == ["create", "update"]
    project.ok("apply", "--auto-approve")
    live = project.live()
    assert live["john.doe@example.com"] == ids["smtp_proxy_address.jdoe-work"]
    assert "mary@example.com" in live
    assert project.cli("plan", "--detailed-exitcode").returncode == 0


def test_apply_refresh_only_records_live_values_and_calls_nothing(project: Project) -> None:
    project.write({"jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"}})
    project.ok("apply", "--auto-approve")
    object_id = _ids(project.state())["smtp_proxy_address.jdoe-work"]
    with project.server() as client:
        client.put(
            f"/vmrest/smtpproxyaddresses/{object_id}", json={"SmtpAddress": "changed@example.com"}
        )
    project.ok("apply", "--refresh-only", "--auto-approve")
    entry = project.state()["resources"]["smtp_proxy_address.jdoe-work"]
    assert entry["attributes"]["SmtpAddress"] == "changed@example.com"
    assert project.live() == {"changed@example.com": object_id}  # nothing reverted


def test_unmanaged_listed_then_pruned(project: Project) -> None:
    with project.server() as client:
        client.post(
            "/vmrest/smtpproxyaddresses",
            json={"SmtpAddress": "stray@example.com", "ObjectGlobalUserObjectId": JDOE},
        )
    project.write({"jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"}})
    document = project.plan_json()
    assert [u["attributes"]["SmtpAddress"] for u in document["unmanaged"]] == ["stray@example.com"]
    project.ok("apply", "--auto-approve")
    assert "stray@example.com" in project.live()
    assert project.cli("plan", "--detailed-exitcode").returncode == 0  # listed, not counted
    project.write({"jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"}}, prune=True)
    assert project.cli("plan", "--detailed-exitcode").returncode == 2
    project.ok("apply", "--auto-approve")
    assert set(project.live()) == {"john.doe@example.com"}


def test_conflict_and_unknown_alias_are_plan_errors(project: Project) -> None:
    with project.server() as client:
        client.post(
            "/vmrest/smtpproxyaddresses",
            json={
                "SmtpAddress": "taken@example.com",
                "ObjectGlobalUserObjectId": "2b0c3d4e-0000-4000-8000-000000000003",
            },
        )
    project.write(
        {
            "jdoe-taken": {"address": "taken@example.com", "user": "jdoe"},
            "ghost": {"address": "ghost@example.com", "user": "ghost"},
        }
    )
    result = project.cli("plan")
    assert result.returncode == 1
    assert (
        "manifests/main.yaml:7:11: smtp_proxy_address.ghost: user 'ghost' is not known"
        in result.stderr
    )
    assert (
        "manifests/main.yaml:2:3: smtp_proxy_address.jdoe-taken: SmtpAddress "
        "taken@example.com is held on the server by object"
    ) in result.stderr
    assert "of user 'bob'" in result.stderr
    assert "Traceback" not in result.stderr


def test_saved_plans_refused_when_stale_or_when_the_server_changed(project: Project) -> None:
    project.write({"jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"}})
    project.ok("plan", "--out", "first.plan")
    project.ok("plan", "--out", "second.plan")
    unconfirmed = project.cli("apply", "first.plan")
    assert unconfirmed.returncode == 1  # a saved plan is confirmed like any apply
    assert "--auto-approve" in unconfirmed.stderr
    project.ok("apply", "--auto-approve", "first.plan")
    stale = project.cli("apply", "--auto-approve", "second.plan")
    assert stale.returncode == 1
    assert "second.plan is stale" in stale.stderr

    object_id = _ids(project.state())["smtp_proxy_address.jdoe-work"]
    project.write({"jdoe-work": {"address": "johnny@example.com", "user": "jdoe"}})
    project.ok("plan", "--out", "third.plan")
    with project.server() as client:
        client.put(
            f"/vmrest/smtpproxyaddresses/{object_id}", json={"SmtpAddress": "meddled@example.com"}
        )
    changed = project.cli("apply", "--auto-approve", "third.plan")
    assert changed.returncode == 1
    assert "the server changed since the plan was made; nothing was executed" in changed.stderr
    assert (
        "SmtpAddress is now 'meddled@example.com' (the plan saw 'john.doe@example.com')"
        in changed.stderr
    )
    assert project.live() == {"meddled@example.com": object_id}


def test_mass_delete_needs_force_and_destroy_removes_everything(project: Project) -> None:
    resources = {f"r{i}": {"address": f"r{i}@example.com", "user": "jdoe"} for i in range(12)}
    project.write(resources, safety={"max_delete_percent": 30, "min_managed": 10})
    project.ok("apply", "--auto-approve")
    project.write(
        {k: v for k, v in resources.items() if k in ("r0", "r1")},
        safety={"max_delete_percent": 30, "min_managed": 10},
    )
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.returncode == 2  # plan never refuses
    refused = project.cli("apply", "--auto-approve")
    assert refused.returncode == 1
    assert "deletes 10 of 12 managed objects (83%)" in refused.stderr
    assert len(project.live()) == 12
    project.ok("apply", "--auto-approve", "--force")
    assert set(project.live()) == {"r0@example.com", "r1@example.com"}
    project.ok("destroy", "--auto-approve")
    assert project.live() == {}
    assert project.state()["resources"] == {}


def test_apply_without_a_terminal_or_auto_approve_refuses(project: Project) -> None:
    project.write({"jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"}})
    refused = project.cli("apply")
    assert refused.returncode == 1
    assert "--auto-approve" in refused.stderr
    assert project.live() == {}


def test_target_limits_the_apply(project: Project) -> None:
    project.write(
        {
            "jdoe-work": {"address": "john.doe@example.com", "user": "jdoe"},
            "mary-work": {"address": "mary@example.com", "user": "mary"},
        }
    )
    project.ok("apply", "--auto-approve", "--target", "mary-work")
    assert set(project.live()) == {"mary@example.com"}
    unknown = project.cli("plan", "--target", "nobody")
    assert unknown.returncode == 1
    assert "no resource named 'nobody'" in unknown.stderr
