"""Door firmware: one code base for the Pico, the MicroPython unix port and CPython.

Modules import each other relatively, so the package works as
``firmware_bridge.firmware`` on the host and as ``doorfw`` on the board.
"""
