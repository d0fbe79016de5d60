"""A plain progress bar on stderr for long imports: drawn at most ten times a second."""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO, label: str, *, min_interval_s: float = 0.1) -> None:
        self.stream = stream
        self.label = label
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval_s:
            return
        self._last = now
        filled = WIDTH * done // total if total else WIDTH
        percent = 100 * done // total if total else 100
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] "
                          f"{done}/{total} ({percent}%)")
        self._drawn = True
        if done >= total:
            self.finish()
        self.stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
