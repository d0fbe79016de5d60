"""Placing an accepted customer through the occupancy machine, inside the check-in transaction.

The machine's new snapshot is written in the same transaction as the check-in row, so the line
of waiting customers and the tickets on disk always agree. The machine in memory only changes
after the commit; the effects (an ADMIT for the door, a call on the screen) are carried out then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from door_controller.effects import Effect, Placed
from door_controller.events import CheckedIn, DoorLinkUp, Tick
from door_controller.occupancy import BranchState, OccupancyMachine, TransitionRefused
from kiosk.checkin import Placement, PlacementRefused
from kiosk.rules import Reason
from kiosk.store import Store

_REFUSING_STATES = (BranchState.PAUSED, BranchState.EMERGENCY, BranchState.CLOSED)
# Where check-in is refused as "paused" before a booking is even looked up.
NO_ENTRY_STATES = (BranchState.PAUSED, BranchState.EMERGENCY)


class OccupancyHolder:
    """The machine the owner of the branch's state keeps in memory."""

    def __init__(self, machine: OccupancyMachine) -> None:
        self.machine = machine

    @classmethod
    def from_store(cls, store: Store, default_limit: int, *, door_present: bool = True,
                   now: datetime | None = None) -> OccupancyHolder:
        """The stored machine, or a new one; its door link counts as down until it is up.

        A branch configured without a door board has no link to wait for: it is up at once.
        """
        snapshot = store.load_occupancy()
        if snapshot is None:
            machine = OccupancyMachine.new(default_limit)
        else:
            machine = OccupancyMachine.from_snapshot(snapshot)
        if not door_present and machine.allows(DoorLinkUp):
            machine.handle(DoorLinkUp(), now or datetime.now(UTC))
        return cls(machine)


class MachineAdmission:
    """The check-in service's Admission, backed by the occupancy machine.

    With ``reload=True`` the machine is read from the store inside the transaction, which is
    right for a process that does not own the branch (``kiosk checkin`` from a shell).
    """

    def __init__(self, holder: OccupancyHolder, *, reload: bool = False, default_limit: int = 1,
                 door_present: bool = True,
                 carry_out: Callable[[list[Effect]], None] | None = None) -> None:
        self.holder = holder
        self.reload = reload
        self.door_present = door_present
        self.default_limit = default_limit
        self.carry_out = carry_out
        self._pending: tuple[OccupancyMachine, list[Effect]] | None = None

    def place(self, store: Store, ticket: str, party_size: int, now: datetime) -> Placement:
        if self.reload:
            self.holder = OccupancyHolder.from_store(
                store, self.default_limit, door_present=self.door_present, now=now)
        machine = self.holder.machine.copy()
        if self.reload and machine.allows(Tick):
            # Time has passed since the snapshot: let the machine forget what has expired.
            machine.handle(Tick(), now)
        try:
            effects = machine.handle(CheckedIn(ticket=ticket, party_size=party_size), now)
        except TransitionRefused as refused:
            if refused.state not in _REFUSING_STATES:
                raise
            reason = Reason.CLOSED if refused.state is BranchState.CLOSED else Reason.PAUSED
            raise PlacementRefused(reason, f"entry is {refused.state.value}") from None
        placed = [e for e in effects if isinstance(e, Placed)]
        if len(placed) != 1:
            raise RuntimeError(f"the occupancy machine placed {ticket} {len(placed)} times")
        store.save_occupancy(machine.snapshot(), now)
        self._pending = (machine, [e for e in effects if not isinstance(e, Placed)])
        return Placement(placed[0].outcome, placed[0].position)

    def committed(self) -> None:
        if self._pending is None:
            return
        machine, effects = self._pending
        self._pending = None
        self.holder.machine = machine
        if self.carry_out is not None and effects:
            self.carry_out(effects)

    def rolled_back(self) -> None:
        self._pending = None
