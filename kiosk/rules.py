"""The check-in rules: a core with no I/O. The time and everything known are arguments.

Order of the checks, and why:
1. ``invalid_code``: anything that cannot be a code is refused before the store is touched.
2. ``paused``: entry paused by staff, or code entry paused after too many unknown codes.
3. ``closed``: outside opening hours nobody checks in, whatever their booking says.
4. ``unknown_code``, ``cancelled``, ``already_checked_in``: what the booking itself says.
5. ``too_early`` / ``too_late``: the check-in window around the booked time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kiosk.bookings import Booking
from kiosk.codes import InvalidCode, normalise_code
from kiosk.settings import BranchSettings


class Reason(StrEnum):
    UNKNOWN_CODE = "unknown_code"
    CANCELLED = "cancelled"
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    ALREADY_CHECKED_IN = "already_checked_in"
    CLOSED = "closed"
    INVALID_CODE = "invalid_code"
    PAUSED = "paused"


@dataclass(frozen=True)
class Refusal:
    reason: Reason
    detail: str
    booking: Booking | None = None
    checkin_from: datetime | None = None   # too_early: when the customer may come back
    existing_ticket: str | None = None     # already_checked_in: the ticket to reprint
    paused_until: datetime | None = None   # paused after code guessing

    @property
    def booking_id(self) -> str | None:
        return self.booking.booking_id if self.booking else None


@dataclass(frozen=True)
class Accept:
    booking: Booking


Decision = Accept | Refusal


def screen_input(raw: str) -> str | Refusal:
    """The canonical code, or an ``invalid_code`` refusal naming what is wrong."""
    try:
        return normalise_code(raw)
    except InvalidCode as exc:
        return Refusal(Reason.INVALID_CODE, exc.detail)


def choose_booking(candidates: Sequence[Booking], now: datetime) -> Booking | None:
    """Of the bookings sharing a code, the one whose time is nearest to now."""
    if not candidates:
        return None
    return min(candidates, key=lambda b: abs((b.starts_at - now).total_seconds()))


def entry_refusal(now: datetime, settings: BranchSettings, *, entry_paused: bool,
                  codes_paused_until: datetime | None) -> Refusal | None:
    """Refusals that need no booking: paused entry, paused code entry, a closed branch."""
    if codes_paused_until is not None and now < codes_paused_until:
        return Refusal(Reason.PAUSED, "code entry paused after too many unknown codes",
                       paused_until=codes_paused_until)
    if entry_paused:
        return Refusal(Reason.PAUSED, "entry paused by staff")
    if not settings.is_open(now):
        return Refusal(Reason.CLOSED, "the branch is closed now")
    return None


def evaluate_booking(booking: Booking | None, *, existing_ticket: str | None, now: datetime,
                     settings: BranchSettings) -> Decision:
    """Decide on a code that passed ``screen_input`` and ``entry_refusal``."""
    if booking is None:
        return Refusal(Reason.UNKNOWN_CODE, "no booking with this code")
    if booking.cancelled:
        return Refusal(Reason.CANCELLED, "the booking was cancelled", booking=booking)
    if existing_ticket is not None:
        return Refusal(Reason.ALREADY_CHECKED_IN, f"already checked in as {existing_ticket}",
                       booking=booking, existing_ticket=existing_ticket)
    opens = booking.starts_at - timedelta(minutes=settings.early_min)
    closes = booking.starts_at + timedelta(minutes=settings.late_min)
    if now < opens:
        return Refusal(Reason.TOO_EARLY, f"check-in opens at {settings.local(opens).isoformat()}",
                       booking=booking, checkin_from=settings.local(opens))
    if now > closes:
        return Refusal(Reason.TOO_LATE, f"check-in closed at {settings.local(closes).isoformat()}",
                       booking=booking)
    return Accept(booking)
