"""Every (event, state) pair: the rows of RULES are taken, every other pair is refused."""

from __future__ import annotations

import pytest
from occupancy_fixtures import ALL_EVENT_TYPES, T0, example_event, machine_in

from door_controller import events as ev
from door_controller.occupancy import RULES, TRANSITIONS, BranchState, TransitionRefused

PAIRS = [(event_type, state) for event_type in ALL_EVENT_TYPES for state in BranchState]

# Rows whose action refuses the example event in the fixture's machine, and why; each of these
# is also taken in another state (or with other facts) by a test below.
GUARDED = {
    (ev.AdjustCount, BranchState.CLOSED): "below zero",  # closing reset the count
    (ev.Resume, BranchState.FAULT): "not paused",
    (ev.Normal, BranchState.FAULT): "neither is on",
    (ev.HoldDoor, BranchState.FREE_ENTRY): "no sensor is faulty",
    (ev.BranchOpened, BranchState.FREE_ENTRY): "not closed",
    (ev.BranchOpened, BranchState.EMERGENCY): "not closed",
    (ev.BranchOpened, BranchState.FAULT): "not closed",
    (ev.AdmitNow, BranchState.OPEN): "not in the queue",
    (ev.RemoveWaiting, BranchState.OPEN): "not in the queue",
    (ev.RemoveWaiting, BranchState.CLOSED): "not in the queue",
    (ev.RemoveWaiting, BranchState.FREE_ENTRY): "not in the queue",
    (ev.AdmitNow, BranchState.FREE_ENTRY): "not in the queue",
    (ev.AdmitNow, BranchState.FULL): "no room",
    (ev.AdmitParty, BranchState.FULL): "no room",
}


def test_every_event_has_a_row_and_no_pair_has_two() -> None:
    events_in_rules = {rule.event for rule in RULES}
    assert events_in_rules == set(ALL_EVENT_TYPES)
    assert len(TRANSITIONS) == sum(len(rule.states) for rule in RULES)


@pytest.mark.parametrize(("event_type", "state"), PAIRS,
                         ids=[f"{e.__name__}-{s.value}" for e, s in PAIRS])
def test_pair(event_type: type, state: BranchState) -> None:
    machine = machine_in(state)
    before = machine.snapshot()
    event = example_event(event_type, machine)
    rule = TRANSITIONS.get((event_type, state))
    if rule is None:
        with pytest.raises(TransitionRefused) as refused:
            machine.handle(event, T0)
        message = str(refused.value)
        assert event_type.__name__ in message and f"'{state.value}'" in message
        assert machine.snapshot() == before, "a refused event changed the machine"
        return
    guard = GUARDED.get((event_type, state))
    try:
        machine.handle(event, T0)
    except TransitionRefused as refused:
        if guard is None:
            raise
        assert guard in refused.reason
        assert machine.snapshot() == before, "a refused event changed the machine"
        return
    assert machine.state in (rule.to or (state,))
