"""The door device's events as occupancy events (serial protocol event kinds)."""

from __future__ import annotations

import logging

from door_controller import events as ev
from door_controller.occupancy import SENSOR_FAULT_BITS
from firmware_bridge.messages import EventKind

log = logging.getLogger(__name__)


def occupancy_event_for(kind: EventKind, arg: int) -> ev.OccupancyEvent | None:
    """The occupancy event for a device event, or None when occupancy does not care."""
    if kind is EventKind.PASS_IN:
        return ev.PassedIn()
    if kind is EventKind.PASS_OUT:
        return ev.PassedOut()
    if kind is EventKind.TAILGATE:
        return ev.Tailgate()  # the device sent PASS_IN for the same person just before
    if kind is EventKind.DOOR_FORCED:
        return ev.DoorForced()
    if kind is EventKind.DOOR_HELD_OPEN:
        return ev.DoorHeldOpen()
    if kind is EventKind.ADMIT_EXPIRED:
        return ev.AdmissionExpired(arg) if arg > 0 else None
    if kind in (EventKind.FAULT_SET, EventKind.FAULT_CLEARED):
        # arg is a bit number; bit 3 (host heartbeat lost) is the link's business, not a sensor's
        if not 0 <= arg <= 15 or not (1 << arg) & SENSOR_FAULT_BITS:
            return None
        if kind is EventKind.FAULT_SET:
            return ev.SensorFault(1 << arg)
        return ev.SensorFaultCleared(1 << arg)
    return None  # DOOR_OPENED, DOOR_CLOSED: nothing to count
