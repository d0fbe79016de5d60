"""A simulated fleet of branches publishing as kiosks do: retained occupancy per branch and
retained status per kiosk, at a set rate, for load tests and the benchmark.

A few paho clients carry the whole fleet (a thousand real connections would measure the
simulator, not ops); every payload follows the contract.
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

STATES = ("open", "open", "open", "full", "paused", "closed")


def branch_ids(count: int) -> list[str]:
    return [f"b-{i:04d}" for i in range(count)]


def kiosk_ids(branch: str, per_branch: int) -> list[str]:
    return [f"{branch}-k{j + 1}" for j in range(per_branch)]


def ops_branches(count: int, regions: int = 16) -> dict[str, dict[str, str]]:
    """[branches] for an ops config: names with Polish letters, regions round robin."""
    return {b: {"name": f"Oddział {i:04d} Łódź–Żory", "region": f"region-{i % regions:02d}"}
            for i, b in enumerate(branch_ids(count))}


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Fleet:
    def __init__(self, port: int, branches: int, kiosks_per_branch: int = 2, *,
                 root: str = "checkin/v1", clients: int = 2, seed: int = 7) -> None:
        self.root = root
        self.branches = branch_ids(branches)
        self.kiosks = {b: kiosk_ids(b, kiosks_per_branch) for b in self.branches}
        self.last_occupancy: dict[str, dict[str, Any]] = {}
        self.published = 0
        self._random = random.Random(seed)
        self._clients = [self._connect(port, f"fleet-{i}-{time.monotonic_ns() % 10**8}")
                         for i in range(clients)]
        self._next = 0
        self.quiet: set[str] = set()  # branches the steady load leaves alone (latency probes)

    @staticmethod
    def _connect(port: int, client_id: str) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=MQTTProtocolVersion.MQTTv5)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        connected = threading.Event()
        client.on_connect = lambda *args: connected.set()
        client.connect("127.0.0.1", port, keepalive=30)
        client.loop_start()
        if not connected.wait(10):
            raise RuntimeError(f"the fleet could not connect to 127.0.0.1:{port}")
        return client

    def _client(self) -> mqtt.Client:
        self._next = (self._next + 1) % len(self._clients)
        return self._clients[self._next]

    def occupancy(self, branch: str, count: int | None = None, limit: int = 40,
                  state: str | None = None) -> mqtt.MQTTMessageInfo:
        payload = {"count": self._random.randint(0, limit) if count is None else count,
                   "limit": limit, "waiting": self._random.randint(0, 5),
                   "state": state or self._random.choice(STATES), "at": now_text()}
        self.last_occupancy[branch] = payload
        return self._publish(f"{self.root}/branches/{branch}/occupancy", payload)

    def status(self, branch: str, kiosk: str, online: bool = True) -> mqtt.MQTTMessageInfo:
        payload = {"online": online, "version": "1.0.0", "door": "ok",
                   "printer": self._random.choice(("ok", "ok", "ok", "paper_low")),
                   "outbox": self._random.randint(0, 3), "last_feed_at": now_text(),
                   "at": now_text()}
        return self._publish(f"{self.root}/branches/{branch}/kiosks/{kiosk}/status", payload)

    def _publish(self, topic: str, payload: dict[str, Any]) -> mqtt.MQTTMessageInfo:
        self.published += 1
        return self._client().publish(topic, json.dumps(payload), qos=1, retain=True)

    def announce(self) -> None:
        """Every branch's occupancy and every kiosk's status once, waiting for the PUBACKs."""
        infos = [self.occupancy(b) for b in self.branches]
        infos += [self.status(b, k) for b in self.branches for k in self.kiosks[b]]
        for info in infos:
            info.wait_for_publish(30)

    def run(self, seconds: float, occupancy_per_s: float, status_per_s: float,
            stop: threading.Event | None = None, tick_s: float = 0.05) -> None:
        """Publish at the given total rates for ``seconds`` (or until ``stop`` is set)."""
        start = time.monotonic()
        done_occ = done_status = 0
        pairs = [(b, k) for b in self.branches for k in self.kiosks[b]]
        while (elapsed := time.monotonic() - start) < seconds:
            if stop is not None and stop.is_set():
                return
            while done_occ < elapsed * occupancy_per_s:
                branch = self.branches[done_occ % len(self.branches)]
                if branch not in self.quiet:
                    self.occupancy(branch)
                done_occ += 1
            while done_status < elapsed * status_per_s:
                self.status(*pairs[done_status % len(pairs)])
                done_status += 1
            time.sleep(tick_s)

    def close(self) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()
