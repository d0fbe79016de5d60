"""The booking feed as central sends it: messages of at most 500 bookings, and the bounds of
the day a kiosk asks to have sent again."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.bookings import MAX_BOOKINGS_PER_MESSAGE, Booking, booking_to_contract

DEFAULT_TIMEZONE = "Europe/Warsaw"


def feed_messages(
    bookings: Sequence[Booking], *, per_message: int = MAX_BOOKINGS_PER_MESSAGE
) -> Iterator[dict[str, Any]]:
    """``{"bookings": [...]}`` payloads, each within the contract's limit."""
    for start in range(0, len(bookings), per_message):
        chunk = bookings[start : start + per_message]
        yield {"bookings": [booking_to_contract(booking) for booking in chunk]}


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Start and end of a calendar day in the branch's time zone (23 or 25 hours at DST)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end
