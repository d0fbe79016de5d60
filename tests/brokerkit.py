"""Real MQTT plumbing for tests: mosquitto on a free port, a cuttable TCP relay, a listening client.

Import it as ``tests.brokerkit`` (the test package needs ``__init__.py`` files up to ``tests/``, or
pytest run as ``python -m pytest`` from the project root). To use the fixtures in a suite, import
them in that suite's ``conftest.py``::

    from tests.brokerkit import mosquitto, tcp_relay  # noqa: F401  (pytest fixtures)

- ``MosquittoBroker``: one mosquitto process with a generated config in its own directory,
  listening on 127.0.0.1 only. ``kill()`` is SIGKILL (nothing saved beyond the last autosave),
  ``stop()`` is SIGTERM, ``start()`` again reuses the same port.
- ``TcpRelay``: a relay on 127.0.0.1 in front of a port. ``cut()`` drops every open connection
  (RST) and refuses new ones until ``restore()``: the network between kiosk and broker gone.
- ``MqttListener``: a paho client that records every message, for asserting what was published.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reserve_port() -> tuple[int, socket.socket]:
    """A free port held by a bound, non-listening socket with SO_REUSEADDR.

    While it is held, no other ``bind`` to port 0 gets this port, yet mosquitto (which sets
    SO_REUSEADDR too) can listen on it; so a broker killed and started again keeps its port.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return int(sock.getsockname()[1]), sock


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def terminate(process: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    """SIGTERM, as systemd stops a service; SIGKILL if it has not ended within ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def wait_until(condition: Callable[[], object], timeout: float, what: str,
               step: float = 0.02) -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


# --- mosquitto -------------------------------------------------------------------------------


@dataclass
class MosquittoBroker:
    """One mosquitto process; its config, persistence file and log live in ``directory``."""

    directory: Path
    port: int = 0  # 0: a port reserved for this broker's lifetime
    # Saved every second, so a SIGKILL loses at most about a second of the broker's state.
    autosave_interval_s: int = 1
    anonymous: bool = True
    # How many QoS 1 messages the broker has out to one client before it waits for PUBACKs.
    # Central acknowledges only after a durable commit, so this bounds its batch size.
    max_inflight_messages: int = 100
    extra_config: str = ""  # appended: options for the listener, password_file, ...
    process: subprocess.Popen[bytes] | None = None
    _reservation: socket.socket | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.port == 0:
            self.port, self._reservation = reserve_port()

    def release(self) -> None:
        """Kill the broker and give its port back."""
        self.kill()
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None

    @property
    def conf(self) -> Path:
        return self.directory / "mosquitto.conf"

    @property
    def log(self) -> Path:
        return self.directory / "mosquitto.log"

    def _write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
            "persistence true",
            f"persistence_location {self.directory}/",
            f"autosave_interval {self.autosave_interval_s}",
            "max_queued_messages 100000",
            f"max_inflight_messages {self.max_inflight_messages}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if os.geteuid() == 0:
            # Started as root, mosquitto would switch to its own user and lose the tmp dir.
            lines.append("user root")
        self.conf.write_text("\n".join(lines) + "\n" + self.extra_config + "\n")

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        self._write_config()
        with self.log.open("ab") as logfile:
            self.process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=logfile, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mosquitto exited at start:\n{self.log_text()}")
            if port_open(self.port):
                return
            time.sleep(0.02)
        raise AssertionError(f"mosquitto did not listen on {self.port}:\n{self.log_text()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the broker dies without saving, as on a crash or a power cut."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        wait_until(lambda: not port_open(self.port), 5, f"port {self.port} closed")

    def stop(self) -> None:
        """SIGTERM: the broker saves its persistence file on the way out."""
        terminate(self.process)

    def restart(self, *, kill: bool = True) -> None:
        if kill:
            self.kill()
        else:
            self.stop()
        self.start()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A running mosquitto on a free port of 127.0.0.1, stopped after the test."""
    broker = MosquittoBroker(tmp_path / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.release()


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1: (ca.crt, server.crt, server.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_crt, "-days", "2",
         "-subj", "/CN=branch-checkin test CA"],
        ["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
         "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext],
    ]
    for command in commands:
        subprocess.run([str(c) for c in command], check=True, capture_output=True, timeout=20)
    return ca_crt, crt, key


def add_password(passwd: Path, user: str, password: str) -> None:
    """Add a user to a mosquitto password file (made if missing) with mosquitto_passwd."""
    passwd.parent.mkdir(parents=True, exist_ok=True)
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password],
                   check=True, capture_output=True, timeout=10)


# --- a TCP relay the test can cut ----------------------------------------------------------


class TcpRelay:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target_port``; ``cut()`` is a network outage."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port or 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-relay", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until ``restore()``."""
        with self._lock:
            self._cut = True
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            _reset(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    @property
    def is_cut(self) -> bool:
        return self._cut

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self.accepted += 1
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True,
                                 name="tcp-relay-pump").start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        src.settimeout(None)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open.discard(src)
            self._open.discard(dst)
        for sock in (src, dst):
            _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN, like a connection lost on the way."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@pytest.fixture
def tcp_relay(mosquitto: MosquittoBroker) -> Iterator[TcpRelay]:
    """A relay in front of the ``mosquitto`` fixture's port."""
    relay = TcpRelay(mosquitto.port)
    try:
        yield relay
    finally:
        relay.close()


# --- a client that listens ----------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class MqttListener:
    """A paho MQTT 5 client that records what it receives and publishes QoS 1 on request."""

    def __init__(self, port: int, client_id: str, topics: tuple[str, ...] = ("#",),
                 timeout: float = 5) -> None:
        self._lock = threading.Lock()
        self.messages: list[Received] = []
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=MQTTProtocolVersion.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.topics = topics
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0
        self.client.connect("127.0.0.1", port, keepalive=10, clean_start=True, properties=props)
        self.client.loop_start()
        if not self._connected.wait(timeout) or not self._subscribed.wait(timeout):
            self.close()
            raise AssertionError(f"listener {client_id} did not connect to port {port}")

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, code: Any,
                    props: Any) -> None:
        if not code.is_failure:
            client.subscribe([(t, 1) for t in self.topics])
            self._connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload), message.retain))

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(self, topic: str, predicate: Callable[[Any], bool] = lambda _: True,
                 timeout: float = 5) -> Any:
        """The first JSON payload on ``topic`` that satisfies ``predicate``."""
        found: list[Any] = []

        def check() -> bool:
            for message in self.on(topic):
                with contextlib.suppress(ValueError):
                    data = message.json()
                    if predicate(data):
                        found.append(data)
                        return True
            return False

        wait_until(check, timeout, f"a message on {topic}")
        return found[0]

    def publish(self, topic: str, payload: bytes | str | dict[str, Any], *,
                retain: bool = False, timeout: float = 5) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload, ensure_ascii=False)
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise AssertionError(f"no PUBACK for {topic} within {timeout} s")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()
