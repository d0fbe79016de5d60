"""The check-in path: the rules applied to the store, one durable transaction per check-in.

The screen, the headless scanner loop and ``kiosk checkin`` all come through
``CheckinService.check_in``. An accepted check-in writes its row, its ticket number, the
occupancy placement and its outbox event in one transaction that is synced to disk before
``check_in`` returns, so nobody is told "welcome" for a check-in that could be lost.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from kiosk.bookings import Booking
from kiosk.events import alarm_event, checkin_event, checkin_refused_event
from kiosk.guard import CodeGuessGuard
from kiosk.messages import Text, refusal_text, welcome_text
from kiosk.rules import (
    Accept,
    Reason,
    Refusal,
    choose_booking,
    entry_refusal,
    evaluate_booking,
    screen_input,
)
from kiosk.settings import BranchSettings
from kiosk.store import CheckinRecord, Store

log = logging.getLogger(__name__)

GUARD_KEY = "checkin.code_guess_guard"


@dataclass(frozen=True)
class Placement:
    outcome: str                 # "admitted" or "waiting"
    position: int | None = None  # place in line when waiting


class PlacementRefused(Exception):
    """The occupancy does not take the customer now (entry paused, closed, emergency)."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Admission(Protocol):
    """Where an accepted customer goes: in at once, or into the line.

    ``place`` runs inside the check-in's transaction and may write there; ``committed`` or
    ``rolled_back`` follows, so an in-memory state only changes once the disk has it.
    """

    def place(self, store: Store, ticket: str, party_size: int, now: datetime) -> Placement: ...

    def committed(self) -> None: ...

    def rolled_back(self) -> None: ...


AcceptHook = Callable[[Store, "CheckinResult"], None]


@dataclass(frozen=True)
class CheckinResult:
    event: dict[str, Any]
    text: Text
    booking: Booking | None = None
    ticket: str | None = None
    placement: Placement | None = None
    refusal: Refusal | None = None
    language: str = "pl"
    extra_events: tuple[dict[str, Any], ...] = field(default=())

    @property
    def accepted(self) -> bool:
        return self.refusal is None

    def as_json(self) -> dict[str, Any]:
        """The contract's event plus what the customer is told, for ``--json`` and logs."""
        data = dict(self.event)
        data["message"] = {"pl": self.text.pl, "en": self.text.en}
        if self.placement is not None and self.placement.position is not None:
            data["position"] = self.placement.position
        return data


class CheckinService:
    def __init__(
        self,
        store: Store,
        settings: Callable[[], BranchSettings],
        admission: Admission,
        *,
        guard: CodeGuessGuard | None = None,
        entry_paused: Callable[[], bool] = lambda: False,
        on_accepted: AcceptHook | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.admission = admission
        self.guard = guard or CodeGuessGuard()
        self.guard.restore(store.get_value(GUARD_KEY))
        self.entry_paused = entry_paused
        self.on_accepted = on_accepted
        self.counters = {"accepted": 0, "refused": 0, "invalid_input": 0}

    def check_in(self, raw: str, now: datetime, language: str = "pl") -> CheckinResult:
        settings = self.settings()
        screened = screen_input(raw)
        if isinstance(screened, Refusal):
            self.counters["invalid_input"] += 1
            log.info("check-in refused: invalid code (%s)", screened.detail)
            return self._refuse(screened, now, settings)
        gate = entry_refusal(now, settings, entry_paused=self.entry_paused(),
                             codes_paused_until=self.guard.paused(now))
        if gate is not None:
            return self._refuse(gate, now, settings)
        booking = choose_booking(self.store.bookings_with_code(screened), now)
        existing = self.store.checkin_for_booking(booking.booking_id) if booking else None
        decision = evaluate_booking(booking, existing_ticket=existing.ticket if existing else None,
                                    now=now, settings=settings)
        if isinstance(decision, Refusal):
            return self._refuse(decision, now, settings)
        return self._accept(decision, now, settings, language)

    # --- accepted --------------------------------------------------------------------------

    def _accept(self, decision: Accept, now: datetime, settings: BranchSettings,
                language: str) -> CheckinResult:
        booking = decision.booking
        local_now = settings.local(now)
        try:
            with self.store.transaction():
                # Re-read inside the write lock: another kiosk or process may have won the race.
                existing = self.store.checkin_for_booking(booking.booking_id)
                if existing is not None:
                    raise _AlreadyCheckedIn(existing.ticket)
                number = self.store.take_ticket_number(booking.ticket_prefix, local_now.date())
                ticket = f"{booking.ticket_prefix}{number:03d}"
                placement = self.admission.place(self.store, ticket, booking.party_size, now)
                event = checkin_event(local_now, booking_id=booking.booking_id, ticket=ticket,
                                      party_size=booking.party_size, outcome=placement.outcome)
                self.store.insert_checkin(CheckinRecord(
                    booking_id=booking.booking_id, ticket=ticket,
                    service_date=local_now.date().isoformat(), party_size=booking.party_size,
                    outcome=placement.outcome, language=language, checked_in_at=local_now,
                    event_id=event["event_id"],
                ))
                self.store.enqueue_event(event)
                result = CheckinResult(
                    event=event, text=welcome_text(ticket, placement.outcome, placement.position),
                    booking=booking, ticket=ticket, placement=placement, language=language,
                )
                if self.on_accepted is not None:
                    self.on_accepted(self.store, result)
        except PlacementRefused as refused:
            self.admission.rolled_back()
            return self._refuse(Refusal(refused.reason, refused.detail, booking=booking),
                                now, settings)
        except _AlreadyCheckedIn as race:
            self.admission.rolled_back()
            refusal = Refusal(Reason.ALREADY_CHECKED_IN, f"already checked in as {race.ticket}",
                              booking=booking, existing_ticket=race.ticket)
            return self._refuse(refusal, now, settings)
        except sqlite3.IntegrityError:
            # The UNIQUE constraint is the last line: a concurrent writer committed first.
            self.admission.rolled_back()
            existing = self.store.checkin_for_booking(booking.booking_id)
            if existing is None:
                raise
            refusal = Refusal(Reason.ALREADY_CHECKED_IN, f"already checked in as {existing.ticket}",
                              booking=booking, existing_ticket=existing.ticket)
            return self._refuse(refusal, now, settings)
        except BaseException:
            self.admission.rolled_back()
            raise
        self.admission.committed()
        self.counters["accepted"] += 1
        log.info("checked in %s as %s (%s)", booking.booking_id, ticket, placement.outcome)
        return result

    # --- refused ---------------------------------------------------------------------------

    def _refuse(self, refusal: Refusal, now: datetime, settings: BranchSettings) -> CheckinResult:
        local_now = settings.local(now)
        event = checkin_refused_event(local_now, reason=refusal.reason.value,
                                      booking_id=refusal.booking_id)
        extra: list[dict[str, Any]] = []
        with self.store.transaction():
            self.store.enqueue_event(event)
            if refusal.reason is Reason.UNKNOWN_CODE:
                if self.guard.record_unknown(now):
                    alarm = alarm_event(local_now, kind="code_guessing", detail=(
                        f"{self.guard.limit} unknown codes within {self.guard.window_s} s; "
                        f"code entry paused for {self.guard.pause_s} s"))
                    self.store.enqueue_event(alarm)
                    extra.append(alarm)
                    log.warning("code guessing suspected: code entry paused for %d s",
                                self.guard.pause_s)
                self.store.set_value(GUARD_KEY, self.guard.snapshot())
        self.counters["refused"] += 1
        log.info("check-in refused: %s (%s)", refusal.reason.value, refusal.detail)
        return CheckinResult(event=event, text=refusal_text(refusal, settings, now),
                             booking=refusal.booking, refusal=refusal, extra_events=tuple(extra))


class _AlreadyCheckedIn(Exception):
    def __init__(self, ticket: str) -> None:
        super().__init__(ticket)
        self.ticket = ticket
