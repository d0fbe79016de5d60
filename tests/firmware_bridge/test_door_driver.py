"""DoorLink against the firmware simulator over a real pty."""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
import tty
from pathlib import Path

import pytest
import serial
from door_helpers import SCENARIOS, Collector, wait_until

from firmware_bridge.driver import DoorLink
from firmware_bridge.messages import AckResult, EventKind, Mode
from firmware_bridge.notices import (
    CommandResult,
    DeviceEvent,
    DeviceRebooted,
    LinkDown,
    LinkState,
    LinkUp,
)
from firmware_bridge.port import open_port
from firmware_bridge.simulator import (
    PACKAGE_DIR,
    SimulatedBoard,
    SimulatorError,
    find_micropython,
)
from firmware_bridge.usb import UsbMatch, find_port

pytestmark = pytest.mark.micropython


def start_link(port: str, owner: Collector, **kwargs: object) -> DoorLink:
    link = DoorLink(port, owner, **kwargs)  # type: ignore[arg-type]
    owner.ack = lambda event: link.acknowledge(event.cursor)
    link.start()
    owner.wait_for(lambda o: bool(o.of_type(LinkUp)))
    return link


def passes(owner: Collector, kind: EventKind) -> int:
    return sum(1 for e in owner.events if e.kind == kind)


def assert_exactly_once(owner: Collector) -> None:
    cursors = [e.cursor for e in owner.events]
    assert len(cursors) == len(set(cursors))
    assert cursors == sorted(cursors)


def test_walks_and_admit_reach_the_owner(board: SimulatedBoard) -> None:
    owner = Collector()
    link = start_link(board.port, owner)
    try:
        seq = link.admit(2, 10000)
        owner.wait_for(lambda o: any(isinstance(n, CommandResult) and n.seq == seq
                                     for n in o.notices))
        assert CommandResult(seq, "ADMIT", AckResult.OK) in owner.notices
        board.walk_in(step_ms=40)
        board.wait_idle()
        board.walk_out(step_ms=40)
        board.wait_idle()
        owner.wait_for(lambda o: passes(o, EventKind.PASS_IN) == 1
                       and passes(o, EventKind.PASS_OUT) == 1)
        assert board.state()["admits_pending"] == 1
        mode_seq = link.set_mode(Mode.HOLD)
        owner.wait_for(lambda o: CommandResult(mode_seq, "SET_MODE", AckResult.OK) in o.notices)
        # HOLD ends the open admission window; the unused admission is reported
        owner.wait_for(lambda o: any(e.kind == EventKind.ADMIT_EXPIRED and e.arg == 1
                                     for e in o.events))
        wait_until(lambda: board.state()["unacked"] == 0, what="the device to drop acked events")
        state = board.state()
        assert state["mode"] == Mode.HOLD and state["admits_pending"] == 0
        assert link.counters["frames_ok"] > 0
        assert_exactly_once(owner)
    finally:
        link.stop()


@pytest.mark.slow
def test_unplug_and_replug_loses_nothing(board: SimulatedBoard) -> None:
    owner = Collector()
    link = start_link(board.port, owner)
    try:
        board.walk_in(step_ms=40)
        board.wait_idle()
        owner.wait_for(lambda o: passes(o, EventKind.PASS_IN) == 1)
        board.unplug()
        owner.wait_for(lambda o: bool(o.of_type(LinkDown)))
        assert link.state is not LinkState.UP
        for _ in range(3):  # people keep coming while the cable is out
            board.walk_in(step_ms=40)
            board.wait_idle()
        board.walk_out(step_ms=40)
        board.wait_idle()
        board.replug()
        owner.wait_for(lambda o: len(o.of_type(LinkUp)) == 2, timeout=8)
        owner.wait_for(lambda o: passes(o, EventKind.PASS_IN) == 4
                       and passes(o, EventKind.PASS_OUT) == 1)
        state = board.state()
        assert (state["total_in"], state["total_out"]) == (4, 1)
        assert_exactly_once(owner)
        assert link.counters["port_errors"] >= 1
    finally:
        link.stop()


@pytest.mark.slow
def test_device_reboot_mid_stream(board: SimulatedBoard) -> None:
    owner = Collector()
    link = start_link(board.port, owner)
    try:
        board.walk_in(step_ms=40)
        board.wait_idle()
        owner.wait_for(lambda o: passes(o, EventKind.PASS_IN) == 1)
        # someone is between the beams when the board restarts and walks on afterwards
        board.set_beam("A", True)
        board.set_beam("B", True)
        time.sleep(0.05)
        board.reboot()
        owner.wait_for(lambda o: bool(o.of_type(DeviceRebooted)))
        time.sleep(0.05)  # longer than the debounce, as a person would take
        board.set_beam("A", False)
        time.sleep(0.05)
        board.set_beam("B", False)
        board.wait_idle()
        board.walk_in(step_ms=40)
        board.wait_idle()
        board.walk_out(step_ms=40)
        board.wait_idle()
        owner.wait_for(lambda o: passes(o, EventKind.PASS_OUT) == 1)
        reboot = owner.of_type(DeviceRebooted)[0]
        assert isinstance(reboot, DeviceRebooted)
        assert reboot.boot_count == reboot.previous_boot_count + 1
        after = [e for e in owner.events if e.cursor.boot_count == reboot.boot_count
                 and e.kind in (EventKind.PASS_IN, EventKind.PASS_OUT)]
        # the fresh boot sees both beams blocked, then cleared A before B: one IN
        assert [e.kind for e in after] == [EventKind.PASS_IN, EventKind.PASS_IN,
                                           EventKind.PASS_OUT]
        state = board.state()
        assert (state["total_in"], state["total_out"]) == (2, 1)  # since the restart
        assert passes(owner, EventKind.PASS_IN) == 3
        assert_exactly_once(owner)
    finally:
        link.stop()


class LossyRelay:
    """Sits between the board's pty and a new pty for the host.

    Drops whole frames, damages some (one byte flipped) and puts bursts of
    garbage between frames, in both directions.
    """

    def __init__(self, board_port: str, loss: float, seed: int, damage: float = 0.0) -> None:
        self.rng = random.Random(seed)
        self.loss = loss
        self.damage = damage
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.host_port = os.ttyname(slave)
        self._slave = slave
        self.board = serial.serial_for_url(board_port, exclusive=True, timeout=0.01)
        self.dropped = [0, 0]
        self.damaged = [0, 0]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._to_host, daemon=True),
                         threading.Thread(target=self._to_board, daemon=True)]
        for t in self._threads:
            t.start()

    def _forward(self, buf: bytearray, data: bytes, direction: int) -> list[bytes]:
        buf += data
        out = []
        while 0 in buf:
            at = buf.index(0)
            frame = bytes(buf[: at + 1])
            del buf[: at + 1]
            roll = self.rng.random()
            if roll < self.loss:
                self.dropped[direction] += 1
            elif roll < self.loss + self.damage and len(frame) > 2:
                self.damaged[direction] += 1
                damaged = bytearray(frame)
                damaged[self.rng.randrange(len(frame) - 1)] ^= 1 << self.rng.randrange(8)
                garbage = bytes(self.rng.randrange(1, 256) for _ in range(self.rng.randrange(90)))
                out.append(bytes(damaged) + garbage)
            else:
                out.append(frame)
        return out

    def _to_host(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            data = self.board.read(256)
            for frame in self._forward(buf, data, 0):
                os.write(self.master, frame)

    def _to_board(self) -> None:
        buf = bytearray()
        os.set_blocking(self.master, False)
        while not self._stop.is_set():
            try:
                data = os.read(self.master, 256)
            except BlockingIOError:
                time.sleep(0.002)
                continue
            except OSError:
                return
            for frame in self._forward(buf, data, 1):
                self.board.write(frame)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self.board.close()
        os.close(self.master)
        os.close(self._slave)


@pytest.mark.slow
def test_lossy_relay_loses_no_passage(board: SimulatedBoard) -> None:
    relay = LossyRelay(board.port, loss=0.15, damage=0.1, seed=4)
    owner = Collector()
    link = start_link(relay.host_port, owner)
    try:
        seqs = [link.admit(1, 30000) for _ in range(4)]
        for i in range(8):
            (board.walk_in if i % 4 else board.walk_out)(step_ms=30)
            board.wait_idle()
        state = board.state()
        owner.wait_for(lambda o: passes(o, EventKind.PASS_IN) == state["total_in"]
                       and passes(o, EventKind.PASS_OUT) == state["total_out"], timeout=10)
        owner.wait_for(lambda o: {n.seq for n in o.of_type(CommandResult)
                                  } >= set(seqs), timeout=5)
        assert (state["total_in"], state["total_out"]) == (6, 2)
        assert_exactly_once(owner)
        assert min(relay.dropped) > 0 and min(relay.damaged) > 0
        # damaged frames and garbage were dropped and counted on both ends; the link went on
        host_drops = sum(v for k, v in link.counters.items() if k.startswith("dropped"))
        device = board.state()["link_counters"]
        device_drops = sum(v for k, v in device.items() if k.startswith("dropped"))
        assert host_drops > 0 and device_drops > 0
        assert link.state is LinkState.UP
        ok = [n for n in owner.of_type(CommandResult) if n.result is AckResult.OK]
        # admissions carried out = the ones used by IN passages + the ones still open;
        # at least every acknowledged ADMIT, and never more than were sent (no double runs)
        tailgates = sum(1 for e in owner.events if e.kind == EventKind.TAILGATE)
        executed = state["total_in"] - tailgates + board.state()["admits_pending"]
        assert len(ok) <= executed <= len(seqs)
    finally:
        link.stop()
        relay.close()


def test_second_opener_of_the_board_is_refused(board: SimulatedBoard) -> None:
    owner = Collector()
    link = start_link(board.port, owner)
    try:
        with pytest.raises(serial.SerialException):
            open_port(board.port, timeout=0.1)
    finally:
        link.stop()


def test_loop_url_opens_and_missing_port_is_retried() -> None:
    owner = Collector()
    port = open_port("loop://", timeout=0.01)  # the URL handler takes the exclusive flag
    port.close()
    link = DoorLink("/nonexistent/door-tty", owner)
    link.start()
    try:
        wait_until(lambda: link.counters["port_open_failures"] >= 2, what="open retries")
        assert link.state is LinkState.DOWN
        seq = link.admit(1, 1000)
        owner.wait_for(lambda o: CommandResult(seq, "ADMIT", None) in o.notices)
    finally:
        link.stop()


def test_usb_match_parsing_and_search() -> None:
    assert UsbMatch.parse("2e8a:0005") == UsbMatch(0x2E8A, 0x0005, None)
    assert UsbMatch.parse("2E8A:000a:E660") == UsbMatch(0x2E8A, 0x000A, "E660")
    with pytest.raises(ValueError, match="VID:PID"):
        UsbMatch.parse("pico")
    assert find_port(UsbMatch(0xFFFF, 0xFFFE, "no-such-board")) is None
    with pytest.raises(ValueError, match="port"):
        DoorLink("", Collector())


def test_events_are_not_delivered_twice_after_host_reconnect(board: SimulatedBoard) -> None:
    owner = Collector()
    link = start_link(board.port, owner)
    board.walk_in(step_ms=30)
    board.wait_idle()
    owner.wait_for(lambda o: passes(o, EventKind.PASS_IN) == 1)
    link.stop()
    last = owner.events[-1].cursor
    again = Collector()
    link2 = start_link(board.port, again, resume=last)
    try:
        board.walk_out(step_ms=30)
        board.wait_idle()
        again.wait_for(lambda o: passes(o, EventKind.PASS_OUT) == 1)
        assert all(e.cursor > last for e in again.events)
        assert isinstance(again.events[0], DeviceEvent)
    finally:
        link2.stop()


def test_simulator_under_cpython_plays_a_scenario(tmp_path: Path) -> None:
    owner = Collector()
    with SimulatedBoard(tmp_path / "cpy", interpreter="cpython") as sim:
        link = start_link(sim.port, owner)
        try:
            sim.play(SCENARIOS / "in_and_out.jsonl")
            sim.wait_idle()
            owner.wait_for(lambda o: passes(o, EventKind.PASS_IN) == 1
                           and passes(o, EventKind.PASS_OUT) == 1)
            with pytest.raises(SimulatorError, match="unknown command"):
                sim.command({"fly": True})
        finally:
            link.stop()
    # the flash directory keeps the boot count across simulator runs
    with SimulatedBoard(tmp_path / "cpy", interpreter="cpython") as again:
        assert again.state()["boot_count"] == 2


def test_simulator_exits_when_its_launcher_is_gone(tmp_path: Path) -> None:
    """A launcher killed with SIGKILL must not leave the firmware running on its own."""
    micropython = find_micropython()
    if micropython is None:
        pytest.skip("micropython is not installed")
    (tmp_path / "flash").mkdir()
    env = dict(os.environ, MICROPYPATH=f".frozen:{PACKAGE_DIR}")
    proc = subprocess.Popen(
        [micropython, "-m", "firmware.sim_main", "--serial", str(tmp_path / "s.sock"),
         "--control", str(tmp_path / "c.sock"), "--flash", str(tmp_path / "flash"),
         "--exit-with-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().startswith(b"ready")
        proc.stdin.close()  # what the kernel does for a launcher that dies
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
