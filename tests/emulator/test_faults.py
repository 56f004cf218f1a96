"""Faults on purpose: latency and timeouts, the concurrency throttle, random 500s, HTML error
pages, and POSTs that commit and then lose their connection."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.conftest import JDOE, Target
from tests.emulator.helpers import JSON, JSON_BODY, error_of

ADDRESSES = "/vmrest/smtpproxyaddresses"


def test_latency_is_added_to_each_request(target: Target) -> None:
    client = target.client()
    client.get("/vmrest/users")
    target.emulator.set_faults(latency_ms=150)
    started = time.perf_counter()
    assert client.get("/vmrest/users").status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_latency_beyond_the_timeout_times_out_but_the_work_is_done(target: Target) -> None:
    client = target.client(timeout=0.2)
    target.emulator.set_faults(latency_ms=600)
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            ADDRESSES,
            headers=JSON_BODY,
            json={"SmtpAddress": "slow@example.com", "ObjectGlobalUserObjectId": JDOE},
        )
    time.sleep(0.6)  # over HTTP the server finishes on its own time
    target.emulator.set_faults(latency_ms=0)
    found = (
        target.client()
        .get(ADDRESSES, params={"query": "(SmtpAddress is slow@example.com)"}, headers=JSON)
        .json()
    )
    assert found["@total"] == "1"


def test_max_concurrent_serves_n_at_once_and_answers_503_after_a_wait(target: Target) -> None:
    target.emulator.set_faults(latency_ms=100, max_concurrent=2, busy_wait_ms=50)
    client = target.client(timeout=10)
    client.get("/vmrest/users")  # a session first, so the burst only measures throttling
    target.emulator.reset_stats()
    statuses: list[int] = []
    bodies: list[httpx.Response] = []
    lock = threading.Lock()

    def one() -> None:
        response = client.get("/vmrest/users", headers=JSON)
        with lock:
            statuses.append(response.status_code)
            bodies.append(response)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = target.emulator.stats()
    assert sorted(set(statuses)) == [200, 503]
    assert stats.max_in_flight == 2
    assert stats.throttled == statuses.count(503)
    busy = next(r for r in bodies if r.status_code == 503)
    assert error_of(busy)[0] == "SERVICE_UNAVAILABLE"
    assert "retry-after" not in busy.headers


def test_waiting_requests_get_in_when_a_slot_frees_in_time(target: Target) -> None:
    target.emulator.set_faults(latency_ms=20, max_concurrent=1, busy_wait_ms=2000)
    client = target.client(timeout=10)
    client.get("/vmrest/users")
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(client.get("/vmrest/users").status_code))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 5
    assert target.emulator.stats().max_in_flight == 1


def test_fail_rate_gives_500_error_details_on_any_method(target: Target) -> None:
    client = target.client()
    target.emulator.set_faults(fail_rate=1.0)
    for method, path in (
        ("GET", "/vmrest/users"),
        ("DELETE", f"{ADDRESSES}/x"),
        ("POST", ADDRESSES),
    ):
        response = client.request(method, path, headers=JSON_BODY, content=b"{}")
        assert response.status_code == 500
        assert error_of(response)[0] == "INTERNAL_ERROR"
    target.emulator.set_faults(fail_rate=0.3)
    statuses = [client.get("/vmrest/users").status_code for _ in range(200)]
    assert 30 <= statuses.count(500) <= 90  # seeded dice: about 60
    assert set(statuses) == {200, 500}


def test_html_error_page_as_tomcat_writes_it(target: Target) -> None:
    target.emulator.set_faults(html_next=1)
    client = target.client()
    response = client.get("/vmrest/users", headers=JSON)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Apache Tomcat" in response.text
    assert client.get("/vmrest/users").status_code == 200


def test_a_post_can_commit_then_drop_the_connection(target: Target) -> None:
    client = target.client()
    client.get("/vmrest/users")
    target.emulator.set_faults(drop_next_posts=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(
            ADDRESSES,
            headers=JSON_BODY,
            json={"SmtpAddress": "ghost@example.com", "ObjectGlobalUserObjectId": JDOE},
        )
    found = client.get(
        ADDRESSES, params={"query": "(SmtpAddress is ghost@example.com)"}, headers=JSON
    ).json()
    assert found["@total"] == "1"  # committed, though the client never heard
    assert target.emulator.stats().dropped_posts == 1
    # Only the armed one: the next POST answers normally.
    again = client.post(
        ADDRESSES,
        headers=JSON_BODY,
        json={"SmtpAddress": "ghost2@example.com", "ObjectGlobalUserObjectId": JDOE},
    )
    assert again.status_code == 201


def test_faults_can_be_steered_over_http_without_credentials(target: Target) -> None:
    client = target.client(auth=None)
    response = client.post("/emulator/faults", json={"latency_ms": 5, "fail_rate": 0.5})
    assert response.status_code == 200
    assert response.json()["latency_ms"] == 5
    assert target.emulator.faults.fail_rate == 0.5
    bad = client.post("/emulator/faults", json={"latncy_ms": 5})
    assert bad.status_code == 400
    assert "unknown settings ['latncy_ms']" in bad.json()["error"]
    stats = client.get("/emulator/stats").json()
    assert stats["requests"] >= 2
    assert client.post("/emulator/stats").json()["requests"] == 0
