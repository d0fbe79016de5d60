"""Packet types, enums and payload layouts of door link protocol v1 (host side)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

PROTO_VERSION = 1


class PacketType(IntEnum):
    HELLO = 0x01
    HEARTBEAT = 0x02
    ADMIT = 0x03
    SET_MODE = 0x04
    EVENT_ACK = 0x05
    ACK = 0x41
    DEVICE_HELLO = 0x42
    STATUS = 0x43
    EVENT = 0x44


class Mode(IntEnum):
    NORMAL = 0
    FREE = 1
    HOLD = 2
    EMERGENCY = 3


class AckResult(IntEnum):
    OK = 0
    BAD_REQUEST = 1
    REFUSED = 2
    BUSY = 3


class EventKind(IntEnum):
    PASS_IN = 1
    PASS_OUT = 2
    DOOR_OPENED = 3
    DOOR_CLOSED = 4
    DOOR_FORCED = 5
    DOOR_HELD_OPEN = 6
    TAILGATE = 7
    FAULT_SET = 8
    FAULT_CLEARED = 9
    ADMIT_EXPIRED = 10


class Lock(IntEnum):
    LOCKED = 0
    UNLOCKED = 1


class Light(IntEnum):
    OFF = 0
    RED = 1
    GREEN = 2
    AMBER = 3
    FLASHING = 4


class Door(IntEnum):
    CLOSED = 0
    OPEN = 1
    HELD_OPEN = 2
    FORCED = 3


class Fault(IntEnum):
    """Bit numbers in STATUS.faults and the arg of FAULT_SET / FAULT_CLEARED."""

    BEAM_A_BLOCKED = 0
    BEAM_B_BLOCKED = 1
    DOOR_CONTACT = 2
    HEARTBEAT_LOST = 3


class PayloadError(ValueError):
    """A packet whose payload does not fit its type."""


HELLO_REPLY = struct.Struct("<BH8sII")
STATUS_LAYOUT = struct.Struct("<IBBBBIIBBI")
EVENT_LAYOUT = struct.Struct("<IIBH")
ACK_LAYOUT = struct.Struct("<BB")


@dataclass(frozen=True)
class DeviceHello:
    proto: int
    fw_version: int
    uid: bytes
    boot_count: int
    oldest_unacked_event_id: int


@dataclass(frozen=True)
class StatusReport:
    uptime_ms: int
    mode: int
    lock: int
    light: int
    door: int
    total_in: int
    total_out: int
    admits_pending: int
    faults: int
    last_event_id: int


@dataclass(frozen=True)
class EventReport:
    event_id: int
    uptime_ms: int
    kind: int
    arg: int


@dataclass(frozen=True)
class AckReport:
    acked_seq: int
    result: int


DeviceMessage = DeviceHello | StatusReport | EventReport | AckReport


def parse_device_payload(ptype: int, payload: bytes) -> DeviceMessage | None:
    """Payload of a device packet as a message; None for an unknown type.

    Raises PayloadError when the length does not match the type.
    """
    layouts: dict[int, tuple[struct.Struct, type]] = {
        PacketType.DEVICE_HELLO: (HELLO_REPLY, DeviceHello),
        PacketType.STATUS: (STATUS_LAYOUT, StatusReport),
        PacketType.EVENT: (EVENT_LAYOUT, EventReport),
        PacketType.ACK: (ACK_LAYOUT, AckReport),
    }
    if ptype not in layouts:
        return None
    layout, cls = layouts[ptype]
    if len(payload) != layout.size:
        raise PayloadError(
            f"{PacketType(ptype).name} payload is {len(payload)} bytes, expected {layout.size}"
        )
    message: DeviceMessage = cls(*layout.unpack(payload))
    return message


def hello_payload(heartbeat_timeout_ms: int) -> bytes:
    return struct.pack("<BH", PROTO_VERSION, heartbeat_timeout_ms)


def admit_payload(count: int, window_ms: int) -> bytes:
    if not 1 <= count <= 10:
        raise ValueError(f"ADMIT count must be 1..10, got {count}")
    if not 1 <= window_ms <= 0xFFFF:
        raise ValueError(f"ADMIT window_ms must be 1..65535, got {window_ms}")
    return struct.pack("<BH", count, window_ms)


def set_mode_payload(mode: Mode) -> bytes:
    return bytes((Mode(mode),))


def event_ack_payload(last_event_id: int) -> bytes:
    return struct.pack("<I", last_event_id)
