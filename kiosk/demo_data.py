"""Sample bookings for the demo branch: today's visits spread over the day.

Some can check in now, some are too early, some are already too late, and one is cancelled,
so every answer of the check-in rules can be tried. Codes come from a seeded generator, so a
demo started twice on one day shows the same codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kiosk.codes import CROCKFORD_ALPHABET, display_code

DEMO_BRANCH = "demo-branch"
DEMO_KIOSK = "demo-branch-k1"
DEMO_BRANCH_NAME = "POK Demo, ul. Łagiewnicka 60"
EARLY_MIN = 30
LATE_MIN = 15
SERVICES = (
    ("contracts", "A", "Umowy i płatności", "Contracts and payments"),
    ("complaints", "B", "Reklamacje", "Complaints"),
    ("connections", "C", "Przyłączenia", "New connections"),
)
NAMES = ("Anna K.", "Piotr N.", "Zofia W.", "Jan M.", "Ewa S.", "Marek L.", "Ola P.", "Adam Z.")
# Minutes from now of each visit; a visit may check in from EARLY_MIN before to LATE_MIN after.
OFFSETS_MIN = (-180, -120, -75, -40, -25, -10, -5, 0, 5, 10, 15, 20, 25, 45, 60, 90, 120, 180)
CANCELLED_OFFSET_MIN = 5


@dataclass(frozen=True)
class DemoBooking:
    booking: dict[str, Any]
    kind: str  # "ready", "too_early", "too_late" or "cancelled"

    @property
    def code(self) -> str:
        return str(self.booking["code"])


def demo_code(rng: random.Random) -> str:
    return "".join(rng.choice(CROCKFORD_ALPHABET) for _ in range(8))


def demo_bookings(now: datetime, branch: str = DEMO_BRANCH) -> list[DemoBooking]:
    """Today's bookings around ``now`` (an aware local time)."""
    rng = random.Random(f"{branch}-{now.date().isoformat()}")
    start = now.replace(second=0, microsecond=0)
    result: list[DemoBooking] = []
    for index, offset in enumerate((*OFFSETS_MIN, CANCELLED_OFFSET_MIN)):
        service_id, prefix, name_pl, name_en = SERVICES[index % len(SERVICES)]
        cancelled = index == len(OFFSETS_MIN)
        booking = {
            "booking_id": f"demo-{now:%Y%m%d}-{index + 1:02d}",
            "branch": branch,
            "code": demo_code(rng),
            "starts_at": (start + timedelta(minutes=offset)).isoformat(timespec="seconds"),
            "duration_min": 15,
            "service": {"id": service_id, "ticket_prefix": prefix,
                        "name": {"pl": name_pl, "en": name_en}},
            "party_size": 2 if index % 7 == 3 else 1,
            "display_name": NAMES[index % len(NAMES)],
            "status": "cancelled" if cancelled else "booked",
            "version": 1,
        }
        result.append(DemoBooking(booking, _kind(offset, cancelled)))
    return result


def _kind(offset_min: int, cancelled: bool) -> str:
    if cancelled:
        return "cancelled"
    if offset_min > EARLY_MIN:
        return "too_early"
    if offset_min < -LATE_MIN:
        return "too_late"
    return "ready"


def demo_settings() -> dict[str, Any]:
    """The demo branch's settings, open all day every day so the demo works at any hour."""
    every_day = [["00:00", "23:59"]]
    return {
        "version": 1,
        "name": DEMO_BRANCH_NAME,
        "timezone": "Europe/Warsaw",
        "limit": 3,
        "opening_hours": {day: every_day for day in
                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "closed_dates": [],
        "checkin_window": {"early_min": EARLY_MIN, "late_min": LATE_MIN},
        "walk_ins": True,
    }


def codes_to_try(bookings: list[DemoBooking]) -> dict[str, list[str]]:
    """Codes grouped by what the kiosk will answer, as people read them (7KQ2-M9XD)."""
    grouped: dict[str, list[str]] = {}
    for item in bookings:
        grouped.setdefault(item.kind, []).append(display_code(item.code))
    return grouped
