"""Decoding DLE EOT status replies; silence is never 'fine'."""

from __future__ import annotations

import pytest

from kiosk.printing.status import QUERY_PAPER, decode_status, is_status_byte, silent

READY = 0x12


@pytest.mark.parametrize(
    ("printer", "cause", "paper", "state", "words"),
    [
        (READY, READY, READY, "ok", "ready"),
        (READY, READY, READY | 0x0C, "paper_low", "nearly empty"),
        (READY | 0x08, READY | 0x20, READY | 0x60, "paper_out", "empty"),
        (READY | 0x08, READY | 0x20, READY, "paper_out", "empty"),
        (READY | 0x08, READY | 0x04, READY, "error", "cover is open"),
        (READY | 0x08, READY | 0x40, READY, "error", "error"),
        (READY | 0x08, READY, READY, "offline", "offline"),
        (READY | 0x08, READY | 0x04, READY | 0x0C, "error", "cover is open"),
    ],
)
def test_decode(printer: int, cause: int, paper: int, state: str, words: str) -> None:
    status = decode_status(printer, cause, paper)
    assert status.state == state
    assert words in status.detail
    assert status.can_print == (state in ("ok", "paper_low"))


@pytest.mark.parametrize("garbage", [0x00, 0xFF, 0x10, 0x13, 0x92])
def test_bytes_without_the_fixed_bits_are_an_error(garbage: int) -> None:
    assert not is_status_byte(garbage)
    status = decode_status(READY, garbage, READY)
    assert status.state == "error" and f"0x{garbage:02x}" in status.detail


def test_silence_is_offline_and_unknown_not_adequate_paper() -> None:
    status = silent(QUERY_PAPER, 0.5)
    assert status.state == "offline"
    assert not status.can_print
    assert "unknown" in status.detail and "DLE EOT 4" in status.detail
