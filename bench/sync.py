"""The kiosk's sync under load, beside plain floors measured in the same run.

1. Ingest: a feed of 10,000 bookings in the contract's messages of 500, each message decoded
   and validated (``route_message``) and stored by the owner (``Branch.apply_feed``: one
   transaction per message, upsert by version, synchronous=FULL). The floor is a plain
   sqlite-utils ``insert_all`` of the same rows into a table of the same shape, with the same
   journal settings (WAL, synchronous=FULL). Also shown, without a target: the same feed
   published through mosquitto to a running kiosk, until the last booking is stored.
2. Drain: an outbox of 10,000 check-in events published by ``SyncClient`` to ``central
   serve``, which stores each and acknowledges it; the time runs from the kiosk's start to the
   last row deleted. The floor is raw paho publishing the same payloads QoS 1 to the same
   broker with the same in-flight window, to one plain subscriber, until the last PUBACK
   (with paho's default of Nagle on, which is faster for a one-way stream). Also shown: the
   same drain against a bare acknowledger, in a process of its own as central is, instead of
   central (the kiosk's side alone).

Targets: each of ours at least half the speed of its floor (ratio >= 0.5).

    .venv/bin/python bench/sync.py [--bookings 10000] [--events 10000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import sqlite_utils
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.bookings import parse_booking  # noqa: E402
from kiosk.branch import Branch  # noqa: E402
from kiosk.config import KioskConfig, load_config  # noqa: E402
from kiosk.events import checkin_event  # noqa: E402
from kiosk.store import Store  # noqa: E402
from kiosk.sync.client import SyncClient  # noqa: E402
from kiosk.sync.inbound import ApplyFeed, route_message  # noqa: E402
from kiosk.sync.nodelay import set_no_delay  # noqa: E402
from kiosk.sync.topics import KioskTopics  # noqa: E402
from tests.brokerkit import MosquittoBroker, wait_until  # noqa: E402
from tests.kiosk.conftest import write_config  # noqa: E402
from tests.sync.kit import BRANCH, KIOSK, code_for  # noqa: E402

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=WARSAW)
TOPICS = KioskTopics("checkin/v1", BRANCH, KIOSK)
WINDOW = 100
CENTRAL_BROKER_INFLIGHT = 1000  # as deploy/mosquitto/central/mosquitto.conf sets it
TARGET = 0.5
PER_MESSAGE = 500


def bookings(count: int) -> list[dict[str, Any]]:
    return [{
        "booking_id": f"b-{i:06d}", "code": code_for(f"bench-{i}"),
        "starts_at": (NOW + timedelta(minutes=15 * (i % 40))).isoformat(),
        "duration_min": 15,
        "service": {"id": f"s{i % 8}", "ticket_prefix": "ABCDEFGH"[i % 8],
                    "name": {"pl": "Umowy i faktury", "en": "Contracts and bills"}},
        "party_size": 1 + i % 3, "display_name": "Łucja Ż.", "status": "booked", "version": 1,
    } for i in range(count)]


def messages(rows: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps({"bookings": rows[i:i + PER_MESSAGE]}, ensure_ascii=False).encode()
            for i in range(0, len(rows), PER_MESSAGE)]


def kiosk_config(directory: Path, port: int) -> KioskConfig:
    directory.mkdir(parents=True, exist_ok=True)
    return load_config(write_config(directory, mqtt={"enabled": True, "port": port}))


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# --- 1. ingest ---------------------------------------------------------------------------------


def ingest_ours(directory: Path, payloads: list[bytes]) -> float:
    branch = Branch(kiosk_config(directory, 1883))  # not started: this thread is its owner

    def run() -> None:
        for payload in payloads:
            decision = route_message(TOPICS, TOPICS.bookings, payload, NOW)
            assert isinstance(decision, ApplyFeed) and not decision.feed.errors
            branch.apply_feed(decision.feed, NOW)

    seconds = timed(run)
    assert branch.store.count_bookings() == sum(len(json.loads(p)["bookings"]) for p in payloads)
    branch.store.close()
    return seconds


def ingest_floor(directory: Path, rows: list[dict[str, Any]]) -> float:
    directory.mkdir(parents=True, exist_ok=True)
    flat = []
    for row in rows:
        booking = parse_booking(row)  # shaped outside the timing: the floor only inserts
        flat.append({
            "booking_id": booking.booking_id, "code": booking.code,
            "starts_at": row["starts_at"], "starts_at_utc": row["starts_at"],
            "duration_min": booking.duration_min, "service_id": booking.service_id,
            "ticket_prefix": booking.ticket_prefix, "service_name_pl": booking.service_name_pl,
            "service_name_en": booking.service_name_en, "party_size": booking.party_size,
            "display_name": booking.display_name, "status": booking.status,
            "version": booking.version, "received_at": NOW.isoformat(),
        })
    db = sqlite_utils.Database(directory / "floor.sqlite3")
    db.enable_wal()
    db.execute("PRAGMA synchronous = FULL")
    seconds = timed(lambda: db["bookings"].insert_all(flat, pk="booking_id",
                                                      batch_size=PER_MESSAGE))
    assert db["bookings"].count == len(rows)
    db.close()
    return seconds


def ingest_via_broker(directory: Path, port: int, payloads: list[bytes], count: int) -> float:
    config = kiosk_config(directory, port)
    branch = Branch(config)
    sync = SyncClient(config, branch)
    branch.sync = sync
    branch.start()
    sync.start()
    reader = Store(config.database_path)
    publisher = raw_client(port, "bench-feed")
    try:
        wait_until(lambda: sync.connected, 10, "the kiosk to connect")
        start = time.perf_counter()
        for payload in payloads:
            publisher.publish(TOPICS.bookings, payload, qos=1)
        wait_until(lambda: reader.count_bookings() >= count, 120, "the feed stored", step=0.005)
        return time.perf_counter() - start
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        reader.close()
        sync.stop()
        branch.stop()


# --- 2. drain ----------------------------------------------------------------------------------


def raw_client(port: int, name: str, *, no_delay: bool = False) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(WINDOW)
    if no_delay:
        client.on_socket_open = set_no_delay
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        raise RuntimeError(f"{name} could not connect to the broker on {port}")
    return client


def event_payloads(count: int) -> list[dict[str, Any]]:
    return [checkin_event(NOW + timedelta(seconds=i), booking_id=f"b-{i:06d}",
                          ticket=f"A{i % 1000:03d}", party_size=1, outcome="admitted")
            for i in range(count)]


def drain_floor(port: int, events: list[dict[str, Any]]) -> float:
    received = threading.Semaphore(0)
    subscriber = raw_client(port, "bench-floor-sub")
    subscriber.on_message = lambda *args: received.release()
    subscribed = threading.Event()
    subscriber.on_subscribe = lambda *args: subscribed.set()
    topic = "bench/floor/events"  # outside central's subscriptions: one plain subscriber
    subscriber.subscribe(topic, qos=1)
    subscribed.wait(10)
    publisher = raw_client(port, "bench-floor-pub")
    payloads = [json.dumps(e, ensure_ascii=False) for e in events]
    try:
        start = time.perf_counter()
        infos = [publisher.publish(topic, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(60)
        seconds = time.perf_counter() - start
        assert all(i.is_published() for i in infos)
        return seconds
    finally:
        for c in (publisher, subscriber):
            c.disconnect()
            c.loop_stop()


def fill_outbox(config: KioskConfig, events: list[dict[str, Any]]) -> None:
    store = Store(config.database_path)
    with store.transaction():
        for event in events:
            store.enqueue_event(event)
    store.close()


def drain_ours(directory: Path, port: int, events: list[dict[str, Any]]) -> float:
    config = kiosk_config(directory, port)
    fill_outbox(config, events)
    reader = Store(config.database_path)
    branch = Branch(config)
    sync = SyncClient(config, branch)
    branch.sync = sync
    branch.start()
    try:
        start = time.perf_counter()
        sync.start()
        wait_until(lambda: reader.outbox_size() == 0, 300, "the outbox to empty", step=0.005)
        return time.perf_counter() - start
    finally:
        reader.close()
        sync.stop()
        branch.stop()


class BareAcker:
    """Acknowledges events every 20 ms, storing nothing: the kiosk's side alone.

    It runs in a process of its own, as central does (``--bare-acker PORT``), so it does not
    share the kiosk's interpreter lock.
    """

    def __init__(self, port: int) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, list[str]] = {}
        self._stop = threading.Event()
        self.client = raw_client(port, "bench-acker", no_delay=True)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_message = self._collect
        self.client.subscribe(f"checkin/v1/branches/{BRANCH}/kiosks/+/events", qos=1)
        subscribed.wait(10)
        self._thread = threading.Thread(target=self._flush, daemon=True)
        self._thread.start()

    def _collect(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        acks = message.topic.rsplit("/", 1)[0] + "/acks"
        with self._lock:
            self._pending.setdefault(acks, []).append(json.loads(message.payload)["event_id"])

    def _flush(self) -> None:
        while not self._stop.wait(0.02):
            with self._lock:
                pending, self._pending = self._pending, {}
            for topic, ids in pending.items():
                self.client.publish(topic, json.dumps({"event_ids": ids}), qos=1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.disconnect()
        self.client.loop_stop()


def run_bare_acker(port: int) -> int:
    acker = BareAcker(port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    acker.close()
    return 0


def start_bare_acker(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, __file__, "--bare-acker", str(port)],
                               stdout=subprocess.PIPE)
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise RuntimeError("the bare acknowledger did not start")
    return process


def start_central(directory: Path, port: int) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    log = (directory / "central.log").open("ab")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "central"), "--log-level", "WARNING", "serve",
         "--db", str(directory / "central.sqlite3"), "--broker", f"127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT)
    time.sleep(1.0)  # its subscriptions are in place well within a second
    if process.poll() is not None:
        raise RuntimeError(f"central serve exited: {(directory / 'central.log').read_text()}")
    return process


# --- report ----------------------------------------------------------------------------------


def row(what: str, ours: float, floor: float | None, count: int) -> tuple[str, ...]:
    if floor is None:
        return (what, f"{ours * 1000:.0f} ms", f"{count / ours:,.0f}/s", "", "", "")
    ratio = floor / ours
    verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
    return (what, f"{ours * 1000:.0f} ms", f"{count / ours:,.0f}/s", f"{floor * 1000:.0f} ms",
            f"{ratio:.2f}", verdict)


def drain_runs(acknowledger: subprocess.Popen[bytes], directory: Path, port: int,
               args: argparse.Namespace) -> tuple[float, float]:
    """Medians of ours and the floor, interleaved, while ``acknowledger`` runs; then stop it."""
    floors, ours = [], []
    try:
        for i in range(args.runs):
            events = event_payloads(args.events)
            floors.append(drain_floor(port, events))
            ours.append(drain_ours(directory / str(i), port, events))
    finally:
        acknowledger.terminate()
        acknowledger.wait(timeout=20)
    return statistics.median(ours), statistics.median(floors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="median of this many runs each")
    parser.add_argument("--bare-acker", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_acker:
        return run_bare_acker(args.bare_acker)
    rows = bookings(args.bookings)
    payloads = messages(rows)
    results = []
    base = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    floors: list[float] = []
    ours: list[float] = []
    for i in range(args.runs):  # interleaved, so both see the same load on the machine
        floors.append(ingest_floor(base / f"floor-{i}", rows))
        ours.append(ingest_ours(base / f"ingest-{i}", payloads))
    results.append(row(f"ingest {args.bookings:,} bookings (decode, validate, upsert)",
                       statistics.median(ours), statistics.median(floors), args.bookings))
    # As the central broker is deployed (deploy/mosquitto/central/mosquitto.conf).
    broker = MosquittoBroker(base / "broker", max_inflight_messages=CENTRAL_BROKER_INFLIGHT)
    broker.start()
    try:
        via = ingest_via_broker(base / "ingest-mqtt", broker.port, payloads, args.bookings)
        results.append(row("  the same through mosquitto to a running kiosk", via, None,
                           args.bookings))
        # The bare acknowledger first: once central has run, the broker keeps its session
        # and queues every event for it too, which would slow the later runs.
        bare = drain_runs(start_bare_acker(broker.port), base / "drain-bare", broker.port, args)
        central = drain_runs(start_central(base / "central", broker.port), base / "drain",
                             broker.port, args)
        results.append(row(f"drain {args.events:,} events to central serve, acknowledged",
                           *central, args.events))
        results.append(row("  the same to a bare acknowledger (the kiosk's side alone)", *bare,
                           args.events))
    finally:
        broker.release()
    shutil.rmtree(base)  # kept when a step fails, with the logs of central and the broker
    header = ("what", "ours", "rate", "floor", "speed ratio", f"target >= {TARGET}")
    print(" | ".join(header))
    for line in results:
        print(" | ".join(line))
    return 0 if all("BELOW" not in line[-1] for line in results) else 1


if __name__ == "__main__":
    sys.exit(main())
