"""``cupiform apply`` and ``cupiform destroy``: plan (or load a saved plan), confirm,
execute, and record every success in state as it happens."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from cupiform.commands.project import Planned, Project, planned, warn
from cupiform.config import Safety, load_config
from cupiform.connect import open_client
from cupiform.cupi.client import CupiClient
from cupiform.errors import ApplyError, StateMismatchError, UsageError
from cupiform.executor import (
    FAILED,
    SKIPPED,
    StateWriter,
    execute,
    outcome_counts,
    refreshed_entries,
)
from cupiform.model import ManifestSet
from cupiform.plan import DELETE, LiveObject, Plan
from cupiform.progress import ApplyProgress, describe
from cupiform.refresh import refresh
from cupiform.render.text import render_text
from cupiform.resources.kinds import KINDS, kind_named
from cupiform.savedplan import load_plan
from cupiform.state import State, load_state, open_backend


def check_safety(
    plan: Plan, state: State, safety: Safety, force: bool, operation: str = "apply"
) -> None:
    """Refuse a plan that deletes too large a share of the managed objects, unless ``force``.
    Unmanaged objects deleted by ``prune`` are not managed objects: they do not count."""
    managed = len(state.resources)
    deletes = sum(1 for a in plan.actions if a.action == DELETE and a.address in state.resources)
    if force or managed < safety.min_managed or deletes == 0:
        return
    share = 100.0 * deletes / managed
    if share > safety.max_delete_percent:
        raise UsageError(
            f"the plan deletes {deletes} of {managed} managed objects ({share:.0f}%), more "
            f"than safety.max_delete_percent ({safety.max_delete_percent:g}%): nothing was "
            f"done. Review the plan, then run {operation} --force to go ahead"
        )


def check_saved_plan(
    path: Path,
    plan: Plan,
    saved_server: str,
    lineage: str,
    serial: int,
    project: Project,
    state: State,
) -> None:
    if saved_server != project.server:
        raise StateMismatchError(
            f"{path} was made for server '{saved_server}', not '{project.server}': "
            "nothing was executed"
        )
    if (lineage, serial) != (state.lineage, state.serial):
        if lineage != state.lineage:
            what = f"another state (lineage {lineage}, now {state.lineage})"
        else:
            what = f"state serial {serial}, and the state is now at serial {state.serial}"
        raise StateMismatchError(
            f"{path} is stale: it was made from {what}. Nothing was executed; make a new "
            "plan (cupiform plan --out FILE)"
        )


def check_live(path: Path, plan: Plan, client: CupiClient) -> None:
    """Before the first call: every object the saved plan touches must still be as the plan
    saw it, and every unique value it creates still free (or freed by the plan itself)."""
    live = {o.object_id.lower(): o for o in refresh(client, KINDS, ()).live}
    freed = {a.object_id.lower() for a in plan.actions if a.object_id and a.writes}
    holders: dict[tuple[str, str], LiveObject] = {}
    for kind in KINDS:
        for item in live.values():
            for field in (f.field for f in kind.fields if f.unique):
                if item.kind == kind.name and field in item.attributes:
                    holders[(kind.name, item.attributes[field].casefold())] = item
    # The second step of an update split to break a cycle starts from its temporary value:
    # on the server, the object still holds what its first step saw.
    first_steps = {a.key.removesuffix("#tmp"): a for a in plan.actions if a.key.endswith("#tmp")}
    changed: list[str] = []
    for action in plan.actions:
        if action.key.endswith("#tmp") or action.action == "forget":
            continue
        name = action.address or action.key
        kind = kind_named(action.kind)
        seen_before = first_steps[action.key].before if action.key in first_steps else action.before
        if action.object_id is not None and seen_before is not None:
            obj = live.get(action.object_id.lower())
            if obj is None:
                changed.append(f"{name}: object {action.object_id} is gone from the server")
                continue
            differs = []
            for field, seen in seen_before.items():
                now = obj.attributes.get(field)
                if not kind.same_value(field, now, seen):
                    differs.append(f"{field} is now {now!r} (the plan saw {seen!r})")
            if differs:
                changed.append(f"{name}: " + "; ".join(differs))
        if action.action in ("create", "update") and action.after:
            # A value the call takes must still be free, or held by an object the plan frees.
            for field in (f.field for f in kind.fields if f.unique):
                value = action.after.get(field)
                holder = holders.get((kind.name, value.casefold())) if value else None
                if holder is None or holder.object_id.lower() == (action.object_id or "").lower():
                    continue
                if holder.object_id.lower() not in freed:
                    changed.append(f"{name}: {value} is now held by object {holder.object_id}")
    if changed:
        raise StateMismatchError(
            f"{path}: the server changed since the plan was made; nothing was executed:\n"
            + "\n".join(f"  {line}" for line in changed)
            + "\nMake a new plan."
        )


def confirm(project: Project) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            "apply needs a 'yes' typed at a terminal, and there is none: "
            "review the plan, then run again with --auto-approve"
        )
    print(
        f"\nDo you want to carry out these actions on {project.server}?\n"
        "  Only 'yes' will be accepted.\n",
        file=sys.stderr,
    )
    print("  Enter a value: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip()
    if answer != "yes":
        raise ApplyError(f"apply cancelled (answer {answer!r}, not 'yes'); nothing was done")


def _summary(plan: Plan, outcomes_text: dict[str, int]) -> str:
    parts = [f"{outcomes_text['done']} done"]
    if outcomes_text[FAILED]:
        parts.append(f"{outcomes_text[FAILED]} failed")
    if outcomes_text[SKIPPED]:
        parts.append(f"{outcomes_text[SKIPPED]} skipped")
    return f"Apply finished: {', '.join(parts)} of {len(plan.actions)} actions."


@contextlib.contextmanager
def from_saved_plan(planfile: Path, operation: str, parallelism: int | None) -> Iterator[Planned]:
    """A saved plan, checked against the state it was made from and against the server,
    under the state lock; the manifests are not read again (the plan is what was reviewed)."""
    config = load_config(Path.cwd(), os.environ)
    backend = open_backend(config)
    project = Project(config, ManifestSet(files=(), resources=()), backend)
    with (
        backend.lock(operation),
        open_client(config, os.environ, parallelism=parallelism, warn=warn) as client,
    ):
        state = load_state(backend, project.server)
        saved = load_plan(planfile)
        if state.serial == 0 and saved.serial == 0:
            # No state was ever written: the plan's lineage becomes the state's.
            state = replace(state, lineage=saved.lineage)
        check_saved_plan(
            planfile, saved.plan, saved.server, saved.lineage, saved.serial, project, state
        )
        check_live(planfile, saved.plan, client)
        yield Planned(project, state, saved.plan, client)


def run(
    *,
    color: bool,
    planfile: Path | None,
    auto_approve: bool,
    parallelism: int | None,
    force: bool,
    refresh_only: bool,
    targets: Sequence[str],
    destroy: bool = False,
) -> int:
    if planfile is not None and (refresh_only or targets):
        raise UsageError("a saved plan is carried out as it is: no --refresh-only or --target")
    if parallelism is not None and parallelism < 1:
        raise UsageError("--parallelism must be 1 or more")
    operation = "destroy" if destroy else "apply"
    session = (
        from_saved_plan(planfile, operation, parallelism)
        if planfile is not None
        else planned(
            operation,
            refresh_only=refresh_only,
            targets=targets,
            destroy=destroy,
            parallelism=parallelism,
        )
    )
    with session as done:
        project, state, plan, client = done.project, done.state, done.plan, done.client
        workers = parallelism or project.config.server.parallelism
        sys.stdout.write(render_text(plan, color=color))
        sys.stdout.flush()
        refresh_state = refreshed_entries(plan)
        if not plan.actions and refresh_state is None:
            return 0
        check_safety(plan, state, project.config.safety, force, operation)
        if not auto_approve:
            confirm(project)  # also when only state would change (apply --refresh-only)
        writer = StateWriter(project.backend, state)
        if refresh_state is not None:
            writer.submit(refresh_state)
        outcomes = []
        try:
            with ApplyProgress(len(plan.actions)) as progress:
                outcomes = execute(
                    plan, client, KINDS, writer, parallelism=workers, progress=progress
                )
        finally:
            final = writer.close()
            # Also when interrupted: what was recorded is what the next plan starts from.
            print(
                f"cupiform: state {project.backend.location} at serial {final.serial} "
                f"({len(final.resources)} managed)",
                file=sys.stderr,
            )
    counts = dict(outcome_counts(outcomes))
    print(_summary(plan, counts))
    bad = [o for o in outcomes if o.status != "done"]
    if bad:
        raise ApplyError(
            f"{counts[FAILED]} action(s) failed and {counts[SKIPPED]} were skipped; "
            "what succeeded is recorded in state:\n" + "\n".join(f"  {describe(o)}" for o in bad)
        )
    return 0
