"""New booking codes: 8 Crockford base32 characters from a cryptographic random source."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from kiosk.codes import CODE_LENGTH, CROCKFORD_ALPHABET

# 32**8 codes: a clash is rare, so a few attempts are plenty unless the store is absurdly full.
MAX_ATTEMPTS = 100


class CodeSpaceExhausted(RuntimeError):
    pass


def random_code() -> str:
    return "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(CODE_LENGTH))


def new_unique_code(taken: Callable[[str], bool]) -> str:
    """A random code that ``taken`` says is not in use yet."""
    for _ in range(MAX_ATTEMPTS):
        code = random_code()
        if not taken(code):
            return code
    raise CodeSpaceExhausted(f"no free booking code found in {MAX_ATTEMPTS} attempts")
