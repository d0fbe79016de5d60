# Stand-ins for the few MicroPython-only names the firmware uses, so the very
# same modules import under CPython (tests, `kiosk door-sim`, the simulator).
try:
    from micropython import const
except ImportError:

    def const(value):
        return value


try:
    from time import ticks_add, ticks_diff, ticks_ms  # type: ignore[attr-defined]
except ImportError:
    import time as _time

    # MicroPython's ticks wrap at 2**30 on every port we run on; mimic that so
    # wrap-around bugs show up under CPython too.
    _TICKS_PERIOD = 1 << 30
    _TICKS_HALF = _TICKS_PERIOD // 2

    def ticks_ms():
        return int(_time.monotonic() * 1000) & (_TICKS_PERIOD - 1)

    def ticks_add(ticks, delta):
        return (ticks + delta) & (_TICKS_PERIOD - 1)

    def ticks_diff(end, start):
        return ((end - start + _TICKS_HALF) & (_TICKS_PERIOD - 1)) - _TICKS_HALF
