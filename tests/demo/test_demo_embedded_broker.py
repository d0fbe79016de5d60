"""`kiosk demo --headless` on the embedded Python broker (amqtt, MQTT 3.1.1): central feeds the
bookings, a check-in prints its slip, central stores and acknowledges every event, ``quit``
stops the broker, central and the door simulator with it."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.demo.test_demo import (
    ANSWER_TIMEOUT_S,
    ROOT,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    _assert_nothing_left,
    _lines,
    _next_json,
    _quit,
    _reap,
    _status_until,
)


def _demo(tmp_path: Path, broker: str, **popen: object) -> subprocess.Popen[str]:
    env = dict(os.environ, KIOSK_DEMO_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("KIOSK_DEMO_BROKER", None)
    return subprocess.Popen([sys.executable, "-m", "kiosk.cli", "demo", "--headless",
                             "--broker", broker],
                            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, **popen)  # type: ignore[call-overload]


def _central_events(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "central" / "central.sqlite3") as db:
        return list(db.execute("SELECT type, payload FROM events ORDER BY seq"))


@pytest.mark.slow
def test_demo_on_the_embedded_broker_runs_the_whole_chain(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "embedded", stderr=subprocess.PIPE)
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    seen: list[str] = []
    try:
        ready = _next_json(out, START_TIMEOUT_S, seen)
        assert ready["demo"] == "ready", ready
        assert ready["broker_kind"] == "embedded" and ready["mqtt_protocol"] == "3.1.1", ready
        assert ready["central"] is True and ready["bookings"] == "central over MQTT", ready
        codes = ready["codes"]
        assert isinstance(codes, dict)
        assert proc.stdin is not None
        proc.stdin.write(f"{codes['ready'][0]}\n")
        proc.stdin.flush()
        answer = _next_json(out, ANSWER_TIMEOUT_S, seen)
        assert answer["type"] == "checkin", answer
        ticket = str(answer["ticket"])
        slips = Path(str(ready["slips"]))
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline and not list(slips.glob(f"*-{ticket}.png")):
            time.sleep(0.1)
        slip = list(slips.glob(f"*-{ticket}.png"))
        assert slip, f"no slip for {ticket} in {slips}"
        assert slip[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        _status_until(proc, out, seen, {"outbox": 0})  # central acknowledged every event
        _quit(proc)
    finally:
        _reap(proc)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "embedded Python broker amqtt, MQTT 3.1.1" in stderr
    checkins = [json.loads(payload) for kind, payload in _central_events(tmp_path)
                if kind == "checkin"]
    assert [c.get("ticket") for c in checkins] == [ticket], checkins
    _assert_nothing_left(tmp_path)


def test_an_unknown_demo_broker_is_refused_with_the_choices(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "rabbitmq", stderr=subprocess.PIPE)
    try:
        _, stderr = proc.communicate("quit\n", timeout=STOP_TIMEOUT_S)
    finally:
        _reap(proc)
    assert proc.returncode == 2
    assert "'rabbitmq'" in stderr and "'auto', 'mosquitto', 'embedded'" in stderr, stderr


def test_an_unknown_broker_in_the_environment_is_refused_too(tmp_path: Path) -> None:
    env = dict(os.environ, KIOSK_DEMO_DIR=str(tmp_path), KIOSK_DEMO_BROKER="rabbitmq",
               PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "kiosk.cli", "demo", "--headless"], cwd=ROOT,
                            env=env, input="quit\n", capture_output=True, text=True,
                            timeout=STOP_TIMEOUT_S)
    assert result.returncode == 2
    assert "'rabbitmq'" in result.stderr and "auto, mosquitto, embedded" in result.stderr
