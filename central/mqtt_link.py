"""paho-mqtt as central's adapter to the broker: MQTT 5, a fixed client id, a session the
broker keeps while central is down, and acknowledgements sent only when central says so.

``protocol="3.1.1"`` exists only for ``kiosk demo``'s embedded broker, which speaks nothing
newer: the session is kept with ``clean_session=False`` (no expiry, no properties), and the
shared subscriptions become plain ones, which is right for the demo's single central process.

paho runs its network loop on its own thread and hands every received message to a queue;
the service that owns the store takes them from there. With ``manual_ack`` the broker's
PUBACK waits until the service has stored the message, so a process killed half-way gets
the message again from its kept session when it comes back.
"""

from __future__ import annotations

import json
import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from kiosk.sync.nodelay import set_no_delay

log = logging.getLogger(__name__)

MQTT_PROTOCOLS = ("5", "3.1.1")


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "central-1"
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 30
    # Long enough to outlast a night of maintenance; the broker keeps QoS 1 messages meanwhile.
    session_expiry_s: int = 2 * 24 * 3600
    # How many unacknowledged messages the broker may send before central stores them.
    receive_maximum: int = 1000
    protocol: str = "5"  # one of MQTT_PROTOCOLS; the contract requires "5"

    @property
    def mqtt5(self) -> bool:
        return self.protocol == "5"


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    connection: int  # which connection it came on; a PUBACK only means something there


class MqttLink:
    def __init__(self, settings: BrokerSettings, subscriptions: list[str]) -> None:
        if settings.protocol not in MQTT_PROTOCOLS:
            raise ValueError(f"MQTT protocol {settings.protocol!r}: expected one of "
                             f"{', '.join(MQTT_PROTOCOLS)}")
        self.settings = settings
        self.subscriptions = (subscriptions if settings.mqtt5
                              else [plain_filter(f) for f in subscriptions])
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._unsubscribed = threading.Event()
        self.refused = threading.Event()  # the broker said no: credentials or ACL
        self._connection = 0
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=mqtt.MQTTv5 if s.mqtt5 else mqtt.MQTTv311,
            clean_session=None if s.mqtt5 else False,
            manual_ack=True,
        )
        if s.username:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set(ca_certs=s.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_socket_open = set_no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = lambda *_: self._unsubscribed.set()
        return client

    def start(self) -> None:
        s = self.settings
        if not s.mqtt5:
            self.client.connect_async(s.host, s.port, keepalive=s.keepalive_s)
            self.client.loop_start()
            return
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = s.session_expiry_s
        props.ReceiveMaximum = s.receive_maximum
        # clean_start=False on every connect, the first included: paho's default starts the
        # first session clean, which would throw away what the broker kept for a restart.
        self.client.connect_async(s.host, s.port, keepalive=s.keepalive_s,
                                  clean_start=False, properties=props)
        self.client.loop_start()

    def stop(self, *, end_session: bool = False) -> None:
        """Disconnect; with ``end_session`` the broker forgets this client id's session."""
        properties = None
        if end_session and not self.settings.mqtt5:
            log.warning("MQTT 3.1.1 cannot end a kept session on disconnect; the broker "
                        "keeps this client id's session")
        elif end_session:
            properties = Properties(PacketTypes.DISCONNECT)
            properties.SessionExpiryInterval = 0
        self.client.disconnect(properties=properties)
        self.client.loop_stop()

    def unsubscribe_all(self, timeout: float) -> bool:
        """Leave every subscription, the shared ones included, so the broker stops giving
        this process anything. Whatever it sent before its UNSUBACK is in the inbox once this
        returns True.
        """
        self._unsubscribed.clear()
        self.client.unsubscribe(self.subscriptions)
        return self._unsubscribed.wait(timeout)

    def wait_ready(self, timeout: float) -> bool:
        """Connected and subscribed: from now on nothing meant for central passes it by."""
        return self.connected.wait(timeout) and self.subscribed.wait(timeout)

    # -- paho callbacks (paho's thread) -------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason: ReasonCode, properties: Properties | None) -> None:
        if reason.is_failure:
            self.refused.set()
            log.error("broker %s:%s refused central (%s): check the user name, password and "
                      "ACL", self.settings.host, self.settings.port, reason)
            return
        self._connection += 1
        if self.subscriptions:
            if self.settings.mqtt5:
                options = SubscribeOptions(qos=1)
                client.subscribe([(topic_filter, options) for topic_filter in self.subscriptions])
            else:
                client.subscribe([(topic_filter, 1) for topic_filter in self.subscriptions])
        else:
            self.subscribed.set()
        log.info("connected to %s:%s as %s (session kept: %s)", self.settings.host,
                 self.settings.port, self.settings.client_id, flags.session_present)
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reasons: list[ReasonCode], properties: Properties | None) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("the broker refused %d of central's subscriptions (%s): check the ACL",
                      len(refused), ", ".join(refused))
        else:
            log.info("subscribed to %d topic filters", len(reasons))
        self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason: ReasonCode, properties: Properties | None) -> None:
        self.connected.clear()
        self.subscribed.clear()
        log.warning("disconnected from the broker (%s); paho reconnects", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = ""  # a topic that is not UTF-8 is rejected with the other bad topics
        self.inbox.put(Received(topic, bytes(message.payload), message.mid, message.qos,
                                message.retain, self._connection))

    # -- used by the service ------------------------------------------------------------
    def ack(self, received: Received) -> None:
        """Send the broker's PUBACK, on the connection the message came by only."""
        if received.qos > 0 and received.connection == self._connection:
            self.client.ack(received.mid, received.qos)

    def publish(self, topic: str, payload: dict[str, Any], *,
                retain: bool = False) -> mqtt.MQTTMessageInfo:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self.client.publish(topic, data, qos=1, retain=retain)


def plain_filter(topic_filter: str) -> str:
    """``$share/{group}/{filter}`` without the share: for a broker without shared subscriptions."""
    if topic_filter.startswith("$share/"):
        parts = topic_filter.split("/", 2)
        if len(parts) == 3:
            return parts[2]
    return topic_filter


def wait_published(infos: list[mqtt.MQTTMessageInfo], timeout: float) -> list[bool]:
    """Which of the publications the broker acknowledged within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    results = []
    for info in infos:
        try:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            results.append(info.is_published())
        except (RuntimeError, ValueError):
            results.append(False)
    return results
