"""The kiosk's sync against a real mosquitto: feed, outbox, acks, commands, status, resync.

Central's part is played by ``CentralAcker`` (stores each event once, acknowledges it) and by
plain MQTT publishes; the cross-side tests with the reference central are in
test_sync_central.py.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.events import checkin_event
from kiosk.store import Store
from kiosk.sync.client import RESYNC_KEY
from tests.brokerkit import MosquittoBroker, add_password, make_tls, wait_until
from tests.kiosk.conftest import BRANCH_SETTINGS, booking_json, monday
from tests.sync.asyncapi import validate
from tests.sync.kit import (
    TOPICS,
    CentralAcker,
    Clock,
    day_bookings,
    feed,
    kiosk_config,
    outbox_size,
    running_kiosk,
    wait_outbox_empty,
)

pytestmark = pytest.mark.broker


def stored_bookings(branch: Any) -> int:
    return int(branch.submit(branch.store.count_bookings).result(5))


def checkins(branch: Any) -> list[Any]:
    return list(branch.submit(lambda: branch.store.checkins_on(monday(10).date())).result(5))


def online_statuses(central: CentralAcker) -> int:
    return sum(1 for m in central.on(TOPICS.status) if m.json()["online"])


def check_in(branch: Any, code: str) -> Any:
    return branch.check_in(code).result(10)


def test_bookings_reach_the_kiosk_and_check_ins_reach_central(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    central = CentralAcker(mosquitto.port)
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    bookings = day_bookings(5)
    with running_kiosk(config, Clock()) as (branch, sync):
        wait_until(lambda: sync.connected, 10, "the kiosk to connect")
        request = central.wait_for(TOPICS.resync)
        assert request["date"] == "2026-11-23" and request["request_id"]
        central.publish(TOPICS.bookings, feed(*bookings))
        wait_until(lambda: stored_bookings(branch) == 5, 10, "five bookings stored")
        for booking in bookings:
            assert check_in(branch, booking["code"]).accepted
        wait_until(lambda: len(central.events("checkin")) == 5, 10, "five check-ins at central")
        wait_outbox_empty(branch)
        sent = {e["booking_id"]: e["ticket"] for e in central.events("checkin")}
        kept = {c.booking_id: c.ticket for c in checkins(branch)}
        assert sent == kept
        arrived = [m.json()["ticket"] for m in central.on(TOPICS.events)
                   if m.json()["type"] == "checkin"]
        assert arrived[:5] == ["A001", "A002", "A003", "A004", "A005"]  # in the outbox's order
        status = central.wait_for(TOPICS.status, lambda s: s["online"] and s["outbox"] == 0)
        assert status["door"] == "ok" and status["alarms"] == []
        # Three admitted (on their way in, no door here to count them), two waiting.
        occupancy = central.wait_for(TOPICS.occupancy, lambda o: o["waiting"] == 2)
        assert occupancy["limit"] == 3 and occupancy["state"] == "full"
    offline = central.wait_for(TOPICS.status, lambda s: not s["online"])
    assert offline["version"]
    central.close()


def test_the_branch_works_without_the_broker_and_sends_everything_later(tmp_path: Path) -> None:
    broker = MosquittoBroker(tmp_path / "broker")
    config = kiosk_config(tmp_path / "kiosk", broker.port)
    Store(config.database_path).close()
    with running_kiosk(config, Clock()) as (branch, sync):
        branch.post(lambda: branch.apply_feed(_parsed(day_bookings(3)), monday(9)))
        results = [check_in(branch, b["code"]) for b in day_bookings(3)]
        assert all(r.accepted for r in results)
        assert outbox_size(branch) == 3 and not sync.connected
        assert branch.submit(branch.view).result(5).sync in ("connecting", "offline")
        broker.start()
        try:
            central = CentralAcker(broker.port)
            wait_until(lambda: len(central.events("checkin")) == 3, 15, "the waiting check-ins")
            wait_outbox_empty(branch)
            wait_until(lambda: branch.submit(branch.view).result(5).sync == "connected", 5,
                       "the staff panel to show the link to central")
            broker.kill()
            wait_until(lambda: branch.submit(branch.view).result(5).sync == "offline", 15,
                       "the staff panel to show the link lost")
            central.close()
        finally:
            broker.release()


def _parsed(bookings: list[dict[str, Any]]) -> Any:
    from kiosk.bookings import parse_feed

    return parse_feed({"bookings": bookings})


def test_a_message_queued_while_the_kiosk_was_away_arrives_with_its_session(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """The session expiry is set explicitly, so the broker keeps what came in meanwhile."""
    central = CentralAcker(mosquitto.port)
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    with running_kiosk(config, Clock()) as (_branch, sync):
        wait_until(lambda: sync.connected, 10, "the kiosk to connect")
        wait_until(lambda: sync.counters["resync_requests"] == 1, 5, "the first resync request")
    central.publish(TOPICS.bookings, feed(*day_bookings(2)))
    before = online_statuses(central)
    with running_kiosk(config, Clock()) as (branch, sync):
        wait_until(lambda: stored_bookings(branch) == 2, 10, "the feed kept by the broker")
        wait_until(lambda: online_statuses(central) > before, 10, "a new online status")
        assert sync.counters["resync_requests"] == 0  # asked once today already
    central.close()


def test_the_will_says_offline_when_the_kiosk_vanishes(
    mosquitto: MosquittoBroker, tcp_relay: Any, tmp_path: Path
) -> None:
    central = CentralAcker(mosquitto.port)
    config = kiosk_config(tmp_path / "kiosk", tcp_relay.port)
    with running_kiosk(config, Clock()) as (_branch, sync):
        central.wait_for(TOPICS.status, lambda s: s["online"])
        tcp_relay.cut()
        will = central.wait_for(TOPICS.status, lambda s: not s["online"], timeout=15)
        assert set(will) == {"online", "version", "at"}
        tcp_relay.restore()
        wait_until(lambda: sync.counters["connections"] >= 2, 15, "the kiosk to reconnect")
    central.close()


def test_an_unacknowledged_event_is_sent_again_until_central_acknowledges_it(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    central = CentralAcker(mosquitto.port)
    central.acking = False
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    with running_kiosk(config, Clock(), resend_after_s=0.5) as (branch, _sync):
        branch.post(lambda: branch.apply_feed(_parsed(day_bookings(1)), monday(9)))
        assert check_in(branch, day_bookings(1)[0]["code"]).accepted
        wait_until(lambda: central.deliveries >= 3, 10, "the event re-sent twice")
        assert outbox_size(branch) == 1
        central.acking = True
        wait_outbox_empty(branch)
        assert len(central.events("checkin")) == 1
    central.close()


def test_a_long_outbox_goes_through_a_small_window_without_stalls_or_repeats(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    # 400 events through a window of 8: 50 times the window fills. Central acknowledges
    # nothing meanwhile, so only the broker's PUBACKs can wake the sync thread; a missed
    # wake-up would cost a second each (50 s in all).
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    store = Store(config.database_path)
    events = [checkin_event(monday(9) + timedelta(seconds=i), booking_id=f"b-{i:05d}",
                            ticket=f"A{i:03d}", party_size=1, outcome="admitted")
              for i in range(400)]
    with store.transaction():
        for event in events:
            store.enqueue_event(event)
    store.close()
    central = CentralAcker(mosquitto.port)
    central.acking = False
    with running_kiosk(config, Clock(), window=8) as (branch, sync):
        wait_until(lambda: central.deliveries >= 400, 20, "400 events through the window")
        assert sync._client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        ids = [e["event_id"] for e in events]
        assert [e["event_id"] for e in central.events()] == ids  # in order
        central.publish(TOPICS.acks, {"event_ids": ids})
        wait_outbox_empty(branch)
    assert central.deliveries == 400  # none sent twice
    central.close()


def test_a_large_outbox_raises_the_backlog_alarm(mosquitto: MosquittoBroker,
                                                 tmp_path: Path) -> None:
    central = CentralAcker(mosquitto.port)
    central.acking = False
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port, outbox_alarm_at=2)
    with running_kiosk(config, Clock()) as (branch, sync):
        branch.post(lambda: branch.apply_feed(_parsed(day_bookings(3)), monday(9)))
        for booking in day_bookings(3):
            check_in(branch, booking["code"])
        status = central.wait_for(TOPICS.status, lambda s: "outbox_backlog" in s["alarms"])
        assert status["outbox"] >= 3
        alarm = central.wait_for(TOPICS.events, lambda e: e["type"] == "alarm")
        assert alarm["kind"] == "outbox_backlog" and "mqtt.outbox_alarm_at" in alarm["detail"]
        assert sync.counters["backlog_alarms"] == 1
        central.acking = True
        central.publish(TOPICS.acks, {"event_ids": [e["event_id"] for e in central.events()]})
        central.wait_for(TOPICS.status, lambda s: s["alarms"] == [] and s["online"])
    central.close()


# --- commands -------------------------------------------------------------------------------


def command(command_id: str, action: str, args: dict[str, Any], issued_at: Any) -> dict[str, Any]:
    return {"command_id": command_id, "action": action, "args": args,
            "issued_by": "ops:jkowalski", "issued_at": issued_at.isoformat()}


def test_a_command_is_carried_out_once_answered_and_audited(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    central = CentralAcker(mosquitto.port)
    clock = Clock()
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    with running_kiosk(config, clock) as (branch, sync):
        wait_until(lambda: sync.connected, 10, "the kiosk to connect")
        set_limit = command("c-1", "set_limit", {"limit": 8}, clock() - timedelta(seconds=10))
        central.publish(TOPICS.commands, set_limit)
        central.publish(TOPICS.commands, set_limit)  # a duplicate delivery
        result = central.wait_for(TOPICS.command_results, lambda r: r["command_id"] == "c-1")
        assert result["ok"] is True and result["error"] is None
        central.wait_for(TOPICS.occupancy, lambda o: o["limit"] == 8)
        wait_until(lambda: sync.counters["commands_repeated"] == 1, 5, "the duplicate seen")
        # The duplicate is answered again (its first answer may have been lost) with the same
        # outcome, but carried out only once: one override, one audit row.
        wait_until(lambda: len(central.on(TOPICS.command_results)) == 2, 5, "both answers")
        answers = [m.json() for m in central.on(TOPICS.command_results)]
        outcomes = [(a["command_id"], a["ok"], a["error"]) for a in answers]
        assert outcomes == [("c-1", True, None)] * 2
        override = central.wait_for(TOPICS.events, lambda e: e["type"] == "override")
        assert override["action"] == "set_limit" and override["from"] == "command"
        audit = branch.submit(lambda: branch.store.audit_log()).result(5)
        assert [a["action"] for a in audit if a["source"] == "command"] == ["set_limit"]

        stale = command("c-2", "pause", {}, clock() - timedelta(minutes=6))
        central.publish(TOPICS.commands, stale)
        refused = central.wait_for(TOPICS.command_results, lambda r: r["command_id"] == "c-2")
        assert refused["ok"] is False and "stale" in refused["error"]

        unknown = command("c-3", "self_destruct", {}, clock())
        central.publish(TOPICS.commands, unknown)
        refused = central.wait_for(TOPICS.command_results, lambda r: r["command_id"] == "c-3")
        assert refused["ok"] is False and "unknown action" in refused["error"]

        bad_args = command("c-4", "set_limit", {"limit": "many"}, clock())
        central.publish(TOPICS.commands, bad_args)
        refused = central.wait_for(TOPICS.command_results, lambda r: r["command_id"] == "c-4")
        assert refused["ok"] is False and "limit" in refused["error"]

        audit = branch.submit(lambda: branch.store.audit_log()).result(5)
        by_action = {(a["action"], a["result"].split(":")[0]) for a in audit}
        assert ("set_limit", "ok") in by_action
        assert ("pause", "refused") in by_action
        assert ("self_destruct", "refused") in by_action
        assert sum(1 for a in audit if a["action"] == "set_limit" and a["result"] == "ok") == 1
        # The stale pause was not carried out.
        assert central.wait_for(TOPICS.occupancy, lambda o: o["limit"] == 8)["state"] != "paused"
    central.close()


def test_a_resync_command_asks_central_for_the_day(mosquitto: MosquittoBroker,
                                                   tmp_path: Path) -> None:
    central = CentralAcker(mosquitto.port)
    clock = Clock()
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    with running_kiosk(config, clock) as (_branch, sync):
        wait_until(lambda: sync.counters["resync_requests"] == 1, 10, "the first resync")
        central.publish(TOPICS.commands, command("c-9", "resync", {}, clock()))
        central.wait_for(TOPICS.command_results, lambda r: r["command_id"] == "c-9" and r["ok"])
        wait_until(lambda: len(central.on(TOPICS.resync)) == 2, 5, "a second resync request")
    central.close()


def test_a_kiosk_whose_store_was_lost_asks_for_the_day_again(mosquitto: MosquittoBroker,
                                                              tmp_path: Path) -> None:
    central = CentralAcker(mosquitto.port)
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    with running_kiosk(config, Clock()) as (_branch, sync):
        wait_until(lambda: sync.counters["resync_requests"] == 1, 10, "the first resync")
    before = online_statuses(central)
    with running_kiosk(config, Clock()) as (_branch, sync):
        # The status goes out in the same step as a resync request would, just after it.
        wait_until(lambda: online_statuses(central) > before, 10, "a new online status")
        assert sync.counters["resync_requests"] == 0  # same day, same store: not again
    for path in config.database_path.parent.glob("kiosk.sqlite3*"):
        path.unlink()
    with running_kiosk(config, Clock()) as (_branch, sync):
        wait_until(lambda: sync.counters["resync_requests"] == 1, 10, "a resync for the new store")
    assert [m.json()["date"] for m in central.on(TOPICS.resync)] == ["2026-11-23"] * 2
    central.close()


def test_each_morning_the_kiosk_asks_for_the_day_again(mosquitto: MosquittoBroker,
                                                       tmp_path: Path) -> None:
    central = CentralAcker(mosquitto.port)
    clock = Clock(monday(17))
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    with running_kiosk(config, clock) as (branch, sync):
        first = central.wait_for(TOPICS.resync)
        assert first["date"] == "2026-11-23"
        clock.advance(hours=11, minutes=30)  # Tuesday 04:30: not yet morning
        sync.wake()
        clock.advance(minutes=31)
        wait_until(lambda: len(central.on(TOPICS.resync)) == 2, 5, "Tuesday's resync")
        assert central.on(TOPICS.resync)[1].json()["date"] == "2026-11-24"
        kept = branch.submit(lambda: branch.store.get_value(RESYNC_KEY)).result(5)
        assert kept == "2026-11-24"
    central.close()


# --- config and bad input ---------------------------------------------------------------------


def test_central_config_is_applied_live(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    central = CentralAcker(mosquitto.port)
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    central.publish(TOPICS.config, {**BRANCH_SETTINGS, "version": 5, "limit": 9}, retain=True)
    with running_kiosk(config, Clock()) as (branch, _sync):
        central.wait_for(TOPICS.occupancy, lambda o: o["limit"] == 9)
        central.publish(TOPICS.config, {**BRANCH_SETTINGS, "version": 6, "limit": 4,
                                        "checkin_window": {"early_min": 5, "late_min": 5}},
                        retain=True)
        central.wait_for(TOPICS.occupancy, lambda o: o["limit"] == 4)
        settings = branch.submit(lambda: branch.settings).result(5)
        assert settings.early_min == 5 and settings.version == 6
    central.close()


def test_bad_input_is_dropped_counted_and_logged_and_good_input_still_works(
    mosquitto: MosquittoBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiosk")
    central = CentralAcker(mosquitto.port)
    clock = Clock()
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    good = booking_json("b-good", "7KQ2-M9XD", monday(10), version=3, display_name="Łucja Ż.")
    with running_kiosk(config, clock) as (branch, sync):
        wait_until(lambda: sync.connected, 10, "the kiosk to connect")
        central.publish(TOPICS.bookings, feed(good))
        wait_until(lambda: stored_bookings(branch) == 1, 5, "the good booking")
        bad_messages: list[tuple[str, bytes | dict[str, Any]]] = [
            (TOPICS.bookings, b"not json at all"),
            (TOPICS.bookings, {"bookings": [{**good, "party_size": "two"}]}),
            (TOPICS.bookings, {"bookings": [{k: v for k, v in good.items() if k != "code"}]}),
            (TOPICS.bookings, b"{" + b" " * (2 * 1024 * 1024) + b"}"),
            (TOPICS.bookings, feed({**good, "version": 2, "display_name": "Old N."})),
            (TOPICS.config, {"limit": "twelve", "version": 9}),
            (TOPICS.commands, command("c-x", "launch", {}, clock())),
            (TOPICS.commands, command("c-y", "pause", {}, clock() - timedelta(minutes=10))),
            (TOPICS.commands, {"action": "pause"}),
            (TOPICS.acks, {"event_ids": "everything"}),
        ]
        for topic, payload in bad_messages:
            central.publish(topic, payload)
        wait_until(lambda: len(central.on(TOPICS.command_results)) == 2, 10, "two refusals")
        wait_until(lambda: sync.counters["dropped_bad_config"] == 1, 5, "the bad config")
        # The bad acknowledgement was published last: once it is counted, all are.
        wait_until(lambda: sync.counters["dropped_bad_ack"] == 1, 5, "the bad ack")
        counts = dict(sync.counters)
        assert counts["dropped_not_json"] == 1
        assert counts["dropped_too_large"] == 1
        assert counts["dropped_bad_command"] == 1
        assert counts["dropped_bad_ack"] == 1
        assert counts["bookings_rejected"] == 2
        assert counts["commands_refused"] == 2
        kept = branch.submit(lambda: branch.store.booking("b-good")).result(5)
        assert kept.version == 3 and kept.display_name == "Łucja Ż."
        # Still working: a good check-in goes through and reaches central.
        assert check_in(branch, "7kq2 m9xd").accepted
        central.wait_for(TOPICS.events, lambda e: e.get("booking_id") == "b-good")
    text = caplog.text
    assert "not JSON" in text and "more than the" in text and "party_size" in text
    assert "code" in text and "stale" in text and "command_id" in text
    assert "event_ids" in text and "config.limit" in text
    central.close()


def test_everything_on_the_wire_is_documented_and_fits_its_schema(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    central = CentralAcker(mosquitto.port)
    clock = Clock()
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    bookings = day_bookings(4)
    with running_kiosk(config, clock) as (branch, sync):
        wait_until(lambda: sync.connected, 10, "the kiosk to connect")
        central.publish(TOPICS.bookings, feed(*bookings))
        wait_until(lambda: stored_bookings(branch) == 4, 10, "the bookings")
        for booking in bookings:
            check_in(branch, booking["code"])
        check_in(branch, "ZZZZ-ZZZZ")  # unknown: a checkin_refused event
        central.publish(TOPICS.commands, command("c-1", "adjust_count", {"delta": 1}, clock()))
        central.wait_for(TOPICS.command_results)
        wait_outbox_empty(branch)
    central.wait_for(TOPICS.status, lambda s: not s["online"])
    seen = {m.topic for m in central.messages}
    assert {TOPICS.events, TOPICS.occupancy, TOPICS.status, TOPICS.resync,
            TOPICS.command_results, TOPICS.acks} <= seen
    kinds = {m.json()["type"] for m in central.on(TOPICS.events)}
    assert {"checkin", "checkin_refused", "override"} <= kinds
    for message in central.messages:
        validate(message.topic, json.loads(message.payload.decode("utf-8")))
    central.close()


def test_tls_and_a_password_from_the_configuration(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    ca, cert, key = make_tls(tmp_path / "tls")
    passwd = tmp_path / "broker" / "passwd"
    add_password(passwd, "krakow-1-k1", "sekret-Łódź")
    broker = MosquittoBroker(tmp_path / "broker", anonymous=False, extra_config="\n".join([
        f"cafile {ca}", f"certfile {cert}", f"keyfile {key}", f"password_file {passwd}"]))
    broker.start()
    try:
        password_file = tmp_path / "mqtt-password"
        password_file.write_text("sekret-Łódź\n", encoding="utf-8")
        config = kiosk_config(tmp_path / "kiosk", broker.port, tls=True, ca_file=str(ca),
                              username="krakow-1-k1", password_file=str(password_file))
        with running_kiosk(config, Clock()) as (_branch, sync):
            wait_until(lambda: sync.connected, 10, "a TLS connection with the password")
            wait_until(lambda: sync.counters["resync_requests"] == 1, 5, "a first publish")
        wrong = kiosk_config(tmp_path / "kiosk-wrong", broker.port, tls=True, ca_file=str(ca),
                             username="krakow-1-k1", password="wrong")
        with running_kiosk(wrong, Clock()) as (_branch, sync):
            wait_until(lambda: sync.counters["connect_refused"] >= 1, 10, "the refusal")
            assert not sync.connected
        assert "check mqtt.username, mqtt.password" in caplog.text
    finally:
        broker.release()


def test_while_central_is_away_the_outbox_is_not_pushed_again_and_again(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    config = kiosk_config(tmp_path / "kiosk", mosquitto.port)
    store = Store(config.database_path)
    with store.transaction():
        for i in range(200):
            store.enqueue_event(checkin_event(monday(10), booking_id=f"b-{i}", ticket=f"A{i:03d}",
                                              party_size=1, outcome="admitted"))
    store.close()
    with running_kiosk(config, Clock()) as (branch, sync):
        wait_until(lambda: sync.counters["events_unheard"] >= 200, 10, "PUBACKs from nobody")
        time.sleep(2.5)  # a quiet while: only probes go out, one at a time
        assert 200 <= sync.counters["events_published"] <= 203
        central = CentralAcker(mosquitto.port)
        wait_outbox_empty(branch, timeout=15)  # the next probe is heard: all goes out
        assert len(central.events("checkin")) == 200
        central.close()


def test_a_subscription_the_broker_refuses_is_logged_with_what_to_check(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """mosquitto grants every subscription and filters by ACL on delivery; other brokers
    answer "not authorized" in the SUBACK, as fed here to the kiosk's handler."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

    from kiosk.branch import Branch
    from kiosk.sync.client import SyncClient

    config = kiosk_config(tmp_path / "kiosk", 1883)
    branch = Branch(config)
    sync = SyncClient(config, branch)
    granted = ReasonCode(PacketTypes.SUBACK, "Granted QoS 1")
    refused = ReasonCode(PacketTypes.SUBACK, "Not authorized")
    sync._on_subscribe(sync._client, None, 1, [granted, granted, refused, granted],
                       Properties(PacketTypes.SUBACK))
    branch.store.close()
    assert sync.counters["subscribe_refused"] == 1
    assert f"refused the subscription to {TOPICS.commands}" in caplog.text
    assert "ACL for kiosk krakow-1-k1" in caplog.text
