"""What central receives, checked against the contract before anything is stored.

Pure functions: a topic and its payload in, a typed message out, or ``Rejected`` naming the
reason (a short key for counters) and the detail (a sentence for the log). Unknown fields are
ignored, as the contract says; everything the contract requires is checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from central.topics import Topic
from kiosk.timeutil import TimeFormatError, parse_rfc3339

MAX_PAYLOAD_BYTES = 64 * 1024

REFUSAL_REASONS = frozenset({
    "unknown_code", "cancelled", "too_early", "too_late", "already_checked_in", "closed",
    "invalid_code", "paused",
})
ALARM_KINDS = frozenset({
    "tailgate", "door_forced", "door_held_open", "sensor_fault", "door_link_down", "printer",
    "code_guessing", "outbox_backlog",
})
OCCUPANCY_STATES = frozenset({
    "open", "full", "paused", "closed", "free_entry", "emergency", "fault",
})
DOOR_STATES = frozenset({"ok", "down", "fault"})
PRINTER_STATES = frozenset({"ok", "paper_low", "paper_out", "offline", "error"})


class Rejected(ValueError):
    """A message central will not act on: ``reason`` is a counter key, ``detail`` a sentence.

    ``event_id`` is set when an event was readable enough to name its id, so the kiosk can be
    told it was received (and quarantined) instead of re-sending it forever.
    """

    def __init__(self, reason: str, detail: str, event_id: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.event_id = event_id


@dataclass(frozen=True)
class EventIn:
    event_id: str
    branch: str
    kiosk: str
    type: str
    at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class OccupancyIn:
    branch: str
    count: int
    limit: int
    waiting: int
    state: str
    at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class StatusIn:
    branch: str
    kiosk: str
    online: bool
    at: datetime | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class ResyncIn:
    branch: str
    kiosk: str
    request_id: str
    day: date


@dataclass(frozen=True)
class CommandResultIn:
    branch: str
    command_id: str
    ok: bool
    error: str | None
    at: datetime | None
    payload: dict[str, Any]


Incoming = EventIn | OccupancyIn | StatusIn | ResyncIn | CommandResultIn


def load_json_object(payload: bytes, *, limit: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    if len(payload) > limit:
        raise Rejected("too_large", f"payload of {len(payload)} bytes is over {limit} bytes")
    if not payload:
        raise Rejected("empty", "payload is empty (a cleared retained message)")
    try:
        data = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise Rejected("not_json", "payload is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise Rejected("not_json", f"payload is not JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise Rejected("not_object", f"payload is JSON {type(data).__name__}, not an object")
    if b"\\u0000" in payload and _has_nul(data):
        # No text in the contract holds one, and PostgreSQL cannot store it in a text column.
        raise Rejected("bad_value", "payload holds a NUL character (\\u0000) in a text")
    return data


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _field(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...],
           what: str, optional: bool = False) -> Any:
    if name not in obj or (optional and obj[name] is None):
        if optional:
            return None
        raise Rejected("missing_field", f"{what}: field {name!r} is missing")
    value = obj[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise Rejected("wrong_type", f"{what}: field {name!r} must be {names}, got {value!r}"[:200])
    return value


def _choice(obj: Mapping[str, Any], name: str, allowed: frozenset[str], what: str) -> str:
    value: str = _field(obj, name, str, what)
    if value not in allowed:
        raise Rejected("bad_value", f"{what}: {name} {value!r} is not one of the contract's")
    return value


def _count(obj: Mapping[str, Any], name: str, what: str, low: int = 0) -> int:
    value: int = _field(obj, name, int, what)
    if value < low:
        raise Rejected("bad_value", f"{what}: {name} {value} must be at least {low}")
    return value


def _time(obj: Mapping[str, Any], name: str, what: str, optional: bool = False) -> datetime | None:
    text = _field(obj, name, str, what, optional=optional)
    if text is None:
        return None
    try:
        return parse_rfc3339(text, field=name)
    except TimeFormatError as exc:
        raise Rejected("bad_value", f"{what}: {exc}") from None


def _check_checkin(event: Mapping[str, Any], what: str) -> None:
    _field(event, "booking_id", str, what, optional=True)
    _field(event, "ticket", str, what)
    _count(event, "party_size", what, low=1)
    _choice(event, "outcome", frozenset({"admitted", "waiting"}), what)


def _check_refused(event: Mapping[str, Any], what: str) -> None:
    _choice(event, "reason", REFUSAL_REASONS, what)
    _field(event, "booking_id", str, what, optional=True)


def _check_passage(event: Mapping[str, Any], what: str) -> None:
    _choice(event, "direction", frozenset({"in", "out"}), what)
    _count(event, "count_after", what)


def _check_admitted(event: Mapping[str, Any], what: str) -> None:
    _field(event, "ticket", str, what)
    _count(event, "party_size", what, low=1)


def _check_override(event: Mapping[str, Any], what: str) -> None:
    _field(event, "action", str, what)
    _field(event, "args", dict, what)
    _field(event, "by", str, what)
    _choice(event, "from", frozenset({"kiosk", "command"}), what)


def _check_alarm(event: Mapping[str, Any], what: str) -> None:
    _choice(event, "kind", ALARM_KINDS, what)
    _field(event, "detail", str, what)


EVENT_CHECKS = {
    "checkin": _check_checkin,
    "checkin_refused": _check_refused,
    "passage": _check_passage,
    "admitted": _check_admitted,
    "override": _check_override,
    "alarm": _check_alarm,
}


def parse_event(topic: Topic, data: dict[str, Any]) -> EventIn:
    assert topic.kiosk is not None
    event_id = _field(data, "event_id", str, "event")
    if not 1 <= len(event_id) <= 64:
        raise Rejected("bad_value", f"event: event_id of {len(event_id)} characters (1-64)")
    what = f"event {event_id} from {topic.branch}/{topic.kiosk}"
    try:
        event_type = _field(data, "type", str, what)
        check = EVENT_CHECKS.get(event_type)
        if check is None:
            raise Rejected("unknown_type", f"{what}: type {event_type!r} is not in the contract")
        at = _time(data, "at", what)
        check(data, what)
    except Rejected as exc:
        raise Rejected(exc.reason, exc.detail, event_id) from None
    assert at is not None
    return EventIn(event_id, topic.branch, topic.kiosk, event_type, at, data)


def parse_occupancy(topic: Topic, data: dict[str, Any]) -> OccupancyIn:
    what = f"occupancy of {topic.branch}"
    at = _time(data, "at", what)
    assert at is not None
    return OccupancyIn(
        branch=topic.branch,
        count=_count(data, "count", what),
        limit=_count(data, "limit", what),
        waiting=_count(data, "waiting", what),
        state=_choice(data, "state", OCCUPANCY_STATES, what),
        at=at,
        payload=data,
    )


def parse_status(topic: Topic, data: dict[str, Any]) -> StatusIn:
    assert topic.kiosk is not None
    what = f"status of {topic.branch}/{topic.kiosk}"
    online = _field(data, "online", bool, what)
    if "door" in data:
        _choice(data, "door", DOOR_STATES, what)
    if "printer" in data:
        _choice(data, "printer", PRINTER_STATES, what)
    if "outbox" in data:
        _count(data, "outbox", what)
    # The will is fixed when the kiosk connects, so an offline status may carry no time.
    at = _time(data, "at", what, optional=not online)
    return StatusIn(topic.branch, topic.kiosk, online, at, data)


def parse_resync(topic: Topic, data: dict[str, Any]) -> ResyncIn:
    assert topic.kiosk is not None
    what = f"resync request from {topic.branch}/{topic.kiosk}"
    request_id = _field(data, "request_id", str, what)
    text = _field(data, "date", str, what)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Rejected("bad_value", f"{what}: date {text!r} is not YYYY-MM-DD") from None
    return ResyncIn(topic.branch, topic.kiosk, request_id, day)


def parse_command_result(topic: Topic, data: dict[str, Any]) -> CommandResultIn:
    what = f"command result from {topic.branch}"
    command_id = _field(data, "command_id", str, what)
    ok = _field(data, "ok", bool, what)
    error = _field(data, "error", str, what, optional=True)
    at = _time(data, "at", what, optional=True)
    return CommandResultIn(topic.branch, command_id, ok, error, at, data)


PARSERS: dict[str, Callable[[Topic, dict[str, Any]], Incoming]] = {
    "events": parse_event,
    "occupancy": parse_occupancy,
    "status": parse_status,
    "resync": parse_resync,
    "command-results": parse_command_result,
}


def parse_message(topic: Topic, payload: bytes) -> Incoming:
    """Check one received payload; raise Rejected saying why it cannot be used."""
    data = load_json_object(payload)
    parsed: Incoming = PARSERS[topic.kind](topic, data)
    return parsed
