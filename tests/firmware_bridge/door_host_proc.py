"""A minimal door link owner for the kill-and-restart test.

Stores every DeviceEvent in SQLite, commits, and only then acknowledges it.
On start it resumes from the newest stored cursor. Usage:
    python door_host_proc.py PORT DB_PATH
"""

from __future__ import annotations

import sqlite3
import sys
import threading

from firmware_bridge.driver import DoorLink
from firmware_bridge.notices import DeviceEvent, EventCursor, LinkNotice, LinkUp


def main(port: str, db_path: str) -> None:
    db = sqlite3.connect(db_path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # no uniqueness constraint on purpose: a duplicate delivery must show up in the test
    db.execute("CREATE TABLE IF NOT EXISTS events (boot_count INTEGER, event_id INTEGER, "
               "kind INTEGER, arg INTEGER)")
    db.commit()
    row = db.execute("SELECT boot_count, event_id FROM events "
                     "ORDER BY boot_count DESC, event_id DESC LIMIT 1").fetchone()
    resume = EventCursor(*row) if row else None
    link: DoorLink | None = None

    def notify(notice: LinkNotice) -> None:
        if isinstance(notice, DeviceEvent):
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?)",
                       (*notice.cursor, int(notice.kind), notice.arg))
            db.commit()
            assert link is not None
            link.acknowledge(notice.cursor)
        elif isinstance(notice, LinkUp):
            print("UP", flush=True)

    link = DoorLink(port, notify, resume=resume)
    link.start()
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
