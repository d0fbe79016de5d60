"""Central's commands (MQTT contract ``commands`` topic) as staff events for the machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from door_controller import events as ev

OCCUPANCY_ACTIONS = ("set_limit", "adjust_count", "pause", "resume", "free_entry", "emergency",
                     "normal", "admit", "hold_door", "remove_waiting")
# hold_door and remove_waiting come only from the staff screen; the rest are contract commands.


class CommandError(ValueError):
    """A command that cannot become a staff event; the message says what was wrong."""


def staff_event_for_command(action: str, args: Mapping[str, Any], by: str) -> ev.OccupancyEvent:
    """The staff event for one of the contract's occupancy actions (not ``resync``)."""
    if not by:
        raise CommandError("the command has no issued_by; every override names who")
    simple: dict[str, Callable[[str], ev.OccupancyEvent]] = {
        "pause": ev.Pause, "resume": ev.Resume, "free_entry": ev.FreeEntry,
        "emergency": ev.Emergency, "normal": ev.Normal, "hold_door": ev.HoldDoor,
    }
    if action in simple:
        if args:
            raise CommandError(f"{action} takes no args, got {sorted(args)}")
        return simple[action](by)
    if action == "set_limit":
        return ev.SetLimit(_whole(args, "limit", 1, 1000), by)
    if action == "adjust_count":
        if ("delta" in args) == ("count" in args):
            raise CommandError("adjust_count needs args {\"delta\": n} or {\"count\": n}")
        if "delta" in args:
            return ev.AdjustCount(by, delta=_whole(args, "delta", -1000, 1000))
        return ev.AdjustCount(by, count=_whole(args, "count", 0, 10_000))
    if action in ("admit", "remove_waiting"):
        if "ticket" in args:
            ticket = args["ticket"]
            if not isinstance(ticket, str) or not ticket:
                raise CommandError(f"{action}: ticket {ticket!r} is not a ticket such as \"A017\"")
            return ev.AdmitNow(ticket, by) if action == "admit" else ev.RemoveWaiting(ticket, by)
        if "party_size" in args and action == "admit":
            return ev.AdmitParty(_whole(args, "party_size", 1, 10), by)
        if action == "remove_waiting":
            raise CommandError("remove_waiting needs args {\"ticket\": \"A017\"}")
        raise CommandError("admit needs args {\"ticket\": \"A017\"} or {\"party_size\": n}")
    raise CommandError(f"action {action!r} is not an occupancy action "
                       f"({', '.join(OCCUPANCY_ACTIONS)})")


def _whole(args: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = args.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CommandError(f"args.{key} = {value!r} is not a whole number")
    if not low <= value <= high:
        raise CommandError(f"args.{key} = {value} must be from {low} to {high}")
    return value
