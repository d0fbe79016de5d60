"""A USB barcode or QR scanner types like a keyboard: characters, then Enter.

The buffer collects printable characters from the keyboard; Enter hands over what was typed.
A half-typed line left alone for ``stale_after_s`` is dropped, so a stray key press hours ago
does not prefix the next scan. Time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LINE = 64  # longer than any code the rules accept; the rules name what is wrong


@dataclass
class ScannerBuffer:
    stale_after_s: float = 2.0
    _chars: list[str] = field(default_factory=list)
    _last_at: float = 0.0
    dropped: int = 0

    def typed(self, text: str, now: float) -> None:
        if self._chars and now - self._last_at > self.stale_after_s:
            self._chars.clear()
            self.dropped += 1
        self._last_at = now
        for ch in text:
            if ch.isprintable() and len(self._chars) < MAX_LINE:
                self._chars.append(ch)

    def enter(self, now: float) -> str | None:
        """The line typed before Enter, or None when there was none (or it went stale)."""
        line = "".join(self._chars)
        self._chars.clear()
        if not line.strip() or now - self._last_at > self.stale_after_s:
            return None
        return line

    @property
    def pending(self) -> str:
        return "".join(self._chars)
