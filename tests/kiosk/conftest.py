"""Shared fixtures: a real SQLite store on disk, a branch's settings and a config file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w

from kiosk.bookings import Booking, parse_booking
from kiosk.settings import BranchSettings, parse_branch_settings
from kiosk.store import Store

WARSAW = ZoneInfo("Europe/Warsaw")

BRANCH_SETTINGS: dict[str, Any] = {
    "version": 1,
    "name": "POK Kraków, ul. Łagiewnicka 60",
    "timezone": "Europe/Warsaw",
    "limit": 3,
    "opening_hours": {
        "mon": [["09:00", "18:00"]],
        "tue": [["09:00", "18:00"]],
        "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]],
        "fri": [["09:00", "18:00"]],
        "sat": [["09:00", "14:00"]],
        "sun": [],
    },
    "closed_dates": ["2026-12-24"],
    "checkin_window": {"early_min": 30, "late_min": 15},
    "walk_ins": False,
}


def make_settings(**overrides: Any) -> BranchSettings:
    settings, problems = parse_branch_settings({**BRANCH_SETTINGS, **overrides})
    assert settings is not None, problems
    return settings


def booking_json(
    booking_id: str, code: str, starts_at: datetime, **overrides: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "booking_id": booking_id,
        "code": code,
        "starts_at": starts_at.isoformat(timespec="seconds"),
        "duration_min": 15,
        "service": {
            "id": "contracts",
            "ticket_prefix": "A",
            "name": {"pl": "Umowy", "en": "Contracts"},
        },
        "party_size": 1,
        "display_name": "Anna K.",
        "status": "booked",
        "version": 1,
    }
    data.update(overrides)
    return data


def make_booking(booking_id: str, code: str, starts_at: datetime, **overrides: Any) -> Booking:
    return parse_booking(booking_json(booking_id, code, starts_at, **overrides))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "kiosk.sqlite3")
    yield s
    s.close()


def write_config(directory: Path, **tables: dict[str, Any]) -> Path:
    """A kiosk TOML file with a complete, valid configuration; tables replace sections."""
    branch = {key: value for key, value in BRANCH_SETTINGS.items() if key != "version"}
    document: dict[str, Any] = {
        "kiosk": {"branch": "krakow-1", "id": "krakow-1-k1"},
        "paths": {"data_dir": "data", "spool_dir": "spool"},
        "door": {"enabled": False},
        "printer": {"backend": "dummy"},
        "mqtt": {"enabled": False},
        "branch": branch,
        **tables,
    }
    path = directory / "kiosk.toml"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


def monday(hour: int, minute: int = 0) -> datetime:
    """Monday 23 November 2026, local time in Warsaw (UTC+1)."""
    return datetime(2026, 11, 23, hour, minute, tzinfo=WARSAW)


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
