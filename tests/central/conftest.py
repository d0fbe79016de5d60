"""Fixtures for central: both stores (a SQLite file, a throwaway PostgreSQL database), a real
mosquitto, a running central service and a client that speaks as a kiosk."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from central.service import CentralService
from central.store import CentralStore, open_store
from tests.brokerkit import MosquittoBroker, MqttListener, mosquitto, tcp_relay  # noqa: F401  (pytest fixtures)
from tests.central.central_helpers import BRANCH, KIOSK, start_central

ADMIN_DSN = os.environ.get("CENTRAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


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


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[CentralStore]:
    s = open_store(str(tmp_path / "central.sqlite3"))
    yield s
    s.close()


@pytest.fixture
def central(sqlite_store: CentralStore,
            mosquitto: MosquittoBroker) -> Iterator[CentralService]:  # noqa: F811
    service = start_central(sqlite_store, mosquitto.port)
    yield service
    service.stop()


@pytest.fixture
def kiosk(mosquitto: MosquittoBroker) -> Iterator[MqttListener]:  # noqa: F811
    """A client that publishes as kiosk k1 of krakow-1 would and hears its branch's topics."""
    listener = MqttListener(mosquitto.port, KIOSK, topics=(f"checkin/v1/branches/{BRANCH}/#",))
    yield listener
    listener.close()
