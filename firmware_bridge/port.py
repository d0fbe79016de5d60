"""Opening the door link's serial port the one allowed way."""

from __future__ import annotations

import logging
from typing import Any

import serial

logger = logging.getLogger(__name__)


def open_port(url: str, *, timeout: float) -> Any:
    """Open a device path or pyserial URL with exclusive access.

    On a device path (a real board or a pty) pyserial takes an flock, so a
    second process cannot open the same board. pyserial's loop:// and
    socket:// handlers accept the flag and have nothing to lock; a handler
    that refuses it is opened without it.
    """
    kwargs: dict[str, Any] = {"timeout": timeout, "write_timeout": 1.0, "baudrate": 115200}
    try:
        return serial.serial_for_url(url, exclusive=True, **kwargs)
    except (TypeError, ValueError) as exc:
        logger.info("door link: %s does not take exclusive access (%s); opening shared", url, exc)
        return serial.serial_for_url(url, **kwargs)
