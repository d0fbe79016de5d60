"""The occupancy machine: how many are inside, who waits, and what the door may do. No I/O.

Events go in (``handle(event, now)``), effects come out; time is passed in. Every transition is
a row of ``RULES`` below, read top to bottom: in which states an event is allowed, what it does,
and which states it may lead to. An event with no row for the current state is refused with
``TransitionRefused`` naming both, and the machine is left as it was.

The branch state is derived from a few facts, in this order of precedence: emergency, the door
link down (fault), free entry, a sensor fault (fault), closed for the day, paused, and then
full (no place for the next customer, or someone already waiting) or open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from door_controller.effects import (
    Alarm,
    AlarmKind,
    Called,
    Counted,
    DoorMode,
    Drift,
    Effect,
    NotEntered,
    Placed,
    SendAdmit,
    SendMode,
    StaffNotice,
)
from door_controller.events import (
    AdjustCount,
    AdmissionExpired,
    AdmitFailed,
    AdmitNow,
    AdmitParty,
    BranchClosed,
    BranchOpened,
    CheckedIn,
    DeviceRebooted,
    DoorForced,
    DoorHeldOpen,
    DoorLinkDown,
    DoorLinkUp,
    Emergency,
    FreeEntry,
    HoldDoor,
    Normal,
    OccupancyEvent,
    PassedIn,
    PassedOut,
    Pause,
    Reconcile,
    RemoveWaiting,
    Resume,
    SensorFault,
    SensorFaultCleared,
    SetLimit,
    Tailgate,
    Tick,
    WalkIn,
)

SNAPSHOT_VERSION = 1
DEFAULT_ADMIT_WINDOW_MS = 45_000
MAX_ADMIT_WINDOW_MS = 65_535  # the protocol's window_ms is a u16
ADMIT_RETRY_AFTER = timedelta(seconds=5)
# The door reports ADMIT_EXPIRED itself; this only catches a window it never reported.
ADMIT_EXPIRY_GRACE = timedelta(seconds=15)
SENSOR_FAULT_BITS = 0b0111  # beam A, beam B, door contact; bit3 (heartbeat) is the link's
MAX_LIMIT = 10_000
BEAM_NAMES = {0: "beam A (street side)", 1: "beam B (inside)", 2: "door contact"}


class BranchState(StrEnum):
    OPEN = "open"
    FULL = "full"
    PAUSED = "paused"
    CLOSED = "closed"
    FREE_ENTRY = "free_entry"
    EMERGENCY = "emergency"
    FAULT = "fault"


class StaffMode(StrEnum):
    """What the staff (or central) last chose; the branch state also depends on the door."""

    NORMAL = "normal"
    PAUSED = "paused"
    FREE_ENTRY = "free_entry"
    EMERGENCY = "emergency"


class TransitionRefused(ValueError):
    """An event is not allowed in the current state; the machine did not change."""

    def __init__(self, event: OccupancyEvent, state: BranchState, reason: str) -> None:
        self.event_name = type(event).__name__
        self.state = state
        self.reason = reason
        super().__init__(f"{self.event_name} refused in state '{state}': {reason}")


class SnapshotError(ValueError):
    """A stored snapshot cannot be read; the message names the field."""


@dataclass(frozen=True)
class Waiting:
    ticket: str
    party_size: int
    since: datetime


@dataclass(frozen=True)
class Admission:
    """ADMIT sent; ``remaining`` places not yet used by an IN passage."""

    ticket: str | None
    party_size: int
    remaining: int
    sent_at: datetime


@dataclass
class _Facts:
    count: int
    limit: int
    mode: StaffMode = StaffMode.NORMAL
    closed: bool = False
    link_up: bool = False
    sensor_faults: int = 0
    waiting: list[Waiting] = field(default_factory=list)
    admissions: list[Admission] = field(default_factory=list)
    inside_since: list[datetime] = field(default_factory=list)  # one per person counted in
    admit_window_ms: int = DEFAULT_ADMIT_WINDOW_MS
    stay_timeout_s: int | None = None
    admit_retry_at: datetime | None = None

    def copy(self) -> _Facts:
        return dataclasses.replace(
            self, waiting=list(self.waiting), admissions=list(self.admissions),
            inside_since=list(self.inside_since),
        )

    @property
    def in_flight(self) -> int:
        return sum(a.remaining for a in self.admissions)

    @property
    def free_places(self) -> int:
        return self.limit - self.count - self.in_flight

    def fits(self, party_size: int) -> bool:
        return party_size <= self.free_places


def derive_state(f: _Facts) -> BranchState:
    if f.mode is StaffMode.EMERGENCY:
        return BranchState.EMERGENCY
    if not f.link_up:
        return BranchState.FAULT
    if f.mode is StaffMode.FREE_ENTRY:
        return BranchState.FREE_ENTRY
    if f.sensor_faults:
        return BranchState.FAULT
    if f.closed:
        return BranchState.CLOSED
    if f.mode is StaffMode.PAUSED:
        return BranchState.PAUSED
    if f.waiting or f.free_places <= 0:
        return BranchState.FULL
    return BranchState.OPEN


def derive_door_mode(f: _Facts) -> DoorMode:
    if f.mode is StaffMode.EMERGENCY:
        return DoorMode.EMERGENCY
    if f.mode is StaffMode.FREE_ENTRY:
        return DoorMode.FREE
    if f.sensor_faults or f.closed or f.mode is StaffMode.PAUSED:
        return DoorMode.HOLD
    return DoorMode.NORMAL


class _Refuse(Exception):
    """Raised by an action; ``handle`` turns it into TransitionRefused naming event and state."""


Action = Callable[[_Facts, Any, datetime], list[Effect]]


# --- actions: each changes a working copy of the facts and returns the effects --------------


def _admit_next_waiting(f: _Facts, now: datetime) -> list[Effect]:
    """Admit waiting customers in order while the first one fits (strict FIFO)."""
    if derive_state(f) not in ADMITTING:
        return []
    if f.admit_retry_at is not None and now < f.admit_retry_at:
        return []
    effects: list[Effect] = []
    while f.waiting and f.fits(f.waiting[0].party_size):
        head = f.waiting.pop(0)
        f.admissions.append(Admission(head.ticket, head.party_size, head.party_size, now))
        effects.append(SendAdmit(head.ticket, head.party_size, f.admit_window_ms, called=True))
    return effects


def _call_everyone_waiting(f: _Facts) -> list[Effect]:
    called: list[Effect] = [Called(w.ticket, w.party_size) for w in f.waiting]
    f.waiting.clear()
    return called


def _place_customer(f: _Facts, event: CheckedIn | WalkIn, now: datetime) -> list[Effect]:
    if not event.ticket:
        raise _Refuse("the ticket is empty")
    if event.party_size < 1:
        raise _Refuse(f"party size {event.party_size} is not a number of people (1 or more)")
    known = {w.ticket for w in f.waiting} | {a.ticket for a in f.admissions}
    if event.ticket in known:
        raise _Refuse(f"ticket {event.ticket} is already waiting or being admitted")
    if f.mode is StaffMode.FREE_ENTRY and f.link_up:
        return [Placed(event.ticket, "admitted", None)]
    if derive_state(f) in ADMITTING and not f.waiting and f.fits(event.party_size):
        f.admissions.append(Admission(event.ticket, event.party_size, event.party_size, now))
        return [
            Placed(event.ticket, "admitted", None),
            SendAdmit(event.ticket, event.party_size, f.admit_window_ms, called=False),
        ]
    f.waiting.append(Waiting(event.ticket, event.party_size, now))
    return [Placed(event.ticket, "waiting", len(f.waiting))]


def _count_in(f: _Facts, event: PassedIn, now: datetime) -> list[Effect]:
    f.count += 1
    f.inside_since.append(now)
    if f.admissions:
        head = f.admissions[0]
        if head.remaining <= 1:
            f.admissions.pop(0)
        else:
            f.admissions[0] = dataclasses.replace(head, remaining=head.remaining - 1)
    return [Counted("in", f.count)]


def _count_out(f: _Facts, event: PassedOut, now: datetime) -> list[Effect]:
    if f.count == 0:
        drift = Drift("an OUT passage was counted with nobody inside; the count stays 0", 0)
        return [Counted("out", 0), drift]
    f.count -= 1
    if f.inside_since:
        f.inside_since.pop(0)
    return [Counted("out", f.count), *_admit_next_waiting(f, now)]


def _expire_admissions(f: _Facts, event: AdmissionExpired, now: datetime) -> list[Effect]:
    """The window closed: its admissions are the oldest in flight; unused ones go to staff."""
    effects: list[Effect] = []
    unused = event.unused
    while unused > 0 and f.admissions:
        head = f.admissions.pop(0)
        taken = min(head.remaining, unused)
        unused -= taken
        effects.append(NotEntered(head.ticket, taken, "window_expired"))
        if taken < head.remaining:
            effects.append(Drift(
                f"the door reported {taken} unused of {head.remaining} places for "
                f"{head.ticket or 'staff admission'}; the others entered without being counted",
                0,
            ))
    if unused > 0:
        effects.append(Drift(f"the door reported {unused} unused admissions the kiosk "
                             "had no record of", 0))
    return effects + _admit_next_waiting(f, now)


def _admit_failed(f: _Facts, event: AdmitFailed, now: datetime) -> list[Effect]:
    """The door did not take the ADMIT: the customer goes back to the head of the queue."""
    for index in range(len(f.admissions) - 1, -1, -1):
        admission = f.admissions[index]
        if admission.ticket == event.ticket and admission.remaining > 0:
            f.admissions.pop(index)
            f.admit_retry_at = now + ADMIT_RETRY_AFTER
            if admission.ticket is None:
                return [NotEntered(None, admission.remaining, "no_answer")]
            f.waiting.insert(0, Waiting(admission.ticket, admission.remaining, admission.sent_at))
            return [StaffNotice("admit_requeued", admission.ticket)]
    return []


def _find_waiting(f: _Facts, ticket: str) -> int:
    for index, waiting in enumerate(f.waiting):
        if waiting.ticket == ticket:
            return index
    raise _Refuse(f"ticket {ticket} is not in the queue")


def _no_room(f: _Facts, party_size: int) -> _Refuse:
    return _Refuse(
        f"no room for {party_size}: {f.count} inside and {f.in_flight} being admitted of a "
        f"limit of {f.limit}; raise the limit or use free entry"
    )


def _admit_now(f: _Facts, event: AdmitNow, now: datetime) -> list[Effect]:
    index = _find_waiting(f, event.ticket)
    chosen = f.waiting[index]
    if f.mode is StaffMode.FREE_ENTRY:
        f.waiting.pop(index)
        return [Called(chosen.ticket, chosen.party_size)]
    if not f.fits(chosen.party_size):
        raise _no_room(f, chosen.party_size)
    f.waiting.pop(index)
    f.admissions.append(Admission(chosen.ticket, chosen.party_size, chosen.party_size, now))
    return [SendAdmit(chosen.ticket, chosen.party_size, f.admit_window_ms, called=True)]


def _admit_party(f: _Facts, event: AdmitParty, now: datetime) -> list[Effect]:
    if event.party_size < 1:
        raise _Refuse(f"party size {event.party_size} is not a number of people (1 or more)")
    if not f.fits(event.party_size):
        raise _no_room(f, event.party_size)
    f.admissions.append(Admission(None, event.party_size, event.party_size, now))
    return [SendAdmit(None, event.party_size, f.admit_window_ms, called=False)]


def _remove_waiting(f: _Facts, event: RemoveWaiting, now: datetime) -> list[Effect]:
    f.waiting.pop(_find_waiting(f, event.ticket))
    return _admit_next_waiting(f, now)


def _set_count(f: _Facts, new_count: int, now: datetime) -> None:
    while len(f.inside_since) < new_count:
        f.inside_since.append(now)
    del f.inside_since[: len(f.inside_since) - new_count]
    f.count = new_count


def _adjust_count(f: _Facts, event: AdjustCount, now: datetime) -> list[Effect]:
    if (event.delta is None) == (event.count is None):
        raise _Refuse("give either a delta (+1, -1) or a count, not both or neither")
    new_count = f.count + event.delta if event.delta is not None else event.count
    assert new_count is not None
    if new_count < 0:
        raise _Refuse(f"the count cannot go below zero (it is {f.count})")
    _set_count(f, new_count, now)
    return _admit_next_waiting(f, now)


def _set_limit(f: _Facts, event: SetLimit, now: datetime) -> list[Effect]:
    if not 1 <= event.limit <= MAX_LIMIT:
        raise _Refuse(f"limit {event.limit} must be between 1 and {MAX_LIMIT}; "
                      "to stop admissions use pause")
    f.limit = event.limit
    return _admit_next_waiting(f, now)


def _pause(f: _Facts, event: Pause, now: datetime) -> list[Effect]:
    if f.mode in (StaffMode.PAUSED, StaffMode.EMERGENCY):
        raise _Refuse(f"the branch is already {f.mode}")
    if f.closed:
        raise _Refuse("the branch is closed for the day")
    f.mode = StaffMode.PAUSED
    return []


def _resume(f: _Facts, event: Resume, now: datetime) -> list[Effect]:
    if f.mode is not StaffMode.PAUSED:
        raise _Refuse("the branch is not paused")
    f.mode = StaffMode.NORMAL
    return _admit_next_waiting(f, now)


def _free_entry(f: _Facts, event: FreeEntry, now: datetime) -> list[Effect]:
    if not f.link_up:
        raise _Refuse("the door link is down, so the door cannot be unlocked from here; "
                      "check the door controller's cable")
    if f.mode is StaffMode.FREE_ENTRY:
        raise _Refuse("free entry is already on")
    f.mode = StaffMode.FREE_ENTRY
    return _call_everyone_waiting(f)


def _emergency(f: _Facts, event: Emergency, now: datetime) -> list[Effect]:
    f.mode = StaffMode.EMERGENCY
    return [SendMode(DoorMode.EMERGENCY)]  # sent even when already in emergency


def _normal(f: _Facts, event: Normal, now: datetime) -> list[Effect]:
    if f.mode not in (StaffMode.EMERGENCY, StaffMode.FREE_ENTRY):
        raise _Refuse("normal ends emergency or free entry, and neither is on")
    f.mode = StaffMode.NORMAL
    return _admit_next_waiting(f, now)


def _hold_door(f: _Facts, event: HoldDoor, now: datetime) -> list[Effect]:
    if not f.sensor_faults:
        raise _Refuse("no sensor is faulty; to stop admissions use pause")
    if f.mode is StaffMode.FREE_ENTRY:
        f.mode = StaffMode.NORMAL
    return [SendMode(DoorMode.HOLD)]


def _link_down(f: _Facts, event: DoorLinkDown, now: datetime) -> list[Effect]:
    if not f.link_up:
        return []
    f.link_up = False
    detail = event.reason or "no frames from the door controller"
    return [Alarm(AlarmKind.DOOR_LINK_DOWN, detail), StaffNotice("door_link_down", detail)]


def _link_up(f: _Facts, event: DoorLinkUp, now: datetime) -> list[Effect]:
    was_down = not f.link_up
    f.link_up = True
    # The device may have locked itself (heartbeat lost) or restarted: tell it the mode again.
    effects: list[Effect] = [SendMode(derive_door_mode(f))]
    if was_down:
        effects.append(StaffNotice("door_link_up", ""))
    if f.mode is StaffMode.FREE_ENTRY:
        effects += _call_everyone_waiting(f)
    return effects + _admit_next_waiting(f, now)


def _device_rebooted(f: _Facts, event: DeviceRebooted, now: datetime) -> list[Effect]:
    """The device's admission window is gone: its customers go back to the head of the queue."""
    effects: list[Effect] = [
        SendMode(derive_door_mode(f)),
        StaffNotice("device_rebooted",
                    f"boot {event.previous_boot_count} -> {event.boot_count}"),
    ]
    requeued = [
        Waiting(a.ticket, a.remaining, a.sent_at)
        for a in f.admissions if a.ticket is not None and a.remaining > 0
    ]
    effects += [
        NotEntered(None, a.remaining, "no_answer")
        for a in f.admissions if a.ticket is None and a.remaining > 0
    ]
    f.admissions.clear()
    f.waiting[:0] = requeued
    return effects + _admit_next_waiting(f, now)


def _describe_bits(bits: int) -> str:
    return ", ".join(name for bit, name in BEAM_NAMES.items() if bits & (1 << bit))


def _sensor_fault(f: _Facts, event: SensorFault, now: datetime) -> list[Effect]:
    bits = event.bits & SENSOR_FAULT_BITS
    if not bits:
        raise _Refuse(f"fault bits {event.bits:#x} name no sensor (bits 0-2)")
    new_bits = bits & ~f.sensor_faults
    f.sensor_faults |= bits
    if not new_bits:
        return []
    detail = f"{_describe_bits(new_bits)} blocked or faulty for too long"
    effects: list[Effect] = [Alarm(AlarmKind.SENSOR_FAULT, detail)]
    if f.mode in (StaffMode.NORMAL, StaffMode.PAUSED):
        effects.append(StaffNotice("sensor_fault_choose", detail))
    return effects


def _sensor_fault_cleared(f: _Facts, event: SensorFaultCleared, now: datetime) -> list[Effect]:
    f.sensor_faults &= ~event.bits
    return _admit_next_waiting(f, now)


def _door_forced(f: _Facts, event: DoorForced, now: datetime) -> list[Effect]:
    return [Alarm(AlarmKind.DOOR_FORCED, "the door was opened while locked")]


def _door_held_open(f: _Facts, event: DoorHeldOpen, now: datetime) -> list[Effect]:
    return [Alarm(AlarmKind.DOOR_HELD_OPEN, "the door has been open too long")]


def _tailgate(f: _Facts, event: Tailgate, now: datetime) -> list[Effect]:
    return [Alarm(AlarmKind.TAILGATE, "someone came in with no admission pending")]


def _reconcile(f: _Facts, event: Reconcile, now: datetime) -> list[Effect]:
    if event.missed_in < 0 or event.missed_out < 0:
        raise _Refuse("missed passages cannot be negative")
    before = f.count
    _set_count(f, max(0, f.count + event.missed_in - event.missed_out), now)
    detail = (f"the door counted {event.missed_in} in and {event.missed_out} out that never "
              f"arrived as events; count {before} -> {f.count}")
    return [Drift(detail, f.count - before), *_admit_next_waiting(f, now)]


def _close_day(f: _Facts, event: BranchClosed, now: datetime) -> list[Effect]:
    if f.closed:
        raise _Refuse("the branch is already closed for the day")
    effects: list[Effect] = [
        NotEntered(w.ticket, w.party_size, "branch_closed") for w in f.waiting
    ]
    f.waiting.clear()
    if f.count:
        effects.append(Drift(f"{f.count} still counted inside at closing; count reset to 0",
                             -f.count))
    _set_count(f, 0, now)
    f.closed = True
    f.mode = StaffMode.NORMAL
    return effects


def _open_day(f: _Facts, event: BranchOpened, now: datetime) -> list[Effect]:
    if not f.closed:
        raise _Refuse("the branch is not closed")
    f.closed = False
    return _admit_next_waiting(f, now)


def _tick(f: _Facts, event: Tick, now: datetime) -> list[Effect]:
    effects: list[Effect] = []
    if f.stay_timeout_s is not None:
        oldest_allowed = now - timedelta(seconds=f.stay_timeout_s)
        forgotten = 0
        while f.inside_since and f.inside_since[0] < oldest_allowed:
            f.inside_since.pop(0)
            forgotten += 1
        if forgotten:
            f.count -= forgotten
            effects.append(Drift(f"forgot {forgotten} counted in more than "
                                 f"{f.stay_timeout_s // 60} min ago", -forgotten))
    if f.admissions and f.link_up:
        last_sent = max(a.sent_at for a in f.admissions)
        if now > last_sent + timedelta(milliseconds=f.admit_window_ms) + ADMIT_EXPIRY_GRACE:
            effects += [NotEntered(a.ticket, a.remaining, "no_answer") for a in f.admissions]
            f.admissions.clear()
    return effects + _admit_next_waiting(f, now)


# --- the table ---------------------------------------------------------------------------------

S = BranchState
OPEN, FULL, PAUSED, CLOSED = S.OPEN, S.FULL, S.PAUSED, S.CLOSED
FREE_ENTRY, EMERGENCY, FAULT = S.FREE_ENTRY, S.EMERGENCY, S.FAULT
ADMITTING = (OPEN, FULL)
NOT_ADMITTING = (PAUSED, CLOSED, FREE_ENTRY, EMERGENCY, FAULT)
EVERY = tuple(S)
SAME = ()  # in the "to" column: the state does not change


@dataclass(frozen=True)
class Rule:
    event: type
    states: tuple[BranchState, ...]
    action: Action
    to: tuple[BranchState, ...]


# Short names keep each row on one line. A: admitting (open or full); NA: every other state.
R, A, NA = Rule, ADMITTING, NOT_ADMITTING
OP, FU, PA, CL, FE, EM, FA = OPEN, FULL, PAUSED, CLOSED, FREE_ENTRY, EMERGENCY, FAULT
RULES: tuple[Rule, ...] = (
    # event             in states                  action                  to states
    # customers
    R(CheckedIn,          A,                        _place_customer,        A),
    R(CheckedIn,          (FE, FA),                 _place_customer,        SAME),
    R(WalkIn,             A,                        _place_customer,        A),
    R(WalkIn,             (FE, FA),                 _place_customer,        SAME),
    # the door counts and reports, in every state
    R(PassedIn,           A,                        _count_in,              A),
    R(PassedIn,           NA,                       _count_in,              SAME),
    R(PassedOut,          A,                        _count_out,             A),
    R(PassedOut,          NA,                       _count_out,             SAME),
    R(AdmissionExpired,   A,                        _expire_admissions,     A),
    R(AdmissionExpired,   NA,                       _expire_admissions,     SAME),
    R(AdmitFailed,        A,                        _admit_failed,          A),
    R(AdmitFailed,        NA,                       _admit_failed,          SAME),
    R(Tailgate,           EVERY,                    _tailgate,              SAME),
    R(DoorForced,         EVERY,                    _door_forced,           SAME),
    R(DoorHeldOpen,       EVERY,                    _door_held_open,        SAME),
    R(Reconcile,          A,                        _reconcile,             A),
    R(Reconcile,          NA,                       _reconcile,             SAME),
    # staff: the queue and the count
    R(AdmitNow,           A,                        _admit_now,             A),
    R(AdmitNow,           (FE,),                    _admit_now,             SAME),
    R(AdmitParty,         A,                        _admit_party,           A),
    R(RemoveWaiting,      A,                        _remove_waiting,        A),
    R(RemoveWaiting,      NA,                       _remove_waiting,        SAME),
    R(AdjustCount,        A,                        _adjust_count,          A),
    R(AdjustCount,        NA,                       _adjust_count,          SAME),
    R(SetLimit,           A,                        _set_limit,             A),
    R(SetLimit,           NA,                       _set_limit,             SAME),
    # staff: modes
    R(Pause,              (OP, FU, FE),             _pause,                 (PA, FA)),
    R(Pause,              (FA,),                    _pause,                 SAME),
    R(Resume,             (PA,),                    _resume,                A),
    R(Resume,             (FA,),                    _resume,                SAME),
    R(FreeEntry,          (OP, FU, PA, CL, FA),     _free_entry,            (FE,)),
    R(Emergency,          EVERY,                    _emergency,             (EM,)),
    R(Normal,             (EM, FE),                 _normal,                (*A, CL, FA)),
    R(Normal,             (FA,),                    _normal,                SAME),
    R(HoldDoor,           (FA, FE),                 _hold_door,             (FA,)),
    # the door link and the sensors
    R(DoorLinkDown,       (*A, PA, CL, FE, FA),     _link_down,             (FA,)),
    R(DoorLinkDown,       (EM,),                    _link_down,             SAME),
    R(DoorLinkUp,         (FA,),                    _link_up,               (*A, PA, CL, FE, FA)),
    R(DoorLinkUp,         A,                        _link_up,               A),
    R(DoorLinkUp,         (PA, CL, FE, EM),         _link_up,               SAME),
    R(DeviceRebooted,     A,                        _device_rebooted,       A),
    R(DeviceRebooted,     NA,                       _device_rebooted,       SAME),
    R(SensorFault,        (*A, PA, CL, FA),         _sensor_fault,          (FA,)),
    R(SensorFault,        (FE, EM),                 _sensor_fault,          SAME),
    R(SensorFaultCleared, (FA,),                    _sensor_fault_cleared,  (*A, PA, CL, FA)),
    R(SensorFaultCleared, A,                        _sensor_fault_cleared,  A),
    R(SensorFaultCleared, (PA, CL, FE, EM),         _sensor_fault_cleared,  SAME),
    # the day and the clock
    R(BranchClosed,       (*A, PA, FE, FA),         _close_day,             (CL, FA)),
    R(BranchOpened,       (CL,),                    _open_day,              A),
    R(BranchOpened,       (FE, EM, FA),             _open_day,              SAME),
    R(Tick,               A,                        _tick,                  A),
    R(Tick,               NA,                       _tick,                  SAME),
)


def _compile(rules: Iterable[Rule]) -> dict[tuple[type, BranchState], Rule]:
    table: dict[tuple[type, BranchState], Rule] = {}
    for rule in rules:
        for state in rule.states:
            key = (rule.event, state)
            if key in table:
                raise RuntimeError(f"two rules for {rule.event.__name__} in state {state}")
            table[key] = rule
    return table


TRANSITIONS = _compile(RULES)


class OccupancyMachine:
    """The branch's occupancy; changed only through ``handle``, by the one owner of state."""

    def __init__(self, facts: _Facts) -> None:
        self._facts = facts

    @classmethod
    def new(cls, limit: int, *, admit_window_ms: int = DEFAULT_ADMIT_WINDOW_MS,
            stay_timeout_s: int | None = None) -> OccupancyMachine:
        """A machine for an empty branch; it is in ``fault`` until DoorLinkUp arrives."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit {limit} must be between 1 and {MAX_LIMIT}")
        if not 1000 <= admit_window_ms <= MAX_ADMIT_WINDOW_MS:
            raise ValueError(f"admit_window_ms {admit_window_ms} must be 1000..65535")
        if stay_timeout_s is not None and stay_timeout_s < 60:
            raise ValueError(f"stay_timeout_s {stay_timeout_s} must be at least 60 or None")
        return cls(_Facts(count=0, limit=limit, admit_window_ms=admit_window_ms,
                          stay_timeout_s=stay_timeout_s))

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> OccupancyMachine:
        """Restore a stored machine, with the door link's last known state."""
        from door_controller.snapshot import facts_from_snapshot

        return cls(facts_from_snapshot(snapshot))

    def snapshot(self) -> dict[str, Any]:
        from door_controller.snapshot import snapshot_of_facts

        return snapshot_of_facts(self._facts)

    def copy(self) -> OccupancyMachine:
        return OccupancyMachine(self._facts.copy())

    def handle(self, event: OccupancyEvent, now: datetime) -> list[Effect]:
        """Apply one event; on refusal raise TransitionRefused and change nothing."""
        state = self.state
        rule = TRANSITIONS.get((type(event), state))
        if rule is None:
            raise TransitionRefused(event, state, "not allowed in this state")
        work = self._facts.copy()
        try:
            effects = rule.action(work, event, now)
        except _Refuse as refusal:
            raise TransitionRefused(event, state, str(refusal)) from None
        new_state = derive_state(work)
        allowed = rule.to or (state,)
        if new_state not in allowed:
            raise RuntimeError(f"{type(event).__name__} in state {state} led to {new_state}, "
                               f"which the table does not allow ({', '.join(allowed)})")
        door_before, door_after = derive_door_mode(self._facts), derive_door_mode(work)
        if door_after != door_before and not any(isinstance(e, SendMode) for e in effects):
            effects.insert(0, SendMode(door_after))
        self._facts = work
        return effects

    def allows(self, event_type: type) -> bool:
        """Whether the table has a row for this event in the current state."""
        return (event_type, self.state) in TRANSITIONS

    # --- read-only views ---

    @property
    def state(self) -> BranchState:
        return derive_state(self._facts)

    @property
    def door_mode(self) -> DoorMode:
        return derive_door_mode(self._facts)

    @property
    def count(self) -> int:
        return self._facts.count

    @property
    def limit(self) -> int:
        return self._facts.limit

    @property
    def waiting(self) -> tuple[Waiting, ...]:
        return tuple(self._facts.waiting)

    @property
    def admissions(self) -> tuple[Admission, ...]:
        return tuple(self._facts.admissions)

    @property
    def in_flight(self) -> int:
        """Places taken by admissions sent and not yet used."""
        return self._facts.in_flight

    @property
    def free_places(self) -> int:
        return max(0, self._facts.free_places)

    @property
    def mode(self) -> StaffMode:
        return self._facts.mode

    @property
    def link_up(self) -> bool:
        return self._facts.link_up

    @property
    def sensor_faults(self) -> int:
        return self._facts.sensor_faults

    @property
    def closed(self) -> bool:
        return self._facts.closed

    def position_of(self, ticket: str) -> int | None:
        for index, waiting in enumerate(self._facts.waiting):
            if waiting.ticket == ticket:
                return index + 1
        return None
