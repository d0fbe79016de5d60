"""RFC 3339 times, as the MQTT contract writes them (always with an offset)."""

from __future__ import annotations

from datetime import datetime


class TimeFormatError(ValueError):
    pass


def parse_rfc3339(text: str, *, field: str = "time") -> datetime:
    """Parse an RFC 3339 time that carries an offset; a naive time is refused."""
    if not isinstance(text, str):
        raise TimeFormatError(f"{field} must be an RFC 3339 string, got {type(text).__name__}")
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise TimeFormatError(
            f"{field} {text!r} is not an RFC 3339 time such as 2026-11-23T10:30:00+01:00"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimeFormatError(f"{field} {text!r} has no offset; add one such as +01:00 or Z")
    return value


def format_rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("refusing to format a naive datetime: times carry an offset")
    return value.isoformat(timespec="seconds")
