# Main loop on the Raspberry Pi Pico: the door link over the USB serial port.
import select
import sys
import time

import machine
import micropython

from .app import DoorApp
from .board import PicoHardware
from .compat import ticks_ms
from .flash import FlashStore

WATCHDOG_MS = 2000  # a hung loop resets the board; outputs come back locked and red


class UsbSerial:
    def __init__(self):
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer

    def read(self):
        data = bytearray()
        while len(data) < 256 and self._poll.poll(0):
            data.extend(self._in.read(1))
        return bytes(data)

    def write(self, data):
        self._out.write(data)


def run():
    micropython.kbd_intr(-1)  # frames may contain 0x03; Ctrl-C must not stop the loop
    watchdog = machine.WDT(timeout=WATCHDOG_MS)
    app = DoorApp(PicoHardware(), UsbSerial(), FlashStore("/"), machine.unique_id())
    while True:
        app.step(ticks_ms())
        watchdog.feed()
        time.sleep_ms(1)
