"""Drives the real kiosk app headless, one app per process (Kivy's Window is global).

Used only inside the subprocess that ``run_scenario`` starts: the environment is set before
the first Kivy import, the app is prepared without ``App.run()``, and frames are advanced
explicitly, as in kivy/tests/common.py. Time for the branch is a settable clock; the screen's
inactivity clock is another, so a test moves time without sleeping.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ["KIVY_NO_CONSOLELOG"] = "1"

from kiosk.ui.app import prepare_kivy

SIZE = os.environ.get("UI_TEST_SIZE", "800x480")
WIDTH, HEIGHT = (int(v) for v in SIZE.split("x"))
prepare_kivy(width=WIDTH, height=HEIGHT)

from kivy.base import EventLoop, runTouchApp  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.tests.common import UnitTestTouch  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from kiosk.branch import Branch  # noqa: E402
from kiosk.config import KioskConfig  # noqa: E402
from kiosk.printing.backends import make_slip_printer  # noqa: E402
from kiosk.printing.queue import PrintQueue  # noqa: E402
from kiosk.printing.status import PrinterStatus  # noqa: E402
from kiosk.printing.worker import Backoff, Notification, PrinterWorker  # noqa: E402
from kiosk.store import Store  # noqa: E402
from kiosk.ui.kiosk_app import KioskApp  # noqa: E402
from kiosk.ui.pin_gate import PinGate  # noqa: E402
from kiosk.ui.widgets import KioskButton  # noqa: E402
from tests.ui.ui_config import NOW  # noqa: E402

ARTIFACTS = Path(os.environ.get("UI_TEST_ARTIFACTS", "test-artifacts/screenshots"))


class SettableClock:
    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += timedelta(**delta)


class Ticker:
    """The screen's monotonic clock: real time plus whatever the test skips ahead."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped


class Harness:
    def __init__(self, config: KioskConfig, *, now: datetime = NOW,
                 pin_gate: PinGate | None = None) -> None:
        self.config = config
        self.door: Any = None
        self.clock = SettableClock(now)
        self.ticker = Ticker()
        self.branch = Branch(config, clock=self.clock)
        self.stores: list[Store] = []
        self.worker = PrinterWorker(self._open_queue, make_slip_printer(config.printer),
                                    self._printer_report, self.clock,
                                    backoff=Backoff(0.2, 1.0), poll_interval_s=0.1,
                                    status_interval_s=0.5)
        self.branch.printer = self.worker
        self.app = KioskApp(config, self.branch, monotonic=self.ticker, answer_timeout_s=10,
                            call_display_s=2.0, pin_gate=pin_gate, sound=False)

    def _open_queue(self) -> PrintQueue:
        store = Store(self.config.database_path)
        self.stores.append(store)
        return PrintQueue(store.db)

    def _printer_report(self, note: Notification) -> None:
        if isinstance(note, PrinterStatus):
            self.branch.post(lambda: self.branch.set_printer_state(note.state, note.detail))

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Harness:
        self.branch.start()
        self.worker.start()
        if self.config.door.enabled:
            from kiosk.door_adapter import attach_door

            self.door = attach_door(self.branch, self.config)
        self.app._run_prepare()
        runTouchApp(embedded=True)
        self.wait_for(lambda: self.app.view is not None, what="the first view of the branch")
        return self

    def stop(self) -> None:
        if self.door is not None:
            self.door.stop()
        self.worker.stop()
        self.branch.stop()
        for store in self.stores:
            store.close()

    # --- frames and waiting -------------------------------------------------------------

    def frames(self, count: int = 1) -> None:
        for _ in range(count):
            EventLoop.idle()

    def wait_for(self, condition: Callable[[], object], *, timeout: float = 10.0,
                 what: str = "the condition") -> None:
        deadline = time.monotonic() + timeout
        for _ in range(100_000):
            self.frames()
            if condition():
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        raise AssertionError(f"timed out after {timeout} s waiting for {what} "
                             f"(screen {self.app.current!r})")

    def settle(self) -> None:
        """Let the owner finish what was posted and the views reach the screen."""
        self.branch.submit(lambda: None).result(5)
        self.frames(3)
        self.branch.submit(lambda: None).result(5)
        self.frames(3)

    # --- finding and touching widgets ---------------------------------------------------

    def screen(self, name: str | None = None) -> Any:
        assert self.app.sm is not None
        return self.app.screen(name or self.app.current)

    def widget(self, widget_id: str, screen: str | None = None) -> Any:
        found = self.screen(screen).ids.get(widget_id)
        if found is None:
            raise AssertionError(f"no widget {widget_id!r} on screen {screen or self.app.current}")
        return found

    def tap(self, widget: Widget) -> None:
        self.frames(2)  # a screen change finishes on the next frame; touches wait for it
        assert not widget.disabled, f"{widget} is disabled"
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.frames()
        touch.touch_up()
        self.frames()

    def tap_id(self, widget_id: str) -> None:
        self.tap(self.widget(widget_id))

    def hold(self, widget: Widget, seconds: float,
             until: Callable[[], object] | None = None) -> None:
        """Press for ``seconds``; with ``until``, keep pressing (at most 5 s more) until it
        holds, so a slow frame cannot release the finger just before the gesture fires."""
        self.frames(2)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        end = time.monotonic() + seconds
        give_up = end + 5.0
        while time.monotonic() < end or (
                until is not None and not until() and time.monotonic() < give_up):
            self.frames()
            time.sleep(0.01)
        touch.touch_up()
        self.frames()

    def key_button(self, keypad_id: str, key: str) -> KioskButton:
        for _ in range(5):  # a keypad lays out its keys on the frame after it is built
            for child in self.widget(keypad_id).children:
                if isinstance(child, KioskButton) and child.key == key:
                    return child
            self.frames()
        raise AssertionError(f"no key {key!r} on keypad {keypad_id}")

    def type_on_keypad(self, keypad_id: str, keys: str) -> None:
        for key in keys:
            self.tap(self.key_button(keypad_id, key))

    def scan(self, text: str) -> None:
        """A USB scanner: characters as text input, then Enter."""
        Window.dispatch("on_textinput", text)
        Window.dispatch("on_key_down", 13, 40, None, [])
        Window.dispatch("on_key_up", 13, 40)
        self.frames()

    # --- looking ------------------------------------------------------------------------

    def screenshot(self, name: str) -> Path:
        """Draw the current frame and read it back before it is swapped out."""
        self.frames(2)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        Window.dispatch("on_draw")
        saved = Path(Window.screenshot(name=str(ARTIFACTS.resolve() / "shot.png")))
        target = ARTIFACTS / f"{name}-{self.app.language}-{WIDTH}x{HEIGHT}.png"
        saved.replace(target)
        return target

    def texts(self, screen: str | None = None) -> list[str]:
        """Every text drawn on a screen, for asserting what the customer reads."""
        found: list[str] = []

        def walk(widget: Widget) -> None:
            text = getattr(widget, "text", None)
            if isinstance(text, str) and text and widget.opacity > 0:
                found.append(text)
            for child in widget.children:
                walk(child)

        walk(self.screen(screen))
        return found
