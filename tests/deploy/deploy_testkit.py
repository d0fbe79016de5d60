"""Helpers for the deployment tests: render the shipped templates, run real
mosquitto processes on loopback, make a throwaway TLS CA, talk MQTT with paho.

Nothing here re-implements what the shipped files do: templates are rendered
by deploy/lib/render-template.sh and ACL users are added by the shipped
add-kiosk.sh.
"""

from __future__ import annotations

import os
import pwd
import queue
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# Shared with the sync tests' broker kit, re-exported for the deploy tests.
from tests.brokerkit import add_password as add_password
from tests.brokerkit import make_tls as make_tls
from tests.brokerkit import terminate

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RENDER = DEPLOY / "lib" / "render-template.sh"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render(template: Path, out: Path, values: dict[str, str]) -> Path:
    """Render a shipped template with the shipped renderer."""
    env = {"PATH": os.environ["PATH"], **values}
    result = subprocess.run(
        [str(RENDER), str(template)], env=env, capture_output=True, text=True, timeout=10
    )
    if result.returncode != 0:
        raise AssertionError(f"rendering {template} failed: {result.stderr}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.stdout)
    return out


def give_to_mosquitto_user(path: Path) -> None:
    """Run as root, mosquitto drops to its own user: let it read and write the tree."""
    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam("mosquitto")
    except KeyError:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)


def wait_until(condition, timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Broker:
    """One mosquitto process started from a rendered config file."""

    conf: Path
    ports: tuple[int, ...]
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        logfile = self.log.open("ab")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=logfile, stderr=subprocess.STDOUT
        )
        logfile.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mosquitto exited: {self.log.read_text()}")
            if all(port_open(p) for p in self.ports):
                return
            time.sleep(0.05)
        raise AssertionError(f"mosquitto did not listen on {self.ports}: {self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM, as systemd does: mosquitto saves its persistence file on the way out."""
        if self.process is None or self.process.poll() is not None:
            return
        terminate(self.process)
        wait_until(lambda: not any(port_open(p) for p in self.ports), 5, "ports closed")

    def reload(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)


@dataclass
class MqttProbe:
    """A paho client that records what it receives and the broker's answers."""

    client: mqtt.Client
    messages: queue.Queue = field(default_factory=queue.Queue)
    subacks: queue.Queue = field(default_factory=queue.Queue)
    pubacks: dict[int, int] = field(default_factory=dict)
    connected: queue.Queue = field(default_factory=queue.Queue)

    def received(self, timeout: float) -> list[tuple[str, bytes, bool]]:
        """Everything received until `timeout` passes with nothing new."""
        got = []
        while True:
            try:
                got.append(self.messages.get(timeout=timeout))
            except queue.Empty:
                return got

    def take(self, count: int, timeout: float) -> list[tuple[str, bytes, bool]]:
        """The next `count` messages; fails if they do not all come within `timeout`."""
        deadline = time.monotonic() + timeout
        got: list[tuple[str, bytes, bool]] = []
        while len(got) < count:
            remaining = deadline - time.monotonic()
            try:
                got.append(self.messages.get(timeout=max(remaining, 0.001)))
            except queue.Empty:
                raise AssertionError(f"got {len(got)} of {count} messages: {got}") from None
        return got

    def subscribe(self, topic: str) -> list:
        self.client.subscribe(topic, qos=1)
        return self.subacks.get(timeout=5)

    def publish(self, topic: str, payload: str, retain: bool = False) -> int:
        """Publish QoS 1 and return the broker's PUBACK reason code (always 0 in 3.1.1)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        wait_until(lambda: info.mid in self.pubacks, 5, f"PUBACK for {topic}")
        return self.pubacks[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect_probe(
    port: int,
    client_id: str,
    username: str | None = None,
    password: str | None = None,
    ca_file: Path | None = None,
    protocol: mqtt.MQTTProtocolVersion = mqtt.MQTTProtocolVersion.MQTTv5,
    persistent: bool = False,
    subscribe: Iterable[str] = (),
) -> MqttProbe:
    """Connect, wait for CONNACK, subscribe; raise if the broker refuses."""
    v5 = protocol == mqtt.MQTTProtocolVersion.MQTTv5
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        clean_session=None if v5 else not persistent,
    )
    probe = MqttProbe(client)
    client.on_message = lambda c, u, m: probe.messages.put((m.topic, m.payload, m.retain))
    client.on_subscribe = lambda c, u, mid, codes, props: probe.subacks.put(codes)
    client.on_publish = lambda c, u, mid, code, props: probe.pubacks.__setitem__(mid, code.value)
    client.on_connect = lambda c, u, flags, code, props: probe.connected.put(code)
    if username is not None:
        client.username_pw_set(username, password)
    if ca_file is not None:
        client.tls_set(ca_certs=str(ca_file))
    properties = None
    if v5:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 86400 if persistent else 0
    client.connect(
        "127.0.0.1", port, keepalive=30,
        clean_start=not persistent if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
        properties=properties,
    )
    client.loop_start()
    code = probe.connected.get(timeout=5)
    if code.is_failure:
        client.loop_stop()
        raise ConnectionRefusedError(f"{username} refused: {code}")
    for topic in subscribe:
        probe.subscribe(topic)
    return probe


# --- the two brokers of the deployment tests (fixtures in conftest.py) ---

TOPIC_ROOT = "checkin/v1"
CENTRAL_USER, CENTRAL_PASSWORD = "central", "central-secret"
KIOSK_PASSWORDS = {("krk-01", "kiosk-1"): "krk-secret", ("waw-02", "kiosk-1"): "waw-secret"}


@dataclass
class Central:
    broker: Broker
    tls_port: int
    service_port: int
    ca_file: Path
    conf_dir: Path


@dataclass
class Branch:
    broker: Broker
    local_port: int
    lan_port: int
    bridge_user: str
