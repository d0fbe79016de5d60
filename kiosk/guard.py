"""Code-guessing guard: after too many unknown codes in a short time, code entry pauses.

A core with no I/O: the time is an argument, and its state is a small JSON-able snapshot so a
restart does not reset an attack in progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kiosk.timeutil import format_rfc3339, parse_rfc3339


@dataclass
class CodeGuessGuard:
    limit: int = 5
    window_s: int = 60
    pause_s: int = 30
    unknown_at: list[datetime] = field(default_factory=list)
    paused_until: datetime | None = None

    def paused(self, now: datetime) -> datetime | None:
        """The end of the pause in force at ``now``, or None."""
        if self.paused_until is not None and now < self.paused_until:
            return self.paused_until
        return None

    def record_unknown(self, now: datetime) -> bool:
        """Count one unknown code; True when this one trips the pause."""
        horizon = now - timedelta(seconds=self.window_s)
        self.unknown_at = [t for t in self.unknown_at if t > horizon] + [now]
        if len(self.unknown_at) >= self.limit:
            self.unknown_at = []
            self.paused_until = now + timedelta(seconds=self.pause_s)
            return True
        return False

    def snapshot(self) -> dict[str, Any]:
        return {
            "unknown_at": [format_rfc3339(t) for t in self.unknown_at],
            "paused_until": format_rfc3339(self.paused_until) if self.paused_until else None,
        }

    def restore(self, snapshot: dict[str, Any] | None) -> None:
        if not snapshot:
            return
        self.unknown_at = [parse_rfc3339(t) for t in snapshot.get("unknown_at", [])]
        until = snapshot.get("paused_until")
        self.paused_until = parse_rfc3339(until) if until else None
