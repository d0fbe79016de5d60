"""``central serve``: the one thread that owns central's store.

It takes what paho received, checks it, stores it, and only then acknowledges it: events to
their kiosk on ``.../acks`` and every message to the broker with its PUBACK. Between batches
it publishes what is pending in the store: branch configs (retained) and bookings in
messages of at most 500. Bad input is dropped, counted and logged; it never stops the loop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from paho.mqtt.client import MQTTMessageInfo

from central.commands import build_command
from central.counters import Counters
from central.feed import DEFAULT_TIMEZONE, day_bounds, feed_messages
from central.messages import (
    CommandResultIn,
    EventIn,
    Incoming,
    OccupancyIn,
    Rejected,
    ResyncIn,
    StatusIn,
    parse_message,
)
from central.mqtt_link import MqttLink, Received, wait_published
from central.store import CentralStore
from central.topics import Topic, TopicError, Topics
from kiosk.bookings import MAX_BOOKINGS_PER_MESSAGE, Booking

log = logging.getLogger(__name__)

BATCH_MAX = 500
QUIET_S = 1.0
RECENT_RESYNCS = 1000
PUBLISH_TIMEOUT_S = 10.0
STORE_RETRY_FIRST_S = 0.5
STORE_RETRY_MAX_S = 5.0


class CentralService:
    def __init__(
        self,
        store: CentralStore,
        link: MqttLink,
        topics: Topics,
        *,
        counters: Counters | None = None,
        publish_interval_s: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.link = link
        self.topics = topics
        self.counters = counters or Counters()
        self.publish_interval_s = publish_interval_s
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_publish = 0.0
        self._recent_resyncs: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    # -- running ------------------------------------------------------------------------
    def start(self) -> None:
        self.link.start()
        self._thread = threading.Thread(target=self.run, name="central-service", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0, *, leave: bool = False) -> None:
        """Stop; the broker keeps this process's session and share of events for its return.

        With ``leave`` the process retires instead: it leaves the shared subscriptions,
        stores and acknowledges what it already received, and ends its session, so no
        events wait for a process that is not coming back.
        """
        left = leave and self.link.connected.is_set() and self.link.unsubscribe_all(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if left:
            self._drain(deadline=time.monotonic() + 3 * timeout)
        self.link.stop(end_session=leave)

    def _drain(self, deadline: float) -> None:
        # Messages the broker queued before the UNSUBACK keep coming while PUBACKs free room.
        while time.monotonic() < deadline:
            batch = self._take_batch(timeout=QUIET_S)
            if not batch:
                return
            try:
                self.handle_batch(batch)
            except Exception:
                log.exception("storing while leaving failed; the kiosks will send it again")
                return

    def run(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch(timeout=0.2)
            if batch:
                self._handle_with_retry(batch)
            if time.monotonic() >= self._next_publish and self.link.connected.is_set():
                self._next_publish = time.monotonic() + self.publish_interval_s
                self._publish_safely()

    def _take_batch(self, timeout: float) -> list[Received]:
        try:
            batch = [self.link.inbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(batch) < BATCH_MAX:
            try:
                batch.append(self.link.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _handle_with_retry(self, batch: list[Received]) -> None:
        # Without its store central can acknowledge nothing, so it waits for the store to
        # come back rather than drop anything. Only a message the store refuses by itself
        # (not a lost connection) is dropped, after it has been singled out of its batch.
        pause = STORE_RETRY_FIRST_S
        while not self._stop.is_set():
            try:
                self.handle_batch(batch)
                return
            except Exception as exc:
                self.counters.add("store_errors")
                if self.store.is_transient(exc):
                    log.error("the store failed (%s); retrying in %.1f s", exc, pause)
                    self._stop.wait(pause)
                    pause = min(pause * 2, STORE_RETRY_MAX_S)
                elif len(batch) > 1:
                    for received in batch:
                        self._handle_with_retry([received])
                    return
                else:
                    self._drop("store", "unstorable", f"the store refused it: {exc}", batch[0])
                    self.link.ack(batch[0])
                    return

    # -- what arrives -------------------------------------------------------------------
    def handle_batch(self, batch: list[Received]) -> None:
        """Check, store and acknowledge one batch of received messages."""
        events: list[EventIn] = []
        acks: dict[tuple[str, str], list[str]] = defaultdict(list)
        for received in batch:
            item = self._check(received, acks)
            if isinstance(item, EventIn):
                events.append(item)
                acks[(item.branch, item.kiosk)].append(item.event_id)
            elif item is not None:
                self._apply(item)
        if events:
            new = self.store.store_events(events)
            self.counters.add("events_stored", new)
            self.counters.add("events_duplicate", len(events) - new)
            log.debug("stored %d new events (%d repeated) from %d messages", new,
                      len(events) - new, len(batch))
        for (branch, kiosk), event_ids in acks.items():
            self.link.publish(self.topics.acks(branch, kiosk),
                              {"event_ids": list(dict.fromkeys(event_ids))})
            self.counters.add("acks_sent", len(event_ids))
        for received in batch:
            self.link.ack(received)

    def _check(self, received: Received,
               acks: dict[tuple[str, str], list[str]]) -> Incoming | None:
        try:
            topic = self.topics.parse(received.topic)
        except TopicError as exc:
            self._drop("unknown", "bad_topic", str(exc), received)
            return None
        if not received.payload and topic.kind in ("status", "occupancy"):
            self._forget(topic)
            return None
        try:
            return parse_message(topic, received.payload)
        except Rejected as exc:
            self._drop(topic.kind, exc.reason, exc.detail, received)
            if topic.kind == "events" and exc.event_id is not None:
                self._quarantine(topic, exc, received, acks)
            return None

    def _forget(self, topic: Topic) -> None:
        # An empty retained message is how a retained topic is cleared: a retired kiosk or
        # branch leaves the operations view instead of showing offline for ever.
        if topic.kind == "status":
            assert topic.kiosk is not None
            self.store.forget_kiosk_status(topic.branch, topic.kiosk)
        else:
            self.store.forget_occupancy(topic.branch)
        self.counters.add(f"cleared.{topic.kind}")
        log.info("%s of %s cleared: forgotten", topic.kind,
                 f"{topic.branch}/{topic.kiosk}" if topic.kiosk else topic.branch)

    def _quarantine(self, topic: Topic, exc: Rejected, received: Received,
                    acks: dict[tuple[str, str], list[str]]) -> None:
        # An event with an id is kept aside and acknowledged: re-sending it forever would
        # not make it valid, and the raw payload stays here for whoever fixes the kiosk.
        assert topic.kiosk is not None and exc.event_id is not None
        self.store.quarantine_event(topic.branch, topic.kiosk, exc.event_id, exc.reason,
                                    exc.detail, received.payload)
        acks[(topic.branch, topic.kiosk)].append(exc.event_id)

    def _drop(self, kind: str, reason: str, detail: str, received: Received) -> None:
        self.counters.add(f"dropped.{kind}.{reason}")
        log.warning("dropped a message on %r (%s, %s): %s", received.topic[:200], kind,
                    reason, detail)

    def _apply(self, item: Incoming) -> None:
        if isinstance(item, OccupancyIn):
            self.store.record_occupancy(item)
        elif isinstance(item, StatusIn):
            self.store.record_kiosk_status(item)
        elif isinstance(item, CommandResultIn):
            self.store.record_command_result(item)
            self.counters.add("command_results")
        elif isinstance(item, ResyncIn):
            self.answer_resync(item)

    def answer_resync(self, request: ResyncIn) -> None:
        # A QoS 1 repeat of the same request is answered once.
        key = (request.branch, request.kiosk, request.request_id)
        if key in self._recent_resyncs:
            self.counters.add("resyncs_repeated")
            return
        self._recent_resyncs[key] = None
        if len(self._recent_resyncs) > RECENT_RESYNCS:
            self._recent_resyncs.popitem(last=False)
        config = self.store.branch_config(request.branch)
        timezone = config.config.get("timezone", DEFAULT_TIMEZONE) if config else DEFAULT_TIMEZONE
        start, end = day_bounds(request.day, timezone)
        bookings = self.store.bookings_between(request.branch, start, end)
        messages = list(feed_messages(bookings)) or [{"bookings": []}]
        for message in messages:
            self.link.publish(self.topics.bookings(request.branch), message)
        self.counters.add("resyncs_answered")
        log.info("resync %s from %s/%s: sent %d bookings of %s in %d messages",
                 request.request_id[:64], request.branch, request.kiosk, len(bookings),
                 request.day, len(messages))

    # -- what goes out ------------------------------------------------------------------
    def _publish_safely(self) -> None:
        try:
            if self.store.claim_publisher():
                self.publish_pending()
        except Exception:
            self.counters.add("store_errors")
            log.exception("publishing pending bookings and configs failed; retrying later")

    def publish_pending(self, *, max_bookings: int = 5000) -> int:
        """Publish changed configs and bookings; returns how many bookings were confirmed."""
        for config in self.store.branch_configs():
            if config.version > config.published_version:
                info = self.link.publish(self.topics.config(config.branch), config.config,
                                         retain=True)
                if wait_published([info], PUBLISH_TIMEOUT_S)[0]:
                    self.store.mark_config_published(config.branch, config.version)
                    self.counters.add("configs_published")
        pending = self.store.unpublished_bookings(limit=max_bookings)
        by_branch: dict[str, list[Booking]] = defaultdict(list)
        for stored in pending:
            by_branch[stored.branch].append(stored.booking)
        sent: list[tuple[list[Booking], MQTTMessageInfo]] = []
        for branch, bookings in by_branch.items():
            for start in range(0, len(bookings), MAX_BOOKINGS_PER_MESSAGE):
                chunk = bookings[start : start + MAX_BOOKINGS_PER_MESSAGE]
                for message in feed_messages(chunk):
                    sent.append((chunk, self.link.publish(self.topics.bookings(branch), message)))
        confirmed = wait_published([info for _, info in sent], PUBLISH_TIMEOUT_S)
        done = [(booking.booking_id, booking.version)
                for (chunk, _), ok in zip(sent, confirmed, strict=True) if ok
                for booking in chunk]
        self.store.mark_bookings_published(done)
        self.counters.add("bookings_published", len(done))
        return len(done)

    def send_command(self, branch: str, action: str, args: Mapping[str, Any],
                     issued_by: str) -> dict[str, Any]:
        """Record a command and send it to the branch; its result is recorded when it comes."""
        command = build_command(action, args, issued_by, self.clock())
        self.store.record_command(command, branch)
        self.link.publish(self.topics.commands(branch), command)
        return command
