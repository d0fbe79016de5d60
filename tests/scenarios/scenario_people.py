"""People walking through two beams, turned into the beam edges a scenario file holds.

The entrance seen from above: beam A (street side) at x = 0 cm, beam B (inside) at x = BEAM_GAP.
A person is a body ``depth`` cm deep along the walking line whose centre follows a path of
(t_ms, x_cm) points; a beam is broken while the body covers it. The true passages are the
people whose body crossed both beams from one side to the other, stamped with the moment the
body left the last beam, which is the edge a counter completes the passage on.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BEAM_GAP = 12.0  # cm between the beams; smaller than the thinnest body at beam height
BEAMS = {"A": 0.0, "B": BEAM_GAP}
FAR = 60.0  # cm beyond a beam where a path starts and ends


@dataclass
class Person:
    depth: float  # cm
    path: list[tuple[int, float]]  # (t_ms, centre x in cm), t increasing

    def x_at(self, t_ms: float) -> float:
        points = self.path
        if t_ms <= points[0][0]:
            return points[0][1]
        for (t0, x0), (t1, x1) in itertools.pairwise(points):
            if t_ms <= t1:
                return x0 + (x1 - x0) * (t_ms - t0) / (t1 - t0) if t1 > t0 else x1
        return points[-1][1]

    def covers(self, beam_x: float, t_ms: float) -> bool:
        return abs(self.x_at(t_ms) - beam_x) <= self.depth / 2

    def passage(self) -> tuple[str, int] | None:
        """('in' | 'out', t_ms the body left the last beam) if the path crosses both beams."""
        start, end = self.path[0][1], self.path[-1][1]
        half = self.depth / 2
        if start < -half and end > BEAM_GAP + half:
            direction, clear_x = "in", BEAM_GAP + half
        elif start > BEAM_GAP + half and end < -half:
            direction, clear_x = "out", -half
        else:
            return None
        t = self.path[-1][0]
        while t > self.path[0][0] and self._beyond(self.x_at(t - 1), clear_x, direction):
            t -= 1
        return direction, int(t)

    @staticmethod
    def _beyond(x: float, clear_x: float, direction: str) -> bool:
        return x > clear_x if direction == "in" else x < clear_x


def walk(direction: str, start_ms: int, speed_m_s: float, depth: float) -> Person:
    """A straight walk through both beams."""
    span = 2 * FAR + BEAM_GAP
    duration = int(span / (speed_m_s * 0.1))  # cm / (cm per ms)
    a, b = -FAR, BEAM_GAP + FAR
    if direction == "out":
        a, b = b, a
    return Person(depth, [(start_ms, a), (start_ms + duration, b)])


@dataclass
class Scenario:
    name: str
    category: str
    description: str
    people: list[Person]
    door: list[tuple[int, str]] = field(default_factory=list)  # (t_ms, "open" | "closed")
    glitch_count: int = 0  # beam glitches shorter than the debounce, per beam

    def edges(self) -> list[dict[str, Any]]:
        end = max(p.path[-1][0] for p in self.people) + 50 if self.people else 0
        lines: list[dict[str, Any]] = []
        rng = random.Random(self.name)
        by_second: dict[int, list[Person]] = {}  # only people on their way can break a beam
        for person in self.people:
            for second in range(person.path[0][0] // 1000, person.path[-1][0] // 1000 + 1):
                by_second.setdefault(second, []).append(person)
        for beam, beam_x in BEAMS.items():
            real: list[tuple[int, bool]] = []
            blocked = False
            for t in range(0, end + 1):
                now = any(p.covers(beam_x, t) for p in by_second.get(t // 1000, ()))
                if now != blocked:
                    real.append((t, now))
                    blocked = now
            lines += [{"t_ms": t, "beam": beam, "blocked": b} for t, b in real]
            lines += self._glitches(rng, beam, real, end)
        lines += [{"t_ms": t, "door": state} for t, state in self.door]
        lines.sort(key=lambda line: (line["t_ms"], "door" in line, line.get("beam", "")))
        return lines

    def _glitches(self, rng: random.Random, beam: str, real: list[tuple[int, bool]],
                  end: int) -> list[dict[str, Any]]:
        """Flicker in a steady period, and contact bounce right after a real edge."""
        out: list[dict[str, Any]] = []
        for _ in range(self.glitch_count // 2):
            for _attempt in range(50):
                t, length = rng.randint(50, end), rng.randint(2, 12)
                if all(abs(t - e) > 40 and abs(t + length - e) > 40 for e, _ in real) and \
                        all(abs(t - g["t_ms"]) > 40 for g in out):
                    state = _state_at(real, t)
                    out += [{"t_ms": t, "beam": beam, "blocked": not state},
                            {"t_ms": t + length, "beam": beam, "blocked": state}]
                    break
        for t, state in rng.sample(real, min(len(real), self.glitch_count // 2)):
            if any(0 < e - t < 15 for e, _ in real):
                continue  # another real edge follows at once: no room for a bounce
            bounce = t + rng.randint(2, 5)
            out += [{"t_ms": bounce, "beam": beam, "blocked": not state},
                    {"t_ms": bounce + rng.randint(1, 4), "beam": beam, "blocked": state}]
        return out

    def truth(self) -> list[tuple[str, int]]:
        passages = [p.passage() for p in self.people]
        return sorted((p for p in passages if p is not None), key=lambda p: p[1])

    def write(self, directory: Path) -> Path:
        truth = self.truth()
        header = [
            f"# {self.description}",
            f"# category: {self.category}",
            f"# expect: in={sum(1 for d, _ in truth if d == 'in')} "
            f"out={sum(1 for d, _ in truth if d == 'out')}",
            "# truth: " + json.dumps([[d, t] for d, t in truth]),
        ]
        body = [json.dumps(line) for line in self.edges()]
        path = directory / f"{self.name}.jsonl"
        path.write_text("\n".join(header + body) + "\n", encoding="utf-8")
        return path


def read_header(lines: Iterable[str]) -> dict[str, Any]:
    """The category and the true passages a scenario file states."""
    header: dict[str, Any] = {"category": None, "truth": None, "description": ""}
    for line in lines:
        if not line.startswith("#"):
            break
        text = line[1:].strip()
        if text.startswith("category:"):
            header["category"] = text.split(":", 1)[1].strip()
        elif text.startswith("truth:"):
            header["truth"] = [tuple(p) for p in json.loads(text.split(":", 1)[1])]
        elif not header["description"]:
            header["description"] = text
    return header


def _state_at(real: list[tuple[int, bool]], t: int) -> bool:
    state = False
    for edge_t, blocked in real:
        if edge_t > t:
            break
        state = blocked
    return state
