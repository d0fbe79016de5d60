"""Commands central sends a branch, checked against the contract's actions before they go."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kiosk.timeutil import format_rfc3339


class CommandError(ValueError):
    """A command central refuses to send; the message says what to change."""


def _int(args: Mapping[str, Any], name: str, low: int | None = None) -> bool:
    value = args.get(name)
    return (isinstance(value, int) and not isinstance(value, bool)
            and (low is None or value >= low))


def _no_args(args: Mapping[str, Any]) -> str | None:
    return None if not args else "takes no arguments"


def _set_limit(args: Mapping[str, Any]) -> str | None:
    return None if _int(args, "limit", 1) else 'needs {"limit": <whole number of at least 1>}'


def _adjust_count(args: Mapping[str, Any]) -> str | None:
    if _int(args, "delta") or _int(args, "count", 0):
        return None
    return 'needs {"delta": <whole number>} or {"count": <whole number of at least 0>}'


def _admit(args: Mapping[str, Any]) -> str | None:
    if isinstance(args.get("ticket"), str) or _int(args, "party_size", 1):
        return None
    return 'needs {"ticket": "A017"} or {"party_size": <whole number of at least 1>}'


ACTIONS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "set_limit": _set_limit,
    "adjust_count": _adjust_count,
    "pause": _no_args,
    "resume": _no_args,
    "free_entry": _no_args,
    "emergency": _no_args,
    "normal": _no_args,
    "admit": _admit,
    "resync": _no_args,
}


def build_command(action: str, args: Mapping[str, Any], issued_by: str,
                  now: datetime) -> dict[str, Any]:
    """A command message with a fresh command_id, or CommandError naming what is wrong."""
    check = ACTIONS.get(action)
    if check is None:
        raise CommandError(f"action {action!r} is not one of: {', '.join(ACTIONS)}")
    problem = check(args)
    if problem:
        raise CommandError(f"action {action} {problem}")
    if not issued_by.strip():
        raise CommandError("issued_by must name who asks, such as ops:jkowalski")
    return {
        "command_id": str(uuid.uuid4()),
        "action": action,
        "args": dict(args),
        "issued_by": issued_by,
        "issued_at": format_rfc3339(now),
    }
