"""Property: carrying out a plan in its order against a server that enforces unique
addresses never fails, and planning again afterwards finds nothing to do.

A small simulated server (uniqueness without case, as CUPI) executes each action the way
the executor will; hypothesis draws manifests, state and live objects from a small pool
of addresses and owners, so that swaps, rotations, renames, drift and conflicts are common.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from cupiform.errors import PlanError
from cupiform.model import Owner, Resource, Source
from cupiform.plan import LiveObject, Plan
from cupiform.planner import make_plan
from cupiform.resources.kinds import KINDS
from cupiform.state.document import StateEntry

KIND = "smtp_proxy_address"
OWNER = "ObjectGlobalUserObjectId"
OWNERS = {
    "u1": "00000000-0000-4000-8000-000000000001",
    "u2": "00000000-0000-4000-8000-000000000002",
    "u3": "00000000-0000-4000-8000-000000000003",
}
ADDRESSES = [
    "a@x.example",
    "A@x.example",
    "b@x.example",
    "c@x.example",
    "d@x.example",
    "e@x.example",
]
NAMES = ["n1", "n2", "n3", "n4", "n5"]


class Server:
    def __init__(self, objects: Mapping[str, dict[str, str]]) -> None:
        self.objects = {k: dict(v) for k, v in objects.items()}
        self.ids = itertools.count(1000)

    def _check_free(self, address: str, own_id: str | None) -> None:
        for object_id, attributes in self.objects.items():
            if object_id != own_id and attributes["SmtpAddress"].casefold() == address.casefold():
                raise AssertionError(f"{address} is still held by {object_id}")

    def create(self, attributes: Mapping[str, str]) -> str:
        self._check_free(attributes["SmtpAddress"], None)
        object_id = f"obj-{next(self.ids)}"
        self.objects[object_id] = dict(attributes)
        return object_id

    def update(self, object_id: str, attributes: Mapping[str, str]) -> None:
        assert object_id in self.objects
        self._check_free(attributes["SmtpAddress"], object_id)
        self.objects[object_id] = dict(attributes)

    def delete(self, object_id: str) -> None:
        assert object_id in self.objects
        del self.objects[object_id]

    def live(self) -> list[LiveObject]:
        return [LiveObject(KIND, k, v) for k, v in self.objects.items()]


def execute(plan: Plan, server: Server, state: dict[str, StateEntry]) -> None:
    """What apply does: each call in order, state after each, then live values into state."""
    for action in plan.actions:
        after = dict(action.after or {})
        if action.action == "create":
            assert action.address is not None
            state[action.address] = StateEntry(server.create(after), after)
        elif action.action == "update":
            assert action.object_id is not None and action.address is not None
            server.update(action.object_id, after)
            if action.moved_from:
                state.pop(action.moved_from)
            state[action.address] = StateEntry(action.object_id, after)
        elif action.action == "delete":
            assert action.object_id is not None
            server.delete(action.object_id)
            if action.address is not None:
                state.pop(action.address)
        elif action.action == "adopt":
            assert action.object_id is not None and action.address is not None
            state[action.address] = StateEntry(action.object_id, after)
        elif action.action == "move":
            assert action.moved_from is not None and action.address is not None
            bound = state.pop(action.moved_from)
            state[action.address] = bound
        elif action.action == "forget":
            assert action.address is not None
            state.pop(action.address)
    for address, bound in list(state.items()):
        if bound.object_id in server.objects:
            state[address] = StateEntry(bound.object_id, server.objects[bound.object_id])


def _resources(desired: Mapping[str, tuple[str, str]]) -> list[Resource]:
    return [
        Resource(
            KIND,
            name,
            {"SmtpAddress": address},
            Owner(alias, None, Source("m.yaml", 1, 1)),
            Source("m.yaml", i + 1, 3),
        )
        for i, (name, (address, alias)) in enumerate(desired.items())
    ]


Desired = dict[str, tuple[str, str]]  # name -> (address, owner alias)
World = tuple[Desired, dict[str, StateEntry], "Server", bool]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    def unique_addresses(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        seen: set[str] = set()
        kept = []
        for address, owner in pairs:
            if address.casefold() not in seen:
                seen.add(address.casefold())
                kept.append((address, owner))
        return kept

    pair = st.tuples(st.sampled_from(ADDRESSES), st.sampled_from(sorted(OWNERS)))
    live_pairs = unique_addresses(draw(st.lists(pair, max_size=5)))
    live = {
        f"live-{i}": {"SmtpAddress": a, OWNER: OWNERS[o]} for i, (a, o) in enumerate(live_pairs)
    }
    desired_pairs = unique_addresses(draw(st.lists(pair, max_size=5)))
    names = draw(st.permutations(NAMES))
    desired = {names[i]: p for i, p in enumerate(desired_pairs)}
    state: dict[str, StateEntry] = {}
    live_ids = list(live)
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=5)):
        object_id = draw(st.sampled_from([*live_ids, "gone-1", "gone-2"]))
        if any(b.object_id == object_id for b in state.values()):
            continue
        recorded = dict(
            live.get(object_id) or {"SmtpAddress": "old@x.example", OWNER: OWNERS["u1"]}
        )
        if draw(st.booleans()):  # drift: state remembers another address
            recorded["SmtpAddress"] = draw(st.sampled_from(ADDRESSES))
        state[f"{KIND}.{name}"] = StateEntry(object_id, recorded)
    return desired, state, Server(live), draw(st.booleans())


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_a_plan_applies_in_order_and_then_nothing_is_left(
    world: tuple[dict[str, tuple[str, str]], dict[str, StateEntry], Server, bool],
) -> None:
    desired, state, server, prune = world
    resources = _resources(desired)
    owners = {alias: object_id for alias, object_id in OWNERS.items()}
    try:
        plan = make_plan(KINDS, resources, state, server.live(), owners=owners, prune=prune)
    except PlanError as error:
        assert "held on the server by object" in str(error)
        return
    state = dict(state)
    execute(plan, server, state)
    again = make_plan(KINDS, resources, state, server.live(), owners=owners, prune=prune)
    assert again.actions == ()
    assert again.drift == ()
    if prune:
        assert again.unmanaged == ()
    # Every declared resource is bound to a live object holding what it declares.
    for name, (address, alias) in desired.items():
        bound = state[f"{KIND}.{name}"]
        assert server.objects[bound.object_id] == {"SmtpAddress": address, OWNER: OWNERS[alias]}
    assert set(state) == {f"{KIND}.{name}" for name in desired}


@st.composite
def permutations(draw: st.DrawFn) -> tuple[Desired, dict[str, StateEntry], Server]:
    """Bound objects whose addresses the manifests shuffle among them: swaps and rotations,
    sometimes with an owner change or an extra new resource taking a freed address."""
    count = draw(st.integers(min_value=2, max_value=5))
    addresses = ADDRESSES[2 : 2 + count] if count <= 4 else [*ADDRESSES[2:], "a@x.example"]
    owners = [draw(st.sampled_from(sorted(OWNERS))) for _ in range(count)]
    live = {
        f"live-{i}": {"SmtpAddress": addresses[i], OWNER: OWNERS[owners[i]]} for i in range(count)
    }
    state = {f"{KIND}.{NAMES[i]}": StateEntry(f"live-{i}", live[f"live-{i}"]) for i in range(count)}
    shuffled = draw(st.permutations(addresses))
    desired = {
        NAMES[i]: (shuffled[i], draw(st.sampled_from([owners[i], *sorted(OWNERS)])))
        for i in range(count)
    }
    if draw(st.booleans()):  # one resource dropped: its address is free for nobody
        desired.pop(NAMES[0])
    return desired, state, Server(live)


@settings(max_examples=300, deadline=None)
@given(permutations())
def test_swaps_and_rotations_apply_in_order(
    world: tuple[dict[str, tuple[str, str]], dict[str, StateEntry], Server],
) -> None:
    desired, state, server = world
    resources = _resources(desired)
    plan = make_plan(KINDS, resources, state, server.live(), owners=OWNERS)
    # Objects keep their ObjectIds: updates in place, a delete only for a dropped resource.
    assert all(a.action in ("update", "delete") for a in plan.actions)
    assert sum(a.action == "delete" for a in plan.actions) == len(state) - len(desired)
    state = dict(state)
    execute(plan, server, state)
    again = make_plan(KINDS, resources, state, server.live(), owners=OWNERS)
    assert again.actions == () and again.drift == ()
    for name in desired:
        assert state[f"{KIND}.{name}"].object_id == f"live-{NAMES.index(name)}"
    for name, (address, alias) in desired.items():
        bound = state[f"{KIND}.{name}"]
        assert server.objects[bound.object_id] == {"SmtpAddress": address, OWNER: OWNERS[alias]}
