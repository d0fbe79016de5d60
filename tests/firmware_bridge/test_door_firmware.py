"""Firmware checks and test vectors under MicroPython and CPython."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from door_helpers import HERE, SCENARIOS, VECTORS

from firmware_bridge.simulator import PACKAGE_DIR, find_micropython

CHECKS = HERE / "firmware_checks.py"
FIRMWARE_FILES = sorted((PACKAGE_DIR / "firmware").glob("*.py"))


def run_checks(cmd: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run([*cmd, str(CHECKS), str(VECTORS), str(SCENARIOS)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RESULT passed=" in proc.stdout and "failed=0" in proc.stdout
    return proc.stdout


def check_count(output: str) -> int:
    line = next(x for x in output.splitlines() if x.startswith("RESULT"))
    return int(line.split("passed=")[1].split()[0])


@pytest.mark.micropython
def test_firmware_checks_under_micropython() -> None:
    binary = find_micropython()
    if binary is None:
        pytest.skip("micropython is not installed")
    env = dict(os.environ, MICROPYPATH=f".frozen:{PACKAGE_DIR}")
    output = run_checks([binary], env)
    vectors = [ln for ln in VECTORS.read_text().splitlines() if ln and not ln.startswith("#")]
    scenarios = list(SCENARIOS.glob("*.jsonl"))
    assert check_count(output) >= len(vectors) + len(scenarios) + 5


def test_firmware_checks_under_cpython() -> None:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR))
    run_checks([sys.executable], env)


@pytest.mark.micropython
@pytest.mark.parametrize("source", FIRMWARE_FILES, ids=lambda p: p.name)
def test_every_firmware_file_compiles_under_micropython(source: Path) -> None:
    """board.py and pico.py need the Pico's machine.Pin, so they are compiled, not run."""
    binary = find_micropython()
    if binary is None:
        pytest.skip("micropython is not installed")
    code = f"compile(open({str(source)!r}).read(), {source.name!r}, 'exec'); print('ok')"
    proc = subprocess.run([binary, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.stdout.strip() == "ok", proc.stderr
