"""Running ``cupiform`` as a user would: a child process, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CUPIFORM = [sys.executable, "-m", "cupiform"]
_SERVING = re.compile(r"serving (https?://\S+)/vmrest")


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    merged = {**os.environ, **(env or {})}
    return subprocess.run(
        [*CUPIFORM, *args],
        cwd=cwd,
        env=merged,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Served:
    url: str  # without /vmrest
    process: subprocess.Popen[str]
    stderr_lines: list[str]


@contextlib.contextmanager
def emulator_process(*args: str, lifetime: float = 120) -> Iterator[Served]:
    """``cupiform emulator serve --port 0 ARGS`` on 127.0.0.1; stops by itself after
    ``lifetime`` seconds even if the test never gets to stop it."""
    command = [
        *CUPIFORM,
        "emulator",
        "serve",
        "--host",
        "127.0.0.1",
        "--exit-after",
        str(lifetime),
        *args,
    ]
    if "--port" not in args:
        command += ["--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert process.stderr is not None
    url = None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        match = _SERVING.search(line)
        if match:
            url = match.group(1)
            break
    if url is None:
        process.kill()
        rest = process.stderr.read()
        raise AssertionError("emulator did not start:\n" + "".join(lines) + rest)
    try:
        yield Served(url, process, lines)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
