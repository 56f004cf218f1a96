"""A client written the way CUPI clients in the wild are: count first with pageNumber=0,
then pages of 1000, special-casing "@total": "1". It must read everything correctly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from cupiform.emulator.core import Emulator
from cupiform.emulator.seed import load_seed
from cupiform.emulator.server import serve_in_thread
from cupiform.emulator.store import Store


def _third_party_read_all(base: str, auth: tuple[str, str]) -> list[dict[str, Any]]:
    session = httpx.Client(base_url=base, auth=auth, headers={"Accept": "application/json"})
    url = "/vmrest/smtpproxyaddresses"
    total = int(session.get(url, params={"pageNumber": 0}).json()["@total"])
    rows: list[dict[str, Any]] = []
    page = 1
    while len(rows) < total:
        body = session.get(url, params={"rowsPerPage": 1000, "pageNumber": page}).json()
        if body["@total"] == "1":
            rows.append(body["SmtpProxyAddress"])
        else:
            rows.extend(body["SmtpProxyAddress"])
        page += 1
    session.close()
    return rows


def _emulator_with(tmp_path: Path, count: int) -> Emulator:
    seed = {
        "users": [{"alias": f"user{i:05d}"} for i in range(count)],
        "smtp_proxy_addresses": [
            {"address": f"first.last{i:05d}@example.com", "user": f"user{i:05d}"}
            for i in range(count)
        ],
    }
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    store = Store(":memory:")
    load_seed(store, path)
    return Emulator(store)


def test_third_party_client_reads_every_address(tmp_path: Path) -> None:
    emulator = _emulator_with(tmp_path, 2345)
    with serve_in_thread(emulator) as served:
        rows = _third_party_read_all(served.url, ("admin", "admin"))
    assert len(rows) == 2345
    assert len({row["ObjectId"] for row in rows}) == 2345
    assert sorted(row["SmtpAddress"] for row in rows) == [
        f"first.last{i:05d}@example.com" for i in range(2345)
    ]
    assert all(isinstance(value, str) for row in rows for value in row.values())


def test_third_party_client_reads_a_single_address(tmp_path: Path) -> None:
    emulator = _emulator_with(tmp_path, 1)
    with serve_in_thread(emulator) as served:
        rows = _third_party_read_all(served.url, ("admin", "admin"))
    assert [row["SmtpAddress"] for row in rows] == ["first.last00000@example.com"]
