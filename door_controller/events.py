"""What can happen to the branch's occupancy: the events the occupancy machine takes.

Customers (check-in), the door (passages, alarms, the link), the staff (overrides, each naming
who) and the day's schedule. Plain frozen dataclasses, no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckedIn:
    """A customer with a booking checked in at the kiosk."""

    ticket: str
    party_size: int


@dataclass(frozen=True)
class WalkIn:
    """Staff placed a customer without a booking in the queue."""

    ticket: str
    party_size: int
    by: str


@dataclass(frozen=True)
class PassedIn:
    """The door counted one person going in."""


@dataclass(frozen=True)
class PassedOut:
    """The door counted one person going out."""


@dataclass(frozen=True)
class AdmissionExpired:
    """The door's admission window ended with ``unused`` places not used."""

    unused: int


@dataclass(frozen=True)
class AdmitFailed:
    """The door refused or never answered the ADMIT sent for ``ticket`` (None: no ticket)."""

    ticket: str | None
    party_size: int


@dataclass(frozen=True)
class AdmitNow:
    """Staff let a waiting customer in now, ahead of the queue (the limit still holds)."""

    ticket: str
    by: str


@dataclass(frozen=True)
class AdmitParty:
    """Staff let ``party_size`` people without a ticket in (the limit still holds)."""

    party_size: int
    by: str


@dataclass(frozen=True)
class RemoveWaiting:
    """Staff took a waiting customer off the queue (they left, or were served elsewhere)."""

    ticket: str
    by: str


@dataclass(frozen=True)
class AdjustCount:
    """Staff corrected the count: by ``delta`` (+1/-1) or to ``count``; exactly one is given."""

    by: str
    delta: int | None = None
    count: int | None = None


@dataclass(frozen=True)
class SetLimit:
    limit: int
    by: str


@dataclass(frozen=True)
class Pause:
    """Staff stop admissions for a while; check-ins are refused."""

    by: str


@dataclass(frozen=True)
class Resume:
    by: str


@dataclass(frozen=True)
class FreeEntry:
    """Staff unlock the door for everybody; the door still counts."""

    by: str


@dataclass(frozen=True)
class Emergency:
    """Unlock the door at once, whatever else is going on."""

    by: str


@dataclass(frozen=True)
class Normal:
    """Back to normal operation from emergency or free entry."""

    by: str


@dataclass(frozen=True)
class HoldDoor:
    """Staff keep the door locked while a sensor is faulty (the other choice is free entry)."""

    by: str


@dataclass(frozen=True)
class DoorLinkDown:
    reason: str = ""


@dataclass(frozen=True)
class DoorLinkUp:
    pass


@dataclass(frozen=True)
class DeviceRebooted:
    """The door device restarted: its open admission window and unsent events are gone."""

    previous_boot_count: int
    boot_count: int


@dataclass(frozen=True)
class SensorFault:
    """Fault bits set (bit0 beam A blocked too long, bit1 beam B, bit2 door contact)."""

    bits: int


@dataclass(frozen=True)
class SensorFaultCleared:
    bits: int


@dataclass(frozen=True)
class DoorForced:
    """The door was opened while locked."""


@dataclass(frozen=True)
class DoorHeldOpen:
    pass


@dataclass(frozen=True)
class Tailgate:
    """An IN passage with no admission pending; the passage itself arrives as PassedIn."""


@dataclass(frozen=True)
class Reconcile:
    """The device's totals show passages whose events never arrived."""

    missed_in: int
    missed_out: int


@dataclass(frozen=True)
class BranchClosed:
    """End of the day: the count is reset to zero."""


@dataclass(frozen=True)
class BranchOpened:
    pass


@dataclass(frozen=True)
class Tick:
    """Time passed: forgets long stays (when enabled) and admissions the door never closed."""


OccupancyEvent = (
    CheckedIn | WalkIn | PassedIn | PassedOut | AdmissionExpired | AdmitFailed | AdmitNow
    | AdmitParty | RemoveWaiting | AdjustCount | SetLimit | Pause | Resume | FreeEntry
    | Emergency | Normal | HoldDoor | DoorLinkDown | DoorLinkUp | DeviceRebooted | SensorFault
    | SensorFaultCleared | DoorForced | DoorHeldOpen | Tailgate | Reconcile | BranchClosed
    | BranchOpened | Tick
)

STAFF_EVENTS = (
    WalkIn, AdmitNow, AdmitParty, RemoveWaiting, AdjustCount, SetLimit, Pause, Resume,
    FreeEntry, Emergency, Normal, HoldDoor,
)
