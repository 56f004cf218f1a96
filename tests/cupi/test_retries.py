"""Retries: what is tried again, how often, for how long, and POSTs that are never sent
again blind."""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx
import pytest

from cupiform.cupi import CupiClient, RetryPolicy
from cupiform.cupi.retry import Attempts
from cupiform.emulator.core import Emulator
from cupiform.emulator.seed import user_object_id
from cupiform.emulator.transport import EmulatorTransport
from cupiform.errors import OutcomeUnknownError, RejectedError, RequestTimeout
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES as ADDRESSES
from cupiform.resources.users import USERS
from tests.conftest import JDOE, seeded_emulator
from tests.cupi.conftest import FAST_RETRY, IN_PROCESS_URL, Server, settings

NEW = {"SmtpAddress": "new@example.com", "ObjectGlobalUserObjectId": JDOE}
ADDRESS_QUERY = "query=(SmtpAddress%20is%20new@example.com)"


class Meddling(httpx.BaseTransport):
    """The emulator in-process, with a hook that may act before or instead of it."""

    def __init__(
        self,
        emulator: Emulator,
        hook: Callable[[httpx.Request, Callable[[], httpx.Response]], httpx.Response],
    ) -> None:
        self.inner = EmulatorTransport(emulator)
        self.hook = hook
        self.seen: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.raw_path.decode()}")
        return self.hook(request, lambda: self.inner.handle_request(request))


def _client(transport: httpx.BaseTransport, **changes: object) -> CupiClient:
    return CupiClient(settings(IN_PROCESS_URL, **changes), transport=transport, retry=FAST_RETRY)


def _addresses_named(emulator: Emulator, address: str) -> list[str]:
    with CupiClient(settings(IN_PROCESS_URL), transport=EmulatorTransport(emulator)) as client:
        return [
            item["ObjectId"]
            for item in client.list_all(ADDRESSES)
            if item["SmtpAddress"].lower() == address.lower()
        ]


# -- idempotent calls ---------------------------------------------------------------------------


def test_random_500s_on_reads_and_writes_are_absorbed(server_json: Server) -> None:
    client = server_json.client(page_size=1)
    server_json.emulator.set_faults(fail_rate=0.3)
    assert len(client.list_all(ADDRESSES)) == 4
    object_id = client.create(ADDRESSES, NEW)
    client.update(ADDRESSES, object_id, {"SmtpAddress": "renamed@example.com"})
    client.delete(ADDRESSES, object_id)
    stats = server_json.emulator.stats()
    assert stats.injected_failures > 0
    server_json.emulator.set_faults(fail_rate=0)
    assert _addresses_named(server_json.emulator, "new@example.com") == []
    assert _addresses_named(server_json.emulator, "renamed@example.com") == []


def test_a_delete_that_meets_404_on_a_retry_has_succeeded() -> None:
    emulator = seeded_emulator()
    first = _addresses_named(emulator, "chhavi@we.com")[0]

    def lose_first_answer(
        request: httpx.Request, forward: Callable[[], httpx.Response]
    ) -> httpx.Response:
        response = forward()
        if request.method == "DELETE" and transport.seen.count(f"DELETE {request.url.path}") == 1:
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    transport = Meddling(emulator, lose_first_answer)
    with _client(transport) as client:
        client.delete(ADDRESSES, first)
    assert [s.split()[0] for s in transport.seen] == ["DELETE", "DELETE"]
    assert _addresses_named(emulator, "chhavi@we.com") == []


def test_every_attempt_timing_out_gives_up_in_time_saying_so() -> None:
    """timeout: 1 and the default policy: the call ends within a minute, by the clock."""
    now = [0.0]

    def never_answers(request: httpx.Request) -> httpx.Response:
        now[0] += 1.0  # each attempt waits out its 1 s timeout
        raise httpx.ReadTimeout("timed out", request=request)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client = CupiClient(
        settings(IN_PROCESS_URL, timeout=1),
        transport=httpx.MockTransport(never_answers),
        sleep=sleep,
        clock=lambda: now[0],
        dice=random.Random(7),
    )
    with client, pytest.raises(RequestTimeout) as err:
        client.list_all(USERS)
    assert now[0] < 60
    message = str(err.value)
    assert message.startswith(
        f"GET {IN_PROCESS_URL}/vmrest/users?rowsPerPage=1000&pageNumber=1: no answer within 1 s; "
        "gave up after 6 attempts in "
    )


def test_the_time_budget_stops_attempts_before_the_count_does() -> None:
    now = [0.0]
    attempts = Attempts(
        RetryPolicy(max_attempts=100, backoff_base=1, backoff_cap=8, budget=20),
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        dice=random.Random(1),
    )
    while True:
        attempts.begin()
        now[0] += 1.0
        delay = attempts.next_delay()
        if delay is None:
            break
        attempts.wait(delay)
    assert attempts.made < 100
    assert now[0] <= 20 + 1


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=4)
    dice = random.Random(3)
    for retry, (low, high) in enumerate([(0.25, 0.5), (0.5, 1), (1, 2), (2, 4), (2, 4)], 1):
        delays = {policy.delay(retry, dice) for _ in range(50)}
        assert all(low <= d <= high for d in delays)
        assert len(delays) > 1


# -- POST: never blind ----------------------------------------------------------------------------


def test_a_post_that_commits_then_drops_the_connection_is_found(server_json: Server) -> None:
    client = server_json.client()
    client.count(USERS)
    server_json.emulator.set_faults(drop_next_posts=1)
    object_id = client.create(ADDRESSES, NEW)
    assert server_json.emulator.stats().dropped_posts == 1
    assert _addresses_named(server_json.emulator, "new@example.com") == [object_id]
    assert server_json.emulator.stats().by_status.get("201") == 1  # sent once, not twice


def test_a_post_answered_500_is_looked_up_then_sent_again() -> None:
    emulator = seeded_emulator(fail_next=1)
    transport = Meddling(emulator, lambda request, forward: forward())
    with _client(transport) as client:
        object_id = client.create(ADDRESSES, NEW)
    assert transport.seen == [
        "POST /vmrest/smtpproxyaddresses",
        f"GET /vmrest/smtpproxyaddresses?{ADDRESS_QUERY}&rowsPerPage=1000&pageNumber=1",
        "POST /vmrest/smtpproxyaddresses",
    ]
    assert _addresses_named(emulator, "new@example.com") == [object_id]


def test_a_post_whose_answer_is_lost_after_the_commit_is_found_not_sent_again() -> None:
    emulator = seeded_emulator()

    def late(request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
        response = forward()
        if request.method == "POST":
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    transport = Meddling(emulator, late)
    with _client(transport) as client:
        object_id = client.create(ADDRESSES, {**NEW, "SmtpAddress": "NEW@example.com"})
    assert [s.split()[0] for s in transport.seen] == ["POST", "GET"]
    assert _addresses_named(emulator, "new@example.com") == [object_id]


def test_a_post_that_commits_after_its_look_up_is_found_on_the_next_refusal() -> None:
    """The look-up came before the slow first POST committed; the second POST then meets
    the first one's address (400), and a second look-up finds it."""
    emulator = seeded_emulator()
    posts: list[httpx.Request] = []

    def slow_commit(
        request: httpx.Request, forward: Callable[[], httpx.Response]
    ) -> httpx.Response:
        if request.method != "POST":
            return forward()
        posts.append(request)
        if len(posts) == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        emulator.store.insert_address("late-commit-id", "new@example.com", JDOE)
        return forward()

    with _client(Meddling(emulator, slow_commit)) as client:
        assert client.create(ADDRESSES, NEW) == "late-commit-id"


def test_a_post_whose_address_another_owner_holds_is_not_claimed() -> None:
    emulator = seeded_emulator()

    def stolen(request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
        if request.method == "POST":
            emulator.store.insert_address("theirs", "new@example.com", user_object_id("mary"))
            raise httpx.RemoteProtocolError("dropped", request=request)
        return forward()

    with _client(Meddling(emulator, stolen)) as client, pytest.raises(RejectedError) as err:
        client.create(ADDRESSES, NEW)
    message = str(err.value)
    assert message.startswith(
        f"POST {IN_PROCESS_URL}/vmrest/smtpproxyaddresses: the connection was lost: dropped; "
        "looked up SmtpAddress new@example.com: it exists with ObjectGlobalUserObjectId "
    )
    assert message.endswith("(ObjectId theirs), so it was not created by this call")


def test_a_post_whose_look_up_fails_too_reports_the_outcome_unknown(server_json: Server) -> None:
    server_json.emulator.set_faults(latency_ms=300)
    client = server_json.client(timeout=0.1, retry=RetryPolicy(max_attempts=2, backoff_base=0.001))
    with pytest.raises(OutcomeUnknownError) as err:
        client.create(ADDRESSES, NEW)
    message = str(err.value)
    assert message.startswith(
        f"POST {server_json.url}/vmrest/smtpproxyaddresses: no answer within 0.1 s; whether it "
        "was created is unknown, as looking up SmtpAddress new@example.com failed too: GET "
    )
    assert message.endswith("The next plan adopts the object if it was created.")


def test_a_post_that_was_never_sent_is_simply_sent_again() -> None:
    emulator = seeded_emulator()
    calls: list[str] = []

    def refuse_first(
        request: httpx.Request, forward: Callable[[], httpx.Response]
    ) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return forward()

    with _client(Meddling(emulator, refuse_first)) as client:
        object_id = client.create(ADDRESSES, NEW)
    assert calls == ["POST", "POST"]
    assert _addresses_named(emulator, "new@example.com") == [object_id]


def test_a_plain_refusal_of_a_post_is_not_looked_up() -> None:
    emulator = seeded_emulator()
    transport = Meddling(emulator, lambda request, forward: forward())
    with _client(transport) as client, pytest.raises(RejectedError, match="400 DATA_EXCEPTION"):
        client.create(ADDRESSES, {"SmtpAddress": "no-at-sign", "ObjectGlobalUserObjectId": JDOE})
    assert len(transport.seen) == 1
