"""Every transition of the host's link state, in one table."""

from __future__ import annotations

from enum import Enum

from .notices import LinkState


class LinkInput(Enum):
    PORT_OPENED = "port opened"
    DEVICE_HELLO = "device HELLO"
    PORT_LOST = "port lost"
    DEVICE_SILENT = "device silent"


class LinkStateError(RuntimeError):
    def __init__(self, state: LinkState, event: LinkInput) -> None:
        super().__init__(
            f"door link: {event.value!r} cannot happen while the link is {state.value}"
        )


_D, _C, _U = LinkState.DOWN, LinkState.CONNECTING, LinkState.UP

TRANSITIONS: dict[tuple[LinkState, LinkInput], LinkState] = {
    (_D, LinkInput.PORT_OPENED): _C,
    (_D, LinkInput.PORT_LOST): _D,
    (_C, LinkInput.DEVICE_HELLO): _U,
    (_C, LinkInput.PORT_LOST): _D,
    (_C, LinkInput.DEVICE_SILENT): _D,
    (_U, LinkInput.DEVICE_HELLO): _U,  # a device that restarted says HELLO again
    (_U, LinkInput.PORT_LOST): _D,
    (_U, LinkInput.DEVICE_SILENT): _D,
}


def next_state(state: LinkState, event: LinkInput) -> LinkState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise LinkStateError(state, event) from None
