# The firmware's main loop body, shared by the board and the simulator:
# input edges from the hardware layer into DeviceCore, outputs back out.
from .compat import ticks_ms
from .device import DeviceCore


class DoorApp:
    def __init__(self, hw, link, flash, uid, now=None):
        self.hw = hw
        self.link = link  # .read() -> bytes (non-blocking), .write(bytes)
        self.flash = flash
        self.uid = uid
        self.boot(ticks_ms() if now is None else now)

    def boot(self, now):
        """Start as after power-on: a new boot count, nothing in RAM kept."""
        self.boot_count = self.flash.next_boot_count()
        self.core = DeviceCore(self.uid, self.boot_count, now)
        self.hw.reset_inputs(now)
        self._apply_outputs(now)
        self._flush()

    def step(self, now):
        data = self.link.read()
        if data:
            self.core.receive_bytes(data, now)
        for kind, index, value in self.hw.take_edges(now):
            if kind == "beam":
                self.core.beam_edge(index, value, now)
            else:
                self.core.door_edge(value, now)
        self.core.tick(now)
        self._apply_outputs(now)
        self._flush()

    def next_deadline(self, now):
        return min(self.core.next_deadline(now), self.hw.next_deadline(now))

    def _apply_outputs(self, now):
        self.hw.set_outputs(self.core.lock_state(), self.core.light_state(), now)

    def _flush(self):
        out = self.core.take_output()
        if out:
            self.link.write(out)
