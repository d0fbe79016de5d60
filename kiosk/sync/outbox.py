"""Which outbox rows to publish next: the resend policy, without I/O.

The store's outbox is the truth; paho keeps its session only in memory. A row is published
when this process has not sent it yet, again after every reconnect, and again when central
has not acknowledged it within ``resend_after_s``. A row paho still holds (no PUBACK yet) is
left to paho, which re-sends it itself after a reconnect. At most ``window`` rows wait for a
PUBACK at once, so a long outbox never piles up in paho's memory.

A PUBACK that says "no matching subscribers" (MQTT 5 reason 0x10) means central was not
listening, as after a broker restart that lost its session. Until central acknowledges
something again, rows go out one at a time as probes, after 1, 2, 4... seconds (never more
than ``resend_after_s`` apart), so a long outbox is not pushed again and again to nobody.
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


UNHEARD_RETRY_S = 1.0
WAKE_FRACTION = 4


class OutboxTracker:
    def __init__(self, *, window: int = 100, resend_after_s: float = 30.0) -> None:
        if window < 1:
            raise ValueError("the publish window must be at least 1")
        self.window = window
        self.resend_after_s = resend_after_s
        self.connection = 0
        self.cursor = 0  # the highest seq looked at in the current pass
        self._sent: dict[str, _Sent] = {}
        # In publishing order: the broker acknowledges (PUBACK) in about that order too.
        self._unconfirmed: dict[str, None] = {}
        self._mids: dict[int, str] = {}
        self._pass_started: float | None = None
        self._retry_at: float | None = None
        self._unheard_streak = 0
        self._probe_at = 0.0

    def connected(self, now: float) -> None:
        """A new connection: every unacknowledged row is due again, from the start."""
        self.connection += 1
        self.restart_pass(now)

    def restart_pass(self, now: float) -> None:
        self.cursor = 0
        self._pass_started = now

    def resend_pass_due(self, now: float) -> bool:
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            return True
        return self._pass_started is None or now - self._pass_started >= self.resend_after_s

    def unheard(self, mid: int, now: float) -> None:
        """The broker had no subscriber for the message ``mid``: try it again soon."""
        event_id = self._mids.pop(mid, None)
        sent = self._sent.get(event_id) if event_id is not None else None
        if sent is None:
            return
        if self._unheard_streak == 0 or now >= self._probe_at:
            # One step of the backoff per probe: a burst of rows nobody heard counts once.
            delay = min(self.resend_after_s,
                        UNHEARD_RETRY_S * 2 ** min(self._unheard_streak, 16))
            self._unheard_streak += 1
            self._probe_at = now + delay
        sent.at = now - self.resend_after_s + (self._probe_at - now)
        retry_at = self._probe_at
        self._retry_at = retry_at if self._retry_at is None else min(self._retry_at, retry_at)

    def in_flight(self) -> int:
        """Rows published and not yet acknowledged by the broker (PUBACK).

        Counted from the oldest until the first still waiting, so a step costs what was
        confirmed since the last one; a PUBACK out of order is counted a little later.
        """
        done = []
        for event_id in self._unconfirmed:
            if not self._sent[event_id].delivery.is_published():
                break
            done.append(event_id)
        for event_id in done:
            del self._unconfirmed[event_id]
        return len(self._unconfirmed)

    def room(self, now: float) -> int:
        """How many rows may be published now: one probe at a time while nobody listens."""
        waiting = self.in_flight()
        if self._unheard_streak == 0:
            return max(0, self.window - waiting)
        return 1 if now >= self._probe_at and waiting == 0 else 0

    def wake_after(self) -> int:
        """With the window full: how many PUBACKs should free room before the next pass.

        A quarter of the window, not one row per pass: a pass costs a query and the
        interpreter lock, which paho's network thread needs to keep the window moving. Never
        more than what is in flight (a probe wakes the next pass with its own PUBACK).
        """
        return max(1, min(self.in_flight(), self.window // WAKE_FRACTION))

    def wants(self, event_id: str, now: float) -> bool:
        sent = self._sent.get(event_id)
        if sent is None:
            return True
        if not sent.delivery.is_published():
            return False
        return sent.connection != self.connection or now - sent.at >= self.resend_after_s

    def waits_for(self, event_id: str) -> bool:
        """Published by this process and not acknowledged by central yet."""
        return event_id in self._sent

    def sent(self, event_id: str, delivery: Delivery, now: float, mid: int | None = None
             ) -> None:
        self._sent[event_id] = _Sent(delivery, now, self.connection)
        self._unconfirmed.pop(event_id, None)
        self._unconfirmed[event_id] = None
        if mid is not None:
            self._mids[mid] = event_id

    def acknowledged(self, event_ids: Iterable[str]) -> None:
        """Central stored these; it is listening again, so the unheard backoff starts over."""
        for event_id in event_ids:
            self._sent.pop(event_id, None)
            self._unconfirmed.pop(event_id, None)
        self._unheard_streak = 0
        if len(self._mids) > 4 * max(len(self._sent), self.window):
            self._mids = {m: e for m, e in self._mids.items() if e in self._sent}

