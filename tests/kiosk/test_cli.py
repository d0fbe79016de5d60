"""The ``kiosk`` command as a technician, a test or a scanner log uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.store import Store

from .conftest import BRANCH_SETTINGS, booking_json, monday, write_config
from .test_config import run_kiosk

SUBCOMMANDS = ["check-config", "bookings", "checkin", "run", "demo", "doctor", "hash-pin", "purge"]


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_every_subcommand_explains_itself(sub: str) -> None:
    result = run_kiosk(sub, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: kiosk" in result.stdout
    assert len(result.stdout.splitlines()) >= 3


def test_door_sim_help_is_the_simulators(tmp_path: Path) -> None:
    result = run_kiosk("door-sim", "--help")
    assert result.returncode == 0, result.stderr
    assert "scenario" in result.stdout


@pytest.fixture
def branch_dir(tmp_path: Path) -> Path:
    config = write_config(tmp_path)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"bookings": [
        booking_json("b-1", "7KQ2-M9XD", monday(10, 30)),
        booking_json("b-2", "AAAA-BBBB", monday(10, 30), display_name=None),
        booking_json("b-3", "CCCC-0000", monday(10, 30), status="cancelled"),
    ]}), encoding="utf-8")
    result = run_kiosk("bookings", "import", "--config", str(config), str(feed))
    assert result.returncode == 0, result.stderr
    assert "3 new, 0 updated, 0 unchanged, 0 rejected" in result.stdout
    return tmp_path


def test_import_is_an_upsert_by_version(branch_dir: Path) -> None:
    config = branch_dir / "kiosk.toml"
    feed = branch_dir / "feed2.json"
    feed.write_text(json.dumps({"bookings": [
        booking_json("b-1", "7KQ2-M9XD", monday(11), version=2),
        booking_json("b-2", "AAAA-BBBB", monday(11), version=1),
        {"booking_id": "b-bad", "code": "nope"},
    ]}), encoding="utf-8")
    result = run_kiosk("bookings", "import", "--config", str(config), str(feed))
    assert result.returncode == 1
    assert "0 new, 1 updated, 1 unchanged, 1 rejected" in result.stdout
    assert "booking #2: field 'code' is missing" not in result.stderr
    assert "booking b-bad" in result.stderr


def test_import_of_a_broken_file_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = run_kiosk("bookings", "import", "--config", str(config), str(bad))
    assert result.returncode == 2
    assert "is not valid JSON" in result.stderr


def test_checkin_json_accepted_then_already_checked_in(branch_dir: Path) -> None:
    config = str(branch_dir / "kiosk.toml")
    at = "2026-11-23T10:20:00+01:00"
    first = run_kiosk("checkin", "7kq2 m9xd", "--json", "--at", at, "--config", config)
    assert first.returncode == 0, first.stderr
    event = json.loads(first.stdout)
    assert event["type"] == "checkin"
    assert (event["booking_id"], event["ticket"], event["party_size"], event["outcome"]) == (
        "b-1", "A001", 1, "admitted")
    assert event["at"] == at
    assert "Proszę wejść" in event["message"]["pl"]
    second = run_kiosk("checkin", "7KQ2M9XD", "--json", "--at", at, "--config", config)
    assert second.returncode == 1
    refused = json.loads(second.stdout)
    assert refused["type"] == "checkin_refused"
    assert refused["reason"] == "already_checked_in"
    assert refused["booking_id"] == "b-1"


def test_checkin_plain_text_speaks_polish_or_english(branch_dir: Path) -> None:
    config = str(branch_dir / "kiosk.toml")
    result = run_kiosk("checkin", "CCCC0000", "--at", "2026-11-23T10:20:00+01:00",
                       "--config", config, "--language", "en")
    assert result.returncode == 1
    assert result.stdout.strip() == (
        "This booking was cancelled. Please ask the staff or book a new visit.")


def test_checkin_with_a_bad_time_is_a_usage_error(branch_dir: Path) -> None:
    result = run_kiosk("checkin", "7KQ2M9XD", "--at", "10:20", "--config",
                       str(branch_dir / "kiosk.toml"))
    assert result.returncode == 2
    assert "--at '10:20' is not an RFC 3339 time" in result.stderr


def test_headless_run_answers_each_scanned_line(tmp_path: Path) -> None:
    branch = {key: value for key, value in BRANCH_SETTINGS.items() if key != "version"}
    branch["opening_hours"] = {day: [["00:00", "23:59"]] for day in branch["opening_hours"]}
    branch["closed_dates"] = []
    config = str(write_config(tmp_path, branch=branch))
    branch_dir = tmp_path
    # The clock is real here; bookings made for "now" so the window is open.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Europe/Warsaw"))
    feed = branch_dir / "now.json"
    feed.write_text(json.dumps({"bookings": [
        booking_json("b-now", "NNNN1111", now), booking_json("b-now2", "NNNN2222", now)]}))
    assert run_kiosk("bookings", "import", "--config", config, str(feed)).returncode == 0
    result = run_kiosk("run", "--headless", "--config", config,
                       stdin="NNNN-1111\n\nnot-a-booking-code\nNNNN1111\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    is_open = lines[0]["type"] == "checkin"
    if is_open:
        assert lines[0]["ticket"] == "A001"
        assert lines[2]["reason"] == "already_checked_in"
    else:  # outside opening hours the branch refuses, and says so
        assert lines[0]["reason"] == "closed"
    assert lines[1]["reason"] == "invalid_code"
    store = Store(branch_dir / "data" / "kiosk.sqlite3")
    try:
        types = [e.type for e in store.pending_events()]
        assert types.count("checkin_refused") >= 2
        if is_open:
            jobs = store.db.execute("SELECT ticket, state FROM print_jobs").fetchall()
            assert jobs == [("A001", "printed")] or jobs == [("A001", "queued")]
    finally:
        store.close()


def test_hash_pin_makes_a_hash_the_config_accepts(tmp_path: Path) -> None:
    result = run_kiosk("hash-pin", "--pin", "4821")
    assert result.returncode == 0
    pin_hash = result.stdout.strip()
    assert "4821" not in pin_hash
    config = write_config(tmp_path, staff={"pins": {"s-anna": pin_hash}})
    assert run_kiosk("check-config", "--config", str(config)).returncode == 0
    assert run_kiosk("hash-pin", "--pin", "12").returncode == 2


def test_doctor_takes_its_own_options_after_the_config(tmp_path: Path) -> None:
    config = str(write_config(tmp_path))
    result = run_kiosk("doctor", "--config", config, "--timeout", "0.5", "--skip", "door",
                       "--skip", "printer", "--skip", "broker")
    assert "unrecognized arguments" not in result.stderr
    assert result.returncode in (0, 1), result.stderr
    bad = run_kiosk("doctor", "--config", config, "--timeout", "600")
    assert bad.returncode == 2


def test_unknown_options_are_usage_errors(tmp_path: Path) -> None:
    result = run_kiosk("check-config", "--config", str(write_config(tmp_path)), "--bogus")
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in result.stderr
