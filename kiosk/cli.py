"""The ``kiosk`` command: one entry point for the branch computer and its technicians.

Exit codes: 0 done (or check-in accepted), 1 check-in refused, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from kiosk import __version__
from kiosk.config import ConfigError, KioskConfig, load_config
from kiosk.ownership import OwnershipError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_IN_USE = 3  # the store is another process's, or cannot be taken
DEFAULT_CONFIG = "/etc/branch-checkin/kiosk.toml"

log = logging.getLogger("kiosk")


class UsageError(Exception):
    """A command-line value is wrong; the message says which and what to give instead."""


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("KIOSK_CONFIG") or DEFAULT_CONFIG)


def _load(args: argparse.Namespace) -> KioskConfig:
    return load_config(_config_path(args))


def _parse_at(text: str | None, config: KioskConfig) -> datetime:
    from kiosk.timeutil import TimeFormatError, parse_rfc3339

    if text is None:
        return datetime.now(config.branch.zone)
    try:
        return parse_rfc3339(text, field="--at")
    except TimeFormatError as exc:
        raise UsageError(str(exc)) from None


# --- subcommands ---------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args)
    print(f"{config.source}: OK (branch {config.branch_id}, kiosk {config.kiosk_id}, "
          f"limit {config.branch.limit}, time zone {config.branch.timezone})")
    return EXIT_OK


def cmd_bookings_import(args: argparse.Namespace) -> int:
    from kiosk.bookings import BookingError, parse_feed
    from kiosk.store import Store

    config = _load(args)
    path = Path(args.file)
    try:
        message = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    try:
        feed = parse_feed(message, max_bookings=None)
    except BookingError as exc:
        raise UsageError(f"{path}: {exc}") from None
    for error in feed.errors:
        print(f"{path}: skipped {error}", file=sys.stderr)
    store = Store(config.database_path)
    try:
        result = store.upsert_bookings(feed.bookings, datetime.now(config.branch.zone))
    finally:
        store.close()
    print(f"{path}: {result.inserted} new, {result.updated} updated, "
          f"{result.unchanged} unchanged, {len(feed.errors)} rejected")
    return EXIT_OK if not feed.errors else EXIT_REFUSED


def cmd_checkin(args: argparse.Namespace) -> int:
    from kiosk.standalone import standalone_checkin

    config = _load(args)
    now = _parse_at(args.at, config)
    result = standalone_checkin(config, args.code, now, language=args.language)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        print(result.text.in_language(args.language))
    return EXIT_OK if result.accepted else EXIT_REFUSED


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    if args.headless:
        from kiosk.headless import run_headless

        return run_headless(config, sys.stdin, sys.stdout)
    from kiosk.ui.app import run_app

    return run_app(config)


def cmd_demo(args: argparse.Namespace) -> int:
    from kiosk.demo import run_demo

    return run_demo(config_path=Path(args.config) if args.config else None,
                    headless=args.headless, broker_choice=args.broker)


def cmd_door_sim(args: argparse.Namespace) -> int:
    from firmware_bridge.simcli import door_sim_main

    return door_sim_main(list(args.rest))


def cmd_doctor(args: argparse.Namespace) -> int:
    from kiosk.doctor import doctor_main

    return doctor_main(_load(args), list(args.extra))


def cmd_hash_pin(args: argparse.Namespace) -> int:
    import getpass

    from kiosk.staff import hash_pin

    pin = args.pin if args.pin is not None else getpass.getpass("Staff PIN (4-12 digits): ")
    try:
        print(hash_pin(pin))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    from kiosk.store import Store

    config = _load(args)
    store = Store(config.database_path)
    try:
        removed = store.purge(_parse_at(args.at, config), config.purge_after_days)
    finally:
        store.close()
    print(", ".join(f"{count} {name}" for name, count in removed.items()) + " removed")
    return EXIT_OK


# --- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description="Entrance kiosk of an appointment-only customer-service branch.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, func: Callable[[argparse.Namespace], int],
            *, config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if config:
            p.add_argument("--config", metavar="FILE",
                           help=f"kiosk TOML file (default: $KIOSK_CONFIG or {DEFAULT_CONFIG})")
        p.set_defaults(func=func)
        return p

    add("check-config", "Validate the configuration file and print what is wrong, "
        "one line per problem, without starting anything.", cmd_check_config)

    bookings = sub.add_parser("bookings", help="Work with the local bookings.",
                              description="Work with the local bookings.")
    bookings_sub = bookings.add_subparsers(dest="bookings_command", metavar="ACTION", required=True)
    imp = bookings_sub.add_parser(
        "import", help="Import a JSON file shaped like the bookings feed ({\"bookings\": [...]}), "
        "upserted by version.",
        description="Import a JSON file shaped like the MQTT bookings feed; a booking with a "
        "higher version replaces a lower one, a lower or equal one changes nothing.")
    imp.add_argument("--config", metavar="FILE", help="kiosk TOML file")
    imp.add_argument("file", metavar="FILE", help="the JSON bookings file")
    imp.set_defaults(func=cmd_bookings_import)

    chk = add("checkin", "Check in one booking code through the same path as the screen.",
              cmd_checkin)
    chk.add_argument("code", metavar="CODE", help="the booking code as typed or scanned")
    chk.add_argument("--json", action="store_true",
                     help="print the contract's checkin or checkin_refused event as JSON")
    chk.add_argument("--at", metavar="TIME",
                     help="the time of the check-in, RFC 3339 (default: now)")
    chk.add_argument("--language", choices=("pl", "en"), default="pl",
                     help="the customer's language (default pl)")

    run = add("run", "Run the branch: the kiosk screen, the door, the printer and the sync.",
              cmd_run)
    run.add_argument("--headless", action="store_true",
                     help="no screen: read codes from standard input, one per line, and print "
                     "each result as one JSON line")

    demo = add("demo", "Run a whole demo branch on this machine: broker, central, door "
               "simulator, printer previews and the kiosk window.", cmd_demo)
    demo.add_argument("--headless", action="store_true", help="no kiosk window")
    demo.add_argument("--broker", choices=("auto", "mosquitto", "embedded"), default=None,
                      help="the demo's broker: the system's mosquitto, or the embedded Python "
                      "broker (amqtt, MQTT 3.1.1); default auto: mosquitto when installed")

    door = add("door-sim", "Run a beam scenario through the door firmware's counting logic.",
               cmd_door_sim, config=False)
    door.add_argument("rest", nargs=argparse.REMAINDER, help="door-sim options (see --help)")
    door.add_help = False

    doctor = add("doctor", "Check the configuration, the door board, the printer and the "
                 "broker, and say what is wrong and how to fix it. Other options go to the "
                 "doctor: --timeout S, --skip CHECK, --bridge-conf FILE.", cmd_doctor)
    doctor.set_defaults(takes_extra=True)

    pin = add("hash-pin", "Make the hash of a staff PIN for the configuration file.",
              cmd_hash_pin, config=False)
    pin.add_argument("--pin", help="the PIN (asked for without echo when left out)")

    purge = add("purge", "Forget personal data older than store.purge_after_days.", cmd_purge)
    purge.add_argument("--at", metavar="TIME", help="the time to purge as of (default: now)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `kiosk door-sim --help` belongs to the simulator, not to this parser.
    if argv[:1] == ["door-sim"]:
        from firmware_bridge.simcli import door_sim_main

        return door_sim_main(argv[1:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "takes_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"{exc.source}: fix the lines above and start again "
              "(`kiosk check-config` checks without starting)", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"kiosk {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OwnershipError as exc:
        print(f"kiosk {args.command}: {exc}", file=sys.stderr)
        return EXIT_IN_USE


if __name__ == "__main__":
    sys.exit(main())
