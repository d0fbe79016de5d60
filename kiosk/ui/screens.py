"""The screens: thin classes, one per .kv file; what they show comes from the app's state."""

from __future__ import annotations

from kivy.properties import ListProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    customer = True  # customer screens return to Welcome after ui.inactivity_s


class WelcomeScreen(KioskScreen):
    pass


class CodeScreen(KioskScreen):
    typed = StringProperty("")     # the code as shown, in groups
    note = StringProperty("")      # "Checking..." or why the answer is late


class ResultScreen(KioskScreen):
    result = ObjectProperty(None, allownone=True)


class RefusalScreen(KioskScreen):
    result = ObjectProperty(None, allownone=True)
    note = StringProperty("")


class CallScreen(KioskScreen):
    ticket = StringProperty("")


class StaffScreen(KioskScreen):
    customer = False


class StaffPinScreen(StaffScreen):
    dots = StringProperty("")
    note = StringProperty("")


class StaffPanelScreen(StaffScreen):
    pass


class StaffNumberScreen(StaffScreen):
    prompt = StringProperty("")
    value = StringProperty("")
    action = StringProperty("")


class StaffTicketScreen(StaffScreen):
    value = StringProperty("")


class StaffQueueScreen(StaffScreen):
    waiting = ListProperty([])


class StaffConfirmScreen(StaffScreen):
    pass


SCREENS: dict[str, type[KioskScreen]] = {
    "welcome": WelcomeScreen,
    "code": CodeScreen,
    "result": ResultScreen,
    "refusal": RefusalScreen,
    "call": CallScreen,
    "staff_pin": StaffPinScreen,
    "staff": StaffPanelScreen,
    "staff_number": StaffNumberScreen,
    "staff_ticket": StaffTicketScreen,
    "staff_queue": StaffQueueScreen,
    "staff_confirm": StaffConfirmScreen,
}
