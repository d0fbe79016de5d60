"""Operator passwords, stored only as scrypt hashes: ``scrypt$n$r$p$<salt>$<hash>`` (base64)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32


class PasswordHashError(ValueError):
    """A stored hash is not one this module wrote; the message says what to do."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                            dklen=HASH_BYTES, maxmem=256 * 1024 * 1024)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def check_hash_format(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise PasswordHashError(
            "password_hash must look like scrypt$16384$8$1$<salt>$<hash>; "
            "make one with `central ops hash-password`")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise PasswordHashError(
            "password_hash has a non-numeric cost or bad base64; "
            "make a new one with `central ops hash-password`") from None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or not salt or not digest:
        raise PasswordHashError("password_hash has impossible scrypt parameters; make a new one")
    return n, r, p, salt, digest


def verify_password(password: str, stored: str) -> bool:
    n, r, p, salt, digest = check_hash_format(stored)
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                               dklen=len(digest), maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(candidate, digest)
