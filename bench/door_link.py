"""Door link benchmark: latency through the simulator's pty, and decoder throughput.

Measures, in one run:
  * floor: a raw round trip of a 16-byte frame through the same kind of pty
    (socat PTY <-> UNIX socket <-> an echo loop under micropython);
  * ADMIT: DoorLink.admit() until the CommandResult reaches the owner;
  * beam edge: the simulator applying the last beam edge of a walk until the
    DeviceEvent(PASS_IN) reaches the owner (includes the 20 ms debounce, which
    is also reported subtracted);
  * decoder: frames/s of FrameDecoder against a floor of bytes.split on the
    same stream.
Run: .venv/bin/python bench/door_link.py [--samples N]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import serial

from firmware_bridge.driver import DoorLink
from firmware_bridge.firmware.config import DEBOUNCE_MS
from firmware_bridge.framing import FrameDecoder, encode_packet
from firmware_bridge.messages import EventKind, PacketType
from firmware_bridge.notices import CommandResult, DeviceEvent, LinkNotice, LinkUp
from firmware_bridge.simulator import SimulatedBoard, find_micropython

ECHO = """
import socket, select, struct, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(struct.pack("<H", socket.AF_UNIX) + path.encode() + b"\\x00")
s.listen(1)
c, _ = s.accept()
p = select.poll()
p.register(c, select.POLLIN)
while True:
    p.poll(1000)
    d = c.recv(512)
    if not d:
        break
    c.send(d)
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, ms: list[float]) -> dict[str, float]:
    row = {"p50": statistics.median(ms), "p99": pct(ms, 0.99), "max": max(ms)}
    print(f"{name:<40} n={len(ms):<4} p50={row['p50']:.3f} ms  p99={row['p99']:.3f} ms  "
          f"max={row['max']:.3f} ms")
    return row


class EchoPty:
    """The floor: socat PTY <-> UNIX socket <-> an echo loop under micropython."""

    def __init__(self, tmp: str) -> None:
        micropython = find_micropython()
        assert micropython, "micropython is needed for the benchmark"
        sock, link = f"{tmp}/echo.sock", f"{tmp}/tty"
        self.echo = subprocess.Popen([micropython, "-c", ECHO, sock])
        while not os.path.exists(sock):
            time.sleep(0.005)
        self.socat = subprocess.Popen(
            ["socat", f"PTY,link={link},raw,echo=0", f"UNIX-CONNECT:{sock}"],
            stderr=subprocess.DEVNULL)
        while not os.path.exists(link):
            time.sleep(0.005)
        self.port = serial.serial_for_url(link, exclusive=True, timeout=1.0)
        self.frame = encode_packet(PacketType.ADMIT, 1, bytes(3)) + bytes(7)

    def round_trip_ms(self) -> float:
        t0 = time.perf_counter()
        self.port.write(self.frame)
        got = self.port.read(len(self.frame))
        elapsed = (time.perf_counter() - t0) * 1000
        assert got == self.frame
        return elapsed

    def close(self) -> None:
        self.port.close()
        for process in (self.socat, self.echo):
            process.terminate()
            process.wait()


class Owner:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.results: dict[int, float] = {}
        self.passes: list[int] = []
        self.up = False
        self.link: DoorLink | None = None

    def __call__(self, notice: LinkNotice) -> None:
        now_perf, now_wall = time.perf_counter(), time.time_ns()
        with self.cond:
            if isinstance(notice, CommandResult):
                self.results[notice.seq] = now_perf
            elif isinstance(notice, DeviceEvent) and notice.kind == EventKind.PASS_IN:
                self.passes.append(now_wall)
            elif isinstance(notice, LinkUp):
                self.up = True
            self.cond.notify_all()
        if isinstance(notice, DeviceEvent) and self.link is not None:
            self.link.acknowledge(notice.cursor)

    def wait(self, predicate: object, timeout: float = 5.0) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "benchmark timed out"  # type: ignore[arg-type]


def measure_link(samples: int, walks: int) -> tuple[list[float], list[float], list[float]]:
    """ADMIT round trips interleaved with floor round trips (same load for both), then walks."""
    with tempfile.TemporaryDirectory() as tmp, SimulatedBoard(Path(tmp) / "board") as board:
        floor = EchoPty(tmp)
        owner = Owner()
        link = DoorLink(board.port, owner)
        owner.link = link
        link.start()
        owner.wait(lambda: owner.up)
        admit_ms, floor_ms = [], []
        for _ in range(samples):
            floor_ms.append(floor.round_trip_ms())
            t0 = time.perf_counter()
            seq = link.admit(1, 60000)
            owner.wait(lambda seq=seq: seq in owner.results)
            admit_ms.append((owner.results.pop(seq) - t0) * 1000)
        edge_ms = []
        for i in range(walks):
            for beam, blocked in (("A", True), ("B", True), ("A", False)):
                board.set_beam(beam, blocked)
                time.sleep(0.03)
            edge_ns = board.set_beam("B", False)["t_ns"]
            owner.wait(lambda i=i: len(owner.passes) > i)
            edge_ms.append((owner.passes[i] - edge_ns) / 1e6)
            time.sleep(0.01)
        link.stop()
        floor.close()
    return floor_ms, admit_ms, edge_ms


def measure_decoder(frames: int) -> tuple[float, float]:
    one = encode_packet(PacketType.EVENT, 7, bytes.fromhex("2a000000e8030000010000"))
    stream = b"\x00" + one * frames
    t0 = time.perf_counter()
    split = [f for f in stream.split(b"\x00") if f]
    floor_s = time.perf_counter() - t0
    assert len(split) == frames
    decoder = FrameDecoder()
    t0 = time.perf_counter()
    got = 0
    for at in range(0, len(stream), 4096):  # as a serial reader would hand it over
        got += len(decoder.feed(stream[at : at + 4096]))
    decode_s = time.perf_counter() - t0
    assert got == frames
    return frames / decode_s, frames / floor_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=500, help="round trips per measurement")
    parser.add_argument("--walks", type=int, default=60, help="walks for the beam-edge latency")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    floor_ms, admit_ms, edge_ms = measure_link(args.samples, args.walks)
    floor = summary("floor: raw pty round trip", floor_ms)
    admit = summary("ADMIT -> CommandResult at owner", admit_ms)
    edge = summary("beam edge -> DeviceEvent at owner", edge_ms)
    beyond = summary(f"  the same minus the {DEBOUNCE_MS} ms debounce",
                     [x - DEBOUNCE_MS for x in edge_ms])
    for name, row in (("ADMIT", admit), ("beam edge - debounce", beyond)):
        print(f"ratio {name} / floor:  p50 {row['p50'] / floor['p50']:.2f}  "
              f"p99 {row['p99'] / floor['p99']:.2f}")
    print(f"target: p99 at most 2 x floor p99 -> ADMIT "
          f"{'met' if admit['p99'] <= 2 * floor['p99'] else 'NOT met'}, beam edge "
          f"{'met' if edge['p99'] <= 2 * floor['p99'] else 'NOT met'} (debounce included), "
          f"{'met' if beyond['p99'] <= 2 * floor['p99'] else 'NOT met'} (debounce excluded)")
    rate, floor_rate = measure_decoder(200_000)
    print(f"decoder: {rate:,.0f} frames/s; floor bytes.split {floor_rate:,.0f} frames/s; "
          f"ratio {floor_rate / rate:.1f}")


if __name__ == "__main__":
    main()
