"""How fast the emulator serves listings, against the cost of JSON encoding the same rows.

    python benchmarks/emulator_paging.py [--addresses 100000] [--page 1000] [--repeat 200]

Prints, all measured in this run:
- floor: json.dumps of every page's items (the encoding a server cannot avoid);
- core: Emulator.handle for every page in-process (SQLite, paging, encoding), / floor;
- http: paging the whole collection over real HTTP with one httpx client, / floor;
- rps: requests per second for one 1000-row JSON page over HTTP, sequential and 4 threads.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import httpx

from cupiform.emulator.core import Emulator, EmulatorRequest
from cupiform.emulator.server import serve_in_thread
from cupiform.emulator.store import Store


def build(count: int) -> Emulator:
    store = Store(":memory:")
    users = [
        (
            f"00000000-0000-4000-8000-{i:012d}",
            f"user{i:06d}",
            str(100000 + i),
            f"User {i}",
            "",
            "",
            "",
            0,
        )
        for i in range(count)
    ]
    addresses = [
        (
            f"10000000-0000-4000-8000-{i:012d}",
            f"first.last{i:06d}@example.com",
            f"00000000-0000-4000-8000-{i:012d}",
        )
        for i in range(count)
    ]
    store.bulk_load(users, addresses)
    return Emulator(store)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    count, page = args.addresses, args.page
    pages = -(-count // page)

    started = time.perf_counter()
    emulator = build(count)
    print(f"seeded {count} users and {count} addresses in {time.perf_counter() - started:.2f} s")

    headers = {"accept": "application/json", "authorization": "Basic YWRtaW46YWRtaW4="}

    def page_request(number: int) -> EmulatorRequest:
        return EmulatorRequest(
            "GET", "/vmrest/smtpproxyaddresses", f"rowsPerPage={page}&pageNumber={number}", headers
        )

    # The rows as a server would hold them, so the floor encodes exactly the same data.
    bodies = [json.loads(emulator.handle(page_request(n)).body) for n in range(1, pages + 1)]
    items = [body["SmtpProxyAddress"] for body in bodies]

    started = time.perf_counter()
    for chunk in items:
        json.dumps(
            {"@total": str(count), "SmtpProxyAddress": chunk}, separators=(",", ":")
        ).encode()
    floor = time.perf_counter() - started

    started = time.perf_counter()
    for number in range(1, pages + 1):
        emulator.handle(page_request(number))
    core = time.perf_counter() - started

    with (
        serve_in_thread(emulator) as served,
        httpx.Client(
            base_url=served.url, auth=("admin", "admin"), headers={"Accept": "application/json"}
        ) as client,
    ):
        client.get("/vmrest/users?rowsPerPage=0")
        started = time.perf_counter()
        seen = 0
        for number in range(1, pages + 1):
            body = client.get(
                "/vmrest/smtpproxyaddresses", params={"rowsPerPage": page, "pageNumber": number}
            ).json()
            seen += len(body["SmtpProxyAddress"])
        over_http = time.perf_counter() - started
        assert seen == count, seen

        one_page = {"rowsPerPage": 1000, "pageNumber": 1}
        started = time.perf_counter()
        for _ in range(args.repeat):
            client.get("/vmrest/smtpproxyaddresses", params=one_page).raise_for_status()
        sequential_rps = args.repeat / (time.perf_counter() - started)

        def worker(n: int) -> None:
            for _ in range(n):
                client.get("/vmrest/smtpproxyaddresses", params=one_page).raise_for_status()

        threads = [threading.Thread(target=worker, args=(args.repeat // 4,)) for _ in range(4)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        parallel_rps = (args.repeat // 4) * 4 / (time.perf_counter() - started)

    print(f"{'measure':<44}{'seconds':>9}{'x floor':>9}")
    print(f"{'floor: json.dumps of ' + str(pages) + ' pages':<44}{floor:>9.3f}{1:>9.2f}")
    print(
        f"{'core: Emulator.handle, ' + str(pages) + ' pages':<44}{core:>9.3f}{core / floor:>9.2f}"
    )
    print(
        f"{'http: page ' + str(count) + ' addresses, 1 client':<44}{over_http:>9.3f}"
        f"{over_http / floor:>9.2f}"
    )
    print(
        f"rps, one {page}-row JSON page over HTTP: {sequential_rps:.0f}/s sequential, "
        f"{parallel_rps:.0f}/s with 4 threads"
    )


if __name__ == "__main__":
    main()
