"""The owner of the branch's state: one thread, futures for callers, views for listeners."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.bookings import parse_feed
from kiosk.branch import Branch, BranchView
from kiosk.config import load_config

from .conftest import BRANCH_SETTINGS, booking_json, monday, write_config

WAIT_S = 10


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(monday(10, 20))


def make_branch(tmp_path: Path, clock: Clock, **branch_overrides: object) -> Branch:
    branch_settings = {key: value for key, value in BRANCH_SETTINGS.items() if key != "version"}
    branch_settings.update(branch_overrides)
    config = load_config(write_config(tmp_path, branch=branch_settings))
    return Branch(config, clock=clock)


@pytest.fixture
def branch(tmp_path: Path, clock: Clock) -> Iterator[Branch]:
    b = make_branch(tmp_path, clock, limit=2, walk_ins=True)
    b.start()
    feed = parse_feed({"bookings": [booking_json(f"b-{i}", f"AAAA000{i}", monday(10, 30))
                                    for i in range(5)]})
    b.submit(lambda: b.apply_feed(feed, clock())).result(WAIT_S)
    yield b
    b.stop()


def test_check_ins_answer_through_futures_in_order(branch: Branch) -> None:
    futures = [branch.check_in(f"AAAA000{i}") for i in range(4)]
    results = [f.result(WAIT_S) for f in futures]
    assert [r.ticket for r in results] == ["A001", "A002", "A003", "A004"]
    assert [r.event["outcome"] for r in results] == ["admitted", "admitted", "waiting", "waiting"]
    view = branch.submit(branch.view).result(WAIT_S)
    assert [w.ticket for w in view.waiting] == ["A003", "A004"]
    assert view.state == "full"


def test_listeners_are_told_of_changes(branch: Branch) -> None:
    views: list[BranchView] = []
    seen = threading.Event()

    def listen(view: BranchView) -> None:
        views.append(view)
        if view.waiting:
            seen.set()

    branch.add_listener(listen)
    for i in range(3):
        branch.check_in(f"AAAA000{i}")
    assert seen.wait(WAIT_S)
    assert views[-1].waiting[0].ticket == "A003"
    assert all(v.branch_name == "POK Kraków, ul. Łagiewnicka 60" for v in views)


def test_staff_pause_refuses_then_resume_accepts(branch: Branch) -> None:
    assert branch.staff_action("pause", {}, "s-anna").result(WAIT_S).ok
    refused = branch.check_in("AAAA0000").result(WAIT_S)
    assert refused.event["reason"] == "paused"
    assert branch.staff_action("resume", {}, "s-anna").result(WAIT_S).ok
    assert branch.check_in("AAAA0000").result(WAIT_S).accepted
    audit = branch.submit(lambda: branch.store.audit_log()).result(WAIT_S)
    assert [(a["actor"], a["action"], a["result"]) for a in audit[:2]] == [
        ("s-anna", "resume", "ok"), ("s-anna", "pause", "ok")]
    overrides = branch.submit(lambda: [e.payload for e in branch.store.pending_events()
                                       if e.type == "override"]).result(WAIT_S)
    assert [(o["action"], o["by"], o["from"]) for o in overrides] == [
        ("pause", "s-anna", "kiosk"), ("resume", "s-anna", "kiosk")]


def test_bad_staff_actions_are_refused_with_a_reason(branch: Branch) -> None:
    cases = {
        ("set_limit", ("limit", 0)): "args.limit = 0 must be from 1 to 1000",
        ("adjust_count", ("count", -1)): "args.count = -1 must be from 0 to 10000",
        ("set_limit", ("limit", "8")): "args.limit = '8' is not a whole number",
        ("teleport", None): "unknown action 'teleport'",
    }
    for (action, arg), message in cases.items():
        args = {arg[0]: arg[1]} if arg else {}
        result = branch.staff_action(action, args, "s-anna").result(WAIT_S)
        assert not result.ok
        assert result.error is not None and message in result.error
    assert not branch.staff_action("resume", {}, "s-anna").result(WAIT_S).ok  # not paused


def test_count_and_limit_overrides_admit_the_next_waiting(branch: Branch) -> None:
    for i in range(3):
        branch.check_in(f"AAAA000{i}").result(WAIT_S)
    assert branch.staff_action("set_limit", {"limit": 3}, "s-anna").result(WAIT_S).ok
    view = branch.submit(branch.view).result(WAIT_S)
    assert view.limit == 3 and not view.waiting
    assert view.called == ("A003",)
    admitted = branch.submit(lambda: [e.payload for e in branch.store.pending_events()
                                      if e.type == "admitted"]).result(WAIT_S)
    assert [(a["ticket"], a["party_size"]) for a in admitted] == [("A003", 1)]


def test_walk_in_gets_a_ticket_a_place_and_a_slip(branch: Branch) -> None:
    result = branch.staff_action("walk_in", {"party_size": 1}, "s-anna").result(WAIT_S)
    assert result.ok and result.detail == {"ticket": "W001", "outcome": "admitted"}
    jobs = branch.submit(lambda: branch.store.db.execute(
        "SELECT ticket, reason FROM print_jobs").fetchall()).result(WAIT_S)
    assert jobs == [("W001", "walk_in")]
    events = branch.submit(lambda: [e.payload for e in branch.store.pending_events()
                                    ]).result(WAIT_S)
    checkin = next(e for e in events if e["type"] == "checkin")
    assert checkin["booking_id"] is None and checkin["ticket"] == "W001"


def test_walk_ins_off_means_refused(tmp_path: Path, clock: Clock) -> None:
    b = make_branch(tmp_path, clock, walk_ins=False)
    b.start()
    try:
        result = b.staff_action("walk_in", {"party_size": 1}, "s-anna").result(WAIT_S)
        assert not result.ok and "walk_ins = false" in (result.error or "")
    finally:
        b.stop()


def test_reprint_queues_a_new_job(branch: Branch) -> None:
    branch.check_in("AAAA0000").result(WAIT_S)
    assert branch.staff_action("reprint", {"ticket": "A001"}, "s-anna").result(WAIT_S).ok
    missing = branch.staff_action("reprint", {"ticket": "Z999"}, "s-anna").result(WAIT_S)
    assert not missing.ok and "Z999" in (missing.error or "")
    jobs = branch.submit(lambda: branch.store.db.execute(
        "SELECT ticket, reason FROM print_jobs ORDER BY id").fetchall()).result(WAIT_S)
    assert jobs == [("A001", "checkin"), ("A001", "reprint")]


def test_central_config_replaces_the_files_by_version(branch: Branch, clock: Clock) -> None:
    newer = {**BRANCH_SETTINGS, "version": 5, "limit": 4, "name": "POK Kraków (centrala)"}
    problems = branch.submit(lambda: branch.apply_central_config(newer, clock())).result(WAIT_S)
    assert problems == []
    view = branch.submit(branch.view).result(WAIT_S)
    assert (view.limit, view.branch_name) == (4, "POK Kraków (centrala)")
    older = {**BRANCH_SETTINGS, "version": 4, "limit": 9}
    branch.submit(lambda: branch.apply_central_config(older, clock())).result(WAIT_S)
    assert branch.submit(branch.view).result(WAIT_S).limit == 4
    bad = {**BRANCH_SETTINGS, "version": 6, "limit": "many"}
    problems = branch.submit(lambda: branch.apply_central_config(bad, clock())).result(WAIT_S)
    assert [str(p) for p in problems] == [
        "config.limit = 'many': expected a whole number from 1 to 1000"]
    assert branch.submit(branch.view).result(WAIT_S).limit == 4


def test_state_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    b = make_branch(tmp_path, clock, limit=1)
    b.start()
    feed = parse_feed({"bookings": [booking_json(f"b-{i}", f"AAAA000{i}", monday(10, 30))
                                    for i in range(3)]})
    b.submit(lambda: b.apply_feed(feed, clock())).result(WAIT_S)
    for i in range(3):
        b.check_in(f"AAAA000{i}").result(WAIT_S)
    before = b.submit(b.view).result(WAIT_S)
    b.stop()
    again = make_branch(tmp_path, clock, limit=1)
    again.start()
    try:
        after = again.submit(again.view).result(WAIT_S)
        assert [w.ticket for w in after.waiting] == [w.ticket for w in before.waiting]
        assert [w.ticket for w in after.waiting] == ["A002", "A003"]
        assert after.count == before.count
    finally:
        again.stop()


def test_the_staff_pin_slowdown_survives_a_restart(tmp_path: Path, clock: Clock,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    b = make_branch(tmp_path, clock)
    b.start()
    assert b.submit(b.staff_pin_state).result(WAIT_S) == (0, 0.0)
    b.submit(lambda: b.save_staff_pin_state(7, 64.0)).result(WAIT_S)
    b.stop()
    clock.now += timedelta(seconds=4)  # the plug pulled and put back
    again = make_branch(tmp_path, clock)
    again.start()
    try:
        assert again.submit(again.staff_pin_state).result(WAIT_S) == (7, 60.0)
        clock.now += timedelta(minutes=5)
        assert again.submit(again.staff_pin_state).result(WAIT_S) == (7, 0.0)  # waited out
        again.submit(lambda: again.save_staff_pin_state(0, 0.0)).result(WAIT_S)  # right PIN
        assert again.submit(again.staff_pin_state).result(WAIT_S) == (0, 0.0)
        for bad in ({"failures": "7"}, {"failures": -1, "locked_until": "2026-11-23T10:00:00Z"},
                    {"failures": 3, "locked_until": "soon"}, [7]):
            again.submit(lambda bad=bad: again.store.set_value("staff.pin_gate", bad)
                         ).result(WAIT_S)
            caplog.clear()
            assert again.submit(again.staff_pin_state).result(WAIT_S) == (0, 0.0)
            assert "staff PIN state" in caplog.text and "not readable" in caplog.text
    finally:
        again.stop()


def test_end_of_day_resets_and_the_clock_drives_it(tmp_path: Path, clock: Clock) -> None:
    b = make_branch(tmp_path, clock, limit=5)
    b.start()
    try:
        assert b.staff_action("adjust_count", {"count": 3}, "s-anna").result(WAIT_S).ok
        clock.now = monday(18, 5)  # after closing
        deadline = datetime.now() + timedelta(seconds=WAIT_S)
        view = b.submit(b.view).result(WAIT_S)
        while view.state != "closed" and datetime.now() < deadline:
            threading.Event().wait(0.2)
            view = b.submit(b.view).result(WAIT_S)
        assert view.state == "closed"
        assert view.count == 0
    finally:
        b.stop()


def test_a_failing_task_does_not_stop_the_owner(branch: Branch) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    future = branch.submit(broken)
    with pytest.raises(RuntimeError):
        future.result(WAIT_S)
    assert branch.check_in("AAAA0000").result(WAIT_S).accepted


def test_a_command_runs_once_and_repeats_get_the_first_answer(branch: Branch,
                                                              clock: Clock) -> None:
    def run(command_id: str, action: str, args: dict[str, object],
            refused: str | None = None) -> tuple[bool, str | None, bool]:
        return branch.submit(lambda: branch.run_command(
            command_id, action, args, "ops:jkowalski", clock(), refused=refused)).result(WAIT_S)

    assert run("c-1", "adjust_count", {"delta": 1}) == (True, None, False)
    assert run("c-1", "adjust_count", {"delta": 1}) == (True, None, True)
    assert branch.submit(branch.view).result(WAIT_S).count == 1  # carried out once
    assert run("c-2", "pause", {}, refused="stale") == (False, "stale", False)
    assert run("c-2", "pause", {}) == (False, "stale", True)
    assert branch.submit(branch.view).result(WAIT_S).state != "paused"
    ok, error, repeated = run("c-3", "set_limit", {"limit": 0})
    assert (ok, repeated) == (False, False) and "must be from 1 to 1000" in (error or "")
