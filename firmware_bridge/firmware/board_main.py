# Copied to the board as /main.py (see docs/firmware.md); runs at power-on.
from firmware.pico import run

run()
