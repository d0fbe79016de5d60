"""What the customer has typed on the keypad, shown in groups as the code is printed."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.codes import CODE_LENGTH, CROCKFORD_ALPHABET

KEYPAD_KEYS = CROCKFORD_ALPHABET  # digits first, then the letters a code can hold
GROUP = 4


@dataclass
class CodeBuffer:
    """At most ``CODE_LENGTH`` characters from the Crockford alphabet."""

    text: str = ""

    def press(self, key: str) -> bool:
        """Add one key; False (and nothing changes) when full or not a code character."""
        if len(key) != 1 or key not in KEYPAD_KEYS or self.full:
            return False
        self.text += key
        return True

    def delete(self) -> None:
        self.text = self.text[:-1]

    def clear(self) -> None:
        self.text = ""

    @property
    def full(self) -> bool:
        return len(self.text) >= CODE_LENGTH

    def display(self) -> str:
        """``7KQ2-M9__``: the groups of the printed code, with blanks still to type."""
        padded = self.text + "_" * (CODE_LENGTH - len(self.text))
        return "-".join(padded[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))
