"""Which outbox rows to publish next: the resend policy, without I/O.

The store's outbox is the truth; paho keeps its session only in memory. A row is published
when this process has not sent it yet, again after every reconnect, and again when central
has not acknowledged it within ``resend_after_s``. A row paho still holds (no PUBACK yet) is
left to paho, which re-sends it itself after a reconnect. At most ``window`` rows wait for a
PUBACK at once, so a long outbox never piles up in paho's memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class Delivery(Protocol):
    """What paho's ``MQTTMessageInfo`` tells: has the broker acknowledged the PUBLISH?"""

    def is_published(self) -> bool: ...


@dataclass
class _Sent:
    delivery: Delivery
    at: float
    connection: int


class OutboxTracker:
    def __init__(self, *, window: int = 100, resend_after_s: float = 30.0) -> None:
        if window < 1:
            raise ValueError("the publish window must be at least 1")
        self.window = window
        self.resend_after_s = resend_after_s
        self.connection = 0
        self.cursor = 0  # the highest seq looked at in the current pass
        self._sent: dict[str, _Sent] = {}
        self._unconfirmed: set[str] = set()
        self._pass_started: float | None = None

    def connected(self, now: float) -> None:
        """A new connection: every unacknowledged row is due again, from the start."""
        self.connection += 1
        self.restart_pass(now)

    def restart_pass(self, now: float) -> None:
        self.cursor = 0
        self._pass_started = now

    def resend_pass_due(self, now: float) -> bool:
        return self._pass_started is None or now - self._pass_started >= self.resend_after_s

    def in_flight(self) -> int:
        """Rows published and not yet acknowledged by the broker (PUBACK)."""
        done = {e for e in self._unconfirmed if self._sent[e].delivery.is_published()}
        self._unconfirmed -= done
        return len(self._unconfirmed)

    def room(self) -> int:
        return max(0, self.window - self.in_flight())

    def wants(self, event_id: str, now: float) -> bool:
        sent = self._sent.get(event_id)
        if sent is None:
            return True
        if not sent.delivery.is_published():
            return False
        return sent.connection != self.connection or now - sent.at >= self.resend_after_s

    def sent(self, event_id: str, delivery: Delivery, now: float) -> None:
        self._sent[event_id] = _Sent(delivery, now, self.connection)
        self._unconfirmed.add(event_id)

    def acknowledged(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            self._sent.pop(event_id, None)
            self._unconfirmed.discard(event_id)

    def forget_all(self) -> None:
        """Rows that left the outbox some other way (never while central may still ack)."""
        self._sent.clear()
        self._unconfirmed.clear()
