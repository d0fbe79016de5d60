"""The Kivy app: screens, navigation, and the hop between the owner's thread and Kivy's.

The owner of the branch's state (``kiosk.branch.Branch``) tells listeners each new view on
its own thread; ``_view_from_owner`` only schedules the view onto Kivy's thread. Check-ins
and staff actions return Futures; their answers come back through ``Clock`` as well. Nothing
here waits on a Future, the store, the door, the printer or the broker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.config import KioskConfig
from kiosk.settings import describe_hours
from kiosk.staff import staff_for_pin
from kiosk.ui import paths, presenters, theme
from kiosk.ui.code_buffer import KEYPAD_KEYS, CodeBuffer
from kiosk.ui.i18n import N_, Translator
from kiosk.ui.idle import IdleTimer
from kiosk.ui.pin_gate import PinGate
from kiosk.ui.scanner import ScannerBuffer
from kiosk.ui.screens import SCREENS, StaffScreen
from kiosk.ui.sd_notify import notify, watchdog_interval_s
from kiosk.ui.staff_alarm import raise_pin_alarm
from kiosk.ui.widgets import QueueRow

if TYPE_CHECKING:  # loaded after the first frame: the screen shows before the branch's modules
    from kiosk.branch import Branch, BranchView
    from kiosk.checkin import CheckinResult

log = logging.getLogger(__name__)

ENTER_KEYS = (13, 271)  # Return and the keypad's Enter
BACKSPACE = 8
TICKET_KEYS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
NUMBER_PROMPTS = {
    "set_count": N_("New count of people inside"),
    "set_limit": N_("New limit"),
    "walk_in": N_("Number of people (walk-in)"),
}
CALL_SCREENS = ("welcome", "call")  # a call never interrupts a customer typing or reading
CALL_STALE_S = 30.0  # a call not shown by then is dropped: its admission window has passed
_fonts_registered = False


def register_fonts() -> None:
    """DejaVu Sans, with every Polish letter, becomes the default font of every label."""
    global _fonts_registered
    if not _fonts_registered:
        LabelBase.register("Roboto", str(paths.font_regular()), None,
                           str(paths.font_bold()), None)
        _fonts_registered = True


class KioskApp(App):
    language = StringProperty("pl")
    view = ObjectProperty(None, allownone=True)
    unit = NumericProperty(10.0)
    checking = BooleanProperty(False)
    staff_id = StringProperty("")
    staff_message = StringProperty("")
    pin_keys_enabled = BooleanProperty(True)
    staff_hold_s = NumericProperty(3.0)
    code_keys = KEYPAD_KEYS
    ticket_keys = TICKET_KEYS

    def __init__(self, config: KioskConfig, branch: Branch | None = None, *,
                 start_branch: Callable[[], Branch] | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 answer_timeout_s: float = 15.0, call_display_s: float = 8.0,
                 pin_gate: PinGate | None = None, sound: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title = "Check-in"
        self.kiosk_config = config
        self.branch: Branch | None = branch
        self._start_branch = start_branch
        self.monotonic = monotonic
        self.answer_timeout_s = answer_timeout_s
        self.call_display_s = call_display_s
        self.pin_gate = pin_gate or PinGate()
        self.want_sound = sound
        self.language = config.ui.language
        self.tr = Translator(paths.locale_dir())
        self.code = CodeBuffer()
        self.scanner = ScannerBuffer()
        self.idle = IdleTimer(monotonic())
        self.pin_typed = ""
        self.counters = {"checkins": 0, "late_answers": 0, "calls_shown": 0,
                         "pin_failures": 0, "scans": 0}
        self._calls: deque[tuple[str, float]] = deque()
        self._called_head: str | None = None
        self._have_baseline = False
        self._call_end: Any = None
        self._chime: Any = None
        self._pending_result: CheckinResult | None = None
        self.sm: ScreenManager | None = None

    # --- building ------------------------------------------------------------------------

    def build(self) -> ScreenManager:
        register_fonts()
        Window.clearcolor = theme.GROUND
        Builder.load_file(str(paths.KV_DIR / "widgets.kv"))
        self.sm = ScreenManager(transition=NoTransition())
        self.screen("welcome")  # the others are built after the first frame, one per frame
        Window.bind(size=self._fit_unit, on_textinput=self._on_text,
                    on_key_down=self._on_key_down, on_touch_down=self._on_any_touch)
        self._fit_unit(Window, Window.size)
        if self.branch is not None:
            self.attach(self.branch)
        elif self._start_branch is not None:
            Window.bind(on_flip=self._start_after_first_frame)
        Clock.schedule_interval(self._every_second, 1.0)
        return self.sm

    def _start_after_first_frame(self, *_: Any) -> None:
        """The Welcome screen is up (from the configuration): now start the branch itself."""
        Window.unbind(on_flip=self._start_after_first_frame)
        start = self._start_branch
        if start is not None:
            Clock.schedule_once(lambda _dt: self.attach(start()), 0)

    def attach(self, branch: Branch) -> None:
        """Show what this branch's owner tells; from now on codes and staff acts go to it."""
        self.branch = branch
        branch.add_listener(self._view_from_owner)
        self.when_done(branch.submit(branch.view), self._first_view)
        self.when_done(branch.submit(branch.staff_pin_state), self._restore_pin_gate)

    def _restore_pin_gate(self, future: Future[Any]) -> None:
        if future.exception() is None:
            failures, wait_s = future.result()
            self.pin_gate.restore(failures, wait_s, self.monotonic())

    def screen(self, name: str) -> Any:
        """The screen called ``name``, built on first use."""
        assert self.sm is not None
        if not self.sm.has_screen(name):
            Builder.load_file(str(paths.KV_DIR / f"{name}.kv"))  # each screen's rules, once
            self.sm.add_widget(SCREENS[name](name=name))
        return self.sm.get_screen(name)

    def _build_next_screen(self, _dt: float) -> None:
        missing = [name for name in SCREENS if self.sm is not None
                   and not self.sm.has_screen(name)]
        if missing:
            self.screen(missing[0])
            Clock.schedule_once(self._build_next_screen, 0)

    def on_start(self) -> None:
        Clock.schedule_once(self._build_next_screen, 0.5)

    def _ready(self) -> None:
        """systemd: the window is up and the branch's state is shown; the watchdog starts."""
        notify("READY=1")
        interval = watchdog_interval_s()
        if interval is not None:  # pinged from Kivy's loop: a frozen UI stops the pings
            Clock.schedule_interval(lambda _dt: notify("WATCHDOG=1"), interval)

    def _fit_unit(self, _window: Any, size: tuple[int, int]) -> None:
        width, height = size
        self.unit = min(height / 48.0, width / 80.0)

    # --- the hop from other threads ------------------------------------------------------

    def _view_from_owner(self, view: BranchView) -> None:
        """On the owner's thread: hand the view to Kivy's thread, nothing else."""
        Clock.schedule_once(lambda _dt: self.take_view(view), 0)

    def when_done(self, future: Future[Any], handler: Callable[[Future[Any]], None]) -> None:
        """Call ``handler(future)`` on Kivy's thread once the future is done."""
        future.add_done_callback(
            lambda done: Clock.schedule_once(lambda _dt: handler(done), 0)
        )

    def _first_view(self, future: Future[Any]) -> None:
        if future.exception() is None and self.view is None:
            self.take_view(future.result())

    def take_view(self, view: BranchView) -> None:
        if self.view is not None and view.at < self.view.at:
            return  # an older view overtaken by a newer one
        if self.view is None:
            self._ready()
        self.view = view
        self._note_calls(view)
        if self.sm is not None and self.sm.current == "staff_queue":
            self._fill_queue()

    # --- navigation ----------------------------------------------------------------------

    def go(self, name: str) -> None:
        assert self.sm is not None
        self.screen(name)
        self.sm.current = name

    @property
    def current(self) -> str:
        return self.sm.current if self.sm is not None else ""

    def go_welcome(self, *, reset_language: bool = False) -> None:
        self.code.clear()
        self._show_code()
        if reset_language:
            self.language = self.kiosk_config.ui.language
        self.go("welcome")
        self._show_next_call()

    def set_language(self, language: str) -> None:
        self.language = language

    # --- code entry and the scanner ------------------------------------------------------

    def open_code_entry(self) -> None:
        self.code.clear()
        self._show_code()
        self.go("code")

    def code_key(self, key: str) -> None:
        self.code.press(key)
        self._show_code()

    def code_delete(self) -> None:
        self.code.delete()
        self._show_code()

    def code_submit(self) -> None:
        if self.code.text:
            self.submit_code(self.code.text)

    def _show_code(self, note: str = "") -> None:
        if self.sm is None:
            return
        screen = self.screen("code")
        screen.typed = self.code.display()
        screen.note = note

    def _on_text(self, _window: Any, text: str) -> None:
        self.idle.touched(self.monotonic())
        if not self._in_staff_mode():
            self.scanner.typed(text, self.monotonic())

    def _on_key_down(self, _window: Any, key: int, _scancode: int, _codepoint: Any,
                     _modifiers: Any) -> bool:
        self.idle.touched(self.monotonic())
        if key in ENTER_KEYS:
            line = self.scanner.enter(self.monotonic())
            if line is not None and not self._in_staff_mode():
                self.counters["scans"] += 1
                self.submit_code(line)
            return True
        if key == BACKSPACE and self.current == "code":
            self.code_delete()
            return True
        return False

    def _on_any_touch(self, _window: Any, _touch: Any) -> bool:
        self.idle.touched(self.monotonic())
        return False

    def submit_code(self, raw: str) -> None:
        """From the keypad or the scanner: ask the owner; the answer comes back by Clock."""
        if self.checking:
            log.info("a code arrived while the previous one is being checked; ignored")
            return
        if self.branch is None:
            log.info("a code arrived before the branch started; ignored")
            return
        self.checking = True
        self.counters["checkins"] += 1
        if self.current != "code":
            self.go("code")
        self._show_code(self.t("Checking…", self.language))
        future = self.branch.check_in(raw, self.language)
        self.when_done(future, self._checkin_answered)
        Clock.schedule_once(partial(self._answer_late, future), self.answer_timeout_s)

    def _answer_late(self, future: Future[Any], _dt: float) -> None:
        if future.done():
            return
        self.counters["late_answers"] += 1
        log.error("no answer to a check-in within %.0f s; the owner of the branch is busy "
                  "or stuck", self.answer_timeout_s)
        self.checking = False
        self.code.clear()
        self._show_code(self.t("The kiosk cannot answer right now. Please ask the staff.",
                               self.language))

    def _checkin_answered(self, future: Future[Any]) -> None:
        self.checking = False
        self.code.clear()
        error = future.exception()
        if error is not None:
            log.error("the check-in failed on the owner's thread: %r", error)
            self._show_code(self.t("The kiosk cannot answer right now. Please ask the staff.",
                                   self.language))
            return
        result: CheckinResult = future.result()
        self._show_code()
        if self._in_staff_mode():
            return
        if result.accepted:
            self.screen("result").result = result
            self.go("result")
        else:
            refusal = self.screen("refusal")
            refusal.result = result
            refusal.note = ""
            self.go("refusal")

    # --- texts for the kv files ----------------------------------------------------------

    def t(self, message: str, language: str, **values: object) -> str:
        return self.tr(message, language, **values)

    def banner(self, view: BranchView | None, language: str) -> tuple[str, str]:
        if view is None:
            return "", ""
        banner = presenters.state_banner(view.state)
        return self.t(banner.title, language), self.t(banner.subtitle, language)

    def state_colours(self, view: BranchView | None) -> tuple[theme.Rgba, theme.Rgba]:
        if view is None:
            return theme.PANEL, theme.TEXT
        return theme.STATE_COLOURS.get(view.state, (theme.CAUTION, theme.CAUTION_TEXT))

    def branch_name(self, view: BranchView | None) -> str:
        return view.branch_name if view is not None else self.kiosk_config.branch.name

    def hours_today(self, view: BranchView | None, language: str) -> str:
        if view is None:  # until the owner answers: the configuration's hours
            return describe_hours(self.kiosk_config.branch, date.today(), language)
        return view.hours_today.get(language) or view.hours_today.get("pl", "")

    def called_line(self, view: BranchView | None, language: str) -> str:
        if view is None or not view.called:
            return ""
        return self.t("Called: {tickets}", language, tickets=", ".join(view.called[:3]))

    def result_service(self, result: CheckinResult | None, language: str) -> str:
        if result is None or result.ticket is None:
            return ""
        return presenters.result_lines(result, self.view, language).service

    def result_instruction(self, result: CheckinResult | None, language: str) -> str:
        if result is None or result.ticket is None:
            return ""
        lines = presenters.result_lines(result, self.view, language)
        return self.t(lines.instruction, language, position=lines.position or 1)

    def slip_printed(self, view: BranchView | None) -> bool:
        return view is None or view.printer in presenters.PRINTED_STATES

    def refusal_title(self, result: CheckinResult | None, language: str) -> str:
        if result is None or result.refusal is None:
            return ""
        return self.t(presenters.refusal_advice(result).title, language)

    def refusal_next_step(self, result: CheckinResult | None, language: str) -> str:
        if result is None or result.refusal is None:
            return ""
        return self.t(presenters.refusal_advice(result).next_step, language)

    def refusal_offers(self, result: CheckinResult | None) -> str:
        if result is None or result.refusal is None:
            return ""
        advice = presenters.refusal_advice(result)
        if advice.reprint_ticket:
            return "reprint"
        return "retry" if advice.retry else ""

    def state_word(self, view: BranchView | None, language: str) -> str:
        return self.t(presenters.STATE_WORDS.get(view.state, view.state), language) if view \
            else "-"

    def door_word(self, view: BranchView | None, language: str) -> str:
        return self.t(presenters.DOOR_WORDS.get(view.door, view.door), language) if view else "-"

    def printer_word(self, view: BranchView | None, language: str) -> str:
        if view is None:
            return "-"
        return self.t(presenters.PRINTER_WORDS.get(view.printer, view.printer), language)

    def staff_notice(self, view: BranchView | None) -> str:
        """The newest thing the owner says the staff should look at (Polish / English)."""
        return view.staff_items[0] if view is not None and view.staff_items else ""

    def sync_word(self, view: BranchView | None, language: str) -> str:
        """The link to central and when its last bookings came: "połączona · 10:42"."""
        if view is None:
            return "-"
        link = self.t(presenters.SYNC_WORDS.get(view.sync, view.sync), language)
        if view.sync == "off":
            return link
        fed = view.last_feed_at[11:16] if view.last_feed_at else self.t("never", language)
        return f"{link} · {fed}"

    # --- reprint for a customer who already checked in -----------------------------------

    def reprint_for_customer(self) -> None:
        refusal = self.screen("refusal")
        result: CheckinResult | None = refusal.result
        if result is None or result.refusal is None or not result.refusal.existing_ticket:
            return
        ticket = result.refusal.existing_ticket
        if self.branch is None:
            return
        refusal.note = self.t("Printing…", self.language)
        future = self.branch.staff_action("reprint", {"ticket": ticket}, by="customer")
        self.when_done(future, self._customer_reprinted)

    def _customer_reprinted(self, future: Future[Any]) -> None:
        refusal = self.screen("refusal")
        answer = future.result() if future.exception() is None else None
        if answer is not None and answer.ok:
            refusal.note = self.t("The slip is being printed again.", self.language)
        else:
            refusal.note = self.t("The slip could not be printed again. Please ask the staff.",
                                  self.language)

    # --- calls ---------------------------------------------------------------------------

    def _note_calls(self, view: BranchView) -> None:
        if not self._have_baseline:
            self._have_baseline = True
            self._called_head = view.called[0] if view.called else None
            return
        fresh: list[str] = []
        for ticket in view.called:
            if ticket == self._called_head:
                break
            fresh.append(ticket)
        if view.called:
            self._called_head = view.called[0]
        for ticket in reversed(fresh):
            self._calls.append((ticket, self.monotonic()))
        if fresh:
            self._show_next_call()

    def _show_next_call(self) -> None:
        if not self._calls or self.current not in CALL_SCREENS or self._in_staff_mode():
            return
        if self.current == "call" and self._call_end is not None:
            return  # the call on screen finishes first
        ticket, called_at = self._calls.popleft()
        if self.monotonic() - called_at > CALL_STALE_S:
            log.info("call of %s not shown: more than %.0f s old", ticket, CALL_STALE_S)
            self._show_next_call()
            return
        self.screen("call").ticket = ticket
        self.go("call")
        self.counters["calls_shown"] += 1
        self._play_chime()
        self._call_end = Clock.schedule_once(self._call_over, self.call_display_s)

    def _call_over(self, _dt: float) -> None:
        self._call_end = None
        if self.current == "call":
            if self._calls:
                self._show_next_call()
            else:
                self.go_welcome()

    def _play_chime(self) -> None:
        if not self.want_sound:
            return
        try:
            if self._chime is None:
                from kivy.core.audio import SoundLoader

                self._chime = SoundLoader.load(str(paths.chime_path())) or False
            if self._chime:
                self._chime.play()
        except Exception as exc:  # no audio device must never stop a call on screen
            log.warning("the call chime cannot play: %s", exc)
            self._chime = False

    # --- the clock: inactivity, the PIN wait ---------------------------------------------

    def _every_second(self, _dt: float) -> None:
        now = self.monotonic()
        screen = self.sm.current_screen if self.sm is not None else None
        if screen is None:
            return
        if isinstance(screen, StaffScreen):
            limit = self.kiosk_config.staff.inactivity_s
            if self.idle.expired(now, limit):
                log.info("staff mode left after %d s without a touch", limit)
                self.leave_staff()
            elif screen.name == "staff_pin":
                self._show_pin_wait(now)
            return
        if screen.name in ("welcome", "call"):
            if self.language != self.kiosk_config.ui.language and self.idle.expired(
                    now, self.kiosk_config.ui.inactivity_s):
                self.language = self.kiosk_config.ui.language
            return
        if not self.checking and self.idle.expired(now, self.kiosk_config.ui.inactivity_s):
            self.go_welcome(reset_language=True)

    # --- staff mode ----------------------------------------------------------------------

    def _in_staff_mode(self) -> bool:
        return self.sm is not None and isinstance(self.sm.current_screen, StaffScreen)

    def open_staff_pin(self) -> None:
        self.pin_typed = ""
        self._show_pin("")
        self.go("staff_pin")
        self._show_pin_wait(self.monotonic())

    def _show_pin(self, note: str | None = None) -> None:
        screen = self.screen("staff_pin")
        screen.dots = "●" * len(self.pin_typed)
        if note is not None:
            screen.note = note

    def _show_pin_wait(self, now: float) -> None:
        wait = self.pin_gate.wait_s(now)
        if wait > 0:
            self._show_pin(self.t("Wrong PIN. Wait {seconds} s before the next try.",
                                  self.language, seconds=int(wait + 0.999)))
        elif not self.kiosk_config.staff.pins:
            self._show_pin(self.t("No staff PIN is set up on this kiosk.", self.language))

    def pin_key(self, key: str) -> None:
        if key == "del":
            self.pin_typed = self.pin_typed[:-1]
        elif key == "ok":
            self._try_pin()
            return
        elif key.isdigit() and len(self.pin_typed) < 12:
            self.pin_typed += key
        self._show_pin()

    def _try_pin(self) -> None:
        now = self.monotonic()
        if self.pin_gate.wait_s(now) > 0:
            self.pin_typed = ""
            self._show_pin_wait(now)
            return
        pin, self.pin_typed = self.pin_typed, ""
        self.pin_keys_enabled = False
        self._show_pin(self.t("Checking…", self.language))
        pins = dict(self.kiosk_config.staff.pins)

        def check() -> None:  # PBKDF2 takes a noticeable moment: never on Kivy's thread
            staff = staff_for_pin(pin, pins) if pin else None
            Clock.schedule_once(lambda _dt: self._pin_checked(staff), 0)

        threading.Thread(target=check, name="staff-pin-check", daemon=True).start()

    def _pin_checked(self, staff: str | None) -> None:
        self.pin_keys_enabled = True
        if self.current != "staff_pin":
            return
        if staff is not None:
            self.pin_gate.succeeded()
            self._keep_pin_gate(0.0)
            self.staff_id = staff
            self.staff_message = ""
            self._show_pin("")
            log.info("staff mode entered by %s", staff)
            self.go("staff")
            return
        self.counters["pin_failures"] += 1
        now = self.monotonic()
        alarm = self.pin_gate.failed(now)
        self._keep_pin_gate(self.pin_gate.wait_s(now))
        if alarm:
            failures = self.pin_gate.failures
            log.warning("%d wrong staff PINs in a row: raising an alarm", failures)
            if self.branch is not None:
                self.branch.submit(partial(raise_pin_alarm, self.branch, failures))
        self._show_pin_wait(now)

    def _keep_pin_gate(self, wait_s: float) -> None:
        if self.branch is not None:
            self.branch.post(partial(self.branch.save_staff_pin_state, self.pin_gate.failures,
                                     wait_s))

    def leave_staff(self) -> None:
        if self.staff_id:
            log.info("staff mode left by %s", self.staff_id)
        self.staff_id = ""
        self.staff_message = ""
        self.pin_typed = ""
        self.go_welcome(reset_language=True)

    def say_to_staff(self, message: str, **values: object) -> None:
        """Show a staff message; it follows a later change of language."""
        self._staff_said = (message, values)
        self.staff_message = self.t(message, self.language, **values)

    def on_language(self, _app: object, language: str) -> None:
        said = getattr(self, "_staff_said", None)
        if said is not None and self.staff_message:
            self.staff_message = self.t(said[0], language, **said[1])

    def staff_act(self, action: str, args: dict[str, Any]) -> None:
        if not self.staff_id or self.branch is None:
            return
        self.say_to_staff("Working…")
        future = self.branch.staff_action(action, args, by=self.staff_id)
        self.when_done(future, partial(self._staff_answered, action))

    def _staff_answered(self, action: str, future: Future[Any]) -> None:
        error = future.exception()
        if error is not None:
            self.say_to_staff("Refused: {error}", error=str(error))
            return
        answer = future.result()
        if not answer.ok:
            self.say_to_staff("Refused: {error}", error=answer.error)
        elif "ticket" in answer.detail:
            self.say_to_staff("Done: ticket {ticket}", ticket=answer.detail["ticket"])
        else:
            self.say_to_staff("Done: {action}", action=action)

    def ask_number(self, kind: str) -> None:
        screen = self.screen("staff_number")
        screen.action = kind
        screen.prompt = NUMBER_PROMPTS[kind]
        screen.value = ""
        self.go("staff_number")

    def number_key(self, key: str) -> None:
        screen = self.screen("staff_number")
        if key == "del":
            screen.value = screen.value[:-1]
        elif key == "ok":
            if not screen.value:
                return
            number = int(screen.value)
            action, args = {
                "set_count": ("adjust_count", {"count": number}),
                "set_limit": ("set_limit", {"limit": number}),
                "walk_in": ("walk_in", {"party_size": number}),
            }[screen.action]
            self.go("staff")
            self.staff_act(action, args)
        elif key.isdigit() and len(screen.value) < 4:
            screen.value += key

    def ask_ticket(self) -> None:
        self.screen("staff_ticket").value = ""
        self.go("staff_ticket")

    def ticket_key(self, key: str) -> None:
        screen = self.screen("staff_ticket")
        if key == "del":
            screen.value = screen.value[:-1]
        elif key == "ok":
            if screen.value:
                self.go("staff")
                self.staff_act("reprint", {"ticket": screen.value})
        elif len(screen.value) < 6:
            screen.value += key

    def open_queue(self) -> None:
        self.staff_message = ""
        self.go("staff_queue")
        self._fill_queue()

    def _fill_queue(self) -> None:
        screen = self.screen("staff_queue")
        waiting = list(self.view.waiting) if self.view else []
        screen.waiting = waiting
        rows = screen.ids.rows
        rows.clear_widgets()
        for item in waiting:
            rows.add_widget(QueueRow(ticket=item.ticket, party=item.party_size))

    def confirm_emergency(self) -> None:
        self.go("staff")
        self.staff_act("emergency", {})
