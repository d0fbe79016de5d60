"""The counting scenario suite through the firmware's counting logic (BeamCounter)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_people import read_header
from scenario_scoring import HERE, firmware_counter, match, overall, scenario_files, score

SCENARIOS = scenario_files()
CATEGORIES = {"single_file", "stream", "hesitation", "standing", "door", "close", "limit"}


def test_the_suite_covers_every_situation_the_issue_names() -> None:
    categories = {read_header(p.read_text().splitlines())["category"] for p in SCENARIOS}
    assert categories == CATEGORIES


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_each_scenario_states_its_true_passages(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = read_header(lines)
    expect = next(line for line in lines if line.startswith("# expect:"))
    ins = sum(1 for d, _ in header["truth"] if d == "in")
    outs = sum(1 for d, _ in header["truth"] if d == "out")
    assert expect == f"# expect: in={ins} out={outs}"


def test_single_file_traffic_is_counted_exactly() -> None:
    scores = [score(p, firmware_counter) for p in SCENARIOS]
    single = [s for s in scores if s.category == "single_file"]
    assert sum(s.true for s in single) >= 100
    assert [(s.name, s.missed, s.false) for s in single if s.errors] == []


def test_overall_accuracy_meets_the_target() -> None:
    scores = [score(p, firmware_counter) for p in SCENARIOS]
    realistic = [s for s in scores if s.category != "limit"]
    assert overall(realistic) >= 0.995, [(s.name, s.missed, s.false) for s in realistic
                                          if s.errors]


def test_what_two_beams_cannot_tell_apart_is_undercounted_never_invented() -> None:
    scores = [score(p, firmware_counter) for p in SCENARIOS if p.stem.startswith("limit_")]
    assert len(scores) == 3
    for s in scores:
        assert s.false == 0 and s.missed > 0, s


def test_the_score_keeps_misses_and_false_counts_apart() -> None:
    truth = [("in", 1000), ("out", 5000)]
    assert match(truth, [("in", 1010), ("out", 5020)]) == (0, 0)
    assert match(truth, [("in", 1010), ("in", 5020)]) == (1, 1), "a wrong direction is both"
    assert match(truth, [("in", 3000)]) == (2, 1), "too far in time to be the same passage"


@pytest.mark.slow
def test_the_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    from generate_scenarios import main

    assert main([str(tmp_path)]) == 0
    for path in SCENARIOS:
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == [p.name for p in SCENARIOS]
    assert HERE.is_dir()
