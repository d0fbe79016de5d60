"""UI scenarios, each run in its own process by ``test_*.py`` (one Kivy app per process).

    python -m tests.ui.scenarios NAME WORKDIR

Each scenario drives the real widgets over the real branch (store, rules, occupancy, printer
worker) and asserts; an AssertionError fails the process and so the test.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from kiosk.branch import STAFF_PIN_KEY
from kiosk.store import Store
from kiosk.timeutil import format_rfc3339
from tests.ui.harness import HEIGHT, WIDTH, Harness
from tests.ui.ui_config import CODES, NOW, STAFF_PIN, UNKNOWN_CODE, kiosk_config, load_bookings

SCENARIOS: dict[str, Callable[[Path], None]] = {}


def scenario(fn: Callable[[Path], None]) -> Callable[[Path], None]:
    SCENARIOS[fn.__name__] = fn
    return fn


def code(name: str) -> str:
    return CODES[name][0]


def outbox(h: Harness) -> list[dict[str, Any]]:
    return h.branch.submit(lambda: [e.payload for e in h.branch.store.pending_events(1000)]
                           ).result(5)


def print_jobs(h: Harness) -> list[tuple[str, str, str]]:
    rows = h.branch.submit(lambda: h.branch.store.db.execute(
        "SELECT ticket, reason, state FROM print_jobs ORDER BY id").fetchall()).result(5)
    return [tuple(row) for row in rows]


def both_languages(h: Harness, name: str) -> None:
    """Screenshots of the current screen in Polish and in English."""
    before = h.app.language
    for language in ("pl", "en"):
        h.app.language = language
        h.screenshot(name)
    h.app.language = before
    h.frames(2)


def started(workdir: Path, **config: Any) -> Harness:
    cfg = kiosk_config(workdir, **config)
    if not cfg.database_path.exists():
        load_bookings(cfg)
    return Harness(cfg).start()


def check_in_on_keypad(h: Harness, typed: str) -> None:
    h.tap_id("enter_code")
    assert h.app.current == "code"
    h.type_on_keypad("keypad", typed)
    h.tap_id("ok")
    h.wait_for(lambda: h.app.current in ("result", "refusal"), what="the check-in's answer")


# --- customers --------------------------------------------------------------------------


@scenario
def checkin_keypad(workdir: Path) -> None:
    h = started(workdir)
    try:
        both_languages(h, "welcome")
        assert "Zapraszamy" in h.texts()
        h.tap_id("enter_code")
        h.type_on_keypad("keypad", code("ADMIT")[:3] + "0")
        assert h.screen().typed == "7KQ0-____", h.screen().typed
        h.tap_id("delete")
        h.type_on_keypad("keypad", code("ADMIT")[3:6])
        assert h.screen().typed == "7KQ2-M9__", h.screen().typed
        both_languages(h, "code")
        h.type_on_keypad("keypad", code("ADMIT")[6:] + "Z")  # a ninth key is not taken
        assert h.screen().typed == "7KQ2-M9XD", h.screen().typed
        h.tap_id("ok")
        h.wait_for(lambda: h.app.current == "result", what="the result screen")
        texts = h.texts()
        assert "A001" in texts and "Proszę wejść." in texts, texts
        assert "Umowy i płatności" in texts, texts
        h.wait_for(lambda: ("A001", "checkin", "printed") in print_jobs(h),
                   what="the slip printed on the dummy printer")
        both_languages(h, "result")
        events = [e for e in outbox(h) if e["type"] == "checkin"]
        assert [e["ticket"] for e in events] == ["A001"], events
        h.tap_id("ok")
        assert h.app.current == "welcome"
        h.tap_id("lang_en")
        assert "Come in" in h.texts(), h.texts()
        h.scan(code("OTHER"))  # a scanner types the code and Enter: no keypad needed
        h.wait_for(lambda: h.app.current == "result", what="the scanned check-in")
        texts = h.texts()
        assert "B001" in texts and "Please enter now." in texts and "Complaints" in texts, texts
        assert h.app.counters["scans"] == 1
    finally:
        h.stop()


@scenario
def scanner_from_any_screen(workdir: Path) -> None:
    h = started(workdir)
    try:
        h.tap_id("enter_code")
        h.type_on_keypad("keypad", "99")  # half-typed on the keypad, then a scan
        h.scan("7kq2-m9xd")  # lower case and a dash, as a scanner may send
        h.wait_for(lambda: h.app.current == "result", what="the scanned check-in")
        assert "A001" in h.texts()
        h.scan(code("ADMIT"))  # scanned again, straight from the result screen
        h.wait_for(lambda: h.app.current == "refusal", what="already checked in")
        assert "Już zarejestrowano" in h.texts(), h.texts()
    finally:
        h.stop()


@scenario
def every_refusal(workdir: Path) -> None:
    h = started(workdir, **{"ui": {"language": "pl", "inactivity_s": 600}})
    expected: list[str] = []

    def refused(raw: str, reason: str, title_pl: str, shot: str) -> None:
        h.app.go_welcome()
        h.scan(raw)
        h.wait_for(lambda: h.app.current == "refusal", what=f"the {reason} refusal")
        texts = h.texts()
        assert title_pl in texts, (reason, texts)
        assert h.screen().result.refusal.reason.value == reason
        both_languages(h, f"refusal-{shot}")
        expected.append(reason)

    try:
        refused("12", "invalid_code", "To nie jest kod rezerwacji", "invalid")
        refused(UNKNOWN_CODE, "unknown_code", "Nie znaleziono rezerwacji", "unknown")
        refused(code("CANCELLED"), "cancelled", "Rezerwacja odwołana", "cancelled")
        refused(code("EARLY"), "too_early", "Za wcześnie", "too-early")
        assert any("11:30" in t for t in h.texts()), h.texts()  # when to come back
        refused(code("LATE"), "too_late", "Za późno", "too-late")
        h.scan(code("ADMIT"))
        h.wait_for(lambda: h.app.current == "result", what="a first check-in")
        refused(code("ADMIT"), "already_checked_in", "Już zarejestrowano", "already")
        h.tap_id("second")  # "Print again"
        h.wait_for(lambda: h.screen().note == "Bilet jest drukowany ponownie.",
                   what="the reprint confirmed")
        assert ("A001", "reprint", "queued") in print_jobs(h) or \
            ("A001", "reprint", "printed") in print_jobs(h), print_jobs(h)
        h.branch.staff_action("pause", {}, by="s-test").result(5)
        refused(code("OTHER"), "paused", "Prosimy czekać", "paused")
        h.branch.staff_action("resume", {}, by="s-test").result(5)
        h.clock.advance(hours=9)  # 19:00, after closing
        h.settle()
        refused(code("OTHER"), "closed", "Zamknięte", "closed")
        h.wait_for(lambda: h.app.view.state == "closed", timeout=5,
                   what="the owner's clock closing the branch")
        h.app.go_welcome()
        both_languages(h, "welcome-closed")
        reasons = [e["reason"] for e in outbox(h) if e["type"] == "checkin_refused"]
        assert reasons == expected, (reasons, expected)
    finally:
        h.stop()


@scenario
def welcome_states(workdir: Path) -> None:
    """The entrance state at a glance, as staff or central change it."""
    h = started(workdir)
    try:
        for action, state, title in (("pause", "paused", "Wejście wstrzymane"),
                                     ("resume", "open", "Zapraszamy"),
                                     ("free_entry", "free_entry", "Wejście wolne"),
                                     ("emergency", "emergency", "Stan awaryjny")):
            assert h.branch.staff_action(action, {}, by="s-test").result(5).ok, action
            h.wait_for(lambda s=state: h.app.view.state == s, what=f"state {state}")
            assert title in h.texts(), (state, h.texts())
            both_languages(h, f"welcome-{state.replace('_', '-')}")
    finally:
        h.stop()


@scenario
def code_guessing_pause(workdir: Path) -> None:
    h = started(workdir)
    try:
        for _ in range(5):
            h.app.go_welcome()
            h.scan(UNKNOWN_CODE)
            h.wait_for(lambda: h.app.current == "refusal", what="an unknown-code refusal")
        h.app.go_welcome()
        h.scan(code("ADMIT"))
        h.wait_for(lambda: h.app.current == "refusal", what="the paused refusal")
        texts = h.texts()
        assert any("wstrzymane do" in t for t in texts), texts
        both_languages(h, "refusal-code-guessing")
        assert any(e["type"] == "alarm" and e["kind"] == "code_guessing" for e in outbox(h))
    finally:
        h.stop()


@scenario
def wait_and_call(workdir: Path) -> None:
    h = started(workdir, limit=1)
    try:
        h.scan(code("ADMIT"))
        h.wait_for(lambda: h.app.current == "result", what="the first check-in")
        h.tap_id("ok")
        h.scan(code("WAIT"))
        h.wait_for(lambda: h.app.current == "result", what="the second check-in")
        texts = h.texts()
        assert "B001" in texts, texts
        assert "Jesteś 1. w kolejce. Twój numer zostanie wywołany." in texts, texts
        both_languages(h, "result-waiting")
        h.tap_id("ok")
        h.settle()
        assert h.app.view.state == "full", h.app.view.state
        both_languages(h, "welcome-full")
        # A001 never walks in: its admission expires and the place goes to B001.
        h.clock.advance(seconds=120)
        h.wait_for(lambda: h.app.current == "call", what="the call screen")
        assert h.screen().ticket == "B001"
        both_languages(h, "call")
        admitted = [e for e in outbox(h) if e["type"] == "admitted"]
        assert [e["ticket"] for e in admitted] == ["B001"], admitted
        h.wait_for(lambda: h.app.current == "welcome", timeout=5,
                   what="back to welcome after the call")
        assert "Wywołane numery: B001" in h.texts(), h.texts()
    finally:
        h.stop()


@scenario
def door_frees_a_place(workdir: Path) -> None:
    """With the door simulator (firmware under micropython on a pty): walking out calls."""
    from firmware_bridge.simulator import SimulatedBoard

    with SimulatedBoard(workdir / "board") as board:
        cfg = kiosk_config(workdir, limit=1, door_port=board.port)
        load_bookings(cfg)
        h = Harness(cfg).start()
        try:
            h.wait_for(lambda: h.app.view.door == "ok", timeout=15, what="the door link up")
            h.scan(code("ADMIT"))
            h.wait_for(lambda: h.app.current == "result", what="the first check-in")
            assert "Proszę wejść." in h.texts(), h.texts()
            board.walk_in()  # A001 walks in through the door the kiosk unlocked
            h.wait_for(lambda: h.app.view.count == 1, timeout=10, what="the passage in")
            h.tap_id("ok")
            h.scan(code("WAIT"))
            h.wait_for(lambda: h.app.current == "result", what="the second check-in")
            assert "Jesteś 1. w kolejce. Twój numer zostanie wywołany." in h.texts()
            h.tap_id("ok")
            board.walk_out()  # A001 leaves: the place goes to B001
            h.wait_for(lambda: h.app.current == "call", timeout=10, what="the call screen")
            assert h.screen().ticket == "B001"
            assert h.app.view.count == 0
            board.walk_in()
            h.wait_for(lambda: h.app.view.count == 1, timeout=10, what="B001 walking in")
            passages = [e["direction"] for e in outbox(h) if e["type"] == "passage"]
            assert passages == ["in", "out", "in"], passages
        finally:
            h.stop()


@scenario
def slip_not_printed(workdir: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    printer = {"backend": "network", "host": "127.0.0.1", "port": closed_port,
               "timeout_s": 0.3}
    h = started(workdir, printer=printer)
    try:
        h.wait_for(lambda: h.app.view.printer == "offline", what="the printer reported offline")
        h.scan(code("ADMIT"))
        h.wait_for(lambda: h.app.current == "result", what="the result screen")
        texts = h.texts()
        assert "A001" in texts, texts
        assert "Nie udało się wydrukować biletu. Zapamiętaj swój numer." in texts, texts
        both_languages(h, "result-not-printed")
    finally:
        h.stop()


@scenario
def inactivity(workdir: Path) -> None:
    h = started(workdir, ui={"language": "pl", "inactivity_s": 20})
    try:
        h.tap_id("lang_en")
        h.tap_id("enter_code")
        h.type_on_keypad("keypad", "7KQ")
        h.ticker.skipped += 10
        h.frames(2)
        time.sleep(1.1)
        h.frames(2)
        assert h.app.current == "code", "left before the inactivity time"
        h.ticker.skipped += 11
        h.wait_for(lambda: h.app.current == "welcome", timeout=3, what="back to welcome")
        assert h.app.language == "pl", "the next customer starts in Polish"
        h.tap_id("enter_code")
        assert h.screen().typed == "____-____", "the last customer's keys are gone"
    finally:
        h.stop()


@scenario
def owner_busy(workdir: Path) -> None:
    """The UI keeps drawing while the owner of the branch is busy: it never waits on it."""
    h = started(workdir)
    try:
        release = __import__("threading").Event()
        h.branch.post(lambda: release.wait(10))  # the owner stuck on a slow disk, say
        h.scan(code("ADMIT"))
        worst = 0.0
        for _ in range(60):
            start = time.monotonic()
            h.frames()
            worst = max(worst, time.monotonic() - start)
        assert h.app.current == "code" and h.app.checking
        assert "Sprawdzamy…" in h.texts(), h.texts()
        assert worst < 0.25, f"a frame took {worst:.3f} s while the owner was busy"
        release.set()
        h.wait_for(lambda: h.app.current == "result", what="the answer once the owner is free")
    finally:
        release.set()
        h.stop()


# --- staff ------------------------------------------------------------------------------


def enter_staff(h: Harness, pin: str = STAFF_PIN) -> None:
    """The gesture at a shorter hold (its 3 s are tested in staff_actions), then the PIN."""
    h.app.staff_hold_s = 0.4
    h.hold(h.widget("corner", "welcome"), 0.5, until=lambda: h.app.current == "staff_pin")
    assert h.app.current == "staff_pin", h.app.current
    h.type_on_keypad("keypad", pin)
    h.tap(h.key_button("keypad", "ok"))
    h.wait_for(lambda: h.app.current == "staff", what="the staff panel")


def act(h: Harness, widget_id: str) -> str:
    h.app.staff_message = ""
    h.tap_id(widget_id)
    h.wait_for(lambda: h.app.staff_message not in ("", "Wykonuję…"), what=f"{widget_id} done")
    h.settle()
    return h.app.staff_message


def number(h: Harness, widget_id: str, value: str) -> str:
    h.tap_id(widget_id)
    assert h.app.current == "staff_number"
    h.type_on_keypad("keypad", value)
    h.app.staff_message = ""
    h.tap(h.key_button("keypad", "ok"))
    h.wait_for(lambda: h.app.staff_message not in ("", "Wykonuję…"), what=f"{widget_id} done")
    h.settle()
    return h.app.staff_message


@scenario
def staff_actions(workdir: Path) -> None:
    h = started(workdir, limit=3)
    try:
        h.tap(h.widget("corner", "welcome"))  # a short tap is not the gesture
        h.frames(5)
        assert h.app.current == "welcome"
        h.hold(h.widget("corner"), 2.5)  # not yet
        assert h.app.current == "welcome"
        pressed = time.monotonic()
        h.hold(h.widget("corner"), 3.0, until=lambda: h.app.current == "staff_pin")
        assert h.app.current == "staff_pin" and time.monotonic() - pressed < 4.5
        both_languages(h, "staff-pin")
        h.type_on_keypad("keypad", STAFF_PIN)
        h.tap(h.key_button("keypad", "ok"))
        h.wait_for(lambda: h.app.current == "staff", what="the staff panel")
        assert h.app.staff_id == "s-anna"
        view = lambda: h.app.view  # noqa: E731
        assert act(h, "plus_one").startswith("Zrobione") and view().count == 1
        assert act(h, "minus_one").startswith("Zrobione") and view().count == 0
        assert number(h, "set_count", "2").startswith("Zrobione") and view().count == 2
        assert number(h, "set_limit", "2").startswith("Zrobione") and view().limit == 2
        assert view().state == "full"
        assert number(h, "walk_in", "1") == "Zrobione: bilet W001", h.app.staff_message
        assert [w.ticket for w in view().waiting] == ["W001"]
        both_languages(h, "staff")
        h.tap_id("queue")
        h.wait_for(lambda: len(h.widget("rows").children) == 1, what="the queue row")
        both_languages(h, "staff-queue")
        row = h.widget("rows").children[0]
        admit_button = next(c for c in row.children if getattr(c, "text", "") == "Wpuść teraz")
        h.app.staff_message = ""
        h.tap(admit_button)
        h.wait_for(lambda: h.app.staff_message.startswith("Odmowa"), what="no room refusal")
        h.tap_id("back")
        assert number(h, "set_count", "0").startswith("Zrobione")
        assert view().waiting == () and "W001" in view().called
        assert act(h, "pause").startswith("Zrobione") and view().state == "paused"
        assert act(h, "resume").startswith("Zrobione") and view().state == "open"
        assert act(h, "free_entry").startswith("Zrobione") and view().state == "free_entry"
        assert act(h, "normal").startswith("Zrobione") and view().state == "open"
        h.tap_id("emergency")
        assert h.app.current == "staff_confirm", "emergency asks first"
        both_languages(h, "staff-confirm")
        h.tap_id("cancel")
        assert view().state == "open"
        h.tap_id("emergency")
        h.app.staff_message = ""
        h.tap_id("confirm")
        h.wait_for(lambda: view().state == "emergency", what="emergency")
        h.tap_id("normal")
        h.wait_for(lambda: view().state == "open", what="back to normal")
        h.tap_id("reprint")
        assert h.app.current == "staff_ticket"
        h.type_on_keypad("keypad", "W001")
        both_languages(h, "staff-ticket")
        h.app.staff_message = ""
        h.tap_id("ok")
        h.wait_for(lambda: h.app.staff_message.startswith("Zrobione"), what="the reprint")
        h.tap_id("set_limit")
        both_languages(h, "staff-number")
        h.tap_id("cancel")
        audit = h.branch.submit(lambda: h.branch.store.audit_log(100)).result(5)
        acts = [(a["action"], a["actor"], a["result"]) for a in reversed(audit)]
        wanted = ["adjust_count", "adjust_count", "adjust_count", "set_limit", "walk_in",
                  "admit", "adjust_count", "pause", "resume", "free_entry", "normal",
                  "emergency", "normal", "reprint"]
        assert [a[0] for a in acts] == wanted, acts
        assert all(a[1] == "s-anna" for a in acts), acts
        assert acts[5][2].startswith("refused"), acts[5]
        overrides = [e for e in outbox(h) if e["type"] == "override"]
        assert len(overrides) == len(wanted) - 1  # the refused admit is audited, not sent
        assert all(e["by"] == "s-anna" and e["from"] == "kiosk" for e in overrides), overrides
        h.tap_id("exit")
        assert h.app.staff_id == ""
        # W001 was called while staff mode was on: the customers see the call now.
        assert h.app.current == "call" and h.screen().ticket == "W001", h.app.current
        h.ticker.skipped += 31
        h.wait_for(lambda: h.app.current == "welcome", timeout=5, what="the call over")
    finally:
        h.stop()


@scenario
def staff_leaves_when_idle(workdir: Path) -> None:
    h = started(workdir, staff_inactivity_s=60)
    try:
        enter_staff(h)
        h.ticker.skipped += 30
        time.sleep(1.1)
        h.frames(3)
        assert h.app.current == "staff"
        h.ticker.skipped += 31
        h.wait_for(lambda: h.app.current == "welcome", timeout=3, what="staff mode left")
        assert h.app.staff_id == ""
        h.scan(code("ADMIT"))  # and customers are served again
        h.wait_for(lambda: h.app.current == "result", what="a check-in after staff mode")
    finally:
        h.stop()


def pin_checked(h: Harness, failures: int) -> bool:
    return h.app.pin_gate.failures == failures and bool(h.app.pin_keys_enabled)


@scenario
def pin_slowdown(workdir: Path) -> None:
    h = started(workdir)
    try:
        h.app.staff_hold_s = 0.4
        h.hold(h.widget("corner", "welcome"), 0.5, until=lambda: h.app.current == "staff_pin")
        assert h.app.current == "staff_pin", h.app.current
        waits = []
        for attempt in range(1, 11):
            h.type_on_keypad("keypad", "1111")
            h.tap(h.key_button("keypad", "ok"))
            h.wait_for(partial(pin_checked, h, attempt), what=f"wrong PIN {attempt} checked")
            now = h.ticker()
            waits.append(math.ceil(h.app.pin_gate.wait_s(now)))
            assert h.screen().note.startswith("Błędny PIN. Poczekaj"), h.screen().note
            if attempt == 3:
                both_languages(h, "staff-pin-wrong")
                # The right PIN during the wait is not even tried.
                h.type_on_keypad("keypad", STAFF_PIN)
                h.tap(h.key_button("keypad", "ok"))
                h.frames(3)
                assert h.app.current == "staff_pin" and h.app.pin_gate.failures == 3
            h.ticker.skipped += h.app.pin_gate.wait_s(now) + 0.01
        assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300], waits
        h.settle()
        # Kept by the owner for after a restart (the branch's clock has not moved).
        assert h.branch.submit(h.branch.staff_pin_state).result(5) == (10, 300.0)
        alarms = [e for e in outbox(h) if e["type"] == "alarm"]
        assert len(alarms) == 1 and alarms[0]["kind"] == "code_guessing", alarms
        assert "staff PIN" in alarms[0]["detail"]
        # Nobody touched the screen during the last waits (minutes): it went back to Welcome.
        h.wait_for(lambda: h.app.current == "welcome", what="Welcome after the long wait")
        h.hold(h.widget("corner", "welcome"), 0.5, until=lambda: h.app.current == "staff_pin")
        h.type_on_keypad("keypad", STAFF_PIN)
        h.tap(h.key_button("keypad", "ok"))
        h.wait_for(lambda: h.app.current == "staff", what="the right PIN after the waits")
        assert h.app.pin_gate.failures == 0
    finally:
        h.stop()


@scenario
def pin_slowdown_survives_a_restart(workdir: Path) -> None:
    # The kiosk was restarted 8 s into the 16 s wait after a 5th wrong PIN: the store kept it.
    cfg = kiosk_config(workdir)
    load_bookings(cfg)
    store = Store(cfg.database_path)
    store.set_value(STAFF_PIN_KEY, {"failures": 5,
                                    "locked_until": format_rfc3339(NOW + timedelta(seconds=8))})
    store.close()
    h = Harness(cfg).start()
    try:
        h.wait_for(lambda: h.app.pin_gate.failures == 5, what="the kept PIN state taken back")
        h.app.staff_hold_s = 0.4
        h.hold(h.widget("corner", "welcome"), 0.5, until=lambda: h.app.current == "staff_pin")
        h.type_on_keypad("keypad", STAFF_PIN)  # the right PIN, during the wait: not tried
        h.tap(h.key_button("keypad", "ok"))
        h.frames(3)
        assert h.app.current == "staff_pin", h.app.current
        assert h.screen().note.startswith("Błędny PIN. Poczekaj"), h.screen().note
        assert 7 <= h.app.pin_gate.wait_s(h.ticker()) <= 8
        h.ticker.skipped += 8.01
        h.type_on_keypad("keypad", "1111")  # the 6th wrong PIN in a row: 32 s
        h.tap(h.key_button("keypad", "ok"))
        h.wait_for(partial(pin_checked, h, 6), what="the 6th wrong PIN checked")
        assert math.ceil(h.app.pin_gate.wait_s(h.ticker())) == 32
        h.ticker.skipped += 32.01
        h.type_on_keypad("keypad", STAFF_PIN)
        h.tap(h.key_button("keypad", "ok"))
        h.wait_for(lambda: h.app.current == "staff", what="the right PIN after the wait")
        h.settle()
        assert h.branch.submit(h.branch.staff_pin_state).result(5) == (0, 0.0)
    finally:
        h.stop()


@scenario
def systemd_notify(workdir: Path) -> None:
    """READY=1 once the branch's state is on screen, then WATCHDOG=1 from Kivy's loop."""
    import os
    import socket

    path = workdir / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.setblocking(False)
        os.environ.update(NOTIFY_SOCKET=str(path), WATCHDOG_USEC="1000000",
                          WATCHDOG_PID=str(os.getpid()))
        h = started(workdir)
        try:
            got: list[bytes] = []

            def heard(message: bytes) -> bool:
                with contextlib.suppress(BlockingIOError):
                    got.append(server.recv(64))
                return message in got

            h.wait_for(lambda: heard(b"READY=1"), timeout=5, what="READY=1")
            h.wait_for(lambda: heard(b"WATCHDOG=1"), timeout=5, what="WATCHDOG=1")
            assert got[0] == b"READY=1", got
        finally:
            h.stop()


# --- restart, sizes ---------------------------------------------------------------------


@scenario
def restart_before(workdir: Path) -> None:
    h = started(workdir, limit=1)
    try:
        h.scan(code("ADMIT"))
        h.wait_for(lambda: h.app.current == "result", what="the first check-in")
        h.scan(code("WAIT"))
        h.wait_for(lambda: "B001" in h.texts(), what="the second check-in")
    finally:
        h.stop()


@scenario
def restart_after(workdir: Path) -> None:
    h = started(workdir, limit=1)
    try:
        view = h.app.view
        assert view.state == "full" and [w.ticket for w in view.waiting] == ["B001"], view
        assert "Prosimy czekać" in h.texts(), h.texts()
        enter_staff(h)
        h.tap_id("queue")
        h.wait_for(lambda: len(h.widget("rows").children) == 1, what="the waiting ticket")
        assert any("B001" in t for t in h.texts()), h.texts()
    finally:
        h.stop()


def every_button(h: Harness) -> list[tuple[str, Any]]:
    from kiosk.ui.widgets import HoldCorner, KioskButton

    found = []
    from kiosk.ui.screens import SCREENS

    for name in SCREENS:
        h.app.go(name)
        h.frames(3)

        def walk(widget: Any, screen: str = name) -> None:
            if isinstance(widget, KioskButton | HoldCorner) and widget.opacity > 0:
                found.append((f"{screen}:{widget.text!r}", widget))
            for child in widget.children:
                walk(child)

        walk(h.screen(name))
    return found


@scenario
def touch_targets(workdir: Path) -> None:
    from kiosk.ui.theme import min_touch_px

    diagonal = {(800, 480): 7.0, (1280, 800): 10.0}[(WIDTH, HEIGHT)]
    minimum = min_touch_px(WIDTH, HEIGHT, diagonal)
    h = started(workdir)
    try:
        h.scan(code("ADMIT"))  # fill the result and refusal screens first
        h.wait_for(lambda: h.app.current == "result", what="a result")
        h.scan(code("ADMIT"))
        h.wait_for(lambda: h.app.current == "refusal", what="a refusal")
        h.app.staff_id = "s-anna"
        h.branch.staff_action("walk_in", {"party_size": 1}, by="s-anna").result(5)
        h.settle()
        h.app.open_queue()
        h.frames(3)
        buttons = every_button(h)
        smallest = min(buttons, key=lambda item: min(item[1].size))
        print(f"smallest touch target: {smallest[0]} {[round(v) for v in smallest[1].size]}")
        small = [(name, tuple(round(v) for v in w.size))
                 for name, w in buttons if min(w.size) < minimum]
        assert not small, f"touch targets under {minimum:.1f} px (9 mm): {small}"
    finally:
        h.stop()


@scenario
def large_screen(workdir: Path) -> None:
    """The main screens at 1280x800, for the screenshots folder."""
    h = started(workdir)
    try:
        both_languages(h, "welcome")
        h.tap_id("enter_code")
        h.type_on_keypad("keypad", code("ADMIT")[:5])
        both_languages(h, "code")
        h.type_on_keypad("keypad", code("ADMIT")[5:])
        h.tap_id("ok")
        h.wait_for(lambda: h.app.current == "result", what="the result")
        both_languages(h, "result")
        h.scan(code("ADMIT"))
        h.wait_for(lambda: h.app.current == "refusal", what="the refusal")
        both_languages(h, "refusal-already")
        h.app.go_welcome()
        enter_staff(h)
        both_languages(h, "staff")
    finally:
        h.stop()


def main(argv: list[str]) -> int:
    name, workdir = argv[0], Path(argv[1])
    workdir.mkdir(parents=True, exist_ok=True)
    SCENARIOS[name](workdir)
    print(f"scenario {name} passed at {WIDTH}x{HEIGHT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
