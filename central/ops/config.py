"""The operations config file (TOML): where to listen, the broker, branches with their regions
and names, and the operators with their password hashes.

The contract carries no region, so the regions the page filters by come from here. A branch
seen on MQTT but missing here still gets a tile, under "no region".
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from central.ops.passwords import PasswordHashError, check_hash_format
from central.topics import DEFAULT_ROOT, ID_PATTERN

OPERATOR_PATTERN = re.compile(r"^[a-z0-9._-]{1,32}$")
NO_REGION = ""


class OpsConfigError(ValueError):
    """The config file cannot be used; the message names the key and what to write instead."""


@dataclass(frozen=True)
class BranchInfo:
    branch: str
    name: str
    region: str = NO_REGION


@dataclass(frozen=True)
class Operator:
    login: str
    name: str
    password_hash: str


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    root: str = DEFAULT_ROOT
    client_id: str = "central-ops"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None


@dataclass(frozen=True)
class OpsConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    timezone: str = "Europe/Warsaw"
    history_path: str = "var/ops-history.sqlite3"
    central_store: str | None = None
    secure_cookies: bool = False
    session_hours: float = 12.0
    outbox_warn: int = 50
    stale_after_s: float = 180.0
    metrics_public: bool = True
    home_assistant: bool = False
    home_assistant_prefix: str = "homeassistant"
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    branches: dict[str, BranchInfo] = field(default_factory=dict)
    operators: dict[str, Operator] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise OpsConfigError(f"{where}.{key} must be {names}, got {value!r}")
    return value


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise OpsConfigError(f"[{key}] must be a table")
    return value


def _mqtt(data: dict[str, Any]) -> MqttSettings:
    t = _table(data, "mqtt")
    port = _get(t, "port", int, "mqtt", 1883)
    if not 1 <= port <= 65535:
        raise OpsConfigError(f"mqtt.port {port} must be 1-65535")
    return MqttSettings(
        host=_get(t, "host", str, "mqtt", "127.0.0.1"), port=port,
        root=_get(t, "root", str, "mqtt", DEFAULT_ROOT),
        client_id=_get(t, "client_id", str, "mqtt", "central-ops"),
        username=_get(t, "username", str, "mqtt", None),
        password=_get(t, "password", str, "mqtt", None),
        ca_file=_get(t, "ca_file", str, "mqtt", None),
    )


def _branches(data: dict[str, Any]) -> dict[str, BranchInfo]:
    branches = {}
    for branch, t in _table(data, "branches").items():
        if not ID_PATTERN.match(branch):
            raise OpsConfigError(f"[branches.{branch}]: a branch id is 1-32 of a-z, 0-9, '-'")
        if not isinstance(t, dict):
            raise OpsConfigError(f"[branches.{branch}] must be a table with name and region")
        where = f"branches.{branch}"
        branches[branch] = BranchInfo(branch, _get(t, "name", str, where, branch),
                                      _get(t, "region", str, where, NO_REGION))
    return branches


def _operators(data: dict[str, Any]) -> dict[str, Operator]:
    operators = {}
    for login, t in _table(data, "operators").items():
        if not OPERATOR_PATTERN.match(login):
            raise OpsConfigError(f"[operators.{login}]: a login is 1-32 of a-z, 0-9, '.', '_', '-'")
        if not isinstance(t, dict) or "password_hash" not in t:
            raise OpsConfigError(f"[operators.{login}] needs password_hash "
                                 "(make one with `central ops hash-password`)")
        where = f"operators.{login}"
        password_hash = _get(t, "password_hash", str, where, "")
        try:
            check_hash_format(password_hash)
        except PasswordHashError as exc:
            raise OpsConfigError(f"{where}: {exc}") from None
        operators[login] = Operator(login, _get(t, "name", str, where, login), password_hash)
    return operators


def parse_config(data: dict[str, Any], base: Path | None = None) -> OpsConfig:
    ops = _table(data, "ops")
    ha = _table(data, "home_assistant")
    listen = _get(ops, "listen", str, "ops", "127.0.0.1:8080")
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise OpsConfigError(f"ops.listen {listen!r} must be host:port, like 127.0.0.1:8080")
    timezone = _get(ops, "timezone", str, "ops", "Europe/Warsaw")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise OpsConfigError(f"ops.timezone {timezone!r} is not a known zone such as "
                             "Europe/Warsaw") from None
    history = _get(ops, "history", str, "ops", "var/ops-history.sqlite3")
    store = _get(ops, "central_store", str, "ops", None)
    if base is not None:
        history = str(base / history) if history != ":memory:" else history
        if store and "://" not in store:
            store = str(base / store)
    return OpsConfig(
        listen_host=host.strip("[]") or "127.0.0.1", listen_port=int(port_text),
        timezone=timezone, history_path=history, central_store=store,
        secure_cookies=_get(ops, "secure_cookies", bool, "ops", False),
        session_hours=float(_get(ops, "session_hours", (int, float), "ops", 12.0)),
        outbox_warn=_get(ops, "outbox_warn", int, "ops", 50),
        stale_after_s=float(_get(ops, "stale_after_s", (int, float), "ops", 180.0)),
        metrics_public=_get(ops, "metrics_public", bool, "ops", True),
        home_assistant=_get(ha, "enabled", bool, "home_assistant", False),
        home_assistant_prefix=_get(ha, "prefix", str, "home_assistant", "homeassistant"),
        mqtt=_mqtt(data), branches=_branches(data), operators=_operators(data),
    )


def load_config(path: Path) -> OpsConfig:
    """Read and check the TOML file; relative paths in it are taken from its folder."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpsConfigError(f"config file {path} does not exist; see docs/operations.md") from None
    except tomllib.TOMLDecodeError as exc:
        raise OpsConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_config(data, base=path.resolve().parent)
