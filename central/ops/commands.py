"""Operators' actions as the contract's commands: checked here, published by the hub."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from kiosk.timeutil import format_rfc3339

# The actions the page offers; the contract has more (adjust_count, admit) for staff consoles.
PAGE_ACTIONS = frozenset({
    "set_limit", "pause", "resume", "free_entry", "emergency", "normal", "resync",
})
LIMIT_RANGE = (1, 1000)  # what a kiosk accepts for set_limit


class CommandRefused(ValueError):
    """An action the page cannot send; the message is shown to the operator."""


def check_args(action: str, args: Any) -> dict[str, Any]:
    if action not in PAGE_ACTIONS:
        raise CommandRefused(f"nieznana akcja / unknown action {action!r}")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise CommandRefused("args must be a JSON object")
    if action != "set_limit":
        if args:
            raise CommandRefused(f"{action} takes no arguments")
        return {}
    limit = args.get("limit")
    low, high = LIMIT_RANGE
    if set(args) != {"limit"} or isinstance(limit, bool) or not isinstance(limit, int) \
            or not low <= limit <= high:
        raise CommandRefused(f"limit musi być liczbą {low}-{high} / limit must be {low}-{high}")
    return {"limit": limit}


def build_command(action: str, args: Any, operator: str, now: datetime) -> dict[str, Any]:
    """A contract command with a fresh id, issued by ``ops:<operator>``."""
    return {
        "command_id": str(uuid.uuid4()),
        "action": action,
        "args": check_args(action, args),
        "issued_by": f"ops:{operator}",
        "issued_at": format_rfc3339(now),
    }
