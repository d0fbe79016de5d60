# Numbers of the wire contract (protocol v1), shared by firmware and host tests.
from .compat import const

PROTO_VERSION = const(1)

# host -> device
HELLO = const(0x01)
HEARTBEAT = const(0x02)
ADMIT = const(0x03)
SET_MODE = const(0x04)
EVENT_ACK = const(0x05)
# device -> host
ACK = const(0x41)
DEVICE_HELLO = const(0x42)
STATUS = const(0x43)
EVENT = const(0x44)

ACK_OK = const(0)
ACK_BAD_REQUEST = const(1)
ACK_REFUSED = const(2)
ACK_BUSY = const(3)

MODE_NORMAL = const(0)
MODE_FREE = const(1)
MODE_HOLD = const(2)
MODE_EMERGENCY = const(3)

LOCKED = const(0)
UNLOCKED = const(1)

LIGHT_OFF = const(0)
LIGHT_RED = const(1)
LIGHT_GREEN = const(2)
LIGHT_AMBER = const(3)
LIGHT_FLASHING = const(4)

DOOR_CLOSED = const(0)
DOOR_OPEN = const(1)
DOOR_HELD = const(2)
DOOR_FORCED_STATE = const(3)

EV_PASS_IN = const(1)
EV_PASS_OUT = const(2)
EV_DOOR_OPENED = const(3)
EV_DOOR_CLOSED = const(4)
EV_DOOR_FORCED = const(5)
EV_DOOR_HELD_OPEN = const(6)
EV_TAILGATE = const(7)
EV_FAULT_SET = const(8)
EV_FAULT_CLEARED = const(9)
EV_ADMIT_EXPIRED = const(10)

EVENT_NAMES = {
    1: "PASS_IN",
    2: "PASS_OUT",
    3: "DOOR_OPENED",
    4: "DOOR_CLOSED",
    5: "DOOR_FORCED",
    6: "DOOR_HELD_OPEN",
    7: "TAILGATE",
    8: "FAULT_SET",
    9: "FAULT_CLEARED",
    10: "ADMIT_EXPIRED",
}

FAULT_BEAM_A = const(0)
FAULT_BEAM_B = const(1)
FAULT_DOOR = const(2)
FAULT_HEARTBEAT = const(3)
