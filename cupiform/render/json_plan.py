"""The plan for machines: ``schemas/plan.schema.json``."""

from __future__ import annotations

import json
from typing import Any

from cupiform.plan import Plan
from cupiform.render.common import summary

FORMAT_VERSION = 1


def plan_document(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "refresh_only": plan.refresh_only,
        "actions": [
            {
                "key": a.key,
                "address": a.address,
                "kind": a.kind,
                "action": a.action,
                "object_id": a.object_id,
                "before": dict(a.before) if a.before is not None else None,
                "after": dict(a.after) if a.after is not None else None,
                "diff": a.diff,
                "reason": a.reason,
                "depends_on": list(a.depends_on),
                "source": a.source,
                "moved_from": a.moved_from,
            }
            for a in plan.actions
        ],
        "drift": [
            {
                "address": d.address,
                "kind": d.kind,
                "object_id": d.object_id,
                "drift": d.drift,
                "before": dict(d.before),
                "after": dict(d.after) if d.after is not None else None,
                "diff": d.diff,
            }
            for d in plan.drift
        ],
        "unmanaged": [
            {
                "kind": u.kind,
                "object_id": u.object_id,
                "owner": u.owner,
                "attributes": dict(u.attributes),
                "pruned": u.pruned,
            }
            for u in plan.unmanaged
        ],
        "summary": summary(plan),
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2, ensure_ascii=False) + "\n"
