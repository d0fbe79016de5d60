"""Helpers shared by the door link tests (imported by name: tests have no packages)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from firmware_bridge.notices import DeviceEvent, LinkNotice

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
VECTORS = HERE.parents[1] / "firmware_bridge" / "vectors" / "frames.jsonl"


class Collector:
    """A DoorLink owner for tests: records notices, stores and acknowledges events."""

    def __init__(self) -> None:
        self.notices: list[LinkNotice] = []
        self.events: list[DeviceEvent] = []
        self._cond = threading.Condition()
        self.ack: Callable[[DeviceEvent], None] | None = None

    def __call__(self, notice: LinkNotice) -> None:
        with self._cond:
            self.notices.append(notice)
            if isinstance(notice, DeviceEvent):
                self.events.append(notice)
            self._cond.notify_all()
        if isinstance(notice, DeviceEvent) and self.ack is not None:
            self.ack(notice)

    def wait_for(self, predicate: Callable[[Collector], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"condition not met within {timeout} s; "
                                         f"last notices: {self.notices[-5:]}")
                self._cond.wait(min(left, 0.05))

    def of_type(self, cls: type) -> list[LinkNotice]:
        with self._cond:
            return [n for n in self.notices if isinstance(n, cls)]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.01)
