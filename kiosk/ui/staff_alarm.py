"""The alarm raised after ten wrong staff PINs in a row, written on the owner's thread.

The contract has no alarm kind for staff PINs; ``code_guessing`` is the nearest, and the
detail says it was the staff PIN. Run only through ``branch.submit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.branch import Branch


def raise_pin_alarm(branch: Branch, failures: int) -> None:
    detail = (f"{failures} wrong staff PINs in a row at kiosk {branch.config.kiosk_id}; "
              "someone may be guessing the staff PIN")
    branch.raise_alarm("code_guessing", detail, actor="unknown", action="staff_pin",
                       args={"failures": failures})
