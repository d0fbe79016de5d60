"""central's service against a real mosquitto: bookings out, events in, acks back."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from central.mqtt_link import BrokerSettings, MqttLink
from central.service import CentralService
from central.store import CentralStore
from kiosk.bookings import parse_booking
from tests.brokerkit import MosquittoBroker, MqttListener, wait_until
from tests.central.central_helpers import (
    BRANCH,
    BRANCH_CONFIG,
    KIOSK,
    TOPICS,
    booking_json,
    event_json,
    monday,
    start_central,
)

pytestmark = pytest.mark.broker

EVENTS = TOPICS.kiosk(BRANCH, KIOSK, "events")
ACKS = TOPICS.acks(BRANCH, KIOSK)


def acked_ids(kiosk: MqttListener) -> set[str]:
    return {i for m in kiosk.on(ACKS) for i in m.json()["event_ids"]}


def test_bookings_and_config_reach_the_branch(
    central: CentralService, kiosk: MqttListener, mosquitto: MosquittoBroker
) -> None:
    bookings = [parse_booking(booking_json(f"b-{i}", f"7KQ2{i:04d}", monday(9) +
                                           timedelta(minutes=i))) for i in range(1200)]
    central.store.upsert_bookings([(BRANCH, b) for b in bookings])
    central.store.set_branch_config(BRANCH, BRANCH_CONFIG)
    topic = TOPICS.bookings(BRANCH)
    wait_until(lambda: sum(len(m.json()["bookings"]) for m in kiosk.on(topic)) >= 1200, 10,
               "1200 bookings on the feed")
    sizes = [len(m.json()["bookings"]) for m in kiosk.on(topic)]
    assert sizes == [500, 500, 200]
    sent = [item for m in kiosk.on(topic) for item in m.json()["bookings"]]
    assert sent[0] == booking_json("b-0", "7KQ20000", monday(9))
    assert kiosk.wait_for(TOPICS.config(BRANCH)) == BRANCH_CONFIG
    wait_until(lambda: central.store.unpublished_bookings(10) == [], 5, "bookings marked sent")

    # The config is retained: a kiosk connecting later gets it at once.
    late = MqttListener(mosquitto.port, "k2", topics=(TOPICS.config(BRANCH),))
    try:
        late.wait_for(TOPICS.config(BRANCH), lambda c: c["name"].startswith("POK Kraków"))
        assert late.on(TOPICS.config(BRANCH))[0].retain
    finally:
        late.close()


def nagle_off(link: MqttLink) -> bool:
    sock = link.client.socket()
    assert sock is not None, "central is not connected"
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def test_events_are_stored_once_and_acknowledged(
    central: CentralService, kiosk: MqttListener
) -> None:
    # Central's PUBACKs follow its commits; with Nagle on they would wait for TCP's delayed ACK.
    assert nagle_off(central.link)
    events = [event_json() for _ in range(30)] + [event_json("passage"), event_json("alarm")]
    for event in events:
        kiosk.publish(EVENTS, event)
    ids = {e["event_id"] for e in events}
    wait_until(lambda: acked_ids(kiosk) >= ids, 10, "acks for every event")
    assert central.store.event_count() == len(events)
    for event in events[:10]:  # the kiosk re-sends after a reconnect
        kiosk.publish(EVENTS, event)
    wait_until(lambda: central.counters.get("events_duplicate") == 10, 10, "repeats acked")
    assert central.store.event_count() == len(events)
    stored = {e.event_id: e for e in central.store.events(limit=100)}
    assert stored.keys() == ids
    assert stored[events[-1]["event_id"]].payload == events[-1]


def test_resync_sends_the_whole_day_again(central: CentralService, kiosk: MqttListener) -> None:
    central.store.set_branch_config(BRANCH, BRANCH_CONFIG)
    day = [parse_booking(booking_json(f"d-{i}", f"7KQ2N{i:03d}", monday(9, i))) for i in range(3)]
    # Written with another offset: Tuesday 00:30 at +02:00 is Monday 23:30 in Warsaw.
    plus_two = timezone(timedelta(hours=2))
    late = parse_booking(booking_json("d-late", "7KQ2P000",
                                      datetime(2026, 11, 24, 0, 30, tzinfo=plus_two)))
    tuesday = parse_booking(booking_json("d-tue", "7KQ2P001", monday(9) + timedelta(days=1)))
    central.store.upsert_bookings([(BRANCH, b) for b in [*day, late, tuesday]])
    wait_until(lambda: central.store.unpublished_bookings(10) == [], 5, "first publication")
    kiosk.publish(TOPICS.kiosk(BRANCH, KIOSK, "resync"), {"request_id": "r-1",
                                                           "date": "2026-11-23"})
    monday_ids = ["d-0", "d-1", "d-2", "d-late"]
    kiosk.wait_for(TOPICS.bookings(BRANCH),
                   lambda m: [b["booking_id"] for b in m["bookings"]] == monday_ids)
    # The same request again (a QoS 1 repeat) is answered once.
    kiosk.publish(TOPICS.kiosk(BRANCH, KIOSK, "resync"), {"request_id": "r-1",
                                                           "date": "2026-11-23"})
    wait_until(lambda: central.counters.get("resyncs_repeated") == 1, 5, "repeat noticed")
    assert central.counters.get("resyncs_answered") == 1
    kiosk.publish(TOPICS.kiosk(BRANCH, KIOSK, "resync"), {"request_id": "r-2",
                                                           "date": "2026-12-25"})
    kiosk.wait_for(TOPICS.bookings(BRANCH), lambda m: m == {"bookings": []})
    assert central.counters.get("resyncs_answered") == 2


def test_latest_status_occupancy_and_the_will(
    central: CentralService, mosquitto: MosquittoBroker, tcp_relay: object
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    from tests.brokerkit import TcpRelay

    assert isinstance(tcp_relay, TcpRelay)
    status_topic = TOPICS.kiosk(BRANCH, KIOSK, "status")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="k1-status",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.will_set(status_topic, json.dumps({"online": False, "version": "1.2.0"}), qos=1,
                    retain=True)
    client.connect("127.0.0.1", tcp_relay.port, keepalive=5)
    client.loop_start()
    try:
        online = {"online": True, "version": "1.2.0", "door": "ok", "printer": "paper_low",
                  "outbox": 3, "last_feed_at": monday(10).isoformat(),
                  "at": monday(10, 30).isoformat()}
        client.publish(status_topic, json.dumps(online), qos=1, retain=True).wait_for_publish(5)
        occupancy = {"count": 7, "limit": 12, "waiting": 2, "state": "open",
                     "at": monday(10, 30).isoformat()}
        client.publish(TOPICS.branch(BRANCH, "occupancy"), json.dumps(occupancy), qos=1,
                       retain=True).wait_for_publish(5)
        wait_until(lambda: [s.payload for s in central.store.kiosk_statuses()] == [online], 5,
                   "the kiosk's status stored")
        wait_until(lambda: [(o.count, o.waiting, o.state) for o in central.store.occupancy()]
                   == [(7, 2, "open")], 5, "occupancy stored")
        tcp_relay.cut()  # the kiosk vanishes: the broker publishes its will
        wait_until(lambda: central.store.kiosk_statuses()[0].online is False, 10, "the will")
        # Retired: its retained status and the branch's occupancy are cleared.
        clear = MqttListener(mosquitto.port, "retire-tool", topics=("unused/#",))
        try:
            clear.publish(status_topic, b"", retain=True)
            clear.publish(TOPICS.branch(BRANCH, "occupancy"), b"", retain=True)
        finally:
            clear.close()
        wait_until(lambda: central.store.kiosk_statuses() == [] and
                   central.store.occupancy() == [], 5, "the kiosk and branch forgotten")
        assert central.counters.get("cleared.status") == 1
        assert central.counters.dropped() == {}
    finally:
        client.loop_stop()


def test_commands_go_out_and_results_are_recorded(
    central: CentralService, kiosk: MqttListener
) -> None:
    command = central.send_command(BRANCH, "set_limit", {"limit": 8}, "ops:jkowalski")
    sent = kiosk.wait_for(TOPICS.commands(BRANCH))
    assert sent == command and sent["args"] == {"limit": 8}
    kiosk.publish(TOPICS.branch(BRANCH, "command-results"),
                  {"command_id": command["command_id"], "ok": False,
                   "error": "limit below the people inside", "at": monday(10, 31).isoformat()})
    wait_until(lambda: central.counters.get("command_results") == 1, 5, "result recorded")
    record = central.store.command(command["command_id"])
    assert record is not None and record.ok is False
    assert record.error == "limit below the people inside" and record.issued_by == "ops:jkowalski"


def test_an_event_not_yet_stored_comes_back_after_a_crash(
    sqlite_store: CentralStore, mosquitto: MosquittoBroker, kiosk: MqttListener
) -> None:
    # A central that receives but dies before storing: no PUBACK was sent.
    link = MqttLink(BrokerSettings(port=mosquitto.port, client_id="central-crash"),
                    TOPICS.subscriptions())
    link.start()
    assert link.wait_ready(10)
    event = event_json()
    kiosk.publish(EVENTS, event)
    received = link.inbox.get(timeout=5)
    assert json.loads(received.payload) == event
    link.client.loop_stop()
    link.client.socket().close()  # type: ignore[union-attr]  # killed: no DISCONNECT sent
    service = start_central(sqlite_store, mosquitto.port, client_id="central-crash")
    try:
        wait_until(lambda: sqlite_store.event_count() == 1, 10, "the event delivered again")
        wait_until(lambda: event["event_id"] in acked_ids(kiosk), 5, "its ack")
    finally:
        service.stop()


def test_a_lost_database_connection_is_survived(
    pg_dsn: str, mosquitto: MosquittoBroker, kiosk: MqttListener
) -> None:
    import psycopg

    from central.store import open_store

    store = open_store(pg_dsn)
    service = start_central(store, mosquitto.port, client_id="central-pg")
    try:
        first = event_json()
        kiosk.publish(EVENTS, first)
        wait_until(lambda: first["event_id"] in acked_ids(kiosk), 10, "first ack")
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
        assert killed, "central's connection was there to be cut"
        second = event_json("passage")
        kiosk.publish(EVENTS, second)
        wait_until(lambda: second["event_id"] in acked_ids(kiosk), 15, "ack after reconnect")
        assert store.event_count() == 2
        assert service.counters.get("store_errors") >= 1
    finally:
        service.stop()
        store.close()


def test_a_retired_process_leaves_the_group(
    sqlite_store: CentralStore, mosquitto: MosquittoBroker, kiosk: MqttListener
) -> None:
    staying = start_central(sqlite_store, mosquitto.port, client_id="central-a")
    leaving = start_central(sqlite_store, mosquitto.port, client_id="central-b")
    try:
        leaving.stop(leave=True)
        # Without leaving, the broker would queue every other event for central-b's session.
        events = [event_json() for _ in range(100)]
        for event in events:
            kiosk.publish(EVENTS, event)
        wait_until(lambda: acked_ids(kiosk) >= {e["event_id"] for e in events}, 10,
                   "every event acknowledged by the process that stayed")
        assert staying.counters.get("events_stored") == 100
    finally:
        staying.stop()


def test_tls_and_a_password_are_used(tmp_path: Path) -> None:
    from central.store import open_store
    from tests.deploy.deploy_testkit import add_password, make_tls

    ca, cert, key = make_tls(tmp_path / "tls")
    passwd = tmp_path / "passwd"
    add_password(passwd, "central", "hasło-centrali")
    broker = MosquittoBroker(tmp_path / "broker", extra_config="\n".join([
        "allow_anonymous false", f"password_file {passwd}",
        f"certfile {cert}", f"keyfile {key}"]))
    broker.start()
    store = open_store(str(tmp_path / "central.sqlite3"))
    try:
        wrong = MqttLink(BrokerSettings(port=broker.port, client_id="central-wrong",
                                        username="central", password="zgadywanka", tls=True,
                                        ca_file=str(ca)), TOPICS.subscriptions())
        wrong.start()
        assert wrong.refused.wait(10), "the broker let a wrong password in"
        assert not wrong.connected.is_set()
        wrong.stop()
        settings = BrokerSettings(port=broker.port, client_id="central-tls",
                                  username="central", password="hasło-centrali", tls=True,
                                  ca_file=str(ca))
        link = MqttLink(settings, TOPICS.subscriptions())
        service = CentralService(store, link, TOPICS, publish_interval_s=0.1)
        service.start()
        assert link.wait_ready(10), "central did not connect over TLS with its password"
        assert nagle_off(link)
        store.set_branch_config(BRANCH, BRANCH_CONFIG)
        wait_until(lambda: service.counters.get("configs_published") == 1, 10,
                   "the config published over TLS")
        service.stop()
    finally:
        store.close()
        broker.kill()
