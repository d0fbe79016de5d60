"""What each transition does: places, admissions, alarms, modes, the day, and snapshots."""

from __future__ import annotations

import pytest
from occupancy_fixtures import STAFF, T0, at, open_machine

from door_controller import events as ev
from door_controller.effects import (
    Alarm,
    AlarmKind,
    Called,
    Counted,
    DoorMode,
    Drift,
    NotEntered,
    Placed,
    SendAdmit,
    SendMode,
    StaffNotice,
)
from door_controller.occupancy import (
    BranchState,
    OccupancyMachine,
    SnapshotError,
    TransitionRefused,
)

S = BranchState


def admits(effects: list) -> list[tuple[str | None, int, bool]]:
    return [(e.ticket, e.party_size, e.called) for e in effects if isinstance(e, SendAdmit)]


def test_checked_in_customer_is_admitted_when_the_party_fits() -> None:
    machine = open_machine(limit=3)
    effects = machine.handle(ev.CheckedIn("A001", 2), T0)
    assert effects == [Placed("A001", "admitted", None), SendAdmit("A001", 2, 45_000, False)]
    assert machine.in_flight == 2 and machine.free_places == 1
    assert machine.state is S.OPEN


def test_admissions_in_flight_take_places_so_the_next_customer_waits() -> None:
    machine = open_machine(limit=2)
    machine.handle(ev.CheckedIn("A001", 2), T0)
    effects = machine.handle(ev.CheckedIn("A002", 1), T0)
    assert effects == [Placed("A002", "waiting", 1)]
    assert machine.count == 0 and machine.state is S.FULL


def test_a_place_freed_by_a_pass_out_admits_the_next_waiting_customer_in_order() -> None:
    machine = open_machine(limit=2)
    for ticket in ("A001", "A002", "A003", "A004"):
        machine.handle(ev.CheckedIn(ticket, 1), T0)
    for _ in range(2):
        machine.handle(ev.PassedIn(), at(5))
    assert [w.ticket for w in machine.waiting] == ["A003", "A004"]
    effects = machine.handle(ev.PassedOut(), at(60))
    assert effects == [Counted("out", 1), SendAdmit("A003", 1, 45_000, True)]
    assert machine.position_of("A004") == 1


def test_the_queue_is_strictly_first_in_first_out() -> None:
    machine = open_machine(limit=3)
    machine.handle(ev.AdjustCount(STAFF, count=1), T0)
    machine.handle(ev.CheckedIn("A001", 3), T0)  # does not fit: waits
    effects = machine.handle(ev.CheckedIn("A002", 1), T0)  # would fit, but A001 is first
    assert effects == [Placed("A002", "waiting", 2)]
    effects = machine.handle(ev.PassedOut(), at(10))
    assert admits(effects) == [("A001", 3, True)]


def test_an_unused_admission_goes_back_to_the_staff_and_frees_its_place() -> None:
    machine = open_machine(limit=2)
    machine.handle(ev.CheckedIn("A001", 2), T0)
    machine.handle(ev.CheckedIn("A002", 1), T0)
    machine.handle(ev.PassedIn(), at(5))
    effects = machine.handle(ev.AdmissionExpired(1), at(45))
    assert effects[0] == NotEntered("A001", 1, "window_expired")
    assert admits(effects) == [("A002", 1, True)]
    assert machine.count == 1 and machine.in_flight == 1


def test_a_tailgate_raises_an_alarm_and_the_count_still_follows_the_sensor() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.PassedIn(), T0)
    machine.handle(ev.PassedIn(), T0)  # the door sends PASS_IN, then TAILGATE
    effects = machine.handle(ev.Tailgate(), T0)
    assert effects == [Alarm(AlarmKind.TAILGATE, "someone came in with no admission pending")]
    assert machine.count == 2 and machine.state is S.FULL


@pytest.mark.parametrize(("event", "kind"), [
    (ev.DoorForced(), AlarmKind.DOOR_FORCED), (ev.DoorHeldOpen(), AlarmKind.DOOR_HELD_OPEN),
])
def test_door_alarms(event: ev.OccupancyEvent, kind: AlarmKind) -> None:
    machine = open_machine()
    [alarm] = machine.handle(event, T0)
    assert isinstance(alarm, Alarm) and alarm.kind is kind


def test_a_pass_out_at_zero_is_drift_and_the_count_stays_zero() -> None:
    machine = open_machine()
    effects = machine.handle(ev.PassedOut(), T0)
    assert effects[0] == Counted("out", 0) and isinstance(effects[1], Drift)
    assert machine.count == 0


def test_staff_adjust_the_count_but_never_below_zero() -> None:
    machine = open_machine(limit=5)
    machine.handle(ev.AdjustCount(STAFF, delta=+1), T0)
    machine.handle(ev.AdjustCount(STAFF, count=4), T0)
    assert machine.count == 4
    with pytest.raises(TransitionRefused, match="below zero"):
        machine.handle(ev.AdjustCount(STAFF, delta=-5), T0)
    with pytest.raises(TransitionRefused, match="either a delta"):
        machine.handle(ev.AdjustCount(STAFF, delta=1, count=2), T0)
    assert machine.count == 4


def test_lowering_the_count_or_raising_the_limit_admits_waiting_customers() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.AdjustCount(STAFF, count=1), T0)
    machine.handle(ev.CheckedIn("A001", 1), T0)
    machine.handle(ev.CheckedIn("A002", 1), T0)
    assert admits(machine.handle(ev.SetLimit(2, STAFF), T0)) == [("A001", 1, True)]
    assert admits(machine.handle(ev.AdjustCount(STAFF, delta=-1), T0)) == [("A002", 1, True)]
    with pytest.raises(TransitionRefused, match="between 1"):
        machine.handle(ev.SetLimit(0, STAFF), T0)


def test_pause_holds_the_door_refuses_check_ins_and_resume_admits_the_queue() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.AdjustCount(STAFF, count=1), T0)
    machine.handle(ev.CheckedIn("A001", 1), T0)
    assert machine.handle(ev.Pause(STAFF), T0) == [SendMode(DoorMode.HOLD)]
    with pytest.raises(TransitionRefused, match="CheckedIn refused in state 'paused'"):
        machine.handle(ev.CheckedIn("A002", 1), T0)
    assert machine.handle(ev.PassedOut(), T0) == [Counted("out", 0)]  # paused: nobody called
    effects = machine.handle(ev.Resume(STAFF), T0)
    assert effects == [SendMode(DoorMode.NORMAL), SendAdmit("A001", 1, 45_000, True)]


def test_free_entry_calls_everyone_waiting_and_normal_locks_again() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.AdjustCount(STAFF, count=1), T0)
    machine.handle(ev.CheckedIn("A001", 2), T0)
    effects = machine.handle(ev.FreeEntry(STAFF), T0)
    assert effects == [SendMode(DoorMode.FREE), Called("A001", 2)]
    assert machine.handle(ev.CheckedIn("A002", 1), T0) == [Placed("A002", "admitted", None)]
    for _ in range(3):
        machine.handle(ev.PassedIn(), T0)
    assert machine.count == 4 and machine.state is S.FREE_ENTRY
    assert machine.handle(ev.Normal(STAFF), T0) == [SendMode(DoorMode.NORMAL)]
    assert machine.state is S.FULL


@pytest.mark.parametrize("state", list(BranchState))
def test_emergency_sends_emergency_first_from_every_state(state: BranchState) -> None:
    from occupancy_fixtures import machine_in

    machine = machine_in(state)
    effects = machine.handle(ev.Emergency(STAFF), T0)
    assert effects[0] == SendMode(DoorMode.EMERGENCY)
    assert machine.state is S.EMERGENCY
    assert machine.handle(ev.Emergency(STAFF), T0) == [SendMode(DoorMode.EMERGENCY)]
    machine.handle(ev.DoorLinkDown("cable"), T0)
    assert machine.state is S.EMERGENCY  # the device keeps emergency without the host


def test_losing_the_door_link_is_a_fault_and_its_return_resends_the_mode() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.Pause(STAFF), T0)
    effects = machine.handle(ev.DoorLinkDown("no frames for 3.0 s"), T0)
    assert effects == [Alarm(AlarmKind.DOOR_LINK_DOWN, "no frames for 3.0 s"),
                       StaffNotice("door_link_down", "no frames for 3.0 s")]
    assert machine.state is S.FAULT
    assert machine.handle(ev.DoorLinkDown("again"), T0) == []
    with pytest.raises(TransitionRefused, match="door link is down"):
        machine.handle(ev.FreeEntry(STAFF), T0)
    effects = machine.handle(ev.DoorLinkUp(), T0)
    assert effects[0] == SendMode(DoorMode.HOLD) and machine.state is S.PAUSED


def test_check_ins_during_a_fault_wait_and_are_admitted_when_the_link_returns() -> None:
    machine = open_machine(limit=2)
    machine.handle(ev.DoorLinkDown("cable"), T0)
    assert machine.handle(ev.CheckedIn("A001", 1), T0) == [Placed("A001", "waiting", 1)]
    effects = machine.handle(ev.DoorLinkUp(), at(5))
    assert admits(effects) == [("A001", 1, True)]


def test_a_sensor_fault_holds_the_door_and_the_staff_choose_hold_or_free_entry() -> None:
    machine = open_machine(limit=2)
    effects = machine.handle(ev.SensorFault(0b01), T0)
    assert effects[0] == SendMode(DoorMode.HOLD)
    assert effects[1] == Alarm(AlarmKind.SENSOR_FAULT,
                               "beam A (street side) blocked or faulty for too long")
    assert isinstance(effects[2], StaffNotice) and effects[2].code == "sensor_fault_choose"
    assert machine.state is S.FAULT
    assert machine.handle(ev.HoldDoor(STAFF), T0) == [SendMode(DoorMode.HOLD)]
    assert machine.handle(ev.FreeEntry(STAFF), T0) == [SendMode(DoorMode.FREE)]
    assert machine.state is S.FREE_ENTRY
    assert machine.handle(ev.HoldDoor(STAFF), T0) == [SendMode(DoorMode.HOLD)]
    assert machine.state is S.FAULT
    machine.handle(ev.SensorFaultCleared(0b01), T0)
    assert machine.state is S.OPEN and machine.door_mode is DoorMode.NORMAL


def test_a_device_reboot_puts_its_admissions_back_at_the_head_of_the_queue() -> None:
    machine = open_machine(limit=2)
    machine.handle(ev.CheckedIn("A001", 2), T0)
    machine.handle(ev.CheckedIn("A002", 1), T0)
    effects = machine.handle(ev.DeviceRebooted(7, 8), at(3))
    assert effects[0] == SendMode(DoorMode.NORMAL)
    assert effects[1] == StaffNotice("device_rebooted", "boot 7 -> 8")
    assert admits(effects) == [("A001", 2, True)]
    assert [w.ticket for w in machine.waiting] == ["A002"]


def test_a_refused_admit_returns_the_customer_to_the_head_and_retries_later() -> None:
    machine = open_machine(limit=2)
    machine.handle(ev.CheckedIn("A001", 1), T0)
    machine.handle(ev.CheckedIn("A002", 1), T0)
    effects = machine.handle(ev.AdmitFailed("A002", 1), T0)
    assert effects == [StaffNotice("admit_requeued", "A002")]
    assert machine.position_of("A002") == 1
    assert admits(machine.handle(ev.Tick(), at(1))) == []
    assert admits(machine.handle(ev.Tick(), at(6))) == [("A002", 1, True)]


def test_closing_resets_the_count_returns_the_queue_to_staff_and_holds_the_door() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.AdjustCount(STAFF, count=1), T0)
    machine.handle(ev.CheckedIn("A001", 1), T0)
    effects = machine.handle(ev.BranchClosed(), at(60))
    assert effects[0] == SendMode(DoorMode.HOLD)
    assert NotEntered("A001", 1, "branch_closed") in effects
    assert Drift("1 still counted inside at closing; count reset to 0", -1) in effects
    assert machine.count == 0 and machine.waiting == () and machine.state is S.CLOSED
    with pytest.raises(TransitionRefused, match="CheckedIn refused in state 'closed'"):
        machine.handle(ev.CheckedIn("A002", 1), at(61))
    assert machine.handle(ev.BranchOpened(), at(3600)) == [SendMode(DoorMode.NORMAL)]


def test_the_optional_stay_timeout_forgets_people_counted_in_long_ago() -> None:
    machine = OccupancyMachine.new(5, stay_timeout_s=3600)
    machine.handle(ev.DoorLinkUp(), T0)
    machine.handle(ev.PassedIn(), T0)
    machine.handle(ev.PassedIn(), at(1800))
    assert machine.handle(ev.Tick(), at(3599)) == []
    [drift] = machine.handle(ev.Tick(), at(3601))
    assert drift == Drift("forgot 1 counted in more than 60 min ago", -1)
    assert machine.count == 1


def test_without_the_timeout_nobody_is_forgotten() -> None:
    machine = open_machine(limit=5)
    machine.handle(ev.PassedIn(), T0)
    machine.handle(ev.Tick(), at(86_400))
    assert machine.count == 1


def test_an_admission_the_door_never_closed_goes_to_staff_after_its_window() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.CheckedIn("A001", 1), T0)
    assert machine.handle(ev.Tick(), at(59)) == []
    assert machine.handle(ev.Tick(), at(61)) == [NotEntered("A001", 1, "no_answer")]
    assert machine.free_places == 1


def test_reconcile_adds_passages_whose_events_were_lost() -> None:
    machine = open_machine(limit=5)
    [drift] = machine.handle(ev.Reconcile(missed_in=3, missed_out=1), T0)
    assert drift.correction == 2 and machine.count == 2


def test_a_ticket_cannot_be_placed_twice() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.CheckedIn("A001", 1), T0)
    with pytest.raises(TransitionRefused, match="already waiting or being admitted"):
        machine.handle(ev.CheckedIn("A001", 1), T0)


def test_staff_admit_a_waiting_customer_ahead_of_the_queue_within_the_limit() -> None:
    machine = open_machine(limit=2)
    machine.handle(ev.AdjustCount(STAFF, count=2), T0)
    machine.handle(ev.CheckedIn("A001", 2), T0)
    machine.handle(ev.CheckedIn("A002", 1), T0)
    with pytest.raises(TransitionRefused, match="no room for 1"):
        machine.handle(ev.AdmitNow("A002", STAFF), T0)
    machine.handle(ev.AdjustCount(STAFF, delta=-1), T0)  # A001 (2) still does not fit
    assert machine.handle(ev.AdmitNow("A002", STAFF), T0) == [SendAdmit("A002", 1, 45_000, True)]
    machine.handle(ev.RemoveWaiting("A001", STAFF), T0)
    assert machine.waiting == ()


def test_snapshot_round_trip_keeps_everything() -> None:
    machine = open_machine(limit=2)
    machine.handle(ev.CheckedIn("Ż001", 2), T0)
    machine.handle(ev.CheckedIn("A002", 1), at(1))
    machine.handle(ev.PassedIn(), at(2))
    machine.handle(ev.Pause(STAFF), at(3))
    restored = OccupancyMachine.from_snapshot(machine.snapshot())
    assert restored.snapshot() == machine.snapshot()
    assert restored.state is S.PAUSED and restored.count == 1 and restored.in_flight == 1
    assert restored.waiting == machine.waiting


@pytest.mark.parametrize(("change", "message"), [
    ({"count": -1}, "count = -1 is below 0"),
    ({"mode": "party"}, "mode = 'party' is not one of"),
    ({"waiting": [{"ticket": "A1", "party_size": 1}]}, "waiting[].since"),
    ({"version": 99}, "version 99"),
    ({"limit": "12"}, "limit = '12' is not a int"),
])
def test_a_bad_snapshot_names_the_field(change: dict, message: str) -> None:
    snapshot = open_machine().snapshot() | change
    with pytest.raises(SnapshotError) as problem:
        OccupancyMachine.from_snapshot(snapshot)
    assert message in str(problem.value)
