"""Each UI scenario runs in a fresh process: Kivy's Window is one per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SCENARIO_TIMEOUT_S = 90


def run_scenario(name: str, workdir: Path, *, size: str = "800x480") -> str:
    env = dict(os.environ, UI_TEST_SIZE=size, UI_TEST_ARTIFACTS=str(SCREENSHOTS),
               KIVY_HOME=str(workdir / "kivy-home"), PYTHONPATH=str(ROOT))
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ui.scenarios", name, str(workdir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT_S,
    )
    if proc.returncode != 0:
        pytest.fail(f"UI scenario {name} at {size} failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}", pytrace=False)
    return proc.stdout
