"""``central bookings import``: bookings from a file into central's store, row by row.

Each row is checked with the kiosk's own booking parser, so what central accepts a kiosk
accepts too. A bad row is reported with its line and field and skipped; the good rows are
stored. A row without a code gets a new one; a row without a version gets the next version
of the stored booking, or none at all when nothing in it changed, so importing the same file
twice sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from central.codes import new_unique_code
from central.import_files import RowError, csv_row_to_contract, read_rows
from central.store import CentralStore
from central.topics import ID_PATTERN
from kiosk.bookings import Booking, BookingError, parse_booking

BATCH_ROWS = 500


@dataclass
class ImportReport:
    rows: int = 0
    stored: int = 0
    unchanged: int = 0
    codes_generated: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class _Seen:
    """What earlier rows of the same file claimed, to catch repeats within the file."""

    booking_ids: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)


class BookingImport:
    def __init__(self, store: CentralStore, *, branch: str | None = None,
                 dry_run: bool = False) -> None:
        self.store = store
        self.branch = branch
        self.dry_run = dry_run
        self.report = ImportReport()
        self._seen = _Seen()
        self._batch: list[tuple[str, Booking]] = []

    def run(self, path: Path, progress: Callable[[int, int], None] | None = None) -> ImportReport:
        rows = read_rows(path)
        for done, (line, raw) in enumerate(rows, start=1):
            self.report.rows += 1
            try:
                self._take_row(line, raw, path.suffix.lower() == ".csv")
            except (RowError, BookingError) as exc:
                self.report.problems.append(f"line {line}: {exc}")
            if len(self._batch) >= BATCH_ROWS:
                self._flush()
            if progress:
                progress(done, len(rows))
        self._flush()
        return self.report

    def _take_row(self, line: int, raw: Any, is_csv: bool) -> None:
        if isinstance(raw, RowError):
            raise raw
        if not isinstance(raw, dict):
            raise RowError(f"a booking must be an object, got {type(raw).__name__}")
        data = csv_row_to_contract(raw) if is_csv else dict(raw)
        branch = self._branch_of(data)
        data.setdefault("status", "booked")
        booking_id = data.get("booking_id")
        existing = self.store.get_booking(booking_id) if isinstance(booking_id, str) else None
        generated = "code" not in data
        if generated:
            data["code"] = existing.booking.code if existing else self._new_code()
        explicit_version = "version" in data
        data.setdefault("version", existing.booking.version if existing else 1)
        booking = parse_booking(data)
        self._check_unique(line, branch, booking)
        if existing and not explicit_version:
            if replace(existing.booking, version=booking.version) == booking \
                    and existing.branch == branch:
                self.report.unchanged += 1
                return
            booking = replace(booking, version=existing.booking.version + 1)
        if generated and not existing:
            self.report.codes_generated += 1
        self._batch.append((branch, booking))

    def _branch_of(self, data: dict[str, Any]) -> str:
        branch = data.pop("branch", None) or self.branch
        if branch is None:
            raise RowError("field 'branch' is missing; add a branch column or pass --branch")
        if not isinstance(branch, str) or not ID_PATTERN.match(branch):
            raise RowError(f"field 'branch' = {branch!r}: expected 1-32 characters a-z, 0-9, -")
        return branch

    def _new_code(self) -> str:
        def taken(code: str) -> bool:
            return code in self._seen.codes or self.store.booking_with_code(code) is not None

        return new_unique_code(taken)

    def _check_unique(self, line: int, branch: str, booking: Booking) -> None:
        earlier = self._seen.booking_ids.get(booking.booking_id)
        if earlier is not None:
            raise RowError(f"booking_id {booking.booking_id!r} already on line {earlier}")
        owner = self._seen.codes.get(booking.code)
        if owner is None:
            stored = self.store.booking_with_code(booking.code)
            owner = stored.booking.booking_id if stored else None
        if owner is not None and owner != booking.booking_id:
            raise RowError(f"field 'code' {booking.code!r} is already the code of booking "
                           f"{owner!r}; every booking needs its own code")
        self._seen.booking_ids[booking.booking_id] = line
        self._seen.codes[booking.code] = booking.booking_id

    def _flush(self) -> None:
        if self._batch and not self.dry_run:
            # A row whose version is not above the stored one changes nothing.
            changed = self.store.upsert_bookings(self._batch)
            self.report.stored += changed
            self.report.unchanged += len(self._batch) - changed
        elif self.dry_run:
            self.report.stored += len(self._batch)
        self._batch = []

