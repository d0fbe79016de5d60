"""Home Assistant MQTT discovery for each branch's occupancy, limit and state (off by default).

Each branch is one device (node id ``checkin_<branch>``) with three sensors whose state comes
straight from the contract's retained occupancy topic; availability follows the retained kiosk
statuses (the will included): a branch is available while any of its kiosks is online. The
config is retained; an empty retained payload on the same topic removes the entity.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

SENSORS = (
    # object id, name, template, unit
    ("occupancy", "Obłożenie / Occupancy", "{{ value_json.count }}", "osób"),
    ("limit", "Limit", "{{ value_json.limit }}", "osób"),
    ("waiting", "Oczekujący / Waiting", "{{ value_json.waiting }}", "osób"),
    ("state", "Stan / State", "{{ value_json.state }}", None),
)
AVAILABILITY_TEMPLATE = "{{ 'online' if value_json.online else 'offline' }}"


def node_id(branch: str) -> str:
    # HA allows [a-zA-Z0-9_-] in a node id; a branch id is already [a-z0-9-].
    return f"checkin_{branch}"


def config_topic(prefix: str, branch: str, object_id: str) -> str:
    return f"{prefix}/sensor/{node_id(branch)}/{object_id}/config"


def discovery_messages(prefix: str, root: str, branch: str, name: str,
                       kiosks: Iterable[str]) -> list[tuple[str, bytes]]:
    """The retained config messages for one branch's sensors."""
    state_topic = f"{root}/branches/{branch}/occupancy"
    availability = [{"topic": f"{root}/branches/{branch}/kiosks/{k}/status",
                     "value_template": AVAILABILITY_TEMPLATE} for k in sorted(kiosks)]
    device = {"identifiers": [node_id(branch)], "name": name,
              "manufacturer": "branch-checkin", "model": "kiosk"}
    messages = []
    for object_id, label, template, unit in SENSORS:
        config: dict[str, object] = {
            "name": label,
            "unique_id": f"{node_id(branch)}_{object_id}",
            "object_id": f"{node_id(branch)}_{object_id}",
            "state_topic": state_topic,
            "value_template": template,
            "device": device,
        }
        if unit is not None:
            config["unit_of_measurement"] = unit
            config["state_class"] = "measurement"
        if availability:
            config["availability"] = availability
            config["availability_mode"] = "any"
        messages.append((config_topic(prefix, branch, object_id),
                         json.dumps(config, ensure_ascii=False).encode("utf-8")))
    return messages


def branch_topics(prefix: str, branch: str) -> set[str]:
    return {config_topic(prefix, branch, object_id) for object_id, *_ in SENSORS}
