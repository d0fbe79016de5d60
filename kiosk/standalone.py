"""A check-in from the command line, through the same service as the screen.

``kiosk checkin`` runs instead of the kiosk, never beside it: it owns the store for the one
check-in (``kiosk.ownership``) and is refused while a kiosk runs on it, since that kiosk's
occupancy in memory would not see the check-in. It reads the occupancy from the store inside
its own transaction, so it never works from a stale copy.
"""

from __future__ import annotations

from datetime import datetime

from kiosk.admission import NO_ENTRY_STATES, MachineAdmission, OccupancyHolder
from kiosk.checkin import CheckinResult, CheckinService
from kiosk.config import KioskConfig
from kiosk.guard import CodeGuessGuard
from kiosk.ownership import StoreOwnership
from kiosk.store import Store


def make_guard(config: KioskConfig) -> CodeGuessGuard:
    return CodeGuessGuard(limit=config.checkin.guess_limit, window_s=config.checkin.guess_window_s,
                          pause_s=config.checkin.guess_pause_s)


def standalone_checkin(config: KioskConfig, raw_code: str, now: datetime, *,
                       language: str = "pl") -> CheckinResult:
    ownership = StoreOwnership.acquire(config.database_path, "kiosk checkin", wait_s=3.0)
    store = Store(config.database_path)
    try:
        settings = config.branch
        door = config.door.enabled
        holder = OccupancyHolder.from_store(store, settings.limit, door_present=door, now=now)
        admission = MachineAdmission(holder, reload=True, default_limit=settings.limit,
                                     door_present=door)
        service = CheckinService(
            store, lambda: settings, admission, guard=make_guard(config),
            entry_paused=lambda: admission.holder.machine.state in NO_ENTRY_STATES,
        )
        return service.check_in(raw_code, now, language)
    finally:
        store.close()
        ownership.release()
