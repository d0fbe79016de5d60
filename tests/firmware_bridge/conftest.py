"""Fixtures for the door link tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_bridge.simulator import SimulatedBoard, find_micropython


@pytest.fixture
def board(tmp_path: Path) -> Iterator[SimulatedBoard]:
    """The firmware simulator under micropython, with a pty at board.port."""
    if find_micropython() is None:
        pytest.skip("micropython is not installed")
    with SimulatedBoard(tmp_path / "board") as sim:
        yield sim
