"""The customer's screens driven through real widgets over the real branch (headless Kivy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.conftest import run_scenario

pytestmark = pytest.mark.ui


def test_check_in_by_keypad_and_by_scanner(tmp_path: Path) -> None:
    run_scenario("checkin_keypad", tmp_path)


def test_a_scan_checks_in_from_any_screen(tmp_path: Path) -> None:
    run_scenario("scanner_from_any_screen", tmp_path)


@pytest.mark.slow
def test_every_refusal_says_what_to_do_in_both_languages(tmp_path: Path) -> None:
    run_scenario("every_refusal", tmp_path)


def test_welcome_shows_the_entrance_state(tmp_path: Path) -> None:
    run_scenario("welcome_states", tmp_path)


def test_code_guessing_pauses_code_entry(tmp_path: Path) -> None:
    run_scenario("code_guessing_pause", tmp_path)


def test_a_waiting_ticket_is_called_when_a_place_frees(tmp_path: Path) -> None:
    run_scenario("wait_and_call", tmp_path)


@pytest.mark.micropython
def test_a_walk_out_at_the_door_calls_the_next_ticket(tmp_path: Path) -> None:
    run_scenario("door_frees_a_place", tmp_path)


def test_a_slip_that_was_not_printed_is_said_on_the_result(tmp_path: Path) -> None:
    run_scenario("slip_not_printed", tmp_path)


def test_inactivity_brings_back_welcome_in_polish(tmp_path: Path) -> None:
    run_scenario("inactivity", tmp_path)


def test_the_screen_keeps_drawing_while_the_owner_is_busy(tmp_path: Path) -> None:
    run_scenario("owner_busy", tmp_path)


def test_after_a_restart_the_screen_shows_the_state_it_had(tmp_path: Path) -> None:
    run_scenario("restart_before", tmp_path)
    run_scenario("restart_after", tmp_path)


def test_systemd_hears_ready_and_the_watchdog(tmp_path: Path) -> None:
    run_scenario("systemd_notify", tmp_path)
