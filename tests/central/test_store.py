"""The same store tests run against SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

from central.messages import CommandResultIn, EventIn, OccupancyIn, StatusIn
from central.store import CentralStore, open_store
from kiosk.bookings import parse_booking
from tests.central.central_helpers import BRANCH_CONFIG, booking_json, event_json, monday


def _event(branch: str = "krakow-1", kiosk: str = "k1", **fields: object) -> EventIn:
    data = event_json(**fields)  # type: ignore[arg-type]
    return EventIn(data["event_id"], branch, kiosk, data["type"], monday(10, 31), data)


def test_bookings_upsert_only_by_higher_version(store: CentralStore) -> None:
    first = parse_booking(booking_json("b-1", "7KQ2M9XD", monday(10, 30), version=2))
    assert store.upsert_bookings([("krakow-1", first)]) == 1
    lower = parse_booking(booking_json("b-1", "7KQ2M9XD", monday(11), version=1))
    equal = parse_booking(booking_json("b-1", "7KQ2M9XD", monday(12), version=2))
    assert store.upsert_bookings([("krakow-1", lower), ("krakow-1", equal)]) == 0
    stored = store.get_booking("b-1")
    assert stored is not None and stored.booking == first and stored.branch == "krakow-1"
    higher = parse_booking(booking_json("b-1", "7KQ2M9XD", monday(12), version=3,
                                        status="cancelled", display_name="Łucja Ż."))
    assert store.upsert_bookings([("krakow-1", higher)]) == 1
    stored = store.get_booking("b-1")
    assert stored is not None and stored.booking == higher
    assert stored.booking.display_name == "Łucja Ż."


def test_bookings_of_a_day_and_publication(store: CentralStore) -> None:
    items = [
        ("krakow-1", parse_booking(booking_json(f"b-{i}", f"7KQ2M9X{i}", monday(9 + i))))
        for i in range(5)
    ]
    items.append(("krakow-1", parse_booking(
        booking_json("b-next", "7KQ2M9XA", monday(9) + timedelta(days=1)))))
    items.append(("gdansk-2", parse_booking(booking_json("b-g", "7KQ2M9XB", monday(9)))))
    store.upsert_bookings(items)
    day = store.bookings_between("krakow-1", monday(0), monday(0) + timedelta(days=1))
    assert [b.booking_id for b in day] == [f"b-{i}" for i in range(5)]
    pending = store.unpublished_bookings(limit=100)
    assert len(pending) == 7
    store.mark_bookings_published([(s.booking.booking_id, s.booking.version) for s in pending])
    assert store.unpublished_bookings(limit=100) == []
    newer = parse_booking(booking_json("b-0", "7KQ2M9X0", monday(9), version=2))
    store.upsert_bookings([("krakow-1", newer)])
    # Marking the old version published must not hide the newer one.
    store.mark_bookings_published([("b-0", 1)])
    assert [s.booking.version for s in store.unpublished_bookings(limit=10)] == [2]
    found = store.booking_with_code("7KQ2M9X3")
    assert found is not None and found.booking.booking_id == "b-3"


def test_branch_config_by_version(store: CentralStore) -> None:
    assert store.set_branch_config("krakow-1", {**BRANCH_CONFIG, "version": 2})
    assert not store.set_branch_config("krakow-1", {**BRANCH_CONFIG, "version": 1, "limit": 3})
    config = store.branch_config("krakow-1")
    assert config is not None and config.config["limit"] == 12 and config.published_version == -1
    assert config.config["name"] == "POK Kraków, ul. Łagiewnicka 60"
    store.mark_config_published("krakow-1", 2)
    assert [c.published_version for c in store.branch_configs()] == [2]


def test_events_are_stored_once(store: CentralStore) -> None:
    events = [_event() for _ in range(20)]
    assert store.store_events(events) == 20
    assert store.store_events([*events[5:10], _event(kiosk="k2")]) == 1
    assert store.event_count() == 21
    assert store.event_count(branch="krakow-1") == 21
    assert len(store.events(kiosk="k2")) == 1
    newest = store.events(limit=1)[0]
    assert newest.kiosk == "k2" and newest.payload["ticket"] == "A017"
    twice = _event()
    assert store.store_events([twice, twice, _event()]) == 2  # a repeat within one batch
    assert store.store_events([]) == 0
    assert store.event_count() == 23


def test_quarantine_keeps_the_raw_payload_once(store: CentralStore) -> None:
    raw = json.dumps({"event_id": "e-1", "type": "teleport"}).encode()
    store.quarantine_event("krakow-1", "k1", "e-1", "unknown_type", "type 'teleport'", raw)
    store.quarantine_event("krakow-1", "k1", "e-1", "unknown_type", "type 'teleport'", raw)
    store.quarantine_event("krakow-1", "k1", None, "not_json", "not JSON", b"\xff{")
    rows = store.quarantined_events()
    assert len(rows) == 2
    assert rows[1].payload == raw.decode() and rows[0].event_id is None


def test_latest_occupancy_and_status(store: CentralStore) -> None:
    def occ(count: int, minute: int) -> OccupancyIn:
        return OccupancyIn("krakow-1", count, 12, 0, "open", monday(10, minute), {})

    store.record_occupancy(occ(5, 10))
    store.record_occupancy(occ(3, 5))  # older, arrives late: ignored
    assert [(o.count, o.state) for o in store.occupancy()] == [(5, "open")]

    online = StatusIn("krakow-1", "k1", True, monday(10, 20), {"online": True, "outbox": 4})
    will = StatusIn("krakow-1", "k1", False, monday(9), {"online": False})
    store.record_kiosk_status(online)
    store.record_kiosk_status(will)
    [status] = store.kiosk_statuses()
    assert status.online is False and status.payload == {"online": False}
    store.record_kiosk_status(online)
    assert store.kiosk_statuses()[0].payload["outbox"] == 4
    store.forget_kiosk_status("krakow-1", "k1")
    store.forget_occupancy("krakow-1")
    assert store.kiosk_statuses() == [] and store.occupancy() == []


def test_commands_and_results(store: CentralStore) -> None:
    command = {"command_id": "c-1", "action": "set_limit", "args": {"limit": 8},
               "issued_by": "ops:jkowalski", "issued_at": monday(10).isoformat()}
    store.record_command(command, "krakow-1")
    store.record_command_result(CommandResultIn("krakow-1", "c-1", True, None, monday(10, 1), {}))
    store.record_command_result(CommandResultIn("krakow-1", "c-1", False, "late", None, {}))
    record = store.command("c-1")
    assert record is not None and record.ok is True and record.args == {"limit": 8}
    store.record_command_result(CommandResultIn("krakow-1", "c-x", False, "unknown", None, {}))
    assert [c.command_id for c in store.commands(branch="krakow-1")] == ["c-x", "c-1"]


def test_reopening_keeps_everything(store_target: str) -> None:
    first = open_store(store_target)
    first.store_events([_event()])
    first.close()
    second = open_store(store_target)
    try:
        assert second.event_count() == 1
        assert second.claim_publisher()
    finally:
        second.close()

