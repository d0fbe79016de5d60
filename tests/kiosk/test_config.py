"""Configuration: every problem named, one line each, exit code 2, nothing started."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config

from .conftest import BRANCH_SETTINGS, write_config

REPO = Path(__file__).resolve().parents[2]


def run_kiosk(
    *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        input=stdin,
    )


def test_a_complete_config_loads(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    assert config.branch_id == "krakow-1"
    assert config.branch.name == "POK Kraków, ul. Łagiewnicka 60"
    assert config.database_path == tmp_path / "data" / "kiosk.sqlite3"


def test_the_shipped_example_is_valid(tmp_path: Path) -> None:
    example = (REPO / "deploy" / "kiosk.example.toml").read_text(encoding="utf-8")
    (tmp_path / "mqtt-password").write_text("secret\n")
    text = example.replace("/etc/branch-checkin/mqtt-password", str(tmp_path / "mqtt-password"))
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.mqtt.password == "secret"
    assert config.branch.limit == 12


BAD = [
    ({"kiosk": {"branch": "Kraków 1", "id": "k1"}}, "kiosk.branch = 'Kraków 1': expected 1-32"),
    ({"door": {"enabled": True}}, "door.port = '': expected a device path"),
    ({"door": {"enabled": False, "usb": "2e8a-0005"}}, "door.usb = '2e8a-0005': expected a USB id"),
    ({"mqtt": {"enabled": True, "port": 70000}}, "mqtt.port = 70000: expected a whole number"),
    ({"mqtt": {"enabled": True, "topic_root": "checkin/#"}}, "mqtt.topic_root = 'checkin/#'"),
    ({"mqtt": {"enabled": "yes"}}, "mqtt.enabled = 'yes': expected true or false"),
    ({"printer": {"backend": "laser"}}, "printer.backend = 'laser'"),
    (
        {"staff": {"pins": {"s-anna": "1234"}}},
        "staff.pins.s-anna = '<hidden>': expected a PIN hash",
    ),
    ({"ui": {"language": "de"}}, 'ui.language = \'de\': expected "pl" or "en"'),
    ({"checkin": {"guess_limit": 0}}, "checkin.guess_limit = 0: expected a whole number from 2"),
    ({"mqtt": {"enabled": False, "hots": "x"}}, "mqtt.hots = 'x': expected no such setting"),
    ({"mqtt": {"enabled": True, "protocol": "3"}}, "mqtt.protocol = '3': expected \"5\""),
    ({"mqtt": {"enabled": True, "protocol": 5}}, "mqtt.protocol = 5: expected \"5\" (the contr"),
    (
        {"mqtt": {"enabled": True, "protocol": "3.1"}},
        'or "3.1.1" only for the demo\'s embedded broker',
    ),
]


@pytest.mark.parametrize(("protocol", "expected"), [(None, "5"), ("5", "5"), ("3.1.1", "3.1.1")])
def test_the_mqtt_protocol_is_5_unless_the_demo_asks_for_3_1_1(
    tmp_path: Path, protocol: str | None, expected: str
) -> None:
    mqtt = {"enabled": True} if protocol is None else {"enabled": True, "protocol": protocol}
    assert load_config(write_config(tmp_path, mqtt=mqtt)).mqtt.protocol == expected


@pytest.mark.parametrize(("tables", "line"), BAD)
def test_bad_values_are_named_with_what_is_expected(
    tmp_path: Path, tables: dict[str, dict[str, object]], line: str
) -> None:
    path = write_config(tmp_path, **tables)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(line in text for text in caught.value.lines()), caught.value.lines()


def test_bad_branch_settings_are_named(tmp_path: Path) -> None:
    branch = {key: value for key, value in BRANCH_SETTINGS.items() if key != "version"}
    branch.update(
        timezone="Europe/Krakow",
        limit=-1,
        opening_hours={**BRANCH_SETTINGS["opening_hours"], "mon": [["18:00", "09:00"]]},
    )
    path = write_config(tmp_path, branch=branch)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = "\n".join(caught.value.lines())
    assert "branch.timezone = 'Europe/Krakow': expected an IANA time zone" in lines
    assert "branch.opening_hours.mon = ['18:00', '09:00']: expected a pair" in lines
    assert "branch.limit = -1: expected a whole number from 1 to 1000" in lines
    assert len(caught.value.problems) == 3  # all at once, not one per start


def test_check_config_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, kiosk={"branch": "BAD ID", "id": "k1"}, mqtt={"enabled": True, "port": 0}
    )
    result = run_kiosk("check-config", "--config", str(path))
    assert result.returncode == 2
    assert "kiosk.branch = 'BAD ID'" in result.stderr
    assert "mqtt.port = 0" in result.stderr
    assert "fix the lines above" in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was started or created


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run_kiosk("check-config", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "a readable TOML file (No such file or directory)" in result.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("[kiosk\nbranch = 1\n")
    result = run_kiosk("check-config", "--config", str(broken))
    assert result.returncode == 2
    assert "valid TOML" in result.stderr


def test_run_refuses_to_start_on_a_bad_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, ui={"inactivity_s": 1})
    result = run_kiosk("run", "--headless", "--config", str(path), stdin="")
    assert result.returncode == 2
    assert "ui.inactivity_s = 1" in result.stderr


def test_check_config_ok(tmp_path: Path) -> None:
    result = run_kiosk("check-config", "--config", str(write_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "OK (branch krakow-1" in result.stdout


def test_unknown_tables_are_problems_too(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + '\n[printr]\nbackend = "usb"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any("printr" in line and "one of the tables" in line for line in caught.value.lines())


def test_example_config_is_not_changed_by_loading(tmp_path: Path) -> None:
    copy = tmp_path / "kiosk.toml"
    shutil.copy(REPO / "deploy" / "kiosk.example.toml", copy)
    before = copy.read_bytes()
    with pytest.raises(ConfigError):
        load_config(copy)  # its password file does not exist on this machine
    assert copy.read_bytes() == before
