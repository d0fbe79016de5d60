"""`kiosk demo --headless` on the embedded Python broker (amqtt, MQTT 3.1.1): central feeds the
bookings, a check-in prints its slip, central stores and acknowledges every event, ``quit``
stops the broker, central and the door simulator with it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.demo.demokit import (
    ROOT,
    STOP_TIMEOUT_S,
    Demo,
    assert_nothing_left,
    demo_process,
    reap,
    slip_for,
)


def _central_events(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "central" / "central.sqlite3") as db:
        return list(db.execute("SELECT type, payload FROM events ORDER BY seq"))


@pytest.mark.slow
def test_demo_on_the_embedded_broker_runs_the_whole_chain(tmp_path: Path) -> None:
    demo = Demo(tmp_path, "--broker", "embedded")
    try:
        ready = demo.ready()
        assert ready["broker_kind"] == "embedded" and ready["mqtt_protocol"] == "3.1.1", ready
        assert ready["central"] is True and ready["bookings"] == "central over MQTT", ready
        codes = ready["codes"]
        assert isinstance(codes, dict)
        answer = demo.check_in(codes["ready"][0])
        assert answer["type"] == "checkin", answer
        ticket = str(answer["ticket"])
        slip_for(Path(str(ready["slips"])), ticket)
        demo.status_until({"outbox": 0})  # central acknowledged every event
        demo.quit()
    finally:
        reap(demo.proc)
    assert "embedded Python broker amqtt, MQTT 3.1.1" in demo.stderr()
    checkins = [json.loads(payload) for kind, payload in _central_events(tmp_path)
                if kind == "checkin"]
    assert [c.get("ticket") for c in checkins] == [ticket], checkins
    assert_nothing_left(tmp_path)


def test_an_unknown_demo_broker_is_refused_with_the_choices(tmp_path: Path) -> None:
    proc = demo_process(tmp_path, "--broker", "rabbitmq", stderr=subprocess.PIPE)
    try:
        _, stderr = proc.communicate("quit\n", timeout=STOP_TIMEOUT_S)
    finally:
        reap(proc)
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
