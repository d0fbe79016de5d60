"""What to do with a message from central: bytes and a topic in, one decision out.

No I/O and no clock of its own (``now`` is passed in). Anything malformed becomes a ``Drop``
that names what was wrong, for the log line and the counter; a command that can be answered
(it has a ``command_id``) but must not be carried out becomes a ``RefuseCommand``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kiosk.bookings import BookingError, ParsedFeed, parse_feed
from kiosk.sync.topics import KioskTopics
from kiosk.timeutil import TimeFormatError, parse_rfc3339

# 500 bookings of about a kilobyte each fit easily; anything far larger is not a feed.
MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_ACK_IDS = 10_000
COMMAND_MAX_AGE = timedelta(minutes=5)
COMMAND_ACTIONS = (
    "set_limit", "adjust_count", "pause", "resume", "free_entry", "emergency", "normal",
    "admit", "resync",
)
_MAX_ID_LENGTH = 128


@dataclass(frozen=True)
class Drop:
    """Not acted on. ``kind`` is the counter's name, ``reason`` the log line's text."""

    kind: str
    reason: str


@dataclass(frozen=True)
class ApplyFeed:
    feed: ParsedFeed


@dataclass(frozen=True)
class ApplyConfig:
    raw: dict[str, Any]


@dataclass(frozen=True)
class RunCommand:
    command_id: str
    action: str
    args: dict[str, Any]
    issued_by: str
    issued_at: datetime


@dataclass(frozen=True)
class RefuseCommand:
    """Answered with ``ok: false`` and audited, never carried out."""

    command_id: str
    error: str
    action: str = "?"
    args: dict[str, Any] = field(default_factory=dict)
    issued_by: str = "?"


@dataclass(frozen=True)
class Acknowledge:
    event_ids: tuple[str, ...]


Decision = Drop | ApplyFeed | ApplyConfig | RunCommand | RefuseCommand | Acknowledge


def route_message(topics: KioskTopics, topic: str, payload: bytes, now: datetime) -> Decision:
    """Validate one incoming message and say what the kiosk does with it."""
    handlers = {
        topics.bookings: _feed,
        topics.config: _config,
        topics.commands: lambda data: _command(data, now),
        topics.acks: _acks,
    }
    handler = handlers.get(topic)
    if handler is None:
        return Drop("unknown_topic", f"no handler for topic {topic!r}")
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Drop("too_large", f"{len(payload)} bytes on {topic}, more than the "
                                 f"{MAX_PAYLOAD_BYTES} a message may carry")
    if not payload:
        return Drop("empty", f"an empty message on {topic} (a cleared retained message)")
    data = _decode(payload)
    if isinstance(data, Drop):
        return data
    if not isinstance(data, dict):
        return Drop("wrong_shape", f"{topic}: expected a JSON object, got {type(data).__name__}")
    return handler(data)


def _decode(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Drop("not_json", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except json.JSONDecodeError as exc:
        return Drop("not_json", f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")
    except RecursionError:
        return Drop("not_json", "JSON nested too deeply to read")


def _feed(data: dict[str, Any]) -> Decision:
    try:
        return ApplyFeed(parse_feed(data))
    except BookingError as exc:
        return Drop("bad_feed", f"booking feed: {exc}")


def _config(data: dict[str, Any]) -> Decision:
    if "version" not in data:
        return Drop("bad_config", "branch config: field 'version' is missing")
    return ApplyConfig(data)


def _acks(data: dict[str, Any]) -> Decision:
    ids = data.get("event_ids")
    if not isinstance(ids, list):
        return Drop("bad_ack", "acks: field 'event_ids' must be a list of event ids")
    if len(ids) > MAX_ACK_IDS:
        return Drop("bad_ack", f"acks: {len(ids)} ids, more than {MAX_ACK_IDS} in one message")
    if not all(isinstance(i, str) and 0 < len(i) <= _MAX_ID_LENGTH for i in ids):
        return Drop("bad_ack", "acks: every event id must be a non-empty text")
    return Acknowledge(tuple(ids))


def _command(data: dict[str, Any], now: datetime) -> Decision:
    command_id = data.get("command_id")
    if not isinstance(command_id, str) or not 0 < len(command_id) <= _MAX_ID_LENGTH:
        return Drop("bad_command", "command: field 'command_id' is missing or not a text of "
                                   f"1-{_MAX_ID_LENGTH} characters; it cannot be answered")
    action = data.get("action")
    args = data.get("args", {})
    issued_by = data.get("issued_by")
    shown_action = action if isinstance(action, str) else "?"
    shown_args = args if isinstance(args, Mapping) else {}
    shown_by = issued_by if isinstance(issued_by, str) and issued_by else "?"

    def refuse(error: str) -> RefuseCommand:
        return RefuseCommand(command_id, error, shown_action, dict(shown_args), shown_by)

    if not isinstance(action, str):
        return refuse("malformed: field 'action' is missing or not a text")
    if action not in COMMAND_ACTIONS:
        return refuse(f"unknown action {action!r}; one of {', '.join(COMMAND_ACTIONS)}")
    if not isinstance(args, Mapping):
        return refuse("malformed: field 'args' must be a JSON object")
    if not isinstance(issued_by, str) or not issued_by:
        return refuse("malformed: field 'issued_by' is missing or empty")
    issued_text = data.get("issued_at")
    if not isinstance(issued_text, str):
        return refuse("malformed: field 'issued_at' is missing or not an RFC 3339 time")
    try:
        issued_at = parse_rfc3339(issued_text, field="issued_at")
    except TimeFormatError as exc:
        return refuse(f"malformed: {exc}")
    age = now - issued_at
    if age > COMMAND_MAX_AGE:
        return refuse(f"stale: issued {int(age.total_seconds())} s ago, more than "
                      f"{int(COMMAND_MAX_AGE.total_seconds())} s; send a new command")
    return RunCommand(command_id, action, dict(args), issued_by, issued_at)
