"""The executor: carries out a plan's calls in dependency order, in parallel, and records
each success in state as it happens.

Calls run on ``parallelism`` worker threads (the client's limiter backs off further when
the server is busy). An action starts when every action it depends on has succeeded; when
one fails, everything that depends on it, directly or not, is skipped, and the rest goes
on. State-only actions (adopt, move, forget) make no call.

State is written by a writer thread, after every success: results that arrive while a
write is under way are written together by the next one (group commit), so no success
waits for more than the next write, and the calls never wait for the disk. An interrupted
apply therefore loses at most the calls in flight; the next plan finds those objects on
the server and adopts them.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from cupiform.cupi.client import CupiClient
from cupiform.errors import CupiformError, NotFoundError, StateError
from cupiform.plan import ADOPT, CREATE, DELETE, FORGET, MOVE, UPDATE, Action, Plan
from cupiform.resources.kinds import KINDS, ResourceKind, kind_named
from cupiform.state import State, StateBackend, StateEntry

DONE, FAILED, SKIPPED = "done", "failed", "skipped"
StateChange = Callable[[State], State]


@dataclass(frozen=True)
class Outcome:
    action: Action
    status: str
    object_id: str | None = None
    error: str | None = None


class StateWriter:
    """Applies state changes in order and writes them, batching those that queue up."""

    def __init__(self, backend: StateBackend, state: State) -> None:
        self._backend = backend
        self._state = state
        self._queue: queue.Queue[StateChange | None] = queue.Queue()
        self._failure: CupiformError | None = None
        self.writes = 0
        self._thread = threading.Thread(target=self._run, name="cupiform-state", daemon=True)
        self._thread.start()

    @property
    def failure(self) -> CupiformError | None:
        return self._failure

    def submit(self, change: StateChange) -> None:
        self._queue.put(change)

    def _run(self) -> None:
        stop = False
        while not stop:
            changes = [self._queue.get()]
            while True:
                try:
                    changes.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = changes[-1] is None or None in changes
            batch = [change for change in changes if change is not None]
            if not batch or self._failure is not None:
                continue
            state = self._state
            for change in batch:
                state = change(state)
            try:
                self._state = self._backend.write(state)
                self.writes += 1
            except CupiformError as error:
                self._failure = error
            except OSError as error:
                self._failure = StateError(f"cannot write the state: {error}")
            except Exception as error:  # a bug must not end this thread in silence
                self._failure = StateError(
                    f"cannot write the state: {type(error).__name__}: {error}"
                )

    def close(self) -> State:
        """Write what is queued, stop, and return the state as last written."""
        self._queue.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._state


def _set(address: str, entry: StateEntry) -> StateChange:
    return lambda state: state.with_entry(address, entry)


def _drop(*addresses: str) -> StateChange:
    return lambda state: state.without(*addresses)


def _moved(old: str, new: str, entry: StateEntry) -> StateChange:
    return lambda state: state.without(old).with_entry(new, entry)


def state_change(action: Action, object_id: str | None) -> StateChange | None:
    """How a successful action changes state."""
    after = dict(action.after or {})
    address = action.address
    if action.action in (MOVE, UPDATE) and address and action.moved_from and object_id:
        return _moved(action.moved_from, address, StateEntry(object_id, after))
    if action.action in (CREATE, UPDATE, ADOPT) and address is not None and object_id:
        return _set(address, StateEntry(object_id, after))
    if action.action in (DELETE, FORGET) and address is not None:
        return _drop(address)
    return None


def refreshed_entries(plan: Plan, kinds: Sequence[ResourceKind] = KINDS) -> StateChange | None:
    """State entries that drifted without an action of their own take the live values, as
    ``apply --refresh-only`` records them. An entry leaves state when its object is gone,
    or when it now lacks a field state requires (it was given to a contact, say: cupiform
    no longer manages it)."""
    touched = {a.address for a in plan.actions if a.address is not None}
    touched |= {a.moved_from for a in plan.actions if a.moved_from}
    changes = [d for d in plan.drift if d.address not in touched]
    if not changes:
        return None
    required = {kind.name: kind.state_attributes for kind in kinds}

    def apply(state: State) -> State:
        for drift in changes:
            after = drift.after
            if after is None or any(name not in after for name in required[drift.kind]):
                state = state.without(drift.address)
            elif drift.address in state.resources:
                state = state.with_entry(drift.address, StateEntry(drift.object_id, dict(after)))
        return state

    return apply


def _changed_fields(kind: ResourceKind, action: Action) -> dict[str, str]:
    before, after = action.before or {}, action.after or {}
    return {
        name: value
        for name, value in after.items()
        if not kind.same_value(name, before.get(name), value)
    }


def call(client: CupiClient, kinds: Sequence[ResourceKind], action: Action) -> str | None:
    """The CUPI call of one write action; returns the object's ObjectId."""
    kind = kind_named(action.kind, kinds)
    if action.action == CREATE:
        return client.create(kind.collection, dict(action.after or {}))
    assert action.object_id is not None
    if action.action == UPDATE:
        client.update(kind.collection, action.object_id, _changed_fields(kind, action))
    elif action.action == DELETE:
        with contextlib.suppress(NotFoundError):  # already gone: what the delete wanted
            client.delete(kind.collection, action.object_id)
    return action.object_id


def execute(
    plan: Plan,
    client: CupiClient,
    kinds: Sequence[ResourceKind],
    writer: StateWriter,
    *,
    parallelism: int,
    progress: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Carry out ``plan``; returns every action's outcome, in the order they ended."""
    actions = {a.key: a for a in plan.actions}
    waiting: dict[str, set[str]] = {
        key: {d for d in a.depends_on if d in actions} for key, a in actions.items()
    }
    dependents: dict[str, list[str]] = {key: [] for key in actions}
    for key, needs in waiting.items():
        for need in needs:
            dependents[need].append(key)
    outcomes: list[Outcome] = []
    finished: set[str] = set()

    def finish(outcome: Outcome) -> list[str]:
        """Record an outcome; returns the actions that became ready."""
        key = outcome.action.key
        finished.add(key)
        outcomes.append(outcome)
        progress(outcome)
        ready = []
        if outcome.status == DONE:
            for dependent in dependents[key]:
                waiting[dependent].discard(key)
                if not waiting[dependent] and dependent not in finished:
                    ready.append(dependent)
        else:
            for dependent in dependents[key]:
                if dependent not in finished:
                    ready += finish(
                        Outcome(
                            actions[dependent], SKIPPED, error=f"not attempted: it waits for {key}"
                        )
                    )
        return ready

    ready = deque(key for key in actions if not waiting[key])
    running: dict[Future[str | None], str] = {}
    workers = max(1, parallelism)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cupiform-call") as pool:
        try:
            while ready or running:
                # No more calls are handed to the pool than it has workers: a call waiting in
                # the pool's queue could no longer be held back by an interrupt or a state
                # that cannot be written.
                while ready and len(running) < workers:
                    key = ready.popleft()
                    if key in finished:
                        continue
                    action = actions[key]
                    if writer.failure is not None:
                        ready += finish(
                            Outcome(action, SKIPPED, error="not attempted: state cannot be written")
                        )
                        continue
                    if not action.writes:
                        change = state_change(action, action.object_id)
                        if change is not None:
                            writer.submit(change)
                        ready += finish(Outcome(action, DONE, action.object_id))
                        continue
                    running[pool.submit(call, client, kinds, action)] = key
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    action = actions[running[future]]
                    try:
                        object_id = future.result()
                    except CupiformError as error:
                        del running[future]
                        ready += finish(Outcome(action, FAILED, error=str(error)))
                        continue
                    change = state_change(action, object_id)
                    if change is not None:
                        writer.submit(change)
                    # Only once its result is queued for state: an interrupt before this
                    # line still finds the call below (recording it twice does no harm).
                    del running[future]
                    ready += finish(Outcome(action, DONE, object_id))
        except BaseException:
            # Interrupted: nothing new starts; the calls in flight finish and are recorded.
            for future, key in running.items():
                try:
                    object_id = future.result()
                except Exception:  # it failed: nothing to record
                    continue
                change = state_change(actions[key], object_id)
                if change is not None:
                    writer.submit(change)
            raise
    return outcomes


def outcome_counts(outcomes: Sequence[Outcome]) -> Mapping[str, int]:
    counts = {DONE: 0, FAILED: 0, SKIPPED: 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return counts
