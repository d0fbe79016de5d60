"""``kiosk run``: the touch screen over a running branch.

Kivy reads its settings from the environment and ``Config`` when it is first imported, so
``prepare_kivy`` runs before any Kivy import; the Kivy app itself is in ``kiosk_app``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from kiosk.config import KioskConfig
from kiosk.ownership import StoreOwnership

if TYPE_CHECKING:
    from kiosk.branch import Branch

log = logging.getLogger(__name__)


def prepare_kivy(*, width: int = 800, height: int = 480, fullscreen: bool = False,
                 headless_logs: bool = True) -> None:
    """Settle Kivy's options before the first ``import kivy``."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # `kiosk run --config ...` is ours, not Kivy's
    if headless_logs:
        os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # Kivy logs through logging, like us
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "1")
    Config.set("kivy", "exit_on_escape", "0")  # a keyboard's Esc must not close the kiosk
    Config.set("input", "mouse", "mouse,disable_multitouch")


class RuntimeStarter:
    """Starts the full runtime (owner, printer, door, sync) when the app asks, once its first
    frame is drawn: on a Pi the branch's modules take seconds to load, the screen should not."""

    def __init__(self, config: KioskConfig) -> None:
        self.config = config
        self.runtime: Any = None

    def __call__(self) -> Branch:
        from kiosk.runtime import BranchRuntime

        self.runtime = BranchRuntime(self.config)
        self.runtime.start()
        return self.runtime.branch

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()


def run_app(config: KioskConfig) -> int:
    """The kiosk window over the full runtime; 0 on a clean exit."""
    # Before the window: a store another process runs the branch on is refused here
    # (StoreInUse), not from Kivy's loop once the window is up.
    StoreOwnership.acquire(config.database_path, "a starting kiosk").release()
    prepare_kivy(fullscreen=config.ui.fullscreen)
    from kiosk.ui.kiosk_app import KioskApp

    starter = RuntimeStarter(config)
    app = KioskApp(config, start_branch=starter)
    stop_on_sigterm(app)
    try:
        app.run()
    finally:
        starter.stop()
    return 0


def stop_on_sigterm(app: Any) -> None:
    """systemd stops the kiosk with SIGTERM: leave Kivy's loop so the runtime stops cleanly."""
    import signal

    from kivy.clock import Clock

    def stop(_signum: int, _frame: Any) -> None:
        log.info("SIGTERM: stopping the kiosk")
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    signal.signal(signal.SIGTERM, stop)
