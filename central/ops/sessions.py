"""Operators' sessions: a random token in an HttpOnly, SameSite=Strict cookie, and a CSRF
token of its own that every action must echo in a header.

Five wrong passwords for one login within five minutes lock that login for five minutes,
so guessing is slow even though the page only listens where the config says.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from central.ops.config import Operator
from central.ops.passwords import verify_password

log = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCKOUT_S = 300.0
COOKIE = "ops_session"


@dataclass(frozen=True)
class Session:
    token: str
    operator: str
    operator_name: str
    csrf: str
    expires_at: float


class LoginLocked(RuntimeError):
    """Too many wrong passwords for this login lately."""


class Sessions:
    def __init__(self, operators: dict[str, Operator], ttl_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.operators = operators
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, list[float]] = {}

    def login(self, login: str, password: str) -> Session | None:
        """A new session, or None for a wrong login or password; LoginLocked when locked."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(login, []) if now - t < LOCKOUT_S]
            self._failures[login] = recent
            if len(recent) >= MAX_FAILURES:
                raise LoginLocked(login)
        operator = self.operators.get(login)
        # Hash even for an unknown login, so the answer takes as long either way.
        stored = operator.password_hash if operator else _DUMMY_HASH
        ok = verify_password(password, stored) and operator is not None
        with self._lock:
            if not ok or operator is None:
                self._failures.setdefault(login, []).append(now)
                log.warning("failed login for %r", login[:40])
                return None
            session = Session(secrets.token_urlsafe(32), operator.login, operator.name,
                              secrets.token_urlsafe(32), now + self.ttl_s)
            self._sessions = {t: s for t, s in self._sessions.items() if s.expires_at > now}
            self._sessions[session.token] = session
            self._failures.pop(login, None)
        log.info("%s logged in", operator.login)
        return session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires_at <= self.clock():
                del self._sessions[token]
                return None
            return session

    def logout(self, token: str | None) -> None:
        with self._lock:
            if token:
                self._sessions.pop(token, None)


_DUMMY_HASH = ("scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
