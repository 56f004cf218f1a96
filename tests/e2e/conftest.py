"""What the end-to-end tests share: a project folder driven through the ``cupiform`` command
against its own ``cupiform emulator serve`` (seeded with three users, or with a test's own
seed), and ways to look at the server and the state behind the command's back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from tests.processes import CUPIFORM, Served, emulator_process, run_cli

ROOT = Path(__file__).parents[2]
PLAN_SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"
SEED = {
    "users": [
        {"alias": "jdoe", "object_id": JDOE},
        {"alias": "mary", "object_id": "2b0c3d4e-0000-4000-8000-000000000002"},
        {"alias": "bob", "object_id": "2b0c3d4e-0000-4000-8000-000000000003"},
    ]
}
CREDENTIALS = {"CUPI_USERNAME": "admin", "CUPI_PASSWORD": "admin"}


@dataclass
class Project:
    directory: Path
    served: Served

    def configure(
        self,
        *,
        manifests: str = "manifests/*.yaml",
        prune: bool | None = False,
        wire: str = "json",
        safety: dict[str, int] | None = None,
        parallelism: int | None = None,
        timeout: int = 10,
    ) -> None:
        """Write ``cupiform.yaml`` only (``prune=None`` leaves the key out)."""
        config: dict[str, Any] = {
            "server": {"url": self.served.url, "format": wire, "timeout": timeout},
            "manifests": [manifests],
        }
        if prune is not None:
            config["prune"] = prune
        if parallelism is not None:
            config["server"]["parallelism"] = parallelism
        if safety:
            config["safety"] = safety
        (self.directory / "cupiform.yaml").write_text(yaml.safe_dump(config))

    def write(
        self,
        resources: dict[str, dict[str, str]],
        *,
        prune: bool | None = False,
        wire: str = "json",
        safety: dict[str, int] | None = None,
        parallelism: int | None = None,
    ) -> None:
        """``cupiform.yaml`` and ``manifests/main.yaml``, which declares ``resources``."""
        self.configure(prune=prune, wire=wire, safety=safety, parallelism=parallelism)
        manifests = self.directory / "manifests"
        manifests.mkdir(exist_ok=True)
        (manifests / "main.yaml").write_text(
            yaml.safe_dump({"smtp_proxy_addresses": resources}, sort_keys=False)
        )

    def files(self, folder: str = "manifests") -> dict[str, str]:
        """Name -> text of every file in ``folder`` of the project."""
        return {p.name: p.read_text() for p in sorted((self.directory / folder).iterdir())}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=self.directory, env=CREDENTIALS)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """``cupiform ARGS`` in the background; the caller waits for it (or kills it)."""
        return subprocess.Popen(
            [*CUPIFORM, *args],
            cwd=self.directory,
            env={**os.environ, **CREDENTIALS},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_answer_sigint,
        )

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.cli(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def refused(self, *args: str) -> str:
        """The one-line error of a command that must fail with exit 1 and print nothing."""
        result = self.cli(*args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        return result.stderr.strip()

    def plan_json(self, *args: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.ok("plan", "--format", "json", *args).stdout)
        jsonschema.validate(document, PLAN_SCHEMA)
        return document

    @property
    def state_path(self) -> Path:
        return self.directory / "state" / "cupiform-state.json"

    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state_path.read_text())
        return loaded

    def server(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.served.url,
            auth=("admin", "admin"),
            headers={"Accept": "application/json"},
        )

    def live_items(self) -> list[dict[str, str]]:
        """Every proxy address on the server, as the server lists it (one page: the
        emulator's default page holds 2,000)."""
        with self.server() as client:
            body = client.get("/vmrest/smtpproxyaddresses").json()
        items = body.get("SmtpProxyAddress", [])
        listed: list[dict[str, str]] = [items] if isinstance(items, dict) else items
        assert int(body["@total"]) == len(listed)
        return listed

    def live(self) -> dict[str, str]:
        """SmtpAddress -> ObjectId of every address on the server."""
        return {item["SmtpAddress"]: item["ObjectId"] for item in self.live_items()}

    def emulator_stats(self) -> dict[str, Any]:
        with httpx.Client(base_url=self.served.url) as client:
            stats: dict[str, Any] = client.get("/emulator/stats").json()
        return stats

    def reset_stats(self) -> None:
        with httpx.Client(base_url=self.served.url) as client:
            client.post("/emulator/stats").raise_for_status()

    def writes(self) -> dict[str, int]:
        """Answers of write calls (201 created, 204 updated or deleted) since the reset."""
        by_status: dict[str, int] = self.emulator_stats()["by_status"]
        return {status: n for status, n in by_status.items() if status in ("201", "204")}

    def set_faults(self, **faults: object) -> None:
        with httpx.Client(base_url=self.served.url) as client:
            client.post("/emulator/faults", json=faults).raise_for_status()


def _answer_sigint() -> None:
    # A test suite started in the background by a shell (``pytest &``) ignores SIGINT, and
    # so would its children: Python then never turns Ctrl-C into KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


ProjectFactory = Callable[..., Project]


@pytest.fixture
def make_project(tmp_path: Path) -> Iterator[ProjectFactory]:
    """``make_project(*EMULATOR_ARGS, seed=None)``: a new project folder and its own emulator,
    started with ``emulator serve --seed SEED EMULATOR_ARGS``, or seeded with ``seed`` when
    given."""
    default_seed = tmp_path / "seed.yaml"
    default_seed.write_text(yaml.safe_dump(SEED))
    with ExitStack() as stack:
        made = 0

        def make(*emulator_args: str, seed: dict[str, Any] | None = None) -> Project:
            nonlocal made
            made += 1
            seed_file = default_seed
            if seed is not None:
                seed_file = tmp_path / f"seed{made}.json"
                seed_file.write_text(json.dumps(seed))  # JSON is YAML, and quick to load
            folder = tmp_path / f"project{made}"
            folder.mkdir()
            served = stack.enter_context(emulator_process("--seed", str(seed_file), *emulator_args))
            return Project(folder, served)

        yield make


@pytest.fixture
def project(make_project: ProjectFactory) -> Project:
    return make_project()
