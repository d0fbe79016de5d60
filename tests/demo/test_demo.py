"""`kiosk demo --headless`: the whole demo branch (mosquitto, central, the door simulator under
micropython, the preview printer) starts, takes codes, counts a passage, prints a slip, stops."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import pytest

from kiosk.codes import normalise_code
from kiosk.demo_data import EARLY_MIN, LATE_MIN, codes_to_try, demo_bookings

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60
ANSWER_TIMEOUT_S = 20
STOP_TIMEOUT_S = 20


def test_demo_bookings_cover_every_answer_of_the_rules() -> None:
    now = datetime(2026, 11, 23, 10, 7, 31, tzinfo=ZoneInfo("Europe/Warsaw"))
    bookings = demo_bookings(now)
    grouped = codes_to_try(bookings)
    assert set(grouped) == {"ready", "too_early", "too_late", "cancelled"}
    assert len(grouped["cancelled"]) == 1 and len(grouped["ready"]) >= 5
    for item in bookings:
        starts = datetime.fromisoformat(item.booking["starts_at"])
        minutes = (starts - now.replace(second=0)).total_seconds() / 60
        if item.kind == "ready":
            assert -LATE_MIN <= minutes <= EARLY_MIN
        elif item.kind == "too_early":
            assert minutes > EARLY_MIN
        elif item.kind == "too_late":
            assert minutes < -LATE_MIN
        assert normalise_code(item.code) == item.code
    assert len({b.code for b in bookings}) == len(bookings)
    assert demo_bookings(now) == bookings  # the same codes all day


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _next_json(lines: queue.Queue[str], timeout: float, log: list[str]) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        log.append(line)
        if line.startswith("{"):
            return dict(json.loads(line))
    raise AssertionError(f"no JSON line within {timeout} s; output so far:\n{''.join(log)}")


def _status_until(proc: subprocess.Popen[str], out: queue.Queue[str], log: list[str],
                  wanted: dict[str, object]) -> dict[str, object]:
    """Ask for the branch's status until it shows ``wanted`` (bounded in time and tries)."""
    assert proc.stdin is not None
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    status: dict[str, object] = {}
    for _ in range(200):
        proc.stdin.write("status\n")
        proc.stdin.flush()
        status = _next_json(out, ANSWER_TIMEOUT_S, log)
        if all(status.get(k) == v for k, v in wanted.items()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all(status.get(k) == v for k, v in wanted.items()), (wanted, status)
    return status


def _quit(proc: subprocess.Popen[str]) -> None:
    """Type quit at the demo's console; it must stop cleanly in time."""
    assert proc.stdin is not None
    proc.stdin.write("quit\n")
    proc.stdin.flush()
    assert proc.wait(STOP_TIMEOUT_S) == 0


def _reap(proc: subprocess.Popen[str]) -> None:
    """After a failed test: never leave the demo running."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def _assert_nothing_left(tmp_path: Path) -> None:
    """Everything the demo started has stopped with it: no broker, central or simulator."""
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout


@pytest.mark.slow
@pytest.mark.broker
@pytest.mark.micropython
def test_headless_demo_checks_in_prints_a_slip_and_stops(tmp_path: Path) -> None:
    env = dict(os.environ, KIOSK_DEMO_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "demo", "--headless"],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    seen: list[str] = []
    try:
        ready = _next_json(out, START_TIMEOUT_S, seen)
        assert ready["demo"] == "ready", ready
        assert ready["central"] is True and ready["bookings"] == "central over MQTT", ready
        assert ready["door"], ready  # the simulator's pseudo-terminal
        codes = ready["codes"]
        assert isinstance(codes, dict)
        assert proc.stdin is not None
        proc.stdin.write(f"{codes['ready'][0]}\n")
        proc.stdin.flush()
        answer = _next_json(out, ANSWER_TIMEOUT_S, seen)
        assert answer["type"] == "checkin", answer
        ticket = str(answer["ticket"])
        proc.stdin.write(f"{codes['cancelled'][0]}\n")
        proc.stdin.flush()
        refused = _next_json(out, ANSWER_TIMEOUT_S, seen)
        assert refused["type"] == "checkin_refused" and refused["reason"] == "cancelled"
        slips = Path(str(ready["slips"]))
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline and not list(slips.glob(f"*-{ticket}.png")):
            time.sleep(0.1)
        slip = list(slips.glob(f"*-{ticket}.png"))
        assert slip, f"no slip for {ticket} in {slips}"
        assert slip[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        _status_until(proc, out, seen, {"door": "ok", "count": 0})
        proc.stdin.write("in\n")  # the admitted customer walks in through the simulated door
        proc.stdin.flush()
        _status_until(proc, out, seen, {"count": 1})
        proc.stdin.write("out\n")
        proc.stdin.flush()
        _status_until(proc, out, seen, {"count": 0, "outbox": 0})  # and central has it all
        _quit(proc)
    finally:
        _reap(proc)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "Codes to try now:" in stderr
    _assert_nothing_left(tmp_path)


@pytest.mark.slow
@pytest.mark.broker
@pytest.mark.micropython
def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path: Path) -> None:
    env = dict(os.environ, KIOSK_DEMO_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "demo", "--headless"],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    try:
        assert _next_json(out, START_TIMEOUT_S, [])["demo"] == "ready"
        proc.terminate()
        assert proc.wait(STOP_TIMEOUT_S) == 0
    finally:
        _reap(proc)
    _assert_nothing_left(tmp_path)
