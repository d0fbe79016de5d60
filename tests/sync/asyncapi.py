"""The AsyncAPI document as a test oracle: which channel a topic belongs to, and whether a
payload fits that channel's schema."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "mqtt.asyncapi.yaml"


@cache
def document() -> dict[str, Any]:
    return dict(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))


def _address_pattern(address: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z]+\})", address)
    regex = "".join("[a-z0-9-]{1,32}" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


def channel_of(topic: str) -> str | None:
    """The name of the channel whose address matches a concrete topic."""
    for name, channel in document()["channels"].items():
        if _address_pattern(channel["address"]).match(topic):
            return str(name)
    return None


def channel_of_filter(topic_filter: str) -> str | None:
    """The channel a subscription filter (``+`` for one level, ``$share/...`` prefix) covers."""
    if topic_filter.startswith("$share/"):
        topic_filter = topic_filter.split("/", 2)[2]
    return channel_of(topic_filter.replace("+", "x-1"))


def message_schemas(channel: str) -> list[dict[str, Any]]:
    """One validator-ready schema per message of the channel (refs resolve in the document)."""
    schemas = []
    for ref in document()["channels"][channel]["messages"].values():
        pointer = ref["$ref"]
        schemas.append({**document(), "$ref": f"{pointer}/payload"})
    return schemas


def validate(topic: str, payload: Any) -> None:
    """Raise AssertionError unless ``payload`` fits a message of the channel of ``topic``."""
    channel = channel_of(topic)
    if channel is None:
        raise AssertionError(f"topic {topic} is not in {DOCUMENT.name}")
    errors = []
    for schema in message_schemas(channel):
        try:
            jsonschema.Draft7Validator(schema, format_checker=None).validate(payload)
            return
        except jsonschema.ValidationError as exc:
            errors.append(f"{exc.message} at {list(exc.absolute_path)}")
    raise AssertionError(f"{topic}: {payload!r} fits no message of channel {channel}: {errors}")
