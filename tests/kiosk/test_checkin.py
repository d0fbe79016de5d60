"""The check-in rules through the real service, store and occupancy machine."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.admission import MachineAdmission, OccupancyHolder
from kiosk.checkin import CheckinService
from kiosk.guard import CodeGuessGuard
from kiosk.settings import BranchSettings
from kiosk.store import Store

from .conftest import WARSAW, make_booking, make_settings, monday


def service_for(store: Store, settings: BranchSettings, **kwargs: Any) -> CheckinService:
    holder = OccupancyHolder.from_store(store, settings.limit, door_present=False)
    admission = MachineAdmission(
        holder, reload=True, default_limit=settings.limit, door_present=False
    )
    return CheckinService(store, lambda: settings, admission, **kwargs)


@pytest.fixture
def settings() -> BranchSettings:
    return make_settings()


@pytest.fixture
def seeded(store: Store) -> Store:
    store.upsert_bookings(
        [
            make_booking("b-ok", "7KQ2M9XD", monday(10, 30)),
            make_booking("b-cancel", "CCCC0000", monday(10, 30), status="cancelled"),
            make_booking("b-early", "EEEE1111", monday(12)),
            make_booking("b-late", "LATE2222".replace("L", "1"), monday(9, 30)),
            make_booking(
                "b-group",
                "GGGG3333",
                monday(10, 30),
                party_size=2,
                service={
                    "id": "inv",
                    "ticket_prefix": "B",
                    "name": {"pl": "Faktury", "en": "Invoices"},
                },
            ),
            make_booking("b-tomorrow", "TTTT4444", monday(10) + timedelta(days=1)),
        ],
        monday(8),
    )
    return store


# (code typed, when, expected type, reason or outcome, words the Polish text must contain)
CASES = [
    ("7kq2-m9xd", monday(10, 20), "checkin", "admitted", "Proszę wejść"),
    ("7KQ2 M9X", monday(10, 20), "checkin_refused", "invalid_code", "8 liter i cyfr"),
    ("x" * 65, monday(10, 20), "checkin_refused", "invalid_code", "kod rezerwacji"),
    ("ZZZZ9999", monday(10, 20), "checkin_refused", "unknown_code", "Nie znaleźliśmy"),
    ("CCCC-OOOO", monday(10, 20), "checkin_refused", "cancelled", "odwołana"),
    ("EEEE1111", monday(10, 20), "checkin_refused", "too_early", "od 11:30"),
    ("TTTT4444", monday(10, 20), "checkin_refused", "too_early", "24.11.2026 o 09:30"),
    ("1ATE2222", monday(10, 20), "checkin_refused", "too_late", "obsługą"),
    ("7KQ2M9XD", monday(7, 0), "checkin_refused", "closed", "09:00–18:00"),
    ("7KQ2M9XD", monday(18, 0), "checkin_refused", "closed", "Najbliższe otwarcie"),
]


@pytest.mark.parametrize(("code", "when", "event_type", "what", "words"), CASES)
def test_every_outcome(
    seeded: Store,
    settings: BranchSettings,
    code: str,
    when: datetime,
    event_type: str,
    what: str,
    words: str,
) -> None:
    result = service_for(seeded, settings).check_in(code, when)
    assert result.event["type"] == event_type
    key = "outcome" if event_type == "checkin" else "reason"
    assert result.event[key] == what
    assert words in result.text.pl
    assert result.text.en and result.text.en != result.text.pl
    # Every decision is queued for central, in the same transaction.
    assert [e.payload for e in seeded.pending_events()] == [result.event]


def test_refusal_names_the_booking_when_known(seeded: Store, settings: BranchSettings) -> None:
    result = service_for(seeded, settings).check_in("CCCC0000", monday(10, 20))
    assert result.event["booking_id"] == "b-cancel"
    result = service_for(seeded, settings).check_in("ZZZZ9999", monday(10, 20))
    assert "booking_id" not in result.event


def test_same_code_twice_offers_a_reprint(seeded: Store, settings: BranchSettings) -> None:
    service = service_for(seeded, settings)
    first = service.check_in("7KQ2M9XD", monday(10, 20))
    second = service.check_in("7KQ2-M9XD", monday(10, 22))
    assert first.ticket == "A001"
    assert second.event["reason"] == "already_checked_in"
    assert second.refusal is not None and second.refusal.existing_ticket == "A001"
    assert "A001" in second.text.pl and "wydrukować" in second.text.pl


def test_tickets_count_per_prefix_and_survive_restarts(
    tmp_path: Path, settings: BranchSettings
) -> None:
    path = tmp_path / "k.db"
    store = Store(path)
    store.upsert_bookings(
        [make_booking(f"b-{i}", f"AAAA000{i}", monday(10, 30)) for i in range(3)]
        + [
            make_booking(
                "b-g",
                "GGGG3333",
                monday(10, 30),
                service={
                    "id": "inv",
                    "ticket_prefix": "B",
                    "name": {"pl": "Faktury", "en": "Invoices"},
                },
            )
        ],
        monday(8),
    )
    first = service_for(store, settings).check_in("AAAA0000", monday(10, 20))
    other = service_for(store, settings).check_in("GGGG3333", monday(10, 20))
    store.close()
    reopened = Store(path)  # a restart of the process
    second = service_for(reopened, settings).check_in("AAAA0001", monday(10, 21))
    assert (first.ticket, other.ticket, second.ticket) == ("A001", "B001", "A002")
    reopened.close()


def test_a_full_branch_puts_customers_in_line(store: Store) -> None:
    settings = make_settings(limit=2)
    store.upsert_bookings(
        [make_booking(f"b-{i}", f"AAAA000{i}", monday(10, 30)) for i in range(4)], monday(8)
    )
    service = service_for(store, settings)
    results = [service.check_in(f"AAAA000{i}", monday(10, 20)) for i in range(4)]
    assert [r.event["outcome"] for r in results] == ["admitted", "admitted", "waiting", "waiting"]
    assert [r.placement.position for r in results if r.placement] == [None, None, 1, 2]
    assert "2. w kolejce" in results[3].text.pl
    assert "number 2 in line" in results[3].text.en


def test_code_guessing_pauses_code_entry_and_raises_an_alarm(
    seeded: Store, settings: BranchSettings
) -> None:
    guard = CodeGuessGuard(limit=5, window_s=60, pause_s=30)
    service = service_for(seeded, settings, guard=guard)
    start = monday(10, 20)
    reasons = [
        service.check_in(f"ZZZZ000{i}", start + timedelta(seconds=i)).event["reason"]
        for i in range(5)
    ]
    assert reasons == ["unknown_code"] * 5
    alarms = [e.payload for e in seeded.pending_events() if e.type == "alarm"]
    assert [a["kind"] for a in alarms] == ["code_guessing"]
    # Even a good code waits out the pause ...
    paused = service.check_in("7KQ2M9XD", start + timedelta(seconds=20))
    assert paused.event["reason"] == "paused"
    assert "wstrzymane do" in paused.text.pl
    # ... across a restart of the process, too ...
    again = service_for(seeded, settings, guard=CodeGuessGuard(limit=5, window_s=60, pause_s=30))
    assert again.check_in("7KQ2M9XD", start + timedelta(seconds=25)).event["reason"] == "paused"
    # ... and then goes through.
    assert again.check_in("7KQ2M9XD", start + timedelta(seconds=40)).event["type"] == "checkin"


def test_unknown_codes_spread_out_do_not_trip_the_guard(
    seeded: Store, settings: BranchSettings
) -> None:
    service = service_for(seeded, settings, guard=CodeGuessGuard(limit=5, window_s=60))
    for i in range(8):
        result = service.check_in(f"ZZZZ000{i}", monday(10) + timedelta(seconds=20 * i))
        assert result.event["reason"] == "unknown_code"


def test_staff_pause_refuses_check_ins(seeded: Store, settings: BranchSettings) -> None:
    service = service_for(seeded, settings, entry_paused=lambda: True)
    result = service.check_in("7KQ2M9XD", monday(10, 20))
    assert result.event["reason"] == "paused"
    assert "Wejście jest chwilowo wstrzymane" in result.text.pl


# --- the branch's local time -----------------------------------------------------------------


def test_spring_forward_day(store: Store) -> None:
    """29 March 2026: 02:00 becomes 03:00; a Sunday, so use a branch open on Sundays."""
    settings = make_settings(opening_hours={"sun": [["00:00", "23:59"]]})
    starts = datetime(2026, 3, 29, 3, 10, tzinfo=WARSAW)  # 01:10 UTC
    store.upsert_bookings([make_booking("b-dst", "DDDD5555", starts)], starts)
    service = service_for(store, settings)
    # 01:30 local is 00:30 UTC, 40 real minutes before the booking: too early. The window
    # opens 30 real minutes before, at 00:40 UTC, which is 01:40 on the wall (not 02:40).
    early = service.check_in("DDDD5555", datetime(2026, 3, 29, 1, 30, tzinfo=WARSAW))
    assert early.event["reason"] == "too_early"
    assert "od 01:40" in early.text.pl
    # 03:00 local (01:00 UTC) is 10 minutes before: in the window.
    ok = service.check_in("DDDD5555", datetime(2026, 3, 29, 3, 0, tzinfo=WARSAW))
    assert ok.event["type"] == "checkin"
    assert ok.event["at"] == "2026-03-29T03:00:00+02:00"


def test_fall_back_day(store: Store) -> None:
    """25 October 2026: 03:00 becomes 02:00 again; a wall time happens twice."""
    settings = make_settings(opening_hours={"sun": [["00:00", "23:59"]]})
    starts = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=WARSAW)  # the second 02:30, +01:00
    store.upsert_bookings([make_booking("b-fall", "FFFF6666", starts)], starts)
    service = service_for(store, settings)
    first_0230 = datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=WARSAW)  # +02:00, an hour earlier
    too_early = service.check_in("FFFF6666", first_0230)
    assert too_early.event["reason"] == "too_early"
    ok = service.check_in("FFFF6666", datetime(2026, 10, 25, 2, 20, fold=1, tzinfo=WARSAW))
    assert ok.event["type"] == "checkin"
    assert ok.event["at"].endswith("+01:00")


def test_booking_just_before_midnight_counts_on_its_own_day(store: Store) -> None:
    settings = make_settings(
        opening_hours={"mon": [["00:00", "23:59"]], "tue": [["00:00", "23:59"]]}
    )
    starts = datetime(2026, 11, 23, 23, 50, tzinfo=WARSAW)
    store.upsert_bookings(
        [
            make_booking("b-late-night", "NNNN7777", starts),
            make_booking("b-after", "PPPP8888", starts + timedelta(minutes=20)),
        ],
        starts,
    )
    service = service_for(store, settings)
    before = service.check_in("NNNN7777", datetime(2026, 11, 23, 23, 45, tzinfo=WARSAW))
    after = service.check_in("PPPP8888", datetime(2026, 11, 24, 0, 5, tzinfo=WARSAW))
    assert before.ticket == "A001" and after.ticket == "A001"  # a new day, a new series
    days = [r[0] for r in store.db.execute("SELECT service_date FROM checkins ORDER BY id")]
    assert days == ["2026-11-23", "2026-11-24"]


def test_times_are_in_the_branchs_zone_whatever_the_caller_uses(
    seeded: Store, settings: BranchSettings
) -> None:
    from datetime import UTC

    result = service_for(seeded, settings).check_in("7KQ2M9XD", monday(10, 20).astimezone(UTC))
    assert result.event["at"] == "2026-11-23T10:20:00+01:00"
