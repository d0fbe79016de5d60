"""The SQL both stores share: written once with ``?`` placeholders, run by either database.

Subclasses supply the connection, the schema, the transaction and how a placeholder is
written; everything else, and so every rule about versions and duplicates, lives here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from central.messages import CommandResultIn, EventIn, OccupancyIn, StatusIn
from central.store import (
    BranchConfig,
    CommandRecord,
    EventRecord,
    KioskStatusRecord,
    OccupancyRecord,
    QuarantinedEvent,
    StoredBooking,
)
from kiosk.bookings import Booking
from kiosk.timeutil import parse_rfc3339

BOOKING_COLUMNS = (
    "booking_id", "branch", "code", "starts_at", "starts_epoch", "duration_min", "service_id",
    "ticket_prefix", "service_name_pl", "service_name_en", "party_size", "display_name",
    "status", "version",
)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _booking_row(branch: str, booking: Booking) -> tuple[Any, ...]:
    return (
        booking.booking_id, branch, booking.code,
        booking.starts_at.isoformat(timespec="seconds"), booking.starts_at.timestamp(),
        booking.duration_min, booking.service_id, booking.ticket_prefix,
        booking.service_name_pl, booking.service_name_en, booking.party_size,
        booking.display_name, booking.status, booking.version,
    )


def _booking_from_row(row: Sequence[Any]) -> Booking:
    values = dict(zip(BOOKING_COLUMNS, row, strict=False))
    return Booking(
        booking_id=values["booking_id"],
        code=values["code"],
        starts_at=parse_rfc3339(values["starts_at"]),
        duration_min=values["duration_min"],
        service_id=values["service_id"],
        ticket_prefix=values["ticket_prefix"],
        service_name_pl=values["service_name_pl"],
        service_name_en=values["service_name_en"],
        party_size=values["party_size"],
        display_name=values["display_name"],
        status=values["status"],
        version=values["version"],
    )


def event_rows(events: Sequence[EventIn]) -> list[tuple[str, ...]]:
    stamp = now_text()
    return [
        (e.event_id, e.branch, e.kiosk, e.type, e.at.isoformat(),
         json.dumps(e.payload, ensure_ascii=False), stamp)
        for e in events
    ]


_SELECT_BOOKING = f"SELECT {', '.join(BOOKING_COLUMNS)}, published_version FROM bookings"

_UPSERT_BOOKING = f"""
INSERT INTO bookings ({', '.join(BOOKING_COLUMNS)}, updated_at)
VALUES ({', '.join('?' for _ in BOOKING_COLUMNS)}, ?)
ON CONFLICT (booking_id) DO UPDATE SET
  {', '.join(f'{c} = excluded.{c}' for c in BOOKING_COLUMNS[1:])},
  updated_at = excluded.updated_at
WHERE bookings.version < excluded.version
"""


class SqlStore:
    """A CentralStore over a DB-API connection; one lock makes it safe to share by threads."""

    placeholder = "?"

    def __init__(self) -> None:
        self._lock = threading.RLock()

    # -- what a subclass provides -------------------------------------------------------
    def _cursor(self) -> Any:
        raise NotImplementedError

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        raise NotImplementedError
        yield

    def claim_publisher(self) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------
    def _sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def _write(self, text: str, params: Sequence[Any] = ()) -> int:
        cursor = self._cursor()
        cursor.execute(self._sql(text), params)
        return int(cursor.rowcount)

    def _write_many(self, text: str, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        cursor = self._cursor()
        cursor.executemany(self._sql(text), rows)
        return int(cursor.rowcount)

    def _ensure_connection(self) -> None:
        """Reconnect if the connection was lost; nothing to do for a local file."""

    def _rows(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        # One statement, no explicit transaction: a single round trip to a server.
        with self._lock:
            self._ensure_connection()
            cursor = self._cursor()
            cursor.execute(self._sql(text), params)
            return list(cursor.fetchall())

    # -- bookings -----------------------------------------------------------------------
    def upsert_bookings(self, items: Sequence[tuple[str, Booking]]) -> int:
        stamp = now_text()
        rows = [(*_booking_row(branch, booking), stamp) for branch, booking in items]
        with self._lock, self._transaction():
            return self._write_many(_UPSERT_BOOKING, rows)

    def _stored(self, row: Sequence[Any]) -> StoredBooking:
        return StoredBooking(branch=row[1], booking=_booking_from_row(row),
                             published_version=row[-1])

    def get_booking(self, booking_id: str) -> StoredBooking | None:
        rows = self._rows(f"{_SELECT_BOOKING} WHERE booking_id = ?", (booking_id,))
        return self._stored(rows[0]) if rows else None

    def booking_with_code(self, code: str) -> StoredBooking | None:
        rows = self._rows(f"{_SELECT_BOOKING} WHERE code = ? LIMIT 1", (code,))
        return self._stored(rows[0]) if rows else None

    def bookings_between(self, branch: str, start: datetime, end: datetime) -> list[Booking]:
        rows = self._rows(
            f"{_SELECT_BOOKING} WHERE branch = ? AND starts_epoch >= ? AND starts_epoch < ?"
            " ORDER BY starts_epoch, booking_id",
            (branch, start.timestamp(), end.timestamp()),
        )
        return [_booking_from_row(row) for row in rows]

    def unpublished_bookings(self, limit: int) -> list[StoredBooking]:
        rows = self._rows(
            f"{_SELECT_BOOKING} WHERE version > published_version"
            " ORDER BY branch, starts_epoch, booking_id LIMIT ?",
            (limit,),
        )
        return [self._stored(row) for row in rows]

    def mark_bookings_published(self, items: Sequence[tuple[str, int]]) -> None:
        with self._lock, self._transaction():
            self._write_many(
                "UPDATE bookings SET published_version = ?"
                " WHERE booking_id = ? AND published_version < ?",
                [(version, booking_id, version) for booking_id, version in items],
            )

    # -- branch configs -----------------------------------------------------------------
    def set_branch_config(self, branch: str, config: dict[str, Any]) -> bool:
        version = int(config.get("version", 0))
        with self._lock, self._transaction():
            changed = self._write(
                "INSERT INTO branch_configs (branch, config, version, published_version,"
                " updated_at) VALUES (?, ?, ?, -1, ?)"
                " ON CONFLICT (branch) DO UPDATE SET config = excluded.config,"
                " version = excluded.version, updated_at = excluded.updated_at"
                " WHERE branch_configs.version < excluded.version",
                (branch, json.dumps(config, ensure_ascii=False), version, now_text()),
            )
        return changed > 0

    _CONFIG_COLUMNS = "branch, config, version, published_version, updated_at"

    def branch_config(self, branch: str) -> BranchConfig | None:
        rows = self._rows(
            f"SELECT {self._CONFIG_COLUMNS} FROM branch_configs WHERE branch = ?", (branch,)
        )
        return self._config(rows[0]) if rows else None

    def branch_configs(self) -> list[BranchConfig]:
        rows = self._rows(f"SELECT {self._CONFIG_COLUMNS} FROM branch_configs ORDER BY branch")
        return [self._config(row) for row in rows]

    @staticmethod
    def _config(row: Sequence[Any]) -> BranchConfig:
        return BranchConfig(row[0], json.loads(row[1]), row[2], row[3], str(row[4]))

    def mark_config_published(self, branch: str, version: int) -> None:
        with self._lock, self._transaction():
            self._write(
                "UPDATE branch_configs SET published_version = ?"
                " WHERE branch = ? AND published_version < ?",
                (version, branch, version),
            )

    # -- events -------------------------------------------------------------------------
    def store_events(self, events: Sequence[EventIn]) -> int:
        with self._lock, self._transaction():
            return self._write_many(
                "INSERT INTO events (event_id, branch, kiosk, type, at, payload, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                event_rows(events),
            )

    def quarantine_event(self, branch: str, kiosk: str, event_id: str | None, reason: str,
                         detail: str, payload: bytes) -> None:
        text = payload.decode("utf-8", errors="replace")
        with self._lock, self._transaction():
            self._write(
                "INSERT INTO quarantined_events (event_id, branch, kiosk, reason, detail,"
                " payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (event_id) DO NOTHING",
                (event_id, branch, kiosk, reason, detail, text, now_text()),
            )

    def events(self, *, branch: str | None = None, kiosk: str | None = None,
               limit: int = 100) -> list[EventRecord]:
        where, params = self._filters(branch=branch, kiosk=kiosk)
        rows = self._rows(
            "SELECT event_id, branch, kiosk, type, at, payload, received_at FROM events"
            f"{where} ORDER BY seq DESC LIMIT ?",
            (*params, limit),
        )
        return [EventRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def event_count(self, *, branch: str | None = None) -> int:
        where, params = self._filters(branch=branch)
        return int(self._rows(f"SELECT COUNT(*) FROM events{where}", params)[0][0])

    def quarantined_events(self, limit: int = 100) -> list[QuarantinedEvent]:
        rows = self._rows(
            "SELECT event_id, branch, kiosk, reason, detail, payload, received_at"
            " FROM quarantined_events ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [QuarantinedEvent(*row) for row in rows]

    @staticmethod
    def _filters(**values: str | None) -> tuple[str, tuple[str, ...]]:
        given = {name: value for name, value in values.items() if value is not None}
        if not given:
            return "", ()
        return " WHERE " + " AND ".join(f"{name} = ?" for name in given), tuple(given.values())

    # -- occupancy and kiosk status -----------------------------------------------------
    def record_occupancy(self, occupancy: OccupancyIn) -> None:
        # Every central process sees the retained occupancy; the newest "at" wins.
        with self._lock, self._transaction():
            self._write(
                'INSERT INTO occupancy (branch, count, "limit", waiting, state, at, at_epoch,'
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ' ON CONFLICT (branch) DO UPDATE SET count = excluded.count,'
                ' "limit" = excluded."limit", waiting = excluded.waiting,'
                " state = excluded.state, at = excluded.at, at_epoch = excluded.at_epoch,"
                " received_at = excluded.received_at"
                " WHERE occupancy.at_epoch <= excluded.at_epoch",
                (occupancy.branch, occupancy.count, occupancy.limit, occupancy.waiting,
                 occupancy.state, occupancy.at.isoformat(), occupancy.at.timestamp(),
                 now_text()),
            )

    def occupancy(self) -> list[OccupancyRecord]:
        rows = self._rows(
            'SELECT branch, count, "limit", waiting, state, at, received_at FROM occupancy'
            " ORDER BY branch"
        )
        return [OccupancyRecord(*row) for row in rows]

    def record_kiosk_status(self, status: StatusIn) -> None:
        # The will (online false) always wins: the broker sends it after the kiosk's last
        # words, yet its "at" was written when the kiosk connected.
        at_epoch = status.at.timestamp() if status.at else None
        with self._lock, self._transaction():
            self._write(
                "INSERT INTO kiosk_status (branch, kiosk, online, at, at_epoch, payload,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (branch, kiosk) DO UPDATE SET online = excluded.online,"
                " at = excluded.at, at_epoch = excluded.at_epoch, payload = excluded.payload,"
                " received_at = excluded.received_at"
                " WHERE NOT excluded.online OR kiosk_status.at_epoch IS NULL"
                " OR kiosk_status.at_epoch <= excluded.at_epoch",
                (status.branch, status.kiosk, status.online,
                 status.at.isoformat() if status.at else None, at_epoch,
                 json.dumps(status.payload, ensure_ascii=False), now_text()),
            )

    def kiosk_statuses(self) -> list[KioskStatusRecord]:
        rows = self._rows(
            "SELECT branch, kiosk, online, at, payload, received_at FROM kiosk_status"
            " ORDER BY branch, kiosk"
        )
        return [KioskStatusRecord(r[0], r[1], bool(r[2]), r[3], json.loads(r[4]), r[5])
                for r in rows]

    def forget_occupancy(self, branch: str) -> None:
        with self._lock, self._transaction():
            self._write("DELETE FROM occupancy WHERE branch = ?", (branch,))

    def forget_kiosk_status(self, branch: str, kiosk: str) -> None:
        with self._lock, self._transaction():
            self._write("DELETE FROM kiosk_status WHERE branch = ? AND kiosk = ?",
                        (branch, kiosk))

    # -- commands -----------------------------------------------------------------------
    def record_command(self, command: dict[str, Any], branch: str) -> None:
        with self._lock, self._transaction():
            self._write(
                "INSERT INTO commands (command_id, branch, action, args, issued_by, issued_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (command_id) DO NOTHING",
                (command["command_id"], branch, command["action"],
                 json.dumps(command.get("args", {}), ensure_ascii=False),
                 command.get("issued_by"), command.get("issued_at")),
            )

    def record_command_result(self, result: CommandResultIn) -> None:
        # A result may name a command another system sent: keep it all the same.
        at = result.at.isoformat() if result.at else now_text()
        with self._lock, self._transaction():
            self._write(
                "INSERT INTO commands (command_id, branch, ok, error, result_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (command_id) DO UPDATE SET"
                " ok = excluded.ok, error = excluded.error, result_at = excluded.result_at"
                " WHERE commands.result_at IS NULL",
                (result.command_id, result.branch, result.ok, result.error, at),
            )

    _COMMAND_COLUMNS = (
        "command_id, branch, action, args, issued_by, issued_at, ok, error, result_at"
    )

    @staticmethod
    def _command(row: Sequence[Any]) -> CommandRecord:
        args = json.loads(row[3]) if row[3] is not None else None
        ok = None if row[6] is None else bool(row[6])
        return CommandRecord(row[0], row[1], row[2], args, row[4], row[5], ok, row[7], row[8])

    def commands(self, *, branch: str | None = None, limit: int = 100) -> list[CommandRecord]:
        where, params = self._filters(branch=branch)
        rows = self._rows(
            f"SELECT {self._COMMAND_COLUMNS} FROM commands{where} ORDER BY seq DESC LIMIT ?",
            (*params, limit),
        )
        return [self._command(row) for row in rows]

    def command(self, command_id: str) -> CommandRecord | None:
        rows = self._rows(
            f"SELECT {self._COMMAND_COLUMNS} FROM commands WHERE command_id = ?", (command_id,)
        )
        return self._command(rows[0]) if rows else None
