"""The host's sans-I/O link against the firmware's DeviceCore, wired in memory.

The clock is simulated, so a lossy line, restarts and a 300-event backlog run
in milliseconds and the same seed always gives the same run.
"""

from __future__ import annotations

import random

import pytest

from firmware_bridge.firmware.device import DeviceCore
from firmware_bridge.link import HostLink
from firmware_bridge.link_state import LinkInput, LinkStateError, next_state
from firmware_bridge.messages import AckResult, EventKind, Mode
from firmware_bridge.notices import (
    CommandResult,
    DeviceEvent,
    DeviceRebooted,
    EventCursor,
    EventGap,
    LinkDown,
    LinkState,
    LinkUp,
)


def frames(data: bytes) -> list[bytes]:
    return [chunk + b"\x00" for chunk in data.split(b"\x00")[:-1]]


class Bench:
    """One device and one host joined by a line that may lose whole frames."""

    def __init__(self, *, seed: int = 1, loss_to_device: float = 0.0,
                 loss_to_host: float = 0.0, resume: EventCursor | None = None) -> None:
        self.rng = random.Random(seed)
        self.loss = (loss_to_device, loss_to_host)
        self.now_ms = 0
        self.boot_count = 1
        self.device = DeviceCore(b"\x11" * 8, self.boot_count, 0)
        self.device.take_output()
        self.stored: list[DeviceEvent] = []  # the owner's durable store
        self.notices: list[object] = []
        self.auto_ack = True
        self.host = self.new_host(resume)

    def new_host(self, resume: EventCursor | None) -> HostLink:
        self.host = HostLink(resume=resume, first_seq=self.rng.randrange(256))
        self.host.connection_made(self.now_ms / 1000)
        return self.host

    def reboot_device(self) -> None:
        self.boot_count += 1
        self.device = DeviceCore(b"\x11" * 8, self.boot_count, self.now_ms)

    def walk(self, direction: str) -> None:
        order = [("A", True), ("B", True), ("A", False), ("B", False)]
        if direction == "out":
            order = [("B", True), ("A", True), ("B", False), ("A", False)]
        for beam, blocked in order:
            self.device.beam_edge(beam, blocked, self.now_ms)
            self.run(100)

    def run(self, ms: int, step: int = 5) -> None:
        for _ in range(ms // step):
            self.now_ms += step
            now_s = self.now_ms / 1000
            self.host.tick(now_s)
            self.device.tick(self.now_ms)
            for frame in frames(self.host.data_to_send()):
                if self.rng.random() >= self.loss[0]:
                    self.device.receive_bytes(frame, self.now_ms)
            for frame in frames(self.device.take_output()):
                if self.rng.random() >= self.loss[1]:
                    self.host.receive_data(frame, now_s)
            for notice in self.host.pop_notices():
                self.notices.append(notice)
                if isinstance(notice, DeviceEvent):
                    self.stored.append(notice)
                    if self.auto_ack:
                        self.host.acknowledge(notice.cursor, now_s)

    def stored_kinds(self, kind: EventKind) -> int:
        return sum(1 for e in self.stored if e.kind == kind)

    def assert_exactly_once_in_order(self) -> None:
        cursors = [e.cursor for e in self.stored]
        assert len(cursors) == len(set(cursors)), "an event was delivered twice"
        assert cursors == sorted(cursors), "events out of order"


def test_link_comes_up_and_delivers_events_once() -> None:
    bench = Bench()
    bench.run(50)
    assert bench.host.state is LinkState.UP
    assert isinstance(bench.notices[0], LinkUp)
    for _ in range(3):
        bench.walk("in")
    bench.walk("out")
    bench.run(2000)
    assert bench.stored_kinds(EventKind.PASS_IN) == 3
    assert bench.stored_kinds(EventKind.PASS_OUT) == 1
    bench.assert_exactly_once_in_order()
    assert bench.device.unacked_events() == []


def test_lossy_line_loses_no_passage_and_counts_none_twice() -> None:
    bench = Bench(seed=7, loss_to_device=0.3, loss_to_host=0.3)
    bench.run(500)
    for i in range(40):
        bench.walk("in" if i % 3 else "out")
    bench.run(8000)
    assert bench.stored_kinds(EventKind.PASS_IN) == bench.device.total_in
    assert bench.stored_kinds(EventKind.PASS_OUT) == bench.device.total_out
    assert bench.device.total_in + bench.device.total_out == 40
    bench.assert_exactly_once_in_order()
    assert bench.host.counters["duplicate_events"] > 0  # the loss really bit
    assert bench.device.unacked_events() == []


def test_lost_acks_make_retries_that_run_once() -> None:
    bench = Bench(seed=3, loss_to_device=0.2, loss_to_host=0.4)
    bench.run(500)
    seqs = [bench.host.admit(1, 60000, bench.now_ms / 1000) for _ in range(10)]
    bench.run(3000)
    results = {n.seq: n.result for n in bench.notices if isinstance(n, CommandResult)}
    assert set(results) == set(seqs)
    ok = sum(1 for r in results.values() if r is AckResult.OK)
    assert ok >= 8
    # each ADMIT was carried out at most once however many times it was sent
    assert ok <= bench.device.admits_pending <= 10
    assert bench.device.counters["duplicate_commands"] > 0


def test_command_without_answer_reports_none_after_three_retries() -> None:
    bench = Bench(loss_to_device=1.0)
    bench.host = HostLink(first_seq=0)
    bench.host.connection_made(0)
    bench.host.receive_data(bench_hello(), 0.01)  # UP, then the line to the device dies
    seq = bench.host.admit(2, 1000, 0.02)
    sent = []
    for t in range(1, 200):
        bench.host.tick(0.02 + t * 0.005)
        sent += [f for f in frames(bench.host.data_to_send()) if f[1:2] == b"\x03"]
        if any(isinstance(n, CommandResult) for n in bench.host.pop_notices()):
            break
    assert len(sent) == 4  # the first send and three retries, 200 ms apart
    assert bench.host.counters["command_timeouts"] == 1
    del seq


def bench_hello() -> bytes:
    device = DeviceCore(b"\x22" * 8, 5, 0)
    return device.take_output()


def test_device_reboot_mid_stream() -> None:
    bench = Bench(seed=11, loss_to_host=0.1)
    bench.run(300)
    bench.walk("in")
    bench.walk("in")
    bench.run(1500)
    bench.reboot_device()  # unsolicited HELLO with boot_count 2, event ids from 1 again
    bench.walk("in")
    bench.walk("out")
    bench.run(3000)
    reboots = [n for n in bench.notices if isinstance(n, DeviceRebooted)]
    assert reboots == [DeviceRebooted(1, 2)]
    passes = [e.cursor for e in bench.stored if e.kind in (EventKind.PASS_IN, EventKind.PASS_OUT)]
    # each IN in NORMAL mode without an ADMIT also raises TAILGATE, hence ids 1, 3
    assert passes == [EventCursor(1, 1), EventCursor(1, 3), EventCursor(2, 1), EventCursor(2, 3)]
    bench.assert_exactly_once_in_order()


def test_host_restart_resumes_from_its_store() -> None:
    bench = Bench(seed=5)
    bench.run(300)
    bench.auto_ack = False
    for _ in range(5):
        bench.walk("in")
    bench.run(500)
    assert len(bench.stored) == 10  # PASS_IN and TAILGATE for each
    # the owner made only the first six durable before the host process died
    durable = bench.stored[5].cursor
    bench.host.acknowledge(durable, bench.now_ms / 1000)
    bench.run(100)
    assert len(bench.device.unacked_events()) == 4
    bench.stored = bench.stored[:6]
    bench.auto_ack = True
    bench.new_host(resume=durable)
    bench.run(1500)
    assert [e.cursor.event_id for e in bench.stored] == list(range(1, 11))
    assert bench.stored_kinds(EventKind.PASS_IN) == bench.device.total_in == 5
    bench.assert_exactly_once_in_order()


def test_ring_overflow_while_unplugged_is_reported_as_a_gap() -> None:
    bench = Bench()
    bench.run(300)
    bench.host.connection_lost("unplugged")
    assert isinstance(bench.host.pop_notices()[-1], LinkDown)
    for i in range(300):  # more than the device's ring of 256 holds
        t = bench.now_ms + i * 500
        for k, (beam, blocked) in enumerate([("A", True), ("B", True), ("A", False),
                                             ("B", False)]):
            bench.device.beam_edge(beam, blocked, t + k * 100)
        bench.device.receive_bytes(b"", t + 450)
    bench.now_ms += 300 * 500
    bench.device.tick(bench.now_ms)
    bench.device.take_output()
    overflowed = bench.device.counters["ring_overflow"]
    bench.host.connection_made(bench.now_ms / 1000)
    bench.run(3000)
    gaps = [n for n in bench.notices if isinstance(n, EventGap)]
    assert len(gaps) == 1
    last_id = bench.device.last_event_id
    got = {e.cursor.event_id for e in bench.stored}
    lost = set(range(gaps[0].first_event_id, gaps[0].last_event_id + 1))
    assert got | lost == set(range(1, last_id + 1))
    assert not got & lost
    assert len(lost) == overflowed > 0


def test_out_of_order_events_wait_for_the_missing_one() -> None:
    host = HostLink(first_seq=0)
    device = DeviceCore(b"\x01" * 8, 9, 0)
    host.connection_made(0)
    host.receive_data(device.take_output(), 0.001)
    device.door_edge(True, 10)
    device.door_edge(False, 20)
    first, second = frames(device.take_output())
    host.receive_data(second, 0.03)
    assert not [n for n in host.pop_notices() if isinstance(n, DeviceEvent)]
    host.receive_data(first, 0.04)
    ids = [n.cursor.event_id for n in host.pop_notices() if isinstance(n, DeviceEvent)]
    assert ids == [1, 2]


def test_board_with_a_lower_boot_count_starts_positions_again() -> None:
    bench = Bench(resume=EventCursor(40, 12))
    bench.run(300)
    bench.walk("in")
    bench.run(1000)
    assert DeviceRebooted(40, 1) in bench.notices
    assert bench.host.counters["boot_count_went_back"] == 1
    assert [e.cursor for e in bench.stored if e.kind == EventKind.PASS_IN] == [EventCursor(1, 1)]


def test_silent_device_takes_the_link_down() -> None:
    host = HostLink(first_seq=0)
    host.connection_made(0)
    host.receive_data(bench_hello(), 0.01)
    host.tick(3.5)
    assert host.state is LinkState.DOWN
    assert host.reconnect_reason is not None
    assert any(isinstance(n, LinkDown) for n in host.pop_notices())


def test_commands_while_down_fail_at_once() -> None:
    host = HostLink(first_seq=0)
    seq = host.set_mode(Mode.FREE, 0)
    assert host.pop_notices() == [CommandResult(seq, "SET_MODE", None)]
    assert host.data_to_send() == b""


def test_forbidden_transition_names_event_and_state() -> None:
    with pytest.raises(LinkStateError, match=r"device HELLO.*down"):
        next_state(LinkState.DOWN, LinkInput.DEVICE_HELLO)
