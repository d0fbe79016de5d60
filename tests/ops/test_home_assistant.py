"""Home Assistant discovery on a real broker: retained configs while enabled, availability
following the kiosks, and an empty retained payload removing the entities once disabled."""

from __future__ import annotations

from typing import Any

import pytest

from tests.brokerkit import MosquittoBroker, MqttListener, wait_until
from tests.ops.conftest import now_local

pytestmark = [pytest.mark.broker]

BRANCHES = {"krk-1": {"name": "POK Kraków", "region": "małopolskie"}}
PREFIX = "homeassistant/sensor/checkin_krk-1"


def retained(listener: MqttListener, topic: str) -> list[Any]:
    return [m for m in listener.on(topic) if m.retain]


def test_discovery_is_off_by_default(mosquitto: MosquittoBroker, run_ops: Any) -> None:
    run_ops(mosquitto.port, BRANCHES)
    kiosk = MqttListener(mosquitto.port, "k1", topics=("nothing/here",))
    try:
        kiosk.publish("checkin/v1/branches/krk-1/kiosks/k1/status",
                      {"online": True, "at": now_local().isoformat()}, retain=True)
    finally:
        kiosk.close()
    # A fresh subscriber gets every retained message at once; no discovery may be among them.
    seen = MqttListener(mosquitto.port, "late", topics=("#",))
    try:
        wait_until(lambda: seen.on("checkin/v1/branches/krk-1/kiosks/k1/status"), 5,
                   "the retained status")
        assert not [m for m in seen.messages if m.topic.startswith("homeassistant/")]
    finally:
        seen.close()


def test_discovery_publishes_ties_availability_and_removes(
        mosquitto: MosquittoBroker, run_ops: Any) -> None:
    ops = run_ops(mosquitto.port, BRANCHES, home_assistant=True)
    kiosk = MqttListener(mosquitto.port, "k1", topics=("nothing/here",))
    kiosk.publish("checkin/v1/branches/krk-1/kiosks/k1/status",
                  {"online": True, "at": now_local().isoformat()}, retain=True)
    kiosk.close()
    watch = MqttListener(mosquitto.port, "ha", topics=("homeassistant/#",))
    try:
        config = watch.wait_for(f"{PREFIX}/occupancy/config",
                                lambda c: c.get("availability"), timeout=10)
        assert config["state_topic"] == "checkin/v1/branches/krk-1/occupancy"
        assert config["availability"][0]["topic"] == "checkin/v1/branches/krk-1/kiosks/k1/status"
        for sensor in ("limit", "waiting", "state"):
            watch.wait_for(f"{PREFIX}/{sensor}/config")
        ops.stop()
    finally:
        watch.close()
    # Retained: a late subscriber (Home Assistant after its restart) gets them all.
    late = MqttListener(mosquitto.port, "ha-late", topics=("homeassistant/#",))
    try:
        wait_until(lambda: len({m.topic for m in late.messages if m.retain}) == 4, 5,
                   "four retained configs")
    finally:
        late.close()
    # Started again with discovery off: every entity it published is removed.
    gone = MqttListener(mosquitto.port, "ha-gone", topics=("homeassistant/#",))
    try:
        run_ops(mosquitto.port, BRANCHES, name="ops-off", history="../ops/history.sqlite3")
        wait_until(lambda: [m for m in gone.messages if m.payload == b""] and len(
            {m.topic for m in gone.messages if m.payload == b""}) == 4, 10,
            "empty retained payloads for the four entities")
    finally:
        gone.close()
    after = MqttListener(mosquitto.port, "ha-after", topics=("homeassistant/#", "sync/marker"))
    try:
        after.publish("sync/marker", b"x")
        wait_until(lambda: after.on("sync/marker"), 5, "the marker")
        assert not [m for m in after.messages if m.topic.startswith("homeassistant/")]
    finally:
        after.close()
