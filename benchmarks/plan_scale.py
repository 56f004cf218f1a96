"""What `cupiform plan` costs on a large directory, against the floor of the same work.

    python benchmarks/plan_scale.py [--sizes 1000,10000,100000] [--format json|xml] [--repeat 3]

For each N: an emulator (`cupiform emulator serve`, a separate process, real HTTP) holds
N users with one address each; a project declares the N addresses (`user: <alias>`, in
files of 1,000) and its state binds all of them, so the plan finds nothing to do (the
steady state of a drift check). Measured in the same run:

- floor: paging the same users and addresses with httpx and parsing them (json.loads or
  ElementTree), plus PyYAML's C parser running through the manifests' events;
- plan: `cupiform plan --detailed-exitcode` as a user runs it (a new process: start-up,
  config, manifests, schema, state, refresh, plan, render), and its peak memory.

Floor and plan are each run ``--repeat`` times, alternating, after one floor run untimed
(the emulator's first pages are slower), and the best of each is kept (as ``timeit``
does): on a shared machine the slower runs measure the neighbours. The ratio of each
plan to the floor just before it is printed too (on stderr), to show how much the
machine's own speed moved during the run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import yaml

from cupiform.emulator.store import Store

OWNER = "ObjectGlobalUserObjectId"


def user_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def address_id(i: int) -> str:
    return f"10000000-0000-4000-8000-{i:012d}"


def build(folder: Path, count: int, wire: str) -> None:
    store = Store(str(folder / "emulator.sqlite"))
    store.bulk_load(
        [
            (user_id(i), f"user{i:06d}", str(100000 + i), f"User {i}", "", "", "", 0)
            for i in range(count)
        ],
        [(address_id(i), f"first.last{i:06d}@example.com", user_id(i)) for i in range(count)],
    )
    store.close()
    project = folder / "project"
    (project / "manifests").mkdir(parents=True)
    for start in range(0, count, 1000):
        lines = ["smtp_proxy_addresses:"]
        for i in range(start, min(count, start + 1000)):
            lines += [
                f"  user{i:06d}-work:",
                f"    address: first.last{i:06d}@example.com",
                f"    user: user{i:06d}",
            ]
        (project / "manifests" / f"users{start // 1000:04d}.yaml").write_text(
            "\n".join(lines) + "\n"
        )
    entries = [
        f'    "smtp_proxy_address.user{i:06d}-work": {{"attributes": {{"{OWNER}": '
        f'"{user_id(i)}", "SmtpAddress": "first.last{i:06d}@example.com"}}, '
        f'"object_id": "{address_id(i)}"}}'
        for i in range(count)
    ]
    (project / "state").mkdir()
    (project / "state" / "cupiform-state.json").write_text(
        '{\n  "format_version": 1,\n  "lineage": "6b1f0b3e-7a53-4a8e-9d55-0d9c7f3c2e11",\n'
        '  "resources": {\n' + ",\n".join(sorted(entries)) + "\n  },\n"
        '  "serial": 1,\n  "server": "SERVER"\n}\n'
    )


def floor_seconds(url: str, project: Path, wire: str) -> float:
    accept = "application/json" if wire == "json" else "application/xml"
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    started = time.perf_counter()
    with httpx.Client(base_url=url, auth=("admin", "admin"), headers={"Accept": accept}) as c:
        for path in ("/vmrest/users", "/vmrest/smtpproxyaddresses"):
            page = 1
            while True:
                response = c.get(path, params={"rowsPerPage": 1000, "pageNumber": page})
                if wire == "json":
                    body = response.json()
                    items = next((v for k, v in body.items() if k != "@total"), [])
                    got = 1 if isinstance(items, dict) else len(items)
                else:
                    got = len(ET.fromstring(response.content))
                if got < 1000:
                    break
                page += 1
    for manifest in sorted((project / "manifests").glob("*.yaml")):
        with manifest.open("rb") as stream:
            for _ in yaml.parse(stream, Loader=loader):
                pass
    return time.perf_counter() - started


def _resident_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its children (cupiform may fork one to read the
    manifests): both count, pages they share counted twice."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pids += [int(child) for child in children.read().split()]
    except OSError:
        pass
    for each in pids:
        try:
            with open(f"/proc/{each}/statm") as statm:
                total += int(statm.read().split()[1]) * resource.getpagesize()
        except (OSError, IndexError, ValueError):
            pass
    return total


def run_plan(project: Path, environment: dict[str, str], *, sample: bool) -> tuple[float, int]:
    """Seconds `cupiform plan` takes; with ``sample``, also the peak of its (and its
    child's) memory, sampled every 5 ms. Timed runs do not sample: on a small machine the
    sampling takes CPU time from the plan."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "cupiform", "plan", "--detailed-exitcode"],
            cwd=project,
            env=environment,
            stdout=out,
            stderr=err,
        )
        peak = 0
        if sample:
            while process.poll() is None:
                peak = max(peak, _resident_bytes(process.pid))
                time.sleep(0.005)
        process.wait()
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            out.seek(0)
            err.seek(0)
            raise SystemExit(
                f"plan exited {process.returncode}:\n{out.read()[-2000:].decode()}"
                f"\n{err.read()[-2000:].decode()}"
            )
    return seconds, peak


def measure(count: int, wire: str, repeat: int) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory(prefix="cupiform-bench-") as scratch:
        folder = Path(scratch)
        build(folder, count, wire)
        project = folder / "project"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cupiform",
                "emulator",
                "serve",
                "--port",
                "0",
                "--db",
                str(folder / "emulator.sqlite"),
                "--exit-after",
                "900",
            ],
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stderr is not None
            line = server.stderr.readline()
            url = line.split("serving ", 1)[1].split("/vmrest", 1)[0]
            (project / "cupiform.yaml").write_text(
                yaml.safe_dump(
                    {
                        "server": {"url": url, "format": wire, "timeout": 120},
                        "manifests": ["manifests/*.yaml"],
                    }
                )
            )
            state = project / "state" / "cupiform-state.json"
            state.write_text(state.read_text().replace("SERVER", url))
            environment = {**os.environ, "CUPI_USERNAME": "admin", "CUPI_PASSWORD": "admin"}
            floors: list[float] = []
            plans: list[float] = []
            floor_seconds(url, project, wire)  # not timed: the emulator's first pages are slower
            for _ in range(repeat):
                floors.append(floor_seconds(url, project, wire))
                plans.append(run_plan(project, environment, sample=False)[0])
            _, peak = run_plan(project, environment, sample=True)
            floor, plan = min(floors), min(plans)
            # Each plan against the floor measured just before it: how much the machine's
            # own speed moved the ratio of the bests.
            pairs = " ".join(f"{p / f:.2f}" for f, p in zip(floors, plans, strict=True))
            print(f"N={count}: plan/floor of each pair, in order: {pairs}", file=sys.stderr)
            startup_started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "cupiform", "--version"], capture_output=True, check=True
            )
            startup = time.perf_counter() - startup_started
            return floor, plan, startup, peak // 1024
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--format", dest="wire", choices=["json", "xml"], default="json")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for count in (int(n) for n in args.sizes.split(",")):
        floor, plan, startup, peak_kib = measure(count, args.wire, args.repeat)
        rows.append((count, floor, plan, startup, peak_kib))
        print(f"N={count}: floor {floor:.2f} s, plan {plan:.2f} s", file=sys.stderr, flush=True)
    print(
        f"wire format: {args.wire}; plan = `cupiform plan` in a new process "
        f"(python start-up included); best of {args.repeat}"
    )
    print(
        f"{'N':>8} {'floor s':>9} {'plan s':>8} {'plan/floor':>11} {'start-up s':>11} "
        f"{'peak MiB':>9}"
    )
    for count, floor, plan, startup, peak_kib in rows:
        print(
            f"{count:>8} {floor:>9.2f} {plan:>8.2f} {plan / floor:>11.2f} {startup:>11.2f} "
            f"{peak_kib / 1024:>9.0f}"
        )
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
