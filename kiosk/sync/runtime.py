"""Attaching the sync to a running branch (``kiosk.runtime.BranchRuntime`` calls this)."""

from __future__ import annotations

from kiosk.branch import Branch
from kiosk.config import KioskConfig
from kiosk.sync.client import SyncClient


def attach_sync(branch: Branch, config: KioskConfig) -> SyncClient:
    """Start the MQTT sync; the branch wakes it after queueing events and asks it to resync."""
    client = SyncClient(config, branch)
    branch.sync = client
    client.start()
    return client
