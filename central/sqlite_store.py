"""Central's store in one SQLite file, for a single ``central serve`` process (the default).

The schema is made with sqlite-utils. WAL lets readers (an operations page) work beside the
writer; ``synchronous=FULL`` makes every commit reach the disk before central acknowledges
what it stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from central.sql_store import SqlStore
from central.store import StoreError


def _create_schema(db: sqlite_utils.Database) -> None:
    db.table("bookings").create(
        {
            "booking_id": str, "branch": str, "code": str, "starts_at": str,
            "starts_epoch": float, "duration_min": int, "service_id": str,
            "ticket_prefix": str, "service_name_pl": str, "service_name_en": str,
            "party_size": int, "display_name": str, "status": str, "version": int,
            "published_version": int, "updated_at": str,
        },
        pk="booking_id",
        not_null={"branch", "code", "starts_at", "starts_epoch", "status", "version"},
        defaults={"published_version": -1},
        if_not_exists=True,
    )
    db.table("bookings").create_index(["branch", "starts_epoch"], if_not_exists=True)
    db.table("bookings").create_index(["code"], if_not_exists=True)
    db.table("branch_configs").create(
        {"branch": str, "config": str, "version": int, "published_version": int,
         "updated_at": str},
        pk="branch", defaults={"published_version": -1}, if_not_exists=True,
    )
    db.table("events").create(
        {"seq": int, "event_id": str, "branch": str, "kiosk": str, "type": str, "at": str,
         "payload": str, "received_at": str},
        pk="seq", not_null={"event_id", "branch", "kiosk", "type"}, if_not_exists=True,
    )
    db.table("events").create_index(["event_id"], unique=True, if_not_exists=True)
    db.table("events").create_index(["branch", "kiosk"], if_not_exists=True)
    db.table("quarantined_events").create(
        {"seq": int, "event_id": str, "branch": str, "kiosk": str, "reason": str,
         "detail": str, "payload": str, "received_at": str},
        pk="seq", if_not_exists=True,
    )
    db.table("quarantined_events").create_index(["event_id"], unique=True, if_not_exists=True)
    db.table("occupancy").create(
        {"branch": str, "count": int, "limit": int, "waiting": int, "state": str, "at": str,
         "at_epoch": float, "received_at": str},
        pk="branch", if_not_exists=True,
    )
    db.table("kiosk_status").create(
        {"branch": str, "kiosk": str, "online": int, "at": str, "at_epoch": float,
         "payload": str, "received_at": str},
        pk=("branch", "kiosk"), if_not_exists=True,
    )
    db.table("commands").create(
        {"seq": int, "command_id": str, "branch": str, "action": str, "args": str,
         "issued_by": str, "issued_at": str, "ok": int, "error": str, "result_at": str},
        pk="seq", if_not_exists=True,
    )
    db.table("commands").create_index(["command_id"], unique=True, if_not_exists=True)


class SqliteStore(SqlStore):
    def __init__(self, path: str | Path) -> None:
        super().__init__()
        try:
            conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self.db = sqlite_utils.Database(conn)
            with conn:
                _create_schema(self.db)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the SQLite store {path}: {exc}; check the path and its permissions"
            ) from exc

    def _cursor(self) -> Any:
        return self.db.conn.cursor()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.db.conn:
            yield

    def claim_publisher(self) -> bool:
        # One SQLite file serves one central process, which therefore always publishes.
        return True

    def is_transient(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.OperationalError)

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()
