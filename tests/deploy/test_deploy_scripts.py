"""The deploy kit's shell scripts: shellcheck on every one, and the renderer,
udev rules and health checks run as shipped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from deploy_testkit import DEPLOY, RENDER, free_port

SCRIPTS = sorted(p for p in DEPLOY.rglob("*") if p.is_file() and
                 (p.suffix == ".sh" or p.read_bytes().startswith(b"#!/bin/sh")))


def test_the_kit_has_the_scripts_we_expect() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"install.sh", "render-template.sh", "add-kiosk.sh", "remove-kiosk.sh",
            "check-bridge.sh", "check-door.sh", "check-kiosk.sh", "check-all.sh",
            "enable-readonly-root.sh"} <= names


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck missing: apt-get install shellcheck")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_shellcheck_finds_nothing(script: Path) -> None:
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    result = subprocess.run(["shellcheck", "--shell=sh", "--severity=style", str(script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def render_text(template: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    path = tmp_path / "template"
    path.write_text(template)
    return subprocess.run([str(RENDER), str(path)], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=10)


def test_render_fills_every_placeholder_and_keeps_values_literal(tmp_path: Path) -> None:
    result = render_text("remote_password @PW@\n@A@/@A@ x@B_2@y\nno@place holder@\n", tmp_path,
                         {"PW": r"p&ss\1 $HOME", "A": "a", "B_2": "Łódź"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "remote_password p&ss\\1 $HOME\na/a xŁódźy\nno@place holder@\n"


def test_render_names_every_unset_placeholder(tmp_path: Path) -> None:
    result = render_text("a @SET@\nb @MISSING_ONE@\nc @MISSING_TWO@\n", tmp_path, {"SET": "1"})
    assert result.returncode == 1
    assert "template:2: @MISSING_ONE@ is not set" in result.stderr
    assert "template:3: @MISSING_TWO@ is not set" in result.stderr


def test_render_refuses_a_value_with_a_line_break(tmp_path: Path) -> None:
    # A newline in a value would smuggle a second directive into mosquitto.conf.
    result = render_text("remote_password @PW@\n", tmp_path, {"PW": "x\nallow_anonymous true"})
    assert result.returncode == 1
    assert "holds a line break" in result.stderr


UDEV_ITEM = re.compile(r'^[A-Z_]+(\{[^}]+\})?(==|!=|\+=|-=|:=|=)"[^"]*"$')


@pytest.mark.parametrize("rules", sorted((DEPLOY / "udev").glob("*.rules")), ids=lambda p: p.name)
def test_udev_rules_render_to_well_formed_lines(rules: Path, tmp_path: Path) -> None:
    values = {"DOOR_SERIAL": "E66138935F2A5E2C", "PRINTER_VID": "04b8", "PRINTER_PID": "0e28"}
    result = subprocess.run([str(RENDER), str(rules)], env={"PATH": os.environ["PATH"], **values},
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    assert lines
    for line in lines:
        items = [item.strip() for item in line.split(", ")]
        bad = [item for item in items if not UDEV_ITEM.match(item)]
        assert not bad, f"{rules.name}: malformed {bad}"
        assert any("==" in item for item in items) and any("GROUP=" in i for i in items)


def run_check(script: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DEPLOY / "health" / script)], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=20)


def test_check_door_finds_a_serial_device() -> None:
    controller, device = os.openpty()
    try:
        result = run_check("check-door.sh", DOOR_DEVICE=os.ttyname(device))
        assert result.returncode == 0, result.stdout
        assert result.stdout.startswith("door: ok")
    finally:
        os.close(controller)
        os.close(device)


def test_check_door_says_what_to_do_when_the_board_is_missing(tmp_path: Path) -> None:
    result = run_check("check-door.sh", DOOR_DEVICE=str(tmp_path / "door0"))
    assert result.returncode == 1
    assert "Check the USB cable" in result.stdout
    (tmp_path / "door0").write_text("")
    result = run_check("check-door.sh", DOOR_DEVICE=str(tmp_path / "door0"))
    assert result.returncode == 1
    assert "not a character device" in result.stdout


def test_check_bridge_is_unknown_when_no_broker_answers() -> None:
    result = run_check("check-bridge.sh", MQTT_PORT=str(free_port()), TIMEOUT_S="1",
                       BRIDGE_CLIENT_ID="krk-01.kiosk-1")
    assert result.returncode == 2
    assert "is mosquitto running" in result.stdout


def fake_systemctl(tmp_path: Path, state: str) -> str:
    """Stands in for systemctl (no systemd in the test container): answers is-active."""
    script = tmp_path / "systemctl"
    script.write_text(f'#!/bin/sh\n[ "$1" = is-active ] && echo {state}\n'
                      f'[ "{state}" = active ]\n')
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(("state", "code", "words"), [
    ("active", 0, "kiosk: ok: branch-checkin-kiosk.service is active"),
    ("failed", 1, "sudo systemctl reset-failed branch-checkin-kiosk.service"),
    ("activating", 1, "is starting or restarting"),
])
def test_check_kiosk_reports_the_service_state(tmp_path: Path, state: str, code: int,
                                               words: str) -> None:
    result = run_check("check-kiosk.sh", SYSTEMCTL=fake_systemctl(tmp_path, state))
    assert (result.returncode, words in result.stdout) == (code, True), result.stdout


def test_check_all_fails_when_one_check_fails(tmp_path: Path) -> None:
    controller, device = os.openpty()
    try:
        result = run_check("check-all.sh", DOOR_DEVICE=os.ttyname(device),
                           SYSTEMCTL=fake_systemctl(tmp_path, "active"),
                           MQTT_PORT=str(free_port()), TIMEOUT_S="1",
                           BRIDGE_CLIENT_ID="krk-01.kiosk-1")
    finally:
        os.close(controller)
        os.close(device)
    assert result.returncode == 1
    assert "kiosk: ok" in result.stdout
    assert "door: ok" in result.stdout and "bridge: unknown" in result.stdout
