"""Fixtures for central operations: its process on a real mosquitto, a real kiosk process,
and headless Debian chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w

from central.ops.passwords import hash_password
from tests.brokerkit import MosquittoBroker, mosquitto, terminate  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ops"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WARSAW = ZoneInfo("Europe/Warsaw")
OPERATOR, PASSWORD = "jkowalski", "Zażółć gęślą jaźń 7"
# Cheap scrypt for tests; the real cost is checked in test_passwords.
FAST_HASH = {"n": 2**10}


@dataclass
class OpsProcess:
    process: subprocess.Popen[str]
    url: str
    config: Path
    directory: Path

    def stop(self) -> None:
        terminate(self.process)

    def log_text(self) -> str:
        path = self.directory / "ops.log"
        return path.read_text(errors="replace") if path.exists() else ""


def ops_config(directory: Path, broker_port: int, branches: dict[str, dict[str, str]],
               **ops: Any) -> Path:
    ha = ops.pop("home_assistant", False)
    document = {
        "ops": {"listen": "127.0.0.1:0", "history": "history.sqlite3", **ops},
        "mqtt": {"host": "127.0.0.1", "port": broker_port,
                 "client_id": f"ops-test-{os.getpid()}-{time.monotonic_ns() % 10**9}"},
        "home_assistant": {"enabled": ha},
        "branches": branches,
        "operators": {OPERATOR: {"name": "Jan Kowalski",
                                 "password_hash": hash_password(PASSWORD, **FAST_HASH)}},
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ops.toml"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


def start_ops(config: Path, timeout: float = 15) -> OpsProcess:
    directory = config.parent
    log = (directory / "ops.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "central.ops", "run", "--config", str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    line = ""
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        match = re.search(r"listening on (http://[\d.]+:\d+)/", line)
        if match:
            return OpsProcess(process, match.group(1), config, directory)
    process.kill()
    raise AssertionError(f"central ops did not start: {line!r}\n"
                         f"{(directory / 'ops.log').read_text(errors='replace')}")


@pytest.fixture
def run_ops(tmp_path: Path) -> Iterator[Callable[..., OpsProcess]]:
    started: list[OpsProcess] = []

    def run(broker_port: int, branches: dict[str, dict[str, str]], name: str = "ops",
            **ops: Any) -> OpsProcess:
        proc = start_ops(ops_config(tmp_path / name, broker_port, branches, **ops))
        started.append(proc)
        return proc

    yield run
    for proc in started:
        proc.stop()


# --- a real kiosk ------------------------------------------------------------------------


ALL_DAY = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class KioskProcess:
    process: subprocess.Popen[str]
    directory: Path

    def check_in(self, code: str, timeout: float = 15) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(code + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the kiosk ended:\n{self.log_text()}"
        result: dict[str, Any] = json.loads(line)
        return result

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        return (self.directory / "kiosk.log").read_text(errors="replace")


def start_kiosk(directory: Path, broker_port: int, branch: str, kiosk: str,
                bookings: list[dict[str, Any]], limit: int = 5) -> KioskProcess:
    """``kiosk run --headless`` with its MQTT sync, open all day, the bookings imported."""
    from tests.kiosk.conftest import BRANCH_SETTINGS, write_config

    directory.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in BRANCH_SETTINGS.items() if k != "version"}
    settings.update(opening_hours=ALL_DAY, closed_dates=[], limit=limit)
    config = write_config(
        directory, kiosk={"branch": branch, "id": kiosk}, branch=settings,
        mqtt={"enabled": True, "host": "127.0.0.1", "port": broker_port, "keepalive_s": 5})
    feed = directory / "bookings.json"
    feed.write_text(json.dumps({"bookings": bookings}, ensure_ascii=False), encoding="utf-8")
    kiosk_bin = str(Path(sys.executable).parent / "kiosk")
    subprocess.run([kiosk_bin, "bookings", "import", "--config", str(config), str(feed)],
                   check=True, capture_output=True, timeout=60)
    log = (directory / "kiosk.log").open("w")
    process = subprocess.Popen([kiosk_bin, "run", "--headless", "--config", str(config)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                               text=True, cwd=directory)
    return KioskProcess(process, directory)


@pytest.fixture
def run_kiosk(tmp_path: Path) -> Iterator[Callable[..., KioskProcess]]:
    started: list[KioskProcess] = []

    def run(*args: Any, **kwargs: Any) -> KioskProcess:
        proc = start_kiosk(*args, **kwargs)
        started.append(proc)
        return proc

    yield run
    for proc in started:
        if proc.process.poll() is None:
            with contextlib.suppress(OSError):
                assert proc.process.stdin is not None
                proc.process.stdin.close()
            try:
                proc.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def now_local() -> datetime:
    return datetime.now(WARSAW).replace(microsecond=0)


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is needed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_for(browser: Any) -> Iterator[Callable[[OpsProcess], Any]]:
    contexts: list[Any] = []

    def open_page(ops: OpsProcess) -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(ops.url + "/")
        page.fill("input[name=login]", OPERATOR)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#link.up")
        return page

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
