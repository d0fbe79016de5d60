# COBS framing, CRC-16/CCITT-FALSE and the frame splitter, shared by the
# firmware and the firmware tests (the host has its own typed copy in
# firmware_bridge.framing; both are checked against vectors/frames.jsonl).
from .compat import const

MIN_PACKET = const(4)
MAX_PACKET = const(64)
MAX_ENCODED = const(66)  # 64 bytes need at most one COBS overhead byte


def _make_table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _make_table()


def crc16(data):
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ byte) & 0xFF]
    return crc


def cobs_encode(data):
    out = bytearray([0])
    code_at = 0
    code = 1
    n = len(data)
    for i in range(n):
        byte = data[i]
        if byte == 0:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
            continue
        out.append(byte)
        code += 1
        if code == 0xFF and i + 1 < n:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
    out[code_at] = code
    return bytes(out)


def cobs_decode(data):
    """Return the decoded bytes, or None if `data` is not valid COBS."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0 or i + code > n:
            return None
        out.extend(data[i + 1 : i + code])
        i += code
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


def build_packet(ptype, seq, payload=b""):
    body = bytes([ptype, seq & 0xFF]) + payload
    crc = crc16(body)
    return cobs_encode(body + bytes([crc & 0xFF, crc >> 8])) + b"\x00"


# Reasons a frame is dropped; also the counter names.
BAD_COBS = "dropped_bad_cobs"
BAD_SIZE = "dropped_size"
BAD_CRC = "dropped_bad_crc"


def check_frame(frame):
    """Decode one frame (without its 0x00). Return (packet, None) or (None, reason)."""
    if len(frame) > MAX_ENCODED:
        return None, BAD_SIZE
    raw = cobs_decode(frame)
    if raw is None:
        return None, BAD_COBS
    if len(raw) < MIN_PACKET or len(raw) > MAX_PACKET:
        return None, BAD_SIZE
    crc = raw[-2] | (raw[-1] << 8)
    if crc16(raw[:-2]) != crc:
        return None, BAD_CRC
    return raw[:-2], None


class FrameSplitter:
    """Cuts a byte stream at 0x00 into checked packets; never raises on input.

    Bytes before the first 0x00 are discarded (the line may have been opened
    mid-frame). Empty frames (0x00 0x00) are skipped without counting: senders
    use a lone 0x00 to resynchronise the other side.
    """

    def __init__(self, synced=False):
        self._buf = bytearray()
        self._synced = synced
        self._overflow = False
        self.counters = {
            "frames_ok": 0,
            BAD_COBS: 0,
            BAD_SIZE: 0,
            BAD_CRC: 0,
            "skipped_unsynced_bytes": 0,
        }

    def feed(self, data):
        """Return a list of (packet or None, reason or None) for each complete frame."""
        results = []
        for byte in data:
            if byte != 0:
                if not self._synced:
                    self.counters["skipped_unsynced_bytes"] += 1
                elif len(self._buf) < MAX_ENCODED + 1:
                    self._buf.append(byte)
                else:
                    self._overflow = True
                continue
            if not self._synced:
                self._synced = True
                continue
            frame = bytes(self._buf)
            overflow = self._overflow
            self._buf = bytearray()
            self._overflow = False
            if not frame and not overflow:
                continue
            if overflow:
                packet, reason = None, BAD_SIZE
            else:
                packet, reason = check_frame(frame)
            if reason is None:
                self.counters["frames_ok"] += 1
            else:
                self.counters[reason] += 1
            results.append((packet, reason))
        return results
