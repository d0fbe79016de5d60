"""The host process is killed with SIGKILL and restarted: no passage lost or doubled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from door_helpers import HERE, wait_until

from firmware_bridge.messages import EventKind
from firmware_bridge.simulator import SimulatedBoard

pytestmark = [pytest.mark.micropython, pytest.mark.slow]


def start_host(port: str, db: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE.parents[1]))
    proc = subprocess.Popen([sys.executable, str(HERE / "door_host_proc.py"), port, str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "UP" once the HELLO exchange is done
    assert line.strip() == "UP", proc.stderr.read() if proc.stderr else ""
    return proc


def stored(db: Path) -> list[tuple[int, int, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT boot_count, event_id, kind FROM events").fetchall()


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def test_host_killed_and_restarted(board: SimulatedBoard, tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    host = start_host(board.port, db)
    try:
        for round_no in range(3):
            if round_no == 1:
                board.walk_in(step_ms=30)
                board.wait_idle()
            board.walk_in(step_ms=30)
            time.sleep(0.07 + 0.03 * round_no)  # kill while passages are being counted and sent
            kill(host)
            board.wait_idle()
            board.walk_out(step_ms=30)  # and one more while no host is running
            board.wait_idle()
            host = start_host(board.port, db)
        state = board.state()
        wait_until(lambda: sum(1 for r in stored(db) if r[2] == EventKind.PASS_OUT)
                   == state["total_out"] and
                   sum(1 for r in stored(db) if r[2] == EventKind.PASS_IN) == state["total_in"],
                   timeout=10, what="every passage in the store")
        rows = stored(db)
        cursors = [(b, e) for b, e, _ in rows]
        assert len(cursors) == len(set(cursors)), "an event was stored twice"
        assert (state["total_in"], state["total_out"]) == (4, 3)
        assert sorted(cursors) == cursors
        ids = [e for _, e in cursors]
        assert ids == list(range(1, len(ids) + 1)), "an event id is missing"
    finally:
        kill(host)
