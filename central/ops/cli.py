"""``central ops``: run the operations page, make a password hash, check a config file."""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType

from central.ops.config import OpsConfig, OpsConfigError, load_config
from central.ops.history import History
from central.ops.hub import OpsHub
from central.ops.mqtt_link import OpsMqtt
from central.ops.passwords import hash_password
from central.ops.sessions import Sessions
from central.ops.web import OpsServer
from central.store import CentralStore, StoreError, open_store

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="central ops",
        description="Central operations: the live occupancy of every branch (docs/operations.md).")
    sub = parser.add_subparsers(dest="what", metavar="COMMAND")
    run = sub.add_parser("run", help="serve the operations page")
    run.add_argument("--config", type=Path, required=True, help="the ops TOML file")
    run.add_argument("--listen", help="host:port, overriding ops.listen (port 0: any free)")
    run.add_argument("--mqtt-port", type=int, help="broker port, overriding mqtt.port")
    run.add_argument("--log-level", default="INFO")
    check = sub.add_parser("check-config", help="read a config file and say what is wrong")
    check.add_argument("--config", type=Path, required=True)
    hashing = sub.add_parser("hash-password",
                             help="print a password hash for [operators.<login>] password_hash")
    hashing.add_argument("--stdin", action="store_true",
                         help="read the password from standard input instead of asking")
    return parser


def ops_main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.what == "hash-password":
        password = sys.stdin.readline().rstrip("\n") if args.stdin else getpass.getpass("Hasło: ")
        if not password:
            print("central ops: an empty password cannot be used", file=sys.stderr)
            return 2
        print(hash_password(password))
        return 0
    if args.what is None:
        parser.print_help()
        return 2
    try:
        config = load_config(args.config)
    except OpsConfigError as exc:
        print(f"central ops: {exc}", file=sys.stderr)
        return 2
    if args.what == "check-config":
        print(f"{args.config}: {len(config.branches)} branches, "
              f"{len(config.operators)} operators; fine")
        return 0
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = _override(config, args.listen, args.mqtt_port)
    except OpsConfigError as exc:
        print(f"central ops: {exc}", file=sys.stderr)
        return 2
    return run(config)


def _override(config: OpsConfig, listen: str | None, mqtt_port: int | None) -> OpsConfig:
    if listen:
        host, sep, port = listen.rpartition(":")
        if not sep or not port.isdigit():
            raise OpsConfigError(f"--listen {listen!r} must be host:port")
        config = replace(config, listen_host=host, listen_port=int(port))
    if mqtt_port:
        config = replace(config, mqtt=replace(config.mqtt, port=mqtt_port))
    return config


def run(config: OpsConfig) -> int:
    if not config.operators:
        log.warning("no [operators] in the config: nobody can log in")
    Path(config.history_path).parent.mkdir(parents=True, exist_ok=True)
    store: CentralStore | None = None
    if config.central_store:
        try:
            store = open_store(config.central_store)
        except StoreError as exc:
            log.warning("%s; no-shows will show as unknown", exc)
    history = History(config.history_path)
    hub = OpsHub(config, history, central_store=store)
    link = OpsMqtt(config.mqtt, hub.on_mqtt, hub.on_link)
    hub.publish = lambda topic, payload, retain: link.publish(topic, payload, retain=retain)
    try:
        server = OpsServer(config, hub, Sessions(config.operators, config.session_hours * 3600))
    except OSError as exc:
        print(f"central ops: cannot listen on {config.listen_host}:{config.listen_port}: {exc}",
              file=sys.stderr)
        return 1
    hub.start()
    link.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    host, port = server.server_address[:2]
    print(f"central ops: listening on http://{host!s}:{port}/", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.stopping.set()
        link.stop()
        hub.stop()
        history.close()
        if store is not None:
            store.close()
    return 0


def main() -> None:
    sys.exit(ops_main(sys.argv[1:]))
