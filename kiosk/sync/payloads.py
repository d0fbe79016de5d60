"""The payloads the kiosk publishes besides events, shaped as the contract says."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from kiosk import __version__
from kiosk.timeutil import format_rfc3339

OUTBOX_BACKLOG = "outbox_backlog"


def status_payload(facts: dict[str, Any], *, outbox: int, backlog: bool,
                   now: datetime) -> dict[str, Any]:
    """The retained status; ``alarms`` lists what is wrong now (``outbox_backlog``)."""
    return {
        "online": True,
        "version": facts.get("version", __version__),
        "door": facts.get("door", "ok"),
        "printer": facts.get("printer", "ok"),
        "outbox": outbox,
        "last_feed_at": facts.get("last_feed_at"),
        "alarms": [OUTBOX_BACKLOG] if backlog else [],
        "at": format_rfc3339(now),
    }


def will_payload(now: datetime) -> dict[str, Any]:
    """The status the broker publishes for the kiosk when it drops off without a goodbye."""
    return {"online": False, "version": __version__, "at": format_rfc3339(now)}


def offline_payload(facts: dict[str, Any], *, outbox: int, now: datetime) -> dict[str, Any]:
    """The status a kiosk publishes itself when it stops cleanly."""
    return {**status_payload(facts, outbox=outbox, backlog=False, now=now), "online": False}


def command_result_payload(command_id: str, ok: bool, error: str | None,
                           now: datetime) -> dict[str, Any]:
    return {"command_id": command_id, "ok": ok, "error": None if ok else error,
            "at": format_rfc3339(now)}


def resync_payload(day: date) -> dict[str, Any]:
    return {"request_id": str(uuid.uuid4()), "date": day.isoformat()}
