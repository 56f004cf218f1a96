"""Renderers: the JSON plan against its schema, the text plan's shape, markdown's limit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from cupiform.plan import Action, Plan
from cupiform.render.json_plan import render_json
from cupiform.render.markdown import LIMIT, render_markdown
from cupiform.render.text import render_text
from tests.planner.test_golden import CASES, run_case

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "plan.schema.json").read_text())
PLANNABLE = [c for c in CASES if not (c / "error.txt").exists()]


@pytest.mark.parametrize("case", PLANNABLE, ids=[c.name for c in PLANNABLE])
def test_json_plan_matches_its_schema(case: Path) -> None:
    document = json.loads(render_json(run_case(case)))
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert list(document)[:1] == ["format_version"]


def test_json_plan_of_a_swap() -> None:
    document = json.loads(render_json(run_case(next(c for c in CASES if c.name == "17-swap"))))
    keys = [a["key"] for a in document["actions"]]
    assert keys == [
        "smtp_proxy_address.jdoe-a#tmp",
        "smtp_proxy_address.mary-b",
        "smtp_proxy_address.jdoe-a",
    ]
    assert document["actions"][1]["depends_on"] == ["smtp_proxy_address.jdoe-a#tmp"]
    assert document["actions"][1]["source"] == "manifest.yaml:5"
    assert document["actions"][1]["diff"] == {
        "values_changed": {
            "root['SmtpAddress']": {"new_value": "a@example.com", "old_value": "b@example.com"}
        }
    }
    assert document["summary"] == {
        "create": 0,
        "update": 2,
        "delete": 0,
        "adopt": 0,
        "move": 0,
        "forget": 0,
        "drift": 0,
        "unmanaged": 0,
        "changes": True,
    }


def test_text_plan_reads_like_terraform() -> None:
    text = render_text(run_case(next(c for c in CASES if c.name == "08-drift-changed-reverted")))
    assert text.splitlines() == [
        "Objects changed outside cupiform:",
        "",
        "  # smtp_proxy_address.jdoe-work was changed outside cupiform "
        "(ObjectId a0000000-0000-4000-8000-000000000001)",
        '      ~ SmtpAddress = "john.doe@example.com" -> "john.d@example.com"',
        "",
        "cupiform will perform the following actions, in this order:",
        "",
        "  # smtp_proxy_address.jdoe-work will be updated in place: changed outside cupiform; "
        "the manifest's values are restored",
        "  ~ smtp_proxy_address.jdoe-work  (ObjectId a0000000-0000-4000-8000-000000000001; "
        "manifest.yaml:2)",
        '      ~ SmtpAddress = "john.d@example.com" -> "john.doe@example.com"',
        "",
        "Plan: 1 to update.",
    ]


def test_text_plan_without_changes_and_colour_only_when_asked() -> None:
    plan = run_case(next(c for c in CASES if c.name == "00-no-change"))
    assert render_text(plan) == "No changes. The server matches the manifests.\n"
    created = run_case(next(c for c in CASES if c.name == "01-create"))
    assert "\x1b[" not in render_text(created)
    assert "\x1b[32m+\x1b[0m" in render_text(created, color=True)


def _many_creates(count: int) -> Plan:
    return Plan(
        tuple(
            Action(
                f"smtp_proxy_address.user{i:06d}",
                "smtp_proxy_address",
                f"smtp_proxy_address.user{i:06d}",
                "create",
                None,
                None,
                {
                    "SmtpAddress": f"user{i:06d}@example.com",
                    "ObjectGlobalUserObjectId": "9375d893-c8eb-437b-90bf-7de4b1d0c3e8",
                },
                "new in the manifests",
                source=f"manifests/users.yaml:{3 * i + 2}",
            )
            for i in range(count)
        )
    )


def test_markdown_stays_under_the_comment_limit_and_says_what_it_left_out() -> None:
    text = render_markdown(_many_creates(5000))
    assert len(text) < LIMIT
    match = re.search(r"\*\*(\d+) more items not shown\*\*", text)
    assert match is not None
    shown = text.count("<details>")
    assert shown + int(match.group(1)) == 5000
    assert "| + create | 5000 |" in text


def test_markdown_small_plan_is_whole() -> None:
    text = render_markdown(_many_creates(3))
    assert text.count("<details>") == 3
    assert "not shown" not in text
    assert "+ SmtpAddress: user000002@example.com" in text


def test_markdown_shows_addresses_as_written_and_keeps_actions_when_cut() -> None:
    from cupiform.plan import Unmanaged

    odd = "*sales*_x`y`@example.com"
    action = Action(
        "smtp_proxy_address.odd",
        "smtp_proxy_address",
        "smtp_proxy_address.odd",
        "create",
        None,
        None,
        {"SmtpAddress": odd},
        "new in the manifests | <b>not bold</b>",
        source="manifests/a.yaml:2",
    )
    strays = tuple(
        Unmanaged("smtp_proxy_address", f"id-{i}", {"SmtpAddress": f"stray{i}@example.com"}, "jdoe")
        for i in range(5000)
    )
    text = render_markdown(Plan((action,), unmanaged=strays))
    assert len(text) < LIMIT
    assert text.index("### Actions, in order") < text.index("### Unmanaged objects")
    assert "Why: new in the manifests \\| &lt;b&gt;not bold&lt;/b&gt;" in text
    assert f"+ SmtpAddress: {odd}" in text  # inside the code block: as written
    assert "not shown" in text
