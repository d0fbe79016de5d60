"""What the door link tells its owner: frozen dataclasses handed to notify()."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from .messages import AckResult, EventKind, Mode


class EventCursor(NamedTuple):
    """Position of a device event; (boot_count, event_id) is unique and ordered."""

    boot_count: int
    event_id: int


class LinkState(Enum):
    DOWN = "down"
    CONNECTING = "connecting"
    UP = "up"


@dataclass(frozen=True)
class DeviceInfo:
    uid: bytes
    fw_version: int
    boot_count: int
    oldest_unacked_event_id: int


@dataclass(frozen=True)
class LinkUp:
    device: DeviceInfo


@dataclass(frozen=True)
class LinkDown:
    reason: str


@dataclass(frozen=True)
class DeviceRebooted:
    previous_boot_count: int
    boot_count: int


@dataclass(frozen=True)
class DeviceEvent:
    cursor: EventCursor
    uptime_ms: int
    kind: EventKind
    arg: int


@dataclass(frozen=True)
class DeviceStatus:
    uptime_ms: int
    mode: Mode
    lock: int
    light: int
    door: int
    total_in: int
    total_out: int
    admits_pending: int
    faults: int
    last_event_id: int


@dataclass(frozen=True)
class CommandResult:
    seq: int
    command: str
    result: AckResult | None  # None: no answer after 3 retries, or the link went down


@dataclass(frozen=True)
class EventGap:
    """Events the device no longer holds and that were never delivered.

    `first` .. `last` (inclusive) of `boot_count` are gone for good: the ring
    overflowed while the host was away, or the device restarted before it
    could send them.
    """

    boot_count: int
    first_event_id: int
    last_event_id: int
    reason: str


LinkNotice = (
    LinkUp | LinkDown | DeviceRebooted | DeviceEvent | DeviceStatus | CommandResult | EventGap
)
