"""Bad input on every topic central hears: dropped, counted, logged; nothing good is lost."""

from __future__ import annotations

import json
import logging

import pytest

from central.messages import Rejected, parse_message
from central.service import CentralService
from central.topics import Topic, TopicError, Topics
from tests.brokerkit import MqttListener, wait_until
from tests.central.central_helpers import BRANCH, KIOSK, TOPICS, event_json, monday

EVENTS = TOPICS.kiosk(BRANCH, KIOSK, "events")
EVENT_TOPIC = Topic("events", BRANCH, KIOSK)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty"),
        (b"{not json", "not_json"),
        (b"\xff\xfe{}", "not_json"),
        (b"[1, 2]", "not_object"),
        (b"[" * 50_000 + b"]" * 50_000, "too_large"),
        (b"[" * 30_000 + b"]" * 30_000, "not_json"),  # nested past the parser's depth
        (json.dumps({"type": "checkin"}).encode(), "missing_field"),
        (json.dumps({**event_json(), "event_id": 42}).encode(), "wrong_type"),
        (json.dumps({**event_json(), "party_size": "2"}).encode(), "wrong_type"),
        (json.dumps({**event_json(), "party_size": True}).encode(), "wrong_type"),
        (json.dumps({**event_json(), "at": "10:31"}).encode(), "bad_value"),
        (json.dumps({**event_json(), "at": "2026-11-23T10:31:00"}).encode(), "bad_value"),
        (json.dumps({**event_json(), "outcome": "teleported"}).encode(), "bad_value"),
        (json.dumps(event_json("teleport")).encode(), "unknown_type"),
        (json.dumps(event_json(ticket="A\u0000")).encode(), "bad_value"),
        (json.dumps({k: v for k, v in event_json().items() if k != "ticket"}).encode(),
         "missing_field"),
    ],
)
def test_bad_events_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        parse_message(EVENT_TOPIC, payload)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_every_contract_event_type_is_accepted() -> None:
    events = [
        event_json("checkin", booking_id=None, outcome="waiting"),
        event_json("checkin_refused", reason="too_early", booking_id="b-1"),
        event_json("checkin_refused", reason="unknown_code"),
        event_json("passage", direction="out", count_after=0),
        event_json("admitted", ticket="A017", party_size=2),
        event_json("override", action="set_limit", args={"limit": 8}, by="staff:ewa",
                   **{"from": "kiosk"}),
        event_json("alarm", kind="outbox_backlog", detail="1200 events waiting"),
        {**event_json(), "extra": "unknown fields are ignored"},
    ]
    for event in events:
        parsed = parse_message(EVENT_TOPIC, json.dumps(event).encode())
        assert parsed.payload == event  # type: ignore[union-attr]


def test_topics_outside_the_contract_are_refused() -> None:
    topics = Topics()
    assert topics.parse(EVENTS) == EVENT_TOPIC
    for bad in ("checkin/v1/branches/KRAKOW/occupancy", "checkin/v2/branches/a/occupancy",
                "checkin/v1/branches/a/kiosks/k1/acks", "checkin/v1/branches/a",
                f"checkin/v1/branches/{'x' * 33}/occupancy"):
        with pytest.raises(TopicError):
            topics.parse(bad)


WRONG_TYPE = {**event_json(), "count_after": "3", "type": "passage", "direction": "in"}

BAD_MESSAGES = [
    (EVENTS, b"{not json", "events.not_json"),
    (EVENTS, b"x" * 100_000, "events.too_large"),
    (EVENTS, json.dumps({"type": "checkin"}).encode(), "events.missing_field"),
    (EVENTS, json.dumps(WRONG_TYPE).encode(), "events.wrong_type"),
    (TOPICS.kiosk(BRANCH, KIOSK, "status"), b"[]", "status.not_object"),
    (TOPICS.kiosk(BRANCH, KIOSK, "status"), json.dumps({"online": "yes"}).encode(),
     "status.wrong_type"),
    (TOPICS.branch(BRANCH, "occupancy"),
     json.dumps({"count": -1, "limit": 12, "waiting": 0, "state": "open",
                 "at": monday(10).isoformat()}).encode(), "occupancy.bad_value"),
    (TOPICS.branch(BRANCH, "occupancy"),
     json.dumps({"count": 1, "limit": 12, "waiting": 0, "state": "party",
                 "at": monday(10).isoformat()}).encode(), "occupancy.bad_value"),
    (TOPICS.kiosk(BRANCH, KIOSK, "resync"), json.dumps({"request_id": "r",
                                                         "date": "23.11.2026"}).encode(),
     "resync.bad_value"),
    (TOPICS.kiosk(BRANCH, KIOSK, "resync"), b"null", "resync.not_object"),
    (TOPICS.branch(BRANCH, "command-results"), json.dumps({"ok": True}).encode(),
     "command-results.missing_field"),
    ("checkin/v1/branches/Krakow/kiosks/k1/events", json.dumps(event_json()).encode(),
     "unknown.bad_topic"),
]


@pytest.mark.broker
def test_bad_input_on_every_topic_is_dropped_and_counted(
    central: CentralService, kiosk: MqttListener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="central.service")
    good_before = event_json()
    kiosk.publish(EVENTS, good_before)
    for topic, payload, _ in BAD_MESSAGES:
        kiosk.publish(topic, payload)
    unknown = event_json("teleport")
    kiosk.publish(EVENTS, unknown)
    good_after = event_json("passage")
    kiosk.publish(EVENTS, good_after)

    expected: dict[str, int] = {}
    for _, _, key in BAD_MESSAGES:
        expected[key] = expected.get(key, 0) + 1
    expected["events.unknown_type"] = 1
    wait_until(lambda: central.counters.dropped() == expected, 10,
               f"drops counted as {expected}")
    wait_until(lambda: central.store.event_count() == 2, 5, "both good events stored")
    acks = TOPICS.acks(BRANCH, KIOSK)
    # Events that carry an id are kept aside and acknowledged, so the kiosk stops re-sending.
    wanted = {good_before["event_id"], good_after["event_id"], unknown["event_id"],
              WRONG_TYPE["event_id"]}
    wait_until(lambda: {i for m in kiosk.on(acks) for i in m.json()["event_ids"]} == wanted, 5,
               "acks for the good events and the quarantined ones")
    kept = {q.event_id: q for q in central.store.quarantined_events()}
    assert kept.keys() == {unknown["event_id"], WRONG_TYPE["event_id"]}
    assert kept[unknown["event_id"]].reason == "unknown_type"
    assert json.loads(kept[unknown["event_id"]].payload) == unknown
    drops = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == len(BAD_MESSAGES) + 1
    assert any("field 'event_id' is missing" in line for line in drops)
    assert any("'teleport' is not in the contract" in line for line in drops)
    assert central._thread is not None and central._thread.is_alive()
