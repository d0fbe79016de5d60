"""Two check-ins of the same code at the same moment give exactly one ticket."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from kiosk.store import Store

from .conftest import booking_json, make_booking, make_settings, monday, write_config
from .test_checkin import service_for


def test_two_threads_same_code_one_ticket(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    seed = Store(path)
    seed.upsert_bookings([make_booking("b-1", "7KQ2M9XD", monday(10, 30))], monday(8))
    seed.close()
    settings = make_settings()
    barrier = threading.Barrier(2, timeout=10)
    results: list[dict[str, object]] = []
    lock = threading.Lock()

    def check_in() -> None:
        store = Store(path)  # each thread its own connection, as in the kiosk
        try:
            service = service_for(store, settings)
            barrier.wait()
            result = service.check_in("7KQ2M9XD", monday(10, 20))
            with lock:
                results.append(result.event)
        finally:
            store.close()

    threads = [threading.Thread(target=check_in) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(r["type"] for r in results) == ["checkin", "checkin_refused"]
    refused = next(r for r in results if r["type"] == "checkin_refused")
    assert refused["reason"] == "already_checked_in"
    check = Store(path)
    assert check.db.execute("SELECT count(*) FROM checkins").fetchone()[0] == 1
    check.close()


def test_two_processes_same_code_one_ticket(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"bookings": [booking_json("b-0", "AAAA0000", monday(10, 30))]}))
    kiosk = [sys.executable, "-m", "kiosk.cli"]
    subprocess.run(
        [*kiosk, "bookings", "import", "--config", str(config), str(feed)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    # Both processes start together and race for the same code, many times over.
    rounds = 5
    outcomes: list[tuple[int, int]] = []
    for round_number in range(rounds):
        code = "AAAA0000"
        if round_number:
            # A fresh booking for every round, so each round is a real race.
            feed.write_text(
                json.dumps(
                    {
                        "bookings": [
                            booking_json(
                                f"b-r{round_number}", f"RRRR000{round_number}", monday(10, 30)
                            )
                        ]
                    }
                )
            )
            subprocess.run(
                [*kiosk, "bookings", "import", "--config", str(config), str(feed)],
                check=True,
                capture_output=True,
                timeout=60,
            )
            code = f"RRRR000{round_number}"
        procs = [
            subprocess.Popen(
                [
                    *kiosk,
                    "checkin",
                    code,
                    "--json",
                    "--at",
                    "2026-11-23T10:20:00+01:00",
                    "--config",
                    str(config),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        codes = []
        for proc in procs:
            proc.wait(timeout=60)
            codes.append(proc.returncode)
        outcomes.append((codes.count(0), codes.count(1)))
    assert outcomes == [(1, 1)] * rounds
    store = Store(tmp_path / "data" / "kiosk.sqlite3")
    tickets = [r[0] for r in store.db.execute("SELECT ticket FROM checkins ORDER BY id")]
    store.close()
    assert tickets == [f"A{n:03d}" for n in range(1, rounds + 1)]
