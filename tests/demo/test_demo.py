"""`kiosk demo --headless`: the whole demo branch (mosquitto, central, the door simulator under
micropython, the preview printer) starts, takes codes, counts a passage, prints a slip, stops."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.codes import normalise_code
from kiosk.demo_data import EARLY_MIN, LATE_MIN, codes_to_try, demo_bookings
from tests.demo.demokit import (
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    Demo,
    assert_nothing_left,
    reap,
    slip_for,
)


def test_demo_bookings_cover_every_answer_of_the_rules() -> None:
    now = datetime(2026, 11, 23, 10, 7, 31, tzinfo=ZoneInfo("Europe/Warsaw"))
    bookings = demo_bookings(now)
    grouped = codes_to_try(bookings)
    assert set(grouped) == {"ready", "too_early", "too_late", "cancelled"}
    assert len(grouped["cancelled"]) == 1 and len(grouped["ready"]) >= 5
    for item in bookings:
        starts = datetime.fromisoformat(item.booking["starts_at"])
        minutes = (starts - now.replace(second=0)).total_seconds() / 60
        if item.kind == "ready":
            assert -LATE_MIN <= minutes <= EARLY_MIN
        elif item.kind == "too_early":
            assert minutes > EARLY_MIN
        elif item.kind == "too_late":
            assert minutes < -LATE_MIN
        assert normalise_code(item.code) == item.code
    assert len({b.code for b in bookings}) == len(bookings)
    assert demo_bookings(now) == bookings  # the same codes all day


@pytest.mark.slow
@pytest.mark.broker
@pytest.mark.micropython
def test_headless_demo_checks_in_prints_a_slip_and_stops(tmp_path: Path) -> None:
    demo = Demo(tmp_path)
    try:
        ready = demo.ready()
        assert ready["central"] is True and ready["bookings"] == "central over MQTT", ready
        assert ready["door"], ready  # the simulator's pseudo-terminal
        codes = ready["codes"]
        assert isinstance(codes, dict)
        answer = demo.check_in(codes["ready"][0])
        assert answer["type"] == "checkin", answer
        ticket = str(answer["ticket"])
        refused = demo.check_in(codes["cancelled"][0])
        assert refused["type"] == "checkin_refused" and refused["reason"] == "cancelled"
        slip_for(Path(str(ready["slips"])), ticket)
        demo.status_until({"door": "ok", "count": 0})
        demo.type("in")  # the admitted customer walks in through the simulated door
        demo.status_until({"count": 1})
        demo.type("out")
        demo.status_until({"count": 0, "outbox": 0})  # and central has it all
        demo.quit()
    finally:
        reap(demo.proc)
    assert "Codes to try now:" in demo.stderr()
    assert_nothing_left(tmp_path)


@pytest.mark.slow
@pytest.mark.broker
@pytest.mark.micropython
def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path: Path) -> None:
    demo = Demo(tmp_path, stderr=subprocess.DEVNULL)
    try:
        assert demo.next_json(START_TIMEOUT_S)["demo"] == "ready"
        demo.proc.terminate()
        assert demo.proc.wait(STOP_TIMEOUT_S) == 0
    finally:
        reap(demo.proc)
    assert_nothing_left(tmp_path)
