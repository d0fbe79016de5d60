"""A kiosk configuration and a day of bookings for the screen's tests (no Kivy here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.bookings import parse_feed
from kiosk.config import KioskConfig, parse_config
from kiosk.staff import hash_pin
from kiosk.store import Store

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=WARSAW)  # a Monday, open 09:00-18:00
STAFF_PIN = "2468"
WEEK = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}

# code -> (booking id, minutes from NOW, status, service prefix)
CODES = {
    "ADMIT": ("7KQ2M9XD", "b-admit", 5, "booked", "A"),
    "WAIT": ("4HXR8T2N", "b-wait", 10, "booked", "B"),
    "EARLY": ("9ZW3KQ7M", "b-early", 120, "booked", "A"),
    "LATE": ("3MPD6VRC", "b-late", -60, "booked", "A"),
    "CANCELLED": ("8TGB2YJE", "b-cancel", 15, "booked", "A"),
    "OTHER": ("5NRF4WHA", "b-other", 0, "booked", "B"),
}
UNKNOWN_CODE = "6YYY6YYY"


def kiosk_config(directory: Path, *, limit: int = 3, printer: dict[str, Any] | None = None,
                 ui: dict[str, Any] | None = None, staff_inactivity_s: int = 120,
                 door_port: str | None = None) -> KioskConfig:
    raw: dict[str, Any] = {
        "kiosk": {"branch": "krakow-1", "id": "krakow-1-k1"},
        "paths": {"data_dir": "data", "spool_dir": "spool"},
        "door": {"enabled": True, "port": door_port} if door_port else {"enabled": False},
        "printer": printer or {"backend": "dummy"},
        "mqtt": {"enabled": False},
        "branch": {
            "name": "POK Kraków, ul. Łagiewnicka 60", "timezone": "Europe/Warsaw",
            "limit": limit, "opening_hours": {**WEEK, "sat": [], "sun": []},
            "checkin_window": {"early_min": 30, "late_min": 15}, "walk_ins": True,
        },
        "staff": {"pins": {"s-anna": hash_pin(STAFF_PIN, iterations=2000)},
                  "inactivity_s": staff_inactivity_s},
        "ui": ui or {"language": "pl", "inactivity_s": 30},
    }
    return parse_config(raw, source="ui-test", base_dir=directory)


def booking(code: str, booking_id: str, minutes: int, status: str, prefix: str,
            now: datetime = NOW) -> dict[str, Any]:
    return {
        "booking_id": booking_id, "code": code,
        "starts_at": (now + timedelta(minutes=minutes)).isoformat(timespec="seconds"),
        "duration_min": 15,
        "service": {"id": f"svc-{prefix}", "ticket_prefix": prefix,
                    "name": {"pl": "Umowy i płatności" if prefix == "A" else "Reklamacje",
                             "en": "Contracts and payments" if prefix == "A" else "Complaints"}},
        "party_size": 1, "status": "cancelled" if booking_id == "b-cancel" else status,
        "version": 1,
    }


def load_bookings(config: KioskConfig, now: datetime = NOW) -> None:
    feed = parse_feed({"bookings": [booking(*values, now=now) for values in CODES.values()]})
    assert not feed.errors, feed.errors
    store = Store(config.database_path)
    try:
        store.upsert_bookings(feed.bookings, now)
    finally:
        store.close()
