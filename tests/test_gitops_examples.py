"""The GitOps examples (``examples/gitops``): pipelines that parse, ``cupiform`` command lines
that the CLI knows (checked against its click commands), and those same command lines run
against ``cupiform emulator serve`` over HTTPS, as the pipelines run them: the plan for a
pull request, the apply of the saved plan, the refusal of a plan that is out of date, the
re-plan fallback and the drift check.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
import yaml

from cupiform.cli import cli
from tests.processes import emulator_process, run_cli

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples" / "gitops"
GITHUB = EXAMPLES / "github"
GITLAB = EXAMPLES / "gitlab"
WORKFLOWS = sorted((GITHUB / ".github" / "workflows").glob("*.yml"))
GITLAB_CI = GITLAB / ".gitlab-ci.yml"
PIPELINES = [*WORKFLOWS, GITLAB_CI]
HELPER = GITLAB / "ci" / "cupiform_gitlab.py"
SHELL_KEYS = frozenset({"run", "script", "before_script", "after_script"})

# Where a shell command may begin: the start of a line, or after one of these tokens.
_COMMAND_START = frozenset(
    {";", "&&", "||", "|", "&", "(", "{", "!", "then", "do", "else", "elif", "if", "while"}
)
_OPERATOR = re.compile(r"^[();<>|&]+$")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _shell_texts(node: Any, key: str = "") -> Iterator[str]:
    """Every shell text of a pipeline: ``run:`` of GitHub steps, ``script:`` (and
    ``before_script``/``after_script``) of GitLab jobs, their lists flattened."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _shell_texts(value, str(name))
    elif isinstance(node, list):
        for item in node:
            yield from _shell_texts(item, key)
    elif isinstance(node, str) and key in SHELL_KEYS:
        yield node


def _logical_lines(text: str) -> Iterator[str]:
    """Lines, with backslash continuations joined."""
    pending = ""
    for line in text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def cupiform_commands(text: str) -> list[list[str]]:
    """The arguments of every ``cupiform`` command in a shell text (redirections and pipes
    left out), found where a command may begin."""
    found: list[list[str]] = []
    for line in _logical_lines(text):
        if "cupiform" not in line:
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for index, token in enumerate(tokens):
            if token != "cupiform" or (index and tokens[index - 1] not in _COMMAND_START):
                continue
            args: list[str] = []
            for position in range(index + 1, len(tokens)):
                word = tokens[position]
                following = tokens[position + 1] if position + 1 < len(tokens) else ""
                if _OPERATOR.match(word) or (word.isdigit() and following[:1] in "<>"):
                    break
                args.append(word)
            found.append(args)
    return found


def pipeline_commands(path: Path) -> list[list[str]]:
    return [args for text in _shell_texts(_load(path)) for args in cupiform_commands(text)]


def _options(command: click.Command) -> dict[str, bool]:
    """Each option name of ``command`` -> whether it takes a value."""
    names: dict[str, bool] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            takes_value = not (param.is_flag or param.count)
            for name in (*param.opts, *param.secondary_opts):
                names[name] = takes_value
    return names


def _check_options(command: click.Command, args: list[str], where: str, *, leading: bool) -> int:
    """Check the option tokens of ``args`` against ``command``; returns how many tokens the
    leading options take (all of them for a leaf command)."""
    known = _options(command)
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            return len(args)
        if not token.startswith("-") or token == "-":
            if leading:
                return index
            index += 1
            continue
        name = token.split("=", 1)[0]
        assert name in known, f"{where}: no option {name} (known: {', '.join(sorted(known))})"
        index += 2 if known[name] and "=" not in token else 1
    return index


def check_command_line(args: list[str]) -> tuple[str, ...]:
    """Fail unless ``cupiform ARGS`` names existing (sub)commands with existing options and
    parses (types, required arguments); returns the command path, e.g. ("plan",)."""
    command: click.Command = cli
    path: list[str] = []
    rest = list(args)
    while isinstance(command, click.Group):
        where = " ".join(["cupiform", *path])
        rest = rest[_check_options(command, rest, where, leading=True) :]
        assert rest, f"{where}: no subcommand"
        name = rest.pop(0)
        assert name in command.commands, (
            f"{where}: no command {name!r} (known: {', '.join(sorted(command.commands))})"
        )
        command = command.commands[name]
        path.append(name)
    where = " ".join(["cupiform", *path])
    _check_options(command, rest, where, leading=False)
    try:
        command.make_context(where, list(rest))
    except click.ClickException as refused:
        pytest.fail(f"cupiform {shlex.join(args)}: {refused.format_message()}")
    return tuple(path)


# -- the files -----------------------------------------------------------------------------


def test_the_examples_are_all_there() -> None:
    assert [p.name for p in WORKFLOWS] == ["apply.yml", "drift.yml", "plan.yml"]
    assert GITLAB_CI.is_file()
    assert (EXAMPLES / "README.md").is_file()


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_pipeline_is_valid_yaml_with_cupiform_commands_the_cli_knows(path: Path) -> None:
    document = _load(path)
    assert isinstance(document, dict)
    if path.suffix == ".yml" and path.parent.name == "workflows":
        assert "on" in document or True in document  # YAML 1.1 reads the key `on` as true
        assert document["jobs"]
    commands = pipeline_commands(path)
    assert commands, f"{path.name}: no cupiform command found"
    for args in commands:
        check_command_line(args)


def test_the_command_line_check_refuses_what_the_cli_does_not_know() -> None:
    assert check_command_line(["plan", "--format", "markdown", "--out", "p.json"]) == ("plan",)
    assert check_command_line(["-C", "dir", "state", "list"]) == ("state", "list")
    for wrong in (
        ["plan", "--output", "p.json"],
        ["planx"],
        ["apply", "--yes"],
        ["state", "remove", "x"],
        ["--colour", "plan"],
        ["plan", "--format", "yaml"],
        ["export"],  # --out is required
    ):
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            check_command_line(wrong)


def test_commands_are_found_where_a_shell_would_run_them() -> None:
    text = (
        "set +e\n"
        "cupiform plan --format markdown --out plan.json > plan.md 2> plan.err\n"
        "echo '## cupiform plan' # cupiform apply in a comment\n"
        "pip install cupiform==0.1.0 && cupiform -v apply \\\n"
        "  saved/plan.json 2>&1 | tee apply.log\n"
        'if ! cupiform validate; then echo "cupiform state list"; fi\n'
    )
    assert cupiform_commands(text) == [
        ["plan", "--format", "markdown", "--out", "plan.json"],
        ["-v", "apply", "saved/plan.json"],
        ["validate"],
    ]


def test_every_pipeline_runs_the_same_steps_on_github_and_gitlab() -> None:
    def roles(commands: list[list[str]]) -> set[str]:
        return {_role(args) for args in commands} - {""}

    github = roles([a for path in WORKFLOWS for a in pipeline_commands(path)])
    gitlab = roles(pipeline_commands(GITLAB_CI))
    assert github == gitlab == {"plan-for-review", "apply-saved", "apply-replan", "drift"}


def test_applies_never_run_two_at_once() -> None:
    apply = _load(GITHUB / ".github" / "workflows" / "apply.yml")
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert apply["concurrency"]["group"]
    gitlab = _load(GITLAB_CI)
    groups = {gitlab[job].get("resource_group") for job in ("cupiform-apply", "cupiform-replan")}
    assert groups == {gitlab["cupiform-drift"]["resource_group"]} != {None}


def test_both_examples_hold_the_same_project() -> None:
    for name in ("cupiform.yaml", ".gitignore", "manifests/people.yaml"):
        assert (GITHUB / name).read_text() == (GITLAB / name).read_text(), name


# -- the command lines, run ---------------------------------------------------------------


def _role(args: list[str]) -> str:
    """What a pipeline's cupiform command line is for."""
    if args[:1] == ["plan"] and "--refresh-only" in args and "--detailed-exitcode" in args:
        return "drift"
    if args[:1] == ["plan"] and "--out" in args and "markdown" in args:
        return "plan-for-review"
    if args[:1] == ["apply"] and any(not a.startswith("-") for a in args[1:]):
        return "apply-saved"
    if args[:1] == ["apply"] and "--auto-approve" in args:
        return "apply-replan"
    return ""


def _stale_pattern() -> re.Pattern[str]:
    """The pattern by which the apply pipelines tell an out-of-date plan from a failure."""
    found = {
        match
        for path in (GITHUB / ".github" / "workflows" / "apply.yml", GITLAB_CI)
        for match in re.findall(r"grep -Eq '([^']+)' apply\.log", path.read_text())
    }
    assert len(found) == 1, found
    return re.compile(found.pop())


def _by_role() -> dict[str, list[list[str]]]:
    commands: dict[str, list[list[str]]] = {}
    for path in PIPELINES:
        for args in pipeline_commands(path):
            if args not in commands.setdefault(_role(args), []):
                commands[_role(args)].append(args)
    return commands


def test_the_pipelines_command_lines_against_the_emulator(tmp_path: Path) -> None:
    commands = _by_role()
    stale = _stale_pattern()
    project = tmp_path / "repository"
    shutil.copytree(GITHUB, project, ignore=shutil.ignore_patterns(".github"))
    config = _load(project / "cupiform.yaml")
    manifests = [_load(p) for p in sorted((project / "manifests").glob("*.yaml"))]
    resources = {n: r for m in manifests for n, r in m["smtp_proxy_addresses"].items()}
    aliases = sorted({r["user"] for r in resources.values()})
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump({"users": [{"alias": alias} for alias in aliases]}))
    ca = project / config["server"]["verify"]  # where the pipelines write the CA bundle

    with emulator_process("--seed", str(seed), "--tls", "--ca-out", str(ca), lifetime=60) as served:
        environment = {
            "CUPIFORM_SERVER_URL": served.url,
            "CUPI_USERNAME": "admin",
            "CUPI_PASSWORD": "admin",
        }

        def cupiform(args: list[str]) -> subprocess.CompletedProcess[str]:
            return run_cli(*args, cwd=project, env=environment, timeout=60)

        def plan_for_review() -> None:
            """Each plan-for-review line; the saved plan goes where apply-saved reads it."""
            for args in commands["plan-for-review"]:
                planned = cupiform(args)
                assert planned.returncode == 0, planned.stderr
                assert planned.stdout.startswith("## cupiform plan"), planned.stdout[:200]
                saved = project / args[args.index("--out") + 1]
                assert "saved_plan_version" in json.loads(saved.read_text())
            for args in commands["apply-saved"]:
                planfile = next(a for a in args[1:] if not a.startswith("-"))
                (project / planfile).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(saved, project / planfile)

        def drift(expected: int) -> list[subprocess.CompletedProcess[str]]:
            runs = [cupiform(args) for args in commands["drift"]]
            for checked in runs:
                assert checked.returncode == expected, checked.stdout + checked.stderr
            return runs

        def change_on_the_server(name: str, address: str) -> None:
            state = json.loads((project / config["state"]).read_text())
            object_id = state["resources"][f"smtp_proxy_address.{name}"]["object_id"]
            trust = ssl.create_default_context(cafile=str(ca))
            with httpx.Client(base_url=served.url, auth=("admin", "admin"), verify=trust) as c:
                c.put(
                    f"/vmrest/smtpproxyaddresses/{object_id}", json={"SmtpAddress": address}
                ).raise_for_status()

        # A pull request: the plan as markdown, saved; after the merge, apply carries it out.
        plan_for_review()
        assert len(commands["plan-for-review"]) == 1  # the same line on GitHub and GitLab
        for args in commands["apply-saved"]:
            applied = cupiform(args)
            assert applied.returncode == 0, applied.stderr
            assert f"Apply finished: {len(resources)} done" in applied.stdout
        drift(expected=0)

        # Someone changes an address on the server: the scheduled check fails and says what.
        name = sorted(resources)[0]
        change_on_the_server(name, "changed.by.hand@example.com")
        for checked in drift(expected=2):
            assert f"smtp_proxy_address.{name}" in checked.stdout
            assert "changed.by.hand@example.com" in checked.stdout

        # The saved plan once applied is stale now: refused, and recognised as out of date.
        for args in commands["apply-saved"]:
            refused = cupiform(args)
            assert refused.returncode == 1
            assert "is stale:" in refused.stderr and stale.search(refused.stderr)

        # A plan reviewed, then the server changes before the merge: refused too.
        plan_for_review()
        change_on_the_server(name, "changed.again@example.com")
        for args in commands["apply-saved"]:
            refused = cupiform(args)
            assert refused.returncode == 1
            assert "the server changed since the plan was made" in refused.stderr
            assert stale.search(refused.stderr)

        # Where policy allows, the fallback plans again and applies; the server is clean.
        for args in commands["apply-replan"]:
            replanned = cupiform(args)
            assert replanned.returncode == 0, replanned.stderr
        drift(expected=0)


# -- the GitLab helper ---------------------------------------------------------------------


class _FakeGitLab(BaseHTTPRequestHandler):
    """Just enough of GitLab's API for ci/cupiform_gitlab.py."""

    notes: list[dict[str, Any]]
    calls: list[tuple[str, str]]
    artifacts: dict[str, bytes]

    def _reply(self, status: int, body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        return loaded

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path))
        assert self.headers["PRIVATE-TOKEN"] == "token"
        if "/notes" in self.path:
            self._reply(200, self.notes if self.path.endswith("&page=1") else [])
        elif self.path.endswith("/merge_requests"):
            self._reply(200, [{"iid": 7, "state": "merged", "target_branch": "main"}])
        elif "/jobs/artifacts/refs%2Fmerge-requests%2F7%2Fhead/raw/" in self.path:
            name = self.path.split("/raw/")[1].split("?")[0]
            self._reply(200, self.artifacts[name])
        else:
            self._reply(404, {"message": "404 Not found"})

    def do_PUT(self) -> None:
        self.calls.append(("PUT", self.path))
        self.notes[0]["body"] = self._body()["body"]
        self._reply(200, self.notes[0])

    def do_POST(self) -> None:
        self.calls.append(("POST", self.path))
        self.notes.append({"id": 99, "body": self._body()["body"]})
        self._reply(201, self.notes[-1])

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_gitlab_helper_updates_its_note_and_fetches_the_reviewed_plan(
    tmp_path: Path,
) -> None:
    _FakeGitLab.notes = [{"id": 1, "body": "a reviewer's comment"}]
    _FakeGitLab.calls = []
    _FakeGitLab.artifacts = {"plan.json": b'{"saved_plan_version": 1}\n', "inputs.sha256": b"ab\n"}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeGitLab)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    environment = {
        "CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_COMMIT_SHA": "0123456789abcdef",
        "CI_DEFAULT_BRANCH": "main",
        "CUPIFORM_GITLAB_TOKEN": "token",
    }
    (tmp_path / "plan.md").write_text("## cupiform plan\n\n**Plan: 1 to create.**\n")

    def helper(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(HELPER), *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=30,
        )

    try:
        first = helper("note", "plan.md")
        assert first.returncode == 0, first.stderr
        second = helper("note", "plan.md")
        assert second.returncode == 0, second.stderr
        fetched = helper("fetch-plan", "saved")
        assert fetched.returncode == 0, fetched.stderr
    finally:
        server.shutdown()
        server.server_close()
    methods = [method for method, _ in _FakeGitLab.calls if method != "GET"]
    assert methods == ["POST", "PUT"]  # posted once, then updated: one note per merge request
    assert len(_FakeGitLab.notes) == 2
    assert _FakeGitLab.notes[1]["body"].startswith("<!-- cupiform-plan -->\n## cupiform plan")
    assert (tmp_path / "saved" / "plan.json").read_bytes() == _FakeGitLab.artifacts["plan.json"]
    assert (tmp_path / "saved" / "inputs.sha256").read_text() == "ab\n"
    assert "token" not in first.stdout + first.stderr + fetched.stdout + fetched.stderr
