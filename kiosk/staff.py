"""Staff PINs: only salted PBKDF2 hashes are kept in the configuration, never a PIN."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000
_HASH = re.compile(r"^pbkdf2_sha256\$(\d{4,7})\$([A-Za-z0-9+/=]{16,})\$([A-Za-z0-9+/=]{40,})$")


def hash_pin(pin: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("a staff PIN is 4 to 12 digits")
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return "$".join([ALGORITHM, str(iterations), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


def is_pin_hash(value: str) -> bool:
    return _HASH.match(value) is not None


def verify_pin(pin: str, pin_hash: str) -> bool:
    match = _HASH.match(pin_hash)
    if match is None:
        return False
    iterations = int(match.group(1))
    salt = base64.b64decode(match.group(2))
    expected = base64.b64decode(match.group(3))
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def staff_for_pin(pin: str, pins: dict[str, str]) -> str | None:
    """The staff id whose PIN this is, or None; every hash is checked so timing tells nothing."""
    found = None
    for staff_id, pin_hash in pins.items():
        if verify_pin(pin, pin_hash) and found is None:
            found = staff_id
    return found
