"""``cupiform plan``: read manifests, state and the live server; print the plan."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from cupiform.commands.project import planned
from cupiform.errors import UsageError
from cupiform.plan import Plan


def render(plan: Plan, fmt: str, color: bool) -> str:
    # (imported here: what a plan needs first is the server's answers)
    from cupiform.render.json_plan import render_json
    from cupiform.render.markdown import render_markdown
    from cupiform.render.text import render_text

    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    if fmt == "text":
        return render_text(plan, color=color)
    raise UsageError("--format must be one of text, markdown, json")


def run(
    *,
    color: bool,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    refresh_only: bool,
    targets: Sequence[str],
) -> int:
    with planned("plan", refresh_only=refresh_only, targets=targets) as done:
        plan, state, server = done.plan, done.state, done.project.server
    sys.stdout.write(render(plan, fmt, color))
    if out is not None:
        from cupiform.savedplan import save_plan

        save_plan(out, plan, lineage=state.lineage, serial=state.serial, server=server)
        print(
            f"cupiform: plan saved to {out}; carry it out with: cupiform apply {out}",
            file=sys.stderr,
        )
    return 2 if detailed_exitcode and plan.has_changes else 0
