"""Both sides as real processes on a real broker: ``central serve`` and ``kiosk run --headless``.

After each fault (the broker killed, the network cut, the kiosk killed) central's stored
check-in events and the kiosk's check-ins match one to one: nothing lost, nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.brokerkit import MosquittoBroker, TcpRelay, wait_until
from tests.sync.crossside import (
    OPEN_BRANCH,
    CentralProcess,
    KioskProcess,
    assert_one_to_one,
    bookings_for_now,
    wait_central_has,
)

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture
def central(mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[CentralProcess]:
    process = CentralProcess(tmp_path / "central", mosquitto.port)
    yield process
    process.stop()


def start_kiosk(tmp_path: Path, port: int, bookings: int) -> KioskProcess:
    kiosk = KioskProcess(tmp_path / "kiosk", port)
    kiosk.start()
    wait_until(lambda: kiosk.database.exists() and kiosk.booking_count() >= bookings, 20,
               f"{bookings} bookings at the kiosk")
    return kiosk


def test_a_day_at_a_branch(central: CentralProcess, mosquitto: MosquittoBroker,
                           tmp_path: Path) -> None:
    bookings = bookings_for_now(20)
    central.import_bookings(bookings)
    central.set_config({**OPEN_BRANCH, "limit": 40, "version": 3})
    central.start()
    kiosk = start_kiosk(tmp_path, mosquitto.port, 20)
    try:
        answers = [kiosk.check_in(b["code"]) for b in bookings]
        assert [a["type"] for a in answers] == ["checkin"] * 20, answers
        refused = kiosk.check_in("ZZZZZZZZ")
        assert refused["reason"] == "unknown_code"
        wait_central_has(central, 20)
        wait_until(lambda: kiosk.outbox_size() == 0, 15, "acknowledgements to empty the outbox")
        with central.store() as store:
            statuses = store.kiosk_statuses()
            assert statuses and statuses[0].online
            # Central's config reached the kiosk, and the kiosk's occupancy came back.
            wait_until(lambda: [o.limit for o in store.occupancy()] == [40], 10,
                       "the occupancy with central's limit")
        assert len(central.events("checkin_refused")) == 1
    finally:
        kiosk.stop()
    assert_one_to_one(central, kiosk, 20)
    with central.store() as store:
        wait_until(lambda: not store.kiosk_statuses()[0].online, 10, "the offline status")


def check_in_through_a_fault(central: CentralProcess, port: int, tmp_path: Path,
                             fault: Callable[[], None],
                             mend: Callable[[KioskProcess], None]) -> None:
    """30 check-ins on a kiosk reaching the broker on ``port``: the fault strikes before the
    11th and is mended before the 21st; then every event reaches central, once."""
    bookings = bookings_for_now(30)
    central.import_bookings(bookings)
    central.start()
    kiosk = start_kiosk(tmp_path, port, 30)
    try:
        for i, booking in enumerate(bookings):
            if i == 10:
                fault()
            if i == 20:
                mend(kiosk)
            assert kiosk.check_in(booking["code"])["type"] == "checkin"
        wait_central_has(central, 30, timeout=45)
        wait_until(lambda: kiosk.outbox_size() == 0, 30, "the outbox to empty")
    finally:
        kiosk.stop()
    assert_one_to_one(central, kiosk, 30)


def test_the_broker_killed_and_restarted_mid_stream(central: CentralProcess,
                                                    mosquitto: MosquittoBroker,
                                                    tmp_path: Path) -> None:
    check_in_through_a_fault(central, mosquitto.port, tmp_path, mosquitto.kill,
                             lambda _kiosk: mosquitto.start())


def test_the_network_cut_and_restored_mid_stream(central: CentralProcess,
                                                 mosquitto: MosquittoBroker,
                                                 tcp_relay: TcpRelay, tmp_path: Path) -> None:
    def restore(kiosk: KioskProcess) -> None:
        assert kiosk.outbox_size() >= 10  # the cut really held events back
        tcp_relay.restore()

    check_in_through_a_fault(central, tcp_relay.port, tmp_path, tcp_relay.cut, restore)


def test_the_kiosk_killed_with_events_in_its_outbox(central: CentralProcess,
                                                    mosquitto: MosquittoBroker,
                                                    tcp_relay: TcpRelay,
                                                    tmp_path: Path) -> None:
    bookings = bookings_for_now(15)
    central.import_bookings(bookings)
    central.start()
    kiosk = start_kiosk(tmp_path, tcp_relay.port, 15)
    for booking in bookings[:5]:
        assert kiosk.check_in(booking["code"])["type"] == "checkin"
    wait_central_has(central, 5)
    tcp_relay.cut()
    for booking in bookings[5:]:
        assert kiosk.check_in(booking["code"])["type"] == "checkin"
    waiting = kiosk.outbox_size()
    assert waiting >= 10
    kiosk.kill()
    tcp_relay.restore()
    kiosk.start()
    try:
        wait_central_has(central, 15, timeout=45)
        wait_until(lambda: kiosk.outbox_size() == 0, 30, "the outbox to empty")
    finally:
        kiosk.stop()
    assert_one_to_one(central, kiosk, 15)
