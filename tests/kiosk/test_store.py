from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.bookings import Booking, booking_to_contract, parse_booking
from kiosk.codes import CROCKFORD_ALPHABET
from kiosk.events import checkin_event
from kiosk.store import SCHEMA_VERSION, CheckinRecord, Store, StoreError

from .conftest import WARSAW, make_booking, monday


def test_a_new_store_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    assert store.schema_version == SCHEMA_VERSION
    tables = set(store.db.table_names())
    assert {
        "bookings",
        "checkins",
        "ticket_counters",
        "outbox",
        "audit",
        "occupancy",
        "print_jobs",
        "commands_seen",
        "kv",
    } <= tables
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    store.set_value("x", {"a": 1})
    store.close()
    again = Store(tmp_path / "k.db")
    assert again.get_value("x") == {"a": 1}
    assert again.schema_version == SCHEMA_VERSION
    again.close()


def test_an_older_database_is_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # schema version 0: an empty file from before the first start
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION
    store.close()


def test_a_database_from_a_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError) as caught:
        Store(path)
    message = str(caught.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert "install the newer software" in message


def test_upsert_follows_versions(store: Store) -> None:
    b1 = make_booking("b-1", "7KQ2M9XD", monday(10), version=3)
    assert store.upsert_bookings([b1], monday(8)).inserted == 1
    older = make_booking("b-1", "7KQ2M9XD", monday(11), version=2)
    same = make_booking("b-1", "7KQ2M9XD", monday(12), version=3)
    result = store.upsert_bookings([older, same], monday(8))
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 2)
    assert store.booking("b-1") == b1
    newer = make_booking("b-1", "7KQ2M9XD", monday(11), version=4, status="cancelled")
    assert store.upsert_bookings([newer], monday(8)).updated == 1
    assert store.booking("b-1") == newer


def test_ticket_numbers_count_per_prefix_per_day(store: Store) -> None:
    day = monday(9).date()
    with store.transaction():
        numbers = [store.take_ticket_number("A", day) for _ in range(3)]
        other = store.take_ticket_number("B", day)
        tomorrow = store.take_ticket_number("A", day + timedelta(days=1))
    assert numbers == [1, 2, 3]
    assert other == 1
    assert tomorrow == 1


def test_ticket_writes_outside_a_transaction_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match=r"inside Store\.transaction"):
        store.take_ticket_number("A", monday(9).date())


def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    event = checkin_event(
        monday(10), booking_id="b-1", ticket="A001", party_size=1, outcome="admitted"
    )
    with pytest.raises(RuntimeError), store.transaction():
        store.take_ticket_number("A", monday(10).date())
        store.enqueue_event(event)
        raise RuntimeError("power cut in the middle")
    assert store.outbox_size() == 0
    with store.transaction():
        assert store.take_ticket_number("A", monday(10).date()) == 1


def test_outbox_keeps_events_until_acknowledged(store: Store) -> None:
    events = [
        checkin_event(
            monday(10), booking_id=f"b-{i}", ticket=f"A00{i}", party_size=1, outcome="admitted"
        )
        for i in range(3)
    ]
    with store.transaction():
        for event in events:
            store.enqueue_event(event)
    pending = store.pending_events()
    assert [p.payload for p in pending] == events
    assert store.acknowledge_events([events[1]["event_id"], "not-a-known-id"]) == 1
    assert [p.event_id for p in store.pending_events()] == [
        events[0]["event_id"],
        events[2]["event_id"],
    ]


codes = st.text(alphabet=CROCKFORD_ALPHABET, min_size=8, max_size=8)
bookings = st.builds(
    lambda i, code, minutes, party, name, status, version, en: parse_booking(
        {
            "booking_id": f"b-{i}",
            "code": code,
            "starts_at": (monday(9) + timedelta(minutes=minutes)).isoformat(),
            "duration_min": 15,
            "service": {
                "id": "s",
                "ticket_prefix": "A",
                "name": {"pl": "Umowy ąęłńóśźż", "en": en},
            },
            "party_size": party,
            "display_name": name,
            "status": status,
            "version": version,
        }
    ),
    st.integers(0, 10_000),
    codes,
    st.integers(-3000, 3000),
    st.integers(1, 10),
    st.one_of(st.none(), st.text(max_size=40)),
    st.sampled_from(["booked", "cancelled"]),
    st.integers(0, 2**40),
    st.text(max_size=30),
)


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(items=st.lists(bookings, max_size=20, unique_by=lambda b: b.booking_id))
def test_whatever_is_imported_can_be_read_back(
    tmp_path_factory: pytest.TempPathFactory, items: list[Booking]
) -> None:
    store = Store(tmp_path_factory.mktemp("s") / "k.db")
    try:
        store.upsert_bookings(items, monday(8))
        for booking in items:
            stored = store.booking(booking.booking_id)
            assert stored == booking
            assert booking_to_contract(stored) == booking_to_contract(booking)
            assert booking in store.bookings_with_code(booking.code)
    finally:
        store.close()


def test_purge_forgets_personal_data_after_the_configured_days(store: Store) -> None:
    yesterday = make_booking("b-old", "AAAA1111", monday(10) - timedelta(days=2))
    today = make_booking("b-new", "BBBB2222", monday(10))
    store.upsert_bookings([yesterday, today], monday(8))
    event = checkin_event(
        monday(10), booking_id="b-old", ticket="A001", party_size=1, outcome="admitted"
    )
    with store.transaction():
        store.insert_checkin(
            CheckinRecord(
                booking_id="b-old",
                ticket="A001",
                service_date=(monday(10) - timedelta(days=2)).date().isoformat(),
                party_size=1,
                outcome="admitted",
                language="pl",
                checked_in_at=monday(10) - timedelta(days=2),
                event_id=event["event_id"],
            )
        )
        store.enqueue_event(event)
    removed = store.purge(monday(12), keep_days=1)
    assert removed["bookings"] == 1
    assert removed["checkins"] == 1
    assert store.booking("b-old") is None
    assert store.checkin_for_booking("b-old") is None
    assert store.booking("b-new") is not None
    # Central has not stored the event yet: it stays, it carries no personal data.
    assert [e.event_id for e in store.pending_events()] == [event["event_id"]]
    rows = store.db.execute("SELECT display_name FROM bookings").fetchall()
    assert rows == [("Anna K.",)]


def test_times_keep_their_offset(store: Store) -> None:
    booking = make_booking("b-1", "7KQ2M9XD", monday(10))
    store.upsert_bookings([booking], monday(8))
    stored = store.booking("b-1")
    assert stored is not None
    assert stored.starts_at == monday(10)
    assert stored.starts_at.utcoffset() == monday(10).astimezone(WARSAW).utcoffset()


def test_the_same_booking_twice_in_one_feed_keeps_the_highest_version(store: Store) -> None:
    v2 = make_booking("b-1", "7KQ2M9XD", monday(11), version=2)
    v1 = make_booking("b-1", "7KQ2M9XD", monday(10), version=1)
    v3 = make_booking("b-1", "7KQ2M9XD", monday(12), version=3)
    result = store.upsert_bookings([v2, v1, v3], monday(8))
    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 1)
    assert store.booking("b-1") == v3
