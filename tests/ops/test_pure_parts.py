"""The pure pieces: the day's numbers, the chart, commands, discovery, passwords, config."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from central.ops import homeassistant
from central.ops.chart import occupancy_svg
from central.ops.commands import CommandRefused, build_command
from central.ops.config import OpsConfigError, load_config, parse_config
from central.ops.daystats import DueBooking, day_numbers
from central.ops.history import Sample, StoredEvent
from central.ops.passwords import PasswordHashError, hash_password, verify_password
from central.ops.sessions import LoginLocked, Sessions

WARSAW = ZoneInfo("Europe/Warsaw")
DAY = datetime(2026, 11, 23, tzinfo=WARSAW)
T = DAY.replace(hour=10).timestamp()


def ev(kind: str, at: float, **payload: object) -> StoredEvent:
    return StoredEvent(f"{kind}-{at}-{payload}", "k1", kind, at, dict(payload))


def test_day_numbers() -> None:
    samples = [Sample(T, 3, 4, 0, "open"), Sample(T + 600, 4, 4, 1, "full"),
               Sample(T + 900, 3, 4, 0, "open"), Sample(T + 1200, 4, 4, 0, "full")]
    events = [
        ev("checkin", T + 10, booking_id="b1", ticket="A001", outcome="admitted"),
        ev("checkin", T + 610, booking_id="b2", ticket="A002", outcome="waiting"),
        ev("admitted", T + 850, ticket="A002", party_size=1),
        ev("checkin", T + 1210, booking_id="b3", ticket="A003", outcome="waiting"),
        ev("passage", T + 20, direction="in", count_after=6),
    ]
    due = [DueBooking("b1", T), DueBooking("b4", T + 100), DueBooking("b5", T + 99_999)]
    numbers = day_numbers(samples, events, T + 1500, due)
    assert numbers.checkins == 3
    assert numbers.no_shows == 1  # b4 only: b1 came, b5's window is still open
    assert numbers.peak == 6
    assert numbers.full_seconds == 300 + 300
    assert numbers.admitted == 2 and numbers.average_wait_s == (0 + 240) / 2
    assert day_numbers([], [], T, None).no_shows is None
    assert day_numbers([], [], T, None).average_wait_s is None


def test_the_chart_escapes_and_draws_steps_and_the_limit() -> None:
    samples = [Sample(T, 2, 5, 0, "open"), Sample(T + 3600, 5, 5, 0, "full")]
    svg = occupancy_svg('<script>"x"</script>', samples, [], DAY, DAY.replace(hour=12))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'class="limit"' in svg and 'class="occupancy"' in svg
    points = svg.split('points="')[1].split('"')[0].split()
    assert len(points) == 4  # start, step across, step up, on to now
    assert "10:00" in svg and "18:00" in svg
    empty = occupancy_svg("x", [], [], DAY, DAY.replace(hour=12))
    assert "Brak danych" in empty and 'class="occupancy"' not in empty


def test_commands_carry_a_fresh_id_and_the_operator() -> None:
    now = DAY.replace(hour=10, minute=31)
    one = build_command("set_limit", {"limit": 8}, "jkowalski", now)
    two = build_command("pause", None, "jkowalski", now)
    assert one["command_id"] != two["command_id"]
    assert one["issued_by"] == "ops:jkowalski" and one["issued_at"] == "2026-11-23T10:31:00+01:00"
    assert one["args"] == {"limit": 8} and two["args"] == {}
    for action, args in [("set_limit", {"limit": 0}), ("set_limit", {"limit": True}),
                         ("set_limit", {"limit": "8"}), ("pause", {"x": 1}), ("admit", {}),
                         ("set_limit", [8])]:
        with pytest.raises(CommandRefused):
            build_command(action, args, "j", now)


def test_home_assistant_discovery_payloads() -> None:
    messages = homeassistant.discovery_messages("homeassistant", "checkin/v1", "krk-1",
                                                "Kraków Łagiewnicka", ["k2", "k1"])
    topics = [t for t, _ in messages]
    assert topics == [f"homeassistant/sensor/checkin_krk-1/{o}/config"
                      for o in ("occupancy", "limit", "waiting", "state")]
    config = json.loads(messages[0][1])
    assert config["state_topic"] == "checkin/v1/branches/krk-1/occupancy"
    assert config["value_template"] == "{{ value_json.count }}"
    assert [a["topic"] for a in config["availability"]] == [
        "checkin/v1/branches/krk-1/kiosks/k1/status", "checkin/v1/branches/krk-1/kiosks/k2/status"]
    assert config["availability_mode"] == "any"
    assert config["device"]["name"] == "Kraków Łagiewnicka"
    assert len({json.loads(p)["unique_id"] for _, p in messages}) == 4


def test_passwords_hash_with_scrypt_and_verify() -> None:
    stored = hash_password("Zażółć", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$")
    assert verify_password("Zażółć", stored) and not verify_password("zazolc", stored)
    assert hash_password("x", n=2**10) != hash_password("x", n=2**10)  # salted
    assert hash_password("x").startswith("scrypt$16384$")
    for bad in ("plain", "scrypt$3$8$1$AA==$AA==", "scrypt$1024$8$1$!!$AA=="):
        with pytest.raises(PasswordHashError):
            verify_password("x", bad)


def test_sessions_expire_and_lock_after_failures() -> None:
    config = parse_config({"operators": {"anna": {"password_hash": hash_password("pw", n=2**10)}}})
    now = [0.0]
    sessions = Sessions(config.operators, ttl_s=60, clock=lambda: now[0])
    session = sessions.login("anna", "pw")
    assert session is not None and sessions.get(session.token) == session
    now[0] = 61
    assert sessions.get(session.token) is None
    for _ in range(5):
        assert sessions.login("anna", "bad") is None
    with pytest.raises(LoginLocked):
        sessions.login("anna", "pw")
    now[0] += 301
    assert sessions.login("anna", "pw") is not None
    assert sessions.login("nobody", "pw") is None


def test_config_reads_branches_regions_operators(tmp_path: Path) -> None:
    path = tmp_path / "ops.toml"
    path.write_text(
        '[ops]\nlisten = "0.0.0.0:8081"\nhistory = "h.sqlite3"\n'
        '[branches.krk-1]\nname = "POK Kraków"\nregion = "małopolskie"\n'
        f'[operators.jan]\npassword_hash = "{hash_password("x", n=2**10)}"\n', encoding="utf-8")
    config = load_config(path)
    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 8081)
    assert config.history_path == str(tmp_path / "h.sqlite3")
    assert config.branches["krk-1"].region == "małopolskie"
    assert not config.home_assistant  # off unless turned on


@pytest.mark.parametrize(("document", "named"), [
    ({"ops": {"listen": "8080"}}, "ops.listen"),
    ({"ops": {"timezone": "Mars/Olympus"}}, "ops.timezone"),
    ({"ops": {"outbox_warn": "many"}}, "ops.outbox_warn"),
    ({"branches": {"Kraków 1": {}}}, "branches.Kraków 1"),
    ({"operators": {"jan": {"name": "Jan"}}}, "password_hash"),
    ({"operators": {"jan": {"password_hash": "md5$x"}}}, "operators.jan"),
    ({"mqtt": {"port": 0}}, "mqtt.port"),
])
def test_config_errors_name_the_key(document: dict, named: str) -> None:
    with pytest.raises(OpsConfigError, match=named.replace(".", r"\.")):
        parse_config(document)


def test_a_missing_or_broken_config_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(OpsConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("[ops\n")
    with pytest.raises(OpsConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")
