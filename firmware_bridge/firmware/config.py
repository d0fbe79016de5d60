# Board wiring and timing: the one file to edit when the hardware changes.
# See docs/firmware.md for the wiring these pin numbers refer to.
from .compat import const

PIN_BEAM_A = const(2)  # street-side beam receiver output
PIN_BEAM_B = const(3)  # inside beam receiver output
BEAM_BLOCKED_LEVEL = const(0)  # receivers pull low while the beam is broken
PIN_DOOR = const(4)  # door contact to GND: closed contact reads 0
DOOR_OPEN_LEVEL = const(1)
PIN_LOCK_RELAY = const(15)  # high = relay energised = lock released
PIN_LIGHT_RED = const(16)
PIN_LIGHT_GREEN = const(17)

FW_VERSION = const(0x0100)  # 1.0
DEBOUNCE_MS = const(20)
STATUS_PERIOD_MS = const(1000)
EVENT_RESEND_MS = const(500)
EVENT_RING_SIZE = const(256)
RESEND_BURST = const(32)  # events re-sent per 500 ms round, oldest first
DEFAULT_HEARTBEAT_TIMEOUT_MS = const(3000)
DOOR_HELD_OPEN_MS = const(30000)
BEAM_BLOCKED_FAULT_MS = const(60000)
COMMAND_DEDUP_MS = const(2000)  # longer than a host's 4 sends 200 ms apart
COMMAND_DEDUP_ENTRIES = const(64)  # commands remembered within that time
FLASH_PERIOD_MS = const(250)
