"""Inactivity: after so many seconds without a touch or a key, go back (time passed in)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IdleTimer:
    last_activity: float = 0.0

    def touched(self, now: float) -> None:
        self.last_activity = now

    def idle_for(self, now: float) -> float:
        return max(0.0, now - self.last_activity)

    def expired(self, now: float, limit_s: float) -> bool:
        return self.idle_for(now) >= limit_s
