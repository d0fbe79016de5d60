"""`kiosk doctor` against real things: the simulated door board (the firmware
under MicroPython behind a pty), a silent pty, a network printer on 127.0.0.1
that answers ESC/POS status queries, python-escpos's Dummy, and the shipped
branch and central brokers, up and then down."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import DEPLOY, Branch, Central, render, wait_until

from kiosk.config import KioskConfig, parse_config
from kiosk.doctor import CheckResult, check_broker, check_door, check_printer, doctor_main

TIMEOUT_S = 2.0
READY = 0x12  # a DLE EOT reply with only its fixed bits set: all well


def make_config(tmp_path: Path, **tables: dict[str, Any]) -> KioskConfig:
    """The shipped example config, with its paths in tmp_path and tables overridden."""
    raw = tomllib.loads((DEPLOY / "kiosk.example.toml").read_text())
    (tmp_path / "mqtt-password").write_text("any\n")
    raw["paths"] = {"data_dir": str(tmp_path / "data"), "spool_dir": str(tmp_path / "spool")}
    raw["mqtt"]["password_file"] = str(tmp_path / "mqtt-password")
    for name, values in tables.items():
        raw[name] = {**raw.get(name, {}), **values}
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "spool").mkdir(exist_ok=True)
    return parse_config(raw, source=str(tmp_path / "kiosk.toml"), base_dir=tmp_path)


def levels(results: list[CheckResult]) -> list[tuple[str, str]]:
    return [(r.check, r.level) for r in results]


# --- config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("kiosk", "level"), [("krakow-lagiewnicka-k1", "ok"),
                                              ("krakow-lagiewnicka-k2", "problem")])
def test_bridge_must_forward_this_kiosks_events(tmp_path: Path, kiosk: str, level: str) -> None:
    from kiosk.doctor import check_bridge_config

    bridge = render(DEPLOY / "mosquitto" / "branch" / "central-bridge.conf",
                    tmp_path / "central-bridge.conf", {
                        "BRANCH": "krakow-lagiewnicka", "KIOSK": kiosk, "TOPIC_ROOT": "checkin/v1",
                        "CENTRAL_HOST": "mqtt.example.com", "CENTRAL_PORT": "8883",
                        "BRIDGE_USERNAME": f"krakow-lagiewnicka.{kiosk}",
                        "BRIDGE_PASSWORD": "x", "CENTRAL_CA_FILE": "/etc/ca.crt"})
    config = make_config(tmp_path)  # kiosk.id = krakow-lagiewnicka-k1 in the example
    [result] = check_bridge_config(config, bridge)
    assert result.level == level, result
    if level == "problem":
        assert "events would never leave the branch" in result.message
        assert "site.env" in result.action


def test_no_bridge_file_means_no_bridge_check(tmp_path: Path) -> None:
    from kiosk.doctor import check_bridge_config

    assert check_bridge_config(make_config(tmp_path), tmp_path / "absent.conf") == []


# --- door ------------------------------------------------------------------------------------

needs_simulator = pytest.mark.skipif(
    shutil.which("socat") is None or not (Path(sys.executable).parent / "micropython").exists(),
    reason="the door simulator needs socat and .venv/bin/micropython",
)


@pytest.fixture
def simulated_board() -> Iterator[Any]:
    from firmware_bridge.simulator import SimulatedBoard

    # SimulatedBoard.start() connects as soon as the control socket's file exists, which
    # can be before the simulator listens on it (ConnectionRefusedError): a few tries.
    for attempt in range(3):
        board = SimulatedBoard()
        try:
            board.start()
            break
        except ConnectionRefusedError:
            board.close()
            if attempt == 2:
                raise
    try:
        yield board
    finally:
        board.close()


@pytest.mark.micropython
@needs_simulator
def test_door_board_answers_hello(tmp_path: Path, simulated_board: Any) -> None:
    config = make_config(tmp_path, door={"port": simulated_board.port})
    [result] = check_door(config.door, TIMEOUT_S)
    assert result.level == "ok", result
    assert result.message.startswith(f"board on {simulated_board.port} answered HELLO: firmware")


@pytest.mark.micropython
@needs_simulator
def test_door_board_held_by_the_kiosk_is_a_warning(tmp_path: Path, simulated_board: Any) -> None:
    from firmware_bridge.port import open_port

    config = make_config(tmp_path, door={"port": simulated_board.port})
    kiosk_holds_it = open_port(simulated_board.port, timeout=0.05)
    try:
        [result] = check_door(config.door, TIMEOUT_S)
    finally:
        kiosk_holds_it.close()
    assert result.level == "warning", result
    assert "in use by another program" in result.message
    assert "systemctl stop branch-checkin-kiosk" in result.action


def test_a_port_where_nothing_answers_is_a_problem(tmp_path: Path) -> None:
    controller, device = os.openpty()
    try:
        config = make_config(tmp_path, door={"port": os.ttyname(device)})
        [result] = check_door(config.door, 1.0)
    finally:
        os.close(controller)
        os.close(device)
    assert result.level == "problem"
    assert "no HELLO came back within 1 s" in result.message
    assert "firmware" in result.action


def test_a_missing_door_device_says_where_to_look(tmp_path: Path) -> None:
    config = make_config(tmp_path, door={"port": str(tmp_path / "door0")})
    [result] = check_door(config.door, TIMEOUT_S)
    assert result.level == "problem"
    assert result.message == f"{tmp_path / 'door0'} does not exist"
    assert "USB cable" in result.action or "a board is plugged in" in result.action


def test_no_board_with_the_usb_id_is_a_problem(tmp_path: Path) -> None:
    config = make_config(tmp_path, door={"port": "", "usb": "2e8a:0005",
                                         "usb_serial": "0000000000000000"})
    [result] = check_door(config.door, TIMEOUT_S)
    assert result.level == "problem"
    assert "no door board with the configured USB id" in result.message


# --- printer ---------------------------------------------------------------------------------


class StatusPrinter:
    """A network printer on 127.0.0.1 answering DLE EOT 1, 2, 4 (or staying silent)."""

    def __init__(self, paper: int = READY, answers: bool = True) -> None:
        self.paper, self.answers = paper, answers
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.listener.accept()
            with conn:
                buffer = b""
                while chunk := conn.recv(64):
                    buffer += chunk
                    while (at := buffer.find(b"\x10\x04")) >= 0 and len(buffer) > at + 2:
                        query, buffer = buffer[at + 2], buffer[at + 3:]
                        if self.answers:
                            conn.sendall(bytes([self.paper if query == 4 else READY]))

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


@pytest.mark.parametrize(("paper", "answers", "level", "words"), [
    (READY, True, "ok", "paper is fine"),
    (READY | 0x0C, True, "warning", "nearly empty"),
    (READY | 0x60, True, "problem", "paper roll is empty"),
    (READY, False, "warning", "paper status unknown"),
])
def test_printer_paper_status(tmp_path: Path, paper: int, answers: bool, level: str,
                              words: str) -> None:
    printer = StatusPrinter(paper, answers)
    try:
        config = make_config(tmp_path, printer={
            "backend": "network", "host": "127.0.0.1", "port": printer.port, "timeout_s": 1.0})
        [result] = check_printer(config, TIMEOUT_S)
    finally:
        printer.close()
    assert (result.level, words in result.message) == (level, True), result


def test_printer_that_is_off_is_a_problem(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    config = make_config(tmp_path, printer={"backend": "network", "host": "127.0.0.1",
                                            "port": port, "timeout_s": 1.0})
    [result] = check_printer(config, TIMEOUT_S)
    assert result.level == "problem"
    assert "check power and cable" in result.action


def test_dummy_printer_prints_nowhere(tmp_path: Path) -> None:
    config = make_config(tmp_path, printer={"backend": "dummy"})
    [result] = check_printer(config, TIMEOUT_S)
    assert result.level == "warning"
    assert "no slips are printed" in result.message


# --- broker ----------------------------------------------------------------------------------


@pytest.mark.broker
def test_broker_up_with_bridge_then_bridge_down_then_broker_down(
    tmp_path: Path, central: Central, branch: Branch
) -> None:
    config = make_config(tmp_path, mqtt={"host": "127.0.0.1", "port": branch.local_port})
    wait_until(lambda: levels(check_broker(config.mqtt, config.kiosk_id, TIMEOUT_S))
               == [("broker", "ok"), ("bridge", "ok")], 15, "broker and bridge up")

    central.broker.stop()
    wait_until(lambda: levels(check_broker(config.mqtt, config.kiosk_id, TIMEOUT_S))
               == [("broker", "ok"), ("bridge", "warning")], 15, "the bridge reported down")

    branch.broker.stop()
    [result] = check_broker(config.mqtt, config.kiosk_id, TIMEOUT_S)
    assert result.level == "problem"
    assert result.message.startswith(f"cannot reach the broker at 127.0.0.1:{branch.local_port}")
    assert "systemctl status mosquitto" in result.action


@pytest.mark.broker
def test_broker_that_refuses_the_login_is_a_problem(tmp_path: Path, central: Central) -> None:
    config = make_config(tmp_path, mqtt={"host": "127.0.0.1", "port": central.service_port,
                                         "username": "central"})  # the password file says "any"
    [result] = check_broker(config.mqtt, config.kiosk_id, TIMEOUT_S)
    assert result.level == "problem"
    assert "refused the login" in result.message


# --- the whole command -----------------------------------------------------------------------


def test_doctor_prints_every_check_and_fails_on_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printer = StatusPrinter()
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        closed_port = placeholder.getsockname()[1]
    try:
        config = make_config(
            tmp_path, door={"enabled": False},
            printer={"backend": "network", "host": "127.0.0.1", "port": printer.port},
            mqtt={"host": "127.0.0.1", "port": closed_port})
        code = doctor_main(config, ["--timeout", "1",
                                    "--bridge-conf", str(tmp_path / "no-bridge.conf")])
    finally:
        printer.close()
    out = capsys.readouterr().out
    assert code == 1
    assert "ok       config" in out and "ok       storage" in out
    assert "WARNING  door     the door board is disabled" in out
    assert "ok       printer  printer ready; paper is fine" in out
    assert "PROBLEM  broker   cannot reach the broker" in out
    assert out.rstrip().endswith("1 problem(s), 1 warning(s)")


def test_doctor_passes_when_only_warnings_remain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, door={"enabled": False}, printer={"backend": "dummy"},
                         mqtt={"enabled": False})
    assert doctor_main(config, ["--bridge-conf", str(tmp_path / "no-bridge.conf")]) == 0
    assert capsys.readouterr().out.rstrip().endswith("0 problem(s), 3 warning(s)")


def test_doctor_finds_the_database_on_a_ram_disk(tmp_path: Path) -> None:
    from kiosk.doctor import check_config, filesystem_type

    if filesystem_type(Path("/dev/shm")) != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm to put the data directory on")
    ram = Path("/dev/shm") / f"doctor-test-{os.getpid()}"
    ram.mkdir()
    try:
        config = make_config(tmp_path)
        config = parse_config({**tomllib.loads((DEPLOY / "kiosk.example.toml").read_text()),
                               "paths": {"data_dir": str(ram), "spool_dir": str(tmp_path)},
                               "mqtt": {"password_file": str(tmp_path / "mqtt-password")}},
                              base_dir=tmp_path)
        results = check_config(config)
    finally:
        ram.rmdir()
    [storage] = [r for r in results if r.check == "storage"]
    assert storage.level == "problem"
    assert "on tmpfs: the database would be lost at reboot" in storage.message


def test_doctor_rejects_bad_options(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert doctor_main(config, ["--timeout", "0"]) == 2
    assert doctor_main(config, ["--skip", "kettle"]) == 2


def test_kiosk_doctor_on_the_command_line(tmp_path: Path) -> None:
    """The installed `kiosk doctor` command reaches doctor_main with the loaded config."""
    example = (DEPLOY / "kiosk.example.toml").read_text()
    (tmp_path / "mqtt-password").write_text("any\n")
    for old, new in (('"/var/lib/branch-checkin"', f'"{tmp_path}"'),
                     ('"/var/spool/branch-checkin"', f'"{tmp_path}"'),
                     ('"/etc/branch-checkin/mqtt-password"', f'"{tmp_path}/mqtt-password"'),
                     ("enabled = true", "enabled = false")):
        assert old in example
        example = example.replace(old, new)
    (tmp_path / "kiosk.toml").write_text(example)
    kiosk = Path(sys.executable).parent / "kiosk"
    # Options after "--": the kiosk command passes everything after it to the doctor.
    result = subprocess.run([str(kiosk), "doctor", "--config", str(tmp_path / "kiosk.toml"),
                             "--", "--skip", "printer",
                             "--bridge-conf", str(tmp_path / "no-bridge.conf")],
                            capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING  door" in result.stdout and "WARNING  broker" in result.stdout
