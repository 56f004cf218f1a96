"""The plan as a pull-request comment: a summary table, then drift, unmanaged objects and
actions, each folded in ``<details>``. Kept under ``LIMIT`` characters (GitHub refuses
comments over 65,536): what does not fit is left out, with a note saying how much."""

from __future__ import annotations

import re

from cupiform.plan import ACTION_ORDER, Action, Plan
from cupiform.render.common import (
    SYMBOLS,
    VERBS,
    FieldChange,
    action_changes,
    changes_from_diff,
    label,
    summary_line,
)

LIMIT = 65_000
_NOTE_ROOM = 400
TITLE = "## cupiform plan"


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def _html(text: str) -> str:
    """Text inside an HTML element (a summary): entities only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape(text: str) -> str:
    """Text in markdown (a line, a table cell): shown as written, addresses included."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", _html(text))


def _fence(body: str, info: str) -> str:
    """A code block whose fence no run of backticks in ``body`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"\n{fence}{info}\n{body}\n{fence}\n"


def _diff_block(changes: list[FieldChange]) -> str:
    lines = []
    for change in changes:
        if change.old is None:
            lines.append(f"+ {change.name}: {change.new}")
        elif change.new is None:
            lines.append(f"- {change.name}: {change.old}")
        elif change.old != change.new:
            lines.append(f"- {change.name}: {change.old}")
            lines.append(f"+ {change.name}: {change.new}")
    if not lines:
        return ""
    return _fence("\n".join(lines), "diff")


def _action_block(action: Action) -> str:
    symbol = SYMBOLS[action.action]
    head = f"<code>{symbol}</code> <b>{_html(label(action))}</b> {VERBS[action.action]}"
    facts = [f"Why: {_escape(action.reason)}"]
    if action.object_id:
        facts.append(f"ObjectId: `{action.object_id}`")
    if action.source:
        facts.append(f"Declared at: `{action.source}`")
    if action.depends_on:
        facts.append("After: " + ", ".join(f"`{key}`" for key in action.depends_on))
    body = "<br>\n".join(facts) + "\n" + _diff_block(action_changes(action))
    return f"<details><summary>{head}</summary>\n\n{body}\n</details>\n"


def render_markdown(plan: Plan) -> str:
    counts = plan.counts()
    head = [TITLE, "", f"**{summary_line(plan)}**", ""]
    head += ["| | count |", "|---|---:|"]
    head += [f"| {SYMBOLS[name]} {name} | {counts[name]} |" for name in ACTION_ORDER]
    head += [f"| drift | {len(plan.drift)} |", f"| unmanaged | {len(plan.unmanaged)} |", ""]

    # Actions first: when the comment must be cut, what the merge will do is what is kept.
    sections: list[tuple[str, list[str]]] = []
    if plan.actions:
        sections.append(("### Actions, in order", [_action_block(a) for a in plan.actions]))
    if plan.drift:
        blocks = []
        for drift in plan.drift:
            what = "deleted" if drift.drift == "deleted" else "changed"
            diff = _diff_block(changes_from_diff(drift.diff)) if drift.diff else ""
            blocks.append(
                f"<details><summary><b>{_html(drift.address)}</b> {what} outside cupiform"
                f"</summary>\n\nObjectId: `{drift.object_id}`\n{diff}\n</details>\n"
            )
        sections.append(("### Changed outside cupiform", blocks))
    if plan.unmanaged:
        pruned = any(item.pruned for item in plan.unmanaged)
        title = (
            "### Unmanaged objects of managed owners (deleted: `prune: true`)"
            if pruned
            else "### Unmanaged objects of managed owners (kept)"
        )
        rows = ["| address | owner | ObjectId |\n|---|---|---|\n"]
        rows += [
            f"| {_escape(next(iter(item.attributes.values()), ''))} | {_escape(item.owner)} "
            f"| `{item.object_id}` |\n"
            for item in plan.unmanaged
        ]
        sections.append((title, rows))

    out = "\n".join(head)
    left_out = 0
    for title, blocks in sections:
        if len(out) + len(title) + _NOTE_ROOM >= LIMIT:
            left_out += len(blocks)
            continue
        out += f"\n{title}\n\n"
        for index, block in enumerate(blocks):
            if len(out) + len(block) + _NOTE_ROOM >= LIMIT:
                left_out += len(blocks) - index
                break
            out += block
    if left_out:
        out += (
            f"\n> **{left_out} more item{'s' if left_out != 1 else ''} not shown**: the plan "
            f"is longer than a comment may be ({LIMIT:,} characters). The whole plan is in "
            "the job's log (`cupiform plan`) or its JSON artifact.\n"
        )
    return out
