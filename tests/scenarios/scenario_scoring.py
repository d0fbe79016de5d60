"""Score a counter on the scenario suite: each counted passage against the stated true ones.

A counted passage matches a true passage of the same direction that completed within
MATCH_WINDOW_MS of it; every true passage left unmatched is a miss and every counted one left
unmatched is a false count. Matching by time, not by totals, keeps a miss and a false count
from cancelling out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from scenario_people import read_header

HERE = Path(__file__).resolve().parent
MATCH_WINDOW_MS = 1000

Passage = tuple[str, int]  # ("in" | "out", t_ms)
Counter = Callable[[list[str]], list[Passage]]


@dataclass(frozen=True)
class Score:
    name: str
    category: str
    true: int
    counted: int
    missed: int
    false: int

    @property
    def errors(self) -> int:
        return self.missed + self.false

    @property
    def accuracy(self) -> float:
        return 1.0 - self.errors / self.true if self.true else float(self.errors == 0)


def scenario_files() -> list[Path]:
    return sorted(HERE.glob("*.jsonl"))


def match(truth: Iterable[Passage], counted: Iterable[Passage]) -> tuple[int, int]:
    """(missed, false): greedy in time order, each passage matched at most once."""
    unmatched = list(truth)
    false = 0
    for direction, t in sorted(counted, key=lambda p: p[1]):
        candidates = [p for p in unmatched
                      if p[0] == direction and abs(p[1] - t) <= MATCH_WINDOW_MS]
        if candidates:
            unmatched.remove(min(candidates, key=lambda p: abs(p[1] - t)))
        else:
            false += 1
    return len(unmatched), false


def score(path: Path, counter: Counter) -> Score:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = read_header(lines)
    truth = header["truth"]
    if truth is None or header["category"] is None:
        raise ValueError(f"{path.name} states no '# truth:' or '# category:' line")
    counted = counter(lines)
    missed, false = match(truth, counted)
    return Score(path.stem, header["category"], len(truth), len(counted), missed, false)


def firmware_counter(lines: list[str]) -> list[Passage]:
    """The firmware's own counting logic (BeamCounter, through its scenario runner)."""
    from firmware_bridge.firmware.scenario import run_scenario

    result = run_scenario(lines)
    return [("in" if e["kind"] == "PASS_IN" else "out", e["t_ms"]) for e in result["events"]
            if e["kind"] in ("PASS_IN", "PASS_OUT")]


def overall(scores: Iterable[Score]) -> float:
    scores = list(scores)
    true = sum(s.true for s in scores)
    return 1.0 - sum(s.errors for s in scores) / true if true else 1.0
