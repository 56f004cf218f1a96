"""What every renderer says the same way: verbs, symbols, per-field changes, the summary."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cupiform.plan import ACTION_ORDER, Action, Attributes, Plan

SYMBOLS = {
    "create": "+",
    "update": "~",
    "delete": "-",
    "adopt": "=",
    "move": ">",
    "forget": "x",
}
VERBS = {
    "create": "will be created",
    "update": "will be updated in place",
    "delete": "will be deleted",
    "adopt": "will be adopted (bound in state; no call)",
    "move": "will be moved in state (renamed; no call)",
    "forget": "will be forgotten (removed from state; no call)",
}
_ROOT_KEY = re.compile(r"^root\['(.*)'\]$")


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: str | None  # None: the field is added
    new: str | None  # None: the field is removed


def changes_from_diff(diff: Mapping[str, Any]) -> list[FieldChange]:
    """Per-field old -> new, read from a deepdiff of two field mappings."""
    found: list[FieldChange] = []
    for path, change in diff.get("values_changed", {}).items():
        match = _ROOT_KEY.match(path)
        if match is None:  # a whole-mapping change: expand it field by field
            old, new = change.get("old_value") or {}, change.get("new_value") or {}
            found += field_changes(old, new)
            continue
        found.append(FieldChange(match.group(1), change["old_value"], change["new_value"]))
    for path, value in diff.get("dictionary_item_added", {}).items():
        match = _ROOT_KEY.match(path)
        if match is not None:
            found.append(FieldChange(match.group(1), None, value))
    for path, value in diff.get("dictionary_item_removed", {}).items():
        match = _ROOT_KEY.match(path)
        if match is not None:
            found.append(FieldChange(match.group(1), value, None))
    return sorted(found, key=lambda c: c.name)


def field_changes(before: Attributes | None, after: Attributes | None) -> list[FieldChange]:
    """Every field of either side, changed or not, as old -> new."""
    before, after = before or {}, after or {}
    names = list(dict.fromkeys([*before, *after]))
    return [FieldChange(n, before.get(n), after.get(n)) for n in names]


def action_changes(action: Action) -> list[FieldChange]:
    if action.diff is not None:
        return changes_from_diff(action.diff)
    if action.action == "create":
        return field_changes(None, action.after)
    if action.action == "delete":
        return field_changes(action.before, None)
    return []


def label(action: Action) -> str:
    """How an action names its object: the resource address, or for a pruned object,
    its kind, ObjectId and address."""
    if action.address is not None:
        return action.address
    return action.key


def summary_line(plan: Plan) -> str:
    counts = plan.counts()
    if not plan.actions:
        if plan.refresh_only:
            return "Refresh only: no calls will be made."
        return "No changes. The server matches the manifests."
    parts = [f"{counts[name]} to {name}" for name in ACTION_ORDER if counts[name]]
    return "Plan: " + ", ".join(parts) + "."


def summary(plan: Plan) -> dict[str, int | bool]:
    counts: dict[str, int | bool] = dict(plan.counts())
    counts["drift"] = len(plan.drift)
    counts["unmanaged"] = len(plan.unmanaged)
    counts["changes"] = plan.has_changes
    return counts
