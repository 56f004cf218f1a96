"""Listing collections: both wire formats and their quirks, queries, sorting, paging, counts."""

from __future__ import annotations

import pytest

from tests.conftest import JDOE, Target
from tests.emulator.helpers import JSON, error_of, xml, xml_items

ADDRESS_FIELDS = [
    "URI",
    "ObjectId",
    "SmtpAddress",
    "ObjectGlobalUserObjectId",
    "ObjectGlobalUserURI",
]


def test_xml_is_the_default(target: Target) -> None:
    response = target.client().get("/vmrest/smtpproxyaddresses")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = xml(response)
    assert root.tag == "SmtpProxyAddresses"
    assert root.get("total") == "4"
    assert [item.tag for item in root] == ["SmtpProxyAddress"] * 4
    first = xml_items(response)[0]
    assert list(first) == ADDRESS_FIELDS
    assert first["SmtpAddress"] == "chhavi@we.com"
    assert first["ObjectGlobalUserObjectId"] == JDOE
    assert first["URI"] == f"/vmrest/smtpproxyaddresses/{first['ObjectId']}"
    assert first["ObjectGlobalUserURI"] == f"/vmrest/globalusers/{JDOE}"


def test_json_on_request_every_value_a_string(target: Target) -> None:
    response = target.client().get("/vmrest/users", headers=JSON)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["@total", "User"]
    assert body["@total"] == "3"
    assert isinstance(body["User"], list) and len(body["User"]) == 3
    for user in body["User"]:
        assert all(isinstance(value, str) for value in user.values())
    mary = next(u for u in body["User"] if u["Alias"] == "mary")
    assert mary["CreateSmtpProxyFromCorp"] == "true"


def test_json_one_item_is_an_object_not_a_list(target: Target) -> None:
    response = target.client().get(
        "/vmrest/smtpproxyaddresses",
        params={"query": "(SmtpAddress is ops@example.com)"},
        headers=JSON,
    )
    body = response.json()
    assert body["@total"] == "1"
    assert isinstance(body["SmtpProxyAddress"], dict)
    assert body["SmtpProxyAddress"]["SmtpAddress"] == "ops@example.com"


def test_empty_collection(target: Target) -> None:
    client = target.client()
    query = {"query": "(SmtpAddress is nobody@example.com)"}
    assert client.get("/vmrest/smtpproxyaddresses", params=query, headers=JSON).json() == {
        "@total": "0"
    }
    response = client.get("/vmrest/smtpproxyaddresses", params=query)
    assert response.text.endswith('<SmtpProxyAddresses total="0"/>')


def test_query_by_owner_as_the_vendor_writes_it(target: Target) -> None:
    # Literal URL from the vendor's chapter, with the owner column as the server names it.
    response = target.client().get(
        f"/vmrest/smtpproxyaddresses?query=(ObjectGlobalUserObjectId%20is%20{JDOE})"
    )
    addresses = sorted(item["SmtpAddress"] for item in xml_items(response))
    assert addresses == ["chhavi@5.co", "chhavi@we.com"]
    assert xml(response).get("total") == "2"


@pytest.mark.parametrize(
    "raw",
    [
        "query=(SmtpAddress%20is%20CHHAVI@WE.COM)",  # value without case
        "query=(smtpaddress+is+chhavi@we.com)",  # column without case, '+' for spaces
        "query=(SMTPADDRESS%20startswith%20chhavi@w)",
    ],
)
def test_query_ignores_case_and_accepts_both_space_encodings(target: Target, raw: str) -> None:
    body = target.client().get(f"/vmrest/smtpproxyaddresses?{raw}", headers=JSON).json()
    assert body["@total"] == "1"
    assert body["SmtpProxyAddress"]["SmtpAddress"] == "chhavi@we.com"


def test_startswith_treats_like_wildcards_literally(target: Target) -> None:
    client = target.client()
    # '_' and '%' are wildcards in SQL LIKE; in CUPI they are just characters.
    body = client.get(
        "/vmrest/smtpproxyaddresses?query=(SmtpAddress%20startswith%20chhavi_)", headers=JSON
    ).json()
    assert body == {"@total": "0"}
    body = client.get(
        "/vmrest/smtpproxyaddresses?query=(SmtpAddress%20startswith%20%25)", headers=JSON
    ).json()
    assert body == {"@total": "0"}


def test_query_by_a_column_of_another_owner_kind_matches_nothing(target: Target) -> None:
    body = (
        target.client()
        .get(
            f"/vmrest/smtpproxyaddresses?query=(ObjectContactObjectId%20is%20{JDOE})", headers=JSON
        )
        .json()
    )
    assert body == {"@total": "0"}


def test_user_by_alias(target: Target) -> None:
    body = target.client().get("/vmrest/users?query=(alias%20is%20JDOE)", headers=JSON).json()
    assert body["@total"] == "1"
    assert body["User"]["ObjectId"] == JDOE
    assert body["User"]["SmtpProxyAddressesURI"] == (
        f"/vmrest/smtpproxyaddresses?query=(ObjectGlobalUserObjectId%20is%20{JDOE})"
    )


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("(Nonsense is 1)", "Nonsense is not a searchable column"),
        ("(SmtpAddress contains x)", "operator 'contains' is not supported"),
        ("SmtpAddress is x", "must be written (column is value)"),
        ("(SmtpAddress is)", "must be written (column is value)"),
    ],
)
def test_bad_queries_are_400_data_exception(target: Target, query: str, fragment: str) -> None:
    for headers in ({}, JSON):
        response = target.client().get(
            "/vmrest/smtpproxyaddresses", params={"query": query}, headers=headers
        )
        assert response.status_code == 400
        code, message = error_of(response)
        assert code == "DATA_EXCEPTION"
        assert fragment in message


def test_sort_both_ways(target: Target) -> None:
    client = target.client()

    def addresses(order: str) -> list[str]:
        body = client.get(
            f"/vmrest/smtpproxyaddresses?sort=(SmtpAddress%20{order})", headers=JSON
        ).json()
        return [item["SmtpAddress"] for item in body["SmtpProxyAddress"]]

    ascending = addresses("asc")
    assert ascending == sorted(ascending, key=str.lower)
    assert addresses("desc") == ascending[::-1]


def test_sort_with_a_query_must_use_the_query_column(target: Target) -> None:
    client = target.client()
    ok = client.get(
        "/vmrest/smtpproxyaddresses?query=(SmtpAddress%20startswith%20chhavi)"
        "&sort=(smtpaddress%20desc)",
        headers=JSON,
    ).json()
    assert [i["SmtpAddress"] for i in ok["SmtpProxyAddress"]] == ["chhavi@we.com", "chhavi@5.co"]
    refused = client.get(
        "/vmrest/smtpproxyaddresses?query=(SmtpAddress%20startswith%20c)&sort=(ObjectId%20asc)"
    )
    assert refused.status_code == 400
    assert "sort column must be the query column" in error_of(refused)[1]


def test_paging_and_counts(target: Target) -> None:
    client = target.client()
    url = "/vmrest/smtpproxyaddresses"
    everything = client.get(url, headers=JSON).json()["SmtpProxyAddress"]
    pages = [
        client.get(url, params={"rowsPerPage": 3, "pageNumber": n}, headers=JSON).json()
        for n in (1, 2, 3)
    ]
    assert [p["@total"] for p in pages] == ["4", "4", "4"]
    assert pages[0]["SmtpProxyAddress"] == everything[:3]
    assert pages[1]["SmtpProxyAddress"] == everything[3]  # a page of one: an object
    assert pages[2] == {"@total": "4"}  # past the end: the count alone
    for params in ({"rowsPerPage": 0}, {"pageNumber": 0}, {"rowsPerPage": 0, "pageNumber": 0}):
        assert client.get(url, params=params, headers=JSON).json() == {"@total": "4"}
        assert client.get(url, params=params).text.endswith('<SmtpProxyAddresses total="4"/>')


@pytest.mark.parametrize("params", [{"rowsPerPage": "x"}, {"pageNumber": "-1"}])
def test_bad_paging_is_400(target: Target, params: dict[str, str]) -> None:
    response = target.client().get("/vmrest/users", params=params)
    assert response.status_code == 400
    assert error_of(response)[0] == "DATA_EXCEPTION"


def test_global_users_mirror_users(target: Target) -> None:
    client = target.client()
    users = client.get("/vmrest/users", headers=JSON).json()["User"]
    globals_ = client.get("/vmrest/globalusers", headers=JSON).json()["GlobalUser"]
    assert [u["ObjectId"] for u in users] == [g["ObjectId"] for g in globals_]
    assert globals_[0]["URI"] == f"/vmrest/globalusers/{globals_[0]['ObjectId']}"
    root = xml(client.get("/vmrest/globalusers?query=(Alias%20is%20mary)"))
    assert root.tag == "GlobalUsers" and root[0].tag == "GlobalUser"
    one = client.get(f"/vmrest/globalusers/{JDOE}", headers=JSON).json()
    assert one["Alias"] == "jdoe"


def test_a_write_between_pages_shifts_them_like_offset_pages(target: Target) -> None:
    # Real servers page with LIMIT/OFFSET: deleting a row of page 1 before asking for
    # page 2 shifts one row out of sight. Clients must survive it; the emulator must show it.
    client = target.client()
    url = "/vmrest/smtpproxyaddresses"
    page1 = client.get(url, params={"rowsPerPage": 2, "pageNumber": 1}, headers=JSON).json()
    everything = client.get(url, headers=JSON).json()["SmtpProxyAddress"]
    client.delete(page1["SmtpProxyAddress"][0]["URI"])
    page2 = client.get(url, params={"rowsPerPage": 2, "pageNumber": 2}, headers=JSON).json()
    assert page2["@total"] == "3"
    assert page2["SmtpProxyAddress"] == everything[3]  # everything[2] was skipped
    # Walking again from the start sees the three that are left, in order.
    walk = [
        client.get(url, params={"rowsPerPage": 1, "pageNumber": n}, headers=JSON).json()
        for n in (1, 2, 3)
    ]
    assert [page["SmtpProxyAddress"] for page in walk] == everything[1:]
