# People counting from two beams: A on the street side, B inside.
# An "episode" of a beam lasts from blocked to clear. A person passes IN when
# a B episode that began while a fresh A episode was under way (someone
# stepping from A onto B) ends after A has cleared at least once; OUT is the
# mirror image. A turn-back never completes that pattern, so it counts nothing;
# a turn made while standing across both beams is told apart by its length.
from .compat import const, ticks_add, ticks_diff

# When the near beam is blocked again while someone is still on the far one,
# it is either the next person close behind or the same person turning round.
# The one ahead walks on and leaves the far beam within part of the time a
# person takes to cross both beams; someone turning round stands across both
# beams at least about as long as when they stepped across. So the second
# overlap is compared with the first one of the same episode, in percent,
# which holds for slow and fast walkers alike. In tests/scenarios close
# behind measures 6..40 %, turning round 100 % and more.
TURN_PERCENT = const(70)

PASS_IN = const(1)
PASS_OUT = const(2)
BEAM_A = const(0)
BEAM_B = const(1)


def beam_index(name):
    if name == "A" or name == 0:
        return BEAM_A
    if name == "B" or name == 1:
        return BEAM_B
    raise ValueError("beam must be 'A' or 'B', got %r" % (name,))


class BeamCounter:
    """Debounced direction detection; pure logic, time passed in (ms ticks).

    edge() takes raw input edges; a level counts only once it has held for
    `debounce_ms`. Each call returns the passages completed so far as
    (PASS_IN | PASS_OUT, t_ms of the edge that completed it).
    """

    def __init__(self, debounce_ms=20, t_ms=0, turn_percent=TURN_PERCENT):
        self.debounce_ms = debounce_ms
        self.turn_percent = turn_percent
        self.stable = [False, False]
        self.stable_since = [t_ms, t_ms]
        self._raw = [False, False]
        self._raw_t = [t_ms, t_ms]
        self._from_other = [False, False]
        self._other_cleared = [False, False]
        self._straddle_ms = [0, 0]  # how long both beams were blocked as this episode began
        self.glitches = 0

    def edge(self, beam, blocked, t_ms):
        passages = self.advance(t_ms)
        i = beam_index(beam)
        blocked = bool(blocked)
        if blocked == self._raw[i]:
            return passages
        if blocked == self.stable[i]:
            self.glitches += 1  # the pending change did not last the debounce time
        self._raw[i] = blocked
        self._raw_t[i] = t_ms
        return passages

    def advance(self, t_ms):
        """Apply every change that has held for the debounce time by `t_ms`."""
        passages = []  # type: list
        while True:
            i = self._next_mature(t_ms)
            if i < 0:
                return passages
            self._apply(i, self._raw[i], self._raw_t[i], passages)

    def next_deadline(self):
        """The tick at which a pending change matures, or None."""
        best = None
        for i in (BEAM_A, BEAM_B):
            if self._raw[i] != self.stable[i]:
                due = ticks_add(self._raw_t[i], self.debounce_ms)
                if best is None or ticks_diff(due, best) < 0:
                    best = due
        return best

    def _next_mature(self, t_ms):
        best = -1
        for i in (BEAM_A, BEAM_B):
            if self._raw[i] == self.stable[i]:
                continue
            if ticks_diff(t_ms, ticks_add(self._raw_t[i], self.debounce_ms)) < 0:
                continue
            if best < 0 or ticks_diff(self._raw_t[i], self._raw_t[best]) < 0:
                best = i
        return best

    def _turning(self, i, other, t_ms):
        # the other beam, cleared earlier in this episode, is blocked again: either
        # the next person or this one stepping back; a long overlap means the latter
        if not self.stable[other] or self.turn_percent <= 0:
            return False
        overlap = ticks_diff(t_ms, self.stable_since[other])
        return overlap * 100 >= self.turn_percent * self._straddle_ms[i]

    def _apply(self, i, blocked, t_ms, passages):
        other = 1 - i
        self.stable[i] = blocked
        self.stable_since[i] = t_ms
        if blocked:
            # only someone who came fresh onto the other beam is crossing towards us;
            # the other beam's occupant may be a person ahead walking the same way
            self._from_other[i] = self.stable[other] and not self._from_other[other]
            self._other_cleared[i] = False
            return
        if self._from_other[i] and self._other_cleared[i] and \
                not self._turning(i, other, t_ms):
            passages.append((PASS_IN if i == BEAM_B else PASS_OUT, t_ms))
        self._from_other[i] = False
        self._other_cleared[i] = False
        if self.stable[other] and not self._other_cleared[other]:
            self._other_cleared[other] = True
            self._straddle_ms[other] = ticks_diff(t_ms, self.stable_since[other])
