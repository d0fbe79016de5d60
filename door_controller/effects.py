"""What the occupancy machine asks of the world: the effects its owner carries out.

The owner sends door commands, updates the screen, queues events for central and shows items
to the staff; the machine itself does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class DoorMode(StrEnum):
    """The door device's modes (serial protocol SET_MODE)."""

    NORMAL = "normal"  # locked, opens for ADMIT only
    FREE = "free"  # unlocked, still counting
    HOLD = "hold"  # locked, ADMIT refused
    EMERGENCY = "emergency"  # unlocked, light flashing


class AlarmKind(StrEnum):
    """The contract's alarm kinds that come from the door."""

    TAILGATE = "tailgate"
    DOOR_FORCED = "door_forced"
    DOOR_HELD_OPEN = "door_held_open"
    SENSOR_FAULT = "sensor_fault"
    DOOR_LINK_DOWN = "door_link_down"


@dataclass(frozen=True)
class Placed:
    """Where a checked-in customer went; exactly one for each CheckedIn or WalkIn."""

    ticket: str
    outcome: Literal["admitted", "waiting"]
    position: int | None  # 1 = next in the queue; None when admitted


@dataclass(frozen=True)
class SendAdmit:
    """Send ADMIT for ``party_size`` people; ``called`` when they were waiting (call the ticket)."""

    ticket: str | None
    party_size: int
    window_ms: int
    called: bool


@dataclass(frozen=True)
class Called:
    """Call a waiting ticket on the screen with no door command (the door is free)."""

    ticket: str
    party_size: int


@dataclass(frozen=True)
class SendMode:
    mode: DoorMode


@dataclass(frozen=True)
class Counted:
    """A passage was counted: the contract's ``passage`` event."""

    direction: Literal["in", "out"]
    count_after: int


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    detail: str


@dataclass(frozen=True)
class NotEntered:
    """An admission went unused, or a waiting customer was dropped: an item for the staff."""

    ticket: str | None
    unused: int
    reason: Literal["window_expired", "no_answer", "branch_closed"]


@dataclass(frozen=True)
class Drift:
    """The count was corrected by something other than a passage; tell the staff."""

    detail: str
    correction: int


@dataclass(frozen=True)
class StaffNotice:
    """Something the staff must know or decide; ``code`` selects the text in messages.py."""

    code: Literal[
        "sensor_fault_choose", "device_rebooted", "door_link_down", "door_link_up",
        "admit_requeued", "events_lost",
    ]
    detail: str


Effect = (
    Placed | SendAdmit | Called | SendMode | Counted | Alarm | NotEntered | Drift | StaffNotice
)
