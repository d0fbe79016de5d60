"""Fixtures for the sync tests: real mosquitto, a cuttable relay, a branch with its sync."""

from tests.brokerkit import mosquitto, tcp_relay  # noqa: F401  (pytest fixtures)
