"""Assembling a running branch: the owner of state and the adapters around it.

The owner (``Branch``) runs on its own thread. Each adapter runs on its own thread too and
only posts to the owner: the printer worker, the door link's reader (with the door
controller), and the MQTT sync client. Start order: owner first, so that nothing an adapter
reports is lost; stop order: adapters first, owner last.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from kiosk.branch import Branch
from kiosk.config import KioskConfig
from kiosk.printing.backends import make_slip_printer
from kiosk.printing.queue import PrintQueue
from kiosk.printing.status import PrinterStatus
from kiosk.printing.worker import JobOutcome, Notification, PrinterWorker
from kiosk.store import Store

log = logging.getLogger(__name__)


class BranchRuntime:
    def __init__(self, config: KioskConfig, *, with_printer: bool = True,
                 with_door: bool = True, with_sync: bool = True) -> None:
        self.config = config
        self.branch = Branch(config)
        self._stores: list[Store] = []
        self.printer_worker: PrinterWorker | None = None
        self.adapters: list[Any] = []
        if with_printer:
            self.printer_worker = PrinterWorker(
                self._open_print_queue, make_slip_printer(config.printer), self._printer_report,
                lambda: datetime.now(self.branch.settings.zone),
            )
            self.branch.printer = self.printer_worker
        self._with_door = with_door and config.door.enabled
        self._with_sync = with_sync and config.mqtt.enabled

    def _open_print_queue(self) -> PrintQueue:
        store = Store(self.config.database_path)  # opened on the worker's own thread
        self._stores.append(store)
        return PrintQueue(store.db)

    def _printer_report(self, note: Notification) -> None:
        if isinstance(note, PrinterStatus):
            self.branch.post(lambda: self.branch.set_printer_state(note.state, note.detail))
        elif isinstance(note, JobOutcome) and note.outcome != "printed":
            log.warning("slip %s not printed yet: %s", note.ticket, note.error)

    def start(self) -> None:
        self.branch.start()
        if self.printer_worker is not None:
            self.printer_worker.start()
        if self._with_door:
            self._start_door()
        if self._with_sync:
            self._start_sync()

    def _start_door(self) -> None:
        from kiosk.door_adapter import attach_door

        self.adapters.append(attach_door(self.branch, self.config))

    def _start_sync(self) -> None:
        from kiosk.sync.runtime import attach_sync

        self.adapters.append(attach_sync(self.branch, self.config))

    def stop(self) -> None:
        for adapter in reversed(self.adapters):
            try:
                adapter.stop()
            except Exception:
                log.exception("an adapter did not stop cleanly")
        if self.printer_worker is not None:
            self.printer_worker.stop()
        self.branch.stop()
        for store in self._stores:
            store.close()
