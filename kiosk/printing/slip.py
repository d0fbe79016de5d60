"""The ticket slip: everything printed for one customer, as plain data.

The print queue keeps slips as JSON, so a slip must survive a round trip unchanged
and a damaged row must be reported, never guessed at.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Language = Literal["pl", "en"]
Instruction = Literal["enter", "wait"]

LANGUAGES: tuple[str, ...] = ("pl", "en")
INSTRUCTIONS: tuple[str, ...] = ("enter", "wait")
TICKET_PATTERN = re.compile(r"^[A-Z]{1,3}\d{1,6}$")


class SlipFormatError(ValueError):
    """A slip (or its JSON) is not valid; the message names the field and what is expected."""


@dataclass(frozen=True)
class Slip:
    """One ticket slip. Datetimes are timezone-aware; `printed_at` is in the branch's zone."""

    branch_name: str
    ticket: str
    service_name: dict[str, str]
    language: Language
    booking_starts_at: datetime | None
    instruction: Instruction
    position_in_line: int | None
    printed_at: datetime
    ticket_id: str
    footer: str | None = None

    def __post_init__(self) -> None:
        _check_slip(self)
        # A private copy, so the caller's dict cannot change a queued slip.
        object.__setattr__(self, "service_name", dict(self.service_name))

    def to_json(self) -> str:
        """The slip as a JSON object; datetimes as RFC 3339 strings."""
        return json.dumps(
            {
                "branch_name": self.branch_name,
                "ticket": self.ticket,
                "service_name": self.service_name,
                "language": self.language,
                "booking_starts_at": _iso_or_none(self.booking_starts_at),
                "instruction": self.instruction,
                "position_in_line": self.position_in_line,
                "printed_at": self.printed_at.isoformat(),
                "ticket_id": self.ticket_id,
                "footer": self.footer,
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Slip:
        """Parse a slip written by `to_json`; raises SlipFormatError naming what is wrong."""
        try:
            raw = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise SlipFormatError(f"slip is not valid JSON ({exc}); re-create the job") from exc
        if not isinstance(raw, dict):
            raise SlipFormatError("slip JSON must be an object; re-create the job")
        return cls(
            branch_name=_field(raw, "branch_name", str),
            ticket=_field(raw, "ticket", str),
            service_name=_field(raw, "service_name", dict),
            language=_field(raw, "language", str),
            booking_starts_at=_datetime_field(raw, "booking_starts_at", optional=True),
            instruction=_field(raw, "instruction", str),
            position_in_line=_optional_int(raw, "position_in_line"),
            printed_at=_required_datetime(raw, "printed_at"),
            ticket_id=_field(raw, "ticket_id", str),
            footer=_optional_str(raw, "footer"),
        )


def make_ticket_id(branch_id: str, printed_at: datetime, ticket: str) -> str:
    """The QR payload: "{branch_id}/{YYYY-MM-DD}/{ticket}", the date in the branch's zone."""
    return f"{branch_id}/{printed_at.date().isoformat()}/{ticket}"


def _check_slip(slip: Slip) -> None:
    if not slip.branch_name.strip():
        raise SlipFormatError("branch_name is empty; set the branch's name in the settings")
    if not TICKET_PATTERN.match(slip.ticket):
        raise SlipFormatError(f"ticket {slip.ticket!r} must look like 'A017'")
    if not isinstance(slip.service_name, dict) or not isinstance(slip.service_name.get("pl"), str):
        raise SlipFormatError("service_name must be a dict with at least a Polish 'pl' name")
    if slip.language not in LANGUAGES:
        raise SlipFormatError(f"language {slip.language!r} must be one of {LANGUAGES}")
    if slip.instruction not in INSTRUCTIONS:
        raise SlipFormatError(f"instruction {slip.instruction!r} must be one of {INSTRUCTIONS}")
    for name in ("booking_starts_at", "printed_at"):
        value = getattr(slip, name)
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise SlipFormatError(f"{name} must be a timezone-aware datetime, got {value!r}")
    if slip.position_in_line is not None and (
        isinstance(slip.position_in_line, bool) or slip.position_in_line < 1
    ):
        raise SlipFormatError(
            f"position_in_line must be a positive integer, got {slip.position_in_line!r}"
        )
    if not slip.ticket_id.endswith("/" + slip.ticket):
        raise SlipFormatError(
            f"ticket_id {slip.ticket_id!r} must be '<branch>/<YYYY-MM-DD>/{slip.ticket}'"
        )


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _field(raw: dict[str, Any], name: str, kind: type) -> Any:
    if name not in raw:
        raise SlipFormatError(f"slip JSON lacks {name!r}; re-create the job")
    value = raw[name]
    if not isinstance(value, kind):
        raise SlipFormatError(f"slip field {name!r} must be {kind.__name__}, got {value!r}")
    return value


def _optional_str(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, str):
        raise SlipFormatError(f"slip field {name!r} must be a string or null, got {value!r}")
    return value


def _optional_int(raw: dict[str, Any], name: str) -> int | None:
    value = raw.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise SlipFormatError(f"slip field {name!r} must be an integer or null, got {value!r}")
    return value


def _required_datetime(raw: dict[str, Any], name: str) -> datetime:
    value = _datetime_field(raw, name, optional=False)
    assert value is not None
    return value


def _datetime_field(raw: dict[str, Any], name: str, *, optional: bool) -> datetime | None:
    value = raw.get(name)
    if value is None:
        if optional:
            return None
        raise SlipFormatError(f"slip JSON lacks {name!r}; re-create the job")
    if not isinstance(value, str):
        raise SlipFormatError(f"slip field {name!r} must be an RFC 3339 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SlipFormatError(f"slip field {name!r} is not RFC 3339: {value!r}") from exc
    if parsed.utcoffset() is None:
        raise SlipFormatError(f"slip field {name!r} lacks a UTC offset: {value!r}")
    return parsed
