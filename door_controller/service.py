"""A door-only owner: the controller and its door link on one thread of their own.

The kiosk's owner of the branch's state runs the controller itself; this service is for a
branch computer with a door and no kiosk screen, for the bench and for the end-to-end tests.
Other threads reach the controller only through ``call``, which runs on the owner thread.

    python -m door_controller.service --store /var/lib/kiosk/kiosk.db --port /dev/ttyACM0 \
        --limit 12

reads JSON lines on stdin ({"checkin": "A017", "party_size": 1}, {"staff": "pause",
"by": "staff:ewa"}, {"state": true}) and answers each with one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any, TypeVar

from door_controller import events as ev
from door_controller.controller import DoorController, NoticeInbox
from door_controller.effects import Effect
from door_controller.occupancy import OccupancyMachine, TransitionRefused
from firmware_bridge.driver import DoorLink, LinkNotice
from kiosk.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
TICK_PERIOD_S = 1.0


@dataclass
class _Holder:
    machine: OccupancyMachine


class DoorService:
    def __init__(self, store_path: str | Path, port: str, *, limit: int,
                 heartbeat_timeout_ms: int = 3000,
                 listener: Callable[[list[Effect]], None] | None = None) -> None:
        self.store_path = Path(store_path)
        self.port = port
        self.limit = limit
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.listener = listener
        self.inbox = NoticeInbox()
        self._calls: SimpleQueue[tuple[Callable[[DoorController], Any], Future[Any]]] = \
            SimpleQueue()
        self._stopping = threading.Event()
        self._ready: Future[DoorController] = Future()
        self._thread: threading.Thread | None = None
        self.link: DoorLink | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="door-owner", daemon=True)
        self._thread.start()
        self._ready.result(timeout_s)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def call(self, action: Callable[[DoorController], T], timeout_s: float = 5.0) -> T:
        """Run ``action(controller)`` on the owner thread and return its result."""
        future: Future[T] = Future()
        self._calls.put((action, future))
        return future.result(timeout_s)

    def _run(self) -> None:
        try:
            store = Store(self.store_path)
            snapshot = store.load_occupancy()
            machine = (OccupancyMachine.from_snapshot(snapshot) if snapshot
                       else OccupancyMachine.new(self.limit))
            controller = DoorController(_Holder(machine), store, listener=self.listener,
                                        link_timeout_s=self.heartbeat_timeout_ms / 1000)
            self.link = DoorLink(self.port, self.inbox.put,
                                 resume=DoorController.resume_cursor(store),
                                 heartbeat_timeout_ms=self.heartbeat_timeout_ms)
            controller.attach(self.link)
            self.link.start()
        except Exception as problem:
            self._ready.set_exception(problem)
            return
        self._ready.set_result(controller)
        try:
            self._loop(controller)
        finally:
            self.link.stop()
            store.close()

    def _loop(self, controller: DoorController) -> None:
        def take(notice: LinkNotice) -> None:
            try:
                controller.handle_notice(notice)
            except Exception:
                # a passage not stored is still in the device's totals: the next STATUS
                # reconciles it
                log.exception("door notice %r not taken; carrying on", notice)

        next_tick = time.monotonic()
        while not self._stopping.is_set():
            self.inbox.drain(take, timeout_s=0.01)
            self._run_calls(controller)
            if time.monotonic() >= next_tick:
                controller.tick()
                next_tick = time.monotonic() + TICK_PERIOD_S

    def _run_calls(self, controller: DoorController) -> None:
        while True:
            try:
                action, future = self._calls.get_nowait()
            except Empty:
                return
            try:
                future.set_result(action(controller))
            except Exception as problem:
                future.set_exception(problem)


STAFF_COMMANDS: dict[str, Callable[[str], ev.OccupancyEvent]] = {
    "pause": ev.Pause, "resume": ev.Resume, "free_entry": ev.FreeEntry,
    "emergency": ev.Emergency, "normal": ev.Normal, "hold_door": ev.HoldDoor,
}


def state_of(controller: DoorController) -> dict[str, Any]:
    machine = controller.machine
    status = controller.last_status
    return {
        "state": machine.state.value, "count": machine.count, "limit": machine.limit,
        "waiting": [w.ticket for w in machine.waiting],
        "admissions": [[a.ticket, a.remaining] for a in machine.admissions],
        "device": None if status is None else {
            "total_in": status.total_in, "total_out": status.total_out,
            "mode": int(status.mode), "admits_pending": status.admits_pending,
        },
        "outbox": controller.store.outbox_size(),
    }


def answer(service: DoorService, request: dict[str, Any]) -> dict[str, Any]:
    """One stdin request, carried out on the owner thread; errors are answers, not crashes."""
    try:
        if "checkin" in request:
            event = ev.CheckedIn(str(request["checkin"]), int(request.get("party_size", 1)))
            effects = service.call(lambda c: c.apply(event))
            return {"ok": True, "effects": [type(e).__name__ for e in effects]}
        if "staff" in request:
            make = STAFF_COMMANDS[request["staff"]]
            staff_event = make(str(request.get("by", "staff:console")))
            service.call(lambda c: c.staff_action(staff_event))
            return {"ok": True}
        return {"ok": True, **service.call(state_of)}
    except (TransitionRefused, KeyError, ValueError, TypeError) as problem:
        return {"ok": False, "error": str(problem)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m door_controller.service",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="the kiosk's SQLite database")
    parser.add_argument("--port", required=True, help="serial port path or pyserial URL")
    parser.add_argument("--limit", type=int, default=12, help="limit for a new store")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    service = DoorService(args.store, args.port, limit=args.limit)
    service.start()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                reply = answer(service, request) if isinstance(request, dict) else \
                    {"ok": False, "error": "each line must be a JSON object"}
            except json.JSONDecodeError as problem:
                reply = {"ok": False, "error": f"not JSON: {problem}"}
            print(json.dumps(reply, ensure_ascii=False), flush=True)
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
