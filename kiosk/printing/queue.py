"""The durable print queue: the store's `print_jobs` table (created by kiosk.store's migration).

A slip is enqueued by the check-in path (which never waits for the printer) and stays
'queued' until the worker has sent it without error; only then is it 'printed'. Jobs go out
in id order, so a failed job is retried before any later one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from kiosk.printing.slip import Slip

logger = logging.getLogger(__name__)

TABLE = "print_jobs"
REASONS = ("checkin", "reprint", "walk_in")
STATES = ("queued", "printed", "abandoned")


class UnknownTicketError(LookupError):
    """A reprint was asked for a ticket that was never queued."""


@dataclass(frozen=True)
class PrintJob:
    """One row of `print_jobs`. `slip_json` is decoded by the caller, who handles damage."""

    id: int
    created_at: str
    ticket: str
    reason: str
    slip_json: str
    state: str
    attempts: int
    last_error: str | None
    printed_at: str | None

    def slip(self) -> Slip:
        """The slip; raises SlipFormatError if the stored JSON is damaged."""
        return Slip.from_json(self.slip_json)


class PrintQueue:
    """Queue operations over one sqlite_utils.Database (use it from one thread only)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def enqueue(self, slip: Slip, reason: str, now: datetime) -> int:
        """Queue a slip; returns the job id."""
        if reason not in REASONS:
            raise ValueError(f"print reason {reason!r} must be one of {', '.join(REASONS)}")
        # sqlite-utils commits each write at once (or joins the caller's transaction).
        cursor = self.db.execute(
            "INSERT INTO print_jobs (created_at, ticket, reason, slip) VALUES (?, ?, ?, ?)",
            [_rfc3339(now), slip.ticket, reason, slip.to_json()],
        )
        job_id = cursor.lastrowid
        assert job_id is not None
        logger.info("queued print job %d for ticket %s (%s)", job_id, slip.ticket, reason)
        return job_id

    def next_queued(self) -> PrintJob | None:
        """The oldest job still waiting to be printed."""
        rows = self._select("state = 'queued' ORDER BY id LIMIT 1", [])
        return rows[0] if rows else None

    def job(self, job_id: int) -> PrintJob:
        rows = self._select("id = ?", [job_id])
        if not rows:
            raise KeyError(f"print job {job_id} does not exist")
        return rows[0]

    def mark_printed(self, job_id: int, now: datetime) -> None:
        """The slip went out without error. Only a queued job can become printed."""
        self._transition(
            "UPDATE print_jobs SET state = 'printed', printed_at = ?, attempts = attempts + 1 "
            "WHERE id = ? AND state = 'queued'",
            [_rfc3339(now), job_id],
            job_id,
        )

    def record_failure(self, job_id: int, error: str) -> int:
        """Count a failed attempt; the job stays queued. Returns the attempts so far.

        `attempts` counts every try, the successful one included; `last_error` keeps the
        latest failure even after the job printed, for the staff screen's history."""
        self._transition(
            "UPDATE print_jobs SET attempts = attempts + 1, last_error = ? "
            "WHERE id = ? AND state = 'queued'",
            [error, job_id],
            job_id,
        )
        return self.job(job_id).attempts

    def abandon(self, job_id: int, error: str) -> None:
        """Give up on a job that can never print (e.g. its slip is damaged); staff can reprint."""
        self._transition(
            "UPDATE print_jobs SET state = 'abandoned', last_error = ? "
            "WHERE id = ? AND state = 'queued'",
            [error, job_id],
            job_id,
        )
        logger.warning("abandoned print job %d: %s", job_id, error)

    def reprint(self, ticket: str, now: datetime) -> int:
        """Queue the latest slip of `ticket` again, as a new job with reason 'reprint'."""
        rows = self._select("ticket = ? ORDER BY id DESC LIMIT 1", [ticket])
        if not rows:
            raise UnknownTicketError(f"no slip was ever queued for ticket {ticket!r}")
        return self.enqueue(rows[0].slip(), "reprint", now)

    def counts(self) -> dict[str, int]:
        """Jobs per state, every state present (zero when none)."""
        totals = dict.fromkeys(STATES, 0)
        for state, count in self.db.execute(
            "SELECT state, COUNT(*) FROM print_jobs GROUP BY state"
        ).fetchall():
            totals[state] = count
        return totals

    def _select(self, where: str, params: list[Any]) -> list[PrintJob]:
        cursor = self.db.execute(
            "SELECT id, created_at, ticket, reason, slip, state, attempts, last_error, printed_at "
            f"FROM print_jobs WHERE {where}",
            params,
        )
        return [PrintJob(*row) for row in cursor.fetchall()]

    def _transition(self, sql: str, params: list[Any], job_id: int) -> None:
        changed = self.db.execute(sql, params).rowcount
        if changed != 1:
            state = self.job(job_id).state  # raises KeyError for a missing job
            raise ValueError(f"print job {job_id} is {state!r}, not 'queued'; nothing changed")


def _rfc3339(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment!r} must be timezone-aware")
    return moment.isoformat()
