"""What central keeps: bookings, branch configs, events, latest occupancy and kiosk status,
commands and their results.

``CentralStore`` is the interface; ``SqliteStore`` (one process, the default) and
``PostgresStore`` (several ``central serve`` processes sharing the work) implement it with the
same SQL. Each method that writes commits before it returns, so what it reports as stored is
on disk: central acknowledges an event only after ``store_events`` has returned.

Other code reading central's state (an operations page, a metrics endpoint) opens its own
store with ``open_store`` and uses the query methods; they never change anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from central.messages import CommandResultIn, EventIn, OccupancyIn, StatusIn
from kiosk.bookings import Booking


@dataclass(frozen=True)
class StoredBooking:
    branch: str
    booking: Booking
    published_version: int


@dataclass(frozen=True)
class BranchConfig:
    branch: str
    config: dict[str, Any]
    version: int
    published_version: int
    updated_at: str


@dataclass(frozen=True)
class EventRecord:
    event_id: str
    branch: str
    kiosk: str
    type: str
    at: str
    payload: dict[str, Any]
    received_at: str


@dataclass(frozen=True)
class QuarantinedEvent:
    event_id: str | None
    branch: str
    kiosk: str
    reason: str
    detail: str
    payload: str
    received_at: str


@dataclass(frozen=True)
class OccupancyRecord:
    branch: str
    count: int
    limit: int
    waiting: int
    state: str
    at: str
    received_at: str


@dataclass(frozen=True)
class KioskStatusRecord:
    branch: str
    kiosk: str
    online: bool
    at: str | None
    payload: dict[str, Any]
    received_at: str


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    branch: str
    action: str | None
    args: dict[str, Any] | None
    issued_by: str | None
    issued_at: str | None
    ok: bool | None
    error: str | None
    result_at: str | None


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message says which and what to check."""


class CentralStore(Protocol):
    """Everything central stores and every question asked of it."""

    # Bookings
    def upsert_bookings(self, items: Sequence[tuple[str, Booking]]) -> int:
        """Store (branch, booking) pairs; a lower or equal version changes nothing.

        Returns how many bookings were added or replaced.
        """

    def get_booking(self, booking_id: str) -> StoredBooking | None: ...

    def booking_with_code(self, code: str) -> StoredBooking | None: ...

    def bookings_between(self, branch: str, start: datetime, end: datetime) -> list[Booking]:
        """Bookings of a branch starting in [start, end), in order of start."""

    def unpublished_bookings(self, limit: int) -> list[StoredBooking]: ...

    def mark_bookings_published(self, items: Sequence[tuple[str, int]]) -> None:
        """Record (booking_id, version) pairs as sent; a newer version stays unpublished."""

    # Branch configs
    def set_branch_config(self, branch: str, config: dict[str, Any]) -> bool:
        """Store a branch's config if its version is higher than the stored one."""

    def branch_config(self, branch: str) -> BranchConfig | None: ...

    def branch_configs(self) -> list[BranchConfig]: ...

    def mark_config_published(self, branch: str, version: int) -> None: ...

    # Events
    def store_events(self, events: Sequence[EventIn]) -> int:
        """Store events once by event_id, durably; returns how many were new."""

    def quarantine_event(self, branch: str, kiosk: str, event_id: str | None, reason: str,
                         detail: str, payload: bytes) -> None: ...

    def events(self, *, branch: str | None = None, kiosk: str | None = None,
               limit: int = 100) -> list[EventRecord]:
        """The most recently stored events, newest first."""

    def event_count(self, *, branch: str | None = None) -> int: ...

    def quarantined_events(self, limit: int = 100) -> list[QuarantinedEvent]: ...

    # Latest occupancy and kiosk status
    def record_occupancy(self, occupancy: OccupancyIn) -> None: ...

    def occupancy(self) -> list[OccupancyRecord]: ...

    def record_kiosk_status(self, status: StatusIn) -> None: ...

    def kiosk_statuses(self) -> list[KioskStatusRecord]: ...

    def forget_occupancy(self, branch: str) -> None:
        """The branch's retained occupancy was cleared: it no longer reports."""

    def forget_kiosk_status(self, branch: str, kiosk: str) -> None:
        """The kiosk's retained status was cleared: the kiosk was retired."""

    # Commands
    def record_command(self, command: dict[str, Any], branch: str) -> None: ...

    def record_command_result(self, result: CommandResultIn) -> None: ...

    def commands(self, *, branch: str | None = None, limit: int = 100) -> list[CommandRecord]: ...

    def command(self, command_id: str) -> CommandRecord | None: ...

    # Coordination between processes
    def claim_publisher(self) -> bool:
        """True when this process should publish pending bookings and configs."""

    def is_transient(self, error: BaseException) -> bool:
        """True when ``error`` may pass by itself (a lost connection, a locked file), false
        when the same data would fail again."""

    def close(self) -> None: ...


def open_store(target: str) -> CentralStore:
    """Open the store named by a path (SQLite) or a postgresql:// DSN."""
    if target.startswith(("postgresql://", "postgres://")):
        from central.postgres_store import PostgresStore

        return PostgresStore(target)
    from central.sqlite_store import SqliteStore

    return SqliteStore(target)
