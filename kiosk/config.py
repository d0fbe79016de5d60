"""Kiosk configuration: one TOML file per kiosk, loaded and validated at start.

Every problem is reported at once, one line each, naming the key, the value found and what is
expected, so a technician fixes the file in one pass. ``kiosk check-config`` prints the same
lines without starting anything.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.printing.config import PrinterConfig
    from kiosk.settings import BranchSettings

ID_PATTERN = re.compile(r"^[a-z0-9-]{1,32}$")
_USB_ID = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")
_TOPIC_ROOT = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the configuration: the dotted key, the value found, what is expected."""

    key: str
    value: object
    expected: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: expected {self.expected}"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)")

    def lines(self) -> list[str]:
        return [f"{self.source}: {problem}" for problem in self.problems]


@dataclass(frozen=True)
class DoorConfig:
    enabled: bool = False
    port: str = ""  # device path or serial_for_url URL
    usb_vid: int | None = None
    usb_pid: int | None = None
    usb_serial: str | None = None
    heartbeat_timeout_ms: int = 3000
    admit_window_ms: int = 10_000


@dataclass(frozen=True)
class MqttConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    topic_root: str = "checkin/v1"
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 2 * 24 * 3600
    outbox_alarm_at: int = 1000
    # The contract is MQTT 5; "3.1.1" exists only for ``kiosk demo``'s embedded broker, which
    # speaks nothing newer: no session expiry, no PUBACK reason codes, no shared subscriptions.
    protocol: str = "5"


@dataclass(frozen=True)
class CheckinConfig:
    guess_limit: int = 5
    guess_window_s: int = 60
    guess_pause_s: int = 30


@dataclass(frozen=True)
class StaffConfig:
    pins: Mapping[str, str] = field(default_factory=dict)  # staff id -> PIN hash
    inactivity_s: int = 120


@dataclass(frozen=True)
class UiConfig:
    language: str = "pl"
    fullscreen: bool = False
    inactivity_s: int = 30


@dataclass(frozen=True)
class KioskConfig:
    branch_id: str
    kiosk_id: str
    data_dir: Path
    spool_dir: Path
    purge_after_days: int
    branch: BranchSettings
    door: DoorConfig
    printer: PrinterConfig
    mqtt: MqttConfig
    checkin: CheckinConfig
    staff: StaffConfig
    ui: UiConfig
    source: str = "<defaults>"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "kiosk.sqlite3"


# --- reading values ----------------------------------------------------------------------------


class _Reader:
    """Reads one TOML table, collecting a problem for each bad or unknown key."""

    def __init__(self, raw: Any, prefix: str, problems: list[ConfigProblem]) -> None:
        self.prefix = prefix
        self.problems = problems
        if not isinstance(raw, Mapping):
            problems.append(ConfigProblem(prefix, raw, "a table"))
            raw = {}
        self.raw: Mapping[str, Any] = raw
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def bad(self, name: str, value: object, expected: str) -> None:
        self.problems.append(ConfigProblem(self.key(name), value, expected))

    def get(self, name: str, default: Any) -> Any:
        self.used.add(name)
        return self.raw.get(name, default)

    def text(
        self,
        name: str,
        default: str,
        *,
        pattern: re.Pattern[str] | None = None,
        expected: str = "a text",
    ) -> str:
        value = self.get(name, default)
        if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
            self.bad(name, value, expected)
            return default
        return value

    def optional_text(self, name: str) -> str | None:
        value = self.get(name, None)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.bad(name, value, "a text")
            return None
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(name, value, f"a whole number from {low} to {high}")
            return default
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name, default)
        if not isinstance(value, bool):
            self.bad(name, value, "true or false")
            return default
        return value

    def finish(self) -> None:
        for name in sorted(set(self.raw) - self.used):
            self.problems.append(
                ConfigProblem(
                    self.key(name), self.raw[name], "no such setting here (check the spelling)"
                )
            )


def _usb_ids(reader: _Reader, name: str) -> tuple[int | None, int | None]:
    value = reader.optional_text(name)
    if value is None:
        return None, None
    match = _USB_ID.match(value)
    if match is None:
        reader.bad(name, value, 'a USB id "VID:PID" in hex, such as "2e8a:0005"')
        return None, None
    return int(match.group(1), 16), int(match.group(2), 16)


def _door(raw: Any, problems: list[ConfigProblem]) -> DoorConfig:
    r = _Reader(raw, "door", problems)
    vid, pid = _usb_ids(r, "usb")
    door = DoorConfig(
        enabled=r.flag("enabled", True),
        port=r.text("port", ""),
        usb_vid=vid,
        usb_pid=pid,
        usb_serial=r.optional_text("usb_serial"),
        heartbeat_timeout_ms=r.integer("heartbeat_timeout_ms", 3000, 500, 60_000),
        admit_window_ms=r.integer("admit_window_ms", 10_000, 1000, 65_535),
    )
    r.finish()
    if door.enabled and not door.port and door.usb_vid is None:
        problems.append(
            ConfigProblem(
                "door.port",
                "",
                (
                    'a device path such as "/dev/door0", a URL such as "socket://127.0.0.1:7000", '
                    'or door.usb = "VID:PID"; or door.enabled = false to run without a door board'
                ),
            )
        )
    return door


def _mqtt(raw: Any, problems: list[ConfigProblem], base: Path) -> MqttConfig:
    r = _Reader(raw, "mqtt", problems)
    password = r.optional_text("password")
    password_file = r.optional_text("password_file")
    if password_file is not None:
        path = (
            (base / password_file) if not Path(password_file).is_absolute() else Path(password_file)
        )
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            r.bad("password_file", password_file, f"a readable file ({exc.strerror})")
    cfg = MqttConfig(
        enabled=r.flag("enabled", True),
        host=r.text("host", "127.0.0.1"),
        port=r.integer("port", 1883, 1, 65535),
        topic_root=r.text(
            "topic_root",
            "checkin/v1",
            pattern=_TOPIC_ROOT,
            expected="topic levels such as checkin/v1, without wildcards",
        ),
        username=r.optional_text("username"),
        password=password,
        tls=r.flag("tls", False),
        ca_file=r.optional_text("ca_file"),
        keepalive_s=r.integer("keepalive_s", 30, 5, 3600),
        session_expiry_s=r.integer("session_expiry_s", 2 * 24 * 3600, 24 * 3600, 30 * 24 * 3600),
        outbox_alarm_at=r.integer("outbox_alarm_at", 1000, 1, 10_000_000),
        protocol=r.text(
            "protocol",
            "5",
            pattern=re.compile(r"^(5|3\.1\.1)$"),
            expected='"5" (the contract\'s MQTT 5), or "3.1.1" only for the demo\'s embedded '
            "broker",
        ),
    )
    r.finish()
    return cfg


def _staff(raw: Any, problems: list[ConfigProblem]) -> StaffConfig:
    from kiosk.staff import is_pin_hash

    r = _Reader(raw, "staff", problems)
    pins_raw = r.get("pins", {})
    pins: dict[str, str] = {}
    if not isinstance(pins_raw, Mapping):
        r.bad("pins", pins_raw, 'a table of staff id = "PIN hash" (make one with kiosk hash-pin)')
    else:
        for staff_id, value in pins_raw.items():
            if not isinstance(value, str) or not is_pin_hash(value):
                problems.append(
                    ConfigProblem(
                        f"staff.pins.{staff_id}",
                        "<hidden>",
                        "a PIN hash made by `kiosk hash-pin`, never the PIN",
                    )
                )
            else:
                pins[staff_id] = value
    cfg = StaffConfig(pins=pins, inactivity_s=r.integer("inactivity_s", 120, 10, 3600))
    r.finish()
    return cfg


def _resolve_printer_paths(printer: PrinterConfig, base: Path) -> PrinterConfig:
    """Relative printer paths are relative to the configuration file, like the data paths."""

    def resolve(value: str | None) -> str | None:
        return str(base / value) if value and not Path(value).is_absolute() else value

    return dataclasses.replace(
        printer, path=resolve(printer.path), preview_dir=resolve(printer.preview_dir)
    )


def _section(raw: Mapping[str, Any], name: str) -> Any:
    return raw.get(name, {})


def parse_config(
    raw: Mapping[str, Any], *, source: str = "<config>", base_dir: Path | None = None
) -> KioskConfig:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    from kiosk.printing.config import parse_printer_config
    from kiosk.settings import parse_branch_settings

    problems: list[ConfigProblem] = []
    base = base_dir or Path.cwd()
    known = {
        "kiosk",
        "paths",
        "store",
        "branch",
        "door",
        "printer",
        "mqtt",
        "checkin",
        "staff",
        "ui",
    }
    for name in sorted(set(raw) - known):
        problems.append(
            ConfigProblem(name, raw[name], f"one of the tables {', '.join(sorted(known))}")
        )

    k = _Reader(_section(raw, "kiosk"), "kiosk", problems)
    id_expected = "1-32 lower-case letters, digits and dashes, such as krakow-1"
    branch_id = k.text("branch", "", pattern=ID_PATTERN, expected=id_expected)
    kiosk_id = k.text("id", "", pattern=ID_PATTERN, expected=id_expected)
    k.finish()

    p = _Reader(_section(raw, "paths"), "paths", problems)
    data_dir = base / p.text("data_dir", "var/data")
    spool_dir = base / p.text("spool_dir", "var/spool")
    p.finish()

    s = _Reader(_section(raw, "store"), "store", problems)
    purge_days = s.integer("purge_after_days", 1, 1, 365)
    s.finish()

    c = _Reader(_section(raw, "checkin"), "checkin", problems)
    checkin = CheckinConfig(
        guess_limit=c.integer("guess_limit", 5, 2, 100),
        guess_window_s=c.integer("guess_window_s", 60, 5, 3600),
        guess_pause_s=c.integer("guess_pause_s", 30, 5, 3600),
    )
    c.finish()

    u = _Reader(_section(raw, "ui"), "ui", problems)
    ui = UiConfig(
        language=u.text(
            "language", "pl", pattern=re.compile(r"^(pl|en)$"), expected='"pl" or "en"'
        ),
        fullscreen=u.flag("fullscreen", False),
        inactivity_s=u.integer("inactivity_s", 30, 5, 600),
    )
    u.finish()

    settings, branch_problems = parse_branch_settings(_section(raw, "branch"), prefix="branch")
    problems.extend(branch_problems)
    printer, printer_problems = parse_printer_config(_section(raw, "printer"))
    problems.extend(printer_problems)
    door = _door(_section(raw, "door"), problems)
    mqtt = _mqtt(_section(raw, "mqtt"), problems, base)
    staff = _staff(_section(raw, "staff"), problems)

    if problems or settings is None or printer is None:
        raise ConfigError(source, problems)
    printer = _resolve_printer_paths(printer, base)
    return KioskConfig(
        branch_id=branch_id,
        kiosk_id=kiosk_id,
        data_dir=data_dir,
        spool_dir=spool_dir,
        purge_after_days=purge_days,
        branch=settings,
        door=door,
        printer=printer,
        mqtt=mqtt,
        checkin=checkin,
        staff=staff,
        ui=ui,
        source=source,
    )


def load_config(path: str | Path) -> KioskConfig:
    """Read and validate a kiosk TOML file; raise ConfigError with every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(path), [ConfigProblem("file", str(path), f"a readable TOML file ({exc.strerror})")]
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            str(path), [ConfigProblem("file", str(path), f"valid TOML ({exc})")]
        ) from None
    return parse_config(raw, source=str(path), base_dir=path.resolve().parent)
