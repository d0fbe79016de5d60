"""The controller with a real store: door notices and staff actions, stored once, in one go.

These tests hand the controller the door link's own notice objects, as the link's reader would,
with no link attached (commands are exercised against the simulator in test_door_end_to_end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from occupancy_fixtures import STAFF, T0

from door_controller import events as ev
from door_controller.controller import PROGRESS_KEY, DoorController, NoticeInbox
from door_controller.effects import Drift, Effect, StaffNotice
from door_controller.occupancy import BranchState, OccupancyMachine, TransitionRefused
from firmware_bridge.messages import EventKind, Mode
from firmware_bridge.notices import (
    DeviceEvent,
    DeviceInfo,
    DeviceStatus,
    EventCursor,
    EventGap,
    LinkDown,
    LinkUp,
)
from kiosk.store import Store


@dataclass
class Holder:
    machine: OccupancyMachine


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def link_up(boot: int = 3) -> LinkUp:
    return LinkUp(DeviceInfo(b"\x01" * 8, 0x0100, boot, 0))


def door_event(event_id: int, kind: EventKind, arg: int = 0, boot: int = 3) -> DeviceEvent:
    return DeviceEvent(EventCursor(boot, event_id), event_id * 100, kind, arg)


def status(last_event_id: int, total_in: int, total_out: int) -> DeviceStatus:
    return DeviceStatus(1000, Mode.NORMAL, 0, 1, 0, total_in, total_out, 0, 0, last_event_id)


class Kiosk:
    """One process's worth: its store, its machine and its controller."""

    def __init__(self, path: Path, limit: int = 2) -> None:
        self.store = Store(path)
        snapshot = self.store.load_occupancy()
        machine = (OccupancyMachine.from_snapshot(snapshot) if snapshot
                   else OccupancyMachine.new(limit))
        self.holder = Holder(machine)
        self.told: list[Effect] = []
        self.clock = Clock()
        self.controller = DoorController(self.holder, self.store, clock=self.clock,
                                         listener=self.told.extend)

    @property
    def machine(self) -> OccupancyMachine:
        return self.holder.machine

    def outbox(self, event_type: str) -> list[dict]:
        return [e.payload for e in self.store.pending_events(1000) if e.type == event_type]


@pytest.fixture
def kiosk(tmp_path: Path) -> Kiosk:
    k = Kiosk(tmp_path / "kiosk.db")
    k.controller.handle_notice(link_up())
    return k


def test_a_passage_is_counted_stored_and_queued_for_central(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    assert kiosk.machine.count == 1
    [passage] = kiosk.outbox("passage")
    assert passage["direction"] == "in" and passage["count_after"] == 1
    assert kiosk.store.load_occupancy()["count"] == 1
    assert kiosk.store.get_value(PROGRESS_KEY)["cursor"] == [3, 1]


def test_an_event_taken_before_is_ignored(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    kiosk.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    assert kiosk.machine.count == 1
    assert kiosk.controller.counters["duplicate_device_events"] == 1


def test_a_restarted_process_resumes_from_the_stored_cursor_and_snapshot(tmp_path: Path) -> None:
    first = Kiosk(tmp_path / "kiosk.db")
    first.controller.handle_notice(link_up())
    first.controller.apply(ev.CheckedIn("A001", 2))
    first.controller.apply(ev.CheckedIn("A002", 1))
    first.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    first.store.close()

    second = Kiosk(tmp_path / "kiosk.db")
    assert DoorController.resume_cursor(second.store) == EventCursor(3, 1)
    second.controller.handle_notice(link_up())
    second.controller.handle_notice(door_event(1, EventKind.PASS_IN))  # re-sent: ignored
    second.controller.handle_notice(door_event(2, EventKind.PASS_IN))
    assert second.machine.count == 2
    assert [w.ticket for w in second.machine.waiting] == ["A002"]  # 2 inside of 2
    assert second.machine.admissions == ()


def test_a_sensor_fault_is_a_fault_with_an_alarm_and_a_choice_for_staff(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(door_event(1, EventKind.FAULT_SET, arg=1))
    assert kiosk.machine.state is BranchState.FAULT
    [alarm] = kiosk.outbox("alarm")
    assert alarm["kind"] == "sensor_fault" and "beam B" in alarm["detail"]
    assert any(isinstance(e, StaffNotice) and e.code == "sensor_fault_choose"
               for e in kiosk.told)
    kiosk.controller.handle_notice(door_event(2, EventKind.FAULT_CLEARED, arg=1))
    assert kiosk.machine.state is BranchState.OPEN


def test_the_heartbeat_fault_bit_is_not_a_sensor_fault(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(door_event(1, EventKind.FAULT_SET, arg=3))
    assert kiosk.machine.state is BranchState.OPEN
    assert kiosk.store.get_value(PROGRESS_KEY)["cursor"] == [3, 1]


def test_a_tailgate_alarm_goes_to_central_and_the_count_follows_the_sensor(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    kiosk.controller.handle_notice(door_event(2, EventKind.TAILGATE))
    assert kiosk.machine.count == 1
    assert [a["kind"] for a in kiosk.outbox("alarm")] == ["tailgate"]


def test_losing_the_link_is_a_fault_and_an_alarm(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(LinkDown("no frame from the device for 3.0 s"))
    assert kiosk.machine.state is BranchState.FAULT
    [alarm] = kiosk.outbox("alarm")
    assert alarm["kind"] == "door_link_down"
    assert kiosk.store.load_occupancy()["link_up"] is False


def test_the_device_totals_reveal_passages_whose_events_were_lost(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    kiosk.controller.handle_notice(status(last_event_id=3, total_in=3, total_out=0))
    assert kiosk.machine.count == 1, "events 2..3 may still be on their way"
    kiosk.controller.handle_notice(EventGap(3, 2, 3, "the device's event ring overflowed"))
    kiosk.controller.handle_notice(door_event(4, EventKind.PASS_OUT))
    kiosk.controller.handle_notice(status(last_event_id=4, total_in=3, total_out=1))
    assert kiosk.machine.count == 2  # 3 in, 1 out
    drifts = [e for e in kiosk.told if isinstance(e, Drift)]
    assert drifts and drifts[-1].correction == 2
    assert kiosk.controller.counters["reconciliations"] == 1
    kiosk.controller.handle_notice(status(last_event_id=4, total_in=3, total_out=1))
    assert kiosk.machine.count == 2, "reconciled once, not at every status"


def test_a_staff_action_is_audited_and_sent_to_central_as_an_override(kiosk: Kiosk) -> None:
    kiosk.controller.staff_action(ev.AdjustCount(STAFF, delta=+1))
    [override] = kiosk.outbox("override")
    assert override["action"] == "adjust_count" and override["args"] == {"delta": 1}
    assert override["by"] == STAFF and override["from"] == "kiosk"
    [audit] = kiosk.store.audit_log()
    assert audit["actor"] == STAFF and audit["result"] == "ok"


def test_a_refused_staff_action_is_audited_as_refused(kiosk: Kiosk) -> None:
    with pytest.raises(TransitionRefused):
        kiosk.controller.staff_action(ev.Resume(STAFF), source="command")
    [audit] = kiosk.store.audit_log()
    assert audit["result"] == "refused: not allowed in this state"
    assert audit["source"] == "command"
    assert kiosk.outbox("override") == []


def test_a_staff_action_must_name_who(kiosk: Kiosk) -> None:
    with pytest.raises(ValueError, match="naming who"):
        kiosk.controller.staff_action(ev.Pause(""))
    with pytest.raises(ValueError, match="not a staff action"):
        kiosk.controller.staff_action(ev.PassedIn())


def test_the_day_closes_and_opens_with_the_schedule(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    kiosk.controller.tick(is_open=False)
    assert kiosk.machine.state is BranchState.CLOSED and kiosk.machine.count == 0
    kiosk.controller.tick(is_open=False)
    kiosk.clock.now += timedelta(hours=12)
    kiosk.controller.tick(is_open=True)
    assert kiosk.machine.state is BranchState.OPEN


def test_a_quiet_tick_writes_nothing(kiosk: Kiosk) -> None:
    before = kiosk.store.db.execute("SELECT updated_at FROM occupancy").fetchone()
    kiosk.clock.now += timedelta(seconds=5)
    kiosk.controller.tick()
    after = kiosk.store.db.execute("SELECT updated_at FROM occupancy").fetchone()
    assert before == after


def test_lost_events_are_told_to_the_staff(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(EventGap(2, 5, 9, "the device restarted before sending them"))
    [notice] = [e for e in kiosk.told if isinstance(e, StaffNotice)
                and e.code == "events_lost"]
    assert "5 door events of boot 2 lost" in notice.detail


def test_a_failing_listener_does_not_stop_the_controller(kiosk: Kiosk) -> None:
    def broken(effects: list[Effect]) -> None:
        raise RuntimeError("screen gone")

    kiosk.controller.listener = broken
    kiosk.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    assert kiosk.machine.count == 1
    assert kiosk.controller.counters["listener_errors"] == 1


def test_the_inbox_hands_notices_over_in_order() -> None:
    inbox = NoticeInbox()
    for n in range(5):
        inbox.put(door_event(n + 1, EventKind.PASS_IN))
    seen: list = []
    assert inbox.drain(seen.append, max_items=3) == 3
    assert inbox.drain(seen.append) == 2
    assert [n.cursor.event_id for n in seen] == [1, 2, 3, 4, 5]
    assert inbox.drain(seen.append, timeout_s=0.01) == 0


def test_a_fault_the_device_no_longer_reports_is_cleared_from_its_status(kiosk: Kiosk) -> None:
    from firmware_bridge.notices import DeviceRebooted

    kiosk.controller.handle_notice(door_event(1, EventKind.FAULT_SET, arg=0))
    assert kiosk.machine.state is BranchState.FAULT
    kiosk.controller.handle_notice(DeviceRebooted(3, 4))  # the restart cleared the fault
    kiosk.controller.handle_notice(link_up(boot=4))
    kiosk.controller.handle_notice(status(last_event_id=0, total_in=0, total_out=0))
    assert kiosk.machine.state is BranchState.OPEN


def test_a_fault_whose_event_was_lost_is_taken_from_the_status(kiosk: Kiosk) -> None:
    kiosk.controller.handle_notice(door_event(1, EventKind.PASS_IN))
    faulty = DeviceStatus(1000, Mode.HOLD, 0, 1, 0, 1, 0, 0, 0b10, 1)
    kiosk.controller.handle_notice(faulty)
    assert kiosk.machine.state is BranchState.FAULT and kiosk.machine.sensor_faults == 0b10
    ahead = DeviceStatus(1000, Mode.HOLD, 0, 1, 0, 1, 0, 0, 0, 2)  # event 2 on its way
    kiosk.controller.handle_notice(ahead)
    assert kiosk.machine.sensor_faults == 0b10, "the clearing event itself will say so"
