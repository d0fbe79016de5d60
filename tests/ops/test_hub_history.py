"""The hub with its real SQLite history and central's real store (for today's bookings),
fed raw MQTT payloads as paho hands them over, on a clock the test sets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from central.ops.config import parse_config
from central.ops.history import History
from central.ops.hub import OpsHub
from central.store import open_store
from kiosk.bookings import parse_booking
from tests.brokerkit import wait_until
from tests.kiosk.conftest import booking_json

WARSAW = ZoneInfo("Europe/Warsaw")
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=WARSAW)
ROOT = "checkin/v1/branches/krk-1"


def make_hub(tmp_path: Path, store: Any = None) -> OpsHub:
    config = parse_config({"branches": {"krk-1": {"name": "Kraków", "region": "małopolskie"}}})
    hub = OpsHub(config, History(str(tmp_path / "history.sqlite3")), central_store=store,
                 clock=lambda: NOON)
    hub.start()
    return hub


def send(hub: OpsHub, leaf: str, payload: dict[str, Any] | bytes) -> None:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    hub.on_mqtt(f"{ROOT}/{leaf}", raw)


def at(hour: int, minute: int = 0) -> str:
    return NOON.replace(hour=hour, minute=minute).isoformat()


def event(event_id: str, event_type: str, when: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": event_type, "at": when, **fields}


def test_the_days_numbers_with_central_bookings_and_a_restart(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "central.sqlite3"))
    bookings = [
        booking_json("b-came", "AAAA1111", NOON.replace(hour=10)),
        booking_json("b-missed", "AAAA2222", NOON.replace(hour=11)),
        booking_json("b-later", "AAAA3333", NOON.replace(hour=15)),
        booking_json("b-cancelled", "AAAA4444", NOON.replace(hour=11), status="cancelled"),
        booking_json("b-other-day", "AAAA5555", NOON - timedelta(days=1)),
    ]
    store.upsert_bookings([("krk-1", parse_booking(b)) for b in bookings])
    hub = make_hub(tmp_path, store)
    try:
        for when, count, state in [(at(10), 3, "open"), (at(10, 30), 4, "full"),
                                   (at(11, 0), 3, "open")]:
            send(hub, "occupancy", {"count": count, "limit": 4, "waiting": 0, "state": state,
                                    "at": when})
        checkin = event("e-1", "checkin", at(10, 5), booking_id="b-came", ticket="A001",
                        party_size=1, outcome="waiting")
        send(hub, "kiosks/k1/events", checkin)
        send(hub, "kiosks/k1/events", checkin)  # duplicate
        send(hub, "kiosks/k1/events", event("e-2", "admitted", at(10, 15), ticket="A001",
                                            party_size=1))
        send(hub, "kiosks/k1/events", event("e-3", "passage", at(10, 16), direction="in",
                                            count_after=5))
        send(hub, "kiosks/k1/events", event("e-4", "alarm", at(10, 17), kind="tailgate",
                                            detail="dwie osoby"))
        send(hub, "kiosks/k1/events", b"\xff\xfe not utf-8")
        wait_until(lambda: hub.snapshot()["alarms"], 5, "the alarm")
    finally:
        hub.stop()
    numbers = hub.day_view("krk-1")["numbers"]
    assert numbers == {"checkins": 1, "no_shows": 1, "peak": 5,
                       "full_seconds": 1800.0, "average_wait_s": 600.0, "admitted": 1}
    assert hub.rejected["not_json"] == 1
    assert 'class="occupancy"' in hub.chart("krk-1", "Kraków")
    hub.history.close()

    again = make_hub(tmp_path, store)  # a restart: today's alarms and counts come back
    try:
        snapshot = again.snapshot()
        assert [a["event_id"] for a in snapshot["alarms"]] == ["e-4"]
        assert snapshot["branches"][0]["checkins"] == 1
        send(again, "kiosks/k1/events", event("e-4", "alarm", at(10, 17), kind="tailgate",
                                              detail="dwie osoby"))  # re-sent after restart
        assert again.acknowledge("e-4", "jkowalski")
        assert not again.acknowledge("e-404", "jkowalski")
        assert again.model.alarm_counts[("krk-1", "tailgate")] == 1
    finally:
        again.stop()
        again.history.close()
        store.close()


def test_no_shows_are_unknown_without_central_store(tmp_path: Path) -> None:
    hub = make_hub(tmp_path)
    try:
        view = hub.day_view("krk-1")
        assert view["no_shows_known"] is False and view["numbers"]["no_shows"] is None
    finally:
        hub.stop()
        hub.history.close()


def test_a_cleared_retained_status_takes_the_kiosk_off_the_tile(tmp_path: Path) -> None:
    hub = make_hub(tmp_path)
    try:
        send(hub, "kiosks/k1/status", {"online": False})
        wait_until(lambda: hub.snapshot()["branches"][0]["kiosks"], 5, "the kiosk")
        send(hub, "kiosks/k1/status", b"")  # the kiosk was decommissioned
        wait_until(lambda: not hub.snapshot()["branches"][0]["kiosks"], 5, "no kiosk")
        assert not hub.rejected
    finally:
        hub.stop()
        hub.history.close()
