"""The client against the emulator, in-process and over HTTP, in JSON and in XML."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from cupiform.cupi import CupiClient, is_, startswith
from cupiform.emulator.seed import user_object_id
from cupiform.errors import NotFoundError, RejectedError
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES as ADDRESSES
from cupiform.resources.users import GLOBAL_USERS, USERS
from tests.conftest import JDOE
from tests.cupi.conftest import FAST_RETRY, Server, settings

MARY = user_object_id("mary")


def _addresses(items: list[dict[str, str]]) -> list[str]:
    return sorted(item["SmtpAddress"] for item in items)


def test_listing_every_quirk_of_size(server: Server) -> None:
    client = server.client(page_size=2)
    everything = client.list_all(ADDRESSES)
    # The seed's three, plus mary's, which the server made from her corporate address.
    assert _addresses(everything) == [
        "chhavi@5.co",
        "chhavi@we.com",
        "mary@corp.example.com",
        "ops@example.com",
    ]
    assert {
        item["ObjectGlobalUserObjectId"] for item in everything if "chhavi" in item["SmtpAddress"]
    } == {JDOE}
    # One item (an object in JSON), none (no item key in JSON), by owner.
    assert _addresses(client.list_all(ADDRESSES, is_("ObjectGlobalUserObjectId", MARY))) == [
        "mary@corp.example.com"
    ]
    assert client.list_all(ADDRESSES, is_("SmtpAddress", "nobody@example.com")) == []
    assert client.count(ADDRESSES) == 4
    assert client.count(ADDRESSES, is_("ObjectGlobalUserObjectId", JDOE)) == 2
    assert client.count(ADDRESSES, startswith("SmtpAddress", "CHHAVI@")) == 2


def test_paging_walks_every_page_and_stops(server: Server) -> None:
    client = server.client(page_size=2)
    for number in range(7):
        client.create(
            ADDRESSES,
            {"SmtpAddress": f"page{number}@example.com", "ObjectGlobalUserObjectId": JDOE},
        )
    server.emulator.reset_stats()
    everything = client.list_all(ADDRESSES)
    assert len(everything) == 11
    assert len({item["ObjectId"] for item in everything}) == 11
    assert server.emulator.stats().requests == 6  # 5 full pages, 1 short one
    # An exact multiple of the page size stops at the total, without an empty page.
    client.create(
        ADDRESSES, {"SmtpAddress": "twelve@example.com", "ObjectGlobalUserObjectId": JDOE}
    )
    server.emulator.reset_stats()
    assert len(client.list_all(ADDRESSES)) == 12
    assert server.emulator.stats().requests == 6


def test_create_get_update_delete(server: Server) -> None:
    client = server.client()
    object_id = client.create(
        ADDRESSES, {"SmtpAddress": "new.one@example.com", "ObjectGlobalUserObjectId": JDOE}
    )
    got = client.get(ADDRESSES, object_id)
    assert got["ObjectId"] == object_id
    assert got["SmtpAddress"] == "new.one@example.com"
    assert got["ObjectGlobalUserObjectId"] == JDOE
    client.update(ADDRESSES, object_id, {"SmtpAddress": "renamed@example.com"})
    assert client.get(ADDRESSES, object_id)["SmtpAddress"] == "renamed@example.com"
    client.delete(ADDRESSES, object_id)
    with pytest.raises(NotFoundError) as gone:
        client.get(ADDRESSES, object_id)
    assert gone.value.status == 404
    assert gone.value.code == "NOT_FOUND"
    with pytest.raises(NotFoundError):
        client.delete(ADDRESSES, object_id)  # a first attempt's 404 is an error


def test_values_with_blanks_and_reserved_characters_are_queried_exactly(server: Server) -> None:
    client = server.client()
    ops = client.list_all(USERS, is_("DisplayName", "Operations & Support <ops>"))
    assert [user["Alias"] for user in ops] == ["ops.team"]
    assert [
        u["Alias"] for u in client.list_all(USERS, startswith("DisplayName", "Operations &"))
    ] == ["ops.team"]
    odd = "a+b%20c&d=e#f(g)@example.com"
    object_id = client.create(ADDRESSES, {"SmtpAddress": odd, "ObjectGlobalUserObjectId": JDOE})
    found = client.list_all(ADDRESSES, is_("SmtpAddress", odd))
    assert [(item["ObjectId"], item["SmtpAddress"]) for item in found] == [(object_id, odd)]
    assert client.list_all(ADDRESSES, is_("SmtpAddress", "a b%20c&d=e#f(g)@example.com")) == []


def test_users_by_alias_and_by_object_id(server: Server) -> None:
    client = server.client()
    users = client.find_users_by_alias(["JDoe", "mary", "nobody", "mary"])
    assert sorted(users) == ["jdoe", "mary"]
    assert users["jdoe"]["ObjectId"] == JDOE
    assert client.get_user(JDOE)["Alias"] == "jdoe"
    assert client.get_user(JDOE, GLOBAL_USERS)["Alias"] == "jdoe"
    assert client.find_users_by_alias([]) == {}
    with pytest.raises(NotFoundError):
        client.get_user("00000000-0000-0000-0000-000000000000")


def test_many_aliases_are_resolved_by_listing_every_user(inprocess: Server) -> None:
    client = inprocess.client(page_size=2)
    aliases = ["jdoe", "mary", "ops.team", "ghost1", "ghost2", "ghost3", "ghost4"]
    inprocess.emulator.reset_stats()
    found = client.find_users_by_alias(aliases)
    assert sorted(found) == ["jdoe", "mary", "ops.team"]
    # One count, two pages of users: 3 requests instead of 7 queries.
    assert inprocess.emulator.stats().requests == 3
    inprocess.emulator.reset_stats()
    assert sorted(client.find_users_by_alias(aliases[:5])) == ["jdoe", "mary", "ops.team"]
    assert inprocess.emulator.stats().requests == 5  # few: a query each


def test_listing_every_user_pays_when_it_takes_fewer_requests(inprocess: Server) -> None:
    client = inprocess.client(page_size=2)  # 3 users: 2 pages
    assert not client.listing_pays(5)  # few aliases: a query each, without asking
    inprocess.emulator.reset_stats()
    assert client.listing_pays(6) and not client.listing_pays(1)
    assert inprocess.emulator.stats().requests == 1  # the count, asked once for many


def test_a_listing_can_keep_only_some_fields(server: Server) -> None:
    client = server.client(page_size=2)
    every = client.list_all(ADDRESSES)
    kept = client.list_all(ADDRESSES, fields=["SmtpAddress"])
    assert kept == [
        {"ObjectId": item["ObjectId"], "SmtpAddress": item["SmtpAddress"]} for item in every
    ]
    assert client.list_users() == [
        {"Alias": user["Alias"], "ObjectId": user["ObjectId"]} for user in client.list_all(USERS)
    ]


def test_a_duplicate_address_is_rejected_with_what_was_asked(server: Server) -> None:
    client = server.client()
    with pytest.raises(RejectedError) as refused:
        client.create(ADDRESSES, {"SmtpAddress": "CHHAVI@we.com", "ObjectGlobalUserObjectId": JDOE})
    assert str(refused.value) == (
        f"POST {server.url}/vmrest/smtpproxyaddresses: 400 DATA_EXCEPTION: "
        "SmtpAddress CHHAVI@we.com is already in use"
    )
    assert refused.value.status == 400
    assert refused.value.code == "DATA_EXCEPTION"
    assert server.emulator.stats().by_status.get("400") == 1  # not retried, no look-up
    assert server.emulator.stats().requests == 1


def test_put_of_a_missing_object_is_rejected(server: Server) -> None:
    client = server.client()
    with pytest.raises(
        RejectedError, match=r"PUT .*/vmrest/smtpproxyaddresses/missing: 400 DATA_EXCEPTION"
    ):
        client.update(ADDRESSES, "missing", {"SmtpAddress": "x@example.com"})


def test_read_only_fields_are_refused_before_anything_is_sent(inprocess: Server) -> None:
    client = inprocess.client()
    with pytest.raises(ValueError, match="read-only fields of smtpproxyaddresses: ObjectId"):
        client.create(ADDRESSES, {"SmtpAddress": "a@b.c", "ObjectId": "x"})
    with pytest.raises(ValueError, match="not a searchable column"):
        client.list_all(ADDRESSES, is_("Nope", "x"))
    assert inprocess.emulator.stats().requests == 0


def _paged_server(pages: Mapping[int, tuple[int | None, list[str]]], seen: list[str]) -> CupiClient:
    """A mock whose listing pages hold the given totals and ObjectIds."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        number = int(request.url.params.get("pageNumber", "0"))
        total, ids = pages.get(number, (None, []))
        body: dict[str, object] = {} if total is None else {"@total": str(total)}
        items = [{"ObjectId": i, "SmtpAddress": f"{i}@example.com"} for i in ids]
        if items:
            body["SmtpProxyAddress"] = items[0] if len(items) == 1 else items
        return httpx.Response(200, json=body)

    return CupiClient(
        settings("https://cuc.example.com", page_size=2),
        transport=httpx.MockTransport(answer),
        retry=FAST_RETRY,
    )


def test_paging_survives_a_collection_that_changes_underneath() -> None:
    seen: list[str] = []
    # An object was added before page 2 was read: "b" moves onto page 2 as well.
    pages = {1: (5, ["a", "b"]), 2: (6, ["b", "c"]), 3: (6, ["d", "e"]), 4: (6, ["f"])}
    with _paged_server(pages, seen) as client:
        assert [item["ObjectId"] for item in client.list_all(ADDRESSES)] == list("abcdef")
    assert len(seen) == 4
    # Objects were deleted while paging: the smaller total ends the walk.
    seen.clear()
    pages = {1: (6, ["a", "b"]), 2: (4, ["c", "d"]), 3: (4, [])}
    with _paged_server(pages, seen) as client:
        assert [item["ObjectId"] for item in client.list_all(ADDRESSES)] == list("abcd")
    assert len(seen) == 2


def test_an_object_listed_twice_is_kept_as_first_seen() -> None:
    seen: list[str] = []
    pages = {1: (4, ["a", "B"]), 2: (4, ["b", "c"]), 3: (4, ["d"])}
    with _paged_server(pages, seen) as client:
        listed = client.list_all(ADDRESSES)
    # "B" and "b" are one object (ObjectIds compare without case): its first listing stays
    assert [item["ObjectId"] for item in listed] == ["a", "B", "c", "d"]


def test_paging_ends_on_a_server_that_ignores_page_numbers() -> None:
    seen: list[str] = []
    same = (None, ["a", "b"])
    with _paged_server({n: same for n in range(1, 100)}, seen) as client:
        assert [item["ObjectId"] for item in client.list_all(ADDRESSES)] == ["a", "b"]
        # No count from the server: the objects are counted instead.
        assert client.count(ADDRESSES) == 2
    assert seen[:2] == [
        "/vmrest/smtpproxyaddresses?rowsPerPage=2&pageNumber=1",
        "/vmrest/smtpproxyaddresses?rowsPerPage=2&pageNumber=2",
    ]
    assert len(seen) == 5  # two pages, then the count and its two pages
