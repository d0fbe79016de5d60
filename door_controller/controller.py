"""The door controller: the occupancy machine, the door link and the store, glued together.

Every method runs on the thread that owns the branch's state and never waits on I/O: the door
link's calls only queue work, and SQLite writes are the owner's own. Each door event is taken
once: its effect on the machine, the new snapshot, the events for central and the door's event
cursor are written in one transaction, and only then is the event acknowledged to the device.
A restart finds the cursor and the snapshot together, so no passage is lost or counted twice.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from door_controller import events as ev
from door_controller.central_events import events_for_effects, override_payload
from door_controller.device_events import occupancy_event_for
from door_controller.effects import DoorMode, Effect, SendAdmit, SendMode, StaffNotice
from door_controller.occupancy import SENSOR_FAULT_BITS, OccupancyMachine, TransitionRefused
from firmware_bridge.messages import AckResult, EventKind, Mode
from firmware_bridge.notices import (
    CommandResult,
    DeviceEvent,
    DeviceRebooted,
    DeviceStatus,
    EventCursor,
    EventGap,
    LinkDown,
    LinkNotice,
    LinkState,
    LinkUp,
)
from kiosk.store import Store

log = logging.getLogger(__name__)

PROGRESS_KEY = "door_controller.link"
MAX_ADMIT_PER_COMMAND = 10  # the protocol's ADMIT count is 1..10
MODE_RESEND_AFTER_S = 2.0


class MachineHolder(Protocol):
    """Where the owner keeps the one machine in memory (kiosk.admission.OccupancyHolder)."""

    machine: OccupancyMachine


class DoorCommands(Protocol):
    """What the controller asks of firmware_bridge.driver.DoorLink."""

    @property
    def state(self) -> LinkState: ...

    def admit(self, count: int, window_ms: int) -> int: ...

    def set_mode(self, mode: Mode) -> int: ...

    def acknowledge(self, cursor: EventCursor) -> None: ...


@dataclass
class LinkProgress:
    """Stored with every door event: how far the events go, and the passages seen this boot."""

    cursor: EventCursor | None = None
    seen_boot: int | None = None
    seen_in: int = 0
    seen_out: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"cursor": list(self.cursor) if self.cursor else None,
                "seen_boot": self.seen_boot, "seen_in": self.seen_in, "seen_out": self.seen_out}

    @classmethod
    def from_json(cls, value: Any) -> LinkProgress:
        if not isinstance(value, dict):
            return cls()
        cursor = value.get("cursor")
        return cls(EventCursor(int(cursor[0]), int(cursor[1])) if cursor else None,
                   value.get("seen_boot"), int(value.get("seen_in", 0)),
                   int(value.get("seen_out", 0)))

    def seen_for(self, boot: int) -> tuple[int, int]:
        return (self.seen_in, self.seen_out) if self.seen_boot == boot else (0, 0)


@dataclass
class _Pending:
    admits: dict[int, tuple[str | None, int]] = field(default_factory=dict)
    mode_sent_at: float | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class DoorController:
    """Turns door notices and staff actions into machine events, stored and carried out."""

    def __init__(
        self, holder: MachineHolder, store: Store, link: DoorCommands | None = None, *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        listener: Callable[[list[Effect]], None] | None = None,
        link_timeout_s: float = 3.0,
    ) -> None:
        self.holder = holder
        self.store = store
        self.link = link
        self.clock = clock
        self.monotonic = monotonic
        self.listener = listener
        self.link_timeout_s = link_timeout_s
        self.progress = LinkProgress.from_json(store.get_value(PROGRESS_KEY))
        self.boot_count: int | None = None
        self.last_status: DeviceStatus | None = None
        self._pending = _Pending()
        self._started_at = monotonic()
        self.counters: dict[str, int] = {
            "device_events": 0, "duplicate_device_events": 0, "refused_device_events": 0,
            "staff_actions": 0, "staff_refused": 0, "admit_failures": 0, "mode_resends": 0,
            "reconciliations": 0, "event_gaps": 0, "listener_errors": 0,
        }

    @staticmethod
    def resume_cursor(store: Store) -> EventCursor | None:
        """The cursor to build DoorLink with (``resume=``), so stored events are not re-sent."""
        return LinkProgress.from_json(store.get_value(PROGRESS_KEY)).cursor

    def attach(self, link: DoorCommands) -> None:
        self.link = link
        self._started_at = self.monotonic()

    @property
    def machine(self) -> OccupancyMachine:
        return self.holder.machine

    # --- notices from the door link --------------------------------------------------------

    def handle_notice(self, notice: LinkNotice) -> None:
        if isinstance(notice, DeviceEvent):
            self._take_device_event(notice)
        elif isinstance(notice, DeviceStatus):
            self._take_status(notice)
        elif isinstance(notice, CommandResult):
            self._take_command_result(notice)
        elif isinstance(notice, LinkUp):
            self.boot_count = notice.device.boot_count
            self.apply(ev.DoorLinkUp())
        elif isinstance(notice, LinkDown):
            self._pending.mode_sent_at = None
            self.last_status = None  # the device's next STATUS says where it is now
            self.apply(ev.DoorLinkDown(notice.reason))
        elif isinstance(notice, DeviceRebooted):
            self.boot_count = notice.boot_count
            self.apply(ev.DeviceRebooted(notice.previous_boot_count, notice.boot_count))
        elif isinstance(notice, EventGap):
            self._take_gap(notice)

    def _take_device_event(self, notice: DeviceEvent) -> None:
        cursor = EventCursor(*notice.cursor)
        if self.progress.cursor is not None and cursor <= self.progress.cursor:
            self.counters["duplicate_device_events"] += 1
            self._acknowledge(self.progress.cursor)
            return
        self.counters["device_events"] += 1
        progress = self._progress_after(cursor, notice.kind)
        event = occupancy_event_for(notice.kind, notice.arg)
        if event is None:
            self._store_progress(progress)
        else:
            try:
                self.apply(event, progress=progress)
            except TransitionRefused as refused:
                self.counters["refused_device_events"] += 1
                log.error("door event %s at %s not taken: %s", notice.kind, cursor, refused)
                self._store_progress(progress)
        self._acknowledge(cursor)

    def _progress_after(self, cursor: EventCursor, kind: EventKind) -> LinkProgress:
        seen_in, seen_out = self.progress.seen_for(cursor.boot_count)
        if kind is EventKind.PASS_IN:
            seen_in += 1
        elif kind is EventKind.PASS_OUT:
            seen_out += 1
        return LinkProgress(cursor, cursor.boot_count, seen_in, seen_out)

    def _take_status(self, status: DeviceStatus) -> None:
        self.last_status = status
        self._resend_mode_if_device_differs(status)
        boot = self.boot_count
        if boot is None:
            return
        cursor = self.progress.cursor
        caught_up = cursor.event_id if cursor and cursor.boot_count == boot else 0
        if status.last_event_id != caught_up:
            return  # events still on their way; their passages and faults are not missing
        self._reconcile_totals(status, boot)
        self._reconcile_faults(status)

    def _reconcile_totals(self, status: DeviceStatus, boot: int) -> None:
        cursor = self.progress.cursor
        seen_in, seen_out = self.progress.seen_for(boot)
        missed_in, missed_out = status.total_in - seen_in, status.total_out - seen_out
        if missed_in < 0 or missed_out < 0:
            log.warning("door totals in=%d out=%d are below the passages taken (%d, %d)",
                        status.total_in, status.total_out, seen_in, seen_out)
            return
        if missed_in or missed_out:
            self.counters["reconciliations"] += 1
            progress = LinkProgress(cursor, boot, status.total_in, status.total_out)
            self.apply(ev.Reconcile(missed_in, missed_out), progress=progress)

    def _reconcile_faults(self, status: DeviceStatus) -> None:
        """A fault event lost, or a reboot that cleared a fault: the STATUS bits decide."""
        device = status.faults & SENSOR_FAULT_BITS
        known = self.machine.sensor_faults
        if device & ~known:
            log.warning("door reports sensor faults %#x the kiosk had missed", device & ~known)
            self.apply(ev.SensorFault(device & ~known))
        if known & ~device:
            log.warning("door no longer reports sensor faults %#x", known & ~device)
            self.apply(ev.SensorFaultCleared(known & ~device))

    def _resend_mode_if_device_differs(self, status: DeviceStatus) -> None:
        wanted = Mode[self.machine.door_mode.name]
        if status.mode == wanted or self.link is None:
            return
        sent = self._pending.mode_sent_at
        if sent is not None and self.monotonic() - sent < MODE_RESEND_AFTER_S:
            return
        self.counters["mode_resends"] += 1
        log.warning("door is in %s, occupancy wants %s: sending the mode again",
                    Mode(status.mode).name, wanted.name)
        self._send_mode(self.machine.door_mode)

    def _take_command_result(self, notice: CommandResult) -> None:
        if notice.command != "ADMIT":
            if notice.result is not AckResult.OK:
                self._pending.mode_sent_at = None  # the next STATUS shows and re-sends it
            return
        sent = self._pending.admits.pop(notice.seq, None)
        if sent is None or notice.result is AckResult.OK:
            return
        self.counters["admit_failures"] += 1
        ticket, count = sent
        result = notice.result.name if notice.result is not None else "no answer"
        log.warning("ADMIT %d for %s failed: %s", count, ticket or "staff", result)
        self.apply(ev.AdmitFailed(ticket, count))

    def _take_gap(self, gap: EventGap) -> None:
        self.counters["event_gaps"] += 1
        lost = gap.last_event_id - gap.first_event_id + 1
        detail = f"{lost} door events of boot {gap.boot_count} lost: {gap.reason}"
        log.warning("%s", detail)
        self._tell([StaffNotice("events_lost", detail)])

    # --- staff, the clock and the day --------------------------------------------------------

    def staff_action(self, event: ev.OccupancyEvent, *, source: str = "kiosk") -> list[Effect]:
        """A staff override (``source`` "kiosk" or "command"): audited whatever the outcome.

        Raises TransitionRefused, after auditing the refusal, when the machine does not allow it.
        """
        by = getattr(event, "by", "")
        if not isinstance(event, ev.STAFF_EVENTS) or not by:
            raise ValueError(f"{type(event).__name__} is not a staff action naming who did it")
        already_sent = False
        if isinstance(event, ev.Emergency):
            self._send_mode(DoorMode.EMERGENCY)  # at once, before anything is written
            already_sent = True
        self.counters["staff_actions"] += 1
        try:
            return self.apply(event, staff=(by, source), skip_emergency_send=already_sent)
        except TransitionRefused as refused:
            self.counters["staff_refused"] += 1
            self._audit(event, by, source, f"refused: {refused.reason}")
            raise

    def tick(self, *, is_open: bool | None = None) -> None:
        """Call about once a second: the clock, the day's schedule, a door that never came."""
        if self._door_never_answered():
            self.apply(ev.DoorLinkDown("the door did not answer since the kiosk started"))
        if is_open is not None and is_open == self.machine.closed:
            day_event = ev.BranchOpened() if is_open else ev.BranchClosed()
            if self.machine.allows(type(day_event)):
                self.apply(day_event)
        self.apply(ev.Tick(), write_only_on_change=True)

    def _door_never_answered(self) -> bool:
        if self.link is None or not self.machine.link_up:
            return False
        if self.link.state is LinkState.UP:
            return False
        return self.monotonic() - self._started_at > self.link_timeout_s

    # --- one event: machine, store, then the world --------------------------------------------

    def apply(self, event: ev.OccupancyEvent, *, progress: LinkProgress | None = None,
               staff: tuple[str, str] | None = None, write_only_on_change: bool = False,
               skip_emergency_send: bool = False) -> list[Effect]:
        """Handle one event, store its outcome in one transaction, then carry out its effects.

        Raises TransitionRefused, with nothing changed, when the machine does not allow it.
        """
        now = self.clock()
        machine = self.machine.copy()
        effects = machine.handle(event, now)
        snapshot = machine.snapshot()
        if write_only_on_change and not effects and snapshot == self.machine.snapshot():
            return effects
        with self.store.transaction():
            self.store.save_occupancy(snapshot, now)
            for payload in events_for_effects(effects, now):
                self.store.enqueue_event(payload)
            if progress is not None:
                self.store.set_value(PROGRESS_KEY, progress.to_json())
            if staff is not None:
                by, source = staff
                self.store.enqueue_event(override_payload(event, by, source, now))
                self._audit(event, by, source, "ok")
        self.holder.machine = machine
        if progress is not None:
            self.progress = progress
        self.carry_out(effects, skip_emergency_send=skip_emergency_send)
        return effects

    def _store_progress(self, progress: LinkProgress) -> None:
        self.store.set_value(PROGRESS_KEY, progress.to_json())
        self.progress = progress

    def _audit(self, event: ev.OccupancyEvent, by: str, source: str, result: str) -> None:
        from door_controller.central_events import override_action

        action, args = override_action(event)
        self.store.audit(at=self.clock(), actor=by, action=action, args=args, source=source,
                         result=result)

    def _acknowledge(self, cursor: EventCursor) -> None:
        if self.link is not None:
            self.link.acknowledge(cursor)

    def carry_out(self, effects: list[Effect], *, skip_emergency_send: bool = False) -> None:
        """Send the door commands, then tell the listener (screen, staff console, publisher).

        Also the check-in path's hook: kiosk.admission hands its committed effects here.
        """
        for effect in effects:
            if isinstance(effect, SendMode):
                if not (skip_emergency_send and effect.mode is DoorMode.EMERGENCY):
                    self._send_mode(effect.mode)
            elif isinstance(effect, SendAdmit):
                self._send_admit(effect)
        self._tell(effects)

    def _send_mode(self, mode: DoorMode) -> None:
        if self.link is None:
            return
        self.link.set_mode(Mode[mode.name])
        self._pending.mode_sent_at = self.monotonic()

    def _send_admit(self, admit: SendAdmit) -> None:
        if self.link is None:
            return
        left = admit.party_size
        while left > 0:
            count = min(left, MAX_ADMIT_PER_COMMAND)
            seq = self.link.admit(count, admit.window_ms)
            self._pending.admits[seq] = (admit.ticket, count)
            left -= count

    def _tell(self, effects: list[Effect]) -> None:
        if self.listener is None or not effects:
            return
        try:
            self.listener(effects)
        except Exception:
            self.counters["listener_errors"] += 1
            log.exception("the occupancy listener failed on %r; carrying on", effects)


class NoticeInbox:
    """Hands door notices from the link's reader thread to the owner's thread.

    Give ``put`` to DoorLink as ``notify``; the owner calls ``drain`` on its own thread.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[LinkNotice] = queue.SimpleQueue()

    def put(self, notice: LinkNotice) -> None:
        self._queue.put(notice)

    def drain(self, handle: Callable[[LinkNotice], None], *, timeout_s: float = 0.0,
              max_items: int = 1000) -> int:
        """Handle waiting notices (waiting up to ``timeout_s`` for the first); return how many."""
        handled = 0
        try:
            notice = self._queue.get(timeout=timeout_s) if timeout_s > 0 else \
                self._queue.get_nowait()
        except queue.Empty:
            return 0
        while True:
            handle(notice)
            handled += 1
            if handled >= max_items:
                return handled
            try:
                notice = self._queue.get_nowait()
            except queue.Empty:
                return handled
