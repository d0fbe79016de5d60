"""Fixtures for the printing tests: a store file with `print_jobs`, a TCP printer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from escpos_printer_server import PrinterServer

from kiosk.printing.queue import PrintQueue, create_print_jobs_table


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A store file holding `print_jobs` exactly as the store's migration creates it."""
    path = tmp_path / "kiosk.db"
    create_print_jobs_table(sqlite_utils.Database(path))
    return path


@pytest.fixture
def queue(db_path: Path) -> PrintQueue:
    return PrintQueue(sqlite_utils.Database(db_path))


@pytest.fixture
def printer_server() -> Iterator[PrinterServer]:
    server = PrinterServer()
    yield server
    server.close()
