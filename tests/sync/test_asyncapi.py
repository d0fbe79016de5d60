"""docs/mqtt.asyncapi.yaml: every topic the code uses is in it, and its examples validate."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from central.topics import Topics
from kiosk.sync.topics import KioskTopics
from tests.sync.asyncapi import (
    channel_of,
    channel_of_filter,
    document,
    message_schemas,
    validate,
)


def test_the_document_is_asyncapi_3_with_a_schema_and_examples_for_every_message() -> None:
    doc = document()
    assert doc["asyncapi"].startswith("3.")
    for name, message in doc["components"]["messages"].items():
        assert "payload" in message, name
        assert message.get("examples"), f"message {name} has no examples"
    for name, channel in doc["channels"].items():
        assert channel["messages"], f"channel {name} has no messages"
    for name, operation in doc["operations"].items():
        assert operation["bindings"]["mqtt"]["qos"] == 1, name


def _examples() -> list[tuple[str, str, Any]]:
    doc = document()
    found = []
    for channel, spec in doc["channels"].items():
        for ref in spec["messages"].values():
            message = doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
            for example in message["examples"]:
                found.append((channel, example["name"], example["payload"]))
    return found


@pytest.mark.parametrize(("channel", "name", "payload"), _examples(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_example_validates_against_its_schema(channel: str, name: str,
                                                    payload: Any) -> None:
    schemas = message_schemas(channel)
    errors = []
    for schema in schemas:
        try:
            jsonschema.Draft7Validator(schema).validate(payload)
            return
        except jsonschema.ValidationError as exc:
            errors.append(exc.message)
    pytest.fail(f"example {name} of channel {channel}: {errors}")


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("checkin/v1/branches/krakow-1/occupancy",
         {"count": 7, "limit": 12, "waiting": 2, "state": "crowded", "at": "2026-11-23T10:00:00Z"}),
        ("checkin/v1/branches/krakow-1/kiosks/k1/status",
         {"online": True, "version": "1", "at": "2026-11-23T10:00:00+01:00"}),
        ("checkin/v1/branches/krakow-1/kiosks/k1/events",
         {"event_id": "e", "type": "checkin", "at": "2026-11-23T10:00:00+01:00"}),
        ("checkin/v1/branches/krakow-1/kiosks/k1/events",
         {"event_id": "e", "type": "alarm", "kind": "fire", "detail": "",
          "at": "2026-11-23T10:00:00+01:00"}),
        ("checkin/v1/branches/krakow-1/commands",
         {"command_id": "c", "action": "pause", "issued_by": "x", "issued_at": "10:00"}),
        ("checkin/v1/branches/krakow-1/bookings", {"bookings": [{"booking_id": "b"}]}),
    ],
)
def test_the_schemas_reject_what_the_contract_forbids(topic: str, payload: Any) -> None:
    with pytest.raises(AssertionError):
        validate(topic, payload)


def test_every_topic_the_kiosk_uses_is_documented() -> None:
    topics = KioskTopics("checkin/v1", "krakow-1", "krakow-1-k1")
    for topic in (*topics.subscriptions(), *topics.publications()):
        assert channel_of(topic) is not None, f"{topic} is not in the AsyncAPI document"
    documented = set(document()["channels"])
    used = {channel_of(t) for t in (*topics.subscriptions(), *topics.publications())}
    assert used == documented, f"documented but unused by the kiosk: {documented - used}"


def test_every_topic_central_uses_is_documented() -> None:
    topics = Topics("checkin/v1")
    for topic_filter in topics.subscriptions():
        assert channel_of_filter(topic_filter) is not None, topic_filter
    for topic in (topics.bookings("krakow-1"), topics.config("krakow-1"),
                  topics.commands("krakow-1"), topics.acks("krakow-1", "krakow-1-k1")):
        assert channel_of(topic) is not None, topic


def test_a_topic_outside_the_contract_matches_no_channel() -> None:
    assert channel_of("checkin/v1/branches/krakow-1/kiosks/k1/secrets") is None
    assert channel_of("checkin/v1/branches/Kraków/occupancy") is None
