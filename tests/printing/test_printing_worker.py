"""The printer worker against a TCP printer on 127.0.0.1 that refuses, hangs and drops."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import sqlite_utils
from escpos_printer_server import Fault, PrinterServer
from printing_helpers import (
    Notifications,
    make_slip,
    network_config,
    open_queue_on,
    start_worker,
    warsaw_now,
)

from kiosk.printing.backends import EscposSlipPrinter, make_slip_printer
from kiosk.printing.queue import PrintQueue
from kiosk.printing.slip import Slip
from kiosk.printing.status import PrinterStatus
from kiosk.printing.worker import Backoff, JobOutcome, Notification, PrinterWorker

PAPER_END = 0x12 | 0x60
PAPER_NEAR_END = 0x12 | 0x0C
COVER_OPEN = 0x12 | 0x04
OFFLINE = 0x12 | 0x08


def outcomes(items: list[Notification], outcome: str) -> list[JobOutcome]:
    return [item for item in items if isinstance(item, JobOutcome) and item.outcome == outcome]


def states(items: list[Notification]) -> list[str]:
    return [item.state for item in items if isinstance(item, PrinterStatus)]


def enqueue(queue: PrintQueue, count: int, first: int = 1) -> list[str]:
    tickets = [f"A{number:03d}" for number in range(first, first + count)]
    for ticket in tickets:
        queue.enqueue(make_slip(ticket), "checkin", warsaw_now())
    return tickets


def ticket_ids(tickets: list[str]) -> list[str]:
    return [make_slip(ticket).ticket_id for ticket in tickets]


def test_queued_slips_print_in_order(
    db_path: Path, queue: PrintQueue, printer_server: PrinterServer
) -> None:
    tickets = enqueue(queue, 3)
    seen = Notifications()
    worker = start_worker(db_path, EscposSlipPrinter(network_config(printer_server)), seen)
    try:
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 3, 10)
    finally:
        worker.stop()
    assert printer_server.tickets() == ticket_ids(tickets)
    assert queue.counts() == {"queued": 0, "printed": 3, "abandoned": 0}
    assert states(seen.snapshot()) == ["ok"]
    assert printer_server.stray_bytes == 0  # every byte was a status query or part of a job


@pytest.mark.parametrize("mode", ["refuse", "hang", "drop"])
def test_queue_survives_a_printer_that_is_away_and_prints_all_when_back(
    mode: str, db_path: Path, queue: PrintQueue, printer_server: PrinterServer
) -> None:
    printer_server.set_mode(mode)
    seen = Notifications()
    worker = start_worker(db_path, EscposSlipPrinter(network_config(printer_server)), seen)
    try:
        started = time.monotonic()
        tickets = enqueue(queue, 5)
        worker.wake()
        # The check-in path only writes to the store; it never waits for the printer.
        assert time.monotonic() - started < 0.5
        assert seen.wait_for(lambda items: len(outcomes(items, "failed")) >= 3, 10)
        assert printer_server.jobs == []
        assert queue.counts()["queued"] == 5
        assert "offline" in states(seen.snapshot())
        printer_server.set_mode("ok")
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 5, 10)
    finally:
        worker.stop()
    assert printer_server.tickets() == ticket_ids(tickets)
    assert queue.counts() == {"queued": 0, "printed": 5, "abandoned": 0}
    assert states(seen.snapshot())[-1] == "ok"
    first = queue.job(1)
    assert first.attempts >= 4 and first.last_error  # failures were counted on the first job


@pytest.mark.parametrize("mode", ["refuse", "hang", "drop"])
def test_printer_failing_in_the_middle_of_a_slip_loses_nothing(
    mode: str, db_path: Path, queue: PrintQueue
) -> None:
    server = PrinterServer(faults=[Fault(after_jobs=2, mode=mode, seconds=0.5)])
    seen = Notifications()
    worker = start_worker(db_path, EscposSlipPrinter(network_config(server)), seen)
    try:
        tickets = enqueue(queue, 5)
        worker.wake()
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 5, 15)
    finally:
        worker.stop()
        server.close()
    assert server.tickets() == ticket_ids(tickets)
    assert server.discarded_partial_jobs >= 1  # the third slip really was cut off once
    assert outcomes(seen.snapshot(), "failed")
    assert queue.counts()["printed"] == 5


@pytest.mark.slow
def test_fifty_slips_while_the_printer_goes_away_and_comes_back(
    db_path: Path, queue: PrintQueue
) -> None:
    faults = [
        Fault(after_jobs=8, mode="refuse", seconds=0.4),
        Fault(after_jobs=20, mode="hang", seconds=0.4),
        Fault(after_jobs=33, mode="drop", seconds=0.4),
        Fault(after_jobs=42, mode="refuse", seconds=0.3),
    ]
    server = PrinterServer(faults=faults)
    seen = Notifications()
    worker = start_worker(db_path, EscposSlipPrinter(network_config(server)), seen)
    tickets: list[str] = []
    try:
        for number in range(1, 51):  # customers keep checking in during the outages
            tickets += enqueue(queue, 1, first=number)
            worker.wake()
            time.sleep(0.01)
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 50, 60)
    finally:
        worker.stop()
        server.close()
    received = Counter(server.tickets())
    assert set(received) == set(ticket_ids(tickets))
    assert all(count == 1 for count in received.values()), received.most_common(3)
    assert server.tickets() == ticket_ids(tickets)  # and in check-in order
    assert server.faults == []  # every outage happened
    assert len(outcomes(seen.snapshot(), "failed")) >= 4
    assert queue.counts() == {"queued": 0, "printed": 50, "abandoned": 0}


@pytest.mark.parametrize(
    ("status_bytes", "state", "words"),
    [
        ({"paper": PAPER_END, "printer": OFFLINE}, "paper_out", "empty"),
        ({"offline_cause": COVER_OPEN, "printer": OFFLINE}, "error", "cover is open"),
        ({"printer": OFFLINE}, "offline", "offline"),
    ],
)
def test_printer_that_cannot_print_gets_no_slip_until_it_can(
    status_bytes: dict[str, int],
    state: str,
    words: str,
    db_path: Path,
    queue: PrintQueue,
    printer_server: PrinterServer,
) -> None:
    for name, value in status_bytes.items():
        setattr(printer_server.status, name, value)
    seen = Notifications()
    worker = start_worker(db_path, EscposSlipPrinter(network_config(printer_server)), seen)
    try:
        tickets = enqueue(queue, 2)
        worker.wake()
        assert seen.wait_for(lambda items: state in states(items), 5)
        assert seen.wait_for(lambda items: len(outcomes(items, "failed")) >= 2, 5)
        assert printer_server.jobs == []
        reported = [s for s in seen.snapshot() if isinstance(s, PrinterStatus)]
        status = next(s for s in reported if s.state == state)
        assert words in status.detail
        for name in status_bytes:
            setattr(printer_server.status, name, 0x12)
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 2, 10)
    finally:
        worker.stop()
    assert printer_server.tickets() == ticket_ids(tickets)
    assert states(seen.snapshot())[-1] == "ok"


def test_paper_low_is_reported_and_slips_still_print(
    db_path: Path, queue: PrintQueue, printer_server: PrinterServer
) -> None:
    printer_server.status.paper = PAPER_NEAR_END
    seen = Notifications()
    worker = start_worker(db_path, EscposSlipPrinter(network_config(printer_server)), seen)
    try:
        enqueue(queue, 1)
        worker.wake()
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 1, 10)
    finally:
        worker.stop()
    assert states(seen.snapshot()) == ["paper_low"]


def test_a_printer_that_never_answers_status_is_offline_not_fine(
    db_path: Path, queue: PrintQueue, printer_server: PrinterServer
) -> None:
    printer_server.answers_status = False
    seen = Notifications()
    worker = start_worker(db_path, EscposSlipPrinter(network_config(printer_server)), seen)
    try:
        enqueue(queue, 1)
        worker.wake()
        assert seen.wait_for(lambda items: len(outcomes(items, "failed")) >= 2, 10)
    finally:
        worker.stop()
    status = [s for s in seen.snapshot() if isinstance(s, PrinterStatus)]
    assert [s.state for s in status] == ["offline"]
    assert "did not answer" in status[0].detail and "unknown" in status[0].detail
    assert printer_server.jobs == [] and queue.counts()["queued"] == 1


def test_with_status_queries_off_a_silent_printer_still_prints(
    db_path: Path, queue: PrintQueue, printer_server: PrinterServer
) -> None:
    printer_server.answers_status = False
    seen = Notifications()
    config = network_config(printer_server, query_status=False)
    worker = start_worker(db_path, make_slip_printer(config), seen)
    try:
        tickets = enqueue(queue, 2)
        worker.wake()
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 2, 10)
    finally:
        worker.stop()
    assert printer_server.tickets() == ticket_ids(tickets)
    assert "status is not read" in next(
        s.detail for s in seen.snapshot() if isinstance(s, PrinterStatus)
    )


def test_idle_worker_watches_the_printer_status(
    db_path: Path, printer_server: PrinterServer
) -> None:
    seen = Notifications()
    worker = start_worker(
        db_path,
        EscposSlipPrinter(network_config(printer_server)),
        seen,
        status_interval_s=0.1,
    )
    try:
        assert seen.wait_for(lambda items: states(items) == ["ok"], 5)
        printer_server.status.paper = PAPER_NEAR_END
        assert seen.wait_for(lambda items: states(items) == ["ok", "paper_low"], 5)
    finally:
        worker.stop()
    assert printer_server.jobs == []


def test_a_damaged_slip_is_abandoned_loudly_and_the_next_one_prints(
    db_path: Path, queue: PrintQueue, printer_server: PrinterServer
) -> None:
    damaged = queue.enqueue(make_slip("A001"), "checkin", warsaw_now())
    sqlite_utils.Database(db_path).execute(
        "UPDATE print_jobs SET slip = ? WHERE id = ?", ['{"ticket": "A001"', damaged]
    )
    enqueue(queue, 1, first=2)
    seen = Notifications()
    worker = start_worker(db_path, EscposSlipPrinter(network_config(printer_server)), seen)
    try:
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 1, 10)
    finally:
        worker.stop()
    abandoned = outcomes(seen.snapshot(), "abandoned")
    assert [job.ticket for job in abandoned] == ["A001"]
    assert "not valid JSON" in (abandoned[0].error or "")
    assert printer_server.tickets() == ticket_ids(["A002"])
    assert queue.counts() == {"queued": 0, "printed": 1, "abandoned": 1}


def test_a_failing_notify_handler_does_not_stop_printing(
    db_path: Path, queue: PrintQueue, printer_server: PrinterServer
) -> None:
    def broken(item: Notification) -> None:
        raise RuntimeError("staff screen went away")

    worker = start_worker(
        db_path,
        EscposSlipPrinter(network_config(printer_server)),
        broken,
    )
    try:
        tickets = enqueue(queue, 2)
        worker.wake()
        assert printer_server.wait_for_jobs(2, 10)
    finally:
        worker.stop()
    assert printer_server.tickets() == ticket_ids(tickets)


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first_s=0.5, max_s=30.0)
    assert [backoff.delay_s(n) for n in (1, 2, 3, 4, 7, 50)] == [0.5, 1.0, 2.0, 4.0, 30.0, 30.0]


class CrashingOnce:
    """A printer whose first slip hits an unexpected bug; the job must survive it."""

    def __init__(self, inner: EscposSlipPrinter) -> None:
        self.inner = inner
        self.crashed = False

    def open(self) -> None:
        self.inner.open()

    def status(self) -> PrinterStatus:
        return self.inner.status()

    def print_slip(self, slip: Slip) -> PrinterStatus:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("bug in a renderer")
        return self.inner.print_slip(slip)

    def close(self) -> None:
        self.inner.close()


def test_an_unexpected_error_keeps_the_job_queued_and_reports_an_error(
    db_path: Path, queue: PrintQueue, printer_server: PrinterServer
) -> None:
    seen = Notifications()
    printer = CrashingOnce(EscposSlipPrinter(network_config(printer_server)))
    worker = start_worker(db_path, printer, seen)
    try:
        tickets = enqueue(queue, 1)
        worker.wake()
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 1, 10)
    finally:
        worker.stop()
    [failure] = outcomes(seen.snapshot(), "failed")
    assert "bug in a renderer" in (failure.error or "")
    assert states(seen.snapshot()) == ["ok", "error", "ok"]
    assert printer_server.tickets() == ticket_ids(tickets)
    assert queue.job(1).attempts == 2


def test_a_store_that_cannot_be_opened_is_reported_and_retried(
    db_path: Path, printer_server: PrinterServer
) -> None:
    seen = Notifications()
    tries: list[int] = []

    def open_queue() -> PrintQueue:
        tries.append(1)
        if len(tries) == 1:
            raise OSError("disk not mounted yet")
        return open_queue_on(db_path)

    queue = open_queue_on(db_path)
    tickets = enqueue(queue, 1)
    worker = PrinterWorker(
        open_queue,
        EscposSlipPrinter(network_config(printer_server)),
        seen,
        warsaw_now,
        backoff=Backoff(first_s=0.05, max_s=0.2),
        poll_interval_s=0.05,
    )
    worker.start()
    try:
        assert seen.wait_for(lambda items: len(outcomes(items, "printed")) == 1, 10)
    finally:
        worker.stop()
    assert states(seen.snapshot())[0] == "error"
    assert printer_server.tickets() == ticket_ids(tickets)
