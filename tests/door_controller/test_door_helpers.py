"""Central's commands as staff events, the occupancy and status payloads, and staff texts."""

from __future__ import annotations

import json

import pytest
from occupancy_fixtures import STAFF, T0, open_machine

from door_controller import events as ev
from door_controller.central_events import door_status, occupancy_payload
from door_controller.commands import CommandError, staff_event_for_command
from door_controller.effects import Alarm, AlarmKind, Called, Drift, NotEntered, StaffNotice
from door_controller.messages import staff_text


@pytest.mark.parametrize(("action", "args", "event"), [
    ("set_limit", {"limit": 8}, ev.SetLimit(8, STAFF)),
    ("adjust_count", {"delta": -1}, ev.AdjustCount(STAFF, delta=-1)),
    ("adjust_count", {"count": 4}, ev.AdjustCount(STAFF, count=4)),
    ("pause", {}, ev.Pause(STAFF)),
    ("emergency", {}, ev.Emergency(STAFF)),
    ("admit", {"ticket": "A017"}, ev.AdmitNow("A017", STAFF)),
    ("admit", {"party_size": 2}, ev.AdmitParty(2, STAFF)),
])
def test_commands_become_staff_events(action: str, args: dict, event: ev.OccupancyEvent) -> None:
    assert staff_event_for_command(action, args, STAFF) == event


@pytest.mark.parametrize(("action", "args", "message"), [
    ("set_limit", {"limit": "8"}, "args.limit = '8' is not a whole number"),
    ("adjust_count", {"delta": 1, "count": 2}, "adjust_count needs"),
    ("admit", {}, "admit needs"),
    ("resync", {}, "not an occupancy action"),
])
def test_bad_commands_say_what_was_wrong(action: str, args: dict, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        staff_event_for_command(action, args, STAFF)
    with pytest.raises(CommandError, match="issued_by"):
        staff_event_for_command("pause", {}, "")


def test_the_occupancy_payload_and_the_door_status() -> None:
    machine = open_machine(limit=1)
    machine.handle(ev.PassedIn(), T0)
    machine.handle(ev.CheckedIn("A001", 1), T0)
    assert occupancy_payload(machine, T0) == {
        "count": 1, "limit": 1, "waiting": 1, "state": "full", "at": "2026-11-23T09:00:00+00:00"}
    assert door_status(machine) == "ok"
    machine.handle(ev.CheckedIn("A002", 2), T0)
    assert occupancy_payload(machine, T0)["waiting"] == 3  # people, not tickets
    machine.handle(ev.SensorFault(1), T0)
    assert door_status(machine) == "fault"
    machine.handle(ev.DoorLinkDown("cable"), T0)
    assert door_status(machine) == "down"


def test_staff_texts_are_polish_first_with_diacritics_intact() -> None:
    polish, english = staff_text(StaffNotice("sensor_fault_choose", "beam A"))  # type: ignore[misc]
    assert "Wybierz" in polish and "wolne wejście" in polish and "Choose" in english
    assert json.loads(json.dumps(polish, ensure_ascii=False)) == polish
    assert staff_text(NotEntered("A017", 1, "window_expired")) == (
        "A017: nie wszedł (1 z wezwanych osób).", "A017: did not enter (1 of those called).")
    assert staff_text(Alarm(AlarmKind.TAILGATE, "x")) is not None
    assert staff_text(Drift("d", 1)) == ("Korekta liczby osób: d", "Count corrected: d")
    assert staff_text(Called("A001", 1)) is None
    for code in ("device_rebooted", "door_link_down", "door_link_up", "admit_requeued",
                 "events_lost"):
        assert staff_text(StaffNotice(code, "x")) is not None  # type: ignore[arg-type]
