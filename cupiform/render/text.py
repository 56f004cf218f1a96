"""The plan for a terminal, in the manner of Terraform: drift first, then unmanaged
objects, then each action with its per-field changes, then a one-line summary."""

from __future__ import annotations

import json

from cupiform.plan import Action, Drift, Plan, Unmanaged
from cupiform.render.common import (
    SYMBOLS,
    VERBS,
    FieldChange,
    action_changes,
    changes_from_diff,
    label,
    summary_line,
)

_COLORS = {
    "+": "32",
    "~": "33",
    "-": "31",
    "=": "36",
    ">": "36",
    "x": "36",
    "bold": "1",
    "dim": "2",
}


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        if not self.color:
            return text
        return f"\x1b[{_COLORS[style]}m{text}\x1b[0m"


def _quote(value: str | None) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _field_lines(changes: list[FieldChange], paint: _Painter, indent: str) -> list[str]:
    width = max((len(c.name) for c in changes), default=0)
    lines = []
    for change in changes:
        name = change.name.ljust(width)
        if change.old is None:
            lines.append(f"{indent}{paint('+', '+')} {name} = {_quote(change.new)}")
        elif change.new is None:
            lines.append(f"{indent}{paint('-', '-')} {name} = {_quote(change.old)}")
        elif change.old == change.new:
            lines.append(f"{indent}  {name} = {_quote(change.new)}")
        else:
            lines.append(
                f"{indent}{paint('~', '~')} {name} = {_quote(change.old)} -> {_quote(change.new)}"
            )
    return lines


def _drift_lines(drift: Drift, paint: _Painter) -> list[str]:
    if drift.drift == "deleted":
        return [
            f"  # {paint(drift.address, 'bold')} was deleted outside cupiform "
            f"(ObjectId {drift.object_id})"
        ]
    lines = [
        f"  # {paint(drift.address, 'bold')} was changed outside cupiform "
        f"(ObjectId {drift.object_id})"
    ]
    if drift.diff is not None:
        lines += _field_lines(changes_from_diff(drift.diff), paint, "      ")
    return lines


def _unmanaged_line(item: Unmanaged, paint: _Painter) -> str:
    mark = paint("-", "-") if item.pruned else "?"
    value = ", ".join(
        f"{k}={v}" for k, v in item.attributes.items() if k != "ObjectGlobalUserObjectId"
    )
    return f"  {mark} {value} of {item.owner} (ObjectId {item.object_id})"


def _action_lines(action: Action, paint: _Painter) -> list[str]:
    symbol = SYMBOLS[action.action]
    name = label(action)
    lines = [f"  # {paint(name, 'bold')} {VERBS[action.action]}: {action.reason}"]
    details = []
    if action.object_id:
        details.append(f"ObjectId {action.object_id}")
    if action.source:
        details.append(action.source)
    if action.moved_from:
        details.append(f"was {action.moved_from}")
    suffix = paint(f"  ({'; '.join(details)})", "dim") if details else ""
    lines.append(f"  {paint(symbol, symbol)} {name}{suffix}")
    lines += _field_lines(action_changes(action), paint, "      ")
    if action.depends_on:
        lines.append(paint(f"      after: {', '.join(action.depends_on)}", "dim"))
    return lines


def render_text(plan: Plan, *, color: bool = False) -> str:
    paint = _Painter(color)
    out: list[str] = []
    if plan.drift:
        out.append(paint("Objects changed outside cupiform:", "bold"))
        out.append("")
        for drift in plan.drift:
            out += _drift_lines(drift, paint)
        out.append("")
    if plan.unmanaged:
        if any(item.pruned for item in plan.unmanaged):
            heading = "Unmanaged objects of managed owners (prune: true deletes them):"
        else:
            heading = "Unmanaged objects of managed owners (kept; prune: true would delete them):"
        out.append(paint(heading, "bold"))
        out.append("")
        out += [_unmanaged_line(item, paint) for item in plan.unmanaged]
        out.append("")
    if plan.actions:
        out.append("cupiform will perform the following actions, in this order:")
        out.append("")
        for action in plan.actions:
            out += _action_lines(action, paint)
            out.append("")
    out.append(paint(summary_line(plan), "bold"))
    return "\n".join(out) + "\n"
