"""The planner: (desired resources, state, live objects) -> Plan. Pure: no I/O.

For each resource kind, independently:

1. Drift: every state entry is compared with the live object it is bound to.
2. Renames: a new resource whose object is bound in state under a name no manifest
   declares any more (same unique value, same owner) is a ``move``, not a delete+create.
3. Each declared resource: bound and live -> ``update`` when values differ; bound but gone
   -> ``create`` again (or ``adopt`` an equal live object); new -> ``adopt`` a live object
   with the same unique value and owner, else ``create``.
4. Each state entry no manifest declares: ``delete`` it, or ``forget`` it when gone.
5. Unmanaged: live objects of managed owners bound to nothing; deleted with ``prune``.
6. Ordering: a call that takes a unique value (create, update to it) depends on the call
   that gives it up (delete, update away). A cycle of updates (a swap) is broken by first
   moving one member to a temporary value.

Unique values (an SMTP address) are compared without regard to case, as the server does;
a change of case alone is still a change to make. Owner ObjectIds compare without case.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import chain, repeat
from operator import attrgetter, eq, methodcaller
from typing import Any

from cupiform.errors import PlanError, Problem
from cupiform.model import Resource, Source
from cupiform.plan import (
    ADOPT,
    CREATE,
    DELETE,
    FORGET,
    MOVE,
    UPDATE,
    Action,
    Attributes,
    Drift,
    LiveObject,
    Plan,
    Unmanaged,
)
from cupiform.resources.kinds import ResourceKind
from cupiform.state.document import StateEntry


def field_diff(before: Attributes, after: Attributes) -> dict[str, Any]:
    """The deepdiff of two sets of fields, as plain JSON-able values."""
    from deepdiff import DeepDiff  # only plans with changes pay for importing it

    diff = DeepDiff(dict(before), dict(after), verbose_level=2)
    result: dict[str, Any] = diff.to_dict()
    return result


@dataclass(frozen=True)
class KindIndex:
    """The live objects of one kind, by lower-cased ObjectId (in listing order) and by
    casefolded unique value."""

    by_id: Mapping[str, LiveObject]
    by_unique: Mapping[str, LiveObject]


def index_live(kinds: Sequence[ResourceKind], live: Sequence[LiveObject]) -> dict[str, KindIndex]:
    """Each kind's live objects indexed for ``make_plan``. Apart from it, so that a caller
    can index the objects as soon as they are listed, while the rest is still being read."""
    indexes: dict[str, KindIndex] = {}
    for kind in kinds:
        unique_field = next((f.field for f in kind.fields if f.unique), None)
        by_id: dict[str, LiveObject] = {}
        by_unique: dict[str, LiveObject] = {}
        for item in live:
            if item.kind != kind.name:
                continue
            by_id[item.object_id.lower()] = item
            if unique_field is not None:
                unique = item.attributes.get(unique_field)
                if unique is not None:
                    by_unique[unique.casefold()] = item
        indexes[kind.name] = KindIndex(by_id, by_unique)
    return indexes


@dataclass
class _Draft:
    """An action while the plan is being made (dependencies are added last)."""

    action: Action
    takes: str | None = None  # casefolded unique value this call takes
    gives: str | None = None  # casefolded unique value this call gives up


class _KindPlanner:
    def __init__(self, kind: ResourceKind, prune: bool) -> None:
        self.kind = kind
        self.owner_names: Mapping[str, str] = {}  # given with the live objects
        self.prune = prune
        self.unique = next((f.field for f in kind.fields if f.unique), None)
        self.owner_field = kind.owner.field
        self.fields = kind.state_attributes
        self._plain_fields = tuple(f for f in self.fields if f != self.owner_field)
        self._key: Callable[[Attributes], tuple[str | None, ...]] = self._any_key
        if len(self._plain_fields) == 1:  # the usual shape, and the planner's hot path
            (only,) = self._plain_fields
            owner_field = self.owner_field
            self._key = lambda a: (a.get(only), (a.get(owner_field) or "").lower())
        self.problems: list[Problem] = []
        self.drafts: list[_Draft] = []
        # address -> (resource, desired fields): made by ``prepare``, owners filled in and
        # resources of unknown owners left out by ``resolve``
        self.wanted: dict[str, tuple[Resource, dict[str, str]]] = {}
        self._by_alias: tuple[list[str], list[str], list[dict[str, str]]] = ([], [], [])
        self._owner_ids: list[str] = []
        # made by ``prepare``
        self.state: Mapping[str, StateEntry] = {}
        self.state_ids: dict[str, str] = {}  # address -> lower-cased ObjectId
        self.bound_ids: dict[str, str] = {}  # lower-cased ObjectId -> address
        # made by ``resolve``
        self.as_declared: set[str] = set()  # addresses bound in state as declared
        self.managed_owners: set[str] = set()  # lower-cased owner ObjectIds
        # made by ``observe``
        self.live = KindIndex({}, {})
        self.drift: list[Drift] = []
        self.changed_or_gone: set[str] = set()  # addresses drifted from their state

    # -- helpers ----------------------------------------------------------------------------

    def _unique_of(self, attributes: Attributes) -> str | None:
        if self.unique is None:
            return None
        value = attributes.get(self.unique)
        return None if value is None else value.casefold()

    def _owner_of(self, attributes: Attributes) -> str:
        return attributes.get(self.owner_field, "").lower()

    def _any_key(self, attributes: Attributes) -> tuple[str | None, ...]:
        """What equality means for these fields: exact, but owner ObjectIds without case.
        The owner comes last."""
        key = [attributes.get(name) for name in self._plain_fields]
        key.append((attributes.get(self.owner_field) or "").lower())
        return tuple(key)

    def _same(self, a: Attributes, b: Attributes) -> bool:
        # Equal mappings (compared in C) are the usual case; else compare as the server does.
        return a == b or self._key(a) == self._key(b)

    def _managed(self, attributes: Attributes) -> dict[str, str]:
        return {name: attributes[name] for name in self.fields if name in attributes}

    def owner_label(self, attributes: Attributes) -> str:
        """How messages name the owner of an object with these fields."""
        object_id = attributes.get(self.owner_field)
        if object_id:
            alias = self.owner_names.get(object_id.lower())
            return f"user '{alias}' ({object_id})" if alias else f"user {object_id}"
        for name, label in self.kind.owner.other_fields:
            if attributes.get(name):
                return f"{label} {attributes[name]}"
        return "an owner the server does not name"

    def _add(self, action: Action, takes: str | None = None, gives: str | None = None) -> None:
        self.drafts.append(_Draft(action, takes, gives))

    # -- what needs no live object -----------------------------------------------------------

    def prepare(self, resources: Sequence[Resource], state: Mapping[str, StateEntry]) -> None:
        """What needs nothing from the server: each resource's address and desired fields
        (an owner named by alias left for ``resolve``), and the state's bindings."""
        self.state = state
        self.state_ids = {address: object_id.lower() for address, (object_id, _) in state.items()}
        self.bound_ids = {object_id: address for address, object_id in self.state_ids.items()}
        wanted: dict[str, tuple[Resource, dict[str, str]]] = {}
        owner_field = self.owner_field
        by_alias = self._by_alias = ([], [], [])  # addresses, lower-cased aliases, fields
        by_id = self._owner_ids = []  # the owners named by ObjectId
        for resource in resources:
            # Unpacked (records are tuples): cheaper than attribute access on the hot path.
            kind, name, fields, (alias, owner_id, _), _ = resource
            address = f"{kind}.{name}"
            attributes = {**fields, owner_field: owner_id or ""}
            wanted[address] = (resource, attributes)
            if owner_id is None:  # named by alias: its ObjectId comes with ``resolve``
                by_alias[0].append(address)
                by_alias[1].append((alias or "").lower())
                by_alias[2].append(attributes)
            else:
                by_id.append(owner_id)
        self.wanted = wanted

    def resolve(self, owners: Mapping[str, str]) -> None:
        """The owners named by alias, from ``owners`` (lower-cased alias -> ObjectId; an
        alias not there is a problem, and its resource is left out); then which resources
        are bound in state as declared, and which owners the manifests manage."""
        addresses, aliases, fields = self._by_alias
        owner_ids = list(map(owners.get, aliases))
        for attributes, owner_id in zip(fields, owner_ids, strict=True):
            if owner_id is not None:
                attributes[self.owner_field] = owner_id
        wanted = self.wanted
        if None in owner_ids:
            for address, owner_id in zip(addresses, owner_ids, strict=True):
                if owner_id is None:
                    resource, _ = wanted.pop(address)
                    where = resource.owner.source
                    self.problems.append(
                        Problem(
                            where.file,
                            where.line,
                            where.column,
                            f"{address}: user '{resource.owner.alias or ''}' is not known to "
                            "the server",
                        )
                    )
        state, same = self.state, self._same
        self.as_declared = {
            address
            for address, (_, attributes) in wanted.items()
            if address in state and same(state[address].attributes, attributes)
        }
        # Owners the manifests manage: those of declared resources (an owner whose last
        # resource was removed is no longer managed, and its other addresses are left alone).
        resolved = (owner_id for owner_id in owner_ids if owner_id is not None)
        declared_owners = chain(resolved, self._owner_ids)
        self.managed_owners = set(map(str.lower, declared_owners))

    # -- the plan for one kind ------------------------------------------------------------------

    def observe(self, live: KindIndex) -> None:
        """1. Drift: each state entry against its live object (found in any order, listed
        by address). Needs no owner: made as soon as the objects are listed."""
        kind, state, state_ids, same = self.kind.name, self.state, self.state_ids, self._same
        live_by_id = live.by_id
        drift: list[Drift] = []
        changed_or_gone: set[str] = set()  # addresses
        for address, bound in state.items():
            obj = live_by_id.get(state_ids[address])
            if obj is None:
                changed_or_gone.add(address)
                drift.append(
                    Drift(address, kind, bound.object_id, "deleted", dict(bound.attributes), None)
                )
            elif not same(bound.attributes, obj.attributes):
                changed_or_gone.add(address)
                after = self._managed(obj.attributes)
                drift.append(
                    Drift(
                        address,
                        kind,
                        bound.object_id,
                        "changed",
                        dict(bound.attributes),
                        after,
                        field_diff(bound.attributes, after),
                    )
                )

        drift.sort(key=lambda d: d.address)
        self.live, self.drift, self.changed_or_gone = live, drift, changed_or_gone

    def plan(self, refresh_only: bool) -> tuple[list[Action], list[Drift], list[Unmanaged]]:
        """The rest, once ``resolve`` and ``observe`` have been made."""
        kind = self.kind.name
        state, wanted, state_ids, bound_ids = (
            self.state,
            self.wanted,
            self.state_ids,
            self.bound_ids,
        )
        same, drift = self._same, self.drift
        live_by_id, live_by_unique = self.live.by_id, self.live.by_unique

        # Bound, live and as declared (as in state, and live as in state): nothing to do.
        settled = self.as_declared - self.changed_or_gone
        claimed: set[str] = set()  # ObjectIds (lower) some resource adopts or moves to

        # 2. Renames: state entries no manifest declares, matched to new resources.
        orphans = {a: b for a, b in state.items() if a not in wanted}
        orphan_by_value: dict[tuple[str | None, str], str] = {}
        for address, bound in orphans.items():
            obj = live_by_id.get(bound.object_id.lower())
            if obj is not None:
                key = (self._unique_of(obj.attributes), self._owner_of(obj.attributes))
                orphan_by_value.setdefault(key, address)
        moves: dict[str, str] = {}  # new address -> old address
        for address, (_, attributes) in wanted.items():
            if address in state:
                continue
            key = (self._unique_of(attributes), self._owner_of(attributes))
            old = orphan_by_value.pop(key, None)
            if old is not None:
                moves[address] = old

        # 3. Declared resources.
        for address, (resource, attributes) in wanted.items():
            if address in settled:
                continue  # the common case (its object is bound: not unmanaged)
            bound_id = state_ids.get(address)
            obj = live_by_id.get(bound_id) if bound_id is not None else None
            if bound_id is not None and obj is not None and same(obj.attributes, attributes):
                claimed.add(bound_id)
                continue  # bound and live as declared, though not as in state
            bound_now = state.get(address)
            source = resource.source.line_ref
            after = self._managed(attributes)
            if address in moves:
                old = moves[address]
                object_id = state[old].object_id
                claimed.add(object_id.lower())
                obj = live_by_id[object_id.lower()]
                before = self._managed(obj.attributes)
                renamed = f"renamed from {old} in the manifests; same object"
                if self._same(before, after):
                    self._add(
                        Action(
                            address,
                            kind,
                            address,
                            MOVE,
                            object_id,
                            before,
                            after,
                            renamed,
                            source=source,
                            moved_from=old,
                        )
                    )
                else:  # the same object by value and owner, its case changed too
                    self._add(
                        Action(
                            address,
                            kind,
                            address,
                            UPDATE,
                            object_id,
                            before,
                            after,
                            f"{renamed}, and the manifest changed it",
                            source=source,
                            moved_from=old,
                            diff=field_diff(before, after),
                        )
                    )
                continue
            obj = live_by_id.get(bound_now.object_id.lower()) if bound_now else None
            if bound_now is not None and obj is not None:
                claimed.add(obj.object_id.lower())
                before = self._managed(obj.attributes)
                if self._same(before, after):
                    continue
                drifted = not self._same(bound_now.attributes, obj.attributes)
                reason = (
                    "changed outside cupiform; the manifest's values are restored"
                    if drifted and self._same(bound_now.attributes, after)
                    else "the manifest changed"
                )
                self._update(address, obj, before, after, reason, source)
                continue
            holder = live_by_unique.get(self._unique_of(attributes) or "") if self.unique else None
            gone = "deleted outside cupiform; " if bound_now is not None else ""
            if (
                holder is not None
                and holder.object_id.lower() not in bound_ids
                and self._owner_of(holder.attributes) == self._owner_of(attributes)
            ):
                claimed.add(holder.object_id.lower())
                before = self._managed(holder.attributes)
                if self._same(before, after):
                    self._add(
                        Action(
                            address,
                            kind,
                            address,
                            ADOPT,
                            holder.object_id,
                            before,
                            after,
                            f"{gone}an object with this {self.unique} and owner exists on the "
                            "server: bind it",
                            source=source,
                        )
                    )
                else:
                    self._update(
                        address,
                        holder,
                        before,
                        after,
                        f"{gone}an object with this {self.unique} and owner exists "
                        "on the server: bind it and correct it",
                        source,
                    )
                continue
            self._add(
                Action(
                    address,
                    kind,
                    address,
                    CREATE,
                    None,
                    None,
                    after,
                    f"{gone}not on the server" if gone else "new in the manifests",
                    source=source,
                ),
                takes=self._unique_of(after),
            )

        # 4. State entries no manifest declares.
        moved_away = set(moves.values())
        for address, bound in sorted(orphans.items()):
            if address in moved_away:
                continue
            obj = live_by_id.get(bound.object_id.lower())
            if obj is None:
                self._add(
                    Action(
                        address,
                        kind,
                        address,
                        FORGET,
                        bound.object_id,
                        dict(bound.attributes),
                        None,
                        "no longer declared, and already gone from the server",
                    )
                )
            else:
                before = self._managed(obj.attributes)
                self._add(
                    Action(
                        address,
                        kind,
                        address,
                        DELETE,
                        obj.object_id,
                        before,
                        None,
                        "no longer declared in any manifest",
                    ),
                    gives=self._unique_of(before),
                )

        # 5. Unmanaged objects of managed owners.
        managed_owners = self.managed_owners
        unmanaged: list[Unmanaged] = []
        loose = live_by_id.keys() - bound_ids.keys() - claimed  # (in C: usually none)
        for object_id, item in live_by_id.items() if loose else ():
            if object_id not in loose:
                continue
            owner = self._owner_of(item.attributes)
            if owner not in managed_owners:
                continue
            attributes = self._managed(item.attributes)
            owner_id = item.attributes.get(self.owner_field, "")
            unmanaged.append(
                Unmanaged(
                    kind,
                    item.object_id,
                    attributes,
                    self.owner_names.get(owner, owner_id),
                    self.prune and not refresh_only,
                )
            )
            if self.prune:
                self._add(
                    Action(
                        f"{kind}[{item.object_id}]",
                        kind,
                        None,
                        DELETE,
                        item.object_id,
                        attributes,
                        None,
                        "unmanaged object of a managed owner (prune: true)",
                    ),
                    gives=self._unique_of(attributes),
                )

        if refresh_only:
            return [], drift, unmanaged
        self._order(live_by_unique)
        return [draft.action for draft in self.drafts], drift, unmanaged

    def _update(
        self,
        address: str,
        obj: LiveObject,
        before: dict[str, str],
        after: dict[str, str],
        reason: str,
        source: str | None,
    ) -> None:
        old, new = self._unique_of(before), self._unique_of(after)
        moves_value = old != new
        self._add(
            Action(
                address,
                self.kind.name,
                address,
                UPDATE,
                obj.object_id,
                before,
                after,
                reason,
                source=source,
                diff=field_diff(before, after),
            ),
            takes=new if moves_value else None,
            gives=old if moves_value else None,
        )

    # -- ordering -------------------------------------------------------------------------------

    def _order(self, live_by_unique: Mapping[str, LiveObject]) -> None:
        by_object = {
            d.action.object_id.lower(): d
            for d in self.drafts
            if d.action.object_id is not None and d.gives is not None
        }
        for draft in self.drafts:
            if draft.takes is None:
                continue
            holder = live_by_unique.get(draft.takes)
            if holder is None or holder.object_id.lower() == (draft.action.object_id or "").lower():
                continue
            giver = by_object.get(holder.object_id.lower())
            if giver is not None and giver.gives == draft.takes:
                draft.action = replace(
                    draft.action, depends_on=(*draft.action.depends_on, giver.action.key)
                )
                continue
            resource = draft.action.address
            value = (draft.action.after or {}).get(self.unique or "", draft.takes)
            owner = self.owner_label(holder.attributes)
            declared = self.wanted.get(resource or "")
            where = declared[0].source if declared else Source("(state)", 0, 0)
            hint = (
                " (prune: true does so for owners the manifests manage)"
                if holder.attributes.get(self.owner_field)
                else ""
            )
            self.problems.append(
                Problem(
                    where.file,
                    where.line,
                    where.column,
                    f"{resource}: {self.unique} {value} is held on the server by object "
                    f"{holder.object_id} of {owner}, which no resource manages; remove it "
                    f"from that owner first{hint}",
                )
            )
        self._break_cycles()
        self.drafts = _topological(self.drafts)

    def _break_cycles(self) -> None:
        for cycle in _cycles(self.drafts):
            first = min(cycle, key=lambda d: d.action.key)
            action = first.action
            before = action.before or {}
            unique = self.unique or ""
            current = before.get(unique, "")
            domain = current.rpartition("@")[2] or "invalid"
            temporary = f"cupiform-tmp-{action.object_id}@{domain}"
            members = " waits for ".join([*(d.action.key for d in cycle), cycle[0].action.key])
            step = Action(
                f"{action.key}#tmp",
                action.kind,
                action.address,
                UPDATE,
                action.object_id,
                before,
                {**before, unique: temporary},
                f"breaks a cycle ({members}): {current} first moves to a temporary "
                "address, which frees it for the others",
                source=action.source,
                diff=field_diff(before, {**before, unique: temporary}),
            )
            # The first half gives up the value; the second takes the target from there.
            second_before = {**before, unique: temporary}
            first.action = replace(
                action,
                before=second_before,
                diff=field_diff(second_before, action.after or {}),
                reason=f"{action.reason} (second step of breaking a cycle: from the "
                "temporary address)",
            )
            gives = first.gives
            first.gives = None
            for draft in self.drafts:
                if action.key in draft.action.depends_on and draft is not first:
                    draft.action = replace(
                        draft.action,
                        depends_on=tuple(
                            step.key if key == action.key else key
                            for key in draft.action.depends_on
                        ),
                    )
            self.drafts.append(_Draft(step, takes=None, gives=gives))


def _cycles(drafts: Sequence[_Draft]) -> list[list[_Draft]]:
    """Strongly connected groups of more than one action (Tarjan), each in cycle order."""
    by_key = {d.action.key: d for d in drafts}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[_Draft]] = []
    counter = 0

    def visit(root: str) -> None:
        nonlocal counter
        work = [(root, iter(by_key[root].action.depends_on))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for target in edges:
                if target not in by_key:
                    continue
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(by_key[target].action.depends_on)))
                    advanced = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    key = stack.pop()
                    on_stack.discard(key)
                    group.append(key)
                    if key == node:
                        break
                if len(group) > 1:
                    groups.append([by_key[key] for key in reversed(group)])

    for draft in drafts:
        if draft.action.key not in index:
            visit(draft.action.key)
    return groups


def _topological(drafts: Sequence[_Draft]) -> list[_Draft]:
    """Dependencies first; otherwise writes before state-only actions, then by key."""
    by_key = {d.action.key: d for d in drafts}
    rank = {CREATE: 1, UPDATE: 1, DELETE: 0, ADOPT: 2, MOVE: 2, FORGET: 2}
    done: set[str] = set()
    ordered: list[_Draft] = []
    for draft in sorted(drafts, key=lambda d: (rank[d.action.action], d.action.key)):
        pending = [draft]
        while pending:
            current = pending[-1]
            key = current.action.key
            if key in done:
                pending.pop()
                continue
            missing = [
                by_key[k] for k in current.action.depends_on if k in by_key and k not in done
            ]
            if missing:
                pending.extend(missing)
                continue
            done.add(key)
            ordered.append(current)
            pending.pop()
    return ordered


def _with_dependencies(actions: Sequence[Action], keys: Collection[str]) -> list[Action]:
    by_key = {a.key: a for a in actions}
    wanted: set[str] = set()
    pending = [k for k in keys if k in by_key]
    while pending:
        key = pending.pop()
        if key in wanted:
            continue
        wanted.add(key)
        pending.extend(k for k in by_key[key].depends_on if k in by_key)
        # The two steps of an update split to break a cycle go together: the first
        # alone would leave the object on its temporary address.
        if f"{key}#tmp" in by_key:
            pending.append(f"{key}#tmp")
        if key.endswith("#tmp") and key.removesuffix("#tmp") in by_key:
            pending.append(key.removesuffix("#tmp"))
    return [a for a in actions if a.key in wanted]


class PreparedPlan:
    """The part of a plan that needs nothing from the server (``prepare_plan``), so that
    it can be made while the server is still being read; ``finish_plan`` makes the plan
    of it, once."""

    def __init__(self, planners: Sequence[_KindPlanner], prune: bool) -> None:
        self.planners = tuple(planners)
        self.prune = prune
        self.observed = False
        self.finished = False

    def observe(
        self, live: Sequence[LiveObject], live_index: Mapping[str, KindIndex] | None = None
    ) -> None:
        """The drift, as soon as the objects are listed (``finish_plan`` does it if not
        done): it needs no owner, which may take longer to list."""
        if live_index is None:
            live_index = index_live([planner.kind for planner in self.planners], live)
        for planner in self.planners:
            planner.observe(live_index[planner.kind.name])
        self.observed = True


def prepare_plan(
    kinds: Sequence[ResourceKind],
    resources: Sequence[Resource],
    state: Mapping[str, StateEntry],
    *,
    prune: bool = False,
) -> PreparedPlan:
    """The first half of ``make_plan``: what the resources and the state give."""
    planners = []
    for kind in kinds:
        prefix = f"{kind.name}."
        planner = _KindPlanner(kind, prune)
        # Checked in C first: with one kind, everything is usually of it.
        kind_resources = (
            resources
            if all(map(eq, map(attrgetter("kind"), resources), repeat(kind.name)))
            else [r for r in resources if r.kind == kind.name]
        )
        kind_state = (
            state
            if all(map(methodcaller("startswith", prefix), state))
            else {a: b for a, b in state.items() if a.startswith(prefix)}
        )
        planner.prepare(kind_resources, kind_state)
        planners.append(planner)
    return PreparedPlan(planners, prune)


def finish_plan(
    prepared: PreparedPlan,
    live: Sequence[LiveObject],
    *,
    owners: Mapping[str, str],
    owner_names: Mapping[str, str] | None = None,
    refresh_only: bool = False,
    targets: Collection[str] = (),
    live_index: Mapping[str, KindIndex] | None = None,
) -> Plan:
    """The second half of ``make_plan``: the plan, with the owners and the live objects."""
    if prepared.finished:
        raise ValueError("a prepared plan is finished once")  # its planners hold the first
    prepared.finished = True
    actions: list[Action] = []
    drift: list[Drift] = []
    unmanaged: list[Unmanaged] = []
    problems: list[Problem] = []
    if not prepared.observed:
        prepared.observe(live, live_index)
    for planner in prepared.planners:
        planner.owner_names = owner_names or {}
        planner.resolve(owners)
        kind_actions, kind_drift, kind_unmanaged = planner.plan(refresh_only)
        problems.extend(planner.problems)
        actions.extend(kind_actions)
        drift.extend(kind_drift)
        unmanaged.extend(kind_unmanaged)
    if problems:
        raise PlanError(_problem_text(problems))
    if targets:
        # As Terraform's -target: only the targeted resources (and what they depend on)
        # are refreshed, so drift elsewhere is neither shown nor written into state.
        actions = _with_dependencies(actions, targets)
        kept = set(targets) | {a.address for a in actions if a.address}
        kept |= {a.moved_from for a in actions if a.moved_from}
        drift = [d for d in drift if d.address in kept]
    return Plan(tuple(actions), tuple(drift), tuple(unmanaged), refresh_only, prepared.prune)


def make_plan(
    kinds: Sequence[ResourceKind],
    resources: Sequence[Resource],
    state: Mapping[str, StateEntry],
    live: Sequence[LiveObject],
    *,
    owners: Mapping[str, str],
    owner_names: Mapping[str, str] | None = None,
    prune: bool = False,
    refresh_only: bool = False,
    targets: Collection[str] = (),
    live_index: Mapping[str, KindIndex] | None = None,
) -> Plan:
    """Plan every kind. ``owners`` maps lower-cased aliases the server knows to ObjectIds;
    ``owner_names`` maps lower-cased owner ObjectIds to aliases, for messages. ``targets``
    (resource addresses) restricts the actions to those and what they depend on.
    ``live_index`` is ``index_live(kinds, live)`` when the caller made it already.

    Raises ``PlanError`` listing every problem (unknown alias, conflict) with its place."""
    prepared = prepare_plan(kinds, resources, state, prune=prune)
    return finish_plan(
        prepared,
        live,
        owners=owners,
        owner_names=owner_names,
        refresh_only=refresh_only,
        targets=targets,
        live_index=live_index,
    )


def _problem_text(problems: Sequence[Problem]) -> str:
    ordered = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.message))
    count = len(ordered)
    lines = [f"the plan cannot be made ({count} problem{'s' if count != 1 else ''}):"]
    lines += [f"  {p}" for p in ordered]
    return "\n".join(lines)
