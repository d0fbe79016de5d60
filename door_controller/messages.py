"""What the staff read about the door and the queue: Polish first, English second."""

from __future__ import annotations

from door_controller.effects import (
    Alarm,
    AlarmKind,
    Drift,
    Effect,
    NotEntered,
    StaffNotice,
)

Text = tuple[str, str]  # (Polish, English)

_NOTICES: dict[str, Text] = {
    "sensor_fault_choose": (
        "Czujnik wejścia nie działa ({detail}). Drzwi są zamknięte. Wybierz: zostaw zamknięte "
        "albo włącz wolne wejście.",
        "Entrance sensor fault ({detail}). The door is held locked. Choose: keep it held or "
        "switch to free entry.",
    ),
    "device_rebooted": (
        "Sterownik drzwi uruchomił się ponownie ({detail}). Sprawdź liczbę osób w oddziale.",
        "The door controller restarted ({detail}). Check the number of people inside.",
    ),
    "door_link_down": (
        "Brak połączenia ze sterownikiem drzwi: {detail}. Drzwi same się zamknęły; "
        "sprawdź kabel USB.",
        "No connection to the door controller: {detail}. The door has locked itself; check "
        "the USB cable.",
    ),
    "door_link_up": (
        "Połączenie ze sterownikiem drzwi wróciło.",
        "The door controller is connected again.",
    ),
    "admit_requeued": (
        "Drzwi nie wpuściły {detail}; klient wrócił na początek kolejki.",
        "The door did not take the admission for {detail}; they are first in line again.",
    ),
    "events_lost": (
        "Utracono zdarzenia drzwi: {detail}. Sprawdź liczbę osób w oddziale.",
        "Door events lost: {detail}. Check the number of people inside.",
    ),
}

_ALARMS: dict[AlarmKind, Text] = {
    AlarmKind.TAILGATE: ("Wejście bez wezwania (ktoś wszedł za kimś).",
                         "Someone came in without being called (tailgating)."),
    AlarmKind.DOOR_FORCED: ("Drzwi otwarte siłą, gdy były zamknięte.",
                            "The door was forced open while locked."),
    AlarmKind.DOOR_HELD_OPEN: ("Drzwi są otwarte zbyt długo.", "The door is held open too long."),
    AlarmKind.SENSOR_FAULT: ("Awaria czujnika wejścia.", "Entrance sensor fault."),
    AlarmKind.DOOR_LINK_DOWN: ("Brak połączenia ze sterownikiem drzwi.",
                               "No connection to the door controller."),
}

_NOT_ENTERED: dict[str, Text] = {
    "window_expired": ("{who}: nie wszedł ({unused} z wezwanych osób).",
                       "{who}: did not enter ({unused} of those called)."),
    "no_answer": ("{who}: drzwi nie potwierdziły wejścia ({unused}).",
                  "{who}: the door never confirmed the entry ({unused})."),
    "branch_closed": ("{who}: czekał do zamknięcia oddziału ({unused}).",
                      "{who}: still waiting when the branch closed ({unused})."),
}


def staff_text(effect: Effect) -> Text | None:
    """The staff's text for an effect they should see, or None for the others."""
    if isinstance(effect, StaffNotice):
        polish, english = _NOTICES[effect.code]
        return polish.format(detail=effect.detail), english.format(detail=effect.detail)
    if isinstance(effect, Alarm):
        polish, english = _ALARMS[effect.kind]
        return f"{polish} {effect.detail}", f"{english} {effect.detail}"
    if isinstance(effect, NotEntered):
        polish, english = _NOT_ENTERED[effect.reason]
        who_pl = effect.ticket or "Wejście bez biletu"
        who_en = effect.ticket or "Admission without a ticket"
        return (polish.format(who=who_pl, unused=effect.unused),
                english.format(who=who_en, unused=effect.unused))
    if isinstance(effect, Drift):
        return (f"Korekta liczby osób: {effect.detail}", f"Count corrected: {effect.detail}")
    return None
