"""Central under load, beside what the broker alone does on the same machine.

1. Events stored and acknowledged: 1,000 kiosk identities (spread over a few connections: a
   thousand paho threads would measure the simulator) publish check-in events QoS 1;
   ``central serve`` stores each durably and acknowledges it on ``.../acks``. The time runs
   from the first publish to the last event id acknowledged. The floor is raw paho QoS 1 on
   the same broker: the same payloads from the same connections to one plain subscriber.
2. Publish to page: 500 branches x 2 kiosks publishing occupancy and status, ``central ops``
   serving a page in headless chromium; a probe occupancy's publish time against the time the
   page drew it. The floor is the broker's own delivery: publish to a paho subscriber.

    python bench/central.py [--events 20000] [--kiosks 1000] [--probes 40]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from central.ops.fleet import Fleet, ops_branches  # noqa: E402
from tests.brokerkit import MosquittoBroker, wait_until  # noqa: E402
from tests.ops.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    OPERATOR,
    PASSWORD,
    ops_config,
    start_ops,
)

CONNECTIONS = 4


def client(port: int, name: str, on_message: Any = None) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}",
                    protocol=MQTTProtocolVersion.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    if on_message is not None:
        c.on_message = on_message
    c.connect("127.0.0.1", port, keepalive=60)
    c.loop_start()
    if not connected.wait(10):
        raise RuntimeError(f"{name} could not connect to port {port}")
    return c


def events(count: int, kiosks: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    result = []
    for i in range(count):
        k = i % kiosks
        branch = f"b-{k // 2:04d}"
        event = {"event_id": str(uuid.uuid4()), "type": "checkin", "at": now,
                 "booking_id": f"bk-{i}", "ticket": f"A{i % 1000:03d}", "party_size": 1,
                 "outcome": "admitted"}
        result.append((f"checkin/v1/branches/{branch}/kiosks/{branch}-k{k % 2 + 1}/events",
                       json.dumps(event).encode()))
    return result


def publish_all(publishers: list[mqtt.Client], messages: list[tuple[str, bytes]]) -> None:
    infos = [publishers[i % len(publishers)].publish(t, p, qos=1)
             for i, (t, p) in enumerate(messages)]
    for info in infos:
        info.wait_for_publish(120)


def raw_throughput(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Messages a second from publish to a QoS 1 subscriber, the broker and paho alone."""
    received = [0]
    done = threading.Event()

    def on_message(c: Any, u: Any, m: Any) -> None:
        received[0] += 1
        if received[0] == len(messages):
            done.set()

    sub = client(port, "floor-sub", on_message)
    sub.subscribe("checkin/v1/branches/+/kiosks/+/events", qos=1)
    time.sleep(0.5)
    pubs = [client(port, f"floor-pub{i}") for i in range(CONNECTIONS)]
    start = time.perf_counter()
    publish_all(pubs, messages)
    if not done.wait(120):
        raise RuntimeError(f"the floor subscriber got {received[0]} of {len(messages)}")
    elapsed = time.perf_counter() - start
    for c in [sub, *pubs]:
        c.disconnect()
        c.loop_stop()
    return len(messages) / elapsed


def central_throughput(port: int, messages: list[tuple[str, bytes]], directory: Path) -> float:
    """Events a second stored by ``central serve`` and acknowledged to their kiosks."""
    central = subprocess.Popen(
        [str(Path(sys.executable).parent / "central"), "--log-level", "WARNING", "serve",
         "--db", str(directory / "central.sqlite3"), "--broker", f"127.0.0.1:{port}",
         "--client-id", "bench-central"],
        stdout=subprocess.DEVNULL, stderr=(directory / "central.log").open("w"))
    acked: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()

    def on_ack(c: Any, u: Any, m: Any) -> None:
        with lock:
            acked.update(json.loads(m.payload)["event_ids"])
            if len(acked) >= len(messages):
                done.set()

    watcher = client(port, "bench-acks", on_ack)
    watcher.subscribe("checkin/v1/branches/+/kiosks/+/acks", qos=1)
    try:
        time.sleep(2.0)  # central connects and subscribes
        if central.poll() is not None:
            raise RuntimeError((directory / "central.log").read_text())
        pubs = [client(port, f"kiosks{i}") for i in range(CONNECTIONS)]
        start = time.perf_counter()
        publish_all(pubs, messages)
        if not done.wait(300):
            raise RuntimeError(f"central acknowledged {len(acked)} of {len(messages)}")
        elapsed = time.perf_counter() - start
        for c in pubs:
            c.disconnect()
            c.loop_stop()
        return len(messages) / elapsed
    finally:
        watcher.disconnect()
        watcher.loop_stop()
        central.terminate()
        central.wait(timeout=20)


def mqtt_latency(port: int, probes: int) -> list[float]:
    """Publish to a plain paho subscriber: what no page can beat."""
    arrived: dict[str, float] = {}

    def on_message(c: Any, u: Any, m: Any) -> None:
        arrived[m.payload.decode()] = time.time()

    sub = client(port, "lat-sub", on_message)
    sub.subscribe("bench/latency", qos=1)
    pub = client(port, "lat-pub")
    time.sleep(0.5)
    result = []
    for i in range(probes):
        key = f"p{i}"
        sent = time.time()
        pub.publish("bench/latency", key, qos=1)
        wait_until(lambda: key in arrived, 5, f"probe {key}", step=0.001)  # noqa: B023
        result.append(arrived[key] - sent)
        time.sleep(0.05)
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()
    return result


@contextmanager
def logged_in_page(url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url + "/")
        page.fill("input[name=login]", OPERATOR)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#link.up")
        try:
            yield page
        finally:
            browser.close()


def page_latency(port: int, directory: Path, probes: int, occupancy_per_s: float,
                 status_per_s: float) -> list[float]:
    ops = start_ops(ops_config(directory / "ops", port, ops_branches(500)))
    fleet = Fleet(port, 500, 2)
    try:
        fleet.announce()
        with logged_in_page(ops.url) as page:
            wait_until(lambda: page.locator("#tiles .tile:not([data-state=unknown])").count()
                       == 500, 60, "500 tiles")
            fleet.quiet = set(fleet.branches[:probes])
            stop = threading.Event()
            load = threading.Thread(target=fleet.run,
                                    args=(600, occupancy_per_s, status_per_s, stop))
            load.start()
            time.sleep(2)
            result = []
            try:
                for i, branch in enumerate(fleet.branches[:probes]):
                    sent = time.time()
                    fleet.occupancy(branch, count=500 + i, limit=1000).wait_for_publish(5)
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline:
                        applied = page.evaluate(f"window.__applied[{json.dumps(branch)}]||null")
                        if applied and applied["count"] == 500 + i:
                            result.append(applied["t"] / 1000 - sent)
                            break
                        time.sleep(0.005)
                    else:
                        raise RuntimeError(f"the page never showed probe {i}")
                    time.sleep(0.25)
            finally:
                stop.set()
                load.join(timeout=30)
            return result
    finally:
        fleet.close()
        ops.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--kiosks", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--occupancy-rate", type=float, default=250.0)
    parser.add_argument("--status-rate", type=float, default=100.0)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-central-"))
    broker = MosquittoBroker(directory / "broker")
    broker.start()
    try:
        messages = events(args.events, args.kiosks)
        floor = raw_throughput(broker.port, messages)
        stored = central_throughput(broker.port, events(args.events, args.kiosks), directory)
        print(f"events from {args.kiosks} kiosks over {CONNECTIONS} connections, "
              f"{args.events} events")
        print(f"  floor, raw paho QoS 1 through the broker: {floor:8.0f} msg/s")
        print(f"  central serve, stored and acknowledged:    {stored:8.0f} events/s "
              f"(ratio {stored / floor:.2f} of the floor)")
        mqtt_lat = mqtt_latency(broker.port, args.probes)
        page_lat = page_latency(broker.port, directory, args.probes, args.occupancy_rate,
                                args.status_rate)
        load = args.occupancy_rate + args.status_rate
        print(f"publish to page, 500 branches x 2 kiosks, {load:.0f} msg/s of load, "
              f"{args.probes} probes")
        for name, values in (("floor, publish to a paho subscriber", mqtt_lat),
                             ("central ops page (chromium)", page_lat)):
            print(f"  {name:38s} p50 {statistics.median(values) * 1000:7.1f} ms  "
                  f"p95 {pct(values, 0.95) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms")
        print(f"  p50 ratio {statistics.median(page_lat) / statistics.median(mqtt_lat):.0f}x "
              "the floor")
    finally:
        broker.kill()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
