"""Fixtures for central: both stores (a SQLite file, a throwaway PostgreSQL database) and
bookings and events shaped as the contract shapes them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from central.store import CentralStore, open_store

WARSAW = ZoneInfo("Europe/Warsaw")
ADMIN_DSN = os.environ.get("CENTRAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

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


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own for this test session, dropped at the end."""
    name = f"central_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {ADMIN_DSN} is needed for central's tests: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        admin.close()


@pytest.fixture
def pg_dsn(pg_database: str) -> Iterator[str]:
    """The session database, emptied before each test."""
    with psycopg.connect(pg_database, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
        for table in tables:
            conn.execute(f'DROP TABLE "{table}"'.encode())
    yield pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "central.sqlite3")
    dsn: str = request.getfixturevalue("pg_dsn")
    return dsn


@pytest.fixture
def store(store_target: str) -> Iterator[CentralStore]:
    s = open_store(store_target)
    yield s
    s.close()


# --- a central service and a kiosk-like client on a real broker ---------------------------

from tests.brokerkit import MosquittoBroker, MqttListener, mosquitto, tcp_relay  # noqa: E402, F401

from central.mqtt_link import BrokerSettings, MqttLink  # noqa: E402
from central.service import CentralService  # noqa: E402
from central.topics import Topics  # noqa: E402

BRANCH = "krakow-1"
KIOSK = "k1"
TOPICS = Topics()


def start_central(store: CentralStore, port: int, client_id: str = "central-test") -> CentralService:
    link = MqttLink(BrokerSettings(port=port, client_id=client_id),
                    TOPICS.subscriptions())
    service = CentralService(store, link, TOPICS, publish_interval_s=0.1)
    service.start()
    assert link.wait_ready(10), "central did not connect and subscribe"
    return service


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[CentralStore]:
    s = open_store(str(tmp_path / "central.sqlite3"))
    yield s
    s.close()


@pytest.fixture
def central(sqlite_store: CentralStore, mosquitto: MosquittoBroker) -> Iterator[CentralService]:
    service = start_central(sqlite_store, mosquitto.port)
    yield service
    service.stop()


@pytest.fixture
def kiosk(mosquitto: MosquittoBroker) -> Iterator[MqttListener]:
    """A client that publishes as kiosk k1 of krakow-1 would and hears its branch's topics."""
    listener = MqttListener(mosquitto.port, KIOSK, topics=(f"checkin/v1/branches/{BRANCH}/#",))
    yield listener
    listener.close()
