"""The staff PIN's slowdown: a growing wait after each wrong PIN, an alarm at the tenth.

A pure core: the time (monotonic seconds) is passed in. The wait after the n-th wrong PIN in a
row is ``first_delay_s * 2**(n-1)``, capped at ``max_delay_s``; a right PIN resets the count.
The count and the wait left are kept in the store by the owner of the branch's state, so a
restart (pulling the plug) neither resets the slowdown nor moves the next alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

ALARM_AFTER = 10


@dataclass
class PinGate:
    first_delay_s: float = 1.0
    max_delay_s: float = 300.0
    alarm_after: int = ALARM_AFTER
    failures: int = 0
    locked_until: float = 0.0
    alarms_raised: int = 0

    def wait_s(self, now: float) -> float:
        """Seconds until the next PIN may be tried (0 when it may be tried now)."""
        return max(0.0, self.locked_until - now)

    def delay_after(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** (failures - 1)))

    def failed(self, now: float) -> bool:
        """Record a wrong PIN; True when this one calls for an alarm (the 10th, 20th, ...)."""
        self.failures += 1
        self.locked_until = now + self.delay_after(self.failures)
        if self.failures % self.alarm_after == 0:
            self.alarms_raised += 1
            return True
        return False

    def succeeded(self) -> None:
        self.failures = 0
        self.locked_until = 0.0

    def restore(self, failures: int, wait_s: float, now: float) -> None:
        """Take back what the store kept: wrong PINs so far and the wait left.

        Whatever happened since the start is kept too (the larger count, the later end), and
        the wait is never longer than ``max_delay_s``, whatever the wall clock did meanwhile.
        """
        self.failures = max(self.failures, failures)
        self.locked_until = max(self.locked_until, now + min(max(0.0, wait_s), self.max_delay_s))
