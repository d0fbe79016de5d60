"""The Prometheus text exposition (format 0.0.4) of what the model holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from central.messages import OCCUPANCY_STATES
from central.ops.model import OpsModel

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        self.name = name

    def add(self, labels: Mapping[str, str], value: float) -> None:
        self.lines.append(f"{self.name}{{{_labels(labels)}}} {value:g}")


def render(model: OpsModel, rejected: Mapping[str, int]) -> str:
    occupancy = _Family("checkin_branch_occupancy", "gauge", "People inside the branch.")
    limit = _Family("checkin_branch_limit", "gauge", "The branch's occupancy limit.")
    waiting = _Family("checkin_branch_waiting", "gauge", "Customers waiting to be admitted.")
    state = _Family("checkin_branch_state", "gauge", "1 for the branch's current state.")
    stale = _Family("checkin_branch_stale", "gauge", "1 when occupancy has not been heard lately.")
    online = _Family("checkin_kiosk_online", "gauge", "1 while the kiosk's status is online.")
    outbox = _Family("checkin_kiosk_outbox", "gauge", "Events the kiosk has not had acknowledged.")
    alarms = _Family("checkin_alarms_total", "counter", "Alarms received, by branch and kind.")
    open_alarms = _Family("checkin_alarms_unacknowledged", "gauge",
                          "Alarms no operator has acknowledged yet.")
    for view in sorted(model.branches.values(), key=lambda v: v.branch):
        base = {"branch": view.branch, "region": view.region}
        if view.count is not None:
            occupancy.add(base, view.count)
            limit.add(base, view.limit or 0)
            waiting.add(base, view.waiting or 0)
        for name in sorted(OCCUPANCY_STATES):
            state.add({**base, "state": name}, 1 if view.state == name else 0)
        stale.add(base, 1 if view.stale else 0)
        open_alarms.add(base, view.open_alarms)
        for kiosk in sorted(view.kiosks.values(), key=lambda k: k.kiosk):
            labels = {"branch": view.branch, "kiosk": kiosk.kiosk}
            online.add(labels, 1 if kiosk.online else 0)
            if kiosk.outbox is not None:
                outbox.add(labels, kiosk.outbox)
    for (branch, kind), count in sorted(model.alarm_counts.items()):
        alarms.add({"branch": branch, "kind": kind}, count)
    dropped = _Family("checkin_ops_messages_rejected_total", "counter",
                      "MQTT messages ops could not use, by reason.")
    for reason, count in sorted(rejected.items()):
        dropped.add({"reason": reason}, count)
    families: Iterable[_Family] = (occupancy, limit, waiting, state, stale, online, outbox,
                                   alarms, open_alarms, dropped)
    return "\n".join(line for f in families for line in f.lines) + "\n"
