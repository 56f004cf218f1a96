"""Owners resolved by ``resolve_owners``: a listing of every user begun before the
manifests were read gives the same owners as resolving the aliases afterwards, and is used
only when listing every user is the cheaper way."""

from __future__ import annotations

from cupiform.model import Owner, Resource, Source
from cupiform.refresh import UserDirectory, list_directory, resolve_owners
from cupiform.resources.kinds import KINDS
from cupiform.resources.users import USERS
from tests.conftest import JDOE
from tests.cupi.conftest import Server

KNOWN = ["jdoe", "MARY", "ops.team"]
GHOSTS = ["ghost1", "ghost2", "ghost3", "ghost4"]


def resources(aliases: list[str]) -> list[Resource]:
    here = Source("m.yaml", 1, 1)
    return [
        Resource(
            "smtp_proxy_address",
            f"r{number}",
            {"SmtpAddress": f"r{number}@example.com"},
            Owner(alias, None, here),
            here,
        )
        for number, alias in enumerate(aliases)
    ]


def test_a_listing_begun_early_gives_the_owners_resolving_afterwards_gives(
    inprocess: Server,
) -> None:
    client = inprocess.client(page_size=2)  # the seed's users take 2 pages: listing pays
    declared = resources(KNOWN + GHOSTS)
    resolved, resolved_names = resolve_owners(client, KINDS, declared)
    asked: list[str] = []

    def early() -> UserDirectory | None:
        asked.append("early")
        return list_directory(client, USERS)

    inprocess.emulator.reset_stats()
    listed, listed_names = resolve_owners(client, KINDS, declared, {USERS.path: early})
    assert asked == ["early"]
    assert inprocess.emulator.stats().requests == 2  # its pages; the count was asked once
    for alias in ("jdoe", "mary", "ops.team"):
        assert listed[alias] == resolved[alias]
    assert listed["jdoe"] == JDOE
    assert not any(ghost in listed for ghost in GHOSTS)
    assert listed_names[JDOE] == resolved_names[JDOE] == "jdoe"


def test_a_listing_that_was_not_begun_is_made_when_it_pays(inprocess: Server) -> None:
    client = inprocess.client(page_size=2)
    listed, _ = resolve_owners(client, KINDS, resources(KNOWN + GHOSTS), {USERS.path: lambda: None})
    assert listed["jdoe"] == JDOE


def test_a_listing_begun_early_is_not_used_for_a_few_aliases(inprocess: Server) -> None:
    client = inprocess.client(page_size=2)
    asked: list[str] = []

    def early() -> UserDirectory | None:
        asked.append("early")
        return None

    inprocess.emulator.reset_stats()
    few, _ = resolve_owners(client, KINDS, resources(KNOWN), {USERS.path: early})
    assert asked == []
    assert inprocess.emulator.stats().requests == 3  # a query per alias
    assert few == {"jdoe": JDOE, "mary": few["mary"], "ops.team": few["ops.team"]}


def test_a_directory_names_users_by_alias_and_by_object_id_without_case() -> None:
    directory = UserDirectory.of(
        [
            {"Alias": "JDoe", "ObjectId": "ID-1"},
            {"Alias": "mary", "ObjectId": "id-2"},
            {"Alias": "", "ObjectId": "id-3"},  # no alias: left out
            {"ObjectId": "id-4"},
            {"Alias": "ghost"},  # no ObjectId: left out
            {"Alias": "jdoe", "ObjectId": "id-5"},  # the same alias in another case: the last
        ]
    )
    assert directory.ids == {"jdoe": "id-5", "mary": "id-2"}
    assert directory.aliases == {"id-1": "JDoe", "id-2": "mary", "id-5": "jdoe"}
    assert UserDirectory.of([]) == UserDirectory({}, {})
