"""Latency from a PASS_OUT at the door to the next waiting customer's ADMIT acknowledged.

    .venv/bin/python bench/admit_latency.py [--rounds 30]

The firmware runs under micropython behind a pty (firmware_bridge.simulator); the kiosk side is
the door controller on its owner thread with the real DoorLink (door_controller.service), the
store on disk with synchronous=FULL. Each round: one person inside of a limit of one, one
customer waiting; the bench breaks and clears the beams the OUT way and times from the edge
that completes the passage (the device counts it 20 ms later, after its debounce) to the host
receiving the device's ACK of the ADMIT for the waiting customer. The floor, measured in the
same run on the same link: SET_MODE sent to ACK received, the raw round trip over the pty.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from door_controller import events as ev  # noqa: E402
from door_controller.controller import NoticeInbox  # noqa: E402
from door_controller.service import DoorService  # noqa: E402
from firmware_bridge.messages import AckResult, Mode  # noqa: E402
from firmware_bridge.notices import CommandResult, LinkNotice  # noqa: E402
from firmware_bridge.simulator import SimulatedBoard  # noqa: E402

DEBOUNCE_MS = 20
STEP_S = 0.06  # between beam edges of the walk out


class AckClock(NoticeInbox):
    """An inbox that notes when each command's ACK reached the host (reader thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.acked: dict[tuple[str, int], int] = {}
        self.arrived = threading.Condition()

    def put(self, notice: LinkNotice) -> None:
        if isinstance(notice, CommandResult) and notice.result is AckResult.OK:
            with self.arrived:
                self.acked[(notice.command, notice.seq)] = time.time_ns()
                self.arrived.notify_all()
        super().put(notice)

    def wait_for(self, command: str, after_ns: int, timeout_s: float = 5.0) -> int:
        deadline = time.monotonic() + timeout_s
        with self.arrived:
            while True:
                found = [t for (c, _), t in self.acked.items() if c == command and t > after_ns]
                if found:
                    return min(found)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no ACK for {command} within {timeout_s} s")
                self.arrived.wait(left)


def wait_until(condition, what: str, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.005)


def walk_out_by_edges(board: SimulatedBoard) -> int:
    """Break and clear the beams the OUT way; return the wall-clock ns of the last edge."""
    for beam, blocked in (("B", True), ("A", True), ("B", False)):
        board.set_beam(beam, blocked)
        time.sleep(STEP_S)
    return int(board.set_beam("A", False)["t_ns"])


def run(rounds: int) -> tuple[list[float], list[float]]:
    admit_ms: list[float] = []
    floor_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="admit-bench-") as work, \
            SimulatedBoard(Path(work) / "board") as board:
        service = DoorService(Path(work) / "kiosk.db", board.port, limit=1)
        clock = AckClock()
        service.inbox = clock
        service.start()
        try:
            wait_until(lambda: service.call(lambda c: c.machine.link_up), "the door link")
            service.call(lambda c: c.apply(ev.CheckedIn("W000", 1)))
            board.walk_in()
            board.wait_idle()
            wait_until(lambda: service.call(lambda c: c.machine.count) == 1, "one inside")
            for n in range(1, rounds + 1):
                service.call(lambda c, t=f"W{n:03d}": c.apply(ev.CheckedIn(t, 1)))
                edge_ns = walk_out_by_edges(board)
                admit_ms.append((clock.wait_for("ADMIT", edge_ns) - edge_ns) / 1e6)
                board.walk_in()
                board.wait_idle()
                wait_until(lambda: service.call(
                    lambda c: (c.machine.count, c.machine.in_flight)) == (1, 0), "back to one")
                assert service.link is not None
                sent_ns = time.time_ns()
                service.link.set_mode(Mode.NORMAL)
                floor_ms.append((clock.wait_for("SET_MODE", sent_ns) - sent_ns) / 1e6)
        finally:
            service.stop()
    return admit_ms, floor_ms


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"{name:44} median {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   "
            f"max {max(values):7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    admit_ms, floor_ms = run(args.rounds)
    print(f"{args.rounds} rounds, firmware under micropython on a pty, store synchronous=FULL")
    print(summary("PASS_OUT edge -> next ADMIT acknowledged", admit_ms))
    print(summary("  of which the device's debounce", [float(DEBOUNCE_MS)] * len(admit_ms)))
    print(summary("floor: SET_MODE -> ACK (raw pty round trip)", floor_ms))
    floor = statistics.median(floor_ms)
    ratio = statistics.median(admit_ms) / floor
    beyond = (statistics.median(admit_ms) - DEBOUNCE_MS) / floor
    print(f"ratio (medians): {ratio:.1f}x the raw round trip; {beyond:.1f}x without the "
          "debounce")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
