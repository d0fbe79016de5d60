"""The contract's topics: built for publishing, taken apart when a message arrives.

Every topic lives under a configurable root (``checkin/v1`` by default); branch and kiosk ids
match ``[a-z0-9-]{1,32}``. Central shares the work of events, resync requests and command
results among its processes through one MQTT shared subscription group; occupancy and kiosk
status are retained, and retained messages are never sent to shared subscriptions, so every
process subscribes to those plainly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_ROOT = "checkin/v1"
SHARE_GROUP = "central"
ID_PATTERN = re.compile(r"^[a-z0-9-]{1,32}$")


class TopicError(ValueError):
    """A topic is not one of the contract's, or an id in it is malformed."""


@dataclass(frozen=True)
class Topic:
    """A received topic taken apart: its kind, the branch and, for kiosk topics, the kiosk."""

    kind: str  # events, resync, status, occupancy, command-results
    branch: str
    kiosk: str | None = None


_KIOSK_KINDS = ("events", "resync", "status")
_BRANCH_KINDS = ("occupancy", "command-results")
_SHARED_KINDS = ("events", "resync", "command-results")


def check_id(value: str, what: str) -> str:
    if not ID_PATTERN.match(value):
        raise TopicError(f"{what} {value!r} must be 1-32 characters a-z, 0-9 or '-'")
    return value


class Topics:
    """Topic names under one root."""

    def __init__(self, root: str = DEFAULT_ROOT) -> None:
        self.root = root.strip("/")
        self._depth = len(self.root.split("/"))

    def branch(self, branch: str, leaf: str) -> str:
        return f"{self.root}/branches/{check_id(branch, 'branch')}/{leaf}"

    def kiosk(self, branch: str, kiosk: str, leaf: str) -> str:
        return self.branch(branch, f"kiosks/{check_id(kiosk, 'kiosk')}/{leaf}")

    def bookings(self, branch: str) -> str:
        return self.branch(branch, "bookings")

    def config(self, branch: str) -> str:
        return self.branch(branch, "config")

    def commands(self, branch: str) -> str:
        return self.branch(branch, "commands")

    def acks(self, branch: str, kiosk: str) -> str:
        return self.kiosk(branch, kiosk, "acks")

    def subscriptions(self) -> list[str]:
        """Topic filters central subscribes to; the shared ones go to one process of the group."""
        filters = []
        for kind in _KIOSK_KINDS:
            filters.append(self._shared_or_plain(kind, f"{self.root}/branches/+/kiosks/+/{kind}"))
        for kind in _BRANCH_KINDS:
            filters.append(self._shared_or_plain(kind, f"{self.root}/branches/+/{kind}"))
        return filters

    @staticmethod
    def _shared_or_plain(kind: str, topic_filter: str) -> str:
        return f"$share/{SHARE_GROUP}/{topic_filter}" if kind in _SHARED_KINDS else topic_filter

    def parse(self, topic: str) -> Topic:
        """Take a received topic apart, or raise TopicError saying what does not fit."""
        parts = topic.split("/")
        root, rest = "/".join(parts[: self._depth]), parts[self._depth :]
        if root != self.root or len(rest) < 3 or rest[0] != "branches":
            raise TopicError(f"topic {topic!r} is not under {self.root}/branches/")
        branch = check_id(rest[1], "branch")
        if len(rest) == 3 and rest[2] in _BRANCH_KINDS:
            return Topic(rest[2], branch)
        if len(rest) == 5 and rest[2] == "kiosks" and rest[4] in _KIOSK_KINDS:
            return Topic(rest[4], branch, check_id(rest[3], "kiosk"))
        raise TopicError(f"topic {topic!r} is not one central listens to")
