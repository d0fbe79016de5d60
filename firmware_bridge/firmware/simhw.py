# The simulated hardware layer: beams and door contact driven by scheduled
# edges (from the control interface or a scenario), outputs only recorded.
from .compat import ticks_add, ticks_diff
from .counter import beam_index

WALK_PATTERNS = {
    # (offset in steps, beam, blocked): A is the street side, B inside
    "in": ((0, 0, True), (1, 1, True), (2, 0, False), (3, 1, False)),
    "out": ((0, 1, True), (1, 0, True), (2, 1, False), (3, 0, False)),
    "turn_back": ((0, 0, True), (1, 1, True), (2, 1, False), (3, 0, False)),
}


class SimHardware:
    def __init__(self):
        self.beams = [False, False]
        self.door_open = False
        self.lock = 0
        self.light = 0
        self._schedule = []  # [due_tick, kind, index, value], kept in due order
        self._edges = []

    def reset_inputs(self, now):
        # the beams and the door keep their physical state over a device restart,
        # but a fresh counter must see the ones that are blocked as new edges
        self._edges = []
        for i in (0, 1):
            if self.beams[i]:
                self._edges.append(("beam", i, True))
        if self.door_open:
            self._edges.append(("door", 0, True))

    def set_outputs(self, lock, light, now):
        self.lock = lock
        self.light = light

    # ----- driving the inputs -------------------------------------------
    def set_beam(self, beam, blocked, now):
        i = beam_index(beam)
        if self.beams[i] != bool(blocked):
            self.beams[i] = bool(blocked)
            self._edges.append(("beam", i, bool(blocked)))

    def set_door(self, is_open, now):
        if self.door_open != bool(is_open):
            self.door_open = bool(is_open)
            self._edges.append(("door", 0, bool(is_open)))

    def schedule(self, due, kind, index, value):
        item = [due, kind, index, value]
        at = len(self._schedule)
        while at > 0 and ticks_diff(self._schedule[at - 1][0], due) > 0:
            at -= 1
        self._schedule.insert(at, item)

    def walk(self, direction, now, step_ms=150):
        if direction not in WALK_PATTERNS:
            raise ValueError("walk must be one of in, out, turn_back")
        for step, beam, blocked in WALK_PATTERNS[direction]:
            self.schedule(ticks_add(now, step * step_ms), "beam", beam, blocked)

    def pending(self):
        return len(self._schedule)

    # ----- read by the main loop ----------------------------------------
    def take_edges(self, now):
        while self._schedule and ticks_diff(now, self._schedule[0][0]) >= 0:
            _due, kind, index, value = self._schedule.pop(0)
            if kind == "beam":
                self.set_beam(index, value, now)
            else:
                self.set_door(value, now)
        edges = self._edges
        self._edges = []
        return edges

    def next_deadline(self, now):
        if self._edges:
            return 0
        if self._schedule:
            return max(0, ticks_diff(self._schedule[0][0], now))
        return 1000
