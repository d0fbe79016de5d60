"""Bookings as the contract's feed carries them, validated field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.codes import InvalidCode, normalise_code
from kiosk.timeutil import TimeFormatError, parse_rfc3339

MAX_BOOKINGS_PER_MESSAGE = 500
_TICKET_PREFIX = re.compile(r"^[A-Z]{1,2}$")
_BOOKING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
STATUSES = ("booked", "cancelled")


class BookingError(ValueError):
    """One booking in a feed is unusable; the message names the booking and the field."""


@dataclass(frozen=True)
class Booking:
    booking_id: str
    code: str
    starts_at: datetime
    duration_min: int
    service_id: str
    ticket_prefix: str
    service_name_pl: str
    service_name_en: str
    party_size: int
    display_name: str | None
    status: str
    version: int

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    def service_name(self, language: str) -> str:
        return self.service_name_en if language == "en" else self.service_name_pl


def _require(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in obj:
        raise BookingError(f"{where}: field {name!r} is missing")
    value = obj[name]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise BookingError(f"{where}: field {name!r} must be {expected}, got {value!r}")
    return value


def parse_booking(obj: object, *, index: int | None = None) -> Booking:
    """Turn one element of a feed's ``bookings`` list into a Booking, or raise BookingError."""
    where = f"booking #{index}" if index is not None else "booking"
    if not isinstance(obj, Mapping):
        raise BookingError(f"{where}: must be a JSON object, got {type(obj).__name__}")
    booking_id = _require(obj, "booking_id", str, where)
    if not _BOOKING_ID.match(booking_id):
        raise BookingError(
            f"{where}: booking_id {booking_id!r} must be 1-64 letters, digits or ._:-"
        )
    where = f"booking {booking_id}"
    try:
        code = normalise_code(_require(obj, "code", str, where))
    except InvalidCode as exc:
        raise BookingError(f"{where}: code is not a booking code ({exc})") from None
    try:
        starts_at = parse_rfc3339(_require(obj, "starts_at", str, where), field="starts_at")
    except TimeFormatError as exc:
        raise BookingError(f"{where}: {exc}") from None
    duration = _require(obj, "duration_min", int, where)
    if not 1 <= duration <= 24 * 60:
        raise BookingError(f"{where}: duration_min {duration} must be 1 to 1440 minutes")
    service = _require(obj, "service", Mapping, where)
    service_id = _require(service, "id", str, f"{where} service")
    prefix = _require(service, "ticket_prefix", str, f"{where} service")
    if not _TICKET_PREFIX.match(prefix):
        raise BookingError(f"{where}: service ticket_prefix {prefix!r} must be 1-2 capital letters")
    names = _require(service, "name", Mapping, f"{where} service")
    name_pl = _require(names, "pl", str, f"{where} service name")
    name_en = names.get("en") if isinstance(names.get("en"), str) else name_pl
    party_size = obj.get("party_size", 1)
    if isinstance(party_size, bool) or not isinstance(party_size, int) or not 1 <= party_size <= 10:
        raise BookingError(f"{where}: party_size {party_size!r} must be a whole number 1 to 10")
    display_name = obj.get("display_name")
    if display_name is not None and (not isinstance(display_name, str) or len(display_name) > 40):
        raise BookingError(f"{where}: display_name must be a short text (a first name and initial)")
    status = _require(obj, "status", str, where)
    if status not in STATUSES:
        raise BookingError(f"{where}: status {status!r} must be one of {', '.join(STATUSES)}")
    version = _require(obj, "version", int, where)
    if version < 0:
        raise BookingError(f"{where}: version {version} must not be negative")
    return Booking(
        booking_id=booking_id,
        code=code,
        starts_at=starts_at,
        duration_min=duration,
        service_id=service_id,
        ticket_prefix=prefix,
        service_name_pl=name_pl,
        service_name_en=name_en,
        party_size=party_size,
        display_name=display_name,
        status=status,
        version=version,
    )


@dataclass(frozen=True)
class ParsedFeed:
    bookings: list[Booking]
    errors: list[str]


def parse_feed(
    message: object, *, max_bookings: int | None = MAX_BOOKINGS_PER_MESSAGE
) -> ParsedFeed:
    """Parse a ``{"bookings": [...]}`` message: keep the good bookings, report the bad ones.

    ``max_bookings`` is the contract's limit for one MQTT message; a file import has none.
    """
    if not isinstance(message, Mapping):
        raise BookingError("the feed must be a JSON object with a 'bookings' list")
    items = message.get("bookings")
    if not isinstance(items, list):
        raise BookingError("the feed has no 'bookings' list")
    if max_bookings is not None and len(items) > max_bookings:
        raise BookingError(
            f"the feed carries {len(items)} bookings; at most {max_bookings} "
            "fit in one message: split it"
        )
    good: list[Booking] = []
    errors: list[str] = []
    for index, item in enumerate(items):
        try:
            good.append(parse_booking(item, index=index))
        except BookingError as exc:
            errors.append(str(exc))
    return ParsedFeed(good, errors)


def booking_to_contract(booking: Booking) -> dict[str, Any]:
    data: dict[str, Any] = {
        "booking_id": booking.booking_id,
        "code": booking.code,
        "starts_at": booking.starts_at.isoformat(timespec="seconds"),
        "duration_min": booking.duration_min,
        "service": {
            "id": booking.service_id,
            "ticket_prefix": booking.ticket_prefix,
            "name": {"pl": booking.service_name_pl, "en": booking.service_name_en},
        },
        "party_size": booking.party_size,
        "status": booking.status,
        "version": booking.version,
    }
    if booking.display_name is not None:
        data["display_name"] = booking.display_name
    return data
