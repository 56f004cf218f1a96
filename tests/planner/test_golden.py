"""Golden cases for the planner: a folder per scenario under ``cases/``.

Each folder holds ``manifest.yaml`` (what the manifests declare), ``state.yaml`` (address ->
object_id and attributes), ``live.yaml`` (the server's objects), optionally ``options.yaml``
(prune, refresh_only, targets) and ``users.yaml`` (aliases the server knows; else the shared
one beside this file), and the expected outcome: ``expected.yaml`` (actions in order,
drift, unmanaged) or ``error.txt`` (the planner's refusal, exactly).

``CUPIFORM_REGEN_GOLDEN=1 pytest tests/planner`` rewrites the expected files; read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from cupiform.errors import PlanError
from cupiform.manifest import load_manifest_files
from cupiform.plan import LiveObject, Plan
from cupiform.planner import finish_plan, make_plan, prepare_plan
from cupiform.resources.kinds import KINDS
from cupiform.state.document import StateEntry

HERE = Path(__file__).parent
CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())
REGENERATE = os.environ.get("CUPIFORM_REGEN_GOLDEN") == "1"


def _read(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    return yaml.safe_load(path.read_text()) or default


def run_case(case: Path) -> Plan:
    manifest = case / "manifest.yaml"
    resources = (
        load_manifest_files([(manifest, "manifest.yaml")]).resources if (manifest.exists()) else ()
    )
    users: dict[str, str] = _read(case / "users.yaml", None) or _read(HERE / "users.yaml", {})
    state = {
        address: StateEntry(entry["object_id"], entry["attributes"])
        for address, entry in _read(case / "state.yaml", {}).items()
    }
    live = [
        LiveObject("smtp_proxy_address", item.pop("ObjectId"), item)
        for item in _read(case / "live.yaml", [])
    ]
    options = _read(case / "options.yaml", {})
    return make_plan(
        KINDS,
        resources,
        state,
        live,
        owners={alias.lower(): object_id for alias, object_id in users.items()},
        owner_names={object_id.lower(): alias for alias, object_id in users.items()},
        prune=options.get("prune", False),
        refresh_only=options.get("refresh_only", False),
        targets=options.get("targets", ()),
    )


def summarize(plan: Plan) -> dict[str, Any]:
    return {
        "actions": [
            {
                "key": a.key,
                "action": a.action,
                "object_id": a.object_id,
                "before": dict(a.before) if a.before is not None else None,
                "after": dict(a.after) if a.after is not None else None,
                "depends_on": list(a.depends_on),
                "reason": a.reason,
                **({"moved_from": a.moved_from} if a.moved_from else {}),
            }
            for a in plan.actions
        ],
        "drift": [
            {
                "address": d.address,
                "drift": d.drift,
                "object_id": d.object_id,
                "before": dict(d.before),
                "after": dict(d.after) if d.after else None,
            }
            for d in plan.drift
        ],
        "unmanaged": [
            {
                "object_id": u.object_id,
                "owner": u.owner,
                "attributes": dict(u.attributes),
                "pruned": u.pruned,
            }
            for u in plan.unmanaged
        ],
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path) -> None:
    expected_plan, expected_error = case / "expected.yaml", case / "error.txt"
    try:
        got: dict[str, Any] | str = summarize(run_case(case))
    except PlanError as error:
        got = str(error) + "\n"
    if REGENERATE:
        if isinstance(got, str):
            expected_error.write_text(got)
            expected_plan.unlink(missing_ok=True)
        else:
            expected_plan.write_text(yaml.safe_dump(got, sort_keys=False, width=100))
            expected_error.unlink(missing_ok=True)
        return
    if expected_error.exists():
        assert got == expected_error.read_text()
    else:
        assert got == yaml.safe_load(expected_plan.read_text())


def test_every_action_kind_and_drift_kind_is_covered() -> None:
    actions, drift = set(), set()
    for case in CASES:
        expected = _read(case / "expected.yaml", {})
        actions |= {a["action"] for a in expected.get("actions", [])}
        drift |= {d["drift"] for d in expected.get("drift", [])}
    assert actions == {"create", "update", "delete", "adopt", "forget", "move"}
    assert drift == {"changed", "deleted"}


def test_a_target_in_a_swap_takes_both_steps_of_the_split_update() -> None:
    case = next(c for c in CASES if c.name == "17-swap")
    plan = run_case(case)
    from cupiform.planner import _with_dependencies

    keys = [a.key for a in _with_dependencies(plan.actions, ["smtp_proxy_address.mary-b"])]
    assert keys == [
        "smtp_proxy_address.jdoe-a#tmp",
        "smtp_proxy_address.mary-b",
        "smtp_proxy_address.jdoe-a",
    ]


def test_a_prepared_plan_is_finished_once() -> None:
    prepared = prepare_plan(KINDS, (), {})
    assert finish_plan(prepared, (), owners={}).actions == ()
    with pytest.raises(ValueError, match="finished once"):
        finish_plan(prepared, (), owners={})
