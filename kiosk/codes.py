"""Booking codes: 8 Crockford base32 characters, read as forgivingly as the contract allows.

A customer may type ``7kq2 m9xd`` or a scanner may send ``7KQ2-M9XD``; both are the same code.
O reads as 0, and I and L read as 1, because people copy codes by eye.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
MAX_INPUT_LENGTH = 64

_READ_AS = {"O": "0", "I": "1", "L": "1"}
_IGNORED = {" ", "-"}
_ALLOWED = frozenset(CROCKFORD_ALPHABET)
_CANONICAL = re.compile(f"[{CROCKFORD_ALPHABET}]{{{CODE_LENGTH}}}")


@dataclass(frozen=True)
class InvalidCode(ValueError):
    """The input cannot be a booking code; ``detail`` says why, in words for logs and staff."""

    detail: str

    def __str__(self) -> str:
        return self.detail


def normalise_code(raw: str) -> str:
    """Return the canonical 8-character code, or raise InvalidCode naming what is wrong."""
    if _CANONICAL.fullmatch(raw):  # as central sends them: nothing to forgive
        return raw
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidCode(
            f"input of {len(raw)} characters is longer than {MAX_INPUT_LENGTH}; "
            "a booking code has 8 letters and digits"
        )
    chars: list[str] = []
    for ch in raw.strip().upper():
        if ch in _IGNORED:
            continue
        ch = _READ_AS.get(ch, ch)
        if ch not in _ALLOWED:
            raise InvalidCode(
                f"character {ch!r} cannot appear in a booking code "
                "(letters and digits only, no U)"
            )
        chars.append(ch)
    if len(chars) != CODE_LENGTH:
        raise InvalidCode(
            f"a booking code has {CODE_LENGTH} letters and digits, this one has {len(chars)}"
        )
    return "".join(chars)


def is_canonical_code(code: str) -> bool:
    return _CANONICAL.fullmatch(code) is not None


def display_code(code: str) -> str:
    """Group a canonical code as people see it printed: ``7KQ2-M9XD``."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code
