"""Random event sequences: the count never goes negative, admissions never pass the limit
(outside free entry and emergency), and no waiting customer is lost."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from occupancy_fixtures import STAFF, T0

from door_controller import events as ev
from door_controller.effects import Called, NotEntered, Placed, SendAdmit
from door_controller.occupancy import BranchState, OccupancyMachine, TransitionRefused

TICKETS = [f"A{n:03d}" for n in range(5)]
tickets = st.sampled_from(TICKETS)
sizes = st.integers(min_value=1, max_value=4)

event_strategy = st.one_of(
    st.builds(ev.CheckedIn, tickets, sizes), st.builds(ev.CheckedIn, tickets, sizes),
    st.builds(ev.WalkIn, tickets, sizes, st.just(STAFF)),
    st.just(ev.PassedIn()), st.just(ev.PassedIn()), st.just(ev.PassedOut()),
    st.just(ev.PassedOut()),
    st.builds(ev.AdmissionExpired, st.integers(1, 5)),
    st.builds(ev.AdmitFailed, st.one_of(st.none(), tickets), sizes),
    st.builds(ev.AdmitFailed, tickets, sizes),
    st.builds(ev.AdmitNow, tickets, st.just(STAFF)),
    st.builds(ev.AdmitParty, sizes, st.just(STAFF)),
    st.builds(ev.RemoveWaiting, tickets, st.just(STAFF)),
    st.builds(ev.AdjustCount, st.just(STAFF), delta=st.integers(-3, 3)),
    st.builds(ev.AdjustCount, st.just(STAFF), count=st.integers(0, 8)),
    st.builds(ev.SetLimit, st.integers(1, 6), st.just(STAFF)),
    st.builds(ev.Pause, st.just(STAFF)), st.builds(ev.Resume, st.just(STAFF)),
    st.builds(ev.FreeEntry, st.just(STAFF)), st.builds(ev.Emergency, st.just(STAFF)),
    st.builds(ev.Normal, st.just(STAFF)), st.builds(ev.HoldDoor, st.just(STAFF)),
    st.just(ev.DoorLinkDown("test")), st.just(ev.DoorLinkUp()),
    st.builds(ev.DeviceRebooted, st.just(1), st.just(2)),
    st.builds(ev.SensorFault, st.integers(1, 7)),
    st.builds(ev.SensorFaultCleared, st.integers(1, 7)),
    st.just(ev.DoorForced()), st.just(ev.Tailgate()),
    st.builds(ev.Reconcile, st.integers(0, 2), st.integers(0, 2)),
    st.just(ev.BranchClosed()), st.just(ev.BranchOpened()), st.just(ev.Tick()),
)
steps = st.lists(st.tuples(event_strategy, st.integers(0, 90)), max_size=60)


@settings(max_examples=400, deadline=None)
@given(limit=st.integers(1, 5), steps=steps)
def test_random_sequences_keep_the_invariants(limit: int, steps: list) -> None:
    machine = OccupancyMachine.new(limit)
    now = T0
    machine.handle(ev.DoorLinkUp(), now)
    # Every ticket placed stays in the queue or in an admission until the door counts it in,
    # an effect calls it or hands it to the staff, or the staff remove it.
    tracked: set[str] = set()
    for event, seconds in steps:
        now += timedelta(seconds=seconds)
        state_before = machine.state
        head_before = machine.admissions[0].ticket if machine.admissions else None
        try:
            effects = machine.handle(event, now)
        except TransitionRefused:
            continue
        assert machine.count >= 0
        if any(isinstance(e, SendAdmit) for e in effects):
            assert state_before not in (BranchState.FREE_ENTRY, BranchState.EMERGENCY)
            assert machine.count + machine.in_flight <= machine.limit, effects
        placed = [e for e in effects if isinstance(e, Placed)]
        if isinstance(event, ev.CheckedIn | ev.WalkIn):
            assert len(placed) == 1 and placed[0].ticket == event.ticket
            tracked.add(event.ticket)
        else:
            assert placed == []
        resolved = {e.ticket for e in effects if isinstance(e, Called | NotEntered)}
        if isinstance(event, ev.RemoveWaiting):
            resolved.add(event.ticket)
        if isinstance(event, ev.PassedIn) and head_before is not None:
            resolved.add(head_before)
        if placed and placed[0].outcome == "admitted" and not effects[1:]:
            resolved.add(placed[0].ticket)  # free entry: nothing to wait for
        present = {w.ticket for w in machine.waiting} | {a.ticket for a in machine.admissions}
        lost = tracked - present - resolved
        assert not lost, f"{lost} vanished after {event}"
        tracked &= present
        waiting = [w.ticket for w in machine.waiting]
        assert len(waiting) == len(set(waiting))
        restored = OccupancyMachine.from_snapshot(machine.snapshot())
        assert restored.snapshot() == machine.snapshot()
        assert restored.state is machine.state
