"""Machines in each branch state, and a valid example of each event, for the table tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from door_controller import events as ev
from door_controller.occupancy import BranchState, OccupancyMachine

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STAFF = "staff:ewa"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def open_machine(limit: int = 3) -> OccupancyMachine:
    machine = OccupancyMachine.new(limit)
    machine.handle(ev.DoorLinkUp(), T0)
    return machine


def machine_in(state: BranchState) -> OccupancyMachine:
    """A machine in ``state`` with one person inside and, where the state allows, one waiting."""
    machine = open_machine(limit=2)
    machine.handle(ev.PassedIn(), T0)
    if state is BranchState.OPEN:
        pass
    elif state is BranchState.FULL:
        machine.handle(ev.CheckedIn("A001", 1), T0)  # takes the last place (in flight)
        machine.handle(ev.CheckedIn("A002", 1), T0)  # waits
    elif state is BranchState.PAUSED:
        machine.handle(ev.CheckedIn("A001", 2), T0)  # waits
        machine.handle(ev.Pause(STAFF), T0)
    elif state is BranchState.CLOSED:
        machine.handle(ev.BranchClosed(), T0)
    elif state is BranchState.FREE_ENTRY:
        machine.handle(ev.FreeEntry(STAFF), T0)
    elif state is BranchState.EMERGENCY:
        machine.handle(ev.CheckedIn("A001", 2), T0)
        machine.handle(ev.Emergency(STAFF), T0)
    elif state is BranchState.FAULT:
        machine.handle(ev.CheckedIn("A001", 2), T0)
        machine.handle(ev.SensorFault(0b01), T0)
    assert machine.state is state, (state, machine.state)
    return machine


def example_event(event_type: type, machine: OccupancyMachine) -> ev.OccupancyEvent:
    """An event of this type that the machine should take in a state whose row allows it."""
    waiting = machine.waiting[0].ticket if machine.waiting else "A001"
    examples: dict[type, ev.OccupancyEvent] = {
        ev.CheckedIn: ev.CheckedIn("B100", 1),
        ev.WalkIn: ev.WalkIn("W100", 1, STAFF),
        ev.PassedIn: ev.PassedIn(),
        ev.PassedOut: ev.PassedOut(),
        ev.AdmissionExpired: ev.AdmissionExpired(1),
        ev.AdmitFailed: ev.AdmitFailed("A001", 1),
        ev.AdmitNow: ev.AdmitNow(waiting, STAFF),
        ev.AdmitParty: ev.AdmitParty(1, STAFF),
        ev.RemoveWaiting: ev.RemoveWaiting(waiting, STAFF),
        ev.AdjustCount: ev.AdjustCount(STAFF, delta=-1),
        ev.SetLimit: ev.SetLimit(5, STAFF),
        ev.Pause: ev.Pause(STAFF),
        ev.Resume: ev.Resume(STAFF),
        ev.FreeEntry: ev.FreeEntry(STAFF),
        ev.Emergency: ev.Emergency(STAFF),
        ev.Normal: ev.Normal(STAFF),
        ev.HoldDoor: ev.HoldDoor(STAFF),
        ev.DoorLinkDown: ev.DoorLinkDown("cable pulled"),
        ev.DoorLinkUp: ev.DoorLinkUp(),
        ev.DeviceRebooted: ev.DeviceRebooted(4, 5),
        ev.SensorFault: ev.SensorFault(0b10),
        ev.SensorFaultCleared: ev.SensorFaultCleared(0b01),
        ev.DoorForced: ev.DoorForced(),
        ev.DoorHeldOpen: ev.DoorHeldOpen(),
        ev.Tailgate: ev.Tailgate(),
        ev.Reconcile: ev.Reconcile(1, 0),
        ev.BranchClosed: ev.BranchClosed(),
        ev.BranchOpened: ev.BranchOpened(),
        ev.Tick: ev.Tick(),
    }
    return examples[event_type]


ALL_EVENT_TYPES: tuple[type, ...] = (
    ev.CheckedIn, ev.WalkIn, ev.PassedIn, ev.PassedOut, ev.AdmissionExpired, ev.AdmitFailed,
    ev.AdmitNow, ev.AdmitParty, ev.RemoveWaiting, ev.AdjustCount, ev.SetLimit, ev.Pause,
    ev.Resume, ev.FreeEntry, ev.Emergency, ev.Normal, ev.HoldDoor, ev.DoorLinkDown,
    ev.DoorLinkUp, ev.DeviceRebooted, ev.SensorFault, ev.SensorFaultCleared, ev.DoorForced,
    ev.DoorHeldOpen, ev.Tailgate, ev.Reconcile, ev.BranchClosed, ev.BranchOpened, ev.Tick,
)
