"""What apply --refresh-only writes into state for drift without an action of its own."""

from __future__ import annotations

from cupiform.executor import refreshed_entries
from cupiform.plan import Drift, Plan
from cupiform.state.document import State, StateEntry

KIND = "smtp_proxy_address"
OWNER = "ObjectGlobalUserObjectId"
JDOE = "9375d893-c8eb-437b-90bf-7de4b1d0c3e8"


def _state() -> State:
    state = State.new("https://cuc.example.com")
    for name in ("a", "b", "c"):
        entry = StateEntry(f"id-{name}", {"SmtpAddress": f"{name}@example.com", OWNER: JDOE})
        state = state.with_entry(f"{KIND}.{name}", entry)
    return state


def test_live_values_are_recorded_and_objects_no_longer_managed_leave_state() -> None:
    before = {"SmtpAddress": "x@example.com", OWNER: JDOE}
    plan = Plan(
        (),
        drift=(
            Drift(
                f"{KIND}.a",
                KIND,
                "id-a",
                "changed",
                before,
                {"SmtpAddress": "new@example.com", OWNER: JDOE},
            ),
            Drift(f"{KIND}.b", KIND, "id-b", "deleted", before, None),
            # given to a contact: no user owner any more, which state cannot hold
            Drift(f"{KIND}.c", KIND, "id-c", "changed", before, {"SmtpAddress": "c@example.com"}),
        ),
    )
    change = refreshed_entries(plan)
    assert change is not None
    after = change(_state())
    assert set(after.resources) == {f"{KIND}.a"}
    assert after.resources[f"{KIND}.a"].attributes["SmtpAddress"] == "new@example.com"
