"""The durable print queue over the store's print_jobs table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlite_utils
from printing_helpers import WARSAW, make_slip

from kiosk.printing.queue import PrintQueue, UnknownTicketError

NOW = datetime(2026, 11, 21, 10, 21, tzinfo=WARSAW)


def test_jobs_come_out_oldest_first_and_stay_until_printed(queue: PrintQueue) -> None:
    first = queue.enqueue(make_slip("A001"), "checkin", NOW)
    second = queue.enqueue(make_slip("A002"), "walk_in", NOW)
    job = queue.next_queued()
    assert job is not None and job.id == first and job.slip() == make_slip("A001")
    assert queue.record_failure(first, "connection refused") == 1
    assert queue.next_queued().id == first  # type: ignore[union-attr]  # a failure keeps its place
    queue.mark_printed(first, NOW)
    assert queue.next_queued().id == second  # type: ignore[union-attr]
    done = queue.job(first)
    assert (done.state, done.attempts, done.printed_at) == ("printed", 2, NOW.isoformat())
    assert done.last_error == "connection refused"
    assert queue.counts() == {"queued": 1, "printed": 1, "abandoned": 0}


def test_queue_survives_a_restart(db_path: Path) -> None:
    PrintQueue(sqlite_utils.Database(db_path)).enqueue(make_slip("A005"), "checkin", NOW)
    reopened = PrintQueue(sqlite_utils.Database(db_path))
    job = reopened.next_queued()
    assert job is not None and job.ticket == "A005" and job.created_at == NOW.isoformat()


def test_reprint_queues_the_latest_slip_again(queue: PrintQueue) -> None:
    original = queue.enqueue(make_slip("B010"), "checkin", NOW)
    queue.mark_printed(original, NOW)
    again = queue.reprint("B010", NOW)
    assert again != original
    job = queue.job(again)
    assert (job.reason, job.state, job.slip()) == ("reprint", "queued", make_slip("B010"))
    with pytest.raises(UnknownTicketError, match="'Z999'"):
        queue.reprint("Z999", NOW)


def test_a_printed_job_cannot_fail_or_print_again(queue: PrintQueue) -> None:
    job_id = queue.enqueue(make_slip(), "checkin", NOW)
    queue.mark_printed(job_id, NOW)
    with pytest.raises(ValueError, match="'printed', not 'queued'"):
        queue.mark_printed(job_id, NOW)
    with pytest.raises(ValueError, match="'printed'"):
        queue.record_failure(job_id, "late error")
    with pytest.raises(KeyError, match="999"):
        queue.mark_printed(999, NOW)


def test_abandoned_jobs_leave_the_queue_but_keep_their_reason(queue: PrintQueue) -> None:
    job_id = queue.enqueue(make_slip(), "checkin", NOW)
    queue.abandon(job_id, "damaged slip")
    assert queue.next_queued() is None
    assert queue.job(job_id).last_error == "damaged slip"
    assert queue.counts()["abandoned"] == 1


def test_bad_reason_and_naive_time_are_refused(queue: PrintQueue) -> None:
    with pytest.raises(ValueError, match="'lunch'"):
        queue.enqueue(make_slip(), "lunch", NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        queue.enqueue(make_slip(), "checkin", datetime(2026, 11, 21, 10, 0))
    assert queue.counts()["queued"] == 0
