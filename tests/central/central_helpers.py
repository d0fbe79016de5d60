"""Bookings, events and a running central for central's tests, shaped as the contract says."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from central.mqtt_link import BrokerSettings, MqttLink
from central.service import CentralService
from central.store import CentralStore
from central.topics import Topics

WARSAW = ZoneInfo("Europe/Warsaw")

BRANCH_CONFIG: dict[str, Any] = {
    "version": 1,
    "name": "POK Kraków, ul. Łagiewnicka 60",
    "timezone": "Europe/Warsaw",
    "limit": 12,
    "opening_hours": {
        "mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]], "sat": [["09:00", "14:00"]],
        "sun": [],
    },
    "closed_dates": ["2026-12-24", "2026-12-25"],
    "checkin_window": {"early_min": 30, "late_min": 15},
    "walk_ins": False,
}


def monday(hour: int, minute: int = 0) -> datetime:
    """Monday 23 November 2026, local time in Warsaw (UTC+1)."""
    return datetime(2026, 11, 23, hour, minute, tzinfo=WARSAW)


def booking_json(booking_id: str, code: str, starts_at: datetime, **overrides: Any) -> dict:
    data: dict[str, Any] = {
        "booking_id": booking_id, "code": code,
        "starts_at": starts_at.isoformat(timespec="seconds"), "duration_min": 15,
        "service": {"id": "contracts", "ticket_prefix": "A",
                    "name": {"pl": "Umowy", "en": "Contracts"}},
        "party_size": 1, "display_name": "Anna K.", "status": "booked", "version": 1,
    }
    data.update(overrides)
    return data


def event_json(event_type: str = "checkin", **fields: Any) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "checkin": {"booking_id": "b-1", "ticket": "A017", "party_size": 1,
                    "outcome": "admitted"},
        "passage": {"direction": "in", "count_after": 3},
        "alarm": {"kind": "tailgate", "detail": "two people, one check-in"},
    }
    return {"event_id": str(uuid.uuid4()), "type": event_type,
            "at": monday(10, 31).isoformat(), **defaults.get(event_type, {}), **fields}


BRANCH = "krakow-1"
KIOSK = "k1"
TOPICS = Topics()


def start_central(store: CentralStore, port: int,
                  client_id: str = "central-test") -> CentralService:
    link = MqttLink(BrokerSettings(port=port, client_id=client_id), TOPICS.subscriptions())
    service = CentralService(store, link, TOPICS, publish_interval_s=0.1)
    service.start()
    assert link.wait_ready(10), "central did not connect and subscribe"
    return service
