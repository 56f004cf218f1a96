"""The project file, ``cupiform.yaml``, read into a typed ``Config``.

It is checked against ``schemas/config.schema.json`` and a few rules the schema cannot
state; every problem is reported at once with its line and column. Defaults are the
spec's; paths are taken relative to the project file's directory; ``CUPIFORM_SERVER_URL``
overrides ``server.url``. Credentials never come from here: only from ``CUPI_USERNAME``
and ``CUPI_PASSWORD`` in the environment, and a ``password`` key is refused.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cupiform.errors import ConfigError, InvalidConfigError, Problem
from cupiform.model import Source
from cupiform.schema import Schema
from cupiform.yamlload import load_yaml_file, position_of

PROJECT_FILE = "cupiform.yaml"
SERVER_URL_ENV = "CUPIFORM_SERVER_URL"
EMBEDDED = "embedded"
DEFAULT_STATE = "state/cupiform-state.json"
DEFAULT_MANIFESTS = ("manifests/*.yaml",)

WireFormat = Literal["json", "xml"]

_URL_WITH_CREDENTIALS = re.compile(r"^https?://[^/?#]*@")


@dataclass(frozen=True)
class ServerConfig:
    """``server:``; ``url`` is the effective one, after ``CUPIFORM_SERVER_URL``."""

    url: str
    verify: bool | Path = True
    format: WireFormat = "json"
    timeout: float = 30.0
    parallelism: int = 4
    page_size: int = 1000
    seed: Path | None = None

    @property
    def embedded(self) -> bool:
        return self.url == EMBEDDED

    @property
    def identity(self) -> str:
        """The server as the state file records it: the URL without ``/vmrest``."""
        url = self.url
        for suffix in ("/vmrest/", "/vmrest"):
            if url.endswith(suffix):
                return url[: -len(suffix)]
        return url


@dataclass(frozen=True)
class Safety:
    max_delete_percent: float = 30.0
    min_managed: int = 10


@dataclass(frozen=True)
class ManifestGlob:
    """One pattern of ``manifests:``, relative to the project directory, and where it is
    written (a glob that matches no file is an error there)."""

    pattern: str
    source: Source


@dataclass(frozen=True)
class Config:
    directory: Path
    server: ServerConfig
    state: Path
    manifests: tuple[ManifestGlob, ...]
    prune: bool = False
    safety: Safety = field(default_factory=Safety)

    @property
    def file(self) -> Path:
        return self.directory / PROJECT_FILE

    @property
    def emulator_db(self) -> Path:
        """With ``url: embedded``: the emulator's SQLite file, beside the state file."""
        return self.state.parent / "emulator.sqlite"

    def display(self, path: Path) -> str:
        """How messages name ``path``: relative to the project directory when inside it."""
        try:
            return path.relative_to(self.directory).as_posix()
        except ValueError:
            return path.as_posix()

    def manifest_files(self) -> tuple[list[tuple[Path, str]], list[Problem]]:
        """The files the globs match, sorted and each once, with their display names; and a
        problem for each glob that matches no file."""
        found: dict[str, Path] = {}
        problems: list[Problem] = []
        for manifest_glob in self.manifests:
            matches = [
                self.directory / match
                for match in glob.glob(
                    manifest_glob.pattern, root_dir=self.directory, recursive=True
                )
            ]
            files = [path for path in matches if path.is_file()]
            if not files:
                source = manifest_glob.source
                problems.append(
                    Problem(
                        source.file,
                        source.line,
                        source.column,
                        f"manifests: '{manifest_glob.pattern}' matches no file",
                    )
                )
            for path in files:
                found.setdefault(self.display(path), path)
        return [(found[name], name) for name in sorted(found)], problems


def load_config(directory: Path, environ: Mapping[str, str]) -> Config:
    """Read ``cupiform.yaml`` in ``directory``; raise ``ConfigError`` (``InvalidConfigError``
    with every problem) when it is missing or refused."""
    directory = directory.resolve()
    path = directory / PROJECT_FILE
    if not path.is_file():
        raise ConfigError(
            f"no {PROJECT_FILE} in {directory} (run cupiform in the project directory, "
            "or name it with -C DIR)"
        )
    document = load_yaml_file(path, PROJECT_FILE)
    problems = list(document.problems)
    if not document.parsed:
        raise InvalidConfigError(problems)
    root = document.root
    schema = Schema("config")
    problems.extend(schema.problems(document))
    if problems:
        raise InvalidConfigError(problems)

    def place(*path: str | int, key: bool = False) -> Source:
        line, column = position_of(root, path, key=key)
        return Source(PROJECT_FILE, line, column)

    def refuse(source: Source, message: str) -> None:
        problems.append(Problem(source.file, source.line, source.column, message))

    server: Mapping[str, Any] = root["server"]
    configured_url: str = server["url"]
    if _URL_WITH_CREDENTIALS.match(configured_url):
        refuse(place("server", "url"), f"server.url: {_CREDENTIALS_IN_URL}")
    if "seed" in server and configured_url != EMBEDDED:
        refuse(place("server", "seed", key=True), "server.seed is only used with url: embedded")
    url_schema = schema.document["properties"]["server"]["properties"]["url"]
    url = _server_url(configured_url, environ, re.compile(url_schema["pattern"]))

    verify = server.get("verify", True)
    seed = server.get("seed")
    safety: Mapping[str, Any] = root.get("safety") or {}
    manifests = root.get("manifests", list(DEFAULT_MANIFESTS))
    globs = tuple(
        ManifestGlob(pattern, place("manifests", index) if "manifests" in root else place())
        for index, pattern in enumerate(manifests)
    )
    if problems:
        raise InvalidConfigError(problems)
    return Config(
        directory=directory,
        server=ServerConfig(
            url=url,
            verify=directory / verify if isinstance(verify, str) else bool(verify),
            format=server.get("format", "json"),
            timeout=float(server.get("timeout", 30)),
            parallelism=int(server.get("parallelism", 4)),
            page_size=int(server.get("page_size", 1000)),
            seed=directory / seed if seed is not None else None,
        ),
        state=directory / root.get("state", DEFAULT_STATE),
        manifests=globs,
        prune=bool(root.get("prune", False)),
        safety=Safety(
            max_delete_percent=float(safety.get("max_delete_percent", 30)),
            min_managed=int(safety.get("min_managed", 10)),
        ),
    )


_CREDENTIALS_IN_URL = (
    "credentials do not belong in the URL: they come only from the environment "
    "(CUPI_USERNAME, CUPI_PASSWORD)"
)


def _server_url(configured: str, environ: Mapping[str, str], valid: re.Pattern[str]) -> str:
    override = environ.get(SERVER_URL_ENV, "")
    if not override:
        return configured
    if _URL_WITH_CREDENTIALS.match(override):
        raise ConfigError(f"{SERVER_URL_ENV}: {_CREDENTIALS_IN_URL}")
    if not valid.match(override):
        raise ConfigError(
            f"{SERVER_URL_ENV}: {override!r} is not an http:// or https:// URL, or 'embedded'"
        )
    return override
