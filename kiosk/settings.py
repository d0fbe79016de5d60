"""Branch settings: the limit, the time zone, opening hours, closed dates and the check-in window.

The same shape comes from the kiosk's TOML file (used until central sends its own) and from the
contract's retained ``config`` message, so one parser serves both and names each bad key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.config import ConfigProblem

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

Interval = tuple[time, time]


@dataclass(frozen=True)
class BranchSettings:
    name: str
    timezone: str
    limit: int
    opening_hours: Mapping[str, tuple[Interval, ...]]
    closed_dates: frozenset[date] = frozenset()
    early_min: int = 30
    late_min: int = 15
    walk_ins: bool = False
    version: int = 0
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def hours_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.closed_dates:
            return ()
        return self.opening_hours.get(WEEKDAYS[day.weekday()], ())

    def is_open(self, moment: datetime) -> bool:
        local = self.local(moment)
        wall = local.time().replace(tzinfo=None)
        return any(start <= wall < end for start, end in self.hours_on(local.date()))

    def next_opening(self, moment: datetime, *, days_ahead: int = 14) -> datetime | None:
        """The next moment the branch opens after ``moment`` (local time), within two weeks."""
        local = self.local(moment)
        for offset in range(days_ahead + 1):
            day = local.date() + timedelta(days=offset)
            for start, _end in self.hours_on(day):
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None

    def to_contract(self) -> dict[str, Any]:
        """The settings in the contract's ``config`` message shape."""
        return {
            "version": self.version,
            "name": self.name,
            "timezone": self.timezone,
            "limit": self.limit,
            "opening_hours": {
                day: [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in spans]
                for day, spans in self.opening_hours.items()
            },
            "closed_dates": sorted(d.isoformat() for d in self.closed_dates),
            "checkin_window": {"early_min": self.early_min, "late_min": self.late_min},
            "walk_ins": self.walk_ins,
        }


def _problem(problems: list[ConfigProblem], key: str, value: object, expected: str) -> None:
    problems.append(ConfigProblem(key, value, expected))


def _parse_hours(
    raw: object, key: str, problems: list[ConfigProblem]
) -> dict[str, tuple[Interval, ...]]:
    hours: dict[str, tuple[Interval, ...]] = {day: () for day in WEEKDAYS}
    if not isinstance(raw, Mapping):
        _problem(problems, key, raw, 'a table of weekdays such as mon = [["09:00", "18:00"]]')
        return hours
    for day, spans in raw.items():
        day_key = f"{key}.{day}"
        if day not in WEEKDAYS:
            _problem(problems, day_key, spans, f"a weekday, one of {', '.join(WEEKDAYS)}")
            continue
        if not isinstance(spans, list):
            _problem(problems, day_key, spans, 'a list of ["HH:MM", "HH:MM"] pairs, [] when closed')
            continue
        parsed: list[Interval] = []
        for span in spans:
            interval = _parse_interval(span)
            if interval is None:
                _problem(problems, day_key, span, 'a pair ["HH:MM", "HH:MM"] with the start first')
                continue
            parsed.append(interval)
        hours[day] = tuple(sorted(parsed))
    return hours


def _parse_interval(span: object) -> Interval | None:
    if not (isinstance(span, list | tuple) and len(span) == 2):
        return None
    times = []
    for text in span:
        match = _HHMM.match(text) if isinstance(text, str) else None
        if match is None:
            return None
        times.append(time(int(match.group(1)), int(match.group(2))))
    start, end = times
    return (start, end) if start < end else None


def _parse_int(
    raw: Mapping[str, Any],
    name: str,
    key: str,
    default: int | None,
    low: int,
    high: int,
    problems: list[ConfigProblem],
) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _problem(problems, key, value, f"a whole number from {low} to {high}")
        return default if default is not None else low
    return value


def parse_branch_settings(
    raw: Mapping[str, Any], *, prefix: str = "branch", defaults: BranchSettings | None = None
) -> tuple[BranchSettings | None, list[ConfigProblem]]:
    """Validate settings in the contract's config shape; return them or the problems found.

    With ``defaults``, missing keys keep the default value (a partial update from central).
    """
    problems: list[ConfigProblem] = []
    base = defaults.to_contract() if defaults else {}
    merged: dict[str, Any] = {**base, **raw}

    name = merged.get("name")
    if not isinstance(name, str) or not name.strip():
        _problem(problems, f"{prefix}.name", name, "the branch name as customers know it")
    tz_name = merged.get("timezone", "Europe/Warsaw")
    try:
        if not isinstance(tz_name, str):
            raise ZoneInfoNotFoundError
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        _problem(problems, f"{prefix}.timezone", tz_name, "an IANA time zone such as Europe/Warsaw")
        tz_name = "Europe/Warsaw"
    limit = _parse_int(merged, "limit", f"{prefix}.limit", None, 1, 1000, problems)
    hours = _parse_hours(merged.get("opening_hours", {}), f"{prefix}.opening_hours", problems)

    closed: set[date] = set()
    raw_closed = merged.get("closed_dates", [])
    if not isinstance(raw_closed, list):
        _problem(problems, f"{prefix}.closed_dates", raw_closed, 'a list of dates "YYYY-MM-DD"')
        raw_closed = []
    for item in raw_closed:
        try:
            closed.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            _problem(problems, f"{prefix}.closed_dates", item, 'a date "YYYY-MM-DD"')

    window = merged.get("checkin_window", {})
    if not isinstance(window, Mapping):
        _problem(
            problems, f"{prefix}.checkin_window", window, "a table with early_min and late_min"
        )
        window = {}
    early = _parse_int(
        window, "early_min", f"{prefix}.checkin_window.early_min", 30, 0, 720, problems
    )
    late = _parse_int(window, "late_min", f"{prefix}.checkin_window.late_min", 15, 0, 720, problems)

    walk_ins = merged.get("walk_ins", False)
    if not isinstance(walk_ins, bool):
        _problem(problems, f"{prefix}.walk_ins", walk_ins, "true or false")
        walk_ins = False
    version = _parse_int(merged, "version", f"{prefix}.version", 0, 0, 2**53, problems)

    if problems:
        return None, problems
    assert isinstance(name, str) and isinstance(tz_name, str)
    return BranchSettings(
        name=name.strip(),
        timezone=tz_name,
        limit=limit,
        opening_hours=hours,
        closed_dates=frozenset(closed),
        early_min=early,
        late_min=late,
        walk_ins=walk_ins,
        version=version,
    ), []


def describe_hours(settings: BranchSettings, day: date, language: str) -> str:
    """Opening hours of one day in words, for the screen and the 'closed' refusal."""
    spans = settings.hours_on(day)
    if not spans:
        return "nieczynne" if language == "pl" else "closed"
    return ", ".join(f"{s.strftime('%H:%M')}–{e.strftime('%H:%M')}" for s, e in spans)
