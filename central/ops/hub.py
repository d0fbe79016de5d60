"""The one owner of ops' state: a thread that takes MQTT messages and operators' requests
from its inbox, applies them to the model, writes today's history and tells the open pages
what changed.

Other threads never change the model: they read it under ``lock`` (the owner holds it while
it applies a batch) or post a request and wait for its answer.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from paho.mqtt.enums import MQTTErrorCode

from central.messages import EventIn, OccupancyIn, Rejected, parse_message
from central.ops import homeassistant, metrics
from central.ops.chart import occupancy_svg
from central.ops.commands import CommandRefused, build_command
from central.ops.config import OpsConfig
from central.ops.daystats import DueBooking, day_numbers
from central.ops.history import History, local_day
from central.ops.model import AlarmNotFound, Changes, OpsModel
from central.store import CentralStore
from central.topics import TopicError, Topics
from kiosk.timeutil import format_rfc3339

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, bool], Any]
BATCH = 1000
FLUSH_EVERY_S = 0.5
TICK_EVERY_S = 5.0
RECENT_ALARMS = 300
RECENT_COMMANDS = 200


@dataclass(eq=False)
class Subscriber:
    """One open page: what changed since it last drew, and a flag to wake its writer."""

    branches: set[str] = field(default_factory=set)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)
    link_changed: bool = False
    wake: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, changes: Changes) -> None:
        with self.lock:
            self.branches |= changes.branches
            for alarm in changes.alarms:
                self.alarms[alarm.event_id] = asdict(alarm)
            for command in changes.commands:
                self.commands[command.command_id] = asdict(command)
        self.wake.set()

    def take(self) -> tuple[set[str], list[dict[str, Any]], list[dict[str, Any]], bool]:
        with self.lock:
            taken = (self.branches, list(self.alarms.values()), list(self.commands.values()),
                     self.link_changed)
            self.branches, self.alarms, self.commands = set(), {}, {}
            self.link_changed = False
            self.wake.clear()
        return taken


class OpsHub:
    def __init__(self, config: OpsConfig, history: History, *,
                 central_store: CentralStore | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config = config
        self.history = history
        self.central_store = central_store
        self.clock = clock
        self.topics = Topics(config.mqtt.root)
        self.model = OpsModel(config.branches, zone=config.zone, outbox_warn=config.outbox_warn,
                              stale_after_s=config.stale_after_s)
        self.lock = threading.RLock()
        self.rejected: Counter[str] = Counter()
        self.link_up = False
        self.publish: Publish | None = None
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=200_000)
        self._subscribers: set[Subscriber] = set()
        self._subs_lock = threading.Lock()
        self._pending_samples: list[OccupancyIn] = []
        self._pending_events: list[EventIn] = []
        self._ha_dirty: set[str] = set()
        self._ha_started = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ops-hub", daemon=True)
        self._today = local_day(clock(), config.zone)

    # -- life -------------------------------------------------------------------------------
    def start(self) -> None:
        self._restore()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._flush_history()

    def _restore(self) -> None:
        self.history.purge_before(self._today - timedelta(days=1))
        with self.lock:
            self.model.restore_seen(self.history.event_ids(self._today - timedelta(days=1)))
            for alarm in self.history.alarms(self._today):
                self.model.restore_alarm(alarm)
            self.model.restore_checkins(self.history.checkin_counts(self._today), self.clock())

    # -- what other threads call ------------------------------------------------------------
    def on_mqtt(self, topic: str, payload: bytes) -> None:
        """From paho's thread: queue the message for the owner."""
        self._inbox.put(("mqtt", (topic, payload)))

    def on_link(self, up: bool) -> None:
        self._inbox.put(("link", up))

    def subscribe(self) -> Subscriber:
        sub = Subscriber()
        with self._subs_lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._subs_lock:
            self._subscribers.discard(sub)

    def issue_command(self, branch: str, action: str, args: Any, operator: str) -> dict[str, Any]:
        """Check, record and publish an operator's command; CommandRefused if it cannot go.

        Recorded before it is published, so a quick answer always finds its command.
        """
        with self.lock:
            if branch not in self.model.branches:
                raise CommandRefused(f"nieznany oddział / unknown branch {branch!r}")
        command = build_command(action, args, operator, self.clock().astimezone(self.config.zone))
        if self.publish is None or not self.link_up:
            raise CommandRefused("brak połączenia z brokerem / not connected to the broker")
        self._ask("command", (command, branch))
        info = self.publish(self.topics.commands(branch),
                            json.dumps(command, ensure_ascii=False).encode("utf-8"), False)
        # NO_CONN: paho keeps a QoS 1 message and sends it on reconnecting, so only a full
        # queue loses it.
        if getattr(info, "rc", 0) not in (MQTTErrorCode.MQTT_ERR_SUCCESS,
                                          MQTTErrorCode.MQTT_ERR_NO_CONN):
            log.error("could not publish %s to %s (paho code %s)", action, branch, info.rc)
            self._ask("command_failed", command["command_id"])
            raise CommandRefused("nie wysłano polecenia / the command could not be sent")
        log.info("%s sent %s %s to %s (%s)", operator, action, command["args"], branch,
                 command["command_id"])
        return command

    def acknowledge(self, event_id: str, operator: str) -> bool:
        """False when no such alarm is held."""
        return bool(self._ask("ack", (event_id, operator)))

    def _ask(self, kind: str, value: Any, timeout: float = 10) -> Any:
        future: Future[Any] = Future()
        self._inbox.put((kind, (value, future)))
        return future.result(timeout)

    # -- reads for the page (any thread) -----------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "branches": [self.model.tile(b) for b in sorted(self.model.branches)],
                "alarms": [asdict(a) for a in list(self.model.alarms.values())[-RECENT_ALARMS:]],
                "commands": [asdict(c) for c in
                             list(self.model.commands.values())[-RECENT_COMMANDS:]],
                "link": self.link_up,
            }

    def tiles(self, branches: set[str]) -> list[dict[str, Any]]:
        with self.lock:
            return [self.model.tile(b) for b in sorted(branches) if b in self.model.branches]

    def metrics_text(self) -> str:
        with self.lock:
            return metrics.render(self.model, dict(self.rejected))

    def branch_name(self, branch: str) -> str | None:
        with self.lock:
            view = self.model.branches.get(branch)
            return view.name if view else None

    def day_view(self, branch: str) -> dict[str, Any]:
        now = self.clock()
        day = local_day(now, self.config.zone)
        samples = self.history.samples(branch, day)
        events = self.history.events(branch, day, ("checkin", "admitted", "passage"))
        due = self._due_bookings(branch, day)
        numbers = day_numbers(samples, events, now.timestamp(), due)
        with self.lock:
            commands = [asdict(c) for c in self.model.commands.values() if c.branch == branch]
        return {"branch": branch, "day": day.isoformat(), "numbers": numbers.as_json(),
                "no_shows_known": due is not None, "commands": commands[-20:]}

    def chart(self, branch: str, name: str) -> str:
        now = self.clock().astimezone(self.config.zone)
        day = now.date()
        start = datetime(day.year, day.month, day.day, tzinfo=self.config.zone)
        return occupancy_svg(name, self.history.samples(branch, day),
                             self.history.events(branch, day, ("passage",)), start, now)

    def _due_bookings(self, branch: str, day: Any) -> list[DueBooking] | None:
        if self.central_store is None:
            return None
        start = datetime(day.year, day.month, day.day, tzinfo=self.config.zone)
        try:
            bookings = self.central_store.bookings_between(branch, start, start + timedelta(1))
            config = self.central_store.branch_config(branch)
        except Exception:
            log.exception("cannot read today's bookings of %s from central's store", branch)
            return None
        late_min = 15
        if config is not None:
            window = config.config.get("checkin_window")
            if isinstance(window, dict) and isinstance(window.get("late_min"), int):
                late_min = window["late_min"]
        return [DueBooking(b.booking_id, (b.starts_at + timedelta(minutes=late_min)).timestamp())
                for b in bookings if b.status == "booked"]

    # -- the owner's loop --------------------------------------------------------------------
    def _run(self) -> None:
        last_flush = last_tick = time.monotonic()
        while not self._stop.is_set():
            items = self._take_batch()
            changes = Changes()
            if items:
                with self.lock:
                    for kind, value in items:
                        changes.merge(self._handle(kind, value))
            now_m = time.monotonic()
            if now_m - last_tick >= TICK_EVERY_S:
                last_tick = now_m
                changes.merge(self._tick())
            self._notify(changes)
            self._pending_samples.extend(changes.occupancy)
            self._pending_events.extend(changes.new_events)
            for branch, _ in changes.new_kiosks:
                self._ha_dirty.add(branch)
            if now_m - last_flush >= FLUSH_EVERY_S or len(self._pending_samples) > 5000:
                last_flush = now_m
                self._flush_history()
                self._publish_home_assistant()

    def _take_batch(self) -> list[tuple[str, Any]]:
        try:
            items = [self._inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(items) < BATCH:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return items

    def _handle(self, kind: str, value: Any) -> Changes:
        if kind == "mqtt":
            return self._handle_mqtt(*value)
        if kind == "link":
            if value and not self._ha_started:
                self._ha_started = True
                self._start_home_assistant()
            self.link_up = bool(value)
            with self._subs_lock:
                for sub in self._subscribers:
                    sub.link_changed = True
                    sub.wake.set()
            return Changes()
        (request, future) = value
        try:
            result, changes = self._handle_request(kind, request)
        except Exception as exc:  # the asking thread reports it; the owner goes on
            future.set_exception(exc)
            return Changes()
        future.set_result(result)
        return changes

    def _handle_request(self, kind: str, request: Any) -> tuple[Any, Changes]:
        if kind == "command":
            command, branch = request
            changes = self.model.command_issued(command, branch)
            self.history.record_command(changes.commands[0])
            return command["command_id"], changes
        if kind == "command_failed":
            changes = self.model.command_failed(request, "not sent: the MQTT queue is full")
            for command in changes.commands:
                self.history.record_command(command)
            return None, changes
        if kind == "ack":
            event_id, operator = request
            at = format_rfc3339(self.clock().astimezone(self.config.zone))
            try:
                changes = self.model.acknowledge(event_id, operator, at)
            except AlarmNotFound:
                return False, Changes()
            if changes.alarms:
                self.history.record_ack(event_id, operator, at)
            return True, changes
        raise ValueError(f"unknown request {kind!r}")

    def _handle_mqtt(self, topic: str, payload: bytes) -> Changes:
        try:
            parsed = self.topics.parse(topic)
            if not payload and parsed.kind in ("status", "occupancy"):
                log.info("retained %s of %s/%s cleared", parsed.kind, parsed.branch,
                         parsed.kiosk or "-")
                return self.model.clear_retained(parsed.kind, parsed.branch, parsed.kiosk)
            message = parse_message(parsed, payload)
        except TopicError as exc:
            self.rejected["bad_topic"] += 1
            log.warning("dropped a message: %s", exc)
            return Changes()
        except Rejected as exc:
            self.rejected[exc.reason] += 1
            log.warning("dropped a message on %s: %s", topic, exc.detail)
            return Changes()
        changes = self.model.apply(message, self.clock())
        for command in changes.commands:
            self.history.record_command(command)
        return changes

    def _tick(self) -> Changes:
        now = self.clock()
        day = local_day(now, self.config.zone)
        if day != self._today:
            self._today = day
            self.history.purge_before(day - timedelta(days=1))
        with self.lock:
            return self.model.tick(now)

    def _notify(self, changes: Changes) -> None:
        if not (changes.branches or changes.alarms or changes.commands):
            return
        with self._subs_lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            sub.push(changes)

    def _flush_history(self) -> None:
        if not (self._pending_samples or self._pending_events):
            return
        samples, events = self._pending_samples, self._pending_events
        self._pending_samples, self._pending_events = [], []
        try:
            self.history.write(samples, events, lambda at: local_day(at, self.config.zone))
        except Exception:
            log.exception("could not write %d samples and %d events to the history; "
                          "the live page is unaffected", len(samples), len(events))

    # -- Home Assistant discovery --------------------------------------------------------------
    def _start_home_assistant(self) -> None:
        """Publish every configured branch, and remove entities no longer wanted."""
        prefix = self.config.home_assistant_prefix
        published = self.history.ha_entities()
        wanted: set[str] = set()
        if self.config.home_assistant:
            for branch in self.config.branches:
                wanted |= homeassistant.branch_topics(prefix, branch)
                self._ha_dirty.add(branch)
        # Turning discovery off, or taking a branch out of the config, removes its entities;
        # a branch only seen on MQTT is published again when it is next heard.
        stale = published - wanted
        if stale and self.publish is not None:
            for topic in sorted(stale):
                self.publish(topic, b"", True)
            self.history.set_ha_entities((), stale)
            log.info("removed %d Home Assistant entities no longer wanted", len(stale))

    def _publish_home_assistant(self) -> None:
        if not self.config.home_assistant or self.publish is None or not self._ha_dirty:
            return
        prefix, root = self.config.home_assistant_prefix, self.config.mqtt.root
        topics: list[str] = []
        with self.lock:
            wanted = [(b, self.model.branches[b].name, list(self.model.branches[b].kiosks))
                      for b in sorted(self._ha_dirty) if b in self.model.branches]
        self._ha_dirty.clear()
        for branch, name, kiosks in wanted:
            for topic, payload in homeassistant.discovery_messages(prefix, root, branch, name,
                                                                   kiosks):
                self.publish(topic, payload, True)
                topics.append(topic)
        self.history.set_ha_entities(topics, ())
