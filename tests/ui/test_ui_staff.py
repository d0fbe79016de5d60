"""Staff mode: the hidden gesture, the PIN and its slowdown, every action, leaving when idle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.conftest import run_scenario

pytestmark = [pytest.mark.ui, pytest.mark.slow]


def test_staff_actions_are_done_audited_and_sent(tmp_path: Path) -> None:
    run_scenario("staff_actions", tmp_path)


def test_wrong_pins_slow_down_and_the_tenth_raises_an_alarm(tmp_path: Path) -> None:
    run_scenario("pin_slowdown", tmp_path)


def test_the_pin_slowdown_goes_on_after_a_restart(tmp_path: Path) -> None:
    run_scenario("pin_slowdown_survives_a_restart", tmp_path)


def test_staff_mode_leaves_by_itself(tmp_path: Path) -> None:
    run_scenario("staff_leaves_when_idle", tmp_path)
