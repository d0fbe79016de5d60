"""Check-in latency on a store holding 10,000 bookings, beside a durable SQLite commit.

The floor is what one check-in cannot beat: a single-row INSERT committed with
``synchronous=FULL`` in WAL mode on the same disk. The check-in does that one commit plus the
lookups, the rules, the ticket number, the occupancy placement and the outbox event.

    python bench/checkin.py [--bookings 10000] [--checkins 500] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from door_controller.events import PassedIn, PassedOut
from kiosk.admission import MachineAdmission, OccupancyHolder
from kiosk.bookings import parse_booking
from kiosk.checkin import CheckinService
from kiosk.codes import CROCKFORD_ALPHABET
from kiosk.settings import parse_branch_settings
from kiosk.store import Store

ZONE = ZoneInfo("Europe/Warsaw")


def code_for(i: int) -> str:
    digits = []
    for _ in range(8):
        i, rest = divmod(i, 32)
        digits.append(CROCKFORD_ALPHABET[rest])
    return "".join(digits)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class FloorCommit:
    """One durable single-row commit, the same way the store commits (WAL, FULL)."""

    def __init__(self, directory: Path) -> None:
        self.conn = sqlite3.connect(directory / "floor.db", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
        self.rows = 0

    def once(self) -> float:
        self.rows += 1
        start = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT INTO t (payload) VALUES (?)", [f"row {self.rows}"])
        self.conn.execute("COMMIT")
        return time.perf_counter() - start


def measure(directory: Path, bookings: int, rounds: int) -> tuple[list[float], list[float]]:
    """Check-ins and floor commits, interleaved so both see the same disk and machine load."""
    settings, problems = parse_branch_settings({
        "name": "Bench", "timezone": "Europe/Warsaw", "limit": 12,
        "opening_hours": {d: [["00:00", "23:59"]] for d in
                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "checkin_window": {"early_min": 720, "late_min": 720},
    })
    assert settings is not None, problems
    now = datetime.now(ZONE).replace(hour=12, minute=0, second=0, microsecond=0)
    store = Store(directory / "kiosk.sqlite3")
    feed = [parse_booking({
        "booking_id": f"b-{i}", "code": code_for(i + 1000),
        "starts_at": (now + timedelta(minutes=(i % 480) - 240)).isoformat(),
        "duration_min": 15,
        "service": {"id": "s", "ticket_prefix": "ABCDEFGH"[i % 8],
                    "name": {"pl": "Umowy", "en": "Contracts"}},
        "party_size": 1, "status": "booked", "version": 1,
    }) for i in range(bookings)]
    store.upsert_bookings(feed, now)
    holder = OccupancyHolder.from_store(store, settings.limit, door_present=False, now=now)
    service = CheckinService(store, lambda: settings,
                             MachineAdmission(holder, door_present=False))
    floor = FloorCommit(directory)
    samples, floor_samples = [], []
    for i in range(rounds):
        floor_samples.append(floor.once())
        start = time.perf_counter()
        result = service.check_in(code_for(i * 7 % bookings + 1000), now)
        samples.append(time.perf_counter() - start)
        assert result.accepted, result.event
        # Untimed: the customer walks in and another walks out, as at a real door, so the
        # occupancy stays the size of a real branch's instead of growing with every round.
        holder.machine.handle(PassedIn(), now)
        holder.machine.handle(PassedOut(), now)
    store.close()
    floor.conn.close()
    return samples, floor_samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--checkins", type=int, default=500)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the databases go (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        checkin, floor = measure(directory, args.bookings, args.checkins)
    report = {
        "bookings": args.bookings, "checkins": args.checkins,
        "floor_commit_ms": {"p50": percentile(floor, 0.5) * 1e3,
                            "p99": percentile(floor, 0.99) * 1e3},
        "checkin_ms": {"p50": percentile(checkin, 0.5) * 1e3,
                       "p99": percentile(checkin, 0.99) * 1e3,
                       "mean": statistics.fmean(checkin) * 1e3},
    }
    report["ratio_p99"] = report["checkin_ms"]["p99"] / report["floor_commit_ms"]["p99"]
    report["ratio_p50"] = report["checkin_ms"]["p50"] / report["floor_commit_ms"]["p50"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
