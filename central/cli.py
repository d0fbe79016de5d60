"""The ``central`` command: serve the branches, import bookings, set a branch's config, send a
command, show what the branches last reported.

    central serve --db central.sqlite3 --broker 127.0.0.1:1883
    central serve --dsn postgresql://central@db/central --client-id central-2 ...
    central bookings import bookings.csv --branch krakow-1
    central branches set-config krakow-1 krakow-1.json
    central commands send krakow-1 set_limit --args '{"limit": 8}' --by ops:jkowalski
    central status
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central.commands import CommandError, build_command
from central.import_files import ImportFileError
from central.importer import BookingImport
from central.mqtt_link import MQTT_PROTOCOLS, BrokerSettings, MqttLink, wait_published
from central.progress import ProgressBar
from central.service import CentralService
from central.store import CentralStore, StoreError, open_store
from central.topics import DEFAULT_ROOT, ID_PATTERN, Topics
from kiosk.settings import parse_branch_settings

log = logging.getLogger("central")


class UsageError(Exception):
    """What the user asked cannot be done as asked; the message says what to change."""


def _store_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--db", default=os.environ.get("CENTRAL_DB", "central.sqlite3"),
                       help="SQLite file for one central process (default %(default)s)")
    group.add_argument("--dsn", default=os.environ.get("CENTRAL_DSN"),
                       help="postgresql://... for several central processes sharing the work")


def _broker_options(parser: argparse.ArgumentParser, client_id: str | None) -> None:
    parser.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT")
    if client_id is not None:
        parser.add_argument("--client-id", default=client_id,
                            help="fixed MQTT client id, one per process (default %(default)s)")
    parser.add_argument("--username", default=os.environ.get("CENTRAL_MQTT_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("CENTRAL_MQTT_PASSWORD"),
                        help="better given as CENTRAL_MQTT_PASSWORD, out of the process list")
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument("--ca-file", help="CA certificate for TLS (default: the system's)")
    parser.add_argument("--topic-root", default=DEFAULT_ROOT)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="central", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="store events, publish bookings and configs")
    _store_options(serve)
    _broker_options(serve, client_id="central-1")
    serve.add_argument("--session-expiry", type=int, default=2 * 24 * 3600, metavar="SECONDS",
                       help="how long the broker keeps messages for this process while it is "
                            "down (default two days)")
    serve.add_argument("--publish-interval", type=float, default=1.0, metavar="SECONDS")
    serve.add_argument("--mqtt-protocol", choices=MQTT_PROTOCOLS, default="5",
                       help="the contract's MQTT 5 (default); 3.1.1 only for kiosk demo's "
                            "embedded broker: no session expiry, no shared subscriptions")
    serve.add_argument("--leave-on-exit", action="store_true",
                       help="on SIGTERM leave its subscriptions and end its session: for "
                            "a process that is being retired, not restarted")

    bookings = commands.add_parser("bookings", help="bookings").add_subparsers(
        dest="bookings_command", required=True)
    imp = bookings.add_parser("import", help="import bookings from CSV, JSON or JSON Lines")
    imp.add_argument("file", type=Path)
    imp.add_argument("--branch", help="branch of rows that name none")
    imp.add_argument("--dry-run", action="store_true", help="check the file, store nothing")
    imp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar on stderr (default: when stderr is a terminal)")
    _store_options(imp)

    branches = commands.add_parser("branches", help="branch settings").add_subparsers(
        dest="branches_command", required=True)
    config = branches.add_parser("set-config", help="load a branch's settings (JSON or TOML)")
    config.add_argument("branch")
    config.add_argument("file", type=Path)
    _store_options(config)

    cmds = commands.add_parser("commands", help="commands to a branch").add_subparsers(
        dest="commands_command", required=True)
    send = cmds.add_parser("send", help="send a command to a branch")
    send.add_argument("branch")
    send.add_argument("action")
    send.add_argument("--args", default="{}", help='JSON object, such as \'{"limit": 8}\'')
    send.add_argument("--by", default=f"ops:{os.environ.get('USER', 'central')}",
                      help="who asks, recorded with the command (default %(default)s)")
    send.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                      help="wait this long for the branch's answer, recorded by central serve")
    _store_options(send)
    _broker_options(send, client_id=None)

    status = commands.add_parser("status", help="what the branches and kiosks last reported")
    _store_options(status)
    return parser


def _open(args: argparse.Namespace) -> CentralStore:
    return open_store(args.dsn or args.db)


def _broker(args: argparse.Namespace, client_id: str, **extra: Any) -> BrokerSettings:
    host, _, port = args.broker.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--broker {args.broker!r}: expected HOST:PORT such as 127.0.0.1:1883")
    return BrokerSettings(host=host, port=int(port), client_id=client_id,
                          username=args.username, password=args.password, tls=args.tls,
                          ca_file=args.ca_file, **extra)


def cmd_serve(args: argparse.Namespace) -> int:
    if not 1 <= len(args.client_id) <= 64 or not args.client_id.isprintable():
        raise UsageError(f"--client-id {args.client_id!r}: 1-64 printable characters")
    store = _open(args)
    topics = Topics(args.topic_root)
    link = MqttLink(_broker(args, args.client_id, session_expiry_s=args.session_expiry,
                            protocol=args.mqtt_protocol),
                    topics.subscriptions())
    service = CentralService(store, link, topics, publish_interval_s=args.publish_interval)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    service.start()
    log.info("central serving as %s on %s, store %s", args.client_id, args.broker,
             "PostgreSQL" if args.dsn else args.db)
    stop.wait()
    log.info("stopping")
    service.stop(leave=args.leave_on_exit)
    store.close()
    log.info("counts: %s", json.dumps(service.counters.snapshot(), sort_keys=True))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    store = _open(args)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    bar = ProgressBar(sys.stderr, f"import {args.file.name}") if show else None
    try:
        report = BookingImport(store, branch=args.branch, dry_run=args.dry_run).run(
            args.file, progress=bar)
    finally:
        store.close()
    for problem in report.problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    verb = "would store" if args.dry_run else "stored"
    print(f"{report.rows} rows: {verb} {report.stored}, unchanged {report.unchanged}, "
          f"codes generated {report.codes_generated}, rejected {len(report.problems)}")
    if report.problems:
        print("fix the rows named above and import the file again; rows already stored "
              "stay as they are", file=sys.stderr)
    return 1 if report.problems else 0


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not valid {path.suffix.lstrip('.').upper()} ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected an object with the branch's settings")
    return data


def cmd_set_config(args: argparse.Namespace) -> int:
    if not ID_PATTERN.match(args.branch):
        raise UsageError(f"branch {args.branch!r}: 1-32 characters a-z, 0-9 or '-'")
    data = _read_settings_file(args.file)
    settings, problems = parse_branch_settings(data, prefix=args.file.name)
    if settings is None:
        for problem in problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        return 1
    store = _open(args)
    try:
        stored = store.branch_config(args.branch)
        config = settings.to_contract()
        if "version" not in data:
            config["version"] = (stored.version + 1) if stored else 1
        changed = store.set_branch_config(args.branch, config)
    finally:
        store.close()
    if not changed:
        print(f"{args.branch}: version {config['version']} is not newer than the stored "
              f"version {stored.version if stored else '-'}; nothing changed", file=sys.stderr)
        return 1
    print(f"{args.branch}: config version {config['version']} stored; central serve "
          "publishes it")
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    try:
        command_args = json.loads(args.args)
    except ValueError as exc:
        raise UsageError(f"--args {args.args!r} is not JSON ({exc})") from None
    if not isinstance(command_args, dict):
        raise UsageError("--args must be a JSON object such as '{\"limit\": 8}'")
    if not ID_PATTERN.match(args.branch):
        raise UsageError(f"branch {args.branch!r}: 1-32 characters a-z, 0-9 or '-'")
    try:
        command = build_command(args.action, command_args, args.by, datetime.now(UTC))
    except CommandError as exc:
        raise UsageError(str(exc)) from None
    store = _open(args)
    try:
        store.record_command(command, args.branch)
        _publish_once(args, Topics(args.topic_root).commands(args.branch), command)
        print(f"sent {command['command_id']} ({args.action}) to {args.branch}")
        return _wait_for_result(store, command["command_id"], args.wait)
    finally:
        store.close()


def _publish_once(args: argparse.Namespace, topic: str, payload: dict[str, Any]) -> None:
    link = MqttLink(_broker(args, f"central-cli-{uuid.uuid4().hex[:8]}", session_expiry_s=0),
                    [])
    link.start()
    try:
        if not link.connected.wait(10):
            raise UsageError(f"no connection to the broker at {args.broker} within 10 s")
        if not wait_published([link.publish(topic, payload)], 10)[0]:
            raise UsageError("the broker did not confirm the command within 10 s; "
                             "it may or may not have been sent")
    finally:
        link.stop()


def _wait_for_result(store: CentralStore, command_id: str, wait_s: float) -> int:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        record = store.command(command_id)
        if record is not None and record.ok is not None:
            print(f"result: {'ok' if record.ok else 'refused: ' + str(record.error)}")
            return 0 if record.ok else 1
        time.sleep(0.2)
    if wait_s:
        print(f"no result within {wait_s:g} s; `central status` shows it when it comes",
              file=sys.stderr)
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        for occ in store.occupancy():
            print(f"{occ.branch}: {occ.state}, {occ.count}/{occ.limit} inside, "
                  f"{occ.waiting} waiting (at {occ.at})")
        for st in store.kiosk_statuses():
            details = ", ".join(f"{k}={st.payload[k]}" for k in ("door", "printer", "outbox")
                                if k in st.payload)
            print(f"{st.branch}/{st.kiosk}: {'online' if st.online else 'OFFLINE'}"
                  f"{', ' + details if details else ''} (at {st.at or st.received_at})")
        print(f"events stored: {store.event_count()}, "
              f"quarantined: {len(store.quarantined_events(limit=10_000))}")
        for cmd in store.commands(limit=10):
            result = "waiting" if cmd.ok is None else ("ok" if cmd.ok else f"refused: {cmd.error}")
            print(f"command {cmd.command_id} {cmd.action or '?'} to {cmd.branch}: {result}")
    finally:
        store.close()
    return 0


HANDLERS = {
    "serve": cmd_serve,
    "bookings": cmd_import,
    "branches": cmd_set_config,
    "commands": cmd_send,
    "status": cmd_status,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ops"]:  # the operations page has its own parser
        from central.ops.cli import ops_main

        return ops_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return HANDLERS[args.command](args)
    except (UsageError, StoreError, ImportFileError) as exc:
        print(f"central: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
