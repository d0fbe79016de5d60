"""When the kiosk asks central for the day's bookings again (a resync request).

On first start and after the store was lost there is no record of an earlier request; after
that, once each morning. The morning starts at ``MORNING``, local time, so a kiosk running
through the night asks when central has the day ready rather than at midnight.
"""

from __future__ import annotations

from datetime import datetime, time

MORNING = time(5, 0)


def resync_due(last_day: str | None, local_now: datetime, morning: time = MORNING) -> bool:
    if last_day is None:
        return True
    if last_day >= local_now.date().isoformat():
        return False
    return local_now.time().replace(tzinfo=None) >= morning
