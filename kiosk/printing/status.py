"""Printer status from ESC/POS real-time status bytes (DLE EOT n), without any I/O.

python-escpos's `paper_status()` answers "paper adequate" when the printer says nothing
at all; here silence is never taken for fine: a status that was not read is 'offline'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StatusState = Literal["ok", "paper_low", "paper_out", "offline", "error"]

DLE_EOT = b"\x10\x04"
QUERY_PRINTER = DLE_EOT + b"\x01"
QUERY_OFFLINE_CAUSE = DLE_EOT + b"\x02"
QUERY_PAPER = DLE_EOT + b"\x04"
STATUS_QUERIES = (QUERY_PRINTER, QUERY_OFFLINE_CAUSE, QUERY_PAPER)

# Every DLE EOT reply has bit 1 and bit 4 set and bits 0 and 7 clear.
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_PRINTER_OFFLINE = 0x08
_CAUSE_COVER_OPEN = 0x04
_CAUSE_PAPER_END = 0x20
_CAUSE_ERROR = 0x40
_PAPER_NEAR_END = 0x0C
_PAPER_END = 0x60


@dataclass(frozen=True)
class PrinterStatus:
    """What the kiosk knows of its printer; `detail` is for staff and logs."""

    state: StatusState
    detail: str

    @property
    def can_print(self) -> bool:
        return self.state in ("ok", "paper_low")


def is_status_byte(value: int) -> bool:
    """True if `value` has the fixed bits every DLE EOT reply carries."""
    return value & _FIXED_MASK == _FIXED_BITS


def silent(query: bytes, timeout_s: float) -> PrinterStatus:
    """The status to report when the printer did not answer `query`."""
    return PrinterStatus(
        "offline",
        f"printer did not answer status query DLE EOT {query[-1]} within {timeout_s:g} s "
        "(switched off, cable out, or busy); status unknown",
    )


def decode_status(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    """Combine the replies to DLE EOT 1, 2 and 4, the gravest condition first."""
    for name, value in (("1", printer), ("2", offline_cause), ("4", paper)):
        if not is_status_byte(value):
            return PrinterStatus(
                "error", f"unexpected reply 0x{value:02x} to DLE EOT {name}; is this ESC/POS?"
            )
    if paper & _PAPER_END or offline_cause & _CAUSE_PAPER_END:
        return PrinterStatus("paper_out", "paper roll is empty; load a new roll")
    if offline_cause & _CAUSE_COVER_OPEN:
        return PrinterStatus("error", "printer cover is open; close it")
    if offline_cause & _CAUSE_ERROR:
        return PrinterStatus("error", "printer reports an error (cutter jam or overheating?)")
    if printer & _PRINTER_OFFLINE:
        return PrinterStatus("offline", "printer reports it is offline")
    if paper & _PAPER_NEAR_END:
        return PrinterStatus("paper_low", "paper roll is nearly empty; have a new roll ready")
    return PrinterStatus("ok", "printer ready")
