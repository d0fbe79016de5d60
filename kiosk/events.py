"""Builders for the events the branch sends central, exactly as the MQTT contract shapes them.

Every event carries a fresh ``event_id`` (a UUID), its ``type`` and the local time ``at`` with
its offset. Central stores each event id once, so a re-sent event is harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kiosk.store import new_event_id
from kiosk.timeutil import format_rfc3339

REFUSAL_REASONS = (
    "unknown_code", "cancelled", "too_early", "too_late", "already_checked_in", "closed",
    "invalid_code", "paused",
)
ALARM_KINDS = (
    "tailgate", "door_forced", "door_held_open", "sensor_fault", "door_link_down", "printer",
    "code_guessing", "outbox_backlog",
)
OVERRIDE_SOURCES = ("kiosk", "command")


def _event(event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"event_id": new_event_id(), "type": event_type, "at": format_rfc3339(at), **fields}


def checkin_event(at: datetime, *, booking_id: str | None, ticket: str, party_size: int,
                  outcome: str) -> dict[str, Any]:
    if outcome not in ("admitted", "waiting"):
        raise ValueError(f"check-in outcome {outcome!r} is not 'admitted' or 'waiting'")
    return _event("checkin", at, booking_id=booking_id, ticket=ticket, party_size=party_size,
                  outcome=outcome)


def checkin_refused_event(at: datetime, *, reason: str, booking_id: str | None) -> dict[str, Any]:
    if reason not in REFUSAL_REASONS:
        raise ValueError(f"refusal reason {reason!r} is not one of the contract's reasons")
    fields: dict[str, Any] = {"reason": reason}
    if booking_id is not None:
        fields["booking_id"] = booking_id
    return _event("checkin_refused", at, **fields)


def passage_event(at: datetime, *, direction: str, count_after: int) -> dict[str, Any]:
    if direction not in ("in", "out"):
        raise ValueError(f"passage direction {direction!r} is not 'in' or 'out'")
    return _event("passage", at, direction=direction, count_after=count_after)


def admitted_event(at: datetime, *, ticket: str, party_size: int) -> dict[str, Any]:
    return _event("admitted", at, ticket=ticket, party_size=party_size)


def override_event(at: datetime, *, action: str, args: dict[str, Any], by: str,
                   source: str) -> dict[str, Any]:
    if source not in OVERRIDE_SOURCES:
        raise ValueError(f"override source {source!r} is not 'kiosk' or 'command'")
    return _event("override", at, action=action, args=args, by=by, **{"from": source})


def alarm_event(at: datetime, *, kind: str, detail: str) -> dict[str, Any]:
    if kind not in ALARM_KINDS:
        raise ValueError(f"alarm kind {kind!r} is not one of the contract's kinds")
    return _event("alarm", at, kind=kind, detail=detail)
