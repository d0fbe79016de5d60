"""A network thermal printer on 127.0.0.1 for tests: it answers DLE EOT status queries,
records every complete job (ESC @ ... GS V), and can refuse, hang or drop connections.

A job counts as printed only once its cut command arrived; a connection that dies mid-job
leaves nothing printed, like a real printer whose buffer is lost when it is switched off.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DLE_EOT = b"\x10\x04"
JOB_START = b"\x1b@"
CUT = b"\x1dV"
QR_STORE = re.compile(rb"\x1d\(k(.)(.)1P0", re.DOTALL)
READY = 0x12  # a DLE EOT reply with only the fixed bits: all is well


@dataclass
class StatusBytes:
    printer: int = READY  # reply to DLE EOT 1
    offline_cause: int = READY  # DLE EOT 2
    paper: int = READY  # DLE EOT 4

    def reply(self, n: int) -> bytes:
        return bytes([{1: self.printer, 2: self.offline_cause, 4: self.paper}.get(n, READY)])


@dataclass
class Fault:
    """Once `after_jobs` jobs are printed, the next job to start triggers `mode` for `seconds`."""

    after_jobs: int
    mode: str  # "refuse" | "hang" | "drop"
    seconds: float


@dataclass
class PrinterServer:
    status: StatusBytes = field(default_factory=StatusBytes)
    answers_status: bool = True
    jobs: list[bytes] = field(default_factory=list)
    connections: int = 0
    discarded_partial_jobs: int = 0
    stray_bytes: int = 0
    faults: list[Fault] = field(default_factory=list)
    port: int = 0
    mode: str = "ok"

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._listener: socket.socket | None = None
        self._open_sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._listen()

    # ----- what tests ask -------------------------------------------------------------

    def tickets(self) -> list[str]:
        with self._lock:
            return [ticket_id_of(job) for job in self.jobs]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.05))
        return True

    def wait_for_jobs(self, count: int, timeout_s: float) -> bool:
        return self.wait_for(lambda: len(self.jobs) >= count, timeout_s)

    # ----- what tests do to the printer -----------------------------------------------

    def set_mode(self, mode: str) -> None:
        """ok: serve; refuse: no listener; hang: accept and never read; drop: accept, close."""
        with self._lock:
            self.mode = mode
            if mode == "refuse":
                self._close_everything()
            else:
                if mode == "ok":
                    self._close_open_sockets()  # hung connections end; their data is lost
                if self._listener is None and not self._closed:
                    self._listen()
            self._lock.notify_all()

    def outage(self, mode: str, seconds: float) -> None:
        self.set_mode(mode)
        timer = threading.Timer(seconds, self._end_outage)
        timer.daemon = True
        timer.start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close_everything()
        for thread in self._threads:
            thread.join(2)

    # ----- the printer ----------------------------------------------------------------

    def _end_outage(self) -> None:
        if not self._closed:
            self.set_mode("ok")

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept_loop, listener)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if listener.fileno() < 0:
                    return
                continue
            except OSError:
                return  # listener closed: the printer went away
            conn.settimeout(None)
            with self._lock:
                self.connections += 1
                mode = self.mode
                self._open_sockets.append(conn)
                self._lock.notify_all()
            if mode == "drop":
                self._forget(conn)
            elif mode == "ok":
                self._spawn(self._serve, conn)
            # "hang": keep the socket open, never read it

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    if buffer.startswith(JOB_START):
                        self.discarded_partial_jobs += 1
                self._forget(conn)
                return
            buffer += chunk
            buffer, keep_going = self._handle(conn, buffer)
            if not keep_going:
                return

    def _handle(self, conn: socket.socket, buffer: bytes) -> tuple[bytes, bool]:
        """Consume what is complete in `buffer`; False when this connection is finished."""
        with self._lock:
            while buffer:
                if self.mode != "ok":
                    return b"", self._stop_serving(conn)
                if buffer.startswith(DLE_EOT):
                    if len(buffer) < 3:
                        break
                    if self.answers_status:
                        conn.sendall(self.status.reply(buffer[2]))
                    buffer = buffer[3:]
                elif buffer.startswith(JOB_START):
                    if self._fault_due():
                        self.discarded_partial_jobs += 1
                        return b"", self._stop_serving(conn)
                    end = buffer.find(CUT)
                    if end < 0 or len(buffer) < end + 3:
                        break
                    self.jobs.append(buffer[: end + 3])
                    self._lock.notify_all()
                    buffer = buffer[end + 3 :]
                else:
                    self.stray_bytes += 1
                    buffer = buffer[1:]
            return buffer, True

    def _fault_due(self) -> bool:
        if not self.faults or len(self.jobs) < self.faults[0].after_jobs:
            return False
        fault = self.faults.pop(0)
        # Outside the lock: set_mode takes it, and the timer thread ends the outage.
        threading.Thread(target=self.outage, args=(fault.mode, fault.seconds), daemon=True).start()
        self.mode = fault.mode  # this connection stops now
        return True

    def _stop_serving(self, conn: socket.socket) -> bool:
        """A hanging printer keeps the connection open and unread; otherwise it is closed."""
        if self.mode != "hang":
            self._forget(conn)
        return False

    def _forget(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.close()
        with self._lock:
            if conn in self._open_sockets:
                self._open_sockets.remove(conn)

    def _close_open_sockets(self) -> None:
        for conn in self._open_sockets:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._open_sockets.clear()

    def _close_everything(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        self._close_open_sockets()


def ticket_id_of(job: bytes) -> str:
    """The QR payload (the ticket id) stored by GS ( k ... 1 P 0 in a job."""
    match = QR_STORE.search(job)
    if match is None:
        raise ValueError("job has no QR code")
    length = match.group(1)[0] + 256 * match.group(2)[0] - 3
    start = match.end()
    return job[start : start + length].decode("utf-8")
