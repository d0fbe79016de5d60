"""The printer worker: its own thread, printing queued slips in order.

The check-in path only enqueues (and may call `wake()`); it never waits for the printer.
A job is marked printed only after the printer took the whole slip and answered a status
query sent after it; anything less leaves the job queued, to be tried again with backoff.

Delivery is at least once: a slip is printed twice only if the link dies in the moment
between the printer receiving the slip's last byte and its answer to the status query.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from kiosk.printing.backends import PrinterUnavailableError, SlipPrinter
from kiosk.printing.queue import PrintJob, PrintQueue
from kiosk.printing.slip import SlipFormatError
from kiosk.printing.status import PrinterStatus

logger = logging.getLogger(__name__)

Outcome = Literal["printed", "failed", "abandoned"]


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one attempt at one job."""

    job_id: int
    ticket: str
    outcome: Outcome
    attempts: int
    error: str | None = None


Notification = PrinterStatus | JobOutcome


@dataclass(frozen=True)
class Backoff:
    """Delay before the next try after `failures` failures in a row: doubling, capped."""

    first_s: float = 0.5
    max_s: float = 30.0

    def delay_s(self, failures: int) -> float:
        return min(self.max_s, self.first_s * 2 ** max(0, failures - 1))


class PrinterWorker:
    """Prints queued jobs on its own thread and reports through `notify` (called on that
    thread; it must return quickly and must not call back into the worker's queue)."""

    def __init__(
        self,
        open_queue: Callable[[], PrintQueue],
        printer: SlipPrinter,
        notify: Callable[[Notification], None],
        clock: Callable[[], datetime],
        *,
        backoff: Backoff | None = None,
        poll_interval_s: float = 1.0,
        status_interval_s: float = 30.0,
    ) -> None:
        # The queue is opened on the worker thread: SQLite connections stay on their thread.
        self._open_queue = open_queue
        self._printer = printer
        self._notify = notify
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._poll_interval_s = poll_interval_s
        self._status_interval_s = status_interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_status: PrinterStatus | None = None
        self._connected = False
        self._failures = 0

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the printer worker is already running")
        self._thread = threading.Thread(target=self._run, name="printer-worker", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the current attempt and stop; queued jobs stay queued."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.error("printer worker did not stop within %.1f s", timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        queue = self._open_queue_until_stopped()
        if queue is None:
            return
        idle_since_status = self._status_interval_s  # check the printer at start
        try:
            while not self._stop.is_set():
                job = self._next_job(queue)
                if job is not None:
                    idle_since_status = 0.0
                    if not self._attempt_safely(queue, job):
                        # Not cut short by wake(): a busy morning must not hammer a dead printer.
                        self._stop.wait(self._backoff.delay_s(self._failures))
                    continue
                self._disconnect()
                if idle_since_status >= self._status_interval_s:
                    self._check_idle_status()
                    idle_since_status = 0.0
                self._pause(self._poll_interval_s)
                idle_since_status += self._poll_interval_s
        finally:
            self._disconnect()

    def _open_queue_until_stopped(self) -> PrintQueue | None:
        failures = 0
        while not self._stop.is_set():
            try:
                return self._open_queue()
            except Exception as exc:
                failures += 1
                logger.exception("opening the print queue failed; trying again")
                self._report(PrinterStatus("error", f"print queue unavailable: {exc!r}"))
                self._stop.wait(self._backoff.delay_s(failures))
        return None

    def _next_job(self, queue: PrintQueue) -> PrintJob | None:
        try:
            return queue.next_queued()
        except Exception:
            logger.exception("reading the print queue failed; trying again")
            return None

    def _attempt_safely(self, queue: PrintQueue, job: PrintJob) -> bool:
        try:
            return self._attempt(queue, job)
        except Exception as exc:
            # A bug or a store failure must not end the thread; the job stays queued.
            logger.exception("printing ticket %s (job %d) failed unexpectedly", job.ticket, job.id)
            error = f"printing failed unexpectedly: {exc!r}"
            self._report(PrinterStatus("error", error))
            try:
                self._fail(queue, job, error)
            except Exception:
                logger.exception("recording the failure of job %d failed too", job.id)
                self._failures += 1
            return False

    def _attempt(self, queue: PrintQueue, job: PrintJob) -> bool:
        """One try at one job; False if the printer failed and the worker should back off."""
        try:
            slip = job.slip()
        except SlipFormatError as exc:
            error = f"damaged slip, cannot print: {exc}"
            queue.abandon(job.id, error)
            self._tell(JobOutcome(job.id, job.ticket, "abandoned", job.attempts, error))
            return True
        try:
            self._connect()
            before = self._printer.status()
            self._report(before)
            if not before.can_print:
                raise PrinterUnavailableError(before.detail)
            after = self._printer.print_slip(slip)
        except PrinterUnavailableError as exc:
            self._fail(queue, job, str(exc))
            return False
        queue.mark_printed(job.id, self._clock())
        self._failures = 0
        logger.info("printed ticket %s (job %d)", job.ticket, job.id)
        self._tell(JobOutcome(job.id, job.ticket, "printed", queue.job(job.id).attempts))
        self._report(after)
        return True

    def _fail(self, queue: PrintQueue, job: PrintJob, error: str) -> None:
        self._disconnect()
        self._failures += 1
        attempts = queue.record_failure(job.id, error)
        logger.warning(
            "ticket %s (job %d) not printed, try %d: %s", job.ticket, job.id, attempts, error
        )
        self._tell(JobOutcome(job.id, job.ticket, "failed", attempts, error))
        if self._last_status is None or self._last_status.can_print:
            self._report(PrinterStatus("offline", error))

    def _check_idle_status(self) -> None:
        try:
            self._connect()
            self._report(self._printer.status())
        except PrinterUnavailableError as exc:
            self._report(PrinterStatus("offline", str(exc)))
        except Exception as exc:
            logger.exception("reading the printer's status failed unexpectedly")
            self._report(PrinterStatus("error", f"status check failed unexpectedly: {exc!r}"))
        finally:
            self._disconnect()

    def _connect(self) -> None:
        if not self._connected:
            self._printer.open()
            self._connected = True

    def _disconnect(self) -> None:
        if self._connected:
            self._connected = False
            self._printer.close()

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _report(self, status: PrinterStatus) -> None:
        if status != self._last_status:
            self._last_status = status
            logger.info("printer status: %s (%s)", status.state, status.detail)
            self._tell(status)

    def _tell(self, notification: Notification) -> None:
        try:
            self._notify(notification)
        except Exception:
            logger.exception("the print notification handler failed")
