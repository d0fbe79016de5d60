"""Write the counting scenario suite (tests/scenarios/*.jsonl) from a fixed seed.

    python tests/scenarios/generate_scenarios.py [directory]

Categories: single_file (one person at a time, target 100 %), stream (people following each
other), hesitation (turning back, stepping back and forth), standing (someone standing in the
beams), door (a door held open), close (two people close behind each other) and limit (what two
beams cannot tell apart: people touching, side by side, crossing in opposite directions).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scenario_people import BEAM_GAP, FAR, Person, Scenario, walk  # noqa: E402

SEED = 20261123


def single_file(rng: random.Random, name: str, directions: list[str], speeds: tuple[float, float],
                description: str, bounce: bool = False) -> Scenario:
    people, t = [], 200
    for direction in directions:
        person = walk(direction, t, rng.uniform(*speeds), rng.uniform(22, 42))
        people.append(person)
        t = person.path[-1][0] + rng.randint(400, 2500)
    scenario = Scenario(name, "single_file", description, people)
    if bounce:  # contact bounce and sunlight flicker: 1..12 ms, shorter than the debounce
        scenario.glitch_count = len(people) * 2
    return scenario


def stream(rng: random.Random, name: str, directions: list[str], gap_cm: tuple[float, float],
           description: str) -> Scenario:
    """People following each other at one walking speed, ``gap_cm`` between bodies."""
    speed = rng.uniform(1.0, 1.4)
    people, t = [], 200
    previous: Person | None = None
    for direction in directions:
        depth = rng.uniform(22, 42)
        if previous is not None:
            if direction == ("in" if previous.path[0][1] < 0 else "out"):
                distance = previous.depth / 2 + depth / 2 + rng.uniform(*gap_cm)
                t = previous.path[0][0] + int(distance / (speed * 0.1))
            else:  # the other way: wait until the previous person is through
                t = previous.path[-1][0] + rng.randint(300, 900)
        previous = walk(direction, t, speed, depth)
        people.append(previous)
    return Scenario(name, "stream", description, people)


def turn_back(start: int, depth: float, reach: float, speed: float, pause_ms: int,
              side: str = "street") -> Person:
    """Walk up to ``reach`` cm (centre), pause, and go back where they came from."""
    origin = -FAR if side == "street" else BEAM_GAP + FAR
    rate = speed * 0.1
    there = start + int(abs(reach - origin) / rate)
    back = there + pause_ms
    return Person(depth, [(start, origin), (there, reach), (back, reach),
                          (back + int(abs(reach - origin) / rate), origin)])


def hesitations(rng: random.Random) -> list[Scenario]:
    scenarios = []
    people, t = [], 200
    for n in range(16):
        depth = rng.uniform(22, 42)
        if n % 2:  # a real passage between the hesitations
            person = walk(rng.choice(["in", "out"]), t, rng.uniform(0.8, 1.4), depth)
        else:  # up to the street beam or into both beams, then back
            reach = rng.uniform(-depth / 2 + 2, BEAM_GAP + depth / 2 - 2)
            side = rng.choice(["street", "inside"])
            if side == "inside":
                reach = BEAM_GAP - reach
            person = turn_back(t, depth, reach, rng.uniform(0.5, 1.2), rng.randint(0, 3000),
                               side)
        people.append(person)
        t = person.path[-1][0] + rng.randint(500, 2000)
    scenarios.append(Scenario("hesitate_and_turn_back", "hesitation",
                              "People walking up, stopping in the beams and turning back, "
                              "between real passages", people))
    people, t = [], 200
    for _ in range(12):
        depth = rng.uniform(22, 42)
        inward = rng.random() < 0.5
        origin, goal = (-FAR, BEAM_GAP + FAR) if inward else (BEAM_GAP + FAR, -FAR)
        path = [(t, origin)]
        now = t + int(FAR / 0.1)
        for _ in range(rng.randint(2, 4)):  # sway inside the beams
            x = rng.uniform(-depth / 2 + 1, BEAM_GAP + depth / 2 - 1)
            now += rng.randint(250, 700)
            path.append((now, x))
        now += int(FAR / 0.1)
        path.append((now, goal))
        people.append(Person(depth, path))
        t = now + rng.randint(500, 1500)
    scenarios.append(Scenario("step_back_and_forth", "hesitation",
                              "People stepping back and forth inside the beams before going "
                              "through", people))
    return scenarios


def standing(rng: random.Random) -> Scenario:
    people, t = [], 200
    for n in range(6):
        depth = rng.uniform(24, 40)
        stop = rng.uniform(0, BEAM_GAP)  # covering one or both beams
        wait = rng.randint(4000, 20000)
        if n % 3 == 2:
            person = turn_back(t, depth, stop, 1.0, wait)
        else:
            direction = "in" if n % 2 == 0 else "out"
            origin, goal = (-FAR, BEAM_GAP + FAR) if direction == "in" else \
                (BEAM_GAP + FAR, -FAR)
            arrive = t + int(abs(stop - origin) / 0.1)
            leave = arrive + wait
            person = Person(depth, [(t, origin), (arrive, stop), (leave, stop),
                                    (leave + int(abs(goal - stop) / 0.1), goal)])
        people.append(person)
        t = person.path[-1][0] + 1000
    return Scenario("stand_in_the_beam", "standing",
                    "A person standing in the beams for 4 to 20 s (reading a notice, waiting "
                    "for a companion), then going on or back", people)


def door_held_open(rng: random.Random) -> Scenario:
    scenario = single_file(rng, "door_held_open", ["in", "out"] * 8, (0.9, 1.4),
                           "The door held open for a delivery while people go in and out")
    scenario.category = "door"
    end = scenario.people[-1].path[-1][0]
    scenario.door = [(100, "open"), (end + 10, "closed")]
    return scenario


def close_behind(rng: random.Random, name: str = "two_close_behind",
                 speeds: tuple[float, float] = (1.0, 1.4),
                 description: str = "Two people one close behind the other (4 to 12 cm apart)",
                 ) -> Scenario:
    people, t = [], 200
    for _ in range(15):
        speed = rng.uniform(*speeds)
        direction = rng.choice(["in", "out"])
        first = walk(direction, t, speed, rng.uniform(22, 40))
        second_depth = rng.uniform(22, 40)
        gap = rng.uniform(4, 12)  # cm between the bodies: following closely
        lag = int((first.depth / 2 + second_depth / 2 + gap) / (speed * 0.1))
        people += [first, walk(direction, t + lag, speed, second_depth)]
        t = people[-1].path[-1][0] + rng.randint(800, 2000)
    return Scenario(name, "close", description, people)


def limits(rng: random.Random) -> list[Scenario]:
    touching, side_by_side, crossing = [], [], []
    t = 200
    for _ in range(5):
        speed, direction = rng.uniform(1.0, 1.3), rng.choice(["in", "out"])
        first = walk(direction, t, speed, rng.uniform(22, 36))
        depth = rng.uniform(22, 36)
        lag = int((first.depth / 2 + depth / 2 - 1) / (speed * 0.1))  # bodies touch
        touching += [first, walk(direction, t + lag, speed, depth)]
        t = touching[-1].path[-1][0] + 1500
    t = 200
    for _ in range(5):
        speed, direction = rng.uniform(0.9, 1.3), rng.choice(["in", "out"])
        side_by_side += [walk(direction, t, speed, rng.uniform(24, 36)),
                         walk(direction, t + rng.randint(0, 40), speed, rng.uniform(24, 36))]
        t = side_by_side[-1].path[-1][0] + 1500
    t = 200
    for _ in range(5):
        speed = rng.uniform(0.9, 1.3)
        crossing += [walk("in", t, speed, rng.uniform(22, 36)),
                     walk("out", t + rng.randint(0, 150), speed, rng.uniform(22, 36))]
        t = crossing[-1].path[-1][0] + 1500
    return [
        Scenario("limit_touching", "limit", "Two people walking in contact, no gap at all",
                 touching),
        Scenario("limit_side_by_side", "limit", "Two people side by side through the beams",
                 side_by_side),
        Scenario("limit_crossing", "limit",
                 "One person going in and one going out at the same moment", crossing),
    ]


def build(rng: random.Random) -> list[Scenario]:
    ins, outs = ["in"] * 30, ["out"] * 30
    alternating = ["in", "out"] * 12
    return [
        single_file(rng, "one_by_one_in", ins, (0.9, 1.5), "People walking in one by one"),
        single_file(rng, "one_by_one_out", outs, (0.9, 1.5), "People walking out one by one"),
        single_file(rng, "one_by_one_slow", alternating, (0.25, 0.6),
                    "Slow walkers (elderly, with a stick), in and out"),
        single_file(rng, "one_by_one_fast", alternating, (1.8, 2.6),
                    "People hurrying through, in and out"),
        single_file(rng, "one_by_one_bouncing_beams", alternating, (0.9, 1.5),
                    "One by one, with beam glitches shorter than the debounce", bounce=True),
        stream(rng, "stream_in", ["in"] * 30, (15, 80), "A stream of people walking in"),
        stream(rng, "stream_out", ["out"] * 30, (15, 80), "A stream of people walking out"),
        stream(rng, "stream_mixed", [rng.choice(["in", "out"]) for _ in range(30)], (20, 90),
               "People coming and going in turns"),
        *hesitations(rng),
        standing(rng),
        door_held_open(rng),
        close_behind(rng),
        *limits(rng),
        close_behind(random.Random(SEED + 1), "two_close_behind_slow", (0.3, 0.7),
                     "Two slow walkers one close behind the other (4 to 12 cm apart)"),
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0]) if args else HERE
    rng = random.Random(SEED)
    for scenario in build(rng):
        path = scenario.write(directory)
        print(f"{path.name}: {len(scenario.truth())} passages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
