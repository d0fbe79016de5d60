"""The events for central (MQTT contract) that occupancy events and their effects produce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from door_controller import events as ev
from door_controller.effects import Alarm, Called, Counted, Effect, SendAdmit
from door_controller.occupancy import OccupancyMachine
from kiosk.events import admitted_event, alarm_event, override_event, passage_event
from kiosk.timeutil import format_rfc3339


def events_for_effects(effects: list[Effect], at: datetime) -> list[dict[str, Any]]:
    """passage, admitted and alarm events, in the order the effects came."""
    payloads: list[dict[str, Any]] = []
    for effect in effects:
        if isinstance(effect, Counted):
            payloads.append(passage_event(at, direction=effect.direction,
                                          count_after=effect.count_after))
        elif _calls_a_waiting_ticket(effect):
            assert isinstance(effect, SendAdmit | Called) and effect.ticket
            payloads.append(admitted_event(at, ticket=effect.ticket,
                                           party_size=effect.party_size))
        elif isinstance(effect, Alarm):
            payloads.append(alarm_event(at, kind=effect.kind.value, detail=effect.detail))
    return payloads


def _calls_a_waiting_ticket(effect: Effect) -> bool:
    if isinstance(effect, SendAdmit):
        return effect.called and effect.ticket is not None
    return isinstance(effect, Called)


def override_action(event: ev.OccupancyEvent) -> tuple[str, dict[str, Any]]:
    """The contract's action name and args for a staff event (command names where they exist)."""
    if isinstance(event, ev.AdjustCount):
        return "adjust_count", ({"delta": event.delta} if event.delta is not None
                                else {"count": event.count})
    if isinstance(event, ev.SetLimit):
        return "set_limit", {"limit": event.limit}
    if isinstance(event, ev.AdmitNow):
        return "admit", {"ticket": event.ticket}
    if isinstance(event, ev.AdmitParty):
        return "admit", {"party_size": event.party_size}
    if isinstance(event, ev.RemoveWaiting):
        return "remove_waiting", {"ticket": event.ticket}
    if isinstance(event, ev.WalkIn):
        return "walk_in", {"ticket": event.ticket, "party_size": event.party_size}
    names = {
        ev.Pause: "pause", ev.Resume: "resume", ev.FreeEntry: "free_entry",
        ev.Emergency: "emergency", ev.Normal: "normal", ev.HoldDoor: "hold_door",
    }
    return names[type(event)], {}


def override_payload(event: ev.OccupancyEvent, by: str, source: str,
                     at: datetime) -> dict[str, Any]:
    action, args = override_action(event)
    return override_event(at, action=action, args=args, by=by, source=source)


def occupancy_payload(machine: OccupancyMachine, at: datetime) -> dict[str, Any]:
    """The retained ``occupancy`` message; ``waiting`` counts people, not tickets."""
    waiting = sum(w.party_size for w in machine.waiting)
    return {"count": machine.count, "limit": machine.limit, "waiting": waiting,
            "state": machine.state.value, "at": format_rfc3339(at)}


def door_status(machine: OccupancyMachine) -> str:
    """The kiosk status message's ``door``: ok, down (no link) or fault (a sensor)."""
    if not machine.link_up:
        return "down"
    return "fault" if machine.sensor_faults else "ok"
