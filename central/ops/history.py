"""Today's history for the page: occupancy samples, the kiosks' events, alarm
acknowledgements, the commands issued and the Home Assistant entities published.

A small SQLite file of its own (WAL), written in batches by the owner thread and read by
the HTTP threads through one lock. Days older than ``KEEP_DAYS`` are purged at start and at
midnight; the reference central's store keeps the permanent record.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from central.messages import EventIn, OccupancyIn
from central.ops.model import Alarm, CommandView

KEEP_DAYS = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS occupancy_samples (
  branch TEXT NOT NULL, day TEXT NOT NULL, at REAL NOT NULL,
  count INTEGER NOT NULL, "limit" INTEGER NOT NULL, waiting INTEGER NOT NULL, state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_branch ON occupancy_samples (branch, day, at);
CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY, branch TEXT NOT NULL, kiosk TEXT NOT NULL, type TEXT NOT NULL,
  day TEXT NOT NULL, at REAL NOT NULL, payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_branch ON events (branch, day, at);
CREATE TABLE IF NOT EXISTS alarm_acks (
  event_id TEXT PRIMARY KEY, operator TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
  command_id TEXT PRIMARY KEY, branch TEXT NOT NULL, action TEXT NOT NULL, args TEXT NOT NULL,
  issued_by TEXT NOT NULL, issued_at TEXT NOT NULL, ok INTEGER, error TEXT, result_at TEXT
);
CREATE TABLE IF NOT EXISTS ha_entities (topic TEXT PRIMARY KEY);
"""


@dataclass(frozen=True)
class Sample:
    at: float
    count: int
    limit: int
    waiting: int
    state: str


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    kiosk: str
    type: str
    at: float
    payload: dict[str, Any]


class History:
    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self.conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        with self.conn:
            self.conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    # -- writes (the owner thread) --------------------------------------------------------
    def write(self, samples: Sequence[OccupancyIn], events: Sequence[EventIn], day_of: Any) -> None:
        """Store a batch in one transaction; ``day_of(datetime)`` gives the local day."""
        sample_rows = [(s.branch, day_of(s.at).isoformat(), s.at.timestamp(), s.count, s.limit,
                        s.waiting, s.state) for s in samples]
        event_rows = [(e.event_id, e.branch, e.kiosk, e.type, day_of(e.at).isoformat(),
                       e.at.timestamp(), json.dumps(e.payload, ensure_ascii=False))
                      for e in events]
        with self._lock, self.conn:
            self.conn.executemany(
                "INSERT INTO occupancy_samples VALUES (?, ?, ?, ?, ?, ?, ?)", sample_rows)
            self.conn.executemany(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", event_rows)

    def record_ack(self, event_id: str, operator: str, at: str) -> None:
        with self._lock, self.conn:
            self.conn.execute("INSERT OR IGNORE INTO alarm_acks VALUES (?, ?, ?)",
                              (event_id, operator, at))

    def record_command(self, command: CommandView) -> None:
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT INTO commands VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (command_id) DO UPDATE SET ok = excluded.ok, "
                "error = excluded.error, result_at = excluded.result_at",
                (command.command_id, command.branch, command.action,
                 json.dumps(command.args, ensure_ascii=False), command.issued_by,
                 command.issued_at, None if command.ok is None else int(command.ok),
                 command.error, command.result_at))

    def purge_before(self, day: date) -> None:
        cutoff = day.isoformat()
        with self._lock, self.conn:
            self.conn.execute("DELETE FROM occupancy_samples WHERE day < ?", (cutoff,))
            self.conn.execute("DELETE FROM events WHERE day < ?", (cutoff,))

    # -- reads ------------------------------------------------------------------------------
    def samples(self, branch: str, day: date) -> list[Sample]:
        with self._lock:
            rows = self.conn.execute(
                'SELECT at, count, "limit", waiting, state FROM occupancy_samples '
                "WHERE branch = ? AND day = ? ORDER BY at", (branch, day.isoformat())).fetchall()
        return [Sample(*row) for row in rows]

    def events(self, branch: str, day: date, types: Iterable[str] | None = None
               ) -> list[StoredEvent]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT event_id, kiosk, type, at, payload FROM events "
                "WHERE branch = ? AND day = ? ORDER BY at", (branch, day.isoformat())).fetchall()
        wanted = set(types) if types is not None else None
        return [StoredEvent(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows
                if wanted is None or r[2] in wanted]

    def alarms(self, day: date) -> list[Alarm]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT e.event_id, e.branch, e.kiosk, e.payload, a.operator, a.at FROM events e "
                "LEFT JOIN alarm_acks a USING (event_id) WHERE e.type = 'alarm' AND e.day = ? "
                "ORDER BY e.at", (day.isoformat(),)).fetchall()
        alarms = []
        for event_id, branch, kiosk, payload, operator, ack_at in rows:
            data = json.loads(payload)
            alarms.append(Alarm(event_id, branch, kiosk, str(data.get("kind")),
                                str(data.get("detail", "")), str(data.get("at")),
                                operator, ack_at))
        return alarms

    def checkin_counts(self, day: date) -> dict[str, int]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT branch, count(*) FROM events WHERE type = 'checkin' AND day = ? "
                "GROUP BY branch", (day.isoformat(),)).fetchall()
        return {branch: count for branch, count in rows}

    def event_ids(self, day: date) -> list[str]:
        with self._lock:
            rows = self.conn.execute("SELECT event_id FROM events WHERE day >= ?",
                                     (day.isoformat(),)).fetchall()
        return [r[0] for r in rows]

    # -- Home Assistant entities --------------------------------------------------------------
    def ha_entities(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self.conn.execute("SELECT topic FROM ha_entities")}

    def set_ha_entities(self, added: Iterable[str], removed: Iterable[str]) -> None:
        with self._lock, self.conn:
            self.conn.executemany("INSERT OR IGNORE INTO ha_entities VALUES (?)",
                                  [(t,) for t in added])
            self.conn.executemany("DELETE FROM ha_entities WHERE topic = ?",
                                  [(t,) for t in removed])


def local_day(at: datetime, zone: Any) -> date:
    return at.astimezone(zone).date()
