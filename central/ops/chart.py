"""Today's occupancy of one branch as an inline SVG, drawn on the server (nothing fetched).

A step line of the count (each sample holds until the next), the limit as a dashed line and
hour marks in local time. Every text in it is escaped.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from central.ops.history import Sample, StoredEvent

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 10, 12, 24


def points(samples: Sequence[Sample], events: Sequence[StoredEvent]) -> list[tuple[float, int]]:
    """(epoch, count) from occupancy samples and passages, in time order."""
    found = [(s.at, s.count) for s in samples]
    found += [(e.at, int(e.payload["count_after"])) for e in events
              if e.type == "passage" and isinstance(e.payload.get("count_after"), int)]
    return sorted(found)


def time_range(day_start: datetime, now: datetime, pts: Sequence[tuple[float, int]]
               ) -> tuple[float, float]:
    """From 07:00 (or the first point) to 19:00 (or now, if later)."""
    start = (day_start + timedelta(hours=7)).timestamp()
    end = (day_start + timedelta(hours=19)).timestamp()
    if pts:
        start = min(start, pts[0][0])
    return start, max(end, now.timestamp())


def occupancy_svg(branch_name: str, samples: Sequence[Sample], events: Sequence[StoredEvent],
                  day_start: datetime, now: datetime) -> str:
    pts = points(samples, events)
    t0, t1 = time_range(day_start, now, pts)
    limit = samples[-1].limit if samples else None
    top_value = max([1, limit or 0, *(c for _, c in pts)])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / top_value * plot_h

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(f"Obłożenie dziś / Occupancy today: {branch_name}")}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    parts += _hour_marks(day_start, t0, t1, x, plot_h)
    parts.append(_axis_labels(top_value, y))
    if limit is not None:
        parts.append(f'<line class="limit" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(limit):.1f}" '
                     f'y2="{y(limit):.1f}" stroke="#c62828" stroke-dasharray="6 4"/>')
    if pts:
        parts.append(_step_line(pts, min(now.timestamp(), t1), x, y))
    else:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#666">'
                     "Brak danych z dzisiaj / No data today</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def _hour_marks(day_start: datetime, t0: float, t1: float, x: Any, plot_h: float) -> list[str]:
    marks = []
    hour = day_start
    while hour.timestamp() <= t1:
        if hour.timestamp() >= t0 and hour.hour % 2 == 0:
            xpos = x(hour.timestamp())
            marks.append(f'<line x1="{xpos:.1f}" x2="{xpos:.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
                         f'stroke="#eee"/><text x="{xpos:.1f}" y="{HEIGHT - 6}" font-size="11" '
                         f'text-anchor="middle" fill="#555">{hour:%H}:00</text>')
        hour += timedelta(hours=1)
    return marks


def _axis_labels(top_value: int, y: Any) -> str:
    return "".join(
        f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end" '
        f'fill="#555">{v}</text>' for v in sorted({0, top_value // 2, top_value}))


def _step_line(pts: Sequence[tuple[float, int]], end: float, x: Any, y: Any) -> str:
    coords = [f"{x(pts[0][0]):.1f},{y(pts[0][1]):.1f}"]
    for (_, previous), (t, count) in itertools.pairwise(pts):
        coords.append(f"{x(t):.1f},{y(previous):.1f}")
        coords.append(f"{x(t):.1f},{y(count):.1f}")
    coords.append(f"{x(max(end, pts[-1][0])):.1f},{y(pts[-1][1]):.1f}")
    return (f'<polyline class="occupancy" fill="none" stroke="#1565c0" stroke-width="2" '
            f'points="{" ".join(coords)}"/>')
