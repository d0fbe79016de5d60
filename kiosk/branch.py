"""The one owner of the branch's state.

Everything that changes the branch (a code typed at the screen, a passage at the door, a
command from central, a staff override, the clock) becomes a task on the owner's queue and
runs on the owner's thread, one at a time. Adapters (the door link's reader, paho's loop,
the printer worker, Kivy's main loop) run on their own threads and only ``post`` or
``submit`` tasks. After each task, listeners are told the new ``BranchView``; the UI shows
what it is told and never waits for the store, the door, the printer or the broker.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from door_controller.central_events import door_status, events_for_effects, occupancy_payload
from door_controller.commands import OCCUPANCY_ACTIONS, CommandError, staff_event_for_command
from door_controller.controller import DoorController
from door_controller.effects import (
    Called,
    Drift,
    Effect,
    NotEntered,
    Placed,
    SendAdmit,
    StaffNotice,
)
from door_controller.events import (
    SetLimit,
    WalkIn,
)
from door_controller.messages import staff_text
from door_controller.occupancy import TransitionRefused
from firmware_bridge.notices import LinkNotice
from kiosk import __version__
from kiosk.admission import NO_ENTRY_STATES, MachineAdmission, OccupancyHolder
from kiosk.bookings import ParsedFeed
from kiosk.checkin import CheckinResult, CheckinService, Placement
from kiosk.config import ConfigProblem, KioskConfig
from kiosk.events import alarm_event, checkin_event, override_event
from kiosk.messages import welcome_text
from kiosk.ownership import StoreOwnership
from kiosk.printing.queue import PrintQueue, UnknownTicketError
from kiosk.printing.slip import Slip, SlipFormatError, make_ticket_id
from kiosk.settings import BranchSettings, describe_hours, parse_branch_settings
from kiosk.standalone import make_guard
from kiosk.store import CheckinRecord, ImportResult, Store
from kiosk.timeutil import format_rfc3339, parse_rfc3339

log = logging.getLogger(__name__)

T = TypeVar("T")
CENTRAL_CONFIG_KEY = "branch.central_config"
LAST_FEED_KEY = "sync.last_feed_at"
LAST_PURGE_KEY = "store.last_purge_day"
STAFF_PIN_KEY = "staff.pin_gate"
WALK_IN_PREFIX = "W"
TICK_INTERVAL_S = 1.0


class DoorSide(Protocol):
    """What the owner asks of the door: non-blocking commands to the device."""

    def admit(self, count: int, window_ms: int) -> Any: ...

    def set_mode(self, mode: Any) -> Any: ...


class PrinterSide(Protocol):
    def wake(self) -> None: ...


class SyncSide(Protocol):
    def wake(self) -> None: ...

    def request_resync(self, day: date) -> None: ...


@dataclass(frozen=True)
class WaitingTicket:
    ticket: str
    party_size: int


@dataclass(frozen=True)
class BranchView:
    """What the screens and the status message show; a value, safe to hand to any thread."""

    branch_name: str
    state: str
    count: int
    limit: int
    waiting: tuple[WaitingTicket, ...]
    hours_today: dict[str, str]
    door: str  # "ok", "down", "fault" or "absent"
    printer: str  # "ok", "paper_low", "paper_out", "offline", "error"
    printer_detail: str
    outbox: int
    sync: str                      # "connected", "offline", "connecting" or "off"
    last_feed_at: str | None
    called: tuple[str, ...]  # tickets called most recently, newest first
    staff_items: tuple[str, ...]  # what the staff should look at, newest first
    at: str


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Branch:
    """Owns the store, the occupancy machine and the check-in service; runs one thread."""

    def __init__(self, config: KioskConfig, *, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.store_path: Path = config.database_path
        self._clock = clock or (lambda: datetime.now(self.settings.zone))
        self._tasks: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[BranchView], None]] = []
        self._last_view: BranchView | None = None
        self._stopping = threading.Event()
        self.door: DoorSide | None = None
        self.printer: PrinterSide | None = None
        self.sync: SyncSide | None = None
        self.printer_state = ("ok", "")
        self.sync_state = "connecting" if config.mqtt.enabled else "off"
        self._called: list[str] = []
        self._staff_items: list[str] = []
        self.counters = {"tasks": 0, "task_errors": 0, "refused_transitions": 0}
        # The store and everything on it belong to the owner's thread once it starts, and to
        # no other process meanwhile (StoreInUse if one has it).
        self._ownership = StoreOwnership.acquire(self.store_path, "a running kiosk")
        try:
            self.store = Store(self.store_path)
            self.settings = self._initial_settings()
            self.occupancy = OccupancyHolder.from_store(
                self.store, self.settings.limit, door_present=config.door.enabled, now=self._clock()
            )
            self.door_controller = DoorController(
                self.occupancy,
                self.store,
                link=None,
                clock=self._local_now,
                listener=self._on_effects,
            )
            self.admission = MachineAdmission(self.occupancy,
                                              carry_out=self.door_controller.carry_out)
            self.checkins = CheckinService(
                self.store,
                lambda: self.settings,
                self.admission,
                guard=make_guard(config),
                entry_paused=lambda: self.occupancy.machine.state in NO_ENTRY_STATES,
                on_accepted=self._queue_slip,
            )
            self.print_queue = PrintQueue(self.store.db)
        except BaseException:
            self._ownership.release()
            raise

    # --- threads -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the branch is already running")
        self._thread = threading.Thread(target=self._run, name="branch-owner", daemon=True)
        self._thread.start()
        self.post(self._on_start)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the owner's thread (if it runs), close the store and let another owner in."""
        if self._thread is not None:
            self._stopping.set()
            self._tasks.put(None)
            self._thread.join(timeout_s)
            self._thread = None
        self.store.close()
        self._ownership.release()

    def post(self, task: Callable[[], None]) -> None:
        """Run ``task`` on the owner's thread; safe from any thread, never blocks."""
        self._tasks.put(task)

    def submit(self, task: Callable[[], T]) -> Future[T]:
        """Run ``task`` on the owner's thread and get its result as a Future."""
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(task())
            except BaseException as exc:  # handed to the caller, not lost
                future.set_exception(exc)

        self.post(run)
        return future

    def add_listener(self, listener: Callable[[BranchView], None]) -> None:
        self._listeners.append(listener)

    def _run(self) -> None:
        next_tick = 0.0
        import time

        while not self._stopping.is_set():
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                task = self._tasks.get(timeout=timeout)
            except queue.Empty:
                task = self._tick
                next_tick = time.monotonic() + TICK_INTERVAL_S
            if task is None:
                break
            self.counters["tasks"] += 1
            try:
                task()
            except Exception:
                self.counters["task_errors"] += 1
                log.exception("a task on the branch's owner thread failed; the branch goes on")
            self._publish_view()

    # --- the customer's path -------------------------------------------------------------

    def check_in(self, code: str, language: str = "pl") -> Future[CheckinResult]:
        """From the screen or the scanner: the answer arrives as a Future, never blocking."""
        return self.submit(lambda: self._check_in(code, language))

    def _check_in(self, code: str, language: str) -> CheckinResult:
        result = self.checkins.check_in(code, self._clock(), language)
        self._after_outbox_write()
        return result

    def _queue_slip(self, store: Store, result: CheckinResult) -> None:
        """Inside the check-in's transaction: the slip is queued with the check-in itself."""
        if result.ticket is None or result.placement is None:
            return
        booking = result.booking
        now = self.settings.local(self._clock())
        language: Literal["pl", "en"] = "en" if result.language == "en" else "pl"
        slip = Slip(
            branch_name=self.settings.name,
            ticket=result.ticket,
            service_name={"pl": booking.service_name_pl, "en": booking.service_name_en}
            if booking
            else {"pl": "Bez rezerwacji", "en": "Walk-in"},
            language=language,
            booking_starts_at=self.settings.local(booking.starts_at) if booking else None,
            instruction="enter" if result.placement.outcome == "admitted" else "wait",
            position_in_line=result.placement.position,
            printed_at=now,
            ticket_id=make_ticket_id(self.config.branch_id, now, result.ticket),
        )
        try:
            PrintQueue(store.db).enqueue(slip, "checkin" if booking else "walk_in", now)
        except SlipFormatError as exc:
            # The check-in stands; the screen shows the ticket and the staff can reprint.
            log.error("slip for %s could not be made: %s", result.ticket, exc)
            self._staff_item(f"{result.ticket}: bilet nie wydrukowany / slip not printed ({exc})")

    # --- occupancy ---------------------------------------------------------------------

    def _local_now(self) -> datetime:
        return self.settings.local(self._clock())

    def _on_effects(self, effects: list[Effect]) -> None:
        """The door controller's listener: calls on the screen, items for the staff."""
        for effect in effects:
            if isinstance(effect, Called) or (isinstance(effect, SendAdmit) and effect.called):
                if effect.ticket:
                    self._call(effect.ticket)
            elif isinstance(effect, NotEntered | StaffNotice | Drift):
                text = staff_text(effect)
                if text is not None:
                    self._staff_item(f"{text[0]} / {text[1]}")
        self._after_outbox_write()

    def handle_door_notice(self, notice: LinkNotice) -> None:
        """On the owner's thread: a notice from the door link's reader thread."""
        self.door_controller.handle_notice(notice)

    def _call(self, ticket: str) -> None:
        self._called = [ticket, *[t for t in self._called if t != ticket]][:5]

    def _staff_item(self, text: str) -> None:
        self._staff_items = [text, *self._staff_items][:20]

    # --- staff and central commands ------------------------------------------------------

    def execute(
        self, action: str, args: dict[str, Any], by: str, source: str, now: datetime
    ) -> tuple[bool, str | None]:
        """A staff override or a central command; audited and sent to central either way."""
        result = self._execute(action, args, by, source, now)
        return result.ok, result.error

    def run_command(self, command_id: str, action: str, args: dict[str, Any], by: str,
                    now: datetime, *, refused: str | None = None) -> tuple[bool, str | None, bool]:
        """A command from central, carried out once per command_id: (ok, error, repeated).

        Carrying it out and recording its id are one transaction, so a crash cannot run it
        twice. A repeat is not carried out again but answered with the first outcome.
        ``refused`` is the reason when the command was refused before reaching here.
        """
        earlier = self.store.command_outcome(command_id)
        if earlier is not None:
            return earlier[0], earlier[1], True
        error: str | None
        with self.store.transaction():
            if refused is not None:
                ok, error = False, refused
                self._audit(now, (by, action, args, "command"), result=f"refused: {refused}")
            else:
                ok, error = self.execute(action, args, by, "command", now)
            self.store.record_command(command_id, now, ok, error)
        return ok, error, False

    def staff_action(self, action: str, args: dict[str, Any], by: str) -> Future[ActionResult]:
        """From the staff screen: runs on the owner's thread, answers through a Future."""
        return self.submit(lambda: self._execute(action, args, by, "kiosk", self._clock()))

    def _execute(
        self, action: str, args: dict[str, Any], by: str, source: str, now: datetime
    ) -> ActionResult:
        audit = (by, action, args, source)
        if action in OCCUPANCY_ACTIONS:
            try:
                event = staff_event_for_command(action, args, by)
            except CommandError as exc:
                self._audit(now, audit, result=f"refused: {exc}")
                return ActionResult(False, str(exc))
            try:
                self.door_controller.staff_action(event, source=source)
            except TransitionRefused as refused:
                return ActionResult(False, f"{refused.reason} (state {refused.state.value})")
            return ActionResult(True)
        if action == "walk_in":
            return self._walk_in(args, by, source, now)
        if action == "reprint":
            return self._reprint(args, by, source, now)
        if action == "resync":
            if self.sync is not None:
                self.sync.request_resync(self.settings.local(now).date())
            self._record_override(now, audit)
            return ActionResult(True)
        self._audit(now, audit, result="refused: unknown action")
        return ActionResult(False, f"unknown action {action!r}")

    def _walk_in(self, args: dict[str, Any], by: str, source: str, now: datetime) -> ActionResult:
        """A customer without a booking: a ticket, a place in line and a slip."""
        if not self.settings.walk_ins:
            return ActionResult(False, "walk-ins are off for this branch (walk_ins = false)")
        try:
            party_size = _int_arg(args, "party_size", 1, 10) if args else 1
        except ValueError as exc:
            return ActionResult(False, str(exc))
        local = self.settings.local(now)
        machine = self.occupancy.machine.copy()
        try:
            with self.store.transaction():
                number = self.store.take_ticket_number(WALK_IN_PREFIX, local.date())
                ticket = f"{WALK_IN_PREFIX}{number:03d}"
                effects = machine.handle(WalkIn(ticket=ticket, party_size=party_size, by=by), now)
                placed = next(e for e in effects if isinstance(e, Placed))
                event = checkin_event(
                    local,
                    booking_id=None,
                    ticket=ticket,
                    party_size=party_size,
                    outcome=placed.outcome,
                )
                self.store.insert_checkin(
                    CheckinRecord(
                        booking_id=None,
                        ticket=ticket,
                        service_date=local.date().isoformat(),
                        party_size=party_size,
                        outcome=placed.outcome,
                        language="pl",
                        checked_in_at=local,
                        event_id=event["event_id"],
                    )
                )
                self.store.enqueue_event(event)
                self.store.save_occupancy(machine.snapshot(), now)
                for payload in events_for_effects(effects, local):
                    self.store.enqueue_event(payload)
                result = CheckinResult(
                    event=event,
                    text=welcome_text(ticket, placed.outcome, placed.position),
                    ticket=ticket,
                    placement=Placement(placed.outcome, placed.position),
                )
                self._queue_slip(self.store, result)
                self._record_override(now, (by, "walk_in", {"party_size": party_size}, source))
        except TransitionRefused as refused:
            self._audit(now, (by, "walk_in", args, source), result=f"refused: {refused.reason}")
            return ActionResult(False, f"{refused.reason} (state {refused.state.value})")
        self.occupancy.machine = machine
        self.door_controller.carry_out(effects)
        self._after_outbox_write()
        return ActionResult(True, detail={"ticket": ticket, "outcome": placed.outcome})

    def _reprint(self, args: dict[str, Any], by: str, source: str, now: datetime) -> ActionResult:
        ticket = args.get("ticket")
        if not isinstance(ticket, str):
            return ActionResult(False, "reprint takes {ticket}")
        try:
            with self.store.transaction():
                self.print_queue.reprint(ticket, self.settings.local(now))
                self._record_override(now, (by, "reprint", {"ticket": ticket}, source))
        except UnknownTicketError:
            return ActionResult(False, f"no slip was printed for ticket {ticket} today")
        if self.printer is not None:
            self.printer.wake()
        self._after_outbox_write()
        return ActionResult(True)

    def _record_override(self, now: datetime, audit: tuple[str, str, dict[str, Any], str]) -> None:
        actor, action, args, source = audit
        with self.store.transaction():
            self._audit(now, audit, result="ok")
            self.store.enqueue_event(
                override_event(
                    self.settings.local(now), action=action, args=args, by=actor, source=source
                )
            )
        self._after_outbox_write()

    def _audit(
        self, now: datetime, audit: tuple[str, str, dict[str, Any], str], *, result: str
    ) -> None:
        actor, action, args, source = audit
        self.store.audit(
            at=self.settings.local(now),
            actor=actor,
            action=action,
            args=args,
            source=source,
            result=result,
        )

    # --- central ---------------------------------------------------------------------------

    def apply_feed(self, feed: ParsedFeed, now: datetime) -> ImportResult:
        result = self.store.upsert_bookings(feed.bookings, now)
        self.store.set_value(LAST_FEED_KEY, format_rfc3339(self.settings.local(now)))
        for error in feed.errors:
            log.warning("booking feed: dropped %s", error)
        return result

    def apply_central_config(self, raw: dict[str, Any], now: datetime) -> list[ConfigProblem]:
        """Central's settings replace the file's; an older or equal version changes nothing."""
        settings, problems = parse_branch_settings(raw, prefix="config")
        if settings is None:
            return problems
        if settings.version <= self.settings.version and self._has_central_config():
            return []
        self.store.set_value(CENTRAL_CONFIG_KEY, raw)
        old_limit = self.settings.limit
        self.settings = settings
        if settings.limit != old_limit:
            self.door_controller.apply(SetLimit(limit=settings.limit, by="central"))
        return []

    def _has_central_config(self) -> bool:
        return self.store.get_value(CENTRAL_CONFIG_KEY) is not None

    def _initial_settings(self) -> BranchSettings:
        stored = self.store.get_value(CENTRAL_CONFIG_KEY)
        if stored is not None:
            settings, problems = parse_branch_settings(stored, prefix="config")
            if settings is not None:
                return settings
            log.error(
                "stored central config is unusable (%s); using the file's settings",
                "; ".join(map(str, problems)),
            )
        return self.config.branch

    # --- views ---------------------------------------------------------------------------

    def view(self) -> BranchView:
        machine = self.occupancy.machine
        now = self.settings.local(self._clock())
        today = now.date()
        return BranchView(
            branch_name=self.settings.name,
            state=machine.state.value,
            count=machine.count,
            limit=machine.limit,
            waiting=tuple(WaitingTicket(w.ticket, w.party_size) for w in machine.waiting),
            hours_today={lang: describe_hours(self.settings, today, lang) for lang in ("pl", "en")},
            door=self._door_word(),
            printer=self.printer_state[0],
            printer_detail=self.printer_state[1],
            outbox=self.store.outbox_size(),
            sync=self.sync_state,
            last_feed_at=self.store.get_value(LAST_FEED_KEY),
            called=tuple(self._called),
            staff_items=tuple(self._staff_items),
            at=format_rfc3339(now),
        )

    def _door_word(self) -> str:
        """"absent" without a board, else what the occupancy machine knows of the door."""
        if not self.config.door.enabled:
            return "absent"
        return door_status(self.occupancy.machine)

    def occupancy_payload(self, now: datetime) -> dict[str, Any]:
        return occupancy_payload(self.occupancy.machine, self.settings.local(now))

    def status_facts(self) -> dict[str, Any]:
        door = self._door_word()
        return {
            "version": __version__,
            "door": "ok" if door == "absent" else door,
            "printer": self.printer_state[0],
            "outbox": self.store.outbox_size(),
            "last_feed_at": self.store.get_value(LAST_FEED_KEY),
        }

    def _publish_view(self) -> None:
        if not self._listeners:
            return
        view = self.view()
        if self._last_view is not None and replace(view, at="") == replace(self._last_view, at=""):
            return
        self._last_view = view
        for listener in list(self._listeners):
            try:
                listener(view)
            except Exception:
                log.exception("a branch listener failed; the others are still told")

    # --- adapters' reports ---------------------------------------------------------------

    def set_printer_state(self, state: str, detail: str) -> None:
        """On the owner's thread: the printer worker's report; a problem is an alarm."""
        previous = self.printer_state[0]
        self.printer_state = (state, detail)
        if state != previous and state not in ("ok", "paper_low"):
            local = self.settings.local(self._clock())
            with self.store.transaction():
                self.store.enqueue_event(
                    alarm_event(local, kind="printer", detail=f"{state}: {detail}")
                )
            self._staff_item(f"drukarka / printer: {state} ({detail})")
            self._after_outbox_write()

    def raise_alarm(self, kind: str, detail: str, *, actor: str, action: str,
                    args: dict[str, Any]) -> None:
        """On the owner's thread: an alarm for central and the staff, audited."""
        local = self._local_now()
        with self.store.transaction():
            self.store.enqueue_event(alarm_event(local, kind=kind, detail=detail))
            self.store.audit(at=local, actor=actor, action=action, args=args, source="kiosk",
                             result="alarm")
        self._staff_item(detail)
        log.warning("alarm %s: %s", kind, detail)
        self._after_outbox_write()

    def staff_pin_state(self) -> tuple[int, float]:
        """On the owner's thread: wrong staff PINs in a row and the seconds left to wait."""
        value = self.store.get_value(STAFF_PIN_KEY)
        if value is None:
            return 0, 0.0
        try:
            failures = value["failures"]
            if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
                raise ValueError(f"failures {failures!r} is not a count")
            until = parse_rfc3339(value["locked_until"], field="locked_until")
        except (TypeError, KeyError, ValueError) as exc:
            log.warning("the kept staff PIN state %r is not readable (%s); starting again from "
                        "no wrong PINs", value, exc)
            return 0, 0.0
        return failures, max(0.0, (until - self._clock()).total_seconds())

    def save_staff_pin_state(self, failures: int, wait_s: float) -> None:
        """On the owner's thread: keep the PIN slowdown for after a restart."""
        until = self._local_now() + timedelta(seconds=wait_s)
        self.store.set_value(STAFF_PIN_KEY, {"failures": failures,
                                             "locked_until": format_rfc3339(until)})

    def set_sync_state(self, state: str) -> None:
        """On the owner's thread: the MQTT link to central came up or went down."""
        self.sync_state = state

    def _after_outbox_write(self) -> None:
        if self.sync is not None:
            self.sync.wake()

    # --- the clock -----------------------------------------------------------------------

    def _on_start(self) -> None:
        now = self._clock()
        self._purge_if_due(now)
        self.door_controller.tick(is_open=self.settings.is_open(now))

    def _tick(self) -> None:
        now = self._clock()
        self.door_controller.tick(is_open=self.settings.is_open(now))
        self._purge_if_due(now)

    def _purge_if_due(self, now: datetime) -> None:
        today = self.settings.local(now).date().isoformat()
        if self.store.get_value(LAST_PURGE_KEY) == today:
            return
        removed = self.store.purge(now, self.config.purge_after_days)
        self.store.set_value(LAST_PURGE_KEY, today)
        log.info(
            "purged personal data older than %d day(s): %s", self.config.purge_after_days, removed
        )


def _int_arg(args: dict[str, Any], name: str, low: int, high: int) -> int:
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value
