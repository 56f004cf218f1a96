"""How close apply's writes come to what the server allows: N creates against
``cupiform emulator serve --latency-ms 20 --max-concurrent 5`` (a separate process, real
HTTP on 127.0.0.1), at several ``parallelism`` settings.

    python benchmarks/apply_throughput.py [--creates 1000] [--serial-creates 200]
                                          [--parallelism 1,4,8] [--latency-ms 20]
                                          [--max-concurrent 5]

For each parallelism, a fresh emulator and project: the plan is made as ``cupiform apply``
makes it (refresh, plan), then only the apply phase is timed: the executor's calls and the
state written after them (``StateWriter``, group commit, to a real file with fsync), until
the last write is on disk. Its wall time is set against the ideal, N x latency /
min(parallelism, max-concurrent): the server's own pace when every slot is busy all the
time. Parallelism 1 runs ``--serial-creates`` creates, as N of them take N x latency.

Prints, all measured in this run: creates, wall time, ideal, ratio, state writes (how many
results each write carried), and the 503s the server answered.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from cupiform.commands.project import open_project, plan_project
from cupiform.connect import open_client
from cupiform.executor import StateWriter, execute, outcome_counts
from cupiform.resources.kinds import KINDS
from cupiform.state import load_state

OWNER = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
# The emulator's default account: a test server on the loopback, nothing real.
CREDENTIALS = {"CUPI_USERNAME": "admin", "CUPI_PASSWORD": "admin"}
_SERVING = re.compile(r"serving (https?://\S+)/vmrest")


@contextlib.contextmanager
def emulator(folder: Path, latency_ms: float, max_concurrent: int) -> Iterator[str]:
    seed = folder / "seed.yaml"
    seed.write_text(yaml.safe_dump({"users": [{"alias": "jdoe", "object_id": OWNER}]}))
    command = [
        sys.executable,
        "-m",
        "cupiform",
        "emulator",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--latency-ms",
        str(latency_ms),
        "--max-concurrent",
        str(max_concurrent),
        "--exit-after",
        "900",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    url = None
    for line in process.stderr:
        found = _SERVING.search(line)
        if found:
            url = found.group(1)
            break
    try:
        if url is None:
            raise SystemExit("the emulator did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


@dataclass(frozen=True)
class Run:
    parallelism: int
    creates: int
    seconds: float
    ideal: float
    writes: int
    throttled: int
    failed: int

    @property
    def ratio(self) -> float:
        return self.seconds / self.ideal


def one_run(
    parallelism: int, creates: int, latency_ms: float, max_concurrent: int, scratch: Path
) -> Run:
    folder = scratch / f"p{parallelism}"
    folder.mkdir()
    with emulator(folder, latency_ms, max_concurrent) as url:
        project_dir = folder / "project"
        (project_dir / "manifests").mkdir(parents=True)
        config = {
            "server": {"url": url, "format": "json", "parallelism": parallelism},
            "manifests": ["manifests/*.yaml"],
        }
        (project_dir / "cupiform.yaml").write_text(yaml.safe_dump(config))
        resources = {
            f"a{n:05d}": {"address": f"a{n:05d}@example.com", "user_object_id": OWNER}
            for n in range(creates)
        }
        (project_dir / "manifests" / "main.yaml").write_text(
            yaml.safe_dump({"smtp_proxy_addresses": resources})
        )
        os.chdir(project_dir)
        project = open_project()
        with project.backend.lock("apply"):
            state = load_state(project.backend, project.server)
            with open_client(project.config, CREDENTIALS, parallelism=parallelism) as client:
                plan = plan_project(project, state, client)
                assert len(plan.actions) == creates, len(plan.actions)
                with httpx.Client(base_url=url) as admin:
                    admin.post("/emulator/stats")  # count the apply phase only
                    started = time.perf_counter()
                    writer = StateWriter(project.backend, state)
                    try:
                        outcomes = execute(plan, client, KINDS, writer, parallelism=parallelism)
                    finally:
                        final = writer.close()
                    seconds = time.perf_counter() - started
                    stats = admin.get("/emulator/stats").json()
        os.chdir(scratch)
    counts = outcome_counts(outcomes)
    assert len(final.resources) == counts["done"]
    ideal = creates * latency_ms / 1000 / min(parallelism, max_concurrent)
    return Run(
        parallelism,
        creates,
        seconds,
        ideal,
        writer.writes,
        int(stats["throttled"]),
        counts["failed"] + counts["skipped"],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--serial-creates", type=int, default=200)
    parser.add_argument("--parallelism", default="1,4,8")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--max-concurrent", type=int, default=5)
    args = parser.parse_args()
    levels = [int(level) for level in args.parallelism.split(",")]
    runs = []
    with tempfile.TemporaryDirectory(prefix="cupiform-bench-") as scratch:
        for parallelism in levels:
            creates = args.serial_creates if parallelism == 1 else args.creates
            runs.append(
                one_run(parallelism, creates, args.latency_ms, args.max_concurrent, Path(scratch))
            )
    print(
        f"apply throughput: creates against 'cupiform emulator serve --latency-ms "
        f"{args.latency_ms:g} --max-concurrent {args.max_concurrent}' over HTTP "
        f"(ideal = N x latency / min(parallelism, {args.max_concurrent}))"
    )
    if 1 in levels and args.serial_creates != args.creates:
        print(f"parallelism 1 runs {args.serial_creates} creates, the others {args.creates}")
    header = (
        f"{'parallelism':>11} {'creates':>7} {'wall s':>7} {'ideal s':>7} {'ratio':>6} "
        f"{'writes':>6} {'per write':>9} {'503s':>5} {'failed':>6}"
    )
    print(header)
    for run in runs:
        print(
            f"{run.parallelism:>11} {run.creates:>7} {run.seconds:>7.2f} {run.ideal:>7.2f} "
            f"{run.ratio:>5.2f}x {run.writes:>6} {run.creates / max(1, run.writes):>9.1f} "
            f"{run.throttled:>5} {run.failed:>6}"
        )


if __name__ == "__main__":
    main()
