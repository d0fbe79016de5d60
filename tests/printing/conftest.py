"""Fixtures for the printing tests: the kiosk's store (with `print_jobs`), a TCP printer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from escpos_printer_server import PrinterServer
from printing_helpers import close_opened_stores

from kiosk.printing.queue import PrintQueue
from kiosk.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    """A store file migrated by the kiosk's own store, so `print_jobs` is the real table."""
    path = tmp_path / "kiosk.db"
    Store(path).close()
    yield path
    close_opened_stores()


@pytest.fixture
def queue(db_path: Path) -> Iterator[PrintQueue]:
    store = Store(db_path)
    yield PrintQueue(store.db)
    store.close()


@pytest.fixture
def printer_server() -> Iterator[PrinterServer]:
    server = PrinterServer()
    yield server
    server.close()
