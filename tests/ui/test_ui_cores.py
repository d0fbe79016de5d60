"""The screen's pure helpers: no window needed."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.bookings import parse_booking
from kiosk.branch import BranchView
from kiosk.checkin import CheckinResult, Placement
from kiosk.messages import Text
from kiosk.rules import Reason, Refusal
from kiosk.ui import presenters, sd_notify
from kiosk.ui.code_buffer import CodeBuffer
from kiosk.ui.i18n import Translator
from kiosk.ui.idle import IdleTimer
from kiosk.ui.paths import KV_DIR, UI_DIR, locale_dir
from kiosk.ui.pin_gate import PinGate
from kiosk.ui.scanner import ScannerBuffer
from tests.ui.ui_config import booking

ROOT = Path(__file__).resolve().parents[2]


# --- code buffer, scanner, PIN gate, idle -------------------------------------------------


def test_code_buffer_groups_and_refuses_what_cannot_be_in_a_code() -> None:
    buffer = CodeBuffer()
    for key in "7KQ2M":
        assert buffer.press(key)
    assert buffer.display() == "7KQ2-M___"
    assert not buffer.press("U") and not buffer.press("O") and not buffer.press("ab")
    for key in "9XD":
        buffer.press(key)
    assert buffer.full and not buffer.press("1")
    buffer.delete()
    assert buffer.display() == "7KQ2-M9X_"


def test_scanner_hands_over_a_line_at_enter_and_drops_stale_keys() -> None:
    scanner = ScannerBuffer(stale_after_s=2.0)
    scanner.typed("7KQ2", 10.0)
    scanner.typed("-M9XD", 10.05)
    assert scanner.enter(10.1) == "7KQ2-M9XD"
    assert scanner.enter(10.2) is None  # Enter alone hands over nothing
    scanner.typed("x", 20.0)
    scanner.typed("4HXR8T2N", 30.0)  # the stray "x" is ten seconds older: dropped
    assert scanner.enter(30.1) == "4HXR8T2N"
    assert scanner.dropped == 1
    scanner.typed("\x1b\x07AB", 40.0)
    assert scanner.pending == "AB"


def test_pin_gate_waits_grow_and_every_tenth_failure_alarms() -> None:
    gate = PinGate(first_delay_s=1.0, max_delay_s=300.0)
    now = 100.0
    alarms = []
    for n in range(1, 21):
        alarms.append(gate.failed(now))
        assert gate.wait_s(now) == min(300.0, 2.0 ** (n - 1))
        now += gate.wait_s(now)
        assert gate.wait_s(now) == 0
    assert [i + 1 for i, alarm in enumerate(alarms) if alarm] == [10, 20]
    gate.succeeded()
    assert gate.failures == 0 and gate.wait_s(now) == 0


def test_pin_gate_takes_back_what_the_store_kept() -> None:
    gate = PinGate(first_delay_s=1.0, max_delay_s=300.0)
    gate.restore(9, 200.0, now=10.0)
    assert gate.failures == 9 and gate.wait_s(10.0) == 200.0
    assert gate.failed(210.0)  # the tenth in a row, across the restart, raises the alarm
    later = PinGate(first_delay_s=1.0, max_delay_s=300.0)
    later.failed(50.0)  # a wrong PIN typed before the store answered
    later.failed(51.0)
    later.restore(1, 86_400.0, now=52.0)  # a wall clock set back a day
    assert later.failures == 2 and later.wait_s(52.0) == 300.0
    later.restore(0, -5.0, now=60.0)
    assert later.failures == 2 and later.wait_s(60.0) == 292.0


def test_idle_timer() -> None:
    idle = IdleTimer(5.0)
    assert not idle.expired(30.0, 30)
    assert idle.expired(35.0, 30)
    idle.touched(35.0)
    assert idle.idle_for(40.0) == 5.0


# --- presenters -------------------------------------------------------------------------


def view(**changes: object) -> BranchView:
    base = dict(branch_name="POK", state="open", count=0, limit=3, waiting=(),
                hours_today={"pl": "09:00–18:00", "en": "09:00–18:00"}, door="absent",
                printer="ok", printer_detail="", outbox=0, sync="connected", last_feed_at=None,
                called=(),
                staff_items=(), at="2026-11-23T10:00:00+01:00")
    base.update(changes)
    return BranchView(**base)  # type: ignore[arg-type]


def accepted(outcome: str, position: int | None = None) -> CheckinResult:
    return CheckinResult(event={}, text=Text("pl", "en"),
                         booking=parse_booking(booking("7KQ2M9XD", "b-1", 5, "booked", "A")),
                         ticket="A001", placement=Placement(outcome, position))


def test_result_lines_say_enter_or_wait_and_whether_the_slip_printed() -> None:
    admitted = presenters.result_lines(accepted("admitted"), view(), "en")
    assert admitted.instruction == "Please enter now." and admitted.printed
    assert admitted.service == "Contracts and payments"
    waiting = presenters.result_lines(accepted("waiting", 2), view(printer="paper_out"), "pl")
    assert waiting.position == 2 and not waiting.printed
    assert waiting.service == "Umowy i płatności"
    assert presenters.result_lines(accepted("admitted"), view(printer="paper_low"), "pl").printed


@pytest.mark.parametrize("reason", list(Reason))
def test_every_refusal_reason_has_a_title_and_a_next_step(reason: Reason) -> None:
    result = CheckinResult(event={}, text=Text("pl", "en"),
                           refusal=Refusal(reason, "detail", existing_ticket="A001"))
    advice = presenters.refusal_advice(result)
    assert advice.title and advice.next_step
    assert (advice.reprint_ticket == "A001") == (reason is Reason.ALREADY_CHECKED_IN)


@pytest.mark.parametrize("state", ["open", "full", "paused", "closed", "free_entry",
                                   "emergency", "fault"])
def test_every_branch_state_has_a_banner(state: str) -> None:
    banner = presenters.state_banner(state)
    assert banner.title and banner.subtitle
    assert state in presenters.STATE_WORDS


# --- catalogs -----------------------------------------------------------------------------


_IDS = re.compile(r'''(?:\bN_|\bt|\bself\.t|app\.t)\(\s*"((?:[^"\\]|\\.)*)"''')


def used_message_ids() -> set[str]:
    found: set[str] = set()
    for path in [*UI_DIR.glob("*.py"), *KV_DIR.glob("*.kv")]:
        for match in _IDS.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1).encode("latin-1", "backslashreplace")
                      .decode("unicode_escape") if "\\u" in match.group(1) else match.group(1))
    return found


def test_every_message_on_screen_is_translated_into_polish() -> None:
    tr = Translator(locale_dir())
    assert not tr.missing_catalogs
    ids = used_message_ids()
    assert len(ids) > 50
    untranslated = sorted(m for m in ids if tr(m, "pl") == m and m not in ("OK",))
    assert not untranslated, f"no Polish for: {untranslated}"
    placeholders = re.compile(r"\{(\w+)\}")
    for message in ids:
        for language in ("pl", "en"):
            text = tr.catalogs[language].gettext(message)
            assert set(placeholders.findall(text)) == set(placeholders.findall(message)), \
                (language, message, text)


def test_polish_texts_carry_diacritics() -> None:
    tr = Translator(locale_dir())
    assert tr("Please wait", "pl") == "Prosimy czekać"
    assert tr("Today: {hours}", "pl", hours="09:00–18:00") == "Dziś: 09:00–18:00"
    assert tr("Please wait", "en") == "Please wait"


def test_compiled_catalogs_match_their_sources() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "assets/locale/compile.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_a_missing_catalog_falls_back_to_the_english_ids(tmp_path: Path) -> None:
    tr = Translator(tmp_path)
    assert tr.missing_catalogs == ["pl", "en"]
    assert tr("Please wait", "pl") == "Please wait"


# --- systemd notify -----------------------------------------------------------------------


def test_sd_notify_sends_ready_and_watchdog_to_the_socket(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert sd_notify.notify("READY=1")
        assert server.recv(64) == b"READY=1"
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert sd_notify.watchdog_interval_s() == 15.0
    monkeypatch.setenv("WATCHDOG_USEC", "soon")
    assert sd_notify.watchdog_interval_s() is None


def test_sd_notify_without_systemd_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not sd_notify.notify("READY=1")

