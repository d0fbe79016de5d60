"""Helpers for the sync tests: a kiosk configured for a test broker, a settable clock, and a
listener that plays central's part of acknowledging events (for tests of the kiosk alone)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from kiosk.branch import Branch
from kiosk.config import KioskConfig, load_config
from kiosk.sync.client import SyncClient
from kiosk.sync.topics import KioskTopics
from tests.brokerkit import MqttListener, wait_until
from tests.kiosk.conftest import booking_json, monday, write_config

BRANCH = "krakow-1"
KIOSK = "krakow-1-k1"
TOPICS = KioskTopics("checkin/v1", BRANCH, KIOSK)


class Clock:
    """A clock the test moves; the branch and the sync both read it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or monday(10)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += timedelta(**delta)


def kiosk_config(directory: Path, port: int, **mqtt_settings: Any) -> KioskConfig:
    directory.mkdir(parents=True, exist_ok=True)
    mqtt_table = {"enabled": True, "host": "127.0.0.1", "port": port, "keepalive_s": 5,
                  **mqtt_settings}
    return load_config(write_config(directory, mqtt=mqtt_table))


@contextlib.contextmanager
def running_kiosk(config: KioskConfig, clock: Clock, **sync_options: Any
                  ) -> Iterator[tuple[Branch, SyncClient]]:
    """The real owner of the branch's state with the sync attached, both stopped afterwards."""
    branch = Branch(config, clock=clock)
    options: dict[str, Any] = {"reconnect_delay_s": (1, 1), **sync_options}
    sync = SyncClient(config, branch, clock=clock, **options)
    branch.sync = sync
    branch.start()
    sync.start()
    try:
        yield branch, sync
    finally:
        sync.stop()
        branch.stop()


def feed(*bookings: dict[str, Any]) -> dict[str, Any]:
    return {"bookings": list(bookings)}


def day_bookings(count: int, start: datetime | None = None,
                 prefix: str = "b") -> list[dict[str, Any]]:
    """``count`` bookings at ``start`` (10:00 on Monday) with distinct valid codes."""
    start = start or monday(10)
    return [booking_json(f"{prefix}-{i:05d}", code_for(f"{prefix}-{i}"), start)
            for i in range(count)]


def code_for(seed: str) -> str:
    """A booking code made from ``seed``: 8 Crockford base32 characters."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:5], "big")
    return "".join(alphabet[(number >> (5 * k)) & 31] for k in range(8))


class CentralAcker(MqttListener):
    """Stores each event once by id and acknowledges it, as central does; can be paused."""

    def __init__(self, port: int, client_id: str = "test-central") -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.deliveries = 0
        self.acking = True
        super().__init__(port, client_id, topics=(f"{TOPICS.root}/branches/#",))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        super()._on_message(client, userdata, message)
        if not message.topic.endswith("/events"):
            return
        event = json.loads(message.payload)
        with self._lock:
            self.deliveries += 1
            self.stored.setdefault(event["event_id"], event)
            acking = self.acking
        if acking:
            acks = message.topic.rsplit("/", 1)[0] + "/acks"
            client.publish(acks, json.dumps({"event_ids": [event["event_id"]]}), qos=1)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.stored.values() if event_type in (None, e["type"])]


def outbox_size(branch: Branch) -> int:
    return int(branch.submit(branch.store.outbox_size).result(5))


def wait_outbox_empty(branch: Branch, timeout: float = 10) -> None:
    wait_until(lambda: outbox_size(branch) == 0, timeout, "the outbox to empty")
