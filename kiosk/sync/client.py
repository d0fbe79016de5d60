"""The paho adapter: the kiosk's MQTT connection to central.

Three threads meet here, and none of them changes the branch's state itself:
- paho's network thread receives messages, turns each into a decision (``route_message``)
  and posts the work to the branch's owner; acks from central go to the sync thread;
- the owner's thread runs what was posted (a feed, a config, a command) and the listener
  that hands over the newest occupancy and status facts;
- the sync thread owns its own Store connection: it publishes the outbox in order, deletes
  what central acknowledged, and publishes occupancy, status and resync requests.

paho keeps its session only in memory, so the outbox in SQLite is the truth: after every
reconnect, and periodically, what central has not acknowledged is published again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from kiosk.bookings import ParsedFeed
from kiosk.config import ConfigProblem, KioskConfig
from kiosk.store import ImportResult, Store
from kiosk.sync.inbound import (
    Acknowledge,
    ApplyConfig,
    ApplyFeed,
    Decision,
    Drop,
    RefuseCommand,
    RunCommand,
    route_message,
)
from kiosk.sync.nodelay import set_no_delay
from kiosk.sync.outbox import OutboxTracker
from kiosk.sync.payloads import (
    command_result_payload,
    offline_payload,
    resync_payload,
    status_payload,
    will_payload,
)
from kiosk.sync.schedule import resync_due
from kiosk.sync.throttle import PublishThrottle
from kiosk.sync.topics import KioskTopics
from kiosk.timeutil import format_rfc3339

log = logging.getLogger(__name__)

RESYNC_KEY = "sync.last_resync_day"
OUTBOX_BATCH = 200
IDLE_WAKE_S = 1.0
MQTT_INFLIGHT = 100
BACKLOG_CHECK_S = 0.5
SEND_RECORD_S = 1.0
NO_MATCHING_SUBSCRIBERS = 0x10  # MQTT 5 PUBACK reason: the broker had nobody to deliver to


class BranchPort(Protocol):
    """What the sync asks of the owner of the branch's state (``kiosk.branch.Branch``)."""

    store_path: Path

    def post(self, fn: Callable[[], None]) -> None: ...

    def apply_feed(self, feed: ParsedFeed, now: datetime) -> ImportResult: ...

    def apply_central_config(self, raw: dict[str, Any], now: datetime) -> list[ConfigProblem]: ...

    def run_command(self, command_id: str, action: str, args: dict[str, Any], by: str,
                    now: datetime, *, refused: str | None = None
                    ) -> tuple[bool, str | None, bool]: ...

    def raise_alarm(self, kind: str, detail: str, *, actor: str, action: str,
                    args: dict[str, Any]) -> None: ...

    def set_sync_state(self, state: str) -> None: ...

    def occupancy_payload(self, now: datetime) -> dict[str, Any]: ...

    def status_facts(self) -> dict[str, Any]: ...

    def add_listener(self, fn: Callable[[Any], None]) -> None: ...


class SyncClient:
    def __init__(
        self,
        config: KioskConfig,
        branch: BranchPort,
        *,
        clock: Callable[[], datetime] | None = None,
        window: int = 1000,
        resend_after_s: float = 30.0,
        occupancy_interval_s: float = 0.2,
        status_interval_s: float = 1.0,
        heartbeat_s: float = 60.0,
        reconnect_delay_s: tuple[int, int] = (1, 30),
    ) -> None:
        self.config = config
        self.branch = branch
        self.topics = KioskTopics(config.mqtt.topic_root, config.branch_id, config.kiosk_id)
        self._clock = clock or (lambda: datetime.now(config.branch.zone))
        self._window = window
        self._resend_after_s = resend_after_s
        self._occupancy = PublishThrottle(occupancy_interval_s, heartbeat_s)
        self._status = PublishThrottle(
            status_interval_s, heartbeat_s,
            same=lambda p: {k: v for k, v in p.items() if k not in ("at", "outbox")},
        )
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._acks: list[str] = []
        self._unheard: list[int] = []
        self._resync_days: list[date] = []
        self._connections = 0
        self._connected = False
        self._occupancy_in: dict[str, Any] | None = None
        self._facts: dict[str, Any] = {}
        self._outbox_size = 0
        self._backlog = False
        self._next_backlog_check = 0.0
        self._sent_rows: list[tuple[int, str]] = []
        # Set by the sync thread when the window is full: wake it once this many PUBACKs have
        # made room (OutboxTracker.wake_after).
        self._wake_after_pubacks = 0
        self._resync_checked = ""
        self._next_send_record = 0.0
        self._thread: threading.Thread | None = None
        self.counters: Counter[str] = Counter()
        self._client = self._make_client(reconnect_delay_s)

    # --- life cycle -----------------------------------------------------------------------

    def _make_client(self, reconnect_delay_s: tuple[int, int]) -> mqtt.Client:
        cfg = self.config.mqtt
        # MQTT 3.1.1 is only for the demo's embedded broker: the session is kept with
        # clean_session=False instead of clean start and an expiry, and nothing carries
        # MQTT 5 properties.
        mqtt5 = cfg.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.kiosk_id,
            protocol=MQTTProtocolVersion.MQTTv5 if mqtt5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if mqtt5 else False,
            # A message is acknowledged once the owner has stored what it carries, so a
            # kiosk that dies in between gets it again from its session on the broker.
            manual_ack=True,
        )
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            client.tls_set(ca_certs=cfg.ca_file)
        client.will_set(self.topics.status, _json(will_payload(self._clock())), qos=1,
                        retain=True)
        client.reconnect_delay_set(*reconnect_delay_s)
        # paho sends at most this many before their PUBACKs and queues the rest of the window
        # itself, so its network thread refills the pipe without waiting for the sync thread.
        client.max_inflight_messages_set(MQTT_INFLIGHT)
        client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        client.on_socket_open = set_no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        return client

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the sync client is already running")
        cfg = self.config.mqtt
        if cfg.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)
            # paho sets no expiry by default, and then the broker forgets the session at once.
            properties.SessionExpiryInterval = cfg.session_expiry_s
            self._client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s,
                                       clean_start=False, properties=properties)
        else:
            self._client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self.branch.add_listener(self._on_branch_change)
        self.branch.post(self._take_branch_state)
        self._thread = threading.Thread(target=self._run, name="sync-outbox", daemon=True)
        self._thread.start()
        self._client.loop_start()
        log.info("sync with central via %s:%d as %s", cfg.host, cfg.port, self.config.kiosk_id)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Say goodbye (an offline status), then close the connection and the threads."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._client.is_connected():
            with self._lock:
                facts, outbox = dict(self._facts), self._outbox_size
            info = self._publish(self.topics.status,
                                 offline_payload(facts, outbox=outbox, now=self._clock()),
                                 retain=True)
            info.wait_for_publish(min(timeout_s, 2.0))
        # paho 2.2 logs "Client is not connected" at ERROR once its loop ends after a clean
        # disconnect; nothing is wrong then, so its log is off from here.
        self._client.disable_logger()
        self._client.disconnect()
        self._client.loop_stop()

    def wake(self) -> None:
        """The owner queued events: publish them now rather than at the next timer."""
        self._wakeup.set()

    def request_resync(self, day: date) -> None:
        """Ask central for all bookings of ``day`` (from any thread)."""
        with self._lock:
            self._resync_days.append(day)
        self._wakeup.set()

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected

    # --- paho's thread --------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: ReasonCode, properties: Properties | None) -> None:
        if reason_code.is_failure:
            self.counters["connect_refused"] += 1
            log.error("the broker refused the connection: %s; check mqtt.username, "
                      "mqtt.password and the broker's ACL for kiosk %s", reason_code,
                      self.config.kiosk_id)
            return
        client.subscribe([(topic, 1) for topic in self.topics.subscriptions()])
        with self._lock:
            self._connections += 1
            self._connected = True
        self.counters["connections"] += 1
        log.info("connected to the broker (session present: %s)", flags.session_present)
        self.branch.post(lambda: self.branch.set_sync_state("connected"))
        self._wakeup.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reason_codes: list[ReasonCode], properties: Properties) -> None:
        for topic, code in zip(self.topics.subscriptions(), reason_codes, strict=False):
            if code.is_failure:
                self.counters["subscribe_refused"] += 1
                log.error("the broker refused the subscription to %s (%s); check the broker's "
                          "ACL for kiosk %s", topic, code, self.config.kiosk_id)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any,
                       flags: mqtt.DisconnectFlags, reason_code: ReasonCode,
                       properties: Properties | None) -> None:
        with self._lock:
            self._connected = False
        self.branch.post(lambda: self.branch.set_sync_state("offline"))
        if not self._stopping.is_set():
            self.counters["disconnections"] += 1
            log.warning("lost the broker (%s); check-ins go on, events wait in the outbox",
                        reason_code)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason_code: ReasonCode, properties: Properties) -> None:
        if reason_code.value == NO_MATCHING_SUBSCRIBERS:
            with self._lock:
                self._unheard.append(mid)
            self._wakeup.set()
        elif reason_code.is_failure:
            self.counters["publish_refused"] += 1
            log.warning("the broker refused a message (%s); it is sent again later",
                        reason_code)
        if self._wake_after_pubacks:
            with self._lock:
                self._wake_after_pubacks -= 1
                wake = self._wake_after_pubacks == 0
            if wake:
                self._wakeup.set()

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        now = self._clock()
        self.counters["received"] += 1
        decision = route_message(self.topics, message.topic, bytes(message.payload), now)
        self._dispatch(decision, message.topic, message.mid, message.qos, now)

    def _dispatch(self, decision: Decision, topic: str, mid: int, qos: int,
                  now: datetime) -> None:
        if isinstance(decision, Drop):
            self.counters[f"dropped_{decision.kind}"] += 1
            log.warning("dropped a message on %s: %s", topic, decision.reason)
            self._ack(mid, qos)
        elif isinstance(decision, Acknowledge):
            with self._lock:
                self._acks.extend(decision.event_ids)
            self._wakeup.set()
            self._ack(mid, qos)
        elif isinstance(decision, ApplyFeed):
            self.branch.post(lambda: self._apply_feed(decision.feed, mid, qos))
        elif isinstance(decision, ApplyConfig):
            self.branch.post(lambda: self._apply_config(decision.raw, mid, qos))
        else:
            self.branch.post(lambda: self._carry_out_command(decision, mid, qos, now))

    def _ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self._client.ack(mid, qos)

    # --- the owner's thread ---------------------------------------------------------------

    def _apply_feed(self, feed: ParsedFeed, mid: int, qos: int) -> None:
        result = self.branch.apply_feed(feed, self._clock())
        self._ack(mid, qos)
        self.counters["feeds"] += 1
        self.counters["bookings_rejected"] += len(feed.errors)
        log.info("booking feed: %d new, %d updated, %d unchanged (lower or equal version), "
                 "%d rejected", result.inserted, result.updated, result.unchanged,
                 len(feed.errors))

    def _apply_config(self, raw: dict[str, Any], mid: int, qos: int) -> None:
        problems = self.branch.apply_central_config(raw, self._clock())
        self._ack(mid, qos)
        if problems:
            self.counters["dropped_bad_config"] += 1
            log.warning("branch config from central not applied: %s",
                        "; ".join(str(p) for p in problems))
        else:
            self.counters["configs"] += 1

    def _carry_out_command(self, decision: RunCommand | RefuseCommand, mid: int, qos: int,
                           received_at: datetime) -> None:
        command_id = decision.command_id
        refused = decision.error if isinstance(decision, RefuseCommand) else None
        ok, error, repeated = self.branch.run_command(
            command_id, decision.action, decision.args, decision.issued_by, received_at,
            refused=refused)
        self._ack(mid, qos)
        if repeated:
            self.counters["commands_repeated"] += 1
            log.info("command %s was carried out before; answering again with its outcome",
                     command_id)
        else:
            self.counters["commands_ok" if ok else "commands_refused"] += 1
            log.log(logging.INFO if ok else logging.WARNING, "command %s (%s by %s): %s",
                    command_id, decision.action, decision.issued_by, "done" if ok else error)
        self._publish(self.topics.command_results,
                      command_result_payload(command_id, ok, error, self._clock()))

    def _on_branch_change(self, view: Any) -> None:
        self._take_branch_state()

    def _take_branch_state(self) -> None:
        occupancy = self.branch.occupancy_payload(self._clock())
        facts = self.branch.status_facts()
        with self._lock:
            self._occupancy_in = occupancy
            self._facts = facts
        self._wakeup.set()

    def _raise_backlog_alarm(self, size: int) -> None:
        detail = (f"{size} events wait for central, more than mqtt.outbox_alarm_at = "
                  f"{self.config.mqtt.outbox_alarm_at}")
        self.branch.raise_alarm("outbox_backlog", detail, actor="kiosk", action="outbox_backlog",
                                args={"size": size})

    # --- the sync thread ------------------------------------------------------------------

    def _run(self) -> None:
        store = Store(self.branch.store_path)
        # What this connection writes is idempotent bookkeeping (rows central acknowledged,
        # send counts, the resync day): a commit lost in a power cut only means an event is
        # sent again, which central ignores. So its commits skip the fsync; the owner's
        # connection keeps synchronous=FULL for everything that must survive.
        store.db.execute("PRAGMA synchronous = NORMAL")
        tracker = OutboxTracker(window=self._window, resend_after_s=self._resend_after_s)
        seen_connection = 0
        try:
            while not self._stopping.is_set():
                try:
                    seen_connection = self._step(store, tracker, seen_connection)
                except Exception:
                    self.counters["sync_errors"] += 1
                    log.exception("the sync step failed; it is tried again shortly")
                    self._stopping.wait(IDLE_WAKE_S)
                self._wakeup.wait(self._next_wait())
                self._wakeup.clear()
        finally:
            self._record_sends(store, tracker, time.monotonic(), flush=True)
            store.close()

    def _next_wait(self) -> float:
        now = time.monotonic()
        waits = [IDLE_WAKE_S]
        if self.connected:
            for throttle in (self._occupancy, self._status):
                due = throttle.seconds_until_due(now)
                if due is not None:
                    waits.append(due)
        return max(0.0, min(waits))

    def _step(self, store: Store, tracker: OutboxTracker, seen_connection: int) -> int:
        now_m = time.monotonic()
        self._apply_acks(store, tracker)
        with self._lock:
            connections, connected = self._connections, self._connected
            occupancy_in, self._occupancy_in = self._occupancy_in, None
        if occupancy_in is not None:
            self._occupancy.offer(occupancy_in)
        if now_m >= self._next_backlog_check:
            self._next_backlog_check = now_m + BACKLOG_CHECK_S
            self._check_backlog(store)
        if not connected:
            return seen_connection
        if connections != seen_connection:
            tracker.connected(now_m)
            self._occupancy.force()
            self._status.force()
        elif tracker.resend_pass_due(now_m):
            tracker.restart_pass(now_m)
        self._send_resync_requests(store)
        self._publish_outbox(store, tracker, now_m)
        self._publish_state(now_m)
        return connections

    def _apply_acks(self, store: Store, tracker: OutboxTracker) -> None:
        now_m = time.monotonic()
        with self._lock:
            acks, self._acks = self._acks, []
            unheard, self._unheard = self._unheard, []
        for mid in unheard:
            tracker.unheard(mid, now_m)
        if unheard:
            self.counters["events_unheard"] += len(unheard)
        if not acks:
            return
        removed = store.acknowledge_events(acks)
        tracker.acknowledged(acks)
        self.counters["events_acknowledged"] += removed
        if removed:
            self._wakeup.set()  # the status shows the smaller outbox

    def _publish_outbox(self, store: Store, tracker: OutboxTracker, now_m: float) -> None:
        room = tracker.room(now_m)
        while room > 0 and not self._stopping.is_set():
            rows = store.pending_event_texts(min(OUTBOX_BATCH, room), after_seq=tracker.cursor)
            if not rows:
                break
            published: list[tuple[int, str]] = []
            for row in rows:
                if room == 0:
                    break
                if tracker.wants(row.event_id, now_m):
                    info = self._client.publish(self.topics.events, row.payload, qos=1)
                    if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS,
                                       MQTTErrorCode.MQTT_ERR_NO_CONN):
                        log.warning("paho did not take event %s (%s); tried again later",
                                    row.event_id, info.rc)
                        room = 0
                        break
                    tracker.sent(row.event_id, info, now_m, info.mid)
                    published.append((row.seq, row.event_id))
                    room -= 1
                tracker.cursor = row.seq
            self._sent_rows.extend(published)
            self.counters["events_published"] += len(published)
        if room == 0:
            wake_after = tracker.wake_after()
            with self._lock:
                self._wake_after_pubacks = wake_after
            if tracker.room(time.monotonic()) >= wake_after:  # PUBACKs came in meanwhile
                self._wakeup.set()
        self._record_sends(store, tracker, now_m)

    def _record_sends(self, store: Store, tracker: OutboxTracker, now_m: float, *,
                      flush: bool = False) -> None:
        """Count the sends in the store (attempts, last sent), at most once a second.

        Only rows still waiting for central are counted: a row acknowledged meanwhile is gone.
        """
        if self._sent_rows and (flush or now_m >= self._next_send_record):
            waiting = [seq for seq, event_id in self._sent_rows if tracker.waits_for(event_id)]
            if waiting:
                store.mark_events_sent(waiting, self._clock())
            self._sent_rows = []
            self._next_send_record = now_m + SEND_RECORD_S

    def _check_backlog(self, store: Store) -> None:
        size = store.outbox_size()
        limit = self.config.mqtt.outbox_alarm_at
        with self._lock:
            self._outbox_size = size
            was, self._backlog = self._backlog, size > limit
        if self._backlog and not was:
            self.counters["backlog_alarms"] += 1
            log.warning("%d events wait for central (alarm above %d); is central or the "
                        "network down?", size, limit)
            self.branch.post(lambda: self._raise_backlog_alarm(size))
        elif was and not self._backlog:
            log.info("the outbox is back to %d events", size)

    def _send_resync_requests(self, store: Store) -> None:
        now = self._clock()
        with self._lock:
            days, self._resync_days = self._resync_days, []
        today = now.date()
        # The store is asked once a minute at most: the answer only changes with the clock.
        minute = now.strftime("%Y-%m-%dT%H:%M")
        if minute != self._resync_checked:
            self._resync_checked = minute
            if resync_due(store.get_value(RESYNC_KEY), now):
                days.append(today)
        for day in sorted(set(days)):
            self._publish(self.topics.resync, resync_payload(day))
            self.counters["resync_requests"] += 1
            log.info("asked central for the bookings of %s", day.isoformat())
            if day == today:
                store.set_value(RESYNC_KEY, today.isoformat())

    def _publish_state(self, now_m: float) -> None:
        now = self._clock()
        with self._lock:
            facts, size, backlog = dict(self._facts), self._outbox_size, self._backlog
        self._status.offer(status_payload(facts, outbox=size, backlog=backlog, now=now))
        for throttle, topic in ((self._occupancy, self.topics.occupancy),
                                (self._status, self.topics.status)):
            payload = throttle.take_due(now_m)
            if payload is not None:
                self._publish(topic, {**payload, "at": format_rfc3339(now)}, retain=True)

    # --- publishing -----------------------------------------------------------------------

    def _publish(self, topic: str, payload: dict[str, Any], *,
                 retain: bool = False) -> mqtt.MQTTMessageInfo:
        return self._client.publish(topic, _json(payload), qos=1, retain=retain)


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
