"""End to end: the controller, the real DoorLink and the firmware under micropython on a pty."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from door_controller import events as ev
from door_controller.effects import Effect, StaffNotice
from door_controller.service import DoorService, state_of
from firmware_bridge.simulator import SimulatedBoard, find_micropython
from kiosk.store import Store

pytestmark = [pytest.mark.micropython, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], Any], what: str, timeout_s: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def walk(board: SimulatedBoard, direction: str) -> None:
    """One person through the door; the next starts once the beams are clear."""
    board.command({"walk": direction, "step_ms": 150})
    board.wait_idle()


@pytest.fixture
def board(tmp_path: Path) -> Iterator[SimulatedBoard]:
    if find_micropython() is None:
        pytest.skip("micropython is not installed")
    with SimulatedBoard(tmp_path / "board") as sim:
        yield sim


@pytest.fixture
def told() -> list[Effect]:
    return []


@pytest.fixture
def service(board: SimulatedBoard, tmp_path: Path, told: list[Effect]) -> Iterator[DoorService]:
    door = DoorService(tmp_path / "kiosk.db", board.port, limit=2, listener=told.extend)
    door.start()
    wait_until(lambda: door.call(lambda c: c.machine.link_up), "the door link")
    yield door
    door.stop()


def state(door: DoorService) -> dict[str, Any]:
    return door.call(state_of)


def test_the_next_waiting_customer_is_admitted_when_one_leaves(
        service: DoorService, board: SimulatedBoard) -> None:
    for ticket in ("A001", "A002", "A003"):
        service.call(lambda c, t=ticket: c.apply(ev.CheckedIn(t, 1)))
    wait_until(lambda: board.state()["admits_pending"] == 2, "two admissions at the door")
    walk(board, "in")
    walk(board, "in")
    wait_until(lambda: state(service)["count"] == 2, "two people inside")
    assert state(service)["waiting"] == ["A003"] and board.state()["admits_pending"] == 0
    walk(board, "out")
    wait_until(lambda: board.state()["admits_pending"] == 1, "A003 admitted at the door")
    assert state(service)["admissions"] == [["A003", 1]]
    walk(board, "in")
    final = wait_until(lambda: (s := state(service))["count"] == 2 and s, "A003 inside")
    assert final["admissions"] == [] and final["waiting"] == []
    device = board.state()
    assert device["total_in"] - device["total_out"] == final["count"]
    assert device["unacked"] == 0, "every event stored was acknowledged"


def test_emergency_reaches_the_door_at_once(service: DoorService, board: SimulatedBoard) -> None:
    started = time.monotonic()
    service.call(lambda c: c.staff_action(ev.Emergency("staff:ewa")))
    wait_until(lambda: board.state()["mode"] == 3, "EMERGENCY at the door", timeout_s=2.0)
    assert time.monotonic() - started < 1.0
    assert state(service)["state"] == "emergency"


def test_a_lost_link_is_a_fault_and_nothing_counted_meanwhile_is_lost(
        service: DoorService, board: SimulatedBoard, told: list[Effect]) -> None:
    board.unplug()
    wait_until(lambda: state(service)["state"] == "fault", "fault after the link is lost")
    walk(board, "in")
    walk(board, "in")
    walk(board, "out")
    board.wait_idle()
    board.replug()
    final = wait_until(lambda: (s := state(service))["state"] == "open" and s["count"] == 1
                       and s["device"] and s, "the passages made while the link was down")
    assert final["device"]["total_in"] == 2 and final["device"]["total_out"] == 1
    assert any(isinstance(e, StaffNotice) and e.code == "door_link_up" for e in told)


def test_a_device_reboot_is_told_to_staff_and_its_admission_is_sent_again(
        service: DoorService, board: SimulatedBoard, told: list[Effect]) -> None:
    service.call(lambda c: c.apply(ev.CheckedIn("A001", 1)))
    wait_until(lambda: board.state()["admits_pending"] == 1, "A001 admitted at the door")
    board.reboot()
    wait_until(lambda: any(isinstance(e, StaffNotice) and e.code == "device_rebooted"
                           for e in told), "the reboot told to staff")
    wait_until(lambda: board.state()["admits_pending"] == 1, "A001 admitted again")
    walk(board, "in")
    wait_until(lambda: state(service)["count"] == 1, "A001 inside")


class KioskProcess:
    """``python -m door_controller.service`` as a separate process that can be killed."""

    def __init__(self, store: Path, port: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "door_controller.service", "--store", str(store),
             "--port", port, "--limit", "2"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=env, cwd=ROOT,
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply: dict[str, Any] = json.loads(self.process.stdout.readline())
        return reply

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def test_killing_the_process_midway_loses_nothing(board: SimulatedBoard, tmp_path: Path) -> None:
    store_path = tmp_path / "kiosk.db"
    kiosk = KioskProcess(store_path, board.port)
    try:
        wait_until(lambda: kiosk.ask({"state": True})["state"] == "open", "the first process")
        for ticket in ("A001", "A002", "A003"):
            assert kiosk.ask({"checkin": ticket})["ok"]
        wait_until(lambda: board.state()["admits_pending"] == 2, "two admissions")
        walk(board, "in")
        walk(board, "in")
        wait_until(lambda: kiosk.ask({"state": True})["count"] == 2, "two inside")
    finally:
        kiosk.kill()
    walk(board, "out")  # while no kiosk process runs: the door keeps the event
    board.wait_idle()
    assert board.state()["unacked"] >= 1

    kiosk = KioskProcess(store_path, board.port)
    try:
        wait_until(lambda: board.state()["admits_pending"] == 1,
                   "A003 admitted by the restarted process")
        walk(board, "in")
        final = wait_until(lambda: (s := kiosk.ask({"state": True}))["count"] == 2
                           and not s["admissions"] and s, "A003 inside")
    finally:
        kiosk.kill()
    assert final["waiting"] == []
    device = board.state()
    assert (device["total_in"], device["total_out"]) == (3, 1)
    store = Store(store_path)
    passages = [e.payload for e in store.pending_events(100) if e.type == "passage"]
    admitted = [e.payload["ticket"] for e in store.pending_events(100) if e.type == "admitted"]
    store.close()
    assert [(p["direction"], p["count_after"]) for p in passages] == [
        ("in", 1), ("in", 2), ("out", 1), ("in", 2)]
    assert admitted == ["A003"]
