"""DoorLink: the thin pyserial adapter around the sans-I/O HostLink.

One reader thread owns the port's lifecycle (open, read, reconnect with
backoff) and calls notify(); one writer thread writes. Public methods only
queue work, so they never block the caller on I/O.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

from .link import HostLink
from .messages import AckResult, EventKind, Mode
from .notices import (
    CommandResult,
    DeviceEvent,
    DeviceInfo,
    DeviceRebooted,
    DeviceStatus,
    EventCursor,
    EventGap,
    LinkDown,
    LinkNotice,
    LinkState,
    LinkUp,
)
from .port import open_port
from .usb import UsbMatch, find_port

__all__ = [
    "AckResult",
    "CommandResult",
    "DeviceEvent",
    "DeviceInfo",
    "DeviceRebooted",
    "DeviceStatus",
    "DoorLink",
    "EventCursor",
    "EventGap",
    "EventKind",
    "LinkDown",
    "LinkNotice",
    "LinkState",
    "LinkUp",
    "Mode",
    "UsbMatch",
]

logger = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.02  # also the timer resolution of retries and heartbeats
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 2.0
JOIN_TIMEOUT_S = 2.0


class DoorLink:
    def __init__(
        self,
        port: str | None,
        notify: Callable[[LinkNotice], None],
        *,
        resume: EventCursor | None = None,
        heartbeat_timeout_ms: int = 3000,
        usb_match: UsbMatch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not port and usb_match is None:
            raise ValueError("DoorLink needs a port (path or URL) or a usb_match to find the board")
        self._port_url = port or ""
        self._usb_match = usb_match
        self._notify = notify
        self._clock = clock
        self._link = HostLink(resume=resume, heartbeat_timeout_ms=heartbeat_timeout_ms)
        self._lock = threading.Lock()
        self._serial: Any = None
        self._generation = 0
        self._outbox: queue.SimpleQueue[tuple[int, bytes] | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._driver_counters = {"port_opens": 0, "port_open_failures": 0, "port_errors": 0,
                                 "write_errors": 0, "notify_errors": 0}

    # ----- the interface --------------------------------------------------
    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._read_loop, name="door-link-reader", daemon=True),
            threading.Thread(target=self._write_loop, name="door-link-writer", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._outbox.put(None)
        port = self._serial
        if port is not None and hasattr(port, "cancel_read"):
            # the port may be half closed by the reader already
            with contextlib.suppress(serial.SerialException, OSError, TypeError, AttributeError):
                port.cancel_read()
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT_S)
            if thread.is_alive():
                logger.warning("door link: %s did not stop within %.0f s", thread.name,
                               JOIN_TIMEOUT_S)
        self._threads = []

    def admit(self, count: int, window_ms: int) -> int:
        with self._lock:
            seq = self._link.admit(count, window_ms, self._clock())
            self._queue_output()
        return seq

    def set_mode(self, mode: Mode) -> int:
        with self._lock:
            seq = self._link.set_mode(Mode(mode), self._clock())
            self._queue_output()
        return seq

    def acknowledge(self, cursor: EventCursor) -> None:
        with self._lock:
            self._link.acknowledge(cursor, self._clock())
            self._queue_output()

    @property
    def state(self) -> LinkState:
        return self._link.state

    @property
    def counters(self) -> dict[str, int]:
        with self._lock:
            merged = dict(self._link.decoder_counters)
            merged.update(self._link.counters)
        merged.update(self._driver_counters)
        return merged

    # ----- the reader thread ----------------------------------------------
    def _read_loop(self) -> None:
        backoff = BACKOFF_FIRST_S
        while not self._stopping.is_set():
            if self._serial is None:
                if not self._open():
                    self._wait_closed(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            try:
                data = self._serial.read(max(1, self._serial.in_waiting))
                if data and self._serial.in_waiting:
                    # the rest of a frame usually lands with its first byte: take it in
                    # the same pass instead of another trip through the link state
                    data += self._serial.read(self._serial.in_waiting)
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial's posix read after a concurrent close
                self._drop_port(f"serial port error: {exc}")
                continue
            self._pump(data)
            if self._link.state is LinkState.UP:
                backoff = BACKOFF_FIRST_S
        self._drop_port("stopped")

    def _wait_closed(self, seconds: float) -> None:
        """Wait before the next open, still handing over notices (failed commands)."""
        deadline = self._clock() + seconds
        while not self._stopping.is_set():
            with self._lock:
                notices = self._link.pop_notices()
            self._hand_over(notices)
            left = deadline - self._clock()
            if left <= 0:
                return
            self._stopping.wait(min(left, READ_TIMEOUT_S * 2.5))

    def _pump(self, data: bytes) -> None:
        with self._lock:
            now = self._clock()
            if data:
                self._link.receive_data(data, now)
            self._link.tick(now)
            reconnect = self._link.reconnect_reason
            notices = self._link.pop_notices()
            self._queue_output()
        self._hand_over(notices)
        if reconnect:
            self._drop_port(reconnect)

    def _open(self) -> bool:
        url = self._port_url
        if not url and self._usb_match is not None:
            url = find_port(self._usb_match) or ""
            if not url:
                logger.info("door link: no USB board matches %s", self._usb_match)
                return False
        try:
            port = open_port(url, timeout=READ_TIMEOUT_S)
        except (serial.SerialException, OSError, ValueError) as exc:
            self._driver_counters["port_open_failures"] += 1
            logger.info("door link: cannot open %s yet: %s", url, exc)
            return False
        self._driver_counters["port_opens"] += 1
        with self._lock:
            self._generation += 1
            self._serial = port
            self._link.connection_made(self._clock())
            self._queue_output()
            notices = self._link.pop_notices()
        self._hand_over(notices)
        return True

    def _drop_port(self, reason: str) -> None:
        with self._lock:
            port, self._serial = self._serial, None
            self._generation += 1
            if self._link.state is not LinkState.DOWN:
                self._link.connection_lost(reason)
            notices = self._link.pop_notices()
        if port is not None:
            if reason != "stopped":
                self._driver_counters["port_errors"] += 1
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                logger.debug("door link: closing the port: %s", exc)
        self._hand_over(notices)

    def _hand_over(self, notices: list[LinkNotice]) -> None:
        for notice in notices:
            try:
                self._notify(notice)
            except Exception:
                self._driver_counters["notify_errors"] += 1
                logger.exception("door link: notify() raised on %r; carrying on", notice)

    # ----- the writer thread ----------------------------------------------
    def _queue_output(self) -> None:
        """Called with the lock held."""
        data = self._link.data_to_send()
        if data and self._serial is not None:
            self._outbox.put((self._generation, data))

    def _write_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                if self._stopping.is_set():
                    return
                continue
            generation, data = item
            port = self._serial
            if port is None or generation != self._generation:
                continue  # written for a connection that is gone
            try:
                port.write(data)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                self._driver_counters["write_errors"] += 1
                logger.info("door link: write failed: %s", exc)
