"""The day's numbers of one branch, from today's samples and events (pure functions).

- check-ins: accepted check-ins (``checkin`` events), not refusals;
- no-shows: today's booked (not cancelled) bookings whose check-in window has closed with no
  check-in naming them; unknown (None) when the bookings are not available to ops;
- peak occupancy: the highest count in any occupancy sample or passage;
- time spent full: the time the branch's state was ``full``, each sample's state lasting until
  the next sample (or now);
- average wait: from check-in to admission over the check-ins admitted so far; one admitted at
  once waited 0 s, one still waiting is not counted yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from central.ops.history import Sample, StoredEvent


@dataclass(frozen=True)
class DueBooking:
    booking_id: str
    window_closes_at: float  # epoch seconds: start plus the late check-in allowance


@dataclass(frozen=True)
class DayNumbers:
    checkins: int
    no_shows: int | None
    peak: int | None
    full_seconds: float
    average_wait_s: float | None
    admitted: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def time_full(samples: Sequence[Sample], now: float) -> float:
    total = 0.0
    for i, current in enumerate(samples):
        end = samples[i + 1].at if i + 1 < len(samples) else max(now, current.at)
        if current.state == "full":
            total += max(0.0, end - current.at)
    return total


def peak_occupancy(samples: Sequence[Sample], events: Sequence[StoredEvent]) -> int | None:
    counts = [s.count for s in samples]
    counts += [int(e.payload["count_after"]) for e in events
               if e.type == "passage" and isinstance(e.payload.get("count_after"), int)]
    return max(counts) if counts else None


def waits(events: Sequence[StoredEvent]) -> list[float]:
    """Seconds from check-in to admission for every check-in admitted so far."""
    result: list[float] = []
    waiting_since: dict[str, list[float]] = {}
    for event in sorted(events, key=lambda e: e.at):
        ticket = event.payload.get("ticket")
        if event.type == "checkin":
            if event.payload.get("outcome") == "admitted":
                result.append(0.0)
            elif isinstance(ticket, str):
                waiting_since.setdefault(ticket, []).append(event.at)
        elif event.type == "admitted" and isinstance(ticket, str) and waiting_since.get(ticket):
            result.append(max(0.0, event.at - waiting_since[ticket].pop(0)))
    return result


def no_shows(due: Sequence[DueBooking] | None, events: Sequence[StoredEvent],
             now: float) -> int | None:
    if due is None:
        return None
    checked_in = {e.payload.get("booking_id") for e in events if e.type == "checkin"}
    return sum(1 for b in due if b.window_closes_at <= now and b.booking_id not in checked_in)


def day_numbers(samples: Sequence[Sample], events: Sequence[StoredEvent], now: float,
                due: Sequence[DueBooking] | None = None) -> DayNumbers:
    admitted = waits(events)
    return DayNumbers(
        checkins=sum(1 for e in events if e.type == "checkin"),
        no_shows=no_shows(due, events, now),
        peak=peak_occupancy(samples, events),
        full_seconds=time_full(samples, now),
        average_wait_s=sum(admitted) / len(admitted) if admitted else None,
        admitted=len(admitted),
    )
