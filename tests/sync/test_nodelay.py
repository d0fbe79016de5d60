"""TCP_NODELAY on the broker connection: set on TCP (plain or TLS), harmless elsewhere."""

from __future__ import annotations

import socket

from kiosk.sync.nodelay import set_no_delay


def test_nagle_is_turned_off_on_a_tcp_socket() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        try:
            assert not client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            set_no_delay(None, None, client)
            assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            client.close()


def test_a_unix_socket_or_a_socket_without_options_is_left_alone() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    try:
        set_no_delay(None, None, left)  # no TCP options there: logged, not raised
    finally:
        left.close()
        right.close()
    set_no_delay(None, None, object())  # a websocket wrapper has no setsockopt
