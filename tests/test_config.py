"""The project file: defaults, paths, the server URL override, and every refusal placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from cupiform.config import Config, ManifestGlob, Safety, ServerConfig, load_config
from cupiform.errors import ConfigError, InvalidConfigError
from cupiform.model import Source


def project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cupiform.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def refusals(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(InvalidConfigError) as refused:
        load_config(project(tmp_path, text), environ or {})
    return [str(problem) for problem in refused.value.problems]


def test_the_smallest_file_takes_the_spec_defaults(tmp_path: Path) -> None:
    config = load_config(project(tmp_path, "server:\n  url: embedded\n"), {})
    assert config == Config(
        directory=tmp_path.resolve(),
        server=ServerConfig(url="embedded"),
        state=tmp_path.resolve() / "state" / "cupiform-state.json",
        manifests=(ManifestGlob("manifests/*.yaml", Source("cupiform.yaml", 1, 1)),),
        prune=False,
        safety=Safety(max_delete_percent=30.0, min_managed=10),
    )
    server = config.server
    assert (server.verify, server.format, server.timeout) == (True, "json", 30.0)
    assert (server.parallelism, server.page_size, server.seed) == (4, 1000, None)
    assert server.embedded
    assert config.emulator_db == tmp_path.resolve() / "state" / "emulator.sqlite"


def test_every_setting_is_read_and_paths_are_relative_to_the_project_file(tmp_path: Path) -> None:
    text = """\
server:
  url: embedded
  verify: certs/ca.pem
  format: xml
  timeout: 2.5
  parallelism: 8
  page_size: 200
  seed: users.yaml
state: other/state.json
manifests: [a/*.yaml, "b/**/*.yml"]
prune: true
safety:
  max_delete_percent: 12.5
  min_managed: 0
"""
    config = load_config(project(tmp_path, text), {})
    root = tmp_path.resolve()
    assert config.server == ServerConfig(
        url="embedded",
        verify=root / "certs" / "ca.pem",
        format="xml",
        timeout=2.5,
        parallelism=8,
        page_size=200,
        seed=root / "users.yaml",
    )
    assert config.state == root / "other" / "state.json"
    assert [(g.pattern, str(g.source)) for g in config.manifests] == [
        ("a/*.yaml", "cupiform.yaml:10:13"),
        ("b/**/*.yml", "cupiform.yaml:10:23"),
    ]
    assert config.prune is True
    assert config.safety == Safety(max_delete_percent=12.5, min_managed=0)
    assert config.display(root / "a" / "x.yaml") == "a/x.yaml"


def test_verify_false_and_the_server_identity(tmp_path: Path) -> None:
    text = "server:\n  url: https://cuc.example.com:8443/vmrest\n  verify: false\n"
    server = load_config(project(tmp_path, text), {}).server
    assert server.verify is False
    assert server.identity == "https://cuc.example.com:8443"
    assert not server.embedded


def test_the_environment_overrides_the_server_url(tmp_path: Path) -> None:
    text = "server:\n  url: embedded\n  seed: users.yaml\n"
    environ = {"CUPIFORM_SERVER_URL": "https://cuc-pub.example.com"}
    server = load_config(project(tmp_path, text), environ).server
    assert server.url == "https://cuc-pub.example.com"
    # an empty variable is no override
    assert load_config(tmp_path, {"CUPIFORM_SERVER_URL": ""}).server.url == "embedded"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "ftp://cuc",
            "CUPIFORM_SERVER_URL: 'ftp://cuc' is not an http:// or https:// URL, or 'embedded'",
        ),
        (
            "https://admin:secret@cuc",
            "CUPIFORM_SERVER_URL: credentials do not belong in the "
            "URL: they come only from the environment (CUPI_USERNAME, CUPI_PASSWORD)",
        ),
    ],
)
def test_a_bad_override_is_refused_by_name(tmp_path: Path, value: str, message: str) -> None:
    project(tmp_path, "server: {url: embedded}\n")
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path, {"CUPIFORM_SERVER_URL": value})
    assert str(refused.value) == message


def test_a_missing_project_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path, {})
    assert str(refused.value) == (
        f"no cupiform.yaml in {tmp_path.resolve()} (run cupiform in the project directory, "
        "or name it with -C DIR)"
    )


REFUSALS = [
    ("", ["cupiform.yaml:1:1: expected a mapping, got nothing"]),
    ("- server\n", ["cupiform.yaml:1:1: expected a mapping, got a list"]),
    ("state: x.json\n", ["cupiform.yaml:1:1: missing required key 'server'"]),
    ("server: {}\n", ["cupiform.yaml:1:1: server: missing required key 'url'"]),
    (
        "server:\n  url: cuc.example.com\n",
        [
            "cupiform.yaml:2:8: server.url: 'cuc.example.com' is not an http:// or https:// "
            "URL, or 'embedded'"
        ],
    ),
    (
        "server:\n  url: https://admin:admin@cuc.example.com\n",
        [
            "cupiform.yaml:2:8: server.url: credentials do not belong in the URL: they come only "
            "from the environment (CUPI_USERNAME, CUPI_PASSWORD)"
        ],
    ),
    (
        "server:\n  url: embedded\n  password: admin\n",
        [
            "cupiform.yaml:3:3: 'password' is not allowed: credentials come only from the "
            "environment (CUPI_USERNAME, CUPI_PASSWORD)"
        ],
    ),
    (
        "server:\n  url: https://cuc.example.com\n  seed: users.yaml\n",
        ["cupiform.yaml:3:3: server.seed is only used with url: embedded"],
    ),
    (
        "server:\n  url: embedded\n  paralelism: 2\n  format: yaml\n  timeout: 0\n",
        [
            "cupiform.yaml:3:3: unknown key 'paralelism' (did you mean 'parallelism'?)",
            "cupiform.yaml:4:11: server.format: expected one of 'json', 'xml', got the text 'yaml'",
            "cupiform.yaml:5:12: server.timeout: must be more than 0, got 0",
        ],
    ),
    (
        "server: {url: embedded, verify: yes please, page_size: 1.5}\nprune: maybe\n",
        [
            "cupiform.yaml:1:56: server.page_size: expected a whole number, got the number 1.5",
            "cupiform.yaml:2:8: prune: expected true or false, got the text 'maybe'",
        ],
    ),
    (
        "server: {url: embedded}\nmanifests: manifests/*.yaml\nsafety: {max_delete_percent: 101}\n",
        [
            "cupiform.yaml:2:12: manifests: expected a list, got the text 'manifests/*.yaml'",
            "cupiform.yaml:3:30: safety.max_delete_percent: must be at most 100, got 101",
        ],
    ),
    (
        "server: {url: embedded}\nserver: {url: embedded}\n",
        ["cupiform.yaml:2:1: duplicate key 'server' (first defined at line 1)"],
    ),
    (
        "server: {url: embedded\n",
        [
            "cupiform.yaml:2:1: invalid YAML: did not find expected ',' or '}' "
            "(while parsing a flow mapping at line 1)"
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), REFUSALS)
def test_refusals_name_line_and_column(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert refusals(tmp_path, text) == expected


def test_refused_config_message_lists_every_problem(tmp_path: Path) -> None:
    project(tmp_path, "server: {url: embedded, colour: red, format: csv}\n")
    with pytest.raises(InvalidConfigError) as refused:
        load_config(tmp_path, {})
    assert str(refused.value) == "\n".join(
        [
            "2 errors:",
            "  cupiform.yaml:1:25: unknown key 'colour'",
            "  cupiform.yaml:1:46: server.format: expected one of 'json', 'xml', "
            "got the text 'csv'",
        ]
    )
