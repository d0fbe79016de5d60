"""Counts of what central did and what it dropped, for logs, tests and a metrics endpoint."""

from __future__ import annotations

import threading
from collections import Counter


class Counters:
    """Named counters, safe to bump from one thread and read from another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def dropped(self) -> dict[str, int]:
        """Dropped messages by "<topic kind>.<reason>"."""
        prefix = "dropped."
        with self._lock:
            return {k[len(prefix):]: v for k, v in self._counts.items() if k.startswith(prefix)}
