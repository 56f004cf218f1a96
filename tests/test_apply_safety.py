"""The mass-delete threshold: managed objects only, named per command."""

from __future__ import annotations

import pytest

from cupiform.commands.apply_cmd import check_safety
from cupiform.config import Safety
from cupiform.errors import UsageError
from cupiform.plan import Action, Plan
from cupiform.state.document import State, StateEntry

KIND = "smtp_proxy_address"


def _state(count: int) -> State:
    state = State.new("https://cuc.example.com")
    for i in range(count):
        state = state.with_entry(f"{KIND}.r{i}", StateEntry(f"id-{i}", {"SmtpAddress": f"{i}@x"}))
    return state


def _delete(address: str | None, object_id: str) -> Action:
    key = address or f"{KIND}[{object_id}]"
    return Action(key, KIND, address, "delete", object_id, {"SmtpAddress": "a@x"}, None, "why")


def test_deleting_more_than_the_share_needs_force() -> None:
    plan = Plan(tuple(_delete(f"{KIND}.r{i}", f"id-{i}") for i in range(4)))
    with pytest.raises(
        UsageError, match=r"deletes 4 of 10 managed objects \(40%\).*destroy --force"
    ):
        check_safety(plan, _state(10), Safety(30, 10), force=False, operation="destroy")
    check_safety(plan, _state(10), Safety(30, 10), force=True)
    check_safety(plan, _state(10), Safety(50, 10), force=False)
    check_safety(plan, _state(9), Safety(30, 10), force=False)  # below min_managed


def test_pruned_unmanaged_objects_are_not_counted() -> None:
    pruned = tuple(_delete(None, f"stray-{i}") for i in range(20))
    check_safety(
        Plan((*pruned, _delete(f"{KIND}.r0", "id-0"))), _state(10), Safety(30, 10), force=False
    )
