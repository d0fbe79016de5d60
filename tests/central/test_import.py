"""central bookings import: CSV, JSON and JSON Lines, row by row, into a real store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from central.cli import main
from central.import_files import CSV_COLUMNS, ImportFileError
from central.importer import BookingImport
from central.store import CentralStore
from kiosk.codes import CROCKFORD_ALPHABET, normalise_code
from tests.central.central_helpers import booking_json, monday

CSV_ROW = {
    "booking_id": "b-1", "branch": "krakow-1", "code": "7kq2-m9xd",
    "starts_at": "2026-11-23T10:30:00+01:00", "duration_min": "15", "service_id": "contracts",
    "ticket_prefix": "A", "service_name_pl": "Umowy", "service_name_en": "Contracts",
    "party_size": "1", "display_name": "Żaneta Ś.", "status": "booked", "version": "",
}


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_csv_rows_become_contract_bookings(store: CentralStore, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "b.csv", [CSV_ROW, {**CSV_ROW, "booking_id": "b-2",
                                                     "code": "", "party_size": "3"}])
    report = BookingImport(store).run(path)
    assert report.problems == [] and report.stored == 2 and report.codes_generated == 1
    first = store.get_booking("b-1")
    assert first is not None and first.booking.code == "7KQ2M9XD"
    assert first.booking.display_name == "Żaneta Ś." and first.booking.version == 1
    second = store.get_booking("b-2")
    assert second is not None and second.booking.party_size == 3
    assert normalise_code(second.booking.code) == second.booking.code
    assert set(second.booking.code) <= set(CROCKFORD_ALPHABET)


def test_bad_rows_are_named_by_line_and_field(store: CentralStore, tmp_path: Path) -> None:
    rows = [
        CSV_ROW,
        {**CSV_ROW, "booking_id": "b-2", "code": "", "starts_at": "23.11.2026 10:30"},
        {**CSV_ROW, "booking_id": "b-3", "code": "", "duration_min": "kwadrans"},
        {**CSV_ROW, "booking_id": "b-4", "code": "7KQ2M9XD"},
        {**CSV_ROW, "booking_id": "b-1", "code": ""},
        {**CSV_ROW, "booking_id": "b-6", "code": "", "ticket_prefix": ""},
        {**CSV_ROW, "booking_id": "b-7", "code": "", "branch": "Kraków"},
        {**CSV_ROW, "booking_id": "b-8", "code": "", "status": "maybe"},
        {**CSV_ROW, "booking_id": "b-9", "code": "UUUUUUUU"},
        {**CSV_ROW, "booking_id": "b-10", "code": ""},
    ]
    report = BookingImport(store).run(write_csv(tmp_path / "b.csv", rows))
    problems = report.problems
    assert len(problems) == 8, problems
    assert problems[0].startswith("line 3: ") and "starts_at" in problems[0]
    assert problems[1].startswith("line 4: ") and "'duration_min'" in problems[1]
    assert problems[2].startswith("line 5: ") and "already the code of booking 'b-1'" \
        in problems[2]
    assert problems[3].startswith("line 6: ") and "already on line 2" in problems[3]
    assert problems[4].startswith("line 7: ") and "'ticket_prefix' is missing" in problems[4]
    assert problems[5].startswith("line 8: ") and "'branch'" in problems[5]
    assert problems[6].startswith("line 9: ") and "status 'maybe'" in problems[6]
    assert problems[7].startswith("line 10: ") and "code" in problems[7]
    assert report.stored == 2
    assert store.get_booking("b-10") is not None and store.get_booking("b-2") is None


def test_json_and_json_lines_name_the_line(store: CentralStore, tmp_path: Path) -> None:
    good = booking_json("j-1", "7KQ2M9X1", monday(10))
    bad = {**booking_json("j-2", "7KQ2M9X2", monday(11)), "party_size": "dwie"}
    text = json.dumps({"source": "crm", "bookings": [good, bad]}, indent=2, ensure_ascii=False)
    line_of_bad = text.splitlines().index("    {", 20) + 1
    path = tmp_path / "b.json"
    path.write_text(text, encoding="utf-8")
    report = BookingImport(store, branch="krakow-1").run(path)
    assert report.stored == 1
    assert report.problems == [f"line {line_of_bad}: booking j-2: party_size 'dwie' must be a "
                               "whole number 1 to 10"]
    lines = tmp_path / "b.jsonl"
    lines.write_text(json.dumps(good) + "\n\n{oops\n" + json.dumps([1]) + "\n", "utf-8")
    report = BookingImport(store, branch="krakow-1").run(lines)
    assert report.unchanged == 1
    assert [p.split(":")[0] for p in report.problems] == ["line 3", "line 4"]


def test_reimport_changes_only_what_changed(store: CentralStore, tmp_path: Path) -> None:
    rows = [{**CSV_ROW, "booking_id": f"b-{i}", "code": ""} for i in range(5)]
    path = write_csv(tmp_path / "b.csv", rows)
    BookingImport(store).run(path)
    codes = {i: store.get_booking(f"b-{i}").booking.code for i in range(5)}  # type: ignore[union-attr]
    store.mark_bookings_published([(f"b-{i}", 1) for i in range(5)])
    rows[2]["status"] = "cancelled"
    report = BookingImport(store).run(write_csv(path, rows))
    assert (report.stored, report.unchanged, report.codes_generated) == (1, 4, 0)
    changed = store.get_booking("b-2")
    assert changed is not None and changed.booking.version == 2
    assert changed.booking.code == codes[2] and changed.booking.cancelled
    assert [s.booking.booking_id for s in store.unpublished_bookings(10)] == ["b-2"]


def test_unreadable_files_say_why(store: CentralStore, tmp_path: Path) -> None:
    cases = {
        "a.xlsx": (b"PK", "unknown format"),
        "b.csv": (b"booking_id,colour\n", r"unknown column\(s\) colour"),
        "c.json": (b'{"bookings": [{"a": 1}\n, }', "line 2"),
        "d.json": (b'{"items": []}', "no 'bookings' list"),
        "e.csv": (b"\xff\xfe\x00", "not UTF-8"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ImportFileError, match=message):
            BookingImport(store).run(path)


def test_cli_import_with_progress_and_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{**CSV_ROW, "booking_id": f"b-{i}", "code": "",
             "starts_at": monday(9).replace(minute=i % 60).isoformat()} for i in range(2000)]
    rows[1500]["party_size"] = "0"
    path = write_csv(tmp_path / "big.csv", rows)
    db = tmp_path / "central.sqlite3"
    assert main(["bookings", "import", str(path), "--db", str(db), "--progress"]) == 1
    out, err = capsys.readouterr()
    assert "2000 rows: stored 1999, unchanged 0, codes generated 1999, rejected 1" in out
    assert "big.csv: line 1502: booking b-1500: party_size 0" in err
    assert "[##############################] 2000/2000 (100%)" in err
    assert main(["bookings", "import", str(path), "--db", str(db), "--no-progress",
                 "--dry-run"]) == 1
    out, err = capsys.readouterr()
    assert "would store 0, unchanged 1999" in out and "(100%)" not in err
