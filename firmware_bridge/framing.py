"""COBS framing and CRC-16/CCITT-FALSE for the host side of the door link.

A typed twin of ``firmware_bridge.firmware.wire``: both are checked against
``vectors/frames.jsonl`` so that either side catches a mistake in the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

logger = logging.getLogger(__name__)

MIN_PACKET = 4
MAX_PACKET = 64
MAX_ENCODED = 66  # 64 decoded bytes need at most one COBS overhead byte
CRC_INIT = 0xFFFF


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16_ccitt_false(data: bytes) -> int:
    crc = CRC_INIT
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode `data` (no 0x00 in the result; the delimiter is not added)."""
    out = bytearray()
    start = 0
    while True:
        end = start
        while end < len(data) and data[end] != 0 and end - start < 254:
            end += 1
        out.append(end - start + 1)
        out += data[start:end]
        if end == len(data):
            return bytes(out)
        # a full group of 254 carries no implied zero; any other group ends at one
        start = end if end - start == 254 else end + 1


def cobs_decode(data: bytes) -> bytes | None:
    """Decode one COBS frame (without its 0x00); None if it is not valid COBS."""
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            return None
        out += data[i + 1 : i + code]
        i += code
        if code < 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def encode_packet(ptype: int, seq: int, payload: bytes = b"") -> bytes:
    """The bytes on the wire for one packet, 0x00 delimiter included."""
    body = bytes((ptype, seq & 0xFF)) + payload
    if len(body) + 2 > MAX_PACKET:
        raise ValueError(f"packet of {len(body) + 2} bytes exceeds {MAX_PACKET}")
    return cobs_encode(body + crc16_ccitt_false(body).to_bytes(2, "little")) + b"\x00"


class DropReason(Enum):
    BAD_COBS = "dropped_bad_cobs"
    BAD_SIZE = "dropped_size"
    BAD_CRC = "dropped_bad_crc"


@dataclass(frozen=True)
class Packet:
    ptype: int
    seq: int
    payload: bytes


def check_frame(frame: bytes) -> Packet | DropReason:
    """Check one frame (bytes between delimiters) and return its packet or why it is bad."""
    if len(frame) > MAX_ENCODED:
        return DropReason.BAD_SIZE
    raw = cobs_decode(frame)
    if raw is None:
        return DropReason.BAD_COBS
    if not MIN_PACKET <= len(raw) <= MAX_PACKET:
        return DropReason.BAD_SIZE
    if crc16_ccitt_false(raw[:-2]) != int.from_bytes(raw[-2:], "little"):
        return DropReason.BAD_CRC
    return Packet(raw[0], raw[1], bytes(raw[2:-2]))


class FrameDecoder:
    """Bytes in, packets out. Never raises on input; bad frames are counted and logged.

    Bytes before the first 0x00 are skipped (the line may have been opened in
    the middle of a frame); empty frames are a resync marker and are ignored.
    """

    def __init__(self, *, synced: bool = False) -> None:
        self._buf = bytearray()
        self._synced = synced
        self._overflow = False
        self.counters: dict[str, int] = {"frames_ok": 0, "skipped_unsynced_bytes": 0}
        for reason in DropReason:
            self.counters[reason.value] = 0

    def reset(self) -> None:
        """Forget a partial frame, as after reopening the line."""
        self._buf.clear()
        self._synced = False
        self._overflow = False

    def feed(self, data: bytes) -> list[Packet]:
        packets: list[Packet] = []
        start = 0
        while start < len(data):
            end = data.find(0, start)
            if end < 0:
                self._collect(data[start:])
                break
            self._collect(data[start:end])
            start = end + 1
            if not self._synced:
                self._synced = True
                continue
            self._finish_frame(packets)
        return packets

    def _collect(self, chunk: bytes) -> None:
        if not self._synced:
            self.counters["skipped_unsynced_bytes"] += len(chunk)
        elif len(self._buf) + len(chunk) > MAX_ENCODED:
            self._overflow = True
            self._buf.clear()
        elif not self._overflow:
            self._buf += chunk

    def _finish_frame(self, packets: list[Packet]) -> None:
        frame = bytes(self._buf)
        overflow = self._overflow
        self._buf.clear()
        self._overflow = False
        if not frame and not overflow:
            return
        result = DropReason.BAD_SIZE if overflow else check_frame(frame)
        if isinstance(result, DropReason):
            self.counters[result.value] += 1
            logger.warning("door link: dropped a frame (%s): %s", result.value, frame[:16].hex())
            return
        self.counters["frames_ok"] += 1
        packets.append(result)
