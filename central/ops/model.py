"""The read model of every branch: contract messages in, state and what changed out.

Sans-I/O: no sockets, no clock, no threads. The owner (``hub``) passes each checked message
(``central.messages``) and the current time in; ``Changes`` says which tiles, alarms and
commands to redraw and which events are new (not duplicates) for the history to store.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from central.messages import CommandResultIn, EventIn, Incoming, OccupancyIn, StatusIn
from central.ops.config import NO_REGION, BranchInfo

MAX_ALARMS = 2000
MAX_COMMANDS = 2000
MAX_SEEN_EVENTS = 200_000
UNKNOWN_STATE = "unknown"


@dataclass
class KioskView:
    kiosk: str
    online: bool = False
    door: str | None = None
    printer: str | None = None
    outbox: int | None = None
    version: str | None = None
    last_feed_at: str | None = None
    status_at: str | None = None

    def problems(self, outbox_warn: int) -> list[str]:
        found = []
        if not self.online:
            found.append("offline")
        if self.door not in (None, "ok"):
            found.append(f"door_{self.door}")
        if self.printer not in (None, "ok"):
            found.append(f"printer_{self.printer}")
        if self.outbox is not None and self.outbox >= outbox_warn:
            found.append("outbox")
        return found


@dataclass
class BranchView:
    branch: str
    name: str
    region: str = NO_REGION
    count: int | None = None
    limit: int | None = None
    waiting: int | None = None
    state: str = UNKNOWN_STATE
    occupancy_at: str | None = None
    received_at: datetime | None = None
    stale: bool = False
    open_alarms: int = 0
    checkins_today: int = 0
    kiosks: dict[str, KioskView] = field(default_factory=dict)

    def problems(self, outbox_warn: int) -> list[str]:
        found = []
        if self.state in ("fault", "emergency"):
            found.append(self.state)
        if self.stale:
            found.append("stale")
        if self.open_alarms:
            found.append("alarms")
        for kiosk in self.kiosks.values():
            found.extend(f"{kiosk.kiosk}:{p}" for p in kiosk.problems(outbox_warn))
        return found


@dataclass
class Alarm:
    event_id: str
    branch: str
    kiosk: str
    kind: str
    detail: str
    at: str
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None


@dataclass
class CommandView:
    command_id: str
    branch: str
    action: str
    args: dict[str, Any]
    issued_by: str
    issued_at: str
    ok: bool | None = None
    error: str | None = None
    result_at: str | None = None


@dataclass
class Changes:
    branches: set[str] = field(default_factory=set)
    alarms: list[Alarm] = field(default_factory=list)
    commands: list[CommandView] = field(default_factory=list)
    new_events: list[EventIn] = field(default_factory=list)
    new_kiosks: list[tuple[str, str]] = field(default_factory=list)
    occupancy: list[OccupancyIn] = field(default_factory=list)

    def merge(self, other: Changes) -> None:
        self.branches |= other.branches
        self.alarms.extend(other.alarms)
        self.commands.extend(other.commands)
        self.new_events.extend(other.new_events)
        self.new_kiosks.extend(other.new_kiosks)
        self.occupancy.extend(other.occupancy)

    def __bool__(self) -> bool:
        return bool(self.branches or self.alarms or self.commands or self.new_events
                    or self.new_kiosks or self.occupancy)


class AlarmNotFound(KeyError):
    """An acknowledgement names an alarm the model does not hold."""


class OpsModel:
    """Every branch's latest state, the alarms and the commands operators issued."""

    def __init__(self, branches: dict[str, BranchInfo], *, zone: tzinfo = UTC,
                 outbox_warn: int = 50, stale_after_s: float = 180.0) -> None:
        self.zone = zone
        self.today: date | None = None
        self.outbox_warn = outbox_warn
        self.stale_after_s = stale_after_s
        self.branches: dict[str, BranchView] = {
            b.branch: BranchView(b.branch, b.name, b.region) for b in branches.values()}
        self.alarms: OrderedDict[str, Alarm] = OrderedDict()
        self.commands: OrderedDict[str, CommandView] = OrderedDict()
        self.alarm_counts: Counter[tuple[str, str]] = Counter()
        self._seen_events: OrderedDict[str, None] = OrderedDict()

    # -- messages ---------------------------------------------------------------------------
    def apply(self, message: Incoming, now: datetime) -> Changes:
        self._roll_day(now)
        if isinstance(message, OccupancyIn):
            return self._occupancy(message, now)
        if isinstance(message, StatusIn):
            return self._status(message)
        if isinstance(message, EventIn):
            return self._event(message)
        if isinstance(message, CommandResultIn):
            return self._command_result(message)
        return Changes()  # resync requests are central's business, not the page's

    def clear_retained(self, kind: str, branch: str, kiosk: str | None) -> Changes:
        """An empty retained message: the kiosk (or the branch's occupancy) was taken away."""
        view = self.branches.get(branch)
        if view is None:
            return Changes()
        if kind == "status" and kiosk is not None:
            if view.kiosks.pop(kiosk, None) is None:
                return Changes()
        elif kind == "occupancy":
            view.count = view.limit = view.waiting = None
            view.state, view.occupancy_at, view.received_at, view.stale = (
                UNKNOWN_STATE, None, None, False)
        else:
            return Changes()
        return Changes(branches={branch})

    def branch(self, branch: str) -> BranchView:
        view = self.branches.get(branch)
        if view is None:
            view = self.branches[branch] = BranchView(branch, branch)
        return view

    def _occupancy(self, msg: OccupancyIn, now: datetime) -> Changes:
        view = self.branch(msg.branch)
        view.count, view.limit, view.waiting, view.state = (
            msg.count, msg.limit, msg.waiting, msg.state)
        view.occupancy_at = msg.payload.get("at")
        view.received_at = now
        view.stale = False
        return Changes(branches={msg.branch}, occupancy=[msg])

    def _status(self, msg: StatusIn) -> Changes:
        assert msg.kiosk is not None
        view = self.branch(msg.branch)
        changes = Changes(branches={msg.branch})
        kiosk = view.kiosks.get(msg.kiosk)
        if kiosk is None:
            kiosk = view.kiosks[msg.kiosk] = KioskView(msg.kiosk)
            changes.new_kiosks.append((msg.branch, msg.kiosk))
        data = msg.payload
        kiosk.online = msg.online
        kiosk.status_at = data.get("at") if isinstance(data.get("at"), str) else None
        # The will carries only what was known at connect time: keep the last real readings.
        if msg.online or "door" in data:
            kiosk.door = data.get("door", kiosk.door)
        if msg.online or "printer" in data:
            kiosk.printer = data.get("printer", kiosk.printer)
        if msg.online or "outbox" in data:
            kiosk.outbox = data.get("outbox", kiosk.outbox)
        for key in ("version", "last_feed_at"):
            if isinstance(data.get(key), str):
                setattr(kiosk, key, data[key])
        return changes

    def _event(self, event: EventIn) -> Changes:
        if event.event_id in self._seen_events:
            return Changes()
        self._seen_events[event.event_id] = None
        while len(self._seen_events) > MAX_SEEN_EVENTS:
            self._seen_events.popitem(last=False)
        changes = Changes(new_events=[event])
        if event.type == "checkin" and event.at.astimezone(self.zone).date() == self.today:
            self.branch(event.branch).checkins_today += 1
            changes.branches.add(event.branch)
        if event.type == "alarm":
            alarm = Alarm(event.event_id, event.branch, event.kiosk, event.payload["kind"],
                          event.payload["detail"], event.at.isoformat())
            self._add_alarm(alarm)
            changes.alarms.append(alarm)
            changes.branches.add(event.branch)
        return changes

    def _add_alarm(self, alarm: Alarm) -> None:
        self.alarms[alarm.event_id] = alarm
        self.alarm_counts[(alarm.branch, alarm.kind)] += 1
        if alarm.acknowledged_by is None:
            self.branch(alarm.branch).open_alarms += 1
        while len(self.alarms) > MAX_ALARMS:
            _, dropped = self.alarms.popitem(last=False)
            if dropped.acknowledged_by is None:
                self.branch(dropped.branch).open_alarms -= 1

    def _command_result(self, result: CommandResultIn) -> Changes:
        command = self.commands.get(result.command_id)
        if command is None or command.branch != result.branch:
            return Changes()  # answers to a staff console's commands are not ours to show
        command.ok, command.error = result.ok, result.error
        command.result_at = result.payload.get("at") if isinstance(
            result.payload.get("at"), str) else None
        return Changes(commands=[command])

    # -- what operators do ------------------------------------------------------------------
    def command_issued(self, command: dict[str, Any], branch: str) -> Changes:
        view = CommandView(command["command_id"], branch, command["action"],
                           dict(command.get("args", {})), command["issued_by"],
                           command["issued_at"])
        self.commands[view.command_id] = view
        while len(self.commands) > MAX_COMMANDS:
            self.commands.popitem(last=False)
        return Changes(commands=[view])

    def command_failed(self, command_id: str, error: str) -> Changes:
        command = self.commands.get(command_id)
        if command is None or command.ok is not None:
            return Changes()
        command.ok, command.error = False, error
        return Changes(commands=[command])

    def acknowledge(self, event_id: str, operator: str, at: str) -> Changes:
        alarm = self.alarms.get(event_id)
        if alarm is None:
            raise AlarmNotFound(event_id)
        if alarm.acknowledged_by is not None:
            return Changes()
        alarm.acknowledged_by, alarm.acknowledged_at = operator, at
        self.branch(alarm.branch).open_alarms -= 1
        return Changes(branches={alarm.branch}, alarms=[alarm])

    def restore_alarm(self, alarm: Alarm) -> None:
        """Put back an alarm from today's history after a restart."""
        if alarm.event_id not in self.alarms:
            self._seen_events[alarm.event_id] = None
            self._add_alarm(alarm)

    def restore_checkins(self, counts: dict[str, int], now: datetime) -> None:
        self._roll_day(now)
        for branch, count in counts.items():
            self.branch(branch).checkins_today = count

    def restore_seen(self, event_ids: list[str]) -> None:
        for event_id in event_ids:
            self._seen_events[event_id] = None

    # -- time -------------------------------------------------------------------------------
    def tick(self, now: datetime) -> Changes:
        """Mark branches whose occupancy has not been heard for too long (60 s is the norm)."""
        changes = Changes()
        if self._roll_day(now):
            changes.branches |= set(self.branches)
        for view in self.branches.values():
            if view.received_at is None:
                continue
            stale = (now - view.received_at).total_seconds() > self.stale_after_s
            if stale != view.stale:
                view.stale = stale
                changes.branches.add(view.branch)
        return changes

    def _roll_day(self, now: datetime) -> bool:
        """Start a new day's counts at local midnight; True when the day changed."""
        today = now.astimezone(self.zone).date()
        if today == self.today:
            return False
        self.today = today
        for view in self.branches.values():
            view.checkins_today = 0
        return True

    # -- views for the page -----------------------------------------------------------------
    def tile(self, branch: str) -> dict[str, Any]:
        view = self.branches[branch]
        return {
            "id": view.branch, "name": view.name, "region": view.region,
            "count": view.count, "limit": view.limit, "waiting": view.waiting,
            "state": view.state, "at": view.occupancy_at, "stale": view.stale,
            "alarms": view.open_alarms, "checkins": view.checkins_today,
            "problems": view.problems(self.outbox_warn),
            "kiosks": [
                {"id": k.kiosk, "online": k.online, "door": k.door, "printer": k.printer,
                 "outbox": k.outbox, "last_feed_at": k.last_feed_at, "version": k.version,
                 "problems": k.problems(self.outbox_warn)}
                for k in sorted(view.kiosks.values(), key=lambda k: k.kiosk)
            ],
        }
