"""TCP_NODELAY on paho's socket, for the kiosk and for central.

paho leaves Nagle's algorithm on. A client that acknowledges QoS 1 messages after some work
(central's PUBACK waits for its commit) then sends small packets while its previous one is
still unacknowledged by TCP; Nagle holds them until the broker's delayed ACK, up to 40 ms on
Linux, and the broker, waiting for those PUBACKs, has nothing to send meanwhile. Every
MQTT packet is written whole by paho, so turning Nagle off costs nothing but a few more
segments and removes those stalls.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

log = logging.getLogger(__name__)


def set_no_delay(client: Any, userdata: Any, sock: Any) -> None:
    """paho's ``on_socket_open`` callback: disable Nagle on a TCP socket (TLS included)."""
    setsockopt = getattr(sock, "setsockopt", None)
    if setsockopt is None:  # a websocket wrapper: nothing to set
        return
    try:
        setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:  # a unix socket has no TCP options
        log.debug("TCP_NODELAY not set on the broker connection: %s", exc)
