"""The shipped Mosquitto configs, run for real: a branch broker bridged over TLS
to a central broker, both on loopback, rendered from deploy/mosquitto/."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import paho.mqtt.client as mqtt
import pytest
from deploy_testkit import (
    CENTRAL_PASSWORD,
    CENTRAL_USER,
    DEPLOY,
    KIOSK_PASSWORDS,
    TOPIC_ROOT,
    Branch,
    Central,
    add_password,
    connect_probe,
    give_to_mosquitto_user,
    wait_until,
)

pytestmark = [pytest.mark.broker]

KRK = f"{TOPIC_ROOT}/branches/krk-01"
WAW = f"{TOPIC_ROOT}/branches/waw-02"
KRK_EVENTS = f"{KRK}/kiosks/kiosk-1/events"
ALL_EVENTS = f"{TOPIC_ROOT}/branches/+/kiosks/+/events"
CHECK_BRIDGE = DEPLOY / "health" / "check-bridge.sh"


def bridge_state(branch: Branch, by_name: bool = True) -> int:
    """Run the shipped health script against the branch broker."""
    env = {**os.environ, "MQTT_PORT": str(branch.local_port), "TIMEOUT_S": "1"}
    if by_name:
        env["BRIDGE_CLIENT_ID"] = branch.bridge_user
    return subprocess.run([str(CHECK_BRIDGE)], env=env, capture_output=True, timeout=10).returncode


def accepted(reason_code: int) -> bool:
    """PUBACK success codes are below 0x80 (0 Success, 16 No matching subscribers)."""
    return reason_code < 0x80


def event(n: int) -> str:
    return json.dumps({"event_id": str(uuid.uuid4()), "type": "passage", "direction": "in",
                       "count_after": n, "at": "2026-11-23T10:30:00+01:00"})


def central_ingest(central: Central):
    """Central's own service, as `central serve` connects: persistent session."""
    return connect_probe(central.service_port, "central-ingest", CENTRAL_USER, CENTRAL_PASSWORD,
                         persistent=True, subscribe=[ALL_EVENTS])


@pytest.mark.slow
def test_events_published_while_central_is_down_all_arrive_after_it_returns(
    central: Central, branch: Branch
) -> None:
    ingest = central_ingest(central)
    wait_until(lambda: bridge_state(branch) == 0, 15, "the bridge to come up")
    kiosk = connect_probe(branch.local_port, "kiosk-1")

    # Link up: one event goes straight through (without it the rest proves nothing).
    first = event(0)
    kiosk.publish(KRK_EVENTS, first)
    assert [m[1].decode() for m in ingest.take(1, timeout=5)] == [first]
    ingest.close()

    central.broker.stop()
    wait_until(lambda: bridge_state(branch) == 1, 15, "the bridge to notice central is down")
    sent = [event(n) for n in range(1, 201)]
    for payload in sent:
        assert accepted(kiosk.publish(KRK_EVENTS, payload))  # the branch broker took it

    central.broker.start()
    ingest = central_ingest(central)
    wait_until(lambda: bridge_state(branch) == 0, 60, "the bridge to reconnect")
    got: list[str] = []

    def all_arrived() -> bool:
        got.extend(m[1].decode() for m in ingest.received(0.2))
        return len(set(got)) >= len(sent)

    wait_until(all_arrived, 30, "the queued events at central")
    assert set(got) == set(sent), f"{len(set(sent) - set(got))} events lost"
    kiosk.close()
    ingest.close()


@pytest.mark.slow
def test_queue_for_central_survives_a_restart_of_the_branch_broker(
    central: Central, branch: Branch
) -> None:
    """Queued messages are kept on disk: a Pi rebooted during an outage still sends them."""
    ingest = central_ingest(central)
    wait_until(lambda: bridge_state(branch) == 0, 15, "the bridge to come up")
    ingest.close()
    central.broker.stop()
    wait_until(lambda: bridge_state(branch) == 1, 15, "the bridge to notice central is down")
    kiosk = connect_probe(branch.local_port, "kiosk-1")
    sent = [event(n) for n in range(50)]
    for payload in sent:
        assert accepted(kiosk.publish(KRK_EVENTS, payload))
    kiosk.close()

    branch.broker.stop()  # SIGTERM, as at shutdown: mosquitto writes its queue out
    branch.broker.start()
    central.broker.start()
    ingest = central_ingest(central)
    got: list[str] = []

    def all_arrived() -> bool:
        got.extend(m[1].decode() for m in ingest.received(0.2))
        return len(set(got)) >= len(sent)

    wait_until(all_arrived, 60, "the queued events at central")
    assert set(got) == set(sent)
    ingest.close()


def test_central_to_branch_topics_come_in_and_config_stays_retained(
    central: Central, branch: Branch
) -> None:
    wait_until(lambda: bridge_state(branch) == 0, 15, "the bridge to come up")
    assert bridge_state(branch, by_name=False) == 0  # as the timer runs it: any bridge
    kiosk = connect_probe(branch.local_port, "kiosk-1",
                          subscribe=[f"{KRK}/bookings", f"{KRK}/kiosks/kiosk-1/acks"])
    ops = connect_probe(central.service_port, "central-ops", CENTRAL_USER, CENTRAL_PASSWORD)
    config = json.dumps({"version": 7, "name": "POK Kraków, ul. Łagiewnicka 60", "limit": 12})
    # Messages from one publisher arrive in order: once the last one is in,
    # the other branch's would have come before it.
    assert accepted(ops.publish(f"{WAW}/bookings", '{"bookings": ["other branch"]}'))
    assert accepted(ops.publish(f"{KRK}/config", config, retain=True))
    assert accepted(ops.publish(f"{KRK}/bookings", '{"bookings": []}'))
    assert accepted(ops.publish(f"{KRK}/kiosks/kiosk-1/acks", '{"event_ids": ["a"]}'))
    got = [topic for topic, _, _ in kiosk.take(2, timeout=5)]
    assert got == [f"{KRK}/bookings", f"{KRK}/kiosks/kiosk-1/acks"]

    # A kiosk that starts later (or while the link is down) finds the last config.
    late = connect_probe(branch.local_port, "kiosk-1-restarted", subscribe=[f"{KRK}/config"])
    [(topic, payload, retained)] = late.take(1, timeout=5)
    assert (topic, payload.decode(), retained) == (f"{KRK}/config", config, True)
    for probe in (kiosk, ops, late):
        probe.close()


def kiosk_probe(central: Central, branch: str, protocol=mqtt.MQTTProtocolVersion.MQTTv5):
    password = KIOSK_PASSWORDS[(branch, "kiosk-1")]
    return connect_probe(central.tls_port, f"{branch}.kiosk-1", f"{branch}.kiosk-1", password,
                         ca_file=central.ca_file, protocol=protocol)


def test_branch_credentials_cannot_publish_to_another_branch(central: Central) -> None:
    ingest = connect_probe(central.service_port, "central-ingest", CENTRAL_USER, CENTRAL_PASSWORD,
                           subscribe=[f"{TOPIC_ROOT}/#"])
    krk = kiosk_probe(central, "krk-01")
    own, foreign, last = event(1), event(2), event(3)
    assert accepted(krk.publish(KRK_EVENTS, own))
    refused = krk.publish(f"{WAW}/kiosks/kiosk-1/events", foreign)
    assert refused == 135, f"expected PUBACK 'Not authorized' (135), got {refused}"
    assert krk.publish(f"{WAW}/occupancy", foreign) == 135
    # Another kiosk of the same branch is not this user either.
    assert krk.publish(f"{KRK}/kiosks/kiosk-2/events", foreign) == 135
    assert accepted(krk.publish(KRK_EVENTS, last))
    # In order from one publisher: had the refused ones gone through, they would sit between.
    assert [m[1].decode() for m in ingest.take(2, timeout=5)] == [own, last]
    assert ingest.messages.empty()
    krk.close()
    ingest.close()


@pytest.mark.parametrize("protocol", [mqtt.MQTTProtocolVersion.MQTTv5,
                                      mqtt.MQTTProtocolVersion.MQTTv311])
def test_branch_credentials_cannot_read_another_branchs_bookings(
    central: Central, protocol: mqtt.MQTTProtocolVersion
) -> None:
    krk = kiosk_probe(central, "krk-01", protocol)
    [own_code] = krk.subscribe(f"{KRK}/bookings")
    [foreign_code] = krk.subscribe(f"{WAW}/bookings")
    [wildcard_code] = krk.subscribe(f"{TOPIC_ROOT}/branches/+/bookings")
    assert not own_code.is_failure
    # What SUBACK says differs by protocol; what is delivered is what matters.
    print("SUBACK for a foreign branch:", protocol, foreign_code, wildcard_code)
    ops = connect_probe(central.service_port, "central-ops", CENTRAL_USER, CENTRAL_PASSWORD)
    assert accepted(ops.publish(f"{WAW}/bookings", '{"bookings": ["waw"]}'))
    assert accepted(ops.publish(f"{KRK}/bookings", '{"bookings": ["krk"]}'))
    # The other branch's message was published first: it would arrive first.
    # (The own one may come once or twice: exact and wildcard subscriptions overlap.)
    own = (f"{KRK}/bookings", '{"bookings": ["krk"]}')
    got = [(topic, payload.decode()) for topic, payload, _ in krk.take(1, timeout=5)]
    got += [(topic, payload.decode()) for topic, payload, _ in krk.received(timeout=0.3)]
    assert got in ([own], [own, own])
    krk.close()
    ops.close()


def test_branch_credentials_cannot_write_what_central_sends(central: Central) -> None:
    """A stolen Pi cannot feed its own branch fake bookings or commands."""
    krk = kiosk_probe(central, "krk-01")
    krk.subscribe(f"{KRK}/bookings")
    krk.subscribe(f"{KRK}/commands")
    assert krk.publish(f"{KRK}/bookings", '{"bookings": []}') == 135
    assert krk.publish(f"{KRK}/commands", '{"action": "free_entry"}') == 135
    ops = connect_probe(central.service_port, "central-ops", CENTRAL_USER, CENTRAL_PASSWORD)
    assert accepted(ops.publish(f"{KRK}/commands", '{"action": "pause"}'))
    # Central's own command arrives (the subscription works); the kiosk's did not.
    [(_, payload, _)] = krk.take(1, timeout=5)
    assert payload == b'{"action": "pause"}'
    ops.close()
    krk.close()


def test_wrong_password_and_anonymous_are_refused(central: Central) -> None:
    with pytest.raises(ConnectionRefusedError):
        connect_probe(central.tls_port, "krk-01.kiosk-1", "krk-01.kiosk-1", "wrong",
                      ca_file=central.ca_file)
    with pytest.raises(ConnectionRefusedError):
        connect_probe(central.tls_port, "anon", ca_file=central.ca_file)


def test_retained_status_and_occupancy_reach_central_retained(
    central: Central, branch: Branch
) -> None:
    wait_until(lambda: bridge_state(branch) == 0, 15, "the bridge to come up")
    kiosk = connect_probe(branch.local_port, "kiosk-1")
    status = json.dumps({"online": True, "version": "0.1.0", "door": "ok", "printer": "ok"})
    occupancy = json.dumps({"count": 7, "limit": 12, "waiting": 2, "state": "open"})
    assert accepted(kiosk.publish(f"{KRK}/kiosks/kiosk-1/status", status, retain=True))
    assert accepted(kiosk.publish(f"{KRK}/occupancy", occupancy, retain=True))
    expected = {(f"{KRK}/kiosks/kiosk-1/status", status, True),
                (f"{KRK}/occupancy", occupancy, True)}
    got: set[tuple[str, str, bool]] = set()

    def both_retained_at_central() -> bool:
        # A dashboard that connects later gets both as retained messages.
        topics = [f"{KRK}/occupancy", f"{TOPIC_ROOT}/branches/+/kiosks/+/status"]
        probe = connect_probe(central.service_port, f"dashboard-{uuid.uuid4().hex[:6]}",
                              CENTRAL_USER, CENTRAL_PASSWORD, subscribe=topics)
        got.update((t, p.decode(), r) for t, p, r in probe.received(timeout=0.5))
        probe.close()
        return expected <= got

    wait_until(both_retained_at_central, 10, "retained status and occupancy at central")
    kiosk.close()


def test_shared_subscription_splits_events_between_central_services(
    central: Central,
) -> None:
    shared = f"$share/central/{ALL_EVENTS}"
    workers = [connect_probe(central.service_port, f"central-serve-{n}", CENTRAL_USER,
                             CENTRAL_PASSWORD, subscribe=[shared]) for n in range(2)]
    krk = kiosk_probe(central, "krk-01")
    sent = [event(n) for n in range(20)]
    for payload in sent:
        assert accepted(krk.publish(KRK_EVENTS, payload))
    per_worker: list[list[str]] = [[], []]

    def all_shared_out() -> bool:
        for mine, worker in zip(per_worker, workers, strict=True):
            mine.extend(m[1].decode() for m in worker.received(0.05))
        return len(per_worker[0]) + len(per_worker[1]) >= len(sent)

    wait_until(all_shared_out, 10, "all shared events")
    assert sorted(per_worker[0] + per_worker[1]) == sorted(sent), "each event exactly once"
    assert all(per_worker), "both workers got a share"
    for probe in (*workers, krk):
        probe.close()


def test_removed_kiosk_is_refused_after_a_reload(central: Central) -> None:
    kiosk_probe(central, "waw-02").close()  # works before
    env = {**os.environ, "CONF_DIR": str(central.conf_dir)}
    script = DEPLOY / "mosquitto" / "central" / "remove-kiosk.sh"
    subprocess.run([str(script), "waw-02", "kiosk-1"], env=env, check=True, capture_output=True,
                   timeout=10)
    central.broker.reload()

    def refused() -> bool:
        try:
            kiosk_probe(central, "waw-02").close()
        except ConnectionRefusedError:
            return True
        return False

    wait_until(refused, 5, "waw-02.kiosk-1 to be refused")
    kiosk_probe(central, "krk-01").close()  # the others are untouched


def test_branch_network_listener_wants_a_staff_password(branch: Branch) -> None:
    """Staff screens use the LAN port with an account from lan-passwd; nobody gets in without."""
    with pytest.raises(ConnectionRefusedError):
        connect_probe(branch.lan_port, "staff-screen-anon")
    lan_passwd = branch.broker.conf.parent / "lan-passwd"
    add_password(lan_passwd, "staff-1", "staff-secret")
    give_to_mosquitto_user(lan_passwd)
    branch.broker.reload()

    def staff_gets_in() -> bool:
        try:
            connect_probe(branch.lan_port, "staff-screen-1", "staff-1", "staff-secret").close()
        except ConnectionRefusedError:
            return False
        return True

    wait_until(staff_gets_in, 5, "the staff account to work after a reload")
    # The kiosk's own loopback port stays open without a password, and does not refuse
    # the user name and password the example kiosk.toml sends.
    connect_probe(branch.local_port, "kiosk-1").close()
    connect_probe(branch.local_port, "kiosk-1", "krakow-lagiewnicka-k1", "anything").close()
