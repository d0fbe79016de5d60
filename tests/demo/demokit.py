"""``kiosk demo --headless`` as a process for the tests: its JSON lines read on a thread, its
console typed to, and everything it started checked gone afterwards."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60
ANSWER_TIMEOUT_S = 20
STOP_TIMEOUT_S = 20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def demo_process(tmp_path: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """The demo in ``tmp_path`` with the broker the arguments say (default: auto)."""
    env = dict(os.environ, KIOSK_DEMO_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("KIOSK_DEMO_BROKER", None)
    return subprocess.Popen([sys.executable, "-m", "kiosk.cli", "demo", "--headless", *args],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, **popen)


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


class Demo:
    def __init__(self, tmp_path: Path, *args: str, stderr: Any = subprocess.PIPE) -> None:
        self.proc = demo_process(tmp_path, *args, stderr=stderr)
        self._out: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=_lines, args=(self.proc.stdout, self._out), daemon=True).start()

    def next_json(self, timeout: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._out.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith("{"):
                return dict(json.loads(line))
        raise AssertionError(f"no JSON line within {timeout} s; output so far:\n"
                             f"{''.join(self.seen)}")

    def ready(self) -> dict[str, Any]:
        ready = self.next_json(START_TIMEOUT_S)
        assert ready["demo"] == "ready", ready
        return ready

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n")
        self.proc.stdin.flush()

    def check_in(self, code: str) -> dict[str, Any]:
        self.type(code)
        return self.next_json()

    def status_until(self, wanted: dict[str, object]) -> dict[str, Any]:
        """Ask for the branch's status until it shows ``wanted`` (bounded in time and tries)."""
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        status: dict[str, Any] = {}
        for _ in range(200):
            self.type("status")
            status = self.next_json()
            if all(status.get(k) == v for k, v in wanted.items()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert all(status.get(k) == v for k, v in wanted.items()), (wanted, status)
        return status

    def quit(self) -> None:
        """Type quit at the demo's console; it must stop cleanly in time."""
        self.type("quit")
        assert self.proc.wait(STOP_TIMEOUT_S) == 0

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.stderr else ""


def slip_for(slips: Path, ticket: str) -> Path:
    """The preview PNG of ``ticket``'s slip, once the printer worker has written it."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while time.monotonic() < deadline and not list(slips.glob(f"*-{ticket}.png")):
        time.sleep(0.1)
    slip = list(slips.glob(f"*-{ticket}.png"))
    assert slip, f"no slip for {ticket} in {slips}"
    assert slip[0].read_bytes()[:8] == PNG_MAGIC
    return slip[0]


def reap(proc: subprocess.Popen[str]) -> None:
    """After a failed test: never leave the demo running."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def assert_nothing_left(tmp_path: Path) -> None:
    """Everything the demo started has stopped with it: no broker, central or simulator."""
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout
