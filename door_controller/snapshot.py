"""The occupancy machine's facts as a JSON-able dict, and back, naming any bad field."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from kiosk.timeutil import TimeFormatError, parse_rfc3339

if TYPE_CHECKING:
    from door_controller.occupancy import _Facts


def format_rfc3339(moment: datetime) -> str:
    """Full precision, so a restored machine measures windows and stays exactly as before."""
    if moment.tzinfo is None:
        raise ValueError("refusing to store a naive datetime: times carry an offset")
    return moment.isoformat()


def snapshot_of_facts(f: _Facts) -> dict[str, Any]:
    from door_controller.occupancy import SNAPSHOT_VERSION

    return {
        "version": SNAPSHOT_VERSION,
        "count": f.count,
        "limit": f.limit,
        "mode": str(f.mode),
        "closed": f.closed,
        "sensor_faults": f.sensor_faults,
        "link_up": f.link_up,
        "waiting": [
            {"ticket": w.ticket, "party_size": w.party_size, "since": format_rfc3339(w.since)}
            for w in f.waiting
        ],
        "admissions": [
            {"ticket": a.ticket, "party_size": a.party_size, "remaining": a.remaining,
             "sent_at": format_rfc3339(a.sent_at)}
            for a in f.admissions
        ],
        "inside_since": [format_rfc3339(t) for t in f.inside_since],
        "admit_window_ms": f.admit_window_ms,
        "stay_timeout_s": f.stay_timeout_s,
        "admit_retry_at": format_rfc3339(f.admit_retry_at) if f.admit_retry_at else None,
    }


def facts_from_snapshot(snapshot: dict[str, Any]) -> _Facts:
    """Rebuild the facts as stored, the door link's last known state included.

    A process that restarts finds the link as it was; its controller marks it down if the door
    does not answer within the heartbeat timeout.
    """
    from door_controller.occupancy import (
        SNAPSHOT_VERSION,
        Admission,
        SnapshotError,
        StaffMode,
        Waiting,
        _Facts,
    )

    if not isinstance(snapshot, dict):
        raise SnapshotError("the occupancy snapshot is not an object")
    reader = _Reader(snapshot, SnapshotError)
    version = reader.integer("version", 1)
    if version != SNAPSHOT_VERSION:
        raise SnapshotError(f"occupancy snapshot version {version} is not {SNAPSHOT_VERSION}; "
                            "this software cannot read it")
    mode_text = reader.get("mode", str)
    try:
        mode = StaffMode(mode_text)
    except ValueError:
        raise SnapshotError(f"snapshot field mode = {mode_text!r} is not one of "
                            f"{', '.join(StaffMode)}") from None
    count = reader.integer("count", 0)
    inside = [reader.time(t, "inside_since[]") for t in reader.get("inside_since", list)]
    if len(inside) != count:
        raise SnapshotError(f"snapshot has count {count} but {len(inside)} inside_since times")
    waiting = [
        Waiting(_Reader(w, SnapshotError).get("ticket", str),
                _Reader(w, SnapshotError).integer("party_size", 1),
                reader.time(w.get("since") if isinstance(w, dict) else None, "waiting[].since"))
        for w in reader.get("waiting", list)
    ]
    admissions = []
    for a in reader.get("admissions", list):
        item = _Reader(a, SnapshotError)
        ticket = a.get("ticket") if isinstance(a, dict) else None
        if ticket is not None and not isinstance(ticket, str):
            raise SnapshotError(f"snapshot admissions[].ticket = {ticket!r} is not text")
        admissions.append(Admission(ticket, item.integer("party_size", 1),
                                    item.integer("remaining", 0),
                                    reader.time(a.get("sent_at"), "admissions[].sent_at")))
    timeout = snapshot.get("stay_timeout_s")
    if timeout is not None and (not isinstance(timeout, int) or timeout < 60):
        raise SnapshotError(f"snapshot field stay_timeout_s = {timeout!r} is not None or >= 60")
    retry = snapshot.get("admit_retry_at")
    return _Facts(
        count=count, limit=reader.integer("limit", 1), mode=mode,
        closed=reader.get("closed", bool), link_up=reader.get("link_up", bool),
        sensor_faults=reader.integer("sensor_faults", 0), waiting=waiting,
        admissions=admissions, inside_since=inside,
        admit_window_ms=reader.integer("admit_window_ms", 1000),
        stay_timeout_s=timeout,
        admit_retry_at=reader.time(retry, "admit_retry_at") if retry is not None else None,
    )


class _Reader:
    def __init__(self, data: Any, error: type[ValueError]) -> None:
        if not isinstance(data, dict):
            raise error(f"occupancy snapshot item {data!r} is not an object")
        self.data = data
        self.error = error

    def get(self, key: str, kind: type) -> Any:
        value = self.data.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(f"snapshot field {key} = {value!r} is not a {kind.__name__}")
        return value

    def integer(self, key: str, minimum: int) -> int:
        value = self.get(key, int)
        if value < minimum:
            raise self.error(f"snapshot field {key} = {value} is below {minimum}")
        return int(value)

    def time(self, value: Any, key: str) -> datetime:
        try:
            return parse_rfc3339(value, field=f"snapshot field {key}")
        except TimeFormatError as problem:
            raise self.error(str(problem)) from None
