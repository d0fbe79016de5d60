"""One owner of a branch's store, across processes.

The owner of the branch's state (``kiosk.branch.Branch``) keeps the occupancy and the queue in
memory and writes them through to the store. A second process deciding on the same store (a
``kiosk run`` left behind by a restart, or ``kiosk checkin`` beside a running kiosk) would
decide from its own copy, and the two would count people twice. So the owner holds an
exclusive ``flock`` on a file beside the database, ``<database>.owner``, for as long as it
runs. The kernel lets go when the process ends, by SIGKILL too, so no stale lock outlives it;
the file only says who holds it, for the message to whoever finds it taken.

Readers (the doctor, the print worker's own connection, ``kiosk bookings import``, which
goes through SQLite's own locking and changes nothing the owner keeps in memory) do not
need it.
"""

from __future__ import annotations

import fcntl
import os
import time
from datetime import UTC, datetime
from pathlib import Path

WAIT_S = 10.0
POLL_S = 0.05


class OwnershipError(RuntimeError):
    """The branch's store cannot be taken; the message says why and what to do."""


class StoreInUse(OwnershipError):
    """Another process owns the branch's store; the message says which and what to do."""


class StoreOwnership:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database_path: Path, holder: str, *,
                wait_s: float = WAIT_S) -> StoreOwnership:
        """Take the store for ``holder`` (who, for the message), or raise StoreInUse.

        Waits up to ``wait_s`` for a holder that is finishing: a kiosk being restarted, a
        ``kiosk checkin`` a moment before this one.
        """
        path = database_path.with_name(database_path.name + ".owner")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        except OSError as exc:
            raise OwnershipError(
                f"cannot open {path} to take the store ({exc.strerror}); the data folder and "
                f"its files must belong to the kiosk's user: sudo chown -R kiosk:kiosk "
                f"{path.parent}") from None
        deadline = time.monotonic() + wait_s
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        who = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                        raise StoreInUse(
                            f"the store {database_path} is in use by "
                            f"{who or 'another process'}; only one process may run the branch "
                            "on it: stop that one first (a kiosk: systemctl stop "
                            "branch-checkin-kiosk)") from None
                    time.sleep(POLL_S)
        except BaseException:
            os.close(fd)
            raise
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder} (pid {os.getpid()}, since {since})\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor lets go of the lock
