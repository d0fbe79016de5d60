"""The sans-I/O cores of the sync: routing, the resend policy, the throttle, the schedule."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from kiosk.sync.inbound import (
    COMMAND_ACTIONS,
    MAX_PAYLOAD_BYTES,
    Acknowledge,
    ApplyConfig,
    ApplyFeed,
    Drop,
    RefuseCommand,
    RunCommand,
    route_message,
)
from kiosk.sync.outbox import OutboxTracker
from kiosk.sync.schedule import resync_due
from kiosk.sync.throttle import PublishThrottle
from tests.kiosk.conftest import BRANCH_SETTINGS, booking_json, monday
from tests.sync.kit import TOPICS

NOW = monday(10)


def route(topic: str, data: object) -> object:
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    return route_message(TOPICS, topic, payload, NOW)


def command(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {"command_id": "c-1", "action": "set_limit", "args": {"limit": 8},
                               "issued_by": "ops:jkowalski",
                               "issued_at": (NOW - timedelta(minutes=1)).isoformat()}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- routing -------------------------------------------------------------------------------


def test_a_feed_keeps_the_good_bookings_and_reports_the_bad_ones() -> None:
    good = booking_json("b-1", "7KQ2-M9XD", NOW)
    bad = booking_json("b-2", "7KQ2-M9XE", NOW, version="three")
    decision = route(TOPICS.bookings, {"bookings": [good, bad]})
    assert isinstance(decision, ApplyFeed)
    assert [b.booking_id for b in decision.feed.bookings] == ["b-1"]
    assert len(decision.feed.errors) == 1 and "version" in decision.feed.errors[0]


@pytest.mark.parametrize(
    ("payload", "kind", "words"),
    [
        (b"{not json", "not_json", "not JSON"),
        (b"\xff\xfe", "not_json", "UTF-8"),
        (b"[1, 2]", "wrong_shape", "JSON object"),
        (b"", "empty", "empty"),
        (b"[" * 100_000 + b"]" * 100_000, "not_json", "nested"),
        (json.dumps({"bookings": "all"}).encode(), "bad_feed", "bookings"),
        (json.dumps({"bookings": [{}] * 501}).encode(), "bad_feed", "at most 500"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "too_large", "bytes"),
    ],
)
def test_malformed_feeds_are_dropped_with_a_reason(payload: bytes, kind: str, words: str) -> None:
    decision = route_message(TOPICS, TOPICS.bookings, payload, NOW)
    assert isinstance(decision, Drop)
    assert decision.kind == kind
    assert words in decision.reason


def test_a_topic_the_kiosk_does_not_handle_is_dropped() -> None:
    decision = route(TOPICS.status, {"online": True})
    assert isinstance(decision, Drop) and decision.kind == "unknown_topic"


def test_config_needs_a_version() -> None:
    assert isinstance(route(TOPICS.config, BRANCH_SETTINGS), ApplyConfig)
    no_version = {k: v for k, v in BRANCH_SETTINGS.items() if k != "version"}
    decision = route(TOPICS.config, no_version)
    assert isinstance(decision, Drop) and "version" in decision.reason


def test_acks_carry_a_list_of_ids() -> None:
    assert route(TOPICS.acks, {"event_ids": ["a", "b"]}) == Acknowledge(("a", "b"))
    for bad in ({"event_ids": "a"}, {"event_ids": [1]}, {"ids": ["a"]}, {"event_ids": [""]}):
        decision = route(TOPICS.acks, bad)
        assert isinstance(decision, Drop) and decision.kind == "bad_ack", bad


def test_a_well_formed_recent_command_is_run() -> None:
    decision = route(TOPICS.commands, command())
    assert isinstance(decision, RunCommand)
    assert (decision.action, decision.args, decision.issued_by) == (
        "set_limit", {"limit": 8}, "ops:jkowalski")


def test_a_command_without_args_runs_with_none() -> None:
    decision = route(TOPICS.commands, command(action="pause", args=None))
    assert isinstance(decision, RunCommand) and decision.args == {}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"action": "self_destruct"}, "unknown action"),
        ({"action": 7}, "action"),
        ({"args": [8]}, "args"),
        ({"issued_by": ""}, "issued_by"),
        ({"issued_at": "yesterday"}, "issued_at"),
        ({"issued_at": None}, "issued_at"),
        ({"issued_at": (NOW - timedelta(minutes=5, seconds=1)).isoformat()}, "stale"),
    ],
)
def test_a_bad_or_stale_command_is_refused_and_answered(changes: dict[str, object],
                                                        words: str) -> None:
    decision = route(TOPICS.commands, command(**changes))
    assert isinstance(decision, RefuseCommand)
    assert decision.command_id == "c-1"
    assert words in decision.error


def test_a_command_exactly_five_minutes_old_still_runs() -> None:
    decision = route(TOPICS.commands,
                     command(issued_at=(NOW - timedelta(minutes=5)).isoformat()))
    assert isinstance(decision, RunCommand)


def test_a_command_without_an_id_cannot_be_answered_and_is_dropped() -> None:
    for bad_id in (None, 42, "", "x" * 129):
        decision = route(TOPICS.commands, command(command_id=bad_id))
        assert isinstance(decision, Drop) and decision.kind == "bad_command"


def test_every_contract_action_is_known() -> None:
    assert set(COMMAND_ACTIONS) == {"set_limit", "adjust_count", "pause", "resume",
                                    "free_entry", "emergency", "normal", "admit", "resync"}


# --- the outbox's resend policy -------------------------------------------------------------


class Delivery:
    def __init__(self) -> None:
        self.done = False

    def is_published(self) -> bool:
        return self.done


def test_a_row_paho_still_holds_is_not_sent_again_even_after_a_reconnect() -> None:
    tracker = OutboxTracker(window=10, resend_after_s=30)
    tracker.connected(0.0)
    delivery = Delivery()
    tracker.sent("e1", delivery, 0.0)
    assert not tracker.wants("e1", 1.0)
    tracker.connected(2.0)
    assert not tracker.wants("e1", 2.0)
    delivery.done = True
    assert tracker.wants("e1", 2.0)


def test_a_row_the_broker_took_is_sent_again_after_a_reconnect_or_the_resend_time() -> None:
    tracker = OutboxTracker(window=10, resend_after_s=30)
    tracker.connected(0.0)
    delivery = Delivery()
    delivery.done = True
    tracker.sent("e1", delivery, 0.0)
    assert not tracker.wants("e1", 29.9)
    assert tracker.wants("e1", 30.0)
    tracker.sent("e1", delivery, 30.0)
    tracker.connected(31.0)
    assert tracker.wants("e1", 31.0)
    assert tracker.cursor == 0


def test_an_acknowledged_row_is_forgotten_and_the_window_limits_what_waits() -> None:
    tracker = OutboxTracker(window=2, resend_after_s=30)
    first, second = Delivery(), Delivery()
    tracker.sent("e1", first, 0.0)
    tracker.sent("e2", second, 0.0)
    assert tracker.room(0.0) == 0
    first.done = True
    assert tracker.room(0.0) == 1
    tracker.acknowledged(["e2"])
    assert tracker.room(0.0) == 2
    assert tracker.wants("e2", 0.0)


def test_a_resend_pass_starts_over_from_the_first_row() -> None:
    tracker = OutboxTracker(window=2, resend_after_s=10)
    tracker.connected(0.0)
    tracker.cursor = 57
    assert not tracker.resend_pass_due(9.0)
    assert tracker.resend_pass_due(10.0)
    tracker.restart_pass(10.0)
    assert tracker.cursor == 0


def test_a_row_nobody_heard_is_due_again_soon_with_a_growing_delay() -> None:
    tracker = OutboxTracker(window=10, resend_after_s=30)
    tracker.connected(0.0)
    tracker.restart_pass(0.0)
    delivery = Delivery()
    delivery.done = True
    tracker.sent("e1", delivery, 0.0, mid=7)
    tracker.unheard(7, 0.5)  # PUBACK "no matching subscribers"
    assert not tracker.resend_pass_due(1.4)
    assert not tracker.wants("e1", 1.4)
    assert tracker.resend_pass_due(1.5) and tracker.wants("e1", 1.5)
    tracker.sent("e1", delivery, 1.5, mid=8)
    tracker.unheard(8, 1.6)  # still nobody: twice as long
    assert not tracker.wants("e1", 3.5)
    assert tracker.wants("e1", 3.6)
    tracker.acknowledged(["e0"])  # central is back: the delay starts over
    tracker.sent("e1", delivery, 4.0, mid=9)
    tracker.unheard(9, 4.0)
    assert tracker.wants("e1", 5.0)
    tracker.unheard(12345, 5.0)  # a message id the tracker never saw changes nothing


def test_while_nobody_listens_one_row_at_a_time_goes_out_as_a_probe() -> None:
    tracker = OutboxTracker(window=100, resend_after_s=30)
    tracker.connected(0.0)
    assert tracker.room(0.0) == 100
    delivery = Delivery()
    delivery.done = True
    tracker.sent("e1", delivery, 0.0, mid=1)
    tracker.unheard(1, 0.1)
    assert tracker.room(0.5) == 0  # nobody there: nothing more for now
    assert tracker.room(1.1) == 1  # then a single probe
    probe = Delivery()
    tracker.sent("e2", probe, 1.1, mid=2)
    assert tracker.room(1.2) == 0  # the probe waits for its PUBACK
    probe.done = True
    tracker.unheard(2, 1.2)
    assert tracker.room(3.1) == 0 and tracker.room(3.2) == 1  # twice as long
    tracker.acknowledged(["e1"])  # central stored something: full speed again
    assert tracker.room(3.2) == 100


# --- the throttle ---------------------------------------------------------------------------


def test_changes_are_published_at_most_five_a_second_and_the_last_one_wins() -> None:
    throttle = PublishThrottle(0.2, 60)
    throttle.offer({"count": 1, "at": "t0"})
    assert throttle.take_due(0.0) == {"count": 1, "at": "t0"}
    throttle.offer({"count": 2, "at": "t1"})
    throttle.offer({"count": 3, "at": "t2"})
    assert throttle.take_due(0.1) is None
    assert throttle.seconds_until_due(0.1) == pytest.approx(0.1)
    assert throttle.take_due(0.2) == {"count": 3, "at": "t2"}
    assert throttle.take_due(0.3) is None


def test_an_unchanged_state_is_published_again_every_heartbeat() -> None:
    throttle = PublishThrottle(0.2, 60)
    throttle.offer({"count": 1, "at": "t0"})
    assert throttle.take_due(0.0) is not None
    throttle.offer({"count": 1, "at": "t5"})  # only the time moved: not a change
    assert throttle.take_due(1.0) is None
    assert throttle.take_due(59.9) is None
    assert throttle.take_due(60.0) == {"count": 1, "at": "t5"}


def test_after_a_reconnect_the_state_is_published_at_once() -> None:
    throttle = PublishThrottle(0.2, 60)
    assert throttle.take_due(0.0) is None
    throttle.offer({"count": 1})
    assert throttle.take_due(0.0) is not None
    throttle.force()
    assert throttle.take_due(0.05) == {"count": 1}


# --- the resync schedule --------------------------------------------------------------------


def test_a_resync_is_due_on_first_start_and_once_each_morning() -> None:
    assert resync_due(None, monday(3))
    assert not resync_due("2026-11-23", monday(17))
    assert not resync_due("2026-11-22", monday(4, 59))
    assert resync_due("2026-11-22", monday(5))


def test_a_full_window_wakes_the_next_pass_once_a_quarter_of_it_is_free() -> None:
    tracker = OutboxTracker(window=100, resend_after_s=30)
    deliveries = [Delivery() for _ in range(100)]
    for i, delivery in enumerate(deliveries):
        tracker.sent(f"e{i}", delivery, 0.0)
    assert tracker.room(0.0) == 0
    assert tracker.wake_after() == 25
    for delivery in deliveries[:25]:
        delivery.done = True
    assert tracker.room(0.0) == 25


def test_a_small_window_or_a_lone_probe_wakes_the_next_pass_at_its_first_puback() -> None:
    small = OutboxTracker(window=2, resend_after_s=30)
    small.sent("e1", Delivery(), 0.0)
    small.sent("e2", Delivery(), 0.0)
    assert small.room(0.0) == 0 and small.wake_after() == 1
    probing = OutboxTracker(window=100, resend_after_s=30)
    probing.connected(0.0)
    heard = Delivery()
    heard.done = True
    probing.sent("e1", heard, 0.0, mid=1)
    probing.unheard(1, 0.1)
    probing.sent("e2", Delivery(), 1.1, mid=2)  # the probe, waiting for its PUBACK
    assert probing.room(1.2) == 0 and probing.wake_after() == 1
