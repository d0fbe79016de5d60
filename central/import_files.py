"""Reading booking files: CSV, JSON and JSON Lines, each row with the line it starts on.

A CSV row is flat (``service_id``, ``ticket_prefix``, ``service_name_pl``...); it is turned
into the contract's booking shape here, so one check (kiosk.bookings.parse_booking) serves
every format. A JSON file holds a list of bookings in the contract's shape, or an object with
a ``bookings`` list; JSON Lines holds one booking per line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CSV_COLUMNS = (
    "booking_id", "branch", "code", "starts_at", "duration_min", "service_id", "ticket_prefix",
    "service_name_pl", "service_name_en", "party_size", "display_name", "status", "version",
)
_CSV_INTEGERS = ("duration_min", "party_size", "version")


class ImportFileError(ValueError):
    """The file as a whole cannot be read; the message names the file and, if known, the line."""


class RowError(ValueError):
    """One row cannot be turned into a booking; the message names the field."""


def read_rows(path: Path) -> list[tuple[int, Any]]:
    """Every row of a booking file with its line number; the format follows the suffix."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return list(_csv_rows(path, text))
    if suffix in (".jsonl", ".ndjson"):
        return list(_json_lines(path, text))
    if suffix == ".json":
        return list(_json_rows(path, text))
    raise ImportFileError(f"{path}: unknown format {suffix!r}; use .csv, .json or .jsonl")


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"{path}: line 1: unknown column(s) {', '.join(unknown)}; "
            f"the columns are {', '.join(CSV_COLUMNS)}"
        )
    line = 1
    for row in reader:
        start, line = line + 1, reader.line_num
        if None in row:
            yield start, RowError(f"{len(row[None])} value(s) more than the header has columns")
            continue
        yield start, {key: value for key, value in row.items() if value not in ("", None)}


def csv_row_to_contract(row: dict[str, str]) -> dict[str, Any]:
    """A flat CSV row in the contract's nested booking shape; numbers converted, named if bad."""
    booking: dict[str, Any] = {k: v for k, v in row.items() if not k.startswith("service_")
                               and k != "ticket_prefix"}
    for name in _CSV_INTEGERS:
        if name in booking:
            try:
                booking[name] = int(booking[name])
            except ValueError:
                raise RowError(f"field {name!r} = {booking[name]!r}: expected a whole number")\
                    from None
    service: dict[str, Any] = {"name": {}}
    if "service_id" in row:
        service["id"] = row["service_id"]
    if "ticket_prefix" in row:
        service["ticket_prefix"] = row["ticket_prefix"]
    for language in ("pl", "en"):
        if f"service_name_{language}" in row:
            service["name"][language] = row[f"service_name_{language}"]
    booking["service"] = service
    return booking


def _json_lines(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            yield number, RowError(f"not valid JSON ({exc})")


class _Scanner:
    """Walks a JSON text by hand just enough to know the line each list item starts on."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text, self.pos = path, text, 0
        self._decoder = json.JSONDecoder()
        self._line, self._line_pos = 1, 0

    def line(self) -> int:
        self._line += self.text.count("\n", self._line_pos, self.pos)
        self._line_pos = self.pos
        return self._line

    def skip_space(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, chars: str, what: str) -> str:
        found = self.skip_space()
        if not found or found not in chars:
            raise ImportFileError(f"{self.path}: line {self.line()}: expected {what}")
        self.pos += 1
        return found

    def value(self) -> Any:
        self.skip_space()
        try:
            value, self.pos = self._decoder.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"{self.path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
        return value

    def array_items(self) -> Iterator[tuple[int, Any]]:
        self.expect("[", "a list of bookings '['")
        if self.skip_space() == "]":
            self.pos += 1
            return
        while True:
            self.skip_space()
            line = self.line()
            yield line, self.value()
            if self.expect(",]", "',' or ']' after a booking") == "]":
                return

    def bookings_of_object(self) -> Iterator[tuple[int, Any]]:
        self.expect("{", "an object")
        while self.skip_space() != "}":
            key = self.value()
            self.expect(":", "':' after a key")
            if key == "bookings":
                yield from self.array_items()
                return
            self.value()
            if self.expect(",}", "',' or '}'") == "}":
                break
        raise ImportFileError(f"{self.path}: the object has no 'bookings' list")


def _json_rows(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    scanner = _Scanner(path, text)
    first = scanner.skip_space()
    if first == "[":
        yield from scanner.array_items()
    elif first == "{":
        yield from scanner.bookings_of_object()
    else:
        raise ImportFileError(
            f"{path}: line 1: a JSON list of bookings or an object with a 'bookings' list"
        )
