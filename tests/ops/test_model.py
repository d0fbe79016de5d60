"""The read model alone: checked contract messages in, state and changes out, time passed in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.messages import Incoming, Rejected, parse_message
from central.ops.config import BranchInfo
from central.ops.model import AlarmNotFound, OpsModel
from central.topics import Topics

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=WARSAW)
TOPICS = Topics()


def message(topic: str, payload: dict | bytes) -> Incoming:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_message(TOPICS.parse(f"checkin/v1/branches/{topic}"), raw)


def model() -> OpsModel:
    return OpsModel({"krk-1": BranchInfo("krk-1", "Kraków", "małopolskie")}, zone=WARSAW,
                    outbox_warn=10, stale_after_s=180)


def occupancy(count: int = 3, state: str = "open", at: datetime = NOW) -> Incoming:
    return message("krk-1/occupancy", {"count": count, "limit": 12, "waiting": 1,
                                       "state": state, "at": at.isoformat()})


def status(**fields: object) -> Incoming:
    return message("krk-1/kiosks/k1/status",
                   {"online": True, "door": "ok", "printer": "ok", "outbox": 0,
                    "at": NOW.isoformat(), **fields})


def event(event_id: str, kind: str = "alarm", **fields: object) -> Incoming:
    body: dict[str, object] = {"event_id": event_id, "type": kind, "at": NOW.isoformat()}
    defaults: dict[str, dict[str, object]] = {
        "alarm": {"kind": "tailgate", "detail": "d"},
        "checkin": {"booking_id": "b", "ticket": "A001", "party_size": 1, "outcome": "admitted"},
    }
    body.update(defaults.get(kind, {}))
    body.update(fields)
    return message("krk-1/kiosks/k1/events", body)


def test_occupancy_updates_the_tile_and_is_a_sample() -> None:
    m = model()
    changes = m.apply(occupancy(7, "full"), NOW)
    assert changes.branches == {"krk-1"} and len(changes.occupancy) == 1
    tile = m.tile("krk-1")
    assert (tile["count"], tile["limit"], tile["waiting"], tile["state"]) == (7, 12, 1, "full")
    assert tile["region"] == "małopolskie"


def test_an_unconfigured_branch_gets_a_tile_without_region() -> None:
    m = model()
    m.apply(message("waw-9/occupancy", {"count": 1, "limit": 5, "waiting": 0, "state": "open",
                                        "at": NOW.isoformat()}), NOW)
    assert m.tile("waw-9")["region"] == "" and m.tile("waw-9")["name"] == "waw-9"


def test_the_will_marks_a_kiosk_offline_and_keeps_its_last_readings() -> None:
    m = model()
    first = m.apply(status(printer="paper_low", outbox=12), NOW)
    assert first.new_kiosks == [("krk-1", "k1")]
    assert m.tile("krk-1")["problems"] == ["k1:printer_paper_low", "k1:outbox"]
    again = m.apply(message("krk-1/kiosks/k1/status", {"online": False}), NOW)
    assert again.branches == {"krk-1"} and not again.new_kiosks
    kiosk = m.tile("krk-1")["kiosks"][0]
    assert kiosk["online"] is False and kiosk["printer"] == "paper_low" and kiosk["outbox"] == 12
    assert "k1:offline" in m.tile("krk-1")["problems"]


def test_events_count_once_and_alarms_are_acknowledged_once() -> None:
    m = model()
    assert len(m.apply(event("e1"), NOW).alarms) == 1
    assert not m.apply(event("e1"), NOW)  # a duplicate changes nothing
    assert m.tile("krk-1")["alarms"] == 1 and "alarms" in m.tile("krk-1")["problems"]
    acked = m.acknowledge("e1", "jkowalski", NOW.isoformat())
    assert acked.alarms[0].acknowledged_by == "jkowalski"
    assert not m.acknowledge("e1", "other", NOW.isoformat())
    assert m.alarms["e1"].acknowledged_by == "jkowalski"
    assert m.tile("krk-1")["alarms"] == 0
    with pytest.raises(AlarmNotFound):
        m.acknowledge("nope", "jkowalski", NOW.isoformat())
    assert m.alarm_counts[("krk-1", "tailgate")] == 1


def test_check_ins_are_counted_for_the_local_day_and_reset_at_midnight() -> None:
    m = model()
    m.apply(event("c1", "checkin"), NOW)
    m.apply(event("c1", "checkin"), NOW)
    m.apply(event("c2", "checkin", at=(NOW - timedelta(days=1)).isoformat()), NOW)
    assert m.tile("krk-1")["checkins"] == 1
    midnight = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 00:00 on the 24th in Warsaw
    assert "krk-1" in m.tick(midnight).branches
    assert m.tile("krk-1")["checkins"] == 0


def test_command_results_match_only_our_commands() -> None:
    m = model()
    command = {"command_id": "c-1", "action": "pause", "args": {}, "issued_by": "ops:j",
               "issued_at": NOW.isoformat()}
    assert m.command_issued(command, "krk-1").commands[0].ok is None
    result = {"command_id": "c-1", "ok": False, "error": "already paused", "at": NOW.isoformat()}
    assert not m.apply(message("krk-1/command-results", {**result, "command_id": "other"}), NOW)
    changed = m.apply(message("krk-1/command-results", result), NOW).commands[0]
    assert (changed.ok, changed.error) == (False, "already paused")


def test_silence_makes_a_branch_stale_and_a_message_freshens_it() -> None:
    m = model()
    m.apply(occupancy(), NOW)
    assert not m.tick(NOW + timedelta(seconds=179))
    assert m.tick(NOW + timedelta(seconds=181)).branches == {"krk-1"}
    assert "stale" in m.tile("krk-1")["problems"]
    m.apply(occupancy(), NOW + timedelta(seconds=200))
    assert not m.tile("krk-1")["stale"]


@pytest.mark.parametrize("payload", [b"", b"not json", b"[]", b'{"count": 1}',
                                     b'{"count": 1, "limit": 2, "waiting": 0, "state": "weird",'
                                     b' "at": "2026-11-23T10:00:00+01:00"}'])
def test_malformed_occupancy_is_rejected_with_a_reason(payload: bytes) -> None:
    with pytest.raises(Rejected) as caught:
        message("krk-1/occupancy", payload)
    assert caught.value.reason and caught.value.detail


def test_a_cleared_retained_status_removes_the_kiosk_and_occupancy_resets() -> None:
    m = model()
    m.apply(status(), NOW)
    m.apply(occupancy(5), NOW)
    assert m.clear_retained("status", "krk-1", "k1").branches == {"krk-1"}
    assert m.tile("krk-1")["kiosks"] == []
    assert not m.clear_retained("status", "krk-1", "k1")
    m.clear_retained("occupancy", "krk-1", None)
    assert (m.tile("krk-1")["state"], m.tile("krk-1")["count"]) == ("unknown", None)
