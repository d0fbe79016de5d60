"""The central command as an operator uses it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import tomli_w

from central.cli import main
from central.service import CentralService
from central.store import open_store
from tests.brokerkit import MosquittoBroker, MqttListener, wait_until
from tests.central.central_helpers import BRANCH, BRANCH_CONFIG, TOPICS, booking_json, monday


def test_set_config_validates_and_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "central.sqlite3")
    settings = {k: v for k, v in BRANCH_CONFIG.items() if k != "version"}
    path = tmp_path / "krakow.json"
    path.write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
    assert main(["branches", "set-config", BRANCH, str(path), "--db", db]) == 0
    toml = tmp_path / "krakow.toml"
    toml.write_text(tomli_w.dumps({**settings, "limit": 9}), encoding="utf-8")
    assert main(["branches", "set-config", BRANCH, str(toml), "--db", db]) == 0
    assert "config version 2 stored" in capsys.readouterr().out
    store = open_store(db)
    config = store.branch_config(BRANCH)
    store.close()
    assert config is not None and config.version == 2 and config.config["limit"] == 9
    assert config.config["name"] == "POK Kraków, ul. Łagiewnicka 60"

    path.write_text(json.dumps({**settings, "limit": 0, "timezone": "Mars/Olympus"}), "utf-8")
    assert main(["branches", "set-config", BRANCH, str(path), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "krakow.json.limit = 0: expected a whole number from 1 to 1000" in err
    assert "krakow.json.timezone = 'Mars/Olympus'" in err
    path.write_text("{", encoding="utf-8")
    assert main(["branches", "set-config", BRANCH, str(path), "--db", db]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_send_command_and_wait_for_the_result(
    central: CentralService, kiosk: MqttListener, mosquitto: MosquittoBroker, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = str(tmp_path / "central.sqlite3")  # the file the central fixture serves from

    def answer() -> None:
        command = kiosk.wait_for(TOPICS.commands(BRANCH), timeout=10)
        kiosk.publish(TOPICS.branch(BRANCH, "command-results"),
                      {"command_id": command["command_id"], "ok": True, "error": None,
                       "at": monday(10).isoformat()})

    answering = threading.Thread(target=answer)
    answering.start()
    code = main(["commands", "send", BRANCH, "pause", "--by", "ops:ewa", "--wait", "10",
                 "--db", db, "--broker", f"127.0.0.1:{mosquitto.port}"])
    answering.join(10)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "result: ok" in out
    assert main(["commands", "send", BRANCH, "set_limit", "--args", '{"limit": "osiem"}',
                 "--db", db, "--broker", f"127.0.0.1:{mosquitto.port}"]) == 2
    assert 'set_limit needs {"limit"' in capsys.readouterr().err
    assert main(["commands", "send", BRANCH, "dance", "--db", db]) == 2
    assert "action 'dance' is not one of" in capsys.readouterr().err
    assert main(["status", "--db", db]) == 0
    assert "pause to krakow-1: ok" in capsys.readouterr().out


@pytest.mark.broker
@pytest.mark.slow
def test_serve_publishes_imported_bookings_and_stops_cleanly(
    tmp_path: Path, mosquitto: MosquittoBroker, kiosk: MqttListener
) -> None:
    db = str(tmp_path / "central.sqlite3")
    bookings = tmp_path / "day.json"
    bookings.write_text(json.dumps([booking_json(f"b-{i}", f"7KQ2M9X{i}", monday(10, i))
                                    for i in range(5)]), encoding="utf-8")
    assert main(["bookings", "import", str(bookings), "--branch", BRANCH, "--db", db]) == 0
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "central.cli", "serve", "--db", db, "--broker",
             f"127.0.0.1:{mosquitto.port}", "--client-id", "central-cli-test"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        feed = kiosk.wait_for(TOPICS.bookings(BRANCH), timeout=15)
        assert [b["booking_id"] for b in feed["bookings"]] == [f"b-{i}" for i in range(5)]
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(15) == 0
    text = log.read_text()
    assert "central serving as central-cli-test" in text
    wait_until(lambda: '"bookings_published": 5' in log.read_text(), 5, "counts at exit")
