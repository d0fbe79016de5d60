"""``central serve --mqtt-protocol``: MQTT 5 by the contract; 3.1.1 only for the demo's
embedded broker (amqtt), which has no shared subscriptions."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from central.cli import main
from central.mqtt_link import BrokerSettings, MqttLink, plain_filter
from central.store import open_store
from tests.brokerkit import wait_until
from tests.central.central_helpers import BRANCH, KIOSK, TOPICS, event_json


def test_serve_refuses_an_unknown_protocol_naming_the_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--db", str(tmp_path / "c.sqlite3"), "--mqtt-protocol", "3"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--mqtt-protocol: invalid choice: '3'" in err and "'5', '3.1.1'" in err, err


def test_only_3_1_1_drops_the_shared_subscriptions() -> None:
    shared = TOPICS.subscriptions()
    assert any(f.startswith("$share/central/") for f in shared)
    mqtt5 = MqttLink(BrokerSettings(client_id="c5"), shared)
    assert mqtt5.subscriptions == shared and mqtt5.client.protocol == mqtt.MQTTv5
    mqtt311 = MqttLink(BrokerSettings(client_id="c3", protocol="3.1.1"), shared)
    assert mqtt311.client.protocol == mqtt.MQTTv311
    assert mqtt311.subscriptions == [plain_filter(f) for f in shared]
    assert "checkin/v1/branches/+/kiosks/+/events" in mqtt311.subscriptions
    assert not any(f.startswith("$") for f in mqtt311.subscriptions)
    with pytest.raises(ValueError, match=r"'4': expected one of 5, 3\.1\.1"):
        MqttLink(BrokerSettings(protocol="4"), shared)


class Kiosk311:
    """A kiosk's side in MQTT 3.1.1: hears its acks, publishes events with QoS 1."""

    def __init__(self, port: int) -> None:
        self.acked: list[str] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kiosk-311",
                                  protocol=MQTTProtocolVersion.MQTTv311, clean_session=False)
        self.client.on_connect = lambda c, *_: c.subscribe(TOPICS.acks(BRANCH, KIOSK), 1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the 3.1.1 kiosk did not subscribe"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.acked.extend(json.loads(message.payload).get("event_ids", []))

    def acked_ids(self) -> list[str]:
        with self._lock:
            return list(self.acked)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.slow
def test_serve_over_3_1_1_stores_and_acknowledges_events_on_the_embedded_broker(
    tmp_path: Path,
) -> None:
    from kiosk.demo import DemoParts, embedded_broker

    parts = DemoParts(tmp_path)
    db = str(tmp_path / "central.sqlite3")
    with embedded_broker(parts):
        assert parts.broker_port is not None and parts.mqtt_protocol == "3.1.1", parts.notes
        with (tmp_path / "serve.log").open("wb") as out:
            serve = subprocess.Popen(
                [sys.executable, "-m", "central.cli", "serve", "--db", db, "--broker",
                 f"127.0.0.1:{parts.broker_port}", "--client-id", "central-311",
                 "--mqtt-protocol", "3.1.1"], stdout=out, stderr=subprocess.STDOUT)
        kiosk = Kiosk311(parts.broker_port)
        try:
            events = [event_json("checkin", ticket=f"A{n:03}") for n in range(3)]
            ids = [e["event_id"] for e in events]
            # central may still be connecting: send again until every event is acknowledged
            def all_acked() -> bool:
                if not set(ids) <= set(kiosk.acked_ids()):
                    for event in events:
                        kiosk.client.publish(TOPICS.kiosk(BRANCH, KIOSK, "events"),
                                             json.dumps(event), qos=1)
                    return False
                return True

            wait_until(all_acked, 20, "central's acks over MQTT 3.1.1", step=0.5)
        finally:
            kiosk.close()
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(15) == 0
    store = open_store(db)
    try:
        assert store.event_count(branch=BRANCH) == 3  # stored once each, repeats ignored
    finally:
        store.close()
