"""The kiosk's local store: SQLite in WAL mode through sqlite-utils.

Everything the branch must not lose lives here: bookings, check-ins and their ticket numbers,
the outbox of events for central, the audit log of staff actions, the occupancy state and the
print queue. A check-in and its outbox event are written in one transaction, synced to disk
(``synchronous=FULL``) before the customer is told "welcome".

Each thread opens its own ``Store``; SQLite connections are not shared between threads.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils

from kiosk.bookings import Booking
from kiosk.timeutil import format_rfc3339, parse_rfc3339

log = logging.getLogger(__name__)

# Each entry moves the schema from version N-1 to N. Never edit a released entry: add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE bookings (
            booking_id TEXT PRIMARY KEY,
            code TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            starts_at_utc TEXT NOT NULL,
            duration_min INTEGER NOT NULL,
            service_id TEXT NOT NULL,
            ticket_prefix TEXT NOT NULL,
            service_name_pl TEXT NOT NULL,
            service_name_en TEXT NOT NULL,
            party_size INTEGER NOT NULL,
            display_name TEXT,
            status TEXT NOT NULL,
            version INTEGER NOT NULL,
            received_at TEXT NOT NULL
        )""",
        "CREATE INDEX bookings_code ON bookings(code)",
        "CREATE INDEX bookings_starts ON bookings(starts_at_utc)",
        """CREATE TABLE checkins (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            booking_id TEXT UNIQUE,
            ticket TEXT NOT NULL,
            service_date TEXT NOT NULL,
            party_size INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            language TEXT NOT NULL,
            checked_in_at TEXT NOT NULL,
            event_id TEXT NOT NULL,
            UNIQUE (service_date, ticket)
        )""",
        """CREATE TABLE ticket_counters (
            prefix TEXT NOT NULL,
            service_date TEXT NOT NULL,
            last_number INTEGER NOT NULL,
            PRIMARY KEY (prefix, service_date)
        )""",
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_sent_at TEXT
        )""",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            args TEXT NOT NULL,
            source TEXT NOT NULL,
            result TEXT NOT NULL
        )""",
        """CREATE TABLE occupancy (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            snapshot TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE print_jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            ticket TEXT NOT NULL,
            reason TEXT NOT NULL,
            slip TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'queued',
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            printed_at TEXT
        )""",
        "CREATE INDEX print_jobs_state ON print_jobs(state, id)",
        """CREATE TABLE commands_seen (
            command_id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            error TEXT
        )""",
        """CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """The store cannot be used as it is; the message says what to do."""


@dataclass(frozen=True)
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class CheckinRecord:
    booking_id: str | None
    ticket: str
    service_date: str
    party_size: int
    outcome: str
    language: str
    checked_in_at: datetime
    event_id: str


@dataclass(frozen=True)
class OutboxEvent:
    seq: int
    event_id: str
    type: str
    payload: dict[str, Any]
    attempts: int


class OutboxText(NamedTuple):
    seq: int
    event_id: str
    payload: str


def new_event_id() -> str:
    return str(uuid.uuid4())


class Store:
    """One connection to the kiosk's database, migrated to the current schema on open."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE), and
        # sqlite-utils nests its own writes inside them as savepoints.
        conn = sqlite3.connect(
            str(self.path),
            isolation_level=None,
            timeout=busy_timeout_ms / 1000,
            check_same_thread=False,
        )
        self.db = sqlite_utils.Database(conn)
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self.db.enable_wal()
        # FULL: in WAL mode every commit is fsynced, so a check-in survives a power cut.
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    # --- schema -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self.transaction():
            current = self.schema_version
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the database {self.path} has schema version {current}, newer than this "
                    f"kiosk software understands ({SCHEMA_VERSION}); install the newer software "
                    "or restore a backup made by this version"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version - 1]:
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version}")
                log.info("store %s migrated to schema version %d", self.path, version)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction taken at once (BEGIN IMMEDIATE), so two writers never deadlock."""
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # --- bookings ---------------------------------------------------------------------------

    def upsert_bookings(self, bookings: Sequence[Booking], now: datetime) -> ImportResult:
        """Store bookings in one transaction; a lower or equal version changes nothing."""
        received = format_rfc3339(now)
        with self.transaction():
            stored = self._stored_versions([b.booking_id for b in bookings])
            rows = []
            inserted = updated = 0
            for booking in bookings:
                known = stored.get(booking.booking_id)
                if known is not None and known >= booking.version:
                    continue
                if known is None:
                    inserted += 1
                else:
                    updated += 1
                stored[booking.booking_id] = booking.version  # a later duplicate must be newer
                rows.append(_booking_row(booking, received))
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO bookings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return ImportResult(inserted, updated, len(bookings) - inserted - updated)

    def _stored_versions(self, booking_ids: Sequence[str]) -> dict[str, int]:
        versions: dict[str, int] = {}
        chunk = 500  # well under SQLite's limit on bound parameters
        for start in range(0, len(booking_ids), chunk):
            ids = booking_ids[start : start + chunk]
            marks = ", ".join("?" * len(ids))
            versions.update(self.db.execute(
                f"SELECT booking_id, version FROM bookings WHERE booking_id IN ({marks})", ids
            ).fetchall())
        return versions

    def bookings_with_code(self, code: str) -> list[Booking]:
        rows = self.db.execute(
            "SELECT * FROM bookings WHERE code = ? ORDER BY starts_at_utc", [code]
        ).fetchall()
        return [_booking_from_row(row) for row in rows]

    def booking(self, booking_id: str) -> Booking | None:
        row = self.db.execute(
            "SELECT * FROM bookings WHERE booking_id = ?", [booking_id]
        ).fetchone()
        return _booking_from_row(row) if row else None

    def bookings_between(self, start: datetime, end: datetime) -> list[Booking]:
        rows = self.db.execute(
            "SELECT * FROM bookings WHERE starts_at_utc >= ? AND starts_at_utc < ? "
            "ORDER BY starts_at_utc",
            [_utc_key(start), _utc_key(end)],
        ).fetchall()
        return [_booking_from_row(row) for row in rows]

    def count_bookings(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM bookings").fetchone()[0])

    # --- check-ins and tickets --------------------------------------------------------------

    def checkin_for_booking(self, booking_id: str) -> CheckinRecord | None:
        row = self.db.execute(
            "SELECT booking_id, ticket, service_date, party_size, outcome, language, "
            "checked_in_at, event_id FROM checkins WHERE booking_id = ?",
            [booking_id],
        ).fetchone()
        return _checkin_from_row(row) if row else None

    def checkins_on(self, service_date: date) -> list[CheckinRecord]:
        rows = self.db.execute(
            "SELECT booking_id, ticket, service_date, party_size, outcome, language, "
            "checked_in_at, event_id FROM checkins WHERE service_date = ? ORDER BY id",
            [service_date.isoformat()],
        ).fetchall()
        return [_checkin_from_row(row) for row in rows]

    def take_ticket_number(self, prefix: str, service_date: date) -> int:
        """The next number for this prefix today; call inside a transaction."""
        self._require_transaction()
        day = service_date.isoformat()
        self.db.execute(
            "INSERT INTO ticket_counters (prefix, service_date, last_number) VALUES (?, ?, 1) "
            "ON CONFLICT (prefix, service_date) DO UPDATE SET last_number = last_number + 1",
            [prefix, day],
        )
        row = self.db.execute(
            "SELECT last_number FROM ticket_counters WHERE prefix = ? AND service_date = ?",
            [prefix, day],
        ).fetchone()
        return int(row[0])

    def insert_checkin(self, record: CheckinRecord) -> None:
        self._require_transaction()
        self.db.execute(
            "INSERT INTO checkins (booking_id, ticket, service_date, party_size, outcome, "
            "language, checked_in_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.booking_id,
                record.ticket,
                record.service_date,
                record.party_size,
                record.outcome,
                record.language,
                format_rfc3339(record.checked_in_at),
                record.event_id,
            ],
        )

    # --- outbox -----------------------------------------------------------------------------

    def enqueue_event(self, payload: dict[str, Any]) -> None:
        """Queue an event for central; call inside the transaction of what caused it."""
        self._require_transaction()
        self.db.execute(
            "INSERT INTO outbox (event_id, type, payload, created_at) VALUES (?, ?, ?, ?)",
            [
                payload["event_id"],
                payload["type"],
                json.dumps(payload, ensure_ascii=False),
                payload["at"],
            ],
        )

    def pending_event_texts(self, limit: int, *, after_seq: int = 0) -> list[OutboxText]:
        """Waiting events with their payload as the stored JSON text: sent as written, and a
        long outbox is not parsed and re-encoded."""
        rows = self.db.execute(
            "SELECT seq, event_id, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            [after_seq, limit],
        ).fetchall()
        return [OutboxText(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def pending_events(self, limit: int = 100, *, after_seq: int = 0) -> list[OutboxEvent]:
        rows = self.db.execute(
            "SELECT seq, event_id, type, payload, attempts FROM outbox WHERE seq > ? "
            "ORDER BY seq LIMIT ?",
            [after_seq, limit],
        ).fetchall()
        return [OutboxEvent(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def mark_events_sent(self, seqs: Sequence[int], now: datetime) -> None:
        with self.transaction():
            self.db.conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_sent_at = ? WHERE seq = ?",
                [(format_rfc3339(now), seq) for seq in seqs],
            )

    def acknowledge_events(self, event_ids: Sequence[str]) -> int:
        """Remove events central has stored; unknown ids (already removed) are ignored."""
        with self.transaction():
            cursor = self.db.conn.executemany(
                "DELETE FROM outbox WHERE event_id = ?", [(event_id,) for event_id in event_ids]
            )
            return int(cursor.rowcount)

    def outbox_size(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    # --- audit, occupancy, commands, key-value -----------------------------------------------

    def audit(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        args: dict[str, Any],
        source: str,
        result: str,
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO audit (at, actor, action, args, source, result) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    format_rfc3339(at),
                    actor,
                    action,
                    json.dumps(args, ensure_ascii=False),
                    source,
                    result,
                ],
            )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT at, actor, action, args, source, result FROM audit ORDER BY id DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [
            {
                "at": r[0],
                "actor": r[1],
                "action": r[2],
                "args": json.loads(r[3]),
                "source": r[4],
                "result": r[5],
            }
            for r in rows
        ]

    def load_occupancy(self) -> dict[str, Any] | None:
        row = self.db.execute("SELECT snapshot FROM occupancy WHERE id = 1").fetchone()
        return json.loads(row[0]) if row else None

    def save_occupancy(self, snapshot: dict[str, Any], now: datetime) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO occupancy (id, snapshot, updated_at) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, "
                "updated_at = excluded.updated_at",
                [json.dumps(snapshot, ensure_ascii=False), format_rfc3339(now)],
            )

    def command_seen(self, command_id: str) -> bool:
        return self.command_outcome(command_id) is not None

    def command_outcome(self, command_id: str) -> tuple[bool, str | None] | None:
        """How a command already carried out ended (ok, error), or None if it is new."""
        row = self.db.execute(
            "SELECT ok, error FROM commands_seen WHERE command_id = ?", [command_id]
        ).fetchone()
        return (bool(row[0]), row[1]) if row is not None else None

    def record_command(self, command_id: str, now: datetime, ok: bool, error: str | None) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO commands_seen VALUES (?, ?, ?, ?)",
                [command_id, format_rfc3339(now), int(ok), error],
            )

    def get_value(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    def set_value(self, key: str, value: Any) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, json.dumps(value, ensure_ascii=False)],
            )

    # --- personal data ----------------------------------------------------------------------

    def purge(self, now: datetime, keep_days: int) -> dict[str, int]:
        """Forget bookings, check-ins and printed slips older than ``keep_days`` days.

        Events still waiting for central stay in the outbox whatever their age: they carry
        no personal data, and losing them would break the count at central.
        """
        cutoff = now - timedelta(days=keep_days)
        cutoff_key = _utc_key(cutoff)
        cutoff_day = cutoff.date().isoformat()
        with self.transaction():
            removed = {
                "bookings": self.db.execute(
                    "DELETE FROM bookings WHERE starts_at_utc < ?", [cutoff_key]
                ).rowcount,
                "checkins": self.db.execute(
                    "DELETE FROM checkins WHERE service_date < ?", [cutoff_day]
                ).rowcount,
                "print_jobs": self.db.execute(
                    "DELETE FROM print_jobs WHERE state != 'queued' AND created_at < ?",
                    [format_rfc3339(cutoff)],
                ).rowcount,
                "ticket_counters": self.db.execute(
                    "DELETE FROM ticket_counters WHERE service_date < ?", [cutoff_day]
                ).rowcount,
                "commands_seen": self.db.execute(
                    "DELETE FROM commands_seen WHERE received_at < ?", [format_rfc3339(cutoff)]
                ).rowcount,
            }
        return removed

    def _require_transaction(self) -> None:
        if not self.db.conn.in_transaction:
            raise StoreError("this write belongs inside Store.transaction()")


def _utc_key(moment: datetime) -> str:
    """A sortable UTC key; stored times keep their own offset, this one is for ordering."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _booking_row(booking: Booking, received: str) -> tuple[Any, ...]:
    return (
        booking.booking_id, booking.code, format_rfc3339(booking.starts_at),
        _utc_key(booking.starts_at), booking.duration_min, booking.service_id,
        booking.ticket_prefix, booking.service_name_pl, booking.service_name_en,
        booking.party_size, booking.display_name, booking.status, booking.version, received,
    )


def _booking_from_row(row: Sequence[Any]) -> Booking:
    return Booking(
        booking_id=row[0],
        code=row[1],
        starts_at=parse_rfc3339(row[2]),
        duration_min=row[4],
        service_id=row[5],
        ticket_prefix=row[6],
        service_name_pl=row[7],
        service_name_en=row[8],
        party_size=row[9],
        display_name=row[10],
        status=row[11],
        version=row[12],
    )


def _checkin_from_row(row: Sequence[Any]) -> CheckinRecord:
    return CheckinRecord(
        booking_id=row[0],
        ticket=row[1],
        service_date=row[2],
        party_size=row[3],
        outcome=row[4],
        language=row[5],
        checked_in_at=parse_rfc3339(row[6]),
        event_id=row[7],
    )
