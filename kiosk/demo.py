"""``kiosk demo``: a whole branch on one machine, for trying the kiosk and for the README.

It starts a broker (the system's mosquitto on a free port, or without one an embedded
Python broker, amqtt, which speaks MQTT 3.1.1 only, so central and the kiosk are told to
speak 3.1.1 to it), the reference central with
today's sample bookings, the door simulator under ``micropython`` on a pseudo-terminal, the
printer writing PNG previews into a folder, and the kiosk window. The console says which
codes to try and where the slips go. Everything goes into ``./demo-data`` (or
``$KIOSK_DEMO_DIR``). A part that cannot start is said on the console and left out; the
rest still runs.

``--broker`` (or ``$KIOSK_DEMO_BROKER``) chooses: ``auto`` (mosquitto when installed, else the
embedded one), ``mosquitto`` or ``embedded``.

``--headless`` runs the same without the window: codes come on standard input one per line
(``in`` and ``out`` make someone walk through the door, ``status`` shows the count and
the door, ``quit`` ends), answers go to
standard output as JSON lines, the first one saying what is running and which codes to try.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from kiosk.bookings import parse_feed
from kiosk.config import KioskConfig, load_config, parse_config
from kiosk.demo_data import (
    DEMO_BRANCH,
    DEMO_KIOSK,
    DemoBooking,
    codes_to_try,
    demo_bookings,
    demo_settings,
)
from kiosk.runtime import BranchRuntime
from kiosk.staff import hash_pin

log = logging.getLogger(__name__)

DEMO_DIR_ENV = "KIOSK_DEMO_DIR"
BROKER_ENV = "KIOSK_DEMO_BROKER"
BROKER_CHOICES = ("auto", "mosquitto", "embedded")
START_TIMEOUT_S = 15.0
FEED_TIMEOUT_S = 20.0
ANSWER_TIMEOUT_S = 30.0
WALK_KEYS = {286: "in", 287: "out"}  # F5 and F6 in the kiosk window
DEMO_STAFF_PIN = "1234"  # the demo's only staff member; a real kiosk never has a known PIN


@dataclass
class DemoParts:
    folder: Path
    broker_port: int | None = None
    broker_kind: str | None = None  # "mosquitto" or "embedded" once one runs
    mqtt_protocol: str = "5"  # what central and the kiosk speak to that broker
    central: bool = False
    door: Any = None  # a firmware_bridge.simulator.SimulatedBoard when running
    notes: list[str] = field(default_factory=list)
    bookings_via: str = ""


def demo_folder() -> Path:
    folder = Path(os.environ.get(DEMO_DIR_ENV) or "demo-data").resolve()
    for part in ("kiosk", "central", "slips", "broker", "door"):
        shutil.rmtree(folder / part, ignore_errors=True)  # a fresh branch every run
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- the parts ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited at start (code {process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S} s")


@contextlib.contextmanager
def _process(args: list[str], log_path: Path, what: str) -> Iterator[subprocess.Popen[bytes]]:
    with open(log_path, "ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within 10 s; killing it", what)
                process.kill()
                process.wait(5)


def _find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


@contextlib.contextmanager
def broker(parts: DemoParts, choice: str = "auto") -> Iterator[None]:
    """The system's mosquitto, or the embedded broker without one (or when asked for)."""
    mosquitto = _find_mosquitto() if choice != "embedded" else None
    if mosquitto is not None:
        with mosquitto_broker(parts, mosquitto):
            yield
    elif choice == "mosquitto":
        parts.notes.append("no broker: mosquitto is not installed (apt-get install mosquitto, "
                           "or --broker embedded); bookings go straight into the kiosk and "
                           "nothing reaches central")
        yield
    else:
        with embedded_broker(parts):
            yield


@contextlib.contextmanager
def embedded_broker(parts: DemoParts) -> Iterator[None]:
    """amqtt in its own process: pure Python, MQTT 3.1.1 only, enough for one demo branch."""
    if importlib.util.find_spec("amqtt") is None:
        parts.notes.append("no broker: mosquitto is not installed and neither is amqtt "
                           "(apt-get install mosquitto, or pip install amqtt); bookings go "
                           "straight into the kiosk and nothing reaches central")
        yield
        return
    folder = parts.folder / "broker"
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    conf = folder / "amqtt.yaml"
    settings = {  # JSON is YAML too, and amqtt reads YAML
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                    {"allow_anonymous": True}},
    }
    conf.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    args = [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)]
    try:
        with _process(args, folder / "amqtt.log", "amqtt") as proc:
            _wait_port(port, proc, "amqtt")
            parts.broker_port, parts.broker_kind, parts.mqtt_protocol = port, "embedded", "3.1.1"
            yield
    except RuntimeError as exc:
        if parts.broker_port is not None:
            raise  # not a start-up failure: something after the start went wrong
        parts.notes.append(f"no broker: the embedded broker did not start ({exc}); see "
                           f"{folder / 'amqtt.log'}")
        yield


@contextlib.contextmanager
def mosquitto_broker(parts: DemoParts, mosquitto: str) -> Iterator[None]:
    folder = parts.folder / "broker"
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "log_dest stderr\n", encoding="utf-8")
    with _process([mosquitto, "-c", str(conf)], folder / "mosquitto.log", "mosquitto") as proc:
        _wait_port(port, proc, "mosquitto")
        parts.broker_port, parts.broker_kind = port, "mosquitto"
        yield


@contextlib.contextmanager
def central(parts: DemoParts, bookings: list[DemoBooking]) -> Iterator[None]:
    if parts.broker_port is None:
        yield
        return
    folder = parts.folder / "central"
    folder.mkdir(parents=True, exist_ok=True)
    db = str(folder / "central.sqlite3")
    settings_file = folder / "demo-branch.json"
    settings_file.write_text(json.dumps(demo_settings(), ensure_ascii=False), encoding="utf-8")
    bookings_file = folder / "bookings.json"
    bookings_file.write_text(json.dumps([b.booking for b in bookings], ensure_ascii=False),
                             encoding="utf-8")
    central_cli = [sys.executable, "-m", "central.cli", "--log-level", "WARNING"]
    for args in (["branches", "set-config", DEMO_BRANCH, str(settings_file), "--db", db],
                 ["bookings", "import", str(bookings_file), "--branch", DEMO_BRANCH,
                  "--db", db, "--no-progress"]):
        done = subprocess.run(central_cli + args, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            parts.notes.append(f"central {' '.join(args[:2])} failed: "
                               f"{(done.stderr or done.stdout).strip()[-300:]}")
            yield
            return
    serve = [*central_cli, "serve", "--db", db, "--broker", f"127.0.0.1:{parts.broker_port}",
             "--client-id", "demo-central", "--mqtt-protocol", parts.mqtt_protocol]
    with _process(serve, folder / "central.log", "central serve") as proc:
        time.sleep(0.3)
        if proc.poll() is not None:
            parts.notes.append(f"central serve exited at start; see {folder / 'central.log'}")
        else:
            parts.central = True
        yield


@contextlib.contextmanager
def door(parts: DemoParts) -> Iterator[None]:
    if importlib.util.find_spec("kiosk.door_adapter") is None:
        parts.notes.append("no door: the kiosk cannot attach a door board "
                           "(kiosk.door_adapter is missing)")
        yield
        return
    from firmware_bridge.simulator import SimulatedBoard, SimulatorError, find_micropython

    interpreter = "micropython" if find_micropython() else "cpython"
    board = SimulatedBoard(parts.folder / "door", interpreter=interpreter)
    try:
        board.start()
    except (SimulatorError, OSError) as exc:
        parts.notes.append(f"no door: the simulator did not start ({exc})")
        yield
        return
    parts.door = board
    try:
        yield
    finally:
        board.close()


def demo_config(parts: DemoParts) -> KioskConfig:
    raw: dict[str, Any] = {
        "kiosk": {"branch": DEMO_BRANCH, "id": DEMO_KIOSK},
        "paths": {"data_dir": "kiosk", "spool_dir": "kiosk/spool"},
        "branch": {k: v for k, v in demo_settings().items() if k != "version"},
        "door": {"enabled": parts.door is not None,
                 "port": parts.door.port if parts.door is not None else ""},
        "printer": {"backend": "preview", "preview_dir": "slips"},
        "mqtt": {"enabled": parts.broker_port is not None,
                 "port": parts.broker_port or 1883, "protocol": parts.mqtt_protocol},
        "ui": {"language": "pl", "fullscreen": False, "inactivity_s": 30},
        "staff": {"pins": {"demo-staff": hash_pin(DEMO_STAFF_PIN, iterations=20_000)}},
    }
    return parse_config(raw, source="<demo>", base_dir=parts.folder)


# --- bookings reach the kiosk ------------------------------------------------------------


def _bookings_known(runtime: BranchRuntime) -> int:
    branch = runtime.branch
    return int(branch.submit(branch.store.count_bookings).result(ANSWER_TIMEOUT_S))


def feed_bookings(runtime: BranchRuntime, parts: DemoParts, bookings: list[DemoBooking]) -> None:
    """Wait for central's feed over MQTT; without it, load the bookings straight in."""
    if parts.central:
        deadline = time.monotonic() + FEED_TIMEOUT_S
        while time.monotonic() < deadline:
            if _bookings_known(runtime) >= len(bookings):
                parts.bookings_via = "central over MQTT"
                return
            time.sleep(0.2)
        parts.notes.append(f"central's bookings did not arrive within {FEED_TIMEOUT_S:.0f} s; "
                           "loaded straight into the kiosk instead")
    feed = parse_feed({"bookings": [b.booking for b in bookings]}, max_bookings=None)
    branch = runtime.branch
    branch.submit(lambda: branch.store.upsert_bookings(
        feed.bookings, datetime.now(branch.settings.zone))).result(ANSWER_TIMEOUT_S)
    parts.bookings_via = "loaded straight into the kiosk"


def walk(parts: DemoParts, direction: str) -> str:
    """Someone walks through the simulated door; off the caller's thread's critical path."""
    if parts.door is None:
        return "no door simulator is running"
    action = parts.door.walk_in if direction == "in" else parts.door.walk_out
    threading.Thread(target=action, name=f"demo-walk-{direction}", daemon=True).start()
    return f"someone walks {direction}"


# --- the console -------------------------------------------------------------------------


def summary(parts: DemoParts, config: KioskConfig, bookings: list[DemoBooking]) -> dict[str, Any]:
    return {
        "demo": "ready",
        "codes": codes_to_try(bookings),
        "slips": str(Path(config.printer.preview_dir or "")),
        "data": str(parts.folder),
        "broker": f"127.0.0.1:{parts.broker_port}" if parts.broker_port else None,
        "broker_kind": parts.broker_kind,
        "mqtt_protocol": parts.mqtt_protocol if parts.broker_port else None,
        "central": parts.central,
        "door": parts.door.port if parts.door is not None else None,
        "bookings": parts.bookings_via,
        "notes": parts.notes,
    }


def announce(info: dict[str, Any], out: IO[str], *, headless: bool) -> None:
    codes = info["codes"]
    lines = [
        "",
        "Demo branch is running.",
        f"  Codes to try now:      {', '.join(codes.get('ready', []))}",
        f"  Too early:             {', '.join(codes.get('too_early', []))}",
        f"  Too late:              {', '.join(codes.get('too_late', []))}",
        f"  Cancelled:             {', '.join(codes.get('cancelled', []))}",
        f"  Slips (PNG) go to:     {info['slips']}",
        f"  Broker:                {_broker_line(info)}",
        f"  Central:               {'running' if info['central'] else 'not running'}",
        f"  Door simulator:        {info['door'] or 'not running'}",
        f"  Bookings:              {info['bookings']}",
    ]
    lines += [f"  Note: {note}" for note in info["notes"]]
    if headless:
        lines.append("  Type a code and Enter to check in; 'in' / 'out' to walk through the "
                     "door; 'status' for the count; 'quit' to stop.")
    else:
        lines.append("  In the window: F5 someone walks in, F6 someone walks out. Staff mode: "
                     f"hold the branch name 3 s, PIN {DEMO_STAFF_PIN}.")
    print("\n".join(lines) + "\n", file=out, flush=True)


def _broker_line(info: dict[str, Any]) -> str:
    if not info["broker"]:
        return "none"
    if info["broker_kind"] == "embedded":
        return f"{info['broker']} (embedded Python broker amqtt, MQTT 3.1.1)"
    return f"{info['broker']} ({info['broker_kind']}, MQTT {info['mqtt_protocol']})"


def headless_loop(runtime: BranchRuntime, parts: DemoParts, lines: IO[str],
                  out: IO[str]) -> None:
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text == "quit":
            break
        if text in ("in", "out"):
            out.write(json.dumps({"door": walk(parts, text)}) + "\n")
            out.flush()
            continue
        if text == "status":
            branch = runtime.branch
            view = branch.submit(branch.view).result(ANSWER_TIMEOUT_S)
            out.write(json.dumps({
                "state": view.state, "count": view.count, "limit": view.limit,
                "waiting": [w.ticket for w in view.waiting], "called": list(view.called),
                "door": view.door, "printer": view.printer, "outbox": view.outbox,
            }) + "\n")
            out.flush()
            continue
        future = runtime.branch.check_in(text, "pl")
        try:
            result = future.result(ANSWER_TIMEOUT_S)
        except TimeoutError:
            out.write(json.dumps({"error": "no answer from the branch"}) + "\n")
            out.flush()
            continue
        out.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        out.flush()


def run_window(config: KioskConfig, runtime: BranchRuntime, parts: DemoParts) -> None:
    from kiosk.ui.app import prepare_kivy

    prepare_kivy(fullscreen=False)
    from kivy.core.window import Window

    from kiosk.ui.kiosk_app import KioskApp

    def on_key(_window: Any, key: int, *_rest: Any) -> bool:
        direction = WALK_KEYS.get(key)
        if direction is None:
            return False
        log.info("demo: %s", walk(parts, direction))
        return True

    Window.bind(on_key_down=on_key)
    KioskApp(config, runtime.branch).run()


# --- the whole ---------------------------------------------------------------------------


def _exit_on_sigterm(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)  # unwinds the ExitStack: the kiosk, central, door and broker stop


def run_demo(config_path: Path | None, headless: bool, broker_choice: str | None = None) -> int:
    choice = broker_choice or os.environ.get(BROKER_ENV) or "auto"
    if choice not in BROKER_CHOICES:
        log.error("demo broker %r unknown", choice)
        print(f"kiosk demo: broker {choice!r} (--broker or ${BROKER_ENV}): expected one of "
              f"{', '.join(BROKER_CHOICES)}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parts = DemoParts(demo_folder())
    bookings = demo_bookings(datetime.now(ZoneInfo("Europe/Warsaw")))
    with contextlib.ExitStack() as stack:
        if config_path is None:
            stack.enter_context(broker(parts, choice))
            stack.enter_context(central(parts, bookings))
            stack.enter_context(door(parts))
            config = demo_config(parts)
        else:
            config = load_config(config_path)
            parts.notes.append(f"using {config_path} as it is: no broker, central or door "
                               "started by the demo")
        runtime = BranchRuntime(config, with_door=parts.door is not None,
                                with_sync=parts.broker_port is not None)
        runtime.start()
        stack.callback(runtime.stop)
        if config_path is None:
            feed_bookings(runtime, parts, bookings)
        info = summary(parts, config, bookings)
        announce(info, sys.stderr, headless=headless)
        if headless:
            print(json.dumps(info, ensure_ascii=False), flush=True)
            headless_loop(runtime, parts, sys.stdin, sys.stdout)
        else:
            run_window(config, runtime, parts)
    return 0
