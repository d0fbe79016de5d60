"""The two sides as real processes: ``central serve`` and ``kiosk run --headless``.

The kiosk reads the real clock here, so its branch is open all day every day and bookings
are made for "now" with a wide check-in window.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from central.store import CentralStore, EventRecord, open_store
from kiosk.store import CheckinRecord, Store
from tests.brokerkit import terminate, wait_until
from tests.kiosk.conftest import BRANCH_SETTINGS, write_config
from tests.sync.kit import BRANCH, day_bookings

WARSAW = ZoneInfo("Europe/Warsaw")
BIN = Path(sys.executable).parent
ALL_DAY = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OPEN_BRANCH = {
    **{k: v for k, v in BRANCH_SETTINGS.items() if k != "version"},
    "limit": 500, "opening_hours": ALL_DAY, "closed_dates": [],
    "checkin_window": {"early_min": 720, "late_min": 720},
}


def today() -> date:
    return datetime.now(WARSAW).date()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


class CentralProcess:
    """``central serve`` on a SQLite file, with its log in the same directory."""

    def __init__(self, directory: Path, broker_port: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.db = directory / "central.sqlite3"
        self.broker_port = broker_port
        self.log = directory / "central.log"
        self.process: subprocess.Popen[bytes] | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "central"), *args, "--db", str(self.db)],
                              capture_output=True, text=True, timeout=60, env=_env())

    def import_bookings(self, bookings: list[dict[str, Any]]) -> None:
        path = self.directory / f"bookings-{len(bookings)}.json"
        path.write_text(json.dumps({"bookings": bookings}, ensure_ascii=False), encoding="utf-8")
        result = self.run("bookings", "import", str(path), "--branch", BRANCH)
        assert result.returncode == 0, result.stderr

    def set_config(self, config: dict[str, Any]) -> None:
        path = self.directory / "branch.json"
        path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        result = self.run("branches", "set-config", BRANCH, str(path))
        assert result.returncode == 0, result.stderr

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "central"), "serve", "--db", str(self.db), "--broker",
                 f"127.0.0.1:{self.broker_port}", "--publish-interval", "0.2"],
                stdout=log, stderr=subprocess.STDOUT, env=_env())

    def stop(self) -> None:
        terminate(self.process, timeout=15)

    @contextlib.contextmanager
    def store(self) -> Iterator[CentralStore]:
        store = open_store(str(self.db))
        try:
            yield store
        finally:
            store.close()

    def events(self, event_type: str | None = None) -> list[EventRecord]:
        with self.store() as store:
            events = store.events(branch=BRANCH, limit=1_000_000)
        return [e for e in events if event_type in (None, e.type)]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class KioskProcess:
    """``kiosk run --headless``: codes in on stdin, one JSON answer a line on stdout."""

    def __init__(self, directory: Path, broker_port: int, **mqtt: Any) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.config = write_config(
            directory, branch=OPEN_BRANCH,
            mqtt={"enabled": True, "host": "127.0.0.1", "port": broker_port,
                  "keepalive_s": 5, **mqtt})
        self.database = directory / "data" / "kiosk.sqlite3"
        self.log = directory / "kiosk.log"
        self.process: subprocess.Popen[str] | None = None
        self._answers: queue.Queue[str] = queue.Queue()

    def start(self) -> None:
        self._answers = queue.Queue()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "kiosk"), "run", "--headless", "--config", str(self.config)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                env=_env())
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout, self._answers),
                         daemon=True).start()

    @staticmethod
    def _read(stream: IO[str], answers: queue.Queue[str]) -> None:
        for line in stream:
            answers.put(line)

    def check_in(self, code: str, timeout: float = 15) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(code + "\n")
        self.process.stdin.flush()
        try:
            answer = json.loads(self._answers.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"no answer for {code} within {timeout} s:\n"
                                 f"{self.log_text()[-3000:]}") from None
        return dict(answer)

    def stop(self) -> None:
        """End of input: the kiosk stops cleanly (an offline status, then exit)."""
        if self.process is None or self.process.poll() is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL: no goodbye, nothing flushed that was not already on disk."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def _read_store(self, fn: Any) -> Any:
        store = Store(self.database)
        try:
            return fn(store)
        finally:
            store.close()

    def checkins(self) -> list[CheckinRecord]:
        return list(self._read_store(lambda s: s.checkins_on(today())))

    def outbox_size(self) -> int:
        return int(self._read_store(lambda s: s.outbox_size()))

    def booking_count(self) -> int:
        return int(self._read_store(lambda s: s.count_bookings()))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def bookings_for_now(count: int, prefix: str = "x") -> list[dict[str, Any]]:
    now = datetime.now(WARSAW).replace(second=0, microsecond=0)
    return day_bookings(count, start=now, prefix=prefix)


def assert_one_to_one(central: CentralProcess, kiosk: KioskProcess, expected: int) -> None:
    """Central's check-in events and the kiosk's check-ins match one to one."""
    kept = kiosk.checkins()
    stored = central.events("checkin")
    assert len(kept) == expected, f"the kiosk kept {len(kept)} check-ins, expected {expected}"
    by_id = {e.event_id: e for e in stored}
    assert len(by_id) == len(stored)
    assert set(by_id) == {c.event_id for c in kept}, "event ids differ between the two sides"
    for checkin in kept:
        event = by_id[checkin.event_id].payload
        assert (event["booking_id"], event["ticket"]) == (checkin.booking_id, checkin.ticket)
    booking_ids = [e.payload["booking_id"] for e in stored]
    assert len(booking_ids) == len(set(booking_ids)), "a check-in stored twice at central"


def wait_central_has(central: CentralProcess, count: int, timeout: float = 30) -> None:
    def enough() -> bool:
        return len(central.events("checkin")) >= count

    try:
        wait_until(enough, timeout, f"{count} check-ins at central", step=0.2)
    except AssertionError:
        raise AssertionError(f"central has {len(central.events('checkin'))} of {count} "
                             f"check-ins; its log:\n{central.log_text()[-3000:]}") from None
