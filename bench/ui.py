"""The kiosk screen's cold start and memory, beside a bare Kivy app showing one label.

Each run is its own process, kiosk and bare app alternating, so both see the same machine.
Measured from the moment the process is started:
- first frame: the first frame of the Welcome screen, with the branch's name and hours from
  the configuration (the bare app: its first frame with the label);
- state shown: the first frame with the entrance state from the owner of the branch's state,
  which `kiosk run` starts once the first frame is up (reported, no target);
- tap to result: a tap on "OK" with a code typed, to the first frame of the result screen
  (the bare app: a tap on a button to the first frame with the label's new text);
- peak RSS of the process (ru_maxrss).
Targets: start at most 1.5x the bare app, memory at most the bare app + 40 MB.

    python bench/ui.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START_RATIO_TARGET = 1.5
MEMORY_TARGET_MB = 40.0


def _env_for_child() -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ["KIVY_NO_CONSOLELOG"] = "1"
    os.environ["KIVY_NO_FILELOG"] = "1"
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _tap(widget: Any) -> None:
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(*widget.to_window(*widget.center))
    touch.touch_down()
    touch.touch_up()


def child_bare(started: float) -> dict[str, float]:
    _env_for_child()
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.button import Button
    from kivy.uix.label import Label

    result: dict[str, float] = {}

    class Bare(App):
        def build(self) -> BoxLayout:
            root = BoxLayout(orientation="vertical")
            self.label = Label(text="Zapraszamy", font_size=48)
            self.button = Button(text="OK", on_release=self.pressed)
            root.add_widget(self.label)
            root.add_widget(self.button)
            Window.bind(on_flip=self.flipped)
            return root

        def pressed(self, *_: Any) -> None:
            self.label.text = "A001"

        def flipped(self, *_: Any) -> None:
            if "first_frame_s" not in result:
                result["first_frame_s"] = time.time() - started
                Clock.schedule_once(self.tap, 0.3)
            elif self.label.text == "A001" and "tap_to_frame_s" not in result:
                result["tap_to_frame_s"] = time.perf_counter() - self.tapped
                self.stop()

        def tap(self, _dt: float) -> None:
            self.tapped = time.perf_counter()
            _tap(self.button)

    Bare().run()
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def child_kiosk(started: float, config_path: str) -> dict[str, float]:
    """What `kiosk run` does (kiosk.ui.app.run_app), with the frames timed."""
    _env_for_child()
    from kiosk.ui.app import RuntimeStarter, prepare_kivy

    prepare_kivy(width=800, height=480)
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.config import load_config
    from kiosk.ownership import StoreOwnership
    from kiosk.ui.kiosk_app import KioskApp

    config = load_config(config_path)
    StoreOwnership.acquire(config.database_path, "a starting kiosk").release()  # as run_app
    starter = RuntimeStarter(config)
    result: dict[str, float] = {}

    class Timed(KioskApp):
        def build(self) -> Any:
            root = super().build()
            Window.bind(on_flip=self.flipped)
            return root

        def flipped(self, *_: Any) -> None:
            if "first_frame_s" not in result and self.current == "welcome":
                result["first_frame_s"] = time.time() - started
            if "state_frame_s" not in result and self.view is not None:
                result["state_frame_s"] = time.time() - started
                Clock.schedule_once(self.type_code, 0.3)
            elif self.current == "result" and "tap_to_frame_s" not in result:
                result["tap_to_frame_s"] = time.perf_counter() - self.tapped
                self.stop()

        def type_code(self, _dt: float) -> None:
            self.open_code_entry()
            for key in BENCH_CODE:
                self.code_key(key)
            Clock.schedule_once(self.tap_ok, 0.3)

        def tap_ok(self, _dt: float) -> None:
            self.tapped = time.perf_counter()
            _tap(self.screen("code").ids.ok)

    try:
        Timed(config, start_branch=starter, sound=False).run()
    finally:
        starter.stop()
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


BENCH_CODE = "7KQ2M9XD"
# python-escpos pickles its printer profiles into a new temporary folder in every process
# (mkdtemp), so each start parses them again unless ESCPOS_CAPABILITIES_PICKLE_DIR names a
# lasting folder; the kiosk is measured both ways.
KINDS = ("bare", "kiosk", "kiosk, escpos cache")


def prepare_branch(folder: Path) -> Path:
    """A kiosk config (open all day, dummy printer) and a store with a booking due now."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from kiosk.bookings import parse_feed
    from kiosk.config import load_config
    from kiosk.store import Store

    every_day = "\n".join(f'{day} = [["00:00", "23:59"]]' for day in
                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    path = folder / "kiosk.toml"
    path.write_text(f"""
[kiosk]
branch = "bench"
id = "bench-k1"
[paths]
data_dir = "data"
spool_dir = "spool"
[branch]
name = "POK Kraków, ul. Łagiewnicka 60"
timezone = "Europe/Warsaw"
limit = 1000
[branch.opening_hours]
{every_day}
[door]
enabled = false
[printer]
backend = "dummy"
[mqtt]
enabled = false
""", encoding="utf-8")
    config = load_config(path)
    now = datetime.now(ZoneInfo("Europe/Warsaw"))
    bookings = [{
        "booking_id": f"bench-{i}", "code": BENCH_CODE if i == 0 else f"{i:08d}",
        "starts_at": (now + timedelta(minutes=5)).isoformat(timespec="seconds"),
        "duration_min": 15, "party_size": 1, "status": "booked", "version": 1,
        "service": {"id": "a", "ticket_prefix": "A", "name": {"pl": "Umowy", "en": "Contracts"}},
    } for i in range(200)]
    store = Store(config.database_path)
    try:
        store.upsert_bookings(parse_feed({"bookings": bookings}).bookings, now)
    finally:
        store.close()
    return path


def run_child(kind: str, config_path: Path, escpos_cache: Path | None) -> dict[str, float]:
    """One cold start; each kiosk run starts from a fresh copy of the prepared branch."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
    if escpos_cache is not None:
        env["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(escpos_cache)
    if kind == "kiosk":
        base = config_path.parent.parent
        shutil.rmtree(base / "run", ignore_errors=True)
        shutil.copytree(config_path.parent, base / "run")
        config_path = base / "run" / "kiosk.toml"
    started = time.time()
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--started", repr(started),
                           "--config", str(config_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=("bare", "kiosk"))
    parser.add_argument("--started", type=float)
    parser.add_argument("--config")
    args = parser.parse_args()
    if args.child == "bare":
        print(json.dumps(child_bare(args.started)))
        return 0
    if args.child == "kiosk":
        print(json.dumps(child_kiosk(args.started, args.config)))
        return 0
    folder = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    (folder / "template").mkdir()
    config_path = prepare_branch(folder / "template")
    cache = folder / "escpos-cache"
    cache.mkdir()
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for _ in range(args.runs):
        for kind in KINDS:
            cached = cache if kind == "kiosk, escpos cache" else None
            runs[kind].append(run_child(kind.split(",")[0], config_path, cached))
    shutil.rmtree(folder, ignore_errors=True)

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    print(f"runs: {args.runs} of each, medians")
    print(f"{'':22}{'first frame':>13}{'state shown':>13}{'tap to frame':>14}{'peak RSS':>11}")
    for kind in KINDS:
        state = median(kind, "state_frame_s") if kind != "bare" else median(kind, "first_frame_s")
        print(f"{kind:22}{median(kind, 'first_frame_s'):>11.3f} s{state:>11.3f} s"
              f"{median(kind, 'tap_to_frame_s') * 1000:>11.1f} ms"
              f"{median(kind, 'peak_rss_mb'):>8.1f} MB")
    bare_start = median("bare", "first_frame_s")
    for kind in KINDS[1:]:
        start_ratio = median(kind, "first_frame_s") / bare_start
        memory_extra = median(kind, "peak_rss_mb") - median("bare", "peak_rss_mb")
        met = start_ratio <= START_RATIO_TARGET and memory_extra <= MEMORY_TARGET_MB
        print(f"{kind}: start {start_ratio:.2f}x bare (target <= {START_RATIO_TARGET}), "
              f"memory {memory_extra:+.1f} MB (target <= +{MEMORY_TARGET_MB:.0f} MB), "
              f"state shown {median(kind, 'state_frame_s') / bare_start:.2f}x bare: "
              f"{'ok' if met else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
