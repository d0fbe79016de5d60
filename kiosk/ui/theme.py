"""Colours and sizes of the kiosk screen, each text colour paired with the ground it sits on.

Every pair in ``TEXT_ON`` is checked in the tests for a WCAG contrast ratio of at least 4.5:1.
Sizes are fractions of the window so the same layout fits 800x480 and 1280x800.
"""

from __future__ import annotations

Rgba = tuple[float, float, float, float]


def hex_rgba(value: str) -> Rgba:
    value = value.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, 1.0)


GROUND = hex_rgba("#0B1F33")        # the screen's background
PANEL = hex_rgba("#15304D")         # cards and the status grid
TEXT = hex_rgba("#FFFFFF")
TEXT_SOFT = hex_rgba("#D5E1EC")     # secondary text on GROUND and PANEL
KEY = hex_rgba("#E3EAF2")           # keypad keys
KEY_TEXT = hex_rgba("#0B1F33")
PRIMARY = hex_rgba("#1559B0")       # the main action of a screen
GO = hex_rgba("#1B6B2A")            # "Zapraszamy"
STOP = hex_rgba("#B3261E")          # "Prosimy czekać", emergency
CAUTION = hex_rgba("#F2B705")       # paused, fault: dark text on it
CAUTION_TEXT = hex_rgba("#111111")
QUIET = hex_rgba("#455A64")         # closed
DANGER = hex_rgba("#8C1D18")        # the emergency button
WARNING_TEXT = hex_rgba("#FFD54F")  # "the slip could not be printed", on GROUND

# (name, text colour, ground colour): every text the screens draw, on what it is drawn.
TEXT_ON: tuple[tuple[str, Rgba, Rgba], ...] = (
    ("text on ground", TEXT, GROUND),
    ("soft text on ground", TEXT_SOFT, GROUND),
    ("text on panel", TEXT, PANEL),
    ("soft text on panel", TEXT_SOFT, PANEL),
    ("key text on key", KEY_TEXT, KEY),
    ("text on primary", TEXT, PRIMARY),
    ("text on go", TEXT, GO),
    ("text on stop", TEXT, STOP),
    ("text on caution", CAUTION_TEXT, CAUTION),
    ("text on quiet", TEXT, QUIET),
    ("text on danger", TEXT, DANGER),
    ("warning on ground", WARNING_TEXT, GROUND),
)

# The banner of the welcome screen for each branch state: (ground, text).
STATE_COLOURS: dict[str, tuple[Rgba, Rgba]] = {
    "open": (GO, TEXT),
    "free_entry": (GO, TEXT),
    "full": (STOP, TEXT),
    "emergency": (STOP, TEXT),
    "paused": (CAUTION, CAUTION_TEXT),
    "fault": (CAUTION, CAUTION_TEXT),
    "closed": (QUIET, TEXT),
}


def relative_luminance(colour: Rgba) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: Rgba, b: Rgba) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def min_touch_px(width_px: int, height_px: int, diagonal_in: float, mm: float = 9.0) -> float:
    """Pixels that make ``mm`` millimetres on a screen of this size and diagonal."""
    diagonal_px = (width_px**2 + height_px**2) ** 0.5
    return mm * diagonal_px / (diagonal_in * 25.4)
