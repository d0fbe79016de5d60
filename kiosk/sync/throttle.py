"""When to publish a retained state message: on change, at most so often, and as a heartbeat.

The contract asks for occupancy on every change but at most five a second, and every 60
seconds; the status message follows the same rule at a slower pace. Time is passed in
(monotonic seconds), so tests drive it without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]


def without_time(payload: Payload) -> Payload:
    return {k: v for k, v in payload.items() if k != "at"}


class PublishThrottle:
    def __init__(self, min_interval_s: float, heartbeat_s: float,
                 same: Callable[[Payload], Payload] = without_time) -> None:
        self.min_interval_s = min_interval_s
        self.heartbeat_s = heartbeat_s
        self._key = same
        self._latest: Payload | None = None
        self._sent_key: Payload | None = None
        self._sent_at: float | None = None
        self._pending = False

    def offer(self, payload: Payload) -> None:
        """The newest state; it is due if it differs from what was last published."""
        self._latest = payload
        if self._sent_key is None or self._key(payload) != self._sent_key:
            self._pending = True

    def force(self) -> None:
        """Publish the newest state at the next chance (after a reconnect)."""
        if self._latest is not None:
            self._pending = True
            self._sent_at = None

    def take_due(self, now: float) -> Payload | None:
        """The payload to publish now, or None; taking it counts as publishing it."""
        if self._latest is None:
            return None
        if self._sent_at is not None:
            elapsed = now - self._sent_at
            if self._pending and elapsed < self.min_interval_s:
                return None
            if not self._pending and elapsed < self.heartbeat_s:
                return None
        self._pending = False
        self._sent_at = now
        self._sent_key = self._key(self._latest)
        return self._latest

    def seconds_until_due(self, now: float) -> float | None:
        if self._latest is None:
            return None
        if self._sent_at is None:
            return 0.0
        wait = self.min_interval_s if self._pending else self.heartbeat_s
        return max(0.0, self._sent_at + wait - now)
