# The hardware layer of the real board (Raspberry Pi Pico): pins from config.py.
from machine import Pin

from . import config
from . import protocol as p

FLASH_HALF_PERIOD_MS = 250


class PicoHardware:
    def __init__(self):
        self._beams = [Pin(config.PIN_BEAM_A, Pin.IN, Pin.PULL_UP),
                       Pin(config.PIN_BEAM_B, Pin.IN, Pin.PULL_UP)]
        self._door = Pin(config.PIN_DOOR, Pin.IN, Pin.PULL_UP)
        # outputs start in the safe state: relay off (locked), red on
        self._lock = Pin(config.PIN_LOCK_RELAY, Pin.OUT, value=0)
        self._red = Pin(config.PIN_LIGHT_RED, Pin.OUT, value=1)
        self._green = Pin(config.PIN_LIGHT_GREEN, Pin.OUT, value=0)
        self._last_beams = [False, False]
        self._last_door = False

    def reset_inputs(self, now):
        # report beams already blocked and a door already open as fresh edges
        self._last_beams = [False, False]
        self._last_door = False

    def take_edges(self, now):
        edges = []
        for i in (0, 1):
            blocked = self._beams[i].value() == config.BEAM_BLOCKED_LEVEL
            if blocked != self._last_beams[i]:
                self._last_beams[i] = blocked
                edges.append(("beam", i, blocked))
        door_open = self._door.value() == config.DOOR_OPEN_LEVEL
        if door_open != self._last_door:
            self._last_door = door_open
            edges.append(("door", 0, door_open))
        return edges

    def set_outputs(self, lock, light, now):
        self._lock.value(1 if lock == p.UNLOCKED else 0)
        red = light in (p.LIGHT_RED, p.LIGHT_AMBER)
        green = light in (p.LIGHT_GREEN, p.LIGHT_AMBER)
        if light == p.LIGHT_FLASHING:
            red = (now // FLASH_HALF_PERIOD_MS) % 2 == 0
            green = not red
        self._red.value(1 if red else 0)
        self._green.value(1 if green else 0)

    def next_deadline(self, now):
        return 1  # inputs are polled every millisecond
