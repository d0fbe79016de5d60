"""What each screen says, chosen from the branch's view and a check-in's result. No Kivy.

Functions return message ids (translated by the caller) or finished sentences from the
check-in rules, so the choice of words is tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiosk.ui.i18n import N_

if TYPE_CHECKING:  # the screen draws its first frame before the branch's modules load
    from kiosk.branch import BranchView
    from kiosk.checkin import CheckinResult

PRINTED_STATES = ("ok", "paper_low")


@dataclass(frozen=True)
class StateBanner:
    title: str     # message id
    subtitle: str  # message id


STATE_BANNERS: dict[str, StateBanner] = {
    "open": StateBanner(N_("Come in"), N_("Please check in with your booking code.")),
    "full": StateBanner(
        N_("Please wait"), N_("The branch is full. Check in to get a place in line.")
    ),
    "paused": StateBanner(N_("Entry paused"), N_("Please wait for the staff.")),
    "closed": StateBanner(N_("Closed"), N_("Come back during opening hours.")),
    "emergency": StateBanner(
        N_("Emergency"), N_("The door is open. Please follow the staff's instructions.")
    ),
    "free_entry": StateBanner(N_("Free entry"), N_("Please come in and check in with your code.")),
    "fault": StateBanner(
        N_("Please wait"), N_("The door is being checked. Please ask the staff.")
    ),
}


def state_banner(state: str) -> StateBanner:
    return STATE_BANNERS.get(state, STATE_BANNERS["fault"])


@dataclass(frozen=True)
class RefusalAdvice:
    title: str                 # message id
    next_step: str             # message id
    retry: bool = False        # offer "Try again" (back to the keypad)
    reprint_ticket: str | None = None  # offer "Print again" for this ticket


# Keyed by kiosk.rules.Reason's values (a StrEnum, so a Reason finds its row).
REFUSAL_TITLES: dict[str, tuple[str, str]] = {
    "invalid_code": (N_("This is not a booking code"), N_("Check the code and type it again.")),
    "unknown_code": (N_("Booking not found"),
                     N_("Check the code, or ask the staff at the counter.")),
    "cancelled": (N_("Booking cancelled"), N_("Ask the staff, or book a new visit.")),
    "already_checked_in": (N_("Already checked in"),
                           N_("Press \u201cPrint again\u201d for a new slip.")),
    "too_early": (N_("Too early"), N_("Come back at the time shown.")),
    "too_late": (N_("Too late"), N_("Ask the staff at the counter.")),
    "closed": (N_("Closed"), N_("Come back during opening hours.")),
    "paused": (N_("Please wait"), N_("Wait a moment and try again, or ask the staff.")),
}


def refusal_advice(result: CheckinResult) -> RefusalAdvice:
    refusal = result.refusal
    if refusal is None:
        raise ValueError("refusal_advice needs a refused check-in")
    title, next_step = REFUSAL_TITLES[refusal.reason]
    retry = refusal.reason in ("invalid_code", "unknown_code", "paused")
    reprint = refusal.existing_ticket if refusal.reason == "already_checked_in" else None
    return RefusalAdvice(title, next_step, retry=retry, reprint_ticket=reprint)


@dataclass(frozen=True)
class ResultLines:
    ticket: str
    service: str
    instruction: str           # message id, formatted with ``position``
    position: int | None
    printed: bool              # False: say the slip could not be printed


def result_lines(result: CheckinResult, view: BranchView | None, language: str) -> ResultLines:
    placement = result.placement
    if result.ticket is None or placement is None:
        raise ValueError("result_lines needs an accepted check-in")
    booking = result.booking
    service = booking.service_name(language) if booking else ""
    if placement.outcome == "admitted":
        instruction = N_("Please enter now.")
    else:
        instruction = N_("You are number {position} in line. Your ticket will be called.")
    printed = view is None or view.printer in PRINTED_STATES
    return ResultLines(result.ticket, service, instruction, placement.position, printed)


DOOR_WORDS = {"ok": N_("working"), "down": N_("no link"), "fault": N_("fault"),
              "absent": N_("none")}
SYNC_WORDS = {"connected": N_("connected"), "offline": N_("no link"),
              "connecting": N_("connecting"), "off": N_("switched off")}
PRINTER_WORDS = {"ok": N_("ready"), "paper_low": N_("paper low"), "paper_out": N_("no paper"),
                 "offline": N_("offline"), "error": N_("error")}
STATE_WORDS = {"open": N_("open"), "full": N_("full"), "paused": N_("paused"),
               "closed": N_("closed"), "free_entry": N_("free entry"),
               "emergency": N_("emergency"), "fault": N_("fault")}
