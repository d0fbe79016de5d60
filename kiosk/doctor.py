"""`kiosk doctor`: checks the kiosk's setup piece by piece and says what to do.

Each check is a function returning CheckResults (ok, warning or problem, what
was found, what to do). They talk to the real things: the data directory, the
door board (a HELLO through the door link), the printer (its paper status) and
the broker (a plain MQTT connect), each bounded by a timeout. A check never
raises: whatever goes wrong becomes a result.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from kiosk.config import DoorConfig, KioskConfig, MqttConfig

logger = logging.getLogger(__name__)

Level = Literal["ok", "warning", "problem"]
DOOR_BOARD_USB = (0x2E8A, 0x0005)  # Raspberry Pi Pico, MicroPython USB CDC
VOLATILE_FILESYSTEMS = {"tmpfs", "ramfs", "overlay"}
BRIDGE_STATE_TOPIC = "$SYS/broker/connection/+/state"
DEFAULT_TIMEOUT_S = 3.0
BRIDGE_CONF = Path("/etc/mosquitto/conf.d/central-bridge.conf")


@dataclass(frozen=True)
class CheckResult:
    check: str
    level: Level
    message: str
    action: str = ""


def ok(check: str, message: str) -> CheckResult:
    return CheckResult(check, "ok", message)


def warning(check: str, message: str, action: str) -> CheckResult:
    return CheckResult(check, "warning", message, action)


def problem(check: str, message: str, action: str) -> CheckResult:
    return CheckResult(check, "problem", message, action)


# --- config and storage ----------------------------------------------------------------------


def filesystem_type(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str | None:
    """The type of the filesystem `path` lives on (longest matching mount point)."""
    try:
        lines = mounts_file.read_text().splitlines()
    except OSError:
        return None
    resolved = str(path.resolve())
    best, best_type = "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def check_config(config: KioskConfig) -> list[CheckResult]:
    results = [ok("config", f"{config.source}: branch {config.branch_id}, kiosk {config.kiosk_id}")]
    data_dir = config.data_dir
    if not data_dir.is_dir():
        results.append(problem(
            "storage", f"the data directory {data_dir} does not exist",
            f"create it for the kiosk user (sudo install -d -o kiosk -g kiosk {data_dir}), "
            "or set paths.data_dir to the state directory (/var/lib/branch-checkin)"))
        return results
    if not os.access(data_dir, os.W_OK):
        results.append(problem(
            "storage", f"{data_dir} is not writable by this user",
            "run the doctor as the kiosk user (sudo -u kiosk kiosk doctor) or fix the owner"))
        return results
    fs_type = filesystem_type(data_dir)
    if fs_type in VOLATILE_FILESYSTEMS:
        results.append(problem(
            "storage", f"{data_dir} is on {fs_type}: the database would be lost at reboot",
            "put paths.data_dir on a persistent partition (docs/deployment.md, SD card care)"))
    else:
        results.append(ok("storage", f"database {config.database_path} on {fs_type or '?'}"))
    spool = config.spool_dir
    if not (spool.is_dir() and os.access(spool, os.W_OK)):
        results.append(warning(
            "storage", f"the spool directory {spool} is missing or not writable",
            f"sudo install -d -o kiosk -g kiosk {spool}"))
    return results


def bridged_out_topics(bridge_conf: Path) -> list[str] | None:
    """The topics a mosquitto bridge config sends to central; None without the file."""
    try:
        lines = bridge_conf.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    topics = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "topic" and fields[2] in ("out", "both"):
            topics.append(fields[1])
    return topics


def check_bridge_config(config: KioskConfig, bridge_conf: Path) -> list[CheckResult]:
    """The bridge forwards only its own branch's and kiosk's topics: the ids must match."""
    try:
        topics = bridged_out_topics(bridge_conf)
    except OSError as exc:
        return [warning("bridge", f"cannot read {bridge_conf} ({exc.strerror}); it holds the "
                        "bridge password, so only root and mosquitto may",
                        "run the doctor with sudo to check the bridge's topics")]
    if topics is None:
        return []  # no bridge on this machine: the kiosk talks to central directly
    events = (f"{config.mqtt.topic_root}/branches/{config.branch_id}"
              f"/kiosks/{config.kiosk_id}/events")
    if events in topics:
        return [ok("bridge", f"{bridge_conf.name} forwards this kiosk's events to central")]
    return [problem(
        "bridge", f"{bridge_conf} does not forward {events}: this kiosk's events would "
        "never leave the branch",
        "make BRANCH and KIOSK in /etc/branch-checkin/site.env match kiosk.branch and "
        "kiosk.id in kiosk.toml, then re-run deploy/pi/install.sh")]


# --- door board ------------------------------------------------------------------------------


def boards_plugged_in() -> list[str]:
    """Door boards seen on USB, as 'device (serial ...)', to show next to a problem."""
    from serial.tools import list_ports

    vid, pid = DOOR_BOARD_USB
    return [f"{p.device} (serial {p.serial_number})" for p in list_ports.comports()
            if p.vid == vid and p.pid == pid]


def _no_board_action() -> str:
    seen = boards_plugged_in()
    if seen:
        return ("a board is plugged in at " + ", ".join(seen) + ": if it is the door board, "
                "put its serial in DOOR_SERIAL (site.env) and re-run install.sh, "
                "or in door.usb_serial")
    return "check the USB cable and that the board's LED is on; lsusb should list 2e8a:0005"


def find_door_port(door: DoorConfig) -> str | None:
    if door.port:
        return door.port
    from firmware_bridge.usb import UsbMatch, find_port

    assert door.usb_vid is not None and door.usb_pid is not None
    return find_port(UsbMatch(door.usb_vid, door.usb_pid, door.usb_serial))


def try_open_door_port(url: str) -> CheckResult | None:
    """None when the port opens; a result saying why when it does not."""
    import serial

    from firmware_bridge.port import open_port

    try:
        open_port(url, timeout=0.05).close()
    except (serial.SerialException, OSError, ValueError) as exc:
        text = str(exc)
        if "exclusively lock" in text or "Resource temporarily unavailable" in text:
            return warning("door", f"{url} is in use by another program (the kiosk, normally)",
                           "to test the board itself: sudo systemctl stop branch-checkin-kiosk")
        if "Permission denied" in text:
            return problem("door", f"no permission to open {url}",
                           "the kiosk user must be in group dialout; is the udev rule installed?")
        return problem("door", f"cannot open {url}: {text}", _no_board_action())
    return None


def hello_door_board(url: str, heartbeat_timeout_ms: int, timeout_s: float) -> CheckResult:
    """Open the door link and wait for the board's HELLO."""
    from firmware_bridge.driver import DoorLink, LinkUp

    notices: queue.Queue[object] = queue.Queue()
    link = DoorLink(url, notices.put, heartbeat_timeout_ms=heartbeat_timeout_ms)
    link.start()
    deadline = time.monotonic() + timeout_s
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                notice = notices.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(notice, LinkUp):
                device = notice.device
                version = f"{device.fw_version >> 8}.{device.fw_version & 0xFF}"
                return ok("door", f"board on {url} answered HELLO: firmware {version}, "
                                  f"id {device.uid.hex()}, boot {device.boot_count}")
    finally:
        link.stop()
    return problem("door", f"{url} opened but no HELLO came back within {timeout_s:g} s",
                   "is the door firmware flashed on the board (docs/serial-protocol.md)? "
                   "unplug and replug it; then look at journalctl -u branch-checkin-kiosk")


def check_door(door: DoorConfig, timeout_s: float) -> list[CheckResult]:
    if not door.enabled:
        return [warning("door", "the door board is disabled (door.enabled = false)",
                        "set door.enabled = true when a door board is fitted")]
    url = find_door_port(door)
    if url is None:
        return [problem("door", "no door board with the configured USB id is plugged in",
                        _no_board_action())]
    if "://" not in url and not os.path.exists(url):
        return [problem("door", f"{url} does not exist", _no_board_action())]
    refused = try_open_door_port(url)
    if refused is not None:
        return [refused]
    return [hello_door_board(url, door.heartbeat_timeout_ms, timeout_s)]


# --- printer ---------------------------------------------------------------------------------


def check_printer(config: KioskConfig, timeout_s: float) -> list[CheckResult]:
    from kiosk.printing.backends import PrinterUnavailableError, make_slip_printer
    from kiosk.printing.status import STATUS_QUERIES, silent

    settings = config.printer
    if settings.backend in ("dummy", "preview"):
        return [warning("printer", f"printer.backend = {settings.backend!r}: no slips are printed",
                        "set printer.backend to usb, serial or network for the real printer")]
    settings = replace(settings, timeout_s=min(settings.timeout_s, timeout_s))
    printer = make_slip_printer(settings)
    try:
        printer.open()
        status = printer.status()
    except PrinterUnavailableError as exc:
        return [problem("printer", str(exc),
                        "check power and cable; a USB printer held by the running kiosk "
                        "cannot be opened twice (sudo systemctl stop branch-checkin-kiosk)")]
    finally:
        printer.close()
    if not getattr(printer, "reads_status", True):
        return [warning("printer", f"opened; paper status unknown: {status.detail}",
                        "set printer.query_status = true if the printer answers DLE EOT")]
    if status in {silent(query, settings.timeout_s) for query in STATUS_QUERIES}:
        return [warning("printer", f"paper status unknown: {status.detail}",
                        "check power, cable and paper; if this model never answers status "
                        "queries, set printer.query_status = false")]
    if status.state == "ok":
        return [ok("printer", f"{status.detail}; paper is fine")]
    if status.state == "paper_low":
        return [warning("printer", status.detail, "have a new paper roll ready")]
    return [problem("printer", status.detail, "fix the printer, then run kiosk doctor again")]


# --- broker ----------------------------------------------------------------------------------


class _BrokerProbe:
    """A short-lived paho client that records CONNACK, SUBACK and bridge states."""

    def __init__(self, settings: MqttConfig, kiosk_id: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        # Never the kiosk's own client id: connecting with it would end the kiosk's session.
        client_id = f"{kiosk_id}-doctor-{uuid.uuid4().hex[:8]}"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTProtocolVersion.MQTTv5)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.reason = ""
        self.refused = False
        self.bridges: dict[str, str] = {}
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = self._on_message
        if settings.username is not None:
            self.client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            self.client.tls_set(ca_certs=settings.ca_file)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.reason = str(reason_code)
        self.refused = reason_code.is_failure
        self.connected.set()

    def _on_message(self, client, userdata, message) -> None:
        name = message.topic.split("/")[3]
        self.bridges[name] = message.payload.decode("utf-8", "replace")


def check_broker(settings: MqttConfig, kiosk_id: str, timeout_s: float) -> list[CheckResult]:
    if not settings.enabled:
        return [warning("broker", "MQTT is disabled (mqtt.enabled = false): "
                        "nothing reaches central", "set mqtt.enabled = true")]
    where = f"{settings.host}:{settings.port}"
    probe = _BrokerProbe(settings, kiosk_id)
    probe.client.connect_timeout = timeout_s
    try:
        probe.client.connect(settings.host, settings.port, keepalive=max(5, int(timeout_s * 2)))
    except (OSError, ValueError) as exc:
        return [problem("broker", f"cannot reach the broker at {where}: {exc}",
                        "is mosquitto running? sudo systemctl status mosquitto")]
    probe.client.loop_start()
    try:
        if not probe.connected.wait(timeout_s):
            return [problem("broker", f"{where} accepted the connection but sent no CONNACK "
                            f"within {timeout_s:g} s", "is it an MQTT port? TLS settings right?")]
        if probe.refused:
            return [problem("broker", f"{where} refused the login: {probe.reason}",
                            "check mqtt.username, mqtt.password_file and the broker's users")]
        results = [ok("broker", f"connected to {where}")]
        results += _bridge_results(probe, settings.host, timeout_s)
        return results
    finally:
        probe.client.disconnect()
        probe.client.loop_stop()


def _bridge_results(probe: _BrokerProbe, host: str, timeout_s: float) -> list[CheckResult]:
    """The local broker's bridges to central, from their retained state messages."""
    probe.client.subscribe(BRIDGE_STATE_TOPIC, qos=0)
    if probe.subscribed.wait(timeout_s):
        time.sleep(0.3)  # retained messages follow the SUBACK; this is their grace period
    results = []
    for name, state in sorted(probe.bridges.items()):
        if state == "1":
            results.append(ok("bridge", f"bridge {name} to central is up"))
        else:
            results.append(warning("bridge", f"bridge {name} to central is down; events wait "
                                   "in the queue and go out when it is back",
                                   "check the network and CENTRAL_HOST in site.env; "
                                   "journalctl -u mosquitto"))
    if not results and host in ("127.0.0.1", "localhost", "::1"):
        results.append(warning("bridge", "the local broker reports no bridge to central",
                               "is /etc/mosquitto/conf.d/central-bridge.conf installed? "
                               "re-run deploy/pi/install.sh"))
    return results


# --- running and reporting -------------------------------------------------------------------

CHECKS = ("config", "door", "printer", "broker")


def run_checks(
    config: KioskConfig, timeout_s: float, skip: Sequence[str] = (),
    bridge_conf: Path = BRIDGE_CONF,
) -> list[CheckResult]:
    steps: dict[str, Callable[[], list[CheckResult]]] = {
        "config": lambda: check_config(config) + check_bridge_config(config, bridge_conf),
        "door": lambda: check_door(config.door, timeout_s),
        "printer": lambda: check_printer(config, timeout_s),
        "broker": lambda: check_broker(config.mqtt, config.kiosk_id, timeout_s),
    }
    results: list[CheckResult] = []
    for name, step in steps.items():
        if name in skip:
            continue
        try:
            results += step()
        except Exception as exc:  # one broken check must not hide the others
            logger.exception("kiosk doctor: the %s check failed", name)
            results.append(problem(name, f"the check itself failed: {exc!r}",
                                   "report this with the log above"))
    return results


def format_result(result: CheckResult) -> str:
    label = {"ok": "ok", "warning": "WARNING", "problem": "PROBLEM"}[result.level]
    line = f"{label:<8} {result.check:<8} {result.message}"
    if result.action:
        line += f"\n{'':<17}-> {result.action}"
    return line


def doctor_main(config: KioskConfig, argv: list[str]) -> int:
    """Print every check's result; 0 when nothing is a problem, 1 otherwise, 2 on bad options."""
    parser = argparse.ArgumentParser(prog="kiosk doctor", description="Check this kiosk.")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help="seconds to wait for each device or the broker (default 3)")
    parser.add_argument("--skip", action="append", default=[], choices=CHECKS,
                        help="leave a check out (repeatable)")
    parser.add_argument("--bridge-conf", type=Path, default=BRIDGE_CONF, metavar="FILE",
                        help=f"the local broker's bridge to central (default {BRIDGE_CONF})")
    if argv[:1] == ["--"]:  # `kiosk doctor --config FILE -- --timeout 1` passes the "--" on
        argv = argv[1:]
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    if not 0 < args.timeout <= 60:
        print("kiosk doctor: --timeout must be between 0 and 60 seconds")
        return 2
    results = run_checks(config, args.timeout, args.skip, args.bridge_conf)
    for result in results:
        print(format_result(result))
    problems = sum(r.level == "problem" for r in results)
    warnings = sum(r.level == "warning" for r in results)
    print(f"{problems} problem(s), {warnings} warning(s)")
    return 1 if problems else 0
