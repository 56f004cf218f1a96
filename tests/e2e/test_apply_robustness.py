"""End to end: apply when things go wrong: killed mid-run, run twice at once, run against a
server that fails, throttles and drops connections.

Every step is a real ``cupiform`` process against ``cupiform emulator serve``; the tests
observe the server through its ``/emulator/stats`` counters and never assert on time.
"""

from __future__ import annotations

import getpass
import json
import re
import signal
import socket
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Project, ProjectFactory

STATE_LOCATION = "state/cupiform-state.json"


def _resources(count: int) -> dict[str, dict[str, str]]:
    owners = ["jdoe", "mary", "bob"]
    return {f"r{n}": {"address": f"r{n}@example.com", "user": owners[n % 3]} for n in range(count)}


def _created(stats: dict[str, Any]) -> int:
    return int(stats["by_status"].get("201", 0))


def _in_flight(stats: dict[str, Any]) -> int:
    """Requests the server has begun and not answered yet (not counting this one)."""
    return int(stats["requests"]) - sum(int(n) for n in stats["by_status"].values()) - 1


def _wait_until_quiet(project: Project) -> None:
    """Until the server has answered every request it took: a request whose client was
    killed still runs to its end on the server (and may create its object)."""
    deadline = time.monotonic() + 30
    while _in_flight(project.emulator_stats()) > 0:
        assert time.monotonic() < deadline, "the emulator never finished its requests"
        time.sleep(0.02)


def assert_converged(project: Project, resources: dict[str, dict[str, str]]) -> None:
    """Exactly the desired objects on the server, each once; state binds every resource to
    its live object; a new plan has nothing to do."""
    items = project.live_items()
    per_address = Counter(item["SmtpAddress"].lower() for item in items)
    assert [a for a, n in per_address.items() if n > 1] == []
    assert set(per_address) == {r["address"] for r in resources.values()}
    assert len(items) == len(resources)
    live = project.live()
    state = project.state()["resources"]
    assert set(state) == {f"smtp_proxy_address.{name}" for name in resources}
    for name, resource in resources.items():
        entry = state[f"smtp_proxy_address.{name}"]
        assert entry["object_id"] == live[resource["address"]], name
        assert entry["attributes"]["SmtpAddress"] == resource["address"]
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr


# Kill points: how many creates the server has answered 201 when the apply is killed, and
# the apply's parallelism (4: several calls in flight die with it; 1: the kill lands while
# the next call sleeps in the server, so that even the last kill point comes before the
# apply could end by itself).
KILL_POINTS = [(1, 4), (7, 4), (13, 1), (25, 4), (40, 4), (49, 1)]


@pytest.mark.parametrize(("kill_after", "parallelism"), KILL_POINTS)
def test_apply_killed_at_any_point_is_finished_by_the_next_apply(
    make_project: ProjectFactory, kill_after: int, parallelism: int
) -> None:
    """SIGKILL gives the apply no chance to tidy up: whatever it had created and not yet
    recorded is found on the server and adopted by the next apply, never created twice."""
    project = make_project("--latency-ms", "40")
    resources = _resources(50)
    project.write(resources, parallelism=parallelism)
    first = project.start("apply", "--auto-approve")
    with httpx.Client(base_url=project.served.url) as admin:
        while first.poll() is None:
            stats = admin.get("/emulator/stats").json()
            if _created(stats) >= kill_after:
                first.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
    first.communicate()
    assert first.returncode == -signal.SIGKILL, "the apply ended before it could be killed"
    _wait_until_quiet(project)
    created_before = _created(project.emulator_stats())
    assert kill_after <= created_before <= 50
    # What the killed run left: a whole state file (never a torn one), maybe behind.
    recorded = project.state()["resources"] if project.state_path.exists() else {}
    assert len(recorded) <= created_before

    refused_before = project.emulator_stats()["by_status"].get("400", 0)
    second = project.cli("apply", "--auto-approve")
    assert second.returncode == 0, second.stdout + second.stderr
    if len(recorded) == 50:
        assert "No changes." in second.stdout
    else:
        summary = re.search(r"Apply finished: (\d+) done of (\d+) actions", second.stdout)
        assert summary is not None, second.stdout
        assert summary.group(1) == summary.group(2) == str(50 - len(recorded))
    stats = project.emulator_stats()
    assert _created(stats) == 50  # every object was POSTed successfully once, in all
    # ... and no POST of the second run met its address taken. (The killed run may have
    # left a 400: a request cut off mid-body, which the emulator answers all the same.)
    assert stats["by_status"].get("400", 0) == refused_before
    assert_converged(project, resources)


def test_a_second_apply_on_the_same_state_fails_at_once_naming_the_holder(
    make_project: ProjectFactory,
) -> None:
    """The lock is taken before anything is read: the second apply neither plans nor calls
    the server, and says who holds the state (the first apply, slowed by the server)."""
    project = make_project("--latency-ms", "300")
    resources = _resources(20)
    project.write(resources, parallelism=1)
    lock_file = project.state_path.with_name("cupiform-state.json.lock")
    first = project.start("apply", "--auto-approve")
    try:
        deadline = time.monotonic() + 60
        while not (lock_file.exists() and lock_file.read_text().strip()):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first apply never took the lock"
            time.sleep(0.02)
        holder = json.loads(lock_file.read_text())
        assert holder["pid"] == first.pid

        second = project.cli("apply", "--auto-approve")
        assert first.poll() is None  # the first one still runs: the second did not wait
        assert second.returncode == 1
        message = second.stderr.strip()
        assert "Traceback" not in message
        user, host = getpass.getuser(), socket.gethostname()
        assert (
            f"the state {STATE_LOCATION} is locked by {user}@{host} (pid {first.pid}), "
            f"running 'apply' since {holder['since']}"
        ) in message
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", holder["since"])
        assert second.stdout == ""  # no plan: it stopped before reading anything
        project.set_faults(latency_ms=0)  # let the first one finish quickly
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, err
    assert "Apply finished: 20 done of 20 actions." in out
    assert lock_file.read_text() == ""  # released: the next one may go
    assert_converged(project, resources)


def test_apply_converges_on_a_failing_throttled_server_with_at_most_one_rerun(
    make_project: ProjectFactory,
) -> None:
    """15% of requests fail with 500, at most 2 are served at once (503 for the others after
    10 ms), and 10% of successful POSTs lose their connection after the object was made.
    The client retries, backs off and looks up what it cannot know; whatever still fails is
    left to one more apply, which must finish the job."""
    project = make_project(
        "--fail-rate",
        "0.15",
        "--max-concurrent",
        "2",
        "--busy-wait-ms",
        "10",
        "--drop-post-rate",
        "0.1",
        "--random-seed",
        "6",
        "--latency-ms",
        "20",
    )
    resources = _resources(100)
    project.write(resources, parallelism=8)
    runs = [project.cli("apply", "--auto-approve")]
    if runs[0].returncode != 0:
        assert runs[0].returncode == 1, runs[0].stderr
        assert "Traceback" not in runs[0].stderr
        assert "what succeeded is recorded in state" in runs[0].stderr
        runs.append(project.cli("apply", "--auto-approve"))
    assert runs[-1].returncode == 0, runs[-1].stdout + runs[-1].stderr
    stats = project.emulator_stats()
    # How it went (shown with pytest -s): the first run's summary, and what the server saw.
    print(f"\nfirst apply: exit {runs[0].returncode}: {runs[0].stdout.strip().splitlines()[-1]}")
    print(f"runs: {len(runs)}; server: {json.dumps(stats, sort_keys=True)}")
    assert stats["injected_failures"] > 0
    assert stats["dropped_posts"] > 0
    assert stats["throttled"] > 0
    assert _created(stats) == 100  # each object made once: no POST was repeated blind
    project.set_faults(fail_rate=0, drop_post_rate=0)  # so that the checks read reliably
    assert_converged(project, resources)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_apply_stops_starting_calls_and_records_what_it_did(
    make_project: ProjectFactory, stop: signal.Signals
) -> None:
    """Ctrl-C (SIGINT), or a CI job cancelled (SIGTERM): no new call starts, the calls in
    flight finish and are recorded, and the command ends with 130. Nothing is lost: state
    holds every object the server made."""
    project = make_project("--latency-ms", "100")
    resources = _resources(50)
    project.write(resources, parallelism=4)
    first = project.start("apply", "--auto-approve")
    with httpx.Client(base_url=project.served.url) as admin:
        while _created(admin.get("/emulator/stats").json()) < 5:
            assert first.poll() is None, first.communicate()
            time.sleep(0.005)
    first.send_signal(stop)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert "cupiform: interrupted" in err
    _wait_until_quiet(project)
    created = _created(project.emulator_stats())
    assert created < 20, created  # it stopped: at most the calls in flight went on
    recorded = project.state()["resources"]
    assert len(recorded) == created  # and every object made is in state
    said = re.search(r"cupiform: state \S+ at serial \d+ \((\d+) managed\)", err)
    assert said is not None and int(said.group(1)) == created, err
    live = project.live()
    for address, entry in recorded.items():
        assert live[entry["attributes"]["SmtpAddress"]] == entry["object_id"], address
    project.ok("apply", "--auto-approve")
    assert_converged(project, resources)
