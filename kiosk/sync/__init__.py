"""The kiosk's side of the MQTT contract with central.

Sans-I/O cores (topics, the routing of incoming messages, the outbox's resend policy, the
publish throttle, the resync schedule) and one thin paho adapter, ``SyncClient``, that runs on
its own threads and hands everything that changes the branch to its owner.
"""

from kiosk.sync.client import SyncClient

__all__ = ["SyncClient"]
