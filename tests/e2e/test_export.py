"""End to end: ``cupiform export --out DIR`` against ``cupiform emulator serve``, then
``validate`` and ``plan`` on what it wrote; and the pure step that names and sorts the
objects (``build_export``), for owners the emulator cannot hold (contacts, users of
another server).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from cupiform.commands.export_cmd import build_export, slug
from cupiform.resources.kinds import SMTP_PROXY_ADDRESS
from tests.e2e.conftest import Project, ProjectFactory

STATE = "state/cupiform-state.json"
INITIALS = "abcdefghijklmnopqrstuvwxyz0123456789"
TIMEOUT = 30  # seconds, in cupiform.yaml: listings of thousands of objects


def large_seed(users: int = 2000, addresses: int = 5000) -> dict[str, Any]:
    """``users`` users whose aliases start with every letter and digit, sharing ``addresses``
    addresses (2 or 3 each); the same local part appears under several domains."""
    aliases = [f"{INITIALS[i % len(INITIALS)]}user{i}" for i in range(users)]
    domains = ["example.com", "corp.example.org", "example.net"]
    extra = addresses - 2 * users
    listed = [
        {"address": f"first.last{i}@{domains[k]}", "user": alias}
        for i, alias in enumerate(aliases)
        for k in range(3 if i < extra else 2)
    ]
    return {"users": [{"alias": a} for a in aliases], "smtp_proxy_addresses": listed}


def test_export_of_5000_addresses_then_validate_and_an_empty_plan(
    make_project: ProjectFactory,
) -> None:
    project = make_project(seed=large_seed())
    project.configure(timeout=TIMEOUT)
    project.reset_stats()

    exported = project.ok("export", "--out", "manifests")

    assert exported.stdout == (
        f"exported 5000 addresses of 2000 users into {len(INITIALS)} files in manifests; "
        f"bound in the state {STATE}\n"
    )
    assert exported.stderr == ""  # nothing skipped; no progress when stderr is not a terminal
    # One listing of the addresses and one of the users, page by page: no GET per object.
    assert project.emulator_stats()["requests"] <= 10
    files = project.files()
    assert sorted(files) == sorted(f"{c}.yaml" for c in INITIALS)
    assert files["a.yaml"].startswith(
        f"# Written by cupiform export from {project.served.url}; bound in the state.\n"
        "smtp_proxy_addresses:\n"
        "  auser0-first-last0:\n"
        "    address: first.last0@corp.example.org\n"
        "    user: auser0\n"
        "  auser0-first-last0-2:\n"
        "    address: first.last0@example.com\n"
        "    user: auser0\n"
        "  auser0-first-last0-3:\n"
        "    address: first.last0@example.net\n"
        "    user: auser0\n"
    )
    state = project.state()
    assert len(state["resources"]) == 5000
    assert state["resources"]["smtp_proxy_address.auser0-first-last0-2"]["attributes"] == {
        "SmtpAddress": "first.last0@example.com",
        "ObjectGlobalUserObjectId": state["resources"]["smtp_proxy_address.auser0-first-last0"][
            "attributes"
        ]["ObjectGlobalUserObjectId"],
    }

    assert project.ok("validate").stdout == f"5000 resources in {len(INITIALS)} files: valid\n"
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout[-2000:] + plan.stderr
    assert "No changes." in plan.stdout
    assert "Unmanaged" not in plan.stdout


ODD_SEED: dict[str, Any] = {
    "users": [
        {"alias": "jdoe"},
        {"alias": "yes"},  # YAML 1.1 reads a bare yes as true
        {"alias": "0123"},  # and a bare 0123 as a number
        {"alias": "a: b #c"},
        {"alias": "Ωmega"},
        {"alias": "_svc"},
    ],
    "smtp_proxy_addresses": [
        {"address": "john.doe@example.com", "user": "jdoe"},
        {"address": "John.Doe@old.example.com", "user": "jdoe"},
        {"address": "john.doe-2@example.com", "user": "jdoe"},
        {"address": "bad address@example.com", "user": "jdoe"},
        {"address": "y@example.com", "user": "yes"},
        {"address": "z@example.com", "user": "0123"},
        {"address": "q@example.com", "user": "a: b #c"},
        {"address": "x@-bad.example.com", "user": "a: b #c"},
        {"address": "o@example.com", "user": "Ωmega"},
        {"address": "s@example.com", "user": "_svc"},
    ],
}


def test_odd_aliases_are_quoted_bad_addresses_skipped_and_the_output_is_stable(
    make_project: ProjectFactory,
) -> None:
    project = make_project(seed=ODD_SEED)
    project.configure(manifests="exported/*.yaml", prune=True, timeout=TIMEOUT)

    exported = project.ok("export", "--out", "exported")

    assert exported.stdout.startswith("exported 8 addresses of 6 users into 5 files in exported;")
    warnings = exported.stderr.splitlines()
    assert len(warnings) == 3, exported.stderr
    assert warnings[0].startswith("cupiform: warning: skipped 'bad address@example.com' (ObjectId ")
    assert "'bad address' is not a valid local part" in warnings[0]
    assert warnings[0].endswith(
        "no valid manifest can declare it, so it is neither written nor bound"
    )
    assert warnings[1].startswith("cupiform: warning: skipped 'x@-bad.example.com' (ObjectId ")
    assert warnings[2] == (
        "cupiform: warning: prune: true in cupiform.yaml: the next apply deletes the 2 skipped "
        "addresses of exported users, which no manifest declares"
    )
    files = project.files("exported")
    assert sorted(files) == ["0.yaml", "_.yaml", "a.yaml", "j.yaml", "y.yaml"]
    assert files["j.yaml"].split("\n", 1)[1] == (
        "smtp_proxy_addresses:\n"
        "  jdoe-john-doe-2:\n"
        "    address: john.doe-2@example.com\n"
        "    user: jdoe\n"
        "  jdoe-john-doe:\n"
        "    address: john.doe@example.com\n"
        "    user: jdoe\n"
        "  jdoe-john-doe-3:\n"
        "    address: John.Doe@old.example.com\n"
        "    user: jdoe\n"
    )
    loaded = {name: yaml.safe_load(text) for name, text in files.items()}
    assert loaded["y.yaml"]["smtp_proxy_addresses"] == {
        "yes-y": {"address": "y@example.com", "user": "yes"}
    }
    assert loaded["0.yaml"]["smtp_proxy_addresses"]["0123-z"]["user"] == "0123"
    assert loaded["a.yaml"]["smtp_proxy_addresses"]["a-b-c-q"]["user"] == "a: b #c"
    assert loaded["_.yaml"]["smtp_proxy_addresses"] == {
        "_svc-s": {"address": "s@example.com", "user": "_svc"},
        "mega-o": {"address": "o@example.com", "user": "Ωmega"},
    }
    assert len(project.state()["resources"]) == 8
    assert project.ok("validate").stdout == "8 resources in 5 files: valid\n"
    refresh_only = project.cli("plan", "--detailed-exitcode", "--refresh-only")
    assert refresh_only.returncode == 2  # the skipped addresses are unmanaged, and prune: true
    assert "bad address@example.com" in refresh_only.stdout

    # Another project of the same server gets the same files.
    again = Project(project.directory.parent / "again", project.served)
    again.directory.mkdir()
    again.configure(manifests="exported/*.yaml", timeout=TIMEOUT)
    again.ok("export", "--out", "exported")
    assert again.files("exported") == files


ONE_ADDRESS: dict[str, Any] = {
    "users": [{"alias": "jdoe"}],
    "smtp_proxy_addresses": [{"address": "john.doe@example.com", "user": "jdoe"}],
}


def test_export_refuses_a_state_that_manages_objects_and_a_folder_of_manifests(
    make_project: ProjectFactory,
) -> None:
    project = make_project(seed=ONE_ADDRESS)
    project.configure(timeout=TIMEOUT)
    folder = project.directory / "manifests"
    folder.mkdir()
    (folder / "a.yaml").write_text("smtp_proxy_addresses: {}\n")
    (folder / "b.yml").write_text("smtp_proxy_addresses: {}\n")
    (folder / "README").write_text("not a manifest\n")
    refused = project.cli("export", "--out", "manifests")
    assert refused.returncode == 1
    assert refused.stderr == (
        "cupiform: error: export --out manifests: the folder already holds manifests, which "
        "export would overwrite or add to: a.yaml, b.yml; give an empty folder\n"
    )
    assert not (project.directory / STATE).exists()
    assert project.files() == {
        "README": "not a manifest\n",
        "a.yaml": "smtp_proxy_addresses: {}\n",
        "b.yml": "smtp_proxy_addresses: {}\n",
    }

    project.ok("export", "--out", "elsewhere")
    state = (project.directory / STATE).read_bytes()
    refused = project.cli("export", "--out", "more")
    assert refused.returncode == 1
    assert refused.stderr == (
        f"cupiform: error: the state {STATE} already manages 1 object; export binds every "
        "object on the server and needs a state that manages none (point state: at a new "
        "file)\n"
    )
    assert not (project.directory / "more").exists()
    assert (project.directory / STATE).read_bytes() == state


def test_export_warns_when_the_manifests_globs_miss_the_folder(
    make_project: ProjectFactory,
) -> None:
    project = make_project(seed=ONE_ADDRESS)
    project.configure(manifests="manifests/*.yaml", timeout=TIMEOUT)
    result = project.ok("-C", ".", "export", "--out", "elsewhere")
    assert result.stderr == (
        "cupiform: warning: the manifests: globs of cupiform.yaml do not cover elsewhere/*.yaml: "
        "add it, or plans will not see these manifests and will delete the objects bound in "
        "state\n"
    )


def test_build_export_names_owners_that_are_not_users_by_id_and_skips_contacts() -> None:
    jdoe = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
    remote = "2b0c3d4e-0000-4000-8000-000000000002"  # a global user homed elsewhere
    users = [{"ObjectId": jdoe, "Alias": "jdoe"}]
    objects = [
        {"ObjectId": "o1", "SmtpAddress": "j@example.com", "ObjectGlobalUserObjectId": jdoe},
        {"ObjectId": "o2", "SmtpAddress": "r@example.com", "ObjectGlobalUserObjectId": remote},
        {"ObjectId": "o3", "SmtpAddress": "c@example.com", "ObjectContactObjectId": "c1"},
        {"ObjectId": "o4", "SmtpAddress": "c2@example.com", "ObjectGlobalUserObjectId": ""},
        {"ObjectId": "o5", "SmtpAddress": "n@example.com", "ObjectGlobalUserObjectId": "x y"},
    ]
    export = build_export(SMTP_PROXY_ADDRESS, objects, users)
    assert export.not_users == 2
    assert [(s.value, s.reason) for s in export.skipped] == [
        ("n@example.com", "its owner's ObjectId 'x y' is not a CUPI ObjectId")
    ]
    assert [(o.name, o.file, dict(o.body)) for o in export.objects] == [
        ("2b0c3d4e-r", "_.yaml", {"address": "r@example.com", "user_object_id": remote}),
        ("jdoe-j", "j.yaml", {"address": "j@example.com", "user": "jdoe"}),
    ]
    assert export.owners == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("John.Doe", "john-doe"), ("--a..b--", "a-b"), ("Ωmega", "mega"), ("_x_", "_x_"), ("é", "")],
)
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected
