"""Central's commands (MQTT contract ``commands`` topic) as staff events for the machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from door_controller import events as ev

OCCUPANCY_ACTIONS = ("set_limit", "adjust_count", "pause", "resume", "free_entry", "emergency",
                     "normal", "admit")


class CommandError(ValueError):
    """A command that cannot become a staff event; the message says what was wrong."""


def staff_event_for_command(action: str, args: Mapping[str, Any], by: str) -> ev.OccupancyEvent:
    """The staff event for one of the contract's occupancy actions (not ``resync``)."""
    if not by:
        raise CommandError("the command has no issued_by; every override names who")
    simple: dict[str, Callable[[str], ev.OccupancyEvent]] = {
        "pause": ev.Pause, "resume": ev.Resume, "free_entry": ev.FreeEntry,
        "emergency": ev.Emergency, "normal": ev.Normal,
    }
    if action in simple:
        return simple[action](by)
    if action == "set_limit":
        return ev.SetLimit(_whole(args, "limit"), by)
    if action == "adjust_count":
        if ("delta" in args) == ("count" in args):
            raise CommandError("adjust_count needs args {\"delta\": n} or {\"count\": n}")
        if "delta" in args:
            return ev.AdjustCount(by, delta=_whole(args, "delta"))
        return ev.AdjustCount(by, count=_whole(args, "count"))
    if action == "admit":
        if "ticket" in args:
            ticket = args["ticket"]
            if not isinstance(ticket, str) or not ticket:
                raise CommandError(f"admit: ticket {ticket!r} is not a ticket such as \"A017\"")
            return ev.AdmitNow(ticket, by)
        if "party_size" in args:
            return ev.AdmitParty(_whole(args, "party_size"), by)
        raise CommandError("admit needs args {\"ticket\": \"A017\"} or {\"party_size\": n}")
    raise CommandError(f"action {action!r} is not an occupancy action "
                       f"({', '.join(OCCUPANCY_ACTIONS)})")


def _whole(args: Mapping[str, Any], key: str) -> int:
    value = args.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CommandError(f"args.{key} = {value!r} is not a whole number")
    return value
