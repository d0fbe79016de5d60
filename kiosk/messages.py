"""What the customer is told, in Polish first and English second.

Every outcome of the check-in rules says what happened and what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.rules import Reason, Refusal
from kiosk.settings import BranchSettings, describe_hours

LANGUAGES = ("pl", "en")


@dataclass(frozen=True)
class Text:
    pl: str
    en: str

    def in_language(self, language: str) -> str:
        return self.en if language == "en" else self.pl


def _when(moment: datetime, now: datetime, language: str) -> str:
    if moment.date() == now.date():
        return moment.strftime("%H:%M")
    if language == "en":
        return moment.strftime("%d.%m.%Y at %H:%M")
    return moment.strftime("%d.%m.%Y o %H:%M")


def refusal_text(refusal: Refusal, settings: BranchSettings, now: datetime) -> Text:
    local_now = settings.local(now)
    reason = refusal.reason
    if reason is Reason.INVALID_CODE:
        return Text(
            "To nie jest kod rezerwacji. Kod ma 8 liter i cyfr, np. 7KQ2-M9XD. "
            "Sprawdź go i wpisz ponownie.",
            "This is not a booking code. A code has 8 letters and digits, "
            "e.g. 7KQ2-M9XD. Please check it and try again.",
        )
    if reason is Reason.UNKNOWN_CODE:
        return Text(
            "Nie znaleźliśmy rezerwacji z tym kodem. Sprawdź kod lub zapytaj obsługę.",
            "We found no booking with this code. Please check it or ask the staff.",
        )
    if reason is Reason.CANCELLED:
        return Text(
            "Ta rezerwacja została odwołana. Zapytaj obsługę lub umów nową wizytę.",
            "This booking was cancelled. Please ask the staff or book a new visit.",
        )
    if reason is Reason.ALREADY_CHECKED_IN:
        ticket = refusal.existing_ticket or ""
        return Text(
            f"Ten kod został już użyty, Twój numer to {ticket}. Możesz ponownie wydrukować bilet.",
            f"This code was already used, your number is {ticket}. You can print the ticket again.",
        )
    if reason is Reason.TOO_EARLY and refusal.checkin_from is not None:
        start = settings.local(refusal.checkin_from)
        return Text(
            f"Jesteś za wcześnie. Możesz się zarejestrować od {_when(start, local_now, 'pl')}.",
            f"You are early. You can check in from {_when(start, local_now, 'en')}.",
        )
    if reason is Reason.TOO_LATE:
        return Text(
            "Czas na rejestrację tej wizyty minął. Prosimy o kontakt z obsługą.",
            "The time to check in for this visit has passed. Please ask the staff.",
        )
    if reason is Reason.CLOSED:
        today = local_now.date()
        opening = settings.next_opening(now)
        nxt_pl = f" Najbliższe otwarcie: {_when(opening, local_now, 'pl')}." if opening else ""
        nxt_en = f" We next open {_when(opening, local_now, 'en')}." if opening else ""
        return Text(
            f"Placówka jest teraz zamknięta. Dziś: {describe_hours(settings, today, 'pl')}."
            + nxt_pl,
            f"The branch is closed now. Today: {describe_hours(settings, today, 'en')}." + nxt_en,
        )
    if reason is Reason.PAUSED and refusal.paused_until is not None:
        until = settings.local(refusal.paused_until)
        return Text(
            f"Wpisywanie kodów jest wstrzymane do {until.strftime('%H:%M:%S')}. "
            "Prosimy chwilę poczekać lub zapytać obsługę.",
            f"Code entry is paused until {until.strftime('%H:%M:%S')}. "
            "Please wait a moment or ask the staff.",
        )
    if reason is Reason.PAUSED:
        return Text(
            "Wejście jest chwilowo wstrzymane. Prosimy poczekać na informację obsługi.",
            "Entry is paused for a moment. Please wait for the staff.",
        )
    return Text(
        "Nie możemy Cię teraz zarejestrować. Zapytaj obsługę.",
        "We cannot check you in now. Please ask the staff.",
    )


def welcome_text(ticket: str, outcome: str, position: int | None) -> Text:
    if outcome == "admitted":
        return Text(
            f"Witamy! Twój numer: {ticket}. Proszę wejść.",
            f"Welcome! Your number: {ticket}. Please enter now.",
        )
    place = position or 1
    return Text(
        f"Witamy! Twój numer: {ticket}. Jesteś {place}. w kolejce, Twój numer zostanie wywołany.",
        f"Welcome! Your number: {ticket}. You are number {place} in line, "
        "your ticket will be called.",
    )

