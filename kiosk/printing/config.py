"""The `[printer]` table of the kiosk's TOML configuration, validated into a PrinterConfig.

Every problem found is reported at once (dotted key, value found, what is expected), so the
person editing the file fixes them in one go.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal

from escpos.capabilities import CAPABILITIES

from kiosk.config import ConfigProblem

logger = logging.getLogger(__name__)

Backend = Literal["usb", "serial", "network", "file", "dummy", "preview"]
BACKENDS: tuple[str, ...] = ("usb", "serial", "network", "file", "dummy", "preview")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# Keys each backend needs; the others may be present but are ignored.
REQUIRED_BY_BACKEND: dict[str, tuple[str, ...]] = {
    "usb": ("usb_vendor", "usb_product"),
    "serial": ("serial_port",),
    "network": ("host",),
    "file": ("path",),
    "dummy": (),
    "preview": ("preview_dir",),
}
MAX_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class PrinterConfig:
    """Which printer, how to reach it, and what paper it has."""

    backend: Backend
    usb_vendor: int | None = None
    usb_product: int | None = None
    serial_port: str | None = None  # a device path or a pyserial URL (socket://, loop://)
    baudrate: int = 19200
    host: str | None = None
    port: int = 9100
    path: str | None = None
    preview_dir: str | None = None
    profile: str = "default"
    paper_mm: int = 80
    timeout_s: float = 5.0
    # Printers that never answer DLE EOT (or a one-way link) set this to false; the worker
    # then cannot see paper or cover problems and says so in its status detail.
    query_status: bool = True


KEYS = tuple(f.name for f in fields(PrinterConfig))


def parse_printer_config(raw: dict[str, Any]) -> tuple[PrinterConfig | None, list[ConfigProblem]]:
    """Validate the `[printer]` table; the config is None whenever any problem was found."""
    problems: list[ConfigProblem] = []
    if not isinstance(raw, dict):
        problems.append(ConfigProblem("printer", raw, "a table of printer settings"))
        return _log(None, problems)
    for key in sorted(set(raw) - set(KEYS)):
        problems.append(ConfigProblem(_dotted(key), raw[key], f"one of the keys {', '.join(KEYS)}"))
    values: dict[str, Any] = {}
    for key, check in _CHECKS.items():
        if key in raw:
            expected = check(raw[key])
            if expected is None:
                values[key] = raw[key]
            else:
                problems.append(ConfigProblem(_dotted(key), raw[key], expected))
    backend = raw.get("backend")
    if backend is None:
        problems.append(ConfigProblem("printer.backend", None, f"one of {', '.join(BACKENDS)}"))
    for key in REQUIRED_BY_BACKEND.get(backend, ()) if isinstance(backend, str) else ():
        if key not in raw:
            problems.append(ConfigProblem(_dotted(key), None, f"a value (needed by {backend!r})"))
    if problems:
        return _log(None, problems)
    if "timeout_s" in values:
        values["timeout_s"] = float(values["timeout_s"])
    return PrinterConfig(**values), []


def _log(
    config: PrinterConfig | None, problems: list[ConfigProblem]
) -> tuple[PrinterConfig | None, list[ConfigProblem]]:
    for problem in problems:
        logger.error("printer configuration: %s", problem)
    return config, problems


def _dotted(key: str) -> str:
    return f"printer.{key}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _usb_id(value: object) -> str | None:
    if _is_int(value) and 0 < value <= 0xFFFF:  # type: ignore[operator]
        return None
    return "a USB id from 0x0001 to 0xFFFF (write it as hex, e.g. 0x04b8)"


def _non_empty_text(value: object) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty string"


def _choice(options: tuple[object, ...], what: str) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value in options and type(value) is type(options[0]):
            return None
        return f"{what}: one of {', '.join(str(option) for option in options)}"

    return check


def _tcp_port(value: object) -> str | None:
    ok = _is_int(value) and 1 <= value <= 65535  # type: ignore[operator]
    return None if ok else "a TCP port from 1 to 65535 (raw printing is usually 9100)"


def _profile(value: object) -> str | None:
    if isinstance(value, str) and value in CAPABILITIES["profiles"]:
        return None
    return "a python-escpos printer profile such as 'TM-T88V', 'TM-T20II' or 'default'"


def _timeout(value: object) -> str | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and 0 < value <= MAX_TIMEOUT_S:  # type: ignore[operator]
        return None
    return f"seconds, more than 0 and at most {MAX_TIMEOUT_S:g}"


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else "true or false"


_CHECKS: dict[str, Callable[[object], str | None]] = {
    "backend": _choice(BACKENDS, "a printer backend"),
    "usb_vendor": _usb_id,
    "usb_product": _usb_id,
    "serial_port": _non_empty_text,
    "baudrate": _choice(BAUDRATES, "a baud rate"),
    "host": _non_empty_text,
    "port": _tcp_port,
    "path": _non_empty_text,
    "preview_dir": _non_empty_text,
    "profile": _profile,
    "paper_mm": _choice((58, 80), "the paper width in mm"),
    "timeout_s": _timeout,
    "query_status": _boolean,
}
