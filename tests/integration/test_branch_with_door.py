"""The whole branch with the door firmware running under micropython on a pty."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from firmware_bridge.simulator import SimulatedBoard, find_micropython
from kiosk.bookings import parse_feed
from kiosk.branch import BranchView
from kiosk.config import load_config
from kiosk.runtime import BranchRuntime
from tests.kiosk.conftest import BRANCH_SETTINGS, booking_json, write_config

pytestmark = [pytest.mark.micropython, pytest.mark.slow,
              pytest.mark.skipif(find_micropython() is None, reason="micropython not installed")]
WAIT_S = 15


def all_day_branch(limit: int) -> dict[str, object]:
    branch = {key: value for key, value in BRANCH_SETTINGS.items() if key != "version"}
    branch.update(limit=limit, closed_dates=[],
                  opening_hours={day: [["00:00", "23:59"]] for day in BRANCH_SETTINGS[
                      "opening_hours"]})  # type: ignore[union-attr]
    return branch


def wait_for_view(runtime: BranchRuntime, condition: Callable[[BranchView], bool],
                  what: str) -> BranchView:
    deadline = time.monotonic() + WAIT_S
    branch = runtime.branch
    view = branch.submit(branch.view).result(WAIT_S)
    while not condition(view):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last view {view}")
        time.sleep(0.05)
        view = branch.submit(branch.view).result(WAIT_S)
    return view


@pytest.fixture
def board(tmp_path: Path) -> Iterator[SimulatedBoard]:
    with SimulatedBoard(tmp_path / "board") as b:
        yield b


def start_runtime(tmp_path: Path, board: SimulatedBoard, limit: int) -> BranchRuntime:
    config = load_config(write_config(
        tmp_path, branch=all_day_branch(limit),
        door={"enabled": True, "port": board.port, "admit_window_ms": 5000}))
    runtime = BranchRuntime(config, with_sync=False)
    runtime.start()
    return runtime


def import_bookings(runtime: BranchRuntime, count: int) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Europe/Warsaw"))
    feed = parse_feed({"bookings": [booking_json(f"b-{i}", f"AAAA000{i}", now)
                                    for i in range(count)]})
    branch = runtime.branch
    branch.submit(lambda: branch.apply_feed(feed, now)).result(WAIT_S)


def test_a_full_branch_admits_the_next_customer_when_one_leaves(tmp_path: Path,
                                                              board: SimulatedBoard) -> None:
    runtime = start_runtime(tmp_path, board, limit=1)
    try:
        wait_for_view(runtime, lambda v: v.door == "ok", "the door link")
        import_bookings(runtime, 2)
        first = runtime.branch.check_in("AAAA0000").result(WAIT_S)
        second = runtime.branch.check_in("AAAA0001").result(WAIT_S)
        assert first.event["outcome"] == "admitted"
        assert second.event["outcome"] == "waiting"
        board.walk_in()
        wait_for_view(runtime, lambda v: v.count == 1, "the first customer counted in")
        board.walk_out()
        view = wait_for_view(runtime, lambda v: "A002" in v.called, "A002 called")
        assert not view.waiting
        board.walk_in()
        view = wait_for_view(runtime, lambda v: v.count == 1 and v.state == "full",
                             "the second customer inside")
        events = runtime.branch.submit(lambda: [
            (e.type, e.payload.get("direction") or e.payload.get("ticket"))
            for e in runtime.branch.store.pending_events(1000)]).result(WAIT_S)
        assert [e for e in events if e[0] in ("passage", "admitted")] == [
            ("passage", "in"), ("passage", "out"), ("admitted", "A002"), ("passage", "in")]
        state = board.state()
        assert state["total_in"] == 2 and state["total_out"] == 1
    finally:
        runtime.stop()


def test_a_restart_in_the_middle_loses_nothing(tmp_path: Path, board: SimulatedBoard) -> None:
    runtime = start_runtime(tmp_path, board, limit=2)
    try:
        wait_for_view(runtime, lambda v: v.door == "ok", "the door link")
        import_bookings(runtime, 3)
        for i in range(3):
            runtime.branch.check_in(f"AAAA000{i}").result(WAIT_S)
        board.walk_in()
        wait_for_view(runtime, lambda v: v.count == 1, "one inside")
        items = runtime.branch.submit(runtime.branch.view).result(WAIT_S).staff_items
        assert all(item.strip() for item in items)
    finally:
        runtime.stop()
    # The kiosk is down; the board goes on counting and keeps its events until acknowledged.
    board.walk_in()
    board.wait_idle()
    board.walk_out()
    board.wait_idle()
    runtime = start_runtime(tmp_path, board, limit=2)
    try:
        view = wait_for_view(runtime, lambda v: v.count == 1 and "A003" in v.called,
                             "the passages made while the kiosk was down")
        assert not view.waiting
        passages = runtime.branch.submit(lambda: [
            e.payload["direction"] for e in runtime.branch.store.pending_events(1000)
            if e.type == "passage"]).result(WAIT_S)
        assert passages == ["in", "in", "out"]
    finally:
        runtime.stop()
