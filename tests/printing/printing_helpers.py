"""Helpers shared by the printing tests: slips, a notification collector, a worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from escpos_printer_server import PrinterServer

from kiosk.printing.config import PrinterConfig
from kiosk.printing.queue import PrintQueue
from kiosk.printing.slip import Slip, make_ticket_id
from kiosk.printing.worker import Backoff, Notification, PrinterWorker
from kiosk.store import Store

WARSAW = ZoneInfo("Europe/Warsaw")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "printing"
_opened_stores: list[Store] = []


def warsaw_now() -> datetime:
    return datetime.now(WARSAW)


def make_slip(
    ticket: str = "A017",
    *,
    language: str = "pl",
    instruction: str = "wait",
    branch_name: str = "Oddział Łódź Śródmieście",
    service_pl: str = "Zażółć gęślą jaźń",
    service_en: str = "Contracts and invoices",
    position_in_line: int | None = 3,
    footer: str | None = "Dziękujemy za wizytę",
    printed_at: datetime | None = None,
) -> Slip:
    printed = printed_at or datetime(2026, 11, 21, 10, 21, tzinfo=WARSAW)
    return Slip(
        branch_name=branch_name,
        ticket=ticket,
        service_name={"pl": service_pl, "en": service_en},
        language=language,  # type: ignore[arg-type]
        booking_starts_at=datetime(2026, 11, 21, 10, 30, tzinfo=WARSAW),
        instruction=instruction,  # type: ignore[arg-type]
        position_in_line=position_in_line,
        printed_at=printed,
        ticket_id=make_ticket_id("lodz-1", printed, ticket),
        footer=footer,
    )


class Notifications:
    """Collects what the worker reports, for waiting on with a deadline."""

    def __init__(self) -> None:
        self.items: list[Notification] = []
        self._changed = threading.Condition()

    def __call__(self, item: Notification) -> None:
        with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[Notification]], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate(self.items):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def snapshot(self) -> list[Notification]:
        with self._changed:
            return list(self.items)


def network_config(server: PrinterServer, **overrides: object) -> PrinterConfig:
    settings: dict[str, object] = {
        "backend": "network",
        "host": "127.0.0.1",
        "port": server.port,
        "profile": "TM-T88V",
        "paper_mm": 80,
        "timeout_s": 0.3,
    }
    settings.update(overrides)
    return PrinterConfig(**settings)  # type: ignore[arg-type]


def open_queue_on(db_path: Path) -> PrintQueue:
    """A queue on its own store connection, as the worker opens it on its thread."""
    store = Store(db_path)
    _opened_stores.append(store)
    return PrintQueue(store.db)


def close_opened_stores() -> None:
    while _opened_stores:
        _opened_stores.pop().close()


def start_worker(
    db_path: Path, printer: object, notifications: Callable[[Notification], None], **options: object
) -> PrinterWorker:
    worker = PrinterWorker(
        lambda: open_queue_on(db_path),
        printer,  # type: ignore[arg-type]
        notifications,
        warsaw_now,
        backoff=Backoff(first_s=0.05, max_s=0.2),
        poll_interval_s=0.05,
        **options,  # type: ignore[arg-type]
    )
    worker.start()
    return worker
