"""The alarm raised after ten wrong staff PINs in a row, written on the owner's thread.

The contract has no alarm kind for staff PINs; ``code_guessing`` is the nearest, and the
detail says it was the staff PIN. Run only through ``branch.submit``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.branch import Branch

log = logging.getLogger(__name__)


def raise_pin_alarm(branch: Branch, failures: int) -> None:
    from kiosk.events import alarm_event

    now = datetime.now(branch.settings.zone)
    detail = (f"{failures} wrong staff PINs in a row at kiosk {branch.config.kiosk_id}; "
              "someone may be guessing the staff PIN")
    with branch.store.transaction():
        branch.store.enqueue_event(alarm_event(now, kind="code_guessing", detail=detail))
        branch.store.audit(at=now, actor="unknown", action="staff_pin",
                           args={"failures": failures}, source="kiosk", result="alarm")
    log.warning("staff PIN alarm: %s", detail)
    if branch.sync is not None:
        branch.sync.wake()
