"""Fixtures for the deployment tests: a central and a branch mosquitto, each
started from the shipped templates, rendered into a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_testkit import (
    CENTRAL_PASSWORD,
    CENTRAL_USER,
    DEPLOY,
    KIOSK_PASSWORDS,
    TOPIC_ROOT,
    Branch,
    Broker,
    Central,
    add_password,
    free_port,
    give_to_mosquitto_user,
    make_tls,
    render,
)


@pytest.fixture
def deploy_tmp() -> Iterator[Path]:
    """A temporary tree mosquitto can enter after dropping root (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="branch-checkin-deploy-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def add_kiosk(conf_dir: Path, branch: str, kiosk: str, password: str) -> None:
    script = DEPLOY / "mosquitto" / "central" / "add-kiosk.sh"
    env = {**os.environ, "CONF_DIR": str(conf_dir), "KIOSK_PASSWORD": password}
    subprocess.run([str(script), branch, kiosk], env=env, check=True, capture_output=True,
                   timeout=10)


@pytest.fixture
def central(deploy_tmp: Path) -> Iterator[Central]:
    root = deploy_tmp / "central"
    conf_dir, data_dir, tls_dir = root / "etc", root / "data", root / "etc" / "tls"
    data_dir.mkdir(parents=True)
    ca_file, _, _ = make_tls(tls_dir)
    tls_port, service_port = free_port(), free_port()
    shipped = DEPLOY / "mosquitto" / "central"
    render(shipped / "mosquitto.conf", conf_dir / "mosquitto.conf", {
        "BRANCH_TLS_PORT": str(tls_port), "SERVICE_PORT": str(service_port),
        "CONF_DIR": str(conf_dir), "TLS_DIR": str(tls_dir), "DATA_DIR": str(data_dir),
        "PID_FILE": str(root / "mosquitto.pid"),
    })
    render(shipped / "acl.base", conf_dir / "acl",
           {"TOPIC_ROOT": TOPIC_ROOT, "CENTRAL_USER": CENTRAL_USER})
    add_password(conf_dir / "passwd", CENTRAL_USER, CENTRAL_PASSWORD)
    for (branch, kiosk), password in KIOSK_PASSWORDS.items():
        add_kiosk(conf_dir, branch, kiosk, password)
    give_to_mosquitto_user(root)
    broker = Broker(conf_dir / "mosquitto.conf", (tls_port, service_port), root / "log")
    broker.start()
    yield Central(broker, tls_port, service_port, ca_file, conf_dir)
    broker.stop()


@pytest.fixture
def branch(deploy_tmp: Path, central: Central) -> Iterator[Branch]:
    """The krk-01 / kiosk-1 Pi's broker, bridged over TLS to `central`."""
    root = deploy_tmp / "branch"
    conf_dir, data_dir = root / "etc", root / "data"
    data_dir.mkdir(parents=True)
    local_port, lan_port = free_port(), free_port()
    shipped = DEPLOY / "mosquitto" / "branch"
    render(shipped / "mosquitto.conf", conf_dir / "mosquitto.conf", {
        "LOCAL_PORT": str(local_port), "LAN_PORT": str(lan_port), "CONF_DIR": str(conf_dir),
        "DATA_DIR": str(data_dir), "PID_FILE": str(root / "mosquitto.pid"),
    })
    (conf_dir / "lan-passwd").touch()
    bridge_user = "krk-01.kiosk-1"
    render(shipped / "central-bridge.conf", conf_dir / "conf.d" / "central-bridge.conf", {
        "BRANCH": "krk-01", "KIOSK": "kiosk-1", "TOPIC_ROOT": TOPIC_ROOT,
        "CENTRAL_HOST": "127.0.0.1", "CENTRAL_PORT": str(central.tls_port),
        "BRIDGE_USERNAME": bridge_user,
        "BRIDGE_PASSWORD": KIOSK_PASSWORDS[("krk-01", "kiosk-1")],
        "CENTRAL_CA_FILE": str(central.ca_file),
    })
    give_to_mosquitto_user(root)
    broker = Broker(conf_dir / "mosquitto.conf", (local_port, lan_port), root / "log")
    broker.start()
    yield Branch(broker, local_port, lan_port, bridge_user)
    broker.stop()
