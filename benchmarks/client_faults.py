"""How the CUPI client copes: credential checks per run, and a burst of creates against a
faulty, throttled server. Everything runs against the emulator over real HTTP on 127.0.0.1.

    python benchmarks/client_faults.py [--requests 1000] [--creates 30] [--parallelism 8]
                                       [--fail-rate 0.15] [--max-concurrent 2] [--latency-ms 50]

Prints, all measured in this run:
- sessions: credential checks the emulator counted for N requests from one client, made
  one after the other, and made by 8 threads that all start at once on a fresh client;
- burst: how N creates from `parallelism` threads ended against a server that serves
  `max-concurrent` requests at once (503 for the rest after a short wait) and fails
  `fail-rate` of requests with a 500: created, failed, duplicates, what the server saw,
  how the client's concurrency window moved, and the time it took.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from cupiform.cupi import ClientSettings, CupiClient
from cupiform.emulator.core import Emulator, Faults
from cupiform.emulator.server import serve_in_thread
from cupiform.emulator.store import Store
from cupiform.errors import CupiError
from cupiform.resources.smtp_proxy_address import SMTP_PROXY_ADDRESSES
from cupiform.resources.users import USERS

OWNER = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
# The emulator's default account: a test server on the loopback, nothing real.
USERNAME = PASSWORD = "admin"


def build(faults: Faults | None = None) -> Emulator:
    store = Store(":memory:")
    store.bulk_load([(OWNER, "jdoe", "1000", "John Doe", "John", "Doe", "", 0)], [])
    return Emulator(store, faults=faults, random_seed=2024)


def settings(url: str, parallelism: int) -> ClientSettings:
    return ClientSettings(
        url=url,
        username=USERNAME,
        password=PASSWORD,
        format="json",
        timeout=10,
        parallelism=parallelism,
    )


def sessions(requests: int) -> None:
    emulator = build()
    with serve_in_thread(emulator) as served:
        with CupiClient(settings(served.url, 4)) as client:
            for number in range(requests):
                if number % 2:
                    client.count(USERS)
                else:
                    client.get_user(OWNER)
        one_by_one = emulator.stats()

        emulator.reset_stats()
        emulator.set_faults(latency_ms=5)  # so that the threads' first requests overlap
        threads = 8
        start = threading.Barrier(threads)
        with CupiClient(settings(served.url, threads)) as client:

            def work(_: int) -> None:
                start.wait()
                for _ in range(requests // threads):
                    client.count(USERS)

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(work, range(threads)))
        parallel = emulator.stats()
    print(f"sessions: {requests} requests from one client over HTTP")
    print(
        f"  one after the other: {one_by_one.requests} requests, "
        f"{one_by_one.credential_checks} credential check(s), "
        f"{one_by_one.sessions_created} session(s)"
    )
    print(
        f"  8 threads at once:   {parallel.requests} requests, "
        f"{parallel.credential_checks} credential check(s), "
        f"{parallel.sessions_created} session(s), at most {parallel.max_in_flight} in flight"
    )


def burst(
    creates: int, parallelism: int, fail_rate: float, max_concurrent: int, latency: float
) -> None:
    emulator = build()
    with (
        serve_in_thread(emulator) as served,
        CupiClient(settings(served.url, parallelism)) as client,
    ):
        client.count(USERS)  # the session, before the faults
        emulator.reset_stats()
        emulator.set_faults(fail_rate=fail_rate, max_concurrent=max_concurrent, latency_ms=latency)
        addresses = [f"burst{n:03d}@example.com" for n in range(creates)]
        created: dict[str, str] = {}
        failed: dict[str, str] = {}
        lock = threading.Lock()

        def create(address: str) -> None:
            try:
                object_id = client.create(
                    SMTP_PROXY_ADDRESSES,
                    {"SmtpAddress": address, "ObjectGlobalUserObjectId": OWNER},
                )
            except CupiError as error:
                with lock:
                    failed[address] = str(error)
            else:
                with lock:
                    created[address] = object_id

        started = time.perf_counter()
        with ThreadPoolExecutor(parallelism) as pool:
            list(pool.map(create, addresses))
        elapsed = time.perf_counter() - started
        seen = emulator.stats()
        window = client.limiter.stats()
        emulator.set_faults(fail_rate=0, max_concurrent=0, latency_ms=0)
        listed: dict[str, list[str]] = defaultdict(list)
        for item in client.list_all(SMTP_PROXY_ADDRESSES):
            listed[item["SmtpAddress"]].append(item["ObjectId"])
    duplicates = sum(len(ids) - 1 for ids in listed.values())
    # Reported wrongly: created with another ObjectId than the server's, or failed but there.
    mismatched = [a for a, oid in created.items() if listed.get(a) != [oid]] + [
        a for a in failed if a in listed
    ]
    print(
        f"burst: {creates} creates from {parallelism} threads over HTTP; server: "
        f"max_concurrent {max_concurrent}, fail_rate {fail_rate}, latency {latency:g} ms"
    )
    print(
        f"  ended: {len(created)} created, {len(failed)} failed, {duplicates} duplicates, "
        f"{len(listed)} addresses on the server, {len(mismatched)} reported wrongly; "
        f"{elapsed:.2f} s"
    )
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(seen.by_status.items()))
    print(
        f"  server saw: {seen.requests} requests ({statuses}); {seen.throttled} throttled, "
        f"{seen.injected_failures} injected 500s, at most {seen.max_in_flight} in flight"
    )
    print(
        f"  client window: from {parallelism}, halved {window.decreases} times, lowest "
        f"{window.lowest_limit}, ended at {window.limit}; at most {window.max_in_flight} "
        "in flight"
    )
    for address, message in sorted(failed.items()):
        print(f"  failed {address}: {message}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--creates", type=int, default=30)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--fail-rate", type=float, default=0.15)
    parser.add_argument("--max-concurrent", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    sessions(args.requests)
    for latency in sorted({0.0, args.latency_ms}):
        burst(args.creates, args.parallelism, args.fail_rate, args.max_concurrent, latency)


if __name__ == "__main__":
    main()
