"""Saved plans (``plan --out FILE``): the plan's JSON plus what it was made from.

A saved plan records the state's lineage and serial and the server it was made for, and
each action keeps the object as the plan saw it (``before``), so that ``apply FILE`` can
refuse a plan whose state moved on or whose objects changed on the server since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cupiform.errors import CupiformError, StateMismatchError
from cupiform.plan import Action, Drift, Plan, Unmanaged
from cupiform.render.json_plan import plan_document
from cupiform.state.atomic import write_atomically

SAVED_PLAN_VERSION = 1


def save_plan(path: Path, plan: Plan, *, lineage: str, serial: int, server: str) -> None:
    document = {
        "saved_plan_version": SAVED_PLAN_VERSION,
        "server": server,
        "lineage": lineage,
        "serial": serial,
        "prune": plan.prune,
        "plan": plan_document(plan),
    }
    data = (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    try:
        write_atomically(path, data)
    except OSError as error:
        raise CupiformError(f"cannot write the plan to {path}: {error.strerror or error}") from None


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    server: str
    lineage: str
    serial: int


def _refuse(path: Path, why: str) -> StateMismatchError:
    return StateMismatchError(f"{path}: not a saved cupiform plan ({why})")


def load_plan(path: Path) -> SavedPlan:
    try:
        document: Any = json.loads(path.read_bytes())
    except OSError as error:
        raise StateMismatchError(f"cannot read the saved plan {path}: {error.strerror}") from None
    except ValueError as error:
        raise _refuse(path, f"it does not parse: {error}") from None
    if not isinstance(document, dict) or "saved_plan_version" not in document:
        raise _refuse(path, "no saved_plan_version")
    if document["saved_plan_version"] != SAVED_PLAN_VERSION:
        raise _refuse(path, f"version {document['saved_plan_version']!r} is not supported")
    try:
        body = document["plan"]
        actions = tuple(
            Action(
                key=a["key"],
                kind=a["kind"],
                address=a["address"],
                action=a["action"],
                object_id=a["object_id"],
                before=a["before"],
                after=a["after"],
                reason=a["reason"],
                depends_on=tuple(a["depends_on"]),
                source=a["source"],
                moved_from=a.get("moved_from"),
                diff=a["diff"],
            )
            for a in body["actions"]
        )
        drift = tuple(
            Drift(
                d["address"],
                d["kind"],
                d["object_id"],
                d["drift"],
                d["before"],
                d["after"],
                d["diff"],
            )
            for d in body["drift"]
        )
        unmanaged = tuple(
            Unmanaged(u["kind"], u["object_id"], u["attributes"], u["owner"], u["pruned"])
            for u in body["unmanaged"]
        )
        plan = Plan(
            actions,
            drift,
            unmanaged,
            bool(body.get("refresh_only", False)),
            bool(document.get("prune", False)),
        )
        return SavedPlan(
            plan,
            server=str(document["server"]),
            lineage=str(document["lineage"]),
            serial=int(document["serial"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _refuse(path, f"missing or bad field {error}") from None
