"""Two ``central serve`` processes on one PostgreSQL store share the events through an MQTT
shared subscription: each event stored once, none lost when one process is killed."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.brokerkit import MosquittoBroker, terminate, wait_until
from tests.central.central_helpers import BRANCH, TOPICS, event_json

pytestmark = [pytest.mark.broker, pytest.mark.slow]
CENTRAL = [sys.executable, "-m", "central.cli"]


class CentralProcess:
    def __init__(self, directory: Path, dsn: str, port: int, client_id: str) -> None:
        self.log = directory / f"{client_id}.log"
        self.args = [*CENTRAL, "--log-level", "DEBUG", "serve", "--dsn", dsn, "--broker",
                     f"127.0.0.1:{port}", "--client-id", client_id, "--publish-interval", "0.2"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: "subscribed to" in self.text()[offset:], 15,
                   f"{self.log.name} subscribed")

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stored(self) -> int:
        return sum(int(n) for n in re.findall(r"stored (\d+) new events", self.text()))

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        terminate(self.process)


class KioskOutbox:
    """Publishes events as a kiosk does: keeps each until central acknowledges its id."""

    def __init__(self, port: int, kiosk: str) -> None:
        self.kiosk = kiosk
        self.topic = TOPICS.kiosk(BRANCH, kiosk, "events")
        self._lock = threading.Lock()
        self.pending: dict[str, dict[str, Any]] = {}
        self.acked: set[str] = set()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"kiosk-{kiosk}",
                                  protocol=MQTTProtocolVersion.MQTTv5)
        self.client.on_message = self._on_ack
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(TOPICS.acks(BRANCH, kiosk), qos=1)
        self.client.loop_start()

    def _on_ack(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            for event_id in json.loads(message.payload)["event_ids"]:
                self.pending.pop(event_id, None)
                self.acked.add(event_id)

    def send(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.pending[event["event_id"]] = event
        self.client.publish(self.topic, json.dumps(event), qos=1)

    def resend_unacked(self) -> int:
        with self._lock:
            waiting = list(self.pending.values())
        for event in waiting:
            self.client.publish(self.topic, json.dumps(event), qos=1)
        return len(waiting)

    def drain(self, timeout: float) -> None:
        """Re-send what is unacknowledged every half second until nothing is left."""
        deadline = time.monotonic() + timeout
        while self.resend_unacked():
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.pending)} events never acknowledged")
            with contextlib.suppress(AssertionError):
                wait_until(lambda: not self.pending, 0.5, "acks")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def stored_ids(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT event_id FROM events").fetchall()]


@pytest.fixture
def two_centrals(tmp_path: Path, pg_dsn: str,
                 mosquitto: MosquittoBroker) -> Iterator[list[CentralProcess]]:
    processes = [CentralProcess(tmp_path, pg_dsn, mosquitto.port, f"central-{name}")
                 for name in "ab"]
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.stop()


def test_two_processes_store_each_event_once(
    two_centrals: list[CentralProcess], mosquitto: MosquittoBroker, pg_dsn: str
) -> None:
    kiosks = [KioskOutbox(mosquitto.port, f"k{i}") for i in (1, 2)]
    try:
        events = {k.kiosk: [event_json() for _ in range(150)] for k in kiosks}
        for kiosk in kiosks:
            for event in events[kiosk.kiosk]:
                kiosk.send(event)
        for kiosk in kiosks:  # and every one of them once more, as after a reconnect
            for event in events[kiosk.kiosk]:
                kiosk.send(event)
        wait_until(lambda: all(not k.pending for k in kiosks), 20, "all events acknowledged")
        ids = stored_ids(pg_dsn)
        assert len(ids) == len(set(ids)) == 300
        assert set(ids) == {e["event_id"] for es in events.values() for e in es}
        wait_until(lambda: sum(p.stored() for p in two_centrals) == 300, 5, "logs flushed")
        assert all(p.stored() > 0 for p in two_centrals), "both processes took a share"
    finally:
        for kiosk in kiosks:
            kiosk.close()


def test_no_event_lost_when_one_process_is_killed(
    two_centrals: list[CentralProcess], mosquitto: MosquittoBroker, pg_dsn: str
) -> None:
    kiosk = KioskOutbox(mosquitto.port, "k1")
    victim, survivor = two_centrals
    try:
        events = [event_json() for _ in range(400)]
        for number, event in enumerate(events):
            kiosk.send(event)
            if number == 150:
                victim.kill()
            time.sleep(0.002)
        kiosk.drain(timeout=30)
        ids = stored_ids(pg_dsn)
        assert sorted(ids) == sorted(e["event_id"] for e in events)
        assert survivor.process is not None and survivor.process.poll() is None

        # Back with the same client id, the killed process gets what its session kept,
        # all of it already stored: nothing is stored twice.
        victim.start()
        last = event_json("passage")
        kiosk.send(last)
        kiosk.drain(timeout=15)
        wait_until(lambda: "session kept: True" in victim.text(), 5, "session resumed")
        ids = stored_ids(pg_dsn)
        assert len(ids) == len(set(ids)) == 401
    finally:
        kiosk.close()
