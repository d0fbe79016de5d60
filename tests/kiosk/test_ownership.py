"""One owner of a branch's store across processes: a second is told who has it and what to do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.branch import Branch
from kiosk.config import load_config
from kiosk.ownership import OwnershipError, StoreInUse, StoreOwnership

from .conftest import write_config

HOLD = """
import sys, time
from pathlib import Path
from kiosk.ownership import StoreOwnership
StoreOwnership.acquire(Path(sys.argv[1]), "a test holder")
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_owner_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite3"
    first = StoreOwnership.acquire(database, "a running kiosk")
    started = time.monotonic()
    with pytest.raises(StoreInUse) as refused:
        StoreOwnership.acquire(database, "kiosk checkin", wait_s=0.3)
    assert time.monotonic() - started >= 0.3  # it waited for a holder that might be finishing
    message = str(refused.value)
    assert str(database) in message and f"a running kiosk (pid {os.getpid()}" in message
    assert "systemctl stop branch-checkin-kiosk" in message
    first.release()
    first.release()  # twice is harmless
    StoreOwnership.acquire(database, "kiosk checkin", wait_s=0).release()


def test_a_killed_owner_leaves_no_lock_behind(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite3"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(database)],
                              stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(StoreInUse, match="a test holder"):
            StoreOwnership.acquire(database, "a running kiosk", wait_s=0)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        StoreOwnership.acquire(database, "a running kiosk", wait_s=0).release()
    finally:
        holder.kill()
        holder.wait(10)


def test_kiosk_checkin_is_refused_while_a_kiosk_runs_on_the_store(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    branch = Branch(load_config(config_path))
    branch.start()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "checkin", "AAAA0000", "--config",
             str(config_path)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 3, run.stderr
        assert "in use by a running kiosk" in run.stderr and "systemctl stop" in run.stderr
        assert "Traceback" not in run.stderr
    finally:
        branch.stop()
    again = Branch(load_config(config_path))  # stopped, the store is free again
    again.stop()


def test_a_second_kiosk_waits_for_the_first_then_says_who_has_the_store(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    database = load_config(config_path).database_path
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(database)],
                              stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "run", "--headless", "--config", str(config_path)],
            input="", capture_output=True, text=True, timeout=60)
        assert run.returncode == 3, run.stderr
        assert time.monotonic() - started >= 10  # a predecessor that is finishing gets 10 s
        assert "in use by a test holder" in run.stderr and "Traceback" not in run.stderr
    finally:
        holder.kill()
        holder.wait(10)


def test_an_owner_file_the_kiosk_cannot_open_says_whose_it_must_be(tmp_path: Path) -> None:
    database = tmp_path / "kiosk.sqlite3"
    owner_file = tmp_path / "kiosk.sqlite3.owner"
    owner_file.mkdir()  # cannot be opened for writing, whoever runs the test (root included)
    with pytest.raises(OwnershipError) as refused:
        StoreOwnership.acquire(database, "a running kiosk", wait_s=0)
    assert not isinstance(refused.value, StoreInUse)
    assert str(owner_file) in str(refused.value) and "chown -R kiosk:kiosk" in str(refused.value)
