"""Attaching the door board to a running branch.

The door link's reader thread only posts each notice to the owner's thread; the door
controller (run by the owner) applies it, stores it and then acknowledges it to the board.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from door_controller.controller import DoorController
from firmware_bridge.driver import DoorLink
from firmware_bridge.notices import LinkNotice
from firmware_bridge.usb import UsbMatch
from kiosk.branch import Branch
from kiosk.config import KioskConfig

log = logging.getLogger(__name__)
ATTACH_TIMEOUT_S = 10.0


class DoorAttachment:
    def __init__(self, branch: Branch, config: KioskConfig) -> None:
        door = config.door
        usb = (UsbMatch(door.usb_vid, door.usb_pid, door.usb_serial)
               if door.usb_vid is not None and door.usb_pid is not None else None)
        resume = branch.submit(lambda: DoorController.resume_cursor(branch.store)).result(
            ATTACH_TIMEOUT_S)
        self.link = DoorLink(door.port or None, self._notify(branch), resume=resume,
                             heartbeat_timeout_ms=door.heartbeat_timeout_ms, usb_match=usb)
        branch.submit(lambda: branch.door_controller.attach(self.link)).result(ATTACH_TIMEOUT_S)
        self.link.start()
        log.info("door link started on %s", door.port or f"USB {usb}")

    @staticmethod
    def _notify(branch: Branch) -> Callable[[LinkNotice], None]:
        def notify(notice: LinkNotice) -> None:
            branch.post(functools.partial(branch.handle_door_notice, notice))

        return notify

    def stop(self) -> None:
        self.link.stop()


def attach_door(branch: Branch, config: KioskConfig) -> DoorAttachment:
    return DoorAttachment(branch, config)
