"""The paho adapter: ops' own MQTT connection, on paho's network thread.

It subscribes plainly (not through ``$share``) so ops gets its own copy of every kiosk event
even while ``central serve`` processes share that work, and the retained occupancy and status
of every branch when it connects. Each message goes to ``on_message`` untouched; checking and
applying it is the hub's business.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from central.ops.config import MqttSettings

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 3600  # events published while ops restarts are kept for it by the broker


def subscriptions(root: str) -> list[tuple[str, int]]:
    base = f"{root.strip('/')}/branches/+"
    return [(f"{base}/occupancy", 1), (f"{base}/kiosks/+/status", 1),
            (f"{base}/kiosks/+/events", 1), (f"{base}/command-results", 1)]


class OpsMqtt:
    def __init__(self, settings: MqttSettings, on_message: Callable[[str, bytes], None],
                 on_link: Callable[[bool], None] = lambda up: None) -> None:
        self.settings = settings
        self._on_message_cb = on_message
        self._on_link = on_link
        self._connected = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                             protocol=MQTTProtocolVersion.MQTTv5)
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(10_000)
        client.reconnect_delay_set(1, 30)
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.ca_file:
            client.tls_set(ca_certs=settings.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(self.settings.host, self.settings.port, keepalive=30,
                                  clean_start=False, properties=props)
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=1, retain=retain)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, code: Any,
                    props: Any) -> None:
        if code.is_failure:
            log.error("broker %s:%s refused ops: %s; check [mqtt] in the config",
                      self.settings.host, self.settings.port, code)
            return
        client.subscribe(subscriptions(self.settings.root))
        self._connected.set()
        self._on_link(True)
        log.info("connected to %s:%s", self.settings.host, self.settings.port)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, code: Any,
                       props: Any) -> None:
        self._connected.clear()
        self._on_link(False)
        log.warning("lost the broker (%s); paho reconnects on its own", code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._on_message_cb(message.topic, bytes(message.payload))
