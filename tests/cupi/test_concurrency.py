"""One session for the whole run, and a concurrency window that backs off as a whole."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cupiform.cupi import ConcurrencyLimiter, RetryPolicy
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES as ADDRESSES
from cupiform.resources.users import USERS
from tests.conftest import JDOE
from tests.cupi.conftest import Server


def test_credentials_are_checked_once_for_many_requests(server: Server) -> None:
    client = server.client(page_size=2)
    for _ in range(100):
        client.count(USERS)
    for _ in range(20):
        client.list_all(ADDRESSES)
    object_id = client.create(
        ADDRESSES, {"SmtpAddress": "s@example.com", "ObjectGlobalUserObjectId": JDOE}
    )
    client.update(ADDRESSES, object_id, {"SmtpAddress": "t@example.com"})
    client.delete(ADDRESSES, object_id)
    stats = server.emulator.stats()
    assert stats.requests == 100 + 20 * 2 + 3
    assert stats.credential_checks == 1
    assert stats.sessions_created == 1


def test_parallel_first_requests_still_check_credentials_once(server_json: Server) -> None:
    # Slow answers, so that all threads start before the first cookie could arrive.
    server_json.emulator.set_faults(latency_ms=30)
    client = server_json.client(parallelism=8)
    start = threading.Barrier(12)

    def one(_: int) -> int:
        start.wait()
        return client.count(USERS)

    with ThreadPoolExecutor(12) as pool:
        assert list(pool.map(one, range(12))) == [3] * 12
    stats = server_json.emulator.stats()
    assert stats.credential_checks == 1
    assert stats.sessions_created == 1
    assert stats.max_in_flight > 1  # once the session exists, requests run in parallel


def test_more_parallelism_than_the_server_allows(server_json: Server) -> None:
    """8 writers against a server that serves 2 at once: every create lands exactly once,
    and the window shrinks instead of the threads hammering the server."""
    server_json.emulator.set_faults(
        latency_ms=40, max_concurrent=2, busy_wait_ms=20, fail_rate=0.15
    )
    client = server_json.client(
        parallelism=8, retry=RetryPolicy(max_attempts=8, backoff_base=0.02, backoff_cap=0.2)
    )
    client.count(USERS)
    addresses = [f"burst{n:02d}@example.com" for n in range(24)]

    def create(address: str) -> str:
        return client.create(ADDRESSES, {"SmtpAddress": address, "ObjectGlobalUserObjectId": JDOE})

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(create, addresses))
    stats = server_json.emulator.stats()
    assert stats.throttled > 0
    assert stats.max_in_flight <= 2
    window = client.limiter.stats()
    assert window.decreases >= 1
    assert window.lowest_limit < 8
    server_json.emulator.set_faults(fail_rate=0, latency_ms=0)
    listed = {
        item["SmtpAddress"]: item["ObjectId"]
        for item in client.list_all(ADDRESSES)
        if item["SmtpAddress"].startswith("burst")
    }
    assert listed == dict(zip(addresses, ids, strict=True))


# -- the window on its own ------------------------------------------------------------------------


def test_window_halves_once_per_burst_of_503s_and_creeps_back() -> None:
    limiter = ConcurrencyLimiter(8)
    slots = [limiter.acquire() for _ in range(8)]
    for slot in slots:
        slot.throttled = True
        limiter.release(slot)
    assert limiter.limit == 4  # one burst, one halving
    slot = limiter.acquire()
    slot.throttled = True
    limiter.release(slot)
    assert limiter.limit == 2
    for _ in range(3):
        slot = limiter.acquire()
        slot.throttled = True
        limiter.release(slot)
    assert limiter.limit == 1  # never below the minimum
    for _ in range(40):
        limiter.release(limiter.acquire())
    assert limiter.limit == 8
    stats = limiter.stats()
    assert (stats.decreases, stats.lowest_limit, stats.max_in_flight) == (5, 1, 8)


def test_window_makes_threads_wait() -> None:
    limiter = ConcurrencyLimiter(2)
    inside = 0
    most = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with limiter.slot():
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.01)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 2


def test_window_bounds_are_checked() -> None:
    with pytest.raises(ValueError):
        ConcurrencyLimiter(0)
