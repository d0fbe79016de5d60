"""The counting logic and `kiosk door-sim`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from door_helpers import HERE, SCENARIOS

from firmware_bridge.firmware.counter import PASS_IN, PASS_OUT, BeamCounter
from firmware_bridge.firmware.scenario import run_scenario
from firmware_bridge.simcli import door_sim_main

SCENARIO_FILES = sorted(SCENARIOS.glob("*.jsonl"))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_scenarios_meet_their_expectation(path: Path) -> None:
    result = run_scenario(path.read_text(encoding="utf-8").splitlines())
    assert result["expect"] is not None
    assert {"in": result["in"], "out": result["out"]} == {
        "in": result["expect"].get("in", 0), "out": result["expect"].get("out", 0)}


def test_beam_counter_edges_and_debounce() -> None:
    counter = BeamCounter(debounce_ms=20, t_ms=0)
    assert counter.edge("A", True, 0) == []
    assert counter.edge("B", True, 100) == []
    assert counter.edge("A", False, 200) == []
    assert counter.edge("B", False, 300) == []
    assert counter.next_deadline() == 320
    assert counter.advance(319) == []
    assert counter.advance(320) == [(PASS_IN, 300)]
    # a 10 ms flicker is not an edge
    counter.edge("B", True, 1000)
    counter.edge("B", False, 1010)
    assert counter.advance(2000) == [] and counter.glitches == 1
    for t, (beam, blocked) in enumerate([("B", True), ("A", True), ("B", False), ("A", False)]):
        counter.edge(beam, blocked, 3000 + t * 100)
    assert counter.advance(4000) == [(PASS_OUT, 3300)]
    with pytest.raises(ValueError, match="beam"):
        counter.edge("C", True, 5000)


def test_door_sim_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert door_sim_main(["--scenario", str(SCENARIOS / "in_and_out.jsonl"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"in": 1, "out": 1, "events": [{"t_ms": 450, "kind": "PASS_IN"},
                                                 {"t_ms": 2450, "kind": "PASS_OUT"}]}


def test_door_sim_help_and_usage_errors(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    assert door_sim_main(["--help"]) == 0
    assert "Runs a scenario of timed beam edges" in capsys.readouterr().out
    assert door_sim_main([]) == 2
    assert "--scenario" in capsys.readouterr().err
    assert door_sim_main(["--scenario", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read scenario file" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t_ms": 0, "beam": "A", "blocked": true}\n{"t_ms": 5, "beam": "C"}\n')
    assert door_sim_main(["--scenario", str(bad), "--json"]) == 2
    assert "line 2" in capsys.readouterr().err
    backwards = tmp_path / "backwards.jsonl"
    backwards.write_text('{"t_ms": 50, "door": "open"}\n{"t_ms": 10, "door": "closed"}\n')
    assert door_sim_main(["--scenario", str(backwards)]) == 2
    assert "earlier" in capsys.readouterr().err


def test_door_sim_reports_a_missed_expectation(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    wrong = tmp_path / "wrong.jsonl"
    original = (SCENARIOS / "in_and_out.jsonl").read_text()
    wrong.write_text(original.replace("# expect: in=1 out=1", "# expect: in=2 out=1"))
    assert door_sim_main(["--scenario", str(wrong), "--json"]) == 1
    assert "expected in=2" in capsys.readouterr().err


def test_door_sim_as_a_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "firmware_bridge.simcli", "--scenario",
         str(SCENARIOS / "two_close_behind.jsonl"), "--json"],
        capture_output=True, text=True, timeout=30, cwd=HERE.parents[1])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["in"] == 2


def test_door_sim_plain_output_in_polish(capsys: pytest.CaptureFixture[str]) -> None:
    assert door_sim_main(["--scenario", str(SCENARIOS / "turn_back.jsonl")]) == 0
    assert "wejścia" in capsys.readouterr().out
