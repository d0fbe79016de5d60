"""The few widgets the screens share: a filled button, a keypad, and the hidden staff corner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.clock import Clock
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

from kiosk.ui import theme


class KioskButton(ButtonBehavior, Label):
    """A label with a filled, rounded ground; its look lives in widgets.kv."""

    ground = ColorProperty(theme.PRIMARY)
    ink = ColorProperty(theme.TEXT)
    key = StringProperty("")


class Keypad(GridLayout):
    """Keys in rows; each press is dispatched as ``on_key(key)``."""

    keys = ListProperty([])
    labels = ListProperty([])  # optional: what each key shows, when it is not the key itself
    ground = ColorProperty(theme.KEY)
    ink = ColorProperty(theme.KEY_TEXT)
    enabled = BooleanProperty(True)

    __events__ = ("on_key",)

    def __init__(self, **kwargs: Any) -> None:
        self._rebuild_soon = Clock.create_trigger(lambda _dt: self.rebuild(), -1)
        super().__init__(**kwargs)

    def on_keys(self, *_: Any) -> None:
        self._rebuild_soon()

    def on_labels(self, *_: Any) -> None:
        self._rebuild_soon()

    def on_enabled(self, *_: Any) -> None:
        for child in self.children:
            child.disabled = not self.enabled

    def rebuild(self) -> None:
        self.clear_widgets()
        labels: Sequence[str] = self.labels if len(self.labels) == len(self.keys) else self.keys
        for key, label in zip(self.keys, labels, strict=True):
            button = KioskButton(text=label, key=key, ground=self.ground, ink=self.ink,
                                 bold=True, disabled=not self.enabled)
            button.bind(on_release=self._pressed)
            self.add_widget(button)

    def _pressed(self, button: KioskButton) -> None:
        self.dispatch("on_key", button.key)

    def on_key(self, key: str) -> None:
        pass


class HoldCorner(ButtonBehavior, Label):
    """Shows the branch name; held for ``hold_s`` seconds it fires ``on_hold`` (staff mode)."""

    hold_s = NumericProperty(3.0)

    __events__ = ("on_hold",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pending: Any = None

    def on_press(self) -> None:
        self._cancel()
        self._pending = Clock.schedule_once(self._held, self.hold_s)

    def on_release(self) -> None:
        self._cancel()

    def _cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _held(self, _dt: float) -> None:
        self._pending = None
        self.dispatch("on_hold")

    def on_hold(self) -> None:
        pass


class QueueRow(BoxLayout):
    """One waiting ticket on the staff's queue screen, with its two actions."""

    ticket = StringProperty("")
    party = NumericProperty(1)
