"""Finding the door board among the USB serial ports."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports


@dataclass(frozen=True)
class UsbMatch:
    """A board by USB VID:PID and, when several may be plugged in, serial number."""

    vid: int
    pid: int
    serial_number: str | None = None

    @classmethod
    def parse(cls, text: str) -> UsbMatch:
        """'2e8a:0005' or '2e8a:0005:E660583883437A2F' (hex VID:PID[:serial])."""
        parts = text.split(":", 2)
        try:
            vid, pid = int(parts[0], 16), int(parts[1], 16)
        except (IndexError, ValueError):
            raise ValueError(
                f"USB match {text!r} is not VID:PID[:SERIAL] in hex, e.g. 2e8a:0005"
            ) from None
        return cls(vid, pid, parts[2] if len(parts) == 3 and parts[2] else None)


def find_port(match: UsbMatch) -> str | None:
    """Device path of the first port that matches, or None."""
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        if port.vid != match.vid or port.pid != match.pid:
            continue
        if match.serial_number is not None and port.serial_number != match.serial_number:
            continue
        return str(port.device)
    return None
